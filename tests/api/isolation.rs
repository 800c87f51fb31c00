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

/// A body each operation with an id in its path accepts, so that only the id decides the
/// answer (an operation that takes none gets none).
fn sample_body(method: &str, template: &str) -> Option<Value> {
    Some(match (method, template) {
        ("PATCH", "/v1/users/{id}") => json!({"active": false}),
        ("PUT", "/v1/tickets/{id}/presence") => json!({"state": "viewing"}),
        ("PATCH", "/v1/tickets/{id}") => json!({"status": "closed"}),
        ("POST", "/v1/tickets/{id}/messages") => json!({"author": "agent", "body": "hi"}),
        ("PATCH", "/v1/tickets/{id}/messages/{message_id}/triage") => json!({"intent": "other"}),
        ("POST", "/v1/intents/review/{message_id}/accept") => json!({"label": "other"}),
        ("POST", "/v1/intents/discovery/{id}/proposals/{proposal_id}/merge") => json!({"into": "other"}),
        ("POST", "/v1/intents/discovery/{id}/proposals/{proposal_id}/accept") => json!({}),
        ("POST", "/v1/knowledge/documents/{id}/versions") => {
            json!({"title": "Theirs", "content": "# Theirs\n\nReplaced.", "content_type": "text/markdown"})
        }
        ("POST", "/v1/tickets/{id}/drafts") | ("POST", "/v1/drafts/{id}/approve") => json!({}),
        ("POST", "/v1/drafts/{id}/reject") => json!({"reason": "not ours"}),
        ("PATCH", "/v1/webhooks/{id}") => json!({"enabled": false}),
        ("POST", "/v1/webhooks/{id}/replay") => json!({"since": "2026-01-01T00:00:00Z"}),
        ("PATCH", "/v1/sla-policies/{id}") => json!({"name": "Renamed"}),
        ("PATCH", "/v1/macros/{id}") => json!({"name": "Renamed"}),
        ("PATCH", "/v1/ticket-fields/{id}") => json!({"label": "Renamed"}),
        ("PATCH", "/v1/views/{id}") => json!({"name": "Renamed"}),
        ("POST", "/v1/tickets/{id}/merge") => json!({"into": uuid::Uuid::now_v7()}),
        ("POST", "/v1/tickets/{id}/messages/{message_id}/split") => json!({}),
        ("POST", "/v1/tickets/{id}/macros/{macro_id}/apply") => json!({"preview": false}),
        _ => return None,
    })
}

#[tokio::test]
async fn every_operation_with_an_id_in_the_spec_answers_404_to_another_tenant_and_changes_nothing() {
    let app = copilot_tests::spawn_app_alone().await;
    let a = app.create_tenant().await;
    let b = app.create_tenant().await;
    let (_, a_agent) = app.add_user(&a, "agent").await;
    let (a_user, _) = app.add_user(&a, "agent").await;
    let (_, b_admin) = app.add_user(&b, "admin").await;

    // One of each of A's resources: a ticket from a mail with an attachment, its draft, a
    // reply, a document, a webhook endpoint with a delivery, a person, an API key, a
    // labelling job and a version of its intent model.
    app.send(Method::PUT, "/v1/settings/email", Some(&a.key), Some(&json!({"addresses": ["help@a.test"]})))
        .await
        .expect(200);
    let mail = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/email/attachment.eml")).expect("fixture");
    let received = app.post_raw("/v1/inbound/email", Some(&a.key), "message/rfc822", mail).await.expect(200);
    let ticket = uuid_at(&received, "/ticket_id");
    let message = uuid_at(&received, "/message_id");
    let thread = app.wait_for_triage(&a.key, ticket).await;
    let intent_before = thread["data"][0]["triage"]["intent"].clone();
    let attachment = thread["data"][0]["attachments"][0]["id"].as_str().expect("an attachment").to_owned();
    let draft = {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let drafts = app.get(&format!("/v1/tickets/{ticket}/drafts"), &a.key).await.expect(200);
            if let Some(id) = drafts["data"][0]["id"].as_str().filter(|_| drafts["data"][0]["status"] != "generating") {
                break id.to_owned();
            }
            assert!(tokio::time::Instant::now() < deadline, "no written draft for A's ticket: {drafts}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let draft_before = app.get(&format!("/v1/drafts/{draft}"), &a.key).await.expect(200);
    let document =
        json!({"title": "Returns", "content": "# Returns\n\nWithin 30 days.", "content_type": "text/markdown"});
    let document = uuid_at(&app.post("/v1/knowledge/documents", &a.key, document).await.expect(202), "/id");
    let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"]});
    let webhook = uuid_at(&app.post("/v1/webhooks", &a.key, hook).await.expect(201), "/id");
    let delivery =
        uuid_at(&app.post(&format!("/v1/webhooks/{webhook}/test"), &a.key, json!({})).await.expect(200), "/id");
    let key =
        uuid_at(&app.post("/v1/api-keys", &a.key, json!({"name": "crm", "role": "agent"})).await.expect(201), "/id");
    // A labelling job, through A's own LLM.
    let llm = copilot_tests::llm::TestLlm::start().await;
    let settings = json!({"base_url": llm.base_url(), "model": "test-model"});
    app.send(Method::PUT, "/v1/settings/llm", Some(&a.key), Some(&settings)).await.expect(200);
    let labelling = json!({"scope": {"only": "all"}, "max_messages": 10});
    let labelling = uuid_at(&app.post("/v1/intents/labelling", &a.key, labelling).await.expect(202), "/id");
    let taxonomy = json!({"labels": [
        {"label": "refund", "examples": ["I want my money back", "Refund my order"]},
        {"label": "other", "examples": ["Hello", "Thanks"]},
    ]});
    app.send(Method::PUT, "/v1/intents", Some(&a.key), Some(&taxonomy)).await.expect(200);
    let model = uuid_at(&app.post("/v1/intents/train", &a.key, json!({})).await.expect(202), "/id");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.get("/v1/intents/training", &a.key).await.expect(200)["status"] == "queued" {
        assert!(tokio::time::Instant::now() < deadline, "A's model did not train");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A discovery run of A's (its proposals' own isolation: tests/api/intent_models.rs).
    let discovery = uuid_at(&app.post("/v1/intents/discovery", &a.key, json!({})).await.expect(202), "/id");
    let card = json!({"title": "A's card", "query": {"dataset": "tickets", "measures": [{"fn": "count"}]}});
    let card = uuid_at(&app.post("/v1/analytics/cards", &a.key, card).await.expect(201), "/id");
    let policy = json!({"name": "A's policy", "targets": [{"kind": "first_reply", "minutes": 60}]});
    let policy = uuid_at(&app.post("/v1/sla-policies", &a.key, policy).await.expect(201), "/id");
    let shared =
        json!({"name": "A's macro", "shared": true, "body": "Hi {{customer.name}}", "actions": {"status": "solved"}});
    let a_macro = uuid_at(&app.post("/v1/macros", &a.key, shared).await.expect(201), "/id");
    let field = json!({"key": "plan", "label": "Plan", "kind": "text"});
    let field = uuid_at(&app.post("/v1/ticket-fields", &a.key, field).await.expect(201), "/id");
    let view = json!({"name": "A's view", "shared": true, "filter": {"active": true}});
    let view = uuid_at(&app.post("/v1/views", &a.key, view).await.expect(201), "/id");
    let ids = |template: &str| -> String {
        if template.starts_with("/v1/analytics/cards/") {
            return card.to_string();
        }
        if template.starts_with("/v1/sla-policies/") {
            return policy.to_string();
        }
        if template.starts_with("/v1/intents/models/") {
            return model.to_string();
        }
        if template.starts_with("/v1/intents/discovery/") {
            return discovery.to_string();
        }
        let segment = template.trim_start_matches("/v1/").split('/').next().unwrap_or_default();
        match segment {
            "intents" => labelling.to_string(),
            "users" => a_user.to_string(),
            "api-keys" => key.to_string(),
            "tickets" => ticket.to_string(),
            "knowledge" => document.to_string(),
            "drafts" => draft.clone(),
            "webhooks" => webhook.to_string(),
            "macros" => a_macro.to_string(),
            "ticket-fields" => field.to_string(),
            "views" => view.to_string(),
            other => panic!("no resource of A for /v1/{other}/…: add one"),
        }
    };

    let spec: Value = serde_json::from_str(include_str!("../../openapi.json")).expect("the committed spec");
    let mut tried = 0;
    for (template, operations) in spec["paths"].as_object().into_iter().flatten() {
        if !template.contains('{') || template.starts_with("/v1/inbound/email/") {
            // The inbound mail URL's secret is its only credential: no tenant's to try.
            continue;
        }
        let path = template
            .replace("{id}", &ids(template))
            .replace("{message_id}", &message.to_string())
            .replace("{macro_id}", &a_macro.to_string())
            .replace("{attachment_id}", &attachment)
            .replace("{delivery_id}", &delivery.to_string())
            .replace("{proposal_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{lang}", "de");
        assert!(!path.contains('{'), "an id the test does not fill in: {template}");
        for method in operations.as_object().into_iter().flatten().map(|(method, _)| method.to_uppercase()) {
            let body = sample_body(&method, template);
            let method = Method::from_bytes(method.as_bytes()).expect("a method");
            let reply = app.send(method.clone(), &path, Some(&b_admin), body.as_ref()).await;
            assert_eq!(reply.status.as_u16(), 404, "{method} {template} answered {}: {}", reply.status, reply.body);
            assert_eq!(reply.code(), "not_found", "{method} {template}");
            tried += 1;
        }
    }
    assert!(tried >= 30, "only {tried} operations with an id in their path");

    // Nothing of A's changed.
    let after = app.get(&format!("/v1/tickets/{ticket}"), &a.key).await.expect(200);
    assert_ne!(after["status"], "closed");
    let thread = app.get(&format!("/v1/tickets/{ticket}/messages"), &a_agent).await.expect(200);
    assert_eq!(thread["data"].as_array().map(Vec::len), Some(1), "no message was added: {thread}");
    let draft_after = app.get(&format!("/v1/drafts/{draft}"), &a.key).await.expect(200);
    assert_eq!(
        (&draft_after["status"], &draft_after["attempts"]),
        (&draft_before["status"], &draft_before["attempts"])
    );
    assert_eq!(app.get(&format!("/v1/knowledge/documents/{document}"), &a.key).await.expect(200)["version"], 1);
    assert_eq!(app.get("/v1/analytics/cards", &a.key).await.expect(200)["cards"][0]["id"], card.to_string());
    assert_eq!(app.get("/v1/sla-policies", &a.key).await.expect(200)["policies"][0]["name"], "A's policy");
    assert_eq!(app.get(&format!("/v1/webhooks/{webhook}"), &a.key).await.expect(200)["enabled"], true);
    assert_eq!(app.get(&format!("/v1/users/{a_user}"), &a.key).await.expect(200)["active"], true);
    let keys = app.get("/v1/api-keys", &a.key).await.expect(200);
    assert!(keys["data"].as_array().into_iter().flatten().all(|k| k["revoked_at"].is_null()));
    let job = app.get(&format!("/v1/intents/labelling/{labelling}"), &a.key).await.expect(200);
    assert_ne!(job["status"], "cancelled", "{job}");
    assert_eq!(thread["data"][0]["triage"]["intent"], intent_before, "no intent was set: {thread}");
    assert_eq!(app.get(&format!("/v1/intents/models/{model}"), &a.key).await.expect(200)["status"], "active");
}
