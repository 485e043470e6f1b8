//! What stops a run before its end, in the order the reasons win: `gameday
//! halt`, an interrupt, a stop condition, `max_duration`. Judged on every
//! turn of the loop and, through `pending_stop` alone, while an apply holds
//! the environment.

use std::collections::BTreeMap;

use super::clock::{Clock, Interrupt};
use super::{Environment, Observer, Outcome, RunConfig, Runner, metrics};
use crate::environment::Millis;
use crate::guard::GuardName;
use crate::journal::Event;
use crate::probe::ProbeTrack;
use crate::scenario::Guards;

/// A reason for the run to stop now, in the order they win.
pub(super) enum Stop {
    /// `gameday halt` is in force. Before the interrupt: `halt` writes its
    /// file, then sends SIGTERM to wake wall-clock runs; the halt is the reason.
    Halt,
    Interrupt,
    Condition(String),
    MaxDuration {
        after: Millis,
    },
}

/// Judges what stops a run, from its parts, so it can be judged while an
/// apply holds the environment.
pub(super) fn pending_stop(
    guards: &Guards,
    probes: &BTreeMap<String, ProbeTrack>,
    alarm_last: &BTreeMap<String, crate::guard::AlarmStatus>,
    config: &RunConfig,
    interrupt: &Interrupt,
    injection_started: Option<Millis>,
    now: Millis,
) -> Option<Stop> {
    if config.halt_file.as_ref().is_some_and(|f| f.exists()) {
        return Some(Stop::Halt);
    }
    if interrupt.raised() {
        return Some(Stop::Interrupt);
    }
    let t0 = injection_started?;
    let alarms: Vec<(String, crate::guard::AlarmStatus)> = alarm_last.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(condition) = crate::guard::tripped_stop_condition(&guards.stop_conditions, probes, &alarms, now) {
        return Some(Stop::Condition(condition));
    }
    let limit = guards.max_duration.map(|d| t0.saturating_add(d.as_millis()))?;
    (now >= limit).then(|| Stop::MaxDuration { after: limit - t0 })
}

impl<E: Environment, C: Clock, O: Observer> Runner<'_, E, C, O> {
    /// Why the run must stop now, journaled; `None` to go on.
    pub(super) fn stop_now(&mut self, now: Millis) -> Option<Outcome> {
        let stop = pending_stop(&self.guards, &self.ledger.tracks, &self.alarm_last, &self.config, &self.interrupt, self.injection_started, now)?;
        Some(match stop {
            Stop::Halt => {
                let detail = "`gameday halt`: the emergency stop for every game day on this machine".to_string();
                self.log(Event::StopConditionTripped { condition: detail.clone() }, true);
                Outcome::AbortedByGuard { guard: GuardName::Halt, detail }
            }
            Stop::Interrupt => {
                let signal = if self.drill.as_ref().is_some_and(|d| d.ended_by_people) { "the drill was ended from its console" } else { "interrupt" };
                self.log(Event::Interrupted { signal: signal.into() }, true);
                Outcome::Interrupted
            }
            Stop::Condition(condition) => {
                self.log(Event::StopConditionTripped { condition: condition.clone() }, true);
                Outcome::AbortedByGuard { guard: GuardName::StopConditions, detail: condition }
            }
            Stop::MaxDuration { after } => {
                let detail = format!("the run reached max_duration ({}) at {}", self.scenario.guards.max_duration.unwrap_or_default(), metrics::fmt_ms(after));
                self.log(Event::StopConditionTripped { condition: detail.clone() }, true);
                Outcome::AbortedByGuard { guard: GuardName::MaxDuration, detail }
            }
        })
    }
}
