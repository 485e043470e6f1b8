//! The twin's commands: `gameday sim import` (and the prediction in
//! `gameday plan --predict`, rendered here). Reading the account is
//! `environment::aws::import`; building the topology is
//! `environment::sim::import`.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::environment::EnvError;
use crate::environment::aws::{self, import};
use crate::environment::sim::Topology;
use crate::exit_code;
use crate::project::{AwsSpec, EnvironmentSpec, Project, ProjectError};

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

/// The AWS environment `name` of the project file, or the exit code of why not.
pub fn aws_spec(project: Option<&Path>, name: &str) -> Result<AwsSpec, u8> {
    let project = Project::load(project).map_err(|error| {
        eprintln!("error: {error}");
        match error {
            ProjectError::Unreadable { .. } => exit_code::UNREADABLE,
            _ => exit_code::INVALID_INPUT,
        }
    })?;
    match Project::environment(project.as_ref(), name) {
        Ok(EnvironmentSpec::Aws(spec)) => Ok(spec),
        Ok(_) => {
            eprintln!("error: environment `{name}` is not an AWS account; a twin is read from one\n  = hint: name an environment of `kind: aws` in gameday.yaml (docs/aws.md)");
            Err(exit_code::USAGE)
        }
        Err(error) => {
            eprintln!("error: {error}\n  = hint: name AWS environments in gameday.yaml (docs/aws.md)");
            Err(exit_code::USAGE)
        }
    }
}

fn env_error_code(error: &EnvError) -> u8 {
    match error {
        EnvError::Refused(_) => exit_code::ABORTED_BY_GUARD,
        _ => exit_code::ENVIRONMENT_ERROR,
    }
}

/// Reads the account of environment `name` and builds its twin. Prints
/// why not and returns the exit code when it cannot.
pub async fn import_twin(project: Option<&Path>, name: &str) -> Result<crate::environment::sim::import::Imported, u8> {
    let spec = aws_spec(project, name)?;
    let failed = |error: EnvError| {
        eprintln!("error: could not import environment `{name}`: {error}");
        env_error_code(&error)
    };
    let clients = aws::clients_for(&spec).await.map_err(failed)?;
    let account = aws::check_account(name, &spec, &clients).await.map_err(failed)?;
    let snapshot = import::read_account(&clients, &account, &spec.region, jiff::Timestamp::now().to_string()).await.map_err(failed)?;
    let imported = crate::environment::sim::import::build(&snapshot);
    // The file must be one `--topology` accepts; a twin that is not is a bug here, not the account's.
    if let Err(error) = Topology::parse(&imported.yaml, "the imported topology") {
        eprintln!("error: internal error: {error}\n  = hint: please report this with the account's shape (no secrets are in it)");
        return Err(exit_code::ENVIRONMENT_ERROR);
    }
    Ok(imported)
}

pub async fn import_command(args: &ImportArgs) -> u8 {
    if let Some(path) = args.output.as_deref().filter(|p| p.exists() && !args.force) {
        eprintln!("error: {} already exists\n  = hint: pass --force to overwrite it", path.display());
        return exit_code::USAGE;
    }
    let imported = match import_twin(args.project.as_deref(), &args.env).await {
        Ok(imported) => imported,
        Err(code) => return code,
    };
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
            if let Err(error) = std::fs::write(path, &imported.yaml) {
                eprintln!("error: could not write {}: {error}", path.display());
                return exit_code::UNREADABLE;
            }
            println!("imported `{}` (account {}) into {}: {summary}", args.env, t.account, path.display());
            println!("next: `gameday plan SCENARIO --predict --topology {}`", path.display());
        }
    }
    exit_code::SUCCESS
}
