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
    // exactly T+7m00s; the second of the two confirming passes comes at 7m05s.
    let on_time = run_yaml(&dns_failover_with_deadline("7m"));
    assert_eq!(on_time.output.code, 0, "{}", on_time.output.stdout);
    let back = on_time.expectation("back");
    assert_eq!(back["time_to_recover"], 420_000, "{back}");
    assert_eq!(back["met"], true);
    // One second less, and the same recovery point misses, saying by how much.
    let late = run_yaml(&dns_failover_with_deadline("6m59s"));
    assert_eq!(late.output.code, 1, "{}", late.output.stdout);
    assert!(late.output.stdout.contains("recovered after 7m00s — deadline 6m59s"), "{}", late.output.stdout);
}
