//! Plain text: paragraphs separated by blank lines; lines that start with a bullet or a
//! number are list items. Headings as plain-text documents write them: a line underlined
//! with `===` (level 1) or `---` (level 2), or a line of capitals on its own or at the
//! top (level 1).

use super::{Block, normalize_space};

pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            blocks.push(Block::Paragraph(normalize_space(&paragraph.join(" "))));
            paragraph.clear();
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let blank = |index: usize| lines.get(index).is_none_or(|line| line.trim().is_empty());
    let mut index = 0;
    while index < lines.len() {
        let trimmed = lines[index].trim();
        index += 1;
        let underline = lines.get(index).and_then(|next| underline_level(next.trim()));
        if let Some(level) = underline.filter(|_| !trimmed.is_empty() && paragraph.is_empty()) {
            blocks.push(Block::Heading { level, text: normalize_space(trimmed) });
            index += 1;
        } else if paragraph.is_empty() && (index == 1 || (blank(index - 2) && blank(index))) && is_capitals(trimmed) {
            blocks.push(Block::Heading { level: 1, text: normalize_space(trimmed) });
        } else if trimmed.is_empty() {
            flush(&mut paragraph, &mut blocks);
        } else if let Some(item) = list_item(trimmed) {
            flush(&mut paragraph, &mut blocks);
            blocks.push(Block::ListItem(normalize_space(item)));
        } else {
            paragraph.push(trimmed);
        }
    }
    flush(&mut paragraph, &mut blocks);
    blocks
}

/// `===…` underlines a level-1 heading, `---…` a level-2 one (three or more).
fn underline_level(line: &str) -> Option<u8> {
    let first = line.chars().next()?;
    let level = match first {
        '=' => 1,
        '-' => 2,
        _ => return None,
    };
    (line.chars().count() >= 3 && line.chars().all(|c| c == first)).then_some(level)
}

/// A short line whose letters are all capitals ("RETURNS AND REFUNDS", "STEP 2: PAY").
fn is_capitals(line: &str) -> bool {
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 3
        && line.chars().count() <= 100
        && line.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase)
        && !line.ends_with(['.', ','])
}

/// The text of a bulleted (`-`, `*`, `•`) or numbered (`1.`, `2)`) line.
pub(crate) fn list_item(line: &str) -> Option<&str> {
    for bullet in ["- ", "* ", "• ", "· "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some(rest);
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &line[digits..];
        for marker in [". ", ") ", "、"] {
            if let Some(item) = rest.strip_prefix(marker) {
                return Some(item);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underlined_and_capital_lines_are_headings() {
        let text = "Returns\n=======\n\nWithin 30 days.\n\n退款\n----\n\n五个工作日内。\n\nGIFT CARDS\n\nCannot be \
                    returned.\nNOT A HEADING IN A PARAGRAPH\n\nA - B\n---\n";
        assert_eq!(
            parse(text),
            vec![
                Block::Heading { level: 1, text: "Returns".into() },
                Block::Paragraph("Within 30 days.".into()),
                Block::Heading { level: 2, text: "退款".into() },
                Block::Paragraph("五个工作日内。".into()),
                Block::Heading { level: 1, text: "GIFT CARDS".into() },
                Block::Paragraph("Cannot be returned. NOT A HEADING IN A PARAGRAPH".into()),
                Block::Heading { level: 2, text: "A - B".into() },
            ]
        );
    }

    #[test]
    fn blank_lines_separate_paragraphs_and_bullets_are_items() {
        let blocks = parse("First line\ncontinues.\n\nSecond.\n- one\n2. two\n3、三\n");
        assert_eq!(
            blocks,
            vec![
                Block::Paragraph("First line continues.".into()),
                Block::Paragraph("Second.".into()),
                Block::ListItem("one".into()),
                Block::ListItem("two".into()),
                Block::ListItem("三".into()),
            ]
        );
    }
}
