//! The `drafts` table: an AI-written reply proposal for a ticket, its generation job and
//! the human decision on it.

use copilot_core::model::{DraftMode, DraftStatus, EditClass};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "drafts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    /// The customer message the draft answers (none for a draft asked for on a ticket
    /// without customer messages).
    pub message_id: Option<Uuid>,
    pub status: DraftStatus,
    /// An agent's instructions for a regenerated draft ("shorter, more formal").
    pub instructions: Option<String>,
    /// Extractive when the agent asked for a draft without the LLM.
    pub requested_mode: Option<DraftMode>,
    pub requested_by: Option<Uuid>,
    pub attempts: i32,
    /// When a worker may take the job next; a claim pushes it out by the lease.
    pub next_attempt_at: DateTimeUtc,
    /// While a worker writes the draft: when it lets the job go unless it renews the lease.
    pub lease_until: Option<DateTimeUtc>,
    pub body: Option<String>,
    /// `[{chunk_id, document_id, document_version, title, quote}]`.
    pub citations: Option<Json>,
    pub confidence: Option<f64>,
    pub language: Option<String>,
    pub mode: Option<DraftMode>,
    pub model: Option<String>,
    /// The LLM profile that answered (LLM mode).
    pub llm_profile: Option<String>,
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    /// Remarks for the agent (`["budget_exhausted", …]`).
    pub notes: Option<Json>,
    /// The intent of the message the draft answers, when drafted.
    pub intent: Option<String>,
    pub error: Option<String>,
    /// The text that was sent (the draft as an agent left it).
    pub approved_body: Option<String>,
    pub edit_distance: Option<f64>,
    pub edit_class: Option<EditClass>,
    pub rejection_reason: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    /// The agent message an approval created.
    pub sent_message_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The `X-Request-Id` of the request that queued the job.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
