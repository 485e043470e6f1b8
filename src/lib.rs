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
pub mod predict;
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
        &["predict"],
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

    /// The code of a Rust file with comments, strings and character
    /// literals blanked out, so that only code is read for paths and braces.
    fn code_only(text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let is_ident = |c: char| c.is_alphanumeric() || c == '_';
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let skip_to = |end: usize, out: &mut String| {
                out.extend(std::iter::repeat_n(' ', end - i));
                end
            };
            if c == '/' && next == Some('/') {
                let end = (i..chars.len()).find(|&k| chars[k] == '\n').unwrap_or(chars.len());
                i = skip_to(end, &mut out);
            } else if c == '/' && next == Some('*') {
                let end = (i + 2..chars.len()).find(|&k| chars[k - 1] == '*' && chars[k] == '/').map_or(chars.len(), |k| k + 1);
                i = skip_to(end, &mut out);
            } else if c == 'r'
                && matches!(next, Some('"' | '#'))
                && (prev.is_none_or(|p| !is_ident(p)) || (prev == Some('b') && i.checked_sub(2).is_none_or(|p| !is_ident(chars[p]))))
            {
                // A raw string: r"…", r#"…"#, br"…".
                let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
                if chars.get(i + 1 + hashes) != Some(&'"') {
                    out.push(c);
                    i += 1;
                    continue;
                }
                let body = i + 2 + hashes;
                let end = (body..chars.len())
                    .find(|&k| chars[k] == '"' && chars[k + 1..].iter().take(hashes).filter(|&&h| h == '#').count() == hashes)
                    .map_or(chars.len(), |k| k + 1 + hashes);
                i = skip_to(end.min(chars.len()), &mut out);
            } else if c == '"' {
                let mut k = i + 1;
                while k < chars.len() && chars[k] != '"' {
                    k += if chars[k] == '\\' { 2 } else { 1 };
                }
                i = skip_to((k + 1).min(chars.len()), &mut out);
            } else if c == '\'' && next == Some('\\') {
                let end = (i + 3..chars.len()).find(|&k| chars[k] == '\'').map_or(chars.len(), |k| k + 1);
                i = skip_to(end, &mut out);
            } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
                i = skip_to(i + 3, &mut out);
            } else {
                // Code, or a lifetime.
                out.push(c);
                i += 1;
            }
        }
        out
    }

    /// The top-level modules a file's code names: `crate::x`, `$crate::x`,
    /// the names inside `crate::{x, y::z}`, and `super::` chains that climb
    /// to the crate root from a file `depth` modules deep (inline `mod x {…}`
    /// blocks count as a level). Tests count like any code.
    fn named_modules(text: &str, depth: usize) -> BTreeSet<String> {
        let code = code_only(text);
        let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
        let starts_path = |at: usize| !code[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        let mut found = BTreeSet::new();
        // Brace depth, and the brace depths inside which inline modules are open.
        let mut braces = 0usize;
        let mut inline_modules: Vec<usize> = Vec::new();
        for (at, c) in code.char_indices() {
            match c {
                '{' => braces += 1,
                '}' => {
                    braces = braces.saturating_sub(1);
                    if inline_modules.last().is_some_and(|&open| braces < open) {
                        inline_modules.pop();
                    }
                }
                _ => {}
            }
            let rest = &code[at..];
            // `$crate::` counts: `$` does not continue a path.
            if !starts_path(at) {
                continue;
            }
            if let Some(after) = rest.strip_prefix("mod ") {
                let name = ident(after.trim_start());
                if !name.is_empty() && after.trim_start()[name.len()..].trim_start().starts_with('{') {
                    inline_modules.push(braces + 1);
                }
            } else if let Some(after) = rest.strip_prefix("crate::") {
                match after.strip_prefix('{') {
                    // `crate::{a::X, b}`: each top-level name at brace level zero.
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
                        found.insert(ident(after));
                    }
                }
            } else if rest.starts_with("super::") {
                let mut after = rest;
                let mut climbs = 0;
                while let Some(next) = after.strip_prefix("super::") {
                    climbs += 1;
                    after = next;
                }
                if climbs >= depth + inline_modules.len() {
                    found.insert(ident(after));
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
        let text = r#"use crate::scenario::Probe;
use crate::{run::journal::Event, drill};
// crate::cli in a comment
/* crate::cli in a block comment */
let x = $crate::report::render();
let y = super::super::guard::judge();
let z = mycrate::history::scan();
let s = "crate::cli in a string";
let r = r"crate::cli in a raw string";
let c = '{';
"#;
        let named: Vec<String> = named_modules(text, 2).into_iter().collect();
        assert_eq!(named, ["drill", "guard", "report", "run", "scenario"]);
        assert!(named_modules("use super::Outcome;", 2).is_empty(), "one `super::` from depth 2 stays inside the module");
        let inline = "mod tests {\n    use super::super::parse_str;\n}\nfn f() { super::super::guard::judge() }";
        assert_eq!(named_modules(inline, 2).into_iter().collect::<Vec<_>>(), ["guard"], "an inline module is one level deeper; after it closes, it is not");
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
                if let (Some(from), Some(to)) = (layer_of(module), layer_of(other))
                    && to >= from
                {
                    upward.push(format!("{module} imports {other}"));
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

    /// ARCHITECTURE.md's "Module graph" block: per row, its modules and what
    /// it says they import (`None`: "every module", not listed).
    fn documented_graph() -> Vec<(Vec<String>, Option<BTreeSet<String>>)> {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).expect("ARCHITECTURE.md is readable");
        let section = text.split("## Module graph").nth(1).expect("ARCHITECTURE.md has a Module graph section");
        let block = section.split("```text").nth(1).and_then(|b| b.split("```").next()).expect("the Module graph section has a ```text block");
        let names = |list: &str| list.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect::<Vec<_>>();
        block
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let (modules, imports) = line.split_once("  ").unwrap_or((line, ""));
                let imports = imports.trim();
                let imported = match imports.strip_prefix('→') {
                    Some(" every module") => None,
                    Some(list) => Some(names(list).into_iter().collect()),
                    None => Some(BTreeSet::new()),
                };
                (names(modules), imported)
            })
            .collect()
    }

    #[test]
    fn architecture_md_shows_the_layers_and_the_graph_as_they_are() {
        let documented = documented_graph();
        let rows: Vec<Vec<String>> = documented.iter().map(|(modules, _)| modules.clone()).collect();
        let layers: Vec<Vec<String>> = LAYERS.iter().map(|row| row.iter().map(|m| m.to_string()).collect()).collect();
        assert_eq!(rows, layers, "ARCHITECTURE.md's Module graph rows must be LAYERS, in order");
        let graph = module_graph();
        for (modules, imported) in documented {
            let Some(imported) = imported else { continue };
            for module in modules {
                assert_eq!(graph.get(&module), Some(&imported), "ARCHITECTURE.md's Module graph says what `{module}` imports; it imports {:?}", graph.get(&module));
            }
        }
    }

    #[test]
    fn the_vocabulary_imports_nothing_of_the_crate() {
        let graph = module_graph();
        assert_eq!(graph.get("vocab").map(BTreeSet::len), Some(0), "vocab must exist and name no other module: {:?}", graph.get("vocab"));
    }
}
