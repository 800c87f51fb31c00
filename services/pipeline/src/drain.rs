//! Lets outbound sends finish when the process is asked to stop. A sender takes a
//! [`SendGuard`] before it claims work and holds it until the outcome is recorded; once
//! stopping, no guard is given, and shutdown waits (up to a limit) for the ones out. A
//! reply cut off mid-send would otherwise end as of unknown outcome, to be checked and
//! resent by a person. The other workers only stop claiming ([`Drain::stopping`]): their
//! jobs in progress are taken over by another process when their leases run out.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::Notify;

#[derive(Default)]
struct Inner {
    stopping: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
}

/// Shared by the senders of one process; cloning shares it.
#[derive(Clone, Default)]
pub struct Drain(Arc<Inner>);

/// One send in flight; dropping it ends it.
pub struct SendGuard(Arc<Inner>);

impl Drop for SendGuard {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Drain {
    /// A guard for one send, or `None` once the process is stopping (claim nothing more).
    pub fn guard(&self) -> Option<SendGuard> {
        self.0.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = SendGuard(Arc::clone(&self.0));
        (!self.0.stopping.load(Ordering::SeqCst)).then_some(guard)
    }

    pub fn stopping(&self) -> bool {
        self.0.stopping.load(Ordering::SeqCst)
    }

    /// Stops giving guards and waits until the ones out are dropped, at most `limit`;
    /// returns how many sends were still in flight when it gave up waiting.
    pub async fn finish(&self, limit: Duration) -> usize {
        self.0.stopping.store(true, Ordering::SeqCst);
        let settled = async {
            loop {
                let idle = self.0.idle.notified();
                if self.0.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(limit, settled).await;
        self.0.in_flight.load(Ordering::SeqCst)
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
