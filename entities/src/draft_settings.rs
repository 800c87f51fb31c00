//! The `draft_settings` table: a tenant's drafting configuration (its own LLM endpoint
//! with the key sealed, generation limits, persona, tone, signature, privacy).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "draft_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    pub llm_base_url: Option<String>,
    pub llm_model: Option<String>,
    /// The API key, encrypted with the service's secret key; never returned.
    pub llm_api_key_sealed: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub timeout_seconds: Option<i32>,
    pub monthly_token_budget: Option<i64>,
    /// The month's LLM cost limit, in the currency of the profiles' prices.
    pub monthly_cost_budget: Option<f64>,
    /// The default profile's price per million prompt tokens.
    pub price_input: Option<f64>,
    /// The default profile's price per million completion tokens.
    pub price_output: Option<f64>,
    pub persona: Option<String>,
    pub tone: Option<String>,
    pub signature: Option<String>,
    pub redact_pii: bool,
    pub auto_draft: bool,
    /// Customer messages are translated in the background into every agent language in use.
    pub auto_translate: bool,
    /// ISO 639-1 code of the language drafts use when the customer's cannot be told.
    pub default_language: Option<String>,
    /// ISO 639-1 code of the language summaries are written in for agents.
    pub agent_language: Option<String>,
    /// From how many messages (notes aside) a ticket keeps a summary; 3 when unset.
    pub summary_min_messages: Option<i32>,
    /// The tenant's rewrite tools: a JSON array of `{name, instruction}`.
    #[sea_orm(column_type = "Text", nullable)]
    pub rewrite_tools: Option<String>,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
