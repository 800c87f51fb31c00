//! Ingestion throughput: a CSV of FAQ pairs goes through the whole pipeline (parse, chunk,
//! embed with the real encoder, store in LanceDB, activate in the database); the bare
//! encoder embedding the same passages is the baseline. Prints one JSON line.
//!
//! `cargo bench -p copilot-api --bench ingest -- DIR [PAIRS]` (`bench/run-knowledge` runs it).

use std::{sync::Arc, time::Instant};

use copilot_api::{cli::load_models, config};
use copilot_core::{Actor, Principal, Role};
use copilot_knowledge::{
    Knowledge, VectorStore,
    chunk::chunk,
    documents::{self, Upload},
    parse::{self, Format},
    passage_text,
};
use copilot_pipeline::triage::{ModelTriager, TriagerEmbedder};
use copilot_triage::{TextKind, TriageOptions};

const TOPICS: [&str; 10] =
    ["order", "refund", "invoice", "password", "parcel", "warranty", "membership", "address", "battery", "coupon"];
const ACTIONS: [&str; 8] = ["change", "cancel", "track", "reset", "extend", "transfer", "renew", "check"];

fn faq_csv(pairs: usize) -> String {
    let mut csv = String::from("question,answer\n");
    for i in 0..pairs {
        let (topic, action) = (TOPICS[i % TOPICS.len()], ACTIONS[(i / TOPICS.len()) % ACTIONS.len()]);
        csv.push_str(&format!(
            "\"How do I {action} my {topic} (case {i})?\",\"To {action} your {topic}, open your account, choose {topic}s and select {action}. \
             If the option is missing, contact support with reference {i} and we will {action} it for you within two business days.\"\n"
        ));
    }
    csv
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    let dir = std::path::PathBuf::from(args.first().ok_or_else(|| anyhow::anyhow!("usage: ingest DIR [PAIRS]"))?);
    let pairs: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(5_000);
    std::fs::create_dir_all(&dir)?;

    let settings = config::load(None)?;
    let models = load_models(&settings)?;
    let triager = Arc::new(ModelTriager { models: Arc::clone(&models), options: TriageOptions::default() });
    let db = copilot_store::connect(&format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()), 4).await?;
    copilot_store::migrate(&db).await?;
    let created = copilot_tenancy::tenants::create(
        &db,
        copilot_tenancy::tenants::NewTenant {
            name: "Bench".into(),
            slug: None,
            owner_email: "owner@bench.test".into(),
            owner_password: None,
        },
    )
    .await?;
    let owner = Principal { tenant_id: created.tenant.id, actor: Actor::User(created.owner.id), role: Role::Owner };
    let store = VectorStore::open(dir.join("lance").to_str().unwrap_or_default(), models.encoder().dim()).await?;
    let knowledge = Knowledge::new(db.clone(), store, Arc::new(TriagerEmbedder(triager)));

    let csv = faq_csv(pairs);
    let tx = db.tenant(owner.tenant_id).await?;
    let upload = Upload {
        replaces: None,
        title: Some("FAQ".into()),
        external_id: None,
        tags: Vec::new(),
        format: Format::Csv,
        filename: Some("faq.csv".into()),
        content: csv.clone().into_bytes(),
    };
    documents::upload(&tx, &owner, upload).await?;
    tx.commit().await?;

    let started = Instant::now();
    let outcomes = knowledge.ingest_due(1).await?;
    let pipeline_seconds = started.elapsed().as_secs_f64();
    let chunk_count = match outcomes.first() {
        Some((_, copilot_knowledge::Ingested::Ready { chunk_count })) => *chunk_count,
        other => anyhow::bail!("ingestion did not finish: {other:?}"),
    };

    let chunks = chunk(&parse::parse(Format::Csv, csv.as_bytes())?, Default::default());
    let passages: Vec<String> = chunks.iter().map(|c| passage_text("FAQ", &c.heading(), &c.text)).collect();
    let started = Instant::now();
    for batch in passages.chunks(32) {
        let batch = batch.to_vec();
        let encoder_models = Arc::clone(&models);
        tokio::task::spawn_blocking(move || {
            let texts: Vec<&str> = batch.iter().map(String::as_str).collect();
            encoder_models.encoder().embed(&texts, TextKind::Passage)
        })
        .await??;
    }
    let encoder_seconds = started.elapsed().as_secs_f64();

    println!(
        "{}",
        serde_json::json!({
            "pairs": pairs,
            "chunks": chunk_count,
            "pipeline_seconds": pipeline_seconds,
            "pipeline_chunks_per_second": chunk_count as f64 / pipeline_seconds,
            "encoder_seconds": encoder_seconds,
            "encoder_chunks_per_second": passages.len() as f64 / encoder_seconds,
        })
    );
    Ok(())
}
