//! Background housekeeping of `copilot serve`: purges expired sessions and idempotency
//! records, past live-only events and lapsed presence, and keeps the knowledge base's
//! tables compact.

use std::time::Duration;

use crate::Pipeline;

/// How often housekeeping runs.
const PERIOD: Duration = Duration::from_secs(600);

/// Runs forever; each pass logs its failures and goes on.
pub async fn run(state: Pipeline) {
    let mut interval = tokio::time::interval(PERIOD);
    loop {
        interval.tick().await;
        match copilot_tenancy::auth::purge_expired_sessions(&state.db).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "purged expired sessions"),
            Err(error) => tracing::warn!(%error, "purging expired sessions failed"),
        }
        let ttl = i64::from(state.settings.idempotency_ttl_hours);
        match copilot_store::idempotency::purge_expired(&state.db, ttl).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "purged expired idempotency keys"),
            Err(error) => tracing::warn!(%error, "purging idempotency keys failed"),
        }
        match copilot_store::events::purge_live(&state.db).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "purged past live-only events"),
            Err(error) => tracing::warn!(%error, "purging live-only events failed"),
        }
        match copilot_store::presence::purge_lapsed(&state.db, copilot_conversations::presence::PRESENCE_TTL).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "forgot lapsed presence"),
            Err(error) => tracing::warn!(%error, "forgetting lapsed presence failed"),
        }
        if let Err(error) = state.knowledge.optimize_tables().await {
            tracing::warn!(%error, "optimizing the knowledge tables failed");
        }
    }
}
