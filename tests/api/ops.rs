//! Health, readiness, metrics, the spec and the docs.

use copilot_tests::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;

    let health = app.send(Method::GET, "/healthz", None, None).await.expect(200);
    let ready = app.send(Method::GET, "/readyz", None, None).await.expect(200);

    assert_eq!(health["status"], "ok");
    assert_eq!(ready["status"], "ready");
}

#[tokio::test]
async fn every_response_carries_the_callers_request_id_or_a_new_one() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;

    let given =
        app.send_with(Method::GET, "/v1/tickets", Some(&tenant.key), None, &[("X-Request-Id", "crm-7f3a.1")]).await;
    assert_eq!(given.headers["x-request-id"], "crm-7f3a.1");
    // Errors carry it too, and a new one is made when the caller sent none or a bad one.
    let made = app.send(Method::GET, "/v1/tickets/not-a-uuid", Some(&tenant.key), None).await;
    let first = made.headers["x-request-id"].to_str().unwrap_or_default().to_owned();
    assert!(made.status.is_client_error());
    assert_eq!(first.len(), 32, "{first}");
    let bad = app.send_with(Method::GET, "/healthz", None, None, &[("X-Request-Id", "two words")]).await;
    let second = bad.headers["x-request-id"].to_str().unwrap_or_default().to_owned();
    assert!(second.len() == 32 && second != first, "{second}");
}

#[tokio::test]
async fn the_jobs_a_request_queues_keep_its_id() {
    use copilot_store::entities::{delivery, draft, intent_model, message_triage, webhook_delivery};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let app = copilot_tests::spawn_app_alone().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    // The events of the request go to a webhook (whose receiver is away: only the rows count).
    app.post("/v1/webhooks", &tenant.key, json!({"url": "http://127.0.0.1:9/in", "events": ["ticket.created"]}))
        .await
        .expect(201);
    let body = json!({"subject": "Parcel", "channel": "email", "customer": {"email": "c@example.test"}, "body": "Where is it?"});
    let created = app
        .send_with(Method::POST, "/v1/tickets", Some(&tenant.key), Some(&body), &[("X-Request-Id", "req-open-7")])
        .await;
    let ticket = copilot_tests::uuid_at(&created.expect(201), "/ticket/id");
    let reply = json!({"author": "agent", "body": "It left today."});
    let path = format!("/v1/tickets/{ticket}/messages");
    app.send_with(Method::POST, &path, Some(&agent), Some(&reply), &[("X-Request-Id", "req-reply-8")])
        .await
        .expect(201);
    let taxonomy = json!({"labels": [{"label": "a", "examples": ["x"]}, {"label": "b", "examples": ["y"]}]});
    app.send(Method::PUT, "/v1/intents", Some(&tenant.key), Some(&taxonomy)).await.expect(200);
    app.send_with(
        Method::POST,
        "/v1/intents/train",
        Some(&tenant.key),
        Some(&json!({})),
        &[("X-Request-Id", "req-train-9")],
    )
    .await
    .expect(202);

    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let conn = db.unscoped();
    let triage = message_triage::Entity::find().filter(message_triage::Column::TicketId.eq(ticket)).all(conn).await;
    let drafts = draft::Entity::find().filter(draft::Column::TicketId.eq(ticket)).all(conn).await;
    let deliveries = delivery::Entity::find().filter(delivery::Column::TicketId.eq(ticket)).all(conn).await;
    let ids = |rows: Vec<Option<String>>| rows.into_iter().map(|id| id.unwrap_or_default()).collect::<Vec<_>>();
    assert_eq!(ids(triage.expect("triage").into_iter().map(|row| row.request_id).collect()), ["req-open-7"]);
    assert_eq!(ids(drafts.expect("drafts").into_iter().map(|row| row.request_id).collect()), ["req-open-7"]);
    assert_eq!(ids(deliveries.expect("deliveries").into_iter().map(|row| row.request_id).collect()), ["req-reply-8"]);
    let tenant_id = tenant.id;
    let hooks =
        webhook_delivery::Entity::find().filter(webhook_delivery::Column::TenantId.eq(tenant_id)).all(conn).await;
    assert_eq!(ids(hooks.expect("webhook deliveries").into_iter().map(|row| row.request_id).collect()), ["req-open-7"]);
    let training = intent_model::Entity::find().filter(intent_model::Column::TenantId.eq(tenant_id)).all(conn).await;
    assert_eq!(ids(training.expect("training").into_iter().map(|row| row.request_id).collect()), ["req-train-9"]);
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_status() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    app.get("/v1/tickets", &tenant.key).await.expect(200);
    app.get("/v1/tickets?cursor=bad", &tenant.key).await.expect(400);

    let text = reqwest::get(app.url("/metrics")).await.expect("metrics").text().await.expect("text");

    assert!(
        text.contains(r#"copilot_http_requests_total{method="GET",operation="tickets.list",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"copilot_http_requests_total{method="GET",operation="tickets.list",status="400"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"copilot_http_request_duration_seconds_count{method="POST",operation="platform.tenants.create""#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn the_served_spec_matches_the_committed_openapi_json() {
    let app = spawn_app().await;

    let served: serde_json::Value =
        reqwest::get(app.url("/openapi.json")).await.expect("spec").json().await.expect("JSON");
    let generated: serde_json::Value =
        serde_json::from_str(&copilot_api::cli::openapi_spec().await.expect("spec")).expect("generated spec is JSON");
    let committed_text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json"))
        .expect("openapi.json is committed at the repository root");
    let committed: serde_json::Value = serde_json::from_str(&committed_text).expect("committed spec is JSON");

    assert_eq!(served, generated);
    assert!(
        committed == generated,
        "openapi.json is stale: run `cargo run -q --bin copilot -- openapi > openapi.json` and commit it"
    );
    assert!(served["paths"]["/v1/tickets"]["post"]["responses"]["201"].is_object());
}

#[tokio::test]
async fn the_interactive_docs_are_served() {
    let app = spawn_app().await;

    let response = reqwest::get(app.url("/docs")).await.expect("docs");

    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.expect("html").to_lowercase().contains("swagger"));
}

#[tokio::test]
async fn the_console_is_served_at_the_root_or_says_how_to_build_it() {
    let built = std::env::temp_dir().join(format!("copilot-console-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(built.join("assets")).expect("a console folder");
    std::fs::write(built.join("index.html"), "<!doctype html><div id=root></div>").expect("index.html");
    std::fs::write(built.join("assets/app.js"), "console.log(1)").expect("an asset");
    let database = copilot_tests::postgres_database().await;
    let app = copilot_tests::spawn_app_with(&database, copilot_tests::Backend::Postgres, |settings| {
        settings.console_dir = built.clone();
    })
    .await;
    let client = reqwest::Client::new();
    let index = client.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(index.status(), 200);
    let header = |name: &str| index.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let policy = header("content-security-policy");
    assert!(policy.contains("script-src 'self'") && !policy.contains("script-src 'self' 'unsafe"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "strict-origin-when-cross-origin");
    assert!(index.text().await.unwrap_or_default().contains("id=root"));
    let asset = client.get(app.url("/assets/app.js")).send().await.expect("GET an asset");
    assert_eq!(asset.status(), 200);
    assert_eq!(
        client.get(app.url("/healthz")).send().await.expect("healthz").status(),
        200,
        "the API routes still win"
    );

    let bare = copilot_tests::spawn_app_with(&database, copilot_tests::Backend::Postgres, |settings| {
        settings.console_dir = std::path::PathBuf::from("/nonexistent/console");
    })
    .await;
    let hint = client.get(bare.url("/")).send().await.expect("GET /").text().await.unwrap_or_default();
    assert!(hint.contains("not built") && hint.contains("npm --prefix frontend"), "{hint}");
    let _ = std::fs::remove_dir_all(&built);
}

/// A TCP proxy in front of PostgreSQL that can be cut off (every connection dropped, new
/// ones refused) and brought back on the same port: a database outage.
struct Outage {
    port: u16,
    upstream: String,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Outage {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let proxy = Self { port, upstream, tasks: Default::default() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let (upstream, tasks) = (self.upstream.clone(), std::sync::Arc::clone(&self.tasks));
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let connection = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().expect("tasks").push(connection);
            }
        });
        self.tasks.lock().expect("tasks").push(accepting);
    }

    fn cut(&self) {
        for task in self.tasks.lock().expect("tasks").drain(..) {
            task.abort();
        }
    }

    async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.expect("bind the same port");
        self.serve(listener);
    }
}

#[tokio::test]
async fn a_database_outage_answers_503_fast_and_the_service_recovers_by_itself() {
    let database = copilot_tests::new_postgres_database().await;
    // postgres://user@host:port/name → the same through the proxy.
    let (scheme_user, rest) = database.split_once('@').expect("a user in the URL");
    let (upstream, path) = rest.split_once('/').expect("a database in the URL");
    let outage = Outage::start(upstream.to_owned()).await;
    let proxied = format!("{scheme_user}@127.0.0.1:{}/{path}", outage.port);
    let app = copilot_tests::spawn_app_with(&proxied, copilot_tests::Backend::Postgres, |_| {}).await;
    let tenant = app.create_tenant().await;
    app.get("/v1/tickets", &tenant.key).await.expect(200);

    outage.cut();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let reply = app.get("/v1/tickets", &tenant.key).await;
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(5), "the request waited {took:?}");
        assert!(reply.headers.get("retry-after").is_some(), "no Retry-After: {}", reply.body);
        reply.expect_error(503, "service_unavailable");
    }
    let started = std::time::Instant::now();
    let ready = app.send(Method::GET, "/readyz", None, None).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "/readyz took {:?}", started.elapsed());
    ready.expect_error(503, "not_ready");
    app.send(Method::GET, "/healthz", None, None).await.expect(200);

    outage.restore().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.get("/v1/tickets", &tenant.key).await.status != 200 {
        assert!(tokio::time::Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.create_ticket(&tenant.key, "After the outage", "after@example.test").await;
}

/// Every body an OTLP/HTTP collector on a loopback port received at `/v1/traces`.
async fn start_collector() -> (std::net::SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    use poem::{
        EndpointExt, Route, Server, handler,
        listener::{Acceptor, Listener, TcpListener},
        post,
        web::Data,
    };
    type Bodies = std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>;

    #[handler]
    async fn collect(body: Vec<u8>, bodies: Data<&Bodies>) -> &'static str {
        bodies.lock().expect("collector lock").push(body);
        ""
    }

    let bodies: Bodies = Default::default();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("collector port");
    let address = *acceptor.local_addr()[0].as_socket_addr().expect("a socket address");
    let route = Route::new().at("/v1/traces", post(collect).data(bodies.clone()));
    tokio::spawn(Server::new_with_acceptor(acceptor).run(route));
    (address, bodies)
}

#[tokio::test]
async fn with_an_otlp_endpoint_the_spans_of_a_request_and_its_jobs_reach_the_collector() {
    let (collector, bodies) = start_collector().await;
    let database = copilot_tests::postgres_database().await;
    let data_dir = std::env::temp_dir().join(format!("copilot-otlp-{}", uuid::Uuid::new_v4().simple()));
    let service = copilot_tests::Service::start(
        &database,
        &data_dir,
        &[("COPILOT_OTLP_ENDPOINT", format!("http://{collector}"))],
    )
    .await;
    let tenant = service.app.create_tenant().await;
    let body =
        json!({"subject": "Traced", "channel": "web", "customer": {"email": "t@example.test"}, "body": "Where?"});
    service
        .app
        .send_with(Method::POST, "/v1/tickets", Some(&tenant.key), Some(&body), &[("X-Request-Id", "otlp-trace-41")])
        .await
        .expect(201);

    // The batch exporter sends every few seconds: wait for the request's span and the
    // triage job's span, which carries the request's id too.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let count = |needle: &[u8]| {
        let bodies = bodies.lock().expect("collector lock");
        bodies.iter().map(|body| body.windows(needle.len()).filter(|window| *window == needle).count()).sum::<usize>()
    };
    while count(b"otlp-trace-41") < 2 || count(b"job") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the collector got no request and job spans in 60 s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(count(b"copilot") > 0, "the spans name their service");
    assert!(service.terminate(std::time::Duration::from_secs(30)).await, "the service stops with the exporter on");
    let _ = std::fs::remove_dir_all(&data_dir);
}
