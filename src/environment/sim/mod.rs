//! The built-in simulated AWS region: the default environment, deterministic
//! under a seed, and a first-class part of the product (training drills and
//! "what would happen if" rest on it), not a test mock.

pub mod import;
pub mod topology;
pub mod world;

use std::collections::HashMap;

use crate::environment::{
    AlarmReadError, AlarmReading, Candidate, Effect, Ended, EnvError, Environment, Identity, Millis, Observation, PlanExecutionEnd, PracticeRunEnd, PracticeRunOutcome, Reach,
    ReadErrorKind, RevertOutcome, Sample, alarm_matches, alarm_name, shell,
};
use crate::rng::SeededRng;
use crate::scenario::{AzOutageMode, DnsRecordType, FailoverSide, Fault, FaultAction, OperatorAction, OperatorChange, Probe, ProbeCheck, RegionSwitchAction, Targets};

use topology::DatabaseKind;
pub use topology::{DEFAULT_TOPOLOGY_YAML, Topology, TopologyError};
use world::{DatabaseState, Ec2State, World};

pub struct SimEnvironment {
    world: World,
    seed: u64,
    samples_taken: HashMap<String, u64>,
    events_seen: usize,
    /// Effects applied and not yet reverted: a second revert of the same
    /// effect must not undo an overlapping fault on the same zone or region.
    active: Vec<Effect>,
    /// Region switch plan executions, in the order started.
    executions: Vec<Execution>,
    /// Zonal autoshift practice runs, in the order started.
    practice_runs: Vec<PracticeRun>,
}

/// How long ARC runs a practice run (and so the simulator): 30 minutes.
pub const PRACTICE_RUN_MS: Millis = 30 * 60_000;

/// A simulated practice run: the zonal shift model (the balancer stops
/// routing to the zone) for [`PRACTICE_RUN_MS`], then shifted back. The
/// simulated resource has no outcome alarms: it ends SUCCEEDED when it runs
/// its 30 minutes, INTERRUPTED when cancelled first.
#[derive(Clone, Debug)]
struct PracticeRun {
    fault: String,
    comment: String,
    balancer: usize,
    zone: usize,
    started: Millis,
    ended: Option<(Millis, PracticeRunOutcome)>,
    reported: bool,
}

/// How long each step of a simulated Region switch plan takes: one step
/// per failover record, run one after another (docs/simulator.md).
pub const REGION_SWITCH_STEP_MS: Millis = 30_000;

/// A simulated plan's steps (each a failover record and the side it is
/// pointed at) and the plan's Regions.
type SimPlan = (Vec<(usize, FailoverSide)>, Vec<String>);

/// A simulated Region switch plan execution: each step points one failover
/// record at the target Region's side when it ends.
#[derive(Clone, Debug)]
struct Execution {
    fault: String,
    comment: String,
    started: Millis,
    steps: Vec<(usize, FailoverSide)>,
    /// Steps made so far.
    done: usize,
    /// How it ended and when, once it has; `reported` once `follow` returned it.
    ended: Option<(Millis, &'static str)>,
    reported: bool,
}

impl SimEnvironment {
    pub fn new(topology: &Topology, seed: u64) -> Self {
        SimEnvironment {
            world: World::new(topology, seed),
            seed,
            samples_taken: HashMap::new(),
            events_seen: 0,
            active: Vec::new(),
            executions: Vec::new(),
            practice_runs: Vec::new(),
        }
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    fn advance(&mut self, now: Millis) {
        // Each Region switch step takes effect at its own moment, not at the
        // next moment the world is asked about: the world stops there first.
        loop {
            let next = self
                .executions
                .iter()
                .enumerate()
                .filter(|(_, e)| e.ended.is_none())
                .map(|(i, e)| (e.started + REGION_SWITCH_STEP_MS * (e.done as Millis + 1), i))
                .filter(|(at, _)| *at <= now)
                .min();
            // A practice run that reaches its 30 minutes first ends first.
            let practice =
                self.practice_runs.iter().enumerate().filter(|(_, p)| p.ended.is_none()).map(|(i, p)| (p.started + PRACTICE_RUN_MS, i)).filter(|(at, _)| *at <= now).min();
            if let Some((at, p)) = practice
                && next.is_none_or(|(step_at, _)| at <= step_at)
            {
                self.world.advance_to(i64::try_from(at).unwrap_or(i64::MAX / 4));
                let run = &mut self.practice_runs[p];
                run.ended = Some((at, PracticeRunOutcome::Succeeded));
                self.world.shift_back(run.balancer, run.zone, "arc-practice-run");
                continue;
            }
            let Some((at, i)) = next else { break };
            self.world.advance_to(i64::try_from(at).unwrap_or(i64::MAX / 4));
            let execution = &mut self.executions[i];
            let (record, side) = execution.steps[execution.done];
            execution.done += 1;
            if execution.done == execution.steps.len() {
                execution.ended = Some((at, "completed"));
            }
            self.world.force_record(record, side, "arc-region-switch");
        }
        self.world.advance_to(i64::try_from(now).unwrap_or(i64::MAX / 4));
    }

    /// The simulator's Region switch plan: one step per failover record
    /// that has a side in the target Region, pointing it at that side
    /// (`activate`) or at the other one (`deactivate`); and the plan's
    /// Regions, those of every record's two sides.
    fn region_switch_plan(&self, target_region: &str, action: RegionSwitchAction) -> Result<SimPlan, EnvError> {
        let region_of = |balancer: usize| self.world.regions[self.world.balancers[balancer].region].name.clone();
        let mut regions: Vec<String> = Vec::new();
        let mut steps = Vec::new();
        for (index, record) in self.world.records.iter().enumerate() {
            let (primary, secondary) = (region_of(record.primary.0), region_of(record.secondary.0));
            for region in [&primary, &secondary] {
                if !regions.contains(region) {
                    regions.push(region.clone());
                }
            }
            let side_in_target = if primary == target_region {
                FailoverSide::Primary
            } else if secondary == target_region {
                FailoverSide::Secondary
            } else {
                continue;
            };
            let side = match (action, side_in_target) {
                (RegionSwitchAction::Activate, side) => side,
                (RegionSwitchAction::Deactivate, FailoverSide::Primary) => FailoverSide::Secondary,
                (RegionSwitchAction::Deactivate, FailoverSide::Secondary) => FailoverSide::Primary,
            };
            steps.push((index, side));
        }
        regions.sort();
        if steps.is_empty() {
            return Err(EnvError::NotFound {
                resource: format!("Region {target_region} in the simulated plan"),
                hint: Some(format!("its Regions (those of the failover records): {}", regions.join(", "))),
            });
        }
        Ok((steps, regions))
    }

    fn zone(&self, name: &str) -> Result<usize, EnvError> {
        self.world.zone_index(name).ok_or_else(|| EnvError::NotFound {
            resource: format!("zone `{name}`"),
            hint: Some(format!("zones here: {}", self.world.zones.iter().map(|z| format!("{} ({})", z.name, z.id)).collect::<Vec<_>>().join(", "))),
        })
    }

    fn candidate(&self, index: usize) -> Candidate {
        let i = &self.world.instances[index];
        Candidate {
            id: i.id.clone(),
            region: self.world.region_name_of_zone(i.zone),
            zone: self.world.zones[i.zone].name.clone(),
            group: i.group.map(|g| self.world.groups[g].name.clone()),
            tags: i.tags.clone(),
        }
    }

    fn live_instances(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.world.instances.len()).filter(|i| !matches!(self.world.instances[*i].state(self.world.now), Ec2State::Terminated))
    }

    fn region(&self, name: &str) -> Result<usize, EnvError> {
        self.world.region_index(name).ok_or_else(|| EnvError::NotFound {
            resource: format!("region `{name}`"),
            hint: Some(format!("regions here: {}", self.world.regions.iter().map(|r| r.name.clone()).collect::<Vec<_>>().join(", "))),
        })
    }

    /// The zones a gray failure impairs: one zone, or every zone of a region.
    fn gray_zones(&self, zone: Option<&str>, region: Option<&str>) -> Result<Vec<usize>, EnvError> {
        match (zone, region) {
            (Some(zone), None) => Ok(vec![self.zone(zone)?]),
            (None, Some(region)) => {
                let r = self.region(region)?;
                Ok((0..self.world.zones.len()).filter(|z| self.world.zones[*z].region == r).collect())
            }
            _ => Err(EnvError::Unsupported("a `gray_failure` names exactly one of `zone` or `region`".into())),
        }
    }

    fn group(&self, name: &str) -> Result<usize, EnvError> {
        self.world.group_index(name).ok_or_else(|| EnvError::NotFound {
            resource: format!("Auto Scaling group `{name}`"),
            hint: Some(format!("groups here: {}", self.world.group_names().into_iter().collect::<Vec<_>>().join(", "))),
        })
    }

    fn record(&self, name: &str) -> Result<usize, EnvError> {
        self.world.record_by_name(name).ok_or_else(|| EnvError::NotFound {
            resource: format!("failover record `{name}`"),
            hint: Some(format!("records here: {}", self.world.records.iter().map(|r| r.name.clone()).collect::<Vec<_>>().join(", "))),
        })
    }

    fn balancer(&self, name: &str) -> Result<usize, EnvError> {
        self.world.balancers.iter().position(|b| b.name == name || b.dns_name.eq_ignore_ascii_case(name)).ok_or_else(|| EnvError::NotFound {
            resource: format!("load balancer `{name}`"),
            hint: Some(format!("load balancers here: {}", self.world.balancers.iter().map(|b| b.name.clone()).collect::<Vec<_>>().join(", "))),
        })
    }

    /// The load balancer and zone of a zonal shift; the zone must be one of
    /// the balancer's region.
    fn shift(&self, load_balancer: &str, away_from: &str) -> Result<(usize, usize), EnvError> {
        let b = self.balancer(load_balancer)?;
        let z = self.zone(away_from)?;
        let region = self.world.balancers[b].region;
        if self.world.zones[z].region != region {
            return Err(EnvError::NotFound {
                resource: format!("zone `{away_from}` behind load balancer `{load_balancer}`"),
                hint: Some(format!("{load_balancer} is in {}, with zones {}", self.world.regions[region].name, self.world.zone_names_of_region(region).join(", "))),
            });
        }
        Ok((b, z))
    }

    /// The database a fault or probe names by `cluster` or `instance`; the
    /// key must match its kind, as on AWS a cluster is not an instance.
    fn database(&self, cluster: Option<&str>, instance: Option<&str>) -> Result<usize, EnvError> {
        let (name, kind, word) = match (cluster, instance) {
            (Some(name), _) => (name, DatabaseKind::Cluster, "DB cluster"),
            (None, Some(name)) => (name, DatabaseKind::Instance, "Multi-AZ DB instance"),
            (None, None) => return Err(EnvError::Failed("name a `cluster` or an `instance`".into())),
        };
        self.world.database_index(name).filter(|d| self.world.databases[*d].kind == kind).ok_or_else(|| EnvError::NotFound {
            resource: format!("{word} `{name}`"),
            hint: Some(format!(
                "databases here: {}",
                self.world
                    .databases
                    .iter()
                    .map(|d| format!("{} ({})", d.name, if d.kind == DatabaseKind::Cluster { "cluster" } else { "instance" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        })
    }

    fn check_groups(&self, groups: &[String]) -> Result<(), EnvError> {
        for group in groups {
            self.group(group)?;
        }
        Ok(())
    }

    fn matches_targets(&self, index: usize, targets: &Targets) -> Result<bool, EnvError> {
        let c = self.candidate(index);
        let zone = &self.world.zones[self.world.instances[index].zone];
        Ok(targets.tags.iter().all(|(k, v)| c.tags.get(k) == Some(v))
            && (targets.groups.is_empty() || c.group.as_ref().is_some_and(|g| targets.groups.contains(g)))
            && (targets.zones.is_empty() || targets.zones.iter().any(|z| *z == zone.name || *z == zone.id))
            && (targets.ids.is_empty() || targets.ids.contains(&c.id)))
    }

    /// Each probe is a client behind its own caching resolver: it sees
    /// Route 53's answer as it was when that resolver last filled its cache.
    fn resolve_name(&self, probe: &str, host: &str) -> Option<usize> {
        if let Some(balancer) = self.world.balancer_by_dns(host) {
            return Some(balancer);
        }
        let record = self.world.record_by_name(host)?;
        Some(self.world.cached_answer(record, cache_fill_phase(self.seed, probe, &self.world.records[record].name, self.world.records[record].ttl)))
    }

    fn known_names(&self) -> String {
        let mut names: Vec<String> = self.world.records.iter().map(|r| r.name.clone()).collect();
        names.extend(self.world.balancers.iter().map(|b| b.dns_name.clone()));
        names.join(", ")
    }

    fn balancer_ip(balancer: usize) -> String {
        format!("198.51.100.{}", 10 + balancer)
    }
}

/// When, within the TTL cycle, a client's resolver fills its cache for a
/// record: drawn from the seed per client and record. Real resolvers fill
/// their caches whenever one of their clients first asks after expiry,
/// which has nothing to do with the moment a game day starts; if every
/// client filled at T+0, all would switch together on the TTL grid.
fn cache_fill_phase(seed: u64, client: &str, record: &str, ttl: i64) -> i64 {
    let draw = SeededRng::stream(seed, &format!("resolver {client} {record}"), 0).below(u64::try_from(ttl).unwrap_or(0));
    i64::try_from(draw).unwrap_or(0)
}

/// The ALB metrics the simulator keeps, per load balancer (docs/simulator.md).
const SIM_METRICS: [&str; 3] = ["RequestCount", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count"];

/// The name inside an ALB dimension value: `app/NAME/ID` for a load
/// balancer, `targetgroup/NAME/ID` for a target group, or the bare name.
fn dimension_name<'a>(value: &'a str, prefix: &str) -> &'a str {
    value.strip_prefix(prefix).and_then(|rest| rest.split('/').next()).unwrap_or(value)
}

impl SimEnvironment {
    /// The balancer whose counts a `metric` probe reads, or why the
    /// simulator cannot answer it truthfully.
    fn metric_balancer(&self, probe: &Probe) -> Result<usize, EnvError> {
        let ProbeCheck::Metric { namespace, metric, dimensions, statistic, divided_by, .. } = &probe.check else {
            return Err(EnvError::Unsupported(format!("probe `{}` is not a `metric` probe", probe.name)));
        };
        let unsupported = |why: String| EnvError::Unsupported(format!("probe `{}`: {why}", probe.name));
        if namespace != "AWS/ApplicationELB" {
            return Err(unsupported(format!("the simulator keeps metrics in the `AWS/ApplicationELB` namespace only, not `{namespace}`")));
        }
        if *statistic != crate::scenario::Statistic::Sum {
            return Err(unsupported(format!("the simulator keeps request counts, read with the `Sum` statistic, not `{}`", statistic.name())));
        }
        let names: Vec<&String> = metric.names().iter().chain(divided_by.iter()).collect();
        if let Some(unknown) = names.iter().find(|n| !SIM_METRICS.contains(&n.as_str())) {
            return Err(unsupported(format!("the simulator keeps {} only, not `{unknown}`", SIM_METRICS.join(", "))));
        }
        let dimension: Vec<(&String, &String)> = dimensions.iter().collect();
        match dimension.as_slice() {
            [(key, value)] if key.as_str() == "LoadBalancer" => {
                let name = dimension_name(value, "app/");
                self.world.balancers.iter().position(|b| b.name == name).ok_or_else(|| EnvError::NotFound {
                    resource: format!("load balancer `{name}` (probe `{}`)", probe.name),
                    hint: Some(format!("load balancers here: {}", self.world.balancers.iter().map(|b| b.name.clone()).collect::<Vec<_>>().join(", "))),
                })
            }
            [(key, value)] if key.as_str() == "TargetGroup" => {
                if names.iter().any(|n| n.as_str() == "HTTPCode_ELB_5XX_Count") {
                    return Err(unsupported("`HTTPCode_ELB_5XX_Count` is counted per load balancer, not per target group (as on AWS): use the `LoadBalancer` dimension".into()));
                }
                let name = dimension_name(value, "targetgroup/");
                self.world.target_group_index(name).and_then(|t| self.world.balancer_of_target_group(t)).ok_or_else(|| EnvError::NotFound {
                    resource: format!("target group `{name}` behind a load balancer (probe `{}`)", probe.name),
                    hint: Some(format!("target groups here: {}", self.world.target_groups.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", "))),
                })
            }
            _ => Err(unsupported("name one dimension, `LoadBalancer` or `TargetGroup`: the simulator keeps request counts per load balancer".into())),
        }
    }
}

/// Fails a database over, to `target` when named; refused while it is failing over already.
fn fail_over(world: &mut World, name: &str, target: Option<&str>) -> Result<(), EnvError> {
    let d = world.database_index(name).ok_or_else(|| EnvError::NotFound { resource: format!("database `{name}`"), hint: None })?;
    if let DatabaseState::FailingOver { to } = world.database_state(d) {
        return Err(EnvError::Refused(format!("{name} is failing over to {to} already")));
    }
    let to = target.and_then(|target| world.databases[d].members.iter().position(|(member, _)| member == target));
    world.fail_over(d, to);
    Ok(())
}

/// How the plan and the samples name a database and its writer.
fn database_line(kind: DatabaseKind, name: &str, writer: &str, zone: &str) -> String {
    match kind {
        DatabaseKind::Cluster => format!("DB cluster {name}: writer {writer} in {zone}"),
        DatabaseKind::Instance => format!("Multi-AZ DB instance {name}: primary in {zone}"),
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, host)| host).split(':').next().unwrap_or(authority)
}

impl Environment for SimEnvironment {
    fn identity(&self) -> Identity {
        Identity { environment: "sim".into(), account: self.world.account.clone(), regions: self.world.regions.iter().map(|r| r.name.clone()).collect(), simulated: true }
    }

    fn supports_probe(&self, probe: &Probe) -> Result<(), EnvError> {
        let not_found =
            |what: &str, name: &str, known: Vec<String>| EnvError::NotFound { resource: format!("{what} `{name}`"), hint: Some(format!("{what}s here: {}", known.join(", "))) };
        match &probe.check {
            ProbeCheck::Command { .. } => Err(EnvError::Unsupported(format!(
                "probe `{}` is a `command` probe, which runs a shell command on this machine and so says nothing about the simulated region; run this scenario against a real environment, or probe the simulated service with an `http`, `tcp` or `dns` probe",
                probe.name
            ))),
            ProbeCheck::Http { url, .. } if self.world.balancer_by_dns(host_of(url)).is_none() && self.world.record_by_name(host_of(url)).is_none() => Err(EnvError::NotFound {
                resource: format!("host `{}` (probe `{}`)", host_of(url), probe.name),
                hint: Some(format!("names the simulator serves: {}", self.known_names())),
            }),
            ProbeCheck::Tcp { host, .. } if self.world.database_by_endpoint(host).is_some() => Ok(()),
            ProbeCheck::Tcp { host, .. } | ProbeCheck::Dns { query: host, .. } if self.world.balancer_by_dns(host).is_none() && self.world.record_by_name(host).is_none() => {
                Err(EnvError::NotFound { resource: format!("host `{host}` (probe `{}`)", probe.name), hint: Some(format!("names the simulator serves: {}", self.known_names())) })
            }
            ProbeCheck::AsgCapacity { group, .. } if self.world.group_index(group).is_none() => {
                Err(not_found("Auto Scaling group", group, self.world.groups.iter().map(|g| g.name.clone()).collect()))
            }
            ProbeCheck::TargetHealth { target_group, .. } if self.world.target_group_index(target_group).is_none() => {
                Err(not_found("target group", target_group, self.world.target_groups.iter().map(|t| t.name.clone()).collect()))
            }
            ProbeCheck::Alarm { alarm, .. } if !self.world.alarms.iter().any(|a| alarm_matches(alarm, &a.spec.name)) => {
                Err(not_found("CloudWatch alarm", alarm, self.world.alarms.iter().map(|a| a.spec.name.clone()).collect()))
            }
            ProbeCheck::Route53HealthCheck { health_check, .. } if !self.world.health_checks.iter().any(|h| h.id == *health_check) => {
                Err(not_found("Route 53 health check", health_check, self.world.health_checks.iter().map(|h| h.id.clone()).collect()))
            }
            ProbeCheck::Metric { .. } => self.metric_balancer(probe).map(|_| ()),
            ProbeCheck::DbWriter { cluster, instance, .. } => self.database(cluster.as_deref(), instance.as_deref()).map(|_| ()),
            _ => Ok(()),
        }
    }

    async fn reach(&mut self, fault: &Fault) -> Result<Reach, EnvError> {
        let (group_sizes, zone_sizes) = self.world.population();
        let mut reach = Reach { group_sizes, zone_sizes, ..Reach::default() };
        match &fault.action {
            FaultAction::AzOutage { zone, mode, tags, groups } => {
                let z = self.zone(zone)?;
                self.check_groups(groups)?;
                reach.zones = vec![self.world.zones[z].name.clone()];
                reach.regions = vec![self.world.region_name_of_zone(z)];
                reach.acts_on_instances = true;
                // A network cut takes the zone's subnets whole; power can be scoped.
                reach.indivisible = *mode == AzOutageMode::Network;
                let scoped = Targets { tags: tags.clone(), groups: groups.clone(), ..Targets::default() };
                for i in self.live_instances().filter(|i| self.world.instances[*i].zone == z).collect::<Vec<_>>() {
                    if reach.indivisible || self.matches_targets(i, &scoped)? {
                        reach.candidates.push(self.candidate(i));
                    }
                }
            }
            FaultAction::TerminateInstances { targets } | FaultAction::StopInstances { targets } | FaultAction::RebootInstances { targets } => {
                self.check_groups(&targets.groups)?;
                for zone in &targets.zones {
                    self.zone(zone)?;
                }
                reach.acts_on_instances = true;
                let now = self.world.now;
                for i in self.live_instances().collect::<Vec<_>>() {
                    let running = matches!(self.world.instances[i].state(now), Ec2State::Running | Ec2State::Pending);
                    if running && self.matches_targets(i, targets)? {
                        let c = self.candidate(i);
                        if !reach.regions.contains(&c.region) {
                            reach.regions.push(c.region.clone());
                        }
                        reach.candidates.push(c);
                    }
                }
            }
            FaultAction::DnsFailover { hosted_zone, record, fail } => {
                let index =
                    self.world.record_by_name(record).filter(|r| self.world.records[*r].hosted_zone.eq_ignore_ascii_case(hosted_zone)).ok_or_else(|| EnvError::NotFound {
                        resource: format!("failover record `{record}` in hosted zone `{hosted_zone}`"),
                        hint: Some(format!("records here: {}", self.world.records.iter().map(|r| format!("{} ({})", r.name, r.hosted_zone)).collect::<Vec<_>>().join(", "))),
                    })?;
                let r = &self.world.records[index];
                let (balancer, hc) = if *fail == FailoverSide::Primary { r.primary } else { r.secondary };
                reach.other_resources = vec![format!(
                    "Route 53 health check {} ({} side of {})",
                    self.world.health_checks[hc].id,
                    if *fail == FailoverSide::Primary { "primary" } else { "secondary" },
                    r.name
                )];
                reach.regions = vec![self.world.regions[self.world.balancers[balancer].region].name.clone()];
            }
            FaultAction::RegionOutage { region, .. } => {
                let r = self.world.region_index(region).ok_or_else(|| EnvError::NotFound {
                    resource: format!("region `{region}`"),
                    hint: Some(format!("regions here: {}", self.world.regions.iter().map(|r| r.name.clone()).collect::<Vec<_>>().join(", "))),
                })?;
                reach.regions = vec![region.clone()];
                reach.zones = self.world.zone_names_of_region(r);
                reach.indivisible = true;
                for i in self.live_instances().collect::<Vec<_>>() {
                    if self.world.zones[self.world.instances[i].zone].region == r {
                        reach.candidates.push(self.candidate(i));
                    }
                }
            }
            FaultAction::GrayFailure { zone, region, .. } => {
                let zones = self.gray_zones(zone.as_deref(), region.as_deref())?;
                for z in &zones {
                    reach.zones.push(self.world.zones[*z].name.clone());
                    let region = self.world.region_name_of_zone(*z);
                    if !reach.regions.contains(&region) {
                        reach.regions.push(region);
                    }
                }
                // Every request served there may fail: guards cannot spare one instance.
                reach.indivisible = true;
                for i in self.live_instances().collect::<Vec<_>>() {
                    if zones.contains(&self.world.instances[i].zone) {
                        reach.candidates.push(self.candidate(i));
                    }
                }
            }
            FaultAction::AsgCapacityError { zones, groups } => {
                self.check_groups(groups)?;
                for zone in zones {
                    let z = self.zone(zone)?;
                    reach.zones.push(self.world.zones[z].name.clone());
                    let region = self.world.region_name_of_zone(z);
                    if !reach.regions.contains(&region) {
                        reach.regions.push(region);
                    }
                }
                reach.other_resources =
                    vec![format!("launches in {} for {}", reach.zones.join(", "), if groups.is_empty() { "every group".to_string() } else { groups.join(", ") })];
            }
            FaultAction::Command { inject, .. } => {
                reach.other_resources = vec![format!("shell on this machine: `{inject}`")];
            }
            FaultAction::ZonalShift { resource, away_from, .. } => {
                let (b, z) = self.shift(resource, away_from)?;
                let balancer = &self.world.balancers[b];
                // ARC applies one zonal shift (or practice run) at a time on a resource.
                if let Some(other) = balancer.shifted_away.first() {
                    return Err(EnvError::Busy(format!(
                        "{} is shifted away from {} already, and ARC applies one zonal shift at a time on a resource",
                        balancer.name, self.world.zones[*other].name
                    )));
                }
                reach.other_resources = vec![format!("ARC zonal shift of {} away from {}", balancer.name, self.world.zones[z].name)];
                reach.regions = vec![self.world.regions[balancer.region].name.clone()];
            }
            FaultAction::PracticeRun { resource, away_from } => {
                let (b, z) = self.shift(resource, away_from)?;
                let balancer = &self.world.balancers[b];
                // One model with the zonal shift: ARC applies one shift or practice run at a time.
                if let Some(other) = balancer.shifted_away.first() {
                    return Err(EnvError::Busy(format!(
                        "{} is shifted away from {} already, and ARC applies one zonal shift or practice run at a time on a resource",
                        balancer.name, self.world.zones[*other].name
                    )));
                }
                reach.other_resources = vec![format!("ARC practice run of {} away from {} (30 minutes)", balancer.name, self.world.zones[z].name)];
                reach.regions = vec![self.world.regions[balancer.region].name.clone()];
            }
            FaultAction::RegionSwitch { plan, target_region, action, execution, mode } => {
                let (steps, regions) = self.region_switch_plan(target_region, *action)?;
                // A plan runs one execution at a time.
                if let Some(other) = self.executions.iter().find(|e| e.ended.is_none()) {
                    return Err(EnvError::Busy(format!(
                        "plan {plan} has an unfinished execution (started by `{}`), and a plan runs one execution at a time; let it end or cancel it first",
                        other.fault
                    )));
                }
                let steps: Vec<String> = steps.iter().map(|(r, _)| format!("point {} at {target_region} (Route53HealthCheck)", self.world.records[*r].name)).collect();
                reach.other_resources = vec![format!(
                    "ARC Region switch plan {plan} ({} of {target_region}, {}, mode {}; Regions {}), steps: {}",
                    action.as_str(),
                    execution.as_str(),
                    mode.as_str(),
                    regions.join(", "),
                    steps.join(", ")
                )];
                reach.regions = regions;
            }
            FaultAction::DbFailover { cluster, instance, target } => {
                let d = self.database(cluster.as_deref(), instance.as_deref())?;
                let db = &self.world.databases[d];
                if let Some(target) = target {
                    match db.members.iter().position(|(name, _)| name == target) {
                        Some(t) if t == db.writer => return Err(EnvError::Refused(format!("`{target}` is already the writer of {}: there is nothing to fail over to", db.name))),
                        Some(_) => {}
                        None => {
                            return Err(EnvError::NotFound {
                                resource: format!("instance `{target}` in DB cluster `{}`", db.name),
                                hint: Some(format!("its members: {}", db.members.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>().join(", "))),
                            });
                        }
                    }
                }
                let (writer, z) = &db.members[db.writer];
                let zone = self.world.zones[*z].name.clone();
                let region = self.world.regions[db.region].name.clone();
                reach.other_resources = vec![database_line(db.kind, &db.name, writer, &zone)];
                reach.candidates = vec![Candidate { id: db.name.clone(), region: region.clone(), zone: zone.clone(), group: None, tags: db.tags.clone() }];
                reach.regions = vec![region];
                // The writer's zone loses its writer for the failover.
                reach.zones = vec![zone];
                reach.acts_on_instances = true;
                reach.indivisible = true;
            }
        }
        Ok(reach)
    }

    async fn prepare(&mut self, fault: &Fault, chosen: &[Candidate], _reach: &Reach) -> Result<Effect, EnvError> {
        let ids: Vec<String> = chosen.iter().map(|c| c.id.clone()).collect();
        Ok(match &fault.action {
            FaultAction::AzOutage { zone, mode: AzOutageMode::Power, groups, .. } => {
                Effect::ZonePower { zone: self.world.zones[self.zone(zone)?].name.clone(), ids, groups: groups.clone() }
            }
            FaultAction::AzOutage { zone, mode: AzOutageMode::Network, .. } => {
                Effect::ZoneNetwork { zone: self.world.zones[self.zone(zone)?].name.clone(), ids, subnets: Vec::new() }
            }
            FaultAction::TerminateInstances { .. } => Effect::TerminateInstances { ids },
            FaultAction::StopInstances { .. } => Effect::StopInstances { ids },
            FaultAction::RebootInstances { .. } => Effect::RebootInstances { ids },
            FaultAction::DnsFailover { record, fail, .. } => {
                let index = self.world.record_by_name(record).ok_or_else(|| EnvError::NotFound { resource: format!("record `{record}`"), hint: None })?;
                let r = &self.world.records[index];
                let hc = if *fail == FailoverSide::Primary { r.primary.1 } else { r.secondary.1 };
                Effect::InvertHealthCheck { health_check: self.world.health_checks[hc].id.clone(), record: r.name.clone() }
            }
            FaultAction::RegionOutage { region, .. } => Effect::RegionDown { region: region.clone() },
            FaultAction::GrayFailure { zone, region, error_rate, latency, .. } => {
                let zones = self.gray_zones(zone.as_deref(), region.as_deref())?;
                Effect::GrayFailure {
                    zones: zones.into_iter().map(|z| self.world.zones[z].name.clone()).collect(),
                    error_rate: crate::scenario::gray_error_rate(*error_rate, *latency),
                    latency_ms: latency.map_or(0, |l| l.as_millis()),
                }
            }
            FaultAction::AsgCapacityError { zones, groups } => {
                let names = zones.iter().map(|z| self.zone(z).map(|i| self.world.zones[i].name.clone())).collect::<Result<Vec<_>, _>>()?;
                Effect::LaunchFailures { zones: names, groups: groups.clone() }
            }
            FaultAction::Command { inject, revert } => Effect::command(inject, revert)?,
            FaultAction::ZonalShift { resource, away_from, .. } => {
                let (b, z) = self.shift(resource, away_from)?;
                Effect::ZonalShift {
                    resource: self.world.balancers[b].name.clone(),
                    away_from: self.world.zones[z].name.clone(),
                    expires_in_minutes: fault.zonal_shift_expiry_minutes().unwrap_or(1),
                    comment: format!("gameday {}", fault.name),
                }
            }
            FaultAction::PracticeRun { resource, away_from } => {
                let (b, z) = self.shift(resource, away_from)?;
                Effect::PracticeRun {
                    fault: fault.name.clone(),
                    resource: self.world.balancers[b].name.clone(),
                    away_from: self.world.zones[z].name.clone(),
                    comment: format!("gameday:token=gameday-{}", fault.name),
                }
            }
            FaultAction::RegionSwitch { .. } => {
                Effect::region_switch(fault, &format!("gameday-{}", fault.name)).ok_or_else(|| EnvError::Unsupported(format!("fault `{}` is not a Region switch", fault.name)))?
            }
            FaultAction::DbFailover { cluster, instance, target } => {
                let d = self.database(cluster.as_deref(), instance.as_deref())?;
                let db = &self.world.databases[d];
                let (writer, zone) = &db.members[db.writer];
                let fail_back = fault.duration.is_some();
                match db.kind {
                    DatabaseKind::Cluster => Effect::DbClusterFailover { cluster: db.name.clone(), writer: writer.clone(), target: target.clone(), fail_back },
                    DatabaseKind::Instance => Effect::DbInstanceFailover { instance: db.name.clone(), zone: self.world.zones[*zone].name.clone(), fail_back },
                }
            }
        })
    }

    async fn apply(&mut self, effect: &Effect, now: Millis) -> Result<(), EnvError> {
        self.advance(now);
        let world = &mut self.world;
        let instances = |world: &World, ids: &[String]| -> Vec<usize> { ids.iter().filter_map(|id| world.instance_index(id)).collect() };
        let none_changed = |what: &str| EnvError::Refused(format!("no target could be {what}: every one was already gone"));
        match effect {
            Effect::StopInstances { ids } => {
                let changed = instances(world, ids).into_iter().filter(|i| world.stop(*i)).count();
                if changed == 0 {
                    return Err(none_changed("stopped"));
                }
            }
            Effect::TerminateInstances { ids } => {
                let changed = instances(world, ids).into_iter().filter(|i| world.terminate(*i)).count();
                if changed == 0 {
                    return Err(none_changed("terminated"));
                }
            }
            Effect::RebootInstances { ids } => {
                let changed = instances(world, ids).into_iter().filter(|i| world.reboot(*i)).count();
                if changed == 0 {
                    return Err(none_changed("rebooted"));
                }
            }
            Effect::ZonePower { zone, ids, groups } => {
                let z = world.zone_index(zone).ok_or_else(|| EnvError::NotFound { resource: format!("zone `{zone}`"), hint: None })?;
                for i in instances(world, ids) {
                    world.stop(i);
                }
                // Launches fail there too, as in FIS's power-interruption scenario.
                world.add_launch_failure(z, groups.clone());
            }
            Effect::ZoneNetwork { zone, .. } => {
                let z = world.zone_index(zone).ok_or_else(|| EnvError::NotFound { resource: format!("zone `{zone}`"), hint: None })?;
                world.set_network(z, true);
            }
            Effect::LaunchFailures { zones, groups } => {
                for zone in zones {
                    let z = world.zone_index(zone).ok_or_else(|| EnvError::NotFound { resource: format!("zone `{zone}`"), hint: None })?;
                    world.add_launch_failure(z, groups.clone());
                }
            }
            Effect::InvertHealthCheck { health_check, .. } => {
                let h = world
                    .health_checks
                    .iter()
                    .position(|h| h.id == *health_check)
                    .ok_or_else(|| EnvError::NotFound { resource: format!("health check `{health_check}`"), hint: None })?;
                world.set_inverted(h, true);
            }
            Effect::RegionDown { region } => {
                let r = world.region_index(region).ok_or_else(|| EnvError::NotFound { resource: format!("region `{region}`"), hint: None })?;
                world.set_region_down(r, true);
            }
            Effect::GrayFailure { zones, error_rate, latency_ms } => {
                let found = zones.iter().map(|zone| world.zone_index(zone).ok_or_else(|| EnvError::NotFound { resource: format!("zone `{zone}`"), hint: None })).collect::<Result<
                    Vec<_>,
                    _,
                >>(
                )?;
                for z in found {
                    if *error_rate > 0.0 {
                        world.add_gray(z, error_rate / 100.0);
                    }
                    if *latency_ms > 0 {
                        world.add_slowdown(z, *latency_ms);
                    }
                }
            }
            Effect::Command { inject, context, .. } => shell::inject(inject, context.as_ref()).await?,
            Effect::FisExperiment { .. } => return Err(EnvError::Unsupported("FIS experiments run on AWS only".into())),
            Effect::ZonalShift { resource, away_from, .. } => {
                let (b, z) = self.shift(resource, away_from)?;
                self.world.shift_away(b, z, "arc");
            }
            Effect::PracticeRun { fault, resource, away_from, comment } => {
                let (balancer, zone) = self.shift(resource, away_from)?;
                self.world.shift_away(balancer, zone, "arc-practice-run");
                self.practice_runs.push(PracticeRun { fault: fault.clone(), comment: comment.clone(), balancer, zone, started: now, ended: None, reported: false });
            }
            Effect::RegionSwitch { fault, target_region, action, comment, .. } => {
                let (steps, _) = self.region_switch_plan(target_region, *action)?;
                self.executions.push(Execution { fault: fault.clone(), comment: comment.clone(), started: now, steps, done: 0, ended: None, reported: false });
            }
            Effect::DbClusterFailover { cluster: name, target, .. } => fail_over(world, name, target.as_deref())?,
            Effect::DbInstanceFailover { instance: name, .. } => fail_over(world, name, None)?,
        }
        self.active.push(effect.clone());
        Ok(())
    }

    async fn revert(&mut self, effect: &Effect, now: Millis) -> Result<RevertOutcome, EnvError> {
        self.advance(now);
        let mut outcome = RevertOutcome::default();
        let Some(position) = self.active.iter().position(|e| e == effect) else {
            // `recover` of a simulator run reaches here too: the simulated region lived only as long as the run's process.
            outcome.skipped.push((
                "the simulated region".into(),
                "the fault is not in place there: reverted already, never applied, or made by a run whose process has ended, and its region with it".into(),
            ));
            return Ok(outcome);
        };
        self.active.remove(position);
        let world = &mut self.world;
        let start_all = |world: &mut World, ids: &[String], outcome: &mut RevertOutcome| {
            for id in ids {
                match world.instance_index(id).map(|i| world.start(i)) {
                    Some(Ok(())) => outcome.restored.push(id.clone()),
                    Some(Err(why)) => outcome.skipped.push((id.clone(), why.to_string())),
                    None => outcome.skipped.push((id.clone(), "no longer exists".into())),
                }
            }
        };
        match effect {
            Effect::StopInstances { ids } => start_all(world, ids, &mut outcome),
            Effect::TerminateInstances { .. } | Effect::RebootInstances { .. } => {}
            Effect::ZonePower { zone, ids, groups } => {
                if world.zone_index(zone).is_some_and(|z| world.remove_launch_failure(z, groups)) {
                    outcome.restored.push(format!("launches in {zone}"));
                }
                start_all(world, ids, &mut outcome);
            }
            Effect::ZoneNetwork { zone, .. } => {
                if let Some(z) = world.zone_index(zone) {
                    world.set_network(z, false);
                    outcome.restored.push(format!("network of {zone}"));
                }
            }
            Effect::LaunchFailures { zones, groups } => {
                for zone in zones {
                    if let Some(z) = world.zone_index(zone)
                        && world.remove_launch_failure(z, groups)
                    {
                        outcome.restored.push(format!("launches in {zone}"));
                    }
                }
            }
            Effect::InvertHealthCheck { health_check, .. } => {
                if let Some(h) = world.health_checks.iter().position(|h| h.id == *health_check) {
                    world.set_inverted(h, false);
                    outcome.restored.push(format!("health check {health_check}"));
                }
            }
            Effect::RegionDown { region } => {
                if let Some(r) = world.region_index(region) {
                    world.set_region_down(r, false);
                    outcome.restored.push(format!("region {region}"));
                }
            }
            Effect::GrayFailure { zones, error_rate, latency_ms } => {
                for zone in zones {
                    let Some(z) = world.zone_index(zone) else { continue };
                    // Each part is undone on its own, so a second revert finds neither.
                    let failing = *error_rate > 0.0 && world.remove_gray(z, error_rate / 100.0);
                    let slowed = *latency_ms > 0 && world.remove_slowdown(z, *latency_ms);
                    if failing || slowed {
                        outcome.restored.push(format!("requests served in {zone}"));
                    }
                }
            }
            Effect::Command { revert, context, .. } => outcome.restored.extend(shell::revert(revert, context.as_ref()).await?.restored),
            Effect::FisExperiment { .. } => {}
            Effect::PracticeRun { comment, .. } => {
                for (index, run) in self.practice_runs.iter_mut().enumerate().filter(|(_, p)| p.comment == *comment) {
                    let id = format!("sim-practice-run-{}", index + 1);
                    match run.ended {
                        None => {
                            run.ended = Some((now, PracticeRunOutcome::Interrupted));
                            world.shift_back(run.balancer, run.zone, "arc-practice-run");
                            let shifted = world.balancers[run.balancer].shifted_away.contains(&run.zone);
                            outcome.restored.push(format!("practice run {id} cancelled (read back: {})", if shifted { "still active" } else { "no longer active" }));
                        }
                        Some((_, ended)) => outcome.skipped.push((id, format!("the practice run had ended already ({})", ended.as_str()))),
                    }
                }
            }
            Effect::RegionSwitch { comment, .. } => {
                // An unfinished execution is cancelled: its remaining steps
                // are never made. A completed one is the DR step itself and stays.
                for (index, execution) in self.executions.iter_mut().enumerate().filter(|(_, e)| e.comment == *comment) {
                    let id = format!("sim-execution-{}", index + 1);
                    match execution.ended {
                        None => {
                            execution.ended = Some((now, "canceled"));
                            outcome.restored.push(format!("execution {id} cancelled after {} of {} steps (read back: canceled)", execution.done, execution.steps.len()));
                        }
                        Some((_, state)) => outcome.skipped.push((id, format!("the execution had ended already ({state})"))),
                    }
                }
            }
            Effect::ZonalShift { resource, away_from, .. } => {
                let found = (world.balancers.iter().position(|b| b.name == *resource), world.zone_index(away_from));
                match found {
                    (Some(b), Some(z)) if world.shift_back(b, z, "arc") => outcome.restored.push(format!("{resource} routes to {away_from} again")),
                    _ => outcome.skipped.push((resource.clone(), format!("no shift away from {away_from} is in place"))),
                }
            }
            Effect::DbClusterFailover { cluster: name, writer: original, .. } | Effect::DbInstanceFailover { instance: name, zone: original, .. } => {
                if let Some(d) = world.database_index(name) {
                    let db = &world.databases[d];
                    // The writer before the fault: a cluster's member by name, an instance's side by zone.
                    let back =
                        db.members.iter().position(|(member, zone)| if db.kind == DatabaseKind::Cluster { member == original } else { world.zones[*zone].name == *original });
                    match back {
                        Some(back) if back == db.writer => outcome.skipped.push((name.clone(), format!("{original} writes already: nothing to fail back"))),
                        Some(back) => {
                            world.fail_over(d, Some(back));
                            outcome.restored.push(format!("{name} failing back to {original}"));
                        }
                        None => outcome.skipped.push((name.clone(), format!("{original} is no longer a member"))),
                    }
                }
            }
        }
        Ok(outcome)
    }

    async fn sample(&mut self, probe: &Probe, now: Millis) -> Sample {
        self.advance(now);
        let index = {
            let count = self.samples_taken.entry(probe.name.clone()).or_insert(0);
            *count += 1;
            *count
        };
        let mut rng = SeededRng::stream(self.seed, &probe.name, index);
        let timeout_ms = probe.timeout.as_millis();
        let sample = |ok: bool, latency_ms: u64, observed: String| Sample {
            probe: probe.name.clone(),
            sent_at: now,
            latency_ms,
            ok,
            observed,
            unsettled: false,
            lateness_us: 0,
            reading: None,
        };
        match &probe.check {
            ProbeCheck::Http { url, .. } => {
                let host = host_of(url);
                let Some(balancer) = self.resolve_name(&probe.name, host) else {
                    return sample(false, 1, format!("could not resolve {host}"));
                };
                let service = self.world.service(balancer);
                if !service.reachable {
                    return sample(false, timeout_ms, format!("timed out after {}", probe.timeout));
                }
                let mut latency = (service.latency_ms * (0.8 + 0.4 * rng.next_f64())).round() as u64;
                // A request a slowed zone's target serves answers that much later. Drawn only
                // while a zone is slowed, so every other run keeps the draws it had.
                if service.slow_share > 0.0 && rng.next_f64() < service.slow_share {
                    latency += service.slowdown_ms.round() as u64;
                }
                if latency > timeout_ms {
                    return sample(false, timeout_ms, format!("timed out after {}", probe.timeout));
                }
                let failed = rng.next_f64() < service.error_probability;
                let (code, body) = if !failed {
                    (200u16, format!("{{\"status\":\"ok\",\"region\":\"{}\"}}", self.world.regions[self.world.balancers[balancer].region].name))
                } else {
                    // Which kind of failure this one was, in proportion to each share.
                    let pick = rng.next_f64() * service.error_probability.max(1e-9);
                    if pick < service.dead_target_share {
                        (502, "502 Bad Gateway".to_string())
                    } else if pick < service.dead_target_share + service.gray_share {
                        (500, "500 Internal Server Error".to_string())
                    } else {
                        (503, "503 Service Unavailable".to_string())
                    }
                };
                let problems = crate::probe::http_problems(&probe.check, code, &body, latency);
                let ok = problems.is_empty();
                let observed = if ok { format!("HTTP {code} in {latency}ms") } else { format!("HTTP {code} in {latency}ms ({})", problems.join(", ")) };
                sample(ok, latency, observed)
            }
            ProbeCheck::Tcp { host, port, max_latency } if let Some(d) = self.world.database_by_endpoint(host) => {
                let db = &self.world.databases[d];
                if *port != db.port {
                    return sample(false, 1, format!("connection refused on port {port} ({} listens on {})", db.name, db.port));
                }
                match self.world.database_state(d) {
                    DatabaseState::Available { .. } => {
                        let latency = (1.0 + 2.0 * rng.next_f64()).round() as u64;
                        let ok = max_latency.is_none_or(|max| latency <= max.as_millis());
                        sample(ok, latency, format!("connected in {latency}ms"))
                    }
                    // The endpoint's DNS points at an instance that is not a writer yet.
                    DatabaseState::FailingOver { .. } => sample(false, 1, format!("connection refused ({} is failing over)", db.name)),
                    DatabaseState::Unreachable { .. } => sample(false, timeout_ms, format!("connect timed out after {}", probe.timeout)),
                }
            }
            ProbeCheck::Tcp { host, port, max_latency } => {
                let Some(balancer) = self.resolve_name(&probe.name, host) else {
                    return sample(false, 1, format!("could not resolve {host}"));
                };
                let service = self.world.service(balancer);
                if !service.reachable {
                    return sample(false, timeout_ms, format!("connect timed out after {}", probe.timeout));
                }
                if ![80, 443].contains(port) {
                    return sample(false, 1, format!("connection refused on port {port} (the load balancer listens on 80 and 443)"));
                }
                let latency = (2.0 + 3.0 * rng.next_f64()).round() as u64;
                let ok = max_latency.is_none_or(|max| latency <= max.as_millis());
                sample(ok, latency, format!("connected in {latency}ms"))
            }
            ProbeCheck::Dns { query: name, record_type, expect, .. } => {
                let Some(balancer) = self.resolve_name(&probe.name, name) else {
                    return sample(false, 1, format!("NXDOMAIN {name}"));
                };
                let answers: Vec<String> = match record_type {
                    DnsRecordType::CNAME if self.world.record_by_name(name).is_some() => vec![self.world.balancers[balancer].dns_name.clone()],
                    DnsRecordType::A => vec![Self::balancer_ip(balancer)],
                    _ => Vec::new(),
                };
                let missing: Vec<&String> = expect.iter().filter(|e| !answers.iter().any(|a| a.trim_end_matches('.').eq_ignore_ascii_case(e.trim_end_matches('.')))).collect();
                let shown = if answers.is_empty() { "no answer".to_string() } else { format!("{record_type:?} {}", answers.join(", ")) };
                sample(missing.is_empty() && (!answers.is_empty() || expect.is_empty()), 1, shown)
            }
            ProbeCheck::Command { .. } => sample(false, 0, "command probes are not supported on the simulator".into()),
            ProbeCheck::AsgCapacity { group, min_in_service } => match self.world.group_index(group) {
                Some(g) => {
                    let n = self.world.in_service(g);
                    sample(n >= *min_in_service as usize, 1, format!("{n} in service (want ≥ {min_in_service})"))
                }
                None => sample(false, 1, format!("no group {group}")),
            },
            ProbeCheck::TargetHealth { target_group, min_healthy } => match self.world.target_group_index(target_group) {
                Some(t) => {
                    let n = self.world.healthy_targets(t);
                    sample(n >= *min_healthy as usize, 1, format!("{n} healthy (want ≥ {min_healthy})"))
                }
                None => sample(false, 1, format!("no target group {target_group}")),
            },
            ProbeCheck::Alarm { alarm, expect_state } => {
                let state = self.world.alarms.iter().find(|a| alarm_matches(alarm, &a.spec.name)).map(|a| a.state);
                match state {
                    Some(state) => sample(state == *expect_state, 1, format!("{state} (want {expect_state})")),
                    None => sample(false, 1, format!("no alarm {alarm}")),
                }
            }
            ProbeCheck::Route53HealthCheck { health_check, expect_healthy } => match self.world.health_checks.iter().find(|h| h.id == *health_check) {
                Some(h) => {
                    let word = |b: bool| if b { "healthy" } else { "unhealthy" };
                    sample(h.healthy == *expect_healthy, 1, format!("{} (want {})", word(h.healthy), word(*expect_healthy)))
                }
                None => sample(false, 1, format!("no health check {health_check}")),
            },
            ProbeCheck::DbWriter { cluster, instance, expect_writer } => {
                // Only another writer, available, is a settled failure: the rest read no writer at all.
                let unsettled = |latency_ms: u64, observed: String| Sample { unsettled: true, ..sample(false, latency_ms, observed) };
                let d = match self.database(cluster.as_deref(), instance.as_deref()) {
                    Ok(d) => d,
                    Err(error) => return unsettled(1, error.to_string()),
                };
                let db = &self.world.databases[d];
                match self.world.database_state(d) {
                    DatabaseState::Available { writer, zone } => {
                        let observed = database_line(db.kind, &db.name, &writer, &zone) + ", available";
                        match expect_writer {
                            Some(expected) if *expected != writer => sample(false, 1, format!("{observed} (want writer {expected})")),
                            _ => sample(true, 1, observed),
                        }
                    }
                    DatabaseState::FailingOver { to } => unsettled(1, format!("{} failing-over to {to}: no writer", db.name)),
                    DatabaseState::Unreachable { writer, zone } => unsettled(timeout_ms, format!("{writer} in {zone} does not answer")),
                }
            }
            ProbeCheck::Metric { metric, period, divided_by, .. } => {
                let balancer = match self.metric_balancer(probe) {
                    Ok(balancer) => balancer,
                    Err(error) => return sample(false, 1, error.to_string()),
                };
                if !self.world.balancer_region_up(balancer) {
                    let region = &self.world.regions[self.world.balancers[balancer].region].name;
                    return sample(false, timeout_ms, format!("CloudWatch in {region} does not answer (the region is down)"));
                }
                let to = self.world.now;
                let counts = self.world.requests_between(balancer, to.saturating_sub(i64::try_from(period.as_millis()).unwrap_or(i64::MAX / 4)), to);
                let count = |name: &str| match name {
                    "RequestCount" => counts.requests,
                    "HTTPCode_Target_5XX_Count" => counts.target_5xx,
                    _ => counts.elb_5xx,
                };
                let reading = crate::vocab::MetricReading {
                    value: metric.names().iter().map(|n| count(n)).sum(),
                    divided_by: divided_by.as_deref().map(count),
                    period_ms: period.as_millis(),
                };
                let (ok, observed) = crate::probe::metric_verdict(&probe.check, &reading);
                Sample { reading: Some(reading), ..sample(ok, 1, observed) }
            }
        }
    }

    async fn alarm_states(&mut self, names: &[String], now: Millis) -> Vec<AlarmReading> {
        self.advance(now);
        names
            .iter()
            .map(|wanted| match self.world.alarms.iter().find(|a| alarm_matches(wanted, &a.spec.name)) {
                Some(alarm) => AlarmReading { alarm: alarm.spec.name.clone(), state: Ok(alarm.state) },
                None => AlarmReading {
                    alarm: alarm_name(wanted).to_string(),
                    state: Err(AlarmReadError { kind: ReadErrorKind::NotFound, message: format!("the simulated account has no alarm `{wanted}`") }),
                },
            })
            .collect()
    }

    async fn check_alarm_exists(&mut self, name: &str) -> Result<(), EnvError> {
        if self.world.alarms.iter().any(|a| alarm_matches(name, &a.spec.name)) {
            Ok(())
        } else {
            Err(EnvError::NotFound {
                resource: format!("CloudWatch alarm `{name}`"),
                hint: Some(format!("alarms here: {}", self.world.alarms.iter().map(|a| a.spec.name.clone()).collect::<Vec<_>>().join(", "))),
            })
        }
    }

    fn check_operator_action(&self, action: &OperatorAction) -> Result<(), EnvError> {
        match &action.change {
            OperatorChange::SwitchDns { record, .. } => self.record(record).map(|_| ()),
            OperatorChange::ZonalShift { load_balancer, away_from } => self.shift(load_balancer, away_from).map(|_| ()),
            OperatorChange::ScaleGroup { group, .. } => self.group(group).map(|_| ()),
        }
    }

    /// Makes the team's change in the simulated world. It is logged on the
    /// timeline and, being theirs, never reverted.
    async fn operator_action(&mut self, action: &OperatorAction, now: Millis) -> Result<String, EnvError> {
        self.check_operator_action(action)?;
        self.advance(now);
        Ok(match &action.change {
            OperatorChange::SwitchDns { record, to } => {
                let r = self.record(record)?;
                self.world.force_record(r, *to, "operator")
            }
            OperatorChange::ZonalShift { load_balancer, away_from } => {
                let (b, z) = self.shift(load_balancer, away_from)?;
                self.world.shift_away(b, z, "operator")
            }
            OperatorChange::ScaleGroup { group, desired } => {
                let g = self.group(group)?;
                self.world.set_desired(g, *desired)
            }
        })
    }

    async fn follow(&mut self, now: Millis) -> Vec<Ended> {
        if self.executions.is_empty() && self.practice_runs.is_empty() {
            // Without a Region switch or practice run the world is advanced exactly as before.
            return Vec::new();
        }
        self.advance(now);
        let mut ended = Vec::new();
        for (index, execution) in self.executions.iter_mut().enumerate() {
            if let (Some((at, state)), false) = (execution.ended, execution.reported) {
                execution.reported = true;
                // The simulated plan has no health alarms of its own: its
                // recovery time is the time its steps took.
                let actual = (state == "completed").then(|| at - execution.started);
                ended.push(Ended::PlanExecution(PlanExecutionEnd {
                    fault: execution.fault.clone(),
                    execution_id: format!("sim-execution-{}", index + 1),
                    state: state.to_string(),
                    at,
                    actual_recovery_time: actual.map(|ms| format!("PT{}S", ms / 1000)),
                    actual_recovery_ms: actual,
                }));
            }
        }
        for (index, run) in self.practice_runs.iter_mut().enumerate() {
            if let (Some((at, outcome)), false) = (run.ended, run.reported) {
                run.reported = true;
                ended.push(Ended::PracticeRun(PracticeRunEnd { fault: run.fault.clone(), zonal_shift_id: format!("sim-practice-run-{}", index + 1), outcome, at }));
            }
        }
        ended
    }

    fn take_observations(&mut self) -> Vec<Observation> {
        let fresh = self.world.events[self.events_seen..].iter().map(|e| Observation { at: World::run_time(e.at), source: e.source.clone(), message: e.message.clone() }).collect();
        self.events_seen = self.world.events.len();
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::AlarmState;

    const MINUTE: Millis = 60_000;

    fn env() -> SimEnvironment {
        SimEnvironment::new(&Topology::default_topology().unwrap(), 7)
    }

    fn gray(name: &str, zone: Option<&str>, region: Option<&str>, error_rate: f64) -> Fault {
        Fault {
            name: name.into(),
            start_after: Vec::new(),
            delay: None,
            duration: None,
            action: FaultAction::GrayFailure {
                zone: zone.map(Into::into),
                region: region.map(Into::into),
                error_rate: Some(error_rate),
                latency: None,
                interface: None,
                cross_zone: None,
            },
        }
    }

    fn action(change: OperatorChange) -> OperatorAction {
        OperatorAction { name: "act".into(), title: None, change }
    }

    async fn inject(env: &mut SimEnvironment, fault: &Fault, now: Millis) -> Effect {
        let reach = env.reach(fault).await.unwrap();
        let effect = env.prepare(fault, &reach.candidates, &reach).await.unwrap();
        env.apply(&effect, now).await.unwrap();
        effect
    }

    /// The share of requests to `api.example.com` that succeed at `now`, as
    /// the client `probe` (with its own resolver cache) sees it.
    fn api_success(env: &mut SimEnvironment, probe: &str, now: Millis) -> (f64, String) {
        env.advance(now);
        let balancer = env.resolve_name(probe, "api.example.com").unwrap();
        let service = env.world.service(balancer);
        let ok = if service.reachable { 1.0 - service.error_probability } else { 0.0 };
        (ok, env.world.balancers[balancer].name.clone())
    }

    fn health_check(env: &SimEnvironment, id: &str) -> bool {
        env.world.health_checks.iter().find(|h| h.id == id).unwrap().healthy
    }

    #[tokio::test]
    async fn a_gray_region_fails_the_api_while_health_checks_pass_and_nothing_fails_over() {
        let mut env = env();
        assert_eq!(api_success(&mut env, "api", 0), (1.0, "web-alb".into()));
        let reach = env.reach(&gray("gray", None, Some("us-east-1"), 100.0)).await.unwrap();
        assert_eq!(reach.zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
        assert!(reach.indivisible);
        assert_eq!(reach.candidates.len(), 9, "6 web instances, 2 workers and the bastion");
        inject(&mut env, &gray("gray", None, Some("us-east-1"), 100.0), MINUTE).await;
        let (ok, answer) = api_success(&mut env, "api", 15 * MINUTE);
        assert_eq!((ok, answer.as_str()), (0.0, "web-alb"));
        assert!(health_check(&env, "hc-api-primary"), "Route 53 still sees the primary healthy");
        let web_tg = env.world.target_group_index("web-tg").unwrap();
        assert_eq!(env.world.healthy_targets(web_tg), 6, "the load balancer still sees every target healthy");
        assert!(!env.world.events.iter().any(|e| e.message.contains("terminating")), "Auto Scaling replaced nothing: {:?}", env.world.events);
        let alarm = env.world.alarms.iter().find(|a| a.spec.name == "web-5xx").unwrap();
        assert_eq!(alarm.state, AlarmState::Alarm, "the 5xx alarm sees the errors");
    }

    #[tokio::test]
    async fn switching_dns_by_hand_recovers_the_api_once_the_ttl_runs_out() {
        let mut env = env();
        inject(&mut env, &gray("gray", None, Some("us-east-1"), 100.0), 0).await;
        assert_eq!(api_success(&mut env, "api", 10 * MINUTE).0, 0.0);
        let switch = action(OperatorChange::SwitchDns { record: "api.example.com".into(), to: FailoverSide::Secondary });
        env.check_operator_action(&switch).unwrap();
        let said = env.operator_action(&switch, 10 * MINUTE + 1_000).await.unwrap();
        assert_eq!(said, "api.example.com now answers with web-dr-alb");
        assert!(env.world.events.iter().any(|e| e.source == "operator" && e.message == said));
        // The client's cached answer still points at the primary until its
        // resolver next fills its cache, within one TTL (60 s) of the switch.
        let switched = i64::try_from(10 * MINUTE + 1_000).unwrap();
        let phase = cache_fill_phase(7, "api", "api.example.com", 60_000);
        let refill = Millis::try_from(phase + (switched - phase).div_euclid(60_000) * 60_000 + 60_000).unwrap();
        assert!(refill > 10 * MINUTE + 1_000 && refill <= 11 * MINUTE + 1_000, "{refill}");
        assert_eq!(api_success(&mut env, "api", refill - 1), (0.0, "web-alb".into()));
        assert_eq!(api_success(&mut env, "api", refill), (1.0, "web-dr-alb".into()));
        assert!(health_check(&env, "hc-api-primary"), "the switch did not need Route 53 to see anything");
        // A manual switch holds, health checks notwithstanding, and is not reverted with the fault.
        assert_eq!(api_success(&mut env, "api", 40 * MINUTE), (1.0, "web-dr-alb".into()));
    }

    #[tokio::test]
    async fn a_zonal_shift_away_from_a_gray_zone_restores_success() {
        let mut env = env();
        inject(&mut env, &gray("gray", Some("use1-az1"), None, 100.0), 0).await;
        let (ok, _) = api_success(&mut env, "api", 5 * MINUTE);
        assert!((ok - 4.0 / 6.0).abs() < 1e-9, "two of six targets are in us-east-1a: {ok}");
        let shift = action(OperatorChange::ZonalShift { load_balancer: "web-alb".into(), away_from: "us-east-1a".into() });
        assert_eq!(env.operator_action(&shift, 5 * MINUTE).await.unwrap(), "web-alb no longer routes to targets in us-east-1a");
        assert_eq!(api_success(&mut env, "api", 5 * MINUTE + 1).0, 1.0, "four targets carry 300 requests/s");
    }

    /// The scenario's `zonal_shift` step and the drill's `zonal_shift`
    /// operator action are one model: the step has the same effect, its
    /// cancel undoes it, and a shift made by hand refuses the step (ARC
    /// applies one shift at a time on a resource).
    #[tokio::test]
    async fn the_zonal_shift_step_and_the_operator_action_share_one_model() {
        let mut env = env();
        inject(&mut env, &gray("gray", Some("us-east-1a"), None, 100.0), 0).await;
        let step = Fault {
            name: "shift".into(),
            start_after: Vec::new(),
            delay: None,
            duration: Some(crate::scenario::Duration::from_secs(600)),
            action: FaultAction::ZonalShift { resource: "web-alb".into(), away_from: "use1-az1".into(), expires_in: None },
        };
        let effect = inject(&mut env, &step, MINUTE).await;
        assert_eq!(effect, Effect::ZonalShift { resource: "web-alb".into(), away_from: "us-east-1a".into(), expires_in_minutes: 15, comment: "gameday shift".into() });
        assert_eq!(api_success(&mut env, "api", MINUTE + 1).0, 1.0, "shifted away from the gray zone");
        let outcome = env.revert(&effect, 2 * MINUTE).await.unwrap();
        assert_eq!(outcome.restored, ["web-alb routes to us-east-1a again"]);
        assert!(api_success(&mut env, "api", 2 * MINUTE + 1).0 < 1.0, "the gray zone serves again");

        let by_hand = action(OperatorChange::ZonalShift { load_balancer: "web-alb".into(), away_from: "us-east-1b".into() });
        env.operator_action(&by_hand, 3 * MINUTE).await.unwrap();
        let refused = env.reach(&step).await.unwrap_err().to_string();
        assert!(refused.contains("web-alb is shifted away from us-east-1b already"), "{refused}");
    }

    #[tokio::test]
    async fn a_zonal_shift_that_would_leave_no_target_routes_to_all() {
        let mut env = env();
        for zone in ["us-east-1a", "us-east-1b", "us-east-1c"] {
            let shift = action(OperatorChange::ZonalShift { load_balancer: "web-alb".into(), away_from: zone.into() });
            env.operator_action(&shift, 0).await.unwrap();
        }
        assert_eq!(api_success(&mut env, "api", MINUTE).0, 1.0);
    }

    #[tokio::test]
    async fn scaling_a_group_changes_its_capacity_after_launch_and_boot() {
        let mut env = env();
        let dr = env.world.group_index("web-asg-dr").unwrap();
        let scale = action(OperatorChange::ScaleGroup { group: "web-asg-dr".into(), desired: 6 });
        assert_eq!(env.operator_action(&scale, MINUTE).await.unwrap(), "web-asg-dr desired capacity 3 → 6");
        env.advance(MINUTE + 20_000);
        assert_eq!(env.world.in_service(dr), 3, "the new instances are still pending");
        env.advance(5 * MINUTE);
        assert_eq!(env.world.in_service(dr), 6);
        let tg = env.world.target_group_index("web-dr-tg").unwrap();
        assert_eq!(env.world.healthy_targets(tg), 6, "booted and past the healthy threshold");

        let too_many = action(OperatorChange::ScaleGroup { group: "web-asg-dr".into(), desired: 20 });
        assert_eq!(env.operator_action(&too_many, 6 * MINUTE).await.unwrap(), "web-asg-dr desired capacity 6 → 9 (its max; 20 was asked)");
        let back = action(OperatorChange::ScaleGroup { group: "web-asg-dr".into(), desired: 3 });
        env.operator_action(&back, 7 * MINUTE).await.unwrap();
        env.advance(8 * MINUTE);
        assert_eq!(env.world.in_service(dr), 3, "scaled in");
    }

    #[test]
    fn operator_actions_must_name_what_exists() {
        let env = env();
        let error = |change| env.check_operator_action(&action(change)).unwrap_err().to_string();
        assert_eq!(
            error(OperatorChange::SwitchDns { record: "www.example.com".into(), to: FailoverSide::Secondary }),
            "failover record `www.example.com` not found in the environment (records here: api.example.com)"
        );
        assert_eq!(
            error(OperatorChange::ZonalShift { load_balancer: "web-alb".into(), away_from: "us-west-2a".into() }),
            "zone `us-west-2a` behind load balancer `web-alb` not found in the environment (web-alb is in us-east-1, with zones us-east-1a, us-east-1b, us-east-1c)"
        );
        assert_eq!(
            error(OperatorChange::ZonalShift { load_balancer: "api-alb".into(), away_from: "us-east-1a".into() }),
            "load balancer `api-alb` not found in the environment (load balancers here: web-alb, web-dr-alb)"
        );
        assert_eq!(
            error(OperatorChange::ScaleGroup { group: "api-asg".into(), desired: 3 }),
            "Auto Scaling group `api-asg` not found in the environment (groups here: web-asg, web-asg-dr)"
        );
    }

    #[tokio::test]
    async fn overlapping_gray_failures_compose_and_a_second_revert_is_harmless() {
        let mut env = env();
        let zone = env.world.zone_index("us-east-1b").unwrap();
        let whole = inject(&mut env, &gray("a", Some("us-east-1b"), None, 100.0), 0).await;
        let half = inject(&mut env, &gray("b", None, Some("us-east-1"), 50.0), 0).await;
        assert_eq!(env.world.gray_rate(zone), 1.0);
        env.revert(&whole, MINUTE).await.unwrap();
        assert_eq!(env.world.gray_rate(zone), 0.5, "the region-wide one still holds");
        let again = env.revert(&whole, MINUTE).await.unwrap();
        assert!(again.restored.is_empty() && again.skipped.len() == 1);
        assert_eq!(env.world.gray_rate(zone), 0.5);
        env.revert(&half, MINUTE).await.unwrap();
        assert_eq!(env.world.gray_rate(zone), 0.0);
    }

    #[tokio::test]
    async fn a_gray_failure_names_a_zone_or_region_that_exists() {
        let mut env = env();
        let error = env.reach(&gray("g", Some("eu-west-1a"), None, 100.0)).await.unwrap_err().to_string();
        assert!(error.starts_with("zone `eu-west-1a` not found in the environment (zones here: us-east-1a (use1-az1)"), "{error}");
        let error = env.reach(&gray("g", None, Some("eu-west-1"), 100.0)).await.unwrap_err().to_string();
        assert_eq!(error, "region `eu-west-1` not found in the environment (regions here: us-east-1, us-west-2)");
    }

    #[tokio::test]
    async fn a_load_balancer_counts_its_requests_and_the_502s_of_dead_targets_until_health_checks_notice() {
        let mut env = env();
        let web = env.world.balancers.iter().position(|b| b.name == "web-alb").unwrap();
        // Steady state, before and after T+0: 300 requests a second, none failing.
        let steady = env.world.requests_between(web, -60_000, 0);
        assert_eq!((steady.requests, steady.target_5xx, steady.elb_5xx), (18_000.0, 0.0, 0.0));
        env.advance(MINUTE);
        assert_eq!(env.world.requests_between(web, 0, MINUTE as i64).requests, 18_000.0);
        // Stop two of the six: a third of the requests get 502 until the target group marks them unhealthy.
        let stop = Fault {
            name: "stop".into(),
            start_after: Vec::new(),
            delay: None,
            duration: None,
            action: FaultAction::StopInstances { targets: Targets { groups: vec!["web-asg".into()], count: Some(2), ..Targets::default() } },
        };
        let reach = env.reach(&stop).await.unwrap();
        let effect = env.prepare(&stop, &reach.candidates[..2], &reach).await.unwrap();
        env.apply(&effect, MINUTE).await.unwrap();
        env.advance(2 * MINUTE);
        let during = env.world.requests_between(web, MINUTE as i64, 2 * MINUTE as i64);
        assert_eq!((during.requests, during.target_5xx), (18_000.0, 0.0));
        assert!(during.elb_5xx > 0.0 && during.elb_5xx < 6_000.0, "502s for part of the minute only: {during:?}");
        assert_eq!(during.elb_5xx.fract(), 0.0, "counted in whole requests: {during:?}");
        assert_eq!(env.world.requests_between(web, 2 * MINUTE as i64, 2 * MINUTE as i64 + 1).elb_5xx, 0.0);
        // Adjacent periods add up to the whole.
        let halves = env.world.requests_between(web, MINUTE as i64, 90_000).elb_5xx + env.world.requests_between(web, 90_000, 2 * MINUTE as i64).elb_5xx;
        assert_eq!(halves, during.elb_5xx);
    }

    #[test]
    fn each_client_fills_its_resolver_cache_at_its_own_seeded_phase() {
        let ttl = 60_000;
        let phases: Vec<i64> = (0..20).map(|n| cache_fill_phase(1, &format!("client-{n}"), "api.example.com", ttl)).collect();
        assert!(phases.iter().all(|p| (0..ttl).contains(p)), "{phases:?}");
        let distinct: std::collections::BTreeSet<i64> = phases.iter().copied().collect();
        assert!(distinct.len() > 15, "clients are not locked to one phase: {phases:?}");
        // Deterministic for a seed; another seed, another phase; another record, another cache.
        assert_eq!(cache_fill_phase(1, "client-0", "api.example.com", ttl), phases[0]);
        assert_ne!(cache_fill_phase(2, "client-0", "api.example.com", ttl), phases[0]);
        assert_ne!(cache_fill_phase(1, "client-0", "www.example.com", ttl), phases[0]);
        assert_eq!(cache_fill_phase(1, "client-0", "api.example.com", 0), 0, "a zero TTL caches nothing");
    }

    #[tokio::test]
    async fn a_client_sees_a_failover_at_its_first_cache_fill_after_route_53_changes_its_answer() {
        let mut env = env();
        let fault = Fault {
            name: "flip".into(),
            start_after: Vec::new(),
            delay: None,
            duration: None,
            action: FaultAction::DnsFailover { hosted_zone: "example.com".into(), record: "api.example.com".into(), fail: FailoverSide::Primary },
        };
        inject(&mut env, &fault, 0).await;
        env.advance(10 * MINUTE);
        let flipped = env.world.events.iter().find(|e| e.message == "health check hc-api-primary is now unhealthy").unwrap().at;
        // The world has run past every fill below; its answers are read from its log.
        for client in ["a", "b", "c", "d"] {
            let phase = cache_fill_phase(7, client, "api.example.com", 60_000);
            let fill = phase + (flipped - 1 - phase).div_euclid(60_000) * 60_000 + 60_000;
            assert!(fill >= flipped && fill < flipped + 60_000);
            env.world.now = fill - 1;
            assert_eq!(env.resolve_name(client, "api.example.com"), Some(0), "client {client} still on web-alb just before its fill");
            env.world.now = fill;
            assert_eq!(env.resolve_name(client, "api.example.com"), Some(1), "client {client} on web-dr-alb from its fill on");
        }
    }

    #[test]
    fn hosts_are_taken_from_urls() {
        assert_eq!(host_of("https://api.example.com/health"), "api.example.com");
        assert_eq!(host_of("http://user@web:8080/x?y"), "web");
        assert_eq!(host_of("api.example.com"), "api.example.com");
    }
}
