//! Steady-state checks over time: the samples of each probe and what they
//! say (healthy, failing since when, recovered when).
//!
//! Architecture invariant: this module knows nothing of which environment
//! answered the samples.

use serde::Serialize;

use crate::vocab::{MetricReading, Millis, Sample};

/// What an HTTP answer fails of a probe's expectations (empty: it passes).
/// One judgement for the simulator and for real requests.
pub fn http_problems(check: &crate::scenario::ProbeCheck, code: u16, body: &str, latency_ms: Millis) -> Vec<String> {
    let crate::scenario::ProbeCheck::Http { status, body_contains, body_matches, max_latency, .. } = check else { return Vec::new() };
    let (low, high) = status.as_ref().and_then(crate::scenario::StatusExpectation::bounds).unwrap_or((200, 399));
    let mut problems = Vec::new();
    if !(low..=high).contains(&code) {
        problems.push(format!("status {code}"));
    }
    if body_contains.as_ref().is_some_and(|needle| !body.contains(needle.as_str())) {
        problems.push("body lacks the expected text".to_string());
    }
    if body_matches.as_ref().and_then(|p| regex::Regex::new(p).ok()).is_some_and(|re| !re.is_match(body)) {
        problems.push("body does not match".to_string());
    }
    if max_latency.is_some_and(|max| latency_ms > max.as_millis()) {
        problems.push(format!("slow: {latency_ms}ms"));
    }
    problems
}

/// The verdict and the observed text of a `metric` probe on one reading.
/// One judgement for the simulator and for CloudWatch. A ratio is a
/// percentage; a ratio over no requests, or a metric with no datapoints, has
/// no value and fails: an unknown is never called healthy.
pub fn metric_verdict(check: &crate::scenario::ProbeCheck, reading: &MetricReading) -> (bool, String) {
    let crate::scenario::ProbeCheck::Metric { metric, divided_by, above, below, .. } = check else { return (false, String::new()) };
    let period = crate::vocab::fmt_ms(reading.period_ms);
    let shown = |v: f64| if v.fract() == 0.0 { format!("{v}") } else { format!("{v:.2}") };
    let (value, text) = match (divided_by, reading.divided_by) {
        (None, _) => (Some(reading.value), format!("{} = {} over {period}", metric.names().join(" + "), shown(reading.value))),
        (Some(per), Some(d)) if d > 0.0 => {
            let percent = 100.0 * reading.value / d;
            (Some(percent), format!("{percent:.2}% ({} {} / {} {per} over {period})", shown(reading.value), metric.names().join(" + "), shown(d)))
        }
        (Some(per), _) => (None, format!("no {per} over {period}")),
    };
    let Some(value) = value else { return (false, text) };
    let mut wanted = Vec::new();
    let mut ok = true;
    if let Some(limit) = above {
        ok &= value <= *limit;
        wanted.push(format!("≤ {limit}"));
    }
    if let Some(limit) = below {
        ok &= value >= *limit;
        wanted.push(format!("≥ {limit}"));
    }
    if wanted.is_empty() { (true, text) } else { (ok, format!("{text} (want {})", wanted.join(" and "))) }
}

/// Every sample of one probe, in the order taken.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProbeHistory {
    pub samples: Vec<Sample>,
}

/// A probe's state for people: shown live and in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeState {
    Unknown,
    Healthy,
    Failing,
}

impl ProbeState {
    /// The mark live displays show for the state.
    pub fn mark(self) -> &'static str {
        match self {
            ProbeState::Healthy => "✔",
            ProbeState::Failing => "✘",
            ProbeState::Unknown => "·",
        }
    }
}

impl ProbeHistory {
    pub fn push(&mut self, sample: Sample) {
        self.samples.push(sample);
    }

    pub fn state(&self) -> ProbeState {
        match self.samples.last() {
            None => ProbeState::Unknown,
            Some(s) if s.ok => ProbeState::Healthy,
            Some(_) => ProbeState::Failing,
        }
    }

    pub fn first_sample_at(&self) -> Option<Millis> {
        self.samples.first().map(|s| s.sent_at)
    }

    /// When the current run of failing samples began; `None` when the last sample passed.
    pub fn failing_since(&self) -> Option<Millis> {
        if self.samples.last().is_none_or(|s| s.ok) {
            return None;
        }
        let streak_start = self.samples.iter().rposition(|s| s.ok).map_or(0, |i| i + 1);
        self.samples.get(streak_start).map(|s| s.sent_at)
    }

    /// How many samples in a row have passed, counting back from the last.
    pub fn consecutive_passes(&self) -> usize {
        self.samples.iter().rev().take_while(|s| s.ok).count()
    }

    /// Samples sent in `[from, to]`.
    pub fn window(&self, from: Millis, to: Millis) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.sent_at >= from && s.sent_at <= to).collect()
    }

    /// The first failing sample at or after `from`.
    pub fn first_failure_after(&self, from: Millis) -> Option<&Sample> {
        self.samples.iter().find(|s| s.sent_at >= from && !s.ok)
    }

    /// The recovery point after `from`: the first sample of the earliest run
    /// of `healthy_after` consecutive passes that no later failure breaks
    /// (see docs/metrics.md). `None` while not recovered.
    pub fn recovered_at(&self, from: Millis, healthy_after: usize) -> Option<Millis> {
        let after: Vec<&Sample> = self.samples.iter().filter(|s| s.sent_at >= from).collect();
        let last_failure = after.iter().rposition(|s| !s.ok)?;
        let streak = &after[last_failure + 1..];
        (streak.len() >= healthy_after.max(1)).then(|| streak[0].sent_at)
    }

    /// When the recovery after `from` was confirmed: the answer to the
    /// `healthy_after`-th pass of the lasting run that begins at
    /// [`recovered_at`](Self::recovered_at) (its send time plus its latency).
    /// `None` while not recovered.
    pub fn confirmed_at(&self, from: Millis, healthy_after: usize) -> Option<Millis> {
        let after: Vec<&Sample> = self.samples.iter().filter(|s| s.sent_at >= from).collect();
        let last_failure = after.iter().rposition(|s| !s.ok)?;
        let confirming = after[last_failure + 1..].get(healthy_after.max(1) - 1)?;
        Some(confirming.sent_at.saturating_add(confirming.latency_ms))
    }

    /// Total time spent failing in `[from, to)`: each failing sample counts
    /// until the next sample (or `to`).
    pub fn failing_time(&self, from: Millis, to: Millis) -> Millis {
        let relevant: Vec<&Sample> = self.samples.iter().filter(|s| s.sent_at >= from && s.sent_at < to).collect();
        // Saturating: samples out of order in a damaged journal could otherwise sum past u64::MAX.
        relevant
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.ok)
            .map(|(i, s)| relevant.get(i + 1).map_or(to, |next| next.sent_at).saturating_sub(s.sent_at))
            .fold(0, Millis::saturating_add)
    }
}

/// A history from a pattern such as `++--+`, one sample per `step` ms.
#[cfg(test)]
pub(crate) fn history_from_pattern(pattern: &str, step: Millis) -> ProbeHistory {
    let mut h = ProbeHistory::default();
    for (i, c) in pattern.chars().enumerate() {
        h.push(Sample { probe: "p".into(), sent_at: i as Millis * step, latency_ms: 1, ok: c == '+', observed: String::new(), lateness_us: 0, reading: None });
    }
    h
}

#[cfg(test)]
mod tests {
    use crate::scenario::ProbeCheck;

    fn metric(extra: &str) -> ProbeCheck {
        let probe: crate::scenario::Probe =
            serde_saphyr::from_str(&format!("name: m\nkind: metric\nnamespace: AWS/ApplicationELB\nmetric: [HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count]\n{extra}")).unwrap();
        probe.check
    }

    #[test]
    fn a_metric_reading_is_judged_against_its_thresholds() {
        let reading = |value, divided_by| MetricReading { value, divided_by, period_ms: 60_000 };
        let ratio = metric("divided_by: RequestCount\nabove: 1\n");
        assert_eq!(
            metric_verdict(&ratio, &reading(5.0, Some(1000.0))),
            (true, "0.50% (5 HTTPCode_Target_5XX_Count + HTTPCode_ELB_5XX_Count / 1000 RequestCount over 1m00s) (want ≤ 1)".into())
        );
        assert!(!metric_verdict(&ratio, &reading(20.0, Some(1000.0))).0);
        // No requests: no value, and an unknown is not healthy.
        assert_eq!(metric_verdict(&ratio, &reading(0.0, None)), (false, "no RequestCount over 1m00s".into()));
        // Without a threshold the probe only measures.
        assert!(metric_verdict(&metric(""), &reading(7.0, None)).0);
        assert_eq!(metric_verdict(&metric("below: 10\n"), &reading(7.0, None)), (false, "HTTPCode_Target_5XX_Count + HTTPCode_ELB_5XX_Count = 7 over 1m00s (want ≥ 10)".into()));
    }

    use super::*;

    fn history(pattern: &str, step: Millis) -> ProbeHistory {
        history_from_pattern(pattern, step)
    }

    #[test]
    fn confirmation_is_the_answer_to_the_last_pass_the_recovery_needs() {
        // Samples every 10 s, 1 ms latency: the lasting run begins at 50 s; with healthy_after 3 the third pass (70 s) confirms it.
        let h = history_from_pattern("++--+++++", 10_000);
        assert_eq!(h.recovered_at(0, 3), Some(40_000));
        assert_eq!(h.confirmed_at(0, 3), Some(60_001));
        assert_eq!(h.confirmed_at(0, 6), None, "five passes cannot confirm six");
        assert_eq!(history_from_pattern("++--", 10_000).confirmed_at(0, 1), None);
    }

    #[test]
    fn recovery_is_the_first_sample_of_the_lasting_streak() {
        // index:    0123456789
        let h = history("++--+-+++", 10);
        assert_eq!(h.recovered_at(0, 3), Some(60));
        assert_eq!(h.recovered_at(0, 4), None);
        // A probe that never failed has no recovery point to measure.
        assert_eq!(history("++++", 10).recovered_at(0, 3), None);
    }

    #[test]
    fn failing_time_of_samples_out_of_order_saturates() {
        // A damaged journal: failures at T+0 each followed by a pass near the end of time.
        let mut h = ProbeHistory::default();
        for (sent_at, ok) in [(0, false), (Millis::MAX - 1, true), (0, false), (Millis::MAX - 1, true)] {
            h.push(Sample { probe: "p".into(), sent_at, latency_ms: 1, ok, observed: String::new(), lateness_us: 0, reading: None });
        }
        assert_eq!(h.failing_time(0, Millis::MAX), Millis::MAX);
    }

    #[test]
    fn failing_since_and_time() {
        let h = history("++---", 10);
        assert_eq!(h.failing_since(), Some(20));
        assert_eq!(h.failing_time(0, 50), 30);
        assert_eq!(history("+-+", 10).failing_since(), None);
    }
}
