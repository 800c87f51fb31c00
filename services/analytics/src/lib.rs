//! Questions about the tenant's own desk as typed queries: a closed catalogue of datasets
//! and fields ([`catalogue`]), a query checked against it ([`query`]) and run inside the
//! tenant's transaction ([`run`]). No text of a query reaches SQL except as a bound value;
//! an LLM that plans a query writes this type, never SQL.

pub mod answer;
pub mod cards;
pub mod catalogue;
pub mod query;
pub mod relative;
pub mod run;
mod sql;

pub use catalogue::Dataset;
pub use query::{Plan, Query};
pub use run::{Answer, Column, custom_fields, run};

/// How long one statement of a query may run on PostgreSQL.
pub const STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
