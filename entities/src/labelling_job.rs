//! The `labelling_jobs` table: a request to label the tenant's customer messages with its
//! LLM, its scope, its progress and where it stands (a durable job, resumable from
//! `cursor`, the last message it finished).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "labelling_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `queued`, `running`, `done`, `cancelled`, `failed` or `budget_exhausted`.
    pub status: String,
    pub scope_from: Option<DateTimeUtc>,
    pub scope_to: Option<DateTimeUtc>,
    /// `unlabeled`, `other`, `low_confidence` or `all`.
    pub scope_only: String,
    pub max_messages: i32,
    pub max_tokens: Option<i64>,
    pub total: i32,
    pub labelled: i32,
    pub invalid: i32,
    pub skipped: i32,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cursor: Option<Uuid>,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub requested_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
