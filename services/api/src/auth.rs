//! Bearer authentication for tenant endpoints and the platform token for operator endpoints.

use copilot_core::Principal;
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

use crate::{AppState, error::ApiError};

/// An API key (`cpk_…`) or a session token from `POST /v1/auth/login` (`cps_…`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_credential")]
pub struct TenantAuth(pub Authenticated);

/// The authenticated caller and the credential it used.
#[derive(Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub credential: String,
}

async fn check_credential(request: &Request, bearer: Bearer) -> poem::Result<Authenticated> {
    let state = request.data::<AppState>().ok_or_else(|| ApiError::unauthorized("no application state"))?;
    let principal =
        copilot_tenancy::auth::authenticate(&state.db, bearer.token.trim()).await.map_err(ApiError::from)?;
    Ok(Authenticated { principal, credential: bearer.token })
}

/// The operator's platform token (`COPILOT_PLATFORM_TOKEN`); without one configured,
/// platform endpoints do not exist (404).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_platform_token")]
pub struct PlatformAuth(pub ());

async fn check_platform_token(request: &Request, bearer: Bearer) -> poem::Result<()> {
    let state = request.data::<AppState>().ok_or_else(|| ApiError::unauthorized("no application state"))?;
    let Some(expected) = state.settings.platform_token() else {
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
