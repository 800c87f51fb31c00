//! The tenant's intent taxonomy, training its own head, and correcting a message's intent.

use chrono::{DateTime, Utc};
use copilot_core::ids::{MessageId, TicketId};
use copilot_intents::{
    taxonomy::{self as intents, IntentLabel},
    versions::{self, SourceWeights, TrainingJob},
};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::Tag;
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{MessageTriageOut, mirror_enum},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct IntentsApi {
    pub state: AppState,
}

#[derive(Debug, Object)]
pub struct IntentLabelIo {
    /// Lower-case letters, digits and underscores, e.g. `warranty_claim`.
    pub label: String,
    /// How people see the label in the console (any language, at most 80 characters);
    /// the label itself when absent.
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// Example customer messages (any language); about 10 per label train well.
    #[oai(default)]
    pub examples: Vec<String>,
}

#[derive(Debug, Object)]
pub struct TaxonomyOut {
    pub source: TaxonomySource,
    pub labels: Vec<IntentLabelIo>,
}

#[derive(Debug, Object)]
pub struct TaxonomyIn {
    /// The whole taxonomy; `other` is added when missing.
    pub labels: Vec<IntentLabelIo>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TrainingOut {
    pub id: Uuid,
    pub status: TrainingStatus,
    pub attempts: i32,
    /// The labels the head predicts (those with examples).
    pub labels: Vec<String>,
    pub example_count: i32,
    /// Mean accuracy of stratified k-fold cross-validation.
    pub cross_validated_accuracy: Option<f64>,
    pub folds: Option<i32>,
    pub error: Option<String>,
    /// Whether triage uses this head now.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

mirror_enum!(
    /// Where a training job stands.
    TrainingStatus => copilot_core::model::TrainingStatus { Queued, Ready, Failed }
);

/// Where a tenant's taxonomy comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TaxonomySource {
    /// The built-in customer-service taxonomy.
    Default,
    /// The tenant's own, set with `PUT /v1/intents`.
    Tenant,
}

impl From<TrainingJob> for TrainingOut {
    fn from(job: TrainingJob) -> Self {
        Self {
            id: job.id,
            status: job.status.into(),
            attempts: job.attempts,
            labels: job.labels,
            example_count: job.example_count,
            cross_validated_accuracy: job.cross_validated_accuracy,
            folds: job.folds,
            error: job.error,
            active: job.active,
            created_at: job.created_at,
            finished_at: job.finished_at,
        }
    }
}

#[derive(ApiResponse)]
pub enum TrainingQueued {
    /// The job is queued; follow it at `GET /v1/intents/training`.
    #[oai(status = 202)]
    Accepted(Json<TrainingOut>),
}

/// How much one example of each source counts; 0 leaves the source out.
#[derive(Debug, Object)]
pub struct SourceWeightsIo {
    /// Examples written into the taxonomy; default 3.
    pub admin_example: Option<f64>,
    /// Agents' corrections and labels accepted in review; default 3.
    pub agent: Option<f64>,
    /// Labels from labelling jobs; default 1.
    pub llm: Option<f64>,
}

#[derive(Debug, Object)]
pub struct TrainIn {
    /// 0 to 100 each; people's labels count three times an LLM label by default.
    pub weights: Option<SourceWeightsIo>,
}

#[derive(Debug, Object)]
pub struct IntentCorrectionIn {
    /// A label of the tenant's taxonomy.
    pub intent: String,
}

fn to_io(label: IntentLabel) -> IntentLabelIo {
    IntentLabelIo {
        label: label.label,
        display_name: label.display_name,
        description: label.description,
        examples: label.examples,
    }
}

#[OpenApi(tag = "Tag::Triage")]
impl IntentsApi {
    /// The intent taxonomy triage uses for this tenant.
    #[oai(path = "/intents", method = "get", operation_id = "intents.get")]
    async fn get(&self, auth: TenantAuth) -> ApiResult<Json<TaxonomyOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let labels = intents::taxonomy(&tx).await?;
        if labels.is_empty() {
            let labels = self
                .state
                .pipeline
                .triager
                .default_intents()
                .into_iter()
                .map(|label| IntentLabelIo { label, display_name: None, description: None, examples: Vec::new() })
                .collect();
            return Ok(Json(TaxonomyOut { source: TaxonomySource::Default, labels }));
        }
        Ok(Json(TaxonomyOut { source: TaxonomySource::Tenant, labels: labels.into_iter().map(to_io).collect() }))
    }

    /// Replace the tenant's taxonomy (admins). Train it with `POST /v1/intents/train`.
    #[oai(path = "/intents", method = "put", operation_id = "intents.replace")]
    async fn replace(&self, auth: TenantAuth, body: JsonBody<TaxonomyIn>) -> ApiResult<Json<TaxonomyOut>> {
        let principal = auth.0.principal;
        let labels = body
            .0
            .labels
            .into_iter()
            .map(|l| IntentLabel {
                label: l.label,
                display_name: l.display_name,
                description: l.description,
                examples: l.examples,
            })
            .collect();
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let stored = intents::replace_taxonomy(&tx, &principal, labels).await?;
        tx.commit().await?;
        Ok(Json(TaxonomyOut { source: TaxonomySource::Tenant, labels: stored.into_iter().map(to_io).collect() }))
    }

    /// Train a new version of the tenant's intent head (admins) from the taxonomy's
    /// examples, agents' corrections and the LLM's labels, each source weighted. It serves
    /// once the gate finds it no worse than the serving version on held-out labels (see
    /// `GET /v1/intents/models`). One training at a time: 409 `training_running`.
    #[oai(path = "/intents/train", method = "post", operation_id = "intents.train")]
    async fn train(&self, auth: TenantAuth, body: JsonBody<Option<TrainIn>>) -> ApiResult<TrainingQueued> {
        let principal = auth.0.principal;
        let defaults = SourceWeights::default();
        let weights = body.0.and_then(|body| body.weights).map_or(defaults, |w| SourceWeights {
            admin_example: w.admin_example.unwrap_or(defaults.admin_example),
            agent: w.agent.unwrap_or(defaults.agent),
            llm: w.llm.unwrap_or(defaults.llm),
        });
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let default_labels = self.state.pipeline.triager.default_intents();
        let job = versions::request_training(&tx, &principal, &default_labels, weights).await?;
        tx.commit().await?;
        self.state.pipeline.models_wakeup.notify_one();
        Ok(TrainingQueued::Accepted(Json(job.into())))
    }

    /// The newest training job and its cross-validated accuracy.
    #[oai(path = "/intents/training", method = "get", operation_id = "intents.training")]
    async fn training(&self, auth: TenantAuth) -> ApiResult<Json<TrainingOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let job = versions::latest_training(&tx).await?.ok_or(copilot_core::Error::NotFound("training job"))?;
        Ok(Json(job.into()))
    }

    /// Correct the intent of a customer message; the correction becomes a training example.
    #[oai(
        path = "/tickets/:id/messages/:message_id/triage",
        method = "patch",
        operation_id = "tickets.messages.triage.correct"
    )]
    async fn correct(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        message_id: Path<Uuid>,
        body: JsonBody<IntentCorrectionIn>,
    ) -> ApiResult<Json<MessageTriageOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let allowed = intents::labels_in_use(&tx, &self.state.pipeline.triager.default_intents()).await?;
        let triage = intents::correct_intent(
            &tx,
            &principal,
            TicketId(id.0),
            MessageId(message_id.0),
            body.0.intent.trim(),
            &allowed,
        )
        .await?;
        tx.commit().await?;
        Ok(Json(triage.into()))
    }
}
