//! Replies out: what a reply carries (threading headers, the subject token, the HTML
//! alternative of its text). Sending it is `smtp`'s job.

/// One reply to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundEmail {
    pub from_name: String,
    pub from_address: String,
    pub to_name: Option<String>,
    pub to_address: String,
    pub subject: String,
    /// Without angle brackets; the same on every attempt, so a receiver that sees a
    /// retry can tell it is the same message.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub text: String,
}

/// A Message-ID for a reply: unique, at the domain of the sending address.
pub fn new_message_id(from_address: &str) -> String {
    let domain = from_address.rsplit_once('@').map_or("localhost", |(_, domain)| domain);
    format!("{}@{domain}", uuid::Uuid::now_v7().simple())
}

/// The ticket token carried in subjects, e.g. `[#42]`.
pub fn ticket_token(number: i64) -> String {
    format!("[#{number}]")
}

/// The ticket number in a subject's token, if any.
pub fn find_ticket_token(subject: &str) -> Option<i64> {
    let start = subject.find("[#")?;
    let rest = &subject[start + 2..];
    let end = rest.find(']')?;
    rest[..end].trim().parse().ok().filter(|number: &i64| *number > 0)
}

/// The subject of a reply: `Re: ` once, the ticket token once.
pub fn reply_subject(subject: &str, number: i64) -> String {
    let token = ticket_token(number);
    let mut base = subject.trim();
    while let Some(rest) = ["re:", "aw:", "回复:", "回复：", "答复:", "sv:"].iter().find_map(|prefix| {
        base.get(..prefix.len()).filter(|head| head.eq_ignore_ascii_case(prefix)).map(|_| &base[prefix.len()..])
    }) {
        base = rest.trim_start();
    }
    let base = base.replace(&token, "");
    let base = base.trim();
    if base.is_empty() { format!("Re: {token}") } else { format!("Re: {base} {token}") }
}

/// The HTML alternative of a plain-text reply: escaped, paragraphs and line breaks kept.
pub fn html_of(text: &str) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let paragraphs: Vec<String> = text
        .replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", p.lines().map(escape).collect::<Vec<_>>().join("<br>\n")))
        .collect();
    format!("<!DOCTYPE html>\n<html><body>\n{}\n</body></html>\n", paragraphs.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_subjects_carry_one_prefix_and_one_token() {
        assert_eq!(reply_subject("Where is my order?", 42), "Re: Where is my order? [#42]");
        assert_eq!(reply_subject("RE: Re: Where is my order? [#42]", 42), "Re: Where is my order? [#42]");
        assert_eq!(reply_subject("回复: 退款", 7), "Re: 退款 [#7]");
        assert_eq!(reply_subject("", 7), "Re: [#7]");
    }

    #[test]
    fn tokens_are_found_in_subjects() {
        assert_eq!(find_ticket_token("Re: Where is my order? [#42]"), Some(42));
        assert_eq!(find_ticket_token("Fwd: [# 9 ] hello"), Some(9));
        assert_eq!(find_ticket_token("[#abc] [#0]"), None);
        assert_eq!(find_ticket_token("no token"), None);
    }

    #[test]
    fn html_is_escaped_with_paragraphs() {
        assert_eq!(
            html_of("Hi <b>you</b> & co,\nline two\n\nBye"),
            "<!DOCTYPE html>\n<html><body>\n<p>Hi &lt;b&gt;you&lt;/b&gt; &amp; co,<br>\nline two</p>\n<p>Bye</p>\n</body></html>\n"
        );
    }
}
