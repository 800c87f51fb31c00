//! The HTTP face of the service and the `copilot` binary: poem-openapi operations, DTOs,
//! authentication, error responses, metrics, settings loading and the command line.
//!
//! Architecture invariant: this is the only crate that knows HTTP. It holds no business
//! rules: each operation authenticates, converts DTOs, calls one capability function
//! and converts the result back.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod drafting;
pub mod drain;
pub mod dto;
pub mod error;
pub mod housekeeping;
pub mod json_body;
pub mod knowledge;
pub mod metrics;
pub mod routes;
pub mod supervisor;
pub mod throttle;
pub mod triage;
pub mod webhooks;

pub use app::{AppState, build_app, openapi_service, start_workers};
