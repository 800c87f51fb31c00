//! The `intent_proposals` table: one cluster a discovery run found, what it suggests, and
//! what an admin decided (`proposed`, `accepted`, `merged` or `rejected`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "intent_proposals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub discovery_id: Uuid,
    pub size: i32,
    pub label_suggestion: String,
    pub description: Option<String>,
    /// `["word", …]`, most telling first.
    pub keywords: Json,
    /// `[{"message_id", "text"}, …]`: the messages nearest the cluster's centre.
    pub examples: Json,
    /// Every message of the cluster.
    pub message_ids: Json,
    pub nearest_intent: Option<String>,
    pub similarity: Option<f64>,
    /// The mean embedding of the cluster.
    pub centroid: Json,
    pub status: String,
    pub decided_label: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
