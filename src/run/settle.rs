//! When the run has seen enough: each expectation's fault span and
//! deadline, and whether it has settled (and its error budget been
//! counted), judged live from the probes' tracks. The definitions of the
//! clock's start and the deadline are `metrics::clock_start` and
//! `metrics::deadline`, shared with the judgement; what is here is the
//! runner's side of them, reading the run as it goes, so it sits beside
//! the runner rather than among `metrics`' pure functions over a journal.

use super::clock::Clock;
use super::{Environment, FaultState, Observer, Runner, metrics};
use crate::environment::Millis;

impl<E: Environment, C: Clock, O: Observer> Runner<'_, E, C, O> {
    /// When the expectation's fault was in place, once it started.
    pub(super) fn span_of(&self, e: &crate::scenario::ExpectedRecovery) -> Option<metrics::FaultSpan> {
        let result = &self.faults[self.fault_index(e.reference_fault(&self.scenario.faults))?].result;
        result.started_at.map(|start| metrics::FaultSpan { start, end: result.ended_at })
    }

    pub(super) fn deadline_of(&self, e: &crate::scenario::ExpectedRecovery) -> Option<Millis> {
        metrics::deadline(e, self.span_of(e)?)
    }

    /// An expectation needs no more observation when its fault failed to
    /// start, when at least one of its probes failed since the fault and
    /// every probe that failed has recovered, or when its deadline passed.
    /// While none has failed yet, it is watched until the deadline: impact
    /// can come late (a replacement that never boots). A probe still failing
    /// at the deadline is watched for `confirmation_window` more, so a
    /// recovery at (or just before) the deadline is confirmed by its
    /// `healthy_after` passes instead of being called missed.
    pub(super) fn settled(&self, e: &crate::scenario::ExpectedRecovery, now: Millis) -> bool {
        let Some(index) = self.fault_index(e.reference_fault(&self.scenario.faults)) else { return true };
        let fault = &self.faults[index];
        let Some(span) = self.span_of(e) else { return fault.state == FaultState::Failed };
        // `from: revert` and `stays_healthy` are judged once the fault has ended.
        let (Some(start), Some(deadline)) = (metrics::clock_start(e, span), metrics::deadline(e, span)) else { return fault.state == FaultState::Failed };
        let (failed, unrecovered): (Vec<&String>, Vec<&String>) = {
            let failed: Vec<&String> = e.probes.iter().filter(|name| self.ledger.tracks[*name].failed_since(start)).collect();
            let unrecovered = failed.iter().copied().filter(|name| !self.ledger.tracks[*name].recovered_since(start, self.healthy_after(name))).collect();
            (failed, unrecovered)
        };
        if !failed.is_empty() && unrecovered.is_empty() {
            return true;
        }
        match now.checked_sub(deadline) {
            None => false,
            Some(_) if unrecovered.is_empty() => true,
            Some(past) => past >= self.confirmation_window(e),
        }
    }

    /// An error budget counts requests from the expectation's clock start
    /// to its recovery point, so the run waits for the `max_impact.requests`
    /// probe's first reading at or after that point: the period that holds
    /// the end of the impact is then counted. The point is the one the
    /// measurement takes (`metrics::recovery_point`: from the clock's start,
    /// intended failures aside), not a recovery counted from the fault's start.
    pub(super) fn requests_counted(&self, e: &crate::scenario::ExpectedRecovery, now: Millis) -> bool {
        let Some(requests) = e.max_impact.as_ref().and_then(|b| b.requests.as_ref()).and_then(|name| self.ledger.tracks.get(name)) else { return true };
        let Some(span) = self.span_of(e) else { return true };
        // `kept` holds this expectation's probes' samples, exact at the faults' times (`Ledger::log_at`).
        match metrics::recovery_point(e, &self.scenario.steady_state, &self.ledger.kept, span, now) {
            Some(point) => requests.last().is_some_and(|s| s.sent_at >= point),
            None => true,
        }
    }

    fn healthy_after(&self, probe: &str) -> usize {
        self.scenario.passes_to_recover(probe)
    }

    /// How long past its deadline an expectation whose probe is still
    /// failing is watched: enough samples of each probe to confirm a
    /// recovery point at the deadline (`healthy_after` intervals).
    pub(super) fn confirmation_window(&self, e: &crate::scenario::ExpectedRecovery) -> Millis {
        e.probes
            .iter()
            .filter_map(|name| self.scenario.steady_state.iter().find(|p| p.name == *name))
            .map(|p| p.interval.as_millis().saturating_mul(p.passes_to_recover() as u64))
            .max()
            .unwrap_or(0)
    }
}
