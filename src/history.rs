//! Across game days: past runs read back from a runs directory, recovery
//! times as distributions, and which scenarios are overdue for their
//! cadence. `scan` reads files; everything else here is pure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::environment::Millis;
use crate::journal::Record;
use crate::run::RunResult;
use crate::scenario::{Cadence, Scenario};

/// Fewer runs than this, and `history` claims no trend.
pub const TREND_MIN_RUNS: usize = 5;

/// One finished run found in a runs directory.
#[derive(Clone, Debug)]
pub struct PastRun {
    pub dir: PathBuf,
    pub started: jiff::Timestamp,
    pub result: RunResult,
}

impl PastRun {
    /// The game day happened: injection started (a run refused before any
    /// side effect does not count for the cadence).
    pub fn counts_for_cadence(&self) -> bool {
        self.result.injection_started_at.is_some()
    }
}

/// Reads every run directory under `runs_dir` that holds a `result.json`
/// and a journal, oldest first. Directories without them (a run still going,
/// or a crash) are skipped and listed in the second value.
pub fn scan(runs_dir: &Path) -> std::io::Result<(Vec<PastRun>, Vec<PathBuf>)> {
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    if !runs_dir.exists() {
        return Ok((runs, skipped));
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs_dir)?.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        match read_run(&dir) {
            Some(run) => runs.push(run),
            None => skipped.push(dir),
        }
    }
    runs.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.dir.cmp(&b.dir)));
    Ok((runs, skipped))
}

fn read_run(dir: &Path) -> Option<PastRun> {
    let mut result: RunResult = serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).ok()?).ok()?;
    migrate(&mut result);
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).ok()?;
    let first: Record = serde_json::from_str(journal.lines().next()?).ok()?;
    let started = first.wall.parse::<jiff::Timestamp>().ok()?;
    Some(PastRun { dir: dir.to_path_buf(), started, result })
}

/// Brings a `result.json` of an older `schema_version` up to this one
/// (docs/reports.md, "Schema versions"). Version 1 had no `from`: every
/// clock started at the fault, so `clock_start` is `fault_start`.
pub fn migrate(result: &mut RunResult) {
    if result.schema_version < 2 {
        for e in &mut result.expectations {
            e.clock_start = e.fault_start;
        }
    }
}

/// Nearest-rank summary: every figure is the value of an actual run.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    pub n: usize,
    pub median: Millis,
    pub p90: Millis,
    pub min: Millis,
    pub max: Millis,
}

impl Distribution {
    pub fn of(values: &[Millis]) -> Option<Distribution> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let rank = |p: f64| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        (n > 0).then(|| Distribution { n, median: rank(0.5), p90: rank(0.9), min: sorted[0], max: sorted[n - 1] })
    }
}

/// One run's measurement of one expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub started: jiff::Timestamp,
    /// Time to recover; `None` when it did not recover within the run.
    pub recovery: Option<Millis>,
    /// Time to detect (by a `detected_by` signal); `None` when not detected or not measured.
    pub detection: Option<Millis>,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExpectationHistory {
    pub name: String,
    /// The deadline in the latest run that measured it.
    pub deadline: Millis,
    /// Oldest first.
    pub points: Vec<Point>,
    /// Of the runs that recovered.
    pub distribution: Option<Distribution>,
    /// Time to detect, of the runs in which a `detected_by` signal fired.
    pub detection: Option<Distribution>,
}

impl ExpectationHistory {
    pub fn passed(&self) -> usize {
        self.points.iter().filter(|p| p.met).count()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioHistory {
    pub scenario: String,
    pub runs: usize,
    pub last_run: jiff::Timestamp,
    pub expectations: Vec<ExpectationHistory>,
}

/// Groups runs by scenario (by name), and each expectation's measurements
/// over those runs, in the order of the latest run.
pub fn summarize(runs: &[PastRun]) -> Vec<ScenarioHistory> {
    let mut by_scenario: BTreeMap<&str, Vec<&PastRun>> = BTreeMap::new();
    for run in runs {
        by_scenario.entry(run.result.scenario.as_str()).or_default().push(run);
    }
    by_scenario
        .into_iter()
        .map(|(scenario, runs)| {
            let mut order: Vec<String> = Vec::new();
            for run in runs.iter().rev() {
                for e in &run.result.expectations {
                    if !order.contains(&e.name) {
                        order.push(e.name.clone());
                    }
                }
            }
            let expectations = order
                .into_iter()
                .map(|name| {
                    let measured: Vec<(&PastRun, &crate::run::metrics::ExpectationResult)> =
                        runs.iter().filter_map(|r| r.result.expectations.iter().find(|e| e.name == name).map(|e| (*r, e))).collect();
                    let points: Vec<Point> = measured
                        .iter()
                        .map(|(run, e)| Point {
                            started: run.started,
                            recovery: if e.impact_start.is_some() && e.recovered_at.is_none() { None } else { e.time_to_recover },
                            detection: e.time_to_detect,
                            met: e.met,
                        })
                        .collect();
                    let values: Vec<Millis> = points.iter().filter_map(|p| p.recovery).collect();
                    let detections: Vec<Millis> = points.iter().filter_map(|p| p.detection).collect();
                    let deadline = measured.last().map_or(0, |(_, e)| e.deadline_after_fault());
                    ExpectationHistory { name, deadline, distribution: Distribution::of(&values), detection: Distribution::of(&detections), points }
                })
                .collect();
            ScenarioHistory { scenario: scenario.to_string(), runs: runs.len(), last_run: runs.last().map_or(jiff::Timestamp::UNIX_EPOCH, |r| r.started), expectations }
        })
        .collect()
}

/// Whether one scenario is due.
#[derive(Clone, Debug, PartialEq)]
pub struct Due {
    pub scenario: String,
    pub file: PathBuf,
    pub cadence: Cadence,
    /// The last run that injected (see `PastRun::counts_for_cadence`).
    pub last_run: Option<jiff::Timestamp>,
    /// When the next run is due: the last run plus the cadence's period.
    pub due_at: Option<jiff::Timestamp>,
    pub overdue: bool,
}

/// Judges every scenario that has a cadence at time `now`.
pub fn due(scenarios: &[(PathBuf, Scenario)], runs: &[PastRun], now: jiff::Timestamp) -> Vec<Due> {
    scenarios
        .iter()
        .filter_map(|(file, scenario)| {
            let cadence = scenario.cadence?;
            let last_run = runs.iter().filter(|r| r.result.scenario == scenario.name && r.counts_for_cadence()).map(|r| r.started).max();
            let period = jiff::SignedDuration::from_millis(i64::try_from(cadence.period().as_millis()).unwrap_or(i64::MAX));
            let due_at = last_run.and_then(|t| t.checked_add(period).ok());
            let overdue = due_at.is_none_or(|d| now > d);
            Some(Due { scenario: scenario.name.clone(), file: file.clone(), cadence, last_run, due_at, overdue })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_1_result_is_read_and_migrated() {
        // Version 1 wrote `detected_by` as text and had no clock fields.
        let v1 = r#"{"schema_version":1,"scenario":"s","title":null,"environment":"sim","account":"1","seed":1,"outcome":{"kind":"hypothesis_held"},"exit_code":0,"duration_ms":400000,"injection_started_at":0,"faults":[],
            "expectations":[{"name":"e","probes":["p"],"fault":"f","fault_start":10000,"deadline":310000,"impact_start":20000,"detected_at":40000,"detected_by":"alarm web-5xx","detection_signals":["web-5xx"],
            "recovered_at":70000,"time_to_detect":30000,"detected_after_impact":20000,"time_to_recover":60000,"impact_duration":50000,"downtime":40000,"error_rate":10.0,"predicted":null,"prediction_error":null,"met":true,"misses":[]}],
            "probes":[{"name":"p","kind":"http","samples":1,"failures":0,"availability":100.0,"max_latency_ms":1}]}"#;
        let mut result: RunResult = serde_json::from_str(v1).unwrap();
        migrate(&mut result);
        let e = &result.expectations[0];
        assert_eq!(e.detected_by, Some(crate::run::metrics::Signal::Alarm("web-5xx".into())));
        assert_eq!((e.clock_start, e.deadline_after_fault(), e.after_fault(70_000)), (10_000, 300_000, 60_000));
        assert_eq!(e.kind, crate::run::metrics::ExpectationKind::RecoversWithin);
    }

    #[test]
    fn nearest_rank_percentiles_are_values_of_runs() {
        let d = Distribution::of(&[40, 10, 30, 20, 1000]).unwrap();
        assert_eq!((d.n, d.median, d.p90, d.min, d.max), (5, 30, 1000, 10, 1000));
        let d = Distribution::of(&[5]).unwrap();
        assert_eq!((d.median, d.p90), (5, 5));
        assert!(Distribution::of(&[]).is_none());
    }
}
