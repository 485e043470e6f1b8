//! Recovery-time maths, defined in docs/metrics.md. Pure: it reads probe
//! histories, alarm transitions and fault start times, and judges each
//! expected recovery.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::drill::measure::SystemResponse;
use crate::environment::{Millis, alarm_matches};
use crate::probe::ProbeHistory;
use crate::scenario::{AlarmState, ExpectedRecovery, Probe};

/// Kept here too: reports name it by this path.
pub use crate::vocab::fmt_ms;

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
    /// Share (0–100) of requests that failed between the fault and recovery
    /// (or the end), counted by the `max_impact.requests` metric probe;
    /// `None` when no request count is available (`error_rate_source` says why).
    pub error_rate: Option<f64>,
    /// Where `error_rate` came from.
    #[serde(default)]
    pub error_rate_source: ErrorRateSource,
    /// Share (0–100) of the expectation's probe samples that failed between
    /// the fault and recovery (or the end): gameday's probes, not traffic.
    #[serde(default)]
    pub probe_error_rate: f64,
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

/// Where an expectation's request error rate came from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ErrorRateSource {
    /// Counted by a `metric` probe (on the simulator, the load balancer's
    /// own counts; on AWS, CloudWatch's): its readings whose period overlaps
    /// the window from the fault to recovery (or the end).
    MetricProbe {
        probe: String,
        requests: u64,
        failed: u64,
        /// Readings counted.
        periods: usize,
        /// Samples in the window that read nothing (CloudWatch did not answer).
        #[serde(default)]
        unread_periods: usize,
    },
    /// No request count: the reason, for the report.
    NotAvailable { reason: String },
}

impl Default for ErrorRateSource {
    fn default() -> Self {
        ErrorRateSource::NotAvailable { reason: "the expectation names no `max_impact.requests` metric probe".into() }
    }
}

impl ErrorRateSource {
    /// Where the figure came from, for people.
    pub fn describe(&self) -> String {
        match self {
            ErrorRateSource::MetricProbe { probe, requests, failed, unread_periods, .. } => {
                let unread = if *unread_periods > 0 { format!(", {unread_periods} period(s) unread") } else { String::new() };
                format!("{failed} of {requests} requests, metric probe `{probe}`{unread}")
            }
            ErrorRateSource::NotAvailable { reason } => format!("not available: {reason}"),
        }
    }
}

/// The share of requests that failed between `start` and `end`, from the
/// readings of the metric probe `probe`: every reading whose period
/// overlaps `[start, end)`, counted whole (docs/metrics.md).
pub fn request_error_rate(probe: &str, history: Option<&ProbeHistory>, start: Millis, end: Millis) -> (Option<f64>, ErrorRateSource) {
    let not_available = |reason: String| (None, ErrorRateSource::NotAvailable { reason });
    let Some(history) = history else { return not_available(format!("no probe is named `{probe}`")) };
    let overlapping = history.samples.iter().filter(|s| s.sent_at > start && s.sent_at.saturating_sub(s.reading.map_or(0, |r| r.period_ms)) < end.max(start.saturating_add(1)));
    let (mut requests, mut failed, mut periods, mut unread) = (0.0, 0.0, 0usize, 0usize);
    for sample in overlapping {
        match sample.reading.and_then(|r| r.divided_by.map(|d| (r.value, d))) {
            Some((value, total)) => {
                failed += value;
                requests += total;
                periods += 1;
            }
            None => unread += 1,
        }
    }
    if periods == 0 {
        return not_available(format!("metric probe `{probe}` read no request count between the fault and recovery"));
    }
    if requests <= 0.0 {
        return not_available(format!("metric probe `{probe}` counted no requests between the fault and recovery"));
    }
    let source = ErrorRateSource::MetricProbe { probe: probe.to_string(), requests: requests.round() as u64, failed: failed.round() as u64, periods, unread_periods: unread };
    (Some(100.0 * failed / requests), source)
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
    let probe_error_rate = if samples == 0 { 0.0 } else { 100.0 * failures as f64 / samples as f64 };
    // Requests are counted only from a source the scenario names; the probe
    // samples never stand in for them under the request name.
    let (error_rate, error_rate_source) = match expected.max_impact.as_ref().and_then(|b| b.requests.as_deref()) {
        Some(probe) => request_error_rate(probe, histories.get(probe), start, window_end),
        None => (None, ErrorRateSource::default()),
    };

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
        if let Some(limit) = budget.error_rate {
            match error_rate {
                Some(rate) if rate > limit => misses.push(format!("{rate:.2}% of requests failed ({}) — budget {limit}%", error_rate_source.describe())),
                Some(_) => {}
                None => misses.push(format!("the request error rate could not be judged ({}) — budget {limit}%", error_rate_source.describe())),
            }
        }
        if let Some(limit) = budget.probe_error_rate.filter(|l| probe_error_rate > *l) {
            misses.push(format!("{probe_error_rate:.1}% of probe samples failed — budget {limit}%"));
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
        error_rate_source,
        probe_error_rate,
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

/// The system's side of a drill's response chain: the first impact and
/// detection over all expectations, and the last recovery once every
/// impaired expectation has recovered.
pub fn system_response(expectations: &[ExpectationResult]) -> SystemResponse {
    let impaired = || expectations.iter().filter(|e| e.impact_start.is_some());
    let recovered_at = if impaired().next().is_some() && impaired().all(|e| e.recovered_at.is_some()) { impaired().filter_map(|e| e.recovered_at).max() } else { None };
    SystemResponse { impact_start: expectations.iter().filter_map(|e| e.impact_start).min(), detected_at: expectations.iter().filter_map(|e| e.detected_at).min(), recovered_at }
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

    fn page() -> Probe {
        serde_saphyr::from_str("name: page\nkind: asg_capacity\ngroup: g\nmin_in_service: 1\n").unwrap()
    }

    #[test]
    fn measures_detection_recovery_and_impact() {
        // 10 s samples; fault at 10 s; failing at 20–40 s, a pass at 50 s, a failure at 60 s, healthy from 70 s on.
        // The team's pager (a probe named in `detected_by`) fires at 20 s: the worked example of docs/metrics.md.
        let histories = BTreeMap::from([("p".to_string(), history("++---+-+++", 10_000)), ("page".to_string(), history("++-+++++++", 10_000))]);
        let starts = FaultStarts::from([("f".to_string(), 10_000)]);
        let expected = ExpectedRecovery { detected_by: vec!["page".into()], ..expectation(60) };
        let result = evaluate(&expected, "f", &[probe(), page()], &histories, &[], &starts, 100_000);
        assert_eq!(result.impact_start, Some(20_000));
        assert_eq!(result.time_to_detect, Some(10_000));
        assert_eq!(result.detected_by.as_deref(), Some("probe page"));
        assert_eq!(result.detected_after_impact, Some(0));
        assert_eq!(result.recovered_at, Some(70_000));
        assert_eq!(result.time_to_recover, Some(60_000));
        assert_eq!(result.impact_duration, Some(50_000));
        assert_eq!(result.downtime, 40_000);
        assert_eq!(result.prediction_error, Some(20_000));
        assert!(result.met, "{:?}", result.misses);
    }

    #[test]
    fn the_referee_probes_never_count_as_detection() {
        let histories = BTreeMap::from([("p".to_string(), history("++---+-+++", 10_000))]);
        let starts = FaultStarts::from([("f".to_string(), 10_000)]);
        // No signal named: detection is not measured, although `p` failed at 20 s.
        let unmeasured = evaluate(&ExpectedRecovery { detected_within: None, ..expectation(60) }, "f", &[probe()], &histories, &[], &starts, 100_000);
        assert_eq!((unmeasured.detected_at, unmeasured.time_to_detect), (None, None));
        assert!(unmeasured.met, "{:?}", unmeasured.misses);
        // An alarm that fires at 45 s detects at 45 s, 25 s after the impact, and misses the 15 s limit.
        let alarm = ExpectedRecovery { detected_by: vec!["web-5xx".into()], ..expectation(60) };
        let result = evaluate(&alarm, "f", &[probe()], &histories, &[(45_000, "web-5xx".into(), AlarmState::Alarm)], &starts, 100_000);
        assert_eq!((result.time_to_detect, result.detected_after_impact), (Some(35_000), Some(25_000)));
        assert_eq!(result.misses, vec!["detected after 35s by alarm web-5xx — limit 15s".to_string()]);
        // An alarm that never fires: never detected.
        let silent = evaluate(&alarm, "f", &[probe()], &histories, &[], &starts, 100_000);
        assert_eq!(silent.misses, vec!["never detected by web-5xx".to_string()]);
    }

    /// A metric probe's samples every 60 s, each reading (failed, requests) of the 60 s before it.
    fn requests(readings: &[Option<(f64, f64)>]) -> ProbeHistory {
        let mut history = ProbeHistory::default();
        for (i, reading) in readings.iter().enumerate() {
            let reading = reading.map(|(value, total)| crate::vocab::MetricReading { value, divided_by: Some(total), period_ms: 60_000 });
            history.push(crate::vocab::Sample { probe: "r".into(), sent_at: i as Millis * 60_000, latency_ms: 1, ok: true, observed: String::new(), lateness_us: 0, reading });
        }
        history
    }

    #[test]
    fn the_request_error_rate_counts_every_period_that_overlaps_the_window() {
        // Periods end at 0, 60, 120, 180 and 240 s. The window 30–130 s overlaps those ending at 60, 120 and 180 s.
        let history = requests(&[Some((900.0, 1000.0)), Some((10.0, 1000.0)), Some((20.0, 1000.0)), Some((0.0, 2000.0)), Some((500.0, 1000.0))]);
        let (rate, source) = request_error_rate("r", Some(&history), 30_000, 130_000);
        assert_eq!(rate, Some(100.0 * 30.0 / 4000.0));
        assert_eq!(source, ErrorRateSource::MetricProbe { probe: "r".into(), requests: 4000, failed: 30, periods: 3, unread_periods: 0 });
        assert_eq!(source.describe(), "30 of 4000 requests, metric probe `r`");
        // A period CloudWatch did not answer is left out and said.
        let gap = requests(&[None, Some((10.0, 1000.0)), None]);
        let (rate, source) = request_error_rate("r", Some(&gap), 30_000, 130_000);
        assert_eq!((rate, source.describe()), (Some(1.0), "10 of 1000 requests, metric probe `r`, 1 period(s) unread".to_string()));
        // Nothing read, or no requests: no rate at all, never a stand-in.
        assert_eq!(request_error_rate("r", Some(&requests(&[None, None])), 0, 60_000).0, None);
        assert_eq!(
            request_error_rate("r", Some(&requests(&[Some((0.0, 0.0)), Some((0.0, 0.0))])), 0, 60_000).1.describe(),
            "not available: metric probe `r` counted no requests between the fault and recovery"
        );
    }

    #[test]
    fn an_error_budget_is_judged_on_requests_and_a_sample_budget_on_samples() {
        // The probe fails at 20 s and recovers at 30 s: one failing sample of the two
        // in the window (50 %), while 0.5 % of the requests failed in the period that holds it.
        let histories =
            BTreeMap::from([("p".to_string(), history("++-+++++", 10_000)), ("r".to_string(), requests(&[Some((0.0, 1000.0)), Some((5.0, 1000.0)), Some((0.0, 1000.0))]))]);
        let starts = FaultStarts::from([("f".to_string(), 10_000)]);
        let budget = |error_rate, probe_error_rate| ExpectedRecovery {
            max_impact: Some(crate::scenario::ImpactBudget { downtime: None, error_rate, requests: error_rate.map(|_| "r".to_string()), probe_error_rate }),
            detected_within: None,
            ..expectation(60)
        };
        let on_requests = evaluate(&budget(Some(1.0), None), "f", &[probe()], &histories, &[], &starts, 80_000);
        assert_eq!((on_requests.error_rate, on_requests.met), (Some(0.5), true), "{:?}", on_requests.misses);
        assert_eq!(on_requests.probe_error_rate, 50.0, "samples at 10 and 20 s: one of two failed");
        let on_samples = evaluate(&budget(None, Some(1.0)), "f", &[probe()], &histories, &[], &starts, 80_000);
        assert_eq!(on_samples.error_rate, None);
        assert_eq!(on_samples.misses, vec!["50.0% of probe samples failed — budget 1%".to_string()]);
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
    fn a_fault_at_the_end_of_time_does_not_overflow() {
        let histories = BTreeMap::from([("p".to_string(), history("+-+++", 10_000))]);
        let starts = FaultStarts::from([("f".to_string(), Millis::MAX)]);
        let result = evaluate(&expectation(30), "f", &[probe()], &histories, &[(Millis::MAX, "a".into(), AlarmState::Alarm)], &starts, 40_000);
        assert_eq!(result.deadline, Millis::MAX);
        assert_eq!(result.impact_start, None);
        assert!(result.met, "{:?}", result.misses);
    }
}
