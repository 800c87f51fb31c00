//! Search over a tenant's knowledge: vector (multilingual embeddings, so a Chinese query
//! finds an English passage and the reverse), keyword (BM25 over ICU word segmentation,
//! which splits Chinese), or both combined. Hits of versions the database does not name
//! as searchable (being replaced, failed, deleted) are dropped.

use std::collections::{HashMap, HashSet};

use copilot_core::{Error, TenantId, values::bounded_text};
use uuid::Uuid;

use crate::{EVIDENCE_CANDIDATES, Hit, Knowledge, Relevance, documents};

/// How to search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Vector and keyword results combined (see [`fuse`]).
    #[default]
    Hybrid,
    Vector,
    Keyword,
}

#[derive(Clone, Debug)]
pub struct SearchRequest {
    pub query: String,
    pub limit: usize,
    pub mode: Mode,
    /// Only documents with any of these tags, when not empty.
    pub tags: Vec<String>,
}

/// Most hits a search returns.
pub const MAX_LIMIT: usize = 50;
/// The weight of keyword evidence in hybrid search, relative to one standard deviation of
/// the vector scores (see [`fuse`]).
const KEYWORD_WEIGHT: f32 = 0.1;

impl Knowledge {
    /// The best chunks for the query, best first, each from a searchable version.
    pub async fn search(&self, tenant: TenantId, request: &SearchRequest) -> Result<Vec<Hit>, Error> {
        let mut hits = self.search_embedded(tenant, request).await?.0;
        hits.truncate(request.limit);
        Ok(hits)
    }

    /// [`Knowledge::search`], and how likely its best hit answers the query (see
    /// [`Relevance`]); none without hits.
    pub async fn search_with_relevance(
        &self,
        tenant: TenantId,
        request: &SearchRequest,
    ) -> Result<(Vec<Hit>, Option<Relevance>), Error> {
        let (mut hits, embedding) = self.search_embedded(tenant, request).await?;
        if hits.is_empty() {
            return Ok((hits, None));
        }
        let embedding = match embedding {
            Some(embedding) => embedding,
            None => self.embed_query(&request.query).await?,
        };
        let relevance = self.relevance_of(tenant, &embedding, &hits).await?;
        hits.truncate(request.limit);
        Ok((hits, relevance))
    }

    /// The search, with the query's embedding when vector search needed one; at least
    /// [`EVIDENCE_CANDIDATES`] hits when there are so many, whatever the limit, so that a
    /// search's relevance does not depend on how many hits it shows.
    async fn search_embedded(
        &self,
        tenant: TenantId,
        request: &SearchRequest,
    ) -> Result<(Vec<Hit>, Option<Vec<f32>>), Error> {
        let query = bounded_text("query", &request.query, 1, 2000)?;
        if !(1..=MAX_LIMIT).contains(&request.limit) {
            return Err(Error::validation("invalid_limit", format!("`limit` must be between 1 and {MAX_LIMIT}")));
        }
        let documents = if request.tags.is_empty() {
            None
        } else {
            let tx = self.db.tenant(tenant).await?;
            let tagged = documents::tagged(&tx, &request.tags).await?;
            if tagged.is_empty() {
                return Ok((Vec::new(), None));
            }
            Some(tagged)
        };
        // Fetch extra candidates: some may belong to versions that are not searchable.
        let candidates = (request.limit * 4).max(40);
        let embedding = match request.mode {
            Mode::Vector | Mode::Hybrid => Some(self.embed_query(&query).await?),
            Mode::Keyword => None,
        };
        let vector = match &embedding {
            Some(embedding) => self.store.vector_search(tenant, embedding, candidates, documents.as_deref()).await?,
            None => Vec::new(),
        };
        let keyword = match request.mode {
            Mode::Keyword | Mode::Hybrid => {
                self.store.keyword_search(tenant, &query, candidates, documents.as_deref()).await?
            }
            Mode::Vector => Vec::new(),
        };
        let (vector, keyword) = self.searchable(tenant, vector, keyword).await?;
        let mut hits = match (request.mode, &embedding) {
            (Mode::Vector, Some(embedding)) => self.sharpen(tenant, embedding, vector, 1.0).await?,
            (Mode::Hybrid, Some(embedding)) => {
                let scale = 1.0 / spread(&vector);
                self.sharpen(tenant, embedding, fuse(&vector, &keyword), scale).await?
            }
            (Mode::Vector, None) => vector,
            (Mode::Keyword | Mode::Hybrid, _) => keyword,
        };
        hits.truncate(request.limit.max(EVIDENCE_CANDIDATES));
        Ok((hits, embedding))
    }

    /// The embedding of a query (its first 2,000 characters).
    async fn embed_query(&self, query: &str) -> Result<Vec<f32>, Error> {
        let query: String = query.chars().take(2000).collect();
        self.embedder.embed_query(query).await.map_err(Error::internal)
    }

    /// Keeps only hits of each document's searchable version.
    async fn searchable(
        &self,
        tenant: TenantId,
        vector: Vec<Hit>,
        keyword: Vec<Hit>,
    ) -> Result<(Vec<Hit>, Vec<Hit>), Error> {
        let ids: Vec<Uuid> =
            vector.iter().chain(&keyword).map(|hit| hit.document_id).collect::<HashSet<_>>().into_iter().collect();
        let active = {
            let tx = self.db.tenant(tenant).await?;
            documents::active_versions(&tx, &ids).await?
        };
        let keep = |hits: Vec<Hit>| -> Vec<Hit> {
            hits.into_iter()
                .filter(|hit| {
                    active.get(&hit.document_id).is_some_and(|version| i64::from(*version) == hit.document_version)
                })
                .collect()
        };
        Ok((keep(vector), keep(keyword)))
    }
}

/// Hybrid ranking: each chunk scores its vector score in standard deviations of the
/// vector candidates, plus [`KEYWORD_WEIGHT`] times its BM25 score relative to the best
/// keyword hit. Keyword matches lift passages that share the customer's words; they
/// cannot outweigh a clearly closer meaning, which keeps answers in another language
/// (that share no words with the question) in reach.
///
/// The weight was chosen on an earlier, smaller evaluation set (see bench/README.md);
/// reciprocal rank fusion did worse there on cross-lingual questions (see bench/README.md).
pub fn fuse(vector: &[Hit], keyword: &[Hit]) -> Vec<Hit> {
    let mut scores: HashMap<Uuid, (f32, Hit)> = HashMap::new();
    if !vector.is_empty() {
        let spread = spread(vector);
        for hit in vector {
            scores.entry(hit.chunk_id).or_insert_with(|| (0.0, hit.clone())).0 += hit.score / spread;
        }
    }
    let best = keyword.iter().map(|hit| hit.score).fold(0.0f32, f32::max);
    if best > 0.0 {
        for hit in keyword {
            scores.entry(hit.chunk_id).or_insert_with(|| (0.0, hit.clone())).0 += KEYWORD_WEIGHT * hit.score / best;
        }
    }
    let mut fused: Vec<Hit> = scores.into_values().map(|(score, hit)| Hit { score, ..hit }).collect();
    fused.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.chunk_id.cmp(&b.chunk_id)));
    fused
}

/// The standard deviation of the vector candidates' scores (1 when they are all alike or
/// there are none): the unit of hybrid scores.
fn spread(vector: &[Hit]) -> f32 {
    if vector.is_empty() {
        return 1.0;
    }
    let mean = vector.iter().map(|hit| hit.score).sum::<f32>() / vector.len() as f32;
    let variance = vector.iter().map(|hit| (hit.score - mean).powi(2)).sum::<f32>() / vector.len() as f32;
    if variance > f32::EPSILON { variance.sqrt() } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: u128, score: f32) -> Hit {
        Hit {
            chunk_id: Uuid::from_u128(id),
            document_id: Uuid::from_u128(1000),
            document_version: 1,
            title: String::new(),
            heading: String::new(),
            text: String::new(),
            position: 0,
            score,
        }
    }

    #[test]
    fn keyword_evidence_breaks_near_ties_between_vector_hits() {
        let vector = vec![hit(1, 0.80), hit(2, 0.79), hit(3, 0.50)];
        let keyword = vec![hit(2, 7.0)];
        let order: Vec<u128> = fuse(&vector, &keyword).iter().map(|h| h.chunk_id.as_u128()).collect();
        assert_eq!(order, vec![2, 1, 3]);
    }

    #[test]
    fn keyword_evidence_does_not_outweigh_a_clearly_closer_meaning() {
        let vector = vec![hit(1, 0.90), hit(2, 0.60), hit(3, 0.55), hit(4, 0.50)];
        let keyword = vec![hit(4, 9.0), hit(5, 8.0)];
        let order: Vec<u128> = fuse(&vector, &keyword).iter().map(|h| h.chunk_id.as_u128()).collect();
        assert_eq!(order[0], 1);
        assert!(order.contains(&5), "keyword-only hits are kept");
    }

    #[test]
    fn fusing_one_list_keeps_its_order() {
        let order: Vec<u128> =
            fuse(&[hit(5, 0.9), hit(4, 0.8), hit(6, 0.7)], &[]).iter().map(|h| h.chunk_id.as_u128()).collect();
        assert_eq!(order, vec![5, 4, 6]);
        let order: Vec<u128> = fuse(&[], &[hit(7, 3.0), hit(8, 1.0)]).iter().map(|h| h.chunk_id.as_u128()).collect();
        assert_eq!(order, vec![7, 8]);
    }
}
