//! Custom ticket fields: defined by admins, set on tickets with checked values, shown with
//! the ticket, filtered on, required before solving where asked, retired without losing
//! values.

use copilot_tests::{spawn_app, uuid_at};
use serde_json::json;

#[tokio::test]
async fn fields_take_checked_values_filter_the_inbox_and_can_be_required_to_solve() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let key = tenant.key.as_str();
    let plan = json!({"key": "plan", "label": "Plan", "kind": "select", "options": ["free", "pro", "enterprise"],
                      "required_on_solve": true});
    app.post("/v1/ticket-fields", &agent, plan.clone()).await.expect_error(403, "forbidden");
    let plan = app.post("/v1/ticket-fields", key, plan).await.expect(201);
    for field in [
        json!({"key": "topics", "label": "Topics", "kind": "multi_select", "options": ["billing", "refund", "bug"]}),
        json!({"key": "renewal", "label": "Renewal", "kind": "date"}),
        json!({"key": "seats", "label": "Seats", "kind": "number"}),
        json!({"key": "vip", "label": "VIP", "kind": "checkbox"}),
        json!({"key": "order_ref", "label": "Order", "kind": "text"}),
    ] {
        app.post("/v1/ticket-fields", key, field).await.expect(201);
    }
    for (field, code, status) in [
        (json!({"key": "Plan", "label": "x", "kind": "text"}), "invalid_field", 400),
        (json!({"key": "tier", "label": "Tier", "kind": "select"}), "invalid_field", 400),
        (json!({"key": "memo", "label": "Memo", "kind": "text", "options": ["a"]}), "invalid_field", 400),
        (json!({"key": "plan", "label": "Plan again", "kind": "text"}), "field_exists", 409),
    ] {
        let reply = app.post("/v1/ticket-fields", key, field.clone()).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (status, code), "{field}");
    }
    let listed = app.get("/v1/ticket-fields", &agent).await.expect(200);
    assert_eq!(listed["fields"].as_array().map(Vec::len), Some(6));

    let ticket = uuid_at(&app.create_ticket(key, "Seats", "ann@example.test").await, "/ticket/id");
    let other = uuid_at(&app.create_ticket(key, "Other", "bob@example.test").await, "/ticket/id");
    let path = format!("/v1/tickets/{ticket}");
    let values = json!({"fields": {"plan": "pro", "topics": ["refund", "billing", "refund"], "renewal": "2027-01-31",
                                   "seats": 12, "vip": true, "order_ref": "A-1001"}});
    let set = app.patch(&path, &agent, values).await.expect(200);
    assert_eq!(
        set["fields"],
        json!({"plan": "pro", "topics": ["refund", "billing"], "renewal": "2027-01-31", "seats": 12.0, "vip": true, "order_ref": "A-1001"})
    );
    for (fields, code) in [
        (json!({"plan": "gold"}), "invalid_field_value"),
        (json!({"topics": ["refund", "spam"]}), "invalid_field_value"),
        (json!({"renewal": "31/01/2027"}), "invalid_field_value"),
        (json!({"seats": "twelve"}), "invalid_field_value"),
        (json!({"vip": "yes"}), "invalid_field_value"),
        (json!({"colour": "red"}), "unknown_field"),
    ] {
        app.patch(&path, &agent, json!({"fields": fields})).await.expect_error(400, code);
    }
    let unchanged = app.get(&path, &agent).await.expect(200);
    assert_eq!(unchanged["fields"]["plan"], "pro", "a refused change changes nothing");

    // Filters.
    let found = |query: &str| {
        let agent = agent.clone();
        let app = &app;
        let query = query.to_owned();
        async move {
            let page = app.get(&format!("/v1/tickets?{query}"), &agent).await.expect(200);
            page["data"].as_array().expect("tickets").iter().map(|t| uuid_at(t, "/id")).collect::<Vec<_>>()
        }
    };
    assert_eq!(found("field=plan:pro").await, [ticket]);
    assert_eq!(found("field=topics:billing").await, [ticket]);
    assert_eq!(found("field=vip:true").await, [ticket]);
    assert_eq!(found("field=seats:12").await, [ticket]);
    assert!(found("field=plan:free").await.is_empty());
    app.get("/v1/tickets?field=colour:red", &agent).await.expect_error(400, "unknown_field");
    app.get("/v1/tickets?field=plan", &agent).await.expect_error(400, "invalid_parameter");

    // Solving needs the required field.
    let other_path = format!("/v1/tickets/{other}");
    let refused =
        app.patch(&other_path, &agent, json!({"status": "solved"})).await.expect_error(422, "fields_required");
    assert!(refused["detail"].as_str().unwrap_or_default().contains("Plan"), "{refused}");
    assert_eq!(app.get(&other_path, &agent).await.expect(200)["status"], "new", "nothing changed");
    let solved =
        app.patch(&other_path, &agent, json!({"status": "solved", "fields": {"plan": "free"}})).await.expect(200);
    assert_eq!(solved["status"], "solved");
    // Clearing a value; retiring a field keeps its values and refuses new ones.
    let cleared = app.patch(&path, &agent, json!({"fields": {"order_ref": null}})).await.expect(200);
    assert!(cleared["fields"].get("order_ref").is_none(), "{cleared}");
    let plan_id = uuid_at(&plan, "/id");
    app.patch(&format!("/v1/ticket-fields/{plan_id}"), key, json!({"kind": "text"}))
        .await
        .expect_error(400, "invalid_field");
    let retired = app.patch(&format!("/v1/ticket-fields/{plan_id}"), key, json!({"active": false})).await.expect(200);
    assert_eq!(retired["active"], false);
    app.patch(&path, &agent, json!({"fields": {"plan": "free"}})).await.expect_error(400, "unknown_field");
    assert_eq!(app.get(&path, &agent).await.expect(200)["fields"]["plan"], "pro");
}

/// A tenant with custom fields and four tickets' values of them.
async fn fielded_desk(app: &copilot_tests::TestApp) -> copilot_tests::TestTenant {
    let tenant = app.create_tenant().await;
    let key = tenant.key.as_str();
    for field in [
        json!({"key": "plan", "label": "Plan", "kind": "select", "options": ["Basic", "Pro"]}),
        json!({"key": "seats", "label": "Seats", "kind": "number"}),
        json!({"key": "vip", "label": "VIP", "kind": "checkbox"}),
    ] {
        app.post("/v1/ticket-fields", key, field).await.expect(201);
    }
    for (n, values) in [
        json!({"plan": "Pro", "seats": 25, "vip": true}),
        json!({"plan": "Pro", "seats": 5}),
        json!({"plan": "Basic", "seats": 1, "vip": false}),
        json!({}),
    ]
    .into_iter()
    .enumerate()
    {
        let ticket = json!({"subject": format!("Account {n}"), "channel": "web", "customer": {"email": "c@example.test"},
                            "body": "About my account"});
        let id = copilot_tests::uuid_at(&app.post("/v1/tickets", key, ticket).await.expect(201), "/ticket/id");
        app.patch(&format!("/v1/tickets/{id}"), key, json!({"fields": values})).await.expect(200);
    }
    tenant
}

#[tokio::test]
async fn custom_fields_answer_data_questions_alike_on_postgresql_and_sqlite() {
    let by_plan = json!({"dataset": "tickets", "measures": [{"fn": "count"}, {"fn": "avg", "field": "fields.seats"}],
                         "group_by": [{"field": "fields.plan"}], "order_by": [{"column": "fields.plan"}]});
    let big = json!({"dataset": "tickets", "measures": [{"fn": "count"}],
                     "filters": [{"field": "fields.seats", "op": "gte", "value": 5},
                                 {"field": "fields.vip", "op": "eq", "value": "true"}]});
    let mut answers = Vec::new();
    for backend in [copilot_tests::Backend::Postgres, copilot_tests::Backend::Sqlite] {
        let app = copilot_tests::spawn_app_on(backend).await;
        let tenant = fielded_desk(&app).await;
        let key = tenant.key.as_str();
        let grouped = app.post("/v1/analytics/query", key, by_plan.clone()).await.expect(200);
        let rows = grouped["rows"].as_array().expect("rows").clone();
        assert!(
            rows.contains(&json!(["Pro", 2, 15.0])) && rows.contains(&json!(["Basic", 1, 1.0])),
            "{backend:?}: {grouped}"
        );
        assert!(rows.contains(&json!([null, 1, null])), "{backend:?}: {grouped}");
        assert_eq!(app.post("/v1/analytics/query", key, big.clone()).await.expect(200)["rows"], json!([[1]]));
        // The catalogue lists them with their labels; unknown or another tenant's are refused.
        let catalogue = app.get("/v1/analytics/catalogue", key).await.expect(200);
        let tickets = catalogue["datasets"].as_array().and_then(|d| d.iter().find(|d| d["name"] == "tickets")).cloned();
        let listed = tickets.map(|t| t["fields"].to_string()).unwrap_or_default();
        assert!(listed.contains("fields.plan") && listed.contains("\\\"Seats\\\""), "{listed}");
        let nope = json!({"dataset": "tickets", "measures": [{"fn": "count"}], "group_by": [{"field": "fields.nope"}]});
        app.post("/v1/analytics/query", key, nope).await.expect_error(422, "query_invalid");
        let other = app.create_tenant().await;
        app.post("/v1/analytics/query", &other.key, by_plan.clone()).await.expect_error(422, "query_invalid");
        // A retired field is no longer asked about.
        let fields = app.get("/v1/ticket-fields", key).await.expect(200);
        let vip =
            fields["fields"].as_array().and_then(|f| f.iter().find(|f| f["key"] == "vip")).expect("vip")["id"].clone();
        let vip = vip.as_str().expect("an id");
        app.patch(&format!("/v1/ticket-fields/{vip}"), key, json!({"active": false})).await.expect(200);
        app.post("/v1/analytics/query", key, big.clone()).await.expect_error(422, "query_invalid");
        answers.push(rows);
    }
    assert_eq!(answers[0].len(), answers[1].len());
    for row in &answers[0] {
        assert!(answers[1].contains(row), "{row} differs on SQLite: {:?}", answers[1]);
    }
}
