//! A smoke subset on the embedded default, SQLite.

use copilot_tests::{Backend, OWNER_PASSWORD, spawn_app_on, uuid_at};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_core_flow_works_on_sqlite() {
    let app = spawn_app_on(Backend::Sqlite).await;
    let a = app.create_tenant().await;
    let b = app.create_tenant().await;
    let login = app.login(&a.slug, &a.owner_email, OWNER_PASSWORD).await.expect(200);
    let session = login["token"].as_str().unwrap_or_default().to_owned();

    let body = json!({"subject": "Sqlite ticket", "channel": "api", "customer": {"email": "s@example.test"}, "body": "hello", "tags": ["x"]});
    let first = app
        .send_with(Method::POST, "/v1/tickets", Some(&session), Some(&body), &[("Idempotency-Key", "k")])
        .await
        .expect(201);
    let again = app
        .send_with(Method::POST, "/v1/tickets", Some(&session), Some(&body), &[("Idempotency-Key", "k")])
        .await
        .expect(201);
    let id = uuid_at(&first, "/ticket/id");
    app.create_ticket(&a.key, "second", "s@example.test").await;
    let updated = app.patch(&format!("/v1/tickets/{id}"), &session, json!({"status": "pending"})).await.expect(200);
    app.post(&format!("/v1/tickets/{id}/messages"), &session, json!({"author": "customer", "body": "more"}))
        .await
        .expect(201);
    let page = app.get("/v1/tickets?limit=1&q=SQLITE", &a.key).await.expect(200);
    let tagged = app.get("/v1/tickets?tag=x", &a.key).await.expect(200);

    assert_eq!(first, again);
    assert_eq!(updated["status"], "pending");
    assert_eq!(page["data"][0]["id"], id.to_string());
    assert_eq!(page["data"][0]["status"], "open", "the customer's reply reopened it");
    assert_eq!(tagged["data"].as_array().map(Vec::len), Some(1));
    app.get(&format!("/v1/tickets/{id}"), &b.key).await.expect_error(404, "not_found");
    app.patch(&format!("/v1/tickets/{id}"), &b.key, json!({"status": "closed"})).await.expect_error(404, "not_found");
    app.get(&format!("/v1/tickets/{id}/messages"), &b.key).await.expect_error(404, "not_found");
    let b_list = app.get("/v1/tickets", &b.key).await.expect(200);
    assert_eq!(b_list["data"], json!([]));
}

#[tokio::test]
async fn pagination_works_on_sqlite() {
    let app = spawn_app_on(Backend::Sqlite).await;
    let tenant = app.create_tenant().await;
    for i in 0..5 {
        app.create_ticket(&tenant.key, &format!("t{i}"), "p@example.test").await;
    }

    let first = app.get("/v1/tickets?limit=3", &tenant.key).await.expect(200);
    let cursor = first["next_cursor"].as_str().unwrap_or_default().to_owned();
    let second = app.get(&format!("/v1/tickets?limit=3&cursor={cursor}"), &tenant.key).await.expect(200);

    let subjects: Vec<&str> = first["data"]
        .as_array()
        .into_iter()
        .chain(second["data"].as_array())
        .flatten()
        .filter_map(|t| t["subject"].as_str())
        .collect();
    assert_eq!(subjects, vec!["t4", "t3", "t2", "t1", "t0"]);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn concurrent_writes_on_sqlite_wait_instead_of_failing() {
    let app = spawn_app_on(Backend::Sqlite).await;
    let tenant = app.create_tenant().await;
    let body = json!({"subject": "Race", "channel": "web", "customer": {"email": "r@example.test"}, "body": "hi"});

    let same_key = (0..6).map(|_| {
        app.send_with(Method::POST, "/v1/tickets", Some(&tenant.key), Some(&body), &[("Idempotency-Key", "race")])
    });
    let subjects: Vec<String> = (0..6).map(|i| format!("parallel {i}")).collect();
    let distinct = subjects.iter().map(|subject| app.create_ticket(&tenant.key, subject, "p@example.test"));
    let (replays, _) = tokio::join!(futures_util::future::join_all(same_key), futures_util::future::join_all(distinct));

    let ids: std::collections::HashSet<String> = replays
        .into_iter()
        .map(|reply| reply.expect(201)["ticket"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    let list = app.get("/v1/tickets?limit=100", &tenant.key).await.expect(200);
    let numbers: std::collections::HashSet<i64> =
        list["data"].as_array().into_iter().flatten().filter_map(|t| t["number"].as_i64()).collect();
    assert_eq!(
        numbers,
        (1..=7).collect::<std::collections::HashSet<i64>>(),
        "seven tickets, numbered without gaps or repeats"
    );
}

#[tokio::test]
async fn drafting_and_approval_work_on_sqlite_with_an_llm_and_without() {
    let app = spawn_app_on(Backend::Sqlite).await;
    let llm = copilot_tests::llm::TestLlm::start().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let document = json!({"title": "Returns", "content_type": "text/markdown",
                          "content": "# Returns\n\nYou can return any item within 30 days of delivery."});
    let accepted = app.post("/v1/knowledge/documents", &tenant.key, document).await.expect(202);
    app.wait_for_document(&tenant.key, uuid_at(&accepted, "/id")).await;

    let settled = |ticket: uuid::Uuid| {
        let (app, agent) = (&app, agent.clone());
        async move {
            for _ in 0..600 {
                let page = app.get(&format!("/v1/tickets/{ticket}/drafts"), &agent).await.expect(200);
                if page["data"][0]["status"].as_str().is_some_and(|status| status != "generating") {
                    return page["data"][0].clone();
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("no draft for {ticket}");
        }
    };
    let ask = |subject: &'static str| {
        let (app, key) = (&app, tenant.key.clone());
        async move {
            let body = json!({"subject": subject, "channel": "web", "customer": {"email": "c@example.test"},
                              "body": "How many days do I have to return an item?"});
            uuid_at(&app.post("/v1/tickets", &key, body).await.expect(201), "/ticket/id")
        }
    };

    let extractive = settled(ask("without an LLM").await).await;
    assert_eq!((extractive["status"].as_str(), extractive["mode"].as_str()), (Some("ready"), Some("extractive")));

    let settings = json!({"base_url": llm.base_url(), "model": "test-model", "api_key": "sk-sqlite"});
    app.send(Method::PUT, "/v1/settings/llm", Some(&tenant.key), Some(&settings)).await.expect(200);
    let ticket = ask("with an LLM").await;
    let draft = settled(ticket).await;
    assert_eq!((draft["status"].as_str(), draft["mode"].as_str()), (Some("ready"), Some("llm")), "{draft}");
    assert_eq!(llm.authorizations()[0].as_deref(), Some("Bearer sk-sqlite"), "the sealed key opens on SQLite");
    let id = draft["id"].as_str().unwrap_or_default();
    let approved = app.post(&format!("/v1/drafts/{id}/approve"), &agent, json!({})).await.expect(200);
    assert_eq!(approved["message"]["body"], draft["body"]);
    let usage = app.get("/v1/usage", &agent).await.expect(200);
    assert_eq!((usage["llm_drafts"].as_i64(), usage["extractive_drafts"].as_i64()), (Some(1), Some(1)));
}

#[tokio::test]
async fn email_in_and_out_works_on_sqlite() {
    // A database of its own: no other app claims (and abandons) this test's deliveries.
    let dir = std::env::temp_dir().join(format!("copilot-sqlite-mail-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a folder for the database");
    let url = format!("sqlite://{}?mode=rwc", dir.join("copilot.db").display());
    let app = copilot_tests::spawn_app_with(&url, Backend::Sqlite, |_| {}).await;
    let sink = copilot_tests::smtp::SmtpSink::start();
    let tenant = app.create_tenant().await;
    let settings = json!({"addresses": ["help@acme.test"], "smtp_url": sink.url()});
    app.send(Method::PUT, "/v1/settings/email", Some(&tenant.key), Some(&settings)).await.expect(200);
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let raw = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/email/plain-utf8.eml")).expect("fixture");

    let created = app.post_raw("/v1/inbound/email", Some(&tenant.key), "message/rfc822", raw.clone()).await.expect(200);
    assert_eq!(created["outcome"], "created");
    let again = app.post_raw("/v1/inbound/email", Some(&tenant.key), "message/rfc822", raw).await.expect(200);
    assert_eq!(again["outcome"], "duplicate");
    let ticket = uuid_at(&created, "/ticket_id");
    let reply = app
        .post(&format!("/v1/tickets/{ticket}/messages"), &agent, json!({"author": "agent", "body": "On its way."}))
        .await
        .expect(201);
    let mail = sink.wait_for(1, std::time::Duration::from_secs(30)).await;
    assert_eq!(mail.len(), 1);
    let thread = app.get(&format!("/v1/tickets/{ticket}/messages"), &agent).await.expect(200);
    let sent = thread["data"].as_array().and_then(|m| m.iter().find(|m| m["id"] == reply["id"])).cloned();
    let mut status = sent.map(|m| m["delivery"]["status"].clone()).unwrap_or_default();
    for _ in 0..50 {
        if status == "sent" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let thread = app.get(&format!("/v1/tickets/{ticket}/messages"), &agent).await.expect(200);
        status = thread["data"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["id"] == reply["id"]))
            .map(|m| m["delivery"]["status"].clone())
            .unwrap_or_default();
    }
    assert_eq!(status, "sent");
    let _ = std::fs::remove_dir_all(&dir);
}
