//! The HTTP face of the service and the `copilot` binary: poem-openapi operations, DTOs,
//! authentication, error responses, metrics, settings loading and the command line.
//!
//! Architecture invariant: this is the only crate that knows HTTP. It holds no business
//! rules: each operation authenticates, converts DTOs, calls one capability function (or
//! a use case of `copilot-pipeline`) and converts the result back. The background workers
//! live in `copilot-pipeline`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dto;
pub mod error;
pub mod json_body;
pub mod logging;
pub mod metrics;
pub mod request_id;
pub mod routes;
pub mod survey_page;
pub mod throttle;

pub use app::{AppState, build_app, openapi_service, start_workers};
