//! API keys: create (shown once), list, revoke.

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{Tag, page};
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{ApiKeyOut, Page, Role},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct ApiKeysApi {
    pub state: AppState,
}

#[derive(Debug, Object)]
pub struct ApiKeyIn {
    pub name: String,
    /// `admin`, `agent` or `integration`.
    pub role: Role,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ApiKeyCreatedOut {
    pub id: Uuid,
    /// The key. Shown only in this response.
    pub key: String,
    pub api_key: ApiKeyOut,
}

#[derive(ApiResponse)]
pub enum ApiKeyCreated {
    #[oai(status = 201)]
    Created(Json<ApiKeyCreatedOut>),
}

#[derive(ApiResponse)]
pub enum Revoked {
    /// Revoked (or already revoked).
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "Tag::ApiKeys")]
impl ApiKeysApi {
    /// Create an API key (admins).
    #[oai(path = "/api-keys", method = "post", operation_id = "api_keys.create")]
    async fn create(&self, auth: TenantAuth, body: JsonBody<ApiKeyIn>) -> ApiResult<ApiKeyCreated> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let (key, record) =
            copilot_tenancy::api_keys::create(&tx, &principal, &body.0.name, body.0.role.into()).await?;
        tx.commit().await?;
        Ok(ApiKeyCreated::Created(Json(ApiKeyCreatedOut { id: record.id, key, api_key: record.into() })))
    }

    /// List API keys, newest first (admins).
    #[oai(path = "/api-keys", method = "get", operation_id = "api_keys.list")]
    async fn list(
        &self,
        auth: TenantAuth,
        /// 1 to 100; 25 when absent.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<ApiKeyOut>>> {
        let principal = auth.0.principal;
        let page = page(limit.0, cursor.0)?;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let keys = copilot_tenancy::api_keys::list(&tx, &principal, page).await?;
        Ok(Json(Page::from_domain(keys, ApiKeyOut::from)))
    }

    /// Revoke an API key; it stops working at once (admins).
    #[oai(path = "/api-keys/:id", method = "delete", operation_id = "api_keys.revoke")]
    async fn revoke(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Revoked> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        copilot_tenancy::api_keys::revoke(&tx, &principal, id.0).await?;
        tx.commit().await?;
        Ok(Revoked::NoContent)
    }
}
