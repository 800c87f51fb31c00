//! The `business_hours` table: a named schedule of the tenant's opening hours.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "business_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// The tenant's default schedule (one per tenant); its time zone is the tenant's.
    pub is_default: bool,
    /// An IANA time zone.
    pub time_zone: String,
    /// `{"mon": [["09:00", "17:30"]], …}`, every weekday present.
    pub week: Json,
    /// `["2027-01-01", …]`.
    pub holidays: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
