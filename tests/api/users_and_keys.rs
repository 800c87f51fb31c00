//! Users and API keys: admin-only management, roles, the last owner.

use copilot_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn an_admin_adds_an_agent_who_can_log_in() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let user = app
        .post(
            "/v1/users",
            &tenant.key,
            json!({"email": "Ann@Example.test", "name": "Ann", "role": "agent", "password": "a long enough password"}),
        )
        .await
        .expect(201);

    assert_eq!(user["email"], "ann@example.test");
    assert_eq!(user["role"], "agent");
    assert_eq!(user["active"], true);
    app.login(&tenant.slug, "ann@example.test", "a long enough password").await.expect(200);
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body = json!({"email": "dup@example.test", "role": "agent", "password": "a long enough password"});
    app.post("/v1/users", &tenant.key, body.clone()).await.expect(201);

    app.post("/v1/users", &tenant.key, body).await.expect_error(409, "email_taken");
}

#[tokio::test]
async fn agents_and_integrations_cannot_manage_users_or_keys() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let integration =
        app.post("/v1/api-keys", &tenant.key, json!({"name": "crm", "role": "integration"})).await.expect(201);
    let integration = integration["key"].as_str().unwrap_or_default().to_owned();

    for token in [agent.as_str(), integration.as_str()] {
        app.get("/v1/users", token).await.expect_error(403, "forbidden");
        app.post(
            "/v1/users",
            token,
            json!({"email": "x@example.test", "role": "agent", "password": "a long enough password"}),
        )
        .await
        .expect_error(403, "forbidden");
        app.get("/v1/api-keys", token).await.expect_error(403, "forbidden");
        app.post("/v1/api-keys", token, json!({"name": "k", "role": "agent"})).await.expect_error(403, "forbidden");
        app.get("/v1/audit-events", token).await.expect_error(403, "forbidden");
    }
}

#[tokio::test]
async fn an_admin_cannot_create_or_promote_owners() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, _) = app.add_user(&tenant, "agent").await;
    let (_, admin) = app.add_user(&tenant, "admin").await;

    app.post(
        "/v1/users",
        &admin,
        json!({"email": "o@example.test", "role": "owner", "password": "a long enough password"}),
    )
    .await
    .expect_error(403, "forbidden");
    app.patch(&format!("/v1/users/{agent_id}"), &admin, json!({"role": "owner"})).await.expect_error(403, "forbidden");
    app.patch(&format!("/v1/users/{}", tenant.owner_id), &admin, json!({"active": false}))
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_or_deactivated() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let path = format!("/v1/users/{}", tenant.owner_id);

    app.patch(&path, &tenant.key, json!({"role": "admin"})).await.expect_error(422, "last_owner");
    app.patch(&path, &tenant.key, json!({"active": false})).await.expect_error(422, "last_owner");
}

#[tokio::test]
async fn an_agent_may_change_only_their_own_name_and_password() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, agent) = app.add_user(&tenant, "agent").await;

    let renamed = app.patch(&format!("/v1/users/{agent_id}"), &agent, json!({"name": "Agent Smith"})).await.expect(200);
    assert_eq!(renamed["name"], "Agent Smith");
    app.patch(&format!("/v1/users/{agent_id}"), &agent, json!({"role": "admin"})).await.expect_error(403, "forbidden");
    app.patch(&format!("/v1/users/{}", tenant.owner_id), &agent, json!({"name": "x"}))
        .await
        .expect_error(403, "forbidden");
    app.get(&format!("/v1/users/{agent_id}"), &agent).await.expect(200);
}

#[tokio::test]
async fn user_input_is_validated() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let cases = [
        (json!({"email": "bad", "role": "agent", "password": "a long enough password"}), 400, "invalid_email"),
        (json!({"email": "a@b.test", "role": "agent", "password": "short"}), 400, "weak_password"),
        (
            json!({"email": "a@b.test", "role": "integration", "password": "a long enough password"}),
            400,
            "invalid_role",
        ),
        (json!({"email": "a@b.test", "role": "emperor", "password": "a long enough password"}), 400, "invalid_body"),
    ];
    for (body, status, code) in cases {
        app.post("/v1/users", &tenant.key, body).await.expect_error(status, code);
    }
}

#[tokio::test]
async fn an_api_key_is_shown_once_and_listed_by_prefix() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let created = app.post("/v1/api-keys", &tenant.key, json!({"name": "zapier", "role": "agent"})).await.expect(201);
    let list = app.get("/v1/api-keys", &tenant.key).await.expect(200);

    let key = created["key"].as_str().unwrap_or_default();
    let listed = list["data"].as_array().cloned().unwrap_or_default();
    let entry = listed.iter().find(|k| k["id"] == created["id"]).cloned().unwrap_or_default();
    assert!(key.starts_with(entry["prefix"].as_str().unwrap_or("missing")));
    assert_eq!(entry["role"], "agent");
    assert!(entry.get("key").is_none() && !list.to_string().contains(key), "the secret key must not be listed");
    assert_eq!(listed.len(), 2, "the owner key and the new key");
}

#[tokio::test]
async fn owner_keys_cannot_be_minted() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    app.post("/v1/api-keys", &tenant.key, json!({"name": "root", "role": "owner"}))
        .await
        .expect_error(400, "invalid_role");
}

#[tokio::test]
async fn users_are_listed_across_pages() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    for _ in 0..3 {
        app.add_user(&tenant, "agent").await;
    }

    let first = app.get("/v1/users?limit=2", &tenant.key).await.expect(200);
    let cursor = first["next_cursor"].as_str().unwrap_or_default().to_owned();
    let second = app.get(&format!("/v1/users?limit=2&cursor={cursor}"), &tenant.key).await.expect(200);

    assert_eq!(first["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(second["data"].as_array().map(Vec::len), Some(2));
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn an_admin_cannot_take_over_an_owner_or_another_admin() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (other_admin, _) = app.add_user(&tenant, "admin").await;
    let (_, admin) = app.add_user(&tenant, "admin").await;

    app.patch(&format!("/v1/users/{}", tenant.owner_id), &admin, json!({"password": "taken over by admin"}))
        .await
        .expect_error(403, "forbidden");
    app.patch(&format!("/v1/users/{other_admin}"), &admin, json!({"password": "taken over by admin"}))
        .await
        .expect_error(403, "forbidden");
    app.patch(&format!("/v1/users/{other_admin}"), &admin, json!({"active": false}))
        .await
        .expect_error(403, "forbidden");
    app.login(&tenant.slug, &tenant.owner_email, "taken over by admin").await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_password_reset_by_an_admin_ends_the_agents_sessions() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, agent_session) = app.add_user(&tenant, "agent").await;
    let (_, admin) = app.add_user(&tenant, "admin").await;

    app.patch(&format!("/v1/users/{agent_id}"), &admin, json!({"password": "a brand new password"})).await.expect(200);

    app.get("/v1/me", &agent_session).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_demoted_owner_keeps_no_owner_rights_through_the_owner_key() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, second_owner) = app.add_user(&tenant, "owner").await;

    app.patch(&format!("/v1/users/{}", tenant.owner_id), &second_owner, json!({"role": "agent"})).await.expect(200);

    let me = app.get("/v1/me", &tenant.key).await.expect(200);
    assert_eq!(me["role"], "agent");
    app.get("/v1/users", &tenant.key).await.expect_error(403, "forbidden");
}

#[tokio::test]
async fn only_an_owner_revokes_an_owner_key() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, admin) = app.add_user(&tenant, "admin").await;
    let keys = app.get("/v1/api-keys", &tenant.key).await.expect(200);
    let owner_key =
        keys["data"].as_array().into_iter().flatten().find(|k| k["role"] == "owner").cloned().unwrap_or_default();
    let path = format!("/v1/api-keys/{}", owner_key["id"].as_str().unwrap_or_default());

    app.delete(&path, &admin).await.expect_error(403, "forbidden");
    app.get("/v1/me", &tenant.key).await.expect(200);
}

#[tokio::test]
async fn integration_keys_add_customer_messages_and_notes_but_never_public_replies() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let key = app.post("/v1/api-keys", &tenant.key, json!({"name": "widget", "role": "integration"})).await.expect(201);
    let key = key["key"].as_str().unwrap_or_default().to_owned();
    let ticket = app.create_ticket(&key, "From the widget", "w@example.test").await;
    let messages = format!("/v1/tickets/{}/messages", ticket["ticket"]["id"].as_str().unwrap_or_default());

    app.post(&messages, &key, json!({"author": "customer", "body": "Anyone there?"})).await.expect(201);
    app.post(&messages, &key, json!({"author": "note", "body": "Order #991 is in transit"})).await.expect(201);
    app.post(&messages, &key, json!({"author": "agent", "body": "We refunded you."}))
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn integration_keys_stay_within_their_scope() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let key = app.post("/v1/api-keys", &tenant.key, json!({"name": "crm", "role": "integration"})).await.expect(201);
    let key = key["key"].as_str().unwrap_or_default().to_owned();
    let hook = app
        .post("/v1/webhooks", &tenant.key, json!({"url": "https://8.8.8.8/in?token=secret", "events": ["*"]}))
        .await
        .expect(201);
    let hook = hook["id"].as_str().unwrap_or_default().to_owned();
    let ticket = app.create_ticket(&key, "From the CRM", "crm@example.test").await;
    let ticket = ticket["ticket"]["id"].as_str().unwrap_or_default().to_owned();

    // What an integration does: tickets in, messages in and out, the event stream.
    app.get(&format!("/v1/tickets/{ticket}"), &key).await.expect(200);
    app.get(&format!("/v1/tickets/{ticket}/messages"), &key).await.expect(200);
    app.get(&format!("/v1/tickets/{ticket}/drafts"), &key).await.expect(200);

    // What it may not: the desk's decisions, the drafts' instructions, settings and webhooks.
    for patch in [json!({"status": "closed"}), json!({"priority": "low"}), json!({"assignee_id": null})] {
        app.patch(&format!("/v1/tickets/{ticket}"), &key, patch).await.expect_error(403, "forbidden");
    }
    app.post(&format!("/v1/tickets/{ticket}/drafts"), &key, json!({"instructions": "Offer a full refund."}))
        .await
        .expect_error(403, "forbidden");
    for path in [
        "/v1/settings/llm".to_owned(),
        "/v1/settings/drafting".to_owned(),
        "/v1/settings/email".to_owned(),
        "/v1/webhooks".to_owned(),
        format!("/v1/webhooks/{hook}"),
        format!("/v1/webhooks/{hook}/deliveries"),
    ] {
        let reply = app.get(&path, &key).await;
        assert!(!reply.body.to_string().contains("secret"), "{path}: {}", reply.body);
        reply.expect_error(403, "forbidden");
    }
    let ticket_now = app.get(&format!("/v1/tickets/{ticket}"), &tenant.key).await.expect(200);
    assert_eq!(
        (ticket_now["status"].as_str(), ticket_now["priority"].as_str()),
        (Some("new"), Some("normal")),
        "{ticket_now}"
    );
}

#[tokio::test]
async fn keys_made_by_a_person_lose_their_rights_with_that_person() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (admin_id, admin) = app.add_user(&tenant, "admin").await;
    let made = |token: String| {
        let app = &app;
        async move {
            let key = app.post("/v1/api-keys", &token, json!({"name": "ops", "role": "admin"})).await.expect(201);
            key["key"].as_str().unwrap_or_default().to_owned()
        }
    };
    let by_session = made(admin.clone()).await;
    let by_key = made(by_session.clone()).await;
    for key in [&by_session, &by_key] {
        app.get("/v1/users", key).await.expect(200);
    }

    // Demoted: every key the admin made acts as an agent now.
    app.patch(&format!("/v1/users/{admin_id}"), &tenant.key, json!({"role": "agent"})).await.expect(200);
    for key in [&by_session, &by_key] {
        assert_eq!(app.get("/v1/me", key).await.expect(200)["role"], "agent");
        app.get("/v1/users", key).await.expect_error(403, "forbidden");
    }

    // Deactivated: the keys are revoked, and reactivation does not bring them back.
    app.patch(&format!("/v1/users/{admin_id}"), &tenant.key, json!({"role": "admin", "active": false}))
        .await
        .expect(200);
    app.patch(&format!("/v1/users/{admin_id}"), &tenant.key, json!({"active": true})).await.expect(200);
    for key in [&by_session, &by_key] {
        app.get("/v1/me", key).await.expect_error(401, "unauthorized");
    }
    let keys = app.get("/v1/api-keys", &tenant.key).await.expect(200);
    let revoked =
        keys["data"].as_array().into_iter().flatten().filter(|k| k["name"] == "ops" && !k["revoked_at"].is_null());
    assert_eq!(revoked.count(), 2);
}

#[tokio::test]
async fn changing_ones_own_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, here) = app.add_user(&tenant, "agent").await;
    let me = app.get("/v1/me", &here).await.expect(200);
    let email = me["user"]["email"].as_str().unwrap_or_default().to_owned();
    let elsewhere = app.login(&tenant.slug, &email, "a long enough password").await.expect(200);
    let elsewhere = elsewhere["token"].as_str().unwrap_or_default().to_owned();
    let path = format!("/v1/users/{agent_id}");

    app.patch(&path, &here, json!({"password": "a brand new password"}))
        .await
        .expect_error(400, "current_password_required");
    app.patch(&path, &here, json!({"password": "a brand new password", "current_password": "a wrong guess!!"}))
        .await
        .expect_error(422, "current_password_wrong");
    app.get("/v1/me", &elsewhere).await.expect(200);

    app.patch(&path, &here, json!({"password": "a brand new password", "current_password": "a long enough password"}))
        .await
        .expect(200);
    app.get("/v1/me", &here).await.expect(200);
    app.get("/v1/me", &elsewhere).await.expect_error(401, "unauthorized");
    app.login(&tenant.slug, &email, "a brand new password").await.expect(200);
}
