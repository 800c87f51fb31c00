//! The `webhook_deliveries` table: one event to one endpoint, with its attempts.

use copilot_core::model::WebhookDeliveryStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    /// The event's ticket: an endpoint gets one ticket's events one at a time, in order.
    pub ticket_id: Option<Uuid>,
    /// Failed when out of attempts, or when the endpoint was disabled.
    pub status: WebhookDeliveryStatus,
    pub attempts: i32,
    /// While pending: when the next attempt is due (pushed out by a lease while one runs).
    pub next_attempt_at: DateTimeUtc,
    pub last_status_code: Option<i32>,
    /// The start of the endpoint's last answer.
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
    /// The `X-Request-Id` of the request that queued the job, when one did.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
