//! Tenants, their people and credentials: creating a tenant, users and roles, API keys,
//! login sessions, and turning a bearer credential into a [`Principal`](copilot_core::Principal).
//!
//! Architecture invariant: this crate knows no HTTP. Secrets leave it only once, at
//! creation; what is stored is a hash (SHA-256 for random keys, Argon2id for passwords).

pub mod api_keys;
pub mod auth;
mod secrets;
pub mod tenants;
pub mod users;

pub use api_keys::ApiKey;
pub use tenants::Tenant;
pub use users::User;
