//! The project file, `gameday.yaml`: named environments.
//!
//! ```yaml
//! apiVersion: gameday/v1
//! kind: Project
//! environments:
//!   staging:
//!     kind: aws
//!     profile: staging
//!     region: us-east-1
//!     account: "123456789012"
//!     fis_role_arn: arn:aws:iam::123456789012:role/gameday-fis
//!   training:
//!     kind: sim
//!     topology: sim-topology.yaml
//! ```
//!
//! `sim` and `local` exist without a project file; a project may redefine
//! them, `sim` only as the simulator (with a topology of its own): runs on
//! `sim` are reported as simulated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::scenario::{from_tree, yaml_tree};

/// The built-in simulator's environment name, which a run on it journals.
pub const SIMULATOR: &str = "sim";

/// The file read when `--project` is not given.
pub const DEFAULT_PROJECT_FILE: &str = "gameday.yaml";

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentSpec>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EnvironmentSpec {
    /// The built-in simulated region.
    Sim {
        #[serde(default)]
        topology: Option<PathBuf>,
    },
    /// Command faults and real probes on this machine.
    Local,
    /// A real AWS account, through the official SDK.
    Aws(AwsSpec),
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsSpec {
    /// Named profile from `~/.aws/config`; default: the standard credential chain.
    #[serde(default)]
    pub profile: Option<String>,
    pub region: String,
    /// The account this environment must be; the caller identity is checked against it before anything else.
    pub account: String,
    /// Another endpoint (moto, LocalStack) instead of AWS.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Role FIS assumes to run experiments; when set, faults run through FIS by default.
    #[serde(default)]
    pub fis_role_arn: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("could not read {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{} is not a valid project file: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("unknown environment `{name}`{}", if known.is_empty() { String::new() } else { format!(" (known: {})", known.join(", ")) })]
    UnknownEnvironment { name: String, known: Vec<String> },
}

impl Project {
    /// Reads `path`, or `gameday.yaml` in the working directory when it exists.
    pub fn load(path: Option<&Path>) -> Result<Option<Project>, ProjectError> {
        let path = match path {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_PROJECT_FILE).is_file() => PathBuf::from(DEFAULT_PROJECT_FILE),
            None => return Ok(None),
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ProjectError::Unreadable { path: path.clone(), source })?;
        // The scenario reader's YAML pass first: it places a syntax error
        // (a tab in indentation above all) where it is, with a hint.
        let tree = match yaml_tree::parse(&text) {
            Ok(tree) => tree,
            Err(error) => {
                let hint = error.hint.map(|h| format!(" ({h})")).unwrap_or_default();
                return Err(ProjectError::Invalid { path, message: format!("line {}, column {}: {}{hint}", error.at.line, error.at.column, error.message) });
            }
        };
        // Values are read from that tree, as a scenario's are: one reading of
        // every scalar (YAML 1.2), so `profile: no` is the string `no`.
        let project: Project = from_tree::from_node(&tree).map_err(|error| {
            let at = if error.path.0.is_empty() { String::new() } else { format!(" (at `{}`)", error.path) };
            ProjectError::Invalid { path: path.clone(), message: format!("line {}, column {}{at}: {}", error.at.line, error.at.column, error.message) }
        })?;
        if project.api_version != crate::scenario::API_VERSION || project.kind != "Project" {
            return Err(ProjectError::Invalid { path, message: format!("expected `apiVersion: {}` and `kind: Project`", crate::scenario::API_VERSION) });
        }
        for (name, spec) in &project.environments {
            if let EnvironmentSpec::Aws(aws) = spec
                && (aws.account.len() != 12 || !aws.account.chars().all(|c| c.is_ascii_digit()))
            {
                return Err(ProjectError::Invalid { path, message: format!("environment `{name}`: `{}` is not a 12-digit account id (quote it)", aws.account) });
            }
        }
        // The journal names a run's environment, and the reports (and
        // history) take a run on `sim` for a simulated one, in virtual time:
        // `sim` may be given a topology, but never name a real environment.
        if let Some(spec) = project.environments.get(SIMULATOR)
            && !matches!(spec, EnvironmentSpec::Sim { .. })
        {
            let at = tree.locate(&yaml_tree::Path::root().key("environments").key(SIMULATOR));
            let kind = if matches!(spec, EnvironmentSpec::Local) { "local" } else { "aws" };
            return Err(ProjectError::Invalid {
                path,
                message: format!(
                    "line {}, column {}: environment `{SIMULATOR}` is of kind `{kind}`, but `{SIMULATOR}` names the built-in simulator: journals and reports take a run on `{SIMULATOR}` for a simulated one\n  = hint: give this environment another name (a project may redefine `{SIMULATOR}` only as `kind: sim`, to set its topology)",
                    at.line, at.column
                ),
            });
        }
        Ok(Some(project))
    }

    /// Finds an environment by name; `sim` and `local` are built in.
    pub fn environment(project: Option<&Project>, name: &str) -> Result<EnvironmentSpec, ProjectError> {
        if let Some(spec) = project.and_then(|p| p.environments.get(name)) {
            return Ok(spec.clone());
        }
        match name {
            SIMULATOR => Ok(EnvironmentSpec::Sim { topology: None }),
            "local" => Ok(EnvironmentSpec::Local),
            _ => {
                let mut known = vec!["sim".to_string(), "local".to_string()];
                known.extend(project.into_iter().flat_map(|p| p.environments.keys().cloned()));
                known.sort();
                known.dedup();
                Err(ProjectError::UnknownEnvironment { name: name.to_string(), known })
            }
        }
    }
}
