//! The command line: clap, progress, confirmation and exit codes. It holds
//! no domain logic; every command calls the library and renders its result.

// First, so its `print!` family shadows the standard one in every module below.
#[macro_use]
mod output;
mod aws_commands;
mod confirm;
mod drill;
mod failure;
mod lifecycle;
mod progress;
mod reports;
mod safety;
mod target;
mod twin;
mod upload;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::environment::aws::AwsEnvironment;
use crate::environment::local::LocalEnvironment;
use crate::environment::sim::{DEFAULT_TOPOLOGY_YAML, SimEnvironment, Topology};
use crate::project::{EnvironmentSpec, Project};
use crate::report::plan::FisPreview;
use crate::run::plan::{self, Plan};
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
    /// Seed for target choice and the simulator. On the simulator, the same
    /// seed gives the same run; elsewhere, the same choice of targets from
    /// the same candidates (a run on real systems cannot be repeated).
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

impl PlanArgs {
    /// The `gameday run` command line that does what this plan shows: the
    /// same scenario, environment, project file and topology, the seed the
    /// plan used (drawn, if none was given: it chose the targets), and the
    /// prediction if one was asked for. Not `--refresh`: the plan has just
    /// imported the twin again. Each word is quoted for a POSIX shell.
    fn run_command(&self, seed: u64) -> String {
        let env = &self.env;
        let mut words = vec!["gameday".to_string(), "run".into(), shell_word(&env.scenario.to_string_lossy())];
        if env.env != "sim" {
            words.extend(["--env".into(), shell_word(&env.env)]);
        }
        for (flag, path) in [("--project", &env.project), ("--topology", &env.topology)] {
            if let Some(path) = path {
                words.extend([flag.into(), shell_word(&path.to_string_lossy())]);
            }
        }
        words.extend(["--seed".into(), seed.to_string()]);
        if self.predict {
            words.extend(["--predict".into(), "--seeds".into(), self.seeds.to_string()]);
        }
        words.join(" ")
    }
}

/// `text` as one word of a POSIX shell's command line: as it is when it
/// holds nothing the shell would read otherwise, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !text.is_empty() && text.chars().all(plain) { text.to_string() } else { format!("'{}'", text.replace('\'', "'\\''")) }
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
        Command::Run(args) => with_runtime(lifecycle::run_command(&args)),
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
    let plan = plan::plan(&mut target, &loaded.scenario, seed, now).await.map_err(|error| Failure::Env { doing: Some("could not plan".into()), error })?;
    print!("{}", crate::report::plan::plan_text(&loaded, &plan, seed, &plan_args.run_command(seed)));
    if let Target::Aws(env) = &target {
        print!("{}", crate::report::plan::fis_previews_text(&fis_previews(env, &plan).await));
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
/// (`actionsMode=skip-all`), beside gameday's; `report::plan` renders them.
async fn fis_previews(env: &AwsEnvironment, plan: &Plan) -> Vec<FisPreview> {
    let mut previews = Vec::new();
    for fault in &plan.faults {
        if let Some(crate::environment::Effect::FisExperiment { template, token, .. }) = &fault.effect {
            let targets = crate::environment::aws::fis::client::preview(&env.clients().fis, template, &format!("{token}-plan")).await;
            previews.push(FisPreview { fault: fault.name.clone(), targets });
        }
    }
    previews
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
