//! Triage bookkeeping of customer messages: every customer message gets a durable work
//! item in the same transaction that stores it; workers claim items with a lease, store
//! the result (or the failure, retried with backoff), and the ticket carries the latest
//! result. Running the models is the caller's business: this module stores what it says.

use copilot_store::jobs::Queue;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use copilot_core::{
    Actor, Error, TenantId,
    ids::{MessageId, TicketId},
    model::{Priority, Sentiment, TriageStatus},
    retry::Backoff,
};
use copilot_entities::{message, message_triage, ticket};
use copilot_store::{Db, Scoped, TenantTx, audit, db_err, events};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a message's triage stands, as its readers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Pending,
    /// Pending after a failed attempt.
    Retrying,
    Done,
    /// Out of attempts.
    Failed,
}

/// The triage of one message as stored. In events it has the REST API's shape
/// (`{status, intent: {label, confidence, corrected}, sentiment: {label, score}, language,
/// attempts, error}`), not these flat fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "TriageWire", from = "TriageWire")]
pub struct MessageTriage {
    pub status: Progress,
    pub attempts: i32,
    pub error: Option<String>,
    pub intent: Option<String>,
    pub intent_confidence: Option<f64>,
    /// Set when an agent corrected the model's intent.
    pub corrected_intent: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub sentiment_score: Option<f64>,
    pub language: Option<String>,
}

impl MessageTriage {
    /// The intent readers see and how sure it is: an agent's correction (sure) over the
    /// model's label.
    pub fn shown_intent(&self) -> Option<(&str, f64)> {
        match (&self.corrected_intent, &self.intent) {
            (Some(corrected), _) => Some((corrected, 1.0)),
            (None, Some(label)) => Some((label, self.intent_confidence.unwrap_or(0.0))),
            (None, None) => None,
        }
    }
}

/// [`MessageTriage`] as events carry it: the shape of the REST API's triage.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TriageWire {
    status: Progress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    intent: Option<IntentWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sentiment: Option<SentimentWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    attempts: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct IntentWire {
    label: String,
    confidence: f64,
    /// An agent set this label.
    #[serde(default)]
    corrected: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SentimentWire {
    label: Sentiment,
    score: f64,
}

impl From<MessageTriage> for TriageWire {
    fn from(triage: MessageTriage) -> Self {
        let intent = triage.shown_intent().map(|(label, confidence)| IntentWire {
            label: label.to_owned(),
            confidence,
            corrected: triage.corrected_intent.is_some(),
        });
        Self {
            status: triage.status,
            intent,
            sentiment: triage
                .sentiment
                .map(|label| SentimentWire { label, score: triage.sentiment_score.unwrap_or(0.0) }),
            language: triage.language,
            attempts: triage.attempts,
            error: triage.error,
        }
    }
}

impl From<TriageWire> for MessageTriage {
    fn from(wire: TriageWire) -> Self {
        let (intent, corrected) = match wire.intent {
            Some(intent) if intent.corrected => (None, Some(intent)),
            intent => (intent, None),
        };
        Self {
            status: wire.status,
            attempts: wire.attempts,
            error: wire.error,
            intent_confidence: intent.as_ref().map(|intent| intent.confidence),
            intent: intent.map(|intent| intent.label),
            corrected_intent: corrected.map(|intent| intent.label),
            sentiment: wire.sentiment.as_ref().map(|sentiment| sentiment.label),
            sentiment_score: wire.sentiment.map(|sentiment| sentiment.score),
            language: wire.language,
        }
    }
}

impl From<message_triage::Model> for MessageTriage {
    fn from(row: message_triage::Model) -> Self {
        let status = match row.status {
            TriageStatus::Pending if row.error.is_some() => Progress::Retrying,
            TriageStatus::Pending => Progress::Pending,
            TriageStatus::Done => Progress::Done,
            TriageStatus::Failed => Progress::Failed,
        };
        Self {
            status,
            attempts: row.attempts,
            error: row.error,
            intent: row.intent,
            intent_confidence: row.intent_confidence,
            corrected_intent: row.corrected_intent,
            sentiment: row.sentiment,
            sentiment_score: row.sentiment_score,
            language: row.language,
        }
    }
}

/// What the models found in a message.
#[derive(Clone, Debug, PartialEq)]
pub struct TriageResult {
    pub intent: String,
    pub intent_confidence: f64,
    pub sentiment: Sentiment,
    pub sentiment_score: f64,
    pub language: String,
}

/// When a ticket's priority is raised because its customer turned negative.
#[derive(Clone, Copy, Debug)]
pub struct EscalationRule {
    /// This many consecutive negative customer messages raise the priority one level;
    /// 0 turns the rule off.
    pub negative_messages: usize,
    /// A message counts as negative when its sentiment is `negative` with at most this score.
    pub max_score: f64,
    /// The rule never raises the priority above this.
    pub ceiling: Priority,
}

impl Default for EscalationRule {
    fn default() -> Self {
        Self { negative_messages: 2, max_score: -0.5, ceiling: Priority::High }
    }
}

/// A claimed work item.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub tenant_id: TenantId,
    pub message_id: Uuid,
    /// The claim's attempt number: only its holder stores a result or a failure, so a
    /// worker that outlived its lease cannot overwrite the one that took the item over.
    pub attempt: i32,
    /// The `X-Request-Id` of the request that queued the item, when one did.
    pub request_id: Option<String>,
    /// When the item was queued: with the claim time on a first attempt, its wait.
    pub queued_at: chrono::DateTime<chrono::Utc>,
}

/// Queues the triage of a customer message (in the transaction that stores it) and
/// returns the queued triage.
pub async fn enqueue(
    tx: &TenantTx,
    ticket_id: TicketId,
    message_id: MessageId,
    at: DateTime<Utc>,
) -> Result<MessageTriage, Error> {
    let row = message_triage::ActiveModel {
        message_id: Set(message_id.0),
        request_id: Set(copilot_store::request::current()),
        tenant_id: Set(tx.tenant().0),
        ticket_id: Set(ticket_id.0),
        status: Set(TriageStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(at),
        error: Set(None),
        intent: Set(None),
        intent_confidence: Set(None),
        sentiment: Set(None),
        sentiment_score: Set(None),
        language: Set(None),
        corrected_intent: Set(None),
        corrected_by: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    Ok(row.insert(&**tx).await.map_err(db_err)?.into())
}

/// Items of one tenant in one claim at most: a tenant that sends thousands of messages at
/// once takes turns with the others instead of holding the models until it is done.
const PER_TENANT: usize = 4;

/// The triage queue: a customer message's triage, retried with backoff.
pub const QUEUE: Queue = Queue {
    name: "triage",
    table: "message_triage",
    id: "message_id",
    open: "{row}.status = 'pending'",
    held: "{row}.status = 'pending'",
    lease_columns: &["next_attempt_at"],
};

/// Claims up to `limit` due items across tenants and leases them for `lease`: another
/// worker takes an item again only after the lease runs out (its worker died). Each
/// tenant's longest waiting items come first, at most [`PER_TENANT`] of them per claim.
pub async fn claim(db: &Db, limit: u64, lease: Duration) -> Result<Vec<Claimed>, Error> {
    let pick = copilot_store::jobs::FairPick {
        queue: &QUEUE,
        group: "tenant_id",
        due: "{row}.status = 'pending' AND {row}.next_attempt_at <= $2",
        per_group: PER_TENANT,
        busy: None,
    };
    let sql = format!(
        "UPDATE message_triage SET next_attempt_at = $1, attempts = attempts + 1, updated_at = $2
         WHERE message_id IN ({}) RETURNING tenant_id, message_id, attempts, request_id, created_at",
        pick.sql()
    );
    let rows = copilot_store::jobs::claim(db, &sql, limit, lease).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
                message_id: row.try_get("", "message_id").map_err(db_err)?,
                attempt: row.try_get("", "attempts").map_err(db_err)?,
                request_id: row.try_get("", "request_id").map_err(db_err)?,
                queued_at: row.try_get("", "created_at").map_err(db_err)?,
            })
        })
        .collect()
}

/// The ticket of a triaged customer message of this tenant.
pub async fn ticket_of(tx: &TenantTx, message_id: MessageId) -> Result<Option<Uuid>, Error> {
    let row = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::MessageId.eq(message_id.0))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.map(|row| row.ticket_id))
}

/// The bodies of these messages of one tenant (a thousand ids per query).
pub async fn bodies(tx: &TenantTx, message_ids: &[Uuid]) -> Result<HashMap<Uuid, String>, Error> {
    let mut bodies = HashMap::with_capacity(message_ids.len());
    for chunk in message_ids.chunks(1000) {
        let rows = message::Entity::scoped(tx.tenant())
            .filter(message::Column::Id.is_in(chunk.to_vec()))
            .all(&**tx)
            .await
            .map_err(db_err)?;
        bodies.extend(rows.into_iter().map(|row| (row.id, row.body)));
    }
    Ok(bodies)
}

/// The item of a claim while the claim still holds it (locked); `None` when the message was
/// deleted, or the item was finished or claimed again since.
async fn held(tx: &TenantTx, claimed: &Claimed) -> Result<Option<message_triage::Model>, Error> {
    let row = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::MessageId.eq(claimed.message_id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?;
    let held = row.filter(|row| row.status == TriageStatus::Pending && row.attempts == claimed.attempt);
    if held.is_none() {
        tracing::info!(message = %claimed.message_id, attempt = claimed.attempt, "a triage result arrived after its claim ended; dropped");
    }
    Ok(held)
}

/// Locks the tickets of these messages in id order, before any of their triage rows: the
/// order every change of tickets and triage takes (a bulk change, a batch of results, an
/// intent correction), so that two of them never wait on each other in a circle.
pub async fn lock_tickets(tx: &TenantTx, message_ids: &[Uuid]) -> Result<(), Error> {
    let ticket_ids: Vec<Uuid> = message_triage::Entity::scoped(tx.tenant())
        .select_only()
        .column(message_triage::Column::TicketId)
        .filter(message_triage::Column::MessageId.is_in(message_ids.iter().copied()))
        .into_tuple()
        .all(&**tx)
        .await
        .map_err(db_err)?;
    ticket::Entity::scoped(tx.tenant())
        .filter(ticket::Column::Id.is_in(ticket_ids))
        .order_by_asc(ticket::Column::Id)
        .lock_exclusive()
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Stores a result, updates the ticket's latest triage and applies the escalation rule;
/// returns the message's ticket, or none (doing nothing) when the claim no longer holds
/// the item.
pub async fn complete(
    tx: &TenantTx,
    claimed: &Claimed,
    result: &TriageResult,
    rule: &EscalationRule,
) -> Result<Option<TicketId>, Error> {
    let Some(row) = held(tx, claimed).await? else { return Ok(None) };
    let message_id = claimed.message_id;
    let ticket_id = row.ticket_id;
    let mut change: message_triage::ActiveModel = row.into();
    change.status = Set(TriageStatus::Done);
    change.error = Set(None);
    change.intent = Set(Some(result.intent.clone()));
    change.intent_confidence = Set(Some(result.intent_confidence));
    change.sentiment = Set(Some(result.sentiment));
    change.sentiment_score = Set(Some(result.sentiment_score));
    change.language = Set(Some(result.language.clone()));
    change.updated_at = Set(copilot_core::now());
    change.update(&**tx).await.map_err(db_err)?;
    refresh_ticket(tx, ticket_id, rule).await?;
    let data = serde_json::json!({
        "ticket_id": ticket_id,
        "message_id": message_id,
        "intent": { "label": result.intent, "confidence": result.intent_confidence },
        "sentiment": { "label": result.sentiment, "score": result.sentiment_score },
        "language": result.language,
    });
    events::emit(tx, "triage.completed", Some(TicketId(ticket_id)), &data).await?;
    Ok(Some(TicketId(ticket_id)))
}

/// Records a failed attempt: retried after the wait `policy` gives, `failed` once it gives
/// no more; does nothing when the claim no longer holds the item.
pub async fn fail(tx: &TenantTx, claimed: &Claimed, error: &str, policy: &Backoff) -> Result<(), Error> {
    let Some(row) = held(tx, claimed).await? else { return Ok(()) };
    let now = copilot_core::now();
    let retry = policy.retry_in(row.attempts);
    let mut change: message_triage::ActiveModel = row.into();
    change.error = Set(Some(error.chars().take(500).collect()));
    match retry {
        Some(wait) => change.next_attempt_at = Set(now + wait),
        None => change.status = Set(TriageStatus::Failed),
    }
    change.updated_at = Set(now);
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// Copies the newest triage intent (an agent's correction first) onto the ticket.
pub(crate) async fn refresh_ticket_intent(tx: &TenantTx, ticket_id: Uuid) -> Result<(), Error> {
    let latest = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::TicketId.eq(ticket_id))
        .filter(message_triage::Column::Status.eq(TriageStatus::Done))
        .order_by_desc(message_triage::Column::MessageId)
        .one(&**tx)
        .await
        .map_err(db_err)?;
    if let Some(latest) = latest {
        ticket::Entity::update_many()
            .col_expr(
                ticket::Column::Intent,
                sea_orm::sea_query::Expr::value(latest.corrected_intent.or(latest.intent)),
            )
            .filter(ticket::Column::TenantId.eq(tx.tenant().0))
            .filter(ticket::Column::Id.eq(ticket_id))
            .exec(&**tx)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Copies the newest done triage of the ticket's customer messages onto the ticket and
/// raises its priority when the customer has just turned negative.
async fn refresh_ticket(tx: &TenantTx, ticket_id: Uuid, rule: &EscalationRule) -> Result<(), Error> {
    let recent = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::TicketId.eq(ticket_id))
        .filter(message_triage::Column::Status.eq(TriageStatus::Done))
        .order_by_desc(message_triage::Column::MessageId)
        .limit(rule.negative_messages as u64 + 1)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let Some(latest) = recent.first() else { return Ok(()) };
    let Some(ticket) = ticket::Entity::scoped(tx.tenant())
        .filter(ticket::Column::Id.eq(ticket_id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(());
    };
    let old_priority = ticket.priority;
    let escalated = escalate(&recent, old_priority, rule);
    let mut change: ticket::ActiveModel = ticket.into();
    change.intent = Set(latest.corrected_intent.clone().or_else(|| latest.intent.clone()));
    change.sentiment = Set(latest.sentiment);
    change.sentiment_score = Set(latest.sentiment_score);
    change.language = Set(latest.language.clone());
    if let Some(priority) = escalated {
        change.priority = Set(priority);
        change.priority_rank = Set(priority.rank());
        change.updated_at = Set(copilot_core::now());
    }
    change.update(&**tx).await.map_err(db_err)?;
    if let Some(priority) = escalated {
        audit::record(
            tx,
            Actor::Platform,
            "ticket.priority_escalated",
            audit::Target::new("ticket", ticket_id),
            serde_json::json!({
                "from": old_priority,
                "to": priority,
                "rule": format!("{} negative customer messages in a row", rule.negative_messages),
            }),
        )
        .await?;
    }
    Ok(())
}

/// The raised priority when the newest `rule.negative_messages` results (newest first)
/// are negative and the one before them is not: one raise per negative streak.
fn escalate(newest_first: &[message_triage::Model], priority: Priority, rule: &EscalationRule) -> Option<Priority> {
    let streak = rule.negative_messages;
    if streak == 0 || newest_first.len() < streak {
        return None;
    }
    let negative = |row: &message_triage::Model| {
        row.sentiment == Some(Sentiment::Negative) && row.sentiment_score.is_some_and(|s| s <= rule.max_score)
    };
    let turned_negative =
        newest_first[..streak].iter().all(negative) && newest_first.get(streak).is_none_or(|r| !negative(r));
    let raised = match priority {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        Priority::High | Priority::Urgent => Priority::Urgent,
    };
    (turned_negative && raised.rank() <= rule.ceiling.rank() && raised.rank() > priority.rank()).then_some(raised)
}

/// The triage of each of the given messages that has one.
pub async fn for_messages(
    tx: &TenantTx,
    message_ids: &[MessageId],
) -> Result<HashMap<MessageId, MessageTriage>, Error> {
    if message_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::MessageId.is_in(message_ids.iter().map(|id| id.0)))
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(|row| (MessageId(row.message_id), row.into())).collect())
}

/// The triage of `messages` follows them to ticket `to` (a merge or a split).
pub async fn move_messages(tx: &TenantTx, messages: &[MessageId], to: TicketId) -> Result<(), Error> {
    let ids: Vec<Uuid> = messages.iter().map(|id| id.0).collect();
    copilot_store::follow_messages::<message_triage::Entity>(
        tx,
        message_triage::Column::TicketId,
        message_triage::Column::MessageId,
        &ids,
        to.0,
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_triage_in_the_rest_shape_and_read_it_back() {
        let triage = MessageTriage {
            status: Progress::Done,
            attempts: 1,
            error: None,
            intent: Some("track_order".into()),
            intent_confidence: Some(0.9),
            corrected_intent: None,
            sentiment: Some(Sentiment::Negative),
            sentiment_score: Some(-0.6),
            language: Some("en".into()),
        };
        let json = serde_json::to_value(&triage).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({
                "status": "done",
                "intent": {"label": "track_order", "confidence": 0.9, "corrected": false},
                "sentiment": {"label": "negative", "score": -0.6},
                "language": "en",
                "attempts": 1,
            })
        );
        assert_eq!(serde_json::from_value::<MessageTriage>(json).ok(), Some(triage.clone()));
        let corrected = MessageTriage { corrected_intent: Some("get_refund".into()), ..triage };
        let json = serde_json::to_value(&corrected).expect("serialize");
        assert_eq!(json["intent"], serde_json::json!({"label": "get_refund", "confidence": 1.0, "corrected": true}));
    }

    fn result(sentiment: Sentiment, score: f64) -> message_triage::Model {
        let now = copilot_core::now();
        message_triage::Model {
            message_id: Uuid::now_v7(),
            request_id: None,
            tenant_id: Uuid::nil(),
            ticket_id: Uuid::nil(),
            status: TriageStatus::Done,
            attempts: 1,
            next_attempt_at: now,
            error: None,
            intent: Some("complaint".into()),
            intent_confidence: Some(0.9),
            sentiment: Some(sentiment),
            sentiment_score: Some(score),
            language: Some("en".into()),
            corrected_intent: None,
            corrected_by: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn two_negative_messages_in_a_row_raise_the_priority_once() {
        let rule = EscalationRule::default();
        let turned =
            [result(Sentiment::Negative, -0.8), result(Sentiment::Negative, -0.7), result(Sentiment::Neutral, 0.0)];
        assert_eq!(escalate(&turned, Priority::Normal, &rule), Some(Priority::High));
        let still =
            [result(Sentiment::Negative, -0.8), result(Sentiment::Negative, -0.7), result(Sentiment::Negative, -0.9)];
        assert_eq!(escalate(&still, Priority::High, &rule), None, "one raise per streak");
    }

    #[test]
    fn mildly_negative_or_single_messages_do_not_escalate() {
        let rule = EscalationRule::default();
        assert_eq!(escalate(&[result(Sentiment::Negative, -0.8)], Priority::Normal, &rule), None);
        assert_eq!(
            escalate(&[result(Sentiment::Negative, -0.8), result(Sentiment::Negative, -0.2)], Priority::Normal, &rule),
            None
        );
    }

    #[test]
    fn the_ceiling_caps_the_raise_and_zero_disables_the_rule() {
        let rule = EscalationRule::default();
        let turned = [result(Sentiment::Negative, -0.8), result(Sentiment::Negative, -0.7)];
        assert_eq!(escalate(&turned, Priority::High, &rule), None, "high is the default ceiling");
        let off = EscalationRule { negative_messages: 0, ..rule };
        assert_eq!(escalate(&turned, Priority::Low, &off), None);
    }
}
