//! A YAML document as a tree that remembers where every key and value stands.
//!
//! serde deserialises into types but forgets positions; error messages need
//! them ("file:line:column, key"). This tree is built from the same parser that
//! serde-saphyr uses, so positions agree with the deserializer's.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle};

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub at: Position,
}

#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug)]
pub struct Key {
    pub name: String,
    pub at: Position,
}

impl Value {
    /// How errors name this kind of value.
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn key_position(&self, key: &str) -> Option<Position> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k.at),
            _ => None,
        }
    }

    /// Follows a path such as `faults[2].targets.count` and returns the
    /// position of the deepest part that exists: the key when the path ends
    /// on a key (so errors point at the key people typed), else the value.
    pub fn locate(&self, path: &Path) -> Position {
        let mut node = self;
        let mut best = self.at;
        for segment in &path.0 {
            match segment {
                Segment::Key(key) => match node.get(key) {
                    Some(child) => {
                        best = node.key_position(key).unwrap_or(child.at);
                        node = child;
                    }
                    None => return best,
                },
                Segment::Index(index) => match &node.value {
                    Value::Seq(items) if *index < items.len() => {
                        node = &items[*index];
                        best = node.at;
                    }
                    _ => return best,
                },
            }
        }
        best
    }
}

/// A path into the document, printed as `faults[1].targets.count`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Segment>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

impl Path {
    pub fn root() -> Self {
        Path(Vec::new())
    }
    pub fn key(&self, key: &str) -> Path {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_string()));
        next
    }
    pub fn index(&self, index: usize) -> Path {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }
    /// Whether `self` is `prefix` or lies inside it.
    pub fn starts_with(&self, prefix: &Path) -> bool {
        self.0.starts_with(&prefix.0)
    }
    /// The part of the document a problem here can make unreliable: up to
    /// the first list item (`faults[1].targets.count` → `faults[1]`), since
    /// the item's own rules read its other keys, or the path itself.
    pub fn scope(&self) -> Path {
        match self.0.iter().position(|s| matches!(s, Segment::Index(_))) {
            Some(index) => Path(self.0[..=index].to_vec()),
            None => self.clone(),
        }
    }
    /// Parses the dotted form used by the semantic checks (`guards.max_percent`, `faults[0].name`).
    pub fn parse(text: &str) -> Path {
        let mut path = Path::root();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let (name, indices) = part.split_once('[').map_or((part, ""), |(n, rest)| (n, rest));
            if !name.is_empty() {
                path.0.push(Segment::Key(name.to_string()));
            }
            for index in indices.split('[').filter_map(|i| i.trim_end_matches(']').parse().ok()) {
                path.0.push(Segment::Index(index));
            }
        }
        path
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Why a document could not be read as YAML at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: Position,
    pub message: String,
    /// What to do about it, when the message alone does not say.
    pub hint: Option<String>,
}

impl SyntaxError {
    /// The parser's own error, made useful. A tab in indentation is the
    /// commonest case, and the parser reports it where it noticed, often at
    /// the end of the previous line's value; the tab itself is what to show.
    fn from_parser(text: &str, error: &granit_parser::ScanError) -> SyntaxError {
        let at = Position { line: error.marker().line(), column: error.marker().col() + 1 };
        let message = error.info().to_string();
        if message.contains("tab")
            && let Some(tab) = indentation_tab_from(text, at.line)
        {
            return SyntaxError { at: tab, message: "a tab is used for indentation".into(), hint: Some("YAML does not allow tabs for indentation; use spaces".into()) };
        }
        SyntaxError { at, message, hint: Some("check indentation and that every `[`, `{` and quote is closed".into()) }
    }
}

/// The first tab in the leading whitespace of a line, from `line` (1-based) on.
fn indentation_tab_from(text: &str, line: usize) -> Option<Position> {
    text.lines().enumerate().skip(line.saturating_sub(1)).find_map(|(index, content)| {
        let indentation = content.len() - content.trim_start_matches([' ', '\t']).len();
        content[..indentation].find('\t').map(|offset| Position { line: index + 1, column: offset + 1 })
    })
}

/// Limits that keep hostile input (alias bombs, absurd nesting) from
/// exhausting memory; real scenarios are far below them.
const MAX_NODES: usize = 200_000;
const MAX_DEPTH: usize = 128;

enum Frame {
    Seq { items: Vec<Node>, at: Position },
    Map { entries: Vec<(Key, Node)>, pending_key: Option<Key>, at: Position },
}

/// Parses one YAML document. An empty document is a null node.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut stack: Vec<Frame> = Vec::new();
    // Each anchored node with its size, so an alias is costed before it is copied.
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut anchor_of_frame: Vec<usize> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut node_count = 0usize;

    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| SyntaxError::from_parser(text, &e))?;
        let at = Position { line: span.start.line(), column: span.start.col() + 1 };
        let completed: Option<(Node, usize)> = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError { at, message: "a scenario file holds one YAML document; remove the second `---` or split the file".into(), hint: None });
                }
                None
            }
            Event::SequenceStart(_, anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError { at, message: format!("nesting deeper than {MAX_DEPTH} levels"), hint: None });
                }
                stack.push(Frame::Seq { items: Vec::new(), at });
                anchor_of_frame.push(anchor);
                None
            }
            Event::MappingStart(_, anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError { at, message: format!("nesting deeper than {MAX_DEPTH} levels"), hint: None });
                }
                stack.push(Frame::Map { entries: Vec::new(), pending_key: None, at });
                anchor_of_frame.push(anchor);
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let anchor = anchor_of_frame.pop().unwrap_or(0);
                match stack.pop() {
                    Some(Frame::Seq { items, at }) => Some((Node { value: Value::Seq(items), at }, anchor)),
                    Some(Frame::Map { entries, at, .. }) => Some((Node { value: Value::Map(entries), at }, anchor)),
                    None => None,
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let is_plain = matches!(style, ScalarStyle::Plain) && tag.is_none();
                Some((Node { value: resolve_scalar(&text, is_plain), at }, anchor))
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((node, size)) => {
                    node_count = node_count.saturating_add(*size);
                    if node_count > MAX_NODES {
                        return Err(SyntaxError { at, message: format!("more than {MAX_NODES} values (an alias bomb?)"), hint: None });
                    }
                    Some((Node { value: node.value.clone(), at }, 0))
                }
                None => return Err(SyntaxError { at, message: "an alias refers to an unknown anchor".into(), hint: None }),
            },
            _ => None,
        };
        let Some((node, anchor)) = completed else { continue };
        node_count += 1;
        if node_count > MAX_NODES {
            return Err(SyntaxError { at, message: format!("more than {MAX_NODES} values (an alias bomb?)"), hint: None });
        }
        if anchor != 0 {
            let size = count_nodes(&node);
            anchors.insert(anchor, (node.clone(), size));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, pending_key, .. }) => match pending_key.take() {
                None => {
                    let name = match &node.value {
                        Value::Str(s) => s.clone(),
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".into(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(SyntaxError { at: node.at, message: "a mapping key must be a plain value, not a list or mapping".into(), hint: None });
                        }
                    };
                    if entries.iter().any(|(k, _)| k.name == name) {
                        return Err(SyntaxError {
                            at: node.at,
                            message: format!("the key `{name}` appears twice in the same mapping"),
                            hint: Some(format!("keep one `{name}`: YAML would silently take the last")),
                        });
                    }
                    *pending_key = Some(Key { name, at: node.at });
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
    Ok(root.unwrap_or(Node { value: Value::Null, at: Position { line: 1, column: 1 } }))
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(_, v)| count_nodes(v)).sum::<usize>(),
        _ => 1,
    }
}

/// YAML 1.2 core schema resolution for plain scalars; quoted scalars stay strings.
fn resolve_scalar(text: &str, is_plain: bool) -> Value {
    if !is_plain {
        return Value::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let looks_numeric = text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.');
    if looks_numeric {
        if let Ok(int) = text.parse::<i128>() {
            return Value::Int(int);
        }
        if let Some(hex) = text.strip_prefix("0x")
            && let Ok(int) = i128::from_str_radix(hex, 16)
        {
            return Value::Int(int);
        }
        if text.contains(|c: char| c.is_ascii_digit())
            && let Ok(float) = text.parse::<f64>()
            && float.is_finite()
        {
            return Value::Float(float);
        }
    }
    Value::Str(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_key_positions() {
        let doc = parse("a: 1\nb:\n  c: [x, y]\n").unwrap();
        assert_eq!(doc.key_position("b"), Some(Position { line: 2, column: 1 }));
        let path = Path::parse("b.c[1]");
        assert_eq!(doc.locate(&path), Position { line: 3, column: 10 });
    }

    #[test]
    fn rejects_duplicate_keys_and_bad_syntax() {
        assert!(parse("a: 1\na: 2\n").unwrap_err().message.contains("twice"));
        assert!(parse("a: [1, 2\n").is_err());
        assert!(parse("---\na: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn a_tab_in_indentation_is_located_where_it_is() {
        // The parser notices this tab at the end of `a` on line 4.
        let error = parse("apiVersion: gameday/v1\nsteady_state:\n  - name: a\n\tkind: http\n").unwrap_err();
        assert_eq!(error.at, Position { line: 4, column: 1 });
        assert_eq!(error.message, "a tab is used for indentation");
        assert_eq!(error.hint.as_deref(), Some("YAML does not allow tabs for indentation; use spaces"));
        let error = parse("guards:\n  stop_conditions:\n  \t- probe: x\n").unwrap_err();
        assert_eq!(error.at, Position { line: 3, column: 3 });
        // A tab inside a value is no indentation, and stays a plain value.
        assert!(parse("a: \"x\ty\"\nb: |\n  one\n  \ttwo\n").is_ok());
    }

    #[test]
    fn resolves_scalars_like_yaml_1_2() {
        let doc = parse("a: 12\nb: '12'\nc: true\nd: ~\ne: 1.5\nf: 5m\n").unwrap();
        assert!(matches!(doc.get("a").unwrap().value, Value::Int(12)));
        assert!(matches!(doc.get("b").unwrap().value, Value::Str(_)));
        assert!(matches!(doc.get("c").unwrap().value, Value::Bool(true)));
        assert!(matches!(doc.get("d").unwrap().value, Value::Null));
        assert!(matches!(doc.get("e").unwrap().value, Value::Float(_)));
        assert!(matches!(doc.get("f").unwrap().value, Value::Str(_)));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
        }
        assert!(parse(&text).unwrap_err().message.contains("alias bomb"));
    }
}
