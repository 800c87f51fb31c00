//! Deliveries of events to endpoints, at least once: claimed with a lease (`sending`; a
//! sender that dies leaves the delivery to be retried when the lease runs out), then
//! `succeeded` on a 2xx, retried on the schedule, or `failed` when the schedule is spent
//! (the dead-letter view). A 410 disables the endpoint; so does an endpoint failing for
//! longer than the operator allows, and an event says so. A person may retry one delivery
//! or replay everything since a moment.

use chrono::{DateTime, Duration, Utc};
use copilot_core::{
    Error, Principal, TenantId,
    model::WebhookDeliveryStatus,
    page::{Page, PageRequest},
};
use copilot_entities::{event, webhook_delivery, webhook_endpoint};
use copilot_store::jobs::Queue;
use copilot_store::{Db, Scoped, TenantTx, audit, db_err, events, sealed::Sealer};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::endpoints;

/// Deliveries of one endpoint in flight at most, across the claims that fill them.
const PER_ENDPOINT: usize = 4;

/// Most events one replay queues again.
const MAX_REPLAY: u64 = 10_000;

/// A delivery as shown in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: WebhookDeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

fn delivery(row: webhook_delivery::Model, event_type: String) -> Delivery {
    Delivery {
        next_attempt_at: (row.status == WebhookDeliveryStatus::Pending).then_some(row.next_attempt_at),
        id: row.id,
        endpoint_id: row.endpoint_id,
        event_id: row.event_id,
        event_type,
        status: row.status,
        attempts: row.attempts,
        last_status_code: row.last_status_code,
        last_response: row.last_response,
        last_error: row.last_error,
        created_at: row.created_at,
        updated_at: row.updated_at,
        delivered_at: row.delivered_at,
    }
}

async fn with_types(tx: &TenantTx, rows: Vec<webhook_delivery::Model>) -> Result<Vec<Delivery>, Error> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.event_id).collect();
    let types: std::collections::HashMap<Uuid, String> = event::Entity::scoped(tx.tenant())
        .filter(event::Column::Id.is_in(ids))
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|event| (event.id, event.event_type))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let event_type = types.get(&row.event_id).cloned().unwrap_or_default();
            delivery(row, event_type)
        })
        .collect())
}

/// An endpoint's deliveries, newest first; only those with `status` when given (admins only).
pub async fn list(
    tx: &TenantTx,
    by: &Principal,
    endpoint_id: Uuid,
    status: Option<WebhookDeliveryStatus>,
    page: PageRequest,
) -> Result<Page<Delivery>, Error> {
    by.require_admin()?;
    endpoints::row(tx, endpoint_id).await?;
    let mut query =
        webhook_delivery::Entity::scoped(tx.tenant()).filter(webhook_delivery::Column::EndpointId.eq(endpoint_id));
    if let Some(status) = status {
        query = query.filter(webhook_delivery::Column::Status.eq(status));
    }
    if let Some(before) = page.cursor {
        query = query.filter(webhook_delivery::Column::Id.lt(before));
    }
    let rows =
        query.order_by_desc(webhook_delivery::Column::Id).limit(page.limit + 1).all(&**tx).await.map_err(db_err)?;
    let deliveries = with_types(tx, rows).await?;
    Ok(Page::from_overfetch(deliveries, page.limit, |d: &Delivery| d.id))
}

/// Queues one delivery again, now (admins only).
pub async fn retry(tx: &TenantTx, by: &Principal, endpoint_id: Uuid, delivery_id: Uuid) -> Result<Delivery, Error> {
    by.require_admin()?;
    endpoints::row(tx, endpoint_id).await?;
    let row = webhook_delivery::Entity::scoped(tx.tenant())
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
        .filter(webhook_delivery::Column::Id.eq(delivery_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("delivery"))?;
    if row.status == WebhookDeliveryStatus::Sending {
        return Err(Error::Conflict {
            code: "delivery_in_flight",
            detail: "the delivery is being attempted now".into(),
        });
    }
    let now = copilot_core::now();
    let mut change: webhook_delivery::ActiveModel = row.into();
    change.status = Set(WebhookDeliveryStatus::Pending);
    change.next_attempt_at = Set(now);
    change.updated_at = Set(now);
    let row = change.update(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "webhook.delivery_retried",
        audit::Target::new("webhook", endpoint_id),
        serde_json::json!({ "delivery_id": delivery_id }),
    )
    .await?;
    Ok(with_types(tx, vec![row]).await?.remove(0))
}

/// Queues again, now, every event since `since` the endpoint subscribes to (delivered or
/// not, with their original ids); returns how many (admins only).
pub async fn replay(tx: &TenantTx, by: &Principal, endpoint_id: Uuid, since: DateTime<Utc>) -> Result<u64, Error> {
    by.require_admin()?;
    let endpoint = endpoints::row(tx, endpoint_id).await?;
    if !endpoint.enabled {
        return Err(Error::unprocessable("webhook_disabled", "enable the endpoint before replaying to it"));
    }
    let events = event::Entity::scoped(tx.tenant())
        .filter(event::Column::CreatedAt.gte(since))
        .order_by_asc(event::Column::Id)
        .limit(MAX_REPLAY)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let now = copilot_core::now();
    let mut count = 0;
    for event in events.into_iter().filter(|e| events::subscribed(&endpoint.event_types, &e.event_type)) {
        let existing = webhook_delivery::Entity::scoped(tx.tenant())
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
            .filter(webhook_delivery::Column::EventId.eq(event.id))
            .one(&**tx)
            .await
            .map_err(db_err)?;
        match existing {
            Some(row) if row.status == WebhookDeliveryStatus::Sending => continue,
            Some(row) => {
                let mut change: webhook_delivery::ActiveModel = row.into();
                change.status = Set(WebhookDeliveryStatus::Pending);
                change.next_attempt_at = Set(now);
                change.updated_at = Set(now);
                change.update(&**tx).await.map_err(db_err)?;
            }
            None => {
                events::pending_delivery(tx.tenant(), endpoint_id, &event, now).insert(&**tx).await.map_err(db_err)?;
            }
        }
        count += 1;
    }
    audit::record(
        tx,
        by.actor,
        "webhook.replayed",
        audit::Target::new("webhook", endpoint_id),
        serde_json::json!({ "since": since, "events": count }),
    )
    .await?;
    Ok(count)
}

/// Sends a `webhook.test` event to one endpoint (admins only); returns its delivery.
pub async fn send_test(tx: &TenantTx, by: &Principal, endpoint_id: Uuid) -> Result<Delivery, Error> {
    by.require_admin()?;
    endpoints::row(tx, endpoint_id).await?;
    let data = serde_json::json!({ "endpoint_id": endpoint_id, "message": "a test event" });
    let event = events::insert(tx, "webhook.test", None, &data).await?;
    let row = events::pending_delivery(tx.tenant(), endpoint_id, &event, event.created_at)
        .insert(&**tx)
        .await
        .map_err(db_err)?;
    Ok(delivery(row, "webhook.test".into()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub tenant_id: TenantId,
    pub delivery_id: Uuid,
    /// The claim's attempt number, and when the item was queued (with the claim time on a
    /// first attempt, its wait).
    pub attempt: i32,
    pub queued_at: chrono::DateTime<chrono::Utc>,
}

/// The webhook queue: event deliveries waiting or being sent.
pub const QUEUE: Queue = Queue {
    name: "webhooks",
    table: "webhook_deliveries",
    id: "id",
    open: "{row}.status IN ('pending', 'sending')",
    held: "{row}.status = 'sending'",
    lease_columns: &["next_attempt_at"],
};

/// A delivery that may be sent now: due, and not behind an earlier event of the same ticket
/// still on its way to the same endpoint (one ticket's events arrive one at a time, in order).
const DUE: &str = "{row}.status IN ('pending', 'sending') AND {row}.next_attempt_at <= $2
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries earlier
        WHERE earlier.endpoint_id = {row}.endpoint_id AND earlier.ticket_id = {row}.ticket_id
          AND earlier.event_id < {row}.event_id AND earlier.status IN ('pending', 'sending'))";

/// Claims up to `limit` due deliveries across tenants for `lease`: pending ones, and ones
/// whose sender's lease ran out. An endpoint gets at most a few per claim, and none while
/// it has that many in flight, so one slow endpoint never holds up the others.
pub async fn claim(db: &Db, limit: u64, lease: Duration) -> Result<Vec<Claimed>, Error> {
    let pick = copilot_store::jobs::FairPick {
        queue: &QUEUE,
        group: "endpoint_id",
        due: DUE,
        per_group: PER_ENDPOINT,
        busy: Some(("{row}.status = 'sending' AND {row}.next_attempt_at > $2", PER_ENDPOINT)),
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET status = 'sending', next_attempt_at = $1, attempts = attempts + 1, updated_at = $2
         WHERE id IN ({}) RETURNING tenant_id, id, attempts, created_at",
        pick.sql()
    );
    let rows = copilot_store::jobs::claim(db, &sql, limit, lease).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
                delivery_id: row.try_get("", "id").map_err(db_err)?,
                attempt: row.try_get("", "attempts").map_err(db_err)?,
                queued_at: row.try_get("", "created_at").map_err(db_err)?,
            })
        })
        .collect()
}

/// What a sender needs for one attempt.
#[derive(Clone, Debug)]
pub struct Job {
    pub delivery_id: Uuid,
    pub endpoint_id: Uuid,
    pub url: String,
    /// The current secret, and the previous one during a rotation.
    pub secrets: Vec<String>,
    /// `webhook-id`: the event's id, the same on every attempt and replay.
    pub message_id: String,
    /// The JSON body: `{id, type, tenant_id, created_at, data}`.
    pub body: Vec<u8>,
    pub attempts: i32,
    /// The `X-Request-Id` of the request whose event this is, when there was one.
    pub request_id: Option<String>,
}

/// The job of a claimed delivery; `None` when it is no longer being sent, or its endpoint
/// was disabled meanwhile (the delivery is then failed).
pub async fn job(tx: &TenantTx, delivery_id: Uuid, sealer: &Sealer) -> Result<Option<Job>, Error> {
    let Some(row) = webhook_delivery::Entity::scoped(tx.tenant())
        .filter(webhook_delivery::Column::Id.eq(delivery_id))
        .filter(webhook_delivery::Column::Status.eq(WebhookDeliveryStatus::Sending))
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let endpoint = endpoints::row(tx, row.endpoint_id).await?;
    if !endpoint.enabled {
        settle(tx, row, WebhookDeliveryStatus::Failed, None, None, Some("the endpoint is disabled".into()), None)
            .await?;
        return Ok(None);
    }
    let event = event::Entity::scoped(tx.tenant())
        .filter(event::Column::Id.eq(row.event_id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal("a delivery without its event"))?;
    let body = serde_json::json!({
        "id": event.id,
        "type": event.event_type,
        "tenant_id": event.tenant_id,
        "created_at": event.created_at,
        "data": event.data,
    });
    Ok(Some(Job {
        delivery_id,
        endpoint_id: endpoint.id,
        url: endpoint.url.clone(),
        secrets: endpoints::signing_secrets(tx, &endpoint, sealer)?,
        message_id: event.id.to_string(),
        body: serde_json::to_vec(&body).map_err(Error::internal)?,
        attempts: row.attempts,
        request_id: row.request_id.clone(),
    }))
}

async fn settle(
    tx: &TenantTx,
    row: webhook_delivery::Model,
    status: WebhookDeliveryStatus,
    code: Option<i32>,
    response: Option<String>,
    error: Option<String>,
    next: Option<DateTime<Utc>>,
) -> Result<(), Error> {
    let now = copilot_core::now();
    let mut change: webhook_delivery::ActiveModel = row.into();
    change.status = Set(status);
    change.last_status_code = Set(code);
    change.last_response = Set(response);
    change.last_error = Set(error);
    change.updated_at = Set(now);
    if let Some(next) = next {
        change.next_attempt_at = Set(next);
    }
    if status == WebhookDeliveryStatus::Succeeded {
        change.delivered_at = Set(Some(now));
    }
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// What an attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    Answered { status: u16, body: String },
    Failed(String),
}

/// How an endpoint is treated after failing.
#[derive(Clone, Debug)]
pub struct Policy {
    /// When a failed attempt is tried again (a schedule of waits).
    pub retry: copilot_core::retry::Backoff,
    /// An endpoint failing for this long is disabled.
    pub disable_after: Duration,
}

/// Records an attempt of `job`: success on a 2xx; a 410 disables the endpoint; otherwise
/// the next attempt is scheduled, or the delivery fails once the schedule is spent. An
/// attempt whose lease ran out and whose delivery was claimed again since is not recorded
/// (the later attempt's outcome is the one that counts).
pub async fn record(tx: &TenantTx, job: &Job, attempt: Attempt, policy: &Policy) -> Result<(), Error> {
    let Some(row) = webhook_delivery::Entity::scoped(tx.tenant())
        .filter(webhook_delivery::Column::Id.eq(job.delivery_id))
        .filter(webhook_delivery::Column::Attempts.eq(job.attempts))
        .filter(webhook_delivery::Column::Status.eq(WebhookDeliveryStatus::Sending))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(());
    };
    let endpoint = endpoints::row(tx, row.endpoint_id).await?;
    let now = copilot_core::now();
    let (code, response, error) = match &attempt {
        Attempt::Answered { status, body } => (Some(i32::from(*status)), Some(body.clone()), None),
        Attempt::Failed(error) => (None, None, Some(error.clone())),
    };
    match attempt {
        Attempt::Answered { status, .. } if (200..300).contains(&status) => {
            settle(tx, row, WebhookDeliveryStatus::Succeeded, code, response, None, None).await?;
            if endpoint.failing_since.is_some() {
                let mut change: webhook_endpoint::ActiveModel = endpoint.into();
                change.failing_since = Set(None);
                change.update(&**tx).await.map_err(db_err)?;
            }
        }
        Attempt::Answered { status: 410, .. } => {
            settle(
                tx,
                row,
                WebhookDeliveryStatus::Failed,
                code,
                response,
                Some("the endpoint answered 410 Gone".into()),
                None,
            )
            .await?;
            disable(tx, endpoint, "the endpoint answered 410 Gone").await?;
        }
        _ => {
            let error = error.or_else(|| code.map(|code| format!("the endpoint answered {code}")));
            match policy.retry.retry_in(row.attempts) {
                Some(wait) => {
                    let next = now + wait;
                    settle(tx, row, WebhookDeliveryStatus::Pending, code, response, error, Some(next)).await?;
                }
                None => settle(tx, row, WebhookDeliveryStatus::Failed, code, response, error, None).await?,
            }
            let failing_since = endpoint.failing_since.unwrap_or(now);
            if now - failing_since >= policy.disable_after {
                let reason = format!("every attempt failed since {}", failing_since.to_rfc3339());
                disable(tx, endpoint, &reason).await?;
            } else if endpoint.failing_since.is_none() {
                let mut change: webhook_endpoint::ActiveModel = endpoint.into();
                change.failing_since = Set(Some(now));
                change.update(&**tx).await.map_err(db_err)?;
            }
        }
    }
    Ok(())
}

/// Disables an endpoint, fails its pending deliveries, and says so with an event.
async fn disable(tx: &TenantTx, endpoint: webhook_endpoint::Model, reason: &str) -> Result<(), Error> {
    let id = endpoint.id;
    let url = endpoint.url.clone();
    let mut change: webhook_endpoint::ActiveModel = endpoint.into();
    change.enabled = Set(false);
    change.disabled_reason = Set(Some(reason.to_owned()));
    change.updated_at = Set(copilot_core::now());
    change.update(&**tx).await.map_err(db_err)?;
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, sea_orm::sea_query::Expr::value(WebhookDeliveryStatus::Failed))
        .col_expr(webhook_delivery::Column::LastError, sea_orm::sea_query::Expr::value("the endpoint was disabled"))
        .filter(webhook_delivery::Column::TenantId.eq(tx.tenant().0))
        .filter(webhook_delivery::Column::EndpointId.eq(id))
        .filter(webhook_delivery::Column::Status.eq(WebhookDeliveryStatus::Pending))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    tracing::warn!(tenant = %tx.tenant(), endpoint = %id, reason, "a webhook endpoint was disabled");
    events::emit(
        tx,
        "webhook.endpoint.disabled",
        None,
        &serde_json::json!({ "endpoint_id": id, "url": url, "reason": reason }),
    )
    .await?;
    Ok(())
}
