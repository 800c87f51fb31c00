//! Quoted history in replies: everything from the first attribution line ("On … wrote:",
//! "在 … 写道：", "Am … schrieb …:", Outlook's "-----Original Message-----" or its
//! "From:/Sent:" block) is history, and so are trailing `>`-quoted lines.
//!
//! The search is linear in the text, whatever the text: it walks the lines once and tries
//! each attribution form on a line alone and on the line joined with the next one (a mail
//! client may wrap an attribution where it has a space), never on more. A line too long to
//! hold an attribution is skipped without being matched, and only the first
//! [`SEARCHED_BYTES`] bytes are searched at all.
//!
//! Each form keeps its limits: a free piece (a date, a sender) has 1 to 200 characters and
//! no line break. A form is recognised over at most two lines; one broken over three (say
//! "On" and "wrote:" each alone on a line) is not, nor is an Outlook header whose colon
//! stands on the line after its name.

use std::sync::LazyLock;

use regex::Regex;

/// An attribution cuts the text only when its lines end within the first this many bytes;
/// a text without one there is kept as it is (but for trailing `>` lines). The customer's
/// own words come before the history and are far shorter than this, so the bound only
/// shows on pasted logs or hostile mail, whose cost it caps.
pub const SEARCHED_BYTES: usize = 256 * 1024;

/// The most characters a free piece of an attribution (a date, a sender) may have.
const PIECE_CHARS: usize = 200;

/// The most bytes one line of an attribution can have once its leading quote marks and
/// trailing blanks are trimmed. The German form is the longest, "Am" + space + piece +
/// "schrieb" + piece + ":", 411 characters of at most 4 bytes each. The separator lines
/// (dashes, underscores) have no such limit and are matched on lines of any length.
const LONGEST_ATTRIBUTION_BYTES: usize = 4 * (2 * PIECE_CHARS + 11);

/// "On <piece> wrote:", on one line or wrapped where it has a space.
static ENGLISH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\A[ \t>]*On\s(.+)\swrote:[ \t]*\z").expect("valid English pattern"));

/// "On <piece>" and "<piece> wrote:" on two lines, as Gmail wraps a long attribution.
static ENGLISH_WRAPPED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\A[ \t>]*On\s(.+)\n(.+)\swrote:[ \t]*\z").expect("valid wrapped English pattern")
});

/// "Am <piece> schrieb <piece>:"; the text between "Am" and the colon is captured and the
/// word "schrieb" searched in it.
static GERMAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\A[ \t>]*Am\s(.+):[ \t]*\z").expect("valid German pattern"));

static SCHRIEB: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)schrieb").expect("valid German word"));

/// The characters of "schrieb", however its letters are cased.
const SCHRIEB_CHARS: usize = 7;

/// "Le <piece> a écrit :".
static FRENCH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\A[ \t>]*Le\s(.+)a\sécrit\s?:[ \t]*\z").expect("valid French pattern"));

/// "El <piece> escribió:".
static SPANISH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\A[ \t>]*El\s(.+)escribió:[ \t]*\z").expect("valid Spanish pattern"));

/// "-----Original Message-----" and its translations.
static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\A[ \t>]*-{2,}\s*",
        r"(Original Message|Ursprüngliche Nachricht|Message d'origine|原始邮件|原始郵件|Mensaje original)",
        r"\s*-{2,}[ \t]*\z"
    ))
    .expect("valid separator pattern")
});

/// The first line of Outlook's header block without a separator line (also in Chinese:
/// `发件人:`); one of the next three lines must be a [`HEADER_DATE`] line.
static HEADER_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\A[ \t]*\*?(From|发件人|寄件者|De|Von)\*?\s?[:：]").expect("valid header sender pattern")
});

/// The date line of Outlook's header block (`Sent:`, `发送时间:`, …).
static HEADER_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\A[ \t]*\*?(Sent|Date|发送时间|日期|Envoyé|Gesendet)\*?\s?[:：]")
        .expect("valid header date pattern")
});

/// The text before the quoted history, trimmed.
pub fn strip(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let cut = history_start(searched_part(&text)).unwrap_or(text.len());
    let mut lines: Vec<&str> = text[..cut].lines().collect();
    while lines.last().is_some_and(|line| line.trim().is_empty() || line.trim_start().starts_with('>')) {
        lines.pop();
    }
    lines.join("\n").trim().to_owned()
}

/// The whole lines of `text` that end within its first [`SEARCHED_BYTES`] bytes.
fn searched_part(text: &str) -> &str {
    if text.len() <= SEARCHED_BYTES {
        return text;
    }
    // A line break is a whole character, so the slice ends on a character boundary.
    let end = text.as_bytes()[..SEARCHED_BYTES].iter().rposition(|&byte| byte == b'\n').unwrap_or(0);
    &text[..end]
}

/// The byte offset of the first line that starts the quoted history.
fn history_start(text: &str) -> Option<usize> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut start = 0;
    for (index, line) in lines.iter().enumerate() {
        let following = &lines[index + 1..lines.len().min(index + 4)];
        let with_next = following.first().map(|next| &text[start..start + line.len() + 1 + next.len()]);
        if is_attribution(line) || with_next.is_some_and(is_attribution) || is_header_block(line, following) {
            return Some(start);
        }
        start += line.len() + 1;
    }
    None
}

/// Whether `window` (one line, or two joined by their line break) is an attribution from
/// its first character to its last.
fn is_attribution(window: &str) -> bool {
    if is_separator(window) {
        return true;
    }
    if window.split('\n').any(|line| trim_line(line).len() > LONGEST_ATTRIBUTION_BYTES) {
        return false;
    }
    is_english(window)
        || is_chinese_zai(window)
        || is_chinese_yu(window)
        || is_german(window)
        || captured_is_piece(&FRENCH, window)
        || captured_is_piece(&SPANISH, window)
        || is_japanese(window)
}

/// A line without its leading quote marks and blanks and its trailing blanks.
fn trim_line(line: &str) -> &str {
    line.trim_start_matches([' ', '\t', '>']).trim_end_matches([' ', '\t'])
}

/// "-----Original Message-----" (and translations), or a line of 20 or more underscores.
fn is_separator(window: &str) -> bool {
    let line = trim_line(window);
    (line.len() >= 20 && line.bytes().all(|byte| byte == b'_')) || ORIGINAL_MESSAGE.is_match(window)
}

fn is_english(window: &str) -> bool {
    captured_is_piece(&ENGLISH, window)
        || ENGLISH_WRAPPED
            .captures(window)
            .is_some_and(|found| found.iter().skip(1).flatten().all(|piece| is_piece(piece.as_str())))
}

/// "在 <piece> 写道：" (or 寫道).
fn is_chinese_zai(window: &str) -> bool {
    before_chinese_wrote(window)
        .and_then(|head| head.trim_start_matches([' ', '\t', '>']).strip_prefix('在'))
        .is_some_and(|rest| is_piece(after_optional_space(rest)))
}

/// "<piece> 于 <piece> 写道：" (or 寫道), e.g. "张三 于 2026年12月1日 10:00 写道：". The
/// first piece may begin with the leading quote marks; any 于 may be the one that splits
/// the pieces.
fn is_chinese_yu(window: &str) -> bool {
    let Some(head) = before_chinese_wrote(window) else {
        return false;
    };
    let quote_marks = head.len() - head.trim_start_matches([' ', '\t', '>']).len();
    let head_chars = head.chars().count();
    let line_break = head.find('\n');
    for (chars_before, (at, character)) in head.char_indices().enumerate() {
        // The first piece lies on the first line and has at most PIECE_CHARS characters
        // beyond the quote marks.
        if character == '\n' || chars_before > PIECE_CHARS + quote_marks {
            break;
        }
        if character != '于' || chars_before == 0 {
            continue;
        }
        let after = at + character.len_utf8();
        let mut second_start = after;
        let mut second_chars = head_chars - chars_before - 1;
        // An optional space after 于 (possibly the line break) is not part of the piece.
        if let Some(space) = head[after..].chars().next().filter(|next| next.is_whitespace())
            && second_chars > 1
        {
            second_start += space.len_utf8();
            second_chars -= 1;
        }
        let second_is_one_line = line_break.is_none_or(|line_break| line_break < second_start);
        if second_is_one_line && (1..=PIECE_CHARS).contains(&second_chars) {
            return true;
        }
    }
    false
}

/// "Am <piece> schrieb <piece>:", the second piece possibly empty; any "schrieb" may be the
/// one that splits the pieces.
fn is_german(window: &str) -> bool {
    let Some(between) = GERMAN.captures(window).and_then(|found| found.get(1)) else {
        return false;
    };
    let between = between.as_str();
    let between_chars = between.chars().count();
    let mut chars_before = 0;
    let mut counted_to = 0;
    for word in SCHRIEB.find_iter(between) {
        chars_before += between[counted_to..word.start()].chars().count();
        counted_to = word.start();
        if chars_before > PIECE_CHARS {
            break;
        }
        let chars_after = between_chars - chars_before - SCHRIEB_CHARS;
        if chars_before >= 1 && chars_after <= PIECE_CHARS {
            return true;
        }
    }
    false
}

/// "<piece>のメッセージ:", the piece possibly beginning with the leading quote marks.
fn is_japanese(line: &str) -> bool {
    let Some(head) =
        line.trim_end_matches([' ', '\t']).strip_suffix([':', '：']).and_then(|rest| rest.strip_suffix("のメッセージ"))
    else {
        return false;
    };
    let quote_marks = head.len() - head.trim_start_matches([' ', '\t', '>']).len();
    let head_chars = head.chars().count();
    !head.contains('\n') && head_chars >= 1 && head_chars - quote_marks <= PIECE_CHARS
}

/// The text before a final "写道：" (or 寫道, with an optional space before the colon).
fn before_chinese_wrote(window: &str) -> Option<&str> {
    let rest = window.trim_end_matches([' ', '\t']).strip_suffix([':', '：'])?;
    let rest = rest.strip_suffix(char::is_whitespace).unwrap_or(rest);
    rest.strip_suffix("写道").or_else(|| rest.strip_suffix("寫道"))
}

/// `piece` without one leading space, when what is left is not empty (the shortest reading
/// of an optional space before a piece).
fn after_optional_space(piece: &str) -> &str {
    match piece.chars().next() {
        Some(space) if space.is_whitespace() && piece.len() > space.len_utf8() => &piece[space.len_utf8()..],
        _ => piece,
    }
}

/// Whether `pattern` matches `window` and its first group is a [`fits`] piece.
fn captured_is_piece(pattern: &Regex, window: &str) -> bool {
    pattern.captures(window).and_then(|found| found.get(1)).is_some_and(|piece| is_piece(piece.as_str()))
}

/// Whether `piece` can be a free piece of an attribution: on one line, 1 to [`PIECE_CHARS`]
/// characters.
fn is_piece(piece: &str) -> bool {
    !piece.is_empty() && !piece.contains('\n') && piece.chars().count() <= PIECE_CHARS
}

/// Outlook's header block: a sender line followed within the next three lines by a date
/// line.
fn is_header_block(line: &str, following: &[&str]) -> bool {
    HEADER_FROM.is_match(line) && following.iter().any(|next| HEADER_DATE.is_match(next))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{SEARCHED_BYTES, strip};

    #[test]
    fn english_attribution_and_quotes_are_cut() {
        let text = "Still broken, see attached.\n\nOn Mon, 1 Dec 2026 at 10:00, Support <help@acme.test> wrote:\n> Have you tried restarting?\n> Thanks";
        assert_eq!(strip(text), "Still broken, see attached.");
    }

    #[test]
    fn a_wrapped_attribution_is_cut() {
        let text = "Yes please.\n\nOn Mon, Dec 1, 2026 at 10:00 AM Acme Support <\nhelp@acme.test> wrote:\n\n> Shall we refund?";
        assert_eq!(strip(text), "Yes please.");
    }

    #[test]
    fn chinese_attributions_are_cut() {
        assert_eq!(
            strip("好的，谢谢。\n\n在 2026年12月1日 10:00，客服 <help@acme.test> 写道：\n> 请提供订单号"),
            "好的，谢谢。"
        );
        assert_eq!(strip("收到\n\n张三 于 2026年12月1日 周一 10:00 写道：\n> 原文"), "收到");
    }

    #[test]
    fn outlook_blocks_are_cut() {
        let separator =
            "Here is the invoice.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nSubject: Re: invoice";
        assert_eq!(strip(separator), "Here is the invoice.");
        let block = "Thanks!\n\nFrom: Acme Support <help@acme.test>\nSent: Monday, December 1, 2026 10:00\nTo: me\nSubject: Re: order";
        assert_eq!(strip(block), "Thanks!");
        let chinese = "谢谢\n\n发件人: 客服 <help@acme.test>\n发送时间: 2026年12月1日 10:00\n主题: 订单";
        assert_eq!(strip(chinese), "谢谢");
    }

    #[test]
    fn text_without_history_is_kept_whole() {
        let text = "I wrote to you on Monday: nothing happened.\nFrom: my phone";
        assert_eq!(strip(text), text);
    }

    #[test]
    fn only_quotes_leave_nothing() {
        assert_eq!(strip("> quoted only\n> more"), "");
    }

    #[test]
    fn an_attribution_wrapped_before_wrote_is_cut() {
        let text = "Yes please.\n\nOn Mon, Dec 1, 2026 at 10:00 AM Acme Support <help@acme.test>\nwrote:\n> Refund?";
        assert_eq!(strip(text), "Yes please.");
    }

    #[test]
    fn european_attributions_are_cut() {
        let german = "Danke.\n\nAm Mo., 1. Dez. 2026 um 10:00 Uhr schrieb Acme Support <help@acme.test>:\n> Hallo";
        assert_eq!(strip(german), "Danke.");
        let french = "Merci.\n\nLe lun. 1 déc. 2026 à 10:00, Acme Support <help@acme.test> a écrit :\n> Bonjour";
        assert_eq!(strip(french), "Merci.");
        let french_wrapped =
            "Merci.\n\nLe lun. 1 déc. 2026 à 10:00, Acme Support <help@acme.test> a\nécrit :\n> Bonjour";
        assert_eq!(strip(french_wrapped), "Merci.");
        let spanish = "Gracias.\n\nEl lun, 1 dic 2026 a las 10:00, Acme Support <help@acme.test> escribió:\n> Hola";
        assert_eq!(strip(spanish), "Gracias.");
    }

    #[test]
    fn a_japanese_attribution_is_cut() {
        assert_eq!(
            strip("了解です。\n\n2026年12月1日(月) 10:00 サポート <help@acme.test>のメッセージ:\n> 原文"),
            "了解です。"
        );
    }

    #[test]
    fn separators_in_several_languages_are_cut() {
        for separator in [
            "-----Original Message-----",
            "----- Ursprüngliche Nachricht -----",
            "-------- Message d'origine --------",
            "------------------ 原始邮件 ------------------",
            "-----Mensaje original-----",
            "________________________________",
        ] {
            assert_eq!(strip(&format!("Answer.\n\n{separator}\nFrom: Support")), "Answer.", "{separator}");
        }
    }

    #[test]
    fn windows_line_ends_are_normalised() {
        assert_eq!(strip("Line one\r\nLine two\r\n\r\nOn Monday, Support wrote:\r\n> hi"), "Line one\nLine two");
    }

    #[test]
    fn a_sender_longer_than_two_hundred_characters_is_not_an_attribution() {
        let text = format!("On {} wrote:", "x".repeat(201));
        assert_eq!(strip(&text), text);
        let fitting = format!("Reply.\n\nOn {} wrote:", "x".repeat(200));
        assert_eq!(strip(&fitting), "Reply.");
    }

    #[test]
    fn an_attribution_after_a_very_long_line_is_cut() {
        let log = "x 于 ".repeat(40_000);
        let text = format!("See the log:\n{log}\n\n张三 于 2026年12月1日 10:00 写道：\n> 原文");
        let kept = format!("See the log:\n{}", log.trim_end());
        assert!(strip(&text) == kept, "the Chinese attribution was not cut");
        let text = format!("See the log:\n{log}\nOn Mon, 1 Dec 2026, Support <help@acme.test> wrote:\n> Hi");
        assert!(strip(&text) == kept, "the English attribution was not cut");
    }

    #[test]
    fn an_attribution_beyond_the_searched_bytes_is_kept() {
        let log = "x".repeat(SEARCHED_BYTES);
        let text = format!("See the log:\n{log}\nOn Mon, 1 Dec 2026, Support <help@acme.test> wrote:\nOld text");
        assert!(strip(&text) == text, "the text was cut");
    }

    /// A deterministic xorshift generator, so that every run strips the same texts.
    struct Noise(u64);

    impl Noise {
        fn below(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % bound as u64) as usize
        }
    }

    /// About 3 MB of lines, each begun with `line_start` and continued with a random mix
    /// of 于, x and spaces; most lines are short enough to be tried as attributions, some
    /// are far too long, and none holds 写道 or "wrote:".
    fn adversarial_text(noise: &mut Noise, line_start: &str) -> String {
        let mut text = String::with_capacity(3_100_000);
        while text.len() < 3_000_000 {
            let length = match noise.below(10) {
                0 => 1_000 + noise.below(100_000),
                1..=3 => 150 + noise.below(100),
                _ => 1 + noise.below(400),
            };
            text.push_str(line_start);
            for _ in 0..length {
                text.push(['于', 'x', ' '][noise.below(3)]);
            }
            text.push('\n');
        }
        text
    }

    /// Lines that look like attributions but have pieces too long to be one, so every check
    /// runs to its end.
    fn near_misses() -> String {
        let lines = [
            format!("On {} wrote:", "于 x".repeat(100)),
            format!("{}写道：", "于".repeat(500)),
            format!("在 {}写道：", "x".repeat(300)),
            format!("Am {}:", "schrieb".repeat(100)),
            format!("Le {} a écrit :", "x".repeat(300)),
            format!("{}のメッセージ:", "于".repeat(300)),
            format!("On {}\n{} wrote:", "x".repeat(150), "于".repeat(250)),
        ];
        let mut text = String::with_capacity(3_100_000);
        while text.len() < 3_000_000 {
            for line in &lines {
                text.push_str(line);
                text.push('\n');
            }
        }
        text
    }

    #[test]
    fn adversarial_mail_is_stripped_in_well_under_a_second() {
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
        let texts = [
            adversarial_text(&mut noise, ""),
            adversarial_text(&mut noise, "On "),
            adversarial_text(&mut noise, " On x于"),
            near_misses(),
        ];
        for text in &texts {
            let started = Instant::now();
            let stripped = strip(text);
            let elapsed = started.elapsed();
            let start: String = text.chars().take(20).collect();
            assert!(stripped == text.trim(), "history found in the text starting {start:?}");
            assert!(elapsed < Duration::from_secs(1), "took {elapsed:?} on the text starting {start:?}");
        }
    }
}
