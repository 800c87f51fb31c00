//! Authentication of tenant endpoints (a bearer credential, or the console's session cookie
//! with its anti-forgery token) and the platform token for operator endpoints.

use copilot_core::Principal;
use poem::{
    Request, RequestBody,
    http::{Method, header},
    web::cookie::{Cookie, CookieJar, SameSite},
};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme,
    auth::{ApiKey, Bearer},
    registry::Registry,
};

use crate::{AppState, error::ApiError};

/// The cookie that carries the console's session token (HttpOnly: no script can read it).
pub const SESSION_COOKIE: &str = "copilot_session";
/// The cookie that carries the session's anti-forgery token, readable by the console's
/// script so that it can echo it in [`CSRF_HEADER`].
pub const CSRF_COOKIE: &str = "copilot_csrf";
/// The header every cookie-authenticated request that changes something must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller of a tenant endpoint: an API key (`cpk_…`) or a session token (`cps_…`) as
/// `Authorization: Bearer`, or the session cookie set by `POST /v1/auth/login`. A request
/// with an `Authorization` header is judged by it alone.
pub struct TenantAuth(pub Authenticated);

/// The authenticated caller and the credential it used.
#[derive(Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub credential: String,
}

/// An API key (`cpk_…`) or a session token from `POST /v1/auth/login` (`cps_…`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_bearer")]
struct BearerCredential(Authenticated);

/// The session cookie set by `POST /v1/auth/login` (HttpOnly, SameSite=Strict). Requests
/// other than GET and HEAD must also send `X-CSRF-Token` with the value of the
/// `copilot_csrf` cookie.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "copilot_session", key_in = "cookie", checker = "check_session_cookie")]
struct SessionCookie(Authenticated);

async fn check_bearer(request: &Request, bearer: Bearer) -> poem::Result<Authenticated> {
    authenticate(request, bearer.token).await
}

async fn check_session_cookie(request: &Request, cookie: ApiKey) -> poem::Result<Authenticated> {
    let token = cookie.key;
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let expected = copilot_tenancy::auth::session_csrf_token(&token);
        let sent = request.headers().get(CSRF_HEADER).map(|value| value.as_bytes()).unwrap_or_default();
        if !constant_time_eq(expected.as_bytes(), sent) {
            return Err(ApiError::forbidden(
                "csrf_failed",
                "a request signed in by the session cookie must send the X-CSRF-Token header \
                 with the value of the copilot_csrf cookie",
            )
            .into());
        }
    }
    authenticate(request, token).await
}

async fn authenticate(request: &Request, credential: String) -> poem::Result<Authenticated> {
    let state = request.data::<AppState>().ok_or_else(|| ApiError::unauthorized("no application state"))?;
    let principal =
        copilot_tenancy::auth::authenticate(&state.pipeline.db, credential.trim()).await.map_err(ApiError::from)?;
    Ok(Authenticated { principal, credential })
}

impl<'a> ApiExtractor<'a> for TenantAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        BearerCredential::register(registry);
        SessionCookie::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        [BearerCredential::security_schemes(), SessionCookie::security_schemes()].concat()
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        options: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        if request.headers().contains_key(header::AUTHORIZATION) {
            let BearerCredential(caller) = BearerCredential::from_request(request, body, options).await?;
            return Ok(Self(caller));
        }
        if request.cookie().get(SESSION_COOKIE).is_some() {
            let SessionCookie(caller) = SessionCookie::from_request(request, body, options).await?;
            return Ok(Self(caller));
        }
        Err(ApiError::unauthorized("a bearer credential or the session cookie is required").into())
    }
}

/// Sets the session and anti-forgery cookies for a new session. They are `Secure` when the
/// request came over HTTPS (directly or through a proxy that says so) or when the operator
/// asks for it.
pub fn set_session_cookies(request: &Request, token: &str, ttl: std::time::Duration, always_secure: bool) {
    let secure = always_secure || came_over_https(request);
    let jar = request.cookie();
    jar.add(cookie(SESSION_COOKIE, token, true, secure, Some(ttl)));
    jar.add(cookie(CSRF_COOKIE, &copilot_tenancy::auth::session_csrf_token(token), false, secure, Some(ttl)));
}

/// Tells the browser to forget both session cookies.
pub fn clear_session_cookies(jar: &CookieJar) {
    for (name, http_only) in [(SESSION_COOKIE, true), (CSRF_COOKIE, false)] {
        jar.add(cookie(name, "", http_only, false, None));
    }
}

fn cookie(name: &str, value: &str, http_only: bool, secure: bool, max_age: Option<std::time::Duration>) -> Cookie {
    let mut cookie = Cookie::new_with_str(name, value);
    cookie.set_path("/");
    cookie.set_http_only(http_only);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_secure(secure);
    match max_age {
        Some(max_age) => cookie.set_max_age(max_age),
        None => cookie.make_removal(),
    }
    cookie
}

fn came_over_https(request: &Request) -> bool {
    request.uri().scheme_str() == Some("https")
        || request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// The operator's platform token (`COPILOT_PLATFORM_TOKEN`); without one configured,
/// platform endpoints do not exist (404).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_platform_token")]
pub struct PlatformAuth(pub ());

async fn check_platform_token(request: &Request, bearer: Bearer) -> poem::Result<()> {
    let state = request.data::<AppState>().ok_or_else(|| ApiError::unauthorized("no application state"))?;
    let Some(expected) = state.pipeline.settings.platform_token() else {
        return Err(ApiError::not_found("route").into());
    };
    if constant_time_eq(expected.as_bytes(), bearer.token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("the platform token is wrong").into())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_only_for_identical_bytes() {
        assert!(constant_time_eq(b"secret-token", b"secret-token"));
        assert!(!constant_time_eq(b"secret-token", b"secret-tokeN"));
        assert!(!constant_time_eq(b"secret", b"secret-token"));
    }
}
