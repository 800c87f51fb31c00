//! Satisfaction figures over surveys sent in a range: responses, response rate, the share
//! satisfied (4–5 or good: the CSAT score), the average of 1–5 ratings and their spread;
//! in total, by period, agent, intent, channel, and by whether the ticket's replies
//! included an approved AI draft.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use copilot_core::{
    Error,
    model::CsatScale,
    period::{Period, check_range},
};
use copilot_entities::csat_survey;
use copilot_store::TenantTx;
use serde::{Deserialize, Serialize};

use crate::surveys::{requested_in, satisfied};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Surveys sent.
    pub requested: i64,
    /// Surveys rated.
    pub responses: i64,
    pub response_rate: Option<f64>,
    pub satisfied: i64,
    /// Satisfied among responses (the CSAT score, 0 to 1).
    pub satisfaction: Option<f64>,
    /// The mean of 1–5 ratings (two-point answers are not in it).
    pub average: Option<f64>,
    /// 1–5 ratings: how many of each, 1 first.
    pub distribution: [i64; 5],
    /// Two-point answers.
    pub good: i64,
    pub bad: i64,
    #[serde(skip)]
    five_sum: i64,
}

impl Scores {
    fn add(&mut self, row: &csat_survey::Model) {
        self.requested += 1;
        let Some(rating) = row.rating else { return };
        self.responses += 1;
        if satisfied(row.scale, rating) {
            self.satisfied += 1;
        }
        match row.scale {
            CsatScale::Five => {
                if let Some(count) = usize::try_from(rating - 1).ok().and_then(|at| self.distribution.get_mut(at)) {
                    *count += 1;
                    self.five_sum += i64::from(rating);
                }
            }
            CsatScale::Two if rating == 2 => self.good += 1,
            CsatScale::Two => self.bad += 1,
        }
    }

    fn finish(mut self) -> Self {
        let share = |part: i64, whole: i64| (whole > 0).then(|| part as f64 / whole as f64);
        self.response_rate = share(self.responses, self.requested);
        self.satisfaction = share(self.satisfied, self.responses);
        self.average = share(self.five_sum, self.distribution.iter().sum());
        self
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub key: String,
    pub scores: Scores,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodScores {
    pub start: DateTime<Utc>,
    pub scores: Scores,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsatAnalytics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub period: Period,
    pub totals: Scores,
    /// Every period of the range, empty ones included, oldest first.
    pub by_period: Vec<PeriodScores>,
    /// The agent's id, `unassigned` for tickets nobody replied to or owned.
    pub by_agent: Vec<Group>,
    /// `unknown` for tickets never triaged.
    pub by_intent: Vec<Group>,
    pub by_channel: Vec<Group>,
    /// `ai_drafted` (at least one reply was an approved AI draft) and `typed`.
    pub by_reply: Vec<Group>,
}

fn groups(groups: BTreeMap<String, Scores>) -> Vec<Group> {
    let mut groups: Vec<Group> =
        groups.into_iter().map(|(key, scores)| Group { key, scores: scores.finish() }).collect();
    groups.sort_by(|a, b| b.scores.requested.cmp(&a.scores.requested).then_with(|| a.key.cmp(&b.key)));
    groups
}

/// The figures of surveys sent in `[from, to)`.
pub async fn csat(
    tx: &TenantTx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    period: Period,
) -> Result<CsatAnalytics, Error> {
    check_range(from, to)?;
    let rows = requested_in(tx, from, to).await?;
    let mut totals = Scores::default();
    let mut by_period: BTreeMap<DateTime<Utc>, Scores> = BTreeMap::new();
    let mut start = period.start(from);
    while start < to {
        by_period.insert(start, Scores::default());
        start = period.next(start);
    }
    let (mut by_agent, mut by_intent, mut by_channel, mut by_reply) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for row in &rows {
        let Some(requested_at) = row.requested_at else { continue };
        totals.add(row);
        by_period.entry(period.start(requested_at)).or_default().add(row);
        let agent = row.agent_id.map_or_else(|| "unassigned".to_owned(), |id| id.to_string());
        by_agent.entry(agent).or_insert_with(Scores::default).add(row);
        by_intent
            .entry(row.intent.clone().unwrap_or_else(|| "unknown".into()))
            .or_insert_with(Scores::default)
            .add(row);
        by_channel.entry(row.channel.as_str().to_owned()).or_insert_with(Scores::default).add(row);
        let reply = if row.ai_drafted { "ai_drafted" } else { "typed" };
        by_reply.entry(reply.to_owned()).or_insert_with(Scores::default).add(row);
    }
    Ok(CsatAnalytics {
        from,
        to,
        period,
        totals: totals.finish(),
        by_period: by_period
            .into_iter()
            .map(|(start, scores)| PeriodScores { start, scores: scores.finish() })
            .collect(),
        by_agent: groups(by_agent),
        by_intent: groups(by_intent),
        by_channel: groups(by_channel),
        by_reply: groups(by_reply),
    })
}
