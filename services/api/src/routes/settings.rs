//! The tenant's drafting settings: its LLM endpoint (the key is write-only), its named
//! model profiles and which profiles each feature tries, and how its replies sound.
//! Admins change them; every person of the tenant may read them.

use chrono::{DateTime, Utc};
use copilot_core::model;
use copilot_core::values::KeyChange;
use copilot_drafts::settings::{self as draft_settings, DraftSettings, LlmUpdate, StyleUpdate};
use copilot_llm::{
    health::Health,
    profiles::{self, Prices, ProfileUpdate},
    routes::{self, Route},
};
use copilot_pipeline::llm::{ShownProfile, default_config, shown_profiles};
use poem_openapi::{Enum, Object, OpenApi, payload::Json, types::MaybeUndefined};

use super::Tag;
use crate::{AppState, auth::TenantAuth, dto::mirror_enum, error::ApiResult, json_body::JsonBody};

pub struct SettingsApi {
    pub state: AppState,
}

/// Which LLM writes this tenant's drafts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LlmSource {
    /// The endpoint in these settings.
    Tenant,
    /// The service's default endpoint (its configuration).
    Service,
    /// None: drafts are extractive.
    None,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LlmSettingsOut {
    /// The tenant's OpenAI-compatible API root; absent: the service's default.
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Whether a key is stored (the key itself is never returned).
    pub api_key_set: bool,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub timeout_seconds: Option<i32>,
    /// Prompt and completion tokens a calendar month, every feature's calls counted;
    /// absent: no limit. Over it, no LLM is called and drafts are extractive.
    pub monthly_token_budget: Option<i64>,
    /// The month's LLM cost limit in the currency of the profiles' prices; absent: no limit.
    pub monthly_cost_budget: Option<f64>,
    /// What a million prompt tokens of this LLM cost; absent: its calls are not priced.
    pub price_per_million_input_tokens: Option<f64>,
    /// What a million completion tokens of this LLM cost.
    pub price_per_million_output_tokens: Option<f64>,
    /// Where drafts are written now, all settings applied.
    pub source: LlmSource,
    pub effective_base_url: Option<String>,
    pub effective_model: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct LlmSettingsIn {
    /// An OpenAI-compatible API root such as `https://api.openai.com/v1`; absent or null: the service's default.
    pub base_url: Option<String>,
    /// Required with `base_url`.
    pub model: Option<String>,
    /// Write-only. Absent: keep the stored key; null: remove it; a string: replace it.
    pub api_key: MaybeUndefined<String>,
    /// 0 to 2.
    pub temperature: Option<f64>,
    /// 1 to 32000.
    pub max_tokens: Option<i32>,
    /// 1 to 600, for a whole answer.
    pub timeout_seconds: Option<i32>,
    /// At least 0; absent or null: no limit.
    pub monthly_token_budget: Option<i64>,
    /// At least 0, in the currency of the profiles' prices; absent or null: no limit.
    pub monthly_cost_budget: Option<f64>,
    /// 0 to 1,000,000, in the tenant's currency; absent or null: calls are not priced.
    pub price_per_million_input_tokens: Option<f64>,
    /// 0 to 1,000,000.
    pub price_per_million_output_tokens: Option<f64>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DraftingSettingsOut {
    /// Who writes, e.g. "the support team of Acme Outdoor".
    pub persona: Option<String>,
    /// e.g. "warm, concise, no exclamation marks".
    pub tone: Option<String>,
    /// Ends every draft.
    pub signature: Option<String>,
    /// Replace e-mail addresses, phone, card and IBAN numbers by placeholders before the
    /// LLM sees the conversation (restored in the draft).
    pub redact_pii: bool,
    /// Write a draft for every new customer message (else only when an agent asks).
    pub auto_draft: bool,
    /// Translate each customer message written in another language, in the background, into
    /// every language the tenant's agents read (their own `language`, else `agent_language`).
    pub auto_translate: bool,
    /// The language (ISO 639-1) drafts are written in when the customer's cannot be told
    /// (a word or two, an emoji); English when absent.
    pub default_language: Option<String>,
    /// The language (ISO 639-1) ticket summaries are written in for agents; English when absent.
    pub agent_language: Option<String>,
    /// From how many messages (internal notes aside) a ticket keeps a summary.
    pub summary_min_messages: i32,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct DraftingSettingsIn {
    pub persona: Option<String>,
    pub tone: Option<String>,
    pub signature: Option<String>,
    #[oai(default)]
    pub redact_pii: bool,
    #[oai(default = "default_true")]
    pub auto_draft: bool,
    /// Absent: off.
    #[oai(default)]
    pub auto_translate: bool,
    /// A two-letter ISO 639-1 code (`en`, `zh`, `de`, …); absent, null or blank: English.
    pub default_language: Option<String>,
    /// The language of ticket summaries, an ISO 639-1 code; absent, null or blank: English.
    pub agent_language: Option<String>,
    /// 1 to 1000; absent or null: 3.
    pub summary_min_messages: Option<i32>,
}

fn key_change(key: MaybeUndefined<String>) -> KeyChange {
    match key {
        MaybeUndefined::Undefined => KeyChange::Keep,
        MaybeUndefined::Null => KeyChange::Clear,
        MaybeUndefined::Value(key) => KeyChange::Set(key),
    }
}

fn default_true() -> bool {
    true
}

mirror_enum!(
    /// What an LLM call is for; each feature has its own route and usage line.
    LlmFeature => model::LlmFeature { Draft, Summary, Rewrite, Translate, Label, Ask, Judge }
);
mirror_enum!(
    /// A profile's circuit breaker: `closed` (calls go through), `open` (skipped until
    /// `until`), `half_open` (one probe call decides).
    BreakerState => model::BreakerState { Closed, Open, HalfOpen }
);

/// How a profile's endpoint has been answering.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LlmHealthOut {
    pub state: BreakerState,
    /// Failed calls since the last answer.
    pub consecutive_failures: u32,
    /// Open: when the next probe may go; half open: when the probe in flight is given up on.
    pub until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
}

impl From<Health> for LlmHealthOut {
    fn from(health: Health) -> Self {
        Self {
            state: health.breaker.state.into(),
            consecutive_failures: health.breaker.consecutive_failures,
            until: health.breaker.until.filter(|_| health.breaker.state != model::BreakerState::Closed),
            last_error: health.last_error,
            last_error_at: health.last_error_at,
            last_success_at: health.last_success_at,
        }
    }
}

/// A model profile: an OpenAI-compatible endpoint, a model, limits and prices.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LlmProfileOut {
    pub name: String,
    /// The `default` profile is the tenant's LLM setting (`PUT /v1/settings/llm`, else the
    /// service's endpoint); the others are set with `PUT /v1/settings/llm/profiles`.
    pub default: bool,
    pub base_url: String,
    pub model: String,
    /// Whether a key is stored (the key itself is never returned).
    pub api_key_set: bool,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub timeout_seconds: Option<i32>,
    /// In the tenant's currency; absent: calls are not priced.
    pub price_per_million_input_tokens: Option<f64>,
    pub price_per_million_output_tokens: Option<f64>,
    /// Whether the endpoint takes `response_format` with a JSON schema.
    pub supports_json_schema: bool,
    pub health: LlmHealthOut,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct LlmProfilesOut {
    /// `default` first when an LLM is configured, then the named profiles in their order.
    pub profiles: Vec<LlmProfileOut>,
}

/// A named model profile.
#[derive(Debug, Object)]
pub struct LlmProfileIn {
    /// 1–64 lower-case letters, digits, `-` or `_`, starting with a letter; not `default`.
    pub name: String,
    /// An OpenAI-compatible API root such as `https://api.openai.com/v1`.
    pub base_url: String,
    pub model: String,
    /// Write-only. Absent: keep the stored key of the profile of this name; null: none; a string: replace it.
    pub api_key: MaybeUndefined<String>,
    /// 0 to 2; absent: the service's.
    pub temperature: Option<f64>,
    /// 1 to 32000; absent: the service's.
    pub max_tokens: Option<i32>,
    /// 1 to 600, for a whole answer; absent: the service's.
    pub timeout_seconds: Option<i32>,
    /// 0 to 1,000,000.
    pub price_per_million_input_tokens: Option<f64>,
    pub price_per_million_output_tokens: Option<f64>,
    #[oai(default)]
    pub supports_json_schema: bool,
}

#[derive(Debug, Object)]
pub struct LlmProfilesIn {
    /// The whole list (at most 20), in the order shown; a profile left out is removed.
    pub profiles: Vec<LlmProfileIn>,
}

/// The profiles one feature tries, in order.
#[derive(Debug, Object)]
pub struct LlmRouteOut {
    pub feature: LlmFeature,
    pub profiles: Vec<String>,
}

#[derive(Debug, Object)]
pub struct LlmRoutesOut {
    /// Every feature; one without a route of its own tries `default`.
    pub routes: Vec<LlmRouteOut>,
}

#[derive(Debug, Object)]
pub struct LlmRouteIn {
    pub feature: LlmFeature,
    /// Profile names (`default` included), at most 5; empty: back to `default`.
    pub profiles: Vec<String>,
}

#[derive(Debug, Object)]
pub struct LlmRoutesIn {
    /// The features to change; the others keep their routes.
    pub routes: Vec<LlmRouteIn>,
}

fn profile_out(shown: ShownProfile) -> LlmProfileOut {
    let ShownProfile { profile, health, default, updated_at } = shown;
    LlmProfileOut {
        name: profile.name,
        default,
        base_url: profile.base_url,
        model: profile.model,
        api_key_set: profile.api_key_set,
        temperature: profile.temperature,
        max_tokens: profile.max_tokens,
        timeout_seconds: profile.timeout_seconds,
        price_per_million_input_tokens: profile.prices.input_per_million,
        price_per_million_output_tokens: profile.prices.output_per_million,
        supports_json_schema: profile.supports_json_schema,
        health: health.into(),
        updated_at,
    }
}

fn routes_out(routes: Vec<Route>) -> LlmRoutesOut {
    LlmRoutesOut {
        routes: routes
            .into_iter()
            .map(|route| LlmRouteOut { feature: route.feature.into(), profiles: route.profiles })
            .collect(),
    }
}

impl SettingsApi {
    /// The default profile (when an LLM is configured) and the named ones, with health.
    async fn profiles_out(&self, tx: &copilot_store::TenantTx) -> ApiResult<LlmProfilesOut> {
        let shown = shown_profiles(&self.state.pipeline, tx).await?;
        Ok(LlmProfilesOut { profiles: shown.into_iter().map(profile_out).collect() })
    }

    fn llm_out(&self, settings: DraftSettings) -> LlmSettingsOut {
        // The key's value does not change which endpoint is used: a placeholder will do.
        let key = settings.llm_api_key_set.then(String::new);
        let effective = default_config(&self.state.pipeline.settings, &settings, key);
        let source = match (&effective, &settings.llm_base_url) {
            (None, _) => LlmSource::None,
            (Some(_), Some(_)) => LlmSource::Tenant,
            (Some(_), None) => LlmSource::Service,
        };
        LlmSettingsOut {
            base_url: settings.llm_base_url,
            model: settings.llm_model,
            api_key_set: settings.llm_api_key_set,
            temperature: settings.temperature,
            max_tokens: settings.max_tokens,
            timeout_seconds: settings.timeout_seconds,
            monthly_token_budget: settings.monthly_token_budget,
            monthly_cost_budget: settings.monthly_cost_budget,
            price_per_million_input_tokens: settings.price_per_million_input_tokens,
            price_per_million_output_tokens: settings.price_per_million_output_tokens,
            source,
            effective_base_url: effective.as_ref().map(|config| config.base_url.clone()),
            effective_model: effective.map(|config| config.model),
            updated_at: settings.updated_at,
        }
    }
}

fn drafting_out(settings: DraftSettings) -> DraftingSettingsOut {
    DraftingSettingsOut {
        persona: settings.persona,
        tone: settings.tone,
        signature: settings.signature,
        redact_pii: settings.redact_pii,
        auto_draft: settings.auto_draft,
        auto_translate: settings.auto_translate,
        default_language: settings.default_language,
        agent_language: settings.agent_language,
        summary_min_messages: settings.summary_min_messages,
        updated_at: settings.updated_at,
    }
}

#[OpenApi(tag = "Tag::Settings")]
impl SettingsApi {
    /// The tenant's LLM settings and the LLM in effect (people only, not integration keys).
    #[oai(path = "/settings/llm", method = "get", operation_id = "settings.llm.get")]
    async fn get_llm(&self, auth: TenantAuth) -> ApiResult<Json<LlmSettingsOut>> {
        auth.0.principal.require_human_role()?;
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(self.llm_out(draft_settings::get(&tx).await?)))
    }

    /// Replace the tenant's LLM settings (admins only). The key is encrypted at rest and never returned.
    #[oai(path = "/settings/llm", method = "put", operation_id = "settings.llm.put")]
    async fn put_llm(&self, auth: TenantAuth, body: JsonBody<LlmSettingsIn>) -> ApiResult<Json<LlmSettingsOut>> {
        let principal = auth.0.principal;
        let body = body.0;
        let update = LlmUpdate {
            base_url: body.base_url,
            model: body.model,
            api_key: key_change(body.api_key),
            temperature: body.temperature,
            max_tokens: body.max_tokens,
            timeout_seconds: body.timeout_seconds,
            monthly_token_budget: body.monthly_token_budget,
            monthly_cost_budget: body.monthly_cost_budget,
            price_per_million_input_tokens: body.price_per_million_input_tokens,
            price_per_million_output_tokens: body.price_per_million_output_tokens,
        };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let settings = draft_settings::put_llm(
            &tx,
            &principal,
            update,
            &self.state.pipeline.sealer,
            self.state.pipeline.settings.tenant_endpoints_allow_private,
        )
        .await?;
        tx.commit().await?;
        Ok(Json(self.llm_out(settings)))
    }

    /// The tenant's model profiles with each one's circuit breaker (people only; keys are never returned).
    #[oai(path = "/settings/llm/profiles", method = "get", operation_id = "settings.llm.profiles.get")]
    async fn get_profiles(&self, auth: TenantAuth) -> ApiResult<Json<LlmProfilesOut>> {
        auth.0.principal.require_human_role()?;
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(self.profiles_out(&tx).await?))
    }

    /// Replace the tenant's named model profiles (admins only). `default` is the tenant's
    /// LLM setting and is changed with `PUT /v1/settings/llm`; a profile a route names
    /// cannot be removed (422 `profile_in_use`).
    #[oai(path = "/settings/llm/profiles", method = "put", operation_id = "settings.llm.profiles.put")]
    async fn put_profiles(&self, auth: TenantAuth, body: JsonBody<LlmProfilesIn>) -> ApiResult<Json<LlmProfilesOut>> {
        let principal = auth.0.principal;
        let updates = body
            .0
            .profiles
            .into_iter()
            .map(|profile| ProfileUpdate {
                name: profile.name,
                base_url: profile.base_url,
                model: profile.model,
                api_key: key_change(profile.api_key),
                temperature: profile.temperature,
                max_tokens: profile.max_tokens,
                timeout_seconds: profile.timeout_seconds,
                prices: Prices {
                    input_per_million: profile.price_per_million_input_tokens,
                    output_per_million: profile.price_per_million_output_tokens,
                },
                supports_json_schema: profile.supports_json_schema,
            })
            .collect();
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let pipeline = &self.state.pipeline;
        profiles::replace(&tx, &principal, updates, &pipeline.sealer, pipeline.settings.tenant_endpoints_allow_private)
            .await?;
        let out = self.profiles_out(&tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// Which profiles each feature tries, in order (people only).
    #[oai(path = "/settings/llm/routes", method = "get", operation_id = "settings.llm.routes.get")]
    async fn get_routes(&self, auth: TenantAuth) -> ApiResult<Json<LlmRoutesOut>> {
        auth.0.principal.require_human_role()?;
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(routes_out(routes::list(&tx).await?)))
    }

    /// Set the profiles the listed features try, in order (admins only). A call moves to
    /// the next profile on a timeout, a connection error, a refused key, a 5xx, a 429 or an
    /// unreadable answer; a profile whose breaker is open is skipped.
    #[oai(path = "/settings/llm/routes", method = "put", operation_id = "settings.llm.routes.put")]
    async fn put_routes(&self, auth: TenantAuth, body: JsonBody<LlmRoutesIn>) -> ApiResult<Json<LlmRoutesOut>> {
        let principal = auth.0.principal;
        let changes = body
            .0
            .routes
            .into_iter()
            .map(|route| Route { feature: route.feature.into(), profiles: route.profiles })
            .collect();
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let routes = routes::replace(&tx, &principal, changes).await?;
        tx.commit().await?;
        Ok(Json(routes_out(routes)))
    }

    /// How the tenant's replies sound, and whether drafts start by themselves (people only).
    #[oai(path = "/settings/drafting", method = "get", operation_id = "settings.drafting.get")]
    async fn get_drafting(&self, auth: TenantAuth) -> ApiResult<Json<DraftingSettingsOut>> {
        auth.0.principal.require_human_role()?;
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(drafting_out(draft_settings::get(&tx).await?)))
    }

    /// Replace the persona, tone, signature and drafting switches (admins only).
    #[oai(path = "/settings/drafting", method = "put", operation_id = "settings.drafting.put")]
    async fn put_drafting(
        &self,
        auth: TenantAuth,
        body: JsonBody<DraftingSettingsIn>,
    ) -> ApiResult<Json<DraftingSettingsOut>> {
        let principal = auth.0.principal;
        let body = body.0;
        let update = StyleUpdate {
            persona: body.persona,
            tone: body.tone,
            signature: body.signature,
            redact_pii: body.redact_pii,
            auto_draft: body.auto_draft,
            auto_translate: body.auto_translate,
            default_language: body.default_language,
            agent_language: body.agent_language,
            summary_min_messages: body.summary_min_messages,
        };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let settings = draft_settings::put_style(&tx, &principal, update).await?;
        tx.commit().await?;
        Ok(Json(drafting_out(settings)))
    }
}
