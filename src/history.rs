//! Across game days: past runs read back from a runs directory, recovery
//! times as distributions, and which scenarios are overdue for their
//! cadence. `scan` reads files; everything else here is pure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::environment::Millis;
use crate::journal::Record;
use crate::run::{Outcome, RunResult};
use crate::scenario::{Cadence, Scenario};

/// Fewer runs than this, and `history` claims no trend.
pub const TREND_MIN_RUNS: usize = 5;

/// One finished run found in a runs directory.
#[derive(Clone, Debug)]
pub struct PastRun {
    pub dir: PathBuf,
    pub started: jiff::Timestamp,
    pub result: RunResult,
    /// Per expectation, the run's time to recover minus the median its twin
    /// predicted (a run made with `--predict`; `predict::Prediction::errors`).
    /// `scan` leaves it empty: the prediction is read by the layer that knows its format.
    pub twin_errors: BTreeMap<String, i64>,
}

impl PastRun {
    /// The game day happened: injection started. A run refused before any
    /// side effect (by a guard, or stopped before its first fault) counts
    /// neither for the cadence nor in the figures; it is listed apart.
    pub fn counts_for_cadence(&self) -> bool {
        self.result.injection_started_at.is_some()
    }

    /// What the run says about the hypothesis.
    pub fn verdict(&self) -> Verdict {
        match (&self.result.outcome, self.counts_for_cadence()) {
            (_, false) => Verdict::Refused,
            (Outcome::HypothesisHeld, true) => Verdict::Held,
            (Outcome::RecoveryMissed { .. }, true) => Verdict::Missed,
            (_, true) => Verdict::Inconclusive,
        }
    }
}

/// What one run says about its scenario's hypothesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every expected recovery was met.
    Held,
    /// An expected recovery was missed.
    Missed,
    /// It injected but ended otherwise (a guard stopped it mid-way, a fault
    /// did not take effect, an interruption, an error): it neither passes
    /// nor fails the hypothesis.
    Inconclusive,
    /// It never injected: a guard refused it, or it stopped before its first fault.
    Refused,
}

/// A change of verdict between a scenario's runs: what a history of game
/// days is for. Judged between runs that held or missed, in time order;
/// inconclusive and refused runs are passed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// It held before and missed in this run.
    IssueDiscovered,
    /// It missed before and held in this run.
    IssueFixed,
}

impl Transition {
    pub fn text(self) -> &'static str {
        match self {
            Transition::IssueDiscovered => "issue discovered (held before, missed here)",
            Transition::IssueFixed => "issue fixed (missed before, held here)",
        }
    }
}

/// One run of a scenario as history lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunLine {
    pub started: jiff::Timestamp,
    pub seed: u64,
    pub verdict: Verdict,
    /// Why, for a run that did not hold: its outcome in words.
    pub detail: String,
    pub transition: Option<Transition>,
}

/// Each run's verdict and the transitions between them, oldest first.
pub fn run_lines(runs: &[&PastRun]) -> Vec<RunLine> {
    let mut last: Option<Verdict> = None;
    runs.iter()
        .map(|run| {
            let verdict = run.verdict();
            let transition = match (last, verdict) {
                (Some(Verdict::Held), Verdict::Missed) => Some(Transition::IssueDiscovered),
                (Some(Verdict::Missed), Verdict::Held) => Some(Transition::IssueFixed),
                _ => None,
            };
            if matches!(verdict, Verdict::Held | Verdict::Missed) {
                last = Some(verdict);
            }
            let detail = if verdict == Verdict::Held { String::new() } else { run.result.outcome.summary() };
            RunLine { started: run.started, seed: run.result.seed, verdict, detail, transition }
        })
        .collect()
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
    Some(PastRun { dir: dir.to_path_buf(), started, result, twin_errors: BTreeMap::new() })
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
    pub seed: u64,
    /// The deadline this run was judged against (the scenario may have changed since).
    pub deadline: Millis,
    /// Time to recover; `None` when it did not recover within the run.
    pub recovery: Option<Millis>,
    /// Time to detect (by a `detected_by` signal); `None` when not detected or not measured.
    pub detection: Option<Millis>,
    pub met: bool,
    /// The run's `prediction_error`: time to recover minus the team's `predicted`.
    pub team_error: Option<i64>,
    /// Time to recover minus the twin's median (a run made with `--predict`).
    pub twin_error: Option<i64>,
}

/// Prediction errors over runs (measured − predicted, signed: positive is
/// slower than predicted), nearest-rank like [`Distribution`].
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorSpread {
    pub n: usize,
    pub median: i64,
    /// The error furthest from zero, with its sign.
    pub largest: i64,
}

impl ErrorSpread {
    pub fn of(errors: &[i64]) -> Option<ErrorSpread> {
        let mut sorted = errors.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let median = *sorted.get(((0.5 * n as f64).ceil() as usize).clamp(1, n.max(1)) - 1)?;
        let largest = sorted.iter().copied().max_by_key(|e| e.unsigned_abs())?;
        Some(ErrorSpread { n, median, largest })
    }
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
    /// The team's prediction error, over the runs that had one.
    pub team_error: Option<ErrorSpread>,
    /// The twin's prediction error, over the runs made with `--predict` that had one.
    pub twin_error: Option<ErrorSpread>,
}

impl ExpectationHistory {
    pub fn passed(&self) -> usize {
        self.points.iter().filter(|p| p.met).count()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioHistory {
    pub scenario: String,
    /// Runs that injected: the ones the figures are made of.
    pub runs: usize,
    /// Runs that never injected (see `Verdict::Refused`), counted apart.
    pub refused: usize,
    pub last_run: jiff::Timestamp,
    /// Every run, refused ones included, oldest first.
    pub lines: Vec<RunLine>,
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
        .map(|(scenario, all)| {
            let lines = run_lines(&all);
            let refused = all.len() - all.iter().filter(|r| r.counts_for_cadence()).count();
            // The last game day that happened; the last refusal when none did.
            let last_run = all.iter().rev().find(|r| r.counts_for_cadence()).or(all.last()).map_or(jiff::Timestamp::UNIX_EPOCH, |r| r.started);
            let runs: Vec<&PastRun> = all.into_iter().filter(|r| r.counts_for_cadence()).collect();
            let mut order: Vec<String> = Vec::new();
            for run in runs.iter().rev() {
                for e in &run.result.expectations {
                    if !order.contains(&e.name) {
                        order.push(e.name.clone());
                    }
                }
            }
            let expectations: Vec<ExpectationHistory> = order
                .into_iter()
                .map(|name| {
                    // A run in which the expectation's fault never started did not measure it.
                    let started = |r: &PastRun, fault: &str| r.result.faults.iter().any(|f| f.name == fault && f.started_at.is_some());
                    let measured: Vec<(&PastRun, &crate::run::metrics::ExpectationResult)> =
                        runs.iter().filter_map(|r| r.result.expectations.iter().find(|e| e.name == name && started(r, &e.fault)).map(|e| (*r, e))).collect();
                    let points: Vec<Point> = measured
                        .iter()
                        .map(|(run, e)| Point {
                            started: run.started,
                            seed: run.result.seed,
                            deadline: e.deadline_after_fault(),
                            recovery: if e.impact_start.is_some() && e.recovered_at.is_none() { None } else { e.time_to_recover },
                            detection: e.time_to_detect,
                            met: e.met,
                            team_error: e.prediction_error,
                            twin_error: run.twin_errors.get(&e.name).copied(),
                        })
                        .collect();
                    let team_errors: Vec<i64> = points.iter().filter_map(|p| p.team_error).collect();
                    let twin_errors: Vec<i64> = points.iter().filter_map(|p| p.twin_error).collect();
                    let values: Vec<Millis> = points.iter().filter_map(|p| p.recovery).collect();
                    let detections: Vec<Millis> = points.iter().filter_map(|p| p.detection).collect();
                    let deadline = measured.last().map_or(0, |(_, e)| e.deadline_after_fault());
                    ExpectationHistory {
                        name,
                        deadline,
                        distribution: Distribution::of(&values),
                        detection: Distribution::of(&detections),
                        team_error: ErrorSpread::of(&team_errors),
                        twin_error: ErrorSpread::of(&twin_errors),
                        points,
                    }
                })
                .collect();
            let expectations = expectations.into_iter().filter(|e| !e.points.is_empty()).collect();
            ScenarioHistory { scenario: scenario.to_string(), runs: runs.len(), refused, last_run, lines, expectations }
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
    /// Runs of the scenario that never injected: they do not count as game days.
    pub refused: usize,
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
            let refused = runs.iter().filter(|r| r.result.scenario == scenario.name && !r.counts_for_cadence()).count();
            Some(Due { scenario: scenario.name.clone(), file: file.clone(), cadence, last_run, due_at, overdue, refused })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_spread_keeps_the_sign_of_its_median_and_of_its_largest_error() {
        assert_eq!(ErrorSpread::of(&[]), None);
        assert_eq!(ErrorSpread::of(&[20_000]), Some(ErrorSpread { n: 1, median: 20_000, largest: 20_000 }));
        assert_eq!(ErrorSpread::of(&[20_000, -45_000, 5_000]), Some(ErrorSpread { n: 3, median: 5_000, largest: -45_000 }));
        assert_eq!(ErrorSpread::of(&[-10_000, 30_000, 10_000, 0]), Some(ErrorSpread { n: 4, median: 0, largest: 30_000 }));
    }

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

    fn past(outcome: &str, injected: bool, day: u32) -> PastRun {
        let json = format!(
            r#"{{"schema_version":2,"scenario":"s","title":null,"environment":"sim","account":"1","seed":{day},"outcome":{outcome},"exit_code":0,"duration_ms":1,"injection_started_at":{},"faults":[],"expectations":[],"probes":[]}}"#,
            if injected { "0" } else { "null" }
        );
        let started = format!("2026-12-{day:02}T10:00:00Z").parse().unwrap();
        PastRun { dir: PathBuf::from(format!("runs/{day}")), started, result: serde_json::from_str(&json).unwrap(), twin_errors: BTreeMap::new() }
    }

    #[test]
    fn transitions_are_judged_between_runs_that_held_or_missed() {
        let held = r#"{"kind":"hypothesis_held"}"#;
        let missed = r#"{"kind":"recovery_missed","expectations":["e"]}"#;
        let stopped = r#"{"kind":"interrupted"}"#;
        let runs = [past(missed, true, 1), past(held, true, 2), past(stopped, true, 3), past(held, false, 4), past(missed, true, 5), past(missed, true, 6), past(held, true, 7)];
        let lines = run_lines(&runs.iter().collect::<Vec<_>>());
        let seen: Vec<(Verdict, Option<Transition>)> = lines.iter().map(|l| (l.verdict, l.transition)).collect();
        use Transition::*;
        use Verdict::*;
        assert_eq!(
            seen,
            [(Missed, None), (Held, Some(IssueFixed)), (Inconclusive, None), (Refused, None), (Missed, Some(IssueDiscovered)), (Missed, None), (Held, Some(IssueFixed))]
        );
        let history = &summarize(&runs)[0];
        assert_eq!((history.runs, history.refused, history.lines.len()), (6, 1, 7));
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
