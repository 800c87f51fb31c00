//! Liveness, readiness and metrics, outside `/v1` and without authentication.

use std::time::Duration;

use poem::{IntoResponse, Response, handler, http::StatusCode, web::Data};

use crate::AppState;

/// The process is up.
#[handler]
pub async fn healthz() -> Response {
    poem::web::Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// How long readiness waits for the database: well within a probe's timeout.
const READY_DATABASE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The process can serve: the database answers (within [`READY_DATABASE_TIMEOUT`]) and
/// every worker it runs is running.
#[handler]
pub async fn readyz(state: Data<&AppState>) -> Response {
    let detail = match tokio::time::timeout(READY_DATABASE_TIMEOUT, state.pipeline.db.ping()).await {
        Err(_) => "the database does not answer".to_owned(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            "the database does not answer".to_owned()
        }
        Ok(Ok(())) => {
            let down = state.pipeline.workers.down();
            if down.is_empty() {
                return poem::web::Json(serde_json::json!({ "status": "ready" })).into_response();
            }
            format!("workers not running: {}", down.join("; "))
        }
    };
    let body = crate::error::ErrorBody { code: "not_ready".into(), detail };
    let mut response = poem::web::Json(body).into_response();
    response.set_status(StatusCode::SERVICE_UNAVAILABLE);
    response
}

/// Prometheus text format: the process's series (requests, jobs, LLM calls, ingestion,
/// workers) and the depth of every work queue (the same in every process: read from the
/// database).
#[handler]
pub async fn metrics(state: Data<&AppState>) -> Response {
    let pipeline = &state.pipeline;
    let depths =
        copilot_store::jobs::depths(&pipeline.db, &copilot_pipeline::queues::ALL).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "reading the queue depths for /metrics failed");
            Vec::new()
        });
    let text = pipeline.telemetry.render(&depths, &pipeline.workers.status());
    Response::builder().content_type("text/plain; version=0.0.4").body(text)
}
