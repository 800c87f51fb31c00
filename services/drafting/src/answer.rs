//! Reading the model's answer: citation markers (`[S1]`) become citations of the
//! retrieved passages and leave the body, markers naming no retrieved passage are dropped
//! (and counted), the no-answer marker is noticed, and each citation gets a quote: the
//! passage sentence closest to the sentence that cites it.

use std::{collections::HashSet, sync::LazyLock};

use regex::Regex;

use crate::prompt::{NO_ANSWER, Passage};

/// One cited passage, by its index in the retrieved passages.
#[derive(Clone, Debug, PartialEq)]
pub struct Citation {
    pub passage: usize,
    pub quote: String,
    /// The body's sentence that cites the passage, as it reads in the body.
    pub sentence: Option<String>,
}

/// A parsed answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The reply without citation markers.
    pub body: String,
    /// Distinct cited passages in order of first citation.
    pub citations: Vec<Citation>,
    /// Markers that named no retrieved passage.
    pub dropped_citations: usize,
    /// The model said the passages do not answer the question.
    pub insufficient: bool,
    /// The model copied the prompt's block boundaries into its answer (they were removed):
    /// a sign it did not follow the instructions.
    pub echoed_prompt: bool,
}

static MARKER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\[\s*(S\s?\d+(?:\s*[,;]\s*S\s?\d+)*)\s*\]").ok());
static SPACE_BEFORE_PUNCTUATION: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[ \t]+([.,!?;:。，！？；：])").ok());
static RUNS_OF_SPACES: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"[ \t]{2,}").ok());
static BOUNDARY_LINE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t]*=====[ \t]*(BEGIN|END)[^\n]*=====[ \t]*$\n?").ok());

/// Parses the model's text against the passages it was given.
pub fn parse_answer(raw: &str, passages: &[Passage]) -> Result<Answer, String> {
    let (Some(marker), Some(space_before), Some(runs), Some(boundary)) =
        (MARKER.as_ref(), SPACE_BEFORE_PUNCTUATION.as_ref(), RUNS_OF_SPACES.as_ref(), BOUNDARY_LINE.as_ref())
    else {
        return Err("the citation patterns do not compile".into());
    };
    let echoed_prompt = boundary.is_match(raw);
    let mut text = boundary.replace_all(raw, "").trim().to_owned();
    let insufficient = text.to_ascii_uppercase().contains(NO_ANSWER);
    if insufficient {
        text = remove_ignoring_case(&text, NO_ANSWER);
    }
    let mut cited: Vec<(usize, String)> = Vec::new();
    let mut seen = HashSet::new();
    let mut dropped = 0;
    for found in marker.captures_iter(&text) {
        let claim = sentence_around(&text, found.get(0).map_or(0, |whole| whole.start()));
        for label in found[1].split([',', ';']) {
            let label: String = label.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
            match passages.iter().position(|passage| passage.label.eq_ignore_ascii_case(&label)) {
                Some(index) => {
                    if seen.insert(index) {
                        cited.push((index, claim.clone()));
                    }
                }
                None => dropped += 1,
            }
        }
    }
    let without_markers = |text: &str| {
        let text = marker.replace_all(text, "");
        let text = space_before.replace_all(&text, "$1");
        let text = runs.replace_all(&text, " ");
        text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_owned()
    };
    let body = without_markers(&text);
    if body.is_empty() {
        return Err("the answer holds no reply text".into());
    }
    let citations = cited
        .into_iter()
        .map(|(passage, claim)| {
            let sentence = Some(without_markers(&claim)).filter(|s| !s.is_empty() && body.contains(s.as_str()));
            Citation { passage, quote: best_quote(&passages[passage].text, &claim), sentence }
        })
        .collect();
    Ok(Answer { body, citations, dropped_citations: dropped, insufficient, echoed_prompt })
}

/// How far an agent can trust the draft, from 0 to 1: low when the model found no answer
/// in the passages, cited nothing, cited passages it was not given, copied the prompt's
/// markup, or wrote in another language than the customer's.
pub fn confidence(answer: &Answer, language_matches: bool) -> f64 {
    if answer.insufficient {
        return 0.15;
    }
    let mut confidence: f64 = if answer.citations.is_empty() { 0.35 } else { 0.85 };
    confidence -= 0.15 * answer.dropped_citations.min(3) as f64;
    if !language_matches || answer.echoed_prompt {
        confidence *= 0.5;
    }
    confidence.clamp(0.05, 0.95)
}

fn remove_ignoring_case(text: &str, needle: &str) -> String {
    let upper = text.to_ascii_uppercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (start, _) in upper.match_indices(needle) {
        out.push_str(&text[rest..start]);
        rest = start + needle.len();
    }
    out.push_str(&text[rest..]);
    out.trim().to_owned()
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '\n')
}

/// The sentence of `text` that ends at or after `at` (a citation follows its sentence).
fn sentence_around(text: &str, at: usize) -> String {
    let before = &text[..at];
    let start = before.trim_end().trim_end_matches(is_sentence_end).rfind(is_sentence_end).map_or(0, |i| i + 1);
    text[start..at].trim().to_owned()
}

/// Words (lowercased) and, for CJK text, single characters.
fn terms(text: &str) -> HashSet<String> {
    let mut terms = HashSet::new();
    let mut word = String::new();
    for c in text.chars() {
        if (c as u32) >= 0x2E80 && c.is_alphanumeric() {
            terms.insert(c.to_string());
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
            continue;
        }
        if word.chars().count() > 2 {
            terms.insert(std::mem::take(&mut word));
        }
        word.clear();
    }
    if word.chars().count() > 2 {
        terms.insert(word);
    }
    terms
}

/// The passage sentence sharing most terms with the claim (the first sentence when none
/// shares any, as with a claim in another language), at most 300 characters.
fn best_quote(passage: &str, claim: &str) -> String {
    let claim_terms = terms(claim);
    let sentences: Vec<&str> =
        passage.split_inclusive(is_sentence_end).map(str::trim).filter(|s| !s.is_empty()).collect();
    let best = sentences
        .iter()
        .enumerate()
        .max_by_key(|(index, sentence)| (terms(sentence).intersection(&claim_terms).count(), usize::MAX - index))
        .map_or(passage.trim(), |(_, sentence)| sentence);
    let mut quote: String = best.chars().take(300).collect();
    if quote.len() < best.len() {
        quote.push('…');
    }
    quote
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passages() -> Vec<Passage> {
        vec![
            Passage {
                label: "S1".into(),
                title: "Returns".into(),
                heading: None,
                text: "Items can be returned within 30 days. Refunds reach your card in 5 business days.".into(),
            },
            Passage { label: "S2".into(), title: "Shipping".into(), heading: None, text: "We ship worldwide.".into() },
        ]
    }

    #[test]
    fn markers_become_citations_and_leave_the_body() {
        let answer =
            parse_answer("Hello,\n\nYour refund reaches your card in 5 business days [S1].\n\nBest", &passages())
                .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(answer.body, "Hello,\n\nYour refund reaches your card in 5 business days.\n\nBest");
        assert_eq!(answer.citations.len(), 1);
        assert_eq!(answer.citations[0].passage, 0);
        assert_eq!(answer.citations[0].quote, "Refunds reach your card in 5 business days.");
        assert_eq!(answer.citations[0].sentence.as_deref(), Some("Your refund reaches your card in 5 business days"));
        assert_eq!(answer.dropped_citations, 0);
        assert!(!answer.insufficient);
    }

    #[test]
    fn markers_naming_no_retrieved_passage_are_dropped_and_counted() {
        let answer = parse_answer("We ship everywhere [S2, S7]. Returns are free [s9][S1].", &passages())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(answer.citations.iter().map(|c| c.passage).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(answer.dropped_citations, 2);
        assert_eq!(answer.body, "We ship everywhere. Returns are free.");
        let sentences: Vec<_> = answer.citations.iter().map(|c| c.sentence.as_deref()).collect();
        assert_eq!(sentences, [Some("We ship everywhere"), Some("Returns are free")], "each as the body reads it");
        assert!(
            confidence(&answer, true)
                < confidence(&parse_answer("Free [S1].", &passages()).unwrap_or_else(|e| panic!("{e}")), true)
        );
    }

    #[test]
    fn the_no_answer_marker_is_removed_and_lowers_confidence() {
        let answer = parse_answer("[NO_ANSWER] Could you send your order number?", &passages())
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(answer.insufficient);
        assert_eq!(answer.body, "Could you send your order number?");
        assert!(confidence(&answer, true) < 0.3);
    }

    #[test]
    fn copied_block_boundaries_are_removed_and_lower_confidence() {
        let raw = "Returns within 30 days [S1].\n===== END TRIAGE 16ce0e1ac27d47ee =====\nBest";
        let answer = parse_answer(raw, &passages()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(answer.body, "Returns within 30 days.\nBest");
        assert!(answer.echoed_prompt);
        let clean = parse_answer("Returns within 30 days [S1].", &passages()).unwrap_or_else(|error| panic!("{error}"));
        assert!(confidence(&answer, true) < confidence(&clean, true));
    }

    #[test]
    fn an_answer_of_markers_only_is_malformed() {
        assert!(parse_answer("  [S1] ", &passages()).is_err());
        assert!(parse_answer("", &passages()).is_err());
    }

    #[test]
    fn a_reply_in_another_language_lowers_confidence() {
        let answer = parse_answer("Free returns [S1].", &passages()).unwrap_or_else(|error| panic!("{error}"));
        assert!(confidence(&answer, false) < confidence(&answer, true));
    }

    #[test]
    fn a_cross_lingual_claim_quotes_the_first_sentence() {
        let answer =
            parse_answer("退款将在5个工作日内到账。[S1]", &passages()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(answer.citations[0].quote, "Items can be returned within 30 days.");
        assert_eq!(answer.body, "退款将在5个工作日内到账。");
    }
}
