//! Objectives shared across scenarios: RTO, RPO and availability targets per
//! disruption class, written once in an objectives file and named by
//! expectations (`objective: zone`) instead of repeating their numbers.
//!
//! ```yaml
//! apiVersion: gameday/v1
//! kind: Objectives
//! objectives:
//!   zone: { rto: 5m, rpo: 1m, availability: 99.9 }
//!   region: { rto: 15m }
//! ```
//!
//! Resolution happens when the scenario is read: an expectation that names a
//! class takes the class's RTO as its `recovers_within` and, when it counts
//! requests, `100 − availability` as its `max_impact.error_rate`. Judging and
//! reporting then need nothing else; the objective is kept on the expectation
//! so reports can say which target it was judged against.

use std::collections::BTreeMap;
use std::path::Path as FsPath;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::model::{ExpectedRecovery, Scenario};

/// The file a run directory keeps the objectives in, as they were on the day.
pub const OBJECTIVES_COPY: &str = "objectives.yaml";

/// What kind of disruption an objective is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisruptionClass {
    /// One instance, task or host lost.
    Instance,
    /// One Availability Zone lost or impaired.
    Zone,
    /// A Region lost: failover to another.
    Region,
    /// A dependency (a database, a third-party API) lost or slow.
    Dependency,
}

impl DisruptionClass {
    pub fn name(self) -> &'static str {
        match self {
            DisruptionClass::Instance => "instance",
            DisruptionClass::Zone => "zone",
            DisruptionClass::Region => "region",
            DisruptionClass::Dependency => "dependency",
        }
    }
}

/// The targets for one disruption class.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// Recovery time objective: the deadline of every expectation of this class.
    pub rto: Duration,
    /// Recovery point objective: how much data may be lost. gameday does not
    /// see data, so reports show it as a target for the debrief to check.
    #[serde(default)]
    pub rpo: Option<Duration>,
    /// Share (0–100) of requests that succeed from the fault to recovery;
    /// judged on expectations that count requests (`max_impact.requests`).
    #[serde(default)]
    pub availability: Option<f64>,
}

/// An objectives file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Objectives {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub objectives: BTreeMap<DisruptionClass, Objective>,
}

impl Objectives {
    /// Reads and checks an objectives file. The error names the file, line
    /// and column, and what to change.
    pub fn load(path: &FsPath) -> Result<Objectives, String> {
        Objectives::read(path).map(|(objectives, _)| objectives)
    }

    /// As `load`, with the text read: a run keeps that text, the one it is
    /// judged against, not the file as it may be a moment later.
    pub fn read(path: &FsPath) -> Result<(Objectives, String), String> {
        let text = std::fs::read_to_string(path).map_err(|error| format!("could not read {}: {error}", path.display()))?;
        Objectives::parse(&text, &path.display().to_string()).map(|objectives| (objectives, text))
    }

    /// Parses objectives text; `name` stands for the file in messages,
    /// which say `name:line:column:`, the key, and what to write instead.
    pub fn parse(text: &str, name: &str) -> Result<Objectives, String> {
        let tree = super::yaml_tree::parse(text).map_err(|error| {
            let hint = error.hint.map(|h| format!(" ({h})")).unwrap_or_default();
            format!("{name}:{}:{}: {}{hint}", error.at.line, error.at.column, error.message)
        })?;
        let objectives: Objectives = serde_saphyr::from_str(text).map_err(|error| match error.location() {
            Some(l) => {
                // The position leads the message; serde's own copy of it at the end is dropped.
                let message = error.without_snippet().to_string();
                let message = message.trim_start_matches("error: ");
                let message = message.strip_suffix(&format!(" at line {}, column {}", l.line(), l.column())).unwrap_or(message);
                format!("{name}:{}:{}: {message}", l.line(), l.column())
            }
            None => format!("{name}: {}", error.without_snippet()),
        })?;
        let at = |key: &str| {
            let position = tree.locate(&super::yaml_tree::Path::parse(key));
            format!("{name}:{}:{}", position.line, position.column)
        };
        if objectives.api_version != super::API_VERSION {
            return Err(format!("{}: `apiVersion` is `{}`; write `apiVersion: {}`", at("apiVersion"), objectives.api_version, super::API_VERSION));
        }
        if objectives.kind != "Objectives" {
            return Err(format!("{}: `kind` is `{}`, but this is an objectives file; write `kind: Objectives`", at("kind"), objectives.kind));
        }
        for (class, objective) in &objectives.objectives {
            let key = format!("objectives.{}", class.name());
            if objective.rto.as_millis() == 0 {
                return Err(format!("{}: `{key}.rto` must be longer than zero (e.g. `rto: 5m`)", at(&format!("{key}.rto"))));
            }
            if let Some(a) = objective.availability.filter(|a| !(a.is_finite() && *a > 0.0 && *a <= 100.0)) {
                return Err(format!(
                    "{}: `{key}.availability` is {a}, but it is a percentage of requests that succeed: above 0, at most 100 (e.g. 99.9)",
                    at(&format!("{key}.availability"))
                ));
            }
        }
        Ok(objectives)
    }
}

/// Why a scenario's objectives file could not be used, and the fix.
#[derive(Clone, Debug, PartialEq)]
pub struct Unreadable {
    pub message: String,
    pub hint: String,
}

/// A problem found while resolving: where in the scenario, what, and the fix.
#[derive(Debug, PartialEq)]
pub struct Unresolved {
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Fills in each expectation that names an objective: its deadline from the
/// class's RTO, its error budget from the availability when it counts
/// requests. `objectives` is the scenario's objectives file as read (or the
/// run directory's copy); `None` when the scenario names none.
pub fn resolve(scenario: &mut Scenario, objectives: Option<Result<&Objectives, &Unreadable>>) -> Vec<Unresolved> {
    let mut problems = Vec::new();
    let named: Vec<usize> = scenario.expected_recoveries.iter().enumerate().filter(|(_, e)| e.objective.is_some()).map(|(i, _)| i).collect();
    let objectives = match objectives {
        Some(Ok(objectives)) => objectives,
        Some(Err(why)) => {
            problems.push(Unresolved { path: "objectives".into(), message: why.message.clone(), hint: Some(why.hint.clone()) });
            return problems;
        }
        None => {
            for index in named {
                problems.push(Unresolved {
                    path: format!("expected_recoveries[{index}].objective"),
                    message: "this names an objective, but the scenario names no objectives file".into(),
                    hint: Some("add `objectives: objectives.yaml` (relative to this file) at the top level, or write `recovers_within` instead".into()),
                });
            }
            return problems;
        }
    };
    for index in named {
        let expected = &mut scenario.expected_recoveries[index];
        let Some(class) = expected.objective else { continue };
        let at = format!("expected_recoveries[{index}]");
        let Some(objective) = objectives.objectives.get(&class) else {
            let known: Vec<&str> = objectives.objectives.keys().map(|c| c.name()).collect();
            problems.push(Unresolved {
                path: format!("{at}.objective"),
                message: format!("the objectives file has no `{}` objective", class.name()),
                hint: Some(if known.is_empty() {
                    "add it to the objectives file".to_string()
                } else {
                    format!("add it to the objectives file, or use one it has: {}", known.join(", "))
                }),
            });
            continue;
        };
        if expected.recovers_within.is_some() || expected.stays_healthy {
            let key = if expected.stays_healthy { "stays_healthy" } else { "recovers_within" };
            problems.push(Unresolved {
                path: format!("{at}.{key}"),
                message: format!("`{key}` and `objective` both set the deadline; one expectation has one"),
                hint: Some(format!("remove `{key}` to judge against the `{}` objective's RTO ({}), or remove `objective`", class.name(), objective.rto)),
            });
            continue;
        }
        if let Some(budget) = expected.max_impact.as_ref().filter(|b| b.requests.is_some() && b.error_rate.is_some())
            && let Some(availability) = objective.availability
        {
            problems.push(Unresolved {
                path: format!("{at}.max_impact.error_rate"),
                message: format!(
                    "`max_impact.error_rate` ({}%) and the `{}` objective's availability ({availability}%) both set the error budget; one expectation has one",
                    budget.error_rate.unwrap_or_default(),
                    class.name()
                ),
                hint: Some(format!(
                    "remove `max_impact.error_rate` to judge against {availability}% (a budget of {}% of requests), or remove `objective`",
                    error_budget(availability)
                )),
            });
            continue;
        }
        apply(expected, objective);
    }
    problems
}

fn apply(expected: &mut ExpectedRecovery, objective: &Objective) {
    expected.recovers_within = Some(objective.rto);
    expected.resolved_objective = Some(*objective);
    if let (Some(availability), Some(budget)) = (objective.availability, expected.max_impact.as_mut())
        && budget.requests.is_some()
        && budget.error_rate.is_none()
    {
        budget.error_rate = Some(error_budget(availability));
    }
    // An availability with no request count stays a target the report shows
    // as not judged: the sample share of gameday's probes is not traffic.
}

/// The share of requests that may fail under an availability target, rounded
/// to the precision people write (99.9 → 0.1, not 0.09999999999999432).
pub fn error_budget(availability: f64) -> f64 {
    ((100.0 - availability) * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "apiVersion: gameday/v1\nkind: Objectives\nobjectives:\n  zone: { rto: 5m, rpo: 1m, availability: 99.9 }\n  region: { rto: 15m }\n";

    #[test]
    fn an_objectives_file_reads_with_its_classes() {
        let objectives = Objectives::parse(FILE, "objectives.yaml").unwrap();
        assert_eq!(objectives.objectives[&DisruptionClass::Zone].rto.as_millis(), 300_000);
        assert_eq!(objectives.objectives[&DisruptionClass::Region].availability, None);
    }

    #[test]
    fn a_bad_objectives_file_is_placed_and_explained() {
        let typo = Objectives::parse(&FILE.replace("zone:", "zonee:"), "o.yaml").unwrap_err();
        assert!(typo.starts_with("o.yaml:4:3: "), "{typo}");
        assert!(typo.contains("zonee"), "{typo}");
        let rate = Objectives::parse(&FILE.replace("99.9", "199.9"), "o.yaml").unwrap_err();
        assert!(rate.contains("objectives.zone.availability") && rate.contains("at most 100"), "{rate}");
        let kind = Objectives::parse(&FILE.replace("kind: Objectives", "kind: Project"), "o.yaml").unwrap_err();
        assert!(kind.contains("kind: Objectives"), "{kind}");
    }

    #[test]
    fn the_error_budget_is_the_complement_as_written() {
        assert_eq!(error_budget(99.9), 0.1);
        assert_eq!(error_budget(99.95), 0.05);
        assert_eq!(error_budget(100.0), 0.0);
    }
}
