//! Two `copilot serve` processes on one PostgreSQL database and one LanceDB location, as
//! two replicas would run: under concurrent load through both, every message is triaged
//! once, every ticket drafted once, every document's chunks stored once, every reply sent
//! once, every event delivered with its one id; one process is killed mid-work and
//! restarted, and nothing is lost.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::{Duration, Instant},
};

use copilot_tests::{Service, new_postgres_database, receiver::Receiver, smtp::SmtpSink, uuid_at};

use crate::knowledge::upload_fixture;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

const TICKETS: usize = 12;

fn mail(n: usize) -> Vec<u8> {
    format!(
        "From: Customer {n} <customer{n}@example.test>\r\nTo: help@acme.test\r\nSubject: Order {n} question\r\n\
         Message-ID: <scale-{n}-{}@example.test>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello, can I still return the tent from order {n}? Who pays for the return shipping?\r\n",
        Uuid::new_v4().simple()
    )
    .into_bytes()
}

/// Counts rows of a query returning `(key, count)`.
async fn counts(database_url: &str, sql: &str, tenant: Uuid) -> BTreeMap<String, i64> {
    let db = Database::connect(database_url).await.expect("connect");
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [tenant.into()]))
        .await
        .expect("query");
    rows.iter()
        .map(|row| (row.try_get_by_index::<String>(0).unwrap_or_default(), row.try_get_by_index::<i64>(1).unwrap_or(0)))
        .collect()
}

#[tokio::test]
async fn two_processes_share_the_work_once_and_lose_nothing_when_one_dies() {
    let database = new_postgres_database().await;
    let root = std::env::temp_dir().join(format!("copilot-scale-{}", Uuid::new_v4().simple()));
    let knowledge = root.join("knowledge");
    let sink = SmtpSink::start();
    let receiver = Receiver::start().await;
    let env = [
        ("COPILOT_KNOWLEDGE_URI", knowledge.display().to_string()),
        ("COPILOT_JOB_LEASE_SECONDS", "5".to_owned()),
        ("COPILOT_DRAFT_LEASE_SECONDS", "3".to_owned()),
        ("COPILOT_DELIVERY_LEASE_SECONDS", "5".to_owned()),
        ("COPILOT_DELIVERY_RETRY_BASE_MS", "200".to_owned()),
        ("COPILOT_WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("COPILOT_TENANT_ENDPOINTS_ALLOW_PRIVATE", "true".to_owned()),
        ("COPILOT_WEBHOOK_RETRY_SCHEDULE", "0s,300ms,300ms,300ms,300ms,300ms,300ms,300ms,1s,1s,1s,1s,1s".to_owned()),
        ("COPILOT_WEBHOOK_TIMEOUT_SECONDS", "2".to_owned()),
        ("COPILOT_ROLE", "all".to_owned()),
    ];
    let a = Service::start(&database, &root.join("a"), &env).await;
    let mut b = Service::start(&database, &root.join("b"), &env).await;

    let tenant = a.app.create_tenant().await;
    let settings = json!({"addresses": ["help@acme.test"], "smtp_url": sink.url()});
    a.app.send(Method::PUT, "/v1/settings/email", Some(&tenant.key), Some(&settings)).await.expect(200);
    let hook =
        a.app.post("/v1/webhooks", &tenant.key, json!({"url": receiver.url(), "events": ["*"]})).await.expect(201);
    receiver.trust(&[hook["secret"].as_str().expect("secret")]);
    let (_, agent) = a.app.add_user(&tenant, "agent").await;
    let started = Instant::now();

    // Knowledge through both processes at once.
    let files = [
        "help-centre/returns.md",
        "help-centre/shipping.html",
        "help-centre/subscriptions.txt",
        "help-centre/orders-faq.json",
    ];
    let mut uploads = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let app = if index % 2 == 0 { &a.app } else { &b.app };
        uploads.push(upload_fixture(app, &tenant.key, file, &[]));
    }
    let documents: Vec<Uuid> = futures_util::future::join_all(uploads).await;

    // Mail through both processes at once: each opens a ticket, is triaged and drafted.
    let mut received = Vec::new();
    for n in 0..TICKETS {
        let app = if n % 2 == 0 { &a.app } else { &b.app };
        received.push(app.post_raw("/v1/inbound/email", Some(&tenant.key), "message/rfc822", mail(n)));
    }
    let tickets: Vec<Uuid> = futures_util::future::join_all(received)
        .await
        .into_iter()
        .map(|reply| uuid_at(&reply.expect(200), "/ticket_id"))
        .collect();
    for document in &documents {
        assert_eq!(a.app.wait_for_document(&tenant.key, *document).await["status"], "ready");
    }
    let mut drafts = HashMap::new();
    for ticket in &tickets {
        drafts.insert(*ticket, wait_for_draft(&a.app, &agent, *ticket).await);
    }
    let drafted = started.elapsed();

    // Approve half through each process; kill one right after its approvals, while its
    // deliveries and webhooks are in flight; more knowledge arrives meanwhile.
    let late = upload_fixture(&b.app, &tenant.key, "help-centre/payments-faq.csv", &[]).await;
    for (index, ticket) in tickets.iter().enumerate() {
        let app = if index % 2 == 0 { &a.app } else { &b.app };
        let id = &drafts[ticket];
        app.post(&format!("/v1/drafts/{id}/approve"), &agent, json!({})).await.expect(200);
    }
    b.kill();
    b = Service::start(&database, &root.join("b"), &env).await;
    assert_eq!(b.app.wait_for_document(&tenant.key, late).await["status"], "ready");

    // Every reply settles: sent once, or failed as of unknown outcome for a person.
    let mut sent = 0;
    let mut unknown = 0;
    for ticket in &tickets {
        let delivery = wait_delivery_settled(&a.app, &agent, *ticket).await;
        match delivery["status"].as_str() {
            Some("sent") => sent += 1,
            Some("failed")
                if delivery["last_error"].as_str().is_some_and(|e| e.starts_with("delivery_outcome_unknown")) =>
            {
                unknown += 1
            }
            other => panic!("delivery of {ticket} ended {other:?}: {delivery}"),
        }
    }
    let mails = sink.wait_for(sent, Duration::from_secs(10)).await;
    let mut per_ticket: HashMap<String, usize> = HashMap::new();
    for raw in &mails {
        let text = String::from_utf8_lossy(raw);
        let subject = text.lines().find(|l| l.starts_with("Subject:")).unwrap_or_default().to_owned();
        *per_ticket.entry(subject).or_default() += 1;
    }
    assert!(per_ticket.values().all(|&n| n == 1), "no reply sent twice: {per_ticket:?}");
    assert!(
        mails.len() >= sent && mails.len() <= sent + unknown,
        "{} mails for {sent} sent, {unknown} unknown",
        mails.len()
    );

    // Each message triaged once, each ticket drafted once (events are written in the
    // transaction of the work they record).
    let triaged = counts(
        &database,
        "SELECT data->>'message_id', count(*) FROM events WHERE tenant_id = $1 AND event_type = 'triage.completed' GROUP BY 1",
        tenant.id,
    )
    .await;
    assert_eq!(triaged.len(), TICKETS, "{triaged:?}");
    assert!(triaged.values().all(|&n| n == 1), "triaged once each: {triaged:?}");
    let ready = counts(
        &database,
        "SELECT data->'draft'->>'ticket_id', count(*) FROM events WHERE tenant_id = $1 AND event_type = 'draft.ready' GROUP BY 1",
        tenant.id,
    )
    .await;
    assert_eq!(ready.len(), TICKETS);
    assert!(ready.values().all(|&n| n == 1), "drafted once each: {ready:?}");

    // Each document's chunks stored once: the searchable version has exactly its count,
    // positions 0..n without repeats.
    for document in documents.iter().chain([late].iter()) {
        let found = a.app.get(&format!("/v1/knowledge/documents/{document}"), &tenant.key).await.expect(200);
        let page =
            a.app.get(&format!("/v1/knowledge/documents/{document}/chunks?limit=100"), &tenant.key).await.expect(200);
        let positions: Vec<i64> =
            page["data"].as_array().into_iter().flatten().filter_map(|c| c["position"].as_i64()).collect();
        let distinct: HashSet<i64> = positions.iter().copied().collect();
        assert_eq!(positions.len() as i64, found["chunk_count"].as_i64().unwrap_or(-1), "{found}");
        assert_eq!(distinct.len(), positions.len(), "no chunk stored twice: {positions:?}");
    }

    // Every event reaches the receiver, each under its one id (at least once).
    let events = counts(&database, "SELECT id::text, 1::bigint FROM events WHERE tenant_id = $1", tenant.id).await;
    let deliveries = receiver
        .wait_until(Duration::from_secs(60), |r| {
            let ok: HashSet<&str> = r.iter().filter(|e| e.status == 200).map(|e| e.id.as_str()).collect();
            events.keys().all(|id| ok.contains(id.as_str()))
        })
        .await;
    let delivered: HashSet<&str> = deliveries.iter().filter(|e| e.status == 200).map(|e| e.id.as_str()).collect();
    let missing: Vec<&String> = events.keys().filter(|id| !delivered.contains(id.as_str())).collect();
    assert!(missing.is_empty(), "{} of {} events never delivered: {missing:?}", missing.len(), events.len());
    assert!(deliveries.iter().all(|e| e.body["id"] == e.id.as_str() && e.verified_by == vec![0]));
    let repeats = deliveries.iter().filter(|e| e.status == 200).count() - delivered.len();
    println!(
        "scale-out: {TICKETS} tickets drafted in {:.1} s through 2 processes; {sent} replies sent once, {unknown} \
         failed as unknown after the kill; {} events delivered ({repeats} repeated deliveries)",
        drafted.as_secs_f64(),
        events.len()
    );
    drop(b);
    drop(a);
    let _ = std::fs::remove_dir_all(&root);
}

async fn wait_for_draft(app: &copilot_tests::TestApp, token: &str, ticket: Uuid) -> Uuid {
    for _ in 0..600 {
        let page = app.get(&format!("/v1/tickets/{ticket}/drafts?limit=5"), token).await.expect(200);
        if let Some(draft) = page["data"].as_array().into_iter().flatten().find(|d| d["status"] == "ready") {
            return uuid_at(draft, "/id");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no ready draft on {ticket} in 60 s");
}

async fn wait_delivery_settled(app: &copilot_tests::TestApp, token: &str, ticket: Uuid) -> Value {
    for _ in 0..600 {
        let page = app.get(&format!("/v1/tickets/{ticket}/messages?limit=100"), token).await.expect(200);
        if let Some(delivery) = page["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("delivery"))
            .find(|d| d["status"] == "sent" || d["status"] == "failed")
        {
            return delivery.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the reply on {ticket} did not settle in 60 s");
}
