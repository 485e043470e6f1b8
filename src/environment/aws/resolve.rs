//! Resolving a fault's targets in a real account (with pagination), and
//! the faults that need more than one call: cutting a zone's subnets off
//! with a deny-all network ACL, and putting the original associations back.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use super::{AwsEnvironment, CREATED_BY_TAG, MAX_IDS_PER_CALL, needs_fis, sdk_error};
use crate::environment::{Candidate, Effect, EnvError, Reach, RevertOutcome, SubnetAcl};
use crate::scenario::{AzOutageMode, FailoverSide, Fault, FaultAction, Targets};

fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().collect())).build()
}

/// Instances matching `filters`, paginated.
async fn instances(env: &mut AwsEnvironment, filters: Vec<Filter>, ids: Option<Vec<String>>) -> Result<Vec<Candidate>, EnvError> {
    let mut found = Vec::new();
    let id_batches: Vec<Option<Vec<String>>> = match ids {
        Some(ids) if ids.is_empty() => return Ok(found),
        Some(ids) => ids.chunks(MAX_IDS_PER_CALL).map(|c| Some(c.to_vec())).collect(),
        None => vec![None],
    };
    for batch in id_batches {
        let mut pages = env.clients.ec2.describe_instances().set_filters(Some(filters.clone())).set_instance_ids(batch).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("ec2:DescribeInstances", e))?;
            env.calls.pages += 1;
            for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                let tags: BTreeMap<String, String> = instance.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect();
                found.push(Candidate {
                    id: instance.instance_id().unwrap_or_default().to_string(),
                    region: env.spec.region.clone(),
                    zone: instance.placement().and_then(|p| p.availability_zone()).unwrap_or_default().to_string(),
                    group: tags.get("aws:autoscaling:groupName").cloned(),
                    tags,
                });
            }
        }
    }
    Ok(found)
}

/// Members of the named Auto Scaling groups: instance id → group.
async fn group_members(env: &mut AwsEnvironment, groups: &[String]) -> Result<BTreeMap<String, String>, EnvError> {
    let mut members = BTreeMap::new();
    if groups.is_empty() {
        return Ok(members);
    }
    let mut pages = env.clients.autoscaling.describe_auto_scaling_groups().set_auto_scaling_group_names(Some(groups.to_vec())).into_paginator().send();
    let mut seen = BTreeSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("autoscaling:DescribeAutoScalingGroups", e))?;
        env.calls.pages += 1;
        for group in page.auto_scaling_groups() {
            let name = group.auto_scaling_group_name().unwrap_or_default().to_string();
            seen.insert(name.clone());
            for instance in group.instances() {
                if let Some(id) = instance.instance_id() {
                    members.insert(id.to_string(), name.clone());
                }
            }
        }
    }
    if let Some(missing) = groups.iter().find(|g| !seen.contains(*g)) {
        return Err(EnvError::NotFound { resource: format!("Auto Scaling group `{missing}`"), hint: Some(format!("region {}", env.spec.region)) });
    }
    Ok(members)
}

fn live_states() -> Filter {
    filter("instance-state-name", ["running".to_string(), "pending".to_string()])
}

/// Instances matching a fault's filters, with the group of each.
async fn matching(env: &mut AwsEnvironment, targets: &Targets) -> Result<Vec<Candidate>, EnvError> {
    let mut filters = vec![live_states()];
    for (key, value) in &targets.tags {
        filters.push(filter(&format!("tag:{key}"), [value.clone()]));
    }
    if !targets.zones.is_empty() {
        let names = targets.zones.iter().map(|z| env.zone_name(z)).collect::<Result<Vec<_>, _>>()?;
        filters.push(filter("availability-zone", names));
    }
    let members = group_members(env, &targets.groups).await?;
    let ids: Option<Vec<String>> = match (targets.ids.is_empty(), targets.groups.is_empty()) {
        (true, true) => None,
        (false, true) => Some(targets.ids.clone()),
        (true, false) => Some(members.keys().cloned().collect()),
        (false, false) => Some(targets.ids.iter().filter(|id| members.contains_key(*id)).cloned().collect()),
    };
    let mut found = instances(env, filters, ids).await?;
    for candidate in &mut found {
        if candidate.group.is_none() {
            candidate.group = members.get(&candidate.id).cloned();
        }
    }
    Ok(found)
}

/// Sizes of the groups and zones the candidates belong to, for `max_percent`.
async fn population(env: &mut AwsEnvironment, candidates: &[Candidate], reach: &mut Reach) -> Result<(), EnvError> {
    let groups: Vec<String> = candidates.iter().filter_map(|c| c.group.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    for (_, group) in group_members(env, &groups).await? {
        *reach.group_sizes.entry(group).or_insert(0) += 1;
    }
    let zones: Vec<String> = candidates.iter().map(|c| c.zone.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    if !zones.is_empty() {
        for instance in instances(env, vec![live_states(), filter("availability-zone", zones)], None).await? {
            *reach.zone_sizes.entry(instance.zone).or_insert(0) += 1;
        }
    }
    Ok(())
}

pub(super) async fn reach(env: &mut AwsEnvironment, fault: &Fault) -> Result<Reach, EnvError> {
    let mut reach = Reach { regions: vec![env.spec.region.clone()], ..Reach::default() };
    if needs_fis(fault) && env.spec.fis_role_arn.is_none() {
        return Err(EnvError::Unsupported(format!("fault `{}` ({}) can only be made by AWS FIS: set `fis_role_arn` on the environment", fault.name, fault.action.kind_name())));
    }
    match &fault.action {
        FaultAction::TerminateInstances { targets } | FaultAction::StopInstances { targets } | FaultAction::RebootInstances { targets } => {
            reach.acts_on_instances = true;
            reach.candidates = matching(env, targets).await?;
        }
        FaultAction::AzOutage { zone, mode, tags, groups } => {
            let zone = env.zone_name(zone)?;
            reach.zones = vec![zone.clone()];
            reach.acts_on_instances = true;
            reach.indivisible = *mode == AzOutageMode::Network;
            let scope = match mode {
                // A network ACL cuts the zone's subnets whole: everything in them is hit.
                AzOutageMode::Network => Targets { zones: vec![zone], ..Targets::default() },
                AzOutageMode::Power => Targets { zones: vec![zone], tags: tags.clone(), groups: groups.clone(), ..Targets::default() },
            };
            reach.candidates = matching(env, &scope).await?;
        }
        FaultAction::DnsFailover { hosted_zone, record, fail } => {
            let (health_check, _) = failover_health_check(env, hosted_zone, record, *fail).await?;
            reach.other_resources =
                vec![format!("Route 53 health check {health_check} ({} side of {record})", if *fail == FailoverSide::Primary { "primary" } else { "secondary" })];
        }
        FaultAction::RegionOutage { region, subnets } => {
            // Refused here, before any read, when FIS cannot make it (the same Region, the duration).
            let mechanism = super::fis::region_isolation(fault, &env.spec.region)?;
            // Both Regions are touched: the one whose subnets are cut, and the one cut off.
            reach.regions.push(region.clone());
            reach.acts_on_instances = true;
            let selector = subnets.clone().unwrap_or_default();
            let all = region_subnets(env, selector.vpc.as_deref()).await?;
            for subnet in &all {
                *reach.zone_sizes.entry(subnet.zone.clone()).or_insert(0) += 1;
            }
            // FIS is handed the chosen subnets' ARNs: the guards can spare any of them.
            reach.candidates = all.into_iter().filter(|s| selector.tags.iter().all(|(k, v)| s.tags.get(k) == Some(v))).collect();
            reach.other_resources = vec![mechanism];
            return Ok(reach);
        }
        FaultAction::GrayFailure { zone, .. } => {
            // Refused here, before any read, when FIS cannot make it (a region, latency with loss, the duration).
            let document = super::fis::gray_failure_document(fault)?;
            let zone = env.zone_name(zone.as_deref().unwrap_or_default())?;
            // A cross-zone slowdown that names no zones impairs the traffic toward every other zone of the Region.
            let other_zones: Vec<String> = env.zones.keys().filter(|name| **name != zone).cloned().collect();
            let document = document.toward(&other_zones)?;
            reach.zones = vec![zone.clone()];
            reach.acts_on_instances = true;
            // FIS is handed the chosen instances' ARNs: the guards can spare any of them.
            reach.candidates = matching(env, &Targets { zones: vec![zone.clone()], ..Targets::default() }).await?;
            reach.other_resources = vec![format!("FIS aws:ssm:send-command of {document} on the chosen instances in {zone}")];
        }
        FaultAction::AsgCapacityError { zones, .. } => {
            reach.zones = zones.iter().map(|z| env.zone_name(z)).collect::<Result<_, _>>()?;
        }
        FaultAction::Command { inject, .. } => {
            reach.regions.clear();
            reach.other_resources = vec![format!("shell on this machine: `{inject}`")];
        }
        FaultAction::ZonalShift { resource, away_from, .. } => {
            env.calls.reads += 1;
            let zone_id = env.zone_id(away_from)?;
            return super::arc::reach(&env.clients, &env.spec.region, resource, &zone_id).await;
        }
        FaultAction::PracticeRun { resource, away_from } => {
            // The managed resource, and its blocking alarms when it has some.
            env.calls.reads += 2;
            let zone_id = env.zone_id(away_from)?;
            return super::practice_run::reach(&env.clients, &env.spec.region, resource, &zone_id).await;
        }
        FaultAction::RegionSwitch { plan, target_region, action, execution, mode } => {
            env.calls.reads += 2;
            let describe = format!("{} of {target_region}, {}, mode {}", action.as_str(), execution.as_str(), mode.as_str());
            return super::region_switch::reach(&env.clients, plan, target_region, &describe).await;
        }
        FaultAction::DbFailover { cluster, instance, target } => {
            env.calls.reads += 1;
            // The database is the one candidate, in no group: the instance population is not its measure.
            let mut reach = super::rds::reach(&env.clients, &env.spec.region, cluster.as_deref(), instance.as_deref(), target.as_deref()).await?;
            // The plan says which mechanism makes it.
            reach.other_resources.push(if env.uses_fis(fault) {
                let back = if fault.duration.is_some() { "; gameday fails back directly at the end (FIS has no fail-back action)" } else { "" };
                format!("made by {}{back}", super::fis::database_mechanism(cluster.as_deref(), instance.as_deref()))
            } else {
                let call = if cluster.is_some() { "rds:FailoverDBCluster" } else { "rds:RebootDBInstance with ForceFailover" };
                format!("made directly: {call}")
            });
            return Ok(reach);
        }
    }
    let candidates = reach.candidates.clone();
    population(env, &candidates, &mut reach).await?;
    Ok(reach)
}

/// The health check behind one side of a failover record.
async fn failover_health_check(env: &mut AwsEnvironment, hosted_zone: &str, record: &str, side: FailoverSide) -> Result<(String, String), EnvError> {
    let zone_name = format!("{}.", hosted_zone.trim_end_matches('.'));
    let zones = env.clients.route53.list_hosted_zones_by_name().dns_name(&zone_name).send().await.map_err(|e| sdk_error("route53:ListHostedZonesByName", e))?;
    env.calls.reads += 1;
    let zone_id = zones
        .hosted_zones()
        .iter()
        .find(|z| z.name() == zone_name)
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .ok_or_else(|| EnvError::NotFound { resource: format!("hosted zone `{hosted_zone}`"), hint: None })?;
    let record_name = format!("{}.", record.trim_end_matches('.'));
    let wanted = if side == FailoverSide::Primary { "PRIMARY" } else { "SECONDARY" };
    // Record sets are listed in name order from the record: one page holds both failover sides.
    let page = env
        .clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .start_record_name(&record_name)
        .max_items(20)
        .send()
        .await
        .map_err(|e| sdk_error("route53:ListResourceRecordSets", e))?;
    env.calls.pages += 1;
    for set in page.resource_record_sets() {
        if set.name() == record_name && set.failover().is_some_and(|f| f.as_str() == wanted) {
            return set.health_check_id().map(|id| (id.to_string(), zone_id.clone())).ok_or_else(|| EnvError::NotFound {
                resource: format!("health check on the {wanted} record of {record}"),
                hint: Some("failover needs a health check on the record".into()),
            });
        }
    }
    Err(EnvError::NotFound { resource: format!("{wanted} failover record `{record}` in `{hosted_zone}`"), hint: None })
}

pub(super) async fn zone_subnets_public(env: &mut AwsEnvironment, zone: &str) -> Result<Vec<SubnetAcl>, EnvError> {
    zone_subnets(env, zone).await
}

pub(super) async fn prepare(env: &mut AwsEnvironment, fault: &Fault, chosen: &[Candidate], reach: &Reach) -> Result<Effect, EnvError> {
    if env.uses_fis(fault) {
        let resolved = env.fis_resolved(fault, chosen, reach).await?;
        let token = super::run_token(&fault.name);
        let template = super::fis::fault_template(&env.scenario, fault, &resolved, &env.fis_context()?, &token)?;
        // A database failover with a `duration` is failed back at its end:
        // the writer to fail back to is read now, before FIS fails it over.
        let fail_back = match &fault.action {
            FaultAction::DbFailover { cluster, instance, target } if fault.duration.is_some() => {
                env.calls.reads += 1;
                Some(Box::new(super::rds::prepare(&env.clients, cluster.as_deref(), instance.as_deref(), target.as_deref(), true).await?))
            }
            _ => None,
        };
        return Ok(Effect::FisExperiment { fault: fault.name.clone(), token, template, fail_back });
    }
    let ids: Vec<String> = chosen.iter().map(|c| c.id.clone()).collect();
    Ok(match &fault.action {
        FaultAction::TerminateInstances { .. } => Effect::TerminateInstances { ids },
        FaultAction::StopInstances { .. } => Effect::StopInstances { ids },
        FaultAction::RebootInstances { .. } => Effect::RebootInstances { ids },
        FaultAction::AzOutage { mode: AzOutageMode::Power, groups, .. } => Effect::ZonePower { zone: reach.zones[0].clone(), ids, groups: groups.clone() },
        FaultAction::AzOutage { mode: AzOutageMode::Network, .. } => {
            let zone = reach.zones[0].clone();
            let subnets = zone_subnets(env, &zone).await?;
            Effect::ZoneNetwork { zone, ids, subnets }
        }
        FaultAction::DnsFailover { hosted_zone, record, fail } => {
            let (health_check, _) = failover_health_check(env, hosted_zone, record, *fail).await?;
            Effect::InvertHealthCheck { health_check, record: record.clone() }
        }
        FaultAction::Command { inject, revert } => Effect::command(inject, revert)?,
        FaultAction::ZonalShift { resource, away_from, .. } => Effect::ZonalShift {
            resource: resource.clone(),
            // ARC names zones by AZ ID only.
            away_from: env.zone_id(away_from)?,
            expires_in_minutes: fault.zonal_shift_expiry_minutes().unwrap_or(1),
            // ARC takes at most 128 characters; the token is what finds the shift again.
            comment: format!("gameday:token={}", super::run_token(&fault.name)).chars().take(128).collect(),
        },
        FaultAction::PracticeRun { resource, away_from } => Effect::PracticeRun {
            fault: fault.name.clone(),
            resource: resource.clone(),
            // ARC names zones by AZ ID only.
            away_from: env.zone_id(away_from)?,
            // ARC takes at most 128 characters; the token is what finds the practice run again.
            comment: format!("gameday:token={}", super::run_token(&fault.name)).chars().take(128).collect(),
        },
        FaultAction::RegionSwitch { .. } => {
            Effect::region_switch(fault, &super::run_token(&fault.name)).ok_or_else(|| EnvError::Unsupported(format!("fault `{}` is not a Region switch", fault.name)))?
        }
        FaultAction::DbFailover { cluster, instance, target } => {
            env.calls.reads += 1;
            super::rds::prepare(&env.clients, cluster.as_deref(), instance.as_deref(), target.as_deref(), fault.duration.is_some()).await?
        }
        FaultAction::AsgCapacityError { .. } | FaultAction::GrayFailure { .. } | FaultAction::RegionOutage { .. } => {
            return Err(EnvError::Unsupported(format!("`{}` runs through AWS FIS", fault.action.kind_name())));
        }
    })
}

/// Every subnet of the environment's Region (of one VPC when named), as
/// candidates: id, zone and tags. Paginated.
async fn region_subnets(env: &mut AwsEnvironment, vpc: Option<&str>) -> Result<Vec<Candidate>, EnvError> {
    let mut found = Vec::new();
    let filters: Vec<Filter> = vpc.map(|vpc| filter("vpc-id", [vpc.to_string()])).into_iter().collect();
    let mut pages = env.clients.ec2.describe_subnets().set_filters(Some(filters).filter(|f| !f.is_empty())).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("ec2:DescribeSubnets", e))?;
        env.calls.pages += 1;
        for subnet in page.subnets() {
            found.push(Candidate {
                id: subnet.subnet_id().unwrap_or_default().to_string(),
                region: env.spec.region.clone(),
                zone: subnet.availability_zone().unwrap_or_default().to_string(),
                group: None,
                tags: subnet.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect(),
            });
        }
    }
    if let (Some(vpc), true) = (vpc, found.is_empty()) {
        return Err(EnvError::NotFound { resource: format!("subnets in VPC `{vpc}`"), hint: Some(format!("region {}", env.spec.region)) });
    }
    Ok(found)
}

/// The zone's subnets with the network ACL each is associated with now.
async fn zone_subnets(env: &mut AwsEnvironment, zone: &str) -> Result<Vec<SubnetAcl>, EnvError> {
    let mut subnets = Vec::new();
    let mut pages = env.clients.ec2.describe_subnets().filters(filter("availability-zone", [zone.to_string()])).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("ec2:DescribeSubnets", e))?;
        env.calls.pages += 1;
        for subnet in page.subnets() {
            subnets.push(SubnetAcl {
                subnet_id: subnet.subnet_id().unwrap_or_default().to_string(),
                vpc_id: subnet.vpc_id().unwrap_or_default().to_string(),
                original_acl_id: String::new(),
            });
        }
    }
    if subnets.is_empty() {
        return Err(EnvError::NotFound { resource: format!("subnets in {zone}"), hint: None });
    }
    let acls = current_acls(env, &subnets).await?;
    for subnet in &mut subnets {
        // Every subnet is associated with exactly one ACL; not finding it means we could not restore it.
        subnet.original_acl_id =
            acls.get(&subnet.subnet_id).map(|(acl, _)| acl.clone()).ok_or_else(|| EnvError::Failed(format!("could not read the network ACL of {}", subnet.subnet_id)))?;
    }
    Ok(subnets)
}

/// Subnet → (network ACL, association id), as they are now. Reads every
/// ACL of the subnets' VPCs and matches associations here: one filter per
/// VPC is cheap, and emulators mishandle a multi-valued subnet filter.
async fn current_acls(env: &mut AwsEnvironment, subnets: &[SubnetAcl]) -> Result<BTreeMap<String, (String, String)>, EnvError> {
    let mut found = BTreeMap::new();
    let vpcs: BTreeSet<String> = subnets.iter().map(|s| s.vpc_id.clone()).collect();
    if vpcs.is_empty() {
        return Ok(found);
    }
    let mut pages = env.clients.ec2.describe_network_acls().filters(filter("vpc-id", vpcs)).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("ec2:DescribeNetworkAcls", e))?;
        env.calls.pages += 1;
        for acl in page.network_acls() {
            for association in acl.associations() {
                if let (Some(subnet), Some(id)) = (association.subnet_id(), association.network_acl_association_id())
                    && subnets.iter().any(|s| s.subnet_id == subnet)
                {
                    found.insert(subnet.to_string(), (acl.network_acl_id().unwrap_or_default().to_string(), id.to_string()));
                }
            }
        }
    }
    Ok(found)
}

fn created_tag(zone: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(ResourceType::NetworkAcl)
        .tags(Tag::builder().key(CREATED_BY_TAG).value("gameday").build())
        .tags(Tag::builder().key("gameday:zone").value(zone).build())
        .tags(Tag::builder().key("Name").value(format!("gameday deny-all {zone}")).build())
        .build()
}

/// Associates every subnet of the zone with a new deny-all network ACL (a
/// new ACL denies everything until rules are added). The ACL is tagged so a
/// revert, or `gameday recover`, finds it even without its id.
pub(super) async fn isolate_zone(env: &mut AwsEnvironment, effect: &Effect) -> Result<(), EnvError> {
    let Effect::ZoneNetwork { zone, subnets, .. } = effect else { return Ok(()) };
    let mut deny_all: BTreeMap<String, String> = BTreeMap::new();
    for vpc in subnets.iter().map(|s| s.vpc_id.clone()).collect::<BTreeSet<_>>() {
        let out = env.clients.ec2.create_network_acl().vpc_id(&vpc).tag_specifications(created_tag(zone)).send().await.map_err(|e| sdk_error("ec2:CreateNetworkAcl", e))?;
        env.calls.mutating += 1;
        let id = out.network_acl().and_then(|a| a.network_acl_id()).unwrap_or_default().to_string();
        deny_all.insert(vpc, id);
    }
    let current = current_acls(env, subnets).await?;
    for subnet in subnets {
        let (_, association) = current.get(&subnet.subnet_id).ok_or_else(|| EnvError::Failed(format!("{} has no network ACL association to replace", subnet.subnet_id)))?;
        env.clients
            .ec2
            .replace_network_acl_association()
            .association_id(association)
            .network_acl_id(&deny_all[&subnet.vpc_id])
            .send()
            .await
            .map_err(|e| sdk_error("ec2:ReplaceNetworkAclAssociation", e))?;
        env.calls.mutating += 1;
    }
    Ok(())
}

/// Puts each subnet back on its original ACL and deletes gameday's deny-all
/// ACLs for the zone. Safe to run twice.
pub(super) async fn restore_zone(env: &mut AwsEnvironment, effect: &Effect) -> Result<RevertOutcome, EnvError> {
    let Effect::ZoneNetwork { zone, subnets, .. } = effect else { return Ok(RevertOutcome::default()) };
    let mut outcome = RevertOutcome::default();
    let current = current_acls(env, subnets).await?;
    for subnet in subnets {
        match current.get(&subnet.subnet_id) {
            Some((acl, _)) if *acl == subnet.original_acl_id => outcome.skipped.push((subnet.subnet_id.clone(), "already on its original network ACL".into())),
            Some((_, association)) => {
                env.clients
                    .ec2
                    .replace_network_acl_association()
                    .association_id(association)
                    .network_acl_id(&subnet.original_acl_id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("ec2:ReplaceNetworkAclAssociation", e))?;
                env.calls.mutating += 1;
                outcome.restored.push(format!("{} → {}", subnet.subnet_id, subnet.original_acl_id));
            }
            None => outcome.skipped.push((subnet.subnet_id.clone(), "no longer exists".into())),
        }
    }
    let created = env
        .clients
        .ec2
        .describe_network_acls()
        .filters(filter(&format!("tag:{CREATED_BY_TAG}"), ["gameday".to_string()]))
        .filters(filter("tag:gameday:zone", [zone.clone()]))
        .send()
        .await
        .map_err(|e| sdk_error("ec2:DescribeNetworkAcls", e))?;
    env.calls.reads += 1;
    for acl in created.network_acls() {
        if acl.associations().is_empty()
            && let Some(id) = acl.network_acl_id()
        {
            env.clients.ec2.delete_network_acl().network_acl_id(id).send().await.map_err(|e| sdk_error("ec2:DeleteNetworkAcl", e))?;
            env.calls.mutating += 1;
            outcome.restored.push(format!("deleted {id}"));
        }
    }
    Ok(outcome)
}
