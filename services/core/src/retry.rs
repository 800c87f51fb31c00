//! How a queue retries a failed attempt: how long it waits before the next attempt, and
//! when it gives up. Every queue's policy is one of these two shapes; the table of each
//! queue's policy is in `docs/queues.md`.

use std::time::Duration;

/// A queue's retry policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// After the n-th failed attempt, wait `first × factor^(n−1)`, at most `cap`; the
    /// `max_attempts`-th failure is final.
    Exponential { first: Duration, factor: u32, cap: Duration, max_attempts: u32 },
    /// The wait before each attempt, the first attempt's included (usually zero): the
    /// n-th failed attempt waits entry n; a failure past the last entry is final.
    Schedule(Vec<Duration>),
}

impl Backoff {
    /// The wait after the `failed`-th failed attempt (counting from 1) before the next one,
    /// or `None` when that failure is final.
    pub fn after_failure(&self, failed: u32) -> Option<Duration> {
        match self {
            Self::Exponential { first, factor, cap, max_attempts } => (failed < *max_attempts).then(|| {
                let growth = u64::from(*factor).saturating_pow(failed.clamp(1, 64) - 1);
                let millis = (first.as_millis() as u64).saturating_mul(growth);
                Duration::from_millis(millis).min(*cap)
            }),
            Self::Schedule(waits) => waits.get(failed.max(1) as usize).copied(),
        }
    }

    /// How many attempts an item gets in all.
    pub fn max_attempts(&self) -> u32 {
        match self {
            Self::Exponential { max_attempts, .. } => *max_attempts,
            Self::Schedule(waits) => waits.len().max(1) as u32,
        }
    }

    /// Whether a claim's attempt number is past the limit: every allowed attempt was claimed
    /// and none recorded an outcome (their workers died, perhaps on this item), so the item
    /// is failed rather than tried again.
    pub fn exhausted(&self, attempt: i32) -> bool {
        attempt > self.max_attempts() as i32
    }

    /// [`Self::after_failure`] for a database attempt counter, as a `chrono` duration.
    pub fn retry_in(&self, failed: i32) -> Option<chrono::Duration> {
        let wait = self.after_failure(failed.max(0) as u32)?;
        Some(chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn exponential_waits_grow_by_the_factor_up_to_the_cap_then_stop() {
        let policy = Backoff::Exponential { first: secs(5), factor: 4, cap: secs(600), max_attempts: 5 };
        let waits: Vec<_> = (1..=5).map(|n| policy.after_failure(n)).collect();
        assert_eq!(waits, [Some(secs(5)), Some(secs(20)), Some(secs(80)), Some(secs(320)), None]);
        let capped = Backoff::Exponential { first: secs(2), factor: 2, cap: secs(60), max_attempts: 100 };
        assert_eq!(capped.after_failure(99), Some(secs(60)), "no overflow far past the cap");
        assert!(!policy.exhausted(5) && policy.exhausted(6));
    }

    #[test]
    fn a_schedule_names_each_wait_and_its_length_is_the_attempt_limit() {
        let policy = Backoff::Schedule(vec![secs(0), secs(5), secs(300)]);
        assert_eq!(policy.max_attempts(), 3);
        assert_eq!(policy.after_failure(1), Some(secs(5)));
        assert_eq!(policy.after_failure(2), Some(secs(300)));
        assert_eq!(policy.after_failure(3), None);
        assert_eq!(policy.retry_in(1), Some(chrono::Duration::seconds(5)));
    }
}
