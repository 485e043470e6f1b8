//! Live progress for people: the phase, the run clock, each probe's state
//! and the deadlines. Drawn with indicatif on stderr, hidden when stderr is
//! not a terminal (CI logs stay clean).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::journal::{JournalError, Record};
use crate::run::metrics::fmt_ms;
use crate::run::{LiveView, Observer};

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// `enabled: false` (or a non-terminal stderr) draws nothing.
    pub fn new(enabled: bool) -> Self {
        let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
        Progress { bar }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// What people see when the journal refuses a record: the error and the
/// record itself, so what gameday did is on the screen even if the journal
/// never gets it.
pub fn journal_failure_notice(error: &JournalError, record: &Record) -> String {
    let line = serde_json::to_string(record).unwrap_or_else(|_| format!("{record:?}"));
    format!("gameday: {error}; record kept in memory and shown here: {line}")
}

impl Observer for Progress {
    fn record(&mut self, _record: &Record) {}

    fn journal_failed(&mut self, error: &JournalError, record: &Record) {
        self.bar.suspend(|| eprintln!("{}", journal_failure_notice(error, record)));
    }

    fn tick(&mut self, view: &LiveView<'_>) {
        let mut lines = vec![format!("{} · T+{}", view.phase, fmt_ms(view.now))];
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
        self.bar.set_message(lines.join("\n"));
        self.bar.tick();
    }
}
