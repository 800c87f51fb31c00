//! The `knowledge_documents` table: a knowledge document, its latest upload's ingestion
//! state and the version searches see.

use copilot_core::model::{DocumentError, DocumentStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The caller's own id for the document; uploading again with it replaces the document.
    pub external_id: Option<String>,
    pub title: String,
    /// `text`, `markdown`, `html`, `pdf`, `docx`, `csv` or `json`.
    pub format: String,
    pub filename: Option<String>,
    /// Of the latest version.
    pub status: DocumentStatus,
    pub progress: f64,
    pub chunk_count: i32,
    /// The latest uploaded version (1, 2, …).
    pub version: i32,
    /// The version searches see; none until a first version is ready.
    pub active_version: Option<i32>,
    /// SHA-256 of the latest version's bytes.
    pub content_hash: String,
    pub size_bytes: i64,
    pub error: Option<String>,
    /// Why the latest version failed, when it did.
    pub error_code: Option<DocumentError>,
    pub attempts: i32,
    /// When a worker may take the document next; a claim pushes it out by the lease.
    pub next_attempt_at: DateTimeUtc,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The `X-Request-Id` of the request that queued the job, when one did.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
