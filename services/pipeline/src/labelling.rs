//! The labelling worker: runs a tenant's labelling job batch by batch. Each batch's
//! messages go to the `label` route's LLM in one call (held to a JSON schema where the
//! profile takes one; personal data redacted when the tenant asks), the answer is read
//! strictly, and the labels are stored with the job's progress in one transaction. An
//! unreadable answer is tried once more, then the batch counts as invalid. The job ends
//! `done`, `budget_exhausted` (the month's budget or its own token limit) or `failed` (no
//! LLM); while every profile is paused it waits for the first to reopen.

use std::sync::Arc;

use copilot_core::{Error, model::LlmFeature};
use copilot_drafting::{
    ResponseSchema,
    label::{LabelChoice, label_prompt, label_schema, read_labels},
    redact::Redactions,
};
use copilot_drafts::settings as draft_settings;
use copilot_intents::{
    labelling::{self, BatchOutcome, Claimed, JobStatus, QUEUE},
    taxonomy,
};
use copilot_store::{TenantTx, jobs::Queue};
use tokio::sync::Notify;

use crate::{
    Pipeline, llm,
    queues::{Pooled, Renewal},
};

/// Messages per LLM call.
pub const BATCH: u64 = 20;
/// Jobs one process runs at the same time (one per tenant).
const CONCURRENCY: usize = 2;
/// Calls of one batch before it counts as invalid.
const TRIES: usize = 2;

/// The labelling queue as a pool of jobs.
pub struct Labelling;

impl Pooled for Labelling {
    type Item = Claimed;
    const QUEUE: Queue = QUEUE;
    const CONCURRENCY: usize = CONCURRENCY;

    fn wakeup(&self, state: &Pipeline) -> Arc<Notify> {
        Arc::clone(&state.labelling_wakeup)
    }

    async fn claim(&self, state: &Pipeline, limit: u64) -> Result<Vec<Claimed>, Error> {
        labelling::claim(&state.db, limit, lease(state)).await
    }

    fn work(state: Pipeline, item: Claimed) -> impl std::future::Future<Output = ()> + Send + 'static {
        run(state, item)
    }
}

fn lease(state: &Pipeline) -> chrono::Duration {
    chrono::Duration::seconds(state.settings.draft_lease_seconds as i64)
}

async fn run(state: Pipeline, claimed: Claimed) {
    state.telemetry.claimed(QUEUE.name, claimed.attempt, claimed.queued_at);
    let _renewal =
        Renewal::start(&state.db, QUEUE, claimed.tenant_id, vec![(claimed.id, claimed.attempt)], lease(&state));
    let started = std::time::Instant::now();
    if let Err(error) = label_job(&state, &claimed).await {
        // The lease runs out and a worker goes on from the last stored batch.
        state.telemetry.job_failed(QUEUE.name);
        tracing::warn!(job = %claimed.id, tenant = %claimed.tenant_id, %error, "a labelling round failed");
    }
    state.telemetry.job_ran(QUEUE.name, started.elapsed());
}

/// The labels the model may choose: the tenant's taxonomy, else the shipped one.
async fn choices(state: &Pipeline, tx: &TenantTx) -> Result<Vec<LabelChoice>, Error> {
    let own = taxonomy::taxonomy(tx).await?;
    if own.is_empty() {
        return Ok(state
            .triager
            .default_intents()
            .into_iter()
            .map(|label| LabelChoice { label, description: None, examples: Vec::new() })
            .collect());
    }
    Ok(own
        .into_iter()
        .map(|label| LabelChoice { label: label.label, description: label.description, examples: label.examples })
        .collect())
}

async fn end(state: &Pipeline, claimed: &Claimed, status: JobStatus, why: Option<&str>) -> Result<(), Error> {
    let tx = state.db.tenant(claimed.tenant_id).await?;
    labelling::finish(&tx, claimed, status, why).await?;
    tx.commit().await
}

async fn label_job(state: &Pipeline, claimed: &Claimed) -> Result<(), Error> {
    let tenant = claimed.tenant_id;
    while !state.drain.stopping() {
        let (job, batch, choices, redact, plan) = {
            let tx = state.db.tenant(tenant).await?;
            let Some((job, batch)) = labelling::next_batch(&tx, claimed, BATCH).await? else { return Ok(()) };
            let settings = draft_settings::get(&tx).await?;
            let choices = choices(state, &tx).await?;
            let schema = ResponseSchema { name: "labels".into(), schema: label_schema(&choices) };
            let plan = llm::plan(state, &tx, &settings, LlmFeature::Label).await?.with_schema(schema);
            (job, batch, choices, settings.redact_pii, plan)
        };
        if batch.is_empty() {
            return end(state, claimed, JobStatus::Done, None).await;
        }
        if job.max_tokens.is_some_and(|limit| job.prompt_tokens + job.completion_tokens >= limit) {
            return end(state, claimed, JobStatus::BudgetExhausted, Some("the job's token limit is spent")).await;
        }
        if plan.candidates.is_empty() {
            return end(state, claimed, JobStatus::Failed, Some("no LLM is configured for `label`")).await;
        }
        if plan.budget_exhausted {
            return end(state, claimed, JobStatus::BudgetExhausted, Some("this month's LLM budget is spent")).await;
        }
        let allowed: Vec<String> = choices.iter().map(|choice| choice.label.clone()).collect();
        let (corrected, sent): (Vec<_>, Vec<_>) = batch.iter().partition(|(_, _, corrected)| *corrected);
        let mut outcome = BatchOutcome {
            skipped: corrected.len() as i32,
            last: batch.last().map(|(id, _, _)| *id),
            ..BatchOutcome::default()
        };
        if !sent.is_empty() {
            let mut redactions = Redactions::default();
            let texts: Vec<String> =
                sent.iter().map(|(_, text, _)| if redact { redactions.redact(text) } else { text.clone() }).collect();
            let prompt = label_prompt(&choices, &texts);
            let mut answered = None;
            for _ in 0..TRIES {
                match llm::call(
                    state,
                    tenant,
                    &plan,
                    &prompt,
                    |_| {},
                    |_| {},
                    |raw| read_labels(raw, texts.len(), &allowed),
                )
                .await
                {
                    Ok(answer) => {
                        answered = Some(answer);
                        break;
                    }
                    Err(failure) => {
                        if let Some(until) = failure.wait_until {
                            let tx = state.db.tenant(tenant).await?;
                            labelling::pause_until(&tx, claimed, until, &failure.message).await?;
                            tx.commit().await?;
                            crate::queues::wake_after(
                                &state.labelling_wakeup,
                                (until - copilot_core::now()).to_std().unwrap_or_default(),
                            );
                            return Ok(());
                        }
                    }
                }
            }
            match answered {
                Some(answer) => {
                    let usage = answer.completion.usage;
                    outcome.prompt_tokens = i64::from(usage.prompt_tokens);
                    outcome.completion_tokens = i64::from(usage.completion_tokens);
                    outcome.model = Some(answer.completion.model.clone());
                    outcome.invalid = answer.read.invalid as i32;
                    for ((id, _, _), label) in sent.iter().zip(answer.read.labels) {
                        match label {
                            Some(label) => outcome.labels.push((*id, label.label, label.confidence)),
                            // A message the answer left out counts as invalid too.
                            None => outcome.invalid += 1,
                        }
                    }
                }
                None => outcome.invalid += sent.len() as i32,
            }
        }
        let tx = state.db.tenant(tenant).await?;
        // The taxonomy may have changed while the model worked: read it again.
        let allowed: Vec<String> = choices_now(state, &tx).await?;
        if !labelling::record_batch(&tx, claimed, outcome, &allowed).await? {
            return Ok(());
        }
        tx.commit().await?;
    }
    Ok(())
}

async fn choices_now(state: &Pipeline, tx: &TenantTx) -> Result<Vec<String>, Error> {
    Ok(choices(state, tx).await?.into_iter().map(|choice| choice.label).collect())
}

/// Queues a labelling job (admins): 409 `llm_not_configured` when no LLM serves `label`,
/// `labelling_running` while another job of the tenant is open.
pub async fn request(
    state: &Pipeline,
    by: &copilot_core::Principal,
    scope: labelling::Scope,
    max_messages: i32,
    max_tokens: Option<i64>,
) -> Result<labelling::LabellingJob, Error> {
    // Refused before the LLM is looked at: an agent gets 403, not whether an LLM is set.
    by.require_admin()?;
    let tx = state.db.tenant(by.tenant_id).await?;
    let settings = draft_settings::get(&tx).await?;
    if llm::plan(state, &tx, &settings, LlmFeature::Label).await?.candidates.is_empty() {
        return Err(Error::conflict("llm_not_configured", "labelling needs an LLM: none is configured for `label`"));
    }
    let job = labelling::request(&tx, by, scope, max_messages, max_tokens).await?;
    tx.commit().await?;
    state.labelling_wakeup.notify_one();
    Ok(job)
}
