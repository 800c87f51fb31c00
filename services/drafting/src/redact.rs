//! Personal data kept from the LLM: e-mail addresses, card numbers (checked with Luhn),
//! IBANs (checked with mod 97) and phone numbers are replaced by placeholders such as
//! `[EMAIL_1]` before the prompt is sent, and put back into the draft afterwards. The same
//! value gets the same placeholder everywhere in one draft.

use std::sync::LazyLock;

use regex::Regex;

/// The placeholders of one draft and the values they stand for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Redactions {
    pairs: Vec<(String, String)>,
}

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}").ok());
static IBAN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b").ok());
static CARD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\b\d(?:[ \-]?\d){12,18}\b").ok());
static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\+?\(?\d[\d ().\-]{6,}\d").ok());

/// A kind of personal data: its placeholder name, its pattern, and the check a match must pass.
type Kind = (&'static str, &'static LazyLock<Option<Regex>>, fn(&str) -> bool);

impl Redactions {
    /// The text with personal data replaced; remembers what each placeholder stands for.
    pub fn redact(&mut self, text: &str) -> String {
        let mut text = text.to_owned();
        let kinds: [Kind; 4] = [
            ("EMAIL", &EMAIL, |_| true),
            ("IBAN", &IBAN, iban_is_valid),
            ("CARD", &CARD, luhn_is_valid),
            ("PHONE", &PHONE, phone_is_plausible),
        ];
        for (kind, pattern, check) in kinds {
            let Some(pattern) = pattern.as_ref() else { continue };
            let mut out = String::with_capacity(text.len());
            let mut rest = 0;
            for found in pattern.find_iter(&text) {
                if !check(found.as_str()) {
                    continue;
                }
                out.push_str(&text[rest..found.start()]);
                out.push_str(&self.placeholder(kind, found.as_str()));
                rest = found.end();
            }
            out.push_str(&text[rest..]);
            text = out;
        }
        text
    }

    /// The text with every placeholder replaced by its value again.
    pub fn restore(&self, text: &str) -> String {
        let mut text = text.to_owned();
        // Longest placeholders first, so `[EMAIL_1]` never eats into `[EMAIL_12]`.
        let mut pairs: Vec<&(String, String)> = self.pairs.iter().collect();
        pairs.sort_by_key(|(placeholder, _)| std::cmp::Reverse(placeholder.len()));
        for (placeholder, value) in pairs {
            text = text.replace(placeholder.as_str(), value);
        }
        text
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn placeholder(&mut self, kind: &str, value: &str) -> String {
        if let Some((placeholder, _)) = self.pairs.iter().find(|(_, known)| known == value) {
            return placeholder.clone();
        }
        let count = self.pairs.iter().filter(|(placeholder, _)| placeholder.starts_with(&format!("[{kind}_"))).count();
        let placeholder = format!("[{kind}_{}]", count + 1);
        self.pairs.push((placeholder.clone(), value.to_owned()));
        placeholder
    }
}

fn digits(text: &str) -> Vec<u32> {
    text.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// Card numbers: 13 to 19 digits passing the Luhn check.
fn luhn_is_valid(text: &str) -> bool {
    let digits = digits(text);
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// IBANs: 15 to 34 characters whose rearranged number is 1 modulo 97.
fn iban_is_valid(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let rearranged = compact[4..].chars().chain(compact[..4].chars());
    let mut remainder: u64 = 0;
    for c in rearranged {
        let value = match c.to_digit(36) {
            Some(value) => value as u64,
            None => return false,
        };
        remainder = if value >= 10 { (remainder * 100 + value) % 97 } else { (remainder * 10 + value) % 97 };
    }
    remainder == 1
}

/// Phone numbers: 8 to 15 digits (what is left after cards and IBANs were taken).
fn phone_is_plausible(text: &str) -> bool {
    (8..=15).contains(&digits(text).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_replaced_and_restored() {
        let mut redactions = Redactions::default();
        let text = "I'm jane.doe@example.com, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, \
                    call +49 30 1234567. Again: jane.doe@example.com";
        let redacted = redactions.redact(text);
        assert_eq!(redacted, "I'm [EMAIL_1], card [CARD_1], IBAN [IBAN_1], call [PHONE_1]. Again: [EMAIL_1]");
        assert_eq!(redactions.restore(&redacted), text);
    }

    #[test]
    fn numbers_that_fail_their_checks_stay() {
        let mut redactions = Redactions::default();
        let text = "Order 4111 1111 1111 1112 and account DE00 3704 0044 0532 0130 00, ticket 1234.";
        let redacted = redactions.redact(text);
        assert!(redacted.contains("4111 1111 1111 1112"), "not a Luhn number: {redacted}");
        assert!(redacted.contains("DE00"), "not a valid IBAN: {redacted}");
        assert!(redacted.contains("1234"));
    }

    #[test]
    fn placeholders_with_longer_numbers_restore_correctly() {
        let mut redactions = Redactions::default();
        let emails: Vec<String> = (0..12).map(|i| format!("user{i}@example.com")).collect();
        let redacted = redactions.redact(&emails.join(" "));
        assert!(redacted.contains("[EMAIL_12]"));
        assert_eq!(redactions.restore(&redacted), emails.join(" "));
    }
}
