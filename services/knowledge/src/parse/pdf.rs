//! PDF: the text layer in reading order (see [`layout`]): columns read one after the
//! other, running headers and footers left out, headings told by font size, hyphenation
//! undone, table rows kept as rows. Password-protected, damaged, over-long and scanned
//! (text-less) files are refused with a readable reason.

mod layout;

use copilot_core::model::DocumentError;
use std::{
    panic::AssertUnwindSafe,
    time::{Duration, Instant},
};

use layout::{Line, PageGlyphs};

use super::{Block, Cancel, ParseError};

/// Most pages read: a longer PDF is refused (its text would take minutes to extract and
/// hours to embed); split it.
pub const MAX_PAGES: usize = 2_000;
/// Longest time spent extracting one PDF's text; a PDF that takes longer is refused.
pub const TIME_LIMIT: Duration = Duration::from_secs(180);

/// Extracts the text page by page, checking before each page whether the parse was
/// cancelled or ran out of time.
pub fn parse(bytes: &[u8], cancel: &Cancel, time_limit: Duration) -> Result<Vec<Block>, ParseError> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(ParseError::new(DocumentError::Damaged, "the file is not a PDF (it does not start with %PDF-)"));
    }
    let document = lopdf::Document::load_mem(bytes).map_err(|error| damaged(&error.to_string()))?;
    if document.is_encrypted() {
        return Err(ParseError::new(
            DocumentError::Encrypted,
            "the PDF is encrypted (password-protected); upload an unprotected copy",
        ));
    }
    let pages = document.get_pages().len();
    if pages > MAX_PAGES {
        return Err(ParseError::new(
            DocumentError::TooLarge,
            format!("the PDF has {pages} pages; at most {MAX_PAGES} are read: split it"),
        ));
    }
    let started = Instant::now();
    let mut page_lines = Vec::with_capacity(pages);
    for (&number, _) in document.get_pages().iter() {
        if cancel.is_cancelled() {
            return Err(ParseError::new(
                DocumentError::Unreadable,
                "reading the PDF was stopped: the document was deleted or replaced",
            ));
        }
        if started.elapsed() >= time_limit {
            return Err(ParseError::new(
                DocumentError::TooLarge,
                format!(
                    "reading the PDF took longer than {} s (stopped at page {number} of {pages}): split it",
                    time_limit.as_secs()
                ),
            ));
        }
        let mut page = PageGlyphs::default();
        // The extractor panics on some malformed fonts: contain it to this file.
        std::panic::catch_unwind(AssertUnwindSafe(|| pdf_extract::output_doc_page(&document, &mut page, number)))
            .map_err(|_| damaged("its text could not be extracted"))?
            .map_err(|error| damaged(&error.to_string()))?;
        page_lines.push(page.lines());
    }
    let lines: Vec<(usize, Line)> = without_running_lines(page_lines)
        .into_iter()
        .enumerate()
        .flat_map(|(page, lines)| lines.into_iter().map(move |line| (page, line)))
        .collect();
    let blocks = layout::blocks(&lines);
    if blocks.is_empty() {
        return Err(ParseError::new(
            DocumentError::NoTextLayer,
            "the PDF has no text layer (a scanned document?); upload a PDF with selectable text",
        ));
    }
    Ok(blocks)
}

/// Lines a page starts or ends with that most pages repeat (digits aside: "Page 3 of 12",
/// "Acme Ltd · Warranty policy") are running headers and footers, not content: they are
/// left out, so they do not land in the middle of a paragraph that crosses a page. A page
/// whose only line such a line is keeps it.
fn without_running_lines(pages: Vec<Vec<Line>>) -> Vec<Vec<Line>> {
    const EDGE: usize = 2;
    let shape = |line: &Line| -> String {
        line.text().trim().chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect()
    };
    // The lines nearest the top and the bottom of the page, wherever reading order put them
    // (a footer under the left column is read before the right column).
    let edges = |page: &[Line]| -> Vec<String> {
        let mut by_height: Vec<&Line> = page.iter().collect();
        by_height.sort_by(|a, b| a.y().total_cmp(&b.y()));
        let mut edge: Vec<String> = by_height.iter().take(EDGE).map(|line| shape(line)).collect();
        edge.extend(by_height.iter().rev().take(EDGE).map(|line| shape(line)));
        edge.sort();
        edge.dedup();
        edge
    };
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for page in &pages {
        for line in edges(page) {
            *seen.entry(line).or_default() += 1;
        }
    }
    let count = pages.len();
    let running = |shape: &str| count >= 3 && seen.get(shape).is_some_and(|n| n * 5 >= count * 3);
    pages
        .into_iter()
        .map(|page| {
            if page.len() <= 1 {
                return page;
            }
            let edge = edges(&page);
            page.into_iter()
                .filter(|line| {
                    let shape = shape(line);
                    !(running(&shape) && edge.contains(&shape))
                })
                .collect()
        })
        .collect()
}

fn damaged(reason: &str) -> ParseError {
    ParseError::new(DocumentError::Damaged, format!("the PDF is damaged or unreadable: {reason}"))
}

#[cfg(test)]
mod tests {
    use lopdf::{
        Document, Object, Stream,
        content::{Content, Operation},
        dictionary,
    };

    use super::*;

    /// A PDF whose page `n` (from 1) reads "Page n says hello".
    fn pdf(pages: usize) -> Vec<u8> {
        pdf_drawing(pages, |n| {
            vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 12.into()]),
                Operation::new("Td", vec![72.into(), 700.into()]),
                Operation::new("Tj", vec![Object::string_literal(format!("Page {n} says hello."))]),
                Operation::new("ET", vec![]),
            ]
        })
    }

    /// A PDF of `pages` A4 pages, page `n` (from 1) drawn by `page(n)` with font `F1`.
    fn pdf_drawing(pages: usize, page: impl Fn(usize) -> Vec<Operation>) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font = doc.add_object(dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier"});
        let resources = doc.add_object(dictionary! {"Font" => dictionary! {"F1" => font}});
        let kids: Vec<Object> = (1..=pages)
            .map(|n| {
                let content = Content { operations: page(n) };
                let stream = doc.add_object(Stream::new(dictionary! {}, content.encode().expect("encode")));
                doc.add_object(dictionary! {"Type" => "Page", "Parent" => pages_id, "Contents" => stream}).into()
            })
            .collect();
        let tree = dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => pages as i64,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        };
        doc.objects.insert(pages_id, Object::Dictionary(tree));
        let catalog = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
        doc.trailer.set("Root", catalog);
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).expect("save");
        bytes
    }

    fn text_of(blocks: &[Block]) -> String {
        blocks
            .iter()
            .map(|block| match block {
                Block::Paragraph(text) | Block::ListItem(text) | Block::Heading { text, .. } => text.clone(),
                Block::QuestionAnswer { question, answer } => format!("{question} {answer}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn every_page_is_read_in_order() {
        let blocks = parse(&pdf(3), &Cancel::default(), TIME_LIMIT).expect("parse");
        let text = text_of(&blocks);
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} missing in {text}"));
        assert!(at("Page 1 says hello") < at("Page 2 says hello") && at("Page 2 says hello") < at("Page 3 says hello"));
    }

    fn line(y: f64, text: &str) -> Line {
        Line { cells: vec![layout::Segment { x0: 50.0, x1: 300.0, y, size: 10.0, text: text.into() }] }
    }

    #[test]
    fn running_headers_and_footers_are_left_out_and_content_is_kept() {
        let content = [
            "Blenders carry two years.",
            "Kettles carry one year.",
            "Batteries are not covered.",
            "Claims need the receipt.",
        ];
        let pages: Vec<Vec<Line>> = content
            .iter()
            .enumerate()
            .map(|(i, text)| {
                // The footer sits under the left column, so reading order puts it first.
                vec![
                    line(800.0, &format!("Page {} of 4", i + 1)),
                    line(40.0, "Acme Ltd · Warranty policy"),
                    line(100.0, text),
                    line(400.0, "See the terms."),
                ]
            })
            .collect();
        let text =
            |pages: Vec<Vec<Line>>| -> String { pages.iter().flatten().map(Line::text).collect::<Vec<_>>().join("\n") };
        let kept = text(without_running_lines(pages.clone()));
        assert!(!kept.contains("Acme Ltd") && !kept.contains("of 4"), "{kept}");
        assert!(content.iter().all(|line| kept.contains(line)), "{kept}");
        // Two pages are too few to tell a running line from content.
        assert!(text(without_running_lines(pages[..2].to_vec())).contains("Acme Ltd"));
    }

    #[test]
    fn a_scan_without_text_and_a_pdf_over_the_page_limit_are_refused_with_the_reason() {
        // A page that only draws (what a scanned page is to a text reader).
        let scan = pdf_drawing(1, |_| {
            vec![Operation::new("re", vec![72.into(), 72.into(), 400.into(), 600.into()]), Operation::new("f", vec![])]
        });

        let no_text = parse(&scan, &Cancel::default(), TIME_LIMIT).expect_err("no text");
        let too_long = parse(&pdf(MAX_PAGES + 1), &Cancel::default(), TIME_LIMIT).expect_err("too many pages");

        assert_eq!(no_text.kind, DocumentError::NoTextLayer);
        assert!(no_text.message.contains("no text layer"), "{}", no_text.message);
        assert_eq!(too_long.kind, DocumentError::TooLarge);
        assert!(too_long.message.contains("has 2001 pages; at most 2000 are read"), "{}", too_long.message);
    }

    #[test]
    fn a_cancelled_or_slow_parse_stops_between_pages() {
        let cancel = Cancel::default();
        cancel.cancel();
        let stopped = parse(&pdf(3), &cancel, TIME_LIMIT).expect_err("cancelled");
        let slow = parse(&pdf(3), &Cancel::default(), Duration::ZERO).expect_err("out of time");

        assert!(stopped.message.contains("stopped"), "{}", stopped.message);
        assert!(slow.message.contains("took longer than 0 s (stopped at page 1 of 3)"), "{}", slow.message);
    }
}
