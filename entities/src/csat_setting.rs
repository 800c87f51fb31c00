//! The `csat_settings` table: whether and how a tenant asks its customers for a rating.

use copilot_core::model::CsatScale;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "csat_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    pub enabled: bool,
    pub scale: CsatScale,
    /// Minutes after a ticket is solved before its survey goes out.
    pub delay_minutes: i32,
    /// Days a survey link stays valid.
    pub link_days: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
