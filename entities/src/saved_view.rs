//! The `saved_views` table: a named inbox filter and order, shared or one person's.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "saved_views")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Its owner's; none for a shared view.
    pub owner_id: Option<Uuid>,
    pub name: String,
    /// The filter as written (`assignee: "me"`, `sla: "breached"`).
    pub filter: Json,
    pub sort: String,
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
