//! People of the tenant: add, list, change role, deactivate.

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use uuid::Uuid;

use super::{Tag, page};
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{Page, Role, UserOut},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct UsersApi {
    pub state: AppState,
}

#[derive(Debug, Object)]
pub struct UserIn {
    pub email: String,
    pub name: Option<String>,
    /// `owner`, `admin` or `agent`.
    pub role: Role,
    /// 10 to 256 characters.
    pub password: String,
}

#[derive(Debug, Object)]
pub struct UserPatch {
    /// `null` clears the name.
    pub name: MaybeUndefined<String>,
    pub role: Option<Role>,
    /// `false` deactivates the user: their sessions end and their keys stop working.
    pub active: Option<bool>,
    /// A new password (the user themself or an admin).
    pub password: Option<String>,
    /// The current password: required when people set their own (their other sessions end).
    pub current_password: Option<String>,
}

/// Someone a ticket can be assigned to.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AssigneeOut {
    pub id: Uuid,
    pub name: Option<String>,
    pub email: String,
    pub role: Role,
}

#[derive(ApiResponse)]
pub enum UserCreated {
    #[oai(status = 201)]
    Created(Json<UserOut>),
}

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// Add a user (admins; only owners add owners).
    #[oai(path = "/users", method = "post", operation_id = "users.create")]
    async fn create(&self, auth: TenantAuth, body: JsonBody<UserIn>) -> ApiResult<UserCreated> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let request = copilot_tenancy::users::NewUser {
            email: body.0.email,
            name: body.0.name,
            role: body.0.role.into(),
            password: body.0.password,
        };
        let user = copilot_tenancy::users::create(&tx, &principal, request).await?;
        tx.commit().await?;
        Ok(UserCreated::Created(Json(user.into())))
    }

    /// List users, newest first (admins).
    #[oai(path = "/users", method = "get", operation_id = "users.list")]
    async fn list(
        &self,
        auth: TenantAuth,
        /// 1 to 100; 25 when absent.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<UserOut>>> {
        let principal = auth.0.principal;
        let page = page(limit.0, cursor.0)?;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let users = copilot_tenancy::users::list(&tx, &principal, page).await?;
        Ok(Json(Page::from_domain(users, UserOut::from)))
    }

    /// The active people tickets can be assigned to, by name (any member of the tenant).
    #[oai(path = "/assignees", method = "get", operation_id = "users.assignees")]
    async fn assignees(&self, auth: TenantAuth) -> ApiResult<Json<Vec<AssigneeOut>>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let people = copilot_tenancy::users::assignees(&tx).await?;
        Ok(Json(
            people
                .into_iter()
                .map(|user| AssigneeOut { id: user.id, name: user.name, email: user.email, role: user.role.into() })
                .collect(),
        ))
    }

    /// One user (admins, or the user themself).
    #[oai(path = "/users/:id", method = "get", operation_id = "users.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<UserOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let user = copilot_tenancy::users::get(&tx, id.0).await?;
        if principal.actor.user_id() != Some(user.id) {
            principal.require_admin()?;
        }
        Ok(Json(user.into()))
    }

    /// Change a user's name, role, active flag or password.
    #[oai(path = "/users/:id", method = "patch", operation_id = "users.update")]
    async fn update(&self, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<UserPatch>) -> ApiResult<Json<UserOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let patch = copilot_tenancy::users::UserPatch {
            name: match body.0.name {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(name) => Some(Some(name)),
            },
            role: body.0.role.map(Into::into),
            active: body.0.active,
            password: body.0.password,
            current_password: body.0.current_password,
        };
        let session = copilot_tenancy::auth::session_hash(&auth.0.credential);
        let user = copilot_tenancy::users::update(&tx, &principal, id.0, patch, session.as_deref()).await?;
        tx.commit().await?;
        Ok(Json(user.into()))
    }
}
