//! Webhooks over HTTP with a real receiver on loopback that checks every signature: events
//! arrive signed (Standard Webhooks) in the documented shape; an outage loses nothing and
//! retries keep their `webhook-id`; a ticket's events arrive in order; a slow endpoint does not hold up another; 410 and a
//! long failure disable an endpoint (with an event); dead letters are listed, retried and
//! replayed; secret rotation signs with both secrets; request-forgery URLs are refused;
//! integration events in are idempotent; and every webhook resource is another tenant's 404.

use std::{collections::HashMap, time::Duration};

use copilot_tests::{TestApp, TestTenant, receiver::Receiver, spawn_app_alone_with, uuid_at};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

struct Hooks {
    app: TestApp,
    tenant: TestTenant,
}

async fn hooks() -> Hooks {
    hooks_with(|_| {}).await
}

async fn hooks_with(adjust: impl FnOnce(&mut copilot_core::settings::Settings)) -> Hooks {
    // Alone on a database: no other test's app claims (and abandons) these deliveries.
    let app = spawn_app_alone_with(adjust).await;
    let tenant = app.create_tenant().await;
    Hooks { app, tenant }
}

impl Hooks {
    /// Registers an endpoint; returns its id and secret.
    async fn endpoint(&self, url: &str, events: Value) -> (Uuid, String) {
        let created =
            self.app.post("/v1/webhooks", &self.tenant.key, json!({"url": url, "events": events})).await.expect(201);
        let secret = created["secret"].as_str().expect("secret").to_owned();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(created["id"], created["webhook"]["id"]);
        (uuid_at(&created, "/id"), secret)
    }

    async fn ticket(&self, subject: &str) -> Uuid {
        uuid_at(&self.app.create_ticket(&self.tenant.key, subject, "c@example.test").await, "/ticket/id")
    }

    async fn deliveries(&self, endpoint: Uuid, query: &str) -> Vec<Value> {
        let page = self
            .app
            .get(&format!("/v1/webhooks/{endpoint}/deliveries?limit=100{query}"), &self.tenant.key)
            .await
            .expect(200);
        page["data"].as_array().cloned().unwrap_or_default()
    }

    /// The endpoint's deliveries once `settled` holds of them; fails after 20 seconds.
    async fn deliveries_when(&self, endpoint: Uuid, what: &str, settled: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.deliveries(endpoint, "").await;
            if settled(&log) {
                return log;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: {log:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn of_type<'a>(
    received: &'a [copilot_tests::receiver::Received],
    kind: &str,
) -> Vec<&'a copilot_tests::receiver::Received> {
    received.iter().filter(|r| r.body["type"] == kind).collect()
}

#[tokio::test]
async fn events_arrive_signed_in_the_documented_shape() {
    let hooks = hooks().await;
    let receiver = Receiver::start().await;
    let (_, secret) = hooks.endpoint(&receiver.url(), json!(["*"])).await;
    receiver.trust(&[&secret]);
    let ticket = hooks.ticket("Signed").await;

    let received = receiver
        .wait_until(Duration::from_secs(20), |r| {
            ["ticket.created", "message.created", "triage.completed", "draft.ready"]
                .iter()
                .all(|t| !of_type(r, t).is_empty())
        })
        .await;
    let created = of_type(&received, "ticket.created");
    assert_eq!(created.len(), 1, "{received:?}");
    let event = created[0];
    assert_eq!(event.verified_by, vec![0], "the signature verifies with the endpoint's secret");
    assert_eq!(event.body["id"], json!(event.id), "webhook-id is the event's id");
    assert_eq!(event.body["tenant_id"], json!(hooks.tenant.id));
    assert_eq!(event.body["data"]["ticket"]["id"], json!(ticket));
    assert!(event.body["created_at"].as_str().is_some());
    let now = chrono::Utc::now().timestamp();
    let sent: i64 = event.timestamp.parse().expect("a unix timestamp");
    assert!((now - sent).abs() < 60);
    for kind in ["message.created", "triage.completed", "draft.ready"] {
        let events = of_type(&received, kind);
        assert!(!events.is_empty() && events.iter().all(|e| e.verified_by == vec![0]), "{kind}: {received:?}");
    }
    assert_eq!(of_type(&received, "triage.completed")[0].body["data"]["ticket_id"], json!(ticket));
    // A message's triage has the REST API's shape in events too (queued, when the message
    // was stored); the triage event names its intent and sentiment the same way.
    let message = &of_type(&received, "message.created")[0].body["data"]["message"];
    assert_eq!(message["triage"], json!({"status": "pending", "attempts": 0}), "{message}");
    let triaged = &of_type(&received, "triage.completed")[0].body["data"];
    assert!(triaged["intent"]["label"].is_string() && triaged["intent"]["confidence"].is_number(), "{triaged}");
    assert!(triaged["sentiment"]["label"].is_string() && triaged["sentiment"]["score"].is_number(), "{triaged}");
}

#[tokio::test]
async fn an_outage_loses_nothing_and_retries_keep_their_webhook_id() {
    let hooks = hooks().await;
    let mut receiver = Receiver::start().await;
    let (endpoint, secret) = hooks.endpoint(&receiver.url(), json!(["ticket.created"])).await;
    receiver.trust(&[&secret]);
    receiver.answer(503);
    let first = hooks.ticket("During the outage, 1").await;
    receiver.wait_until(Duration::from_secs(10), |r| r.len() >= 2).await;
    receiver.stop().await; // now connections are refused too
    let second = hooks.ticket("During the outage, 2").await;
    // Both events met the outage: the second one's attempts so far were refused.
    hooks
        .deliveries_when(endpoint, "the second event was never attempted", |log| {
            log.len() == 2 && log.iter().all(|d| d["attempts"].as_i64() >= Some(1))
        })
        .await;
    receiver.answer(200);
    receiver.restart().await;

    let received =
        receiver.wait_until(Duration::from_secs(20), |r| r.iter().filter(|e| e.status == 200).count() >= 2).await;
    let mut attempts: HashMap<String, Vec<u16>> = HashMap::new();
    for event in &received {
        assert_eq!(event.verified_by, vec![0]);
        attempts.entry(event.id.clone()).or_default().push(event.status);
    }
    let tickets: Vec<Value> =
        received.iter().filter(|e| e.status == 200).map(|e| e.body["data"]["ticket"]["id"].clone()).collect();
    assert!(tickets.contains(&json!(first)) && tickets.contains(&json!(second)), "{tickets:?}");
    assert_eq!(attempts.len(), 2, "one webhook-id per event across its retries: {attempts:?}");
    assert!(attempts.values().all(|statuses| statuses.last() == Some(&200)));
    assert!(attempts.values().any(|statuses| statuses.len() > 1 && statuses[0] == 503), "{attempts:?}");

    // The sender records an attempt after the endpoint answered it.
    let log = hooks
        .deliveries_when(endpoint, "both deliveries settle as succeeded", |log| {
            log.len() == 2 && log.iter().all(|d| d["status"] == "succeeded" && d["last_status_code"] == 200)
        })
        .await;
    assert!(log.iter().any(|d| d["attempts"].as_i64() > Some(1)), "{log:?}");
    println!("delivery log after the outage:\n{}", serde_json::to_string_pretty(&log).unwrap_or_default());
}

#[tokio::test]
async fn a_tickets_events_arrive_in_order_even_when_the_first_is_retried() {
    let hooks = hooks().await;
    let receiver = Receiver::start().await;
    hooks.endpoint(&receiver.url(), json!(["ticket.created", "message.created"])).await;
    receiver.answer(503);
    let ticket = hooks.ticket("In order").await;
    // While `ticket.created` fails, the ticket's later events wait behind it.
    receiver.wait_until(Duration::from_secs(10), |r| r.len() >= 3).await;
    receiver.answer(200);

    let received = receiver
        .wait_until(Duration::from_secs(20), |r| {
            of_type(r, "message.created").iter().any(|e| e.status == 200)
                && of_type(r, "ticket.created").iter().any(|e| e.status == 200)
        })
        .await;
    let created_at = received
        .iter()
        .position(|e| e.body["type"] == "ticket.created" && e.status == 200)
        .expect("ticket.created arrived");
    let first_message = received.iter().position(|e| e.body["type"] == "message.created").expect("message.created");
    assert!(
        created_at < first_message,
        "message.created was sent before ticket.created was accepted: {:?}",
        received.iter().map(|e| (e.body["type"].clone(), e.status)).collect::<Vec<_>>()
    );
    assert!(received[..created_at].iter().all(|e| e.body["type"] == "ticket.created"), "{received:?}");
    assert_eq!(of_type(&received, "message.created")[0].body["data"]["message"]["ticket_id"], json!(ticket));
}

#[tokio::test]
async fn a_slow_endpoint_does_not_hold_up_another() {
    let hooks = hooks().await;
    let slow = Receiver::start().await;
    slow.delay(Duration::from_secs(5)); // past the 2 s timeout of the tests
    let fast = Receiver::start().await;
    hooks.endpoint(&slow.url(), json!(["ticket.created"])).await;
    hooks.endpoint(&fast.url(), json!(["ticket.created"])).await;
    for n in 0..6 {
        hooks.ticket(&format!("Busy {n}")).await;
    }
    let started = std::time::Instant::now();
    let received = fast.wait_until(Duration::from_secs(10), |r| r.len() >= 6).await;
    assert_eq!(received.len(), 6, "every event reached the fast endpoint");
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_failing_too_long_does_too_with_an_event() {
    let hooks = hooks().await;
    let gone = Receiver::start().await;
    gone.answer(410);
    let watcher = Receiver::start().await;
    let (gone_id, _) = hooks.endpoint(&gone.url(), json!(["ticket.created"])).await;
    hooks.endpoint(&watcher.url(), json!(["webhook.endpoint.disabled"])).await;
    hooks.ticket("Gone").await;
    let disabled = watcher.wait_until(Duration::from_secs(10), |r| !r.is_empty()).await;
    assert_eq!(disabled[0].body["data"]["endpoint_id"], json!(gone_id));
    let endpoint = hooks.app.get(&format!("/v1/webhooks/{gone_id}"), &hooks.tenant.key).await.expect(200);
    assert_eq!(endpoint["enabled"], false);
    assert!(endpoint["disabled_reason"].as_str().is_some_and(|r| r.contains("410")), "{endpoint}");
    hooks.ticket("After it was disabled").await;
    hooks.app.drain_queue("webhooks").await;
    assert_eq!(gone.received().len(), 1, "a disabled endpoint gets nothing more");

    // An endpoint whose every attempt has failed for longer than allowed is disabled too.
    let failing = Receiver::start().await;
    failing.answer(500);
    let (failing_id, _) = hooks.endpoint(&failing.url(), json!(["ticket.created"])).await;
    hooks.ticket("Failing").await;
    failing.wait_until(Duration::from_secs(10), |r| !r.is_empty()).await;
    let db = copilot_store::connect(&hooks.app.database_url, 1).await.expect("connect");
    use sea_orm::ConnectionTrait;
    db.unscoped()
        .execute_unprepared(&format!(
            "UPDATE webhook_endpoints SET failing_since = now() - interval '6 days' WHERE id = '{failing_id}'"
        ))
        .await
        .expect("age the failure");
    let disabled = watcher.wait_until(Duration::from_secs(10), |r| r.len() >= 2).await;
    assert_eq!(disabled[1].body["data"]["endpoint_id"], json!(failing_id), "{disabled:?}");
    let endpoint = hooks.app.get(&format!("/v1/webhooks/{failing_id}"), &hooks.tenant.key).await.expect(200);
    assert_eq!(endpoint["enabled"], false);

    // Enabled again by an admin, it receives events again.
    failing.answer(200);
    hooks
        .app
        .patch(&format!("/v1/webhooks/{failing_id}"), &hooks.tenant.key, json!({"enabled": true}))
        .await
        .expect(200);
    hooks.ticket("Back").await;
    failing.wait_until(Duration::from_secs(10), |r| r.iter().any(|e| e.status == 200)).await;
    assert!(failing.received().iter().any(|e| e.status == 200 && e.body["data"]["ticket"]["subject"] == "Back"));
}

#[tokio::test]
async fn dead_letters_are_listed_retried_and_replayed() {
    let hooks = hooks().await;
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let (endpoint, _) = hooks.endpoint(&receiver.url(), json!(["ticket.created"])).await;
    let since = chrono::Utc::now();
    hooks.ticket("Dead letter").await;
    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = hooks.deliveries(endpoint, "&status=failed").await;
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead.len(), 1, "the schedule was spent");
    assert_eq!(dead[0]["attempts"], 10);
    assert_eq!(dead[0]["last_status_code"], 500);
    assert_eq!(receiver.received().len(), 10);

    receiver.answer(200);
    let delivery = uuid_at(&dead[0], "/id");
    let retried = hooks
        .app
        .post(&format!("/v1/webhooks/{endpoint}/deliveries/{delivery}/retry"), &hooks.tenant.key, json!({}))
        .await
        .expect(200);
    assert_eq!(retried["status"], "pending");
    let received = receiver.wait_until(Duration::from_secs(10), |r| r.iter().any(|e| e.status == 200)).await;
    assert_eq!(received.iter().filter(|e| e.status == 200).count(), 1);
    // The receiver answers before the sender records the outcome: wait for the log.
    for _ in 0..100 {
        if hooks.deliveries(endpoint, "").await[0]["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let replayed = hooks
        .app
        .post(&format!("/v1/webhooks/{endpoint}/replay"), &hooks.tenant.key, json!({"since": since}))
        .await
        .expect(200);
    assert_eq!(replayed["queued"], 1);
    let received =
        receiver.wait_until(Duration::from_secs(10), |r| r.iter().filter(|e| e.status == 200).count() >= 2).await;
    let ok: Vec<&String> = received.iter().filter(|e| e.status == 200).map(|e| &e.id).collect();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0], ok[1], "a replay carries the event's original webhook-id");

    let test = hooks.app.post(&format!("/v1/webhooks/{endpoint}/test"), &hooks.tenant.key, json!({})).await.expect(200);
    assert_eq!(test["event_type"], "webhook.test");
    receiver.wait_until(Duration::from_secs(10), |r| r.iter().any(|e| e.body["type"] == "webhook.test")).await;
}

#[tokio::test]
async fn a_rotated_secret_signs_alongside_the_old_one() {
    let hooks = hooks().await;
    let receiver = Receiver::start().await;
    let (endpoint, old) = hooks.endpoint(&receiver.url(), json!(["ticket.created"])).await;
    let rotated = hooks
        .app
        .post(&format!("/v1/webhooks/{endpoint}/rotate-secret"), &hooks.tenant.key, json!({}))
        .await
        .expect(200);
    let new = rotated["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new, old);
    assert!(rotated["webhook"]["previous_secret_until"].as_str().is_some());
    receiver.trust(&[&old, &new]);
    hooks.ticket("Rotated").await;
    let received = receiver.wait_until(Duration::from_secs(10), |r| !r.is_empty()).await;
    assert_eq!(received[0].verified_by, vec![0, 1], "both secrets verify: {:?}", received[0].signature);
    assert_eq!(received[0].signature.split(' ').count(), 2);
}

#[tokio::test]
async fn request_forgery_urls_are_refused_unless_the_operator_allows_them() {
    let hooks = hooks_with(|settings| settings.webhook_allow_private = false).await;
    for url in [
        "http://hooks.example.com/in",
        "https://127.0.0.1/in",
        "https://10.0.0.8/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/in",
        "https://localhost/in",
        "ftp://example.com/in",
    ] {
        hooks
            .app
            .post("/v1/webhooks", &hooks.tenant.key, json!({"url": url, "events": ["*"]}))
            .await
            .expect_error(400, "invalid_webhook_url");
    }
    hooks
        .app
        .post("/v1/webhooks", &hooks.tenant.key, json!({"url": "https://8.8.8.8/in", "events": ["no.such.event"]}))
        .await
        .expect_error(400, "invalid_event_types");
}

#[tokio::test]
async fn integration_events_in_are_applied_once_per_key() {
    let hooks = hooks().await;
    let open = json!({"type": "ticket.opened", "ticket": {"subject": "From the widget", "channel": "chat",
                      "customer": {"email": "w@example.test"}, "body": "Hi there"}});
    let post = |key: &'static str, body: Value| {
        let app = &hooks.app;
        let token = hooks.tenant.key.clone();
        async move {
            app.send_with(Method::POST, "/v1/inbound/events", Some(&token), Some(&body), &[("Idempotency-Key", key)])
                .await
        }
    };
    let first = post("widget-1", open.clone()).await.expect(200);
    let again = post("widget-1", open.clone()).await.expect(200);
    assert_eq!(first, again);
    assert_eq!(first["created_ticket"], true);
    let ticket = uuid_at(&first, "/ticket_id");
    let mut other = open.clone();
    other["ticket"]["subject"] = json!("Changed");
    post("widget-1", other).await.expect_error(422, "idempotency_key_reused");

    let message = json!({"type": "customer.message", "ticket_id": ticket, "body": "Any news?"});
    let added = post("widget-2", message.clone()).await.expect(200);
    post("widget-2", message).await.expect(200);
    assert_eq!(added["created_ticket"], false);
    let thread = hooks.app.get(&format!("/v1/tickets/{ticket}/messages"), &hooks.tenant.key).await.expect(200);
    assert_eq!(thread["data"].as_array().map(Vec::len), Some(2), "no duplicate message");

    hooks
        .app
        .send(Method::POST, "/v1/inbound/events", Some(&hooks.tenant.key), Some(&open))
        .await
        .expect_error(400, "invalid_parameter");
    post("widget-3", json!({"type": "customer.message", "body": "no ticket"})).await.expect_error(400, "invalid_event");
}

#[tokio::test]
async fn another_tenants_webhooks_and_deliveries_are_not_found() {
    let hooks = hooks().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = hooks.endpoint(&receiver.url(), json!(["ticket.created"])).await;
    hooks.ticket("Ours").await;
    receiver.wait_until(Duration::from_secs(10), |r| !r.is_empty()).await;
    let delivery = uuid_at(&hooks.deliveries(endpoint, "").await[0], "/id");

    let other = hooks.app.create_tenant().await;
    let theirs = Receiver::start().await;
    let (_, _) = {
        let created =
            hooks.app.post("/v1/webhooks", &other.key, json!({"url": theirs.url(), "events": ["*"]})).await.expect(201);
        (uuid_at(&created, "/webhook/id"), ())
    };
    for (method, path) in [
        (Method::GET, format!("/v1/webhooks/{endpoint}")),
        (Method::PATCH, format!("/v1/webhooks/{endpoint}")),
        (Method::DELETE, format!("/v1/webhooks/{endpoint}")),
        (Method::POST, format!("/v1/webhooks/{endpoint}/rotate-secret")),
        (Method::POST, format!("/v1/webhooks/{endpoint}/test")),
        (Method::GET, format!("/v1/webhooks/{endpoint}/deliveries")),
        (Method::POST, format!("/v1/webhooks/{endpoint}/deliveries/{delivery}/retry")),
        (Method::POST, format!("/v1/webhooks/{endpoint}/replay")),
    ] {
        let body = json!({"since": "2026-01-01T00:00:00Z", "enabled": true});
        hooks.app.send(method.clone(), &path, Some(&other.key), Some(&body)).await.expect_error(404, "not_found");
    }
    let listed = hooks.app.get("/v1/webhooks", &other.key).await.expect(200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    hooks.ticket("Still ours").await;
    hooks.app.drain_queue("webhooks").await;
    assert!(theirs.received().iter().all(|e| e.body["tenant_id"] == json!(other.id)), "no event crosses tenants");
}

#[tokio::test]
async fn a_service_restarted_mid_retry_delivers_every_event() {
    let database = copilot_tests::new_postgres_database().await;
    let data_dir = std::env::temp_dir().join(format!("copilot-webhook-restart-{}", Uuid::new_v4().simple()));
    let receiver = Receiver::start().await;
    receiver.answer(503);
    // An attempt the kill interrupts is retried once its lease (twice the timeout plus
    // 15 s) runs out.
    let env = [
        ("COPILOT_WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("COPILOT_WEBHOOK_TIMEOUT_SECONDS", "2".to_owned()),
        ("COPILOT_WEBHOOK_RETRY_SCHEDULE", "0s,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms".to_owned()),
    ];
    let first = copilot_tests::Service::start(&database, &data_dir, &env).await;
    let tenant = first.app.create_tenant().await;
    let created = first
        .app
        .post("/v1/webhooks", &tenant.key, json!({"url": receiver.url(), "events": ["ticket.created"]}))
        .await
        .expect(201);
    receiver.trust(&[created["secret"].as_str().expect("secret")]);
    let mut tickets = Vec::new();
    for n in 0..3 {
        tickets.push(json!(uuid_at(
            &first.app.create_ticket(&tenant.key, &format!("Restart {n}"), "r@example.test").await,
            "/ticket/id"
        )));
    }
    receiver.wait_until(Duration::from_secs(10), |r| r.len() >= 6).await;
    first.kill();
    receiver.answer(200);

    let second = copilot_tests::Service::start(&database, &data_dir, &env).await;
    let received =
        receiver.wait_until(Duration::from_secs(60), |r| r.iter().filter(|e| e.status == 200).count() >= 3).await;
    let delivered: Vec<&Value> =
        received.iter().filter(|e| e.status == 200).map(|e| &e.body["data"]["ticket"]["id"]).collect();
    for ticket in &tickets {
        assert!(delivered.contains(&ticket), "{ticket} delivered after the restart: {delivered:?}");
    }
    assert!(received.iter().all(|e| e.verified_by == vec![0]));
    second.kill();
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn an_attempt_that_outlived_its_lease_does_not_settle_the_next_one() {
    use copilot_webhooks::deliveries::{self, Attempt, Job, Policy};

    let hooks = hooks().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = hooks.endpoint(&receiver.url(), json!(["ticket.created"])).await;
    hooks.ticket("Fenced").await;
    let mut delivered = Vec::new();
    for _ in 0..200 {
        delivered = hooks.deliveries(endpoint, "&status=succeeded").await;
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivery = uuid_at(delivered.first().expect("delivered"), "/id");

    // A later attempt (2) is being made, its lease far off, when the sender of attempt 1,
    // long past its lease, reports its outcome: it is dropped.
    let db = copilot_store::connect(&hooks.app.database_url, 1).await.expect("connect");
    let hold = format!(
        "UPDATE webhook_deliveries SET status = 'sending', attempts = 2, next_attempt_at = '2999-01-01T00:00:00Z' WHERE id = '{delivery}'"
    );
    sea_orm::ConnectionTrait::execute_unprepared(db.unscoped(), &hold).await.expect("hold the delivery");
    let job = |attempts| Job {
        delivery_id: delivery,
        endpoint_id: endpoint,
        url: receiver.url(),
        secrets: Vec::new(),
        message_id: String::new(),
        body: Vec::new(),
        attempts,
        request_id: None,
    };
    let policy = Policy {
        retry: copilot_core::retry::Backoff::Schedule(vec![Duration::ZERO; 3]),
        disable_after: chrono::Duration::days(1),
    };
    let tx = db.tenant(copilot_core::TenantId(hooks.tenant.id)).await.expect("tenant");
    let late = Attempt::Answered { status: 500, body: "late".into() };
    deliveries::record(&tx, &job(1), late, &policy).await.expect("stale outcome");
    tx.commit().await.expect("commit");
    let held = hooks.deliveries(endpoint, "").await;
    let held = held.iter().find(|d| d["id"] == json!(delivery)).expect("listed");
    assert_eq!((held["status"].as_str(), held["attempts"].as_i64()), (Some("sending"), Some(2)), "{held}");

    let tx = db.tenant(copilot_core::TenantId(hooks.tenant.id)).await.expect("tenant");
    let answered = Attempt::Answered { status: 200, body: "ok".into() };
    deliveries::record(&tx, &job(2), answered, &policy).await.expect("outcome");
    tx.commit().await.expect("commit");
    let settled = hooks.deliveries(endpoint, "&status=succeeded").await;
    assert!(settled.iter().any(|d| d["id"] == json!(delivery) && d["last_response"] == "ok"), "{settled:?}");
}

#[tokio::test]
async fn tenants_llm_and_smtp_endpoints_follow_the_address_policy() {
    let app = copilot_tests::spawn_app_alone_with(|settings| settings.tenant_endpoints_allow_private = false).await;
    let tenant = app.create_tenant().await;
    for base_url in [
        "http://127.0.0.1:9/latest/meta-data/iam?x=",
        "https://169.254.169.254/v1",
        "https://[::ffff:10.0.0.1]/v1",
        "https://[64:ff9b::a9fe:a9fe]/v1",
        "https://[2002:7f00:1::]/v1",
        "https://[fec0::1]/v1",
        "http://llm.example.com/v1",
    ] {
        let llm = json!({"base_url": base_url, "model": "m"});
        let reply = app.send(Method::PUT, "/v1/settings/llm", Some(&tenant.key), Some(&llm)).await;
        assert!(
            reply.body["detail"].as_str().is_some_and(|detail| detail.contains("base_url")),
            "{base_url}: {}",
            reply.body
        );
        reply.expect_error(400, "invalid_base_url");
    }
    for smtp_url in ["smtp://127.0.0.1:1", "smtps://[::1]:465", "smtp://10.1.2.3:25"] {
        let email = json!({"addresses": ["help@acme.test"], "smtp_url": smtp_url});
        app.send(Method::PUT, "/v1/settings/email", Some(&tenant.key), Some(&email))
            .await
            .expect_error(400, "invalid_smtp_url");
    }
    // A name is checked where it resolves: `localhost` passes the form but not the connection.
    let llm = json!({"base_url": "https://localhost:9/v1", "model": "m"});
    app.send(Method::PUT, "/v1/settings/llm", Some(&tenant.key), Some(&llm)).await.expect(200);
    let ticket = app.create_ticket(&tenant.key, "Where is my parcel?", "c@example.test").await;
    let ticket = copilot_tests::uuid_at(&ticket, "/ticket/id");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let draft = loop {
        let drafts = app.get(&format!("/v1/tickets/{ticket}/drafts"), &tenant.key).await.expect(200);
        if let Some(draft) = drafts["data"].as_array().and_then(|d| d.first()).filter(|d| d["status"] != "generating") {
            break draft.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no draft settled: {drafts}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(draft["status"], "failed", "{draft}");
    let error = draft["error"].as_str().unwrap_or_default();
    assert!(error.contains("not allowed") || error.contains("not public"), "{error}");
    assert!(error.len() < 600 && !error.contains('\n'), "{error}");
}
