//! The tenant's drafting settings: its LLM endpoint (the key is write-only) and how its
//! replies sound. Admins change them; every member may read them.

use chrono::{DateTime, Utc};
use copilot_core::values::KeyChange;
use copilot_drafts::settings::{self as draft_settings, DraftSettings, LlmUpdate, StyleUpdate};
use poem_openapi::{Enum, Object, OpenApi, payload::Json, types::MaybeUndefined};

use super::Tag;
use copilot_pipeline::drafting::llm_config;

use crate::{AppState, auth::TenantAuth, error::ApiResult, json_body::JsonBody};

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
    /// Prompt and completion tokens a calendar month; absent: no limit. Over it, drafts are extractive.
    pub monthly_token_budget: Option<i64>,
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
    /// The language (ISO 639-1) drafts are written in when the customer's cannot be told
    /// (a word or two, an emoji); English when absent.
    pub default_language: Option<String>,
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
    /// A two-letter ISO 639-1 code (`en`, `zh`, `de`, …); absent, null or blank: English.
    pub default_language: Option<String>,
}

fn default_true() -> bool {
    true
}

impl SettingsApi {
    fn llm_out(&self, settings: DraftSettings) -> LlmSettingsOut {
        // The key's value does not change which endpoint is used: a placeholder will do.
        let key = settings.llm_api_key_set.then(String::new);
        let effective = llm_config(&self.state.pipeline.settings, &settings, key);
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
        default_language: settings.default_language,
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
            api_key: match body.api_key {
                MaybeUndefined::Undefined => KeyChange::Keep,
                MaybeUndefined::Null => KeyChange::Clear,
                MaybeUndefined::Value(key) => KeyChange::Set(key),
            },
            temperature: body.temperature,
            max_tokens: body.max_tokens,
            timeout_seconds: body.timeout_seconds,
            monthly_token_budget: body.monthly_token_budget,
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
            default_language: body.default_language,
        };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let settings = draft_settings::put_style(&tx, &principal, update).await?;
        tx.commit().await?;
        Ok(Json(drafting_out(settings)))
    }
}
