//! Domain vocabulary shared by every capability: tenant and principal types, roles,
//! ticket enums, validated values, pagination cursors, settings and the one error type.
//!
//! Architecture invariant: this crate performs no IO and knows no framework
//! (no database, no HTTP); capabilities depend on it, never the reverse.

pub mod error;
pub mod ids;
pub mod model;
pub mod net;
pub mod page;
pub mod period;
pub mod retry;
pub mod settings;
pub mod tenant;
pub mod values;

pub use error::{Error, Result};
pub use tenant::{Actor, Principal, Role, TenantId};

/// The current time at the precision every database stores (microseconds), so a value
/// returned at creation equals the value read back later.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
