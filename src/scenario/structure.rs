//! Structural checks: every unknown key, wrong type, bad value and missing key
//! in a file, found by walking the document against the JSON Schema that is
//! generated from the Rust types (so the two cannot drift apart).
//!
//! serde stops at the first problem; people fixing a file want all of them.

use serde_json::{Map, Value as Json};

use super::diagnostic::Problem;
use super::duration::{DURATION_PATTERN, Duration};
use super::yaml_tree::{Node, Path, Value};

/// Checks `node` against the scenario schema and returns every problem found.
pub fn check(node: &Node, schema: &Json) -> Vec<Problem> {
    let checker = Checker { root: schema };
    let mut problems = Vec::new();
    checker.check(node, schema, &Path::root(), &mut problems);
    problems
}

struct Checker<'s> {
    root: &'s Json,
}

impl<'s> Checker<'s> {
    fn resolve(&self, schema: &'s Json) -> &'s Json {
        let mut current = schema;
        // `$ref` chains are short; the bound only guards against a cycle.
        for _ in 0..16 {
            match current.get("$ref").and_then(Json::as_str) {
                Some(reference) => {
                    let name = reference.trim_start_matches("#/$defs/");
                    match self.root.get("$defs").and_then(|defs| defs.get(name)) {
                        Some(target) => current = target,
                        None => return current,
                    }
                }
                None => return current,
            }
        }
        current
    }

    fn check(&self, node: &Node, schema: &'s Json, path: &Path, out: &mut Vec<Problem>) {
        let schema = self.resolve(schema);

        if let Some(kind_branches) = schema.get("oneOf").and_then(Json::as_array).filter(|b| is_discriminated(b)) {
            self.check_discriminated(node, schema, kind_branches, path, out);
            return;
        }
        if let Some(branches) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Json::as_array) {
            self.check_alternatives(node, branches, path, out);
            return;
        }

        if !type_matches(node, schema) {
            out.push(type_problem(node, schema, path));
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Json::as_array) {
            check_enum(node, allowed, path, out);
        }
        if let Some(constant) = schema.get("const") {
            check_enum(node, std::slice::from_ref(constant), path, out);
        }
        match &node.value {
            Value::Map(_) => self.check_object(node, schema, None, path, out),
            Value::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        self.check(item, item_schema, &path.index(index), out);
                    }
                }
            }
            Value::Str(text) => {
                if let Some(pattern) = schema.get("pattern").and_then(Json::as_str) {
                    check_pattern(node, text, pattern, path, out);
                }
            }
            Value::Int(number) => check_integer_bounds(node, *number, schema, path, out),
            Value::Float(number) => check_number_bounds(node, *number, schema, path, out),
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// A mapping whose `kind` picks one of several shapes (probes, faults).
    fn check_discriminated(&self, node: &Node, schema: &'s Json, branches: &'s [Json], path: &Path, out: &mut Vec<Problem>) {
        if !matches!(node.value, Value::Map(_)) {
            out.push(Problem::new(path.clone(), node.at, format!("expected a mapping with a `kind`, found {}", node.value.describe())));
            return;
        }
        let kinds: Vec<&str> = branches.iter().filter_map(branch_kind).collect();
        let Some(kind_node) = node.get("kind") else {
            out.push(Problem::new(path.clone(), node.at, "the `kind` key is missing".to_string()).hint(format!("add `kind:` with one of: {}", kinds.join(", "))));
            return;
        };
        let kind_path = path.key("kind");
        let Value::Str(kind) = &kind_node.value else {
            out.push(Problem::new(kind_path, kind_node.at, format!("`kind` must be a string, found {}", kind_node.value.describe())));
            return;
        };
        let Some(branch) = branches.iter().find(|b| branch_kind(b) == Some(kind.as_str())) else {
            let mut problem = Problem::new(kind_path, kind_node.at, format!("unknown kind `{kind}`"));
            problem = match did_you_mean(kind, kinds.iter().copied()) {
                Some(close) => problem.hint(format!("did you mean `{close}`? Kinds here: {}", kinds.join(", "))),
                None => problem.hint(format!("use one of: {}", kinds.join(", "))),
            };
            out.push(problem);
            return;
        };
        self.check_object(node, schema, Some(branch), path, out);
    }

    /// Untagged alternatives (an optional value, a code or a range, …):
    /// the value is fine when any alternative accepts it; otherwise the
    /// alternative of the same shape explains what is wrong.
    fn check_alternatives(&self, node: &Node, branches: &'s [Json], path: &Path, out: &mut Vec<Problem>) {
        let mut best: Option<Vec<Problem>> = None;
        let mut shape_matches = false;
        for branch in branches {
            let resolved = self.resolve(branch);
            let matches_shape = type_matches(node, resolved) || resolved.get("anyOf").is_some() || resolved.get("oneOf").is_some();
            let mut attempt = Vec::new();
            self.check(node, branch, path, &mut attempt);
            if attempt.is_empty() {
                return;
            }
            let better = match &best {
                None => true,
                Some(previous) => (matches_shape && !shape_matches) || (matches_shape == shape_matches && attempt.len() < previous.len()),
            };
            if better {
                shape_matches = matches_shape;
                best = Some(attempt);
            }
        }
        if !shape_matches {
            let expected: Vec<&str> = branches.iter().filter_map(|b| describe_type(self.resolve(b))).collect();
            out.push(Problem::new(path.clone(), node.at, format!("expected {}, found {}", expected.join(" or "), node.value.describe())));
            return;
        }
        out.extend(best.unwrap_or_default());
    }

    fn check_object(&self, node: &Node, schema: &'s Json, branch: Option<&'s Json>, path: &Path, out: &mut Vec<Problem>) {
        let Value::Map(entries) = &node.value else { return };
        let empty = Map::new();
        let own = schema.get("properties").and_then(Json::as_object).unwrap_or(&empty);
        let extra = branch.and_then(|b| b.get("properties")).and_then(Json::as_object).unwrap_or(&empty);
        let strict = branch.is_some() || schema.get("additionalProperties") == Some(&Json::Bool(false)) || schema.get("unevaluatedProperties") == Some(&Json::Bool(false));
        let value_schema = schema.get("additionalProperties").filter(|v| v.is_object());

        for (key, value) in entries {
            let key_path = path.key(&key.name);
            if let Some(property) = own.get(&key.name).or_else(|| extra.get(&key.name)) {
                self.check(value, property, &key_path, out);
            } else if let Some(value_schema) = value_schema {
                self.check(value, value_schema, &key_path, out);
            } else if strict {
                let known = own.keys().chain(extra.keys()).map(String::as_str);
                let mut problem = Problem::new(key_path, key.at, format!("unknown key `{}`", key.name));
                let mut names: Vec<&str> = known.clone().collect();
                names.sort_unstable();
                problem = match did_you_mean(&key.name, known) {
                    Some(close) => problem.hint(format!("did you mean `{close}`?")),
                    None => problem.hint(format!("keys allowed here: {}", names.join(", "))),
                };
                out.push(problem);
            }
        }

        let required = [schema, branch.unwrap_or(&Json::Null)].into_iter().filter_map(|s| s.get("required").and_then(Json::as_array)).flatten().filter_map(Json::as_str);
        for name in required {
            if !entries.iter().any(|(k, _)| k.name == name) {
                let example = own.get(name).or_else(|| extra.get(name)).map(|p| example_for(self.resolve(p))).unwrap_or("…");
                out.push(Problem::new(path.key(name), node.at, format!("the required key `{name}` is missing")).hint(format!("add `{name}: {example}`")));
            }
        }
    }
}

fn is_discriminated(branches: &[Json]) -> bool {
    !branches.is_empty() && branches.iter().all(|b| branch_kind(b).is_some())
}

fn branch_kind(branch: &Json) -> Option<&str> {
    branch.get("properties")?.get("kind")?.get("const")?.as_str()
}

fn type_names(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(name)) => vec![name.as_str()],
        Some(Json::Array(names)) => names.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

fn type_matches(node: &Node, schema: &Json) -> bool {
    let names = type_names(schema);
    if names.is_empty() {
        return true;
    }
    names.iter().any(|name| match (*name, &node.value) {
        ("null", Value::Null) => true,
        ("boolean", Value::Bool(_)) => true,
        ("integer", Value::Int(_)) => true,
        ("number", Value::Int(_) | Value::Float(_)) => true,
        ("string", Value::Str(_)) => true,
        ("array", Value::Seq(_)) => true,
        ("object", Value::Map(_)) => true,
        _ => false,
    })
}

fn describe_type(schema: &Json) -> Option<&'static str> {
    if schema.get("pattern").and_then(Json::as_str) == Some(DURATION_PATTERN) {
        return Some("a duration such as `90s` or `5m`");
    }
    let names = type_names(schema);
    let name = names.iter().find(|n| **n != "null").or(names.first())?;
    Some(match *name {
        "null" => "nothing (null)",
        "boolean" => "`true` or `false`",
        "integer" => "a whole number",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        "object" => "a mapping",
        _ => return None,
    })
}

fn type_problem(node: &Node, schema: &Json, path: &Path) -> Problem {
    let expected = describe_type(schema).unwrap_or("another type");
    let mut problem = Problem::new(path.clone(), node.at, format!("expected {expected}, found {}", node.value.describe()));
    let is_duration = schema.get("pattern").and_then(Json::as_str) == Some(DURATION_PATTERN);
    match (&node.value, type_names(schema).first().copied()) {
        (Value::Int(n), Some("string")) if is_duration => {
            problem = problem.hint(format!("add a unit: `{n}s` for seconds, `{n}m` for minutes"));
        }
        (Value::Int(_) | Value::Float(_) | Value::Bool(_), Some("string")) => {
            problem = problem.hint("quote the value to make it a string, e.g. \"123456789012\"".to_string());
        }
        (_, Some("array")) => problem = problem.hint("write a list, e.g. `[a, b]` or one `- item` per line".to_string()),
        _ => {}
    }
    problem
}

fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn check_enum(node: &Node, allowed: &[Json], path: &Path, out: &mut Vec<Problem>) {
    let names: Vec<String> = allowed.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect();
    let Some(text) = scalar_text(node) else { return };
    if names.iter().any(|n| *n == text) {
        return;
    }
    let mut problem = Problem::new(path.clone(), node.at, format!("`{text}` is not allowed here"));
    problem = match did_you_mean(&text, names.iter().map(String::as_str)) {
        Some(close) => problem.hint(format!("did you mean `{close}`? Allowed: {}", names.join(", "))),
        None => problem.hint(format!("use one of: {}", names.join(", "))),
    };
    out.push(problem);
}

fn check_pattern(node: &Node, text: &str, pattern: &str, path: &Path, out: &mut Vec<Problem>) {
    if pattern == DURATION_PATTERN {
        if let Err(error) = text.parse::<Duration>() {
            out.push(Problem::new(path.clone(), node.at, error.to_string()).hint("write durations like `250ms`, `90s`, `5m` or `1h30m`".into()));
        }
        return;
    }
    match regex::Regex::new(pattern) {
        Ok(re) if !re.is_match(text) => {
            let hint = match path.0.last() {
                Some(super::yaml_tree::Segment::Key(k)) if k == "hours" => "write hours as `HH:MM-HH:MM`, e.g. `09:00-17:00`",
                Some(super::yaml_tree::Segment::Key(k)) if k == "from" || k == "to" => "write dates as `YYYY-MM-DD`",
                _ => "check the format described in docs/scenarios.md",
            };
            out.push(Problem::new(path.clone(), node.at, format!("`{text}` has the wrong format")).hint(hint.into()));
        }
        _ => {}
    }
}

fn check_integer_bounds(node: &Node, number: i128, schema: &Json, path: &Path, out: &mut Vec<Problem>) {
    let minimum = schema.get("minimum").and_then(Json::as_f64);
    let maximum = schema.get("maximum").and_then(Json::as_f64).or(match schema.get("format").and_then(Json::as_str) {
        Some("uint32") => Some(f64::from(u32::MAX)),
        Some("int32") => Some(f64::from(i32::MAX)),
        Some("uint16") => Some(f64::from(u16::MAX)),
        _ => None,
    });
    let as_float = number as f64;
    if minimum.is_some_and(|m| as_float < m) || maximum.is_some_and(|m| as_float > m) {
        let range = format!("{} to {}", minimum.map_or("any".into(), |m| m.to_string()), maximum.map_or("any".into(), |m| m.to_string()));
        out.push(Problem::new(path.clone(), node.at, format!("{number} is out of range ({range})")));
    }
}

fn check_number_bounds(node: &Node, number: f64, schema: &Json, path: &Path, out: &mut Vec<Problem>) {
    if type_names(schema).contains(&"integer") && !type_names(schema).contains(&"number") {
        out.push(Problem::new(path.clone(), node.at, format!("expected a whole number, found {number}")));
        return;
    }
    let minimum = schema.get("minimum").and_then(Json::as_f64);
    let maximum = schema.get("maximum").and_then(Json::as_f64);
    if minimum.is_some_and(|m| number < m) || maximum.is_some_and(|m| number > m) {
        out.push(Problem::new(path.clone(), node.at, format!("{number} is out of range")));
    }
}

fn example_for(schema: &Json) -> &'static str {
    if schema.get("pattern").and_then(Json::as_str) == Some(DURATION_PATTERN) {
        return "5m";
    }
    match type_names(schema).first().copied() {
        Some("array") => "[…]",
        Some("object") => "{…}",
        Some("integer") | Some("number") => "1",
        _ => "…",
    }
}

/// The closest candidate by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::normalized_damerau_levenshtein(input, candidate), candidate))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}
