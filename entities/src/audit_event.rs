//! The `audit_events` table.

use copilot_core::ActorKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    /// What happened, e.g. `ticket.status_changed`.
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<Uuid>,
    /// A readable name of the target (an e-mail address, a ticket number).
    pub target_label: Option<String>,
    pub data: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
