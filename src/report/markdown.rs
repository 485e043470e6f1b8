//! The learning report, `report.md`: a postmortem whose timeline, metrics
//! and expected-versus-observed table are filled in from the run, with the
//! human sections laid out for the team's debrief.

use std::fmt::Write as _;

use crate::run::journal::{Actor, Event, Record, Records};
use crate::run::{Outcome, RunResult};
use crate::scenario::Scenario;

/// What the report needs besides the result.
pub struct ReportContext<'a> {
    pub scenario: &'a Scenario,
    pub result: &'a RunResult,
    /// What every report cites from the journal, gathered in one walk of it.
    pub walked: super::Walked<'a>,
    /// The scenario's runbook, and its copy next to the report.
    pub runbook: Option<super::RunbookRef>,
    /// What people wrote at the debrief (or the blank template).
    pub human: super::human::Sections,
    /// Blaming wording found in `human`.
    pub flags: Vec<super::human::Flag>,
    /// What the twin predicted before the run (`prediction.json`), if it was asked.
    pub prediction: Option<&'a crate::predict::Prediction>,
}

use super::tables;

pub(crate) fn outcome_badge(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::HypothesisHeld => "✅ Hypothesis held",
        Outcome::RecoveryMissed { .. } => "❌ Recovery missed",
        Outcome::AbortedByGuard { .. } => "🛑 Aborted by a guard",
        Outcome::FaultNotEffective { .. } => "⚠️ A fault did not take effect",
        Outcome::EnvironmentError { .. } => "⚠️ Environment error",
        Outcome::Interrupted => "⏹ Interrupted",
        Outcome::RevertIncomplete { .. } => "🚨 Revert incomplete: a person must act",
        Outcome::JournalFailed { unrecorded, .. } if !unrecorded.is_empty() => "🚨 Journal incomplete: a person must confirm the reverts",
        Outcome::JournalFailed { .. } => "⚠️ The journal could not be written",
    }
}

pub fn render(ctx: &ReportContext<'_>) -> String {
    // Text from the world (a command's output in the outcome, say) may hold
    // terminal colours: none reaches the file.
    super::text::strip_terminal_codes(&render_unstripped(ctx))
}

fn render_unstripped(ctx: &ReportContext<'_>) -> String {
    let (scenario, result) = (ctx.scenario, ctx.result);
    let mut out = String::new();
    let title = scenario.title.as_deref().unwrap_or(&scenario.name);
    let _ = writeln!(out, "# Game day: {title}\n");
    let _ = writeln!(out, "**{}** — {}\n", outcome_badge(&result.outcome), result.outcome.summary());
    out.push_str(&tables::facts(ctx).to_markdown());
    let _ = writeln!(out, "{}", ctx.human.marked("postmortem"));

    let _ = writeln!(out, "## Summary\n");
    let met = result.expectations.iter().filter(|e| e.met).count();
    let injected: Vec<String> = result
        .faults
        .iter()
        .filter(|f| f.started_at.is_some())
        .map(|f| format!("`{}` ({}, {} target(s))", f.name, f.kind, f.targets.len().max(usize::from(f.targets.is_empty()))))
        .collect();
    let _ = writeln!(
        out,
        "{} fault(s) injected: {}. {met} of {} expected recoveries met.\n",
        injected.len(),
        if injected.is_empty() { "none".to_string() } else { injected.join(", ") },
        result.expectations.len()
    );
    let _ = writeln!(out, "{}", ctx.human.marked("summary"));

    let _ = writeln!(out, "## Impact\n");
    for e in &result.expectations {
        let _ = writeln!(out, "- **{}** ({}): {}.", e.name, e.probes.join(", "), tables::impact_sentence(e, result));
    }
    if result.expectations.is_empty() {
        let _ = writeln!(out, "No fault was injected, so nothing was measured.");
    }
    out.push('\n');

    let _ = writeln!(out, "## Hypothesis and outcome\n");
    if let Some(hypothesis) = &scenario.hypothesis {
        for line in hypothesis.trim().lines() {
            let _ = writeln!(out, "> {line}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "**Outcome:** {}\n", result.outcome.summary());
    parts(&mut out, ctx, super::postmortem::account(ctx));

    let _ = writeln!(out, "## Phase times\n");
    let _ = writeln!(out, "When each phase began, from the journal. Several impact rows for one probe mean it failed more than once.\n");
    out.push_str(&tables::phases(ctx).to_markdown());

    if scenario.faults.iter().any(|f| matches!(f.action.kind_name(), "region_outage" | "dns_failover")) {
        let _ = writeln!(out, "## Disaster recovery\n");
        match tables::disaster_recovery(ctx) {
            None => {
                let _ = writeln!(out, "No expected recovery starts its clock at the disaster-recovery fault, so no RTO was measured.\n");
            }
            Some(table) => {
                let _ = writeln!(
                    out,
                    "The achieved RTO is the failover time: from the fault to the moment the last client (probe) moved, by the expectation's failover verdict (docs/metrics.md).\n"
                );
                out.push_str(&table.to_markdown());
            }
        }
        let _ = writeln!(
            out,
            "**RPO: not measured.** No probe in this scenario can see data loss or replication lag (gameday's probes check availability). Read the RPO from the data stores' own metrics and note it under “People's steps”.\n"
        );
    }

    if let Some(table) = tables::region_switch(ctx) {
        let _ = writeln!(out, "## Region switch\n");
        let _ = writeln!(
            out,
            "ARC's actual recovery time runs from the plan execution's start until the plan's steps are done and its application health alarms are healthy again; gameday's runs from the step's start to the latest recovery point of the expectations that count from it, seen by gameday's probes (docs/metrics.md, \"Region switch recovery\").\n"
        );
        out.push_str(&table.to_markdown());
    }

    if let Some(table) = tables::objectives(ctx) {
        let _ = writeln!(out, "## Objectives\n");
        let _ = writeln!(out, "{}\n", super::OBJECTIVES_INTRO);
        out.push_str(&table.to_markdown());
    }

    if let Some(table) = tables::practice_run(ctx) {
        let _ = writeln!(out, "## Practice run\n");
        let _ = writeln!(
            out,
            "ARC's outcome is judged by the practice-run configuration's outcome alarms; beside it, what gameday's own probes saw from the step's start until gameday read the outcome (docs/metrics.md, \"Practice run\").\n"
        );
        out.push_str(&table.to_markdown());
    }

    let _ = writeln!(out, "## Metrics\n");
    let _ = writeln!(
        out,
        "Times are counted from each expectation's clock: its fault's start, or its revert with `from: revert`; time to detect always from the fault's start. Definitions: docs/metrics.md.\n"
    );
    out.push_str(&tables::metrics(ctx).to_markdown());

    if let (Some(prediction), Some((table, outside))) = (ctx.prediction, tables::twin_prediction(ctx)) {
        let _ = writeln!(
            out,
            "## Predicted against measured
"
        );
        let _ = writeln!(
            out,
            "Before the run, the twin ({}) ran this scenario for {} seeds; its times beside what the run measured. Definitions: docs/metrics.md, “Predicted times”.\n",
            prediction.twin,
            prediction.seeds.len()
        );
        out.push_str(&table.to_markdown());
        if outside {
            let _ = writeln!(out, "{}\n", tables::TWIN_ADVICE);
        }
        if !prediction.not_predicted.is_empty() {
            let _ = writeln!(out, "Not predicted (the twin does not model it):\n");
            for n in &prediction.not_predicted {
                let _ = writeln!(out, "- {}: {}", n.what, n.why);
            }
            out.push('\n');
        }
    }

    if let Some(drill) = &result.drill {
        let section = super::drill::section(drill, scenario.faults.first().map(|f| f.name.as_str()));
        let _ = writeln!(out, "## The team's response (drill)\n\n{}\n", section.intro);
        out.push_str(&tables::drill_table(&super::drill::RESPONSE_HEADER, &section.response).to_markdown());
        let _ = writeln!(out, "### Runbook steps\n");
        out.push_str(&tables::drill_table(&super::drill::STEPS_HEADER, &section.steps).to_markdown());
        let _ = writeln!(out, "### Where people waited\n");
        if section.waits.is_empty() {
            let _ = writeln!(out, "No step waited a minute or more to be taken up (only steps acknowledged before they were done are measured).\n");
        } else {
            for wait in &section.waits {
                let _ = writeln!(out, "- {wait}");
            }
            out.push('\n');
        }
        let _ = writeln!(out, "### Operator actions\n");
        if section.actions.is_empty() {
            let _ = writeln!(out, "No operator action was taken.\n");
        } else {
            out.push_str(&tables::drill_table(&super::drill::ACTIONS_HEADER, &section.actions).to_markdown());
        }
        let _ = writeln!(out, "### Observations\n");
        if section.observations.is_empty() {
            let _ = writeln!(out, "Nobody recorded an observation.\n");
        } else {
            for observation in &section.observations {
                let _ = writeln!(out, "- {observation}");
            }
            out.push('\n');
        }
        let _ = writeln!(out, "### Runbook gaps (proposed action items)\n");
        if section.gaps.is_empty() {
            let _ = writeln!(out, "The drill found no gap in the runbook: every step with a time was done on time, none was skipped or marked unclear.\n");
        } else {
            let _ = writeln!(out, "From the drill; they are also in the action items below, to keep, change or drop at the debrief.\n");
            for gap in &section.gaps {
                let _ = writeln!(out, "- {gap}");
            }
            out.push('\n');
        }
    }

    let _ = writeln!(out, "## Expected against observed\n");
    out.push_str(&tables::expected_against_observed(ctx).to_markdown());

    let _ = writeln!(out, "## Timeline\n");
    let _ = writeln!(out, "Every row comes from the run's journal (`journal.jsonl`); the evidence column says which record.\n");
    out.push_str(&tables::timeline(ctx).to_markdown());

    let _ = writeln!(out, "## Faults\n");
    out.push_str(&tables::faults(ctx).to_markdown());

    let _ = writeln!(out, "## Probes\n");
    out.push_str(&tables::probes(ctx).to_markdown());

    parts(&mut out, ctx, super::postmortem::lessons(ctx));
    if !ctx.flags.is_empty() {
        let _ = writeln!(out, "## Blameless check\n");
        let _ = writeln!(out, "gameday noticed wording that good debrief guides advise against. It flags words; it does not judge. Consider rewording:\n");
        for flag in &ctx.flags {
            let _ = writeln!(out, "- **{}**: “{}” in “{}”: {}", flag.section, flag.phrase, flag.line.replace('|', "\\|"), flag.advice);
        }
        out.push('\n');
    }
    out
}

/// The postmortem's sections, each with the human sections under it.
fn parts(out: &mut String, ctx: &ReportContext<'_>, parts: Vec<super::postmortem::Part>) {
    for part in parts {
        let _ = writeln!(out, "## {}\n", part.heading);
        for paragraph in &part.paragraphs {
            let _ = writeln!(out, "{paragraph}\n");
        }
        if let Some(table) = &part.table {
            out.push_str(&table.to_markdown());
        }
        for id in part.human {
            if ctx.human.title(id) != part.heading {
                let _ = writeln!(out, "### {}\n", ctx.human.title(id));
            }
            let _ = writeln!(out, "{}", ctx.human.marked(id));
        }
    }
}

/// The timeline rows: (time, the record's wall clock, what happened,
/// evidence). Probe samples are folded into state changes, so the table
/// shows when a probe started failing and when it passed again, citing the
/// sample.
///
/// A probe that changes state more than [`TIMELINE_CHANGES_PER_PROBE`] times
/// (a flapping probe: one row per change would grow with the run's length,
/// 100,000 rows nobody reads) has its first changes listed, then one row
/// that counts the changes in between with their journal lines, then its
/// last change: the rows grow with the number of probes, not the run's
/// length, and every change is still counted and cited (docs/reports.md).
pub fn timeline(records: Records<'_>) -> Vec<(u64, String, String, String)> {
    let mut feed = TimelineFeed::default();
    for (index, record) in records.iter().enumerate() {
        feed.push(index, &record);
    }
    feed.finish()
}

/// The timeline fed one record at a time ([`timeline`]), so it shares a walk of the journal with the other parts.
#[derive(Default)]
pub(crate) struct TimelineFeed {
    rows: Vec<(u64, String, String, String)>,
    describer: Describer,
    folds: std::collections::BTreeMap<String, Fold>,
}

impl TimelineFeed {
    /// The record at `index` (0-based) of the journal.
    pub(crate) fn push(&mut self, index: usize, record: &Record) {
        let Some(what) = self.describer.describe(record) else { return };
        let change = Change { t: record.t, wall: record.wall.clone(), what, line: index + 1 };
        let Event::Sample(sample) = &record.event else {
            self.rows.push(change.row());
            return;
        };
        // A row for a sample is a state change of its probe.
        let fold = self.folds.entry(sample.probe.clone()).or_default();
        fold.changes += 1;
        if fold.changes <= TIMELINE_CHANGES_PER_PROBE {
            self.rows.push(change.row());
            return;
        }
        // Past the cap, each change is held back until the next one comes, so
        // the probe's last change is listed and the ones before it are counted.
        if let Some((held, failing)) = fold.last.replace((change, !sample.ok)) {
            fold.folded.count(held, failing);
        }
    }

    pub(crate) fn finish(self) -> Vec<(u64, String, String, String)> {
        let mut rows = self.rows;
        for (probe, fold) in self.folds {
            rows.extend(fold.folded.row(&probe));
            rows.extend(fold.last.map(|(change, _)| change.row()));
        }
        // The environment reports what it did on its own when next asked, so
        // its observations can be journaled after later samples: order by time.
        rows.sort_by_key(|(t, _, _, _)| *t);
        rows
    }
}

/// How many state changes of one probe the timeline lists before it counts
/// the rest in one row (docs/reports.md, "Timeline").
pub const TIMELINE_CHANGES_PER_PROBE: usize = 20;

/// A timeline row before it is rendered: its time, the record's wall
/// clock, what happened and the record's journal line (1-based).
struct Change {
    t: u64,
    wall: String,
    what: String,
    line: usize,
}

impl Change {
    fn row(self) -> (u64, String, String, String) {
        (self.t, self.wall, self.what, format!("journal line {}", self.line))
    }
}

/// One probe's state changes in the timeline, for the cap.
#[derive(Default)]
struct Fold {
    changes: usize,
    /// The latest change past the cap, and whether it is a failure: listed at the end.
    last: Option<(Change, bool)>,
    folded: Folded,
}

/// The changes past the cap, but the last: counted, not listed.
#[derive(Default)]
struct Folded {
    count: usize,
    failures: usize,
    first: Option<Change>,
    /// The last one's time and journal line.
    last: (u64, usize),
}

impl Folded {
    fn count(&mut self, change: Change, failing: bool) {
        self.count += 1;
        self.failures += usize::from(failing);
        self.last = (change.t, change.line);
        self.first.get_or_insert(change);
    }

    /// One row for them all, at the first one's time; `None` when there were none.
    fn row(self, probe: &str) -> Option<(u64, String, String, String)> {
        let first = self.first?;
        let (end, last_line) = self.last;
        let text = format!(
            "Probe `{probe}` flapping: {} more state changes ({} failing, {} passing again) from {} to {}, counted here, not listed; the first: {}",
            self.count,
            self.failures,
            self.count - self.failures,
            super::t(first.t),
            super::t(end),
            first.what,
        );
        let evidence = if first.line == last_line { format!("journal line {last_line}") } else { format!("journal lines {}–{last_line}", first.line) };
        Some((first.t, first.wall, text, evidence))
    }
}

/// Turns journal records into timeline lines, one at a time (the drill
/// console shows them live). Samples only show when a probe changes state.
#[derive(Default)]
pub struct Describer {
    probe_ok: std::collections::BTreeMap<String, bool>,
}

impl Describer {
    pub fn describe(&mut self, record: &Record) -> Option<String> {
        let probe_ok = &mut self.probe_ok;
        match &record.event {
            Event::RunStarted { environment, account, seed, .. } => Some(format!("Run started on {environment} (account {account}, seed {seed})")),
            Event::GuardsJudged { phase, verdicts } => {
                let failed: Vec<String> =
                    verdicts.iter().filter(|v| !v.passed).map(|v| format!("{}{}: {}", v.guard, if v.enforced { "" } else { " (not enforced)" }, v.detail)).collect();
                Some(if verdicts.is_empty() {
                    format!("Guards checked {phase}: none set")
                } else if failed.is_empty() {
                    format!("Guards checked {phase}: all {} passed", verdicts.len())
                } else {
                    format!("Guards checked {phase}: {}", failed.join("; "))
                })
            }
            Event::SteadyState { healthy, detail } => Some(format!("Steady state {}: {detail}", if *healthy { "healthy" } else { "NOT healthy" })),
            Event::InjectionStarted => Some("Injection started".to_string()),
            Event::FaultIntent { fault, kind, targets, .. } => {
                Some(format!("Injecting `{fault}` ({kind}){}", if targets.is_empty() { String::new() } else { format!(" on {} target(s)", targets.len()) }))
            }
            Event::FaultApplied { fault } => Some(format!("Fault `{fault}` in place")),
            Event::FaultFailed { fault, error } => Some(format!("Fault `{fault}` did not take effect: {error}")),
            Event::RevertIntent { fault } => Some(format!("Reverting `{fault}`")),
            Event::FaultReverted { fault, outcome } => {
                Some(format!("Fault `{fault}` reverted{}", if outcome.skipped.is_empty() { String::new() } else { format!(" ({} already gone)", outcome.skipped.len()) }))
            }
            Event::RevertFailed { fault, error } => Some(format!("**Revert of `{fault}` failed**: {error}")),
            Event::Sample(sample) => {
                let before = probe_ok.insert(sample.probe.clone(), sample.ok);
                match (before, sample.ok) {
                    (Some(true), false) | (None, false) => Some(format!("Probe `{}` failing: {}", sample.probe, sample.observed)),
                    (Some(false), true) => Some(format!("Probe `{}` passing again: {}", sample.probe, sample.observed)),
                    _ => None,
                }
            }
            Event::Observed(observation) => Some(format!("{}: {}", observation.source, observation.message)),
            Event::PlanExecutionEnded(end) => Some(format!(
                "Region switch execution {} of `{}` ended: {}{}",
                end.execution_id,
                end.fault,
                end.state,
                end.actual_recovery_time.as_deref().map(|t| format!(", ARC's actual recovery time {t}")).unwrap_or_default()
            )),
            Event::PracticeRunEnded(end) => Some(format!("Practice run {} of `{}` ended: {}", end.zonal_shift_id, end.fault, end.outcome.as_str())),
            Event::AlarmChanged { alarm, state } => Some(format!("gameday read alarm `{alarm}`: {state}")),
            Event::AlarmUnreadable { alarm, error } => Some(format!("gameday could not read alarm `{alarm}`: {error}")),
            Event::StopConditionTripped { condition } => Some(format!("**Stop condition tripped**: {condition}")),
            Event::Interrupted { signal } => Some(format!("Interrupted ({signal})")),
            Event::RunEnded { outcome, .. } => Some(format!("Run ended: {outcome}")),
            Event::DrillStarted { runbook, speed, steps, actions, .. } => {
                Some(format!("Drill started at {speed}: {} step(s) of {runbook}, {} operator action(s) on offer", steps.len(), actions.len()))
            }
            Event::StepAcknowledged { step } => Some(format!("👤 Step {step} acknowledged")),
            Event::StepDone { step } => Some(format!("👤 Step {step} done")),
            Event::StepSkipped { step, reason } => Some(format!("👤 Step {step} skipped{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())),
            Event::StepAnnotated { step, note, unclear } => Some(format!("👤 Note on step {step}{}: “{note}”", if *unclear { " (unclear)" } else { "" })),
            Event::TeamObservation { text } => Some(format!("👤 Observation: “{text}”")),
            Event::OperatorActionTaken { action, by, detail, .. } => Some(format!(
                "👤 Action `{action}` ({}): {detail}",
                match by {
                    Actor::People => "done by people",
                    Actor::Gameday => "applied by gameday",
                }
            )),
            Event::OperatorActionFailed { action, error } => Some(format!("👤 **Action `{action}` failed**: {error}")),
            Event::TornLineClosed => Some("The journal's previous line was torn by a crash mid-write; writing resumed here".to_string()),
        }
    }
}
