//! The `email_attachments` table: files that came with received mail.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email_id: Uuid,
    pub message_id: Option<Uuid>,
    pub filename: Option<String>,
    pub content_type: String,
    pub size_bytes: i64,
    /// The bytes, when within the size limit (the raw mail holds them in any case).
    pub content: Option<Vec<u8>>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
