//! The `intents` table: one label of a tenant's own intent taxonomy with its examples.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "intents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub label: String,
    pub description: Option<String>,
    /// How people see the label in the console; the label itself when absent.
    pub display_name: Option<String>,
    /// Example customer messages, a JSON array of strings.
    pub examples: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
