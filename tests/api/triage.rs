//! Triage of customer messages through the API: stored results, ticket fields and
//! filters, on-demand triage, escalation, and retries when the models fail.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use copilot_tests::{Backend, TestApp, model_triager, spawn_app, spawn_app_on, spawn_app_with_triager, uuid_at};
use serde_json::{Value, json};

async fn open_ticket(app: &TestApp, token: &str, subject: &str, body: &str) -> uuid::Uuid {
    let created = app
        .post(
            "/v1/tickets",
            token,
            json!({"subject": subject, "channel": "web", "customer": {"email": "c@example.test"}, "body": body}),
        )
        .await
        .expect(201);
    assert_eq!(created["message"]["triage"]["status"], "pending", "triage is queued with the message");
    uuid_at(&created, "/ticket/id")
}

#[tokio::test]
async fn every_customer_message_is_triaged_and_the_ticket_shows_the_latest() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let id = open_ticket(&app, &tenant.key, "Order", "Where is my package? Order #A1029 still hasn't arrived").await;
    app.post(&format!("/v1/tickets/{id}/messages"), &tenant.key, json!({"author": "note", "body": "checking"}))
        .await
        .expect(201);
    app.post(
        &format!("/v1/tickets/{id}/messages"),
        &tenant.key,
        json!({"author": "customer", "body": "我要退款，东西坏了"}),
    )
    .await
    .expect(201);

    let thread = app.wait_for_triage(&tenant.key, id).await;

    let messages = thread["data"].as_array().cloned().unwrap_or_default();
    let first = &messages[0]["triage"];
    assert_eq!(first["status"], "done");
    assert_eq!(first["intent"]["label"], "track_order");
    assert_eq!(first["language"], "en");
    assert!(first["intent"]["confidence"].as_f64().is_some_and(|c| c > 0.4 && c <= 1.0), "{first}");
    assert!(first["sentiment"]["score"].as_f64().is_some_and(|s| (-1.0..=1.0).contains(&s)), "{first}");
    assert!(messages[1].get("triage").is_none(), "notes are not triaged");
    let latest = &messages[2]["triage"];
    assert_eq!(latest["intent"]["label"], "get_refund");
    assert_eq!(latest["language"], "zh");
    let ticket = app.get(&format!("/v1/tickets/{id}"), &tenant.key).await.expect(200);
    assert_eq!(ticket["intent"], "get_refund");
    assert_eq!(ticket["language"], "zh");
    assert_eq!(ticket["sentiment"], latest["sentiment"]["label"]);
}

#[tokio::test]
async fn tickets_are_filtered_by_intent_sentiment_and_language() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let refund =
        open_ticket(&app, &tenant.key, "a", "I want my money back for the broken blender, this is terrible").await;
    let invoice = open_ticket(&app, &tenant.key, "b", "能开发票吗？公司报销要用").await;
    app.wait_for_triage(&tenant.key, refund).await;
    app.wait_for_triage(&tenant.key, invoice).await;

    let ids = |page: Value| -> Vec<String> {
        page["data"].as_array().into_iter().flatten().filter_map(|t| t["id"].as_str().map(str::to_owned)).collect()
    };
    let by_intent = ids(app.get("/v1/tickets?intent=get_refund", &tenant.key).await.expect(200));
    let by_language = ids(app.get("/v1/tickets?language=zh", &tenant.key).await.expect(200));
    let negative = ids(app.get("/v1/tickets?sentiment=negative", &tenant.key).await.expect(200));

    assert_eq!(by_intent, vec![refund.to_string()]);
    assert_eq!(by_language, vec![invoice.to_string()]);
    assert!(negative.contains(&refund.to_string()), "{negative:?}");
}

#[tokio::test]
async fn a_text_is_triaged_on_demand_without_storing_anything() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let result = app
        .post("/v1/triage", &tenant.key, json!({"text": "How do I reset my password? I can't log in"}))
        .await
        .expect(200);

    assert_eq!(result["intent"]["label"], "recover_password");
    assert_eq!(result["language"], "en");
    assert_eq!(result["status"], "done");
    assert!(["negative", "neutral", "positive"].contains(&result["sentiment"]["label"].as_str().unwrap_or("")));
    let tickets = app.get("/v1/tickets", &tenant.key).await.expect(200);
    assert_eq!(tickets["data"], json!([]));
    app.post("/v1/triage", &tenant.key, json!({"text": "  "})).await.expect_error(400, "validation_failed");
    app.post("/v1/triage", &tenant.key, json!({"text": "x".repeat(10_001)}))
        .await
        .expect_error(400, "validation_failed");
    app.send(reqwest::Method::POST, "/v1/triage", None, Some(&json!({"text": "hi"})))
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_customer_turning_negative_raises_the_priority_once() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let id = open_ticket(
        &app,
        &tenant.key,
        "Broken",
        "This is the worst service ever. Three weeks and still nothing, I'm furious!",
    )
    .await;
    app.wait_for_triage(&tenant.key, id).await;
    let before = app.get(&format!("/v1/tickets/{id}"), &tenant.key).await.expect(200);
    app.post(
        &format!("/v1/tickets/{id}/messages"),
        &tenant.key,
        json!({"author": "customer", "body": "太差了，客服根本不理人，再也不买了！！"}),
    )
    .await
    .expect(201);
    app.wait_for_triage(&tenant.key, id).await;

    let after = app.get(&format!("/v1/tickets/{id}"), &tenant.key).await.expect(200);

    assert_eq!(before["priority"], "normal", "one negative message is not enough");
    assert_eq!(after["priority"], "high");
    let audit = app
        .get(&format!("/v1/audit-events?action=ticket.priority_escalated&target_id={id}"), &tenant.key)
        .await
        .expect(200);
    assert_eq!(audit["data"][0]["data"]["from"], "normal");
    assert_eq!(audit["data"][0]["data"]["to"], "high");
}

/// Fails the first `failures` calls, then runs the real models.
struct Flaky {
    failures: usize,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl copilot_api::triage::Triager for Flaky {
    async fn triage(&self, texts: Vec<String>) -> Result<Vec<copilot_triage::Triage>, String> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err("the model runtime is unavailable".into());
        }
        model_triager().triage(texts).await
    }
}

#[tokio::test]
async fn a_failing_model_loses_no_message_and_triage_is_retried() {
    let seed = spawn_app_on(Backend::Sqlite).await;
    let flaky = Arc::new(Flaky { failures: 1, calls: AtomicUsize::new(0) });
    let app = spawn_app_with_triager(&seed.database_url, Backend::Sqlite, flaky.clone(), |_| {}).await;
    let tenant = app.create_tenant().await;
    let id = open_ticket(&app, &tenant.key, "Order", "Where is my order #991?").await;

    let mut saw_retrying = false;
    for _ in 0..40 {
        let thread = app.get(&format!("/v1/tickets/{id}/messages"), &tenant.key).await.expect(200);
        let triage = &thread["data"][0]["triage"];
        if triage["status"] == "retrying" {
            assert_eq!(triage["error"], "the model runtime is unavailable");
            assert_eq!(thread["data"][0]["body"], "Where is my order #991?", "the message is stored");
            saw_retrying = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let thread = app.wait_for_triage(&tenant.key, id).await;

    assert!(saw_retrying, "the failed attempt is visible");
    let triage = &thread["data"][0]["triage"];
    assert_eq!(triage["status"], "done");
    assert_eq!(triage["attempts"], 2);
    assert!(triage.get("error").is_none(), "{triage}");
    assert_eq!(triage["intent"]["label"], "track_order");
    assert!(flaky.calls.load(Ordering::SeqCst) >= 2);
}
