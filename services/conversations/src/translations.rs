//! Messages translated into other languages, kept once per message and language.

use chrono::{DateTime, Utc};
use copilot_core::{Error, ids::MessageId};
use copilot_entities::message_translation;
use copilot_store::{Scoped, TenantTx, db_err};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::OnConflict};

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
