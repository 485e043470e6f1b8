//! The twin's commands: `gameday sim import` (and the prediction in
//! `gameday plan --predict`, rendered by `report::prediction`). Reading the account is
//! `environment::aws::import`; building the topology is
//! `environment::sim::import`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::failure::{Done, Ended, Failure};
use crate::environment::EnvError;
use crate::environment::aws::{self, import};
use crate::environment::sim::Topology;
use crate::project::{AwsSpec, EnvironmentSpec, Project};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The AWS environment to read, as named in the project file.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// The project file naming environments; default: `gameday.yaml` here, if any.
    #[arg(long, value_name = "FILE")]
    pub project: Option<PathBuf>,
    /// Write the topology here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
}

fn load_project(project: Option<&Path>) -> Result<Option<Project>, Failure> {
    Project::load(project).map_err(Failure::Project)
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The AWS environment to read, as named in the project file.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// The project file naming environments; default: `gameday.yaml` here, if any.
    #[arg(long, value_name = "FILE")]
    pub project: Option<PathBuf>,
    /// A topology made by `gameday sim import` (and perhaps corrected by hand).
    #[arg(value_name = "TOPOLOGY")]
    pub topology: PathBuf,
}

/// `sim diff`: what changed in the account since the twin was imported.
pub async fn diff_command(args: &DiffArgs) -> Ended {
    let saved = super::load_topology(Some(&args.topology))?;
    let now = import_twin(args.project.as_deref(), &args.env).await?.topology;
    let drift = crate::environment::sim::import::drift(&saved, &now);
    if drift.is_empty() {
        println!("no drift: what `gameday sim import` reads of `{}` is as {} says", args.env, args.topology.display());
    } else {
        println!("`{}` changed since {} ({} change(s); {} first, the account now second):", args.env, args.topology.display(), drift.len(), args.topology.display());
        for d in &drift {
            println!("  - {}: {}", d.resource, d.change);
        }
        println!("import it again (`gameday sim import --env {}`) to predict on the account as it is", args.env);
    }
    Ok(Done::Success)
}

/// The AWS environment `name` of the project file, or why not.
pub fn aws_spec(project: Option<&Path>, name: &str) -> Result<AwsSpec, Failure> {
    let project = load_project(project)?;
    match Project::environment(project.as_ref(), name) {
        Ok(EnvironmentSpec::Aws(spec)) => Ok(spec),
        Ok(_) => Err(Failure::Usage(format!(
            "environment `{name}` is not an AWS account; a twin is read from one\n  = hint: name an environment of `kind: aws` in gameday.yaml (docs/aws.md)"
        ))),
        Err(error) => Err(Failure::Usage(format!("{error}\n  = hint: name AWS environments in gameday.yaml (docs/aws.md)"))),
    }
}

/// Reads the account of environment `name` and builds its twin.
pub async fn import_twin(project: Option<&Path>, name: &str) -> Result<crate::environment::sim::import::Imported, Failure> {
    let spec = aws_spec(project, name)?;
    let failed = |error: EnvError| Failure::Env { doing: Some(format!("could not import environment `{name}`")), error };
    let clients = aws::clients_for(&spec).await.map_err(failed)?;
    let account = aws::check_account(name, &spec, &clients).await.map_err(failed)?;
    let snapshot = import::read_account(&clients, &account, &spec.region, jiff::Timestamp::now().to_string()).await.map_err(failed)?;
    let imported = crate::environment::sim::import::build(&snapshot);
    // The file must be one `--topology` accepts; a twin that is not is a bug here, not the account's.
    if let Err(error) = Topology::parse(&imported.yaml, "the imported topology") {
        return Err(Failure::Environment(format!("internal error: {error}\n  = hint: please report this with the account's shape (no secrets are in it)")));
    }
    Ok(imported)
}

pub async fn import_command(args: &ImportArgs) -> Ended {
    if let Some(path) = args.output.as_deref().filter(|p| p.exists() && !args.force) {
        return Err(Failure::Usage(format!("{} already exists\n  = hint: pass --force to overwrite it", path.display())));
    }
    let imported = import_twin(args.project.as_deref(), &args.env).await?;
    let t = &imported.topology;
    let summary = format!(
        "{} group(s), {} load balancer(s), {} failover record(s), {} alarm(s); {} thing(s) not modelled, listed in the header",
        t.auto_scaling_groups.len(),
        t.load_balancers.len(),
        t.dns.len(),
        t.alarms.len(),
        imported.not_modelled.len()
    );
    match &args.output {
        None => {
            print!("{}", imported.yaml);
            eprintln!("gameday: imported `{}` (account {}): {summary}", args.env, t.account);
        }
        Some(path) => {
            std::fs::write(path, &imported.yaml).map_err(|error| Failure::Unreadable(format!("could not write {}: {error}", path.display())))?;
            println!("imported `{}` (account {}) into {}: {summary}", args.env, t.account, path.display());
            println!("next: `gameday plan SCENARIO --predict --topology {}`", path.display());
        }
    }
    Ok(Done::Success)
}

/// The twin `plan --predict` runs on: `--topology`, else the environment's
/// own (a simulator's topology, or an AWS account imported now, read-only).
async fn twin_topology(args: &super::EnvArgs, refresh: bool) -> Result<(Topology, String), Failure> {
    if let Some(path) = &args.topology {
        if refresh {
            refresh_twin(args, path).await?;
        }
        return Ok((super::load_topology(Some(path))?, path.display().to_string()));
    }
    let project = load_project(args.project.as_deref())?;
    match Project::environment(project.as_ref(), &args.env) {
        Ok(EnvironmentSpec::Sim { topology }) => {
            let source = topology.as_ref().map_or("the built-in topology".to_string(), |p| p.display().to_string());
            Ok((super::load_topology(topology.as_deref())?, source))
        }
        Ok(EnvironmentSpec::Aws(_)) => {
            let imported = import_twin(args.project.as_deref(), &args.env).await?;
            let source =
                format!("account {} imported just now ({} thing(s) not modelled; `gameday sim import` shows them)", imported.topology.account, imported.not_modelled.len());
            Ok((imported.topology, source))
        }
        Ok(EnvironmentSpec::Local) => Err(Failure::Usage("`local` has no twin to predict on\n  = hint: pass `--topology FILE` (see `gameday sim import`)".into())),
        Err(error) => Err(Failure::Usage(error.to_string())),
    }
}

/// `--refresh`: the account of the AWS `--env` imported again into `path`.
/// Says what changed since the file was written (as `sim diff`), and keeps
/// the file it replaces as `PATH.previous`, so hand corrections are not lost.
async fn refresh_twin(args: &super::EnvArgs, path: &Path) -> Result<(), Failure> {
    // A file that is not a topology is not replaced: it may not be a twin at all.
    let saved = if path.exists() { Some(super::load_topology(Some(path))?) } else { None };
    let imported = import_twin(args.project.as_deref(), &args.env).await?;
    match &saved {
        None => eprintln!("gameday: imported `{}` (account {}) into {}", args.env, imported.topology.account, path.display()),
        Some(saved) => {
            let drift = crate::environment::sim::import::drift(saved, &imported.topology);
            let previous = previous_path(path);
            if let Err(error) = std::fs::copy(path, &previous) {
                return Err(Failure::Unreadable(format!("could not keep {} as {}: {error}; the twin was not refreshed", path.display(), previous.display())));
            }
            if drift.is_empty() {
                eprintln!("gameday: refreshed {} from `{}`: no drift; the previous file is {}", path.display(), args.env, previous.display());
            } else {
                eprintln!("gameday: refreshed {} from `{}`, {} change(s) since it was written (before first, the account now second):", path.display(), args.env, drift.len());
                for d in &drift {
                    eprintln!("  - {}: {}", d.resource, d.change);
                }
                eprintln!("  the previous file is {}: carry over any correction made by hand", previous.display());
            }
        }
    }
    std::fs::write(path, &imported.yaml).map_err(|error| Failure::Unreadable(format!("could not write {}: {error}", path.display())))
}

/// `twin.yaml` → `twin.yaml.previous`.
fn previous_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".previous");
    path.with_file_name(name)
}

/// The scenario on the twin for seeds 1 to `seeds`; with `refresh`, the
/// twin (`--topology`) imported again first.
pub async fn prediction(
    args: &super::EnvArgs,
    scenario: &crate::scenario::Scenario,
    seeds: u64,
    refresh: bool,
    now: jiff::Timestamp,
) -> Result<crate::predict::Prediction, Failure> {
    let (topology, source) = twin_topology(args, refresh).await?;
    let seeds: Vec<u64> = (1..=seeds).collect();
    // The seeds run on threads of their own; this worker waits for them.
    Ok(tokio::task::block_in_place(|| crate::predict::predict(scenario, &topology, &source, &seeds, now)))
}

/// `plan --predict`: the prediction, printed.
pub async fn predict_command(args: &super::EnvArgs, scenario: &crate::scenario::Scenario, seeds: u64, refresh: bool, now: jiff::Timestamp) -> Result<(), Failure> {
    print!("{}", crate::report::prediction::prediction_text(&prediction(args, scenario, seeds, refresh, now).await?));
    Ok(())
}

/// Keeps a run's prediction in its directory, for the reports; says why not.
pub fn write_prediction(run_dir: &Path, prediction: &crate::predict::Prediction) -> std::io::Result<()> {
    let path = run_dir.join(crate::predict::PREDICTION_FILE);
    let text = serde_json::to_string_pretty(prediction).unwrap_or_default() + "\n";
    std::fs::write(&path, text).inspect_err(|error| eprintln!("error: could not write {}: {error}", path.display()))
}

/// A run's kept prediction, if it has one. A file that cannot be read is
/// said, not silently taken for no prediction.
pub fn read_prediction(run_dir: &Path) -> Option<crate::predict::Prediction> {
    let path = run_dir.join(crate::predict::PREDICTION_FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    serde_json::from_str(&text).map_err(|error| eprintln!("warning: {} cannot be read ({error}); the reports show no prediction", path.display())).ok()
}
