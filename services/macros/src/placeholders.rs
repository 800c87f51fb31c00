//! The tenant's own placeholders (`{{custom.returns_address}}`): a key and the text it
//! stands for, replaced as a whole by admins.

use std::collections::BTreeMap;

use copilot_core::{Error, Principal};
use copilot_entities::macro_placeholder;
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

/// Placeholders one tenant may keep.
pub const MAX_PLACEHOLDERS: usize = 100;
/// The longest value.
pub const MAX_VALUE_CHARS: usize = 2_000;

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::validation("invalid_placeholders", detail.to_string())
}

/// The tenant's placeholders by key.
pub async fn list(tx: &TenantTx) -> Result<BTreeMap<String, String>, Error> {
    let rows = macro_placeholder::Entity::scoped(tx.tenant()).all(&**tx).await.map_err(db_err)?;
    Ok(rows.into_iter().map(|row| (row.key, row.value)).collect())
}

/// Replaces the tenant's placeholders (admins). A key is 1 to 40 lowercase letters, digits
/// or underscores; a value 1 to 2,000 characters. Macros that use a key removed here say so
/// in their `problems` and cannot be applied until it is back or they are changed.
pub async fn replace(
    tx: &TenantTx,
    by: &Principal,
    placeholders: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Error> {
    by.require_admin()?;
    if placeholders.len() > MAX_PLACEHOLDERS {
        return Err(invalid(format!("at most {MAX_PLACEHOLDERS} placeholders")));
    }
    for (key, value) in &placeholders {
        let ok_key = (1..=40).contains(&key.len())
            && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok_key {
            return Err(invalid(format!("`{key}` is not a key: 1 to 40 lowercase letters, digits or `_`")));
        }
        let chars = value.chars().count();
        if value.trim().is_empty() || chars > MAX_VALUE_CHARS {
            return Err(invalid(format!("`{key}` needs a value of 1 to {MAX_VALUE_CHARS} characters")));
        }
    }
    let before = list(tx).await?;
    macro_placeholder::Entity::delete_many()
        .filter(macro_placeholder::Column::TenantId.eq(tx.tenant().0))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    if !placeholders.is_empty() {
        let now = copilot_core::now();
        let rows = placeholders.iter().map(|(key, value)| macro_placeholder::ActiveModel {
            tenant_id: Set(tx.tenant().0),
            key: Set(key.clone()),
            value: Set(value.clone()),
            updated_at: Set(now),
        });
        macro_placeholder::Entity::insert_many(rows).exec_without_returning(&**tx).await.map_err(db_err)?;
    }
    let removed: Vec<&String> = before.keys().filter(|key| !placeholders.contains_key(*key)).collect();
    audit::record(
        tx,
        by.actor,
        "macro_placeholders.replaced",
        audit::Target::new("tenant", tx.tenant().0),
        json!({ "keys": placeholders.keys().collect::<Vec<_>>(), "removed": removed }),
    )
    .await?;
    Ok(placeholders)
}
