//! The summary worker: keeps each ticket's summary current. A new public message marks the
//! summary pending (from the tenant's threshold on, after a short debounce); the worker
//! claims it once the ticket's triage is done, writes it with the `summary` route's LLM
//! (or, without one, extractively) in the agents' language, and stores it; a message that
//! came meanwhile makes it pending again. Failed LLM calls are retried with the drafts'
//! backoff (three attempts), then the summary is written extractively with the error kept.

use std::{sync::Arc, time::Duration};

use copilot_core::{
    Error,
    ids::{MessageId, TicketId},
    model::{Author, DraftMode, LlmFeature},
};
use copilot_drafting::{
    Speaker, Turn,
    redact::Redactions,
    summary::{SummaryInput, SummaryText, extractive_summary, parse_summary, sentiment_trend, summary_prompt},
};
use copilot_drafts::settings as draft_settings;
use copilot_intents::triage;
use copilot_store::{TenantTx, jobs::Queue};
use copilot_summaries::{Claimed, NewSummary, QUEUE, summaries};
use tokio::sync::Notify;

use crate::{
    Pipeline, llm,
    queues::{Pooled, Renewal, wake_after},
};

/// Messages arriving within this of each other are summarised together.
pub const DEBOUNCE: Duration = Duration::from_millis(100);
/// Summaries one process writes at the same time.
const CONCURRENCY: usize = 4;
/// The latest messages a summary reads.
const MESSAGES: u64 = 40;
/// The language summaries are written in when the tenant set none.
const DEFAULT_LANGUAGE: &str = "en";

/// Marks the ticket's summary pending after a public message, once the ticket has as many
/// messages as the tenant's threshold. In the transaction that stored the message.
pub async fn on_message(tx: &TenantTx, ticket: TicketId, message: MessageId) -> Result<(), Error> {
    let threshold = draft_settings::get(tx).await?.summary_min_messages;
    let (count, _) = copilot_conversations::public_thread(tx, ticket, 0).await?;
    if count >= threshold.max(1) as u64 {
        summaries::request(tx, ticket, Some(message), chrono::Duration::from_std(DEBOUNCE).unwrap_or_default()).await?;
    }
    Ok(())
}

/// Asks for a new summary of the ticket now, whatever its length (an agent's refresh).
pub async fn refresh(tx: &TenantTx, ticket: TicketId) -> Result<(), Error> {
    let (_, latest) = copilot_conversations::public_thread(tx, ticket, 1).await?;
    summaries::request(tx, ticket, latest.last().map(|message| message.id), chrono::Duration::zero()).await
}

/// The summary queue as a pool of up to [`CONCURRENCY`] summaries written at a time.
pub struct Summaries;

impl Pooled for Summaries {
    type Item = Claimed;
    const QUEUE: Queue = QUEUE;
    const CONCURRENCY: usize = CONCURRENCY;

    fn wakeup(&self, state: &Pipeline) -> Arc<Notify> {
        Arc::clone(&state.summary_wakeup)
    }

    async fn claim(&self, state: &Pipeline, limit: u64) -> Result<Vec<Claimed>, Error> {
        summaries::claim(&state.db, limit, lease(state)).await
    }

    fn work(state: Pipeline, item: Claimed) -> impl std::future::Future<Output = ()> + Send + 'static {
        write(state, item)
    }
}

fn lease(state: &Pipeline) -> chrono::Duration {
    chrono::Duration::seconds(state.settings.draft_lease_seconds as i64)
}

async fn write(state: Pipeline, claimed: Claimed) {
    state.telemetry.claimed(QUEUE.name, claimed.attempt, claimed.queued_at);
    let _renewal =
        Renewal::start(&state.db, QUEUE, claimed.tenant_id, vec![(claimed.id, claimed.attempt)], lease(&state));
    let started = std::time::Instant::now();
    if let Err(error) = write_summary(&state, &claimed).await {
        state.telemetry.job_failed(QUEUE.name);
        tracing::warn!(ticket = %claimed.ticket_id, tenant = %claimed.tenant_id, %error, "writing a summary failed");
        let retry = state.policies.summaries.after_failure(claimed.failures.max(0) as u32 + 1);
        let recorded = async {
            let tx = state.db.tenant(claimed.tenant_id).await?;
            summaries::fail(
                &tx,
                &claimed,
                &error.to_string(),
                retry.and_then(|wait| chrono::Duration::from_std(wait).ok()),
            )
            .await?;
            tx.commit().await
        };
        if let Err(error) = recorded.await {
            tracing::warn!(ticket = %claimed.ticket_id, %error, "recording a failed summary failed");
        }
    }
    state.telemetry.job_ran(QUEUE.name, started.elapsed());
}

async fn write_summary(state: &Pipeline, claimed: &Claimed) -> Result<(), Error> {
    let tenant = claimed.tenant_id;
    let (subject, thread, count, scores, settings, plan) = {
        let tx = state.db.tenant(tenant).await?;
        let ticket = match copilot_conversations::get(&tx, claimed.ticket_id).await {
            Ok(ticket) => ticket,
            Err(Error::NotFound(_)) => return Ok(()),
            Err(error) => return Err(error),
        };
        let (count, thread) = copilot_conversations::public_thread(&tx, claimed.ticket_id, MESSAGES).await?;
        let customer: Vec<MessageId> =
            thread.iter().filter(|message| message.author == Author::Customer).map(|message| message.id).collect();
        let triaged = triage::for_messages(&tx, &customer).await?;
        let scores: Vec<f64> =
            customer.iter().filter_map(|id| triaged.get(id).and_then(|triage| triage.sentiment_score)).collect();
        let settings = draft_settings::get(&tx).await?;
        let plan = llm::plan(state, &tx, &settings, LlmFeature::Summary).await?;
        (ticket.subject, thread, count, scores, settings, plan)
    };
    let language = settings.agent_language.clone().unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned());
    let turns: Vec<Turn> = thread
        .iter()
        .map(|message| Turn {
            speaker: if message.author == Author::Customer { Speaker::Customer } else { Speaker::Agent },
            text: message.body.clone(),
        })
        .collect();
    let base = NewSummary {
        text: String::new(),
        customer_goal: None,
        what_was_tried: Vec::new(),
        open_questions: Vec::new(),
        sentiment_trend: sentiment_trend(&scores),
        language: language.clone(),
        mode: DraftMode::Extractive,
        model: None,
        llm_profile: None,
        message_count: count.min(i32::MAX as u64) as i32,
        covers: thread.last().map(|message| message.id),
        error: None,
    };
    let summary = if plan.callable() {
        let mut redactions = Redactions::default();
        let private: Vec<Turn> = turns
            .iter()
            .map(|turn| Turn {
                speaker: turn.speaker,
                text: if settings.redact_pii { redactions.redact(&turn.text) } else { turn.text.clone() },
            })
            .collect();
        let subject = if settings.redact_pii { redactions.redact(&subject) } else { subject.clone() };
        let prompt = summary_prompt(&SummaryInput { language: language.clone(), subject, conversation: private });
        match llm::call(state, tenant, &plan, &prompt, |_| {}, |_| {}, parse_summary).await {
            Ok(answered) => NewSummary {
                mode: DraftMode::Llm,
                model: Some(answered.completion.model.clone()),
                llm_profile: Some(answered.profile.clone()),
                ..with_text(base, restored(answered.read, &redactions))
            },
            Err(failure) => {
                if let Some(wait) = failure.retry_in(&state.policies.summaries, claimed.failures.max(0) as u32 + 1) {
                    let tx = state.db.tenant(tenant).await?;
                    summaries::fail(&tx, claimed, &failure.message, Some(wait)).await?;
                    tx.commit().await?;
                    wake_after(&state.summary_wakeup, wait.to_std().unwrap_or_default());
                    return Ok(());
                }
                // The LLM could not write it: the agents still get the extractive one.
                NewSummary { error: Some(failure.message), ..with_text(base, extractive_summary(&language, &turns)) }
            }
        }
    } else {
        with_text(base, extractive_summary(&language, &turns))
    };
    let tx = state.db.tenant(tenant).await?;
    summaries::finish(&tx, claimed, summary).await?;
    tx.commit().await
}

fn with_text(summary: NewSummary, text: SummaryText) -> NewSummary {
    NewSummary {
        text: text.text,
        customer_goal: text.customer_goal,
        what_was_tried: text.what_was_tried,
        open_questions: text.open_questions,
        ..summary
    }
}

/// The personal data the LLM saw as placeholders, put back.
fn restored(text: SummaryText, redactions: &Redactions) -> SummaryText {
    SummaryText {
        text: redactions.restore(&text.text),
        customer_goal: text.customer_goal.map(|goal| redactions.restore(&goal)),
        what_was_tried: text.what_was_tried.iter().map(|item| redactions.restore(item)).collect(),
        open_questions: text.open_questions.iter().map(|item| redactions.restore(item)).collect(),
    }
}
