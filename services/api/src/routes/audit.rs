//! The tenant's audit log.

use poem_openapi::{OpenApi, param::Query, payload::Json};
use uuid::Uuid;

use super::{Tag, page};
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{AuditEventOut, Page},
    error::ApiResult,
};

pub struct AuditApi {
    pub state: AppState,
}

#[OpenApi(tag = "Tag::Audit")]
impl AuditApi {
    /// List audit events, newest first (admins).
    #[oai(path = "/audit-events", method = "get", operation_id = "audit_events.list")]
    async fn list(
        &self,
        auth: TenantAuth,
        /// Only this action, e.g. `auth.login`.
        action: Query<Option<String>>,
        actor_id: Query<Option<Uuid>>,
        target_id: Query<Option<Uuid>>,
        /// 1 to 100; 25 when absent.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<AuditEventOut>>> {
        let principal = auth.0.principal;
        principal.require_admin()?;
        let page = page(limit.0, cursor.0)?;
        let filter = copilot_store::audit::Filter { action: action.0, actor_id: actor_id.0, target_id: target_id.0 };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let events = copilot_store::audit::list(&tx, &filter, page).await?;
        Ok(Json(Page::from_domain(events, AuditEventOut::from)))
    }
}
