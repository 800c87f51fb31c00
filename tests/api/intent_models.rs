//! Model versions over HTTP: the LLM's labels train a version, the gate lets it serve
//! only when it is no worse on held-out labels, admins force or roll back (audited, with
//! an event), one training at a time; the review queue of messages where the model and
//! the LLM disagree, settled by a person.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::drafts::Desk;
use crate::labelling::{id_of, labelling_desk};

/// A desk whose 36 customer messages (a dozen per intent) the LLM labelled.
async fn labelled_desk() -> Desk {
    let desk = labelling_desk(true).await;
    let mut tickets = Vec::new();
    for i in 0..12 {
        for text in [
            format!("Please refund order {i}, the money should come back to my card"),
            format!("Where is my shipping for order {i}? The parcel has not arrived"),
            format!("Hello, just saying hi and thanks for the chat number {i}"),
        ] {
            tickets.push(desk.ask(&text).await);
        }
    }
    for ticket in tickets {
        desk.app.wait_for_triage(&desk.agent, ticket).await;
    }
    let job = desk
        .app
        .post("/v1/intents/labelling", &desk.tenant.key, json!({"scope": {"only": "all"}, "max_messages": 100}))
        .await
        .expect(202);
    let job = desk.job_until(&id_of(&job), |job| job["status"] == "done").await;
    assert_eq!(job["labelled"], 36, "{job}");
    desk
}

impl Desk {
    /// Trains a version with this request body and returns it once trained.
    async fn train(&self, body: Value) -> Value {
        let queued = self.app.post("/v1/intents/train", &self.tenant.key, body).await.expect(202);
        self.trained(&id_of(&queued)).await
    }

    async fn trained(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let job = self.app.get("/v1/intents/training", &self.tenant.key).await.expect(200);
            if job["id"] == id && job["status"] != "queued" {
                assert_eq!(job["status"], "ready", "{job}");
                return self.app.get(&format!("/v1/intents/models/{id}"), &self.tenant.key).await.expect(200);
            }
            assert!(Instant::now() < deadline, "training did not finish: {job}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn model(&self, id: &str) -> Value {
        self.app.get(&format!("/v1/intents/models/{id}"), &self.tenant.key).await.expect(200)
    }

    async fn intent_of(&self, text: &str) -> Value {
        self.app.post("/v1/triage", &self.tenant.key, json!({ "text": text })).await.expect(200)["intent"]["label"]
            .clone()
    }
}

fn f1(value: &Value) -> f64 {
    value.as_f64().unwrap_or(-1.0)
}

#[tokio::test]
async fn llm_labels_train_a_version_the_gate_lets_serve_and_a_worse_one_stays_a_candidate() {
    let desk = labelled_desk().await;
    let key = desk.tenant.key.clone();

    // The first version of the tenant's own taxonomy serves: nothing of it served before.
    let first = desk.train(json!({})).await;
    let first_id = id_of(&first);
    assert_eq!((&first["status"], &first["gate"]["code"]), (&json!("active"), &json!("first_version")), "{first}");
    assert_eq!(first["examples"]["admin"], 3, "{first}");
    let trained_llm = first["examples"]["llm"].as_i64().unwrap_or_default();
    let held_llm = first["metrics"]["held_out_llm"].as_i64().unwrap_or_default();
    assert_eq!(trained_llm + held_llm, 36, "every LLM label trains or is held out: {first}");
    assert!(held_llm >= 1, "one in five held out: {first}");
    assert_eq!(first["metrics"]["evaluated_on"], "people_and_llm", "{first}");
    assert!(f1(&first["metrics"]["macro_f1_vs_llm"]) >= 0.9, "{first}");
    assert_eq!(first["weights"], json!({"admin_example": 3.0, "agent": 3.0, "llm": 1.0}));
    assert!(first["metrics"]["per_intent"].as_array().is_some_and(|scores| !scores.is_empty()), "{first}");
    assert_eq!(desk.intent_of("Please refund order 99, I want the money back").await, "refund");

    // One training at a time.
    let queued = desk.app.post("/v1/intents/train", &key, json!({})).await.expect(202);
    desk.app.post("/v1/intents/train", &key, json!({})).await.expect_error(409, "training_running");
    let second = desk.trained(&id_of(&queued)).await;
    assert_eq!((&second["status"], &second["gate"]["code"]), (&json!("active"), &json!("not_worse")), "{second}");
    assert_eq!(second["gate"]["compared_with"], json!(first_id));
    assert_eq!(desk.model(&first_id).await["status"], "retired");

    // Examples that teach the wrong labels, and nothing else: worse on the held-out labels.
    let swapped = json!({"labels": [
        {"label": "refund", "examples": ["Where is my parcel?"]},
        {"label": "shipping", "examples": ["I want my money back"]},
        {"label": "other", "examples": ["Hello"]},
    ]});
    desk.app.send(Method::PUT, "/v1/intents", Some(&key), Some(&swapped)).await.expect(200);
    let worse = desk.train(json!({"weights": {"agent": 0, "llm": 0}})).await;
    assert_eq!((&worse["status"], &worse["gate"]["code"]), (&json!("candidate"), &json!("worse")), "{worse}");
    assert!(f1(&worse["gate"]["candidate_macro_f1"]) < f1(&worse["gate"]["active_macro_f1"]), "{worse}");
    assert_eq!(worse["examples"], json!({"admin": 3, "agent": 0, "llm": 0, "dropped": 0}));
    assert_eq!(desk.model(&id_of(&second)).await["status"], "active", "the serving version stays");

    // An admin forces the candidate, then rolls back: audited, and announced.
    let stream = reqwest::Client::new()
        .get(desk.app.url("/v1/events/stream?types=intent_model.activated"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("the stream opens");
    let forced_path = format!("/v1/intents/models/{}/activate", id_of(&worse));
    desk.app.post(&forced_path, &desk.agent, json!({})).await.expect_error(403, "forbidden");
    let forced = desk.app.post(&forced_path, &key, json!({})).await.expect(200);
    assert_eq!(forced["status"], "active");
    assert_eq!(desk.model(&id_of(&second)).await["status"], "retired");
    assert_eq!(desk.intent_of("Please refund order 99, I want the money back").await, "shipping");
    let back = desk.app.post(&format!("/v1/intents/models/{}/activate", id_of(&second)), &key, json!({})).await;
    assert_eq!(back.expect(200)["status"], "active");
    assert_eq!(desk.model(&id_of(&worse)).await["status"], "retired");
    assert_eq!(desk.intent_of("Please refund order 99, I want the money back").await, "refund");

    let mut bytes = stream.bytes_stream();
    let mut raw = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while raw.matches("event: intent_model.activated").count() < 2 {
        match tokio::time::timeout_at(deadline, bytes.next()).await {
            Ok(Some(Ok(chunk))) => raw.push_str(&String::from_utf8_lossy(&chunk)),
            _ => panic!("two intent_model.activated events: {raw}"),
        }
    }
    assert!(raw.contains(&id_of(&worse)) && raw.contains("\"by\":\"admin\""), "{raw}");
    let audit = desk.app.get("/v1/audit-events?action=intent_model.activated", &key).await.expect(200);
    let actors: Vec<&str> =
        audit["data"].as_array().into_iter().flatten().filter_map(|e| e["actor_kind"].as_str()).collect();
    assert_eq!(actors.iter().filter(|kind| **kind == "service").count(), 2, "the gate's two switches: {audit}");
    assert_eq!(actors.len(), 4, "and the admin's two: {audit}");

    // Versions are the tenant's own.
    let stranger = desk.app.create_tenant().await;
    desk.app.get(&format!("/v1/intents/models/{first_id}"), &stranger.key).await.expect_error(404, "not_found");
    let theirs = format!("/v1/intents/models/{first_id}/activate");
    desk.app.post(&theirs, &stranger.key, json!({})).await.expect_error(404, "not_found");
    assert_eq!(desk.app.get("/v1/intents/models", &stranger.key).await.expect(200)["data"], json!([]));
    let listed = desk.app.get("/v1/intents/models", &key).await.expect(200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(listed["data"][0]["id"], id_of(&worse), "newest first");
    desk.app
        .post("/v1/intents/train", &key, json!({"weights": {"llm": -1}}))
        .await
        .expect_error(400, "validation_failed");
    desk.app
        .post("/v1/intents/train", &key, json!({"weights": {"admin_example": 0, "agent": 0, "llm": 0}}))
        .await
        .expect_error(400, "validation_failed");
}

#[tokio::test]
async fn the_review_queue_lists_disagreements_most_confident_first_and_a_person_settles_them() {
    let desk = labelled_desk().await;
    let key = desk.tenant.key.clone();

    let review = desk.app.get("/v1/intents/review?limit=200", &key).await.expect(200);
    let items = review["data"].as_array().cloned().unwrap_or_default();
    // Triage ran the shipped model (whose labels differ) on the refund and shipping messages.
    assert!(review["total"].as_i64().is_some_and(|total| total >= 24), "{review}");
    assert_eq!(items.len() as i64, review["total"].as_i64().unwrap_or_default());
    assert!(items.iter().all(|item| item["model"]["label"] != item["llm"]["label"]), "{review}");
    let confidences: Vec<f64> = items.iter().map(|item| f1(&item["model"]["confidence"])).collect();
    assert!(confidences.windows(2).all(|pair| pair[0] >= pair[1]), "most confident first: {confidences:?}");

    let first = &items[0];
    let message = first["message_id"].as_str().unwrap_or_default().to_owned();
    let accept = format!("/v1/intents/review/{message}/accept");
    desk.app.post(&accept, &key, json!({"label": "made_up"})).await.expect_error(422, "unknown_intent");
    desk.app.post(&accept, &desk.agent, json!({"label": "refund"})).await.expect_error(403, "forbidden");
    let stranger = desk.app.create_tenant().await;
    desk.app.post(&accept, &stranger.key, json!({"label": "refund"})).await.expect_error(404, "not_found");
    desk.app.get("/v1/intents/review", &desk.agent).await.expect_error(403, "forbidden");
    assert_eq!(desk.app.get("/v1/intents/review", &stranger.key).await.expect(200)["total"], 0);

    let settled = desk.app.post(&accept, &key, json!({"label": first["llm"]["label"]})).await.expect(200);
    assert_eq!((&settled["intent"]["label"], &settled["intent"]["confidence"]), (&first["llm"]["label"], &json!(1.0)));
    let after = desk.app.get("/v1/intents/review?limit=200", &key).await.expect(200);
    assert_eq!(after["total"].as_i64(), review["total"].as_i64().map(|total| total - 1));
    assert!(!after["data"].as_array().into_iter().flatten().any(|item| item["message_id"] == message.as_str()));

    // The person's label trains the next version, over the LLM's for that message.
    let version = desk.train(json!({})).await;
    assert_eq!(version["examples"]["agent"], 1, "{version}");
    let llm = version["examples"]["llm"].as_i64().unwrap_or_default();
    let held = version["metrics"]["held_out_llm"].as_i64().unwrap_or_default();
    assert_eq!(llm + held, 35, "{version}");
}

impl Desk {
    /// Starts a discovery run and returns it once done.
    async fn discovered(&self) -> Value {
        let queued = self.app.post("/v1/intents/discovery", &self.tenant.key, json!({})).await.expect(202);
        let path = format!("/v1/intents/discovery/{}", id_of(&queued));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let run = self.app.get(&path, &self.tenant.key).await.expect(200);
            if run["status"] != "queued" {
                assert_eq!(run["status"], "done", "{run}");
                return run;
            }
            assert!(Instant::now() < deadline, "discovery did not finish: {run}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

const VAT: [&str; 8] = [
    "The VAT number on my invoice is wrong",
    "My invoice shows an incorrect VAT number",
    "Please correct the VAT ID printed on the invoice",
    "Wrong VAT registration number on invoice 4411",
    "Can you reissue the invoice with our company VAT number?",
    "The invoice is missing our VAT number",
    "Our VAT number is not on the invoice, please fix it",
    "Invoice has the wrong VAT ID for our company",
];

const GIFT: [&str; 8] = [
    "Can you gift wrap my order?",
    "Is gift wrapping available for this purchase?",
    "I would like the parcel wrapped as a gift",
    "Please add gift wrapping and a card",
    "Do you offer gift wrap for birthdays?",
    "Can the present be gift wrapped with a note?",
    "How much does gift wrapping cost?",
    "Please wrap it as a gift, it is for my mother",
];

/// The proposal holding most of `theme`'s messages, with how many of them and its size.
fn proposal_of<'a>(run: &'a Value, theme: &[&str]) -> Option<(&'a Value, usize)> {
    run["proposals"]
        .as_array()?
        .iter()
        .map(|p| {
            let texts: Vec<&str> =
                p["examples"].as_array().into_iter().flatten().filter_map(|e| e["text"].as_str()).collect();
            (p, texts.iter().filter(|text| theme.contains(text)).count())
        })
        .max_by_key(|(_, hits)| *hits)
        .filter(|(_, hits)| *hits > 0)
}

#[tokio::test]
async fn discovery_proposes_the_intents_a_taxonomy_lacks_and_an_admin_accepts_or_rejects_them() {
    let desk = labelling_desk(false).await;
    let key = desk.tenant.key.clone();
    let mut tickets = Vec::new();
    let one_offs =
        ["What time does your shop open?", "Do you sell spare batteries?", "Is there parking near the store?"];
    for text in VAT.iter().chain(&GIFT).chain(&one_offs) {
        tickets.push(desk.ask(text).await);
    }
    for ticket in tickets {
        desk.app.wait_for_triage(&desk.agent, ticket).await;
    }
    // The tenant's model could not place any of them.
    let db = copilot_store::connect(&desk.app.database_url, 1).await.expect("connect");
    let unplaced = sea_orm::Statement::from_sql_and_values(
        db.backend(),
        "UPDATE message_triage SET intent = 'other', intent_confidence = 0.9 WHERE tenant_id = $1",
        [desk.tenant.id.into()],
    );
    sea_orm::ConnectionTrait::execute_raw(db.unscoped(), unplaced).await.expect("route to other");

    // Without an LLM: clusters named by their keywords.
    let run = desk.discovered().await;
    assert_eq!(run["messages"], 19, "{run}");
    let (vat, hits) = proposal_of(&run, &VAT).expect("a VAT proposal");
    let size = vat["size"].as_i64().unwrap_or_default();
    assert!(hits >= 6 && (hits as f64) / (size as f64) >= 0.8, "{vat}");
    let keywords: Vec<&str> = vat["keywords"].as_array().into_iter().flatten().filter_map(|k| k.as_str()).collect();
    assert!(keywords.contains(&"vat") && keywords.contains(&"invoice"), "{vat}");
    assert!(vat["label_suggestion"].as_str().is_some_and(|l| l.contains("vat") || l.contains("invoice")), "{vat}");
    assert!(vat["nearest_existing_intent"].is_string() && vat["similarity"].is_number(), "{vat}");
    let (gift, gift_hits) = proposal_of(&run, &GIFT).expect("a gift-wrapping proposal");
    let gift_size = gift["size"].as_i64().unwrap_or_default();
    assert!(gift_hits >= 4 && gift_hits as i64 == gift_size.min(8) && gift["id"] != vat["id"], "{gift}");

    // Accept the VAT cluster as a new intent; reject the gift one.
    let base = format!("/v1/intents/discovery/{}/proposals", id_of(&run));
    let accept = format!("{base}/{}/accept", id_of(vat));
    desk.app.post(&accept, &desk.agent, json!({})).await.expect_error(403, "forbidden");
    desk.app.post(&accept, &key, json!({"label": "Not A Label"})).await.expect_error(400, "invalid_label");
    let accepted = desk.app.post(&accept, &key, json!({"label": "vat_invoice"})).await.expect(200);
    assert_eq!((&accepted["status"], &accepted["decided_label"]), (&json!("accepted"), &json!("vat_invoice")));
    desk.app.post(&accept, &key, json!({})).await.expect_error(409, "proposal_decided");
    let taxonomy = desk.app.get("/v1/intents", &key).await.expect(200);
    let added = taxonomy["labels"].as_array().into_iter().flatten().find(|l| l["label"] == "vat_invoice");
    let examples = added.map(|l| l["examples"].as_array().map(Vec::len).unwrap_or_default()).unwrap_or_default();
    assert!(examples >= 6, "the cluster's messages are its examples: {taxonomy}");
    let rejected = desk.app.post(&format!("{base}/{}/reject", id_of(gift)), &key, json!({})).await.expect(200);
    assert_eq!(rejected["status"], "rejected");
    let stranger = desk.app.create_tenant().await;
    desk.app.get(&format!("/v1/intents/discovery/{}", id_of(&run)), &stranger.key).await.expect_error(404, "not_found");
    let theirs = format!("{base}/{}/reject", id_of(vat));
    desk.app.post(&theirs, &stranger.key, json!({})).await.expect_error(404, "not_found");

    // With an LLM the clusters get its names; the rejected one stays out; a proposal merges.
    let settings = json!({"base_url": desk.llm.base_url(), "model": "test-model"});
    desk.app.send(Method::PUT, "/v1/settings/llm", Some(&key), Some(&settings)).await.expect(200);
    desk.app.post("/v1/intents/discovery", &desk.agent, json!({})).await.expect_error(403, "forbidden");
    let again = desk.discovered().await;
    assert!(proposal_of(&again, &GIFT).is_none_or(|(_, hits)| hits < 3), "the rejected cluster is back: {again}");
    let (vat_again, _) = proposal_of(&again, &VAT).expect("the VAT cluster again");
    let label = vat_again["label_suggestion"].as_str().unwrap_or_default();
    assert!(label.starts_with("group_") && vat_again["description"].is_string(), "named by the LLM: {vat_again}");
    let merge = format!("/v1/intents/discovery/{}/proposals/{}/merge", id_of(&again), id_of(vat_again));
    desk.app.post(&merge, &key, json!({"into": "made_up"})).await.expect_error(422, "unknown_intent");
    let merged = desk.app.post(&merge, &key, json!({"into": "vat_invoice"})).await.expect(200);
    assert_eq!((&merged["status"], &merged["decided_label"]), (&json!("merged"), &json!("vat_invoice")));
    let listed = desk.app.get("/v1/intents/discovery", &key).await.expect(200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(2));
}
