//! The `sender_verifications` table: a tenant's sending addresses, each with the hash of
//! the code mailed to it and when the tenant proved it read it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sender_verifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Lower-cased.
    pub address: String,
    /// SHA-256 (hex) of the code mailed to the address.
    pub code_hash: String,
    /// Wrong codes given for it; past a few, a new code must be mailed.
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub verified_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
