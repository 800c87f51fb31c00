//! Reply drafts: the durable drafting job of a ticket (queued when a customer message
//! arrives or an agent asks, claimed with a lease, retried with backoff), the result a
//! worker stores, and the human decision. Approval is the only way a draft's text becomes
//! an agent message: it needs a person's session, and a draft that a newer customer
//! message superseded cannot be approved.

use chrono::{DateTime, Duration, Utc};
use copilot_core::{
    Actor, Error, Principal,
    ids::{DraftId, MessageId, TicketId},
    model::{Author, Channel, DraftMode, DraftStatus, EditClass},
    page::{Page, PageRequest},
    values::bounded_text,
};
use copilot_entities::{draft, message, message_triage, ticket};
use copilot_store::jobs::Queue;
use copilot_store::{Db, Scoped, TenantTx, audit, db_err, events};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use copilot_conversations::{Message, NewMessage, Posted, find_row, find_row_for_update};
use copilot_intents::triage::MessageTriage;

use crate::settings;

/// Longest instructions an agent may give a regenerated draft, in characters.
const MAX_INSTRUCTIONS_CHARS: usize = 1000;
/// Messages of the thread a draft is written from (the newest ones).
const CONVERSATION_MESSAGES: u64 = 20;

/// A passage a draft cites.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub chunk_id: Uuid,
    pub document_id: Uuid,
    pub document_version: i64,
    pub title: String,
    /// The passage's heading path ("Returns > Refunds"); absent on drafts written before
    /// headings were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    pub quote: String,
    /// The draft's sentence that cites the passage, as it reads in the body; absent on
    /// drafts written before sentences were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentence: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: DraftId,
    pub ticket_id: TicketId,
    pub message_id: Option<MessageId>,
    pub status: DraftStatus,
    pub body: Option<String>,
    pub citations: Vec<Citation>,
    pub confidence: Option<f64>,
    pub language: Option<String>,
    pub mode: Option<DraftMode>,
    pub model: Option<String>,
    /// The LLM profile that answered (LLM mode).
    pub llm_profile: Option<String>,
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub notes: Vec<String>,
    pub intent: Option<String>,
    pub instructions: Option<String>,
    /// Extractive when the agent asked for a draft without the LLM.
    pub requested_mode: Option<DraftMode>,
    pub attempts: i32,
    pub error: Option<String>,
    pub approved_body: Option<String>,
    pub edit_distance: Option<f64>,
    pub edit_class: Option<EditClass>,
    pub rejection_reason: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub sent_message_id: Option<MessageId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<draft::Model> for Draft {
    fn from(row: draft::Model) -> Self {
        Self {
            id: DraftId(row.id),
            ticket_id: TicketId(row.ticket_id),
            message_id: row.message_id.map(MessageId),
            status: row.status,
            body: row.body,
            citations: row.citations.and_then(|value| serde_json::from_value(value).ok()).unwrap_or_default(),
            confidence: row.confidence,
            language: row.language,
            mode: row.mode,
            model: row.model,
            llm_profile: row.llm_profile,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            notes: row.notes.and_then(|value| serde_json::from_value(value).ok()).unwrap_or_default(),
            intent: row.intent,
            instructions: row.instructions,
            requested_mode: row.requested_mode,
            attempts: row.attempts,
            error: row.error,
            approved_body: row.approved_body,
            edit_distance: row.edit_distance,
            edit_class: row.edit_class,
            rejection_reason: row.rejection_reason,
            decided_by: row.decided_by,
            decided_at: row.decided_at,
            sent_message_id: row.sent_message_id.map(MessageId),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Supersedes the ticket's pending drafts and, unless the tenant turned automatic drafts
/// off, queues one for the new customer message (in the transaction that stores it).
pub async fn on_customer_message(
    tx: &TenantTx,
    ticket_id: TicketId,
    message_id: MessageId,
    at: DateTime<Utc>,
) -> Result<Option<Draft>, Error> {
    supersede_pending(tx, ticket_id).await?;
    if !settings::auto_draft(tx).await? {
        return Ok(None);
    }
    enqueue(tx, ticket_id, Some(message_id), Request::default(), None, at).await.map(Some)
}

/// An agent answered the customer with a reply of their own: the ticket's drafts still
/// being written or waiting for review answer a question that has been answered, and are
/// superseded.
pub async fn on_agent_reply(tx: &TenantTx, ticket_id: TicketId) -> Result<(), Error> {
    supersede_pending(tx, ticket_id).await
}

/// What an agent asks of a new draft.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// What to change compared with earlier drafts ("shorter, more formal").
    pub instructions: Option<String>,
    /// Written from the knowledge base without the LLM (e.g. after the LLM failed).
    pub without_llm: bool,
}

/// An agent asks for a (new) draft on a ticket, optionally with instructions; pending
/// drafts of the ticket are superseded.
pub async fn request(tx: &TenantTx, by: &Principal, ticket_id: TicketId, asked: Request) -> Result<Draft, Error> {
    // Writing a new draft (with instructions) replaces the agent's pending one: a person's call.
    by.require_human_role()?;
    let instructions =
        asked.instructions.map(|text| bounded_text("instructions", &text, 1, MAX_INSTRUCTIONS_CHARS)).transpose()?;
    find_row_for_update(tx, ticket_id).await?;
    supersede_pending(tx, ticket_id).await?;
    let latest_customer_message = message::Entity::scoped(tx.tenant())
        .filter(message::Column::TicketId.eq(ticket_id.0))
        .filter(message::Column::Author.eq(Author::Customer.as_str()))
        .order_by_desc(message::Column::Id)
        .one(&**tx)
        .await
        .map_err(db_err)?
        .map(|row| MessageId(row.id));
    let draft = enqueue(
        tx,
        ticket_id,
        latest_customer_message,
        Request { instructions, without_llm: asked.without_llm },
        by.actor.user_id(),
        copilot_core::now(),
    )
    .await?;
    audit::record(
        tx,
        by.actor,
        "draft.requested",
        audit::Target::new("draft", draft.id),
        serde_json::json!({
            "ticket_id": ticket_id,
            "instructions": draft.instructions,
            "requested_mode": draft.requested_mode,
        }),
    )
    .await?;
    Ok(draft)
}

async fn enqueue(
    tx: &TenantTx,
    ticket_id: TicketId,
    message_id: Option<MessageId>,
    asked: Request,
    requested_by: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<Draft, Error> {
    let row = draft::ActiveModel {
        id: Set(DraftId::generate().0),
        request_id: Set(copilot_store::request::current()),
        tenant_id: Set(tx.tenant().0),
        ticket_id: Set(ticket_id.0),
        message_id: Set(message_id.map(|id| id.0)),
        status: Set(DraftStatus::Generating),
        instructions: Set(asked.instructions),
        requested_mode: Set(asked.without_llm.then_some(DraftMode::Extractive)),
        requested_by: Set(requested_by),
        attempts: Set(0),
        next_attempt_at: Set(at),
        lease_until: Set(None),
        body: Set(None),
        citations: Set(None),
        confidence: Set(None),
        language: Set(None),
        mode: Set(None),
        model: Set(None),
        llm_profile: Set(None),
        prompt_tokens: Set(0),
        completion_tokens: Set(0),
        notes: Set(None),
        intent: Set(None),
        error: Set(None),
        approved_body: Set(None),
        edit_distance: Set(None),
        edit_class: Set(None),
        rejection_reason: Set(None),
        decided_by: Set(None),
        decided_at: Set(None),
        sent_message_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    Ok(row.insert(&**tx).await.map_err(db_err)?.into())
}

/// Marks the ticket's drafts that are still generating or waiting for a decision as superseded.
async fn supersede_pending(tx: &TenantTx, ticket_id: TicketId) -> Result<(), Error> {
    draft::Entity::update_many()
        .col_expr(draft::Column::Status, Expr::value(DraftStatus::Superseded))
        .col_expr(draft::Column::UpdatedAt, Expr::value(copilot_core::now()))
        .filter(draft::Column::TenantId.eq(tx.tenant().0))
        .filter(draft::Column::TicketId.eq(ticket_id.0))
        .filter(draft::Column::Status.is_in([DraftStatus::Generating, DraftStatus::Ready]))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A claimed drafting job.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub tenant_id: copilot_core::TenantId,
    pub draft_id: Uuid,
    /// The claim's attempt number: only its holder stores the draft or a failure, so a
    /// worker that outlived its lease cannot overwrite the one that took the job over.
    pub attempt: i32,
    /// The `X-Request-Id` of the request that queued the job, when one did.
    pub request_id: Option<String>,
    /// When the item was queued: with the claim time on a first attempt, its wait.
    pub queued_at: chrono::DateTime<chrono::Utc>,
}

/// The drafting queue: a draft being written (`generating`).
pub const QUEUE: Queue = Queue {
    name: "drafts",
    table: "drafts",
    id: "id",
    open: "{row}.status = 'generating'",
    held: "{row}.status = 'generating'",
    lease_columns: &["next_attempt_at", "lease_until"],
};

/// Claims up to `limit` due drafting jobs across tenants for `lease`. A job whose customer
/// message is still being triaged waits for its triage (done or given up).
///
/// Fair across tenants: a tenant with `per_tenant` drafts being written gets no more until
/// one ends (a tenant whose LLM hangs holds at most that many writers), and the tenant
/// with the fewest in progress goes first, then the longest waiting draft.
pub async fn claim(db: &Db, limit: u64, lease: Duration, per_tenant: usize) -> Result<Vec<Claimed>, Error> {
    let pick = copilot_store::jobs::FairPick {
        queue: &QUEUE,
        group: "tenant_id",
        due: "{row}.status = 'generating' AND {row}.next_attempt_at <= $2
              AND NOT EXISTS (SELECT 1 FROM message_triage t
                              WHERE t.message_id = {row}.message_id AND t.status = 'pending')",
        per_group: 1,
        busy: Some(("{row}.status = 'generating' AND {row}.lease_until > $2", per_tenant)),
    };
    let sql = format!(
        "UPDATE drafts SET next_attempt_at = $1, lease_until = $1, attempts = attempts + 1, updated_at = $2
         WHERE id IN ({}) RETURNING tenant_id, id, attempts, request_id, created_at",
        pick.sql()
    );
    let rows = copilot_store::jobs::claim(db, &sql, limit, lease).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                tenant_id: copilot_core::TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
                draft_id: row.try_get("", "id").map_err(db_err)?,
                attempt: row.try_get("", "attempts").map_err(db_err)?,
                request_id: row.try_get("", "request_id").map_err(db_err)?,
                queued_at: row.try_get("", "created_at").map_err(db_err)?,
            })
        })
        .collect()
}

/// What a worker needs to write a draft.
#[derive(Clone, Debug)]
pub struct Job {
    pub draft: Draft,
    pub subject: String,
    pub channel: Channel,
    /// Customer messages and agent replies (no internal notes), oldest first, up to the
    /// message the draft answers.
    pub conversation: Vec<Message>,
    /// The triage of the message the draft answers.
    pub triage: Option<MessageTriage>,
}

/// The job of a claimed draft; `None` when it is no longer generating (superseded meanwhile).
pub async fn job(tx: &TenantTx, draft_id: Uuid) -> Result<Option<Job>, Error> {
    let Some(row) =
        draft::Entity::scoped(tx.tenant()).filter(draft::Column::Id.eq(draft_id)).one(&**tx).await.map_err(db_err)?
    else {
        return Ok(None);
    };
    if row.status != DraftStatus::Generating {
        return Ok(None);
    }
    let Some(ticket) = ticket::Entity::scoped(tx.tenant())
        .filter(ticket::Column::Id.eq(row.ticket_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let mut query = message::Entity::scoped(tx.tenant())
        .filter(message::Column::TicketId.eq(row.ticket_id))
        .filter(message::Column::Author.ne(Author::Note));
    if let Some(answered) = row.message_id {
        query = query.filter(message::Column::Id.lte(answered));
    }
    let mut conversation: Vec<Message> = query
        .order_by_desc(message::Column::Id)
        .limit(CONVERSATION_MESSAGES)
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(Message::from)
        .collect();
    conversation.reverse();
    let triage = match row.message_id {
        Some(id) => message_triage::Entity::scoped(tx.tenant())
            .filter(message_triage::Column::MessageId.eq(id))
            .one(&**tx)
            .await
            .map_err(db_err)?
            .map(MessageTriage::from),
        None => None,
    };
    Ok(Some(Job { draft: row.into(), subject: ticket.subject, channel: ticket.channel, conversation, triage }))
}

/// A written draft.
#[derive(Clone, Debug)]
pub struct Written {
    pub body: String,
    pub citations: Vec<Citation>,
    pub confidence: f64,
    pub language: String,
    pub mode: DraftMode,
    pub model: Option<String>,
    pub llm_profile: Option<String>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub notes: Vec<String>,
    pub intent: Option<String>,
}

/// The claimed draft, locked; `None` when it was deleted, or claimed again since (the
/// claim's lease ran out while its worker was still writing).
async fn held(tx: &TenantTx, claimed: &Claimed) -> Result<Option<draft::Model>, Error> {
    let row = draft::Entity::scoped(tx.tenant())
        .filter(draft::Column::Id.eq(claimed.draft_id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?;
    let held = row.filter(|row| row.attempts == claimed.attempt);
    if held.is_none() {
        tracing::info!(draft = %claimed.draft_id, attempt = claimed.attempt, "a draft attempt ended after its claim; its result is dropped");
    }
    Ok(held)
}

/// Stores a written draft and counts it in the month's drafts. A draft superseded while
/// it was being written keeps its text for the record but stays superseded. When the
/// claim no longer holds the draft, nothing is stored (the tokens it spent were counted
/// when the LLM answered).
pub async fn finish(tx: &TenantTx, claimed: &Claimed, written: Written) -> Result<Option<Draft>, Error> {
    let Some(row) = held(tx, claimed).await? else { return Ok(None) };
    settings::count_draft(tx, written.mode).await?;
    let generating = row.status == DraftStatus::Generating;
    let mut change: draft::ActiveModel = row.into();
    if generating {
        change.status = Set(DraftStatus::Ready);
    }
    change.body = Set(Some(written.body));
    change.citations = Set(Some(serde_json::to_value(&written.citations).map_err(Error::internal)?));
    change.confidence = Set(Some(written.confidence));
    change.language = Set(Some(written.language));
    change.mode = Set(Some(written.mode));
    change.model = Set(written.model);
    change.llm_profile = Set(written.llm_profile);
    change.prompt_tokens = Set(written.prompt_tokens as i32);
    change.completion_tokens = Set(written.completion_tokens as i32);
    change.notes = Set(Some(serde_json::to_value(&written.notes).map_err(Error::internal)?));
    change.intent = Set(written.intent);
    change.error = Set(None);
    change.lease_until = Set(None);
    change.updated_at = Set(copilot_core::now());
    let draft: Draft = change.update(&**tx).await.map_err(db_err)?.into();
    if generating {
        events::emit(tx, "draft.ready", Some(draft.ticket_id), &serde_json::json!({ "draft": draft })).await?;
    }
    Ok(Some(draft))
}

/// Records a failed attempt: retried after `delay`, or `failed` without one (the retry
/// policy gave no more, or the failure is not worth retrying).
/// Returns the draft as it now stands; does nothing when the claim no longer holds it.
pub async fn record_failure(
    tx: &TenantTx,
    claimed: &Claimed,
    error: &str,
    delay: Option<Duration>,
) -> Result<Option<Draft>, Error> {
    let Some(row) = held(tx, claimed).await? else { return Ok(None) };
    let now = copilot_core::now();
    let generating = row.status == DraftStatus::Generating;
    let mut change: draft::ActiveModel = row.into();
    change.error = Set(Some(error.chars().take(500).collect()));
    change.lease_until = Set(None);
    let gives_up = generating && delay.is_none();
    if gives_up {
        change.status = Set(DraftStatus::Failed);
    } else if let Some(delay) = delay.filter(|_| generating) {
        change.next_attempt_at = Set(now + delay);
    }
    change.updated_at = Set(now);
    let draft: Draft = change.update(&**tx).await.map_err(db_err)?.into();
    if gives_up {
        events::emit(tx, "draft.failed", Some(draft.ticket_id), &serde_json::json!({ "draft": draft })).await?;
    }
    Ok(Some(draft))
}

pub async fn get(tx: &TenantTx, id: DraftId) -> Result<Draft, Error> {
    draft::Entity::scoped(tx.tenant())
        .filter(draft::Column::Id.eq(id.0))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .map(Draft::from)
        .ok_or(Error::NotFound("draft"))
}

/// The drafts of a ticket, newest first.
pub async fn list(tx: &TenantTx, ticket_id: TicketId, page: PageRequest) -> Result<Page<Draft>, Error> {
    find_row(tx, ticket_id).await?;
    let mut query = draft::Entity::scoped(tx.tenant()).filter(draft::Column::TicketId.eq(ticket_id.0));
    if let Some(before) = page.cursor {
        query = query.filter(draft::Column::Id.lt(before));
    }
    let rows = query.order_by_desc(draft::Column::Id).limit(page.limit + 1).all(&**tx).await.map_err(db_err)?;
    Ok(Page::from_overfetch(rows.into_iter().map(Draft::from).collect(), page.limit, |draft: &Draft| draft.id.0))
}

/// Share of characters changed (Levenshtein distance over the longer text's length, with
/// whitespace runs counted as one space) and its class.
pub fn edit_class(draft: &str, sent: &str) -> (f64, EditClass) {
    let normalise = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Bounded work: texts beyond this many characters are compared on their first part.
    const MAX_CHARS: usize = 4000;
    let a: Vec<char> = normalise(draft).chars().collect();
    let b: Vec<char> = normalise(sent).chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return (0.0, EditClass::Unchanged);
    }
    let tail_difference = a.len().saturating_sub(MAX_CHARS).abs_diff(b.len().saturating_sub(MAX_CHARS));
    let distance = levenshtein(&a[..a.len().min(MAX_CHARS)], &b[..b.len().min(MAX_CHARS)]) + tail_difference;
    let ratio = (distance as f64 / longest as f64).min(1.0);
    let class = if distance == 0 {
        EditClass::Unchanged
    } else if ratio <= 0.2 {
        EditClass::Light
    } else {
        EditClass::Heavy
    };
    (ratio, class)
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// An approved draft and the agent reply it became, whose effects beyond the ticket (the
/// e-mail delivery, the events) the application layer applies.
#[must_use = "the reply has effects beyond the conversation: the application layer applies them"]
#[derive(Clone, Debug)]
pub struct Approval {
    pub draft: Draft,
    pub reply: Posted,
}

/// Loads a draft for a decision, locked, and checks that it awaits one.
async fn decidable(tx: &TenantTx, by: &Principal, draft_id: DraftId) -> Result<draft::Model, Error> {
    // Only a person decides: an integration key, whatever its role, cannot.
    if !matches!(by.actor, Actor::User(_)) || !by.role.is_human() {
        return Err(Error::Forbidden("only a signed-in person can approve or reject a draft"));
    }
    let row = draft::Entity::scoped(tx.tenant())
        .filter(draft::Column::Id.eq(draft_id.0))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("draft"))?;
    match row.status {
        DraftStatus::Ready => Ok(row),
        DraftStatus::Superseded => Err(Error::conflict(
            "draft_superseded",
            "a newer customer message, a newer draft or an agent's own reply superseded this draft",
        )),
        DraftStatus::Generating => Err(Error::conflict("draft_not_ready", "the draft is still being written")),
        DraftStatus::Failed => Err(Error::conflict("draft_failed", "the draft failed and has no text to approve")),
        DraftStatus::Approved | DraftStatus::Rejected => {
            Err(Error::conflict("draft_already_decided", format!("the draft was already {}", row.status)))
        }
    }
}

/// Approves a draft, as written or as edited: its text becomes a public agent reply on the
/// ticket, written by the approving person.
pub async fn approve(
    tx: &TenantTx,
    by: &Principal,
    draft_id: DraftId,
    edited: Option<&str>,
) -> Result<Approval, Error> {
    let row = decidable(tx, by, draft_id).await?;
    let original = row.body.clone().unwrap_or_default();
    let sent = match edited {
        Some(text) => copilot_conversations::body(text)?,
        None => original.clone(),
    };
    let reply = copilot_conversations::add_message(
        tx,
        by,
        TicketId(row.ticket_id),
        NewMessage { author: Author::Agent, body: sent.clone() },
    )
    .await?;
    let message_id = reply.message.id;
    let (distance, class) = edit_class(&original, &sent);
    let now = copilot_core::now();
    let mut change: draft::ActiveModel = row.into();
    change.status = Set(DraftStatus::Approved);
    change.approved_body = Set(Some(sent));
    change.edit_distance = Set(Some(distance));
    change.edit_class = Set(Some(class));
    change.decided_by = Set(by.actor.user_id());
    change.decided_at = Set(Some(now));
    change.sent_message_id = Set(Some(message_id.0));
    change.updated_at = Set(now);
    let draft: Draft = change.update(&**tx).await.map_err(db_err)?.into();
    audit::record(
        tx,
        by.actor,
        "draft.approved",
        audit::Target::new("draft", draft_id),
        serde_json::json!({ "ticket_id": draft.ticket_id, "message_id": message_id, "edit_class": class }),
    )
    .await?;
    Ok(Approval { draft, reply })
}

/// Rejects a draft with a reason (kept for analytics).
pub async fn reject(tx: &TenantTx, by: &Principal, draft_id: DraftId, reason: &str) -> Result<Draft, Error> {
    let reason = bounded_text("reason", reason, 1, 500)?;
    let row = decidable(tx, by, draft_id).await?;
    let now = copilot_core::now();
    let mut change: draft::ActiveModel = row.into();
    change.status = Set(DraftStatus::Rejected);
    change.rejection_reason = Set(Some(reason.clone()));
    change.decided_by = Set(by.actor.user_id());
    change.decided_at = Set(Some(now));
    change.updated_at = Set(now);
    let draft: Draft = change.update(&**tx).await.map_err(db_err)?.into();
    audit::record(
        tx,
        by.actor,
        "draft.rejected",
        audit::Target::new("draft", draft_id),
        serde_json::json!({ "ticket_id": draft.ticket_id, "reason": reason }),
    )
    .await?;
    events::emit(tx, "draft.rejected", Some(draft.ticket_id), &serde_json::json!({ "draft": draft })).await?;
    Ok(draft)
}

/// Whether an approved AI draft was sent as one of the ticket's replies.
pub async fn any_sent(tx: &TenantTx, ticket_id: TicketId) -> Result<bool, Error> {
    let sent = draft::Entity::scoped(tx.tenant())
        .filter(draft::Column::TicketId.eq(ticket_id.0))
        .filter(draft::Column::Status.eq(DraftStatus::Approved))
        .filter(draft::Column::SentMessageId.is_not_null())
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(sent.is_some())
}

/// Drafts of a tenant created in `[from, to)`, for analytics.
pub(crate) async fn in_range(
    tx: &TenantTx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<draft::Model>, Error> {
    draft::Entity::scoped(tx.tenant())
        .filter(draft::Column::CreatedAt.gte(from))
        .filter(draft::Column::CreatedAt.lt(to))
        .order_by_asc(draft::Column::Id)
        .all(&**tx)
        .await
        .map_err(db_err)
}

/// The drafts answering `messages` follow them to ticket `to` (a merge or a split); the
/// source's pending drafts are superseded first by the caller.
pub async fn move_messages(tx: &TenantTx, messages: &[MessageId], to: TicketId) -> Result<(), Error> {
    let ids: Vec<Uuid> = messages.iter().map(|id| id.0).collect();
    copilot_store::follow_messages::<draft::Entity>(tx, draft::Column::TicketId, draft::Column::MessageId, &ids, to.0)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untouched_draft_is_unchanged_even_with_other_whitespace() {
        assert_eq!(
            edit_class("Hello,\n\nYour refund is on its way.", "Hello,\nYour refund  is on its way.").1,
            EditClass::Unchanged
        );
    }

    #[test]
    fn a_few_words_changed_is_light_and_a_rewrite_is_heavy() {
        let draft = "Hello, your refund reaches your card within five business days. Best regards, Acme";
        let (ratio, class) =
            edit_class(draft, "Hello, your refund reaches your card within 5 business days. Best regards, Acme");
        assert_eq!(class, EditClass::Light, "ratio {ratio}");
        assert_eq!(edit_class(draft, "We cannot refund this order.").1, EditClass::Heavy);
    }

    #[test]
    fn levenshtein_counts_edits() {
        let chars = |text: &str| text.chars().collect::<Vec<_>>();
        assert_eq!(levenshtein(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(levenshtein(&chars(""), &chars("abc")), 3);
        assert_eq!(levenshtein(&chars("退款"), &chars("退货")), 1);
    }
}
