//! `report.html`: the learning report as one self-contained page (inline
//! CSS and SVG, nothing fetched), with a timeline chart drawn by hand in
//! SVG: a lane per probe coloured by state, fault windows shaded, deadlines
//! and recovery points marked. Deterministic: the same run, the same bytes.

use std::fmt::Write as _;

use crate::environment::Millis;

use super::lane::{LaneLook, LaneMerger, Shown, Spent, Stretch};
use super::{ReportContext, t, tables};
use crate::run::metrics::fmt_ms;

/// Escapes text for HTML and XML, in content and in attribute values.
/// Terminal escape codes and control characters are removed: XML does not
/// allow them, and HTML would show them as noise.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in super::text::strip_terminal_codes(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown as CommonMark reads it (with GFM tables and strikethrough),
/// made safe for a page that renders people's text and fetches nothing:
/// raw HTML is shown as text, links keep their text but lose their
/// address, and images become their description. Terminal escape codes
/// are removed first, as [`escape`] does.
fn safe_events(text: &str) -> Vec<pulldown_cmark::Event<'static>> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let text = super::text::strip_terminal_codes(text);
    let mut events = Vec::new();
    for event in Parser::new_ext(&text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            // `push_html` escapes text: `<script>` becomes `&lt;script&gt;`.
            Event::Html(html) | Event::InlineHtml(html) => events.push(Event::Text(html.into_string().into())),
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) | Event::End(TagEnd::Link | TagEnd::Image) => {}
            event => events.push(event.into_static()),
        }
    }
    events
}

/// A block of Markdown (a human section of the report) as HTML.
fn markdown_block(text: &str) -> String {
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, safe_events(text).into_iter());
    out
}

/// One line of Markdown (a table cell, a sentence) as inline HTML: `code`,
/// **bold**, _emphasis_. Text that Markdown would read as a block other than
/// a paragraph (`- x`, `# x`, `1. x`) is shown as written, escaped.
pub(crate) fn inline(text: &str) -> String {
    use pulldown_cmark::{Event, Tag, TagEnd};
    let events = safe_events(text);
    if !matches!(events.first(), None | Some(Event::Start(Tag::Paragraph))) {
        return escape(text);
    }
    let mut out = String::new();
    let inner = events.into_iter().filter(|event| !matches!(event, Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph)));
    pulldown_cmark::html::push_html(&mut out, inner);
    out
}

const STYLE: &str = "
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2329;max-width:1060px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.3rem}h2{border-bottom:1px solid #dde1e5;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{border:1px solid #dde1e5;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6f8}code{background:#f4f6f8;padding:0 .2rem;border-radius:3px;font-size:.88em}
.outcome{font-size:1.1rem;padding:.5rem .8rem;border-radius:6px}.held{background:#e3f4ea}.missed{background:#fbe6e5}.stopped{background:#fff4dc}
blockquote{border-left:4px solid #c8ccd0;margin:0;padding:.2rem 1rem;color:#49525b}
.human p>em:only-child{color:#6b7580}.human{border-left:3px solid #8fb4e3;padding-left:1rem}
.flags{background:#fff4dc;padding:.5rem 1rem;border-radius:6px}
figure{margin:1rem 0;overflow-x:auto}figure svg{width:100%;min-width:800px;height:auto}
table{display:block;max-width:100%;overflow-x:auto}p,li{overflow-wrap:anywhere}
svg text{font:12px system-ui,sans-serif;fill:#1d2329}svg .small{font-size:10px;fill:#49525b}
svg text{paint-order:stroke;stroke:#ffffff;stroke-width:3px;stroke-linejoin:round}svg .drill-mark text{stroke:none}
.legend span{display:inline-block;margin-right:1rem}.swatch{display:inline-block;width:12px;height:12px;vertical-align:-1px;margin-right:.3rem;border:1px solid #8a9096}
";

const PASS: &str = "#2e9d5b";
const FAIL: &str = "#d64541";
const NO_DATA: &str = "#c8ccd0";

/// A state of a probe's lane: its colour and, so that it reads without
/// colour vision, a pattern of its own (passing alone is solid). The legend
/// shows the same pattern, drawn with a CSS gradient.
struct LaneState {
    name: &'static str,
    colour: &'static str,
    /// The pattern's id and what it draws over the colour; `None`: solid.
    pattern: Option<(&'static str, &'static str)>,
    /// The pattern in a word, for the legend.
    look: &'static str,
    swatch: &'static str,
}

impl LaneState {
    fn fill(&self) -> String {
        match self.pattern {
            Some((id, _)) => format!("url(#{id})"),
            None => self.colour.to_string(),
        }
    }
}

const PASSING: LaneState = LaneState { name: "passing", colour: PASS, pattern: None, look: "solid", swatch: PASS };
const FAILING: LaneState = LaneState {
    name: "failing",
    colour: FAIL,
    pattern: Some(("state-failing", "<path d=\"M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>")),
    look: "hatched",
    swatch: "repeating-linear-gradient(135deg,#d64541 0 3px,#ffffff 3px 4.5px)",
};
const INTENDED_STATE: LaneState = LaneState {
    name: "intended (expected during the fault)",
    colour: INTENDED,
    pattern: Some(("state-intended", "<circle cx=\"3\" cy=\"3\" r=\"1.3\" fill=\"#ffffff\"/>")),
    look: "dotted",
    swatch: "radial-gradient(circle,#ffffff 1.3px,#4a78c2 1.6px) 0 0/6px 6px",
};
const NO_SAMPLE: LaneState = LaneState {
    name: "no sample yet",
    colour: NO_DATA,
    pattern: Some(("state-no-sample", "<path d=\"M0,3 h6\" stroke=\"#6b7580\" stroke-width=\"1\"/>")),
    look: "lined",
    swatch: "repeating-linear-gradient(0deg,#c8ccd0 0 2px,#6b7580 2px 3px)",
};
/// An alarm gameday read, in ALARM: cross-hatched, unlike any probe state.
const ALARM_ON: LaneState = LaneState {
    name: "in ALARM",
    colour: "#8e1b12",
    pattern: Some(("state-alarm", "<path d=\"M0,0 l6,6 M6,0 l-6,6\" stroke=\"#ffffff\" stroke-width=\"1\"/>")),
    look: "cross-hatched",
    swatch: "repeating-linear-gradient(45deg,#8e1b12 0 2px,#ffffff 2px 3px),#8e1b12",
};
const ALARM_OK: LaneState = LaneState { name: "OK", colour: "#dfe3e7", pattern: None, look: "plain", swatch: "#dfe3e7" };
const ALARM_NO_DATA: LaneState = LaneState {
    name: "INSUFFICIENT_DATA",
    colour: NO_DATA,
    pattern: Some(("state-no-sample", "")),
    look: "lined",
    swatch: "repeating-linear-gradient(0deg,#c8ccd0 0 2px,#6b7580 2px 3px)",
};
/// Stretches too narrow to draw alone, drawn as one ([`LaneMerger`]): striped, unlike any single state.
const MIXED: LaneState = LaneState {
    name: "mixed (state changes narrower than a column)",
    colour: "#8a5fa8",
    pattern: Some(("state-mixed", "<path d=\"M1.5,0 v6 M4.5,0 v6\" stroke=\"#ffffff\" stroke-width=\"1\"/>")),
    look: "striped",
    swatch: "repeating-linear-gradient(90deg,#8a5fa8 0 2px,#ffffff 2px 3px)",
};
const PROBE_STATES: [&LaneState; 4] = [&PASSING, &FAILING, &INTENDED_STATE, &NO_SAMPLE];
const ALARM_STATES: [&LaneState; 2] = [&ALARM_ON, &ALARM_OK];
/// An `expected_during_fault` probe failing while a fault is in place: the goal, not an outage.
const INTENDED: &str = "#4a78c2";
const FAULT: &str = "#f5a623";

pub fn render(ctx: &ReportContext<'_>) -> String {
    let (scenario, result) = (ctx.scenario, ctx.result);
    let mut out = String::new();
    let title = scenario.title.as_deref().unwrap_or(&scenario.name);
    let _ = writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = writeln!(out, "<title>Game day: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>", escape(title));
    let _ = writeln!(out, "<h1>Game day: {}</h1>", escape(title));
    let class = match result.outcome {
        crate::run::Outcome::HypothesisHeld => "held",
        crate::run::Outcome::RecoveryMissed { .. } => "missed",
        _ => "stopped",
    };
    let _ = writeln!(out, "<p class=\"outcome {class}\"><strong>{}</strong> — {}</p>", escape(super::markdown::outcome_badge(&result.outcome)), escape(&result.outcome.summary()));
    out.push_str(&tables::facts(ctx).to_html());
    let _ = writeln!(out, "<div class=\"human\">{}</div>", markdown_block(ctx.human.get("postmortem")));

    let _ = writeln!(out, "<h2>Summary</h2>");
    let met = result.expectations.iter().filter(|e| e.met).count();
    let injected: Vec<String> =
        result.faults.iter().filter(|f| f.started_at.is_some()).map(|f| format!("<code>{}</code> ({}, {} target(s))", escape(&f.name), escape(&f.kind), f.targets.len())).collect();
    let _ = writeln!(
        out,
        "<p>{} fault(s) injected: {}. {met} of {} expected recoveries met.</p>",
        injected.len(),
        if injected.is_empty() { "none".to_string() } else { injected.join(", ") },
        result.expectations.len()
    );
    let _ = writeln!(out, "<div class=\"human\">{}</div>", markdown_block(ctx.human.get("summary")));

    let _ = writeln!(out, "<h2>Timeline chart</h2>");
    chart(&mut out, ctx);

    let _ = writeln!(out, "<h2>Impact</h2>\n<ul>");
    for e in &result.expectations {
        let _ = writeln!(out, "<li><strong>{}</strong> ({}): {}.</li>", escape(&e.name), escape(&e.probes.join(", ")), escape(&tables::impact_sentence(e, result)));
    }
    if result.expectations.is_empty() {
        let _ = writeln!(out, "<li>No fault was injected, so nothing was measured.</li>");
    }
    let _ = writeln!(out, "</ul>");

    let _ = writeln!(out, "<h2>Hypothesis and outcome</h2>");
    if let Some(hypothesis) = &scenario.hypothesis {
        let _ = writeln!(out, "<blockquote>{}</blockquote>", escape(hypothesis.trim()));
    }
    let _ = writeln!(out, "<p><strong>Outcome:</strong> {}</p>", escape(&result.outcome.summary()));
    parts(&mut out, ctx, super::postmortem::account(ctx));

    let _ = writeln!(out, "<h2>Phase times</h2>\n<p>When each phase began, from the journal. Several impact rows for one probe mean it failed more than once.</p>");
    out.push_str(&tables::phases(ctx).to_html());

    if scenario.faults.iter().any(|f| matches!(f.action.kind_name(), "region_outage" | "dns_failover")) {
        let _ = writeln!(out, "<h2>Disaster recovery</h2>");
        match tables::disaster_recovery(ctx) {
            None => {
                let _ = writeln!(out, "<p>No expected recovery starts its clock at the disaster-recovery fault, so no RTO was measured.</p>");
            }
            Some(table) => {
                let _ = writeln!(
                    out,
                    "<p>The achieved RTO is the failover time: from the fault to the moment the last client (probe) moved, by the expectation's failover verdict (docs/metrics.md).</p>"
                );
                out.push_str(&table.to_html());
            }
        }
        let _ = writeln!(
            out,
            "<p><strong>RPO: not measured.</strong> No probe in this scenario can see data loss or replication lag (gameday's probes check availability). Read the RPO from the data stores' own metrics and note it under “People's steps”.</p>"
        );
    }

    if let Some(table) = tables::region_switch(ctx) {
        let _ = writeln!(
            out,
            "<h2>Region switch</h2>\n<p>ARC's actual recovery time runs from the plan execution's start until the plan's steps are done and its application health alarms are healthy again; gameday's runs from the step's start to the latest recovery point of the expectations that count from it, seen by gameday's probes (docs/metrics.md, “Region switch recovery”).</p>"
        );
        out.push_str(&table.to_html());
    }

    if let Some(table) = tables::objectives(ctx) {
        let _ = writeln!(out, "<h2>Objectives</h2>\n<p>{}</p>", escape(super::OBJECTIVES_INTRO));
        out.push_str(&table.to_html());
    }

    if let Some(table) = tables::practice_run(ctx) {
        let _ = writeln!(
            out,
            "<h2>Practice run</h2>\n<p>ARC's outcome is judged by the practice-run configuration's outcome alarms; beside it, what gameday's own probes saw from the step's start until gameday read the outcome (docs/metrics.md, “Practice run”).</p>"
        );
        out.push_str(&table.to_html());
    }

    let _ = writeln!(
        out,
        "<h2>Metrics</h2>\n<p>Times are counted from each expectation's clock: its fault's start, or its revert with <code>from: revert</code>; time to detect always from the fault's start. Definitions: docs/metrics.md.</p>"
    );
    out.push_str(&tables::metrics(ctx).to_html());

    if let (Some(prediction), Some((table, outside))) = (ctx.prediction, tables::twin_prediction(ctx)) {
        let _ = writeln!(
            out,
            "<h2>Predicted against measured</h2>\n<p>Before the run, the twin ({}) ran this scenario for {} seeds; its times beside what the run measured. Definitions: docs/metrics.md, “Predicted times”.</p>",
            escape(&prediction.twin),
            prediction.seeds.len()
        );
        out.push_str(&table.to_html());
        if outside {
            let _ = writeln!(out, "<p>{}</p>", inline(tables::TWIN_ADVICE));
        }
        if !prediction.not_predicted.is_empty() {
            let _ = writeln!(
                out,
                "<p>Not predicted (the twin does not model it):</p>\n<ul>{}</ul>",
                prediction.not_predicted.iter().map(|n| format!("<li>{}: {}</li>", inline(&n.what), escape(&n.why))).collect::<String>()
            );
        }
    }

    if let Some(drill) = &result.drill {
        let section = super::drill::section(drill, scenario.faults.first().map(|f| f.name.as_str()));
        let list = |out: &mut String, items: &[String], empty: &str| {
            if items.is_empty() {
                let _ = writeln!(out, "<p>{}</p>", escape(empty));
            } else {
                let _ = writeln!(out, "<ul>{}</ul>", items.iter().map(|i| format!("<li>{}</li>", inline(i))).collect::<String>());
            }
        };
        let _ = writeln!(out, "<h2>The team's response (drill)</h2>\n<p>{}</p>", inline(&section.intro));
        out.push_str(&tables::drill_table(&super::drill::RESPONSE_HEADER, &section.response).to_html());
        let _ = writeln!(out, "<h3>Runbook steps</h3>");
        out.push_str(&tables::drill_table(&super::drill::STEPS_HEADER, &section.steps).to_html());
        let _ = writeln!(out, "<h3>Where people waited</h3>");
        list(&mut out, &section.waits, "No step waited a minute or more to be taken up.");
        let _ = writeln!(out, "<h3>Operator actions</h3>");
        if section.actions.is_empty() {
            let _ = writeln!(out, "<p>No operator action was taken.</p>");
        } else {
            out.push_str(&tables::drill_table(&super::drill::ACTIONS_HEADER, &section.actions).to_html());
        }
        let _ = writeln!(out, "<h3>Observations</h3>");
        list(&mut out, &section.observations, "Nobody recorded an observation.");
        let _ = writeln!(out, "<h3>Runbook gaps (proposed action items)</h3>");
        list(&mut out, &section.gaps, "The drill found no gap in the runbook.");
    }

    let _ = writeln!(out, "<h2>Expected against observed</h2>");
    out.push_str(&tables::expected_against_observed(ctx).to_html());

    let _ = writeln!(out, "<h2>Timeline</h2>\n<p>Every row comes from the run's journal (<code>journal.jsonl</code>); the evidence column says which record.</p>");
    out.push_str(&tables::timeline(ctx).to_html());

    let _ = writeln!(out, "<h2>Faults</h2>");
    out.push_str(&tables::faults(ctx).to_html());

    let _ = writeln!(out, "<h2>Probes</h2>");
    out.push_str(&tables::probes(ctx).to_html());

    parts(&mut out, ctx, super::postmortem::lessons(ctx));
    if !ctx.flags.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Blameless check</h2>\n<div class=\"flags\"><p>gameday noticed wording that good debrief guides advise against. It flags words; it does not judge.</p>\n<ul>"
        );
        for flag in &ctx.flags {
            let _ = writeln!(out, "<li><strong>{}</strong>: “{}” in “{}”: {}</li>", escape(flag.section), escape(&flag.phrase), escape(&flag.line), escape(flag.advice));
        }
        let _ = writeln!(out, "</ul></div>");
    }
    let _ = writeln!(out, "</body>\n</html>");
    out
}

/// The postmortem's sections, each with the human sections under it
/// (written in `report.md`; `gameday report` carries them over here).
fn parts(out: &mut String, ctx: &ReportContext<'_>, parts: Vec<super::postmortem::Part>) {
    for part in parts {
        let _ = writeln!(out, "<h2>{}</h2>", escape(part.heading));
        for paragraph in &part.paragraphs {
            let _ = writeln!(out, "<p>{}</p>", inline(paragraph));
        }
        if let Some(table) = &part.table {
            out.push_str(&table.to_html());
        }
        for id in part.human {
            if ctx.human.title(id) != part.heading {
                let _ = writeln!(out, "<h3>{}</h3>", escape(ctx.human.title(id)));
            }
            let _ = writeln!(out, "<div class=\"human\">{}</div>", markdown_block(ctx.human.get(id)));
        }
    }
}

/// The most grid lines the chart's time axis draws, whatever the run's length.
const MAX_TICKS: usize = 11;

/// A "nice" axis step giving at most ten steps over `span`: one of the
/// steps people read easily up to half a day, then whole days. Longer than
/// any real run needs, because `span` comes from the journal and a damaged
/// one may claim up to u64::MAX milliseconds.
fn tick_step(span: Millis) -> Millis {
    const STEPS: [Millis; 16] = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000];
    const DAY: Millis = 86_400_000;
    STEPS.iter().copied().find(|s| span / s <= 10).unwrap_or_else(|| span.div_ceil(10).div_ceil(DAY).saturating_mul(DAY))
}

/// The times of the axis' grid lines, from 0 to `end`: at most [`MAX_TICKS`].
fn ticks(end: Millis) -> Vec<Millis> {
    let step = tick_step(end);
    let mut ticks = Vec::with_capacity(MAX_TICKS);
    let mut tick = 0;
    while tick <= end && ticks.len() < MAX_TICKS {
        ticks.push(tick);
        match tick.checked_add(step) {
            Some(next) => tick = next,
            None => break,
        }
    }
    ticks
}

/// The widest a lane label's character is in the chart's 12 px font
/// (system-ui's wide lowercase letters), so a label measured with it fits.
const LABEL_CHAR_PX: f64 = 7.0;
/// Longer lane labels are shortened with `…` (the full name is the label's
/// tooltip and is in the tables), so the plot keeps most of the width.
const LABEL_MAX_CHARS: usize = 36;

/// A lane's name as the chart's left margin shows it.
struct LaneLabel {
    full: String,
    shown: String,
}

impl LaneLabel {
    fn new(full: String) -> LaneLabel {
        let shown = if full.chars().count() > LABEL_MAX_CHARS { full.chars().take(LABEL_MAX_CHARS - 1).chain(['…']).collect() } else { full.clone() };
        LaneLabel { full, shown }
    }

    fn svg(&self, x: f64, y: f64) -> String {
        let title = if self.shown == self.full { String::new() } else { format!("<title>{}</title>", escape(&self.full)) };
        format!("<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"end\">{title}{}</text>", escape(&self.shown))
    }
}

/// The chart's width, and its margins, in the units of its `viewBox` (about a pixel each on a desktop screen).
const CHART_WIDTH: f64 = 1000.0;
const CHART_RIGHT: f64 = 20.0;
/// The narrowest left margin (labels longer than 24 characters widen it).
const CHART_MIN_LEFT: f64 = 190.0;

/// A probe's stretch not yet ended: its state, first sample, samples and what the first observed.
struct OpenStretch {
    look: LaneLook,
    from: Millis,
    samples: usize,
    observed: String,
}

impl OpenStretch {
    fn until(self, to: Millis) -> Stretch {
        Stretch { from: self.from, to, samples: self.samples, shown: Shown::One { look: self.look, observed: self.observed } }
    }
}

/// An alarm gameday read, and each read that found it in a new state.
type AlarmLane = (String, Vec<(Millis, crate::scenario::AlarmState)>);

/// A probe's lane while the journal is walked.
type LaneBuild<'a> = (&'a crate::scenario::Probe, Option<OpenStretch>, LaneMerger);

/// Each probe's lane as the chart draws it ([`LaneMerger`], at the widest
/// the plot can be: its left margin is known once the alarms' names are),
/// and each alarm's changes in the order first seen, fed one record at a
/// time, held without the samples themselves (issue 18).
pub(crate) struct LaneFeed<'a> {
    result: &'a crate::run::RunResult,
    end: Millis,
    lanes: std::collections::BTreeMap<&'a str, LaneBuild<'a>>,
    alarms: Vec<AlarmLane>,
}

/// What the chart draws from the journal: each probe's lane, each alarm's changes.
pub(crate) struct ChartLanes<'a> {
    probes: std::collections::BTreeMap<&'a str, Vec<Stretch>>,
    alarms: Vec<AlarmLane>,
}

impl<'a> LaneFeed<'a> {
    pub(crate) fn new(scenario: &'a crate::scenario::Scenario, result: &'a crate::run::RunResult) -> Self {
        let end = result.duration_ms.max(1);
        let columns = CHART_WIDTH - CHART_MIN_LEFT - CHART_RIGHT;
        let lanes = scenario.steady_state.iter().map(|p| (p.name.as_str(), (p, None, LaneMerger::new(columns, end)))).collect();
        LaneFeed { result, end, lanes, alarms: Vec::new() }
    }

    pub(crate) fn push(&mut self, record: &crate::run::journal::Record) {
        if let crate::run::journal::Event::AlarmChanged { alarm, state } = &record.event {
            match self.alarms.iter_mut().find(|(name, _)| name == alarm) {
                Some((_, changes)) => changes.push((record.t, *state)),
                None => self.alarms.push((alarm.clone(), vec![(record.t, *state)])),
            }
        }
        let crate::run::journal::Event::Sample(sample) = &record.event else { return };
        let Some((probe, open, merger)) = self.lanes.get_mut(sample.probe.as_str()) else { return };
        // A probe meant to fail during a fault is in its intended state, not failing, while a fault is in place.
        let in_fault = |at: Millis| self.result.faults.iter().any(|f| f.started_at.is_some_and(|s| s <= at && f.ended_at.is_none_or(|e| at < e)));
        let look = match sample.ok {
            true => LaneLook::Passing,
            false if probe.expected_during_fault && !sample.unsettled && in_fault(sample.sent_at) => LaneLook::Intended,
            false => LaneLook::Failing,
        };
        match open {
            Some(stretch) if stretch.look == look => stretch.samples += 1,
            _ => {
                let next = OpenStretch { look, from: sample.sent_at, samples: 1, observed: sample.observed.clone() };
                if let Some(ended) = open.replace(next) {
                    merger.push(ended.until(sample.sent_at));
                }
            }
        }
    }

    pub(crate) fn finish(self) -> ChartLanes<'a> {
        let end = self.end;
        let probes = self
            .lanes
            .into_iter()
            .map(|(name, (_, open, mut merger))| {
                if let Some(last) = open {
                    merger.push(last.until(end));
                }
                (name, merger.finish())
            })
            .collect();
        ChartLanes { probes, alarms: self.alarms }
    }
}

fn lane_state(look: LaneLook) -> &'static LaneState {
    match look {
        LaneLook::Passing => &PASSING,
        LaneLook::Failing => &FAILING,
        LaneLook::Intended => &INTENDED_STATE,
    }
}

/// What a mixed stretch holds, for its tooltip: how long in each state it was, failing first.
fn spent_words(spent: &Spent) -> String {
    [(spent.failing, "failing"), (spent.intended, "intended"), (spent.passing, "passing")]
        .iter()
        .filter(|(ms, _)| *ms > 0)
        .map(|(ms, name)| format!("{name} {}", fmt_ms(*ms)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The timeline chart, written into `out` (a long run's chart is the
/// page's largest part: it is not built apart and copied).
fn chart(out: &mut String, ctx: &ReportContext<'_>) {
    let result = ctx.result;
    let end = result.duration_ms.max(1);
    // The alarms gameday read (stop conditions, `detected_by`), each a lane under the probes'.
    let ChartLanes { probes: lanes_of_probes, alarms } = &ctx.walked.lanes;
    let labels: Vec<LaneLabel> =
        ctx.scenario.steady_state.iter().map(|p| LaneLabel::new(p.name.clone())).chain(alarms.iter().map(|(a, _)| LaneLabel::new(format!("alarm {a}")))).collect();
    // The left margin holds the longest lane label, so no name is cut off at the chart's edge.
    let longest = labels.iter().map(|l| l.shown.chars().count()).max().unwrap_or(0);
    let left = (longest as f64 * LABEL_CHAR_PX + 16.0).max(CHART_MIN_LEFT);
    let (width, right, top, lane, gap) = (CHART_WIDTH, CHART_RIGHT, 40.0_f64, 26.0_f64, 10.0_f64);
    let plot = width - left - right;
    // The lanes at the plot's own width: a wider left margin leaves fewer columns.
    let lanes_of_probes: std::collections::BTreeMap<&str, Vec<Stretch>> = lanes_of_probes
        .iter()
        .map(|(name, stretches)| {
            let mut merger = LaneMerger::new(plot, end);
            stretches.iter().cloned().for_each(|s| merger.push(s));
            (*name, merger.finish())
        })
        .collect();
    let mixed = lanes_of_probes.values().flatten().any(|s| matches!(s.shown, Shown::Mixed { .. }));
    let lanes = (ctx.scenario.steady_state.len() + alarms.len()).max(1) as f64;
    let lanes_bottom = top + lanes * (lane + gap) - gap;
    let height = lanes_bottom + 44.0;
    let x = |ms: Millis| left + plot * (ms.min(end) as f64) / (end as f64);
    let lane_y = |i: usize| top + i as f64 * (lane + gap);
    out.push_str("<figure>\n");
    let svg = out;
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"Timeline: probe states, fault windows, deadlines and recovery points\">"
    );
    let _ = writeln!(
        svg,
        "<desc>One lane per probe: solid while passing, hatched while failing, dotted in the intended state, lined before the first sample; one lane per alarm gameday read: cross-hatched in ALARM, plain when OK, lined without data; fault windows shaded and labelled; deadlines dashed and labelled met or missed; recovery points numbered diamonds{}. The same times are in the phase table and the timeline below.</desc>",
        if mixed { "; striped where a probe changed state faster than a column of the chart shows (its tooltip says how long it spent in each state)" } else { "" }
    );
    svg.push_str("<defs>");
    for state in PROBE_STATES.iter().chain(&ALARM_STATES).chain([&MIXED].iter().filter(|_| mixed)) {
        if let Some((id, shape)) = state.pattern {
            let _ = write!(
                svg,
                "<pattern id=\"{id}\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\"><rect width=\"6\" height=\"6\" fill=\"{}\"/>{shape}</pattern>",
                state.colour
            );
        }
    }
    svg.push_str("</defs>\n");

    // Grid and axis.
    for tick in ticks(end) {
        let _ = writeln!(svg, "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#e6e9ec\"/>", x(tick), top - 6.0, lanes_bottom + 4.0);
        // A label near the right edge ends at its line, so the last one is never cut off.
        let anchor = if x(tick) > width - right - 30.0 { "end" } else { "middle" };
        let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" class=\"small\">{}</text>", x(tick), lanes_bottom + 18.0, escape(&t(tick)));
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"small\">time since the run started ({})</text>",
        left + plot / 2.0,
        lanes_bottom + 36.0,
        if result.on_simulator() { "virtual" } else { "wall clock" }
    );

    // Fault windows, behind the lanes' labels but over the grid.
    for f in &result.faults {
        let Some(start) = f.started_at else { continue };
        let stop = f.ended_at.unwrap_or(end);
        if stop > start {
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{FAULT}\" fill-opacity=\"0.16\" stroke=\"{FAULT}\" stroke-opacity=\"0.6\"><title>fault {}: {} to {}</title></rect>",
                x(start),
                top - 24.0,
                (x(stop) - x(start)).max(1.0),
                lanes_bottom - top + 28.0,
                escape(&f.name),
                t(start),
                t(stop)
            );
        } else {
            let _ = writeln!(
                svg,
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"{FAULT}\" stroke-width=\"3\"><title>fault {3} at {4} (cannot be undone)</title></line>",
                x(start),
                top - 24.0,
                lanes_bottom + 4.0,
                escape(&f.name),
                t(start)
            );
        }
        let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" class=\"small\">⚡ {}</text>", x(start) + 3.0, top - 12.0, escape(&f.name));
    }

    // One lane per probe, coloured by state.
    for (i, probe) in ctx.scenario.steady_state.iter().enumerate() {
        let y = lane_y(i);
        let _ = writeln!(svg, "{}", labels[i].svg(left - 8.0, y + lane / 2.0 + 4.0));
        let runs = lanes_of_probes.get(probe.name.as_str()).map_or(&[][..], Vec::as_slice);
        let first = runs.first().map_or(end, |r| r.from);
        if first > 0 {
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{lane:.0}\" fill=\"{}\"><title>{}: {} before T+{}</title></rect>",
                x(0),
                x(first) - x(0),
                NO_SAMPLE.fill(),
                escape(&probe.name),
                NO_SAMPLE.name,
                fmt_ms(first)
            );
        }
        for run in runs {
            match &run.shown {
                Shown::One { look, observed } => {
                    let state = lane_state(*look);
                    let _ = writeln!(
                        svg,
                        "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{lane:.0}\" fill=\"{}\"><title>{}: {} {} to {} ({} sample(s); {})</title></rect>",
                        x(run.from),
                        (x(run.to) - x(run.from)).max(0.5),
                        state.fill(),
                        escape(&probe.name),
                        state.name,
                        t(run.from),
                        t(run.to),
                        run.samples,
                        escape(observed)
                    );
                }
                Shown::Mixed { stretches, spent } => {
                    let _ = writeln!(
                        svg,
                        "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{lane:.0}\" fill=\"{}\"><title>{}: mixed {} to {} (changed state {} time(s) in {} sample(s): {})</title></rect>",
                        x(run.from),
                        (x(run.to) - x(run.from)).max(0.5),
                        MIXED.fill(),
                        escape(&probe.name),
                        t(run.from),
                        t(run.to),
                        stretches.saturating_sub(1),
                        run.samples,
                        spent_words(spent)
                    );
                }
            }
        }
    }

    // Alarm lanes: each state from the read that found it to the next change.
    for (a, (alarm, changes)) in alarms.iter().enumerate() {
        let y = lane_y(ctx.scenario.steady_state.len() + a);
        let _ = writeln!(svg, "{}", labels[ctx.scenario.steady_state.len() + a].svg(left - 8.0, y + lane / 2.0 + 4.0));
        let mut segments: Vec<(Millis, Millis, &LaneState)> = Vec::new();
        if let Some((first, _)) = changes.first().filter(|(first, _)| *first > 0) {
            segments.push((0, *first, &ALARM_NO_DATA));
        }
        for (i, (at, state)) in changes.iter().enumerate() {
            let to = changes.get(i + 1).map_or(end, |(next, _)| *next);
            let look = match state {
                crate::scenario::AlarmState::Alarm => &ALARM_ON,
                crate::scenario::AlarmState::Ok => &ALARM_OK,
                crate::scenario::AlarmState::InsufficientData => &ALARM_NO_DATA,
            };
            segments.push((*at, to, look));
        }
        for (from, to, state) in segments {
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{lane:.0}\" fill=\"{}\"><title>alarm {}: {} {} to {}</title></rect>",
                x(from),
                (x(to) - x(from)).max(0.5),
                state.fill(),
                escape(alarm),
                state.name,
                t(from),
                t(to)
            );
        }
    }

    // Deadlines and recovery points, numbered by expectation.
    for (n, e) in result.expectations.iter().enumerate() {
        let number = n + 1;
        let rows: Vec<usize> = ctx.scenario.steady_state.iter().enumerate().filter(|(_, p)| e.probes.contains(&p.name)).map(|(i, _)| i).collect();
        let (Some(first_row), Some(last_row)) = (rows.first(), rows.last()) else { continue };
        let (y1, y2) = (lane_y(*first_row) - 3.0, lane_y(*last_row) + lane + 3.0);
        if e.deadline <= end {
            let _ = writeln!(
                svg,
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#5b2a86\" stroke-width=\"2\" stroke-dasharray=\"5 3\"><title>deadline {number}: {3} at {4}</title></line>",
                x(e.deadline),
                y1,
                y2,
                escape(&e.name),
                t(e.deadline)
            );
            // The verdict in words beside the line, not only by where a diamond sits.
            let verdict = if e.met { "✔ met" } else { "✘ missed" };
            // Near the right edge the label goes left of its line, so it is never cut off.
            let (label_x, anchor) = if x(e.deadline) > width - right - 110.0 { (x(e.deadline) - 3.0, "end") } else { (x(e.deadline) + 3.0, "start") };
            let _ = writeln!(svg, "<text x=\"{label_x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" class=\"small\">deadline {number} {verdict}</text>", y1 + 10.0);
        }
        if let Some(at) = e.recovered_at.filter(|_| e.impact_start.is_some()) {
            for row in &rows {
                let (cx, cy) = (x(at), lane_y(*row) + lane / 2.0);
                let _ = writeln!(
                    svg,
                    "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"#ffffff\" stroke=\"#1d2329\" stroke-width=\"2\"><title>recovery {number}: {} at {}</title></polygon>",
                    cx,
                    cy - 8.0,
                    cx + 8.0,
                    cy,
                    cx,
                    cy + 8.0,
                    cx - 8.0,
                    cy,
                    escape(&e.name),
                    t(at)
                );
                let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"small\">{number}</text>", cx, cy + 3.5);
            }
        }
    }
    if let Some(drill) = &result.drill {
        svg.push_str(&super::drill::chart_marks(drill, &x, top - 6.0, lanes_bottom + 4.0));
    }
    let _ = writeln!(svg, "</svg>");

    let html = svg;
    let _ = writeln!(
        html,
        "<figcaption class=\"legend\">{}<span><i class=\"swatch\" style=\"background:{FAULT};opacity:.5\"></i>⚡ fault in place</span><span>◇ recovery point</span><span>┆ deadline (✔ met, ✘ missed)</span>{}</figcaption>",
        PROBE_STATES
            .iter()
            .chain([&MIXED].iter().filter(|_| mixed))
            .map(|s| (s, ""))
            .chain(ALARM_STATES.iter().filter(|_| !alarms.is_empty()).map(|s| (s, "alarm ")))
            .map(|(s, what)| format!("<span><i class=\"swatch\" style=\"background:{}\"></i>{what}{} ({})</span>", s.swatch, s.name, s.look))
            .collect::<String>(),
        if result.drill.is_some() { "<span>□ A people acknowledged</span><span>■ M people mitigated</span>" } else { "" }
    );
    if !result.expectations.is_empty() {
        html.push_str("<ol>\n");
        for e in &result.expectations {
            let deadline_note = if e.deadline > end { format!(" (deadline {} is after the end of the run)", t(e.deadline)) } else { String::new() };
            let _ = writeln!(
                html,
                "<li>{}: deadline {}{deadline_note}; {}</li>",
                escape(&e.name),
                t(e.deadline),
                match e.recovered_at.filter(|_| e.impact_start.is_some()) {
                    Some(at) => format!("recovered at {}", t(at)),
                    None if e.impact_start.is_none() => "no impact".to_string(),
                    None => "not recovered".to_string(),
                }
            );
        }
        html.push_str("</ol>\n");
    }
    html.push_str("</figure>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peoples_markdown_is_rendered_and_nothing_in_it_runs_or_fetches() {
        let written = "Hello <script>alert(1)</script> **bold** `a<b`\n\n<img src=x onerror=alert(1)>\n\n- [docs](javascript:alert(1)) ![cat](https://example.com/cat.png)\n- <b>raw</b>\n\n| Time | Who |\n|---|---|\n| T+1m | Ana & Ben |\n\n_prompt_\n";
        let html = markdown_block(written);
        assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>") && !html.contains("href=\"") && !html.contains("src=\""), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && html.contains("&lt;img src=x onerror=alert(1)&gt;") && html.contains("&lt;b&gt;raw&lt;/b&gt;"),
            "shown as text: {html}"
        );
        assert!(html.contains("<strong>bold</strong>") && html.contains("<code>a&lt;b</code>"), "{html}");
        assert!(html.contains("<li>docs cat</li>"), "a link keeps its text, an image its description: {html}");
        assert!(html.contains("<th>Time</th>") && html.contains("<td>Ana &amp; Ben</td>"), "{html}");
        assert!(html.contains("<p><em>prompt</em></p>"), "{html}");
        assert!(!markdown_block("a \u{1b}[31mred\u{1b}[0m").contains('\u{1b}'), "terminal codes are removed");
    }

    #[test]
    fn inline_markdown_keeps_to_one_line_and_text_that_looks_like_a_block_as_written() {
        assert_eq!(inline("`gameday run` and **now** <i>"), "<code>gameday run</code> and <strong>now</strong> &lt;i&gt;");
        assert_eq!(inline("- not a list & <b>"), "- not a list &amp; &lt;b&gt;");
        assert_eq!(inline("# not a heading"), "# not a heading");
        assert_eq!(inline(""), "");
    }

    #[test]
    fn the_axis_has_at_most_eleven_ticks_for_any_span() {
        // A 15-minute run: a line every two minutes, as before the bound.
        assert_eq!(ticks(900_000), (0..=7).map(|i| i * 120_000).collect::<Vec<_>>());
        for span in [0, 1, 999, 9_000, 900_000, 86_400_000 * 10, 86_400_000 * 11, 1 << 53, Millis::MAX - 1, Millis::MAX] {
            let ticks = ticks(span);
            assert!(!ticks.is_empty() && ticks.len() <= MAX_TICKS, "{span}: {} ticks", ticks.len());
            assert!(ticks.windows(2).all(|w| w[0] < w[1]) && ticks.iter().all(|t| *t <= span), "{span}: {ticks:?}");
        }
    }
}
