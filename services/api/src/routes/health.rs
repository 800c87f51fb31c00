//! Liveness, readiness and metrics, outside `/v1` and without authentication.

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

/// Prometheus text format.
#[handler]
pub async fn metrics(state: Data<&AppState>) -> Response {
    Response::builder().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}
