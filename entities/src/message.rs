//! The `messages` table.

use copilot_core::model::Author;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    pub author: Author,
    /// The agent who wrote an agent message or note.
    pub author_user_id: Option<Uuid>,
    pub body: String,
    /// An agent message sent translated: what the agent wrote (never sent).
    #[sea_orm(column_type = "Text", nullable)]
    pub original_body: Option<String>,
    pub original_language: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
