//! The postmortem's sections that read the run — detection, response,
//! resolution, the question of why tests did not find it, supporting links
//! — each with the sections people write under it. Built once as data and
//! rendered by `markdown` and `html` alike, so the two files cannot drift.

use crate::run::metrics::{ExpectationResult, fmt_ms};
use crate::run::{FaultResult, RunResult};

use super::table::{Cell, Table};
use super::{ReportContext, t};

/// One section: a heading, paragraphs (text with `code` and **bold**
/// marks), an optional table, and the human sections that follow it. A
/// human section whose title is the heading is shown without a heading of
/// its own.
pub struct Part {
    pub heading: &'static str,
    pub paragraphs: Vec<String>,
    pub table: Option<Table>,
    pub human: Vec<&'static str>,
}

/// The sections after "Hypothesis and outcome": how the failure was
/// detected, how people responded, and what resolved it.
pub fn account(ctx: &ReportContext<'_>) -> Vec<Part> {
    vec![
        Part {
            heading: "Detection",
            paragraphs: vec![
                "Time to detect counts from the fault's start, by the expectation's `detected_by` signals; the lag is how long those signals trailed the first failing sample (definitions: docs/metrics.md).".into(),
            ],
            table: Some(detection(ctx)),
            human: vec!["detection"],
        },
        Part { heading: "Response", paragraphs: vec![response(ctx.result)], table: None, human: vec!["people-steps", "runbook"] },
        Part {
            heading: "Resolution",
            paragraphs: vec![
                "What came just before each recovery, in the journal's order of events: the system's own recovery while the fault was still in place, the fault's revert, or a person's action in a drill.".into(),
            ],
            table: Some(resolution(ctx.result)),
            human: vec!["resolution"],
        },
    ]
}

/// The sections after the evidence: lessons, the tests question, action
/// items, supporting links and participants.
pub fn lessons(ctx: &ReportContext<'_>) -> Vec<Part> {
    let missed: Vec<String> = ctx.result.expectations.iter().filter(|e| !e.met).map(|e| format!("“{}” ({})", e.name, e.misses.join("; "))).collect();
    let tests = if missed.is_empty() {
        "Every expected recovery was met. Note anything this run showed that no test covers.".to_string()
    } else {
        format!("Missed in this run: {}.", missed.join(", "))
    };
    vec![
        Part {
            heading: "Lessons learned",
            paragraphs: vec![
                "Fill these in at the debrief. Keep it blameless: describe what people knew and did at the time, and why it made sense to them. Write between the `gameday:begin` and `gameday:end` markers of `report.md`: `gameday report` keeps that text when it renders the report again.".into(),
            ],
            table: None,
            human: vec!["went-well", "went-wrong", "lucky", "surprises", "factors"],
        },
        Part { heading: "Why did our existing tests not find this?", paragraphs: vec![tests], table: None, human: vec!["tests"] },
        Part { heading: "Action items", paragraphs: Vec::new(), table: None, human: vec!["action-items"] },
        Part { heading: "Supporting links", paragraphs: Vec::new(), table: Some(links(ctx)), human: vec!["links"] },
        Part { heading: "Participants", paragraphs: Vec::new(), table: None, human: vec!["participants"] },
    ]
}

/// Per expected recovery: when users were first hit, when the team's
/// signals fired and by which, and how far they lagged.
pub fn detection(ctx: &ReportContext<'_>) -> Table {
    let mut table = Table::new(&["Expected recovery", "First failing sample", "Time to detect", "Detected by", "Lag behind the impact", "Target", "Signals named"]);
    for e in &ctx.result.expectations {
        let target = ctx.scenario.expected_recoveries.iter().find(|x| x.name == e.name).and_then(|x| x.detected_within).map_or("—".into(), |d| fmt_ms(d.as_millis()));
        let measured = !e.detection_signals.is_empty();
        table.row(vec![
            Cell::text(&e.name),
            Cell::text(e.impact_start.map_or("no impact".into(), t)),
            Cell::text(match e.time_to_detect {
                Some(d) => fmt_ms(d),
                None if measured => "not detected".into(),
                None => "not measured".into(),
            }),
            Cell::text(e.detected_by.as_ref().map_or("—".into(), ToString::to_string)),
            Cell::text(e.detected_after_impact.map_or("—".into(), fmt_ms)),
            Cell::text(target),
            Cell::marked(if measured {
                e.detection_signals.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            } else {
                "none: add `detected_by` to measure detection".into()
            }),
        ]);
    }
    table
}

fn response(result: &RunResult) -> String {
    let Some(drill) = &result.drill else {
        return "gameday saw no people in this run: record below when they noticed, acknowledged, decided and acted.".into();
    };
    let r = &drill.response;
    let acknowledged = r.acknowledged_at.map_or("nobody acknowledged".into(), |at| format!("people acknowledged at {}", t(at)));
    let mitigated = match drill.actions.iter().find(|a| !a.failed && Some(a.at) == r.mitigated_at) {
        Some(action) => format!("mitigated with `{}` at {}", action.name, t(action.at)),
        None => "took no operator action".into(),
    };
    format!("In the drill, {acknowledged} and {mitigated}; the whole chain is in “The team's response (drill)” below.")
}

/// What came just before each recovery.
fn resolution(result: &RunResult) -> Table {
    let mut table = Table::new(&["Expected recovery", "Recovered", "What came just before"]);
    for e in &result.expectations {
        let fault = result.faults.iter().find(|f| f.name == e.fault);
        let (recovered, what) = resolved_by(e, fault, result);
        table.row(vec![Cell::text(&e.name), Cell::text(recovered), Cell::marked(what)]);
    }
    table
}

fn resolved_by(e: &ExpectationResult, fault: Option<&FaultResult>, result: &RunResult) -> (String, String) {
    if fault.is_none_or(|f| f.started_at.is_none()) {
        return ("not measured".into(), format!("the fault `{}` never started", e.fault));
    }
    if e.impact_start.is_none() {
        let why = if e.intended > 0 { "the probes failed only in their intended state" } else { "the probes never failed" };
        return ("no impact".into(), format!("nothing to resolve: {why}"));
    }
    let Some(at) = e.recovered_at else {
        return ("not recovered".into(), "nothing: the service had not recovered by the end of the run".into());
    };
    let action = result.drill.iter().flat_map(|d| &d.actions).filter(|a| !a.failed && a.at <= at).max_by_key(|a| a.at);
    let reverted = fault.and_then(|f| f.ended_at).filter(|end| *end <= at);
    let what = match (action, reverted) {
        (Some(a), revert) if revert.is_none_or(|r| a.at >= r) => format!("a person's action: `{}` at {}", a.name, t(a.at)),
        (_, Some(end)) => format!("the revert of `{}` at {}", e.fault, t(end)),
        _ => format!("the system's own recovery, while `{}` was still in place", e.fault),
    };
    (t(at), what)
}

/// The files of the run directory, and the scenario's own links.
pub fn links(ctx: &ReportContext<'_>) -> Table {
    let mut table = Table::new(&["Link", "What"]);
    let file = |name: &str| Cell::File { text: name.to_string(), target: name.to_string() };
    if let Some(super::RunbookRef { copy: Some(copy), name }) = &ctx.runbook {
        table.row(vec![Cell::File { text: name.clone(), target: copy.clone() }, Cell::text("the runbook, as it was on the day")]);
    }
    table.row(vec![file("journal.jsonl"), Cell::text("every event of the run, the evidence each row above cites")]);
    table.row(vec![file("result.json"), Cell::text("the measurements, for scripts")]);
    table.row(vec![file("scenario.yaml"), Cell::text("the scenario as it was run")]);
    for link in &ctx.scenario.links {
        table.row(vec![Cell::Link { text: link.title.clone(), url: link.url.clone() }, Cell::text("from the scenario")]);
    }
    table
}
