//! Webhooks: a tenant's endpoints (URL, subscribed event types, signing secrets with
//! rotation) and the deliveries of its events to them (claims with a lease, retries on a
//! schedule, the dead-letter view, retry and replay). Events themselves are recorded by
//! each capability through `copilot_store::events`.
//!
//! Architecture invariant: this crate knows no HTTP server and sends nothing itself; the
//! binary's worker posts what [`deliveries::job`] describes and records the outcome.

pub mod deliveries;
pub mod endpoints;
