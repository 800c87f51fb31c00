//! Language identification. Chinese, Japanese and Korean are told apart by their scripts;
//! every other language by lingua's n-gram models, which are built for short text,
//! restricted to the languages a support inbox meets. Codes are ISO 639-1.

use std::sync::LazyLock;

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};

/// A detected language and whether the detector is sure of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// ISO 639-1 (`en`, `zh`, …), or `und` when the text has no letters to judge by.
    pub code: String,
    /// False when the text is too short or too ambiguous to be sure: whoever must write
    /// in the customer's language (a draft) then uses the tenant's default language
    /// rather than a guess.
    pub confident: bool,
}

/// The language of `text` as a short code (`en`, `zh`, …), or `und` when the text has
/// no letters to judge by. Unsure detections of Latin-script text read as English.
pub fn detect_language(text: &str) -> String {
    detect(text).code
}

/// From this share of the probability mass the best language is not a guess.
const MIN_CONFIDENCE: f64 = 0.5;

/// The language of `text` and how sure the detection is.
pub fn detect(text: &str) -> Detection {
    let (mut han, mut kana, mut hangul, mut letters) = (0usize, 0usize, 0usize, 0usize);
    for c in text.chars() {
        match c {
            '\u{3040}'..='\u{30ff}' | '\u{31f0}'..='\u{31ff}' => kana += 1,
            '\u{ac00}'..='\u{d7af}' | '\u{1100}'..='\u{11ff}' => hangul += 1,
            '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}' => han += 1,
            c if c.is_alphabetic() => letters += 1,
            _ => {}
        }
    }
    let sure = |code: &str, confident: bool| Detection { code: code.into(), confident };
    if kana > 0 && kana * 5 >= han {
        return sure("ja", kana + han >= 2);
    }
    if hangul > 0 && hangul >= han {
        return sure("ko", hangul >= 2);
    }
    if han > 0 && han * 2 >= letters.min(han * 4) {
        return sure("zh", han >= 2);
    }
    if letters == 0 {
        return sure("und", false);
    }
    let ranked = DETECTOR.compute_language_confidence_values(text);
    // A script none of the languages uses (Georgian, Tamil, …) gives every language zero.
    let Some(&(best, confidence)) = ranked.first().filter(|(_, confidence)| *confidence > 0.0) else {
        return sure("und", false);
    };
    let runner_up = ranked.get(1).copied();
    // Short text spreads the probability thinly: a clear lead over the runner-up is as
    // telling as a large share.
    let confident = confidence >= MIN_CONFIDENCE || runner_up.is_none_or(|(_, second)| confidence > 2.0 * second);
    let words = text.split_whitespace().filter(|word| word.chars().any(char::is_alphabetic)).count();
    let english_close = runner_up.is_some_and(|(second, _)| second == Language::English);
    if !confident && text.is_ascii() && (words <= 2 || english_close) {
        // A word or two in plain Latin letters ("ok thx", "hello?") tells the models
        // little; in a support inbox it is English far more often than anything else.
        return sure("en", false);
    }
    sure(&code(best), confident)
}

/// The languages besides Chinese, Japanese and Korean that a support inbox meets;
/// restricting the models to them avoids confusions with rarer close relatives.
const SUPPORT_LANGUAGES: [Language; 22] = [
    Language::English,
    Language::Spanish,
    Language::French,
    Language::German,
    Language::Portuguese,
    Language::Italian,
    Language::Dutch,
    Language::Russian,
    Language::Ukrainian,
    Language::Polish,
    Language::Turkish,
    Language::Arabic,
    Language::Hindi,
    Language::Vietnamese,
    Language::Thai,
    Language::Indonesian,
    Language::Swedish,
    Language::Danish,
    Language::Finnish,
    Language::Czech,
    Language::Greek,
    Language::Hebrew,
];

/// Built once; each language's models load the first time a text needs them.
static DETECTOR: LazyLock<LanguageDetector> =
    LazyLock::new(|| LanguageDetectorBuilder::from_languages(&SUPPORT_LANGUAGES).build());

fn code(language: Language) -> String {
    language.iso_code_639_1().to_string()
}

#[cfg(test)]
mod tests {
    use super::{Detection, detect, detect_language};

    #[test]
    fn english_and_chinese_are_told_apart() {
        assert_eq!(detect_language("Where is my order? It has been two weeks."), "en");
        assert_eq!(detect_language("我的快递到哪里了？已经两周了"), "zh");
        assert_eq!(detect_language("退款呢"), "zh");
        assert_eq!(detect_language("訂單什麼時候發貨"), "zh");
    }

    #[test]
    fn chinese_with_an_order_number_is_chinese() {
        assert_eq!(detect_language("订单 #A1029 还没发货，tracking number 是多少"), "zh");
    }

    #[test]
    fn japanese_and_korean_are_not_chinese() {
        assert_eq!(detect_language("注文した商品がまだ届きません"), "ja");
        assert_eq!(detect_language("주문한 상품이 아직 도착하지 않았어요"), "ko");
    }

    #[test]
    fn other_european_languages_are_detected() {
        assert_eq!(detect_language("¿Dónde está mi pedido? Lo compré hace dos semanas."), "es");
        assert_eq!(detect_language("Wo ist meine Bestellung? Ich warte seit zwei Wochen."), "de");
        assert_eq!(detect_language("Où est ma commande ? J'attends depuis deux semaines."), "fr");
    }

    #[test]
    fn english_is_not_mistaken_for_a_close_relative() {
        assert_eq!(detect_language("I want my money back for the broken blender"), "en");
        assert_eq!(detect_language("Hi, can you tell me where my parcel is"), "en");
    }

    #[test]
    fn short_latin_text_defaults_to_english_and_no_letters_is_undetermined() {
        assert_eq!(detect_language("ok thx"), "en");
        assert_eq!(detect("12345 !!!"), Detection { code: "und".into(), confident: false });
    }

    #[test]
    fn every_detected_language_is_one_the_service_lists() {
        for language in super::SUPPORT_LANGUAGES {
            let code = super::code(language);
            assert!(copilot_core::values::LANGUAGES.contains(&code.as_str()), "{code}");
        }
    }

    #[test]
    fn a_script_no_claimed_language_uses_is_undetermined() {
        assert_eq!(detect("გამარჯობა, სად არის ჩემი შეკვეთა?"), Detection { code: "und".into(), confident: false });
    }

    #[test]
    fn short_support_questions_keep_their_language() {
        for (text, code) in [
            ("Do you sell bicycles?", "en"),
            ("Refund please", "en"),
            ("Cancel my order", "en"),
            ("Bestellung stornieren", "de"),
            ("Quiero cancelar mi pedido", "es"),
        ] {
            assert_eq!(detect_language(text), code, "{text}");
        }
    }
}
