//! Reply drafts: listing and requesting them on a ticket, reading and streaming one, and
//! the human decision (approve, optionally edited, or reject with a reason).

use std::time::Duration;

use chrono::{DateTime, Utc};
use copilot_core::{
    ids::{DraftId, TicketId},
    model,
};
use copilot_drafts::drafts::{self, Draft};
use futures::{StreamExt, stream::BoxStream};
use poem::web::sse::Event;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::{EventStream, Json},
    types::ToJSON,
};
use uuid::Uuid;

use super::{Tag, page};
use copilot_pipeline::{
    drafting::StreamEvent,
    translation::{TranslateTo, approve_translated},
};

use crate::{
    AppState,
    auth::TenantAuth,
    dto::{MessageOut, Page, mirror_enum},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct DraftsApi {
    pub state: AppState,
}

mirror_enum!(
    /// Where a draft stands.
    DraftStatus => model::DraftStatus {
        /// Being written (or waiting for a retry of its LLM call).
        Generating,
        /// Written, waiting for an agent's decision.
        Ready,
        /// Could not be written; `error` says why.
        Failed,
        Approved,
        Rejected,
        /// A newer customer message, a newer draft or an agent's own reply replaced it; it
        /// cannot be approved.
        Superseded,
    }
);
mirror_enum!(
    /// How a draft was written.
    DraftMode => model::DraftMode {
        /// By the tenant's LLM, grounded in retrieved passages.
        Llm,
        /// Without an LLM: the best-matching passage in a greeting and closing.
        Extractive,
    }
);
mirror_enum!(
    /// How much the agent changed the draft before sending it.
    EditClass => model::EditClass {
        Unchanged,
        /// At most a fifth of the characters changed.
        Light,
        Heavy,
    }
);

/// A passage the draft relies on.
#[derive(Debug, Object)]
pub struct CitationOut {
    pub chunk_id: Uuid,
    pub document_id: Uuid,
    pub document_version: i64,
    pub title: String,
    /// The passage's section (its heading path, e.g. `Returns > Refunds`).
    pub heading: Option<String>,
    /// The passage's sentence that supports the draft.
    pub quote: String,
    /// The draft's sentence that cites the passage, exactly as it reads in `body` (a
    /// citation mark belongs at its end); absent on drafts written before it was kept.
    pub sentence: Option<String>,
}

#[derive(Debug, Object)]
pub struct TokenUsageOut {
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DraftOut {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// The customer message the draft answers.
    pub message_id: Option<Uuid>,
    pub status: DraftStatus,
    /// The reply text (absent while generating).
    pub body: Option<String>,
    pub citations: Vec<CitationOut>,
    /// 0 to 1: how far the draft is supported by the knowledge base.
    pub confidence: Option<f64>,
    /// The customer's language, which the draft is written in.
    pub language: Option<String>,
    pub mode: Option<DraftMode>,
    /// The model that wrote it (LLM mode).
    pub model: Option<String>,
    /// The model profile that answered (LLM mode): `default` or a named profile.
    pub llm_profile: Option<String>,
    pub usage: TokenUsageOut,
    /// Remarks for the agent: `no_llm_configured`, `budget_exhausted`, `no_relevant_knowledge`,
    /// `knowledge_does_not_answer`, `unsupported_citations_dropped`, `prompt_markup_removed`, `language_mismatch`,
    /// `personal_data_redacted`, `extractive_requested`.
    pub notes: Vec<String>,
    /// The intent of the message it answers.
    pub intent: Option<String>,
    /// The agent's wishes it was regenerated with.
    pub instructions: Option<String>,
    pub attempts: i32,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// The text that was sent.
    pub approved_body: Option<String>,
    pub edit_class: Option<EditClass>,
    /// Share of characters changed before sending (0 to 1).
    pub edit_distance: Option<f64>,
    pub rejection_reason: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The agent message an approval created.
    pub sent_message_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Draft> for DraftOut {
    fn from(draft: Draft) -> Self {
        Self {
            id: draft.id.0,
            ticket_id: draft.ticket_id.0,
            message_id: draft.message_id.map(Uuid::from),
            status: draft.status.into(),
            body: draft.body,
            citations: draft
                .citations
                .into_iter()
                .map(|citation| CitationOut {
                    chunk_id: citation.chunk_id,
                    document_id: citation.document_id,
                    document_version: citation.document_version,
                    title: citation.title,
                    heading: citation.heading,
                    quote: citation.quote,
                    sentence: citation.sentence,
                })
                .collect(),
            confidence: draft.confidence,
            language: draft.language,
            mode: draft.mode.map(Into::into),
            model: draft.model,
            llm_profile: draft.llm_profile,
            usage: TokenUsageOut { prompt_tokens: draft.prompt_tokens, completion_tokens: draft.completion_tokens },
            notes: draft.notes,
            intent: draft.intent,
            instructions: draft.instructions,
            attempts: draft.attempts,
            error: draft.error,
            approved_body: draft.approved_body,
            edit_class: draft.edit_class.map(Into::into),
            edit_distance: draft.edit_distance,
            rejection_reason: draft.rejection_reason,
            decided_by: draft.decided_by,
            decided_at: draft.decided_at,
            sent_message_id: draft.sent_message_id.map(Uuid::from),
            created_at: draft.created_at,
            updated_at: draft.updated_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct DraftRequestIn {
    /// What to change compared with earlier drafts, e.g. "shorter, more formal" (at most 1000 characters).
    pub instructions: Option<String>,
    /// `extractive`: write it from the knowledge base without the LLM (for example when
    /// the LLM failed); absent or `llm`: the usual way.
    pub mode: Option<DraftMode>,
}

#[derive(ApiResponse)]
pub enum DraftAccepted {
    /// Queued; follow it at `GET /v1/drafts/{id}` or `GET /v1/drafts/{id}/stream`.
    #[oai(status = 202)]
    Accepted(Json<DraftOut>),
}

#[derive(Debug, Object)]
pub struct ApproveIn {
    /// The text to send instead of the draft's (the agent's edit). Absent: the draft as written.
    pub body: Option<String>,
    /// With `body` written in the agent's own language: send it translated into `customer`
    /// (the customer's language) or a language code; the agent's text is kept as the
    /// reply's `original_body`.
    pub translate_to: Option<String>,
}

#[derive(Debug, Object)]
pub struct ApprovedOut {
    pub draft: DraftOut,
    /// The public agent reply the approval added to the ticket.
    pub message: MessageOut,
}

#[derive(Debug, Object)]
pub struct RejectIn {
    /// Why the draft was not used (kept for analytics), e.g. "wrong policy", "tone".
    pub reason: String,
}

/// What an event of a draft's stream carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DraftStreamEventKind {
    /// More of the draft as the model writes it (raw: citation markers such as `[S1]` included).
    Text,
    /// The attempt ended: `draft` holds the stored draft.
    Draft,
    /// The model failed mid-answer and the next profile starts over: drop the text so far.
    Restart,
}

/// An event of `GET /v1/drafts/{id}/stream`.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DraftStreamEvent {
    #[oai(rename = "type")]
    pub kind: DraftStreamEventKind,
    pub text: Option<String>,
    pub draft: Option<DraftOut>,
}

/// How often a listener checks the database while the draft is written elsewhere.
const STREAM_POLL: Duration = Duration::from_millis(250);
/// How long a stream stays open at most.
const STREAM_LIMIT: Duration = Duration::from_secs(15 * 60);

#[OpenApi(tag = "Tag::Drafts")]
impl DraftsApi {
    /// The ticket's drafts, newest first.
    #[oai(path = "/tickets/:id/drafts", method = "get", operation_id = "drafts.list")]
    async fn list(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        /// 1 to 100; 25 when absent.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<DraftOut>>> {
        let page = page(limit.0, cursor.0)?;
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let drafts = drafts::list(&tx, TicketId(id.0), page).await?;
        Ok(Json(Page::from_domain(drafts, DraftOut::from)))
    }

    /// Ask for a new draft of the reply (for example with instructions such as "shorter,
    /// more formal"); the ticket's pending drafts are superseded.
    #[oai(path = "/tickets/:id/drafts", method = "post", operation_id = "drafts.request")]
    async fn request(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<DraftRequestIn>,
    ) -> ApiResult<DraftAccepted> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let body = body.0;
        let asked =
            drafts::Request { instructions: body.instructions, without_llm: body.mode == Some(DraftMode::Extractive) };
        let draft = drafts::request(&tx, &principal, TicketId(id.0), asked).await?;
        tx.commit().await?;
        self.state.pipeline.draft_wakeup.notify_one();
        Ok(DraftAccepted::Accepted(Json(draft.into())))
    }

    /// One draft.
    #[oai(path = "/drafts/:id", method = "get", operation_id = "drafts.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<DraftOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(drafts::get(&tx, DraftId(id.0)).await?.into()))
    }

    /// The draft as it is written, as server-sent events: `text` events while the model
    /// writes, then one `draft` event with the stored draft (at once when it is no longer
    /// generating).
    #[oai(path = "/drafts/:id/stream", method = "get", operation_id = "drafts.stream")]
    async fn stream(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
    ) -> ApiResult<EventStream<BoxStream<'static, DraftStreamEvent>>> {
        let tenant = auth.0.principal.tenant_id;
        let draft = {
            let tx = self.state.pipeline.db.tenant(tenant).await?;
            drafts::get(&tx, DraftId(id.0)).await?
        };
        let state = self.state.clone();
        let events = async_stream(state, tenant, draft);
        Ok(EventStream::new(events).keep_alive(Duration::from_secs(15)).to_event(|event: DraftStreamEvent| {
            let kind = match event.kind {
                DraftStreamEventKind::Text => "text",
                DraftStreamEventKind::Draft => "draft",
                DraftStreamEventKind::Restart => "restart",
            };
            Event::message(event.to_json_string()).event_type(kind)
        }))
    }

    /// Approve a draft, as written or edited (`body`): it becomes a public agent reply on
    /// the ticket. Only a signed-in person may approve (an integration key gets 403); a
    /// superseded or already decided draft is 409.
    #[oai(path = "/drafts/:id/approve", method = "post", operation_id = "drafts.approve")]
    async fn approve(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<ApproveIn>,
    ) -> ApiResult<Json<ApprovedOut>> {
        let principal = auth.0.principal;
        let body = body.0;
        let draft = DraftId(id.0);
        let approved = match body.translate_to.as_deref().map(str::trim).filter(|target| !target.is_empty()) {
            Some(target) => {
                let text = body.body.as_deref().filter(|text| !text.trim().is_empty()).ok_or_else(|| {
                    copilot_core::Error::validation("body_required", "`translate_to` needs the agent's `body`")
                })?;
                let to = match target {
                    "customer" => TranslateTo::Customer,
                    code => TranslateTo::Language(code.to_owned()),
                };
                approve_translated(&self.state.pipeline, &principal, draft, text, to).await?
            }
            None => {
                let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
                let approved =
                    copilot_pipeline::conversations::approve_draft(&tx, &principal, draft, body.body.as_deref())
                        .await?;
                tx.commit().await?;
                approved
            }
        };
        self.state.pipeline.summary_wakeup.notify_one();
        Ok(Json(ApprovedOut { draft: approved.draft.into(), message: approved.message.into() }))
    }

    /// Reject a draft with a reason. Only a signed-in person may reject.
    #[oai(path = "/drafts/:id/reject", method = "post", operation_id = "drafts.reject")]
    async fn reject(&self, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<RejectIn>) -> ApiResult<Json<DraftOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let draft = drafts::reject(&tx, &principal, DraftId(id.0), &body.0.reason).await?;
        tx.commit().await?;
        Ok(Json(draft.into()))
    }
}

/// The events of one draft: relayed text while this process writes it, the database
/// polled while another process (or nobody yet) does, then the stored draft.
fn async_stream(state: AppState, tenant: copilot_core::TenantId, first: Draft) -> BoxStream<'static, DraftStreamEvent> {
    let id = first.id;
    futures::stream::unfold(
        (Some(first), None::<tokio::sync::broadcast::Receiver<StreamEvent>>, tokio::time::Instant::now(), false),
        move |(mut known, mut live, started, done)| {
            let state = state.clone();
            async move {
                if done {
                    return None;
                }
                loop {
                    if let Some(draft) = known.take()
                        && draft.status != model::DraftStatus::Generating
                    {
                        let event = DraftStreamEvent {
                            kind: DraftStreamEventKind::Draft,
                            text: None,
                            draft: Some(draft.into()),
                        };
                        return Some((event, (None, None, started, true)));
                    }
                    if started.elapsed() > STREAM_LIMIT {
                        return None;
                    }
                    if let Some(receiver) = live.as_mut() {
                        match receiver.recv().await {
                            Ok(StreamEvent::Text(text)) => {
                                let event = DraftStreamEvent {
                                    kind: DraftStreamEventKind::Text,
                                    text: Some(text),
                                    draft: None,
                                };
                                return Some((event, (None, live, started, false)));
                            }
                            Ok(StreamEvent::Restart) => {
                                let event =
                                    DraftStreamEvent { kind: DraftStreamEventKind::Restart, text: None, draft: None };
                                return Some((event, (None, live, started, false)));
                            }
                            Ok(StreamEvent::Finished) | Err(_) => live = None,
                        }
                    } else if let Some((so_far, receiver)) = state.pipeline.draft_streams.subscribe(id.0) {
                        live = Some(receiver);
                        if !so_far.is_empty() {
                            let event =
                                DraftStreamEvent { kind: DraftStreamEventKind::Text, text: Some(so_far), draft: None };
                            return Some((event, (None, live, started, false)));
                        }
                        continue;
                    } else {
                        tokio::time::sleep(STREAM_POLL).await;
                    }
                    let read = async {
                        let tx = state.pipeline.db.tenant(tenant).await?;
                        drafts::get(&tx, id).await
                    };
                    match read.await {
                        Ok(draft) => known = Some(draft),
                        Err(error) => {
                            tracing::warn!(draft = %id, %error, "reading a streamed draft failed");
                            return None;
                        }
                    }
                }
            }
        },
    )
    .boxed()
}
