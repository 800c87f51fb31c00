//! Triage of customer messages through the API: stored results, ticket fields and
//! filters, on-demand triage, escalation, and retries when the models fail.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use copilot_tests::{Backend, Hooked, TestApp, model_triager, spawn_app, spawn_app_with_triager, uuid_at};
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

#[tokio::test]
async fn a_message_that_makes_the_models_panic_fails_alone_and_the_queue_keeps_draining() {
    // A database of its own: no other test's worker may triage these messages.
    let database = copilot_tests::new_postgres_database().await;
    // The models panic at a message with "[boom]".
    let boom = Hooked(|texts: &[String]| {
        assert!(!texts.iter().any(|text| text.contains("[boom]")), "a message the models choke on");
        None
    });
    let app = spawn_app_with_triager(&database, Backend::Postgres, Arc::new(boom), |_| {}).await;
    let tenant = app.create_tenant().await;
    let poison = open_ticket(&app, &tenant.key, "Boom", "[boom] this message breaks the models").await;
    let mut fine = Vec::new();
    for text in ["Where is my parcel?", "I want a refund", "Can I change my address?", "Thanks, all good"] {
        fine.push(open_ticket(&app, &tenant.key, text, text).await);
    }

    for id in &fine {
        let thread = app.wait_for_triage(&tenant.key, *id).await;
        assert_eq!(thread["data"][0]["triage"]["status"], "done", "{thread}");
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let failure = loop {
        let thread = app.get(&format!("/v1/tickets/{poison}/messages"), &tenant.key).await.expect(200);
        let triage = thread["data"][0]["triage"].clone();
        if triage["error"].as_str().is_some_and(|error| error.contains("panicked")) {
            break triage;
        }
        assert!(tokio::time::Instant::now() < deadline, "the poison message was never failed: {triage}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(matches!(failure["status"].as_str(), Some("retrying" | "failed")), "{failure}");
    let ready = app.send(reqwest::Method::GET, "/readyz", None, None).await.expect(200);
    assert_eq!(ready["status"], "ready", "the worker never stopped: {ready}");
    // The metrics saw the five claims, their runs and the failed attempt.
    let metrics = reqwest::get(app.url("/metrics")).await.expect("metrics").text().await.expect("text");
    let value = |name: &str| -> f64 {
        let line = metrics.lines().find(|line| line.starts_with(name)).unwrap_or_default();
        line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0)
    };
    assert_eq!(value(r#"copilot_job_wait_seconds_count{queue="triage"}"#), 5.0, "{metrics}");
    assert!(value(r#"copilot_job_run_seconds_count{queue="triage"}"#) >= 5.0, "{metrics}");
    assert!(value(r#"copilot_job_failures_total{queue="triage"}"#) >= 1.0, "{metrics}");
    assert_eq!(value(r#"copilot_worker_up{worker="triage"}"#), 1.0, "{metrics}");
}

#[tokio::test]
async fn a_failing_model_loses_no_message_and_triage_is_retried() {
    // The only app on its database: no other app's worker claims its messages.
    let database = copilot_tests::sqlite_database();
    // The first call fails, the rest go to the real models.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let flaky = Hooked(move |_: &[String]| {
        (counted.fetch_add(1, Ordering::SeqCst) == 0).then(|| Err("the model runtime is unavailable".into()))
    });
    let app = spawn_app_with_triager(&database, Backend::Sqlite, Arc::new(flaky), |_| {}).await;
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
    assert!(calls.load(Ordering::SeqCst) >= 2);
}

fn taxonomy() -> Value {
    json!({"labels": [
        {"label": "warranty", "description": "Questions about warranty and guarantee cover", "examples": [
            "Is the drill still under warranty?", "My warranty card is lost, am I still covered?",
            "How long is the guarantee on the vacuum?", "Does the warranty cover a cracked screen?",
            "保修期是多久", "这个坏了在保修范围内吗"]},
        {"label": "installation", "description": "Booking or asking about installation", "examples": [
            "Can your technician install the dishwasher?", "Do you offer installation for the AC unit?",
            "Who mounts the TV on the wall?", "I need someone to set up the washing machine",
            "可以上门安装吗", "空调包安装吗"]},
        {"label": "other", "examples": ["thanks, bye", "hello?", "你好", "What time is it?", "ok", "谢谢"]}
    ]})
}

async fn wait_for_training(app: &TestApp, token: &str) -> Value {
    for _ in 0..600 {
        let job = app.get("/v1/intents/training", token).await.expect(200);
        if job["status"] != "queued" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("training did not finish in 30 s");
}

#[tokio::test]
async fn a_tenant_without_its_own_taxonomy_uses_the_default() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let taxonomy = app.get("/v1/intents", &tenant.key).await.expect(200);
    let labels: Vec<&str> =
        taxonomy["labels"].as_array().into_iter().flatten().filter_map(|l| l["label"].as_str()).collect();

    assert_eq!(taxonomy["source"], "default");
    assert_eq!(labels.len(), 28);
    assert!(labels.contains(&"track_order") && labels.contains(&"other"));
    app.get("/v1/intents/training", &tenant.key).await.expect_error(404, "not_found");
    app.post("/v1/intents/train", &tenant.key, json!({})).await.expect_error(422, "not_enough_examples");
}

#[tokio::test]
async fn a_tenants_trained_head_replaces_the_default_for_that_tenant_only() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let other_tenant = app.create_tenant().await;
    let stored = app.send(reqwest::Method::PUT, "/v1/intents", Some(&tenant.key), Some(&taxonomy())).await.expect(200);
    assert_eq!(stored["source"], "tenant");

    let queued = app.post("/v1/intents/train", &tenant.key, json!({})).await.expect(202);
    let job = wait_for_training(&app, &tenant.key).await;

    assert_eq!(queued["status"], "queued");
    assert_eq!(job["status"], "ready", "{job}");
    assert_eq!(job["active"], true);
    assert_eq!(job["example_count"], 18);
    assert!(job["cross_validated_accuracy"].as_f64().is_some_and(|a| a >= 0.6), "{job}");
    let mine =
        app.post("/v1/triage", &tenant.key, json!({"text": "Does the warranty cover water damage?"})).await.expect(200);
    let theirs = app
        .post("/v1/triage", &other_tenant.key, json!({"text": "Does the warranty cover water damage?"}))
        .await
        .expect(200);
    assert_eq!(mine["intent"]["label"], "warranty");
    assert_ne!(theirs["intent"]["label"], "warranty", "tenant B keeps the default taxonomy");
    let id = open_ticket(&app, &tenant.key, "Oven", "Can someone come and install my new oven?").await;
    let thread = app.wait_for_triage(&tenant.key, id).await;
    assert_eq!(thread["data"][0]["triage"]["intent"]["label"], "installation");
    app.get("/v1/intents/training", &other_tenant.key).await.expect_error(404, "not_found");
    assert_eq!(app.get("/v1/intents", &other_tenant.key).await.expect(200)["source"], "default");
}

#[tokio::test]
async fn a_label_keeps_the_name_people_see_and_bad_names_are_refused() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let labels = json!({"labels": [
        {"label": "warranty", "display_name": "Garantie / 保修", "examples": ["Is it still under warranty?"]},
        {"label": "installation", "display_name": "  ", "examples": ["Can you install it?"]},
    ]});
    app.send(reqwest::Method::PUT, "/v1/intents", Some(&tenant.key), Some(&labels)).await.expect(200);
    let stored = app.get("/v1/intents", &tenant.key).await.expect(200);
    let name = |label: &str| {
        stored["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["label"] == label)
            .map(|l| l["display_name"].clone())
    };
    assert_eq!(name("warranty"), Some(json!("Garantie / 保修")));
    assert_eq!(name("installation"), Some(Value::Null), "a blank name is no name: {stored}");
    let two_lines = json!({"labels": [
        {"label": "warranty", "display_name": "Warranty\nclaims", "examples": ["x"]},
        {"label": "other_thing", "examples": ["y"]},
    ]});
    app.send(reqwest::Method::PUT, "/v1/intents", Some(&tenant.key), Some(&two_lines))
        .await
        .expect_error(400, "invalid_text");
}

#[tokio::test]
async fn only_admins_change_or_train_the_taxonomy_and_labels_are_validated() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;

    app.send(reqwest::Method::PUT, "/v1/intents", Some(&agent), Some(&taxonomy())).await.expect_error(403, "forbidden");
    app.post("/v1/intents/train", &agent, json!({})).await.expect_error(403, "forbidden");
    let bad = json!({"labels": [{"label": "Not A Label", "examples": ["x"]}, {"label": "b", "examples": ["y"]}]});
    app.send(reqwest::Method::PUT, "/v1/intents", Some(&tenant.key), Some(&bad))
        .await
        .expect_error(400, "invalid_label");
    let single = json!({"labels": [{"label": "only", "examples": ["x"]}]});
    app.send(reqwest::Method::PUT, "/v1/intents", Some(&tenant.key), Some(&single))
        .await
        .expect_error(400, "validation_failed");
}

#[tokio::test]
async fn an_agent_corrects_an_intent_and_the_correction_becomes_a_training_example() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let other_tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let id = open_ticket(&app, &tenant.key, "Hmm", "I'd like to talk about my blender").await;
    let thread = app.wait_for_triage(&tenant.key, id).await;
    let message = thread["data"][0]["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/v1/tickets/{id}/messages/{message}/triage");

    let corrected = app.patch(&path, &agent, json!({"intent": "complaint"})).await.expect(200);

    assert_eq!(corrected["intent"]["label"], "complaint");
    assert_eq!(corrected["intent"]["confidence"], 1.0);
    assert_eq!(app.get(&format!("/v1/tickets/{id}"), &agent).await.expect(200)["intent"], "complaint");
    app.patch(&path, &agent, json!({"intent": "warranty"})).await.expect_error(422, "unknown_intent");
    app.patch(&path, &other_tenant.key, json!({"intent": "complaint"})).await.expect_error(404, "not_found");
    app.send(
        reqwest::Method::PUT,
        "/v1/intents",
        Some(&tenant.key),
        Some(&json!({"labels": [
            {"label": "complaint", "examples": ["This is unacceptable"]},
            {"label": "other", "examples": ["hello"]}
        ]})),
    )
    .await
    .expect(200);
    let job = app.post("/v1/intents/train", &tenant.key, json!({})).await.expect(202);
    assert_eq!(job["example_count"], 3, "two taxonomy examples and the correction");
}

/// Never answers, so claimed items stay with the worker that holds them.
struct Stuck;

#[async_trait::async_trait]
impl copilot_pipeline::triage::Triager for Stuck {
    async fn triage(
        &self,
        _texts: Vec<String>,
        _head: Option<copilot_triage::HeadWeights>,
    ) -> Result<Vec<copilot_triage::Triage>, String> {
        std::future::pending().await
    }

    async fn embed(&self, _texts: Vec<String>, _kind: copilot_triage::TextKind) -> Result<Vec<Vec<f32>>, String> {
        std::future::pending().await
    }

    fn dimensions(&self) -> usize {
        model_triager().dimensions()
    }

    fn default_intents(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A lease of an hour, renewed every twenty minutes: a test that ends a lease by hand is
/// not undone by the holder's next renewal.
fn renew_rarely(settings: &mut copilot_core::settings::Settings) {
    settings.job_lease_seconds = 3600;
}

#[tokio::test]
async fn a_claimed_message_is_not_claimed_again_while_its_lease_runs() {
    // The only app on its database: no other app's worker claims its messages.
    let database = copilot_tests::sqlite_database();
    let app = spawn_app_with_triager(&database, Backend::Sqlite, Arc::new(Stuck), |_| {}).await;
    let tenant = app.create_tenant().await;
    let id = open_ticket(&app, &tenant.key, "Order", "Where is my order?").await;
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let mut attempts = 0;
    for _ in 0..100 {
        let thread = app.get(&format!("/v1/tickets/{id}/messages"), &tenant.key).await.expect(200);
        attempts = thread["data"][0]["triage"]["attempts"].as_i64().unwrap_or(0);
        if attempts == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(attempts, 1, "the app's worker claimed the message");

    let second_worker = copilot_intents::triage::claim(&db, 10, chrono::Duration::seconds(60)).await.expect("claim");

    assert!(second_worker.is_empty(), "a leased item goes to one worker at a time");
    let thread = app.get(&format!("/v1/tickets/{id}/messages"), &tenant.key).await.expect(200);
    assert_eq!(thread["data"][0]["triage"]["status"], "pending");
    // The queue an autoscaler watches: the message in triage, its draft waiting for it.
    let metrics = reqwest::get(app.url("/metrics")).await.expect("metrics").text().await.expect("text");
    for line in [
        r#"copilot_queue_depth{queue="triage"} 1"#,
        r#"copilot_queue_depth{queue="drafts"} 1"#,
        r#"copilot_queue_depth{queue="email"} 0"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn a_worker_that_outlived_its_lease_cannot_overwrite_the_next_and_endless_interruptions_fail() {
    use copilot_intents::triage::{self, EscalationRule, TriageResult};
    use copilot_pipeline::queues::TRIAGE;

    // The only app on its database: no other app's worker claims its messages.
    let database = copilot_tests::sqlite_database();
    // The stuck worker renews its lease rarely: the test takes it over by ending the lease.
    let app = spawn_app_with_triager(&database, Backend::Sqlite, Arc::new(Stuck), renew_rarely).await;
    let tenant = app.create_tenant().await;
    let id = open_ticket(&app, &tenant.key, "Order", "Where is my order?").await;
    let thread_path = format!("/v1/tickets/{id}/messages");
    let triage_of = |thread: &Value| thread["data"][0]["triage"].clone();
    for _ in 0..100 {
        if triage_of(&app.get(&thread_path, &tenant.key).await.expect(200))["attempts"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let expire = "UPDATE message_triage SET next_attempt_at = '2000-01-01T00:00:00Z'";
    sea_orm::ConnectionTrait::execute_unprepared(db.unscoped(), expire).await.expect("expire the lease");
    let taken_over = triage::claim(&db, 10, chrono::Duration::seconds(60)).await.expect("claim");
    assert_eq!(taken_over.iter().map(|c| c.attempt).collect::<Vec<_>>(), [2], "the second worker's attempt");
    let second = taken_over[0].clone();
    let first = triage::Claimed { attempt: 1, ..second.clone() };
    let result = |intent: &str| TriageResult {
        intent: intent.into(),
        intent_confidence: 0.9,
        sentiment: copilot_core::model::Sentiment::Neutral,
        sentiment_score: 0.0,
        language: "en".into(),
    };

    let tx = db.tenant(second.tenant_id).await.expect("tenant");
    triage::complete(&tx, &first, &result("late_first_worker"), &EscalationRule::default()).await.expect("stale");
    triage::fail(&tx, &first, "the first worker's late failure", &TRIAGE).await.expect("stale failure");
    tx.commit().await.expect("commit");
    let untouched = triage_of(&app.get(&thread_path, &tenant.key).await.expect(200));
    assert_eq!((untouched["status"].as_str(), untouched["error"].as_str()), (Some("pending"), None), "{untouched}");

    let tx = db.tenant(second.tenant_id).await.expect("tenant");
    triage::complete(&tx, &second, &result("order_status"), &EscalationRule::default()).await.expect("complete");
    tx.commit().await.expect("commit");
    let done = triage_of(&app.get(&thread_path, &tenant.key).await.expect(200));
    assert_eq!(
        (done["status"].as_str(), done["intent"]["label"].as_str()),
        (Some("done"), Some("order_status")),
        "{done}"
    );

    // A message whose every allowed attempt was claimed and never recorded (its workers
    // died, perhaps on it) is failed rather than claimed forever. (The app's own worker is
    // still stuck on the first message, so it claims nothing meanwhile.)
    let other = open_ticket(&app, &tenant.key, "Crash", "This message stops every worker").await;
    let other_path = format!("/v1/tickets/{other}/messages");
    let exhaust = format!(
        "UPDATE message_triage SET attempts = {}, next_attempt_at = '2000-01-01T00:00:00Z' WHERE status = 'pending'",
        TRIAGE.max_attempts()
    );
    sea_orm::ConnectionTrait::execute_unprepared(db.unscoped(), &exhaust).await.expect("exhaust the attempts");
    let claimed = triage::claim(&db, 10, chrono::Duration::seconds(60)).await.expect("claim");
    assert!(claimed.len() == 1 && TRIAGE.exhausted(claimed[0].attempt), "{claimed:?}");
    let tx = db.tenant(claimed[0].tenant_id).await.expect("tenant");
    triage::fail(&tx, &claimed[0], "interrupted too often", &TRIAGE).await.expect("fail");
    tx.commit().await.expect("commit");
    let failed = triage_of(&app.get(&other_path, &tenant.key).await.expect(200));
    assert_eq!(failed["status"], "failed", "{failed}");
}

#[tokio::test]
async fn a_training_that_outlived_its_lease_cannot_replace_the_newer_head() {
    use copilot_intents::versions as intents;
    use copilot_pipeline::queues::TRAINING;

    // The app's worker takes the training job and never finishes it (its embedder hangs).
    // The only app on its database: no other app's worker claims its messages.
    let database = copilot_tests::sqlite_database();
    let app = spawn_app_with_triager(&database, Backend::Sqlite, Arc::new(Stuck), renew_rarely).await;
    let tenant = app.create_tenant().await;
    app.send(reqwest::Method::PUT, "/v1/intents", Some(&tenant.key), Some(&taxonomy())).await.expect(200);
    let queued = app.post("/v1/intents/train", &tenant.key, json!({})).await.expect(202);
    for _ in 0..100 {
        if app.get("/v1/intents/training", &tenant.key).await.expect(200)["attempts"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let lease = chrono::Duration::seconds(60);
    assert!(
        intents::claim_training(&db, lease, &TRAINING).await.expect("claim").is_none(),
        "leased to the app's worker"
    );

    // Its lease runs out; another worker takes the job over as attempt 2.
    let expire = "UPDATE intent_models SET next_attempt_at = '2000-01-01T00:00:00Z'";
    sea_orm::ConnectionTrait::execute_unprepared(db.unscoped(), expire).await.expect("expire the lease");
    let second = intents::claim_training(&db, lease, &TRAINING).await.expect("claim").expect("taken over");
    assert_eq!((second.job, second.attempt), (uuid_at(&queued, "/id"), 2));
    let first = intents::ClaimedTraining { attempt: 1, ..second.clone() };
    let finished = |head: Value, accuracy: f64, folds: usize| intents::Finished {
        labels: vec!["warranty".to_owned(), "other".to_owned()],
        head,
        cross_validated_accuracy: Some(accuracy),
        folds,
        metrics: intents::Metrics {
            llm_labels_set_aside: 0,
            macro_f1_vs_people: None,
            macro_f1_vs_llm: None,
            held_out_people: 0,
            held_out_llm: 0,
            evaluated_on: intents::EvaluatedOn::Nothing,
            per_intent: Vec::new(),
        },
        gate: intents::decide(None, None, 0),
    };

    let tx = db.tenant(second.tenant_id).await.expect("tenant");
    intents::finish_training(&tx, &first, finished(json!({"late": true}), 0.1, 2)).await.expect("stale");
    intents::fail_training(&tx, &first, "the first worker's late failure", &TRAINING).await.expect("stale failure");
    tx.commit().await.expect("commit");
    let job = app.get("/v1/intents/training", &tenant.key).await.expect(200);
    assert_eq!((job["status"].as_str(), job["error"].as_str()), (Some("queued"), None), "{job}");

    let tx = db.tenant(second.tenant_id).await.expect("tenant");
    intents::finish_training(&tx, &second, finished(json!({"head": 2}), 0.9, 3)).await.expect("finish");
    tx.commit().await.expect("commit");
    let job = app.get("/v1/intents/training", &tenant.key).await.expect(200);
    assert_eq!((job["status"].as_str(), &job["active"], job["folds"].as_i64()), (Some("ready"), &json!(true), Some(3)));
}

#[tokio::test]
async fn a_tenant_that_floods_the_queue_takes_turns_with_the_others() {
    // The only app on its database: no other worker triages (and claims) these messages.
    let database = copilot_tests::sqlite_database();
    let app = spawn_app_with_triager(&database, Backend::Sqlite, Arc::new(Stuck), |_| {}).await;
    let (flood, other) = (app.create_tenant().await, app.create_tenant().await);
    let first = open_ticket(&app, &flood.key, "Order 0", "Where is order 0?").await;
    // The app's worker takes a first batch and hangs on it (the models never answer).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let thread = app.get(&format!("/v1/tickets/{first}/messages"), &flood.key).await.expect(200);
        if thread["data"][0]["triage"]["attempts"].as_i64() == Some(1) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the worker did not claim the first message");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for n in 1..=40 {
        open_ticket(&app, &flood.key, &format!("Order {n}"), &format!("Where is order {n}?")).await;
    }
    let late = open_ticket(&app, &other.key, "Refund", "I want my money back.").await;
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");

    let claimed = copilot_intents::triage::claim(&db, 16, chrono::Duration::seconds(60)).await.expect("claim");

    let from_flood = claimed.iter().filter(|item| item.tenant_id.0 == flood.id).count();
    let from_other: Vec<_> = claimed.iter().filter(|item| item.tenant_id.0 == other.id).collect();
    assert_eq!(from_other.len(), 1, "the other tenant's message is in the next batch: {claimed:?}");
    assert!(from_flood <= 4, "{from_flood} of the flooding tenant's messages in one batch");
    let thread = app.get(&format!("/v1/tickets/{late}/messages"), &other.key).await.expect(200);
    assert_eq!(from_other[0].message_id, uuid_at(&thread, "/data/0/id"));
}
