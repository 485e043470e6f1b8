//! The built-in simulated AWS region: the default environment, deterministic
//! under a seed, and a first-class part of the product (training drills and
//! "what would happen if" rest on it), not a test mock.

pub mod topology;
pub mod world;

use std::collections::HashMap;

use crate::environment::{Candidate, Effect, EnvError, Environment, Identity, Millis, Observation, Reach, RevertOutcome, Sample, shell};
use crate::guard::alarm_matches;
use crate::rng::SeededRng;
use crate::scenario::{AlarmState, AzOutageMode, DnsRecordType, FailoverSide, Fault, FaultAction, Probe, ProbeCheck, Targets};

pub use topology::{DEFAULT_TOPOLOGY_YAML, Topology, TopologyError};
use world::{Ec2State, World};

pub struct SimEnvironment {
    world: World,
    seed: u64,
    /// Each probe resolves names through its own caching resolver, as a
    /// client does: a cached answer is used until its TTL runs out.
    resolver_cache: HashMap<(String, usize), (usize, i64)>,
    samples_taken: HashMap<String, u64>,
    events_seen: usize,
    /// Effects applied and not yet reverted: a second revert of the same
    /// effect must not undo an overlapping fault on the same zone or region.
    active: Vec<Effect>,
}

impl SimEnvironment {
    pub fn new(topology: &Topology, seed: u64) -> Self {
        SimEnvironment { world: World::new(topology, seed), seed, resolver_cache: HashMap::new(), samples_taken: HashMap::new(), events_seen: 0, active: Vec::new() }
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    fn advance(&mut self, now: Millis) {
        self.world.advance_to(i64::try_from(now).unwrap_or(i64::MAX / 4));
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

    fn check_groups(&self, groups: &[String]) -> Result<(), EnvError> {
        for group in groups {
            if self.world.group_index(group).is_none() {
                return Err(EnvError::NotFound {
                    resource: format!("Auto Scaling group `{group}`"),
                    hint: Some(format!("groups here: {}", self.world.group_names().into_iter().collect::<Vec<_>>().join(", "))),
                });
            }
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

    fn resolve_name(&mut self, probe: &str, host: &str) -> Option<usize> {
        if let Some(balancer) = self.world.balancer_by_dns(host) {
            return Some(balancer);
        }
        let record = self.world.record_by_name(host)?;
        let now = self.world.now;
        let key = (probe.to_string(), record);
        if let Some((balancer, expires)) = self.resolver_cache.get(&key) {
            if now < *expires {
                return Some(*balancer);
            }
        }
        let balancer = self.world.record_answer(record);
        self.resolver_cache.insert(key, (balancer, now + self.world.records[record].ttl));
        Some(balancer)
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
            FaultAction::RegionOutage { region } => {
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
            FaultAction::RegionOutage { region } => Effect::RegionDown { region: region.clone() },
            FaultAction::GrayFailure { zone, region, error_rate } => {
                let zones = self.gray_zones(zone.as_deref(), region.as_deref())?;
                Effect::GrayFailure { zones: zones.into_iter().map(|z| self.world.zones[z].name.clone()).collect(), error_rate: *error_rate }
            }
            FaultAction::AsgCapacityError { zones, groups } => {
                let names = zones.iter().map(|z| self.zone(z).map(|i| self.world.zones[i].name.clone())).collect::<Result<Vec<_>, _>>()?;
                Effect::LaunchFailures { zones: names, groups: groups.clone() }
            }
            FaultAction::Command { inject, revert } => Effect::Command { inject: inject.clone(), revert: revert.clone() },
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
            Effect::GrayFailure { zones, error_rate } => {
                let found = zones.iter().map(|zone| world.zone_index(zone).ok_or_else(|| EnvError::NotFound { resource: format!("zone `{zone}`"), hint: None })).collect::<Result<
                    Vec<_>,
                    _,
                >>(
                )?;
                for z in found {
                    world.add_gray(z, error_rate / 100.0);
                }
            }
            Effect::Command { inject, .. } => {
                shell::run(inject).await?;
            }
            Effect::FisExperiment { .. } => return Err(EnvError::Unsupported("FIS experiments run on AWS only".into())),
        }
        self.active.push(effect.clone());
        Ok(())
    }

    async fn revert(&mut self, effect: &Effect, now: Millis) -> Result<RevertOutcome, EnvError> {
        self.advance(now);
        let mut outcome = RevertOutcome::default();
        let Some(position) = self.active.iter().position(|e| e == effect) else {
            outcome.skipped.push(("fault".into(), "not in place (already reverted, or never applied)".into()));
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
                    if let Some(z) = world.zone_index(zone) {
                        if world.remove_launch_failure(z, groups) {
                            outcome.restored.push(format!("launches in {zone}"));
                        }
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
            Effect::GrayFailure { zones, error_rate } => {
                for zone in zones {
                    if world.zone_index(zone).is_some_and(|z| world.remove_gray(z, error_rate / 100.0)) {
                        outcome.restored.push(format!("requests served in {zone}"));
                    }
                }
            }
            Effect::Command { revert, .. } => {
                shell::run(revert).await?;
                outcome.restored.push(format!("`{revert}`"));
            }
            Effect::FisExperiment { .. } => {}
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
        let sample = |ok: bool, latency_ms: u64, observed: String| Sample { probe: probe.name.clone(), sent_at: now, latency_ms, ok, observed, lateness_us: 0 };
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
                let latency = (service.latency_ms * (0.8 + 0.4 * rng.next_f64())).round() as u64;
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
        }
    }

    async fn alarm_states(&mut self, names: &[String], now: Millis) -> Vec<(String, AlarmState)> {
        self.advance(now);
        names.iter().filter_map(|wanted| self.world.alarms.iter().find(|a| alarm_matches(wanted, &a.spec.name)).map(|a| (a.spec.name.clone(), a.state))).collect()
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

    fn take_observations(&mut self) -> Vec<Observation> {
        let fresh = self.world.events[self.events_seen..].iter().map(|e| Observation { at: World::run_time(e.at), source: e.source.clone(), message: e.message.clone() }).collect();
        self.events_seen = self.world.events.len();
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_taken_from_urls() {
        assert_eq!(host_of("https://api.example.com/health"), "api.example.com");
        assert_eq!(host_of("http://user@web:8080/x?y"), "web");
        assert_eq!(host_of("api.example.com"), "api.example.com");
    }
}
