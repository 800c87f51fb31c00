//! Service levels on tickets, across capabilities: after each change of a ticket (opened,
//! a message, a status or priority, its triage) its SLA clocks move (`copilot_sla`) and the
//! ticket keeps their copy (`copilot_conversations`), in the transaction of the change
//! (which also keeps its satisfaction survey in step: `crate::satisfaction`);
//! the SLA worker fires the warnings and breaches that fall due, whichever process claims
//! the timer first.

use std::time::Duration;

use copilot_conversations::{Ticket, TicketPatch};
use copilot_core::{Error, Principal, ids::TicketId, sla::TicketSla};
use copilot_sla::tracking::{self, Matched, Progress, TicketView};
use copilot_store::{TenantTx, audit};

use crate::{JobRun, Pipeline};

/// The most timers one claim takes.
const BATCH: u64 = 64;
/// How long a claimed timer is held before another process may take it.
const LEASE_SECONDS: i64 = 30;
/// The longest the worker sleeps: a timer set meanwhile by another process falls within it.
const POLL: Duration = Duration::from_millis(500);

fn view(ticket: &Ticket) -> TicketView {
    TicketView {
        id: ticket.id,
        matched: Matched {
            priority: ticket.priority.as_str().to_owned(),
            channel: ticket.channel.as_str().to_owned(),
            intent: ticket.intent.clone(),
            tags: ticket.tags.clone(),
            customer_email: ticket.customer.email.clone(),
        },
        progress: Progress {
            status: ticket.status,
            created_at: ticket.created_at,
            first_reply_at: ticket.first_reply_at,
            waiting_since: ticket.waiting_since,
            solved_at: ticket.solved_at,
        },
    }
}

async fn sync_with(tx: &TenantTx, ticket: &mut Ticket, recompute: bool) -> Result<(), Error> {
    let sla = tracking::sync(tx, &view(ticket), recompute).await?;
    if sla != ticket.sla {
        copilot_conversations::set_sla(tx, ticket.id, sla.as_ref()).await?;
        ticket.sla = sla;
    }
    crate::satisfaction::on_ticket_changed(tx, ticket).await
}

/// Moves a ticket's SLA clocks to where it stands now and keeps their copy on the ticket.
pub async fn sync(tx: &TenantTx, ticket: &mut Ticket) -> Result<(), Error> {
    sync_with(tx, ticket, false).await
}

/// [`sync`] for a ticket known by its id.
pub async fn sync_id(tx: &TenantTx, id: TicketId) -> Result<Option<TicketSla>, Error> {
    let mut ticket = copilot_conversations::get(tx, id).await?;
    sync(tx, &mut ticket).await?;
    Ok(ticket.sla)
}

/// Applies the tenant's current policies to a ticket again (admins): the first that
/// matches now sets its open targets, counted from their starts; met and breached targets
/// stay as they were. The way to bring a ticket under an edited policy.
pub async fn recompute(tx: &TenantTx, by: &Principal, id: TicketId) -> Result<Ticket, Error> {
    by.require_admin()?;
    copilot_conversations::find_row_for_update(tx, id).await?;
    let mut ticket = copilot_conversations::get(tx, id).await?;
    sync_with(tx, &mut ticket, true).await?;
    audit::record(
        tx,
        by.actor,
        "ticket.sla_recomputed",
        audit::Target::new("ticket", id).labelled(&format!("#{}", ticket.number)),
        serde_json::json!({ "policy_id": ticket.sla.as_ref().map(|sla| sla.policy_id) }),
    )
    .await?;
    Ok(ticket)
}

/// Changes a ticket (see `copilot_conversations::update`) and moves its SLA clocks.
pub async fn update_ticket(tx: &TenantTx, by: &Principal, id: TicketId, patch: TicketPatch) -> Result<Ticket, Error> {
    let mut ticket = copilot_conversations::update(tx, by, id, patch).await?;
    sync(tx, &mut ticket).await?;
    Ok(ticket)
}

/// Changes many tickets at once (see `copilot_conversations::update_many`) and moves each
/// one's SLA clocks.
pub async fn update_tickets(
    tx: &TenantTx,
    by: &Principal,
    ids: &[TicketId],
    change: copilot_conversations::BulkChange,
) -> Result<Vec<Ticket>, Error> {
    let mut tickets = copilot_conversations::update_many(tx, by, ids, change).await?;
    for ticket in &mut tickets {
        sync(tx, ticket).await?;
    }
    Ok(tickets)
}

/// One round of the SLA worker in the caller's task: fires the timers due now; returns how
/// many it claimed.
pub async fn run_once(state: &Pipeline) -> Result<usize, Error> {
    let claimed = tracking::claim(&state.db, BATCH, chrono::Duration::seconds(LEASE_SECONDS)).await?;
    for item in &claimed {
        let job = JobRun {
            queue: tracking::QUEUE.name,
            tenant: item.tenant_id,
            id: item.ticket_id.0,
            attempt: item.attempt,
            request_id: None,
            queued_at: item.due_at,
        };
        if let Err(error) = state.run_job(job, fire(state, item)).await {
            // The lease runs out and the timer is claimed again.
            tracing::warn!(tenant = %item.tenant_id, ticket = %item.ticket_id, %error, "an SLA timer failed");
            state.telemetry.job_failed(tracking::QUEUE.name);
        }
    }
    Ok(claimed.len())
}

async fn fire(state: &Pipeline, item: &tracking::Claimed) -> Result<(), Error> {
    let tx = state.db.tenant(item.tenant_id).await?;
    if let Some(sla) = tracking::fire(&tx, item.ticket_id).await? {
        copilot_conversations::set_sla(&tx, item.ticket_id, Some(&sla)).await?;
    }
    tx.commit().await
}

/// Runs until the process stops: fires what is due, then sleeps until the next timer (at
/// most [`POLL`]).
pub async fn run_worker(state: Pipeline) {
    loop {
        if state.drain.stopping() {
            return;
        }
        let wait = match run_once(&state).await {
            Ok(claimed) if claimed as u64 >= BATCH => Duration::ZERO,
            Ok(_) => match tracking::next_due(&state.db).await {
                Ok(Some(due)) => (due - copilot_core::now()).to_std().unwrap_or(Duration::ZERO).min(POLL),
                Ok(None) => POLL,
                Err(error) => {
                    tracing::warn!(%error, "reading the next SLA timer failed");
                    POLL
                }
            },
            Err(error) => {
                tracing::warn!(%error, "claiming SLA timers failed");
                POLL
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.drain.stopped() => return,
        }
    }
}
