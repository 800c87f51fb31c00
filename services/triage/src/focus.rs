//! What of a long message the models read. The encoder sees its first 512 tokens, so a
//! message that pastes pages of history or a log before its one-line question would be
//! judged by the history. The models read the message without `>`-quoted lines; when it
//! is still longer than the encoder reads, they read two windows, its opening and its
//! closing paragraph (where a question before or after pasted text stands), and keep the
//! one whose intent is clearer.
//!
//! Lengths are estimated in tokens without running the tokenizer: a Chinese, Japanese or
//! Korean character is about one token, other text about a third of a token a character.

use std::borrow::Cow;

/// Messages up to about this many tokens are read whole (the encoder takes 512, less the
/// prefix and the special tokens).
const WHOLE_TOKENS: f32 = 480.0;
/// The most a window of a longer message holds, in tokens.
const WINDOW_TOKENS: f32 = 200.0;

/// The message without `>`-quoted lines (unless it is nothing but quotes).
fn unquoted(text: &str) -> Cow<'_, str> {
    if !text.lines().any(|line| line.trim_start().starts_with('>')) {
        return Cow::Borrowed(text);
    }
    let kept: Vec<&str> = text.lines().filter(|line| !line.trim_start().starts_with('>')).collect();
    let kept = kept.join("\n");
    if kept.trim().is_empty() { Cow::Borrowed(text) } else { Cow::Owned(kept) }
}

/// What the models read of `text`: the whole (unquoted) message, or for a long one its
/// opening and its closing window.
pub fn windows(text: &str) -> Vec<Cow<'_, str>> {
    let text = unquoted(text);
    if tokens(text.chars()) <= WHOLE_TOKENS {
        return vec![text];
    }
    let paragraphs: Vec<&str> = text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).collect();
    let first = paragraphs.first().copied().unwrap_or_default();
    let last = paragraphs.last().copied().unwrap_or_default();
    let opening = prefix_within(first.chars(), WINDOW_TOKENS);
    let mut closing: Vec<char> = prefix_within(last.chars().rev(), WINDOW_TOKENS).chars().collect();
    closing.reverse();
    vec![Cow::Owned(opening), Cow::Owned(closing.into_iter().collect())]
}

/// One text for what reads a message as a whole (its language): the message, or for a
/// long one its opening and closing windows together.
pub fn focus(text: &str) -> Cow<'_, str> {
    joined(windows(text))
}

/// The windows of a message as one text (see [`focus`]).
pub(crate) fn joined<'a>(mut windows: Vec<Cow<'a, str>>) -> Cow<'a, str> {
    match windows.len() {
        1 => windows.remove(0),
        _ => Cow::Owned(windows.join("\n…\n")),
    }
}

/// About how many tokens a character takes.
fn cost(c: char) -> f32 {
    match c {
        '\u{3000}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{ac00}'..='\u{d7af}' => 1.0,
        '\u{f900}'..='\u{faff}' | '\u{ff00}'..='\u{ffef}' => 1.0,
        _ => 0.3,
    }
}

fn tokens(chars: impl Iterator<Item = char>) -> f32 {
    chars.map(cost).sum()
}

/// The longest run of `chars` (in their order) within `budget` tokens.
fn prefix_within(chars: impl Iterator<Item = char>, budget: f32) -> String {
    let mut spent = 0.0;
    chars
        .take_while(|c| {
            spent += cost(*c);
            spent <= budget
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_read_whole() {
        assert_eq!(focus("Where is my order?"), "Where is my order?");
    }

    #[test]
    fn quoted_lines_are_left_out() {
        let text = "Any news on this?\n> On Monday you wrote:\n> we will ship tomorrow";
        assert_eq!(focus(text), "Any news on this?");
        assert_eq!(focus("> only a quote"), "> only a quote");
    }

    #[test]
    fn a_long_message_is_read_by_its_opening_and_its_closing_paragraph() {
        let history = "Order history line that says nothing new. ".repeat(200);
        let text = format!("{history}\n\nWhere is my parcel? It has been two weeks.");
        let read = windows(&text);
        assert_eq!(read.len(), 2);
        assert!(read[0].starts_with("Order history") && tokens(read[0].chars()) <= WINDOW_TOKENS);
        assert_eq!(read[1], "Where is my parcel? It has been two weeks.");
        assert!(focus(&text).ends_with("Where is my parcel? It has been two weeks."));
    }

    #[test]
    fn chinese_is_budgeted_by_its_characters() {
        let text = format!("{}\n我的快递到哪了？", "之前的聊天记录，内容和现在的问题无关。".repeat(100));
        let read = windows(&text);
        assert_eq!(read.len(), 2);
        assert!(read[1].ends_with("我的快递到哪了？"), "{}", read[1]);
        assert!(read.iter().all(|window| window.chars().count() <= 200), "{read:?}");
    }
}
