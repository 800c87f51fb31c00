//! A tenant's own intent taxonomy (labels with descriptions and example messages) and
//! agents' corrections of a message's intent, which become training examples (training
//! itself: [`crate::versions`]).

use copilot_core::{
    Error, Principal,
    ids::{MessageId, TicketId},
    values::{bounded_text, single_line},
};
use copilot_entities::{intent, message, message_triage};
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

use crate::triage::{self, MessageTriage};

/// The label every taxonomy has, for messages that fit no other.
pub const OTHER: &str = "other";

/// One label of a taxonomy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentLabel {
    pub label: String,
    /// How people see the label (in any language); the label itself when absent.
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub examples: Vec<String>,
}

fn validate(labels: Vec<IntentLabel>) -> Result<Vec<IntentLabel>, Error> {
    if !(2..=200).contains(&labels.len()) {
        return Err(Error::validation("validation_failed", "a taxonomy has 2 to 200 labels"));
    }
    let mut seen = std::collections::HashSet::new();
    labels
        .into_iter()
        .map(|entry| {
            let label = entry.label.trim().to_owned();
            let valid = (1..=100).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(Error::validation(
                    "invalid_label",
                    format!("`{label}`: a label has 1 to 100 lower-case letters, digits and underscores"),
                ));
            }
            if !seen.insert(label.clone()) {
                return Err(Error::validation("invalid_label", format!("`{label}` appears twice")));
            }
            if entry.examples.len() > 500 {
                return Err(Error::validation("validation_failed", format!("`{label}` has more than 500 examples")));
            }
            let examples = entry
                .examples
                .iter()
                .map(|example| bounded_text("examples[]", example, 1, 1000))
                .collect::<Result<Vec<_>, _>>()?;
            let description = entry.description.map(|d| bounded_text("description", &d, 1, 1000)).transpose()?;
            let display_name = entry
                .display_name
                .filter(|name| !name.trim().is_empty())
                .map(|name| single_line("display_name", &name, 1, 80))
                .transpose()?;
            Ok(IntentLabel { label, display_name, description, examples })
        })
        .collect()
}

/// The tenant's taxonomy, by label; empty when it uses the default one.
pub async fn taxonomy(tx: &TenantTx) -> Result<Vec<IntentLabel>, Error> {
    let rows =
        intent::Entity::scoped(tx.tenant()).order_by_asc(intent::Column::Label).all(&**tx).await.map_err(db_err)?;
    Ok(rows
        .into_iter()
        .map(|row| IntentLabel {
            label: row.label,
            display_name: row.display_name,
            description: row.description,
            examples: serde_json::from_value(row.examples).unwrap_or_default(),
        })
        .collect())
}

/// The labels a message's intent may take: the tenant's taxonomy's, else the shipped
/// `default_labels`; `other` always among them.
pub async fn labels_in_use(tx: &TenantTx, default_labels: &[String]) -> Result<Vec<String>, Error> {
    let own = taxonomy(tx).await?;
    let mut labels: Vec<String> =
        if own.is_empty() { default_labels.to_vec() } else { own.into_iter().map(|l| l.label).collect() };
    if !labels.iter().any(|l| l == OTHER) {
        labels.push(OTHER.into());
    }
    Ok(labels)
}

/// Replaces the tenant's taxonomy (admins). `other` is always part of it.
pub async fn replace_taxonomy(
    tx: &TenantTx,
    by: &Principal,
    labels: Vec<IntentLabel>,
) -> Result<Vec<IntentLabel>, Error> {
    by.require_admin()?;
    let mut labels = validate(labels)?;
    if !labels.iter().any(|l| l.label == OTHER) {
        labels.push(IntentLabel {
            label: OTHER.into(),
            display_name: None,
            description: Some("Messages that fit no other label.".into()),
            examples: Vec::new(),
        });
    }
    intent::Entity::delete_many()
        .filter(intent::Column::TenantId.eq(tx.tenant().0))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    let now = copilot_core::now();
    let rows = labels.iter().map(|entry| intent::ActiveModel {
        tenant_id: Set(tx.tenant().0),
        label: Set(entry.label.clone()),
        display_name: Set(entry.display_name.clone()),
        description: Set(entry.description.clone()),
        examples: Set(serde_json::json!(entry.examples)),
        created_at: Set(now),
        updated_at: Set(now),
    });
    intent::Entity::insert_many(rows).exec_without_returning(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "intents.replaced",
        audit::Target { kind: "intents", id: None, label: None },
        serde_json::json!({ "labels": labels.iter().map(|l| l.label.as_str()).collect::<Vec<_>>() }),
    )
    .await?;
    taxonomy(tx).await
}

/// The tenant's own taxonomy, or the shipped labels (without examples) as the start of one.
async fn own_or(tx: &TenantTx, default_labels: &[String]) -> Result<Vec<IntentLabel>, Error> {
    let own = taxonomy(tx).await?;
    if !own.is_empty() {
        return Ok(own);
    }
    Ok(default_labels
        .iter()
        .map(|label| IntentLabel { label: label.clone(), display_name: None, description: None, examples: Vec::new() })
        .collect())
}

/// Example texts as a taxonomy keeps them: at most 1,000 characters, no blanks, no repeats.
fn as_examples(existing: &[String], texts: &[String]) -> Vec<String> {
    let mut examples = existing.to_vec();
    for text in texts {
        let text: String = text.trim().chars().take(1000).collect();
        if !text.is_empty() && !examples.contains(&text) {
            examples.push(text);
        }
    }
    examples.truncate(500);
    examples
}

/// Adds an intent with example messages (admins); 409 `intent_exists` if the label is
/// taken. A tenant on the shipped taxonomy gets its own, the shipped labels plus this one.
pub async fn add_intent(
    tx: &TenantTx,
    by: &Principal,
    default_labels: &[String],
    new: IntentLabel,
) -> Result<Vec<IntentLabel>, Error> {
    let mut labels = own_or(tx, default_labels).await?;
    if labels.iter().any(|l| l.label == new.label) {
        return Err(Error::conflict("intent_exists", format!("`{}` is already an intent", new.label)));
    }
    let examples = as_examples(&[], &new.examples);
    labels.push(IntentLabel { examples, ..new });
    replace_taxonomy(tx, by, labels).await
}

/// Adds example messages to an intent (admins); 422 `unknown_intent` if there is none.
pub async fn add_examples(
    tx: &TenantTx,
    by: &Principal,
    default_labels: &[String],
    label: &str,
    texts: &[String],
) -> Result<Vec<IntentLabel>, Error> {
    let mut labels = own_or(tx, default_labels).await?;
    let Some(entry) = labels.iter_mut().find(|l| l.label == label) else {
        return Err(Error::unprocessable(
            "unknown_intent",
            format!("`{label}` is not a label of this tenant's taxonomy"),
        ));
    };
    entry.examples = as_examples(&entry.examples, texts);
    replace_taxonomy(tx, by, labels).await
}

/// An agent sets a customer message's intent; `allowed` are the labels of the tenant's
/// current taxonomy. The correction becomes a training example and updates the ticket.
pub async fn correct_intent(
    tx: &TenantTx,
    by: &Principal,
    ticket_id: TicketId,
    message_id: MessageId,
    label: &str,
    allowed: &[String],
) -> Result<MessageTriage, Error> {
    by.require_human_role()?;
    let message = message::Entity::scoped(tx.tenant())
        .filter(message::Column::Id.eq(message_id.0))
        .filter(message::Column::TicketId.eq(ticket_id.0))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("message"))?;
    if !allowed.iter().any(|a| a == label) {
        return Err(Error::unprocessable(
            "unknown_intent",
            format!("`{label}` is not a label of this tenant's taxonomy"),
        ));
    }
    triage::lock_tickets(tx, &[message.id]).await?;
    let row = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::MessageId.eq(message.id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::unprocessable("not_triaged", "only customer messages have a triage"))?;
    let previous = row.corrected_intent.clone().or_else(|| row.intent.clone());
    let mut change: message_triage::ActiveModel = row.into();
    change.corrected_intent = Set(Some(label.to_owned()));
    change.corrected_by = Set(by.actor.user_id());
    change.updated_at = Set(copilot_core::now());
    let updated = change.update(&**tx).await.map_err(db_err)?;
    triage::refresh_ticket_intent(tx, ticket_id.0).await?;
    audit::record(
        tx,
        by.actor,
        "triage.intent_corrected",
        audit::Target::new("message", message_id),
        serde_json::json!({ "from": previous, "to": label }),
    )
    .await?;
    Ok(updated.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str) -> IntentLabel {
        IntentLabel { label: name.into(), display_name: None, description: None, examples: vec!["an example".into()] }
    }

    #[test]
    fn labels_are_lower_case_identifiers_without_duplicates() {
        assert!(validate(vec![label("warranty"), label("installation_2")]).is_ok());
        assert_eq!(validate(vec![label("Warranty"), label("x")]).err().map(|e| e.code()), Some("invalid_label"));
        assert_eq!(validate(vec![label("a"), label("a")]).err().map(|e| e.code()), Some("invalid_label"));
        assert!(validate(vec![label("only")]).is_err());
    }

    #[test]
    fn blank_examples_are_refused() {
        let mut blank = label("warranty");
        blank.examples = vec!["  ".into()];
        assert!(validate(vec![blank, label("other")]).is_err());
    }
}
