//! Typed ids of the ticket domain: a function that takes a ticket and a message cannot be
//! handed them the wrong way round. Each is a UUID v7 underneath and serialises as one.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh id, ordered by creation time (UUID v7).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Uuid::from_str(value).map(Self)
            }
        }
    };
}

typed_id!(
    /// A ticket.
    TicketId
);
typed_id!(
    /// A message of a ticket's thread.
    MessageId
);
typed_id!(
    /// A reply draft.
    DraftId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_uuid_on_the_wire() {
        let id = TicketId::generate();
        assert_eq!(serde_json::to_value(id).ok(), Some(serde_json::json!(id.0.to_string())));
        assert_eq!(id.to_string().parse::<TicketId>().ok(), Some(id));
        assert!(MessageId::generate() > MessageId(Uuid::nil()));
    }
}
