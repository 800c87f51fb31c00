//! A tenant's own intent taxonomy (labels with descriptions and example messages), the
//! training jobs that turn it into a head, and agents' corrections of a message's intent,
//! which become training examples. The head itself is opaque JSON here: fitting and
//! running it is the triage models' business.

use chrono::Duration;
use copilot_core::{
    Error, Principal, TenantId,
    ids::{MessageId, TicketId},
    model::TrainingStatus,
    retry::Backoff,
    values::{bounded_text, single_line},
};
use copilot_entities::{intent, intent_model, message, message_triage};
use copilot_store::jobs::Queue;
use copilot_store::{Db, Scoped, TenantTx, audit, db_err};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

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

/// A training job and, once ready, what it produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingJob {
    pub id: Uuid,
    pub status: TrainingStatus,
    pub attempts: i32,
    pub labels: Vec<String>,
    pub example_count: i32,
    pub cross_validated_accuracy: Option<f64>,
    pub folds: Option<i32>,
    pub error: Option<String>,
    /// Whether triage uses this head now.
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<intent_model::Model> for TrainingJob {
    fn from(row: intent_model::Model) -> Self {
        Self {
            id: row.id,
            status: row.status,
            attempts: row.attempts,
            labels: row.labels.and_then(|labels| serde_json::from_value(labels).ok()).unwrap_or_default(),
            example_count: row.example_count,
            cross_validated_accuracy: row.cross_validated_accuracy,
            folds: row.folds,
            error: row.error,
            active: row.active,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
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

/// Queues a training job from the current taxonomy and corrections (admins).
pub async fn request_training(tx: &TenantTx, by: &Principal) -> Result<TrainingJob, Error> {
    by.require_admin()?;
    let examples = training_examples(tx).await?;
    let labelled: std::collections::BTreeSet<&str> = examples.iter().map(|(label, _)| label.as_str()).collect();
    if labelled.len() < 2 {
        return Err(Error::unprocessable(
            "not_enough_examples",
            "training needs examples for at least two labels: PUT /v1/intents first",
        ));
    }
    let now = copilot_core::now();
    let row = intent_model::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        status: Set(TrainingStatus::Queued),
        attempts: Set(0),
        next_attempt_at: Set(now),
        labels: Set(None),
        weights: Set(None),
        cross_validated_accuracy: Set(None),
        folds: Set(None),
        example_count: Set(examples.len() as i32),
        error: Set(None),
        active: Set(false),
        created_at: Set(now),
        finished_at: Set(None),
        request_id: Set(copilot_store::request::current()),
    };
    let row = row.insert(&**tx).await.map_err(db_err)?;
    audit::record(tx, by.actor, "intents.training_requested", audit::Target::new("intent_model", row.id), Value::Null)
        .await?;
    Ok(row.into())
}

/// The newest training job.
pub async fn latest_training(tx: &TenantTx) -> Result<Option<TrainingJob>, Error> {
    let row = intent_model::Entity::scoped(tx.tenant())
        .order_by_desc(intent_model::Column::Id)
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.map(TrainingJob::from))
}

/// `(label, text)` pairs: the taxonomy's examples and messages whose intent an agent
/// corrected to one of its labels.
pub async fn training_examples(tx: &TenantTx) -> Result<Vec<(String, String)>, Error> {
    let labels = taxonomy(tx).await?;
    let mut examples: Vec<(String, String)> =
        labels.iter().flat_map(|l| l.examples.iter().map(|e| (l.label.clone(), e.clone()))).collect();
    let corrected = message_triage::Entity::scoped(tx.tenant())
        .filter(message_triage::Column::CorrectedIntent.is_not_null())
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let ids: Vec<Uuid> = corrected.iter().map(|row| row.message_id).collect();
    let bodies = triage::bodies(tx, &ids).await?;
    for row in corrected {
        if let (Some(label), Some(body)) = (row.corrected_intent, bodies.get(&row.message_id))
            && labels.iter().any(|l| l.label == label)
        {
            examples.push((label, body.clone()));
        }
    }
    Ok(examples)
}

/// A claimed training job: its tenant, its id and the claim's attempt number (only the
/// holder of that attempt stores the outcome).
#[derive(Clone, Debug)]
pub struct ClaimedTraining {
    pub tenant_id: TenantId,
    pub job: Uuid,
    pub attempt: i32,
    /// The `X-Request-Id` of the request that queued the job, when one did.
    pub request_id: Option<String>,
    /// When it was asked for.
    pub queued_at: chrono::DateTime<chrono::Utc>,
}

/// The training queue: a tenant's intent head waiting to be trained.
pub const TRAINING_QUEUE: Queue = Queue {
    name: "training",
    table: "intent_models",
    id: "id",
    open: "{row}.status = 'queued'",
    held: "{row}.status = 'queued'",
    lease_columns: &["next_attempt_at"],
};

/// Claims the next due training job across tenants, leased for `lease`.
pub async fn claim_training(db: &Db, lease: Duration, policy: &Backoff) -> Result<Option<ClaimedTraining>, Error> {
    let now = copilot_core::now();
    let backend = db.backend();
    // A job whose worker died on every attempt (it never recorded a failure) gives up here.
    let abandoned = "UPDATE intent_models SET status = 'failed', error = 'training was interrupted too often'
         WHERE status = 'queued' AND attempts >= $1 AND next_attempt_at <= $2";
    db.unscoped()
        .execute_raw(Statement::from_sql_and_values(
            backend,
            abandoned,
            [(policy.max_attempts() as i32).into(), now.into()],
        ))
        .await
        .map_err(db_err)?;
    let sql = "UPDATE intent_models SET next_attempt_at = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM intent_models WHERE status = 'queued' AND next_attempt_at <= $2
                      ORDER BY next_attempt_at LIMIT $3 {lock})
         RETURNING tenant_id, id, attempts, request_id, created_at";
    let row = copilot_store::jobs::claim(db, sql, 1, lease).await?.into_iter().next();
    row.map(|row| {
        Ok(ClaimedTraining {
            tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
            job: row.try_get("", "id").map_err(db_err)?,
            attempt: row.try_get("", "attempts").map_err(db_err)?,
            request_id: row.try_get("", "request_id").map_err(db_err)?,
            queued_at: row.try_get("", "created_at").map_err(db_err)?,
        })
    })
    .transpose()
}

/// The claimed job while its claim still holds it (locked); `None` when it was finished,
/// or claimed again after this claim's lease ran out.
async fn held_training(tx: &TenantTx, claimed: &ClaimedTraining) -> Result<Option<intent_model::Model>, Error> {
    let row = intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Id.eq(claimed.job))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.filter(|row| row.status == TrainingStatus::Queued && row.attempts == claimed.attempt))
}

/// Stores a trained head and makes it the tenant's active one, unless a newer job's head
/// is ready already (then this one is kept, inactive); nothing when the claim no longer
/// holds the job.
pub async fn finish_training(
    tx: &TenantTx,
    claimed: &ClaimedTraining,
    labels: &[String],
    head: Value,
    cross_validated_accuracy: Option<f64>,
    folds: usize,
) -> Result<(), Error> {
    let Some(row) = held_training(tx, claimed).await? else { return Ok(()) };
    // Job ids grow with time (UUIDv7): a newer ready head was trained on newer examples.
    let newer_ready = intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Id.gt(row.id))
        .filter(intent_model::Column::Status.eq(TrainingStatus::Ready))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .is_some();
    if !newer_ready {
        intent_model::Entity::update_many()
            .col_expr(intent_model::Column::Active, sea_orm::sea_query::Expr::value(false))
            .filter(intent_model::Column::TenantId.eq(tx.tenant().0))
            .exec(&**tx)
            .await
            .map_err(db_err)?;
    }
    let mut change: intent_model::ActiveModel = row.into();
    change.status = Set(TrainingStatus::Ready);
    change.labels = Set(Some(serde_json::json!(labels)));
    change.weights = Set(Some(head));
    change.cross_validated_accuracy = Set(cross_validated_accuracy);
    change.folds = Set(Some(folds as i32));
    change.error = Set(None);
    change.active = Set(!newer_ready);
    change.finished_at = Set(Some(copilot_core::now()));
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// Records a failed training attempt: retried after the wait `policy` gives, `failed` once
/// it gives no more.
pub async fn fail_training(
    tx: &TenantTx,
    claimed: &ClaimedTraining,
    error: &str,
    policy: &Backoff,
) -> Result<(), Error> {
    let Some(row) = held_training(tx, claimed).await? else { return Ok(()) };
    let retry = policy.retry_in(row.attempts);
    let mut change: intent_model::ActiveModel = row.into();
    change.error = Set(Some(error.chars().take(500).collect()));
    match retry {
        Some(wait) => change.next_attempt_at = Set(copilot_core::now() + wait),
        None => {
            change.status = Set(TrainingStatus::Failed);
            change.finished_at = Set(Some(copilot_core::now()));
        }
    }
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// The tenant's active head (opaque JSON), if it trained one.
pub async fn active_head(tx: &TenantTx) -> Result<Option<Value>, Error> {
    let row = intent_model::Entity::scoped(tx.tenant())
        .filter(intent_model::Column::Active.eq(true))
        .filter(intent_model::Column::Status.eq(TrainingStatus::Ready))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.and_then(|row| row.weights))
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
