//! Where faults are made and probes are answered: the built-in simulator,
//! real AWS and this machine (`local`), all behind one trait.
//!
//! Architecture invariant: an environment resolves targets, makes and
//! reverts faults, and reads state for probes. It never decides policy
//! (that is `guard`) and never formats output (that is `report`/`cli`).

pub mod aws;
pub mod local;
pub mod real_probes;
pub mod shell;
pub mod sim;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::scenario::{Fault, OperatorAction, Probe};

// The shared vocabulary, also by the paths the environment layer has always used.
pub use crate::vocab::{Millis, Sample};

/// Who and where the environment is; checked against the guards first.
#[derive(Clone, Debug, Serialize)]
pub struct Identity {
    pub environment: String,
    pub account: String,
    pub regions: Vec<String>,
    /// True for the built-in simulator: nothing real can be touched.
    pub simulated: bool,
}

/// One resource a fault could act on, with what the guards look at.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub region: String,
    pub zone: String,
    pub group: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// What a fault could touch, before the guards choose.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    /// Instances matching the fault's own filters.
    pub candidates: Vec<Candidate>,
    /// Instances per Auto Scaling group and per zone, to judge `max_percent`.
    pub group_sizes: BTreeMap<String, usize>,
    pub zone_sizes: BTreeMap<String, usize>,
    /// Zones the fault impairs as a whole (AZ outage, capacity errors, region loss).
    pub zones: Vec<String>,
    /// Regions the fault touches.
    pub regions: Vec<String>,
    /// Non-instance resources touched (health checks, commands), for the plan.
    pub other_resources: Vec<String>,
    /// Whether the fault acts on instances (so zero chosen means no effect).
    pub acts_on_instances: bool,
    /// The fault hits every candidate or none (a subnet, a region): guards
    /// cannot spare an excluded instance, so excluding one blocks the fault.
    pub indivisible: bool,
}

/// Something the environment reports happening on its own (a replacement
/// launched, an alarm firing), for the timeline.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Observation {
    pub at: Millis,
    pub source: String,
    pub message: String,
}

/// A change to make, fully described before it is made, so the journal can
/// hold it (and how to undo it) before any side effect.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    StopInstances {
        ids: Vec<String>,
    },
    TerminateInstances {
        ids: Vec<String>,
    },
    RebootInstances {
        ids: Vec<String>,
    },
    /// Power loss in a zone: instances stopped and launches failing there.
    ZonePower {
        zone: String,
        ids: Vec<String>,
        groups: Vec<String>,
    },
    /// The zone's subnets cut off from the network (on AWS: a deny-all
    /// network ACL; `subnets` holds each one's original ACL).
    ZoneNetwork {
        zone: String,
        ids: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        subnets: Vec<SubnetAcl>,
    },
    LaunchFailures {
        zones: Vec<String>,
        groups: Vec<String>,
    },
    InvertHealthCheck {
        health_check: String,
        record: String,
    },
    RegionDown {
        region: String,
    },
    /// Requests served from these zones fail at `error_rate` percent, and
    /// take `latency_ms` longer, while health checks pass (simulator only;
    /// on AWS a gray failure is an `FisExperiment`).
    GrayFailure {
        zones: Vec<String>,
        error_rate: f64,
        /// Absent in journals written before gray failures could slow requests.
        #[serde(default, skip_serializing_if = "no_slowdown")]
        latency_ms: u64,
    },
    Command {
        inject: String,
        revert: String,
        /// Where the commands run and how their processes are found again
        /// (absent in journals written before gameday recorded it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<shell::CommandContext>,
    },
    /// An ARC zonal shift of `resource` away from `away_from` (an AZ ID on
    /// AWS, a zone name on the simulator), ending by itself after
    /// `expires_in_minutes`. Cancelled on revert; found again by `comment`,
    /// which carries the run's token, as ARC names the shift only once started.
    ZonalShift {
        resource: String,
        away_from: String,
        expires_in_minutes: u64,
        comment: String,
    },
    /// A DB cluster's writer failed over to a reader (on AWS:
    /// `FailoverDBCluster`). With `fail_back`, reverted by failing back to
    /// `writer`, the writer before the fault, unless it writes again already.
    DbClusterFailover {
        cluster: String,
        writer: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        fail_back: bool,
    },
    /// A Multi-AZ DB instance failed over to its standby (on AWS:
    /// `RebootDBInstance` with `ForceFailover`). With `fail_back`, reverted
    /// by failing over again, unless its primary is back in `zone`, where it
    /// was before.
    DbInstanceFailover {
        instance: String,
        zone: String,
        fail_back: bool,
    },
    /// An ARC Region switch plan execution (`StartPlanExecution`). ARC
    /// names the execution only once started, so the journaled effect
    /// carries `comment` (with the run's token): the revert and `recover`
    /// find the execution by it and cancel it when unfinished.
    RegionSwitch {
        fault: String,
        plan: String,
        target_region: String,
        action: crate::scenario::RegionSwitchAction,
        execution: crate::scenario::RegionSwitchExecution,
        mode: crate::scenario::RegionSwitchMode,
        comment: String,
    },
    /// An ARC zonal autoshift practice run (`StartPracticeRun`). As with a
    /// zonal shift, ARC names it only once started: `comment` (with the
    /// run's token) is what the revert and `recover` find it by, to cancel
    /// it (`CancelPracticeRun`) while it is still active.
    PracticeRun {
        fault: String,
        resource: String,
        /// The AZ ID on AWS, the zone's name on the simulator.
        away_from: String,
        comment: String,
    },
    /// An AWS FIS experiment from this template (journaled as FIS's own
    /// JSON); stopped and its template deleted on revert. Found again by the
    /// `gameday:token` tag.
    FisExperiment {
        fault: String,
        token: String,
        template: aws::fis::Template,
        /// A `db_failover` with a `duration` made through FIS: the database
        /// failover (a `DbClusterFailover` or `DbInstanceFailover`, with the
        /// writer read just before) whose fail-back the revert makes once
        /// the experiment is stopped. FIS has no fail-back action, so
        /// gameday fails back directly, as it does without FIS. Absent for
        /// every other fault and in journals written before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fail_back: Option<Box<Effect>>,
    },
}

fn no_slowdown(latency_ms: &u64) -> bool {
    *latency_ms == 0
}

/// A subnet and the network ACL it was associated with before the fault.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SubnetAcl {
    pub subnet_id: String,
    pub vpc_id: String,
    pub original_acl_id: String,
}

impl Effect {
    /// The effect's name as the journal writes it (its serde tag,
    /// `stop_instances`, `zonal_shift`, …), for people and file names.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Effect::StopInstances { .. } => "stop_instances",
            Effect::TerminateInstances { .. } => "terminate_instances",
            Effect::RebootInstances { .. } => "reboot_instances",
            Effect::ZonePower { .. } => "zone_power",
            Effect::ZoneNetwork { .. } => "zone_network",
            Effect::LaunchFailures { .. } => "launch_failures",
            Effect::InvertHealthCheck { .. } => "invert_health_check",
            Effect::RegionDown { .. } => "region_down",
            Effect::GrayFailure { .. } => "gray_failure",
            Effect::Command { .. } => "command",
            Effect::ZonalShift { .. } => "zonal_shift",
            Effect::DbClusterFailover { .. } => "db_cluster_failover",
            Effect::DbInstanceFailover { .. } => "db_instance_failover",
            Effect::RegionSwitch { .. } => "region_switch",
            Effect::PracticeRun { .. } => "practice_run",
            Effect::FisExperiment { .. } => "fis_experiment",
        }
    }

    /// A `region_switch` step's effect, or `None` for another fault. `token`
    /// goes into the execution's comment (ARC takes at most 1,024
    /// characters): the revert and `recover` find the execution by it.
    pub fn region_switch(fault: &Fault, token: &str) -> Option<Effect> {
        let crate::scenario::FaultAction::RegionSwitch { plan, target_region, action, execution, mode } = &fault.action else { return None };
        Some(Effect::RegionSwitch {
            fault: fault.name.clone(),
            plan: plan.clone(),
            target_region: target_region.clone(),
            action: *action,
            execution: *execution,
            mode: *mode,
            comment: format!("gameday:token={token} ({} run of a game day)", mode.as_str()).chars().take(1024).collect(),
        })
    }

    /// A `command` fault made from this process: its commands, and the
    /// working directory, `PATH` and marker its processes run with. Refused
    /// before anything runs when a command reads an unset `${env:NAME}`.
    pub fn command(inject: &str, revert: &str) -> Result<Effect, EnvError> {
        shell::check_references(inject)?;
        shell::check_references(revert)?;
        Ok(Effect::Command { inject: inject.to_string(), revert: revert.to_string(), context: Some(shell::CommandContext::capture(inject, revert)) })
    }

    /// Whether reverting does anything (a termination cannot be undone).
    pub fn is_revertible(&self) -> bool {
        !matches!(
            self,
            Effect::TerminateInstances { .. }
                | Effect::RebootInstances { .. }
                | Effect::DbClusterFailover { fail_back: false, .. }
                | Effect::DbInstanceFailover { fail_back: false, .. }
        )
    }

    /// What a person runs to undo this by hand when gameday could not.
    pub fn manual_steps(&self) -> Vec<String> {
        match self {
            Effect::StopInstances { ids } | Effect::ZonePower { ids, .. } => vec![format!("aws ec2 start-instances --instance-ids {}", ids.join(" "))],
            Effect::ZoneNetwork { zone, subnets, .. } => {
                let mut steps: Vec<String> = subnets
                    .iter()
                    .map(|s| {
                        format!(
                            "put {} back on network ACL {}: aws ec2 replace-network-acl-association --association-id <its current association> --network-acl-id {}",
                            s.subnet_id, s.original_acl_id, s.original_acl_id
                        )
                    })
                    .collect();
                steps.push(format!("delete gameday's deny-all ACL: aws ec2 describe-network-acls --filters Name=tag:gameday:zone,Values={zone} then aws ec2 delete-network-acl --network-acl-id <its id>"));
                steps
            }
            Effect::InvertHealthCheck { health_check, .. } => vec![format!("aws route53 update-health-check --health-check-id {health_check} --no-inverted")],
            Effect::Command { revert, context: Some(context), .. } => vec![format!(
                "end what the inject left running (processes with {}={}:inject in their environment), then, in {}, run: {}",
                shell::MARKER_VARIABLE,
                context.token,
                context.cwd.display(),
                shell::shell_syntax(revert)
            )],
            Effect::Command { revert, .. } => vec![format!("run: {}", shell::shell_syntax(revert))],
            Effect::FisExperiment { token, fail_back, .. } => {
                let mut steps = vec![format!(
                    "find the experiment template tagged gameday:token={token} (aws fis list-experiment-templates), stop its experiment (aws fis stop-experiment --id <id>) and delete the template (aws fis delete-experiment-template --id <id>)"
                )];
                // Then the database's fail-back, which FIS does not make.
                steps.extend(fail_back.iter().flat_map(|database| database.manual_steps()));
                steps
            }
            Effect::ZonalShift { resource, comment, .. } => vec![format!(
                "cancel the zonal shift whose comment is `{comment}`: aws arc-zonal-shift list-zonal-shifts --resource-identifier {resource} --status ACTIVE, then aws arc-zonal-shift cancel-zonal-shift --zonal-shift-id <its id> (it also ends by itself at its expiry)"
            )],
            Effect::PracticeRun { resource, comment, .. } => vec![format!(
                "cancel the practice run whose comment is `{comment}`: aws arc-zonal-shift get-managed-resource --resource-identifier {resource} (its active zonal shifts), then aws arc-zonal-shift cancel-practice-run --zonal-shift-id <its id> (ARC also ends it by itself after 30 minutes)"
            )],
            Effect::RegionSwitch { plan, comment, .. } => vec![format!(
                "cancel the plan execution whose comment is `{comment}` if it is still running: aws arc-region-switch list-plan-executions --plan-arn {plan}, then aws arc-region-switch cancel-plan-execution --plan-arn {plan} --execution-id <its id>; a completed execution is not undone (switching back is another execution of the plan)"
            )],
            Effect::DbClusterFailover { fail_back: false, .. } | Effect::DbInstanceFailover { fail_back: false, .. } => {
                vec!["nothing: the fault has no `duration`, so the database stays failed over by design".into()]
            }
            Effect::DbClusterFailover { cluster, writer, .. } => vec![format!(
                "unless {writer} is the writer again (aws rds describe-db-clusters --db-cluster-identifier {cluster}), fail back: aws rds failover-db-cluster --db-cluster-identifier {cluster} --target-db-instance-identifier {writer}"
            )],
            Effect::DbInstanceFailover { instance, zone, .. } => vec![format!(
                "unless its primary is in {zone} again (aws rds describe-db-instances --db-instance-identifier {instance}), fail back: aws rds reboot-db-instance --db-instance-identifier {instance} --force-failover"
            )],
            Effect::TerminateInstances { .. } | Effect::RebootInstances { .. } => vec!["nothing: this cannot be undone".into()],
            Effect::LaunchFailures { .. } | Effect::RegionDown { .. } | Effect::GrayFailure { .. } => vec!["nothing real: this fault exists only in the simulator".into()],
        }
    }
}

/// What a revert restored and what it found already gone.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RevertOutcome {
    pub restored: Vec<String>,
    /// Resources that no longer need restoring, with why (e.g. replaced by the group).
    pub skipped: Vec<(String, String)>,
}

/// Why a read of the environment failed, as a kind rather than text:
/// what the runner does about it (fail closed, what to tell people) depends on it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadErrorKind {
    /// Throttled beyond the SDK's own retries.
    Throttled,
    /// The credentials may not make the call.
    AccessDenied,
    /// The thing read is gone (e.g. an alarm deleted during the run).
    NotFound,
    /// No answer: connection refused or reset, timeout, DNS.
    Network,
    /// Anything else (an unparseable answer, a server error).
    Other,
}

impl ReadErrorKind {
    /// ` (AccessDenied)`, for a message; nothing for `Other`, which says nothing more.
    fn in_parentheses(self) -> String {
        if self == ReadErrorKind::Other { String::new() } else { format!(" ({self})") }
    }

    /// What a person can do about a failed call of this kind, if anything.
    pub fn fix(self) -> Option<&'static str> {
        match self {
            ReadErrorKind::AccessDenied => Some("the credentials may not make this call: `gameday iam-policy SCENARIO` prints the policy gameday needs (docs/aws.md)"),
            ReadErrorKind::Throttled => Some("AWS throttled the call beyond the SDK's retries: wait a minute and try again, or ask for a higher quota"),
            ReadErrorKind::NotFound => Some("check the names in the scenario and that `--env` is the account and region that hold them"),
            ReadErrorKind::Network => Some("no answer from AWS: check the network, and the environment's `endpoint_url` and region in gameday.yaml"),
            ReadErrorKind::Other => None,
        }
    }
}

impl std::fmt::Display for ReadErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReadErrorKind::Throttled => "Throttled",
            ReadErrorKind::AccessDenied => "AccessDenied",
            ReadErrorKind::NotFound => "NotFound",
            ReadErrorKind::Network => "NetworkError",
            ReadErrorKind::Other => "Error",
        })
    }
}

/// An alarm that could not be read, and why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct AlarmReadError {
    pub kind: ReadErrorKind,
    pub message: String,
}

/// One alarm as read at one moment: its state, or why it could not be read.
/// `alarm` is the alarm's name (an ARN is reduced to its name, [`alarm_name`]).
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmReading {
    pub alarm: String,
    pub state: Result<crate::scenario::AlarmState, AlarmReadError>,
}

/// The name of an alarm named by name or by ARN (`arn:aws:cloudwatch:…:alarm:NAME`).
pub fn alarm_name(name_or_arn: &str) -> &str {
    name_or_arn.rsplit_once(":alarm:").map_or(name_or_arn, |(_, name)| name)
}

/// Whether the alarm `wanted` (by name or by ARN) is the alarm called `name`.
/// Here, beside [`alarm_name`], because both the simulator and the guards match alarms.
pub fn alarm_matches(wanted: &str, name: &str) -> bool {
    wanted == name || wanted.rsplit_once(":alarm:").is_some_and(|(_, n)| n == name)
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum EnvError {
    #[error("{0}")]
    Unsupported(String),
    #[error("{resource} not found in the environment{hint}", hint = .hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    NotFound { resource: String, hint: Option<String> },
    #[error("the call was refused: {0}")]
    Refused(String),
    /// The resource is held by another operation now, and the service runs
    /// one at a time (ARC: one zonal shift or practice run per resource, one
    /// execution per Region switch plan). Judged before the run as the
    /// `resource_busy` guard: the run is refused (exit 5), nothing starts.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Failed(String),
    /// A call to AWS that failed, with the kind of failure kept rather than
    /// flattened to text: what to do about it (retry, fix the policy, fix a
    /// name) depends on it.
    #[error("{call} failed{kind}: {message}", kind = .kind.in_parentheses())]
    Call { call: String, kind: ReadErrorKind, message: String },
}

/// How a Region switch plan execution ended, as ARC (or the simulator's
/// model of it) says: read by [`Environment::follow`] and journaled.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PlanExecutionEnd {
    /// The `region_switch` step that started it.
    pub fault: String,
    pub execution_id: String,
    /// ARC's execution state (`completed`, `failed`, `canceled`, …).
    pub state: String,
    /// When the execution ended on the run clock (when gameday read it, on AWS).
    pub at: Millis,
    /// ARC's `actualRecoveryTime` as ARC wrote it, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_recovery_time: Option<String>,
    /// The same in milliseconds, when gameday could read ARC's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_recovery_ms: Option<Millis>,
}

/// How an ARC zonal autoshift practice run ended, in ARC's words.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PracticeRunOutcome {
    /// It ran its 30 minutes without an outcome alarm going off.
    Succeeded,
    /// An outcome alarm went into ALARM during it.
    Failed,
    /// It was cancelled (by gameday's revert, or a person), or a blocking
    /// alarm went off during it.
    Interrupted,
    /// ARC's capacity check found too little capacity in the other zones; the
    /// practice run did not shift traffic.
    CapacityCheckFailed,
}

impl PracticeRunOutcome {
    /// ARC's spelling; `None` for PENDING (still running) and for an
    /// outcome this version of gameday does not know (kept as text by the caller).
    pub fn from_arc(text: &str) -> Option<PracticeRunOutcome> {
        match text {
            "SUCCEEDED" => Some(PracticeRunOutcome::Succeeded),
            "FAILED" => Some(PracticeRunOutcome::Failed),
            "INTERRUPTED" => Some(PracticeRunOutcome::Interrupted),
            "CAPACITY_CHECK_FAILED" => Some(PracticeRunOutcome::CapacityCheckFailed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PracticeRunOutcome::Succeeded => "SUCCEEDED",
            PracticeRunOutcome::Failed => "FAILED",
            PracticeRunOutcome::Interrupted => "INTERRUPTED",
            PracticeRunOutcome::CapacityCheckFailed => "CAPACITY_CHECK_FAILED",
        }
    }
}

/// How a practice run ended, as ARC (or the simulator's model of it) says:
/// read by [`Environment::follow`] and journaled.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PracticeRunEnd {
    /// The `practice_run` step that started it.
    pub fault: String,
    /// ARC's zonal shift id of the practice run.
    pub zonal_shift_id: String,
    pub outcome: PracticeRunOutcome,
    /// When gameday read the outcome, on the run clock.
    pub at: Millis,
}

/// A practice-run configuration's alarms, by name (ARNs cut to the name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigurationAlarms {
    /// The resource's name as ARC gives it.
    pub resource_name: String,
    pub blocking: Vec<String>,
    pub outcome: Vec<String>,
}

/// What [`Environment::follow`] found ended since its last call.
#[derive(Clone, Debug, PartialEq)]
pub enum Ended {
    PlanExecution(PlanExecutionEnd),
    PracticeRun(PracticeRunEnd),
}

/// The operations the runner needs from any environment.
///
/// `now` is the run clock: the simulator advances its world to it before
/// answering, a real environment ignores it.
#[allow(async_fn_in_trait)]
pub trait Environment {
    fn identity(&self) -> Identity;

    /// Refuses probes or faults this environment cannot serve, before anything runs.
    fn supports_probe(&self, probe: &Probe) -> Result<(), EnvError>;

    /// Lists what a fault could touch. No side effects.
    async fn reach(&mut self, fault: &Fault) -> Result<Reach, EnvError>;

    /// Describes the change for the chosen targets, reading what a revert
    /// will need (original ACL associations, …). No side effects.
    async fn prepare(&mut self, fault: &Fault, chosen: &[Candidate], reach: &Reach) -> Result<Effect, EnvError>;

    /// Makes the change.
    async fn apply(&mut self, effect: &Effect, now: Millis) -> Result<(), EnvError>;

    /// Undoes the change; safe to call twice.
    async fn revert(&mut self, effect: &Effect, now: Millis) -> Result<RevertOutcome, EnvError>;

    /// Takes one sample of a probe at `now`.
    async fn sample(&mut self, probe: &Probe, now: Millis) -> Sample;

    /// Reads the named CloudWatch alarms (by name or ARN) at `now`: one
    /// reading per name, in order, each its state or why it could not be
    /// read. Never leaves an alarm out: a stop condition that cannot be read
    /// must not look like one that is quiet.
    async fn alarm_states(&mut self, names: &[String], now: Millis) -> Vec<AlarmReading>;

    /// Fails when an alarm named by a stop condition or expectation does not
    /// exist: a stop condition that can never fire must not look like one.
    async fn check_alarm_exists(&mut self, name: &str) -> Result<(), EnvError>;

    /// The alarms, by name, of a resource's ARC zonal autoshift practice-run
    /// configuration (`guards.import_alarms`). `None`: this environment has
    /// no such configurations (the simulator, this machine). No side effects.
    async fn practice_run_alarms(&mut self, _resource: &str) -> Result<Option<ConfigurationAlarms>, EnvError> {
        Ok(None)
    }

    /// What happened on its own since the last call.
    fn take_observations(&mut self) -> Vec<Observation>;

    /// Follows what the environment started and runs on its own (a Region
    /// switch plan execution, a practice run): new events go to `take_observations`, and
    /// each execution that ended since the last call is returned once.
    /// Called on every turn of the loop and once more after the reverts.
    async fn follow(&mut self, _now: Millis) -> Vec<Ended> {
        Vec::new()
    }

    /// For real systems: a prober the runner can run on its own tasks, one
    /// per probe, so a slow probe never delays another. It must sample every
    /// probe kind the environment supports. `None` (the simulator): the
    /// runner samples in its loop on virtual time.
    fn prober(&self) -> Option<real_probes::RealProber> {
        None
    }

    /// Checks, before a drill starts, that an operator action names things
    /// that exist here. Environments that cannot apply actions accept all:
    /// people carry them out by hand.
    fn check_operator_action(&self, _action: &OperatorAction) -> Result<(), EnvError> {
        Ok(())
    }

    /// Applies an operator action during a drill and says what changed.
    /// `Unsupported` means people carry it out by hand (every real
    /// environment: gameday never makes the team's changes for them); the
    /// drill then records when they said it was done.
    async fn operator_action(&mut self, action: &OperatorAction, _now: Millis) -> Result<String, EnvError> {
        Err(EnvError::Unsupported(format!("`{}` is carried out by people on this environment; gameday records when it was done", action.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Effect::kind_name` is the journal's `effect` tag, for every variant.
    #[test]
    fn an_effects_kind_name_is_its_serde_tag() {
        let ids = || vec!["i-1".to_string()];
        let template = aws::fis::Template {
            description: String::new(),
            role_arn: String::new(),
            targets: Default::default(),
            actions: Default::default(),
            stop_conditions: Vec::new(),
            tags: Default::default(),
        };
        let effects = [
            Effect::StopInstances { ids: ids() },
            Effect::TerminateInstances { ids: ids() },
            Effect::RebootInstances { ids: ids() },
            Effect::ZonePower { zone: "z".into(), ids: ids(), groups: vec![] },
            Effect::ZoneNetwork { zone: "z".into(), ids: ids(), subnets: vec![] },
            Effect::LaunchFailures { zones: vec![], groups: vec![] },
            Effect::InvertHealthCheck { health_check: "h".into(), record: "r".into() },
            Effect::RegionDown { region: "r".into() },
            Effect::GrayFailure { zones: vec![], error_rate: 1.0, latency_ms: 0 },
            Effect::Command { inject: "true".into(), revert: "true".into(), context: None },
            Effect::ZonalShift { resource: "r".into(), away_from: "z".into(), expires_in_minutes: 1, comment: "c".into() },
            Effect::DbClusterFailover { cluster: "c".into(), writer: "w".into(), target: None, fail_back: false },
            Effect::DbInstanceFailover { instance: "i".into(), zone: "z".into(), fail_back: false },
            Effect::RegionSwitch {
                fault: "f".into(),
                plan: "p".into(),
                target_region: "r".into(),
                action: Default::default(),
                execution: Default::default(),
                mode: Default::default(),
                comment: "c".into(),
            },
            Effect::PracticeRun { fault: "f".into(), resource: "r".into(), away_from: "z".into(), comment: "c".into() },
            Effect::FisExperiment { fault: "f".into(), token: "t".into(), template, fail_back: None },
        ];
        for effect in &effects {
            assert_eq!(serde_json::to_value(effect).unwrap()["effect"], effect.kind_name(), "{effect:?}");
        }
        let names: std::collections::BTreeSet<String> = effects.iter().map(|e| e.kind_name().to_string()).collect();
        assert_eq!(names, crate::vocab::serde_tags::<Effect>("effect"), "one effect of each kind above");
    }

    #[test]
    fn arn_names_an_alarm() {
        assert!(alarm_matches("arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx", "web-5xx"));
        assert!(!alarm_matches("web-5xx-2", "web-5xx"));
    }
}
