//! The `llm_profiles` table: a tenant's named OpenAI-compatible endpoints (key sealed),
//! with their limits and prices, in the order an admin listed them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "llm_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub position: i32,
    pub base_url: String,
    pub model: String,
    /// The API key, encrypted with the service's secret key; never returned.
    pub api_key_sealed: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub timeout_seconds: Option<i32>,
    /// Price per million prompt tokens, in the tenant's currency.
    pub price_input: Option<f64>,
    /// Price per million completion tokens.
    pub price_output: Option<f64>,
    pub supports_json_schema: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
