//! The ingestion worker: takes queued knowledge documents (and those whose worker died
//! mid-way, once their lease runs out) and ingests them.

use std::time::Duration;

use copilot_knowledge::Ingested;

use crate::AppState;

/// Documents claimed per round; each is ingested in turn.
const CLAIM_BATCH: u64 = 2;
/// How often the worker looks for due documents when nothing wakes it.
const POLL: Duration = Duration::from_secs(1);

/// Runs forever: ingests due documents, then waits for an upload or the next poll.
pub async fn run_worker(state: AppState) {
    // Once the process is stopping, nothing new is claimed.
    while !state.drain.stopping() {
        match state.knowledge.ingest_due(CLAIM_BATCH).await {
            Ok(outcomes) if outcomes.is_empty() => {
                tokio::select! {
                    _ = state.knowledge_wakeup.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            Ok(outcomes) => {
                for (claimed, outcome) in outcomes {
                    if let Ingested::Ready { chunk_count } = outcome {
                        tracing::info!(document = %claimed.document_id, version = claimed.version, chunk_count, "document ready");
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "ingestion round failed");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}
