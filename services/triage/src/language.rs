//! Language identification: script counts for Chinese, Japanese and Korean, whatlang's
//! trigram model for the rest. Codes are ISO 639-1 where one exists.

use whatlang::Lang;

/// The language of `text` as a short code (`en`, `zh`, …), or `und` when the text has
/// no letters to judge by.
pub fn detect_language(text: &str) -> String {
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
    if kana > 0 && kana * 5 >= han {
        return "ja".into();
    }
    if hangul > 0 && hangul >= han {
        return "ko".into();
    }
    if han > 0 && han * 2 >= letters.min(han * 4) {
        return "zh".into();
    }
    if letters == 0 {
        return "und".into();
    }
    if text.is_ascii() && english_function_words(text) >= 2 {
        return "en".into();
    }
    let detector = whatlang::Detector::with_allowlist(SUPPORT_LANGUAGES.to_vec());
    match detector.detect(text) {
        Some(info) if info.is_reliable() || letters >= 12 => iso_639_1(info.lang()).into(),
        // Short Latin-script messages ("ok", "thanks!!") are overwhelmingly English here.
        _ if text.is_ascii() => "en".into(),
        Some(info) => iso_639_1(info.lang()).into(),
        None => "und".into(),
    }
}

/// Languages a support inbox meets; restricting the trigram model to them avoids
/// confusions with close relatives (English read as Norwegian, Spanish as Galician).
const SUPPORT_LANGUAGES: [Lang; 25] = [
    Lang::Eng,
    Lang::Cmn,
    Lang::Jpn,
    Lang::Kor,
    Lang::Spa,
    Lang::Fra,
    Lang::Deu,
    Lang::Por,
    Lang::Ita,
    Lang::Nld,
    Lang::Rus,
    Lang::Ukr,
    Lang::Pol,
    Lang::Tur,
    Lang::Ara,
    Lang::Hin,
    Lang::Vie,
    Lang::Tha,
    Lang::Ind,
    Lang::Swe,
    Lang::Dan,
    Lang::Fin,
    Lang::Ces,
    Lang::Ell,
    Lang::Heb,
];

/// How many common English function words the text has.
fn english_function_words(text: &str) -> usize {
    const WORDS: [&str; 24] = [
        "the", "my", "is", "for", "and", "you", "i", "to", "a", "of", "it", "not", "have", "with", "this", "what",
        "where", "how", "can", "me", "your", "was", "are", "please",
    ];
    text.split(|c: char| !c.is_ascii_alphabetic() && c != '\'')
        .filter(|word| WORDS.contains(&word.to_ascii_lowercase().as_str()))
        .count()
}

fn iso_639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Eng => "en",
        Lang::Cmn => "zh",
        Lang::Jpn => "ja",
        Lang::Kor => "ko",
        Lang::Spa => "es",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Nld => "nl",
        Lang::Rus => "ru",
        Lang::Ukr => "uk",
        Lang::Pol => "pl",
        Lang::Tur => "tr",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Vie => "vi",
        Lang::Tha => "th",
        Lang::Ind => "id",
        Lang::Swe => "sv",
        Lang::Dan => "da",
        Lang::Fin => "fi",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Heb => "he",
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::detect_language;

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
        assert_eq!(detect_language("12345 !!!"), "und");
    }
}
