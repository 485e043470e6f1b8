//! `region_outage` as Region isolation, without AWS: the example scenario
//! (isolation as the fault, a Region switch as the mitigation) plans with
//! the FIS mechanism it maps to and runs deterministically on the
//! simulator; `export fis` emits the FIS action on the scenario's subnets;
//! `iam-policy --fis-role` lists what FIS calls for it. The AWS path
//! against moto is in `aws` (a_region_outage_is_an_fis_cross_region_…).

use std::path::PathBuf;

use crate::{gameday, repo, run_scenario};

fn example() -> PathBuf {
    repo().join("scenarios/region-isolation-dr.yaml")
}

fn scenario(guards: &str, fault: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: iso\nguards:\n  require_healthy_start: false\n{guards}\nsteady_state:\n  - {{ name: c, kind: asg_capacity, group: web-asg, min_in_service: 4 }}\nfaults:\n{fault}\nexpected_recoveries:\n  - {{ name: c, probes: [c], recovers_within: 10m }}\n"
    )
}

const FAULT: &str = "  - { name: cut, kind: region_outage, region: us-west-2, subnets: { tags: { tier: app }, vpc: vpc-0abc }, duration: 30m }";

#[test]
fn the_example_plans_the_fis_mechanism_and_runs_the_same_on_the_simulator_for_a_seed() {
    let output = gameday(&["plan", example().to_str().unwrap(), "--seed", "1"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(
        output.stdout.contains("on AWS: FIS aws:network:route-table-disrupt-cross-region-connectivity cuts the environment Region's subnets off from us-east-1 (docs/aws.md)"),
        "{}",
        output.stdout
    );
    let runs = tempfile::tempdir().unwrap();
    let run = run_scenario(&example(), &["--seed", "1"], &runs.path().join("a"));
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    // The isolation is the fault (us-east-1 lost on the simulator), the switch the mitigation.
    let faults = run.result["faults"].as_array().unwrap();
    assert_eq!(faults.iter().map(|f| f["name"].as_str().unwrap()).collect::<Vec<_>>(), ["cut-off-us-east-1", "switch-to-us-west-2"]);
    assert_eq!(run.events("fault_intent")[0]["effect"], serde_json::json!({ "effect": "region_down", "region": "us-east-1" }));
    let switch = &run.result["region_switches"][0];
    assert_eq!(switch["state"], "completed");
    assert!(switch["gameday_recovery_ms"].as_u64().unwrap() > 0, "the API was down when the switch started: {switch}");
    let again = run_scenario(&example(), &["--seed", "1"], &runs.path().join("b"));
    assert_eq!(again.result, run.result, "deterministic");
}

fn exported_mode(output: &crate::Output) -> String {
    assert_eq!(output.code, 0, "{}", output.stderr);
    let template: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    template["targets"]["cut-subnets"]["selectionMode"].as_str().unwrap().to_string()
}

#[test]
fn export_fis_emits_the_cross_region_isolation_of_the_selected_subnets() {
    let output = crate::gameday_on_file(&["export", "fis"], &scenario("  require_tags: { gameday: allowed }", FAULT));
    assert_eq!(output.code, 0, "{}", output.stderr);
    let template: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(
        template["actions"]["cut"],
        serde_json::json!({
            "actionId": "aws:network:route-table-disrupt-cross-region-connectivity",
            "parameters": { "duration": "PT30M", "region": "us-west-2" },
            "targets": { "Subnets": "cut-subnets" },
        })
    );
    assert_eq!(
        template["targets"]["cut-subnets"],
        serde_json::json!({
            "resourceType": "aws:ec2:subnet",
            "resourceTags": { "gameday": "allowed", "tier": "app" },
            "filters": [{ "path": "VpcId", "values": ["vpc-0abc"] }],
            "selectionMode": "ALL",
        })
    );
    assert!(output.stderr.contains("fault `cut` cuts the subnets of the Region the template is created in off from us-west-2: create it in another Region"), "{}", output.stderr);
    let capped = crate::gameday_on_file(&["export", "fis"], &scenario("  require_tags: { gameday: allowed }\n  max_targets: 2", FAULT));
    assert_eq!(exported_mode(&capped), "COUNT(2)");
    assert!(capped.stderr.contains("fault `cut` cuts off at most 2 (max_targets) of the matching subnets: COUNT(2)"), "{}", capped.stderr);

    // What a template cannot hold is refused (exit 10), every reason named.
    let loose = crate::gameday_on_file(
        &["export", "fis"],
        &scenario("  exclude_tags: { critical: \"true\" }\n  max_azs: 1", &FAULT.replace(", subnets: { tags: { tier: app }, vpc: vpc-0abc }", "")),
    );
    assert_eq!(loose.code, 10, "{}", loose.stdout);
    for reason in [
        "exclude_tags (fault `cut`): FIS selects subnets by tags they carry, never by tags they must not carry",
        "require_tags (fault `cut`): with no `subnets` (tags or vpc) and no `require_tags`, the template would cut every subnet of the Region off",
        "max_azs (fault `cut`)",
    ] {
        assert!(loose.stderr.contains(reason), "{reason}:\n{}", loose.stderr);
    }
}

#[test]
fn iam_policy_lists_the_route_table_permissions_fis_needs_and_gameday_only_reads_subnets() {
    let yaml = scenario("  require_tags: { gameday: allowed }", FAULT);
    let role = crate::gameday_on_file(&["iam-policy", "--fis-role"], &yaml);
    assert_eq!(role.code, 0, "{}", role.stderr);
    let role: serde_json::Value = serde_json::from_str(&role.stdout).unwrap();
    let statement = |sid: &str| role["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("{sid}: {role}")).clone();
    assert_eq!(
        statement("FisRegionIsolationRouteTables")["Action"],
        serde_json::json!(["ec2:AssociateRouteTable", "ec2:CreateRoute", "ec2:DisassociateRouteTable", "ec2:ReplaceRouteTableAssociation"])
    );
    assert_eq!(statement("FisRegionIsolationCreate")["Condition"]["StringEquals"]["aws:RequestTag/managedByFIS"], "true");
    assert_eq!(statement("FisRegionIsolationManaged")["Condition"]["StringEquals"]["aws:ResourceTag/managedByFIS"], "true");
    assert!(statement("FisRead")["Action"].as_array().unwrap().iter().any(|a| a == "ec2:DescribeRouteTables"));
    assert!(!role.to_string().contains("TransitGateway"), "no transit gateway action is used: {role}");
    let own = crate::gameday_on_file(&["iam-policy"], &yaml);
    assert_eq!(own.code, 0, "{}", own.stderr);
    assert!(own.stdout.contains("fis:StopExperiment") && own.stdout.contains("ec2:DescribeSubnets"), "{}", own.stdout);
    assert!(!own.stdout.contains("RouteTable"), "gameday never edits a route table itself: {}", own.stdout);
}
