//! Closed vocabularies of the ticket domain, each with its stored name.

use crate::Error;

/// Declares a closed set of values stored and exchanged by a snake_case name.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $code:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;

            fn from_str(value: &str) -> Result<Self, Error> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err(Error::validation(
                        $code,
                        format!(concat!("unknown ", stringify!($name), " `{}`; expected one of: {}"), other,
                            [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

named_enum!(
    /// Where a ticket stands in its life.
    TicketStatus, "invalid_status" {
        New => "new",
        Open => "open",
        Pending => "pending",
        Solved => "solved",
        Closed => "closed",
    }
);

named_enum!(
    /// How urgent a ticket is.
    Priority, "invalid_priority" {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

named_enum!(
    /// Where a ticket came from and where replies go.
    Channel, "invalid_channel" {
        Email => "email",
        Web => "web",
        Api => "api",
        Chat => "chat",
    }
);

named_enum!(
    /// Who wrote a message: the customer, an agent (public reply) or an agent's internal note.
    Author, "invalid_author" {
        Customer => "customer",
        Agent => "agent",
        Note => "note",
    }
);

named_enum!(
    /// Where a reply draft stands: being written, ready for review, failed, or decided.
    DraftStatus, "invalid_draft_status" {
        Generating => "generating",
        Ready => "ready",
        Failed => "failed",
        Approved => "approved",
        Rejected => "rejected",
        Superseded => "superseded",
    }
);

impl Priority {
    /// A number that sorts by urgency (low 0 … urgent 3): the inbox's priority order.
    pub fn rank(self) -> i16 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }
}

impl TicketStatus {
    /// Whether the ticket still needs the desk's work (not solved or closed).
    pub fn is_active(self) -> bool {
        !matches!(self, TicketStatus::Solved | TicketStatus::Closed)
    }

    /// The status after a message by `author` lands on a ticket in this status.
    ///
    /// A customer writing again reopens a pending or solved ticket; an agent's public
    /// reply takes a new ticket to open; internal notes never change the status.
    /// Closed tickets stay closed: the customer's next mail opens a new ticket.
    pub fn after_message(self, author: Author) -> TicketStatus {
        match (author, self) {
            (Author::Customer, TicketStatus::Pending | TicketStatus::Solved) => TicketStatus::Open,
            (Author::Agent, TicketStatus::New) => TicketStatus::Open,
            (_, status) => status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for status in TicketStatus::ALL {
            assert_eq!(status.as_str().parse::<TicketStatus>().ok(), Some(*status));
        }
    }

    #[test]
    fn unknown_priority_lists_the_allowed_values() {
        let error = "asap".parse::<Priority>().err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("unknown Priority `asap`; expected one of: low, normal, high, urgent"));
    }

    #[test]
    fn a_customer_reply_reopens_a_solved_ticket() {
        assert_eq!(TicketStatus::Solved.after_message(Author::Customer), TicketStatus::Open);
        assert_eq!(TicketStatus::Pending.after_message(Author::Customer), TicketStatus::Open);
    }

    #[test]
    fn notes_never_change_the_status() {
        for status in TicketStatus::ALL {
            assert_eq!(status.after_message(Author::Note), *status);
        }
    }

    #[test]
    fn closed_tickets_stay_closed() {
        assert_eq!(TicketStatus::Closed.after_message(Author::Customer), TicketStatus::Closed);
    }
}
