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

#[tokio::test]
async fn a_ticket_subject_that_is_not_a_json_string_is_refused_and_names_the_field() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let ticket = |subject: serde_json::Value| serde_json::json!({"subject": subject, "channel": "web", "customer": {"email": "a@b.test"}, "body": "y"});

    for subject in [serde_json::json!(123), serde_json::json!(true), serde_json::json!(1e308)] {
        let reply = app.post("/v1/tickets", &tenant.key, ticket(subject.clone())).await;
        assert_eq!(reply.status.as_u16(), 400, "subject {subject}: {}", reply.body);
        assert_eq!(reply.code(), "invalid_body", "subject {subject}: {}", reply.body);
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("`subject`"), "subject {subject}: the detail names the field: {detail}");
    }
    let nested = app
        .post(
            "/v1/tickets",
            &tenant.key,
            serde_json::json!({"subject": "s", "channel": "web", "customer": {"email": 7}, "body": "y", "tags": ["a", false]}),
        )
        .await;
    assert_eq!(nested.status.as_u16(), 400, "{}", nested.body);
    assert!(nested.body["detail"].as_str().unwrap_or_default().contains("`customer.email`"), "{}", nested.body);
    let list = app.get("/v1/tickets", &tenant.key).await.expect(200);
    assert_eq!(list["data"], serde_json::json!([]), "a refused body creates nothing");

    let created = app.post("/v1/tickets", &tenant.key, ticket(serde_json::json!("123"))).await.expect(201);
    assert_eq!(created["ticket"]["subject"], "123", "digits in a JSON string are a subject like any other");
}

#[tokio::test]
async fn drafting_settings_refuse_a_number_for_a_text_field_and_keep_the_stored_ones() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let style = serde_json::json!({"persona": "the Acme team", "tone": "warm", "signature": "Acme"});
    app.send(Method::PUT, "/v1/settings/drafting", Some(&tenant.key), Some(&style)).await.expect(200);

    for (field, wrong) in [("persona", serde_json::json!(42)), ("signature", serde_json::json!(false))] {
        let mut body = style.clone();
        body[field] = wrong;
        let reply = app.send(Method::PUT, "/v1/settings/drafting", Some(&tenant.key), Some(&body)).await;
        assert_eq!(reply.status.as_u16(), 400, "{field}: {}", reply.body);
        assert_eq!(reply.code(), "invalid_body", "{field}: {}", reply.body);
        assert!(reply.body["detail"].as_str().unwrap_or_default().contains(&format!("`{field}`")), "{}", reply.body);
    }

    let stored = app.get("/v1/settings/drafting", &tenant.key).await.expect(200);
    assert_eq!((stored["persona"].as_str(), stored["signature"].as_str()), (Some("the Acme team"), Some("Acme")));
}

/// Every operation of the spec that reads a JSON body refuses a number and a boolean in
/// each field the spec declares a string (nested fields and list items included), naming
/// the field: a body read without the strict reader fails here.
#[tokio::test]
async fn every_json_body_takes_only_json_strings_where_the_spec_declares_strings() {
    use serde_json::{Value, json};

    /// The schema itself: references followed, a documented reference's `allOf` unwrapped.
    fn resolve<'s>(schema: &'s Value, schemas: &'s Value) -> &'s Value {
        if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
            return resolve(&schemas[name], schemas);
        }
        match schema["allOf"].as_array().and_then(|parts| parts.first()) {
            Some(first) => resolve(first, schemas),
            None => schema,
        }
    }

    /// Each string field of `schema` as (its path, a body holding `wrong` there).
    fn string_fields(schema: &Value, schemas: &Value, path: &str, wrong: &Value, depth: u8) -> Vec<(String, Value)> {
        let schema = resolve(schema, schemas);
        if depth > 4 {
            return Vec::new();
        }
        match schema["type"].as_str() {
            Some("string") => vec![(path.to_owned(), wrong.clone())],
            Some("array") => string_fields(&schema["items"], schemas, &format!("{path}[0]"), wrong, depth + 1)
                .into_iter()
                .map(|(field, item)| (field, json!([item])))
                .collect(),
            _ => schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(name, property)| {
                    let field = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                    string_fields(property, schemas, &field, wrong, depth + 1)
                        .into_iter()
                        .map(|(field, value)| (field, json!({ name: value })))
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }

    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let spec: Value = reqwest::get(app.url("/openapi.json")).await.expect("spec").json().await.expect("JSON spec");
    let schemas = &spec["components"]["schemas"];
    let mut checked = 0;
    let mut accepted = Vec::new();
    for (path, operations) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let Some(schema) = operation["requestBody"]["content"]["application/json; charset=utf-8"].get("schema")
            else {
                continue;
            };
            let url = path
                .split('/')
                .map(|part| if part.starts_with('{') { uuid::Uuid::new_v4().to_string() } else { part.to_owned() })
                .collect::<Vec<_>>()
                .join("/");
            let token = match operation["security"][0].as_object().and_then(|scheme| scheme.keys().next()) {
                Some(scheme) if scheme == "PlatformAuth" => Some(copilot_tests::PLATFORM_TOKEN),
                Some(_) => Some(tenant.key.as_str()),
                None => None,
            };
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method");
            for wrong in [json!(123), json!(true)] {
                for (field, body) in string_fields(schema, schemas, "", &wrong, 0) {
                    let reply = app
                        .send_with(
                            method.clone(),
                            &url,
                            token,
                            Some(&body),
                            &[("Idempotency-Key", "strict-json-bodies")],
                        )
                        .await;
                    checked += 1;
                    let named = reply.body["detail"].as_str().is_some_and(|d| d.contains(&format!("`{field}`")));
                    if reply.status.as_u16() != 400 || reply.code() != "invalid_body" || !named {
                        accepted.push(format!("{method} {path} {body}: {} {}", reply.status, reply.body));
                    }
                }
            }
        }
    }
    assert!(checked > 100, "the spec's string fields were found: {checked}");
    assert!(accepted.is_empty(), "not refused with the field named:\n{}", accepted.join("\n"));
}
