//! The summary of each ticket and its recomputation queue.

use chrono::{DateTime, Duration, Utc};
use copilot_core::{
    Error, TenantId,
    ids::{MessageId, TicketId},
    model::{DraftMode, SentimentTrend},
};
use copilot_entities::ticket_summary;
use copilot_store::{
    Db, Scoped, TenantTx, db_err, events,
    jobs::{FairPick, Queue},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

pub const QUEUE: Queue = Queue {
    name: "summaries",
    table: "ticket_summaries",
    id: "id",
    open: "{row}.pending",
    held: "{row}.pending",
    lease_columns: &["lease_until"],
};

/// Where a ticket's summary stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SummaryState {
    /// Being written for the first time.
    Pending,
    /// Written; `stale` says whether a newer one is being written.
    Ready,
    /// Writing it failed and nothing was written before.
    Failed,
}

/// A ticket's summary as agents read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub ticket_id: TicketId,
    pub state: SummaryState,
    /// A newer message is being summarised.
    pub stale: bool,
    pub text: Option<String>,
    pub customer_goal: Option<String>,
    pub what_was_tried: Vec<String>,
    pub open_questions: Vec<String>,
    pub sentiment_trend: Option<SentimentTrend>,
    pub language: Option<String>,
    pub mode: Option<DraftMode>,
    pub model: Option<String>,
    pub llm_profile: Option<String>,
    pub message_count: i32,
    pub error: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

fn list(json: Option<String>) -> Vec<String> {
    json.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default()
}

impl From<ticket_summary::Model> for Summary {
    fn from(row: ticket_summary::Model) -> Self {
        let written = row.summarized_at.is_some();
        let state = match (written, row.pending) {
            (true, _) => SummaryState::Ready,
            (false, true) => SummaryState::Pending,
            (false, false) => SummaryState::Failed,
        };
        Self {
            ticket_id: TicketId(row.ticket_id),
            state,
            stale: written && row.pending,
            text: row.text,
            customer_goal: row.customer_goal,
            what_was_tried: list(row.what_was_tried),
            open_questions: list(row.open_questions),
            sentiment_trend: row.sentiment_trend,
            language: row.language,
            mode: row.mode,
            model: row.model,
            llm_profile: row.llm_profile,
            message_count: row.message_count,
            error: row.error,
            updated_at: row.summarized_at,
        }
    }
}

async fn row(tx: &TenantTx, ticket: TicketId) -> Result<Option<ticket_summary::Model>, Error> {
    ticket_summary::Entity::scoped(tx.tenant())
        .filter(ticket_summary::Column::TicketId.eq(ticket.0))
        .one(&**tx)
        .await
        .map_err(db_err)
}

/// The ticket's summary, if one was ever asked for.
pub async fn get(tx: &TenantTx, ticket: TicketId) -> Result<Option<Summary>, Error> {
    Ok(row(tx, ticket).await?.map(Summary::from))
}

/// Marks the ticket's summary pending from `after` on (a debounce: messages arriving
/// within it are summarised together), up to `newest`, its newest message.
pub async fn request(tx: &TenantTx, ticket: TicketId, newest: Option<MessageId>, after: Duration) -> Result<(), Error> {
    let now = copilot_core::now();
    match row(tx, ticket).await? {
        Some(existing) => {
            let mut change: ticket_summary::ActiveModel = existing.into();
            change.pending = Set(true);
            change.requested_message_id = Set(newest.map(|id| id.0));
            change.next_attempt_at = Set(now + after);
            change.failures = Set(0);
            change.updated_at = Set(now);
            change.update(&**tx).await.map_err(db_err)?;
        }
        None => {
            ticket_summary::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tx.tenant().0),
                ticket_id: Set(ticket.0),
                pending: Set(true),
                requested_message_id: Set(newest.map(|id| id.0)),
                next_attempt_at: Set(now + after),
                lease_until: Set(None),
                attempts: Set(0),
                failures: Set(0),
                text: Set(None),
                customer_goal: Set(None),
                what_was_tried: Set(None),
                open_questions: Set(None),
                sentiment_trend: Set(None),
                language: Set(None),
                mode: Set(None),
                model: Set(None),
                llm_profile: Set(None),
                message_count: Set(0),
                covers_message_id: Set(None),
                error: Set(None),
                summarized_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&**tx)
            .await
            .map_err(db_err)?;
        }
    }
    Ok(())
}

/// A claimed recomputation.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub tenant_id: TenantId,
    pub id: Uuid,
    pub ticket_id: TicketId,
    pub attempt: i32,
    pub failures: i32,
    pub queued_at: DateTime<Utc>,
}

/// Claims up to `limit` due summaries across tenants for `lease`, a tenant at a time per
/// claim. A ticket whose customer messages are still being triaged waits (the sentiment
/// trend reads their triage).
pub async fn claim(db: &Db, limit: u64, lease: Duration) -> Result<Vec<Claimed>, Error> {
    let pick = FairPick {
        queue: &QUEUE,
        group: "tenant_id",
        due: "{row}.pending AND {row}.next_attempt_at <= $2
              AND ({row}.lease_until IS NULL OR {row}.lease_until <= $2)
              AND NOT EXISTS (SELECT 1 FROM message_triage t
                              WHERE t.ticket_id = {row}.ticket_id AND t.status = 'pending')",
        per_group: 2,
        busy: None,
    };
    let sql = format!(
        "UPDATE ticket_summaries SET lease_until = $1, attempts = attempts + 1, updated_at = $2
         WHERE id IN ({}) RETURNING tenant_id, id, ticket_id, attempts, failures, next_attempt_at",
        pick.sql()
    );
    let rows = copilot_store::jobs::claim(db, &sql, limit, lease).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
                id: row.try_get("", "id").map_err(db_err)?,
                ticket_id: TicketId(row.try_get("", "ticket_id").map_err(db_err)?),
                attempt: row.try_get("", "attempts").map_err(db_err)?,
                failures: row.try_get("", "failures").map_err(db_err)?,
                queued_at: row.try_get("", "next_attempt_at").map_err(db_err)?,
            })
        })
        .collect()
}

/// The claimed row, locked, while the claim still holds it.
async fn held(tx: &TenantTx, claimed: &Claimed) -> Result<Option<ticket_summary::Model>, Error> {
    let row = ticket_summary::Entity::scoped(tx.tenant())
        .filter(ticket_summary::Column::Id.eq(claimed.id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.filter(|row| row.attempts == claimed.attempt))
}

/// A summary as written.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSummary {
    pub text: String,
    pub customer_goal: Option<String>,
    pub what_was_tried: Vec<String>,
    pub open_questions: Vec<String>,
    pub sentiment_trend: SentimentTrend,
    pub language: String,
    pub mode: DraftMode,
    pub model: Option<String>,
    pub llm_profile: Option<String>,
    pub message_count: i32,
    /// The newest message it covers.
    pub covers: Option<MessageId>,
    /// Why the LLM did not write it, when it was meant to.
    pub error: Option<String>,
}

/// Stores a written summary and emits `ticket.summary.updated`. It stays pending when a
/// newer message came in meanwhile. A claim that no longer holds stores nothing.
pub async fn finish(tx: &TenantTx, claimed: &Claimed, summary: NewSummary) -> Result<Option<Summary>, Error> {
    let Some(row) = held(tx, claimed).await? else { return Ok(None) };
    let still_wanted = row.requested_message_id.is_some() && row.requested_message_id != summary.covers.map(|id| id.0);
    let now = copilot_core::now();
    let mut change: ticket_summary::ActiveModel = row.into();
    change.pending = Set(still_wanted);
    change.lease_until = Set(None);
    change.failures = Set(0);
    change.text = Set(Some(summary.text));
    change.customer_goal = Set(summary.customer_goal);
    change.what_was_tried = Set(Some(serde_json::to_string(&summary.what_was_tried).map_err(Error::internal)?));
    change.open_questions = Set(Some(serde_json::to_string(&summary.open_questions).map_err(Error::internal)?));
    change.sentiment_trend = Set(Some(summary.sentiment_trend));
    change.language = Set(Some(summary.language));
    change.mode = Set(Some(summary.mode));
    change.model = Set(summary.model);
    change.llm_profile = Set(summary.llm_profile);
    change.message_count = Set(summary.message_count);
    change.covers_message_id = Set(summary.covers.map(|id| id.0));
    change.error = Set(summary.error);
    change.summarized_at = Set(Some(now));
    change.updated_at = Set(now);
    let summary = Summary::from(change.update(&**tx).await.map_err(db_err)?);
    events::emit(tx, "ticket.summary.updated", Some(summary.ticket_id), &serde_json::json!({ "summary": summary }))
        .await?;
    Ok(Some(summary))
}

/// Records a failed attempt: tried again after `retry_in`, or, without one, left as it
/// was (the last summary, if any, stays) with the error.
pub async fn fail(tx: &TenantTx, claimed: &Claimed, error: &str, retry_in: Option<Duration>) -> Result<(), Error> {
    let Some(row) = held(tx, claimed).await? else { return Ok(()) };
    let now = copilot_core::now();
    let failures = row.failures;
    let mut change: ticket_summary::ActiveModel = row.into();
    change.lease_until = Set(None);
    change.error = Set(Some(error.chars().take(500).collect()));
    match retry_in {
        Some(wait) => {
            change.failures = Set(failures + 1);
            change.next_attempt_at = Set(now + wait);
        }
        None => {
            change.pending = Set(false);
            change.failures = Set(0);
        }
    }
    change.updated_at = Set(now);
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}
