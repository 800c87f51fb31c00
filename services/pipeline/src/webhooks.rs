//! The webhook worker: claims due deliveries, posts each (signed, Standard Webhooks) with
//! its own timeout while others run alongside, and records the outcome. A worker that dies
//! mid-attempt leaves the delivery to be attempted again when its lease runs out (at least
//! once; receivers deduplicate on `webhook-id`).

use std::time::Duration;

use copilot_channels::webhook::{Outcome, Sender, signature_header};
use copilot_core::Error;
use copilot_webhooks::deliveries::{self, Attempt, Claimed, Policy};
use tokio::task::JoinSet;

use crate::{JobRun, Pipeline};

/// How often the worker looks for due deliveries when it is idle.
const POLL: Duration = Duration::from_millis(250);

/// The sender, the failure policy and the lease of this process's attempts.
fn setup(state: &Pipeline) -> Result<(Sender, Policy, chrono::Duration), String> {
    let timeout = Duration::from_secs(state.settings.webhook_timeout_seconds);
    let sender = Sender::new(timeout, state.settings.webhook_allow_private).map_err(|error| error.to_string())?;
    let policy = Policy {
        retry: state.policies.webhooks.clone(),
        disable_after: chrono::Duration::hours(state.settings.webhook_disable_after_hours as i64),
    };
    // Long enough for the attempt and its bookkeeping.
    let lease = chrono::Duration::seconds(state.settings.webhook_timeout_seconds as i64 * 2 + 15);
    Ok((sender, policy, lease))
}

/// One round in the caller's task: makes the attempts due now one after another; returns
/// how many it claimed.
pub async fn run_once(state: &Pipeline) -> Result<usize, Error> {
    let (sender, policy, lease) = setup(state).map_err(Error::internal)?;
    let claimed = deliveries::claim(&state.db, state.settings.webhook_concurrency as u64, lease).await?;
    let count = claimed.len();
    for item in claimed {
        attempt(state.clone(), sender.clone(), policy.clone(), item).await;
    }
    Ok(count)
}

/// Runs forever; failures are logged and the loop goes on.
pub async fn run_worker(state: Pipeline) {
    let (sender, policy, lease) = match setup(&state) {
        Ok(setup) => setup,
        Err(error) => {
            tracing::error!(%error, "the webhook sender cannot start; webhooks will not be delivered");
            return;
        }
    };
    let mut running = JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        let free = state.settings.webhook_concurrency.saturating_sub(running.len());
        // One guard per attempt, taken before the claim and held until its outcome is
        // recorded, so that stopping waits for the attempts in flight.
        let mut guards: Vec<_> = (0..free).map_while(|_| state.drain.guard()).collect();
        if guards.is_empty() && state.drain.stopping() {
            return;
        }
        let mut claimed_any = false;
        if !guards.is_empty() {
            match deliveries::claim(&state.db, guards.len() as u64, lease).await {
                Ok(claimed) => {
                    for (item, guard) in claimed.into_iter().zip(guards.drain(..)) {
                        claimed_any = true;
                        let attempt = attempt(state.clone(), sender.clone(), policy.clone(), item);
                        running.spawn(async move {
                            attempt.await;
                            drop(guard);
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "claiming webhook deliveries failed"),
            }
        }
        drop(guards);
        if !claimed_any {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
}

async fn attempt(state: Pipeline, sender: Sender, policy: Policy, item: Claimed) {
    if let Err(error) = try_attempt(&state, &sender, &policy, item).await {
        tracing::warn!(tenant = %item.tenant_id, delivery = %item.delivery_id, %error, "a webhook attempt could not be recorded");
    }
}

async fn try_attempt(state: &Pipeline, sender: &Sender, policy: &Policy, item: Claimed) -> Result<(), Error> {
    let tx = state.db.tenant(item.tenant_id).await?;
    let job = deliveries::job(&tx, item.delivery_id, &state.sealer).await?;
    tx.commit().await?;
    let Some(job) = job else { return Ok(()) };
    let request_id = job.request_id.clone();
    let run = JobRun {
        queue: deliveries::QUEUE.name,
        tenant: item.tenant_id,
        id: item.delivery_id,
        attempt: item.attempt,
        request_id: request_id.as_deref(),
        queued_at: item.queued_at,
    };
    state.run_job(run, send(state, sender, policy, item, job)).await
}

/// One attempt of a loaded delivery, and its outcome recorded.
async fn send(
    state: &Pipeline,
    sender: &Sender,
    policy: &Policy,
    item: Claimed,
    job: deliveries::Job,
) -> Result<(), Error> {
    let timestamp = chrono::Utc::now().timestamp();
    let signature = signature_header(&job.secrets, &job.message_id, timestamp, &job.body);
    let outcome = sender.post(&job.url, &job.message_id, timestamp, &signature, job.body.clone()).await;
    let attempt = match outcome {
        Outcome::Answered { status, body } => Attempt::Answered { status, body },
        Outcome::Failed(error) => Attempt::Failed(error),
    };
    if !matches!(attempt, Attempt::Answered { status: 200..=299, .. }) {
        state.telemetry.job_failed(deliveries::QUEUE.name);
    }
    tracing::debug!(tenant = %item.tenant_id, delivery = %job.delivery_id, attempt = job.attempts, ?attempt, "webhook attempt");
    let tx = state.db.tenant(item.tenant_id).await?;
    deliveries::record(&tx, &job, attempt, policy).await?;
    tx.commit().await
}
