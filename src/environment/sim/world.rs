//! The simulated region(s): instances, Auto Scaling groups, target groups,
//! Route 53 failover and CloudWatch alarms, advanced on virtual time.
//!
//! Periodic AWS processes (target-group health checks, the group's health
//! checks and launches, Route 53 checkers, alarm evaluation) run at their own
//! intervals with a seeded phase, as the real ones are not aligned with the
//! moment a fault starts. Instance transitions are timestamps, evaluated
//! lazily, so a 10,000-instance hour costs only the periodic rounds.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use crate::environment::Millis;
use crate::rng::SeededRng;
use crate::scenario::{AlarmState, FailoverSide};

use super::topology::{AlarmMetric, AlarmSpec, DatabaseKind, HealthCheckType, Topology};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ec2State {
    Pending,
    Running,
    Stopped,
    Terminated,
}

impl Ec2State {
    pub fn name(self) -> &'static str {
        match self {
            Ec2State::Pending => "pending",
            Ec2State::Running => "running",
            Ec2State::Stopped => "stopped",
            Ec2State::Terminated => "terminated",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lifecycle {
    Live,
    Stopped,
    Terminated,
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub id: String,
    pub zone: usize,
    pub group: Option<usize>,
    pub tags: BTreeMap<String, String>,
    lifecycle: Lifecycle,
    launched_at: i64,
    running_at: i64,
    ready_at: i64,
}

impl Instance {
    pub fn state(&self, now: i64) -> Ec2State {
        match self.lifecycle {
            Lifecycle::Terminated => Ec2State::Terminated,
            Lifecycle::Stopped => Ec2State::Stopped,
            Lifecycle::Live if now < self.running_at => Ec2State::Pending,
            Lifecycle::Live => Ec2State::Running,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Zone {
    pub name: String,
    pub id: String,
    pub region: usize,
    network_out: u32,
    /// Active gray failures: the share (0–1) of requests each one fails.
    /// Health checks still pass, so nothing automatic reacts to them.
    gray: Vec<f64>,
    /// Active gray slowdowns: the milliseconds each adds to every request a
    /// live instance in the zone serves. Health checks still pass.
    slowdowns: Vec<u64>,
    /// Active launch failures: the groups they apply to (empty: every group).
    launch_failures: Vec<Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct Region {
    pub name: String,
    down: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetState {
    Initial,
    Healthy,
    Unhealthy,
}

#[derive(Clone, Debug)]
struct Target {
    instance: usize,
    state: TargetState,
    passes: u32,
    failures: u32,
}

/// A target group's registered targets, in registration order, with an
/// index from instance to target: the group's health check asks for every
/// member's target state each round, and a linear search made that
/// quadratic in the group's size (docs/performance.md).
#[derive(Clone, Debug, Default)]
struct Targets {
    by_registration: BTreeMap<u64, Target>,
    registration_of: HashMap<usize, u64>,
    next_registration: u64,
    /// How many targets are `Unhealthy`: the group's health check looks a
    /// member up only when some target is, which is rarely (docs/performance.md).
    unhealthy: usize,
}

impl Targets {
    fn register(&mut self, target: Target) {
        let registration = self.next_registration;
        self.next_registration += 1;
        if let Some(old) = self.registration_of.insert(target.instance, registration) {
            self.forget(old);
        }
        self.unhealthy += usize::from(target.state == TargetState::Unhealthy);
        self.by_registration.insert(registration, target);
    }

    fn deregister(&mut self, instance: usize) {
        if let Some(registration) = self.registration_of.remove(&instance) {
            self.forget(registration);
        }
    }

    fn forget(&mut self, registration: u64) {
        if let Some(gone) = self.by_registration.remove(&registration) {
            self.unhealthy -= usize::from(gone.state == TargetState::Unhealthy);
        }
    }

    fn get(&self, instance: usize) -> Option<&Target> {
        self.registration_of.get(&instance).and_then(|r| self.by_registration.get(r))
    }

    fn iter(&self) -> impl Iterator<Item = &Target> {
        self.by_registration.values()
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Target> {
        self.by_registration.values_mut()
    }
}

#[derive(Clone, Debug)]
pub struct TargetGroup {
    pub name: String,
    targets: Targets,
    interval: i64,
    healthy_threshold: u32,
    unhealthy_threshold: u32,
    next_round: i64,
    /// Whether what a target answers may have changed since the last round
    /// that checked every target, and how many targets that round left
    /// still on their way to a state. With neither, a round cannot change
    /// anything and is skipped: steady rounds were most of a long run's cost.
    serving_changed: bool,
    unsettled: usize,
}

#[derive(Clone, Debug)]
pub struct Balancer {
    pub name: String,
    pub region: usize,
    pub dns_name: String,
    target_group: usize,
    capacity_per_target: f64,
    offered_load: f64,
    base_latency_ms: f64,
    /// Zones an operator shifted this balancer's traffic away from (ARC zonal shift).
    pub shifted_away: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub region: usize,
    zones: Vec<usize>,
    pub desired: u32,
    pub min: u32,
    pub max: u32,
    health_check_type: HealthCheckType,
    grace: i64,
    target_group: Option<usize>,
    tags: BTreeMap<String, String>,
    members: Vec<usize>,
    /// Members launched but not yet registered with the target group, in
    /// launch order: the group's round registers them once they run, and
    /// looks at no other member for that (docs/performance.md).
    awaiting_registration: Vec<usize>,
    /// How many members are stopped: with none, and no target the load
    /// balancer calls unhealthy, the group's health check has nothing to
    /// replace and looks at no member.
    stopped_members: usize,
    next_round: i64,
    launch_blocked: bool,
}

#[derive(Clone, Debug)]
pub struct HealthCheck {
    pub id: String,
    balancer: usize,
    pub inverted: bool,
    pub healthy: bool,
    streak: u32,
    /// This check's own `request_interval` and `failure_threshold`: fast
    /// and standard checks can guard different records of one topology.
    interval: i64,
    threshold: u32,
    next_round: i64,
}

#[derive(Clone, Debug)]
pub struct FailoverRecord {
    pub hosted_zone: String,
    pub name: String,
    pub ttl: i64,
    pub primary: (usize, usize),
    pub secondary: (usize, usize),
    /// The side an operator pointed the record at by hand (Route 53 ARC
    /// routing control): answered whatever the health checks say.
    pub forced: Option<FailoverSide>,
    /// Every change of Route 53's answer (the balancer), oldest first, from
    /// the settled state on: a client's resolver serves the answer as it was
    /// when its cache was last filled, which may be before `now`.
    answers: Vec<(i64, usize)>,
}

#[derive(Clone, Debug)]
pub struct Alarm {
    pub spec: AlarmSpec,
    pub state: AlarmState,
    breaching: u32,
    next_round: i64,
}

/// Something the world did on its own, for the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct WorldEvent {
    pub at: i64,
    pub source: String,
    pub message: String,
}

/// What a request through a load balancer meets at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Service {
    pub reachable: bool,
    pub error_probability: f64,
    pub latency_ms: f64,
    /// Whether errors come from dead targets (502) or overload/no targets (503).
    pub dead_target_share: f64,
    /// The share of requests that reach a live target in a gray zone and
    /// fail there (500): part of `error_probability`, not of the dead share.
    pub gray_share: f64,
    /// The share of requests that reach a live target in a slowed zone, and
    /// the mean milliseconds those requests take longer.
    pub slow_share: f64,
    pub slowdown_ms: f64,
}

/// Requests a load balancer counted, as its CloudWatch metrics
/// `RequestCount`, `HTTPCode_Target_5XX_Count` and `HTTPCode_ELB_5XX_Count`
/// do: cumulative totals, or (from [`RequestCounts::per_ms`]) rates.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RequestCounts {
    pub requests: f64,
    /// Failed by a target (a gray failure's 500s).
    pub target_5xx: f64,
    /// Failed by the balancer itself: 502 from a dead target it still
    /// routes to, 503 when load is shed or no target is left.
    pub elb_5xx: f64,
}

impl RequestCounts {
    fn plus(self, rate: RequestCounts, ms: f64) -> RequestCounts {
        RequestCounts { requests: self.requests + rate.requests * ms, target_5xx: self.target_5xx + rate.target_5xx * ms, elb_5xx: self.elb_5xx + rate.elb_5xx * ms }
    }

    /// Whole requests: cumulative totals are rounded before they are
    /// differenced, so the counts of adjacent periods add up exactly.
    fn rounded(self) -> RequestCounts {
        RequestCounts { requests: self.requests.round(), target_5xx: self.target_5xx.round(), elb_5xx: self.elb_5xx.round() }
    }

    fn minus(self, earlier: RequestCounts) -> RequestCounts {
        RequestCounts { requests: self.requests - earlier.requests, target_5xx: self.target_5xx - earlier.target_5xx, elb_5xx: self.elb_5xx - earlier.elb_5xx }
    }
}

/// One balancer's request counts over time: its rate before the run (the
/// settled steady state) and a cumulative total at each moment the rate
/// changed, so any period's count is exact under linear interpolation.
#[derive(Clone, Debug)]
struct TrafficLog {
    before_run: RequestCounts,
    rate: RequestCounts,
    /// (time, cumulative counts since T+0), in time order, starting at (0, zero).
    checkpoints: Vec<(i64, RequestCounts)>,
}

impl TrafficLog {
    fn total_at(&self, at: i64) -> RequestCounts {
        if at <= 0 {
            return RequestCounts::default().plus(self.before_run, at as f64);
        }
        let after = self.checkpoints.partition_point(|(t, _)| *t < at);
        match (after.checked_sub(1).and_then(|i| self.checkpoints.get(i)), self.checkpoints.get(after)) {
            (Some((t0, c0)), Some((t1, c1))) => {
                let span = (t1 - t0).max(1) as f64;
                let rate = c1.minus(*c0);
                c0.plus(RequestCounts { requests: rate.requests / span, target_5xx: rate.target_5xx / span, elb_5xx: rate.elb_5xx / span }, (at - t0) as f64)
            }
            (Some((t0, c0)), None) => c0.plus(self.rate, (at - t0) as f64),
            (None, Some((_, c1))) => *c1,
            (None, None) => RequestCounts::default(),
        }
    }
}

/// A database with one writer (docs/simulator.md, "Databases"). A failover
/// moves the writer at once and leaves the database without one for a time
/// drawn from the seed; nothing else in the world fails it over.
pub struct Database {
    pub name: String,
    pub kind: DatabaseKind,
    pub region: usize,
    pub endpoint: Option<String>,
    pub port: u16,
    pub tags: BTreeMap<String, String>,
    /// Each member's name and zone; for an instance, its primary's and its standby's.
    pub members: Vec<(String, usize)>,
    pub writer: usize,
    /// Until then, no writer answers (world time).
    pub failing_over_until: i64,
    /// Failovers so far: each draws its time from its own seeded stream.
    failovers: u64,
}

/// What a database looks like to a client now.
#[derive(Clone, Debug, PartialEq)]
pub enum DatabaseState {
    /// The writer answers: its member name and zone name.
    Available {
        writer: String,
        zone: String,
    },
    FailingOver {
        to: String,
    },
    /// The writer's zone or region cannot be reached.
    Unreachable {
        writer: String,
        zone: String,
    },
}

pub struct World {
    pub account: String,
    pub databases: Vec<Database>,
    pub regions: Vec<Region>,
    pub zones: Vec<Zone>,
    pub instances: Vec<Instance>,
    /// Instance id → index in `instances`: a zone's power cut names a third
    /// of the fleet by id, and a search per id made it quadratic.
    instance_by_id: HashMap<String, usize>,
    pub groups: Vec<Group>,
    pub target_groups: Vec<TargetGroup>,
    pub balancers: Vec<Balancer>,
    pub health_checks: Vec<HealthCheck>,
    pub records: Vec<FailoverRecord>,
    pub alarms: Vec<Alarm>,
    pub events: Vec<WorldEvent>,
    pub now: i64,
    launch_ms: i64,
    boot_ms: i64,
    start_ms: i64,
    reboot_ms: i64,
    group_interval: i64,
    alarm_period: i64,
    next_instance: u64,
    /// Per balancer, in the order of `balancers`.
    traffic: Vec<TrafficLog>,
    traffic_counted_to: i64,
    /// Per balancer, its request rate as computed at `rates_at`. A rate is
    /// recomputed only after something it depends on changed (`changed_*`)
    /// or one of its instances reached a moment in `transitions`: counting
    /// traffic at every moment the world advances to made the rates the
    /// simulator's inner loop (docs/performance.md).
    rates: Vec<RequestCounts>,
    rates_stale: Vec<bool>,
    rates_at: Vec<i64>,
    /// Moments at which an instance finishes launching or booting: what a
    /// balancer serves changes then with time alone, no method called.
    transitions: BinaryHeap<Reverse<(i64, usize)>>,
    seed: u64,
    cluster_failover_ms: (i64, i64),
    instance_failover_ms: (i64, i64),
}

fn ms(d: crate::scenario::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl World {
    /// Builds the world in its settled steady state: every instance long
    /// running, every target healthy, every alarm OK. Periodic processes get
    /// a seeded phase so faults land at realistic points of their cycles.
    pub fn new(topology: &Topology, seed: u64) -> World {
        let t = &topology.timings;
        let mut phase_rng = SeededRng::stream(seed, "phases", 0);
        let mut phase = |period: i64| -> i64 { i64::try_from(phase_rng.below(u64::try_from(period.max(1)).unwrap_or(1))).unwrap_or(0) };
        let mut world = World {
            account: topology.account.clone(),
            regions: Vec::new(),
            zones: Vec::new(),
            instances: Vec::new(),
            instance_by_id: HashMap::new(),
            groups: Vec::new(),
            target_groups: Vec::new(),
            balancers: Vec::new(),
            health_checks: Vec::new(),
            records: Vec::new(),
            alarms: Vec::new(),
            events: Vec::new(),
            now: 0,
            launch_ms: ms(t.ec2.launch),
            boot_ms: ms(t.ec2.boot),
            start_ms: ms(t.ec2.start),
            reboot_ms: ms(t.ec2.reboot),
            group_interval: ms(t.auto_scaling.health_check_interval).max(1),
            alarm_period: ms(t.cloudwatch.period).max(1),
            next_instance: 1,
            traffic: Vec::new(),
            traffic_counted_to: 0,
            rates: Vec::new(),
            rates_stale: Vec::new(),
            rates_at: Vec::new(),
            transitions: BinaryHeap::new(),
            databases: Vec::new(),
            seed,
            cluster_failover_ms: (ms(t.rds.cluster_failover_min), ms(t.rds.cluster_failover_max)),
            instance_failover_ms: (ms(t.rds.instance_failover_min), ms(t.rds.instance_failover_max)),
        };
        for (region_index, region) in topology.regions.iter().enumerate() {
            world.regions.push(Region { name: region.name.clone(), down: 0 });
            for zone in &region.zones {
                world.zones.push(Zone {
                    name: zone.name.clone(),
                    id: zone.id.clone(),
                    region: region_index,
                    network_out: 0,
                    gray: Vec::new(),
                    slowdowns: Vec::new(),
                    launch_failures: Vec::new(),
                });
            }
        }
        for lb in &topology.load_balancers {
            let hc = lb.health_check.clone().unwrap_or_else(|| t.target_group.clone());
            let interval = ms(hc.interval).max(1);
            world.target_groups.push(TargetGroup {
                name: lb.target_group.clone(),
                targets: Targets::default(),
                interval,
                healthy_threshold: hc.healthy_threshold.max(1),
                unhealthy_threshold: hc.unhealthy_threshold.max(1),
                next_round: phase(interval),
                serving_changed: true,
                unsettled: 0,
            });
            world.balancers.push(Balancer {
                name: lb.name.clone(),
                region: world.region_index(&lb.region).unwrap_or(0),
                dns_name: lb.dns_name.clone(),
                target_group: world.target_groups.len() - 1,
                capacity_per_target: lb.capacity_per_target,
                offered_load: lb.offered_load,
                base_latency_ms: lb.base_latency.as_millis() as f64,
                shifted_away: Vec::new(),
            });
        }
        let settled = -1_000_000_000; // launched long before the run
        for spec in &topology.auto_scaling_groups {
            let group_index = world.groups.len();
            let zones: Vec<usize> = spec.zones.iter().filter_map(|z| world.zone_index(z)).collect();
            world.groups.push(Group {
                name: spec.name.clone(),
                region: world.region_index(&spec.region).unwrap_or(0),
                zones: zones.clone(),
                desired: spec.desired,
                min: spec.min,
                max: spec.max,
                health_check_type: spec.health_check_type,
                grace: ms(spec.health_check_grace_period.unwrap_or(t.auto_scaling.health_check_grace_period)),
                target_group: spec.target_group.as_deref().and_then(|tg| world.target_group_index(tg)),
                tags: spec.tags.clone(),
                members: Vec::new(),
                awaiting_registration: Vec::new(),
                stopped_members: 0,
                next_round: phase(world.group_interval),
                launch_blocked: false,
            });
            for n in 0..spec.desired as usize {
                let zone = zones[n % zones.len().max(1)];
                world.create_instance(zone, Some(group_index), spec.tags.clone(), settled, true);
            }
        }
        for spec in &topology.instances {
            let zones: Vec<usize> = spec.zones.iter().filter_map(|z| world.zone_index(z)).collect();
            for n in 0..spec.count as usize {
                let mut tags = spec.tags.clone();
                tags.insert("Name".into(), spec.name.clone());
                world.create_instance(zones[n % zones.len().max(1)], None, tags, settled, false);
            }
        }
        for record in &topology.dns {
            let mut side = |s: &super::topology::FailoverSideSpec| -> (usize, usize) {
                let balancer = world.balancers.iter().position(|b| b.name == s.load_balancer).unwrap_or(0);
                let hc = world.health_checks.len();
                let (interval, threshold) = s.health_check_timings(&t.route53);
                let interval = ms(interval.duration());
                world.health_checks.push(HealthCheck {
                    id: s.health_check.clone(),
                    balancer,
                    inverted: false,
                    healthy: true,
                    streak: 0,
                    interval,
                    threshold: threshold.get(),
                    next_round: phase(interval),
                });
                (balancer, hc)
            };
            let primary = side(&record.primary);
            let secondary = side(&record.secondary);
            // Both sides healthy in the settled state: Route 53 answers with the primary.
            let answers = vec![(i64::MIN, primary.0)];
            world.records.push(FailoverRecord {
                hosted_zone: record.hosted_zone.clone(),
                name: record.record.clone(),
                ttl: ms(record.ttl),
                primary,
                secondary,
                forced: None,
                answers,
            });
        }
        for spec in &topology.alarms {
            world.alarms.push(Alarm { spec: spec.clone(), state: AlarmState::Ok, breaching: 0, next_round: phase(world.alarm_period) });
        }
        for db in &topology.databases {
            let region = world.region_index(&db.region).unwrap_or(0);
            let members = db.members.iter().map(|m| (m.name.clone(), world.zone_index(&m.zone).unwrap_or(0))).collect();
            world.databases.push(Database {
                name: db.name.clone(),
                kind: db.kind,
                region,
                endpoint: db.endpoint.clone(),
                port: db.port,
                tags: db.tags.clone(),
                members,
                writer: 0,
                failing_over_until: i64::MIN,
                failovers: 0,
            });
        }
        world.traffic = (0..world.balancers.len())
            .map(|b| {
                let rate = world.request_rate(b);
                TrafficLog { before_run: rate, rate, checkpoints: vec![(0, RequestCounts::default())] }
            })
            .collect();
        world
    }

    fn create_instance(&mut self, zone: usize, group: Option<usize>, tags: BTreeMap<String, String>, at: i64, settled: bool) -> usize {
        let id = format!("i-{:017x}", 0x0a1b_0000_0000_0000_u64 + self.next_instance);
        self.next_instance += 1;
        let (running_at, ready_at) = if settled { (at, at) } else { (at + self.launch_ms, at + self.launch_ms + self.boot_ms) };
        let index = self.instances.len();
        self.instance_by_id.insert(id.clone(), index);
        self.instances.push(Instance { id, zone, group, tags, lifecycle: Lifecycle::Live, launched_at: at, running_at, ready_at });
        self.transitions.extend([Reverse((running_at, index)), Reverse((ready_at, index))]);
        if let Some(g) = group {
            self.groups[g].members.push(index);
            if let Some(tg) = self.groups[g].target_group {
                if settled {
                    self.target_groups[tg].targets.register(Target { instance: index, state: TargetState::Healthy, passes: 0, failures: 0 });
                } else {
                    self.groups[g].awaiting_registration.push(index);
                }
            }
        }
        self.changed_instance(index);
        index
    }

    pub fn region_index(&self, name: &str) -> Option<usize> {
        self.regions.iter().position(|r| r.name == name)
    }
    /// Zones are found by AZ name (`us-east-1a`) or AZ ID (`use1-az1`).
    pub fn zone_index(&self, name_or_id: &str) -> Option<usize> {
        self.zones.iter().position(|z| z.name == name_or_id || z.id == name_or_id)
    }
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.name == name)
    }
    pub fn target_group_index(&self, name: &str) -> Option<usize> {
        self.target_groups.iter().position(|t| t.name == name)
    }
    pub fn instance_index(&self, id: &str) -> Option<usize> {
        self.instance_by_id.get(id).copied()
    }

    fn region_of_zone(&self, zone: usize) -> usize {
        self.zones[zone].region
    }

    /// Whether the instance answers requests now.
    pub fn serving(&self, instance: usize) -> bool {
        let i = &self.instances[instance];
        let zone = &self.zones[i.zone];
        i.state(self.now) == Ec2State::Running && self.now >= i.ready_at && zone.network_out == 0 && self.regions[zone.region].down == 0
    }

    fn launch_fails(&self, zone: usize, group: &str) -> bool {
        let z = &self.zones[zone];
        self.regions[z.region].down > 0 || z.launch_failures.iter().any(|groups| groups.is_empty() || groups.iter().any(|g| g == group))
    }

    // Every change to what a balancer serves marks its rate stale through
    // one of these three (debug builds check that none is missed).

    /// A change that can reach every balancer: a zone, a Region, a record's answer.
    fn changed_everywhere(&mut self) {
        self.rates_stale.fill(true);
        for tg in &mut self.target_groups {
            tg.serving_changed = true;
        }
    }

    /// A change to what one target group's balancer routes to.
    fn changed_target_group(&mut self, target_group: usize) {
        self.target_groups[target_group].serving_changed = true;
        for (b, balancer) in self.balancers.iter().enumerate() {
            if balancer.target_group == target_group
                && let Some(stale) = self.rates_stale.get_mut(b)
            {
                *stale = true;
            }
        }
    }

    /// A change to an instance: only a group's members are ever targets.
    fn changed_instance(&mut self, instance: usize) {
        if let Some(tg) = self.instances[instance].group.and_then(|g| self.groups[g].target_group) {
            self.changed_target_group(tg);
        }
    }

    fn log(&mut self, source: &str, message: String) {
        self.events.push(WorldEvent { at: self.now, source: source.to_string(), message });
    }

    // ----- faults -------------------------------------------------------

    pub fn stop(&mut self, instance: usize) -> bool {
        let i = &mut self.instances[instance];
        if i.lifecycle == Lifecycle::Live {
            i.lifecycle = Lifecycle::Stopped;
            if let Some(g) = i.group {
                self.groups[g].stopped_members += 1;
            }
            self.changed_instance(instance);
            return true;
        }
        false
    }

    /// Starts a stopped instance; `Err` says why it cannot be started.
    pub fn start(&mut self, instance: usize) -> Result<(), &'static str> {
        let (now, start, boot) = (self.now, self.start_ms, self.boot_ms);
        let i = &mut self.instances[instance];
        match i.lifecycle {
            Lifecycle::Stopped => {
                i.lifecycle = Lifecycle::Live;
                if let Some(g) = i.group {
                    self.groups[g].stopped_members -= 1;
                }
                i.running_at = now + start;
                i.ready_at = now + start + boot;
                self.transitions.extend([Reverse((now + start, instance)), Reverse((now + start + boot, instance))]);
                self.changed_instance(instance);
                Ok(())
            }
            Lifecycle::Terminated => Err("terminated meanwhile (replaced by its Auto Scaling group)"),
            Lifecycle::Live => Err("already running"),
        }
    }

    pub fn terminate(&mut self, instance: usize) -> bool {
        let before = std::mem::replace(&mut self.instances[instance].lifecycle, Lifecycle::Terminated);
        if before == Lifecycle::Terminated {
            return false;
        }
        if before == Lifecycle::Stopped
            && let Some(g) = self.instances[instance].group
        {
            self.groups[g].stopped_members -= 1;
        }
        self.changed_instance(instance);
        if let Some(g) = self.instances[instance].group {
            self.groups[g].members.retain(|m| *m != instance);
            self.groups[g].awaiting_registration.retain(|m| *m != instance);
            if let Some(tg) = self.groups[g].target_group {
                self.target_groups[tg].targets.deregister(instance);
            }
        }
        true
    }

    pub fn reboot(&mut self, instance: usize) -> bool {
        let now = self.now + self.reboot_ms;
        let i = &mut self.instances[instance];
        if i.lifecycle == Lifecycle::Live {
            i.ready_at = i.ready_at.max(now);
            self.transitions.push(Reverse((now, instance)));
            self.changed_instance(instance);
            return true;
        }
        false
    }

    pub fn set_network(&mut self, zone: usize, out: bool) {
        let z = &mut self.zones[zone];
        z.network_out = if out { z.network_out + 1 } else { z.network_out.saturating_sub(1) };
        self.changed_everywhere();
    }
    pub fn set_region_down(&mut self, region: usize, down: bool) {
        let r = &mut self.regions[region];
        r.down = if down { r.down + 1 } else { r.down.saturating_sub(1) };
        self.changed_everywhere();
    }
    pub fn add_gray(&mut self, zone: usize, error_rate: f64) {
        self.zones[zone].gray.push(error_rate);
        self.changed_everywhere();
    }
    /// Ends one gray failure of this rate on the zone; `false` if none was active.
    pub fn remove_gray(&mut self, zone: usize, error_rate: f64) -> bool {
        let gray = &mut self.zones[zone].gray;
        match gray.iter().position(|r| *r == error_rate) {
            Some(index) => {
                gray.remove(index);
                self.changed_everywhere();
                true
            }
            None => false,
        }
    }
    pub fn add_slowdown(&mut self, zone: usize, latency_ms: u64) {
        self.zones[zone].slowdowns.push(latency_ms);
        self.changed_everywhere();
    }
    /// Ends one slowdown of this latency on the zone; `false` if none was active.
    pub fn remove_slowdown(&mut self, zone: usize, latency_ms: u64) -> bool {
        let slowdowns = &mut self.zones[zone].slowdowns;
        match slowdowns.iter().position(|l| *l == latency_ms) {
            Some(index) => {
                slowdowns.remove(index);
                self.changed_everywhere();
                true
            }
            None => false,
        }
    }
    /// The milliseconds a live instance in the zone adds to each request:
    /// overlapping slowdowns add up, as delays on one path do.
    pub fn slowdown_ms(&self, zone: usize) -> u64 {
        self.zones[zone].slowdowns.iter().sum()
    }
    /// The share of requests a live instance in the zone fails: overlapping
    /// gray failures compose as independent failures.
    pub fn gray_rate(&self, zone: usize) -> f64 {
        1.0 - self.zones[zone].gray.iter().fold(1.0, |ok, r| ok * (1.0 - r.clamp(0.0, 1.0)))
    }
    pub fn add_launch_failure(&mut self, zone: usize, groups: Vec<String>) {
        self.zones[zone].launch_failures.push(groups);
    }
    pub fn remove_launch_failure(&mut self, zone: usize, groups: &[String]) -> bool {
        let failures = &mut self.zones[zone].launch_failures;
        match failures.iter().position(|g| g.as_slice() == groups) {
            Some(index) => {
                failures.remove(index);
                true
            }
            None => false,
        }
    }
    pub fn set_inverted(&mut self, health_check: usize, inverted: bool) {
        self.health_checks[health_check].inverted = inverted;
    }

    pub fn database_index(&self, name: &str) -> Option<usize> {
        self.databases.iter().position(|d| d.name == name)
    }

    pub fn database_by_endpoint(&self, host: &str) -> Option<usize> {
        self.databases.iter().position(|d| d.endpoint.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(host.trim_end_matches('.'))))
    }

    /// Moves the writer to member `to` (by default the next one) and leaves
    /// the database without a writer for a failover time drawn from the seed,
    /// evenly between the topology's `timings.rds` bounds. Returns the line for the timeline.
    pub fn fail_over(&mut self, db: usize, to: Option<usize>) -> String {
        let (min, max) = if self.databases[db].kind == DatabaseKind::Cluster { self.cluster_failover_ms } else { self.instance_failover_ms };
        let database = &mut self.databases[db];
        let mut rng = SeededRng::stream(self.seed, &format!("db_failover:{}", database.name), database.failovers);
        database.failovers += 1;
        let span = u64::try_from(max - min).unwrap_or(0);
        let took = min + i64::try_from(rng.below(span + 1)).unwrap_or(0);
        database.writer = to.unwrap_or((database.writer + 1) % database.members.len());
        database.failing_over_until = self.now + took;
        let (name, zone) = &database.members[database.writer];
        let message = format!("{} failing over: {name} in {} writes after {}", database.name, self.zones[*zone].name, crate::vocab::fmt_ms(u64::try_from(took).unwrap_or(0)));
        self.log("rds", message.clone());
        message
    }

    pub fn database_state(&self, db: usize) -> DatabaseState {
        let database = &self.databases[db];
        let (writer, zone) = &database.members[database.writer];
        if self.now < database.failing_over_until {
            return DatabaseState::FailingOver { to: writer.clone() };
        }
        let zone_name = self.zones[*zone].name.clone();
        if self.zones[*zone].network_out > 0 || self.regions[self.zones[*zone].region].down > 0 {
            return DatabaseState::Unreachable { writer: writer.clone(), zone: zone_name };
        }
        DatabaseState::Available { writer: writer.clone(), zone: zone_name }
    }

    // ----- operator actions ---------------------------------------------
    // The team's own changes during a drill. They are logged on the timeline
    // and never reverted by gameday.

    /// Points a failover record at one side whatever its health checks say.
    /// The one model of pointing a record at a Region, whether the team
    /// does it during a drill (`source` "operator") or a `region_switch`
    /// step's plan does ("arc-region-switch").
    pub fn force_record(&mut self, record: usize, side: FailoverSide, source: &str) -> String {
        self.records[record].forced = Some(side);
        self.changed_everywhere();
        self.note_answers();
        let r = &self.records[record];
        let balancer = if side == FailoverSide::Primary { r.primary.0 } else { r.secondary.0 };
        let message = format!("{} now answers with {}", r.name, self.balancers[balancer].name);
        self.log(source, message.clone());
        message
    }

    /// Stops the balancer routing to targets in the zone (ARC zonal shift):
    /// the one model of a zonal shift, whether the team makes it during a
    /// drill (`source` "operator") or a scenario's `zonal_shift` step does ("arc").
    pub fn shift_away(&mut self, balancer: usize, zone: usize, source: &str) -> String {
        if !self.balancers[balancer].shifted_away.contains(&zone) {
            self.balancers[balancer].shifted_away.push(zone);
            self.changed_target_group(self.balancers[balancer].target_group);
        }
        let message = format!("{} no longer routes to targets in {}", self.balancers[balancer].name, self.zones[zone].name);
        self.log(source, message.clone());
        message
    }

    /// Ends a zonal shift: the balancer routes to the zone's targets again.
    /// False when no shift away from the zone was in place.
    pub fn shift_back(&mut self, balancer: usize, zone: usize, source: &str) -> bool {
        let before = self.balancers[balancer].shifted_away.len();
        self.balancers[balancer].shifted_away.retain(|z| *z != zone);
        let ended = self.balancers[balancer].shifted_away.len() != before;
        if ended {
            self.changed_target_group(self.balancers[balancer].target_group);
            let message = format!("{} routes to targets in {} again", self.balancers[balancer].name, self.zones[zone].name);
            self.log(source, message);
        }
        ended
    }

    /// Sets a group's desired capacity within its min and max, as Auto
    /// Scaling requires; the group launches or terminates on its next round.
    pub fn set_desired(&mut self, g: usize, desired: u32) -> String {
        let group = &mut self.groups[g];
        let (min, max) = (group.min, group.max.max(group.min));
        let set = desired.clamp(min, max);
        let before = std::mem::replace(&mut group.desired, set);
        let bound = if set < desired {
            format!(" (its max; {desired} was asked)")
        } else if set > desired {
            format!(" (its min; {desired} was asked)")
        } else {
            String::new()
        };
        let message = format!("{} desired capacity {before} → {set}{bound}", group.name);
        self.log("operator", message.clone());
        message
    }

    // ----- time ----------------------------------------------------------

    /// Runs every periodic process due up to `to`, in time order.
    pub fn advance_to(&mut self, to: i64) {
        loop {
            let next = self.next_due();
            if next > to {
                break;
            }
            self.count_traffic(next);
            self.now = next;
            self.run_due(next);
        }
        self.count_traffic(to);
        self.now = self.now.max(to);
    }

    /// Counts each balancer's requests from where counting stopped up to
    /// `to`, at the rates of the world as it stands now. The world changes
    /// only at the moments it advances to (a periodic round, a fault, a
    /// sample), so the rate is constant in between, except for an instance
    /// finishing its boot between two rounds: it is counted from the next one.
    fn count_traffic(&mut self, to: i64) {
        let from = self.traffic_counted_to;
        if to <= from {
            return;
        }
        self.refresh_rates();
        for b in 0..self.traffic.len() {
            let rate = self.rates[b];
            let log = &mut self.traffic[b];
            // The last checkpoint is always at `from`; `log.rate` is the rate of the segment ending there.
            let last = log.checkpoints.last().map_or(RequestCounts::default(), |(_, total)| *total);
            let total = last.plus(rate, (to - from) as f64);
            // An unchanged rate extends the last segment instead of adding one.
            if rate == log.rate && log.checkpoints.len() > 1 {
                log.checkpoints.pop();
            }
            log.checkpoints.push((to, total));
            log.rate = rate;
        }
        self.traffic_counted_to = to;
    }

    /// Marks what depends on instances that finished launching or booting
    /// by now: their balancer's rate, if computed before, and their target group.
    fn note_transitions(&mut self) {
        while let Some(&Reverse((at, instance))) = self.transitions.peek()
            && at <= self.now
        {
            self.transitions.pop();
            if let Some(tg) = self.instances[instance].group.and_then(|g| self.groups[g].target_group) {
                self.target_groups[tg].serving_changed = true;
                for (b, balancer) in self.balancers.iter().enumerate() {
                    if balancer.target_group == tg
                        && let (Some(stale), Some(at_rate)) = (self.rates_stale.get_mut(b), self.rates_at.get(b))
                        && at > *at_rate
                    {
                        *stale = true;
                    }
                }
            }
        }
    }

    /// Brings `rates` up to the world as it stands now.
    fn refresh_rates(&mut self) {
        let balancers = self.balancers.len();
        if self.rates.len() != balancers {
            self.rates = vec![RequestCounts::default(); balancers];
            self.rates_stale = vec![true; balancers];
            self.rates_at = vec![i64::MIN; balancers];
        }
        self.note_transitions();
        for b in 0..balancers {
            if self.rates_stale[b] {
                self.rates[b] = self.request_rate(b);
                self.rates_stale[b] = false;
                self.rates_at[b] = self.now;
            } else {
                debug_assert_eq!(self.rates[b], self.request_rate(b), "a change to balancer {b}'s world did not mark its rate stale");
            }
        }
    }

    /// Requests per millisecond reaching a balancer now, and the shares that
    /// fail at a target and at the balancer. A balancer in a region that is
    /// down counts nothing: its clients' requests never reach it.
    fn request_rate(&self, b: usize) -> RequestCounts {
        let service = self.service(b);
        if !service.reachable {
            return RequestCounts::default();
        }
        let requests = self.load_on(b) / 1000.0;
        RequestCounts { requests, target_5xx: requests * service.gray_share, elb_5xx: requests * (service.error_probability - service.gray_share).max(0.0) }
    }

    /// What the balancer counted in `[from, to)`, in whole requests.
    pub fn requests_between(&self, b: usize, from: i64, to: i64) -> RequestCounts {
        let log = &self.traffic[b];
        log.total_at(to).rounded().minus(log.total_at(from).rounded())
    }

    fn next_due(&self) -> i64 {
        let groups = self.groups.iter().map(|g| g.next_round);
        let tgs = self.target_groups.iter().map(|t| t.next_round);
        let hcs = self.health_checks.iter().map(|h| h.next_round);
        let alarms = self.alarms.iter().map(|a| a.next_round);
        groups.chain(tgs).chain(hcs).chain(alarms).min().unwrap_or(i64::MAX)
    }

    fn run_due(&mut self, now: i64) {
        // Order within one instant: the group acts on what it saw, then load
        // balancers and Route 53 check, then alarms read the metrics.
        for g in 0..self.groups.len() {
            if self.groups[g].next_round == now {
                self.group_round(g);
                self.groups[g].next_round += self.group_interval;
            }
        }
        for t in 0..self.target_groups.len() {
            if self.target_groups[t].next_round == now {
                self.target_group_round(t);
                self.target_groups[t].next_round += self.target_groups[t].interval;
            }
        }
        for h in 0..self.health_checks.len() {
            if self.health_checks[h].next_round == now {
                self.health_check_round(h);
                self.health_checks[h].next_round += self.health_checks[h].interval;
            }
        }
        for a in 0..self.alarms.len() {
            if self.alarms[a].next_round == now {
                self.alarm_round(a);
                self.alarms[a].next_round += self.alarm_period;
            }
        }
    }

    fn target_state_of(&self, tg: usize, instance: usize) -> Option<TargetState> {
        self.target_groups[tg].targets.get(instance).map(|t| t.state)
    }

    fn group_round(&mut self, g: usize) {
        let now = self.now;
        if self.regions[self.groups[g].region].down > 0 {
            return; // the region's control plane is down with it
        }
        let name = self.groups[g].name.clone();
        // 1. Health: replace members that are not running, or (ELB checks,
        // after the grace period) that the load balancer marks unhealthy.
        // The load balancer's verdict is looked up only when it has one to give.
        let elb_target_group = self.groups[g].target_group.filter(|tg| self.groups[g].health_check_type == HealthCheckType::Elb && self.target_groups[*tg].targets.unhealthy > 0);
        let members = if self.groups[g].stopped_members > 0 || elb_target_group.is_some() {
            self.groups[g].members.clone()
        } else {
            debug_assert!(self.groups[g].members.iter().all(|m| self.instances[*m].state(now) != Ec2State::Stopped), "group {g} lost count of its stopped members");
            Vec::new()
        };
        for m in members {
            let state = self.instances[m].state(now);
            let reason = match state {
                Ec2State::Stopped => Some("the instance is stopped".to_string()),
                Ec2State::Terminated => Some("the instance is terminated".to_string()),
                _ => {
                    let past_grace = now >= self.instances[m].launched_at + self.groups[g].grace;
                    let elb_unhealthy = past_grace && elb_target_group.and_then(|tg| self.target_state_of(tg, m)) == Some(TargetState::Unhealthy);
                    elb_unhealthy.then(|| "the load balancer reports it unhealthy".to_string())
                }
            };
            if let Some(reason) = reason {
                let id = self.instances[m].id.clone();
                self.terminate(m);
                self.log(&name, format!("terminating {id}: {reason}"));
            }
        }
        // 2. Register running members with the target group. Every other
        // member is registered already: at launch when settled, or here.
        if let Some(tg) = self.groups[g].target_group {
            let awaiting = std::mem::take(&mut self.groups[g].awaiting_registration);
            let (running, waiting): (Vec<usize>, Vec<usize>) = awaiting.into_iter().partition(|m| self.instances[*m].state(now) == Ec2State::Running);
            for &m in &running {
                self.target_groups[tg].targets.register(Target { instance: m, state: TargetState::Initial, passes: 0, failures: 0 });
            }
            if !running.is_empty() {
                self.changed_target_group(tg);
            }
            self.groups[g].awaiting_registration = waiting;
        }
        // 3. Capacity: terminate what is beyond the desired capacity (from the
        // zone with the most members, newest first, as the default
        // termination policy balances zones), then launch what is missing, in the zones with the fewest
        // members first, skipping zones where launches fail.
        while self.groups[g].members.len() > self.groups[g].desired as usize {
            let per_zone = |z: usize| self.groups[g].members.iter().filter(|m| self.instances[**m].zone == z).count();
            let Some(&victim) = self.groups[g].members.iter().max_by_key(|m| per_zone(self.instances[**m].zone)) else { break };
            let id = self.instances[victim].id.clone();
            self.terminate(victim);
            let desired = self.groups[g].desired;
            self.log(&name, format!("terminating {id}: scaling in to the desired capacity of {desired}"));
        }
        let missing = (self.groups[g].desired as usize).saturating_sub(self.groups[g].members.len());
        let mut failed_everywhere = false;
        // Members per zone of the group, counted once and kept up to date as it launches.
        let mut per_zone: Vec<(usize, usize)> =
            self.groups[g].zones.iter().map(|z| (*z, self.groups[g].members.iter().filter(|m| self.instances[**m].zone == *z).count())).collect();
        for _ in 0..missing {
            let mut zones = per_zone.clone();
            zones.sort_by_key(|(_, members)| *members);
            match zones.into_iter().map(|(z, _)| z).find(|z| !self.launch_fails(*z, &name)) {
                Some(zone) => {
                    for (z, members) in &mut per_zone {
                        *members += usize::from(*z == zone);
                    }
                    let tags = self.groups[g].tags.clone();
                    let index = self.create_instance(zone, Some(g), tags, now, false);
                    let (id, zone_name) = (self.instances[index].id.clone(), self.zones[zone].name.clone());
                    self.log(&name, format!("launching {id} in {zone_name}"));
                }
                None => {
                    failed_everywhere = true;
                    break;
                }
            }
        }
        if failed_everywhere && !self.groups[g].launch_blocked {
            self.log(&name, "launch failed: InsufficientInstanceCapacity in every zone of the group".into());
        }
        self.groups[g].launch_blocked = failed_everywhere;
    }

    fn target_group_round(&mut self, t: usize) {
        self.note_transitions();
        if !self.target_groups[t].serving_changed && self.target_groups[t].unsettled == 0 {
            debug_assert!(
                self.target_groups[t].targets.iter().all(|target| Self::settled(target) && (target.state == TargetState::Healthy) == self.serving(target.instance)),
                "target group {t} skipped a round that would change a target"
            );
            return;
        }
        self.target_groups[t].serving_changed = false;
        let serving: Vec<bool> = self.target_groups[t].targets.iter().map(|target| self.serving(target.instance)).collect();
        let (healthy_threshold, unhealthy_threshold) = (self.target_groups[t].healthy_threshold, self.target_groups[t].unhealthy_threshold);
        let mut changes = Vec::new();
        let mut unhealthy = self.target_groups[t].targets.unhealthy;
        for (target, ok) in self.target_groups[t].targets.iter_mut().zip(serving) {
            let before = target.state;
            if ok {
                target.passes += 1;
                target.failures = 0;
                if target.state != TargetState::Healthy && target.passes >= healthy_threshold {
                    target.state = TargetState::Healthy;
                }
            } else {
                target.failures += 1;
                target.passes = 0;
                if target.state != TargetState::Unhealthy && target.failures >= unhealthy_threshold {
                    target.state = TargetState::Unhealthy;
                }
            }
            if before != target.state {
                unhealthy = unhealthy + usize::from(target.state == TargetState::Unhealthy) - usize::from(before == TargetState::Unhealthy);
                changes.push((target.instance, target.state));
            }
        }
        self.target_groups[t].targets.unhealthy = unhealthy;
        self.target_groups[t].unsettled = self.target_groups[t].targets.iter().filter(|target| !Self::settled(target)).count();
        if !changes.is_empty() {
            self.changed_target_group(t);
        }
        let name = self.target_groups[t].name.clone();
        for (instance, state) in changes {
            let id = self.instances[instance].id.clone();
            self.log(&name, format!("target {id} is now {}", if state == TargetState::Healthy { "healthy" } else { "unhealthy" }));
        }
    }

    /// Whether a target's last check agreed with its state, so that another
    /// check with the same answer changes nothing: healthy and last passed,
    /// or unhealthy and last failed (its counts matter only on the way).
    fn settled(target: &Target) -> bool {
        (target.state == TargetState::Healthy && target.failures == 0) || (target.state == TargetState::Unhealthy && target.passes == 0)
    }

    /// Whether Route 53's checkers get an answer from the endpoint.
    fn endpoint_answers(&self, balancer: usize) -> bool {
        let b = &self.balancers[balancer];
        self.regions[b.region].down == 0 && self.target_groups[b.target_group].targets.iter().any(|t| self.serving(t.instance))
    }

    fn health_check_round(&mut self, h: usize) {
        let observed_ok = self.endpoint_answers(self.health_checks[h].balancer) != self.health_checks[h].inverted;
        let hc = &mut self.health_checks[h];
        let threshold = hc.threshold;
        if observed_ok == hc.healthy {
            hc.streak = 0;
            return;
        }
        hc.streak += 1;
        if hc.streak >= threshold {
            hc.healthy = observed_ok;
            hc.streak = 0;
            let (id, healthy) = (hc.id.clone(), hc.healthy);
            self.changed_everywhere();
            self.log("route53", format!("health check {id} is now {}", if healthy { "healthy" } else { "unhealthy" }));
            self.note_answers();
        }
    }

    /// Records a change of any record's answer at `now`, for resolvers that
    /// fill their cache later at a time in between.
    fn note_answers(&mut self) {
        let now = self.now;
        for r in 0..self.records.len() {
            let answer = self.record_answer(r);
            if self.records[r].answers.last().map(|(_, a)| *a) != Some(answer) {
                self.records[r].answers.push((now, answer));
            }
        }
    }

    /// What Route 53 answered for the record at `at` (changes made at `at` included).
    pub fn answer_at(&self, record: usize, at: i64) -> usize {
        let answers = &self.records[record].answers;
        let after = answers.partition_point(|(t, _)| *t <= at);
        answers[after.saturating_sub(1)].1
    }

    /// The answer a client's caching resolver gives now for the record. The
    /// resolver refills its cache every TTL, at `fill_phase` + k × TTL (it has
    /// been doing so since long before the run), so a client sees a change
    /// at the first refill after it: up to one TTL late, at a point of the
    /// TTL cycle that differs from client to client.
    pub fn cached_answer(&self, record: usize, fill_phase: i64) -> usize {
        let ttl = self.records[record].ttl;
        if ttl <= 0 {
            return self.answer_at(record, self.now);
        }
        let last_fill = fill_phase + (self.now - fill_phase).div_euclid(ttl) * ttl;
        self.answer_at(record, last_fill)
    }

    fn alarm_round(&mut self, a: usize) {
        let value = self.metric(&self.alarms[a].spec);
        let alarm = &mut self.alarms[a];
        if alarm.spec.comparison.breaches(value, alarm.spec.threshold) {
            alarm.breaching += 1;
        } else {
            alarm.breaching = 0;
        }
        let next = if alarm.breaching >= alarm.spec.evaluation_periods { AlarmState::Alarm } else { AlarmState::Ok };
        if next != alarm.state {
            alarm.state = next;
            let name = alarm.spec.name.clone();
            self.log("cloudwatch", format!("alarm {name} is now {next} (value {value})"));
        }
    }

    pub fn metric(&self, spec: &AlarmSpec) -> f64 {
        match spec.metric {
            AlarmMetric::UnhealthyHosts | AlarmMetric::HealthyHosts => {
                let want = if spec.metric == AlarmMetric::HealthyHosts { TargetState::Healthy } else { TargetState::Unhealthy };
                self.target_group_index(&spec.resource).map_or(0.0, |t| self.target_groups[t].targets.iter().filter(|x| x.state == want).count() as f64)
            }
            AlarmMetric::Http5xx => self.balancers.iter().position(|b| b.name == spec.resource).map_or(0.0, |b| {
                let service = self.service(b);
                let load = self.load_on(b);
                (service.error_probability * load * self.alarm_period as f64 / 1000.0).round()
            }),
            AlarmMetric::HealthCheckStatus => self.health_checks.iter().find(|h| h.id == spec.resource).map_or(0.0, |h| if h.healthy { 1.0 } else { 0.0 }),
            AlarmMetric::InService => self.group_index(&spec.resource).map_or(0.0, |g| self.in_service(g) as f64),
        }
    }

    // ----- what probes see ------------------------------------------------

    pub fn in_service(&self, g: usize) -> usize {
        self.groups[g].members.iter().filter(|m| self.instances[**m].state(self.now) == Ec2State::Running).count()
    }

    pub fn healthy_targets(&self, t: usize) -> usize {
        self.target_groups[t].targets.iter().filter(|x| x.state == TargetState::Healthy).count()
    }

    /// The load balancer a failover record sends clients to now, as Route 53 answers.
    pub fn record_answer(&self, record: usize) -> usize {
        let r = &self.records[record];
        match r.forced {
            Some(FailoverSide::Primary) => return r.primary.0,
            Some(FailoverSide::Secondary) => return r.secondary.0,
            None => {}
        }
        let primary_healthy = self.health_checks[r.primary.1].healthy;
        let secondary_healthy = self.health_checks[r.secondary.1].healthy;
        if primary_healthy || !secondary_healthy { r.primary.0 } else { r.secondary.0 }
    }

    /// Requests per second arriving at a balancer: its own, plus a failover
    /// record's whole load when Route 53 answers with it.
    pub fn load_on(&self, balancer: usize) -> f64 {
        let mut load = 0.0;
        let mut in_a_record = false;
        for (index, r) in self.records.iter().enumerate() {
            if r.primary.0 == balancer || r.secondary.0 == balancer {
                in_a_record = true;
                if self.record_answer(index) == balancer {
                    load += self.balancers[r.primary.0].offered_load + self.balancers[r.secondary.0].offered_load;
                }
            }
        }
        if in_a_record { load } else { self.balancers[balancer].offered_load }
    }

    /// What a request through the balancer meets: targets the balancer
    /// still routes to but that are dead fail (502), live targets in a gray
    /// zone fail their zone's gray share (500), and load beyond the healthy
    /// capacity is shed (503). With no healthy target the balancer
    /// fails open and routes to all, as ALB does.
    pub fn service(&self, balancer: usize) -> Service {
        let b = &self.balancers[balancer];
        if self.regions[b.region].down > 0 {
            return Service { reachable: false, error_probability: 1.0, latency_ms: 0.0, dead_target_share: 0.0, gray_share: 0.0, slow_share: 0.0, slowdown_ms: 0.0 };
        }
        // A zonal shift takes the zone's targets out of routing, unless that
        // would leave none: then the balancer routes to all.
        // Counted in passes over the targets, with no list built: this runs
        // for every balancer at every moment the world advances to, so it is
        // the simulator's inner loop (docs/performance.md).
        let all = &self.target_groups[b.target_group].targets;
        let in_routing = |t: &Target| !b.shifted_away.contains(&self.instances[t.instance].zone);
        let any_kept = all.iter().any(in_routing);
        let considered = |t: &Target| !any_kept || in_routing(t);
        let any_healthy = all.iter().any(|t| considered(t) && t.state == TargetState::Healthy);
        let (mut routed, mut alive, mut gray, mut slow, mut slow_ms) = (0usize, 0usize, 0.0_f64, 0usize, 0u64);
        for t in all.iter().filter(|t| considered(t) && (!any_healthy || t.state == TargetState::Healthy)) {
            routed += 1;
            if self.serving(t.instance) {
                alive += 1;
                // Live targets in a gray zone answer, and fail a share of what they get.
                gray += self.gray_rate(self.instances[t.instance].zone);
                // ... and answer late by their zone's slowdown.
                let added = self.slowdown_ms(self.instances[t.instance].zone);
                if added > 0 {
                    slow += 1;
                    slow_ms += added;
                }
            }
        }
        if routed == 0 {
            return Service { reachable: true, error_probability: 1.0, latency_ms: b.base_latency_ms, dead_target_share: 0.0, gray_share: 0.0, slow_share: 0.0, slowdown_ms: 0.0 };
        }
        let dead_share = 1.0 - alive as f64 / routed as f64;
        let gray_share = gray / routed as f64;
        let capacity = alive as f64 * b.capacity_per_target;
        let load = self.load_on(balancer);
        let shed = if capacity <= 0.0 { 1.0 } else { (1.0 - capacity / load.max(1e-9)).max(0.0) };
        let utilisation = if capacity <= 0.0 { 1.0 } else { (load / capacity).min(0.95) };
        Service {
            reachable: true,
            error_probability: (dead_share + gray_share + (1.0 - dead_share - gray_share) * shed).clamp(0.0, 1.0),
            latency_ms: b.base_latency_ms / (1.0 - utilisation),
            dead_target_share: dead_share,
            gray_share,
            slow_share: slow as f64 / routed as f64,
            slowdown_ms: if slow == 0 { 0.0 } else { slow_ms as f64 / slow as f64 },
        }
    }

    /// The balancer that sends traffic to a target group.
    pub fn balancer_of_target_group(&self, target_group: usize) -> Option<usize> {
        self.balancers.iter().position(|b| b.target_group == target_group)
    }

    /// Whether the balancer's region is up (and so its CloudWatch answers).
    pub fn balancer_region_up(&self, balancer: usize) -> bool {
        self.regions[self.balancers[balancer].region].down == 0
    }

    pub fn balancer_by_dns(&self, name: &str) -> Option<usize> {
        self.balancers.iter().position(|b| b.dns_name.eq_ignore_ascii_case(name))
    }

    pub fn record_by_name(&self, name: &str) -> Option<usize> {
        self.records.iter().position(|r| r.name.eq_ignore_ascii_case(name.trim_end_matches('.')))
    }

    /// Instances per group and per zone (not terminated), for `max_percent`.
    pub fn population(&self) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
        let mut groups = BTreeMap::new();
        let mut zones = BTreeMap::new();
        for i in self.instances.iter().filter(|i| i.lifecycle != Lifecycle::Terminated) {
            if let Some(g) = i.group {
                *groups.entry(self.groups[g].name.clone()).or_insert(0) += 1;
            }
            *zones.entry(self.zones[i.zone].name.clone()).or_insert(0) += 1;
        }
        (groups, zones)
    }

    pub fn zone_names_of_region(&self, region: usize) -> Vec<String> {
        self.zones.iter().filter(|z| z.region == region).map(|z| z.name.clone()).collect()
    }

    pub fn region_name_of_zone(&self, zone: usize) -> String {
        self.regions[self.region_of_zone(zone)].name.clone()
    }

    pub fn group_names(&self) -> BTreeSet<String> {
        self.groups.iter().map(|g| g.name.clone()).collect()
    }

    /// Millis since the run started, for events; the world's clock is signed
    /// only because the settled state predates the run.
    pub fn run_time(at: i64) -> Millis {
        u64::try_from(at).unwrap_or(0)
    }
}
