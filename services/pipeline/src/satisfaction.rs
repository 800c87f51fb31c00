//! Satisfaction surveys across capabilities: a ticket solved after a public reply gets its
//! survey (`copilot_satisfaction`), recording the agent it rates and whether an approved
//! AI draft was among the replies; reopening holds a survey not yet sent. The survey worker
//! sends surveys when due (a `csat.requested` event with the signed link) and their
//! e-mails on e-mail tickets, through the tenant's mail route with the replies' retry
//! policy; a sender that dies mid-send leaves the e-mail failed, never sent twice.

use std::time::Duration;

use copilot_channels::{OutboundEmail, SendError, outbound::ticket_token};
use copilot_conversations::Ticket;
use copilot_core::{
    Error,
    model::{CsatScale, SurveyStage, TicketStatus},
};
use copilot_mail::settings as email_settings;
use copilot_satisfaction::{
    settings,
    surveys::{self, Due, Facts, MailOutcome},
};
use copilot_store::TenantTx;

use crate::{
    JobRun, Pipeline,
    delivery::{mail_route, retry_after, send_now, sendable},
};

/// Surveys sent per round.
const BATCH: u64 = 64;
/// How long a claimed survey e-mail is held.
const LEASE_SECONDS: i64 = 60;
/// The longest the worker sleeps.
const POLL: Duration = Duration::from_secs(1);

/// Keeps the ticket's survey in step with its status, in the transaction of the change.
pub async fn on_ticket_changed(tx: &TenantTx, ticket: &Ticket) -> Result<(), Error> {
    if ticket.status != TicketStatus::Solved || ticket.merged_into_id.is_some() {
        return surveys::hold(tx, ticket.id).await;
    }
    // A customer who never got a reply is not asked how it was.
    if ticket.first_reply_at.is_none() {
        return Ok(());
    }
    let settings = settings::get(tx).await?;
    if !settings.enabled {
        return Ok(());
    }
    let solved_at = ticket.solved_at.unwrap_or_else(copilot_core::now);
    match surveys::stage(tx, ticket.id).await? {
        Some(SurveyStage::Waiting) => surveys::resume(tx, ticket.id, &settings, solved_at).await,
        Some(_) => Ok(()),
        None => {
            let agent_id = match ticket.assignee_id {
                Some(agent) => Some(agent),
                None => copilot_conversations::last_replier(tx, ticket.id).await?,
            };
            let facts = Facts {
                ticket_id: ticket.id,
                channel: ticket.channel,
                language: ticket.language.clone(),
                intent: ticket.intent.clone(),
                agent_id,
                ai_drafted: copilot_drafts::drafts::any_sent(tx, ticket.id).await?,
                solved_at,
            };
            surveys::create(tx, facts, &settings).await.map(drop)
        }
    }
}

/// One round of the survey worker in the caller's task: fails interrupted e-mails, sends
/// the surveys due now, then their e-mails; returns how many it took.
pub async fn run_once(state: &Pipeline) -> Result<usize, Error> {
    for item in surveys::interrupted(&state.db, BATCH).await? {
        let tx = state.db.tenant(item.tenant_id).await?;
        if surveys::fail_interrupted(&tx, item).await? {
            tracing::warn!(tenant = %item.tenant_id, survey = %item.id, "a survey e-mail interrupted mid-send was failed as of unknown outcome");
        }
        tx.commit().await?;
    }
    let due = surveys::due(&state.db, BATCH).await?;
    for item in &due {
        let job = JobRun {
            queue: surveys::QUEUE.name,
            tenant: item.tenant_id,
            id: item.id,
            attempt: 0,
            request_id: None,
            queued_at: item.queued_at,
        };
        if let Err(error) = state.run_job(job, send(state, item)).await {
            tracing::warn!(tenant = %item.tenant_id, survey = %item.id, %error, "sending a survey failed");
            state.telemetry.job_failed(surveys::QUEUE.name);
        }
    }
    let mut mailed = 0;
    loop {
        let lease = chrono::Duration::seconds(LEASE_SECONDS);
        let Some(item) = surveys::claim_mail(&state.db, 1, lease).await?.into_iter().next() else { break };
        mailed += 1;
        let job = JobRun {
            queue: surveys::QUEUE.name,
            tenant: item.tenant_id,
            id: item.id,
            attempt: item.attempt,
            request_id: None,
            queued_at: item.queued_at,
        };
        state.run_job(job, mail(state, item)).await?;
    }
    Ok(due.len() + mailed)
}

/// Sends one due survey: its link in `csat.requested`, its e-mail queued on e-mail tickets.
async fn send(state: &Pipeline, item: &Due) -> Result<(), Error> {
    let tx = state.db.tenant(item.tenant_id).await?;
    let settings = settings::get(&tx).await?;
    let Some(survey) = surveys::get(&tx, item.id).await? else { return Ok(()) };
    let ticket = copilot_conversations::get(&tx, survey.ticket_id).await?;
    let public_url = state.settings.public_url();
    let email_to = (!ticket.customer.email.is_empty()).then_some(ticket.customer.email.as_str());
    surveys::send(&tx, item.id, &settings, |link| link.url(&state.sealer, &public_url), email_to).await?;
    tx.commit().await
}

/// Sends one claimed survey e-mail and records how it went.
async fn mail(state: &Pipeline, item: Due) -> Result<(), Error> {
    let tx = state.db.tenant(item.tenant_id).await?;
    let (identity, from_verified) = email_settings::sender(&tx).await?;
    let from = identity.from_address().unwrap_or("copilot.invalid").to_owned();
    let Some(job) = surveys::mail(&tx, item, || copilot_channels::new_message_id(&from)).await? else {
        return Ok(());
    };
    let ticket = copilot_conversations::get(&tx, job.survey.ticket_id).await?;
    let route = mail_route(state, email_settings::smtp_url(&tx, &state.sealer).await?);
    // The Message-ID is kept before the first attempt: a retry sends the same message.
    tx.commit().await?;
    let url = job.link.url(&state.sealer, &state.settings.public_url());
    let outcome = match sendable(route, identity.from_address(), from_verified) {
        Err(error) => Err(error),
        Ok((route, from_address)) => {
            let email = OutboundEmail {
                from_name: identity.from_name.clone().unwrap_or_default(),
                from_address: from_address.to_owned(),
                to_name: ticket.customer.name.clone(),
                to_address: ticket.customer.email.clone(),
                subject: subject(&job.survey.language, ticket.number),
                message_id: job.header_message_id.clone(),
                in_reply_to: None,
                references: Vec::new(),
                text: body(&job.survey.language, job.survey.scale, &Solved::of(&ticket), &url, job.link.expires_at),
            };
            send_now(state, &route, &email).await
        }
    };
    let recorded = match outcome {
        Ok(()) => MailOutcome::Sent,
        Err(error) => {
            state.telemetry.job_failed(surveys::QUEUE.name);
            match retry_after(state, &error, job.attempt) {
                Some(wait) => MailOutcome::Retry {
                    error: error.to_string(),
                    at: copilot_core::now() + chrono::Duration::from_std(wait).map_err(Error::internal)?,
                },
                None => MailOutcome::Failed { error: failure(&error, job.attempt) },
            }
        }
    };
    tracing::info!(tenant = %item.tenant_id, survey = %item.id, outcome = ?recorded, "survey e-mail attempt");
    let tx = state.db.tenant(item.tenant_id).await?;
    surveys::record_mail(&tx, item, recorded).await?;
    tx.commit().await
}

fn failure(error: &SendError, attempts: i32) -> String {
    if error.is_retryable() {
        format!("delivery failed for good after {attempts} attempts; the last: {}", error.reason())
    } else {
        error.to_string()
    }
}

fn subject(language: &str, number: i64) -> String {
    let token = ticket_token(number);
    match language {
        "zh" => format!("请评价我们的服务 {token}"),
        _ => format!("How did we do? {token}"),
    }
}

/// What the survey e-mail says of the solved ticket.
struct Solved<'a> {
    customer_name: Option<&'a str>,
    subject: &'a str,
    number: i64,
}

impl<'a> Solved<'a> {
    fn of(ticket: &'a Ticket) -> Self {
        Self { customer_name: ticket.customer.name.as_deref(), subject: &ticket.subject, number: ticket.number }
    }
}

/// The survey e-mail: what was solved, the link, and one link per rating that opens the
/// page with it chosen (opening a link records nothing: mail scanners open links too).
fn body(
    language: &str,
    scale: CsatScale,
    ticket: &Solved,
    url: &str,
    expires: chrono::DateTime<chrono::Utc>,
) -> String {
    let name = ticket.customer_name.map(str::trim).filter(|name| !name.is_empty());
    let date = expires.format("%Y-%m-%d");
    let (greeting, lead, choices, until) = match language {
        "zh" => (
            name.map_or_else(|| "您好，".to_owned(), |name| format!("{name}，您好：")),
            format!("您的请求“{}”（#{}）已解决。请告诉我们您对这次服务的评价：", ticket.subject, ticket.number),
            match scale {
                CsatScale::Five => vec!["5 非常满意", "4 满意", "3 一般", "2 不满意", "1 非常不满意"],
                CsatScale::Two => vec!["2 满意", "1 不满意"],
            },
            format!("链接在 {date} 前有效，无需登录。"),
        ),
        _ => (
            name.map_or_else(|| "Hello,".to_owned(), |name| format!("Hello {name},")),
            format!(
                "Your request \"{}\" (#{}) has been solved. How would you rate the help you got?",
                ticket.subject, ticket.number
            ),
            match scale {
                CsatScale::Five => vec!["5 Excellent", "4 Good", "3 Okay", "2 Poor", "1 Very poor"],
                CsatScale::Two => vec!["2 Good", "1 Bad"],
            },
            format!("The link works until {date} and needs no sign-in."),
        ),
    };
    let mut text = format!("{greeting}\n\n{lead}\n\n{url}\n\n");
    for choice in choices {
        let (rating, label) = choice.split_once(' ').unwrap_or((choice, choice));
        text.push_str(&format!("{label}: {url}?rating={rating}\n"));
    }
    text.push('\n');
    text.push_str(&until);
    text.push('\n');
    text
}

/// Runs until the process stops: sends what is due, then sleeps until the next survey or
/// e-mail is due (at most [`POLL`]).
pub async fn run_worker(state: Pipeline) {
    loop {
        if state.drain.stopping() {
            return;
        }
        let wait = match run_once(&state).await {
            Ok(_) => match surveys::next_due(&state.db).await {
                Ok(Some(due)) => (due - copilot_core::now()).to_std().unwrap_or(Duration::ZERO).min(POLL),
                Ok(None) => POLL,
                Err(error) => {
                    tracing::warn!(%error, "reading the next survey failed");
                    POLL
                }
            },
            Err(error) => {
                tracing::warn!(%error, "sending surveys failed");
                POLL
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.drain.stopped() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_survey_mail_links_each_rating_and_says_until_when() {
        let ticket = Solved { customer_name: Some("Ada"), subject: "Refund", number: 42 };
        let expires = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let text = body("en", CsatScale::Five, &ticket, "https://help.example.com/survey/abc", expires);
        assert!(text.starts_with("Hello Ada,"), "{text}");
        assert!(text.contains("\"Refund\" (#42)"), "{text}");
        assert!(text.contains("Excellent: https://help.example.com/survey/abc?rating=5"), "{text}");
        assert!(text.contains("until 2027-01-15"), "{text}");
        let chinese =
            body("zh", CsatScale::Two, &Solved { customer_name: None, ..ticket }, "https://x/survey/abc", expires);
        assert!(chinese.starts_with("您好，"), "{chinese}");
        assert!(chinese.contains("满意: https://x/survey/abc?rating=2"), "{chinese}");
        assert_eq!(subject("zh", 42), "请评价我们的服务 [#42]");
    }
}
