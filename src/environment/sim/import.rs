//! The twin: a topology built from what an AWS account says about itself.
//!
//! `environment::aws::import` reads the account (read-only calls) into an
//! [`AccountSnapshot`], plain data; this module turns the snapshot into a
//! [`Topology`] and its commented YAML. It is pure, so every mapping rule is
//! unit-tested without AWS. Whatever the simulator cannot model is kept as a
//! [`NotModelled`] line, resource by resource, for the file's header: a twin
//! that silently leaves things out would predict with confidence it has not
//! earned.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::topology::{
    AlarmMetric, AlarmSpec, Comparison, FailoverRecordSpec, FailoverSideSpec, FailureThreshold, GroupSpec, HealthCheckTimings, HealthCheckType, InstanceSpec, LoadBalancerSpec,
    RegionSpec, RequestInterval, Timings, Topology, ZoneSpec,
};
use crate::scenario::Duration;

/// What the twin assumes where the account has no answer: one target
/// serves this many requests per second...
pub const ASSUMED_CAPACITY_PER_TARGET: f64 = 100.0;
/// ...and steady state uses this share of the targets' capacity.
pub const ASSUMED_UTILISATION: f64 = 0.5;
/// ...at this latency when idle.
pub const ASSUMED_BASE_LATENCY: Duration = Duration::from_millis(40);
/// Route 53 answers an alias to a load balancer with the load balancer's
/// own TTL, which is 60 s.
pub const ALIAS_TTL: Duration = Duration::from_secs(60);

/// An account as read: only what the simulator could use, and what is
/// needed to say what it cannot.
#[derive(Clone, Debug)]
pub struct AccountSnapshot {
    pub account: String,
    pub region: String,
    /// When the import ran (RFC 3339).
    pub imported_at: String,
    /// How many API calls (pages included) the import made.
    pub calls: usize,
    pub zones: Vec<ZoneFacts>,
    pub groups: Vec<GroupFacts>,
    pub load_balancers: Vec<LoadBalancerFacts>,
    pub target_groups: Vec<TargetGroupFacts>,
    pub health_checks: Vec<HealthCheckFacts>,
    /// Records with a routing policy; simple records route nothing to model.
    pub records: Vec<RecordFacts>,
    /// The alarms, or why they could not be read.
    pub alarms: Result<Vec<AlarmFacts>, String>,
    /// Instances outside any Auto Scaling group.
    pub instances: Vec<InstanceFacts>,
}

#[derive(Clone, Debug)]
pub struct ZoneFacts {
    pub name: String,
    pub id: String,
    pub subnets: usize,
}

#[derive(Clone, Debug)]
pub struct GroupFacts {
    pub name: String,
    pub zones: Vec<String>,
    pub desired: u32,
    pub min: u32,
    pub max: u32,
    /// `EC2`, `ELB`, or another type AWS may add.
    pub health_check_type: String,
    pub grace_period_secs: Option<u32>,
    pub target_group_arns: Vec<String>,
    /// Classic load balancers, which the simulator does not model.
    pub classic_load_balancers: Vec<String>,
    pub instances: usize,
    /// Where its instances are: zone → how many.
    pub instance_zones: BTreeMap<String, usize>,
    /// Tags propagated to the instances.
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct LoadBalancerFacts {
    pub name: String,
    pub arn: String,
    pub dns_name: String,
    /// `application`, `network` or `gateway`.
    pub kind: String,
}

#[derive(Clone, Debug)]
pub struct TargetGroupFacts {
    pub name: String,
    pub arn: String,
    pub load_balancer_arns: Vec<String>,
    pub interval_secs: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub timeout_secs: Option<u32>,
    pub deregistration_delay_secs: Option<u32>,
    pub targets: usize,
}

#[derive(Clone, Debug)]
pub struct HealthCheckFacts {
    pub id: String,
    /// `HTTP`, `HTTPS`, `TCP`, `CALCULATED`, …
    pub kind: String,
    pub request_interval_secs: u32,
    pub failure_threshold: u32,
    pub inverted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routing {
    Primary,
    Secondary,
    /// Weighted, latency, geolocation, multivalue, …: named for the header.
    Other(String),
}

#[derive(Clone, Debug)]
pub struct RecordFacts {
    pub hosted_zone: String,
    pub name: String,
    pub record_type: String,
    pub ttl_secs: Option<u32>,
    pub routing: Routing,
    pub alias_dns_name: Option<String>,
    pub health_check_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct AlarmFacts {
    pub name: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
    pub period_secs: Option<u32>,
    pub evaluation_periods: u32,
    pub threshold: Option<f64>,
    pub comparison: String,
}

#[derive(Clone, Debug)]
pub struct InstanceFacts {
    pub id: String,
    pub zone: String,
    /// `running`, `stopped`, …
    pub state: String,
    pub tags: BTreeMap<String, String>,
}

/// Something in the account the twin leaves out or simplifies, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotModelled {
    pub resource: String,
    pub reason: String,
}

/// The twin: its topology, what it leaves out, and its file.
#[derive(Clone, Debug)]
pub struct Imported {
    pub topology: Topology,
    pub not_modelled: Vec<NotModelled>,
    pub yaml: String,
}

/// The simulator's name of a load balancer's DNS name: lower case, no
/// trailing dot, no `dualstack.` (Route 53 aliases carry both).
fn normal_dns(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.strip_prefix("dualstack.").map(str::to_string).unwrap_or(name)
}

fn alarm_metric(alarm: &AlarmFacts) -> Option<(AlarmMetric, &'static str)> {
    Some(match (alarm.namespace.as_str(), alarm.metric_name.as_str()) {
        ("AWS/ApplicationELB", "UnHealthyHostCount") => (AlarmMetric::UnhealthyHosts, "TargetGroup"),
        ("AWS/ApplicationELB", "HealthyHostCount") => (AlarmMetric::HealthyHosts, "TargetGroup"),
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count" | "HTTPCode_Target_5XX_Count") => (AlarmMetric::Http5xx, "LoadBalancer"),
        ("AWS/Route53", "HealthCheckStatus") => (AlarmMetric::HealthCheckStatus, "HealthCheckId"),
        ("AWS/AutoScaling", "GroupInServiceInstances") => (AlarmMetric::InService, "AutoScalingGroupName"),
        _ => return None,
    })
}

/// `targetgroup/web-tg/0123…` and `app/web-alb/0123…` (CloudWatch's
/// dimension values) name the resource in their second part.
fn dimension_resource(dimension: &str, value: &str) -> String {
    match dimension {
        "TargetGroup" | "LoadBalancer" => value.split('/').nth(1).unwrap_or(value).to_string(),
        _ => value.to_string(),
    }
}

fn comparison(text: &str) -> Option<Comparison> {
    Some(match text {
        "GreaterThanOrEqualToThreshold" => Comparison::GreaterThanOrEqualToThreshold,
        "GreaterThanThreshold" => Comparison::GreaterThanThreshold,
        "LessThanThreshold" => Comparison::LessThanThreshold,
        "LessThanOrEqualToThreshold" => Comparison::LessThanOrEqualToThreshold,
        _ => return None,
    })
}

/// Builds the twin from a snapshot. Every resource of the snapshot ends up
/// either in the topology or in `not_modelled`.
pub fn build(snapshot: &AccountSnapshot) -> Imported {
    let mut not = Vec::new();
    let mut skip = |resource: String, reason: String| not.push(NotModelled { resource, reason });
    let region = snapshot.region.clone();
    let timings = Timings::default();

    // Load balancers, each with the first target group (by name) that it forwards to.
    let mut balancers: Vec<LoadBalancerSpec> = Vec::new();
    let mut balancer_of_tg: BTreeMap<&str, String> = BTreeMap::new(); // target group arn → load balancer name
    let mut tg_name: BTreeMap<&str, &str> = BTreeMap::new(); // modelled target group arn → name
    for lb in &snapshot.load_balancers {
        if lb.kind != "application" {
            skip(format!("load balancer {}", lb.name), format!("a {} load balancer; the simulator models application load balancers only", lb.kind));
            continue;
        }
        let mut forwarding: Vec<&TargetGroupFacts> = snapshot.target_groups.iter().filter(|tg| tg.load_balancer_arns.contains(&lb.arn)).collect();
        forwarding.sort_by(|a, b| a.name.cmp(&b.name));
        let Some((first, rest)) = forwarding.split_first() else {
            skip(format!("load balancer {}", lb.name), "forwards to no target group; a simulated load balancer needs one".into());
            continue;
        };
        for tg in rest {
            skip(format!("target group {} of load balancer {}", tg.name, lb.name), format!("the simulator gives each load balancer one target group ({})", first.name));
        }
        if balancer_of_tg.contains_key(first.arn.as_str()) {
            skip(format!("load balancer {}", lb.name), format!("shares target group {} with another load balancer; the simulator gives each target group one", first.name));
            continue;
        }
        balancer_of_tg.insert(&first.arn, lb.name.clone());
        tg_name.insert(&first.arn, &first.name);
        let groups_desired: u32 = snapshot.groups.iter().filter(|g| g.target_group_arns.contains(&first.arn)).map(|g| g.desired).sum();
        let serving = if groups_desired > 0 { f64::from(groups_desired) } else { first.targets as f64 };
        balancers.push(LoadBalancerSpec {
            name: lb.name.clone(),
            region: region.clone(),
            dns_name: normal_dns(&lb.dns_name),
            target_group: first.name.clone(),
            capacity_per_target: ASSUMED_CAPACITY_PER_TARGET,
            offered_load: (serving * ASSUMED_CAPACITY_PER_TARGET * ASSUMED_UTILISATION).round(),
            base_latency: ASSUMED_BASE_LATENCY,
            health_check: Some(HealthCheckTimings {
                interval: Duration::from_secs(u64::from(first.interval_secs)),
                healthy_threshold: first.healthy_threshold,
                unhealthy_threshold: first.unhealthy_threshold,
            }),
        });
        let mut simplified = Vec::new();
        if let Some(timeout) = first.timeout_secs {
            simplified.push(format!("health-check timeout {timeout}s (a simulated check of a target that does not serve fails at once)"));
        }
        if let Some(delay) = first.deregistration_delay_secs.filter(|d| *d > 0) {
            simplified.push(format!("deregistration delay {delay}s (a simulated target leaves at once)"));
        }
        if !simplified.is_empty() {
            skip(format!("target group {}", first.name), format!("not modelled: {}", simplified.join("; ")));
        }
    }
    for tg in &snapshot.target_groups {
        if tg.load_balancer_arns.is_empty() {
            skip(format!("target group {}", tg.name), "no load balancer forwards to it".into());
        }
    }

    let zone_names: Vec<&str> = snapshot.zones.iter().map(|z| z.name.as_str()).collect();
    let mut groups = Vec::new();
    let mut group_names = Vec::new();
    for group in &snapshot.groups {
        let resource = format!("Auto Scaling group {}", group.name);
        let zones: Vec<String> = group.zones.iter().filter(|z| zone_names.contains(&z.as_str())).cloned().collect();
        if zones.is_empty() {
            skip(resource, format!("its zones ({}) are not zones of {region}", group.zones.join(", ")));
            continue;
        }
        let health_check_type = match group.health_check_type.as_str() {
            "ELB" => HealthCheckType::Elb,
            "EC2" => HealthCheckType::Ec2,
            other => {
                skip(resource.clone(), format!("health-check type {other} is simulated as EC2"));
                HealthCheckType::Ec2
            }
        };
        let mut modelled_tgs = group.target_group_arns.iter().filter(|arn| tg_name.contains_key(arn.as_str()));
        let target_group = modelled_tgs.next().map(|arn| tg_name[arn.as_str()].to_string());
        for arn in modelled_tgs.chain(group.target_group_arns.iter().filter(|arn| !tg_name.contains_key(arn.as_str()))) {
            let name = snapshot.target_groups.iter().find(|tg| &tg.arn == arn).map_or(arn.as_str(), |tg| tg.name.as_str());
            skip(resource.clone(), format!("registered with target group {name} too, which the twin does not give it"));
        }
        for classic in &group.classic_load_balancers {
            skip(resource.clone(), format!("registered with classic load balancer {classic}, which the simulator does not model"));
        }
        // The simulator starts a group's members spread in turn over its zones.
        let mut spread: BTreeMap<String, usize> = BTreeMap::new();
        for n in 0..group.desired as usize {
            *spread.entry(zones[n % zones.len()].clone()).or_default() += 1;
        }
        if !group.instance_zones.is_empty() && group.instance_zones != spread {
            let show = |m: &BTreeMap<String, usize>| m.iter().map(|(z, n)| format!("{n} in {z}")).collect::<Vec<_>>().join(", ");
            skip(resource.clone(), format!("its instances are {} now; the twin starts them spread over its zones ({})", show(&group.instance_zones), show(&spread)));
        }
        group_names.push(group.name.clone());
        groups.push(GroupSpec {
            name: group.name.clone(),
            region: region.clone(),
            zones,
            desired: group.desired,
            min: group.min,
            max: group.max,
            health_check_type,
            health_check_grace_period: group.grace_period_secs.map(|s| Duration::from_secs(u64::from(s))),
            target_group,
            tags: group.tags.clone(),
        });
    }

    // Stand-alone instances, alike ones (name, zone, tags) counted together.
    let mut instances: BTreeMap<(String, String, BTreeMap<String, String>), u32> = BTreeMap::new();
    for instance in &snapshot.instances {
        if instance.state != "running" && instance.state != "pending" {
            skip(format!("instance {}", instance.id), format!("{}; every simulated instance starts running", instance.state));
            continue;
        }
        if !zone_names.contains(&instance.zone.as_str()) {
            skip(format!("instance {}", instance.id), format!("zone {} is not a zone of {region}", instance.zone));
            continue;
        }
        let name = instance.tags.get("Name").cloned().unwrap_or_else(|| instance.id.clone());
        *instances.entry((name, instance.zone.clone(), instance.tags.clone())).or_default() += 1;
    }
    let instances: Vec<InstanceSpec> =
        instances.into_iter().map(|((name, zone, tags), count)| InstanceSpec { name, region: region.clone(), zones: vec![zone], count, tags }).collect();

    // Failover records: one primary and one secondary, each an alias to a modelled load balancer with a health check.
    let lb_by_dns: BTreeMap<String, &str> = balancers.iter().map(|b| (b.dns_name.clone(), b.name.as_str())).collect();
    let checks: BTreeMap<&str, &HealthCheckFacts> = snapshot.health_checks.iter().map(|h| (h.id.as_str(), h)).collect();
    let mut by_name: BTreeMap<(&str, &str, &str), Vec<&RecordFacts>> = BTreeMap::new();
    for record in &snapshot.records {
        if let Routing::Other(policy) = &record.routing {
            skip(format!("record {} {} ({})", record.name, record.record_type, record.hosted_zone), format!("{policy} routing; the simulator models failover records only"));
            continue;
        }
        by_name.entry((&record.hosted_zone, &record.name, &record.record_type)).or_default().push(record);
    }
    let mut dns = Vec::new();
    let mut modelled_checks = Vec::new();
    for ((hosted_zone, name, record_type), records) in by_name {
        let resource = format!("failover record {name} {record_type} ({hosted_zone})");
        let primary = records.iter().find(|r| r.routing == Routing::Primary);
        let secondary = records.iter().find(|r| r.routing == Routing::Secondary);
        let (Some(primary), Some(secondary)) = (primary, secondary) else {
            skip(resource, "has only one side; the simulator models a primary and a secondary".into());
            continue;
        };
        let mut side = |record: &RecordFacts, which: &str| -> Result<FailoverSideSpec, String> {
            let balancer = record
                .alias_dns_name
                .as_deref()
                .and_then(|alias| lb_by_dns.get(&normal_dns(alias)))
                .ok_or_else(|| format!("its {which} is not an alias to an imported load balancer, and the simulator routes only to load balancers"))?;
            let check_id = record.health_check_id.as_deref().ok_or_else(|| format!("its {which} has no health check; the simulator needs one on each side"))?;
            let check = checks.get(check_id).ok_or_else(|| format!("its {which}'s health check {check_id} could not be read"))?;
            let request_interval = match check.request_interval_secs {
                10 => RequestInterval::Fast,
                30 => RequestInterval::Standard,
                other => return Err(format!("health check {check_id} has a request interval of {other}s, which Route 53 does not offer")),
            };
            let failure_threshold = FailureThreshold::try_from(check.failure_threshold).map_err(|e| format!("health check {check_id}: {e}"))?;
            if check.inverted {
                skip(format!("health check {check_id}"), "inverted now; the twin starts it not inverted".into());
            }
            if !matches!(check.kind.as_str(), "HTTP" | "HTTPS" | "HTTP_STR_MATCH" | "HTTPS_STR_MATCH" | "TCP") {
                skip(format!("health check {check_id}"), format!("a {} check; the twin checks the load balancer {balancer} instead", check.kind));
            }
            Ok(FailoverSideSpec {
                load_balancer: balancer.to_string(),
                health_check: check_id.to_string(),
                request_interval: Some(request_interval),
                failure_threshold: Some(failure_threshold),
            })
        };
        match (side(primary, "primary"), side(secondary, "secondary")) {
            (Ok(primary_side), Ok(secondary_side)) => {
                modelled_checks.push(primary_side.health_check.clone());
                modelled_checks.push(secondary_side.health_check.clone());
                let ttl = primary.ttl_secs.or(secondary.ttl_secs).map_or(ALIAS_TTL, |s| Duration::from_secs(u64::from(s)));
                dns.push(FailoverRecordSpec {
                    hosted_zone: hosted_zone.trim_end_matches('.').to_string(),
                    record: name.trim_end_matches('.').to_string(),
                    ttl,
                    primary: primary_side,
                    secondary: secondary_side,
                });
            }
            (Err(why), _) | (_, Err(why)) => skip(resource, why),
        }
    }

    let mut alarms = Vec::new();
    if let Ok(read) = &snapshot.alarms {
        for alarm in read {
            let resource = format!("alarm {}", alarm.name);
            let Some((metric, dimension)) = alarm_metric(alarm) else {
                skip(resource, format!("metric {} {} is not one the simulator computes", alarm.namespace, alarm.metric_name));
                continue;
            };
            let Some(value) = alarm.dimensions.get(dimension) else {
                skip(resource, format!("has no {dimension} dimension, so the twin cannot tell which resource it watches"));
                continue;
            };
            let watched = dimension_resource(dimension, value);
            let known = match metric {
                AlarmMetric::UnhealthyHosts | AlarmMetric::HealthyHosts => balancers.iter().any(|b| b.target_group == watched),
                AlarmMetric::Http5xx => balancers.iter().any(|b| b.name == watched),
                AlarmMetric::HealthCheckStatus => modelled_checks.contains(&watched),
                AlarmMetric::InService => group_names.contains(&watched),
            };
            if !known {
                skip(resource, format!("watches {watched}, which the twin does not model"));
                continue;
            }
            let (Some(comparison), Some(threshold)) = (comparison(&alarm.comparison), alarm.threshold) else {
                skip(resource, format!("comparison {} is not a static threshold", alarm.comparison));
                continue;
            };
            if let Some(period) = alarm.period_secs.filter(|p| u64::from(*p) * 1_000 != timings.cloudwatch.period.as_millis()) {
                skip(resource.clone(), format!("period {period}s is simulated as {} (timings.cloudwatch.period)", timings.cloudwatch.period));
            }
            if metric == AlarmMetric::Http5xx && alarm.metric_name == "HTTPCode_Target_5XX_Count" {
                skip(resource.clone(), "the twin counts every 5xx, the load balancer's own as well as the targets'".into());
            }
            alarms.push(AlarmSpec { name: alarm.name.clone(), metric, resource: watched, comparison, threshold, evaluation_periods: alarm.evaluation_periods.max(1) });
        }
    }

    let topology = Topology {
        api_version: crate::scenario::API_VERSION.to_string(),
        kind: "SimTopology".into(),
        account: snapshot.account.clone(),
        timings,
        regions: vec![RegionSpec { name: region, zones: snapshot.zones.iter().map(|z| ZoneSpec { name: z.name.clone(), id: z.id.clone() }).collect() }],
        load_balancers: balancers,
        auto_scaling_groups: groups,
        instances,
        dns,
        alarms,
        // RDS is not read by the import yet: said in the header, never silently.
        databases: Vec::new(),
    };
    let yaml = render(snapshot, &topology, &not);
    Imported { topology, not_modelled: not, yaml }
}

/// A YAML string: JSON's double-quoted form is valid YAML and escapes everything.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

fn tags(tags: &BTreeMap<String, String>) -> String {
    format!("{{ {} }}", tags.iter().map(|(k, v)| format!("{}: {}", quoted(k), quoted(v))).collect::<Vec<_>>().join(", "))
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|i| quoted(i)).collect::<Vec<_>>().join(", "))
}

/// The topology as a commented file: the header says what was imported,
/// from where and when, what was assumed, and what was left out.
fn render(snapshot: &AccountSnapshot, topology: &Topology, not_modelled: &[NotModelled]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# gameday twin of AWS account {}, region {}, imported {}", snapshot.account, snapshot.region, snapshot.imported_at);
    let _ = writeln!(out, "# by `gameday sim import` with read-only calls ({} calls). Pass it with `--topology FILE`;", snapshot.calls);
    let _ = writeln!(out, "# edit it by hand where the account says one thing and your system does another.");
    let _ = writeln!(out, "#");
    let _ = writeln!(
        out,
        "# Imported: {} zone(s), {} Auto Scaling group(s), {} load balancer(s) with their target groups, {} stand-alone instance(s), {} failover record(s), {} alarm(s).",
        topology.regions[0].zones.len(),
        topology.auto_scaling_groups.len(),
        topology.load_balancers.len(),
        topology.instances.iter().map(|i| i.count).sum::<u32>(),
        topology.dns.len(),
        topology.alarms.len()
    );
    let _ = writeln!(out, "# Assumed, not read from the account (replace with your own measurements): EC2 launch, boot, start and reboot");
    let _ = writeln!(out, "# times; the Auto Scaling check interval; each load balancer's capacity per target, offered load and latency.");
    let _ = writeln!(out, "# Not imported: RDS databases and Aurora clusters (add them under `databases:` by hand to predict a db_failover).");
    if let Err(why) = &snapshot.alarms {
        let _ = writeln!(out, "# Not imported: CloudWatch alarms (CloudWatch unavailable: {})", why.replace('\n', " "));
    }
    if not_modelled.is_empty() {
        let _ = writeln!(out, "# Not modelled: nothing.");
    } else {
        let _ = writeln!(out, "# Not modelled ({}):", not_modelled.len());
        for n in not_modelled {
            let _ = writeln!(out, "#   - {}: {}", n.resource, n.reason.replace('\n', " "));
        }
    }
    let t = &topology.timings;
    let _ = writeln!(out, "apiVersion: {}\nkind: SimTopology\naccount: {}\n", topology.api_version, quoted(&topology.account));
    let _ = writeln!(out, "timings:                 # assumed: the account does not say these");
    let _ = writeln!(out, "  ec2: {{ launch: {}, boot: {}, start: {}, reboot: {} }}", t.ec2.launch, t.ec2.boot, t.ec2.start, t.ec2.reboot);
    let _ = writeln!(out, "  auto_scaling: {{ health_check_interval: {} }}   # each group's grace period is its own, below", t.auto_scaling.health_check_interval);
    let _ = writeln!(out, "  cloudwatch: {{ period: {} }}\n", t.cloudwatch.period);
    let _ = writeln!(out, "regions:");
    for region in &topology.regions {
        let _ = writeln!(out, "  - name: {}\n    zones:", quoted(&region.name));
        for zone in &region.zones {
            let subnets = snapshot.zones.iter().find(|z| z.name == zone.name).map_or(0, |z| z.subnets);
            let _ = writeln!(out, "      - {{ name: {}, id: {} }}   # {subnets} subnet(s)", quoted(&zone.name), quoted(&zone.id));
        }
    }
    let _ = writeln!(out, "\nload_balancers:{}", if topology.load_balancers.is_empty() { " []" } else { "" });
    for lb in &topology.load_balancers {
        let _ = writeln!(
            out,
            "  - name: {}\n    region: {}\n    dns_name: {}\n    target_group: {}",
            quoted(&lb.name),
            quoted(&lb.region),
            quoted(&lb.dns_name),
            quoted(&lb.target_group)
        );
        let _ = writeln!(out, "    capacity_per_target: {}   # assumed: requests/s one target serves", lb.capacity_per_target);
        let _ = writeln!(out, "    offered_load: {}   # assumed: half the capacity of its targets", lb.offered_load);
        let _ = writeln!(out, "    base_latency: {}   # assumed", lb.base_latency);
        if let Some(hc) = &lb.health_check {
            let _ = writeln!(
                out,
                "    health_check: {{ interval: {}, healthy_threshold: {}, unhealthy_threshold: {} }}   # from the target group",
                hc.interval, hc.healthy_threshold, hc.unhealthy_threshold
            );
        }
    }
    let _ = writeln!(out, "\nauto_scaling_groups:{}", if topology.auto_scaling_groups.is_empty() { " []" } else { "" });
    for g in &topology.auto_scaling_groups {
        let _ = writeln!(out, "  - name: {}\n    region: {}\n    zones: {}", quoted(&g.name), quoted(&g.region), list(&g.zones));
        let _ = writeln!(out, "    desired: {}\n    min: {}\n    max: {}", g.desired, g.min, g.max);
        let _ = writeln!(out, "    health_check_type: {}", if g.health_check_type == HealthCheckType::Elb { "elb" } else { "ec2" });
        if let Some(grace) = g.health_check_grace_period {
            let _ = writeln!(out, "    health_check_grace_period: {grace}");
        }
        if let Some(tg) = &g.target_group {
            let _ = writeln!(out, "    target_group: {}", quoted(tg));
        }
        let _ = writeln!(out, "    tags: {}", tags(&g.tags));
    }
    let _ = writeln!(out, "\ninstances:{}", if topology.instances.is_empty() { " []" } else { "" });
    for i in &topology.instances {
        let _ = writeln!(out, "  - {{ name: {}, region: {}, zones: {}, count: {}, tags: {} }}", quoted(&i.name), quoted(&i.region), list(&i.zones), i.count, tags(&i.tags));
    }
    let _ = writeln!(out, "\ndns:{}", if topology.dns.is_empty() { " []" } else { "" });
    for r in &topology.dns {
        let _ = writeln!(out, "  - hosted_zone: {}\n    record: {}\n    ttl: {}", quoted(&r.hosted_zone), quoted(&r.record), r.ttl);
        for (which, side) in [("primary", &r.primary), ("secondary", &r.secondary)] {
            let _ = writeln!(
                out,
                "    {which}: {{ load_balancer: {}, health_check: {}, request_interval: {}, failure_threshold: {} }}",
                quoted(&side.load_balancer),
                quoted(&side.health_check),
                side.request_interval.unwrap_or_default().duration(),
                side.failure_threshold.unwrap_or_default().get()
            );
        }
    }
    let _ = writeln!(out, "\nalarms:{}", if topology.alarms.is_empty() { " []" } else { "" });
    for a in &topology.alarms {
        let metric = match a.metric {
            AlarmMetric::UnhealthyHosts => "unhealthy_hosts",
            AlarmMetric::HealthyHosts => "healthy_hosts",
            AlarmMetric::Http5xx => "http_5xx",
            AlarmMetric::HealthCheckStatus => "health_check_status",
            AlarmMetric::InService => "in_service",
        };
        let _ = writeln!(
            out,
            "  - {{ name: {}, metric: {metric}, resource: {}, comparison: {:?}, threshold: {}, evaluation_periods: {} }}",
            quoted(&a.name),
            quoted(&a.resource),
            a.comparison,
            a.threshold,
            a.evaluation_periods
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> AccountSnapshot {
        let zones = [("us-east-1a", "use1-az1"), ("us-east-1b", "use1-az2"), ("us-east-1c", "use1-az3")];
        AccountSnapshot {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            imported_at: "2026-12-03T05:00:00Z".into(),
            calls: 12,
            zones: zones.iter().map(|(name, id)| ZoneFacts { name: (*name).into(), id: (*id).into(), subnets: 1 }).collect(),
            groups: vec![GroupFacts {
                name: "web-asg".into(),
                zones: zones.iter().map(|(n, _)| (*n).into()).collect(),
                desired: 6,
                min: 6,
                max: 9,
                health_check_type: "ELB".into(),
                grace_period_secs: Some(90),
                target_group_arns: vec!["arn:tg/web-tg".into()],
                classic_load_balancers: vec![],
                instances: 6,
                instance_zones: BTreeMap::from([("us-east-1a".into(), 2), ("us-east-1b".into(), 2), ("us-east-1c".into(), 2)]),
                tags: BTreeMap::from([("app".into(), "web".into())]),
            }],
            load_balancers: vec![
                LoadBalancerFacts { name: "web-alb".into(), arn: "arn:lb/web-alb".into(), dns_name: "web-alb-1.us-east-1.elb.amazonaws.com".into(), kind: "application".into() },
                LoadBalancerFacts {
                    name: "web-dr-alb".into(),
                    arn: "arn:lb/web-dr-alb".into(),
                    dns_name: "web-dr-alb-1.us-east-1.elb.amazonaws.com".into(),
                    kind: "application".into(),
                },
                LoadBalancerFacts { name: "tcp-nlb".into(), arn: "arn:lb/tcp-nlb".into(), dns_name: "tcp-nlb.elb.amazonaws.com".into(), kind: "network".into() },
            ],
            target_groups: vec![
                TargetGroupFacts {
                    name: "web-tg".into(),
                    arn: "arn:tg/web-tg".into(),
                    load_balancer_arns: vec!["arn:lb/web-alb".into()],
                    interval_secs: 10,
                    healthy_threshold: 3,
                    unhealthy_threshold: 2,
                    timeout_secs: Some(5),
                    deregistration_delay_secs: Some(300),
                    targets: 6,
                },
                TargetGroupFacts {
                    name: "web-dr-tg".into(),
                    arn: "arn:tg/web-dr-tg".into(),
                    load_balancer_arns: vec!["arn:lb/web-dr-alb".into()],
                    interval_secs: 30,
                    healthy_threshold: 5,
                    unhealthy_threshold: 2,
                    timeout_secs: None,
                    deregistration_delay_secs: None,
                    targets: 0,
                },
            ],
            health_checks: vec![
                HealthCheckFacts { id: "hc-1".into(), kind: "HTTPS".into(), request_interval_secs: 10, failure_threshold: 2, inverted: false },
                HealthCheckFacts { id: "hc-2".into(), kind: "HTTPS".into(), request_interval_secs: 30, failure_threshold: 3, inverted: false },
            ],
            records: vec![
                RecordFacts {
                    hosted_zone: "example.com.".into(),
                    name: "api.example.com.".into(),
                    record_type: "A".into(),
                    ttl_secs: None,
                    routing: Routing::Primary,
                    alias_dns_name: Some("dualstack.web-alb-1.us-east-1.elb.amazonaws.com.".into()),
                    health_check_id: Some("hc-1".into()),
                },
                RecordFacts {
                    hosted_zone: "example.com.".into(),
                    name: "api.example.com.".into(),
                    record_type: "A".into(),
                    ttl_secs: None,
                    routing: Routing::Secondary,
                    alias_dns_name: Some("web-dr-alb-1.us-east-1.elb.amazonaws.com".into()),
                    health_check_id: Some("hc-2".into()),
                },
                RecordFacts {
                    hosted_zone: "example.com.".into(),
                    name: "www.example.com.".into(),
                    record_type: "A".into(),
                    ttl_secs: Some(60),
                    routing: Routing::Other("weighted".into()),
                    alias_dns_name: None,
                    health_check_id: None,
                },
            ],
            alarms: Ok(vec![AlarmFacts {
                name: "web-unhealthy".into(),
                namespace: "AWS/ApplicationELB".into(),
                metric_name: "UnHealthyHostCount".into(),
                dimensions: BTreeMap::from([("TargetGroup".into(), "targetgroup/web-tg/0123".into()), ("LoadBalancer".into(), "app/web-alb/0123".into())]),
                period_secs: Some(60),
                evaluation_periods: 2,
                threshold: Some(1.0),
                comparison: "GreaterThanOrEqualToThreshold".into(),
            }]),
            instances: vec![InstanceFacts { id: "i-1".into(), zone: "us-east-1c".into(), state: "running".into(), tags: BTreeMap::from([("Name".into(), "bastion".into())]) }],
        }
    }

    fn imported() -> (Imported, Topology) {
        let imported = build(&snapshot());
        // The file is what users get: it must read back as the same twin.
        let reread = Topology::parse(&imported.yaml, "imported.yaml").unwrap_or_else(|e| panic!("{e}\n{}", imported.yaml));
        (imported, reread)
    }

    #[test]
    fn the_file_carries_the_groups_settings() {
        let (_, topology) = imported();
        let group = &topology.auto_scaling_groups[0];
        assert_eq!((group.desired, group.min, group.max), (6, 6, 9));
        assert_eq!(group.health_check_type, HealthCheckType::Elb);
        assert_eq!(group.health_check_grace_period, Some(Duration::from_secs(90)));
        assert_eq!(group.target_group.as_deref(), Some("web-tg"));
        assert_eq!(group.tags["app"], "web");
    }

    #[test]
    fn the_file_carries_the_target_groups_health_check() {
        let (_, topology) = imported();
        let lb = topology.load_balancers.iter().find(|lb| lb.name == "web-alb").unwrap();
        let hc = lb.health_check.as_ref().unwrap();
        assert_eq!((hc.interval, hc.healthy_threshold, hc.unhealthy_threshold), (Duration::from_secs(10), 3, 2));
        assert_eq!(lb.offered_load, 300.0, "six desired targets at half their assumed capacity");
        assert_eq!(lb.dns_name, "web-alb-1.us-east-1.elb.amazonaws.com");
    }

    #[test]
    fn failover_records_follow_their_aliases_and_checks() {
        let (_, topology) = imported();
        let record = &topology.dns[0];
        assert_eq!(record.record, "api.example.com");
        assert_eq!(record.ttl, ALIAS_TTL);
        assert_eq!(record.primary.load_balancer, "web-alb");
        assert_eq!(record.primary.request_interval, Some(RequestInterval::Fast));
        assert_eq!(record.primary.failure_threshold.map(FailureThreshold::get), Some(2));
        assert_eq!(record.secondary.load_balancer, "web-dr-alb");
    }

    #[test]
    fn alarms_name_their_resource_by_its_dimension() {
        let (_, topology) = imported();
        let alarm = &topology.alarms[0];
        assert_eq!((alarm.metric, alarm.resource.as_str(), alarm.evaluation_periods), (AlarmMetric::UnhealthyHosts, "web-tg", 2));
    }

    #[test]
    fn what_cannot_be_modelled_is_listed_resource_by_resource() {
        let (imported, _) = imported();
        let said: Vec<String> = imported.not_modelled.iter().map(|n| format!("{}: {}", n.resource, n.reason)).collect();
        for expected in [
            "load balancer tcp-nlb: a network load balancer",
            "target group web-tg: not modelled: health-check timeout 5s",
            "record www.example.com. A (example.com.): weighted routing",
        ] {
            assert!(said.iter().any(|s| s.starts_with(expected)), "{expected} missing from {said:#?}");
        }
        assert!(imported.yaml.contains("#   - load balancer tcp-nlb: a network load balancer"), "{}", imported.yaml);
        assert!(imported.yaml.contains("deregistration delay 300s"), "{}", imported.yaml);
    }

    #[test]
    fn a_group_spread_otherwise_than_the_twin_spreads_it_is_listed() {
        let (imported, _) = imported();
        assert!(!imported.not_modelled.iter().any(|n| n.resource == "Auto Scaling group web-asg"), "an even spread is modelled");
        let mut snapshot = snapshot();
        snapshot.groups[0].instance_zones = BTreeMap::from([("us-east-1a".into(), 6)]);
        let imported = build(&snapshot);
        assert!(
            imported.not_modelled.contains(&NotModelled {
                resource: "Auto Scaling group web-asg".into(),
                reason: "its instances are 6 in us-east-1a now; the twin starts them spread over its zones (2 in us-east-1a, 2 in us-east-1b, 2 in us-east-1c)".into()
            }),
            "{:#?}",
            imported.not_modelled
        );
    }

    #[test]
    fn unreadable_alarms_are_said_in_the_header() {
        let mut snapshot = snapshot();
        snapshot.alarms = Err("cloudwatch:DescribeAlarms failed: 404".into());
        let imported = build(&snapshot);
        assert!(imported.yaml.contains("# Not imported: CloudWatch alarms (CloudWatch unavailable: cloudwatch:DescribeAlarms failed: 404)"), "{}", imported.yaml);
        assert!(imported.topology.alarms.is_empty());
    }

    #[test]
    fn a_record_side_without_a_check_or_load_balancer_is_listed() {
        let mut snapshot = snapshot();
        snapshot.records[1].health_check_id = None;
        let imported = build(&snapshot);
        assert!(imported.topology.dns.is_empty());
        assert!(
            imported.not_modelled.iter().any(|n| n.resource == "failover record api.example.com. A (example.com.)" && n.reason.contains("secondary has no health check")),
            "{:#?}",
            imported.not_modelled
        );
        Topology::parse(&imported.yaml, "t").unwrap();
    }

    #[test]
    fn names_that_need_quoting_survive_the_file() {
        let mut snapshot = snapshot();
        snapshot.groups[0].name = "web: \"blue\" #1".into();
        let imported = build(&snapshot);
        let topology = Topology::parse(&imported.yaml, "t").unwrap();
        assert_eq!(topology.auto_scaling_groups[0].name, "web: \"blue\" #1");
    }
}

/// One difference between a saved twin and the account as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    pub resource: String,
    /// What changed, saved value first: `desired 6 → 8`, `added`, `removed`.
    pub change: String,
}

/// What changed in the account since `saved` was imported (or since it was
/// corrected by hand): `now` is a fresh import. Only what an import reads is
/// compared; the timings and load figures it assumes are the team's, not
/// the account's, and never drift.
pub fn drift(saved: &Topology, now: &Topology) -> Vec<Drift> {
    fn compare<T, K: Ord + Clone + std::fmt::Display>(
        out: &mut Vec<Drift>,
        kind: &str,
        saved: &[T],
        now: &[T],
        key: impl Fn(&T) -> K,
        fields: impl Fn(&T) -> Vec<(&'static str, String)>,
    ) {
        let old: BTreeMap<K, &T> = saved.iter().map(|t| (key(t), t)).collect();
        let new: BTreeMap<K, &T> = now.iter().map(|t| (key(t), t)).collect();
        for (name, item) in &old {
            let resource = format!("{kind} {name}");
            let Some(current) = new.get(name) else {
                out.push(Drift { resource, change: "removed".into() });
                continue;
            };
            for ((field, before), (_, after)) in fields(item).into_iter().zip(fields(current)) {
                if before != after {
                    out.push(Drift { resource: resource.clone(), change: format!("{field} {before} → {after}") });
                }
            }
        }
        for name in new.keys().filter(|name| !old.contains_key(*name)) {
            out.push(Drift { resource: format!("{kind} {name}"), change: "added".into() });
        }
    }
    let mut out = Vec::new();
    if saved.account != now.account {
        out.push(Drift { resource: "account".into(), change: format!("{} → {} (another account: compare with its own twin)", saved.account, now.account) });
    }
    let zones = |t: &Topology| t.regions.iter().flat_map(|r| r.zones.iter().map(|z| (format!("{} ({})", z.name, z.id), ()))).collect::<Vec<_>>();
    compare(&mut out, "zone", &zones(saved), &zones(now), |z| z.0.clone(), |_| Vec::new());
    let text = |value: Option<String>| value.unwrap_or_else(|| "none".into());
    compare(
        &mut out,
        "Auto Scaling group",
        &saved.auto_scaling_groups,
        &now.auto_scaling_groups,
        |g| g.name.clone(),
        |g| {
            vec![
                ("zones", g.zones.join(", ")),
                ("desired", g.desired.to_string()),
                ("min", g.min.to_string()),
                ("max", g.max.to_string()),
                ("health-check type", format!("{:?}", g.health_check_type).to_uppercase()),
                ("grace period", text(g.health_check_grace_period.map(|d| d.to_string()))),
                ("target group", text(g.target_group.clone())),
                ("tags", format!("{:?}", g.tags)),
            ]
        },
    );
    compare(
        &mut out,
        "load balancer",
        &saved.load_balancers,
        &now.load_balancers,
        |lb| lb.name.clone(),
        |lb| {
            let hc = lb.health_check.clone().unwrap_or_default();
            vec![
                ("DNS name", lb.dns_name.clone()),
                ("target group", lb.target_group.clone()),
                ("health-check interval", hc.interval.to_string()),
                ("healthy threshold", hc.healthy_threshold.to_string()),
                ("unhealthy threshold", hc.unhealthy_threshold.to_string()),
            ]
        },
    );
    compare(
        &mut out,
        "stand-alone instances",
        &saved.instances,
        &now.instances,
        |i| format!("{} in {}", i.name, i.zones.join(", ")),
        |i| vec![("count", i.count.to_string()), ("tags", format!("{:?}", i.tags))],
    );
    compare(
        &mut out,
        "failover record",
        &saved.dns,
        &now.dns,
        |r| r.record.clone(),
        |r| {
            let mut fields = vec![("TTL", r.ttl.to_string())];
            let sides = [
                (["primary", "primary check interval", "primary failure threshold"], &r.primary),
                (["secondary", "secondary check interval", "secondary failure threshold"], &r.secondary),
            ];
            for ([side, interval_label, threshold_label], spec) in sides {
                let (interval, threshold) = spec.health_check_timings(&Timings::default().route53);
                fields.push((side, format!("{} (check {})", spec.load_balancer, spec.health_check)));
                fields.push((interval_label, interval.duration().to_string()));
                fields.push((threshold_label, threshold.get().to_string()));
            }
            fields
        },
    );
    compare(
        &mut out,
        "alarm",
        &saved.alarms,
        &now.alarms,
        |a| a.name.clone(),
        |a| {
            vec![
                ("metric", format!("{:?}", a.metric)),
                ("resource", a.resource.clone()),
                ("comparison", format!("{:?}", a.comparison)),
                ("threshold", a.threshold.to_string()),
                ("evaluation periods", a.evaluation_periods.to_string()),
            ]
        },
    );
    out
}

#[cfg(test)]
mod drift_tests {
    use super::*;

    #[test]
    fn an_unchanged_account_has_no_drift() {
        let topology = Topology::default_topology().unwrap();
        assert_eq!(drift(&topology, &topology), []);
    }

    #[test]
    fn each_change_is_named_with_its_before_and_after() {
        let saved = Topology::default_topology().unwrap();
        let mut now = saved.clone();
        now.auto_scaling_groups[0].desired = 8;
        now.auto_scaling_groups[0].max = 12;
        now.auto_scaling_groups[0].health_check_grace_period = Some(Duration::from_secs(90));
        now.load_balancers[0].health_check = Some(HealthCheckTimings { interval: Duration::from_secs(10), ..HealthCheckTimings::default() });
        now.dns[0].primary.request_interval = Some(RequestInterval::Fast);
        now.alarms.remove(1);
        now.auto_scaling_groups.push(GroupSpec { name: "new-asg".into(), ..now.auto_scaling_groups[0].clone() });
        // Assumed figures are the team's, not the account's: no drift.
        now.load_balancers[0].offered_load = 999.0;
        now.timings.ec2.boot = Duration::from_secs(180);
        let said: Vec<String> = drift(&saved, &now).iter().map(|d| format!("{}: {}", d.resource, d.change)).collect();
        assert_eq!(
            said,
            [
                "Auto Scaling group web-asg: desired 6 → 8",
                "Auto Scaling group web-asg: max 9 → 12",
                "Auto Scaling group web-asg: grace period none → 1m30s",
                "Auto Scaling group new-asg: added",
                "load balancer web-alb: health-check interval 30s → 10s",
                "failover record api.example.com: primary check interval 30s → 10s",
                "alarm web-5xx: removed",
            ]
        );
    }
}
