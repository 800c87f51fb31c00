//! Ticket volume over time and how it splits by intent, sentiment, channel and status,
//! for tickets opened in a time range. Intent and sentiment are the latest triage of
//! the customer's messages.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use copilot_core::{
    Error,
    period::{Period, check_range},
};
use copilot_entities::ticket;
use copilot_store::{Scoped, TenantTx, db_err};
use futures::TryStreamExt;
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};

/// The label of tickets not (yet) triaged.
pub const UNKNOWN: &str = "unknown";

/// How many tickets carry one value of a dimension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

/// Tickets opened in one period, in total and by sentiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodVolume {
    pub start: DateTime<Utc>,
    pub tickets: i64,
    /// Every sentiment seen in the range, zeros included, in the order of `by_sentiment`.
    pub by_sentiment: Vec<Count>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketAnalytics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub period: Period,
    pub tickets: i64,
    /// Periods without tickets included, oldest first.
    pub by_period: Vec<PeriodVolume>,
    /// Largest first, then by name.
    pub by_intent: Vec<Count>,
    pub by_sentiment: Vec<Count>,
    pub by_channel: Vec<Count>,
    pub by_status: Vec<Count>,
    pub by_language: Vec<Count>,
}

type Row = (DateTime<Utc>, Option<String>, Option<String>, String, String, Option<String>);

/// The analytics of tickets opened in `[from, to)`. The rows are streamed and tallied, so
/// memory grows with the number of distinct values, not with the number of tickets.
pub async fn tickets(
    tx: &TenantTx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    period: Period,
) -> Result<TicketAnalytics, Error> {
    check_range(from, to)?;
    let mut rows = ticket::Entity::scoped(tx.tenant())
        .select_only()
        .columns([
            ticket::Column::CreatedAt,
            ticket::Column::Intent,
            ticket::Column::Sentiment,
            ticket::Column::Channel,
            ticket::Column::Status,
            ticket::Column::Language,
        ])
        .filter(ticket::Column::CreatedAt.gte(from))
        .filter(ticket::Column::CreatedAt.lt(to))
        .into_tuple::<Row>()
        .stream(&**tx)
        .await
        .map_err(db_err)?;
    let mut tally = Tally::new(period);
    while let Some(row) = rows.try_next().await.map_err(db_err)? {
        tally.add(row);
    }
    Ok(tally.finish(from, to))
}

/// Counts per value of each dimension, and per period and sentiment.
struct Tally {
    period: Period,
    tickets: i64,
    by_intent: BTreeMap<String, i64>,
    by_sentiment: BTreeMap<String, i64>,
    by_channel: BTreeMap<String, i64>,
    by_status: BTreeMap<String, i64>,
    by_language: BTreeMap<String, i64>,
    periods: BTreeMap<DateTime<Utc>, BTreeMap<String, i64>>,
}

impl Tally {
    fn new(period: Period) -> Self {
        Self {
            period,
            tickets: 0,
            by_intent: BTreeMap::new(),
            by_sentiment: BTreeMap::new(),
            by_channel: BTreeMap::new(),
            by_status: BTreeMap::new(),
            by_language: BTreeMap::new(),
            periods: BTreeMap::new(),
        }
    }

    fn add(&mut self, (created_at, intent, sentiment, channel, status, language): Row) {
        let label = |value: Option<String>| value.unwrap_or_else(|| UNKNOWN.into());
        let sentiment = label(sentiment);
        self.tickets += 1;
        *self.by_intent.entry(label(intent)).or_default() += 1;
        *self.by_channel.entry(channel).or_default() += 1;
        *self.by_status.entry(status).or_default() += 1;
        *self.by_language.entry(label(language)).or_default() += 1;
        *self.periods.entry(self.period.start(created_at)).or_default().entry(sentiment.clone()).or_default() += 1;
        *self.by_sentiment.entry(sentiment).or_default() += 1;
    }

    fn finish(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> TicketAnalytics {
        let by_sentiment = ranked(self.by_sentiment);
        let mut start = self.period.start(from);
        let mut by_period = Vec::new();
        while start < to {
            let counts = self.periods.remove(&start).unwrap_or_default();
            by_period.push(PeriodVolume {
                start,
                tickets: counts.values().sum(),
                by_sentiment: by_sentiment
                    .iter()
                    .map(|c| Count { key: c.key.clone(), count: counts.get(&c.key).copied().unwrap_or(0) })
                    .collect(),
            });
            start = self.period.next(start);
        }
        TicketAnalytics {
            from,
            to,
            period: self.period,
            tickets: self.tickets,
            by_period,
            by_intent: ranked(self.by_intent),
            by_sentiment,
            by_channel: ranked(self.by_channel),
            by_status: ranked(self.by_status),
            by_language: ranked(self.by_language),
        }
    }
}

/// Counts largest first, ties by name.
fn ranked(counts: BTreeMap<String, i64>) -> Vec<Count> {
    let mut counts: Vec<Count> = counts.into_iter().map(|(key, count)| Count { key, count }).collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn summarize(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        period: Period,
        rows: impl IntoIterator<Item = Row>,
    ) -> TicketAnalytics {
        let mut tally = Tally::new(period);
        rows.into_iter().for_each(|row| tally.add(row));
        tally.finish(from, to)
    }

    fn row(created: &str, intent: Option<&str>, sentiment: Option<&str>) -> Row {
        (at(created), intent.map(Into::into), sentiment.map(Into::into), "email".into(), "open".into(), None)
    }

    #[test]
    fn every_period_of_the_range_is_listed_and_counts_split_by_sentiment() {
        let rows = [
            row("2026-11-02T10:00:00Z", Some("refund"), Some("negative")),
            row("2026-11-02T11:00:00Z", Some("refund"), Some("neutral")),
            row("2026-11-04T09:00:00Z", Some("shipping"), Some("negative")),
            row("2026-11-04T09:30:00Z", None, None),
        ];
        let report = summarize(at("2026-11-01T12:00:00Z"), at("2026-11-05T00:00:00Z"), Period::Day, rows);
        assert_eq!(report.tickets, 4);
        let days: Vec<(String, i64)> =
            report.by_period.iter().map(|p| (p.start.format("%m-%d").to_string(), p.tickets)).collect();
        assert_eq!(days, [("11-01".into(), 0), ("11-02".into(), 2), ("11-03".into(), 0), ("11-04".into(), 2)]);
        let keys: Vec<&str> = report.by_sentiment.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["negative", "neutral", UNKNOWN]);
        let fourth: Vec<i64> = report.by_period[3].by_sentiment.iter().map(|c| c.count).collect();
        assert_eq!(fourth, [1, 0, 1]);
        assert_eq!(report.by_intent[0], Count { key: "refund".into(), count: 2 });
        assert_eq!(report.by_language, [Count { key: UNKNOWN.into(), count: 4 }]);
    }

    #[test]
    fn months_step_over_year_ends() {
        let report = summarize(at("2026-11-15T00:00:00Z"), at("2027-02-01T00:00:00Z"), Period::Month, []);
        let months: Vec<String> = report.by_period.iter().map(|p| p.start.format("%Y-%m").to_string()).collect();
        assert_eq!(months, ["2026-11", "2026-12", "2027-01"]);
    }
}
