//! Which profiles each feature tries, in order. A feature without a route uses the
//! default profile alone.

use std::collections::HashSet;

use copilot_core::{Error, Principal, model::LlmFeature};
use copilot_entities::{llm_profile, llm_route};
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

use crate::DEFAULT_PROFILE;

/// The most profiles one feature tries.
pub const MAX_PROFILES_PER_ROUTE: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub feature: LlmFeature,
    pub profiles: Vec<String>,
}

pub(crate) fn profiles_of(route: &llm_route::Model) -> Vec<String> {
    serde_json::from_str(&route.profiles).unwrap_or_default()
}

/// Every feature's route, in the order of [`LlmFeature::ALL`]; features without one show
/// the default profile.
pub async fn list(tx: &TenantTx) -> Result<Vec<Route>, Error> {
    let rows = llm_route::Entity::scoped(tx.tenant()).all(&**tx).await.map_err(db_err)?;
    Ok(LlmFeature::ALL
        .iter()
        .map(|feature| Route {
            feature: *feature,
            profiles: rows
                .iter()
                .find(|row| row.feature == feature.as_str())
                .map(profiles_of)
                .filter(|profiles| !profiles.is_empty())
                .unwrap_or_else(|| vec![DEFAULT_PROFILE.to_owned()]),
        })
        .collect())
}

/// The profiles a feature's calls try, in order.
pub async fn of(tx: &TenantTx, feature: LlmFeature) -> Result<Vec<String>, Error> {
    let row = llm_route::Entity::scoped(tx.tenant())
        .filter(llm_route::Column::Feature.eq(feature.as_str()))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row
        .map(|row| profiles_of(&row))
        .filter(|profiles| !profiles.is_empty())
        .unwrap_or_else(|| vec![DEFAULT_PROFILE.to_owned()]))
}

/// Replaces the routes of the features listed (admins only); an empty list returns a
/// feature to the default profile. Every name must be a profile of the tenant or
/// `default`.
pub async fn replace(tx: &TenantTx, by: &Principal, routes: Vec<Route>) -> Result<Vec<Route>, Error> {
    by.require_admin()?;
    let known: HashSet<String> = llm_profile::Entity::scoped(tx.tenant())
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|row| row.name)
        .chain([DEFAULT_PROFILE.to_owned()])
        .collect();
    let mut features = HashSet::new();
    for route in &routes {
        let feature = route.feature;
        if !features.insert(feature) {
            return Err(Error::validation("duplicate_route", format!("`{feature}` is routed twice")));
        }
        if route.profiles.len() > MAX_PROFILES_PER_ROUTE {
            return Err(Error::validation(
                "route_too_long",
                format!("`{feature}` may try at most {MAX_PROFILES_PER_ROUTE} profiles"),
            ));
        }
        let mut seen = HashSet::new();
        for name in &route.profiles {
            if !known.contains(name) {
                return Err(Error::unprocessable(
                    "unknown_profile",
                    format!("the route of `{feature}` names `{name}`, which is not a profile"),
                ));
            }
            if !seen.insert(name) {
                return Err(Error::validation(
                    "duplicate_profile",
                    format!("the route of `{feature}` names `{name}` twice"),
                ));
            }
        }
    }
    let now = copilot_core::now();
    for route in &routes {
        llm_route::Entity::delete_many()
            .filter(llm_route::Column::TenantId.eq(tx.tenant().0))
            .filter(llm_route::Column::Feature.eq(route.feature.as_str()))
            .exec(&**tx)
            .await
            .map_err(db_err)?;
        if route.profiles.is_empty() {
            continue;
        }
        llm_route::ActiveModel::from(llm_route::Model {
            tenant_id: tx.tenant().0,
            feature: route.feature.as_str().to_owned(),
            profiles: serde_json::to_string(&route.profiles).map_err(Error::internal)?,
            updated_at: now,
        })
        .reset_all()
        .insert(&**tx)
        .await
        .map_err(db_err)?;
    }
    let changed: serde_json::Map<String, serde_json::Value> =
        routes.iter().map(|route| (route.feature.to_string(), serde_json::json!(route.profiles))).collect();
    audit::record(
        tx,
        by.actor,
        "settings.llm_routes_updated",
        audit::Target { kind: "settings", id: None, label: Some("llm_routes") },
        serde_json::Value::Object(changed),
    )
    .await?;
    list(tx).await
}
