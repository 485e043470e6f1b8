//! gameday: chaos-engineering game days on AWS.
//!
//! The binary is a thin shell over [`cli::main`]; everything lives here.

pub mod cli;
pub mod drill;
pub mod environment;
pub mod exit_code;
pub mod guard;
pub mod history;
pub mod journal;
pub mod probe;
pub mod project;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod vocab;

/// The layering of ARCHITECTURE.md ("Module graph"), checked rather than
/// hoped for: a top-level module may name only modules of lower layers.
#[cfg(test)]
mod layering {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    /// Lowest first. A module may import modules of earlier rows only; the
    /// modules of one row import none of each other. Mirrored in
    /// ARCHITECTURE.md: change both together.
    const LAYERS: &[&[&str]] = &[
        &["vocab", "rng", "exit_code"],
        &["scenario"],
        &["project"],
        &["probe"],
        &["environment"],
        &["guard"],
        &["journal"],
        &["drill"],
        &["run"],
        &["history"],
        &["report"],
        &["cli"],
    ];

    /// Every `.rs` file under `src/`, with the top-level module it belongs
    /// to and how many modules deep it sits (`src/run/mod.rs`: 1,
    /// `src/run/plan.rs`: 2), so `super::` paths can be resolved.
    fn source_files() -> Vec<(String, usize, PathBuf)> {
        fn visit(dir: &Path, top: &str, depth: usize, out: &mut Vec<(String, usize, PathBuf)>) {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).expect("src/ is readable").map(|e| e.expect("a directory entry").path()).collect();
            entries.sort();
            for path in entries {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
                if path.is_dir() {
                    visit(&path, top, depth + 1, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push((top.to_string(), if stem == "mod" { depth } else { depth + 1 }, path));
                }
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&src).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            if path.is_dir() {
                visit(&path, &stem, 1, &mut files);
            } else if path.extension().is_some_and(|e| e == "rs") && stem != "lib" && stem != "main" {
                files.push((stem, 1, path));
            }
        }
        files
    }

    /// The top-level modules a file's code names: `crate::x`, `$crate::x`,
    /// the names inside `crate::{x, y::z}`, and `super::` chains that climb
    /// to the crate root. Comments are skipped; tests count like any code.
    fn named_modules(text: &str, depth: usize) -> BTreeSet<String> {
        let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
        let mut found = BTreeSet::new();
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let code = code.split(" //").next().unwrap_or(code);
            for (at, _) in code.match_indices("crate::") {
                if code[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &code[at + "crate::".len()..];
                match rest.strip_prefix('{') {
                    // `crate::{a::X, b}`: each top-level name at brace depth zero.
                    Some(group) => {
                        let mut level = 0;
                        let mut start = true;
                        for (i, c) in group.char_indices() {
                            match c {
                                '{' => level += 1,
                                '}' if level == 0 => break,
                                '}' => level -= 1,
                                ',' if level == 0 => start = true,
                                c if c.is_whitespace() => {}
                                _ if start && level == 0 => {
                                    found.insert(ident(&group[i..]));
                                    start = false;
                                }
                                _ => {}
                            }
                        }
                    }
                    None => {
                        found.insert(ident(rest));
                    }
                }
            }
            for (at, _) in code.match_indices("super::") {
                if code[..at].ends_with("super::") || code[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let mut rest = &code[at..];
                let mut climbs = 0;
                while let Some(after) = rest.strip_prefix("super::") {
                    climbs += 1;
                    rest = after;
                }
                if climbs >= depth {
                    found.insert(ident(rest));
                }
            }
        }
        found.retain(|m| !m.is_empty());
        found
    }

    /// Which top-level module names which others (itself left out).
    fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, depth, path) in source_files() {
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            let named = graph.entry(module.clone()).or_default();
            named.extend(named_modules(&text, depth).into_iter().filter(|m| *m != module));
        }
        graph
    }

    fn layer_of(module: &str) -> Option<usize> {
        LAYERS.iter().position(|row| row.contains(&module))
    }

    /// A cycle through `start`, if there is one: the path back to it.
    fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
        fn walk(graph: &BTreeMap<String, BTreeSet<String>>, start: &str, path: &mut Vec<String>, seen: &mut BTreeSet<String>) -> bool {
            let here = path.last().cloned().unwrap_or_default();
            for next in graph.get(&here).into_iter().flatten() {
                if next == start {
                    path.push(next.clone());
                    return true;
                }
                if seen.insert(next.clone()) {
                    path.push(next.clone());
                    if walk(graph, start, path, seen) {
                        return true;
                    }
                    path.pop();
                }
            }
            false
        }
        let mut path = vec![start.to_string()];
        walk(graph, start, &mut path, &mut BTreeSet::new()).then_some(path)
    }

    #[test]
    fn the_reader_finds_every_form_of_crate_path() {
        let text = "use crate::scenario::Probe;\nuse crate::{run::journal::Event, drill};\n// crate::cli in a comment\nlet x = $crate::report::render();\nlet y = super::super::guard::judge();\nlet z = mycrate::history::scan();";
        let named: Vec<String> = named_modules(text, 2).into_iter().collect();
        assert_eq!(named, ["drill", "guard", "report", "run", "scenario"]);
        assert!(named_modules("use super::Outcome;", 2).is_empty(), "one `super::` from depth 2 stays inside the module");
    }

    #[test]
    fn every_module_has_a_layer() {
        let unplaced: Vec<String> = module_graph().into_keys().filter(|m| layer_of(m).is_none()).collect();
        assert!(unplaced.is_empty(), "place these modules in LAYERS (and in ARCHITECTURE.md's module graph): {unplaced:?}");
    }

    #[test]
    fn lower_layers_never_import_higher_ones() {
        let graph = module_graph();
        let mut upward = Vec::new();
        for (module, named) in &graph {
            for other in named {
                if let (Some(from), Some(to)) = (layer_of(module), layer_of(other)) {
                    if to >= from {
                        upward.push(format!("{module} imports {other}"));
                    }
                }
            }
        }
        assert!(upward.is_empty(), "imports that go up or sideways (see ARCHITECTURE.md, Module graph):\n{}", upward.join("\n"));
    }

    #[test]
    fn the_module_graph_has_no_cycle() {
        let graph = module_graph();
        let cycles: Vec<String> = graph.keys().filter_map(|m| cycle_through(&graph, m)).map(|path| path.join(" → ")).collect();
        assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
    }

    #[test]
    fn the_vocabulary_imports_nothing_of_the_crate() {
        let graph = module_graph();
        assert_eq!(graph.get("vocab").map(BTreeSet::len), Some(0), "vocab must exist and name no other module: {:?}", graph.get("vocab"));
    }
}
