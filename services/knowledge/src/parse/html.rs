//! HTML: the main content only. Navigation, headers, footers, sidebars, forms, scripts
//! and styles are dropped; when the page marks its content with `<main>` or `<article>`,
//! only that is read.
//!
//! Uploads are untrusted, and html5ever's tree builder spends time proportional to the
//! nesting depth on every tag, so a deeply nested page costs the square of its size. Three
//! guards keep a hostile page cheap: a linear scan estimates the nesting before parsing
//! ([`estimated_depth`]), the tree is measured again while it is built ([`WatchedSink`]),
//! and the parse is fed in pieces against a deadline. The walk over the finished tree keeps
//! its own stack instead of recursing, so no depth can exhaust the thread's stack.

use copilot_core::model::DocumentError;
use std::borrow::Cow;
use std::cell::Cell;
use std::time::{Duration, Instant};

use html5ever::driver::{self, ParseOpts};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName};
use scraper::{ElementRef, Html, HtmlTreeSink, Node, Selector};

use super::{Block, ParseError, normalize_space};

/// Elements whose whole subtree is boilerplate or not text.
const SKIPPED: [&str; 16] = [
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "button", "iframe", "svg",
    "canvas", "select", "head", "dialog",
];

/// ARIA roles of boilerplate landmarks.
const SKIPPED_ROLES: [&str; 5] = ["navigation", "banner", "contentinfo", "complementary", "search"];

/// Words in a class or id that mark boilerplate.
const BOILERPLATE_MARKERS: [&str; 9] =
    ["navbar", "nav-", "menu", "breadcrumb", "sidebar", "footer", "cookie", "site-header", "skip-link"];

/// The deepest element nesting read. WebKit's and Blink's HTML parsers stop nesting at the
/// same depth, so no page that renders as its author meant goes deeper, while real pages
/// rarely pass 50 levels. At 512 levels the parser's cost, which grows with the depth on
/// every tag, stays within milliseconds per megabyte.
pub const MAX_DEPTH: usize = 512;

/// The longest an HTML parse may take. A large well-formed page parses in a second or two;
/// the limit stops whatever the depth guards miss before it holds a worker for long.
pub const TIME_LIMIT: Duration = Duration::from_secs(20);

/// The parser is given the text in pieces of at most this many bytes; the deadline and
/// the tree's size are checked between pieces.
const PIECE_BYTES: usize = 4 * 1024;

/// The most nodes the tree may hold per byte of HTML. Markup opens at most one element
/// every three bytes, but the parser reopens unclosed formatting elements (`<b>`, `<font>`)
/// in every new block, and a crafted page repeats that until memory runs out.
const NODES_PER_BYTE: usize = 2;

/// Nodes every document may hold whatever its size (the implied `<html>`, `<head>` and
/// `<body>`, and room for small pages).
const NODES_ALWAYS_ALLOWED: usize = 1024;

/// How much reading one HTML upload may cost.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The deepest element nesting read; deeper pages are refused.
    pub max_depth: usize,
    /// The longest the parse may take.
    pub time_limit: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_depth: MAX_DEPTH, time_limit: TIME_LIMIT }
    }
}

/// Reads a page within the default [`Limits`].
pub fn parse(text: &str) -> Result<Vec<Block>, ParseError> {
    parse_within(text, Limits::default())
}

/// Reads a page, refusing one that nests deeper or takes longer than `limits` allow.
pub fn parse_within(text: &str, limits: Limits) -> Result<Vec<Block>, ParseError> {
    let depth = estimated_depth(text);
    if depth > limits.max_depth {
        return Err(ParseError::new(
            DocumentError::TooLarge,
            format!("the HTML nests elements {depth} levels deep; at most {} are read", limits.max_depth),
        ));
    }
    let document = build_tree(text, limits)?;
    Ok(read_blocks(&document))
}

/// Parses the text in pieces, checking the deadline before each piece and the tree's depth
/// and size after it.
fn build_tree(text: &str, limits: Limits) -> Result<Html, ParseError> {
    let started = Instant::now();
    let max_nodes = text.len().saturating_mul(NODES_PER_BYTE).saturating_add(NODES_ALWAYS_ALLOWED);
    let sink = WatchedSink::new(limits.max_depth, max_nodes);
    let mut parser = driver::parse_document(sink, ParseOpts::default());
    for piece in pieces(text, PIECE_BYTES) {
        if started.elapsed() >= limits.time_limit {
            return Err(ParseError::new(
                DocumentError::TooLarge,
                format!("the HTML took longer than {:?} to read; split it into smaller files", limits.time_limit),
            ));
        }
        parser.process(StrTendril::from_slice(piece));
        parser.tokenizer.sink.sink.check()?;
    }
    parser.finish()
}

/// Splits text into pieces of at most `size` bytes (at least one character each), cut
/// between characters.
fn pieces(text: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.floor_char_boundary(size);
        if end == 0 {
            end = rest.ceil_char_boundary(1);
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

fn read_blocks(document: &Html) -> Vec<Block> {
    let root = ["main", "article", "[role=main]", "body"]
        .iter()
        .filter_map(|selector| Selector::parse(selector).ok())
        .find_map(|selector| document.select(&selector).next())
        .unwrap_or_else(|| document.root_element());
    let mut walker = Walker::default();
    walker.walk(root);
    walker.flush();
    walker.blocks
}

#[derive(Default)]
struct Walker {
    blocks: Vec<Block>,
    buffer: String,
}

/// The walk's work still to do, kept on an explicit stack so that nesting depth costs heap,
/// not call stack.
enum Step<'a> {
    /// An element to read, with its subtree.
    Enter(ElementRef<'a>),
    /// Text inside the element being read.
    Text(&'a str),
    /// The end of a block element: the text gathered so far is a paragraph.
    EndBlock,
    /// The end of a list item: the text gathered since it began is the item.
    EndListItem,
}

impl Walker {
    fn flush(&mut self) {
        let text = normalize_space(&self.buffer);
        self.buffer.clear();
        if !text.is_empty() {
            self.blocks.push(Block::Paragraph(text));
        }
    }

    /// Reads an element's subtree in document order.
    fn walk<'a>(&mut self, root: ElementRef<'a>) {
        let mut steps = vec![Step::Enter(root)];
        while let Some(step) = steps.pop() {
            match step {
                Step::Enter(element) => self.enter(element, &mut steps),
                Step::Text(text) => self.buffer.push_str(text),
                Step::EndBlock => self.flush(),
                Step::EndListItem => {
                    let text = normalize_space(&self.buffer);
                    self.buffer.clear();
                    if !text.is_empty() {
                        self.blocks.push(Block::ListItem(text));
                    }
                }
            }
        }
    }

    /// Reads what an element holds by itself and queues its children (and whatever must
    /// happen after them) onto `steps`.
    fn enter<'a>(&mut self, element: ElementRef<'a>, steps: &mut Vec<Step<'a>>) {
        let name = element.value().name();
        if is_boilerplate(element) {
            return;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let level = name[1..].parse().unwrap_or(1);
                // `text()` follows the tree's sibling and parent links; it does not recurse.
                let text = normalize_space(&element.text().collect::<String>());
                if !text.is_empty() {
                    self.blocks.push(Block::Heading { level, text });
                }
            }
            "li" => {
                self.flush();
                steps.push(Step::EndListItem);
                queue_children(element, steps);
            }
            "tr" => {
                self.flush();
                let cells: Vec<String> = element
                    .children()
                    .filter_map(ElementRef::wrap)
                    .map(|cell| normalize_space(&cell.text().collect::<String>()))
                    .filter(|cell| !cell.is_empty())
                    .collect();
                self.buffer.push_str(&cells.join(" | "));
                self.flush();
            }
            "br" => self.buffer.push(' '),
            "p" | "div" | "section" | "blockquote" | "pre" | "dd" | "dt" | "table" | "ul" | "ol" | "dl" | "figure"
            | "figcaption" | "details" | "summary" | "hr" | "body" | "main" | "article" => {
                self.flush();
                steps.push(Step::EndBlock);
                queue_children(element, steps);
            }
            _ => queue_children(element, steps),
        }
    }
}

/// Queues an element's text and child elements so that the first child is taken next.
fn queue_children<'a>(element: ElementRef<'a>, steps: &mut Vec<Step<'a>>) {
    for child in element.children().rev() {
        match child.value() {
            Node::Text(text) => steps.push(Step::Text(text)),
            Node::Element(_) => {
                if let Some(child) = ElementRef::wrap(child) {
                    steps.push(Step::Enter(child));
                }
            }
            _ => {}
        }
    }
}

fn is_boilerplate(element: ElementRef<'_>) -> bool {
    let value = element.value();
    if SKIPPED.contains(&value.name()) || value.attr("hidden").is_some() || value.attr("aria-hidden") == Some("true") {
        return true;
    }
    if value.attr("role").is_some_and(|role| SKIPPED_ROLES.contains(&role)) {
        return true;
    }
    let marks = format!("{} {}", value.attr("class").unwrap_or_default(), value.attr("id").unwrap_or_default())
        .to_ascii_lowercase();
    BOILERPLATE_MARKERS.iter().any(|marker| marks.contains(marker))
}

/// Elements that never have content or an end tag.
const VOID: [&str; 18] = [
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input", "keygen", "link",
    "meta", "param", "source", "track", "wbr",
];

/// Elements whose end tag may be left out because the next sibling of their kind closes
/// them; however many are opened, they add no depth.
const CLOSED_BY_SIBLINGS: [&str; 16] = [
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot", "colgroup", "rb", "rt",
    "rp",
];

/// Elements whose content is text up to their end tag, not markup.
const RAW_TEXT: [&str; 9] =
    ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"];

/// Elements that every document has exactly once, however often the markup opens them.
const DOCUMENT_ELEMENTS: [&str; 3] = ["html", "head", "body"];

/// Estimates how deeply a page nests elements, in one pass over the text and without
/// building a tree: a start tag opens a level and an end tag closes one. Comments, the
/// doctype, the text inside raw-text elements (`<script>`, `<style>`, ...), void elements,
/// self-closing tags inside SVG and MathML, and elements that their next sibling closes
/// (`<p>`, `<li>`, `<td>`, ...) add no level. Tags are read as html5ever's tokenizer reads
/// them (quoted attribute values may hold `>`; `/>` closes nothing on an HTML element).
///
/// The estimate is not the tree: the parser also ignores some end tags and reopens
/// formatting elements, which a crafted page can use to nest deeper than estimated.
/// [`WatchedSink`] measures the tree itself for that.
fn estimated_depth(html: &str) -> usize {
    let bytes = html.as_bytes();
    let mut depth = 0_usize;
    let mut deepest = 0_usize;
    // Open `<svg>` and `<math>` elements: inside them `/>` closes an element and no
    // element holds raw text.
    let mut foreign = 0_usize;
    let mut position = 0;
    while let Some(offset) = bytes[position..].iter().position(|&byte| byte == b'<') {
        let after = position + offset + 1;
        position = match bytes.get(after) {
            Some(b'!') => end_of_declaration(bytes, after + 1),
            Some(b'?') => past_next(bytes, after + 1, b'>'),
            Some(b'/') => match bytes.get(after + 1) {
                Some(byte) if byte.is_ascii_alphabetic() => {
                    let Some(tag) = Tag::read(bytes, after + 1) else { break };
                    if is_one_of(tag.name, &["svg", "math"]) {
                        foreign = foreign.saturating_sub(1);
                        depth = depth.saturating_sub(1);
                    } else if foreign > 0 || adds_a_level(tag.name) {
                        depth = depth.saturating_sub(1);
                    }
                    tag.end
                }
                Some(_) => past_next(bytes, after + 1, b'>'),
                None => break,
            },
            Some(byte) if byte.is_ascii_alphabetic() => {
                let Some(tag) = Tag::read(bytes, after) else { break };
                if is_one_of(tag.name, &["svg", "math"]) {
                    if !tag.self_closing {
                        foreign += 1;
                        depth += 1;
                    }
                } else if foreign > 0 {
                    if !tag.self_closing {
                        depth += 1;
                    }
                } else if tag.name.eq_ignore_ascii_case(b"plaintext") {
                    // Everything after `<plaintext>` is text.
                    break;
                } else if is_one_of(tag.name, &RAW_TEXT) {
                    position = start_of_end_tag(bytes, tag.end, tag.name);
                    continue;
                } else if adds_a_level(tag.name) {
                    depth += 1;
                }
                deepest = deepest.max(depth);
                tag.end
            }
            _ => after,
        };
    }
    deepest
}

/// Whether an HTML element (outside SVG and MathML) deepens the document.
fn adds_a_level(name: &[u8]) -> bool {
    !(is_one_of(name, &VOID)
        || is_one_of(name, &CLOSED_BY_SIBLINGS)
        || is_one_of(name, &RAW_TEXT)
        || is_one_of(name, &DOCUMENT_ELEMENTS))
}

fn is_one_of(name: &[u8], names: &[&str]) -> bool {
    names.iter().any(|candidate| name.eq_ignore_ascii_case(candidate.as_bytes()))
}

fn is_tag_space(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// The position after the next `byte` at or after `from`, or the end of the text.
fn past_next(bytes: &[u8], from: usize, byte: u8) -> usize {
    bytes[from..].iter().position(|&candidate| candidate == byte).map_or(bytes.len(), |offset| from + offset + 1)
}

/// Where `needle` next starts at or after `from`.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes[from..].windows(needle.len()).position(|window| window == needle).map(|offset| from + offset)
}

/// The end of a `<!...` declaration whose `<!` ends just before `from`: a comment ends at
/// `-->` or `--!>` (or at once, as `<!-->` and `<!--->`), anything else (a doctype, a
/// bogus comment) at the next `>`.
fn end_of_declaration(bytes: &[u8], from: usize) -> usize {
    if !bytes[from..].starts_with(b"--") {
        return past_next(bytes, from, b'>');
    }
    let body = from + 2;
    if bytes[body..].starts_with(b">") {
        return body + 1;
    }
    if bytes[body..].starts_with(b"->") {
        return body + 2;
    }
    let mut search = body;
    while let Some(dashes) = find(bytes, search, b"--") {
        match bytes.get(dashes + 2) {
            Some(b'>') => return dashes + 3,
            Some(b'!') if bytes.get(dashes + 3) == Some(&b'>') => return dashes + 4,
            _ => search = dashes + 1,
        }
    }
    bytes.len()
}

/// Where the end tag of a raw-text element named `name` starts (its content runs from
/// `from` up to there), or the end of the text.
fn start_of_end_tag(bytes: &[u8], from: usize, name: &[u8]) -> usize {
    let mut search = from;
    while let Some(start) = find(bytes, search, b"</") {
        let name_end = start + 2 + name.len();
        let names_match = bytes.get(start + 2..name_end).is_some_and(|candidate| candidate.eq_ignore_ascii_case(name));
        if names_match && bytes.get(name_end).is_some_and(|&byte| is_tag_space(byte) || byte == b'/' || byte == b'>') {
            return start;
        }
        search = start + 2;
    }
    bytes.len()
}

/// A start or end tag as the tokenizer reads it.
struct Tag<'a> {
    name: &'a [u8],
    /// Where the text after the tag begins.
    end: usize,
    /// Whether the tag ends in `/>`.
    self_closing: bool,
}

/// Where the tokenizer is inside a tag's attributes.
#[derive(Clone, Copy)]
enum InTag {
    BeforeAttributeName,
    AttributeName,
    AfterAttributeName,
    BeforeValue,
    QuotedValue(u8),
    UnquotedValue,
    AfterQuotedValue,
    SelfClosing,
}

impl<'a> Tag<'a> {
    /// Reads the tag whose name starts at `name_start`; `None` when the text ends inside
    /// it (the tokenizer then drops the tag and what follows is not markup either).
    fn read(bytes: &'a [u8], name_start: usize) -> Option<Tag<'a>> {
        let mut position = name_start;
        while bytes.get(position).is_some_and(|&byte| !is_tag_space(byte) && byte != b'/' && byte != b'>') {
            position += 1;
        }
        let name = &bytes[name_start..position];
        let mut state = InTag::BeforeAttributeName;
        loop {
            let byte = *bytes.get(position)?;
            position += 1;
            let ends = |self_closing| Some(Tag { name, end: position, self_closing });
            state = match (state, byte) {
                (InTag::QuotedValue(quote), _) if byte == quote => InTag::AfterQuotedValue,
                (InTag::QuotedValue(quote), _) => InTag::QuotedValue(quote),
                (InTag::SelfClosing, b'>') => return ends(true),
                (_, b'>') => return ends(false),
                (InTag::BeforeValue, b'"' | b'\'') => InTag::QuotedValue(byte),
                (InTag::BeforeValue, _) if is_tag_space(byte) => InTag::BeforeValue,
                (InTag::BeforeValue, _) => InTag::UnquotedValue,
                (InTag::UnquotedValue, _) if is_tag_space(byte) => InTag::BeforeAttributeName,
                (InTag::UnquotedValue, _) => InTag::UnquotedValue,
                (InTag::AttributeName | InTag::AfterAttributeName, b'=') => InTag::BeforeValue,
                (_, b'/') => InTag::SelfClosing,
                (InTag::AttributeName, _) if is_tag_space(byte) => InTag::AfterAttributeName,
                (InTag::AttributeName, _) => InTag::AttributeName,
                (InTag::AfterQuotedValue | InTag::SelfClosing, _) if is_tag_space(byte) => InTag::BeforeAttributeName,
                (InTag::BeforeAttributeName | InTag::AfterAttributeName, _) if is_tag_space(byte) => state,
                // A name starts here, even with `=` (the tokenizer's error recovery).
                _ => InTag::AttributeName,
            };
        }
    }
}

/// Builds the tree through scraper's sink and measures it on the way: the depth at which
/// each node is attached, and how many nodes the tree holds. Parsing cannot be stopped
/// midway, so the sink only records a breach; [`build_tree`] asks after every piece.
struct WatchedSink {
    inner: HtmlTreeSink,
    max_depth: usize,
    max_nodes: usize,
    too_deep: Cell<bool>,
}

type Handle = <HtmlTreeSink as TreeSink>::Handle;

impl WatchedSink {
    fn new(max_depth: usize, max_nodes: usize) -> Self {
        Self { inner: HtmlTreeSink::new(Html::new_document()), max_depth, max_nodes, too_deep: Cell::new(false) }
    }

    /// Records whether a node attached under `parent` lies deeper than allowed. The count
    /// walks at most `max_depth` parent links.
    fn watch_depth(&self, parent: &Handle) {
        if self.too_deep.get() {
            return;
        }
        let document = self.inner.0.borrow();
        // The parent's ancestors end at the document node, which is no element: together
        // with the parent they count the new node's enclosing elements.
        let enclosing = document.tree.get(*parent).map_or(0, |parent| parent.ancestors().take(self.max_depth).count());
        if enclosing + 1 > self.max_depth {
            self.too_deep.set(true);
        }
    }

    /// Whether the tree built so far is within the limits.
    fn check(&self) -> Result<(), ParseError> {
        if self.too_deep.get() {
            return Err(ParseError::new(
                DocumentError::TooLarge,
                format!(
                    "the HTML nests elements more than {max} levels deep; at most {max} are read",
                    max = self.max_depth
                ),
            ));
        }
        if self.inner.0.borrow().tree.nodes().len() > self.max_nodes {
            return Err(ParseError::new(
                DocumentError::TooLarge,
                format!(
                    "the HTML expands into more than {} elements, far more than its size holds; \
                 look for formatting tags (such as <b> or <font>) that are never closed",
                    self.max_nodes
                ),
            ));
        }
        Ok(())
    }
}

impl TreeSink for WatchedSink {
    type Handle = Handle;
    type Output = Result<Html, ParseError>;
    type ElemName<'a>
        = <HtmlTreeSink as TreeSink>::ElemName<'a>
    where
        Self: 'a;

    fn finish(self) -> Self::Output {
        self.check()?;
        Ok(self.inner.finish())
    }

    fn parse_error(&self, message: Cow<'static, str>) {
        self.inner.parse_error(message);
    }

    fn get_document(&self) -> Handle {
        self.inner.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> Handle {
        self.inner.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: StrTendril) -> Handle {
        self.inner.create_comment(text)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Handle {
        self.inner.create_pi(target, data)
    }

    fn append(&self, parent: &Handle, child: NodeOrText<Handle>) {
        if matches!(child, NodeOrText::AppendNode(_)) {
            self.watch_depth(parent);
        }
        self.inner.append(parent, child);
    }

    fn append_based_on_parent_node(&self, element: &Handle, prev_element: &Handle, child: NodeOrText<Handle>) {
        if matches!(child, NodeOrText::AppendNode(_)) {
            // The node goes under `element`'s parent or, failing that, under `prev_element`;
            // the deeper of the two bounds it.
            self.watch_depth(prev_element);
        }
        self.inner.append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(&self, name: StrTendril, public_id: StrTendril, system_id: StrTendril) {
        self.inner.append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&self, node: &Handle) {
        self.inner.mark_script_already_started(node);
    }

    fn pop(&self, node: &Handle) {
        self.inner.pop(node);
    }

    fn get_template_contents(&self, target: &Handle) -> Handle {
        self.inner.get_template_contents(target)
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        self.inner.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        if matches!(new_node, NodeOrText::AppendNode(_)) {
            // A sibling sits one level below its parent: counting from the sibling counts
            // one level more than the new node has, which only errs on the safe side.
            self.watch_depth(sibling);
        }
        self.inner.append_before_sibling(sibling, new_node);
    }

    fn add_attrs_if_missing(&self, target: &Handle, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs);
    }

    fn associate_with_form(&self, target: &Handle, form: &Handle, nodes: (&Handle, Option<&Handle>)) {
        self.inner.associate_with_form(target, form, nodes);
    }

    fn remove_from_parent(&self, target: &Handle) {
        self.inner.remove_from_parent(target);
    }

    fn reparent_children(&self, node: &Handle, new_parent: &Handle) {
        self.inner.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Handle) -> bool {
        self.inner.is_mathml_annotation_xml_integration_point(handle)
    }

    fn set_current_line(&self, line_number: u64) {
        self.inner.set_current_line(line_number);
    }

    fn allow_declarative_shadow_roots(&self, intended_parent: &Handle) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }

    fn attach_declarative_shadow(&self, location: &Handle, template: &Handle, attrs: &[Attribute]) -> bool {
        self.inner.attach_declarative_shadow(location, template, attrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(page: &str) -> Vec<Block> {
        parse(page).expect("the page is read")
    }

    /// Runs `read` on a thread with a 256 KiB stack, an eighth of a blocking-pool worker's,
    /// so that reading which recursed once per level would overflow it.
    fn on_a_small_stack<T: Send + 'static>(read: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(read)
            .expect("a thread starts")
            .join()
            .expect("reading does not overflow the stack")
    }

    fn nested(tag: &str, levels: usize, inner: &str) -> String {
        format!("{}{inner}{}", format!("<{tag}>").repeat(levels), format!("</{tag}>").repeat(levels))
    }

    #[test]
    fn boilerplate_is_stripped_and_structure_kept() {
        let page = r#"<html><head><title>Help</title><style>p{}</style></head><body>
            <header><a href="/">Logo</a></header>
            <nav><ul><li>Home</li><li>Pricing</li></ul></nav>
            <div class="breadcrumb">Help &gt; Returns</div>
            <h1>Returns</h1>
            <p>Return unused items<br>within <b>30 days</b>.</p>
            <ul><li>Pack it</li><li>Ship it</li></ul>
            <table><tr><th>Plan</th><th>Days</th></tr><tr><td>Pro</td><td>60</td></tr></table>
            <script>track()</script>
            <footer>© Example Inc.</footer>
            </body></html>"#;
        assert_eq!(
            blocks(page),
            vec![
                Block::Heading { level: 1, text: "Returns".into() },
                Block::Paragraph("Return unused items within 30 days.".into()),
                Block::ListItem("Pack it".into()),
                Block::ListItem("Ship it".into()),
                Block::Paragraph("Plan | Days".into()),
                Block::Paragraph("Pro | 60".into()),
            ]
        );
    }

    #[test]
    fn main_content_is_preferred_over_the_rest_of_the_page() {
        let page = "<body><div>Sign up for our newsletter</div><main><h2>Shipping</h2><p>Two days.</p></main></body>";
        assert_eq!(
            blocks(page),
            vec![Block::Heading { level: 2, text: "Shipping".into() }, Block::Paragraph("Two days.".into())]
        );
    }

    #[test]
    fn list_items_keep_their_text_and_nested_blocks_stay_paragraphs() {
        let page = "<ol><li>First <em>step</em></li><li><p>Inner paragraph</p>tail</li></ol><div>After<br>list</div>";
        assert_eq!(
            blocks(page),
            vec![
                Block::ListItem("First step".into()),
                Block::Paragraph("Inner paragraph".into()),
                Block::ListItem("tail".into()),
                Block::Paragraph("After list".into()),
            ]
        );
    }

    #[test]
    fn three_thousand_nested_spans_are_walked_without_recursion() {
        let page = format!(
            "<h2>{}</h2><p>{}</p>",
            nested("span", 3000, "Deep heading"),
            nested("span", 3000, "Deep <b>text</b>")
        );
        let limits = Limits { max_depth: 4000, ..Limits::default() };
        let read = on_a_small_stack(move || parse_within(&page, limits));
        assert_eq!(
            read,
            Ok(vec![Block::Heading { level: 2, text: "Deep heading".into() }, Block::Paragraph("Deep text".into())])
        );
    }

    #[test]
    fn nesting_just_under_the_limit_is_read_on_a_small_stack() {
        let page = format!("<ul><li>{}</li></ul>", nested("span", 500, "Deep item"));
        let read = on_a_small_stack(move || parse(&page));
        assert_eq!(read, Ok(vec![Block::ListItem("Deep item".into())]));
    }

    #[test]
    fn three_thousand_nested_spans_are_refused_with_their_depth() {
        let page = nested("span", 3000, "Deep text");
        let read = on_a_small_stack(move || parse(&page));
        assert_eq!(
            read,
            Err(ParseError::new(
                DocumentError::TooLarge,
                "the HTML nests elements 3000 levels deep; at most 512 are read"
            ))
        );
    }

    #[test]
    fn sixty_thousand_nested_divs_are_refused_within_two_seconds() {
        let page = nested("div", 60_000, "Deep text");
        let started = Instant::now();
        let read = parse(&page);
        assert_eq!(
            read,
            Err(ParseError::new(
                DocumentError::TooLarge,
                "the HTML nests elements 60000 levels deep; at most 512 are read"
            ))
        );
        assert!(started.elapsed() < Duration::from_secs(2), "refusing took {:?}", started.elapsed());
    }

    #[test]
    fn nesting_the_estimate_misses_is_refused_while_the_tree_is_built() {
        // A stray `</span>` closes nothing in the parser but would close a level in the
        // estimate, so only the tree shows how deep these divs go.
        let page = "<div></span>".repeat(60_000);
        assert!(estimated_depth(&page) <= MAX_DEPTH);
        let started = Instant::now();
        let read = parse(&page);
        assert_eq!(
            read,
            Err(ParseError::new(
                DocumentError::TooLarge,
                "the HTML nests elements more than 512 levels deep; at most 512 are read"
            ))
        );
        assert!(started.elapsed() < Duration::from_secs(2), "refusing took {:?}", started.elapsed());
    }

    #[test]
    fn formatting_reopened_in_every_block_is_refused_before_memory_runs_out() {
        // 200 unclosed bold elements, each unlike the others, are reopened inside every
        // following paragraph: 8 bytes of markup build over 200 nodes.
        let bold: String = (0..200).map(|index| format!("<b id={index}>")).collect();
        let page = format!("<div>{bold}</div>{}", "<p>x</p>".repeat(5_000));
        let read = parse(&page).expect_err("the page is refused");
        assert!(read.message.starts_with("the HTML expands into more than"), "{read}");
    }

    #[test]
    fn a_parse_past_its_deadline_stops_with_an_error() {
        let page: String = (0..20_000)
            .map(|index| format!("<h2>Section {index}</h2><p>Returns are accepted within 30 days.</p>"))
            .collect();
        assert!(page.len() > 100 * PIECE_BYTES);
        let hurried = Limits { time_limit: Duration::from_millis(1), ..Limits::default() };
        assert_eq!(
            parse_within(&page, hurried),
            Err(ParseError::new(
                DocumentError::TooLarge,
                "the HTML took longer than 1ms to read; split it into smaller files"
            ))
        );
        assert_eq!(parse(&page).map(|blocks| blocks.len()), Ok(40_000));
    }

    #[test]
    fn text_split_between_pieces_reads_as_if_whole() {
        // An entity straddles the first cut and a two-byte character the second.
        let first = "a".repeat(PIECE_BYTES - "<p>".len() - 2);
        let second = "b".repeat(PIECE_BYTES - "&amp;".len() + 2 - 1);
        let page = format!("<p>{first}&amp;{second}é</p>");
        assert_eq!(&page[PIECE_BYTES - 2..PIECE_BYTES + 3], "&amp;");
        assert!(!page.is_char_boundary(2 * PIECE_BYTES));
        assert_eq!(blocks(&page), vec![Block::Paragraph(format!("{first}&{second}é"))]);
    }

    #[test]
    fn the_estimate_skips_what_adds_no_level() {
        let page = r#"<!DOCTYPE html><html><head><meta charset=utf-8><title><div><div></title>
            <script>if (a < b) { document.write("<div><div><div>") }</script></head>
            <body><!-- <div><div> --><!--> <div a=">"><p>One<p>Two<br><img src=x.png>
            <ul><li>A<li>B</ul><table><tr><td>1<td>2</table>
            <svg><g><path d="M0"/></g></svg><div/><div/><div/></div></body></html>"#;
        // Four levels: the div whose attribute holds `>` and the three `<div/>` inside it,
        // which an HTML element cannot close by itself. The svg and its g reach three.
        assert_eq!(estimated_depth(page), 4);
    }

    #[test]
    fn tags_are_read_as_the_tokenizer_reads_them() {
        let tag = |text: &str| {
            let tag = Tag::read(text.as_bytes(), 1).expect("a whole tag");
            (String::from_utf8(tag.name.to_vec()).expect("an ASCII name"), tag.end, tag.self_closing)
        };
        assert_eq!(tag("<a href='>' title=x>rest"), ("a".into(), 20, false));
        assert_eq!(tag("<path d=\"M0\"/>"), ("path".into(), 14, true));
        assert_eq!(tag("<div =\">x"), ("div".into(), 8, false));
        assert_eq!(tag("<br/ >"), ("br".into(), 6, false));
        assert!(Tag::read(b"<div title=\"unfinished>", 1).is_none());
    }

    #[test]
    fn comments_end_where_the_tokenizer_ends_them() {
        assert_eq!(end_of_declaration(b"<!-->after", 2), 5);
        assert_eq!(end_of_declaration(b"<!--->after", 2), 6);
        assert_eq!(end_of_declaration(b"<!-- a -- b --!>after", 2), 16);
        assert_eq!(end_of_declaration(b"<!DOCTYPE html>after", 2), 15);
        assert_eq!(end_of_declaration(b"<!-- never closed", 2), 17);
    }
}
