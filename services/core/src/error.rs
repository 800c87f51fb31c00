//! The error every capability returns: a stable machine `code` plus a human sentence.

use std::fmt;

/// A failed use case. Each variant maps to exactly one HTTP status in the API crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The resource does not exist for this tenant (another tenant's resource included).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input is malformed or out of range.
    #[error("{detail}")]
    Validation { code: &'static str, detail: String },
    /// The input is well-formed but cannot be applied in the current state.
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    /// A uniqueness rule or a concurrent change conflicts with the request.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// The content is larger than allowed.
    #[error("{detail}")]
    TooLarge { code: &'static str, detail: String },
    /// The content's type is not one this operation reads.
    #[error("{detail}")]
    UnsupportedMediaType { code: &'static str, detail: String },
    /// Missing, wrong, expired or revoked credential.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The caller is known but its role does not allow this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Too many attempts; the caller may retry after the given number of seconds.
    #[error("too many attempts, retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// A dependency the request needs (the database) cannot be reached now; the caller
    /// may retry after the given number of seconds. Nothing was changed.
    #[error("{detail}")]
    Unavailable { detail: String, retry_after_seconds: u64 },
    /// Anything unexpected (database down, bug). Logged with its chain, shown generically.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(code: &'static str, detail: impl fmt::Display) -> Self {
        Self::Validation { code, detail: detail.to_string() }
    }

    pub fn unprocessable(code: &'static str, detail: impl fmt::Display) -> Self {
        Self::Unprocessable { code, detail: detail.to_string() }
    }

    pub fn conflict(code: &'static str, detail: impl fmt::Display) -> Self {
        Self::Conflict { code, detail: detail.to_string() }
    }

    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(error.into())
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::Validation { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::Conflict { code, .. }
            | Self::TooLarge { code, .. }
            | Self::UnsupportedMediaType { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_per_variant() {
        assert_eq!(Error::NotFound("ticket").code(), "not_found");
        assert_eq!(Error::validation("invalid_email", "bad").code(), "invalid_email");
        assert_eq!(Error::Forbidden("no").code(), "forbidden");
        assert_eq!(Error::internal("boom").code(), "internal_error");
    }

    #[test]
    fn not_found_names_the_resource() {
        assert_eq!(Error::NotFound("ticket").to_string(), "ticket not found");
    }
}
