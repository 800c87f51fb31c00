//! Merging and splitting tickets across capabilities: the thread moves
//! (`copilot_conversations::regroup`), and what its messages carry follows them — their
//! triage, their drafts (the merged ticket's pending ones superseded first), their
//! deliveries and mail (so a later reply in the mail thread joins the right ticket); then
//! both tickets' SLA clocks move and the receiving ticket's summary is written again.

use copilot_conversations::regroup::{self, Regrouped};
use copilot_core::{
    Error, Principal,
    ids::{MessageId, TicketId},
};
use copilot_store::TenantTx;

async fn follow(tx: &TenantTx, regrouped: &mut Regrouped) -> Result<(), Error> {
    let to = regrouped.target.id;
    copilot_intents::triage::move_messages(tx, &regrouped.moved, to).await?;
    copilot_drafts::drafts::move_messages(tx, &regrouped.moved, to).await?;
    copilot_mail::deliveries::move_messages(tx, &regrouped.moved, to).await?;
    if let Some(last) = regrouped.moved.last() {
        crate::summaries::on_message(tx, to, *last).await?;
    }
    crate::service_levels::sync(tx, &mut regrouped.source).await?;
    crate::service_levels::sync(tx, &mut regrouped.target).await
}

/// Merges `source` into `into` (see `copilot_conversations::regroup::merge`).
pub async fn merge(tx: &TenantTx, by: &Principal, source: TicketId, into: TicketId) -> Result<Regrouped, Error> {
    by.require_human_role()?;
    copilot_drafts::drafts::on_agent_reply(tx, source).await?;
    let mut regrouped = regroup::merge(tx, by, source, into).await?;
    follow(tx, &mut regrouped).await?;
    Ok(regrouped)
}

/// Opens a new ticket from a message of `source` (see `copilot_conversations::regroup::split`).
pub async fn split(
    tx: &TenantTx,
    by: &Principal,
    source: TicketId,
    message: MessageId,
    with_later: bool,
    subject: Option<&str>,
) -> Result<Regrouped, Error> {
    let mut regrouped = regroup::split(tx, by, source, message, with_later, subject).await?;
    follow(tx, &mut regrouped).await?;
    Ok(regrouped)
}
