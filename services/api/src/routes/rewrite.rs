//! Rewriting an agent's text before they send it, the tenant's own rewrite tools, and
//! translating any text.

use copilot_core::ids::TicketId;
use copilot_drafts::settings::{self as draft_settings, RewriteTool};
use std::time::Duration;

use copilot_pipeline::{
    rewrite::{self, RewriteRequest, Rewritten},
    translation,
};
use futures::{StreamExt, stream::BoxStream};
use poem::web::sse::Event;
use poem_openapi::{
    Object, OpenApi,
    payload::{EventStream, Json},
    types::ToJSON,
};
use uuid::Uuid;

use super::Tag;
use crate::{
    AppState,
    auth::TenantAuth,
    error::{ApiResult, ErrorBody},
    json_body::JsonBody,
};

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

impl From<RewriteIn> for RewriteRequest {
    fn from(body: RewriteIn) -> Self {
        Self { text: body.text, tool: body.tool, ticket: body.ticket_id.map(TicketId), language: body.language }
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum RewriteStreamEventKind {
    Text,
    Restart,
    Done,
    Error,
}

/// One event of a streamed rewrite.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RewriteStreamEvent {
    #[oai(rename = "type")]
    pub kind: RewriteStreamEventKind,
    /// `text`: the next piece of the answer.
    pub text: Option<String>,
    /// `done`: the checked rewrite.
    pub result: Option<RewriteOut>,
    /// `error`: why there is no rewrite (the original stands).
    pub error: Option<ErrorBody>,
}

impl RewriteStreamEvent {
    fn of(kind: RewriteStreamEventKind) -> Self {
        Self { kind, text: None, result: None, error: None }
    }

    fn text(text: &str) -> Self {
        Self { text: Some(text.to_owned()), ..Self::of(RewriteStreamEventKind::Text) }
    }

    fn restart() -> Self {
        Self::of(RewriteStreamEventKind::Restart)
    }

    fn done(rewritten: Rewritten) -> Self {
        Self { result: Some(rewritten.into()), ..Self::of(RewriteStreamEventKind::Done) }
    }

    fn error(error: copilot_core::Error) -> Self {
        let code = error.code().to_owned();
        let detail = match error {
            copilot_core::Error::Internal(source) => {
                tracing::error!(error = %source, "a streamed rewrite failed");
                crate::error::INTERNAL_DETAIL.to_owned()
            }
            error => error.to_string(),
        };
        Self { error: Some(ErrorBody { code, detail }), ..Self::of(RewriteStreamEventKind::Error) }
    }
}

impl From<Rewritten> for RewriteOut {
    fn from(rewritten: Rewritten) -> Self {
        Self { text: rewritten.text, tool: rewritten.tool, model: rewritten.model, llm_profile: rewritten.llm_profile }
    }
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
        let rewritten = rewrite::rewrite(&self.state.pipeline, &auth.0.principal, body.0.into()).await?;
        Ok(Json(rewritten.into()))
    }

    /// Rewrite a text as `POST /v1/rewrite` does, streamed as
    /// server-sent events: `text` events while the model writes (a preview), `restart` when
    /// another model profile starts over, then one `done` event with the checked result, or
    /// one `error` event `{code, detail}` (e.g. `rewrite_altered_facts`: keep the original).
    /// Bad input, an unknown tool or no LLM are answered before the stream opens.
    #[oai(path = "/rewrite/stream", method = "post", operation_id = "rewrite.stream")]
    async fn rewrite_stream(
        &self,
        auth: TenantAuth,
        body: JsonBody<RewriteIn>,
    ) -> ApiResult<EventStream<BoxStream<'static, RewriteStreamEvent>>> {
        let request = body.0.into();
        let pipeline = self.state.pipeline.clone();
        let prepared = rewrite::prepare(&pipeline, &auth.0.principal, request).await?;
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let started = sender.clone();
            let texts = sender.clone();
            let mut attempts = 0;
            let outcome = rewrite::run(
                &pipeline,
                prepared,
                move |_| {
                    attempts += 1;
                    if attempts > 1 {
                        let _ = started.send(RewriteStreamEvent::restart());
                    }
                },
                move |text| {
                    let _ = texts.send(RewriteStreamEvent::text(text));
                },
            )
            .await;
            let last = match outcome {
                Ok(rewritten) => RewriteStreamEvent::done(rewritten),
                Err(error) => RewriteStreamEvent::error(error),
            };
            let _ = sender.send(last);
        });
        let events = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|event| (event, receiver))
        })
        .boxed();
        Ok(EventStream::new(events).keep_alive(Duration::from_secs(15)).to_event(|event: RewriteStreamEvent| {
            let kind = match event.kind {
                RewriteStreamEventKind::Text => "text",
                RewriteStreamEventKind::Restart => "restart",
                RewriteStreamEventKind::Done => "done",
                RewriteStreamEventKind::Error => "error",
            };
            Event::message(event.to_json_string()).event_type(kind)
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
