//! Typed analytics queries: answers equal a direct SQL count of the same rows, are the same
//! on PostgreSQL and SQLite, see only the tenant's rows, and anything outside the
//! catalogue is refused naming the part.

use copilot_tests::{Backend, TestApp, TestTenant, spawn_app_on, uuid_at};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

/// Six tickets on three channels with tags and priorities; agents answer two of them.
async fn seed(app: &TestApp, tenant: &TestTenant) {
    let tickets = [
        ("web", "high", vec!["refund"]),
        ("web", "normal", vec!["refund", "vip"]),
        ("api", "normal", vec![]),
        ("chat", "urgent", vec!["vip"]),
        ("web", "low", vec![]),
        ("api", "normal", vec!["refund"]),
    ];
    for (i, (channel, priority, tags)) in tickets.iter().enumerate() {
        let body = json!({
            "subject": format!("Question {i}"),
            "channel": channel,
            "priority": priority,
            "tags": tags,
            "customer": {"email": format!("c{}@example.test", i % 4)},
            "body": format!("Hello, question number {i}"),
        });
        let created = app.post("/v1/tickets", &tenant.key, body).await.expect(201);
        let id = uuid_at(&created, "/ticket/id");
        if i % 3 == 0 {
            app.post(&format!("/v1/tickets/{id}/messages"), &tenant.key, json!({"author": "agent", "body": "On it."}))
                .await
                .expect(201);
            app.post(
                &format!("/v1/tickets/{id}/messages"),
                &tenant.key,
                json!({"author": "customer", "body": "Thanks"}),
            )
            .await
            .expect(201);
        }
    }
}

fn by_channel() -> Value {
    json!({
        "dataset": "tickets",
        "measures": [{"fn": "count"}, {"fn": "avg", "field": "message_count"},
                     {"fn": "rate", "condition": {"field": "priority", "op": "in", "value": ["high", "urgent"]}}],
        "group_by": [{"field": "channel"}],
        "order_by": [{"column": "channel"}],
    })
}

fn by_tag() -> Value {
    json!({
        "dataset": "tickets",
        "measures": [{"fn": "count"}, {"fn": "count_distinct", "field": "customer"}],
        "filters": [{"field": "created_at", "op": "gte", "value": "2020-01-01"}],
        "group_by": [{"field": "tag"}],
    })
}

fn replies() -> Value {
    json!({
        "dataset": "messages",
        "measures": [{"fn": "count"}],
        "filters": [{"field": "author", "op": "eq", "value": "agent"}],
        "group_by": [{"field": "created_at", "bucket": "day"}],
        "time_zone": "Asia/Shanghai",
    })
}

async fn sql(app: &TestApp, query: &str, tenant: &TestTenant) -> Vec<Vec<Value>> {
    let db = sea_orm::Database::connect(&app.database_url).await.expect("connect");
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, query, [tenant.id.into()]))
        .await
        .expect("query");
    rows.iter()
        .map(|row| {
            let key: Option<String> = row.try_get_by_index(0).expect("key");
            let count: i64 = row.try_get_by_index(1).expect("count");
            vec![key.map_or(Value::Null, Value::from), Value::from(count)]
        })
        .collect()
}

#[tokio::test]
async fn answers_equal_sql_on_the_tenants_rows_and_match_on_sqlite() {
    let app = spawn_app_on(Backend::Postgres).await;
    let tenant = app.create_tenant().await;
    let other = app.create_tenant().await;
    seed(&app, &tenant).await;
    seed(&app, &other).await;
    app.create_ticket(&other.key, "only the other tenant's", "x@example.test").await;

    let answer = app.post("/v1/analytics/query", &tenant.key, by_channel()).await.expect(200);
    let names: Vec<&str> =
        answer["columns"].as_array().expect("present").iter().map(|c| c["name"].as_str().expect("present")).collect();
    assert_eq!(names, ["channel", "count", "avg(message_count)", "rate(priority in [high, urgent])"]);
    let counted = sql(
        &app,
        "SELECT channel, count(*) FROM tickets WHERE tenant_id = $1 GROUP BY channel ORDER BY channel",
        &tenant,
    )
    .await;
    let got: Vec<Vec<Value>> = answer["rows"]
        .as_array()
        .expect("present")
        .iter()
        .map(|r| r.as_array().expect("present")[..2].to_vec())
        .collect();
    assert_eq!(got, counted);
    // Tickets 0 and 3 have three messages, the others one: web (0, 1, 4) averages 5/3.
    assert_eq!(answer["rows"][2], json!(["web", 3, 1.6667, 0.3333]), "{answer}");
    assert_eq!(answer["truncated"], false);

    // A ticket counts once under each of its tags; untagged tickets form the empty group.
    let tags = app.post("/v1/analytics/query", &tenant.key, by_tag()).await.expect(200);
    let counted = sql(
        &app,
        "SELECT tag, count(*) FROM ticket_tags WHERE tenant_id = $1 GROUP BY tag ORDER BY count(*) DESC, tag",
        &tenant,
    )
    .await;
    let got: Vec<Vec<Value>> = tags["rows"]
        .as_array()
        .expect("present")
        .iter()
        .map(|r| r.as_array().expect("present")[..2].to_vec())
        .collect();
    assert_eq!(got[..counted.len()], counted[..], "{tags}");
    assert_eq!(got.last(), Some(&vec![Value::Null, json!(2)]));

    let replied = app.post("/v1/analytics/query", &tenant.key, replies()).await.expect(200);
    let total: i64 = replied["rows"].as_array().expect("present").iter().map(|r| r[1].as_i64().expect("present")).sum();
    assert_eq!(total, 2);
    assert!(replied["rows"][0][0].as_str().expect("present").ends_with("T00:00:00+08:00"), "{replied}");

    // The same data on SQLite gives the same answers.
    let lite = spawn_app_on(Backend::Sqlite).await;
    let lite_tenant = lite.create_tenant().await;
    seed(&lite, &lite_tenant).await;
    for query in [by_channel(), by_tag(), replies()] {
        let pg = app.post("/v1/analytics/query", &tenant.key, query.clone()).await.expect(200);
        let sqlite = lite.post("/v1/analytics/query", &lite_tenant.key, query.clone()).await.expect(200);
        let row_count = |v: &Value| v["rows"].as_array().expect("present").len();
        assert_eq!((pg["columns"].clone(), row_count(&pg)), (sqlite["columns"].clone(), row_count(&sqlite)));
        if query["group_by"][0]["bucket"].is_null() {
            assert_eq!(pg["rows"], sqlite["rows"], "{query}");
        }
    }
}

#[tokio::test]
async fn queries_outside_the_catalogue_are_refused_naming_the_part() {
    let app = spawn_app_on(Backend::Postgres).await;
    let tenant = app.create_tenant().await;
    let other = app.create_tenant().await;
    seed(&app, &other).await;
    let refused = [
        (json!({"dataset": "users", "measures": [{"fn": "count"}]}), "dataset"),
        (
            json!({"dataset": "tickets", "measures": [{"fn": "count"}], "filters": [{"field": "tenant_id", "op": "eq", "value": other.id}]}),
            "filters[0].field",
        ),
        (
            json!({"dataset": "tickets", "measures": [{"fn": "count"}], "filters": [{"field": "channel", "op": "eq", "value": "web' OR 1=1 --"}]}),
            "filters[0].value",
        ),
        (json!({"dataset": "tickets", "measures": [{"fn": "sum", "field": "password_hash"}]}), "measures[0].field"),
        (json!({"dataset": "tickets", "measures": [{"fn": "count"}], "limit": 5000}), "limit"),
        (json!({"dataset": "tickets", "measures": [{"fn": "count"}], "time_zone": "Moon/Tranquility"}), "time_zone"),
    ];
    for (query, part) in refused {
        let response = app.post("/v1/analytics/query", &tenant.key, query.clone()).await;
        let detail = response.body["detail"].as_str().unwrap_or_default().to_owned();
        response.expect_error(422, "query_invalid");
        assert!(detail.starts_with(part), "{query}: {detail}");
    }
    // A text value is bound, never run: it matches nothing and breaks nothing.
    let contains = json!({"dataset": "tickets", "measures": [{"fn": "count"}],
                          "filters": [{"field": "intent", "op": "eq", "value": "x'; DELETE FROM tickets; --"}]});
    let answer = app.post("/v1/analytics/query", &tenant.key, contains).await.expect(200);
    assert_eq!(answer["rows"], json!([[0]]));
    // Another tenant's tickets are never counted.
    let all = app
        .post("/v1/analytics/query", &tenant.key, json!({"dataset": "tickets", "measures": [{"fn": "count"}]}))
        .await
        .expect(200);
    assert_eq!(all["rows"], json!([[0]]));
    let theirs = app
        .post("/v1/analytics/query", &other.key, json!({"dataset": "tickets", "measures": [{"fn": "count"}]}))
        .await
        .expect(200);
    assert_eq!(theirs["rows"], json!([[6]]));

    let catalogue = app.get("/v1/analytics/catalogue", &tenant.key).await.expect(200);
    let tickets =
        catalogue["datasets"].as_array().expect("present").iter().find(|d| d["name"] == "tickets").expect("present");
    let status =
        tickets["fields"].as_array().expect("present").iter().find(|f| f["name"] == "status").expect("present");
    assert_eq!(status["values"], json!(["new", "open", "pending", "solved", "closed"]));
    assert_eq!(catalogue["max_limit"], 1000);
}

#[tokio::test]
async fn a_question_reads_in_a_transaction_that_cannot_write_or_run_long() {
    let app = spawn_app_on(Backend::Postgres).await;
    let tenant = app.create_tenant().await;
    seed(&app, &tenant).await;
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let tenant_id = copilot_core::TenantId(tenant.id);
    let timeout = std::time::Duration::from_millis(300);

    let tx = db.tenant_read_only(tenant_id, timeout).await.expect("begin");
    let write = tx
        .execute_unprepared("UPDATE tickets SET subject = 'changed'")
        .await
        .expect_err("a read-only transaction refuses writes");
    assert!(write.to_string().contains("read-only"), "{write}");
    drop(tx);

    let tx = db.tenant_read_only(tenant_id, timeout).await.expect("begin");
    let started = std::time::Instant::now();
    let slow = tx.execute_unprepared("SELECT pg_sleep(5)").await.expect_err("the statement timeout stops it");
    assert!(slow.to_string().contains("statement timeout"), "{slow}");
    let answered = copilot_store::db_err(slow);
    assert!(matches!(answered, copilot_core::Error::Unprocessable { code: "statement_timeout", .. }), "{answered:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "stopped after {:?}", started.elapsed());
    drop(tx);

    // The tenant's rows only, as in any tenant transaction.
    let tx = db.tenant_read_only(tenant_id, timeout).await.expect("begin");
    let rows =
        tx.query_all_raw(Statement::from_string(DbBackend::Postgres, "SELECT id FROM tickets")).await.expect("read");
    assert_eq!(rows.len(), 6);
}

/// The committed set of malicious and malformed queries (tests/fixtures/analytics/refused.jsonl):
/// each is refused with `422 query_invalid` naming the part at fault, and nothing changes.
#[tokio::test]
async fn every_query_of_the_refused_set_is_refused_naming_its_part() {
    let app = spawn_app_on(Backend::Postgres).await;
    let tenant = app.create_tenant().await;
    seed(&app, &tenant).await;
    let set = include_str!("../fixtures/analytics/refused.jsonl");
    let cases: Vec<Value> = set.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    assert!(cases.len() >= 30, "the set holds {} queries", cases.len());
    for case in &cases {
        let response = app.post("/v1/analytics/query", &tenant.key, case["query"].clone()).await;
        let detail = response.body["detail"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            (response.status.as_u16(), response.code()),
            (422, "query_invalid"),
            "{}: {}",
            case["why"],
            response.body
        );
        let part = case["part"].as_str().expect("a part");
        assert!(detail.starts_with(&format!("{part}:")), "{}: {detail}", case["why"]);
    }
    let all = json!({"dataset": "tickets", "measures": [{"fn": "count"}]});
    assert_eq!(app.post("/v1/analytics/query", &tenant.key, all).await.expect(200)["rows"], json!([[6]]));
}

#[tokio::test]
async fn a_tickets_figures_follow_its_thread_and_status() {
    let app = spawn_app_on(Backend::Postgres).await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let created = app.create_ticket(&tenant.key, "Figures", "f@example.test").await;
    let id = uuid_at(&created, "/ticket/id");
    let figures = || {
        json!({"dataset": "tickets",
               "measures": [{"fn": "sum", "field": "message_count"}, {"fn": "count_distinct", "field": "first_reply_seconds"},
                            {"fn": "count_distinct", "field": "resolution_seconds"}, {"fn": "count_distinct", "field": "solved_at"}]})
    };
    let ask = || async { app.post("/v1/analytics/query", &tenant.key, figures()).await.expect(200)["rows"][0].clone() };
    assert_eq!(ask().await, json!([1.0, 0, 0, 0]));
    let path = format!("/v1/tickets/{id}/messages");
    app.post(&path, &agent, json!({"author": "note", "body": "Looking."})).await.expect(201);
    app.post(&path, &agent, json!({"author": "agent", "body": "Here it is."})).await.expect(201);
    app.post(&path, &agent, json!({"author": "agent", "body": "And more."})).await.expect(201);
    // Three more messages; the first reply's time stays the first one's.
    assert_eq!(ask().await, json!([4.0, 1, 0, 0]));
    let first_reply = || async {
        let query = json!({"dataset": "tickets", "measures": [{"fn": "max", "field": "first_reply_seconds"}]});
        app.post("/v1/analytics/query", &tenant.key, query).await.expect(200)["rows"][0][0].clone()
    };
    let first = first_reply().await;
    let patch = |status: &str| json!({"status": status});
    app.patch(&format!("/v1/tickets/{id}"), &agent, patch("solved")).await.expect(200);
    assert_eq!(ask().await, json!([4.0, 1, 1, 1]));
    app.patch(&format!("/v1/tickets/{id}"), &agent, patch("open")).await.expect(200);
    assert_eq!(ask().await, json!([4.0, 1, 0, 0]), "reopened: no longer solved");
    let again = first_reply().await;
    assert_eq!(first, again);
}
