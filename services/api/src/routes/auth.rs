//! Login, logout and the current identity.

use chrono::{DateTime, Utc};
use poem_openapi::{Object, OpenApi, payload::Json};

use super::Tag;
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{Role, TenantOut, UserOut},
    error::ApiResult,
};

pub struct AuthApi {
    pub state: AppState,
}

#[derive(Debug, Object)]
pub struct LoginIn {
    /// The tenant's slug.
    #[oai(validator(min_length = 1, max_length = 63))]
    pub tenant: String,
    #[oai(validator(min_length = 1, max_length = 254))]
    pub email: String,
    #[oai(validator(min_length = 1, max_length = 256))]
    pub password: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LoginOut {
    /// Session token; send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserOut,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MeOut {
    pub tenant: TenantOut,
    pub role: Role,
    /// The signed-in user; absent for API keys that act for no user.
    pub user: Option<UserOut>,
    /// The API key in use, when the credential is one.
    pub api_key_id: Option<uuid::Uuid>,
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Sign in with tenant slug, e-mail and password; returns a session token.
    ///
    /// Repeated failures for one address are refused with `rate_limited` for a while.
    #[oai(path = "/auth/login", method = "post", operation_id = "auth.login")]
    async fn login(&self, body: Json<LoginIn>) -> ApiResult<Json<LoginOut>> {
        let settings = &self.state.settings;
        let policy = copilot_tenancy::auth::LoginPolicy {
            session_ttl: chrono::Duration::hours(i64::from(settings.session_ttl_hours)),
            max_failures: settings.login_max_failures,
            window: chrono::Duration::seconds(i64::from(settings.login_window_seconds)),
        };
        let session =
            copilot_tenancy::auth::login(&self.state.db, &policy, &body.0.tenant, &body.0.email, body.0.password)
                .await?;
        Ok(Json(LoginOut { token: session.token, expires_at: session.expires_at, user: session.user.into() }))
    }

    /// End the current session.
    #[oai(path = "/auth/logout", method = "post", operation_id = "auth.logout")]
    async fn logout(&self, auth: TenantAuth) -> ApiResult<()> {
        copilot_tenancy::auth::logout(&self.state.db, &auth.0.principal, &auth.0.credential).await?;
        Ok(())
    }

    /// Who the credential belongs to.
    #[oai(path = "/me", method = "get", operation_id = "auth.me")]
    async fn me(&self, auth: TenantAuth) -> ApiResult<Json<MeOut>> {
        let principal = auth.0.principal;
        let tx = self.state.db.tenant(principal.tenant_id).await?;
        let tenant = copilot_tenancy::tenants::get(&tx).await?;
        let user = copilot_tenancy::auth::me(&tx, &principal).await?;
        Ok(Json(MeOut {
            tenant: tenant.into(),
            role: principal.role.into(),
            user: user.map(UserOut::from),
            api_key_id: match principal.actor {
                copilot_core::Actor::ApiKey(id) => Some(id),
                _ => None,
            },
        }))
    }
}
