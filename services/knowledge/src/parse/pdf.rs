//! PDF: the text layer, as paragraphs (PDF keeps no reliable heading structure).
//! Password-protected and damaged files are refused with a readable reason.

use super::{Block, ParseError, text};

/// Most pages read: a longer PDF is refused (its text would take minutes to extract and
/// hours to embed); split it.
pub const MAX_PAGES: usize = 2_000;

pub fn parse(bytes: &[u8]) -> Result<Vec<Block>, ParseError> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(ParseError::new("the file is not a PDF (it does not start with %PDF-)"));
    }
    let document = lopdf::Document::load_mem(bytes).map_err(|error| damaged(&error.to_string()))?;
    if document.is_encrypted() {
        return Err(ParseError::new("the PDF is encrypted (password-protected); upload an unprotected copy"));
    }
    let pages = document.get_pages().len();
    if pages > MAX_PAGES {
        return Err(ParseError::new(format!("the PDF has {pages} pages; at most {MAX_PAGES} are read: split it")));
    }
    // The extractor panics on some malformed fonts: contain it to this file.
    let extracted = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
        .map_err(|_| damaged("its text could not be extracted"))?
        .map_err(|error| damaged(&error.to_string()))?;
    let blocks = text::parse(&extracted);
    if blocks.is_empty() {
        return Err(ParseError::new(
            "the PDF has no text layer (a scanned document?); upload a PDF with selectable text",
        ));
    }
    Ok(blocks)
}

fn damaged(reason: &str) -> ParseError {
    ParseError::new(format!("the PDF is damaged or unreadable: {reason}"))
}
