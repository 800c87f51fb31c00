//! Macros: personal and shared, checked when saved, previewed and applied on a ticket (the
//! reply rendered, the changes made), counted; a custom placeholder removed later is an
//! error when applied, never a blank.

use copilot_tests::{spawn_app, uuid_at};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn macros_are_checked_when_saved_and_seen_only_by_whom_they_belong_to() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, ann) = app.add_user(&tenant, "agent").await;
    let (_, bob) = app.add_user(&tenant, "agent").await;
    let (_, admin) = app.add_user(&tenant, "admin").await;

    let mine = json!({"name": "Shipping delay", "body": "Hi {{customer.first_name}}, sorry for the wait.",
                      "actions": {"add_tags": ["delay"]}});
    let mine = app.post("/v1/macros", &ann, mine).await.expect(201);
    assert_eq!(mine["shared"], false);
    assert_eq!(mine["placeholders"], json!(["customer.first_name"]));
    let mine_id = uuid_at(&mine, "/id");
    // Another agent neither lists nor reads nor changes it.
    let theirs = app.get("/v1/macros", &bob).await.expect(200);
    assert_eq!(theirs["macros"], json!([]));
    app.get(&format!("/v1/macros/{mine_id}"), &bob).await.expect_error(404, "not_found");
    app.patch(&format!("/v1/macros/{mine_id}"), &bob, json!({"name": "Mine now"})).await.expect_error(404, "not_found");
    app.delete(&format!("/v1/macros/{mine_id}"), &admin).await.expect_error(404, "not_found");

    // Shared ones are the admins'.
    let shared = json!({"name": "Refund done", "shared": true, "body": "Your refund is on its way.",
                        "actions": {"status": "solved"}});
    app.post("/v1/macros", &ann, shared.clone()).await.expect_error(403, "forbidden");
    let shared = app.post("/v1/macros", &admin, shared).await.expect(201);
    let shared_id = uuid_at(&shared, "/id");
    app.patch(&format!("/v1/macros/{shared_id}"), &ann, json!({"body": "x"})).await.expect_error(403, "forbidden");
    let listed = app.get("/v1/macros", &bob).await.expect(200);
    assert_eq!(listed["macros"].as_array().map(Vec::len), Some(1));
    let found = app.get("/v1/macros?q=REFUND", &ann).await.expect(200);
    assert_eq!(found["macros"][0]["id"], json!(shared_id));

    // Bad macros say what is wrong.
    for (body, code, status) in [
        (json!({"name": "Typo", "body": "Hi {{customer.nmae}}"}), "invalid_macro", 400),
        (json!({"name": "Custom", "body": "Open {{custom.hours}}"}), "invalid_macro", 400),
        (json!({"name": "Open", "body": "Hi {{customer.name"}), "invalid_macro", 400),
        (json!({"name": "Nothing", "body": "  "}), "invalid_macro", 400),
        (json!({"name": "Both", "actions": {"add_tags": ["x"], "remove_tags": ["x"]}}), "invalid_macro", 400),
        (json!({"name": "Who", "actions": {"assignee": "someone"}}), "invalid_macro", 400),
        (json!({"name": "Refund done", "body": "Same name as a shared one"}), "macro_exists", 409),
        (json!({"name": "", "body": "x"}), "validation_failed", 400),
    ] {
        let reply = app.post("/v1/macros", &ann, body.clone()).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (status, code), "{body}");
    }
    let typo = app.post("/v1/macros", &ann, json!({"name": "Typo", "body": "Hi {{customer.nmae}}"})).await;
    let detail = typo.expect_error(400, "invalid_macro")["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("{{customer.nmae}}") && detail.contains("customer.name"), "{detail}");
    // Bob may use the same name for his own.
    app.post("/v1/macros", &bob, json!({"name": "Shipping delay", "body": "Bob's"})).await.expect(201);
    app.delete(&format!("/v1/macros/{mine_id}"), &ann).await.expect(204);
    app.get(&format!("/v1/macros/{mine_id}"), &ann).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn a_macro_previews_then_applies_its_reply_and_changes_and_is_counted() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (ann_id, ann) = app.add_user(&tenant, "agent").await;
    app.patch(&format!("/v1/users/{ann_id}"), &tenant.key, json!({"name": "Ann Lee"})).await.expect(200);
    let custom = json!({"placeholders": {"hours": "9:00 to 17:00"}});
    app.send(Method::PUT, "/v1/settings/macro-placeholders", Some(&tenant.key), Some(&custom)).await.expect(200);
    let body = json!({"name": "Taking it", "body":
        "Hi {{customer.first_name}},\n\nI am on ticket #{{ticket.number}}. We answer {{custom.hours}}.\n\n{{agent.first_name}}, {{tenant.name}}",
        "actions": {"status": "pending", "priority": "high", "add_tags": ["taken"], "remove_tags": ["new-lead"], "assignee": "me"}});
    let made = app.post("/v1/macros", &ann, body).await.expect(201);
    let macro_id = uuid_at(&made, "/id");
    let ticket = json!({"subject": "Broken zip", "channel": "web", "customer": {"email": "zoe@example.test", "name": "Zoe Park"},
                        "body": "The zip broke.", "tags": ["new-lead"]});
    let ticket = app.post("/v1/tickets", &tenant.key, ticket).await.expect(201)["ticket"].clone();
    let ticket_id = uuid_at(&ticket, "/id");
    let apply = format!("/v1/tickets/{ticket_id}/macros/{macro_id}/apply");

    let preview = app.post(&apply, &ann, json!({"preview": true})).await.expect(200);
    let number = ticket["number"].as_i64().expect("a number");
    let expected =
        format!("Hi Zoe,\n\nI am on ticket #{number}. We answer 9:00 to 17:00.\n\nAnn, Tenant {}", tenant.slug);
    assert_eq!(preview["reply"], expected);
    assert_eq!(
        preview["changes"],
        json!({"status": "pending", "priority": "high", "assignee_id": ann_id, "tags_added": ["taken"], "tags_removed": ["new-lead"]})
    );
    assert_eq!(preview["ticket"]["status"], "new", "a preview changes nothing");
    let unchanged = app.get(&format!("/v1/tickets/{ticket_id}"), &ann).await.expect(200);
    assert_eq!((unchanged["status"].clone(), unchanged["tags"].clone()), (json!("new"), json!(["new-lead"])));
    assert_eq!(app.get(&format!("/v1/macros/{macro_id}"), &ann).await.expect(200)["usage_count"], 0);

    let applied = app.post(&apply, &ann, json!({})).await.expect(200);
    assert_eq!(applied["reply"], expected);
    let after: &Value = &applied["ticket"];
    assert_eq!(after["status"], "pending");
    assert_eq!(after["priority"], "high");
    assert_eq!(after["assignee_id"], json!(ann_id));
    assert_eq!(after["tags"], json!(["taken"]));
    let thread = app.get(&format!("/v1/tickets/{ticket_id}/messages"), &ann).await.expect(200);
    assert_eq!(thread["data"].as_array().map(Vec::len), Some(1), "nothing is sent: {thread}");
    let counted = app.get(&format!("/v1/macros/{macro_id}"), &ann).await.expect(200);
    assert_eq!(counted["usage_count"], 1);
    assert!(counted["last_used_at"].is_string());
    // Applied again, it changes nothing more.
    let again = app.post(&apply, &ann, json!({})).await.expect(200);
    assert_eq!(again["changes"], json!({"tags_added": [], "tags_removed": []}));
    let audit = app.get("/v1/audit-events?action=macro.applied", &tenant.key).await.expect(200);
    let applied_events = audit["data"].as_array().expect("events").iter().filter(|e| e["action"] == "macro.applied");
    assert_eq!(applied_events.count(), 2);

    // A custom placeholder removed since: the macro says so and is not applied.
    let none = json!({"placeholders": {}});
    app.send(Method::PUT, "/v1/settings/macro-placeholders", Some(&tenant.key), Some(&none)).await.expect(200);
    let broken = app.get(&format!("/v1/macros/{macro_id}"), &ann).await.expect(200);
    assert_eq!(broken["problems"], json!(["`{{custom.hours}}` no longer exists"]));
    let refused = app.post(&apply, &ann, json!({"preview": true})).await.expect_error(422, "macro_invalid");
    assert!(refused["detail"].as_str().unwrap_or_default().contains("{{custom.hours}}"), "{refused}");
    // An API key is no agent: its macros cannot sign with one's name.
    let signed = json!({"name": "Signed", "shared": true, "body": "{{agent.name}}"});
    let signed = uuid_at(&app.post("/v1/macros", &tenant.key, signed).await.expect(201), "/id");
    let by_key = format!("/v1/tickets/{ticket_id}/macros/{signed}/apply");
    app.post(&by_key, &tenant.key, json!({"preview": true})).await.expect_error(422, "macro_invalid");
    // Bad placeholders are refused.
    let bad = json!({"placeholders": {"Bad Key": "x"}});
    let reply = app.send(Method::PUT, "/v1/settings/macro-placeholders", Some(&tenant.key), Some(&bad)).await;
    reply.expect_error(400, "invalid_placeholders");
    let reply = app.send(Method::PUT, "/v1/settings/macro-placeholders", Some(&ann), Some(&custom)).await;
    reply.expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_macro_uses_the_tickets_field_values_and_a_retired_field_is_a_problem_not_a_blank() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let key = tenant.key.as_str();
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let plan = json!({"key": "plan", "label": "Plan", "kind": "select", "options": ["Basic", "Pro"]});
    let plan = uuid_at(&app.post("/v1/ticket-fields", key, plan).await.expect(201), "/id");
    let sites = json!({"key": "sites", "label": "Sites", "kind": "multi_select", "options": ["Berlin", "Lyon"]});
    app.post("/v1/ticket-fields", key, sites).await.expect(201);
    // An unknown field is refused when saved, naming the known ones.
    let wrong = json!({"name": "Wrong", "body": "Plan: {{ticket.fields.tier}}"});
    let refused = app.post("/v1/macros", &agent, wrong).await.expect_error(400, "invalid_macro");
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("ticket.fields.plan")), "{refused}");
    let body = "Your {{ticket.fields.plan}} plan covers {{ ticket.fields.sites }}.";
    let made = app.post("/v1/macros", &agent, json!({"name": "Plan", "body": body})).await.expect(201);
    assert_eq!(made["placeholders"], json!(["ticket.fields.plan", "ticket.fields.sites"]));
    let id = uuid_at(&made, "/id");
    let ticket =
        json!({"subject": "Plan", "channel": "web", "customer": {"email": "c@example.test"}, "body": "Which plan?"});
    let ticket = uuid_at(&app.post("/v1/tickets", key, ticket).await.expect(201), "/ticket/id");
    let apply = format!("/v1/tickets/{ticket}/macros/{id}/apply");
    // A field without a value on this ticket: said, never a blank.
    let missing = app.post(&apply, &agent, json!({"preview": true})).await.expect_error(422, "macro_invalid");
    assert!(missing["detail"].as_str().is_some_and(|d| d.contains("{{ticket.fields.plan}}")), "{missing}");
    let values = json!({"fields": {"plan": "Pro", "sites": ["Berlin", "Lyon"]}});
    app.patch(&format!("/v1/tickets/{ticket}"), &agent, values).await.expect(200);
    let shown = app.post(&apply, &agent, json!({"preview": true})).await.expect(200);
    assert_eq!(shown["reply"], "Your Pro plan covers Berlin, Lyon.");
    // The field retired: the macro says so and is not applied.
    app.patch(&format!("/v1/ticket-fields/{plan}"), key, json!({"active": false})).await.expect(200);
    let read = app.get(&format!("/v1/macros/{id}"), &agent).await.expect(200);
    assert_eq!(read["problems"], json!(["`{{ticket.fields.plan}}` no longer exists"]), "{read}");
    app.post(&apply, &agent, json!({"preview": true})).await.expect_error(422, "macro_invalid");
}
