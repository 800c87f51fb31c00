//! HTTP metrics: request counts and latency histograms by operation, method and status,
//! in the process's registry (`copilot_pipeline::telemetry`), which `/metrics` renders.

use std::time::Instant;

use copilot_pipeline::telemetry::{SECONDS, Telemetry};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

/// Request series, registered with the process's telemetry.
#[derive(Clone)]
pub struct Metrics {
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub fn new(telemetry: &Telemetry) -> Self {
        let labels = ["operation", "method", "status"];
        let requests = IntCounterVec::new(
            Opts::new("copilot_http_requests_total", "HTTP requests by operation, method and status."),
            &labels,
        )
        .unwrap_or_else(|error| panic!("copilot_http_requests_total is well-formed: {error}"));
        let latency = HistogramVec::new(
            HistogramOpts::new("copilot_http_request_duration_seconds", "HTTP request latency.")
                .buckets(SECONDS.to_vec()),
            &labels,
        )
        .unwrap_or_else(|error| panic!("copilot_http_request_duration_seconds is well-formed: {error}"));
        telemetry.register(Box::new(requests.clone()));
        telemetry.register(Box::new(latency.clone()));
        Self { requests, latency }
    }

    pub fn observe(&self, operation: &str, method: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [operation, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }
}

/// The method as a label: the standard ones by name, anything else as `other`, so that
/// made-up methods cannot grow the series without bound (operations are a fixed set too:
/// an operation id, a probe's name, `docs` or `unmatched`).
fn method_label(method: &poem::http::Method) -> String {
    use poem::http::Method;
    let known = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if known.contains(method) { method.as_str().to_owned() } else { "other".to_owned() }
}

/// Middleware body: times the request, renders escaped errors as JSON, records the series.
pub async fn observe<E: Endpoint>(next: E, request: Request, metrics: Metrics) -> poem::Result<Response> {
    let started = Instant::now();
    let method = method_label(request.method());
    let path = request.uri().path().to_owned();
    let response = match next.call(request).await {
        Ok(response) => response.into_response(),
        Err(error) => crate::error::render(error),
    };
    let operation = response.data::<OperationId>().map(|id| id.0.to_owned()).unwrap_or_else(|| match path.as_str() {
        "/healthz" | "/readyz" | "/metrics" | "/openapi.json" => path.trim_start_matches('/').to_owned(),
        _ if path.starts_with("/docs") => "docs".to_owned(),
        _ => "unmatched".to_owned(),
    });
    metrics.observe(&operation, &method, response.status().as_u16(), started.elapsed().as_secs_f64());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_lands_in_its_buckets_and_counter() {
        let telemetry = Telemetry::new();
        let metrics = Metrics::new(&telemetry);
        metrics.observe("tickets.list", "GET", 200, 0.003);
        let text = telemetry.render(&[], &Default::default());
        assert!(
            text.contains("copilot_http_requests_total{method=\"GET\",operation=\"tickets.list\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(text.contains("le=\"0.0025\"} 0"));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 1"));
    }

    #[tokio::test]
    async fn made_up_methods_and_paths_do_not_grow_the_series() {
        use poem::{EndpointExt, Route, get, handler, http::Method};

        #[handler]
        fn ok() -> &'static str {
            "ok"
        }

        let telemetry = Telemetry::new();
        let observed = Metrics::new(&telemetry);
        let app =
            Route::new().at("/healthz", get(ok)).around(move |next, request| observe(next, request, observed.clone()));
        for n in 0..200 {
            let method = Method::from_bytes(format!("X{n}{}", "M".repeat(4000)).as_bytes()).expect("method");
            app.get_response(Request::builder().method(method).uri_str(format!("/made-up/{n}")).finish()).await;
        }
        let health = app.get_response(Request::builder().uri_str("/healthz").finish()).await;
        assert_eq!(health.status().as_u16(), 200);
        let text = telemetry.render(&[], &Default::default());
        assert!(text.len() < 20_000, "{} bytes", text.len());
        assert!(text.contains("method=\"other\",operation=\"unmatched\""), "{text}");
        assert!(text.contains("method=\"GET\",operation=\"healthz\",status=\"200\"} 1"), "{text}");
    }
}
