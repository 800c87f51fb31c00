//! The delivery worker: claims due replies from the outbox, sends each by e-mail through
//! the tenant's SMTP server (or the service's), and records the outcome: `sent`, a retry
//! with backoff for a failure worth retrying (refused connection, timeout, 4xx), or
//! `failed` (5xx, or out of attempts). Deliveries left `sending` by a sender that died
//! are failed as of unknown outcome, never sent twice (see `copilot_mail::deliveries`).

use std::{
    collections::HashMap,
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use copilot_channels::{Mailer, OutboundEmail, SendError};
use copilot_core::Error;
use copilot_mail::{
    deliveries::{self, Claimed, EmailJob},
    settings as email_settings,
};
use futures::FutureExt;
use secrecy::ExposeSecret;
use tokio::task::JoinSet;

use crate::{JobRun, Pipeline};

/// How often the worker looks for due deliveries.
const POLL: Duration = Duration::from_millis(500);
/// Deliveries claimed at a time: one, because a claimed delivery counts as being sent;
/// one claimed in a batch behind a slow server would outlive its lease unsent and be
/// failed as of unknown outcome (or sent after another process gave it up). Several are
/// sent at once, each claimed on its own.
const CLAIM: u64 = 1;
/// Interrupted deliveries failed per pass.
const BATCH: u64 = 16;

/// How long a mailer (a connection pool to one server, pinned to the address its name
/// resolved to) is kept before it is made again.
const MAILER_TTL: Duration = Duration::from_secs(600);

/// Mailers by SMTP URL, with when each was made.
type Mailers = HashMap<String, (Mailer, Instant)>;

/// Runs forever: keeps up to `delivery_concurrency` replies being sent at once, claimed
/// fairly across tenants (see `deliveries::claim`); failures are logged and the loop goes on.
pub async fn run_worker(state: Pipeline) {
    let mailers = Arc::new(Mutex::new(Mailers::new()));
    let lease = chrono::Duration::seconds(state.settings.delivery_lease_seconds as i64);
    let per_tenant = state.settings.delivery_tenant_concurrency;
    let mut running = JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        if let Err(error) = fail_interrupted(&state).await {
            tracing::warn!(%error, "checking for interrupted deliveries failed");
        }
        let mut claimed_any = false;
        if running.len() < state.settings.delivery_concurrency {
            // Held from the claim until the outcome is recorded, so that stopping waits for it.
            let Some(sending) = state.drain.guard() else {
                while running.join_next().await.is_some() {}
                return;
            };
            match deliveries::claim(&state.db, CLAIM, lease, per_tenant).await {
                Ok(claimed) => {
                    if let Some(item) = claimed.into_iter().next() {
                        claimed_any = true;
                        let (state, mailers) = (state.clone(), Arc::clone(&mailers));
                        running.spawn(async move {
                            if let Err(error) = deliver(&state, &mailers, item).await {
                                tracing::warn!(tenant = %item.tenant_id, delivery = %item.delivery_id, %error, "a delivery could not be recorded");
                            }
                            drop(sending);
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "claiming deliveries failed"),
            }
        }
        if !claimed_any {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
}

/// One round in the caller's task: fails the interrupted deliveries, then sends the ones
/// due now one after another; returns how many it claimed.
pub async fn run_once(state: &Pipeline) -> Result<usize, Error> {
    fail_interrupted(state).await?;
    let mailers = Mutex::new(Mailers::new());
    let lease = chrono::Duration::seconds(state.settings.delivery_lease_seconds as i64);
    let mut count = 0;
    loop {
        let claimed = deliveries::claim(&state.db, CLAIM, lease, state.settings.delivery_tenant_concurrency).await?;
        if claimed.is_empty() {
            return Ok(count);
        }
        for item in claimed {
            count += 1;
            deliver(state, &mailers, item).await?;
        }
    }
}

/// Fails, tenant by tenant, the deliveries whose sender died mid-send.
async fn fail_interrupted(state: &Pipeline) -> Result<(), Error> {
    for item in deliveries::interrupted(&state.db, BATCH).await? {
        let tx = state.db.tenant(item.tenant_id).await?;
        if deliveries::fail_interrupted(&tx, item.delivery_id).await? {
            tracing::warn!(tenant = %item.tenant_id, delivery = %item.delivery_id, "a reply interrupted mid-send was failed as of unknown outcome");
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Sends one claimed delivery and records what happened.
async fn deliver(state: &Pipeline, mailers: &Mutex<Mailers>, item: Claimed) -> Result<(), Error> {
    let tx = state.db.tenant(item.tenant_id).await?;
    let Some(job) = deliveries::email_job(&tx, item.delivery_id).await? else { return Ok(()) };
    let route = mail_route(state, email_settings::smtp_url(&tx, &state.sealer).await?);
    drop(tx);
    let request_id = job.request_id.clone();
    let run = JobRun {
        queue: deliveries::QUEUE.name,
        tenant: item.tenant_id,
        id: item.delivery_id,
        attempt: item.attempt,
        request_id: request_id.as_deref(),
        queued_at: item.queued_at,
    };
    state.run_job(run, send_and_record(state, mailers, item, job, route)).await
}

/// Sends a loaded delivery by `route` and records the outcome.
async fn send_and_record(
    state: &Pipeline,
    mailers: &Mutex<Mailers>,
    item: Claimed,
    job: EmailJob,
    route: Option<MailRoute>,
) -> Result<(), Error> {
    let outcome = match sendable(route, job.identity.from_address(), job.from_verified) {
        Err(error) => Err(error),
        // A send that takes most of the lease is given up before housekeeping could
        // fail it and a resend overlap it; the server may have accepted the mail.
        Ok((MailRoute { url, allow_private, .. }, _)) => {
            let limit = Duration::from_secs(state.settings.delivery_lease_seconds) * 3 / 4;
            // A panic while composing or sending fails this reply, not the worker.
            let sending =
                AssertUnwindSafe(send(state, mailers, &url, allow_private, &job)).catch_unwind().map(|outcome| {
                    outcome.unwrap_or_else(|panic| {
                        Err(SendError::Compose(format!(
                            "internal error: {}",
                            crate::supervisor::panic_message(&*panic)
                        )))
                    })
                });
            match tokio::time::timeout(limit, sending).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    let tx = state.db.tenant(item.tenant_id).await?;
                    tracing::warn!(tenant = %item.tenant_id, message = %job.message_id, ?limit, "sending a reply took too long; failed as of unknown outcome");
                    deliveries::mark_failed(&tx, &job, deliveries::OUTCOME_UNKNOWN).await?;
                    return tx.commit().await;
                }
            }
        }
    };
    let tx = state.db.tenant(item.tenant_id).await?;
    let retry = outcome.as_ref().err().and_then(|error| retry_after(state, error, job.series_attempts));
    if outcome.is_err() {
        state.telemetry.job_failed(deliveries::QUEUE.name);
    }
    match (outcome, retry) {
        (Ok(subject), _) => {
            deliveries::mark_sent(&tx, &job, &subject).await?;
            tracing::info!(tenant = %item.tenant_id, message = %job.message_id, "reply sent");
        }
        (Err(error), Some(wait)) => {
            let at = copilot_core::now() + chrono::Duration::from_std(wait).map_err(Error::internal)?;
            tracing::info!(tenant = %item.tenant_id, message = %job.message_id, %error, ?wait, "reply delivery will be retried");
            deliveries::mark_retry(&tx, &job, &error.to_string(), at).await?;
        }
        (Err(error), None) => {
            tracing::warn!(tenant = %item.tenant_id, message = %job.message_id, %error, "reply delivery failed");
            let reason = if error.is_retryable() {
                format!("delivery failed for good after {} attempts; the last: {}", job.series_attempts, error.reason())
            } else {
                error.to_string()
            };
            deliveries::mark_failed(&tx, &job, &reason).await?;
        }
    }
    tx.commit().await
}

/// The wait before the next attempt of a series after a failure, if it is worth another.
pub(crate) fn retry_after(state: &Pipeline, error: &SendError, series_attempts: i32) -> Option<Duration> {
    error.is_retryable().then(|| state.policies.email.after_failure(series_attempts.max(0) as u32)).flatten()
}

/// Where a tenant's mail goes out: its own SMTP server, checked against the endpoint
/// policy, else the service's (the operator's), which sends only from addresses the
/// tenant verified.
pub struct MailRoute {
    pub url: String,
    pub shared_relay: bool,
    pub allow_private: bool,
}

pub fn mail_route(state: &Pipeline, tenant_smtp: Option<String>) -> Option<MailRoute> {
    let shared_relay = tenant_smtp.is_none();
    let service_smtp = state.settings.smtp_url.expose_secret().trim().to_owned();
    let url = tenant_smtp.or((!service_smtp.is_empty()).then_some(service_smtp))?;
    Some(MailRoute { url, shared_relay, allow_private: shared_relay || state.settings.tenant_endpoints_allow_private })
}

/// The route mail from `from` takes (and the sender), or why none can be taken: no server,
/// no sender, or the service's server and an address the tenant did not verify.
pub fn sendable(
    route: Option<MailRoute>,
    from: Option<&str>,
    from_verified: bool,
) -> Result<(MailRoute, &str), SendError> {
    match (route, from) {
        (None, _) => Err(SendError::Transient(
            "smtp_not_configured: no SMTP server is set (COPILOT_SMTP_URL or PUT /v1/settings/email)".into(),
        )),
        (_, None) => Err(SendError::Transient(
            "no_sender_address: the tenant has no support address (PUT /v1/settings/email)".into(),
        )),
        (Some(route), Some(from)) if route.shared_relay && !from_verified => Err(SendError::NotAllowed(format!(
            "sender_unverified: {from} is not verified for the shared mail server; verify it \
             (POST /v1/settings/email/verifications) or set the tenant's own SMTP server, then resend"
        ))),
        (Some(route), Some(from)) => Ok((route, from)),
    }
}

/// Sends one mail on its own connection (a test or verification mail, not a reply), within
/// twice the SMTP timeout.
pub async fn send_now(state: &Pipeline, route: &MailRoute, email: &OutboundEmail) -> Result<(), SendError> {
    let timeout = Duration::from_secs(state.settings.smtp_timeout_seconds);
    let sending = async {
        let mailer = Mailer::connect_checked(&route.url, timeout, route.allow_private).await?;
        mailer.send(copilot_channels::compose(email)?).await
    };
    tokio::time::timeout(timeout * 2, sending).await.unwrap_or_else(|_| {
        Err(SendError::Transient(format!("the server did not finish within {} s", (timeout * 2).as_secs())))
    })
}

/// Composes and sends the reply; returns its subject.
async fn send(
    state: &Pipeline,
    mailers: &Mutex<Mailers>,
    url: &str,
    allow_private: bool,
    job: &EmailJob,
) -> Result<String, SendError> {
    let cached = mailers.lock().ok().and_then(|mailers| {
        mailers.get(url).filter(|(_, made)| made.elapsed() < MAILER_TTL).map(|(mailer, _)| mailer.clone())
    });
    let mailer = match cached {
        Some(mailer) => mailer,
        None => {
            let timeout = Duration::from_secs(state.settings.smtp_timeout_seconds);
            let mailer = Mailer::connect_checked(url, timeout, allow_private).await?;
            if let Ok(mut mailers) = mailers.lock() {
                mailers.insert(url.to_owned(), (mailer.clone(), Instant::now()));
            }
            mailer
        }
    };
    let from_address = job.identity.from_address().unwrap_or_default().to_owned();
    let subject = copilot_channels::reply_subject(&job.ticket_subject, job.ticket_number);
    let email = OutboundEmail {
        from_name: job.identity.from_name.clone().unwrap_or_default(),
        from_address,
        to_name: job.customer_name.clone(),
        to_address: job.customer_email.clone(),
        subject: subject.clone(),
        message_id: job.header_message_id.clone(),
        in_reply_to: job.in_reply_to.clone(),
        references: job.references.clone(),
        text: job.body.clone(),
    };
    mailer.send(copilot_channels::compose(&email)?).await?;
    Ok(subject)
}
