//! The `intent_discoveries` table: a run that clusters the customer messages the intent
//! model could not place (a durable job) and how many it looked at.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "intent_discoveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `queued`, `done` or `failed`.
    pub status: String,
    pub scope_from: Option<DateTimeUtc>,
    pub scope_to: Option<DateTimeUtc>,
    /// The messages it clustered.
    pub messages: i32,
    pub attempts: i32,
    /// When a worker may take the run next; a claim pushes it out by the lease.
    pub next_attempt_at: DateTimeUtc,
    pub error: Option<String>,
    pub requested_by: Option<Uuid>,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
