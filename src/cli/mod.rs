//! The command line: clap, progress, confirmation and exit codes. It holds
//! no domain logic; every command calls the library and renders its result.

// First, so its `print!` family shadows the standard one in every module below.
#[macro_use]
mod output;
mod aws_commands;
mod drill;
mod failure;
mod progress;
mod reports;
mod safety;
mod target;
mod twin;
mod upload;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::environment::aws::AwsEnvironment;
use crate::environment::local::LocalEnvironment;
use crate::environment::sim::{DEFAULT_TOPOLOGY_YAML, SimEnvironment, Topology};
use crate::journal::Journal;
use crate::project::{EnvironmentSpec, Project};
use crate::run::clock::{AnyClock, Interrupt, VirtualClock, WallClock};
use crate::run::metrics::fmt_ms;
use crate::run::plan::{self, Plan};
use crate::run::{RunConfig, Runner};
use crate::scenario::{self, LoadedScenario};
use failure::{Done, Ended, Failure};
use target::Target;

#[derive(Parser, Debug)]
#[command(name = "gameday", version, about = "Chaos-engineering game days on AWS: inject faults, watch recovery, learn.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check scenario files and report every problem with file:line:column.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// Show what a run would touch and how each guard judges it; with `--predict`, what the twin predicts. No side effects.
    Plan(Box<PlanArgs>),
    /// Run a game day: check guards and steady state, inject, watch, revert, measure, report.
    Run(Box<RunArgs>),
    /// A training drill: the fault is live (in real or scaled time) while people work the runbook in a console; their response is measured too.
    Drill(Box<drill::DrillArgs>),
    /// The built-in simulated AWS region.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Render a run's reports again from its directory (journal and scenario copy), keeping what people wrote.
    Report(Box<reports::ReportArgs>),
    /// Recovery times per expectation over past runs, as distributions; overdue cadences.
    History(Box<reports::HistoryArgs>),
    /// List scenarios overdue for their cadence (exit 9 when any is), for cron or CI.
    Due(Box<reports::DueArgs>),
    /// Print the least-privilege IAM policy a scenario needs on AWS.
    IamPolicy(Box<aws_commands::IamPolicyArgs>),
    /// Export a scenario for another engine.
    #[command(subcommand)]
    Export(aws_commands::ExportCommand),
    /// List runs whose journal shows faults still in place (exit 8 when any).
    Status(Box<safety::StatusArgs>),
    /// Revert whatever a run's journal shows as still in place (after kill -9, a crash, a lost laptop). Safe to run twice.
    Recover(Box<safety::RecoverArgs>),
    /// Emergency stop: every game day on this machine stops and reverts, and none may start until `--clear`.
    Halt(Box<safety::HaltArgs>),
}

#[derive(Args, Debug)]
struct ValidateArgs {
    /// Scenario files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct EnvArgs {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// Where to run: `sim` (the built-in simulated region, the default),
    /// `local` (command faults and real http/tcp/dns/command probes on this
    /// machine), or an environment named in the project file (e.g. an AWS account).
    #[arg(long, value_name = "NAME", default_value = "sim")]
    env: String,
    /// The project file naming environments; default: `gameday.yaml` here, if any.
    #[arg(long, value_name = "FILE")]
    project: Option<PathBuf>,
    /// A simulator topology (see `gameday sim init`, `gameday sim import`);
    /// default: the built-in one. With an AWS `--env`, the twin `--predict` runs on.
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// Seed for target choice and the simulator; the same seed gives the same run.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

#[derive(Args, Debug)]
struct PlanArgs {
    #[command(flatten)]
    env: EnvArgs,
    /// Also run the scenario on the twin (`--topology`, the simulator's
    /// topology, or the `--env` AWS account imported read-only) for several
    /// seeds, and show each expectation's predicted detection and recovery
    /// times beside its deadline (docs/simulator.md, "Your account as a twin").
    #[arg(long)]
    predict: bool,
    /// How many seeds the prediction runs (seeds 1 to N).
    #[arg(long, value_name = "N", default_value_t = crate::predict::DEFAULT_SEEDS, value_parser = clap::value_parser!(u64).range(1..=10_000), requires = "predict")]
    seeds: u64,
    /// With `--predict --topology FILE` on an AWS `--env`: import the
    /// account again into FILE before predicting. What changed since is
    /// printed, and the file it replaces is kept as FILE.previous (for the
    /// corrections made by hand).
    #[arg(long, requires_all = ["predict", "topology"])]
    refresh: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    env: EnvArgs,
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
    /// Print no progress: no live block on a terminal, no progress lines (phase changes, a heartbeat every 30 s) in a log.
    #[arg(long)]
    no_progress: bool,
    /// Before the run, predict it on the twin (as `plan --predict`), keep the
    /// prediction in the run directory (`prediction.json`), and show it
    /// beside the measurements in the reports.
    #[arg(long)]
    predict: bool,
    /// How many seeds the prediction runs (seeds 1 to N).
    #[arg(long, value_name = "N", default_value_t = crate::predict::DEFAULT_SEEDS, value_parser = clap::value_parser!(u64).range(1..=10_000), requires = "predict")]
    seeds: u64,
    /// With `--predict --topology FILE` on an AWS `--env`: import the
    /// account again into FILE before predicting. What changed since is
    /// printed, and the file it replaces is kept as FILE.previous (for the
    /// corrections made by hand).
    #[arg(long, requires_all = ["predict", "topology"])]
    refresh: bool,
    #[command(flatten)]
    upload: upload::UploadArgs,
}

#[derive(Subcommand, Debug)]
enum SimCommand {
    /// Write the built-in topology to a file to edit, then pass it with `--topology`.
    Init {
        #[arg(value_name = "PATH", default_value = "sim-topology.yaml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Build a twin of an AWS environment: read its account, with read-only calls, into a topology file for `--topology`.
    Import(Box<twin::ImportArgs>),
    /// Say what changed in an AWS account since its twin was imported (read-only calls).
    Diff(Box<twin::DiffArgs>),
}

/// Runs the command line and returns the process exit code.
pub fn main(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(failure::clap_code(&error));
        }
    };
    // A closed stderr must not turn a log line into the subscriber's own panicking `eprintln!`.
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).log_internal_errors(false).try_init();
    let ended = match cli.command {
        Command::Validate(args) => validate(&args.files),
        Command::Schema => {
            print!("{}", scenario::json_schema_text());
            Ok(Done::Success)
        }
        Command::Plan(args) => with_runtime(plan_command(&args)),
        Command::Run(args) => with_runtime(run_command(&args)),
        Command::Drill(args) => with_runtime(drill::drill_command(&args)),
        Command::Sim(SimCommand::Init { path, force }) => sim_init(&path, force),
        Command::Sim(SimCommand::Import(args)) => with_runtime(twin::import_command(&args)),
        Command::Sim(SimCommand::Diff(args)) => with_runtime(twin::diff_command(&args)),
        Command::Report(args) => reports::report_command(&args),
        Command::History(args) => reports::history_command(&args),
        Command::Due(args) => reports::due_command(&args),
        Command::IamPolicy(args) => aws_commands::iam_policy_command(&args),
        Command::Export(command) => aws_commands::export_command(&command),
        Command::Status(args) => safety::status_command(&args),
        Command::Recover(args) => with_runtime(safety::recover_command(&args)),
        Command::Halt(args) => safety::halt_command(&args),
    };
    // The one place an ending becomes a number.
    ExitCode::from(failure::exit(ended))
}

fn with_runtime<T>(future: impl std::future::Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    // Two workers: real-time probes keep their cadence while the loop works.
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime.block_on(future),
        Err(error) => Err(Failure::Environment(format!("could not start the runtime: {error}"))),
    }
}

fn validate(files: &[PathBuf]) -> Ended {
    let mut worst = Ok(Done::Success);
    for file in files {
        let ended = match scenario::load_file(file) {
            Ok(loaded) => {
                println!(
                    "{}: ok ({} probe(s), {} fault(s), {} expected recoveries)",
                    file.display(),
                    loaded.scenario.steady_state.len(),
                    loaded.scenario.faults.len(),
                    loaded.scenario.expected_recoveries.len()
                );
                Ok(Done::Success)
            }
            Err(error) => Err(Failure::Scenario(error).report()),
        };
        // An unreadable file outranks an invalid one: it was not checked at all.
        worst = failure::worse(worst, ended);
    }
    worst
}

fn load(path: &Path) -> Result<LoadedScenario, Failure> {
    scenario::load_file(path).map_err(Failure::Scenario)
}

/// Resolves `--env` through the project file and connects. For AWS this
/// checks the caller identity against the environment's account before
/// anything else is called.
async fn environment(args: &EnvArgs, seed: u64, scenario: &scenario::Scenario) -> Result<Target, Failure> {
    let project = Project::load(args.project.as_deref()).map_err(Failure::Project)?;
    let spec = Project::environment(project.as_ref(), &args.env).map_err(|error| {
        Failure::Usage(format!("{error}\n  = hint: `sim` (the built-in simulated region) and `local` (this machine) always exist; name others in gameday.yaml (docs/aws.md)"))
    })?;
    match spec {
        EnvironmentSpec::Sim { topology } => simulator(args.topology.as_deref().or(topology.as_deref()), seed).map(Target::Sim),
        EnvironmentSpec::Local => LocalEnvironment::new(&scenario.steady_state).map(Target::Local).map_err(|error| Failure::Invalid(error.to_string())),
        EnvironmentSpec::Aws(spec) => match AwsEnvironment::connect(&args.env, &spec, scenario).await {
            Ok(env) => Ok(Target::Aws(Box::new(env))),
            Err(error) => Err(Failure::Env { doing: Some(format!("could not connect to environment `{}`", args.env)), error }),
        },
    }
}

/// Anything but the simulator touches real systems: it needs `--yes`, or the
/// scenario's name typed at a prompt. Without a terminal and without
/// `--yes`, it is refused before any side effect.
fn confirm(target: &Target, scenario: &str, yes: bool) -> Result<(), Failure> {
    if target.is_simulator() || yes {
        return Ok(());
    }
    ask_for_name(
        &format!("run `{scenario}` against {}", target.describe()),
        &format!("This runs `{scenario}` against {}: faults will be injected for real.", target.describe()),
        scenario,
    )
}

/// A `region_switch` step in `mode: recovery` is a real disaster recovery:
/// it runs only when the scenario says so and `--confirm recovery` names
/// it; `--yes` is not enough. Asked on the simulator too, so a rehearsal
/// asks of people what the real run will.
fn confirm_recovery(scenario: &crate::scenario::Scenario, confirm_text: Option<&str>) -> Result<(), Failure> {
    let recovery: Vec<&str> = scenario
        .faults
        .iter()
        .filter(|f| matches!(f.action, crate::scenario::FaultAction::RegionSwitch { mode: crate::scenario::RegionSwitchMode::Recovery, .. }))
        .map(|f| f.name.as_str())
        .collect();
    if recovery.is_empty() || confirm_text == Some("recovery") {
        return Ok(());
    }
    Err(Failure::Refused(format!(
        "refusing to run: step `{}` executes its Region switch plan in `mode: recovery` (a real disaster recovery), and the run was not confirmed for it\n  = hint: pass --confirm recovery, or use `mode: practice` to rehearse",
        recovery.join("`, `")
    )))
}

/// Asks for the scenario's name at a terminal before touching `what`.
fn confirm_by_name(what: &str, scenario: &str) -> Result<(), Failure> {
    ask_for_name(&format!("touch {what}"), &format!("This reverts faults of `{scenario}` on {what}."), scenario)
}

/// The typed confirmation: refused without a terminal; `action` completes
/// "refusing to …", `warning` is shown before the prompt.
fn ask_for_name(action: &str, warning: &str, scenario: &str) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Refused(format!("refusing to {action} without confirmation\n  = hint: pass --yes to confirm (stdin is not a terminal, so gameday cannot ask)")));
    }
    eprint!("{warning}\nType the scenario name to continue: ");
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if answer.trim() == scenario { Ok(()) } else { Err(Failure::Refused(format!("confirmation did not match `{scenario}`; nothing was done"))) }
}

fn simulator(topology: Option<&Path>, seed: u64) -> Result<SimEnvironment, Failure> {
    Ok(SimEnvironment::new(&load_topology(topology)?, seed))
}

/// The topology at `path`, or the built-in one; prints why not.
fn load_topology(topology: Option<&Path>) -> Result<Topology, Failure> {
    match topology {
        Some(path) => Topology::load(path),
        None => Topology::default_topology(),
    }
    .map_err(Failure::Topology)
}

fn seed_or_random(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        u64::try_from(nanos % 1_000_000).unwrap_or(0)
    })
}

async fn plan_command(plan_args: &PlanArgs) -> Ended {
    let args = &plan_args.env;
    let loaded = load(&args.scenario)?;
    let seed = seed_or_random(args.seed);
    let mut target = environment(args, seed, &loaded.scenario).await?;
    let now = started_at(&target)?;
    let plan = plan::plan(&mut target, &loaded.scenario, seed, now).await.map_err(|error| Failure::Environment(error.to_string()))?;
    print!("{}", render_plan(&loaded, &plan, seed));
    if let Target::Aws(env) = &target {
        print!("{}", fis_previews(env, &plan).await);
    }
    if plan_args.predict {
        twin::predict_command(args, &loaded.scenario, plan_args.seeds, plan_args.refresh, now).await?;
    }
    // The code `run` would end with, before touching anything.
    Ok(match plan.refusal() {
        None => Done::Success,
        Some(refusal) => Done::Ran(refusal.outcome()),
    })
}

/// For faults FIS will make: FIS's own view of the targets, from a dry run
/// (`actionsMode=skip-all`), beside gameday's.
async fn fis_previews(env: &AwsEnvironment, plan: &Plan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for fault in &plan.faults {
        if let Some(crate::environment::Effect::FisExperiment { template, token, .. }) = &fault.effect {
            let _ = writeln!(out, "FIS preview of `{}` (dry run, actionsMode=skip-all):", fault.name);
            match crate::environment::aws::fis::client::preview(&env.clients().fis, template, &format!("{token}-plan")).await {
                Ok(targets) if targets.is_empty() => {
                    let _ = writeln!(out, "  FIS resolved no targets");
                }
                Ok(targets) => {
                    for target in targets {
                        let _ = writeln!(out, "  - {target}");
                    }
                }
                Err(error) => {
                    let _ = writeln!(out, "  could not preview: {error}");
                }
            }
        }
    }
    out
}

fn render_plan(loaded: &LoadedScenario, plan: &Plan, seed: u64) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let scenario = &loaded.scenario;
    let _ = writeln!(
        out,
        "Plan for `{}` on {} (account {}, seed {seed}){}",
        scenario.name,
        plan.identity.environment,
        plan.identity.account,
        if plan.identity.simulated { " — simulated, nothing real is touched" } else { "" }
    );
    let mark = |v: &crate::guard::Verdict| {
        if v.passed {
            "ok  "
        } else if v.enforced {
            "FAIL"
        } else {
            "note"
        }
    };
    for v in &plan.verdicts {
        let _ = writeln!(out, "  [{}] {}: {}{}", mark(v), v.guard, v.detail, if v.enforced { "" } else { " (not enforced on the simulator)" });
    }
    for fault in &plan.faults {
        let _ = writeln!(
            out,
            "\nFault `{}` ({}) at T+{}{}",
            fault.name,
            fault.kind,
            fmt_ms(fault.starts_at),
            if fault.holds_for > 0 { format!(", held {}", fmt_ms(fault.holds_for)) } else { ", at once (cannot be undone)".into() }
        );
        if !fault.regions.is_empty() {
            let _ = writeln!(out, "  regions: {}", fault.regions.join(", "));
        }
        if !fault.zones.is_empty() {
            let _ = writeln!(out, "  zones:   {}", fault.zones.join(", "));
        }
        for resource in &fault.other_resources {
            let _ = writeln!(out, "  touches: {resource}");
        }
        // A gray failure is modelled on the simulator; what it maps to on AWS is said beside it.
        if plan.identity.simulated
            && let Some(gray) = scenario.faults.iter().find(|f| f.name == fault.name && matches!(f.action, scenario::FaultAction::GrayFailure { .. }))
        {
            let _ = match crate::environment::aws::fis::gray_failure_document(gray) {
                // FIS's "Cross-AZ Traffic Slowdown": the simulator models no flow between zones, so it says what it runs instead.
                Ok(document) if document.by_sources() => writeln!(
                    out,
                    "  on AWS: FIS aws:ssm:send-command of {document} on the zone's instances, for their traffic to other zones only (Cross-AZ Traffic Slowdown; the simulator impairs every request served from the zone) (docs/aws.md)"
                ),
                Ok(document) => writeln!(out, "  on AWS: FIS aws:ssm:send-command of {document} on the zone's instances (docs/aws.md)"),
                Err(why) => writeln!(out, "  on AWS: refused: {why}"),
            };
        }
        if plan.identity.simulated
            && let Some(scenario::FaultAction::RegionOutage { region, .. }) = scenario.faults.iter().find(|f| f.name == fault.name).map(|f| &f.action)
        {
            let _ = writeln!(out, "  on AWS: FIS {} cuts the environment Region's subnets off from {region} (docs/aws.md)", crate::environment::aws::fis::REGION_ISOLATION_ACTION);
        }
        let s = &fault.selection;
        if s.matched > 0 || !s.chosen.is_empty() {
            let _ = writeln!(out, "  targets: {} chosen of {} matched", s.chosen.len(), s.matched);
            for c in &s.chosen {
                let _ = writeln!(out, "    - {} {} {}", c.id, c.zone, c.group.as_deref().unwrap_or("(no group)"));
            }
            for (id, why) in &s.excluded {
                let _ = writeln!(out, "    x {id}: {why}");
            }
        }
        for v in &s.verdicts {
            let _ = writeln!(out, "  [{}] {}: {}", mark(v), v.guard, v.detail);
        }
    }
    let _ = writeln!(out);
    match plan.refusal() {
        None => {
            let _ = writeln!(out, "The guards allow this run. `gameday run {}` would do the above.", loaded.file.display());
        }
        Some(plan::Refusal::Guard { guard, detail, fault }) => {
            let _ = writeln!(out, "REFUSED by guard {guard}{}: {detail}", fault.map(|f| format!(" (fault `{f}`)")).unwrap_or_default());
        }
        Some(plan::Refusal::NoTargets { fault, detail }) => {
            let _ = writeln!(out, "REFUSED: fault `{fault}` would not take effect: {detail}");
        }
    }
    out
}

fn sim_init(path: &Path, force: bool) -> Ended {
    if path.exists() && !force {
        return Err(Failure::Usage(format!("{} already exists\n  = hint: pass --force to overwrite it", path.display())));
    }
    std::fs::write(path, DEFAULT_TOPOLOGY_YAML).map_err(|error| Failure::Unreadable(format!("could not write {}: {error}", path.display())))?;
    println!("wrote the built-in topology to {}; edit it and pass `--topology {}`", path.display(), path.display());
    Ok(Done::Success)
}

/// Set by tests: the moment a simulator run or plan starts, so that what
/// the guards say of time windows and blackouts does not depend on the day
/// the test runs (docs/simulator.md). A real environment is judged on the
/// real clock only, so there the variable is refused rather than ignored.
const TEST_NOW: &str = "GAMEDAY_TEST_NOW";

fn started_at(target: &Target) -> Result<jiff::Timestamp, Failure> {
    let Some(value) = std::env::var_os(TEST_NOW) else {
        return Ok(jiff::Timestamp::now());
    };
    if !target.is_simulator() {
        return Err(Failure::Usage(format!(
            "{TEST_NOW} is set, and it is for tests on the simulator only: {} is judged on the real clock\n  = hint: unset {TEST_NOW}",
            target.describe()
        )));
    }
    value
        .to_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| Failure::Usage(format!("{TEST_NOW}={} is not a timestamp\n  = hint: write one such as 2026-12-02T16:30:00Z", value.to_string_lossy())))
}

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
struct Loaded {
    loaded: LoadedScenario,
    seed: u64,
    target: Target,
}

async fn load_and_connect(env: &EnvArgs) -> Result<Loaded, Failure> {
    let loaded = load(&env.scenario)?;
    let seed = seed_or_random(env.seed);
    let target = environment(env, seed, &loaded.scenario).await?;
    Ok(Loaded { loaded, seed, target })
}

/// A run about to start: confirmed, with its directory, lock and journal.
struct Started {
    started: jiff::Timestamp,
    run_dir: PathBuf,
    lock: Option<crate::run::lock::EnvironmentLock>,
    journal: Journal,
    interrupt: std::sync::Arc<Interrupt>,
}

/// Everything between a connected environment and the first side effect:
/// the halt switch, confirmation, the run directory, the environment lock,
/// the scenario copy and the journal, and the signal listener.
fn start_run(ready: &Loaded, env_name: &str, runs_dir: &Path, yes: bool, confirm_text: Option<&str>) -> Result<Started, Failure> {
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
    let run_dir = create_run_dir(runs_dir, &loaded.scenario.name, started)
        .map_err(|error| Failure::Unreadable(format!("could not create a run directory in {}: {error}", runs_dir.display())))?;
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
    let interrupt = Interrupt::new();
    spawn_signal_listener(interrupt.clone(), run_dir.clone());
    Ok(Started { started, run_dir, lock, journal, interrupt })
}

/// A drill's session, speed and command channel, handed to the runner.
type DrillParts = (crate::drill::DrillSession, String, tokio::sync::mpsc::UnboundedReceiver<crate::drill::DrillInput>);

/// Runs the game day (or drill) to its end, reverting from the journal if
/// the runner panics, then writes the reports.
async fn execute<O: crate::run::Observer>(ready: &mut Loaded, mut run: Started, clock: AnyClock, observer: O, config: RunConfig, drill: Option<DrillParts>) -> Ended {
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
            let run = crate::run::recover::inspect(&run_dir);
            let (recovered, journal_error) = crate::run::recover::recover(&run, &mut ready.target).await;
            let mut failed: Vec<String> =
                recovered.into_iter().filter_map(|r| r.result.err().map(|e| format!("{}: {e}; by hand: {}", r.fault, r.manual_steps.join("; ")))).collect();
            if let crate::run::recover::Certainty::CannotTell(why) = run.certainty() {
                failed.push(format!("cannot tell what else is in place: {why}; read it by hand"));
            }
            if let Some(error) = journal_error {
                failed.push(format!("{error}: the journal still shows the reverted faults in place; run `gameday recover {}` once it can be written", run_dir.display()));
            }
            if failed.is_empty() {
                eprintln!("gameday: every fault was reverted; please report the panic");
                // Said above, in the words a panic needs.
                return Err(Failure::Reported(Box::new(Failure::Environment(format!("internal error (panic: {panic})")))));
            }
            return Err(Failure::RevertIncomplete(failed.join("\n  ")));
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

async fn run_command(args: &RunArgs) -> Ended {
    let mut ready = load_and_connect(&args.env).await?;
    // Before anything is touched: a twin that cannot be read stops the run here.
    let prediction = if args.predict { Some(twin::prediction(&args.env, &ready.loaded.scenario, args.seeds, args.refresh, jiff::Timestamp::now()).await?) } else { None };
    // Before anything is touched: evidence that would have nowhere to go stops the run here.
    let upload = args.upload.prepare().await?;
    let run = start_run(&ready, &args.env.env, &args.runs_dir, args.yes, args.confirm.as_deref())?;
    if let Some(prediction) = &prediction {
        print!("{}", twin::render_prediction(prediction));
        // The run goes on without it: the prediction is for the debrief, not a guard.
        if twin::write_prediction(&run.run_dir, prediction).is_err() {
            eprintln!("warning: the reports will show no prediction");
        }
    }
    let progress = progress::Progress::new(!args.no_progress, std::io::stderr().is_terminal(), !ready.target.is_simulator());
    eprintln!("gameday: running `{}` on {} (seed {}); run directory {}", ready.loaded.scenario.name, ready.target.describe(), ready.seed, run.run_dir.display());
    let clock = if ready.target.is_simulator() { AnyClock::Virtual(VirtualClock::default()) } else { AnyClock::Wall(WallClock::start()) };
    let mut config = RunConfig::new(ready.seed, clock.started_at().unwrap_or(run.started));
    config.halt_file = Some(crate::run::lock::halt_file());
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

fn spawn_signal_listener(interrupt: std::sync::Arc<Interrupt>, run_dir: PathBuf) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else { return };
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                match interrupt.raise() {
                    1 if crate::run::lock::halted().is_some() => eprintln!("\ngameday: halted (`gameday halt`) — stopping injection and reverting every fault"),
                    1 => eprintln!("\ngameday: interrupted — stopping injection and reverting every fault"),
                    2 => eprintln!("\ngameday: still reverting; gameday does not leave faults behind. Press Ctrl-C once more to ABANDON the revert (faults may stay in place)."),
                    _ => abandon(&run_dir),
                }
            }
        }
        #[cfg(not(unix))]
        while tokio::signal::ctrl_c().await.is_ok() {
            interrupt.raise();
        }
    });
}

/// The third interrupt: stop now, and say exactly what is left in place.
fn abandon(run_dir: &Path) -> ! {
    eprintln!("\ngameday: revert ABANDONED.");
    let run = crate::run::recover::inspect(run_dir);
    if let crate::run::recover::Certainty::CannotTell(why) = run.certainty() {
        eprintln!("cannot tell what is in place: {why}; read it by hand");
    }
    if run.in_place.is_empty() {
        eprintln!("nothing is left in place.");
    } else {
        eprintln!("left in place (finish with `gameday recover {}`, or by hand):", run_dir.display());
        for (fault, effect) in &run.in_place {
            eprintln!("  - {fault}: {}", effect.manual_steps().join("; "));
        }
    }
    std::process::exit(i32::from(Done::LeftInPlace.code()))
}
