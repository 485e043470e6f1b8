//! Every table of the learning report, built once from the run. The
//! Markdown and HTML reports render these same tables, so a row cannot be
//! in one format and missing from the other.

use crate::predict::{Recovery, recovery};
use crate::run::RunResult;
use crate::run::metrics::{ExpectationKind, ExpectationResult, ObjectiveResult, fmt_ms};

use super::table::{Cell, Table};
use super::{ReportContext, t};

fn opt(ms: Option<u64>) -> String {
    ms.map_or("—".to_string(), fmt_ms)
}

/// Why an expected recovery was not measured: its fault never started (the
/// run stopped first), so its probes were never judged against it.
fn not_measured(e: &ExpectationResult, result: &RunResult) -> Option<String> {
    let fault = result.faults.iter().find(|f| f.name == e.fault)?;
    fault.started_at.is_none().then(|| format!("the fault `{}` never started", e.fault))
}

/// How long an expected recovery took to recover, with its own mark for
/// no impact, for never recovering and for not measured.
pub fn time_to_recover(e: &ExpectationResult, result: &RunResult) -> String {
    if not_measured(e, result).is_some() {
        return "not measured".to_string();
    }
    if e.kind == ExpectationKind::FailsOver {
        return e.failover.as_ref().map_or("—".into(), failover_text);
    }
    match (e.impact_start, e.time_to_recover) {
        (None, _) => "no impact".to_string(),
        (Some(_), Some(ms)) => fmt_ms(ms),
        (Some(_), None) => "not recovered".to_string(),
    }
}

/// How long the probes were impaired. An impact that never ended lasted at
/// least until the run ended: it must not read like no impact.
pub fn impact(e: &ExpectationResult, result: &RunResult) -> String {
    if not_measured(e, result).is_some() {
        return "not measured".to_string();
    }
    match (e.impact_start, e.impact_duration) {
        (None, _) => "no impact".to_string(),
        (Some(_), Some(ms)) => fmt_ms(ms),
        (Some(start), None) => format!("not recovered (≥ {})", fmt_ms(result.duration_ms.saturating_sub(start))),
    }
}

/// An expected recovery's impact in a sentence (the Impact section).
pub fn impact_sentence(e: &ExpectationResult, result: &RunResult) -> String {
    let measured = match (not_measured(e, result), e.impact_start) {
        (Some(why), _) => return format!("not measured: {why}"),
        (None, None) => "no impact".to_string(),
        (None, Some(_)) => format!("impact {}", impact(e, result)),
    };
    let intended = if e.intended > 0 { format!(" ({} in the intended state during the fault, not counted)", fmt_ms(e.intended)) } else { String::new() };
    let failover = e.failover.as_ref().map_or(String::new(), |f| format!("; failover: {}", failover_text(f)));
    format!("{} down{intended}, {}, {measured}{failover}", fmt_ms(e.downtime), error_rates(e))
}

/// A failover verdict with its time, as people read it.
pub fn failover_text(f: &crate::run::metrics::Failover) -> String {
    match f.time_to_fail_over {
        Some(ms) => format!("{} (clients moved after {})", f.verdict.text(), fmt_ms(ms)),
        None => f.verdict.text().to_string(),
    }
}

/// Both error rates, each named for what it counts: requests (and where
/// they were counted) and gameday's probe samples.
pub fn error_rates(e: &ExpectationResult) -> String {
    let probes = format!("{:.1}% of probe samples failed", e.probe_error_rate);
    match e.error_rate {
        Some(rate) => format!("{rate:.2}% of requests failed ({}), {probes}", e.error_rate_source.describe()),
        None => probes,
    }
}

/// A duration from the scenario in the reports' one format (`5m00s`, not `5m`).
fn duration(d: crate::scenario::Duration) -> String {
    fmt_ms(d.as_millis())
}

/// The facts at the top: scenario, environment, when, how long, how to reproduce.
pub fn facts(ctx: &ReportContext<'_>) -> Table {
    let (scenario, result) = (ctx.scenario, ctx.result);
    let started = ctx.walked.started.as_deref().unwrap_or_default();
    let mut table = Table::facts();
    let mut fact = |name: &str, value: Cell| table.row(vec![Cell::text(name), value]);
    fact("Scenario", Cell::code(&scenario.name));
    let simulated = if result.on_simulator() { ", simulated: virtual time" } else { "" };
    fact("Environment", Cell::text(format!("{} (account {}){simulated}", result.environment, result.account)));
    fact("Started", Cell::text(started));
    fact("Duration", Cell::text(fmt_ms(result.duration_ms)));
    fact("Seed", Cell::marked(seed_text(result)));
    fact("Exit code", Cell::text(result.exit_code.to_string()));
    if let Some(owner) = &scenario.owner {
        fact("Owner", Cell::text(owner));
    }
    match &ctx.runbook {
        Some(super::RunbookRef { name, copy: Some(copy) }) => fact("Runbook", Cell::File { text: name.clone(), target: copy.clone() }),
        Some(super::RunbookRef { name, copy: None }) => fact("Runbook", Cell::text(format!("{name} (no copy was kept with this run)"))),
        None => {}
    }
    table
}

/// The seed, and what it decided. On the simulator, everything: the same
/// seed replays the run. Elsewhere, only which targets a fault took from
/// its candidates (`count`, `percent`: `guard::select`); the systems and the
/// wall clock are not replayed.
fn seed_text(result: &RunResult) -> String {
    let seed = result.seed;
    if result.on_simulator() && result.drill.is_some() {
        // People's commands are part of a drill's run: the seed replays the simulator's side only.
        format!("{seed} (`gameday drill … --seed {seed}` with the same commands at the same times reproduces this run)")
    } else if result.on_simulator() {
        format!("{seed} (`gameday run … --seed {seed}` reproduces this run)")
    } else if result.faults.iter().all(|fault| fault.targets.is_empty()) {
        format!("{seed} (a run on real systems cannot be repeated; no fault here chose among targets, so the seed decided nothing)")
    } else {
        format!("{seed} (a run on real systems cannot be repeated; `gameday run … --seed {seed}` chooses the same targets again from the same candidates)")
    }
}

/// When each phase began, with the journal line it comes from.
pub fn phases(ctx: &ReportContext<'_>) -> Table {
    let mut table = Table::new(&["Phase", "Time", "What", "Evidence"]);
    for phase in &ctx.walked.phases {
        table.row(vec![Cell::text(phase.phase), Cell::text(phase.at.map_or("—".into(), t)), Cell::marked(phase.what.clone()), Cell::text(phase.evidence.clone())]);
    }
    table
}

/// The RTOs of a disaster-recovery scenario; `None` when it measured none.
pub fn disaster_recovery(ctx: &ReportContext<'_>) -> Option<Table> {
    let rtos = super::rtos(ctx.scenario, ctx.result);
    if rtos.is_empty() {
        return None;
    }
    let mut table = Table::new(&["Fault", "Recovery", "RTO target", "Achieved RTO", "Result"]);
    for rto in &rtos {
        table.row(vec![
            Cell::marked(format!("`{}` ({})", rto.fault, rto.kind)),
            Cell::text(&rto.expectation),
            Cell::text(fmt_ms(rto.target)),
            Cell::text(rto.achieved_text()),
            Cell::text(rto.verdict_text()),
        ]);
    }
    Some(table)
}

/// Each Region switch execution: ARC's recovery time beside gameday's and
/// the difference; `None` when no execution ended.
pub fn region_switch(ctx: &ReportContext<'_>) -> Option<Table> {
    if ctx.result.region_switches.is_empty() {
        return None;
    }
    let mut table = Table::new(&["Step", "Execution", "State", "ARC actual recovery time", "gameday recovery time", "Difference (gameday − ARC)"]);
    for switch in &ctx.result.region_switches {
        let arc = match (&switch.arc_recovery_time, switch.arc_recovery_ms) {
            (Some(text), Some(ms)) => format!("{} ({text})", fmt_ms(ms)),
            (Some(text), None) => format!("{text} (not a duration gameday can read)"),
            (None, _) => "— (ARC gave none)".to_string(),
        };
        let difference = switch.difference_ms.map_or("—".to_string(), |d| signed(i128::from(d)));
        table.row(vec![
            Cell::code(&switch.fault),
            Cell::text(&switch.execution_id),
            Cell::text(&switch.state),
            Cell::text(arc),
            Cell::text(opt(switch.gameday_recovery_ms)),
            Cell::text(difference),
        ]);
    }
    Some(table)
}

/// Each expected recovery that names a shared objective, against its
/// targets; `None` when none does (docs/metrics.md, "Objectives").
pub fn objectives(ctx: &ReportContext<'_>) -> Option<Table> {
    let judged: Vec<(&ExpectationResult, &ObjectiveResult)> = ctx.result.expectations.iter().filter_map(|e| Some((e, e.objective.as_ref()?))).collect();
    if judged.is_empty() {
        return None;
    }
    let mut table = Table::new(&["Expected recovery", "Objective", "RTO", "Achieved", "RTO met?", "RPO target", "Availability target", "Achieved availability"]);
    for (e, o) in judged {
        let measured = not_measured(e, ctx.result).is_none();
        let rto_met = match (measured, o.rto_met) {
            (false, _) => "—",
            (true, true) => "✅ met",
            (true, false) => "❌ missed",
        };
        table.row(vec![
            Cell::text(&e.name),
            Cell::code(o.class.name()),
            Cell::text(fmt_ms(o.rto)),
            Cell::text(time_to_recover(e, ctx.result)),
            Cell::text(rto_met),
            Cell::text(o.rpo.map_or("—".to_string(), |rpo| format!("{} (not measured: check the data stores)", fmt_ms(rpo)))),
            Cell::text(o.availability.map_or("—".to_string(), |a| format!("{a}%"))),
            Cell::text(achieved_availability(o)),
        ]);
    }
    Some(table)
}

/// Each practice run: ARC's outcome beside what gameday's probes saw while
/// it ran; `None` when gameday read no outcome.
pub fn practice_run(ctx: &ReportContext<'_>) -> Option<Table> {
    if ctx.result.practice_runs.is_empty() {
        return None;
    }
    let mut table = Table::new(&["Step", "Practice run", "ARC outcome", "Duration", "Client availability", "Failed samples", "Expectations met"]);
    for run in &ctx.result.practice_runs {
        table.row(vec![
            Cell::code(&run.fault),
            Cell::text(&run.zonal_shift_id),
            Cell::text(run.outcome.as_str()),
            Cell::text(opt(run.duration_ms)),
            Cell::text(run.client_availability.map_or("— (no samples)".to_string(), |a| format!("{a:.2}%"))),
            Cell::text(format!("{} of {}", run.client_failures, run.client_samples)),
            Cell::text(format!("{} of {}", run.expectations_met, run.expectations)),
        ]);
    }
    Some(table)
}

/// The share of requests that succeeded, to one more decimal than the
/// target is written with, at least two (99 → 99.33%, 99.95 → 99.953%),
/// and whether it met the target.
fn achieved_availability(o: &ObjectiveResult) -> String {
    let Some(target) = o.availability else { return "—".into() };
    let decimals = (target.to_string().split_once('.').map_or(0, |(_, fraction)| fraction.len()) + 1).max(2);
    match (o.achieved_availability, o.availability_met) {
        (_, None) => "not judged: no request count (`max_impact.requests`)".into(),
        (Some(achieved), Some(met)) => format!("{achieved:.decimals$}% {}", if met { "✅ met" } else { "❌ missed" }),
        (None, Some(_)) => "❌ no request count could be read".into(),
    }
}

/// Detection, recovery and impact of each expected recovery, against its deadline and prediction.
pub fn metrics(ctx: &ReportContext<'_>) -> Table {
    let mut table = Table::new(&["Expected recovery", "Time to detect", "Time to recover", "Impact", "Deadline", "Predicted", "Δ vs predicted", "Result"]);
    for e in &ctx.result.expectations {
        let delta = e.prediction_error.map_or("—".to_string(), |d| if d >= 0 { format!("+{}", fmt_ms(d.unsigned_abs())) } else { format!("−{}", fmt_ms(d.unsigned_abs())) });
        table.row(vec![
            Cell::text(&e.name),
            Cell::text(opt(e.time_to_detect)),
            Cell::text(time_to_recover(e, ctx.result)),
            Cell::text(impact(e, ctx.result)),
            Cell::text(fmt_ms(e.deadline_after_fault())),
            Cell::text(opt(e.predicted)),
            Cell::text(delta),
            Cell::text(if e.met { "✅ met".to_string() } else { format!("❌ {}", e.misses.join("; ")) }),
        ]);
    }
    table
}

/// What the scenario expected of each recovery, against what the run saw.
pub fn expected_against_observed(ctx: &ReportContext<'_>) -> Table {
    let mut table = Table::new(&["Expected recovery", "Expected", "Observed"]);
    for (e, expected) in ctx.result.expectations.iter().zip(&ctx.scenario.expected_recoveries) {
        let mut wanted = vec![match (e.kind, expected.recovers_within) {
            (ExpectationKind::StaysHealthy, _) => "stay healthy while the fault is in place".to_string(),
            (ExpectationKind::FailsOver, within) => format!("clients fail over within {}", within.map_or("—".into(), duration)),
            (ExpectationKind::RecoversWithin, within) => format!("recover within {}, then stay healthy", within.map_or("—".into(), duration)),
        }];
        if let Some(d) = expected.detected_within {
            wanted.push(format!("detected within {}", duration(d)));
        }
        if let Some(budget) = &expected.max_impact {
            if let Some(d) = budget.downtime {
                wanted.push(format!("at most {} down", duration(d)));
            }
            if let Some(r) = budget.error_rate {
                wanted.push(format!("at most {r}% failed requests"));
            }
            if let Some(r) = budget.probe_error_rate {
                wanted.push(format!("at most {r}% failed probe samples"));
            }
        }
        // Where the numbers came from, when a shared objective set them.
        if let Some(o) = &e.objective {
            wanted.push(format!("by the `{}` objective", o.class.name()));
        }
        let expected = format!("{} (probes: {}; {})", wanted.join(", "), e.probes.join(", "), e.clock_text());
        table.row(vec![Cell::text(&e.name), Cell::marked(expected), Cell::marked(observed_sentence(e, ctx.result))]);
    }
    table
}

fn observed_sentence(e: &ExpectationResult, result: &RunResult) -> String {
    let verdict = if e.met { "met".to_string() } else { format!("**missed**: {}", e.misses.join("; ")) };
    // The verdict says why (the fault never started).
    if not_measured(e, result).is_some() {
        return format!("not measured — {verdict}.");
    }
    let mut parts = Vec::new();
    match e.impact_start {
        None if e.intended > 0 => parts.push("the probes failed only in their intended state".to_string()),
        None => parts.push("the probes never failed".to_string()),
        Some(i) => parts.push(format!("first failing sample {} after {}", fmt_ms(e.after_fault(i)), e.clock_name())),
    }
    if let (Some(at), Some(by)) = (e.detected_at, &e.detected_by) {
        parts.push(format!("detected after {} by {by}", fmt_ms(at.saturating_sub(e.fault_start))));
    }
    match (e.impact_start, e.recovered_at) {
        (Some(_), Some(r)) => parts.push(format!("recovered {} after {}", fmt_ms(e.after_fault(r)), e.clock_name())),
        (Some(_), None) => parts.push("not recovered by the end of the run".to_string()),
        _ => {}
    }
    if e.intended > 0 {
        parts.push(format!("{} in the intended state during the fault", fmt_ms(e.intended)));
    }
    if let Some(f) = &e.failover {
        parts.push(format!("failover {}", failover_text(f)));
    }
    parts.push(format!("{} down, {}", fmt_ms(e.downtime), error_rates(e)));
    format!("{} — {verdict}.", parts.join(", "))
}

/// Every notable journal record, with its line. On a real system each row
/// also gives its wall-clock time (UTC), to set beside dashboards, pages and
/// chat; the simulator's run time is virtual, so its rows have `T+` alone.
pub fn timeline(ctx: &ReportContext<'_>) -> Table {
    let real = !ctx.result.on_simulator();
    let mut table = Table::new(if real { &["Time", "Clock (UTC)", "Event", "Evidence"] } else { &["Time", "Event", "Evidence"] });
    for (at, wall, event, evidence) in &ctx.walked.timeline {
        let mut row = vec![Cell::text(t(*at))];
        if real {
            row.push(Cell::text(wall_clock(wall)));
        }
        row.extend([Cell::marked(event.clone()), Cell::text(evidence.clone())]);
        table.row(row);
    }
    table
}

/// A record's wall-clock stamp as people read it: `2026-12-03 04:56:34.120`;
/// "—" when the record has none.
fn wall_clock(wall: &str) -> String {
    match wall.parse::<jiff::Timestamp>() {
        Ok(at) => at.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        Err(_) => "—".to_string(),
    }
}

/// Each fault: what it hit, when, and whether (and how completely) it was reverted.
pub fn faults(ctx: &ReportContext<'_>) -> Table {
    let mut table = Table::new(&["Fault", "Kind", "Targets", "Zones", "Started", "Ended", "Reverted"]);
    for f in &ctx.result.faults {
        let reverted = if f.reverted {
            if f.revert_skipped.is_empty() {
                "yes".to_string()
            } else {
                format!("yes; skipped: {}", f.revert_skipped.iter().map(|(id, why)| format!("{id} ({why})")).collect::<Vec<_>>().join(", "))
            }
        } else if let Some(error) = &f.error {
            format!("no: {error}")
        } else if f.started_at.is_some() {
            "not needed (cannot be undone)".to_string()
        } else {
            "never injected".to_string()
        };
        table.row(vec![
            Cell::code(&f.name),
            Cell::text(&f.kind),
            Cell::text(if f.targets.is_empty() { "—".into() } else { f.targets.join(", ") }),
            Cell::text(f.zones.join(", ")),
            Cell::text(f.started_at.map_or("—".into(), t)),
            Cell::text(f.ended_at.map_or("—".into(), t)),
            Cell::text(reverted),
        ]);
    }
    table
}

/// Each probe's samples over the whole run.
pub fn probes(ctx: &ReportContext<'_>) -> Table {
    let mut table = Table::new(&["Probe", "Kind", "Samples", "Failed", "Availability", "Slowest"]);
    for p in &ctx.result.probes {
        table.row(vec![
            Cell::code(&p.name),
            Cell::text(&p.kind),
            Cell::text(p.samples.to_string()),
            Cell::text(p.failures.to_string()),
            Cell::text(format!("{:.2}%", p.availability)),
            Cell::text(format!("{}ms", p.max_latency_ms)),
        ]);
    }
    table
}

/// A drill section's rows (text with `code` spans) as a table.
pub fn drill_table<const N: usize>(header: &[&'static str; N], rows: &[[String; N]]) -> Table {
    let mut table = Table::new(header);
    for row in rows {
        table.row(row.iter().map(Cell::marked).collect());
    }
    table
}

/// A signed duration as the reports write differences: `+20s`, `−3m20s`, `0s`.
pub fn signed(ms: i128) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let magnitude = fmt_ms(u64::try_from(ms.unsigned_abs()).unwrap_or(u64::MAX));
    if ms >= 0 { format!("+{magnitude}") } else { format!("−{magnitude}") }
}

/// The twin's prediction (`prediction.json`) against what the run measured,
/// per expectation (docs/metrics.md, "Predicted times"). `None` without a prediction.
pub fn twin_prediction(ctx: &ReportContext<'_>) -> Option<(Table, bool)> {
    let prediction = ctx.prediction?;
    let mut table = Table::new(&["Expected recovery", "The twin predicted", "Measured", "Deadline", "Measured − predicted median", "Against the twin's range"]);
    let mut outside = false;
    for e in &ctx.result.expectations {
        let Some(p) = prediction.expectations.iter().find(|p| p.name == e.name) else {
            table.row(vec![
                Cell::text(&e.name),
                Cell::text("not predicted"),
                Cell::text(time_to_recover(e, ctx.result)),
                Cell::text(fmt_ms(e.deadline_after_fault())),
                Cell::text("—"),
                Cell::text("—"),
            ]);
            continue;
        };
        let mut parts: Vec<String> = p
            .recovery
            .iter()
            .map(|s| format!("median {}, p90 {}, range {}–{} ({} of {} seeds)", fmt_ms(s.median), fmt_ms(s.p90), fmt_ms(s.min), fmt_ms(s.max), s.seeds, p.seeds))
            .collect();
        for (count, what) in [(p.not_recovered, "not recovered"), (p.no_impact, "no impact")] {
            if count > 0 {
                parts.push(format!("{what} in {count}"));
            }
        }
        if p.missed > 0 {
            parts.push(format!("predicted to miss in {} of {}", p.missed, p.seeds));
        }
        let predicted = if parts.is_empty() { "—".to_string() } else { parts.join("; ") };
        let as_in = |count: usize, what: &str| if count == p.seeds { format!("{what}, as predicted") } else { format!("{what}, as in {count} of {} seeds", p.seeds) };
        let (difference, range, differs) = match (recovery(e), &p.recovery) {
            (Recovery::After(m), Some(s)) => {
                let range = if m < s.min {
                    "faster than every seed"
                } else if m > s.max {
                    "slower than every seed"
                } else {
                    "within"
                };
                (signed(i128::from(m) - i128::from(s.median)), range.to_string(), range != "within")
            }
            (Recovery::After(_), None) => ("—".to_string(), "a recovery time, where the twin predicted none".to_string(), true),
            (Recovery::NoImpact, _) if p.no_impact > 0 => ("—".to_string(), as_in(p.no_impact, "no impact"), false),
            (Recovery::NoImpact, _) => ("—".to_string(), "no impact, where the twin predicted one".to_string(), true),
            (Recovery::NotRecovered, _) if p.not_recovered > 0 => ("—".to_string(), as_in(p.not_recovered, "not recovered"), false),
            (Recovery::NotRecovered, _) => ("—".to_string(), "not recovered, where the twin predicted a recovery".to_string(), true),
        };
        outside |= differs;
        table.row(vec![
            Cell::text(&e.name),
            Cell::text(predicted),
            Cell::text(time_to_recover(e, ctx.result)),
            Cell::text(fmt_ms(e.deadline_after_fault())),
            Cell::text(difference),
            Cell::text(range),
        ]);
    }
    Some((table, outside))
}

/// What to look at when a measurement fell outside the twin's range.
pub const TWIN_ADVICE: &str = "Where a measurement is outside the twin's range, the model and the system differ. Look first at what the twin assumed (`timings.ec2.launch` and `timings.ec2.boot` in its topology: the account does not say them), then at the imported settings that pace this recovery (a group's `health_check_grace_period`, a target group's `interval` and thresholds, a health check's `request_interval` and `failure_threshold`, a record's TTL). Correct the topology by hand and predict again.";
