//! Keeps the background workers running. Each worker loop runs in a task of its own; a
//! loop that ends by a panic is logged, counted and started again after a pause that grows
//! while it keeps failing. Readiness (`/readyz`) and `/metrics` report the workers that
//! are not running, so a dead queue is seen instead of silently standing still.

use std::{
    any::Any,
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

/// First pause before a failed worker is started again; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerStatus {
    pub running: bool,
    /// How many times the loop ended by a panic and was started again.
    pub restarts: u64,
    pub last_failure: Option<String>,
}

/// The workers of this process and how they are doing.
#[derive(Clone, Default)]
pub struct Workers {
    status: Arc<Mutex<BTreeMap<&'static str, WorkerStatus>>>,
}

impl Workers {
    /// Runs `start()`'s loop under supervision. A loop that returns (the process is
    /// stopping) is not started again.
    pub fn spawn<F, Fut>(&self, name: &'static str, start: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let workers = self.clone();
        workers.update(name, |status| status.running = true);
        tokio::spawn(async move {
            let mut pause = FIRST_PAUSE;
            loop {
                match tokio::spawn(start()).await {
                    Ok(()) => {
                        workers.update(name, |status| status.running = false);
                        return;
                    }
                    Err(error) => {
                        let reason = if error.is_panic() {
                            format!("panicked: {}", panic_message(&*error.into_panic()))
                        } else {
                            "was cancelled".to_owned()
                        };
                        tracing::error!(worker = name, %reason, ?pause, "a worker stopped; starting it again");
                        workers.update(name, |status| {
                            status.running = false;
                            status.restarts += 1;
                            status.last_failure = Some(reason.clone());
                        });
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(MAX_PAUSE);
                        workers.update(name, |status| status.running = true);
                    }
                }
            }
        });
    }

    /// Every worker's status, by name.
    pub fn status(&self) -> BTreeMap<&'static str, WorkerStatus> {
        self.status.lock().map(|status| status.clone()).unwrap_or_default()
    }

    /// The workers that are not running, with why.
    pub fn down(&self) -> Vec<String> {
        self.status()
            .into_iter()
            .filter(|(_, status)| !status.running)
            .map(|(name, status)| match status.last_failure {
                Some(reason) => format!("{name} ({reason})"),
                None => format!("{name} (stopped)"),
            })
            .collect()
    }

    fn update(&self, name: &'static str, change: impl FnOnce(&mut WorkerStatus)) {
        if let Ok(mut status) = self.status.lock() {
            change(status.entry(name).or_default());
        }
    }
}

/// The text of a panic's payload, shortened.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    async fn until(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
        let started = tokio::time::Instant::now();
        while started.elapsed() < deadline {
            if condition() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        condition()
    }

    #[tokio::test]
    async fn a_panicking_worker_is_reported_and_started_again() {
        let workers = Workers::default();
        let runs = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&runs);
        workers.spawn("flaky", move || {
            let run = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if run == 0 {
                    panic!("the first run breaks");
                }
                std::future::pending::<()>().await;
            }
        });
        assert!(until(Duration::from_secs(5), || runs.load(Ordering::SeqCst) >= 2).await, "started again");
        assert!(until(Duration::from_secs(5), || workers.down().is_empty()).await, "{:?}", workers.down());
        let status = workers.status().remove("flaky").unwrap_or_default();
        assert_eq!(status.restarts, 1);
        assert_eq!(status.last_failure.as_deref(), Some("panicked: the first run breaks"));
    }

    #[tokio::test]
    async fn a_worker_that_returns_is_down_and_stays_down() {
        let workers = Workers::default();
        workers.spawn("done", || async {});
        assert!(until(Duration::from_secs(5), || workers.down() == vec!["done (stopped)".to_owned()]).await);
    }
}
