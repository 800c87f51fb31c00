//! Creating tenants with the platform token.

use copilot_tests::{Backend, OWNER_PASSWORD, PLATFORM_TOKEN, spawn_app, spawn_app_on, spawn_app_with};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn creating_a_tenant_returns_the_owner_and_a_working_key_once() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let me = app.get("/v1/me", &tenant.key).await.expect(200);

    assert_eq!(me["tenant"]["slug"], tenant.slug);
    assert_eq!(me["role"], "owner");
    assert_eq!(me["user"]["email"], tenant.owner_email);
    assert!(tenant.key.starts_with("cpk_"));
}

#[tokio::test]
async fn the_slug_is_derived_from_the_name_when_absent() {
    let app = spawn_app().await;
    let name = format!("Acme Shop {}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let body = json!({"name": name, "owner_email": "boss@acme.test"});

    let created = app.send(Method::POST, "/v1/platform/tenants", Some(PLATFORM_TOKEN), Some(&body)).await.expect(201);

    assert!(created["tenant"]["slug"].as_str().is_some_and(|slug| slug.starts_with("acme-shop-")), "{created}");
}

#[tokio::test]
async fn a_taken_slug_is_a_conflict() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body = json!({"name": "Other", "slug": tenant.slug, "owner_email": "x@y.test"});

    app.send(Method::POST, "/v1/platform/tenants", Some(PLATFORM_TOKEN), Some(&body))
        .await
        .expect_error(409, "slug_taken");
}

#[tokio::test]
async fn invalid_tenant_input_is_rejected_with_a_code() {
    let app = spawn_app().await;
    let cases = [
        (json!({"name": "Acme", "slug": "Bad Slug", "owner_email": "a@b.test"}), "invalid_slug"),
        (json!({"name": "Acme", "slug": "acme-x1", "owner_email": "not-an-email"}), "invalid_email"),
        (
            json!({"name": "Acme", "slug": "acme-x2", "owner_email": "a@b.test", "owner_password": "short"}),
            "weak_password",
        ),
        (json!({"name": "", "owner_email": "a@b.test"}), "invalid_body"),
        (json!({"slug": "acme-x3", "owner_email": "a@b.test"}), "invalid_body"),
    ];
    for (body, code) in cases {
        app.send(Method::POST, "/v1/platform/tenants", Some(PLATFORM_TOKEN), Some(&body)).await.expect_error(400, code);
    }
}

#[tokio::test]
async fn a_wrong_or_missing_platform_token_is_unauthorized() {
    let app = spawn_app().await;
    let body = json!({"name": "Acme", "owner_email": "a@b.test", "owner_password": OWNER_PASSWORD});

    app.send(Method::POST, "/v1/platform/tenants", Some("wrong-token-wrong-token"), Some(&body))
        .await
        .expect_error(401, "unauthorized");
    app.send(Method::POST, "/v1/platform/tenants", None, Some(&body)).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_tenant_key_is_not_a_platform_token() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body = json!({"name": "Acme", "owner_email": "a@b.test"});

    app.send(Method::POST, "/v1/platform/tenants", Some(&tenant.key), Some(&body))
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn without_a_configured_token_platform_endpoints_do_not_exist() {
    let app = spawn_app_on(Backend::Sqlite).await;
    let app = spawn_app_with(&app.database_url, Backend::Sqlite, |settings| {
        settings.platform_token = secrecy::SecretString::from("");
    })
    .await;
    let body = json!({"name": "Acme", "owner_email": "a@b.test"});

    app.send(Method::POST, "/v1/platform/tenants", Some(PLATFORM_TOKEN), Some(&body))
        .await
        .expect_error(404, "not_found");
}
