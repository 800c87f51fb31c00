//! The knowledge base: documents uploaded by tenant admins are parsed, chunked along their
//! structure, embedded, and stored in per-tenant LanceDB tables; searches combine vector
//! and full-text retrieval and only ever show each document's one searchable version.
//!
//! Architecture invariant: the only crate that links `lancedb`. Every operation takes the
//! tenant first and touches only that tenant's table; there is no search without a
//! tenant. Document metadata, versions and ingestion state live in the database
//! ([`documents`]); the vector store holds chunks and embeddings only. The crate knows no
//! model runtime: embeddings come through the [`Embedder`] trait.

pub mod chunk;
pub mod detail;
pub mod documents;
mod ingest;
pub mod parse;
mod relevance;
mod search;
mod store;

use std::sync::Arc;

use copilot_store::Db;

pub use ingest::{CHECKPOINT_CHUNKS, INGESTION_RETRY, Ingested, passage_text};
pub use relevance::{EVIDENCE_CANDIDATES, Relevance};
pub use search::{Mode, SearchRequest, fuse};
pub use store::{ChunkRecord, Hit, KnowledgeError, VectorStore};

/// Turns text into embeddings; the service implements it with the triage encoder.
#[async_trait::async_trait]
pub trait Embedder: Send + Sync {
    /// Embeddings of passages to store.
    async fn embed_passages(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, String>;
    /// The embedding of a search query.
    async fn embed_query(&self, text: String) -> Result<Vec<f32>, String>;
}

/// The knowledge base of every tenant: the database, the vector store and the encoder.
#[derive(Clone)]
pub struct Knowledge {
    pub db: Db,
    pub store: VectorStore,
    pub embedder: Arc<dyn Embedder>,
    pub chunking: chunk::ChunkOptions,
    /// How long a claimed document stays with its worker without a progress report.
    pub lease: chrono::Duration,
    /// When a failed ingestion is tried again.
    pub retry: copilot_core::retry::Backoff,
    /// How many of a search's best candidates are scored again by their closest sentence.
    pub sentence_candidates: usize,
    /// Sentence embeddings of recent search candidates (see [`detail`]).
    details: Arc<detail::Details>,
}

impl Knowledge {
    pub fn new(db: Db, store: VectorStore, embedder: Arc<dyn Embedder>) -> Self {
        Self {
            db,
            store,
            embedder,
            chunking: chunk::ChunkOptions::default(),
            lease: chrono::Duration::seconds(ingest::LEASE_SECONDS),
            retry: ingest::INGESTION_RETRY,
            sentence_candidates: detail::CANDIDATES,
            details: Arc::default(),
        }
    }

    /// The same knowledge base scoring `candidates` of a search's best hits again by their
    /// closest sentence (0: none).
    pub fn with_sentence_candidates(self, candidates: usize) -> Self {
        Self { sentence_candidates: candidates, ..self }
    }

    /// The same knowledge base with another lease and retry policy for claimed documents.
    pub fn with_jobs(self, lease: chrono::Duration, retry: copilot_core::retry::Backoff) -> Self {
        Self { lease, retry, ..self }
    }

    /// Compacts every tenant's table, folds new rows into its indexes and prunes old
    /// files; returns how many tables were optimized. One tenant's failure is logged and
    /// the others go on.
    pub async fn optimize_tables(&self) -> Result<usize, copilot_core::Error> {
        let mut optimized = 0;
        for tenant in documents::tenants_with_documents(&self.db).await? {
            match self.store.optimize(tenant).await {
                Ok(()) => optimized += 1,
                Err(error) => tracing::warn!(%tenant, %error, "optimizing a knowledge table failed"),
            }
        }
        Ok(optimized)
    }
}

/// A vector store failure as the capability's error (logged, shown generically).
impl From<KnowledgeError> for copilot_core::Error {
    fn from(error: KnowledgeError) -> Self {
        copilot_core::Error::internal(error)
    }
}
