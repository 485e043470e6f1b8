//! Recovery-time maths, defined in docs/metrics.md. Pure: it reads probe
//! histories, alarm transitions and fault start times, and judges each
//! expected recovery.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::drill::measure::SystemResponse;
use crate::environment::{Millis, alarm_matches};
use crate::probe::ProbeHistory;
use crate::scenario::objectives::{DisruptionClass, Objective, error_budget};
use crate::scenario::{AlarmState, ClockStart, ExpectedRecovery, Fault, FaultAction, Probe};

/// Kept here too: reports name it by this path.
pub use crate::vocab::fmt_ms;

/// The team's signal that detected a failure (an expectation's `detected_by`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Signal {
    /// A CloudWatch alarm entering ALARM.
    Alarm(String),
    /// A probe of the steady state the team watches as its monitor, failing.
    Probe(String),
}

/// Reads `detected_by` as written by schema version 2 (`{"kind": "alarm",
/// "name": …}`) or by version 1 (`"alarm NAME"`).
fn signal_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Signal>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Typed(Signal),
        Text(String),
    }
    Ok(match Option::<Written>::deserialize(deserializer)? {
        None => None,
        Some(Written::Typed(signal)) => Some(signal),
        Some(Written::Text(text)) => Some(match text.split_once(' ') {
            Some(("probe", name)) => Signal::Probe(name.to_string()),
            Some(("alarm", name)) => Signal::Alarm(name.to_string()),
            _ => Signal::Alarm(text),
        }),
    })
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signal::Alarm(name) => write!(f, "alarm {name}"),
            Signal::Probe(name) => write!(f, "probe {name}"),
        }
    }
}

/// What an expectation asks for (docs/metrics.md, "Expectation kinds").
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExpectationKind {
    /// Back by the deadline, then healthy to the end of the run.
    #[default]
    RecoversWithin,
    /// Never failing while the fault is in place.
    StaysHealthy,
    /// Every probe is `expected_during_fault` and the clock is the fault's
    /// start: met when every probe reached its intended (failing) state by
    /// the deadline, i.e. the clients moved. Their return after the revert
    /// is judged by an expectation counted `from: revert`.
    FailsOver,
}

/// The client-side outcome of a DNS or region failover.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FailoverVerdict {
    /// The fault never took effect: it was not made, or no probe failed and
    /// no alarm fired while it was in place. Nothing was tested.
    FaultNotEffective,
    /// No client moved while the fault was in place.
    DidNotFailOver,
    /// Some clients (probes) moved, others did not.
    Partial,
    /// Every client moved, the last one after the deadline.
    TooSlow,
    /// Every client moved by the deadline.
    Met,
}

impl FailoverVerdict {
    pub fn text(self) -> &'static str {
        match self {
            FailoverVerdict::FaultNotEffective => "fault not effective",
            FailoverVerdict::DidNotFailOver => "did not fail over",
            FailoverVerdict::Partial => "partial",
            FailoverVerdict::TooSlow => "too slow",
            FailoverVerdict::Met => "met",
        }
    }
}

/// How the clients of one expectation moved during a `dns_failover` or
/// `region_outage` fault. Times are milliseconds since the run started.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Failover {
    pub verdict: FailoverVerdict,
    /// The latest time a client may move: the expectation's deadline, or the
    /// fault's end when that is earlier (moving after the revert is not failing over).
    pub deadline: Millis,
    /// When each probe (a client) moved: an `expected_during_fault` probe
    /// when it first failed, any other probe when it recovered (or at the
    /// fault's start when it never failed); `None` when it did not move
    /// while the fault was in place.
    pub clients: Vec<ClientMove>,
    /// From the fault's start to the last client's move, when all moved:
    /// the achieved RTO of the disaster-recovery table.
    pub time_to_fail_over: Option<Millis>,
}

/// When one client (a probe of the expectation) moved in a failover.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientMove {
    pub probe: String,
    /// `None`: it did not move while the fault was in place.
    pub moved_at: Option<Millis>,
}

/// The measured outcome of one expected recovery. Times are milliseconds
/// since the run started; durations are milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExpectationResult {
    pub name: String,
    pub probes: Vec<String>,
    #[serde(default)]
    pub kind: ExpectationKind,
    pub fault: String,
    pub fault_start: Millis,
    /// Where the clock starts (`from`): the fault's start or its revert.
    #[serde(default)]
    pub from: ClockStart,
    /// The time the clock starts: `fault_start`, or the fault's end for `from: revert`.
    #[serde(default)]
    pub clock_start: Millis,
    pub deadline: Millis,
    /// First failing sample of any of the probes after the clock started,
    /// intended failures (`expected_during_fault`) aside.
    pub impact_start: Option<Millis>,
    /// The first of the `detected_by` signals to fire after the fault
    /// started: an alarm entering ALARM or a named probe failing. `None`
    /// when none fired, or when the expectation names no signal (detection
    /// is then not measured).
    pub detected_at: Option<Millis>,
    /// Which signal detected. Schema version 1 wrote it as text
    /// (`alarm NAME`, `probe NAME`); both are read.
    #[serde(default, deserialize_with = "signal_or_text")]
    pub detected_by: Option<Signal>,
    /// The signals the expectation names (`detected_by` in the scenario);
    /// empty means detection is not measured.
    #[serde(default)]
    pub detection_signals: Vec<String>,
    /// When the last probe recovered: the first sample of the run of passes that lasted.
    pub recovered_at: Option<Millis>,
    /// When gameday could confirm the recovery: the answer to the last of the
    /// `healthy_after` passes that make the latest probe's recovery point.
    /// Empty with no impact, not recovered, or for a failover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<Millis>,
    /// From the fault's start to detection by a `detected_by` signal.
    pub time_to_detect: Option<Millis>,
    /// From the first failing referee sample to detection: how long the
    /// team's signals lagged the impact (zero when they fired first).
    #[serde(default)]
    pub detected_after_impact: Option<Millis>,
    /// From the clock's start to the recovery point.
    pub time_to_recover: Option<Millis>,
    pub impact_duration: Option<Millis>,
    /// Time the probes spent failing between the clock's start and recovery
    /// (or the end), intended failures aside.
    pub downtime: Millis,
    /// Time `expected_during_fault` probes spent failing while the fault
    /// was in place: the intended state, not downtime.
    #[serde(default)]
    pub intended: Millis,
    /// For an expectation on a `dns_failover` or `region_outage` fault.
    #[serde(default)]
    pub failover: Option<Failover>,
    /// Share (0–100) of requests that failed from the expectation's clock
    /// start (the fault's start, or its revert with `from: revert`) to
    /// recovery (or the end), counted by the `max_impact.requests` metric probe;
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
    /// The shared objective the expectation was judged against, when it
    /// names one (`objective:`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<ObjectiveResult>,
    pub met: bool,
    /// Why it was missed; empty when met.
    pub misses: Vec<String>,
}

/// A shared objective (a disruption class of the objectives file) and what
/// the run achieved against it (docs/metrics.md, "Objectives"). Its RTO was
/// the expectation's deadline; its availability, the error budget when the
/// expectation counted requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveResult {
    pub class: DisruptionClass,
    /// The recovery time objective, which was the expectation's deadline.
    pub rto: Millis,
    /// The time to recover (for a failover, to fail over) judged against the
    /// RTO; `None` when the probes did not recover or the clock never started.
    pub achieved_rto: Option<Millis>,
    /// Whether the recovery (or failover) came within the RTO, and lasted.
    pub rto_met: bool,
    /// The recovery point objective: a target for the debrief to check,
    /// since gameday does not see data.
    pub rpo: Option<Millis>,
    /// The availability target: the share (0–100) of requests that succeed.
    pub availability: Option<f64>,
    /// 100 − `error_rate`: the share of requests that succeeded in the error
    /// rate's window; `None` when no requests were counted.
    pub achieved_availability: Option<f64>,
    /// Whether the failed requests stayed within `100 − availability`;
    /// `None` (not judged) without a target or without a request count named
    /// (`max_impact.requests`). A named count that could not be read is not met.
    pub availability_met: Option<bool>,
}

impl ObjectiveResult {
    /// `achieved_rto` is `None` unless the clock ran; `failover_met` is the
    /// failover verdict when the expectation has one.
    fn of(
        objective: &Objective,
        class: DisruptionClass,
        achieved_rto: Option<Millis>,
        failover_met: Option<bool>,
        error_rate: Option<f64>,
        counts_requests: bool,
    ) -> ObjectiveResult {
        let rto = objective.rto.as_millis();
        ObjectiveResult {
            class,
            rto,
            achieved_rto,
            rto_met: achieved_rto.is_some_and(|t| t <= rto) && failover_met.unwrap_or(true),
            rpo: objective.rpo.map(|d| d.as_millis()),
            availability: objective.availability,
            achieved_availability: error_rate.map(|rate| 100.0 - rate),
            // The same comparison as the error budget it set: failed share against 100 − target.
            availability_met: objective.availability.filter(|_| counts_requests).map(|target| error_rate.is_some_and(|rate| rate <= error_budget(target))),
        }
    }
}

impl ExpectationResult {
    /// How long after the clock's start (the fault's start, or its revert
    /// with `from: revert`) the deadline falls, as every renderer shows it.
    pub fn deadline_after_fault(&self) -> Millis {
        self.deadline.saturating_sub(self.clock_start)
    }

    /// How long after the clock's start `at` is; zero for a time before it
    /// (records out of order in a damaged journal, or intended failures
    /// before a revert).
    pub fn after_fault(&self, at: Millis) -> Millis {
        at.saturating_sub(self.clock_start)
    }

    /// What the clock counts from, as in "2m after the fault".
    pub fn clock_name(&self) -> &'static str {
        clock_name(self.from)
    }

    /// What the clock counts from, in words.
    pub fn clock_text(&self) -> String {
        match self.from {
            ClockStart::Start => format!("clock starts at fault `{}`", self.fault),
            ClockStart::Revert => format!("clock starts at the revert of `{}`", self.fault),
        }
    }
}

/// When a fault was in place: from `start` until `end` (its revert, or the
/// moment it was made for a fault that cannot be undone); `end` is `None`
/// while still in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSpan {
    pub start: Millis,
    pub end: Option<Millis>,
}

fn clock_name(from: ClockStart) -> &'static str {
    match from {
        ClockStart::Start => "the fault",
        ClockStart::Revert => "the revert",
    }
}

/// When each fault was in place, for the faults that started.
pub type FaultSpans = BTreeMap<String, FaultSpan>;

/// When the expectation's clock starts, given its fault's span: the start,
/// or the end for `from: revert` (`None` while the fault is in place).
pub fn clock_start(expected: &ExpectedRecovery, span: FaultSpan) -> Option<Millis> {
    match expected.from {
        ClockStart::Start => Some(span.start),
        ClockStart::Revert => span.end,
    }
}

/// The expectation's deadline: the clock's start plus `recovers_within`;
/// for `stays_healthy`, the fault's end. `None` while unknown (the clock has
/// not started, or the fault is still in place).
pub fn deadline(expected: &ExpectedRecovery, span: FaultSpan) -> Option<Millis> {
    if expected.stays_healthy {
        return span.end;
    }
    // Saturating: a damaged journal may put the fault at any time up to u64::MAX.
    clock_start(expected, span).map(|start| start.saturating_add(expected.within().as_millis()))
}

/// `history` as judged: for an `expected_during_fault` probe, a copy in
/// which its failures while the fault was in place count as passes (they
/// are the state the team intended, not impact); for any other probe, the
/// history itself, not a copy.
fn judged_history<'h>(history: &'h ProbeHistory, probe: Option<&Probe>, span: FaultSpan, end: Millis) -> Cow<'h, ProbeHistory> {
    if !probe.is_some_and(|p| p.expected_during_fault) {
        return Cow::Borrowed(history);
    }
    Cow::Owned(history.passing_during(span.start, span.end.unwrap_or(end.saturating_add(1))))
}

/// Where an expectation's request error rate came from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ErrorRateSource {
    /// Counted by a `metric` probe (on the simulator, the load balancer's
    /// own counts; on AWS, CloudWatch's): its readings whose period overlaps
    /// the window from the clock's start to recovery (or the end).
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
    // A sample sent in `(start, end)` that read nothing is a period unread.
    let (after, end) = (start.saturating_add(1), end.max(start.saturating_add(1)));
    let mut unread = usize::try_from(history.counts(after, end).0).unwrap_or(usize::MAX);
    let (mut requests, mut failed, mut periods) = (0.0, 0.0, 0usize);
    for (sent_at, reading) in history.readings() {
        if (after..end).contains(sent_at) {
            unread = unread.saturating_sub(1);
        }
        if *sent_at > start && sent_at.saturating_sub(reading.period_ms) < end {
            match reading.divided_by {
                Some(total) => {
                    failed += reading.value;
                    requests += total;
                    periods += 1;
                }
                None => unread += 1,
            }
        }
    }
    if periods == 0 {
        return not_available(format!("metric probe `{probe}` read no request count from the clock's start to recovery"));
    }
    if requests <= 0.0 {
        return not_available(format!("metric probe `{probe}` counted no requests from the clock's start to recovery"));
    }
    let source = ErrorRateSource::MetricProbe { probe: probe.to_string(), requests: requests.round() as u64, failed: failed.round() as u64, periods, unread_periods: unread };
    (Some(100.0 * failed / requests), source)
}

/// An expectation's probes judged from its clock's start: its kind, the
/// histories as judged (intended failures as passes, a failover's samples
/// to the fault's end), impact start and recovery point.
struct Recovery<'p, 'h> {
    kind: ExpectationKind,
    judged: BTreeMap<&'p str, Cow<'h, ProbeHistory>>,
    impact_start: Option<Millis>,
    /// The lasting recovery point; `None` with no impact or not recovered.
    recovered_at: Option<Millis>,
    /// When the recovery point was confirmed (`ProbeHistory::confirmed_at`
    /// of the probes that failed, the latest); `None` when it was not.
    confirmed_at: Option<Millis>,
    /// The earliest time every failed probe was back (a run of `healthy_after`
    /// passes), lasting or not: a later failure is a relapse, judged apart.
    first_back: Option<Millis>,
    any_failure: bool,
}

/// The one computation of an expectation's recovery, for `evaluate` and for
/// the run loop (`recovery_point`), so what the run waits for is what the
/// measurement counts.
fn recovery<'p, 'h>(expected: &'p ExpectedRecovery, probes: &[Probe], histories: &'h BTreeMap<String, ProbeHistory>, span: FaultSpan, end: Millis) -> Recovery<'p, 'h> {
    let start = clock_start(expected, span).unwrap_or(end);
    let fault_end = span.end.unwrap_or(end);
    let probe_of = |name: &str| probes.iter().find(|p| p.name == name);
    let all_intended = !expected.probes.is_empty() && expected.probes.iter().all(|n| probe_of(n).is_some_and(|p| p.expected_during_fault));
    let kind = if expected.stays_healthy {
        ExpectationKind::StaysHealthy
    } else if all_intended && expected.from == ClockStart::Start {
        ExpectationKind::FailsOver
    } else {
        ExpectationKind::RecoversWithin
    };
    let mut judged: BTreeMap<&str, Cow<'h, ProbeHistory>> =
        expected.probes.iter().map(|n| (n.as_str(), histories.get(n).map_or_else(Cow::default, |h| judged_history(h, probe_of(n), span, end)))).collect();
    if matches!(kind, ExpectationKind::FailsOver | ExpectationKind::StaysHealthy) {
        // A failover expectation judges the fault's span only; the return after the revert is another expectation's (`from: revert`).
        // So does `stays_healthy`: its verdict is about the span, and its figures say the same (a failure after
        // the fault's end, another fault's doing, once showed a met expectation as "not recovered").
        for history in judged.values_mut() {
            history.to_mut().keep_sent_before(fault_end);
        }
    }
    let healthy_after = |name: &str| probe_of(name).map_or(1, Probe::passes_to_recover);
    let mut impact_start: Option<Millis> = None;
    let mut recovered_at: Option<Millis> = Some(start);
    let mut confirmed_at: Option<Millis> = Some(start);
    let mut first_back: Option<Millis> = Some(start);
    let mut any_failure = false;
    for name in &expected.probes {
        let history = &judged[name.as_str()];
        if let Some(first) = history.first_failure_after(start) {
            any_failure = true;
            impact_start = Some(impact_start.map_or(first, |t: Millis| t.min(first)));
            recovered_at = recovered_at.zip(history.recovered_at(start, healthy_after(name))).map(|(a, b)| a.max(b));
            confirmed_at = confirmed_at.zip(history.confirmed_at(start, healthy_after(name))).map(|(a, b)| a.max(b));
            first_back = first_back.zip(history.first_back_at(start, healthy_after(name))).map(|(a, b)| a.max(b));
        }
    }
    if !any_failure || recovered_at.is_none() {
        recovered_at = None;
        confirmed_at = None;
    }
    Recovery { kind, judged, impact_start, recovered_at, confirmed_at, first_back, any_failure }
}

/// The expectation's recovery point as `evaluate` will measure it from the
/// samples so far: counted from its clock's start, intended failures aside.
/// `None` with no impact yet, or not recovered. The run waits for the
/// request probe's reading after it, so the error rate's window is whole.
pub fn recovery_point(expected: &ExpectedRecovery, probes: &[Probe], histories: &BTreeMap<String, ProbeHistory>, span: FaultSpan, now: Millis) -> Option<Millis> {
    recovery(expected, probes, histories, span, now).recovered_at
}

/// Every time the measure asks a probe history about, given the times it
/// is asked from (`base`): a filter asks about "at or after t", "before t",
/// "up to t" (before t + 1) and "after t" (at or after t + 1), so each time
/// and the millisecond after it. A history cut at them (`ProbeHistory::cut_at`)
/// answers the measure exactly.
pub fn asked_times(base: impl IntoIterator<Item = Millis>) -> Vec<Millis> {
    let mut times: Vec<Millis> = base.into_iter().flat_map(|t| [t, t.saturating_add(1)]).collect();
    times.sort_unstable();
    times.dedup();
    times
}

/// The times `evaluate` asks the histories about that the records other
/// than samples give: each fault's start and end, and the run's end.
pub fn fault_times(spans: &FaultSpans, end: Millis) -> Vec<Millis> {
    let mut times: Vec<Millis> = spans.values().flat_map(|s| std::iter::once(s.start).chain(s.end)).collect();
    times.push(end);
    times
}

/// The fault span an expectation is judged on: its fault's, if it started
/// (the first of the pair), else the run's end.
fn judged_span(expected: &ExpectedRecovery, faults: &[Fault], spans: &FaultSpans, end: Millis) -> (Option<FaultSpan>, FaultSpan) {
    let fault_span = spans.get(expected.reference_fault(faults)).copied();
    (fault_span, fault_span.unwrap_or(FaultSpan { start: end, end: Some(end) }))
}

/// The recovery points `evaluate` will measure, from histories exact at
/// [`fault_times`]: the error rate's window ends at them, so `evaluate`
/// asks about them too.
pub fn recovery_points(
    expectations: &[ExpectedRecovery],
    faults: &[Fault],
    probes: &[Probe],
    histories: &BTreeMap<String, ProbeHistory>,
    spans: &FaultSpans,
    end: Millis,
) -> Vec<Millis> {
    expectations.iter().filter_map(|e| recovery(e, probes, histories, judged_span(e, faults, spans, end).1, end).recovered_at).collect()
}

/// Judges one expectation at the end of a run that ended at `end`.
pub fn evaluate(
    expected: &ExpectedRecovery,
    faults: &[Fault],
    probes: &[Probe],
    histories: &BTreeMap<String, ProbeHistory>,
    alarm_changes: &[(Millis, String, AlarmState)],
    spans: &FaultSpans,
    end: Millis,
) -> ExpectationResult {
    let fault = expected.reference_fault(faults).to_string();
    let (fault_span, span) = judged_span(expected, faults, spans, end);
    let fault_start = span.start;
    let start = clock_start(expected, span).unwrap_or(end);
    let fault_end = span.end.unwrap_or(end);
    let deadline = deadline(expected, span).unwrap_or(end);
    let probe_of = |name: &str| probes.iter().find(|p| p.name == name);
    let Recovery { kind, judged, impact_start, mut recovered_at, mut confirmed_at, first_back, any_failure } = recovery(expected, probes, histories, span, end);
    let empty = ProbeHistory::default();
    let mut downtime = 0;
    let mut intended = 0;
    let (mut samples, mut failures) = (0u64, 0u64);
    for name in expected.probes.iter().filter(|n| probe_of(n).is_some_and(|p| p.expected_during_fault)) {
        intended = intended.max(histories.get(name).unwrap_or(&empty).settled_failing_time(fault_start, fault_end));
    }
    let window_end = recovered_at.unwrap_or(end);
    for name in &expected.probes {
        let history = &judged[name.as_str()];
        downtime = downtime.max(history.failing_time(start, window_end));
        let (all, failed) = history.counts(start, window_end.max(start.saturating_add(1)));
        samples += all;
        failures += failed;
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
    // probes are the referee; they never count as detection. Detection is of
    // the fault, so it counts from the fault's start whatever the clock.
    let alarm_detection = alarm_changes
        .iter()
        .filter(|(t, name, state)| {
            *t >= fault_start && *state == AlarmState::Alarm && expected.detected_by.iter().any(|wanted| !is_probe(probes, wanted) && alarm_matches(wanted, name))
        })
        .map(|(t, name, _)| (*t, Signal::Alarm(name.clone())))
        .min_by_key(|(t, _)| *t);
    let probe_detection = expected
        .detected_by
        .iter()
        .filter(|name| is_probe(probes, name))
        .filter_map(|name| histories.get(name)?.first_failure_after(fault_start).map(|t| (t, Signal::Probe(name.clone()))))
        .min_by_key(|(t, _)| *t);
    let detection = match (alarm_detection, probe_detection) {
        (Some(a), Some(p)) => Some(if a.0 <= p.0 { a } else { p }),
        (a, p) => a.or(p),
    };

    // A failover verdict judges an RTO: counted from the fault's start, with
    // the deadline while the fault is still in place (or on probes meant to
    // fail during it). A later deadline asks about the fail-back too, and
    // `stays_healthy` allows no failure at all.
    let judges_failover = match kind {
        ExpectationKind::FailsOver => true,
        ExpectationKind::RecoversWithin => expected.from == ClockStart::Start && span.end.is_none_or(|e| deadline <= e),
        ExpectationKind::StaysHealthy => false,
    };
    // Every probe meant to fail during the fault ("failing means it moved")
    // makes a failover expectation whatever the fault (a `db_failover`'s
    // writer, a zonal shift's traffic): with no verdict it would be met with
    // nothing measured.
    let failover = ((kind == ExpectationKind::FailsOver || is_failover_fault(faults, &fault)) && judges_failover).then(|| {
        let effective = fault_span.is_some() && fault_took_effect(histories, alarm_changes, span.start, fault_end);
        failover(expected, probes, &judged, histories, span, deadline.min(fault_end), effective, end)
    });

    let mut time_to_recover = if any_failure { recovered_at.map(|r| r.saturating_sub(start)) } else { Some(0) };
    let mut misses = Vec::new();
    // The clock ran when its fault started and, for `from: revert`, ended.
    let clock_ran = fault_span.is_some() && (expected.from == ClockStart::Start || span.end.is_some());
    if fault_span.is_none() {
        misses.push(format!("the fault `{fault}` never started"));
    } else if expected.from == ClockStart::Revert && span.end.is_none() {
        misses.push(format!("the fault `{fault}` was never reverted, so the clock from its revert never started"));
    }
    match kind {
        ExpectationKind::RecoversWithin => match (any_failure, recovered_at, first_back) {
            (true, None, Some(back)) if back <= deadline => misses.push(format!(
                "back {} after {}, then failing again at the end of the run — must stay healthy to the end",
                fmt_ms(back.saturating_sub(start)),
                clock_name(expected.from)
            )),
            (true, None, _) => misses.push(format!("not recovered by the end of the run ({} after {})", fmt_ms(end.saturating_sub(start)), clock_name(expected.from))),
            (true, Some(r), Some(back)) if r > deadline && back <= deadline => misses.push(format!(
                "back after {}, then failed again (lasting recovery after {}) — must stay healthy to the end",
                fmt_ms(back.saturating_sub(start)),
                fmt_ms(r.saturating_sub(start))
            )),
            (true, Some(r), _) if r > deadline => misses.push(format!("recovered after {} — deadline {}", fmt_ms(r.saturating_sub(start)), fmt_ms(expected.within().as_millis()))),
            _ => {}
        },
        ExpectationKind::StaysHealthy => {
            if let Some(first) = expected.probes.iter().filter_map(|n| judged[n.as_str()].first_failure_in(fault_start, Some(fault_end.saturating_add(1))).map(|t| (t, n))).min() {
                misses.push(format!("`{}` failed {} after the fault started, while it was in place — must stay healthy", first.1, fmt_ms(first.0.saturating_sub(fault_start))));
            }
        }
        // A failover expectation is judged by its failover verdict below.
        ExpectationKind::FailsOver => {
            time_to_recover = failover.as_ref().and_then(|f| f.time_to_fail_over);
            recovered_at = time_to_recover.map(|t| fault_start.saturating_add(t));
            // A failover is judged by its clients' moves, not by a run of passes.
            confirmed_at = None;
        }
    }
    if let Some(f) = failover.as_ref().filter(|f| f.verdict != FailoverVerdict::Met) {
        let stuck: Vec<&str> = f.clients.iter().filter(|c| c.moved_at.is_none()).map(|c| c.probe.as_str()).collect();
        misses.push(match f.verdict {
            FailoverVerdict::FaultNotEffective => format!("failover: the fault `{fault}` never took effect (no probe failed and no alarm fired while it was in place)"),
            FailoverVerdict::DidNotFailOver => "failover: did not fail over (no client moved while the fault was in place)".to_string(),
            FailoverVerdict::Partial => format!("failover: partial ({} did not move)", stuck.join(", ")),
            _ => format!("failover: too slow ({} — deadline {})", f.time_to_fail_over.map_or("—".into(), fmt_ms), fmt_ms(f.deadline.saturating_sub(fault_start))),
        });
    }
    if let Some(limit) = expected.detected_within {
        match &detection {
            Some((t, by)) if t.saturating_sub(fault_start) > limit.as_millis() => {
                misses.push(format!("detected after {} by {by} — limit {}", fmt_ms(t.saturating_sub(fault_start)), fmt_ms(limit.as_millis())))
            }
            None if any_failure || kind == ExpectationKind::FailsOver => misses.push(format!("never detected by {}", expected.detected_by.join(", "))),
            _ => {}
        }
    }
    if let Some(budget) = &expected.max_impact {
        if let Some(limit) = budget.downtime.filter(|l| downtime > l.as_millis()) {
            misses.push(format!("down for {} — budget {}", fmt_ms(downtime), fmt_ms(limit.as_millis())));
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
    let measured = any_failure || kind == ExpectationKind::FailsOver;
    let objective = expected.objective.zip(expected.resolved_objective.as_ref()).map(|(class, objective)| {
        let counts_requests = expected.max_impact.as_ref().is_some_and(|b| b.requests.is_some());
        let failover_met = failover.as_ref().map(|f| f.verdict == FailoverVerdict::Met);
        ObjectiveResult::of(objective, class, time_to_recover.filter(|_| clock_ran), failover_met, error_rate, counts_requests)
    });
    ExpectationResult {
        name: expected.name.clone(),
        probes: expected.probes.clone(),
        kind,
        fault,
        fault_start,
        from: expected.from,
        clock_start: start,
        deadline,
        impact_start,
        detected_at,
        detected_by: detection.map(|d| d.1),
        detection_signals: expected.detected_by.clone(),
        recovered_at,
        confirmed_at,
        time_to_detect: detected_at.map(|t| t.saturating_sub(fault_start)),
        detected_after_impact: detected_at.zip(impact_start).map(|(d, i)| d.saturating_sub(i)),
        time_to_recover,
        impact_duration: match (impact_start, recovered_at) {
            (Some(i), Some(r)) => Some(r.saturating_sub(i)),
            _ => None,
        },
        downtime,
        intended,
        error_rate,
        failover,
        error_rate_source,
        probe_error_rate,
        predicted,
        prediction_error: match (predicted, time_to_recover) {
            (Some(p), Some(actual)) if measured => Some(i64::try_from(actual).unwrap_or(i64::MAX) - i64::try_from(p).unwrap_or(i64::MAX)),
            _ => None,
        },
        objective,
        met: misses.is_empty(),
        misses,
    }
}

/// Whether `fault` moves traffic between regions or records, so its
/// `recovers_within` expectations counted from its start get a failover
/// verdict too (a `fails_over` one gets it on any fault).
fn is_failover_fault(faults: &[Fault], fault: &str) -> bool {
    faults.iter().any(|f| f.name == fault && matches!(f.action, FaultAction::DnsFailover { .. } | FaultAction::RegionOutage { .. }))
}

/// Whether anything showed the fault in place during `[from, to)`: a
/// failing sample of any probe of the scenario, or an alarm entering ALARM.
fn fault_took_effect(histories: &BTreeMap<String, ProbeHistory>, alarm_changes: &[(Millis, String, AlarmState)], from: Millis, to: Millis) -> bool {
    histories.values().any(|h| h.first_failure_in(from, Some(to)).is_some()) || alarm_changes.iter().any(|(t, _, state)| *t >= from && *t < to && *state == AlarmState::Alarm)
}

/// The failover verdict of one expectation (docs/metrics.md, "Failover verdicts").
#[allow(clippy::too_many_arguments)]
fn failover(
    expected: &ExpectedRecovery,
    probes: &[Probe],
    judged: &BTreeMap<&str, Cow<'_, ProbeHistory>>,
    raw: &BTreeMap<String, ProbeHistory>,
    span: FaultSpan,
    deadline: Millis,
    effective: bool,
    end: Millis,
) -> Failover {
    let fault_end = span.end.unwrap_or(end);
    let clients: Vec<ClientMove> = expected
        .probes
        .iter()
        .map(|name| {
            let probe = probes.iter().find(|p| p.name == *name);
            let moved = if probe.is_some_and(|p| p.expected_during_fault) {
                raw.get(name).and_then(|h| h.first_settled_failure_after(span.start)).filter(|t| *t < fault_end)
            } else {
                // A referee probe moved when it recovered while the fault was
                // still in place; recovering only after the revert is not a failover.
                let mut during = judged[name.as_str()].clone().into_owned();
                during.keep_sent_before(fault_end);
                match during.first_failure_after(span.start) {
                    None => Some(span.start),
                    Some(_) => during.recovered_at(span.start, probe.map_or(1, Probe::passes_to_recover)),
                }
            };
            ClientMove { probe: name.clone(), moved_at: moved }
        })
        .collect();
    let moved = clients.iter().filter(|c| c.moved_at.is_some()).count();
    let last = clients.iter().filter_map(|c| c.moved_at).max();
    let verdict = if !effective {
        FailoverVerdict::FaultNotEffective
    } else if moved == 0 {
        FailoverVerdict::DidNotFailOver
    } else if moved < clients.len() {
        FailoverVerdict::Partial
    } else if last.is_some_and(|l| l > deadline) {
        FailoverVerdict::TooSlow
    } else {
        FailoverVerdict::Met
    };
    let time_to_fail_over = if moved == clients.len() { last.map(|l| l.saturating_sub(span.start)) } else { None };
    Failover { verdict, deadline, clients, time_to_fail_over }
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
            from: ClockStart::Start,
            recovers_within: Some(Duration::from_secs(within)),
            stays_healthy: false,
            detected_within: Some(Duration::from_secs(15)),
            detected_by: vec![],
            max_impact: None,
            predicted: Some(Duration::from_secs(40)),
            objective: None,
            resolved_objective: None,
        }
    }

    fn probe() -> Probe {
        serde_saphyr::from_str("name: p\nkind: asg_capacity\ngroup: g\nmin_in_service: 1\nhealthy_after: 2\n").unwrap()
    }

    fn faults() -> Vec<Fault> {
        vec![serde_saphyr::from_str("name: f\nkind: stop_instances\ntargets: { ids: [i-1] }\nduration: 30s\n").unwrap()]
    }

    fn spans(start: Millis) -> FaultSpans {
        FaultSpans::from([("f".to_string(), FaultSpan { start, end: Some(start.saturating_add(30_000)) })])
    }

    fn page() -> Probe {
        serde_saphyr::from_str("name: page\nkind: asg_capacity\ngroup: g\nmin_in_service: 1\n").unwrap()
    }

    #[test]
    fn measures_detection_recovery_and_impact() {
        // 10 s samples; fault at 10 s; failing at 20–40 s, a pass at 50 s, a failure at 60 s, healthy from 70 s on.
        // The team's pager (a probe named in `detected_by`) fires at 20 s: the worked example of docs/metrics.md.
        let histories = BTreeMap::from([("p".to_string(), history("++---+-+++", 10_000)), ("page".to_string(), history("++-+++++++", 10_000))]);
        let starts = spans(10_000);
        let expected = ExpectedRecovery { detected_by: vec!["page".into()], ..expectation(60) };
        let result = evaluate(&expected, &faults(), &[probe(), page()], &histories, &[], &starts, 100_000);
        assert_eq!(result.impact_start, Some(20_000));
        assert_eq!(result.time_to_detect, Some(10_000));
        assert_eq!(result.detected_by, Some(Signal::Probe("page".into())));
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
        let starts = spans(10_000);
        // No signal named: detection is not measured, although `p` failed at 20 s.
        let unmeasured = evaluate(&ExpectedRecovery { detected_within: None, ..expectation(60) }, &faults(), &[probe()], &histories, &[], &starts, 100_000);
        assert_eq!((unmeasured.detected_at, unmeasured.time_to_detect), (None, None));
        assert!(unmeasured.met, "{:?}", unmeasured.misses);
        // An alarm that fires at 45 s detects at 45 s, 25 s after the impact, and misses the 15 s limit.
        let alarm = ExpectedRecovery { detected_by: vec!["web-5xx".into()], ..expectation(60) };
        let result = evaluate(&alarm, &faults(), &[probe()], &histories, &[(45_000, "web-5xx".into(), AlarmState::Alarm)], &starts, 100_000);
        assert_eq!((result.time_to_detect, result.detected_after_impact), (Some(35_000), Some(25_000)));
        assert_eq!(result.misses, vec!["detected after 35s by alarm web-5xx — limit 15s".to_string()]);
        // An alarm that never fires: never detected.
        let silent = evaluate(&alarm, &faults(), &[probe()], &histories, &[], &starts, 100_000);
        assert_eq!(silent.misses, vec!["never detected by web-5xx".to_string()]);
    }

    /// A metric probe's samples every 60 s, each reading (failed, requests) of the 60 s before it.
    fn requests(readings: &[Option<(f64, f64)>]) -> ProbeHistory {
        let mut history = ProbeHistory::default();
        for (i, reading) in readings.iter().enumerate() {
            let reading = reading.map(|(value, total)| crate::vocab::MetricReading { value, divided_by: Some(total), period_ms: 60_000 });
            history.push(&crate::vocab::Sample {
                probe: "r".into(),
                sent_at: i as Millis * 60_000,
                latency_ms: 1,
                ok: true,
                observed: String::new(),
                unsettled: false,
                lateness_us: 0,
                reading,
            });
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
            "not available: metric probe `r` counted no requests from the clock's start to recovery"
        );
    }

    #[test]
    fn an_error_budget_is_judged_on_requests_and_a_sample_budget_on_samples() {
        // The probe fails at 20 s and recovers at 30 s: one failing sample of the two
        // in the window (50 %), while 0.5 % of the requests failed in the period that holds it.
        let histories =
            BTreeMap::from([("p".to_string(), history("++-+++++", 10_000)), ("r".to_string(), requests(&[Some((0.0, 1000.0)), Some((5.0, 1000.0)), Some((0.0, 1000.0))]))]);
        let starts = spans(10_000);
        let budget = |error_rate, probe_error_rate| ExpectedRecovery {
            max_impact: Some(crate::scenario::ImpactBudget { downtime: None, error_rate, requests: error_rate.map(|_| "r".to_string()), probe_error_rate }),
            detected_within: None,
            ..expectation(60)
        };
        let on_requests = evaluate(&budget(Some(1.0), None), &faults(), &[probe()], &histories, &[], &starts, 80_000);
        assert_eq!((on_requests.error_rate, on_requests.met), (Some(0.5), true), "{:?}", on_requests.misses);
        assert_eq!(on_requests.probe_error_rate, 50.0, "samples at 10 and 20 s: one of two failed");
        let on_samples = evaluate(&budget(None, Some(1.0)), &faults(), &[probe()], &histories, &[], &starts, 80_000);
        assert_eq!(on_samples.error_rate, None);
        assert_eq!(on_samples.misses, vec!["50.0% of probe samples failed — budget 1%".to_string()]);
    }

    #[test]
    fn misses_deadlines_and_budgets() {
        let histories = BTreeMap::from([("p".to_string(), history("++---+-+++", 10_000))]);
        let starts = spans(10_000);
        let result = evaluate(&expectation(30), &faults(), &[probe()], &histories, &[], &starts, 100_000);
        assert!(!result.met);
        assert!(result.misses[0].contains("deadline 30s"), "{:?}", result.misses);
    }

    #[test]
    fn an_objective_is_met_by_a_lasting_recovery_within_its_rto_and_never_by_a_clock_that_did_not_run() {
        let zone = Objective { rto: Duration::from_secs(60), rpo: Some(Duration::from_secs(30)), availability: Some(99.0) };
        let judged = |within: u64, pattern: &str, from: ClockStart, starts: &FaultSpans| {
            let mut e = ExpectedRecovery { objective: Some(DisruptionClass::Zone), resolved_objective: Some(zone), from, detected_within: None, ..expectation(within) };
            e.max_impact = Some(crate::scenario::ImpactBudget { downtime: None, error_rate: Some(1.0), requests: Some("r".into()), probe_error_rate: None });
            let histories = BTreeMap::from([("p".to_string(), history(pattern, 10_000))]);
            evaluate(&e, &faults(), &[probe()], &histories, &[], starts, 100_000).objective.unwrap()
        };
        // Back at 70 s, 60 s after the fault at 10 s: met, at the RTO.
        let met = judged(60, "++---+-+++", ClockStart::Start, &spans(10_000));
        assert_eq!((met.achieved_rto, met.rto_met, met.rpo), (Some(60_000), true, Some(30_000)));
        // A named request count that read nothing: the availability is missed, not passed.
        assert_eq!((met.achieved_availability, met.availability_met), (None, Some(false)));
        // Back by the RTO, then failing at the end: not met (the recovery did not last).
        let relapse = judged(60, "++--++---", ClockStart::Start, &spans(10_000));
        assert_eq!((relapse.achieved_rto, relapse.rto_met), (None, false));
        // `from: revert` on a fault never reverted: its clock never ran, nothing was achieved.
        let never = FaultSpans::from([("f".to_string(), FaultSpan { start: 10_000, end: None })]);
        let unreverted = judged(60, "++++++++++", ClockStart::Revert, &never);
        assert_eq!((unreverted.achieved_rto, unreverted.rto_met), (None, false));
    }

    #[test]
    fn no_impact_is_met_with_zero_recovery() {
        let histories = BTreeMap::from([("p".to_string(), history("+++++", 10_000))]);
        let starts = spans(10_000);
        let result = evaluate(&expectation(30), &faults(), &[probe()], &histories, &[], &starts, 50_000);
        assert!(result.met);
        assert_eq!(result.time_to_recover, Some(0));
        assert_eq!(result.impact_start, None);
    }

    #[test]
    fn a_fault_at_the_end_of_time_does_not_overflow() {
        let histories = BTreeMap::from([("p".to_string(), history("+-+++", 10_000))]);
        let starts = spans(Millis::MAX);
        let result = evaluate(&expectation(30), &faults(), &[probe()], &histories, &[(Millis::MAX, "a".into(), AlarmState::Alarm)], &starts, 40_000);
        assert_eq!(result.deadline, Millis::MAX);
        assert_eq!(result.impact_start, None);
        assert!(result.met, "{:?}", result.misses);
    }
}
