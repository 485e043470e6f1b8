//! The FIS engine: faults as AWS Fault Injection Service experiments.
//!
//! One template shape serves two uses. `gameday export fis` turns a whole
//! scenario into one experiment template (targets by tags, filters and
//! selection mode; actions chained with `startAfter`, delays as
//! `aws:fis:wait`), for teams to run in FIS and schedule with EventBridge
//! Scheduler. `gameday run` with `via: fis` makes one experiment per fault
//! on the exact targets the guards chose (`resourceArns`, `ALL`), started
//! and stopped by the run loop like any other fault.
//!
//! The JSON is FIS's own `CreateExperimentTemplate` input, so what gameday
//! journals, exports and sends is the same document.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::environment::{EnvError, Millis};
use crate::scenario::{AzOutageMode, Duration, Fault, FaultAction, Scenario, StopCondition};
use crate::vocab::GuardName;

/// FIS's `CreateExperimentTemplate` input: what gameday journals, exports
/// and sends is this one document. It serialises to FIS's own JSON (the
/// shape `aws fis create-experiment-template --cli-input-json` takes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub description: String,
    pub role_arn: String,
    pub targets: BTreeMap<String, Target>,
    pub actions: BTreeMap<String, Action>,
    pub stop_conditions: Vec<TemplateStopCondition>,
    pub tags: BTreeMap<String, String>,
}

/// A template's target: ARNs a run resolved, or what an export selects by
/// (tags, filters), with a selection mode (`ALL`, `COUNT(n)`, `PERCENT(n)`).
/// Each of ARNs, tags and filters is written only when the target sets it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_arns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<TargetFilter>>,
    pub selection_mode: String,
}

impl Target {
    fn arns(resource_type: &str, arns: Vec<String>) -> Self {
        Target { resource_type: resource_type.into(), resource_arns: Some(arns), resource_tags: None, filters: None, selection_mode: "ALL".into() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetFilter {
    pub path: String,
    pub values: Vec<String>,
}

impl TargetFilter {
    fn new(path: &str, values: Vec<String>) -> Self {
        TargetFilter { path: path.into(), values }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub action_id: String,
    /// Every parameter FIS takes as text. One gameday has no value for (a
    /// stop with no `duration`) is left out, as FIS wants it, not sent empty.
    #[serde(deserialize_with = "parameters_without_nulls")]
    pub parameters: BTreeMap<String, String>,
    /// Target kind (`Instances`, `Subnets`, `AutoScalingGroups`) → target name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_after: Vec<String>,
}

/// Journals written before the template was typed hold a missing parameter as `null`.
fn parameters_without_nulls<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    let parameters = BTreeMap::<String, Option<String>>::deserialize(deserializer)?;
    Ok(parameters.into_iter().filter_map(|(key, value)| Some((key, value?))).collect())
}

fn parameters<const N: usize>(pairs: [(&str, Option<String>); N]) -> BTreeMap<String, String> {
    pairs.into_iter().filter_map(|(key, value)| Some((key.to_string(), value?))).collect()
}

/// `{ "source": "none" }`, or a CloudWatch alarm by ARN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateStopCondition {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Where the template will run: for ARNs and the role.
pub struct FisContext<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub role_arn: &'a str,
}

/// ISO 8601 duration as FIS wants it: `PT1H30M`, `PT90S`.
pub fn iso8601(duration: Duration) -> String {
    let mut seconds = duration.as_millis().div_ceil(1000).max(1);
    let mut text = String::from("PT");
    for (unit, size) in [("H", 3600), ("M", 60), ("S", 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}

pub fn alarm_arn(name_or_arn: &str, ctx: &FisContext<'_>) -> String {
    if name_or_arn.starts_with("arn:") { name_or_arn.to_string() } else { format!("arn:aws:cloudwatch:{}:{}:alarm:{name_or_arn}", ctx.region, ctx.account) }
}

/// The FIS selection mode for `count` / `percent`, capped at `max_targets`:
/// "all matching" becomes `COUNT(max_targets)`, so FIS never selects more
/// than the guard allows. (`percent` with `max_targets`, and `count` over it,
/// are refused by [`loosenings`] before this runs.)
fn selection_mode(count: Option<u32>, percent: Option<f64>, max_targets: Option<u32>) -> String {
    match (count, percent, max_targets) {
        (Some(count), _, max) => format!("COUNT({})", max.map_or(count, |max| count.min(max))),
        (None, Some(percent), _) => format!("PERCENT({})", percent.floor()),
        (None, None, Some(max)) => format!("COUNT({max})"),
        (None, None, None) => "ALL".into(),
    }
}

/// What `gameday export fis --env` read from the account.
#[derive(Clone, Debug, Default)]
pub struct AccountFacts {
    /// The environment's account and region, judged against `accounts` and `regions`.
    pub account: String,
    pub region: String,
    /// Zone name or AZ ID → the zone's name in this account.
    pub zone_names: BTreeMap<String, String>,
    /// Auto Scaling group name → ARN, for the groups the scenario names.
    pub group_arns: BTreeMap<String, String>,
}

/// What an exported template could not enforce: a guard, or a fault's
/// `targets.zones` filter (an AZ ID FIS cannot translate without `--env`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loosened {
    Guard(GuardName),
    Zones,
}

impl fmt::Display for Loosened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loosened::Guard(guard) => guard.fmt(f),
            Loosened::Zones => f.write_str("zones"),
        }
    }
}

impl From<GuardName> for Loosened {
    fn from(guard: GuardName) -> Self {
        Loosened::Guard(guard)
    }
}

/// A guard (or a target filter) an exported template could not enforce.
#[derive(Clone, Debug, PartialEq)]
pub struct Loosening {
    pub guard: Loosened,
    pub fault: Option<String>,
    pub reason: String,
}

impl fmt::Display for Loosening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fault {
            Some(fault) => write!(f, "{} (fault `{fault}`): {}", self.guard, self.reason),
            None => write!(f, "{}: {}", self.guard, self.reason),
        }
    }
}

/// Why `gameday export fis` made no template.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The template would touch more, or hold on longer, than the guards allow.
    #[error("an FIS template of `{scenario}` would loosen guards FIS cannot enforce; nothing was exported")]
    WouldLoosen { scenario: String, loosenings: Vec<Loosening> },
    #[error(transparent)]
    Env(#[from] EnvError),
}

/// An exported scenario: the template, the faults FIS cannot make (gameday
/// makes them during `gameday run`), and notes on how guards were translated.
#[derive(Debug)]
pub struct Exported {
    pub template: Template,
    pub skipped: Vec<String>,
    pub notes: Vec<String>,
}

/// AZ IDs (`use1-az1`, `usw2-lax1-az1`) name the same physical zone in
/// every account; zone names (`us-east-1a`) do not, and FIS filters on names.
fn is_az_id(zone: &str) -> bool {
    zone.rsplit_once("-az").is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// Every guard of the scenario that a template exported from it would not
/// enforce, all at once. FIS selects by tags a target carries, by filters
/// and by `COUNT`/`PERCENT`/`ALL`; it stops on CloudWatch alarms only; it
/// starts whenever it is started. Anything else the guards say cannot be
/// carried into the template, so the export is refused rather than loosened.
/// `schedule` is when each fault starts and ends (`run::plan::schedule`).
pub fn loosenings(scenario: &Scenario, facts: Option<&AccountFacts>, schedule: &BTreeMap<String, (Millis, Millis)>) -> Vec<Loosening> {
    let guards = &scenario.guards;
    let mut found = Vec::new();
    match facts {
        Some(facts) => {
            if !guards.accounts.is_empty() && !guards.accounts.contains(&facts.account) {
                loosen(
                    &mut found,
                    GuardName::Accounts,
                    None,
                    format!("the environment's account {} is not in the allowed accounts ({})", facts.account, guards.accounts.join(", ")),
                );
            }
            if !guards.regions.is_empty() && !guards.regions.contains(&facts.region) {
                loosen(&mut found, GuardName::Regions, None, format!("the environment's region {} is not in the allowed regions ({})", facts.region, guards.regions.join(", ")));
            }
        }
        None => {
            for (guard, set) in [(GuardName::Accounts, &guards.accounts), (GuardName::Regions, &guards.regions)] {
                if !set.is_empty() {
                    loosen(&mut found, guard, None, "a template runs wherever it is created; export with `--env` to check the environment against this guard".into());
                }
            }
        }
    }
    if !guards.windows.is_empty() {
        loosen(&mut found, GuardName::Windows, None, "FIS starts an experiment whenever it is started; it cannot hold it to a time window".into());
    }
    if !guards.blackouts.is_empty() {
        loosen(&mut found, GuardName::Blackouts, None, "FIS starts an experiment whenever it is started; it cannot refuse a blackout date".into());
    }
    if !guards.blocking_alarms.is_empty() || !guards.import_alarms.is_empty() {
        // A stop condition in ALARM would stop the experiment as it starts, after its first actions; a blocking alarm refuses before any.
        loosen(&mut found, GuardName::BlockingAlarms, None, "FIS does not refuse to start an experiment while an alarm is in ALARM; check the alarms before starting it".into());
    }
    for condition in &guards.stop_conditions {
        if !matches!(condition, StopCondition::Alarm { .. }) {
            loosen(&mut found, GuardName::StopConditions, None, format!("FIS stops only on CloudWatch alarms; {} would not be watched", condition.label()));
        }
    }
    if guards.require_healthy_start && !scenario.steady_state.is_empty() {
        loosen(&mut found, GuardName::RequireHealthyStart, None, "FIS does not check the steady state before it starts; set `require_healthy_start: false` to accept that".into());
    }
    let exported: Vec<&Fault> = scenario.faults.iter().filter(|f| fis_can_make(&f.action)).collect();
    if let Some(max) = guards.max_duration {
        let end = exported.iter().filter_map(|f| schedule.get(&f.name).map(|t| t.1)).max().unwrap_or(0);
        if end > max.as_millis() {
            loosen(&mut found, GuardName::MaxDuration, None, format!("the template's actions run for {}, limit {max}", Duration::from_millis(end)));
        }
    }
    let mut zones: BTreeSet<String> = BTreeSet::new();
    let mut zone = |fault: &Fault, zone: &str, found: &mut Vec<Loosening>| match facts {
        Some(facts) => {
            zones.insert(facts.zone_names.get(zone).cloned().unwrap_or_else(|| zone.to_string()));
        }
        None if is_az_id(zone) => {
            loosen(found, Loosened::Zones, Some(&fault.name), format!("`{zone}` is an AZ ID, which names a different zone in each account; export with `--env` to translate it"))
        }
        None => {
            zones.insert(zone.to_string());
        }
    };
    let mut every_zone = Vec::new();
    let share = "FIS cannot limit a share per Auto Scaling group or zone";
    let excluded = format!("FIS selects by tags a target carries, never by tags it must not carry: instances tagged {} could be hit", tags_text(&guards.exclude_tags));
    for fault in &exported {
        let name = Some(fault.name.as_str());
        match &fault.action {
            FaultAction::StopInstances { targets: t } | FaultAction::TerminateInstances { targets: t } | FaultAction::RebootInstances { targets: t } => {
                if !guards.exclude_tags.is_empty() {
                    loosen(&mut found, GuardName::ExcludeTags, name, excluded.clone());
                }
                if guards.max_percent.is_some() {
                    loosen(&mut found, GuardName::MaxPercent, name, share.into());
                }
                match (t.count, t.percent, guards.max_targets) {
                    (Some(count), _, Some(max)) if count > max => loosen(&mut found, GuardName::MaxTargets, name, format!("`count: {count}` is over the limit of {max}")),
                    (None, Some(percent), Some(max)) => {
                        loosen(&mut found, GuardName::MaxTargets, name, format!("FIS cannot cap `percent: {percent}` at {max} targets; use `count`"))
                    }
                    _ => {}
                }
                for z in &t.zones {
                    zone(fault, z, &mut found);
                }
                if t.zones.is_empty() {
                    every_zone.push(fault.name.clone());
                }
            }
            FaultAction::AzOutage { zone: z, mode, .. } => {
                zone(fault, z, &mut found);
                if guards.max_percent.is_some() {
                    loosen(&mut found, GuardName::MaxPercent, name, share.into());
                }
                let whole = "a network cut takes the zone's subnets whole and cannot spare instances";
                match mode {
                    AzOutageMode::Power if !guards.exclude_tags.is_empty() => loosen(&mut found, GuardName::ExcludeTags, name, excluded.clone()),
                    AzOutageMode::Power => {}
                    AzOutageMode::Network => {
                        if !guards.require_tags.is_empty() {
                            loosen(&mut found, GuardName::RequireTags, name, format!("{whole} without the required tags"));
                        }
                        if !guards.exclude_tags.is_empty() {
                            loosen(&mut found, GuardName::ExcludeTags, name, format!("{whole} carrying excluded tags"));
                        }
                        if let Some(max) = guards.max_targets {
                            loosen(&mut found, GuardName::MaxTargets, name, format!("{whole}: FIS cannot cap the instances in them at {max}"));
                        }
                    }
                }
            }
            FaultAction::GrayFailure { zone: Some(z), cross_zone, .. } => {
                // The zone's instances by tags and a filter, as an `az_outage` `power` selects them.
                zone(fault, z, &mut found);
                if facts.is_none() && cross_zone.as_ref().is_some_and(|c| c.zones.is_empty()) {
                    loosen(
                        &mut found,
                        Loosened::Zones,
                        name,
                        "a cross-zone slowdown of every other zone needs the Region's zones, which only an account can list: name them in `cross_zone.zones`, or export with `--env`".into(),
                    );
                }
                if !guards.exclude_tags.is_empty() {
                    loosen(&mut found, GuardName::ExcludeTags, name, excluded.clone());
                }
                if guards.max_percent.is_some() {
                    loosen(&mut found, GuardName::MaxPercent, name, share.into());
                }
            }
            FaultAction::RegionOutage { region, subnets } => {
                // Without `--env` the regions guard is loosened above already.
                if facts.is_some() && !guards.regions.is_empty() && !guards.regions.contains(region) {
                    loosen(&mut found, GuardName::Regions, name, format!("the Region cut off, {region}, is not in the allowed regions ({})", guards.regions.join(", ")));
                }
                if !guards.exclude_tags.is_empty() {
                    loosen(
                        &mut found,
                        GuardName::ExcludeTags,
                        name,
                        format!("FIS selects subnets by tags they carry, never by tags they must not carry: subnets tagged {} could be cut off", tags_text(&guards.exclude_tags)),
                    );
                }
                if guards.max_percent.is_some() {
                    loosen(&mut found, GuardName::MaxPercent, name, "FIS cannot limit the share of a zone's subnets it cuts off".into());
                }
                let selector = subnets.clone().unwrap_or_default();
                if selector.tags.is_empty() && selector.vpc.is_none() && guards.require_tags.is_empty() {
                    loosen(
                        &mut found,
                        GuardName::RequireTags,
                        name,
                        "with no `subnets` (tags or vpc) and no `require_tags`, the template would cut every subnet of the Region off".into(),
                    );
                }
                // The subnets may lie in every zone of the Region.
                every_zone.push(fault.name.clone());
            }
            FaultAction::DbFailover { .. } => {
                // The template names the database by its ARN (FIS takes ARNs or tags, not both), so FIS judges no tag of it.
                for (guard, tags) in [(GuardName::RequireTags, &guards.require_tags), (GuardName::ExcludeTags, &guards.exclude_tags)] {
                    if !tags.is_empty() {
                        loosen(
                            &mut found,
                            guard,
                            name,
                            format!("the template names the database by its ARN, and FIS does not check its tags ({}); `gameday run` judges them", tags_text(tags)),
                        );
                    }
                }
            }
            FaultAction::AsgCapacityError { zones: fault_zones, groups } => {
                for z in fault_zones {
                    zone(fault, z, &mut found);
                }
                if groups.is_empty() && guards.require_tags.is_empty() {
                    loosen(
                        &mut found,
                        GuardName::RequireTags,
                        name,
                        "with no `groups` and no `require_tags`, the template would select every Auto Scaling group in the account".into(),
                    );
                }
            }
            _ => {}
        }
    }
    if let Some(max) = guards.max_azs {
        for fault in &every_zone {
            loosen(&mut found, GuardName::MaxAzs, Some(fault), format!("the template selects in every zone, limit {max}; name the zones in `targets.zones`"));
        }
        if zones.len() > max as usize {
            loosen(&mut found, GuardName::MaxAzs, None, format!("the template impairs {} zones ({}), limit {max}", zones.len(), zones.into_iter().collect::<Vec<_>>().join(", ")));
        }
    }
    found
}

fn loosen(found: &mut Vec<Loosening>, what: impl Into<Loosened>, fault: Option<&str>, reason: String) {
    found.push(Loosening { guard: what.into(), fault: fault.map(str::to_string), reason });
}

/// Whether FIS can make this fault (DNS, shell commands and simulator-only
/// faults it cannot; a gray failure of one zone it can, of a region not; a
/// Region's isolation it can; a database failover it can, but not to a
/// named reader: `aws:rds:failover-db-cluster` takes no target instance, so
/// a `db_failover` with a `target` is made directly).
pub fn fis_can_make(action: &FaultAction) -> bool {
    !matches!(
        action,
        FaultAction::DnsFailover { .. }
            | FaultAction::Command { .. }
            | FaultAction::GrayFailure { zone: None, .. }
            | FaultAction::DbFailover { target: Some(_), .. }
            | FaultAction::ZonalShift { .. }
            | FaultAction::RegionSwitch { .. }
            | FaultAction::PracticeRun { .. }
    )
}

/// The AWS-owned SSM document that slows a zone's instances' network (FIS's
/// "AZ Application Slowdown" pattern), and the one that drops their packets.
pub const LATENCY_DOCUMENT: &str = "AWSFIS-Run-Network-Latency";
pub const PACKET_LOSS_DOCUMENT: &str = "AWSFIS-Run-Network-Packet-Loss";
/// The same for the traffic toward some sources only (FIS's "Cross-AZ
/// Traffic Slowdown" pattern, with the other zones as `Sources`).
pub const LATENCY_SOURCES_DOCUMENT: &str = "AWSFIS-Run-Network-Latency-Sources";
pub const PACKET_LOSS_SOURCES_DOCUMENT: &str = "AWSFIS-Run-Network-Packet-Loss-Sources";

/// `aws:ssm:send-command` runs from one minute to 12 hours (FIS action reference).
const SEND_COMMAND_DURATION: std::ops::RangeInclusive<u64> = 60_000..=12 * 3_600_000;

/// What a zone's `gray_failure` runs on the zone's instances through FIS's
/// `aws:ssm:send-command`: one network document and its parameters, as FIS
/// hands them to Systems Manager. The plan shows it, the template carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkDocument {
    pub name: &'static str,
    /// Every value is text, as SSM documents take them.
    pub parameters: BTreeMap<String, String>,
}

impl NetworkDocument {
    /// The AWS-owned document's ARN: no account, the region's own copy.
    pub fn arn(&self, region: &str) -> String {
        format!("arn:aws:ssm:{region}::document/{}", self.name)
    }

    /// Whether it impairs the traffic toward some sources only (a cross-zone slowdown).
    pub fn by_sources(&self) -> bool {
        matches!(self.name, LATENCY_SOURCES_DOCUMENT | PACKET_LOSS_SOURCES_DOCUMENT)
    }

    /// A cross-zone slowdown that named no zones impairs the traffic toward
    /// every other zone of the Region: `other_zones`, which only the account
    /// knows. Refused when neither the scenario nor the account names one.
    pub fn toward(mut self, other_zones: &[String]) -> Result<Self, EnvError> {
        if !self.by_sources() || self.parameters.contains_key("Sources") {
            return Ok(self);
        }
        if other_zones.is_empty() {
            return Err(EnvError::Unsupported(
                "a cross-zone gray failure impairs the traffic toward other zones, and none is known: name them in `cross_zone.zones`, or plan and export with `--env` (every other zone of the Region)".into(),
            ));
        }
        self.parameters.insert("Sources".into(), other_zones.join(","));
        Ok(self)
    }
}

impl fmt::Display for NetworkDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parameters: Vec<String> = self.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if self.by_sources() && !self.parameters.contains_key("Sources") {
            parameters.push("Sources=every other zone of the Region".into());
        }
        write!(f, "SSM document {} ({})", self.name, parameters.join(", "))
    }
}

/// The document of a zone's gray failure, or why FIS cannot make it: a
/// region's gray failure, latency together with loss (FIS's network
/// documents cannot run in parallel on one instance), every packet dropped
/// (health checks would fail too: not gray), a share of packets that is
/// not whole, or a duration outside what `aws:ssm:send-command` runs for.
pub fn gray_failure_document(fault: &Fault) -> Result<NetworkDocument, EnvError> {
    let FaultAction::GrayFailure { zone, error_rate, latency, interface, cross_zone, .. } = &fault.action else {
        return Err(EnvError::Unsupported(format!("fault `{}` is not a gray failure", fault.name)));
    };
    let refuse = |why: String| Err(EnvError::Unsupported(format!("fault `{}`: {why}", fault.name)));
    if zone.is_none() {
        return refuse("a gray failure of a whole region cannot be made in a real account: FIS slows or drops traffic per instance, by zone; name one `zone` per fault, or rehearse the region on the simulator".into());
    }
    let Some(duration) = fault.duration.filter(|d| SEND_COMMAND_DURATION.contains(&d.as_millis())) else {
        return refuse("on AWS a gray failure runs as FIS `aws:ssm:send-command`, which lasts from 1m to 12h: set a `duration` in that range".into());
    };
    // The -Sources documents default to the primary interface (`DEFAULT`), the others to `eth0`.
    let default_interface = if cross_zone.is_some() { "DEFAULT" } else { "eth0" };
    let mut parameters = BTreeMap::from([
        ("DurationSeconds".to_string(), duration.as_millis().div_ceil(1000).to_string()),
        ("InstallDependencies".to_string(), "True".to_string()),
        ("Interface".to_string(), interface.clone().unwrap_or_else(|| default_interface.into())),
    ]);
    if let Some(cross) = cross_zone {
        // The zone's traffic out to the other zones, as FIS's Cross-AZ Traffic Slowdown scenario makes it.
        parameters.insert("TrafficType".into(), "egress".into());
        parameters.insert("FlowsPercent".into(), format!("{:.0}", cross.flows_percent.unwrap_or(100.0)));
        if !cross.zones.is_empty() {
            parameters.insert("Sources".into(), cross.zones.join(","));
        }
    }
    let sources = cross_zone.is_some();
    let name = match (error_rate, latency) {
        (Some(_), Some(_)) => {
            return refuse("FIS's network documents cannot run in parallel on one instance, so latency and packet loss cannot be made together; split them into two faults, one `start_after` the other".into());
        }
        (_, Some(latency)) => {
            parameters.insert("DelayMilliseconds".into(), latency.as_millis().to_string());
            if sources { LATENCY_SOURCES_DOCUMENT } else { LATENCY_DOCUMENT }
        }
        (rate, None) => {
            let rate = crate::scenario::gray_error_rate(*rate, None);
            if rate >= 100.0 {
                return refuse("dropping every packet fails the load balancer's health checks too: that is a zone's network cut (`az_outage` `mode: network`), not a gray failure; set an `error_rate` below 100, or a `latency`".into());
            }
            if rate.fract() != 0.0 {
                return refuse(format!("FIS's packet-loss document drops a whole percentage of packets; write `error_rate: {}`", rate.round().max(1.0)));
            }
            parameters.insert("LossPercent".into(), format!("{rate:.0}"));
            if sources { PACKET_LOSS_SOURCES_DOCUMENT } else { PACKET_LOSS_DOCUMENT }
        }
    };
    Ok(NetworkDocument { name, parameters })
}

/// FIS's action that cuts subnets off from another Region: it gives the
/// target subnets route tables without the routes to that Region's
/// addresses (and to its VPC endpoints, peerings), and puts the original
/// route tables back when it ends or is stopped. `aws:network:disrupt-connectivity`
/// has no Region among its scopes (all, availability-zone, dynamodb,
/// prefix-list, s3), so this is the faithful mapping of a `region_outage`.
pub const REGION_ISOLATION_ACTION: &str = "aws:network:route-table-disrupt-cross-region-connectivity";

/// The action's longest run (FIS action reference: up to 12 hours).
const REGION_ISOLATION_LONGEST: u64 = 12 * 3_600_000;

/// How FIS cuts a `region_outage`'s Region off from `experiment_region`
/// (where the environment runs and the subnets are), or why it cannot: the
/// same Region on both sides, or no `duration` (or one over 12 hours).
pub fn region_isolation(fault: &Fault, experiment_region: &str) -> Result<String, EnvError> {
    let FaultAction::RegionOutage { region, .. } = &fault.action else {
        return Err(EnvError::Unsupported(format!("fault `{}` is not a region outage", fault.name)));
    };
    let refuse = |why: String| Err(EnvError::Unsupported(format!("fault `{}`: {why}", fault.name)));
    if region == experiment_region {
        return refuse(format!(
            "on AWS a region outage cuts the environment's Region off from another: FIS blocks traffic from {experiment_region}'s subnets to `region`, so `region` cannot be {experiment_region} itself; run from an environment in the Region that stays, with `region` the one lost"
        ));
    }
    let Some(duration) = fault.duration.filter(|d| (1..=REGION_ISOLATION_LONGEST).contains(&d.as_millis())) else {
        return refuse(format!("on AWS a region outage runs as FIS `{REGION_ISOLATION_ACTION}`, which lasts at most 12h: set a `duration` up to 12h"));
    };
    Ok(format!("FIS {REGION_ISOLATION_ACTION}: traffic from the chosen subnets of {experiment_region} to {region} blocked for {duration}"))
}

/// FIS's action that fails a DB cluster over (`FailoverDBCluster`): target
/// kind `Clusters`, resource type `aws:rds:cluster`, no parameters. RDS picks
/// the reader it promotes (FIS action reference).
pub const DB_CLUSTER_FAILOVER_ACTION: &str = "aws:rds:failover-db-cluster";

/// FIS's action that reboots DB instances (`RebootDBInstance`): target kind
/// `DBInstances`, resource type `aws:rds:db`; with `forceFailover` set to
/// `true`, a Multi-AZ instance reboots through a failover to its standby.
pub const DB_INSTANCE_REBOOT_ACTION: &str = "aws:rds:reboot-db-instances";

/// The ARN FIS takes for a `db_failover`'s database: a cluster or a DB instance.
pub fn database_arn(cluster: Option<&str>, instance: Option<&str>, region: &str, account: &str) -> Option<String> {
    match (cluster, instance) {
        (Some(cluster), _) => Some(format!("arn:aws:rds:{region}:{account}:cluster:{cluster}")),
        (None, Some(instance)) => Some(format!("arn:aws:rds:{region}:{account}:db:{instance}")),
        (None, None) => None,
    }
}

/// How FIS makes a `db_failover`, for the plan.
pub fn database_mechanism(cluster: Option<&str>, instance: Option<&str>) -> String {
    match (cluster, instance) {
        (Some(cluster), _) => format!("FIS {DB_CLUSTER_FAILOVER_ACTION} on DB cluster {cluster} (RDS picks the reader it promotes)"),
        (None, instance) => format!("FIS {DB_INSTANCE_REBOOT_ACTION} with forceFailover=true on DB instance {}", instance.unwrap_or_default()),
    }
}

/// A fault's FIS targets and actions, by name.
pub type Parts = (BTreeMap<String, Target>, BTreeMap<String, Action>);

/// Targets and actions for one fault. `resolved` carries what a run
/// already chose (instance, subnet and group ARNs); without it (export) the
/// template selects by tags, filters and selection mode, translated from
/// the scenario with `facts` (zone names, group ARNs) when `--env` gave them.
/// An export calls this only after [`loosenings`] found nothing to refuse.
pub fn fault_parts(
    fault: &Fault,
    scenario: &Scenario,
    ctx: &FisContext<'_>,
    resolved: Option<&Resolved>,
    facts: Option<&AccountFacts>,
    start_after: Vec<String>,
    notes: &mut Vec<String>,
) -> Result<Parts, EnvError> {
    let mut targets = BTreeMap::new();
    let mut actions = BTreeMap::new();
    let key = |suffix: &str| format!("{}-{suffix}", fault.name);
    let (region, account) = (ctx.region, ctx.account);
    let max_targets = scenario.guards.max_targets;
    let zone_name = |zone: &str| -> Result<String, EnvError> {
        match facts {
            Some(facts) => facts.zone_names.get(zone).cloned().ok_or_else(|| EnvError::NotFound {
                resource: format!("zone `{zone}`"),
                hint: Some(format!("zones in {}: {}", facts.region, facts.zone_names.keys().cloned().collect::<Vec<_>>().join(", "))),
            }),
            None => Ok(zone.to_string()),
        }
    };
    let group_arns = |groups: &[String]| -> Result<Vec<String>, EnvError> {
        let Some(facts) = facts else {
            return Err(EnvError::Unsupported(format!("fault `{}` names Auto Scaling groups, whose ARNs only an AWS environment can resolve: export with `--env`", fault.name)));
        };
        groups
            .iter()
            .map(|g| {
                facts.group_arns.get(g).cloned().ok_or_else(|| EnvError::NotFound { resource: format!("Auto Scaling group `{g}`"), hint: Some(format!("region {}", facts.region)) })
            })
            .collect()
    };
    let instances_target = |filter_zones: Vec<String>, tags: &BTreeMap<String, String>, mode: String| -> Result<Target, EnvError> {
        Ok(match resolved {
            Some(r) => Target::arns("aws:ec2:instance", r.instance_arns.clone()),
            None => {
                let mut all_tags = scenario.guards.require_tags.clone();
                all_tags.extend(tags.clone());
                let mut filters = vec![TargetFilter::new("State.Name", vec!["running".into()])];
                if !filter_zones.is_empty() {
                    let names = filter_zones.iter().map(|z| zone_name(z)).collect::<Result<Vec<_>, _>>()?;
                    filters.push(TargetFilter::new("Placement.AvailabilityZone", names));
                }
                Target { resource_type: "aws:ec2:instance".into(), resource_arns: None, resource_tags: Some(all_tags), filters: Some(filters), selection_mode: mode }
            }
        })
    };
    let mut capped = |count: Option<u32>, percent: Option<f64>| -> String {
        let mode = selection_mode(count, percent, max_targets);
        if let (None, None, Some(max)) = (count, percent, max_targets) {
            notes.push(format!("fault `{}` selects at most {max} (max_targets) of the matching instances: {mode}", fault.name));
        }
        mode
    };
    let group_tags = |groups: &[String], tags: &BTreeMap<String, String>| -> Result<BTreeMap<String, String>, EnvError> {
        let mut all = tags.clone();
        match groups {
            [] => {}
            [one] => {
                all.insert("aws:autoscaling:groupName".into(), one.clone());
            }
            _ => return Err(EnvError::Unsupported(format!("fault `{}`: an FIS template selects instances by one group's tag; split the fault per group", fault.name))),
        }
        Ok(all)
    };
    let duration = fault.duration.map(iso8601);
    let mut action = |id: &str, parameters: BTreeMap<String, String>, target_kind: &str, target_key: &str| {
        let body = Action { action_id: id.into(), parameters, targets: BTreeMap::from([(target_kind.to_string(), target_key.to_string())]), start_after: start_after.clone() };
        actions.insert(if actions.is_empty() { fault.name.clone() } else { key(id.rsplit(':').next().unwrap_or("action")) }, body);
    };
    match &fault.action {
        FaultAction::StopInstances { targets: t } | FaultAction::TerminateInstances { targets: t } | FaultAction::RebootInstances { targets: t } => {
            if resolved.is_none() && !t.ids.is_empty() {
                return Err(EnvError::Unsupported(format!("fault `{}` names instance ids; an exported template selects by tags and zones", fault.name)));
            }
            let mode = if resolved.is_some() { "ALL".into() } else { capped(t.count, t.percent) };
            targets.insert(key("instances"), instances_target(t.zones.clone(), &group_tags(&t.groups, &t.tags)?, mode)?);
            let (id, parameters) = match &fault.action {
                FaultAction::StopInstances { .. } => ("aws:ec2:stop-instances", parameters([("startInstancesAfterDuration", duration.clone())])),
                FaultAction::TerminateInstances { .. } => ("aws:ec2:terminate-instances", BTreeMap::new()),
                _ => ("aws:ec2:reboot-instances", BTreeMap::new()),
            };
            action(id, parameters, "Instances", &key("instances"));
        }
        FaultAction::AzOutage { zone, mode: AzOutageMode::Power, tags, groups } => {
            let zone = match resolved.and_then(|r| r.zones.first()) {
                Some(name) => name.clone(),
                None => zone_name(zone)?,
            };
            let mode = if resolved.is_some() { "ALL".into() } else { capped(None, None) };
            targets.insert(key("instances"), instances_target(vec![zone.clone()], &group_tags(groups, tags)?, mode)?);
            action("aws:ec2:stop-instances", parameters([("startInstancesAfterDuration", duration.clone())]), "Instances", &key("instances"));
            let asg_target = match resolved {
                Some(r) if !r.group_arns.is_empty() => Some(Target::arns("aws:ec2:autoscaling-group", r.group_arns.clone())),
                Some(_) => None,
                None if !groups.is_empty() => Some(Target::arns("aws:ec2:autoscaling-group", group_arns(groups)?)),
                None if !tags.is_empty() => {
                    let mut all_tags = scenario.guards.require_tags.clone();
                    all_tags.extend(tags.clone());
                    Some(Target {
                        resource_type: "aws:ec2:autoscaling-group".into(),
                        resource_arns: None,
                        resource_tags: Some(all_tags),
                        filters: None,
                        selection_mode: "ALL".into(),
                    })
                }
                None => None,
            };
            if let Some(asg_target) = asg_target {
                targets.insert(key("groups"), asg_target);
                action(
                    "aws:ec2:asg-insufficient-instance-capacity-error",
                    parameters([("availabilityZoneIdentifiers", Some(zone)), ("duration", duration), ("percentage", Some("100".into()))]),
                    "AutoScalingGroups",
                    &key("groups"),
                );
            }
        }
        FaultAction::AzOutage { zone, mode: AzOutageMode::Network, .. } => {
            let subnets = match resolved {
                Some(r) => Target::arns("aws:ec2:subnet", r.subnet_arns.clone()),
                None => Target {
                    resource_type: "aws:ec2:subnet".into(),
                    resource_arns: None,
                    resource_tags: None,
                    filters: Some(vec![TargetFilter::new("AvailabilityZone", vec![zone_name(zone)?])]),
                    selection_mode: "ALL".into(),
                },
            };
            targets.insert(key("subnets"), subnets);
            action("aws:network:disrupt-connectivity", parameters([("duration", duration), ("scope", Some("all".into()))]), "Subnets", &key("subnets"));
        }
        FaultAction::AsgCapacityError { zones, groups } => {
            let groups_target = match resolved {
                Some(r) => Target::arns("aws:ec2:autoscaling-group", r.group_arns.clone()),
                None if groups.is_empty() => Target {
                    resource_type: "aws:ec2:autoscaling-group".into(),
                    resource_arns: None,
                    resource_tags: Some(scenario.guards.require_tags.clone()),
                    filters: None,
                    selection_mode: "ALL".into(),
                },
                None => Target::arns("aws:ec2:autoscaling-group", group_arns(groups)?),
            };
            let zones = match resolved {
                Some(r) if !r.zones.is_empty() => r.zones.clone(),
                _ => zones.iter().map(|z| zone_name(z)).collect::<Result<Vec<_>, _>>()?,
            };
            targets.insert(key("groups"), groups_target);
            action(
                "aws:ec2:asg-insufficient-instance-capacity-error",
                parameters([("availabilityZoneIdentifiers", Some(zones.join(","))), ("duration", duration), ("percentage", Some("100".into()))]),
                "AutoScalingGroups",
                &key("groups"),
            );
        }
        FaultAction::GrayFailure { zone, .. } => {
            let zone = match (resolved.and_then(|r| r.zones.first()), zone) {
                (Some(name), _) => name.clone(),
                (None, Some(zone)) => zone_name(zone)?,
                (None, None) => return Err(EnvError::Unsupported(format!("fault `{}`: a gray failure on AWS needs a `zone`", fault.name))),
            };
            // A cross-zone slowdown that names no zones: every other zone the run or `--env` read.
            let other_zones: Vec<String> = match (resolved, facts) {
                (Some(r), _) => r.other_zones.clone(),
                (None, Some(facts)) => facts.zone_names.values().filter(|name| **name != zone).cloned().collect::<BTreeSet<_>>().into_iter().collect(),
                (None, None) => Vec::new(),
            };
            let document = gray_failure_document(fault)?.toward(&other_zones).map_err(|e| match e {
                EnvError::Unsupported(why) => EnvError::Unsupported(format!("fault `{}`: {why}", fault.name)),
                other => other,
            })?;
            let mode = if resolved.is_some() { "ALL".into() } else { capped(None, None) };
            targets.insert(key("instances"), instances_target(vec![zone], &BTreeMap::new(), mode)?);
            let document_parameters = serde_json::to_string(&document.parameters).map_err(|e| EnvError::Failed(format!("could not write the document's parameters: {e}")))?;
            action(
                "aws:ssm:send-command",
                parameters([("documentArn", Some(document.arn(region))), ("documentParameters", Some(document_parameters)), ("duration", duration)]),
                "Instances",
                &key("instances"),
            );
        }
        FaultAction::RegionOutage { region: cut_off, subnets } => {
            region_isolation(fault, region)?;
            // A run hands FIS the chosen subnets; an export caps what FIS selects at `max_targets`.
            let mode = if resolved.is_some() { "ALL".to_string() } else { selection_mode(None, None, max_targets) };
            if let (None, Some(max)) = (resolved, max_targets) {
                notes.push(format!("fault `{}` cuts off at most {max} (max_targets) of the matching subnets: {mode}", fault.name));
            }
            if resolved.is_none() && facts.is_none() {
                notes.push(format!("fault `{}` cuts the subnets of the Region the template is created in off from {cut_off}: create it in another Region", fault.name));
            }
            let target = match resolved {
                Some(r) => Target::arns("aws:ec2:subnet", r.subnet_arns.clone()),
                None => {
                    let selector = subnets.clone().unwrap_or_default();
                    let mut all_tags = scenario.guards.require_tags.clone();
                    all_tags.extend(selector.tags);
                    let filters = selector.vpc.map(|vpc| vec![TargetFilter::new("VpcId", vec![vpc])]);
                    Target { resource_type: "aws:ec2:subnet".into(), resource_arns: None, resource_tags: Some(all_tags).filter(|t| !t.is_empty()), filters, selection_mode: mode }
                }
            };
            targets.insert(key("subnets"), target);
            action(REGION_ISOLATION_ACTION, parameters([("duration", duration), ("region", Some(cut_off.clone()))]), "Subnets", &key("subnets"));
        }
        FaultAction::DbFailover { target: Some(_), .. } => {
            return Err(EnvError::Unsupported(format!(
                "fault `{}`: FIS's {DB_CLUSTER_FAILOVER_ACTION} takes no target instance (RDS picks the reader); remove `target`, or set `via: direct`",
                fault.name
            )));
        }
        FaultAction::DbFailover { cluster, instance, target: None } => {
            // The one database the scenario names, by ARN (a run read it and judged its tags first).
            let arns = match resolved {
                Some(r) => r.database_arns.clone(),
                None => database_arn(cluster.as_deref(), instance.as_deref(), region, account).into_iter().collect(),
            };
            if resolved.is_none() && fault.duration.is_some() {
                notes.push(format!("fault `{}` fails the database over and never back: FIS has no fail-back action (`gameday run` fails back after the `duration`)", fault.name));
            }
            match cluster {
                Some(_) => {
                    targets.insert(key("clusters"), Target::arns("aws:rds:cluster", arns));
                    action(DB_CLUSTER_FAILOVER_ACTION, BTreeMap::new(), "Clusters", &key("clusters"));
                }
                None => {
                    targets.insert(key("db-instances"), Target::arns("aws:rds:db", arns));
                    action(DB_INSTANCE_REBOOT_ACTION, parameters([("forceFailover", Some("true".into()))]), "DBInstances", &key("db-instances"));
                }
            }
        }
        other => return Err(EnvError::Unsupported(format!("FIS has no action for `{}`", other.kind_name()))),
    }
    Ok((targets, actions))
}

/// What a run resolved, as ARNs.
#[derive(Default)]
pub struct Resolved {
    /// The fault's zones by name (a scenario may name them by AZ ID).
    pub zones: Vec<String>,
    pub instance_arns: Vec<String>,
    pub subnet_arns: Vec<String>,
    pub group_arns: Vec<String>,
    /// A `db_failover`'s database (a cluster's or a DB instance's ARN).
    pub database_arns: Vec<String>,
    /// A cross-zone gray failure's other zones, by name: every zone of the
    /// Region but the fault's (used when the scenario names none).
    pub other_zones: Vec<String>,
}

fn stop_conditions(scenario: &Scenario, ctx: &FisContext<'_>) -> Vec<TemplateStopCondition> {
    let alarms: Vec<TemplateStopCondition> = scenario
        .guards
        .stop_conditions
        .iter()
        .filter_map(|c| match c {
            StopCondition::Alarm { alarm } => Some(TemplateStopCondition { source: "aws:cloudwatch:alarm".into(), value: Some(alarm_arn(alarm, ctx)) }),
            _ => None,
        })
        .collect();
    if alarms.is_empty() { vec![TemplateStopCondition { source: "none".into(), value: None }] } else { alarms }
}

/// The template for one fault of a run.
pub fn fault_template(scenario: &Scenario, fault: &Fault, resolved: &Resolved, ctx: &FisContext<'_>, token: &str) -> Result<Template, EnvError> {
    let (targets, actions) = fault_parts(fault, scenario, ctx, Some(resolved), None, Vec::new(), &mut Vec::new())?;
    Ok(Template {
        description: format!("gameday {} / {}", scenario.name, fault.name),
        role_arn: ctx.role_arn.into(),
        targets,
        actions,
        stop_conditions: stop_conditions(scenario, ctx),
        tags: BTreeMap::from([
            ("gameday:scenario".to_string(), scenario.name.clone()),
            ("gameday:fault".to_string(), fault.name.clone()),
            ("gameday:token".to_string(), token.to_string()),
        ]),
    })
}

/// The whole scenario as one template, or every reason it would loosen a
/// guard. `facts` come from `--env`; `schedule` is `run::plan::schedule`.
pub fn scenario_template(scenario: &Scenario, ctx: &FisContext<'_>, facts: Option<&AccountFacts>, schedule: &BTreeMap<String, (Millis, Millis)>) -> Result<Exported, ExportError> {
    let loosened = loosenings(scenario, facts, schedule);
    if !loosened.is_empty() {
        return Err(ExportError::WouldLoosen { scenario: scenario.name.clone(), loosenings: loosened });
    }
    let mut targets = BTreeMap::new();
    let mut actions = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut notes = Vec::new();
    for fault in &scenario.faults {
        if !fis_can_make(&fault.action) {
            skipped.push(format!("{} ({})", fault.name, fault.action.kind_name()));
            continue;
        }
        let mut after: Vec<String> = fault.start_after.clone();
        if let Some(delay) = fault.delay {
            let wait = format!("{}-wait", fault.name);
            let body =
                Action { action_id: "aws:fis:wait".into(), parameters: parameters([("duration", Some(iso8601(delay)))]), targets: BTreeMap::new(), start_after: after.clone() };
            actions.insert(wait.clone(), body);
            after = vec![wait];
        }
        let (t, a) = fault_parts(fault, scenario, ctx, None, facts, after, &mut notes)?;
        targets.extend(t);
        actions.extend(a);
    }
    let template = Template {
        description: format!("gameday scenario {}: {}", scenario.name, scenario.title.as_deref().unwrap_or("")),
        role_arn: ctx.role_arn.into(),
        targets,
        actions,
        stop_conditions: stop_conditions(scenario, ctx),
        tags: BTreeMap::from([("gameday:scenario".to_string(), scenario.name.clone())]),
    };
    Ok(Exported { template, skipped, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_iso_8601() {
        assert_eq!(iso8601("1h30m".parse().unwrap()), "PT1H30M");
        assert_eq!(iso8601("90s".parse().unwrap()), "PT1M30S");
        assert_eq!(iso8601("500ms".parse().unwrap()), "PT1S");
    }

    #[test]
    fn a_scenario_exports_with_selection_modes_chaining_and_stop_conditions() {
        let text = "apiVersion: gameday/v1\nname: t\nguards:\n  require_tags: { gameday: allowed }\n  max_targets: 2\n  max_azs: 1\n  require_healthy_start: false\n  stop_conditions:\n    - alarm: web-5xx\nsteady_state:\n  - { name: c, kind: asg_capacity, group: web-asg, min_in_service: 4 }\nfaults:\n  - name: terminate-two\n    kind: terminate_instances\n    targets: { groups: [web-asg], tags: { app: web }, zones: [us-east-1a], count: 2 }\n  - { name: later, kind: reboot_instances, delay: 1m, targets: { zones: [us-east-1a] } }\nexpected_recoveries:\n  - { name: c, probes: [c], recovers_within: 5m }\n";
        let scenario = crate::scenario::parse_str(text, None).unwrap();
        let ctx = FisContext { region: "us-east-1", account: "123456789012", role_arn: "arn:aws:iam::123456789012:role/fis" };
        let exported = scenario_template(&scenario, &ctx, None, &BTreeMap::new()).unwrap();
        let template = &serde_json::to_value(&exported.template).unwrap();
        assert!(exported.skipped.is_empty());
        let target = &template["targets"]["terminate-two-instances"];
        assert_eq!(target["selectionMode"], "COUNT(2)");
        assert_eq!(target["resourceTags"]["gameday"], "allowed");
        assert_eq!(target["resourceTags"]["aws:autoscaling:groupName"], "web-asg");
        assert_eq!(template["targets"]["later-instances"]["selectionMode"], "COUNT(2)", "all matching, capped at max_targets");
        assert_eq!(template["actions"]["terminate-two"]["actionId"], "aws:ec2:terminate-instances");
        assert_eq!(template["actions"]["later"]["startAfter"], serde_json::json!(["later-wait"]));
        assert_eq!(template["stopConditions"][0]["value"], "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx");
    }

    #[test]
    fn the_shipped_instance_termination_scenario_is_refused_with_every_reason() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/instance-termination.yaml")).unwrap();
        let scenario = crate::scenario::parse_str(&text, None).unwrap();
        let guards: Vec<String> = loosenings(&scenario, None, &BTreeMap::new()).into_iter().map(|l| l.guard.to_string()).collect();
        assert_eq!(guards, ["accounts", "regions", "stop_conditions", "require_healthy_start", "exclude_tags", "max_percent"]);
    }

    /// A journal written before the template was typed still reads back,
    /// and writes out as FIS's JSON with the missing parameter left out.
    #[test]
    fn a_journaled_template_reads_back_and_writes_the_same_json() {
        let journaled = serde_json::json!({
            "description": "gameday t / stop",
            "roleArn": "arn:aws:iam::123456789012:role/fis",
            "targets": { "stop-instances": { "resourceType": "aws:ec2:instance", "resourceArns": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"], "selectionMode": "ALL" } },
            "actions": { "stop": { "actionId": "aws:ec2:stop-instances", "parameters": { "startInstancesAfterDuration": null }, "targets": { "Instances": "stop-instances" } } },
            "stopConditions": [{ "source": "none" }],
            "tags": { "gameday:fault": "stop", "gameday:scenario": "t", "gameday:token": "k" },
        });
        let template: Template = serde_json::from_value(journaled.clone()).unwrap();
        assert!(template.actions["stop"].parameters.is_empty());
        let mut expected = journaled;
        expected["actions"]["stop"]["parameters"] = serde_json::json!({});
        assert_eq!(serde_json::to_value(&template).unwrap(), expected);
    }

    fn gray(fault: &str) -> Scenario {
        let text = format!(
            "apiVersion: gameday/v1\nname: t\nguards:\n  require_tags: {{ gameday: allowed }}\n  require_healthy_start: false\nsteady_state:\n  - {{ name: c, kind: asg_capacity, group: web-asg, min_in_service: 1 }}\nfaults:\n  - {{ name: gray, kind: gray_failure, zone: us-east-1a, {fault} }}\nexpected_recoveries:\n  - {{ name: c, probes: [c], recovers_within: 5m }}\n"
        );
        crate::scenario::parse_str(&text, None).unwrap()
    }

    #[test]
    fn a_zones_gray_failure_exports_as_a_network_document_on_the_zones_instances() {
        let ctx = FisContext { region: "eu-west-1", account: "123456789012", role_arn: "arn:aws:iam::123456789012:role/fis" };
        let exported = scenario_template(&gray("error_rate: 30, duration: 5m"), &ctx, None, &BTreeMap::new()).unwrap();
        let template = serde_json::to_value(&exported.template).unwrap();
        let action = &template["actions"]["gray"];
        assert_eq!(action["actionId"], "aws:ssm:send-command");
        assert_eq!(action["parameters"]["documentArn"], "arn:aws:ssm:eu-west-1::document/AWSFIS-Run-Network-Packet-Loss");
        assert_eq!(action["parameters"]["duration"], "PT5M");
        let document: serde_json::Value = serde_json::from_str(action["parameters"]["documentParameters"].as_str().unwrap()).unwrap();
        assert_eq!(document, serde_json::json!({ "DurationSeconds": "300", "InstallDependencies": "True", "Interface": "eth0", "LossPercent": "30" }));
        let target = &template["targets"]["gray-instances"];
        assert_eq!(target["resourceType"], "aws:ec2:instance");
        assert_eq!(target["resourceTags"], serde_json::json!({ "gameday": "allowed" }));
        assert_eq!(target["filters"], serde_json::json!([{ "path": "State.Name", "values": ["running"] }, { "path": "Placement.AvailabilityZone", "values": ["us-east-1a"] }]));
        assert_eq!(target["selectionMode"], "ALL");
    }

    #[test]
    fn what_fis_cannot_make_of_a_gray_failure_is_refused_with_the_reason() {
        let refusal = |fault: &str| match gray_failure_document(&gray(fault).faults[0]) {
            Err(EnvError::Unsupported(why)) => why,
            other => panic!("{fault}: {other:?}"),
        };
        assert!(refusal("error_rate: 5, latency: 100ms, duration: 5m").contains("cannot run in parallel on one instance"));
        assert!(refusal("error_rate: 5, duration: 30s").contains("from 1m to 12h"));
        assert!(refusal("error_rate: 5, duration: 13h").contains("from 1m to 12h"));
        assert!(refusal("error_rate: 2.5, duration: 5m").contains("write `error_rate: 3`"));
        let text = "apiVersion: gameday/v1\nname: t\nsteady_state:\n  - { name: c, kind: asg_capacity, group: web-asg, min_in_service: 1 }\nfaults:\n  - { name: gray, kind: gray_failure, region: us-east-1, duration: 5m }\nexpected_recoveries:\n  - { name: c, probes: [c], recovers_within: 5m }\n";
        let region = crate::scenario::parse_str(text, None).unwrap();
        assert!(!fis_can_make(&region.faults[0].action));
        assert!(matches!(gray_failure_document(&region.faults[0]), Err(EnvError::Unsupported(why)) if why.contains("a whole region")));
        let latency = gray_failure_document(&gray("latency: 200ms, interface: ens5, duration: 90s").faults[0]).unwrap();
        assert_eq!(latency.to_string(), "SSM document AWSFIS-Run-Network-Latency (DelayMilliseconds=200, DurationSeconds=90, InstallDependencies=True, Interface=ens5)");
        assert!(refusal("duration: 1m").contains("dropping every packet fails the load balancer's health checks too"), "no latency: error_rate 100");
        assert!(refusal("error_rate: 100, duration: 1m").contains("not a gray failure"));
        let loss = gray_failure_document(&gray("error_rate: 99, duration: 1m").faults[0]).unwrap();
        assert_eq!(loss.parameters["LossPercent"], "99");
    }

    #[test]
    fn a_cross_zone_gray_failure_is_a_sources_document_toward_the_other_zones() {
        let loss = gray_failure_document(&gray("error_rate: 15, cross_zone: { flows_percent: 25 }, duration: 30m").faults[0]).unwrap();
        assert_eq!(loss.name, PACKET_LOSS_SOURCES_DOCUMENT);
        assert!(loss.to_string().contains("Sources=every other zone of the Region"), "{loss}");
        assert!(matches!(loss.clone().toward(&[]), Err(EnvError::Unsupported(why)) if why.contains("name them in `cross_zone.zones`")));
        let toward = loss.toward(&["us-east-1b".into(), "us-east-1c".into()]).unwrap();
        let expected = [
            ("DurationSeconds", "1800"),
            ("FlowsPercent", "25"),
            ("InstallDependencies", "True"),
            ("Interface", "DEFAULT"),
            ("LossPercent", "15"),
            ("Sources", "us-east-1b,us-east-1c"),
            ("TrafficType", "egress"),
        ];
        assert_eq!(toward.parameters, expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>());
        // Zones the scenario names are kept, whatever the account's others are.
        let latency = gray_failure_document(&gray("latency: 80ms, cross_zone: { zones: [use1-az2] }, interface: ens5, duration: 5m").faults[0]).unwrap();
        assert_eq!(latency.name, LATENCY_SOURCES_DOCUMENT);
        assert_eq!(latency.toward(&["us-east-1c".into()]).unwrap().parameters["Sources"], "use1-az2");
    }

    #[test]
    fn a_gray_failure_export_is_refused_where_fis_would_hit_excluded_instances() {
        let mut scenario = gray("error_rate: 5, duration: 5m");
        scenario.guards.exclude_tags = BTreeMap::from([("critical".to_string(), "true".to_string())]);
        let guards: Vec<String> = loosenings(&scenario, None, &BTreeMap::new()).into_iter().map(|l| l.guard.to_string()).collect();
        assert_eq!(guards, ["exclude_tags"]);
    }

    fn database(fault: &str) -> Scenario {
        let text = format!(
            "apiVersion: gameday/v1\nname: t\nsteady_state:\n  - {{ name: w, kind: db_writer, cluster: orders-db }}\nfaults:\n  - {{ name: db, kind: db_failover, {fault} }}\nexpected_recoveries:\n  - {{ name: w, probes: [w], recovers_within: 5m }}\n"
        );
        crate::scenario::parse_str(&text, None).unwrap()
    }

    #[test]
    fn a_runs_database_failover_names_the_database_it_read_by_arn() {
        let ctx = FisContext { region: "us-east-1", account: "123456789012", role_arn: "arn:aws:iam::123456789012:role/fis" };
        for (fault, arn, action, kind, key, resource_type, parameters) in [
            (
                "cluster: orders-db, duration: 5m",
                "arn:aws:rds:us-east-1:123456789012:cluster:orders-db",
                DB_CLUSTER_FAILOVER_ACTION,
                "Clusters",
                "db-clusters",
                "aws:rds:cluster",
                serde_json::json!({}),
            ),
            (
                "instance: legacy-db",
                "arn:aws:rds:us-east-1:123456789012:db:legacy-db",
                DB_INSTANCE_REBOOT_ACTION,
                "DBInstances",
                "db-db-instances",
                "aws:rds:db",
                serde_json::json!({ "forceFailover": "true" }),
            ),
        ] {
            let scenario = database(fault);
            let resolved = Resolved { database_arns: vec![arn.to_string()], ..Resolved::default() };
            let template = serde_json::to_value(fault_template(&scenario, &scenario.faults[0], &resolved, &ctx, "k").unwrap()).unwrap();
            assert_eq!(template["actions"]["db"], serde_json::json!({ "actionId": action, "parameters": parameters, "targets": { kind: key } }), "{fault}");
            assert_eq!(template["targets"][key], serde_json::json!({ "resourceType": resource_type, "resourceArns": [arn], "selectionMode": "ALL" }), "{fault}");
        }
        let reader = database("cluster: orders-db, target: orders-db-2");
        assert!(!fis_can_make(&reader.faults[0].action), "FIS cannot promote a named reader");
        assert!(matches!(fault_template(&reader, &reader.faults[0], &Resolved::default(), &ctx, "k"), Err(EnvError::Unsupported(why)) if why.contains("takes no target instance")));
    }

    #[test]
    fn az_ids_are_told_from_zone_names() {
        assert!(is_az_id("use1-az1") && is_az_id("usw2-lax1-az1"));
        assert!(!is_az_id("us-east-1a") && !is_az_id("us-west-2-lax-1a"));
    }
}

/// Calls to FIS itself.
pub mod client {
    use std::time::Duration as StdDuration;

    use super::Template;
    use crate::environment::EnvError;
    use crate::environment::aws::sdk_error;
    use aws_sdk_fis::types::{
        CreateExperimentTemplateActionInput, CreateExperimentTemplateStopConditionInput, CreateExperimentTemplateTargetInput, ExperimentStatus,
        ExperimentTemplateTargetInputFilter, SafetyLeverStatus,
    };

    fn build_error(what: &str, error: impl std::fmt::Display) -> EnvError {
        EnvError::Failed(format!("invalid FIS {what}: {error}"))
    }

    /// Creates the template; returns its id.
    pub async fn create_template(fis: &aws_sdk_fis::Client, template: &Template, token: &str) -> Result<String, EnvError> {
        let mut request = fis
            .create_experiment_template()
            .client_token(token)
            .description(&template.description)
            .role_arn(&template.role_arn)
            .set_tags(Some(template.tags.clone().into_iter().collect()));
        for (name, target) in &template.targets {
            let mut builder = CreateExperimentTemplateTargetInput::builder()
                .resource_type(&target.resource_type)
                .selection_mode(&target.selection_mode)
                .set_resource_tags(target.resource_tags.clone().map(|tags| tags.into_iter().collect()));
            if let Some(arns) = target.resource_arns.clone().filter(|arns| !arns.is_empty()) {
                builder = builder.set_resource_arns(Some(arns));
            }
            for filter in target.filters.iter().flatten() {
                let filter =
                    ExperimentTemplateTargetInputFilter::builder().path(&filter.path).set_values(Some(filter.values.clone())).build().map_err(|e| build_error("filter", e))?;
                builder = builder.filters(filter);
            }
            request = request.targets(name, builder.build().map_err(|e| build_error("target", e))?);
        }
        for (name, action) in &template.actions {
            let mut builder =
                CreateExperimentTemplateActionInput::builder().action_id(&action.action_id).set_start_after(Some(action.start_after.clone()).filter(|v| !v.is_empty()));
            for (key, value) in &action.parameters {
                builder = builder.parameters(key, value);
            }
            for (key, value) in &action.targets {
                builder = builder.targets(key, value);
            }
            request = request.actions(name, builder.build().map_err(|e| build_error("action", e))?);
        }
        for condition in &template.stop_conditions {
            let condition = CreateExperimentTemplateStopConditionInput::builder()
                .source(&condition.source)
                .set_value(condition.value.clone())
                .build()
                .map_err(|e| build_error("stop condition", e))?;
            request = request.stop_conditions(condition);
        }
        let out = request.send().await.map_err(|e| sdk_error("fis:CreateExperimentTemplate", e))?;
        out.experiment_template().and_then(|t| t.id()).map(str::to_string).ok_or_else(|| EnvError::Failed("FIS returned no template id".into()))
    }

    /// Refuses while the account's FIS safety lever is engaged. An emulator
    /// without the API (a custom endpoint) is tolerated, and said so; on
    /// AWS the lever must be readable.
    pub async fn check_safety_lever(fis: &aws_sdk_fis::Client, emulated: bool) -> Result<Option<String>, EnvError> {
        match fis.get_safety_lever().id("default").send().await {
            Ok(out) => {
                let state = out.safety_lever().and_then(|l| l.state());
                match state.and_then(|s| s.status()) {
                    Some(SafetyLeverStatus::Engaged) | Some(SafetyLeverStatus::Engaging) => Err(EnvError::Refused(format!(
                        "the FIS safety lever is engaged ({}): no experiment may start until it is disengaged",
                        state.and_then(|s| s.reason()).unwrap_or("no reason given")
                    ))),
                    _ => Ok(None),
                }
            }
            Err(error) if emulated => Ok(Some(format!("could not read the FIS safety lever from the emulator ({error}); continuing because the endpoint is not AWS"))),
            Err(error) => Err(sdk_error("fis:GetSafetyLever", error)),
        }
    }

    pub async fn start(fis: &aws_sdk_fis::Client, template_id: &str, token: &str) -> Result<String, EnvError> {
        let out = fis
            .start_experiment()
            .experiment_template_id(template_id)
            .client_token(format!("{token}-start"))
            .tags("gameday:token", token)
            .send()
            .await
            .map_err(|e| sdk_error("fis:StartExperiment", e))?;
        out.experiment().and_then(|e| e.id()).map(str::to_string).ok_or_else(|| EnvError::Failed("FIS returned no experiment id".into()))
    }

    pub async fn status(fis: &aws_sdk_fis::Client, experiment_id: &str) -> Result<(ExperimentStatus, String), EnvError> {
        let out = fis.get_experiment().id(experiment_id).send().await.map_err(|e| sdk_error("fis:GetExperiment", e))?;
        let state = out.experiment().and_then(|e| e.state());
        Ok((state.and_then(|s| s.status()).cloned().unwrap_or(ExperimentStatus::Pending), state.and_then(|s| s.reason()).unwrap_or_default().to_string()))
    }

    fn settled(status: &ExperimentStatus) -> bool {
        matches!(status, ExperimentStatus::Completed | ExperimentStatus::Stopped | ExperimentStatus::Failed | ExperimentStatus::Cancelled)
    }

    /// Waits (bounded) until the experiment is running or over.
    pub async fn wait_started(fis: &aws_sdk_fis::Client, experiment_id: &str) -> Result<ExperimentStatus, EnvError> {
        for _ in 0..120 {
            let (status, reason) = status(fis, experiment_id).await?;
            match status {
                ExperimentStatus::Running | ExperimentStatus::Completed => return Ok(status),
                ExperimentStatus::Failed | ExperimentStatus::Cancelled | ExperimentStatus::Stopped => {
                    return Err(EnvError::Refused(format!("FIS experiment {experiment_id} ended as {}: {reason}", status.as_str())));
                }
                _ => tokio::time::sleep(StdDuration::from_millis(500)).await,
            }
        }
        Err(EnvError::Failed(format!("FIS experiment {experiment_id} did not start within a minute")))
    }

    /// Waits (bounded) until the experiment is over.
    pub async fn wait_settled(fis: &aws_sdk_fis::Client, experiment_id: &str) -> Result<(), EnvError> {
        for _ in 0..240 {
            if settled(&status_of(fis, experiment_id).await?) {
                return Ok(());
            }
            tokio::time::sleep(StdDuration::from_millis(500)).await;
        }
        Err(EnvError::Failed(format!("FIS experiment {experiment_id} did not finish within two minutes")))
    }

    /// Stops the experiment if it still runs, waits for it to settle, and
    /// deletes the template. Safe to run twice.
    pub async fn stop_and_clean(fis: &aws_sdk_fis::Client, template_id: &str, experiment_id: &str) -> Result<Vec<String>, EnvError> {
        let mut done = Vec::new();
        let (status, _) = status(fis, experiment_id).await?;
        if !settled(&status) {
            fis.stop_experiment().id(experiment_id).send().await.map_err(|e| sdk_error("fis:StopExperiment", e))?;
            done.push(format!("experiment {experiment_id} stopped"));
            for _ in 0..120 {
                if settled(&status_of(fis, experiment_id).await?) {
                    break;
                }
                tokio::time::sleep(StdDuration::from_millis(500)).await;
            }
        }
        match fis.delete_experiment_template().id(template_id).send().await {
            Ok(_) => done.push(format!("template {template_id} deleted")),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(error) => return Err(sdk_error("fis:DeleteExperimentTemplate", error)),
        }
        Ok(done)
    }

    async fn status_of(fis: &aws_sdk_fis::Client, experiment_id: &str) -> Result<ExperimentStatus, EnvError> {
        Ok(status(fis, experiment_id).await?.0)
    }

    /// The template and experiment carrying `token`, found by tag.
    pub async fn find(fis: &aws_sdk_fis::Client, token: &str) -> Result<Option<(String, Option<String>)>, EnvError> {
        let mut template_id = None;
        let mut pages = fis.list_experiment_templates().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("fis:ListExperimentTemplates", e))?;
            if let Some(t) = page.experiment_templates().iter().find(|t| t.tags().and_then(|tags| tags.get("gameday:token")).is_some_and(|v| v == token)) {
                template_id = t.id().map(str::to_string);
                break;
            }
        }
        let Some(template_id) = template_id else { return Ok(None) };
        let out = fis.list_experiments().experiment_template_id(&template_id).send().await.map_err(|e| sdk_error("fis:ListExperiments", e))?;
        let experiment = out.experiments().first().and_then(|e| e.id()).map(str::to_string);
        Ok(Some((template_id, experiment)))
    }

    /// FIS's own view of the targets: a dry run (`actionsMode=skip-all`),
    /// then the resolved targets, then cleanup.
    pub async fn preview(fis: &aws_sdk_fis::Client, template: &Template, token: &str) -> Result<Vec<String>, EnvError> {
        let template_id = create_template(fis, template, token).await?;
        let started = fis
            .start_experiment()
            .experiment_template_id(&template_id)
            .client_token(format!("{token}-preview"))
            .experiment_options(aws_sdk_fis::types::StartExperimentExperimentOptionsInput::builder().actions_mode(aws_sdk_fis::types::ActionsMode::SkipAll).build())
            .send()
            .await
            .map_err(|e| sdk_error("fis:StartExperiment", e));
        let mut resolved = Vec::new();
        if let Ok(out) = &started
            && let Some(id) = out.experiment().and_then(|e| e.id())
        {
            let targets = fis.list_experiment_resolved_targets().experiment_id(id).send().await.map_err(|e| sdk_error("fis:ListExperimentResolvedTargets", e))?;
            for target in targets.resolved_targets() {
                let info = target.target_information().map(|m| m.values().cloned().collect::<Vec<_>>().join(" ")).unwrap_or_default();
                resolved.push(format!("{} {} {info}", target.target_name().unwrap_or_default(), target.resource_type().unwrap_or_default()));
            }
        }
        let _ = fis.delete_experiment_template().id(&template_id).send().await;
        started?;
        Ok(resolved)
    }
}
