//! Domain vocabulary shared by every capability: tenant and principal types, roles,
//! ticket enums, validated values, pagination cursors, settings and the one error type.
//!
//! Architecture invariant: this crate performs no IO and knows no framework
//! (no database, no HTTP); capabilities depend on it, never the reverse. Its optional
//! `db` feature, which the entities enable, only maps the closed vocabularies to text
//! columns (sea-orm's value traits).

/// Declares a closed set of values stored and exchanged by a snake_case name: `as_str`,
/// `FromStr` (an unknown name is a validation error listing the allowed ones), `Display`,
/// serde as the name, and with the `db` feature a text column holding the name.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $code:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "db", derive(sea_orm::DeriveValueType), sea_orm(value_type = "String"))]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

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
            type Err = $crate::Error;

            fn from_str(value: &str) -> Result<Self, $crate::Error> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::Error::validation(
                        $code,
                        format!(concat!("unknown ", stringify!($name), " `{}`; expected one of: {}"), other,
                            [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod breaker;
pub mod error;
pub mod ids;
pub mod model;
pub mod net;
pub mod page;
pub mod period;
pub mod retry;
pub mod settings;
pub mod sla;
pub mod tenant;
pub mod values;

pub use error::{Error, Result};
pub use tenant::{Actor, ActorKind, Principal, Role, TenantId};

/// The current time at the precision every database stores (microseconds), so a value
/// returned at creation equals the value read back later.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
