//! Login, sessions, logout, revocation and deactivation.

use copilot_tests::{OWNER_PASSWORD, TestApp, spawn_app};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_owner_logs_in_and_the_session_token_authenticates() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let login = app.login(&tenant.slug, &tenant.owner_email, OWNER_PASSWORD).await.expect(200);
    let token = login["token"].as_str().unwrap_or_default();
    let me = app.get("/v1/me", token).await.expect(200);

    assert!(token.starts_with("cps_"));
    assert_eq!(login["user"]["role"], "owner");
    assert_eq!(me["user"]["id"], tenant.owner_id.to_string());
    assert!(me["api_key_id"].is_null());
}

#[tokio::test]
async fn login_is_case_insensitive_on_the_email() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    app.login(&tenant.slug, &tenant.owner_email.to_uppercase(), OWNER_PASSWORD).await.expect(200);
}

#[tokio::test]
async fn wrong_password_unknown_user_and_unknown_tenant_look_the_same() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let wrong_password = app.login(&tenant.slug, &tenant.owner_email, "not the password").await;
    let unknown_user = app.login(&tenant.slug, "nobody@example.test", OWNER_PASSWORD).await;
    let unknown_tenant = app.login("no-such-tenant", &tenant.owner_email, OWNER_PASSWORD).await;

    for reply in [wrong_password, unknown_user, unknown_tenant] {
        assert_eq!(reply.status.as_u16(), 401);
        assert_eq!(reply.body, json!({"code": "unauthorized", "detail": "wrong tenant, e-mail address or password"}));
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_address_even_for_the_right_password() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    for _ in 0..5 {
        app.login(&tenant.slug, &tenant.owner_email, "not the password").await.expect_error(401, "unauthorized");
    }

    let locked = app.login(&tenant.slug, &tenant.owner_email, OWNER_PASSWORD).await;

    assert!(locked.headers.get("retry-after").is_some(), "no Retry-After header");
    locked.expect_error(429, "rate_limited");
    let other_user_tenant = app.create_tenant().await;
    app.login(&other_user_tenant.slug, &other_user_tenant.owner_email, OWNER_PASSWORD).await.expect(200);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let login = app.login(&tenant.slug, &tenant.owner_email, OWNER_PASSWORD).await.expect(200);
    let token = login["token"].as_str().unwrap_or_default().to_owned();

    app.send(Method::POST, "/v1/auth/logout", Some(&token), None).await.expect(200);

    app.get("/v1/me", &token).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn an_api_key_cannot_log_out() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    app.send(Method::POST, "/v1/auth/logout", Some(&tenant.key), None).await.expect_error(422, "not_a_session");
}

#[tokio::test]
async fn a_revoked_key_is_unauthorized_on_the_next_request() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let created =
        app.post("/v1/api-keys", &tenant.key, json!({"name": "crm", "role": "integration"})).await.expect(201);
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    app.get("/v1/tickets", &key).await.expect(200);

    app.delete(&format!("/v1/api-keys/{}", created["id"].as_str().unwrap_or_default()), &tenant.key).await.expect(204);

    app.get("/v1/tickets", &key).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_deactivated_user_is_unauthorized_on_the_next_request() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (agent_id, agent_token) = app.add_user(&tenant, "agent").await;
    app.get("/v1/tickets", &agent_token).await.expect(200);

    app.patch(&format!("/v1/users/{agent_id}"), &tenant.key, json!({"active": false})).await.expect(200);

    app.get("/v1/tickets", &agent_token).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_deactivated_owner_key_stops_working() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (second_owner, second_token) = app.add_user(&tenant, "owner").await;
    assert_ne!(second_owner, tenant.owner_id);

    app.patch(&format!("/v1/users/{}", tenant.owner_id), &second_token, json!({"active": false})).await.expect(200);

    app.get("/v1/tickets", &tenant.key).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn garbage_credentials_are_unauthorized() {
    let app = spawn_app().await;
    for token in ["", "cpk_nope", "cps_nope", "Basic abc", "x y"] {
        let reply = app.send(Method::GET, "/v1/tickets", Some(token), None).await;
        reply.expect_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn concurrent_guesses_are_all_counted() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let guesses = (0..12).map(|i| {
        let app = &app;
        let tenant = &tenant;
        async move { app.login(&tenant.slug, &tenant.owner_email, &format!("guess number {i}")).await.status.as_u16() }
    });
    let statuses = futures_util::future::join_all(guesses).await;

    let refused_by_password = statuses.iter().filter(|&&s| s == 401).count();
    let refused_by_throttle = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(refused_by_password, 5, "{statuses:?}");
    assert_eq!(refused_by_throttle, 7, "{statuses:?}");
    app.login(&tenant.slug, &tenant.owner_email, OWNER_PASSWORD).await.expect_error(429, "rate_limited");
}

#[tokio::test]
async fn the_tenant_slug_is_case_insensitive_at_login() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    app.login(&tenant.slug.to_uppercase(), &tenant.owner_email, OWNER_PASSWORD).await.expect(200);
}

/// Signs in from `address` (the test app reads the client's address from X-Forwarded-For).
async fn login_from(app: &TestApp, address: &str, slug: &str, email: &str, password: &str) -> copilot_tests::Reply {
    let body = json!({"tenant": slug, "email": email, "password": password});
    app.send_with(Method::POST, "/v1/auth/login", None, Some(&body), &[("X-Forwarded-For", address)]).await
}

#[tokio::test]
async fn a_guesser_cannot_lock_a_person_out_of_the_address_they_use() {
    let app = copilot_tests::spawn_app_alone_with(|settings| {
        settings.client_address_header = "x-forwarded-for".into();
    })
    .await;
    let tenant = app.create_tenant().await;
    let (slug, email) = (tenant.slug.as_str(), tenant.owner_email.as_str());
    let home = "198.51.100.7";
    login_from(&app, home, slug, email, OWNER_PASSWORD).await.expect(200);

    for _ in 0..5 {
        login_from(&app, "203.0.113.9", slug, email, "not the password").await.expect_error(401, "unauthorized");
    }
    // The account is throttled for every address the person never signed in from …
    login_from(&app, "203.0.113.9", slug, email, OWNER_PASSWORD).await.expect_error(429, "rate_limited");
    login_from(&app, "203.0.113.10", slug, email, OWNER_PASSWORD).await.expect_error(429, "rate_limited");
    // … but not for the one they use.
    login_from(&app, home, slug, email, OWNER_PASSWORD).await.expect(200);
}

#[tokio::test]
async fn one_password_sprayed_over_many_accounts_is_refused_per_address() {
    let app = copilot_tests::spawn_app_alone_with(|settings| {
        settings.client_address_header = "x-forwarded-for".into();
        settings.login_max_failures_per_address = 10;
    })
    .await;
    let tenant = app.create_tenant().await;
    let sprayer = "203.0.113.50";
    for n in 0..10 {
        let email = format!("person{n}@example.test");
        login_from(&app, sprayer, &tenant.slug, &email, "Winter2026!").await.expect_error(401, "unauthorized");
    }
    let refused = login_from(&app, sprayer, &tenant.slug, "person10@example.test", "Winter2026!").await;
    assert!(refused.headers.get("retry-after").is_some(), "no Retry-After header");
    refused.expect_error(429, "rate_limited");
    // Even the right password of a real account is refused from that address, and nobody
    // else is affected.
    login_from(&app, sprayer, &tenant.slug, &tenant.owner_email, OWNER_PASSWORD)
        .await
        .expect_error(429, "rate_limited");
    login_from(&app, "198.51.100.8", &tenant.slug, &tenant.owner_email, OWNER_PASSWORD).await.expect(200);
}

/// The value of cookie `name` among a response's `Set-Cookie` headers, with its attributes.
fn set_cookie(reply: &copilot_tests::Reply, name: &str) -> String {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", reply.headers))
        .to_owned()
}

fn cookie_value(set_cookie: &str) -> &str {
    set_cookie.split(';').next().and_then(|pair| pair.split_once('=')).map_or("", |(_, value)| value)
}

#[tokio::test]
async fn login_sets_an_http_only_strict_session_cookie_and_a_readable_csrf_cookie() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body = json!({"tenant": tenant.slug, "email": tenant.owner_email, "password": OWNER_PASSWORD});

    let plain = app.send(Method::POST, "/v1/auth/login", None, Some(&body)).await;
    let behind_tls =
        app.send_with(Method::POST, "/v1/auth/login", None, Some(&body), &[("X-Forwarded-Proto", "https")]).await;

    let session = set_cookie(&plain, "copilot_session");
    let csrf = set_cookie(&plain, "copilot_csrf");
    assert_eq!(cookie_value(&session), plain.body["token"].as_str().unwrap_or_default());
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(session.contains(attribute), "{attribute} missing in {session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP cannot keep a Secure cookie: {session}");
    assert!(!csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"), "{csrf}");
    assert_eq!(cookie_value(&csrf).len(), 64);
    assert_ne!(cookie_value(&csrf), cookie_value(&session));
    assert!(set_cookie(&behind_tls, "copilot_session").contains("Secure"));
    assert!(set_cookie(&behind_tls, "copilot_csrf").contains("Secure"));
}

#[tokio::test]
async fn the_session_cookie_reads_freely_but_changes_only_with_its_csrf_token() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body = json!({"tenant": tenant.slug, "email": tenant.owner_email, "password": OWNER_PASSWORD});
    let login = app.send(Method::POST, "/v1/auth/login", None, Some(&body)).await;
    let session = cookie_value(&set_cookie(&login, "copilot_session")).to_owned();
    let csrf = cookie_value(&set_cookie(&login, "copilot_csrf")).to_owned();
    let cookie = format!("copilot_session={session}; copilot_csrf={csrf}");
    let ticket =
        json!({"subject": "Cookie", "channel": "email", "customer": {"email": "c@example.test"}, "body": "Hi"});

    let me = app.send_with(Method::GET, "/v1/me", None, None, &[("Cookie", &cookie)]).await;
    let no_token = app.send_with(Method::POST, "/v1/tickets", None, Some(&ticket), &[("Cookie", &cookie)]).await;
    let wrong_token = app
        .send_with(Method::POST, "/v1/tickets", None, Some(&ticket), &[("Cookie", &cookie), ("X-CSRF-Token", &session)])
        .await;
    let created = app
        .send_with(Method::POST, "/v1/tickets", None, Some(&ticket), &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)])
        .await;

    assert_eq!(me.expect(200)["user"]["id"], tenant.owner_id.to_string());
    no_token.expect_error(403, "csrf_failed");
    wrong_token.expect_error(403, "csrf_failed");
    created.expect(201);
    let tickets = app.get("/v1/tickets", &tenant.key).await.expect(200);
    assert_eq!(tickets["data"].as_array().map(Vec::len), Some(1), "the refused requests created nothing");

    let logout = app
        .send_with(Method::POST, "/v1/auth/logout", None, None, &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)])
        .await;
    let cleared = set_cookie(&logout, "copilot_session");
    assert_eq!(logout.status, 200);
    assert!(
        cookie_value(&cleared).is_empty() && cleared.contains("Max-Age=0") && cleared.contains("Path=/"),
        "{cleared}"
    );
    assert!(set_cookie(&logout, "copilot_csrf").contains("Max-Age=0"));
    app.send_with(Method::GET, "/v1/me", None, None, &[("Cookie", &cookie)]).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_bearer_header_is_judged_alone_even_beside_a_valid_cookie() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body = json!({"tenant": tenant.slug, "email": tenant.owner_email, "password": OWNER_PASSWORD});
    let login = app.send(Method::POST, "/v1/auth/login", None, Some(&body)).await;
    let cookie = format!("copilot_session={}", cookie_value(&set_cookie(&login, "copilot_session")));

    let reply = app.send_with(Method::GET, "/v1/me", Some("cps_forged"), None, &[("Cookie", &cookie)]).await;
    let no_credential = app.send_with(Method::GET, "/v1/me", None, None, &[("Cookie", "other=1")]).await;

    reply.expect_error(401, "unauthorized");
    no_credential.expect_error(401, "unauthorized");
}
