//! Authentication: bearer credential to principal, login and logout.

use chrono::{DateTime, Duration, Utc};
use copilot_core::{
    Actor, Error, Principal, TenantId,
    values::{Email, Slug},
};
use copilot_entities::{api_key, login_address, session, user};
use copilot_store::{Db, Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    secrets::{API_KEY_PREFIX, SESSION_PREFIX, new_session_token, sha256_hex, verify_password},
    tenants,
    users::User,
};

const INVALID_CREDENTIAL: &str = "the credential is missing, invalid, expired or revoked";
const FAILED_LOGIN: &str = "auth.login_failed";

/// How logins are throttled and how long sessions last.
#[derive(Clone, Copy, Debug)]
pub struct LoginPolicy {
    pub session_ttl: Duration,
    pub max_failures: u32,
    pub window: Duration,
}

/// A started session: the token is shown once.
#[derive(Clone, Debug)]
pub struct LoginSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Resolves a bearer credential (API key or session token) to its principal.
///
/// Unknown, revoked and expired credentials and deactivated users are all `unauthorized`.
pub async fn authenticate(db: &Db, credential: &str) -> Result<Principal, Error> {
    let hash = sha256_hex(credential);
    if credential.starts_with(API_KEY_PREFIX) {
        let key = api_key::Entity::find()
            .filter(api_key::Column::KeyHash.eq(hash))
            .one(db.unscoped())
            .await
            .map_err(db_err)?
            .filter(|key| key.revoked_at.is_none())
            .ok_or(Error::Unauthorized(INVALID_CREDENTIAL))?;
        let mut role = key.role;
        // A key that acts for a user never has more rights than that user has now.
        if let Some(user_id) = key.user_id {
            let user = active_user(db, user_id).await?;
            role = role.lesser(user.role);
        }
        touch_key(db, &key).await?;
        Ok(Principal { tenant_id: TenantId(key.tenant_id), actor: Actor::ApiKey(key.id), role })
    } else if credential.starts_with(SESSION_PREFIX) {
        let session = session::Entity::find()
            .filter(session::Column::TokenHash.eq(hash))
            .filter(session::Column::ExpiresAt.gt(copilot_core::now()))
            .one(db.unscoped())
            .await
            .map_err(db_err)?
            .ok_or(Error::Unauthorized(INVALID_CREDENTIAL))?;
        let user = active_user(db, session.user_id).await?;
        Ok(Principal { tenant_id: TenantId(session.tenant_id), actor: Actor::User(user.id), role: user.role })
    } else {
        Err(Error::Unauthorized(INVALID_CREDENTIAL))
    }
}

async fn active_user(db: &Db, id: Uuid) -> Result<user::Model, Error> {
    user::Entity::find_by_id(id)
        .one(db.unscoped())
        .await
        .map_err(db_err)?
        .filter(|user| user.active)
        .ok_or(Error::Unauthorized(INVALID_CREDENTIAL))
}

/// Records when a key was last used, at most once a minute per key.
async fn touch_key(db: &Db, key: &api_key::Model) -> Result<(), Error> {
    let now = copilot_core::now();
    if key.last_used_at.is_some_and(|at| now - at < Duration::minutes(1)) {
        return Ok(());
    }
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, sea_orm::sea_query::Expr::value(now))
        .filter(api_key::Column::Id.eq(key.id))
        .exec(db.unscoped())
        .await
        .map_err(db_err)?;
    Ok(())
}

/// How long an address a person signed in from stays known.
const KNOWN_ADDRESS_DAYS: i64 = 90;

/// Logs a user in with tenant slug, e-mail and password, from client address `client`.
///
/// Every failure is the same `unauthorized`, and takes the same password-hashing time.
/// After `max_failures` failures for one account (e-mail) within the window, attempts are
/// refused with `rate_limited` until it passes, except from an address the person signed
/// in from in the last 90 days: there the right password still signs them in, so a guesser
/// elsewhere cannot lock them out. Each attempt is recorded as failed *before* the
/// password is checked, under a lock per account, so concurrent guesses all count; a
/// success then amends its record to `auth.login` and remembers the address (hashed).
/// The password is checked outside any transaction, so slow hashing holds no connection.
pub async fn login(
    db: &Db,
    policy: &LoginPolicy,
    slug: &str,
    email: &str,
    password: String,
    client: &str,
) -> Result<LoginSession, Error> {
    let invalid = Error::Unauthorized("wrong tenant, e-mail address or password");
    let tenant = match Slug::parse(&slug.trim().to_lowercase()) {
        Ok(slug) => tenants::find_by_slug(db, slug.as_str()).await?,
        Err(_) => None,
    };
    let (Some(tenant), Ok(email)) = (tenant, Email::parse(email)) else {
        verify_password(password, None).await?;
        return Err(invalid);
    };

    let tx = db.tenant(tenant.id).await?;
    tx.lock(&format!("login:{}", email.as_str())).await?;
    let user = user::Entity::scoped(tenant.id)
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&*tx)
        .await
        .map_err(db_err)?
        .filter(|user| user.active);
    let address_hash = sha256_hex(client);
    let failures = audit::count_since(&tx, FAILED_LOGIN, email.as_str(), copilot_core::now() - policy.window).await?;
    if failures >= u64::from(policy.max_failures) {
        let known = match &user {
            Some(user) => known_address(&tx, user.id, &address_hash).await?,
            None => false,
        };
        if !known {
            return Err(Error::RateLimited { retry_after_seconds: policy.window.num_seconds().max(1) as u64 });
        }
    }
    let target = match &user {
        Some(user) => audit::Target::new("user", user.id),
        None => audit::Target { kind: "user", id: None, label: None },
    };
    let attempt = audit::record_returning_id(
        &tx,
        Actor::Anonymous,
        FAILED_LOGIN,
        target.labelled(email.as_str()),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;

    let stored_hash = user.as_ref().and_then(|user| user.password_hash.clone());
    let verified = verify_password(password, stored_hash).await?;
    let Some(user) = user.filter(|_| verified) else {
        return Err(invalid);
    };

    let tx = db.tenant(tenant.id).await?;
    audit::amend(&tx, attempt, Actor::User(user.id), "auth.login").await?;
    remember_address(&tx, user.id, &address_hash).await?;
    let session = start_session(&tx, user.id, policy.session_ttl).await?;
    tx.commit().await?;
    Ok(LoginSession { token: session.0, expires_at: session.1, user: User::from(user) })
}

/// Whether `user_id` signed in from the address with this hash in the last 90 days.
async fn known_address(tx: &TenantTx, user_id: Uuid, address_hash: &str) -> Result<bool, Error> {
    let since = copilot_core::now() - Duration::days(KNOWN_ADDRESS_DAYS);
    let found = login_address::Entity::scoped(tx.tenant())
        .filter(login_address::Column::UserId.eq(user_id))
        .filter(login_address::Column::AddressHash.eq(address_hash))
        .filter(login_address::Column::LastSeenAt.gt(since))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(found.is_some())
}

async fn remember_address(tx: &TenantTx, user_id: Uuid, address_hash: &str) -> Result<(), Error> {
    let now = copilot_core::now();
    let row = login_address::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        user_id: Set(user_id),
        address_hash: Set(address_hash.to_owned()),
        last_seen_at: Set(now),
    };
    login_address::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                login_address::Column::TenantId,
                login_address::Column::UserId,
                login_address::Column::AddressHash,
            ])
            .update_column(login_address::Column::LastSeenAt)
            .to_owned(),
        )
        .exec_without_returning(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn start_session(tx: &TenantTx, user_id: Uuid, ttl: Duration) -> Result<(String, DateTime<Utc>), Error> {
    let token = new_session_token();
    let now = copilot_core::now();
    let expires_at = now + ttl;
    let row = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        user_id: Set(user_id),
        token_hash: Set(sha256_hex(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
    };
    session::Entity::insert(row).exec_without_returning(&**tx).await.map_err(db_err)?;
    Ok((token, expires_at))
}

/// The stored hash of a session token; `None` for other credentials.
pub fn session_hash(credential: &str) -> Option<String> {
    credential.starts_with(SESSION_PREFIX).then(|| sha256_hex(credential))
}

/// The anti-forgery token of a session, derived from the session token: a page that cannot
/// read the session cannot compute it. The console echoes it on every request that changes
/// something when it signs in with the session cookie.
pub fn session_csrf_token(session_token: &str) -> String {
    sha256_hex(&format!("csrf\0{session_token}"))
}

/// Ends the session behind `credential`; API keys are revoked, not logged out.
pub async fn logout(db: &Db, principal: &Principal, credential: &str) -> Result<(), Error> {
    if !credential.starts_with(SESSION_PREFIX) {
        return Err(Error::unprocessable("not_a_session", "only session tokens can log out; revoke API keys instead"));
    }
    let tx = db.tenant(principal.tenant_id).await?;
    session::Entity::delete_many()
        .filter(session::Column::TenantId.eq(principal.tenant_id.0))
        .filter(session::Column::TokenHash.eq(sha256_hex(credential)))
        .exec(&*tx)
        .await
        .map_err(db_err)?;
    audit::record(
        &tx,
        principal.actor,
        "auth.logout",
        audit::Target { kind: "session", id: None, label: None },
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await
}

/// The signed-in user for a session principal; `None` for API keys without a user.
pub async fn me(tx: &TenantTx, principal: &Principal) -> Result<Option<User>, Error> {
    let user_id = match principal.actor {
        Actor::User(id) => Some(id),
        Actor::ApiKey(id) => api_key::Entity::scoped(tx.tenant())
            .filter(api_key::Column::Id.eq(id))
            .one(&**tx)
            .await
            .map_err(db_err)?
            .and_then(|key| key.user_id),
        Actor::Platform | Actor::Anonymous | Actor::InboundEmail | Actor::Service => None,
    };
    match user_id {
        Some(id) => crate::users::get(tx, id).await.map(Some),
        None => Ok(None),
    }
}

/// Deletes expired sessions (housekeeping across tenants).
pub async fn purge_expired_sessions(db: &Db) -> Result<u64, Error> {
    let result = session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lte(copilot_core::now()))
        .exec(db.unscoped())
        .await
        .map_err(db_err)?;
    Ok(result.rows_affected)
}
