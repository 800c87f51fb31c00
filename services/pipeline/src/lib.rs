//! The application layer: the background workers and the use cases that span capabilities
//! (a customer message's triage, its draft, the reply's delivery, the events' webhooks,
//! ingestion, housekeeping), with the state they share and their supervision.
//!
//! Architecture invariant: no HTTP server here. `copilot-api` assembles a `Pipeline` into
//! its own state, serves requests and starts the workers with [`Pipeline::start_workers`].

pub mod ask;
pub mod auto_translation;
pub mod conversations;
pub mod delivery;
pub mod discovery;
pub mod drafting;
pub mod drain;
pub mod housekeeping;
pub mod inbound;
pub mod knowledge;
pub mod labelling;
pub mod llm;
pub mod macros;
pub mod queues;
pub mod regroup;
pub mod rewrite;
pub mod satisfaction;
pub mod service_levels;
pub mod summaries;
pub mod supervisor;
pub mod telemetry;
pub mod translation;
pub mod triage;
pub mod webhooks;

use std::sync::Arc;

use copilot_core::{model::Priority, settings::Settings};
use copilot_intents::triage::EscalationRule;
use copilot_knowledge::{Knowledge, VectorStore};
use copilot_store::{Db, sealed::Sealer};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;

use crate::{
    drafting::DraftStreams,
    triage::{Triager, TriagerEmbedder},
};

/// What the workers and the use cases share: the database, the settings, the models, the
/// knowledge base, the LLM client, the wake-up signals of the queues and the supervision.
#[derive(Clone)]
pub struct Pipeline {
    pub db: Db,
    pub settings: Arc<Settings>,
    /// Runs the triage models (`POST /v1/triage` and the triage worker).
    pub triager: Arc<dyn Triager>,
    /// Wakes the triage worker when a customer message arrives.
    pub triage_wakeup: Arc<Notify>,
    /// Wakes the model worker when a training or a discovery run is queued.
    pub models_wakeup: Arc<Notify>,
    pub escalation: EscalationRule,
    /// Documents, ingestion and search.
    pub knowledge: Knowledge,
    /// Wakes the ingestion worker when a document is uploaded.
    pub knowledge_wakeup: Arc<Notify>,
    /// Seals and opens secrets stored in the database.
    pub sealer: Sealer,
    /// Wakes the drafting worker when a draft may have become due.
    pub draft_wakeup: Arc<Notify>,
    /// Wakes the summary worker when a ticket's summary may have become due.
    pub summary_wakeup: Arc<Notify>,
    /// Wakes the translation worker when a background translation may have become due.
    pub translation_wakeup: Arc<Notify>,
    /// Wakes the labelling worker when a labelling job is queued.
    pub labelling_wakeup: Arc<Notify>,
    /// Drafts this process is writing, for their event streams.
    pub draft_streams: Arc<DraftStreams>,
    /// The connection pool of LLM calls.
    pub llm: copilot_drafting::LlmClient,
    /// Lets e-mail and webhook sends in flight finish when the process stops.
    pub drain: drain::Drain,
    /// The background workers this process runs, and whether each is running.
    pub workers: supervisor::Workers,
    /// Every queue's retry policy.
    pub policies: Arc<queues::Policies>,
    /// The process's metrics.
    pub telemetry: telemetry::Telemetry,
}

impl Pipeline {
    /// The pipeline over an open database; opens the knowledge base's vector store.
    /// An empty `secret_key` is resolved to the key file under `data_dir` (created once).
    pub async fn open(db: Db, mut settings: Settings, triager: Arc<dyn Triager>) -> anyhow::Result<Self> {
        if settings.secret_key.expose_secret().is_empty() {
            settings.secret_key = SecretString::from(secret_key_file(&settings.data_dir)?);
        }
        let store = VectorStore::open(&settings.knowledge_uri, triager.dimensions()).await.map_err(|error| {
            anyhow::anyhow!(
                "cannot open the knowledge store at {} (COPILOT_KNOWLEDGE_URI): {error}",
                settings.knowledge_uri
            )
        })?;
        Ok(Self::new(db, settings, triager, store))
    }

    pub fn new(db: Db, settings: Settings, triager: Arc<dyn Triager>, store: VectorStore) -> Self {
        let escalation = EscalationRule {
            negative_messages: settings.escalation_negative_messages,
            max_score: settings.escalation_max_score,
            ceiling: settings.escalation_ceiling.parse().unwrap_or(Priority::High),
        };
        let secret = settings.secret_key.expose_secret();
        // Commands that serve nothing (`copilot openapi`) get a throwaway key.
        let sealer =
            if secret.is_empty() { Sealer::new(&rand::random::<[u8; 32]>()) } else { Sealer::new(secret.as_bytes()) };
        let policies = queues::Policies::new(&settings);
        let knowledge = Knowledge::new(
            db.clone(),
            store.with_write_locks(db.clone()),
            Arc::new(TriagerEmbedder(Arc::clone(&triager))),
        )
        .with_jobs(settings.job_lease(), policies.ingestion.clone())
        .with_sentence_candidates(settings.knowledge_sentence_candidates);
        Self {
            db,
            sealer,
            draft_wakeup: Arc::new(Notify::new()),
            summary_wakeup: Arc::new(Notify::new()),
            translation_wakeup: Arc::new(Notify::new()),
            labelling_wakeup: Arc::new(Notify::new()),
            draft_streams: Arc::new(DraftStreams::default()),
            llm: copilot_drafting::LlmClient::default(),
            drain: drain::Drain::default(),
            workers: supervisor::Workers::default(),
            policies: Arc::new(policies),
            telemetry: telemetry::Telemetry::new(),
            settings: Arc::new(settings),
            knowledge,
            knowledge_wakeup: Arc::new(Notify::new()),
            triager,
            triage_wakeup: Arc::new(Notify::new()),
            models_wakeup: Arc::new(Notify::new()),
            escalation,
        }
    }

    /// Starts the background workers of `copilot serve` (housekeeping, triage, the model
    /// worker training heads and running discovery, ingestion, drafting, reply and webhook
    /// delivery, …), each supervised: a worker that panics is started again, and readiness
    /// reports it while it is down.
    pub fn start_workers(&self) {
        let workers = &self.workers;
        let each = self.clone();
        workers.spawn("housekeeping", move || housekeeping::run(each.clone()));
        let each = self.clone();
        workers.spawn("triage", move || triage::run_worker(each.clone()));
        let each = self.clone();
        workers.spawn("models", move || triage::run_model_worker(each.clone()));
        let each = self.clone();
        workers.spawn("knowledge", move || knowledge::run_worker(each.clone()));
        let each = self.clone();
        workers.spawn("drafting", move || drafting::run_worker(each.clone()));
        let each = self.clone();
        workers.spawn("summaries", move || queues::run_pool(each.clone(), summaries::Summaries));
        let each = self.clone();
        workers.spawn("translations", move || queues::run_pool(each.clone(), auto_translation::Translations));
        let each = self.clone();
        workers.spawn("labelling", move || queues::run_pool(each.clone(), labelling::Labelling));
        let each = self.clone();
        workers.spawn("delivery", move || delivery::run_worker(each.clone()));
        let each = self.clone();
        workers.spawn("webhooks", move || webhooks::run_worker(each.clone()));
        let each = self.clone();
        workers.spawn("sla", move || service_levels::run_worker(each.clone()));
        let each = self.clone();
        workers.spawn("csat", move || satisfaction::run_worker(each.clone()));
    }
}

impl Pipeline {
    /// One round of a queue's worker in the caller's task: claims what is due now, runs it
    /// and records the outcomes; returns how many items it claimed. Tests and tools use it
    /// to drain a queue deterministically instead of waiting for the background workers.
    pub async fn run_once(&self, queue: &str) -> Result<usize, copilot_core::Error> {
        match queue {
            "triage" => triage::drain(self).await,
            "training" => triage::train_next(self).await,
            "discovery" => discovery::discover_next(self).await,
            "knowledge" => knowledge::run_once(self).await,
            "drafts" => drafting::run_once(self).await,
            "summaries" => queues::run_pool_once(self, summaries::Summaries).await,
            "translations" => queues::run_pool_once(self, auto_translation::Translations).await,
            "labelling" => queues::run_pool_once(self, labelling::Labelling).await,
            "email" => delivery::run_once(self).await,
            "webhooks" => webhooks::run_once(self).await,
            "sla" => service_levels::run_once(self).await,
            "csat" => satisfaction::run_once(self).await,
            other => Err(copilot_core::Error::internal(format!("no queue is named {other}"))),
        }
    }

    /// Runs `queue` until a round claims nothing; returns how many items it claimed in all.
    pub async fn drain_queue(&self, queue: &str) -> Result<usize, copilot_core::Error> {
        let mut total = 0;
        loop {
            match self.run_once(queue).await? {
                0 => return Ok(total),
                claimed => total += claimed,
            }
        }
    }
}

/// A claimed job as a worker runs it: what its span and its metrics name.
pub(crate) struct JobRun<'a> {
    pub queue: &'static str,
    pub tenant: copilot_core::TenantId,
    pub id: uuid::Uuid,
    pub attempt: i32,
    pub request_id: Option<&'a str>,
    pub queued_at: chrono::DateTime<chrono::Utc>,
}

impl Pipeline {
    /// Runs a claimed job's work in the job's span, measuring its wait (on a first attempt)
    /// and how long it ran.
    pub(crate) async fn run_job<T>(&self, job: JobRun<'_>, work: impl std::future::Future<Output = T>) -> T {
        use tracing::Instrument;
        let span = job_span(job.queue, job.tenant, job.id, job.attempt, job.request_id);
        self.telemetry.claimed(job.queue, job.attempt, job.queued_at);
        let started = std::time::Instant::now();
        let outcome = work.instrument(span).await;
        self.telemetry.job_ran(job.queue, started.elapsed());
        outcome
    }
}

/// The span a job runs in: its queue, tenant, id and attempt, and the id of the request
/// that queued it, so its log lines name what caused them. A job that learns its request
/// id only once it reads its row records it on the span then (`request_id`).
pub fn job_span(
    queue: &'static str,
    tenant: copilot_core::TenantId,
    job: uuid::Uuid,
    attempt: i32,
    request_id: Option<&str>,
) -> tracing::Span {
    let span =
        tracing::info_span!("job", queue, tenant = %tenant.0, job = %job, attempt, request_id = tracing::field::Empty);
    if let Some(request_id) = request_id {
        span.record("request_id", request_id);
    }
    span
}

/// The service's secret key from `secret.key` under the data folder, created with a random
/// value (readable by its owner only) when missing.
fn secret_key_file(data_dir: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context;
    let path = data_dir.join("secret.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        anyhow::ensure!(
            existing.len() >= 32,
            "{} holds less than 32 characters; set COPILOT_SECRET_KEY",
            path.display()
        );
        return Ok(existing);
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let key = hex::encode(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&path).and_then(|mut file| std::io::Write::write_all(&mut file, key.as_bytes()));
    match written {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created the secret key for stored secrets; back it up (or set COPILOT_SECRET_KEY)");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().to_owned())
        }
        Err(error) => {
            Err(error).with_context(|| format!("cannot write {} (or set COPILOT_SECRET_KEY)", path.display()))
        }
    }
}
