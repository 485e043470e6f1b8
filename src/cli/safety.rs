//! `gameday status`, `gameday recover` and `gameday halt`: never leave a
//! fault behind, even after a crash.

use std::path::PathBuf;

use clap::Args;

use crate::environment::aws::AwsEnvironment;
use crate::environment::local::LocalEnvironment;
use crate::environment::sim::{SimEnvironment, Topology};
use crate::exit_code;
use crate::project::{EnvironmentSpec, Project};
use crate::run::lock::{self, EnvironmentLock};
use crate::run::recover::{self, OpenRun};

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

fn describe(effect: &crate::environment::Effect) -> String {
    serde_json::to_value(effect).ok().and_then(|v| v["effect"].as_str().map(str::to_string)).unwrap_or_default()
}

pub fn status_command(args: &StatusArgs) -> u8 {
    let runs = recover::runs(&args.runs_dir);
    let open: Vec<&OpenRun> = runs.iter().filter(|r| !r.in_place.is_empty()).collect();
    if let Some(halt) = lock::halted() {
        println!("HALTED since {} by {}: {} (`gameday halt --clear` lifts it)", halt.at, halt.by, halt.reason);
    }
    for run in runs.iter().filter(|r| !r.finished && r.in_place.is_empty()) {
        println!("{}: did not finish, but nothing is left in place", run.dir.display());
    }
    if open.is_empty() {
        println!("no faults in place ({} run(s) under {})", runs.len(), args.runs_dir.display());
        return exit_code::SUCCESS;
    }
    for run in &open {
        println!("{} — `{}` on {} (account {}){}:", run.dir.display(), run.scenario, run.environment, run.account, if run.finished { "" } else { ", did not finish" });
        for (fault, effect) in &run.in_place {
            println!("  - {fault} ({}) is still in place", describe(effect));
        }
    }
    println!("run `gameday recover RUN_DIR` to revert them");
    exit_code::REVERT_INCOMPLETE
}

pub async fn recover_command(args: &RecoverArgs) -> u8 {
    let runs: Vec<OpenRun> = match &args.run_dir {
        Some(dir) => match recover::inspect(dir) {
            Ok(run) => vec![run],
            Err(error) => {
                eprintln!("error: could not read the journal of {}: {error}", dir.display());
                return exit_code::UNREADABLE;
            }
        },
        None => recover::runs(&args.runs_dir).into_iter().filter(|r| !r.in_place.is_empty()).collect(),
    };
    let mut worst = exit_code::SUCCESS;
    let mut any = false;
    for run in &runs {
        if run.in_place.is_empty() {
            println!("{}: nothing in place", run.dir.display());
            EnvironmentLock::release_stale(&run.environment);
            continue;
        }
        any = true;
        worst = worst.max(recover_run(run, args).await);
    }
    if !any && args.run_dir.is_none() {
        println!("nothing in place under {}", args.runs_dir.display());
    }
    worst
}

async fn recover_run(run: &OpenRun, args: &RecoverArgs) -> u8 {
    println!("{}: reverting {} fault(s) of `{}` on {}", run.dir.display(), run.in_place.len(), run.scenario, run.environment);
    let scenario = std::fs::read_to_string(run.dir.join(super::reports::SCENARIO_COPY)).ok().and_then(|t| crate::scenario::parse_str(&t, None).ok());
    let spec = match Project::load(args.project.as_deref()).map_err(|e| e.to_string()).and_then(|p| Project::environment(p.as_ref(), &run.environment).map_err(|e| e.to_string())) {
        Ok(spec) => spec,
        Err(error) => {
            eprintln!("error: {error}\n  = hint: recover needs the project file that names `{}` (--project)", run.environment);
            return exit_code::USAGE;
        }
    };
    if !matches!(spec, EnvironmentSpec::Sim { .. }) && !args.yes {
        if let Err(code) = super::confirm_by_name(&format!("environment `{}`", run.environment), &run.scenario) {
            return code;
        }
    }
    let results = match spec {
        EnvironmentSpec::Sim { .. } => {
            // The simulated world ended with its process: nothing real is left.
            let Ok(topology) = Topology::default_topology() else { return exit_code::ENVIRONMENT_ERROR };
            recover::recover(run, &mut SimEnvironment::new(&topology, 0)).await
        }
        EnvironmentSpec::Local => match LocalEnvironment::new(&[]) {
            Ok(mut env) => recover::recover(run, &mut env).await,
            Err(error) => {
                eprintln!("error: {error}");
                return exit_code::ENVIRONMENT_ERROR;
            }
        },
        EnvironmentSpec::Aws(spec) => {
            let Some(scenario) = scenario else {
                eprintln!("error: {} has no readable scenario copy", run.dir.display());
                return exit_code::UNREADABLE;
            };
            match AwsEnvironment::connect(&run.environment, &spec, &scenario).await {
                Ok(mut env) => recover::recover(run, &mut env).await,
                Err(error) => {
                    eprintln!("error: could not connect to `{}`: {error}", run.environment);
                    return exit_code::ENVIRONMENT_ERROR;
                }
            }
        }
    };
    let results = match results {
        Ok(results) => results,
        Err(error) => {
            eprintln!("error: could not write the journal of {}: {error}", run.dir.display());
            return exit_code::UNREADABLE;
        }
    };
    let mut code = exit_code::SUCCESS;
    for done in results {
        match done.result {
            Ok(outcome) => {
                let skipped = if outcome.skipped.is_empty() {
                    String::new()
                } else {
                    format!("; already gone: {}", outcome.skipped.iter().map(|(r, why)| format!("{r} ({why})")).collect::<Vec<_>>().join(", "))
                };
                println!("  reverted {}{}{skipped}", done.fault, if outcome.restored.is_empty() { String::new() } else { format!(": {}", outcome.restored.join(", ")) });
            }
            Err(error) => {
                code = exit_code::REVERT_INCOMPLETE;
                println!("  COULD NOT revert {}: {error}\n    by hand: {}", done.fault, done.manual_steps.join("\n    then: "));
            }
        }
    }
    if code == exit_code::SUCCESS {
        EnvironmentLock::release_stale(&run.environment);
    }
    code
}

pub fn halt_command(args: &HaltArgs) -> u8 {
    if args.clear {
        return match lock::clear_halt() {
            Ok(true) => {
                println!("halt lifted: game days may start again");
                exit_code::SUCCESS
            }
            Ok(false) => {
                println!("gameday was not halted");
                exit_code::SUCCESS
            }
            Err(error) => {
                eprintln!("error: could not lift the halt: {error}");
                exit_code::UNREADABLE
            }
        };
    }
    if let Err(error) = lock::halt(&args.reason) {
        eprintln!("error: could not write {}: {error}", lock::halt_file().display());
        return exit_code::UNREADABLE;
    }
    println!("HALTED: running game days stop and revert; none may start until `gameday halt --clear`");
    // Running game days see the halt file at their next turn; a SIGTERM
    // wakes those on the wall clock at once (they revert on SIGTERM too).
    let locks = lock::state_dir().join("locks");
    for entry in std::fs::read_dir(&locks).into_iter().flatten().filter_map(Result::ok) {
        let Some(holder) = std::fs::read_to_string(entry.path()).ok().and_then(|t| serde_json::from_str::<lock::LockInfo>(&t).ok()) else { continue };
        if holder.pid != std::process::id() && lock::process_alive(holder.pid) {
            let sent = std::process::Command::new("kill").args(["-TERM", &holder.pid.to_string()]).status().is_ok_and(|s| s.success());
            println!("  {} pid {} (`{}`, {})", if sent { "signalled" } else { "could not signal" }, holder.pid, holder.scenario, holder.run_dir.display());
        }
    }
    exit_code::SUCCESS
}
