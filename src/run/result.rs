//! Rebuilding a run's result from its journal. `Runner::finish` and
//! `gameday report` both call [`result_from_records`], so `result.json`
//! written at the end of a run and one rendered again later from the run
//! directory cannot disagree.
//!
//! Pure: records and the scenario in, a `RunResult` out. The result's types
//! (`result.json`'s shape) live here too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::environment::Millis;
use crate::probe::ProbeHistory;
use crate::scenario::{AlarmState, Scenario};

use super::Outcome;
use super::metrics::{self, ExpectationResult};
use crate::journal::{Event, Records};

/// Version of `result.json`; bumped on any incompatible change. 2: typed
/// `detected_by`, expectation kinds and clocks (docs/metrics.md); an
/// expectation's `error_rate` counts requests (`null` without a count), and
/// the sample share is `probe_error_rate` (docs/reports.md).
pub const RESULT_SCHEMA_VERSION: u32 = 2;

/// What happened to one fault.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FaultResult {
    pub name: String,
    pub kind: String,
    /// When gameday started making the fault (its `fault_intent` record):
    /// the fault's start, from which its impact and detection count.
    pub started_at: Option<Millis>,
    /// When the call that made it returned (`fault_applied`); the same as
    /// `started_at` but for a call that takes its time.
    #[serde(default)]
    pub in_place_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub targets: Vec<String>,
    pub zones: Vec<String>,
    pub reverted: bool,
    /// Resources the revert found already gone, with why.
    pub revert_skipped: Vec<(String, String)>,
    pub error: Option<String>,
}

impl FaultResult {
    /// A fault before anything happened to it.
    pub fn not_started(fault: &crate::scenario::Fault) -> Self {
        FaultResult {
            name: fault.name.clone(),
            kind: fault.action.kind_name().into(),
            started_at: None,
            in_place_at: None,
            ended_at: None,
            targets: vec![],
            zones: vec![],
            reverted: false,
            revert_skipped: vec![],
            error: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProbeSummary {
    pub name: String,
    pub kind: String,
    pub samples: usize,
    pub failures: usize,
    /// Share (0–100) of samples that passed.
    pub availability: f64,
    pub max_latency_ms: Millis,
    /// The probe is meant to fail while a fault is in place (`expected_during_fault`).
    #[serde(default)]
    pub expected_during_fault: bool,
}

/// `result.json`: everything measured, and nothing that varies between two
/// runs with the same seed (wall-clock times live in the journal and report).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    pub schema_version: u32,
    pub scenario: String,
    pub title: Option<String>,
    pub environment: String,
    pub account: String,
    pub seed: u64,
    pub outcome: Outcome,
    pub exit_code: u8,
    /// From the start of the run to its end.
    pub duration_ms: Millis,
    /// When injection started (after the steady-state check).
    pub injection_started_at: Option<Millis>,
    pub faults: Vec<FaultResult>,
    pub expectations: Vec<ExpectationResult>,
    pub probes: Vec<ProbeSummary>,
    /// The people's side of a drill (`gameday drill`); absent for a plain run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<crate::drill::measure::DrillResult>,
    /// Each Region switch plan execution that ended, ARC's recovery time
    /// beside gameday's (docs/metrics.md, "Region switch recovery").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_switches: Vec<RegionSwitchResult>,
    /// Each zonal autoshift practice run whose outcome gameday read, beside
    /// what gameday's probes saw meanwhile (docs/metrics.md, "Practice run").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub practice_runs: Vec<PracticeRunResult>,
}

impl RunResult {
    /// Whether the built-in simulator ran it, in virtual time: only the
    /// simulator journals its environment as `sim` (a project may give that
    /// name to no other kind of environment).
    pub fn on_simulator(&self) -> bool {
        self.environment == "sim"
    }
}

/// One `practice_run` step: ARC's outcome beside gameday's client-side figures.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PracticeRunResult {
    pub fault: String,
    /// ARC's zonal shift id of the practice run.
    pub zonal_shift_id: String,
    /// ARC's outcome.
    pub outcome: crate::environment::PracticeRunOutcome,
    /// From the step's start until gameday read the outcome.
    pub duration_ms: Option<Millis>,
    /// Steady-state probe samples sent in that span, and how many failed.
    pub client_samples: usize,
    pub client_failures: usize,
    /// Percent of those samples that succeeded; none without samples.
    pub client_availability: Option<f64>,
    /// The expectations that count from the step, and how many were met.
    pub expectations: usize,
    pub expectations_met: usize,
}

/// One `region_switch` step's execution: how it ended, ARC's
/// `actualRecoveryTime`, gameday's client-side recovery time, and the difference.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RegionSwitchResult {
    pub fault: String,
    pub execution_id: String,
    /// ARC's execution state at its end (`completed`, `canceled`, …).
    pub state: String,
    /// ARC's `actualRecoveryTime` as ARC wrote it.
    pub arc_recovery_time: Option<String>,
    /// The same in milliseconds.
    pub arc_recovery_ms: Option<Millis>,
    /// From the step's start to the latest recovery point of the
    /// expectations that count from it.
    pub gameday_recovery_ms: Option<Millis>,
    /// gameday's figure minus ARC's (positive: clients saw recovery later).
    pub difference_ms: Option<i64>,
}

/// The latest time a journal record can carry: 366 days after the run
/// started. No run that `validate` accepts lasts that long: at most
/// `MAX_FAULTS` faults, each waiting and held for at most
/// `MAX_SCENARIO_DURATION`, then one deadline more (see the test below). A
/// later time means the journal was damaged or edited.
pub const MAX_RUN_TIME: Millis = 366 * 86_400_000;

/// A journal record at a time no run can reach.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("the `{event}` record is at t={t} ms, later than any run can last (366 days, t={max})", max = MAX_RUN_TIME)]
pub struct ImpossibleTime {
    /// Position among the journal's records (0-based).
    pub index: usize,
    /// The record's `event`, as the journal names it.
    pub event: String,
    pub t: Millis,
}

/// The first record whose time (or sample time) is beyond [`MAX_RUN_TIME`].
///
/// Times that go backwards are not impossible: `recover` appends at T+0
/// after a crash, and samples are journaled when they come back, so the
/// renderers take records in any order. Only a time no run can reach is an
/// error, because every figure computed from it would be meaningless.
pub fn impossible_time(records: Records<'_>) -> Option<ImpossibleTime> {
    records.iter().enumerate().find_map(|(index, record)| {
        let sample_time = match &record.event {
            Event::Sample(sample) => sample.sent_at,
            _ => 0,
        };
        let t = record.t.max(sample_time);
        (t > MAX_RUN_TIME).then(|| ImpossibleTime { index, event: record.event.name().to_string(), t })
    })
}

/// Every probe's samples, in journal order, for each probe of the scenario,
/// run-length encoded and exact at each time of `asked` (`metrics::asked_times`).
pub fn probe_histories(scenario: &Scenario, records: Records<'_>, asked: &[Millis]) -> BTreeMap<String, ProbeHistory> {
    let mut histories: BTreeMap<String, ProbeHistory> =
        scenario.steady_state.iter().map(|p| (p.name.clone(), ProbeHistory::cut_at(asked.iter().copied(), p.passes_to_recover()))).collect();
    for record in records.iter() {
        if let Event::Sample(sample) = &record.event
            && let Some(history) = histories.get_mut(&sample.probe)
        {
            history.push(sample);
        }
    }
    histories
}

/// Rebuilds the result of a finished (or crashed) run from its journal.
///
/// The end of the run and why its loop stopped come from the `run_ended`
/// record. A journal without one (a crash, or a run still going) ends at its
/// last record, with an environment error saying so.
pub fn result_from_journal(scenario: &Scenario, records: Records<'_>) -> RunResult {
    let ended = records
        .iter()
        .enumerate()
        .filter_map(|(index, r)| match &r.event {
            Event::RunEnded { stopped, outcome, .. } => Some((index, r.t, stopped.clone(), outcome.clone())),
            _ => None,
        })
        .last();
    match ended {
        Some((index, t, stopped, outcome)) => {
            let stopped = stopped.unwrap_or_else(|| Outcome::EnvironmentError { message: format!("the journal does not say why the run stopped (it ended with: {outcome})") });
            result_from_records(scenario, records.prefix(index), stopped, t)
        }
        _ => {
            let end = records.iter().map(|r| r.t).max().unwrap_or(0);
            let stopped = Outcome::EnvironmentError { message: format!("the run did not finish: its journal ends at T+{} without a `run_ended` record", metrics::fmt_ms(end)) };
            result_from_records(scenario, records, stopped, end)
        }
    }
}

/// The result of a run whose loop stopped with `stopped` at `end`, from the
/// records journaled until then.
pub fn result_from_records(scenario: &Scenario, records: Records<'_>, stopped: Outcome, end: Millis) -> RunResult {
    let (mut environment, mut account, mut seed) = (String::new(), String::new(), 0);
    let mut injection_started_at = None;
    let mut alarm_changes: Vec<(Millis, String, AlarmState)> = Vec::new();
    let mut faults: Vec<FaultResult> = scenario.faults.iter().map(FaultResult::not_started).collect();
    let mut revertible: Vec<bool> = vec![false; faults.len()];
    // When each fault started being made: its start, once it is in place.
    let mut making: Vec<Option<Millis>> = vec![None; faults.len()];
    // Read in this one walk, not one walk each: a long run's journal is mostly samples, and each walk reads it all.
    let (mut plan_ends, mut practice_ends) = (Vec::new(), Vec::new());
    let index_of = |name: &str| scenario.faults.iter().position(|f| f.name == name);

    for record in records.iter() {
        match &record.event {
            Event::RunStarted { environment: e, account: a, seed: s, .. } => {
                (environment, account, seed) = (e.clone(), a.clone(), *s);
            }
            Event::InjectionStarted => injection_started_at = Some(record.t),
            Event::AlarmChanged { alarm, state } => alarm_changes.push((record.t, alarm.clone(), *state)),
            Event::PlanExecutionEnded(ended) => plan_ends.push(ended.clone()),
            Event::PracticeRunEnded(ended) => practice_ends.push(ended.clone()),
            Event::FaultIntent { fault, effect, targets, zones, .. } => {
                if let Some(i) = index_of(fault) {
                    faults[i].targets = targets.iter().map(|c| c.id.clone()).collect();
                    faults[i].zones = zones.clone();
                    revertible[i] = effect.is_revertible();
                    making[i] = Some(record.t);
                }
            }
            Event::FaultApplied { fault } => {
                if let Some(i) = index_of(fault) {
                    faults[i].started_at = Some(making[i].unwrap_or(record.t));
                    faults[i].in_place_at = Some(record.t);
                    // A fault without a duration, or one that cannot be undone, ends as it is made.
                    if scenario.faults[i].duration.is_none() || !revertible[i] {
                        faults[i].ended_at = Some(record.t);
                    }
                }
            }
            Event::FaultFailed { fault, error } => {
                if let Some(i) = index_of(fault) {
                    faults[i].error = Some(error.clone());
                }
            }
            Event::FaultReverted { fault, outcome } => {
                if let Some(i) = index_of(fault) {
                    faults[i].ended_at = Some(record.t);
                    faults[i].reverted = true;
                    faults[i].revert_skipped = outcome.skipped.clone();
                }
            }
            Event::RevertFailed { fault, error } => {
                if let Some(i) = index_of(fault) {
                    faults[i].error = Some(format!("revert failed: {error}"));
                }
            }
            _ => {}
        }
    }

    let spans: metrics::FaultSpans = faults.iter().filter_map(|f| f.started_at.map(|start| (f.name.clone(), metrics::FaultSpan { start, end: f.ended_at }))).collect();
    let judged = injection_started_at.is_some() && !spans.is_empty();
    // The histories are cut at every time the measure asks about (so they
    // answer as every sample would, in memory that grows with the probes'
    // changes of verdict, not with the run's length: issue 18). Those are the
    // faults' times, the run's end and each practice run's span, then the
    // recovery points, which only the histories tell: when one of them cuts a
    // run, the histories are built again from the journal, cut there too.
    let mut base = metrics::fault_times(&spans, end);
    base.extend(practice_ends.iter().map(|end| end.at));
    let mut asked = metrics::asked_times(base.iter().copied());
    let mut histories = probe_histories(scenario, records, &asked);
    if judged {
        let points = metrics::recovery_points(&scenario.expected_recoveries, &scenario.faults, &scenario.steady_state, &histories, &spans, end);
        let more = metrics::asked_times(points);
        if more.iter().any(|t| histories.values().any(|h| !h.exact_at(*t))) {
            asked = metrics::asked_times(asked.into_iter().chain(more));
            // Dropped first, so the two builds are never in memory together.
            drop(std::mem::take(&mut histories));
            histories = probe_histories(scenario, records, &asked);
        }
    }
    let expectations: Vec<ExpectationResult> = if judged {
        scenario.expected_recoveries.iter().map(|e| metrics::evaluate(e, &scenario.faults, &scenario.steady_state, &histories, &alarm_changes, &spans, end)).collect()
    } else {
        Vec::new()
    };
    let missed: Vec<String> = expectations.iter().filter(|e| !e.met).map(|e| format!("{} ({})", e.name, e.misses.join(", "))).collect();
    let outcome = if stopped == Outcome::HypothesisHeld && !missed.is_empty() { Outcome::RecoveryMissed { expectations: missed } } else { stopped };
    let probes = scenario
        .steady_state
        .iter()
        .map(|p| {
            let h = &histories[&p.name];
            let (samples, failures) = (usize::try_from(h.len()).unwrap_or(usize::MAX), usize::try_from(h.failures()).unwrap_or(usize::MAX));
            ProbeSummary {
                name: p.name.clone(),
                kind: p.check.kind_name().into(),
                samples,
                failures,
                availability: if samples == 0 { 100.0 } else { 100.0 * (samples - failures) as f64 / samples as f64 },
                max_latency_ms: h.max_latency(),
                expected_during_fault: p.expected_during_fault,
            }
        })
        .collect();
    let region_switches = plan_ends
        .into_iter()
        .map(|end| {
            let start = faults.iter().find(|f| f.name == end.fault).and_then(|f| f.started_at);
            // A probe that never failed counts as recovered at the step's
            // start (clients saw no outage); one that failed and never
            // recovered leaves gameday's figure unknown.
            let counting: Vec<&ExpectationResult> = expectations.iter().filter(|e| e.fault == end.fault).collect();
            let recovered = (!counting.is_empty())
                .then(|| counting.iter().map(|e| if e.impact_start.is_none() { start } else { e.recovered_at }).collect::<Option<Vec<Millis>>>())
                .flatten()
                .and_then(|r| r.into_iter().max());
            let gameday_recovery_ms = match (start, recovered) {
                (Some(start), Some(recovered)) => Some(recovered.saturating_sub(start)),
                _ => None,
            };
            let difference_ms = match (gameday_recovery_ms, end.actual_recovery_ms) {
                (Some(ours), Some(arcs)) => Some(i64::try_from(ours).unwrap_or(i64::MAX).saturating_sub(i64::try_from(arcs).unwrap_or(i64::MAX))),
                _ => None,
            };
            crate::run::RegionSwitchResult {
                fault: end.fault.clone(),
                execution_id: end.execution_id.clone(),
                state: end.state.clone(),
                arc_recovery_time: end.actual_recovery_time.clone(),
                arc_recovery_ms: end.actual_recovery_ms,
                gameday_recovery_ms,
                difference_ms,
            }
        })
        .collect();
    let practice_runs = practice_ends
        .into_iter()
        .map(|end| {
            let start = faults.iter().find(|f| f.name == end.fault).and_then(|f| f.started_at);
            // What clients saw while the practice run ran: every steady-state
            // probe's samples sent from the step's start until gameday read
            // ARC's outcome (docs/metrics.md, "Practice run").
            let (mut samples, mut failures) = (0usize, 0usize);
            if let Some(start) = start {
                for (all, failed) in histories.values().map(|h| h.counts(start, end.at.saturating_add(1))) {
                    samples = samples.saturating_add(usize::try_from(all).unwrap_or(usize::MAX));
                    failures = failures.saturating_add(usize::try_from(failed).unwrap_or(usize::MAX));
                }
            }
            let counting: Vec<&ExpectationResult> = expectations.iter().filter(|e| e.fault == end.fault).collect();
            crate::run::PracticeRunResult {
                fault: end.fault.clone(),
                zonal_shift_id: end.zonal_shift_id.clone(),
                outcome: end.outcome,
                duration_ms: start.map(|start| end.at.saturating_sub(start)),
                client_samples: samples,
                client_failures: failures,
                client_availability: (samples > 0).then(|| 100.0 * (samples - failures) as f64 / samples as f64),
                expectations: counting.len(),
                expectations_met: counting.iter().filter(|e| e.met).count(),
            }
        })
        .collect();
    let fault_start = faults.iter().filter_map(|f| f.started_at).min();
    let drill = crate::drill::measure::measure(records, fault_start, metrics::system_response(&expectations));
    RunResult {
        schema_version: RESULT_SCHEMA_VERSION,
        scenario: scenario.name.clone(),
        title: scenario.title.clone(),
        environment,
        account,
        seed,
        exit_code: outcome.exit_code(),
        outcome,
        duration_ms: end,
        injection_started_at,
        faults,
        expectations,
        probes,
        drill,
        region_switches,
        practice_runs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Record;
    use crate::scenario::checks::{MAX_FAULTS, MAX_SCENARIO_DURATION};

    #[test]
    fn no_run_validate_accepts_reaches_the_time_cap() {
        let most = MAX_SCENARIO_DURATION.as_millis();
        // Steady state (three attempts, one interval apart), then a chain of
        // faults each delayed and held for the most, then the last deadline.
        let longest_run = 3 * most + MAX_FAULTS as Millis * 2 * most + most;
        assert!(longest_run < MAX_RUN_TIME, "{longest_run} ≥ {MAX_RUN_TIME}");
    }

    #[test]
    fn a_time_beyond_the_cap_is_named_with_its_record() {
        let record = |t| Record { t, wall: String::new(), event: Event::InjectionStarted };
        assert_eq!(impossible_time(Records::of(&[record(5), record(0), record(MAX_RUN_TIME)])), None, "times that go back are not impossible");
        let found = impossible_time(Records::of(&[record(5), record(Millis::MAX)])).expect("u64::MAX is impossible");
        assert_eq!((found.index, found.event.as_str(), found.t), (1, "injection_started", Millis::MAX));
        assert_eq!(found.to_string(), "the `injection_started` record is at t=18446744073709551615 ms, later than any run can last (366 days, t=31622400000)");
    }
}
