//! Rewriting an agent's text before they send it, the tenant's own rewrite tools, and
//! translating any text.

use copilot_core::ids::TicketId;
use copilot_drafts::settings::{self as draft_settings, RewriteTool};
use copilot_pipeline::{
    rewrite::{self, RewriteRequest},
    translation,
};
use poem_openapi::{Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::Tag;
use crate::{AppState, auth::TenantAuth, error::ApiResult, json_body::JsonBody};

pub struct RewriteApi {
    pub state: AppState,
}

#[derive(Debug, Object)]
pub struct TranslateIn {
    /// At most 20,000 characters.
    pub text: String,
    /// ISO 639-1 code of the language to translate into.
    pub to: String,
    /// ISO 639-1 code of the text's language; detected when absent.
    pub from: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TranslateOut {
    pub text: String,
    /// The text's language, given or detected (`und` when it cannot be told).
    pub from: String,
    pub to: String,
    /// Absent when the text was already in `to` (no LLM was called).
    pub model: Option<String>,
    pub llm_profile: Option<String>,
}

#[derive(Debug, Object)]
pub struct RewriteIn {
    /// At most 10,000 characters.
    pub text: String,
    /// A built-in tool (`shorter`, `friendlier`, `more_formal`, `fix_grammar`, `expand`,
    /// `simplify`) or one of the tenant's (`GET /v1/settings/rewrite-tools`).
    pub tool: String,
    /// The ticket the text answers, if any.
    pub ticket_id: Option<Uuid>,
    /// The language of the result (ISO 639-1); absent: the text's own.
    pub language: Option<String>,
}

/// A rewritten text, for the agent to use or not; nothing is sent.
#[derive(Debug, Object)]
pub struct RewriteOut {
    pub text: String,
    pub tool: String,
    pub model: String,
    /// The model profile that answered.
    pub llm_profile: String,
}

#[derive(Debug, Object)]
pub struct RewriteToolBody {
    /// 1–64 lower-case letters, digits, `-` or `_`; not a built-in tool's name.
    pub name: String,
    /// What the model is asked to do with the text (at most 1,000 characters).
    pub instruction: String,
}

#[derive(Debug, Object)]
pub struct RewriteToolsOut {
    /// The built-in tools' names.
    pub built_in: Vec<String>,
    /// The tenant's own tools.
    pub tools: Vec<RewriteToolBody>,
}

#[derive(Debug, Object)]
pub struct RewriteToolsIn {
    /// The whole list (at most 20); a tool left out is removed.
    pub tools: Vec<RewriteToolBody>,
}

fn tools_out(tools: Vec<RewriteTool>) -> RewriteToolsOut {
    RewriteToolsOut {
        built_in: rewrite::built_in_tools().into_iter().map(str::to_owned).collect(),
        tools: tools
            .into_iter()
            .map(|tool| RewriteToolBody { name: tool.name, instruction: tool.instruction })
            .collect(),
    }
}

#[OpenApi(tag = "Tag::Drafts")]
impl RewriteApi {
    /// Translate a text with the `translate` route's LLM. Without an LLM: 409
    /// `llm_not_configured`; a text already in `to` comes back as it is.
    #[oai(path = "/translate", method = "post", operation_id = "translate")]
    async fn translate(&self, auth: TenantAuth, body: JsonBody<TranslateIn>) -> ApiResult<Json<TranslateOut>> {
        let body = body.0;
        let tenant = auth.0.principal.tenant_id;
        let translated =
            translation::translate(&self.state.pipeline, tenant, &body.text, &body.to, body.from.as_deref()).await?;
        Ok(Json(TranslateOut {
            text: translated.text,
            from: translated.from,
            to: translated.to,
            model: translated.model,
            llm_profile: translated.llm_profile,
        }))
    }

    /// Rewrite a text with a tool (shorter, friendlier, …) through the `rewrite` route's
    /// LLM. Citation markers, `{{placeholders}}`, links, e-mail addresses, order numbers and
    /// amounts must survive: a rewrite that drops or changes one is refused (422
    /// `rewrite_altered_facts`). Without an LLM: 409 `llm_not_configured`.
    #[oai(path = "/rewrite", method = "post", operation_id = "rewrite")]
    async fn rewrite(&self, auth: TenantAuth, body: JsonBody<RewriteIn>) -> ApiResult<Json<RewriteOut>> {
        let body = body.0;
        let request = RewriteRequest {
            text: body.text,
            tool: body.tool,
            ticket: body.ticket_id.map(TicketId),
            language: body.language,
        };
        let rewritten = rewrite::rewrite(&self.state.pipeline, &auth.0.principal, request).await?;
        Ok(Json(RewriteOut {
            text: rewritten.text,
            tool: rewritten.tool,
            model: rewritten.model,
            llm_profile: rewritten.llm_profile,
        }))
    }

    /// The rewrite tools: the built-in ones and the tenant's own.
    #[oai(path = "/settings/rewrite-tools", method = "get", operation_id = "settings.rewrite_tools.get")]
    async fn get_tools(&self, auth: TenantAuth) -> ApiResult<Json<RewriteToolsOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(tools_out(draft_settings::rewrite_tools(&tx).await?)))
    }

    /// Replace the tenant's own rewrite tools (admins only).
    #[oai(path = "/settings/rewrite-tools", method = "put", operation_id = "settings.rewrite_tools.put")]
    async fn put_tools(&self, auth: TenantAuth, body: JsonBody<RewriteToolsIn>) -> ApiResult<Json<RewriteToolsOut>> {
        let principal = auth.0.principal;
        let tools = body
            .0
            .tools
            .into_iter()
            .map(|tool| RewriteTool { name: tool.name, instruction: tool.instruction })
            .collect();
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let saved = draft_settings::put_rewrite_tools(&tx, &principal, tools, &rewrite::built_in_tools()).await?;
        tx.commit().await?;
        Ok(Json(tools_out(saved)))
    }
}
