//! Live progress for people: the phase, the run clock, each probe's state
//! and the deadlines. On a terminal: a redrawn block on stderr (indicatif).
//! Without one (CI logs): one line per phase change and a heartbeat every
//! 30 s of the run's clock, so logs show life and no-output timeouts never
//! fire. The run's clock is the wall clock on AWS and `local`, so there the
//! heartbeat comes every 30 s of wall time; on the simulator it is virtual,
//! so a simulated run logs a line per 30 simulated seconds, the same lines
//! for the same seed, however fast it runs (docs/reports.md).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::journal::{JournalError, Record};
use crate::run::metrics::fmt_ms;
use crate::run::{LiveView, Observer};

/// Run time between two heartbeat lines when stderr is not a terminal.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

pub enum Progress {
    /// A terminal: the block is redrawn in place.
    Bar(ProgressBar),
    /// A log: a line per phase change, and a heartbeat.
    Lines(ProgressLines),
    /// `--no-progress`.
    Quiet,
}

impl Progress {
    /// `show: false` (`--no-progress`) prints nothing; otherwise a redrawn
    /// block on a terminal, and lines in a log.
    pub fn new(show: bool, terminal: bool) -> Self {
        match (show, terminal) {
            (false, _) => Progress::Quiet,
            (true, false) => Progress::Lines(ProgressLines::new(HEARTBEAT)),
            (true, true) => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
                Progress::Bar(bar)
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// What people see when the journal refuses a record: the error and the
/// record itself, so what gameday did is on the screen even if the journal
/// never gets it.
pub fn journal_failure_notice(error: &JournalError, record: &Record) -> String {
    let line = serde_json::to_string(record).unwrap_or_else(|_| format!("{record:?}"));
    format!("gameday: {error}; record kept in memory and shown here: {line}")
}

/// The progress lines of a run logged without a terminal: pure, so the
/// heartbeat is tested without waiting for it. It counts on the run's
/// clock (`LiveView::now`), not on the wall: the one clock every line shows.
pub struct ProgressLines {
    heartbeat: Duration,
    phase: Option<&'static str>,
    /// The run time of the last line printed.
    last_line: Option<Duration>,
}

impl ProgressLines {
    pub fn new(heartbeat: Duration) -> Self {
        ProgressLines { heartbeat, phase: None, last_line: None }
    }

    /// The line to print for this view: on a phase change, or when a
    /// heartbeat is due.
    pub fn line(&mut self, view: &LiveView<'_>) -> Option<String> {
        self.line_showing(view, &format!("T+{}", fmt_ms(view.now)), |_| true, true)
    }

    /// As `line`, for a view that shows less (a drill's trainees): the time
    /// as that view writes it, only the probes `shows_probe` admits, and the
    /// time until the revert only with `show_revert` (it tells when the fault ends).
    pub fn line_showing(&mut self, view: &LiveView<'_>, time: &str, shows_probe: impl Fn(&str) -> bool, show_revert: bool) -> Option<String> {
        let now = Duration::from_millis(view.now);
        let changed = self.phase != Some(view.phase);
        let due = self.last_line.is_none_or(|last| now.saturating_sub(last) >= self.heartbeat);
        if !changed && !due {
            return None;
        }
        self.phase = Some(view.phase);
        self.last_line = Some(now);
        let probes = view.probes.iter().filter(|(name, _, _)| shows_probe(name)).map(|(name, state, _)| format!("{} {name}", state.mark())).collect::<Vec<_>>().join(", ");
        let revert = view.next_revert.filter(|_| show_revert).map(|at| format!("; revert in {}", fmt_ms(at.saturating_sub(view.now)))).unwrap_or_default();
        let probes = if probes.is_empty() { String::new() } else { format!("; probes: {probes}") };
        Some(format!("gameday: {time} {}{revert}{probes}", view.phase))
    }
}

impl Observer for Progress {
    fn record(&mut self, _record: &Record) {}

    fn journal_failed(&mut self, error: &JournalError, record: &Record) {
        match self {
            Progress::Bar(bar) => bar.suspend(|| eprintln!("{}", journal_failure_notice(error, record))),
            // Even with --no-progress: this is not progress, it is what the journal lacks.
            Progress::Lines(_) | Progress::Quiet => eprintln!("{}", journal_failure_notice(error, record)),
        }
    }

    fn tick(&mut self, view: &LiveView<'_>) {
        match self {
            Progress::Quiet => {}
            Progress::Lines(lines) => {
                if let Some(line) = lines.line(view) {
                    eprintln!("{line}");
                }
            }
            Progress::Bar(bar) => {
                let revert = view.next_revert.map(|at| format!(" · revert in {}", fmt_ms(at.saturating_sub(view.now)))).unwrap_or_default();
                let mut lines = vec![format!("{} · T+{}{revert}", view.phase, fmt_ms(view.now))];
                for (name, state, observed) in &view.probes {
                    lines.push(format!("  {} {name:<20} {observed}", state.mark()));
                }
                for (name, state) in &view.faults {
                    lines.push(format!("  ⚡ {name:<20} {state}"));
                }
                for (name, deadline, settled) in &view.deadlines {
                    let when = match deadline {
                        Some(d) if *settled => format!("settled (deadline T+{})", fmt_ms(*d)),
                        Some(d) => format!("deadline in {}", fmt_ms(d.saturating_sub(view.now))),
                        None => "waiting for its fault".into(),
                    };
                    lines.push(format!("  ⏱ {name:<40} {when}"));
                }
                bar.set_message(lines.join("\n"));
                bar.tick();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(phase: &'static str, now: u64, next_revert: Option<u64>) -> LiveView<'static> {
        LiveView { phase, now, probes: vec![], faults: vec![], deadlines: vec![], drill: None, fault_start: None, next_revert }
    }

    #[test]
    fn a_log_gets_a_line_per_phase_and_a_heartbeat_on_the_runs_clock() {
        let mut lines = ProgressLines::new(Duration::from_secs(30));
        assert_eq!(lines.line(&view("checking steady state", 0, None)).as_deref(), Some("gameday: T+0ms checking steady state"));
        assert_eq!(lines.line(&view("checking steady state", 100, None)), None, "same phase, no heartbeat due");
        assert_eq!(lines.line(&view("fault injected", 1_000, Some(61_000))).as_deref(), Some("gameday: T+1s fault injected; revert in 1m00s"));
        assert_eq!(lines.line(&view("fault injected", 30_999, Some(61_000))), None, "29.999 s since the last line");
        assert_eq!(lines.line(&view("fault injected", 31_000, Some(61_000))).as_deref(), Some("gameday: T+31s fault injected; revert in 30s"));
        assert_eq!(lines.line(&view("fault injected", 45_000, Some(61_000))), None, "the heartbeat counts from the last line");
        assert_eq!(lines.line(&view("waiting for recovery", 61_000, None)).as_deref(), Some("gameday: T+1m01s waiting for recovery"));
    }
}
