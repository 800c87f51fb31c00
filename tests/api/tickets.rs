//! Tickets: creation, validation, idempotency, filters, paging, updates and messages.

use std::collections::HashSet;

use copilot_tests::{TestApp, spawn_app, uuid_at};
use reqwest::Method;
use serde_json::{Value, json};

fn ticket_body(subject: &str) -> Value {
    json!({
        "subject": subject,
        "channel": "email",
        "customer": {"email": "Ann@Example.test", "name": "Ann"},
        "body": "My parcel has not arrived.",
        "priority": "high",
        "tags": ["Shipping", "vip", "shipping"],
    })
}

async fn create_with_key(app: &TestApp, token: &str, key: &str, body: &Value) -> copilot_tests::Reply {
    app.send_with(Method::POST, "/v1/tickets", Some(token), Some(body), &[("Idempotency-Key", key)]).await
}

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().into_iter().flatten().map(|t| t["id"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn a_ticket_is_created_with_its_first_customer_message() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let created = app.post("/v1/tickets", &tenant.key, ticket_body("Where is my parcel?")).await.expect(201);

    let ticket = &created["ticket"];
    assert_eq!(ticket["subject"], "Where is my parcel?");
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["channel"], "email");
    assert_eq!(ticket["number"], 1);
    assert_eq!(ticket["customer"]["email"], "ann@example.test");
    assert_eq!(ticket["tags"], json!(["shipping", "vip"]));
    assert_eq!(created["message"]["author"], "customer");
    assert_eq!(created["message"]["ticket_id"], ticket["id"]);
    let mut fetched =
        app.get(&format!("/v1/tickets/{}", ticket["id"].as_str().unwrap_or_default()), &tenant.key).await.expect(200);
    // Triage may have filled these in since creation.
    for field in ["intent", "sentiment", "sentiment_score", "language", "draft_ready"] {
        fetched.as_object_mut().map(|object| object.remove(field));
    }
    let mut created_ticket = ticket.clone();
    created_ticket.as_object_mut().map(|object| object.remove("draft_ready"));
    assert_eq!(fetched, created_ticket);
    // The inbox sees the customer waiting since the first message, and its start.
    assert_eq!(ticket["waiting_since"], ticket["created_at"]);
    assert_eq!(ticket["preview"], "My parcel has not arrived.");
}

#[tokio::test]
async fn ticket_numbers_count_up_per_tenant() {
    let app = spawn_app().await;
    let first = app.create_tenant().await;
    let second = app.create_tenant().await;

    let a1 = app.create_ticket(&first.key, "a1", "c@example.test").await;
    let a2 = app.create_ticket(&first.key, "a2", "c@example.test").await;
    let b1 = app.create_ticket(&second.key, "b1", "c@example.test").await;

    assert_eq!(a1["ticket"]["number"], 1);
    assert_eq!(a2["ticket"]["number"], 2);
    assert_eq!(b1["ticket"]["number"], 1);
    assert_eq!(a1["ticket"]["customer"]["id"], a2["ticket"]["customer"]["id"], "one customer per address");
    assert_ne!(a1["ticket"]["customer"]["id"], b1["ticket"]["customer"]["id"], "customers are per tenant");
}

#[tokio::test]
async fn invalid_tickets_are_rejected_with_codes() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let mut cases = Vec::new();
    let mut blank_subject = ticket_body("x");
    blank_subject["subject"] = json!("   ");
    cases.push((blank_subject, "validation_failed"));
    let mut long_subject = ticket_body("x");
    long_subject["subject"] = json!("s".repeat(501));
    cases.push((long_subject, "validation_failed"));
    let mut bad_email = ticket_body("x");
    bad_email["customer"]["email"] = json!("nobody");
    cases.push((bad_email, "invalid_email"));
    let mut blank_body = ticket_body("x");
    blank_body["body"] = json!("");
    cases.push((blank_body, "validation_failed"));
    let mut bad_channel = ticket_body("x");
    bad_channel["channel"] = json!("fax");
    cases.push((bad_channel, "invalid_body"));
    let mut bad_priority = ticket_body("x");
    bad_priority["priority"] = json!("asap");
    cases.push((bad_priority, "invalid_body"));
    let mut too_many_tags = ticket_body("x");
    too_many_tags["tags"] = json!((0..21).map(|i| format!("t{i}")).collect::<Vec<_>>());
    cases.push((too_many_tags, "validation_failed"));
    cases.push((json!({"subject": "x"}), "invalid_body"));
    let mut injected_name = ticket_body("x");
    injected_name["customer"]["name"] = json!("Eve\r\nBcc: x@evil.test");
    cases.push((injected_name, "invalid_text"));
    let mut injected_subject = ticket_body("x");
    injected_subject["subject"] = json!("Hi\nX-Evil: 1");
    cases.push((injected_subject, "invalid_text"));

    for (body, code) in cases {
        app.post("/v1/tickets", &tenant.key, body).await.expect_error(400, code);
    }
    let empty = app.get("/v1/tickets", &tenant.key).await.expect(200);
    assert_eq!(empty["data"], json!([]), "no rejected request left a ticket");
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_replays_the_first_response() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body = ticket_body("Refund please");

    let first = create_with_key(&app, &tenant.key, "order-991", &body).await.expect(201);
    let second = create_with_key(&app, &tenant.key, "order-991", &body).await.expect(201);

    assert_eq!(first, second);
    let list = app.get("/v1/tickets", &tenant.key).await.expect(200);
    assert_eq!(ids(&list).len(), 1);
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    create_with_key(&app, &tenant.key, "k-1", &ticket_body("first")).await.expect(201);

    create_with_key(&app, &tenant.key, "k-1", &ticket_body("second")).await.expect_error(422, "idempotency_key_reused");
}

#[tokio::test]
async fn an_idempotency_key_that_is_not_ascii_is_refused_not_ignored() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body = ticket_body("Refund please");
    for key in ["ключ-1", "é"] {
        for _ in 0..2 {
            app.post_with_header_bytes("/v1/tickets", &tenant.key, &body, "Idempotency-Key", key.as_bytes())
                .await
                .expect_error(400, "invalid_idempotency_key");
        }
    }
    let list = app.get("/v1/tickets", &tenant.key).await.expect(200);
    assert_eq!(ids(&list).len(), 0, "no retry created a ticket");
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_ticket() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body = ticket_body("Race");

    let replies = futures_join(&app, &tenant.key, &body).await;

    let created: HashSet<String> =
        replies.iter().map(|r| r["ticket"]["id"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(created.len(), 1, "every reply names the same ticket: {replies:?}");
    let list = app.get("/v1/tickets", &tenant.key).await.expect(200);
    assert_eq!(ids(&list).len(), 1);
}

async fn futures_join(app: &TestApp, token: &str, body: &Value) -> Vec<Value> {
    let (a, b, c, d) = tokio::join!(
        create_with_key(app, token, "race-key", body),
        create_with_key(app, token, "race-key", body),
        create_with_key(app, token, "race-key", body),
        create_with_key(app, token, "race-key", body),
    );
    [a, b, c, d].into_iter().map(|reply| reply.expect(201)).collect()
}

#[tokio::test]
async fn idempotency_keys_are_per_tenant() {
    let app = spawn_app().await;
    let first = app.create_tenant().await;
    let second = app.create_tenant().await;
    let body = ticket_body("Same key elsewhere");

    let a = create_with_key(&app, &first.key, "shared", &body).await.expect(201);
    let b = create_with_key(&app, &second.key, "shared", &body).await.expect(201);

    assert_ne!(a["ticket"]["id"], b["ticket"]["id"]);
}

#[tokio::test]
async fn an_invalid_idempotency_key_is_rejected() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    create_with_key(&app, &tenant.key, "has spaces", &ticket_body("x"))
        .await
        .expect_error(400, "invalid_idempotency_key");
}

#[tokio::test]
async fn listing_pages_through_every_ticket_once_newest_first() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let body = app.create_ticket(&tenant.key, &format!("t{i}"), "pager@example.test").await;
        created.push(body["ticket"]["id"].as_str().unwrap_or_default().to_owned());
    }

    let mut seen = Vec::new();
    let mut path = "/v1/tickets?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path, &tenant.key).await.expect(200);
        pages += 1;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tickets?limit=3&cursor={cursor}"),
            None => break,
        }
    }

    created.reverse();
    assert_eq!(seen, created);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn listings_sort_oldest_first_or_by_latest_change_and_page_in_that_order() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let mut created = Vec::new();
    for i in 0..5 {
        let body = app.create_ticket(&tenant.key, &format!("s{i}"), "sorter@example.test").await;
        created.push(body["ticket"]["id"].as_str().unwrap_or_default().to_owned());
    }
    for id in &created {
        app.wait_for_triage(&tenant.key, id.parse().unwrap_or_default()).await;
    }
    // The second and fourth tickets change last, the fourth after the second.
    for index in [1, 3] {
        app.patch(&format!("/v1/tickets/{}", created[index]), &tenant.key, json!({"priority": "urgent"}))
            .await
            .expect(200);
    }

    let walk = |sort: &'static str| {
        let app = &app;
        let key = tenant.key.clone();
        async move {
            let mut seen = Vec::new();
            let mut path = format!("/v1/tickets?limit=2&sort={sort}");
            loop {
                let page = app.get(&path, &key).await.expect(200);
                seen.extend(ids(&page));
                match page["next_cursor"].as_str() {
                    Some(cursor) => path = format!("/v1/tickets?limit=2&sort={sort}&cursor={cursor}"),
                    None => return seen,
                }
            }
        }
    };
    assert_eq!(walk("oldest").await, created);
    let mut newest = created.clone();
    newest.reverse();
    assert_eq!(walk("newest").await, newest);
    let updated = walk("updated").await;
    let expected: Vec<String> = [3, 1, 4, 2, 0].iter().map(|&i| created[i].clone()).collect();
    assert_eq!(updated, expected, "latest change first, then by creation");

    // The last ticket of a page changing before the next page is read does not restart the
    // listing: the next page goes on below where the first ended.
    let first = app.get("/v1/tickets?limit=2&sort=updated", &tenant.key).await.expect(200);
    assert_eq!(ids(&first), [created[3].clone(), created[1].clone()]);
    app.patch(&format!("/v1/tickets/{}", created[1]), &tenant.key, json!({"priority": "low"})).await.expect(200);
    let cursor = first["next_cursor"].as_str().unwrap_or_default();
    let second = app.get(&format!("/v1/tickets?limit=2&sort=updated&cursor={cursor}"), &tenant.key).await.expect(200);
    assert_eq!(ids(&second), [created[4].clone(), created[2].clone()]);
    // A cursor of another order is refused rather than misread.
    let newest = app.get("/v1/tickets?limit=2", &tenant.key).await.expect(200);
    let plain = newest["next_cursor"].as_str().unwrap_or_default();
    app.get(&format!("/v1/tickets?sort=updated&cursor={plain}"), &tenant.key).await.expect_error(400, "invalid_cursor");

    app.get("/v1/tickets?sort=importance", &tenant.key).await.expect_error(400, "invalid_parameter");
    let (agent_id, _) = app.add_user(&tenant, "agent").await;
    app.get(&format!("/v1/tickets?unassigned=true&assignee_id={agent_id}"), &tenant.key)
        .await
        .expect_error(400, "conflicting_filters");
    // Another tenant's ticket is no cursor here.
    let other = app.create_tenant().await;
    let foreign = app.create_ticket(&other.key, "theirs", "x@example.test").await;
    let foreign_id = foreign["ticket"]["id"].as_str().unwrap_or_default().replace('-', "");
    app.get(&format!("/v1/tickets?sort=updated&cursor={foreign_id}"), &tenant.key)
        .await
        .expect_error(400, "invalid_cursor");
}

#[tokio::test]
async fn every_member_sees_who_tickets_can_be_assigned_to() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, token) = app.add_user(&tenant, "agent").await;
    let (gone_id, _) = app.add_user(&tenant, "agent").await;
    app.patch(&format!("/v1/users/{gone_id}"), &tenant.key, json!({"active": false})).await.expect(200);

    let people = app.get("/v1/assignees", &token).await.expect(200);
    let ids: HashSet<String> =
        people.as_array().into_iter().flatten().map(|p| p["id"].as_str().unwrap_or_default().to_owned()).collect();
    assert!(ids.contains(&agent_id.to_string()) && ids.contains(&tenant.owner_id.to_string()));
    assert!(!ids.contains(&gone_id.to_string()), "deactivated people are not offered");
    assert_eq!(ids.len(), 2);
    app.get("/v1/users", &token).await.expect_error(403, "forbidden");

    let other = app.create_tenant().await;
    let theirs = app.get("/v1/assignees", &other.key).await.expect(200);
    assert_eq!(theirs.as_array().map(Vec::len), Some(1), "only the other tenant's owner");
}

#[tokio::test]
async fn paging_limits_are_validated() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    app.get("/v1/tickets?limit=101", &tenant.key).await.expect_error(400, "invalid_parameter");
    app.get("/v1/tickets?limit=0", &tenant.key).await.expect_error(400, "invalid_parameter");
    app.get("/v1/tickets?cursor=garbage", &tenant.key).await.expect_error(400, "invalid_cursor");
    app.get("/v1/tickets?limit=abc", &tenant.key).await.expect_error(400, "invalid_parameter");
    app.get("/v1/tickets?status=nope", &tenant.key).await.expect_error(400, "invalid_parameter");
}

#[tokio::test]
async fn filters_select_the_matching_tickets() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, _) = app.add_user(&tenant, "agent").await;
    let refund = app
        .post(
            "/v1/tickets",
            &tenant.key,
            json!({"subject": "Refund for order 50%_off", "channel": "web", "customer": {"email": "rita@example.test"},
                   "body": "I want my money back", "priority": "urgent", "tags": ["billing"]}),
        )
        .await
        .expect(201);
    let refund_id = refund["ticket"]["id"].as_str().unwrap_or_default().to_owned();
    let parcel = app
        .post(
            "/v1/tickets",
            &tenant.key,
            json!({"subject": "Parcel", "channel": "api", "customer": {"email": "paul@example.test"},
                   "body": "The courier LOST it", "priority": "low", "tags": ["shipping"]}),
        )
        .await
        .expect(201);
    let parcel_id = parcel["ticket"]["id"].as_str().unwrap_or_default().to_owned();
    app.patch(&format!("/v1/tickets/{parcel_id}"), &tenant.key, json!({"status": "pending", "assignee_id": agent_id}))
        .await
        .expect(200);
    let created_at = refund["ticket"]["created_at"].as_str().unwrap_or_default().to_owned();
    let encoded_created_at = created_at.replace('+', "%2B");

    let cases: Vec<(String, Vec<&str>)> = vec![
        ("status=pending".into(), vec![&parcel_id]),
        ("status=new".into(), vec![&refund_id]),
        ("priority=urgent".into(), vec![&refund_id]),
        (format!("assignee_id={agent_id}"), vec![&parcel_id]),
        ("tag=BILLING".into(), vec![&refund_id]),
        ("channel=api".into(), vec![&parcel_id]),
        ("customer_email=Rita@Example.test".into(), vec![&refund_id]),
        ("q=lost".into(), vec![&parcel_id]),
        ("q=refund".into(), vec![&refund_id]),
        ("q=50%25_".into(), vec![&refund_id]),
        ("q=%25".into(), vec![&refund_id]),
        ("q=nothing-matches".into(), vec![]),
        ("status=pending&channel=web".into(), vec![]),
        ("unassigned=true".into(), vec![&refund_id]),
        ("unassigned=false".into(), vec![&parcel_id, &refund_id]),
        (format!("created_before={encoded_created_at}"), vec![]),
        (format!("created_after={encoded_created_at}"), vec![&parcel_id, &refund_id]),
    ];
    for (query, expected) in cases {
        let page = app.get(&format!("/v1/tickets?{query}"), &tenant.key).await.expect(200);
        let expected: Vec<String> = expected.into_iter().map(str::to_owned).collect();
        assert_eq!(ids(&page), expected, "filter {query}");
    }
}

#[tokio::test]
async fn a_ticket_is_updated_and_status_changes_are_audited() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, agent) = app.add_user(&tenant, "agent").await;
    let created = app.create_ticket(&tenant.key, "Broken zipper", "z@example.test").await;
    let id = uuid_at(&created, "/ticket/id");

    let updated = app
        .patch(
            &format!("/v1/tickets/{id}"),
            &agent,
            json!({"status": "open", "priority": "urgent", "assignee_id": agent_id, "tags": ["Returns"], "subject": "Broken zipper on coat"}),
        )
        .await
        .expect(200);
    let unassigned = app.patch(&format!("/v1/tickets/{id}"), &agent, json!({"assignee_id": null})).await.expect(200);
    let untouched = app.patch(&format!("/v1/tickets/{id}"), &agent, json!({})).await.expect(200);

    assert_eq!(updated["status"], "open");
    assert_eq!(updated["priority"], "urgent");
    assert_eq!(updated["assignee_id"], agent_id.to_string());
    assert_eq!(updated["tags"], json!(["returns"]));
    assert_eq!(updated["subject"], "Broken zipper on coat");
    assert!(unassigned["assignee_id"].is_null());
    assert_eq!(untouched["status"], "open");
    let audit = app
        .get(&format!("/v1/audit-events?action=ticket.status_changed&target_id={id}"), &tenant.key)
        .await
        .expect(200);
    let event = &audit["data"][0];
    assert_eq!(event["data"], json!({"from": "new", "to": "open"}));
    assert_eq!(event["actor_id"], agent_id.to_string());
    assert_eq!(event["actor_kind"], "user");
}

#[tokio::test]
async fn invalid_updates_are_rejected() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let created = app.create_ticket(&tenant.key, "x", "x@example.test").await;
    let path = format!("/v1/tickets/{}", uuid_at(&created, "/ticket/id"));
    let (deactivated, _) = app.add_user(&tenant, "agent").await;
    app.patch(&format!("/v1/users/{deactivated}"), &tenant.key, json!({"active": false})).await.expect(200);

    app.patch(&path, &tenant.key, json!({"status": "archived"})).await.expect_error(400, "invalid_body");
    app.patch(&path, &tenant.key, json!({"subject": ""})).await.expect_error(400, "validation_failed");
    app.patch(&path, &tenant.key, json!({"assignee_id": uuid::Uuid::now_v7()}))
        .await
        .expect_error(422, "unknown_assignee");
    app.patch(&path, &tenant.key, json!({"assignee_id": deactivated})).await.expect_error(422, "unknown_assignee");
    app.patch(&path, &tenant.key, json!({"assignee_id": "not-a-uuid"})).await.expect_error(400, "invalid_body");
    app.patch("/v1/tickets/not-a-uuid", &tenant.key, json!({})).await.expect_error(400, "invalid_parameter");
}

#[tokio::test]
async fn messages_form_a_thread_and_move_the_status() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, agent) = app.add_user(&tenant, "agent").await;
    let created = app.create_ticket(&tenant.key, "Thread", "t@example.test").await;
    let id = uuid_at(&created, "/ticket/id");
    let messages = format!("/v1/tickets/{id}/messages");

    let note =
        app.post(&messages, &agent, json!({"author": "note", "body": "Checking the warehouse"})).await.expect(201);
    let status_after_note = app.get(&format!("/v1/tickets/{id}"), &agent).await.expect(200)["status"].clone();
    let reply = app.post(&messages, &agent, json!({"author": "agent", "body": "It ships tomorrow."})).await.expect(201);
    let status_after_reply = app.get(&format!("/v1/tickets/{id}"), &agent).await.expect(200)["status"].clone();
    app.patch(&format!("/v1/tickets/{id}"), &agent, json!({"status": "solved"})).await.expect(200);
    app.post(&messages, &tenant.key, json!({"author": "customer", "body": "It did not."})).await.expect(201);
    let status_after_customer = app.get(&format!("/v1/tickets/{id}"), &agent).await.expect(200)["status"].clone();

    assert_eq!(note["author_user_id"], agent_id.to_string());
    assert_eq!(reply["author"], "agent");
    assert_eq!(status_after_note, "new");
    assert_eq!(status_after_reply, "open");
    assert_eq!(status_after_customer, "open");
    let thread = app.get(&format!("{messages}?limit=2"), &agent).await.expect(200);
    let authors: Vec<&str> =
        thread["data"].as_array().into_iter().flatten().filter_map(|m| m["author"].as_str()).collect();
    assert_eq!(authors, vec!["customer", "note"], "oldest first");
    let cursor = thread["next_cursor"].as_str().unwrap_or_default();
    let rest = app.get(&format!("{messages}?limit=2&cursor={cursor}"), &agent).await.expect(200);
    let authors: Vec<&str> =
        rest["data"].as_array().into_iter().flatten().filter_map(|m| m["author"].as_str()).collect();
    assert_eq!(authors, vec!["agent", "customer"]);
}

#[tokio::test]
async fn invalid_messages_are_rejected() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let created = app.create_ticket(&tenant.key, "x", "x@example.test").await;
    let messages = format!("/v1/tickets/{}/messages", uuid_at(&created, "/ticket/id"));

    app.post(&messages, &tenant.key, json!({"author": "agent", "body": "  "}))
        .await
        .expect_error(400, "validation_failed");
    app.post(&messages, &tenant.key, json!({"author": "robot", "body": "hi"})).await.expect_error(400, "invalid_body");
    app.post(
        &format!("/v1/tickets/{}/messages", uuid::Uuid::now_v7()),
        &tenant.key,
        json!({"author": "agent", "body": "hi"}),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn ticket_analytics_count_volume_by_period_intent_and_sentiment_per_tenant() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let other = app.create_tenant().await;
    for (subject, body) in [
        ("Refund", "I want a refund for my order, this is unacceptable and I am furious."),
        ("Refund again", "Please refund my money, the product broke after one day. Terrible."),
        ("Thanks", "Thank you so much, the delivery was quick and everything works great!"),
    ] {
        let created = app
            .post(
                "/v1/tickets",
                &tenant.key,
                json!({"subject": subject, "channel": "web", "customer": {"email": "stats@example.test"}, "body": body}),
            )
            .await
            .expect(201);
        app.wait_for_triage(&tenant.key, uuid_at(&created, "/ticket/id")).await;
    }
    app.create_ticket(&other.key, "Theirs", "other@example.test").await;

    let report = app.get("/v1/analytics/tickets?period=day", &tenant.key).await.expect(200);
    assert_eq!(report["tickets"], 3);
    let periods = report["by_period"].as_array().cloned().unwrap_or_default();
    assert!(periods.len() >= 30, "every day of the default 30-day range: {}", periods.len());
    let today = periods.last().cloned().unwrap_or_default();
    assert_eq!(today["tickets"], 3);
    let sum: i64 = periods.iter().map(|p| p["tickets"].as_i64().unwrap_or(0)).sum();
    assert_eq!(sum, 3);
    let count = |list: &str, key: &str| {
        report[list].as_array().into_iter().flatten().find(|c| c["key"] == key).and_then(|c| c["count"].as_i64())
    };
    assert_eq!(count("by_channel", "web"), Some(3));
    assert_eq!(count("by_status", "new"), Some(3));
    assert_eq!(count("by_sentiment", "negative"), Some(2), "{report}");
    assert_eq!(count("by_sentiment", "positive"), Some(1), "{report}");
    let intents: i64 = report["by_intent"].as_array().into_iter().flatten().filter_map(|c| c["count"].as_i64()).sum();
    assert_eq!(intents, 3);
    let split: i64 = today["by_sentiment"].as_array().into_iter().flatten().filter_map(|c| c["count"].as_i64()).sum();
    assert_eq!(split, 3, "the day's sentiments add up to its tickets");

    let theirs = app.get("/v1/analytics/tickets", &other.key).await.expect(200);
    assert_eq!(theirs["tickets"], 1);
    app.get("/v1/analytics/tickets?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", &tenant.key)
        .await
        .expect_error(400, "invalid_range");
    app.get("/v1/analytics/tickets?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", &tenant.key)
        .await
        .expect_error(400, "invalid_range");
    app.get("/v1/analytics/tickets?period=year", &tenant.key).await.expect_error(400, "invalid_parameter");
}
