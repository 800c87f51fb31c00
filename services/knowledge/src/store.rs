//! One LanceDB table per tenant (`kb_<tenant id>`), under a base URI: a local folder by
//! default, or object storage (`s3://bucket/prefix`) for several nodes.

use std::sync::Arc;

use arrow_array::{
    Array, FixedSizeListArray, Float32Array, Int32Array, Int64Array, RecordBatch, StringArray, types::Float32Type,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use copilot_core::TenantId;
use futures::TryStreamExt;
use lancedb::{
    Connection, Table,
    index::{Index, scalar::FtsIndexBuilder},
    query::{ExecutableQuery, QueryBase},
};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("vector store: {0}")]
    Store(#[from] lancedb::Error),
    #[error("vector store data: {0}")]
    Data(String),
}

/// A chunk to store, with its embedding.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkRecord {
    pub chunk_id: Uuid,
    pub document_id: Uuid,
    pub document_version: i64,
    pub title: String,
    pub heading: String,
    pub text: String,
    pub position: i32,
    pub vector: Vec<f32>,
}

/// A search result; a higher score is better.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub chunk_id: Uuid,
    pub document_id: Uuid,
    pub document_version: i64,
    pub title: String,
    pub heading: String,
    pub text: String,
    pub score: f32,
}

/// The per-tenant tables under one base URI.
#[derive(Clone)]
pub struct VectorStore {
    db: Connection,
    dim: usize,
}

impl VectorStore {
    /// Opens (or creates) the store at `uri`: a local path or `s3://…`.
    pub async fn open(uri: &str, dim: usize) -> Result<Self, KnowledgeError> {
        let db = lancedb::connect(uri).execute().await?;
        Ok(Self { db, dim })
    }

    fn table_name(tenant: TenantId) -> String {
        format!("kb_{}", tenant.0.simple())
    }

    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("chunk_id", DataType::Utf8, false),
            Field::new("document_id", DataType::Utf8, false),
            Field::new("document_version", DataType::Int64, false),
            Field::new("title", DataType::Utf8, false),
            Field::new("heading", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
            Field::new("position", DataType::Int32, false),
            Field::new(
                "vector",
                DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), self.dim as i32),
                false,
            ),
        ]))
    }

    /// The tenant's table, if it has one.
    async fn table(&self, tenant: TenantId) -> Result<Option<Table>, KnowledgeError> {
        let name = Self::table_name(tenant);
        let names = self.db.table_names().execute().await?;
        if !names.contains(&name) {
            return Ok(None);
        }
        Ok(Some(self.db.open_table(name).execute().await?))
    }

    fn batch(&self, chunks: &[ChunkRecord]) -> Result<RecordBatch, KnowledgeError> {
        if let Some(bad) = chunks.iter().find(|c| c.vector.len() != self.dim) {
            return Err(KnowledgeError::Data(format!(
                "chunk {} has {} dimensions, expected {}",
                bad.chunk_id,
                bad.vector.len(),
                self.dim
            )));
        }
        let strings = |f: &dyn Fn(&ChunkRecord) -> String| -> Arc<dyn Array> {
            Arc::new(StringArray::from(chunks.iter().map(f).collect::<Vec<_>>()))
        };
        let vectors = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
            chunks.iter().map(|c| Some(c.vector.iter().copied().map(Some).collect::<Vec<_>>())),
            self.dim as i32,
        );
        RecordBatch::try_new(
            self.schema(),
            vec![
                strings(&|c| c.chunk_id.to_string()),
                strings(&|c| c.document_id.to_string()),
                Arc::new(Int64Array::from(chunks.iter().map(|c| c.document_version).collect::<Vec<_>>())),
                strings(&|c| c.title.clone()),
                strings(&|c| c.heading.clone()),
                strings(&|c| c.text.clone()),
                Arc::new(Int32Array::from(chunks.iter().map(|c| c.position).collect::<Vec<_>>())),
                Arc::new(vectors),
            ],
        )
        .map_err(|error| KnowledgeError::Data(error.to_string()))
    }

    /// Adds chunks to the tenant's table (created on first use) and indexes their text.
    pub async fn add(&self, tenant: TenantId, chunks: &[ChunkRecord]) -> Result<(), KnowledgeError> {
        if chunks.is_empty() {
            return Ok(());
        }
        let batch = self.batch(chunks)?;
        let table = match self.table(tenant).await? {
            Some(table) => {
                table.add(vec![batch]).execute().await?;
                table
            }
            None => self.db.create_table(Self::table_name(tenant), vec![batch]).execute().await?,
        };
        let tokenizer = FtsIndexBuilder::default().base_tokenizer("icu".into()).stem(false).remove_stop_words(false);
        table.create_index(&["text"], Index::FTS(tokenizer)).replace(true).execute().await?;
        Ok(())
    }

    /// Removes every chunk of a document.
    pub async fn delete_document(&self, tenant: TenantId, document_id: Uuid) -> Result<(), KnowledgeError> {
        if let Some(table) = self.table(tenant).await? {
            table.delete(format!("document_id = '{document_id}'").as_str()).await?;
        }
        Ok(())
    }

    /// The chunks nearest to `vector` (cosine), best first.
    pub async fn vector_search(
        &self,
        tenant: TenantId,
        vector: &[f32],
        limit: usize,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let Some(table) = self.table(tenant).await? else { return Ok(Vec::new()) };
        let stream = table
            .query()
            .nearest_to(vector.to_vec())?
            .distance_type(lancedb::DistanceType::Cosine)
            .limit(limit)
            .execute()
            .await?;
        let batches: Vec<RecordBatch> = stream.try_collect().await?;
        hits(&batches, "_distance", |distance| 1.0 - distance)
    }

    /// The chunks matching `query` by full-text search (BM25), best first.
    pub async fn keyword_search(
        &self,
        tenant: TenantId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let Some(table) = self.table(tenant).await? else { return Ok(Vec::new()) };
        let stream = table
            .query()
            .full_text_search(lancedb::index::scalar::FullTextSearchQuery::new(query.to_owned()))
            .limit(limit)
            .execute()
            .await?;
        let batches: Vec<RecordBatch> = stream.try_collect().await?;
        hits(&batches, "_score", |score| score)
    }
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, KnowledgeError> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_any().downcast_ref::<T>())
        .ok_or_else(|| KnowledgeError::Data(format!("result without column `{name}`")))
}

fn hits(batches: &[RecordBatch], score_column: &str, score: impl Fn(f32) -> f32) -> Result<Vec<Hit>, KnowledgeError> {
    let mut out = Vec::new();
    for batch in batches {
        let chunk_ids = column::<StringArray>(batch, "chunk_id")?;
        let documents = column::<StringArray>(batch, "document_id")?;
        let versions = column::<Int64Array>(batch, "document_version")?;
        let titles = column::<StringArray>(batch, "title")?;
        let headings = column::<StringArray>(batch, "heading")?;
        let texts = column::<StringArray>(batch, "text")?;
        let scores = column::<Float32Array>(batch, score_column)?;
        for row in 0..batch.num_rows() {
            let parse = |value: &str| Uuid::parse_str(value).map_err(|error| KnowledgeError::Data(error.to_string()));
            out.push(Hit {
                chunk_id: parse(chunk_ids.value(row))?,
                document_id: parse(documents.value(row))?,
                document_version: versions.value(row),
                title: titles.value(row).to_owned(),
                heading: headings.value(row).to_owned(),
                text: texts.value(row).to_owned(),
                score: score(scores.value(row)),
            });
        }
    }
    Ok(out)
}
