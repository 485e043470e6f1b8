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

/// One sample as the measure reads it: when it was sent, how long its
/// answer took, and whether it passed. The text it observed stays in the
/// journal: no figure is computed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub sent_at: Millis,
    pub latency_ms: Millis,
    pub ok: bool,
}

impl From<&Sample> for Point {
    fn from(sample: &Sample) -> Self {
        Point { sent_at: sample.sent_at, latency_ms: sample.latency_ms, ok: sample.ok }
    }
}

/// Every sample of one probe, in the order taken, as [`Point`]s (24 bytes
/// each, against some 200 for a [`Sample`] with its strings: issue 18), and
/// the readings of the few that read a metric.
#[derive(Clone, Debug, Default)]
pub struct ProbeHistory {
    pub samples: Vec<Point>,
    /// `(index in samples, reading)` of each sample that read a metric, in order.
    readings: Vec<(usize, MetricReading)>,
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
    pub fn push(&mut self, sample: &Sample) {
        if let Some(reading) = sample.reading {
            self.readings.push((self.samples.len(), reading));
        }
        self.samples.push(Point::from(sample));
    }

    /// Each sample with what it read, if anything, in order.
    pub fn with_readings(&self) -> impl Iterator<Item = (&Point, Option<MetricReading>)> {
        let mut readings = self.readings.iter().peekable();
        self.samples.iter().enumerate().map(move |(index, point)| (point, readings.next_if(|(i, _)| *i == index).map(|(_, reading)| *reading)))
    }

    /// Keeps only the samples sent before `end`, with their readings.
    pub fn keep_sent_before(&mut self, end: Millis) {
        let kept: Vec<(Point, Option<MetricReading>)> = self.with_readings().filter(|(p, _)| p.sent_at < end).map(|(p, r)| (*p, r)).collect();
        self.samples.clear();
        self.readings.clear();
        for (point, reading) in kept {
            if let Some(reading) = reading {
                self.readings.push((self.samples.len(), reading));
            }
            self.samples.push(point);
        }
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
    pub fn window(&self, from: Millis, to: Millis) -> Vec<&Point> {
        self.samples.iter().filter(|s| s.sent_at >= from && s.sent_at <= to).collect()
    }

    /// The first failing sample at or after `from`.
    pub fn first_failure_after(&self, from: Millis) -> Option<&Point> {
        self.samples.iter().find(|s| s.sent_at >= from && !s.ok)
    }

    /// The recovery point after `from`: the first sample of the earliest run
    /// of `healthy_after` consecutive passes that no later failure breaks
    /// (see docs/metrics.md). `None` while not recovered.
    pub fn recovered_at(&self, from: Millis, healthy_after: usize) -> Option<Millis> {
        let after: Vec<&Point> = self.samples.iter().filter(|s| s.sent_at >= from).collect();
        let last_failure = after.iter().rposition(|s| !s.ok)?;
        let streak = &after[last_failure + 1..];
        (streak.len() >= healthy_after.max(1)).then(|| streak[0].sent_at)
    }

    /// When the recovery after `from` was confirmed: the answer to the
    /// `healthy_after`-th pass of the lasting run that begins at
    /// [`recovered_at`](Self::recovered_at) (its send time plus its latency).
    /// `None` while not recovered.
    pub fn confirmed_at(&self, from: Millis, healthy_after: usize) -> Option<Millis> {
        let after: Vec<&Point> = self.samples.iter().filter(|s| s.sent_at >= from).collect();
        let last_failure = after.iter().rposition(|s| !s.ok)?;
        let confirming = after[last_failure + 1..].get(healthy_after.max(1) - 1)?;
        Some(confirming.sent_at.saturating_add(confirming.latency_ms))
    }

    /// Total time spent failing in `[from, to)`: each failing sample counts
    /// until the next sample (or `to`).
    pub fn failing_time(&self, from: Millis, to: Millis) -> Millis {
        let relevant: Vec<&Point> = self.samples.iter().filter(|s| s.sent_at >= from && s.sent_at < to).collect();
        // Saturating: samples out of order in a damaged journal could otherwise sum past u64::MAX.
        relevant
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.ok)
            .map(|(i, s)| relevant.get(i + 1).map_or(to, |next| next.sent_at).saturating_sub(s.sent_at))
            .fold(0, Millis::saturating_add)
    }
}

/// What the run loop needs of one probe while the run goes on, kept in
/// memory that does not grow with the run's length (issue 18): the last
/// sample, the failing streak, the latest failure and the passes since,
/// and the outcomes of the last `window` ms (an error-rate stop condition).
/// Every sample goes to the journal; the measure reads it back from there
/// into [`ProbeHistory`].
///
/// It answers the live questions as [`ProbeHistory`] does (the property
/// test `a_track_answers_as_the_history_does` holds them equal), for samples
/// pushed in the order they were sent, which is how one probe is sampled:
/// each sample is sent after the previous one.
#[derive(Clone, Debug, Default)]
pub struct ProbeTrack {
    /// How far back `recent` reaches, from the latest sample's send time
    /// (`None`: nothing is kept).
    window: Option<Millis>,
    /// Send time and outcome of the samples sent within `window` of the latest.
    recent: std::collections::VecDeque<(Millis, bool)>,
    first_sent_at: Option<Millis>,
    last: Option<Sample>,
    failing_since: Option<Millis>,
    /// The latest send time of a failing sample.
    latest_failure: Option<Millis>,
    /// Passes since the last failing sample (or since the first sample).
    passes: usize,
}

impl ProbeTrack {
    /// A track that keeps the outcomes of the last `window` ms, if any.
    pub fn with_window(window: Option<Millis>) -> Self {
        ProbeTrack { window, ..ProbeTrack::default() }
    }

    pub fn push(&mut self, sample: Sample) {
        let sent_at = sample.sent_at;
        self.first_sent_at.get_or_insert(sent_at);
        if sample.ok {
            self.failing_since = None;
            self.passes += 1;
        } else {
            self.failing_since.get_or_insert(sent_at);
            self.latest_failure = Some(self.latest_failure.map_or(sent_at, |t| t.max(sent_at)));
            self.passes = 0;
        }
        if let Some(window) = self.window {
            self.recent.push_back((sent_at, sample.ok));
            // A window ends at the time it is judged, never before the latest send.
            let oldest = sent_at.saturating_sub(window);
            while self.recent.front().is_some_and(|(t, _)| *t < oldest) {
                self.recent.pop_front();
            }
        }
        self.last = Some(sample);
    }

    /// As [`ProbeHistory::state`].
    pub fn state(&self) -> ProbeState {
        match &self.last {
            None => ProbeState::Unknown,
            Some(s) if s.ok => ProbeState::Healthy,
            Some(_) => ProbeState::Failing,
        }
    }

    pub fn last(&self) -> Option<&Sample> {
        self.last.as_ref()
    }

    /// As [`ProbeHistory::first_sample_at`].
    pub fn first_sample_at(&self) -> Option<Millis> {
        self.first_sent_at
    }

    /// As [`ProbeHistory::failing_since`].
    pub fn failing_since(&self) -> Option<Millis> {
        self.failing_since
    }

    /// Whether a sample sent at or after `from` failed: as
    /// [`ProbeHistory::first_failure_after`] being `Some`.
    pub fn failed_since(&self, from: Millis) -> bool {
        self.latest_failure.is_some_and(|t| t >= from)
    }

    /// Whether the probe has recovered since `from`: as
    /// [`ProbeHistory::recovered_at`] being `Some`.
    pub fn recovered_since(&self, from: Millis, healthy_after: usize) -> bool {
        self.failed_since(from) && self.passes >= healthy_after.max(1)
    }

    /// How many samples were sent in `[from, to]` and how many of them
    /// failed: as [`ProbeHistory::window`], for `from` no earlier than
    /// `window` before the latest sample.
    pub fn window_counts(&self, from: Millis, to: Millis) -> (usize, usize) {
        self.recent.iter().filter(|(t, _)| *t >= from && *t <= to).fold((0, 0), |(all, failed), (_, ok)| (all + 1, failed + usize::from(!ok)))
    }
}

/// A history from a pattern such as `++--+`, one sample per `step` ms.
#[cfg(test)]
pub(crate) fn history_from_pattern(pattern: &str, step: Millis) -> ProbeHistory {
    let mut h = ProbeHistory::default();
    for (i, c) in pattern.chars().enumerate() {
        h.push(&Sample { probe: "p".into(), sent_at: i as Millis * step, latency_ms: 1, ok: c == '+', observed: String::new(), lateness_us: 0, reading: None });
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
            h.push(&Sample { probe: "p".into(), sent_at, latency_ms: 1, ok, observed: String::new(), lateness_us: 0, reading: None });
        }
        assert_eq!(h.failing_time(0, Millis::MAX), Millis::MAX);
    }

    proptest::proptest! {
        #[test]
        fn a_track_answers_as_the_history_does(
            steps in proptest::collection::vec((0u64..3_000, proptest::bool::ANY), 0..60),
            window in 0u64..5_000,
            from in 0u64..40_000,
            healthy_after in 0usize..4,
            ahead in 0u64..2_000,
        ) {
            let mut history = ProbeHistory::default();
            let mut track = ProbeTrack::with_window(Some(window));
            let mut sent_at = 0;
            for (gap, ok) in steps {
                sent_at += gap;
                let sample = Sample { probe: "p".into(), sent_at, latency_ms: 1, ok, observed: format!("{ok}"), lateness_us: 0, reading: None };
                history.push(&sample);
                track.push(sample);
                proptest::prop_assert_eq!(track.state(), history.state());
                proptest::prop_assert_eq!(track.last().map(Point::from), history.samples.last().copied());
                proptest::prop_assert_eq!(track.first_sample_at(), history.first_sample_at());
                proptest::prop_assert_eq!(track.failing_since(), history.failing_since());
                proptest::prop_assert_eq!(track.failed_since(from), history.first_failure_after(from).is_some());
                proptest::prop_assert_eq!(track.recovered_since(from, healthy_after), history.recovered_at(from, healthy_after).is_some());
                // Judged at any time from the latest send on, over the track's window.
                let now = sent_at + ahead;
                let since = now.saturating_sub(window);
                let expected = history.window(since, now);
                proptest::prop_assert_eq!(track.window_counts(since, now), (expected.len(), expected.iter().filter(|s| !s.ok).count()));
            }
        }
    }

    #[test]
    fn failing_since_and_time() {
        let h = history("++---", 10);
        assert_eq!(h.failing_since(), Some(20));
        assert_eq!(h.failing_time(0, 50), 30);
        assert_eq!(history("+-+", 10).failing_since(), None);
    }
}
