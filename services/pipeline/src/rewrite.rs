//! Rewriting an agent's text with the `rewrite` route's LLM: a built-in tool or one of the
//! tenant's, in the text's language or another. The result goes back to the agent only,
//! never to a customer by itself, and only when every fact of the text survived.

use copilot_core::{Error, Principal, TenantId, ids::TicketId, model::LlmFeature};
use copilot_drafting::{
    PromptMessage,
    redact::Redactions,
    rewrite::{BUILT_IN, built_in, missing_facts, read_rewrite, rewrite_prompt},
};
use copilot_drafts::settings as draft_settings;

use crate::{Pipeline, llm};

/// The longest text rewritten, in characters.
pub const MAX_CHARS: usize = 10_000;

/// What to rewrite and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewriteRequest {
    pub text: String,
    pub tool: String,
    /// The ticket the text answers (checked to be the tenant's).
    pub ticket: Option<TicketId>,
    /// The language of the result (ISO 639-1); the text's own when absent.
    pub language: Option<String>,
}

/// The rewritten text and who wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    pub text: String,
    pub tool: String,
    pub model: String,
    pub llm_profile: String,
}

/// The names of the built-in tools.
pub fn built_in_tools() -> Vec<&'static str> {
    BUILT_IN.iter().map(|(name, _)| *name).collect()
}

/// A rewrite checked and ready to call the LLM.
pub struct Prepared {
    tenant: TenantId,
    request: RewriteRequest,
    redact_pii: bool,
    plan: llm::Plan,
    prompt: Vec<PromptMessage>,
    redactions: Redactions,
}

/// Rewrites a text and waits for the result.
pub async fn rewrite(state: &Pipeline, by: &Principal, request: RewriteRequest) -> Result<Rewritten, Error> {
    run(state, prepare(state, by, request).await?, |_| {}, |_| {}).await
}

/// Checks the request (text, tool, ticket, language, an LLM to call) without calling it.
pub async fn prepare(state: &Pipeline, by: &Principal, request: RewriteRequest) -> Result<Prepared, Error> {
    let length = request.text.trim().chars().count();
    if length == 0 {
        return Err(Error::validation("validation_failed", "`text` must not be empty"));
    }
    if length > MAX_CHARS {
        return Err(Error::TooLarge {
            code: "text_too_long",
            detail: format!("`text` has {length} characters; at most {MAX_CHARS} are rewritten"),
        });
    }
    let language = copilot_core::values::language_code("language", request.language.as_deref())?;
    let tenant = by.tenant_id;
    let (instruction, settings, plan) = {
        let tx = state.db.tenant(tenant).await?;
        if let Some(ticket) = request.ticket {
            copilot_conversations::get(&tx, ticket).await?;
        }
        let instruction = match built_in(&request.tool) {
            Some(instruction) => instruction.to_owned(),
            None => draft_settings::rewrite_tools(&tx)
                .await?
                .into_iter()
                .find(|tool| tool.name == request.tool)
                .map(|tool| tool.instruction)
                .ok_or_else(|| {
                    Error::unprocessable(
                        "unknown_tool",
                        format!(
                            "no rewrite tool is named `{}` (built in: {})",
                            request.tool,
                            built_in_tools().join(", ")
                        ),
                    )
                })?,
        };
        let settings = draft_settings::get(&tx).await?;
        let plan = llm::plan(state, &tx, &settings, LlmFeature::Rewrite).await?;
        (instruction, settings, plan)
    };
    if plan.candidates.is_empty() {
        return Err(Error::conflict("llm_not_configured", "rewriting needs an LLM: none is configured for `rewrite`"));
    }
    if plan.budget_exhausted {
        return Err(Error::conflict("budget_exhausted", "this month's LLM budget is spent"));
    }
    let mut redactions = Redactions::default();
    let sent = if settings.redact_pii { redactions.redact(&request.text) } else { request.text.clone() };
    let prompt = rewrite_prompt(&sent, &instruction, language.as_deref());
    Ok(Prepared { tenant, request, redact_pii: settings.redact_pii, plan, prompt, redactions })
}

/// Calls the LLM for a prepared rewrite and checks its facts. `on_attempt` runs before
/// each profile is tried (text streamed so far is then void); `on_text` gets the answer as
/// it streams (a preview: only the result returned passed the check).
pub async fn run(
    state: &Pipeline,
    prepared: Prepared,
    on_attempt: impl FnMut(&str),
    mut on_text: impl FnMut(&str) + Send,
) -> Result<Rewritten, Error> {
    let Prepared { tenant, request, redact_pii, plan, prompt, redactions } = prepared;
    let preview = |text: &str| on_text(&if redact_pii { redactions.restore(text) } else { text.to_owned() });
    let answered =
        llm::call(state, tenant, &plan, &prompt, on_attempt, preview, read_rewrite).await.map_err(|failure| {
            Error::Unavailable {
                detail: format!("the LLM could not rewrite the text: {}", failure.message),
                retry_after_seconds: 5,
            }
        })?;
    let text = redactions.restore(&answered.read);
    let missing = missing_facts(&request.text, &text);
    if !missing.is_empty() {
        return Err(Error::unprocessable(
            "rewrite_altered_facts",
            format!("the rewrite dropped or changed {}; keep the original", missing.join(", ")),
        ));
    }
    Ok(Rewritten { text, tool: request.tool, model: answered.completion.model, llm_profile: answered.profile })
}
