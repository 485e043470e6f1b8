//! Recovery-time maths, defined in docs/metrics.md. Pure: it reads probe
//! histories, alarm transitions and fault start times, and judges each
//! expected recovery.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::environment::Millis;
use crate::guard::alarm_matches;
use crate::probe::ProbeHistory;
use crate::scenario::{AlarmState, ExpectedRecovery, Probe};

/// The measured outcome of one expected recovery. Times are milliseconds
/// since the run started; durations are milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExpectationResult {
    pub name: String,
    pub probes: Vec<String>,
    pub fault: String,
    pub fault_start: Millis,
    pub deadline: Millis,
    /// First failing sample of any of the probes after the fault started.
    pub impact_start: Option<Millis>,
    /// The first of the `detected_by` signals to fire after the fault
    /// started: an alarm entering ALARM or a named probe failing. `None`
    /// when none fired, or when the expectation names no signal (detection
    /// is then not measured).
    pub detected_at: Option<Millis>,
    /// Which signal detected: `alarm NAME` or `probe NAME`.
    pub detected_by: Option<String>,
    /// The signals the expectation names (`detected_by` in the scenario);
    /// empty means detection is not measured.
    #[serde(default)]
    pub detection_signals: Vec<String>,
    /// When the last probe recovered: the first sample of the run of passes that lasted.
    pub recovered_at: Option<Millis>,
    /// From the fault's start to detection by a `detected_by` signal.
    pub time_to_detect: Option<Millis>,
    /// From the first failing referee sample to detection: how long the
    /// team's signals lagged the impact (zero when they fired first).
    #[serde(default)]
    pub detected_after_impact: Option<Millis>,
    pub time_to_recover: Option<Millis>,
    pub impact_duration: Option<Millis>,
    /// Time the probes spent failing between the fault and recovery (or the end).
    pub downtime: Millis,
    /// Share (0–100) of samples that failed between the fault and recovery (or the end).
    pub error_rate: f64,
    pub predicted: Option<Millis>,
    /// Actual minus predicted recovery time (positive: slower than predicted).
    pub prediction_error: Option<i64>,
    pub met: bool,
    /// Why it was missed; empty when met.
    pub misses: Vec<String>,
}

impl ExpectationResult {
    /// How long after its fault the expectation's deadline falls
    /// (`recovers_within`), as every renderer shows it.
    pub fn deadline_after_fault(&self) -> Millis {
        self.deadline.saturating_sub(self.fault_start)
    }

    /// How long after the fault `at` is; zero for a time before it (records
    /// out of order in a damaged journal).
    pub fn after_fault(&self, at: Millis) -> Millis {
        at.saturating_sub(self.fault_start)
    }
}

/// When each fault started.
pub type FaultStarts = BTreeMap<String, Millis>;

/// Judges one expectation at the end of a run that ended at `end`.
pub fn evaluate(
    expected: &ExpectedRecovery,
    default_fault: &str,
    probes: &[Probe],
    histories: &BTreeMap<String, ProbeHistory>,
    alarm_changes: &[(Millis, String, AlarmState)],
    fault_starts: &FaultStarts,
    end: Millis,
) -> ExpectationResult {
    let fault = expected.after_fault.clone().unwrap_or_else(|| default_fault.to_string());
    let fault_start = fault_starts.get(&fault).copied();
    let start = fault_start.unwrap_or(end);
    // Saturating: a damaged journal may put the fault at any time up to u64::MAX.
    let deadline = start.saturating_add(expected.recovers_within.as_millis());
    let empty = ProbeHistory::default();
    let mut impact_start: Option<Millis> = None;
    let mut recovered_at: Option<Millis> = Some(start);
    let mut any_failure = false;
    let mut downtime = 0;
    let (mut samples, mut failures) = (0usize, 0usize);

    for name in &expected.probes {
        let history = histories.get(name).unwrap_or(&empty);
        let healthy_after = probes.iter().find(|p| p.name == *name).map_or(1, |p| p.healthy_after as usize);
        if let Some(first) = history.first_failure_after(start) {
            any_failure = true;
            impact_start = Some(impact_start.map_or(first.sent_at, |t: Millis| t.min(first.sent_at)));
            recovered_at = match (recovered_at, history.recovered_at(start, healthy_after)) {
                (Some(so_far), Some(this)) => Some(so_far.max(this)),
                _ => None,
            };
        }
    }
    if !any_failure {
        recovered_at = None;
    }
    let window_end = recovered_at.unwrap_or(end);
    for name in &expected.probes {
        let history = histories.get(name).unwrap_or(&empty);
        downtime = downtime.max(history.failing_time(start, window_end));
        let window = history.window(start, window_end.saturating_sub(1).max(start));
        samples += window.len();
        failures += window.iter().filter(|s| !s.ok).count();
    }
    let error_rate = if samples == 0 { 0.0 } else { 100.0 * failures as f64 / samples as f64 };

    // Detection is the team's own signals only (`detected_by`): an alarm
    // entering ALARM, or a probe the team watches failing. The expectation's
    // probes are the referee; they never count as detection.
    let alarm_detection = alarm_changes
        .iter()
        .filter(|(t, name, state)| *t >= start && *state == AlarmState::Alarm && expected.detected_by.iter().any(|wanted| !is_probe(probes, wanted) && alarm_matches(wanted, name)))
        .map(|(t, name, _)| (*t, format!("alarm {name}")))
        .min_by_key(|(t, _)| *t);
    let probe_detection = expected
        .detected_by
        .iter()
        .filter(|name| is_probe(probes, name))
        .filter_map(|name| histories.get(name)?.first_failure_after(start).map(|s| (s.sent_at, format!("probe {name}"))))
        .min_by_key(|(t, _)| *t);
    let detection = match (alarm_detection, probe_detection) {
        (Some(a), Some(p)) => Some(if a.0 <= p.0 { a } else { p }),
        (a, p) => a.or(p),
    };

    let time_to_recover = if any_failure { recovered_at.map(|r| r.saturating_sub(start)) } else { Some(0) };
    let mut misses = Vec::new();
    if fault_start.is_none() {
        misses.push(format!("the fault `{fault}` never started"));
    }
    match (any_failure, recovered_at) {
        (true, None) => misses.push(format!("not recovered by the end of the run ({} after the fault)", fmt_ms(end.saturating_sub(start)))),
        (true, Some(r)) if r > deadline => misses.push(format!("recovered after {} — deadline {}", fmt_ms(r.saturating_sub(start)), expected.recovers_within)),
        _ => {}
    }
    if let Some(limit) = expected.detected_within {
        match &detection {
            Some((t, by)) if t.saturating_sub(start) > limit.as_millis() => misses.push(format!("detected after {} by {by} — limit {limit}", fmt_ms(t.saturating_sub(start)))),
            None if any_failure => misses.push(format!("never detected by {}", expected.detected_by.join(", "))),
            _ => {}
        }
    }
    if let Some(budget) = &expected.max_impact {
        if let Some(limit) = budget.downtime.filter(|l| downtime > l.as_millis()) {
            misses.push(format!("down for {} — budget {limit}", fmt_ms(downtime)));
        }
        if let Some(limit) = budget.error_rate.filter(|l| error_rate > *l) {
            misses.push(format!("{error_rate:.1}% of samples failed — budget {limit}%"));
        }
    }
    let predicted = expected.predicted.map(|p| p.as_millis());
    let detected_at = detection.as_ref().map(|d| d.0);
    ExpectationResult {
        name: expected.name.clone(),
        probes: expected.probes.clone(),
        fault,
        fault_start: start,
        deadline,
        impact_start,
        detected_at,
        detected_by: detection.map(|d| d.1),
        detection_signals: expected.detected_by.clone(),
        recovered_at,
        time_to_detect: detected_at.map(|t| t.saturating_sub(start)),
        detected_after_impact: detected_at.zip(impact_start).map(|(d, i)| d.saturating_sub(i)),
        time_to_recover,
        impact_duration: match (impact_start, recovered_at) {
            (Some(i), Some(r)) => Some(r.saturating_sub(i)),
            _ => None,
        },
        downtime,
        error_rate,
        predicted,
        prediction_error: match (predicted, time_to_recover) {
            (Some(p), Some(actual)) if any_failure => Some(i64::try_from(actual).unwrap_or(i64::MAX) - i64::try_from(p).unwrap_or(i64::MAX)),
            _ => None,
        },
        met: misses.is_empty(),
        misses,
    }
}

/// Whether `name` is a probe of the steady state (else an alarm).
fn is_probe(probes: &[Probe], name: &str) -> bool {
    probes.iter().any(|p| p.name == name)
}

/// `1m05s`-style durations for people.
pub fn fmt_ms(ms: Millis) -> String {
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    // Saturating: `ms` may come from a damaged journal (up to u64::MAX).
    let tenths = ms.saturating_add(50) / 100;
    let (seconds, tenth) = (tenths / 10, tenths % 10);
    match seconds {
        s if s < 60 && tenth != 0 => format!("{s}.{tenth}s"),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m{:02}s", s / 3600, (s % 3600) / 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Duration;

    fn history(pattern: &str, step: Millis) -> ProbeHistory {
        crate::probe::history_from_pattern(pattern, step)
    }

    fn expectation(within: u64) -> ExpectedRecovery {
        ExpectedRecovery {
            name: "e".into(),
            probes: vec!["p".into()],
            after_fault: None,
            recovers_within: Duration::from_secs(within),
            detected_within: Some(Duration::from_secs(15)),
            detected_by: vec![],
            max_impact: None,
            predicted: Some(Duration::from_secs(40)),
        }
    }

    fn probe() -> Probe {
        serde_saphyr::from_str("name: p\nkind: asg_capacity\ngroup: g\nmin_in_service: 1\nhealthy_after: 2\n").unwrap()
    }

    #[test]
    fn measures_detection_recovery_and_impact() {
        // 10 s samples; fault at 10 s; failing at 20–40 s, a pass at 50 s, a failure at 60 s, healthy from 70 s on.
        let histories = BTreeMap::from([("p".to_string(), history("++---+-+++", 10_000))]);
        let starts = FaultStarts::from([("f".to_string(), 10_000)]);
        let result = evaluate(&expectation(60), "f", &[probe()], &histories, &[], &starts, 100_000);
        assert_eq!(result.impact_start, Some(20_000));
        assert_eq!(result.time_to_detect, Some(10_000));
        assert_eq!(result.recovered_at, Some(70_000));
        assert_eq!(result.time_to_recover, Some(60_000));
        assert_eq!(result.impact_duration, Some(50_000));
        assert_eq!(result.downtime, 40_000);
        assert_eq!(result.prediction_error, Some(20_000));
        assert!(result.met, "{:?}", result.misses);
    }

    #[test]
    fn misses_deadlines_and_budgets() {
        let histories = BTreeMap::from([("p".to_string(), history("++---+-+++", 10_000))]);
        let starts = FaultStarts::from([("f".to_string(), 10_000)]);
        let result = evaluate(&expectation(30), "f", &[probe()], &histories, &[], &starts, 100_000);
        assert!(!result.met);
        assert!(result.misses[0].contains("deadline 30s"), "{:?}", result.misses);
    }

    #[test]
    fn no_impact_is_met_with_zero_recovery() {
        let histories = BTreeMap::from([("p".to_string(), history("+++++", 10_000))]);
        let starts = FaultStarts::from([("f".to_string(), 10_000)]);
        let result = evaluate(&expectation(30), "f", &[probe()], &histories, &[], &starts, 50_000);
        assert!(result.met);
        assert_eq!(result.time_to_recover, Some(0));
        assert_eq!(result.impact_start, None);
    }

    #[test]
    fn formats_durations() {
        assert_eq!(fmt_ms(250), "250ms");
        assert_eq!(fmt_ms(1_500), "1.5s");
        assert_eq!(fmt_ms(65_000), "1m05s");
        assert_eq!(fmt_ms(3_725_000), "1h02m05s");
        assert_eq!(fmt_ms(u64::MAX), "5124095576030h25m51s");
    }

    #[test]
    fn a_fault_at_the_end_of_time_does_not_overflow() {
        let histories = BTreeMap::from([("p".to_string(), history("+-+++", 10_000))]);
        let starts = FaultStarts::from([("f".to_string(), Millis::MAX)]);
        let result = evaluate(&expectation(30), "f", &[probe()], &histories, &[(Millis::MAX, "a".into(), AlarmState::Alarm)], &starts, 40_000);
        assert_eq!(result.deadline, Millis::MAX);
        assert_eq!(result.impact_start, None);
        assert!(result.met, "{:?}", result.misses);
    }
}
