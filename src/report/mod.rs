//! Pure renderers: a finished run in, bytes out. No I/O here.
//!
//! Architecture invariant: report never opens, reads or writes files and
//! never looks at the clock; the CLI decides where the bytes go. The
//! journal's `Records` it walks read the journal file again inside
//! `journal`, so a long run's journal is never held whole (issue 18).

pub mod drill;
pub mod history;
pub mod html;
pub mod human;
pub mod junit;
pub(crate) mod lane;
pub mod markdown;
pub mod plan;
pub mod postmortem;
pub mod prediction;
pub mod summary;
pub mod table;
pub mod tables;
pub mod text;

use crate::environment::Millis;
use crate::run::RunResult;
use crate::run::journal::{Event, Record, Records};
use crate::run::metrics::{FailoverVerdict, Signal, fmt_ms};
use crate::scenario::{ClockStart, Scenario};

pub use markdown::ReportContext;

/// `result.json`, pretty-printed and stable (same seed, same bytes).
pub fn result_json(result: &RunResult) -> String {
    let mut text = serde_json::to_string_pretty(result).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The scenario's runbook as a report names and links it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunbookRef {
    /// As the scenario names it (a path relative to the scenario's file).
    pub name: String,
    /// Its copy kept in the run directory, relative to it (where the
    /// reports are); `None` when no copy was kept.
    pub copy: Option<String>,
}

/// Every file of a run directory, rendered.
pub struct Rendered {
    /// (file name, contents), in the order they are written.
    pub files: Vec<(&'static str, String)>,
    /// Wording the blameless check noticed in the human sections.
    pub flags: Vec<human::Flag>,
    /// Human sections whose markers the earlier `report.md` lacked (their text was not kept).
    pub missing_sections: Vec<&'static str>,
    /// The postmortem's status, severity and authors as people set them.
    pub postmortem: human::Postmortem,
    /// The one-page summary for stakeholders, in Markdown and in HTML
    /// (printed on request, not written into the run directory).
    pub summary: [String; 2],
}

/// Renders `report.md`, `report.html`, `junit.xml` and `result.json`;
/// with the twin's `prediction`, the reports show it beside the measurements.
/// With `previous_report` (an earlier `report.md`), the sections people wrote
/// are kept and checked for blaming wording.
pub fn render_all(
    scenario: &Scenario,
    result: &RunResult,
    records: Records<'_>,
    runbook: Option<RunbookRef>,
    previous_report: Option<&str>,
    prediction: Option<&crate::predict::Prediction>,
) -> Rendered {
    let template = human::Sections::template(scenario, result);
    let (sections, missing_sections) = match previous_report {
        Some(previous) => human::Sections::kept_from(previous, &template),
        None => (template.clone(), Vec::new()),
    };
    let flags = human::blameless_flags(&sections, &template);
    let postmortem = sections.postmortem();
    let walked = Walked::of(scenario, result, records);
    let ctx = ReportContext { scenario, result, runbook, human: sections, flags: flags.clone(), prediction, walked };
    let files = vec![("report.md", markdown::render(&ctx)), ("report.html", html::render(&ctx)), ("junit.xml", junit::render(&ctx)), ("result.json", result_json(result))];
    let summary = [summary::render_markdown(&ctx), summary::render_html(&ctx)];
    Rendered { files, flags, missing_sections, postmortem, summary }
}

/// What the reports cite from the journal, gathered in one walk of it for
/// every part of every format (issue 18): each part is fed the records one
/// at a time and keeps only what it shows, bounded whatever the run's
/// length (the timeline and phase table cap their rows per probe, the
/// chart draws at its resolution). Before, each part of each format walked
/// the journal file again, parsing every sample each time.
pub struct Walked<'a> {
    pub(crate) phases: Vec<Phase>,
    pub(crate) timeline: Vec<(u64, String, String, String)>,
    pub(crate) lanes: html::ChartLanes<'a>,
    /// How long the run really took, as the journal's end recorded it; `None`
    /// for a run that did not end or a journal written before it was recorded.
    pub(crate) wall_elapsed: Option<u64>,
    /// The first record's wall clock: when the run started.
    pub(crate) started: Option<String>,
}

impl<'a> Walked<'a> {
    pub fn of(scenario: &'a Scenario, result: &'a RunResult, records: Records<'_>) -> Self {
        let mut phases = PhaseFeed::new(result);
        let mut timeline = markdown::TimelineFeed::default();
        let mut lanes = html::LaneFeed::new(scenario, result);
        let (mut wall_elapsed, mut started) = (None, None);
        for (index, record) in records.iter().enumerate() {
            if index == 0 {
                started = Some(record.wall.clone());
            }
            if let Event::RunEnded { wall_elapsed_ms: Some(ms), .. } = record.event {
                wall_elapsed = Some(ms);
            }
            phases.push(index, &record);
            timeline.push(index, &record);
            lanes.push(&record);
        }
        Walked { phases: phases.finish(), timeline: timeline.finish(), lanes: lanes.finish(), wall_elapsed, started }
    }
}

pub(crate) fn t(ms: Millis) -> String {
    format!("T+{}", fmt_ms(ms))
}

/// One stretch of failing samples of a probe after injection started.
#[derive(Clone, Debug, PartialEq)]
pub struct ImpactWindow {
    pub probe: String,
    pub start: Millis,
    /// Journal line (1-based) of the first failing sample.
    pub start_line: usize,
    /// The first passing sample after it, and its journal line; `None` while still failing at the end.
    /// For a probe `expected_during_fault`, a failing sample that reads a
    /// settled state after unsettled ones (or the reverse) ends it too.
    pub end: Option<(Millis, usize)>,
    /// Its samples read no settled state (`Sample::unsettled`): never intended.
    pub unsettled: bool,
}

/// A row of the phase-times table.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub phase: &'static str,
    pub at: Option<Millis>,
    pub what: String,
    pub evidence: String,
}

/// How many impact windows of one probe the phase table lists before it
/// counts the rest (but the last) in one row (docs/reports.md, "Phase times").
pub const PHASE_WINDOWS_PER_PROBE: usize = 10;

/// A probe's windows past the cap in one phase (`Impact` or `Intended`),
/// each ended by a passing sample: counted, not listed.
#[derive(Default)]
struct WindowFold {
    windows: usize,
    /// The sum of their lengths, each from its first failing sample to the first passing one after it.
    failing: Millis,
    /// The first one's start, number and journal line; the last one's number and closing journal line.
    first: Option<(Millis, usize, usize)>,
    last: (Millis, usize, usize),
}

impl WindowFold {
    fn count(&mut self, w: &ImpactWindow, (end, end_line): (Millis, usize), nth: usize) {
        self.windows += 1;
        self.failing = self.failing.saturating_add(end.saturating_sub(w.start));
        self.first.get_or_insert((w.start, nth, w.start_line));
        self.last = (w.start, nth, end_line);
    }

    fn row(&self, probe: &str, phase: &'static str, of: usize) -> Phase {
        let (start, first_nth, first_line) = self.first.unwrap_or_default();
        let (last_start, last_nth, last_line) = self.last;
        let state = if phase == "Intended" { "in its intended state (expected during the fault)" } else { "failing" };
        Phase {
            phase,
            at: Some(start),
            what: format!(
                "`{probe}` {state} in {} more window{} starting from {} to {} (windows {first_nth}–{last_nth} of {of}), {} in all: counted here, not listed one by one",
                self.windows,
                if self.windows == 1 { "" } else { "s" },
                t(start),
                t(last_start),
                fmt_ms(self.failing)
            ),
            evidence: format!("journal lines {first_line}–{last_line}"),
        }
    }
}

/// A record the phase table cites: the first one `wanted` picks.
struct Lookup<'a> {
    wanted: Box<dyn Fn(&Record) -> bool + 'a>,
    line: Option<usize>,
}

/// One probe's impact windows, counted as the journal is walked: the first
/// [`PHASE_WINDOWS_PER_PROBE`] and those that cannot be folded are kept,
/// the others past the cap are counted (each but the last: the latest is
/// held until the next one opens), so a probe that flaps all run long holds
/// a dozen windows, not one per flap (issue 18).
#[derive(Default)]
struct ProbeWindows {
    count: usize,
    kept: Vec<(usize, ImpactWindow)>,
    /// The latest window and its number, open while its `end` is `None`.
    latest: Option<(usize, ImpactWindow)>,
    impact: WindowFold,
    intended: WindowFold,
}

/// The phase table fed one record at a time: impact windows per probe and
/// the journal line of each other phase, in one walk of the journal.
pub(crate) struct PhaseFeed<'a> {
    result: &'a RunResult,
    /// The `expected_during_fault` probes, looked up once, not per window.
    intended_probes: std::collections::BTreeSet<&'a str>,
    windows: std::collections::BTreeMap<String, ProbeWindows>,
    lookups: Vec<Lookup<'a>>,
    /// The rows before the impact windows (inject) and after them, each with the lookup its evidence comes from.
    before: Vec<(Phase, Option<usize>)>,
    after: Vec<(Phase, Option<usize>)>,
}

impl<'a> PhaseFeed<'a> {
    pub(crate) fn new(result: &'a RunResult) -> Self {
        let mut lookups: Vec<Lookup<'a>> = Vec::new();
        let mut cite = |wanted: Box<dyn Fn(&Record) -> bool + 'a>| {
            lookups.push(Lookup { wanted, line: None });
            Some(lookups.len() - 1)
        };
        let phase = |phase: &'static str, at: Option<Millis>, what: String| Phase { phase, at, what, evidence: String::new() };
        let mut before = Vec::new();
        for f in result.faults.iter().filter(|f| f.started_at.is_some()) {
            let name = f.name.as_str();
            // A fault whose making took time says when it started and when it was in place (docs/metrics.md).
            let in_place = f.in_place_at.filter(|at| f.started_at.is_some_and(|start| t(start) != t(*at)));
            let (what, evidence) = match in_place {
                Some(at) => (
                    format!("`{}` started ({}), in place at {}", f.name, f.kind, t(at)),
                    cite(Box::new(move |r| matches!(&r.event, Event::FaultIntent { fault, .. } if fault == name))),
                ),
                None => (format!("`{}` in place ({})", f.name, f.kind), cite(Box::new(move |r| matches!(&r.event, Event::FaultApplied { fault } if fault == name)))),
            };
            before.push((phase("Inject", f.started_at, what), evidence));
        }
        let mut after = Vec::new();
        for e in &result.expectations {
            if let (Some(at), Some(by)) = (e.detected_at, &e.detected_by) {
                let evidence = match by {
                    Signal::Alarm(alarm) => cite(Box::new(move |r| r.t == at && matches!(&r.event, Event::AlarmChanged { alarm: a, .. } if a == alarm))),
                    Signal::Probe(probe) => cite(Box::new(move |r| matches!(&r.event, Event::Sample(s) if s.sent_at == at && !s.ok && s.probe == *probe))),
                };
                after.push((phase("Detect", Some(at), format!("{}: by {by}", e.name)), evidence));
            }
        }
        let people = |what: &str| Phase { phase: "Acknowledge", at: None, what: what.into(), evidence: "people".into() };
        match result.drill.as_ref().and_then(|d| d.response.acknowledged_at) {
            Some(at) => {
                let evidence = cite(Box::new(move |r| {
                    r.t == at && matches!(r.event, Event::StepAcknowledged { .. } | Event::StepDone { .. } | Event::StepSkipped { .. } | Event::OperatorActionTaken { .. })
                }));
                after.push((phase("Acknowledge", Some(at), "people took up the incident (drill console)".into()), evidence));
            }
            None if result.drill.is_some() => after.push((people("nobody acknowledged during the drill"), None)),
            None => after.push((people("not seen by gameday: add it under “People's steps”"), None)),
        }
        if let Some(drill) = &result.drill {
            for action in drill.actions.iter().filter(|a| !a.failed) {
                let evidence = cite(Box::new(move |r| r.t == action.at && matches!(&r.event, Event::OperatorActionTaken { action: a, .. } if *a == action.name)));
                after.push((phase("Mitigate", Some(action.at), format!("`{}`: {}", action.name, action.detail)), evidence));
            }
        }
        for e in &result.expectations {
            if let Some(at) = e.recovered_at.filter(|_| e.impact_start.is_some()) {
                let evidence = cite(Box::new(move |r| matches!(&r.event, Event::Sample(s) if s.sent_at == at && s.ok && e.probes.contains(&s.probe))));
                after.push((phase("Recover", Some(at), format!("{}: recovered after {}", e.name, fmt_ms(e.after_fault(at)))), evidence));
            }
            if let (Some(at), Some(recovered)) = (e.confirmed_at.filter(|_| e.impact_start.is_some()), e.recovered_at) {
                let evidence = cite(Box::new(move |r| matches!(&r.event, Event::Sample(s) if s.sent_at.saturating_add(s.latency_ms) == at && s.ok && e.probes.contains(&s.probe))));
                let what = format!("{}: recovery confirmed by the last pass it needs (`healthy_after`), {} after the recovery point", e.name, fmt_ms(at.saturating_sub(recovered)));
                after.push((phase("Confirm", Some(at), what), evidence));
            }
        }
        for f in result.faults.iter().filter(|f| f.reverted) {
            let name = f.name.as_str();
            let evidence = cite(Box::new(move |r| matches!(&r.event, Event::FaultReverted { fault, .. } if fault == name)));
            after.push((phase("Revert done", f.ended_at, format!("`{}` reverted", f.name)), evidence));
        }
        let intended_probes = result.probes.iter().filter(|p| p.expected_during_fault).map(|p| p.name.as_str()).collect();
        PhaseFeed { result, intended_probes, windows: Default::default(), lookups, before, after }
    }

    /// The record at `index` (0-based) of the journal.
    pub(crate) fn push(&mut self, index: usize, record: &Record) {
        for lookup in self.lookups.iter_mut().filter(|l| l.line.is_none()) {
            if (lookup.wanted)(record) {
                lookup.line = Some(index + 1);
            }
        }
        let Some(from) = self.result.injection_started_at else { return };
        let Event::Sample(sample) = &record.event else { return };
        if sample.sent_at < from {
            return;
        }
        if !self.windows.contains_key(&sample.probe) {
            self.windows.insert(sample.probe.clone(), ProbeWindows::default());
        }
        let Some(probe) = self.windows.get_mut(&sample.probe) else { return };
        let open = probe.latest.as_ref().filter(|(_, w)| w.end.is_none()).map(|(_, w)| w.unsettled);
        // A probe meant to fail during the fault that goes from no state (no
        // writer) to the one it waits for (another writer) opens a new
        // window: impact, then intended.
        if let Some(unsettled) = open
            && !sample.ok
            && unsettled != sample.unsettled
            && self.intended_probes.contains(sample.probe.as_str())
            && let Some((_, window)) = probe.latest.as_mut()
        {
            window.end = Some((sample.sent_at, index + 1));
        }
        let open = probe.latest.as_ref().is_some_and(|(_, w)| w.end.is_none());
        match (open, sample.ok) {
            (false, false) => {
                probe.count += 1;
                let window = ImpactWindow { probe: sample.probe.clone(), start: sample.sent_at, start_line: index + 1, end: None, unsettled: sample.unsettled };
                // The window before it is not the probe's last: past the cap, it is counted, not listed, where it can be.
                if let Some((nth, earlier)) = probe.latest.replace((probe.count, window))
                    && (nth <= PHASE_WINDOWS_PER_PROBE || !fold(self.result, &self.intended_probes, probe, &earlier, nth))
                {
                    probe.kept.push((nth, earlier));
                }
            }
            (true, true) => {
                if let Some((_, window)) = probe.latest.as_mut() {
                    window.end = Some((sample.sent_at, index + 1));
                }
            }
            _ => {}
        }
    }

    pub(crate) fn finish(self) -> Vec<Phase> {
        let PhaseFeed { result, intended_probes, windows, lookups, before, after } = self;
        let cited = |(mut phase, lookup): (Phase, Option<usize>)| {
            if let Some(k) = lookup {
                phase.evidence = lookups[k].line.map_or("—".to_string(), |line| format!("journal line {line}"));
            }
            phase
        };
        let mut rows: Vec<Phase> = before.into_iter().map(cited).collect();
        let mut listed: Vec<(usize, usize, &ImpactWindow)> = Vec::new();
        for probe in windows.values() {
            listed.extend(probe.kept.iter().chain(&probe.latest).map(|(nth, w)| (*nth, probe.count, w)));
        }
        // In time order, as the windows opened.
        listed.sort_by_key(|(_, _, w)| (w.start, w.start_line));
        for (nth, count, w) in listed {
            window_rows(result, &intended_probes, w, nth, count, &mut rows);
        }
        for (name, probe) in &windows {
            for (fold, phase) in [(&probe.impact, "Impact"), (&probe.intended, "Intended")] {
                if fold.windows > 0 {
                    rows.push(fold.row(name, phase, probe.count));
                }
            }
        }
        rows.extend(after.into_iter().map(cited));
        // Phases in their order, each in time order (acknowledge has no time: people add it).
        let rank =
            |p: &Phase| ["Inject", "Intended", "Impact", "Detect", "Acknowledge", "Mitigate", "Recover", "Confirm", "Revert done"].iter().position(|n| *n == p.phase).unwrap_or(9);
        rows.sort_by_key(|p| (rank(p), p.at));
        rows
    }
}

/// Whether a probe's impact window is in its intended state: the probe is
/// meant to fail during a fault, and one was in place when the window opened.
fn is_intended(result: &RunResult, intended_probes: &std::collections::BTreeSet<&str>, w: &ImpactWindow) -> bool {
    !w.unsettled && intended_probes.contains(w.probe.as_str()) && result.faults.iter().any(|f| f.started_at.is_some_and(|s| s <= w.start && f.ended_at.is_none_or(|e| w.start < e)))
}

/// The end of the fault in place when an intended window opened.
fn fault_end_of(result: &RunResult, w: &ImpactWindow) -> Option<Millis> {
    result.faults.iter().filter(|f| f.started_at.is_some_and(|s| s <= w.start)).filter_map(|f| f.ended_at).filter(|e| *e > w.start).min()
}

/// Counts window `nth` of a probe (past the cap, not its last) in the
/// probe's folded row, unless it must be listed: it is still open, or it
/// outlasts its fault (two rows: intended, then impact). Whether it was.
fn fold(result: &RunResult, intended_probes: &std::collections::BTreeSet<&str>, probe: &mut ProbeWindows, w: &ImpactWindow, nth: usize) -> bool {
    let Some(end) = w.end else { return false };
    if !is_intended(result, intended_probes, w) {
        probe.impact.count(w, end, nth);
        return true;
    }
    if fault_end_of(result, w).is_some_and(|fault_end| end.0 > fault_end) {
        return false;
    }
    probe.intended.count(w, end, nth);
    true
}

/// The rows of a listed window: impact, or the intended state (then impact, for a window that outlasts its fault).
fn window_rows(result: &RunResult, intended_probes: &std::collections::BTreeSet<&str>, w: &ImpactWindow, nth: usize, count: usize, rows: &mut Vec<Phase>) {
    let number = if count > 1 { format!(" (window {nth} of {count})") } else { String::new() };
    let (what, evidence) = match w.end {
        Some((end, line)) => {
            (format!("`{}` failing{number} until {} ({})", w.probe, t(end), fmt_ms(end.saturating_sub(w.start))), format!("journal lines {}–{line}", w.start_line))
        }
        None => (format!("`{}` failing{number}, still failing at the end", w.probe), format!("journal line {}", w.start_line)),
    };
    // A probe meant to fail during the fault is in its intended state then, not impaired.
    if !is_intended(result, intended_probes, w) {
        rows.push(Phase { phase: "Impact", at: Some(w.start), what, evidence });
        return;
    }
    // The intended state lasts while the fault is in place; failing on after its end is impact (the fail-back).
    match (fault_end_of(result, w), w.end) {
        (Some(fault_end), end) if end.is_none_or(|(e, _)| e > fault_end) => {
            let until = end.map_or("still failing at the end".to_string(), |(e, _)| format!("failing until {} ({})", t(e), fmt_ms(e.saturating_sub(fault_end))));
            rows.push(Phase {
                phase: "Intended",
                at: Some(w.start),
                what: format!("`{}` in its intended state (expected during the fault) until the fault ended at {}", w.probe, t(fault_end)),
                evidence: evidence.clone(),
            });
            rows.push(Phase { phase: "Impact", at: Some(fault_end), what: format!("`{}` after the fault ended: {until}", w.probe), evidence });
        }
        _ => rows.push(Phase { phase: "Intended", at: Some(w.start), what: what.replacen("failing", "in its intended state (expected during the fault)", 1), evidence }),
    }
}

/// Inject, impact, detect, acknowledge, recover and revert, with the journal
/// line each time comes from, in one walk of the journal ([`PhaseFeed`]).
/// Impact has one row per window, so a probe that failed twice shows two.
pub fn phases(result: &RunResult, records: Records<'_>) -> Vec<Phase> {
    let mut feed = PhaseFeed::new(result);
    for (index, record) in records.iter().enumerate() {
        feed.push(index, &record);
    }
    feed.finish()
}

/// One RTO in a disaster-recovery scenario: an expected recovery counted
/// from the start of a `region_outage` or `dns_failover` fault. Where the
/// expectation has a failover verdict, the RTO is the failover: from the
/// fault's start until the last client moved (docs/metrics.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Rto {
    pub fault: String,
    pub kind: &'static str,
    pub expectation: String,
    pub target: Millis,
    /// The failover time, else the time to recover; `None` when neither was reached.
    pub achieved: Option<Millis>,
    /// `None` when the run measured nothing (it ended before the fault).
    pub met: Option<bool>,
    pub failover: Option<FailoverVerdict>,
    pub impact: bool,
}

impl Rto {
    /// The achieved RTO as people read it.
    pub fn achieved_text(&self) -> String {
        match (self.met, self.achieved) {
            (None, _) => "not measured".to_string(),
            (Some(_), Some(_)) if !self.impact => "no impact".to_string(),
            (Some(_), Some(a)) => crate::run::metrics::fmt_ms(a),
            (Some(_), None) if self.failover.is_some() => "not failed over".to_string(),
            (Some(_), None) => "not recovered".to_string(),
        }
    }

    pub fn verdict_text(&self) -> String {
        match (self.met, self.failover) {
            (None, _) => "—".into(),
            (Some(_), Some(FailoverVerdict::FaultNotEffective)) => "⚠️ fault not effective".into(),
            (Some(_), Some(v)) if v != FailoverVerdict::Met => format!("❌ {}", v.text()),
            (Some(true), _) => "✅ met".into(),
            (Some(false), _) => "❌ missed".into(),
        }
    }
}

/// What the Objectives table of report.md and report.html judges against.
pub const OBJECTIVES_INTRO: &str = "Judged against the objectives shared across scenarios, as kept in this run's directory (objectives.yaml): each RTO was its expectation's deadline, each availability target its error budget on request counts. gameday does not see data, so an RPO is a target to check in the debrief. Definitions: docs/metrics.md.";

/// The RTOs of a disaster-recovery scenario; empty for any other scenario.
pub fn rtos(scenario: &Scenario, result: &RunResult) -> Vec<Rto> {
    let mut rows = Vec::new();
    for fault in scenario.faults.iter().filter(|f| matches!(f.action.kind_name(), "region_outage" | "dns_failover")) {
        // An RTO counts from the fault's start and is a recovery: fail-back (`from: revert`) and `stays_healthy` are not RTOs.
        for expected in scenario.expected_recoveries.iter().filter(|e| e.reference_fault(&scenario.faults) == fault.name && e.from == ClockStart::Start && !e.stays_healthy) {
            let measured = result.expectations.iter().find(|e| e.name == expected.name);
            let failover = measured.and_then(|e| e.failover.as_ref());
            let recovered = measured.and_then(|e| e.time_to_recover.filter(|_| e.impact_start.is_none() || e.recovered_at.is_some()));
            rows.push(Rto {
                fault: fault.name.clone(),
                kind: fault.action.kind_name(),
                expectation: expected.name.clone(),
                target: expected.within().as_millis(),
                achieved: failover.map_or(recovered, |f| f.time_to_fail_over),
                met: measured.map(|e| e.met),
                failover: failover.map(|f| f.verdict),
                impact: measured.is_some_and(|e| e.impact_start.is_some() || e.kind == crate::run::metrics::ExpectationKind::FailsOver),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::run::result::result_from_journal;

    /// A finished az-loss run (the fuzz seed), with a drill's people's
    /// records added so the drill measures are rendered too.
    fn journal() -> Vec<Record> {
        let drill = [
            r#"{"t":0,"wall":"","event":"drill_started","runbook":"runbooks/az-loss.md","speed":"1x","steps":[{"number":1,"title":"Look (T0+2m)","due":120000,"line":3},{"number":2,"title":"Shift","due":600000,"line":5}],"actions":[]}"#,
            r#"{"t":60000,"wall":"","event":"step_acknowledged","step":1}"#,
            r#"{"t":90000,"wall":"","event":"step_done","step":1}"#,
            r#"{"t":95000,"wall":"","event":"step_annotated","step":2,"note":"which dashboard?","unclear":true}"#,
            r#"{"t":100000,"wall":"","event":"operator_action_taken","action":"shift","step":2,"by":"people","detail":"shifted"}"#,
            r#"{"t":110000,"wall":"","event":"step_done","step":2}"#,
        ];
        let seed = include_str!("../../fuzz/corpus/journal_reader/az-loss-finished.jsonl");
        let mut records: Vec<Record> = seed.lines().chain(drill).map(|line| serde_json::from_str(line).expect("the seed journal is readable")).collect();
        // The run's end stays last, as a run writes it.
        let ended = records.iter().position(|r| matches!(r.event, Event::RunEnded { .. })).expect("the seed run ended");
        let run_ended = records.remove(ended);
        records.push(run_ended);
        records
    }

    fn scenario() -> Scenario {
        crate::scenario::parse_str(include_str!("../../scenarios/az-loss.yaml"), None).expect("az-loss is valid")
    }

    /// Sets a record's time, and a sample's own time with it.
    fn set_time(record: &mut Record, t: Millis) {
        record.t = t;
        if let Event::Sample(sample) = &mut record.event {
            sample.sent_at = t;
        }
    }

    /// Every format rendered from the records, as `gameday report` does; the total size.
    fn rendered_size(scenario: &Scenario, records: &[Record]) -> usize {
        let records = Records::of(records);
        let result = result_from_journal(scenario, records);
        let runbook = scenario.runbook.clone().map(|name| RunbookRef { name, copy: Some("runbook.md".into()) });
        let rendered = render_all(scenario, &result, records, runbook, None, None);
        rendered.files.iter().map(|(_, text)| text.len()).sum::<usize>() + result.outcome.summary().len()
    }

    /// A probe meant to fail during the fault that flaps through it: its
    /// windows past the cap are counted per phase (intended during the fault,
    /// impact after it), the window that runs past the fault's end is listed
    /// (its two rows say what each part was), and so is the last.
    #[test]
    fn a_flapping_probes_windows_past_the_cap_are_counted_per_phase() {
        let sample = |t: Millis, ok: bool| {
            let json = format!(r#"{{"t":{t},"wall":"","event":"sample","probe":"api","sent_at":{t},"latency_ms":1,"ok":{ok},"observed":""}}"#);
            serde_json::from_str::<Record>(&json).unwrap()
        };
        let mut records = journal();
        let run_ended = records.pop().expect("the run's end");
        // `api` fails at 5 s (in the seed) until 10 s, then fails every other second from 20 s: 21 windows.
        records.push(sample(10_000, true));
        records.extend((0..40).map(|i| sample(20_000 + i * 1_000, i % 2 == 1)));
        records.push(run_ended);
        let scenario = scenario();
        let mut result = result_from_journal(&scenario, Records::of(&records));
        result.probes.iter_mut().filter(|p| p.name == "api").for_each(|p| p.expected_during_fault = true);
        // The fault is in place from 1 s to 40.5 s: window 12 (40 s to 41 s) runs past its end.
        result.faults.truncate(1);
        (result.faults[0].started_at, result.faults[0].ended_at) = (Some(1_000), Some(40_500));
        let rows: Vec<Phase> = phases(&result, Records::of(&records)).into_iter().filter(|p| p.what.starts_with("`api`")).collect();
        let what = |phase: &str| rows.iter().filter(|p| p.phase == phase).map(|p| p.what.as_str()).collect::<Vec<_>>();
        let (intended, impact) = (what("Intended"), what("Impact"));
        // Windows 1–10 listed, 11 counted, 12 listed in its two parts, 13–20 counted, 21 listed.
        assert_eq!(intended.len(), 12, "{intended:#?}");
        assert!(intended[..10].iter().enumerate().all(|(i, w)| w.contains(&format!("(window {} of 21)", i + 1))), "{intended:#?}");
        assert!(intended.iter().any(|w| w.contains("in 1 more window starting from T+38s to T+38s (windows 11–11 of 21), 1s in all")), "{intended:#?}");
        assert!(intended.iter().any(|w| w.contains("until the fault ended at T+40.5s")), "{intended:#?}");
        assert_eq!(impact.len(), 3, "{impact:#?}");
        assert!(impact.iter().any(|w| w.starts_with("`api` after the fault ended: failing until T+41s")), "{impact:#?}");
        assert!(impact.iter().any(|w| w.contains("failing in 8 more windows starting from T+42s to T+56s (windows 13–20 of 21), 8s in all")), "{impact:#?}");
        assert!(impact.iter().any(|w| w.contains("(window 21 of 21) until T+59s")), "{impact:#?}");
    }

    #[test]
    fn each_impact_window_of_a_probe_that_failed_more_than_once_is_numbered() {
        let sample = |t: Millis, probe: &str, ok: bool| {
            let json = format!(r#"{{"t":{t},"wall":"","event":"sample","probe":"{probe}","sent_at":{t},"latency_ms":1,"ok":{ok},"observed":""}}"#);
            serde_json::from_str::<Record>(&json).unwrap()
        };
        let mut records = journal();
        let run_ended = records.pop().expect("the run's end");
        // `api` fails at 5 s (in the seed), then again from 20 s to 30 s; `capacity` fails once.
        records.extend([
            sample(10_000, "api", true),
            sample(15_000, "capacity", false),
            sample(20_000, "api", false),
            sample(25_000, "capacity", true),
            sample(30_000, "api", true),
        ]);
        records.push(run_ended);
        let scenario = scenario();
        let result = result_from_journal(&scenario, Records::of(&records));
        let rows: Vec<String> = phases(&result, Records::of(&records)).into_iter().filter(|p| p.phase == "Impact" || p.phase == "Intended").map(|p| p.what).collect();
        let of = |probe: &str| rows.iter().filter(|w| w.contains(&format!("`{probe}`"))).cloned().collect::<Vec<_>>();
        let api = of("api");
        assert_eq!(api.len(), 2, "{rows:?}");
        assert!(api[0].contains("(window 1 of 2) until T+10s") && api[1].contains("(window 2 of 2) until T+30s"), "{api:?}");
        assert!(of("capacity").iter().all(|w| !w.contains("(window")), "{rows:?}");
    }

    const EXTREMES: [Millis; 7] = [0, 1, 1 << 53, (1 << 53) + 1, crate::run::result::MAX_RUN_TIME, Millis::MAX - 1, Millis::MAX];

    /// The renderers' output grows with the journal, never with the times
    /// in it: at most twice what the undamaged journal renders to.
    fn bound(scenario: &Scenario) -> usize {
        2 * rendered_size(scenario, &journal())
    }

    #[test]
    fn every_record_at_every_extreme_time_renders_within_bounds() {
        let (scenario, bound) = (scenario(), bound(&scenario()));
        for index in 0..journal().len() {
            for t in EXTREMES {
                let mut records = journal();
                set_time(&mut records[index], t);
                let size = rendered_size(&scenario, &records);
                assert!(size <= bound, "record {index} at t={t}: {size} bytes rendered, bound {bound}");
            }
        }
    }

    #[test]
    fn times_that_go_backwards_or_out_of_order_render_within_bounds() {
        let (scenario, bound) = (scenario(), bound(&scenario()));
        let mut reversed = journal();
        reversed.reverse();
        let mut decreasing = journal();
        let count = decreasing.len() as Millis;
        for (i, record) in decreasing.iter_mut().enumerate() {
            set_time(record, Millis::MAX - (i as Millis) * (Millis::MAX / count));
        }
        for records in [reversed, decreasing] {
            let size = rendered_size(&scenario, &records);
            assert!(size <= bound, "{size} bytes rendered, bound {bound}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any times (extreme or not), in any order: the result and every
        /// format are computed without a panic, and stay within bounds.
        #[test]
        fn any_times_in_any_order_render_within_bounds(
            times in proptest::collection::vec(prop_oneof![proptest::sample::select(EXTREMES.to_vec()), any::<Millis>(), 0..2_000_000u64], 25),
            shuffle in any::<bool>(),
            swaps in proptest::collection::vec((0..25usize, 0..25usize), 0..8),
        ) {
            let scenario = scenario();
            let mut records = journal();
            for (record, t) in records.iter_mut().zip(times) {
                set_time(record, t);
            }
            if shuffle {
                for (a, b) in swaps {
                    let len = records.len();
                    records.swap(a % len, b % len);
                }
            }
            let size = rendered_size(&scenario, &records);
            prop_assert!(size <= bound(&scenario), "{} bytes rendered", size);
        }
    }
}
