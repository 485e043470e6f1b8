//! Report tables as data: rows of typed cells, built once and rendered per
//! format (hyperfine's `MarkupExporter` is the model), so `report.md` and
//! `report.html` cannot drift apart. Each format escapes in its own way;
//! terminal escape codes (from a command probe's output, say) are stripped
//! for every format.

use std::fmt::Write as _;

use super::html::{escape, inline};
use super::text::strip_terminal_codes;

/// One cell of a report table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text shown as it is.
    Text(String),
    /// A name from the scenario or the environment, shown as code.
    Code(String),
    /// Text that marks names with Markdown's `code` spans and emphasis with
    /// `**bold**` (timeline events, phase descriptions, drill cells).
    Marked(String),
    /// A file next to the report: `text` names it, `target` is its path
    /// relative to the report's own directory.
    File { text: String, target: String },
    /// An address elsewhere (from the scenario): a link in Markdown, text
    /// in HTML, which links and fetches nothing.
    Link { text: String, url: String },
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell::Text(text.into())
    }

    pub fn code(text: impl Into<String>) -> Cell {
        Cell::Code(text.into())
    }

    pub fn marked(text: impl Into<String>) -> Cell {
        Cell::Marked(text.into())
    }

    fn markdown(&self) -> String {
        let cell = match self {
            Cell::Text(text) | Cell::Marked(text) => plain(text),
            Cell::Code(text) => code_span(&plain(text)),
            Cell::File { text, target } => format!("[{}]({})", plain(text).replace(['[', ']'], ""), link_target(target)),
            // The address shown as well as linked: the same text as the HTML's, and readable on paper.
            Cell::Link { text, url } => format!("{}: [{}]({})", plain(text), plain(url).replace(['[', ']'], ""), link_target(url)),
        };
        // A pipe would end the cell.
        cell.replace('|', "\\|")
    }

    fn html(&self) -> String {
        match self {
            Cell::Text(text) => escape(&plain(text)),
            Cell::Marked(text) => inline(&plain(text)),
            // Not a link: report.html fetches and links nothing, so it can be mailed as one file.
            Cell::Code(text) | Cell::File { text, .. } => format!("<code>{}</code>", escape(&plain(text))),
            Cell::Link { text, url } => format!("{}: <code>{}</code>", escape(&plain(text)), escape(&plain(url))),
        }
    }
}

/// A link's target as Markdown reads it: no spaces or parentheses.
fn link_target(target: &str) -> String {
    plain(target).replace(' ', "%20").replace(['(', ')'], "")
}

/// A code span that holds any text: a backtick inside needs a longer fence.
fn code_span(text: &str) -> String {
    if text.contains('`') { format!("`` {text} ``") } else { format!("`{text}`") }
}

/// Text without terminal escape sequences or control characters, on one
/// line (a table cell is one line in Markdown).
pub fn plain(text: &str) -> String {
    let text = strip_terminal_codes(text);
    let mut out = String::with_capacity(text.len());
    for word in text.split(['\n', '\t']) {
        if !out.is_empty() && !out.ends_with(' ') && !word.is_empty() && !word.starts_with(' ') {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A table: a header and rows of cells. With `row_headers`, the first cell
/// of each row names the row (HTML marks it `<th>`).
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    pub row_headers: bool,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Table {
        Table { header: header.to_vec(), rows: Vec::new(), row_headers: false }
    }

    /// A two-column table of facts, each row named by its first cell.
    pub fn facts() -> Table {
        Table { header: vec!["", ""], rows: Vec::new(), row_headers: true }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// A pipe table, ending with a blank line.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| if h.is_empty() { " ".to_string() } else { format!(" {} ", plain(h).replace('|', "\\|")) }).collect();
        let _ = writeln!(out, "|{}|", header.join("|"));
        let _ = writeln!(out, "|{}", "---|".repeat(self.header.len()));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.iter().map(Cell::markdown).collect::<Vec<_>>().join(" | "));
        }
        out.push('\n');
        out
    }

    /// A `<table>`; a header whose cells are all empty is left out.
    pub fn to_html(&self) -> String {
        let mut out = String::from("<table>\n");
        if self.header.iter().any(|h| !h.is_empty()) {
            let _ = writeln!(out, "<tr>{}</tr>", self.header.iter().map(|h| format!("<th>{}</th>", escape(h))).collect::<String>());
        }
        for row in &self.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let tag = if self.row_headers && i == 0 { "th" } else { "td" };
                let _ = write!(out, "<{tag}>{}</{tag}>", cell.html());
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_and_control_characters_are_stripped() {
        assert_eq!(plain("\u{1b}[31mred\u{1b}[0m and \u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{1b}\\ done\u{7}"), "red and link done");
        assert_eq!(plain("two\r\nlines"), "two lines");
        assert_eq!(plain("a\n\nb"), "a b");
    }

    #[test]
    fn each_format_escapes_its_own_specials() {
        let mut table = Table::new(&["Name", "Said"]);
        table.row(vec![Cell::code("a`b"), Cell::text("x | <y> & z")]);
        assert_eq!(table.to_markdown(), "| Name | Said |\n|---|---|\n| `` a`b `` | x \\| <y> & z |\n\n");
        assert_eq!(table.to_html(), "<table>\n<tr><th>Name</th><th>Said</th></tr>\n<tr><td><code>a`b</code></td><td>x | &lt;y&gt; &amp; z</td></tr>\n</table>\n");
    }

    #[test]
    fn facts_name_their_rows_and_have_no_header_in_html() {
        let mut table = Table::facts();
        table.row(vec![Cell::text("Runbook"), Cell::File { text: "runbooks/a b.md".into(), target: "runbook.md".into() }]);
        assert_eq!(table.to_markdown(), "| | |\n|---|---|\n| Runbook | [runbooks/a b.md](runbook.md) |\n\n");
        assert_eq!(table.to_html(), "<table>\n<tr><th>Runbook</th><td><code>runbooks/a b.md</code></td></tr>\n</table>\n");
    }
}
