//! The `deliveries` table: the outbox of agent replies to send on their ticket's channel.

use copilot_core::model::{Channel, DeliveryStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub message_id: Uuid,
    pub ticket_id: Uuid,
    /// `email`.
    pub channel: Channel,
    pub status: DeliveryStatus,
    /// Every attempt ever made; claims are fenced by it.
    pub attempts: i32,
    /// Attempts made before the latest resend: the current series is `attempts` minus this.
    pub attempts_before_resend: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTimeUtc,
    /// While `sending`: until when the sender holds it.
    pub lease_until: Option<DateTimeUtc>,
    /// The Message-ID the reply is sent with, fixed before the first attempt.
    pub header_message_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// The `X-Request-Id` of the request that queued the job.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
