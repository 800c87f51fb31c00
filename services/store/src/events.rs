//! The event outbox: [`emit`] records what happened in the transaction of the change that
//! caused it, with one pending delivery per enabled webhook endpoint subscribed to its type.
//! The change and its event commit together or not at all; delivering is a worker's job.

use copilot_core::{Error, TenantId, ids::TicketId, model::WebhookDeliveryStatus};
use copilot_entities::{event, webhook_delivery, webhook_endpoint};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::{Scoped, TenantTx, db_err};

/// Every event type, in the order the API lists them.
pub const EVENT_TYPES: [&str; 22] = [
    "ticket.created",
    "ticket.updated",
    "ticket.summary.updated",
    "ticket.merged",
    "ticket.split",
    "sla.warning",
    "sla.breached",
    "csat.requested",
    "csat.rated",
    "message.created",
    "message.translated",
    "triage.completed",
    "draft.ready",
    "draft.approved",
    "draft.rejected",
    "draft.failed",
    "reply.sent",
    "reply.failed",
    "knowledge.document.ready",
    "knowledge.document.failed",
    "intent_model.activated",
    "webhook.endpoint.disabled",
];

/// Event types of the live stream only: passing states (who is viewing a ticket, a reply
/// whose sending will be retried), not records of what happened; webhooks never deliver
/// or replay them.
pub const LIVE_EVENT_TYPES: [&str; 2] = ["ticket.presence", "reply.retrying"];

/// How long live-only events are kept: longer than a stream resumes after a drop (an
/// hour); nothing reads them after that.
pub const LIVE_EVENT_RETENTION: chrono::Duration = chrono::Duration::hours(2);

/// Deletes, across tenants, the live-only events older than [`LIVE_EVENT_RETENTION`]
/// (housekeeping; the events webhooks deliver are kept).
pub async fn purge_live(db: &crate::Db) -> Result<u64, Error> {
    let result = event::Entity::delete_many()
        .filter(event::Column::EventType.is_in(LIVE_EVENT_TYPES))
        .filter(event::Column::CreatedAt.lte(copilot_core::now() - LIVE_EVENT_RETENTION))
        .exec(db.unscoped())
        .await
        .map_err(db_err)?;
    Ok(result.rows_affected)
}

/// Whether an endpoint subscribed to `types` wants events of `event_type`.
pub fn subscribed(types: &serde_json::Value, event_type: &str) -> bool {
    !LIVE_EVENT_TYPES.contains(&event_type)
        && types.as_array().is_some_and(|types| types.iter().any(|t| t == "*" || t == event_type))
}

/// A delivery of `event` to `endpoint_id`, due at `now`.
pub fn pending_delivery(
    tenant: TenantId,
    endpoint_id: Uuid,
    event: &event::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.0),
        endpoint_id: Set(endpoint_id),
        event_id: Set(event.id),
        ticket_id: Set(event.ticket_id),
        status: Set(WebhookDeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_status_code: Set(None),
        last_response: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        delivered_at: Set(None),
        request_id: Set(crate::request::current()),
    }
}

/// Records an event of the tenant, about `ticket` when it concerns one, and queues it for
/// every endpoint that wants it; returns the event's id. An endpoint receives the events of
/// one ticket one at a time, in the order they were emitted.
pub async fn emit(
    tx: &TenantTx,
    event_type: &'static str,
    ticket: Option<TicketId>,
    data: &impl Serialize,
) -> Result<Uuid, Error> {
    debug_assert!(EVENT_TYPES.contains(&event_type), "unknown event type {event_type}");
    let event = insert(tx, event_type, ticket, data).await?;
    let endpoints = webhook_endpoint::Entity::scoped(tx.tenant())
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let deliveries: Vec<webhook_delivery::ActiveModel> = endpoints
        .into_iter()
        .filter(|endpoint| subscribed(&endpoint.event_types, event_type))
        .map(|endpoint| pending_delivery(tx.tenant(), endpoint.id, &event, event.created_at))
        .collect();
    if !deliveries.is_empty() {
        webhook_delivery::Entity::insert_many(deliveries).exec_without_returning(&**tx).await.map_err(db_err)?;
    }
    Ok(event.id)
}

/// Records an event of the live stream only (one of [`LIVE_EVENT_TYPES`]).
pub async fn emit_live(tx: &TenantTx, event_type: &'static str, data: &impl Serialize) -> Result<Uuid, Error> {
    debug_assert!(LIVE_EVENT_TYPES.contains(&event_type), "unknown live event type {event_type}");
    Ok(insert(tx, event_type, None, data).await?.id)
}

/// Records one event (of any type, `webhook.test` included) in the outbox.
pub async fn insert(
    tx: &TenantTx,
    event_type: &str,
    ticket: Option<TicketId>,
    data: &impl Serialize,
) -> Result<event::Model, Error> {
    let data = serde_json::to_value(data).map_err(Error::internal)?;
    event::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        event_type: Set(event_type.to_owned()),
        data: Set(data),
        ticket_id: Set(ticket.map(Uuid::from)),
        created_at: Set(copilot_core::now()),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)
}

/// The tenant's events recorded after `(created_at, id)`, in that order, at most `limit`:
/// pass the last event read to read on.
pub async fn after(
    tx: &TenantTx,
    key: (chrono::DateTime<chrono::Utc>, Uuid),
    limit: u64,
) -> Result<Vec<event::Model>, Error> {
    let (at, id) = key;
    event::Entity::scoped(tx.tenant())
        .filter(
            sea_orm::Condition::any()
                .add(event::Column::CreatedAt.gt(at))
                .add(sea_orm::Condition::all().add(event::Column::CreatedAt.eq(at)).add(event::Column::Id.gt(id))),
        )
        .order_by_asc(event::Column::CreatedAt)
        .order_by_asc(event::Column::Id)
        .limit(limit)
        .all(&**tx)
        .await
        .map_err(db_err)
}

/// One event of the tenant.
pub async fn get(tx: &TenantTx, id: Uuid) -> Result<event::Model, Error> {
    event::Entity::scoped(tx.tenant())
        .filter(event::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("event"))
}

/// The ticket an event is about, when it is about one.
pub fn ticket_of(data: &serde_json::Value) -> Option<Uuid> {
    let id = data
        .get("ticket_id")
        .or_else(|| data.pointer("/ticket/id"))
        .or_else(|| data.pointer("/message/ticket_id"))
        .or_else(|| data.pointer("/draft/ticket_id"))?;
    id.as_str().and_then(|id| Uuid::try_parse(id).ok())
}

#[cfg(test)]
mod tests {
    use super::{subscribed, ticket_of};

    #[test]
    fn the_ticket_of_an_event_is_found_in_each_shape() {
        let id = "0192f0c4-5a5e-7000-8000-000000000001";
        for data in [
            serde_json::json!({ "ticket_id": id }),
            serde_json::json!({ "ticket": { "id": id } }),
            serde_json::json!({ "message": { "ticket_id": id } }),
            serde_json::json!({ "draft": { "ticket_id": id } }),
        ] {
            assert_eq!(ticket_of(&data).map(|t| t.to_string()).as_deref(), Some(id));
        }
        assert_eq!(ticket_of(&serde_json::json!({ "document": { "id": id } })), None);
    }

    #[test]
    fn subscriptions_match_a_type_or_everything() {
        assert!(subscribed(&serde_json::json!(["ticket.created"]), "ticket.created"));
        assert!(subscribed(&serde_json::json!(["*"]), "draft.ready"));
        assert!(!subscribed(&serde_json::json!(["ticket.created"]), "ticket.updated"));
        assert!(!subscribed(&serde_json::json!("ticket.created"), "ticket.created"));
    }

    #[test]
    fn webhooks_never_want_live_only_events() {
        assert!(!subscribed(&serde_json::json!(["*"]), "ticket.presence"));
        assert!(!subscribed(&serde_json::json!(["ticket.presence"]), "ticket.presence"));
        assert!(!subscribed(&serde_json::json!(["*"]), "reply.retrying"));
    }
}
