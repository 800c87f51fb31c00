//! Intents: the triage record of every customer message (its durable queue and what the
//! models said), the tenant's own taxonomy, the training jobs that turn it into a head,
//! agents' corrections, labelling jobs (messages labelled by the tenant's LLM) and the
//! model versions trained from all of them, with the gate that decides which one serves.
//!
//! Architecture invariant: this crate knows no other capability and runs no model; the
//! triage models (copilot-triage) are run by the application layer's worker, which
//! stores their answers here.

pub mod discovery;
pub mod labelling;
mod queued;
pub mod review;
pub mod taxonomy;
pub mod triage;
pub mod versions;
