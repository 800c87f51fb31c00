//! A macro's text: plain text with `{{placeholder}}`s. Parsed once, checked against the
//! placeholders that exist, rendered with their values; a placeholder without a value is an
//! error, never a blank in a reply.

use std::collections::{BTreeMap, BTreeSet};

use copilot_core::Error;

/// The placeholders every tenant has.
pub const BUILT_IN: [&str; 8] = [
    "customer.name",
    "customer.first_name",
    "customer.email",
    "ticket.number",
    "ticket.subject",
    "agent.name",
    "agent.first_name",
    "tenant.name",
];

/// The prefix of the tenant's own placeholders: `{{custom.returns_address}}`.
pub const CUSTOM: &str = "custom.";
/// The prefix of a ticket's custom field values: `{{ticket.fields.plan}}`.
pub const FIELD: &str = "ticket.fields.";

/// The placeholders a tenant has beyond the built-in ones: its own (with their values) and
/// its active ticket fields' keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Known {
    pub custom: BTreeMap<String, String>,
    pub fields: BTreeSet<String>,
}

impl Known {
    /// Whether `name` is a placeholder of the tenant.
    pub fn contains(&self, name: &str) -> bool {
        BUILT_IN.contains(&name)
            || name.strip_prefix(CUSTOM).is_some_and(|key| self.custom.contains_key(key))
            || name.strip_prefix(FIELD).is_some_and(|key| self.fields.contains(key))
    }

    /// Every placeholder's name.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = BUILT_IN.iter().map(|name| (*name).to_owned()).collect();
        names.extend(self.fields.iter().map(|key| format!("{FIELD}{key}")));
        names.extend(self.custom.keys().map(|key| format!("{CUSTOM}{key}")));
        names
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Placeholder(String),
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::validation("invalid_macro", detail.to_string())
}

/// A placeholder's name: dotted words of lowercase letters, digits and underscores.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// Splits a text into its parts; `{{ name }}` may have spaces inside the braces.
pub fn parse(text: &str) -> Result<Vec<Part>, Error> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| invalid("a `{{` is never closed with `}}`"))?;
        let name = after[..close].trim();
        if !is_name(name) {
            return Err(invalid(format!("`{{{{{name}}}}}` is not a placeholder's name")));
        }
        parts.push(Part::Placeholder(name.to_owned()));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err(invalid("a `}}` closes nothing"));
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(parts)
}

/// The placeholders a text uses, each once, in order of first use.
pub fn used(parts: &[Part]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for part in parts {
        if let Part::Placeholder(name) = part
            && !names.contains(name)
        {
            names.push(name.clone());
        }
    }
    names
}

/// The placeholders of `parts` that do not exist.
pub fn unknown(parts: &[Part], known: &Known) -> Vec<String> {
    used(parts).into_iter().filter(|name| !known.contains(name)).collect()
}

/// Fails with `invalid_macro` naming the placeholders that do not exist.
pub fn check(parts: &[Part], known: &Known) -> Result<(), Error> {
    let unknown = unknown(parts, known);
    if unknown.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = unknown.iter().map(|name| format!("{{{{{name}}}}}")).collect();
    Err(invalid(format!("unknown placeholder {}; known: {}", names.join(", "), known.names().join(", "))))
}

/// The text with each placeholder's value; the names without one when any lacks it.
pub fn render(parts: &[Part], values: &BTreeMap<String, String>) -> Result<String, Vec<String>> {
    let mut text = String::new();
    let mut missing = Vec::new();
    for part in parts {
        match part {
            Part::Text(plain) => text.push_str(plain),
            Part::Placeholder(name) => match values.get(name) {
                Some(value) => text.push_str(value),
                None if !missing.contains(name) => missing.push(name.clone()),
                None => {}
            },
        }
    }
    if missing.is_empty() { Ok(text) } else { Err(missing) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_parsed_checked_and_rendered() {
        let parts = parse("Hi {{customer.first_name}}, ticket #{{ ticket.number }}: {{custom.hours}}.").expect("parts");
        assert_eq!(used(&parts), ["customer.first_name", "ticket.number", "custom.hours"]);
        let mut known = Known::default();
        assert_eq!(unknown(&parts, &known), ["custom.hours"]);
        let error = check(&parts, &known).expect_err("unknown");
        assert!(error.to_string().contains("{{custom.hours}}"), "{error}");
        known.custom.insert("hours".to_owned(), "9 to 5".to_owned());
        check(&parts, &known).expect("known");
        let plan = parse("Your plan: {{ticket.fields.plan}}").expect("parts");
        assert_eq!(unknown(&plan, &known), ["ticket.fields.plan"]);
        known.fields.insert("plan".to_owned());
        check(&plan, &known).expect("an active field");
        assert!(known.names().contains(&"ticket.fields.plan".to_owned()));
        let mut values: BTreeMap<String, String> =
            [("customer.first_name", "Ann"), ("ticket.number", "42")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        assert_eq!(render(&parts, &values), Err(vec!["custom.hours".to_owned()]));
        values.insert("custom.hours".into(), "9 to 5".into());
        assert_eq!(render(&parts, &values).as_deref(), Ok("Hi Ann, ticket #42: 9 to 5."));
    }

    #[test]
    fn malformed_braces_are_refused() {
        for text in ["Hi {{customer.name", "Hi }} there", "{{}}", "{{Customer.Name}}", "{{customer..name}}", "{{a b}}"]
        {
            assert!(parse(text).is_err(), "{text}");
        }
        assert_eq!(parse("no placeholders").expect("text"), [Part::Text("no placeholders".into())]);
        assert_eq!(parse("").expect("empty"), []);
    }
}
