//! Knowledge documents in the database: uploads (new, replacing, or unchanged), the
//! ingestion queue (claim with a lease, progress, finish, retry or fail), listing, reading
//! and deletion. The searchable version of each document is decided here.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use copilot_core::{
    Error, Principal, TenantId,
    model::{DocumentError, DocumentStatus},
    page::{Page, PageRequest},
    retry::Backoff,
    values::{self, bounded_text},
};
use copilot_entities::{
    knowledge_document as document, knowledge_document_tag as tag, knowledge_document_version as version,
};
use copilot_store::jobs::Queue;
use copilot_store::{Db, Scoped, TenantTx, audit, db_err, events, like_contains};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::parse::Format;

#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub id: Uuid,
    pub external_id: Option<String>,
    pub title: String,
    pub format: String,
    pub filename: Option<String>,
    /// Of the latest version.
    pub status: DocumentStatus,
    pub progress: f64,
    pub chunk_count: i32,
    pub version: i32,
    pub active_version: Option<i32>,
    pub content_hash: String,
    pub size_bytes: i64,
    pub error: Option<String>,
    pub error_code: Option<DocumentError>,
    pub attempts: i32,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A file to add to the knowledge base.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The document this upload is a new version of (else: the one with the same
    /// `external_id`, else a new document).
    pub replaces: Option<Uuid>,
    pub title: Option<String>,
    pub external_id: Option<String>,
    pub tags: Vec<String>,
    pub format: Format,
    pub filename: Option<String>,
    pub content: Vec<u8>,
}

/// The outcome of an upload.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    pub document: Document,
    /// The same `external_id` already holds these exact bytes: nothing was queued.
    pub unchanged: bool,
}

#[derive(Clone, Debug, Default)]
pub struct DocumentFilter {
    pub status: Option<DocumentStatus>,
    pub tag: Option<String>,
    pub format: Option<Format>,
    pub external_id: Option<String>,
    /// Text searched, case-insensitively, in the title.
    pub q: Option<String>,
}

/// SHA-256 of a document's bytes, in hex.
pub fn content_hash(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// Stores an upload as a new document or a new version of the document with the same
/// `external_id`, and queues it for ingestion. Identical bytes under the same
/// `external_id` change nothing, unless that version failed (then it is retried).
pub async fn upload(tx: &TenantTx, by: &Principal, upload: Upload) -> Result<Accepted, Error> {
    by.require_admin()?;
    let filename = upload.filename.as_deref().map(|name| bounded_text("filename", name, 1, 300)).transpose()?;
    let title = match (&upload.title, &filename) {
        (Some(title), _) => bounded_text("title", title, 1, 300)?,
        (None, Some(filename)) => filename.clone(),
        (None, None) => return Err(Error::validation("validation_failed", "`title` is required without a file name")),
    };
    let external_id = upload.external_id.as_deref().map(|id| bounded_text("external_id", id, 1, 200)).transpose()?;
    let tags = values::tags(&upload.tags)?;
    let hash = content_hash(&upload.content);
    let size = upload.content.len() as i64;
    let now = copilot_core::now();

    let existing = match (upload.replaces, &external_id) {
        (Some(id), _) => {
            tx.lock(&format!("knowledge-document-id:{id}")).await?;
            let row = document::Entity::scoped(tx.tenant())
                .filter(document::Column::Id.eq(id))
                .lock_exclusive()
                .one(&**tx)
                .await
                .map_err(db_err)?
                .ok_or(Error::NotFound("document"))?;
            if let Some(external_id) = &external_id
                && row.external_id.as_deref() != Some(external_id.as_str())
            {
                return Err(Error::unprocessable(
                    "external_id_mismatch",
                    "the document being replaced has another external_id; leave external_id out",
                ));
            }
            Some(row)
        }
        (None, Some(external_id)) => {
            tx.lock(&format!("knowledge-document:{external_id}")).await?;
            document::Entity::scoped(tx.tenant())
                .filter(document::Column::ExternalId.eq(external_id.as_str()))
                .lock_exclusive()
                .one(&**tx)
                .await
                .map_err(db_err)?
        }
        (None, None) => None,
    };
    if let Some(row) = &existing
        && row.content_hash == hash
        && row.status != DocumentStatus::Failed
    {
        let document = hydrate(tx, vec![row.clone()]).await?.pop().ok_or(Error::NotFound("document"))?;
        return Ok(Accepted { document, unchanged: true });
    }

    let (row, action) = match existing {
        Some(row) => {
            let version = row.version + 1;
            // A new version keeps its title unless one is given.
            let title = if upload.title.is_none() && upload.replaces.is_some() { row.title.clone() } else { title };
            let mut change: document::ActiveModel = row.into();
            change.title = Set(title);
            change.format = Set(upload.format.as_str().to_owned());
            change.filename = Set(filename);
            change.status = Set(DocumentStatus::Queued);
            change.progress = Set(0.0);
            change.chunk_count = Set(0);
            change.version = Set(version);
            change.content_hash = Set(hash.clone());
            change.size_bytes = Set(size);
            change.error = Set(None);
            change.error_code = Set(None);
            change.attempts = Set(0);
            change.next_attempt_at = Set(now);
            change.updated_at = Set(now);
            change.request_id = Set(copilot_store::request::current());
            (change.update(&**tx).await.map_err(db_err)?, "knowledge.document.replaced")
        }
        None => {
            let row = document::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tx.tenant().0),
                external_id: Set(external_id),
                title: Set(title),
                format: Set(upload.format.as_str().to_owned()),
                filename: Set(filename),
                status: Set(DocumentStatus::Queued),
                progress: Set(0.0),
                chunk_count: Set(0),
                version: Set(1),
                active_version: Set(None),
                content_hash: Set(hash.clone()),
                size_bytes: Set(size),
                error: Set(None),
                error_code: Set(None),
                attempts: Set(0),
                next_attempt_at: Set(now),
                created_by: Set(by.actor.user_id()),
                created_at: Set(now),
                updated_at: Set(now),
                request_id: Set(copilot_store::request::current()),
            };
            (row.insert(&**tx).await.map_err(db_err)?, "knowledge.document.uploaded")
        }
    };
    version::ActiveModel {
        document_id: Set(row.id),
        version: Set(row.version),
        tenant_id: Set(tx.tenant().0),
        format: Set(upload.format.as_str().to_owned()),
        content: Set(upload.content),
        content_hash: Set(hash),
        created_at: Set(now),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    replace_tags(tx, row.id, &tags).await?;
    audit::record(
        tx,
        by.actor,
        action,
        audit::Target::new("knowledge_document", row.id).labelled(&row.title),
        serde_json::json!({ "version": row.version, "format": row.format, "size_bytes": size }),
    )
    .await?;
    let document = hydrate(tx, vec![row]).await?.pop().ok_or(Error::NotFound("document"))?;
    Ok(Accepted { document, unchanged: false })
}

async fn replace_tags(tx: &TenantTx, document_id: Uuid, tags: &[String]) -> Result<(), Error> {
    tag::Entity::delete_many()
        .filter(tag::Column::TenantId.eq(tx.tenant().0))
        .filter(tag::Column::DocumentId.eq(document_id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    if tags.is_empty() {
        return Ok(());
    }
    let rows = tags.iter().map(|name| tag::ActiveModel {
        document_id: Set(document_id),
        tag: Set(name.clone()),
        tenant_id: Set(tx.tenant().0),
    });
    tag::Entity::insert_many(rows).exec_without_returning(&**tx).await.map_err(db_err)?;
    Ok(())
}

async fn hydrate(tx: &TenantTx, rows: Vec<document::Model>) -> Result<Vec<Document>, Error> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut tags: HashMap<Uuid, Vec<String>> = HashMap::new();
    if !ids.is_empty() {
        let tag_rows = tag::Entity::scoped(tx.tenant())
            .filter(tag::Column::DocumentId.is_in(ids))
            .order_by_asc(tag::Column::Tag)
            .all(&**tx)
            .await
            .map_err(db_err)?;
        for row in tag_rows {
            tags.entry(row.document_id).or_default().push(row.tag);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| Document {
            tags: tags.remove(&row.id).unwrap_or_default(),
            id: row.id,
            external_id: row.external_id,
            title: row.title,
            format: row.format,
            filename: row.filename,
            status: row.status,
            progress: row.progress,
            chunk_count: row.chunk_count,
            version: row.version,
            active_version: row.active_version,
            content_hash: row.content_hash,
            size_bytes: row.size_bytes,
            error: row.error,
            error_code: row.error_code,
            attempts: row.attempts,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
        .collect())
}

async fn find_row(tx: &TenantTx, id: Uuid, lock: bool) -> Result<Option<document::Model>, Error> {
    let mut query = document::Entity::scoped(tx.tenant()).filter(document::Column::Id.eq(id));
    if lock {
        query = query.lock_exclusive();
    }
    query.one(&**tx).await.map_err(db_err)
}

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<Document, Error> {
    let row = find_row(tx, id, false).await?.ok_or(Error::NotFound("document"))?;
    hydrate(tx, vec![row]).await?.pop().ok_or(Error::NotFound("document"))
}

/// Lists documents newest first with the filter applied.
pub async fn list(tx: &TenantTx, filter: &DocumentFilter, page: PageRequest) -> Result<Page<Document>, Error> {
    let mut query = document::Entity::scoped(tx.tenant());
    if let Some(wanted) = filter.status {
        query = query.filter(document::Column::Status.eq(wanted));
    }
    if let Some(format) = filter.format {
        query = query.filter(document::Column::Format.eq(format.as_str()));
    }
    if let Some(external_id) = &filter.external_id {
        query = query.filter(document::Column::ExternalId.eq(external_id.trim()));
    }
    if let Some(name) = &filter.tag {
        query = query.filter(
            document::Column::Id.in_subquery(
                Query::select()
                    .column(tag::Column::DocumentId)
                    .from(tag::Entity)
                    .and_where(Expr::col(tag::Column::TenantId).eq(tx.tenant().0))
                    .and_where(Expr::col(tag::Column::Tag).eq(name.trim().to_lowercase()))
                    .to_owned(),
            ),
        );
    }
    if let Some(text) = filter.q.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        let pattern = LikeExpr::new(like_contains(text)).escape('\\');
        query =
            query.filter(Expr::expr(Func::lower(Expr::col((document::Entity, document::Column::Title)))).like(pattern));
    }
    if let Some(cursor) = page.cursor {
        query = query.filter(document::Column::Id.lt(cursor));
    }
    let rows = query.order_by_desc(document::Column::Id).limit(page.limit + 1).all(&**tx).await.map_err(db_err)?;
    let documents = hydrate(tx, rows).await?;
    Ok(Page::from_overfetch(documents, page.limit, |document| document.id))
}

/// Deletes a document and its stored versions (admins). The caller removes its chunks
/// from the vector store; until then searches drop them, since no document claims them.
pub async fn delete(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<Document, Error> {
    by.require_admin()?;
    let row = find_row(tx, id, true).await?.ok_or(Error::NotFound("document"))?;
    let document = hydrate(tx, vec![row]).await?.pop().ok_or(Error::NotFound("document"))?;
    document::Entity::delete_many()
        .filter(document::Column::TenantId.eq(tx.tenant().0))
        .filter(document::Column::Id.eq(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "knowledge.document.deleted",
        audit::Target::new("knowledge_document", id).labelled(&document.title),
        serde_json::json!({ "version": document.version }),
    )
    .await?;
    Ok(document)
}

/// The version searches may show of each of the given documents; deleted documents and
/// documents without a ready version are absent.
pub async fn active_versions(tx: &TenantTx, ids: &[Uuid]) -> Result<HashMap<Uuid, i32>, Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = document::Entity::scoped(tx.tenant())
        .filter(document::Column::Id.is_in(ids.to_vec()))
        .filter(document::Column::ActiveVersion.is_not_null())
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().filter_map(|row| Some((row.id, row.active_version?))).collect())
}

/// Documents with any of the tags.
pub async fn tagged(tx: &TenantTx, tags: &[String]) -> Result<Vec<Uuid>, Error> {
    let tags: Vec<String> = tags.iter().map(|name| name.trim().to_lowercase()).collect();
    let rows =
        tag::Entity::scoped(tx.tenant()).filter(tag::Column::Tag.is_in(tags)).all(&**tx).await.map_err(db_err)?;
    let mut ids: Vec<Uuid> = rows.into_iter().map(|row| row.document_id).collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Tenants that have knowledge documents, for maintenance across tenants.
pub async fn tenants_with_documents(db: &Db) -> Result<Vec<TenantId>, Error> {
    let statement = Statement::from_string(db.backend(), "SELECT DISTINCT tenant_id FROM knowledge_documents");
    let rows = db.unscoped().query_all_raw(statement).await.map_err(db_err)?;
    rows.into_iter().map(|row| Ok(TenantId(row.try_get("", "tenant_id").map_err(db_err)?))).collect()
}

/// A document version a worker took for ingestion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub tenant_id: TenantId,
    pub document_id: Uuid,
    pub version: i32,
    pub attempts: i32,
    /// When the version was uploaded (queued).
    pub queued_at: chrono::DateTime<chrono::Utc>,
}

/// Documents of one tenant ingested at the same time, across processes: a tenant's long
/// document holds up its own next ones, never another tenant's.
const TENANT_CONCURRENCY: usize = 1;

/// The ingestion queue: document versions waiting to be read or being read.
pub const QUEUE: Queue = Queue {
    name: "knowledge",
    table: "knowledge_documents",
    id: "id",
    open: "{row}.status IN ('queued', 'processing')",
    held: "{row}.status = 'processing'",
    lease_columns: &["next_attempt_at"],
};

/// Takes up to `limit` documents that are queued, or were processing under a lease that
/// ran out (their worker died), and leases them for `lease`: at most one per tenant, none
/// of a tenant that has [`TENANT_CONCURRENCY`] in progress, the longest waiting first.
pub async fn claim(db: &Db, limit: u64, lease: Duration) -> Result<Vec<Claimed>, Error> {
    let pick = copilot_store::jobs::FairPick {
        queue: &QUEUE,
        group: "tenant_id",
        due: "{row}.status IN ('queued', 'processing') AND {row}.next_attempt_at <= $2",
        per_group: 1,
        busy: Some(("{row}.status = 'processing' AND {row}.next_attempt_at > $2", TENANT_CONCURRENCY)),
    };
    let sql = format!(
        "UPDATE knowledge_documents
         SET status = 'processing', attempts = attempts + 1, next_attempt_at = $1, updated_at = $2
         WHERE id IN ({}) RETURNING tenant_id, id, version, attempts,
           (SELECT v.created_at FROM knowledge_document_versions v
            WHERE v.document_id = knowledge_documents.id AND v.version = knowledge_documents.version) AS queued_at",
        pick.sql()
    );
    let rows = copilot_store::jobs::claim(db, &sql, limit, lease).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
                document_id: row.try_get("", "id").map_err(db_err)?,
                version: row.try_get("", "version").map_err(db_err)?,
                attempts: row.try_get("", "attempts").map_err(db_err)?,
                queued_at: row.try_get("", "queued_at").map_err(db_err)?,
            })
        })
        .collect()
}

/// What ingestion reads of a claimed version.
#[derive(Clone, Debug)]
pub struct Source {
    pub title: String,
    pub format: Format,
    pub content: Vec<u8>,
    /// The `X-Request-Id` of the upload that queued this version, when there was one.
    pub request_id: Option<String>,
}

/// The bytes of a claimed version, unless the document was deleted or replaced meanwhile.
pub async fn source(tx: &TenantTx, claimed: &Claimed) -> Result<Option<Source>, Error> {
    let Some(row) = find_row(tx, claimed.document_id, false).await? else { return Ok(None) };
    if row.version != claimed.version {
        return Ok(None);
    }
    let Some(stored) = version::Entity::scoped(tx.tenant())
        .filter(version::Column::DocumentId.eq(claimed.document_id))
        .filter(version::Column::Version.eq(claimed.version))
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let format = stored.format.parse().map_err(|()| Error::internal(format!("stored format `{}`", stored.format)))?;
    Ok(Some(Source { title: row.title, format, content: stored.content, request_id: row.request_id }))
}

/// Records progress (0–1) and renews the lease; false when the version is no longer the
/// one to ingest (replaced or deleted).
pub async fn report_progress(tx: &TenantTx, claimed: &Claimed, progress: f64, lease: Duration) -> Result<bool, Error> {
    let now = copilot_core::now();
    let result = document::Entity::update_many()
        .col_expr(document::Column::Progress, Expr::value(progress.clamp(0.0, 1.0)))
        .col_expr(document::Column::NextAttemptAt, Expr::value(now + lease))
        .col_expr(document::Column::UpdatedAt, Expr::value(now))
        .filter(document::Column::TenantId.eq(tx.tenant().0))
        .filter(document::Column::Id.eq(claimed.document_id))
        .filter(document::Column::Version.eq(claimed.version))
        .filter(document::Column::Status.eq(DocumentStatus::Processing))
        // The claim's attempt number fences out a worker whose lease ran out and whose
        // document another worker claimed since.
        .filter(document::Column::Attempts.eq(claimed.attempts))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(result.rows_affected == 1)
}

/// How a finished ingestion was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    /// The version is now the searchable one.
    Activated,
    /// The document was deleted or replaced by a newer version meanwhile; this version's
    /// chunks are to be removed.
    Stale,
    /// This attempt's lease ran out and another attempt on the same version holds it (or
    /// finished it): the chunks are that attempt's to write, nothing is to be touched.
    Fenced,
}

/// Makes a fully indexed version the searchable one, in one step, and drops the stored
/// bytes of older versions.
pub async fn activate(tx: &TenantTx, claimed: &Claimed, chunk_count: i32) -> Result<Finished, Error> {
    let Some(row) = find_row(tx, claimed.document_id, true).await? else { return Ok(Finished::Stale) };
    if row.version != claimed.version {
        return Ok(Finished::Stale);
    }
    if row.status != DocumentStatus::Processing || row.attempts != claimed.attempts {
        return Ok(Finished::Fenced);
    }
    let now = copilot_core::now();
    let mut change: document::ActiveModel = row.into();
    change.status = Set(DocumentStatus::Ready);
    change.progress = Set(1.0);
    change.chunk_count = Set(chunk_count);
    change.active_version = Set(Some(claimed.version));
    change.error = Set(None);
    change.error_code = Set(None);
    change.updated_at = Set(now);
    change.update(&**tx).await.map_err(db_err)?;
    version::Entity::delete_many()
        .filter(version::Column::TenantId.eq(tx.tenant().0))
        .filter(version::Column::DocumentId.eq(claimed.document_id))
        .filter(version::Column::Version.lt(claimed.version))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    let data = serde_json::json!({
        "document_id": claimed.document_id, "version": claimed.version, "chunk_count": chunk_count,
    });
    events::emit(tx, "knowledge.document.ready", None, &data).await?;
    Ok(Finished::Activated)
}

/// Why an ingestion attempt failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The file itself is unusable (corrupt, encrypted, empty): no retry helps.
    Permanent(DocumentError, String),
    /// Something around it failed (models, vector store): retried with backoff.
    Transient(String),
}

/// How a failed attempt was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The version ended `failed`.
    GaveUp,
    /// The version is queued again after a backoff.
    WillRetry,
    /// The document was deleted or replaced meanwhile; nothing was recorded.
    Stale,
    /// Another attempt holds (or finished) this version since this one's lease ran out;
    /// nothing was recorded.
    Fenced,
}

/// Records a failed attempt: a permanent failure, or the last allowed attempt, ends the
/// version `failed`; otherwise it is queued again after a backoff. The searchable
/// version, if any, stays as it was.
pub async fn record_failure(
    tx: &TenantTx,
    claimed: &Claimed,
    failure: &Failure,
    policy: &Backoff,
) -> Result<Recorded, Error> {
    let Some(row) = find_row(tx, claimed.document_id, true).await? else { return Ok(Recorded::Stale) };
    if row.version != claimed.version {
        return Ok(Recorded::Stale);
    }
    if row.status != DocumentStatus::Processing || row.attempts != claimed.attempts {
        return Ok(Recorded::Fenced);
    }
    let now = copilot_core::now();
    let retry = policy.retry_in(row.attempts);
    let (code, message, retry) = match failure {
        Failure::Permanent(code, message) => (Some(*code), message.clone(), None),
        Failure::Transient(message) if retry.is_none() => {
            (Some(DocumentError::GaveUp), format!("gave up after {} attempts: {message}", row.attempts), None)
        }
        Failure::Transient(message) => (None, message.clone(), retry),
    };
    let give_up = retry.is_none();
    let mut change: document::ActiveModel = row.into();
    change.error = Set(Some(message.clone()));
    change.error_code = Set(code);
    change.updated_at = Set(now);
    if give_up {
        change.status = Set(DocumentStatus::Failed);
        change.progress = Set(0.0);
    } else {
        change.status = Set(DocumentStatus::Queued);
        change.next_attempt_at = Set(now + retry.unwrap_or_default());
    }
    change.update(&**tx).await.map_err(db_err)?;
    if give_up {
        let data = serde_json::json!({
            "document_id": claimed.document_id, "version": claimed.version, "error": message, "error_code": code,
        });
        events::emit(tx, "knowledge.document.failed", None, &data).await?;
    }
    Ok(if give_up { Recorded::GaveUp } else { Recorded::WillRetry })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(content_hash(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
