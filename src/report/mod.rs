//! Pure renderers: a finished run in, bytes out. No I/O here.
//!
//! Architecture invariant: report never reads or writes files and never
//! looks at the clock; the CLI decides where the bytes go.

pub mod markdown;

use crate::run::RunResult;

/// `result.json`, pretty-printed and stable (same seed, same bytes).
pub fn result_json(result: &RunResult) -> String {
    let mut text = serde_json::to_string_pretty(result).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
