//! Side tools never loosen a guard: `gameday export fis` refuses what FIS
//! cannot enforce and caps what it selects, and a refusal names the guard
//! that refused. The real binary on the simulator (no AWS needed); the
//! `--env` and IAM coverage tests against moto live in `aws_side_tools.rs`.

fn scenario(guards: &str, faults: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: side\nguards:\n{guards}\n  max_duration: 1h\nsteady_state:\n  - {{ name: c, kind: asg_capacity, group: web-asg, min_in_service: 4 }}\nfaults:\n{faults}\nexpected_recoveries:\n  - {{ name: c, probes: [c], recovers_within: 10m }}\n"
    )
}

/// Guards an FIS template can enforce by itself.
const FIS_GUARDS: &str = "  require_tags: { gameday: allowed }\n  require_healthy_start: false";

fn exported(output: &crate::Output) -> serde_json::Value {
    assert_eq!(output.code, 0, "stdout: {}\nstderr: {}", output.stdout, output.stderr);
    serde_json::from_str(&output.stdout).unwrap()
}

#[test]
fn a_network_cut_refused_for_an_untagged_instance_names_require_tags() {
    // us-east-1c holds the bastion, which lacks gameday=allowed and carries no excluded tag.
    let yaml = scenario("  require_tags: { gameday: allowed }", "  - { name: cut-c, kind: az_outage, zone: us-east-1c, mode: network, duration: 5m }");
    let output = crate::gameday_on_file(&["plan", "--seed", "1"], &yaml);
    assert_eq!(output.code, 5, "{}", output.stdout);
    assert!(output.stdout.contains("REFUSED by guard require_tags (fault `cut-c`)"), "{}", output.stdout);
    assert!(output.stdout.contains("1 would be hit although `require_tags` keeps them out (i-00a1b00000000000c lacks required tag gameday=allowed)"), "{}", output.stdout);
    assert!(!output.stdout.contains("exclude_tags"), "{}", output.stdout);

    let run = crate::gameday_on_file(&["run", "--seed", "1", "--runs-dir", tempfile::tempdir().unwrap().path().to_str().unwrap()], &yaml);
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);
    assert!(format!("{}{}", run.stdout, run.stderr).contains("require_tags"), "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn a_network_cut_over_an_excluded_instance_names_exclude_tags() {
    // The bastion carries critical=true; with no require_tags, only exclude_tags spares it.
    let yaml = scenario("  exclude_tags: { critical: \"true\" }", "  - { name: cut-c, kind: az_outage, zone: us-east-1c, mode: network, duration: 5m }");
    let output = crate::gameday_on_file(&["plan", "--seed", "1"], &yaml);
    assert_eq!(output.code, 5, "{}", output.stdout);
    assert!(output.stdout.contains("REFUSED by guard exclude_tags (fault `cut-c`)"), "{}", output.stdout);
    assert!(output.stdout.contains("carries excluded tag critical=true"), "{}", output.stdout);
}

#[test]
fn export_fis_refuses_a_scenario_whose_guards_fis_cannot_enforce() {
    // `plan` refuses this (4 instances in use1-az1 > max_targets 2 once the
    // tags are applied); the old export printed `selectionMode: ALL`, dropped
    // exclude_tags and kept the AZ ID as a zone name.
    let guards = "  require_tags: { gameday: allowed }\n  exclude_tags: { critical: \"true\" }\n  max_targets: 2\n  max_percent: 50\n  require_healthy_start: false";
    let yaml = scenario(guards, "  - { name: stop-all, kind: stop_instances, targets: { zones: [use1-az1], percent: 50 }, duration: 5m }");
    let output = crate::gameday_on_file(&["export", "fis"], &yaml);
    assert_eq!(output.code, 10, "stdout: {}\nstderr: {}", output.stdout, output.stderr);
    assert!(output.stdout.is_empty(), "no template at all: {}", output.stdout);
    for needle in [
        "error: an FIS template of `side` would loosen guards FIS cannot enforce; nothing was exported",
        "- exclude_tags (fault `stop-all`): FIS selects by tags a target carries, never by tags it must not carry",
        "- max_percent (fault `stop-all`): FIS cannot limit a share per Auto Scaling group or zone",
        "- max_targets (fault `stop-all`): FIS cannot cap `percent: 50` at 2 targets; use `count`",
        "- zones (fault `stop-all`): `use1-az1` is an AZ ID, which names a different zone in each account; export with `--env` to translate it",
        "= hint: set `via: fis` and use `gameday run`",
    ] {
        assert!(output.stderr.contains(needle), "lacks {needle:?}:\n{}", output.stderr);
    }
}

#[test]
fn export_fis_refuses_guards_a_template_cannot_hold() {
    let guards =
        "  require_tags: { gameday: allowed }\n  max_azs: 1\n  windows:\n    - { hours: \"10:00-16:00\", time_zone: UTC }\n  stop_conditions:\n    - { probe: c, failing_for: 1m }";
    let faults = "  - { name: stop-one, kind: stop_instances, targets: { groups: [web-asg], count: 1 }, duration: 5m }\n  - { name: cut-c, kind: az_outage, zone: us-east-1c, mode: network, duration: 5m, start_after: [stop-one] }";
    let output = crate::gameday_on_file(&["export", "fis"], &scenario(guards, faults));
    assert_eq!(output.code, 10, "stdout: {}\nstderr: {}", output.stdout, output.stderr);
    for needle in [
        "- windows: FIS starts an experiment whenever it is started",
        "- stop_conditions: FIS stops only on CloudWatch alarms; probe `c` failing for",
        "- require_healthy_start: FIS does not check the steady state before it starts",
        "- max_azs (fault `stop-one`): the template selects in every zone, limit 1; name the zones in `targets.zones`",
        "- require_tags (fault `cut-c`): a network cut takes the zone's subnets whole and cannot spare instances without the required tags",
    ] {
        assert!(output.stderr.contains(needle), "lacks {needle:?}:\n{}", output.stderr);
    }
}

#[test]
fn export_fis_translates_count_percent_and_caps_at_max_targets() {
    let faults = "  - { name: stop-two, kind: stop_instances, targets: { groups: [web-asg], count: 2 }, duration: 5m }\n  - { name: reboot-half, kind: reboot_instances, targets: { tags: { app: worker }, percent: 50 }, start_after: [stop-two] }\n  - { name: stop-all, kind: stop_instances, targets: { tags: { app: worker } }, duration: 1m, start_after: [reboot-half] }";
    let template = exported(&crate::gameday_on_file(&["export", "fis"], &scenario(FIS_GUARDS, faults)));
    let targets = &template["targets"];
    assert_eq!(targets["stop-two-instances"]["selectionMode"], "COUNT(2)");
    assert_eq!(targets["stop-two-instances"]["resourceTags"], serde_json::json!({ "gameday": "allowed", "aws:autoscaling:groupName": "web-asg" }));
    assert_eq!(targets["reboot-half-instances"]["selectionMode"], "PERCENT(50)");
    assert_eq!(targets["reboot-half-instances"]["resourceTags"], serde_json::json!({ "gameday": "allowed", "app": "worker" }));
    assert_eq!(targets["stop-all-instances"]["selectionMode"], "ALL");

    // With max_targets, "all matching" becomes at most max_targets (a percentage FIS could not cap is refused, above).
    let guards = format!("{FIS_GUARDS}\n  max_targets: 3");
    let faults = "  - { name: stop-two, kind: stop_instances, targets: { groups: [web-asg], count: 2 }, duration: 5m }\n  - { name: stop-all, kind: stop_instances, targets: { tags: { app: worker } }, duration: 1m, start_after: [stop-two] }";
    let output = crate::gameday_on_file(&["export", "fis"], &scenario(&guards, faults));
    let template = exported(&output);
    assert_eq!(template["targets"]["stop-two-instances"]["selectionMode"], "COUNT(2)");
    assert_eq!(template["targets"]["stop-all-instances"]["selectionMode"], "COUNT(3)");
    assert!(output.stderr.contains("note: fault `stop-all` selects at most 3 (max_targets) of the matching instances: COUNT(3)"), "{}", output.stderr);
}

#[test]
fn export_fis_refuses_auto_scaling_groups_without_env() {
    let faults = "  - { name: no-launch, kind: asg_capacity_error, zones: [us-east-1a], groups: [web-asg], duration: 5m }";
    let output = crate::gameday_on_file(&["export", "fis"], &scenario(FIS_GUARDS, faults));
    assert_eq!(output.code, 3, "{}", output.stderr);
    assert!(output.stderr.contains("fault `no-launch` names Auto Scaling groups, whose ARNs only an AWS environment can resolve: export with `--env`"), "{}", output.stderr);
}

#[test]
fn iam_policy_without_via_says_fis_needs_its_own_policy() {
    let yaml = scenario(FIS_GUARDS, "  - { name: stop-one, kind: stop_instances, targets: { groups: [web-asg], count: 1 }, duration: 5m }");
    let output = crate::gameday_on_file(&["iam-policy"], &yaml);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stderr.contains("an environment with `fis_role_arn` runs them through FIS, which needs `--via fis`"), "{}", output.stderr);
    let fis = crate::gameday_on_file(&["iam-policy", "--via", "fis"], &yaml);
    assert!(fis.stderr.is_empty(), "{}", fis.stderr);
    assert!(fis.stdout.contains("fis:ListExperiments"), "{}", fis.stdout);
}

/// `iam-policy --fis-role`: the role FIS assumes may send only the gray
/// failure's AWS-owned network document, only to instances carrying the
/// required tags; gameday's own policy gets the FIS calls and no SSM call
/// (FIS, not gameday, runs the command).
#[test]
fn iam_policy_for_the_fis_role_allows_the_gray_failures_document_on_the_allowed_instances() {
    let yaml = scenario(FIS_GUARDS, "  - { name: lossy, kind: gray_failure, zone: us-east-1a, error_rate: 10, duration: 5m }");
    let role = crate::gameday_on_file(&["iam-policy", "--fis-role"], &yaml);
    assert_eq!(role.code, 0, "{}", role.stderr);
    let role: serde_json::Value = serde_json::from_str(&role.stdout).unwrap();
    let statements = role["Statement"].as_array().unwrap();
    assert_eq!(statements[0]["Action"], "ssm:SendCommand");
    assert_eq!(statements[0]["Resource"], serde_json::json!(["arn:aws:ssm:*::document/AWSFIS-Run-Network-Packet-Loss"]));
    assert_eq!(statements[1]["Resource"], "arn:aws:ec2:*:*:instance/*");
    assert_eq!(statements[1]["Condition"]["StringEquals"]["ssm:resourceTag/gameday"], "allowed");
    let own = crate::gameday_on_file(&["iam-policy"], &yaml);
    assert_eq!(own.code, 0, "{}", own.stderr);
    assert!(own.stdout.contains("fis:StopExperiment") && !own.stdout.contains("ssm:"), "{}", own.stdout);
    let nothing = crate::gameday_on_file(
        &["iam-policy", "--fis-role"],
        &scenario(FIS_GUARDS, "  - { name: stop-one, kind: stop_instances, targets: { groups: [web-asg], count: 1 }, duration: 5m }"),
    );
    assert!(nothing.stderr.contains("note: no fault of this scenario runs through FIS with `--via direct`, so its role needs nothing"), "{}", nothing.stderr);
}
