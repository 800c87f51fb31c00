//! Turns an uploaded file into structured blocks (headings, paragraphs, list items,
//! question/answer pairs). One module per format; every failure is a readable
//! [`ParseError`] that becomes the document's `error`.

mod docx;
mod faq;
mod html;
mod markdown;
mod pdf;
mod text;

use copilot_core::model::DocumentError;
use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

/// The formats the knowledge base reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Html,
    Pdf,
    Docx,
    Csv,
    Json,
}

impl Format {
    pub const ALL: [Format; 7] =
        [Format::Text, Format::Markdown, Format::Html, Format::Pdf, Format::Docx, Format::Csv, Format::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// Whether the format is text that a JSON upload can carry in `content`.
    pub fn is_textual(self) -> bool {
        !matches!(self, Format::Pdf | Format::Docx)
    }

    /// The format of a media type (parameters such as `; charset=utf-8` are ignored), or
    /// of one of the short names [`Format::as_str`] gives.
    pub fn from_media_type(media_type: &str) -> Option<Format> {
        let essence = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let format = match essence.as_str() {
            "text/plain" | "text" => Format::Text,
            "text/markdown" | "text/x-markdown" | "markdown" => Format::Markdown,
            "text/html" | "application/xhtml+xml" | "html" => Format::Html,
            "application/pdf" | "pdf" => Format::Pdf,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" | "docx" => Format::Docx,
            "text/csv" | "application/csv" | "csv" => Format::Csv,
            "application/json" | "json" => Format::Json,
            _ => return None,
        };
        Some(format)
    }

    /// The format a file name's extension names.
    pub fn from_filename(filename: &str) -> Option<Format> {
        let extension = filename.rsplit_once('.')?.1.to_ascii_lowercase();
        let format = match extension.as_str() {
            "txt" | "text" => Format::Text,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" | "xhtml" => Format::Html,
            "pdf" => Format::Pdf,
            "docx" => Format::Docx,
            "csv" => Format::Csv,
            "json" => Format::Json,
            _ => return None,
        };
        Some(format)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|format| format.as_str() == value).ok_or(())
    }
}

/// A unit of a document's structure.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A heading; level 1 is the outermost.
    Heading {
        level: u8,
        text: String,
    },
    Paragraph(String),
    ListItem(String),
    /// An FAQ entry; always a chunk of its own.
    QuestionAnswer {
        question: String,
        answer: String,
    },
}

/// Why a file could not be read: its kind for programs, a message for the uploader.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub kind: DocumentError,
    pub message: String,
}

impl ParseError {
    fn new(kind: DocumentError, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// Reads a file of the given format into blocks; a file without any text is an error.
pub fn parse(format: Format, bytes: &[u8]) -> Result<Vec<Block>, ParseError> {
    parse_cancellable(format, bytes, &Cancel::default())
}

/// Asks a long parse (a PDF's pages) to stop: its document was deleted or replaced.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// [`parse`], stopping between a PDF's pages once `cancel` is set (the result is then an
/// error).
pub fn parse_cancellable(format: Format, bytes: &[u8], cancel: &Cancel) -> Result<Vec<Block>, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::new(DocumentError::EmptyFile, "the file is empty"));
    }
    let blocks = match format {
        Format::Text => text::parse(&decode_text(bytes)?),
        Format::Markdown => markdown::parse(&decode_text(bytes)?),
        Format::Html => html::parse(&decode_text(bytes)?)?,
        Format::Pdf => pdf::parse(bytes, cancel, pdf::TIME_LIMIT)?,
        Format::Docx => docx::parse(bytes)?,
        Format::Csv => faq::parse_csv(&decode_text(bytes)?)?,
        Format::Json => faq::parse_json(&decode_text(bytes)?)?,
    };
    let blocks: Vec<Block> = blocks.into_iter().filter(|block| !block_is_blank(block)).collect();
    if !blocks.iter().any(|block| !matches!(block, Block::Heading { .. })) {
        return Err(ParseError::new(DocumentError::NoText, format!("the {format} file contains no text")));
    }
    Ok(blocks)
}

fn block_is_blank(block: &Block) -> bool {
    match block {
        Block::Heading { text, .. } | Block::Paragraph(text) | Block::ListItem(text) => text.trim().is_empty(),
        Block::QuestionAnswer { question, answer } => question.trim().is_empty() || answer.trim().is_empty(),
    }
}

/// Decodes a text file: UTF-8 (with or without a byte-order mark), UTF-16 with a mark,
/// else GB18030 (which covers GBK and GB2312) when it decodes cleanly.
pub fn decode_text(bytes: &[u8]) -> Result<String, ParseError> {
    if let Some((encoding, bom_length)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_length..]);
        if !had_errors {
            return Ok(text.into_owned());
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if !had_errors {
        return Ok(text.into_owned());
    }
    Err(ParseError::new(
        DocumentError::UnsupportedEncoding,
        "the file is not valid text (expected UTF-8, UTF-16 with a byte-order mark, or GB18030)",
    ))
}

/// A character of Chinese, Japanese or Korean script.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Collapses runs of whitespace into single spaces and trims.
pub(crate) fn normalize_space(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_and_extensions_name_formats() {
        assert_eq!(Format::from_media_type("text/markdown; charset=utf-8"), Some(Format::Markdown));
        assert_eq!(Format::from_media_type("TEXT/HTML"), Some(Format::Html));
        assert_eq!(Format::from_media_type("image/png"), None);
        assert_eq!(Format::from_filename("FAQ.DOCX"), Some(Format::Docx));
        assert_eq!(Format::from_filename("notes"), None);
        assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
    }

    #[test]
    fn text_in_gbk_is_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("退货政策");
        assert_eq!(decode_text(&bytes), Ok("退货政策".to_owned()));
    }

    #[test]
    fn utf8_with_a_byte_order_mark_loses_the_mark() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFhello"), Ok("hello".to_owned()));
    }

    #[test]
    fn binary_noise_is_not_text() {
        assert!(decode_text(&[0x80, 0x81, 0xff, 0x00, 0xc3, 0xfe, 0xfd]).is_err());
    }

    #[test]
    fn an_empty_file_is_an_error() {
        assert_eq!(parse(Format::Text, b""), Err(ParseError::new(DocumentError::EmptyFile, "the file is empty")));
        assert!(parse(Format::Markdown, b"# Only a heading\n").is_err());
        assert!(parse(Format::Text, b"   \n\n  ").is_err());
    }
}
