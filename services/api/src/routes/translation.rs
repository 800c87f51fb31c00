//! A message in a reader's language, translated once per message and language, then kept.

use chrono::{DateTime, Utc};
use copilot_core::ids::{MessageId, TicketId};
use copilot_pipeline::translation;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::Tag;
use crate::{AppState, auth::TenantAuth, error::ApiResult};

pub struct TranslationApi {
    pub state: AppState,
}

/// A message in another language.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MessageTranslationOut {
    pub message_id: Uuid,
    pub language: String,
    /// The message's own language, as detected.
    pub source_language: Option<String>,
    pub text: String,
    pub model: Option<String>,
    pub llm_profile: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[OpenApi(tag = "Tag::Tickets")]
impl TranslationApi {
    /// A message of the ticket in `lang` (ISO 639-1): translated once, then kept.
    #[oai(
        path = "/tickets/:id/messages/:message_id/translations/:lang",
        method = "get",
        operation_id = "tickets.messages.translation"
    )]
    async fn message_translation(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        message_id: Path<Uuid>,
        lang: Path<String>,
    ) -> ApiResult<Json<MessageTranslationOut>> {
        let kept = translation::message_translation(
            &self.state.pipeline,
            &auth.0.principal,
            TicketId(id.0),
            MessageId(message_id.0),
            &lang.0,
        )
        .await?;
        Ok(Json(MessageTranslationOut {
            message_id: kept.message_id.0,
            language: kept.language,
            source_language: kept.source_language,
            text: kept.text,
            model: kept.model,
            llm_profile: kept.llm_profile,
            created_at: kept.created_at,
        }))
    }
}
