//! Labelling jobs: the tenant's customer messages labelled with its intents by its LLM, as
//! training data for its own intent model.

use chrono::{DateTime, Utc};
use copilot_intents::labelling::{self, JobStatus, LabellingJob, Only, Scope};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::Tag;
use crate::{AppState, auth::TenantAuth, error::ApiResult, json_body::JsonBody};

pub struct LabellingApi {
    pub state: AppState,
}

/// Which customer messages a job labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LabellingOnly {
    /// Neither labelled by the LLM before nor corrected by an agent.
    Unlabeled,
    /// Triaged `other`.
    Other,
    /// Triaged with a confidence below 0.5.
    LowConfidence,
    All,
}

impl From<LabellingOnly> for Only {
    fn from(only: LabellingOnly) -> Self {
        match only {
            LabellingOnly::Unlabeled => Self::Unlabeled,
            LabellingOnly::Other => Self::Other,
            LabellingOnly::LowConfidence => Self::LowConfidence,
            LabellingOnly::All => Self::All,
        }
    }
}

impl From<Only> for LabellingOnly {
    fn from(only: Only) -> Self {
        match only {
            Only::Unlabeled => Self::Unlabeled,
            Only::Other => Self::Other,
            Only::LowConfidence => Self::LowConfidence,
            Only::All => Self::All,
        }
    }
}

/// Where a labelling job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LabellingStatus {
    Queued,
    Running,
    Done,
    Cancelled,
    /// No LLM serves `label` (see `error`); resumable.
    Failed,
    /// The month's LLM budget or the job's `max_tokens` is spent; resumable.
    BudgetExhausted,
}

impl From<JobStatus> for LabellingStatus {
    fn from(status: JobStatus) -> Self {
        match status {
            JobStatus::Queued => Self::Queued,
            JobStatus::Running => Self::Running,
            JobStatus::Done => Self::Done,
            JobStatus::Cancelled => Self::Cancelled,
            JobStatus::Failed => Self::Failed,
            JobStatus::BudgetExhausted => Self::BudgetExhausted,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LabellingScopeIo {
    /// Messages triaged at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Messages triaged before this time.
    pub to: Option<DateTime<Utc>>,
    /// Absent: `unlabeled`.
    pub only: Option<LabellingOnly>,
}

#[derive(Debug, Object)]
pub struct LabellingIn {
    /// Absent: every unlabelled message.
    pub scope: Option<LabellingScopeIo>,
    /// 1 to 100,000.
    pub max_messages: i32,
    /// Stop (as `budget_exhausted`) once the job's calls used this many tokens.
    pub max_tokens: Option<i64>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LabellingOut {
    pub id: Uuid,
    pub status: LabellingStatus,
    pub scope: LabellingScopeIo,
    pub max_messages: i32,
    pub max_tokens: Option<i64>,
    /// Messages in scope when it was asked for (at most `max_messages`).
    pub total: i32,
    /// Messages given a label of the taxonomy.
    pub labelled: i32,
    /// Labels not taken: outside the taxonomy, for a message not in the batch, left out,
    /// or an answer that could not be read.
    pub invalid: i32,
    /// Messages not sent: an agent set their intent (a person's label outranks the LLM's).
    pub skipped: i32,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<LabellingJob> for LabellingOut {
    fn from(job: LabellingJob) -> Self {
        Self {
            id: job.id,
            status: job.status.into(),
            scope: LabellingScopeIo { from: job.scope.from, to: job.scope.to, only: Some(job.scope.only.into()) },
            max_messages: job.max_messages,
            max_tokens: job.max_tokens,
            total: job.total,
            labelled: job.labelled,
            invalid: job.invalid,
            skipped: job.skipped,
            prompt_tokens: job.prompt_tokens,
            completion_tokens: job.completion_tokens,
            error: job.error,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct LabellingResumeIn {
    /// A new limit for the job's tokens (in all, those used so far included).
    pub max_tokens: Option<i64>,
}

#[derive(Debug, Object)]
pub struct LabellingListOut {
    /// The 20 newest jobs, newest first.
    pub data: Vec<LabellingOut>,
}

#[derive(ApiResponse)]
pub enum LabellingQueued {
    /// Queued; follow it at `GET /v1/intents/labelling/{id}`.
    #[oai(status = 202)]
    Accepted(Json<LabellingOut>),
}

#[OpenApi(tag = "Tag::Triage")]
impl LabellingApi {
    /// Label the tenant's customer messages with its intents through the `label` route's
    /// LLM (admins), as training data for its own model. One job per tenant at a time
    /// (409 `labelling_running`); without an LLM: 409 `llm_not_configured`.
    #[oai(path = "/intents/labelling", method = "post", operation_id = "intents.labelling.start")]
    async fn start(&self, auth: TenantAuth, body: JsonBody<LabellingIn>) -> ApiResult<LabellingQueued> {
        let body = body.0;
        let scope = body.scope.unwrap_or(LabellingScopeIo { from: None, to: None, only: None });
        let scope = Scope { from: scope.from, to: scope.to, only: scope.only.map_or(Only::Unlabeled, Only::from) };
        let job = copilot_pipeline::labelling::request(
            &self.state.pipeline,
            &auth.0.principal,
            scope,
            body.max_messages,
            body.max_tokens,
        )
        .await?;
        Ok(LabellingQueued::Accepted(Json(job.into())))
    }

    /// The tenant's latest labelling jobs.
    #[oai(path = "/intents/labelling", method = "get", operation_id = "intents.labelling.list")]
    async fn list(&self, auth: TenantAuth) -> ApiResult<Json<LabellingListOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let jobs = labelling::list(&tx, 20).await?;
        Ok(Json(LabellingListOut { data: jobs.into_iter().map(LabellingOut::from).collect() }))
    }

    /// One labelling job and its progress.
    #[oai(path = "/intents/labelling/:id", method = "get", operation_id = "intents.labelling.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<LabellingOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(labelling::get(&tx, id.0).await?.into()))
    }

    /// Cancel a queued or running job (admins); a batch in flight is not stored.
    #[oai(path = "/intents/labelling/:id/cancel", method = "post", operation_id = "intents.labelling.cancel")]
    async fn cancel(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<LabellingOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let job = labelling::cancel(&tx, &principal, id.0).await?;
        tx.commit().await?;
        Ok(Json(job.into()))
    }

    /// Go on with a job that stopped on a spent budget or failed (admins), from where it
    /// stopped; `max_tokens` raises the job's own limit.
    #[oai(path = "/intents/labelling/:id/resume", method = "post", operation_id = "intents.labelling.resume")]
    async fn resume(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<Option<LabellingResumeIn>>,
    ) -> ApiResult<Json<LabellingOut>> {
        let principal = auth.0.principal;
        let max_tokens = body.0.and_then(|body| body.max_tokens);
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let job = labelling::resume(&tx, &principal, id.0, max_tokens).await?;
        tx.commit().await?;
        self.state.pipeline.labelling_wakeup.notify_one();
        Ok(Json(job.into()))
    }
}
