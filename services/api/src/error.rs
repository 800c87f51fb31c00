//! The one error response of the API: JSON `{code, detail}` with a stable code.
//! Domain errors and framework errors (parse, auth, routing, size) all end up here.

use copilot_core::Error;
use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{ApiResponse, Object, payload::Json};

/// Body of every 4xx and 5xx response.
#[derive(Clone, Debug, Object, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `validation_failed`.
    pub code: String,
    /// A sentence for humans; may change between versions.
    pub detail: String,
}

/// Every error an operation can return, by status.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is malformed or a value is out of range.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Missing, invalid, expired or revoked credential.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The credential's role does not allow this.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such resource for this tenant.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Conflicts with an existing resource.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The request body is larger than allowed.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body's `Content-Type` (or an uploaded file's type) is not one the operation reads.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Well-formed, but cannot be applied.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many attempts; retry after the given seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// Something failed on our side; details are in the server log.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// A dependency (the database) cannot be reached now; nothing was changed. Retry
    /// after the given seconds.
    #[oai(status = 503)]
    ServiceUnavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
}

fn body(code: &str, detail: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody { code: code.to_owned(), detail: detail.into() })
}

pub const INTERNAL_DETAIL: &str = "an internal error occurred; it has been logged";

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(body("not_found", format!("{what} not found")))
    }

    pub fn unauthorized(detail: &str) -> Self {
        Self::Unauthorized(body("unauthorized", detail))
    }

    pub fn forbidden(code: &str, detail: impl Into<String>) -> Self {
        Self::Forbidden(body(code, detail))
    }

    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::BadRequest(body(code, detail))
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let code = error.code();
        match error {
            Error::NotFound(_) => Self::NotFound(body(code, error.to_string())),
            Error::Validation { detail, .. } => Self::BadRequest(body(code, detail)),
            Error::Unprocessable { detail, .. } => Self::Unprocessable(body(code, detail)),
            Error::Conflict { detail, .. } => Self::Conflict(body(code, detail)),
            Error::TooLarge { detail, .. } => Self::PayloadTooLarge(body(code, detail)),
            Error::UnsupportedMediaType { detail, .. } => Self::UnsupportedMediaType(body(code, detail)),
            Error::Unauthorized(detail) => Self::Unauthorized(body(code, detail)),
            Error::Forbidden(detail) => Self::Forbidden(body(code, detail)),
            Error::RateLimited { retry_after_seconds } => {
                Self::TooManyRequests(body(code, error.to_string()), retry_after_seconds)
            }
            Error::Unavailable { detail, retry_after_seconds } => {
                Self::ServiceUnavailable(body(code, detail), retry_after_seconds)
            }
            Error::Internal(source) => {
                tracing::error!(error = %source, chain = ?source, "internal error");
                Self::Internal(body(code, INTERNAL_DETAIL))
            }
        }
    }
}

/// Result of an operation.
pub type ApiResult<T> = Result<T, ApiError>;

/// Turns any error that escaped an endpoint into the JSON error body.
///
/// Errors built from our own [`ApiError`] pass through; framework errors (bad JSON,
/// bad parameters, missing auth, unknown route, oversized body) get a code by kind.
pub fn render(error: poem::Error) -> Response {
    if error.is_from_response() {
        return error.into_response();
    }
    let status = error.status();
    let (code, detail) = if error.is::<poem_openapi::error::ParseRequestPayloadError>()
        || error.is::<poem_openapi::error::ParseMultipartError>()
    {
        ("invalid_body", error.to_string())
    } else if error.is::<poem_openapi::error::ParseParamError>() || error.is::<poem_openapi::error::ParsePathError>() {
        ("invalid_parameter", error.to_string())
    } else if error.is::<poem_openapi::error::AuthorizationError>() {
        ("unauthorized", "a bearer credential is required".to_owned())
    } else if error.is::<poem_openapi::error::ContentTypeError>() {
        ("unsupported_media_type", error.to_string())
    } else {
        match status {
            StatusCode::NOT_FOUND => ("not_found", "no such route".to_owned()),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("method_not_allowed", "this route does not accept this method".to_owned())
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload_too_large", "the request body is larger than allowed".to_owned())
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", error.to_string()),
            status if status.is_server_error() => {
                tracing::error!(error = %error, "unhandled error");
                ("internal_error", INTERNAL_DETAIL.to_owned())
            }
            _ => ("bad_request", error.to_string()),
        }
    };
    let status = if code == "unauthorized" { StatusCode::UNAUTHORIZED } else { status };
    let mut response = poem::web::Json(ErrorBody { code: code.to_owned(), detail }).into_response();
    response.set_status(status);
    response
}
