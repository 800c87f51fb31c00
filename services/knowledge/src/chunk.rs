//! Splits a parsed document into chunks for retrieval. Chunks follow the structure:
//! a chunk never spans two sections, keeps its heading path, packs whole paragraphs and
//! list items up to a target size, and repeats the tail of the previous chunk of the same
//! section (overlap). A question/answer pair is always a chunk of its own.

use crate::parse::Block;
pub(crate) use crate::parse::is_cjk;

/// Sizes in estimated model tokens (see [`estimate_tokens`]).
#[derive(Clone, Copy, Debug)]
pub struct ChunkOptions {
    /// A chunk closes when the next unit would take it past this size.
    pub target_tokens: usize,
    /// A paragraph longer than this is split at sentence boundaries (or hard, if it must).
    pub max_unit_tokens: usize,
    /// At most this much of the previous chunk's end starts the next chunk of a section.
    pub overlap_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        // The encoder reads 512 tokens; chunks stay well under it with their headings.
        Self { target_tokens: 220, max_unit_tokens: 300, overlap_tokens: 40 }
    }
}

/// A piece of a document as it is embedded and searched.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    /// Headings from the outermost to the nearest; a question/answer chunk ends with its question.
    pub heading_path: Vec<String>,
    pub text: String,
    /// 0, 1, 2, … in document order.
    pub position: i32,
}

impl Chunk {
    /// The heading path as one line, e.g. `Returns > Refunds`.
    pub fn heading(&self) -> String {
        self.heading_path.join(" > ")
    }
}

/// Chunks the blocks of one document.
pub fn chunk(blocks: &[Block], options: ChunkOptions) -> Vec<Chunk> {
    let mut chunker = Chunker { options, headings: Vec::new(), units: Vec::new(), chunks: Vec::new() };
    for block in blocks {
        match block {
            Block::Heading { level, text } => {
                chunker.close_section();
                chunker.headings.retain(|(outer, _)| outer < level);
                chunker.headings.push((*level, text.clone()));
            }
            Block::Paragraph(text) => chunker.units.push(text.clone()),
            Block::ListItem(text) => chunker.units.push(format!("- {text}")),
            Block::QuestionAnswer { question, answer } => {
                chunker.close_section();
                let mut path = chunker.heading_path();
                path.push(question.clone());
                chunker.emit(path, format!("{question}\n{answer}"));
            }
        }
    }
    chunker.close_section();
    chunker.chunks
}

struct Chunker {
    options: ChunkOptions,
    headings: Vec<(u8, String)>,
    units: Vec<String>,
    chunks: Vec<Chunk>,
}

impl Chunker {
    fn heading_path(&self) -> Vec<String> {
        self.headings.iter().map(|(_, text)| text.clone()).collect()
    }

    fn emit(&mut self, heading_path: Vec<String>, text: String) {
        let position = self.chunks.len() as i32;
        self.chunks.push(Chunk { heading_path, text, position });
    }

    /// Packs the section's units into chunks.
    fn close_section(&mut self) {
        let units: Vec<String> = std::mem::take(&mut self.units)
            .into_iter()
            .flat_map(|unit| split_long(&unit, self.options.max_unit_tokens))
            .collect();
        let path = self.heading_path();
        let mut current: Vec<String> = Vec::new();
        let mut tokens = 0;
        let mut fresh = 0; // Units in `current` that no earlier chunk holds.
        for unit in units {
            let size = estimate_tokens(&unit);
            if fresh > 0 && tokens + size > self.options.target_tokens {
                let text = current.join("\n");
                let overlap = tail(&text, self.options.overlap_tokens);
                self.emit(path.clone(), text);
                current = overlap.into_iter().collect();
                tokens = current.iter().map(|unit| estimate_tokens(unit)).sum();
                fresh = 0;
            }
            tokens += size;
            fresh += 1;
            current.push(unit);
        }
        if fresh > 0 {
            self.emit(path, current.join("\n"));
        }
    }
}

/// A rough count of the encoder's tokens: one per CJK character, four per three words
/// of other scripts.
pub fn estimate_tokens(text: &str) -> usize {
    let cjk = text.chars().filter(|c| is_cjk(*c)).count();
    let words = text.split(|c: char| c.is_whitespace() || is_cjk(c)).filter(|word| !word.is_empty()).count();
    cjk + (words * 4).div_ceil(3)
}

/// Sentences, each with its closing punctuation.
pub(crate) fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        let end = index + c.len_utf8();
        let closes = match c {
            '。' | '！' | '？' | '；' => true,
            '.' | '!' | '?' | ';' => chars.peek().is_none_or(|(_, next)| next.is_whitespace()),
            _ => false,
        };
        if closes {
            let sentence = text[start..end].trim();
            if !sentence.is_empty() {
                out.push(sentence);
            }
            start = end;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// A unit within the size, or its sentences packed into pieces within it.
fn split_long(unit: &str, max_tokens: usize) -> Vec<String> {
    if estimate_tokens(unit) <= max_tokens {
        return vec![unit.to_owned()];
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    for sentence in sentences(unit).into_iter().flat_map(|sentence| hard_split(sentence, max_tokens)) {
        if !current.is_empty() && estimate_tokens(&current) + estimate_tokens(&sentence) > max_tokens {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() && !current.ends_with(|c: char| is_cjk(c) || "。！？；".contains(c)) {
            current.push(' ');
        }
        current.push_str(&sentence);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// A sentence cut into pieces within the size, at spaces where there are any.
fn hard_split(sentence: &str, max_tokens: usize) -> Vec<String> {
    if estimate_tokens(sentence) <= max_tokens {
        return vec![sentence.to_owned()];
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    for token in sentence.split_inclusive(|c: char| c.is_whitespace() || is_cjk(c)) {
        if !current.is_empty() && estimate_tokens(&current) + estimate_tokens(token) > max_tokens {
            pieces.push(current.trim().to_owned());
            current.clear();
        }
        current.push_str(token);
    }
    if !current.trim().is_empty() {
        pieces.push(current.trim().to_owned());
    }
    pieces
}

/// The last sentences of `text` that fit in `budget` tokens, if any do.
fn tail(text: &str, budget: usize) -> Option<String> {
    let mut picked: Vec<&str> = Vec::new();
    let mut used = 0;
    for sentence in sentences(text).into_iter().rev() {
        let size = estimate_tokens(sentence);
        if used + size > budget {
            break;
        }
        used += size;
        picked.push(sentence);
    }
    if picked.is_empty() {
        return None;
    }
    picked.reverse();
    Some(picked.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(count: usize, word: &str) -> String {
        vec![word; count].join(" ") + "."
    }

    #[test]
    fn token_estimates_count_cjk_characters_and_words() {
        assert_eq!(estimate_tokens("退货政策"), 4);
        assert_eq!(estimate_tokens("one two three"), 4);
        assert_eq!(estimate_tokens("请 return 商品"), 3 + 2);
    }

    #[test]
    fn sentences_split_on_western_and_chinese_punctuation() {
        assert_eq!(sentences("One. Two! 三。四？ v1.2 stays"), vec!["One.", "Two!", "三。", "四？", "v1.2 stays"]);
    }

    #[test]
    fn sections_never_share_a_chunk_and_keep_their_heading_path() {
        let blocks = vec![
            Block::Heading { level: 1, text: "Returns".into() },
            Block::Paragraph("Return within 30 days.".into()),
            Block::Heading { level: 2, text: "Refunds".into() },
            Block::ListItem("Refunds take 5 days.".into()),
            Block::Heading { level: 1, text: "Shipping".into() },
            Block::Paragraph("Two days.".into()),
        ];
        let chunks = chunk(&blocks, ChunkOptions::default());
        let summary: Vec<(String, String, i32)> =
            chunks.iter().map(|c| (c.heading(), c.text.clone(), c.position)).collect();
        assert_eq!(
            summary,
            vec![
                ("Returns".into(), "Return within 30 days.".into(), 0),
                ("Returns > Refunds".into(), "- Refunds take 5 days.".into(), 1),
                ("Shipping".into(), "Two days.".into(), 2),
            ]
        );
    }

    #[test]
    fn a_long_section_is_packed_with_overlap() {
        let paragraphs: Vec<Block> =
            (0..6).map(|i| Block::Paragraph(format!("{} Closing sentence {i}.", words(60, "word")))).collect();
        let options = ChunkOptions { target_tokens: 200, max_unit_tokens: 300, overlap_tokens: 10 };
        let chunks = chunk(&paragraphs, options);
        assert!(chunks.len() >= 3, "{} chunks", chunks.len());
        for pair in chunks.windows(2) {
            let previous_end = pair[0].text.rsplit(". ").next().unwrap_or_default();
            assert!(
                pair[1].text.starts_with(previous_end.trim_start()),
                "no overlap between {:?} and {:?}",
                pair[0].text,
                pair[1].text
            );
        }
        for paragraph in 0..6 {
            let closing = format!("Closing sentence {paragraph}.");
            assert!(chunks.iter().any(|c| c.text.contains(&closing)), "lost {closing}");
        }
        for c in &chunks {
            assert!(estimate_tokens(&c.text) <= options.target_tokens + options.max_unit_tokens, "{}", c.text.len());
        }
    }

    #[test]
    fn an_overlong_paragraph_is_split_at_sentences_and_nothing_is_lost() {
        let long: String = (0..40).map(|i| format!("这是第{i}句话，介绍退货流程。")).collect();
        let chunks = chunk(&[Block::Paragraph(long.clone())], ChunkOptions::default());
        assert!(chunks.len() > 1);
        for i in 0..40 {
            let sentence = format!("这是第{i}句话，介绍退货流程。");
            assert!(chunks.iter().any(|c| c.text.contains(&sentence)), "lost sentence {i}");
        }
        assert!(chunks.iter().all(|c| estimate_tokens(&c.text) <= 300 + 40));
    }

    #[test]
    fn a_sentence_without_punctuation_is_cut_hard() {
        let chunks = chunk(&[Block::Paragraph(words(1000, "lorem"))], ChunkOptions::default());
        assert!(chunks.len() >= 4);
        assert!(chunks.iter().all(|c| estimate_tokens(&c.text) <= 300 + 40));
    }

    #[test]
    fn each_question_and_answer_is_one_chunk() {
        let blocks = vec![
            Block::Heading { level: 1, text: "FAQ".into() },
            Block::QuestionAnswer { question: "Can I return?".into(), answer: "Yes, within 30 days.".into() },
            Block::QuestionAnswer { question: "运费多少？".into(), answer: "满99元包邮。".into() },
        ];
        let chunks = chunk(&blocks, ChunkOptions::default());
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].text, "Can I return?\nYes, within 30 days.");
        assert_eq!(chunks[0].heading_path, vec!["FAQ".to_owned(), "Can I return?".to_owned()]);
        assert_eq!(chunks[1].position, 1);
    }
}
