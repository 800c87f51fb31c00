//! Webhook endpoints, their delivery log (retry, replay, test), and integration events in.

use chrono::{DateTime, Utc};
use copilot_store::idempotency::Guard;
use copilot_webhooks::{
    deliveries::{self, Delivery},
    endpoints::{self, Endpoint, EndpointPatch, NewEndpoint},
};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use uuid::Uuid;

use super::tickets::CustomerIn;
use super::{Tag, page};
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{Channel, Page, Priority, mirror_enum},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct WebhooksApi {
    pub state: AppState,
}

#[derive(Debug, Object)]
pub struct WebhookIn {
    /// `https://…` (plain http and private addresses only where the operator allows them).
    pub url: String,
    /// Event types, or `["*"]` for all: ticket.created, ticket.updated,
    /// ticket.summary.updated, ticket.merged, ticket.split, sla.warning, sla.breached, csat.requested, csat.rated, message.created, message.translated, triage.completed, draft.ready, draft.approved, draft.rejected, draft.failed, reply.sent,
    /// reply.failed, knowledge.document.ready, knowledge.document.failed,
    /// intent_model.activated, webhook.endpoint.disabled.
    pub events: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Object)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `null` clears it.
    pub description: MaybeUndefined<String>,
    /// `true` enables a disabled endpoint again.
    pub enabled: Option<bool>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookOut {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it was disabled (410 Gone, failing too long, an admin).
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret signs too (after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Endpoint> for WebhookOut {
    fn from(endpoint: Endpoint) -> Self {
        Self {
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            events: endpoint.event_types,
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            failing_since: endpoint.failing_since,
            previous_secret_until: endpoint.previous_secret_until,
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct WebhookCreatedOut {
    /// The endpoint's id (also `webhook.id`).
    pub id: Uuid,
    pub webhook: WebhookOut,
    /// `whsec_…`: verifies the `webhook-signature` header (Standard Webhooks). Shown once.
    pub secret: String,
}

#[derive(ApiResponse)]
pub enum WebhookCreated {
    #[oai(status = 201)]
    Created(Json<WebhookCreatedOut>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    #[oai(status = 204)]
    NoContent,
}

mirror_enum!(
    /// Where one delivery of an event to an endpoint stands.
    WebhookDeliveryStatus => copilot_core::model::WebhookDeliveryStatus { Pending, Sending, Succeeded, Failed }
);

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookDeliveryOut {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// Also the `webhook-id` header, the same on every attempt.
    pub event_id: Uuid,
    pub event_type: String,
    /// `failed`: the dead letters.
    pub status: WebhookDeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    /// The start of the endpoint's last answer.
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for WebhookDeliveryOut {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            endpoint_id: d.endpoint_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status.into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status_code: d.last_status_code,
            last_response: d.last_response,
            last_error: d.last_error,
            created_at: d.created_at,
            updated_at: d.updated_at,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct ReplayIn {
    /// Every event since this instant (RFC 3339) that the endpoint subscribes to is sent again.
    pub since: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct ReplayOut {
    pub queued: u64,
}

/// What an integration reports.
#[derive(Debug, Object)]
pub struct InboundEventIn {
    /// `ticket.opened` (with `ticket`) or `customer.message` (with `ticket_id` and `body`).
    #[oai(rename = "type")]
    pub kind: InboundEventType,
    pub ticket: Option<InboundTicket>,
    pub ticket_id: Option<Uuid>,
    pub body: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum InboundEventType {
    #[oai(rename = "ticket.opened")]
    TicketOpened,
    #[oai(rename = "customer.message")]
    CustomerMessage,
}

#[derive(Debug, Object)]
pub struct InboundTicket {
    pub subject: String,
    /// `chat`, `web`, `api`, … (`email` mail comes through the e-mail endpoints).
    pub channel: Channel,
    pub customer: CustomerIn,
    pub body: String,
    pub priority: Option<Priority>,
    #[oai(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Object)]
pub struct InboundEventOut {
    pub ticket_id: Uuid,
    pub message_id: Uuid,
    pub created_ticket: bool,
}

#[OpenApi(tag = "Tag::Webhooks")]
impl WebhooksApi {
    /// Register an endpoint (admins only); its signing secret is shown once.
    #[oai(path = "/webhooks", method = "post", operation_id = "webhooks.create")]
    async fn create(&self, auth: TenantAuth, body: JsonBody<WebhookIn>) -> ApiResult<WebhookCreated> {
        let principal = auth.0.principal;
        let body = body.0;
        let request = NewEndpoint { url: body.url, event_types: body.events, description: body.description };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let (endpoint, secret) = endpoints::create(
            &tx,
            &principal,
            request,
            &self.state.pipeline.sealer,
            self.state.pipeline.settings.webhook_allow_private,
        )
        .await?;
        tx.commit().await?;
        Ok(WebhookCreated::Created(Json(WebhookCreatedOut { id: endpoint.id, webhook: endpoint.into(), secret })))
    }

    /// The tenant's endpoints, newest first.
    #[oai(path = "/webhooks", method = "get", operation_id = "webhooks.list")]
    async fn list(
        &self,
        auth: TenantAuth,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<WebhookOut>>> {
        let page = page(limit.0, cursor.0)?;
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let found = endpoints::list(&tx, &auth.0.principal, page).await?;
        Ok(Json(Page::from_domain(found, WebhookOut::from)))
    }

    #[oai(path = "/webhooks/:id", method = "get", operation_id = "webhooks.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<WebhookOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(endpoints::get(&tx, &auth.0.principal, id.0).await?.into()))
    }

    /// Change an endpoint's URL, events, description, or enable it again (admins only).
    #[oai(path = "/webhooks/:id", method = "patch", operation_id = "webhooks.update")]
    async fn update(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<WebhookPatch>,
    ) -> ApiResult<Json<WebhookOut>> {
        let principal = auth.0.principal;
        let body = body.0;
        let patch = EndpointPatch {
            url: body.url,
            event_types: body.events,
            description: match body.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(text) => Some(Some(text)),
            },
            enabled: body.enabled,
        };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let endpoint =
            endpoints::update(&tx, &principal, id.0, patch, self.state.pipeline.settings.webhook_allow_private).await?;
        tx.commit().await?;
        Ok(Json(endpoint.into()))
    }

    /// Delete an endpoint and its delivery log (admins only).
    #[oai(path = "/webhooks/:id", method = "delete", operation_id = "webhooks.delete")]
    async fn delete(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Deleted> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        endpoints::delete(&tx, &principal, id.0).await?;
        tx.commit().await?;
        Ok(Deleted::NoContent)
    }

    /// A new signing secret (admins only), shown once; the old one signs alongside for 24 hours.
    #[oai(path = "/webhooks/:id/rotate-secret", method = "post", operation_id = "webhooks.rotate_secret")]
    async fn rotate_secret(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<WebhookCreatedOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let (endpoint, secret) = endpoints::rotate_secret(&tx, &principal, id.0, &self.state.pipeline.sealer).await?;
        tx.commit().await?;
        Ok(Json(WebhookCreatedOut { id: endpoint.id, webhook: endpoint.into(), secret }))
    }

    /// Send a `webhook.test` event to the endpoint (admins only).
    #[oai(path = "/webhooks/:id/test", method = "post", operation_id = "webhooks.test")]
    async fn test(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<WebhookDeliveryOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let delivery = deliveries::send_test(&tx, &principal, id.0).await?;
        tx.commit().await?;
        Ok(Json(delivery.into()))
    }

    /// The endpoint's deliveries, newest first (`status=failed` is the dead-letter view).
    #[oai(path = "/webhooks/:id/deliveries", method = "get", operation_id = "webhooks.deliveries.list")]
    async fn deliveries(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        status: Query<Option<WebhookDeliveryStatus>>,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<WebhookDeliveryOut>>> {
        let page = page(limit.0, cursor.0)?;
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let found = deliveries::list(&tx, &auth.0.principal, id.0, status.0.map(Into::into), page).await?;
        Ok(Json(Page::from_domain(found, WebhookDeliveryOut::from)))
    }

    /// Attempt one delivery again, now (admins only).
    #[oai(
        path = "/webhooks/:id/deliveries/:delivery_id/retry",
        method = "post",
        operation_id = "webhooks.deliveries.retry"
    )]
    async fn retry(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> ApiResult<Json<WebhookDeliveryOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let delivery = deliveries::retry(&tx, &principal, id.0, delivery_id.0).await?;
        tx.commit().await?;
        Ok(Json(delivery.into()))
    }

    /// Send again every event since a moment that the endpoint subscribes to (admins only).
    #[oai(path = "/webhooks/:id/replay", method = "post", operation_id = "webhooks.replay")]
    async fn replay(&self, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<ReplayIn>) -> ApiResult<Json<ReplayOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let queued = deliveries::replay(&tx, &principal, id.0, body.0.since).await?;
        tx.commit().await?;
        Ok(Json(ReplayOut { queued }))
    }

    /// An integration event (a chat widget, a CRM): open a ticket or add a customer
    /// message. `Idempotency-Key` is required: the same key returns the first result and
    /// adds nothing; with a different body it is `422 idempotency_key_reused`.
    #[oai(path = "/inbound/events", method = "post", operation_id = "inbound.events")]
    async fn inbound_event(
        &self,
        auth: TenantAuth,
        #[oai(name = "Idempotency-Key")] idempotency_key: Header<String>,
        body: JsonBody<InboundEventIn>,
    ) -> ApiResult<Json<InboundEventOut>> {
        use copilot_pipeline::inbound::{self, InboundEvent};
        let principal = auth.0.principal;
        let body = body.0;
        let missing =
            |what: &str| copilot_core::Error::validation("invalid_event", format!("this event type needs `{what}`"));
        let event = match body.kind {
            InboundEventType::TicketOpened => {
                let ticket = body.ticket.ok_or_else(|| missing("ticket"))?;
                InboundEvent::TicketOpened(copilot_conversations::NewTicket {
                    subject: ticket.subject,
                    channel: ticket.channel.into(),
                    customer_email: ticket.customer.email,
                    customer_name: ticket.customer.name,
                    body: ticket.body,
                    priority: ticket.priority.map(Into::into),
                    tags: ticket.tags,
                })
            }
            InboundEventType::CustomerMessage => InboundEvent::CustomerMessage {
                ticket_id: body.ticket_id.ok_or_else(|| missing("ticket_id"))?,
                body: body.body.ok_or_else(|| missing("body"))?,
            },
        };
        let ttl = i64::from(self.state.pipeline.settings.idempotency_ttl_hours);
        let guard = Guard::new(&idempotency_key.0, "inbound.events", &event, ttl)?;
        let outcome = inbound::receive(&self.state.pipeline.db, &principal, event, guard).await?;
        self.state.pipeline.triage_wakeup.notify_one();
        Ok(Json(InboundEventOut {
            ticket_id: outcome.ticket_id,
            message_id: outcome.message_id,
            created_ticket: outcome.created_ticket,
        }))
    }
}
