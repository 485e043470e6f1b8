//! What a run has recorded, apart from the environment: the journal (and
//! what its file refused), the observer that watches it, and what the live
//! decisions need of each probe's samples.

use std::collections::BTreeMap;

use super::Observer;
use super::metrics;
use crate::environment::Millis;
use crate::journal::{Event, Journal, Record};
use crate::probe::{ProbeHistory, ProbeTrack};

/// What the run has recorded: the journal, what the live decisions need of
/// every probe's samples, and the first journal write that failed. Apart
/// from the environment, so that samples keep being recorded while an apply
/// holds the environment.
pub(super) struct Ledger<O: Observer> {
    pub(super) journal: Journal,
    pub(super) observer: O,
    /// Every probe's live state, in memory that does not grow with the run.
    pub(super) tracks: BTreeMap<String, ProbeTrack>,
    /// The samples of the probes an error budget's live decision measures
    /// in full (`requests_counted`), run-length encoded and cut at the
    /// faults' starts and ends, so they grow with the probes' changes of
    /// verdict, not with the run; no other probe's samples stay in memory.
    pub(super) kept: BTreeMap<String, ProbeHistory>,
    /// The first journal write that failed: the run stops and reverts.
    pub(super) journal_failure: Option<String>,
    pub(super) started_at: jiff::Timestamp,
    /// When the run really began, for its real duration (record times may be simulated).
    pub(super) real_start: std::time::Instant,
}

impl<O: Observer> Ledger<O> {
    pub(super) fn new(journal: Journal, observer: O, tracks: BTreeMap<String, ProbeTrack>, kept: BTreeMap<String, ProbeHistory>, started_at: jiff::Timestamp) -> Self {
        Ledger { journal, observer, tracks, kept, journal_failure: None, started_at, real_start: std::time::Instant::now() }
    }

    pub(super) fn wall(&self, t: Millis) -> String {
        let offset = jiff::SignedDuration::from_millis(i64::try_from(t).unwrap_or(i64::MAX));
        self.started_at.checked_add(offset).unwrap_or(self.started_at).strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    pub(super) fn log_at(&mut self, t: Millis, event: Event, durable: bool) -> Millis {
        if matches!(event, Event::FaultIntent { .. } | Event::FaultApplied { .. } | Event::FaultReverted { .. }) {
            // A fault's start (its intent) and end are what `requests_counted`
            // asks the kept histories about: cut there before the samples
            // that follow. Not knowing yet whether the intent's apply will
            // succeed, it cuts at every intent, and at the apply for a fault
            // that ends as it is made.
            for history in self.kept.values_mut() {
                metrics::asked_times([t]).into_iter().for_each(|at| history.cut(at));
            }
        }
        let record = Record { t, wall: self.wall(t), event };
        self.observer.record(&record);
        self.append(record, durable);
        t
    }

    /// Appends to the journal. A write that fails never stops the run from
    /// reverting: the record stays in memory (the journal writes it again
    /// before the next one), goes to the observer (stderr) at once, and the
    /// loop ends at its next turn (`JournalFailed`).
    pub(super) fn append(&mut self, record: Record, durable: bool) {
        if let Err(error) = self.journal.append(record, durable) {
            if let Some(kept) = self.journal.last_kept() {
                self.observer.journal_failed(&error, kept);
            }
            self.journal_failure.get_or_insert_with(|| error.to_string());
        }
    }

    pub(super) fn ingest(&mut self, sample: crate::environment::Sample) {
        if let Some(history) = self.kept.get_mut(&sample.probe) {
            history.push(&sample);
        }
        self.tracks.entry(sample.probe.clone()).or_default().push(sample.clone());
        self.log_at(sample.sent_at, Event::Sample(sample), false);
    }
}
