//! Assembles the HTTP application: the OpenAPI service under `/v1`, docs, health,
//! metrics, and the middleware every request passes (size limit, errors as JSON, metrics).

use std::sync::Arc;

use copilot_core::settings::Settings;
use copilot_store::Db;
use poem::{
    Body, Endpoint, EndpointExt, IntoEndpoint, Request, Response, Route, get,
    http::{StatusCode, header},
};
use poem_openapi::OpenApiService;

use copilot_knowledge::VectorStore;
use copilot_pipeline::{Pipeline, triage::Triager};

use crate::{
    metrics::{self, Metrics},
    routes::{
        analytics::AnalyticsApi,
        api_keys::ApiKeysApi,
        audit::AuditApi,
        auth::AuthApi,
        drafts::DraftsApi,
        email::EmailApi,
        events::EventsApi,
        health,
        intent_models::IntentModelsApi,
        intents::IntentsApi,
        knowledge::KnowledgeApi,
        labelling::LabellingApi,
        macros::MacrosApi,
        platform::PlatformApi,
        rewrite::RewriteApi,
        satisfaction::SatisfactionApi,
        service_levels::{ServiceLevelsApi, SlaAnalyticsApi},
        settings::SettingsApi,
        summaries::SummariesApi,
        ticket_fields::TicketFieldsApi,
        tickets::TicketsApi,
        translation::TranslationApi,
        triage::TriageApi,
        users::UsersApi,
        views::ViewsApi,
        webhooks::WebhooksApi,
    },
};

/// What every handler can reach: the application layer's state and what only HTTP needs.
#[derive(Clone)]
pub struct AppState {
    pub pipeline: Pipeline,
    pub metrics: Metrics,
    /// Failed sign-ins per client address.
    pub sign_in_throttle: Arc<crate::throttle::AddressThrottle>,
    /// Open event streams per caller and per tenant.
    pub stream_slots: Arc<crate::throttle::StreamSlots>,
}

impl AppState {
    /// The state over an open database; opens the knowledge base's vector store.
    /// An empty `secret_key` is resolved to the key file under `data_dir` (created once).
    pub async fn open(db: Db, settings: Settings, triager: Arc<dyn Triager>) -> anyhow::Result<Self> {
        Ok(Self::around(Pipeline::open(db, settings, triager).await?))
    }

    pub fn new(db: Db, settings: Settings, triager: Arc<dyn Triager>, store: VectorStore) -> Self {
        Self::around(Pipeline::new(db, settings, triager, store))
    }

    fn around(pipeline: Pipeline) -> Self {
        let settings = &pipeline.settings;
        Self {
            stream_slots: crate::throttle::StreamSlots::new(
                settings.event_streams_per_caller,
                settings.event_streams_per_tenant,
            ),
            sign_in_throttle: Arc::new(crate::throttle::AddressThrottle::new(
                settings.login_max_failures_per_address,
                std::time::Duration::from_secs(u64::from(settings.login_window_seconds)),
            )),
            metrics: Metrics::new(&pipeline.telemetry),
            pipeline,
        }
    }
}

/// Starts the background workers of `copilot serve` (see [`Pipeline::start_workers`]).
pub fn start_workers(state: &AppState) {
    state.pipeline.start_workers();
}

type Apis = (
    PlatformApi,
    AuthApi,
    UsersApi,
    ApiKeysApi,
    (TicketsApi, SummariesApi, MacrosApi, ViewsApi),
    TriageApi,
    (IntentsApi, LabellingApi, IntentModelsApi),
    KnowledgeApi,
    (DraftsApi, RewriteApi, TranslationApi, SettingsApi, AnalyticsApi, EmailApi),
    (AuditApi, WebhooksApi, EventsApi, ServiceLevelsApi, TicketFieldsApi, SatisfactionApi, SlaAnalyticsApi),
);

/// The OpenAPI service with every operation, served under `/v1`.
pub fn openapi_service(state: &AppState) -> OpenApiService<Apis, ()> {
    let apis = (
        PlatformApi { state: state.clone() },
        AuthApi { state: state.clone() },
        UsersApi { state: state.clone() },
        ApiKeysApi { state: state.clone() },
        (
            TicketsApi { state: state.clone() },
            SummariesApi { state: state.clone() },
            MacrosApi { state: state.clone() },
            ViewsApi { state: state.clone() },
        ),
        TriageApi { state: state.clone() },
        (
            IntentsApi { state: state.clone() },
            LabellingApi { state: state.clone() },
            IntentModelsApi { state: state.clone() },
        ),
        KnowledgeApi { state: state.clone() },
        (
            DraftsApi { state: state.clone() },
            RewriteApi { state: state.clone() },
            TranslationApi { state: state.clone() },
            SettingsApi { state: state.clone() },
            AnalyticsApi { state: state.clone() },
            EmailApi { state: state.clone() },
        ),
        (
            AuditApi { state: state.clone() },
            WebhooksApi { state: state.clone() },
            EventsApi { state: state.clone() },
            ServiceLevelsApi { state: state.clone() },
            TicketFieldsApi { state: state.clone() },
            SatisfactionApi { state: state.clone() },
            SlaAnalyticsApi { state: state.clone() },
        ),
    );
    OpenApiService::new(apis, "Customer-service copilot API", env!("CARGO_PKG_VERSION"))
        .description(
            "Multi-tenant support tickets with AI-drafted, human-approved replies. \
             Every error is JSON `{code, detail}` with a stable `code`.",
        )
        .url_prefix("/v1")
}

/// The spec as pretty JSON (what `copilot openapi` prints and `openapi.json` holds).
pub fn spec_json(state: &AppState) -> String {
    openapi_service(state).spec()
}

/// The whole application.
pub fn build_app(state: AppState) -> impl Endpoint<Output = Response> {
    let api = openapi_service(&state);
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    let limits = BodyLimits {
        default: state.pipeline.settings.max_body_bytes,
        // Room for the multipart framing and JSON escaping around the document itself.
        upload: state.pipeline.settings.knowledge_max_upload_bytes.saturating_mul(2).saturating_add(1 << 20),
        email: state.pipeline.settings.email_max_bytes,
    };
    let metrics = state.metrics.clone();
    let console = console(&state.pipeline.settings.console_dir).with(console_headers());
    let survey = crate::survey_page::routes().with(crate::survey_page::headers());
    probes(
        Route::new()
            .nest("/", console)
            .nest("/v1", api)
            .nest("/docs", docs)
            .nest("/survey", survey)
            .at("/openapi.json", spec),
    )
    .with(security_headers())
    .data(state)
    .around(move |next, request| limit_body(next, request, limits))
    .around(move |next, request| metrics::observe(next, request, metrics.clone()))
    .around(crate::request_id::around)
    .into_endpoint()
    .map_to_response()
}

/// The console's pages may load scripts, styles, images and fonts from this origin only,
/// talk to this origin only, and be framed by nobody; no inline script runs.
const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                           img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; \
                           base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

fn console_headers() -> poem::middleware::SetHeader {
    poem::middleware::SetHeader::new().overriding(header::CONTENT_SECURITY_POLICY, CONSOLE_CSP)
}

/// Headers on every response: no content sniffing, no framing, no referrer to other sites.
fn security_headers() -> poem::middleware::SetHeader {
    poem::middleware::SetHeader::new()
        .overriding(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .overriding(header::X_FRAME_OPTIONS, "DENY")
        .overriding(header::REFERRER_POLICY, "strict-origin-when-cross-origin")
}

/// Adds the liveness and readiness probes and the Prometheus metrics to `routes`.
fn probes(routes: Route) -> Route {
    routes.at("/healthz", get(health::healthz)).at("/readyz", get(health::readyz)).at("/metrics", get(health::metrics))
}

/// The probes and metrics alone, for a process that runs only the workers.
pub fn build_probes(state: AppState) -> impl Endpoint<Output = Response> {
    let metrics = state.metrics.clone();
    probes(Route::new())
        .data(state)
        .around(move |next, request| metrics::observe(next, request, metrics.clone()))
        .around(crate::request_id::around)
        .into_endpoint()
        .map_to_response()
}

/// The web console: the built folder (`npm --prefix frontend run build`) when it exists,
/// else a page that says how to build it.
fn console(dir: &std::path::Path) -> poem::endpoint::BoxEndpoint<'static, Response> {
    use poem::{EndpointExt, IntoResponse};
    if dir.join("index.html").is_file() {
        poem::endpoint::StaticFilesEndpoint::new(dir).index_file("index.html").map_to_response().boxed()
    } else {
        let page = format!(
            "<!doctype html><title>Copilot</title><p>The web console is not built in <code>{}</code>: \
             run <code>scripts/run</code>, or <code>npm --prefix frontend ci &amp;&amp; npm --prefix frontend run build</code>. \
             The API is at <a href=\"/docs\">/docs</a>.</p>",
            dir.display()
        );
        poem::endpoint::make_sync(move |_| poem::web::Html(page.clone()).into_response()).boxed()
    }
}

/// The largest request bodies: uploads of knowledge documents and inbound mail may be
/// larger than the rest.
#[derive(Clone, Copy)]
struct BodyLimits {
    default: u64,
    upload: u64,
    email: u64,
}

impl BodyLimits {
    fn of(&self, request: &Request) -> u64 {
        let path = request.uri().path();
        if request.method() != poem::http::Method::POST {
            self.default
        } else if path == "/v1/knowledge/documents" {
            self.upload.max(self.default)
        } else if path.starts_with("/v1/inbound/email") {
            self.email
        } else {
            self.default
        }
    }
}

/// Refuses bodies over the limit with 413, whether announced by `Content-Length` or streamed.
/// (An upload's document is checked against its own limit by the operation.)
async fn limit_body<E: Endpoint>(next: E, mut request: Request, limits: BodyLimits) -> poem::Result<Response> {
    let max = limits.of(&request);
    let too_large = || poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > max => return Err(too_large()),
        Some(_) => {}
        // Chunked HTTP/1.1 and HTTP/2 bodies announce no length: read them under the limit.
        None => {
            let body = request.take_body();
            let bytes = body.into_bytes_limit(max as usize).await.map_err(|_| too_large())?;
            request.set_body(Body::from(bytes));
        }
    }
    next.call(request).await.map(poem::IntoResponse::into_response)
}
