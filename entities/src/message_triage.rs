//! The `message_triage` table: the triage work item of a customer message and its result.

use copilot_core::model::{Sentiment, TriageStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "message_triage")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    /// Pending while waiting or being retried; failed when it gave up.
    pub status: TriageStatus,
    pub attempts: i32,
    /// When a worker may take it next; a claim pushes it out by the lease.
    pub next_attempt_at: DateTimeUtc,
    pub error: Option<String>,
    pub intent: Option<String>,
    pub intent_confidence: Option<f64>,
    pub sentiment: Option<Sentiment>,
    pub sentiment_score: Option<f64>,
    pub language: Option<String>,
    /// The intent an agent set instead of the model's.
    pub corrected_intent: Option<String>,
    pub corrected_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The `X-Request-Id` of the request that queued the job.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
