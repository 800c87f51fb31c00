//! The retrieval and abstention evaluation: the bilingual help centre of a fictional
//! retailer in `fixtures/knowledge/support-centre` (14 documents in every format, about
//! 380 chunks) is ingested through the API, then every question of `support-eval.json` is
//! searched as drafts search. Recall@5 and MRR (over the top 10) are held per source
//! format and per language pair; how often an answerable question keeps its passage and an
//! unanswerable one is recognised is measured on the held-out half. Then every held-out
//! question becomes a ticket drafted by the test LLM (which cites the first passage it is
//! offered): how many answerable drafts cite the right passage, how many cited passages
//! are right, and how many unanswerable drafts abstain (no citation,
//! `no_relevant_knowledge`, confidence at most 0.3).
//!
//! Each figure is a line of the quality report (`scripts/quality`). With
//! `COPILOT_RELEVANCE_EVIDENCE` set to a file, every question's search evidence is written
//! there as JSON lines, for `tools/fixtures/calibrate_relevance.py`.

use std::{collections::BTreeMap, path::PathBuf};

use copilot_tests::{TestApp, llm::TestLlm, quality_report as report, spawn_app_alone, uuid_at};
use futures_util::StreamExt;
use poem::http::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::knowledge::upload_fixture;

#[derive(Deserialize)]
struct EvalSet {
    answerable: Vec<Answerable>,
    unanswerable: Vec<Unanswerable>,
}

#[derive(Deserialize)]
struct Answerable {
    query: String,
    document: String,
    expect: String,
    lang: String,
    split: String,
}

#[derive(Deserialize)]
struct Unanswerable {
    query: String,
    split: String,
}

#[derive(Default, Clone, Copy)]
struct Score {
    found_in_5: usize,
    reciprocal_ranks: f64,
    queries: usize,
}

impl Score {
    fn add(&mut self, rank: Option<usize>) {
        self.queries += 1;
        if let Some(rank) = rank {
            self.found_in_5 += usize::from(rank <= 5);
            self.reciprocal_ranks += 1.0 / rank as f64;
        }
    }

    fn recall_at_5(&self) -> f64 {
        self.found_in_5 as f64 / self.queries.max(1) as f64
    }

    fn mrr(&self) -> f64 {
        self.reciprocal_ranks / self.queries.max(1) as f64
    }
}

/// The language a document of the set is written in (Chinese ones end in `-zh`).
fn document_language(name: &str) -> &'static str {
    if name.rsplit_once('.').is_some_and(|(stem, _)| stem.ends_with("-zh")) { "zh" } else { "en" }
}

#[tokio::test]
async fn retrieval_and_abstention_on_a_help_centre_of_hundreds_of_chunks_hold_their_floors() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/knowledge");
    let set: EvalSet =
        serde_json::from_slice(&std::fs::read(fixtures.join("support-eval.json")).expect("read the set"))
            .expect("parse the set");
    // Alone on its database: its own worker writes the drafts, with the default settings.
    let app = spawn_app_alone().await;
    let llm = TestLlm::start().await;
    let tenant = app.create_tenant().await;
    let mut documents: BTreeMap<String, Uuid> = BTreeMap::new();
    let mut names: Vec<String> = std::fs::read_dir(fixtures.join("support-centre"))
        .expect("the documents")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let id = upload_fixture(&app, &tenant.key, &format!("support-centre/{name}"), &[]).await;
        documents.insert(name, id);
    }
    let mut chunks = 0;
    for (name, id) in &documents {
        let document = app.wait_for_document(&tenant.key, *id).await;
        assert_eq!(document["status"], "ready", "{name}: {document}");
        chunks += document["chunk_count"].as_u64().unwrap_or_default();
    }
    assert!(chunks >= 300, "a knowledge base of a few hundred chunks: {chunks}");

    // Every question's search, a few at a time (each waits on the store as much as on the
    // encoder), in the set's order.
    let search_all = |queries: Vec<String>| {
        let (app, key) = (&app, tenant.key.as_str());
        futures_util::stream::iter(queries)
            .map(move |query| async move {
                app.post("/v1/knowledge/search", key, json!({"query": query, "limit": 10})).await.expect(200)
            })
            .buffered(4)
            .collect::<Vec<Value>>()
    };
    let answers = search_all(set.answerable.iter().map(|question| question.query.clone()).collect()).await;
    let refusals = search_all(set.unanswerable.iter().map(|question| question.query.clone()).collect()).await;
    let mut evidence = Vec::new();
    let mut overall = Score::default();
    let mut by_format: BTreeMap<String, Score> = BTreeMap::new();
    let mut by_pair: BTreeMap<String, Score> = BTreeMap::new();
    let (mut kept, mut answerable_held_out) = (0usize, 0usize);
    for (question, body) in set.answerable.iter().zip(&answers) {
        let expected = documents[&question.document];
        let hits = body["hits"].as_array().cloned().unwrap_or_default();
        let rank = hits
            .iter()
            .position(|hit| {
                uuid_at(hit, "/document_id") == expected
                    && hit["text"]
                        .as_str()
                        .is_some_and(|text| text.to_lowercase().contains(&question.expect.to_lowercase()))
            })
            .map(|index| index + 1);
        overall.add(rank);
        evidence.push(json!({
            "answerable": true, "split": question.split, "rank": rank, "evidence": body["evidence"],
        }));
        let format = question.document.rsplit_once('.').map_or("?", |(_, extension)| extension).to_owned();
        by_format.entry(format).or_default().add(rank);
        by_pair.entry(format!("{}→{}", question.lang, document_language(&question.document))).or_default().add(rank);
        if question.split == "heldout" {
            answerable_held_out += 1;
            kept += usize::from(body["confident"] == true && rank.is_some_and(|rank| rank <= 5));
        }
    }
    let (mut abstained, mut unanswerable_held_out) = (0usize, 0usize);
    for (question, body) in set.unanswerable.iter().zip(&refusals) {
        evidence.push(json!({"answerable": false, "split": question.split, "evidence": body["evidence"]}));
        if question.split == "heldout" {
            unanswerable_held_out += 1;
            abstained += usize::from(body["confident"] == false);
        }
    }
    if let Ok(path) = std::env::var("COPILOT_RELEVANCE_EVIDENCE") {
        let lines: Vec<String> = evidence.iter().map(Value::to_string).collect();
        std::fs::write(&path, lines.join("\n") + "\n").expect("write the evidence");
    }

    let drafting = draft_held_out(&app, &llm, &tenant.key, &set, &documents).await;

    // Floors: what the service reaches today, so that no change makes it worse unnoticed.
    // The targets are higher (recall@5 0.95 overall and 0.90 for every format and language
    // pair, MRR 0.85, 90 % of unanswerable questions recognised): see bench/README.md and
    // docs/decisions/0036.
    let mut failures = Vec::new();
    let mut hold = |area: &str, metric: &str, value: f64, floor: Option<f64>| {
        report(area, metric, value, floor);
        if floor.is_some_and(|floor| value < floor) {
            failures.push(format!("{area} {metric} {value:.3} is below {:.2}", floor.unwrap_or_default()));
        }
    };
    hold("retrieval", &format!("recall@5 overall ({} questions)", overall.queries), overall.recall_at_5(), Some(0.93));
    hold("retrieval", "MRR@10 overall", overall.mrr(), Some(0.82));
    for (format, score) in &by_format {
        hold("retrieval", &format!("recall@5 {format} ({})", score.queries), score.recall_at_5(), Some(0.87));
    }
    for (pair, score) in &by_pair {
        let floor = if pair == "zh→en" { 0.80 } else { 0.90 };
        hold("retrieval", &format!("recall@5 {pair} ({})", score.queries), score.recall_at_5(), Some(floor));
    }
    let share = |part: usize, whole: usize| part as f64 / whole.max(1) as f64;
    hold(
        "abstention",
        &format!("answerable kept, passage in top 5 ({answerable_held_out} held out)"),
        share(kept, answerable_held_out),
        Some(0.90),
    );
    hold(
        "abstention",
        &format!("unanswerable recognised ({unanswerable_held_out} held out)"),
        share(abstained, unanswerable_held_out),
        Some(0.10),
    );
    let DraftScore { answerable, right_citation, cited, right_cited, unanswerable, abstained } = drafting;
    hold(
        "drafts (test LLM)",
        &format!("answerable drafts citing the right passage ({answerable} held out)"),
        share(right_citation, answerable),
        Some(0.75),
    );
    hold("drafts (test LLM)", &format!("citations that are right ({cited})"), share(right_cited, cited), Some(0.75));
    hold(
        "drafts (test LLM)",
        &format!("unanswerable drafts abstaining ({unanswerable} held out)"),
        share(abstained, unanswerable),
        Some(0.07),
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[derive(Default)]
struct DraftScore {
    answerable: usize,
    /// Answerable drafts that cite the passage that answers.
    right_citation: usize,
    /// Citations of answerable drafts, and how many of them are the passage that answers.
    cited: usize,
    right_cited: usize,
    unanswerable: usize,
    /// Unanswerable drafts without a citation, noting `no_relevant_knowledge`, with a
    /// confidence of at most 0.3.
    abstained: usize,
}

/// Drafts every held-out question as a customer's ticket, with the test LLM as the
/// tenant's endpoint, and scores the drafts' citations and abstentions.
async fn draft_held_out(
    app: &TestApp,
    llm: &TestLlm,
    key: &str,
    set: &EvalSet,
    documents: &BTreeMap<String, Uuid>,
) -> DraftScore {
    let settings = json!({"base_url": llm.base_url(), "model": "test-model", "api_key": "sk-eval"});
    app.send(Method::PUT, "/v1/settings/llm", Some(key), Some(&settings)).await.expect(200);
    let mut passages: BTreeMap<Uuid, Vec<Value>> = BTreeMap::new();
    for id in documents.values() {
        let page = app.get(&format!("/v1/knowledge/documents/{id}/chunks?limit=100"), key).await.expect(200);
        assert!(page["next_cursor"].is_null(), "a document of at most 100 chunks: {id}");
        passages.insert(*id, page["data"].as_array().cloned().unwrap_or_default());
    }
    // The chunk that answers each held-out answerable question; none for unanswerable ones.
    let questions: Vec<(String, Option<Uuid>)> = set
        .answerable
        .iter()
        .filter(|question| question.split == "heldout")
        .map(|question| {
            let expect = question.expect.to_lowercase();
            let answer = passages[&documents[&question.document]]
                .iter()
                .find(|chunk| chunk["text"].as_str().is_some_and(|text| text.to_lowercase().contains(&expect)))
                .map(|chunk| uuid_at(chunk, "/chunk_id"));
            assert!(answer.is_some(), "the passage of {:?} is in its document", question.query);
            (question.query.clone(), answer)
        })
        .chain(set.unanswerable.iter().filter(|question| question.split == "heldout").map(|q| (q.query.clone(), None)))
        .collect();
    let drafts: Vec<(Option<Uuid>, Value)> = futures_util::stream::iter(questions)
        .map(|(query, answer)| async move { (answer, settled_draft(app, key, &query).await) })
        .buffered(4)
        .collect()
        .await;
    let mut score = DraftScore::default();
    for (answer, draft) in drafts {
        assert_eq!(draft["status"], "ready", "{draft}");
        let citations: Vec<Uuid> = draft["citations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|citation| uuid_at(citation, "/chunk_id"))
            .collect();
        match answer {
            Some(answer) => {
                score.answerable += 1;
                score.right_citation += usize::from(citations.contains(&answer));
                score.cited += citations.len();
                score.right_cited += citations.iter().filter(|cited| **cited == answer).count();
            }
            None => {
                score.unanswerable += 1;
                let noted =
                    draft["notes"].as_array().is_some_and(|notes| notes.contains(&json!("no_relevant_knowledge")));
                let low = draft["confidence"].as_f64().is_some_and(|confidence| confidence <= 0.3);
                score.abstained += usize::from(citations.is_empty() && noted && low);
            }
        }
    }
    score
}

/// Opens a ticket with the customer's question and waits for its draft to settle.
async fn settled_draft(app: &TestApp, key: &str, question: &str) -> Value {
    let ticket =
        json!({"subject": "Question", "channel": "web", "customer": {"email": "c@example.test"}, "body": question});
    let created = app.post("/v1/tickets", key, ticket).await.expect(201);
    app.settled_draft(key, uuid_at(&created, "/ticket/id")).await
}
