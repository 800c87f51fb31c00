//! Liveness, readiness and metrics, outside `/v1` and without authentication.

use std::{fmt::Write, time::Duration};

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

/// Prometheus text format: the process's request series, and the depth of every work
/// queue (the same in every process: they are read from the database).
#[handler]
pub async fn metrics(state: Data<&AppState>) -> Response {
    let mut text = state.metrics.render();
    let workers = state.pipeline.workers.status();
    if !workers.is_empty() {
        text.push_str("# HELP copilot_worker_up Whether a background worker of this process is running.\n");
        text.push_str("# TYPE copilot_worker_up gauge\n");
        for (name, status) in &workers {
            let _ = writeln!(text, "copilot_worker_up{{worker=\"{name}\"}} {}", u8::from(status.running));
        }
        text.push_str(
            "# HELP copilot_worker_restarts_total Times a background worker panicked and was started again.\n",
        );
        text.push_str("# TYPE copilot_worker_restarts_total counter\n");
        for (name, status) in &workers {
            let _ = writeln!(text, "copilot_worker_restarts_total{{worker=\"{name}\"}} {}", status.restarts);
        }
    }
    match copilot_store::jobs::depths(&state.pipeline.db).await {
        Ok(depths) => {
            text.push_str("# HELP copilot_queue_depth Jobs waiting or in progress, by queue, across tenants.\n");
            text.push_str("# TYPE copilot_queue_depth gauge\n");
            for (queue, depth) in depths {
                let _ = writeln!(text, "copilot_queue_depth{{queue=\"{queue}\"}} {depth}");
            }
        }
        Err(error) => tracing::warn!(%error, "reading the queue depths for /metrics failed"),
    }
    Response::builder().content_type("text/plain; version=0.0.4").body(text)
}
