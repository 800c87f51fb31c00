//! The queue kit as the workers use it: every durable queue, its retry policy (one place
//! for all of them; the table is in `docs/queues.md`), and the renewal that keeps a claimed
//! item's lease while its work runs.

use std::{future::Future, sync::Arc, time::Duration};

use chrono::Utc;
use copilot_core::{Error, TenantId, retry::Backoff, settings::Settings};
use copilot_store::{Db, jobs::Queue};
use tokio::{sync::Notify, task::JoinSet};
use uuid::Uuid;

use crate::Pipeline;

/// Every durable queue, in the order `/metrics` and `/readyz` list them.
pub const ALL: [Queue; 11] = [
    copilot_intents::triage::QUEUE,
    copilot_intents::versions::TRAINING_QUEUE,
    copilot_intents::discovery::QUEUE,
    copilot_knowledge::documents::QUEUE,
    copilot_drafts::drafts::QUEUE,
    copilot_summaries::QUEUE,
    copilot_conversations::translations::QUEUE,
    copilot_intents::labelling::QUEUE,
    copilot_mail::deliveries::QUEUE,
    copilot_webhooks::deliveries::QUEUE,
    copilot_satisfaction::surveys::QUEUE,
];

/// Triage: 2 s, 4 s, 8 s, … for models that failed (a model file being replaced, memory).
pub const TRIAGE: Backoff =
    Backoff::Exponential { first: Duration::from_secs(2), factor: 2, cap: Duration::from_secs(600), max_attempts: 6 };

/// Training a tenant's intent head: 10 s, 20 s, then `failed`.
pub const TRAINING: Backoff =
    Backoff::Exponential { first: Duration::from_secs(10), factor: 2, cap: Duration::from_secs(600), max_attempts: 3 };

/// Each queue's retry policy. The fixed ones are constants; drafting, e-mail and webhook
/// retries are tuned in the settings.
#[derive(Clone, Debug)]
pub struct Policies {
    pub triage: Backoff,
    pub training: Backoff,
    pub ingestion: Backoff,
    pub drafts: Backoff,
    pub summaries: Backoff,
    pub translations: Backoff,
    pub email: Backoff,
    pub webhooks: Backoff,
}

impl Policies {
    pub fn new(settings: &Settings) -> Self {
        let doubling = |first_ms: u64, cap: Duration, max_attempts: u32| Backoff::Exponential {
            first: Duration::from_millis(first_ms),
            factor: 2,
            cap,
            max_attempts,
        };
        Self {
            triage: TRIAGE,
            training: TRAINING,
            ingestion: copilot_knowledge::INGESTION_RETRY,
            // An LLM that is down or rate-limits: a minute at most between tries.
            drafts: doubling(settings.draft_retry_base_ms, Duration::from_secs(60), 4),
            // Then the summary is written extractively.
            summaries: doubling(settings.draft_retry_base_ms, Duration::from_secs(60), 3),
            // Then it is left to an agent's request.
            translations: doubling(settings.draft_retry_base_ms, Duration::from_secs(60), 3),
            email: doubling(settings.delivery_retry_base_ms, Duration::from_secs(3600), settings.delivery_max_attempts),
            webhooks: Backoff::Schedule(settings.webhook_retry_schedule()),
        }
    }
}

/// Keeps the leases of claimed items while their work runs: renews them every third of the
/// lease, and stops when dropped, also when the work panics (a renewal left running would
/// keep the items with this process forever).
pub struct Renewal(tokio::task::JoinHandle<()>);

impl Renewal {
    /// Renews `items` (id and attempt) of `tenant` in `queue` until dropped.
    pub fn start(db: &Db, queue: Queue, tenant: TenantId, items: Vec<(Uuid, i32)>, lease: chrono::Duration) -> Self {
        let db = db.clone();
        let every = lease.to_std().unwrap_or(Duration::from_secs(30)) / 3;
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                for (id, attempt) in &items {
                    if let Err(error) = queue.renew(&db, tenant, *id, *attempt, lease).await {
                        tracing::warn!(queue = queue.name, %id, %error, "renewing a lease failed");
                    }
                }
            }
        }))
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A queue whose items are worked on one task each, several at a time, by [`run_pool`].
pub trait Pooled: Send + Sync + 'static {
    type Item: Send + 'static;
    /// The queue (its lease is one column: see `jobs::next_due`).
    const QUEUE: Queue;
    /// Items worked on at the same time in one process.
    const CONCURRENCY: usize;
    /// Wakes the worker when an item may have become due.
    fn wakeup(&self, state: &Pipeline) -> Arc<Notify>;
    /// Claims up to `limit` due items.
    fn claim(&self, state: &Pipeline, limit: u64) -> impl Future<Output = Result<Vec<Self::Item>, Error>> + Send;
    /// Works on one claimed item and records its outcome.
    fn work(state: Pipeline, item: Self::Item) -> impl Future<Output = ()> + Send + 'static;
}

/// How often a pool looks for due items when nothing wakes it.
const POOL_POLL: Duration = Duration::from_secs(1);

/// Until the process stops: claims due items of `queue` while fewer than its concurrency
/// are being worked on, each in its own task; sleeps until woken, the next item is due or
/// a task ends.
pub async fn run_pool<Q: Pooled>(state: Pipeline, queue: Q) {
    let mut running = JoinSet::new();
    let wakeup = queue.wakeup(&state);
    while !state.drain.stopping() {
        while running.try_join_next().is_some() {}
        let free = Q::CONCURRENCY.saturating_sub(running.len());
        let mut claimed_any = false;
        if free > 0 {
            match queue.claim(&state, free as u64).await {
                Ok(claimed) => {
                    for item in claimed {
                        claimed_any = true;
                        running.spawn(Q::work(state.clone(), item));
                    }
                }
                Err(error) => tracing::warn!(queue = Q::QUEUE.name, %error, "claiming failed"),
            }
        }
        if !claimed_any {
            let wait = match copilot_store::jobs::next_due(&state.db, &Q::QUEUE).await {
                Ok(Some(due)) => (due - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(POOL_POLL),
                _ => POOL_POLL,
            };
            tokio::select! {
                _ = wakeup.notified() => {}
                _ = state.drain.stopped() => {}
                _ = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
}

/// One round of a pool in the caller's task: works on the items due now, one after the
/// other; returns how many.
pub async fn run_pool_once<Q: Pooled>(state: &Pipeline, queue: Q) -> Result<usize, Error> {
    let claimed = queue.claim(state, Q::CONCURRENCY as u64).await?;
    let count = claimed.len();
    for item in claimed {
        Q::work(state.clone(), item).await;
    }
    Ok(count)
}

/// Wakes a worker through `wakeup` after `delay` rather than at its next poll.
pub fn wake_after(wakeup: &Arc<Notify>, delay: Duration) {
    let wakeup = Arc::clone(wakeup);
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        wakeup.notify_one();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_policies_wait_as_documented() {
        let waits = |policy: &Backoff| (1..=policy.max_attempts()).map(|n| policy.after_failure(n)).collect::<Vec<_>>();
        let secs = |n: u64| Some(Duration::from_secs(n));
        assert_eq!(waits(&TRIAGE), [secs(2), secs(4), secs(8), secs(16), secs(32), None]);
        assert_eq!(waits(&TRAINING), [secs(10), secs(20), None]);
        assert_eq!(waits(&copilot_knowledge::INGESTION_RETRY), [secs(5), secs(20), secs(80), secs(320), None]);
    }
}
