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
    // The body is not quoted: a server may echo the request's headers, credentials included (docs/safety.md).
    if let Some(pattern) = body_matches.as_deref().filter(|p| !pattern_matches(p, body)) {
        problems.push(format!("body does not match `{pattern}`"));
    }
    if max_latency.is_some_and(|max| latency_ms > max.as_millis()) {
        problems.push(format!("slow: {latency_ms}ms"));
    }
    problems
}

/// The text a `stdout_matches` or `body_matches` pattern is matched
/// against: the output without its trailing line endings (`\n`, `\r\n`),
/// so that `^ok$` matches what `echo ok` prints and a served file that ends
/// in a newline. Nothing else is trimmed (docs/scenarios.md).
pub fn text_to_match(output: &str) -> &str {
    output.trim_end_matches(['\n', '\r'])
}

/// Whether `pattern` matches `output` as docs/scenarios.md says
/// (`text_to_match`). A pattern that does not compile matches everything:
/// the scenario checks refused it before any run (`scenario::checks`).
pub fn pattern_matches(pattern: &str, output: &str) -> bool {
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(text_to_match(output)))
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

/// One run of a probe's samples: consecutive samples with the same verdict,
/// sent in order (each no earlier than the one before) and on the same side
/// of every cut time of its history.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Run {
    first: Millis,
    last: Millis,
    count: u64,
    ok: bool,
    /// Failing samples that read no settled state (`Sample::unsettled`).
    unsettled: bool,
    max_latency: Millis,
    /// Where this run's answer times (send time plus latency, for the first
    /// samples of the run, up to [`ProbeHistory::confirming`]) begin in
    /// [`ProbeHistory::answers`].
    answers_at: usize,
}

impl Run {
    /// How many of its answer times the run holds.
    fn answers(&self, confirming: usize) -> usize {
        usize::try_from(self.count).unwrap_or(usize::MAX).min(confirming)
    }
}

/// Where a history splits its runs.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cuts {
    /// Every sample is a run of its own: the history answers at any time,
    /// and holds about 50 bytes a sample (tests, and small histories).
    Every,
    /// No run holds samples on both sides of one of these times (sorted):
    /// the history answers exactly about these times, and between two of
    /// them it holds one run per change of verdict.
    At(Vec<Millis>),
}

/// Every sample of one probe, in the order taken, run-length encoded
/// (issue 18): consecutive samples with the same verdict are one [`Run`]
/// (first and last send time, count, longest latency, and the answer times
/// of its first `confirming` samples), so a history grows with the probe's
/// changes of verdict, not with its samples. The readings of the few
/// samples that read a metric are kept one by one.
///
/// What the measure reads of it are filters on send times ("sent at or
/// after the clock's start", "before the fault's end"). Those are exact at
/// the history's cut times: a run never straddles one, so a filter takes or
/// leaves it whole. The measure builds its histories cut at every time it
/// asks about (`run::metrics::asked_times`); at any other time a run counts
/// as sent at its first sample. The property test
/// `a_cut_history_answers_as_every_sample_does` holds every answer at the
/// cut times equal to that of the samples kept one by one.
#[derive(Clone, Debug)]
pub struct ProbeHistory {
    runs: Vec<Run>,
    answers: Vec<Millis>,
    /// How many answer times each run keeps: the most passes a recovery
    /// must confirm (`healthy_after`).
    confirming: usize,
    cuts: Cuts,
    /// `(send time, reading)` of each sample that read a metric, in order.
    readings: Vec<(Millis, MetricReading)>,
}

impl Default for ProbeHistory {
    fn default() -> Self {
        ProbeHistory { runs: Vec::new(), answers: Vec::new(), confirming: 1, cuts: Cuts::Every, readings: Vec::new() }
    }
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
    /// A history that answers exactly about each time of `cuts`, and that
    /// can confirm a recovery of up to `confirming` passes.
    pub fn cut_at(cuts: impl IntoIterator<Item = Millis>, confirming: usize) -> Self {
        let mut cuts: Vec<Millis> = cuts.into_iter().collect();
        cuts.sort_unstable();
        cuts.dedup();
        ProbeHistory { cuts: Cuts::At(cuts), confirming: confirming.max(1), ..ProbeHistory::default() }
    }

    /// Adds a time to answer exactly about from now on. Exact for the
    /// samples pushed after it, and for those before it unless the last
    /// run already holds samples on both sides of it.
    pub fn cut(&mut self, at: Millis) {
        if let Cuts::At(cuts) = &mut self.cuts
            && let Err(index) = cuts.binary_search(&at)
        {
            cuts.insert(index, at);
        }
    }

    /// Whether no run holds samples on both sides of `at` (sent before it
    /// and at or after it): every filter at `at` is then exact.
    pub fn exact_at(&self, at: Millis) -> bool {
        !self.runs.iter().any(|r| r.first < at && at <= r.last)
    }

    /// Whether `sample` may join the last run.
    fn joins(&self, run: &Run, sample: &Sample) -> bool {
        let Cuts::At(cuts) = &self.cuts else { return false };
        let sent_at = sample.sent_at;
        // A sample sent before the last one starts a run: within a run, send times only grow.
        if run.ok != sample.ok || run.unsettled != (sample.unsettled && !sample.ok) || sent_at < run.last || run.count == u64::MAX {
            return false;
        }
        let next_cut = cuts.partition_point(|c| *c <= run.last);
        cuts.get(next_cut).is_none_or(|c| *c > sent_at)
    }

    pub fn push(&mut self, sample: &Sample) {
        if let Some(reading) = sample.reading {
            self.readings.push((sample.sent_at, reading));
        }
        let answer = sample.sent_at.saturating_add(sample.latency_ms);
        match self.runs.last() {
            Some(run) if self.joins(run, sample) => {
                let keeps_answer = run.answers(self.confirming) < self.confirming;
                let run = self.runs.last_mut().expect("a last run");
                run.last = sample.sent_at;
                run.count += 1;
                run.max_latency = run.max_latency.max(sample.latency_ms);
                if keeps_answer {
                    self.answers.push(answer);
                }
            }
            _ => {
                self.runs.push(Run {
                    first: sample.sent_at,
                    last: sample.sent_at,
                    count: 1,
                    ok: sample.ok,
                    unsettled: sample.unsettled && !sample.ok,
                    max_latency: sample.latency_ms,
                    answers_at: self.answers.len(),
                });
                self.answers.push(answer);
            }
        }
    }

    /// How many samples the history holds.
    pub fn len(&self) -> u64 {
        self.runs.iter().map(|r| r.count).fold(0, u64::saturating_add)
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// How many of its samples failed.
    pub fn failures(&self) -> u64 {
        self.runs.iter().filter(|r| !r.ok).map(|r| r.count).fold(0, u64::saturating_add)
    }

    /// The longest latency of any sample (0 without samples).
    pub fn max_latency(&self) -> Millis {
        self.runs.iter().map(|r| r.max_latency).max().unwrap_or(0)
    }

    /// How many runs the history holds (for the figures of docs/performance.md).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// The runs sent in `[from, to)` (`to` `None`: no end), in order.
    fn runs_in(&self, from: Millis, to: Option<Millis>) -> impl DoubleEndedIterator<Item = &Run> + Clone {
        self.runs.iter().filter(move |r| r.first >= from && to.is_none_or(|to| r.first < to))
    }

    /// Keeps only the samples sent before `end`, with their readings.
    pub fn keep_sent_before(&mut self, end: Millis) {
        self.runs.retain(|r| r.first < end);
        self.readings.retain(|(sent_at, _)| *sent_at < end);
    }

    /// The history with every sample sent in `[from, to)` counted as a
    /// pass, but those that read no settled state (they stay failures).
    pub fn passing_during(&self, from: Millis, to: Millis) -> ProbeHistory {
        let mut judged = self.clone();
        for run in judged.runs.iter_mut().filter(|r| r.first >= from && r.first < to && !r.unsettled) {
            run.ok = true;
        }
        judged
    }

    pub fn state(&self) -> ProbeState {
        match self.runs.last() {
            None => ProbeState::Unknown,
            Some(r) if r.ok => ProbeState::Healthy,
            Some(_) => ProbeState::Failing,
        }
    }

    pub fn first_sample_at(&self) -> Option<Millis> {
        self.runs.first().map(|r| r.first)
    }

    /// When the current run of failing samples began; `None` when the last sample passed.
    pub fn failing_since(&self) -> Option<Millis> {
        self.runs.iter().rev().take_while(|r| !r.ok).last().map(|r| r.first)
    }

    /// How many samples in a row have passed, counting back from the last.
    pub fn consecutive_passes(&self) -> u64 {
        self.runs.iter().rev().take_while(|r| r.ok).map(|r| r.count).fold(0, u64::saturating_add)
    }

    /// How many samples were sent in `[from, to)`, and how many of them failed.
    pub fn counts(&self, from: Millis, to: Millis) -> (u64, u64) {
        self.runs_in(from, Some(to)).fold((0, 0), |(all, failed), r| (all.saturating_add(r.count), if r.ok { failed } else { failed.saturating_add(r.count) }))
    }

    /// When the first failing sample sent in `[from, to)` was sent (`to` `None`: no end).
    pub fn first_failure_in(&self, from: Millis, to: Option<Millis>) -> Option<Millis> {
        self.runs_in(from, to).find(|r| !r.ok).map(|r| r.first)
    }

    /// When the first failing sample at or after `from` was sent.
    pub fn first_failure_after(&self, from: Millis) -> Option<Millis> {
        self.first_failure_in(from, None)
    }

    /// When the first failing sample at or after `from` that read a settled
    /// state (another writer, not none) was sent: the move of a probe
    /// `expected_during_fault`.
    pub fn first_settled_failure_after(&self, from: Millis) -> Option<Millis> {
        self.runs_in(from, None).find(|r| !r.ok && !r.unsettled).map(|r| r.first)
    }

    /// The runs after the last failure at or after `from` (all passing);
    /// `None` when nothing failed from then on.
    fn lasting_streak(&self, from: Millis) -> Option<impl Iterator<Item = &Run>> {
        let after: Vec<&Run> = self.runs_in(from, None).collect();
        let last_failure = after.iter().rposition(|r| !r.ok)?;
        Some(after.into_iter().skip(last_failure + 1))
    }

    /// The recovery point after `from`: the first sample of the earliest run
    /// of `healthy_after` consecutive passes that no later failure breaks
    /// (see docs/metrics.md). `None` while not recovered.
    pub fn recovered_at(&self, from: Millis, healthy_after: usize) -> Option<Millis> {
        let streak: Vec<&Run> = self.lasting_streak(from)?.collect();
        let passes = streak.iter().map(|r| r.count).fold(0, u64::saturating_add);
        (passes >= healthy_after.max(1) as u64).then(|| streak[0].first)
    }

    /// When the recovery after `from` was confirmed: the answer to the
    /// `healthy_after`-th pass of the lasting run that begins at
    /// [`recovered_at`](Self::recovered_at) (its send time plus its latency).
    /// `None` while not recovered (or when the history keeps fewer answers
    /// a run than `healthy_after`).
    pub fn confirmed_at(&self, from: Millis, healthy_after: usize) -> Option<Millis> {
        let mut wanted = healthy_after.max(1) as u64;
        for run in self.lasting_streak(from)? {
            if run.count >= wanted {
                let index = usize::try_from(wanted - 1).ok()?;
                return (index < run.answers(self.confirming)).then(|| self.answers[run.answers_at + index]);
            }
            wanted -= run.count;
        }
        None
    }

    /// The earliest time the probe was back after failing at or after
    /// `from`: the first sample of the first run of `healthy_after` passes
    /// after a failure, whether or not a later failure broke it.
    pub fn first_back_at(&self, from: Millis, healthy_after: usize) -> Option<Millis> {
        let mut after = self.runs_in(from, None).skip_while(|r| r.ok).peekable();
        after.peek()?;
        let (mut streak_start, mut streak) = (None, 0u64);
        for run in after {
            if run.ok {
                streak_start = streak_start.or(Some(run.first));
                streak = streak.saturating_add(run.count);
                if streak >= healthy_after as u64 {
                    return streak_start;
                }
            } else {
                (streak_start, streak) = (None, 0);
            }
        }
        None
    }

    /// Total time spent failing in `[from, to)`: each failing sample counts
    /// until the next sample (or `to`).
    pub fn failing_time(&self, from: Millis, to: Millis) -> Millis {
        self.time_in(from, to, |r| !r.ok)
    }

    /// Time spent failing in a settled state in `[from, to)`, counted as
    /// [`failing_time`](Self::failing_time): the intended state of a probe
    /// `expected_during_fault`.
    pub fn settled_failing_time(&self, from: Millis, to: Millis) -> Millis {
        self.time_in(from, to, |r| !r.ok && !r.unsettled)
    }

    fn time_in(&self, from: Millis, to: Millis, counted: impl Fn(&Run) -> bool) -> Millis {
        let relevant: Vec<&Run> = self.runs_in(from, Some(to)).collect();
        // Within a run send times only grow, so its samples' times add up to
        // its last send less its first; the last counts until the next run.
        // Saturating: runs out of order in a damaged journal could otherwise sum past u64::MAX.
        relevant
            .iter()
            .enumerate()
            .filter(|(_, r)| counted(r))
            .map(|(i, r)| (r.last - r.first).saturating_add(relevant.get(i + 1).map_or(to, |next| next.first).saturating_sub(r.last)))
            .fold(0, Millis::saturating_add)
    }

    /// `(send time, reading)` of each sample that read a metric, in order.
    pub fn readings(&self) -> impl Iterator<Item = &(Millis, MetricReading)> {
        self.readings.iter()
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

/// The history as it was before run-length encoding (issue 18): every
/// sample kept one by one. The reference the property tests hold
/// [`ProbeHistory`] and [`ProbeTrack`] to.
#[cfg(test)]
pub(crate) mod every_sample {
    use super::ProbeState;
    use crate::vocab::{MetricReading, Millis, Sample};

    /// One sample as the measure reads it: when it was sent, how long its
    /// answer took, and whether it passed. The text it observed stays in the
    /// journal: no figure is computed from it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) struct Point {
        pub sent_at: Millis,
        pub latency_ms: Millis,
        pub ok: bool,
        /// Failed reading no settled state (`Sample::unsettled`).
        pub unsettled: bool,
    }

    impl From<&Sample> for Point {
        fn from(sample: &Sample) -> Self {
            Point { sent_at: sample.sent_at, latency_ms: sample.latency_ms, ok: sample.ok, unsettled: sample.unsettled && !sample.ok }
        }
    }

    /// Every sample of one probe, in the order taken, as [`Point`]s (24 bytes
    /// each, against some 200 for a [`Sample`] with its strings: issue 18), and
    /// the readings of the few that read a metric.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct SampleList {
        pub(crate) samples: Vec<Point>,
        /// `(index in samples, reading)` of each sample that read a metric, in order.
        readings: Vec<(usize, MetricReading)>,
    }

    impl SampleList {
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
            self.time_where(from, to, |s| !s.ok)
        }

        pub fn settled_failing_time(&self, from: Millis, to: Millis) -> Millis {
            self.time_where(from, to, |s| !s.ok && !s.unsettled)
        }

        pub fn first_settled_failure_after(&self, from: Millis) -> Option<Millis> {
            self.samples.iter().find(|s| s.sent_at >= from && !s.ok && !s.unsettled).map(|s| s.sent_at)
        }

        fn time_where(&self, from: Millis, to: Millis, counted: impl Fn(&Point) -> bool) -> Millis {
            let relevant: Vec<&Point> = self.samples.iter().filter(|s| s.sent_at >= from && s.sent_at < to).collect();
            // Saturating: samples out of order in a damaged journal could otherwise sum past u64::MAX.
            relevant
                .iter()
                .enumerate()
                .filter(|(_, s)| counted(s))
                .map(|(i, s)| relevant.get(i + 1).map_or(to, |next| next.sent_at).saturating_sub(s.sent_at))
                .fold(0, Millis::saturating_add)
        }

        /// As `first_back_at` was over the samples, before histories were run-length encoded.
        pub fn first_back_at(&self, from: Millis, healthy_after: usize) -> Option<Millis> {
            let after: Vec<_> = self.samples.iter().filter(|s| s.sent_at >= from).collect();
            let first_failure = after.iter().position(|s| !s.ok)?;
            let mut streak_start = None;
            let mut streak = 0;
            for sample in &after[first_failure..] {
                if sample.ok {
                    streak_start = streak_start.or(Some(sample.sent_at));
                    streak += 1;
                    if streak >= healthy_after {
                        return streak_start;
                    }
                } else {
                    (streak_start, streak) = (None, 0);
                }
            }
            None
        }
    }
}

/// A history from a pattern such as `++--+`, one sample per `step` ms.
#[cfg(test)]
pub(crate) fn history_from_pattern(pattern: &str, step: Millis) -> ProbeHistory {
    let mut h = ProbeHistory::default();
    for (i, c) in pattern.chars().enumerate() {
        h.push(&Sample { probe: "p".into(), sent_at: i as Millis * step, latency_ms: 1, ok: c == '+', observed: String::new(), unsettled: false, lateness_us: 0, reading: None });
    }
    h
}

#[cfg(test)]
mod tests {
    use crate::scenario::ProbeCheck;

    /// Only line endings at the end go: what `echo` adds, in either style.
    #[test]
    fn patterns_match_the_output_without_its_trailing_line_endings_only() {
        assert_eq!(super::text_to_match("present\n"), "present");
        assert_eq!(super::text_to_match("present\r\n\n"), "present");
        assert_eq!(super::text_to_match("\n a b \t\n"), "\n a b \t");
        assert!(super::pattern_matches("^present$", "present\n"));
        assert!(!super::pattern_matches("^present$", "present \n"), "a trailing space is output, not a line ending");
        assert!(!super::pattern_matches("^a$", "a\nb\n"), "`$` ends the whole text");
        assert!(super::pattern_matches("(?m)^a$", "a\nb\n"));
    }

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

    use super::every_sample::{Point, SampleList};
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
            h.push(&Sample { probe: "p".into(), sent_at, latency_ms: 1, ok, observed: String::new(), unsettled: false, lateness_us: 0, reading: None });
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
            let mut history = SampleList::default();
            let mut track = ProbeTrack::with_window(Some(window));
            let mut sent_at = 0;
            for (gap, ok) in steps {
                sent_at += gap;
                let sample = Sample { probe: "p".into(), sent_at, latency_ms: 1, ok, observed: format!("{ok}"), unsettled: false, lateness_us: 0, reading: None };
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

        #[test]
        fn a_cut_history_answers_as_every_sample_does(
            // Each sample: a step forward (or, now and then, back: a damaged journal), a latency, a verdict, a reading.
            // and whether a failure read no settled state.
            steps in proptest::collection::vec((0u64..3_000, proptest::bool::weighted(0.05), 0u64..50, proptest::bool::ANY, proptest::option::weighted(0.2, (0u64..100, 0u64..2_000)), proptest::bool::weighted(0.3)), 0..80),
            cuts in proptest::collection::vec(0u64..120_000, 0..6),
            confirming in 1usize..4,
        ) {
            let mut full = SampleList::default();
            let mut compact = ProbeHistory::cut_at(cuts.iter().copied(), confirming);
            let mut sent_at = 0u64;
            for (step, back, latency_ms, ok, reading, unsettled) in steps {
                sent_at = if back { sent_at.saturating_sub(step) } else { sent_at + step };
                let reading = reading.map(|(failed, period_ms)| MetricReading { value: failed as f64, divided_by: Some(100.0), period_ms });
                let sample = Sample { probe: "p".into(), sent_at, latency_ms, ok, observed: String::new(), unsettled, lateness_us: 0, reading };
                full.push(&sample);
                compact.push(&sample);
            }
            let times: Vec<Millis> = std::iter::once(0).chain(cuts.iter().copied()).collect();
            agree(&compact, &full, &times, confirming)?;
            for &end in &times {
                let (mut compact, mut full) = (compact.clone(), full.clone());
                compact.keep_sent_before(end);
                full.keep_sent_before(end);
                agree(&compact, &full, &times, confirming)?;
            }
            for &from in &times {
                for &to in &times {
                    let mut judged = full.clone();
                    for sample in judged.samples.iter_mut().filter(|s| s.sent_at >= from && s.sent_at < to && !s.unsettled) {
                        sample.ok = true;
                    }
                    agree(&compact.passing_during(from, to), &judged, &times, confirming)?;
                }
            }
        }
    }

    /// Every answer of `compact` about `times` is that of `full`.
    fn agree(compact: &ProbeHistory, full: &SampleList, times: &[Millis], confirming: usize) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::prop_assert_eq;
        prop_assert_eq!(compact.len(), full.samples.len() as u64);
        prop_assert_eq!(compact.failures(), full.samples.iter().filter(|s| !s.ok).count() as u64);
        prop_assert_eq!(compact.max_latency(), full.samples.iter().map(|s| s.latency_ms).max().unwrap_or(0));
        prop_assert_eq!(compact.state(), full.state());
        prop_assert_eq!(compact.first_sample_at(), full.first_sample_at());
        prop_assert_eq!(compact.failing_since(), full.failing_since());
        prop_assert_eq!(compact.consecutive_passes(), full.consecutive_passes() as u64);
        let full_readings: Vec<(Millis, MetricReading)> = full.with_readings().filter_map(|(p, r)| r.map(|r| (p.sent_at, r))).collect();
        prop_assert_eq!(compact.readings().copied().collect::<Vec<_>>(), full_readings);
        for &from in times {
            prop_assert_eq!(compact.first_failure_after(from), full.first_failure_after(from).map(|s| s.sent_at));
            prop_assert_eq!(compact.first_settled_failure_after(from), full.first_settled_failure_after(from));
            for healthy_after in 0..=confirming {
                prop_assert_eq!(compact.recovered_at(from, healthy_after), full.recovered_at(from, healthy_after));
                prop_assert_eq!(compact.confirmed_at(from, healthy_after), full.confirmed_at(from, healthy_after));
                prop_assert_eq!(compact.first_back_at(from, healthy_after), full.first_back_at(from, healthy_after));
            }
            for &to in times.iter().chain([&Millis::MAX]) {
                let within: Vec<&Point> = full.samples.iter().filter(|s| s.sent_at >= from && s.sent_at < to).collect();
                prop_assert_eq!(compact.counts(from, to), (within.len() as u64, within.iter().filter(|s| !s.ok).count() as u64));
                prop_assert_eq!(compact.first_failure_in(from, Some(to)), within.iter().find(|s| !s.ok).map(|s| s.sent_at));
                prop_assert_eq!(compact.failing_time(from, to), full.failing_time(from, to));
                prop_assert_eq!(compact.settled_failing_time(from, to), full.settled_failing_time(from, to));
            }
        }
        Ok(())
    }

    #[test]
    fn an_hour_of_samples_with_one_outage_is_a_few_runs() {
        // 100 ms samples for an hour with jittered send times and latencies, failing for 30 s at 10 minutes;
        // cut at the fault's start (10 min) and end (20 min).
        let mut h = ProbeHistory::cut_at([600_000, 1_200_000], 3);
        for i in 0..36_000u64 {
            let ok = !(6_000..6_300).contains(&i);
            h.push(&Sample { probe: "p".into(), sent_at: i * 100 + i % 7, latency_ms: 1 + i % 13, ok, observed: String::new(), unsettled: false, lateness_us: 0, reading: None });
        }
        // Passing, failing, passing to the fault's end, passing after it: four runs, not 36,000 samples.
        assert_eq!((h.runs(), h.len(), h.failures(), h.max_latency()), (4, 36_000, 300, 13));
        assert_eq!(h.recovered_at(600_000, 3), Some(630_000), "6,300 is a multiple of 7: sent on time");
        assert_eq!(h.confirmed_at(600_000, 3), Some(630_200 + 6_302 % 7 + 1 + 6_302 % 13));
        assert_eq!(h.counts(600_000, 1_200_000), (6_000, 300));
    }

    #[test]
    fn failing_since_and_time() {
        let h = history("++---", 10);
        assert_eq!(h.failing_since(), Some(20));
        assert_eq!(h.failing_time(0, 50), 30);
        assert_eq!(history("+-+", 10).failing_since(), None);
    }
}
