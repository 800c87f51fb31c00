//! Whether a search's best passage answers the question. A similarity threshold alone does
//! not hold on a real knowledge base: with a few hundred passages some policy is always
//! close to an on-topic question it does not answer ("do you sell e-bikes?" sits next to
//! the outdoor-gear passages). [`Relevance::answerability`] reads the similarity together
//! with how far the best passage stands above the other close candidates, as a logistic
//! model calibrated on the tuning half of the project's help-centre evaluation set
//! (`tests/fixtures/knowledge/support-eval.json`, by `tools/fixtures/calibrate_relevance.py`)
//! and measured on its held-out half by `tests/api/knowledge_eval.rs`. It estimates, it
//! does not read: telling "do you sell tents?" (answered) from "do you sell e-bikes?" (not)
//! needs a model that reads the question and the passage together (see
//! docs/decisions/0036).

use copilot_core::{Error, TenantId};

use uuid::Uuid;

use crate::{Hit, Knowledge, detail::dot};

/// How many of the best hits are the candidates the best one is compared with.
pub const EVIDENCE_CANDIDATES: usize = 10;

/// What the best hit of a search has for it as an answer to the query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Relevance {
    /// The cosine similarity of the query and the best passage (multilingual-e5-small's
    /// similarities sit between about 0.75 and 0.95).
    pub similarity: f32,
    /// The similarity minus the mean of the best [`EVIDENCE_CANDIDATES`] passages'.
    pub margin: f32,
    /// The estimated probability (0 to 1) that the best passage answers the query, with
    /// answerable and unanswerable questions taken as equally likely.
    pub answerability: f32,
}

/// The model's weights on the similarity and the margin, then its bias; printed by
/// `tools/fixtures/calibrate_relevance.py`.
const WEIGHTS: [f32; 3] = [25.6, 10.56, -22.49];

impl Relevance {
    /// The measures of the best of `similarities` (the candidates', best hit first).
    pub fn of(similarities: &[f32]) -> Option<Self> {
        let similarity = *similarities.first()?;
        let mean = similarities.iter().sum::<f32>() / similarities.len() as f32;
        let margin = similarity - mean;
        let [w_similarity, w_margin, bias] = WEIGHTS;
        let logit = w_similarity * similarity + w_margin * margin + bias;
        let answerability = 1.0 / (1.0 + (-logit).exp());
        Some(Self { similarity, margin, answerability })
    }
}

impl Knowledge {
    /// The [`Relevance`] of the best of `hits` (best first) for the query's embedding;
    /// none when its passages are all gone. The passages' embeddings are the ones sentence
    /// scoring keeps, else the stored ones: nothing is embedded for it.
    pub(crate) async fn relevance_of(
        &self,
        tenant: TenantId,
        query: &[f32],
        hits: &[Hit],
    ) -> Result<Option<Relevance>, Error> {
        let candidates = &hits[..hits.len().min(EVIDENCE_CANDIDATES)];
        let kept = self.kept_details(tenant, candidates);
        let missing: Vec<Uuid> =
            candidates.iter().zip(&kept).filter(|(_, kept)| kept.is_none()).map(|(hit, _)| hit.chunk_id).collect();
        let stored = self.store.vectors_of(tenant, &missing).await?;
        let similarities: Vec<f32> = candidates
            .iter()
            .zip(&kept)
            .filter_map(|(hit, kept)| match kept {
                Some(detail) => Some(detail.similarity(query)),
                None => stored.get(&hit.chunk_id).map(|vector| dot(query, vector)),
            })
            .collect();
        Ok(Relevance::of(&similarities))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_passage_is_measured_against_the_other_candidates() {
        let relevance = Relevance::of(&[0.90, 0.80, 0.80, 0.80]).expect("measured");
        assert!((relevance.margin - 0.075).abs() < 1e-6, "{relevance:?}");
        assert_eq!(relevance.similarity, 0.90);
        assert_eq!(Relevance::of(&[0.85]).map(|relevance| relevance.margin), Some(0.0));
        assert_eq!(Relevance::of(&[]), None);
    }

    #[test]
    fn a_closer_passage_standing_further_out_is_more_likely_an_answer() {
        let answer = |similarities: &[f32]| Relevance::of(similarities).map_or(0.0, |r| r.answerability);
        let close_and_apart = answer(&[0.92, 0.84, 0.83, 0.83]);
        let close_among_equals = answer(&[0.92, 0.91, 0.91, 0.90]);
        let far = answer(&[0.80, 0.79, 0.78, 0.78]);
        assert!(
            close_and_apart > close_among_equals && close_among_equals > far,
            "{close_and_apart} {close_among_equals} {far}"
        );
        assert!((0.0..=1.0).contains(&far) && (0.0..=1.0).contains(&close_and_apart));
    }
}
