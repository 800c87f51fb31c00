//! The queue kit as the workers use it: every durable queue, its retry policy (one place
//! for all of them; the table is in `docs/queues.md`), and the renewal that keeps a claimed
//! item's lease while its work runs.

use std::time::Duration;

use copilot_core::{TenantId, retry::Backoff, settings::Settings};
use copilot_store::{Db, jobs::Queue};
use uuid::Uuid;

/// Every durable queue, in the order `/metrics` and `/readyz` list them.
pub const ALL: [Queue; 7] = [
    copilot_intents::triage::QUEUE,
    copilot_intents::taxonomy::TRAINING_QUEUE,
    copilot_knowledge::documents::QUEUE,
    copilot_drafts::drafts::QUEUE,
    copilot_summaries::QUEUE,
    copilot_mail::deliveries::QUEUE,
    copilot_webhooks::deliveries::QUEUE,
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
