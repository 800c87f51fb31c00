//! Support for the black-box API tests: a fresh database per test binary, an app
//! served on a loopback port per test, a random tenant per test, and a small client.
//!
//! Tests talk to the service only over HTTP, except the row-level security checks,
//! which query PostgreSQL directly.

pub mod llm;
pub mod receiver;
pub mod smtp;

use std::{net::SocketAddr, sync::Arc};

use copilot_api::{AppState, build_app, start_workers};
use copilot_pipeline::triage::{ModelTriager, Triager};
use poem::listener::{Acceptor, Listener, TcpListener};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// The platform token every test app is configured with.
pub const PLATFORM_TOKEN: &str = "test-platform-token-0123456789";
/// The key sealing stored secrets in every test app.
pub const SECRET_KEY: &str = "test-secret-key-0123456789abcdef-0123456789";
/// The password of every owner a test creates.
pub const OWNER_PASSWORD: &str = "correct horse battery staple";

/// Which database a test app runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The server URL of the PostgreSQL cluster tests may create databases in.
pub fn postgres_server_url() -> String {
    std::env::var("COPILOT_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let base = match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

static POSTGRES_DATABASE: OnceCell<String> = OnceCell::const_new();

/// The triage models, loaded once for the test binary (from `COPILOT_MODELS_DIR` or the
/// per-user cache where `scripts/setup-models` installs them).
pub fn models() -> Arc<copilot_triage::Models> {
    static MODELS: std::sync::OnceLock<Arc<copilot_triage::Models>> = std::sync::OnceLock::new();
    MODELS
        .get_or_init(|| {
            let settings = copilot_api::config::load(None).expect("default settings load");
            copilot_api::cli::load_models(&settings).unwrap_or_else(|error| panic!("{error:#}"))
        })
        .clone()
}

/// The real triager over the shared models.
pub fn model_triager() -> Arc<dyn Triager> {
    Arc::new(ModelTriager { models: models(), options: copilot_triage::TriageOptions::default() })
}

/// The real triager behind a test's hook: `hook` sees every batch first and may answer it
/// itself (a failure, a panic); a batch it leaves (`None`) goes to the real models.
pub struct Hooked<F>(pub F);

type TriageOutcome = Result<Vec<copilot_triage::Triage>, String>;

#[async_trait::async_trait]
impl<F> Triager for Hooked<F>
where
    F: Fn(&[String]) -> Option<TriageOutcome> + Send + Sync,
{
    async fn triage(&self, texts: Vec<String>, head: Option<copilot_triage::HeadWeights>) -> TriageOutcome {
        match (self.0)(&texts) {
            Some(outcome) => outcome,
            None => model_triager().triage(texts, head).await,
        }
    }

    async fn embed(&self, texts: Vec<String>, kind: copilot_triage::TextKind) -> Result<Vec<Vec<f32>>, String> {
        model_triager().embed(texts, kind).await
    }

    fn dimensions(&self) -> usize {
        model_triager().dimensions()
    }

    fn default_intents(&self) -> Vec<String> {
        model_triager().default_intents()
    }
}

/// A fresh, migrated PostgreSQL database for this test binary; its URL.
pub async fn postgres_database() -> String {
    POSTGRES_DATABASE.get_or_init(new_postgres_database).await.clone()
}

/// Creates and migrates a new PostgreSQL database; its URL.
pub async fn new_postgres_database() -> String {
    use sea_orm::ConnectionTrait;
    let server = postgres_server_url();
    let name = format!("copilot_test_{}", Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(&server)
        .await
        .unwrap_or_else(|error| panic!("cannot reach PostgreSQL at {server}: {error}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|error| panic!("cannot create database {name}: {error}"));
    admin.close().await.ok();
    let url = with_database(&server, &name);
    let db = copilot_store::connect(&url, 2).await.unwrap_or_else(|error| panic!("connect {url}: {error}"));
    copilot_store::migrate(&db).await.unwrap_or_else(|error| panic!("migrate {url}: {error}"));
    url
}

/// Starts the service alone on a new database of its own (no other app claims its work).
pub async fn spawn_app_alone() -> TestApp {
    spawn_app_alone_with(|_| {}).await
}

/// [`spawn_app_alone`] with adjusted settings.
pub async fn spawn_app_alone_with(adjust: impl FnOnce(&mut copilot_core::settings::Settings)) -> TestApp {
    spawn_app_with(&new_postgres_database().await, Backend::Postgres, adjust).await
}

/// The vector store of every app on one database: like replicas in production, apps that
/// share a database (and so claim each other's ingestion jobs) share the knowledge store.
fn knowledge_uri_for(database_url: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    database_url.hash(&mut hasher);
    std::env::temp_dir().join(format!("copilot-test-knowledge-{:016x}", hasher.finish())).display().to_string()
}

/// A running service on a loopback port.
#[derive(Clone)]
pub struct TestApp {
    pub address: SocketAddr,
    pub database_url: String,
    /// Where this app keeps its knowledge base's vector tables.
    pub knowledge_uri: String,
    pub backend: Backend,
    /// The application layer of an app started in this process (not of an external one).
    pipeline: Option<copilot_pipeline::Pipeline>,
    client: reqwest::Client,
}

/// A response: status and JSON body (`Value::Null` when the body is empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, headers }
    }

    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Panics with the body unless the status is `expected`.
    #[track_caller]
    pub fn expect(self, expected: u16) -> Value {
        assert_eq!(self.status.as_u16(), expected, "unexpected status; body: {}", self.body);
        self.body
    }

    /// Asserts an error with `status` and `code`, and that the body has a detail; returns the body.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.body);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "error without detail: {}", self.body);
        self.body
    }
}

/// A tenant created for one test, with its owner's credentials.
#[derive(Clone, Debug)]
pub struct TestTenant {
    pub id: Uuid,
    pub slug: String,
    pub owner_id: Uuid,
    pub owner_email: String,
    /// The owner's API key.
    pub key: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(Backend::Postgres).await
}

/// Starts the service on `backend` with a fresh database (per binary for PostgreSQL,
/// per app for SQLite) and the test platform token.
pub async fn spawn_app_on(backend: Backend) -> TestApp {
    let database_url = match backend {
        Backend::Postgres => postgres_database().await,
        Backend::Sqlite => sqlite_database(),
    };
    spawn_app_with(&database_url, backend, |_| {}).await
}

/// The URL of a new SQLite database file (created and migrated by the first app on it).
pub fn sqlite_database() -> String {
    let path = std::env::temp_dir().join(format!("copilot-test-{}.db", Uuid::new_v4().simple()));
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Starts the service on an existing database with adjusted settings and the given triager.
pub async fn spawn_app_with_triager(
    database_url: &str,
    backend: Backend,
    triager: Arc<dyn Triager>,
    adjust: impl FnOnce(&mut copilot_core::settings::Settings),
) -> TestApp {
    start(database_url, backend, triager, adjust).await
}

/// Starts the service on an existing database with adjusted settings.
pub async fn spawn_app_with(
    database_url: &str,
    backend: Backend,
    adjust: impl FnOnce(&mut copilot_core::settings::Settings),
) -> TestApp {
    start(database_url, backend, model_triager(), adjust).await
}

/// With `COPILOT_TEST_LOG` set (a tracing filter such as `copilot_api=debug`), the apps'
/// logs go to stderr, for investigating a failing test.
fn init_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if let Ok(filter) = std::env::var("COPILOT_TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
    });
}

async fn start(
    database_url: &str,
    backend: Backend,
    triager: Arc<dyn Triager>,
    adjust: impl FnOnce(&mut copilot_core::settings::Settings),
) -> TestApp {
    init_logs();
    let mut settings = copilot_api::config::load(None).expect("default settings load");
    settings.database_url = database_url.to_owned();
    settings.database_max_connections = 5;
    settings.platform_token = SecretString::from(PLATFORM_TOKEN);
    settings.knowledge_uri = knowledge_uri_for(database_url);
    settings.secret_key = SecretString::from(SECRET_KEY);
    // Failed drafts are retried quickly in tests.
    settings.draft_retry_base_ms = 100;
    settings.llm_breaker_cool_down_ms = 300;
    // Apps share a database and claim each other's drafts; a test that ends drops its
    // app's workers, so another app takes their drafts over after a short lease.
    settings.draft_lease_seconds = 3;
    // Apps share a database and claim each other's triage: a claim left by an app whose
    // test ended passes to another app soon (the live ones renew theirs).
    settings.job_lease_seconds = 10;
    // Deliveries are retried quickly, and a sender that died is noticed soon.
    settings.delivery_retry_base_ms = 200;
    settings.delivery_lease_seconds = 5;
    // Webhook receivers run on loopback; failed attempts are retried quickly.
    settings.webhook_allow_private = true;
    // So do the test LLM and SMTP servers tenants point at.
    settings.tenant_endpoints_allow_private = true;
    settings.webhook_retry_schedule = "0s,200ms,300ms,400ms,500ms,500ms,500ms,500ms,500ms,500ms".into();
    settings.webhook_timeout_seconds = 2;
    adjust(&mut settings);
    let db = copilot_store::connect(&settings.database_url, settings.database_max_connections)
        .await
        .expect("connect to the test database");
    if backend == Backend::Sqlite {
        copilot_store::migrate(&db).await.expect("migrate the SQLite database");
    }
    let knowledge_uri = settings.knowledge_uri.clone();
    let state = AppState::open(db, settings, triager).await.expect("open the app state");
    start_workers(&state);
    let pipeline = state.pipeline.clone();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind a loopback port");
    let address =
        acceptor.local_addr().first().and_then(|addr| addr.as_socket_addr().copied()).expect("a socket address");
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(build_app(state)));
    TestApp {
        address,
        database_url: database_url.to_owned(),
        knowledge_uri,
        backend,
        pipeline: Some(pipeline),
        client: reqwest::Client::builder().build().expect("HTTP client"),
    }
}

impl TestApp {
    /// The application layer of an app started in this process.
    pub fn pipeline(&self) -> &copilot_pipeline::Pipeline {
        self.pipeline.as_ref().expect("an app started in this process")
    }

    /// Runs the app's worker of `queue` until a round claims nothing, in the test's task;
    /// returns how many items it claimed. After it, nothing of the queue is due anywhere.
    pub async fn drain_queue(&self, queue: &str) -> usize {
        let pipeline = self.pipeline.as_ref().expect("an app started in this process");
        pipeline.drain_queue(queue).await.unwrap_or_else(|error| panic!("draining {queue}: {error}"))
    }

    /// The value of one series of the app's `/metrics` (e.g.
    /// `copilot_job_run_seconds_count{queue="email"}`); 0 while it has none.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self.client.get(self.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
        text.lines().filter_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok()).next().unwrap_or(0.0)
    }

    /// Waits until a series of the app's `/metrics` reaches `at_least`, up to `within`:
    /// the proof that a worker got to a point, where a test would otherwise sleep.
    pub async fn wait_for_metric(&self, series: &str, at_least: f64, within: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let value = self.metric(series).await;
            if value >= at_least {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{series} stayed at {value} (< {at_least}) for {within:?}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// A client of a service started elsewhere (another process) on `address`.
    pub fn external(address: SocketAddr, database_url: &str) -> Self {
        TestApp {
            address,
            database_url: database_url.to_owned(),
            knowledge_uri: String::new(),
            backend: Backend::Postgres,
            pipeline: None,
            client: reqwest::Client::builder().build().expect("HTTP client"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Sends a request with an optional bearer credential and JSON body.
    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        self.send_with(method, path, token, body, &[]).await
    }

    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::read(request.send().await.expect("the request reaches the app")).await
    }

    /// Posts JSON with one header whose value is given as raw bytes (values that are not
    /// ASCII, which the `&str` forms cannot carry).
    pub async fn post_with_header_bytes(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        name: &str,
        value: &[u8],
    ) -> Reply {
        let value = reqwest::header::HeaderValue::from_bytes(value).expect("a header value");
        let request = self.client.post(self.url(path)).bearer_auth(token).json(body).header(name, value);
        Reply::read(request.send().await.expect("the request reaches the app")).await
    }

    /// Posts raw bytes with a content type, with an optional bearer credential.
    pub async fn post_raw(&self, path: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Reply {
        let mut request = self.client.post(self.url(path)).header("content-type", content_type).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::read(request.send().await.expect("the request reaches the app")).await
    }

    /// Reads a response's raw bytes (downloads).
    pub async fn get_bytes(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let response =
            self.client.get(self.url(path)).bearer_auth(token).send().await.expect("the request reaches the app");
        let status = response.status();
        (status, response.bytes().await.expect("a readable body").to_vec())
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(&body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(token), Some(&body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    /// Uploads a knowledge document as multipart: `file` plus text fields.
    pub async fn upload(
        &self,
        token: &str,
        file_name: &str,
        mime: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> Reply {
        self.upload_to("/v1/knowledge/documents", token, file_name, mime, bytes, fields).await
    }

    /// Posts a multipart upload (`file` plus text fields) to `path`.
    pub async fn upload_to(
        &self,
        path: &str,
        token: &str,
        file_name: &str,
        mime: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> Reply {
        let part =
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()).mime_str(mime).expect("a MIME type");
        let mut form = reqwest::multipart::Form::new().part("file", part);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let request = self.client.post(self.url(path)).bearer_auth(token).multipart(form);
        Reply::read(request.send().await.expect("the request reaches the app")).await
    }

    /// Waits until a knowledge document's latest version is `ready` or `failed`; returns it.
    pub async fn wait_for_document(&self, token: &str, id: Uuid) -> Value {
        for _ in 0..3600 {
            let document = self.get(&format!("/v1/knowledge/documents/{id}"), token).await.expect(200);
            if matches!(document["status"].as_str(), Some("ready") | Some("failed")) {
                return document;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("document {id} did not settle in 180 s");
    }

    /// Creates a tenant with a random slug through the platform API.
    pub async fn create_tenant(&self) -> TestTenant {
        let suffix = Uuid::new_v4().simple().to_string();
        let slug = format!("t-{}", &suffix[..12]);
        let owner_email = format!("owner-{}@example.test", &suffix[..8]);
        let body = self
            .send(
                Method::POST,
                "/v1/platform/tenants",
                Some(PLATFORM_TOKEN),
                Some(&json!({
                    "name": format!("Tenant {slug}"),
                    "slug": slug,
                    "owner_email": owner_email,
                    "owner_password": OWNER_PASSWORD,
                })),
            )
            .await
            .expect(201);
        TestTenant {
            id: uuid_at(&body, "/tenant/id"),
            slug,
            owner_id: uuid_at(&body, "/owner/id"),
            owner_email,
            key: body["api_key"].as_str().expect("api_key").to_owned(),
        }
    }

    /// Creates a ticket for `customer_email`; returns the created body.
    pub async fn create_ticket(&self, token: &str, subject: &str, customer_email: &str) -> Value {
        self.post(
            "/v1/tickets",
            token,
            json!({
                "subject": subject,
                "channel": "web",
                "customer": {"email": customer_email},
                "body": format!("Message about {subject}"),
            }),
        )
        .await
        .expect(201)
    }

    /// Waits until every customer message of a ticket is triaged (or failed); returns the thread.
    pub async fn wait_for_triage(&self, token: &str, ticket_id: Uuid) -> Value {
        let path = format!("/v1/tickets/{ticket_id}/messages?limit=100");
        for _ in 0..600 {
            let thread = self.get(&path, token).await.expect(200);
            let settled = thread["data"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|message| !matches!(message["triage"]["status"].as_str(), Some("pending") | Some("retrying")));
            if settled {
                return thread;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("triage of ticket {ticket_id} did not settle in 30 s");
    }

    /// Waits until the ticket's newest draft is no longer generating; returns it.
    pub async fn settled_draft(&self, token: &str, ticket_id: Uuid) -> Value {
        let path = format!("/v1/tickets/{ticket_id}/drafts?limit=1");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let page = self.get(&path, token).await.expect(200);
            if let Some(draft) = page["data"].get(0)
                && draft["status"] != "generating"
            {
                return draft.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the draft of ticket {ticket_id} did not settle in 120 s: {page}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Adds a user with `role` and returns `(user id, session token)`.
    pub async fn add_user(&self, tenant: &TestTenant, role: &str) -> (Uuid, String) {
        let email = format!("{role}-{}@example.test", &Uuid::new_v4().simple().to_string()[..8]);
        let password = "a long enough password";
        let user = self
            .post("/v1/users", &tenant.key, json!({"email": email, "role": role, "password": password}))
            .await
            .expect(201);
        let login = self.login(&tenant.slug, &email, password).await.expect(200);
        (uuid_at(&user, "/id"), login["token"].as_str().expect("token").to_owned())
    }

    pub async fn login(&self, slug: &str, email: &str, password: &str) -> Reply {
        self.send(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({"tenant": slug, "email": email, "password": password})),
        )
        .await
    }
}

/// The `copilot` binary built next to this test binary.
fn copilot_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("the target folder");
    let binary = dir.join("copilot");
    assert!(binary.exists(), "{} is missing: build the workspace first (scripts/test does)", binary.display());
    binary
}

/// `copilot serve` as a process of its own, so a test can kill it mid-send.
pub struct Service {
    child: std::process::Child,
    pub app: TestApp,
}

impl Service {
    /// Starts `copilot serve` on `database_url` with `data_dir`, the test platform token and
    /// secret key, and `env` on top; waits until it is ready.
    pub async fn start(database_url: &str, data_dir: &std::path::Path, env: &[(&str, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let mut child = std::process::Command::new(copilot_binary())
            .arg("serve")
            .env("COPILOT_DATABASE_URL", database_url)
            .env("COPILOT_DATA_DIR", data_dir)
            .env("COPILOT_LISTEN", format!("127.0.0.1:{port}"))
            .env("COPILOT_PLATFORM_TOKEN", PLATFORM_TOKEN)
            .env("COPILOT_SECRET_KEY", SECRET_KEY)
            .env("COPILOT_LOG_LEVEL", "warn")
            .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start copilot serve");
        let app = TestApp::external(([127, 0, 0, 1], port).into(), database_url);
        for _ in 0..600 {
            if let Ok(response) = reqwest::get(app.url("/readyz")).await
                && response.status().is_success()
            {
                return Self { child, app };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("copilot serve did not become ready in 60 s");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process's peak resident memory so far (Linux `VmHWM`), in bytes.
    pub fn peak_memory_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kilobytes * 1024)
    }

    /// SIGKILL: no shutdown, no bookkeeping.
    pub fn kill(self) {
        drop(self);
    }

    /// Asks the service to stop (SIGTERM), as Kubernetes does, and waits up to `within`
    /// for it to exit; returns whether it exited by itself.
    pub async fn terminate(mut self, within: std::time::Duration) -> bool {
        let pid = self.child.id().to_string();
        let signalled = std::process::Command::new("kill").args(["-TERM", &pid]).status();
        assert!(signalled.is_ok_and(|status| status.success()), "SIGTERM sent");
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a UUID at a JSON pointer, panicking with the body when absent.
#[track_caller]
pub fn uuid_at(body: &Value, pointer: &str) -> Uuid {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("no UUID at {pointer} in {body}"))
}

/// Notes one figure of a held-out evaluation, with the floor its test holds it to: a line
/// of the quality report (`scripts/quality`), printed and appended to the file that
/// `COPILOT_QUALITY_REPORT` names.
pub fn quality_report(area: &str, measure: &str, value: f64, floor: Option<f64>) {
    let floor = floor.map_or_else(|| "-".to_owned(), |floor| format!("{floor:.2}"));
    let line = format!("quality\t{area}\t{measure}\t{value:.3}\t{floor}\n");
    print!("{line}");
    if let Some(path) = std::env::var_os("COPILOT_QUALITY_REPORT") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("the quality report");
        file.write_all(line.as_bytes()).expect("the quality report is written");
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_replaces_the_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
    }
}
