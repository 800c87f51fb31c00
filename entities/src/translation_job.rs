//! The `translation_jobs` table: a customer message to be translated in the background into
//! one language the tenant's agents read (the queue behind `auto_translate`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "translation_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    pub message_id: Uuid,
    /// ISO 639-1 code of the language to translate into.
    pub language: String,
    /// `pending`, `done` or `failed`.
    pub status: String,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    /// Claims so far (a stale worker's result is told apart by it).
    pub attempts: i32,
    /// Failed attempts in a row, for the retry policy.
    pub failures: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
