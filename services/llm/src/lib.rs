//! The tenant's language models: named profiles (endpoint, model, sealed key, limits,
//! prices), the ordered profiles each feature tries, each profile's circuit breaker, and
//! the calls made per day, feature and profile with their tokens and cost.
//!
//! Architecture invariant: this crate stores and decides; it calls no model. The
//! application layer's router reads a plan from here, calls the endpoints through
//! copilot-drafting, and records each attempt's outcome back here. The profile named
//! [`DEFAULT_PROFILE`] is the tenant's single-endpoint setting (kept with the drafting
//! settings); every feature without a route uses it.

pub mod health;
pub mod profiles;
pub mod routes;
pub mod usage;

/// The profile of `/v1/settings/llm`: the tenant's own endpoint, else the service's.
pub const DEFAULT_PROFILE: &str = "default";
