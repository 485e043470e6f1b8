//! The run loop: checks, steady state, injection, observation, reverts and
//! measurement. It works on any [`Environment`] and any [`Clock`], so the
//! same code runs an hour of simulated game day in milliseconds and a real
//! one on the wall clock.
//!
//! Architecture invariant: the runner never prints. People see the run
//! through an [`Observer`] (the CLI's progress bars) and the journal.

pub mod clock;
mod drill_host;
mod ledger;
pub mod lock;
pub mod metrics;
mod observer;
pub mod panic;
pub mod plan;
pub mod realtime;
pub mod recover;
pub mod result;
mod revert;
mod settle;
mod stop;

pub use observer::{LiveView, Observer, Phase, Silent};
pub use result::{FaultResult, PracticeRunResult, ProbeSummary, RESULT_SCHEMA_VERSION, RegionSwitchResult, RunResult};
pub use revert::{REVERT_ATTEMPTS, REVERT_BACKOFF, revert_with_retry};

// The journal is a layer of its own, below `drill` (ARCHITECTURE.md, Module
// graph); its old paths under `run` stay valid.
pub use crate::journal;
pub use crate::journal::{Outcome, UnrecordedRevert};

use std::collections::{BTreeMap, BTreeSet};

use crate::drill::DrillInput;
use crate::environment::{Candidate, Effect, EnvError, Environment, Millis};
use crate::guard::GuardName;
use crate::probe::{ProbeHistory, ProbeTrack};
use crate::scenario::{AlarmState, Guards, Scenario, StopCondition};

use clock::{Clock, Interrupt};
use drill_host::{DrillLink, next_drill_input};
use journal::{Event, GuardVerdictRecord, Journal, Record};
use ledger::Ledger;
use plan::{Plan, Refusal};
use stop::pending_stop;

#[derive(Clone, Debug)]
pub struct RunConfig {
    pub seed: u64,
    /// Wall-clock start, for the journal and the report.
    pub started_at: jiff::Timestamp,
    /// How often alarms named by stop conditions and expectations are read.
    pub alarm_poll: Millis,
    /// Attempts at a healthy steady state before refusing to inject.
    pub steady_state_attempts: u32,
    /// While this file exists (`gameday halt`), the run stops and reverts.
    pub halt_file: Option<std::path::PathBuf>,
    /// Wake at least this often (run time), so a live console's clock moves.
    pub max_sleep: Option<Millis>,
    /// The first wait between revert attempts (`REVERT_BACKOFF`; it doubles).
    pub revert_backoff: Millis,
}

impl RunConfig {
    pub fn new(seed: u64, started_at: jiff::Timestamp) -> Self {
        RunConfig { seed, started_at, alarm_poll: 10_000, steady_state_attempts: 3, halt_file: None, max_sleep: None, revert_backoff: REVERT_BACKOFF }
    }
}

/// The next sample of a real-time prober, or never.
async fn next_live_sample(live: &mut Option<realtime::RealtimeProbes>) -> Option<crate::environment::Sample> {
    match live {
        Some(live) => live.samples.recv().await,
        None => std::future::pending().await,
    }
}

/// How often stop reasons are judged while a fault is being made.
const APPLY_WATCH_TICK: Millis = 100;

/// Why the run loop woke.
enum Wake {
    Time,
    Sample(crate::environment::Sample),
    Drill(DrillInput),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultState {
    Waiting,
    Active { ends_at: Millis },
    Done,
    Failed,
}

struct FaultRun {
    state: FaultState,
    effect: Option<Effect>,
    result: FaultResult,
}

/// Everything a finished run produced.
pub struct Finished {
    pub result: RunResult,
    pub journal: Journal,
    /// Every record of the run, `run_ended` included: what the reports are
    /// rendered from. Those of the journal file are read from it again each
    /// time they are walked, not held in memory (issue 18).
    pub records: journal::JournalRecords,
}

pub struct Runner<'a, E: Environment, C: Clock, O: Observer> {
    scenario: &'a Scenario,
    env: &'a mut E,
    clock: C,
    ledger: Ledger<O>,
    config: RunConfig,
    interrupt: std::sync::Arc<Interrupt>,
    alarm_last: BTreeMap<String, crate::guard::AlarmStatus>,
    /// The scenario's guards, with the stop conditions the plan imported (`guards.import_alarms`).
    guards: Guards,
    faults: Vec<FaultRun>,
    phase: Phase,
    injection_started: Option<Millis>,
    drill: Option<DrillLink>,
}

impl<'a, E: Environment, C: Clock, O: Observer> Runner<'a, E, C, O> {
    pub fn new(scenario: &'a Scenario, env: &'a mut E, clock: C, observer: O, journal: Journal, config: RunConfig, interrupt: std::sync::Arc<Interrupt>) -> Self {
        let faults = scenario.faults.iter().map(|f| FaultRun { state: FaultState::Waiting, effect: None, result: FaultResult::not_started(f) }).collect();
        // An error-rate stop condition looks back `over`; nothing else does.
        let window = |probe: &str| {
            scenario
                .guards
                .stop_conditions
                .iter()
                .filter_map(|c| match c {
                    crate::scenario::StopCondition::ProbeErrorRate { probe: p, over, .. } if p == probe => Some(over.as_millis()),
                    _ => None,
                })
                .max()
        };
        let tracks = scenario.steady_state.iter().map(|p| (p.name.clone(), ProbeTrack::with_window(window(&p.name)))).collect();
        let kept = scenario
            .expected_recoveries
            .iter()
            .filter(|e| e.max_impact.as_ref().is_some_and(|b| b.requests.is_some()))
            .flat_map(|e| e.probes.iter().map(|name| (name.clone(), ProbeHistory::cut_at([], scenario.passes_to_recover(name)))))
            .collect();
        Runner {
            scenario,
            env,
            clock,
            ledger: Ledger::new(journal, observer, tracks, kept, config.started_at),
            config,
            interrupt,
            alarm_last: BTreeMap::new(),
            guards: scenario.guards.clone(),
            faults,
            phase: Phase::CheckingGuards,
            injection_started: None,
            drill: None,
        }
    }

    /// Journals one event at the current time, and returns that time.
    fn log(&mut self, event: Event, durable: bool) -> Millis {
        let t = self.clock.now();
        self.ledger.log_at(t, event, durable)
    }

    fn log_at(&mut self, t: Millis, event: Event, durable: bool) -> Millis {
        self.ledger.log_at(t, event, durable)
    }

    /// Whether every record so far is on disk: a fault is only made when
    /// its intent is.
    fn journal_on_disk(&self) -> bool {
        self.ledger.journal.unwritten().is_empty()
    }

    fn tick(&mut self) {
        let now = self.clock.now();
        let view = LiveView {
            phase: self.phase,
            now,
            probes: self
                .scenario
                .steady_state
                .iter()
                .map(|p| {
                    let track = &self.ledger.tracks[&p.name];
                    (p.name.as_str(), track.state(), track.last().map_or("", |s| s.observed.as_str()))
                })
                .collect(),
            faults: self
                .faults
                .iter()
                .map(|f| {
                    (
                        f.result.name.as_str(),
                        match f.state {
                            FaultState::Waiting => "waiting",
                            FaultState::Active { .. } => "injected",
                            FaultState::Done if f.result.reverted => "reverted",
                            FaultState::Done => "done",
                            FaultState::Failed => "failed",
                        },
                    )
                })
                .collect(),
            deadlines: self.scenario.expected_recoveries.iter().map(|e| (e.name.as_str(), self.deadline_of(e), self.settled(e, now))).collect(),
            drill: self.drill.as_ref().map(|d| &d.session),
            fault_start: self.faults.iter().filter_map(|f| f.result.started_at).min(),
            next_revert: self.faults.iter().filter_map(|f| if let FaultState::Active { ends_at } = f.state { Some(ends_at) } else { None }).min(),
        };
        self.ledger.observer.tick(&view);
    }

    fn fault_index(&self, name: &str) -> Option<usize> {
        self.scenario.faults.iter().position(|f| f.name == name)
    }

    async fn sample_probe(&mut self, index: usize) -> bool {
        let probe = &self.scenario.steady_state[index];
        let sample = self.env.sample(probe, self.clock.now()).await;
        let ok = sample.ok;
        self.ingest(sample);
        ok
    }

    fn ingest(&mut self, sample: crate::environment::Sample) {
        self.ledger.ingest(sample);
    }

    /// Reads the alarms and journals what changed. A failed read is
    /// journaled every time and never taken for the last known state: the
    /// stop conditions judge how long an alarm has been unreadable.
    async fn poll_alarms(&mut self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let now = self.clock.now();
        for reading in self.env.alarm_states(names, now).await {
            match reading.state {
                Ok(state) => self.alarm_read(reading.alarm, state),
                Err(error) => self.alarm_unreadable(now, reading.alarm, error),
            }
        }
    }

    /// An alarm read: journaled when its state changed, or when it is
    /// readable again after a span it was not (that span ends here).
    fn alarm_read(&mut self, alarm: String, state: AlarmState) {
        let status = crate::guard::AlarmStatus::Read(state);
        if self.alarm_last.get(&alarm) != Some(&status) {
            self.alarm_last.insert(alarm.clone(), status);
            self.log(Event::AlarmChanged { alarm, state }, false);
        }
    }

    /// An alarm that could not be read: counted towards failing closed
    /// (`guard::UNREADABLE_READS_TO_TRIP`) and journaled with its error kind.
    fn alarm_unreadable(&mut self, now: Millis, alarm: String, error: crate::environment::AlarmReadError) {
        let (since, failed_reads) = match self.alarm_last.get(&alarm) {
            Some(crate::guard::AlarmStatus::Unreadable { since, failed_reads, .. }) => (*since, failed_reads.saturating_add(1)),
            _ => (now, 1),
        };
        self.alarm_last.insert(alarm.clone(), crate::guard::AlarmStatus::Unreadable { since, failed_reads, error: error.clone() });
        self.log(Event::AlarmUnreadable { alarm, error }, false);
    }

    /// Reads what the environment runs on its own (Region switch plan
    /// executions, practice runs): each that ended is journaled, its events come through
    /// the observations.
    async fn follow(&mut self) {
        let now = self.clock.now();
        for end in self.env.follow(now).await {
            match end {
                crate::environment::Ended::PlanExecution(end) => self.ledger.log_at(end.at, Event::PlanExecutionEnded(end), true),
                crate::environment::Ended::PracticeRun(end) => self.ledger.log_at(end.at, Event::PracticeRunEnded(end), true),
            };
        }
    }

    fn drain_observations(&mut self) {
        for observation in self.env.take_observations() {
            self.ledger.log_at(observation.at, Event::Observed(observation), false);
        }
    }

    /// Resolves, re-judges and makes one fault; the intent is journaled
    /// (durably) before the call. Returns why it did not take effect.
    async fn inject(&mut self, index: usize, live: &mut Option<realtime::RealtimeProbes>) -> Option<Outcome> {
        let fault = &self.scenario.faults[index];
        let active_zones: BTreeSet<String> = self.faults.iter().filter(|f| matches!(f.state, FaultState::Active { .. })).flat_map(|f| f.result.zones.iter().cloned()).collect();
        let resolved = plan::resolve_fault(self.env, self.scenario, fault, &active_zones, self.config.seed).await;
        let (reach, selection, effect) = match resolved {
            Ok(resolved) => resolved,
            Err(error) => {
                self.faults[index].state = FaultState::Failed;
                self.faults[index].result.error = Some(error.to_string());
                self.log(Event::FaultFailed { fault: fault.name.clone(), error: error.to_string() }, true);
                return Some(Outcome::FaultNotEffective { fault: fault.name.clone(), reason: error.to_string() });
            }
        };
        let verdicts: Vec<GuardVerdictRecord> = selection.verdicts.iter().map(Into::into).collect();
        self.log(Event::GuardsJudged { phase: format!("before {}", fault.name), verdicts }, false);
        let refusal = plan::Plan {
            identity: self.env.identity(),
            verdicts: vec![],
            faults: vec![plan::FaultPlan {
                name: fault.name.clone(),
                kind: fault.action.kind_name(),
                starts_at: 0,
                holds_for: 0,
                zones: vec![],
                regions: vec![],
                other_resources: vec![],
                selection: selection.clone(),
                effect: None,
            }],
            imported_stop_alarms: vec![],
        }
        .refusal();
        if let Some(refusal) = refusal {
            self.faults[index].state = FaultState::Failed;
            return Some(match refusal {
                Refusal::Guard { guard, detail, .. } => {
                    let error = format!("refused by guard {guard}: {detail}");
                    self.faults[index].result.error = Some(error.clone());
                    self.log(Event::FaultFailed { fault: fault.name.clone(), error }, true);
                    Outcome::AbortedByGuard { guard, detail: format!("{detail} (fault `{}`)", fault.name) }
                }
                Refusal::NoTargets { fault: name, detail } => {
                    self.faults[index].result.error = Some(detail.clone());
                    self.log(Event::FaultFailed { fault: name.clone(), error: detail.clone() }, true);
                    Outcome::FaultNotEffective { fault: name, reason: detail }
                }
            });
        }
        let effect = effect?;
        let targets: Vec<Candidate> = selection.chosen.clone();
        let mut zones = reach.zones.clone();
        if zones.is_empty() {
            zones = targets.iter().map(|c| c.zone.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        }
        self.faults[index].result.targets = targets.iter().map(|c| c.id.clone()).collect();
        self.faults[index].result.zones = zones.clone();
        self.faults[index].effect = Some(effect.clone());
        // The fault starts here, as gameday starts making it: a call that
        // takes its time (a FIS experiment awaited, a slow `inject`) may hurt
        // the system before it returns, and that is the fault's impact.
        let started_at = self.log(Event::FaultIntent { fault: fault.name.clone(), kind: fault.action.kind_name().into(), effect: effect.clone(), targets, zones }, true);
        if !self.journal_on_disk() {
            // No fault is made whose intent a crash could lose.
            self.faults[index].state = FaultState::Failed;
            self.faults[index].effect = None;
            self.faults[index].result.error = Some("not made: its intent could not be written to the journal".into());
            return Some(self.journal_failed_stop());
        }
        let Some(applied) = self.apply_watching(&effect, started_at, live).await else {
            // Stopped while the fault was being made: it may be partly in
            // place. Undo whatever the apply did (reverts are idempotent).
            let stop = self.stop_now(self.clock.now());
            self.log(Event::FaultFailed { fault: fault.name.clone(), error: "the run stopped while this fault was being made; reverting what it did".into() }, true);
            let cleanup = if effect.is_revertible() { self.revert(index).await } else { None };
            self.faults[index].state = FaultState::Failed;
            self.faults[index].result.error = Some("stopped while being made".into());
            if let Some(revert_error) = cleanup {
                return Some(Outcome::RevertIncomplete { faults: vec![fault.name.clone()], detail: format!("{revert_error}; by hand: {}", effect.manual_steps().join("; ")) });
            }
            return Some(stop.unwrap_or(Outcome::Interrupted));
        };
        match applied {
            Ok(()) => {
                // As `result::result_from_records` reads the journal: started
                // at the intent, in place now, held for `duration` from its start.
                let applied_at = self.log(Event::FaultApplied { fault: fault.name.clone() }, true);
                self.faults[index].result.started_at = Some(started_at);
                self.faults[index].result.in_place_at = Some(applied_at);
                self.faults[index].state = match fault.duration.filter(|_| effect.is_revertible()) {
                    Some(duration) => FaultState::Active { ends_at: started_at + duration.as_millis() },
                    None => {
                        self.faults[index].result.ended_at = Some(applied_at);
                        FaultState::Done
                    }
                };
                None
            }
            Err(error) => {
                self.log(Event::FaultFailed { fault: fault.name.clone(), error: error.to_string() }, true);
                // A call that failed part-way (one batch done, the next
                // refused) may have changed some targets: undo whatever it
                // did. Reverts are idempotent, so this is safe when it did nothing.
                let cleanup = if effect.is_revertible() { self.revert(index).await } else { None };
                self.faults[index].state = FaultState::Failed;
                self.faults[index].result.error = Some(error.to_string());
                if let Some(revert_error) = cleanup {
                    return Some(Outcome::RevertIncomplete { faults: vec![fault.name.clone()], detail: format!("{revert_error}; by hand: {}", effect.manual_steps().join("; ")) });
                }
                Some(Outcome::FaultNotEffective { fault: fault.name.clone(), reason: error.to_string() })
            }
        }
    }

    /// Reverts one active fault, retrying a failed call; the intent is
    /// journaled first. Returns the last attempt's error when it could not complete.
    async fn revert(&mut self, index: usize) -> Option<EnvError> {
        let effect = self.faults[index].effect.clone()?;
        let name = self.faults[index].result.name.clone();
        self.log(Event::RevertIntent { fault: name.clone() }, true);
        match revert_with_retry(self.env, &effect, &mut self.clock, &self.interrupt, self.config.revert_backoff).await {
            Ok(outcome) => {
                let now = self.clock.now();
                let fault = &mut self.faults[index];
                fault.state = FaultState::Done;
                fault.result.ended_at = Some(now);
                fault.result.reverted = true;
                fault.result.revert_skipped = outcome.skipped.clone();
                self.log_at(now, Event::FaultReverted { fault: name, outcome }, true);
                None
            }
            Err(last_error) => {
                self.faults[index].result.error = Some(format!("revert failed: {last_error}"));
                self.log(Event::RevertFailed { fault: name, error: last_error.to_string() }, true);
                Some(last_error)
            }
        }
    }

    async fn revert_all(&mut self) -> Vec<(String, String)> {
        let mut failures = Vec::new();
        for index in (0..self.faults.len()).rev() {
            if matches!(self.faults[index].state, FaultState::Active { .. })
                && let Some(error) = self.revert(index).await
            {
                // Say exactly what a person must do to finish the revert.
                let steps = self.faults[index].effect.as_ref().map(|e| e.manual_steps().join("; ")).unwrap_or_default();
                failures.push((self.faults[index].result.name.clone(), format!("{error}; by hand: {steps}")));
            }
        }
        failures
    }

    /// Runs the game day to its end and returns the measured result.
    pub async fn run(mut self) -> Finished {
        let identity = self.env.identity();
        // The run starts when its clock does: `t` counts from this record
        // (docs/safety.md), however long the runner took to be set up after
        // the clock's origin was read (a few ms on a busy machine).
        self.log_at(
            0,
            Event::RunStarted {
                scenario: self.scenario.name.clone(),
                environment: identity.environment.clone(),
                account: identity.account.clone(),
                seed: self.config.seed,
                gameday_version: env!("CARGO_PKG_VERSION").into(),
                pid: Some(std::process::id()),
            },
            true,
        );
        if let Some(link) = &self.drill {
            let actions = self.scenario.operator_actions.iter().map(|a| journal::OfferedAction { name: a.name.clone(), description: a.change.describe() }).collect();
            let event = Event::DrillStarted { runbook: link.session.runbook.clone(), speed: link.speed.clone(), steps: link.session.steps.clone(), actions, pid: None };
            self.log(event, true);
        }
        let outcome = self.execute().await;
        self.finish(outcome)
    }

    async fn execute(&mut self) -> Outcome {
        // 1. Everything is judged before any side effect.
        let plan = match self.judge_guards().await {
            Ok(plan) => plan,
            Err(refused) => return refused,
        };
        // 2. Steady state.
        let alarms = match self.check_steady_state(&plan).await {
            Ok(alarms) => alarms,
            Err(stopped) => return stopped,
        };
        // 3. Inject, observe, revert on schedule.
        let (stopped, realtime) = self.inject_and_observe(&alarms).await;
        // 4. Whatever happened, nothing stays injected.
        self.revert_everything(stopped, realtime).await
    }

    /// Plans the run and journals every guard's verdict; a refusal ends the
    /// run here, before any side effect.
    async fn judge_guards(&mut self) -> Result<Plan, Outcome> {
        let plan = match plan::plan(self.env, self.scenario, self.config.seed, self.config.started_at).await {
            Ok(plan) => plan,
            Err(error) => return Err(Outcome::EnvironmentError { message: error.to_string() }),
        };
        let mut verdicts: Vec<GuardVerdictRecord> = plan.verdicts.iter().map(Into::into).collect();
        verdicts.extend(plan.faults.iter().flat_map(|f| f.selection.verdicts.iter().map(Into::into)));
        self.log(Event::GuardsJudged { phase: "before the run".into(), verdicts }, false);
        match plan.refusal() {
            Some(refusal) => Err(refusal.outcome()),
            None => Ok(plan),
        }
    }

    /// Samples every probe until each passes (or the attempts run out) and
    /// journals the verdict. Returns the alarms the run reads from now on.
    async fn check_steady_state(&mut self, plan: &Plan) -> Result<Vec<String>, Outcome> {
        self.phase = Phase::CheckingSteadyState;
        // The scenario's stop conditions, and the outcome alarms `import_alarms` made stop conditions.
        self.guards.stop_conditions.extend(plan.imported_stop_alarms.iter().map(|alarm| StopCondition::Alarm { alarm: alarm.clone() }));
        let mut alarms = self.scenario.alarms_to_read();
        alarms.extend(plan.imported_stop_alarms.iter().filter(|a| !alarms.contains(a)).cloned().collect::<Vec<_>>());
        self.poll_alarms(&alarms).await;
        let mut failing: Vec<usize> = (0..self.scenario.steady_state.len()).collect();
        for attempt in 0..self.config.steady_state_attempts.max(1) {
            let mut still = Vec::new();
            for index in failing {
                if !self.sample_probe(index).await {
                    still.push(index);
                }
            }
            failing = still;
            self.tick();
            if failing.is_empty() || attempt + 1 == self.config.steady_state_attempts || self.interrupt.raised() {
                break;
            }
            let wait = failing.iter().map(|i| self.scenario.steady_state[*i].interval.as_millis()).max().unwrap_or(1_000);
            let until = self.clock.now() + wait;
            self.clock.sleep_until(until, &self.interrupt).await;
        }
        let detail = if failing.is_empty() {
            "every probe passed".to_string()
        } else {
            failing
                .iter()
                .map(|i| {
                    let name = &self.scenario.steady_state[*i].name;
                    format!("{name}: {}", self.ledger.tracks[name].last().map_or("", |s| s.observed.as_str()))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        self.log(Event::SteadyState { healthy: failing.is_empty(), detail: detail.clone() }, false);
        if self.ledger.journal_failure.is_some() {
            return Err(self.journal_failed_stop());
        }
        // Before injection only the halt and an interrupt can stop the run.
        if let Some(stop) = self.stop_now(self.clock.now()) {
            return Err(stop);
        }
        if !failing.is_empty() && self.scenario.guards.require_healthy_start {
            return Err(Outcome::AbortedByGuard { guard: GuardName::RequireHealthyStart, detail: format!("the steady state is not healthy: {detail}") });
        }
        Ok(alarms)
    }

    /// The loop: makes each fault when its time comes, reverts it when its
    /// time is up, samples probes and reads `alarms` on their cadence,
    /// applies drill commands, and ends when every expectation has settled
    /// or something stops the run (that `Outcome`). Returns the real-time
    /// probers, still running, so their last samples are kept.
    async fn inject_and_observe(&mut self, alarms: &[String]) -> (Option<Outcome>, Option<realtime::RealtimeProbes>) {
        self.phase = Phase::Injecting;
        let t0 = self.clock.now();
        self.injection_started = Some(t0);
        self.log(Event::InjectionStarted, false);
        // Shown before the first fault is made: making it can take minutes on a real account.
        self.tick();
        let mut next_sample: Vec<Millis> = self.scenario.steady_state.iter().map(|p| t0 + p.interval.as_millis()).collect();
        let mut next_alarm_poll = t0 + self.config.alarm_poll;
        // Real systems are probed on their own tasks; the simulator in this loop.
        let mut realtime = match (self.env.prober(), self.clock.origin()) {
            (Some(prober), Some(origin)) => Some(realtime::RealtimeProbes::start(prober, origin, t0, &self.scenario.steady_state)),
            _ => None,
        };

        loop {
            let now = self.clock.now();
            // A journal that cannot be written ends the run: nothing more is
            // injected, and every fault is reverted after the loop.
            if self.ledger.journal_failure.is_some() {
                return (Some(self.journal_failed_stop()), realtime);
            }
            if let Some(stop) = self.stop_now(now) {
                return (Some(stop), realtime);
            }
            if let Some(stopped) = self.start_due_faults(t0, now, &mut realtime).await {
                return (Some(stopped), realtime);
            }
            if let Some(stopped) = self.revert_due_faults(now).await {
                return (Some(stopped), realtime);
            }
            self.apply_drill_inputs(t0).await;
            if self.interrupt.raised() {
                continue; // `quit`: end at this moment, not at the next wake-up
            }
            // Probes on their cadence; a missed tick is skipped, not bunched.
            if let Some(live) = realtime.as_mut() {
                while let Ok(sample) = live.samples.try_recv() {
                    self.ingest(sample);
                }
            }
            for index in (0..next_sample.len()).filter(|_| realtime.is_none()) {
                if next_sample[index] <= now {
                    self.sample_probe(index).await;
                    let interval = self.scenario.steady_state[index].interval.as_millis().max(1);
                    while next_sample[index] <= now {
                        next_sample[index] += interval;
                    }
                }
            }
            if next_alarm_poll <= now {
                self.poll_alarms(alarms).await;
                while next_alarm_poll <= now {
                    next_alarm_poll += self.config.alarm_poll.max(1);
                }
            }
            self.follow().await;
            self.drain_observations();
            if let Some(stop) = self.stop_now(now) {
                return (Some(stop), realtime);
            }
            let faults_finished = self.faults.iter().all(|f| matches!(f.state, FaultState::Done | FaultState::Failed));
            self.phase = if faults_finished { Phase::WaitingForRecovery } else { Phase::FaultInjected };
            self.tick();
            if faults_finished && self.scenario.expected_recoveries.iter().all(|e| self.settled(e, now) && self.requests_counted(e, now)) {
                return (None, realtime);
            }
            // Sleep until the next thing due.
            // The loop's own work: the next alarm read, and on the simulator the next sample.
            let loop_due = if realtime.is_some() { next_alarm_poll } else { next_sample.iter().copied().min().unwrap_or(now + 1_000).min(next_alarm_poll) };
            let wake = self.next_wake(t0, now, loop_due);
            // A live sample or a drill command wakes the loop at once: stop
            // conditions and people's actions take effect within one tick.
            let woken = tokio::select! {
                () = self.clock.sleep_until(wake, &self.interrupt) => Wake::Time,
                Some(sample) = next_live_sample(&mut realtime) => Wake::Sample(sample),
                Some(input) = next_drill_input(&mut self.drill) => Wake::Drill(input),
            };
            match woken {
                Wake::Time => {}
                Wake::Sample(sample) => self.ingest(sample),
                Wake::Drill(input) => {
                    if let Some(link) = self.drill.as_mut() {
                        link.pending.push(input);
                    }
                }
            }
        }
    }

    /// Makes every waiting fault whose start time has come; the first that
    /// fails ends the run (its `Outcome`).
    async fn start_due_faults(&mut self, t0: Millis, now: Millis, realtime: &mut Option<realtime::RealtimeProbes>) -> Option<Outcome> {
        for index in 0..self.faults.len() {
            if self.faults[index].state != FaultState::Waiting {
                continue;
            }
            if let Some(start) = self.start_time(index, t0)
                && start <= now
                && let Some(failure) = self.inject(index, realtime).await
            {
                return Some(failure);
            }
        }
        None
    }

    /// Reverts every active fault whose time is up; a revert that fails
    /// ends the run.
    async fn revert_due_faults(&mut self, now: Millis) -> Option<Outcome> {
        let mut stopped = None;
        for index in 0..self.faults.len() {
            if let FaultState::Active { ends_at } = self.faults[index].state
                && ends_at <= now
                && let Some(error) = self.revert(index).await
            {
                stopped = Some(Outcome::RevertIncomplete { faults: vec![self.faults[index].result.name.clone()], detail: error.to_string() });
            }
        }
        stopped
    }

    /// When the loop must wake next: the earliest of `loop_due` (the loop's
    /// next sample or alarm read), a fault's start or end, a deadline and its
    /// confirmation window, `max_duration`, a timed drill command, and the
    /// longest sleep a live console allows.
    fn next_wake(&self, t0: Millis, now: Millis, loop_due: Millis) -> Millis {
        let mut next = loop_due;
        for (index, fault) in self.faults.iter().enumerate() {
            match fault.state {
                FaultState::Waiting => next = next.min(self.start_time(index, t0).unwrap_or(next)),
                FaultState::Active { ends_at } => next = next.min(ends_at),
                _ => {}
            }
        }
        for e in &self.scenario.expected_recoveries {
            let Some(deadline) = self.deadline_of(e) else { continue };
            for moment in [deadline, deadline.saturating_add(self.confirmation_window(e))] {
                if moment > now {
                    next = next.min(moment);
                }
            }
        }
        if let Some(limit) = self.scenario.guards.max_duration.map(|d| t0 + d.as_millis()) {
            next = next.min(limit);
        }
        if let Some(link) = &self.drill
            && let Some(at) = link.pending.iter().filter_map(|i| i.at).map(|at| t0 + at).min()
        {
            next = next.min(at);
        }
        if let Some(cap) = self.config.max_sleep {
            next = next.min(now + cap);
        }
        next.max(now + 1)
    }

    /// Reverts every fault still in place, keeps the probers' last samples
    /// and reads how ARC executions ended. A revert that fails outranks
    /// `stopped`; without either, the hypothesis held.
    async fn revert_everything(&mut self, stopped: Option<Outcome>, realtime: Option<realtime::RealtimeProbes>) -> Outcome {
        // Said as it is: a run whose faults were all reverted already is ending, not reverting.
        self.phase = if self.faults.iter().any(|f| matches!(f.state, FaultState::Active { .. })) { Phase::Reverting } else { Phase::Ending };
        self.tick();
        let failures = self.revert_all().await;
        if let Some(mut live) = realtime {
            while let Ok(sample) = live.samples.try_recv() {
                self.ingest(sample);
            }
        }
        // How a cancelled or just-finished Region switch execution ended.
        self.follow().await;
        self.drain_observations();
        if !failures.is_empty() {
            let faults = failures.iter().map(|(f, _)| f.clone()).collect();
            let detail = failures.iter().map(|(f, e)| format!("{f}: {e}")).collect::<Vec<_>>().join("; ");
            return Outcome::RevertIncomplete { faults, detail };
        }
        stopped.unwrap_or(Outcome::HypothesisHeld)
    }

    /// Makes a fault. On a clock that follows real time the apply may take
    /// minutes (a FIS experiment starting, a slow shell command), so it is
    /// raced against everything that stops a run: live samples are recorded
    /// and stop conditions, `max_duration`, `gameday halt` and interrupts
    /// are judged meanwhile. `None`: the run must stop; the apply was
    /// dropped (a command's whole process group is ended) and the caller
    /// reverts whatever it did. Alarms are read again once it returns.
    async fn apply_watching(&mut self, effect: &Effect, now: Millis, live: &mut Option<realtime::RealtimeProbes>) -> Option<Result<(), EnvError>> {
        if self.clock.origin().is_none() {
            // Virtual time stands still while the simulator applies.
            return Some(self.env.apply(effect, now).await);
        }
        let apply = self.env.apply(effect, now);
        tokio::pin!(apply);
        loop {
            let watch_until = self.clock.now() + APPLY_WATCH_TICK;
            tokio::select! {
                result = &mut apply => return Some(result),
                () = self.clock.sleep_until(watch_until, &self.interrupt) => {}
                Some(sample) = next_live_sample(live) => self.ledger.ingest(sample),
            }
            let now = self.clock.now();
            if pending_stop(&self.guards, &self.ledger.tracks, &self.alarm_last, &self.config, &self.interrupt, self.injection_started, now).is_some() {
                return None;
            }
        }
    }

    /// When a waiting fault may start: at injection start, or once every
    /// fault it waits for has ended, plus its delay.
    fn start_time(&self, index: usize, t0: Millis) -> Option<Millis> {
        let fault = &self.scenario.faults[index];
        let mut ready = t0;
        for dependency in &fault.start_after {
            let dep = self.fault_index(dependency)?;
            match self.faults[dep].state {
                FaultState::Done => ready = ready.max(self.faults[dep].result.ended_at?),
                _ => return None,
            }
        }
        Some(ready + fault.delay.map_or(0, |d| d.as_millis()))
    }

    /// Measures from the journal alone (`result::result_from_records`), so
    /// `gameday report` rebuilds exactly this result from the run directory.
    fn finish(mut self, stopped: Outcome) -> Finished {
        let end = self.clock.now();
        // One more try at what the file lacks: a full disk may have room now.
        if self.ledger.journal_failure.is_some() {
            let _ = self.ledger.journal.flush(true);
        }
        // The measure reads the journal back; a file that cannot be read
        // back is a journal that failed, and only what memory holds counts.
        let mut records = match self.ledger.journal.read_back() {
            Ok(read) => read,
            Err(error) => {
                self.ledger.journal_failure.get_or_insert_with(|| error.to_string());
                journal::JournalRecords::unread(self.ledger.journal.unwritten().to_vec())
            }
        };
        let stopped = match stopped {
            // A revert that failed outranks everything, a journal that failed included.
            revert_failed @ Outcome::RevertIncomplete { .. } => revert_failed,
            _ if self.ledger.journal_failure.is_some() => self.journal_failed_outcome(records.view(), records.on_disk()),
            stopped => stopped,
        };
        let result = result::result_from_records(self.scenario, records.view(), stopped.clone(), end);
        let wall_elapsed_ms = Some(u64::try_from(self.ledger.real_start.elapsed().as_millis()).unwrap_or(u64::MAX));
        let run_ended = Record { t: end, wall: self.ledger.wall(end), event: Event::RunEnded { outcome: result.outcome.summary(), stopped: Some(stopped), wall_elapsed_ms } };
        self.ledger.observer.record(&run_ended);
        records.push(run_ended.clone());
        self.ledger.append(run_ended, true);
        Finished { result, journal: self.ledger.journal, records }
    }

    /// Why the loop stops when the journal failed. `finish` replaces it with
    /// [`journal_failed_outcome`](Self::journal_failed_outcome), which names
    /// the faults the file still shows in place, once the journal is read back.
    fn journal_failed_stop(&self) -> Outcome {
        Outcome::JournalFailed { error: self.ledger.journal_failure.clone().unwrap_or_default(), unrecorded: Vec::new() }
    }

    /// How a run whose journal failed ends: which faults the journal on
    /// disk (the first `on_disk` of `records`) still shows in place although
    /// they were reverted (the records saying so could not be written), each
    /// with how to confirm by hand.
    fn journal_failed_outcome(&self, records: journal::Records<'_>, on_disk: usize) -> Outcome {
        let in_memory: Vec<String> = journal::still_injected(records.iter()).into_iter().map(|(fault, _)| fault).collect();
        let unrecorded: Vec<UnrecordedRevert> = journal::still_injected(records.prefix(on_disk).iter())
            .into_iter()
            .filter(|(fault, _)| !in_memory.contains(fault))
            .map(|(fault, effect)| UnrecordedRevert { fault, manual_steps: effect.manual_steps() })
            .collect();
        Outcome::JournalFailed { error: self.ledger.journal_failure.clone().unwrap_or_default(), unrecorded }
    }
}
