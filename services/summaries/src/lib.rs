//! Ticket summaries: one per ticket, kept current for agents. A new message marks the
//! ticket's summary pending; one worker at a time recomputes it (the application layer
//! writes it, with the tenant's LLM or extractively); a message that arrives meanwhile
//! makes it pending again, so the latest one is always summarised next.
//!
//! Architecture invariant: this crate stores summaries and their queue; it reads no other
//! capability's tables and calls no model. What goes into a summary is the caller's.

pub mod summaries;

pub use summaries::{Claimed, NewSummary, QUEUE, Summary, SummaryState};
