//! Applying a macro to a ticket, across capabilities: its text rendered with the ticket's,
//! the customer's, the agent's and the tenant's values (`copilot_macros`), and its changes
//! made to the ticket (`copilot_conversations`, with the ticket's SLA clocks moved). The
//! reply is returned for the agent's composer; nothing is sent. Macros are read and
//! written here too, against the tenant's active ticket fields (`{{ticket.fields.<key>}}`):
//! a retired field's placeholder is a problem of the macro, never a blank.

use std::collections::{BTreeMap, BTreeSet};

use copilot_conversations::{Ticket, TicketPatch};
use copilot_core::{
    Error, Principal,
    ids::TicketId,
    model::{Priority, TicketStatus},
};
use copilot_macros::{Assignee, Macro, MacroIn, macros, placeholders, template};
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

/// The keys of the tenant's active ticket fields.
async fn active_fields(tx: &TenantTx) -> Result<BTreeSet<String>, Error> {
    let fields = copilot_conversations::fields::list(tx).await?;
    Ok(fields.into_iter().filter(|field| field.active).map(|field| field.key).collect())
}

/// The macros `by` may use (see `copilot_macros::macros::list`).
pub async fn list(tx: &TenantTx, by: &Principal, q: Option<&str>) -> Result<Vec<Macro>, Error> {
    macros::list(tx, by, q, &active_fields(tx).await?).await
}

/// One macro `by` may use.
pub async fn get(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<Macro, Error> {
    macros::get(tx, by, id, &active_fields(tx).await?).await
}

/// Adds a macro; its placeholders may name the tenant's active ticket fields.
pub async fn create(tx: &TenantTx, by: &Principal, input: MacroIn) -> Result<Macro, Error> {
    macros::create(tx, by, input, &active_fields(tx).await?).await
}

/// Changes a macro.
pub async fn update(tx: &TenantTx, by: &Principal, id: Uuid, patch: MacroIn) -> Result<Macro, Error> {
    macros::update(tx, by, id, patch, &active_fields(tx).await?).await
}

/// A field's value as a reply shows it: a list joined with commas, yes or no for a checkbox.
fn field_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Bool(checked) => Some(if *checked { "yes" } else { "no" }.to_owned()),
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().filter_map(field_text).collect();
            (!items.is_empty()).then(|| items.join(", "))
        }
        other => Some(other.to_string()),
    }
}

/// The values of the placeholders for `ticket` applied by `by`.
async fn values(
    tx: &TenantTx,
    by: &Principal,
    ticket: &Ticket,
    fields: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>, Error> {
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
    // Active fields only: a retired field's value stays on the ticket but is not offered.
    for key in fields {
        if let Some(text) = ticket.fields.get(key).and_then(field_text) {
            values.insert(format!("{}{key}", template::FIELD), text);
        }
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
    let fields = active_fields(tx).await?;
    let found = macros::get(tx, by, macro_id, &fields).await?;
    let ticket = copilot_conversations::get(tx, ticket_id).await?;
    let parts = template::parse(&found.body)?;
    let reply = template::render(&parts, &values(tx, by, &ticket, &fields).await?).map_err(|missing| {
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
