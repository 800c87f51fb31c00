//! The knowledge base: uploading documents (JSON or multipart), following their
//! ingestion, previewing their chunks, deleting them, and searching.

use chrono::{DateTime, Utc};
use copilot_core::Error;
use copilot_knowledge::{
    Hit, Mode, SearchRequest,
    documents::{self, Accepted, Document, DocumentFilter, Upload},
    parse::Format,
};
use poem_openapi::{
    ApiRequest, ApiResponse, Enum, Multipart, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::multipart::Upload as UploadedFile,
};
use uuid::Uuid;

use super::{Tag, page};
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{Page, mirror_enum, stored_enum},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct KnowledgeApi {
    pub state: AppState,
}

mirror_enum!(
    /// Where a document's latest version stands.
    DocumentStatus => copilot_core::model::DocumentStatus { Queued, Processing, Ready, Failed }
);
mirror_enum!(
    /// Why a document's latest version failed: `empty_file`, `no_text` (nothing but blank
    /// or headings), `no_text_layer` (a scanned PDF: images only), `encrypted`, `damaged`,
    /// `unsupported_encoding`, `invalid_faq` (no question and answer fields), `too_large`
    /// (pages, expanded size, nesting, passages or reading time over a limit),
    /// `unreadable` (the reader stopped on it) or `gave_up` (the models or the vector
    /// store failed on every attempt; uploading again retries).
    DocumentError => copilot_core::model::DocumentError {
        EmptyFile, NoText, NoTextLayer, Encrypted, Damaged, UnsupportedEncoding, InvalidFaq, TooLarge, Unreadable,
        GaveUp,
    }
);

/// The format a document was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DocumentFormat {
    Text,
    Markdown,
    Html,
    Pdf,
    Docx,
    Csv,
    Json,
}

impl From<DocumentFormat> for Format {
    fn from(format: DocumentFormat) -> Self {
        match format {
            DocumentFormat::Text => Format::Text,
            DocumentFormat::Markdown => Format::Markdown,
            DocumentFormat::Html => Format::Html,
            DocumentFormat::Pdf => Format::Pdf,
            DocumentFormat::Docx => Format::Docx,
            DocumentFormat::Csv => Format::Csv,
            DocumentFormat::Json => Format::Json,
        }
    }
}

/// A document given inline (text formats only; send PDF and DOCX as multipart).
#[derive(Debug, Object)]
pub struct DocumentIn {
    pub title: String,
    /// The document's text.
    pub content: String,
    /// `text/plain`, `text/markdown`, `text/html`, `text/csv` or `application/json`
    /// (or the short names `text`, `markdown`, `html`, `csv`, `json`).
    pub content_type: String,
    /// Your id for the document: uploading again with it replaces the document.
    pub external_id: Option<String>,
    #[oai(default)]
    pub tags: Vec<String>,
}

/// A document as a file: `.txt`, `.md`, `.html`, `.pdf`, `.docx`, `.csv` (question and
/// answer columns) or `.json` (an array of `{question, answer}`).
#[derive(Debug, Multipart)]
pub struct DocumentUpload {
    pub file: UploadedFile,
    /// Defaults to the file name.
    pub title: Option<String>,
    pub external_id: Option<String>,
    /// Repeat the field, or separate tags with commas.
    #[oai(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, ApiRequest)]
pub enum NewDocument {
    Json(JsonBody<DocumentIn>),
    Multipart(DocumentUpload),
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DocumentOut {
    pub id: Uuid,
    pub external_id: Option<String>,
    pub title: String,
    pub format: DocumentFormat,
    pub filename: Option<String>,
    /// Of the latest version.
    pub status: DocumentStatus,
    /// Of the latest version's ingestion, from 0 to 1.
    pub progress: f64,
    /// Chunks of the latest version, once it is ready.
    pub chunk_count: i32,
    /// The latest uploaded version (1, 2, …).
    pub version: i32,
    /// The version searches see; absent until a version is ready. While a new version is
    /// ingested (or after it failed) searches keep seeing this one.
    pub active_version: Option<i32>,
    /// SHA-256 of the latest version's bytes.
    pub content_hash: String,
    pub size_bytes: i64,
    /// Why the latest version failed, or why its last attempt did (it is retried).
    pub error: Option<String>,
    /// Why the latest version failed, as a code; absent while it is retried.
    pub error_code: Option<DocumentError>,
    pub attempts: i32,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<Document> for DocumentOut {
    type Error = copilot_core::Error;

    fn try_from(document: Document) -> Result<Self, Self::Error> {
        Ok(Self {
            id: document.id,
            external_id: document.external_id,
            title: document.title,
            format: stored_enum(&document.format)?,
            filename: document.filename,
            status: document.status.into(),
            progress: document.progress,
            chunk_count: document.chunk_count,
            version: document.version,
            active_version: document.active_version,
            content_hash: document.content_hash,
            size_bytes: document.size_bytes,
            error: document.error,
            error_code: document.error_code.map(Into::into),
            attempts: document.attempts,
            tags: document.tags,
            created_at: document.created_at,
            updated_at: document.updated_at,
        })
    }
}

#[derive(Debug, Object)]
pub struct DocumentAccepted {
    pub id: Uuid,
    pub status: DocumentStatus,
    pub version: i32,
    /// The same `external_id` already held these exact bytes: nothing was queued.
    pub unchanged: bool,
}

#[derive(ApiResponse)]
pub enum DocumentQueued {
    /// Accepted; follow the ingestion at `GET /v1/knowledge/documents/{id}`.
    #[oai(status = 202)]
    Accepted(Json<DocumentAccepted>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// The document and its chunks are gone.
    #[oai(status = 204)]
    NoContent,
}

/// A chunk of a document, as stored for search.
#[derive(Debug, Object)]
pub struct ChunkOut {
    pub chunk_id: Uuid,
    pub document_id: Uuid,
    pub document_version: i64,
    /// 0, 1, 2, … in document order.
    pub position: i32,
    /// The heading path, e.g. `Returns > Refunds`.
    pub heading: String,
    pub text: String,
}

/// How to search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SearchMode {
    /// Vector and keyword results combined.
    #[default]
    Hybrid,
    /// Multilingual embeddings only (finds passages in other languages).
    Vector,
    /// Full-text (BM25) only.
    Keyword,
}

#[derive(Debug, Object)]
pub struct SearchIn {
    pub query: String,
    /// 1 to 50; 10 when absent.
    pub limit: Option<u64>,
    #[oai(default)]
    pub mode: SearchMode,
    /// Only documents with any of these tags.
    #[oai(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Object)]
pub struct HitOut {
    pub chunk_id: Uuid,
    pub document_id: Uuid,
    pub document_version: i64,
    pub title: String,
    pub heading: String,
    pub text: String,
    pub position: i32,
    /// Higher is better. Vector: cosine similarity (when the knowledge holds Chinese and
    /// other scripts, relative to the mean of its script's candidates); keyword: BM25;
    /// hybrid: the vector score in standard deviations plus weighted relative BM25.
    pub score: f32,
}

impl From<Hit> for HitOut {
    fn from(hit: Hit) -> Self {
        Self {
            chunk_id: hit.chunk_id,
            document_id: hit.document_id,
            document_version: hit.document_version,
            title: hit.title,
            heading: hit.heading,
            text: hit.text,
            position: hit.position,
            score: hit.score,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SearchOut {
    pub hits: Vec<HitOut>,
    /// How likely the best hit answers the query, from 0 to 1 (see `evidence`); absent
    /// without hits.
    pub relevance: Option<f32>,
    /// Whether the best hit is taken as an answer: `relevance` reaches the threshold
    /// drafts use (`draft_min_relevance`). Without a confident match, search still lists
    /// the nearest passages, and drafts hand over instead of answering.
    pub confident: bool,
    /// What `relevance` is estimated from; absent without hits.
    pub evidence: Option<EvidenceOut>,
}

/// The measures behind a search's relevance.
#[derive(Debug, Object)]
pub struct EvidenceOut {
    /// The cosine similarity of the query and the best passage (multilingual-e5-small:
    /// about 0.75 to 0.95).
    pub similarity: f32,
    /// The similarity minus the mean of the ten best passages'.
    pub margin: f32,
}

/// Splits comma-separated tags.
fn split_tags(tags: Vec<String>) -> Vec<String> {
    tags.iter().flat_map(|tag| tag.split(',')).map(str::trim).filter(|tag| !tag.is_empty()).map(str::to_owned).collect()
}

fn unsupported(detail: impl Into<String>) -> Error {
    Error::UnsupportedMediaType { code: "unsupported_document_type", detail: detail.into() }
}

impl KnowledgeApi {
    fn check_size(&self, size: usize) -> Result<(), Error> {
        let max = self.state.pipeline.settings.knowledge_max_upload_bytes;
        if size as u64 > max {
            return Err(Error::TooLarge {
                code: "document_too_large",
                detail: format!("the document has {size} bytes; the limit is {max}"),
            });
        }
        Ok(())
    }

    /// Records an upload and wakes the ingestion worker unless nothing changed.
    async fn accept(&self, principal: &copilot_core::Principal, upload: Upload) -> ApiResult<DocumentQueued> {
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let Accepted { document, unchanged } = documents::upload(&tx, principal, upload).await?;
        tx.commit().await?;
        if !unchanged {
            self.state.pipeline.knowledge_wakeup.notify_one();
        }
        Ok(DocumentQueued::Accepted(Json(DocumentAccepted {
            id: document.id,
            status: document.status.into(),
            version: document.version,
            unchanged,
        })))
    }

    async fn read_upload(&self, request: NewDocument) -> Result<Upload, Error> {
        match request {
            NewDocument::Json(JsonBody(body)) => {
                let format = Format::from_media_type(&body.content_type).ok_or_else(|| {
                    unsupported(format!("`content_type` {:?} is not a supported document type", body.content_type))
                })?;
                if !format.is_textual() {
                    return Err(unsupported("send PDF and DOCX files as multipart/form-data (field `file`)"));
                }
                self.check_size(body.content.len())?;
                Ok(Upload {
                    replaces: None,
                    title: Some(body.title),
                    external_id: body.external_id,
                    tags: split_tags(body.tags),
                    format,
                    filename: None,
                    content: body.content.into_bytes(),
                })
            }
            NewDocument::Multipart(form) => {
                let filename = form.file.file_name().map(str::to_owned);
                let declared = form.file.content_type().and_then(Format::from_media_type);
                let format = declared.or_else(|| filename.as_deref().and_then(Format::from_filename)).ok_or_else(|| {
                    unsupported(format!(
                        "the file {} of type {} is not a supported document type (txt, md, html, pdf, docx, csv, json)",
                        filename.as_deref().unwrap_or("(unnamed)"),
                        form.file.content_type().unwrap_or("(none)"),
                    ))
                })?;
                self.check_size(form.file.size())?;
                let content = form.file.into_vec().await.map_err(|error| {
                    Error::validation("invalid_body", format!("the uploaded file could not be read: {error}"))
                })?;
                Ok(Upload {
                    replaces: None,
                    title: form.title,
                    external_id: form.external_id,
                    tags: split_tags(form.tags),
                    format,
                    filename,
                    content,
                })
            }
        }
    }
}

#[OpenApi(tag = "Tag::Knowledge")]
impl KnowledgeApi {
    /// Add a document to the knowledge base, or replace the one with the same
    /// `external_id` (admins). Ingestion runs in the background; identical bytes under the
    /// same `external_id` are a no-op.
    #[oai(path = "/knowledge/documents", method = "post", operation_id = "knowledge.documents.create")]
    async fn create(&self, auth: TenantAuth, body: NewDocument) -> ApiResult<DocumentQueued> {
        let upload = self.read_upload(body).await?;
        self.accept(&auth.0.principal, upload).await
    }

    /// Upload a new version of a document (admins), with the same body as adding one; a
    /// title left out keeps the document's. The current version stays searchable until the
    /// new one is ready, then only the new one is; identical bytes are a no-op.
    #[oai(path = "/knowledge/documents/:id/versions", method = "post", operation_id = "knowledge.documents.replace")]
    async fn replace(&self, auth: TenantAuth, id: Path<Uuid>, body: NewDocument) -> ApiResult<DocumentQueued> {
        let principal = auth.0.principal;
        let upload = Upload { replaces: Some(id.0), ..self.read_upload(body).await? };
        self.accept(&principal, upload).await
    }

    /// The tenant's documents, newest first.
    #[oai(path = "/knowledge/documents", method = "get", operation_id = "knowledge.documents.list")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: TenantAuth,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
        status: Query<Option<DocumentStatus>>,
        tag: Query<Option<String>>,
        format: Query<Option<DocumentFormat>>,
        external_id: Query<Option<String>>,
        /// Text searched in the title.
        q: Query<Option<String>>,
    ) -> ApiResult<Json<Page<DocumentOut>>> {
        let request = page(limit.0, cursor.0)?;
        let filter = DocumentFilter {
            status: status.0.map(Into::into),
            tag: tag.0,
            format: format.0.map(Format::from),
            external_id: external_id.0,
            q: q.0,
        };
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let documents = documents::list(&tx, &filter, request).await?;
        Ok(Json(Page::try_from_domain(documents, DocumentOut::try_from)?))
    }

    /// A document and the state of its ingestion.
    #[oai(path = "/knowledge/documents/:id", method = "get", operation_id = "knowledge.documents.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<DocumentOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(documents::get(&tx, id.0).await?.try_into()?))
    }

    /// Delete a document, its versions and its chunks (admins).
    #[oai(path = "/knowledge/documents/:id", method = "delete", operation_id = "knowledge.documents.delete")]
    async fn delete(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Deleted> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        documents::delete(&tx, &principal, id.0).await?;
        tx.commit().await?;
        // Searches already ignore the chunks (no document claims them); this frees the space.
        if let Err(error) = self.state.pipeline.knowledge.store.delete_document(principal.tenant_id, id.0).await {
            tracing::warn!(%error, document = %id.0, "could not remove a deleted document's chunks");
        }
        Ok(Deleted::NoContent)
    }

    /// The chunks of the searchable version of a document, in order.
    #[oai(path = "/knowledge/documents/:id/chunks", method = "get", operation_id = "knowledge.documents.chunks")]
    async fn chunks(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        /// 1 to 100; 25 when absent.
        limit: Query<Option<u64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Page<ChunkOut>>> {
        let tenant = auth.0.principal.tenant_id;
        let limit = limit.0.unwrap_or(copilot_core::page::DEFAULT_LIMIT);
        if !(1..=copilot_core::page::MAX_LIMIT).contains(&limit) {
            return Err(Error::validation("invalid_limit", "`limit` must be between 1 and 100").into());
        }
        let from = match cursor.0.as_deref() {
            None => 0,
            Some(cursor) => cursor
                .parse::<i32>()
                .ok()
                .filter(|from| *from >= 0)
                .ok_or_else(|| Error::validation("invalid_cursor", "`cursor` is not a cursor this API returned"))?,
        };
        let document = {
            let tx = self.state.pipeline.db.tenant(tenant).await?;
            documents::get(&tx, id.0).await?
        };
        let Some(version) = document.active_version else {
            return Ok(Json(Page { data: Vec::new(), next_cursor: None }));
        };
        let mut chunks = self
            .state
            .pipeline
            .knowledge
            .store
            .chunks(tenant, id.0, version.into(), from, limit as usize + 1)
            .await
            .map_err(Error::from)?;
        let next_cursor = if chunks.len() > limit as usize {
            chunks.truncate(limit as usize);
            chunks.last().map(|chunk| (chunk.position + 1).to_string())
        } else {
            None
        };
        let data = chunks
            .into_iter()
            .map(|chunk| ChunkOut {
                chunk_id: chunk.chunk_id,
                document_id: chunk.document_id,
                document_version: chunk.document_version,
                position: chunk.position,
                heading: chunk.heading,
                text: chunk.text,
            })
            .collect();
        Ok(Json(Page { data, next_cursor }))
    }

    /// Search the knowledge base: hybrid (default), vector or keyword.
    #[oai(path = "/knowledge/search", method = "post", operation_id = "knowledge.search")]
    async fn search(&self, auth: TenantAuth, body: JsonBody<SearchIn>) -> ApiResult<Json<SearchOut>> {
        let body = body.0;
        let request = SearchRequest {
            query: body.query,
            limit: body.limit.unwrap_or(10).min(u64::from(u32::MAX)) as usize,
            mode: match body.mode {
                SearchMode::Hybrid => Mode::Hybrid,
                SearchMode::Vector => Mode::Vector,
                SearchMode::Keyword => Mode::Keyword,
            },
            tags: split_tags(body.tags),
        };
        let (hits, relevance) =
            self.state.pipeline.knowledge.search_with_relevance(auth.0.principal.tenant_id, &request).await?;
        let confident = relevance
            .is_some_and(|relevance| relevance.answerability >= self.state.pipeline.settings.draft_min_relevance);
        Ok(Json(SearchOut {
            hits: hits.into_iter().map(HitOut::from).collect(),
            relevance: relevance.map(|relevance| relevance.answerability),
            confident,
            evidence: relevance
                .map(|relevance| EvidenceOut { similarity: relevance.similarity, margin: relevance.margin }),
        }))
    }
}
