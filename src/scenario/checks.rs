//! Semantic checks: a file that is well-formed can still be wrong (a probe
//! named in an expectation that does not exist, a fault that can never pass
//! the guards). Every check returns problems with a path; positions are
//! added by the loader, which owns the source tree.

use std::collections::{BTreeSet, HashMap};
use std::path::Path as FsPath;

use super::diagnostic::Problem;
use super::model::*;
use super::structure::did_you_mean;
use super::yaml_tree::{Node, Path, Position};

struct Findings<'t> {
    tree: &'t Node,
    problems: Vec<Problem>,
}

impl Findings<'_> {
    fn add(&mut self, path: &str, message: String, hint: Option<String>) {
        let path = Path::parse(path);
        let at: Position = self.tree.locate(&path);
        let mut problem = Problem::new(path, at, message);
        problem.hint = hint;
        self.problems.push(problem);
    }
}

/// Runs every semantic check. `scenario_dir` is the directory of the file,
/// used to find the runbook.
pub fn check(scenario: &Scenario, tree: &Node, scenario_dir: Option<&FsPath>) -> Vec<Problem> {
    let mut found = Findings { tree, problems: Vec::new() };
    check_about(scenario, scenario_dir, &mut found);
    check_guards(&scenario.guards, &mut found);
    let probe_names = check_probes(scenario, &mut found);
    let fault_names = check_faults(scenario, &mut found);
    check_stop_conditions(&scenario.guards, &probe_names, &mut found);
    check_expectations(scenario, &probe_names, &fault_names, &mut found);
    check_operator_actions(scenario, &mut found);
    check_limits(scenario, &mut found);
    found.problems
}

fn unknown_name_hint<'a>(name: &str, known: impl IntoIterator<Item = &'a str> + Clone) -> Option<String> {
    let list: Vec<&str> = known.clone().into_iter().collect();
    Some(match did_you_mean(name, known) {
        Some(close) => format!("did you mean `{close}`?"),
        None if list.is_empty() => "none are defined".to_string(),
        None => format!("defined: {}", list.join(", ")),
    })
}

fn check_about(scenario: &Scenario, scenario_dir: Option<&FsPath>, found: &mut Findings) {
    if scenario.api_version != API_VERSION {
        found.add("apiVersion", format!("unsupported apiVersion `{}`", scenario.api_version), Some(format!("this gameday reads `apiVersion: {API_VERSION}`")));
    }
    let name_ok = !scenario.name.is_empty()
        && scenario.name.len() <= 63
        && scenario.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !scenario.name.starts_with('-');
    if !name_ok {
        found.add("name", format!("`{}` is not a valid scenario name", scenario.name), Some("use 1–63 lowercase letters, digits and `-`, e.g. `az-loss`".into()));
    }
    if let (Some(runbook), Some(dir)) = (&scenario.runbook, scenario_dir) {
        match resolve_runbook(runbook, dir) {
            None => found.add(
                "runbook",
                format!("the runbook `{runbook}` does not exist"),
                Some("paths are relative to the scenario's directory or its parent (the project root), e.g. `runbooks/az-loss.md`".into()),
            ),
            Some(path) => check_runbook_actions(scenario, &path, found),
        }
    }
}

/// Every `- Action: NAME` of the runbook's steps names an operator action
/// the scenario declares: `gameday drill` could not take it otherwise, and
/// `validate` says so before anyone gathers for the drill. A runbook that
/// cannot be read, or has no steps, names none (a run needs no steps; a
/// drill says so itself).
fn check_runbook_actions(scenario: &Scenario, path: &FsPath, found: &mut Findings) {
    let Some(steps) = std::fs::read_to_string(path).ok().and_then(|text| super::runbook::parse_steps(&text).ok()) else { return };
    let declared: Vec<&str> = scenario.operator_actions.iter().map(|a| a.name.as_str()).collect();
    for step in &steps {
        let Some(action) = step.action.as_deref().filter(|action| !declared.contains(action)) else { continue };
        let hint = match did_you_mean(action, declared.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None if declared.is_empty() => "declare it under `operator_actions` (docs/drills.md)".to_string(),
            None => format!("the scenario declares: {}", declared.join(", ")),
        };
        found.add(
            "runbook",
            format!("{}:{}: step {} names the operator action `{action}`, which the scenario does not declare", path.display(), step.line, step.number),
            Some(hint),
        );
    }
}

/// Finds a runbook relative to the scenario's directory, then its parent
/// (so `runbooks/x.md` works from `scenarios/x.yaml`), then the working directory.
pub fn resolve_runbook(runbook: &str, scenario_dir: &FsPath) -> Option<std::path::PathBuf> {
    resolve_file(runbook, scenario_dir)
}

/// Finds a file a scenario names (its runbook, its objectives) relative to
/// the scenario's directory, then its parent (the project root), then the
/// working directory.
pub fn resolve_file(runbook: &str, scenario_dir: &FsPath) -> Option<std::path::PathBuf> {
    let candidates = [Some(scenario_dir.join(runbook)), scenario_dir.parent().map(|p| p.join(runbook)), Some(std::path::PathBuf::from(runbook))];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

fn check_percent(value: f64, path: &str, found: &mut Findings) -> bool {
    if !(value > 0.0 && value <= 100.0) {
        found.add(path, format!("{value} is not a percentage: more than 0 and at most 100"), Some("write a share such as `25` for a quarter".into()));
        return false;
    }
    true
}

fn check_guards(guards: &Guards, found: &mut Findings) {
    if let Some(percent) = guards.max_percent {
        check_percent(percent, "guards.max_percent", found);
    }
    if guards.max_targets == Some(0) {
        found.add("guards.max_targets", "`max_targets: 0` allows no target, so no fault could run".into(), Some("remove the fault or raise the limit".into()));
    }
    for (index, account) in guards.accounts.iter().enumerate() {
        if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
            found.add(
                &format!("guards.accounts[{index}]"),
                format!("`{account}` is not a 12-digit AWS account id"),
                Some("quote it so leading zeros survive: \"012345678901\"".into()),
            );
        }
    }
    for (index, window) in guards.windows.iter().enumerate() {
        if parse_hours(&window.hours).is_none() {
            // The same text with its ends swapped reads: a window across midnight.
            let across_midnight = window.hours.split_once('-').is_some_and(|(start, end)| parse_hours(&format!("{end}-{start}")).is_some());
            let hint = if across_midnight {
                "a window cannot cross midnight: write two windows, one to `24:00` and one from `00:00` on the next day".to_string()
            } else {
                "write `HH:MM-HH:MM` with the start before the end, e.g. `09:00-17:00`".to_string()
            };
            found.add(&format!("guards.windows[{index}].hours"), format!("`{}` is not a range of hours", window.hours), Some(hint));
        }
        if jiff::tz::TimeZone::get(&window.time_zone).is_err() {
            found.add(
                &format!("guards.windows[{index}].time_zone"),
                format!("unknown time zone `{}`", window.time_zone),
                Some("use an IANA name such as `UTC`, `Europe/Berlin` or `America/New_York`".into()),
            );
        }
    }
    // That each date exists is checked with the structure, where it is written.
    for (index, blackout) in guards.blackouts.iter().enumerate() {
        if blackout.from > blackout.to {
            found.add(
                &format!("guards.blackouts[{index}].to"),
                format!("the blackout ends ({}) before it starts ({})", blackout.to, blackout.from),
                Some("swap `from` and `to`".into()),
            );
        }
    }
    if guards.max_duration == Some(super::Duration::ZERO) {
        found.add(
            "guards.max_duration",
            "`max_duration` is zero, so every run would abort at once".into(),
            Some("give the longest the run may take, e.g. `max_duration: 30m`, or remove it for no limit".into()),
        );
    }
}

/// Parses `HH:MM-HH:MM` into minutes since midnight.
pub fn parse_hours(text: &str) -> Option<(u32, u32)> {
    let (start, end) = text.split_once('-')?;
    let minutes = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    let (start, end) = (minutes(start)?, minutes(end)?);
    (start < end).then_some((start, end))
}

fn check_probes<'s>(scenario: &'s Scenario, found: &mut Findings) -> Vec<&'s str> {
    if scenario.steady_state.is_empty() {
        found.add(
            "steady_state",
            "the steady state is empty: nothing would tell whether the system is healthy".into(),
            Some("add at least one probe, e.g. an `http` probe of your health endpoint".into()),
        );
    }
    let mut names: Vec<&str> = Vec::new();
    for (index, probe) in scenario.steady_state.iter().enumerate() {
        let at = format!("steady_state[{index}]");
        if names.contains(&probe.name.as_str()) {
            found.add(&format!("{at}.name"), format!("two probes are named `{}`", probe.name), Some("give each probe its own name".into()));
        }
        names.push(&probe.name);
        if probe.interval.as_millis() == 0 {
            found.add(&format!("{at}.interval"), "the interval must be longer than zero".into(), Some("e.g. `interval: 10s`".into()));
        }
        if probe.timeout.as_millis() == 0 {
            found.add(&format!("{at}.timeout"), "the timeout must be longer than zero".into(), None);
        } else if probe.timeout > probe.interval {
            found.add(
                &format!("{at}.timeout"),
                format!("the timeout ({}) is longer than the interval ({})", probe.timeout, probe.interval),
                Some("samples would overlap: shorten the timeout or lengthen the interval".into()),
            );
        }
        if probe.healthy_after == 0 {
            found.add(&format!("{at}.healthy_after"), "`healthy_after` must be at least 1".into(), Some("it is the number of consecutive passes that mean recovered".into()));
        }
        match &probe.check {
            ProbeCheck::Http { url, status, body_matches, .. } => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    found.add(&format!("{at}.url"), format!("`{url}` is not an http(s) URL"), Some("write it like `https://api.example.com/health`".into()));
                }
                if let Some(status) = status
                    && status.bounds().is_none_or(|(low, high)| !(100..=599).contains(&low) || !(100..=599).contains(&high))
                {
                    found.add(
                        &format!("{at}.status"),
                        "the status must be a code such as `200` or a range such as `\"200-299\"`".into(),
                        Some("HTTP status codes run from 100 to 599".into()),
                    );
                }
                if let Some(pattern) = body_matches {
                    check_regex(pattern, &format!("{at}.body_matches"), found);
                }
            }
            ProbeCheck::Command { run, stdout_matches, .. } => {
                if run.trim().is_empty() {
                    found.add(
                        &format!("{at}.run"),
                        "the command is empty: every sample would fail".into(),
                        Some("give the command whose exit code says healthy (0) or not".into()),
                    );
                }
                if let Some(pattern) = stdout_matches {
                    check_regex(pattern, &format!("{at}.stdout_matches"), found);
                }
            }
            ProbeCheck::Tcp { port: 0, .. } => {
                found.add(&format!("{at}.port"), "port 0 cannot be probed".into(), Some("give the port the service listens on, from 1 to 65535".into()))
            }
            ProbeCheck::DbWriter { cluster, instance, expect_writer } => {
                check_database(cluster, instance, "db_writer", &at, found);
                if expect_writer.is_some() && cluster.is_none() {
                    found.add(
                        &format!("{at}.expect_writer"),
                        "`expect_writer` names a cluster's writer; a DB instance has none to expect".into(),
                        Some("use it with `cluster`".into()),
                    );
                }
            }
            ProbeCheck::Metric { metric, period, .. } => {
                if metric.names().is_empty() || metric.names().iter().any(|n| n.trim().is_empty()) {
                    found.add(&format!("{at}.metric"), "name the metric, e.g. `RequestCount`".into(), None);
                }
                let seconds = period.as_millis() / 1000;
                if period.as_millis() % 1000 != 0 || !([1, 5, 10, 30].contains(&seconds) || (seconds > 0 && seconds % 60 == 0)) {
                    found.add(
                        &format!("{at}.period"),
                        format!("CloudWatch cannot read a period of {period}"),
                        Some("use 1s, 5s, 10s, 30s or a multiple of 60s (ALB metrics: 60s)".into()),
                    );
                }
            }
            _ => {}
        }
    }
    names
}

/// The `max_impact` of one expectation: `error_rate` is a share of
/// requests, so it needs a `metric` probe that counts them, read one whole
/// period per sample so each request is counted once.
fn check_budget(scenario: &Scenario, budget: &crate::scenario::ImpactBudget, at: &str, found: &mut Findings) {
    if let Some(rate) = budget.error_rate {
        check_percent(rate, &format!("{at}.max_impact.error_rate"), found);
        if budget.requests.is_none() {
            found.add(
                &format!("{at}.max_impact.error_rate"),
                "`error_rate` is the share of requests that failed, and nothing here counts requests".into(),
                Some("add a `metric` probe that counts failed requests `divided_by` all requests (on an ALB: `[HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count]` divided by `RequestCount`) and name it in `max_impact.requests`; or budget gameday's own probe samples with `max_impact.probe_error_rate`".into()),
            );
        }
    }
    if let Some(rate) = budget.probe_error_rate {
        check_percent(rate, &format!("{at}.max_impact.probe_error_rate"), found);
    }
    let Some(name) = &budget.requests else { return };
    let path = format!("{at}.max_impact.requests");
    match scenario.steady_state.iter().find(|p| p.name == *name) {
        None => found.add(&path, format!("no probe is named `{name}`"), unknown_name_hint(name, scenario.steady_state.iter().map(|p| p.name.as_str()))),
        Some(probe) => match &probe.check {
            ProbeCheck::Metric { divided_by, statistic, .. } if divided_by.is_none() || *statistic != crate::scenario::Statistic::Sum => found.add(
                &path,
                format!("probe `{name}` does not count requests: it needs `divided_by` and the `Sum` statistic"),
                Some("count failed requests divided by all requests, e.g. `metric: [HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count]`, `divided_by: RequestCount`".into()),
            ),
            ProbeCheck::Metric { period, .. } if *period != probe.interval => found.add(
                &path,
                format!(
                    "probe `{name}` reads {period} every {}: requests would be counted {}",
                    probe.interval,
                    if probe.interval < *period { "more than once" } else { "in part" }
                ),
                Some(format!("set the probe's `interval` to its `period` ({period})")),
            ),
            ProbeCheck::Metric { .. } => {}
            other => found.add(
                &path,
                format!("probe `{name}` is a `{}` probe, which counts no requests", other.kind_name()),
                Some("name a `metric` probe with `divided_by`, e.g. ALB 5XX counts divided by `RequestCount`".into()),
            ),
        },
    }
}

/// A cross-zone slowdown impairs the traffic of one zone to others: it
/// needs that zone, other zones than it, and a whole share of flows.
fn check_cross_zone(cross: &CrossZone, zone: Option<&str>, at: &str, found: &mut Findings) {
    let Some(zone) = zone else {
        found.add(
            at,
            "`cross_zone` impairs the traffic from one zone to the others, so it needs the fault's `zone`".into(),
            Some("name the zone whose traffic to other zones is impaired, e.g. `zone: us-east-1a`, instead of `region`".into()),
        );
        return;
    };
    if let Some(index) = cross.zones.iter().position(|z| z == zone) {
        found.add(
            &format!("{at}.zones[{index}]"),
            format!("`{zone}` is the fault's own zone: `cross_zone.zones` names the other zones whose traffic is impaired"),
            Some("remove it; leave `zones` out for every other zone of the Region".into()),
        );
    }
    if let Some(share) = cross.flows_percent
        && (share.fract() != 0.0 || !(1.0..=100.0).contains(&share))
    {
        found.add(&format!("{at}.flows_percent"), format!("{share} is not a whole share of flows from 1 to 100"), Some("e.g. `flows_percent: 25`".into()));
    }
}

/// A database is named by `cluster` or `instance`, exactly one.
fn check_database(cluster: &Option<String>, instance: &Option<String>, kind: &str, at: &str, found: &mut Findings) {
    match (cluster, instance) {
        (Some(_), Some(_)) => found.add(
            &format!("{at}.instance"),
            format!("a `{kind}` takes `cluster` or `instance`, not both"),
            Some("keep `cluster` for an Aurora or Multi-AZ DB cluster, `instance` for a Multi-AZ DB instance".into()),
        ),
        (None, None) => found.add(&format!("{at}.kind"), format!("a `{kind}` needs a `cluster` or an `instance`"), Some("add e.g. `cluster: orders-db`".into())),
        _ => {}
    }
}

fn check_regex(pattern: &str, path: &str, found: &mut Findings) {
    if let Err(error) = regex::Regex::new(pattern) {
        let reason = error.to_string().lines().last().unwrap_or_default().to_string();
        found.add(
            path,
            format!("`{pattern}` is not a valid regular expression: {reason}"),
            Some("the syntax is the Rust `regex` crate's: Perl-like, without look-around or backreferences; single-quote the pattern so YAML keeps its backslashes".into()),
        );
    }
}

fn check_faults<'s>(scenario: &'s Scenario, found: &mut Findings) -> Vec<&'s str> {
    let guards = &scenario.guards;
    if scenario.faults.is_empty() {
        found.add("faults", "there are no faults: the game day would break nothing".into(), Some("add a fault, e.g. `kind: terminate_instances`".into()));
    }
    let mut names: Vec<&str> = Vec::new();
    for (index, fault) in scenario.faults.iter().enumerate() {
        let at = format!("faults[{index}]");
        if names.contains(&fault.name.as_str()) {
            found.add(&format!("{at}.name"), format!("two faults are named `{}`", fault.name), Some("give each fault its own name".into()));
        }
        names.push(&fault.name);
        let kind = fault.action.kind_name();
        match (fault.action.is_sustained(), fault.duration) {
            (true, None) if fault.action.duration_optional() => {}
            (true, None) => found.add(&format!("{at}.kind"), format!("`{kind}` stays in place until reverted, so it needs a `duration`"), Some("add e.g. `duration: 10m`".into())),
            (false, Some(_)) => found.add(
                &format!("{at}.duration"),
                format!("`{kind}` happens at once and cannot be held, so `duration` means nothing here"),
                Some("remove `duration`; the expected recoveries measure what follows".into()),
            ),
            (true, Some(d)) if d.as_millis() == 0 => found.add(&format!("{at}.duration"), "the duration must be longer than zero".into(), None),
            _ => {}
        }
        if let Some(targets) = fault.action.targets() {
            check_targets(targets, guards, &format!("{at}.targets"), found);
        }
        // A network cut takes the zone's subnets whole (docs/simulator.md):
        // `tags` and `groups` would read as a limit that is not there.
        if let FaultAction::AzOutage { mode: AzOutageMode::Network, tags, groups, .. } = &fault.action {
            for (key, set) in [("groups", !groups.is_empty()), ("tags", !tags.is_empty())] {
                if set {
                    found.add(
                        &format!("{at}.{key}"),
                        format!("`{key}` cannot narrow `mode: network`: a network cut takes every subnet of the zone, whatever runs there"),
                        Some(format!("remove `{key}` (the guards must then allow every instance in the zone), or use `mode: power`, which `{key}` does narrow")),
                    );
                }
            }
        }
        match &fault.action {
            FaultAction::AzOutage { .. } if guards.max_azs == Some(0) => {
                found.add(&format!("{at}.kind"), "an `az_outage` can never pass `guards.max_azs: 0`".into(), Some("raise `max_azs` to 1 or remove the fault".into()));
            }
            FaultAction::AsgCapacityError { zones, .. } => {
                if zones.is_empty() {
                    found.add(&format!("{at}.zones"), "name at least one zone".into(), Some("e.g. `zones: [us-east-1a]`".into()));
                }
                if let Some(max) = guards.max_azs.filter(|max| zones.len() > *max as usize) {
                    found.add(&format!("{at}.zones"), format!("{} zones can never pass `guards.max_azs: {max}`", zones.len()), Some("name fewer zones or raise `max_azs`".into()));
                }
            }
            FaultAction::GrayFailure { zone, region, error_rate, latency, interface, cross_zone } => {
                if let Some(cross) = cross_zone {
                    check_cross_zone(cross, zone.as_deref(), &format!("{at}.cross_zone"), found);
                }
                match (zone, region) {
                    (Some(_), Some(_)) => found.add(
                        &format!("{at}.region"),
                        "a `gray_failure` takes `zone` or `region`, not both".into(),
                        Some("keep `zone` for one zone, or `region` for every zone of the region".into()),
                    ),
                    (None, None) => {
                        found.add(&format!("{at}.kind"), "a `gray_failure` needs a `zone` or a `region`".into(), Some("add e.g. `zone: us-east-1a` or `region: us-east-1`".into()))
                    }
                    _ => {}
                }
                if let Some(rate) = error_rate {
                    check_percent(*rate, &format!("{at}.error_rate"), found);
                }
                if latency.is_some_and(|l| l.as_millis() == 0) {
                    found.add(&format!("{at}.latency"), "a gray failure's latency must be longer than zero".into(), Some("e.g. `latency: 200ms`".into()));
                }
                // The name goes into the FIS document's parameters and, on the instance, to `tc`.
                if let Some(name) = interface
                    && (name.is_empty() || name.len() > 15 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
                {
                    found.add(
                        &format!("{at}.interface"),
                        format!("`{name}` is not a network interface name"),
                        Some("a Linux interface name of at most 15 letters, digits, `.`, `_` or `-`, e.g. `eth0` or `ens5`".into()),
                    );
                }
                if zone.is_some() && region.is_none() && guards.max_azs == Some(0) {
                    found.add(&format!("{at}.zone"), "a zone's `gray_failure` can never pass `guards.max_azs: 0`".into(), Some("raise `max_azs` to 1 or remove the fault".into()));
                }
            }
            FaultAction::ZonalShift { expires_in: Some(expiry), .. } => {
                let minutes = expiry.as_millis() / 60_000;
                if expiry.as_millis() % 60_000 != 0 || !(1..=72 * 60).contains(&minutes) {
                    found.add(&format!("{at}.expires_in"), "ARC takes an expiry of whole minutes, from 1m to 72h".into(), Some("e.g. `expires_in: 30m`".into()));
                } else if fault.duration.is_some_and(|d| d.as_millis() > expiry.as_millis()) {
                    found.add(
                        &format!("{at}.expires_in"),
                        "the shift would expire before its `duration` is over".into(),
                        Some("make `expires_in` at least the `duration`, or leave it out (the duration plus 5 minutes)".into()),
                    );
                }
            }
            FaultAction::DbFailover { cluster, instance, target } => {
                check_database(cluster, instance, "db_failover", &at, found);
                if target.is_some() && cluster.is_none() {
                    found.add(
                        &format!("{at}.target"),
                        "`target` names the reader a cluster promotes; a Multi-AZ DB instance fails over to its one standby".into(),
                        Some("use `target` with `cluster`, or remove it".into()),
                    );
                }
                // FIS's aws:rds:failover-db-cluster promotes the reader RDS picks: it takes no target instance.
                if target.is_some() && cluster.is_some() && scenario.via == Some(Via::Fis) {
                    found.add(
                        &format!("{at}.target"),
                        "with `via: fis`, a cluster fails over through FIS's `aws:rds:failover-db-cluster`, which takes no target instance: RDS picks the reader it promotes"
                            .into(),
                        Some("remove `target` to let RDS pick, or set `via: direct` to fail over to this reader".into()),
                    );
                }
            }
            FaultAction::Command { inject, revert } => {
                if inject.trim().is_empty() {
                    found.add(&format!("{at}.inject"), "the inject command is empty".into(), None);
                }
                if revert.trim().is_empty() {
                    found.add(
                        &format!("{at}.revert"),
                        "the revert command is empty: the fault could never be undone".into(),
                        Some("give a command that restores the system".into()),
                    );
                }
            }
            _ => {}
        }
    }
    for (index, fault) in scenario.faults.iter().enumerate() {
        for (dep_index, dependency) in fault.start_after.iter().enumerate() {
            let path = format!("faults[{index}].start_after[{dep_index}]");
            if dependency == &fault.name {
                found.add(&path, format!("`{}` cannot start after itself", fault.name), None);
            } else if !names.contains(&dependency.as_str()) {
                found.add(&path, format!("no fault is named `{dependency}`"), unknown_name_hint(dependency, names.iter().copied()));
            }
        }
    }
    if let Some(cycle) = find_cycle(scenario) {
        found.add("faults", format!("the faults wait for each other in a cycle: {}", cycle.join(" → ")), Some("remove one `start_after` from the cycle".into()));
    }
    names
}

fn check_targets(targets: &Targets, guards: &Guards, at: &str, found: &mut Findings) {
    if targets.count.is_some() && targets.percent.is_some() {
        found.add(&format!("{at}.percent"), "`count` and `percent` cannot both be set".into(), Some("keep one: `count: 2` picks two, `percent: 25` picks a quarter".into()));
    }
    if targets.count == Some(0) {
        found.add(&format!("{at}.count"), "`count: 0` selects nothing, so the fault would not take effect".into(), Some("choose at least 1 target, or remove the fault".into()));
    }
    if targets.tags.is_empty() && targets.groups.is_empty() && targets.zones.is_empty() && targets.ids.is_empty() {
        found.add(at, "the targets match every instance: name tags, groups, zones or ids".into(), Some("e.g. `tags: {app: web}` or `groups: [web-asg]`".into()));
    }
    if let Some(percent) = targets.percent
        && check_percent(percent, &format!("{at}.percent"), found)
        && let Some(max) = guards.max_percent.filter(|max| percent > *max)
    {
        found.add(&format!("{at}.percent"), format!("`percent: {percent}` can never pass `guards.max_percent: {max}`"), Some(format!("lower it to at most {max}")));
    }
    if let Some(max) = guards.max_targets {
        if let Some(count) = targets.count.filter(|count| *count > max) {
            found.add(
                &format!("{at}.count"),
                format!("`count: {count}` can never pass `guards.max_targets: {max}`"),
                Some(format!("lower `count` to at most {max}, or raise `guards.max_targets`")),
            );
        }
        if targets.count.is_none() && targets.percent.is_none() && targets.ids.len() > max as usize {
            found.add(&format!("{at}.ids"), format!("{} ids can never pass `guards.max_targets: {max}`", targets.ids.len()), Some("name fewer ids or add `count`".into()));
        }
    }
    for (key, value) in &targets.tags {
        if guards.exclude_tags.get(key) == Some(value) {
            found.add(
                &format!("{at}.tags.{key}"),
                format!("the targets require `{key}: {value}`, which `guards.exclude_tags` forbids"),
                Some("no instance could ever be chosen; change one of them".into()),
            );
        }
    }
}

/// Returns the names along a `start_after` cycle, if there is one.
fn find_cycle(scenario: &Scenario) -> Option<Vec<String>> {
    let edges: HashMap<&str, Vec<&str>> = scenario.faults.iter().map(|f| (f.name.as_str(), f.start_after.iter().map(String::as_str).collect())).collect();
    fn visit<'a>(node: &'a str, edges: &HashMap<&'a str, Vec<&'a str>>, trail: &mut Vec<&'a str>, done: &mut BTreeSet<&'a str>) -> Option<Vec<String>> {
        if let Some(start) = trail.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = trail[start..].iter().map(|s| s.to_string()).collect();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        trail.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if *next != node
                && let Some(cycle) = visit(next, edges, trail, done)
            {
                return Some(cycle);
            }
        }
        trail.pop();
        None
    }
    let mut done = BTreeSet::new();
    scenario.faults.iter().find_map(|f| visit(&f.name, &edges, &mut Vec::new(), &mut done))
}

fn check_stop_conditions(guards: &Guards, probes: &[&str], found: &mut Findings) {
    for (index, condition) in guards.stop_conditions.iter().enumerate() {
        let at = format!("guards.stop_conditions[{index}]");
        match condition {
            StopCondition::ProbeFailing { probe, .. } | StopCondition::ProbeErrorRate { probe, .. } if !probes.contains(&probe.as_str()) => {
                found.add(&format!("{at}.probe"), format!("no probe is named `{probe}`"), unknown_name_hint(probe, probes.iter().copied()));
            }
            StopCondition::ProbeErrorRate { error_rate_above, .. } => {
                check_percent(*error_rate_above, &format!("{at}.error_rate_above"), found);
            }
            _ => {}
        }
    }
}

/// The most a `scale_group` operator action may ask for: a guard against a
/// slip (`desired: 600` for `60`), far above any group a game day rehearses.
pub const MAX_SCALE_DESIRED: u32 = 1000;

fn check_operator_actions(scenario: &Scenario, found: &mut Findings) {
    let mut names: Vec<&str> = Vec::new();
    for (index, action) in scenario.operator_actions.iter().enumerate() {
        let at = format!("operator_actions[{index}]");
        let name = action.name.trim();
        if name.is_empty() {
            found.add(&format!("{at}.name"), "the operator action has no name".into(), Some("runbook steps refer to it with `- Action: NAME`, e.g. `name: switch-to-dr`".into()));
        } else if names.contains(&name) {
            found.add(&format!("{at}.name"), format!("two operator actions are named `{name}`"), Some("give each operator action its own name".into()));
        }
        names.push(name);
        let empty = |value: &str| value.trim().is_empty();
        match &action.change {
            OperatorChange::SwitchDns { record, .. } if empty(record) => {
                found.add(&format!("{at}.record"), "name the failover record to switch".into(), Some("e.g. `record: api.example.com`".into()));
            }
            OperatorChange::ZonalShift { load_balancer, away_from } => {
                if empty(load_balancer) {
                    found.add(&format!("{at}.load_balancer"), "name the load balancer to shift".into(), Some("e.g. `load_balancer: web-alb`".into()));
                }
                if empty(away_from) {
                    found.add(&format!("{at}.away_from"), "name the zone to shift traffic away from".into(), Some("an AZ name (`us-east-1a`) or AZ ID (`use1-az1`)".into()));
                }
            }
            OperatorChange::ScaleGroup { group, desired } => {
                if empty(group) {
                    found.add(&format!("{at}.group"), "name the Auto Scaling group to scale".into(), Some("e.g. `group: web-asg-dr`".into()));
                }
                if *desired > MAX_SCALE_DESIRED {
                    found.add(
                        &format!("{at}.desired"),
                        format!("`desired: {desired}` is more than gameday lets one action ask for ({MAX_SCALE_DESIRED})"),
                        Some("check for a typo; the group's own `max` still caps it".into()),
                    );
                }
            }
            _ => {}
        }
    }
}

fn check_expectations(scenario: &Scenario, probes: &[&str], faults: &[&str], found: &mut Findings) {
    if scenario.expected_recoveries.is_empty() {
        found.add(
            "expected_recoveries",
            "there are no expected recoveries, so the run could not be judged".into(),
            Some("add one: which probes must recover, and `recovers_within`".into()),
        );
    }
    for (index, expected) in scenario.expected_recoveries.iter().enumerate() {
        let at = format!("expected_recoveries[{index}]");
        if expected.probes.is_empty() {
            found.add(&format!("{at}.probes"), "name at least one probe that must recover".into(), None);
        }
        for (probe_index, probe) in expected.probes.iter().enumerate() {
            if !probes.contains(&probe.as_str()) {
                found.add(&format!("{at}.probes[{probe_index}]"), format!("no probe is named `{probe}`"), unknown_name_hint(probe, probes.iter().copied()));
            }
        }
        if let Some(fault) = &expected.after_fault
            && !faults.contains(&fault.as_str())
        {
            found.add(&format!("{at}.after_fault"), format!("no fault is named `{fault}`"), unknown_name_hint(fault, faults.iter().copied()));
        }
        check_kind(expected, &at, found);
        if expected.stays_healthy {
            for (probe_index, name) in expected.probes.iter().enumerate() {
                if scenario.steady_state.iter().any(|p| p.name == *name && p.expected_during_fault) {
                    found.add(
                        &format!("{at}.probes[{probe_index}]"),
                        format!("`{name}` is `expected_during_fault` (meant to fail during the fault), so it cannot also stay healthy"),
                        Some("use `recovers_within` with `from: revert` to judge its return after the fault, or name another probe".into()),
                    );
                }
            }
        }
        // A failover expectation (every probe `expected_during_fault`, counted from the fault's start) waits
        // for its probes to reach their intended state while the fault is in place; a fault that is not held
        // is in place for no time, so it could only ever say the fault never took effect.
        let all_intended = !expected.probes.is_empty() && expected.probes.iter().all(|name| scenario.steady_state.iter().any(|p| p.name == *name && p.expected_during_fault));
        if all_intended && !expected.stays_healthy && expected.from == ClockStart::Start {
            let reference = expected.reference_fault(&scenario.faults);
            if let Some(fault) = scenario.faults.iter().find(|f| f.name == reference && f.duration.is_none()) {
                found.add(
                    &format!("{at}.probes"),
                    format!("every probe here is `expected_during_fault`, but `{}` has no `duration`: it is in place for no time, so no probe could be seen in its intended state", fault.name),
                    Some("give the fault a `duration` (the failover is judged while it is held), or judge the failover with `recovers_within` on a probe of the service itself, such as the writer endpoint".into()),
                );
            }
        }
        if expected.detected_within.is_some() && expected.detected_by.is_empty() {
            found.add(
                &format!("{at}.detected_within"),
                "`detected_within` needs `detected_by`: the signals by which the team detects the failure".into(),
                Some("name the alarms (or a probe the team watches as its monitor) in `detected_by`; the expectation's own probes are the referee, not detection".into()),
            );
        }
        for name in &expected.detected_by {
            if expected.probes.contains(name) {
                found.add(
                    &format!("{at}.detected_by"),
                    format!("`{name}` is one of this expectation's own probes: the referee cannot also be the detection"),
                    Some("name the team's alarms, or another probe the team watches as its monitor".into()),
                );
            }
        }
        if let Some((detect, within)) = expected.detected_within.zip(expected.recovers_within).filter(|(d, within)| d > within) {
            found.add(
                &format!("{at}.detected_within"),
                format!("detection ({detect}) is allowed later than recovery ({within})"),
                Some("detection comes before recovery; shorten `detected_within`".into()),
            );
        }
        if let Some(budget) = &expected.max_impact {
            check_budget(scenario, budget, &at, found);
        }
    }
}

/// An expectation is of exactly one kind: `recovers_within` (back by a
/// deadline) or `stays_healthy` (never fails during the fault), and only the
/// keys that mean something for its kind.
fn check_kind(expected: &ExpectedRecovery, at: &str, found: &mut Findings) {
    match (expected.recovers_within, expected.stays_healthy) {
        // An objective that did not resolve is its own problem, already found.
        (None, false) if expected.objective.is_some() => {}
        (None, false) => found.add(
            at,
            "the expectation has no kind: say by when the probes recover, or that they stay healthy".into(),
            Some("add `recovers_within: 5m` (back by then, counted from `from`), or `stays_healthy: true` (never fail during the fault)".into()),
        ),
        (Some(_), true) => found.add(
            &format!("{at}.stays_healthy"),
            "`stays_healthy` and `recovers_within` are two kinds of expectation; one expectation has one".into(),
            Some("keep `recovers_within` (the probes may fail, and recover by then) or `stays_healthy: true` (they never fail), or split it into two expectations".into()),
        ),
        (Some(within), false) if within.as_millis() == 0 => found.add(&format!("{at}.recovers_within"), "the deadline must be longer than zero".into(), None),
        (Some(_), false) => {}
        (None, true) => {
            let meaningless = [
                ("from", expected.from == ClockStart::Revert, "it is judged while the fault is in place, from its start to its revert"),
                ("predicted", expected.predicted.is_some(), "a probe that never fails has no recovery time to predict"),
                ("max_impact", expected.max_impact.is_some(), "it allows no impact at all"),
                ("detected_within", expected.detected_within.is_some(), "a probe that never fails leaves nothing to detect"),
            ];
            for (key, _, why) in meaningless.into_iter().filter(|(_, set, _)| *set) {
                found.add(
                    &format!("{at}.{key}"),
                    format!("`{key}` does not apply to `stays_healthy`: {why}"),
                    Some(format!("remove `{key}`, or use `recovers_within` instead of `stays_healthy` (the probes may fail, and recover by a deadline)")),
                );
            }
        }
    }
}

/// The longest duration a scenario may ask for anywhere (a fault's
/// `duration` or `delay`, a deadline, `max_duration`, a probe's interval…).
/// A game day is rehearsed within a day; a larger value is a slip
/// (`1000000h` for `10m`) that would hold a fault for years and fill the disk
/// with journal.
pub const MAX_SCENARIO_DURATION: super::Duration = super::Duration::from_secs(24 * 3600);
/// The shortest probe `interval`: faster sampling measures nothing a person
/// acts on, and each sample is a journal line. 10 ms still lets a local
/// `command` probe watch a fault closely (as the full-disk test does).
pub const MIN_PROBE_INTERVAL: super::Duration = super::Duration::from_millis(10);
/// The most faults one scenario may hold. With every duration within
/// [`MAX_SCENARIO_DURATION`], this bounds how long a run can last
/// (`run::result::MAX_RUN_TIME`).
pub const MAX_FAULTS: usize = 100;
/// The most a `count` (targets to pick, passes that mean recovered) may be.
pub const MAX_COUNT: u32 = 1000;

/// Every duration the scenario states, with its path.
fn durations(scenario: &Scenario) -> Vec<(String, super::Duration)> {
    let mut all: Vec<(String, Option<super::Duration>)> = vec![("guards.max_duration".into(), scenario.guards.max_duration)];
    for (index, condition) in scenario.guards.stop_conditions.iter().enumerate() {
        match condition {
            StopCondition::ProbeFailing { failing_for, .. } => all.push((format!("guards.stop_conditions[{index}].failing_for"), Some(*failing_for))),
            StopCondition::ProbeErrorRate { over, .. } => all.push((format!("guards.stop_conditions[{index}].over"), Some(*over))),
            StopCondition::Alarm { .. } => {}
        }
    }
    for (index, probe) in scenario.steady_state.iter().enumerate() {
        all.push((format!("steady_state[{index}].interval"), Some(probe.interval)));
        all.push((format!("steady_state[{index}].timeout"), Some(probe.timeout)));
        if let ProbeCheck::Http { max_latency, .. } | ProbeCheck::Tcp { max_latency, .. } = &probe.check {
            all.push((format!("steady_state[{index}].max_latency"), *max_latency));
        }
    }
    for (index, fault) in scenario.faults.iter().enumerate() {
        all.push((format!("faults[{index}].delay"), fault.delay));
        all.push((format!("faults[{index}].duration"), fault.duration));
    }
    for (index, expected) in scenario.expected_recoveries.iter().enumerate() {
        let at = format!("expected_recoveries[{index}]");
        all.push((format!("{at}.recovers_within"), expected.recovers_within));
        all.push((format!("{at}.detected_within"), expected.detected_within));
        all.push((format!("{at}.predicted"), expected.predicted));
        all.push((format!("{at}.max_impact.downtime"), expected.max_impact.as_ref().and_then(|budget| budget.downtime)));
    }
    all.into_iter().filter_map(|(path, duration)| Some((path, duration?))).collect()
}

/// A long duration as people most often write it: whole hours as `30h`
/// (not `1d6h`), anything else as usual.
fn in_hours(duration: super::Duration) -> String {
    const HOUR: u64 = 3_600_000;
    match duration.as_millis() {
        ms if ms >= HOUR && ms % HOUR == 0 => format!("{}h", ms / HOUR),
        _ => duration.to_string(),
    }
}

/// Caps on what a scenario may ask for, so that no file can make a run last
/// for years, sample without pause or write an unbounded journal
/// (docs/scenarios.md, "Limits").
fn check_limits(scenario: &Scenario, found: &mut Findings) {
    for (path, duration) in durations(scenario) {
        if duration > MAX_SCENARIO_DURATION {
            found.add(
                &path,
                format!("`{}: {}` is longer than gameday allows ({})", path.rsplit('.').next().unwrap_or(&path), in_hours(duration), in_hours(MAX_SCENARIO_DURATION)),
                Some(format!("check for a typo: a game day is rehearsed within a day, so write at most `{}`", in_hours(MAX_SCENARIO_DURATION))),
            );
        }
    }
    for (index, probe) in scenario.steady_state.iter().enumerate() {
        if probe.interval.as_millis() > 0 && probe.interval < MIN_PROBE_INTERVAL {
            found.add(
                &format!("steady_state[{index}].interval"),
                format!("`interval: {}` is shorter than gameday allows ({MIN_PROBE_INTERVAL})", probe.interval),
                Some(format!("sample at most once every `{MIN_PROBE_INTERVAL}`: each sample is a journal line")),
            );
        }
        if probe.healthy_after > MAX_COUNT {
            found.add(
                &format!("steady_state[{index}].healthy_after"),
                format!("`healthy_after: {}` is more than gameday allows ({MAX_COUNT})", probe.healthy_after),
                Some("it counts consecutive passes; a handful is usual".into()),
            );
        }
    }
    if scenario.faults.len() > MAX_FAULTS {
        found.add(
            "faults",
            format!("{} faults are more than gameday allows in one scenario ({MAX_FAULTS})", scenario.faults.len()),
            Some("split the game day into several scenarios".into()),
        );
    }
    for (index, fault) in scenario.faults.iter().enumerate() {
        if let Some(count) = fault.action.targets().and_then(|t| t.count).filter(|count| *count > MAX_COUNT) {
            found.add(
                &format!("faults[{index}].targets.count"),
                format!("`count: {count}` is more than gameday allows ({MAX_COUNT})"),
                Some("check for a typo; `guards.max_targets` still caps what is hit".into()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<String> {
        match super::super::parse_str(yaml, None) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
        }
    }

    fn scenario_with_faults(count: usize) -> String {
        let faults: String = (0..count).map(|i| format!("  - {{ name: f{i}, kind: stop_instances, targets: {{ groups: [web-asg] }}, duration: 24h, delay: 24h }}\n")).collect();
        format!(
            "apiVersion: gameday/v1\nname: many\nsteady_state:\n  - {{ name: p, kind: asg_capacity, group: web-asg, min_in_service: 1, interval: 100ms, timeout: 100ms }}\nfaults:\n{faults}expected_recoveries:\n  - {{ name: e, probes: [p], recovers_within: 24h }}\n"
        )
    }

    #[test]
    fn the_limits_themselves_are_allowed_and_one_more_is_not() {
        assert_eq!(problems(&scenario_with_faults(MAX_FAULTS)), Vec::<String>::new());
        assert_eq!(problems(&scenario_with_faults(MAX_FAULTS + 1)), vec![format!("faults: {} faults are more than gameday allows in one scenario ({MAX_FAULTS})", MAX_FAULTS + 1)]);
        let just_over = scenario_with_faults(1).replace("duration: 24h", "duration: 24h1ms").replace("interval: 100ms, timeout: 100ms", "interval: 9ms, timeout: 9ms");
        assert_eq!(
            problems(&just_over),
            vec![
                "faults[0].duration: `duration: 1d1ms` is longer than gameday allows (24h)".to_string(),
                "steady_state[0].interval: `interval: 9ms` is shorter than gameday allows (10ms)".to_string()
            ]
        );
    }
}
