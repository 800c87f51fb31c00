//! Conversations: tickets, the customers who open them, their message threads and who
//! is on which ticket.
//!
//! Architecture invariant: this crate knows no other capability. It stores tickets and
//! messages and enforces their rules (status transitions, assignees of the same tenant,
//! numbering); what a new message causes elsewhere (triage, a draft, an e-mail delivery,
//! events about it) is returned as [`Posted`] for the application layer to apply in the
//! same transaction. It reads one column of another capability's table: whether a ticket
//! has a draft ready for review (the inbox's flag), by the shared `DraftStatus` name.

pub mod analytics;
mod customers;
pub mod fields;
mod messages;
pub mod presence;
pub mod regroup;
mod rows;
pub mod saved_views;
mod tickets;
pub mod translations;

pub use customers::Customer;
pub use messages::{
    MAX_BODY_CHARS, Message, NewMessage, Posted, add_message, body, find_in_ticket, keep_original, last_replier,
    list_messages, public_thread,
};
pub use rows::{find_row, find_row_for_update};
pub use tickets::{
    BulkChange, MAX_BULK_TICKETS, NewTicket, Opened, Ticket, TicketFilter, TicketOrder, TicketPatch, ValidTicket,
    count, get, list, open, set_sla, update, update_many, views,
};
