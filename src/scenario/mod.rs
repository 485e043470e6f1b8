//! The scenario file: types, loading with positions, semantic checks, JSON Schema.
//!
//! Architecture invariant: this module never touches AWS, the clock or the terminal.

pub mod checks;
pub mod diagnostic;
pub mod duration;
pub mod from_tree;
pub mod load;
pub mod model;
pub mod objectives;
pub mod redact;
pub mod runbook;
pub mod structure;
pub mod yaml_tree;

pub use diagnostic::Problem;
pub use duration::Duration;
pub use load::{LoadError, LoadedScenario, load_file, parse_run_copy, parse_str};
pub use model::*;

/// The JSON Schema of the scenario format, generated from the Rust types,
/// as committed in `docs/scenario.schema.json`.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&sorted(load::schema())).unwrap_or_default();
    text.push('\n');
    text
}

/// The same value with every object's keys in sorted order: the committed
/// schema must not depend on whether a dependency turned on serde_json's
/// `preserve_order`.
fn sorted(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
