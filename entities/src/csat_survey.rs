//! The `csat_surveys` table: one ticket's satisfaction survey — when it goes out, its
//! e-mail in the outbox, who and what it rates, and the customer's rating.

use copilot_core::model::{Channel, CsatScale, SurveyStage};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "csat_surveys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    pub scale: CsatScale,
    pub stage: SurveyStage,
    /// The page's and the e-mail's language (`en`, `zh`).
    pub language: String,
    pub channel: Channel,
    /// The ticket's intent when it was solved.
    pub intent: Option<String>,
    /// The agent rated: the ticket's assignee when solved, else its last replier.
    pub agent_id: Option<Uuid>,
    /// At least one public reply of the ticket was an approved AI draft.
    pub ai_drafted: bool,
    /// When the worker acts next: sends the survey, or tries its e-mail again.
    pub next_attempt_at: Option<DateTimeUtc>,
    pub lease_until: Option<DateTimeUtc>,
    pub requested_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub mail_attempts: i32,
    pub mail_error: Option<String>,
    pub mail_sent_at: Option<DateTimeUtc>,
    pub header_message_id: Option<String>,
    /// 1–5, or on the two-point scale 1 (bad) or 2 (good).
    pub rating: Option<i16>,
    pub comment: Option<String>,
    /// The first rating's time; changes are taken for 7 days after it.
    pub rated_at: Option<DateTimeUtc>,
    pub changed_at: Option<DateTimeUtc>,
    pub changes: i32,
    /// The link's submissions in the current hour (its flood limit).
    pub window_started_at: Option<DateTimeUtc>,
    pub window_submissions: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
