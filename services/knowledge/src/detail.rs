//! Sentence-level evidence for ranking. A chunk is embedded whole when it is stored, and a
//! question that one sentence of a long chunk answers (the question in another language
//! above all) is closer to that sentence than to the whole. So the best candidates of a
//! search are scored again: a chunk gains [`SENTENCE_WEIGHT`] times what its closest
//! sentence adds over the whole chunk.
//!
//! The sentences' embeddings are made when a chunk is first among the candidates and kept
//! in memory, bounded, keyed by tenant and chunk (a stored chunk never changes: a new
//! version of a document has new chunk ids).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use copilot_core::{Error, TenantId};
use uuid::Uuid;

use crate::{Hit, Knowledge, chunk, ingest::passage_text};

/// How many of the best candidates are scored again, unless configured otherwise.
pub const CANDIDATES: usize = 20;
/// The share of a closer sentence's similarity that a chunk gains.
const SENTENCE_WEIGHT: f32 = 0.5;
/// Chunks whose sentences are kept in memory (about 5 KB each).
const CAPACITY: usize = 20_000;
/// Shorter lines and sentences are not embedded apart ("OK.", "1.").
const MIN_SENTENCE_CHARS: usize = 4;

/// The embeddings of a chunk whole and of its sentences.
pub(crate) struct Detail {
    whole: Vec<f32>,
    sentences: Vec<Vec<f32>>,
}

impl Detail {
    /// The cosine similarity of the whole chunk to a query's embedding.
    pub(crate) fn similarity(&self, query: &[f32]) -> f32 {
        dot(query, &self.whole)
    }

    /// The similarity of the chunk's closest sentence, or of the whole when it is closer.
    fn closest_sentence(&self, query: &[f32]) -> f32 {
        self.sentences.iter().map(|sentence| dot(query, sentence)).fold(self.similarity(query), f32::max)
    }
}

/// The kept embeddings, shared by every search of the process.
#[derive(Default)]
pub struct Details {
    kept: Mutex<HashMap<(TenantId, Uuid), Arc<Detail>>>,
}

impl Details {
    fn get(&self, key: &(TenantId, Uuid)) -> Option<Arc<Detail>> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key).cloned()
    }

    fn keep(&self, key: (TenantId, Uuid), detail: Arc<Detail>) {
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() >= CAPACITY {
            // Make room by dropping a tenth, whichever the map yields first.
            let drop: Vec<(TenantId, Uuid)> = kept.keys().take(CAPACITY / 10).copied().collect();
            for key in drop {
                kept.remove(&key);
            }
        }
        kept.insert(key, detail);
    }
}

/// The lines and sentences of a chunk's text that are embedded apart, each led by the
/// chunk's heading (or the document's title) for context.
fn sentence_texts(hit: &Hit) -> Vec<String> {
    let context = if hit.heading.trim().is_empty() { hit.title.as_str() } else { hit.heading.as_str() };
    let sentences: Vec<&str> = hit
        .text
        .lines()
        .flat_map(chunk::sentences)
        .filter(|sentence| sentence.chars().count() >= MIN_SENTENCE_CHARS)
        .collect();
    // A chunk of one sentence has nothing finer to offer.
    if sentences.len() < 2 {
        return Vec::new();
    }
    sentences.into_iter().map(|sentence| format!("{context}\n{sentence}")).collect()
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Knowledge {
    /// Scores the best [`Knowledge::sentence_candidates`] of `hits` (best first) again with
    /// their closest sentence; `scale` turns a cosine difference into the hits' score units.
    pub(crate) async fn sharpen(
        &self,
        tenant: TenantId,
        query: &[f32],
        mut hits: Vec<Hit>,
        scale: f32,
    ) -> Result<Vec<Hit>, Error> {
        let count = hits.len().min(self.sentence_candidates);
        if count == 0 {
            return Ok(hits);
        }
        let details = self.details_of(tenant, &hits[..count]).await?;
        for (hit, detail) in hits.iter_mut().zip(details) {
            hit.score += SENTENCE_WEIGHT * (detail.closest_sentence(query) - detail.similarity(query)) * scale;
        }
        hits[..count].sort_by(|a, b| b.score.total_cmp(&a.score).then(a.chunk_id.cmp(&b.chunk_id)));
        Ok(hits)
    }

    /// The kept embeddings of each hit, if any; none are made.
    pub(crate) fn kept_details(&self, tenant: TenantId, hits: &[Hit]) -> Vec<Option<Arc<Detail>>> {
        hits.iter().map(|hit| self.details.get(&(tenant, hit.chunk_id))).collect()
    }

    /// The embeddings of each hit, made (in one batch) for those not kept yet.
    async fn details_of(&self, tenant: TenantId, hits: &[Hit]) -> Result<Vec<Arc<Detail>>, Error> {
        let mut found = self.kept_details(tenant, hits);
        let missing: Vec<(usize, Vec<String>)> = hits
            .iter()
            .enumerate()
            .filter(|(index, _)| found[*index].is_none())
            .map(|(index, hit)| {
                let mut texts = vec![passage_text(&hit.title, &hit.heading, &hit.text)];
                texts.extend(sentence_texts(hit));
                (index, texts)
            })
            .collect();
        if !missing.is_empty() {
            let texts: Vec<String> = missing.iter().flat_map(|(_, texts)| texts.iter().cloned()).collect();
            let mut vectors = self.embedder.embed_passages(texts).await.map_err(Error::internal)?.into_iter();
            for (index, texts) in missing {
                let mut of_hit: Vec<Vec<f32>> = vectors.by_ref().take(texts.len()).collect();
                if of_hit.len() != texts.len() {
                    return Err(Error::internal("the encoder returned fewer embeddings than texts"));
                }
                let whole = of_hit.remove(0);
                let detail = Arc::new(Detail { whole, sentences: of_hit });
                self.details.keep((tenant, hits[index].chunk_id), detail.clone());
                found[index] = Some(detail);
            }
        }
        Ok(found.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(heading: &str, text: &str) -> Hit {
        Hit {
            chunk_id: Uuid::nil(),
            document_id: Uuid::nil(),
            document_version: 1,
            title: "Returns".into(),
            heading: heading.into(),
            text: text.into(),
            position: 0,
            score: 0.0,
        }
    }

    #[test]
    fn sentences_and_lines_are_embedded_apart_with_their_heading() {
        let texts =
            sentence_texts(&hit("Refunds", "Refunds take 5 days. Cards take longer.\n- Gift cards: never\nOK."));
        assert_eq!(
            texts,
            vec!["Refunds\nRefunds take 5 days.", "Refunds\nCards take longer.", "Refunds\n- Gift cards: never"]
        );
        assert_eq!(
            sentence_texts(&hit("", "退款五个工作日到账。银行卡可能更久。"))[0],
            "Returns\n退款五个工作日到账。"
        );
        assert!(sentence_texts(&hit("Refunds", "One sentence only.")).is_empty());
    }
}
