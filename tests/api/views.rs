//! Saved views: personal and shared inbox filters with counts, resolved for whoever opens
//! them ("me", "breached").

use copilot_tests::{spawn_app, uuid_at};
use serde_json::{Value, json};

#[tokio::test]
async fn saved_views_count_their_tickets_for_whoever_opens_them() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (ann_id, ann) = app.add_user(&tenant, "agent").await;
    let (_, bob) = app.add_user(&tenant, "agent").await;
    let key = tenant.key.as_str();
    let mut tickets = Vec::new();
    for n in 0..3 {
        tickets.push(uuid_at(&app.create_ticket(key, &format!("Ticket {n}"), "zoe@example.test").await, "/ticket/id"));
    }
    for ticket in &tickets[..2] {
        app.patch(&format!("/v1/tickets/{ticket}"), &ann, json!({"assignee_id": ann_id})).await.expect(200);
    }
    let mine = json!({"name": "Mine", "filter": {"assignee": "me", "active": true}, "sort": "due"});
    let mine = app.post("/v1/views", &ann, mine).await.expect(201);
    assert_eq!(mine["count"], 2, "{mine}");
    assert_eq!(mine["query"]["assignee_id"], json!(ann_id));
    assert_eq!(mine["query"]["sort"], "due");
    // The query lists what the count counts.
    let query: Vec<String> = mine["query"]
        .as_object()
        .expect("a query")
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let listed = app.get(&format!("/v1/tickets?{}", query.join("&")), &ann).await.expect(200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(2));

    // Bob sees neither Ann's view nor may he change it; a shared view counts for each.
    assert_eq!(app.get("/v1/views", &bob).await.expect(200)["views"], json!([]));
    let mine_id = uuid_at(&mine, "/id");
    app.patch(&format!("/v1/views/{mine_id}"), &bob, json!({"name": "Bob's"})).await.expect_error(404, "not_found");
    let nobody = json!({"name": "Nobody's", "shared": true, "filter": {"assignee": "nobody"}});
    app.post("/v1/views", &ann, nobody.clone()).await.expect_error(403, "forbidden");
    app.post("/v1/views", key, nobody).await.expect(201);
    let seen: Vec<(String, Value)> = app.get("/v1/views", &ann).await.expect(200)["views"]
        .as_array()
        .expect("views")
        .iter()
        .map(|v| (v["name"].as_str().unwrap_or_default().to_owned(), v["count"].clone()))
        .collect();
    assert_eq!(seen, [("Nobody's".to_owned(), json!(1)), ("Mine".to_owned(), json!(2))]);
    let bobs: Vec<Value> =
        app.get("/v1/views", &bob).await.expect(200)["views"].as_array().cloned().unwrap_or_default();
    assert_eq!(bobs.len(), 1);

    for (view, status, code) in [
        (json!({"name": "Bad sort", "sort": "loudest"}), 400, "invalid_view"),
        (json!({"name": "Bad SLA", "filter": {"sla": "late"}}), 400, "invalid_view"),
        (json!({"name": "Bad field", "filter": {"field": "colour:red"}}), 400, "unknown_field"),
        (json!({"name": "Nobody's"}), 409, "view_exists"),
        (json!({"name": "Long", "filter": {"q": "x".repeat(201)}}), 400, "validation_failed"),
    ] {
        let reply = app.post("/v1/views", &ann, view.clone()).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (status, code), "{view}");
    }
    let renamed = app.patch(&format!("/v1/views/{mine_id}"), &ann, json!({"name": "My queue"})).await.expect(200);
    assert_eq!((renamed["name"].clone(), renamed["count"].clone()), (json!("My queue"), json!(2)));
    app.delete(&format!("/v1/views/{mine_id}"), &ann).await.expect(204);
    assert_eq!(app.get("/v1/views", &ann).await.expect(200)["views"].as_array().map(Vec::len), Some(1));
}
