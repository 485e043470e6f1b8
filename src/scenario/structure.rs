//! Structural checks: every unknown key, wrong type, bad value and missing key
//! in a file, found by walking the document against the JSON Schema that is
//! generated from the Rust types (so the two cannot drift apart).
//!
//! serde stops at the first problem; people fixing a file want all of them.
//! So the check also hands back the document with each problem patched out
//! (see `Checked::repaired`), and the semantic rules run over that in the
//! same pass: a missing key and `max_percent: 250` show up together.

use serde_json::{Map, Value as Json};

use super::diagnostic::Problem;
use super::duration::{DURATION_PATTERN, Duration};
use super::model::{DATE_PATTERN, calendar_date};
use super::yaml_tree::{Node, Path, Segment, Value};

/// What the structure check found.
pub struct Checked {
    /// Every problem, in document order of the walk.
    pub problems: Vec<Problem>,
    /// The document as JSON, with every problem patched out: unknown keys
    /// dropped, and each missing required key or bad value replaced by a
    /// neutral value the schema accepts (`null` where allowed, the first
    /// allowed value, `1s`, an empty string or list). It deserialises into
    /// the scenario types, so the semantic rules can judge everything else.
    /// The patched values are placeholders: what the rules say about them
    /// means nothing (`load` drops it).
    pub repaired: Json,
}

/// Checks `node` against the scenario schema and returns every problem found.
pub fn check(node: &Node, schema: &Json) -> Checked {
    let checker = Checker { root: schema };
    let mut problems = Vec::new();
    let repaired = checker.check(node, schema, &Path::root(), &mut problems);
    Checked { problems, repaired }
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

    /// Checks one node and returns it as JSON, repaired where it is wrong.
    fn check(&self, node: &Node, schema: &'s Json, path: &Path, out: &mut Vec<Problem>) -> Json {
        let schema = self.resolve(schema);

        if let Some(kind_branches) = schema.get("oneOf").and_then(Json::as_array).filter(|b| is_discriminated(b)) {
            return self.check_discriminated(node, schema, kind_branches, path, out);
        }
        if let Some(branches) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Json::as_array) {
            // An enum whose values carry their own docs is written as one
            // `const` per value: judged as one enum, so the hint names every
            // value (and the closest), not the first alternative's only.
            if let Some(values) = self.constants(branches).filter(|_| scalar_text(node).is_some()) {
                return if check_enum(node, &values, path, out) { as_json(node) } else { values[0].clone() };
            }
            return self.check_alternatives(node, branches, path, out);
        }

        if !type_matches(node, schema) {
            out.push(type_problem(node, schema, path));
            return self.neutral(schema);
        }
        let mut allowed = true;
        if let Some(values) = schema.get("enum").and_then(Json::as_array) {
            allowed &= check_enum(node, values, path, out);
        }
        if let Some(constant) = schema.get("const") {
            allowed &= check_enum(node, std::slice::from_ref(constant), path, out);
        }
        let valid = allowed
            && match &node.value {
                Value::Map(_) => return self.check_object(node, schema, None, path, out),
                Value::Seq(items) => {
                    let Some(item_schema) = schema.get("items") else { return as_json(node) };
                    return Json::Array(items.iter().enumerate().map(|(index, item)| self.check(item, item_schema, &path.index(index), out)).collect());
                }
                Value::Str(text) => schema.get("pattern").and_then(Json::as_str).is_none_or(|pattern| check_pattern(node, text, pattern, path, out)),
                Value::Int(number) => check_integer_bounds(node, *number, schema, path, out),
                Value::Float(number) => check_number_bounds(node, *number, schema, path, out),
                Value::Null | Value::Bool(_) => true,
            };
        if valid { as_json(node) } else { self.neutral(schema) }
    }

    /// The values of alternatives that are each one constant, if all are.
    fn constants(&self, branches: &'s [Json]) -> Option<Vec<Json>> {
        let values: Option<Vec<Json>> = branches.iter().map(|b| self.resolve(b).get("const").cloned()).collect();
        values.filter(|v| !v.is_empty())
    }

    /// A value `schema` accepts and that says as little as possible: the
    /// stand-in for a missing or bad value in `Checked::repaired`.
    fn neutral(&self, schema: &'s Json) -> Json {
        let schema = self.resolve(schema);
        if let Some(branches) = schema.get("oneOf").and_then(Json::as_array).filter(|b| is_discriminated(b)) {
            return self.neutral_object(schema, branches.first());
        }
        if let Some(branches) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Json::as_array) {
            if branches.iter().any(|b| type_names(self.resolve(b)).contains(&"null")) {
                return Json::Null;
            }
            return branches.first().map_or(Json::Null, |b| self.neutral(b));
        }
        if let Some(first) = schema.get("enum").and_then(Json::as_array).and_then(|values| values.first()) {
            return first.clone();
        }
        if let Some(constant) = schema.get("const") {
            return constant.clone();
        }
        let names = type_names(schema);
        if names.contains(&"null") {
            return Json::Null;
        }
        match names.first().copied() {
            Some("boolean") => Json::Bool(false),
            Some("integer" | "number") => schema.get("minimum").cloned().unwrap_or(Json::from(1)),
            Some("string") if schema.get("pattern").and_then(Json::as_str) == Some(DURATION_PATTERN) => Json::from("1s"),
            Some("string") if schema.get("pattern").and_then(Json::as_str) == Some(DATE_PATTERN) => Json::from("1970-01-01"),
            Some("string") => Json::from(""),
            Some("array") => Json::Array(Vec::new()),
            Some("object") => self.neutral_object(schema, None),
            _ => Json::Null,
        }
    }

    /// An object with only its required keys, each neutral.
    fn neutral_object(&self, schema: &'s Json, branch: Option<&'s Json>) -> Json {
        let mut object = Map::new();
        for part in [Some(schema), branch].into_iter().flatten() {
            let properties = part.get("properties");
            for name in part.get("required").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str) {
                let value = properties.and_then(|p| p.get(name)).map_or(Json::Null, |p| self.neutral(p));
                object.insert(name.to_string(), value);
            }
        }
        Json::Object(object)
    }

    /// A mapping whose `kind` picks one of several shapes (probes, faults).
    /// Without a known `kind` it is repaired as the first kind, keeping its
    /// name and common keys for the rules that refer to it.
    fn check_discriminated(&self, node: &Node, schema: &'s Json, branches: &'s [Json], path: &Path, out: &mut Vec<Problem>) -> Json {
        if !matches!(node.value, Value::Map(_)) {
            out.push(Problem::new(path.clone(), node.at, format!("expected a mapping with a `kind`, found {}", node.value.describe())));
            return self.neutral(schema);
        }
        // Its problems as the first kind would be noise: the kind is what is wrong.
        let as_first_kind = || self.check_object(node, schema, branches.first(), path, &mut Vec::new());
        let kinds: Vec<&str> = branches.iter().filter_map(branch_kind).collect();
        let Some(kind_node) = node.get("kind") else {
            out.push(Problem::new(path.clone(), node.at, "the `kind` key is missing".to_string()).hint(format!("add `kind:` with one of: {}", kinds.join(", "))));
            return as_first_kind();
        };
        let kind_path = path.key("kind");
        let Value::Str(kind) = &kind_node.value else {
            out.push(Problem::new(kind_path, kind_node.at, format!("`kind` must be a string, found {}", kind_node.value.describe())));
            return as_first_kind();
        };
        let Some(branch) = branches.iter().find(|b| branch_kind(b) == Some(kind.as_str())) else {
            let mut problem = Problem::new(kind_path, kind_node.at, format!("unknown kind `{kind}`"));
            problem = match did_you_mean(kind, kinds.iter().copied()) {
                Some(close) => problem.hint(format!("did you mean `{close}`? Kinds here: {}", kinds.join(", "))),
                None => problem.hint(format!("use one of: {}", kinds.join(", "))),
            };
            out.push(problem);
            return as_first_kind();
        };
        self.check_object(node, schema, Some(branch), path, out)
    }

    /// Untagged alternatives (an optional value, a code or a range, …):
    /// the value is fine when any alternative accepts it; otherwise the
    /// alternative of the same shape explains what is wrong.
    fn check_alternatives(&self, node: &Node, branches: &'s [Json], path: &Path, out: &mut Vec<Problem>) -> Json {
        let mut best: Option<(Vec<Problem>, Json)> = None;
        let mut shape_matches = false;
        for branch in branches {
            let resolved = self.resolve(branch);
            let matches_shape = type_matches(node, resolved) || resolved.get("anyOf").is_some() || resolved.get("oneOf").is_some();
            let mut attempt = Vec::new();
            let repaired = self.check(node, branch, path, &mut attempt);
            if attempt.is_empty() {
                return repaired;
            }
            let better = match &best {
                None => true,
                Some((previous, _)) => (matches_shape && !shape_matches) || (matches_shape == shape_matches && attempt.len() < previous.len()),
            };
            if better {
                shape_matches = matches_shape;
                best = Some((attempt, repaired));
            }
        }
        let Some((problems, repaired)) = best.filter(|_| shape_matches) else {
            let expected: Vec<&str> = branches.iter().filter_map(|b| describe_type(self.resolve(b))).collect();
            let mut problem = Problem::new(path.clone(), node.at, format!("expected {}, found {}", expected.join(" or "), node.value.describe()));
            // The hint of the alternative that is not "nothing" (`90` for an optional duration: add a unit).
            problem.hint = branches.iter().map(|b| self.resolve(b)).find(|b| !type_names(b).contains(&"null")).and_then(|b| type_problem(node, b, path).hint);
            out.push(problem);
            let nullable = branches.iter().any(|b| type_names(self.resolve(b)).contains(&"null"));
            return if nullable { Json::Null } else { branches.first().map_or(Json::Null, |b| self.neutral(b)) };
        };
        out.extend(problems);
        repaired
    }

    fn check_object(&self, node: &Node, schema: &'s Json, branch: Option<&'s Json>, path: &Path, out: &mut Vec<Problem>) -> Json {
        let Value::Map(entries) = &node.value else { return self.neutral_object(schema, branch) };
        let mut object = Map::new();
        let empty = Map::new();
        let own = schema.get("properties").and_then(Json::as_object).unwrap_or(&empty);
        let extra = branch.and_then(|b| b.get("properties")).and_then(Json::as_object).unwrap_or(&empty);
        let strict = branch.is_some() || schema.get("additionalProperties") == Some(&Json::Bool(false)) || schema.get("unevaluatedProperties") == Some(&Json::Bool(false));
        let value_schema = schema.get("additionalProperties").filter(|v| v.is_object());

        for (key, value) in entries {
            let key_path = path.key(&key.name);
            if let Some(property) = own.get(&key.name).or_else(|| extra.get(&key.name)) {
                object.insert(key.name.clone(), self.check(value, property, &key_path, out));
            } else if let Some(value_schema) = value_schema {
                object.insert(key.name.clone(), self.check(value, value_schema, &key_path, out));
            } else if !strict {
                object.insert(key.name.clone(), as_json(value));
            } else {
                let known = own.keys().chain(extra.keys()).map(String::as_str);
                let mut problem = Problem::new(key_path, key.at, format!("unknown key `{}`", key.name));
                let mut names: Vec<&str> = known.clone().collect();
                names.sort_unstable();
                // A scenario-wide key (`via`, `guards`, …) written inside a
                // fault or probe: say where it goes, not only what is allowed here.
                let top_level = !path.0.is_empty() && self.root.get("properties").and_then(|p| p.get(&key.name)).is_some();
                problem = match did_you_mean(&key.name, known) {
                    Some(close) => problem.hint(format!("did you mean `{close}`?")),
                    None if top_level => problem.hint(format!("`{}` is a key of the scenario itself, for all its faults: move it to the top level, beside `name`", key.name)),
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
                let property = own.get(name).or_else(|| extra.get(name));
                object.insert(name.to_string(), property.map_or(Json::Null, |p| self.neutral(p)));
            }
        }
        Json::Object(object)
    }
}

/// The node as JSON, as it stands.
fn as_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => i64::try_from(*i).map(Json::from).or_else(|_| u64::try_from(*i).map(Json::from)).unwrap_or_else(|_| Json::from(*i as f64)),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::from(s.as_str()),
        Value::Seq(items) => Json::Array(items.iter().map(as_json).collect()),
        Value::Map(entries) => Json::Object(entries.iter().map(|(k, v)| (k.name.clone(), as_json(v))).collect()),
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
    names.iter().any(|name| {
        matches!(
            (*name, &node.value),
            ("null", Value::Null)
                | ("boolean", Value::Bool(_))
                | ("integer", Value::Int(_))
                | ("number", Value::Int(_) | Value::Float(_))
                | ("string", Value::Str(_))
                | ("array", Value::Seq(_))
                | ("object", Value::Map(_))
        )
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
    let problem = Problem::new(path.clone(), node.at, format!("expected {expected}, found {}", node.value.describe()));
    let is_duration = schema.get("pattern").and_then(Json::as_str) == Some(DURATION_PATTERN);
    // The key as people typed it: a list item's is its list's.
    let key = path.0.iter().rev().find_map(|s| match s {
        Segment::Key(key) => Some(key.as_str()),
        Segment::Index(_) => None,
    });
    let key = key.unwrap_or("key");
    let names = type_names(schema);
    let hint = match (&node.value, names.iter().copied().find(|n| *n != "null")) {
        (Value::Int(n), Some("string")) if is_duration => format!("add a unit: `{n}s` for seconds, `{n}m` for minutes"),
        (Value::Int(_) | Value::Float(_) | Value::Bool(_), Some("string")) => "quote the value to make it a string, e.g. \"123456789012\"".to_string(),
        (Value::Null, _) => format!("give `{key}` a value after its colon"),
        (_, Some("array")) => "write a list, e.g. `[a, b]` or one `- item` per line".to_string(),
        (Value::Seq(items), Some(_)) => match items.first().map(|item| &item.value) {
            Some(Value::Str(first)) if items.len() == 1 && !is_duration => format!("`{key}` takes one value, not a list: write `{key}: {first}`"),
            _ => format!("`{key}` takes one value, not a list: remove the brackets or the `- ` items"),
        },
        (Value::Map(_), Some("string")) => format!("`{key}` takes one value, not a mapping: if the `:` or braces are part of it, quote it, e.g. `{key}: \"a: b\"`"),
        (Value::Map(_), Some(_)) => format!("`{key}` takes one value, not a mapping"),
        (Value::Str(text), Some("boolean")) if YAML_1_1_BOOLEANS.iter().any(|word| text.eq_ignore_ascii_case(word)) => {
            format!("write `{key}: true` or `{key}: false`: scalars follow YAML 1.2, which reads `{text}` as a string")
        }
        (Value::Str(_), Some("boolean")) => format!("write `{key}: true` or `{key}: false`"),
        (Value::Str(_), Some("integer")) => format!("write a whole number without quotes or units, e.g. `{key}: 3`"),
        (Value::Str(_), Some("number")) => format!("write a number without quotes or units, e.g. `{key}: 2.5`"),
        (_, Some("object")) => format!("write a mapping: `{key}:` then one indented `name: value` per line, or `{key}: {{ name: value }}`"),
        _ => return problem,
    };
    problem.hint(hint)
}

/// The spellings YAML 1.1 read as booleans, which YAML 1.2 reads as strings.
const YAML_1_1_BOOLEANS: [&str; 6] = ["yes", "no", "on", "off", "y", "n"];

fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether the value is one of `allowed`; if not, says so.
fn check_enum(node: &Node, allowed: &[Json], path: &Path, out: &mut Vec<Problem>) -> bool {
    let names: Vec<String> = allowed.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect();
    let Some(text) = scalar_text(node) else { return true };
    if names.contains(&text) {
        return true;
    }
    let mut problem = Problem::new(path.clone(), node.at, format!("`{text}` is not allowed here"));
    problem = match did_you_mean(&text, names.iter().map(String::as_str)) {
        Some(close) => problem.hint(format!("did you mean `{close}`? Allowed: {}", names.join(", "))),
        None => problem.hint(format!("use one of: {}", names.join(", "))),
    };
    out.push(problem);
    false
}

/// Whether the text has the schema's format; if not, says so.
fn check_pattern(node: &Node, text: &str, pattern: &str, path: &Path, out: &mut Vec<Problem>) -> bool {
    if pattern == DURATION_PATTERN {
        if let Err(error) = text.parse::<Duration>() {
            out.push(Problem::new(path.clone(), node.at, error.to_string()).hint("write durations like `250ms`, `90s`, `5m` or `1h30m`".into()));
            return false;
        }
        return true;
    }
    // The shape is checked below; a date of that shape must also exist.
    if pattern == DATE_PATTERN && regex::Regex::new(pattern).is_ok_and(|re| re.is_match(text)) {
        if let Err(message) = calendar_date::parse(text) {
            out.push(Problem::new(path.clone(), node.at, message).hint("write `YYYY-MM-DD`".into()));
            return false;
        }
        return true;
    }
    match regex::Regex::new(pattern) {
        Ok(re) if !re.is_match(text) => {
            let hint = match path.0.last() {
                Some(super::yaml_tree::Segment::Key(k)) if k == "hours" => "write hours as `HH:MM-HH:MM`, e.g. `09:00-17:00`",
                Some(super::yaml_tree::Segment::Key(k)) if k == "from" || k == "to" => "write dates as `YYYY-MM-DD`",
                _ => "check the format described in docs/scenarios.md",
            };
            out.push(Problem::new(path.clone(), node.at, format!("`{text}` has the wrong format")).hint(hint.into()));
            false
        }
        _ => true,
    }
}

/// Whether the number is within the schema's bounds; if not, says so.
fn check_integer_bounds(node: &Node, number: i128, schema: &Json, path: &Path, out: &mut Vec<Problem>) -> bool {
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
        let key = path.to_string();
        let key = key.rsplit('.').next().unwrap_or(&key);
        out.push(Problem::new(path.clone(), node.at, format!("{number} is out of range ({range})")).hint(format!("give `{key}` a value from {range}")));
        return false;
    }
    true
}

/// Whether the number is a number the schema allows; if not, says so.
fn check_number_bounds(node: &Node, number: f64, schema: &Json, path: &Path, out: &mut Vec<Problem>) -> bool {
    if type_names(schema).contains(&"integer") && !type_names(schema).contains(&"number") {
        out.push(Problem::new(path.clone(), node.at, format!("expected a whole number, found {number}")));
        return false;
    }
    let minimum = schema.get("minimum").and_then(Json::as_f64);
    let maximum = schema.get("maximum").and_then(Json::as_f64);
    if minimum.is_some_and(|m| number < m) || maximum.is_some_and(|m| number > m) {
        out.push(Problem::new(path.clone(), node.at, format!("{number} is out of range")));
        return false;
    }
    true
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, load::schema, yaml_tree};

    /// The repaired document always deserialises, or the semantic rules
    /// would silently skip a broken file: every file in tests/broken that
    /// gets as far as the structure check, and hand-made worst cases.
    #[test]
    fn the_repaired_document_is_always_a_scenario() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
        let mut texts: Vec<(String, String)> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap_or_default())).collect();
        for worst in [
            "{}",
            "apiVersion: 1\nname: [x]\nsteady_state: {}\nfaults: 7\nexpected_recoveries: [1, {}]\nguards: []",
            "steady_state: [{kind: http}, {}, 3]\nfaults: [{kind: nope, name: x, duration: x}, {kind: command}]",
        ] {
            texts.push((worst.into(), worst.into()));
        }
        let mut checked_files = 0;
        for (name, text) in texts {
            let Ok(tree) = yaml_tree::parse(&text) else { continue };
            if !matches!(tree.value, Value::Map(_)) {
                continue;
            }
            let checked = check(&tree, schema());
            if let Err(error) = serde_json::from_value::<Scenario>(checked.repaired.clone()) {
                panic!("{name}: {error}\n{:#}", checked.repaired);
            }
            checked_files += 1;
        }
        assert!(checked_files >= 10);
    }
}
