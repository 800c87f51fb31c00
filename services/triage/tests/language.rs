//! Language detection on short support messages (one line, a few words) in every
//! language the project claims: the held-out floors.

use std::collections::BTreeMap;

use copilot_triage::detect_language;
use quality::report;

mod quality;

#[derive(serde::Deserialize)]
struct Example {
    text: String,
    lang: String,
}

fn examples() -> Vec<Example> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/language_short.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    text.lines().map(|line| serde_json::from_str(line).expect("example line")).collect()
}

#[test]
fn short_messages_are_detected_in_their_language() {
    let examples = examples();
    let mut per_language: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for example in &examples {
        let detected = detect_language(&example.text);
        let tally = per_language.entry(example.lang.as_str()).or_default();
        tally.1 += 1;
        if detected == example.lang {
            tally.0 += 1;
        } else {
            wrong.push(format!("{:?} → {detected} (is {})", example.text, example.lang));
        }
    }
    let right: usize = per_language.values().map(|(right, _)| right).sum();
    let accuracy = right as f64 / examples.len() as f64;
    assert!(examples.len() >= 150 && per_language.len() >= 10, "the set covers the claimed languages");
    let languages = per_language.len();
    report("language", &format!("short messages ({} in {languages} languages)", examples.len()), accuracy, Some(0.97));
    assert!(accuracy >= 0.97, "accuracy {accuracy:.3} on {} short messages; wrong: {wrong:#?}", examples.len());
    for (lang, (right, total)) in &per_language {
        assert!(*right as f64 / *total as f64 >= 0.9, "{lang}: {right}/{total}; wrong: {wrong:#?}");
    }
}

#[test]
fn short_english_is_never_taken_for_another_latin_script_language() {
    let misread: Vec<String> = examples()
        .iter()
        .filter(|example| example.lang == "en")
        .map(|example| (example, detect_language(&example.text)))
        .filter(|(_, detected)| detected != "en")
        .map(|(example, detected)| format!("{:?} → {detected}", example.text))
        .collect();
    let english = examples().iter().filter(|example| example.lang == "en").count();
    let kept = (english - misread.len()) as f64 / english.max(1) as f64;
    report("language", &format!("short English kept English ({english})"), kept, Some(1.0));
    assert!(misread.is_empty(), "{misread:#?}");
}
