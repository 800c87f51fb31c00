//! The `llm_health` table: each profile's circuit breaker and its last error.

use copilot_core::model::BreakerState;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "llm_health")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub profile: String,
    pub state: BreakerState,
    pub consecutive_failures: i32,
    pub trips: i32,
    /// Open: when a probe may go; half open: when the probe in flight is given up on.
    pub until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTimeUtc>,
    pub last_success_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
