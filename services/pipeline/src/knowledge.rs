//! The ingestion worker: takes queued knowledge documents (and those whose worker died
//! mid-way, once their lease runs out) and ingests them.

use std::time::Duration;

use copilot_knowledge::Ingested;
use tokio::task::JoinSet;

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
                        let knowledge = state.knowledge.clone();
                        running.spawn(async move {
                            match knowledge.ingest(&item).await {
                                Ok(Ingested::Ready { chunk_count }) => {
                                    tracing::info!(document = %item.document_id, version = item.version, chunk_count, "document ready");
                                }
                                Ok(_) => {}
                                Err(error) => {
                                    tracing::warn!(%error, document = %item.document_id, "ingesting a document failed");
                                }
                            }
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "claiming documents failed"),
            }
        }
        if !claimed_any {
            tokio::select! {
                _ = state.knowledge_wakeup.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
}
