//! Triage in the running service: the triager behind `POST /v1/triage` and the worker
//! that drains pending message triage (claim with a lease, run the models off the async
//! workers, store results, retry failures with backoff).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use copilot_core::{Error, TenantId, ids::MessageId};
use copilot_intents::{
    triage::{self, Claimed, TriageResult},
    versions,
};
use copilot_triage::{HeadWeights, Models, TextKind, Triage, TriageOptions, train};
use futures::FutureExt;
use tracing::Instrument;
use uuid::Uuid;

use crate::{Pipeline, queues::Renewal};

/// Runs the models on texts. The service uses [`ModelTriager`]; tests may wrap it.
#[async_trait::async_trait]
pub trait Triager: Send + Sync {
    /// Triage with the tenant's own intent head when given, else the default one.
    async fn triage(&self, texts: Vec<String>, head: Option<HeadWeights>) -> Result<Vec<Triage>, String>;
    /// Embeddings of queries (training tenant heads, searching) or passages (knowledge).
    async fn embed(&self, texts: Vec<String>, kind: TextKind) -> Result<Vec<Vec<f32>>, String>;
    /// The length of every embedding.
    fn dimensions(&self) -> usize;
    /// The labels of the default taxonomy.
    fn default_intents(&self) -> Vec<String>;
}

/// The ONNX models with the configured options.
pub struct ModelTriager {
    pub models: Arc<Models>,
    pub options: TriageOptions,
}

#[async_trait::async_trait]
impl Triager for ModelTriager {
    async fn triage(&self, texts: Vec<String>, head: Option<HeadWeights>) -> Result<Vec<Triage>, String> {
        self.models.triage_blocking(texts, head, self.options).await.map_err(|error| error.to_string())
    }

    async fn embed(&self, texts: Vec<String>, kind: TextKind) -> Result<Vec<Vec<f32>>, String> {
        let models = Arc::clone(&self.models);
        tokio::task::spawn_blocking(move || {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            models.encoder().embed(&texts, kind)
        })
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| error.to_string())
    }

    fn dimensions(&self) -> usize {
        self.models.encoder().dim()
    }

    fn default_intents(&self) -> Vec<String> {
        self.models.default_intents().to_vec()
    }
}

/// A triager for commands that serve no requests (`copilot openapi`).
pub struct NoTriager;

#[async_trait::async_trait]
impl Triager for NoTriager {
    async fn triage(&self, _texts: Vec<String>, _head: Option<HeadWeights>) -> Result<Vec<Triage>, String> {
        Err("the triage models are not loaded in this command".into())
    }

    async fn embed(&self, _texts: Vec<String>, _kind: TextKind) -> Result<Vec<Vec<f32>>, String> {
        Err("the triage models are not loaded in this command".into())
    }

    fn dimensions(&self) -> usize {
        0
    }

    fn default_intents(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The tenant's own trained intent head, if it has one. A stored head that no longer
/// parses is logged and left out, so triage falls back to the default head.
pub async fn tenant_head(tx: &copilot_store::TenantTx) -> Result<Option<HeadWeights>, Error> {
    let Some((_, value)) = versions::active_head(tx).await? else { return Ok(None) };
    match serde_json::from_value(value) {
        Ok(head) => Ok(Some(head)),
        Err(error) => {
            tracing::warn!(tenant = %tx.tenant(), %error, "the stored intent head does not parse; using the default");
            Ok(None)
        }
    }
}

/// Items claimed per round.
const CLAIM_BATCH: u64 = 16;
/// How often the worker looks for due items when nothing wakes it.
const POLL: Duration = Duration::from_secs(1);

/// Until the process stops: drains due items, then waits for a wake-up or the next poll.
pub async fn run_worker(state: Pipeline) {
    run_loop(&state, "triage", &state.triage_wakeup, || drain(&state)).await
}

/// Until the process stops: trains the tenants' heads and runs intent discovery, one job
/// at a time, beside triage (a long training never holds up a customer's message).
pub async fn run_model_worker(state: Pipeline) {
    run_loop(&state, "model", &state.models_wakeup, || async {
        Ok(train_next(&state).await? + crate::discovery::discover_next(&state).await?)
    })
    .await
}

/// Runs `round` until the process stops; after a round that claimed nothing, waits for
/// `wakeup` or the next poll.
async fn run_loop<F, R>(state: &Pipeline, name: &str, wakeup: &tokio::sync::Notify, round: R)
where
    R: Fn() -> F,
    F: std::future::Future<Output = Result<usize, Error>>,
{
    // Once the process is stopping, nothing new is claimed.
    while !state.drain.stopping() {
        match round().await {
            Ok(0) => {
                tokio::select! {
                    _ = wakeup.notified() => {}
                    _ = state.drain.stopped() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, worker = name, "worker round failed");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// Claims one batch of due items and processes it; returns how many were claimed.
pub async fn drain(state: &Pipeline) -> Result<usize, Error> {
    let claimed = triage::claim(&state.db, CLAIM_BATCH, state.settings.job_lease()).await?;
    let count = claimed.len();
    for item in &claimed {
        state.telemetry.claimed(triage::QUEUE.name, item.attempt, item.queued_at);
    }
    let mut by_tenant: BTreeMap<Uuid, Vec<Claimed>> = BTreeMap::new();
    for item in claimed {
        by_tenant.entry(item.tenant_id.0).or_default().push(item);
    }
    for (tenant, items) in by_tenant {
        process_tenant(state, TenantId(tenant), &items).await?;
    }
    if count > 0 {
        // Drafts, summaries and translations of these messages waited for their triage.
        state.draft_wakeup.notify_one();
        state.summary_wakeup.notify_one();
        state.translation_wakeup.notify_one();
    }
    Ok(count)
}

async fn process_tenant(state: &Pipeline, tenant: TenantId, items: &[Claimed]) -> Result<(), Error> {
    let policy = &state.policies.triage;
    let (exhausted, items): (Vec<&Claimed>, Vec<&Claimed>) =
        items.iter().partition(|item| policy.exhausted(item.attempt));
    if !exhausted.is_empty() {
        let tx = state.db.tenant(tenant).await?;
        for item in exhausted {
            tracing::warn!(%tenant, message = %item.message_id, "triage was interrupted too often; giving up");
            let error = "the triage was interrupted too often (its worker stopped each time)";
            triage::fail(&tx, item, error, policy).await?;
        }
        tx.commit().await?;
    }
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = items.iter().map(|item| item.message_id).collect();
    let held = items.iter().map(|item| (item.message_id, item.attempt)).collect();
    let _renewal = Renewal::start(&state.db, triage::QUEUE, tenant, held, state.settings.job_lease());
    let (bodies, head) = {
        let tx = state.db.tenant(tenant).await?;
        (triage::bodies(&tx, &ids).await?, tenant_head(&tx).await?)
    };
    let present: Vec<&Claimed> = items.into_iter().filter(|item| bodies.contains_key(&item.message_id)).collect();
    let texts: Vec<String> = present.iter().filter_map(|item| bodies.get(&item.message_id).cloned()).collect();
    let started = std::time::Instant::now();
    let outcome = guarded(state.triager.triage(texts.clone(), head.clone())).await;
    let ran = started.elapsed();
    for _ in &present {
        state.telemetry.job_ran(triage::QUEUE.name, ran);
        if !matches!(outcome, Ok(Ok(_))) {
            state.telemetry.job_failed(triage::QUEUE.name);
        }
    }
    if let Err(Panicked(error)) = &outcome
        && present.len() > 1
    {
        // One message made the models panic: the others of its batch are triaged one by one,
        // so it cannot hold them back, and it alone is failed (and retried).
        tracing::warn!(%tenant, %error, count = present.len(), "the triage models panicked; triaging the batch one by one");
        for (item, text) in present.iter().zip(texts) {
            let outcome = guarded(state.triager.triage(vec![text], head.clone())).await;
            record(state, tenant, &[item], outcome.map_err(|Panicked(error)| error)).await?;
        }
    } else {
        record(state, tenant, &present, outcome.map_err(|Panicked(error)| error)).await?;
    }
    // One line per message, under the request that queued it.
    for item in &present {
        let span =
            crate::job_span(triage::QUEUE.name, tenant, item.message_id, item.attempt, item.request_id.as_deref());
        tracing::info!(parent: &span, "triage attempt recorded");
    }
    Ok(())
}

/// A triage call that panicked, with the panic's message.
struct Panicked(String);

/// Runs a triage call, turning a panic of the models into a failure of that call.
async fn guarded(
    call: impl std::future::Future<Output = Result<Vec<Triage>, String>>,
) -> Result<Result<Vec<Triage>, String>, Panicked> {
    std::panic::AssertUnwindSafe(call).catch_unwind().await.map_err(|payload| {
        Panicked(format!("the triage models panicked: {}", crate::supervisor::panic_message(&*payload)))
    })
}

/// Stores the outcome of triaging `present` (in order): each result, or the failure of all.
async fn record(
    state: &Pipeline,
    tenant: TenantId,
    present: &[&Claimed],
    outcome: Result<Result<Vec<Triage>, String>, String>,
) -> Result<(), Error> {
    let outcome = outcome.and_then(|result| result);
    let tx = state.db.tenant(tenant).await?;
    match outcome {
        Ok(results) if results.len() == present.len() => {
            let messages: Vec<Uuid> = present.iter().map(|item| item.message_id).collect();
            triage::lock_tickets(&tx, &messages).await?;
            let mut triaged = Vec::with_capacity(present.len());
            for (item, result) in present.iter().zip(results) {
                let stored = TriageResult {
                    intent: result.intent.label,
                    intent_confidence: f64::from(result.intent.confidence),
                    sentiment: result.sentiment.label,
                    sentiment_score: f64::from(result.sentiment.score),
                    language: result.language,
                };
                if let Some(ticket) = triage::complete(&tx, item, &stored, &state.escalation).await? {
                    triaged.push((ticket, MessageId(item.message_id), stored.language));
                }
            }
            crate::auto_translation::on_triaged(&tx, &triaged).await?;
            // The intent (and an escalated priority) may bring the ticket under a policy.
            let mut tickets: Vec<_> = triaged.iter().map(|(ticket, ..)| *ticket).collect();
            tickets.sort();
            tickets.dedup();
            for ticket in tickets {
                crate::service_levels::sync_id(&tx, ticket).await?;
            }
        }
        Ok(results) => {
            let error = format!("the models returned {} results for {} messages", results.len(), present.len());
            for item in present {
                triage::fail(&tx, item, &error, &state.policies.triage).await?;
            }
        }
        Err(error) => {
            tracing::warn!(%tenant, %error, count = present.len(), "triage failed; will retry");
            for item in present {
                triage::fail(&tx, item, &error, &state.policies.triage).await?;
            }
        }
    }
    tx.commit().await
}

/// Trains the next due tenant head, if any; returns 1 when it took a job.
pub async fn train_next(state: &Pipeline) -> Result<usize, Error> {
    let lease = state.settings.job_lease();
    let Some(job) = versions::claim_training(&state.db, lease, &state.policies.training).await? else {
        return Ok(0);
    };
    let queue = versions::TRAINING_QUEUE;
    state.telemetry.claimed(queue.name, job.attempt, job.queued_at);
    let span = crate::job_span(queue.name, job.tenant_id, job.job, job.attempt, job.request_id.as_deref());
    let _renewal = Renewal::start(&state.db, queue, job.tenant_id, vec![(job.job, job.attempt)], lease);
    train_claimed(state, &job).instrument(span).await?;
    Ok(1)
}

/// Trains the head of a claimed job, scores it and records the outcome.
async fn train_claimed(state: &Pipeline, job: &versions::ClaimedTraining) -> Result<(), Error> {
    let queue = versions::TRAINING_QUEUE.name;
    let tenant = job.tenant_id;
    let started = std::time::Instant::now();
    let (set, serving) = {
        let tx = state.db.tenant(tenant).await?;
        let weights = versions::job_weights(&tx, job).await?;
        let set = versions::training_set(&tx, &state.triager.default_intents(), weights).await?;
        (set, versions::active_head(&tx).await?)
    };
    let outcome = train_version(state, &set, serving).await;
    state.telemetry.job_ran(queue, started.elapsed());
    let tx = state.db.tenant(tenant).await?;
    match outcome {
        Ok(finished) => {
            let (accuracy, gate) = (finished.cross_validated_accuracy, finished.gate.code.clone());
            versions::finish_training(&tx, job, finished).await?;
            tracing::info!(%tenant, accuracy, gate, "tenant intent head trained");
        }
        Err(error) => {
            state.telemetry.job_failed(queue);
            tracing::warn!(%tenant, %error, "training an intent head failed");
            versions::fail_training(&tx, job, &error, &state.policies.training).await?;
        }
    }
    tx.commit().await
}

/// From this many LLM labels on, those the other examples contradict are set aside.
const MIN_LLM_TO_CLEAN: usize = 50;

/// Fits a head on the training texts, scores it on the held-out ones as it will serve
/// (triage, with its threshold), scores the serving head on the same labels and asks
/// the gate.
async fn train_version(
    state: &Pipeline,
    set: &versions::TrainingSet,
    serving: Option<(Uuid, serde_json::Value)>,
) -> Result<versions::Finished, String> {
    let labels = set.trained_labels();
    if labels.len() < 2 {
        return Err("training needs examples for at least two labels".into());
    }
    let training: Vec<&versions::LabelledText> = set.training().collect();
    let texts: Vec<String> = training.iter().map(|t| t.text.clone()).collect();
    let embeddings = state.triager.embed(texts, TextKind::Query).await?;
    let (sources, examples): (Vec<versions::Source>, Vec<train::Example>) = training
        .iter()
        .zip(embeddings)
        .filter_map(|(text, embedding)| {
            let label = labels.iter().position(|l| *l == text.label)?;
            Some((text.source, train::Example { label, embedding, weight: set.weights.of(text.source) as f32 }))
        })
        .unzip();
    let (trained_labels, options) = (labels.clone(), train::TrainOptions::default());
    let (trained, set_aside) = tokio::task::spawn_blocking(move || {
        // The LLM's labels that the other examples contradict are set aside (people's stay).
        let llm = sources.iter().filter(|s| **s == versions::Source::Llm).count();
        let suspect = if llm >= MIN_LLM_TO_CLEAN {
            train::suspect_labels(trained_labels.len(), &examples, options)
        } else {
            vec![false; examples.len()]
        };
        let aside = |i: usize| suspect[i] && sources[i] == versions::Source::Llm;
        let kept: Vec<train::Example> =
            examples.into_iter().enumerate().filter(|(i, _)| !aside(*i)).map(|(_, e)| e).collect();
        let set_aside = (0..suspect.len()).filter(|i| aside(*i)).count();
        train::train(&trained_labels, &kept, options).map(|trained| (trained, set_aside))
    })
    .await
    .map_err(|error| error.to_string())?
    .map_err(|error| error.to_string())?;

    let held = HeldOut::of(set);
    let candidate = held.predict(state, Some(trained.head.clone())).await?;
    let serving_head = serving.and_then(|(id, head)| {
        let head: HeadWeights = serde_json::from_value(head).ok()?;
        head.validate(state.triager.dimensions()).ok().map(|()| (id, head))
    });
    let baseline = match serving_head {
        Some((id, head)) => Some((Some(id), held.predict(state, Some(head)).await?)),
        // The shipped head knows the shipped labels only.
        None if set.default_taxonomy => Some((None, held.predict(state, None).await?)),
        None => None,
    };
    let candidate_score = held.score_gate(&candidate);
    let baseline = baseline.and_then(|(model_id, predicted)| {
        held.score_gate(&predicted).map(|scores| versions::Baseline { model_id, macro_f1: scores.macro_f1 })
    });
    let gate = versions::decide(candidate_score.as_ref().map(|s| s.macro_f1), baseline.as_ref(), held.gate.len());
    let metrics = versions::Metrics {
        llm_labels_set_aside: set_aside,
        macro_f1_vs_people: held.score(&held.people, &candidate).map(|s| s.macro_f1),
        macro_f1_vs_llm: held.score(&held.llm, &candidate).map(|s| s.macro_f1),
        held_out_people: held.people.len(),
        held_out_llm: held.llm.len(),
        evaluated_on: held.evaluated_on,
        per_intent: candidate_score
            .map(|scores| {
                scores
                    .per_label
                    .into_iter()
                    .map(|s| versions::IntentScore {
                        intent: s.label,
                        precision: s.precision,
                        recall: s.recall,
                        f1: s.f1,
                        support: s.support,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    Ok(versions::Finished {
        labels: trained.head.labels.clone(),
        head: serde_json::to_value(&trained.head).map_err(|error| error.to_string())?,
        cross_validated_accuracy: trained.cross_validated_accuracy.map(f64::from),
        folds: trained.folds,
        metrics,
        gate,
    })
}

/// The held-out labels of a training set: texts with their reference label, and which of
/// them are people's, the LLM's, and what the gate compares on.
struct HeldOut {
    texts: Vec<String>,
    gold: Vec<String>,
    people: Vec<usize>,
    llm: Vec<usize>,
    gate: Vec<usize>,
    evaluated_on: versions::EvaluatedOn,
}

impl HeldOut {
    fn of(set: &versions::TrainingSet) -> Self {
        let (mut texts, mut gold, mut people, mut llm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for text in set.texts.iter().filter(|t| t.held_out) {
            let group = match text.source {
                versions::Source::Agent => &mut people,
                versions::Source::Llm => &mut llm,
                versions::Source::AdminExample => continue,
            };
            if group.len() < versions::MAX_HELD_OUT {
                group.push(texts.len());
                texts.push(text.text.clone());
                gold.push(text.label.clone());
            }
        }
        let (gate, evaluated_on) = if people.len() >= versions::MIN_PEOPLE_HELD_OUT {
            (people.clone(), versions::EvaluatedOn::People)
        } else if people.len() + llm.len() > 0 {
            (people.iter().chain(&llm).copied().collect(), versions::EvaluatedOn::PeopleAndLlm)
        } else {
            (Vec::new(), versions::EvaluatedOn::Nothing)
        };
        Self { texts, gold, people, llm, gate, evaluated_on }
    }

    /// The intent triage gives each held-out text with this head (the shipped one: `None`).
    async fn predict(&self, state: &Pipeline, head: Option<HeadWeights>) -> Result<Vec<String>, String> {
        if self.texts.is_empty() {
            return Ok(Vec::new());
        }
        let triaged = state.triager.triage(self.texts.clone(), head).await?;
        Ok(triaged.into_iter().map(|t| t.intent.label).collect())
    }

    fn score(&self, indices: &[usize], predicted: &[String]) -> Option<train::Scores> {
        if predicted.len() != self.texts.len() {
            return None;
        }
        let gold: Vec<&str> = indices.iter().map(|i| self.gold[*i].as_str()).collect();
        let said: Vec<&str> = indices.iter().map(|i| predicted[*i].as_str()).collect();
        train::score(&gold, &said)
    }

    fn score_gate(&self, predicted: &[String]) -> Option<train::Scores> {
        self.score(&self.gate, predicted)
    }
}

/// The knowledge base's embedder: the triage encoder (passages and queries get the
/// prefixes the model was trained with).
pub struct TriagerEmbedder(pub Arc<dyn Triager>);

#[async_trait::async_trait]
impl copilot_knowledge::Embedder for TriagerEmbedder {
    async fn embed_passages(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, String> {
        self.0.embed(texts, TextKind::Passage).await
    }

    async fn embed_query(&self, text: String) -> Result<Vec<f32>, String> {
        self.0.embed(vec![text], TextKind::Query).await?.pop().ok_or_else(|| "no embedding returned".to_owned())
    }
}
