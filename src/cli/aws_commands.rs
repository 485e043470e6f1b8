//! `gameday iam-policy` and `gameday export fis`: documents for AWS made
//! from a scenario, printed as JSON.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::failure::{Done, Ended, Failure};
use crate::environment::EnvError;
use crate::environment::aws::{AwsEnvironment, fis, iam};
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
    /// Print the policy of the role FIS assumes (the environment's
    /// `fis_role_arn`) instead: what FIS itself calls for the faults it makes.
    #[arg(long)]
    fis_role: bool,
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

pub fn iam_policy_command(args: &IamPolicyArgs) -> Ended {
    let loaded = super::load(&args.scenario)?;
    let via_fis = match args.via.as_deref() {
        Some("fis") => true,
        Some("direct") => false,
        Some(other) => return Err(Failure::Usage(format!("`--via {other}`: use `fis` or `direct`"))),
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
    let document = if args.fis_role { iam::fis_role_policy(&loaded.scenario, via_fis) } else { iam::policy(&loaded.scenario, via_fis) };
    if document["Statement"].as_array().is_some_and(Vec::is_empty) {
        eprintln!("note: no fault of this scenario runs through FIS{}, so its role needs nothing", if via_fis { "" } else { " with `--via direct`" });
    }
    println!("{}", serde_json::to_string_pretty(&document).unwrap_or_default());
    Ok(Done::Success)
}

pub fn export_command(command: &ExportCommand) -> Ended {
    let ExportCommand::Fis(args) = command;
    let loaded = super::load(&args.scenario)?;
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
                let read = async {
                    let mut env = AwsEnvironment::connect(name, &spec, scenario).await?;
                    env.fis_account_facts().await
                };
                facts =
                    Some(super::with_runtime(async { read.await.map_err(|error: EnvError| Failure::Env { doing: Some(format!("could not read environment `{name}`")), error }) })?);
                region = spec.region.clone();
                account = spec.account.clone();
                role = role.or(spec.fis_role_arn.clone());
            }
            Ok(_) => return Err(Failure::Usage(format!("environment `{name}` is not an AWS environment"))),
            Err(error) => return Err(Failure::Usage(error)),
        }
    }
    let role = role.unwrap_or_else(|| format!("arn:aws:iam::{account}:role/REPLACE-WITH-YOUR-FIS-ROLE"));
    let ctx = fis::FisContext { region: &region, account: &account, role_arn: &role };
    let exported = fis::scenario_template(scenario, &ctx, facts.as_ref(), &schedule(&scenario.faults)).map_err(Failure::Export)?;
    if exported.template.actions.is_empty() {
        return Err(Failure::Invalid("no fault of this scenario can run in FIS".into()));
    }
    println!("{}", serde_json::to_string_pretty(&exported.template).unwrap_or_default());
    for note in &exported.notes {
        eprintln!("note: {note}");
    }
    if !exported.skipped.is_empty() {
        eprintln!("note: FIS has no action for {}; gameday makes these directly during `gameday run`", exported.skipped.join(", "));
    }
    Ok(Done::Success)
}
