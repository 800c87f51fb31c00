//! PostgreSQL row-level security, the second wall behind the tenant filters: checked by
//! querying the database directly as the application role.

use copilot_core::TenantId;
use copilot_tests::{OWNER_PASSWORD, postgres_database, spawn_app, uuid_at};
use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::json;

/// `tenants` and every table with a `tenant_id` column, read from the catalog so a table a
/// later migration adds is covered without editing this test.
async fn tenant_owned_tables(conn: &impl ConnectionTrait) -> Vec<String> {
    let sql = "SELECT table_name::text AS name FROM information_schema.columns
               WHERE table_schema = 'public' AND column_name = 'tenant_id'
               UNION SELECT 'tenants' ORDER BY 1";
    let rows = conn.query_all_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned())).await.expect("catalog");
    rows.iter().map(|row| row.try_get::<String>("", "name").expect("a table name")).collect()
}

async fn count(conn: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .expect("a row");
    row.try_get::<i64>("", "n").expect("a count")
}

#[tokio::test]
async fn the_application_role_without_a_tenant_setting_sees_no_rows() {
    let sink = copilot_tests::smtp::SmtpSink::start();
    let relay = sink.url();
    let app = copilot_tests::spawn_app_alone_with(move |settings| settings.smtp_url = relay.into()).await;
    let tenant = app.create_tenant().await;
    // A model profile routed for drafts: profiles, routes, and per call usage and health.
    let llm = copilot_tests::llm::TestLlm::start().await;
    let profiles = json!({"profiles": [{"name": "rls", "base_url": llm.base_url(), "model": "m"}]});
    app.send(Method::PUT, "/v1/settings/llm/profiles", Some(&tenant.key), Some(&profiles)).await.expect(200);
    let routes = json!({"routes": [{"feature": "draft", "profiles": ["rls"]}, {"feature": "translate", "profiles": ["rls"]},
                          {"feature": "label", "profiles": ["rls"]}]});
    app.send(Method::PUT, "/v1/settings/llm/routes", Some(&tenant.key), Some(&routes)).await.expect(200);
    let login = app.login(&tenant.slug, &tenant.owner_email, OWNER_PASSWORD).await.expect(200);
    let session = login["token"].as_str().expect("a session token").to_owned();
    let body = json!({"subject": "visible to the owner only", "channel": "web", "customer": {"email": "rls@example.test"},
                      "body": "hello", "tags": ["rls"]});
    app.send_with(Method::POST, "/v1/tickets", Some(&tenant.key), Some(&body), &[("Idempotency-Key", "rls")])
        .await
        .expect(201);
    let taxonomy = json!({"labels": [{"label": "a", "examples": ["x"]}, {"label": "b", "examples": ["y"]}]});
    app.send(Method::PUT, "/v1/intents", Some(&tenant.key), Some(&taxonomy)).await.expect(200);
    app.post("/v1/intents/train", &tenant.key, json!({})).await.expect(202);
    // Customer messages translated in the background into German: the translation queue.
    let style = json!({"persona": "the RLS desk", "auto_translate": true, "agent_language": "de"});
    app.send(Method::PUT, "/v1/settings/drafting", Some(&tenant.key), Some(&style)).await.expect(200);
    let document = json!({"title": "RLS", "content": "# Returns\n\nWithin 30 days.", "content_type": "text/markdown", "tags": ["rls"]});
    app.post("/v1/knowledge/documents", &tenant.key, document).await.expect(202);
    // A webhook endpoint, so the events below queue deliveries.
    let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]});
    app.post("/v1/webhooks", &tenant.key, hook).await.expect(201);
    // Mail in (with an attachment) and a reply queued for delivery: the e-mail tables.
    let settings = json!({"addresses": ["rls@acme.test"]});
    app.send(Method::PUT, "/v1/settings/email", Some(&tenant.key), Some(&settings)).await.expect(200);
    app.post("/v1/settings/email/verifications", &tenant.key, json!({"address": "rls@acme.test"})).await.expect(200);
    let mail = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/email/attachment.eml")).expect("fixture");
    let received = app.post_raw("/v1/inbound/email", Some(&tenant.key), "message/rfc822", mail).await.expect(200);
    let ticket = uuid_at(&received, "/ticket_id");
    let reply = json!({"author": "agent", "body": "Thanks, a replacement is on its way."});
    app.post(&format!("/v1/tickets/{ticket}/messages"), &session, reply).await.expect(201);
    // A message translated: the translations table.
    let thread = app.get(&format!("/v1/tickets/{ticket}/messages"), &session).await.expect(200);
    let first = thread["data"][0]["id"].as_str().unwrap_or_default().to_owned();
    app.get(&format!("/v1/tickets/{ticket}/messages/{first}/translations/de"), &session).await.expect(200);
    // A summary asked for: the summaries table.
    app.post(&format!("/v1/tickets/{ticket}/summary/refresh"), &session, json!({})).await.expect(200);
    // The customer messages labelled by the LLM: the labelling tables.
    app.wait_for_triage(&session, ticket).await;
    let labelling = json!({"scope": {"only": "all"}, "max_messages": 10});
    app.post("/v1/intents/labelling", &tenant.key, labelling).await.expect(202);
    // Someone on the ticket: the presence table.
    let viewing = json!({"state": "viewing"});
    app.send(Method::PUT, &format!("/v1/tickets/{ticket}/presence"), Some(&session), Some(&viewing)).await.expect(200);
    // A card pinned to the analytics page.
    let card = json!({"title": "RLS", "query": {"dataset": "tickets", "measures": [{"fn": "count"}]}});
    app.post("/v1/analytics/cards", &tenant.key, card).await.expect(201);
    // Business hours.
    let hours = json!({"schedules": [{"name": "Office", "time_zone": "UTC", "week": {"mon": [["09:00", "17:00"]]}}]});
    app.send(Method::PUT, "/v1/settings/business-hours", Some(&tenant.key), Some(&hours)).await.expect(200);
    let policy = json!({"name": "RLS", "targets": [{"kind": "first_reply", "minutes": 60}]});
    app.post("/v1/sla-policies", &tenant.key, policy).await.expect(201);
    // A macro and a placeholder of the tenant's own.
    let custom = json!({"placeholders": {"hours": "9 to 5"}});
    app.send(Method::PUT, "/v1/settings/macro-placeholders", Some(&tenant.key), Some(&custom)).await.expect(200);
    let shared = json!({"name": "RLS", "shared": true, "body": "Open {{custom.hours}}"});
    app.post("/v1/macros", &tenant.key, shared).await.expect(201);
    // A saved view.
    app.post("/v1/views", &tenant.key, json!({"name": "RLS", "shared": true})).await.expect(201);
    // A custom field and a ticket's value of it.
    let field = json!({"key": "plan", "label": "Plan", "kind": "text"});
    app.post("/v1/ticket-fields", &tenant.key, field).await.expect(201);
    app.patch(&format!("/v1/tickets/{ticket}"), &session, json!({"fields": {"plan": "pro"}})).await.expect(200);
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let conn = db.unscoped();
    // The first ticket's draft records the LLM's usage once it is written.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while count(conn, "SELECT count(*) AS n FROM llm_usage").await == 0
        || count(conn, "SELECT count(*) AS n FROM llm_health").await == 0
        || count(conn, "SELECT count(*) AS n FROM translation_jobs").await == 0
        || count(conn, "SELECT count(*) AS n FROM message_labels").await == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no draft recorded its LLM usage, or nothing was translated or labelled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A discovery run, and a proposal of it (written here: two messages make no cluster).
    let run = uuid_at(&app.post("/v1/intents/discovery", &tenant.key, json!({})).await.expect(202), "/id");
    let proposal = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO intent_proposals (id, tenant_id, discovery_id, size, label_suggestion, keywords, examples,
                                       message_ids, centroid, status, created_at)
         VALUES ($1, $2, $3, 3, 'rls_cluster', '[]', '[]', '[]', '[]', 'proposed', now())",
        [uuid::Uuid::now_v7().into(), tenant.id.into(), run.into()],
    );
    conn.execute_raw(proposal).await.expect("a proposal");
    // Satisfaction surveys: the settings, and the survey of a ticket solved after a reply.
    app.send(Method::PUT, "/v1/settings/csat", Some(&tenant.key), Some(&json!({"enabled": true}))).await.expect(200);
    let reply = json!({"author": "agent", "body": "Solved."});
    app.post(&format!("/v1/tickets/{ticket}/messages"), &session, reply).await.expect(201);
    app.patch(&format!("/v1/tickets/{ticket}"), &session, json!({"status": "solved"})).await.expect(200);
    let tables = tenant_owned_tables(conn).await;
    for expected in ["tenants", "tickets", "messages", "message_triage", "intents", "intent_models", "audit_events"] {
        assert!(tables.iter().any(|t| t == expected), "{expected} missing from {tables:?}");
    }

    for table in &tables {
        let as_owner = count(conn, &format!("SELECT count(*) AS n FROM {table}")).await;
        let txn = conn.begin().await.expect("begin");
        txn.execute_unprepared("SET LOCAL ROLE copilot_app").await.expect("switch to the application role");
        let as_app = count(&txn, &format!("SELECT count(*) AS n FROM {table}")).await;
        txn.rollback().await.expect("rollback");

        assert!(as_owner > 0, "{table} should hold rows for this test");
        assert_eq!(as_app, 0, "{table} leaks rows without a tenant setting");
    }
}

#[tokio::test]
async fn a_tenant_transaction_sees_and_changes_only_its_own_rows() {
    let app = spawn_app().await;
    let a = app.create_tenant().await;
    let b = app.create_tenant().await;
    app.create_ticket(&a.key, "a", "a@example.test").await;
    let b_ticket = uuid_at(&app.create_ticket(&b.key, "b", "b@example.test").await, "/ticket/id");
    let db = copilot_store::connect(&postgres_database().await, 1).await.expect("connect");

    let tx = db.tenant(TenantId(a.id)).await.expect("tenant transaction");
    let all_tickets = count(&*tx, "SELECT count(*) AS n FROM tickets").await;
    let own_tickets = count(&*tx, &format!("SELECT count(*) AS n FROM tickets WHERE tenant_id = '{}'", a.id)).await;
    let updated = tx
        .execute_unprepared(&format!("UPDATE tickets SET status = 'closed' WHERE id = '{b_ticket}'"))
        .await
        .expect("update runs")
        .rows_affected();
    let foreign_insert = tx
        .execute_unprepared(&format!(
            "INSERT INTO customers (id, tenant_id, email, created_at) VALUES (gen_random_uuid(), '{}', 'x@y.test', now())",
            b.id
        ))
        .await;

    assert_eq!(all_tickets, 1, "only tenant A's ticket is visible");
    assert_eq!(own_tickets, 1);
    assert_eq!(updated, 0, "B's ticket cannot be changed from A's transaction");
    let error = foreign_insert.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("row-level security"), "a row for another tenant cannot be written: {error}");
}

#[tokio::test]
async fn the_tenant_setting_does_not_outlive_its_transaction_on_a_pooled_connection() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    app.create_ticket(&tenant.key, "t", "t@example.test").await;
    // One connection, so the next transaction reuses the one that carried the setting.
    let db = copilot_store::connect(&postgres_database().await, 1).await.expect("connect");
    let tx = db.tenant(TenantId(tenant.id)).await.expect("tenant transaction");
    assert_eq!(count(&*tx, "SELECT count(*) AS n FROM tickets").await, 1);
    tx.commit().await.expect("commit");

    let txn = db.unscoped().begin().await.expect("begin");
    txn.execute_unprepared("SET LOCAL ROLE copilot_app").await.expect("switch role");
    let leftover = count(&txn, "SELECT count(*) AS n FROM tickets").await;
    let setting = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT coalesce(current_setting('app.tenant_id', true), '') AS s, current_user::text AS u".to_owned(),
        ))
        .await
        .expect("query")
        .expect("row");
    txn.rollback().await.expect("rollback");
    let after = db
        .unscoped()
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT current_user::text AS u".to_owned()))
        .await
        .expect("q")
        .expect("row");

    assert_eq!(leftover, 0);
    assert_eq!(setting.try_get::<String>("", "s").expect("setting"), "");
    assert_ne!(
        after.try_get::<String>("", "u").expect("user"),
        "copilot_app",
        "the role switch ended with the transaction"
    );
}
