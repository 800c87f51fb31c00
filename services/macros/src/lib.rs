//! Macros: canned replies with placeholders and the ticket changes that go with them,
//! personal or shared, and the tenant's own placeholders. A macro's text is checked when it
//! is saved (every placeholder known) and rendered for one ticket by the application layer,
//! which also applies its changes; nothing here sends or changes a ticket.

pub mod macros;
pub mod placeholders;
pub mod template;

pub use macros::{Actions, Assignee, Macro, MacroIn};
