//! Service levels on tickets: the policy a ticket falls under and its targets' clocks.
//!
//! A ticket's policy is chosen from its facts (priority, channel, intent, tags, customer)
//! when it opens and again whenever those facts change; the ticket keeps a copy of the
//! policy as it was applied, so that editing or removing a policy leaves the tickets it
//! already applies to alone until [`recompute`] is asked for. Each change of the ticket's
//! progress (a reply, a customer message, a status) moves the clocks ([`Clocks::advance`]);
//! warnings and breaches fall due on the row's timer, claimed under a lease by the SLA
//! worker ([`claim`], [`fire`]). An event is emitted in the transaction that records it on
//! the locked row, so each is sent once whichever process gets there first.

use chrono::{DateTime, Duration, Utc};
use copilot_core::{
    Error, TenantId,
    ids::TicketId,
    model::TicketStatus,
    sla::{TargetClock, TargetKind, TicketSla},
};
use copilot_entities::ticket_sla;
use copilot_store::{
    Db, Scoped, TenantTx, db_err, events,
    jobs::{FairPick, Queue},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    Schedule,
    policies::{self, Facts, Policy, Target},
    schedules,
};

/// The SLA timers: one row per ticket, due at its next warning or breach.
pub const QUEUE: Queue = Queue {
    name: "sla",
    table: "ticket_slas",
    id: "ticket_id",
    open: "{row}.next_attempt_at IS NOT NULL",
    held: "{row}.lease_until IS NOT NULL",
    lease_columns: &["lease_until"],
};

/// A policy as it was applied to a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub id: Uuid,
    pub name: String,
    pub targets: Vec<Target>,
    pub pause_when_pending: bool,
    pub warning_minutes: i64,
}

impl From<&Policy> for Applied {
    fn from(policy: &Policy) -> Self {
        Self {
            id: policy.id,
            name: policy.name.clone(),
            targets: policy.targets.clone(),
            pause_when_pending: policy.pause_when_pending,
            warning_minutes: policy.warning_minutes,
        }
    }
}

impl Applied {
    fn target(&self, kind: TargetKind) -> Option<&Target> {
        self.targets.iter().find(|target| target.kind == kind)
    }
}

/// What a policy is chosen on, as kept beside the choice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matched {
    pub priority: String,
    pub channel: String,
    pub intent: Option<String>,
    pub tags: Vec<String>,
    pub customer_email: String,
}

impl Matched {
    fn facts(&self) -> Facts<'_> {
        Facts {
            priority: &self.priority,
            channel: &self.channel,
            intent: self.intent.as_deref(),
            tags: &self.tags,
            customer_email: &self.customer_email,
        }
    }
}

/// Where a ticket stands, as its clocks read it.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub status: TicketStatus,
    pub created_at: DateTime<Utc>,
    pub first_reply_at: Option<DateTime<Utc>>,
    /// The oldest customer message no public reply has answered yet.
    pub waiting_since: Option<DateTime<Utc>>,
    pub solved_at: Option<DateTime<Utc>>,
}

/// A ticket as the SLA use cases need it.
#[derive(Clone, Debug)]
pub struct TicketView {
    pub id: TicketId,
    pub matched: Matched,
    pub progress: Progress,
}

/// A warning or breach that fell due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fired {
    Warning(TargetClock),
    Breached(TargetClock),
}

/// A ticket's applied policy and its targets' clocks; pure rules, no IO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clocks {
    pub policy: Option<Applied>,
    pub targets: Vec<TargetClock>,
}

/// When `minutes` of `target` have passed since `from`: business time in the schedule when
/// the target counts it and a schedule exists (and opens at all within two years), else
/// calendar time.
fn due_after(business_hours: bool, from: DateTime<Utc>, time: Duration, schedule: Option<&Schedule>) -> DateTime<Utc> {
    schedule
        .filter(|_| business_hours)
        .and_then(|schedule| schedule.after_business_time(from, time))
        .unwrap_or(from + time)
}

/// The time left on a clock between `now` and its due time, counted as the target counts.
fn left_at(clock: &TargetClock, now: DateTime<Utc>, schedule: Option<&Schedule>) -> Duration {
    if clock.due_at <= now {
        return Duration::zero();
    }
    match schedule.filter(|_| clock.business_hours) {
        Some(schedule) => schedule.business_time(now, clock.due_at),
        None => clock.due_at - now,
    }
}

/// The warning's time: `lead` before due, when that falls after the start.
fn warning_at(started_at: DateTime<Utc>, due_at: DateTime<Utc>, lead_minutes: i64) -> Option<DateTime<Utc>> {
    let at = due_at - Duration::minutes(lead_minutes);
    (lead_minutes > 0 && at > started_at).then_some(at)
}

impl Clocks {
    fn start(&mut self, target: &Target, at: DateTime<Utc>, schedule: Option<&Schedule>) {
        let lead = self.policy.as_ref().map_or(0, |policy| policy.warning_minutes);
        let due_at = due_after(target.business_hours, at, Duration::minutes(target.minutes), schedule);
        self.targets.push(TargetClock {
            kind: target.kind,
            minutes: target.minutes,
            business_hours: target.business_hours,
            started_at: at,
            due_at,
            warn_at: warning_at(at, due_at, lead),
            warned_at: None,
            achieved_at: None,
            breached_at: None,
            paused: false,
            remaining_ms: None,
        });
    }

    /// Puts `policy` in force: each open clock of a kind it targets counts its target
    /// again from its start; open clocks of other kinds go; met ones stay as they were.
    pub fn apply(&mut self, policy: Option<Applied>, now: DateTime<Utc>, schedule: Option<&Schedule>) {
        self.policy = policy;
        let Some(policy) = self.policy.clone() else {
            self.targets.retain(|clock| !clock.is_open());
            return;
        };
        self.targets.retain(|clock| !clock.is_open() || policy.target(clock.kind).is_some());
        for clock in self.targets.iter_mut().filter(|clock| clock.is_open() && clock.breached_at.is_none()) {
            let Some(target) = policy.target(clock.kind) else { continue };
            clock.minutes = target.minutes;
            clock.business_hours = target.business_hours;
            clock.due_at =
                due_after(target.business_hours, clock.started_at, Duration::minutes(target.minutes), schedule);
            clock.warn_at = warning_at(clock.started_at, clock.due_at, policy.warning_minutes);
            if clock.paused {
                clock.remaining_ms = Some(left_at(clock, now, schedule).num_milliseconds());
            }
        }
    }

    /// Moves the clocks to where the ticket stands: starts the targets that begin (first
    /// reply and resolution at the opening, a next reply at each customer message waiting
    /// after the first reply), meets those the ticket met, pauses and resumes them with a
    /// pending ticket where the policy says so, then fires what fell due. A target met
    /// after its due time and never recorded as breached is breached then.
    pub fn advance(&mut self, progress: &Progress, now: DateTime<Utc>, schedule: Option<&Schedule>) -> Vec<Fired> {
        let Some(policy) = self.policy.clone() else {
            return Vec::new();
        };
        let solved = matches!(progress.status, TicketStatus::Solved | TicketStatus::Closed);
        for kind in [TargetKind::FirstReply, TargetKind::Resolution] {
            if let Some(target) = policy.target(kind)
                && !self.targets.iter().any(|clock| clock.kind == kind)
            {
                self.start(target, progress.created_at, schedule);
            }
        }
        if let (Some(target), Some(first), Some(waiting)) =
            (policy.target(TargetKind::NextReply), progress.first_reply_at, progress.waiting_since)
            && waiting > first
            && !self.targets.iter().any(|clock| clock.kind == TargetKind::NextReply && clock.started_at == waiting)
        {
            self.start(target, waiting, schedule);
        }
        let mut fired = Vec::new();
        for clock in &mut self.targets {
            if clock.kind == TargetKind::Resolution && !clock.is_open() && progress.solved_at.is_none() {
                // Opened again: resolution runs on towards the same due time.
                clock.achieved_at = None;
            }
            if !clock.is_open() {
                continue;
            }
            let met = match clock.kind {
                TargetKind::Resolution => progress.solved_at,
                // Solving a ticket ends its reply clocks.
                _ if solved => progress.solved_at.or(Some(now)),
                TargetKind::FirstReply => progress.first_reply_at,
                TargetKind::NextReply => (progress.waiting_since != Some(clock.started_at)).then_some(now),
            };
            if let Some(at) = met {
                clock.achieved_at = Some(at);
                clock.paused = false;
                clock.remaining_ms = None;
                if clock.breached_at.is_none() && clock.due_at < at {
                    clock.breached_at = Some(clock.due_at);
                    fired.push(Fired::Breached(clock.clone()));
                }
            }
        }
        let pause = policy.pause_when_pending && progress.status == TicketStatus::Pending;
        for clock in self.targets.iter_mut().filter(|clock| clock.is_open()) {
            if pause && !clock.paused && clock.breached_at.is_none() && clock.due_at > now {
                clock.remaining_ms = Some(left_at(clock, now, schedule).num_milliseconds());
                clock.paused = true;
            } else if !pause && clock.paused {
                let left = Duration::milliseconds(clock.remaining_ms.take().unwrap_or(0));
                clock.due_at = due_after(clock.business_hours, now, left, schedule);
                clock.warn_at = warning_at(now, clock.due_at, policy.warning_minutes).or(clock.warn_at);
                clock.paused = false;
            }
        }
        fired.extend(self.fire(now));
        fired
    }

    /// Records the warnings and breaches due by `now` on running clocks: a clock past due is
    /// breached (at its due time) and warned no more; one past its warning time is warned.
    pub fn fire(&mut self, now: DateTime<Utc>) -> Vec<Fired> {
        let mut fired = Vec::new();
        for clock in self.targets.iter_mut().filter(|clock| clock.is_running() && clock.breached_at.is_none()) {
            if clock.due_at <= now {
                clock.breached_at = Some(clock.due_at);
                fired.push(Fired::Breached(clock.clone()));
            } else if clock.warned_at.is_none() && clock.warn_at.is_some_and(|at| at <= now) {
                clock.warned_at = Some(now);
                fired.push(Fired::Warning(clock.clone()));
            }
        }
        fired
    }

    /// When the next warning or breach falls.
    pub fn next_timer(&self) -> Option<DateTime<Utc>> {
        self.targets
            .iter()
            .filter(|clock| clock.is_running() && clock.breached_at.is_none())
            .map(|clock| match clock.warn_at {
                Some(at) if clock.warned_at.is_none() => at.min(clock.due_at),
                _ => clock.due_at,
            })
            .min()
    }

    /// The ticket's copy: none without a policy.
    pub fn summary(&self) -> Option<TicketSla> {
        let policy = self.policy.as_ref()?;
        Some(TicketSla {
            policy_id: policy.id,
            policy_name: policy.name.clone(),
            targets: self.targets.clone(),
            next_due_at: TicketSla::earliest_due(&self.targets),
        })
    }
}

fn unreadable(what: &str, error: serde_json::Error) -> Error {
    Error::internal(format!("a ticket's stored {what} does not read: {error}"))
}

fn clocks_of(row: &ticket_sla::Model) -> Result<Clocks, Error> {
    let policy = row
        .policy
        .clone()
        .map(serde_json::from_value::<Applied>)
        .transpose()
        .map_err(|error| unreadable("SLA policy", error))?;
    let targets = serde_json::from_value(row.targets.clone()).map_err(|error| unreadable("SLA targets", error))?;
    Ok(Clocks { policy, targets })
}

async fn locked_row(tx: &TenantTx, ticket: TicketId) -> Result<Option<ticket_sla::Model>, Error> {
    ticket_sla::Entity::scoped(tx.tenant())
        .filter(ticket_sla::Column::TicketId.eq(ticket.0))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)
}

/// The default schedule when a clock of `policy` counts business hours.
async fn schedule_for(tx: &TenantTx, policy: Option<&Applied>) -> Result<Option<Schedule>, Error> {
    match policy {
        Some(policy) if policy.targets.iter().any(|target| target.business_hours) => {
            schedules::default_schedule(tx).await
        }
        _ => Ok(None),
    }
}

async fn emit(tx: &TenantTx, ticket: TicketId, policy: Option<&Applied>, fired: Vec<Fired>) -> Result<(), Error> {
    for event in fired {
        let (event_type, target) = match event {
            Fired::Warning(target) => ("sla.warning", target),
            Fired::Breached(target) => ("sla.breached", target),
        };
        let data = json!({
            "ticket_id": ticket,
            "policy_id": policy.map(|policy| policy.id),
            "policy_name": policy.map(|policy| policy.name.as_str()),
            "target": target,
        });
        events::emit(tx, event_type, Some(ticket), &data).await?;
    }
    Ok(())
}

async fn store(
    tx: &TenantTx,
    ticket: TicketId,
    existing: Option<ticket_sla::Model>,
    clocks: &Clocks,
    facts: Option<serde_json::Value>,
    opened_at: Option<DateTime<Utc>>,
) -> Result<(), Error> {
    let opened_at = existing.as_ref().and_then(|row| row.opened_at).or(opened_at);
    let row = ticket_sla::ActiveModel {
        ticket_id: Set(ticket.0),
        tenant_id: Set(tx.tenant().0),
        policy_id: Set(clocks.policy.as_ref().map(|policy| policy.id)),
        policy: Set(clocks.policy.as_ref().map(|policy| json!(policy))),
        facts: Set(facts),
        targets: Set(json!(clocks.targets)),
        next_attempt_at: Set(clocks.next_timer()),
        lease_until: Set(None),
        attempts: Set(existing.as_ref().map_or(0, |row| row.attempts)),
        opened_at: Set(opened_at),
    };
    match existing {
        Some(_) => row.update(&**tx).await.map(drop).map_err(db_err),
        None => row.insert(&**tx).await.map(drop).map_err(db_err),
    }
}

/// Brings a ticket's service levels up to date after a change of the ticket, in its
/// transaction: a new ticket, or one whose facts changed, gets the first policy that
/// matches now (its open clocks counted again from their starts); then the clocks move and
/// what fell due is emitted. With `recompute` the tenant's current policies apply even when
/// nothing changed (and to a ticket opened before service levels). Returns the ticket's
/// copy.
pub async fn sync(tx: &TenantTx, ticket: &TicketView, recompute: bool) -> Result<Option<TicketSla>, Error> {
    let now = copilot_core::now();
    let existing = locked_row(tx, ticket.id).await?;
    let mut clocks = existing.as_ref().map(clocks_of).transpose()?.unwrap_or_default();
    let before: Option<Matched> = existing
        .as_ref()
        .and_then(|row| row.facts.clone())
        .map(serde_json::from_value)
        .transpose()
        .map_err(|error| unreadable("SLA facts", error))?;
    let legacy = existing.is_some() && before.is_none();
    if legacy && !recompute {
        return Ok(clocks.summary());
    }
    let rematch = recompute || before.as_ref() != Some(&ticket.matched);
    let mut schedule = None;
    if rematch {
        let all = policies::list(tx).await?;
        let chosen = policies::first_match(&all, &ticket.matched.facts()).map(Applied::from);
        let same = chosen.as_ref().map(|policy| policy.id) == clocks.policy.as_ref().map(|policy| policy.id);
        if recompute || !same {
            let for_chosen = schedule_for(tx, chosen.as_ref()).await?;
            clocks.apply(chosen, now, for_chosen.as_ref());
            // The policy in force now is the chosen one: its schedule serves below too.
            schedule = Some(for_chosen);
        }
    }
    let schedule = match schedule {
        Some(schedule) => schedule,
        None => schedule_for(tx, clocks.policy.as_ref()).await?,
    };
    let before_advance = clocks.clone();
    let fired = clocks.advance(&ticket.progress, now, schedule.as_ref());
    if existing.is_none() || rematch || clocks != before_advance {
        emit(tx, ticket.id, clocks.policy.as_ref(), fired).await?;
        store(tx, ticket.id, existing, &clocks, Some(json!(ticket.matched)), Some(ticket.progress.created_at)).await?;
    }
    Ok(clocks.summary())
}

/// A claimed SLA timer.
#[derive(Clone, Copy, Debug)]
pub struct Claimed {
    pub tenant_id: TenantId,
    pub ticket_id: TicketId,
    pub attempt: i32,
    pub due_at: DateTime<Utc>,
}

/// Claims up to `limit` timers due now across tenants for `lease`, at most `limit / 2` of
/// one tenant.
pub async fn claim(db: &Db, limit: u64, lease: Duration) -> Result<Vec<Claimed>, Error> {
    let pick = FairPick {
        queue: &QUEUE,
        group: "tenant_id",
        due: "{row}.next_attempt_at <= $2 AND ({row}.lease_until IS NULL OR {row}.lease_until <= $2)",
        per_group: (limit as usize / 2).max(1),
        busy: None,
    };
    let sql = format!(
        "UPDATE ticket_slas SET lease_until = $1, attempts = attempts + 1
         WHERE ticket_id IN ({}) RETURNING tenant_id, ticket_id, attempts, next_attempt_at",
        pick.sql()
    );
    let rows = copilot_store::jobs::claim(db, &sql, limit, lease).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
                ticket_id: TicketId(row.try_get("", "ticket_id").map_err(db_err)?),
                attempt: row.try_get("", "attempts").map_err(db_err)?,
                due_at: row
                    .try_get::<Option<DateTime<Utc>>>("", "next_attempt_at")
                    .map_err(db_err)?
                    .unwrap_or_else(copilot_core::now),
            })
        })
        .collect()
}

/// When the next timer falls across tenants (for the worker's sleep).
pub async fn next_due(db: &Db) -> Result<Option<DateTime<Utc>>, Error> {
    copilot_store::jobs::next_due(db, &QUEUE).await
}

/// Fires a claimed timer in its tenant's transaction: records and emits the warnings and
/// breaches due now on the locked row and sets the next timer. Returns the ticket's new
/// copy when something fell due.
pub async fn fire(tx: &TenantTx, ticket: TicketId) -> Result<Option<TicketSla>, Error> {
    let Some(row) = locked_row(tx, ticket).await? else {
        return Ok(None);
    };
    let mut clocks = clocks_of(&row)?;
    let fired = clocks.fire(copilot_core::now());
    let changed = !fired.is_empty();
    emit(tx, ticket, clocks.policy.as_ref(), fired).await?;
    let facts = row.facts.clone();
    store(tx, ticket, Some(row), &clocks, facts, None).await?;
    Ok(changed.then(|| clocks.summary()).flatten())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).single().expect("a time") + Duration::minutes(minutes)
    }

    fn policy(pause_when_pending: bool) -> Applied {
        let target = |kind, minutes| Target { kind, minutes, business_hours: false };
        Applied {
            id: Uuid::now_v7(),
            name: "Standard".into(),
            targets: vec![
                target(TargetKind::FirstReply, 60),
                target(TargetKind::NextReply, 30),
                target(TargetKind::Resolution, 480),
            ],
            pause_when_pending,
            warning_minutes: 15,
        }
    }

    fn progress(status: TicketStatus) -> Progress {
        Progress { status, created_at: at(0), first_reply_at: None, waiting_since: Some(at(0)), solved_at: None }
    }

    fn opened(policy: Applied) -> Clocks {
        let mut clocks = Clocks::default();
        clocks.apply(Some(policy), at(0), None);
        assert!(clocks.advance(&progress(TicketStatus::New), at(0), None).is_empty());
        clocks
    }

    fn kinds(fired: &[Fired]) -> Vec<(&'static str, TargetKind)> {
        fired
            .iter()
            .map(|fired| match fired {
                Fired::Warning(clock) => ("warning", clock.kind),
                Fired::Breached(clock) => ("breached", clock.kind),
            })
            .collect()
    }

    #[test]
    fn a_ticket_runs_through_warnings_breaches_replies_and_solving() {
        let mut clocks = opened(policy(true));
        assert_eq!(clocks.targets.len(), 2, "first reply and resolution start at the opening");
        assert_eq!(clocks.next_timer(), Some(at(45)), "the first reply's warning");
        assert!(clocks.fire(at(44)).is_empty());
        assert_eq!(kinds(&clocks.fire(at(45))), [("warning", TargetKind::FirstReply)]);
        assert!(clocks.fire(at(50)).is_empty(), "a warning is sent once");
        assert_eq!(kinds(&clocks.fire(at(61))), [("breached", TargetKind::FirstReply)]);
        assert_eq!(clocks.targets[0].breached_at, Some(at(60)), "breached at its due time");
        assert!(clocks.summary().expect("a policy").is_breached());
        assert!(clocks.fire(at(62)).is_empty(), "a breach is sent once");
        assert_eq!(clocks.next_timer(), Some(at(465)), "then the resolution's warning");

        // The first reply at 70 meets the (breached) target; the customer writes at 100.
        let mut now = Progress { first_reply_at: Some(at(70)), waiting_since: None, ..progress(TicketStatus::Open) };
        assert!(clocks.advance(&now, at(70), None).is_empty());
        assert_eq!(clocks.targets[0].achieved_at, Some(at(70)));
        now.waiting_since = Some(at(100));
        assert!(clocks.advance(&now, at(100), None).is_empty());
        let next = clocks.targets.iter().find(|c| c.kind == TargetKind::NextReply).expect("a next reply clock");
        assert_eq!((next.started_at, next.due_at), (at(100), at(130)));
        assert_eq!(clocks.summary().and_then(|s| s.next_due_at), Some(at(130)));
        // Answered in time; solved at 200.
        now.waiting_since = None;
        assert!(clocks.advance(&now, at(110), None).is_empty());
        now = Progress { status: TicketStatus::Solved, solved_at: Some(at(200)), ..now };
        assert!(clocks.advance(&now, at(200), None).is_empty());
        assert!(clocks.targets.iter().all(|c| c.achieved_at.is_some()));
        assert_eq!(clocks.next_timer(), None);
        assert_eq!(clocks.summary().and_then(|s| s.next_due_at), None);

        // Opened again: resolution runs on towards its due time.
        now = Progress { status: TicketStatus::Open, solved_at: None, waiting_since: Some(at(300)), ..now };
        clocks.advance(&now, at(300), None);
        let resolution = clocks.targets.iter().find(|c| c.kind == TargetKind::Resolution).expect("resolution");
        assert!(resolution.is_running());
        assert_eq!(
            kinds(&clocks.fire(at(481))),
            [("breached", TargetKind::Resolution), ("breached", TargetKind::NextReply)]
        );
    }

    #[test]
    fn a_reply_after_the_due_time_that_no_timer_caught_is_a_breach_sent_once() {
        let mut clocks = opened(policy(true));
        let replied = Progress { first_reply_at: Some(at(90)), waiting_since: None, ..progress(TicketStatus::Open) };
        assert_eq!(kinds(&clocks.advance(&replied, at(90), None)), [("breached", TargetKind::FirstReply)]);
        assert!(clocks.advance(&replied, at(91), None).is_empty());
    }

    #[test]
    fn a_pending_ticket_stops_its_clocks_where_the_policy_says_so() {
        let mut clocks = opened(policy(true));
        let pending = Progress { waiting_since: None, ..progress(TicketStatus::Pending) };
        clocks.advance(&pending, at(10), None);
        assert!(clocks.targets.iter().all(|c| c.paused));
        assert_eq!(clocks.next_timer(), None, "no warning or breach while paused");
        assert!(clocks.fire(at(500)).is_empty());
        // Back to open at 100: the first reply had 50 minutes left.
        clocks.advance(&progress(TicketStatus::Open), at(100), None);
        let first = &clocks.targets[0];
        assert!(!first.paused);
        assert_eq!((first.due_at, first.warn_at), (at(150), Some(at(135))));
        assert_eq!(clocks.targets[1].due_at, at(570));

        let mut running = opened(policy(false));
        running.advance(&pending, at(10), None);
        assert!(running.targets.iter().all(|c| !c.paused));
    }

    #[test]
    fn solving_ends_the_reply_clocks() {
        let mut clocks = opened(policy(true));
        let solved = Progress { solved_at: Some(at(20)), waiting_since: None, ..progress(TicketStatus::Solved) };
        clocks.advance(&solved, at(20), None);
        assert!(clocks.targets.iter().all(|c| c.achieved_at == Some(at(20))));
        assert_eq!(clocks.next_timer(), None);
    }

    #[test]
    fn another_policy_counts_the_open_targets_again_from_their_starts() {
        let mut clocks = opened(policy(true));
        let mut urgent = policy(true);
        urgent.targets = vec![Target { kind: TargetKind::FirstReply, minutes: 15, business_hours: false }];
        urgent.warning_minutes = 5;
        clocks.apply(Some(urgent.clone()), at(5), None);
        assert_eq!(clocks.targets.len(), 1, "the resolution clock goes with the old policy");
        assert_eq!((clocks.targets[0].due_at, clocks.targets[0].warn_at), (at(15), Some(at(10))));
        assert_eq!(clocks.summary().map(|s| s.policy_id), Some(urgent.id));
        clocks.apply(None, at(6), None);
        assert!(clocks.targets.is_empty() && clocks.summary().is_none());
    }

    #[test]
    fn business_hours_targets_fall_due_in_open_hours() {
        let week: Vec<(String, Vec<(String, String)>)> = crate::hours::DAYS[..5]
            .iter()
            .map(|day| (day.to_string(), vec![("09:00".to_owned(), "17:00".to_owned())]))
            .collect();
        let schedule = Schedule::parse("Europe/Berlin", &week, &[], chrono::NaiveDate::MIN).expect("a schedule");
        let mut business = policy(true);
        business.targets = vec![Target { kind: TargetKind::FirstReply, minutes: 60, business_hours: true }];
        // Friday 5 March 2027, 16:30 in Berlin (15:30 UTC): 30 minutes that day, 30 on Monday.
        let friday = Utc.with_ymd_and_hms(2027, 3, 5, 15, 30, 0).single().expect("a time");
        let mut clocks = Clocks::default();
        clocks.apply(Some(business), friday, Some(&schedule));
        let opened = Progress { created_at: friday, waiting_since: Some(friday), ..progress(TicketStatus::New) };
        clocks.advance(&opened, friday, Some(&schedule));
        let monday = Utc.with_ymd_and_hms(2027, 3, 8, 8, 30, 0).single().expect("a time");
        assert_eq!(clocks.targets[0].due_at, monday);
        assert_eq!(clocks.targets[0].warn_at, Some(monday - Duration::minutes(15)));
        // Pending over the weekend from Friday 16:45: 45 business minutes were left.
        let pending = Progress { status: TicketStatus::Pending, waiting_since: None, ..opened };
        clocks.advance(&pending, friday + Duration::minutes(15), Some(&schedule));
        assert_eq!(clocks.targets[0].remaining_ms, Some(45 * 60 * 1000));
        clocks.advance(&Progress { status: TicketStatus::Open, ..opened }, monday, Some(&schedule));
        assert_eq!(clocks.targets[0].due_at, monday + Duration::minutes(45));
    }
}
