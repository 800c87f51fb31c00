//! Prometheus metrics: request counts and latency histograms by operation and status.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
    time::Instant,
};

use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Operation, method and status of a series.
type SeriesKey = (String, String, u16);

/// Request metrics shared by all handlers.
#[derive(Clone, Default)]
pub struct Metrics {
    series: Arc<Mutex<BTreeMap<SeriesKey, Series>>>,
}

impl Metrics {
    pub fn observe(&self, operation: &str, method: &str, status: u16, seconds: f64) {
        let Ok(mut series) = self.series.lock() else { return };
        let entry = series.entry((operation.to_owned(), method.to_owned(), status)).or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(series) = self.series.lock() else { return out };
        out.push_str("# HELP copilot_http_requests_total HTTP requests by operation, method and status.\n");
        out.push_str("# TYPE copilot_http_requests_total counter\n");
        for ((operation, method, status), s) in series.iter() {
            let _ = writeln!(
                out,
                "copilot_http_requests_total{{operation=\"{operation}\",method=\"{method}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP copilot_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE copilot_http_request_duration_seconds histogram\n");
        for ((operation, method, status), s) in series.iter() {
            let labels = format!("operation=\"{operation}\",method=\"{method}\",status=\"{status}\"");
            for (bound, count) in BUCKETS.iter().zip(s.buckets) {
                let _ =
                    writeln!(out, "copilot_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "copilot_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "copilot_http_request_duration_seconds_sum{{{labels}}} {}", s.sum_seconds);
            let _ = writeln!(out, "copilot_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        out
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
        let metrics = Metrics::default();
        metrics.observe("tickets.list", "GET", 200, 0.003);
        let text = metrics.render();
        assert!(
            text.contains("copilot_http_requests_total{operation=\"tickets.list\",method=\"GET\",status=\"200\"} 1")
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

        let metrics = Metrics::default();
        let observed = metrics.clone();
        let app =
            Route::new().at("/healthz", get(ok)).around(move |next, request| observe(next, request, observed.clone()));
        for n in 0..200 {
            let method = Method::from_bytes(format!("X{n}{}", "M".repeat(4000)).as_bytes()).expect("method");
            app.get_response(Request::builder().method(method).uri_str(format!("/made-up/{n}")).finish()).await;
        }
        let health = app.get_response(Request::builder().uri_str("/healthz").finish()).await;
        assert_eq!(health.status().as_u16(), 200);
        let text = metrics.render();
        assert!(text.len() < 10_000, "{} bytes", text.len());
        assert!(text.contains("operation=\"unmatched\",method=\"other\""), "{text}");
        assert!(text.contains("operation=\"healthz\",method=\"GET\",status=\"200\"} 1"), "{text}");
    }
}
