//! Service-level attainment of the tickets opened in a range: for each target kind, how
//! many targets were met in time, breached, or still running, and the share met among
//! those settled; in total, by period (of opening), intent, channel, priority and policy.
//! A ticket's facts are those its policy was chosen on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use copilot_core::{
    Error,
    period::{Period, check_range},
    sla::{TargetClock, TargetKind},
};
use copilot_entities::ticket_sla;
use copilot_store::{Scoped, TenantTx, db_err};
use sea_orm::{ColumnTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::tracking::{Applied, Matched};

/// Targets of one kind (or all) in a group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attainment {
    /// Met by their due time.
    pub met: i64,
    pub breached: i64,
    /// Neither yet (running or paused).
    pub running: i64,
    /// Met among met and breached; none before any settled.
    pub attainment: Option<f64>,
}

impl Attainment {
    fn add(&mut self, target: &TargetClock) {
        match (target.achieved_at, target.breached_at) {
            (_, Some(_)) => self.breached += 1,
            (Some(_), None) => self.met += 1,
            (None, None) => self.running += 1,
        }
    }

    fn finish(mut self) -> Self {
        let settled = self.met + self.breached;
        self.attainment = (settled > 0).then(|| self.met as f64 / settled as f64);
        self
    }
}

/// A group's targets by kind, and all of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    pub first_reply: Attainment,
    pub next_reply: Attainment,
    pub resolution: Attainment,
    pub all: Attainment,
}

impl Targets {
    fn add(&mut self, targets: &[TargetClock]) {
        for target in targets {
            match target.kind {
                TargetKind::FirstReply => self.first_reply.add(target),
                TargetKind::NextReply => self.next_reply.add(target),
                TargetKind::Resolution => self.resolution.add(target),
            }
            self.all.add(target);
        }
    }

    fn finish(self) -> Self {
        Self {
            first_reply: self.first_reply.finish(),
            next_reply: self.next_reply.finish(),
            resolution: self.resolution.finish(),
            all: self.all.finish(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub key: String,
    /// Tickets with a policy in the group.
    pub tickets: i64,
    pub targets: Targets,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodTargets {
    pub start: DateTime<Utc>,
    pub tickets: i64,
    pub targets: Targets,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaAnalytics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub period: Period,
    /// Tickets opened in the range under a policy.
    pub tickets: i64,
    pub totals: Targets,
    /// Every period of the range, empty ones included, oldest first.
    pub by_period: Vec<PeriodTargets>,
    /// Most tickets first; `unknown` for an intent not triaged when the policy was chosen.
    pub by_intent: Vec<Group>,
    pub by_channel: Vec<Group>,
    pub by_priority: Vec<Group>,
    /// By the policy's name as applied.
    pub by_policy: Vec<Group>,
}

#[derive(Default)]
struct Tally {
    tickets: i64,
    targets: Targets,
}

impl Tally {
    fn add(&mut self, targets: &[TargetClock]) {
        self.tickets += 1;
        self.targets.add(targets);
    }
}

fn groups(tallies: BTreeMap<String, Tally>) -> Vec<Group> {
    let mut groups: Vec<Group> = tallies
        .into_iter()
        .map(|(key, tally)| Group { key, tickets: tally.tickets, targets: tally.targets.finish() })
        .collect();
    groups.sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.key.cmp(&b.key)));
    groups
}

/// The attainment of the service levels of tickets opened in `[from, to)`.
pub async fn attainment(
    tx: &TenantTx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    period: Period,
) -> Result<SlaAnalytics, Error> {
    check_range(from, to)?;
    let rows = ticket_sla::Entity::scoped(tx.tenant())
        .filter(ticket_sla::Column::OpenedAt.gte(from))
        .filter(ticket_sla::Column::OpenedAt.lt(to))
        .filter(ticket_sla::Column::PolicyId.is_not_null())
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let mut totals = Tally::default();
    let mut by_period: BTreeMap<DateTime<Utc>, Tally> = BTreeMap::new();
    let mut start = period.start(from);
    while start < to {
        by_period.insert(start, Tally::default());
        start = period.next(start);
    }
    let (mut by_intent, mut by_channel, mut by_priority, mut by_policy) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for row in &rows {
        let Some(opened_at) = row.opened_at else { continue };
        // A row that cannot be read is left out rather than failing the whole report.
        let Ok(targets) = serde_json::from_value::<Vec<TargetClock>>(row.targets.clone()) else { continue };
        let facts = row.facts.clone().and_then(|facts| serde_json::from_value::<Matched>(facts).ok());
        let policy = row.policy.clone().and_then(|policy| serde_json::from_value::<Applied>(policy).ok());
        totals.add(&targets);
        by_period.entry(period.start(opened_at)).or_default().add(&targets);
        let (intent, channel, priority) = match &facts {
            Some(facts) => (
                facts.intent.clone().unwrap_or_else(|| "unknown".into()),
                facts.channel.clone(),
                facts.priority.clone(),
            ),
            None => ("unknown".into(), "unknown".into(), "unknown".into()),
        };
        by_intent.entry(intent).or_insert_with(Tally::default).add(&targets);
        by_channel.entry(channel).or_insert_with(Tally::default).add(&targets);
        by_priority.entry(priority).or_insert_with(Tally::default).add(&targets);
        let policy = policy.map_or_else(|| "unknown".to_owned(), |policy| policy.name);
        by_policy.entry(policy).or_insert_with(Tally::default).add(&targets);
    }
    Ok(SlaAnalytics {
        from,
        to,
        period,
        tickets: totals.tickets,
        totals: totals.targets.finish(),
        by_period: by_period
            .into_iter()
            .map(|(start, tally)| PeriodTargets { start, tickets: tally.tickets, targets: tally.targets.finish() })
            .collect(),
        by_intent: groups(by_intent),
        by_channel: groups(by_channel),
        by_priority: groups(by_priority),
        by_policy: groups(by_policy),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: TargetKind, achieved: bool, breached: bool) -> TargetClock {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        TargetClock {
            kind,
            minutes: 60,
            business_hours: false,
            started_at: at,
            due_at: at,
            warn_at: None,
            warned_at: None,
            achieved_at: achieved.then_some(at),
            breached_at: breached.then_some(at),
            paused: false,
            remaining_ms: None,
        }
    }

    #[test]
    fn attainment_is_met_among_settled_and_a_late_reply_is_a_breach() {
        let mut targets = Targets::default();
        targets.add(&[
            target(TargetKind::FirstReply, true, false),
            target(TargetKind::FirstReply, true, true),
            target(TargetKind::FirstReply, false, false),
            target(TargetKind::Resolution, false, true),
        ]);
        let targets = targets.finish();
        assert_eq!((targets.first_reply.met, targets.first_reply.breached, targets.first_reply.running), (1, 1, 1));
        assert_eq!(targets.first_reply.attainment, Some(0.5));
        assert_eq!(targets.resolution.attainment, Some(0.0));
        assert_eq!(targets.next_reply.attainment, None);
        assert_eq!((targets.all.met, targets.all.breached), (1, 2));
    }
}
