//! The `tickets` table.

use copilot_core::model::{Channel, Priority, Sentiment, TicketStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Per-tenant sequence number shown to people (`#42`).
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub channel: Channel,
    pub customer_id: Uuid,
    pub assignee_id: Option<Uuid>,
    /// Intent of the latest triaged customer message.
    pub intent: Option<String>,
    /// Sentiment of the latest triaged customer message.
    pub sentiment: Option<Sentiment>,
    /// Language of the latest triaged customer message.
    pub language: Option<String>,
    /// The priority as a number that sorts: low 0, normal 1, high 2, urgent 3.
    pub priority_rank: i16,
    /// Sentiment score (positive minus negative, −1 to 1) of the latest triaged customer message.
    pub sentiment_score: Option<f64>,
    /// When the oldest customer message that no public reply has answered yet arrived.
    pub waiting_since: Option<DateTimeUtc>,
    /// The start of the latest message the customer can see (theirs or a reply).
    pub preview: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Messages of its thread, notes included.
    pub message_count: i32,
    /// When the first public reply was written.
    pub first_reply_at: Option<DateTimeUtc>,
    /// When it was last solved or closed; empty while it is new, open or pending.
    pub solved_at: Option<DateTimeUtc>,
    /// Its service levels (`copilot_core::sla::TicketSla`), kept by the SLA use cases.
    pub sla: Option<Json>,
    /// The earliest due time of its running SLA targets.
    pub sla_due_at: Option<DateTimeUtc>,
    /// The ticket this one was merged into (it is closed and takes no more messages).
    pub merged_into_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
