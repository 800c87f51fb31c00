//! The drafting worker: claims due drafting jobs, retrieves knowledge for the
//! conversation, writes the draft with the tenant's LLM (streamed to listeners as it
//! comes) or, without one, extractively, and stores the result. Failed LLM calls are
//! retried with backoff, then the draft is `failed` with the reason. A job's lease is
//! renewed while it is written, so a live worker keeps it and a dead one loses it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, TenantId,
    model::{Author, DraftMode, LlmFeature},
};
use copilot_drafting::{
    DraftInput, Passage, Persona, Speaker, Turn, answer, build_prompt, extractive::extractive_draft, parse_answer,
    redact::Redactions,
};
use copilot_drafts::{
    drafts::{self, Citation, Claimed, Job, Written},
    settings::{self as draft_settings, DraftSettings},
};
use copilot_knowledge::{Hit, Mode, Relevance, SearchRequest};
use copilot_triage::{detect, detect_language, focus};
use tokio::{sync::broadcast, task::JoinSet};
use uuid::Uuid;

use crate::{
    JobRun, Pipeline,
    llm::{self, CallFailure, Plan},
    queues::Renewal,
};

/// How often the worker looks for due jobs when nothing wakes it.
const POLL: Duration = Duration::from_secs(1);
/// Passages retrieved for a draft.
const PASSAGES: usize = 5;
/// The language of drafts when the customer's cannot be told and the tenant set none.
const DEFAULT_LANGUAGE: &str = "en";

/// What a listener of a draft being written receives.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// More text, as the model wrote it (citation markers included).
    Text(String),
    /// The attempt is over: read the draft for its outcome.
    Finished,
    /// The model failed and another one starts over: drop the text received so far.
    Restart,
}

/// Drafts being written in this process, for `GET /v1/drafts/{id}/stream`.
#[derive(Default)]
pub struct DraftStreams {
    live: Mutex<HashMap<Uuid, (String, broadcast::Sender<StreamEvent>)>>,
}

impl DraftStreams {
    fn open(&self, id: Uuid) {
        if let Ok(mut live) = self.live.lock() {
            live.insert(id, (String::new(), broadcast::channel(1024).0));
        }
    }

    /// A new attempt starts over (another profile answers): the text so far is dropped.
    fn restart(&self, id: Uuid) {
        if let Ok(mut live) = self.live.lock()
            && let Some((text, sender)) = live.get_mut(&id)
            && !text.is_empty()
        {
            text.clear();
            let _ = sender.send(StreamEvent::Restart);
        }
    }

    fn push(&self, id: Uuid, piece: &str) {
        if let Ok(mut live) = self.live.lock()
            && let Some((text, sender)) = live.get_mut(&id)
        {
            text.push_str(piece);
            let _ = sender.send(StreamEvent::Text(piece.to_owned()));
        }
    }

    fn close(&self, id: Uuid) {
        if let Ok(mut live) = self.live.lock()
            && let Some((_, sender)) = live.remove(&id)
        {
            let _ = sender.send(StreamEvent::Finished);
        }
    }

    /// The text written so far and the events that follow, while this process writes the draft.
    pub fn subscribe(&self, id: Uuid) -> Option<(String, broadcast::Receiver<StreamEvent>)> {
        let live = self.live.lock().ok()?;
        live.get(&id).map(|(text, sender)| (text.clone(), sender.subscribe()))
    }
}

/// Runs forever: keeps up to `draft_concurrency` drafts in progress.
pub async fn run_worker(state: Pipeline) {
    let mut running = JoinSet::new();
    // Once the process is stopping, nothing new is claimed.
    while !state.drain.stopping() {
        while running.try_join_next().is_some() {}
        let free = state.settings.draft_concurrency.saturating_sub(running.len());
        let mut claimed_any = false;
        if free > 0 {
            match claim_due(&state, free).await {
                Ok(claimed) => {
                    for job in claimed {
                        claimed_any = true;
                        running.spawn(write(state.clone(), job));
                    }
                }
                Err(error) => tracing::warn!(%error, "claiming drafting jobs failed"),
            }
        }
        if !claimed_any {
            tokio::select! {
                _ = state.draft_wakeup.notified() => {}
                _ = state.drain.stopped() => {}
                _ = tokio::time::sleep(POLL) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
}

/// Claims up to `limit` due drafting jobs, fairly across tenants.
async fn claim_due(state: &Pipeline, limit: usize) -> Result<Vec<Claimed>, Error> {
    drafts::claim(&state.db, limit as u64, lease(state), state.settings.draft_tenant_concurrency).await
}

/// One round in the caller's task: writes the drafts due now (up to `draft_concurrency`)
/// one after another; returns how many it claimed.
pub async fn run_once(state: &Pipeline) -> Result<usize, Error> {
    let claimed = claim_due(state, state.settings.draft_concurrency).await?;
    let count = claimed.len();
    for job in claimed {
        write(state.clone(), job).await;
    }
    Ok(count)
}

/// How long a claimed job stays with its worker without a renewal.
fn lease(state: &Pipeline) -> chrono::Duration {
    chrono::Duration::seconds(state.settings.draft_lease_seconds as i64)
}

/// Closes a draft's live stream when the attempt ends, even by a panic; the lease's
/// renewal stops with it.
struct Attempt {
    _renewal: Renewal,
    streams: Arc<DraftStreams>,
    draft_id: Uuid,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.streams.close(self.draft_id);
    }
}

/// Writes one claimed draft, renewing its lease meanwhile.
async fn write(state: Pipeline, claimed: Claimed) {
    let renewal = Renewal::start(
        &state.db,
        drafts::QUEUE,
        claimed.tenant_id,
        vec![(claimed.draft_id, claimed.attempt)],
        lease(&state),
    );
    let attempt = Attempt { _renewal: renewal, streams: state.draft_streams.clone(), draft_id: claimed.draft_id };
    let request_id = claimed.request_id.clone();
    let run = JobRun {
        queue: drafts::QUEUE.name,
        tenant: claimed.tenant_id,
        id: claimed.draft_id,
        attempt: claimed.attempt,
        request_id: request_id.as_deref(),
        queued_at: claimed.queued_at,
    };
    let work = async {
        match write_draft(&state, claimed).await {
            Ok(()) => tracing::info!("draft written"),
            // The lease runs out and another round takes the job again.
            Err(error) => tracing::warn!(%error, "writing a draft failed"),
        }
    };
    state.run_job(run, work).await;
    drop(attempt);
}

async fn write_draft(state: &Pipeline, claimed: Claimed) -> Result<(), Error> {
    let tenant = claimed.tenant_id;
    if state.policies.drafts.exhausted(claimed.attempt) {
        tracing::warn!(draft = %claimed.draft_id, %tenant, "a draft was interrupted too often; giving up");
        let tx = state.db.tenant(tenant).await?;
        drafts::record_failure(&tx, &claimed, "writing the draft was interrupted too often", None).await?;
        return tx.commit().await;
    }
    let (job, settings, plan) = {
        let tx = state.db.tenant(tenant).await?;
        let Some(job) = drafts::job(&tx, claimed.draft_id).await? else { return Ok(()) };
        let settings = draft_settings::get(&tx).await?;
        let plan = llm::plan(state, &tx, &settings, LlmFeature::Draft).await?;
        (job, settings, plan)
    };
    let question = job
        .conversation
        .iter()
        .rev()
        .find(|message| message.author == Author::Customer)
        .map_or_else(|| job.subject.clone(), |message| message.body.clone());
    // The customer's language when it can be told; a word or two ("ok", "refund?") that
    // could be several languages gets the tenant's default rather than a guess.
    let detected = {
        // Read as triage reads it; off the async workers (the first call loads models).
        let text = focus(&question).into_owned();
        tokio::task::spawn_blocking(move || detect(&text)).await.map_err(Error::internal)?
    };
    let language = if detected.confident {
        detected.code
    } else {
        settings.default_language.clone().unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned())
    };

    let started = std::time::Instant::now();
    let (hits, relevance) = match retrieve(state, tenant, &job.subject, &question).await {
        Ok(found) => found,
        Err(error) => {
            return fail(state, &claimed, &job, &format!("knowledge search failed: {error}"), true, None).await;
        }
    };
    tracing::debug!(
        draft = %claimed.draft_id,
        elapsed_ms = started.elapsed().as_millis() as u64,
        passages = hits.len(),
        relevance = relevance.map(|relevance| relevance.answerability),
        similarity = relevance.map(|relevance| relevance.similarity),
        "knowledge retrieved"
    );
    let relevant = relevance.is_some_and(|relevance| relevance.answerability >= state.settings.draft_min_relevance);
    let passages: Vec<Passage> = hits
        .iter()
        .enumerate()
        .map(|(index, hit)| Passage {
            label: format!("S{}", index + 1),
            title: hit.title.clone(),
            heading: Some(hit.heading.clone()).filter(|heading| !heading.is_empty()),
            text: hit.text.clone(),
        })
        .collect();
    let intent =
        job.triage.as_ref().and_then(|triage| triage.corrected_intent.clone().or_else(|| triage.intent.clone()));

    let without_llm = job.draft.requested_mode == Some(DraftMode::Extractive);
    let mut notes = Vec::new();
    if !relevant {
        notes.push("no_relevant_knowledge".to_owned());
    }
    let written = if !without_llm && plan.callable() {
        let drafted = draft_with_llm(
            state, tenant, &job, &settings, &plan, &language, &passages, &hits, relevant, &intent, &mut notes,
        )
        .await;
        match drafted {
            Ok(written) => written,
            Err(CallFailure { message, retryable, wait_until }) => {
                return fail(state, &claimed, &job, &message, retryable, wait_until).await;
            }
        }
    } else {
        notes.push(
            if without_llm {
                "extractive_requested"
            } else if plan.budget_exhausted && !plan.candidates.is_empty() {
                "budget_exhausted"
            } else {
                "no_llm_configured"
            }
            .to_owned(),
        );
        draft_extractively(&settings, &language, &passages, &hits, relevant)
    };
    let tx = state.db.tenant(tenant).await?;
    drafts::finish(&tx, &claimed, Written { notes, intent, ..written }).await?;
    tx.commit().await
}

/// The best passages for the conversation and how likely the best one answers the
/// customer's question (see [`Relevance`]).
async fn retrieve(
    state: &Pipeline,
    tenant: TenantId,
    subject: &str,
    question: &str,
) -> Result<(Vec<Hit>, Option<Relevance>), Error> {
    // The customer's own words; a very short message borrows the ticket's subject.
    let query = if question.chars().count() < 12 { format!("{subject}\n{question}") } else { question.to_owned() };
    let query: String = query.chars().take(2000).collect();
    let request = SearchRequest { query, limit: PASSAGES, mode: Mode::Hybrid, tags: Vec::new() };
    state.knowledge.search_with_relevance(tenant, &request).await
}

#[allow(clippy::too_many_arguments)]
async fn draft_with_llm(
    state: &Pipeline,
    tenant: TenantId,
    job: &Job,
    settings: &DraftSettings,
    plan: &Plan,
    language: &str,
    passages: &[Passage],
    hits: &[Hit],
    relevant: bool,
    intent: &Option<String>,
    notes: &mut Vec<String>,
) -> Result<Written, CallFailure> {
    // Passages that do not answer the question are not offered: the model would cite an
    // unrelated policy. Without sources it asks for details or hands over.
    let offered = if relevant { passages } else { &[] };
    let mut redactions = Redactions::default();
    let mut private = |text: &str| if settings.redact_pii { redactions.redact(text) } else { text.to_owned() };
    let input = DraftInput {
        persona: Persona {
            persona: settings.persona.clone(),
            tone: settings.tone.clone(),
            signature: settings.signature.clone(),
        },
        language: language.to_owned(),
        subject: private(&job.subject),
        conversation: job
            .conversation
            .iter()
            .map(|message| Turn {
                speaker: if message.author == Author::Customer { Speaker::Customer } else { Speaker::Agent },
                text: private(&message.body),
            })
            .collect(),
        intent: intent.clone(),
        sentiment: job.triage.as_ref().and_then(|triage| triage.sentiment),
        passages: offered.to_vec(),
        instructions: job.draft.instructions.clone(),
    };
    if !redactions.is_empty() {
        notes.push("personal_data_redacted".to_owned());
    }
    let prompt = build_prompt(&input);
    let id = job.draft.id.0;
    state.draft_streams.open(id);
    let answered = llm::call(
        state,
        tenant,
        plan,
        &prompt,
        |_| state.draft_streams.restart(id),
        |piece| state.draft_streams.push(id, piece),
        |text| parse_answer(text, offered).map_err(|error| error.to_string()),
    )
    .await?;
    let (parsed, completion) = (answered.read, answered.completion);
    let body = redactions.restore(&parsed.body);
    // Bounded like every text the detector reads: an LLM may answer at length.
    let written_language = detect_language(&focus(&body));
    let language_matches = written_language == language || written_language == "und" || language == "und";
    if !language_matches {
        notes.push("language_mismatch".to_owned());
    }
    if parsed.dropped_citations > 0 {
        notes.push("unsupported_citations_dropped".to_owned());
    }
    if parsed.insufficient {
        // The model read the passages and found no answer: the draft is not grounded,
        // whatever it cites.
        notes.push("knowledge_does_not_answer".to_owned());
        if relevant {
            notes.push("no_relevant_knowledge".to_owned());
        }
    }
    if parsed.echoed_prompt {
        notes.push("prompt_markup_removed".to_owned());
    }
    let mut confidence = answer::confidence(&parsed, language_matches);
    if !relevant {
        confidence = confidence.min(NOT_GROUNDED_CONFIDENCE);
    }
    Ok(Written {
        body,
        citations: parsed
            .citations
            .iter()
            .filter(|_| !parsed.insufficient)
            .filter_map(|citation| {
                hits.get(citation.passage).map(|hit| cite(hit, citation.quote.clone(), citation.sentence.clone()))
            })
            .collect(),
        confidence,
        language: language.to_owned(),
        mode: DraftMode::Llm,
        model: Some(completion.model),
        llm_profile: Some(answered.profile),
        prompt_tokens: completion.usage.prompt_tokens,
        completion_tokens: completion.usage.completion_tokens,
        notes: Vec::new(),
        intent: None,
    })
}

/// The most confidence a draft gets when the knowledge base holds nothing that answers the
/// question, whoever wrote it.
const NOT_GROUNDED_CONFIDENCE: f64 = 0.3;

fn draft_extractively(
    settings: &DraftSettings,
    language: &str,
    passages: &[Passage],
    hits: &[Hit],
    relevant: bool,
) -> Written {
    let draft = extractive_draft(language, passages, relevant.then_some(0), settings.signature.as_deref());
    let citations = match (draft.passage.and_then(|index| hits.get(index)), draft.quote) {
        (Some(hit), Some(quote)) => {
            let sentence = Some(quote.clone()).filter(|quote| draft.body.contains(quote.as_str()));
            vec![cite(hit, quote.chars().take(300).collect(), sentence)]
        }
        _ => Vec::new(),
    };
    Written {
        body: draft.body,
        confidence: if citations.is_empty() { 0.1 } else { 0.5 },
        citations,
        language: language.to_owned(),
        mode: DraftMode::Extractive,
        model: None,
        llm_profile: None,
        prompt_tokens: 0,
        completion_tokens: 0,
        notes: Vec::new(),
        intent: None,
    }
}

fn cite(hit: &Hit, quote: String, sentence: Option<String>) -> Citation {
    Citation {
        chunk_id: hit.chunk_id,
        document_id: hit.document_id,
        document_version: hit.document_version,
        title: hit.title.clone(),
        heading: Some(hit.heading.clone()).filter(|heading| !heading.is_empty()),
        quote,
        sentence,
    }
}

/// Records a failed attempt: retried after the queue's backoff, and not before `not_before`
/// (when every model the draft may use is paused, the next attempt probes the first to
/// reopen), or failed when no attempt is left.
async fn fail(
    state: &Pipeline,
    claimed: &Claimed,
    job: &Job,
    error: &str,
    retryable: bool,
    not_before: Option<DateTime<Utc>>,
) -> Result<(), Error> {
    tracing::warn!(draft = %claimed.draft_id, tenant = %claimed.tenant_id, attempt = job.draft.attempts, error, "a draft attempt failed");
    state.telemetry.job_failed(drafts::QUEUE.name);
    let backoff = if retryable { state.policies.drafts.after_failure(job.draft.attempts.max(0) as u32) } else { None };
    let reopens = not_before.and_then(|until| (until - copilot_core::now()).to_std().ok()).unwrap_or_default();
    let delay = backoff.map(|backoff| backoff.max(reopens));
    let tx = state.db.tenant(claimed.tenant_id).await?;
    drafts::record_failure(&tx, claimed, error, delay.and_then(|delay| chrono::Duration::from_std(delay).ok())).await?;
    tx.commit().await?;
    if let Some(delay) = delay {
        crate::queues::wake_after(&state.draft_wakeup, delay);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_listener_gets_the_text_so_far_then_the_rest() {
        let streams = DraftStreams::default();
        let id = Uuid::now_v7();
        assert!(streams.subscribe(id).is_none());
        streams.open(id);
        streams.push(id, "Hello");
        let (so_far, mut events) = streams.subscribe(id).unwrap_or_else(|| panic!("the draft is live"));
        assert_eq!(so_far, "Hello");
        streams.push(id, " there");
        streams.close(id);
        assert_eq!(events.try_recv().ok(), Some(StreamEvent::Text(" there".into())));
        assert_eq!(events.try_recv().ok(), Some(StreamEvent::Finished));
        assert!(streams.subscribe(id).is_none());
    }
}
