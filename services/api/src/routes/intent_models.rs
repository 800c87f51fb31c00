//! Versions of the tenant's intent model (their scores on held-out labels, the gate's
//! decision, activating or rolling back by hand), the review queue of messages where the
//! model and the LLM disagree, and intent discovery (clusters of messages no intent fits,
//! proposed as new intents).

use chrono::{DateTime, Utc};
use copilot_core::ids::MessageId;
use copilot_intents::{
    discovery::{self, Discovery, Proposal},
    review,
    taxonomy::labels_in_use,
    versions::{self, EvaluatedOn, ModelVersion, VersionStatus},
};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::Tag;
use crate::{AppState, auth::TenantAuth, dto::MessageTriageOut, error::ApiResult, json_body::JsonBody};

pub struct IntentModelsApi {
    pub state: AppState,
}

/// Where a trained version stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ModelVersionStatus {
    /// Trained, not serving: kept out by the gate, or never activated.
    Candidate,
    /// Triage uses it.
    Active,
    /// Served before and was replaced; may be activated again (a rollback).
    Retired,
}

/// Which held-out labels the gate compared on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum EvaluatedOnIo {
    People,
    PeopleAndLlm,
    Nothing,
}

#[derive(Debug, Object)]
pub struct ExampleCountsOut {
    /// Examples written into the taxonomy.
    pub admin: i64,
    /// Agents' corrections (and labels accepted in review).
    pub agent: i64,
    /// Labels from labelling jobs.
    pub llm: i64,
    /// LLM labels left out: their intent is no longer in the taxonomy.
    pub dropped: i64,
}

#[derive(Debug, Object)]
pub struct SourceWeightsOut {
    pub admin_example: f64,
    pub agent: f64,
    pub llm: f64,
}

#[derive(Debug, Object)]
pub struct IntentScoreOut {
    pub intent: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Held-out labels of this intent.
    pub support: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ModelMetricsOut {
    /// LLM labels not trained on because the other examples contradict them (likely
    /// wrong: confident learning on out-of-fold predictions).
    pub llm_labels_set_aside: i64,
    /// Macro-F1 on held-out labels people set; absent with fewer than 10 of them.
    pub macro_f1_vs_people: Option<f64>,
    /// Macro-F1 on held-out labels the LLM set; absent with fewer than 10 of them.
    pub macro_f1_vs_llm: Option<f64>,
    pub held_out_people: i64,
    pub held_out_llm: i64,
    /// People's labels alone from 20 of them; else people's and the LLM's together.
    pub evaluated_on: EvaluatedOnIo,
    /// Per intent, on the labels the gate compared on.
    pub per_intent: Vec<IntentScoreOut>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GateOut {
    /// Whether the gate let it serve when it finished training.
    pub activated: bool,
    /// `first_version`, `no_held_out_labels`, `not_worse`, `worse`, `newer_version_ready`
    /// or `active_changed`.
    pub code: String,
    pub reason: String,
    /// The version it was compared with (an id, or `shipped` for the built-in model).
    pub compared_with: Option<String>,
    pub candidate_macro_f1: Option<f64>,
    pub active_macro_f1: Option<f64>,
    /// Held-out labels both were scored on.
    pub held_out: i64,
    /// How far below the serving version a candidate may score and still serve.
    pub tolerance: f64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ModelVersionOut {
    pub id: Uuid,
    pub status: ModelVersionStatus,
    /// The intents it predicts.
    pub labels: Vec<String>,
    /// Absent for versions trained before sources were counted.
    pub examples: Option<ExampleCountsOut>,
    pub weights: Option<SourceWeightsOut>,
    pub cross_validated_accuracy: Option<f64>,
    pub folds: Option<i32>,
    pub metrics: Option<ModelMetricsOut>,
    pub gate: Option<GateOut>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl From<ModelVersion> for ModelVersionOut {
    fn from(version: ModelVersion) -> Self {
        Self {
            id: version.id,
            status: match version.status {
                VersionStatus::Candidate => ModelVersionStatus::Candidate,
                VersionStatus::Active => ModelVersionStatus::Active,
                VersionStatus::Retired => ModelVersionStatus::Retired,
            },
            labels: version.labels,
            examples: version.examples.map(|c| ExampleCountsOut {
                admin: c.admin as i64,
                agent: c.agent as i64,
                llm: c.llm as i64,
                dropped: c.dropped as i64,
            }),
            weights: version.weights.map(|w| SourceWeightsOut {
                admin_example: w.admin_example,
                agent: w.agent,
                llm: w.llm,
            }),
            cross_validated_accuracy: version.cross_validated_accuracy,
            folds: version.folds,
            metrics: version.metrics.map(|m| ModelMetricsOut {
                llm_labels_set_aside: m.llm_labels_set_aside as i64,
                macro_f1_vs_people: m.macro_f1_vs_people,
                macro_f1_vs_llm: m.macro_f1_vs_llm,
                held_out_people: m.held_out_people as i64,
                held_out_llm: m.held_out_llm as i64,
                evaluated_on: match m.evaluated_on {
                    EvaluatedOn::People => EvaluatedOnIo::People,
                    EvaluatedOn::PeopleAndLlm => EvaluatedOnIo::PeopleAndLlm,
                    EvaluatedOn::Nothing => EvaluatedOnIo::Nothing,
                },
                per_intent: m
                    .per_intent
                    .into_iter()
                    .map(|s| IntentScoreOut {
                        intent: s.intent,
                        precision: s.precision,
                        recall: s.recall,
                        f1: s.f1,
                        support: s.support as i64,
                    })
                    .collect(),
            }),
            gate: version.gate.map(|g| GateOut {
                activated: g.activated,
                code: g.code,
                reason: g.reason,
                compared_with: g.compared_with,
                candidate_macro_f1: g.candidate_macro_f1,
                active_macro_f1: g.active_macro_f1,
                held_out: g.held_out as i64,
                tolerance: g.tolerance,
            }),
            created_at: version.created_at,
            finished_at: version.finished_at,
            activated_at: version.activated_at,
            retired_at: version.retired_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct ModelVersionsOut {
    /// The 50 newest trained versions, newest first.
    pub data: Vec<ModelVersionOut>,
}

#[derive(Debug, Object)]
pub struct LabelGuessOut {
    pub label: String,
    pub confidence: Option<f64>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReviewItemOut {
    pub message_id: Uuid,
    pub ticket_id: Uuid,
    pub text: String,
    /// The intent the small model gave when the message was triaged.
    pub model: LabelGuessOut,
    /// The label the LLM gave in a labelling job.
    pub llm: LabelGuessOut,
    /// Which LLM gave it.
    pub llm_model: Option<String>,
    pub labelled_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct ReviewOut {
    /// Disagreements in all.
    pub total: i64,
    /// The most confident model first.
    pub data: Vec<ReviewItemOut>,
}

#[derive(Debug, Object)]
pub struct ReviewAcceptIn {
    /// Either side's label, or another label of the taxonomy.
    pub label: String,
}

/// Where a discovery run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DiscoveryStatus {
    Queued,
    Done,
    Failed,
}

/// What an admin decided about a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ProposalStatus {
    Proposed,
    /// Added as a new intent.
    Accepted,
    /// Its examples went to an existing intent.
    Merged,
    /// Hidden, and clusters like it stay out of later runs.
    Rejected,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DiscoveryIn {
    /// Messages triaged at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Messages triaged before this time.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct ProposalExampleOut {
    pub message_id: Uuid,
    pub text: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ProposalOut {
    pub id: Uuid,
    /// Messages in the cluster.
    pub size: i32,
    /// From the LLM when one is set, else from the keywords.
    pub label_suggestion: String,
    pub description: Option<String>,
    /// The terms that set the cluster apart (words, or character pairs in Chinese).
    pub keywords: Vec<String>,
    /// The messages nearest the cluster's centre.
    pub examples: Vec<ProposalExampleOut>,
    /// Every message of the cluster.
    pub message_ids: Vec<Uuid>,
    /// The existing intent whose examples are nearest, and how near (cosine).
    pub nearest_existing_intent: Option<String>,
    pub similarity: Option<f64>,
    pub status: ProposalStatus,
    /// The intent it became or joined.
    pub decided_label: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<Proposal> for ProposalOut {
    fn from(p: Proposal) -> Self {
        Self {
            id: p.id,
            size: p.size,
            label_suggestion: p.label_suggestion,
            description: p.description,
            keywords: p.keywords,
            examples: p
                .examples
                .into_iter()
                .map(|e| ProposalExampleOut { message_id: e.message_id, text: e.text })
                .collect(),
            message_ids: p.message_ids,
            nearest_existing_intent: p.nearest_intent,
            similarity: p.similarity,
            status: match p.status.as_str() {
                "accepted" => ProposalStatus::Accepted,
                "merged" => ProposalStatus::Merged,
                "rejected" => ProposalStatus::Rejected,
                _ => ProposalStatus::Proposed,
            },
            decided_label: p.decided_label,
            decided_at: p.decided_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DiscoveryOut {
    pub id: Uuid,
    pub status: DiscoveryStatus,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Messages the run clustered (triaged `other` or below 0.5 confidence, not set by a person).
    pub messages: i32,
    pub attempts: i32,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Biggest first; present on `GET /v1/intents/discovery/{id}`.
    pub proposals: Option<Vec<ProposalOut>>,
}

fn discovery_out(run: Discovery, proposals: Option<Vec<Proposal>>) -> DiscoveryOut {
    DiscoveryOut {
        id: run.id,
        status: match run.status.as_str() {
            "queued" => DiscoveryStatus::Queued,
            "done" => DiscoveryStatus::Done,
            _ => DiscoveryStatus::Failed,
        },
        from: run.from,
        to: run.to,
        messages: run.messages,
        attempts: run.attempts,
        error: run.error,
        created_at: run.created_at,
        finished_at: run.finished_at,
        proposals: proposals.map(|all| all.into_iter().map(ProposalOut::from).collect()),
    }
}

#[derive(Debug, Object)]
pub struct DiscoveriesOut {
    /// The 20 newest runs, newest first.
    pub data: Vec<DiscoveryOut>,
}

#[derive(ApiResponse)]
pub enum DiscoveryQueued {
    /// Queued; follow it at `GET /v1/intents/discovery/{id}`.
    #[oai(status = 202)]
    Accepted(Json<DiscoveryOut>),
}

#[derive(Debug, Object)]
pub struct ProposalAcceptIn {
    /// The new intent's label; absent: the suggestion.
    pub label: Option<String>,
}

#[derive(Debug, Object)]
pub struct ProposalMergeIn {
    /// The existing intent that takes the proposal's examples.
    pub into: String,
}

#[OpenApi(tag = "Tag::Triage")]
impl IntentModelsApi {
    /// The trained versions of the tenant's intent model, with their scores on held-out
    /// labels and what the gate decided.
    #[oai(path = "/intents/models", method = "get", operation_id = "intents.models.list")]
    async fn list(&self, auth: TenantAuth) -> ApiResult<Json<ModelVersionsOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let found = versions::versions(&tx, 50).await?;
        Ok(Json(ModelVersionsOut { data: found.into_iter().map(ModelVersionOut::from).collect() }))
    }

    /// One trained version.
    #[oai(path = "/intents/models/:id", method = "get", operation_id = "intents.models.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<ModelVersionOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(versions::version(&tx, id.0).await?.into()))
    }

    /// Make a trained version serve whatever the gate said (admins): a candidate forced,
    /// or a retired version rolled back to. Audited; emits `intent_model.activated`.
    #[oai(path = "/intents/models/:id/activate", method = "post", operation_id = "intents.models.activate")]
    async fn activate(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<ModelVersionOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let version = versions::activate(&tx, &principal, id.0).await?;
        tx.commit().await?;
        Ok(Json(version.into()))
    }

    /// Customer messages where the small model's intent and the LLM's label disagree
    /// (admins), the most confident model first.
    #[oai(path = "/intents/review", method = "get", operation_id = "intents.review.list")]
    async fn review(&self, auth: TenantAuth, limit: Query<Option<u64>>) -> ApiResult<Json<ReviewOut>> {
        let principal = auth.0.principal;
        principal.require_admin()?;
        let limit = limit.0.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(copilot_core::Error::validation("validation_failed", "`limit` is 1 to 200").into());
        }
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let queue = review::queue(&tx, limit).await?;
        let data = queue
            .items
            .into_iter()
            .map(|item| ReviewItemOut {
                message_id: item.message_id,
                ticket_id: item.ticket_id,
                text: item.text,
                model: LabelGuessOut { label: item.model_label, confidence: item.model_confidence },
                llm: LabelGuessOut { label: item.llm_label, confidence: item.llm_confidence },
                llm_model: item.llm_model,
                labelled_at: item.labelled_at,
            })
            .collect();
        Ok(Json(ReviewOut { total: queue.total as i64, data }))
    }

    /// Settle a message's intent from the review queue (admins): recorded as a person's
    /// label, which outranks the model's and the LLM's and trains the next version.
    #[oai(path = "/intents/review/:message_id/accept", method = "post", operation_id = "intents.review.accept")]
    async fn accept(
        &self,
        auth: TenantAuth,
        message_id: Path<Uuid>,
        body: JsonBody<ReviewAcceptIn>,
    ) -> ApiResult<Json<MessageTriageOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let allowed = labels_in_use(&tx, &self.state.pipeline.triager.default_intents()).await?;
        let triage = review::accept(&tx, &principal, MessageId(message_id.0), body.0.label.trim(), &allowed).await?;
        tx.commit().await?;
        Ok(Json(triage.into()))
    }

    /// Cluster the customer messages the intent model could not place (admins): triaged
    /// `other` or below 0.5 confidence, not set by a person. One run at a time (409
    /// `discovery_running`).
    #[oai(path = "/intents/discovery", method = "post", operation_id = "intents.discovery.start")]
    async fn discover(&self, auth: TenantAuth, body: JsonBody<Option<DiscoveryIn>>) -> ApiResult<DiscoveryQueued> {
        let principal = auth.0.principal;
        let body = body.0.unwrap_or(DiscoveryIn { from: None, to: None });
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let run = discovery::request(&tx, &principal, body.from, body.to).await?;
        tx.commit().await?;
        self.state.pipeline.models_wakeup.notify_one();
        Ok(DiscoveryQueued::Accepted(Json(discovery_out(run, None))))
    }

    /// The tenant's newest discovery runs.
    #[oai(path = "/intents/discovery", method = "get", operation_id = "intents.discovery.list")]
    async fn discoveries(&self, auth: TenantAuth) -> ApiResult<Json<DiscoveriesOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let runs = discovery::list(&tx, 20).await?;
        Ok(Json(DiscoveriesOut { data: runs.into_iter().map(|run| discovery_out(run, None)).collect() }))
    }

    /// A discovery run and its proposals.
    #[oai(path = "/intents/discovery/:id", method = "get", operation_id = "intents.discovery.get")]
    async fn discovery(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<DiscoveryOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let (run, proposals) = discovery::get(&tx, id.0).await?;
        Ok(Json(discovery_out(run, Some(proposals))))
    }

    /// Add a proposal as a new intent with its examples (admins); train a new version for
    /// triage to use it. 409 `intent_exists` when the label is taken.
    #[oai(
        path = "/intents/discovery/:id/proposals/:proposal_id/accept",
        method = "post",
        operation_id = "intents.discovery.accept"
    )]
    async fn accept_proposal(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        proposal_id: Path<Uuid>,
        body: JsonBody<Option<ProposalAcceptIn>>,
    ) -> ApiResult<Json<ProposalOut>> {
        let principal = auth.0.principal;
        let label = body.0.and_then(|body| body.label);
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let defaults = self.state.pipeline.triager.default_intents();
        let proposal = discovery::accept(&tx, &principal, id.0, proposal_id.0, label.as_deref(), &defaults).await?;
        tx.commit().await?;
        Ok(Json(proposal.into()))
    }

    /// Add a proposal's examples to an existing intent (admins).
    #[oai(
        path = "/intents/discovery/:id/proposals/:proposal_id/merge",
        method = "post",
        operation_id = "intents.discovery.merge"
    )]
    async fn merge_proposal(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        proposal_id: Path<Uuid>,
        body: JsonBody<ProposalMergeIn>,
    ) -> ApiResult<Json<ProposalOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let defaults = self.state.pipeline.triager.default_intents();
        let proposal = discovery::merge(&tx, &principal, id.0, proposal_id.0, &body.0.into, &defaults).await?;
        tx.commit().await?;
        Ok(Json(proposal.into()))
    }

    /// Reject a proposal (admins): clusters like it stay out of later runs.
    #[oai(
        path = "/intents/discovery/:id/proposals/:proposal_id/reject",
        method = "post",
        operation_id = "intents.discovery.reject"
    )]
    async fn reject_proposal(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        proposal_id: Path<Uuid>,
    ) -> ApiResult<Json<ProposalOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let proposal = discovery::reject(&tx, &principal, id.0, proposal_id.0).await?;
        tx.commit().await?;
        Ok(Json(proposal.into()))
    }
}
