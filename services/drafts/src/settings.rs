//! A tenant's drafting settings (its own OpenAI-compatible endpoint, model, sealed key,
//! limits and monthly token budget; the persona, tone and signature of its replies;
//! whether personal data is redacted before the LLM; whether drafts start by themselves)
//! and its LLM usage per calendar month. Unset LLM fields fall back to the service's
//! configuration, which the caller applies.

use chrono::{DateTime, Datelike, Utc};
use copilot_core::{
    Error, Principal,
    model::DraftMode,
    values::{KeyChange, bounded_text, endpoint_root, identifier, in_range, language_code, optional_text},
};
use copilot_entities::{draft_settings, llm_usage};
use copilot_store::{Scoped, TenantTx, audit, db_err, sealed::Sealer};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, QueryFilter, Statement};
use serde::{Deserialize, Serialize};

/// The tenant's settings as shown (the key only as "set or not").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftSettings {
    pub llm_base_url: Option<String>,
    pub llm_model: Option<String>,
    pub llm_api_key_set: bool,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub timeout_seconds: Option<i32>,
    /// Tokens (prompt and completion) a month, every feature's calls counted; none means no limit.
    pub monthly_token_budget: Option<i64>,
    /// The month's LLM cost limit, in the currency of the profiles' prices; none means no limit.
    pub monthly_cost_budget: Option<f64>,
    /// What a million prompt tokens of the default LLM cost; unset: its calls are not priced.
    pub price_per_million_input_tokens: Option<f64>,
    /// What a million completion tokens of the default LLM cost.
    pub price_per_million_output_tokens: Option<f64>,
    pub persona: Option<String>,
    pub tone: Option<String>,
    pub signature: Option<String>,
    pub redact_pii: bool,
    pub auto_draft: bool,
    /// Customer messages in another language are translated in the background into every
    /// language the tenant's agents read.
    pub auto_translate: bool,
    /// The language drafts use when the customer's cannot be told (ISO 639-1); English
    /// when unset.
    pub default_language: Option<String>,
    /// The language (ISO 639-1) summaries are written in for agents; English when unset.
    pub agent_language: Option<String>,
    /// From how many messages (internal notes aside) a ticket keeps a summary.
    pub summary_min_messages: i32,
    pub updated_at: Option<DateTime<Utc>>,
}

/// From how many messages a ticket keeps a summary when the tenant set nothing.
pub const SUMMARY_MIN_MESSAGES: i32 = 3;

impl From<Option<draft_settings::Model>> for DraftSettings {
    fn from(row: Option<draft_settings::Model>) -> Self {
        match row {
            None => Self { auto_draft: true, summary_min_messages: SUMMARY_MIN_MESSAGES, ..Self::default() },
            Some(row) => Self {
                llm_base_url: row.llm_base_url,
                llm_model: row.llm_model,
                llm_api_key_set: row.llm_api_key_sealed.is_some(),
                temperature: row.temperature,
                max_tokens: row.max_tokens,
                timeout_seconds: row.timeout_seconds,
                monthly_token_budget: row.monthly_token_budget,
                monthly_cost_budget: row.monthly_cost_budget,
                price_per_million_input_tokens: row.price_input,
                price_per_million_output_tokens: row.price_output,
                persona: row.persona,
                tone: row.tone,
                signature: row.signature,
                redact_pii: row.redact_pii,
                auto_draft: row.auto_draft,
                auto_translate: row.auto_translate,
                default_language: row.default_language,
                agent_language: row.agent_language,
                summary_min_messages: row.summary_min_messages.unwrap_or(SUMMARY_MIN_MESSAGES),
                updated_at: Some(row.updated_at),
            },
        }
    }
}

/// The LLM part of the settings, replaced as a whole (except the key, see [`KeyChange`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LlmUpdate {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key: KeyChange,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub timeout_seconds: Option<i32>,
    pub monthly_token_budget: Option<i64>,
    pub monthly_cost_budget: Option<f64>,
    pub price_per_million_input_tokens: Option<f64>,
    pub price_per_million_output_tokens: Option<f64>,
}

/// How replies sound and when drafts are written, replaced as a whole.
#[derive(Clone, Debug, PartialEq)]
pub struct StyleUpdate {
    pub persona: Option<String>,
    pub tone: Option<String>,
    pub signature: Option<String>,
    pub redact_pii: bool,
    pub auto_draft: bool,
    pub auto_translate: bool,
    pub default_language: Option<String>,
    pub agent_language: Option<String>,
    pub summary_min_messages: Option<i32>,
}

async fn row(tx: &TenantTx) -> Result<Option<draft_settings::Model>, Error> {
    draft_settings::Entity::scoped(tx.tenant()).one(&**tx).await.map_err(db_err)
}

pub async fn get(tx: &TenantTx) -> Result<DraftSettings, Error> {
    row(tx).await.map(DraftSettings::from)
}

/// The tenant's API key, opened, when it set one.
pub async fn api_key(tx: &TenantTx, sealer: &Sealer) -> Result<Option<String>, Error> {
    match row(tx).await?.and_then(|row| row.llm_api_key_sealed) {
        Some(sealed) => sealer.open(tx.tenant(), &sealed).map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn auto_draft(tx: &TenantTx) -> Result<bool, Error> {
    Ok(row(tx).await?.is_none_or(|row| row.auto_draft))
}

/// Replaces the tenant's LLM settings (admins only). The key is sealed before it is stored.
pub async fn put_llm(
    tx: &TenantTx,
    by: &Principal,
    update: LlmUpdate,
    sealer: &Sealer,
    allow_private: bool,
) -> Result<DraftSettings, Error> {
    by.require_admin()?;
    let base_url = endpoint_root("base_url", update.base_url.as_deref(), allow_private)?;
    let model = optional_text("model", update.model.as_deref(), 200)?;
    if base_url.is_some() && model.is_none() {
        return Err(Error::validation("invalid_setting", "`model` is required with `base_url`"));
    }
    in_range("temperature", update.temperature, 0.0, 2.0)?;
    in_range("max_tokens", update.max_tokens, 1, 32_000)?;
    in_range("timeout_seconds", update.timeout_seconds, 1, 600)?;
    in_range("monthly_token_budget", update.monthly_token_budget, 0, i64::MAX)?;
    in_range("monthly_cost_budget", update.monthly_cost_budget, 0.0, 1e12)?;
    in_range("price_per_million_input_tokens", update.price_per_million_input_tokens, 0.0, 1e6)?;
    in_range("price_per_million_output_tokens", update.price_per_million_output_tokens, 0.0, 1e6)?;
    let sealed_key = match &update.api_key {
        KeyChange::Set(key) => Some(Some(sealer.seal(tx.tenant(), &bounded_text("api_key", key, 1, 1000)?)?)),
        KeyChange::Clear => Some(None),
        KeyChange::Keep => None,
    };
    let existing = row(tx).await?;
    let mut change = start_change(tx, existing, by);
    change.llm_base_url = Set(base_url.clone());
    change.llm_model = Set(model);
    if let Some(sealed) = sealed_key {
        change.llm_api_key_sealed = Set(sealed);
    }
    change.temperature = Set(update.temperature);
    change.max_tokens = Set(update.max_tokens);
    change.timeout_seconds = Set(update.timeout_seconds);
    change.monthly_token_budget = Set(update.monthly_token_budget);
    change.monthly_cost_budget = Set(update.monthly_cost_budget);
    change.price_input = Set(update.price_per_million_input_tokens);
    change.price_output = Set(update.price_per_million_output_tokens);
    let settings = save(tx, change).await?;
    audit::record(
        tx,
        by.actor,
        "settings.llm_updated",
        audit::Target { kind: "settings", id: None, label: Some("llm") },
        serde_json::json!({
            "base_url": base_url,
            "model": settings.llm_model,
            "api_key": match update.api_key { KeyChange::Keep => "kept", KeyChange::Clear => "cleared", KeyChange::Set(_) => "replaced" },
            "monthly_token_budget": settings.monthly_token_budget,
            "monthly_cost_budget": settings.monthly_cost_budget,
            "price_per_million_input_tokens": settings.price_per_million_input_tokens,
            "price_per_million_output_tokens": settings.price_per_million_output_tokens,
        }),
    )
    .await?;
    Ok(settings)
}

/// Replaces the tenant's persona, tone, signature and drafting switches (admins only).
pub async fn put_style(tx: &TenantTx, by: &Principal, update: StyleUpdate) -> Result<DraftSettings, Error> {
    by.require_admin()?;
    let existing = row(tx).await?;
    let mut change = start_change(tx, existing, by);
    change.persona = Set(optional_text("persona", update.persona.as_deref(), 2000)?);
    change.tone = Set(optional_text("tone", update.tone.as_deref(), 500)?);
    change.signature = Set(optional_text("signature", update.signature.as_deref(), 1000)?);
    change.redact_pii = Set(update.redact_pii);
    change.auto_draft = Set(update.auto_draft);
    change.auto_translate = Set(update.auto_translate);
    change.default_language = Set(language_code("default_language", update.default_language.as_deref())?);
    change.agent_language = Set(language_code("agent_language", update.agent_language.as_deref())?);
    in_range("summary_min_messages", update.summary_min_messages, 1, 1000)?;
    change.summary_min_messages = Set(update.summary_min_messages);
    let settings = save(tx, change).await?;
    audit::record(
        tx,
        by.actor,
        "settings.drafting_updated",
        audit::Target { kind: "settings", id: None, label: Some("drafting") },
        serde_json::json!({
            "redact_pii": update.redact_pii,
            "auto_draft": update.auto_draft,
            "auto_translate": update.auto_translate,
            "default_language": settings.default_language,
            "agent_language": settings.agent_language,
        }),
    )
    .await?;
    Ok(settings)
}

fn start_change(tx: &TenantTx, existing: Option<draft_settings::Model>, by: &Principal) -> draft_settings::ActiveModel {
    let mut change = match existing {
        Some(row) => row.into(),
        None => draft_settings::ActiveModel {
            tenant_id: Set(tx.tenant().0),
            llm_base_url: Set(None),
            llm_model: Set(None),
            llm_api_key_sealed: Set(None),
            temperature: Set(None),
            max_tokens: Set(None),
            timeout_seconds: Set(None),
            monthly_token_budget: Set(None),
            monthly_cost_budget: Set(None),
            price_input: Set(None),
            price_output: Set(None),
            persona: Set(None),
            tone: Set(None),
            signature: Set(None),
            redact_pii: Set(false),
            auto_draft: Set(true),
            auto_translate: Set(false),
            default_language: Set(None),
            agent_language: Set(None),
            summary_min_messages: Set(None),
            rewrite_tools: Set(None),
            updated_by: Set(None),
            updated_at: Set(copilot_core::now()),
        },
    };
    change.updated_by = Set(by.actor.user_id());
    change.updated_at = Set(copilot_core::now());
    change
}

async fn save(tx: &TenantTx, change: draft_settings::ActiveModel) -> Result<DraftSettings, Error> {
    let saved = if change.tenant_id.is_unchanged() { change.update(&**tx).await } else { change.insert(&**tx).await };
    Ok(DraftSettings::from(Some(saved.map_err(db_err)?)))
}

/// A rewrite tool of the tenant's own, beside the built-in ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewriteTool {
    pub name: String,
    /// What the model is asked to do with the text, e.g. "Use our brand voice: …".
    pub instruction: String,
}

/// The most rewrite tools a tenant keeps.
pub const MAX_REWRITE_TOOLS: usize = 20;

/// The tenant's rewrite tools.
pub async fn rewrite_tools(tx: &TenantTx) -> Result<Vec<RewriteTool>, Error> {
    Ok(row(tx)
        .await?
        .and_then(|row| row.rewrite_tools)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// Replaces the tenant's rewrite tools (admins only). `reserved` are the built-in names.
pub async fn put_rewrite_tools(
    tx: &TenantTx,
    by: &Principal,
    tools: Vec<RewriteTool>,
    reserved: &[&str],
) -> Result<Vec<RewriteTool>, Error> {
    by.require_admin()?;
    if tools.len() > MAX_REWRITE_TOOLS {
        return Err(Error::validation("too_many_tools", format!("at most {MAX_REWRITE_TOOLS} rewrite tools")));
    }
    let mut checked: Vec<RewriteTool> = Vec::with_capacity(tools.len());
    for tool in tools {
        let name = identifier("invalid_tool_name", "tool name", &tool.name)?;
        if reserved.contains(&name.as_str()) {
            return Err(Error::validation("reserved_tool_name", format!("`{name}` is a built-in tool")));
        }
        if checked.iter().any(|known| known.name == name) {
            return Err(Error::validation("duplicate_tool", format!("tool `{name}` is listed twice")));
        }
        let instruction = bounded_text(&format!("tools[{name}].instruction"), &tool.instruction, 1, 1000)?;
        checked.push(RewriteTool { name, instruction });
    }
    let existing = row(tx).await?;
    let mut change = start_change(tx, existing, by);
    change.rewrite_tools = Set(Some(serde_json::to_string(&checked).map_err(Error::internal)?));
    save(tx, change).await?;
    audit::record(
        tx,
        by.actor,
        "settings.rewrite_tools_updated",
        audit::Target { kind: "settings", id: None, label: Some("rewrite_tools") },
        serde_json::json!({ "tools": checked.iter().map(|tool| &tool.name).collect::<Vec<_>>() }),
    )
    .await?;
    Ok(checked)
}

/// A tenant's drafts in one month, by how they were written. Tokens and cost are
/// counted per call, with every other feature's, by the LLM capability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DraftCounts {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub llm_drafts: i32,
    pub extractive_drafts: i32,
}

/// The calendar month (UTC) of a time, as `YYYY-MM`.
pub fn month_of(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", at.year(), at.month())
}

/// Validates a `YYYY-MM` month.
pub fn parse_month(raw: &str) -> Result<String, Error> {
    let valid = raw.len() == 7
        && raw.as_bytes()[4] == b'-'
        && raw[..4].parse::<u32>().is_ok()
        && raw[5..].parse::<u32>().is_ok_and(|month| (1..=12).contains(&month));
    if valid { Ok(raw.to_owned()) } else { Err(Error::validation("invalid_month", "`month` must look like 2026-12")) }
}

pub async fn draft_counts(tx: &TenantTx, month: &str) -> Result<DraftCounts, Error> {
    let row = llm_usage::Entity::scoped(tx.tenant())
        .filter(llm_usage::Column::Month.eq(month))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(DraftCounts {
        month: month.to_owned(),
        llm_drafts: row.as_ref().map_or(0, |row| row.llm_drafts),
        extractive_drafts: row.as_ref().map_or(0, |row| row.extractive_drafts),
    })
}

/// Counts a written draft in this month's drafts (one upsert, safe under concurrency).
pub(crate) async fn count_draft(tx: &TenantTx, mode: DraftMode) -> Result<(), Error> {
    let now = copilot_core::now();
    let (llm, extractive) = match mode {
        DraftMode::Llm => (1, 0),
        DraftMode::Extractive => (0, 1),
    };
    let statement = Statement::from_sql_and_values(
        tx.get_database_backend(),
        "INSERT INTO llm_usage (tenant_id, month, llm_drafts, extractive_drafts, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, month) DO UPDATE SET
             llm_drafts = llm_usage.llm_drafts + excluded.llm_drafts,
             extractive_drafts = llm_usage.extractive_drafts + excluded.extractive_drafts,
             updated_at = excluded.updated_at",
        [tx.tenant().0.into(), month_of(now).into(), llm.into(), extractive.into(), now.into()],
    );
    tx.execute_raw(statement).await.map_err(db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_year_dash_month() {
        assert!(parse_month("2026-12").is_ok());
        for bad in ["2026-13", "2026-1", "26-12-01", "abcd-ef"] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
    }
}
