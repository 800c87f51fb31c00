//! Ingestion of claimed document versions: parse, chunk, embed in batches (reporting
//! progress and renewing the lease), store the chunks a few hundred at a time, then make
//! the version searchable in one database step and remove the chunks it replaced.
//!
//! A crash anywhere leaves the old version searchable: chunks of an unfinished version
//! are invisible to search (the database does not name their version). A retried
//! version resumes from the chunks its earlier attempts stored; they are removed when
//! the version is given up, replaced or deleted.

use copilot_core::Error;
use copilot_core::model::DocumentError;
use copilot_core::retry::Backoff;
use uuid::Uuid;

use crate::{
    ChunkRecord, Hit, Knowledge,
    chunk::{self, Chunk},
    documents::{self, Claimed, Failure, Finished, Recorded},
    parse,
};

/// Chunks embedded per call (and per progress report).
const EMBED_BATCH: usize = 32;
/// Chunks stored per commit while a document is embedded: what an interrupted ingestion
/// does again when it is retried.
pub const CHECKPOINT_CHUNKS: usize = 256;
/// Most passages one document may have (about 2,000 pages of text): embedding more would
/// hold a worker for hours; such a document is refused and should be split.
pub const MAX_CHUNKS: usize = 5_000;
/// How often a long parse checks that its document is still wanted.
const PARSE_CHECK: std::time::Duration = std::time::Duration::from_secs(2);
/// How long a claimed document stays with its worker without a progress report, unless
/// [`Knowledge::with_jobs`] says otherwise.
pub const LEASE_SECONDS: i64 = 120;
/// When a failed ingestion is tried again, unless [`Knowledge::with_jobs`] says otherwise:
/// 5 s, 20 s, 80 s, 320 s (a vector store or file system that is away), then `failed`.
pub const INGESTION_RETRY: Backoff = Backoff::Exponential {
    first: std::time::Duration::from_secs(5),
    factor: 4,
    cap: std::time::Duration::from_secs(600),
    max_attempts: 5,
};

/// What became of one claimed version.
#[derive(Clone, Debug, PartialEq)]
pub enum Ingested {
    /// Searchable now, with this many chunks.
    Ready { chunk_count: usize },
    /// The file is unusable, or the attempts ran out.
    Failed { error: String },
    /// Failed for a reason that may pass; queued again.
    Retrying { error: String },
    /// Replaced or deleted while it was processed; the work was discarded.
    Discarded,
}

/// The text embedded for a chunk: the document title and heading path give it context.
pub fn passage_text(title: &str, heading: &str, text: &str) -> String {
    [title, heading, text].iter().filter(|part| !part.trim().is_empty()).copied().collect::<Vec<_>>().join("\n")
}

impl Knowledge {
    /// Claims up to `limit` due documents, fairly across tenants (see [`documents::claim`]).
    pub async fn claim_due(&self, limit: u64) -> Result<Vec<Claimed>, Error> {
        documents::claim(&self.db, limit, self.lease).await
    }

    /// Claims up to `limit` due documents and ingests them one by one.
    pub async fn ingest_due(&self, limit: u64) -> Result<Vec<(Claimed, Ingested)>, Error> {
        let claimed = self.claim_due(limit).await?;
        let mut outcomes = Vec::with_capacity(claimed.len());
        for item in claimed {
            // A document that cannot be recorded now is claimed again when its lease runs
            // out; the others of the batch go on.
            match self.ingest(&item).await {
                Ok(outcome) => outcomes.push((item, outcome)),
                Err(error) => tracing::warn!(%error, document = %item.document_id, "ingesting a document failed"),
            }
        }
        Ok(outcomes)
    }

    /// Ingests one claimed version and records the outcome.
    pub async fn ingest(&self, claimed: &Claimed) -> Result<Ingested, Error> {
        let tenant = claimed.tenant_id;
        let source = {
            let tx = self.db.tenant(tenant).await?;
            documents::source(&tx, claimed).await?
        };
        let Some(source) = source else {
            self.store.delete_version(tenant, claimed.document_id, claimed.version.into()).await?;
            return Ok(Ingested::Discarded);
        };
        if let Some(request_id) = &source.request_id {
            // The job's span (the caller's) names the upload that queued it.
            tracing::Span::current().record("request_id", request_id.as_str());
        }
        let options = self.chunking;
        let format = source.format;
        let content = source.content;
        let outcome = if self.retry.exhausted(claimed.attempts) {
            Err(Failure::Permanent(
                DocumentError::Unreadable,
                "ingestion was interrupted too often (its worker stopped each time)".into(),
            ))
        } else {
            let cancel = parse::Cancel::default();
            let stop = cancel.clone();
            let parsing = tokio::task::spawn_blocking(move || {
                parse::parse_cancellable(format, &content, &stop).map(|blocks| chunk::chunk(&blocks, options))
            });
            let parsed = self.watch(claimed, parsing, &cancel).await;
            if cancel.is_cancelled() {
                return Ok(Ingested::Discarded);
            }
            match parsed {
                Ok(Ok(chunks)) if chunks.len() > MAX_CHUNKS => Err(Failure::Permanent(
                    DocumentError::TooLarge,
                    format!(
                        "the document is too long: {} passages, at most {MAX_CHUNKS} per document; split it",
                        chunks.len()
                    ),
                )),
                Ok(Ok(chunks)) => self.index(claimed, &source.title, chunks).await,
                Ok(Err(error)) => Err(Failure::Permanent(error.kind, error.message)),
                Err(_) => Err(Failure::Permanent(
                    DocumentError::Unreadable,
                    "the file could not be read (its parser stopped unexpectedly)".into(),
                )),
            }
        };
        match outcome {
            Ok(outcome) => Ok(outcome),
            Err(failure) => {
                let tx = self.db.tenant(tenant).await?;
                let recorded = documents::record_failure(&tx, claimed, &failure, &self.retry).await?;
                tx.commit().await?;
                // What this attempt wrote is not searchable: remove it when the version is
                // given up or gone, not when another attempt holds it now (its chunks are
                // not this one's to remove).
                // A retry resumes from what was stored, so that is kept.
                if matches!(recorded, Recorded::GaveUp | Recorded::Stale)
                    && let Err(error) =
                        self.store.delete_version(tenant, claimed.document_id, claimed.version.into()).await
                {
                    tracing::warn!(%error, document = %claimed.document_id, "could not remove a failed version's chunks");
                }
                let (Failure::Permanent(_, error) | Failure::Transient(error)) = failure;
                tracing::info!(document = %claimed.document_id, version = claimed.version, %error, ?recorded, "ingestion failed");
                Ok(match recorded {
                    Recorded::GaveUp => Ingested::Failed { error },
                    Recorded::WillRetry => Ingested::Retrying { error },
                    Recorded::Stale | Recorded::Fenced => Ingested::Discarded,
                })
            }
        }
    }

    /// Embeds and stores the chunks of a claimed version, resuming from what earlier
    /// attempts on it stored, and makes it the document's searchable version.
    async fn index(&self, claimed: &Claimed, title: &str, chunks: Vec<Chunk>) -> Result<Ingested, Failure> {
        let tenant = claimed.tenant_id;
        let (document, version) = (claimed.document_id, i64::from(claimed.version));
        let transient = |error: &dyn std::fmt::Display| Failure::Transient(error.to_string());
        let total = chunks.len();
        // A stored chunk is reused only if this attempt cut the same passage at its position.
        let fits = |hit: &Hit| {
            usize::try_from(hit.position)
                .ok()
                .and_then(|position| chunks.get(position))
                .is_some_and(|chunk| hit.title == title && hit.heading == chunk.heading() && hit.text == chunk.text)
        };
        // What an earlier attempt stored before it crashed, lost its lease or failed for a
        // reason that passed is kept: only the rest is embedded.
        let stored = self
            .store
            .settle_version(tenant, document, version, &fits, self.hold(claimed, 0.0))
            .await
            .map_err(|e| transient(&e))?;
        let Some(stored) = stored else { return Ok(Ingested::Discarded) };
        if !stored.is_empty() {
            tracing::info!(%document, version, stored = stored.len(), total, "resuming an interrupted ingestion");
        }
        let pending: Vec<&Chunk> = chunks.iter().filter(|chunk| !stored.contains(&chunk.position)).collect();
        let mut done = stored.len();
        let mut unsaved = Vec::with_capacity(CHECKPOINT_CHUNKS);
        for batch in pending.chunks(EMBED_BATCH) {
            let texts = batch.iter().map(|chunk| passage_text(title, &chunk.heading(), &chunk.text)).collect();
            let vectors = self.embedder.embed_passages(texts).await.map_err(|e| transient(&e))?;
            if vectors.len() != batch.len() {
                return Err(Failure::Transient(format!("{} embeddings for {} chunks", vectors.len(), batch.len())));
            }
            unsaved.extend(batch.iter().zip(vectors).map(|(chunk, vector)| ChunkRecord {
                chunk_id: Uuid::now_v7(),
                document_id: document,
                document_version: version,
                title: title.to_owned(),
                heading: chunk.heading(),
                text: chunk.text.clone(),
                position: chunk.position,
                vector,
            }));
            done += batch.len();
            let progress = 0.9 * done as f64 / total as f64;
            // Every few hundred passages are stored, so a retry resumes from there.
            let current = if unsaved.len() >= CHECKPOINT_CHUNKS || done == total {
                let saved =
                    self.store.append_version(tenant, document, version, &unsaved, self.hold(claimed, progress));
                let saved = saved.await.map_err(|e| transient(&e))?;
                unsaved.clear();
                saved
            } else {
                self.hold(claimed, progress).await.map_err(|e| transient(&e))?
            };
            if !current {
                return Ok(Ingested::Discarded);
            }
        }
        // Exactly one chunk per position, whatever attempts overlapped (one whose lease ran
        // out while it still worked may have stored a batch this one embedded again).
        let kept = self
            .store
            .settle_version(tenant, document, version, &fits, self.hold(claimed, 0.95))
            .await
            .map_err(|e| transient(&e))?;
        let Some(kept) = kept else { return Ok(Ingested::Discarded) };
        if kept.len() != total {
            return Err(Failure::Transient(format!("{} of {total} passages are stored", kept.len())));
        }
        let tx = self.db.tenant(tenant).await.map_err(|e| transient(&e))?;
        let finished = documents::activate(&tx, claimed, total as i32).await.map_err(|e| transient(&e))?;
        tx.commit().await.map_err(|e| transient(&e))?;
        match finished {
            Finished::Activated => {
                // Older versions are invisible from here on; removing them is tidying up.
                if let Err(error) = self.store.delete_other_versions(tenant, document, version).await {
                    tracing::warn!(%error, %document, "could not remove replaced chunks");
                }
                Ok(Ingested::Ready { chunk_count: total })
            }
            // Another attempt holds this version now: its chunks are the ones to keep.
            Finished::Fenced => Ok(Ingested::Discarded),
            Finished::Stale => {
                self.store.delete_version(tenant, document, version).await.map_err(|e| transient(&e))?;
                Ok(Ingested::Discarded)
            }
        }
    }

    /// Awaits a parse, checking every few seconds (and renewing the lease meanwhile)
    /// that the version is still this attempt's: once it was deleted, replaced or taken
    /// over, the parse is cancelled (it stops at the next PDF page).
    async fn watch<T>(
        &self,
        claimed: &Claimed,
        parsing: tokio::task::JoinHandle<T>,
        cancel: &parse::Cancel,
    ) -> Result<T, tokio::task::JoinError> {
        tokio::pin!(parsing);
        loop {
            tokio::select! {
                parsed = &mut parsing => return parsed,
                _ = tokio::time::sleep(PARSE_CHECK) => {
                    if let Ok(false) = self.hold(claimed, 0.0).await {
                        cancel.cancel();
                    }
                }
            }
        }
    }

    /// Whether this attempt still holds the claimed version, renewing its lease and
    /// reporting its progress when it does.
    async fn hold(&self, claimed: &Claimed, progress: f64) -> Result<bool, Error> {
        let tx = self.db.tenant(claimed.tenant_id).await?;
        let current = documents::report_progress(&tx, claimed, progress, self.lease).await?;
        tx.commit().await?;
        Ok(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passage_text_skips_empty_parts() {
        assert_eq!(passage_text("Help", "", "Text."), "Help\nText.");
        assert_eq!(passage_text("Help", "Returns > Refunds", "Text."), "Help\nReturns > Refunds\nText.");
    }
}
