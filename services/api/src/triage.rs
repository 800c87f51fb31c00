//! Triage in the running service: the triager behind `POST /v1/triage` and the worker
//! that drains pending message triage (claim with a lease, run the models off the async
//! workers, store results, retry failures with backoff).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use copilot_core::{Error, TenantId};
use copilot_tickets::triage::{self, Claimed, TriageResult};
use copilot_triage::{Models, Triage, TriageOptions};
use uuid::Uuid;

use crate::AppState;

/// Runs the models on texts. The service uses [`ModelTriager`]; tests may wrap it.
#[async_trait::async_trait]
pub trait Triager: Send + Sync {
    async fn triage(&self, texts: Vec<String>) -> Result<Vec<Triage>, String>;
}

/// The ONNX models with the configured options.
pub struct ModelTriager {
    pub models: Arc<Models>,
    pub options: TriageOptions,
}

#[async_trait::async_trait]
impl Triager for ModelTriager {
    async fn triage(&self, texts: Vec<String>) -> Result<Vec<Triage>, String> {
        self.models.triage_blocking(texts, None, self.options).await.map_err(|error| error.to_string())
    }
}

/// A triager for commands that serve no requests (`copilot openapi`).
pub struct NoTriager;

#[async_trait::async_trait]
impl Triager for NoTriager {
    async fn triage(&self, _texts: Vec<String>) -> Result<Vec<Triage>, String> {
        Err("the triage models are not loaded in this command".into())
    }
}

/// Items claimed per round.
const CLAIM_BATCH: u64 = 16;
/// How long a claimed item stays with its worker before another may take it.
const LEASE_SECONDS: i64 = 120;
/// How often the worker looks for due items when nothing wakes it.
const POLL: Duration = Duration::from_secs(1);

/// Runs forever: drains due items, then waits for a wake-up or the next poll.
pub async fn run_worker(state: AppState) {
    loop {
        match drain(&state).await {
            Ok(0) => {
                tokio::select! {
                    _ = state.triage_wakeup.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "triage worker round failed");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// Claims one batch of due items and processes it; returns how many were claimed.
pub async fn drain(state: &AppState) -> Result<usize, Error> {
    let claimed = triage::claim(&state.db, CLAIM_BATCH, chrono::Duration::seconds(LEASE_SECONDS)).await?;
    let count = claimed.len();
    let mut by_tenant: BTreeMap<Uuid, Vec<Claimed>> = BTreeMap::new();
    for item in claimed {
        by_tenant.entry(item.tenant_id.0).or_default().push(item);
    }
    for (tenant, items) in by_tenant {
        process_tenant(state, TenantId(tenant), &items).await?;
    }
    Ok(count)
}

async fn process_tenant(state: &AppState, tenant: TenantId, items: &[Claimed]) -> Result<(), Error> {
    let ids: Vec<Uuid> = items.iter().map(|item| item.message_id).collect();
    let bodies = {
        let tx = state.db.tenant(tenant).await?;
        triage::bodies(&tx, &ids).await?
    };
    let present: Vec<Uuid> = ids.into_iter().filter(|id| bodies.contains_key(id)).collect();
    let texts: Vec<String> = present.iter().filter_map(|id| bodies.get(id).cloned()).collect();
    let outcome = state.triager.triage(texts).await;
    let tx = state.db.tenant(tenant).await?;
    match outcome {
        Ok(results) if results.len() == present.len() => {
            for (id, result) in present.iter().zip(results) {
                let stored = TriageResult {
                    intent: result.intent.label,
                    intent_confidence: f64::from(result.intent.confidence),
                    sentiment: result.sentiment.label,
                    sentiment_score: f64::from(result.sentiment.score),
                    language: result.language,
                };
                triage::complete(&tx, *id, &stored, &state.escalation).await?;
            }
        }
        Ok(results) => {
            let error = format!("the models returned {} results for {} messages", results.len(), present.len());
            for id in &present {
                triage::fail(&tx, *id, &error).await?;
            }
        }
        Err(error) => {
            tracing::warn!(%tenant, %error, count = present.len(), "triage failed; will retry");
            for id in &present {
                triage::fail(&tx, *id, &error).await?;
            }
        }
    }
    tx.commit().await
}
