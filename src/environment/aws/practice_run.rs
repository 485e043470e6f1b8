//! ARC zonal autoshift practice runs: the `practice_run` step, an
//! on-demand `StartPracticeRun` on a managed resource, followed to ARC's
//! outcome and cancelled (`CancelPracticeRun`) while still active at the
//! step's end or on any early ending.
//!
//! The guards read the resource's practice-run configuration before the
//! call (at `plan` time and again just before `StartPracticeRun`, as a
//! delay can pass between them): a configuration must exist, no other
//! zonal shift or practice run may be active, no blocking alarm may be in
//! ALARM, and now must fall outside every blocked date and window (and
//! inside an allowed window, when the configuration has any). ARC checks
//! some of these itself, but only after the call; gameday refuses first,
//! with the reason, so nothing is journaled as started that never was.
//!
//! As with a zonal shift, ARC names the practice run only once it has
//! started, so the journaled effect carries a comment with the run's token:
//! the revert and `recover` find the practice run by it.

use aws_sdk_arczonalshift::types::ZonalShiftStatus;

use super::{Clients, sdk_error};
use crate::environment::{Effect, EnvError, Millis, PracticeRunEnd, PracticeRunOutcome, Reach, RevertOutcome};
use crate::scenario::AlarmState;

/// A day of the week as ARC writes it in a window (`Mon` … `Sun`).
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MINUTES_PER_WEEK: u32 = 7 * 24 * 60;

/// One weekly window of a practice-run configuration, `Mon:00:00-Mon:05:00`
/// in UTC, as minutes from Monday 00:00. `end` before `start` wraps past
/// Sunday midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeeklyWindow {
    pub start: u32,
    pub end: u32,
}

impl WeeklyWindow {
    pub fn parse(text: &str) -> Result<WeeklyWindow, String> {
        let (start, end) = text.split_once('-').ok_or_else(|| format!("`{text}` is not a window: ARC writes `Mon:00:00-Mon:05:00` (UTC)"))?;
        let point = |part: &str| -> Result<u32, String> {
            let mut pieces = part.split(':');
            let (Some(day), Some(hour), Some(minute), None) = (pieces.next(), pieces.next(), pieces.next(), pieces.next()) else {
                return Err(format!("`{part}` in window `{text}` is not `Day:HH:MM`"));
            };
            let day = DAYS.iter().position(|d| *d == day).ok_or_else(|| format!("`{day}` in window `{text}` is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"))?;
            let number = |digits: &str, most: u32| digits.parse::<u32>().ok().filter(|n| digits.len() == 2 && *n <= most);
            let (Some(hour), Some(minute)) = (number(hour, 23), number(minute, 59)) else {
                return Err(format!("`{part}` in window `{text}` has no valid HH:MM"));
            };
            Ok(day as u32 * 24 * 60 + hour * 60 + minute)
        };
        Ok(WeeklyWindow { start: point(start)?, end: point(end)? })
    }

    /// Whether the minute of the week falls inside (start inclusive, end exclusive).
    pub fn contains(&self, minute_of_week: u32) -> bool {
        if self.start <= self.end { (self.start..self.end).contains(&minute_of_week) } else { minute_of_week >= self.start || minute_of_week < self.end }
    }
}

/// A practice-run configuration's calendar, parsed: blocked dates (UTC
/// days), blocked windows, allowed windows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Calendar {
    pub blocked_dates: Vec<jiff::civil::Date>,
    pub blocked_windows: Vec<(String, WeeklyWindow)>,
    pub allowed_windows: Vec<(String, WeeklyWindow)>,
}

impl Calendar {
    /// Every entry must parse: one that does not is an error, never "not
    /// blocked", as a misread calendar would let a practice run start in a
    /// freeze.
    pub fn parse(blocked_dates: &[String], blocked_windows: &[String], allowed_windows: &[String]) -> Result<Calendar, String> {
        let dates = blocked_dates
            .iter()
            .map(|d| d.parse::<jiff::civil::Date>().map_err(|e| format!("blocked date `{d}` is not a date (ARC writes YYYY-MM-DD): {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let windows = |list: &[String]| list.iter().map(|w| WeeklyWindow::parse(w).map(|parsed| (w.clone(), parsed))).collect::<Result<Vec<_>, String>>();
        Ok(Calendar { blocked_dates: dates, blocked_windows: windows(blocked_windows)?, allowed_windows: windows(allowed_windows)? })
    }

    /// Why `now` is blocked, or `None` when a practice run may start.
    pub fn blocks(&self, now: jiff::Timestamp) -> Option<String> {
        let utc = now.to_zoned_datetime(jiff::tz::TimeZone::UTC);
        if let Some(date) = self.blocked_dates.iter().find(|d| **d == utc.date()) {
            return Some(format!("today ({date}, UTC) is a blocked date of its practice-run configuration"));
        }
        let minute = u32::from(utc.weekday().to_monday_zero_offset().unsigned_abs()) * 24 * 60 + u32::from(utc.hour().unsigned_abs()) * 60 + u32::from(utc.minute().unsigned_abs());
        debug_assert!(minute < MINUTES_PER_WEEK);
        if let Some((text, _)) = self.blocked_windows.iter().find(|(_, w)| w.contains(minute)) {
            return Some(format!("now ({} UTC) falls in the blocked window `{text}` of its practice-run configuration", utc.strftime("%a %H:%M")));
        }
        if !self.allowed_windows.is_empty() && !self.allowed_windows.iter().any(|(_, w)| w.contains(minute)) {
            let allowed: Vec<&str> = self.allowed_windows.iter().map(|(t, _)| t.as_str()).collect();
            return Some(format!("now ({} UTC) is outside every allowed window of its practice-run configuration ({})", utc.strftime("%a %H:%M"), allowed.join(", ")));
        }
        None
    }
}

/// Every guard before `StartPracticeRun`, at `now`; the plan's line when
/// none refuses.
pub async fn check(clients: &Clients, resource: &str, zone_id: &str, now: jiff::Timestamp) -> Result<String, EnvError> {
    let out = clients.arc_zonal_shift.get_managed_resource().resource_identifier(resource).send().await.map_err(|e| {
        if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
            EnvError::NotFound {
                resource: format!("ARC managed resource `{resource}`"),
                hint: Some("practice runs act on load balancers that have cross-zone load balancing off, by ARN".into()),
            }
        } else {
            sdk_error("arc-zonal-shift:GetManagedResource", e)
        }
    })?;
    let name = out.name().unwrap_or(resource).to_string();
    let Some(config) = out.practice_run_configuration() else {
        return Err(EnvError::Refused(format!(
            "{name} has no practice-run configuration, and ARC starts practice runs only on a resource that has one\n  = hint: create one with its outcome alarms: aws arc-zonal-shift create-practice-run-configuration --resource-identifier {resource} --outcome-alarms type=CLOUDWATCH,alarmIdentifier=<alarm ARN>"
        )));
    };
    if let Some(active) = out.zonal_shifts().first() {
        // ARC's one-at-a-time rule: the `resource_busy` guard.
        return Err(EnvError::Busy(format!(
            "{name} has an active {} ({}, away from {}), and ARC applies one zonal shift or practice run at a time on a resource",
            if active.practice_run_outcome().is_some() { "practice run" } else { "zonal shift" },
            active.zonal_shift_id(),
            active.away_from()
        )));
    }
    let zones: Vec<&String> = out.applied_weights().keys().collect();
    if !zones.is_empty() && !zones.iter().any(|z| *z == zone_id) {
        let mut zones: Vec<&str> = zones.into_iter().map(String::as_str).collect();
        zones.sort();
        return Err(EnvError::NotFound { resource: format!("zone {zone_id} of {name}"), hint: Some(format!("its zones: {}", zones.join(", "))) });
    }
    let calendar = Calendar::parse(config.blocked_dates(), config.blocked_windows(), config.allowed_windows())
        .map_err(|e| EnvError::Failed(format!("cannot read the practice-run configuration of {name}: {e}")))?;
    if let Some(reason) = calendar.blocks(now) {
        return Err(EnvError::Refused(format!("{name}: {reason}, and ARC would not start a practice run then")));
    }
    let blocking: Vec<String> = config.blocking_alarms().iter().map(|a| crate::environment::alarm_name(a.alarm_identifier()).to_string()).collect();
    if !blocking.is_empty() {
        // Fail closed: an alarm that cannot be read blocks as one in ALARM
        // would (a refusal, exit 5); the failed call's kind still says what to fix.
        let states = super::probes::alarm_states(clients, &blocking).await.map_err(|e| {
            let hint = match &e {
                EnvError::Call { kind, .. } => kind.fix().map(|fix| format!("\n  = hint: {fix}")),
                _ => None,
            };
            EnvError::Refused(format!("the blocking alarms of {name} could not be read: {e}{}", hint.unwrap_or_default()))
        })?;
        for alarm in &blocking {
            match states.iter().find(|(n, _)| n == alarm).map(|(_, s)| *s) {
                Some(AlarmState::Alarm) => return Err(EnvError::Refused(format!("blocking alarm `{alarm}` of {name}'s practice-run configuration is in ALARM"))),
                Some(_) => {}
                None => return Err(EnvError::Refused(format!("blocking alarm `{alarm}` of {name}'s practice-run configuration does not exist in CloudWatch"))),
            }
        }
    }
    let outcome: Vec<&str> = config.outcome_alarms().iter().map(|a| crate::environment::alarm_name(a.alarm_identifier())).collect();
    Ok(format!(
        "ARC practice run of {name} away from {zone_id} (zonal autoshift {}; outcome alarms: {}; blocking alarms: {})",
        out.zonal_autoshift_status().map_or("DISABLED", |s| s.as_str()),
        if outcome.is_empty() { "none".to_string() } else { outcome.join(", ") },
        if blocking.is_empty() { "none".to_string() } else { blocking.join(", ") }
    ))
}

/// The blocking and outcome alarms of the resource's practice-run
/// configuration, by name, for `guards.import_alarms`. A resource without
/// a configuration is refused: its alarms cannot guard anything.
pub async fn configuration_alarms(clients: &Clients, resource: &str) -> Result<crate::environment::ConfigurationAlarms, EnvError> {
    let out = clients.arc_zonal_shift.get_managed_resource().resource_identifier(resource).send().await.map_err(|e| {
        if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
            EnvError::NotFound { resource: format!("ARC managed resource `{resource}`"), hint: Some("name it by its ARN".into()) }
        } else {
            sdk_error("arc-zonal-shift:GetManagedResource", e)
        }
    })?;
    let name = out.name().unwrap_or(resource).to_string();
    let Some(config) = out.practice_run_configuration() else {
        return Err(EnvError::Refused(format!("{name} has no practice-run configuration, so it has no alarms to import")));
    };
    let names = |alarms: &[aws_sdk_arczonalshift::types::ControlCondition]| alarms.iter().map(|a| crate::environment::alarm_name(a.alarm_identifier()).to_string()).collect();
    Ok(crate::environment::ConfigurationAlarms { resource_name: name, blocking: names(config.blocking_alarms()), outcome: names(config.outcome_alarms()) })
}

pub async fn reach(clients: &Clients, region: &str, resource: &str, zone_id: &str) -> Result<Reach, EnvError> {
    let line = check(clients, resource, zone_id, jiff::Timestamp::now()).await?;
    Ok(Reach { regions: vec![region.to_string()], other_resources: vec![line], ..Reach::default() })
}

/// The guards again, then `StartPracticeRun`; ARC's zonal shift id.
pub async fn start(clients: &Clients, effect: &Effect) -> Result<String, EnvError> {
    let Effect::PracticeRun { resource, away_from, comment, .. } = effect else {
        return Err(EnvError::Unsupported("not a practice run".into()));
    };
    check(clients, resource, away_from, jiff::Timestamp::now()).await?;
    let out = clients
        .arc_zonal_shift
        .start_practice_run()
        .resource_identifier(resource)
        .away_from(away_from)
        .comment(comment)
        .send()
        .await
        .map_err(|e| sdk_error("arc-zonal-shift:StartPracticeRun", e))?;
    Ok(out.zonal_shift_id().to_string())
}

/// One practice run gameday started and follows.
#[derive(Clone, Debug)]
pub struct Followed {
    pub fault: String,
    pub resource: String,
    pub zonal_shift_id: String,
}

/// Reads the practice run's outcome: `Some` once ARC gives one other than
/// PENDING. ARC lists ended shifts by status, so each status is read until
/// the practice run is found.
pub async fn follow(clients: &Clients, followed: &Followed, now: Millis) -> Result<Option<PracticeRunEnd>, EnvError> {
    for status in [ZonalShiftStatus::Active, ZonalShiftStatus::Expired, ZonalShiftStatus::Canceled] {
        let mut pages = clients.arc_zonal_shift.list_zonal_shifts().resource_identifier(&followed.resource).status(status).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("arc-zonal-shift:ListZonalShifts", e))?;
            let Some(found) = page.items().iter().find(|s| s.zonal_shift_id() == followed.zonal_shift_id) else {
                continue;
            };
            let Some(text) = found.practice_run_outcome().map(|o| o.as_str()) else {
                return Err(EnvError::Failed(format!("ARC lists {} without a practice-run outcome", followed.zonal_shift_id)));
            };
            if text == "PENDING" {
                return Ok(None);
            }
            let outcome = PracticeRunOutcome::from_arc(text)
                .ok_or_else(|| EnvError::Failed(format!("practice run {} ended with an outcome gameday does not know: {text}", followed.zonal_shift_id)))?;
            return Ok(Some(PracticeRunEnd { fault: followed.fault.clone(), zonal_shift_id: followed.zonal_shift_id.clone(), outcome, at: now }));
        }
    }
    Err(EnvError::NotFound { resource: format!("practice run {} of {}", followed.zonal_shift_id, followed.resource), hint: None })
}

/// Cancels the resource's active practice run that carries the effect's
/// comment, then reads the resource again: it must no longer be active.
/// None (ended on its own, cancelled by hand, or never started) is nothing to do.
pub async fn cancel(clients: &Clients, effect: &Effect) -> Result<RevertOutcome, EnvError> {
    let Effect::PracticeRun { resource, comment, .. } = effect else {
        return Err(EnvError::Unsupported("not a practice run".into()));
    };
    let ours = |out: &aws_sdk_arczonalshift::operation::get_managed_resource::GetManagedResourceOutput| -> Vec<String> {
        out.zonal_shifts().iter().filter(|s| s.comment() == comment && s.practice_run_outcome().is_some()).map(|s| s.zonal_shift_id().to_string()).collect()
    };
    let read =
        || async { clients.arc_zonal_shift.get_managed_resource().resource_identifier(resource).send().await.map_err(|e| sdk_error("arc-zonal-shift:GetManagedResource", e)) };
    let active = ours(&read().await?);
    let mut outcome = RevertOutcome::default();
    if active.is_empty() {
        outcome.skipped.push((resource.clone(), format!("no active practice run carries the comment `{comment}` (it ended, was cancelled already, or never started)")));
        return Ok(outcome);
    }
    for id in &active {
        clients.arc_zonal_shift.cancel_practice_run().zonal_shift_id(id).send().await.map_err(|e| sdk_error("arc-zonal-shift:CancelPracticeRun", e))?;
    }
    let still = ours(&read().await?);
    if let Some(id) = still.first() {
        return Err(EnvError::Failed(format!("practice run {id} was cancelled, but ARC still reads it as active on {resource}")));
    }
    outcome.restored.extend(active.iter().map(|id| format!("practice run {id} cancelled (read back: no longer active)")));
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn windows_read_as_minutes_of_the_week_and_may_wrap_past_sunday() {
        let window = WeeklyWindow::parse("Mon:09:00-Mon:17:30").unwrap();
        assert_eq!(window, WeeklyWindow { start: 9 * 60, end: 17 * 60 + 30 });
        assert!(window.contains(9 * 60) && !window.contains(17 * 60 + 30));
        let wrap = WeeklyWindow::parse("Sun:22:00-Mon:02:00").unwrap();
        assert!(wrap.contains(MINUTES_PER_WEEK - 1) && wrap.contains(60) && !wrap.contains(3 * 60));
        for bad in ["Mon:09:00", "Mon:9:00-Mon:10:00", "Lun:09:00-Mon:10:00", "Mon:24:00-Tue:00:00", "Mon:09:00:00-Mon:10:00", "Mon:09:60-Mon:10:00"] {
            assert!(WeeklyWindow::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_calendar_blocks_on_its_dates_and_windows_and_outside_its_allowed_windows() {
        // 2026-12-03 is a Thursday.
        let calendar = Calendar::parse(&["2026-12-24".into()], &["Thu:10:00-Thu:11:00".into()], &[]).unwrap();
        assert_eq!(calendar.blocks(at("2026-12-03T09:59:00Z")), None);
        assert!(calendar.blocks(at("2026-12-03T10:30:00Z")).unwrap().contains("blocked window `Thu:10:00-Thu:11:00`"));
        assert!(calendar.blocks(at("2026-12-24T23:59:00Z")).unwrap().contains("2026-12-24"));
        let allowed = Calendar::parse(&[], &[], &["Mon:09:00-Fri:17:00".into()]).unwrap();
        assert_eq!(allowed.blocks(at("2026-12-03T12:00:00Z")), None);
        assert!(allowed.blocks(at("2026-12-05T12:00:00Z")).unwrap().contains("outside every allowed window"), "a Saturday");
    }

    #[test]
    fn an_entry_that_does_not_parse_is_an_error_never_not_blocked() {
        let error = Calendar::parse(&["2026-13-01".into()], &[], &[]).unwrap_err();
        assert!(error.contains("blocked date `2026-13-01` is not a date"), "{error}");
        let error = Calendar::parse(&["24/12/2026".into()], &[], &[]).unwrap_err();
        assert!(error.contains("YYYY-MM-DD"), "{error}");
        let error = Calendar::parse(&[], &["Thursday".into()], &[]).unwrap_err();
        assert!(error.contains("not a window"), "{error}");
    }
}
