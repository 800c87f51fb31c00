//! The inbox's server side: orders by priority, by how long the customer has waited and by
//! sentiment, each paging without gaps; previews and waiting times kept by the thread;
//! built-in views with counts; bulk changes, all or none; and presence on a ticket, live
//! on the event stream and never sent to webhooks.

use std::{sync::Arc, time::Duration};

use copilot_tests::{
    Backend, Hooked, TestApp, TestTenant, new_postgres_database, spawn_app, spawn_app_with_triager, uuid_at,
};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().into_iter().flatten().map(|t| t["id"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Every ticket of a listing, read two at a time.
async fn walk(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut path = format!("/v1/tickets?limit=2&{query}");
    loop {
        let page = app.get(&path, token).await.expect(200);
        seen.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tickets?limit=2&{query}&cursor={cursor}"),
            None => return seen,
        }
    }
}

async fn open(app: &TestApp, tenant: &TestTenant, body: &str, priority: &str) -> String {
    let created = app
        .post(
            "/v1/tickets",
            &tenant.key,
            json!({"subject": body, "channel": "web", "customer": {"email": "c@example.test"}, "body": body, "priority": priority}),
        )
        .await
        .expect(201);
    created["ticket"]["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_inbox_orders_by_priority_waiting_and_sentiment_and_pages_in_each_order() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let bodies = [
        ("This is the worst service ever, I am furious and want my money back now!", "normal"),
        ("Thank you so much, the new headphones are wonderful and arrived early!", "low"),
        ("Where is my parcel? The tracking page has not changed since Monday.", "urgent"),
        ("I am very disappointed, the blender broke after two days.", "high"),
        ("Can I change the delivery address of order 1234?", "normal"),
    ];
    let mut created = Vec::new();
    for (body, priority) in bodies {
        created.push(open(&app, &tenant, body, priority).await);
    }
    for id in &created {
        app.wait_for_triage(&tenant.key, id.parse().unwrap_or_default()).await;
    }
    let (_, agent) = app.add_user(&tenant, "agent").await;
    // The agent answers the urgent ticket; the customer of the last writes again (the
    // wait started by their first message goes on), and an agent notes something on it.
    app.post(
        &format!("/v1/tickets/{}/messages", created[2]),
        &agent,
        json!({"author": "agent", "body": "It left our depot today."}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/v1/tickets/{}/messages", created[4]),
        &tenant.key,
        json!({"author": "customer", "body": "Also, could it go to my office instead?"}),
    )
    .await
    .expect(201);
    app.wait_for_triage(&tenant.key, created[4].parse().unwrap_or_default()).await;
    app.post(
        &format!("/v1/tickets/{}/messages", created[4]),
        &agent,
        json!({"author": "note", "body": "VIP customer"}),
    )
    .await
    .expect(201);

    let by_priority: Vec<String> = walk(&app, &agent, "sort=priority")
        .await
        .iter()
        .map(|t| t["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let expected: Vec<String> = [2, 3, 0, 4, 1].iter().map(|&i| created[i].clone()).collect();
    assert_eq!(by_priority, expected, "most urgent first, the oldest first within a priority");

    let waiting = walk(&app, &agent, "sort=waiting").await;
    let order: Vec<String> = waiting.iter().map(|t| t["id"].as_str().unwrap_or_default().to_owned()).collect();
    let expected: Vec<String> = [0, 1, 3, 4, 2].iter().map(|&i| created[i].clone()).collect();
    assert_eq!(order, expected, "the longest waiting first, the answered last");
    let again = &waiting[3];
    assert_eq!(again["waiting_since"], again["created_at"], "a second message does not restart the wait: {again}");
    assert_eq!(again["preview"], "Also, could it go to my office instead?", "an internal note is no preview");
    assert_eq!(waiting[0]["preview"], bodies[0].0);
    let answered = &waiting[4];
    assert!(answered["waiting_since"].is_null(), "{answered}");
    assert_eq!(answered["preview"], "It left our depot today.");

    let by_sentiment = walk(&app, &agent, "sort=sentiment").await;
    let scores: Vec<f64> = by_sentiment.iter().map(|t| t["sentiment_score"].as_f64().unwrap_or(f64::NAN)).collect();
    assert!(scores.iter().all(|s| (-1.0..=1.0).contains(s)), "every ticket is scored: {scores:?}");
    assert!(scores.windows(2).all(|pair| pair[0] <= pair[1]), "most negative first: {scores:?}");
    assert_eq!(by_sentiment.len(), 5);
    assert_eq!(by_sentiment[4]["id"], created[1].as_str(), "the delighted customer last: {scores:?}");
    let whole = app.get("/v1/tickets?limit=100&sort=sentiment", &agent).await.expect(200);
    assert_eq!(
        ids(&whole),
        by_sentiment.iter().map(|t| t["id"].as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>()
    );

    // A cursor of another order is refused rather than misread.
    let page = app.get("/v1/tickets?limit=2&sort=updated", &agent).await.expect(200);
    let cursor = page["next_cursor"].as_str().unwrap_or_default().to_owned();
    app.get(
        &format!("/v1/tickets?sort=priority&cursor=n_{}", &cursor[cursor.find('_').map_or(0, |i| i + 1)..]),
        &agent,
    )
    .await
    .expect_error(400, "invalid_cursor");
    app.get("/v1/tickets?sort=urgency", &agent).await.expect_error(400, "invalid_parameter");
}

#[tokio::test]
async fn unscored_tickets_sort_after_the_scored_and_page_through_once() {
    // A database of its own: no other test's worker may triage the quiet tickets.
    let database = new_postgres_database().await;
    // The models refuse every batch with a "[quiet]" message: those tickets stay unscored.
    let quiet =
        Hooked(|texts: &[String]| texts.iter().any(|t| t.contains("[quiet]")).then(|| Err("not this one".into())));
    let app = spawn_app_with_triager(&database, Backend::Postgres, Arc::new(quiet), |_| {}).await;
    let tenant = app.create_tenant().await;
    let angry = open(&app, &tenant, "This is outrageous, you broke my order and nobody answers!", "normal").await;
    let happy = open(&app, &tenant, "Thank you, everything arrived and it is perfect!", "normal").await;
    for id in [&angry, &happy] {
        app.wait_for_triage(&tenant.key, id.parse().unwrap_or_default()).await;
    }
    let mut quiet = Vec::new();
    for i in 0..3 {
        quiet.push(open(&app, &tenant, &format!("[quiet] question {i}"), "normal").await);
    }
    let listed = walk(&app, &tenant.key, "sort=sentiment").await;
    let order: Vec<String> = listed.iter().map(|t| t["id"].as_str().unwrap_or_default().to_owned()).collect();
    let mut expected = vec![angry, happy];
    expected.extend(quiet);
    assert_eq!(order, expected, "scored by score, then the unscored oldest first, each once");
    assert!(listed[2..].iter().all(|t| t["sentiment_score"].is_null()));
}

#[tokio::test]
async fn views_count_the_tickets_they_list_for_each_person_and_tenant() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, agent) = app.add_user(&tenant, "agent").await;
    let mut created = Vec::new();
    for (body, priority) in [("one", "urgent"), ("two", "high"), ("three", "normal"), ("four", "low")] {
        created.push(open(&app, &tenant, body, priority).await);
    }
    app.patch(&format!("/v1/tickets/{}", created[0]), &agent, json!({"assignee_id": agent_id})).await.expect(200);
    app.patch(&format!("/v1/tickets/{}", created[3]), &agent, json!({"status": "solved"})).await.expect(200);
    // Another tenant's tickets are counted nowhere here.
    let other = app.create_tenant().await;
    open(&app, &other, "theirs", "urgent").await;

    let views = app.get("/v1/tickets/views", &agent).await.expect(200);
    let count =
        |id: &str| views["views"].as_array().into_iter().flatten().find(|v| v["id"] == id).map(|v| v["count"].clone());
    assert_eq!(count("active"), Some(json!(3)), "solved tickets are done: {views}");
    assert_eq!(count("mine"), Some(json!(1)));
    assert_eq!(count("unassigned"), Some(json!(2)));
    assert_eq!(count("urgent"), Some(json!(2)));
    assert_eq!(count("negative"), Some(json!(0)));
    // Each view's filter lists exactly what it counts.
    for view in views["views"].as_array().into_iter().flatten() {
        let filter = view["filter"].as_object().cloned().unwrap_or_default();
        let query: Vec<String> =
            filter.iter().map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_owned))).collect();
        let listed = app.get(&format!("/v1/tickets?limit=100&{}", query.join("&")), &agent).await.expect(200);
        assert_eq!(json!(ids(&listed).len()), view["count"], "{view}");
    }
    // An integration key has no "mine".
    let keyed = app.get("/v1/tickets/views", &tenant.key).await.expect(200);
    assert!(keyed["views"].as_array().into_iter().flatten().all(|v| v["id"] != "mine"), "{keyed}");
    let theirs = app.get("/v1/tickets/views", &other.key).await.expect(200);
    assert_eq!(theirs["views"][0]["count"], 1);
}

#[tokio::test]
async fn a_bulk_change_applies_to_every_ticket_or_to_none() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, agent) = app.add_user(&tenant, "agent").await;
    let mut created = Vec::new();
    for body in ["a", "b", "c"] {
        created.push(open(&app, &tenant, body, "normal").await);
    }
    app.patch(&format!("/v1/tickets/{}", created[0]), &agent, json!({"tags": ["billing", "old"]})).await.expect(200);

    let changed = app
        .post(
            "/v1/tickets/bulk",
            &agent,
            json!({"ticket_ids": created, "status": "pending", "assignee_id": agent_id, "add_tags": ["Refund"], "remove_tags": ["old"]}),
        )
        .await
        .expect(200);
    let tickets = changed["tickets"].as_array().cloned().unwrap_or_default();
    assert_eq!(tickets.iter().map(|t| t["id"].as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>(), created);
    for ticket in &tickets {
        assert_eq!(ticket["status"], "pending");
        assert_eq!(ticket["assignee_id"], json!(agent_id));
    }
    assert_eq!(tickets[0]["tags"], json!(["billing", "refund"]));
    assert_eq!(tickets[1]["tags"], json!(["refund"]));
    let audit = app.get("/v1/audit-events?action=ticket.assigned&limit=100", &tenant.key).await.expect(200);
    assert_eq!(audit["data"].as_array().map(Vec::len), Some(3), "each ticket audited: {audit}");

    // One ticket of another tenant in the list: not found, and nothing changes.
    let other = app.create_tenant().await;
    let foreign = open(&app, &other, "theirs", "normal").await;
    app.post("/v1/tickets/bulk", &agent, json!({"ticket_ids": [created[0], foreign], "status": "solved"}))
        .await
        .expect_error(404, "not_found");
    let unchanged = app.get(&format!("/v1/tickets/{}", created[0]), &agent).await.expect(200);
    assert_eq!(unchanged["status"], "pending", "all or none");
    let theirs = app.get(&format!("/v1/tickets/{foreign}"), &other.key).await.expect(200);
    assert_eq!(theirs["status"], "new");

    app.post("/v1/tickets/bulk", &agent, json!({"ticket_ids": [], "status": "solved"}))
        .await
        .expect_error(400, "invalid_ticket_ids");
    app.post("/v1/tickets/bulk", &agent, json!({"ticket_ids": [created[0], created[0]], "status": "solved"}))
        .await
        .expect_error(400, "invalid_ticket_ids");
    let many: Vec<String> = (0..101).map(|_| Uuid::now_v7().to_string()).collect();
    app.post("/v1/tickets/bulk", &agent, json!({"ticket_ids": many, "status": "solved"}))
        .await
        .expect_error(400, "invalid_ticket_ids");
    app.post("/v1/tickets/bulk", &agent, json!({"ticket_ids": [created[0]]})).await.expect_error(400, "empty_change");
    app.post("/v1/tickets/bulk", &agent, json!({"ticket_ids": [created[0]], "add_tags": ["a,b"]}))
        .await
        .expect_error(400, "validation_failed");
    let unknown = Uuid::now_v7();
    app.post("/v1/tickets/bulk", &agent, json!({"ticket_ids": [created[0]], "assignee_id": unknown}))
        .await
        .expect_error(422, "unknown_assignee");
}

/// Reads the event stream until an event of `event_type` arrives (or `wait` passes).
async fn next_event(
    app: &TestApp,
    token: &str,
    event_type: &str,
    wait: Duration,
    act: impl AsyncFnOnce(),
) -> Option<Value> {
    let response = reqwest::Client::new()
        .get(app.url(&format!("/v1/events/stream?types={event_type}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("the stream opens");
    assert_eq!(response.status(), 200);
    let mut bytes = response.bytes_stream();
    act().await;
    let deadline = tokio::time::Instant::now() + wait;
    let mut raw = String::new();
    loop {
        if let Some(block) = raw.split("\n\n").find(|block| block.contains(&format!("event: {event_type}"))) {
            let data = block.lines().find_map(|line| line.strip_prefix("data: "))?;
            return serde_json::from_str(data).ok();
        }
        match tokio::time::timeout_at(deadline, bytes.next()).await {
            Ok(Some(Ok(chunk))) => raw.push_str(&String::from_utf8_lossy(&chunk)),
            _ => return None,
        }
    }
}

#[tokio::test]
async fn presence_shows_who_views_or_types_live_and_never_reaches_webhooks() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (lee_id, lee) = app.add_user(&tenant, "agent").await;
    let (_, kim) = app.add_user(&tenant, "agent").await;
    let ticket = open(&app, &tenant, "Where is my parcel?", "normal").await;
    let hook = app
        .post("/v1/webhooks", &tenant.key, json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}))
        .await
        .expect(201);
    let hook_id = uuid_at(&hook, "/id");
    let path = format!("/v1/tickets/{ticket}/presence");

    let event = next_event(&app, &kim, "ticket.presence", Duration::from_secs(10), async || {
        let people = app.send(Method::PUT, &path, Some(&lee), Some(&json!({"state": "viewing"}))).await.expect(200);
        assert_eq!(people["people"][0]["user_id"], json!(lee_id));
    })
    .await
    .expect("Kim's console hears that Lee arrived");
    assert_eq!(event["data"]["user_id"], json!(lee_id));
    assert_eq!(event["data"]["state"], "viewing");
    assert_eq!(event["ticket_id"], ticket.as_str());

    let event = next_event(&app, &kim, "ticket.presence", Duration::from_secs(10), async || {
        app.send(Method::PUT, &path, Some(&lee), Some(&json!({"state": "typing"}))).await.expect(200);
    })
    .await
    .expect("and that Lee is typing");
    assert_eq!(event["data"]["state"], "typing");
    app.send(Method::PUT, &path, Some(&kim), Some(&json!({"state": "viewing"}))).await.expect(200);
    let people = app.get(&path, &kim).await.expect(200);
    let states: Vec<(&str, &str)> = people["people"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| (p["name"].as_str().unwrap_or_default(), p["state"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(states.len(), 2, "{people}");
    assert_eq!(states[0].1, "typing", "Lee came first: {people}");
    assert!(states[0].0.starts_with("agent-"), "a person's name or address: {people}");

    let event = next_event(&app, &kim, "ticket.presence", Duration::from_secs(10), async || {
        app.send(Method::PUT, &path, Some(&lee), Some(&json!({"state": "left"}))).await.expect(200);
    })
    .await
    .expect("and that Lee left");
    assert!(event["data"]["state"].is_null(), "{event}");
    let people = app.get(&path, &kim).await.expect(200);
    assert_eq!(people["people"].as_array().map(Vec::len), Some(1));

    // Webhooks get none of it, not even an endpoint that wants everything.
    let deliveries = app.get(&format!("/v1/webhooks/{hook_id}/deliveries?limit=100"), &tenant.key).await.expect(200);
    let presence =
        deliveries["data"].as_array().into_iter().flatten().filter(|d| d["event_type"] == "ticket.presence").count();
    assert_eq!(presence, 0, "{deliveries}");
    app.post("/v1/webhooks", &tenant.key, json!({"url": "http://127.0.0.1:9/h", "events": ["ticket.presence"]}))
        .await
        .expect_error(400, "invalid_event_types");

    // Only people are present, and only on their own tenant's tickets.
    app.send(Method::PUT, &path, Some(&tenant.key), Some(&json!({"state": "viewing"})))
        .await
        .expect_error(403, "forbidden");
    app.send(Method::PUT, &path, Some(&lee), Some(&json!({"state": "dancing"})))
        .await
        .expect_error(400, "invalid_body");
    let other = app.create_tenant().await;
    let (_, stranger) = app.add_user(&other, "agent").await;
    app.send(Method::PUT, &path, Some(&stranger), Some(&json!({"state": "viewing"})))
        .await
        .expect_error(404, "not_found");
    app.get(&path, &stranger).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn housekeeping_forgets_lapsed_presence_and_past_live_events_but_keeps_the_rest() {
    use copilot_store::entities::{event, ticket_presence};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, lee) = app.add_user(&tenant, "agent").await;
    let ticket = open(&app, &tenant, "Where is my parcel?", "normal").await;
    let path = format!("/v1/tickets/{ticket}/presence");
    app.send(Method::PUT, &path, Some(&lee), Some(&json!({"state": "viewing"}))).await.expect(200);
    let ticket: Uuid = ticket.parse().expect("an id");

    // Make the word of presence and every event of this tenant three hours old.
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let conn = db.unscoped();
    let past = copilot_core::now() - chrono::Duration::hours(3);
    ticket_presence::Entity::update_many()
        .col_expr(ticket_presence::Column::UpdatedAt, Expr::value(past))
        .filter(ticket_presence::Column::TicketId.eq(ticket))
        .exec(conn)
        .await
        .expect("backdate presence");
    event::Entity::update_many()
        .col_expr(event::Column::CreatedAt, Expr::value(past))
        .filter(event::Column::TenantId.eq(tenant.id))
        .exec(conn)
        .await
        .expect("backdate events");

    let ttl = copilot_conversations::presence::PRESENCE_TTL;
    assert!(copilot_store::presence::purge_lapsed(&db, ttl).await.expect("purge presence") >= 1);
    assert!(copilot_store::events::purge_live(&db).await.expect("purge live events") >= 1);
    let rows = ticket_presence::Entity::find().filter(ticket_presence::Column::TicketId.eq(ticket)).all(conn).await;
    assert_eq!(rows.expect("presence rows").len(), 0);
    let kinds: Vec<String> = event::Entity::find()
        .filter(event::Column::TenantId.eq(tenant.id))
        .all(conn)
        .await
        .expect("events")
        .into_iter()
        .map(|row| row.event_type)
        .collect();
    assert!(!kinds.iter().any(|kind| kind == "ticket.presence"), "{kinds:?}");
    assert!(kinds.iter().any(|kind| kind == "ticket.created"), "the events webhooks deliver stay: {kinds:?}");
}
