//! Service levels on tickets: the first matching policy's targets on each new ticket, met by
//! replies and solving, paused while pending, kept when the policy is edited until an admin
//! recomputes; the inbox ordered and filtered by due time; warnings and breaches emitted
//! once each by the SLA workers of two processes sharing the database.

use std::time::Duration;

use chrono::{DateTime, Utc};
use copilot_tests::{TestApp, spawn_app, uuid_at};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|text| text.parse().ok()).unwrap_or_else(|| panic!("not a time: {value}"))
}

fn target<'a>(ticket: &'a Value, kind: &str) -> &'a Value {
    ticket["sla"]["targets"]
        .as_array()
        .and_then(|targets| targets.iter().rev().find(|t| t["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} target: {ticket}"))
}

async fn open(app: &TestApp, key: &str, subject: &str, priority: &str) -> Value {
    let body = json!({"subject": subject, "channel": "email", "customer": {"email": "ann@acme.test"},
                      "body": format!("About {subject}"), "priority": priority});
    app.post("/v1/tickets", key, body).await.expect(201)["ticket"].clone()
}

async fn ticket(app: &TestApp, key: &str, id: &Value) -> Value {
    app.get(&format!("/v1/tickets/{}", id.as_str().expect("an id")), key).await.expect(200)
}

fn ids(page: &Value) -> Vec<Value> {
    page["data"].as_array().expect("a page").iter().map(|t| t["id"].clone()).collect()
}

#[tokio::test]
async fn tickets_carry_the_first_matching_policys_targets_until_an_admin_recomputes() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let key = tenant.key.as_str();
    let before = open(&app, key, "Before any policy", "normal").await;
    assert!(before.get("sla").is_none(), "no policy, no service levels: {before}");
    // Its facts settle (the intent) before there are policies: none applies to it by itself.
    app.wait_for_triage(key, uuid_at(&before, "/id")).await;

    let urgent = json!({"name": "Urgent", "conditions": {"priority": ["urgent"]}, "warning_minutes": 5,
                        "targets": [{"kind": "first_reply", "minutes": 30}]});
    let urgent = uuid_at(&app.post("/v1/sla-policies", key, urgent).await.expect(201), "/id");
    let standard = json!({"name": "Standard", "targets": [
        {"kind": "first_reply", "minutes": 240}, {"kind": "next_reply", "minutes": 120},
        {"kind": "resolution", "minutes": 2880}]});
    let standard = app.post("/v1/sla-policies", key, standard).await.expect(201);
    assert_eq!(standard["warning_minutes"], 15, "the default lead time: {standard}");
    let standard = uuid_at(&standard, "/id");

    let normal = open(&app, key, "Normal", "normal").await;
    let normal = ticket(&app, key, &normal["id"]).await;
    assert_eq!(normal["sla"]["policy_name"], "Standard", "{normal}");
    let created = time(&normal["created_at"]);
    let first = target(&normal, "first_reply");
    assert_eq!(time(&first["due_at"]), created + chrono::Duration::minutes(240));
    assert_eq!(time(&first["warn_at"]), created + chrono::Duration::minutes(225));
    assert_eq!(time(&target(&normal, "resolution")["due_at"]), created + chrono::Duration::minutes(2880));
    assert_eq!(normal["sla"]["next_due_at"], first["due_at"]);
    assert_eq!(normal["sla"]["breached"], false);

    let hot = open(&app, key, "Hot", "urgent").await;
    let hot = ticket(&app, key, &hot["id"]).await;
    assert_eq!(hot["sla"]["policy_id"], json!(urgent), "{hot}");
    assert_eq!(time(&hot["sla"]["next_due_at"]), time(&hot["created_at"]) + chrono::Duration::minutes(30));

    // The inbox by due time: the urgent ticket, the normal one, then the one without SLA.
    let page = app.get("/v1/tickets?sort=due", key).await.expect(200);
    assert_eq!(ids(&page), [hot["id"].clone(), normal["id"].clone(), before["id"].clone()]);
    let paged = app.get("/v1/tickets?sort=due&limit=1", key).await.expect(200);
    let cursor = paged["next_cursor"].as_str().expect("a cursor").to_owned();
    let rest = app.get(&format!("/v1/tickets?sort=due&limit=5&cursor={cursor}"), key).await.expect(200);
    assert_eq!(ids(&rest), [normal["id"].clone(), before["id"].clone()]);
    let soon = (time(&hot["sla"]["next_due_at"]) + chrono::Duration::seconds(1)).to_rfc3339();
    let due = app.get(&format!("/v1/tickets?due_before={}", urlencoding(&soon)), key).await.expect(200);
    assert_eq!(ids(&due), [hot["id"].clone()]);
    app.get("/v1/tickets?due_before=tomorrow", key).await.expect_error(400, "invalid_parameter");

    // A reply meets the first reply; the customer's next message starts a next reply.
    let normal_id = normal["id"].as_str().expect("an id").to_owned();
    let messages = format!("/v1/tickets/{normal_id}/messages");
    app.post(&messages, &agent, json!({"author": "agent", "body": "Looking into it."})).await.expect(201);
    let replied = ticket(&app, key, &normal["id"]).await;
    assert!(target(&replied, "first_reply")["achieved_at"].is_string(), "{replied}");
    assert_eq!(replied["sla"]["next_due_at"], target(&replied, "resolution")["due_at"]);
    app.post(&messages, key, json!({"author": "customer", "body": "Any news?"})).await.expect(201);
    let waiting = ticket(&app, key, &normal["id"]).await;
    let next = target(&waiting, "next_reply");
    assert_eq!(time(&next["due_at"]), time(&next["started_at"]) + chrono::Duration::minutes(120));
    assert_eq!(waiting["sla"]["next_due_at"], next["due_at"]);

    // Pending stops the clocks (the policy's default); open starts them again.
    let path = format!("/v1/tickets/{normal_id}");
    let pending = app.patch(&path, &agent, json!({"status": "pending"})).await.expect(200);
    assert!(
        pending["sla"]["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .all(|t| t["paused"] == t["achieved_at"].is_null())
    );
    assert!(pending["sla"].get("next_due_at").is_none(), "{pending}");
    let reopened = app.patch(&path, &agent, json!({"status": "open"})).await.expect(200);
    assert!(time(&reopened["sla"]["next_due_at"]) >= time(&next["due_at"]), "{reopened}");

    // An edited policy leaves existing tickets alone; new tickets and a recompute take it.
    app.patch(
        &format!("/v1/sla-policies/{standard}"),
        key,
        json!({"targets": [{"kind": "first_reply", "minutes": 10}]}),
    )
    .await
    .expect(200);
    let kept = ticket(&app, key, &normal["id"]).await;
    assert_eq!(target(&kept, "next_reply")["minutes"], 120, "{kept}");
    let later = open(&app, key, "Later", "normal").await;
    let later = ticket(&app, key, &later["id"]).await;
    assert_eq!(target(&later, "first_reply")["minutes"], 10);
    let recompute = format!("/v1/tickets/{normal_id}/sla/recompute");
    app.post(&recompute, &agent, json!({})).await.expect_error(403, "forbidden");
    let recomputed = app.post(&recompute, key, json!({})).await.expect(200);
    let kinds: Vec<&str> = recomputed["sla"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["kind"].as_str().expect("a kind"))
        .collect();
    assert_eq!(kinds, ["first_reply"], "the open targets the policy no longer has go; the met one stays: {recomputed}");
    // A ticket opened before any policy comes under one only when recomputed.
    let legacy = format!("/v1/tickets/{}/sla/recompute", before["id"].as_str().expect("id"));
    assert_eq!(app.post(&legacy, key, json!({})).await.expect(200)["sla"]["policy_name"], "Standard");

    // A change of the facts (priority) moves the ticket to the policy that matches now.
    let escalated = app.patch(&path, &agent, json!({"priority": "urgent"})).await.expect(200);
    assert_eq!(escalated["sla"]["policy_name"], "Urgent", "{escalated}");
    let audit = app.get("/v1/audit-events?action=ticket.sla_recomputed", key).await.expect(200);
    let recomputed =
        audit["data"].as_array().expect("audit events").iter().filter(|e| e["action"] == "ticket.sla_recomputed");
    assert_eq!(recomputed.count(), 2, "{audit}");
}

fn urlencoding(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

/// Moves a ticket's SLA clocks `minutes` into the past, as if it had been opened that much
/// earlier: every time of its targets and its timer.
async fn rewind(app: &TestApp, ticket: Uuid, minutes: i64) {
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let conn = db.unscoped();
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT targets::text AS targets FROM ticket_slas WHERE ticket_id = $1",
            [ticket.into()],
        ))
        .await
        .expect("read the clocks")
        .expect("the ticket's clocks");
    let text: String = row.try_get("", "targets").expect("targets");
    let mut targets: Value = serde_json::from_str(&text).expect("json");
    for target in targets.as_array_mut().expect("targets") {
        for (_, value) in target.as_object_mut().expect("a target").iter_mut() {
            if let Some(at) = value.as_str().and_then(|text| text.parse::<DateTime<Utc>>().ok()) {
                *value = json!(at - chrono::Duration::minutes(minutes));
            }
        }
    }
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE ticket_slas SET targets = $1::json, next_attempt_at = next_attempt_at - make_interval(mins => $2)
         WHERE ticket_id = $3",
        [targets.to_string().into(), (minutes as i32).into(), ticket.into()],
    ))
    .await
    .expect("rewind the clocks");
}

async fn events_of(app: &TestApp, ticket: Uuid) -> Vec<(String, String)> {
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let rows = db
        .unscoped()
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT event_type, data::text AS data FROM events
             WHERE ticket_id = $1 AND event_type LIKE 'sla.%' ORDER BY created_at",
            [ticket.into()],
        ))
        .await
        .expect("events");
    rows.iter()
        .map(|row| {
            let data: String = row.try_get("", "data").expect("data");
            let data: Value = serde_json::from_str(&data).expect("json");
            (
                row.try_get("", "event_type").expect("type"),
                data["target"]["kind"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn wait_for_events(app: &TestApp, ticket: Uuid, count: usize) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let events = events_of(app, ticket).await;
        if events.len() >= count {
            return events;
        }
        assert!(tokio::time::Instant::now() < deadline, "{count} SLA events expected, got {events:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn warnings_and_breaches_are_emitted_once_by_the_workers_of_two_processes() {
    let app = spawn_app().await;
    // A second process on the same database: its SLA worker races the first one's.
    let second = copilot_tests::spawn_app_with(&app.database_url, app.backend, |_| {}).await;
    let tenant = app.create_tenant().await;
    let key = tenant.key.as_str();
    let policy = json!({"name": "Fast", "warning_minutes": 15,
                        "targets": [{"kind": "first_reply", "minutes": 60}, {"kind": "resolution", "minutes": 600}]});
    app.post("/v1/sla-policies", key, policy).await.expect(201);
    let mut tickets = Vec::new();
    for n in 0..8 {
        let opened = open(&app, key, &format!("Ticket {n}"), "normal").await;
        tickets.push(uuid_at(&opened, "/id"));
    }
    // Answered one: its first reply is met and never warned or breached.
    let answered = tickets[7];
    let reply = json!({"author": "agent", "body": "On it."});
    let (_, agent) = app.add_user(&tenant, "agent").await;
    app.post(&format!("/v1/tickets/{answered}/messages"), &agent, reply).await.expect(201);

    for ticket in &tickets {
        rewind(&app, *ticket, 50).await;
    }
    for ticket in &tickets[..7] {
        assert_eq!(wait_for_events(&app, *ticket, 1).await, [("sla.warning".to_owned(), "first_reply".to_owned())]);
    }
    for ticket in &tickets {
        rewind(&app, *ticket, 15).await;
    }
    for ticket in &tickets[..7] {
        wait_for_events(&app, *ticket, 2).await;
    }
    // Both workers had every chance to send each again.
    for app in [&app, &second] {
        app.drain_queue("sla").await;
    }
    for ticket in &tickets[..7] {
        let events = events_of(&app, *ticket).await;
        assert_eq!(
            events,
            [
                ("sla.warning".to_owned(), "first_reply".to_owned()),
                ("sla.breached".to_owned(), "first_reply".to_owned())
            ],
            "{ticket}"
        );
        let shown = app.get(&format!("/v1/tickets/{ticket}"), key).await.expect(200);
        assert_eq!(shown["sla"]["breached"], true, "{shown}");
        assert!(target(&shown, "first_reply")["breached_at"].is_string());
    }
    assert!(events_of(&app, answered).await.is_empty());
    // The breached ones are due before now; the answered one is not.
    let now = Utc::now().to_rfc3339();
    let breached = app.get(&format!("/v1/tickets?due_before={}&limit=20", urlencoding(&now)), key).await.expect(200);
    let mut listed: Vec<Uuid> =
        ids(&breached).iter().map(|id| id.as_str().expect("id").parse().expect("uuid")).collect();
    listed.sort();
    let mut expected = tickets[..7].to_vec();
    expected.sort();
    assert_eq!(listed, expected);

    // Attainment: one first reply met in time, seven breached; resolutions still running.
    let report = app.get("/v1/analytics/sla?period=week", key).await.expect(200);
    assert_eq!(report["tickets"], 8, "{report}");
    let first = &report["totals"]["first_reply"];
    assert_eq!(
        (first["met"].clone(), first["breached"].clone(), first["running"].clone()),
        (json!(1), json!(7), json!(0))
    );
    assert_eq!(first["attainment"], json!(0.125));
    let resolution = &report["totals"]["resolution"];
    assert_eq!((resolution["running"].clone(), resolution.get("attainment")), (json!(8), None), "{report}");
    assert_eq!(
        (report["by_policy"][0]["key"].clone(), report["by_policy"][0]["tickets"].clone()),
        (json!("Fast"), json!(8))
    );
    assert_eq!(report["by_priority"][0]["key"], "normal");
    assert_eq!(report["by_channel"][0]["targets"]["all"]["breached"], 7);
    let weeks = report["by_period"].as_array().expect("periods");
    assert_eq!(weeks.iter().map(|week| week["tickets"].as_i64().unwrap_or_default()).sum::<i64>(), 8);
    let other = app.create_tenant().await;
    assert_eq!(app.get("/v1/analytics/sla", &other.key).await.expect(200)["tickets"], 0);
    // A data question reads the same due times.
    let overdue = json!({"dataset": "tickets", "measures": [{"fn": "count"}],
                         "filters": [{"field": "sla_due_at", "op": "lt", "value": now}]});
    assert_eq!(app.post("/v1/analytics/query", key, overdue).await.expect(200)["rows"], json!([[7]]));
}
