use crate::gameday;

#[test]
fn plan_shows_targets_and_guards_without_side_effects() {
    let output = gameday(&["plan", "scenarios/az-loss.yaml", "--seed", "1"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    for needle in [
        "Plan for `az-loss` on sim",
        "Fault `power-off-use1a` (az_outage) at T+0ms, held 15m00s",
        "targets: 2 chosen of 2 matched",
        "max_percent: 2 of 6 in group web-asg (33%), limit 50%",
        "max_azs: 1 zone(s)",
        "(not enforced on the simulator)",
    ] {
        assert!(output.stdout.contains(needle), "plan lacks {needle:?}:\n{}", output.stdout);
    }
}

#[test]
fn plan_shows_excluded_instances_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: too-many\nguards:\n  max_percent: 20\n  require_tags: { gameday: allowed }\nsteady_state:\n  - name: c\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 6\nfaults:\n  - name: kill\n    kind: terminate_instances\n    targets: { zones: [us-east-1c], count: 3 }\nexpected_recoveries:\n  - name: c\n    probes: [c]\n    recovers_within: 5m\n",
    )
    .unwrap();
    let output = gameday(&["plan", file.to_str().unwrap(), "--seed", "1"]);
    assert_eq!(output.code, 5, "{}", output.stdout);
    assert!(output.stdout.contains("lacks required tag gameday=allowed"), "the bastion is shown as excluded:\n{}", output.stdout);
    assert!(output.stdout.contains("REFUSED by guard max_percent"), "{}", output.stdout);
}

#[test]
fn unknown_references_in_the_environment_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, "apiVersion: gameday/v1\nname: x\nsteady_state:\n  - name: c\n    kind: asg_capacity\n    group: web-asgg\n    min_in_service: 6\nfaults:\n  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 1 }\nexpected_recoveries:\n  - name: c\n    probes: [c]\n    recovers_within: 5m\n").unwrap();
    let output = gameday(&["plan", file.to_str().unwrap()]);
    assert_eq!(output.code, 7);
    assert!(output.stderr.contains("Auto Scaling group `web-asgg` not found in the environment (Auto Scaling groups here: web-asg, web-asg-dr)"), "{}", output.stderr);
}

#[test]
fn only_the_simulator_is_available_in_this_build() {
    let output = gameday(&["plan", "scenarios/az-loss.yaml", "--env", "prod"]);
    assert_eq!(output.code, 2);
    assert!(output.stderr.contains("unknown environment `prod`"));
}
