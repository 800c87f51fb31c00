//! The knowledge base's vector store: per-tenant LanceDB tables of knowledge chunks with
//! their embeddings, vector search and full-text search.
//!
//! Architecture invariant: the only crate that links `lancedb`. Every operation takes the
//! tenant first and touches only that tenant's table; there is no search without a
//! tenant. Document metadata, versions and ingestion state live in the database, not here.

mod store;

pub use store::{ChunkRecord, Hit, KnowledgeError, VectorStore};
