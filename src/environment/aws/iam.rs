//! The least-privilege IAM policy a scenario needs: `gameday iam-policy`.
//! It covers every call `plan`, `run`, `recover` and a halted run make for
//! the scenario, and `export fis --env`'s reads; the IAM coverage tests
//! (tests/cli/aws_side_tools.rs, tests/cli/aws_mocks.rs) record the calls
//! actually made and check each against this document.
//! Pure: the scenario in, a policy document out. Mutating EC2 calls are
//! conditioned on the scenario's `require_tags`, so the policy itself
//! enforces the blast radius even if gameday had a bug.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::scenario::{AzOutageMode, FaultAction, ProbeCheck, Scenario, StopCondition};

/// Whether faults go through FIS (`via: fis`) or are made directly.
pub fn policy(scenario: &Scenario, via_fis: bool) -> Value {
    let mut reads: BTreeSet<&str> = ["sts:GetCallerIdentity", "ec2:DescribeAvailabilityZones", "ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups"].into();
    let mut instance_writes: BTreeSet<&str> = BTreeSet::new();
    let mut other_writes: BTreeSet<&str> = BTreeSet::new();
    let mut database_writes: BTreeSet<&str> = BTreeSet::new();
    let mut database_resources: BTreeSet<String> = BTreeSet::new();
    let mut fis = false;
    let mut zonal_shift = false;
    let mut practice_run = false;
    let mut region_switch_plans: BTreeSet<String> = BTreeSet::new();
    for fault in &scenario.faults {
        let direct = !via_fis || matches!(fault.action, FaultAction::DnsFailover { .. } | FaultAction::Command { .. });
        match (&fault.action, direct) {
            (FaultAction::DnsFailover { .. }, _) => {
                reads.extend(["route53:ListHostedZonesByName", "route53:ListResourceRecordSets", "route53:GetHealthCheck"]);
                other_writes.insert("route53:UpdateHealthCheck");
            }
            (FaultAction::Command { .. }, _) => {}
            (FaultAction::ZonalShift { .. }, _) => {
                reads.insert("arc-zonal-shift:GetManagedResource");
                zonal_shift = true;
            }
            // Always made directly: FIS has no practice-run action. The
            // blocking alarms are read before the call; ended practice runs
            // are listed to read ARC's outcome.
            (FaultAction::PracticeRun { .. }, _) => {
                reads.extend(["arc-zonal-shift:GetManagedResource", "arc-zonal-shift:ListZonalShifts", "cloudwatch:DescribeAlarms"]);
                practice_run = true;
            }
            // Always made directly: FIS has no Region switch action.
            (FaultAction::RegionSwitch { plan, .. }, _) => {
                region_switch_plans.insert(plan.clone());
            }
            // gameday reads the database (its writer, to fail back to). It
            // fails over itself when made directly (always, with a `target`:
            // FIS cannot name the reader), and fails back itself with a
            // `duration` even through FIS, which has no fail-back action.
            (FaultAction::DbFailover { cluster, instance, target }, direct) => {
                reads.extend(["rds:DescribeDBClusters", "rds:DescribeDBInstances"]);
                let fis_makes_it = !direct && target.is_none();
                fis |= fis_makes_it;
                if fis_makes_it && fault.duration.is_none() {
                    continue;
                }
                if let Some(cluster) = cluster {
                    database_writes.insert("rds:FailoverDBCluster");
                    database_resources.insert(format!("arn:aws:rds:*:*:cluster:{cluster}"));
                }
                if let Some(instance) = instance {
                    database_writes.insert("rds:RebootDBInstance");
                    database_resources.insert(format!("arn:aws:rds:*:*:db:{instance}"));
                }
            }
            (FaultAction::StopInstances { .. } | FaultAction::AzOutage { mode: AzOutageMode::Power, .. }, true) => {
                instance_writes.extend(["ec2:StopInstances", "ec2:StartInstances"]);
            }
            (FaultAction::TerminateInstances { .. }, true) => {
                instance_writes.insert("ec2:TerminateInstances");
            }
            (FaultAction::RebootInstances { .. }, true) => {
                instance_writes.insert("ec2:RebootInstances");
            }
            (FaultAction::AzOutage { mode: AzOutageMode::Network, .. }, true) => {
                reads.extend(["ec2:DescribeSubnets", "ec2:DescribeNetworkAcls"]);
                other_writes.extend(["ec2:CreateNetworkAcl", "ec2:CreateTags", "ec2:ReplaceNetworkAclAssociation", "ec2:DeleteNetworkAcl"]);
            }
            // Always through FIS: gameday reads the Region's subnets to hand FIS the ones the guards chose.
            (FaultAction::RegionOutage { .. }, _) => {
                reads.insert("ec2:DescribeSubnets");
                fis = true;
            }
            (FaultAction::AzOutage { mode: AzOutageMode::Network, .. }, false) => {
                // gameday reads the zone's subnets (and their ACLs) to hand FIS their ARNs.
                reads.extend(["ec2:DescribeSubnets", "ec2:DescribeNetworkAcls"]);
                fis = true;
            }
            _ => fis = true,
        }
    }
    for probe in &scenario.steady_state {
        match &probe.check {
            ProbeCheck::TargetHealth { .. } => reads.extend(["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"]),
            ProbeCheck::Alarm { .. } => {
                reads.insert("cloudwatch:DescribeAlarms");
            }
            ProbeCheck::Route53HealthCheck { .. } => {
                reads.insert("route53:GetHealthCheckStatus");
            }
            ProbeCheck::Metric { .. } => {
                reads.insert("cloudwatch:GetMetricData");
            }
            ProbeCheck::DbWriter { .. } => reads.extend(["rds:DescribeDBClusters", "rds:DescribeDBInstances"]),
            _ => {}
        }
    }
    // Alarms imported from ARC practice-run configurations: the configuration is read, then its alarms.
    if !scenario.guards.import_alarms.is_empty() {
        reads.insert("arc-zonal-shift:GetManagedResource");
    }
    let alarms = scenario.guards.stop_conditions.iter().any(|c| matches!(c, StopCondition::Alarm { .. }))
        || scenario.expected_recoveries.iter().any(|e| !e.detected_by.is_empty())
        || !scenario.guards.blocking_alarms.is_empty()
        || !scenario.guards.import_alarms.is_empty();
    if alarms {
        reads.insert("cloudwatch:DescribeAlarms");
    }

    let mut statements = vec![json!({ "Sid": "GamedayRead", "Effect": "Allow", "Action": reads.into_iter().collect::<Vec<_>>(), "Resource": "*" })];
    if !instance_writes.is_empty() {
        let mut statement = json!({
            "Sid": "GamedayInstanceFaults",
            "Effect": "Allow",
            "Action": instance_writes.into_iter().collect::<Vec<_>>(),
            "Resource": "arn:aws:ec2:*:*:instance/*",
        });
        if !scenario.guards.require_tags.is_empty() {
            let tags: serde_json::Map<String, Value> = scenario.guards.require_tags.iter().map(|(k, v)| (format!("aws:ResourceTag/{k}"), json!(v))).collect();
            statement["Condition"] = json!({ "StringEquals": tags });
        }
        statements.push(statement);
    }
    if !database_writes.is_empty() {
        // Only the scenario's own databases, and only while they carry the required tags.
        let mut statement = json!({
            "Sid": "GamedayDatabaseFaults",
            "Effect": "Allow",
            "Action": database_writes.into_iter().collect::<Vec<_>>(),
            "Resource": database_resources.into_iter().collect::<Vec<_>>(),
        });
        if !scenario.guards.require_tags.is_empty() {
            let tags: serde_json::Map<String, Value> = scenario.guards.require_tags.iter().map(|(k, v)| (format!("aws:ResourceTag/{k}"), json!(v))).collect();
            statement["Condition"] = json!({ "StringEquals": tags });
        }
        statements.push(statement);
    }
    if zonal_shift {
        // The planned mitigation: starting a shift, and cancelling it (by the id ARC gave it) at the end.
        statements
            .push(json!({ "Sid": "GamedayZonalShift", "Effect": "Allow", "Action": ["arc-zonal-shift:CancelZonalShift", "arc-zonal-shift:StartZonalShift"], "Resource": "*" }));
    }
    if practice_run {
        // Starting a practice run, and cancelling it (by the id ARC gave it) while still active.
        statements
            .push(json!({ "Sid": "GamedayPracticeRun", "Effect": "Allow", "Action": ["arc-zonal-shift:CancelPracticeRun", "arc-zonal-shift:StartPracticeRun"], "Resource": "*" }));
    }
    if !region_switch_plans.is_empty() {
        // The DR step: read the plan and its executions, start one, follow
        // it, and cancel it when unfinished. Never ApprovePlanExecutionStep:
        // a person approves, with their own credentials.
        statements.push(json!({
            "Sid": "GamedayRegionSwitch",
            "Effect": "Allow",
            "Action": [
                "arc-region-switch:CancelPlanExecution",
                "arc-region-switch:GetPlan",
                "arc-region-switch:GetPlanExecution",
                "arc-region-switch:ListPlanExecutionEvents",
                "arc-region-switch:ListPlanExecutions",
                "arc-region-switch:StartPlanExecution"
            ],
            "Resource": region_switch_plans.into_iter().collect::<Vec<_>>(),
        }));
    }
    if !other_writes.is_empty() {
        statements.push(json!({ "Sid": "GamedayNetworkAndDnsFaults", "Effect": "Allow", "Action": other_writes.into_iter().collect::<Vec<_>>(), "Resource": "*" }));
    }
    if fis {
        statements.push(json!({
            "Sid": "GamedayFis",
            "Effect": "Allow",
            // `recover` finds a crashed run's experiment by its template's tag
            // (ListExperimentTemplates, then ListExperiments); `plan` previews
            // targets with a dry run (StartExperiment, ListExperimentResolvedTargets).
            "Action": [
                "fis:CreateExperimentTemplate",
                "fis:DeleteExperimentTemplate",
                "fis:GetExperimentTemplate",
                "fis:ListExperimentTemplates",
                "fis:StartExperiment",
                "fis:GetExperiment",
                "fis:ListExperiments",
                "fis:StopExperiment",
                "fis:ListExperimentResolvedTargets",
                "fis:GetSafetyLever",
                "fis:TagResource"
            ],
            "Resource": "*",
        }));
        statements.push(json!({
            "Sid": "GamedayPassFisRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
            "Condition": { "StringEquals": { "iam:PassedToService": "fis.amazonaws.com" } },
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The policy of the role FIS assumes (`fis_role_arn`) for the faults FIS
/// makes in this scenario: what FIS itself calls for each action, as FIS's
/// action reference lists it. Instance writes and `ssm:SendCommand` on
/// instances are conditioned on `require_tags`, as in gameday's own policy;
/// `ssm:SendCommand` runs only the AWS-owned documents gameday names.
pub fn fis_role_policy(scenario: &Scenario, via_fis: bool) -> Value {
    let mut reads: BTreeSet<&str> = BTreeSet::new();
    let mut instance_writes: BTreeSet<&str> = BTreeSet::new();
    let mut network = false;
    let mut launch_errors = false;
    let mut documents: BTreeSet<String> = BTreeSet::new();
    let mut region_isolation = false;
    // FIS's database actions, each with the databases it may act on.
    let mut database_actions: BTreeSet<(&str, String)> = BTreeSet::new();
    for fault in scenario.faults.iter().filter(|f| super::fis::fis_can_make(&f.action) && (via_fis || super::needs_fis(f))) {
        match &fault.action {
            FaultAction::StopInstances { .. } => {
                instance_writes.extend(["ec2:StopInstances", "ec2:StartInstances"]);
                reads.insert("ec2:DescribeInstances");
            }
            FaultAction::TerminateInstances { .. } => {
                instance_writes.insert("ec2:TerminateInstances");
                reads.insert("ec2:DescribeInstances");
            }
            FaultAction::RebootInstances { .. } => {
                instance_writes.insert("ec2:RebootInstances");
                reads.insert("ec2:DescribeInstances");
            }
            FaultAction::AzOutage { mode: AzOutageMode::Power, groups, tags, .. } => {
                instance_writes.extend(["ec2:StopInstances", "ec2:StartInstances"]);
                reads.insert("ec2:DescribeInstances");
                // Launches in the zone fail too for the groups it names (or selects by tag).
                launch_errors |= !groups.is_empty() || !tags.is_empty();
            }
            FaultAction::AzOutage { mode: AzOutageMode::Network, .. } => network = true,
            FaultAction::AsgCapacityError { .. } => launch_errors = true,
            FaultAction::RegionOutage { .. } => region_isolation = true,
            FaultAction::DbFailover { cluster, instance, .. } => {
                let arn = super::fis::database_arn(cluster.as_deref(), instance.as_deref(), "*", "*").unwrap_or_default();
                database_actions.insert((if cluster.is_some() { super::fis::DB_CLUSTER_FAILOVER_ACTION } else { super::fis::DB_INSTANCE_REBOOT_ACTION }, arn));
            }
            FaultAction::GrayFailure { .. } => {
                if let Ok(document) = super::fis::gray_failure_document(fault) {
                    // The -Sources documents resolve zones to addresses (FIS's SSM document reference).
                    if document.by_sources() {
                        reads.extend(["ec2:DescribeInstances", "ec2:DescribeSubnets"]);
                    }
                    documents.insert(document.arn("*"));
                }
            }
            _ => {}
        }
    }
    let tag_condition = |prefix: &str| -> Option<Value> {
        (!scenario.guards.require_tags.is_empty()).then(|| {
            let tags: serde_json::Map<String, Value> = scenario.guards.require_tags.iter().map(|(k, v)| (format!("{prefix}{k}"), json!(v))).collect();
            json!({ "StringEquals": tags })
        })
    };
    let mut statements = Vec::new();
    if launch_errors {
        reads.insert("autoscaling:DescribeAutoScalingGroups");
        statements.push(json!({
            "Sid": "FisLaunchErrors",
            "Effect": "Allow",
            "Action": "ec2:InjectApiError",
            "Resource": "*",
            "Condition": { "StringEquals": { "ec2:FisActionId": "aws:ec2:asg-insufficient-instance-capacity-error" } },
        }));
    }
    if network {
        reads.extend(["ec2:DescribeManagedPrefixLists", "ec2:DescribeNetworkAcls", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:GetManagedPrefixListEntries"]);
        statements.push(json!({
            "Sid": "FisNetworkDisrupt",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkAcl", "ec2:CreateNetworkAclEntry", "ec2:CreateTags", "ec2:DeleteNetworkAcl", "ec2:ReplaceNetworkAclAssociation"],
            "Resource": "*",
        }));
    }
    if region_isolation {
        // aws:network:route-table-disrupt-cross-region-connectivity, as FIS's
        // action reference lists its permissions: it gives the subnets route
        // tables (and prefix lists) of its own, tagged `managedByFIS=true`,
        // without the routes to the Region cut off, and puts the original
        // associations back. What it creates it may change or delete only
        // while it carries that tag. No transit gateway is touched: that is
        // another action, which gameday does not use.
        reads.extend([
            "ec2:DescribeManagedPrefixLists",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcPeeringConnections",
            "ec2:DescribeVpcs",
            "ec2:GetManagedPrefixListEntries",
        ]);
        statements.push(json!({
            "Sid": "FisRegionIsolationRouteTables",
            "Effect": "Allow",
            "Action": ["ec2:AssociateRouteTable", "ec2:CreateRoute", "ec2:DisassociateRouteTable", "ec2:ReplaceRouteTableAssociation"],
            "Resource": ["arn:aws:ec2:*:*:route-table/*", "arn:aws:ec2:*:*:subnet/*"],
        }));
        statements.push(json!({
            "Sid": "FisRegionIsolationCreate",
            "Effect": "Allow",
            "Action": ["ec2:CreateManagedPrefixList", "ec2:CreateNetworkInterface", "ec2:CreateRouteTable", "ec2:CreateTags"],
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:RequestTag/managedByFIS": "true" } },
        }));
        // CreateRouteTable also names the VPC, which carries no request tag.
        statements.push(json!({ "Sid": "FisRegionIsolationRouteTableInVpc", "Effect": "Allow", "Action": "ec2:CreateRouteTable", "Resource": "arn:aws:ec2:*:*:vpc/*" }));
        statements.push(json!({
            "Sid": "FisRegionIsolationManaged",
            "Effect": "Allow",
            "Action": ["ec2:DeleteManagedPrefixList", "ec2:DeleteNetworkInterface", "ec2:DeleteRouteTable", "ec2:ModifyManagedPrefixList"],
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:ResourceTag/managedByFIS": "true" } },
        }));
        statements.push(json!({ "Sid": "FisRegionIsolationEndpoints", "Effect": "Allow", "Action": "ec2:ModifyVpcEndpoint", "Resource": "*" }));
    }
    if !database_actions.is_empty() {
        // As FIS's action reference lists them: the call, the read of the
        // database, and tag:GetResources (FIS resolves targets through it).
        let (mut calls, mut arns): (BTreeSet<&str>, BTreeSet<String>) = (BTreeSet::new(), BTreeSet::new());
        for (action, arn) in database_actions {
            if action == super::fis::DB_CLUSTER_FAILOVER_ACTION {
                calls.insert("rds:FailoverDBCluster");
                reads.insert("rds:DescribeDBClusters");
            } else {
                calls.insert("rds:RebootDBInstance");
                reads.insert("rds:DescribeDBInstances");
            }
            arns.insert(arn);
        }
        reads.insert("tag:GetResources");
        let mut statement = json!({
            "Sid": "FisDatabaseFailover",
            "Effect": "Allow",
            "Action": calls.into_iter().collect::<Vec<_>>(),
            "Resource": arns.into_iter().collect::<Vec<_>>(),
        });
        if let Some(condition) = tag_condition("aws:ResourceTag/") {
            statement["Condition"] = condition;
        }
        statements.push(statement);
    }
    if !instance_writes.is_empty() {
        let mut statement =
            json!({ "Sid": "FisInstanceActions", "Effect": "Allow", "Action": instance_writes.into_iter().collect::<Vec<_>>(), "Resource": "arn:aws:ec2:*:*:instance/*" });
        if let Some(condition) = tag_condition("aws:ResourceTag/") {
            statement["Condition"] = condition;
        }
        statements.push(statement);
    }
    if !documents.is_empty() {
        // SendCommand names a document and instances: each is a resource of its own, and only the instances carry tags.
        statements.push(json!({ "Sid": "FisSendNetworkDocuments", "Effect": "Allow", "Action": "ssm:SendCommand", "Resource": documents.into_iter().collect::<Vec<_>>() }));
        let mut on_instances = json!({ "Sid": "FisSendCommandToInstances", "Effect": "Allow", "Action": "ssm:SendCommand", "Resource": "arn:aws:ec2:*:*:instance/*" });
        if let Some(condition) = tag_condition("ssm:resourceTag/") {
            on_instances["Condition"] = condition;
        }
        statements.push(on_instances);
        statements.push(json!({ "Sid": "FisFollowCommands", "Effect": "Allow", "Action": ["ssm:CancelCommand", "ssm:ListCommands"], "Resource": "*" }));
    }
    if !reads.is_empty() {
        statements.insert(0, json!({ "Sid": "FisRead", "Effect": "Allow", "Action": reads.into_iter().collect::<Vec<_>>(), "Resource": "*" }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_writes_are_conditioned_on_the_required_tags() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/az-loss.yaml")).unwrap();
        let scenario = crate::scenario::parse_str(&text, None).unwrap();
        let document = policy(&scenario, false);
        let statements = document["Statement"].as_array().unwrap();
        let faults = statements.iter().find(|s| s["Sid"] == "GamedayInstanceFaults").unwrap();
        assert_eq!(faults["Action"], json!(["ec2:StartInstances", "ec2:StopInstances"]));
        assert_eq!(faults["Condition"]["StringEquals"]["aws:ResourceTag/gameday"], "allowed");
        assert!(!statements.iter().any(|s| s["Sid"] == "GamedayFis"));
        let via_fis = policy(&scenario, true);
        assert!(via_fis["Statement"].as_array().unwrap().iter().any(|s| s["Sid"] == "GamedayFis"));
    }

    #[test]
    fn a_zones_gray_failure_is_made_through_fis_even_when_the_scenario_says_direct() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/zone-slowdown.yaml")).unwrap();
        let scenario = crate::scenario::parse_str(&text, None).unwrap();
        let statements = policy(&scenario, false)["Statement"].as_array().unwrap().clone();
        let fis = statements.iter().find(|s| s["Sid"] == "GamedayFis").expect("FIS makes it, whatever `via` says");
        assert!(fis["Action"].as_array().unwrap().iter().any(|a| a == "fis:StopExperiment"));
        assert!(!statements.iter().any(|s| s["Sid"] == "GamedayInstanceFaults"), "gameday never touches the instances itself");
    }

    #[test]
    fn the_fis_role_may_run_only_the_network_document_and_only_on_the_allowed_instances() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/zone-slowdown.yaml")).unwrap();
        let scenario = crate::scenario::parse_str(&text, None).unwrap();
        let document = fis_role_policy(&scenario, false);
        let statement = |sid: &str| document["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("{sid}: {document}")).clone();
        assert_eq!(statement("FisSendNetworkDocuments")["Resource"], json!(["arn:aws:ssm:*::document/AWSFIS-Run-Network-Latency"]));
        let on_instances = statement("FisSendCommandToInstances");
        assert_eq!(on_instances["Resource"], "arn:aws:ec2:*:*:instance/*");
        assert_eq!(on_instances["Condition"]["StringEquals"]["ssm:resourceTag/gameday"], "allowed");
        assert_eq!(statement("FisFollowCommands")["Action"], json!(["ssm:CancelCommand", "ssm:ListCommands"]));
        assert_eq!(document["Statement"].as_array().unwrap().len(), 3, "nothing else: {document}");
    }

    #[test]
    fn the_fis_role_policy_follows_via_and_each_actions_permissions() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/az-loss.yaml")).unwrap();
        let scenario = crate::scenario::parse_str(&text, None).unwrap();
        assert!(fis_role_policy(&scenario, false)["Statement"].as_array().unwrap().is_empty(), "made directly: FIS calls nothing");
        let document = fis_role_policy(&scenario, true);
        let statements = document["Statement"].as_array().unwrap();
        let instances = statements.iter().find(|s| s["Sid"] == "FisInstanceActions").unwrap();
        assert_eq!(instances["Action"], json!(["ec2:StartInstances", "ec2:StopInstances"]));
        assert_eq!(instances["Condition"]["StringEquals"]["aws:ResourceTag/gameday"], "allowed");
        let launches = statements.iter().find(|s| s["Sid"] == "FisLaunchErrors").unwrap();
        assert_eq!(launches["Condition"]["StringEquals"]["ec2:FisActionId"], "aws:ec2:asg-insufficient-instance-capacity-error");
    }

    #[test]
    fn database_failovers_are_allowed_on_the_scenarios_databases_with_the_required_tags_only() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/aurora-failover.yaml")).unwrap();
        let scenario = crate::scenario::parse_str(&text, None).unwrap();
        let document = policy(&scenario, true);
        let statements = document["Statement"].as_array().unwrap();
        let databases = statements.iter().find(|s| s["Sid"] == "GamedayDatabaseFaults").unwrap();
        assert_eq!(databases["Action"], json!(["rds:FailoverDBCluster"]));
        assert_eq!(databases["Resource"], json!(["arn:aws:rds:*:*:cluster:orders-db"]));
        assert_eq!(databases["Condition"]["StringEquals"]["aws:ResourceTag/gameday"], "allowed");
        assert!(!statements.iter().any(|s| s["Sid"] == "GamedayFis"), "a failover to a named reader is made directly, even with --via fis");
    }

    #[test]
    fn through_fis_a_failover_is_fiss_and_the_fail_back_gamedays() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/aurora-failover.yaml")).unwrap().replace("    target: orders-db-2\n", "");
        let scenario = crate::scenario::parse_str(&text, None).unwrap();
        let statements = policy(&scenario, true)["Statement"].as_array().unwrap().clone();
        assert!(statements.iter().any(|s| s["Sid"] == "GamedayFis"));
        assert!(!statements.iter().any(|s| s["Sid"] == "GamedayDatabaseFaults"), "no duration: FIS fails over, nobody fails back");
        let held = crate::scenario::parse_str(&text.replace("    kind: db_failover\n", "    kind: db_failover\n    duration: 5m\n"), None).unwrap();
        let statements = policy(&held, true)["Statement"].as_array().unwrap().clone();
        let fail_back = statements.iter().find(|s| s["Sid"] == "GamedayDatabaseFaults").expect("gameday fails back itself");
        assert_eq!(fail_back["Action"], json!(["rds:FailoverDBCluster"]));
        let role = fis_role_policy(&scenario, true);
        let statement = role["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == "FisDatabaseFailover").unwrap().clone();
        assert_eq!(statement["Action"], json!(["rds:FailoverDBCluster"]));
        assert_eq!(statement["Resource"], json!(["arn:aws:rds:*:*:cluster:orders-db"]));
        assert_eq!(statement["Condition"]["StringEquals"]["aws:ResourceTag/gameday"], "allowed");
        let reads = role["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == "FisRead").unwrap().clone();
        assert_eq!(reads["Action"], json!(["rds:DescribeDBClusters", "tag:GetResources"]));
    }
}
