//! The `intent_models` table: a training job of a tenant's intent head and its result, a
//! model version (candidate, active or retired).

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
    /// How much an example of each source counts (`{admin_example, agent, llm}`).
    pub source_weights: Option<Json>,
    /// How many examples of each source it was trained on.
    pub example_counts: Option<Json>,
    /// How it did on held-out labels.
    pub metrics: Option<Json>,
    /// What the gate decided when it finished, and why.
    pub gate: Option<Json>,
    /// When it last started serving.
    pub activated_at: Option<DateTimeUtc>,
    /// When it stopped serving.
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
