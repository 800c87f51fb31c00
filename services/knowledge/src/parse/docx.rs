//! DOCX (Office Open XML): paragraphs of `word/document.xml`, with headings from the
//! paragraph styles (`styles.xml` maps style ids, which are localised, to "heading N")
//! and list items from numbering.

use copilot_core::model::DocumentError;
use std::{
    collections::HashMap,
    io::{Cursor, Read},
};

use quick_xml::{
    Reader,
    events::{BytesStart, Event},
};

use super::{Block, ParseError, normalize_space};

/// Largest uncompressed XML part read, against zip bombs: a part that expands past it is
/// refused (about 2,000 pages of text and markup).
const MAX_PART_BYTES: u64 = 16 * 1024 * 1024;

pub fn parse(bytes: &[u8]) -> Result<Vec<Block>, ParseError> {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ParseError::new(
            DocumentError::Encrypted,
            "the file is an encrypted (password-protected) or legacy .doc Word file; save it as an unprotected .docx",
        ));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|error| {
        ParseError::new(DocumentError::Damaged, format!("the DOCX file is damaged (not a valid zip archive): {error}"))
    })?;
    let document = read_part(&mut archive, "word/document.xml")?.ok_or_else(|| {
        ParseError::new(DocumentError::Damaged, "the file is not a Word document (word/document.xml is missing)")
    })?;
    let styles = match read_part(&mut archive, "word/styles.xml")? {
        Some(xml) => heading_styles(&xml),
        None => HashMap::new(),
    };
    paragraphs(&document, &styles)
}

fn read_part(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<String>, ParseError> {
    let file = match archive.by_name(name) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(error) => {
            return Err(ParseError::new(DocumentError::Damaged, format!("the DOCX file is damaged: {error}")));
        }
    };
    if file.size() > MAX_PART_BYTES {
        return Err(ParseError::new(
            DocumentError::TooLarge,
            format!(
                "the DOCX file expands to {} MB of {name}; at most {} MB are read: split it",
                file.size() >> 20,
                MAX_PART_BYTES >> 20
            ),
        ));
    }
    let mut text = String::new();
    // The declared size may lie: read one byte past the limit to tell.
    file.take(MAX_PART_BYTES + 1).read_to_string(&mut text).map_err(|error| {
        ParseError::new(DocumentError::Damaged, format!("the DOCX file is damaged ({name}): {error}"))
    })?;
    if text.len() as u64 > MAX_PART_BYTES {
        return Err(ParseError::new(
            DocumentError::TooLarge,
            format!("the DOCX file expands past {} MB of {name}: split it", MAX_PART_BYTES >> 20),
        ));
    }
    Ok(Some(text))
}

fn attribute(element: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|attribute| attribute.key.as_ref() == name)
        .and_then(|attribute| attribute.unescape_value().ok().map(|value| value.into_owned()))
}

/// Style id → heading level, for styles named "heading N" or "Title".
fn heading_styles(xml: &str) -> HashMap<String, u8> {
    let mut levels = HashMap::new();
    let mut reader = Reader::from_str(xml);
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(element)) | Ok(Event::Empty(element)) => match element.name().as_ref() {
                b"w:style" => current = attribute(&element, b"w:styleId"),
                b"w:name" => {
                    if let (Some(id), Some(name)) = (&current, attribute(&element, b"w:val"))
                        && let Some(level) = heading_level(&name)
                    {
                        levels.insert(id.clone(), level);
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    levels
}

fn heading_level(style: &str) -> Option<u8> {
    let lower = style.to_ascii_lowercase();
    if lower == "title" {
        return Some(1);
    }
    let rest = lower.strip_prefix("heading").or_else(|| style.strip_prefix("标题"))?.trim();
    rest.parse::<u8>().ok().filter(|level| (1..=6).contains(level))
}

/// Word's list styles ("List Bullet", "List Number 2", "List Paragraph"): a list item even
/// when the numbering comes from the style rather than the paragraph.
fn is_list_style(style: &str) -> bool {
    let lower = style.to_ascii_lowercase();
    ["listbullet", "listnumber", "listparagraph"].iter().any(|prefix| lower.starts_with(prefix))
}

fn paragraphs(xml: &str, styles: &HashMap<String, u8>) -> Result<Vec<Block>, ParseError> {
    let mut reader = Reader::from_str(xml);
    let mut blocks = Vec::new();
    let mut text = String::new();
    let mut in_text = false;
    let mut style: Option<String> = None;
    let mut numbered = false;
    loop {
        let event = reader.read_event().map_err(|error| {
            ParseError::new(DocumentError::Damaged, format!("the DOCX file is damaged (document.xml): {error}"))
        })?;
        match event {
            Event::Start(element) | Event::Empty(element) => match element.name().as_ref() {
                b"w:p" => {
                    text.clear();
                    style = None;
                    numbered = false;
                }
                b"w:pStyle" => style = attribute(&element, b"w:val"),
                b"w:numPr" => numbered = true,
                b"w:t" => in_text = true,
                b"w:tab" => text.push('\t'),
                b"w:br" | b"w:cr" => text.push(' '),
                _ => {}
            },
            Event::Text(content) if in_text => {
                text.push_str(&content.unescape().map_err(|error| {
                    ParseError::new(DocumentError::Damaged, format!("the DOCX file is damaged (document.xml): {error}"))
                })?);
            }
            Event::End(element) => match element.name().as_ref() {
                b"w:t" => in_text = false,
                b"w:p" => {
                    let content = normalize_space(&text);
                    if !content.is_empty() {
                        let level = style.as_ref().and_then(|id| styles.get(id).copied().or_else(|| heading_level(id)));
                        blocks.push(match level {
                            Some(level) => Block::Heading { level, text: content },
                            None if numbered || style.as_deref().is_some_and(is_list_style) => Block::ListItem(content),
                            None => Block::Paragraph(content),
                        });
                    }
                    text.clear();
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_styles_come_from_names_in_any_language() {
        assert_eq!(heading_level("heading 2"), Some(2));
        assert_eq!(heading_level("Heading3"), Some(3));
        assert_eq!(heading_level("Title"), Some(1));
        assert_eq!(heading_level("标题 1"), Some(1));
        assert_eq!(heading_level("Normal"), None);
    }

    #[test]
    fn paragraphs_headings_and_numbered_items_are_read() {
        let styles = HashMap::from([("1".to_owned(), 1u8)]);
        let xml = r#"<w:document><w:body>
            <w:p><w:pPr><w:pStyle w:val="1"/></w:pPr><w:r><w:t>退货</w:t></w:r></w:p>
            <w:p><w:r><w:t xml:space="preserve">Return within </w:t></w:r><w:r><w:t>30 days &amp; unused.</w:t></w:r></w:p>
            <w:p><w:pPr><w:numPr><w:ilvl w:val="0"/></w:numPr></w:pPr><w:r><w:t>Pack it</w:t></w:r></w:p>
            <w:p><w:pPr><w:pStyle w:val="ListBullet"/></w:pPr><w:r><w:t>Label it</w:t></w:r></w:p>
            <w:p></w:p>
        </w:body></w:document>"#;
        assert_eq!(
            paragraphs(xml, &styles),
            Ok(vec![
                Block::Heading { level: 1, text: "退货".into() },
                Block::Paragraph("Return within 30 days & unused.".into()),
                Block::ListItem("Pack it".into()),
                Block::ListItem("Label it".into()),
            ])
        );
    }

    #[test]
    fn an_ole_file_is_reported_as_encrypted_or_legacy() {
        let error =
            parse(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]).err().map(|e| e.message).unwrap_or_default();
        assert!(error.contains("encrypted"), "{error}");
    }

    #[test]
    fn a_file_that_is_not_a_zip_is_damaged() {
        let error = parse(b"PK\x03\x04garbage").err().map(|e| e.message).unwrap_or_default();
        assert!(error.contains("damaged"), "{error}");
    }

    /// A DOCX whose document part holds `xml`, deflated.
    fn docx_of(xml: &str) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("word/document.xml", deflated).expect("a zip entry");
        zip.write_all(xml.as_bytes()).expect("the part");
        zip.finish().expect("the zip").into_inner()
    }

    #[test]
    fn a_part_that_expands_past_the_limit_is_refused_before_it_is_read() {
        let paragraph = "<w:p><w:r><w:t>The same words again and again.</w:t></w:r></w:p>";
        let body = paragraph.repeat((MAX_PART_BYTES as usize) / paragraph.len() + 1);
        let bomb = docx_of(&format!("<w:document><w:body>{body}</w:body></w:document>"));
        assert!(bomb.len() < 1 << 20, "{} bytes compressed", bomb.len());
        let started = std::time::Instant::now();
        let error = parse(&bomb).err().map(|error| error.message).unwrap_or_default();
        assert!(error.contains("expands") && error.contains("split it"), "{error}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        let small = docx_of(&format!("<w:document><w:body>{paragraph}</w:body></w:document>"));
        assert_eq!(parse(&small), Ok(vec![Block::Paragraph("The same words again and again.".into())]));
    }
}
