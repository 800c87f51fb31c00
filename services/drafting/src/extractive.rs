//! The draft written without an LLM (none configured, or the tenant's token budget is
//! spent): the best-matching passage (for a question/answer pair, its answer) framed by a
//! greeting and a closing in the customer's language, or, when no passage is relevant, a
//! hand-over reply that promises nothing.

use crate::{phrases, prompt::Passage};

/// An extractive draft.
#[derive(Clone, Debug, PartialEq)]
pub struct Extractive {
    pub body: String,
    /// The passage used (its index), if any.
    pub passage: Option<usize>,
    /// The text taken from it.
    pub quote: Option<String>,
}

/// Builds the draft from the passage judged relevant (`relevant`: its index), if any.
pub fn extractive_draft(
    language: &str,
    passages: &[Passage],
    relevant: Option<usize>,
    signature: Option<&str>,
) -> Extractive {
    let chosen = relevant.and_then(|index| passages.get(index).map(|passage| (index, answer_text(passage))));
    let middle = match &chosen {
        Some((_, answer)) => answer.clone(),
        None => phrases::handover(language).to_owned(),
    };
    let mut body = format!("{}\n\n{}\n\n{}", phrases::greeting(language), middle, phrases::closing(language));
    if let Some(signature) = signature.map(str::trim).filter(|signature| !signature.is_empty()) {
        body.push('\n');
        body.push_str(signature);
    }
    let (passage, quote) = match chosen {
        Some((index, answer)) => (Some(index), Some(answer)),
        None => (None, None),
    };
    Extractive { body, passage, quote }
}

/// The passage's answer: a question/answer chunk ("question\nanswer", the question also
/// ending its heading path) without its question line; any other passage whole.
fn answer_text(passage: &Passage) -> String {
    let text = passage.text.trim();
    if let Some((first, rest)) = text.split_once('\n') {
        let first = first.trim();
        let names_heading = passage
            .heading
            .as_deref()
            .is_some_and(|heading| heading.rsplit(" > ").next().map(str::trim) == Some(first));
        let is_question = first.ends_with('?') || first.ends_with('？');
        if (names_heading || is_question) && !rest.trim().is_empty() {
            return rest.trim().to_owned();
        }
    }
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faq() -> Passage {
        Passage {
            label: "S1".into(),
            title: "FAQ".into(),
            heading: Some("Orders > How long does a refund take?".into()),
            text: "How long does a refund take?\nRefunds reach your card within 5 business days.".into(),
        }
    }

    #[test]
    fn a_question_answer_pair_gives_its_answer_between_greeting_and_closing() {
        let draft = extractive_draft("en", &[faq()], Some(0), Some("Acme Support"));
        assert_eq!(
            draft.body,
            "Hello,\n\nRefunds reach your card within 5 business days.\n\nBest regards,\nAcme Support"
        );
        assert_eq!(draft.passage, Some(0));
    }

    #[test]
    fn the_frame_is_in_the_customer_language() {
        let draft = extractive_draft("zh", &[faq()], Some(0), None);
        assert!(draft.body.starts_with("您好，") && draft.body.ends_with("祝好！"));
    }

    #[test]
    fn without_a_relevant_passage_the_draft_hands_over() {
        let draft = extractive_draft("de", &[faq()], None, None);
        assert!(draft.body.contains("ein Kollege meldet sich"));
        assert_eq!(draft.passage, None);
        assert!(!draft.body.contains("5 business days"));
    }

    #[test]
    fn a_plain_passage_is_used_whole() {
        let passage =
            Passage { label: "S1".into(), title: "T".into(), heading: None, text: "We ship worldwide.".into() };
        assert!(extractive_draft("en", &[passage], Some(0), None).body.contains("\n\nWe ship worldwide.\n\n"));
    }
}
