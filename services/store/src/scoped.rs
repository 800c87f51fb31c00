//! Tenant-scoped finders: `Entity::scoped(tenant)` is how tenant-owned rows are read.

use copilot_core::TenantId;
use copilot_entities as e;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

/// An entity whose rows belong to one tenant.
pub trait Scoped: EntityTrait {
    /// The column holding the owning tenant's id.
    fn tenant_column() -> Self::Column;

    /// `SELECT … WHERE tenant_id = $tenant`: the start of every tenant query.
    fn scoped(tenant: TenantId) -> Select<Self> {
        Self::find().filter(Self::tenant_column().eq(tenant.0))
    }
}

macro_rules! scoped {
    ($($module:ident),+) => {
        $(impl Scoped for e::$module::Entity {
            fn tenant_column() -> Self::Column {
                e::$module::Column::TenantId
            }
        })+
    };
}

scoped!(
    analytics_card,
    business_hours,
    sla_policy,
    ticket_sla,
    saved_view,
    csat_setting,
    csat_survey,
    ticket_field,
    ticket_field_value,
    reply_macro,
    macro_placeholder,
    user,
    api_key,
    session,
    customer,
    ticket,
    ticket_tag,
    ticket_presence,
    ticket_summary,
    message,
    message_triage,
    message_translation,
    message_label,
    labelling_job,
    translation_job,
    audit_event,
    idempotency_key,
    intent,
    intent_model,
    intent_discovery,
    intent_proposal,
    knowledge_document,
    knowledge_document_tag,
    knowledge_document_version,
    draft,
    draft_settings,
    llm_usage,
    llm_profile,
    llm_route,
    llm_health,
    llm_call,
    login_address,
    sender_verification,
    email_settings,
    email_message,
    email_attachment,
    delivery,
    webhook_endpoint,
    event,
    webhook_delivery
);

impl Scoped for e::tenant::Entity {
    fn tenant_column() -> Self::Column {
        e::tenant::Column::Id
    }
}

/// Points the tenant's rows of `E` about `messages` at ticket `to`, after those messages
/// moved there (a merge or a split); returns how many rows changed.
pub async fn follow_messages<E: Scoped>(
    tx: &crate::TenantTx,
    ticket: E::Column,
    message: E::Column,
    messages: &[uuid::Uuid],
    to: uuid::Uuid,
) -> Result<u64, copilot_core::Error> {
    if messages.is_empty() {
        return Ok(0);
    }
    let result = E::update_many()
        .col_expr(ticket, sea_orm::sea_query::Expr::value(to))
        .filter(E::tenant_column().eq(tx.tenant().0))
        .filter(message.is_in(messages.iter().copied()))
        .exec(&**tx)
        .await
        .map_err(crate::db_err)?;
    Ok(result.rows_affected)
}
