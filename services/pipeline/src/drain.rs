//! Stopping the process: a cancellation token tells every worker to claim nothing more,
//! and a task tracker lets outbound sends finish. A sender takes a
//! [`SendGuard`] before it claims work and holds it until the outcome is recorded; once
//! stopping, no guard is given, and shutdown waits (up to a limit) for the ones out. A
//! reply cut off mid-send would otherwise end as of unknown outcome, to be checked and
//! resent by a person. The other workers only stop claiming ([`Drain::stopping`]): their
//! jobs in progress are taken over by another process when their leases run out.

use std::time::Duration;

use tokio_util::{
    sync::CancellationToken,
    task::{TaskTracker, task_tracker::TaskTrackerToken},
};

/// Shared by the workers of one process; cloning shares it.
#[derive(Clone, Default)]
pub struct Drain {
    /// Cancelled when the process is asked to stop.
    stop: CancellationToken,
    /// The sends in flight, each a token of the tracker.
    sends: TaskTracker,
}

/// One send in flight; dropping it ends it.
pub struct SendGuard {
    _send: TaskTrackerToken,
}

impl Drain {
    /// A guard for one send, or `None` once the process is stopping (claim nothing more).
    pub fn guard(&self) -> Option<SendGuard> {
        (!self.stop.is_cancelled()).then(|| SendGuard { _send: self.sends.token() })
    }

    pub fn stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves once the process is stopping: workers wait on it beside their wake-ups.
    pub async fn stopped(&self) {
        self.stop.cancelled().await;
    }

    /// Tells the workers to claim nothing more.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Stops giving guards and waits until the ones out are dropped, at most `limit`;
    /// returns how many sends were still in flight when it gave up waiting.
    pub async fn finish(&self, limit: Duration) -> usize {
        self.stop.cancel();
        self.sends.close();
        let _ = tokio::time::timeout(limit, self.sends.wait()).await;
        self.sends.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn finishing_waits_for_sends_in_flight_and_refuses_new_ones() {
        let drain = Drain::default();
        let sending = drain.guard().expect("a guard before stopping");
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(sending);
        });
        let started = std::time::Instant::now();
        assert_eq!(drain.finish(Duration::from_secs(5)).await, 0);
        assert!(started.elapsed() >= Duration::from_millis(150), "it waited for the send");
        assert!(drain.guard().is_none() && drain.stopping());
        release.await.expect("released");
    }

    #[tokio::test]
    async fn finishing_gives_up_after_its_limit() {
        let drain = Drain::default();
        let _stuck = drain.guard();
        assert_eq!(drain.finish(Duration::from_millis(50)).await, 1);
    }
}
