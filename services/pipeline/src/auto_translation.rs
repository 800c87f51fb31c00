//! Background translation (`auto_translate`): once a customer message is triaged (its
//! language is then known), it is queued for translation into every language the tenant's
//! agents read that is not its own; the worker translates it with the `translate` route's
//! LLM and keeps it beside the translations agents asked for, so the console shows it
//! without waiting. Failed calls are retried with the drafts' backoff (three attempts),
//! then left failed: an agent can still ask for the translation.

use std::sync::Arc;

use copilot_conversations::translations::{self, Claimed, QUEUE};
use copilot_core::{
    Error,
    ids::{MessageId, TicketId},
};
use copilot_drafts::settings::{self as draft_settings, DraftSettings};
use copilot_store::{TenantTx, jobs::Queue};
use tokio::sync::Notify;

use crate::{
    Pipeline,
    queues::{Pooled, Renewal, wake_after},
    translation::translate_call,
};

/// Translations one process makes at the same time.
const CONCURRENCY: usize = 4;
/// A job claimed this often without an outcome (its worker stopped each time) is failed.
const MAX_CLAIMS: i32 = 6;
/// The language agents read when the tenant set none.
const DEFAULT_LANGUAGE: &str = "en";

/// The languages the tenant's agents read: each active person's chosen language and, for
/// those who chose none, the tenant's agent language.
pub async fn reader_languages(tx: &TenantTx, settings: &DraftSettings) -> Result<Vec<String>, Error> {
    let mut languages = copilot_tenancy::users::languages_in_use(tx).await?;
    let agent_language = settings.agent_language.clone().unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned());
    if !languages.contains(&agent_language) {
        languages.push(agent_language);
    }
    Ok(languages)
}

/// Queues the translations of triaged customer messages (ticket, message, detected
/// language) when the tenant turned `auto_translate` on. In the transaction that stores
/// their triage.
pub async fn on_triaged(tx: &TenantTx, triaged: &[(TicketId, MessageId, String)]) -> Result<(), Error> {
    if triaged.is_empty() {
        return Ok(());
    }
    let settings = draft_settings::get(tx).await?;
    if !settings.auto_translate {
        return Ok(());
    }
    let readers = reader_languages(tx, &settings).await?;
    for (ticket, message, language) in triaged {
        // A message whose language cannot be told is left to an agent's request.
        if language == "und" {
            continue;
        }
        let wanted: Vec<String> = readers.iter().filter(|reader| *reader != language).cloned().collect();
        translations::request(tx, *ticket, *message, &wanted).await?;
    }
    Ok(())
}

/// The translation queue as a pool of up to [`CONCURRENCY`] translations at a time.
pub struct Translations;

impl Pooled for Translations {
    type Item = Claimed;
    const QUEUE: Queue = QUEUE;
    const CONCURRENCY: usize = CONCURRENCY;

    fn wakeup(&self, state: &Pipeline) -> Arc<Notify> {
        Arc::clone(&state.translation_wakeup)
    }

    async fn claim(&self, state: &Pipeline, limit: u64) -> Result<Vec<Claimed>, Error> {
        translations::claim(&state.db, limit, lease(state)).await
    }

    fn work(state: Pipeline, item: Claimed) -> impl std::future::Future<Output = ()> + Send + 'static {
        work(state, item)
    }
}

fn lease(state: &Pipeline) -> chrono::Duration {
    chrono::Duration::seconds(state.settings.draft_lease_seconds as i64)
}

async fn work(state: Pipeline, claimed: Claimed) {
    state.telemetry.claimed(QUEUE.name, claimed.attempt, claimed.queued_at);
    let _renewal =
        Renewal::start(&state.db, QUEUE, claimed.tenant_id, vec![(claimed.id, claimed.attempt)], lease(&state));
    let started = std::time::Instant::now();
    let outcome = if claimed.attempt > MAX_CLAIMS {
        Err(Outcome::Final("the translation was interrupted too often (its worker stopped each time)".to_owned()))
    } else {
        translate_message(&state, &claimed).await
    };
    if let Err(outcome) = outcome {
        state.telemetry.job_failed(QUEUE.name);
        let (error, retry_in) = match outcome {
            Outcome::Retry(error, wait) => (error, Some(wait)),
            Outcome::Final(error) => (error, None),
        };
        tracing::warn!(message = %claimed.message_id, tenant = %claimed.tenant_id, %error, "a background translation failed");
        let recorded = async {
            let tx = state.db.tenant(claimed.tenant_id).await?;
            translations::fail(&tx, &claimed, &error, retry_in).await?;
            tx.commit().await
        };
        match recorded.await {
            Ok(()) => {
                if let Some(wait) = retry_in {
                    wake_after(&state.translation_wakeup, wait.to_std().unwrap_or_default());
                }
            }
            Err(error) => {
                tracing::warn!(message = %claimed.message_id, %error, "recording a failed translation failed")
            }
        }
    }
    state.telemetry.job_ran(QUEUE.name, started.elapsed());
}

/// Why a job did not end: to be tried again after a wait, or not at all.
enum Outcome {
    Retry(String, chrono::Duration),
    Final(String),
}

impl From<Error> for Outcome {
    fn from(error: Error) -> Self {
        match error {
            // No LLM, a spent budget, a message that cannot be translated: not worth retrying.
            Error::Conflict { .. } | Error::Validation { .. } | Error::TooLarge { .. } | Error::NotFound(_) => {
                Self::Final(error.to_string())
            }
            error => Self::Retry(error.to_string(), chrono::Duration::seconds(5)),
        }
    }
}

async fn translate_message(state: &Pipeline, claimed: &Claimed) -> Result<(), Outcome> {
    let tenant = claimed.tenant_id;
    let body = {
        let tx = state.db.tenant(tenant).await?;
        let message = match copilot_conversations::find_in_ticket(&tx, claimed.ticket_id, claimed.message_id).await {
            Ok(message) => Some(message),
            Err(Error::NotFound(_)) => None,
            Err(error) => return Err(error.into()),
        };
        // Gone, or already translated at an agent's request: nothing to do.
        let kept = translations::get(&tx, claimed.message_id, &claimed.language).await?;
        match message.filter(|_| kept.is_none()) {
            Some(message) => message.body,
            None => {
                translations::finish(&tx, claimed, None).await?;
                return Ok(tx.commit().await?);
            }
        }
    };
    let translated = match translate_call(state, tenant, &body, &claimed.language, None).await? {
        Ok(translated) => translated,
        Err(failure) => {
            let failures = claimed.failures.max(0) as u32 + 1;
            return Err(match failure.retry_in(&state.policies.translations, failures) {
                Some(wait) => Outcome::Retry(failure.message, wait),
                None => Outcome::Final(failure.message),
            });
        }
    };
    let tx = state.db.tenant(tenant).await?;
    // A text already in the language (the detection was unsure) is not kept as a translation.
    let translation = translated.model.is_some().then(|| translated.of_message(claimed.message_id));
    translations::finish(&tx, claimed, translation).await?;
    Ok(tx.commit().await?)
}
