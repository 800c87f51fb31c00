//! Query helpers shared by the capabilities.

/// Escapes `%`, `_` and `\` so the text matches literally inside a LIKE pattern.
pub fn like_contains(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_contains("50%_off"), "%50\\%\\_off%");
    }

    #[test]
    fn like_pattern_is_lower_case() {
        assert_eq!(like_contains("Refund"), "%refund%");
    }
}
