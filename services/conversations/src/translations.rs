//! Messages translated into other languages, kept once per message and language, and the
//! queue of translations made in the background.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use copilot_core::{
    Error, TenantId,
    ids::{MessageId, TicketId},
};
use copilot_entities::{message_translation, translation_job};
use copilot_store::{
    Db, Scoped, TenantTx, db_err, events,
    jobs::{FairPick, Queue},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::OnConflict,
};
use uuid::Uuid;

/// A message in another language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    pub message_id: MessageId,
    pub language: String,
    /// The message's own language, as detected.
    pub source_language: Option<String>,
    pub text: String,
    pub model: Option<String>,
    pub llm_profile: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<message_translation::Model> for Translation {
    fn from(row: message_translation::Model) -> Self {
        Self {
            message_id: MessageId(row.message_id),
            language: row.language,
            source_language: row.source_language,
            text: row.text,
            model: row.model,
            llm_profile: row.llm_profile,
            created_at: row.created_at,
        }
    }
}

/// The message's translation into `language`, if it was made.
pub async fn get(tx: &TenantTx, message: MessageId, language: &str) -> Result<Option<Translation>, Error> {
    Ok(message_translation::Entity::scoped(tx.tenant())
        .filter(message_translation::Column::MessageId.eq(message.0))
        .filter(message_translation::Column::Language.eq(language))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .map(Translation::from))
}

/// Keeps a translation (a translation made meanwhile by another request is replaced).
pub async fn store(tx: &TenantTx, translation: Translation) -> Result<Translation, Error> {
    let row = message_translation::ActiveModel {
        tenant_id: Set(tx.tenant().0),
        message_id: Set(translation.message_id.0),
        language: Set(translation.language.clone()),
        source_language: Set(translation.source_language.clone()),
        text: Set(translation.text.clone()),
        model: Set(translation.model.clone()),
        llm_profile: Set(translation.llm_profile.clone()),
        created_at: Set(translation.created_at),
    };
    message_translation::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                message_translation::Column::TenantId,
                message_translation::Column::MessageId,
                message_translation::Column::Language,
            ])
            .update_columns([
                message_translation::Column::SourceLanguage,
                message_translation::Column::Text,
                message_translation::Column::Model,
                message_translation::Column::LlmProfile,
                message_translation::Column::CreatedAt,
            ])
            .to_owned(),
        )
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(translation)
}

/// Background translations (`auto_translate`): one row per customer message and language.
pub const QUEUE: Queue = Queue {
    name: "translations",
    table: "translation_jobs",
    id: "id",
    open: "{row}.status = 'pending'",
    held: "{row}.status = 'pending'",
    lease_columns: &["lease_until"],
};

/// Where a background translation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Done,
    Failed,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// Asks for the message to be translated into each of `languages` in the background; a
/// language asked for before is not asked again.
pub async fn request(tx: &TenantTx, ticket: TicketId, message: MessageId, languages: &[String]) -> Result<(), Error> {
    if languages.is_empty() {
        return Ok(());
    }
    let now = copilot_core::now();
    let rows = languages.iter().map(|language| translation_job::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        ticket_id: Set(ticket.0),
        message_id: Set(message.0),
        language: Set(language.clone()),
        status: Set(JobStatus::Pending.as_str().to_owned()),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        attempts: Set(0),
        failures: Set(0),
        error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    });
    translation_job::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                translation_job::Column::TenantId,
                translation_job::Column::MessageId,
                translation_job::Column::Language,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A claimed background translation.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub tenant_id: TenantId,
    pub id: Uuid,
    pub ticket_id: TicketId,
    pub message_id: MessageId,
    pub language: String,
    pub attempt: i32,
    pub failures: i32,
    pub queued_at: DateTime<Utc>,
}

/// Claims up to `limit` due translations across tenants for `lease`, at most two of a
/// tenant per claim.
pub async fn claim(db: &Db, limit: u64, lease: Duration) -> Result<Vec<Claimed>, Error> {
    let pick = FairPick {
        queue: &QUEUE,
        group: "tenant_id",
        due: "{row}.status = 'pending' AND {row}.next_attempt_at <= $2
              AND ({row}.lease_until IS NULL OR {row}.lease_until <= $2)",
        per_group: 2,
        busy: None,
    };
    let sql = format!(
        "UPDATE translation_jobs SET lease_until = $1, attempts = attempts + 1, updated_at = $2
         WHERE id IN ({}) RETURNING tenant_id, id, ticket_id, message_id, language, attempts, failures, next_attempt_at",
        pick.sql()
    );
    let rows = copilot_store::jobs::claim(db, &sql, limit, lease).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
                id: row.try_get("", "id").map_err(db_err)?,
                ticket_id: TicketId(row.try_get("", "ticket_id").map_err(db_err)?),
                message_id: MessageId(row.try_get("", "message_id").map_err(db_err)?),
                language: row.try_get("", "language").map_err(db_err)?,
                attempt: row.try_get("", "attempts").map_err(db_err)?,
                failures: row.try_get("", "failures").map_err(db_err)?,
                queued_at: row.try_get("", "next_attempt_at").map_err(db_err)?,
            })
        })
        .collect()
}

/// The claimed row, locked, while the claim still holds it.
async fn held(tx: &TenantTx, claimed: &Claimed) -> Result<Option<translation_job::Model>, Error> {
    let row = translation_job::Entity::scoped(tx.tenant())
        .filter(translation_job::Column::Id.eq(claimed.id))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.filter(|row| row.attempts == claimed.attempt && row.status == JobStatus::Pending.as_str()))
}

/// Keeps the translation a claim made (or found made) and emits `message.translated`;
/// false, storing nothing, when the claim no longer holds.
pub async fn finish(tx: &TenantTx, claimed: &Claimed, translation: Option<Translation>) -> Result<bool, Error> {
    let Some(row) = held(tx, claimed).await? else { return Ok(false) };
    let mut change: translation_job::ActiveModel = row.into();
    change.status = Set(JobStatus::Done.as_str().to_owned());
    change.lease_until = Set(None);
    change.error = Set(None);
    change.updated_at = Set(copilot_core::now());
    change.update(&**tx).await.map_err(db_err)?;
    if let Some(translation) = translation {
        let kept = store(tx, translation).await?;
        let event = serde_json::json!({
            "message_id": kept.message_id,
            "language": kept.language,
            "source_language": kept.source_language,
            "llm_profile": kept.llm_profile,
        });
        events::emit(tx, "message.translated", Some(claimed.ticket_id), &event).await?;
    }
    Ok(true)
}

/// Records a failed attempt: tried again after `retry_in`, or, without one, failed for good
/// with the error (an agent can still ask for the translation).
pub async fn fail(tx: &TenantTx, claimed: &Claimed, error: &str, retry_in: Option<Duration>) -> Result<(), Error> {
    let Some(row) = held(tx, claimed).await? else { return Ok(()) };
    let now = copilot_core::now();
    let failures = row.failures;
    let mut change: translation_job::ActiveModel = row.into();
    change.lease_until = Set(None);
    change.error = Set(Some(error.chars().take(500).collect()));
    match retry_in {
        Some(wait) => {
            change.failures = Set(failures + 1);
            change.next_attempt_at = Set(now + wait);
        }
        None => change.status = Set(JobStatus::Failed.as_str().to_owned()),
    }
    change.updated_at = Set(now);
    change.update(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// The languages each of `messages` has been translated into.
pub async fn languages(tx: &TenantTx, messages: &[MessageId]) -> Result<HashMap<MessageId, Vec<String>>, Error> {
    if messages.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = message_translation::Entity::scoped(tx.tenant())
        .select_only()
        .column(message_translation::Column::MessageId)
        .column(message_translation::Column::Language)
        .filter(message_translation::Column::MessageId.is_in(messages.iter().map(|id| id.0)))
        .order_by_asc(message_translation::Column::Language)
        .into_tuple()
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let mut found: HashMap<MessageId, Vec<String>> = HashMap::new();
    for (message, language) in rows {
        found.entry(MessageId(message)).or_default().push(language);
    }
    Ok(found)
}
