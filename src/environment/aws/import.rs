//! `gameday sim import`: reads an account into an [`AccountSnapshot`] for
//! the twin, with read-only calls only (`Describe*`, `List*`, `Get*`), each
//! paginated. Turning the snapshot into a topology is pure and lives in
//! `environment::sim::import`; this is only the edge that talks to AWS.

use std::collections::BTreeMap;

use super::{Clients, sdk_error};
use crate::environment::EnvError;
use crate::environment::sim::import::{
    AccountSnapshot, AlarmFacts, GroupFacts, HealthCheckFacts, InstanceFacts, LoadBalancerFacts, RecordFacts, Routing, TargetGroupFacts, ZoneFacts,
};

/// Every call this module makes, as IAM names them: the least privilege
/// `sim import` needs, and proof it changes nothing.
pub const CALLS: &[&str] = &[
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeSubnets",
    "ec2:DescribeInstances",
    "autoscaling:DescribeAutoScalingGroups",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "route53:ListHostedZones",
    "route53:ListResourceRecordSets",
    "route53:ListHealthChecks",
    "cloudwatch:DescribeAlarms",
];

fn count(value: Option<i32>) -> u32 {
    value.and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}

/// Reads everything the twin models in the clients' region. `account` is
/// the one the caller identity was checked against. Alarms that cannot be
/// read leave the import standing, with the reason in the snapshot: the
/// header then says they were not imported.
pub async fn read_account(clients: &Clients, account: &str, region: &str, imported_at: String) -> Result<AccountSnapshot, EnvError> {
    let mut calls = 1; // sts:GetCallerIdentity, made by the caller before this.
    let ec2 = &clients.ec2;

    let out = ec2.describe_availability_zones().send().await.map_err(|e| sdk_error("ec2:DescribeAvailabilityZones", e))?;
    calls += 1;
    let mut subnets: BTreeMap<String, usize> = BTreeMap::new();
    let mut pages = ec2.describe_subnets().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("ec2:DescribeSubnets", e))?;
        calls += 1;
        for subnet in page.subnets() {
            *subnets.entry(subnet.availability_zone().unwrap_or_default().to_string()).or_default() += 1;
        }
    }
    let zones = out
        .availability_zones()
        .iter()
        .filter_map(|z| Some(ZoneFacts { name: z.zone_name()?.to_string(), id: z.zone_id()?.to_string(), subnets: subnets.get(z.zone_name()?).copied().unwrap_or(0) }))
        .collect();

    let mut groups = Vec::new();
    let mut pages = clients.autoscaling.describe_auto_scaling_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("autoscaling:DescribeAutoScalingGroups", e))?;
        calls += 1;
        for g in page.auto_scaling_groups() {
            groups.push(GroupFacts {
                name: g.auto_scaling_group_name().unwrap_or_default().to_string(),
                zones: g.availability_zones().to_vec(),
                desired: count(g.desired_capacity()),
                min: count(g.min_size()),
                max: count(g.max_size()),
                health_check_type: g.health_check_type().unwrap_or("EC2").to_string(),
                grace_period_secs: g.health_check_grace_period().and_then(|s| u32::try_from(s).ok()),
                target_group_arns: g.target_group_arns().to_vec(),
                classic_load_balancers: g.load_balancer_names().to_vec(),
                instances: g.instances().len(),
                instance_zones: g.instances().iter().fold(BTreeMap::new(), |mut zones, i| {
                    *zones.entry(i.availability_zone().unwrap_or_default().to_string()).or_default() += 1;
                    zones
                }),
                tags: g
                    .tags()
                    .iter()
                    .filter(|t| t.propagate_at_launch().unwrap_or(false))
                    .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                    .collect(),
            });
        }
    }
    let elb = &clients.elbv2;
    let mut load_balancers = Vec::new();
    let mut pages = elb.describe_load_balancers().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("elasticloadbalancing:DescribeLoadBalancers", e))?;
        calls += 1;
        for lb in page.load_balancers() {
            load_balancers.push(LoadBalancerFacts {
                name: lb.load_balancer_name().unwrap_or_default().to_string(),
                arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
                dns_name: lb.dns_name().unwrap_or_default().to_string(),
                kind: lb.r#type().map_or("application", |t| t.as_str()).to_string(),
            });
        }
    }
    let mut target_groups = Vec::new();
    let mut pages = elb.describe_target_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("elasticloadbalancing:DescribeTargetGroups", e))?;
        calls += 1;
        for tg in page.target_groups() {
            let arn = tg.target_group_arn().unwrap_or_default().to_string();
            let health = elb.describe_target_health().target_group_arn(&arn).send().await.map_err(|e| sdk_error("elasticloadbalancing:DescribeTargetHealth", e))?;
            let attributes =
                elb.describe_target_group_attributes().target_group_arn(&arn).send().await.map_err(|e| sdk_error("elasticloadbalancing:DescribeTargetGroupAttributes", e))?;
            calls += 2;
            target_groups.push(TargetGroupFacts {
                name: tg.target_group_name().unwrap_or_default().to_string(),
                load_balancer_arns: tg.load_balancer_arns().to_vec(),
                // ELB's own defaults where an emulator leaves a setting out.
                interval_secs: tg.health_check_interval_seconds().map_or(30, |s| count(Some(s))),
                healthy_threshold: tg.healthy_threshold_count().map_or(5, |s| count(Some(s))),
                unhealthy_threshold: tg.unhealthy_threshold_count().map_or(2, |s| count(Some(s))),
                timeout_secs: tg.health_check_timeout_seconds().and_then(|s| u32::try_from(s).ok()),
                deregistration_delay_secs: attributes.attributes().iter().find(|a| a.key() == Some("deregistration_delay.timeout_seconds")).and_then(|a| a.value()?.parse().ok()),
                targets: health.target_health_descriptions().len(),
                arn,
            });
        }
    }

    let route53 = &clients.route53;
    let mut health_checks = Vec::new();
    let mut pages = route53.list_health_checks().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("route53:ListHealthChecks", e))?;
        calls += 1;
        for check in page.health_checks() {
            let config = check.health_check_config();
            health_checks.push(HealthCheckFacts {
                id: check.id().to_string(),
                kind: config.map_or("HTTP", |c| c.r#type().as_str()).to_string(),
                // Route 53's defaults for a setting left out: 30 s and 3.
                request_interval_secs: config.and_then(|c| c.request_interval()).map_or(30, |s| count(Some(s))),
                failure_threshold: config.and_then(|c| c.failure_threshold()).map_or(3, |s| count(Some(s))),
                inverted: config.and_then(|c| c.inverted()).unwrap_or(false),
            });
        }
    }
    let mut records = Vec::new();
    let mut pages = route53.list_hosted_zones().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("route53:ListHostedZones", e))?;
        calls += 1;
        for zone in page.hosted_zones() {
            let mut request = route53.list_resource_record_sets().hosted_zone_id(zone.id());
            loop {
                let out = request.clone().send().await.map_err(|e| sdk_error("route53:ListResourceRecordSets", e))?;
                calls += 1;
                for set in out.resource_record_sets() {
                    let routing = if let Some(failover) = set.failover() {
                        if *failover == aws_sdk_route53::types::ResourceRecordSetFailover::Primary { Routing::Primary } else { Routing::Secondary }
                    } else if set.weight().is_some() {
                        Routing::Other("weighted".into())
                    } else if set.region().is_some() {
                        Routing::Other("latency".into())
                    } else if set.geo_location().is_some() {
                        Routing::Other("geolocation".into())
                    } else if set.multi_value_answer().is_some() {
                        Routing::Other("multivalue".into())
                    } else {
                        continue;
                    };
                    records.push(RecordFacts {
                        hosted_zone: zone.name().to_string(),
                        name: set.name().to_string(),
                        record_type: set.r#type().as_str().to_string(),
                        ttl_secs: set.ttl().and_then(|t| u32::try_from(t).ok()),
                        routing,
                        alias_dns_name: set.alias_target().map(|a| a.dns_name().to_string()),
                        health_check_id: set.health_check_id().map(str::to_string),
                    });
                }
                if !out.is_truncated() {
                    break;
                }
                request = request
                    .set_start_record_name(out.next_record_name().map(str::to_string))
                    .set_start_record_type(out.next_record_type().cloned())
                    .set_start_record_identifier(out.next_record_identifier().map(str::to_string));
            }
        }
    }

    let mut instances = Vec::new();
    let mut pages = ec2.describe_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("ec2:DescribeInstances", e))?;
        calls += 1;
        for instance in page.reservations().iter().flat_map(|r| r.instances()) {
            let tags: BTreeMap<String, String> = instance.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect();
            let state = instance.state().and_then(|s| s.name()).map_or("unknown", |n| n.as_str()).to_string();
            // Group members are the group's; terminated instances are gone.
            if tags.contains_key("aws:autoscaling:groupName") || state == "terminated" || state == "shutting-down" {
                continue;
            }
            instances.push(InstanceFacts {
                id: instance.instance_id().unwrap_or_default().to_string(),
                zone: instance.placement().and_then(|p| p.availability_zone()).unwrap_or_default().to_string(),
                state,
                tags,
            });
        }
    }

    let alarms = read_alarms(&clients.cloudwatch, &mut calls).await;
    Ok(AccountSnapshot {
        account: account.to_string(),
        region: region.to_string(),
        imported_at,
        calls,
        zones,
        groups,
        load_balancers,
        target_groups,
        health_checks,
        records,
        alarms,
        instances,
    })
}

/// The metric alarms, or why they could not be read (moto, for one, does
/// not answer CloudWatch's RPCv2-CBOR protocol).
pub async fn read_alarms(cloudwatch: &aws_sdk_cloudwatch::Client, calls: &mut usize) -> Result<Vec<AlarmFacts>, String> {
    let mut alarms = Vec::new();
    let mut pages = cloudwatch.describe_alarms().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("cloudwatch:DescribeAlarms", e).to_string())?;
        *calls += 1;
        for alarm in page.metric_alarms() {
            alarms.push(AlarmFacts {
                name: alarm.alarm_name().unwrap_or_default().to_string(),
                namespace: alarm.namespace().unwrap_or_default().to_string(),
                metric_name: alarm.metric_name().unwrap_or_default().to_string(),
                dimensions: alarm.dimensions().iter().filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string()))).collect(),
                period_secs: alarm.period().and_then(|p| u32::try_from(p).ok()),
                evaluation_periods: count(alarm.evaluation_periods()),
                threshold: alarm.threshold(),
                comparison: alarm.comparison_operator().map_or("", |c| c.as_str()).to_string(),
            });
        }
    }
    Ok(alarms)
}
