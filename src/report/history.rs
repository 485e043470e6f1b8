//! Text for `gameday history` and `gameday due`: recovery times as
//! distributions with every run plotted, and cadences. Pure.

use std::fmt::Write as _;

use crate::environment::Millis;
use crate::history::{Due, ErrorSpread, ExpectationHistory, RunLine, ScenarioHistory, TREND_MIN_RUNS, Verdict};
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
    let error = |whose: &str, spread: &Option<ErrorSpread>| {
        spread.as_ref().map(|s| format!("{whose}: n={}  median {}  largest {}", s.n, super::tables::signed(i128::from(s.median)), super::tables::signed(i128::from(s.largest))))
    };
    let errors: Vec<String> = [error("the team's `predicted`", &e.team_error), error("the twin's median", &e.twin_error)].into_iter().flatten().collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "    prediction error (measured − predicted, + slower): {}", errors.join("; "));
    }
    let values: Vec<Millis> = e.points.iter().filter_map(|p| p.recovery).collect();
    let _ = writeln!(out, "    {}{}", strip(&values, e.deadline), if not_recovered > 0 { format!("  ✘×{not_recovered}") } else { String::new() });
    let shown = e.points.len().min(12);
    let runs: Vec<String> = e.points[e.points.len() - shown..]
        .iter()
        .map(|p| {
            format!(
                "{} {}{}{}",
                day(p.started),
                match p.recovery {
                    None => "not recovered".into(),
                    Some(0) => "no impact".into(),
                    Some(v) => fmt_ms(v),
                },
                if p.met { " ✔" } else { " ✘" },
                if p.deadline == e.deadline { String::new() } else { format!(" (deadline then {})", fmt_ms(p.deadline)) }
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

/// How many runs each scenario lists, newest last.
const RUNS_SHOWN: usize = 12;

/// What the marks of `history` mean: printed under its text, shown under its page.
pub const KEY: &str = "Key: ✔ held (every expected recovery met), ✘ missed, ? inconclusive (it injected, then ended otherwise: no verdict), – refused before any fault (not counted in any figure).
Strip: each run that recovered is plotted at its time to recover, on a scale from 0s to the slowest run or the deadline, whichever is later: ● one run, 2–9 that many runs in one column, + ten or more, ┆ the deadline; ✘×n counts the runs that did not recover (not plotted).";

/// One run as history lists it: (started, seed, verdict, what changed). Built
/// once for the text and the HTML page.
pub fn run_row(line: &RunLine) -> [String; 4] {
    let verdict = match line.verdict {
        Verdict::Held => "✔ held".to_string(),
        Verdict::Missed => format!("✘ {}", line.detail),
        Verdict::Inconclusive => format!("? inconclusive: {}", line.detail),
        Verdict::Refused => format!("– refused, not counted: {}", line.detail),
    };
    [date(line.started), format!("seed {}", line.seed), verdict, line.transition.map_or(String::new(), |t| t.text().to_string())]
}

fn header(h: &ScenarioHistory, due: &[Due]) -> String {
    let cadence = match due.iter().find(|d| d.scenario == h.scenario) {
        Some(d) if d.overdue => format!(", cadence {}: OVERDUE{}", cadence_name(d), d.due_at.map(|t| format!(" since {}", day(t))).unwrap_or_default()),
        Some(d) => format!(", cadence {}: next due {}", cadence_name(d), d.due_at.map(day).unwrap_or_default()),
        None => String::new(),
    };
    let refused = if h.refused > 0 { format!(" (and {} refused before any fault, not counted)", h.refused) } else { String::new() };
    format!("{} — {} run(s){refused}, last {}{cadence}", h.scenario, h.runs, date(h.last_run))
}

fn never_run(d: &Due) -> String {
    let refused = if d.refused > 0 { format!(" ({} run(s) refused before any fault)", d.refused) } else { String::new() };
    format!("never run{refused}")
}

fn shown(lines: &[RunLine]) -> (&[RunLine], String) {
    let n = lines.len().min(RUNS_SHOWN);
    (&lines[lines.len() - n..], if n < lines.len() { format!(" (last {n} of {})", lines.len()) } else { String::new() })
}

/// `gameday history`: each scenario, its runs, then each expectation's distribution.
pub fn render_history(histories: &[ScenarioHistory], due: &[Due]) -> String {
    let mut out = String::new();
    for h in histories {
        let _ = writeln!(out, "{}", header(h, due));
        let (lines, note) = shown(&h.lines);
        let _ = writeln!(out, "  runs, oldest first{note}:");
        for line in lines {
            let [started, seed, verdict, change] = run_row(line);
            let change = if change.is_empty() { String::new() } else { format!("  ← {change}") };
            let _ = writeln!(out, "    {started}  {seed:<8} {verdict}{change}");
        }
        if h.expectations.is_empty() {
            let _ = writeln!(out, "  no run measured a recovery (every run stopped before its faults)");
        }
        for e in &h.expectations {
            expectation(&mut out, e);
        }
        out.push('\n');
    }
    for d in due.iter().filter(|d| !histories.iter().any(|h| h.scenario == d.scenario)) {
        let _ = writeln!(out, "{} — {}, cadence {}: OVERDUE\n", d.scenario, never_run(d), cadence_name(d));
    }
    if !histories.is_empty() {
        let _ = writeln!(out, "{KEY}");
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
            _ => never_run(d),
        };
        let _ = writeln!(out, "{:<8} {:<28} {:<10} {}  ({})", if d.overdue { "OVERDUE" } else { "ok" }, d.scenario, cadence_name(d), detail, d.file.display());
    }
    let overdue = due.iter().filter(|d| d.overdue).count();
    let _ = writeln!(out, "{overdue} of {} scenario(s) with a cadence overdue", due.len());
    out
}

const PAGE_STYLE: &str = "
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2329;max-width:960px;margin:2rem auto;padding:0 1rem}
h2{border-bottom:1px solid #dde1e5;padding-bottom:.2rem;margin-top:2rem}.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{border:1px solid #dde1e5;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f4f6f8}
svg{width:100%;max-width:560px;height:auto}svg text{font:11px system-ui,sans-serif;fill:#1d2329}.key{color:#3b434b;font-size:.9rem}
";

/// `gameday history --format html`: the same scenarios, runs and figures as
/// the text, with a small plot of each expectation's recovery times.
pub fn render_history_html(histories: &[ScenarioHistory], due: &[Due]) -> String {
    use super::html::escape;
    use super::table::{Cell, Table};
    let mut out = String::new();
    let _ = writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = writeln!(out, "<title>Game day history</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n<h1>Game day history</h1>");
    for h in histories {
        let _ = writeln!(out, "<h2>{}</h2>\n<p>{}</p>", escape(&h.scenario), escape(&header(h, due)));
        let (lines, note) = shown(&h.lines);
        let _ = writeln!(out, "<h3>Runs, oldest first{}</h3>", escape(&note));
        let mut table = Table::new(&["Started", "Seed", "Result", "Change"]);
        for line in lines {
            table.row(run_row(line).into_iter().map(Cell::Text).collect());
        }
        let _ = writeln!(out, "<div class=\"scroll\">\n{}</div>", table.to_html());
        if h.expectations.is_empty() {
            let _ = writeln!(out, "<p>No run measured a recovery (every run stopped before its faults).</p>");
        }
        for e in &h.expectations {
            let mut text = String::new();
            expectation(&mut text, e);
            let _ = writeln!(out, "<h3>{}</h3>\n{}", escape(&e.name), recovery_plot(e));
            // The figures, as the text gives them (its first line is the heading above).
            let _ = writeln!(out, "<pre>{}</pre>", escape(text.lines().skip(1).map(str::trim).collect::<Vec<_>>().join("\n").as_str()));
        }
    }
    for d in due.iter().filter(|d| !histories.iter().any(|h| h.scenario == d.scenario)) {
        let _ = writeln!(out, "<h2>{}</h2>\n<p>{}, cadence {}: OVERDUE</p>", escape(&d.scenario), escape(&never_run(d)), cadence_name(d));
    }
    let _ = writeln!(
        out,
        "{}\n<p class=\"key\">Plots: each run, oldest on the left, at its time to recover: ● met, × missed, △ at the top: not recovered; the dashed line is the deadline, and a short dashed tick the deadline a run was judged against when it differed.</p>\n</body>\n</html>",
        KEY.lines().map(|line| format!("<p class=\"key\">{}</p>", escape(line))).collect::<Vec<_>>().join("\n")
    );
    out
}

/// Each run's time to recover, oldest first, against the deadline. The
/// marks differ by shape, not only colour: ● met, × missed, △ not recovered.
pub fn recovery_plot(e: &ExpectationHistory) -> String {
    use super::html::escape;
    let (width, height, left, right, top, bottom) = (560.0_f64, 170.0_f64, 64.0_f64, 16.0_f64, 16.0_f64, 34.0_f64);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let scale = e.points.iter().filter_map(|p| p.recovery).chain(e.points.iter().map(|p| p.deadline)).max().unwrap_or(0).max(e.deadline).max(1);
    let n = e.points.len().max(1) as f64;
    let x = |i: usize| left + (i as f64 + 0.5) * plot_w / n;
    let y = |v: Millis| top + plot_h * (1.0 - v.min(scale) as f64 / scale as f64);
    let described: Vec<String> = e.points.iter().map(|p| format!("{} seed {}: {}", day(p.started), p.seed, p.recovery.map_or("not recovered".into(), fmt_ms))).collect();
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"Time to recover of each run of {name}\"><desc>Time to recover of each run, oldest first, against the deadline of {deadline}: {runs}.</desc>",
        name = escape(&e.name),
        deadline = fmt_ms(e.deadline),
        runs = escape(&described.join("; "))
    );
    let (x0, x1, y0) = (left, width - right, top + plot_h);
    let _ = writeln!(
        svg,
        "<line x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{y0:.1}\" stroke=\"#8a9096\"/><line x1=\"{x0:.1}\" y1=\"{top:.1}\" x2=\"{x0:.1}\" y2=\"{y0:.1}\" stroke=\"#8a9096\"/>"
    );
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">0s</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        x0 - 6.0,
        y0 + 4.0,
        x0 - 6.0,
        top + 4.0,
        fmt_ms(scale)
    );
    let dy = y(e.deadline);
    let _ = writeln!(
        svg,
        "<line x1=\"{x0:.1}\" y1=\"{dy:.1}\" x2=\"{x1:.1}\" y2=\"{dy:.1}\" stroke=\"#5b2a86\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"><title>deadline {0}</title></line><text x=\"{1:.1}\" y=\"{2:.1}\" text-anchor=\"end\">deadline {0}</text>",
        fmt_ms(e.deadline),
        x1,
        dy - 4.0
    );
    for (i, p) in e.points.iter().enumerate() {
        let cx = x(i);
        // A run judged against another deadline than today's shows its own, as a short dashed tick.
        if p.deadline != e.deadline {
            let _ = writeln!(
                svg,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#5b2a86\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"><title>deadline of this run: {}</title></line>",
                cx - 10.0,
                cx + 10.0,
                fmt_ms(p.deadline),
                y = y(p.deadline)
            );
        }
        let title = format!("<title>{}</title>", escape(&format!("{}, {}", described[i], if p.met { "met" } else { "missed" })));
        match p.recovery {
            Some(v) if p.met => {
                let _ = writeln!(svg, "<circle cx=\"{cx:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"#1d2329\">{title}</circle>", y(v));
            }
            Some(v) => {
                let cy = y(v);
                let _ = writeln!(
                    svg,
                    "<g stroke=\"#b3261e\" stroke-width=\"2.5\">{title}<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/><line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/></g>",
                    cx - 5.0,
                    cy - 5.0,
                    cx + 5.0,
                    cy + 5.0,
                    cx - 5.0,
                    cy + 5.0,
                    cx + 5.0,
                    cy - 5.0
                );
            }
            None => {
                let _ = writeln!(
                    svg,
                    "<polygon points=\"{cx:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"#ffffff\" stroke=\"#b3261e\" stroke-width=\"2\">{title}</polygon>",
                    top - 4.0,
                    cx - 6.0,
                    top + 7.0,
                    cx + 6.0,
                    top + 7.0
                );
            }
        }
    }
    if let (Some(first), Some(last)) = (e.points.first(), e.points.last()) {
        let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>", x0, height - 8.0, day(first.started));
        let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", x1, height - 8.0, day(last.started));
    }
    svg.push_str("</svg>\n");
    svg
}
