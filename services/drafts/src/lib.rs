//! Reply drafts: the drafting queue of each ticket, the results workers store, the human
//! decision (approve, edit, reject), the tenant's drafting settings and usage, and how
//! drafts fare.
//!
//! Architecture invariant: nothing AI-written reaches a customer without a person's
//! approval; approval is the only way a draft's text becomes an agent message, written
//! through copilot-conversations. This crate stores and decides; the text itself is
//! proposed by copilot-drafting (no storage), called by the application layer's worker.

pub mod analytics;
pub mod drafts;
pub mod settings;
