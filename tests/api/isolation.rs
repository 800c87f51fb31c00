//! Tenant isolation: tenant B gets 404 for every tenant-A resource on every verb, and
//! never sees A's data in a listing, a filter or the audit log.

use copilot_tests::{spawn_app, uuid_at};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn another_tenants_resources_are_not_found_on_every_verb() {
    let app = spawn_app().await;
    let a = app.create_tenant().await;
    let b = app.create_tenant().await;
    let (a_user, _) = app.add_user(&a, "agent").await;
    let a_key = app.post("/v1/api-keys", &a.key, json!({"name": "a", "role": "agent"})).await.expect(201);
    let a_key = uuid_at(&a_key, "/id");
    let a_ticket = app.create_ticket(&a.key, "A's secret", "alice@example.test").await;
    let a_ticket = uuid_at(&a_ticket, "/ticket/id");
    let (_, b_admin_session) = app.add_user(&b, "admin").await;

    let matrix: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/tickets/{a_ticket}"), None),
        (Method::PATCH, format!("/v1/tickets/{a_ticket}"), Some(json!({"status": "closed"}))),
        (Method::GET, format!("/v1/tickets/{a_ticket}/messages"), None),
        (Method::POST, format!("/v1/tickets/{a_ticket}/messages"), Some(json!({"author": "agent", "body": "hi"}))),
        (Method::GET, format!("/v1/users/{a_user}"), None),
        (Method::PATCH, format!("/v1/users/{a_user}"), Some(json!({"active": false}))),
        (Method::PATCH, format!("/v1/users/{}", a.owner_id), Some(json!({"role": "agent"}))),
        (Method::DELETE, format!("/v1/api-keys/{a_key}"), None),
    ];
    for token in [b.key.as_str(), b_admin_session.as_str()] {
        for (method, path, body) in &matrix {
            let reply = app.send(method.clone(), path, Some(token), body.as_ref()).await;
            assert_eq!(reply.status.as_u16(), 404, "{method} {path} answered {}: {}", reply.status, reply.body);
            assert_eq!(reply.code(), "not_found", "{method} {path}");
        }
    }

    let ticket = app.get(&format!("/v1/tickets/{a_ticket}"), &a.key).await.expect(200);
    assert_eq!(ticket["status"], "new", "B's attempts changed nothing");
    let thread = app.get(&format!("/v1/tickets/{a_ticket}/messages"), &a.key).await.expect(200);
    assert_eq!(thread["data"].as_array().map(Vec::len), Some(1));
    app.get(&format!("/v1/users/{a_user}"), &a.key).await.expect(200);
    let keys = app.get("/v1/api-keys", &a.key).await.expect(200);
    assert!(keys["data"].as_array().into_iter().flatten().all(|k| k["revoked_at"].is_null()));
}

#[tokio::test]
async fn listings_filters_and_audit_never_show_another_tenant() {
    let app = spawn_app().await;
    let a = app.create_tenant().await;
    let b = app.create_tenant().await;
    let (a_user, _) = app.add_user(&a, "agent").await;
    let a_ticket = app.create_ticket(&a.key, "Alpha only", "shared@example.test").await;
    let a_ticket = uuid_at(&a_ticket, "/ticket/id");
    app.patch(&format!("/v1/tickets/{a_ticket}"), &a.key, json!({"assignee_id": a_user, "tags": ["alpha"]}))
        .await
        .expect(200);
    let b_ticket = app.create_ticket(&b.key, "Beta only", "shared@example.test").await;
    let b_ticket = uuid_at(&b_ticket, "/ticket/id");

    let listings = [
        "/v1/tickets".to_owned(),
        "/v1/tickets?q=alpha".to_owned(),
        "/v1/tickets?tag=alpha".to_owned(),
        format!("/v1/tickets?assignee_id={a_user}"),
        "/v1/tickets?customer_email=shared@example.test".to_owned(),
        "/v1/tickets?language=en".to_owned(),
        "/v1/users".to_owned(),
        "/v1/api-keys".to_owned(),
        "/v1/audit-events".to_owned(),
        format!("/v1/audit-events?target_id={a_ticket}"),
        format!("/v1/audit-events?actor_id={}", a.owner_id),
    ];
    for path in listings {
        let page = app.get(&path, &b.key).await.expect(200);
        let text = page.to_string();
        assert!(!text.contains(&a_ticket.to_string()), "{path} leaks A's ticket: {text}");
        assert!(!text.contains(&a_user.to_string()), "{path} leaks A's user: {text}");
        assert!(!text.contains(&a.owner_email), "{path} leaks A's owner: {text}");
        assert!(!text.contains("Alpha only"), "{path} leaks A's subject: {text}");
    }
    let b_tickets = app.get("/v1/tickets", &b.key).await.expect(200);
    assert_eq!(b_tickets["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(b_tickets["data"][0]["id"], b_ticket.to_string());
}

#[tokio::test]
async fn another_tenants_user_cannot_be_assigned() {
    let app = spawn_app().await;
    let a = app.create_tenant().await;
    let b = app.create_tenant().await;
    let b_ticket = app.create_ticket(&b.key, "b", "b@example.test").await;

    app.patch(&format!("/v1/tickets/{}", uuid_at(&b_ticket, "/ticket/id")), &b.key, json!({"assignee_id": a.owner_id}))
        .await
        .expect_error(422, "unknown_assignee");
}
