//! The `macros` table: a canned reply with placeholders and ticket changes, shared or one
//! person's.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "macros")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Its owner's; none for a shared macro.
    pub owner_id: Option<Uuid>,
    pub name: String,
    /// The reply text with `{{placeholder}}`s; may be empty when it only changes the ticket.
    pub body: String,
    /// `{status?, priority?, add_tags, remove_tags, assignee?}`.
    pub actions: Json,
    pub usage_count: i64,
    pub last_used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
