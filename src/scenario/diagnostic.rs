//! Problems found in a scenario file, and how they are shown to people.

use std::fmt::Write as _;

use super::yaml_tree::{Path, Position};

/// One thing wrong with a scenario: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The key path, e.g. `faults[1].targets.count`.
    pub path: Path,
    pub at: Position,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(path: Path, at: Position, message: String) -> Self {
        Problem { path, at, message, hint: None }
    }

    pub fn hint(mut self, hint: String) -> Self {
        self.hint = Some(hint);
        self
    }
}

/// Renders problems the way compilers do: a header, the file position with
/// the key, the source line with a caret under the offending key, and a hint.
pub fn render(file: &str, source: &str, problems: &[Problem]) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    for problem in problems {
        let _ = writeln!(out, "error: {}", problem.message);
        let key = if problem.path.0.is_empty() { String::new() } else { format!(" (at `{}`)", problem.path) };
        let _ = writeln!(out, "  --> {file}:{}:{}{key}", problem.at.line, problem.at.column);
        if let Some(line) = problem.at.line.checked_sub(1).and_then(|i| lines.get(i)) {
            let number = problem.at.line.to_string();
            let gutter = " ".repeat(number.len());
            let column = problem.at.column.saturating_sub(1);
            let rest: String = line.chars().skip(column).collect();
            // A tab is shown as one caret: it is the problem, not the key after it.
            let width = if rest.starts_with('\t') { 1 } else { rest.find([':', ',', ']', '}']).filter(|w| *w > 0).unwrap_or_else(|| rest.trim_end().chars().count().max(1)) };
            let _ = writeln!(out, " {gutter} |");
            let _ = writeln!(out, " {number} | {line}");
            let _ = writeln!(out, " {gutter} | {}{}", " ".repeat(column), "^".repeat(width.min(60)));
        }
        if let Some(hint) = &problem.hint {
            let _ = writeln!(out, "  = hint: {hint}");
        }
        out.push('\n');
    }
    out
}
