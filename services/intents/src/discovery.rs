//! Intent discovery: a run (a durable job) clusters the customer messages the intent model
//! could not place (triaged `other`, or below [`crate::labelling::LOW_CONFIDENCE`], and not
//! set by a person) and stores each cluster as a proposal. An admin accepts a proposal (a
//! new intent with the cluster's messages as examples), merges it into an existing intent
//! (its examples grow) or rejects it; a rejected proposal's centroid keeps clusters like it
//! out of later runs. Clustering and naming are the application layer's business; this
//! module stores what they found.

use chrono::{DateTime, Duration, Utc};
use copilot_core::{Error, Principal, retry::Backoff};
use copilot_entities::{intent_discovery, intent_proposal, message_triage};
use copilot_store::{Db, Scoped, TenantTx, audit, db_err, jobs::Queue};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    labelling::LOW_CONFIDENCE,
    taxonomy::{self, IntentLabel, OTHER},
    triage,
};

/// The most messages one run clusters (the newest).
pub const MAX_MESSAGES: u64 = 2_000;
/// A rejected proposal hides later clusters at least this similar to it.
pub const REJECTED_SIMILARITY: f32 = 0.9;
/// Example texts an accepted or merged proposal adds to its intent.
pub const EXAMPLES_ADDED: usize = 20;

/// The discovery queue: runs waiting to be clustered.
pub const QUEUE: Queue = Queue {
    name: "discovery",
    table: "intent_discoveries",
    id: "id",
    open: "{row}.status = 'queued'",
    held: "{row}.status = 'queued'",
    lease_columns: &["next_attempt_at"],
};

/// A claimed run.
pub type Claimed = crate::queued::ClaimedJob;

/// A run and where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Discovery {
    pub id: Uuid,
    /// `queued`, `done` or `failed`.
    pub status: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub messages: i32,
    pub attempts: i32,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<intent_discovery::Model> for Discovery {
    fn from(row: intent_discovery::Model) -> Self {
        Self {
            id: row.id,
            status: row.status,
            from: row.scope_from,
            to: row.scope_to,
            messages: row.messages,
            attempts: row.attempts,
            error: row.error,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

/// A message shown as an example of a cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub message_id: Uuid,
    pub text: String,
}

/// A cluster found by a run, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub id: Uuid,
    pub size: i32,
    pub label_suggestion: String,
    pub description: Option<String>,
    pub keywords: Vec<String>,
    pub examples: Vec<Example>,
    /// Every message of the cluster.
    pub message_ids: Vec<Uuid>,
    pub nearest_intent: Option<String>,
    pub similarity: Option<f64>,
    /// `proposed`, `accepted`, `merged` or `rejected`.
    pub status: String,
    pub decided_label: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<intent_proposal::Model> for Proposal {
    fn from(row: intent_proposal::Model) -> Self {
        Self {
            id: row.id,
            size: row.size,
            label_suggestion: row.label_suggestion,
            description: row.description,
            keywords: serde_json::from_value(row.keywords).unwrap_or_default(),
            examples: serde_json::from_value(row.examples).unwrap_or_default(),
            message_ids: serde_json::from_value(row.message_ids).unwrap_or_default(),
            nearest_intent: row.nearest_intent,
            similarity: row.similarity,
            status: row.status,
            decided_label: row.decided_label,
            decided_at: row.decided_at,
        }
    }
}

/// A cluster to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewProposal {
    pub label_suggestion: String,
    pub description: Option<String>,
    pub keywords: Vec<String>,
    pub examples: Vec<Example>,
    pub message_ids: Vec<Uuid>,
    pub nearest_intent: Option<String>,
    pub similarity: Option<f64>,
    pub centroid: Vec<f32>,
}

/// Queues a run over messages triaged in `[from, to)` (admins); 409
/// `discovery_running` while another of the tenant's runs is queued.
pub async fn request(
    tx: &TenantTx,
    by: &Principal,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Discovery, Error> {
    by.require_admin()?;
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(Error::validation("validation_failed", "`from` must be before `to`"));
    }
    let open = intent_discovery::Entity::scoped(tx.tenant())
        .filter(intent_discovery::Column::Status.eq("queued"))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    if let Some(open) = open {
        return Err(Error::conflict("discovery_running", format!("discovery {} is still running", open.id)));
    }
    let now = copilot_core::now();
    let row = intent_discovery::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        status: Set("queued".into()),
        scope_from: Set(from),
        scope_to: Set(to),
        messages: Set(0),
        attempts: Set(0),
        next_attempt_at: Set(now),
        error: Set(None),
        requested_by: Set(by.actor.user_id()),
        request_id: Set(copilot_store::request::current()),
        created_at: Set(now),
        finished_at: Set(None),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "intents.discovery_requested",
        audit::Target::new("intent_discovery", row.id),
        serde_json::json!({ "from": from, "to": to }),
    )
    .await?;
    Ok(row.into())
}

async fn row(tx: &TenantTx, id: Uuid) -> Result<intent_discovery::Model, Error> {
    intent_discovery::Entity::scoped(tx.tenant())
        .filter(intent_discovery::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("intent discovery"))
}

/// A run and its proposals, biggest first.
pub async fn get(tx: &TenantTx, id: Uuid) -> Result<(Discovery, Vec<Proposal>), Error> {
    let run = row(tx, id).await?;
    let proposals = intent_proposal::Entity::scoped(tx.tenant())
        .filter(intent_proposal::Column::DiscoveryId.eq(id))
        .order_by_desc(intent_proposal::Column::Size)
        .order_by_asc(intent_proposal::Column::Id)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok((run.into(), proposals.into_iter().map(Proposal::from).collect()))
}

/// The tenant's newest runs.
pub async fn list(tx: &TenantTx, limit: u64) -> Result<Vec<Discovery>, Error> {
    let rows = intent_discovery::Entity::scoped(tx.tenant())
        .order_by_desc(intent_discovery::Column::Id)
        .limit(limit)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(Discovery::from).collect())
}

/// Claims the next due run across tenants, leased for `lease`.
pub async fn claim(db: &Db, lease: Duration, policy: &Backoff) -> Result<Option<Claimed>, Error> {
    crate::queued::claim(db, "intent_discoveries", lease, policy).await
}

/// The run while the claim still holds it (locked).
async fn held(tx: &TenantTx, claimed: &Claimed) -> Result<Option<intent_discovery::Model>, Error> {
    let row = intent_discovery::Entity::scoped(tx.tenant())
        .filter(intent_discovery::Column::Id.eq(claimed.job))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.filter(|row| row.status == "queued" && row.attempts == claimed.attempt))
}

/// A message a run clusters.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub message_id: Uuid,
    pub text: String,
    /// The language triage found, when it found one.
    pub language: Option<String>,
}

/// The messages a run clusters: the newest [`MAX_MESSAGES`] customer messages in its
/// window that triage placed in `other` or below the confidence threshold and no person
/// labelled.
pub async fn candidates(tx: &TenantTx, claimed: &Claimed) -> Result<Vec<Candidate>, Error> {
    let run = row(tx, claimed.job).await?;
    let mut query = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::CorrectedIntent.is_null())
        .filter(message_triage::Column::Intent.is_not_null())
        .filter(
            Condition::any()
                .add(message_triage::Column::Intent.eq(OTHER))
                .add(message_triage::Column::IntentConfidence.lt(LOW_CONFIDENCE)),
        );
    if let Some(from) = run.scope_from {
        query = query.filter(message_triage::Column::CreatedAt.gte(from));
    }
    if let Some(to) = run.scope_to {
        query = query.filter(message_triage::Column::CreatedAt.lt(to));
    }
    let rows =
        query.order_by_desc(message_triage::Column::CreatedAt).limit(MAX_MESSAGES).all(&**tx).await.map_err(db_err)?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.message_id).collect();
    let mut bodies = triage::bodies(tx, &ids).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            bodies.remove(&row.message_id).map(|text| Candidate {
                message_id: row.message_id,
                text,
                language: row.language,
            })
        })
        .collect())
}

/// The centroids of the tenant's rejected proposals.
pub async fn rejected_centroids(tx: &TenantTx) -> Result<Vec<Vec<f32>>, Error> {
    let rows = intent_proposal::Entity::scoped(tx.tenant())
        .filter(intent_proposal::Column::Status.eq("rejected"))
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().filter_map(|row| serde_json::from_value(row.centroid).ok()).collect())
}

/// Stores what a run found and ends it; nothing when the claim no longer holds it.
pub async fn finish(
    tx: &TenantTx,
    claimed: &Claimed,
    messages: usize,
    proposals: Vec<NewProposal>,
) -> Result<(), Error> {
    let Some(run) = held(tx, claimed).await? else { return Ok(()) };
    let now = copilot_core::now();
    if !proposals.is_empty() {
        let rows = proposals.into_iter().map(|p| intent_proposal::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tx.tenant().0),
            discovery_id: Set(run.id),
            size: Set(p.message_ids.len() as i32),
            label_suggestion: Set(p.label_suggestion),
            description: Set(p.description),
            keywords: Set(serde_json::json!(p.keywords)),
            examples: Set(serde_json::json!(p.examples)),
            message_ids: Set(serde_json::json!(p.message_ids)),
            nearest_intent: Set(p.nearest_intent),
            similarity: Set(p.similarity),
            centroid: Set(serde_json::json!(p.centroid)),
            status: Set("proposed".into()),
            decided_label: Set(None),
            decided_by: Set(None),
            decided_at: Set(None),
            created_at: Set(now),
        });
        intent_proposal::Entity::insert_many(rows).exec_without_returning(&**tx).await.map_err(db_err)?;
    }
    let mut change: intent_discovery::ActiveModel = run.into();
    change.status = Set("done".into());
    change.messages = Set(messages as i32);
    change.error = Set(None);
    change.finished_at = Set(Some(now));
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// Records a failed attempt: retried after the wait `policy` gives, `failed` after that.
pub async fn fail(tx: &TenantTx, claimed: &Claimed, error: &str, policy: &Backoff) -> Result<(), Error> {
    let Some(run) = held(tx, claimed).await? else { return Ok(()) };
    let retry = policy.retry_in(run.attempts);
    let mut change: intent_discovery::ActiveModel = run.into();
    change.error = Set(Some(error.chars().take(500).collect()));
    match retry {
        Some(wait) => change.next_attempt_at = Set(copilot_core::now() + wait),
        None => {
            change.status = Set("failed".into());
            change.finished_at = Set(Some(copilot_core::now()));
        }
    }
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// An undecided proposal of a run (404 otherwise; 409 `proposal_decided` once decided).
async fn open_proposal(tx: &TenantTx, run: Uuid, id: Uuid) -> Result<intent_proposal::Model, Error> {
    let proposal = intent_proposal::Entity::scoped(tx.tenant())
        .filter(intent_proposal::Column::DiscoveryId.eq(run))
        .filter(intent_proposal::Column::Id.eq(id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("intent proposal"))?;
    if proposal.status != "proposed" {
        return Err(Error::conflict("proposal_decided", format!("the proposal was {} already", proposal.status)));
    }
    Ok(proposal)
}

async fn decide(
    tx: &TenantTx,
    by: &Principal,
    proposal: intent_proposal::Model,
    status: &str,
    label: Option<String>,
) -> Result<Proposal, Error> {
    let id = proposal.id;
    let mut change: intent_proposal::ActiveModel = proposal.into();
    change.status = Set(status.into());
    change.decided_label = Set(label.clone());
    change.decided_by = Set(by.actor.user_id());
    change.decided_at = Set(Some(copilot_core::now()));
    let stored = change.update(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        &format!("intents.proposal_{status}"),
        audit::Target::new("intent_proposal", id),
        serde_json::json!({ "label": label }),
    )
    .await?;
    Ok(stored.into())
}

fn example_texts(proposal: &intent_proposal::Model) -> Vec<String> {
    let examples: Vec<Example> = serde_json::from_value(proposal.examples.clone()).unwrap_or_default();
    examples.into_iter().take(EXAMPLES_ADDED).map(|example| example.text).collect()
}

/// Adds the proposal as a new intent (its label, or `label` instead) with its examples
/// (admins). Train a new version for triage to use it.
pub async fn accept(
    tx: &TenantTx,
    by: &Principal,
    run: Uuid,
    id: Uuid,
    label: Option<&str>,
    default_labels: &[String],
) -> Result<Proposal, Error> {
    by.require_admin()?;
    let proposal = open_proposal(tx, run, id).await?;
    let label = label.map(str::trim).filter(|l| !l.is_empty()).unwrap_or(&proposal.label_suggestion).to_owned();
    let new = IntentLabel {
        label: label.clone(),
        display_name: None,
        description: proposal.description.clone(),
        examples: example_texts(&proposal),
    };
    taxonomy::add_intent(tx, by, default_labels, new).await?;
    decide(tx, by, proposal, "accepted", Some(label)).await
}

/// Adds the proposal's examples to the existing intent `into` (admins).
pub async fn merge(
    tx: &TenantTx,
    by: &Principal,
    run: Uuid,
    id: Uuid,
    into: &str,
    default_labels: &[String],
) -> Result<Proposal, Error> {
    by.require_admin()?;
    let proposal = open_proposal(tx, run, id).await?;
    taxonomy::add_examples(tx, by, default_labels, into.trim(), &example_texts(&proposal)).await?;
    decide(tx, by, proposal, "merged", Some(into.trim().to_owned())).await
}

/// Rejects the proposal (admins): clusters like it stay out of later runs.
pub async fn reject(tx: &TenantTx, by: &Principal, run: Uuid, id: Uuid) -> Result<Proposal, Error> {
    by.require_admin()?;
    let proposal = open_proposal(tx, run, id).await?;
    decide(tx, by, proposal, "rejected", None).await
}
