//! Persistence primitives every capability shares: the connection, migrations,
//! tenant-scoped transactions (with PostgreSQL row-level security), the one mapping of
//! database errors, the audit log, idempotency records, the event outbox and named locks
//! across processes.
//!
//! Architecture invariant: a capability reaches tenant-owned rows only through a
//! [`TenantTx`] and the [`Scoped`] finders; the only unscoped access is
//! [`Db::unscoped`], kept for credential lookups by hash and platform operations.

pub mod audit;
mod db;
pub mod events;
pub mod idempotency;
pub mod jobs;
pub mod locks;
pub mod presence;
mod query;
pub mod request;
mod scoped;
pub mod sealed;

pub use db::{ACQUIRE_TIMEOUT, Db, TenantTx, connect, connect_with, db_err, is_unique_violation, migrate};
pub use query::like_contains;
pub use scoped::{Scoped, follow_messages};

pub use copilot_entities as entities;
/// sea-orm, re-exported so capabilities use the same version.
pub use sea_orm;
