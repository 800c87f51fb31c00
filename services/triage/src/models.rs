//! The loaded model set and the triage of messages with it.

use std::{
    borrow::Cow,
    path::Path,
    sync::{Arc, OnceLock},
};

use copilot_core::model::Sentiment;
use ort::{environment::Environment, session::Session};
use serde::{Deserialize, Serialize};

use crate::{
    Encoder, HeadWeights, LinearHead, Manifest, TextKind, TriageError, detect_language, focus::joined, windows,
};

/// ONNX Runtime allows one environment per process; every session shares it.
static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();

fn environment(library: &Path) -> Result<&'static Environment, TriageError> {
    if let Some(environment) = ENVIRONMENT.get() {
        return Ok(environment);
    }
    if !library.is_file() {
        return Err(TriageError::setup("ONNX Runtime library", library, "missing"));
    }
    let environment = ort::init_from(library)
        .map_err(|error| TriageError::setup("ONNX Runtime library", library, error))?
        .with_name("copilot")
        .build()?;
    Ok(ENVIRONMENT.get_or_init(|| environment))
}

/// The intent of a message and how sure the head is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentScore {
    pub label: String,
    pub confidence: f32,
}

/// The sentiment of a message: its label and a score from -1 (negative) to 1 (positive).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SentimentScore {
    pub label: Sentiment,
    pub score: f32,
}

/// What triage finds in one message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Triage {
    pub intent: IntentScore,
    pub sentiment: SentimentScore,
    pub language: String,
}

/// Knobs of a triage run.
#[derive(Clone, Copy, Debug)]
pub struct TriageOptions {
    /// Below this top probability the intent is `other`.
    pub intent_threshold: f32,
}

impl Default for TriageOptions {
    fn default() -> Self {
        Self { intent_threshold: 0.4 }
    }
}

/// The intent label every taxonomy has, given when nothing else fits.
pub const OTHER: &str = "other";

/// The encoder, the shipped heads and the shared linear graph, loaded once per process.
pub struct Models {
    encoder: Encoder,
    sentiment: LinearHead,
    intent: LinearHead,
    linear: LinearHead,
    manifest: Manifest,
}

impl Models {
    /// Loads the model set in `dir` after checking every file against the manifest.
    /// `threads` is the number of intra-op threads of each session.
    pub fn load(dir: &Path, threads: usize) -> Result<Arc<Self>, TriageError> {
        let manifest = Manifest::read(dir)?;
        manifest.verify()?;
        let environment = environment(&manifest.path(&manifest.onnxruntime))?;
        let session = |relative: &str| -> Result<Session, TriageError> {
            let path = manifest.path(relative);
            Session::builder(environment)?
                .with_intra_threads(threads.max(1))
                .map_err(ort::Error::<()>::from)?
                .commit_from_file(&path)
                .map_err(|error| TriageError::setup("ONNX model", &path, error))
        };
        let encoder = Encoder::load(session(&manifest.encoder.model)?, &manifest.path(&manifest.encoder.tokenizer))?;
        let heads = &manifest.heads;
        let sentiment = LinearHead::new(session(&heads.sentiment.model)?, heads.sentiment.labels.clone());
        let intent = LinearHead::new(session(&heads.intent.model)?, heads.intent.labels.clone());
        let linear = LinearHead::new(session(&heads.linear)?, Vec::new());
        for label in Sentiment::ALL {
            if !sentiment.labels().iter().any(|l| l == label.as_str()) {
                return Err(TriageError::Invalid(format!("the sentiment head has no `{label}` label")));
            }
        }
        if let Some(unknown) = sentiment.labels().iter().find(|l| l.parse::<Sentiment>().is_err()) {
            return Err(TriageError::Invalid(format!("the sentiment head has an unknown label `{unknown}`")));
        }
        if !intent.labels().iter().any(|l| l == OTHER) {
            return Err(TriageError::Invalid("the intent head has no `other` label".into()));
        }
        Ok(Arc::new(Self { encoder, sentiment, intent, linear, manifest }))
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The labels of the default intent taxonomy.
    pub fn default_intents(&self) -> &[String] {
        self.intent.labels()
    }

    /// Triages messages, with the tenant's own intent head when it has one. A long
    /// message is read as two windows (see [`crate::focus`]) and judged by the one whose
    /// intent is clearer.
    pub fn triage(
        &self,
        texts: &[&str],
        tenant_head: Option<&HeadWeights>,
        options: TriageOptions,
    ) -> Result<Vec<Triage>, TriageError> {
        let windows: Vec<Vec<Cow<'_, str>>> = texts.iter().map(|text| windows(text)).collect();
        let flat: Vec<&str> = windows.iter().flatten().map(AsRef::as_ref).collect();
        let embeddings = self.encoder.embed(&flat, TextKind::Query)?;
        let sentiments = self.sentiment.probabilities(&embeddings)?;
        let (intents, intent_labels) = match tenant_head {
            Some(head) => (self.linear.probabilities_with(&embeddings, head)?, head.labels.as_slice()),
            None => (self.intent.probabilities(&embeddings)?, self.intent.labels()),
        };
        let mut results = Vec::with_capacity(texts.len());
        let mut next = 0;
        for (text, read) in texts.iter().zip(&windows) {
            let range = next..next + read.len();
            next = range.end;
            let picked = range
                .map(|i| (i, pick_intent(intent_labels, &intents[i], options.intent_threshold)))
                .max_by(|(_, a), (_, b)| clarity(a).total_cmp(&clarity(b)))
                .ok_or_else(|| TriageError::Invalid("a message gave no text to read".into()))?;
            let (i, intent) = picked;
            // Emoji, digits or punctuation alone carry no words to judge: neutral, scored 0.
            let sentiment = if text.chars().any(char::is_alphabetic) {
                sentiment_score(self.sentiment.labels(), &sentiments[i])
            } else {
                SentimentScore { label: Sentiment::Neutral, score: 0.0 }
            };
            results.push(Triage { intent, sentiment, language: detect_language(&joined(read.clone())) });
        }
        Ok(results)
    }

    /// [`Models::triage`] on the blocking thread pool, off the async workers.
    pub async fn triage_blocking(
        self: &Arc<Self>,
        texts: Vec<String>,
        tenant_head: Option<HeadWeights>,
        options: TriageOptions,
    ) -> Result<Vec<Triage>, TriageError> {
        let models = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            models.triage(&texts, tenant_head.as_ref(), options)
        })
        .await
        .map_err(|error| TriageError::Runtime(error.to_string()))?
    }
}

/// The most probable label, or `other` when it is below the threshold.
fn pick_intent(labels: &[String], probabilities: &[f32], threshold: f32) -> IntentScore {
    let best = probabilities.iter().enumerate().fold(0, |best, (i, p)| if *p > probabilities[best] { i } else { best });
    let confidence = probabilities.get(best).copied().unwrap_or(0.0);
    match labels.get(best) {
        Some(label) if confidence >= threshold => IntentScore { label: label.clone(), confidence },
        _ => {
            let other = labels.iter().position(|l| l == OTHER).and_then(|i| probabilities.get(i)).copied();
            IntentScore { label: OTHER.into(), confidence: other.unwrap_or(1.0 - confidence) }
        }
    }
}

/// How clearly a window states an intent: its confidence, and nothing for `other`.
fn clarity(intent: &IntentScore) -> f32 {
    if intent.label == OTHER { 0.0 } else { intent.confidence }
}

/// The most probable sentiment, scored as P(positive) − P(negative).
fn sentiment_score(labels: &[String], probabilities: &[f32]) -> SentimentScore {
    let probability = |name: &str| labels.iter().position(|l| l == name).and_then(|i| probabilities.get(i)).copied();
    let best = probabilities.iter().enumerate().fold(0, |best, (i, p)| if *p > probabilities[best] { i } else { best });
    SentimentScore {
        label: labels.get(best).and_then(|label| label.parse().ok()).unwrap_or(Sentiment::Neutral),
        score: probability("positive").unwrap_or(0.0) - probability("negative").unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_confident_intent_is_kept() {
        let picked = pick_intent(&labels(&["track_order", "other"]), &[0.9, 0.1], 0.4);
        assert_eq!(picked, IntentScore { label: "track_order".into(), confidence: 0.9 });
    }

    #[test]
    fn a_doubtful_intent_becomes_other_with_others_probability() {
        let picked = pick_intent(&labels(&["track_order", "get_refund", "other"]), &[0.35, 0.33, 0.32], 0.4);
        assert_eq!(picked, IntentScore { label: "other".into(), confidence: 0.32 });
    }

    #[test]
    fn the_sentiment_score_is_positive_minus_negative() {
        let scored = sentiment_score(&labels(&["negative", "neutral", "positive"]), &[0.7, 0.2, 0.1]);
        assert_eq!(scored.label, Sentiment::Negative);
        assert!((scored.score + 0.6).abs() < 1e-6);
    }
}
