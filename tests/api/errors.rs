//! Every error is JSON `{code, detail}`, framework errors included.

use copilot_tests::{Backend, spawn_app, spawn_app_on, spawn_app_with};
use reqwest::Method;

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    app.get("/v1/nothing-here", &tenant.key).await.expect_error(404, "not_found");
    app.send(Method::PUT, "/v1/tickets", Some(&tenant.key), None).await.expect_error(405, "method_not_allowed");
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let client = reqwest::Client::new();

    let response = client
        .post(app.url("/v1/tickets"))
        .bearer_auth(&tenant.key)
        .header("content-type", "application/json")
        .body("{\"subject\": ")
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert_eq!(body["code"], "invalid_body");
}

#[tokio::test]
async fn a_wrong_content_type_is_unsupported() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let response = reqwest::Client::new()
        .post(app.url("/v1/tickets"))
        .bearer_auth(&tenant.key)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 415);
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert_eq!(body["code"], "unsupported_media_type");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_whether_declared_or_streamed() {
    let seed = spawn_app_on(Backend::Sqlite).await;
    let app = spawn_app_with(&seed.database_url, Backend::Sqlite, |settings| settings.max_body_bytes = 4096).await;
    let tenant = app.create_tenant().await;
    let big = serde_json::json!({"subject": "x", "channel": "web", "customer": {"email": "a@b.test"}, "body": "y".repeat(5000)});

    app.post("/v1/tickets", &tenant.key, big.clone()).await.expect_error(413, "payload_too_large");

    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.to_string().into_bytes().chunks(1000).map(|chunk| Ok(chunk.to_vec())).collect();
    let response = reqwest::Client::new()
        .post(app.url("/v1/tickets"))
        .bearer_auth(&tenant.key)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 413);
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert_eq!(body["code"], "payload_too_large");
    let http2 = reqwest::Client::builder().http2_prior_knowledge().build().expect("HTTP/2 client");
    let response = http2
        .post(app.url("/v1/tickets"))
        .bearer_auth(&tenant.key)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            big.to_string()
                .into_bytes()
                .chunks(1000)
                .map(|chunk| Ok::<_, std::io::Error>(chunk.to_vec()))
                .collect::<Vec<_>>(),
        )))
        .send()
        .await
        .expect("HTTP/2 request");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status().as_u16(), 413);
    let list = app.get("/v1/tickets", &tenant.key).await.expect(200);
    assert_eq!(list["data"], serde_json::json!([]));
}

#[tokio::test]
async fn a_server_error_does_not_leak_internals() {
    let app = spawn_app_on(Backend::Sqlite).await;
    let tenant = app.create_tenant().await;
    app.create_ticket(&tenant.key, "before the break", "a@b.test").await;
    {
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect(&app.database_url).await.expect("connect");
        db.execute_unprepared("DROP TABLE ticket_tags").await.expect("drop a table to break the app");
    }

    let listed = app.get("/v1/tickets", &tenant.key).await;
    let created = app
        .post(
            "/v1/tickets",
            &tenant.key,
            serde_json::json!({"subject": "x", "channel": "web", "customer": {"email": "a@b.test"}, "body": "y", "tags": ["t"]}),
        )
        .await;

    for reply in [listed, created] {
        assert_eq!(reply.status.as_u16(), 500, "{}", reply.body);
        assert_eq!(reply.code(), "internal_error");
        let text = reply.body.to_string().to_lowercase();
        assert!(!text.contains("ticket_tags") && !text.contains("sql"), "leak: {text}");
    }
}

#[tokio::test]
async fn nul_characters_are_refused_not_crashed_on() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let body =
        serde_json::json!({"subject": "a\u{0}b", "channel": "web", "customer": {"email": "a@b.test"}, "body": "y"});

    app.post("/v1/tickets", &tenant.key, body).await.expect_error(400, "invalid_text");
    app.get("/v1/tickets?q=%00", &tenant.key).await.expect_error(400, "invalid_text");
    app.login("a\u{0}b", "a@b.test", "whatever password").await.expect_error(401, "unauthorized");
}
