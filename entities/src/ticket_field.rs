//! The `ticket_fields` table: a custom field of the tenant's tickets.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_fields")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// How the API and filters name it (`plan`); never changes.
    pub key: String,
    pub label: String,
    /// text, number, select, multi_select, date or checkbox; never changes.
    pub kind: String,
    /// The options of a select field.
    pub options: Json,
    pub required_on_solve: bool,
    /// Retired fields keep their values but take no new ones.
    pub active: bool,
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
