//! The process's metrics, in one Prometheus registry per process (per app in tests): how
//! long jobs wait and run per queue, LLM latency and tokens per model, passages per
//! ingested document, the workers' health and the queues' depth. The HTTP layer adds its
//! own series to the same registry; `/metrics` renders it.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// Latency buckets in seconds, from a millisecond to ten minutes.
pub const SECONDS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0];

/// Distinct model names kept as labels; later ones are counted as `other`, so tenants
/// naming made-up models cannot grow the series without bound.
const MAX_MODELS: usize = 64;

/// The registry and the series the workers feed.
#[derive(Clone)]
pub struct Telemetry {
    pub registry: Registry,
    job_wait: HistogramVec,
    job_run: HistogramVec,
    job_failures: IntCounterVec,
    llm_latency: HistogramVec,
    llm_tokens: IntCounterVec,
    ingestion_chunks: Histogram,
    queue_depth: IntGaugeVec,
    worker_up: IntGaugeVec,
    worker_restarts: IntCounterVec,
    models: Arc<Mutex<HashSet<String>>>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    pub fn new() -> Self {
        let registry = Registry::new();
        let seconds = |name: &str, help: &str, labels: &[&str]| {
            HistogramVec::new(HistogramOpts::new(name, help).buckets(SECONDS.to_vec()), labels)
                .unwrap_or_else(|error| panic!("the metric {name} is well-formed: {error}"))
        };
        let telemetry = Self {
            job_wait: seconds(
                "copilot_job_wait_seconds",
                "Time from a job being queued to its first claim, by queue.",
                &["queue"],
            ),
            job_run: seconds("copilot_job_run_seconds", "Time a job attempt ran, by queue.", &["queue"]),
            job_failures: IntCounterVec::new(
                Opts::new("copilot_job_failures_total", "Job attempts that failed (retried or given up), by queue."),
                &["queue"],
            )
            .unwrap_or_else(|error| panic!("copilot_job_failures_total is well-formed: {error}")),
            llm_latency: seconds(
                "copilot_llm_request_duration_seconds",
                "LLM calls' latency, by model and outcome.",
                &["model", "outcome"],
            ),
            llm_tokens: IntCounterVec::new(
                Opts::new("copilot_llm_tokens_total", "Tokens the LLM read (prompt) and wrote (completion), by model."),
                &["model", "kind"],
            )
            .unwrap_or_else(|error| panic!("copilot_llm_tokens_total is well-formed: {error}")),
            ingestion_chunks: Histogram::with_opts(
                HistogramOpts::new("copilot_ingestion_chunks", "Passages per ingested document version.")
                    .buckets(vec![1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0]),
            )
            .unwrap_or_else(|error| panic!("copilot_ingestion_chunks is well-formed: {error}")),
            queue_depth: IntGaugeVec::new(
                Opts::new("copilot_queue_depth", "Jobs waiting or in progress, by queue, across tenants."),
                &["queue"],
            )
            .unwrap_or_else(|error| panic!("copilot_queue_depth is well-formed: {error}")),
            worker_up: IntGaugeVec::new(
                Opts::new("copilot_worker_up", "Whether a background worker of this process is running."),
                &["worker"],
            )
            .unwrap_or_else(|error| panic!("copilot_worker_up is well-formed: {error}")),
            worker_restarts: IntCounterVec::new(
                Opts::new("copilot_worker_restarts_total", "Times a background worker panicked and was started again."),
                &["worker"],
            )
            .unwrap_or_else(|error| panic!("copilot_worker_restarts_total is well-formed: {error}")),
            models: Arc::default(),
            registry,
        };
        telemetry.register(Box::new(telemetry.job_wait.clone()));
        telemetry.register(Box::new(telemetry.job_run.clone()));
        telemetry.register(Box::new(telemetry.job_failures.clone()));
        telemetry.register(Box::new(telemetry.llm_latency.clone()));
        telemetry.register(Box::new(telemetry.llm_tokens.clone()));
        telemetry.register(Box::new(telemetry.ingestion_chunks.clone()));
        telemetry.register(Box::new(telemetry.queue_depth.clone()));
        telemetry.register(Box::new(telemetry.worker_up.clone()));
        telemetry.register(Box::new(telemetry.worker_restarts.clone()));
        telemetry
    }

    /// Adds a collector of another layer (the HTTP series) to the registry.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        if let Err(error) = self.registry.register(collector) {
            tracing::warn!(%error, "a metric could not be registered");
        }
    }

    /// A claim of a job: on its first attempt, how long it waited since it was queued.
    pub fn claimed(&self, queue: &str, attempt: i32, queued_at: chrono::DateTime<chrono::Utc>) {
        if attempt == 1 {
            let waited = (copilot_core::now() - queued_at).to_std().unwrap_or_default();
            self.job_wait.with_label_values(&[queue]).observe(waited.as_secs_f64());
        }
    }

    /// One attempt of a job and how long it ran.
    pub fn job_ran(&self, queue: &str, ran: Duration) {
        self.job_run.with_label_values(&[queue]).observe(ran.as_secs_f64());
    }

    /// A job attempt that failed (it is retried or given up).
    pub fn job_failed(&self, queue: &str) {
        self.job_failures.with_label_values(&[queue]).inc();
    }

    /// One LLM call: its model, latency, outcome and tokens.
    pub fn llm_called(&self, model: &str, succeeded: bool, took: Duration, prompt_tokens: u32, completion_tokens: u32) {
        let model = self.model_label(model);
        let outcome = if succeeded { "ok" } else { "failed" };
        self.llm_latency.with_label_values(&[model.as_str(), outcome]).observe(took.as_secs_f64());
        self.llm_tokens.with_label_values(&[model.as_str(), "prompt"]).inc_by(u64::from(prompt_tokens));
        self.llm_tokens.with_label_values(&[model.as_str(), "completion"]).inc_by(u64::from(completion_tokens));
    }

    /// An ingested document version's passages.
    pub fn ingested(&self, chunks: usize) {
        self.ingestion_chunks.observe(chunks as f64);
    }

    /// The Prometheus text of every series, after reading the queues' depths and the
    /// workers' state as they are now.
    pub fn render(
        &self,
        depths: &[(String, i64)],
        workers: &std::collections::BTreeMap<&'static str, crate::supervisor::WorkerStatus>,
    ) -> String {
        for (queue, depth) in depths {
            self.queue_depth.with_label_values(&[queue.as_str()]).set(*depth);
        }
        for (name, status) in workers {
            self.worker_up.with_label_values(&[*name]).set(i64::from(status.running));
            let restarts = self.worker_restarts.with_label_values(&[*name]);
            restarts.inc_by(status.restarts.saturating_sub(restarts.get()));
        }
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_else(|error| {
            tracing::warn!(%error, "rendering the metrics failed");
            String::new()
        })
    }

    fn model_label(&self, model: &str) -> String {
        let model: String = model.chars().take(80).collect();
        let Ok(mut models) = self.models.lock() else { return "other".into() };
        if models.contains(&model) || (models.len() < MAX_MODELS && models.insert(model.clone())) {
            model
        } else {
            "other".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_llm_calls_and_ingestion_land_in_their_series() {
        let telemetry = Telemetry::new();
        telemetry.claimed("triage", 1, copilot_core::now() - chrono::Duration::milliseconds(30));
        telemetry.claimed("triage", 2, copilot_core::now() - chrono::Duration::hours(1));
        telemetry.job_ran("drafts", Duration::from_millis(1500));
        telemetry.job_failed("drafts");
        telemetry.llm_called("gpt-test", true, Duration::from_millis(800), 120, 40);
        telemetry.ingested(42);
        let workers = [("triage", crate::supervisor::WorkerStatus { running: true, restarts: 2, last_failure: None })];
        let text = telemetry.render(&[("triage".into(), 3)], &workers.into_iter().collect());
        for line in [
            r#"copilot_job_wait_seconds_bucket{queue="triage",le="0.05"} 1"#,
            r#"copilot_job_run_seconds_count{queue="drafts"} 1"#,
            r#"copilot_job_failures_total{queue="drafts"} 1"#,
            r#"copilot_llm_request_duration_seconds_bucket{model="gpt-test",outcome="ok",le="1"} 1"#,
            r#"copilot_llm_tokens_total{kind="prompt",model="gpt-test"} 120"#,
            r#"copilot_llm_tokens_total{kind="completion",model="gpt-test"} 40"#,
            r#"copilot_ingestion_chunks_bucket{le="50"} 1"#,
            r#"copilot_queue_depth{queue="triage"} 3"#,
            r#"copilot_worker_up{worker="triage"} 1"#,
            r#"copilot_worker_restarts_total{worker="triage"} 2"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn made_up_model_names_do_not_grow_the_series() {
        let telemetry = Telemetry::new();
        for n in 0..500 {
            telemetry.llm_called(&format!("model-{n}-{}", "x".repeat(500)), false, Duration::from_millis(1), 0, 0);
        }
        let text = telemetry.render(&[], &Default::default());
        assert!(text.contains(r#"model="other""#), "{}", &text[..2000.min(text.len())]);
        let series = text.lines().filter(|line| line.starts_with("copilot_llm_tokens_total{")).count();
        assert_eq!(series, 2 * (MAX_MODELS + 1));
    }
}
