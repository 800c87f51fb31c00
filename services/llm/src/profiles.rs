//! Named LLM profiles, replaced as a whole list by an admin. Keys are sealed and never
//! shown; a profile keeps its key when an update leaves the key out.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, Principal,
    values::{KeyChange, bounded_text, endpoint_root, identifier, in_range},
};
use copilot_entities::{llm_profile, llm_route};
use copilot_store::{Scoped, TenantTx, audit, db_err, sealed::Sealer};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::DEFAULT_PROFILE;

/// The most profiles a tenant keeps.
pub const MAX_PROFILES: usize = 20;

/// A profile as shown (the key only as "set or not").
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub name: String,
    pub base_url: String,
    pub model: String,
    pub api_key_set: bool,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub timeout_seconds: Option<i32>,
    pub prices: Prices,
    pub supports_json_schema: bool,
    pub updated_at: DateTime<Utc>,
}

/// What a million tokens cost, in the tenant's currency; unset: not priced.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Prices {
    pub input_per_million: Option<f64>,
    pub output_per_million: Option<f64>,
}

impl Prices {
    /// The cost of a call in millionths of the currency; none when the profile has no prices.
    pub fn cost_micros(&self, prompt_tokens: u32, completion_tokens: u32) -> Option<i64> {
        if self.input_per_million.is_none() && self.output_per_million.is_none() {
            return None;
        }
        // A million tokens at price p cost p, so one token costs p millionths.
        let cost = f64::from(prompt_tokens) * self.input_per_million.unwrap_or(0.0)
            + f64::from(completion_tokens) * self.output_per_million.unwrap_or(0.0);
        Some(cost.round() as i64)
    }
}

impl From<llm_profile::Model> for Profile {
    fn from(row: llm_profile::Model) -> Self {
        Self {
            name: row.name,
            base_url: row.base_url,
            model: row.model,
            api_key_set: row.api_key_sealed.is_some(),
            temperature: row.temperature,
            max_tokens: row.max_tokens,
            timeout_seconds: row.timeout_seconds,
            prices: Prices { input_per_million: row.price_input, output_per_million: row.price_output },
            supports_json_schema: row.supports_json_schema,
            updated_at: row.updated_at,
        }
    }
}

/// One profile of a replacement list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileUpdate {
    pub name: String,
    pub base_url: String,
    pub model: String,
    /// Keep: the stored key of the profile of this name, if any.
    pub api_key: KeyChange,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub timeout_seconds: Option<i32>,
    pub prices: Prices,
    pub supports_json_schema: bool,
}

/// A profile name: 1–64 lower-case letters, digits, `-` and `_`, starting with a letter.
pub fn profile_name(raw: &str) -> Result<String, Error> {
    identifier("invalid_profile_name", "profile name", raw)
}

/// The tenant's profiles in the order the admin listed them.
pub async fn list(tx: &TenantTx) -> Result<Vec<Profile>, Error> {
    let rows = llm_profile::Entity::scoped(tx.tenant())
        .order_by_asc(llm_profile::Column::Position)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(Profile::from).collect())
}

/// The profiles of these names with their keys opened (none where no key is stored).
pub async fn with_keys(
    tx: &TenantTx,
    sealer: &Sealer,
    names: &[String],
) -> Result<Vec<(Profile, Option<String>)>, Error> {
    let rows = llm_profile::Entity::scoped(tx.tenant())
        .filter(llm_profile::Column::Name.is_in(names.iter().cloned()))
        .all(&**tx)
        .await
        .map_err(db_err)?;
    rows.into_iter()
        .map(|mut row| {
            let key = row.api_key_sealed.take().map(|sealed| sealer.open(tx.tenant(), &sealed)).transpose()?;
            let set = key.is_some();
            Ok((Profile { api_key_set: set, ..Profile::from(row) }, key))
        })
        .collect()
}

/// Replaces the tenant's profiles (admins only). A profile a route still names cannot be
/// removed; [`DEFAULT_PROFILE`] is set through the drafting settings, not here.
pub async fn replace(
    tx: &TenantTx,
    by: &Principal,
    updates: Vec<ProfileUpdate>,
    sealer: &Sealer,
    allow_private: bool,
) -> Result<Vec<Profile>, Error> {
    by.require_admin()?;
    if updates.len() > MAX_PROFILES {
        return Err(Error::validation("too_many_profiles", format!("at most {MAX_PROFILES} profiles")));
    }
    let existing: HashMap<String, llm_profile::Model> = llm_profile::Entity::scoped(tx.tenant())
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|row| (row.name.clone(), row))
        .collect();
    let mut names = HashSet::new();
    let mut rows = Vec::with_capacity(updates.len());
    let now = copilot_core::now();
    for (position, update) in updates.into_iter().enumerate() {
        let name = profile_name(&update.name)?;
        if name == DEFAULT_PROFILE {
            return Err(Error::validation(
                "reserved_profile_name",
                "the `default` profile is the tenant's LLM setting: change it with PUT /v1/settings/llm",
            ));
        }
        if !names.insert(name.clone()) {
            return Err(Error::validation("duplicate_profile", format!("profile `{name}` is listed twice")));
        }
        let field = |part: &str| format!("profiles[{name}].{part}");
        let base_url = endpoint_root(&field("base_url"), Some(&update.base_url), allow_private)?
            .ok_or_else(|| Error::validation("invalid_base_url", format!("`{}` is required", field("base_url"))))?;
        let model = bounded_text(&field("model"), &update.model, 1, 200)?;
        in_range(&field("temperature"), update.temperature, 0.0, 2.0)?;
        in_range(&field("max_tokens"), update.max_tokens, 1, 32_000)?;
        in_range(&field("timeout_seconds"), update.timeout_seconds, 1, 600)?;
        in_range(&field("price_per_million_input_tokens"), update.prices.input_per_million, 0.0, 1e6)?;
        in_range(&field("price_per_million_output_tokens"), update.prices.output_per_million, 0.0, 1e6)?;
        let api_key_sealed = match update.api_key {
            KeyChange::Set(key) => Some(sealer.seal(tx.tenant(), &bounded_text(&field("api_key"), &key, 1, 1000)?)?),
            KeyChange::Clear => None,
            KeyChange::Keep => existing.get(&name).and_then(|row| row.api_key_sealed.clone()),
        };
        rows.push(llm_profile::Model {
            tenant_id: tx.tenant().0,
            name,
            position: position as i32,
            base_url,
            model,
            api_key_sealed,
            temperature: update.temperature,
            max_tokens: update.max_tokens,
            timeout_seconds: update.timeout_seconds,
            price_input: update.prices.input_per_million,
            price_output: update.prices.output_per_million,
            supports_json_schema: update.supports_json_schema,
            updated_at: now,
        });
    }
    let routes = llm_route::Entity::scoped(tx.tenant()).all(&**tx).await.map_err(db_err)?;
    for route in routes {
        for used in crate::routes::profiles_of(&route) {
            if used != DEFAULT_PROFILE && !names.contains(&used) {
                return Err(Error::unprocessable(
                    "profile_in_use",
                    format!("profile `{used}` is in the route of `{}`: change the route first", route.feature),
                ));
            }
        }
    }
    llm_profile::Entity::delete_many()
        .filter(llm_profile::Column::TenantId.eq(tx.tenant().0))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    let summary: Vec<_> = rows
        .iter()
        .map(|row| serde_json::json!({"name": row.name, "base_url": row.base_url, "model": row.model}))
        .collect();
    for row in rows {
        llm_profile::ActiveModel::from(row).reset_all().insert(&**tx).await.map_err(db_err)?;
    }
    audit::record(
        tx,
        by.actor,
        "settings.llm_profiles_updated",
        audit::Target { kind: "settings", id: None, label: Some("llm_profiles") },
        serde_json::json!({ "profiles": summary }),
    )
    .await?;
    list(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_are_short_lower_case_identifiers() {
        for good in ["fast", "gpt-4o_mini", "a1"] {
            assert_eq!(profile_name(good).ok().as_deref(), Some(good));
        }
        for bad in ["", "Fast", "1fast", "with space", "ä", &"x".repeat(65)] {
            assert_eq!(profile_name(bad).err().map(|e| e.code()), Some("invalid_profile_name"), "{bad}");
        }
    }

    #[test]
    fn cost_is_tokens_times_the_price_per_million_in_millionths() {
        let prices = Prices { input_per_million: Some(0.15), output_per_million: Some(0.6) };
        assert_eq!(prices.cost_micros(1_000_000, 0), Some(150_000));
        assert_eq!(prices.cost_micros(1_000, 500), Some(450));
        assert_eq!(Prices::default().cost_micros(1_000, 500), None);
    }
}
