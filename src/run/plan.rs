//! What a run would do, resolved against the environment with no side
//! effects: the targets of every fault and how each guard judges them.
//! `gameday plan` prints this; `gameday run` checks the same plan first.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::environment::{Effect, EnvError, Environment, Identity, Millis, Reach};
use crate::guard::{self, GuardName, Selection, Verdict};
use crate::journal::Outcome;
use crate::rng::SeededRng;
use crate::scenario::{Fault, OutcomeAlarmsUse, Scenario};

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub identity: Identity,
    /// Account, time windows and blackouts, and the environment's own checks.
    pub verdicts: Vec<Verdict>,
    pub faults: Vec<FaultPlan>,
    /// Outcome alarms `guards.import_alarms` made stop conditions: the run
    /// watches them beside the scenario's own.
    pub imported_stop_alarms: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FaultPlan {
    pub name: String,
    /// The fault's kind as scenarios write it (`FaultAction::kind_name`).
    pub kind: &'static str,
    /// Offset from injection start, as scheduled.
    pub starts_at: Millis,
    /// How long it is held; zero for faults that happen at once.
    pub holds_for: Millis,
    pub zones: Vec<String>,
    pub regions: Vec<String>,
    pub other_resources: Vec<String>,
    pub selection: Selection,
    pub effect: Option<Effect>,
}

/// Why a plan refuses to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// A guard blocks it.
    Guard { guard: GuardName, detail: String, fault: Option<String> },
    /// A fault would touch nothing.
    NoTargets { fault: String, detail: String },
}

impl Refusal {
    /// How a run this plan refuses ends: `plan` and `run` give the same code.
    pub fn outcome(self) -> Outcome {
        match self {
            Refusal::Guard { guard, detail, fault } => Outcome::AbortedByGuard { guard, detail: fault.map_or(detail.clone(), |f| format!("{detail} (fault `{f}`)")) },
            Refusal::NoTargets { fault, detail } => Outcome::FaultNotEffective { fault, reason: detail },
        }
    }
}

impl Plan {
    pub fn refusal(&self) -> Option<Refusal> {
        if let Some(v) = self.verdicts.iter().find(|v| v.blocks()) {
            return Some(Refusal::Guard { guard: v.guard, detail: v.detail.clone(), fault: None });
        }
        for fault in &self.faults {
            if let Some(v) = fault.selection.verdicts.iter().find(|v| v.blocks() && v.guard != GuardName::Targets) {
                return Some(Refusal::Guard { guard: v.guard, detail: v.detail.clone(), fault: Some(fault.name.clone()) });
            }
            if let Some(v) = fault.selection.blocked_by() {
                return Some(Refusal::NoTargets { fault: fault.name.clone(), detail: v.detail.clone() });
            }
        }
        None
    }
}

/// When each fault starts and ends relative to injection start, from
/// `start_after`, `delay` and `duration` (FIS semantics: a fault with no
/// `start_after` starts at once; one with it waits for those to end).
pub fn schedule(faults: &[Fault]) -> BTreeMap<String, (Millis, Millis)> {
    let mut times: BTreeMap<String, (Millis, Millis)> = BTreeMap::new();
    // The loader rejects cycles, so this settles within `faults.len()` passes.
    for _ in 0..=faults.len() {
        for fault in faults {
            if times.contains_key(&fault.name) {
                continue;
            }
            let deps: Option<Vec<Millis>> = fault.start_after.iter().map(|d| times.get(d).map(|t| t.1)).collect();
            if let Some(deps) = deps {
                let start = deps.into_iter().max().unwrap_or(0) + fault.delay.map_or(0, |d| d.as_millis());
                let end = start + fault.duration.map_or(0, |d| d.as_millis());
                times.insert(fault.name.clone(), (start, end));
            }
        }
    }
    times
}

/// Resolves one fault and lets the guards choose its targets.
pub async fn resolve_fault<E: Environment>(
    env: &mut E,
    scenario: &Scenario,
    fault: &Fault,
    active_zones: &BTreeSet<String>,
    seed: u64,
) -> Result<(Reach, Selection, Option<Effect>), EnvError> {
    // The service's own one-at-a-time rule, and its refusal of the fault as
    // things stand, are guards like gameday's: the run is refused before
    // anything starts (exit 5, in `plan` and `run` alike), not failed (exit 7).
    let reach = match env.reach(fault).await {
        Ok(reach) => reach,
        Err(error) => return refused(error),
    };
    let mut rng = SeededRng::stream(seed, &fault.name, 0);
    let selection = guard::select(fault, &scenario.guards, &reach, active_zones, &mut rng);
    if selection.blocked_by().is_some() {
        return Ok((reach, selection, None));
    }
    match env.prepare(fault, &selection.chosen, &reach).await {
        Ok(effect) => Ok((reach, selection, Some(effect))),
        Err(error) => refused(error),
    }
}

/// A fault the environment will not take now, as the verdict that refuses
/// it (`resource_busy`, `refused_by_environment`); any other error stays one.
fn refused(error: EnvError) -> Result<(Reach, Selection, Option<Effect>), EnvError> {
    let verdict = match error {
        EnvError::Busy(detail) => Verdict::resource_busy(detail),
        EnvError::Refused(detail) => Verdict::refused_by_environment(detail),
        error => return Err(error),
    };
    Ok((Reach::default(), Selection { matched: 0, excluded: Vec::new(), chosen: Vec::new(), verdicts: vec![verdict] }, None))
}

/// Builds the plan: identity and time guards, the environment's support
/// for every probe and alarm, then every fault resolved in schedule order.
pub async fn plan<E: Environment>(env: &mut E, scenario: &Scenario, seed: u64, now: jiff::Timestamp) -> Result<Plan, EnvError> {
    let identity = env.identity();
    let mut verdicts = guard::judge_identity(&scenario.guards, &identity);
    verdicts.extend(guard::judge_time(&scenario.guards, now, !identity.simulated));
    // Alarms named by ARC configurations are read first, then judged with
    // the scenario's own: before anything is touched, at the run's first instant.
    let mut blocking = scenario.guards.blocking_alarms.clone();
    let mut imported_stop_alarms = Vec::new();
    for import in &scenario.guards.import_alarms {
        let read = env.practice_run_alarms(&import.practice_run_configuration).await;
        verdicts.push(guard::judge_imported_alarms(import, &read));
        if let Ok(Some(alarms)) = read {
            blocking.extend(alarms.blocking.into_iter().filter(|a| !scenario.guards.blocking_alarms.contains(a)));
            if import.outcome_alarms == OutcomeAlarmsUse::StopConditions {
                imported_stop_alarms.extend(alarms.outcome);
            }
        }
    }
    blocking.dedup();
    imported_stop_alarms.sort();
    imported_stop_alarms.dedup();
    verdicts.extend(guard::judge_blocking_alarms(&env.alarm_states(&blocking, 0).await));
    for alarm in &imported_stop_alarms {
        env.check_alarm_exists(alarm).await?;
    }
    for probe in &scenario.steady_state {
        env.supports_probe(probe)?;
    }
    for alarm in scenario.alarms_to_read() {
        env.check_alarm_exists(&alarm).await?;
    }
    let times = schedule(&scenario.faults);
    let mut faults = Vec::new();
    let mut planned_zones: Vec<(Millis, Millis, Vec<String>)> = Vec::new();
    for fault in &scenario.faults {
        let (start, end) = times.get(&fault.name).copied().unwrap_or((0, 0));
        // Zones impaired by earlier faults that are still held when this one starts.
        let active: BTreeSet<String> = planned_zones.iter().filter(|(s, e, _)| *s <= start && start < (*e).max(*s + 1)).flat_map(|(_, _, z)| z.iter().cloned()).collect();
        let (reach, selection, effect) = resolve_fault(env, scenario, fault, &active, seed).await?;
        let mut zones = reach.zones.clone();
        if zones.is_empty() {
            zones = selection.chosen.iter().map(|c| c.zone.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        }
        if fault.action.is_sustained() && (fault.duration.is_some() || !fault.action.duration_optional()) {
            planned_zones.push((start, end, zones.clone()));
        }
        faults.push(FaultPlan {
            name: fault.name.clone(),
            kind: fault.action.kind_name(),
            starts_at: start,
            holds_for: end - start,
            zones,
            regions: reach.regions.clone(),
            other_resources: reach.other_resources.clone(),
            selection,
            effect,
        });
    }
    Ok(Plan { identity, verdicts, faults, imported_stop_alarms })
}
