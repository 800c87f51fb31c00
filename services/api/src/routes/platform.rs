//! Operator endpoints: creating tenants.

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::Tag;
use crate::{
    AppState,
    auth::PlatformAuth,
    dto::{TenantOut, UserOut},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct PlatformApi {
    pub state: AppState,
}

#[derive(Debug, Object)]
pub struct TenantIn {
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// URL-safe handle used at login; derived from the name when absent.
    pub slug: Option<String>,
    pub owner_email: String,
    /// Lets the owner sign in to the console; without it the owner uses the API key.
    pub owner_password: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantCreatedOut {
    pub tenant: TenantOut,
    pub owner: UserOut,
    /// The owner's API key. Shown only in this response.
    pub api_key: String,
}

#[derive(ApiResponse)]
pub enum TenantCreated {
    #[oai(status = 201)]
    Created(Json<TenantCreatedOut>),
}

#[OpenApi(tag = "Tag::Platform")]
impl PlatformApi {
    /// Create a tenant with its owner and an owner API key.
    #[oai(path = "/platform/tenants", method = "post", operation_id = "platform.tenants.create")]
    async fn create_tenant(&self, _auth: PlatformAuth, body: JsonBody<TenantIn>) -> ApiResult<TenantCreated> {
        let request = copilot_tenancy::tenants::NewTenant {
            name: body.0.name,
            slug: body.0.slug,
            owner_email: body.0.owner_email,
            owner_password: body.0.owner_password,
        };
        let created = copilot_tenancy::tenants::create(&self.state.pipeline.db, request).await?;
        Ok(TenantCreated::Created(Json(TenantCreatedOut {
            tenant: created.tenant.into(),
            owner: created.owner.into(),
            api_key: created.api_key,
        })))
    }
}
