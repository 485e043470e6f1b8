//! Text for `gameday history` and `gameday due`: recovery times as
//! distributions with every run plotted, and cadences. Pure.

use std::fmt::Write as _;

use crate::environment::Millis;
use crate::history::{Due, ExpectationHistory, ScenarioHistory, TREND_MIN_RUNS};
use crate::run::metrics::fmt_ms;

/// Columns of the dot strip.
const STRIP: usize = 40;

fn date(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn day(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// One line of dots: each run that recovered is a dot at its recovery time
/// on a scale from 0 to the slowest run or the deadline, whichever is later;
/// `┆` marks the deadline. A digit counts runs that fall in the same column.
pub fn strip(values: &[Millis], deadline: Millis) -> String {
    let scale = values.iter().copied().max().unwrap_or(0).max(deadline).max(1);
    let column = |v: Millis| ((v as f64 / scale as f64) * (STRIP - 1) as f64).round() as usize;
    let mut counts = [0usize; STRIP];
    for v in values {
        counts[column(*v)] += 1;
    }
    let deadline_column = column(deadline);
    let cells: String = counts
        .iter()
        .enumerate()
        .map(|(i, n)| match n {
            0 if i == deadline_column => '┆',
            0 => '·',
            1 => '●',
            n @ 2..=9 => char::from_digit(*n as u32, 10).unwrap_or('+'),
            _ => '+',
        })
        .collect();
    format!("0s [{cells}] {}", fmt_ms(scale))
}

fn expectation(out: &mut String, e: &ExpectationHistory) {
    let _ = writeln!(out, "  {}  (deadline {})", e.name, fmt_ms(e.deadline));
    let measured = e.points.len();
    let not_recovered = e.points.iter().filter(|p| p.recovery.is_none()).count();
    let pass = format!("passed {}/{measured} ({:.0}%)", e.passed(), 100.0 * e.passed() as f64 / measured.max(1) as f64);
    match &e.distribution {
        Some(d) => {
            let _ = writeln!(
                out,
                "    n={}  median {}  p90 {}  min {}  max {}  {pass}{}",
                d.n,
                fmt_ms(d.median),
                fmt_ms(d.p90),
                fmt_ms(d.min),
                fmt_ms(d.max),
                if not_recovered > 0 { format!("  ({not_recovered} not recovered, left out of the figures)") } else { String::new() }
            );
        }
        None => {
            let _ = writeln!(out, "    no run recovered  {pass}");
        }
    }
    match &e.detection {
        Some(d) => {
            let _ = writeln!(out, "    time to detect: n={}  median {}  p90 {}  min {}  max {}", d.n, fmt_ms(d.median), fmt_ms(d.p90), fmt_ms(d.min), fmt_ms(d.max));
        }
        None => {
            let _ = writeln!(out, "    time to detect: no run detected it by a `detected_by` signal (or detection was not measured)");
        }
    }
    let values: Vec<Millis> = e.points.iter().filter_map(|p| p.recovery).collect();
    let _ = writeln!(out, "    {}{}", strip(&values, e.deadline), if not_recovered > 0 { format!("  ✘×{not_recovered}") } else { String::new() });
    let shown = e.points.len().min(12);
    let runs: Vec<String> = e.points[e.points.len() - shown..]
        .iter()
        .map(|p| {
            format!(
                "{} {}{}",
                day(p.started),
                match p.recovery {
                    None => "not recovered".into(),
                    Some(0) => "no impact".into(),
                    Some(v) => fmt_ms(v),
                },
                if p.met { " ✔" } else { " ✘" }
            )
        })
        .collect();
    let _ = writeln!(out, "    runs{}: {}", if shown < e.points.len() { format!(" (last {shown})") } else { String::new() }, runs.join(", "));
    if measured < TREND_MIN_RUNS {
        let _ = writeln!(out, "    no trend claimed: {measured} run(s), fewer than {TREND_MIN_RUNS}");
    } else {
        let recent: Vec<Millis> = e.points.iter().rev().take(3).filter_map(|p| p.recovery).collect();
        let earlier: Vec<Millis> = e.points.iter().rev().skip(3).filter_map(|p| p.recovery).collect();
        if let (Some(r), Some(b)) = (crate::history::Distribution::of(&recent), crate::history::Distribution::of(&earlier)) {
            let _ = writeln!(out, "    last 3 runs: median {} (earlier runs: median {}); a comparison, not a statistical test", fmt_ms(r.median), fmt_ms(b.median));
        }
    }
}

/// `gameday history`: each scenario, then each expectation's distribution.
pub fn render_history(histories: &[ScenarioHistory], due: &[Due]) -> String {
    let mut out = String::new();
    for h in histories {
        let cadence = match due.iter().find(|d| d.scenario == h.scenario) {
            Some(d) if d.overdue => format!(", cadence {}: OVERDUE{}", cadence_name(d), d.due_at.map(|t| format!(" since {}", day(t))).unwrap_or_default()),
            Some(d) => format!(", cadence {}: next due {}", cadence_name(d), d.due_at.map(day).unwrap_or_default()),
            None => String::new(),
        };
        let _ = writeln!(out, "{} — {} run(s), last {}{cadence}", h.scenario, h.runs, date(h.last_run));
        if h.expectations.is_empty() {
            let _ = writeln!(out, "  no run measured a recovery (every run stopped before its faults)");
        }
        for e in &h.expectations {
            expectation(&mut out, e);
        }
        out.push('\n');
    }
    for d in due.iter().filter(|d| !histories.iter().any(|h| h.scenario == d.scenario)) {
        let _ = writeln!(out, "{} — never run, cadence {}: OVERDUE\n", d.scenario, cadence_name(d));
    }
    out
}

fn cadence_name(d: &Due) -> &'static str {
    match d.cadence {
        crate::scenario::Cadence::Weekly => "weekly",
        crate::scenario::Cadence::Monthly => "monthly",
        crate::scenario::Cadence::Quarterly => "quarterly",
    }
}

/// `gameday due`: one line per scenario with a cadence, overdue first.
pub fn render_due(due: &[Due], now: jiff::Timestamp) -> String {
    let mut out = String::new();
    let mut sorted: Vec<&Due> = due.iter().collect();
    sorted.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| a.scenario.cmp(&b.scenario)));
    for d in sorted {
        let days = |from: jiff::Timestamp, to: jiff::Timestamp| to.duration_since(from).as_secs() / 86_400;
        let detail = match (d.last_run, d.due_at) {
            (Some(last), Some(at)) if d.overdue => format!("last run {} ({} days ago), due since {}", day(last), days(last, now), day(at)),
            (Some(last), Some(at)) => format!("last run {} ({} days ago), next due {}", day(last), days(last, now), day(at)),
            _ => "never run".to_string(),
        };
        let _ = writeln!(out, "{:<8} {:<28} {:<10} {}  ({})", if d.overdue { "OVERDUE" } else { "ok" }, d.scenario, cadence_name(d), detail, d.file.display());
    }
    let overdue = due.iter().filter(|d| d.overdue).count();
    let _ = writeln!(out, "{overdue} of {} scenario(s) with a cadence overdue", due.len());
    out
}
