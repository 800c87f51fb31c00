//! Quoted history in replies: everything from the first attribution line ("On … wrote:",
//! "在 … 写道：", "Am … schrieb …:", Outlook's "-----Original Message-----" or its
//! "From:/Sent:" block) is history, and so are trailing `>`-quoted lines.

use std::sync::LazyLock;

use regex::Regex;

/// Attribution lines in the languages customers write in, each alone on its line (the
/// "On … wrote:" line may be wrapped over two lines by the mail client).
static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?im)^[ \t>]*(",
        r"On\s[^\n]{1,200}(\n[^\n]{1,200})?\swrote:",
        r"|在\s?[^\n]{1,200}(写道|寫道)\s?[:：]",
        r"|[^\n]{1,200}于\s?[^\n]{1,200}(写道|寫道)\s?[:：]",
        r"|Am\s[^\n]{1,200}schrieb[^\n]{0,200}:",
        r"|Le\s[^\n]{1,200}a\sécrit\s?:",
        r"|El\s[^\n]{1,200}escribió:",
        r"|[^\n]{1,200}のメッセージ[:：]",
        r"|-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|原始邮件|原始郵件|Mensaje original)\s*-{2,}",
        r"|_{20,}",
        r")[ \t]*$"
    ))
    .expect("valid attribution pattern")
});

/// Outlook's header block without a separator line: `From:` then `Sent:`/`Date:` within
/// the next lines (also in Chinese: `发件人:` … `发送时间:`).
static HEADER_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^[ \t]*\*?(From|发件人|寄件者|De|Von)\*?\s?[:：][^\n]*\n([^\n]*\n){0,2}[ \t]*\*?(Sent|Date|发送时间|日期|Envoyé|Gesendet)\*?\s?[:：]")
        .expect("valid header block pattern")
});

/// The text before the quoted history, trimmed.
pub fn strip(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let cut = [ATTRIBUTION.find(&text), HEADER_BLOCK.find(&text)]
        .into_iter()
        .flatten()
        .map(|found| found.start())
        .min()
        .unwrap_or(text.len());
    let mut lines: Vec<&str> = text[..cut].lines().collect();
    while lines.last().is_some_and(|line| line.trim().is_empty() || line.trim_start().starts_with('>')) {
        lines.pop();
    }
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::strip;

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
}
