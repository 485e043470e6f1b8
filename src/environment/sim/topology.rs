//! The simulated world's shape: regions, zones, groups, load balancers,
//! DNS and alarms, read from YAML. The built-in default is a commented file
//! compiled into the binary, which `gameday sim init` writes out to edit.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::scenario::Duration;

/// The default topology, as shipped.
pub const DEFAULT_TOPOLOGY_YAML: &str = include_str!("default-topology.yaml");

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub account: String,
    #[serde(default)]
    pub timings: Timings,
    pub regions: Vec<RegionSpec>,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancerSpec>,
    #[serde(default)]
    pub auto_scaling_groups: Vec<GroupSpec>,
    #[serde(default)]
    pub instances: Vec<InstanceSpec>,
    #[serde(default)]
    pub dns: Vec<FailoverRecordSpec>,
    #[serde(default)]
    pub alarms: Vec<AlarmSpec>,
    #[serde(default)]
    pub databases: Vec<DatabaseSpec>,
}

/// A database with one writer: an Aurora or Multi-AZ DB cluster, or a
/// Multi-AZ DB instance (a primary and its standby).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// The cluster or instance identifier, as scenarios name it.
    pub name: String,
    pub kind: DatabaseKind,
    pub region: String,
    /// The writer endpoint, for `tcp` probes (e.g. `orders-db.cluster-c1.us-east-1.rds.amazonaws.com`).
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default = "default_db_port")]
    pub port: u16,
    /// The database's tags, which `require_tags` and `exclude_tags` judge.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// A cluster's instances, the writer first (a failover promotes the next
    /// one); an instance's primary and standby, each as `{ name, zone }`.
    pub members: Vec<DatabaseMemberSpec>,
}

fn default_db_port() -> u16 {
    5432
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseKind {
    Cluster,
    Instance,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseMemberSpec {
    pub name: String,
    pub zone: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timings {
    pub ec2: Ec2Timings,
    pub auto_scaling: AutoScalingTimings,
    pub target_group: HealthCheckTimings,
    pub route53: Route53Timings,
    pub cloudwatch: CloudWatchTimings,
    pub rds: RdsTimings,
}

/// How long a failover leaves a database without a writer: each failover
/// draws its time from the seed, evenly between `min` and `max`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RdsTimings {
    pub cluster_failover_min: Duration,
    pub cluster_failover_max: Duration,
    pub instance_failover_min: Duration,
    pub instance_failover_max: Duration,
}

impl Default for RdsTimings {
    /// RDS Multi-AZ DB instances: "failover times are typically 60–120
    /// seconds"; Aurora's 15–60 s is an assumption (docs/simulator.md, "Timings").
    fn default() -> Self {
        RdsTimings {
            cluster_failover_min: Duration::from_secs(15),
            cluster_failover_max: Duration::from_secs(60),
            instance_failover_min: Duration::from_secs(60),
            instance_failover_max: Duration::from_secs(120),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ec2Timings {
    pub launch: Duration,
    pub boot: Duration,
    pub start: Duration,
    pub reboot: Duration,
}

impl Default for Ec2Timings {
    fn default() -> Self {
        Ec2Timings { launch: Duration::from_secs(30), boot: Duration::from_secs(60), start: Duration::from_secs(30), reboot: Duration::from_secs(60) }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoScalingTimings {
    pub health_check_interval: Duration,
    pub health_check_grace_period: Duration,
}

impl Default for AutoScalingTimings {
    fn default() -> Self {
        AutoScalingTimings { health_check_interval: Duration::from_secs(10), health_check_grace_period: Duration::from_secs(300) }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckTimings {
    pub interval: Duration,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
}

impl Default for HealthCheckTimings {
    fn default() -> Self {
        HealthCheckTimings { interval: Duration::from_secs(30), healthy_threshold: 5, unhealthy_threshold: 2 }
    }
}

/// The defaults for every Route 53 health check; a failover side may set
/// its own (`dns[].primary.request_interval`, …), as each real health check
/// has its own settings.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Route53Timings {
    pub request_interval: RequestInterval,
    pub failure_threshold: FailureThreshold,
}

/// How often each Route 53 health checker sends a request. Route 53 offers
/// exactly two: fast (10 s) and standard (30 s), so any other value would
/// simulate a check that cannot exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "Duration", into = "Duration")]
pub enum RequestInterval {
    Fast,
    #[default]
    Standard,
}

impl RequestInterval {
    pub fn duration(self) -> Duration {
        match self {
            RequestInterval::Fast => Duration::from_secs(10),
            RequestInterval::Standard => Duration::from_secs(30),
        }
    }
}

impl TryFrom<Duration> for RequestInterval {
    type Error = String;
    fn try_from(value: Duration) -> Result<Self, String> {
        match value.as_millis() {
            10_000 => Ok(RequestInterval::Fast),
            30_000 => Ok(RequestInterval::Standard),
            _ => Err(format!("`request_interval: {value}` is not a Route 53 request interval; use `10s` (fast) or `30s` (standard), the only two Route 53 offers")),
        }
    }
}

impl From<RequestInterval> for Duration {
    fn from(value: RequestInterval) -> Duration {
        value.duration()
    }
}

/// How many consecutive observations change a Route 53 health check's
/// status, in either direction: 1 to 10, as Route 53 allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct FailureThreshold(u32);

impl FailureThreshold {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for FailureThreshold {
    /// Route 53's default.
    fn default() -> Self {
        FailureThreshold(3)
    }
}

impl TryFrom<u32> for FailureThreshold {
    type Error = String;
    fn try_from(value: u32) -> Result<Self, String> {
        if (1..=10).contains(&value) {
            Ok(FailureThreshold(value))
        } else {
            Err(format!("`failure_threshold: {value}` is out of range; Route 53 allows 1 to 10 consecutive observations"))
        }
    }
}

impl From<FailureThreshold> for u32 {
    fn from(value: FailureThreshold) -> u32 {
        value.0
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CloudWatchTimings {
    pub period: Duration,
}

impl Default for CloudWatchTimings {
    fn default() -> Self {
        CloudWatchTimings { period: Duration::from_secs(60) }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    pub name: String,
    pub zones: Vec<ZoneSpec>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub name: String,
    pub id: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    pub name: String,
    pub region: String,
    pub dns_name: String,
    pub target_group: String,
    /// Requests per second one healthy target serves.
    pub capacity_per_target: f64,
    /// Requests per second arriving in steady state.
    pub offered_load: f64,
    pub base_latency: Duration,
    /// Overrides `timings.target_group` for this target group.
    #[serde(default)]
    pub health_check: Option<HealthCheckTimings>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthCheckType {
    #[default]
    Ec2,
    Elb,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    pub region: String,
    pub zones: Vec<String>,
    pub desired: u32,
    pub min: u32,
    pub max: u32,
    #[serde(default)]
    pub health_check_type: HealthCheckType,
    #[serde(default)]
    pub health_check_grace_period: Option<Duration>,
    #[serde(default)]
    pub target_group: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    pub name: String,
    pub region: String,
    /// Instances are spread over these zones in turn.
    pub zones: Vec<String>,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverRecordSpec {
    pub hosted_zone: String,
    pub record: String,
    pub ttl: Duration,
    pub primary: FailoverSideSpec,
    pub secondary: FailoverSideSpec,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverSideSpec {
    pub load_balancer: String,
    pub health_check: String,
    /// This health check's own interval; `timings.route53.request_interval` when absent.
    #[serde(default)]
    pub request_interval: Option<RequestInterval>,
    /// This health check's own threshold; `timings.route53.failure_threshold` when absent.
    #[serde(default)]
    pub failure_threshold: Option<FailureThreshold>,
}

impl FailoverSideSpec {
    /// The health check's interval and threshold, its own or the defaults.
    pub fn health_check_timings(&self, defaults: &Route53Timings) -> (RequestInterval, FailureThreshold) {
        (self.request_interval.unwrap_or(defaults.request_interval), self.failure_threshold.unwrap_or(defaults.failure_threshold))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmMetric {
    /// Targets in the `unhealthy` state (resource: target group).
    UnhealthyHosts,
    /// Targets in the `healthy` state (resource: target group).
    HealthyHosts,
    /// 5xx responses per period (resource: load balancer).
    #[serde(rename = "http_5xx")]
    Http5xx,
    /// 1 when healthy, 0 when not (resource: Route 53 health check).
    HealthCheckStatus,
    /// Instances in service (resource: Auto Scaling group).
    InService,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmSpec {
    pub name: String,
    pub metric: AlarmMetric,
    pub resource: String,
    pub comparison: Comparison,
    pub threshold: f64,
    #[serde(default = "one")]
    pub evaluation_periods: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("could not read the topology {path}: {source}")]
    Unreadable { path: String, source: std::io::Error },
    #[error("the topology {path} is invalid:\n{message}")]
    Invalid { path: String, message: String },
}

impl Topology {
    /// The shipped topology (checked by a unit test, so an error here means a broken build).
    pub fn default_topology() -> Result<Topology, TopologyError> {
        Topology::parse(DEFAULT_TOPOLOGY_YAML, "built-in topology")
    }

    pub fn load(path: &std::path::Path) -> Result<Topology, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Unreadable { path: path.display().to_string(), source })?;
        Topology::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<Topology, TopologyError> {
        let invalid = |message: String| TopologyError::Invalid { path: path.to_string(), message };
        // The YAML error carries line, column and a caret; it names the file, not `<input>`.
        let topology: Topology = serde_saphyr::from_str(text).map_err(|e| invalid(e.to_string().trim_start_matches("error: ").replace("<input>", path)))?;
        let problems = topology.problems();
        if problems.is_empty() { Ok(topology) } else { Err(invalid(problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))) }
    }

    /// Cross-references that serde cannot check.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.api_version != crate::scenario::API_VERSION || self.kind != "SimTopology" {
            problems.push(format!("expected `apiVersion: {}` and `kind: SimTopology`", crate::scenario::API_VERSION));
        }
        let regions: BTreeSet<&str> = self.regions.iter().map(|r| r.name.as_str()).collect();
        let zones: BTreeMap<&str, &str> = self.regions.iter().flat_map(|r| r.zones.iter().map(move |z| (z.name.as_str(), r.name.as_str()))).collect();
        let target_groups: BTreeSet<&str> = self.load_balancers.iter().map(|lb| lb.target_group.as_str()).collect();
        let balancers: BTreeSet<&str> = self.load_balancers.iter().map(|lb| lb.name.as_str()).collect();
        let health_checks: BTreeSet<&str> = self.dns.iter().flat_map(|r| [r.primary.health_check.as_str(), r.secondary.health_check.as_str()]).collect();
        let groups: BTreeSet<&str> = self.auto_scaling_groups.iter().map(|g| g.name.as_str()).collect();
        let check_zones = |owner: &str, region: &str, list: &[String], problems: &mut Vec<String>| {
            if !regions.contains(region) {
                problems.push(format!("{owner}: unknown region `{region}`"));
            }
            if list.is_empty() {
                problems.push(format!("{owner}: name at least one zone"));
            }
            for zone in list {
                if zones.get(zone.as_str()) != Some(&region) {
                    problems.push(format!("{owner}: zone `{zone}` is not a zone of {region}"));
                }
            }
        };
        for group in &self.auto_scaling_groups {
            check_zones(&format!("group {}", group.name), &group.region, &group.zones, &mut problems);
            if !(group.min <= group.desired && group.desired <= group.max) {
                problems.push(format!("group {}: needs min ≤ desired ≤ max", group.name));
            }
            if let Some(tg) = group.target_group.as_deref().filter(|tg| !target_groups.contains(tg)) {
                problems.push(format!("group {}: no load balancer has target group `{tg}`", group.name));
            }
        }
        for spec in &self.instances {
            check_zones(&format!("instances {}", spec.name), &spec.region, &spec.zones, &mut problems);
        }
        for lb in &self.load_balancers {
            if !regions.contains(lb.region.as_str()) {
                problems.push(format!("load balancer {}: unknown region `{}`", lb.name, lb.region));
            }
            if lb.capacity_per_target <= 0.0 || lb.offered_load < 0.0 {
                problems.push(format!("load balancer {}: capacity must be positive and load not negative", lb.name));
            }
        }
        // One health check may guard several records; it has one setting.
        let mut check_timings: BTreeMap<&str, (RequestInterval, FailureThreshold)> = BTreeMap::new();
        for record in &self.dns {
            for side in [&record.primary, &record.secondary] {
                if !balancers.contains(side.load_balancer.as_str()) {
                    problems.push(format!("dns {}: unknown load balancer `{}`", record.record, side.load_balancer));
                }
                let timings = side.health_check_timings(&self.timings.route53);
                if *check_timings.entry(side.health_check.as_str()).or_insert(timings) != timings {
                    problems.push(format!(
                        "dns {}: health check `{}` is given a different `request_interval` or `failure_threshold` elsewhere; one health check has one setting",
                        record.record, side.health_check
                    ));
                }
            }
        }
        for alarm in &self.alarms {
            let known = match alarm.metric {
                AlarmMetric::UnhealthyHosts | AlarmMetric::HealthyHosts => target_groups.contains(alarm.resource.as_str()),
                AlarmMetric::Http5xx => balancers.contains(alarm.resource.as_str()),
                AlarmMetric::HealthCheckStatus => health_checks.contains(alarm.resource.as_str()),
                AlarmMetric::InService => groups.contains(alarm.resource.as_str()),
            };
            if !known {
                problems.push(format!("alarm {}: unknown {:?} resource `{}`", alarm.name, alarm.metric, alarm.resource));
            }
        }
        let mut database_names: BTreeSet<&str> = BTreeSet::new();
        for db in &self.databases {
            let owner = format!("database {}", db.name);
            if !database_names.insert(db.name.as_str()) {
                problems.push(format!("{owner}: two databases have this name"));
            }
            let member_zones: Vec<String> = db.members.iter().map(|m| m.zone.clone()).collect();
            check_zones(&owner, &db.region, &member_zones, &mut problems);
            match db.kind {
                DatabaseKind::Cluster if db.members.len() < 2 => problems.push(format!("{owner}: a cluster fails over to a reader, so it needs at least two members")),
                DatabaseKind::Instance if db.members.len() != 2 => problems.push(format!("{owner}: a Multi-AZ DB instance has two members, its primary and its standby")),
                _ => {}
            }
        }
        let t = &self.timings;
        for (min, max, name) in
            [(t.rds.cluster_failover_min, t.rds.cluster_failover_max, "cluster_failover"), (t.rds.instance_failover_min, t.rds.instance_failover_max, "instance_failover")]
        {
            if min.as_millis() > max.as_millis() {
                problems.push(format!("timings.rds.{name}_min must not be longer than timings.rds.{name}_max"));
            }
        }
        for (name, value) in [
            ("timings.target_group.interval", t.target_group.interval),
            ("timings.cloudwatch.period", t.cloudwatch.period),
            ("timings.auto_scaling.health_check_interval", t.auto_scaling.health_check_interval),
        ] {
            if value.as_millis() == 0 {
                problems.push(format!("{name} must be longer than zero"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_topology_is_valid() {
        let topology = Topology::parse(DEFAULT_TOPOLOGY_YAML, "built-in").unwrap();
        assert_eq!(topology.auto_scaling_groups[0].desired, 6);
        assert_eq!(topology.timings.target_group.healthy_threshold, 5);
    }

    #[test]
    fn cross_references_are_checked() {
        let broken = DEFAULT_TOPOLOGY_YAML.replace("target_group: web-tg\n    tags", "target_group: nope\n    tags");
        let error = Topology::parse(&broken, "t").unwrap_err().to_string();
        assert!(error.contains("no load balancer has target group `nope`"), "{error}");
    }
}
