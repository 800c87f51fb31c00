//! One LanceDB table per tenant (`kb_<tenant id>`), under a base URI: a local folder by
//! default, or object storage (`s3://bucket/prefix`) for several nodes.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use arrow_array::{
    Array, FixedSizeListArray, Float32Array, Int32Array, Int64Array, RecordBatch, StringArray, types::Float32Type,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use copilot_core::TenantId;
use futures::TryStreamExt;
use lancedb::{
    Connection, Table,
    index::{
        Index,
        scalar::{BitmapIndexBuilder, FtsIndexBuilder},
        vector::IvfHnswSqIndexBuilder,
    },
    query::{ExecutableQuery, QueryBase},
    table::{OptimizeAction, OptimizeOptions},
};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("vector store: {0}")]
    Store(#[from] lancedb::Error),
    #[error("vector store data: {0}")]
    Data(String),
    #[error("vector store write lock: {0}")]
    Lock(copilot_core::Error),
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
    pub position: i32,
    pub score: f32,
}

/// Rows from which a tenant's table gets an approximate nearest-neighbour index: below it
/// an exact scan is fast enough and needs no training.
pub const ANN_MIN_ROWS: usize = 10_000;

/// The per-tenant tables under one base URI.
///
/// Writes to a tenant's table take a lock named after it first (see
/// [`copilot_store::locks`]): across every process sharing the database given to
/// [`VectorStore::with_write_locks`], else within this process, so concurrent ingestion,
/// deletion and compaction never race on one table's commits.
#[derive(Clone)]
pub struct VectorStore {
    db: Connection,
    dim: usize,
    ann_min_rows: usize,
    locks: Option<copilot_store::Db>,
}

impl VectorStore {
    /// Opens (or creates) the store at `uri`: a local path or `s3://…`.
    ///
    /// Every read checks for the table's latest version, so a search sees what any
    /// process (or any other handle of this one) committed before it started.
    pub async fn open(uri: &str, dim: usize) -> Result<Self, KnowledgeError> {
        let db = lancedb::connect(uri).read_consistency_interval(std::time::Duration::ZERO).execute().await?;
        Ok(Self { db, dim, ann_min_rows: ANN_MIN_ROWS, locks: None })
    }

    /// The same store, its writers coordinated through `db` (processes sharing the table
    /// location must share the database).
    pub fn with_write_locks(self, db: copilot_store::Db) -> Self {
        Self { locks: Some(db), ..self }
    }

    /// Waits until this task is the table's only writer.
    async fn lock(&self, tenant: TenantId) -> Result<copilot_store::locks::WriteLock, KnowledgeError> {
        copilot_store::locks::write_lock(self.locks.as_ref(), &format!("lance:{}", Self::table_name(tenant)))
            .await
            .map_err(KnowledgeError::Lock)
    }

    /// The same store with another threshold for the approximate vector index.
    pub fn with_ann_min_rows(self, rows: usize) -> Self {
        Self { ann_min_rows: rows, ..self }
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
            // What full-text search reads: the heading path and the text.
            Field::new("search_text", DataType::Utf8, false),
            // `cjk` or `other`: vector search ranks each script apart (see `vector_search`).
            Field::new("script", DataType::Utf8, false),
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
        match self.db.open_table(Self::table_name(tenant)).execute().await {
            Ok(table) => Ok(Some(table)),
            Err(lancedb::Error::TableNotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
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
                strings(&|c| format!("{}\n{}", c.heading, c.text)),
                strings(&|c| script_of(&c.text).to_owned()),
                Arc::new(Int32Array::from(chunks.iter().map(|c| c.position).collect::<Vec<_>>())),
                Arc::new(vectors),
            ],
        )
        .map_err(|error| KnowledgeError::Data(error.to_string()))
    }

    /// Adds chunks to the tenant's table (created, with its full-text index, on first use),
    /// in one commit, and folds them into the indexes.
    pub async fn add(&self, tenant: TenantId, chunks: &[ChunkRecord]) -> Result<(), KnowledgeError> {
        if chunks.is_empty() {
            return Ok(());
        }
        let batch = self.batch(chunks)?;
        let _writer = self.lock(tenant).await?;
        self.add_batch(tenant, batch).await
    }

    /// Adds chunks of one version of a document, as one commit, while the writer still
    /// holds the version: `held` is awaited once the write lock is taken, and when it says
    /// another attempt took the version over, nothing is written and the result is `false`.
    pub async fn append_version(
        &self,
        tenant: TenantId,
        document_id: Uuid,
        version: i64,
        chunks: &[ChunkRecord],
        held: impl Future<Output = Result<bool, copilot_core::Error>>,
    ) -> Result<bool, KnowledgeError> {
        if let Some(stray) = chunks.iter().find(|c| c.document_id != document_id || c.document_version != version) {
            return Err(KnowledgeError::Data(format!("chunk {} is not of this version", stray.chunk_id)));
        }
        let batch = self.batch(chunks)?;
        let _writer = self.lock(tenant).await?;
        if !held.await.map_err(KnowledgeError::Lock)? {
            return Ok(false);
        }
        if !chunks.is_empty() {
            self.add_batch(tenant, batch).await?;
        }
        Ok(true)
    }

    /// Of the stored chunks of one version of a document, keeps one per position among
    /// those `fits` accepts and removes every other, as one writer's step while `held`
    /// says the writer still holds the version (else nothing changes and the result is
    /// `None`). Returns the positions kept: what earlier or overlapping attempts on the
    /// version already stored and need not be done again.
    pub async fn settle_version(
        &self,
        tenant: TenantId,
        document_id: Uuid,
        version: i64,
        fits: impl Fn(&Hit) -> bool,
        held: impl Future<Output = Result<bool, copilot_core::Error>>,
    ) -> Result<Option<BTreeSet<i32>>, KnowledgeError> {
        let _writer = self.lock(tenant).await?;
        if !held.await.map_err(KnowledgeError::Lock)? {
            return Ok(None);
        }
        let Some(table) = self.table(tenant).await? else { return Ok(Some(BTreeSet::new())) };
        let stored = self.chunks(tenant, document_id, version, 0, SETTLE_MAX_ROWS).await?;
        let mut kept = BTreeSet::new();
        let mut extra = Vec::new();
        for chunk in stored {
            if fits(&chunk) && kept.insert(chunk.position) {
                continue;
            }
            extra.push(format!("'{}'", chunk.chunk_id));
        }
        for ids in extra.chunks(DELETE_BATCH) {
            table.delete(&format!("chunk_id IN ({})", ids.join(", "))).await?;
        }
        Ok(Some(kept))
    }

    /// Appends a batch; the caller holds the table's write lock.
    async fn add_batch(&self, tenant: TenantId, batch: RecordBatch) -> Result<(), KnowledgeError> {
        let table = match self.table(tenant).await? {
            Some(table) => table,
            None => match self.db.create_table(Self::table_name(tenant), vec![batch.clone()]).execute().await {
                Ok(table) => {
                    // ICU word segmentation splits Chinese (and Japanese, Thai) into words;
                    // English words are stemmed and its stop words dropped.
                    let tokenizer =
                        FtsIndexBuilder::default().base_tokenizer("icu".into()).stem(true).remove_stop_words(true);
                    table.create_index(&["search_text"], Index::FTS(tokenizer)).replace(true).execute().await?;
                    return Ok(());
                }
                // Created meanwhile by a writer no shared lock covers (another store on the
                // same location without the same database).
                Err(lancedb::Error::TableAlreadyExists { .. }) => {
                    self.table(tenant).await?.ok_or_else(|| KnowledgeError::Data("table vanished".into()))?
                }
                Err(error) => return Err(error.into()),
            },
        };
        table.add(vec![batch]).execute().await?;
        table.optimize(OptimizeAction::Index(OptimizeOptions::default())).await?;
        Ok(())
    }

    /// Removes every chunk of a document.
    pub async fn delete_document(&self, tenant: TenantId, document_id: Uuid) -> Result<(), KnowledgeError> {
        self.delete_where(tenant, &format!("document_id = '{document_id}'")).await
    }

    /// Removes the chunks of one version of a document.
    pub async fn delete_version(
        &self,
        tenant: TenantId,
        document_id: Uuid,
        version: i64,
    ) -> Result<(), KnowledgeError> {
        self.delete_where(tenant, &version_predicate(document_id, version)).await
    }

    /// Removes the chunks of every version of a document but `keep`.
    pub async fn delete_other_versions(
        &self,
        tenant: TenantId,
        document_id: Uuid,
        keep: i64,
    ) -> Result<(), KnowledgeError> {
        self.delete_where(tenant, &format!("document_id = '{document_id}' AND document_version <> {keep}")).await
    }

    async fn delete_where(&self, tenant: TenantId, predicate: &str) -> Result<(), KnowledgeError> {
        let _writer = self.lock(tenant).await?;
        if let Some(table) = self.table(tenant).await? {
            table.delete(predicate).await?;
        }
        Ok(())
    }

    /// Compacts the tenant's table, folds new rows into its indexes and prunes old files.
    /// A table that has grown past the threshold (see [`ANN_MIN_ROWS`]) gets its
    /// approximate vector index here, with a bitmap index on the script column that vector
    /// search filters on first; smaller tables are scanned exactly.
    pub async fn optimize(&self, tenant: TenantId) -> Result<(), KnowledgeError> {
        let _writer = self.lock(tenant).await?;
        if let Some(table) = self.table(tenant).await? {
            let indexed: Vec<String> =
                table.list_indices().await?.into_iter().flat_map(|index| index.columns).collect();
            let rows = table.count_rows(None).await?;
            if !indexed.iter().any(|column| column == "vector") && rows >= self.ann_min_rows {
                if !indexed.iter().any(|column| column == "script") {
                    table.create_index(&["script"], Index::Bitmap(BitmapIndexBuilder::default())).execute().await?;
                }
                // A few large IVF partitions (every query probes them all), an HNSW graph in
                // each, 8-bit scalar-quantised vectors; results are re-ranked on the full
                // vectors (see `vector_search`). The default of √rows partitions, of which a
                // query probes about twenty, misses most true neighbours.
                let partitions = (rows / ROWS_PER_PARTITION).clamp(1, MAX_PARTITIONS) as u32;
                let index = IvfHnswSqIndexBuilder::default()
                    .distance_type(lancedb::DistanceType::Cosine)
                    .num_partitions(partitions);
                table.create_index(&["vector"], Index::IvfHnswSq(index)).execute().await?;
            }
            table.optimize(OptimizeAction::All).await?;
        }
        Ok(())
    }

    /// Whether the tenant's table has its approximate vector index.
    pub async fn has_vector_index(&self, tenant: TenantId) -> Result<bool, KnowledgeError> {
        let Some(table) = self.table(tenant).await? else { return Ok(false) };
        Ok(table.list_indices().await?.iter().any(|index| index.columns.iter().any(|column| column == "vector")))
    }

    /// The chunks of one version of a document with positions `from..from + limit`, in order.
    pub async fn chunks(
        &self,
        tenant: TenantId,
        document_id: Uuid,
        version: i64,
        from: i32,
        limit: usize,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let Some(table) = self.table(tenant).await? else { return Ok(Vec::new()) };
        let until = i64::from(from) + limit as i64;
        let stream = table
            .query()
            .only_if(format!(
                "document_id = '{document_id}' AND document_version = {version} AND position >= {from} AND position < {until}"
            ))
            .limit(limit)
            .execute()
            .await?;
        let batches: Vec<RecordBatch> = stream.try_collect().await?;
        let mut chunks = hits(&batches, None, |score| score)?;
        chunks.sort_by_key(|chunk| chunk.position);
        Ok(chunks)
    }

    /// The stored embeddings of `chunk_ids` (those still stored), by chunk id.
    pub async fn vectors_of(
        &self,
        tenant: TenantId,
        chunk_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<f32>>, KnowledgeError> {
        let mut found = HashMap::new();
        if chunk_ids.is_empty() {
            return Ok(found);
        }
        let Some(table) = self.table(tenant).await? else { return Ok(found) };
        let batches: Vec<RecordBatch> = table
            .query()
            .only_if(uuid_in("chunk_id", chunk_ids))
            .limit(chunk_ids.len())
            .execute()
            .await?
            .try_collect()
            .await?;
        for batch in &batches {
            let ids = column::<StringArray>(batch, "chunk_id")?;
            let vectors = column::<FixedSizeListArray>(batch, "vector")?;
            for row in 0..batch.num_rows() {
                let id = Uuid::parse_str(ids.value(row)).map_err(|error| KnowledgeError::Data(error.to_string()))?;
                let vector = vectors.value(row);
                let values = vector
                    .as_any()
                    .downcast_ref::<Float32Array>()
                    .ok_or_else(|| KnowledgeError::Data("vector values are not 32-bit floats".into()))?;
                found.insert(id, values.values().to_vec());
            }
        }
        Ok(found)
    }

    /// The chunks nearest to `vector`, best first; only of `documents` when given.
    ///
    /// The multilingual encoder scores passages in the query's own script higher across
    /// the board, which buries the answer in another language. So the nearest chunks of
    /// each script are searched apart, and when both scripts answer with enough hits to
    /// tell their level ([`MIN_TO_CENTRE`]), each hit's score is its cosine similarity
    /// minus the mean of its script's hits; otherwise the score is the cosine similarity
    /// itself (a mean of one or two hits would erase the best passage of a small corpus).
    pub async fn vector_search(
        &self,
        tenant: TenantId,
        vector: &[f32],
        limit: usize,
        documents: Option<&[Uuid]>,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let Some(table) = self.table(tenant).await? else { return Ok(Vec::new()) };
        let nearest = |script: &'static str| {
            let table = table.clone();
            let mut filter = format!("script = '{script}'");
            if let Some(documents) = documents {
                filter = format!("{filter} AND {}", uuid_in("document_id", documents));
            }
            let vector = vector.to_vec();
            async move {
                // The search effort and the re-ranking apply once the table has its
                // approximate index; an exact scan ignores them.
                let query = table
                    .query()
                    .nearest_to(vector)?
                    .distance_type(lancedb::DistanceType::Cosine)
                    .ef(limit.max(ANN_MIN_CANDIDATES) * ANN_EF_PER_RESULT)
                    .refine_factor(ANN_REFINE_FACTOR)
                    .limit(limit)
                    .only_if(filter);
                let batches: Vec<RecordBatch> = query.execute().await?.try_collect().await?;
                hits(&batches, Some("_distance"), |distance| 1.0 - distance)
            }
        };
        let (cjk, other) = futures::try_join!(nearest(SCRIPTS[0]), nearest(SCRIPTS[1]))?;
        let mut merged = if cjk.len() < MIN_TO_CENTRE || other.len() < MIN_TO_CENTRE {
            [cjk, other].concat()
        } else {
            [centred(cjk), centred(other)].concat()
        };
        merged.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.chunk_id.cmp(&b.chunk_id)));
        merged.truncate(limit);
        Ok(merged)
    }

    /// The chunks matching `query` by full-text search (BM25), best first; only of
    /// `documents` when given.
    pub async fn keyword_search(
        &self,
        tenant: TenantId,
        query: &str,
        limit: usize,
        documents: Option<&[Uuid]>,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let Some(table) = self.table(tenant).await? else { return Ok(Vec::new()) };
        let mut search = table
            .query()
            .full_text_search(lancedb::index::scalar::FullTextSearchQuery::new(query.to_owned()))
            .limit(limit);
        if let Some(documents) = documents {
            search = search.only_if(uuid_in("document_id", documents));
        }
        let found: Result<Vec<RecordBatch>, KnowledgeError> =
            async { Ok(search.execute().await?.try_collect().await?) }.await;
        match found {
            Ok(batches) => hits(&batches, Some("_score"), |score| score),
            // A new table gets its full-text index right after its first rows (`add_batch`);
            // a search in between finds nothing by keyword rather than failing.
            Err(error) => {
                let indexed =
                    table.list_indices().await?.iter().any(|index| index.columns.iter().any(|c| c == "search_text"));
                if indexed { Err(error) } else { Ok(Vec::new()) }
            }
        }
    }
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, KnowledgeError> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_any().downcast_ref::<T>())
        .ok_or_else(|| KnowledgeError::Data(format!("result without column `{name}`")))
}

/// Candidates the approximate search keeps per result it returns, at least
/// [`ANN_MIN_CANDIDATES`] results' worth.
const ANN_EF_PER_RESULT: usize = 10;
const ANN_MIN_CANDIDATES: usize = 10;

/// How many times the limit the approximate search re-ranks on the full vectors.
const ANN_REFINE_FACTOR: u32 = 4;

/// Rows per IVF partition of the approximate index, and the most partitions (so that a
/// query, which probes up to twenty, sees all of them).
const ROWS_PER_PARTITION: usize = 25_000;
const MAX_PARTITIONS: usize = 16;

/// Most stored rows of one version read when settling it (far above the passages a
/// document may have, duplicates of overlapping attempts included).
const SETTLE_MAX_ROWS: usize = 1_000_000;

/// Chunk ids named in one delete.
const DELETE_BATCH: usize = 500;

/// Hits a script needs before its scores are centred on their mean.
const MIN_TO_CENTRE: usize = 5;

/// The scripts vector search ranks apart.
const SCRIPTS: [&str; 2] = ["cjk", "other"];

/// The rows of one version of a document.
fn version_predicate(document_id: Uuid, version: i64) -> String {
    format!("document_id = '{document_id}' AND document_version = {version}")
}

/// `cjk` when at least a third of the text's non-space characters are Chinese, Japanese
/// or Korean, else `other`.
pub fn script_of(text: &str) -> &'static str {
    let (cjk, all) = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .fold((0usize, 0usize), |(cjk, all), c| (cjk + usize::from(crate::chunk::is_cjk(c)), all + 1));
    if cjk * 3 >= all.max(1) { SCRIPTS[0] } else { SCRIPTS[1] }
}

/// Scores minus their mean.
fn centred(mut hits: Vec<Hit>) -> Vec<Hit> {
    let mean = hits.iter().map(|hit| hit.score).sum::<f32>() / hits.len().max(1) as f32;
    hits.iter_mut().for_each(|hit| hit.score -= mean);
    hits
}

/// `column IN (…)`; ids are UUIDs, so they need no quoting beyond the quotes.
fn uuid_in(column: &str, ids: &[Uuid]) -> String {
    if ids.is_empty() {
        return "false".into();
    }
    let list: Vec<String> = ids.iter().map(|id| format!("'{id}'")).collect();
    format!("{column} IN ({})", list.join(", "))
}

fn hits(
    batches: &[RecordBatch],
    score_column: Option<&str>,
    score: impl Fn(f32) -> f32,
) -> Result<Vec<Hit>, KnowledgeError> {
    let mut out = Vec::new();
    for batch in batches {
        let chunk_ids = column::<StringArray>(batch, "chunk_id")?;
        let documents = column::<StringArray>(batch, "document_id")?;
        let versions = column::<Int64Array>(batch, "document_version")?;
        let titles = column::<StringArray>(batch, "title")?;
        let headings = column::<StringArray>(batch, "heading")?;
        let texts = column::<StringArray>(batch, "text")?;
        let positions = column::<Int32Array>(batch, "position")?;
        let scores = score_column.map(|name| column::<Float32Array>(batch, name)).transpose()?;
        for row in 0..batch.num_rows() {
            let parse = |value: &str| Uuid::parse_str(value).map_err(|error| KnowledgeError::Data(error.to_string()));
            out.push(Hit {
                chunk_id: parse(chunk_ids.value(row))?,
                document_id: parse(documents.value(row))?,
                document_version: versions.value(row),
                title: titles.value(row).to_owned(),
                heading: headings.value(row).to_owned(),
                text: texts.value(row).to_owned(),
                position: positions.value(row),
                score: scores.map_or(0.0, |scores| score(scores.value(row))),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_cjk_when_a_third_of_the_text_is() {
        assert_eq!(script_of("退货政策"), "cjk");
        assert_eq!(script_of("Return policy: 30 天"), "other");
        assert_eq!(script_of("请在 30 days 内退货"), "cjk");
        assert_eq!(script_of(""), "other");
    }
}
