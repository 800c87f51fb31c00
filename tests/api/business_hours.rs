//! Business hours: schedules replaced as a whole by admins, checked (zones, intervals,
//! holidays, one default), kept by name, the tenant's own; the default's time zone is the
//! tenant's for questions asked in words; SLA policies in their order.

use copilot_tests::{
    llm::{LlmReply, TestLlm, prompt_of},
    spawn_app,
};
use reqwest::Method;
use serde_json::{Value, json};

fn hours(schedules: Value) -> Value {
    json!({ "schedules": schedules })
}

fn office(name: &str, default: bool) -> Value {
    json!({"name": name, "default": default, "time_zone": "Europe/Berlin",
           "week": {"mon": [["09:00", "12:00"], ["13:00", "17:30"]], "fri": [["22:00", "24:00"]], "sat": [["00:00", "06:00"]]},
           "holidays": ["2099-12-25"]})
}

#[tokio::test]
async fn admins_replace_the_schedules_which_keep_their_ids_by_name() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let other = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let put = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move { app.send(Method::PUT, "/v1/settings/business-hours", Some(&token), Some(&body)).await }
    };
    assert_eq!(app.get("/v1/settings/business-hours", &tenant.key).await.expect(200)["schedules"], json!([]));
    let saved = put(&tenant.key, hours(json!([office("Night desk", false), office("Office", true)]))).await.expect(200);
    assert_eq!(saved["schedules"][0]["name"], "Office", "the default first: {saved}");
    assert_eq!(saved["schedules"][0]["week"]["mon"], json!([["09:00", "12:00"], ["13:00", "17:30"]]));
    assert_eq!(saved["schedules"][0]["week"]["sun"], json!([]));
    assert_eq!(saved["schedules"][0]["holidays"], json!(["2099-12-25"]));
    let office_id = saved["schedules"][0]["id"].clone();
    // Renaming one replaces it; the other keeps its id.
    let again = put(&tenant.key, hours(json!([office("Office", true), office("Weekend", false)]))).await.expect(200);
    assert_eq!(again["schedules"][0]["id"], office_id);
    let names: Vec<&str> =
        again["schedules"].as_array().expect("schedules").iter().map(|s| s["name"].as_str().expect("a name")).collect();
    assert_eq!(names, ["Office", "Weekend"]);
    // A single schedule is the default.
    let single = put(&tenant.key, hours(json!([office("Office", false)]))).await.expect(200);
    assert_eq!(single["schedules"][0]["default"], true);

    let with = |patch: Value| {
        let mut schedule = office("Office", true);
        for (key, value) in patch.as_object().expect("an object") {
            schedule[key] = value.clone();
        }
        hours(json!([schedule]))
    };
    for (body, code) in [
        (with(json!({"time_zone": "Mars/Olympus"})), "invalid_time_zone"),
        (with(json!({"week": {"mon": [["17:00", "09:00"]]}})), "invalid_hours"),
        (with(json!({"week": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}})), "invalid_hours"),
        (with(json!({"week": {"mon": [["00:00", "24:30"]]}})), "invalid_hours"),
        (with(json!({"week": {"mon": [["24:00", "24:00"]]}})), "invalid_hours"),
        (with(json!({"week": {"mon": [["09:00"]]}})), "invalid_hours"),
        (with(json!({"holidays": ["2001-01-01"]})), "invalid_holidays"),
        (with(json!({"holidays": ["2099-02-30"]})), "invalid_holidays"),
        (hours(json!([office("A", true), office("B", true)])), "invalid_hours"),
        (hours(json!([office("A", false), office("B", false)])), "invalid_hours"),
        (hours(json!([office("A", true), office("A", false)])), "invalid_hours"),
    ] {
        put(&tenant.key, body).await.expect_error(400, code);
    }
    put(&agent, hours(json!([]))).await.expect_error(403, "forbidden");
    // Nothing of this reached another tenant; the refused bodies changed nothing.
    assert_eq!(app.get("/v1/settings/business-hours", &other.key).await.expect(200)["schedules"], json!([]));
    assert_eq!(app.get("/v1/settings/business-hours", &agent).await.expect(200)["schedules"][0]["id"], office_id);
    let audit = app.get("/v1/audit-events?action=business_hours.updated", &tenant.key).await.expect(200);
    assert_eq!(audit["data"].as_array().map(Vec::len), Some(3));
    // Clearing them is allowed.
    assert_eq!(put(&tenant.key, hours(json!([]))).await.expect(200)["schedules"], json!([]));
}

#[tokio::test]
async fn a_question_without_a_time_zone_is_read_in_the_default_schedules() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let llm = TestLlm::start().await;
    let settings = json!({"base_url": llm.base_url(), "model": "planner"});
    app.send(Method::PUT, "/v1/settings/llm", Some(&tenant.key), Some(&settings)).await.expect(200);
    let query = json!({"dataset": "tickets", "measures": [{"fn": "count"}],
                       "filters": [{"field": "created_at", "op": "between", "value": "today"}]});
    let ask = || async {
        llm.push([
            LlmReply::Text(json!({"query": query, "refused": null}).to_string()),
            LlmReply::Text("None.".into()),
        ]);
        app.post("/v1/ask", &tenant.key, json!({"question": "How many tickets today?"})).await.expect(200)
    };
    let asked = ask().await;
    assert_eq!(asked["query"]["time_zone"], "UTC");
    let mut schedule = office("Office", true);
    schedule["time_zone"] = json!("Asia/Tokyo");
    app.send(Method::PUT, "/v1/settings/business-hours", Some(&tenant.key), Some(&hours(json!([schedule]))))
        .await
        .expect(200);
    let asked = ask().await;
    assert_eq!(asked["query"]["time_zone"], "Asia/Tokyo");
    assert!(
        asked["query"]["filters"][0]["value"][0].as_str().is_some_and(|t| t.ends_with("T00:00:00+09:00")),
        "{asked}"
    );
    let planning = llm.requests().into_iter().rev().nth(1).unwrap_or_default();
    assert!(prompt_of(&planning).0.contains("in the time zone Asia/Tokyo"));
}

#[tokio::test]
async fn sla_policies_keep_their_order_and_refuse_what_cannot_be_measured() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let vip = json!({"name": "VIP", "conditions": {"tag": ["VIP"], "priority": ["urgent", "high"]},
                     "targets": [{"kind": "first_reply", "minutes": 30}, {"kind": "resolution", "minutes": 480}]});
    let created = app.post("/v1/sla-policies", &tenant.key, vip).await.expect(201);
    assert_eq!(created["conditions"]["tag"], json!(["vip"]));
    assert_eq!((created["position"].as_i64(), created["pause_when_pending"].as_bool()), (Some(0), Some(true)));
    let everyone = json!({"name": "Everyone", "targets": [{"kind": "first_reply", "minutes": 240}]});
    let everyone = app.post("/v1/sla-policies", &tenant.key, everyone).await.expect(201);
    // Acme first: placed at the top, the others move down.
    let acme = json!({"name": "Acme", "position": 0, "conditions": {"customer_domain": ["@ACME.com"]},
                      "targets": [{"kind": "next_reply", "minutes": 60}]});
    app.post("/v1/sla-policies", &tenant.key, acme).await.expect(201);
    let order = |listed: &Value| -> Vec<String> {
        listed["policies"]
            .as_array()
            .expect("policies")
            .iter()
            .map(|p| p["name"].as_str().expect("a name").to_owned())
            .collect()
    };
    let listed = app.get("/v1/sla-policies", &agent).await.expect(200);
    assert_eq!(order(&listed), ["Acme", "VIP", "Everyone"]);
    assert_eq!(listed["policies"][0]["conditions"]["customer_domain"], json!(["acme.com"]));
    let id = everyone["id"].as_str().expect("an id");
    let moved = app
        .patch(&format!("/v1/sla-policies/{id}"), &tenant.key, json!({"position": 0, "pause_when_pending": false}))
        .await
        .expect(200);
    assert_eq!((moved["position"].as_i64(), moved["pause_when_pending"].as_bool()), (Some(0), Some(false)));
    assert_eq!(order(&app.get("/v1/sla-policies", &tenant.key).await.expect(200)), ["Everyone", "Acme", "VIP"]);

    for (body, status, code) in [
        (json!({"name": "None", "targets": []}), 400, "invalid_policy"),
        (json!({"name": "Zero", "targets": [{"kind": "first_reply", "minutes": 0}]}), 400, "invalid_policy"),
        (
            json!({"name": "Twice", "targets": [{"kind": "resolution", "minutes": 5}, {"kind": "resolution", "minutes": 9}]}),
            400,
            "invalid_policy",
        ),
        (
            json!({"name": "Fax", "conditions": {"channel": ["fax"]}, "targets": [{"kind": "first_reply", "minutes": 5}]}),
            400,
            "invalid_policy",
        ),
        (json!({"name": "VIP", "targets": [{"kind": "first_reply", "minutes": 5}]}), 409, "policy_exists"),
        (
            json!({"name": "Hours", "targets": [{"kind": "first_reply", "minutes": 5, "business_hours": true}]}),
            422,
            "no_business_hours",
        ),
    ] {
        app.post("/v1/sla-policies", &tenant.key, body).await.expect_error(status, code);
    }
    // With business hours, a target may count them.
    app.send(
        Method::PUT,
        "/v1/settings/business-hours",
        Some(&tenant.key),
        Some(&hours(json!([office("Office", true)]))),
    )
    .await
    .expect(200);
    let business = json!({"name": "Hours", "targets": [{"kind": "first_reply", "minutes": 5, "business_hours": true}]});
    app.post("/v1/sla-policies", &tenant.key, business).await.expect(201);
    app.post("/v1/sla-policies", &agent, json!({"name": "Mine", "targets": [{"kind": "first_reply", "minutes": 5}]}))
        .await
        .expect_error(403, "forbidden");
    app.send(Method::DELETE, &format!("/v1/sla-policies/{id}"), Some(&tenant.key), None).await.expect(204);
    let left = app.get("/v1/sla-policies", &tenant.key).await.expect(200);
    assert_eq!(order(&left), ["Acme", "VIP", "Hours"]);
    let positions: Vec<i64> = left["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .map(|p| p["position"].as_i64().expect("a position"))
        .collect();
    assert_eq!(positions, [0, 1, 2]);
    app.send(Method::DELETE, &format!("/v1/sla-policies/{id}"), Some(&tenant.key), None)
        .await
        .expect_error(404, "not_found");
}
