//! The audit log records logins, key changes, role changes and ticket status changes.

use copilot_tests::{OWNER_PASSWORD, spawn_app, uuid_at};
use serde_json::json;

#[tokio::test]
async fn security_relevant_actions_are_recorded_with_actor_and_target() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    app.login(&tenant.slug, &tenant.owner_email, OWNER_PASSWORD).await.expect(200);
    app.login(&tenant.slug, &tenant.owner_email, "wrong password!").await.expect(401);
    let key = app.post("/v1/api-keys", &tenant.key, json!({"name": "crm", "role": "integration"})).await.expect(201);
    let key_id = uuid_at(&key, "/id");
    app.delete(&format!("/v1/api-keys/{key_id}"), &tenant.key).await.expect(204);
    let (agent_id, _) = app.add_user(&tenant, "agent").await;
    app.patch(&format!("/v1/users/{agent_id}"), &tenant.key, json!({"role": "admin"})).await.expect(200);
    let ticket = app.create_ticket(&tenant.key, "audited", "a@example.test").await;
    let ticket_id = uuid_at(&ticket, "/ticket/id");
    app.patch(&format!("/v1/tickets/{ticket_id}"), &tenant.key, json!({"status": "solved"})).await.expect(200);

    let events = app.get("/v1/audit-events?limit=100", &tenant.key).await.expect(200);

    let events = events["data"].as_array().cloned().unwrap_or_default();
    let find = |action: &str| events.iter().find(|e| e["action"] == action).cloned().unwrap_or_default();
    let owner_key_actor = find("api_key.created")["actor_id"].clone();
    assert_eq!(find("tenant.created")["actor_kind"], "platform");
    let owner_logins =
        events.iter().filter(|e| e["action"] == "auth.login" && e["actor_id"] == tenant.owner_id.to_string());
    assert_eq!(owner_logins.count(), 1);
    assert_eq!(find("auth.login_failed")["target_label"], tenant.owner_email);
    assert_eq!(find("auth.login_failed")["actor_kind"], "anonymous");
    assert_eq!(find("api_key.created")["target_id"], key_id.to_string());
    assert_eq!(find("api_key.created")["actor_kind"], "api_key");
    assert_eq!(find("api_key.revoked")["target_id"], key_id.to_string());
    assert_eq!(find("api_key.revoked")["actor_id"], owner_key_actor);
    assert_eq!(find("user.role_changed")["data"], json!({"from": "agent", "to": "admin"}));
    assert_eq!(find("ticket.status_changed")["data"], json!({"from": "new", "to": "solved"}));
    assert_eq!(find("ticket.status_changed")["target_id"], ticket_id.to_string());
    let times: Vec<&str> = events.iter().filter_map(|e| e["created_at"].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
}

#[tokio::test]
async fn the_audit_log_filters_by_action() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    app.login(&tenant.slug, &tenant.owner_email, OWNER_PASSWORD).await.expect(200);

    let logins = app.get("/v1/audit-events?action=auth.login", &tenant.key).await.expect(200);

    let actions: Vec<&str> =
        logins["data"].as_array().into_iter().flatten().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, vec!["auth.login"]);
}
