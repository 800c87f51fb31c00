//! The `intent_models` table: a training job of a tenant's intent head and its result.

use copilot_core::model::TrainingStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "intent_models")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub status: TrainingStatus,
    pub attempts: i32,
    /// When a worker may take the job next; a claim pushes it out by the lease.
    pub next_attempt_at: DateTimeUtc,
    pub labels: Option<Json>,
    /// The trained head (labels, weight, bias) as JSON.
    pub weights: Option<Json>,
    pub cross_validated_accuracy: Option<f64>,
    pub folds: Option<i32>,
    pub example_count: i32,
    pub error: Option<String>,
    /// The head triage uses for this tenant; at most one per tenant.
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// The `X-Request-Id` of the request that queued the job, when one did.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
