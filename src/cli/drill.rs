//! `gameday drill`: the scenario runs live (in real or scaled time) while
//! people work its runbook. On a terminal, a full-screen console shows the
//! steps, the probes and the clock, and takes keypresses; otherwise each
//! line of standard input is a command (a scripted drill) and the console
//! prints a transcript.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use clap::{Args, Subcommand};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::failure::{Done, Ended, Failure};
use crate::drill::{DrillCommand, DrillInput, DrillSession, StepProgress, View, Visibility, parse_line, parse_steps, signal_names};
use crate::environment::Environment;
use crate::journal::Record;
use crate::report::markdown::Describer;
use crate::run::clock::{AnyClock, Interrupt, ScaledClock, VirtualClock, WallClock};
use crate::run::metrics::fmt_ms;
use crate::run::{LiveView, Observer};

use super::{EnvArgs, Target};

/// `gameday drill SCENARIO …` starts a drill; `gameday drill watch RUN_DIR`
/// follows one from a second terminal.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true, flatten_help = true)]
pub struct DrillArgs {
    #[command(subcommand)]
    command: Option<DrillSubcommand>,
    /// The scenario and where it runs; absent with `watch`. (Optional so
    /// that `watch` needs no SCENARIO; clap requires it otherwise.)
    #[command(flatten)]
    env: Option<EnvArgs>,

    /// How fast the simulated world runs: 1 (real time), 10, 60 or any
    /// whole number; `max` runs a scripted drill (every line `at T0+…`)
    /// without waiting. Real environments run at 1.
    #[arg(long, value_name = "N|max", default_value = "1")]
    speed: Speed,
    /// Directory for run directories.
    #[arg(long, value_name = "DIR", default_value = "runs")]
    runs_dir: PathBuf,
    /// Skip the confirmation prompt required for non-simulated environments.
    #[arg(long)]
    yes: bool,
    /// Confirm what `--yes` does not: `recovery` lets a `region_switch` step
    /// with `mode: recovery` (a real disaster recovery) run.
    #[arg(long, value_name = "TEXT")]
    confirm: Option<String>,
    /// Who the console is for. `trainee` (the default: the console is the
    /// shared screen) shows only the team's signals (alarms, the probes the
    /// runbook's signals section or `detected_by` names) and what people
    /// did, never the fault. `facilitator` shows everything, the fault
    /// included; or follow the run from a second terminal with
    /// `gameday drill watch RUN_DIR`.
    #[arg(long, value_name = "trainee|facilitator", default_value_t = View::Trainee)]
    view: View,
}

#[derive(Subcommand, Debug)]
enum DrillSubcommand {
    /// The facilitator's view of a drill in progress, for a second terminal:
    /// every line of its timeline as the journal records it, the faults
    /// included. Ends when the run ends.
    Watch {
        /// The drill's run directory (printed when the drill starts).
        #[arg(value_name = "RUN_DIR")]
        run_dir: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Speed {
    Times(u32),
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "max" => Ok(Speed::Max),
            _ => match text.trim_end_matches('x').parse::<u32>() {
                Ok(n) if (1..=3600).contains(&n) => Ok(Speed::Times(n)),
                _ => Err(format!("`{text}` is not a speed: use 1, 10, 60 (any whole number up to 3600) or `max`")),
            },
        }
    }
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Speed::Times(1) => f.write_str("real time"),
            Speed::Times(n) => write!(f, "{n}× real time"),
            Speed::Max => f.write_str("full speed (scripted)"),
        }
    }
}

pub(super) async fn drill_command(args: &DrillArgs) -> Ended {
    match (&args.command, &args.env) {
        (Some(DrillSubcommand::Watch { run_dir }), _) => watch(run_dir).await,
        (None, Some(env)) => start_drill(args, env).await,
        // clap requires SCENARIO without a subcommand; this is its message.
        (None, None) => Err(Failure::Usage(
            "`gameday drill` needs a SCENARIO to drill, or `watch RUN_DIR` to follow a drill\n  = hint: gameday drill scenarios/manual-region-failover.yaml".into(),
        )),
    }
}

async fn start_drill(args: &DrillArgs, env: &EnvArgs) -> Ended {
    let mut ready = super::lifecycle::load_and_connect(env).await?;
    let simulated = ready.target.is_simulator();
    if !simulated && args.speed != Speed::Times(1) {
        return Err(Failure::Usage(format!(
            "--speed {} needs the simulator: real systems run in real time\n  = hint: drop --speed, or drill on the simulator (--env sim)",
            args.speed
        )));
    }
    let (session, visibility) = session(&ready.loaded, &ready.target, args.view).map_err(Failure::Invalid)?;
    let keyboard = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let (sender, inputs) = unbounded_channel();
    // At full speed the script is read whole and the channel closed first.
    let mut sender = Some(sender);
    if args.speed == Speed::Max {
        if keyboard {
            return Err(Failure::Usage(format!(
                "--speed max runs a scripted drill, so it reads its commands from standard input\n  = hint: `gameday drill {} --speed max < drill-script.txt`; to drill live, use --speed 1, 10 or 60",
                env.scenario.display()
            )));
        }
        // Read the whole script first: at full speed nothing may arrive late.
        if let Some(script) = sender.take() {
            read_script(std::io::stdin().lock(), &script).map_err(Failure::Usage)?;
        }
    }
    let run = super::lifecycle::start_run(&ready, &env.env, &args.runs_dir, args.yes, args.confirm.as_deref())?;
    eprintln!(
        "gameday: drill `{}` on {} at {} (seed {}), {} view; run directory {}",
        ready.loaded.scenario.name,
        ready.target.describe(),
        args.speed,
        ready.seed,
        args.view,
        run.run_dir.display()
    );
    let (clock, redraw) = match args.speed {
        Speed::Max => (AnyClock::Virtual(VirtualClock::default()), None),
        Speed::Times(n) if simulated => (AnyClock::Scaled(ScaledClock::start(n)), Some(250 * u64::from(n))),
        Speed::Times(_) => (AnyClock::Wall(WallClock::start()), Some(250)),
    };
    let mut config = super::lifecycle::run_config(ready.seed, clock.started_at().unwrap_or(run.started));
    config.max_sleep = redraw;
    let speed = args.speed.to_string();
    if let (true, Some(sender)) = (keyboard, sender.clone()) {
        let console = Console::start(sender, run.interrupt.clone(), visibility)
            .map_err(|error| Failure::Environment(format!("could not set up the terminal for the drill console: {error}")))?;
        super::lifecycle::execute(&mut ready, run, clock, console, config, Some((session, speed, inputs))).await
    } else {
        if let Some(sender) = sender {
            read_lines_live(sender);
        }
        super::lifecycle::execute(&mut ready, run, clock, Transcript::new(visibility), config, Some((session, speed, inputs))).await
    }
}

/// How often `watch` looks for new journal lines.
const WATCH_POLL: StdDuration = StdDuration::from_millis(200);

/// `gameday drill watch RUN_DIR`: the facilitator's view, from the journal.
/// It follows the file as the runner appends to it (each record is one
/// line, written whole), prints each line the timeline describes, and ends
/// at `run_ended`, or when no live process holds the run any more.
async fn watch(run_dir: &std::path::Path) -> Ended {
    let path = run_dir.join("journal.jsonl");
    let mut file = std::fs::File::open(&path)
        .map_err(|error| Failure::Unreadable(format!("could not read {}: {error}\n  = hint: pass the run directory the drill printed when it started", path.display())))?;
    let mut describer = Describer::default();
    let mut fault_clock = FaultClock::default();
    let mut records = Vec::new();
    let mut pending = String::new();
    let mut last_look = false;
    loop {
        let mut chunk = String::new();
        std::io::Read::read_to_string(&mut file, &mut chunk).map_err(|error| Failure::Unreadable(format!("could not read {}: {error}", path.display())))?;
        pending.push_str(&chunk);
        // Only whole lines: the runner may be halfway through writing the last one.
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            let Ok(record) = serde_json::from_str::<Record>(line.trim()) else { continue };
            fault_clock.see(&record);
            if let Some(text) = describer.describe(&record) {
                println!("{:>12}  {text}", when(record.t, fault_clock.start));
            }
            let ended = matches!(record.event, crate::journal::Event::RunEnded { .. });
            records.push(record);
            if ended {
                return Ok(Done::Success);
            }
        }
        if last_look {
            // The process is gone and the journal has no end: it crashed.
            let open = crate::journal::still_injected(&records);
            if open.is_empty() {
                eprintln!("gameday: the run in {} stopped without ending (its process is gone); its journal shows no fault in place", run_dir.display());
                return Ok(Done::Success);
            }
            let names: Vec<&str> = open.iter().map(|(fault, _)| fault.as_str()).collect();
            eprintln!(
                "gameday: the run in {} stopped without ending (its process is gone), and its journal shows {} still in place\n  = hint: `gameday recover {}` reverts them",
                run_dir.display(),
                names.join(", "),
                run_dir.display()
            );
            return Ok(Done::LeftInPlace);
        }
        // Read once more after the process is seen gone: it may have ended the run just before.
        last_look = !run_is_live(run_dir, &records);
        if !last_look {
            tokio::time::sleep(WATCH_POLL).await;
        }
    }
}

/// Whether the process running the run is alive: the one its `run_started`
/// names (a drill's `drill_started`, in journals of earlier versions), or
/// the one holding an environment's lock for the run directory (a real
/// environment's run holds one from before its journal starts). Plain runs
/// are watched too: a crashed one ends the watch as a crashed drill does.
fn run_is_live(run_dir: &std::path::Path, records: &[Record]) -> bool {
    use crate::journal::Event;
    use crate::run::lock::{all_locks, process_alive};
    let journaled: Vec<u32> = records
        .iter()
        .filter_map(|r| match r.event {
            Event::RunStarted { pid, .. } | Event::DrillStarted { pid, .. } => pid,
            _ => None,
        })
        .collect();
    let wanted = std::fs::canonicalize(run_dir).ok();
    let lock_pid = all_locks().into_iter().find(|(_, holder)| std::fs::canonicalize(&holder.run_dir).ok() == wanted).map(|(_, holder)| holder.pid);
    let started = records.iter().any(|r| matches!(r.event, Event::RunStarted { .. }));
    match (journaled.is_empty(), lock_pid) {
        // The journal has no `run_started` yet: the run is being set up.
        (true, None) if !started => true,
        // A journal of an earlier version names no process, and no lock
        // names one (`recover` released it, or the simulator took none):
        // nothing is left to follow (it once followed such a run for ever).
        (true, None) => false,
        (_, lock) => journaled.into_iter().chain(lock).any(process_alive),
    }
}

/// The runbook's steps, checked against the scenario's operator actions and
/// the environment, before anything starts; and what the console's view
/// shows (the runbook's signals section names the team's probes).
fn session(loaded: &crate::scenario::LoadedScenario, target: &Target, view: View) -> Result<(DrillSession, Visibility), String> {
    let scenario = &loaded.scenario;
    let file = loaded.file.display();
    let Some(runbook) = scenario.runbook.as_deref() else {
        return Err(format!(
            "{file}: a drill follows the scenario's runbook, and this scenario names none\n  = hint: add `runbook: runbooks/{}.md` with a `## Steps` numbered list (docs/drills.md)",
            scenario.name
        ));
    };
    let Some(path) = loaded.runbook_path() else {
        return Err(format!("{file}: the runbook `{runbook}` does not exist\n  = hint: paths are relative to the scenario's directory or its parent"));
    };
    let text = std::fs::read_to_string(&path).map_err(|error| format!("could not read the runbook {}: {error}", path.display()))?;
    let steps = parse_steps(&text).map_err(|error| {
        format!("{}: {error}\n  = hint: a drill reads `## Steps`, a numbered list such as `1. **Confirm detection (by T0+2 min).**` (docs/drills.md)", path.display())
    })?;
    // That every step's action is declared is a scenario check (`scenario::checks`): the scenario would not have loaded.
    for action in &scenario.operator_actions {
        target.check_operator_action(action).map_err(|error| format!("{file}: operator action `{}`: {error}", action.name))?;
    }
    let visibility = Visibility::new(view, scenario, &signal_names(&text));
    Ok((DrillSession::new(runbook.to_string(), steps, scenario.operator_actions.clone()), visibility))
}

/// A scripted drill at full speed: every line must say when it happens.
fn read_script(input: impl BufRead, sender: &UnboundedSender<DrillInput>) -> Result<(), String> {
    let mut problems = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|error| format!("could not read standard input: {error}"))?;
        match parse_line(&line) {
            Ok(Some(input)) if input.at.is_none() => {
                problems.push(format!("line {}: `{}` has no time; at --speed max every command starts with `at T0+…`", number + 1, line.trim()))
            }
            Ok(Some(input)) => {
                let _ = sender.send(input);
            }
            Ok(None) => {}
            Err(message) => problems.push(format!("line {}: {message}", number + 1)),
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("the drill script has problems:\n  {}", problems.join("\n  "))) }
}

/// Live commands from a pipe (a facilitator's tmux, or `tee`): applied as read.
fn read_lines_live(sender: UnboundedSender<DrillInput>) {
    std::thread::spawn(move || {
        for (number, line) in std::io::stdin().lock().lines().enumerate() {
            let Ok(line) = line else { break };
            match parse_line(&line) {
                Ok(Some(input)) => {
                    if sender.send(input).is_err() {
                        break;
                    }
                }
                Ok(None) => {}
                Err(message) => eprintln!("gameday: input line {}: {message}", number + 1),
            }
        }
    });
}

/// T0 of a drill's lines, as the report counts it (docs/metrics.md): when
/// gameday started making the first fault that was put in place, known once
/// it is in place. Faults are made one at a time, so the intent before an
/// apply is that fault's.
#[derive(Default)]
struct FaultClock {
    making: Option<u64>,
    start: Option<u64>,
}

impl FaultClock {
    fn see(&mut self, record: &Record) {
        match record.event {
            crate::journal::Event::FaultIntent { .. } => self.making = Some(record.t),
            crate::journal::Event::FaultApplied { .. } => {
                self.start.get_or_insert(self.making.unwrap_or(record.t));
            }
            _ => {}
        }
    }
}

/// A time as people in a drill say it: from T0 once the fault started.
fn when(at: u64, fault_start: Option<u64>) -> String {
    match fault_start {
        Some(t0) if at >= t0 => format!("T0+{}", fmt_ms(at - t0)),
        Some(t0) => format!("T0−{}", fmt_ms(t0 - at)),
        None => format!("T+{}", fmt_ms(at)),
    }
}

/// Without a terminal: every timeline line the view shows and every
/// refusal, on stderr; and, as `gameday run` logs, a line per phase change
/// and a heartbeat every 30 s of the run's clock, so a log of a live drill
/// shows life between events.
struct Transcript {
    describer: Describer,
    visibility: Visibility,
    fault_clock: FaultClock,
    progress: super::progress::ProgressLines,
}

impl Transcript {
    fn new(visibility: Visibility) -> Self {
        Transcript { describer: Describer::default(), visibility, fault_clock: FaultClock::default(), progress: super::progress::ProgressLines::new(super::progress::HEARTBEAT) }
    }
}

impl Observer for Transcript {
    fn record(&mut self, record: &Record) {
        self.fault_clock.see(record);
        if let Some(line) = self.describer.describe(record).and_then(|line| self.visibility.line(record, line)) {
            eprintln!("{:>12}  {line}", when(record.t, self.fault_clock.start));
        }
    }
    fn refused(&mut self, message: &str) {
        eprintln!("{:>12}  refused: {message}", "");
    }
    fn journal_failed(&mut self, error: &crate::journal::JournalError, record: &Record) {
        eprintln!("{}", super::progress::journal_failure_notice(error, record));
    }
    fn tick(&mut self, view: &LiveView<'_>) {
        let visibility = &self.visibility;
        // The trainees see their probes only, and not when the fault will be reverted.
        if let Some(line) = self.progress.line_showing(view, &when(view.now, view.fault_start), |probe| visibility.shows_probe(probe), visibility.shows_faults()) {
            eprintln!("{line}");
        }
    }
}

/// What the key reader is typing into, shown at the bottom of the console.
#[derive(Default)]
struct Prompt {
    asking: Option<Asking>,
    text: String,
}

impl Prompt {
    /// The prompt's line at the foot of the console, if it is asking: a
    /// question answered by one key shows no text cursor, since nothing is typed.
    fn line(&self) -> Option<String> {
        self.asking.map(|asking| match asking {
            Asking::ConfirmQuit => asking.label().to_string(),
            _ => format!("{}: {}▏", asking.label(), self.text),
        })
    }
}

/// What the console is asking for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asking {
    Note,
    Unclear,
    Observation,
    /// An operator action: Enter for the current step's, or a name.
    Action,
    /// Why the current step is skipped (Enter for no reason).
    SkipReason,
    /// Ending the drill for everyone: one key, `y`.
    ConfirmQuit,
}

impl Asking {
    fn label(self) -> &'static str {
        match self {
            Asking::Note => "note (Enter to save, Esc to cancel)",
            Asking::Unclear => "what is unclear in this step (Enter to save, Esc to cancel)",
            Asking::Observation => "observation (Enter to save, Esc to cancel)",
            Asking::Action => "action: Enter for this step's, or type a name (Esc to cancel)",
            Asking::SkipReason => "why skip this step? (Enter to skip, Esc to cancel)",
            Asking::ConfirmQuit => "end the drill and revert? press y to end, any other key to go on",
        }
    }
}

/// One key in the console: what it sends, if anything. Pure, so the
/// console's keys are tested without a terminal.
fn on_key(prompt: &mut Prompt, key: crossterm::event::KeyCode) -> Option<DrillCommand> {
    use crossterm::event::KeyCode;
    if let Some(asking) = prompt.asking {
        if asking == Asking::ConfirmQuit {
            // One key answers: no Enter the prompt does not ask for.
            prompt.asking = None;
            return matches!(key, KeyCode::Char('y' | 'Y')).then_some(DrillCommand::Quit);
        }
        match key {
            KeyCode::Enter => {
                let text = std::mem::take(&mut prompt.text).trim().to_string();
                prompt.asking = None;
                return match asking {
                    Asking::Note if !text.is_empty() => Some(DrillCommand::Annotate { step: None, text, unclear: false }),
                    Asking::Unclear if !text.is_empty() => Some(DrillCommand::Annotate { step: None, text, unclear: true }),
                    Asking::Observation if !text.is_empty() => Some(DrillCommand::Observe(text)),
                    Asking::Action => Some(DrillCommand::Act((!text.is_empty()).then_some(text))),
                    Asking::SkipReason => Some(DrillCommand::Skip { step: None, reason: (!text.is_empty()).then_some(text) }),
                    _ => None,
                };
            }
            KeyCode::Esc => {
                prompt.asking = None;
                prompt.text.clear();
            }
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            KeyCode::Char(c) => prompt.text.push(c),
            _ => {}
        }
        return None;
    }
    match key {
        KeyCode::Char('a') => return Some(DrillCommand::Acknowledge(None)),
        KeyCode::Char('d') => return Some(DrillCommand::Done(None)),
        KeyCode::Char('s') => prompt.asking = Some(Asking::SkipReason),
        KeyCode::Char('n') => prompt.asking = Some(Asking::Note),
        KeyCode::Char('u') => prompt.asking = Some(Asking::Unclear),
        KeyCode::Char('o') => prompt.asking = Some(Asking::Observation),
        // Two keys for a change to the world: `x`, then Enter (the step's action) or a name.
        KeyCode::Char('x') => prompt.asking = Some(Asking::Action),
        // Ending the session for everyone takes a confirmation.
        KeyCode::Char('q') => prompt.asking = Some(Asking::ConfirmQuit),
        _ => {}
    }
    None
}

/// The full-screen console on a terminal: raw keys in, a redrawn frame out.
struct Console {
    describer: Describer,
    visibility: Visibility,
    fault_clock: FaultClock,
    recent: Vec<String>,
    message: Option<String>,
    prompt: Arc<Mutex<Prompt>>,
    stop: Arc<AtomicBool>,
    last_draw: Option<Instant>,
}

impl Console {
    fn start(sender: UnboundedSender<DrillInput>, interrupt: Arc<Interrupt>, visibility: Visibility) -> std::io::Result<Console> {
        crossterm::terminal::enable_raw_mode()?;
        let mut err = std::io::stderr();
        crossterm::execute!(err, crossterm::terminal::EnterAlternateScreen, crossterm::cursor::Hide)?;
        let prompt = Arc::new(Mutex::new(Prompt::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (reader_prompt, reader_stop) = (prompt.clone(), stop.clone());
        std::thread::spawn(move || read_keys(&sender, &interrupt, &reader_prompt, &reader_stop));
        Ok(Console { describer: Describer::default(), visibility, fault_clock: FaultClock::default(), recent: Vec::new(), message: None, prompt, stop, last_draw: None })
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let mut err = std::io::stderr();
        let _ = crossterm::execute!(err, crossterm::cursor::Show, crossterm::terminal::LeaveAlternateScreen);
        let _ = crossterm::terminal::disable_raw_mode();
        // What happened stays on the screen after the console closes.
        for line in &self.recent {
            eprintln!("{line}");
        }
    }
}

const RECENT_LINES: usize = 8;

impl Observer for Console {
    fn record(&mut self, record: &Record) {
        self.fault_clock.see(record);
        if let Some(line) = self.describer.describe(record).and_then(|line| self.visibility.line(record, line)) {
            self.recent.push(format!("{:>12}  {line}", when(record.t, self.fault_clock.start)));
            if self.recent.len() > 200 {
                self.recent.remove(0);
            }
        }
    }

    fn refused(&mut self, message: &str) {
        self.message = Some(message.to_string());
        // Kept with the recent lines too: a refusal must not vanish at the next redraw.
        self.recent.push(format!("{:>12}  refused: {message}", ""));
    }

    fn journal_failed(&mut self, error: &crate::journal::JournalError, record: &Record) {
        // Kept with the recent lines, which stay on the screen after the console closes.
        let notice = super::progress::journal_failure_notice(error, record);
        self.message = Some(notice.clone());
        self.recent.push(notice);
    }

    fn tick(&mut self, view: &LiveView<'_>) {
        // Redraw at most 10 times a second; the runner may tick more often.
        if self.last_draw.is_some_and(|at| at.elapsed() < StdDuration::from_millis(100)) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let (width, height) = crossterm::terminal::size().unwrap_or((100, 40));
        let prompt = self.prompt.lock().map(|p| p.line()).unwrap_or(None);
        let recent_from = self.recent.len().saturating_sub(RECENT_LINES);
        let lines = frame(view, &self.visibility, &self.recent[recent_from..], self.message.as_deref(), prompt.as_deref());
        let mut out = String::from("\x1b[H");
        for line in lines.iter().take(usize::from(height.max(2)) - 1) {
            let clipped: String = line.chars().take(usize::from(width.max(20)) - 1).collect();
            out.push_str(&clipped);
            out.push_str("\x1b[K\r\n");
        }
        out.push_str("\x1b[J");
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(out.as_bytes());
        let _ = err.flush();
    }
}

/// The console's screen, as lines: the clock, the steps, the probes and
/// faults, what happened last, and the keys.
fn frame(view: &LiveView<'_>, visibility: &Visibility, recent: &[String], message: Option<&str>, prompt: Option<&str>) -> Vec<String> {
    let mut lines = Vec::new();
    let t0 = view.fault_start;
    lines.push(format!("gameday drill · {} · {}", when(view.now, t0), view.phase));
    if let Some(session) = view.drill {
        lines.push(String::new());
        lines.push(format!("Runbook {}", session.runbook));
        let current = session.current();
        for (index, (step, progress)) in session.steps.iter().zip(&session.progress).enumerate() {
            let mark = step_mark(progress, current == Some(index));
            let due = step.due.map(|d| match (t0, progress.finished()) {
                (Some(t0), false) if view.now > t0 + d => format!("  LATE (due T0+{})", fmt_ms(d)),
                (Some(t0), false) => format!("  due in {}", fmt_ms(t0 + d - view.now)),
                _ => format!("  due T0+{}", fmt_ms(d)),
            });
            let action = step.action.as_deref().map(|a| format!("  [x: {a}]")).unwrap_or_default();
            lines.push(format!(" {mark} {:>2}. {}{}{action}", step.number, step.title, due.unwrap_or_default()));
            if current == Some(index)
                && let Some(expected) = &step.expected
            {
                lines.push(format!("        expected: {expected}"));
            }
        }
        if !session.actions.is_empty() {
            let taken = |name: &str| session.taken.iter().any(|(n, _)| n == name);
            let offered: Vec<String> = session.actions.iter().enumerate().map(|(i, a)| format!("{}. {}{}", i + 1, a.name, if taken(&a.name) { " ✔" } else { "" })).collect();
            lines.push(format!("   actions: {}", offered.join("   ")));
        }
    }
    lines.push(String::new());
    for (name, state, observed) in view.probes.iter().filter(|(name, _, _)| visibility.shows_probe(name)) {
        lines.push(format!(" {} {name:<22} {observed}", state.mark()));
    }
    if visibility.shows_faults() {
        for (name, state) in &view.faults {
            lines.push(format!(" ⚡ {name:<22} {state}"));
        }
    }
    lines.push(String::new());
    lines.extend(recent.iter().cloned());
    lines.push(String::new());
    if let Some(message) = message {
        lines.push(format!(" ! {message}"));
    }
    lines.push(match prompt {
        Some(prompt) => format!(" {prompt}"),
        None => " keys: a ack · d done · s skip · n note · u unclear · o observation · x action · q end the drill".to_string(),
    });
    lines
}

fn step_mark(progress: &StepProgress, current: bool) -> &'static str {
    match (progress.done, progress.skipped, progress.acknowledged, current) {
        (Some(_), _, _, _) => "✔",
        (None, Some(_), _, _) => "↷",
        (None, None, Some(_), _) => "◐",
        (None, None, None, true) => "▶",
        _ => " ",
    }
}

/// The key reader: single keys act at once; `n`, `u`, `o` and `x` open a
/// line prompt. Ctrl-C is the same interrupt as the signal.
fn read_keys(sender: &UnboundedSender<DrillInput>, interrupt: &Interrupt, prompt: &Mutex<Prompt>, stop: &AtomicBool) {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, poll, read};
    let send = |command: DrillCommand| {
        let _ = sender.send(DrillInput { at: None, command });
    };
    while !stop.load(Ordering::SeqCst) {
        if !poll(StdDuration::from_millis(100)).unwrap_or(false) {
            continue;
        }
        let Ok(Event::Key(key)) = read() else { continue };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            interrupt.raise();
            continue;
        }
        let Ok(mut p) = prompt.lock() else { return };
        if let Some(command) = on_key(&mut p, key.code) {
            send(command);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_keys_ask_what_they_need_and_nothing_more() {
        use crossterm::event::KeyCode;
        let mut prompt = Prompt::default();
        // `q` asks; `y` alone ends the drill, no Enter needed.
        assert_eq!(on_key(&mut prompt, KeyCode::Char('q')), None);
        assert_eq!(on_key(&mut prompt, KeyCode::Char('y')), Some(DrillCommand::Quit));
        // Any other key keeps the drill going, and is not taken as a command.
        on_key(&mut prompt, KeyCode::Char('q'));
        assert_eq!(prompt.line().as_deref(), Some("end the drill and revert? press y to end, any other key to go on"), "one key: no text cursor");
        assert_eq!(on_key(&mut prompt, KeyCode::Char('a')), None);
        assert_eq!(prompt.asking, None);
        // `s` asks why; what is typed is the reason, not commands.
        assert_eq!(on_key(&mut prompt, KeyCode::Char('s')), None);
        for c in "dns not ours".chars() {
            assert_eq!(on_key(&mut prompt, KeyCode::Char(c)), None, "typed text is not a command");
        }
        assert_eq!(prompt.line().as_deref(), Some("why skip this step? (Enter to skip, Esc to cancel): dns not ours▏"));
        assert_eq!(on_key(&mut prompt, KeyCode::Enter), Some(DrillCommand::Skip { step: None, reason: Some("dns not ours".into()) }));
        // Esc cancels a skip.
        on_key(&mut prompt, KeyCode::Char('s'));
        assert_eq!(on_key(&mut prompt, KeyCode::Esc), None);
        assert_eq!(on_key(&mut prompt, KeyCode::Char('d')), Some(DrillCommand::Done(None)));
    }

    #[test]
    fn speeds_parse() {
        assert_eq!("60".parse::<Speed>(), Ok(Speed::Times(60)));
        assert_eq!("10x".parse::<Speed>(), Ok(Speed::Times(10)));
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert!("0".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
    }

    #[test]
    fn a_script_without_times_is_refused_with_line_numbers() {
        let (sender, _inputs) = unbounded_channel();
        let error = read_script("at T0+1m ack\n\n# a comment\ndone\nat T0+2m dance\n".as_bytes(), &sender).unwrap_err();
        assert!(error.contains("line 4: `done` has no time"), "{error}");
        assert!(error.contains("line 5: unknown command `dance`"), "{error}");
    }

    #[test]
    fn the_frame_shows_steps_due_times_the_current_expectation_and_what_the_view_allows() {
        use crate::probe::ProbeState;
        let step = |number: u32, due: Option<u64>| crate::drill::RunbookStep {
            number,
            title: format!("Step {number}"),
            expected: Some(format!("thing {number}")),
            due,
            action: None,
            line: 1,
        };
        let mut session = DrillSession::new("runbooks/x.md".into(), vec![step(1, None), step(2, Some(120_000)), step(3, Some(600_000))], vec![]);
        session.follow(5, &crate::journal::Event::StepDone { step: 1 });
        let view = LiveView {
            phase: crate::run::Phase::FaultInjected,
            now: 190_000,
            probes: vec![("api", ProbeState::Failing, "HTTP 500"), ("standby-capacity", ProbeState::Healthy, "3 in service"), ("referee", ProbeState::Failing, "HTTP 500")],
            faults: vec![("degrade-us-east-1", "injected")],
            deadlines: vec![],
            drill: Some(&session),
            fault_start: Some(10_000),
            next_revert: None,
        };
        let scenario = crate::scenario::load_file(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/manual-region-failover.yaml")).unwrap().scenario;
        let signals = ["api".to_string(), "standby-capacity".to_string()];
        // The trainees' screen: the probes the team watches, no fault.
        let trainee = frame(&view, &Visibility::new(View::Trainee, &scenario, &signals), &[], None, None).join("\n");
        assert!(trainee.contains(" ✘ api") && trainee.contains(" ✔ standby-capacity"), "{trainee}");
        assert!(!trainee.contains("referee") && !trainee.contains("degrade-us-east-1") && !trainee.contains('⚡'), "{trainee}");
        let visibility = Visibility::new(View::Facilitator, &scenario, &signals);
        let lines = frame(&view, &visibility, &[], Some("step 9 does not exist"), None);
        let text = lines.join("\n");
        assert!(text.contains(" ⚡ degrade-us-east-1      injected") && text.contains("referee"), "{text}");
        assert!(text.contains("T0+3m00s"), "{text}");
        assert!(text.contains(" ✔  1. Step 1"), "{text}");
        assert!(text.contains(" ▶  2. Step 2  LATE (due T0+2m00s)"), "{text}");
        assert!(text.contains("expected: thing 2"), "{text}");
        assert!(text.contains("3. Step 3  due in 7m00s"), "{text}");
        assert!(text.contains("! step 9 does not exist"), "{text}");
    }
}
