//! A PDF page's text in reading order. The extractor hands over glyphs with their position
//! and size; they become lines (a baseline's glyphs, split where a wide gap separates
//! columns or table cells), a page's lines are read column by column (a gutter that most
//! lines stay clear of makes two columns; a line across it, a heading or a table, ends a
//! run of columns), and the document's lines become blocks: headings where the font is
//! larger than the body's, list items, paragraphs joined across lines with hyphenation
//! undone, and table rows as `cell | cell` lines.

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

use super::super::{Block, is_cjk, normalize_space, text::list_item};

/// One glyph (or ligature) as placed on the page; `y` is the baseline, from the top.
#[derive(Clone, Debug)]
struct Glyph {
    x: f64,
    end: f64,
    y: f64,
    size: f64,
    text: String,
}

/// A run of text on one baseline: a whole line of a column, or one cell of a table row.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Segment {
    pub x0: f64,
    pub x1: f64,
    /// The baseline, from the top of the page.
    pub y: f64,
    pub size: f64,
    pub text: String,
}

/// A line in reading order: its cells (one unless it is a table row).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Line {
    pub cells: Vec<Segment>,
}

impl Line {
    pub fn text(&self) -> String {
        self.cells.iter().map(|cell| cell.text.as_str()).collect::<Vec<_>>().join(" | ")
    }

    fn size(&self) -> f64 {
        self.cells.iter().map(|cell| cell.size).fold(0.0, f64::max)
    }

    /// The baseline, from the top of the page.
    pub fn y(&self) -> f64 {
        self.cells.first().map_or(0.0, |cell| cell.y)
    }

    fn x0(&self) -> f64 {
        self.cells.first().map_or(0.0, |cell| cell.x0)
    }

    fn x1(&self) -> f64 {
        self.cells.last().map_or(0.0, |cell| cell.x1)
    }
}

/// Collects one page's glyphs from the extractor.
#[derive(Default)]
pub(super) struct PageGlyphs {
    height: f64,
    glyphs: Vec<Glyph>,
}

impl PageGlyphs {
    /// The page's lines in reading order.
    pub fn lines(self) -> Vec<Line> {
        order(segments(self.glyphs))
    }
}

impl OutputDev for PageGlyphs {
    fn begin_page(&mut self, _: u32, media_box: &MediaBox, _: Option<(f64, f64, f64, f64)>) -> Result<(), OutputError> {
        self.height = media_box.ury - media_box.lly;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        text: &str,
    ) -> Result<(), OutputError> {
        let scale = (trm.m11 * trm.m22 - trm.m12 * trm.m21).abs().sqrt();
        let size = font_size * scale;
        if !size.is_finite() || size <= 0.0 {
            return Ok(());
        }
        let x = trm.m31;
        self.glyphs.push(Glyph { x, end: x + width * size, y: self.height - trm.m32, size, text: text.to_owned() });
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// A gap wider than this many font sizes separates two segments of a baseline (columns,
/// table cells); a narrower one wider than [`SPACE`] is a space.
const CELL_GAP: f64 = 1.2;
const SPACE: f64 = 0.12;

/// Glyphs grouped by baseline, then split at wide gaps.
fn segments(mut glyphs: Vec<Glyph>) -> Vec<Segment> {
    glyphs.retain(|glyph| !glyph.text.is_empty());
    glyphs.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    let mut baselines: Vec<Vec<Glyph>> = Vec::new();
    for glyph in glyphs {
        match baselines.last_mut() {
            Some(line) if (glyph.y - line[0].y).abs() <= 0.3 * line[0].size.max(glyph.size) => line.push(glyph),
            _ => baselines.push(vec![glyph]),
        }
    }
    let mut segments = Vec::new();
    for mut line in baselines {
        line.sort_by(|a, b| a.x.total_cmp(&b.x));
        let mut current: Option<Segment> = None;
        let mut last_end = f64::NEG_INFINITY;
        for glyph in line {
            let blank = glyph.text.trim().is_empty();
            let gap = glyph.x - last_end;
            if let Some(segment) = current.as_mut() {
                if gap > CELL_GAP * glyph.size.max(segment.size) && !blank {
                    segments.push(current.take().expect("a segment"));
                } else if (blank || gap > SPACE * glyph.size) && !segment.text.ends_with(' ') {
                    segment.text.push(' ');
                }
            }
            if blank {
                last_end = last_end.max(glyph.end);
                continue;
            }
            match current.as_mut() {
                Some(segment) => {
                    segment.text.push_str(&glyph.text);
                    segment.x1 = segment.x1.max(glyph.end);
                    segment.size = segment.size.max(glyph.size);
                }
                None => {
                    current = Some(Segment {
                        x0: glyph.x,
                        x1: glyph.end,
                        y: glyph.y,
                        size: glyph.size,
                        text: glyph.text.clone(),
                    });
                }
            }
            last_end = glyph.end;
        }
        segments.extend(current);
    }
    for segment in &mut segments {
        segment.text = normalize_space(&segment.text);
    }
    segments.retain(|segment| !segment.text.is_empty());
    segments
}

/// The page's segments in reading order, as lines. With two columns, a run of lines is
/// read down the left column, then down the right; a segment that crosses the gutter ends
/// the run. Segments that share a baseline in one column or across a page without columns
/// are the cells of one line.
fn order(mut segments: Vec<Segment>) -> Vec<Line> {
    segments.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x0.total_cmp(&b.x0)));
    let Some(gutter) = gutter(&segments) else { return rows(segments) };
    let mut lines = Vec::new();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for segment in segments {
        if segment.x1 <= gutter {
            left.push(segment);
        } else if segment.x0 >= gutter {
            right.push(segment);
        } else {
            lines.extend(rows(std::mem::take(&mut left)));
            lines.extend(rows(std::mem::take(&mut right)));
            lines.push(Line { cells: vec![segment] });
        }
    }
    lines.extend(rows(left));
    lines.extend(rows(right));
    lines
}

/// Sorted segments grouped into lines by baseline.
fn rows(segments: Vec<Segment>) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    for segment in segments {
        match lines.last_mut() {
            Some(line) if (segment.y - line.y()).abs() <= 0.3 * segment.size.max(line.size()) => {
                line.cells.push(segment);
                line.cells.sort_by(|a, b| a.x0.total_cmp(&b.x0));
            }
            _ => lines.push(Line { cells: vec![segment] }),
        }
    }
    lines
}

/// The x of a column gutter, when the page has two columns: a vertical band in the middle
/// of the text that at most a few segments cross, with at least three full lines of text
/// on each side (a table's narrow cells are not columns).
fn gutter(segments: &[Segment]) -> Option<f64> {
    let left_edge = segments.iter().map(|s| s.x0).fold(f64::INFINITY, f64::min);
    let right_edge = segments.iter().map(|s| s.x1).fold(f64::NEG_INFINITY, f64::max);
    let width = right_edge - left_edge;
    if width.is_nan() || width <= 0.0 || segments.len() < 6 {
        return None;
    }
    let crossing = |x: f64| segments.iter().filter(|s| s.x0 < x && s.x1 > x).count();
    let (mut best, mut fewest) = (None, usize::MAX);
    let steps = 60;
    for step in 0..=steps {
        let x = left_edge + width * (0.3 + 0.4 * step as f64 / steps as f64);
        let count = crossing(x);
        if count < fewest {
            (best, fewest) = (Some(x), count);
        }
    }
    let x = best?;
    let full = |side: &[&Segment]| side.iter().filter(|s| s.x1 - s.x0 >= 0.3 * width).count();
    let left: Vec<&Segment> = segments.iter().filter(|s| s.x1 <= x).collect();
    let right: Vec<&Segment> = segments.iter().filter(|s| s.x0 >= x).collect();
    let columns = full(&left) >= 3 && full(&right) >= 3 && fewest * 4 <= left.len() + right.len();
    columns.then_some(x)
}

/// Lines of the whole document (pages in order, running headers and footers removed) as
/// blocks: a line set larger than the body text is a heading (the largest size is level 1),
/// a line with several cells is a table row, a bulleted or numbered line starts a list item,
/// and other lines join into paragraphs: a paragraph ends at a wider gap than the lines'
/// usual spacing, or after a short line that ends a sentence.
pub(super) fn blocks(lines: &[(usize, Line)]) -> Vec<Block> {
    let body = body_size(lines.iter().map(|(_, line)| line));
    let mut heading_sizes: Vec<f64> = lines
        .iter()
        .map(|(_, line)| line.size())
        .filter(|size| is_heading_size(*size, body))
        .map(|size| (size * 2.0).round() / 2.0)
        .collect();
    heading_sizes.sort_by(|a, b| b.total_cmp(a));
    heading_sizes.dedup();
    let level_of = |size: f64| -> u8 {
        let size = (size * 2.0).round() / 2.0;
        let rank = heading_sizes.iter().position(|s| *s <= size).unwrap_or(heading_sizes.len());
        (rank + 1).min(3) as u8
    };
    let pitch = usual_pitch(lines, body);
    let widest = widest(lines);

    let mut blocks = Vec::new();
    let mut open: Option<(bool, String)> = None; // (a list item?, text)
    let mut previous: Option<&(usize, Line)> = None;
    let close = |open: &mut Option<(bool, String)>, blocks: &mut Vec<Block>| {
        if let Some((item, text)) = open.take() {
            blocks.push(if item { Block::ListItem(text) } else { Block::Paragraph(text) });
        }
    };
    for entry in lines {
        let (page, line) = entry;
        let text = line.text();
        if line.cells.len() == 1 && is_heading_size(line.size(), body) && text.chars().count() <= 150 {
            close(&mut open, &mut blocks);
            // A heading set on two lines is one heading.
            if let (Some(Block::Heading { level, text: heading }), Some((_, before))) = (blocks.last_mut(), previous)
                && *level == level_of(line.size())
                && before.cells.len() == 1
                && (line.y() - before.y()).abs() <= 1.6 * line.size()
            {
                heading.push(' ');
                heading.push_str(&text);
            } else {
                blocks.push(Block::Heading { level: level_of(line.size()), text });
            }
        } else if line.cells.len() > 1 {
            close(&mut open, &mut blocks);
            blocks.push(Block::Paragraph(text));
        } else if let Some(item) = list_item(&text) {
            close(&mut open, &mut blocks);
            open = Some((true, item.to_owned()));
        } else {
            let continues = match (&open, previous) {
                (Some((_, so_far)), Some((before_page, before))) => {
                    let same_flow = before_page != page
                        || ((line.y() - before.y()) > 0.0 && (line.y() - before.y()) <= 1.5 * pitch)
                        || line.y() < before.y(); // the top of the next column
                    let ended = ends_sentence(so_far) && (before.x1() - before.x0()) < 0.6 * widest;
                    same_flow && !ended
                }
                _ => false,
            };
            if continues {
                if let Some((_, so_far)) = open.as_mut() {
                    join_line(so_far, &text);
                }
            } else {
                close(&mut open, &mut blocks);
                open = Some((false, text));
            }
        }
        previous = Some(entry);
    }
    close(&mut open, &mut blocks);
    blocks
}

fn is_heading_size(size: f64, body: f64) -> bool {
    size >= body * 1.15
}

/// The size most of the text is set in (weighted by characters, to half a point).
fn body_size<'a>(lines: impl Iterator<Item = &'a Line>) -> f64 {
    let mut weights: Vec<(f64, usize)> = Vec::new();
    for line in lines {
        for cell in &line.cells {
            let size = (cell.size * 2.0).round() / 2.0;
            match weights.iter_mut().find(|(s, _)| *s == size) {
                Some((_, weight)) => *weight += cell.text.chars().count(),
                None => weights.push((size, cell.text.chars().count())),
            }
        }
    }
    weights.into_iter().max_by_key(|(_, weight)| *weight).map_or(10.0, |(size, _)| size)
}

/// The usual distance between the baselines of consecutive body lines.
fn usual_pitch(lines: &[(usize, Line)], body: f64) -> f64 {
    let mut pitches: Vec<f64> = lines
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .map(|pair| pair[1].1.y() - pair[0].1.y())
        .filter(|pitch| *pitch > 0.5 * body && *pitch < 3.0 * body)
        .collect();
    pitches.sort_by(f64::total_cmp);
    pitches.get(pitches.len() / 4).copied().unwrap_or(body * 1.2)
}

fn widest(lines: &[(usize, Line)]) -> f64 {
    let mut widths: Vec<f64> = lines.iter().map(|(_, line)| line.x1() - line.x0()).collect();
    widths.sort_by(f64::total_cmp);
    // A high percentile, not the maximum: a stray full-width line does not count.
    widths.get(widths.len() * 9 / 10).copied().unwrap_or(0.0)
}

fn ends_sentence(text: &str) -> bool {
    text.trim_end().ends_with(['.', '!', '?', ':', '。', '！', '？', '：'])
}

/// Appends the next line of a paragraph: a word hyphenated at the line's end is joined
/// again ("replace-" + "ment"), Chinese runs on without a space, anything else gets one.
fn join_line(paragraph: &mut String, next: &str) {
    let last = paragraph.chars().last();
    let before_last = paragraph.chars().rev().nth(1);
    let first = next.chars().next();
    let hyphenated =
        last == Some('-') && before_last.is_some_and(char::is_alphabetic) && first.is_some_and(char::is_lowercase);
    if hyphenated {
        paragraph.pop();
    } else if !(last.is_some_and(is_cjk) && first.is_some_and(is_cjk)) {
        paragraph.push(' ');
    }
    paragraph.push_str(next);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyphs(x: f64, y: f64, size: f64, text: &str) -> Vec<Glyph> {
        let advance = 0.5 * size;
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                let at = x + i as f64 * advance;
                Glyph { x: at, end: at + advance, y, size, text: c.to_string() }
            })
            .collect()
    }

    fn page(parts: &[(f64, f64, f64, &str)]) -> Vec<Line> {
        let glyphs = parts.iter().flat_map(|(x, y, size, text)| glyphs(*x, *y, *size, text)).collect();
        PageGlyphs { height: 842.0, glyphs }.lines()
    }

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(Line::text).collect()
    }

    #[test]
    fn two_columns_are_read_one_after_the_other_and_a_wide_line_ends_them() {
        // Columns at x 50–250 and 300–500 (10 pt glyphs, 5 pt advance: 40 characters fill one).
        let l = "left column line of forty characters ...";
        let r = "right column line of forty characters ..";
        let mut parts = vec![(50.0, 80.0, 16.0, "A title that runs across both columns of the page")];
        for n in 0..4 {
            let y = 110.0 + 12.0 * n as f64;
            parts.push((50.0, y, 10.0, l));
            parts.push((300.0, y, 10.0, r));
        }
        parts.push((50.0, 170.0, 10.0, "a closing line that spans the full width of the page text, too"));
        let lines = page(&parts);
        let order = texts(&lines);
        assert_eq!(order[0], "A title that runs across both columns of the page");
        assert!(order[1..5].iter().all(|line| line == l), "{order:?}");
        assert!(order[5..9].iter().all(|line| line == r), "{order:?}");
        assert!(order[9].starts_with("a closing line"), "{order:?}");
    }

    #[test]
    fn a_table_row_keeps_its_cells_in_order_on_one_line() {
        let lines = page(&[
            (50.0, 100.0, 10.0, "Product"),
            (200.0, 100.0, 10.0, "Warranty"),
            (350.0, 100.0, 10.0, "Repair"),
            (50.0, 112.0, 10.0, "Kettle"),
            (200.0, 112.0, 10.0, "1 year"),
            (350.0, 112.0, 10.0, "Free"),
        ]);
        assert_eq!(texts(&lines), vec!["Product | Warranty | Repair", "Kettle | 1 year | Free"]);
    }

    #[test]
    fn spaces_come_from_gaps_and_blank_glyphs() {
        let mut glyphs = glyphs(50.0, 100.0, 10.0, "two");
        glyphs.extend(super::tests::glyphs(70.0, 100.0, 10.0, "words"));
        let lines = PageGlyphs { height: 842.0, glyphs }.lines();
        assert_eq!(texts(&lines), vec!["two words"]);
    }

    fn line(y: f64, size: f64, text: &str) -> Line {
        let width = text.chars().count() as f64 * 0.5 * size;
        Line { cells: vec![Segment { x0: 50.0, x1: 50.0 + width, y, size, text: text.into() }] }
    }

    #[test]
    fn larger_lines_are_headings_and_paragraphs_join_across_lines_and_pages() {
        let lines = vec![
            (1, line(60.0, 18.0, "Warranty policy")),
            (1, line(90.0, 14.0, "What is covered")),
            (1, line(110.0, 10.0, "Every appliance carries a two-year warranty from the")),
            (1, line(122.0, 10.0, "date of delivery. A faulty unit gets a free replace-")),
            (1, line(134.0, 10.0, "ment or a refund.")),
            (1, line(160.0, 10.0, "- Batteries are covered for one year.")),
            (1, line(180.0, 10.0, "Claims need the order number and a photo of the fault,")),
            (2, line(40.0, 10.0, "sent within 14 days of noticing it.")),
            (2, line(70.0, 14.0, "退货与换货")),
            (2, line(90.0, 10.0, "商品签收后七天内可以")),
            (2, line(102.0, 10.0, "无理由退货。")),
        ];
        assert_eq!(
            blocks(&lines),
            vec![
                Block::Heading { level: 1, text: "Warranty policy".into() },
                Block::Heading { level: 2, text: "What is covered".into() },
                Block::Paragraph(
                    "Every appliance carries a two-year warranty from the date of delivery. A faulty unit gets a \
                     free replacement or a refund."
                        .into()
                ),
                Block::ListItem("Batteries are covered for one year.".into()),
                Block::Paragraph(
                    "Claims need the order number and a photo of the fault, sent within 14 days of noticing it.".into()
                ),
                Block::Heading { level: 2, text: "退货与换货".into() },
                Block::Paragraph("商品签收后七天内可以无理由退货。".into()),
            ]
        );
    }
}
