//! Labelling jobs: the tenant's customer messages labelled with its intents by its LLM, as
//! training data for its own small model. A job is a durable row on the queue kit: its
//! scope, how far it got (`cursor`, the last message done, so a restarted worker goes on
//! from there), its counts and tokens. One runs per tenant at a time. Labels are stored in
//! `message_labels` (source `llm`) a batch at a time, in the transaction that advances the
//! job, so a cancelled or interrupted batch leaves nothing behind. An agent's correction
//! outranks an LLM label: corrected messages are skipped, never sent.

use chrono::{DateTime, Duration, Utc};
use copilot_core::{Error, Principal, TenantId};
use copilot_entities::{labelling_job, message_label, message_triage};
use copilot_store::{
    Db, Scoped, TenantTx, audit, db_err,
    jobs::{FairPick, Queue},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, sea_query::Expr, sea_query::OnConflict,
};
use uuid::Uuid;

use crate::triage;

pub const QUEUE: Queue = Queue {
    name: "labelling",
    table: "labelling_jobs",
    id: "id",
    open: "{row}.status IN ('queued', 'running')",
    held: "{row}.status = 'running'",
    lease_columns: &["lease_until"],
};

/// Below this confidence a triaged intent counts as low (scope `low_confidence`).
pub const LOW_CONFIDENCE: f64 = 0.5;
/// The most messages one job labels.
pub const MAX_MESSAGES: i32 = 100_000;

/// Which customer messages a job labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    /// Neither labelled by the LLM before nor corrected by an agent.
    Unlabeled,
    /// Triaged `other`.
    Other,
    /// Triaged below [`LOW_CONFIDENCE`].
    LowConfidence,
    All,
}

impl Only {
    pub fn parse(value: &str) -> Result<Self, Error> {
        match value {
            "unlabeled" => Ok(Self::Unlabeled),
            "other" => Ok(Self::Other),
            "low_confidence" => Ok(Self::LowConfidence),
            "all" => Ok(Self::All),
            other => Err(Error::validation(
                "validation_failed",
                format!("`scope.only` is one of unlabeled, other, low_confidence, all; not `{other}`"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unlabeled => "unlabeled",
            Self::Other => "other",
            Self::LowConfidence => "low_confidence",
            Self::All => "all",
        }
    }
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Cancelled,
    Failed,
    /// The month's LLM budget or the job's own token limit is spent; it can be resumed.
    BudgetExhausted,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
            Self::BudgetExhausted => "budget_exhausted",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "cancelled" => Self::Cancelled,
            "budget_exhausted" => Self::BudgetExhausted,
            _ => Self::Failed,
        }
    }

    fn open(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

/// Which messages and how many.
#[derive(Clone, Debug, PartialEq)]
pub struct Scope {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub only: Only,
}

/// A labelling job as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct LabellingJob {
    pub id: Uuid,
    pub status: JobStatus,
    pub scope: Scope,
    pub max_messages: i32,
    pub max_tokens: Option<i64>,
    /// The messages in scope when it was asked for (at most `max_messages`).
    pub total: i32,
    pub labelled: i32,
    /// Labels not taken: outside the taxonomy, for a message not in the batch, unreadable.
    pub invalid: i32,
    /// Messages not sent: an agent set their intent.
    pub skipped: i32,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<labelling_job::Model> for LabellingJob {
    fn from(row: labelling_job::Model) -> Self {
        Self {
            id: row.id,
            status: JobStatus::parse(&row.status),
            scope: Scope {
                from: row.scope_from,
                to: row.scope_to,
                only: Only::parse(&row.scope_only).unwrap_or(Only::Unlabeled),
            },
            max_messages: row.max_messages,
            max_tokens: row.max_tokens,
            total: row.total,
            labelled: row.labelled,
            invalid: row.invalid,
            skipped: row.skipped,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            error: row.error,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        }
    }
}

/// The triaged customer messages of `scope`, after `cursor`, in the order jobs take them.
fn in_scope(tx: &TenantTx, scope: &Scope, cursor: Option<Uuid>) -> Select<message_triage::Entity> {
    let mut query = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::Status.eq(copilot_core::model::TriageStatus::Done))
        .order_by_asc(message_triage::Column::MessageId);
    if let Some(from) = scope.from {
        query = query.filter(message_triage::Column::CreatedAt.gte(from));
    }
    if let Some(to) = scope.to {
        query = query.filter(message_triage::Column::CreatedAt.lt(to));
    }
    if let Some(cursor) = cursor {
        query = query.filter(message_triage::Column::MessageId.gt(cursor));
    }
    match scope.only {
        Only::Unlabeled => query.filter(message_triage::Column::CorrectedIntent.is_null()).filter(Expr::cust(
            "NOT EXISTS (SELECT 1 FROM message_labels l WHERE l.message_id = message_triage.message_id AND l.source = 'llm')",
        )),
        Only::Other => query
            .filter(message_triage::Column::CorrectedIntent.is_null())
            .filter(message_triage::Column::Intent.eq(crate::taxonomy::OTHER)),
        Only::LowConfidence => query
            .filter(message_triage::Column::CorrectedIntent.is_null())
            .filter(message_triage::Column::IntentConfidence.lt(LOW_CONFIDENCE)),
        Only::All => query,
    }
}

async fn open_job(tx: &TenantTx) -> Result<Option<labelling_job::Model>, Error> {
    labelling_job::Entity::scoped(tx.tenant())
        .filter(labelling_job::Column::Status.is_in([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]))
        .one(&**tx)
        .await
        .map_err(db_err)
}

fn running_conflict() -> Error {
    Error::conflict("labelling_running", "a labelling job of this tenant is queued or running; cancel it or wait")
}

/// Queues a labelling job (admins). One per tenant at a time: 409 `labelling_running`.
pub async fn request(
    tx: &TenantTx,
    by: &Principal,
    scope: Scope,
    max_messages: i32,
    max_tokens: Option<i64>,
) -> Result<LabellingJob, Error> {
    by.require_admin()?;
    if !(1..=MAX_MESSAGES).contains(&max_messages) {
        return Err(Error::validation("validation_failed", format!("`max_messages` is 1 to {MAX_MESSAGES}")));
    }
    if max_tokens.is_some_and(|tokens| tokens < 1) {
        return Err(Error::validation("validation_failed", "`max_tokens` is at least 1"));
    }
    if let (Some(from), Some(to)) = (scope.from, scope.to)
        && from >= to
    {
        return Err(Error::validation("validation_failed", "`scope.from` must be before `scope.to`"));
    }
    if open_job(tx).await?.is_some() {
        return Err(running_conflict());
    }
    let found = in_scope(tx, &scope, None).count(&**tx).await.map_err(db_err)?;
    let now = copilot_core::now();
    let row = labelling_job::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        status: Set(JobStatus::Queued.as_str().to_owned()),
        scope_from: Set(scope.from),
        scope_to: Set(scope.to),
        scope_only: Set(scope.only.as_str().to_owned()),
        max_messages: Set(max_messages),
        max_tokens: Set(max_tokens),
        total: Set(found.min(max_messages as u64) as i32),
        labelled: Set(0),
        invalid: Set(0),
        skipped: Set(0),
        prompt_tokens: Set(0),
        completion_tokens: Set(0),
        cursor: Set(None),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        error: Set(None),
        requested_by: Set(by.actor.user_id()),
        created_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        updated_at: Set(now),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "intents.labelling_requested",
        audit::Target::new("labelling_job", row.id),
        serde_json::json!({ "only": scope.only.as_str(), "max_messages": max_messages, "total": row.total }),
    )
    .await?;
    Ok(row.into())
}

async fn row(tx: &TenantTx, id: Uuid) -> Result<labelling_job::Model, Error> {
    labelling_job::Entity::scoped(tx.tenant())
        .filter(labelling_job::Column::Id.eq(id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("labelling job"))
}

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<LabellingJob, Error> {
    row(tx, id).await.map(LabellingJob::from)
}

/// The tenant's latest jobs, newest first.
pub async fn list(tx: &TenantTx, limit: u64) -> Result<Vec<LabellingJob>, Error> {
    let rows = labelling_job::Entity::scoped(tx.tenant())
        .order_by_desc(labelling_job::Column::Id)
        .limit(limit)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(LabellingJob::from).collect())
}

/// Cancels a queued or running job (admins): a batch in flight is dropped, not stored.
pub async fn cancel(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<LabellingJob, Error> {
    by.require_admin()?;
    let found = row(tx, id).await?;
    if !JobStatus::parse(&found.status).open() {
        return Err(Error::conflict("labelling_finished", format!("the job is {} already", found.status)));
    }
    let now = copilot_core::now();
    let mut change: labelling_job::ActiveModel = found.into();
    change.status = Set(JobStatus::Cancelled.as_str().to_owned());
    change.lease_until = Set(None);
    change.finished_at = Set(Some(now));
    change.updated_at = Set(now);
    let cancelled = change.update(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "intents.labelling_cancelled",
        audit::Target::new("labelling_job", id),
        serde_json::Value::Null,
    )
    .await?;
    Ok(cancelled.into())
}

/// Queues a job that stopped on a spent budget (or failed) again, from where it stopped
/// (admins); 409 while another job of the tenant is open.
pub async fn resume(tx: &TenantTx, by: &Principal, id: Uuid, max_tokens: Option<i64>) -> Result<LabellingJob, Error> {
    by.require_admin()?;
    let found = row(tx, id).await?;
    let used = found.prompt_tokens + found.completion_tokens;
    if let Some(limit) = max_tokens
        && limit <= used
    {
        return Err(Error::validation(
            "validation_failed",
            format!("`max_tokens` must be above the {used} tokens the job used so far"),
        ));
    }
    if !matches!(JobStatus::parse(&found.status), JobStatus::BudgetExhausted | JobStatus::Failed) {
        return Err(Error::conflict(
            "labelling_not_resumable",
            format!("a {} job cannot be resumed; only one that ran out of budget or failed", found.status),
        ));
    }
    if open_job(tx).await?.is_some() {
        return Err(running_conflict());
    }
    let now = copilot_core::now();
    let mut change: labelling_job::ActiveModel = found.into();
    change.status = Set(JobStatus::Queued.as_str().to_owned());
    change.error = Set(None);
    change.next_attempt_at = Set(now);
    change.finished_at = Set(None);
    change.updated_at = Set(now);
    if max_tokens.is_some() {
        change.max_tokens = Set(max_tokens);
    }
    let resumed = change.update(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "intents.labelling_resumed",
        audit::Target::new("labelling_job", id),
        serde_json::json!({ "max_tokens": max_tokens }),
    )
    .await?;
    Ok(resumed.into())
}

/// A claimed job.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub tenant_id: TenantId,
    pub id: Uuid,
    pub attempt: i32,
    pub queued_at: DateTime<Utc>,
}

/// Claims up to `limit` due jobs (one per tenant) for `lease`; they become `running`.
pub async fn claim(db: &Db, limit: u64, lease: Duration) -> Result<Vec<Claimed>, Error> {
    let pick = FairPick {
        queue: &QUEUE,
        group: "tenant_id",
        due: "{row}.status IN ('queued', 'running') AND {row}.next_attempt_at <= $2
              AND ({row}.lease_until IS NULL OR {row}.lease_until <= $2)",
        per_group: 1,
        busy: None,
    };
    let sql = format!(
        "UPDATE labelling_jobs SET status = 'running', lease_until = $1, attempts = attempts + 1,
             started_at = COALESCE(started_at, $2), updated_at = $2
         WHERE id IN ({}) RETURNING tenant_id, id, attempts, next_attempt_at",
        pick.sql()
    );
    let rows = copilot_store::jobs::claim(db, &sql, limit, lease).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
                id: row.try_get("", "id").map_err(db_err)?,
                attempt: row.try_get("", "attempts").map_err(db_err)?,
                queued_at: row.try_get("", "next_attempt_at").map_err(db_err)?,
            })
        })
        .collect()
}

/// The claimed job, locked, while the claim holds it and it runs (a cancelled job is not).
async fn held_row(tx: &TenantTx, claimed: &Claimed) -> Result<Option<labelling_job::Model>, Error> {
    let found = labelling_job::Entity::scoped(tx.tenant())
        .filter(labelling_job::Column::Id.eq(claimed.id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(found.filter(|job| job.attempts == claimed.attempt && job.status == JobStatus::Running.as_str()))
}

/// A held job and its next messages: `(message id, text, corrected by an agent)`, at most
/// `size` and no more than the job has left; none when the claim no longer holds it.
pub async fn next_batch(
    tx: &TenantTx,
    claimed: &Claimed,
    size: u64,
) -> Result<Option<(LabellingJob, Vec<(Uuid, String, bool)>)>, Error> {
    let Some(job) = held_row(tx, claimed).await? else { return Ok(None) };
    let done = job.labelled + job.invalid + job.skipped;
    let left = (job.total - done).max(0) as u64;
    let cursor = job.cursor;
    let job = LabellingJob::from(job);
    let rows = in_scope(tx, &job.scope, cursor).limit(size.min(left)).all(&**tx).await.map_err(db_err)?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.message_id).collect();
    let bodies = triage::bodies(tx, &ids).await?;
    let batch = rows
        .into_iter()
        .filter_map(|row| {
            let body = bodies.get(&row.message_id)?.clone();
            Some((row.message_id, body, row.corrected_intent.is_some()))
        })
        .collect();
    Ok(Some((job, batch)))
}

/// What one batch came to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchOutcome {
    /// `(message, label, confidence)` for every label taken.
    pub labels: Vec<(Uuid, String, Option<f64>)>,
    pub invalid: i32,
    pub skipped: i32,
    /// The batch's last message: the job goes on after it.
    pub last: Option<Uuid>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub model: Option<String>,
}

/// Stores a batch's labels and advances the job, if the claim still holds it and it was
/// not cancelled meanwhile (then nothing is stored: false). Labels outside `allowed` (the
/// taxonomy changed during the job) are dropped and counted invalid.
pub async fn record_batch(
    tx: &TenantTx,
    claimed: &Claimed,
    outcome: BatchOutcome,
    allowed: &[String],
) -> Result<bool, Error> {
    let Some(job) = held_row(tx, claimed).await? else { return Ok(false) };
    let now = copilot_core::now();
    let (kept, dropped): (Vec<_>, Vec<_>) =
        outcome.labels.into_iter().partition(|(_, label, _)| allowed.iter().any(|a| a == label));
    let taken = kept.len() as i32;
    if !kept.is_empty() {
        let rows = kept.into_iter().map(|(message, label, confidence)| message_label::ActiveModel {
            tenant_id: Set(tx.tenant().0),
            message_id: Set(message),
            source: Set("llm".to_owned()),
            label: Set(label),
            confidence: Set(confidence),
            model: Set(outcome.model.clone()),
            job_id: Set(Some(claimed.id)),
            created_at: Set(now),
        });
        message_label::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    message_label::Column::TenantId,
                    message_label::Column::MessageId,
                    message_label::Column::Source,
                ])
                .update_columns([
                    message_label::Column::Label,
                    message_label::Column::Confidence,
                    message_label::Column::Model,
                    message_label::Column::JobId,
                    message_label::Column::CreatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(&**tx)
            .await
            .map_err(db_err)?;
    }
    let (labelled, invalid, skipped) = (job.labelled, job.invalid, job.skipped);
    let (prompt, completion) = (job.prompt_tokens, job.completion_tokens);
    let mut change: labelling_job::ActiveModel = job.into();
    change.labelled = Set(labelled + taken);
    change.invalid = Set(invalid + outcome.invalid + dropped.len() as i32);
    change.skipped = Set(skipped + outcome.skipped);
    change.prompt_tokens = Set(prompt + outcome.prompt_tokens);
    change.completion_tokens = Set(completion + outcome.completion_tokens);
    if let Some(last) = outcome.last {
        change.cursor = Set(Some(last));
    }
    change.updated_at = Set(now);
    change.update(&**tx).await.map_err(db_err)?;
    Ok(true)
}

/// Ends a held job as `status` (done, failed, budget exhausted), with the reason.
pub async fn finish(tx: &TenantTx, claimed: &Claimed, status: JobStatus, error: Option<&str>) -> Result<(), Error> {
    let Some(job) = held_row(tx, claimed).await? else { return Ok(()) };
    let now = copilot_core::now();
    let mut change: labelling_job::ActiveModel = job.into();
    change.status = Set(status.as_str().to_owned());
    change.error = Set(error.map(|error| error.chars().take(500).collect()));
    change.lease_until = Set(None);
    change.finished_at = Set(Some(now));
    change.updated_at = Set(now);
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// Lets a held job wait until `until` (every model paused), still running; any worker
/// takes it then.
pub async fn pause_until(tx: &TenantTx, claimed: &Claimed, until: DateTime<Utc>, why: &str) -> Result<(), Error> {
    let Some(job) = held_row(tx, claimed).await? else { return Ok(()) };
    let mut change: labelling_job::ActiveModel = job.into();
    change.next_attempt_at = Set(until);
    change.lease_until = Set(None);
    change.error = Set(Some(why.chars().take(500).collect()));
    change.updated_at = Set(copilot_core::now());
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}
