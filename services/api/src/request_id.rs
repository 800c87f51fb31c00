//! Request ids: `X-Request-Id` is taken from the caller when it is a sane token, made
//! otherwise, returned on the response (errors included) and carried by a tracing span, so
//! every log line of the request names it.

use poem::{Endpoint, IntoResponse, Request, Response, http::HeaderValue};
use tracing::Instrument;
use uuid::Uuid;

pub const HEADER: &str = "x-request-id";

/// The longest request id taken from a caller.
const MAX_LEN: usize = 128;

/// The caller's id when it is 1 to 128 letters, digits, `-`, `_`, `.` or `:`; else a new one.
pub fn accept_or_make(given: Option<&str>) -> String {
    match given.map(str::trim) {
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_LEN
                && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')) =>
        {
            id.to_owned()
        }
        _ => Uuid::now_v7().simple().to_string(),
    }
}

/// Runs the request inside a span that carries its id, and returns the id on the response.
pub async fn around<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let id = accept_or_make(request.header(HEADER));
    // One line per API call; probes, metrics and the console's files only at debug.
    let api_call = request.uri().path().starts_with("/v1/");
    let span =
        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let started = std::time::Instant::now();
    let served = copilot_store::request::scope(id.clone(), next.call(request));
    let mut response = match served.instrument(span.clone()).await {
        Ok(response) => response.into_response(),
        Err(error) => crate::error::render(error),
    };
    span.in_scope(|| {
        let (status, ms) = (response.status().as_u16(), started.elapsed().as_millis() as u64);
        if api_call {
            tracing::info!(status, ms, "answered");
        } else {
            tracing::debug!(status, ms, "answered");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_id_is_kept_and_anything_else_replaced() {
        assert_eq!(accept_or_make(Some("req-42_a.b:c")), "req-42_a.b:c");
        for bad in [None, Some(""), Some("two words"), Some("ünïcode"), Some("x\r\nSet-Cookie: a=b")] {
            let made = accept_or_make(bad);
            assert_eq!(made.len(), 32, "{bad:?} → {made}");
            assert!(made.chars().all(|c| c.is_ascii_hexdigit()));
        }
        assert_eq!(accept_or_make(Some(&"a".repeat(MAX_LEN))).len(), MAX_LEN);
        assert_eq!(accept_or_make(Some(&"a".repeat(MAX_LEN + 1))).len(), 32);
    }
}
