//! The `ticket_summaries` table: a ticket's summary for agents, and its recomputation
//! queue (`pending` while a newer message waits to be summarised).

use copilot_core::model::{DraftMode, SentimentTrend};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_summaries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    /// A recomputation is wanted (a message arrived, or someone asked).
    pub pending: bool,
    /// The newest message when the recomputation was asked for.
    pub requested_message_id: Option<Uuid>,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    /// Claims so far (never reset: a stale worker's result is told apart by it).
    pub attempts: i32,
    /// Failed attempts in a row, for the retry policy.
    pub failures: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub text: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub customer_goal: Option<String>,
    /// A JSON array of strings.
    #[sea_orm(column_type = "Text", nullable)]
    pub what_was_tried: Option<String>,
    /// A JSON array of strings.
    #[sea_orm(column_type = "Text", nullable)]
    pub open_questions: Option<String>,
    pub sentiment_trend: Option<SentimentTrend>,
    pub language: Option<String>,
    pub mode: Option<DraftMode>,
    pub model: Option<String>,
    pub llm_profile: Option<String>,
    /// Messages the summary covers.
    pub message_count: i32,
    /// The newest message the summary covers.
    pub covers_message_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub summarized_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
