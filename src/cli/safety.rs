//! `gameday status`, `gameday recover` and `gameday halt`: never leave a
//! fault behind, even after a crash.

use std::path::PathBuf;

use clap::Args;

use super::failure::{self, Done, Ended, Failure};
use crate::environment::aws::AwsEnvironment;
use crate::environment::local::LocalEnvironment;
use crate::environment::shell::{self, Signalled};
use crate::environment::sim::{SimEnvironment, Topology};
use crate::project::{EnvironmentSpec, Project};
use crate::run::lock::{self, EnvironmentLock};
use crate::run::recover::{self, Certainty, OpenRun};

use super::Target;

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[arg(long, value_name = "DIR", default_value = "runs")]
    runs_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct RecoverArgs {
    /// The run directory; default: every run under --runs-dir with faults in place.
    #[arg(value_name = "RUN_DIR")]
    run_dir: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "runs")]
    runs_dir: PathBuf,
    /// The project file naming the run's environment (for AWS runs).
    #[arg(long, value_name = "FILE")]
    project: Option<PathBuf>,
    /// Do not ask before reverting on a real environment.
    #[arg(long)]
    yes: bool,
}

#[derive(Args, Debug)]
pub struct HaltArgs {
    /// Lift the halt, so game days may start again.
    #[arg(long)]
    clear: bool,
    /// Why, for whoever finds the halt.
    #[arg(long, value_name = "TEXT", default_value = "emergency stop")]
    reason: String,
}

pub fn status_command(args: &StatusArgs) -> Ended {
    let runs = recover::runs(&args.runs_dir);
    if let Some(halt) = lock::halted() {
        println!("HALTED since {} by {}: {} (`gameday halt --clear` lifts it)", halt.at, halt.by, halt.reason);
    }
    let mut attention = false;
    let mut live = 0;
    for run in &runs {
        if let Some(pid) = run.live_pid {
            live += 1;
            println!("{}: running now (pid {pid}): it reverts its own faults", run.dir.display());
            if let Certainty::CannotTell(why) = run.certainty() {
                // The run knows what it made, but if it dies now, nobody will.
                attention = true;
                println!("  CANNOT TELL what it would leave in place if it crashed: {why}. Read it by hand.");
            }
            continue;
        }
        if !run.needs_attention() {
            if !run.finished {
                println!("{}: did not finish, but nothing is left in place", run.dir.display());
            }
            continue;
        }
        attention = true;
        print_run_state(run);
    }
    if !attention {
        let running = if live > 0 { format!(", {live} still running") } else { String::new() };
        println!("no faults left behind ({} run(s) under {}{running})", runs.len(), args.runs_dir.display());
        return Ok(Done::Success);
    }
    println!("run `gameday recover RUN_DIR` to revert what the journals show in place");
    Ok(Done::LeftInPlace)
}

/// What a run's journal says is in place, and whether it can be trusted.
pub(super) fn print_run_state(run: &OpenRun) {
    let who = if run.scenario.is_empty() { String::new() } else { format!(" — `{}` on {} (account {})", run.scenario, run.environment, run.account) };
    println!("{}{who}{}:", run.dir.display(), if run.finished { "" } else { ", did not finish" });
    if let Certainty::CannotTell(why) = run.certainty() {
        println!("  CANNOT TELL what is in place: {why}. Read it by hand.");
        if !run.in_place.is_empty() {
            println!("  what the readable part shows in place:");
        }
    }
    for (fault, effect) in &run.in_place {
        println!("  - {fault} ({}) is still in place", effect.kind_name());
    }
}

pub async fn recover_command(args: &RecoverArgs) -> Ended {
    let runs: Vec<OpenRun> = match &args.run_dir {
        Some(dir) if !dir.join("journal.jsonl").exists() => {
            return Err(Failure::Unreadable(format!("{} has no journal.jsonl: is it a run directory?", dir.display())));
        }
        Some(dir) => vec![recover::inspect(dir)],
        None => recover::runs(&args.runs_dir).into_iter().filter(OpenRun::needs_attention).collect(),
    };
    let mut worst = Ok(Done::Success);
    for run in &runs {
        if let Some(pid) = run.live_pid {
            // Its own revert is under way or to come; a second one would race it.
            let refused = Failure::Refused(format!(
                "{} is still running (pid {pid}): it reverts its own faults. Stop it with Ctrl-C, `kill -TERM {pid}` or `gameday halt`; then run `gameday recover` if anything is left",
                run.dir.display()
            ));
            worst = failure::worse(worst, Err(refused.report()));
            continue;
        }
        let ended = if run.in_place.is_empty() {
            if run.certainty() == Certainty::Known {
                println!("{}: nothing in place", run.dir.display());
            }
            Ok(Done::Success)
        } else {
            // Printed now, in its place among the run's lines.
            recover_run(run, args).await.map_err(Failure::report)
        };
        let ended = match run.certainty() {
            Certainty::Known => ended,
            Certainty::CannotTell(why) => {
                let shown = match (run.in_place.is_empty(), &ended) {
                    (true, _) => "its readable part shows nothing in place",
                    (false, Ok(Done::Success)) => "what it shows in place was reverted above",
                    (false, _) => "what it shows in place could not all be reverted (above)",
                };
                println!("{}: CANNOT TELL whether more is in place: {why}. Read it by hand; {shown}.", run.dir.display());
                if !run.environment.is_empty() {
                    println!("  once you have checked by hand that nothing is left, free the environment for new game days: rm {}", lock::lock_path(&run.environment).display());
                }
                // Whatever the revert did, the rest is unknown: a person must look.
                failure::worse(ended, Ok(Done::LeftInPlace))
            }
        };
        worst = failure::worse(worst, ended);
    }
    if runs.is_empty() && args.run_dir.is_none() {
        println!("nothing in place under {}", args.runs_dir.display());
    }
    release_stale_locks();
    worst
}

/// Releases every environment lock whose holder is gone and whose run has
/// nothing left in place (or never wrote a journal, so made nothing).
fn release_stale_locks() {
    for (environment, holder) in lock::all_locks() {
        if lock::process_alive(holder.pid) {
            continue;
        }
        let journal = holder.run_dir.join("journal.jsonl");
        // A run directory made but no journal yet: nothing was made. No run
        // directory at all (moved, or a relative path from an older lock):
        // nothing can be known, so the lock stays.
        let settled = if journal.exists() {
            let run = recover::inspect(&holder.run_dir);
            run.certainty() == Certainty::Known && run.in_place.is_empty()
        } else {
            holder.run_dir.is_absolute() && holder.run_dir.is_dir()
        };
        if settled && EnvironmentLock::release_stale(&environment) {
            println!("released the lock of `{environment}` (pid {} is gone; nothing of its run is in place)", holder.pid);
        }
    }
}

/// The environment to revert a run's faults in. The simulator and `local`
/// need no project file, so a broken `gameday.yaml` cannot block them.
fn recover_spec(run: &OpenRun, args: &RecoverArgs) -> Result<EnvironmentSpec, String> {
    match Project::load(args.project.as_deref()) {
        Ok(project) => Project::environment(project.as_ref(), &run.environment).map_err(|e| e.to_string()),
        Err(error) => match Project::environment(None, &run.environment) {
            Ok(builtin) => {
                eprintln!("warning: {error}; `{}` is built in, so recovering without it", run.environment);
                Ok(builtin)
            }
            Err(_) => Err(error.to_string()),
        },
    }
}

async fn recover_run(run: &OpenRun, args: &RecoverArgs) -> Ended {
    let scenario = super::reports::run_scenario(&run.dir).ok();
    if run.environment.is_empty() {
        // The `run_started` record is damaged: which environment is unknown,
        // so nothing is reverted automatically. Say what to undo by hand.
        println!("{}: the journal does not say which environment this run was on (its `run_started` record cannot be read); undo by hand:", run.dir.display());
        for (fault, effect) in &run.in_place {
            println!("  - {fault}: {}", effect.manual_steps().join("\n    then: "));
        }
        return Ok(Done::LeftInPlace);
    }
    // What is in place first; "reverting" only once the revert may go ahead (a refused confirmation reverts nothing).
    println!("{}: {} fault(s) of `{}` in place on {}", run.dir.display(), run.in_place.len(), run.scenario, run.environment);
    let spec =
        recover_spec(run, args).map_err(|error| Failure::Usage(format!("{error}\n  = hint: recover needs the project file that names `{}` (--project)", run.environment)))?;
    if !matches!(spec, EnvironmentSpec::Sim { .. }) && !args.yes {
        super::confirm::confirm_by_name(&format!("environment `{}`", run.environment), &run.scenario)?;
    }
    println!("  reverting them");
    let mut target = match spec {
        EnvironmentSpec::Sim { .. } => {
            // The simulated world ended with its process: only command faults are real.
            Target::Sim(SimEnvironment::new(&Topology::default_topology().map_err(|error| Failure::Environment(error.to_string()))?, 0))
        }
        EnvironmentSpec::Local => Target::Local(LocalEnvironment::new(&[]).map_err(|error| Failure::Environment(error.to_string()))?),
        EnvironmentSpec::Aws(spec) => {
            let Some(scenario) = scenario else {
                return Err(Failure::Unreadable(format!("{} has no readable scenario copy", run.dir.display())));
            };
            let env = AwsEnvironment::connect(&run.environment, &spec, &scenario)
                .await
                .map_err(|error| Failure::Env { doing: Some(format!("could not connect to `{}`", run.environment)), error })?;
            Target::Aws(Box::new(env))
        }
    };
    let (results, journal_error) = recover::recover(run, &mut target).await;
    let mut ended = Ok(Done::Success);
    for done in &results {
        match &done.result {
            Ok(outcome) => {
                let skipped = if outcome.skipped.is_empty() {
                    String::new()
                } else {
                    format!("; already gone: {}", outcome.skipped.iter().map(|(r, why)| format!("{r} ({why})")).collect::<Vec<_>>().join(", "))
                };
                println!("  reverted {}{}{skipped}", done.fault, if outcome.restored.is_empty() { String::new() } else { format!(": {}", outcome.restored.join(", ")) });
            }
            Err(error) => {
                ended = Ok(Done::LeftInPlace);
                println!("  COULD NOT revert {}: {error}\n    by hand: {}", done.fault, done.manual_steps.join("\n    then: "));
            }
        }
    }
    if let Some(error) = journal_error {
        // The reverts ran, but the journal still shows them in place.
        eprintln!(
            "error: {error}: the journal does not record these reverts, so it still shows the faults in place; once it can be written, run `gameday recover {}` again (reverts are idempotent)",
            run.dir.display()
        );
        ended = Ok(Done::LeftInPlace);
    }
    ended
}

pub fn halt_command(args: &HaltArgs) -> Ended {
    if args.clear {
        let lifted = lock::clear_halt().map_err(|error| Failure::Unreadable(format!("could not lift the halt: {error}")))?;
        println!("{}", if lifted { "halt lifted: game days may start again" } else { "gameday was not halted" });
        return Ok(Done::Success);
    }
    lock::halt(&args.reason).map_err(|error| Failure::Unreadable(format!("could not write {}: {error}", lock::halt_file().display())))?;
    println!("HALTED: running game days stop and revert; none may start until `gameday halt --clear`");
    // Running game days see the halt file at their next turn; a SIGTERM
    // wakes those on the wall clock at once (they revert on SIGTERM too).
    let locks = lock::state_dir().join("locks");
    for entry in std::fs::read_dir(&locks).into_iter().flatten().filter_map(Result::ok) {
        let Some(holder) = std::fs::read_to_string(entry.path()).ok().and_then(|t| serde_json::from_str::<lock::LockInfo>(&t).ok()) else { continue };
        if holder.pid != std::process::id() && lock::process_alive(holder.pid) {
            let sent = shell::send_signal(Signalled::Process(holder.pid), libc::SIGTERM);
            println!("  {} pid {} (`{}`, {})", if sent { "signalled" } else { "could not signal" }, holder.pid, holder.scenario, holder.run_dir.display());
        }
    }
    Ok(Done::Success)
}
