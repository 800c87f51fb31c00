//! Tickets and their messages.

use chrono::{DateTime, Utc};
use copilot_core::TenantId;
use copilot_store::idempotency::Guard;
use copilot_tickets::TicketOrder;
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
    dto::{Author, Channel, MessageOut, Page, Priority, TicketOut, TicketStatus},
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
}

#[derive(Debug, Object)]
pub struct MessageIn {
    pub body: String,
    /// `customer`, `agent` (a public reply) or `note` (internal).
    pub author: Author,
}

#[derive(ApiResponse)]
pub enum MessageCreated {
    #[oai(status = 201)]
    Created(Json<MessageOut>),
}

/// Converts a created ticket to its response.
fn created_out(created: copilot_tickets::CreatedTicket) -> ApiResult<TicketCreatedOut> {
    Ok(TicketCreatedOut { ticket: created.ticket.try_into()?, message: created.message.try_into()? })
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
        let request = copilot_tickets::NewTicket {
            subject: body.subject,
            channel: copilot_core::model::Channel::from(body.channel).as_str().to_owned(),
            customer_email: body.customer.email,
            customer_name: body.customer.name,
            body: body.body,
            priority: body.priority.map(|p| copilot_core::model::Priority::from(p).as_str().to_owned()),
            tags: body.tags,
        };
        let guard = super::idempotency_key(http)
            .map(|key| {
                Guard::new(&key, "tickets.create", &request, i64::from(self.state.settings.idempotency_ttl_hours))
            })
            .transpose()?;
        let created = copilot_tickets::create(&self.state.db, &principal, request, guard).await?;
        self.state.triage_wakeup.notify_one();
        Ok(TicketCreated::Created(Json(created_out(created)?)))
    }

    /// List tickets with filters, in an order (newest first by default), with cursor paging.
    #[oai(path = "/tickets", method = "get", operation_id = "tickets.list")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: TenantAuth,
        status: Query<Option<TicketStatus>>,
        priority: Query<Option<Priority>>,
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
        /// `negative`, `neutral` or `positive`: sentiment of the latest triaged customer message.
        sentiment: Query<Option<String>>,
        /// Language code of the latest triaged customer message.
        language: Query<Option<String>>,
        /// `newest` (default), `oldest` (longest waiting first) or `updated` (latest change first).
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
        let filter = copilot_tickets::TicketFilter {
            status: status.0.map(Into::into),
            priority: priority.0.map(Into::into),
            assignee_id: assignee_id.0,
            unassigned,
            tag: tag.0,
            channel: channel.0.map(Into::into),
            customer_email: customer_email.0,
            q: q.0,
            created_after: created_after.0,
            created_before: created_before.0,
            intent: intent.0,
            sentiment: sentiment.0,
            language: language.0,
            order: match sort.0.unwrap_or(TicketSort::Newest) {
                TicketSort::Newest => TicketOrder::Newest,
                TicketSort::Oldest => TicketOrder::Oldest,
                TicketSort::Updated => TicketOrder::Updated,
            },
        };
        let tx = self.state.db.tenant(principal.tenant_id).await?;
        let tickets = copilot_tickets::list(&tx, &filter, page).await?;
        Ok(Json(Page::try_from_domain(tickets, TicketOut::try_from)?))
    }

    /// One ticket.
    #[oai(path = "/tickets/:id", method = "get", operation_id = "tickets.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<TicketOut>> {
        let tx = self.tenant(auth.0.principal.tenant_id).await?;
        let ticket = copilot_tickets::get(&tx, id.0).await?;
        Ok(Json(ticket.try_into()?))
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
        let patch = copilot_tickets::TicketPatch {
            subject: body.subject,
            status: body.status.map(Into::into),
            priority: body.priority.map(Into::into),
            assignee_id: match body.assignee_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(id)),
            },
            tags: body.tags,
        };
        let tx = self.tenant(principal.tenant_id).await?;
        let ticket = copilot_tickets::update(&tx, &principal, id.0, patch).await?;
        tx.commit().await?;
        Ok(Json(ticket.try_into()?))
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
        let request = copilot_tickets::NewMessage { author: body.0.author.into(), body: body.0.body };
        let tx = self.tenant(principal.tenant_id).await?;
        let message = copilot_tickets::add_message(&tx, &principal, id.0, request).await?;
        tx.commit().await?;
        if message.triage.is_some() {
            self.state.triage_wakeup.notify_one();
        }
        Ok(MessageCreated::Created(Json(message.try_into()?)))
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
        let messages = copilot_tickets::list_messages(&tx, id.0, page).await?;
        Ok(Json(Page::try_from_domain(messages, MessageOut::try_from)?))
    }
}

impl TicketsApi {
    async fn tenant(&self, tenant: TenantId) -> ApiResult<copilot_store::TenantTx> {
        Ok(self.state.db.tenant(tenant).await?)
    }
}
