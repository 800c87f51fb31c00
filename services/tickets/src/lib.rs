//! Tickets and their message threads, and the customers who open them.
//!
//! Architecture invariant: this crate knows no HTTP and no channel (e-mail, webhooks);
//! it stores conversations and enforces their rules (status transitions, assignees of
//! the same tenant, idempotent creation).

mod customers;
pub mod draft_analytics;
pub mod draft_settings;
pub mod drafts;
pub mod intents;
mod messages;
mod tickets;
pub mod triage;

pub use customers::Customer;
pub use messages::{Message, NewMessage, add_message, list_messages};
pub use tickets::{CreatedTicket, NewTicket, Ticket, TicketFilter, TicketPatch, create, get, list, update};
