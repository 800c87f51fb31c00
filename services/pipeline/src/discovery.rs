//! Intent discovery in the running service: the triage worker takes a queued run, embeds
//! the messages the model could not place, clusters them, and describes each cluster
//! (keywords in any language; the examples nearest its centre; the nearest existing
//! intent; a snake_case label and a description from the `label` route's LLM when one is
//! set, personal data redacted when the tenant asks, else a label from the keywords).
//! Clusters like a rejected proposal are left out.

use std::collections::HashSet;

use copilot_core::{Error, TenantId, model::LlmFeature};
use copilot_drafting::{
    ResponseSchema,
    label::{name_prompt, name_schema, read_name},
    redact::Redactions,
};
use copilot_drafts::settings as draft_settings;
use copilot_intents::{
    discovery::{self, Candidate, Example, NewProposal, REJECTED_SIMILARITY},
    taxonomy,
};
use copilot_triage::{TextKind, discover};
use tracing::Instrument;

use crate::{Pipeline, llm, queues::Renewal};

/// Examples kept per proposal (the nearest to its centre).
const EXAMPLES: usize = 8;
/// Keywords kept per proposal.
const KEYWORDS: usize = 6;

/// Runs the next due discovery, if any; returns 1 when it took one.
pub async fn discover_next(state: &Pipeline) -> Result<usize, Error> {
    let lease = state.settings.job_lease();
    let Some(job) = discovery::claim(&state.db, lease, &state.policies.training).await? else {
        return Ok(0);
    };
    state.telemetry.claimed(discovery::QUEUE.name, job.attempt, job.queued_at);
    let span = crate::job_span(discovery::QUEUE.name, job.tenant_id, job.job, job.attempt, job.request_id.as_deref());
    let _renewal = Renewal::start(&state.db, discovery::QUEUE, job.tenant_id, vec![(job.job, job.attempt)], lease);
    run(state, &job).instrument(span).await?;
    Ok(1)
}

/// What a run reads before it works: the messages, what was rejected, the intents.
struct Inputs {
    messages: Vec<Candidate>,
    rejected: Vec<Vec<f32>>,
    /// Every label in use, and the examples of those that have some.
    labels: Vec<String>,
    examples: Vec<(String, String)>,
    redact: bool,
    plan: llm::Plan,
}

async fn run(state: &Pipeline, job: &discovery::Claimed) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let tenant = job.tenant_id;
    let inputs = {
        let tx = state.db.tenant(tenant).await?;
        let own = taxonomy::taxonomy(&tx).await?;
        let settings = draft_settings::get(&tx).await?;
        let schema = ResponseSchema { name: "intent_name".into(), schema: name_schema() };
        Inputs {
            messages: discovery::candidates(&tx, job).await?,
            rejected: discovery::rejected_centroids(&tx).await?,
            labels: taxonomy::labels_in_use(&tx, &state.triager.default_intents()).await?,
            examples: own.iter().flat_map(|l| l.examples.iter().map(|e| (l.label.clone(), e.clone()))).collect(),
            redact: settings.redact_pii,
            plan: llm::plan(state, &tx, &settings, LlmFeature::Label).await?.with_schema(schema),
        }
    };
    let outcome = discover(state, tenant, &inputs).await;
    state.telemetry.job_ran(discovery::QUEUE.name, started.elapsed());
    let tx = state.db.tenant(tenant).await?;
    match outcome {
        Ok(proposals) => {
            tracing::info!(%tenant, messages = inputs.messages.len(), proposals = proposals.len(), "intent discovery ran");
            discovery::finish(&tx, job, inputs.messages.len(), proposals).await?;
        }
        Err(error) => {
            state.telemetry.job_failed(discovery::QUEUE.name);
            tracing::warn!(%tenant, %error, "intent discovery failed");
            discovery::fail(&tx, job, &error, &state.policies.training).await?;
        }
    }
    tx.commit().await
}

async fn discover(state: &Pipeline, tenant: TenantId, inputs: &Inputs) -> Result<Vec<NewProposal>, String> {
    let texts: Vec<String> = inputs.messages.iter().map(|m| m.text.clone()).collect();
    let languages: Vec<Option<String>> = inputs.messages.iter().map(|m| m.language.clone()).collect();
    if texts.len() < 3 {
        return Ok(Vec::new());
    }
    let embeddings = state.triager.embed(texts.clone(), TextKind::Query).await?;
    // A cluster is at least 3 messages and 2 % of them: a pattern, not a coincidence.
    let min_size = (texts.len() / 50).max(3);
    let clusters = tokio::task::spawn_blocking({
        let embeddings = embeddings.clone();
        move || {
            let languages: Vec<Option<&str>> = languages.iter().map(Option::as_deref).collect();
            discover::cluster(&embeddings, &languages, discover::MAX_DISTANCE, min_size)
        }
    })
    .await
    .map_err(|error| error.to_string())?;
    let intents = intent_centroids(state, &inputs.examples).await?;
    let borrowed: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut taken: HashSet<String> = inputs.labels.iter().cloned().collect();
    let mut proposals = Vec::new();
    for members in clusters {
        let vectors: Vec<&Vec<f32>> = members.iter().map(|&i| &embeddings[i]).collect();
        let centroid = discover::centroid(&vectors);
        if inputs.rejected.iter().any(|rejected| discover::cosine(rejected, &centroid) >= REJECTED_SIMILARITY) {
            continue;
        }
        let mut nearest: Vec<usize> = members.clone();
        nearest.sort_by(|a, b| {
            discover::cosine(&embeddings[*b], &centroid).total_cmp(&discover::cosine(&embeddings[*a], &centroid))
        });
        let examples: Vec<Example> = nearest
            .iter()
            .take(EXAMPLES)
            .map(|&i| Example { message_id: inputs.messages[i].message_id, text: texts[i].clone() })
            .collect();
        let keywords = discover::keywords(&borrowed, &members, KEYWORDS);
        let closest = intents
            .iter()
            .map(|(label, vector)| (label, discover::cosine(vector, &centroid)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let (label, description) = match name(state, tenant, inputs, &examples, &taken).await {
            Some(named) => named,
            None => (label_from(&keywords, &taken, proposals.len() + 1), None),
        };
        taken.insert(label.clone());
        proposals.push(NewProposal {
            label_suggestion: label,
            description,
            keywords,
            examples,
            message_ids: members.iter().map(|&i| inputs.messages[i].message_id).collect(),
            nearest_intent: closest.map(|(label, _)| label.clone()),
            similarity: closest.map(|(_, similarity)| f64::from(similarity)),
            centroid,
        });
    }
    Ok(proposals)
}

/// The centroid of each intent's examples.
async fn intent_centroids(state: &Pipeline, examples: &[(String, String)]) -> Result<Vec<(String, Vec<f32>)>, String> {
    if examples.is_empty() {
        return Ok(Vec::new());
    }
    let texts: Vec<String> = examples.iter().map(|(_, text)| text.clone()).collect();
    let embeddings = state.triager.embed(texts, TextKind::Query).await?;
    let mut labels: Vec<&str> = examples.iter().map(|(label, _)| label.as_str()).collect();
    labels.dedup();
    Ok(labels
        .into_iter()
        .map(|label| {
            let vectors: Vec<&Vec<f32>> =
                examples.iter().zip(&embeddings).filter(|((l, _), _)| l == label).map(|(_, e)| e).collect();
            (label.to_owned(), discover::centroid(&vectors))
        })
        .collect())
}

/// A label and description from the LLM, when one serves `label`, the budget allows and
/// it answers with a new snake_case label.
async fn name(
    state: &Pipeline,
    tenant: TenantId,
    inputs: &Inputs,
    examples: &[Example],
    taken: &HashSet<String>,
) -> Option<(String, Option<String>)> {
    if inputs.plan.candidates.is_empty() || inputs.plan.budget_exhausted {
        return None;
    }
    let mut redactions = Redactions::default();
    let texts: Vec<String> =
        examples.iter().map(|e| if inputs.redact { redactions.redact(&e.text) } else { e.text.clone() }).collect();
    let existing: Vec<String> = taken.iter().cloned().collect();
    let prompt = name_prompt(&texts, &existing);
    match llm::call(state, tenant, &inputs.plan, &prompt, |_| {}, |_| {}, |raw| read_name(raw, &existing)).await {
        Ok(answer) => Some(answer.read),
        Err(failure) => {
            tracing::info!(%tenant, reason = %failure.message, "no LLM name for a discovered intent; keywords name it");
            None
        }
    }
}

/// A snake_case label from the first two Latin-script keywords, else `new_intent_<n>`;
/// never one already taken.
fn label_from(keywords: &[String], taken: &HashSet<String>, n: usize) -> String {
    let words: Vec<String> = keywords
        .iter()
        .filter(|k| k.chars().all(|c| c.is_ascii_alphanumeric()))
        .filter(|k| k.starts_with(|c: char| c.is_ascii_lowercase()))
        .take(2)
        .cloned()
        .collect();
    let base = if words.is_empty() { format!("new_intent_{n}") } else { words.join("_") };
    let mut label = base.clone();
    let mut suffix = 2;
    while taken.contains(&label) {
        label = format!("{base}_{suffix}");
        suffix += 1;
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyword_label_is_snake_case_and_new() {
        let taken: HashSet<String> = ["invoice_vat".to_owned()].into();
        let keywords = ["invoice".to_owned(), "vat".to_owned(), "税号".to_owned()];
        assert_eq!(label_from(&keywords, &taken, 1), "invoice_vat_2");
        assert_eq!(label_from(&["发票".to_owned()], &taken, 3), "new_intent_3");
    }
}
