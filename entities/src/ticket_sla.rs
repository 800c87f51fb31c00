//! The `ticket_slas` table: a ticket's service levels and their timer.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_slas")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: Uuid,
    pub tenant_id: Uuid,
    /// The policy that set the targets; none when no policy applied.
    pub policy_id: Option<Uuid>,
    /// The policy as it was applied: `{id, name, targets, pause_when_pending, warning_minutes}`.
    pub policy: Option<Json>,
    /// What the policy was chosen on (priority, channel, intent, tags, customer); none for a
    /// ticket opened before service levels, which no policy applies to by itself.
    pub facts: Option<Json>,
    /// `[TargetClock]`, oldest first.
    pub targets: Json,
    /// When the next warning or breach falls; none when no clock runs towards one.
    pub next_attempt_at: Option<DateTimeUtc>,
    pub lease_until: Option<DateTimeUtc>,
    pub attempts: i32,
    /// When the ticket opened.
    pub opened_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
