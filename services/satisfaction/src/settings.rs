//! Whether a tenant asks its customers for a rating once their ticket is solved, on which
//! scale, how long after solving, and for how long a link stays valid. Off until an admin
//! turns it on: a desk decides when its customers start getting surveys.

use chrono::{DateTime, Utc};
use copilot_core::{Error, Principal, model::CsatScale, values::in_range};
use copilot_entities::csat_setting;
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde::{Deserialize, Serialize};

pub const DEFAULT_LINK_DAYS: i32 = 14;
pub const MAX_LINK_DAYS: i32 = 90;
/// At most a week between solving and asking.
pub const MAX_DELAY_MINUTES: i32 = 7 * 24 * 60;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsatSettings {
    pub enabled: bool,
    pub scale: CsatScale,
    pub delay_minutes: i32,
    pub link_days: i32,
    /// None until first saved.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for CsatSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            scale: CsatScale::Five,
            delay_minutes: 0,
            link_days: DEFAULT_LINK_DAYS,
            updated_at: None,
        }
    }
}

impl From<csat_setting::Model> for CsatSettings {
    fn from(row: csat_setting::Model) -> Self {
        Self {
            enabled: row.enabled,
            scale: row.scale,
            delay_minutes: row.delay_minutes,
            link_days: row.link_days,
            updated_at: Some(row.updated_at),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CsatUpdate {
    pub enabled: bool,
    pub scale: CsatScale,
    pub delay_minutes: i32,
    pub link_days: i32,
}

pub async fn get(tx: &TenantTx) -> Result<CsatSettings, Error> {
    let row = csat_setting::Entity::scoped(tx.tenant()).one(&**tx).await.map_err(db_err)?;
    Ok(row.map(CsatSettings::from).unwrap_or_default())
}

/// Saves the tenant's survey settings (admins). A change of scale applies to surveys not
/// yet created; one already out keeps the scale it was sent with.
pub async fn put(tx: &TenantTx, by: &Principal, update: CsatUpdate) -> Result<CsatSettings, Error> {
    by.require_admin()?;
    in_range("delay_minutes", Some(update.delay_minutes), 0, MAX_DELAY_MINUTES)?;
    in_range("link_days", Some(update.link_days), 1, MAX_LINK_DAYS)?;
    let existing = csat_setting::Entity::scoped(tx.tenant()).one(&**tx).await.map_err(db_err)?;
    let mut row = csat_setting::ActiveModel {
        tenant_id: Set(tx.tenant().0),
        enabled: Set(update.enabled),
        scale: Set(update.scale),
        delay_minutes: Set(update.delay_minutes),
        link_days: Set(update.link_days),
        updated_at: Set(copilot_core::now()),
    };
    let saved = match existing {
        Some(_) => {
            row.tenant_id = sea_orm::ActiveValue::Unchanged(tx.tenant().0);
            row.update(&**tx).await
        }
        None => row.insert(&**tx).await,
    }
    .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "csat_settings.updated",
        audit::Target::new("csat_settings", tx.tenant().0),
        serde_json::json!({
            "enabled": update.enabled,
            "scale": update.scale,
            "delay_minutes": update.delay_minutes,
            "link_days": update.link_days,
        }),
    )
    .await?;
    Ok(saved.into())
}
