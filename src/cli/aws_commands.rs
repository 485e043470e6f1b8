//! `gameday iam-policy` and `gameday export fis`: documents for AWS made
//! from a scenario, printed as JSON.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::environment::EnvError;
use crate::environment::aws::{AwsEnvironment, fis, iam};
use crate::exit_code;
use crate::project::{EnvironmentSpec, Project};
use crate::run::plan::schedule;
use crate::scenario::Via;

#[derive(Args, Debug)]
pub struct IamPolicyArgs {
    /// The scenario file.
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// Faults through FIS (`fis`) or made directly (`direct`); default: the scenario's `via`, else direct.
    #[arg(long, value_name = "HOW")]
    via: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Print the scenario as one AWS FIS experiment template (JSON), to run
    /// in FIS directly or schedule with EventBridge Scheduler. Refused (exit
    /// 10) when the template could not enforce a guard the scenario sets.
    Fis(Box<ExportFisArgs>),
}

#[derive(Args, Debug)]
pub struct ExportFisArgs {
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// An AWS environment from the project file: its account, region and FIS
    /// role, and (read-only calls) its zone names for AZ IDs and the ARNs of
    /// the scenario's Auto Scaling groups.
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    #[arg(long, value_name = "FILE")]
    project: Option<PathBuf>,
    /// The role FIS assumes (overrides the environment's `fis_role_arn`).
    #[arg(long, value_name = "ARN")]
    role_arn: Option<String>,
}

pub fn iam_policy_command(args: &IamPolicyArgs) -> u8 {
    let loaded = match super::load(&args.scenario) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let via_fis = match args.via.as_deref() {
        Some("fis") => true,
        Some("direct") => false,
        Some(other) => {
            eprintln!("error: `--via {other}`: use `fis` or `direct`");
            return exit_code::USAGE;
        }
        None => {
            if loaded.scenario.via.is_none() && loaded.scenario.faults.iter().any(|f| fis::fis_can_make(&f.action)) {
                // `run` picks FIS by itself when the environment has a FIS role.
                eprintln!(
                    "note: the scenario sets no `via`: this is the policy for faults made directly; an environment with `fis_role_arn` runs them through FIS, which needs `--via fis`"
                );
            }
            loaded.scenario.via == Some(Via::Fis)
        }
    };
    println!("{}", serde_json::to_string_pretty(&iam::policy(&loaded.scenario, via_fis)).unwrap_or_default());
    exit_code::SUCCESS
}

pub fn export_command(command: &ExportCommand) -> u8 {
    let ExportCommand::Fis(args) = command;
    let loaded = match super::load(&args.scenario) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let scenario = &loaded.scenario;
    let mut region = "${AWS_REGION}".to_string();
    let mut account = "${AWS_ACCOUNT_ID}".to_string();
    let mut role = args.role_arn.clone();
    let mut facts = None;
    if let Some(name) = &args.env {
        let spec = Project::load(args.project.as_deref()).map_err(|e| e.to_string()).and_then(|p| Project::environment(p.as_ref(), name).map_err(|e| e.to_string()));
        match spec {
            Ok(EnvironmentSpec::Aws(spec)) => {
                // Read-only calls: who we are, the zones, the groups' ARNs.
                let read = super::with_runtime(async {
                    let result = match AwsEnvironment::connect(name, &spec, scenario).await {
                        Ok(mut env) => env.fis_account_facts().await,
                        Err(error) => Err(error),
                    };
                    match result {
                        Ok(read) => {
                            facts = Some(read);
                            exit_code::SUCCESS
                        }
                        Err(error @ EnvError::Refused(_)) => {
                            eprintln!("error: {error}");
                            exit_code::ABORTED_BY_GUARD
                        }
                        Err(error) => {
                            eprintln!("error: could not read environment `{name}`: {error}");
                            exit_code::ENVIRONMENT_ERROR
                        }
                    }
                });
                if read != exit_code::SUCCESS {
                    return read;
                }
                region = spec.region.clone();
                account = spec.account.clone();
                role = role.or(spec.fis_role_arn.clone());
            }
            Ok(_) => {
                eprintln!("error: environment `{name}` is not an AWS environment");
                return exit_code::USAGE;
            }
            Err(error) => {
                eprintln!("error: {error}");
                return exit_code::USAGE;
            }
        }
    }
    let role = role.unwrap_or_else(|| format!("arn:aws:iam::{account}:role/REPLACE-WITH-YOUR-FIS-ROLE"));
    let ctx = fis::FisContext { region: &region, account: &account, role_arn: &role };
    match fis::scenario_template(scenario, &ctx, facts.as_ref(), &schedule(&scenario.faults)) {
        Ok(exported) => {
            if exported.template.actions.is_empty() {
                eprintln!("error: no fault of this scenario can run in FIS");
                return exit_code::INVALID_INPUT;
            }
            println!("{}", serde_json::to_string_pretty(&exported.template).unwrap_or_default());
            for note in &exported.notes {
                eprintln!("note: {note}");
            }
            if !exported.skipped.is_empty() {
                eprintln!("note: FIS has no action for {}; gameday makes these directly during `gameday run`", exported.skipped.join(", "));
            }
            exit_code::SUCCESS
        }
        Err(error @ fis::ExportError::WouldLoosen { .. }) => {
            eprintln!("error: {error}");
            if let fis::ExportError::WouldLoosen { loosenings, .. } = &error {
                for loosening in loosenings {
                    eprintln!("  - {loosening}");
                }
            }
            eprintln!("  = hint: set `via: fis` and use `gameday run`: gameday then judges every guard itself and hands FIS only the targets it chose");
            exit_code::EXPORT_WOULD_LOOSEN_GUARD
        }
        Err(fis::ExportError::Env(error @ EnvError::NotFound { .. })) => {
            eprintln!("error: {error}");
            exit_code::ENVIRONMENT_ERROR
        }
        Err(fis::ExportError::Env(error)) => {
            eprintln!("error: {error}");
            exit_code::INVALID_INPUT
        }
    }
}
