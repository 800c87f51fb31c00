//! Tickets and their messages.

use chrono::{DateTime, Utc};
use copilot_conversations::TicketOrder;
use copilot_core::TenantId;
use copilot_core::ids::{MessageId, TicketId};
use copilot_pipeline::translation::{TranslateTo, send_translated};
use copilot_store::idempotency::Guard;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use serde::Serialize;
use uuid::Uuid;

use super::{Tag, page};
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{Author, Channel, MessageOut, Page, Priority, Sentiment, TicketOut, TicketStatus},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct TicketsApi {
    pub state: AppState,
}

/// The order of `GET /v1/tickets`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TicketSort {
    Newest,
    Oldest,
    Updated,
    /// Most urgent first, the oldest first within a priority.
    Priority,
    /// The customer waiting longest for a reply first; answered tickets last.
    Waiting,
    /// Most negative sentiment score first; untriaged tickets last.
    Sentiment,
    /// The earliest SLA due time first (breached tickets, most overdue first); tickets
    /// with no running SLA clock last.
    Due,
}

/// The filter of a built-in view, as the query parameters of `GET /v1/tickets` that list it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TicketViewFilter {
    pub active: Option<bool>,
    pub assignee_id: Option<Uuid>,
    pub unassigned: Option<bool>,
    pub min_priority: Option<Priority>,
    pub sentiment: Option<Sentiment>,
}

/// A built-in view of the inbox and how many tickets are in it.
#[derive(Debug, Object)]
pub struct TicketViewOut {
    /// `active` (every ticket still to be worked), `mine` (for a signed-in person),
    /// `unassigned`, `urgent` (high or urgent priority) or `negative` (the customer's
    /// latest message is negative); all of them only tickets still to be worked.
    pub id: String,
    pub count: u64,
    pub filter: TicketViewFilter,
}

#[derive(Debug, Object)]
pub struct TicketViewsOut {
    pub views: Vec<TicketViewOut>,
}

/// One change to many tickets, all or none.
#[derive(Debug, Object)]
pub struct TicketBulkIn {
    /// 1 to 100 tickets of this tenant.
    pub ticket_ids: Vec<Uuid>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// A user of this tenant; `null` unassigns.
    pub assignee_id: MaybeUndefined<Uuid>,
    #[oai(default)]
    pub add_tags: Vec<String>,
    #[oai(default)]
    pub remove_tags: Vec<String>,
}

#[derive(Debug, Object)]
pub struct TicketBulkOut {
    /// The changed tickets, in the order asked.
    pub tickets: Vec<TicketOut>,
}

/// What a person is doing on a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum PresenceState {
    Viewing,
    Typing,
    /// Only in `PUT`: the person left the ticket.
    Left,
}

#[derive(Debug, Object)]
pub struct PresenceIn {
    pub state: PresenceState,
}

#[derive(Debug, Object)]
pub struct PresenceOut {
    pub user_id: Uuid,
    pub name: String,
    pub state: PresenceState,
    /// When the person last said so.
    pub since: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct PresenceListOut {
    /// Everyone on the ticket now (a word lapses after 45 seconds unless repeated).
    pub people: Vec<PresenceOut>,
}

fn presence_out(people: Vec<copilot_conversations::presence::Presence>) -> PresenceListOut {
    use copilot_core::model::PresenceState as State;
    PresenceListOut {
        people: people
            .into_iter()
            .map(|person| PresenceOut {
                user_id: person.user_id,
                name: person.name,
                state: match person.state {
                    State::Viewing => PresenceState::Viewing,
                    State::Typing => PresenceState::Typing,
                },
                since: person.since,
            })
            .collect(),
    }
}

#[derive(Debug, Object, Serialize)]
pub struct CustomerIn {
    pub email: String,
    pub name: Option<String>,
}

#[derive(Debug, Object)]
pub struct TicketIn {
    pub subject: String,
    pub channel: Channel,
    /// Found by e-mail address, or created.
    pub customer: CustomerIn,
    /// The customer's first message.
    pub body: String,
    /// `normal` when absent.
    pub priority: Option<Priority>,
    #[oai(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TicketCreatedOut {
    pub ticket: TicketOut,
    /// The customer's first message.
    pub message: MessageOut,
}

#[derive(ApiResponse)]
pub enum TicketCreated {
    #[oai(status = 201)]
    Created(Json<TicketCreatedOut>),
}

#[derive(Debug, Object)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// A user of this tenant; `null` unassigns.
    pub assignee_id: MaybeUndefined<Uuid>,
    /// Replaces all tags.
    pub tags: Option<Vec<String>>,
    /// Custom field values by key (`GET /v1/ticket-fields`); `null` clears one. A value
    /// of the wrong kind is `400 invalid_field_value`, an unknown or retired key `400
    /// unknown_field`; solving without a required field is `422 fields_required`.
    pub fields: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Object)]
pub struct MessageIn {
    pub body: String,
    /// `customer`, `agent` (a public reply) or `note` (internal).
    pub author: Author,
    /// An agent reply only: send it translated, into `customer` (the customer's language)
    /// or a language code. The translation is the message; what the agent wrote is kept
    /// as `original_body` for agents and never sent.
    pub translate_to: Option<String>,
}

#[derive(ApiResponse)]
pub enum MessageCreated {
    #[oai(status = 201)]
    Created(Json<MessageOut>),
}

#[derive(Debug, Object)]
pub struct MergeIn {
    /// The ticket that receives this one's messages.
    pub into: Uuid,
}

#[derive(Debug, Default, Object)]
pub struct SplitIn {
    /// Also move every message after this one.
    #[oai(default)]
    pub with_later: bool,
    /// The new ticket's subject (this ticket's when absent).
    pub subject: Option<String>,
}

/// The two tickets after a merge (`source` merged into `target`) or a split (`target` is
/// the new ticket).
#[derive(Debug, Object)]
pub struct RegroupedOut {
    pub source: TicketOut,
    pub target: TicketOut,
    /// The messages that moved, in time order.
    pub moved: Vec<Uuid>,
}

fn regrouped_out(regrouped: copilot_conversations::regroup::Regrouped) -> RegroupedOut {
    RegroupedOut {
        source: regrouped.source.into(),
        target: regrouped.target.into(),
        moved: regrouped.moved.into_iter().map(|id| id.0).collect(),
    }
}

/// Converts a created ticket to its response.
fn created_out(created: copilot_pipeline::conversations::CreatedTicket) -> TicketCreatedOut {
    TicketCreatedOut { ticket: created.ticket.into(), message: created.message.into() }
}

#[OpenApi(tag = "Tag::Tickets")]
impl TicketsApi {
    /// Open a ticket with the customer's first message.
    ///
    /// With `Idempotency-Key`, repeating the same request returns the first response and
    /// creates nothing; the same key with a different body is `422 idempotency_key_reused`.
    #[oai(path = "/tickets", method = "post", operation_id = "tickets.create")]
    async fn create(
        &self,
        auth: TenantAuth,
        #[oai(name = "Idempotency-Key")] _idempotency_key: Header<Option<String>>,
        body: JsonBody<TicketIn>,
        http: &poem::Request,
    ) -> ApiResult<TicketCreated> {
        let principal = auth.0.principal;
        let body = body.0;
        let request = copilot_conversations::NewTicket {
            subject: body.subject,
            channel: body.channel.into(),
            customer_email: body.customer.email,
            customer_name: body.customer.name,
            body: body.body,
            priority: body.priority.map(Into::into),
            tags: body.tags,
        };
        let guard = super::idempotency_key(http)
            .map(|key| {
                Guard::new(
                    &key,
                    "tickets.create",
                    &request,
                    i64::from(self.state.pipeline.settings.idempotency_ttl_hours),
                )
            })
            .transpose()?;
        let created =
            copilot_pipeline::conversations::open_ticket(&self.state.pipeline.db, &principal, request, guard).await?;
        self.state.pipeline.triage_wakeup.notify_one();
        Ok(TicketCreated::Created(Json(created_out(created))))
    }

    /// List tickets with filters, in an order (newest first by default), with cursor paging.
    #[oai(path = "/tickets", method = "get", operation_id = "tickets.list")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: TenantAuth,
        status: Query<Option<TicketStatus>>,
        /// `true`: only tickets still to be worked (new, open or pending).
        active: Query<Option<bool>>,
        priority: Query<Option<Priority>>,
        /// Only tickets at least this urgent.
        min_priority: Query<Option<Priority>>,
        assignee_id: Query<Option<Uuid>>,
        /// `true`: only tickets nobody is assigned to (not with `assignee_id`).
        unassigned: Query<Option<bool>>,
        tag: Query<Option<String>>,
        channel: Query<Option<Channel>>,
        customer_email: Query<Option<String>>,
        /// Case-insensitive text searched in the subject and every message.
        q: Query<Option<String>>,
        /// Created at or after this instant (RFC 3339).
        created_after: Query<Option<DateTime<Utc>>>,
        /// Created before this instant (RFC 3339).
        created_before: Query<Option<DateTime<Utc>>>,
        /// Intent of the latest triaged customer message.
        intent: Query<Option<String>>,
        /// Sentiment of the latest triaged customer message.
        sentiment: Query<Option<Sentiment>>,
        /// Language code of the latest triaged customer message.
        language: Query<Option<String>>,
        /// Only tickets with a running SLA clock due before this instant (RFC 3339); now:
        /// the breached ones.
        due_before: Query<Option<DateTime<Utc>>>,
        /// A custom field's value, `key:value` (`plan:enterprise`; a multi-select matches
        /// tickets having that option; `true`/`false` for a checkbox).
        field: Query<Option<String>>,
        /// `newest` (default), `oldest` (opened longest ago first), `updated` (latest change
        /// first), `priority` (most urgent first), `waiting` (the customer waiting longest
        /// for a reply first), `sentiment` (most negative first) or `due` (the earliest SLA
        /// due time first).
        sort: Query<Option<TicketSort>>,
        /// 1 to 100; 25 when absent.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page (of the same filters and sort).
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<TicketOut>>> {
        let principal = auth.0.principal;
        let page = page(limit.0, cursor.0)?;
        let unassigned = unassigned.0.unwrap_or(false);
        if unassigned && assignee_id.0.is_some() {
            return Err(copilot_core::Error::validation(
                "conflicting_filters",
                "`unassigned=true` and `assignee_id` cannot be combined",
            )
            .into());
        }
        let filter = copilot_conversations::TicketFilter {
            status: status.0.map(Into::into),
            active: active.0.unwrap_or(false),
            priority: priority.0.map(Into::into),
            min_priority: min_priority.0.map(Into::into),
            assignee_id: assignee_id.0,
            unassigned,
            tag: tag.0,
            channel: channel.0.map(Into::into),
            customer_email: customer_email.0,
            q: q.0,
            created_after: created_after.0,
            created_before: created_before.0,
            intent: intent.0,
            sentiment: sentiment.0.map(Into::into),
            language: language.0,
            due_before: due_before.0,
            field: None,
            order: match sort.0.unwrap_or(TicketSort::Newest) {
                TicketSort::Newest => TicketOrder::Newest,
                TicketSort::Oldest => TicketOrder::Oldest,
                TicketSort::Updated => TicketOrder::Updated,
                TicketSort::Priority => TicketOrder::Priority,
                TicketSort::Waiting => TicketOrder::Waiting,
                TicketSort::Sentiment => TicketOrder::Sentiment,
                TicketSort::Due => TicketOrder::Due,
            },
        };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let field = match field.0.as_deref() {
            Some(raw) => Some(copilot_conversations::fields::filter(&tx, raw).await?),
            None => None,
        };
        let filter = copilot_conversations::TicketFilter { field, ..filter };
        let tickets = copilot_conversations::list(&tx, &filter, page).await?;
        Ok(Json(Page::from_domain(tickets, TicketOut::from)))
    }

    /// The inbox's built-in views with how many tickets each holds now.
    #[oai(path = "/tickets/views", method = "get", operation_id = "tickets.views")]
    async fn views(&self, auth: TenantAuth) -> ApiResult<Json<TicketViewsOut>> {
        let principal = auth.0.principal;
        let views = copilot_conversations::views(principal.actor.user_id());
        let tx = self.tenant(principal.tenant_id).await?;
        let filters: Vec<_> = views.iter().map(|(_, filter)| filter.clone()).collect();
        let counts = copilot_conversations::count(&tx, &filters).await?;
        let views = views
            .into_iter()
            .zip(counts)
            .map(|((id, filter), count)| TicketViewOut {
                id: id.to_owned(),
                count,
                filter: TicketViewFilter {
                    active: filter.active.then_some(true),
                    assignee_id: filter.assignee_id,
                    unassigned: filter.unassigned.then_some(true),
                    min_priority: filter.min_priority.map(Into::into),
                    sentiment: filter.sentiment.map(Into::into),
                },
            })
            .collect();
        Ok(Json(TicketViewsOut { views }))
    }

    /// Change the status, priority, assignee or tags of up to 100 tickets at once, all or
    /// none: one ticket not found fails the change with `404`.
    #[oai(path = "/tickets/bulk", method = "post", operation_id = "tickets.bulk_update")]
    async fn bulk_update(&self, auth: TenantAuth, body: JsonBody<TicketBulkIn>) -> ApiResult<Json<TicketBulkOut>> {
        let principal = auth.0.principal;
        let body = body.0;
        let change = copilot_conversations::BulkChange {
            status: body.status.map(Into::into),
            priority: body.priority.map(Into::into),
            assignee_id: match body.assignee_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(id)),
            },
            add_tags: body.add_tags,
            remove_tags: body.remove_tags,
        };
        let ticket_ids: Vec<TicketId> = body.ticket_ids.iter().copied().map(TicketId).collect();
        let tx = self.tenant(principal.tenant_id).await?;
        let tickets = copilot_pipeline::service_levels::update_tickets(&tx, &principal, &ticket_ids, change).await?;
        tx.commit().await?;
        let tickets = tickets.into_iter().map(TicketOut::from).collect();
        Ok(Json(TicketBulkOut { tickets }))
    }

    /// Who is on the ticket now: viewing it or typing a reply.
    #[oai(path = "/tickets/:id/presence", method = "get", operation_id = "tickets.presence.list")]
    async fn presence(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<PresenceListOut>> {
        let tx = self.tenant(auth.0.principal.tenant_id).await?;
        let people = copilot_conversations::presence::list(&tx, TicketId(id.0)).await?;
        Ok(Json(presence_out(people)))
    }

    /// Say what you are doing on the ticket (again every 15 seconds or so while you do;
    /// a word lapses after 45). A change is a `ticket.presence` event on the event stream
    /// (never a webhook). People only: integration keys get `403`.
    #[oai(path = "/tickets/:id/presence", method = "put", operation_id = "tickets.presence.set")]
    async fn set_presence(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<PresenceIn>,
    ) -> ApiResult<Json<PresenceListOut>> {
        use copilot_core::model::PresenceState as State;
        let principal = auth.0.principal;
        let state = match body.0.state {
            PresenceState::Viewing => Some(State::Viewing),
            PresenceState::Typing => Some(State::Typing),
            PresenceState::Left => None,
        };
        let tx = self.tenant(principal.tenant_id).await?;
        let people = copilot_conversations::presence::set(&tx, &principal, TicketId(id.0), state).await?;
        tx.commit().await?;
        Ok(Json(presence_out(people)))
    }

    /// One ticket.
    #[oai(path = "/tickets/:id", method = "get", operation_id = "tickets.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<TicketOut>> {
        let tx = self.tenant(auth.0.principal.tenant_id).await?;
        let ticket = copilot_conversations::get(&tx, TicketId(id.0)).await?;
        Ok(Json(ticket.into()))
    }

    /// Change a ticket's subject, status, priority, assignee or tags.
    #[oai(path = "/tickets/:id", method = "patch", operation_id = "tickets.update")]
    async fn update(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<TicketPatch>,
    ) -> ApiResult<Json<TicketOut>> {
        let principal = auth.0.principal;
        let body = body.0;
        let patch = copilot_conversations::TicketPatch {
            subject: body.subject,
            status: body.status.map(Into::into),
            priority: body.priority.map(Into::into),
            assignee_id: match body.assignee_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(id)),
            },
            tags: body.tags,
            fields: body.fields.unwrap_or_default(),
        };
        let tx = self.tenant(principal.tenant_id).await?;
        let ticket = copilot_pipeline::service_levels::update_ticket(&tx, &principal, TicketId(id.0), patch).await?;
        tx.commit().await?;
        Ok(Json(ticket.into()))
    }

    /// Merge this ticket into another (people only): every message moves to `into` in time
    /// order (with its triage, drafts and mail: later mail replies to this ticket's thread
    /// join `into`), tags are united, and this ticket is closed with `merged_into_id` and
    /// takes no more messages; a note on each side says so; `ticket.merged`. `400
    /// invalid_merge` into itself, `409 ticket_merged` when either was merged already, `409
    /// ticket_closed` into a closed ticket; another tenant's ticket is `404`.
    #[oai(path = "/tickets/:id/merge", method = "post", operation_id = "tickets.merge")]
    async fn merge(&self, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<MergeIn>) -> ApiResult<Json<RegroupedOut>> {
        let principal = auth.0.principal;
        let tx = self.tenant(principal.tenant_id).await?;
        let regrouped =
            copilot_pipeline::regroup::merge(&tx, &principal, TicketId(id.0), TicketId(body.0.into)).await?;
        tx.commit().await?;
        Ok(Json(regrouped_out(regrouped)))
    }

    /// Open a new ticket from a customer's message of this one (people only), with
    /// `with_later` the messages after it too: same customer, channel, priority and tags,
    /// `subject` or this ticket's; a note on each side; `ticket.created` and
    /// `ticket.split`. `422 invalid_split` for a message not the customer's, `409
    /// invalid_split` when no message would stay behind.
    #[oai(path = "/tickets/:id/messages/:message_id/split", method = "post", operation_id = "tickets.messages.split")]
    async fn split(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        message_id: Path<Uuid>,
        body: JsonBody<SplitIn>,
    ) -> ApiResult<Json<RegroupedOut>> {
        let principal = auth.0.principal;
        let body = body.0;
        let tx = self.tenant(principal.tenant_id).await?;
        let regrouped = copilot_pipeline::regroup::split(
            &tx,
            &principal,
            TicketId(id.0),
            MessageId(message_id.0),
            body.with_later,
            body.subject.as_deref(),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(regrouped_out(regrouped)))
    }

    /// Apply the tenant's current SLA policies to the ticket again (admins): the first whose
    /// conditions hold now sets its open targets, counted from their starts; met and
    /// breached targets stay. Editing a policy changes new tickets only; this brings an
    /// existing one (or one opened before service levels) under the policies as they are.
    #[oai(path = "/tickets/:id/sla/recompute", method = "post", operation_id = "tickets.sla.recompute")]
    async fn recompute_sla(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<TicketOut>> {
        let principal = auth.0.principal;
        let tx = self.tenant(principal.tenant_id).await?;
        let ticket = copilot_pipeline::service_levels::recompute(&tx, &principal, TicketId(id.0)).await?;
        tx.commit().await?;
        Ok(Json(ticket.into()))
    }

    /// Add a message to a ticket: the customer's, an agent's public reply or a note.
    #[oai(path = "/tickets/:id/messages", method = "post", operation_id = "tickets.messages.create")]
    async fn add_message(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<MessageIn>,
    ) -> ApiResult<MessageCreated> {
        let principal = auth.0.principal;
        let body = body.0;
        let ticket = TicketId(id.0);
        let message = match body.translate_to.as_deref().map(str::trim).filter(|target| !target.is_empty()) {
            Some(target) => {
                if body.author != Author::Agent {
                    return Err(copilot_core::Error::validation(
                        "translation_needs_agent",
                        "only an agent's reply is sent translated",
                    )
                    .into());
                }
                let to = match target {
                    "customer" => TranslateTo::Customer,
                    code => TranslateTo::Language(code.to_owned()),
                };
                send_translated(&self.state.pipeline, &principal, ticket, &body.body, to).await?
            }
            None => {
                let request = copilot_conversations::NewMessage { author: body.author.into(), body: body.body };
                let tx = self.tenant(principal.tenant_id).await?;
                let message = copilot_pipeline::conversations::add_message(&tx, &principal, ticket, request).await?;
                tx.commit().await?;
                message
            }
        };
        if message.triage.is_some() {
            self.state.pipeline.triage_wakeup.notify_one();
        }
        self.state.pipeline.summary_wakeup.notify_one();
        Ok(MessageCreated::Created(Json(message.into())))
    }

    /// The ticket's thread, oldest first.
    #[oai(path = "/tickets/:id/messages", method = "get", operation_id = "tickets.messages.list")]
    async fn messages(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        /// 1 to 100; 25 when absent.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<MessageOut>>> {
        let page = page(limit.0, cursor.0)?;
        let tx = self.tenant(auth.0.principal.tenant_id).await?;
        let messages = copilot_pipeline::conversations::thread(&tx, TicketId(id.0), page).await?;
        Ok(Json(Page::from_domain(messages, MessageOut::from)))
    }
}

impl TicketsApi {
    async fn tenant(&self, tenant: TenantId) -> ApiResult<copilot_store::TenantTx> {
        Ok(self.state.pipeline.db.tenant(tenant).await?)
    }
}
