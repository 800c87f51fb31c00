//! Liveness, readiness and metrics, outside `/v1` and without authentication.

use std::fmt::Write;

use poem::{IntoResponse, Response, handler, http::StatusCode, web::Data};

use crate::AppState;

/// The process is up.
#[handler]
pub async fn healthz() -> Response {
    poem::web::Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// The process can serve: the database answers.
#[handler]
pub async fn readyz(state: Data<&AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => poem::web::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            let body =
                crate::error::ErrorBody { code: "not_ready".into(), detail: "the database does not answer".into() };
            let mut response = poem::web::Json(body).into_response();
            response.set_status(StatusCode::SERVICE_UNAVAILABLE);
            response
        }
    }
}

/// Prometheus text format: the process's request series, and the depth of every work
/// queue (the same in every process: they are read from the database).
#[handler]
pub async fn metrics(state: Data<&AppState>) -> Response {
    let mut text = state.metrics.render();
    match copilot_store::jobs::depths(&state.db).await {
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
