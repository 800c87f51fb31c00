//! The `copilot` command line: serve, migrate, openapi, tenant create.

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
use clap::{Parser, Subcommand};
use copilot_core::settings::Settings;
use poem::EndpointExt;

use copilot_triage::TriageOptions;

use copilot_pipeline::triage::{ModelTriager, NoTriager};

use crate::{AppState, app, config};

#[derive(Debug, Parser)]
#[command(name = "copilot", version, about = "Multi-tenant customer-service copilot")]
pub struct Cli {
    /// A TOML settings file, between the defaults and the environment.
    #[arg(long, global = true, env = "COPILOT_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API and the background workers (migrates first).
    Serve {
        /// `all`: the API and the workers; `api`: the HTTP API only (stateless, scale it
        /// freely); `worker`: the background workers only (triage, ingestion, drafting,
        /// e-mail, webhooks, housekeeping) with `/healthz`, `/readyz` and `/metrics`.
        #[arg(long, env = "COPILOT_ROLE", value_enum, default_value_t = Role::All)]
        role: Role,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI spec as JSON.
    Openapi,
    /// Manage tenants (operator).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Show how a knowledge file is read: its headings, paragraphs, list items and
    /// question/answer pairs in order, then how many chunks it makes (nothing is stored).
    Read {
        /// A file in a format the knowledge base takes (.md, .html, .txt, .pdf, .docx, .csv, .json).
        file: PathBuf,
    },
}

/// What one `copilot serve` process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    All,
    Api,
    Worker,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and its owner; prints the tenant id and the owner's API key once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        #[arg(long)]
        slug: Option<String>,
        /// Lets the owner sign in to the console.
        #[arg(long, env = "COPILOT_OWNER_PASSWORD")]
        owner_password: Option<String>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Openapi => {
            print!("{}", openapi_spec().await?);
            return Ok(());
        }
        Command::Read { file } => return read_knowledge_file(file),
        _ => {}
    }
    let settings = config::load(cli.config.as_deref())?;
    let _logging = crate::logging::init(&settings)?;
    let db = copilot_store::connect_with(
        &settings.database_url,
        settings.database_max_connections,
        std::time::Duration::from_secs(settings.database_acquire_timeout_seconds),
    )
    .await
    .with_context(|| format!("cannot open the database (COPILOT_DATABASE_URL = {})", redact(&settings.database_url)))?;
    copilot_store::migrate(&db).await.context("migrating the database failed")?;
    match cli.command {
        Command::Migrate => {
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve { role } => serve(settings, db, role).await,
        Command::Tenant { command: TenantCommand::Create { name, owner_email, slug, owner_password } } => {
            let request = copilot_tenancy::tenants::NewTenant { name, slug, owner_email, owner_password };
            let created = copilot_tenancy::tenants::create(&db, request).await?;
            println!("tenant_id: {}", created.tenant.id);
            println!("slug:      {}", created.tenant.slug);
            println!("owner:     {}", created.owner.email);
            println!("api_key:   {}", created.api_key);
            println!("(the API key is shown only now)");
            Ok(())
        }
        Command::Openapi | Command::Read { .. } => Ok(()),
    }
}

/// `copilot read FILE`: the blocks a knowledge file parses into, as an outline.
fn read_knowledge_file(file: &std::path::Path) -> anyhow::Result<()> {
    use copilot_knowledge::parse::{self, Block, Format};
    let name = file.display().to_string();
    let format =
        Format::from_filename(&name).with_context(|| format!("{name}: not a format the knowledge base reads"))?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {name}"))?;
    let blocks = parse::parse(format, &bytes).map_err(|error| anyhow::anyhow!("{name}: {error}"))?;
    let mut out = String::new();
    for block in &blocks {
        match block {
            Block::Heading { level, text } => out += &format!("\n{} {text}\n", "#".repeat(usize::from(*level))),
            Block::Paragraph(text) => out += &format!("\n{text}\n"),
            Block::ListItem(text) => out += &format!("- {text}\n"),
            Block::QuestionAnswer { question, answer } => out += &format!("\nQ: {question}\nA: {answer}\n"),
        }
    }
    let chunks = copilot_knowledge::chunk::chunk(&blocks, Default::default());
    out += &format!("\n({format}: {} blocks, {} chunks)\n", blocks.len(), chunks.len());
    // A closed pipe (`copilot read … | head`) is not an error.
    match std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}

/// The OpenAPI spec, built without touching the configured database.
pub async fn openapi_spec() -> anyhow::Result<String> {
    let settings = config::load(None)?;
    let db = copilot_store::connect("sqlite::memory:", 1).await?;
    let store = copilot_knowledge::VectorStore::open("memory://", 1).await?;
    let state = AppState::new(db, settings, Arc::new(NoTriager), store);
    Ok(app::spec_json(&state))
}

/// Loads the triage models named by the settings (checked against their manifest).
pub fn load_models(settings: &Settings) -> anyhow::Result<Arc<copilot_triage::Models>> {
    let dir = copilot_triage::model_set_dir(&settings.models_dir);
    copilot_triage::Models::load(&dir, settings.triage_threads)
        .map_err(|error| anyhow::anyhow!("cannot load the triage models (COPILOT_MODELS_DIR): {error}"))
}

async fn serve(settings: Settings, db: copilot_store::Db, role: Role) -> anyhow::Result<()> {
    let listen = settings.listen;
    let models = load_models(&settings)?;
    let options = TriageOptions { intent_threshold: settings.intent_threshold };
    let state = AppState::open(db, settings, Arc::new(ModelTriager { models, options })).await?;
    if role != Role::Api {
        app::start_workers(&state);
    }
    let drain = state.pipeline.drain.clone();
    let listener = poem::listener::TcpListener::bind(listen);
    let endpoint = match role {
        Role::Worker => {
            tracing::info!(%listen, "running the workers; health and metrics only over HTTP");
            app::build_probes(state).boxed()
        }
        Role::All | Role::Api => {
            tracing::info!(%listen, ?role, "serving the API; docs at /docs");
            app::build_app(state).boxed()
        }
    };
    // On the signal the workers stop claiming at once, while the server finishes its requests.
    let stopping = {
        let drain = drain.clone();
        async move {
            shutdown_signal().await;
            drain.stop();
        }
    };
    poem::Server::new(listener)
        .run_with_graceful_shutdown(endpoint, stopping, Some(std::time::Duration::from_secs(20)))
        .await
        .with_context(|| format!("cannot serve on {listen} (COPILOT_LISTEN)"))?;
    // Replies and webhooks being sent finish and are recorded; nothing new is claimed.
    let unfinished = drain.finish(std::time::Duration::from_secs(20)).await;
    if unfinished > 0 {
        tracing::warn!(unfinished, "stopping with sends still in flight");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact("postgres://app:secret@db:5432/copilot"), "postgres://app:***@db:5432/copilot");
        assert_eq!(redact("sqlite://data/copilot.db"), "sqlite://data/copilot.db");
    }
}
