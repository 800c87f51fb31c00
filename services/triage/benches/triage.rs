//! Triage throughput and latency through the Rust pipeline (tokenizer, encoder, heads,
//! language), for bench/triage: run with `cargo bench -p copilot-triage --bench triage --
//! TEXTS_FILE`. Prints one JSON object.

use std::{path::PathBuf, time::Instant};

use copilot_triage::{Models, TriageOptions, default_models_dir, model_set_dir};

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let texts_file = std::env::args().skip(1).find(|arg| !arg.starts_with("--")).expect("a texts file (one per line)");
    let texts: Vec<String> = std::fs::read_to_string(&texts_file)
        .expect("texts")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let base = std::env::var_os("COPILOT_MODELS_DIR").map(PathBuf::from).unwrap_or_else(default_models_dir);
    let models = Models::load(&model_set_dir(&base), 2).expect("models");
    let options = TriageOptions::default();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    // Warm-up: first runs allocate and pick kernels.
    models.triage(&refs[..16.min(refs.len())], None, options).expect("warm-up");

    let mut latencies = Vec::with_capacity(refs.len());
    for text in &refs {
        let started = Instant::now();
        models.triage(&[text], None, options).expect("triage");
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);

    let started = Instant::now();
    let rounds = 3;
    for _ in 0..rounds {
        models.triage(&refs, None, options).expect("batch triage");
    }
    let batch_seconds = started.elapsed().as_secs_f64() / rounds as f64;

    println!(
        "{}",
        serde_json::json!({
            "texts": refs.len(),
            "single_p50_ms": percentile(&latencies, 0.50),
            "single_p99_ms": percentile(&latencies, 0.99),
            "single_mean_ms": latencies.iter().sum::<f64>() / latencies.len() as f64,
            "batch_texts_per_second": refs.len() as f64 / batch_seconds,
        })
    );
}
