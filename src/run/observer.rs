//! How a run is watched: the `Observer` the runner reports to (the CLI's
//! progress display, the drill console) and the `LiveView` it is shown.

use crate::drill::DrillSession;
use crate::environment::Millis;
use crate::journal::{JournalError, Record};
use crate::probe::ProbeState;

/// Where a run stands, as the live view shows it. The on-screen label is
/// its `Display`; code compares the value, never the label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Planning and judging every guard, before any side effect.
    CheckingGuards,
    CheckingSteadyState,
    /// Injection has started; no fault may be in place yet.
    Injecting,
    /// Some fault is still waiting or in place.
    FaultInjected,
    /// Every fault is over; the expectations are being watched.
    WaitingForRecovery,
    /// The loop has stopped: every fault still in place is reverted.
    Reverting,
    /// The loop has stopped with no fault in place: the run is ending.
    Ending,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::CheckingGuards => "checking guards",
            Phase::CheckingSteadyState => "checking steady state",
            Phase::Injecting => "injecting",
            Phase::FaultInjected => "fault injected",
            Phase::WaitingForRecovery => "waiting for recovery",
            Phase::Reverting => "reverting",
            Phase::Ending => "ending (nothing left to revert)",
        })
    }
}

/// What the CLI shows while a run goes on.
pub struct LiveView<'a> {
    pub phase: Phase,
    pub now: Millis,
    pub probes: Vec<(&'a str, ProbeState, &'a str)>,
    pub faults: Vec<(&'a str, &'static str)>,
    /// Expectation name, deadline (once its fault started), settled.
    pub deadlines: Vec<(&'a str, Option<Millis>, bool)>,
    /// In a drill: the runbook's steps and where they stand.
    pub drill: Option<&'a DrillSession>,
    /// In a drill: when the first fault started (T0).
    pub fault_start: Option<Millis>,
    /// When the next active fault is due to be reverted.
    pub next_revert: Option<Millis>,
}

pub trait Observer {
    fn record(&mut self, _record: &Record) {}
    /// A record the journal file refused (a full disk, an I/O error). It is
    /// kept in memory and written again before the next one; people should
    /// see it now, in case the process dies before then.
    fn journal_failed(&mut self, _error: &JournalError, _record: &Record) {}
    fn tick(&mut self, _view: &LiveView<'_>) {}
    /// A drill command that could not be done, and why.
    fn refused(&mut self, _message: &str) {}
}

/// An observer that watches nothing.
pub struct Silent;
impl Observer for Silent {}
