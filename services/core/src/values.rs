//! Validated values: each `parse` is the only way in, so a value in hand is valid.

use crate::Error;

/// A syntactically plausible e-mail address, trimmed and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let value = raw.trim().to_lowercase();
        let invalid = || Error::validation("invalid_email", format!("`{raw}` is not a valid e-mail address"));
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.is_empty()
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tenant's URL-safe handle: 3–63 lower-case letters, digits and inner hyphens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let value = raw.trim();
        let ok = (3..=63).contains(&value.len())
            && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !value.starts_with('-')
            && !value.ends_with('-');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(Error::validation(
                "invalid_slug",
                "a slug has 3 to 63 characters: lower-case letters, digits and inner hyphens",
            ))
        }
    }

    /// Derives a slug from a display name: "Acme Shop, Inc." becomes `acme-shop-inc`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        let mut slug = String::new();
        for c in name.trim().to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        let slug: String = slug.chars().take(63).collect();
        Self::parse(slug.trim_end_matches('-'))
            .map_err(|_| Error::validation("invalid_slug", "cannot derive a slug from this name; pass `slug`"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Trims `raw` and checks its length in characters; `field` names it in the error.
pub fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, Error> {
    let value = raw.trim();
    if value.contains('\0') {
        return Err(Error::validation("invalid_text", format!("`{field}` must not contain NUL (\\u0000) characters")));
    }
    let length = value.chars().count();
    if length < min {
        return Err(Error::validation(
            "validation_failed",
            if min == 1 {
                format!("`{field}` must not be empty")
            } else {
                format!("`{field}` needs at least {min} characters")
            },
        ));
    }
    if length > max {
        return Err(Error::validation("validation_failed", format!("`{field}` must be at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// [`bounded_text`] for one line of text that may end up in a mail header (names,
/// subjects): control characters are refused, since a CR or LF would start a new header.
pub fn single_line(field: &str, raw: &str, min: usize, max: usize) -> Result<String, Error> {
    let value = bounded_text(field, raw, min, max)?;
    if value.chars().any(char::is_control) {
        return Err(Error::validation(
            "invalid_text",
            format!("`{field}` must be one line, without line breaks or other control characters"),
        ));
    }
    Ok(value)
}

/// Text from outside (a mail's display name or subject) made fit for one header line:
/// NUL characters are dropped, every other control character (CR and LF included)
/// becomes a space, runs of spaces one space, the ends trimmed.
pub fn one_line(raw: &str) -> String {
    let mut line = String::with_capacity(raw.len());
    for c in raw.chars().filter(|c| *c != '\0').map(|c| if c.is_control() { ' ' } else { c }) {
        if c == ' ' && (line.is_empty() || line.ends_with(' ')) {
            continue;
        }
        line.push(c);
    }
    line.truncate(line.trim_end().len());
    line
}

/// A name that programs use (a profile, a tool): 1–64 lower-case letters, digits, `-`
/// and `_`, starting with a letter. `code` is the error's code.
pub fn identifier(code: &'static str, what: &str, raw: &str) -> Result<String, Error> {
    let name = raw.trim();
    let valid = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(Error::validation(
            code,
            format!("{what} `{name}` must be 1 to 64 lower-case letters, digits, `-` or `_`, starting with a letter"),
        ))
    }
}

/// A language the service knows, as its ISO 639-1 code, lower-cased; blank means unset.
pub fn language_code(field: &str, value: Option<&str>) -> Result<Option<String>, Error> {
    let Some(code) = value.map(str::trim).filter(|code| !code.is_empty()) else { return Ok(None) };
    let code = code.to_ascii_lowercase();
    if LANGUAGES.contains(&code.as_str()) {
        return Ok(Some(code));
    }
    let supported = LANGUAGES.join(", ");
    if code.len() == 2 && code.bytes().all(|byte| byte.is_ascii_lowercase()) {
        // Shaped like an ISO 639-1 code, but not one the service detects and writes.
        return Err(Error::unprocessable(
            "unsupported_language",
            format!("`{field}`: `{code}` is not a supported language; use one of {supported}"),
        ));
    }
    Err(Error::validation(
        "invalid_language",
        format!("`{field}` must be a two-letter language code, one of {supported}, not `{code}`"),
    ))
}

/// Optional text: blank is unset, otherwise [`bounded_text`] of 1 to `max` characters.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Error> {
    value.map(str::trim).filter(|text| !text.is_empty()).map(|text| bounded_text(field, text, 1, max)).transpose()
}

/// Checks that an optional setting lies between `min` and `max`.
pub fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: Option<T>,
    min: T,
    max: T,
) -> Result<(), Error> {
    match value {
        Some(value) if value < min || value > max => {
            Err(Error::validation("invalid_setting", format!("`{field}` must be between {min} and {max}")))
        }
        _ => Ok(()),
    }
}

/// An API root such as `https://api.openai.com/v1`: an absolute URL of at most 500
/// characters without credentials, on a public address unless `allow_private` (then plain
/// http too); blank is unset. The trailing slash is dropped.
pub fn endpoint_root(field: &str, raw: Option<&str>, allow_private: bool) -> Result<Option<String>, Error> {
    let Some(url) = raw.map(str::trim).filter(|url| !url.is_empty()) else { return Ok(None) };
    if url.len() > 500 || url.chars().any(char::is_whitespace) {
        return Err(Error::validation(
            "invalid_base_url",
            format!("`{field}` must be a URL of at most 500 characters"),
        ));
    }
    crate::net::check_url(url, &["https", "http"], allow_private)
        .map_err(|error| Error::validation("invalid_base_url", format!("`{field}`: {error}")))?;
    Ok(Some(url.trim_end_matches('/').to_owned()))
}

/// Normalises ticket tags: trimmed, lower-cased, deduplicated, sorted, each 1–50 characters, at most 20.
pub fn tags(raw: &[String]) -> Result<Vec<String>, Error> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = bounded_text("tags[]", &tag.to_lowercase(), 1, 50)?;
        if tag.chars().any(|c| c.is_control() || c == ',') {
            return Err(Error::validation("validation_failed", "a tag must not contain commas or control characters"));
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > 20 {
        return Err(Error::validation("validation_failed", "a ticket has at most 20 tags"));
    }
    tags.sort();
    Ok(tags)
}

/// Checks a new password: 10 to 256 characters.
pub fn password(raw: &str) -> Result<&str, Error> {
    let length = raw.chars().count();
    if !(10..=256).contains(&length) {
        return Err(Error::validation("weak_password", "a password has between 10 and 256 characters"));
    }
    Ok(raw)
}

/// What to do with a stored secret (an API key, a password) when settings are replaced:
/// keep it, clear it or set a new one. The secret itself is never read back.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum KeyChange {
    #[default]
    Keep,
    Clear,
    Set(String),
}

/// The languages (ISO 639-1) that language detection tells apart and that a tenant may
/// choose for its drafts.
pub const LANGUAGES: [&str; 25] = [
    "en", "zh", "ja", "ko", "es", "fr", "de", "pt", "it", "nl", "ru", "uk", "pl", "tr", "ar", "hi", "vi", "th", "id",
    "sv", "da", "fi", "cs", "el", "he",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_are_checked_against_the_supported_ones() {
        assert_eq!(language_code("to", Some(" DE ")).ok().flatten().as_deref(), Some("de"));
        assert_eq!(language_code("to", Some("")).ok(), Some(None));
        let code = |value: &str| language_code("to", Some(value)).err().map(|error| error.code());
        assert_eq!(code("xx"), Some("unsupported_language"));
        for malformed in ["klingon", "e1", "zh-CN"] {
            assert_eq!(code(malformed), Some("invalid_language"), "{malformed}");
        }
    }

    #[test]
    fn base_urls_must_be_https_on_public_addresses_unless_allowed() {
        assert_eq!(
            endpoint_root("base_url", Some("https://api.openai.com/v1/"), false).ok().flatten().as_deref(),
            Some("https://api.openai.com/v1")
        );
        assert_eq!(endpoint_root("base_url", Some("  "), false).ok(), Some(None));
        for bad in ["ftp://x", "https://", "https://user:pw@host/v1", "http://a b", "api.openai.com"] {
            assert_eq!(
                endpoint_root("base_url", Some(bad), true).err().map(|e| e.code()),
                Some("invalid_base_url"),
                "{bad}"
            );
        }
        for private in [
            "http://127.0.0.1:8000/v1",
            "https://169.254.169.254/latest/meta-data/iam?x=",
            "https://[::1]/v1",
            "https://[64:ff9b::a9fe:a9fe]/v1",
            "http://llm.example.com/v1",
        ] {
            assert_eq!(
                endpoint_root("base_url", Some(private), false).err().map(|e| e.code()),
                Some("invalid_base_url"),
                "{private}"
            );
            assert!(endpoint_root("base_url", Some(private), true).is_ok(), "{private} when the operator allows it");
        }
    }

    #[test]
    fn a_single_line_refuses_line_breaks_and_control_characters() {
        assert_eq!(single_line("name", "  Eve Li ", 1, 200).ok().as_deref(), Some("Eve Li"));
        for bad in ["Eve\r\nBcc: x@evil.test", "Eve\nX-Evil: 1", "Eve\u{7}", "Eve\u{85}Bcc"] {
            let error = single_line("name", bad, 1, 200).err().map(|error| error.to_string()).unwrap_or_default();
            assert!(error.contains("`name` must be one line"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn one_line_folds_control_characters_into_spaces() {
        assert_eq!(one_line("Eve\r\nBcc: x@evil.test"), "Eve Bcc: x@evil.test");
        assert_eq!(one_line(" \tZoë \u{0}  Li\n"), "Zoë Li");
        assert_eq!(one_line("\r\n"), "");
    }

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ann@Example.COM ").ok().map(|e| e.0), Some("ann@example.com".into()));
    }

    #[test]
    fn email_without_at_or_domain_is_rejected() {
        for bad in ["", "ann", "ann@", "@example.com", "ann@.com", "ann@example..com", "a n@x.io"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn slug_is_derived_from_a_display_name() {
        assert_eq!(Slug::from_name("Acme Shop, Inc.").ok().map(|s| s.0), Some("acme-shop-inc".into()));
    }

    #[test]
    fn slug_rejects_upper_case_and_edges() {
        for bad in ["Acme", "-acme", "acme-", "ab", "a_b_c"] {
            assert!(Slug::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn a_name_without_latin_letters_needs_an_explicit_slug() {
        assert_eq!(Slug::from_name("客服中心").err().map(|e| e.code()), Some("invalid_slug"));
    }

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        let raw = vec!["VIP".to_owned(), " vip ".to_owned(), "refund".to_owned()];
        assert_eq!(tags(&raw).ok(), Some(vec!["refund".to_owned(), "vip".to_owned()]));
    }

    #[test]
    fn empty_tag_is_rejected() {
        assert!(tags(&[" ".to_owned()]).is_err());
    }

    #[test]
    fn bounded_text_counts_characters_not_bytes() {
        assert!(bounded_text("subject", "退款", 1, 2).is_ok());
        assert!(bounded_text("subject", "退款了", 1, 2).is_err());
    }

    #[test]
    fn nul_characters_are_refused() {
        assert_eq!(bounded_text("subject", "a\0b", 1, 10).err().map(|e| e.code()), Some("invalid_text"));
    }

    #[test]
    fn a_tag_is_measured_after_lower_casing() {
        // "İ" lower-cases to two characters.
        assert!(tags(&["İ".repeat(30)]).is_err());
    }

    #[test]
    fn short_password_is_weak() {
        assert_eq!(password("short").err().map(|e| e.code()), Some("weak_password"));
    }
}
