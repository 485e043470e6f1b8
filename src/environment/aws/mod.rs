//! Real AWS through the official SDK: targets resolved with pagination,
//! faults made directly (EC2, network ACLs, Route 53 health checks) or
//! through AWS Fault Injection Service, probes read from Auto Scaling,
//! ELBv2, CloudWatch and Route 53.
//!
//! Safety: the caller identity is checked against the environment's account
//! when connecting, before any other call; every mutating call is described
//! by an [`Effect`] that the runner journals (and syncs) before the call.

pub mod arc;
pub mod call_log;
pub mod evidence;
pub mod fis;
pub mod iam;
pub mod import;
pub mod practice_run;
pub(crate) mod probes;
pub mod rds;
pub mod region_switch;
mod resolve;

use std::collections::{BTreeMap, BTreeSet};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use serde::Serialize;

use crate::environment::real_probes::RealProber;
use crate::environment::{AlarmReading, Candidate, Effect, EnvError, Environment, Identity, Millis, Observation, Reach, RevertOutcome, Sample, shell};
use crate::project::AwsSpec;
use crate::scenario::{Fault, FaultAction, Probe, Scenario, Via};

/// EC2 takes at most 1,000 instance ids a call.
pub const MAX_IDS_PER_CALL: usize = 1_000;

/// Tag put on everything gameday creates, so `recover` can find it.
pub const CREATED_BY_TAG: &str = "gameday:created-by";

/// The SDK clients, made once per run from one shared configuration.
#[derive(Clone)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub route53: aws_sdk_route53::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sts: aws_sdk_sts::Client,
    pub fis: aws_sdk_fis::Client,
    pub rds: aws_sdk_rds::Client,
    pub arc_zonal_shift: aws_sdk_arczonalshift::Client,
    pub arc_region_switch: aws_sdk_arcregionswitch::Client,
}

impl Clients {
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Clients {
            ec2: aws_sdk_ec2::Client::new(config),
            autoscaling: aws_sdk_autoscaling::Client::new(config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(config),
            route53: aws_sdk_route53::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            fis: aws_sdk_fis::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            arc_zonal_shift: aws_sdk_arczonalshift::Client::new(config),
            arc_region_switch: aws_sdk_arcregionswitch::Client::new(config),
        }
    }

    /// The same clients, each also appending its calls to `file` as IAM
    /// action names (`call_log`).
    pub fn with_call_log(self, file: &std::sync::Arc<std::sync::Mutex<std::fs::File>>) -> Self {
        macro_rules! logged {
            ($client:expr, $krate:ident, $prefix:literal) => {
                $krate::Client::from_conf($client.config().to_builder().interceptor(call_log::CallLog::new($prefix, file.clone())).build())
            };
        }
        Clients {
            ec2: logged!(self.ec2, aws_sdk_ec2, "ec2"),
            autoscaling: logged!(self.autoscaling, aws_sdk_autoscaling, "autoscaling"),
            elbv2: logged!(self.elbv2, aws_sdk_elasticloadbalancingv2, "elasticloadbalancing"),
            route53: logged!(self.route53, aws_sdk_route53, "route53"),
            cloudwatch: logged!(self.cloudwatch, aws_sdk_cloudwatch, "cloudwatch"),
            sts: logged!(self.sts, aws_sdk_sts, "sts"),
            fis: logged!(self.fis, aws_sdk_fis, "fis"),
            rds: logged!(self.rds, aws_sdk_rds, "rds"),
            arc_zonal_shift: logged!(self.arc_zonal_shift, aws_sdk_arczonalshift, "arc-zonal-shift"),
            arc_region_switch: logged!(self.arc_region_switch, aws_sdk_arcregionswitch, "arc-region-switch"),
        }
    }
}

/// Counts of API calls, for the performance figures and for tests that a
/// refusal made no mutating call.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CallCounts {
    pub reads: usize,
    pub pages: usize,
    pub mutating: usize,
}

pub struct AwsEnvironment {
    name: String,
    spec: AwsSpec,
    clients: Clients,
    account: String,
    prober: RealProber,
    pub calls: CallCounts,
    /// AZ name → AZ ID and back, read once.
    zones: BTreeMap<String, String>,
    /// What FIS needs from the scenario (stop conditions, required tags).
    scenario: Scenario,
    /// FIS experiments made by this run: token → (template, experiment).
    fis_runs: BTreeMap<String, (String, String)>,
    /// Things worth a line in the timeline, e.g. a tolerated emulator gap.
    notes: Vec<Observation>,
    /// Region switch plan executions started by this run and not yet ended.
    region_switches: Vec<region_switch::Followed>,
    /// Practice runs started by this run whose outcome is not read yet.
    practice_runs: Vec<practice_run::Followed>,
    /// When (run clock) the executions are read again: every
    /// `FOLLOW_INTERVAL`, not on every turn of the loop, and at once after a revert.
    next_follow: Millis,
}

/// How often a Region switch execution is read while it runs.
const FOLLOW_INTERVAL: Millis = 5_000;

/// The SDK's HTTPS client, as the SDK's own default for the latest behaviour
/// version (hyper 1, rustls, native roots, proxy from `HTTPS_PROXY` and
/// friends), but with the ring crypto provider: the SDK's default features
/// would add aws-lc, a second provider beside the ring that the probes use.
/// `build_with_connector_fn` is the constructor the SDK's default uses; the
/// public `build_https` would switch the proxy settings off.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig, tls};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// A token unique to one fault of one run, put on what gameday makes so
/// `recover` can find it again (a FIS template's tag, a zonal shift's comment).
pub(crate) fn run_token(fault: &str) -> String {
    format!("gameday-{fault}-{}", jiff::Timestamp::now().as_millisecond())
}

/// The SDK clients for an environment: credentials from the standard chain
/// (environment, profile, SSO, instance role), the region and endpoint of
/// `spec`, and the call log when `GAMEDAY_CALL_LOG` asks for one. No call
/// is made yet.
pub async fn clients_for(spec: &AwsSpec) -> Result<Clients, EnvError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .region(aws_config::Region::new(spec.region.clone()))
        // Throttling and transient errors are retried with exponential backoff and jitter.
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts()?));
    if let Some(profile) = &spec.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &spec.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    let mut clients = Clients::from_config(&config);
    if let Some(path) = std::env::var_os(call_log::CALL_LOG_VAR) {
        let file = call_log::CallLog::open(std::path::Path::new(&path))
            .map_err(|e| EnvError::Failed(format!("could not open {} ({}): {e}", call_log::CALL_LOG_VAR, std::path::Path::new(&path).display())))?;
        clients = clients.with_call_log(&file);
    }
    Ok(clients)
}

/// The SDK's standard `AWS_MAX_ATTEMPTS` (every AWS SDK and the AWS CLI read
/// it) when it is set, else [`DEFAULT_MAX_ATTEMPTS`]: set on the loader, the
/// retry configuration would otherwise hide the variable from aws-config.
const MAX_ATTEMPTS_VAR: &str = "AWS_MAX_ATTEMPTS";

/// Attempts per AWS call (the first one and its retries) unless
/// `AWS_MAX_ATTEMPTS` says otherwise: two more than the SDK's default of 3,
/// to ride out throttling during a run.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

fn max_attempts() -> Result<u32, EnvError> {
    let Some(value) = std::env::var_os(MAX_ATTEMPTS_VAR) else {
        return Ok(DEFAULT_MAX_ATTEMPTS);
    };
    value.to_str().and_then(|v| v.trim().parse::<u32>().ok()).filter(|n| *n >= 1).ok_or_else(|| {
        EnvError::Failed(format!(
            "{MAX_ATTEMPTS_VAR} is `{}`: set it to a whole number of attempts, 1 or more, or unset it for gameday's {DEFAULT_MAX_ATTEMPTS}",
            value.to_string_lossy()
        ))
    })
}

/// Who the credentials are, checked against the environment's account
/// before any other call: a refusal when they belong to another account.
pub async fn check_account(name: &str, spec: &AwsSpec, clients: &Clients) -> Result<String, EnvError> {
    let identity = clients.sts.get_caller_identity().send().await.map_err(|e| sdk_error("sts:GetCallerIdentity", e))?;
    let account = identity.account().unwrap_or_default().to_string();
    if account != spec.account {
        return Err(EnvError::Refused(format!("the credentials belong to account {account}, but environment `{name}` is account {}; nothing was changed", spec.account)));
    }
    Ok(account)
}

/// Turns an SDK error into an error that names the call and keeps its kind
/// (throttled, access denied, not found, network: `probes::error_kind`).
pub(crate) fn sdk_error<E, R>(call: &str, error: aws_sdk_sts::error::SdkError<E, R>) -> EnvError
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    EnvError::Call { call: call.to_string(), kind: probes::error_kind(&error), message: error_chain(&error) }
}

/// An error and every cause under it, on one line.
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    use std::fmt::Write as _;
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(message, ": {cause}");
        source = cause.source();
    }
    message
}

impl AwsEnvironment {
    /// Loads credentials from the standard chain (environment, profile, SSO,
    /// instance role), then checks who we are. Refuses, before any other
    /// call, when the caller's account is not the environment's.
    pub async fn connect(name: &str, spec: &AwsSpec, scenario: &Scenario) -> Result<Self, EnvError> {
        Self::with_clients(name, spec, clients_for(spec).await?, scenario).await
    }

    /// As [`connect`](Self::connect), with clients made elsewhere (tests).
    pub async fn with_clients(name: &str, spec: &AwsSpec, clients: Clients, scenario: &Scenario) -> Result<Self, EnvError> {
        let account = check_account(name, spec, &clients).await?;
        let prober = RealProber::new(&scenario.steady_state).map_err(EnvError::Failed)?.reading_aws(clients.clone());
        let mut env = AwsEnvironment {
            name: name.to_string(),
            spec: spec.clone(),
            clients,
            account,
            prober,
            calls: CallCounts { reads: 1, ..CallCounts::default() },
            zones: BTreeMap::new(),
            scenario: scenario.clone(),
            fis_runs: BTreeMap::new(),
            notes: Vec::new(),
            region_switches: Vec::new(),
            practice_runs: Vec::new(),
            next_follow: 0,
        };
        env.load_zones().await?;
        Ok(env)
    }

    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// Whether this fault goes through FIS: `via` in the scenario, else FIS
    /// whenever the environment has a FIS role. DNS and commands never do.
    pub fn uses_fis(&self, fault: &Fault) -> bool {
        fis::fis_can_make(&fault.action)
            && match self.scenario.via {
                Some(Via::Fis) => true,
                Some(Via::Direct) => needs_fis(fault),
                None => self.spec.fis_role_arn.is_some() || needs_fis(fault),
            }
    }

    pub fn fis_context(&self) -> Result<fis::FisContext<'_>, EnvError> {
        let role = self
            .spec
            .fis_role_arn
            .as_deref()
            .ok_or_else(|| EnvError::Unsupported(format!("environment `{}` has no `fis_role_arn`, which FIS needs to run experiments", self.name)))?;
        Ok(fis::FisContext { region: &self.spec.region, account: &self.account, role_arn: role })
    }

    /// The ARNs FIS needs for what the guards chose.
    pub async fn fis_resolved(&mut self, fault: &Fault, chosen: &[Candidate], reach: &Reach) -> Result<fis::Resolved, EnvError> {
        let (region, account) = (self.spec.region.clone(), self.account.clone());
        let mut resolved =
            fis::Resolved { instance_arns: chosen.iter().map(|c| format!("arn:aws:ec2:{region}:{account}:instance/{}", c.id)).collect(), ..fis::Resolved::default() };
        let groups: Vec<String> = match &fault.action {
            FaultAction::AzOutage { mode: crate::scenario::AzOutageMode::Network, .. } => {
                let subnets = resolve::zone_subnets_public(self, &reach.zones[0]).await?;
                resolved.subnet_arns = subnets.into_iter().map(|s| format!("arn:aws:ec2:{region}:{account}:subnet/{}", s.subnet_id)).collect();
                Vec::new()
            }
            FaultAction::AzOutage { groups, .. } | FaultAction::AsgCapacityError { groups, .. } => groups.clone(),
            // The guards judged the database, the fault's one candidate.
            FaultAction::DbFailover { cluster, instance, .. } => {
                resolved.instance_arns.clear();
                resolved.database_arns = fis::database_arn(cluster.as_deref(), instance.as_deref(), &region, &account).into_iter().collect();
                Vec::new()
            }
            // The guards chose subnets, not instances.
            FaultAction::RegionOutage { .. } => {
                resolved.instance_arns.clear();
                resolved.subnet_arns = chosen.iter().map(|c| format!("arn:aws:ec2:{region}:{account}:subnet/{}", c.id)).collect();
                Vec::new()
            }
            _ => Vec::new(),
        };
        resolved.zones = reach.zones.clone();
        if let FaultAction::GrayFailure { cross_zone: Some(_), .. } = &fault.action {
            resolved.other_zones = self.zones.keys().filter(|name| !reach.zones.contains(*name)).cloned().collect();
        }
        if !groups.is_empty() {
            resolved.group_arns = self.group_arns(&groups).await?.into_values().collect();
        }
        Ok(resolved)
    }

    /// Group name → ARN for the named Auto Scaling groups; a group that does
    /// not exist is an error, never silently left out.
    pub async fn group_arns(&mut self, groups: &[String]) -> Result<BTreeMap<String, String>, EnvError> {
        let mut arns = BTreeMap::new();
        if groups.is_empty() {
            return Ok(arns);
        }
        let mut pages = self.clients.autoscaling.describe_auto_scaling_groups().set_auto_scaling_group_names(Some(groups.to_vec())).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("autoscaling:DescribeAutoScalingGroups", e))?;
            self.calls.pages += 1;
            for group in page.auto_scaling_groups() {
                if let (Some(name), Some(arn)) = (group.auto_scaling_group_name(), group.auto_scaling_group_arn()) {
                    arns.insert(name.to_string(), arn.to_string());
                }
            }
        }
        if let Some(missing) = groups.iter().find(|g| !arns.contains_key(*g)) {
            return Err(EnvError::NotFound { resource: format!("Auto Scaling group `{missing}`"), hint: Some(format!("region {}", self.spec.region)) });
        }
        Ok(arns)
    }

    /// What `gameday export fis --env` needs from the account: its identity,
    /// every zone by name and by AZ ID, and the ARNs of the scenario's groups.
    pub async fn fis_account_facts(&mut self) -> Result<fis::AccountFacts, EnvError> {
        let groups: BTreeSet<String> = self
            .scenario
            .faults
            .iter()
            .flat_map(|f| match &f.action {
                FaultAction::AzOutage { groups, .. } | FaultAction::AsgCapacityError { groups, .. } => groups.clone(),
                _ => Vec::new(),
            })
            .collect();
        let group_arns = self.group_arns(&groups.into_iter().collect::<Vec<_>>()).await?;
        let zone_names = self.zones.iter().flat_map(|(name, id)| [(name.clone(), name.clone()), (id.clone(), name.clone())]).collect();
        Ok(fis::AccountFacts { account: self.account.clone(), region: self.spec.region.clone(), zone_names, group_arns })
    }

    pub fn spec(&self) -> &AwsSpec {
        &self.spec
    }

    async fn load_zones(&mut self) -> Result<(), EnvError> {
        let out = self.clients.ec2.describe_availability_zones().send().await.map_err(|e| sdk_error("ec2:DescribeAvailabilityZones", e))?;
        self.calls.reads += 1;
        for zone in out.availability_zones() {
            if let (Some(name), Some(id)) = (zone.zone_name(), zone.zone_id()) {
                self.zones.insert(name.to_string(), id.to_string());
            }
        }
        Ok(())
    }

    /// Zones may be named by AZ name (`us-east-1a`) or AZ ID (`use1-az1`);
    /// names differ between accounts, IDs do not.
    pub fn zone_name(&self, name_or_id: &str) -> Result<String, EnvError> {
        if self.zones.contains_key(name_or_id) {
            return Ok(name_or_id.to_string());
        }
        self.zones.iter().find(|(_, id)| *id == name_or_id).map(|(name, _)| name.clone()).ok_or_else(|| EnvError::NotFound {
            resource: format!("zone `{name_or_id}`"),
            hint: Some(format!("zones in {}: {}", self.spec.region, self.zones.iter().map(|(n, i)| format!("{n} ({i})")).collect::<Vec<_>>().join(", "))),
        })
    }

    /// The AZ ID of a zone named either way: ARC names zones by AZ ID only.
    pub fn zone_id(&self, name_or_id: &str) -> Result<String, EnvError> {
        let name = self.zone_name(name_or_id)?;
        Ok(self.zones.get(&name).cloned().unwrap_or(name))
    }

    async fn each_batch<F, Fut>(&mut self, ids: &[String], mut call: F) -> Result<usize, EnvError>
    where
        F: FnMut(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = Result<usize, EnvError>>,
    {
        let mut changed = 0;
        for batch in ids.chunks(MAX_IDS_PER_CALL) {
            self.calls.mutating += 1;
            changed += call(batch.to_vec()).await?;
        }
        Ok(changed)
    }

    async fn stop(&mut self, ids: &[String]) -> Result<usize, EnvError> {
        let ec2 = self.clients.ec2.clone();
        self.each_batch(ids, |batch| {
            let ec2 = ec2.clone();
            async move {
                let out = ec2.stop_instances().set_instance_ids(Some(batch)).send().await.map_err(|e| sdk_error("ec2:StopInstances", e))?;
                Ok(out.stopping_instances().len())
            }
        })
        .await
    }

    async fn start(&mut self, ids: &[String]) -> Result<RevertOutcome, EnvError> {
        // Instances terminated meanwhile (an Auto Scaling group replaced them) cannot be started.
        let states = self.instance_states(ids).await?;
        let mut outcome = RevertOutcome::default();
        let mut startable = Vec::new();
        for id in ids {
            match states.get(id).map(String::as_str) {
                Some("stopped") | Some("stopping") => startable.push(id.clone()),
                Some("running") | Some("pending") => outcome.skipped.push((id.clone(), "already running".into())),
                Some(state) => outcome.skipped.push((id.clone(), format!("{state} meanwhile (replaced by its Auto Scaling group?)"))),
                None => outcome.skipped.push((id.clone(), "no longer exists".into())),
            }
        }
        let ec2 = self.clients.ec2.clone();
        self.each_batch(&startable, |batch| {
            let ec2 = ec2.clone();
            async move {
                let out = ec2.start_instances().set_instance_ids(Some(batch)).send().await.map_err(|e| sdk_error("ec2:StartInstances", e))?;
                Ok(out.starting_instances().len())
            }
        })
        .await?;
        outcome.restored = startable;
        Ok(outcome)
    }

    async fn instance_states(&mut self, ids: &[String]) -> Result<BTreeMap<String, String>, EnvError> {
        let mut states = BTreeMap::new();
        for batch in ids.chunks(MAX_IDS_PER_CALL) {
            let mut pages = self.clients.ec2.describe_instances().set_instance_ids(Some(batch.to_vec())).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| sdk_error("ec2:DescribeInstances", e))?;
                self.calls.pages += 1;
                for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                    if let (Some(id), Some(state)) = (instance.instance_id(), instance.state().and_then(|s| s.name())) {
                        states.insert(id.to_string(), state.as_str().to_string());
                    }
                }
            }
        }
        Ok(states)
    }
}

impl Environment for AwsEnvironment {
    fn identity(&self) -> Identity {
        Identity { environment: self.name.clone(), account: self.account.clone(), regions: vec![self.spec.region.clone()], simulated: false }
    }

    fn supports_probe(&self, _probe: &Probe) -> Result<(), EnvError> {
        Ok(())
    }

    async fn reach(&mut self, fault: &Fault) -> Result<Reach, EnvError> {
        resolve::reach(self, fault).await
    }

    async fn prepare(&mut self, fault: &Fault, chosen: &[Candidate], reach: &Reach) -> Result<Effect, EnvError> {
        resolve::prepare(self, fault, chosen, reach).await
    }

    async fn apply(&mut self, effect: &Effect, now: Millis) -> Result<(), EnvError> {
        match effect {
            Effect::StopInstances { ids } | Effect::ZonePower { ids, .. } => {
                if self.stop(ids).await? == 0 {
                    return Err(EnvError::Refused("no instance was stopped: every target was already gone".into()));
                }
            }
            Effect::TerminateInstances { ids } => {
                let ec2 = self.clients.ec2.clone();
                let changed = self
                    .each_batch(ids, |batch| {
                        let ec2 = ec2.clone();
                        async move {
                            Ok(ec2
                                .terminate_instances()
                                .set_instance_ids(Some(batch))
                                .send()
                                .await
                                .map_err(|e| sdk_error("ec2:TerminateInstances", e))?
                                .terminating_instances()
                                .len())
                        }
                    })
                    .await?;
                if changed == 0 {
                    return Err(EnvError::Refused("no instance was terminated: every target was already gone".into()));
                }
            }
            Effect::RebootInstances { ids } => {
                let ec2 = self.clients.ec2.clone();
                self.each_batch(ids, |batch| {
                    let ec2 = ec2.clone();
                    async move {
                        let count = batch.len();
                        ec2.reboot_instances().set_instance_ids(Some(batch)).send().await.map_err(|e| sdk_error("ec2:RebootInstances", e))?;
                        Ok(count)
                    }
                })
                .await?;
            }
            Effect::ZoneNetwork { .. } => resolve::isolate_zone(self, effect).await?,
            Effect::InvertHealthCheck { health_check, .. } => {
                self.calls.mutating += 1;
                self.clients.route53.update_health_check().health_check_id(health_check).inverted(true).send().await.map_err(|e| sdk_error("route53:UpdateHealthCheck", e))?;
            }
            Effect::Command { inject, context, .. } => shell::inject(inject, context.as_ref()).await?,
            Effect::FisExperiment { fault, token, template, fail_back } => {
                if let Some(note) = fis::client::check_safety_lever(&self.clients.fis, self.spec.endpoint_url.is_some()).await? {
                    self.notes.push(Observation { at: now, source: "fis".into(), message: note });
                }
                self.calls.mutating += 2;
                let template_id = fis::client::create_template(&self.clients.fis, template, token).await?;
                let experiment_id = fis::client::start(&self.clients.fis, &template_id, token).await?;
                self.notes.push(Observation { at: now, source: "fis".into(), message: format!("experiment {experiment_id} started for `{fault}` (template {template_id})") });
                self.fis_runs.insert(token.clone(), (template_id.clone(), experiment_id.clone()));
                let status = fis::client::wait_started(&self.clients.fis, &experiment_id).await?;
                // Terminations and reboots are done at once: the run will not
                // revert them, so the experiment is awaited and cleaned up here.
                // So is a database failover without a fail-back; one with a
                // fail-back stays until its revert, which stops the experiment
                // (if FIS still runs it) before failing back.
                let instant = template.actions.values().all(|a| match a.action_id.as_str() {
                    "aws:ec2:terminate-instances" | "aws:ec2:reboot-instances" => true,
                    fis::DB_CLUSTER_FAILOVER_ACTION | fis::DB_INSTANCE_REBOOT_ACTION => fail_back.is_none(),
                    _ => false,
                });
                if status == aws_sdk_fis::types::ExperimentStatus::Completed || instant {
                    fis::client::wait_settled(&self.clients.fis, &experiment_id).await?;
                    fis::client::stop_and_clean(&self.clients.fis, &template_id, &experiment_id).await?;
                    self.fis_runs.remove(token);
                }
            }
            Effect::DbClusterFailover { .. } | Effect::DbInstanceFailover { .. } => {
                self.calls.mutating += 1;
                rds::fail_over(&self.clients, effect).await?;
            }
            Effect::ZonalShift { .. } => {
                self.calls.mutating += 1;
                arc::start(&self.clients, effect).await?;
            }
            Effect::RegionSwitch { fault, plan, .. } => {
                self.calls.mutating += 1;
                let execution_id = region_switch::start(&self.clients, effect).await?;
                self.notes.push(Observation { at: now, source: "arc-region-switch".into(), message: format!("execution {execution_id} of {plan} started for `{fault}`") });
                self.region_switches.push(region_switch::Followed { fault: fault.clone(), plan: plan.clone(), execution_id, seen: Default::default() });
            }
            Effect::PracticeRun { fault, resource, away_from, .. } => {
                // The guards are read again just before the call.
                self.calls.reads += 2;
                self.calls.mutating += 1;
                let zonal_shift_id = practice_run::start(&self.clients, effect).await?;
                self.notes.push(Observation {
                    at: now,
                    source: "arc-zonal-shift".into(),
                    message: format!("practice run {zonal_shift_id} of {resource} away from {away_from} started for `{fault}`"),
                });
                self.practice_runs.push(practice_run::Followed { fault: fault.clone(), resource: resource.clone(), zonal_shift_id });
            }
            Effect::LaunchFailures { .. } | Effect::RegionDown { .. } => {
                return Err(EnvError::Unsupported("this fault runs through AWS FIS".into()));
            }
            Effect::GrayFailure { .. } => {
                return Err(EnvError::Unsupported("a gray failure runs through AWS FIS".into()));
            }
        }
        Ok(())
    }

    async fn revert(&mut self, effect: &Effect, _now: Millis) -> Result<RevertOutcome, EnvError> {
        match effect {
            Effect::StopInstances { ids } | Effect::ZonePower { ids, .. } => self.start(ids).await,
            Effect::TerminateInstances { .. } | Effect::RebootInstances { .. } => Ok(RevertOutcome::default()),
            Effect::ZoneNetwork { .. } => resolve::restore_zone(self, effect).await,
            Effect::InvertHealthCheck { health_check, .. } => {
                self.calls.mutating += 1;
                self.clients.route53.update_health_check().health_check_id(health_check).inverted(false).send().await.map_err(|e| sdk_error("route53:UpdateHealthCheck", e))?;
                Ok(RevertOutcome { restored: vec![format!("health check {health_check}")], skipped: Vec::new() })
            }
            Effect::Command { revert, context, .. } => shell::revert(revert, context.as_ref()).await,
            Effect::FisExperiment { token, fail_back, .. } => {
                let ids = match self.fis_runs.get(token) {
                    Some((template, experiment)) => Some((template.clone(), Some(experiment.clone()))),
                    None => fis::client::find(&self.clients.fis, token).await?,
                };
                let mut outcome = RevertOutcome::default();
                match ids {
                    None => outcome.skipped.push((token.clone(), "no FIS template carries this token: nothing to stop".into())),
                    Some((template_id, experiment_id)) => {
                        self.calls.mutating += 2;
                        outcome.restored = match experiment_id {
                            Some(experiment) => fis::client::stop_and_clean(&self.clients.fis, &template_id, &experiment).await?,
                            None => {
                                let _ = self.clients.fis.delete_experiment_template().id(&template_id).send().await;
                                vec![format!("template {template_id} deleted")]
                            }
                        };
                    }
                }
                self.fis_runs.remove(token);
                // FIS failed the database over; gameday fails it back, once
                // the experiment can no longer act (reading the writer first).
                if let Some(database) = fail_back {
                    let back = rds::fail_back(&self.clients, database).await?;
                    self.calls.mutating += back.restored.len();
                    outcome.restored.extend(back.restored);
                    outcome.skipped.extend(back.skipped);
                }
                Ok(outcome)
            }
            Effect::ZonalShift { .. } => {
                let outcome = arc::cancel(&self.clients, effect).await?;
                self.calls.mutating += outcome.restored.len();
                Ok(outcome)
            }
            Effect::PracticeRun { .. } => {
                let outcome = practice_run::cancel(&self.clients, effect).await?;
                self.calls.mutating += outcome.restored.len();
                // Read ARC's outcome (INTERRUPTED, when cancelled) on the next follow.
                self.next_follow = 0;
                Ok(outcome)
            }
            Effect::RegionSwitch { .. } => {
                let outcome = region_switch::cancel(&self.clients, effect).await?;
                self.calls.mutating += outcome.restored.len();
                // Read how it ended (ARC's recovery time) on the next follow.
                self.next_follow = 0;
                Ok(outcome)
            }
            Effect::DbClusterFailover { .. } | Effect::DbInstanceFailover { .. } => {
                let outcome = rds::fail_back(&self.clients, effect).await?;
                self.calls.mutating += outcome.restored.len();
                Ok(outcome)
            }
            Effect::LaunchFailures { .. } | Effect::RegionDown { .. } => Err(EnvError::Unsupported("this fault runs through AWS FIS".into())),
            // Never applied on AWS (refused above): nothing real to revert.
            Effect::GrayFailure { .. } => Ok(RevertOutcome::default()),
        }
    }

    async fn sample(&mut self, probe: &Probe, now: Millis) -> Sample {
        self.prober.sample(probe, now).await
    }

    async fn alarm_states(&mut self, names: &[String], _now: Millis) -> Vec<AlarmReading> {
        self.calls.reads += 1;
        probes::alarm_readings(&self.clients, names).await
    }

    async fn check_alarm_exists(&mut self, name: &str) -> Result<(), EnvError> {
        self.calls.reads += 1;
        let found = probes::alarm_states(&self.clients, &[name.to_string()]).await?;
        if found.is_empty() {
            return Err(EnvError::NotFound { resource: format!("CloudWatch alarm `{name}`"), hint: Some(format!("in {} of account {}", self.spec.region, self.account)) });
        }
        Ok(())
    }

    async fn practice_run_alarms(&mut self, resource: &str) -> Result<Option<crate::environment::ConfigurationAlarms>, EnvError> {
        self.calls.reads += 1;
        practice_run::configuration_alarms(&self.clients, resource).await.map(Some)
    }

    fn take_observations(&mut self) -> Vec<Observation> {
        std::mem::take(&mut self.notes)
    }

    async fn follow(&mut self, now: Millis) -> Vec<crate::environment::Ended> {
        let mut ended = Vec::new();
        if (self.region_switches.is_empty() && self.practice_runs.is_empty()) || now < self.next_follow {
            return Vec::new();
        }
        self.next_follow = now + FOLLOW_INTERVAL;
        let mut following = std::mem::take(&mut self.region_switches);
        for followed in &mut following {
            self.calls.reads += 2;
            match region_switch::follow(&self.clients, followed, now, &mut self.notes).await {
                Ok(Some(end)) => ended.push(end),
                Ok(None) => {}
                // A read that failed is tried again on the next turn; the
                // people watching see why the execution's state is stale.
                Err(error) => {
                    self.notes.push(Observation { at: now, source: "arc-region-switch".into(), message: format!("could not read execution {}: {error}", followed.execution_id) })
                }
            }
        }
        following.retain(|f| !ended.iter().any(|e: &crate::environment::PlanExecutionEnd| e.execution_id == f.execution_id));
        self.region_switches = following;
        let mut ended: Vec<crate::environment::Ended> = ended.into_iter().map(crate::environment::Ended::PlanExecution).collect();
        let mut practice_runs = std::mem::take(&mut self.practice_runs);
        let mut read = Vec::new();
        for followed in &practice_runs {
            self.calls.reads += 1;
            match practice_run::follow(&self.clients, followed, now).await {
                Ok(Some(end)) => read.push(end),
                Ok(None) => {}
                // Tried again on the next turn; the people watching see why.
                Err(error) => self.notes.push(Observation {
                    at: now,
                    source: "arc-zonal-shift".into(),
                    message: format!("could not read the outcome of practice run {}: {error}", followed.zonal_shift_id),
                }),
            }
        }
        practice_runs.retain(|f| !read.iter().any(|e| e.zonal_shift_id == f.zonal_shift_id));
        self.practice_runs = practice_runs;
        ended.extend(read.into_iter().map(crate::environment::Ended::PracticeRun));
        ended
    }

    fn prober(&self) -> Option<RealProber> {
        // Every probe on its own task, AWS reads included (through clones of
        // the SDK clients): a slow health endpoint or a throttled API read
        // never delays another probe, nor the stop conditions.
        Some(self.prober.clone())
    }
}

/// Faults only FIS can make (launch failures in a zone; a zone's gray
/// failure, an SSM document FIS runs on its instances; a Region cut off,
/// which gameday never makes by editing route tables itself).
pub fn needs_fis(fault: &Fault) -> bool {
    matches!(fault.action, FaultAction::AsgCapacityError { .. } | FaultAction::GrayFailure { zone: Some(_), .. } | FaultAction::RegionOutage { .. })
}
