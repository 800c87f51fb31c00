//! The e-mail channel's records: mail received (kept raw, threaded onto tickets or set
//! aside with a reason), the tenant's e-mail settings and verified senders, and the
//! outbox of agent replies with its delivery states.
//!
//! Architecture invariant: this crate opens no connection to a mail server (the
//! application layer's sender does, through copilot-channels) and writes conversations
//! only through copilot-conversations; what a message taken in causes elsewhere is
//! returned for the application layer to apply. A reply is queued in the transaction
//! that stores it and is never sent twice by itself.

pub mod deliveries;
pub mod email;
pub mod settings;
