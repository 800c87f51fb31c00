//! HTML: the main content only. Navigation, headers, footers, sidebars, forms, scripts
//! and styles are dropped; when the page marks its content with `<main>` or `<article>`,
//! only that is read.

use scraper::{ElementRef, Html, Node, Selector};

use super::{Block, normalize_space};

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

pub fn parse(text: &str) -> Vec<Block> {
    let document = Html::parse_document(text);
    let root = ["main", "article", "[role=main]", "body"]
        .iter()
        .filter_map(|selector| Selector::parse(selector).ok())
        .find_map(|selector| document.select(&selector).next())
        .unwrap_or_else(|| document.root_element());
    let mut walker = Walker::default();
    walker.element(root);
    walker.flush();
    walker.blocks
}

#[derive(Default)]
struct Walker {
    blocks: Vec<Block>,
    buffer: String,
}

impl Walker {
    fn flush(&mut self) {
        let text = normalize_space(&self.buffer);
        self.buffer.clear();
        if !text.is_empty() {
            self.blocks.push(Block::Paragraph(text));
        }
    }

    fn element(&mut self, element: ElementRef<'_>) {
        let name = element.value().name();
        if is_boilerplate(element) {
            return;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let level = name[1..].parse().unwrap_or(1);
                let text = normalize_space(&element.text().collect::<String>());
                if !text.is_empty() {
                    self.blocks.push(Block::Heading { level, text });
                }
            }
            "li" => {
                self.flush();
                self.children(element);
                let text = normalize_space(&self.buffer);
                self.buffer.clear();
                if !text.is_empty() {
                    self.blocks.push(Block::ListItem(text));
                }
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
                self.children(element);
                self.flush();
            }
            _ => self.children(element),
        }
    }

    fn children(&mut self, element: ElementRef<'_>) {
        for child in element.children() {
            match child.value() {
                Node::Text(text) => self.buffer.push_str(text),
                Node::Element(_) => {
                    if let Some(child) = ElementRef::wrap(child) {
                        self.element(child);
                    }
                }
                _ => {}
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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
            parse(page),
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
            parse(page),
            vec![Block::Heading { level: 2, text: "Shipping".into() }, Block::Paragraph("Two days.".into())]
        );
    }
}
