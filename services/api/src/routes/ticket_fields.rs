//! Custom ticket fields, defined by admins.

use chrono::{DateTime, Utc};
use copilot_conversations::fields::{self, Field, FieldIn};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::Tag;
use crate::{AppState, auth::TenantAuth, dto::FieldKindIo, error::ApiResult, json_body::JsonBody};

pub struct TicketFieldsApi {
    pub state: AppState,
}

/// A new field, or (PATCH) the parts to change; `key` and `kind` never change.
#[derive(Debug, Object)]
pub struct FieldBody {
    /// 1 to 40 lowercase letters, digits or `_`, from a letter; how tickets and filters name it.
    pub key: Option<String>,
    pub label: Option<String>,
    pub kind: Option<FieldKindIo>,
    /// A select's or multi-select's options (1 to 200).
    pub options: Option<Vec<String>>,
    /// A ticket is solved or closed only with a value (`422 fields_required`).
    pub required_on_solve: Option<bool>,
    /// A retired field keeps its values and takes no new ones.
    pub active: Option<bool>,
    pub position: Option<i32>,
}

#[derive(Debug, Object)]
pub struct FieldOut {
    pub id: Uuid,
    pub key: String,
    pub label: String,
    pub kind: FieldKindIo,
    pub options: Vec<String>,
    pub required_on_solve: bool,
    pub active: bool,
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct FieldsOut {
    /// In order, retired ones included.
    pub fields: Vec<FieldOut>,
}

#[derive(ApiResponse)]
pub enum FieldCreated {
    #[oai(status = 201)]
    Created(Json<FieldOut>),
}

fn field_in(body: FieldBody) -> FieldIn {
    FieldIn {
        key: body.key,
        label: body.label,
        kind: body.kind.map(Into::into),
        options: body.options,
        required_on_solve: body.required_on_solve,
        active: body.active,
        position: body.position,
    }
}

fn field_out(field: Field) -> FieldOut {
    FieldOut {
        id: field.id,
        key: field.key,
        label: field.label,
        kind: field.kind.into(),
        options: field.options,
        required_on_solve: field.required_on_solve,
        active: field.active,
        position: field.position,
        created_at: field.created_at,
        updated_at: field.updated_at,
    }
}

#[OpenApi(tag = "Tag::Settings")]
impl TicketFieldsApi {
    /// The tenant's custom ticket fields, in order.
    #[oai(path = "/ticket-fields", method = "get", operation_id = "ticket_fields.list")]
    async fn list(&self, auth: TenantAuth) -> ApiResult<Json<FieldsOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(FieldsOut { fields: fields::list(&tx).await?.into_iter().map(field_out).collect() }))
    }

    /// Adds a custom ticket field (admins): `400 invalid_field`, `409 field_exists`.
    #[oai(path = "/ticket-fields", method = "post", operation_id = "ticket_fields.create")]
    async fn create(&self, auth: TenantAuth, body: JsonBody<FieldBody>) -> ApiResult<FieldCreated> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let field = fields::create(&tx, &principal, field_in(body.0)).await?;
        tx.commit().await?;
        Ok(FieldCreated::Created(Json(field_out(field))))
    }

    /// Changes a field's label, options, requirement, order or activity (admins).
    #[oai(path = "/ticket-fields/:id", method = "patch", operation_id = "ticket_fields.update")]
    async fn update(&self, auth: TenantAuth, id: Path<Uuid>, body: JsonBody<FieldBody>) -> ApiResult<Json<FieldOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let field = fields::update(&tx, &principal, id.0, field_in(body.0)).await?;
        tx.commit().await?;
        Ok(Json(field_out(field)))
    }
}
