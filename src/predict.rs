//! The twin's prediction: a scenario run on a simulator topology (the
//! account imported by `gameday sim import`, or any other) for several
//! seeds before anything real happens, summarised per expectation as
//! distributions of detection and recovery times beside the deadline.
//!
//! What the simulator cannot model (a `command` fault or probe, an alarm the
//! topology lacks) is taken out of the twin's copy of the scenario, with
//! everything that depends on it, and listed as not predicted: a prediction
//! never silently covers less than the scenario says.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::environment::sim::{SimEnvironment, Topology};
use crate::environment::{Environment, Millis};
use crate::history::Distribution;
use crate::journal::Journal;
use crate::run::clock::{Interrupt, VirtualClock};
use crate::run::metrics::{ExpectationKind, ExpectationResult};
use crate::run::{Outcome, RunConfig, RunResult, Runner, Silent};
use crate::scenario::{FaultAction, ProbeCheck, Scenario, StopCondition};

/// The file a run keeps its prediction in, beside `result.json`.
pub const PREDICTION_FILE: &str = "prediction.json";

/// `prediction.json`'s format version.
pub const SCHEMA_VERSION: u32 = 1;

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// Seeds predicted when the command line names no number.
pub const DEFAULT_SEEDS: u64 = 20;

/// Something of the scenario the twin does not predict, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotPredicted {
    pub what: String,
    pub why: String,
}

/// A distribution over seeds, in milliseconds (nearest rank, as `history`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub seeds: usize,
    pub median: Millis,
    pub p90: Millis,
    pub min: Millis,
    pub max: Millis,
}

impl Spread {
    fn of(values: &[Millis]) -> Option<Spread> {
        Distribution::of(values).map(|d| Spread { seeds: d.n, median: d.median, p90: d.p90, min: d.min, max: d.max })
    }
}

/// One expectation as the twin predicts it over every seed it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictedExpectation {
    pub name: String,
    /// For `FailsOver`, "recovery" is the failover: when the last client moved.
    pub kind: ExpectationKind,
    /// After the clock's start, as every renderer shows deadlines.
    pub deadline: Millis,
    /// `detected_within`, when the expectation has one.
    pub detect_deadline: Option<Millis>,
    /// Whether the expectation names `detected_by` signals the twin kept.
    pub detection_measured: bool,
    /// Time to detect, over the seeds in which a signal fired.
    pub detection: Option<Spread>,
    /// Seeds in which no signal fired (when detection is measured).
    pub undetected: usize,
    /// Time to recover (for a failover: to fail over), over the seeds in
    /// which the probes failed and recovered (the clients moved).
    pub recovery: Option<Spread>,
    /// Seeds in which the probes never failed.
    pub no_impact: usize,
    /// Seeds in which the probes failed and had not recovered by the run's end.
    pub not_recovered: usize,
    /// Seeds in which the expectation was missed, for any reason.
    pub missed: usize,
    /// Seeds run to the end.
    pub seeds: usize,
}

/// What the twin says of a scenario; a run keeps it as `prediction.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// `prediction.json`'s format version.
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// The twin it ran on: a topology file, or the account imported when.
    #[serde(default)]
    pub twin: String,
    /// The seeds run, in order.
    pub seeds: Vec<u64>,
    pub expectations: Vec<PredictedExpectation>,
    pub not_predicted: Vec<NotPredicted>,
    /// Seeds whose run did not get to measure (refused by a guard, a fault
    /// that found no target, …), each with its outcome.
    pub stopped: Vec<(u64, String)>,
}

/// The scenario as the twin can run it, and what had to be taken out.
pub fn twin_scenario(scenario: &Scenario, env: &mut SimEnvironment) -> (Scenario, Vec<NotPredicted>) {
    let mut twin = scenario.clone();
    let mut not = Vec::new();
    let mut gone_probes = BTreeSet::new();
    twin.steady_state.retain(|probe| match env.supports_probe(probe) {
        Ok(()) => true,
        Err(error) => {
            let why = match &probe.check {
                ProbeCheck::Command { .. } => "a command probe runs on this machine, not in the simulated account".to_string(),
                _ => error.to_string(),
            };
            not.push(NotPredicted { what: format!("probe `{}`", probe.name), why });
            gone_probes.insert(probe.name.clone());
            false
        }
    });
    let mut gone_faults = BTreeSet::new();
    twin.faults.retain(|fault| {
        // The simulator would run a command fault's shell for real: a prediction makes no side effect.
        if matches!(fault.action, FaultAction::Command { .. }) {
            not.push(NotPredicted { what: format!("fault `{}`", fault.name), why: "a command fault acts on this machine, which the twin does not model".into() });
            gone_faults.insert(fault.name.clone());
            false
        } else {
            true
        }
    });
    let faults = scenario.faults.clone();
    twin.expected_recoveries.retain(|e| {
        let fault = e.reference_fault(&faults);
        if let Some(probe) = e.probes.iter().find(|p| gone_probes.contains(*p)) {
            not.push(NotPredicted { what: format!("expectation `{}`", e.name), why: format!("its probe `{probe}` is not predicted") });
            false
        } else if gone_faults.contains(fault) {
            not.push(NotPredicted { what: format!("expectation `{}`", e.name), why: format!("its fault `{fault}` is not predicted") });
            false
        } else {
            true
        }
    });
    let probes: BTreeSet<String> = twin.steady_state.iter().map(|p| p.name.clone()).collect();
    let has_alarm = |env: &SimEnvironment, name: &str| env.world().alarms.iter().any(|a| crate::environment::alarm_matches(name, &a.spec.name));
    for e in &mut twin.expected_recoveries {
        let name = e.name.clone();
        e.detected_by.retain(|signal| {
            if probes.contains(signal) || has_alarm(env, signal) {
                return true;
            }
            let why = if gone_probes.contains(signal) { "a probe the twin does not predict".to_string() } else { "no such alarm in the twin's topology".to_string() };
            not.push(NotPredicted { what: format!("detection by `{signal}` (expectation `{name}`)"), why });
            false
        });
        if e.detected_by.is_empty() {
            e.detected_within = None;
        }
    }
    twin.guards.stop_conditions.retain(|condition| {
        let kept = match condition {
            StopCondition::Alarm { alarm } => has_alarm(env, alarm),
            StopCondition::ProbeFailing { probe, .. } | StopCondition::ProbeErrorRate { probe, .. } => probes.contains(probe),
        };
        if !kept {
            not.push(NotPredicted { what: format!("stop condition {}", condition.label()), why: "it watches something the twin does not model".into() });
        }
        kept
    });
    (twin, not)
}

/// What one run saw of an expectation's recovery, as the prediction counts
/// it; the report sorts a real run's measurement the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// The probes never failed.
    NoImpact,
    /// Recovered (a failover: every client moved) this long after the clock's start.
    After(Millis),
    /// Still failing at the end (a failover: a client never moved).
    NotRecovered,
}

pub fn recovery(e: &ExpectationResult) -> Recovery {
    if e.kind == ExpectationKind::FailsOver {
        // The clients' move is the point of a failover, and it shows as failing probes, not as an impact.
        return e.failover.as_ref().and_then(|f| f.time_to_fail_over).map_or(Recovery::NotRecovered, Recovery::After);
    }
    match (e.impact_start, e.time_to_recover) {
        (None, _) => Recovery::NoImpact,
        (Some(_), Some(t)) => Recovery::After(t),
        (Some(_), None) => Recovery::NotRecovered,
    }
}

impl Prediction {
    /// Per expectation the twin predicted a recovery time for and the run
    /// measured one: the run's time to recover (a failover: to fail over)
    /// minus the twin's median, in milliseconds, signed (positive: slower
    /// than the twin's median). The reports' "Measured − predicted median"
    /// and `history`'s twin prediction error (docs/metrics.md).
    pub fn errors(&self, result: &RunResult) -> BTreeMap<String, i64> {
        result
            .expectations
            .iter()
            .filter_map(|e| {
                let predicted = self.expectations.iter().find(|p| p.name == e.name)?.recovery.as_ref()?;
                match recovery(e) {
                    Recovery::After(measured) => Some((e.name.clone(), signed_difference(measured, predicted.median))),
                    Recovery::NoImpact | Recovery::NotRecovered => None,
                }
            })
            .collect()
    }
}

/// `a − b` in milliseconds, signed, saturating.
pub fn signed_difference(a: Millis, b: Millis) -> i64 {
    i64::try_from(i128::from(a) - i128::from(b)).unwrap_or(if a > b { i64::MAX } else { i64::MIN })
}

/// One seed of the twin: the run's expectations, or how it stopped.
async fn run_seed(scenario: &Scenario, topology: &Topology, seed: u64, now: jiff::Timestamp) -> Result<Vec<ExpectationResult>, String> {
    let mut env = SimEnvironment::new(topology, seed);
    let runner = Runner::new(scenario, &mut env, VirtualClock::default(), Silent, Journal::in_memory(), RunConfig::new(seed, now), Interrupt::new());
    let finished = runner.run().await;
    match finished.result.outcome {
        Outcome::HypothesisHeld | Outcome::RecoveryMissed { .. } => Ok(finished.result.expectations),
        other => Err(other.summary()),
    }
}

/// Runs the scenario on the twin for every seed (in parallel, one thread
/// per core: each seed is its own world and its own virtual clock, so the
/// result does not depend on how they are spread) and summarises it.
pub fn predict(scenario: &Scenario, topology: &Topology, twin_name: &str, seeds: &[u64], now: jiff::Timestamp) -> Prediction {
    let mut probe_env = SimEnvironment::new(topology, 0);
    let (twin, not_predicted) = twin_scenario(scenario, &mut probe_env);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(seeds.len().max(1));
    let chunks: Vec<&[u64]> = seeds.chunks(seeds.len().div_ceil(threads).max(1)).collect();
    let outcomes: Vec<(u64, Result<Vec<ExpectationResult>, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let twin = &twin;
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build();
                    chunk
                        .iter()
                        .map(|&seed| {
                            let result = match &runtime {
                                Ok(runtime) => runtime.block_on(run_seed(twin, topology, seed, now)),
                                Err(error) => Err(format!("could not start a runtime: {error}")),
                            };
                            (seed, result)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(&chunks)
            .flat_map(|(handle, chunk)| {
                // A seed that panicked is said, with every seed of its thread, never dropped.
                handle.join().unwrap_or_else(|_| chunk.iter().map(|&seed| (seed, Err("the twin's run panicked (please report it)".to_string()))).collect())
            })
            .collect()
    });
    let mut stopped = Vec::new();
    let mut runs = Vec::new();
    for (seed, outcome) in outcomes {
        match outcome {
            Ok(expectations) => runs.push(expectations),
            Err(why) => stopped.push((seed, why)),
        }
    }
    let expectations = twin
        .expected_recoveries
        .iter()
        .map(|spec| {
            let results: Vec<&ExpectationResult> = runs.iter().filter_map(|r| r.iter().find(|e| e.name == spec.name)).collect();
            let detections: Vec<Millis> = results.iter().filter_map(|e| e.time_to_detect).collect();
            let recoveries: Vec<Recovery> = results.iter().map(|e| recovery(e)).collect();
            let after: Vec<Millis> = recoveries.iter().filter_map(|r| if let Recovery::After(t) = r { Some(*t) } else { None }).collect();
            PredictedExpectation {
                name: spec.name.clone(),
                kind: results.first().map_or(ExpectationKind::RecoversWithin, |e| e.kind),
                deadline: results.first().map_or(spec.within().as_millis(), |e| e.deadline_after_fault()),
                detect_deadline: spec.detected_within.map(|d| d.as_millis()),
                detection_measured: !spec.detected_by.is_empty(),
                detection: Spread::of(&detections),
                undetected: if spec.detected_by.is_empty() { 0 } else { results.len() - detections.len() },
                recovery: Spread::of(&after),
                no_impact: recoveries.iter().filter(|r| matches!(r, Recovery::NoImpact)).count(),
                not_recovered: recoveries.iter().filter(|r| matches!(r, Recovery::NotRecovered)).count(),
                missed: results.iter().filter(|e| !e.met).count(),
                seeds: results.len(),
            }
        })
        .collect();
    Prediction { schema_version: SCHEMA_VERSION, twin: twin_name.to_string(), seeds: seeds.to_vec(), expectations, not_predicted, stopped }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = "apiVersion: gameday/v1
name: predict-me
guards:
  stop_conditions:
    - alarm: nope
steady_state:
  - { name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 6, interval: 10s }
  - { name: shell, kind: command, run: \"true\", interval: 10s }
faults:
  - { name: lose-a, kind: az_outage, zone: us-east-1a, mode: power, groups: [web-asg], duration: 10m }
  - { name: touch, kind: command, inject: \"touch /tmp/never\", revert: \"true\", duration: 1m }
expected_recoveries:
  - { name: capacity back, probes: [capacity], recovers_within: 2m, detected_by: [web-unhealthy-hosts, shell, gone-alarm] }
  - { name: shell back, probes: [shell], recovers_within: 2m }
  - { name: after touch, probes: [capacity], after_fault: touch, recovers_within: 2m }
";

    fn prediction(seeds: &[u64]) -> Prediction {
        let scenario = crate::scenario::parse_str(SCENARIO, None).unwrap();
        predict(&scenario, &Topology::default_topology().unwrap(), "the built-in topology", seeds, jiff::Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn what_the_simulator_cannot_model_is_listed_not_run() {
        let p = prediction(&[1]);
        let said: Vec<String> = p.not_predicted.iter().map(|n| n.what.clone()).collect();
        assert_eq!(
            said,
            [
                "probe `shell`",
                "fault `touch`",
                "expectation `shell back`",
                "expectation `after touch`",
                "detection by `shell` (expectation `capacity back`)",
                "detection by `gone-alarm` (expectation `capacity back`)",
                "stop condition alarm `nope`"
            ]
        );
        assert_eq!(p.expectations.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["capacity back"]);
    }

    #[test]
    fn capacity_comes_back_in_40_seconds_on_every_seed() {
        // docs/simulator.md's worked example: group round (≤ 10 s) + launch (30 s), on a 10 s probe.
        let p = prediction(&(1..=5).collect::<Vec<_>>());
        let e = &p.expectations[0];
        assert_eq!((e.seeds, e.missed, e.no_impact, e.not_recovered), (5, 0, 0, 0));
        assert_eq!(e.recovery, Some(Spread { seeds: 5, median: 40_000, p90: 40_000, min: 40_000, max: 40_000 }));
        assert!(e.detection_measured);
        let detection = e.detection.as_ref().expect("the unhealthy-hosts alarm fires on the booting replacements");
        assert!(detection.min <= detection.median && detection.median <= detection.p90 && detection.p90 <= detection.max);
        assert_eq!(e.deadline, 120_000);
    }

    #[test]
    fn a_prediction_reads_back_from_its_file() {
        let p = prediction(&[1, 2]);
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Prediction>(&text).unwrap(), p);
    }

    #[test]
    fn the_same_seeds_predict_the_same() {
        assert_eq!(prediction(&[1, 2, 3]), prediction(&[1, 2, 3]));
    }
}
