//! Live progress for people: the phase, the run clock, each probe's state
//! and the deadlines. On a terminal: a redrawn block on stderr (indicatif).
//! Without one (CI logs): one line per phase change and a heartbeat every
//! 30 s of the run's clock, so logs show life and no-output timeouts never
//! fire. The run's clock is the wall clock on AWS and `local`, so there the
//! heartbeat comes every 30 s of wall time; on the simulator it is virtual,
//! so a simulated run logs a line per 30 simulated seconds, the same lines
//! for the same seed, however fast it runs (docs/reports.md).
//!
//! On the wall clock, one step can hold the run loop for minutes (an FIS
//! experiment starting, a Region switch, a slow revert), and the loop is
//! what prints. So a watchdog thread prints the heartbeat then: when no line
//! came for 30 s and the loop has not ticked for a second, it says the
//! phase and how long the current step has taken.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::journal::{JournalError, Record};
use crate::run::metrics::fmt_ms;
use crate::run::{LiveView, Observer, Phase};

/// Run time between two heartbeat lines when stderr is not a terminal.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// How long the run loop must have been silent before the watchdog speaks
/// for it: longer than any tick's own work, so it never talks over the loop.
const LOOP_SILENT: Duration = Duration::from_secs(1);

pub enum Progress {
    /// A terminal: the block is redrawn in place.
    Bar(ProgressBar),
    /// A log: a line per phase change, and a heartbeat; on the wall clock,
    /// with the watchdog that keeps the heartbeat while a step holds the loop.
    Lines { lines: Arc<Mutex<ProgressLines>>, _watchdog: Option<Watchdog> },
    /// `--no-progress`.
    Quiet,
}

impl Progress {
    /// `show: false` (`--no-progress`) prints nothing; otherwise a redrawn
    /// block on a terminal, and lines in a log. `wall_clock`: the run follows
    /// the wall clock (AWS, `local`), so a step can take real minutes.
    pub fn new(show: bool, terminal: bool, wall_clock: bool) -> Self {
        match (show, terminal) {
            (false, _) => Progress::Quiet,
            (true, false) => {
                let lines = Arc::new(Mutex::new(ProgressLines::new(heartbeat())));
                let watchdog = wall_clock.then(|| Watchdog::start(lines.clone()));
                Progress::Lines { lines, _watchdog: watchdog }
            }
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

/// The heartbeat's interval: `HEARTBEAT`, or for the binary's own tests
/// only, `GAMEDAY_TEST_HEARTBEAT_MS` (a test cannot wait 30 s for a line).
fn heartbeat() -> Duration {
    std::env::var("GAMEDAY_TEST_HEARTBEAT_MS").ok().and_then(|ms| ms.parse().ok()).map_or(HEARTBEAT, Duration::from_millis)
}

/// A thread that prints the heartbeat while a step holds the run loop; it
/// ends when the `Progress` that owns it is dropped.
pub struct Watchdog {
    _stop: mpsc::Sender<()>,
}

impl Watchdog {
    fn start(lines: Arc<Mutex<ProgressLines>>) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let check_every = LOOP_SILENT.min(lines.lock().unwrap_or_else(PoisonError::into_inner).heartbeat / 2).max(Duration::from_millis(10));
        std::thread::spawn(move || {
            // Ends when the sender is dropped (Disconnected); nothing is ever sent.
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(check_every) {
                let mut lines = lines.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(line) = lines.stalled_line(Instant::now()) {
                    eprintln!("{line}");
                }
            }
        });
        Watchdog { _stop: stop }
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
    phase: Option<Phase>,
    /// The run time of the last line printed.
    last_line: Option<Duration>,
    /// The wall time of the last line printed, and of the last view the run
    /// loop showed (with its run time and time of the revert): what the
    /// watchdog needs to speak for a loop held by a long step.
    last_line_wall: Option<Instant>,
    last_tick: Option<(Instant, u64, Option<u64>)>,
}

impl ProgressLines {
    pub fn new(heartbeat: Duration) -> Self {
        ProgressLines { heartbeat, phase: None, last_line: None, last_line_wall: None, last_tick: None }
    }

    /// The heartbeat while the run loop is held by one step: due when no
    /// line came for a heartbeat and the loop has been silent for
    /// `LOOP_SILENT`. The run time is the last view's plus the wall time
    /// since (the watchdog runs only on the wall clock).
    pub fn stalled_line(&mut self, wall_now: Instant) -> Option<String> {
        let (tick_at, tick_run_ms, next_revert) = self.last_tick?;
        let phase = self.phase?;
        let line_at = self.last_line_wall?;
        let stalled = wall_now.saturating_duration_since(tick_at);
        if wall_now.saturating_duration_since(line_at) < self.heartbeat || stalled < LOOP_SILENT {
            return None;
        }
        let now = tick_run_ms.saturating_add(u64::try_from(stalled.as_millis()).unwrap_or(u64::MAX));
        self.last_line_wall = Some(wall_now);
        self.last_line = Some(Duration::from_millis(now));
        let revert = next_revert.map(|at| format!("; revert in {}", fmt_ms(at.saturating_sub(now)))).unwrap_or_default();
        Some(format!("gameday: T+{} {phase}{revert}; the current step has taken {} so far", fmt_ms(now), fmt_ms(u64::try_from(stalled.as_millis()).unwrap_or(u64::MAX))))
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
        let wall_now = Instant::now();
        self.last_tick = Some((wall_now, view.now, view.next_revert));
        let changed = self.phase != Some(view.phase);
        let due = self.last_line.is_none_or(|last| now.saturating_sub(last) >= self.heartbeat);
        if !changed && !due {
            return None;
        }
        self.phase = Some(view.phase);
        self.last_line = Some(now);
        self.last_line_wall = Some(wall_now);
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
            Progress::Lines { .. } | Progress::Quiet => eprintln!("{}", journal_failure_notice(error, record)),
        }
    }

    fn tick(&mut self, view: &LiveView<'_>) {
        match self {
            Progress::Quiet => {}
            Progress::Lines { lines, .. } => {
                let mut lines = lines.lock().unwrap_or_else(PoisonError::into_inner);
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

    fn view(phase: Phase, now: u64, next_revert: Option<u64>) -> LiveView<'static> {
        LiveView { phase, now, probes: vec![], faults: vec![], deadlines: vec![], drill: None, fault_start: None, next_revert }
    }

    #[test]
    fn a_log_gets_a_line_per_phase_and_a_heartbeat_on_the_runs_clock() {
        let mut lines = ProgressLines::new(Duration::from_secs(30));
        assert_eq!(lines.line(&view(Phase::CheckingSteadyState, 0, None)).as_deref(), Some("gameday: T+0ms checking steady state"));
        assert_eq!(lines.line(&view(Phase::CheckingSteadyState, 100, None)), None, "same phase, no heartbeat due");
        assert_eq!(lines.line(&view(Phase::FaultInjected, 1_000, Some(61_000))).as_deref(), Some("gameday: T+1s fault injected; revert in 1m00s"));
        assert_eq!(lines.line(&view(Phase::FaultInjected, 30_999, Some(61_000))), None, "29.999 s since the last line");
        assert_eq!(lines.line(&view(Phase::FaultInjected, 31_000, Some(61_000))).as_deref(), Some("gameday: T+31s fault injected; revert in 30s"));
        assert_eq!(lines.line(&view(Phase::FaultInjected, 45_000, Some(61_000))), None, "the heartbeat counts from the last line");
        assert_eq!(lines.line(&view(Phase::WaitingForRecovery, 61_000, None)).as_deref(), Some("gameday: T+1m01s waiting for recovery"));
    }

    #[test]
    fn a_step_that_holds_the_loop_gets_the_heartbeat_from_the_watchdog() {
        let mut lines = ProgressLines::new(Duration::from_secs(30));
        assert_eq!(lines.stalled_line(Instant::now()), None, "nothing shown yet: nothing to repeat");
        assert!(lines.line(&view(Phase::Injecting, 1_000, Some(601_000))).is_some());
        let shown = lines.last_tick.unwrap().0;
        assert_eq!(lines.stalled_line(shown + Duration::from_millis(29_999)), None, "29.999 s since the last line");
        assert_eq!(lines.stalled_line(shown + Duration::from_secs(30)).as_deref(), Some("gameday: T+31s injecting; revert in 9m30s; the current step has taken 30s so far"));
        assert_eq!(lines.stalled_line(shown + Duration::from_secs(45)), None, "the watchdog's own line counts as the last");
        assert!(lines.stalled_line(shown + Duration::from_secs(60)).unwrap().contains("T+1m01s injecting;"));
        // The loop ticks again: its view is the news, and the watchdog waits for it to fall silent.
        assert_eq!(lines.line(&view(Phase::Injecting, 61_500, Some(601_000))), None, "a heartbeat came 0.5 s ago");
        let ticked = lines.last_tick.unwrap().0;
        assert_eq!(lines.stalled_line(ticked + Duration::from_millis(500)), None, "the loop spoke 0.5 s ago");
    }
}
