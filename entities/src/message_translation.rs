//! The `message_translations` table: a message translated into one language, kept so that
//! it is translated once per language.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "message_translations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: Uuid,
    /// ISO 639-1 code of the translation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub language: String,
    /// The message's language, as detected.
    pub source_language: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub model: Option<String>,
    pub llm_profile: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
