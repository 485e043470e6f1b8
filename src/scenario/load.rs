//! Reading a scenario file: YAML syntax, then structure against the schema,
//! then typed deserialisation, then semantic checks. Each stage reports all
//! it finds, with file, line, column and key.

use std::path::{Path as FsPath, PathBuf};
use std::sync::OnceLock;

use super::checks;
use super::diagnostic::{Problem, render};
use super::from_tree::{self, TreeError};
use super::model::Scenario;
use super::objectives::{self, Objectives, Unreadable};
use super::structure;
use super::yaml_tree::{self, Path, Position};

/// A scenario that passed every check, with where it came from.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    pub file: PathBuf,
    pub source: String,
    /// The text of the objectives file the scenario names, as read and
    /// judged against: the run directory keeps this copy.
    pub objectives_source: Option<String>,
}

impl LoadedScenario {
    /// The runbook's path on disk, when the scenario names one that exists.
    pub fn runbook_path(&self) -> Option<PathBuf> {
        let runbook = self.scenario.runbook.as_deref()?;
        checks::resolve_runbook(runbook, self.file.parent().unwrap_or(FsPath::new(".")))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("could not read {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{} is not a valid scenario: {} problem(s)", path.display(), problems.len())]
    Invalid { path: PathBuf, text: String, problems: Vec<Problem> },
}

impl LoadError {
    /// Every problem, rendered with source lines and hints.
    pub fn render(&self) -> String {
        match self {
            LoadError::Unreadable { .. } => format!("error: {self}\n"),
            LoadError::Invalid { path, text, problems } => {
                let mut out = render(&path.display().to_string(), text, problems);
                out.push_str(&format!("{}: {} problem(s)\n", path.display(), problems.len()));
                out
            }
        }
    }
}

/// Reads and checks a scenario file.
pub fn load_file(path: &FsPath) -> Result<LoadedScenario, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Unreadable { path: path.to_path_buf(), source })?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let at = position_of_byte(error.as_bytes(), error.utf8_error().valid_up_to());
            let problem = Problem::new(Path::root(), at, "the file is not UTF-8 text".into()).hint("save it as UTF-8".into());
            return Err(LoadError::Invalid { path: path.to_path_buf(), text: String::new(), problems: vec![problem] });
        }
    };
    let dir = path.parent().map(|p| if p.as_os_str().is_empty() { FsPath::new(".") } else { p });
    let mut objectives_source = None;
    match parse_with(&text, dir, ObjectivesFrom::Beside(dir), &mut objectives_source) {
        Ok(scenario) => Ok(LoadedScenario { scenario, file: path.to_path_buf(), source: text, objectives_source }),
        Err(problems) => Err(LoadError::Invalid { path: path.to_path_buf(), text, problems }),
    }
}

fn position_of_byte(bytes: &[u8], offset: usize) -> Position {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    Position { line, column }
}

/// Parses and checks scenario text. `dir` is where relative paths (the
/// runbook, the objectives file) are resolved; `None` skips the file-system
/// checks, and a scenario that names objectives is then refused.
pub fn parse_str(text: &str, dir: Option<&FsPath>) -> Result<Scenario, Vec<Problem>> {
    parse_with(text, dir, ObjectivesFrom::Beside(dir), &mut None)
}

/// Parses a run directory's copy of its scenario, judged against the
/// objectives the run kept (`objectives.yaml` in the run directory): the
/// copy's path to the objectives file is relative to where the scenario was.
pub fn parse_run_copy(text: &str, kept: Option<&Objectives>) -> Result<Scenario, Vec<Problem>> {
    parse_with(text, None, ObjectivesFrom::Kept(kept), &mut None)
}

/// Where a scenario's objectives file is read from.
#[derive(Clone, Copy)]
enum ObjectivesFrom<'a> {
    /// The path the scenario names, relative to its directory (when known).
    Beside(Option<&'a FsPath>),
    /// The copy a run directory kept.
    Kept(Option<&'a Objectives>),
}

impl ObjectivesFrom<'_> {
    /// Reads the objectives; `source` receives the text of a file read.
    fn read(self, scenario: &Scenario, source: &mut Option<String>) -> Option<Result<Objectives, Unreadable>> {
        let file = scenario.objectives.as_deref()?;
        let unreadable = |message: String, hint: &str| Unreadable { message, hint: hint.to_string() };
        Some(match self {
            ObjectivesFrom::Beside(Some(dir)) => match checks::resolve_file(file, dir) {
                Some(path) => match Objectives::read(&path) {
                    Ok((objectives, text)) => {
                        *source = Some(text);
                        Ok(objectives)
                    }
                    Err(why) => Err(unreadable(format!("the objectives file is not valid: {why}"), "fix the objectives file there, or point `objectives` at another")),
                },
                None => Err(unreadable(
                    format!("the objectives file `{file}` does not exist"),
                    "give its path relative to this file (or to the project root, its parent directory), or create it (docs/scenarios.md, \"Objectives\")",
                )),
            },
            ObjectivesFrom::Beside(None) => {
                Err(unreadable(format!("the objectives file `{file}` cannot be read: the scenario was read without its directory"), "validate the scenario from its file"))
            }
            ObjectivesFrom::Kept(Some(kept)) => Ok(kept.clone()),
            ObjectivesFrom::Kept(None) => Err(unreadable(
                format!("this run kept no copy of the objectives file `{file}` ({})", objectives::OBJECTIVES_COPY),
                "put the objectives file the run was judged against in the run directory as objectives.yaml",
            )),
        })
    }
}

/// Fills in the expectations that name an objective, as problems placed in the tree.
fn resolve_objectives(scenario: &mut Scenario, tree: &yaml_tree::Node, from: ObjectivesFrom<'_>, source: &mut Option<String>) -> Vec<Problem> {
    let read = from.read(scenario, source);
    objectives::resolve(scenario, read.as_ref().map(Result::as_ref))
        .into_iter()
        .map(|u| {
            let path = Path::parse(&u.path);
            let at = tree.locate(&path);
            let mut problem = Problem::new(path, at, u.message);
            problem.hint = u.hint;
            problem
        })
        .collect()
}

/// Parses and checks; `objectives_source` receives the text of the
/// objectives file read, if one was.
fn parse_with(text: &str, dir: Option<&FsPath>, objectives_from: ObjectivesFrom<'_>, objectives_source: &mut Option<String>) -> Result<Scenario, Vec<Problem>> {
    let tree = yaml_tree::parse(text).map_err(|error| {
        let mut problem = Problem::new(Path::root(), error.at, format!("this is not valid YAML: {}", error.message));
        problem.hint = error.hint;
        vec![problem]
    })?;
    if !matches!(tree.value, yaml_tree::Value::Map(_)) {
        let problem = Problem::new(Path::root(), tree.at, format!("a scenario is a mapping of keys, but this file holds {}", tree.value.describe()))
            .hint("start from an example in scenarios/, e.g. `apiVersion: gameday/v1` then `name: …`".into());
        return Err(vec![problem]);
    }
    let checked = structure::check(&tree, schema());
    let mut problems = checked.problems;
    if problems.is_empty() {
        // The values are read from the tree the structure check judged, not
        // from the text again: one reading of every scalar (YAML 1.2), so
        // what the schema accepted as a string is that string (`record: no`).
        // This succeeds unless the types refuse what the schema accepts.
        match from_tree::from_node::<Scenario>(&tree) {
            Ok(mut scenario) => {
                let mut problems = resolve_objectives(&mut scenario, &tree, objectives_from, objectives_source);
                problems.extend(checks::check(&scenario, &tree, dir));
                return if problems.is_empty() { Ok(scenario) } else { Err(problems) };
            }
            Err(error) => problems.push(refused_by_types(error)),
        }
    }
    // The semantic rules still judge everything the problems leave sound, so
    // a file's every problem shows at once. What they say inside a problem's
    // scope is about a placeholder, and is dropped.
    if let Ok(mut repaired) = serde_json::from_value::<Scenario>(checked.repaired) {
        let scopes: Vec<Path> = problems.iter().map(|p| p.path.scope()).collect();
        let mut semantic = resolve_objectives(&mut repaired, &tree, objectives_from, objectives_source);
        semantic.extend(checks::check(&repaired, &tree, dir));
        problems.extend(semantic.into_iter().filter(|p| !scopes.iter().any(|scope| p.path.starts_with(scope))));
    }
    Err(problems)
}

/// A value the schema accepted and the types refuse: gameday's own
/// disagreement, shown where the value is.
fn refused_by_types(error: TreeError) -> Problem {
    Problem::new(error.path, error.at, error.message)
        .hint("change this value to the type docs/scenarios.md gives for the key; if it already is, gameday's schema and types disagree: please report it".into())
}

/// The generated schema, made strict where serde's `flatten` keeps schemars
/// from saying so: probes and faults accept only their kind's keys.
pub fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default();
        for name in ["Probe", "Fault"] {
            if let Some(definition) = schema.pointer_mut(&format!("/$defs/{name}")).and_then(|d| d.as_object_mut()) {
                definition.insert("unevaluatedProperties".into(), serde_json::Value::Bool(false));
            }
        }
        schema
    })
}
