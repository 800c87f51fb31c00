//! The review queue: customer messages where the small model's intent (as triage stored
//! it) and the LLM's label disagree, most confident model first (those are the labels
//! most worth a person's look: either the model learnt something wrong or the LLM did).
//! A person's choice is recorded as an agent's correction, which outranks both and takes
//! the message off the queue.

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, Principal,
    ids::{MessageId, TicketId},
};
use copilot_store::{TenantTx, db_err};
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use crate::{
    taxonomy,
    triage::{self, MessageTriage},
};

/// One disagreement.
#[derive(Clone, Debug, PartialEq)]
pub struct Disagreement {
    pub message_id: Uuid,
    pub ticket_id: Uuid,
    pub text: String,
    pub model_label: String,
    pub model_confidence: Option<f64>,
    pub llm_label: String,
    pub llm_confidence: Option<f64>,
    pub llm_model: Option<String>,
    pub labelled_at: DateTime<Utc>,
}

/// A page of the queue and how long it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Queue {
    pub total: u64,
    pub items: Vec<Disagreement>,
}

const DISAGREEMENTS: &str = "FROM message_labels l
    JOIN message_triage t ON t.tenant_id = l.tenant_id AND t.message_id = l.message_id
    WHERE l.tenant_id = $1 AND l.source = 'llm' AND t.corrected_intent IS NULL
      AND t.intent IS NOT NULL AND t.intent <> l.label";

/// The first `limit` disagreements, most confident model first.
pub async fn queue(tx: &TenantTx, limit: u64) -> Result<Queue, Error> {
    let backend = tx.get_database_backend();
    let tenant = tx.tenant().0;
    let count =
        Statement::from_sql_and_values(backend, format!("SELECT COUNT(*) AS total {DISAGREEMENTS}"), [tenant.into()]);
    let total: i64 = match tx.query_one_raw(count).await.map_err(db_err)? {
        Some(row) => row.try_get("", "total").map_err(db_err)?,
        None => 0,
    };
    let page = Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT l.message_id, t.ticket_id, t.intent, t.intent_confidence, l.label, l.confidence, l.model,
                    l.created_at {DISAGREEMENTS}
             ORDER BY COALESCE(t.intent_confidence, 0) DESC, COALESCE(l.confidence, 0) DESC, l.message_id LIMIT $2"
        ),
        [tenant.into(), (limit as i64).into()],
    );
    let rows = tx.query_all_raw(page).await.map_err(db_err)?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|row| row.try_get("", "message_id").ok()).collect();
    let bodies = triage::bodies(tx, &ids).await?;
    let items = rows
        .iter()
        .map(|row| {
            let message_id: Uuid = row.try_get("", "message_id").map_err(db_err)?;
            Ok(Disagreement {
                message_id,
                ticket_id: row.try_get("", "ticket_id").map_err(db_err)?,
                text: bodies.get(&message_id).cloned().unwrap_or_default(),
                model_label: row.try_get("", "intent").map_err(db_err)?,
                model_confidence: row.try_get("", "intent_confidence").map_err(db_err)?,
                llm_label: row.try_get("", "label").map_err(db_err)?,
                llm_confidence: row.try_get("", "confidence").map_err(db_err)?,
                llm_model: row.try_get("", "model").map_err(db_err)?,
                labelled_at: row.try_get("", "created_at").map_err(db_err)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Queue { total: total.max(0) as u64, items })
}

/// A person settles a message's intent (either side's label, or another of the
/// taxonomy's): recorded as an agent's correction.
pub async fn accept(
    tx: &TenantTx,
    by: &Principal,
    message_id: MessageId,
    label: &str,
    allowed: &[String],
) -> Result<MessageTriage, Error> {
    by.require_admin()?;
    let ticket = triage::ticket_of(tx, message_id).await?.ok_or(Error::NotFound("message"))?;
    taxonomy::correct_intent(tx, by, TicketId(ticket), message_id, label, allowed).await
}
