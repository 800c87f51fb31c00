//! Tickets and their message threads, and the customers who open them.
//!
//! Architecture invariant: this crate knows no HTTP and opens no connection to a mail
//! server or any other endpoint; it stores conversations, their e-mail threading and the
//! delivery outbox, and enforces their rules (status transitions, assignees of the same
//! tenant, idempotent creation, approval before anything AI-written is queued).

mod customers;
pub mod deliveries;
pub mod draft_analytics;
pub mod draft_settings;
pub mod drafts;
pub mod email;
pub mod email_settings;
pub mod inbound;
pub mod intents;
mod messages;
pub mod presence;
pub mod ticket_analytics;
mod tickets;
pub mod triage;

pub use customers::Customer;
pub use messages::{Message, NewMessage, add_message, list_messages};
pub use tickets::{
    BulkChange, CreatedTicket, MAX_BULK_TICKETS, NewTicket, Ticket, TicketFilter, TicketOrder, TicketPatch, count,
    create, get, list, update, update_many, views,
};
