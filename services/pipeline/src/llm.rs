//! LLM calls by feature: the tenant's route names the profiles to try in order; a call
//! skips a profile whose breaker is open, moves on after a timeout, a connection error,
//! a refused key, a 5xx, a 429 or an answer the feature cannot read, and records every
//! attempt (tokens, cost, outcome) and each profile's breaker in the database, so that
//! every process sees the same state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, TenantId,
    breaker::{Admission, BreakerPolicy},
    model::LlmFeature,
    settings::Settings,
};
use copilot_drafting::{Completion, LlmConfig, PromptMessage, ResponseSchema};
use copilot_drafts::settings::{self as draft_settings, DraftSettings};
use copilot_llm::{
    DEFAULT_PROFILE, health,
    profiles::{self, Prices},
    routes,
    usage::{self, Budget, Call},
};
use copilot_store::TenantTx;

use crate::Pipeline;

/// How long a probe may hold a half-open breaker beyond its own timeout.
const PROBE_GRACE: Duration = Duration::from_secs(10);

/// One profile a call may try.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub profile: String,
    pub config: LlmConfig,
    pub prices: Prices,
    pub admission: Admission,
    /// The endpoint takes `response_format: json_schema`.
    pub json_schema: bool,
}

/// What a feature's call will try, read in one transaction.
#[derive(Clone, Debug)]
pub struct Plan {
    pub feature: LlmFeature,
    /// The route's profiles that are configured, in order.
    pub candidates: Vec<Candidate>,
    /// The month's token or cost budget is spent: no call is made.
    pub budget_exhausted: bool,
    /// The schema answers must follow, sent to the profiles that take one.
    pub schema: Option<ResponseSchema>,
}

impl Plan {
    /// The plan with answers held to `schema` where a profile takes one (the answer is
    /// still read and checked by the feature's reader).
    pub fn with_schema(self, schema: ResponseSchema) -> Self {
        Self { schema: Some(schema), ..self }
    }

    /// Whether an LLM may be called at all.
    pub fn callable(&self) -> bool {
        !self.candidates.is_empty() && !self.budget_exhausted
    }
}

/// The LLM of the default profile: the tenant's endpoint, else the service's, with the
/// tenant's overrides; none when neither is configured.
pub fn default_config(global: &Settings, tenant: &DraftSettings, tenant_key: Option<String>) -> Option<LlmConfig> {
    let (base_url, api_key, model, allow_private) = match &tenant.llm_base_url {
        Some(url) => (url.clone(), tenant_key, tenant.llm_model.clone()?, global.tenant_endpoints_allow_private),
        None => {
            let (url, key, model) = global.default_llm()?;
            (
                url.to_owned(),
                tenant_key.or(key.map(str::to_owned)),
                tenant.llm_model.clone().unwrap_or(model.to_owned()),
                true,
            )
        }
    };
    Some(LlmConfig {
        base_url,
        api_key,
        model,
        temperature: tenant.temperature.map_or(global.llm_temperature, |t| t as f32),
        max_tokens: tenant.max_tokens.map_or(global.llm_max_tokens, |t| t.max(1) as u32),
        timeout: seconds(tenant.timeout_seconds, global.llm_timeout_seconds),
        allow_private,
        response_schema: None,
    })
}

fn seconds(tenant: Option<i32>, global: u32) -> Duration {
    Duration::from_secs(u64::from(tenant.map_or(global, |t| t.max(1) as u32)))
}

/// A profile as the settings show it: the `default` one (when an LLM is configured) is
/// made from the drafting settings and the service's configuration.
#[derive(Clone, Debug)]
pub struct ShownProfile {
    pub profile: profiles::Profile,
    pub health: health::Health,
    pub default: bool,
    /// When the admin last changed it (never, for the service's own default).
    pub updated_at: Option<chrono::DateTime<Utc>>,
}

/// The default profile's prices, from the drafting settings.
fn default_prices(settings: &DraftSettings) -> Prices {
    Prices {
        input_per_million: settings.price_per_million_input_tokens,
        output_per_million: settings.price_per_million_output_tokens,
    }
}

/// The default profile (when an LLM is configured), then the named ones, with health.
pub async fn shown_profiles(state: &Pipeline, tx: &TenantTx) -> Result<Vec<ShownProfile>, Error> {
    let settings = draft_settings::get(tx).await?;
    let mut health = health::all(tx).await?;
    let mut shown = Vec::new();
    // The key's value does not change which endpoint is used: a placeholder will do.
    let key = settings.llm_api_key_set.then(String::new);
    if let Some(config) = default_config(&state.settings, &settings, key) {
        let profile = profiles::Profile {
            name: DEFAULT_PROFILE.to_owned(),
            base_url: config.base_url,
            model: config.model,
            api_key_set: config.api_key.is_some(),
            temperature: settings.temperature,
            max_tokens: settings.max_tokens,
            timeout_seconds: settings.timeout_seconds,
            prices: default_prices(&settings),
            supports_json_schema: false,
            updated_at: settings.updated_at.unwrap_or_default(),
        };
        let health = health.remove(DEFAULT_PROFILE).unwrap_or_default();
        shown.push(ShownProfile { profile, health, default: true, updated_at: settings.updated_at });
    }
    for profile in profiles::list(tx).await? {
        let health = health.remove(&profile.name).unwrap_or_default();
        let updated_at = Some(profile.updated_at);
        shown.push(ShownProfile { profile, health, default: false, updated_at });
    }
    Ok(shown)
}

/// Reads what a call of `feature` will try, with the caller's transaction and the
/// tenant's drafting settings (its default LLM and budgets), which the caller has read.
pub async fn plan(
    state: &Pipeline,
    tx: &TenantTx,
    settings: &DraftSettings,
    feature: LlmFeature,
) -> Result<Plan, Error> {
    let global = &state.settings;
    let route = routes::of(tx, feature).await?;
    let mut named = profiles::with_keys(tx, &state.sealer, &route).await?;
    let health = health::all(tx).await?;
    let now = copilot_core::now();
    let mut candidates = Vec::with_capacity(route.len());
    for name in route {
        let (config, prices, json_schema) = if name == DEFAULT_PROFILE {
            let key = draft_settings::api_key(tx, &state.sealer).await?;
            match default_config(global, settings, key) {
                Some(config) => (config, default_prices(settings), false),
                None => continue,
            }
        } else {
            let Some(found) = named.iter().position(|(profile, _)| profile.name == name) else { continue };
            let (profile, api_key) = named.swap_remove(found);
            let config = LlmConfig {
                base_url: profile.base_url,
                api_key,
                model: profile.model,
                temperature: profile.temperature.map_or(global.llm_temperature, |t| t as f32),
                max_tokens: profile.max_tokens.map_or(global.llm_max_tokens, |t| t.max(1) as u32),
                timeout: seconds(profile.timeout_seconds, global.llm_timeout_seconds),
                allow_private: global.tenant_endpoints_allow_private,
                response_schema: None,
            };
            (config, profile.prices, profile.supports_json_schema)
        };
        let admission = health.get(&name).map_or(Admission::Call, |health| health.breaker.admit(now));
        candidates.push(Candidate { profile: name, config, prices, admission, json_schema });
    }
    let spent = usage::month(tx, &draft_settings::month_of(now)).await?;
    let budget = Budget { tokens: settings.monthly_token_budget, cost: settings.monthly_cost_budget };
    let budget_exhausted = budget.exhausted_by(&spent);
    Ok(Plan { feature, candidates, budget_exhausted, schema: None })
}

/// A call's answer, as the feature read it, and the profile that gave it.
#[derive(Debug)]
pub struct Answered<T> {
    pub read: T,
    pub completion: Completion,
    pub profile: String,
}

/// Why no profile answered: every attempt's reason, and whether a later call may succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    pub message: String,
    pub retryable: bool,
    /// Nothing was called because every profile's breaker is open: a retry before then
    /// would be skipped again.
    pub wait_until: Option<DateTime<Utc>>,
}

impl CallFailure {
    /// How long a queued job waits before it tries again after its `failures`-th failure in
    /// a row under `policy`: until the first paused profile reopens, or the policy's wait for
    /// a failure worth retrying; none when it should not try again.
    pub fn retry_in(&self, policy: &copilot_core::retry::Backoff, failures: u32) -> Option<chrono::Duration> {
        match self.wait_until {
            Some(until) => Some((until - copilot_core::now()).max(chrono::Duration::zero())),
            None if self.retryable => {
                policy.after_failure(failures).and_then(|wait| chrono::Duration::from_std(wait).ok())
            }
            None => None,
        }
    }
}

/// Calls the plan's profiles in order until one gives an answer that `read` accepts.
/// `on_attempt` runs before each attempt (a stream's text so far is then discarded);
/// `on_text` gets the answer as it streams.
pub async fn call<T>(
    state: &Pipeline,
    tenant: TenantId,
    plan: &Plan,
    messages: &[PromptMessage],
    mut on_attempt: impl FnMut(&str),
    mut on_text: impl FnMut(&str) + Send,
    read: impl Fn(&str) -> Result<T, String>,
) -> Result<Answered<T>, CallFailure> {
    let policy = state.settings.breaker_policy();
    let mut reasons = Vec::new();
    let mut retryable = false;
    let mut attempted = false;
    // When the first skipped profile may be tried again.
    let mut reopens: Option<DateTime<Utc>> = None;
    let mut skipped = |until: DateTime<Utc>| reopens = Some(reopens.map_or(until, |known| known.min(until)));
    for candidate in &plan.candidates {
        let profile = candidate.profile.as_str();
        match candidate.admission {
            Admission::Call => {}
            Admission::Probe => {
                let claimed = claim_probe(state, tenant, profile, candidate.config.timeout + PROBE_GRACE).await;
                if !claimed.map_err(|error| failure(&error.to_string(), true))? {
                    reasons.push(format!("`{profile}` is being probed by another worker"));
                    skipped(copilot_core::now() + chrono::TimeDelta::seconds(1));
                    retryable = true;
                    continue;
                }
            }
            Admission::Skip { until } => {
                reasons.push(format!(
                    "`{profile}` is paused until {} (its endpoint kept failing)",
                    until.format("%H:%M:%S UTC")
                ));
                skipped(until);
                retryable = true;
                continue;
            }
        }
        attempted = true;
        on_attempt(profile);
        let started = std::time::Instant::now();
        let result = match plan.schema.clone().filter(|_| candidate.json_schema) {
            Some(schema) => {
                let config = LlmConfig { response_schema: Some(schema), ..candidate.config.clone() };
                state.llm.complete(&config, messages, &mut on_text).await
            }
            None => state.llm.complete(&candidate.config, messages, &mut on_text).await,
        };
        let took = started.elapsed();
        let outcome = match result {
            Ok(completion) => match read(&completion.text) {
                Ok(read) => Ok((read, completion)),
                Err(why) => Err((format!("the answer could not be used: {why}"), true, Some(completion))),
            },
            Err(error) => Err((error.to_string(), error.is_retryable(), None)),
        };
        let (spent, model) = match &outcome {
            Ok((_, completion)) | Err((_, _, Some(completion))) => (completion.usage, completion.model.as_str()),
            Err((_, _, None)) => (Default::default(), candidate.config.model.as_str()),
        };
        state.telemetry.llm_called(model, outcome.is_ok(), took, spent.prompt_tokens, spent.completion_tokens);
        let call = Call {
            feature: plan.feature,
            profile,
            answered: outcome.is_ok(),
            prompt_tokens: spent.prompt_tokens,
            completion_tokens: spent.completion_tokens,
            cost_micros: candidate.prices.cost_micros(spent.prompt_tokens, spent.completion_tokens),
        };
        let health_outcome = match &outcome {
            Ok(_) => health::Outcome::Answered,
            Err((message, _, _)) => health::Outcome::Failed(message),
        };
        record(state, tenant, call, health_outcome, &policy)
            .await
            .map_err(|error| failure(&error.to_string(), true))?;
        match outcome {
            Ok((read, completion)) => return Ok(Answered { read, completion, profile: profile.to_owned() }),
            Err((message, can_retry, _)) => {
                tracing::warn!(%tenant, feature = %plan.feature, profile, error = %message, "an LLM profile failed");
                reasons.push(format!("`{profile}`: {message}"));
                retryable |= can_retry;
            }
        }
    }
    if reasons.is_empty() {
        return Err(failure(&format!("no LLM is configured for `{}`", plan.feature), false));
    }
    Err(CallFailure { wait_until: reopens.filter(|_| !attempted), ..failure(&reasons.join("; "), retryable) })
}

fn failure(message: &str, retryable: bool) -> CallFailure {
    CallFailure { message: message.to_owned(), retryable, wait_until: None }
}

async fn claim_probe(state: &Pipeline, tenant: TenantId, profile: &str, deadline: Duration) -> Result<bool, Error> {
    let tx = state.db.tenant(tenant).await?;
    let claimed = health::claim_probe(&tx, profile, deadline).await?;
    tx.commit().await?;
    Ok(claimed)
}

async fn record(
    state: &Pipeline,
    tenant: TenantId,
    call: Call<'_>,
    outcome: health::Outcome<'_>,
    policy: &BreakerPolicy,
) -> Result<(), Error> {
    let tx = state.db.tenant(tenant).await?;
    usage::record(&tx, call).await?;
    health::record(&tx, call.profile, outcome, policy).await?;
    tx.commit().await
}
