//! The ingestion worker: takes queued knowledge documents (and those whose worker died
//! mid-way, once their lease runs out) and ingests them.

use std::time::Duration;

use copilot_knowledge::{Ingested, documents::Claimed};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::Pipeline;

/// How often the worker looks for due documents when nothing wakes it.
const POLL: Duration = Duration::from_secs(1);

/// Runs forever: keeps up to `knowledge_concurrency` documents being ingested, each claimed
/// on its own and fairly across tenants (at most one of a tenant at a time), so one
/// tenant's long document never holds up another's.
pub async fn run_worker(state: Pipeline) {
    let mut running = JoinSet::new();
    // Once the process is stopping, nothing new is claimed.
    while !state.drain.stopping() {
        while running.try_join_next().is_some() {}
        let mut claimed_any = false;
        if running.len() < state.settings.knowledge_concurrency {
            match state.knowledge.claim_due(1).await {
                Ok(claimed) => {
                    for item in claimed {
                        claimed_any = true;
                        running.spawn(ingest(state.clone(), item));
                    }
                }
                Err(error) => tracing::warn!(%error, "claiming documents failed"),
            }
        }
        if !claimed_any {
            tokio::select! {
                _ = state.knowledge_wakeup.notified() => {}
                _ = state.drain.stopped() => {}
                _ = tokio::time::sleep(POLL) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
}

/// One round in the caller's task: ingests the documents due now one after another;
/// returns how many it claimed.
pub async fn run_once(state: &Pipeline) -> Result<usize, copilot_core::Error> {
    let claimed = state.knowledge.claim_due(state.settings.knowledge_concurrency.max(1) as u64).await?;
    let count = claimed.len();
    for item in claimed {
        ingest(state.clone(), item).await;
    }
    Ok(count)
}

/// Ingests one claimed version in its job's span, with its run time and outcome measured.
async fn ingest(state: Pipeline, item: Claimed) {
    let queue = copilot_knowledge::documents::QUEUE.name;
    state.telemetry.claimed(queue, item.attempts, item.queued_at);
    let started = std::time::Instant::now();
    let span = crate::job_span(queue, item.tenant_id, item.document_id, item.attempts, None);
    let outcome = state.knowledge.ingest(&item).instrument(span).await;
    state.telemetry.job_ran(queue, started.elapsed());
    match outcome {
        Ok(Ingested::Ready { chunk_count }) => {
            state.telemetry.ingested(chunk_count);
            tracing::info!(document = %item.document_id, version = item.version, chunk_count, "document ready");
        }
        Ok(Ingested::Failed { .. } | Ingested::Retrying { .. }) => state.telemetry.job_failed(queue),
        Ok(Ingested::Discarded) => {}
        Err(error) => tracing::warn!(%error, document = %item.document_id, "ingesting a document failed"),
    }
}
