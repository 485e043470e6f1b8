//! Measurement semantics judged through the binary.

use crate::run_yaml;

fn dns_failover_with_deadline(recovers_within: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: deadline\nsteady_state:\n  - name: resolves-to-primary\n    kind: dns\n    query: api.example.com\n    record_type: CNAME\n    expect: [web-alb.us-east-1.elb.amazonaws.com]\n    interval: 5s\n    healthy_after: 2\nfaults:\n  - name: fail-primary\n    kind: dns_failover\n    hosted_zone: example.com\n    record: api.example.com\n    fail: primary\n    duration: 5m\nexpected_recoveries:\n  - name: back\n    probes: [resolves-to-primary]\n    recovers_within: {recovers_within}\n"
    )
}

#[test]
fn a_recovery_on_its_deadline_is_met_though_confirmed_after_it() {
    // On the built-in topology with seed 1, clients are back on the primary at
    // exactly T+6m25s; the second of the two confirming passes comes at 6m30s.
    let on_time = run_yaml(&dns_failover_with_deadline("6m25s"));
    assert_eq!(on_time.output.code, 0, "{}", on_time.output.stdout);
    let back = on_time.expectation("back");
    assert_eq!(back["time_to_recover"], 385_000, "{back}");
    assert_eq!(back["met"], true);
    // One second less, and the same recovery point misses, saying by how much.
    let late = run_yaml(&dns_failover_with_deadline("6m24s"));
    assert_eq!(late.output.code, 1, "{}", late.output.stdout);
    assert!(late.output.stdout.contains("recovered after 6m25s — deadline 6m24s"), "{}", late.output.stdout);
}

#[test]
fn detection_is_the_teams_signal_not_the_referee_probe() {
    // az-loss with a 30 s detection limit: the capacity probe fails at once,
    // but the team's alarm `web-unhealthy-hosts` fires much later.
    let text = std::fs::read_to_string(crate::repo().join("scenarios/az-loss.yaml")).unwrap().replace("    detected_within: 2m\n", "    detected_within: 30s\n");
    let run = run_yaml(&text);
    assert_eq!(run.output.code, 1, "{}", run.output.stdout);
    let capacity = run.expectation("capacity restored in the remaining zones");
    assert_eq!(capacity["detected_by"], "alarm web-unhealthy-hosts", "{capacity}");
    assert_eq!(capacity["time_to_detect"], 100_000, "{capacity}");
    assert!(capacity["impact_start"].as_u64().unwrap() < capacity["detected_at"].as_u64().unwrap(), "the referee saw the impact first: {capacity}");
    assert_eq!(capacity["detected_after_impact"].as_u64().unwrap(), capacity["detected_at"].as_u64().unwrap() - capacity["impact_start"].as_u64().unwrap());
    assert!(run.output.stdout.contains("detected after 1m40s by alarm web-unhealthy-hosts — limit 30s"), "{}", run.output.stdout);
    // An expectation that names no signal does not measure detection at all.
    let targets = run.expectation("every target healthy again");
    assert!(targets["time_to_detect"].is_null() && targets["detected_by"].is_null(), "{targets}");
    assert!(run.output.stdout.contains("every target healthy again") && run.output.stdout.contains("detect not measured"), "{}", run.output.stdout);
}

#[test]
fn detected_within_without_a_signal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    let text = std::fs::read_to_string(crate::repo().join("scenarios/az-loss.yaml")).unwrap().replace("    detected_by: [web-unhealthy-hosts]\n", "");
    std::fs::write(&file, text).unwrap();
    let out = crate::gameday(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("`detected_within` needs `detected_by`"), "{}", out.stderr);
}
