//! Each profile's circuit breaker, kept in the database so that every process skips an
//! endpoint that is down and only one of them probes it when its cool-down ends.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use copilot_core::{
    Error,
    breaker::{Breaker, BreakerPolicy},
    model::BreakerState,
    values::one_line,
};
use copilot_entities::llm_health;
use copilot_store::{Scoped, TenantTx, db_err};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::OnConflict};

/// A profile's breaker and what it last saw.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Health {
    pub breaker: Breaker,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
}

impl From<llm_health::Model> for Health {
    fn from(row: llm_health::Model) -> Self {
        Self {
            breaker: Breaker {
                state: row.state,
                consecutive_failures: row.consecutive_failures.max(0) as u32,
                trips: row.trips.max(0) as u32,
                until: row.until,
            },
            last_error: row.last_error,
            last_error_at: row.last_error_at,
            last_success_at: row.last_success_at,
        }
    }
}

/// Every profile's health that was ever recorded, by profile name (a profile not listed
/// is closed and has seen nothing).
pub async fn all(tx: &TenantTx) -> Result<HashMap<String, Health>, Error> {
    let rows = llm_health::Entity::scoped(tx.tenant()).all(&**tx).await.map_err(db_err)?;
    Ok(rows.into_iter().map(|row| (row.profile.clone(), Health::from(row))).collect())
}

/// Claims the probe of a profile whose cool-down is over: true for the one caller whose
/// update turns it half open until `deadline` from now.
pub async fn claim_probe(tx: &TenantTx, profile: &str, deadline: Duration) -> Result<bool, Error> {
    let now = copilot_core::now();
    let probing = Breaker { state: BreakerState::Open, ..Breaker::default() }.probing(now, deadline);
    let claimed = llm_health::Entity::update_many()
        .col_expr(llm_health::Column::State, BreakerState::HalfOpen.as_str().into())
        .col_expr(llm_health::Column::Until, probing.until.into())
        .col_expr(llm_health::Column::UpdatedAt, now.into())
        .filter(llm_health::Column::TenantId.eq(tx.tenant().0))
        .filter(llm_health::Column::Profile.eq(profile))
        .filter(llm_health::Column::State.ne(BreakerState::Closed))
        .filter(llm_health::Column::Until.lte(now))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(claimed.rows_affected == 1)
}

/// What one call to a profile came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome<'a> {
    Answered,
    Failed(&'a str),
}

/// Records a call's outcome in the profile's breaker.
pub async fn record(tx: &TenantTx, profile: &str, outcome: Outcome<'_>, policy: &BreakerPolicy) -> Result<(), Error> {
    let now = copilot_core::now();
    let row = llm_health::Entity::scoped(tx.tenant())
        .filter(llm_health::Column::Profile.eq(profile))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    let mut health = row.map(Health::from).unwrap_or_default();
    match outcome {
        Outcome::Answered => {
            health.breaker = health.breaker.after_success();
            health.last_success_at = Some(now);
        }
        Outcome::Failed(error) => {
            health.breaker = health.breaker.after_failure(now, policy);
            health.last_error = Some(one_line(error).chars().take(500).collect());
            health.last_error_at = Some(now);
        }
    }
    let row = llm_health::ActiveModel {
        tenant_id: Set(tx.tenant().0),
        profile: Set(profile.to_owned()),
        state: Set(health.breaker.state),
        consecutive_failures: Set(health.breaker.consecutive_failures.min(i32::MAX as u32) as i32),
        trips: Set(health.breaker.trips.min(i32::MAX as u32) as i32),
        until: Set(health.breaker.until),
        last_error: Set(health.last_error),
        last_error_at: Set(health.last_error_at),
        last_success_at: Set(health.last_success_at),
        updated_at: Set(now),
    };
    llm_health::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([llm_health::Column::TenantId, llm_health::Column::Profile])
                .update_columns([
                    llm_health::Column::State,
                    llm_health::Column::ConsecutiveFailures,
                    llm_health::Column::Trips,
                    llm_health::Column::Until,
                    llm_health::Column::LastError,
                    llm_health::Column::LastErrorAt,
                    llm_health::Column::LastSuccessAt,
                    llm_health::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}
