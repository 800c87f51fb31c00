//! Labelling jobs over HTTP: the tenant's LLM labels its customer messages with its
//! taxonomy, in batches, read strictly (labels outside the list are counted, never
//! stored); a person's correction outranks it; one job per tenant; cancelling drops the
//! batch in flight; bad input, no LLM, another tenant's messages never in a prompt.

use std::time::{Duration, Instant};

use copilot_tests::llm::LlmReply;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::drafts::{Desk, desk};

pub(crate) async fn labelling_desk(with_llm: bool) -> Desk {
    let desk = desk(with_llm).await;
    let key = Some(desk.tenant.key.as_str());
    let quiet = json!({"auto_draft": false, "summary_min_messages": 1000});
    desk.app.send(Method::PUT, "/v1/settings/drafting", key, Some(&quiet)).await.expect(200);
    let taxonomy = json!({"labels": [
        {"label": "refund", "description": "Money back for an order", "examples": ["I want my money back"]},
        {"label": "shipping", "examples": ["Where is my parcel?"]},
        {"label": "other", "examples": ["Hello"]},
    ]});
    desk.app.send(Method::PUT, "/v1/intents", key, Some(&taxonomy)).await.expect(200);
    desk
}

impl Desk {
    async fn job(&self, id: &str) -> Value {
        self.app.get(&format!("/v1/intents/labelling/{id}"), &self.tenant.key).await.expect(200)
    }

    pub(crate) async fn job_until(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let job = self.job(id).await;
            if done(&job) {
                return job;
            }
            assert!(Instant::now() < deadline, "the job did not get there: {job}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stored_labels(&self) -> Vec<(Uuid, String)> {
        let db = copilot_store::connect(&self.app.database_url, 1).await.expect("connect");
        let rows = sea_orm::ConnectionTrait::query_all_raw(
            db.unscoped(),
            sea_orm::Statement::from_sql_and_values(
                db.backend(),
                "SELECT message_id, label FROM message_labels WHERE tenant_id = $1 AND source = 'llm'",
                [self.tenant.id.into()],
            ),
        )
        .await
        .expect("read the labels");
        rows.iter()
            .map(|row| (row.try_get("", "message_id").expect("id"), row.try_get("", "label").expect("label")))
            .collect()
    }
}

pub(crate) fn id_of(job: &Value) -> String {
    job["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_tenants_llm_labels_its_messages_and_a_persons_correction_outranks_it() {
    let desk = labelling_desk(true).await;
    // Another tenant's message must never reach this tenant's prompts.
    let stranger = desk.app.create_tenant().await;
    desk.app.create_ticket(&stranger.key, "STRANGER-SECRET please refund me", "s@example.test").await;

    let texts = ["I want a refund for order 10422", "Where is my shipping update?", "Hello there", "Refund it please"];
    let mut tickets = Vec::new();
    for text in texts {
        let ticket = desk.ask(text).await;
        desk.app.wait_for_triage(&desk.agent, ticket).await;
        tickets.push(ticket);
    }
    // An agent sets the last one's intent: it is skipped, never sent.
    let thread = desk.app.get(&format!("/v1/tickets/{}/messages", tickets[3]), &desk.agent).await.expect(200);
    let corrected = thread["data"][0]["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/v1/tickets/{}/messages/{corrected}/triage", tickets[3]);
    desk.app.send(Method::PATCH, &path, Some(&desk.agent), Some(&json!({"intent": "refund"}))).await.expect(200);

    let asked = json!({"scope": {"only": "all"}, "max_messages": 100});
    let job = desk.app.post("/v1/intents/labelling", &desk.tenant.key, asked).await.expect(202);
    assert_eq!((&job["status"], &job["total"]), (&json!("queued"), &json!(4)), "{job}");
    let job = desk.job_until(&id_of(&job), |job| job["status"] == "done").await;
    assert_eq!((&job["labelled"], &job["invalid"], &job["skipped"]), (&json!(3), &json!(0), &json!(1)), "{job}");
    assert!(job["prompt_tokens"].as_i64().is_some_and(|tokens| tokens > 0), "{job}");
    let mut labels: Vec<String> = desk.stored_labels().await.into_iter().map(|(_, label)| label).collect();
    labels.sort();
    assert_eq!(labels, ["other", "refund", "shipping"]);
    let prompts: Vec<String> = desk.llm.requests().iter().map(|request| request.to_string()).collect();
    assert!(prompts.iter().any(|prompt| prompt.contains("I want a refund for order 10422")));
    assert!(!prompts.iter().any(|prompt| prompt.contains("STRANGER-SECRET")), "another tenant's message");
    assert!(!prompts.iter().any(|prompt| prompt.contains("Refund it please")), "a corrected message is not sent");
    let usage = desk.app.get("/v1/usage?group_by=feature", &desk.tenant.key).await.expect(200);
    assert!(usage["groups"].as_array().into_iter().flatten().any(|group| group["key"] == "label"), "{usage}");

    // A model that answers labels outside the list or for messages not in the batch: counted, never stored.
    let fresh = desk.ask("Where is my shipping, it is late").await;
    desk.app.wait_for_triage(&desk.agent, fresh).await;
    let wrong = json!({"labels": [{"ref": 1, "label": "made_up", "confidence": 0.9}, {"ref": 7, "label": "refund"}]});
    desk.llm.push([LlmReply::Text(wrong.to_string())]);
    let job = desk.app.post("/v1/intents/labelling", &desk.tenant.key, json!({"max_messages": 10})).await.expect(202);
    assert_eq!(job["total"], 1, "only the unlabelled message: {job}");
    let job = desk.job_until(&id_of(&job), |job| job["status"] == "done").await;
    assert_eq!(
        (&job["labelled"], &job["invalid"]),
        (&json!(0), &json!(3)),
        "two wrong entries and one left out: {job}"
    );
    assert_eq!(desk.stored_labels().await.len(), 3);

    // Someone else's job is 404; agents may not start one.
    desk.app.get(&format!("/v1/intents/labelling/{}", id_of(&job)), &stranger.key).await.expect_error(404, "not_found");
    desk.app
        .post("/v1/intents/labelling", &desk.agent, json!({"max_messages": 10}))
        .await
        .expect_error(403, "forbidden");
    let listed = desk.app.get("/v1/intents/labelling", &desk.tenant.key).await.expect(200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn one_job_runs_at_a_time_and_a_cancelled_batch_leaves_nothing() {
    let desk = labelling_desk(true).await;
    let ticket = desk.ask("I want a refund for my order").await;
    desk.app.wait_for_triage(&desk.agent, ticket).await;
    desk.llm.push([LlmReply::Silent(Duration::from_secs(3))]);
    let job = desk.app.post("/v1/intents/labelling", &desk.tenant.key, json!({"max_messages": 10})).await.expect(202);
    let id = id_of(&job);
    let deadline = Instant::now() + Duration::from_secs(30);
    while desk.llm.requests().is_empty() {
        assert!(Instant::now() < deadline, "the batch was not sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    desk.app
        .post("/v1/intents/labelling", &desk.tenant.key, json!({"max_messages": 10}))
        .await
        .expect_error(409, "labelling_running");
    let cancelled = desk.app.post(&format!("/v1/intents/labelling/{id}/cancel"), &desk.tenant.key, json!({})).await;
    assert_eq!(cancelled.expect(200)["status"], "cancelled");
    // The slow answer arrives (its call is counted), and its labels are dropped.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let usage = desk.app.get("/v1/usage?group_by=feature", &desk.tenant.key).await.expect(200);
        if usage["groups"].as_array().into_iter().flatten().any(|group| group["key"] == "label" && group["calls"] == 1)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the slow call did not end: {usage}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    desk.app.drain_queue("labelling").await;
    let job = desk.job(&id).await;
    assert_eq!((&job["status"], &job["labelled"]), (&json!("cancelled"), &json!(0)), "{job}");
    assert!(desk.stored_labels().await.is_empty());
    desk.app
        .post(&format!("/v1/intents/labelling/{id}/cancel"), &desk.tenant.key, json!({}))
        .await
        .expect_error(409, "labelling_finished");
    desk.app
        .post(&format!("/v1/intents/labelling/{id}/resume"), &desk.tenant.key, json!({}))
        .await
        .expect_error(409, "labelling_not_resumable");
}

#[tokio::test]
async fn bad_labelling_requests_are_refused_with_a_reason() {
    let desk = labelling_desk(true).await;
    for (body, status, code) in [
        (json!({"max_messages": 0}), 400, "validation_failed"),
        (json!({"max_messages": 100_001}), 400, "validation_failed"),
        (json!({"max_messages": 10, "max_tokens": 0}), 400, "validation_failed"),
        (
            json!({"max_messages": 10, "scope": {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}}),
            400,
            "validation_failed",
        ),
    ] {
        desk.app.post("/v1/intents/labelling", &desk.tenant.key, body).await.expect_error(status, code);
    }
    let unknown = json!({"max_messages": 10, "scope": {"only": "everything"}});
    let refused = desk.app.post("/v1/intents/labelling", &desk.tenant.key, unknown).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.body);
    desk.app
        .get(&format!("/v1/intents/labelling/{}", Uuid::now_v7()), &desk.tenant.key)
        .await
        .expect_error(404, "not_found");
    let without = labelling_desk(false).await;
    without
        .app
        .post("/v1/intents/labelling", &without.tenant.key, json!({"max_messages": 10}))
        .await
        .expect_error(409, "llm_not_configured");
}

#[tokio::test]
async fn a_job_out_of_tokens_stops_after_a_whole_batch_and_goes_on_with_a_raised_limit() {
    let desk = labelling_desk(true).await;
    let mut tickets = Vec::new();
    for i in 0..25 {
        tickets.push(desk.ask(&format!("Please refund order {i}")).await);
    }
    for ticket in tickets {
        desk.app.wait_for_triage(&desk.agent, ticket).await;
    }
    // One batch of 20 spends more than the job may: it stops before the second.
    let asked = json!({"scope": {"only": "all"}, "max_messages": 100, "max_tokens": 1});
    let job = desk.app.post("/v1/intents/labelling", &desk.tenant.key, asked).await.expect(202);
    let id = id_of(&job);
    let job = desk.job_until(&id, |job| job["status"] == "budget_exhausted").await;
    assert_eq!((&job["total"], &job["labelled"]), (&json!(25), &json!(20)), "{job}");
    assert_eq!(desk.stored_labels().await.len(), 20, "the first batch whole, nothing of the second");
    let resume = format!("/v1/intents/labelling/{id}/resume");
    desk.app.post(&resume, &desk.tenant.key, json!({"max_tokens": 1})).await.expect_error(400, "validation_failed");

    let resumed = desk.app.post(&resume, &desk.tenant.key, json!({"max_tokens": 1_000_000})).await.expect(200);
    assert_eq!(resumed["max_tokens"], 1_000_000);
    let job = desk.job_until(&id, |job| job["status"] == "done").await;
    assert_eq!(job["labelled"], 25, "{job}");
    assert_eq!(desk.stored_labels().await.len(), 25);
}
