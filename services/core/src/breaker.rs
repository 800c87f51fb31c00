//! A circuit breaker's rules, without storage: after a run of failures an endpoint is
//! skipped for a cool-down (doubling each time it trips again, up to a cap), then one
//! probe call decides whether it closes or opens again. The caller keeps the state where
//! every process sees it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::BreakerState;

/// When a breaker opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failures in a row that open a closed breaker.
    pub failures_to_open: u32,
    /// The first cool-down; each further trip in a row doubles it.
    pub cool_down: Duration,
    pub max_cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self { failures_to_open: 3, cool_down: Duration::from_secs(30), max_cool_down: Duration::from_secs(600) }
    }
}

impl BreakerPolicy {
    /// The cool-down after the `trips`-th trip in a row (counting from 1).
    pub fn cool_down_after(&self, trips: u32) -> Duration {
        let doubling = 2u32.saturating_pow(trips.clamp(1, 32) - 1);
        self.cool_down.saturating_mul(doubling).min(self.max_cool_down)
    }
}

/// One endpoint's breaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breaker {
    pub state: BreakerState,
    /// Failed calls since the last success.
    pub consecutive_failures: u32,
    /// Times it opened since it was last closed by a success.
    pub trips: u32,
    /// Open: when a probe may go. Half open: when the probe in flight is given up on, so
    /// that a process that died while probing does not keep the breaker half open.
    pub until: Option<DateTime<Utc>>,
}

/// Whether a call may go now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Closed: call.
    Call,
    /// The cool-down is over: one call may go as the probe (whoever claims it first).
    Probe,
    /// Open, or another caller's probe is in flight: skip until then.
    Skip { until: DateTime<Utc> },
}

impl Default for Breaker {
    fn default() -> Self {
        Self { state: BreakerState::Closed, consecutive_failures: 0, trips: 0, until: None }
    }
}

impl Breaker {
    pub fn admit(&self, now: DateTime<Utc>) -> Admission {
        match (self.state, self.until) {
            (BreakerState::Closed, _) => Admission::Call,
            (_, Some(until)) if until > now => Admission::Skip { until },
            _ => Admission::Probe,
        }
    }

    /// Half open while a probe of at most `deadline` is in flight.
    pub fn probing(&self, now: DateTime<Utc>, deadline: Duration) -> Self {
        Self { state: BreakerState::HalfOpen, until: Some(now + clamp(deadline)), ..self.clone() }
    }

    /// A success closes the breaker and forgets the failures.
    pub fn after_success(&self) -> Self {
        Self::default()
    }

    /// A failure: a failed probe reopens at once with a longer cool-down; a closed breaker
    /// opens after `failures_to_open` in a row.
    pub fn after_failure(&self, now: DateTime<Utc>, policy: &BreakerPolicy) -> Self {
        let consecutive_failures = self.consecutive_failures.saturating_add(1);
        let trips_now = self.state != BreakerState::Closed || consecutive_failures >= policy.failures_to_open.max(1);
        if trips_now {
            let trips = self.trips.saturating_add(1);
            Self {
                state: BreakerState::Open,
                consecutive_failures,
                trips,
                until: Some(now + clamp(policy.cool_down_after(trips))),
            }
        } else {
            Self { consecutive_failures, ..self.clone() }
        }
    }
}

fn clamp(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn a_closed_breaker_opens_after_a_run_of_failures_and_not_before() {
        let policy = BreakerPolicy::default();
        let mut breaker = Breaker::default();
        for _ in 0..2 {
            breaker = breaker.after_failure(at(0), &policy);
            assert_eq!(breaker.admit(at(0)), Admission::Call);
        }
        breaker = breaker.after_failure(at(0), &policy);
        assert_eq!(breaker.state, BreakerState::Open);
        assert_eq!(breaker.admit(at(29)), Admission::Skip { until: at(30) });
        assert_eq!(breaker.admit(at(30)), Admission::Probe);
    }

    #[test]
    fn a_success_between_failures_keeps_it_closed() {
        let policy = BreakerPolicy::default();
        let breaker = Breaker::default().after_failure(at(0), &policy).after_failure(at(0), &policy).after_success();
        assert_eq!(breaker.after_failure(at(0), &policy).state, BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_for_twice_as_long_up_to_the_cap() {
        let policy = BreakerPolicy { failures_to_open: 1, ..BreakerPolicy::default() };
        let mut breaker = Breaker::default().after_failure(at(0), &policy);
        let mut now = 0;
        let mut waits = Vec::new();
        for _ in 0..7 {
            let until = breaker.until.map(|until| (until - at(now)).num_seconds()).unwrap_or_default();
            waits.push(until);
            now += until;
            assert_eq!(breaker.admit(at(now)), Admission::Probe);
            breaker = breaker.probing(at(now), Duration::from_secs(60));
            assert!(matches!(breaker.admit(at(now)), Admission::Skip { .. }), "one probe at a time");
            breaker = breaker.after_failure(at(now), &policy);
        }
        assert_eq!(waits, [30, 60, 120, 240, 480, 600, 600]);
    }

    #[test]
    fn a_successful_probe_closes_and_a_lost_probe_lets_another_through() {
        let policy = BreakerPolicy::default();
        let open = Breaker { state: BreakerState::Open, consecutive_failures: 3, trips: 1, until: Some(at(30)) };
        let probing = open.probing(at(30), Duration::from_secs(20));
        assert_eq!(probing.admit(at(49)), Admission::Skip { until: at(50) });
        assert_eq!(probing.admit(at(50)), Admission::Probe, "the prober died: its probe is given up on");
        assert_eq!(probing.after_success(), Breaker::default());
        assert_eq!(probing.after_failure(at(40), &policy).until, Some(at(100)));
    }
}
