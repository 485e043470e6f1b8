//! A game day's (or drill's) life in the command line: connect, confirm,
//! make the run directory, lock and journal, run, revert from the journal
//! after a panic, write the reports and print the summary; and the
//! Ctrl-C/SIGTERM listener that turns signals into a revert.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant};

use super::confirm::{confirm, confirm_recovery};
use super::failure::{self, Done, Ended, Failure};
use super::target::Target;
use super::{EnvArgs, RunArgs, environment, load, progress, reports, seed_or_random, started_at, twin};
use crate::journal::Journal;
use crate::run::clock::{AnyClock, Interrupt, VirtualClock, WallClock};
use crate::run::metrics::fmt_ms;
use crate::run::{RunConfig, Runner};
use crate::scenario::LoadedScenario;

/// Makes `runs/<scenario>-<UTC timestamp>/` before the run, so a bad path
/// fails before anything is touched.
fn create_run_dir(runs_dir: &Path, scenario: &str, started: jiff::Timestamp) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(runs_dir)?;
    let stamp = started.strftime("%Y%m%dT%H%M%SZ").to_string();
    for attempt in 0..100 {
        let name = if attempt == 0 { format!("{scenario}-{stamp}") } else { format!("{scenario}-{stamp}-{attempt}") };
        let dir = runs_dir.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many runs in the same second"))
}

/// A scenario loaded, its environment connected and the seed chosen;
/// nothing made yet.
pub(super) struct Loaded {
    pub(super) loaded: LoadedScenario,
    pub(super) seed: u64,
    pub(super) target: Target,
}

pub(super) async fn load_and_connect(env: &EnvArgs) -> Result<Loaded, Failure> {
    let loaded = load(&env.scenario)?;
    let seed = seed_or_random(env.seed);
    let target = environment(env, seed, &loaded.scenario).await?;
    Ok(Loaded { loaded, seed, target })
}

/// A run about to start: confirmed, with its directory, lock and journal.
pub(super) struct Started {
    pub(super) started: jiff::Timestamp,
    pub(super) run_dir: PathBuf,
    pub(super) lock: Option<crate::run::lock::EnvironmentLock>,
    pub(super) journal: Journal,
    pub(super) interrupt: std::sync::Arc<Interrupt>,
}

/// Everything between a connected environment and the first side effect:
/// the halt switch, confirmation, the run directory, the environment lock,
/// the scenario copy and the journal, and the signal listener.
pub(super) fn start_run(ready: &Loaded, env_name: &str, runs_dir: &Path, yes: bool, confirm_text: Option<&str>) -> Result<Started, Failure> {
    let (loaded, target) = (&ready.loaded, &ready.target);
    confirm_recovery(&loaded.scenario, confirm_text)?;
    if let Some(halt) = crate::run::lock::halted() {
        return Err(Failure::Refused(format!(
            "gameday is halted (since {} by {}: {}); no game day may start\n  = hint: when it is safe, run `gameday halt --clear`",
            halt.at, halt.by, halt.reason
        )));
    }
    let started = started_at(target)?;
    confirm(target, &loaded.scenario.name, yes)?;
    // From here a Ctrl-C or SIGTERM is gameday's to handle: listened for
    // before the run directory and the lock exist, so that no signal can
    // end gameday holding them (the run then stops before injecting, 130).
    // Not before the confirmation: a Ctrl-C at its prompt ends gameday.
    let interrupt = Interrupt::new();
    let abandon = std::sync::Arc::new(Abandon { environment: env_name.to_string(), run_dir: std::sync::OnceLock::new() });
    spawn_signal_listener(interrupt.clone(), abandon.clone())?;
    hold_for_a_test();
    let run_dir = create_run_dir(runs_dir, &loaded.scenario.name, started)
        .map_err(|error| Failure::Unreadable(format!("could not create a run directory in {}: {error}", runs_dir.display())))?;
    let _ = abandon.run_dir.set(run_dir.clone());
    // One game day per real environment at a time; the simulator is per process.
    let lock = if target.is_simulator() {
        None
    } else {
        match crate::run::lock::EnvironmentLock::acquire(env_name, &loaded.scenario.name, &run_dir) {
            Ok(lock) => Some(lock),
            Err(error) => {
                let _ = std::fs::remove_dir(&run_dir);
                return Err(Failure::Refused(error.to_string()));
            }
        }
    };
    if let Err(error) = reports::write_scenario_copy(&run_dir, loaded) {
        return Err(Failure::Unreadable(format!("could not keep the scenario as run in {}: {error}", run_dir.display())));
    }
    let journal = Journal::create(&run_dir.join("journal.jsonl")).map_err(|error| Failure::Unreadable(error.to_string()))?;
    Ok(Started { started, run_dir, lock, journal, interrupt })
}

/// For gameday's own tests only: with `GAMEDAY_TEST_HOLD_BEFORE_RUN_DIR=PATH`
/// a run, once it listens for signals and before it makes its run
/// directory, writes `PATH.waiting` and waits (up to a minute) for PATH to
/// exist, so a test can signal it at exactly that point.
fn hold_for_a_test() {
    let Some(go) = std::env::var_os("GAMEDAY_TEST_HOLD_BEFORE_RUN_DIR").map(PathBuf::from) else { return };
    let mut waiting = go.clone().into_os_string();
    waiting.push(".waiting");
    let _ = std::fs::write(&waiting, "");
    let until = Instant::now() + StdDuration::from_secs(60);
    while !go.exists() && Instant::now() < until {
        std::thread::sleep(StdDuration::from_millis(20));
    }
}

/// A drill's session, speed and command channel, handed to the runner.
pub(super) type DrillParts = (crate::drill::DrillSession, String, tokio::sync::mpsc::UnboundedReceiver<crate::drill::DrillInput>);

/// Runs the game day (or drill) to its end, reverting from the journal if
/// the runner panics, then writes the reports.
/// A run's settings as `run` and `drill` make them: `gameday halt` is
/// watched, and the revert backoff is `REVERT_BACKOFF` or, for the binary's
/// own tests only, `GAMEDAY_TEST_REVERT_BACKOFF_MS` (a test of a revert that
/// keeps failing would otherwise wait out 1 s + 2 s at each of its two sweeps).
pub(super) fn run_config(seed: u64, started_at: jiff::Timestamp) -> RunConfig {
    let mut config = RunConfig::new(seed, started_at);
    config.halt_file = Some(crate::run::lock::halt_file());
    if let Some(backoff) = std::env::var("GAMEDAY_TEST_REVERT_BACKOFF_MS").ok().and_then(|ms| ms.parse().ok()) {
        config.revert_backoff = backoff;
    }
    config
}

pub(super) async fn execute<O: crate::run::Observer>(ready: &mut Loaded, mut run: Started, clock: AnyClock, observer: O, config: RunConfig, drill: Option<DrillParts>) -> Ended {
    let lock = run.lock.take();
    let run_dir = run.run_dir.clone();
    let ended = execute_run(ready, run, clock, observer, config, drill).await;
    if failure::may_leave_in_place(&ended)
        && let Some(lock) = lock
    {
        // Something may still be in place: no other game day may start
        // on this environment until `recover` has settled the journal.
        lock.keep();
        eprintln!("gameday: the environment stays locked until `gameday recover {}` settles what is left", run_dir.display());
    }
    ended
}

async fn execute_run<O: crate::run::Observer>(ready: &mut Loaded, run: Started, clock: AnyClock, observer: O, config: RunConfig, drill: Option<DrillParts>) -> Ended {
    use crate::run::panic::catch_panic;
    let Started { run_dir, journal, interrupt, .. } = run;
    let scenario = &ready.loaded.scenario;
    let runner = Runner::new(scenario, &mut ready.target, clock, observer, journal, config, interrupt);
    let runner = match drill {
        Some((session, speed, inputs)) => runner.with_drill(session, speed, inputs),
        None => runner,
    };
    let finished = match catch_panic(runner.run()).await {
        Ok(finished) => finished,
        Err(panic) => {
            // The runner is gone; the journal holds every intent. Revert from it.
            eprintln!("gameday: internal error (panic: {panic}); reverting every fault the journal shows in place");
            return Err(match crate::run::recover::after_panic(&run_dir, &mut ready.target).await {
                Ok(()) => {
                    eprintln!("gameday: every fault was reverted; please report the panic");
                    // Said above, in the words a panic needs.
                    Failure::Reported(Box::new(Failure::Environment(format!("internal error (panic: {panic})"))))
                }
                Err(unsettled) => Failure::RevertIncomplete(unsettled.iter().map(|u| unsettled_line(u, &run_dir)).collect::<Vec<_>>().join("\n  ")),
            });
        }
    };
    let unwritten = finished.journal.unwritten();
    if !unwritten.is_empty() {
        // The journal on disk lacks these: they exist only here now.
        eprintln!("gameday: {} record(s) could not be written to {}; here they are, in order:", unwritten.len(), finished.journal.path().display());
        for record in unwritten {
            eprintln!("{}", serde_json::to_string(record).unwrap_or_else(|_| format!("{record:?}")));
        }
    }
    let result = &finished.result;
    let written = reports::write_reports(&run_dir, scenario, result, finished.records.view());
    print_summary(result, &run_dir, written);
    Ok(Done::Ran(result.outcome.clone()))
}

/// What a person must do about one thing the revert after a panic left.
fn unsettled_line(unsettled: &crate::run::recover::Unsettled, run_dir: &Path) -> String {
    use crate::run::recover::Unsettled;
    match unsettled {
        Unsettled::NotReverted { fault, error, manual_steps } => format!("{fault}: {error}; by hand: {}", manual_steps.join("; ")),
        Unsettled::CannotTell(why) => format!("cannot tell what else is in place: {why}; read it by hand"),
        Unsettled::JournalUnwritten(error) => {
            format!("{error}: the journal still shows the reverted faults in place; run `gameday recover {}` once it can be written", run_dir.display())
        }
    }
}

pub(super) async fn run_command(args: &RunArgs) -> Ended {
    let mut ready = load_and_connect(&args.env).await?;
    // Before anything is touched: a twin that cannot be read stops the run here.
    let prediction = if args.predict { Some(twin::prediction(&args.env, &ready.loaded.scenario, args.seeds, args.refresh, jiff::Timestamp::now()).await?) } else { None };
    // Before anything is touched: evidence that would have nowhere to go stops the run here.
    let upload = args.upload.prepare().await?;
    let run = start_run(&ready, &args.env.env, &args.runs_dir, args.yes, args.confirm.as_deref())?;
    if let Some(prediction) = &prediction {
        print!("{}", crate::report::prediction::prediction_text(prediction));
        // The run goes on without it: the prediction is for the debrief, not a guard.
        if twin::write_prediction(&run.run_dir, prediction).is_err() {
            eprintln!("warning: the reports will show no prediction");
        }
    }
    let progress = progress::Progress::new(!args.no_progress, std::io::stderr().is_terminal(), !ready.target.is_simulator());
    eprintln!("gameday: running `{}` on {} (seed {}); run directory {}", ready.loaded.scenario.name, ready.target.describe(), ready.seed, run.run_dir.display());
    let clock = if ready.target.is_simulator() { AnyClock::Virtual(VirtualClock::default()) } else { AnyClock::Wall(WallClock::start()) };
    let config = run_config(ready.seed, clock.started_at().unwrap_or(run.started));
    let run_dir = run.run_dir.clone();
    let ended = execute(&mut ready, run, clock, progress, config, None).await;
    match &upload {
        // The outcome as the journal holds it, read back as `gameday report` reads it.
        Some(upload) => match reports::load_run(&run_dir) {
            Ok((scenario, _, result)) => upload.send(&run_dir, &scenario.name, result.outcome.kind(), ended).await,
            Err(_) => upload.send(&run_dir, &ready.loaded.scenario.name, "unknown", ended).await,
        },
        None => ended,
    }
}

fn print_summary(result: &crate::run::RunResult, run_dir: &Path, reports_written: bool) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", result.outcome.summary());
    for e in &result.expectations {
        let recover = crate::report::tables::time_to_recover(e, result);
        let _ = writeln!(
            out,
            "  {} {:<58} detect {:>12}  recover {:>10}  (deadline {}{})",
            if e.met { "✔" } else { "✘" },
            e.name,
            match e.time_to_detect {
                Some(t) => fmt_ms(t),
                None if e.detection_signals.is_empty() => "not measured".into(),
                None => "never".into(),
            },
            recover,
            fmt_ms(e.deadline_after_fault()),
            // A deadline a shared objective set says so: its RTO.
            e.objective.as_ref().map_or(String::new(), |o| format!(", the `{}` objective's RTO", o.class.name()))
        );
    }
    if reports_written {
        let _ = writeln!(out, "report: {} (also report.html, junit.xml, result.json)", run_dir.join("report.md").display());
    } else {
        let _ = writeln!(out, "the reports could not all be written (see above); once the disk has room, `gameday report {}` renders them from the journal", run_dir.display());
    }
}

/// Refused when the signals cannot be listened for: a Ctrl-C would then end
/// gameday with its faults in place.
fn spawn_signal_listener(interrupt: std::sync::Arc<Interrupt>, abandon: std::sync::Arc<Abandon>) -> Result<(), Failure> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // Registered here, before the run starts, not inside the task: a task
        // not yet polled when the first Ctrl-C came would leave the default
        // action in place, and the signal would end gameday without a revert.
        let (mut int, mut term) = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(int), Ok(term)) => (int, term),
            (Err(error), _) | (_, Err(error)) => return Err(Failure::Environment(format!("could not listen for Ctrl-C and SIGTERM ({error}); nothing was done"))),
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                match interrupt.raise() {
                    1 if crate::run::lock::halted().is_some() => eprintln!("\ngameday: halted (`gameday halt`) — stopping injection and reverting every fault"),
                    1 => eprintln!("\ngameday: interrupted — stopping injection and reverting every fault"),
                    2 => eprintln!("\ngameday: still reverting; gameday does not leave faults behind. Press Ctrl-C once more to ABANDON the revert (faults may stay in place)."),
                    _ => abandon.now(),
                }
            }
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            interrupt.raise();
        }
    });
    Ok(())
}

/// What the third interrupt needs: the environment whose lock the run
/// holds, and the run directory once it exists.
struct Abandon {
    environment: String,
    run_dir: std::sync::OnceLock<PathBuf>,
}

impl Abandon {
    /// The third interrupt: stop now, and say exactly what is left in
    /// place, from the journal. Something left in place (or a journal that
    /// cannot tell) keeps the environment locked until `gameday recover`
    /// (exit 8); nothing left frees it, and gameday was interrupted (130).
    fn now(&self) -> ! {
        eprintln!("\ngameday: revert ABANDONED.");
        let Some(run_dir) = self.run_dir.get() else {
            eprintln!("nothing is left in place: no fault was made.");
            std::process::exit(i32::from(crate::exit_code::INTERRUPTED));
        };
        let run = crate::run::recover::inspect(run_dir);
        let certainty = run.certainty();
        if let crate::run::recover::Certainty::CannotTell(why) = &certainty {
            eprintln!("cannot tell what is in place: {why}; read it by hand");
        }
        if run.in_place.is_empty() && !matches!(certainty, crate::run::recover::Certainty::CannotTell(_)) {
            eprintln!("nothing is left in place; `gameday report {}` renders what the journal holds.", run_dir.display());
            crate::run::lock::release_own(&self.environment);
            std::process::exit(i32::from(crate::exit_code::INTERRUPTED));
        }
        if run.in_place.is_empty() {
            eprintln!("nothing is known to be left in place.");
        } else {
            eprintln!("left in place (finish with `gameday recover {}`, or by hand):", run_dir.display());
            for (fault, effect) in &run.in_place {
                eprintln!("  - {fault}: {}", effect.manual_steps().join("; "));
            }
        }
        std::process::exit(i32::from(Done::LeftInPlace.code()))
    }
}
