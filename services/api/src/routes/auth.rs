//! Login, logout and the current identity.

use chrono::{DateTime, Utc};
use poem_openapi::{Object, OpenApi, payload::Json};

use super::Tag;
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{Role, TenantOut, UserOut},
    error::ApiResult,
    json_body::JsonBody,
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

#[derive(Debug, Object)]
pub struct MePatch {
    /// ISO 639-1 code of the language you read and write; null or blank: none.
    pub language: Option<String>,
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Sign in with tenant slug, e-mail and password; returns a session token.
    ///
    /// The response also sets the console's cookies: `copilot_session` (the token;
    /// HttpOnly, SameSite=Strict) and `copilot_csrf` (its anti-forgery token, which a
    /// cookie-authenticated request other than GET must send as `X-CSRF-Token`).
    ///
    /// Repeated failures for one account are refused with `rate_limited` for a while,
    /// except from an address the person signed in from before; so are repeated failures
    /// from one client address across accounts.
    #[oai(path = "/auth/login", method = "post", operation_id = "auth.login")]
    async fn login(&self, body: JsonBody<LoginIn>, http: &poem::Request) -> ApiResult<Json<LoginOut>> {
        let settings = &self.state.pipeline.settings;
        let client = crate::throttle::client_address(http, &settings.client_address_header);
        let throttle = &self.state.sign_in_throttle;
        throttle
            .check(&client)
            .map_err(|retry_after_seconds| copilot_core::Error::RateLimited { retry_after_seconds })?;
        let policy = copilot_tenancy::auth::LoginPolicy {
            session_ttl: chrono::Duration::hours(i64::from(settings.session_ttl_hours)),
            max_failures: settings.login_max_failures,
            window: chrono::Duration::seconds(i64::from(settings.login_window_seconds)),
        };
        let body = body.0;
        let session = copilot_tenancy::auth::login(
            &self.state.pipeline.db,
            &policy,
            &body.tenant,
            &body.email,
            body.password,
            &client,
        )
        .await
        .inspect_err(|error| {
            if matches!(error, copilot_core::Error::Unauthorized(_)) {
                throttle.failed(&client);
            }
        })?;
        let ttl = (session.expires_at - chrono::Utc::now()).to_std().unwrap_or_default();
        crate::auth::set_session_cookies(http, &session.token, ttl, settings.session_cookie_secure);
        Ok(Json(LoginOut { token: session.token, expires_at: session.expires_at, user: session.user.into() }))
    }

    /// End the current session (and clear the console's session cookies).
    #[oai(path = "/auth/logout", method = "post", operation_id = "auth.logout")]
    async fn logout(&self, auth: TenantAuth, http: &poem::Request) -> ApiResult<()> {
        copilot_tenancy::auth::logout(&self.state.pipeline.db, &auth.0.principal, &auth.0.credential).await?;
        crate::auth::clear_session_cookies(http.cookie());
        Ok(())
    }

    /// Who the credential belongs to.
    #[oai(path = "/me", method = "get", operation_id = "auth.me")]
    async fn me(&self, auth: TenantAuth) -> ApiResult<Json<MeOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
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

    /// Set the language you read and write (signed-in people only).
    #[oai(path = "/me", method = "patch", operation_id = "auth.me.update")]
    async fn update_me(&self, auth: TenantAuth, body: JsonBody<MePatch>) -> ApiResult<Json<UserOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let user = copilot_tenancy::users::set_language(&tx, &principal, body.0.language.as_deref()).await?;
        tx.commit().await?;
        Ok(Json(user.into()))
    }
}
