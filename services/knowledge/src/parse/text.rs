//! Plain text: paragraphs separated by blank lines; lines that start with a bullet or a
//! number are list items.

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
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
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
