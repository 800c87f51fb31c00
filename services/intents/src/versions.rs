//! Model versions of a tenant's intent head. Every training job is a version: it trains on
//! the taxonomy's examples (written by admins), agents' corrections and the LLM's labels,
//! each source weighted (people count more by default), and is scored on held-out labels
//! that no version trains on. The gate then decides: a candidate serves only if it is at
//! least as good as the active version on the same held-out labels (within
//! [`TOLERANCE`]); an admin may activate any ready version by hand (forcing or rolling
//! back). Every switch is audited and emits `intent_model.activated`.
//!
//! Held out: a labelled message is held out when its id says so ([`held_out`]: one in
//! five, the same for every version), per group (people's corrections, the LLM's labels)
//! once the group has at least [`MIN_HELD_OUT`] of them; below that its messages train.
//! The gate compares on people's held-out labels when there are at least
//! [`MIN_PEOPLE_HELD_OUT`], else on people's and the LLM's together. The taxonomy's own
//! examples always train: they define the labels.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use copilot_core::{Actor, Error, Principal, model::TrainingStatus, retry::Backoff};
use copilot_entities::{intent_model, message_label, message_triage};
use copilot_store::jobs::Queue;
use copilot_store::{Db, Scoped, TenantTx, audit, db_err, events};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{taxonomy, triage};

/// How far below the active version's macro-F1 a candidate may be and still serve: the
/// noise of a few hundred held-out labels is larger than this, so a retraining on the same
/// data is not kept out by chance, while a real loss is.
pub const TOLERANCE: f64 = 0.01;
/// Below this many labelled messages a group (people, LLM) is not held out: they train.
pub const MIN_HELD_OUT: usize = 10;
/// From this many held-out people's labels the gate compares on people's labels alone.
pub const MIN_PEOPLE_HELD_OUT: usize = 20;
/// The newest LLM labels a training reads (embedding each costs CPU time).
pub const MAX_LLM_EXAMPLES: u64 = 5_000;
/// The most held-out labels a version is scored on per group.
pub const MAX_HELD_OUT: usize = 1_000;

/// Who labelled a training example.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An example an admin wrote into the taxonomy.
    AdminExample,
    /// An agent's correction of a message's intent (or a label accepted in review).
    Agent,
    /// The tenant's LLM, in a labelling job.
    Llm,
}

/// How much one example of each source counts in training; 0 leaves the source out.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceWeights {
    pub admin_example: f64,
    pub agent: f64,
    pub llm: f64,
}

impl Default for SourceWeights {
    /// People's labels count three times an LLM label.
    fn default() -> Self {
        Self { admin_example: 3.0, agent: 3.0, llm: 1.0 }
    }
}

impl SourceWeights {
    pub fn validate(self) -> Result<Self, Error> {
        for (name, weight) in [("admin_example", self.admin_example), ("agent", self.agent), ("llm", self.llm)] {
            if !(weight.is_finite() && (0.0..=100.0).contains(&weight)) {
                return Err(Error::validation(
                    "validation_failed",
                    format!("`weights.{name}` is a number from 0 to 100, not {weight}"),
                ));
            }
        }
        if self.admin_example + self.agent + self.llm == 0.0 {
            return Err(Error::validation("validation_failed", "at least one of `weights` must be above 0"));
        }
        Ok(self)
    }

    pub fn of(&self, source: Source) -> f64 {
        match source {
            Source::AdminExample => self.admin_example,
            Source::Agent => self.agent,
            Source::Llm => self.llm,
        }
    }
}

/// How many training examples came from each source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleCounts {
    pub admin: usize,
    pub agent: usize,
    pub llm: usize,
    /// LLM labels left out: their intent is no longer in the taxonomy.
    #[serde(default)]
    pub dropped: usize,
}

impl ExampleCounts {
    fn count(&mut self, source: Source) {
        match source {
            Source::AdminExample => self.admin += 1,
            Source::Agent => self.agent += 1,
            Source::Llm => self.llm += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.admin + self.agent + self.llm
    }
}

/// A labelled text: a training example, or a held-out label a version is scored on.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledText {
    pub label: String,
    pub text: String,
    pub source: Source,
    /// Scored on, never trained on.
    pub held_out: bool,
}

/// Whether a labelled message belongs to the held-out share: one in five, by its id, the
/// same for every version.
pub fn held_out(message_id: Uuid) -> bool {
    // The low bits of a UUIDv7 are random.
    message_id.as_u128().is_multiple_of(5)
}

/// What a training job trains on: the labels (the tenant's taxonomy, or `default_labels`
/// when it has none) and every labelled text, people's over the LLM's for the same message.
pub struct TrainingSet {
    pub labels: Vec<String>,
    /// The tenant has no taxonomy of its own: the labels are the shipped ones.
    pub default_taxonomy: bool,
    pub texts: Vec<LabelledText>,
    pub weights: SourceWeights,
    /// LLM labels of intents no longer in the taxonomy, left out.
    pub dropped: usize,
}

impl TrainingSet {
    /// The texts to train on (not held out, of a source with a weight).
    pub fn training(&self) -> impl Iterator<Item = &LabelledText> {
        self.texts.iter().filter(|t| !t.held_out && self.weights.of(t.source) > 0.0)
    }

    pub fn counts(&self) -> ExampleCounts {
        let mut counts = ExampleCounts { dropped: self.dropped, ..ExampleCounts::default() };
        self.training().for_each(|t| counts.count(t.source));
        counts
    }

    /// The labels with at least one training example.
    pub fn trained_labels(&self) -> Vec<String> {
        let used: HashSet<&str> = self.training().map(|t| t.label.as_str()).collect();
        self.labels.iter().filter(|label| used.contains(label.as_str())).cloned().collect()
    }
}

/// Reads the training set of the tenant.
pub async fn training_set(
    tx: &TenantTx,
    default_labels: &[String],
    weights: SourceWeights,
) -> Result<TrainingSet, Error> {
    let taxonomy = taxonomy::taxonomy(tx).await?;
    let labels: Vec<String> =
        if taxonomy.is_empty() { default_labels.to_vec() } else { taxonomy.iter().map(|l| l.label.clone()).collect() };
    let known: HashSet<&str> = labels.iter().map(String::as_str).collect();
    let mut texts: Vec<LabelledText> = taxonomy
        .iter()
        .flat_map(|l| l.examples.iter().map(|e| (l.label.clone(), e.clone())))
        .map(|(label, text)| LabelledText { label, text, source: Source::AdminExample, held_out: false })
        .collect();

    let corrected = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::CorrectedIntent.is_not_null())
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let by_people: HashSet<Uuid> = corrected.iter().map(|row| row.message_id).collect();
    let people: Vec<(Uuid, String)> = corrected
        .into_iter()
        .filter_map(|row| row.corrected_intent.map(|label| (row.message_id, label)))
        .filter(|(_, label)| known.contains(label.as_str()))
        .collect();
    let llm_rows = message_label::Entity::scoped(tx.tenant())
        .filter(message_label::Column::Source.eq("llm"))
        .order_by_desc(message_label::Column::CreatedAt)
        .limit(MAX_LLM_EXAMPLES)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let mut dropped = 0;
    let mut llm = Vec::new();
    for row in llm_rows.into_iter().filter(|row| !by_people.contains(&row.message_id)) {
        if known.contains(row.label.as_str()) {
            llm.push((row.message_id, row.label));
        } else {
            dropped += 1;
        }
    }
    let ids: Vec<Uuid> = people.iter().chain(&llm).map(|(id, _)| *id).collect();
    let bodies = triage::bodies(tx, &ids).await?;
    for (group, source) in [(people, Source::Agent), (llm, Source::Llm)] {
        let hold = group.len() >= MIN_HELD_OUT;
        texts.extend(group.into_iter().filter_map(|(id, label)| {
            bodies.get(&id).map(|text| LabelledText {
                label,
                text: text.clone(),
                source,
                held_out: hold && held_out(id),
            })
        }));
    }
    Ok(TrainingSet { labels, default_taxonomy: taxonomy.is_empty(), texts, weights, dropped })
}

/// A training job and, once ready, what it produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingJob {
    pub id: Uuid,
    pub status: TrainingStatus,
    pub attempts: i32,
    pub labels: Vec<String>,
    pub example_count: i32,
    pub cross_validated_accuracy: Option<f64>,
    pub folds: Option<i32>,
    pub error: Option<String>,
    /// Whether triage uses this head now.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<intent_model::Model> for TrainingJob {
    fn from(row: intent_model::Model) -> Self {
        Self {
            id: row.id,
            status: row.status,
            attempts: row.attempts,
            labels: row.labels.and_then(|labels| serde_json::from_value(labels).ok()).unwrap_or_default(),
            example_count: row.example_count,
            cross_validated_accuracy: row.cross_validated_accuracy,
            folds: row.folds,
            error: row.error,
            active: row.active,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

/// Queues a training job (admins); `default_labels` are the shipped taxonomy's, trained
/// on when the tenant has none of its own. One job at a time.
pub async fn request_training(
    tx: &TenantTx,
    by: &Principal,
    default_labels: &[String],
    weights: SourceWeights,
) -> Result<TrainingJob, Error> {
    by.require_admin()?;
    let weights = weights.validate()?;
    let running = intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Status.eq(TrainingStatus::Queued))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    if let Some(running) = running {
        return Err(Error::conflict(
            "training_running",
            format!("training {} is still running; wait for it to finish", running.id),
        ));
    }
    let set = training_set(tx, default_labels, weights).await?;
    if set.trained_labels().len() < 2 {
        return Err(Error::unprocessable(
            "not_enough_examples",
            "training needs examples for at least two labels: PUT /v1/intents, correct intents or run a labelling job first",
        ));
    }
    let counts = set.counts();
    let now = copilot_core::now();
    let row = intent_model::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        status: Set(TrainingStatus::Queued),
        attempts: Set(0),
        next_attempt_at: Set(now),
        labels: Set(None),
        weights: Set(None),
        cross_validated_accuracy: Set(None),
        folds: Set(None),
        example_count: Set(counts.total() as i32),
        error: Set(None),
        active: Set(false),
        created_at: Set(now),
        finished_at: Set(None),
        request_id: Set(copilot_store::request::current()),
        source_weights: Set(Some(serde_json::json!(weights))),
        example_counts: Set(Some(serde_json::json!(counts))),
        metrics: Set(None),
        gate: Set(None),
        activated_at: Set(None),
        retired_at: Set(None),
    };
    let row = row.insert(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "intents.training_requested",
        audit::Target::new("intent_model", row.id),
        serde_json::json!({ "weights": weights, "examples": counts }),
    )
    .await?;
    Ok(row.into())
}

/// The newest training job.
pub async fn latest_training(tx: &TenantTx) -> Result<Option<TrainingJob>, Error> {
    let row = intent_model::Entity::scoped(tx.tenant())
        .order_by_desc(intent_model::Column::Id)
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.map(TrainingJob::from))
}

/// A claimed training job.
pub type ClaimedTraining = crate::queued::ClaimedJob;

/// The training queue: a tenant's intent head waiting to be trained.
pub const TRAINING_QUEUE: Queue = Queue {
    name: "training",
    table: "intent_models",
    id: "id",
    open: "{row}.status = 'queued'",
    held: "{row}.status = 'queued'",
    lease_columns: &["next_attempt_at"],
};

/// Claims the next due training job across tenants, leased for `lease`.
pub async fn claim_training(db: &Db, lease: Duration, policy: &Backoff) -> Result<Option<ClaimedTraining>, Error> {
    crate::queued::claim(db, "intent_models", lease, policy).await
}

/// The claimed job while its claim still holds it (locked); `None` when it was finished,
/// or claimed again after this claim's lease ran out.
async fn held_training(tx: &TenantTx, claimed: &ClaimedTraining) -> Result<Option<intent_model::Model>, Error> {
    let row = intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Id.eq(claimed.job))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.filter(|row| row.status == TrainingStatus::Queued && row.attempts == claimed.attempt))
}

/// The weights a claimed job trains with (the defaults for jobs queued before weights).
pub async fn job_weights(tx: &TenantTx, claimed: &ClaimedTraining) -> Result<SourceWeights, Error> {
    let row = intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Id.eq(claimed.job))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row
        .and_then(|row| row.source_weights)
        .and_then(|weights| serde_json::from_value(weights).ok())
        .unwrap_or_default())
}

/// How one intent was predicted on held-out labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentScore {
    pub intent: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// Which held-out labels the gate compared on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluatedOn {
    /// People's labels (enough of them).
    People,
    /// People's and the LLM's labels together (too few of people's alone).
    PeopleAndLlm,
    /// No held-out labels yet.
    Nothing,
}

/// How a version did on held-out labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// LLM labels not trained on: the other examples contradict them (likely wrong).
    #[serde(default)]
    pub llm_labels_set_aside: usize,
    pub macro_f1_vs_people: Option<f64>,
    pub macro_f1_vs_llm: Option<f64>,
    pub held_out_people: usize,
    pub held_out_llm: usize,
    pub evaluated_on: EvaluatedOn,
    /// Per intent, on the labels the gate compared on.
    pub per_intent: Vec<IntentScore>,
}

/// What the gate decided when a version finished training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub activated: bool,
    /// `first_version`, `no_held_out_labels`, `not_worse`, `worse`, `newer_version_ready`
    /// or `active_changed`.
    pub code: String,
    /// The decision in words.
    pub reason: String,
    /// The version compared with: a model id, or `shipped` for the built-in head.
    pub compared_with: Option<String>,
    pub candidate_macro_f1: Option<f64>,
    pub active_macro_f1: Option<f64>,
    /// How many held-out labels both were scored on.
    pub held_out: usize,
    pub tolerance: f64,
}

/// What the version serving now scored on the gate's held-out labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// The active version's id; `None` for the shipped head.
    pub model_id: Option<Uuid>,
    pub macro_f1: f64,
}

/// The gate's decision for a candidate scoring `candidate` (macro-F1 on `held_out`
/// labels) against what serves now.
pub fn decide(candidate: Option<f64>, baseline: Option<&Baseline>, held_out: usize) -> Gate {
    let compared_with = baseline.map(|b| b.model_id.map_or_else(|| "shipped".to_owned(), |id| id.to_string()));
    let gate = |activated: bool, code: &str, reason: String| Gate {
        activated,
        code: code.into(),
        reason,
        compared_with: compared_with.clone(),
        candidate_macro_f1: candidate,
        active_macro_f1: baseline.map(|b| b.macro_f1),
        held_out,
        tolerance: TOLERANCE,
    };
    match (candidate, baseline) {
        (None, _) => {
            gate(true, "no_held_out_labels", "no held-out labels to compare on yet: the newest training serves".into())
        }
        (Some(_), None) => gate(true, "first_version", "no version of this taxonomy serves yet".into()),
        (Some(score), Some(base)) if score >= base.macro_f1 - TOLERANCE => gate(
            true,
            "not_worse",
            format!(
                "macro-F1 {score:.3} against {:.3} of the serving version on {held_out} held-out labels",
                base.macro_f1
            ),
        ),
        (Some(score), Some(base)) => gate(
            false,
            "worse",
            format!(
                "macro-F1 {score:.3} is below {:.3} of the serving version on {held_out} held-out labels (tolerance {TOLERANCE})",
                base.macro_f1
            ),
        ),
    }
}

/// A trained head and how it did, to store on its job.
pub struct Finished {
    pub labels: Vec<String>,
    /// The head (labels, weight, bias) as JSON.
    pub head: Value,
    pub cross_validated_accuracy: Option<f64>,
    pub folds: usize,
    pub metrics: Metrics,
    pub gate: Gate,
}

/// Stores a trained version. It serves if the gate said so, unless a newer version is
/// ready already or the serving version changed since it was compared with; nothing when
/// the claim no longer holds the job.
pub async fn finish_training(tx: &TenantTx, claimed: &ClaimedTraining, finished: Finished) -> Result<(), Error> {
    let Some(row) = held_training(tx, claimed).await? else { return Ok(()) };
    let mut gate = finished.gate;
    // Job ids grow with time (UUIDv7): a newer ready version was trained on newer examples.
    let newer_ready = intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Id.gt(row.id))
        .filter(intent_model::Column::Status.eq(TrainingStatus::Ready))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .is_some();
    let serving = active(tx).await?.map(|row| row.id.to_string());
    let compared = gate.compared_with.clone().filter(|with| with != "shipped");
    if newer_ready {
        gate.activated = false;
        gate.code = "newer_version_ready".into();
        gate.reason = "a newer version finished training first".into();
    } else if gate.activated && gate.candidate_macro_f1.is_some() && serving != compared {
        gate.activated = false;
        gate.code = "active_changed".into();
        gate.reason = "the serving version changed while this one trained; activate it by hand if wanted".into();
    }
    let id = row.id;
    let mut change: intent_model::ActiveModel = row.into();
    change.status = Set(TrainingStatus::Ready);
    change.labels = Set(Some(serde_json::json!(finished.labels)));
    change.weights = Set(Some(finished.head));
    change.cross_validated_accuracy = Set(finished.cross_validated_accuracy);
    change.folds = Set(Some(finished.folds as i32));
    change.error = Set(None);
    change.metrics = Set(Some(serde_json::json!(finished.metrics)));
    change.gate = Set(Some(serde_json::json!(gate)));
    change.finished_at = Set(Some(copilot_core::now()));
    change.update(&**tx).await.map_err(db_err)?;
    if gate.activated {
        switch_active(tx, Actor::Service, id, &gate.reason).await?;
    }
    Ok(())
}

/// Records a failed training attempt: retried after the wait `policy` gives, `failed` once
/// it gives no more.
pub async fn fail_training(
    tx: &TenantTx,
    claimed: &ClaimedTraining,
    error: &str,
    policy: &Backoff,
) -> Result<(), Error> {
    let Some(row) = held_training(tx, claimed).await? else { return Ok(()) };
    let retry = policy.retry_in(row.attempts);
    let mut change: intent_model::ActiveModel = row.into();
    change.error = Set(Some(error.chars().take(500).collect()));
    match retry {
        Some(wait) => change.next_attempt_at = Set(copilot_core::now() + wait),
        None => {
            change.status = Set(TrainingStatus::Failed);
            change.finished_at = Set(Some(copilot_core::now()));
        }
    }
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

async fn active(tx: &TenantTx) -> Result<Option<intent_model::Model>, Error> {
    intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Active.eq(true))
        .filter(intent_model::Column::Status.eq(TrainingStatus::Ready))
        .one(&**tx)
        .await
        .map_err(db_err)
}

/// The serving version's id and head (opaque JSON), if the tenant has one.
pub async fn active_head(tx: &TenantTx) -> Result<Option<(Uuid, Value)>, Error> {
    Ok(active(tx).await?.and_then(|row| row.weights.map(|head| (row.id, head))))
}

/// `intent_model.activated`: which version serves now, which served before, who decided.
#[derive(Clone, Debug, Serialize)]
struct Activated<'a> {
    model_id: Uuid,
    previous_model_id: Option<Uuid>,
    /// `gate` (the service, by the gate's rule) or `admin` (by hand).
    by: &'static str,
    reason: &'a str,
}

/// Makes `id` the serving version: the one serving before is retired.
async fn switch_active(tx: &TenantTx, actor: Actor, id: Uuid, reason: &str) -> Result<(), Error> {
    let now = copilot_core::now();
    let previous = active(tx).await?.map(|row| row.id).filter(|previous| *previous != id);
    intent_model::Entity::update_many()
        .col_expr(intent_model::Column::Active, Expr::value(false))
        .col_expr(intent_model::Column::RetiredAt, Expr::value(now))
        .filter(intent_model::Column::TenantId.eq(tx.tenant().0))
        .filter(intent_model::Column::Active.eq(true))
        .filter(intent_model::Column::Id.ne(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    intent_model::Entity::update_many()
        .col_expr(intent_model::Column::Active, Expr::value(true))
        .col_expr(intent_model::Column::ActivatedAt, Expr::value(now))
        .col_expr(intent_model::Column::RetiredAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(intent_model::Column::TenantId.eq(tx.tenant().0))
        .filter(intent_model::Column::Id.eq(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    let by = if actor == Actor::Service { "gate" } else { "admin" };
    let event = Activated { model_id: id, previous_model_id: previous, by, reason };
    audit::record(
        tx,
        actor,
        "intent_model.activated",
        audit::Target::new("intent_model", id),
        serde_json::json!({ "previous_model_id": previous, "by": by, "reason": reason }),
    )
    .await?;
    events::emit(tx, "intent_model.activated", None, &event).await?;
    Ok(())
}

/// Where a ready version stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionStatus {
    /// Trained, never served (or kept out by the gate).
    Candidate,
    Active,
    /// Served, and was replaced.
    Retired,
}

/// A trained version of the tenant's intent head.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelVersion {
    pub id: Uuid,
    pub status: VersionStatus,
    pub labels: Vec<String>,
    pub examples: Option<ExampleCounts>,
    pub weights: Option<SourceWeights>,
    pub cross_validated_accuracy: Option<f64>,
    pub folds: Option<i32>,
    pub metrics: Option<Metrics>,
    pub gate: Option<Gate>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

fn parsed<T: for<'de> Deserialize<'de>>(value: Option<Value>) -> Option<T> {
    value.and_then(|value| serde_json::from_value(value).ok())
}

impl From<intent_model::Model> for ModelVersion {
    fn from(row: intent_model::Model) -> Self {
        let status = match (row.active, row.retired_at) {
            (true, _) => VersionStatus::Active,
            (false, Some(_)) => VersionStatus::Retired,
            (false, None) => VersionStatus::Candidate,
        };
        Self {
            id: row.id,
            status,
            labels: parsed(row.labels).unwrap_or_default(),
            examples: parsed(row.example_counts),
            weights: parsed(row.source_weights),
            cross_validated_accuracy: row.cross_validated_accuracy,
            folds: row.folds,
            metrics: parsed(row.metrics),
            gate: parsed(row.gate),
            created_at: row.created_at,
            finished_at: row.finished_at,
            activated_at: row.activated_at,
            retired_at: row.retired_at,
        }
    }
}

/// The tenant's trained versions, newest first.
pub async fn versions(tx: &TenantTx, limit: u64) -> Result<Vec<ModelVersion>, Error> {
    let rows = intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Status.eq(TrainingStatus::Ready))
        .order_by_desc(intent_model::Column::Id)
        .limit(limit)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(ModelVersion::from).collect())
}

/// One version (404 unless it is this tenant's and trained).
pub async fn version(tx: &TenantTx, id: Uuid) -> Result<ModelVersion, Error> {
    intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Id.eq(id))
        .filter(intent_model::Column::Status.eq(TrainingStatus::Ready))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .map(ModelVersion::from)
        .ok_or(Error::NotFound("intent model"))
}

/// An admin makes a trained version serve, whatever the gate said: a forced candidate or
/// a rollback to a retired one. Activating the serving version changes nothing.
pub async fn activate(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<ModelVersion, Error> {
    by.require_admin()?;
    let current = version(tx, id).await?;
    if current.status != VersionStatus::Active {
        let reason = match current.status {
            VersionStatus::Retired => "rolled back by an admin",
            _ => "activated by an admin",
        };
        switch_active(tx, by.actor, id, reason).await?;
    }
    version(tx, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(score: f64) -> Baseline {
        Baseline { model_id: Some(Uuid::nil()), macro_f1: score }
    }

    #[test]
    fn a_candidate_serves_unless_it_is_worse_than_the_serving_version_beyond_the_tolerance() {
        assert!(decide(Some(0.80), Some(&baseline(0.80)), 100).activated);
        assert!(decide(Some(0.795), Some(&baseline(0.80)), 100).activated, "within the tolerance");
        let worse = decide(Some(0.70), Some(&baseline(0.80)), 100);
        assert_eq!((worse.activated, worse.code.as_str()), (false, "worse"));
        assert!(worse.reason.contains("0.700") && worse.reason.contains("0.800"), "{}", worse.reason);
        assert_eq!(decide(Some(0.3), None, 100).code, "first_version");
        assert_eq!(decide(None, Some(&baseline(0.9)), 0).code, "no_held_out_labels");
        let shipped = Baseline { model_id: None, macro_f1: 0.5 };
        assert_eq!(decide(Some(0.6), Some(&shipped), 50).compared_with.as_deref(), Some("shipped"));
    }

    #[test]
    fn one_in_five_messages_is_held_out_the_same_way_every_time() {
        let ids: Vec<Uuid> = (0..5000).map(|_| Uuid::now_v7()).collect();
        let share = ids.iter().filter(|id| held_out(**id)).count() as f64 / ids.len() as f64;
        assert!((0.17..0.23).contains(&share), "{share}");
        // The rule reads the id alone: the same message is held out for every version.
        assert!(held_out(Uuid::from_u128(10)) && !held_out(Uuid::from_u128(11)));
    }

    #[test]
    fn weights_are_bounded_and_not_all_zero() {
        assert!(SourceWeights::default().validate().is_ok());
        let none = SourceWeights { admin_example: 0.0, agent: 0.0, llm: 0.0 };
        assert!(none.validate().is_err());
        assert!(SourceWeights { llm: -1.0, ..SourceWeights::default() }.validate().is_err());
        assert!(SourceWeights { llm: f64::NAN, ..SourceWeights::default() }.validate().is_err());
    }
}
