//! The one-page summary for stakeholders (`gameday report RUN_DIR --format
//! summary` and `summary-html`): the outcome, the hypothesis in one line,
//! the expectations met and missed, and the top action items. Built once as
//! data and rendered per format; the HTML prints on one page.

use std::fmt::Write as _;

use crate::run::metrics::fmt_ms;

use super::html::{escape, inline};
use super::markdown::outcome_badge;
use super::table::{Cell, Table};
use super::{ReportContext, tables};

/// The most action items the summary shows; the report has them all.
pub const TOP_ACTIONS: usize = 5;

/// The summary, as data.
pub struct Summary {
    pub title: String,
    pub outcome: String,
    /// Status, severity, date, environment, seed, owner: one line of facts.
    pub facts: Vec<(&'static str, String)>,
    /// The hypothesis' first sentence, on one line; `…` when it goes on.
    pub hypothesis: Option<String>,
    /// How many expectations were met, of how many.
    pub met: (usize, usize),
    pub expectations: Table,
    pub actions: Table,
    /// Action items left out (past `TOP_ACTIONS`).
    pub more_actions: usize,
}

/// The first sentence of `text`, its whitespace folded into single spaces,
/// with `…` when more follows.
pub fn one_line(text: &str) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.find(". ") {
        Some(end) => format!("{} …", &folded[..=end]),
        None => folded,
    }
}

pub fn summary(ctx: &ReportContext<'_>) -> Summary {
    let (scenario, result) = (ctx.scenario, ctx.result);
    let postmortem = ctx.human.postmortem();
    let started = ctx.walked.started.as_deref().unwrap_or_default();
    let mut facts = vec![
        ("Status", postmortem.status.unwrap_or(super::human::Status::Draft).text().to_string()),
        ("Severity", if postmortem.severity.is_empty() { "not set".to_string() } else { postmortem.severity.clone() }),
        ("Date", started.get(..10).unwrap_or(started).to_string()),
        ("Environment", result.environment.clone()),
        ("Seed", result.seed.to_string()),
    ];
    if let Some(owner) = &scenario.owner {
        facts.push(("Owner", owner.clone()));
    }
    if !postmortem.authors.is_empty() {
        facts.push(("Authors", postmortem.authors.clone()));
    }
    let mut expectations = Table::new(&["Expected recovery", "Result", "Time to recover", "Deadline"]);
    for e in &result.expectations {
        expectations.row(vec![
            Cell::text(&e.name),
            Cell::text(if e.met { "✅ met".to_string() } else { format!("❌ missed: {}", e.misses.join("; ")) }),
            Cell::text(tables::time_to_recover(e, result)),
            Cell::text(fmt_ms(e.deadline_after_fault())),
        ]);
    }
    // The team's items, as kept in report.md; the run's proposals until then. Highest priority first.
    let mut items = ctx.human.action_items();
    let rank = |p: &str| ["high", "medium", "low"].iter().position(|r| p.eq_ignore_ascii_case(r)).unwrap_or(3);
    items.sort_by_key(|[_, _, _, priority]| rank(priority));
    let mut actions = Table::new(&["Action", "Owner", "Type", "Priority"]);
    for [action, owner, kind, priority] in items.iter().take(TOP_ACTIONS) {
        actions.row(vec![Cell::marked(action.replace("\\|", "|")), Cell::text(owner), Cell::text(kind), Cell::text(priority)]);
    }
    Summary {
        title: scenario.title.clone().unwrap_or_else(|| scenario.name.clone()),
        outcome: format!("{} — {}", outcome_badge(&result.outcome), result.outcome.summary()),
        facts,
        hypothesis: scenario.hypothesis.as_deref().map(one_line),
        met: (result.expectations.iter().filter(|e| e.met).count(), result.expectations.len()),
        expectations,
        actions,
        more_actions: items.len().saturating_sub(TOP_ACTIONS),
    }
}

fn facts_line(s: &Summary) -> String {
    s.facts.iter().map(|(name, value)| format!("{name}: {value}")).collect::<Vec<_>>().join(" · ")
}

fn actions_note(s: &Summary) -> Option<String> {
    match (s.actions.rows.is_empty(), s.more_actions) {
        (true, _) => Some("No action item yet: the debrief adds them to the report's Action items.".into()),
        (false, 0) => None,
        (false, n) => Some(format!("{n} more in the report's Action items.")),
    }
}

pub fn render_markdown(ctx: &ReportContext<'_>) -> String {
    let s = summary(ctx);
    let mut out = String::new();
    let _ = writeln!(out, "# Game day summary: {}\n", s.title);
    let _ = writeln!(out, "**{}**\n", s.outcome);
    let _ = writeln!(out, "{}\n", facts_line(&s));
    if let Some(hypothesis) = &s.hypothesis {
        let _ = writeln!(out, "**Hypothesis:** {hypothesis}\n");
    }
    let _ = writeln!(out, "## Expectations: {} of {} met\n", s.met.0, s.met.1);
    out.push_str(&s.expectations.to_markdown());
    let _ = writeln!(out, "## Top action items\n");
    if !s.actions.rows.is_empty() {
        out.push_str(&s.actions.to_markdown());
    }
    if let Some(note) = actions_note(&s) {
        let _ = writeln!(out, "{note}\n");
    }
    let _ = writeln!(out, "The full postmortem is `report.md` (or `report.html`) in the run directory.");
    super::text::strip_terminal_codes(&out)
}

/// On screen a narrow page; on paper one A4 page with no colour needed
/// (every result says met or missed in words as well as by its mark).
const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2329;max-width:860px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.45rem;margin:0 0 .4rem}h2{font-size:1.1rem;border-bottom:1px solid #dde1e5;padding-bottom:.15rem;margin:1.2rem 0 .4rem}
.outcome{font-size:1.05rem;padding:.4rem .7rem;border:1px solid #8a9096;border-radius:6px}.facts{color:#3b434b}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:.4rem 0;font-size:.88rem;width:100%}th,td{border:1px solid #c8ccd0;padding:.2rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f6f8}code{background:#f4f6f8;padding:0 .2rem;border-radius:3px;font-size:.88em}
@page{size:A4;margin:14mm}
@media print{body{font-size:10.5pt;max-width:none;margin:0;padding:0}.scroll{overflow:visible}table{break-inside:avoid}h2{break-after:avoid}th{background:none}code{background:none}}
";

pub fn render_html(ctx: &ReportContext<'_>) -> String {
    let s = summary(ctx);
    let mut out = String::new();
    let _ = writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = writeln!(out, "<title>Game day summary: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>", escape(&s.title));
    let _ = writeln!(out, "<h1>Game day summary: {}</h1>", escape(&s.title));
    let _ = writeln!(out, "<p class=\"outcome\"><strong>{}</strong></p>", escape(&s.outcome));
    let _ = writeln!(out, "<p class=\"facts\">{}</p>", escape(&facts_line(&s)));
    if let Some(hypothesis) = &s.hypothesis {
        let _ = writeln!(out, "<p><strong>Hypothesis:</strong> {}</p>", escape(hypothesis));
    }
    let _ = writeln!(out, "<h2>Expectations: {} of {} met</h2>\n<div class=\"scroll\">\n{}</div>", s.met.0, s.met.1, s.expectations.to_html());
    let _ = writeln!(out, "<h2>Top action items</h2>");
    if !s.actions.rows.is_empty() {
        let _ = writeln!(out, "<div class=\"scroll\">\n{}</div>", s.actions.to_html());
    }
    if let Some(note) = actions_note(&s) {
        let _ = writeln!(out, "<p>{}</p>", escape(&note));
    }
    let _ = writeln!(out, "<p>{}</p>", inline("The full postmortem is `report.md` (or `report.html`) in the run directory."));
    let _ = writeln!(out, "</body>\n</html>");
    out
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn the_hypothesis_is_its_first_sentence_on_one_line() {
        assert_eq!(one_line("Losing a zone\n  costs a third.  The rest carry it."), "Losing a zone costs a third. …");
        assert_eq!(one_line("  Capacity is back within 5 minutes.\n"), "Capacity is back within 5 minutes.");
    }
}
