//! How the desk and the copilot are doing for the tenant: ticket volume, draft acceptance
//! and edits, and LLM usage.

use chrono::{DateTime, Duration, Utc};
use copilot_conversations::analytics::{self as ticket_analytics, Count};
use copilot_core::period::Period;
use copilot_drafts::{
    analytics::{self as draft_analytics, Rates},
    settings as draft_settings,
};
use copilot_llm::usage;
use poem_openapi::{Enum, Object, OpenApi, param::Query, payload::Json};

use super::Tag;
use crate::{AppState, auth::TenantAuth, error::ApiResult};

pub struct AnalyticsApi {
    pub state: AppState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum PeriodIn {
    Day,
    Week,
    Month,
}

impl From<PeriodIn> for Period {
    fn from(period: PeriodIn) -> Self {
        match period {
            PeriodIn::Day => Self::Day,
            PeriodIn::Week => Self::Week,
            PeriodIn::Month => Self::Month,
        }
    }
}

impl From<Period> for PeriodIn {
    fn from(period: Period) -> Self {
        match period {
            Period::Day => Self::Day,
            Period::Week => Self::Week,
            Period::Month => Self::Month,
        }
    }
}

/// `[from, to)` and the period of a report: the last 30 days by day when absent.
fn report_range(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    period: Option<PeriodIn>,
) -> (DateTime<Utc>, DateTime<Utc>, Period) {
    let to = to.unwrap_or_else(copilot_core::now);
    (from.unwrap_or(to - Duration::days(30)), to, period.unwrap_or(PeriodIn::Day).into())
}

#[derive(Debug, Object)]
pub struct CountOut {
    /// The intent, sentiment, channel, status or language (`unknown` when not triaged).
    pub key: String,
    pub count: i64,
}

impl From<Count> for CountOut {
    fn from(count: Count) -> Self {
        Self { key: count.key, count: count.count }
    }
}

fn counts(counts: Vec<Count>) -> Vec<CountOut> {
    counts.into_iter().map(CountOut::from).collect()
}

#[derive(Debug, Object)]
pub struct PeriodVolumeOut {
    /// Start of the day, week (Monday) or month, UTC.
    pub start: DateTime<Utc>,
    pub tickets: i64,
    /// Every sentiment of the range, zeros included, in the order of the report's `by_sentiment`.
    pub by_sentiment: Vec<CountOut>,
}

#[derive(Debug, Object)]
pub struct TicketAnalyticsOut {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub period: PeriodIn,
    /// Tickets opened in the range.
    pub tickets: i64,
    /// Every period of the range, empty ones included, oldest first.
    pub by_period: Vec<PeriodVolumeOut>,
    /// Largest first. Intent, sentiment and language are the latest triage of the customer's messages.
    pub by_intent: Vec<CountOut>,
    pub by_sentiment: Vec<CountOut>,
    pub by_channel: Vec<CountOut>,
    /// Status now.
    pub by_status: Vec<CountOut>,
    pub by_language: Vec<CountOut>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RatesOut {
    /// Drafts created in the group.
    pub drafts: i64,
    pub approved: i64,
    pub rejected: i64,
    pub superseded: i64,
    pub failed: i64,
    /// Approved among approved and rejected (absent before any decision).
    pub acceptance_rate: Option<f64>,
    /// Of approved drafts: sent unchanged, lightly edited (at most a fifth of the characters), heavily edited.
    pub unchanged_rate: Option<f64>,
    pub light_edit_rate: Option<f64>,
    pub heavy_edit_rate: Option<f64>,
}

impl From<Rates> for RatesOut {
    fn from(rates: Rates) -> Self {
        Self {
            drafts: rates.drafts,
            approved: rates.approved,
            rejected: rates.rejected,
            superseded: rates.superseded,
            failed: rates.failed,
            acceptance_rate: rates.acceptance_rate,
            unchanged_rate: rates.unchanged_rate,
            light_edit_rate: rates.light_edit_rate,
            heavy_edit_rate: rates.heavy_edit_rate,
        }
    }
}

#[derive(Debug, Object)]
pub struct IntentRatesOut {
    /// `unknown` when the message was not triaged.
    pub intent: String,
    pub rates: RatesOut,
}

#[derive(Debug, Object)]
pub struct PeriodRatesOut {
    /// Start of the day, week (Monday) or month, UTC.
    pub start: DateTime<Utc>,
    pub rates: RatesOut,
}

#[derive(Debug, Object)]
pub struct ReasonCountOut {
    /// Lower-cased.
    pub reason: String,
    pub count: i64,
}

#[derive(Debug, Object)]
pub struct DraftAnalyticsOut {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub period: PeriodIn,
    pub totals: RatesOut,
    pub by_intent: Vec<IntentRatesOut>,
    pub by_period: Vec<PeriodRatesOut>,
    /// Most frequent first.
    pub rejection_reasons: Vec<ReasonCountOut>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UsageOut {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    /// Drafts written by the LLM and without it this month.
    pub llm_drafts: i32,
    pub extractive_drafts: i32,
    /// LLM calls this month, every feature and profile, failed attempts included.
    pub calls: i64,
    pub failed_calls: i64,
    /// What the calls cost, in the currency of the profiles' prices (calls of unpriced
    /// profiles count nothing).
    pub cost: f64,
    /// Absent: no limit.
    pub monthly_token_budget: Option<i64>,
    pub remaining_tokens: Option<i64>,
    /// Absent: no limit.
    pub monthly_cost_budget: Option<f64>,
    pub remaining_cost: Option<f64>,
    /// Over either budget, no LLM is called (drafts are extractive) until the month ends
    /// or the budget is raised.
    pub budget_exhausted: bool,
    /// With `group_by`: the month's calls per feature, profile or day.
    pub groups: Option<Vec<UsageGroupOut>>,
}

/// One feature's, profile's or day's LLM calls in the month.
#[derive(Debug, Object)]
pub struct UsageGroupOut {
    /// The feature (`draft`, `summary`, …), the profile's name or the day (`YYYY-MM-DD`).
    pub key: String,
    pub calls: i64,
    pub failed_calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub cost: f64,
}

/// How `GET /v1/usage` breaks the month down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum UsageGroupBy {
    Feature,
    Profile,
    Day,
}

impl From<UsageGroupBy> for usage::GroupBy {
    fn from(group_by: UsageGroupBy) -> Self {
        match group_by {
            UsageGroupBy::Feature => Self::Feature,
            UsageGroupBy::Profile => Self::Profile,
            UsageGroupBy::Day => Self::Day,
        }
    }
}

#[OpenApi(tag = "Tag::Analytics")]
impl AnalyticsApi {
    /// Draft acceptance, edits and rejection reasons for drafts created in `[from, to)`,
    /// in total, by intent and by period (at most 366 days; the last 30 days when absent).
    #[oai(path = "/analytics/drafts", method = "get", operation_id = "analytics.drafts")]
    async fn drafts(
        &self,
        auth: TenantAuth,
        /// RFC 3339; 30 days before `to` when absent.
        from: Query<Option<DateTime<Utc>>>,
        /// RFC 3339; now when absent.
        to: Query<Option<DateTime<Utc>>>,
        /// `day` when absent.
        period: Query<Option<PeriodIn>>,
    ) -> ApiResult<Json<DraftAnalyticsOut>> {
        let (from, to, period) = report_range(from.0, to.0, period.0);
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let analytics = draft_analytics::drafts(&tx, from, to, period).await?;
        Ok(Json(DraftAnalyticsOut {
            from: analytics.from,
            to: analytics.to,
            period: analytics.period.into(),
            totals: analytics.totals.into(),
            by_intent: analytics
                .by_intent
                .into_iter()
                .map(|group| IntentRatesOut { intent: group.intent, rates: group.rates.into() })
                .collect(),
            by_period: analytics
                .by_period
                .into_iter()
                .map(|group| PeriodRatesOut { start: group.start, rates: group.rates.into() })
                .collect(),
            rejection_reasons: analytics
                .rejection_reasons
                .into_iter()
                .map(|reason| ReasonCountOut { reason: reason.reason, count: reason.count })
                .collect(),
        }))
    }

    /// Tickets opened in `[from, to)`: how many per period (split by sentiment), and by
    /// intent, sentiment, channel, status and language (at most 366 days; the last 30 days
    /// when absent).
    #[oai(path = "/analytics/tickets", method = "get", operation_id = "analytics.tickets")]
    async fn tickets(
        &self,
        auth: TenantAuth,
        /// RFC 3339; 30 days before `to` when absent.
        from: Query<Option<DateTime<Utc>>>,
        /// RFC 3339; now when absent.
        to: Query<Option<DateTime<Utc>>>,
        /// `day` when absent.
        period: Query<Option<PeriodIn>>,
    ) -> ApiResult<Json<TicketAnalyticsOut>> {
        let (from, to, period) = report_range(from.0, to.0, period.0);
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let report = ticket_analytics::tickets(&tx, from, to, period).await?;
        Ok(Json(TicketAnalyticsOut {
            from: report.from,
            to: report.to,
            period: report.period.into(),
            tickets: report.tickets,
            by_period: report
                .by_period
                .into_iter()
                .map(|p| PeriodVolumeOut { start: p.start, tickets: p.tickets, by_sentiment: counts(p.by_sentiment) })
                .collect(),
            by_intent: counts(report.by_intent),
            by_sentiment: counts(report.by_sentiment),
            by_channel: counts(report.by_channel),
            by_status: counts(report.by_status),
            by_language: counts(report.by_language),
        }))
    }

    /// LLM usage of a calendar month (UTC): calls, tokens and cost of every feature, drafts
    /// by how they were written, against the monthly budgets; with `group_by`, per
    /// feature, profile or day.
    #[oai(path = "/usage", method = "get", operation_id = "usage.get")]
    async fn usage(
        &self,
        auth: TenantAuth,
        /// `YYYY-MM`; the current month when absent.
        month: Query<Option<String>>,
        group_by: Query<Option<UsageGroupBy>>,
    ) -> ApiResult<Json<UsageOut>> {
        let month = match month.0 {
            Some(month) => draft_settings::parse_month(&month)?,
            None => draft_settings::month_of(copilot_core::now()),
        };
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let drafts = draft_settings::draft_counts(&tx, &month).await?;
        let spent = usage::month(&tx, &month).await?;
        let settings = draft_settings::get(&tx).await?;
        let groups = match group_by.0 {
            Some(group_by) => Some(usage::breakdown(&tx, &month, group_by.into()).await?),
            None => None,
        };
        let (tokens, cost) = (spent.tokens(), spent.cost());
        let (token_budget, cost_budget) = (settings.monthly_token_budget, settings.monthly_cost_budget);
        Ok(Json(UsageOut {
            month,
            prompt_tokens: spent.prompt_tokens,
            completion_tokens: spent.completion_tokens,
            total_tokens: tokens,
            llm_drafts: drafts.llm_drafts,
            extractive_drafts: drafts.extractive_drafts,
            calls: spent.calls,
            failed_calls: spent.failed_calls,
            cost,
            monthly_token_budget: token_budget,
            remaining_tokens: token_budget.map(|budget| (budget - tokens).max(0)),
            monthly_cost_budget: cost_budget,
            remaining_cost: cost_budget.map(|budget| (budget - cost).max(0.0)),
            budget_exhausted: usage::Budget { tokens: token_budget, cost: cost_budget }.exhausted_by(&spent),
            groups: groups.map(|groups| {
                groups
                    .into_iter()
                    .map(|(key, totals)| UsageGroupOut {
                        key,
                        calls: totals.calls,
                        failed_calls: totals.failed_calls,
                        prompt_tokens: totals.prompt_tokens,
                        completion_tokens: totals.completion_tokens,
                        total_tokens: totals.tokens(),
                        cost: totals.cost(),
                    })
                    .collect()
            }),
        }))
    }
}
