//! Applying a macro to a ticket, across capabilities: its text rendered with the ticket's,
//! the customer's, the agent's and the tenant's values (`copilot_macros`), and its changes
//! made to the ticket (`copilot_conversations`, with the ticket's SLA clocks moved). The
//! reply is returned for the agent's composer; nothing is sent.

use std::collections::BTreeMap;

use copilot_conversations::{Ticket, TicketPatch};
use copilot_core::{
    Error, Principal,
    ids::TicketId,
    model::{Priority, TicketStatus},
};
use copilot_macros::{Assignee, macros, placeholders, template};
use copilot_store::{TenantTx, audit};
use serde_json::json;
use uuid::Uuid;

/// What applying a macro does to a ticket: only what differs from the ticket now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// `Some(None)` unassigns.
    pub assignee_id: Option<Option<Uuid>>,
    pub tags_added: Vec<String>,
    pub tags_removed: Vec<String>,
}

/// A macro applied (or previewed) on a ticket.
#[derive(Clone, Debug)]
pub struct Applied {
    pub macro_id: Uuid,
    /// The reply text, rendered; empty when the macro has none.
    pub reply: String,
    pub changes: Changes,
    /// The ticket after the changes (as it is, for a preview).
    pub ticket: Ticket,
}

fn first_word(text: &str) -> String {
    text.split_whitespace().next().unwrap_or(text).to_owned()
}

/// The values of the placeholders for `ticket` applied by `by`.
async fn values(tx: &TenantTx, by: &Principal, ticket: &Ticket) -> Result<BTreeMap<String, String>, Error> {
    let customer = &ticket.customer;
    let local_part = customer.email.split('@').next().unwrap_or(&customer.email).to_owned();
    let customer_name = customer.name.clone().unwrap_or_else(|| local_part.clone());
    let mut values: BTreeMap<String, String> = [
        ("customer.first_name", first_word(&customer_name)),
        ("customer.name", customer_name),
        ("customer.email", customer.email.clone()),
        ("ticket.number", ticket.number.to_string()),
        ("ticket.subject", ticket.subject.clone()),
        ("tenant.name", copilot_tenancy::tenants::get(tx).await?.name),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    // An agent without a name signs with their address; a key has no name to sign with.
    if let Some(user) = by.actor.user_id() {
        let user = copilot_tenancy::users::get(tx, user).await?;
        let name = user.name.clone().unwrap_or_else(|| user.email.split('@').next().unwrap_or_default().to_owned());
        values.insert("agent.first_name".into(), first_word(&name));
        values.insert("agent.name".into(), name);
    }
    for (key, value) in placeholders::list(tx).await? {
        values.insert(format!("{}{key}", template::CUSTOM), value);
    }
    Ok(values)
}

/// Renders macro `macro_id` for the ticket and, unless `preview`, makes its changes and
/// counts the use. A placeholder without a value (a removed custom placeholder, an agent's
/// name for an API key) is `422 macro_invalid`, never a blank.
pub async fn apply(
    tx: &TenantTx,
    by: &Principal,
    ticket_id: TicketId,
    macro_id: Uuid,
    preview: bool,
) -> Result<Applied, Error> {
    by.require_human_role()?;
    let found = macros::get(tx, by, macro_id).await?;
    let ticket = copilot_conversations::get(tx, ticket_id).await?;
    let parts = template::parse(&found.body)?;
    let reply = template::render(&parts, &values(tx, by, &ticket).await?).map_err(|missing| {
        let names: Vec<String> = missing.iter().map(|name| format!("{{{{{name}}}}}")).collect();
        Error::unprocessable(
            "macro_invalid",
            format!("the macro uses {}, which has no value here; change the macro", names.join(", ")),
        )
    })?;
    let actions = &found.actions;
    let assignee = match actions.assignee {
        None => None,
        Some(Assignee::Me) => Some(Some(by.actor.user_id().ok_or_else(|| {
            Error::unprocessable("macro_invalid", "the macro assigns to whoever applies it: a person")
        })?)),
        Some(Assignee::Nobody) => Some(None),
        Some(Assignee::User(id)) => Some(Some(id)),
    };
    let changes = Changes {
        status: actions.status.filter(|status| *status != ticket.status),
        priority: actions.priority.filter(|priority| *priority != ticket.priority),
        assignee_id: assignee.filter(|assignee| *assignee != ticket.assignee_id),
        tags_added: actions.add_tags.iter().filter(|tag| !ticket.tags.contains(tag)).cloned().collect(),
        tags_removed: actions.remove_tags.iter().filter(|tag| ticket.tags.contains(tag)).cloned().collect(),
    };
    if preview {
        return Ok(Applied { macro_id, reply, changes, ticket });
    }
    let tags_change = !changes.tags_added.is_empty() || !changes.tags_removed.is_empty();
    let ticket = if changes == Changes::default() {
        ticket
    } else {
        let mut tags: Vec<String> =
            ticket.tags.iter().filter(|tag| !changes.tags_removed.contains(tag)).cloned().collect();
        tags.extend(changes.tags_added.iter().cloned());
        let patch = TicketPatch {
            subject: None,
            status: changes.status,
            priority: changes.priority,
            assignee_id: changes.assignee_id,
            tags: tags_change.then_some(tags),
            fields: Default::default(),
        };
        crate::service_levels::update_ticket(tx, by, ticket_id, patch).await?
    };
    macros::record_use(tx, macro_id).await?;
    audit::record(
        tx,
        by.actor,
        "macro.applied",
        audit::Target::new("ticket", ticket_id).labelled(&format!("#{}", ticket.number)),
        json!({ "macro_id": macro_id, "macro": found.name }),
    )
    .await?;
    Ok(Applied { macro_id, reply, changes, ticket })
}
