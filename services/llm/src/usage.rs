//! LLM calls per UTC day, feature and profile: how many, how many failed, their tokens
//! and cost. Every attempt is counted, a failed one too (its tokens, if the endpoint
//! answered, were spent); budgets are checked against the month's totals.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use copilot_core::{Error, model::LlmFeature};
use copilot_entities::llm_call;
use copilot_store::{Scoped, TenantTx, db_err};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, Statement};

/// One attempt to be counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    pub feature: LlmFeature,
    pub profile: &'a str,
    pub answered: bool,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// Millionths of the profile's currency; none when the profile has no prices.
    pub cost_micros: Option<i64>,
}

/// Counts of calls and what they used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub calls: i64,
    pub failed_calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_micros: i64,
}

impl Totals {
    pub fn tokens(&self) -> i64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// The cost in the profiles' currency.
    pub fn cost(&self) -> f64 {
        self.cost_micros as f64 / 1e6
    }

    fn add(&mut self, row: &llm_call::Model) {
        self.calls += row.calls;
        self.failed_calls += row.failed_calls;
        self.prompt_tokens += row.prompt_tokens;
        self.completion_tokens += row.completion_tokens;
        self.cost_micros += row.cost_micros;
    }
}

/// A tenant's monthly limits; none means no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Budget {
    pub tokens: Option<i64>,
    /// In the currency of the profiles' prices.
    pub cost: Option<f64>,
}

impl Budget {
    /// Whether the month's calls reached either limit.
    pub fn exhausted_by(&self, spent: &Totals) -> bool {
        self.tokens.is_some_and(|budget| spent.tokens() >= budget)
            || self.cost.is_some_and(|budget| spent.cost() >= budget)
    }
}

/// The UTC day of a time, as `YYYY-MM-DD`.
pub fn day_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Adds one attempt to today's line of its feature and profile (one upsert, safe under
/// concurrency).
pub async fn record(tx: &TenantTx, call: Call<'_>) -> Result<(), Error> {
    let now = copilot_core::now();
    let statement = Statement::from_sql_and_values(
        tx.get_database_backend(),
        "INSERT INTO llm_calls (tenant_id, day, feature, profile, calls, failed_calls, prompt_tokens,
                                completion_tokens, cost_micros, updated_at)
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id, day, feature, profile) DO UPDATE SET
             calls = llm_calls.calls + 1,
             failed_calls = llm_calls.failed_calls + excluded.failed_calls,
             prompt_tokens = llm_calls.prompt_tokens + excluded.prompt_tokens,
             completion_tokens = llm_calls.completion_tokens + excluded.completion_tokens,
             cost_micros = llm_calls.cost_micros + excluded.cost_micros,
             updated_at = excluded.updated_at",
        [
            tx.tenant().0.into(),
            day_of(now).into(),
            call.feature.as_str().into(),
            call.profile.into(),
            i64::from(!call.answered).into(),
            i64::from(call.prompt_tokens).into(),
            i64::from(call.completion_tokens).into(),
            call.cost_micros.unwrap_or(0).into(),
            now.into(),
        ],
    );
    tx.execute_raw(statement).await.map_err(db_err)?;
    Ok(())
}

async fn month_rows(tx: &TenantTx, month: &str) -> Result<Vec<llm_call::Model>, Error> {
    llm_call::Entity::scoped(tx.tenant())
        .filter(llm_call::Column::Day.starts_with(format!("{month}-")))
        .all(&**tx)
        .await
        .map_err(db_err)
}

/// The month's (`YYYY-MM`) totals over every feature and profile.
pub async fn month(tx: &TenantTx, month: &str) -> Result<Totals, Error> {
    let mut totals = Totals::default();
    for row in month_rows(tx, month).await? {
        totals.add(&row);
    }
    Ok(totals)
}

/// How a month's usage is broken down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Feature,
    Profile,
    Day,
}

/// A month's totals per feature, profile or day, in the order of their keys.
pub async fn breakdown(tx: &TenantTx, month: &str, group_by: GroupBy) -> Result<Vec<(String, Totals)>, Error> {
    let mut lines: BTreeMap<String, Totals> = BTreeMap::new();
    for row in month_rows(tx, month).await? {
        let key = match group_by {
            GroupBy::Feature => row.feature.clone(),
            GroupBy::Profile => row.profile.clone(),
            GroupBy::Day => row.day.clone(),
        };
        lines.entry(key).or_default().add(&row);
    }
    Ok(lines.into_iter().collect())
}
