//! The `sla_policies` table: a service-level policy of the tenant, in its order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// 0 first; the first policy whose conditions a ticket meets applies.
    pub position: i32,
    /// `{priority: [...], channel: [...], intent: [...], tag: [...], customer_domain: [...]}`.
    pub conditions: Json,
    /// `[{kind, minutes, business_hours}]`.
    pub targets: Json,
    pub pause_when_pending: bool,
    /// Minutes before a target's due time that `sla.warning` is sent; 0 sends none.
    pub warning_minutes: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
