//! Questions about the tenant's desk in words. The `ask` route's LLM turns the question
//! into a typed query from the question, the catalogue and today's date alone (never a
//! ticket's text, so no customer can steer it); the query is checked against the
//! catalogue (one repair turn with the reason when it fails), its relative dates resolved
//! in the asker's time zone, run read-only in the tenant's scope, charted by its shape and
//! stated in a sentence written from the rows alone, whose every number is checked
//! against them (a plain template sentence replaces one that fails).

use copilot_analytics::{
    self as analytics, Query,
    answer::{self, Chart},
};
use copilot_core::{Error, Principal, model::LlmFeature};
use copilot_drafting::{
    ResponseSchema,
    ask::{
        MAX_QUESTION_CHARS, Planned, Setting, plan_prompt, plan_schema, read_plan, read_sentence, repair_prompt,
        sentence_prompt,
    },
};
use copilot_drafts::settings as draft_settings;
use copilot_store::audit;
use serde_json::Value;

use crate::{Pipeline, llm};

/// A question and the time zone its dates are meant in (UTC when absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AskRequest {
    pub question: String,
    pub time_zone: Option<String>,
}

/// Who wrote the sentence of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stated {
    /// The LLM, and every number it states is in the rows.
    Model,
    /// The template: the LLM's sentence stated a number the rows do not hold, or it failed.
    Template,
}

/// A question answered.
#[derive(Clone, Debug)]
pub struct Asked {
    /// The query as the LLM wrote it: relative dates kept (what a saved card stores).
    pub planned: Query,
    /// The query as run: relative dates resolved to times in the asker's time zone.
    pub query: Query,
    pub answer: analytics::Answer,
    pub chart: Chart,
    pub sentence: String,
    pub stated: Stated,
    pub model: String,
    pub llm_profile: String,
}

/// Answers a question from the tenant's own rows. A question answered, refused or not
/// understood goes to the audit log with the query that ran.
pub async fn ask(state: &Pipeline, by: &Principal, request: AskRequest) -> Result<Asked, Error> {
    let asked = answer_question(state, by, &request).await;
    let outcome = match &asked {
        Ok(asked) => serde_json::json!({"outcome": "answered", "query": asked.query, "model": asked.model}),
        Err(Error::Unprocessable { code, detail }) => serde_json::json!({"outcome": code, "detail": detail}),
        Err(_) => return asked,
    };
    let question: String = request.question.trim().chars().take(200).collect();
    let tx = state.db.tenant(by.tenant_id).await?;
    let target = audit::Target { kind: "question", id: None, label: Some(&question) };
    audit::record(&tx, by.actor, "analytics.asked", target, outcome).await?;
    tx.commit().await?;
    asked
}

async fn answer_question(state: &Pipeline, by: &Principal, request: &AskRequest) -> Result<Asked, Error> {
    let question = request.question.trim();
    if question.is_empty() {
        return Err(Error::validation("validation_failed", "`question` must not be empty"));
    }
    let length = question.chars().count();
    if length > MAX_QUESTION_CHARS {
        return Err(Error::TooLarge {
            code: "question_too_long",
            detail: format!("`question` has {length} characters; at most {MAX_QUESTION_CHARS} are read"),
        });
    }
    let tenant = by.tenant_id;
    let (plan, intents, tenant_zone, custom) = {
        let tx = state.db.tenant(tenant).await?;
        let settings = draft_settings::get(&tx).await?;
        let plan = llm::plan(state, &tx, &settings, LlmFeature::Ask).await?;
        let intents = copilot_intents::taxonomy::labels_in_use(&tx, &state.triager.default_intents()).await?;
        let custom = analytics::custom_fields(&tx).await?;
        (plan, intents, copilot_sla::schedules::time_zone(&tx).await?, custom)
    };
    // The asker's zone, else the tenant's (its default business hours'), else UTC.
    let time_zone = request.time_zone.clone().or(tenant_zone).unwrap_or_else(|| "UTC".to_owned());
    let now = copilot_core::now();
    let today = analytics::relative::today(now, &time_zone)
        .ok_or_else(|| Error::validation("invalid_time_zone", format!("`{time_zone}` is not an IANA time zone")))?;
    if plan.candidates.is_empty() {
        return Err(Error::conflict(
            "llm_not_configured",
            "asking in words needs an LLM: none is configured for `ask`",
        ));
    }
    if plan.budget_exhausted {
        return Err(Error::conflict("budget_exhausted", "this month's LLM budget is spent"));
    }
    let setting = Setting {
        catalogue: analytics::catalogue::describe_with(&intents, &custom),
        periods: analytics::relative::NAMES.to_owned(),
        today,
        time_zone: time_zone.clone(),
    };
    let custom: Vec<_> = custom.into_iter().map(|(field, _)| field).collect();
    let planning = plan.clone().with_schema(ResponseSchema { name: "typed_query".into(), schema: schema() });
    let mut messages = plan_prompt(&setting, question);
    let mut repaired = false;
    let (planned, query, model, llm_profile) = loop {
        let answered = llm::call(state, tenant, &planning, &messages, |_| {}, |_| {}, |text| Ok(text.to_owned()))
            .await
            .map_err(|failure| Error::Unavailable {
                detail: format!("the LLM could not plan the question: {}", failure.message),
                retry_after_seconds: 5,
            })?;
        let problem = match checked(&answered.read, &time_zone, now, &custom) {
            Ok(Checked::Query(queries)) => {
                let (planned, query) = *queries;
                break (planned, query, answered.completion.model, answered.profile);
            }
            Ok(Checked::Refused(reason)) => {
                return Err(Error::unprocessable(
                    "question_refused",
                    format!("this question is not answered: {reason}"),
                ));
            }
            Err(problem) => problem,
        };
        if repaired {
            return Err(Error::unprocessable(
                "question_not_understood",
                format!("the question could not be turned into a query: {problem}"),
            ));
        }
        repaired = true;
        messages = repair_prompt(messages, &answered.read, &problem);
    };
    let plan_of_query = query.plan_with(&custom)?;
    let result = {
        let tx = state.db.tenant_read_only(tenant, analytics::STATEMENT_TIMEOUT).await?;
        analytics::run(&tx, &plan_of_query).await.map_err(|error| match error {
            // A valid query that answers too broadly (more groups than a result holds).
            Error::Unprocessable { code: "query_invalid", detail } => Error::unprocessable(
                "question_not_understood",
                format!("the question's query cannot be answered as asked: {detail}"),
            ),
            other => other,
        })?
    };
    let chart = answer::chart(&plan_of_query);
    let shown =
        [serde_json::to_string(&planned).unwrap_or_default(), serde_json::to_string(&query).unwrap_or_default()];
    let (sentence, stated) = match sentence(state, by, &plan, question, &result, &shown).await {
        Some(sentence) => (sentence, Stated::Model),
        None => (
            answer::template_sentence(&result, plan_of_query.groups.len(), answer::is_chinese(question)),
            Stated::Template,
        ),
    };
    Ok(Asked { planned, query, answer: result, chart, sentence, stated, model, llm_profile })
}

enum Checked {
    /// As planned, and as it will run.
    Query(Box<(Query, Query)>),
    Refused(String),
}

/// The model's answer read, its relative dates resolved and the query checked; the problem
/// in words when it cannot be used.
fn checked(
    text: &str,
    time_zone: &str,
    now: chrono::DateTime<chrono::Utc>,
    custom: &[&'static analytics::catalogue::Field],
) -> Result<Checked, String> {
    let planned = match read_plan(text)? {
        Planned::Refused(reason) => return Ok(Checked::Refused(reason)),
        Planned::Query(value) => value,
    };
    let mut planned: Query =
        serde_json::from_value(planned).map_err(|error| format!("the query is malformed: {error}"))?;
    // Dates mean the asker's time zone, whatever the model wrote.
    planned.time_zone = Some(time_zone.to_owned());
    let query = analytics::relative::resolve(&planned, now).map_err(|error| error.to_string())?;
    query.plan_with(custom).map_err(|error| error.to_string())?;
    Ok(Checked::Query(Box::new((planned, query))))
}

/// The JSON schema the planner's answer is held to where the endpoint takes one.
fn schema() -> Value {
    use analytics::catalogue::{Bucket, Function, Op};
    let datasets: Vec<&str> = analytics::Dataset::ALL.iter().map(|d| d.name()).collect();
    let functions: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
    let operators: Vec<&str> = Op::ALL.iter().map(|o| o.name()).collect();
    let buckets: Vec<&str> = Bucket::ALL.iter().map(|b| b.name()).collect();
    plan_schema(&datasets, &functions, &operators, &buckets)
}

/// The LLM's sentence for a result, when it answered and every number it states is in the
/// rows or the queries (not the question: it cannot vouch for a number); none otherwise
/// (the caller writes the template's).
async fn sentence(
    state: &Pipeline,
    by: &Principal,
    plan: &llm::Plan,
    question: &str,
    result: &analytics::Answer,
    queries: &[String; 2],
) -> Option<String> {
    let columns: Vec<String> = result.columns.iter().map(|c| c.name.clone()).collect();
    let messages = sentence_prompt(question, &columns, &result.rows, result.truncated);
    let answered = llm::call(state, by.tenant_id, plan, &messages, |_| {}, |_| {}, read_sentence).await.ok()?;
    match answer::unsupported_number(&answered.read, result, &[&queries[0], &queries[1]]) {
        None => Some(answered.read),
        Some(number) => {
            tracing::info!(tenant = %by.tenant_id, number, "an answer's sentence stated a number its rows do not hold");
            None
        }
    }
}
