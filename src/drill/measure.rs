//! The people's side of a drill, measured from the journal: when they
//! acknowledged, mitigated and finished each step, where they waited, and
//! what the runbook lacked.
//!
//! Pure: journal records and the system's measurements in, a
//! [`DrillResult`] out. Definitions are in docs/drills.md.

use serde::{Deserialize, Serialize};

use crate::journal::{Actor, Event, Record, Records};
use crate::vocab::{Millis, fmt_ms};

use super::{DrillSession, RunbookStep};

/// A wait this long before a step is shown under "where people waited".
pub const NOTABLE_WAIT_MS: Millis = 60_000;
/// A wait this long becomes a proposed action item.
pub const GAP_WAIT_MS: Millis = 120_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Done by its `T0+…` time.
    OnTime,
    /// Done, after its `T0+…` time.
    Late,
    /// Done; the step names no time.
    Done,
    Skipped,
    /// Never finished before the drill ended.
    NotDone,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub number: u32,
    pub title: String,
    /// Expected done by, counted from T0.
    pub due: Option<Millis>,
    pub action: Option<String>,
    /// Times are run times (ms since the run started), like the rest of result.json.
    pub acknowledged_at: Option<Millis>,
    pub done_at: Option<Millis>,
    pub skipped_at: Option<Millis>,
    pub skip_reason: Option<String>,
    /// From when people could take the step up (the later of the page and
    /// the previous step's end) to its acknowledgement. `None` for a step
    /// done in one go, or taken up before the page (docs/drills.md).
    pub waited: Option<Millis>,
    pub late_by: Option<Millis>,
    pub status: StepStatus,
    pub notes: Vec<Note>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub at: Millis,
    pub text: String,
    pub unclear: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    pub name: String,
    pub step: Option<u32>,
    pub at: Millis,
    /// Applied to the simulated world by gameday, or done by hand by people and recorded.
    pub by: Actor,
    pub detail: String,
    pub failed: bool,
}

/// The response, as run times. People: acknowledge and mitigate; the
/// system: detect and recover.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// T0: the start of the first fault.
    pub fault_start: Option<Millis>,
    /// The first detection of any expected recovery (alarm or failing probe).
    pub detected_at: Option<Millis>,
    /// The first step acknowledged or done after T0.
    pub acknowledged_at: Option<Millis>,
    /// The first operator action that took effect after T0.
    pub mitigated_at: Option<Millis>,
    /// The last recovery of an expectation that saw impact.
    pub recovered_at: Option<Millis>,
}

impl Response {
    fn since_fault(&self, at: Option<Millis>) -> Option<Millis> {
        Some(at?.saturating_sub(self.fault_start?))
    }
    pub fn time_to_detect(&self) -> Option<Millis> {
        self.since_fault(self.detected_at)
    }
    pub fn time_to_acknowledge(&self) -> Option<Millis> {
        self.since_fault(self.acknowledged_at)
    }
    pub fn time_to_mitigate(&self) -> Option<Millis> {
        self.since_fault(self.mitigated_at)
    }
    pub fn time_to_recover(&self) -> Option<Millis> {
        self.since_fault(self.recovered_at)
    }
}

/// Everything the drill measured about people, for result.json and the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillResult {
    pub runbook: String,
    pub speed: String,
    pub response: Response,
    pub steps: Vec<StepResult>,
    pub actions: Vec<ActionResult>,
    /// Free-text observations: (run time, text).
    pub observations: Vec<(Millis, String)>,
    /// The runbook's gaps, proposed as action items.
    pub gaps: Vec<String>,
}

/// The system's side of the response chain, as the run's measurements of
/// the expected recoveries found it (`run::metrics::system_response`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SystemResponse {
    /// The first failing sample after a fault started.
    pub impact_start: Option<Millis>,
    /// The first detection.
    pub detected_at: Option<Millis>,
    /// When every impaired expectation had recovered; `None` while any had not.
    pub recovered_at: Option<Millis>,
}

/// Measures the drill in `records`; `None` when the run was not a drill.
pub fn measure(records: Records<'_>, fault_start: Option<Millis>, system: SystemResponse) -> Option<DrillResult> {
    let (started_at, runbook, speed, steps) = records.iter().find_map(|r| match r.into_owned() {
        Record { t, event: Event::DrillStarted { runbook, speed, steps, .. }, .. } => Some((t, runbook, speed, steps)),
        _ => None,
    })?;
    let mut session = DrillSession::new(runbook.clone(), steps.clone(), Vec::new());
    let mut notes: Vec<Vec<Note>> = vec![Vec::new(); steps.len()];
    let mut skip_reasons: Vec<Option<String>> = vec![None; steps.len()];
    let mut actions = Vec::new();
    let mut observations = Vec::new();
    for record in records.iter() {
        session.follow(record.t, &record.event);
        let index_of = |step: &u32| steps.iter().position(|s| s.number == *step);
        match &record.event {
            Event::StepAnnotated { step, note, unclear } => {
                if let Some(i) = index_of(step) {
                    notes[i].push(Note { at: record.t, text: note.clone(), unclear: *unclear });
                }
            }
            Event::StepSkipped { step, reason } => {
                if let Some(i) = index_of(step) {
                    skip_reasons[i] = reason.clone();
                }
            }
            Event::TeamObservation { text } => observations.push((record.t, text.clone())),
            Event::OperatorActionTaken { action, step, by, detail } => {
                actions.push(ActionResult { name: action.clone(), step: *step, at: record.t, by: *by, detail: detail.clone(), failed: false })
            }
            Event::OperatorActionFailed { action, error } => {
                actions.push(ActionResult { name: action.clone(), step: None, at: record.t, by: Actor::Gameday, detail: error.clone(), failed: true })
            }
            _ => {}
        }
    }

    let t0 = fault_start;
    // Nobody waits for an incident they have not been told of: waits count
    // from the page, the first detection by the team's signals. Without one
    // (detection not measured, or it never fired) they count from the first
    // failing sample, then from T0.
    let paged_at = system.detected_at.or(system.impact_start).or(t0).unwrap_or(started_at);
    let mut results = Vec::new();
    // A step can be started once the one before it is finished.
    let mut available_from = started_at;
    for (i, step) in steps.iter().enumerate() {
        let progress = &session.progress[i];
        let finished = progress.done.or(progress.skipped);
        // A step done without a separate acknowledgement tells nothing about
        // waiting: its time may all have been work. One taken up before the
        // page (a pre-check) was not waited for.
        let waited = progress.acknowledged.filter(|ack| finished.is_none_or(|f| *ack < f) && *ack >= paged_at).map(|ack| ack.saturating_sub(available_from.max(paged_at)));
        let due_at = step.due.and_then(|d| t0?.checked_add(d));
        let late_by = match (due_at, progress.done) {
            (Some(due), Some(done)) if done > due => Some(done - due),
            _ => None,
        };
        let status = if progress.skipped.is_some() && progress.done.is_none() {
            StepStatus::Skipped
        } else if progress.done.is_none() {
            StepStatus::NotDone
        } else if due_at.is_none() {
            StepStatus::Done
        } else if late_by.is_some() {
            StepStatus::Late
        } else {
            StepStatus::OnTime
        };
        if let Some(finished) = finished {
            available_from = available_from.max(finished);
        }
        results.push(StepResult {
            number: step.number,
            title: step.title.clone(),
            due: step.due,
            action: step.action.clone(),
            acknowledged_at: progress.acknowledged,
            done_at: progress.done,
            skipped_at: progress.skipped,
            skip_reason: skip_reasons[i].clone(),
            waited,
            late_by,
            status,
            notes: notes[i].clone(),
        });
    }

    let after_t0 = |at: Millis| t0.is_some_and(|t0| at >= t0);
    // Before the impact there is nothing to acknowledge: pre-checks done at
    // T0 do not count.
    let impact = system.impact_start.or(t0);
    let acknowledged_at = records
        .iter()
        .filter(|r| matches!(r.event, Event::StepAcknowledged { .. } | Event::StepDone { .. } | Event::StepSkipped { .. } | Event::OperatorActionTaken { .. }))
        .map(|r| r.t)
        .find(|t| impact.is_some_and(|i| *t >= i));
    let mitigated_at = actions.iter().filter(|a| !a.failed && after_t0(a.at)).map(|a| a.at).min();
    let response = Response { fault_start: t0, detected_at: system.detected_at, acknowledged_at, mitigated_at, recovered_at: system.recovered_at };
    let gaps = gaps(&runbook, &steps, &results, &actions);
    Some(DrillResult { runbook, speed, response, steps: results, actions, observations, gaps })
}

/// A step's title without its time and closing full stop, for sentences.
pub fn short_title(title: &str) -> String {
    let mut text = title.trim().trim_end_matches('.').trim().to_string();
    if let Some(open) = text.rfind('(')
        && text[open..].contains("T0")
        && text.ends_with(')')
    {
        text.truncate(open);
    }
    text.trim().trim_end_matches('.').trim().to_string()
}

/// The runbook's gaps, worded as action items.
fn gaps(runbook: &str, steps: &[RunbookStep], results: &[StepResult], actions: &[ActionResult]) -> Vec<String> {
    let mut gaps = Vec::new();
    for step in results {
        let name = format!("step {} (“{}”) of {runbook}", step.number, short_title(&step.title));
        for note in step.notes.iter().filter(|n| n.unclear) {
            gaps.push(format!("Clarify {name}: {}", note.text));
        }
        match step.status {
            StepStatus::Skipped => {
                gaps.push(format!("Review {name}: it was skipped{}; fix it or take it out", step.skip_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()))
            }
            StepStatus::Late => {
                gaps.push(format!("Speed up {name} or correct its time: done {} after its T0+{} expectation", fmt_ms(step.late_by.unwrap_or(0)), fmt_ms(step.due.unwrap_or(0))))
            }
            StepStatus::NotDone if step.due.is_some() => {
                gaps.push(format!("Find out why {name} was not done before the drill ended (expected by T0+{})", fmt_ms(step.due.unwrap_or(0))))
            }
            _ => {}
        }
        if let Some(waited) = step.waited.filter(|w| *w >= GAP_WAIT_MS) {
            gaps.push(format!("Find out what people waited for before {name}: {} passed before anyone took it up", fmt_ms(waited)));
        }
    }
    for action in actions.iter().filter(|a| !a.failed) {
        if !steps.iter().any(|s| s.action.as_deref() == Some(action.name.as_str())) {
            gaps.push(format!("Add a step to {runbook} for `{}`: the team took this action, and no step names it", action.name));
        }
    }
    for action in actions.iter().filter(|a| a.failed) {
        gaps.push(format!("Fix the operator action `{}`: it failed ({})", action.name, action.detail));
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(t: Millis, json: &str) -> Record {
        serde_json::from_str(&format!("{{\"t\":{t},\"wall\":\"\",{json}}}")).unwrap()
    }

    /// Step 1 taken up at 5 s (before anything failed), step 2 at 90 s and
    /// done at 100 s, step 3 taken up at 200 s; T0 is 10 s.
    fn journal() -> Vec<Record> {
        let step = |n: u32| format!(r#"{{"number":{n},"title":"Step {n}","line":{n}}}"#);
        vec![
            record(0, &format!(r#""event":"drill_started","runbook":"r.md","speed":"max","steps":[{},{},{}],"actions":[]"#, step(1), step(2), step(3))),
            record(5_000, r#""event":"step_acknowledged","step":1"#),
            record(6_000, r#""event":"step_done","step":1"#),
            record(90_000, r#""event":"step_acknowledged","step":2"#),
            record(100_000, r#""event":"step_done","step":2"#),
            record(200_000, r#""event":"step_acknowledged","step":3"#),
        ]
    }

    #[test]
    fn waits_count_from_the_page_not_from_t0() {
        let paged = SystemResponse { impact_start: Some(15_000), detected_at: Some(80_000), recovered_at: None };
        let drill = measure(Records::of(&journal()), Some(10_000), paged).unwrap();
        let waited: Vec<Option<Millis>> = drill.steps.iter().map(|s| s.waited).collect();
        // Step 1 was taken up before the page: no wait. Step 2 could be
        // taken up from the page (80 s), not from step 1's end (6 s). Step 3
        // from step 2's end, after the page.
        assert_eq!(waited, [None, Some(10_000), Some(100_000)]);
        // Without a detection, from the first failing sample.
        let unpaged = SystemResponse { impact_start: Some(15_000), detected_at: None, recovered_at: None };
        let drill = measure(Records::of(&journal()), Some(10_000), unpaged).unwrap();
        assert_eq!(drill.steps[0].waited, None, "taken up before the impact");
        assert_eq!(drill.steps[1].waited, Some(75_000));
    }

    #[test]
    fn short_titles_drop_times_and_full_stops() {
        assert_eq!(short_title("Confirm detection (by T0+2 min)."), "Confirm detection");
        assert_eq!(short_title("Scale out (if needed)."), "Scale out (if needed)");
        assert_eq!(short_title("Plain"), "Plain");
    }
}
