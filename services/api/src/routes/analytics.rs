//! How the desk and the copilot are doing for the tenant: ticket volume, draft acceptance
//! and edits, and LLM usage.

use chrono::{DateTime, Duration, Utc};
use copilot_analytics as analytics;
use copilot_conversations::analytics::{self as ticket_analytics, Count};
use copilot_core::period::Period;
use copilot_drafts::{
    analytics::{self as draft_analytics, Rates},
    settings as draft_settings,
};
use copilot_llm::usage;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::Tag;
use crate::{AppState, auth::TenantAuth, error::ApiResult, json_body::JsonBody};

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
pub(super) fn report_range(
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

/// A filter of a typed query: `{field, op, value}`.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct QueryFilter {
    /// A field of the dataset (`GET /v1/analytics/catalogue`).
    pub field: String,
    /// eq, ne, in, not_in, gt, gte, lt, lte, between, contains, is_null (as the field allows).
    pub op: String,
    /// The value, of the field's type: a string, a number, a list for `in`/`not_in`,
    /// `[low, high]` for `between`, true or false for `is_null`.
    pub value: Option<serde_json::Value>,
}

/// A measure: `{fn: "count"}`, `{fn: "avg", field}`, `{fn: "rate", condition}`.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct QueryMeasure {
    /// count, count_distinct, avg, sum, min, max, p50, p90 or rate.
    #[oai(rename = "fn")]
    pub function: String,
    pub field: Option<String>,
    /// For `rate`: the share of rows that pass this filter.
    pub condition: Option<QueryFilter>,
}

/// A group: a field, or a time field cut into `hour`, `day`, `week` or `month` buckets.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct QueryGroup {
    pub field: String,
    pub bucket: Option<String>,
}

#[derive(Debug, Object)]
pub struct QueryOrder {
    /// A result column: a group's name (`channel`, `created_at_week`) or a measure's
    /// (`count`, `avg(first_reply_seconds)`).
    pub column: String,
    #[oai(default)]
    pub descending: bool,
}

/// A typed query over one dataset of the tenant's desk.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TypedQuery {
    /// tickets, messages, drafts or deliveries.
    pub dataset: String,
    /// 1 to 8 measures.
    pub measures: Vec<QueryMeasure>,
    /// Up to 20 filters, all of which a row must pass.
    #[oai(default)]
    pub filters: Vec<QueryFilter>,
    /// Up to 3 groups.
    #[oai(default)]
    pub group_by: Vec<QueryGroup>,
    #[oai(default)]
    pub order_by: Vec<QueryOrder>,
    /// 1 to 1,000 rows; 100 when absent.
    pub limit: Option<i64>,
    /// An IANA time zone for dates and buckets; UTC when absent.
    pub time_zone: Option<String>,
}

fn filter_in(f: QueryFilter) -> analytics::query::FilterIn {
    analytics::query::FilterIn { field: f.field, op: f.op, value: f.value.unwrap_or_default() }
}

fn filter_out(f: analytics::query::FilterIn) -> QueryFilter {
    QueryFilter { field: f.field, op: f.op, value: Some(f.value) }
}

impl From<analytics::Query> for TypedQuery {
    fn from(q: analytics::Query) -> Self {
        Self {
            dataset: q.dataset,
            measures: q
                .measures
                .into_iter()
                .map(|m| QueryMeasure { function: m.function, field: m.field, condition: m.condition.map(filter_out) })
                .collect(),
            filters: q.filters.into_iter().map(filter_out).collect(),
            group_by: q.group_by.into_iter().map(|g| QueryGroup { field: g.field, bucket: g.bucket }).collect(),
            order_by: q
                .order_by
                .into_iter()
                .map(|o| QueryOrder { column: o.column, descending: o.descending })
                .collect(),
            limit: q.limit,
            time_zone: q.time_zone,
        }
    }
}

impl From<TypedQuery> for analytics::Query {
    fn from(q: TypedQuery) -> Self {
        Self {
            dataset: q.dataset,
            measures: q
                .measures
                .into_iter()
                .map(|m| analytics::query::MeasureIn {
                    function: m.function,
                    field: m.field,
                    condition: m.condition.map(filter_in),
                })
                .collect(),
            filters: q.filters.into_iter().map(filter_in).collect(),
            group_by: q
                .group_by
                .into_iter()
                .map(|g| analytics::query::GroupIn { field: g.field, bucket: g.bucket })
                .collect(),
            order_by: q
                .order_by
                .into_iter()
                .map(|o| analytics::query::OrderIn { column: o.column, descending: o.descending })
                .collect(),
            limit: q.limit,
            time_zone: q.time_zone,
        }
    }
}

#[derive(Debug, Object)]
pub struct ResultColumnOut {
    pub name: String,
    /// time, text, number or integer.
    #[oai(rename = "type")]
    pub kind: String,
}

/// A query's answer: its columns, and one row per group (one row without groups).
#[derive(Debug, Object)]
pub struct AnalyticsResultOut {
    pub columns: Vec<ResultColumnOut>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub row_count: u64,
    /// More groups matched than `limit`.
    pub truncated: bool,
    pub query_ms: u64,
    /// How to draw it, from the query's shape.
    pub chart: ChartOut,
}

#[derive(Debug, Object)]
pub struct CatalogueFieldOut {
    pub name: String,
    /// time, number, choice, text, id or tags.
    #[oai(rename = "type")]
    pub kind: String,
    pub description: String,
    /// For a choice: its names.
    #[oai(skip_serializing_if_is_none)]
    pub values: Option<Vec<String>>,
    pub operators: Vec<String>,
    /// The measures that take this field (`count` and `rate` take none).
    pub measures: Vec<String>,
    /// Whether it can be a group (numbers are measured, not grouped).
    pub groupable: bool,
}

#[derive(Debug, Object)]
pub struct CatalogueDatasetOut {
    pub name: String,
    pub description: String,
    pub fields: Vec<CatalogueFieldOut>,
}

#[derive(Debug, Object)]
pub struct CatalogueOut {
    pub datasets: Vec<CatalogueDatasetOut>,
    pub measures: Vec<String>,
    pub buckets: Vec<String>,
    pub max_limit: u64,
    pub max_values: u64,
    pub max_measures: u64,
    pub max_filters: u64,
    pub max_groups: u64,
}

/// A question about the tenant's desk, in words.
#[derive(Debug, Object)]
pub struct AskIn {
    /// In any language; at most 1,000 characters.
    pub question: String,
    /// The IANA time zone "today" and "last week" are meant in; UTC when absent.
    pub time_zone: Option<String>,
}

/// How to draw an answer.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChartOut {
    /// line, bar, stacked_bar, table or number.
    #[oai(rename = "type")]
    pub kind: String,
    /// The group column along the x axis.
    pub x: Option<String>,
    /// The measure columns drawn.
    pub y: Vec<String>,
    /// The group column that splits lines or bars into series.
    pub series: Option<String>,
}

impl From<analytics::answer::Chart> for ChartOut {
    fn from(chart: analytics::answer::Chart) -> Self {
        Self { kind: chart.kind.name().into(), x: chart.x, y: chart.y, series: chart.series }
    }
}

/// A question answered from a typed query over the tenant's own rows.
#[derive(Debug, Object)]
pub struct AskOut {
    pub question: String,
    /// The query as run: relative dates resolved to times in the asker's time zone.
    pub query: TypedQuery,
    /// The query as the LLM wrote it, relative dates kept (what a saved card keeps).
    pub planned: TypedQuery,
    pub columns: Vec<ResultColumnOut>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub row_count: u64,
    pub truncated: bool,
    pub chart: ChartOut,
    /// One or two sentences from the rows.
    pub answer: String,
    /// `model` (every number it states is in the rows) or `template` (the model's sentence
    /// stated a number the rows do not hold, or no sentence came).
    pub answer_source: String,
    /// The model that planned the query.
    pub model: String,
    pub llm_profile: String,
}

/// A question to pin to the analytics page.
#[derive(Debug, Object)]
pub struct CardIn {
    /// One line, at most 120 characters.
    pub title: String,
    /// The question it was asked as, when it was.
    pub question: Option<String>,
    /// The query it runs; relative dates (`last_week`) are kept and resolved at each run.
    pub query: TypedQuery,
}

/// A question pinned to the analytics page.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CardOut {
    pub id: Uuid,
    pub title: String,
    pub question: Option<String>,
    pub query: TypedQuery,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<analytics::cards::Card> for CardOut {
    fn from(card: analytics::cards::Card) -> Self {
        Self {
            id: card.id,
            title: card.title,
            question: card.question,
            query: card.query.into(),
            created_by: card.created_by,
            created_at: card.created_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct CardsOut {
    /// Oldest first.
    pub cards: Vec<CardOut>,
}

#[derive(ApiResponse)]
pub enum CardCreated {
    #[oai(status = 201)]
    Created(Json<CardOut>),
}

#[derive(ApiResponse)]
pub enum CardDeleted {
    #[oai(status = 204)]
    NoContent,
}

fn columns_out(columns: Vec<analytics::Column>) -> Vec<ResultColumnOut> {
    columns.into_iter().map(|c| ResultColumnOut { name: c.name, kind: c.kind.into() }).collect()
}

#[OpenApi(tag = "Tag::Analytics")]
impl AnalyticsApi {
    /// Runs a typed query over one dataset of the tenant's desk (the fields, their types
    /// and operators: `GET /v1/analytics/catalogue`). Anything outside the catalogue is
    /// `422 query_invalid` naming the part (`filters[1].op`); values reach the database
    /// only as bound parameters; only the tenant's rows are read.
    #[oai(path = "/analytics/query", method = "post", operation_id = "analytics.query")]
    async fn query(&self, auth: TenantAuth, body: JsonBody<TypedQuery>) -> ApiResult<Json<AnalyticsResultOut>> {
        let started = std::time::Instant::now();
        let query = analytics::relative::resolve(&body.0.into(), copilot_core::now())?;
        let tx =
            self.state.pipeline.db.tenant_read_only(auth.0.principal.tenant_id, analytics::STATEMENT_TIMEOUT).await?;
        let custom: Vec<_> = analytics::custom_fields(&tx).await?.into_iter().map(|(field, _)| field).collect();
        let plan = query.plan_with(&custom)?;
        let answer = analytics::run(&tx, &plan).await?;
        Ok(Json(AnalyticsResultOut {
            columns: columns_out(answer.columns),
            rows: answer.rows,
            row_count: answer.row_count as u64,
            truncated: answer.truncated,
            query_ms: started.elapsed().as_millis() as u64,
            chart: analytics::answer::chart(&plan).into(),
        }))
    }

    /// Answers a question in words: the `ask` route's LLM writes a typed query from the
    /// question, the catalogue and today's date (never a ticket's text); it is checked
    /// (one repair with the reason), run read-only over the tenant's rows, charted and
    /// stated in a sentence whose numbers are checked against the rows. `422
    /// question_refused` for what the catalogue does not hold (other tenants, secrets,
    /// changes), `422 question_not_understood` when no valid query came; without an LLM
    /// `409 llm_not_configured` (`POST /v1/analytics/query` needs none).
    #[oai(path = "/ask", method = "post", operation_id = "analytics.ask")]
    async fn ask(&self, auth: TenantAuth, body: JsonBody<AskIn>) -> ApiResult<Json<AskOut>> {
        use copilot_pipeline::ask::{AskRequest, Stated, ask};
        let AskIn { question, time_zone } = body.0;
        let request = AskRequest { question: question.clone(), time_zone };
        let asked = ask(&self.state.pipeline, &auth.0.principal, request).await?;
        Ok(Json(AskOut {
            question,
            query: asked.query.into(),
            planned: asked.planned.into(),
            columns: columns_out(asked.answer.columns),
            rows: asked.answer.rows,
            row_count: asked.answer.row_count as u64,
            truncated: asked.answer.truncated,
            chart: asked.chart.into(),
            answer: asked.sentence,
            answer_source: match asked.stated {
                Stated::Model => "model",
                Stated::Template => "template",
            }
            .into(),
            model: asked.model,
            llm_profile: asked.llm_profile,
        }))
    }

    /// The questions pinned to the analytics page, oldest first; the console runs each
    /// card's query (`POST /v1/analytics/query`) when the page loads.
    #[oai(path = "/analytics/cards", method = "get", operation_id = "analytics.cards.list")]
    async fn cards(&self, auth: TenantAuth) -> ApiResult<Json<CardsOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let cards = analytics::cards::list(&tx).await?;
        Ok(Json(CardsOut { cards: cards.into_iter().map(CardOut::from).collect() }))
    }

    /// Pins a question: its query must be one the catalogue takes (`422 query_invalid`);
    /// at most 50 cards a tenant (`409 too_many_cards`).
    #[oai(path = "/analytics/cards", method = "post", operation_id = "analytics.cards.create")]
    async fn create_card(&self, auth: TenantAuth, body: JsonBody<CardIn>) -> ApiResult<CardCreated> {
        let principal = auth.0.principal;
        let CardIn { title, question, query } = body.0;
        let new = analytics::cards::NewCard { title, question, query: query.into() };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let card = analytics::cards::create(&tx, &principal, new).await?;
        tx.commit().await?;
        Ok(CardCreated::Created(Json(card.into())))
    }

    /// Removes a card (its author or an admin).
    #[oai(path = "/analytics/cards/:id", method = "delete", operation_id = "analytics.cards.delete")]
    async fn delete_card(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<CardDeleted> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        analytics::cards::delete(&tx, &principal, id.0).await?;
        tx.commit().await?;
        Ok(CardDeleted::NoContent)
    }

    /// What a typed query may read: each dataset's fields with their types, operators and
    /// measures, and the limits.
    #[oai(path = "/analytics/catalogue", method = "get", operation_id = "analytics.catalogue")]
    async fn catalogue(&self, auth: TenantAuth) -> ApiResult<Json<CatalogueOut>> {
        use analytics::{
            catalogue::{Bucket, Function, Kind},
            query,
        };
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let custom = analytics::custom_fields(&tx).await?;
        let names = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Ok(Json(CatalogueOut {
            datasets: analytics::Dataset::ALL
                .iter()
                .map(|dataset| CatalogueDatasetOut {
                    name: dataset.name().into(),
                    description: dataset.description().into(),
                    fields: dataset
                        .fields()
                        .iter()
                        .map(|f| (f, None))
                        .chain(
                            custom
                                .iter()
                                .filter(|_| *dataset == analytics::Dataset::Tickets)
                                .map(|(f, label)| (*f, Some(label.as_str()))),
                        )
                        .map(|(f, label)| CatalogueFieldOut {
                            name: f.name.into(),
                            kind: f.kind.name().into(),
                            description: match label {
                                Some(label) => format!("\"{label}\": {}", f.description),
                                None => f.description.into(),
                            },
                            values: match f.kind {
                                Kind::Choice(values) => Some(names(values)),
                                _ => None,
                            },
                            operators: f.kind.operators().iter().map(|o| o.name().to_owned()).collect(),
                            measures: f.kind.measures().iter().map(|m| m.name().to_owned()).collect(),
                            groupable: f.kind != Kind::Number,
                        })
                        .collect(),
                })
                .collect(),
            measures: Function::ALL.iter().map(|f| f.name().to_owned()).collect(),
            buckets: Bucket::ALL.iter().map(|b| b.name().to_owned()).collect(),
            max_limit: query::MAX_LIMIT as u64,
            max_values: query::MAX_VALUES as u64,
            max_measures: query::MAX_MEASURES as u64,
            max_filters: query::MAX_FILTERS as u64,
            max_groups: query::MAX_GROUPS as u64,
        }))
    }

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
