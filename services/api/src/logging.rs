//! The process's log output and, when `otlp_endpoint` is set, the export of every span
//! (requests, jobs) as OpenTelemetry traces over OTLP/HTTP.

use copilot_core::settings::{LogFormat, Settings};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

/// Keeps the trace exporter alive; dropping it sends the spans still buffered.
pub struct Logging {
    traces: Option<SdkTracerProvider>,
}

impl Drop for Logging {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("exporting the last traces failed: {error}");
        }
    }
}

/// The URL spans are posted to: the collector's base URL, or a full `/v1/traces` URL.
fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if endpoint.ends_with("/v1/traces") { endpoint.to_owned() } else { format!("{endpoint}/v1/traces") }
}

fn filter(settings: &Settings) -> EnvFilter {
    EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber: logs on stderr in the configured format and, with an
/// OTLP endpoint, spans exported in batches (a collector that is down costs dropped
/// spans, never a stalled request).
pub fn init(settings: &Settings) -> anyhow::Result<Logging> {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let output = tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(std::io::stderr);
    let output = match settings.log_format {
        LogFormat::Json => output.json().with_filter(filter(settings)).boxed(),
        LogFormat::Text => output.with_filter(filter(settings)).boxed(),
    };
    let mut traces = None;
    let export = if settings.otlp_endpoint.trim().is_empty() {
        None
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(traces_url(&settings.otlp_endpoint))
            .build()
            .map_err(|error| anyhow::anyhow!("cannot export traces to COPILOT_OTLP_ENDPOINT: {error}"))?;
        let resource = opentelemetry_sdk::Resource::builder().with_service_name("copilot").build();
        let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
        let tracer = provider.tracer("copilot");
        traces = Some(provider);
        // Spans at info and above, whatever the log level: a request's and a job's spans
        // reach the collector even when the logs say only warnings.
        Some(tracing_opentelemetry::layer().with_tracer(tracer).with_filter(EnvFilter::new("info")))
    };
    // A second initialisation (tests that run the CLI twice) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(output).with(export).try_init();
    Ok(Logging { traces })
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(traces_url("http://collector:4318"), "http://collector:4318/v1/traces");
        assert_eq!(traces_url("http://collector:4318/"), "http://collector:4318/v1/traces");
        assert_eq!(traces_url("https://otel.example/v1/traces"), "https://otel.example/v1/traces");
    }
}
