//! The `tickets` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Per-tenant sequence number shown to people (`#42`).
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub customer_id: Uuid,
    pub assignee_id: Option<Uuid>,
    /// Intent of the latest triaged customer message.
    pub intent: Option<String>,
    /// Sentiment of the latest triaged customer message.
    pub sentiment: Option<String>,
    /// Language of the latest triaged customer message.
    pub language: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
