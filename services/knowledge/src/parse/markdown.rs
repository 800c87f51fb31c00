//! Markdown (CommonMark with tables): headings, paragraphs, list items, code blocks and
//! table rows become blocks; inline markup is dropped.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{Block, normalize_space};

pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut buffer = String::new();
    let mut heading: Option<u8> = None;
    let mut item_depth = 0usize;
    let mut cells: Vec<String> = Vec::new();
    let flush = |buffer: &mut String, blocks: &mut Vec<Block>, kind: Kind| {
        let text = normalize_space(buffer);
        buffer.clear();
        if text.is_empty() {
            return;
        }
        blocks.push(match kind {
            Kind::Heading(level) => Block::Heading { level, text },
            Kind::Item => Block::ListItem(text),
            Kind::Paragraph => Block::Paragraph(text),
        });
    };
    for event in Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut buffer, &mut blocks, Kind::Paragraph);
                heading = Some(heading_level(level));
            }
            Event::End(TagEnd::Heading(_)) => {
                flush(&mut buffer, &mut blocks, Kind::Heading(heading.take().unwrap_or(1)));
            }
            Event::Start(Tag::Item) => {
                if item_depth > 0 {
                    flush(&mut buffer, &mut blocks, Kind::Item);
                }
                item_depth += 1;
            }
            Event::End(TagEnd::Item) => {
                flush(&mut buffer, &mut blocks, Kind::Item);
                item_depth = item_depth.saturating_sub(1);
            }
            Event::End(TagEnd::Paragraph) | Event::End(TagEnd::CodeBlock) if item_depth == 0 => {
                flush(&mut buffer, &mut blocks, Kind::Paragraph);
            }
            Event::End(TagEnd::Paragraph) => buffer.push(' '),
            Event::End(TagEnd::TableCell) => {
                cells.push(normalize_space(&buffer));
                buffer.clear();
            }
            Event::End(TagEnd::TableRow) | Event::End(TagEnd::TableHead) => {
                let row = cells.drain(..).filter(|cell| !cell.is_empty()).collect::<Vec<_>>().join(" | ");
                buffer.push_str(&row);
                flush(&mut buffer, &mut blocks, Kind::Paragraph);
            }
            Event::Text(text) | Event::Code(text) => buffer.push_str(&text),
            Event::SoftBreak | Event::HardBreak => buffer.push(' '),
            _ => {}
        }
    }
    flush(&mut buffer, &mut blocks, Kind::Paragraph);
    blocks
}

#[derive(Clone, Copy)]
enum Kind {
    Heading(u8),
    Item,
    Paragraph,
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_paragraphs_and_items_keep_their_roles() {
        let blocks = parse(
            "# Returns\n\nYou can return **unused** items\nwithin 30 days.\n\n## How\n\n- Pack the item\n- Print the `label`\n\n| Plan | Price |\n|---|---|\n| Pro | $10 |\n",
        );
        assert_eq!(
            blocks,
            vec![
                Block::Heading { level: 1, text: "Returns".into() },
                Block::Paragraph("You can return unused items within 30 days.".into()),
                Block::Heading { level: 2, text: "How".into() },
                Block::ListItem("Pack the item".into()),
                Block::ListItem("Print the label".into()),
                Block::Paragraph("Plan | Price".into()),
                Block::Paragraph("Pro | $10".into()),
            ]
        );
    }

    #[test]
    fn nested_list_items_are_separate() {
        let blocks = parse("- outer\n  - inner\n- last\n");
        assert_eq!(
            blocks,
            vec![Block::ListItem("outer".into()), Block::ListItem("inner".into()), Block::ListItem("last".into())]
        );
    }
}
