//! A tenant's webhook endpoints: URL (checked against request forgery), subscribed event
//! types, description, the signing secret (sealed; shown once) and, for 24 hours after a
//! rotation, the previous one, which signs alongside.

use chrono::{DateTime, Duration, Utc};
use copilot_channels::webhook;
use copilot_core::{
    Error, Principal,
    page::{Page, PageRequest},
    values::bounded_text,
};
use copilot_entities::webhook_endpoint;
use copilot_store::{Scoped, TenantTx, audit, db_err, events::EVENT_TYPES, sealed::Sealer};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

/// Most endpoints a tenant may have.
const MAX_ENDPOINTS: u64 = 50;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed; none while the endpoint answers.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret signs too (after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<webhook_endpoint::Model> for Endpoint {
    fn from(row: webhook_endpoint::Model) -> Self {
        let now = copilot_core::now();
        Self {
            id: row.id,
            url: row.url,
            description: row.description,
            event_types: serde_json::from_value(row.event_types).unwrap_or_default(),
            enabled: row.enabled,
            disabled_reason: row.disabled_reason,
            failing_since: row.failing_since,
            previous_secret_until: row.previous_secret_until.filter(|until| *until > now),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A new endpoint.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

/// A partial update; `None` leaves a field as it is (`description: Some(None)` clears it).
#[derive(Clone, Debug, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    /// `true` enables a disabled endpoint again (its failure clock restarts).
    pub enabled: Option<bool>,
}

/// Checks a URL's form and where its name points now.
pub async fn check_url(raw: &str, allow_private: bool) -> Result<String, Error> {
    let invalid = |error: webhook::UrlError| Error::validation("invalid_webhook_url", format!("`url`: {error}"));
    let url = webhook::check_url(raw, allow_private).map_err(invalid)?;
    if let Some(url::Host::Domain(host)) = url.host().map(|h| h.to_owned()) {
        let port = url.port_or_known_default().unwrap_or(443);
        let resolved =
            tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| invalid(webhook::UrlError::Unresolvable(format!("{host}: timed out"))))?
                .map_err(|error| invalid(webhook::UrlError::Unresolvable(format!("{host}: {error}"))))?;
        let ips: Vec<std::net::IpAddr> = resolved.map(|address| address.ip()).collect();
        webhook::check_addresses(&ips, allow_private).map_err(invalid)?;
    }
    Ok(url.to_string())
}

fn event_types(raw: &[String]) -> Result<Vec<String>, Error> {
    if raw.is_empty() {
        return Err(Error::validation("invalid_event_types", "`events` needs at least one event type, or \"*\""));
    }
    let mut types: Vec<String> = Vec::new();
    for name in raw {
        let name = name.trim();
        if name != "*" && !EVENT_TYPES.contains(&name) {
            return Err(Error::validation(
                "invalid_event_types",
                format!("unknown event type `{name}`; known: {}", EVENT_TYPES.join(", ")),
            ));
        }
        if !types.iter().any(|t| t == name) {
            types.push(name.to_owned());
        }
    }
    Ok(types)
}

fn description(raw: Option<&str>) -> Result<Option<String>, Error> {
    raw.map(str::trim).filter(|d| !d.is_empty()).map(|d| bounded_text("description", d, 1, 500)).transpose()
}

pub(crate) async fn row(tx: &TenantTx, id: Uuid) -> Result<webhook_endpoint::Model, Error> {
    webhook_endpoint::Entity::scoped(tx.tenant())
        .filter(webhook_endpoint::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("webhook endpoint"))
}

/// Creates an endpoint (admins only); returns it with its secret, shown this once.
pub async fn create(
    tx: &TenantTx,
    by: &Principal,
    request: NewEndpoint,
    sealer: &Sealer,
    allow_private: bool,
) -> Result<(Endpoint, String), Error> {
    by.require_admin()?;
    let url = check_url(&request.url, allow_private).await?;
    let types = event_types(&request.event_types)?;
    let description = description(request.description.as_deref())?;
    let count = webhook_endpoint::Entity::scoped(tx.tenant()).count(&**tx).await.map_err(db_err)?;
    if count >= MAX_ENDPOINTS {
        return Err(Error::unprocessable(
            "too_many_webhooks",
            format!("a tenant may have at most {MAX_ENDPOINTS} endpoints"),
        ));
    }
    let secret = webhook::new_secret();
    let now = copilot_core::now();
    let row = webhook_endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        url: Set(url),
        description: Set(description),
        event_types: Set(serde_json::json!(types)),
        secret_sealed: Set(sealer.seal(tx.tenant(), &secret)?),
        previous_secret_sealed: Set(None),
        previous_secret_until: Set(None),
        enabled: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "webhook.created",
        audit::Target::new("webhook", row.id),
        serde_json::json!({ "url": row.url, "events": types }),
    )
    .await?;
    Ok((row.into(), secret))
}

/// One endpoint (admins only: its URL may carry a receiver's token).
pub async fn get(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<Endpoint, Error> {
    by.require_admin()?;
    row(tx, id).await.map(Endpoint::from)
}

/// The tenant's endpoints, newest first (admins only).
pub async fn list(tx: &TenantTx, by: &Principal, page: PageRequest) -> Result<Page<Endpoint>, Error> {
    by.require_admin()?;
    let mut query = webhook_endpoint::Entity::scoped(tx.tenant());
    if let Some(before) = page.cursor {
        query = query.filter(webhook_endpoint::Column::Id.lt(before));
    }
    let rows =
        query.order_by_desc(webhook_endpoint::Column::Id).limit(page.limit + 1).all(&**tx).await.map_err(db_err)?;
    Ok(Page::from_overfetch(rows.into_iter().map(Endpoint::from).collect(), page.limit, |e: &Endpoint| e.id))
}

/// Changes an endpoint (admins only).
pub async fn update(
    tx: &TenantTx,
    by: &Principal,
    id: Uuid,
    patch: EndpointPatch,
    allow_private: bool,
) -> Result<Endpoint, Error> {
    by.require_admin()?;
    let existing = row(tx, id).await?;
    let mut change: webhook_endpoint::ActiveModel = existing.into();
    if let Some(url) = &patch.url {
        change.url = Set(check_url(url, allow_private).await?);
    }
    if let Some(types) = &patch.event_types {
        change.event_types = Set(serde_json::json!(event_types(types)?));
    }
    if let Some(text) = &patch.description {
        change.description = Set(description(text.as_deref())?);
    }
    match patch.enabled {
        Some(true) => {
            change.enabled = Set(true);
            change.disabled_reason = Set(None);
            change.failing_since = Set(None);
        }
        Some(false) => {
            change.enabled = Set(false);
            change.disabled_reason = Set(Some("disabled by an admin".into()));
        }
        None => {}
    }
    change.updated_at = Set(copilot_core::now());
    let row = change.update(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "webhook.updated",
        audit::Target::new("webhook", id),
        serde_json::json!({ "url": row.url, "enabled": row.enabled }),
    )
    .await?;
    Ok(row.into())
}

/// Deletes an endpoint and its deliveries (admins only).
pub async fn delete(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<(), Error> {
    by.require_admin()?;
    let existing = row(tx, id).await?;
    let url = existing.url.clone();
    let active: webhook_endpoint::ActiveModel = existing.into();
    active.delete(&**tx).await.map_err(db_err)?;
    audit::record(tx, by.actor, "webhook.deleted", audit::Target::new("webhook", id), serde_json::json!({ "url": url }))
        .await
}

/// A new secret (admins only); the previous one keeps signing, alongside, for
/// [`ROTATION_OVERLAP_HOURS`]. Returns the new secret, shown this once.
pub async fn rotate_secret(
    tx: &TenantTx,
    by: &Principal,
    id: Uuid,
    sealer: &Sealer,
) -> Result<(Endpoint, String), Error> {
    by.require_admin()?;
    let existing = row(tx, id).await?;
    let secret = webhook::new_secret();
    let now = copilot_core::now();
    let previous = existing.secret_sealed.clone();
    let mut change: webhook_endpoint::ActiveModel = existing.into();
    change.secret_sealed = Set(sealer.seal(tx.tenant(), &secret)?);
    change.previous_secret_sealed = Set(Some(previous));
    change.previous_secret_until = Set(Some(now + Duration::hours(ROTATION_OVERLAP_HOURS)));
    change.updated_at = Set(now);
    let row = change.update(&**tx).await.map_err(db_err)?;
    audit::record(tx, by.actor, "webhook.secret_rotated", audit::Target::new("webhook", id), serde_json::json!({}))
        .await?;
    Ok((row.into(), secret))
}

/// The secrets that sign an endpoint's messages now: the current one, and the previous
/// one while its overlap lasts.
pub(crate) fn signing_secrets(
    tx: &TenantTx,
    row: &webhook_endpoint::Model,
    sealer: &Sealer,
) -> Result<Vec<String>, Error> {
    let mut secrets = vec![sealer.open(tx.tenant(), &row.secret_sealed)?];
    if let (Some(previous), Some(until)) = (&row.previous_secret_sealed, row.previous_secret_until)
        && until > copilot_core::now()
    {
        secrets.push(sealer.open(tx.tenant(), previous)?);
    }
    Ok(secrets)
}
