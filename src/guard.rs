//! Blast-radius and stop-condition policy, as data checked before any side
//! effect and again throughout the run.
//!
//! Architecture invariant: guards judge; they never perform side effects.
//! Every function here is pure, so the same judgement shows in `plan` and
//! is enforced in `run`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::environment::{AlarmReadError, AlarmReading, Candidate, ConfigurationAlarms, EnvError, Identity, Millis, Reach, alarm_matches};
use crate::probe::ProbeTrack;
use crate::rng::SeededRng;
use crate::scenario::{AlarmState, Fault, Guards, ImportedAlarms, OutcomeAlarmsUse, StopCondition, Targets, Weekday};
pub use crate::vocab::GuardName;

/// One guard's judgement, shown in the plan and recorded in the journal.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Verdict {
    pub guard: GuardName,
    pub passed: bool,
    /// False when the guard does not apply here (time windows on the simulator).
    pub enforced: bool,
    pub detail: String,
}

impl Verdict {
    fn new(guard: GuardName, passed: bool, detail: String) -> Self {
        Verdict { guard, passed, enforced: true, detail }
    }
    /// The environment holds the fault's resource for another operation
    /// ([`EnvError::Busy`](crate::environment::EnvError::Busy)).
    pub fn resource_busy(detail: String) -> Self {
        Verdict::new(GuardName::ResourceBusy, false, detail)
    }
    /// The environment refuses the fault as things stand
    /// ([`EnvError::Refused`](crate::environment::EnvError::Refused) while planning).
    pub fn refused_by_environment(detail: String) -> Self {
        Verdict::new(GuardName::RefusedByEnvironment, false, detail)
    }
    /// Blocks the run: failed and enforced.
    pub fn blocks(&self) -> bool {
        !self.passed && self.enforced
    }
}

/// The account and regions must be allowed.
pub fn judge_identity(guards: &Guards, identity: &Identity) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    if !guards.accounts.is_empty() {
        let ok = guards.accounts.contains(&identity.account);
        verdicts.push(Verdict::new(
            GuardName::Accounts,
            ok,
            if ok {
                format!("account {} is allowed", identity.account)
            } else {
                format!("account {} is not in the allowed accounts ({})", identity.account, guards.accounts.join(", "))
            },
        ));
    }
    verdicts
}

/// Regions a fault touches must be allowed.
pub fn judge_regions(guards: &Guards, regions: &[String]) -> Option<Verdict> {
    if guards.regions.is_empty() || regions.is_empty() {
        return None;
    }
    let outside: Vec<&String> = regions.iter().filter(|r| !guards.regions.contains(r)).collect();
    Some(Verdict::new(
        GuardName::Regions,
        outside.is_empty(),
        if outside.is_empty() {
            format!("{} allowed", regions.join(", "))
        } else {
            format!("{} not in the allowed regions ({})", outside.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "), guards.regions.join(", "))
        },
    ))
}

/// Time windows and blackouts, judged at `now`. On the simulator they are
/// shown but not enforced: nothing real is touched and training happens at any hour.
/// One `guards.import_alarms` entry, as read from the environment: which
/// alarms it brought (passed), that the environment has no practice-run
/// configurations (shown, not enforced), or that it could not be read
/// (refused: the alarms it should have brought cannot guard the run).
pub fn judge_imported_alarms(import: &ImportedAlarms, read: &Result<Option<ConfigurationAlarms>, EnvError>) -> Verdict {
    let resource = &import.practice_run_configuration;
    match read {
        Ok(Some(alarms)) => {
            let list = |names: &[String]| if names.is_empty() { "none".to_string() } else { names.join(", ") };
            let outcome = match import.outcome_alarms {
                OutcomeAlarmsUse::StopConditions => format!("outcome alarms as stop conditions: {}", list(&alarms.outcome)),
                OutcomeAlarmsUse::Ignore => format!("outcome alarms not used: {}", list(&alarms.outcome)),
            };
            Verdict::new(
                GuardName::BlockingAlarms,
                true,
                format!("imported from the practice-run configuration of {}: blocking alarms {}; {outcome}", alarms.resource_name, list(&alarms.blocking)),
            )
        }
        Ok(None) => Verdict {
            guard: GuardName::BlockingAlarms,
            passed: false,
            enforced: false,
            detail: format!("the alarms of {resource}'s practice-run configuration are imported on AWS only: this environment has no ARC configurations"),
        },
        Err(error) => Verdict::new(
            GuardName::BlockingAlarms,
            false,
            format!("the practice-run configuration of {resource} could not be read ({error}), and alarms that cannot be imported cannot guard the run"),
        ),
    }
}

/// `blocking_alarms`: none may be in ALARM when the run starts. An alarm
/// that cannot be read blocks too: a guard that cannot see fails closed.
/// `None` when the scenario names no blocking alarm.
pub fn judge_blocking_alarms(readings: &[AlarmReading]) -> Option<Verdict> {
    if readings.is_empty() {
        return None;
    }
    let blocking: Vec<String> = readings
        .iter()
        .filter_map(|r| match &r.state {
            Ok(AlarmState::Alarm) => Some(format!("`{}` is in ALARM", r.alarm)),
            Ok(_) => None,
            Err(error) => Some(format!("`{}` could not be read ({error}), and a blocking alarm that cannot be read blocks", r.alarm)),
        })
        .collect();
    let detail = if blocking.is_empty() {
        format!(
            "no blocking alarm is in ALARM ({})",
            readings.iter().map(|r| format!("{} {}", r.alarm, r.state.as_ref().map_or(String::from("?"), ToString::to_string))).collect::<Vec<_>>().join(", ")
        )
    } else {
        blocking.join("; ")
    };
    Some(Verdict::new(GuardName::BlockingAlarms, blocking.is_empty(), detail))
}

pub fn judge_time(guards: &Guards, now: jiff::Timestamp, enforced: bool) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    if !guards.windows.is_empty() {
        let inside = guards.windows.iter().find(|w| in_window(w, now));
        let detail = match inside {
            Some(w) => format!("now is inside {} {}", w.hours, w.time_zone),
            None => format!(
                "now ({}) is outside every window: {}",
                now.strftime("%a %H:%M UTC"),
                guards.windows.iter().map(|w| format!("{} {} {}", days_label(&w.days), w.hours, w.time_zone)).collect::<Vec<_>>().join("; ")
            ),
        };
        let mut verdict = Verdict::new(GuardName::Windows, inside.is_some(), detail);
        verdict.enforced = enforced;
        verdicts.push(verdict);
    }
    if !guards.blackouts.is_empty() {
        let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        let hit = guards.blackouts.iter().find(|b| b.from <= today && today <= b.to);
        let detail = match hit {
            Some(b) => format!("{today} is in the blackout {}…{}{}", b.from, b.to, b.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()),
            None => format!("{today} is outside every blackout"),
        };
        let mut verdict = Verdict::new(GuardName::Blackouts, hit.is_none(), detail);
        verdict.enforced = enforced;
        verdicts.push(verdict);
    }
    verdicts
}

fn days_label(days: &[Weekday]) -> String {
    if days.is_empty() {
        return "every day".into();
    }
    days.iter().map(|d| format!("{d:?}").to_lowercase()).collect::<Vec<_>>().join(",")
}

fn in_window(window: &crate::scenario::Window, now: jiff::Timestamp) -> bool {
    let Ok(zone) = jiff::tz::TimeZone::get(&window.time_zone) else { return false };
    let Some((start, end)) = crate::scenario::checks::parse_hours(&window.hours) else { return false };
    let local = now.to_zoned_datetime(zone);
    let weekday = match local.weekday() {
        jiff::civil::Weekday::Monday => Weekday::Mon,
        jiff::civil::Weekday::Tuesday => Weekday::Tue,
        jiff::civil::Weekday::Wednesday => Weekday::Wed,
        jiff::civil::Weekday::Thursday => Weekday::Thu,
        jiff::civil::Weekday::Friday => Weekday::Fri,
        jiff::civil::Weekday::Saturday => Weekday::Sat,
        jiff::civil::Weekday::Sunday => Weekday::Sun,
    };
    let minute = u32::try_from(local.hour()).unwrap_or(0) * 60 + u32::try_from(local.minute()).unwrap_or(0);
    (window.days.is_empty() || window.days.contains(&weekday)) && start <= minute && minute < end
}

/// The guards' choice of targets for one fault.
#[derive(Clone, Debug, Serialize)]
pub struct Selection {
    /// Matched the fault's filters.
    pub matched: usize,
    /// Matched but not allowed, with the reason.
    pub excluded: Vec<(String, String)>,
    /// Chosen after `count` / `percent`.
    pub chosen: Vec<Candidate>,
    pub verdicts: Vec<Verdict>,
}

impl Selection {
    pub fn blocked_by(&self) -> Option<&Verdict> {
        self.verdicts.iter().find(|v| v.blocks())
    }
}

fn has_tags(candidate: &Candidate, tags: &BTreeMap<String, String>) -> bool {
    tags.iter().all(|(k, v)| candidate.tags.get(k) == Some(v))
}

/// Applies `require_tags` / `exclude_tags`, then `count` / `percent` (seeded),
/// then judges `max_targets`, `max_percent` (per group and per zone), `max_azs`
/// and `regions`.
pub fn select(fault: &Fault, guards: &Guards, reach: &Reach, active_zones: &BTreeSet<String>, rng: &mut SeededRng) -> Selection {
    let mut excluded = Vec::new();
    // Which tag guard spared each excluded candidate, so a refusal names that guard.
    let mut spared_by: BTreeMap<GuardName, Vec<String>> = BTreeMap::new();
    let mut eligible = Vec::new();
    for candidate in &reach.candidates {
        let (guard, why) = if !has_tags(candidate, &guards.require_tags) {
            let missing: Vec<String> = guards.require_tags.iter().filter(|(k, v)| candidate.tags.get(*k) != Some(*v)).map(|(k, v)| format!("{k}={v}")).collect();
            (GuardName::RequireTags, format!("lacks required tag {}", missing.join(", ")))
        } else if let Some((k, v)) = guards.exclude_tags.iter().find(|(k, v)| candidate.tags.get(*k) == Some(*v)) {
            (GuardName::ExcludeTags, format!("carries excluded tag {k}={v}"))
        } else {
            eligible.push(candidate.clone());
            continue;
        };
        spared_by.entry(guard).or_default().push(format!("{} {why}", candidate.id));
        excluded.push((candidate.id.clone(), why));
    }
    let wanted = match fault.action.targets() {
        Some(Targets { count: Some(count), .. }) => (*count as usize).min(eligible.len()),
        Some(Targets { percent: Some(percent), .. }) => {
            let share = ((eligible.len() as f64) * percent / 100.0).floor() as usize;
            if eligible.is_empty() { 0 } else { share.max(1) }
        }
        _ => eligible.len(),
    };
    let chosen = rng.choose(&eligible, wanted);

    let mut verdicts = Vec::new();
    if let Some(verdict) = judge_regions(guards, &reach.regions) {
        verdicts.push(verdict);
    }
    if reach.acts_on_instances {
        verdicts.push(Verdict::new(
            GuardName::Targets,
            !chosen.is_empty(),
            if chosen.is_empty() {
                format!("no target left: {} matched, {} excluded by tags", reach.candidates.len(), excluded.len())
            } else {
                format!("{} chosen of {} eligible ({} matched)", chosen.len(), eligible.len(), reach.candidates.len())
            },
        ));
    }
    if reach.indivisible {
        // The fault hits everything it reaches (a zone's subnets cut whole):
        // each tag guard that meant to spare an instance refuses it.
        for (guard, spared) in &spared_by {
            verdicts.push(Verdict::new(
                *guard,
                false,
                format!(
                    "{} cannot spare instances: {} would be hit although `{guard}` keeps them out ({})",
                    fault.action.kind_name(),
                    spared.len(),
                    spared.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                ),
            ));
        }
    }
    if let Some(max) = guards.max_targets {
        let n = chosen.len();
        verdicts.push(Verdict::new(GuardName::MaxTargets, n <= max as usize, format!("{n} target(s), limit {max}")));
    }
    if let Some(max) = guards.max_percent {
        verdicts.extend(judge_share("group", &chosen, |c| c.group.clone(), &reach.group_sizes, max));
        // A zone-wide fault takes the whole zone by design; its share is judged per group and by max_azs.
        if reach.zones.is_empty() {
            verdicts.extend(judge_share("zone", &chosen, |c| Some(c.zone.clone()), &reach.zone_sizes, max));
        }
    }
    if let Some(max) = guards.max_azs {
        let mut zones: BTreeSet<String> = active_zones.clone();
        zones.extend(reach.zones.iter().cloned());
        if reach.zones.is_empty() {
            // Instance faults count the zones they reach too.
            zones.extend(chosen.iter().map(|c| c.zone.clone()));
        }
        let n = zones.len();
        verdicts.push(Verdict::new(
            GuardName::MaxAzs,
            n <= max as usize,
            format!("{n} zone(s) impaired at once ({}), limit {max}", zones.into_iter().collect::<Vec<_>>().join(", ")),
        ));
    }
    Selection { matched: reach.candidates.len(), excluded, chosen, verdicts }
}

fn judge_share(what: &str, chosen: &[Candidate], key: impl Fn(&Candidate) -> Option<String>, sizes: &BTreeMap<String, usize>, max: f64) -> Vec<Verdict> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for candidate in chosen {
        if let Some(k) = key(candidate) {
            *counts.entry(k).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(name, n)| {
            let size = sizes.get(&name).copied().unwrap_or(n).max(1);
            let share = 100.0 * n as f64 / size as f64;
            Verdict::new(GuardName::MaxPercent, share <= max + 1e-9, format!("{n} of {size} in {what} {name} ({share:.0}%), limit {max}%"))
        })
        .collect()
}

/// Reads in a row after which an alarm named by a stop condition that cannot
/// be read counts as tripped: stop conditions fail closed. One failed read
/// may be a blip; the third comes two alarm polls after the first (20 s at
/// the default 10 s poll), and by then the run has been blind long enough.
pub const UNREADABLE_READS_TO_TRIP: u32 = 3;

/// What the run last learnt of an alarm.
#[derive(Clone, Debug, PartialEq)]
pub enum AlarmStatus {
    Read(AlarmState),
    /// The last `failed_reads` reads failed, the first of them at `since`.
    Unreadable {
        since: Millis,
        failed_reads: u32,
        error: AlarmReadError,
    },
}

/// The first stop condition that holds at `now`, if any, described for
/// people. An alarm that could not be read [`UNREADABLE_READS_TO_TRIP`]
/// times in a row holds, as if it were in ALARM.
pub fn tripped_stop_condition(conditions: &[StopCondition], probes: &BTreeMap<String, ProbeTrack>, alarms: &[(String, AlarmStatus)], now: Millis) -> Option<String> {
    for condition in conditions {
        let holds = match condition {
            StopCondition::Alarm { alarm } => {
                if let Some(detail) = alarms.iter().filter(|(name, _)| alarm_matches(alarm, name)).find_map(|(_, status)| unreadable_too_long(alarm, status, now)) {
                    return Some(detail);
                }
                alarms.iter().any(|(name, status)| alarm_matches(alarm, name) && *status == AlarmStatus::Read(AlarmState::Alarm))
            }
            StopCondition::ProbeFailing { probe, failing_for } => {
                probes.get(probe).and_then(|h| h.failing_since()).is_some_and(|since| now.saturating_sub(since) >= failing_for.as_millis())
            }
            StopCondition::ProbeErrorRate { probe, error_rate_above, over } => probes.get(probe).is_some_and(|h| {
                let (samples, failed) = h.window_counts(now.saturating_sub(over.as_millis()), now);
                // Judge a rate only over a full window of samples, not the first failure.
                let span_ok = h.first_sample_at().is_some_and(|first| now.saturating_sub(first) >= over.as_millis());
                span_ok && samples > 0 && 100.0 * failed as f64 / samples as f64 > *error_rate_above
            }),
        };
        if holds {
            return Some(condition.label());
        }
    }
    None
}

/// Why an alarm counts as tripped for being unreadable, once it has been
/// for [`UNREADABLE_READS_TO_TRIP`] reads.
fn unreadable_too_long(alarm: &str, status: &AlarmStatus, now: Millis) -> Option<String> {
    match status {
        AlarmStatus::Unreadable { since, failed_reads, error } if *failed_reads >= UNREADABLE_READS_TO_TRIP => Some(format!(
            "alarm `{alarm}` could not be read {failed_reads} times in a row, for {} ({error}); a stop condition that cannot be read counts as tripped",
            crate::scenario::Duration::from_millis(now.saturating_sub(*since))
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocking_alarm_in_alarm_or_unreadable_refuses_and_ok_or_no_data_lets_the_run_start() {
        let reading = |alarm: &str, state: Result<AlarmState, AlarmReadError>| AlarmReading { alarm: alarm.into(), state };
        assert_eq!(judge_blocking_alarms(&[]), None, "no blocking alarm, no verdict");
        let calm = judge_blocking_alarms(&[reading("web-5xx", Ok(AlarmState::Ok)), reading("db-lag", Ok(AlarmState::InsufficientData))]).unwrap();
        assert!(!calm.blocks(), "{calm:?}");
        assert_eq!(calm.detail, "no blocking alarm is in ALARM (web-5xx OK, db-lag INSUFFICIENT_DATA)");
        let firing = judge_blocking_alarms(&[reading("web-5xx", Ok(AlarmState::Alarm)), reading("db-lag", Ok(AlarmState::Ok))]).unwrap();
        assert!(firing.blocks() && firing.guard == GuardName::BlockingAlarms);
        assert_eq!(firing.detail, "`web-5xx` is in ALARM");
        let unread =
            judge_blocking_alarms(&[reading("gone", Err(AlarmReadError { kind: crate::environment::ReadErrorKind::NotFound, message: "no alarm `gone`".into() }))]).unwrap();
        assert!(unread.blocks(), "fails closed: {unread:?}");
        assert!(unread.detail.contains("`gone` could not be read"), "{}", unread.detail);
    }
    use crate::scenario::{FaultAction, Guards};

    fn candidate(id: &str, zone: &str, group: &str, tags: &[(&str, &str)]) -> Candidate {
        Candidate { id: id.into(), region: "r".into(), zone: zone.into(), group: Some(group.into()), tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn terminate(count: Option<u32>) -> Fault {
        Fault {
            name: "f".into(),
            start_after: vec![],
            delay: None,
            duration: None,
            action: FaultAction::TerminateInstances { targets: Targets { count, groups: vec!["g".into()], ..Targets::default() } },
        }
    }

    fn reach(candidates: Vec<Candidate>) -> Reach {
        let mut group_sizes = BTreeMap::new();
        group_sizes.insert("g".to_string(), candidates.len());
        Reach { candidates, group_sizes, acts_on_instances: true, ..Reach::default() }
    }

    #[test]
    fn tags_exclude_and_count_limits() {
        let guards = Guards {
            require_tags: [("gameday".to_string(), "allowed".to_string())].into(),
            exclude_tags: [("critical".to_string(), "true".to_string())].into(),
            max_targets: Some(1),
            ..Guards::default()
        };
        let candidates = vec![
            candidate("a", "z1", "g", &[("gameday", "allowed")]),
            candidate("b", "z1", "g", &[]),
            candidate("c", "z2", "g", &[("gameday", "allowed"), ("critical", "true")]),
            candidate("d", "z2", "g", &[("gameday", "allowed")]),
        ];
        let selection = select(&terminate(Some(1)), &guards, &reach(candidates.clone()), &BTreeSet::new(), &mut SeededRng::new(1));
        assert_eq!(selection.chosen.len(), 1);
        assert!(selection.chosen.iter().all(|c| c.id == "a" || c.id == "d"));
        assert_eq!(selection.excluded.len(), 2);
        assert!(selection.blocked_by().is_none());

        let selection = select(&terminate(None), &guards, &reach(candidates), &BTreeSet::new(), &mut SeededRng::new(1));
        assert_eq!(selection.blocked_by().map(|v| v.guard), Some(GuardName::MaxTargets));
    }

    #[test]
    fn max_percent_is_judged_per_group() {
        let guards = Guards { max_percent: Some(50.0), ..Guards::default() };
        let candidates: Vec<Candidate> = (0..4).map(|i| candidate(&format!("i{i}"), &format!("z{i}"), "g", &[])).collect();
        let mut r = reach(candidates);
        r.zone_sizes = (0..4).map(|i| (format!("z{i}"), 2)).collect();
        let selection = select(&terminate(Some(3)), &guards, &r, &BTreeSet::new(), &mut SeededRng::new(3));
        let blocked = selection.blocked_by().expect("3 of 4 is over 50%");
        assert_eq!(blocked.guard, GuardName::MaxPercent);
        assert!(blocked.detail.contains("3 of 4"), "{}", blocked.detail);
    }

    #[test]
    fn a_stop_condition_alarm_that_cannot_be_read_trips_on_the_third_failed_read() {
        use crate::environment::ReadErrorKind;
        let conditions = [StopCondition::Alarm { alarm: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx".into() }];
        let error = AlarmReadError { kind: ReadErrorKind::AccessDenied, message: "cloudwatch:DescribeAlarms: not authorized".into() };
        let unreadable = |failed_reads| vec![("web-5xx".to_string(), AlarmStatus::Unreadable { since: 10_000, failed_reads, error: error.clone() })];
        let probes = BTreeMap::new();
        assert_eq!(tripped_stop_condition(&conditions, &probes, &unreadable(UNREADABLE_READS_TO_TRIP - 1), 20_000), None, "a blip is not yet a blind run");
        assert_eq!(
            tripped_stop_condition(&conditions, &probes, &unreadable(UNREADABLE_READS_TO_TRIP), 30_000).as_deref(),
            Some(
                "alarm `arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx` could not be read 3 times in a row, for 20s (AccessDenied: cloudwatch:DescribeAlarms: not authorized); a stop condition that cannot be read counts as tripped"
            )
        );
        let quiet = vec![("web-5xx".to_string(), AlarmStatus::Read(AlarmState::Ok))];
        assert_eq!(tripped_stop_condition(&conditions, &probes, &quiet, 30_000), None);
        let firing = vec![("web-5xx".to_string(), AlarmStatus::Read(AlarmState::Alarm))];
        assert_eq!(tripped_stop_condition(&conditions, &probes, &firing, 30_000), Some(conditions[0].label()));
    }
}
