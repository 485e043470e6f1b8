//! The scenario file: types, loading with positions, semantic checks, JSON Schema.
//!
//! Architecture invariant: this module never touches AWS, the clock or the terminal.

pub mod checks;
pub mod diagnostic;
pub mod duration;
pub mod load;
pub mod model;
pub mod structure;
pub mod yaml_tree;

pub use diagnostic::Problem;
pub use duration::Duration;
pub use load::{LoadError, LoadedScenario, load_file, parse_str};
pub use model::*;

/// The JSON Schema of the scenario format, generated from the Rust types,
/// as committed in `docs/scenario.schema.json`.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(load::schema()).unwrap_or_default();
    text.push('\n');
    text
}
