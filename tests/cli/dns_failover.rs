//! Route 53 failover as clients see it on the simulator: each `dns` probe
//! is a client behind its own caching resolver, filled at a seeded phase of
//! the TTL cycle, and each health check has its own request interval and
//! failure threshold (docs/simulator.md, "Route 53 failover records").
//!
//! The band every client-side failover time must lie in, counted from the
//! fault: the health check flips after `failure_threshold` observations
//! `request_interval` apart, the first of which comes up to one interval
//! after the fault, so between (threshold − 1) × interval and threshold ×
//! interval; a client's resolver refills within one TTL of that; its probe
//! samples within one probe interval of the refill.

use std::path::{Path, PathBuf};

use crate::{Run, gameday, run_scenario};

const TTL: u64 = 60_000;
const PROBE_INTERVAL: u64 = 5_000;

/// One client per record that passes once its resolver answers with the
/// secondary, so its time to recover is the client-side failover time.
fn client_on_secondary(name: &str, record: &str) -> String {
    format!(
        "  - name: {name}\n    kind: dns\n    query: {record}\n    record_type: CNAME\n    expect: [web-dr-alb.us-west-2.elb.amazonaws.com]\n    interval: 5s\n    healthy_after: 1\n"
    )
}

fn fail_primary(name: &str, record: &str) -> String {
    format!("  - name: {name}\n    kind: dns_failover\n    hosted_zone: example.com\n    record: {record}\n    fail: primary\n    duration: 10m\n")
}

fn on_secondary(name: &str, probe: &str, fault: &str) -> String {
    format!("  - name: {name}\n    probes: [{probe}]\n    after_fault: {fault}\n    recovers_within: 5m\n")
}

/// The clients start on the primary, which their probes count as failing:
/// the start is unhealthy on purpose.
fn scenario(probes: &str, faults: &str, expectations: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: client-failover\nguards:\n  require_healthy_start: false\n  max_duration: 30m\nsteady_state:\n{probes}faults:\n{faults}expected_recoveries:\n{expectations}"
    )
}

/// The built-in topology, edited (`edit` gets its text), in a file of its own.
fn topology(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let file = tempfile::Builder::new().suffix(".yaml").tempfile_in(dir).unwrap().into_temp_path().keep().unwrap();
    std::fs::remove_file(&file).unwrap();
    let init = gameday(&["sim", "init", file.to_str().unwrap()]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    std::fs::write(&file, edit(std::fs::read_to_string(&file).unwrap())).unwrap();
    file
}

fn run(dir: &Path, scenario: &str, topology: &Path, seed: u64) -> Run {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, scenario).unwrap();
    let run = run_scenario(&file, &["--seed", &seed.to_string(), "--topology", topology.to_str().unwrap()], &dir.join(format!("runs-{seed}")));
    assert_eq!(run.output.code, 0, "seed {seed}: {}\n{}", run.output.stdout, run.output.stderr);
    run
}

/// When the journal says the health check turned unhealthy, from the fault's start.
fn flipped_after_fault(run: &Run, health_check: &str, fault_start: u64) -> u64 {
    let message = format!("health check {health_check} is now unhealthy");
    let flip = run.events("observed").into_iter().find(|o| o["message"] == message.as_str()).unwrap_or_else(|| panic!("{health_check} never flipped"));
    flip["at"].as_u64().unwrap() - fault_start
}

/// The client-side failover time of each seed, checked against the band.
fn failover_times(dir: &Path, topology: &Path, interval: u64, threshold: u64) -> Vec<u64> {
    let text = scenario(&client_on_secondary("client", "api.example.com"), &fail_primary("fail", "api.example.com"), &on_secondary("moved", "client", "fail"));
    (1..=10)
        .map(|seed| {
            let run = run(dir, &text, topology, seed);
            let moved = run.expectation("moved");
            let failover = moved["time_to_recover"].as_u64().unwrap_or_else(|| panic!("seed {seed}: {moved}"));
            let flip = flipped_after_fault(&run, "hc-api-primary", moved["fault_start"].as_u64().unwrap());
            assert!(((threshold - 1) * interval + 1..=threshold * interval).contains(&flip), "seed {seed}: the check flipped {flip} ms after the fault");
            assert!(failover >= flip && failover < flip + TTL + PROBE_INTERVAL, "seed {seed}: clients moved {failover} ms after the fault, the check {flip} ms");
            failover
        })
        .collect()
}

fn assert_spread(times: &[u64], lowest: u64, highest: u64) {
    for time in times {
        assert!((lowest..=highest).contains(time), "{time} ms is outside [{lowest}, {highest}]: {times:?}");
    }
    let distinct: std::collections::BTreeSet<&u64> = times.iter().collect();
    assert!(distinct.len() >= 3, "clients are locked to the TTL grid: {times:?}");
}

#[test]
fn client_side_failover_spreads_over_seeds_within_the_route_53_band() {
    let dir = tempfile::tempdir().unwrap();
    // Standard checks (30 s × 3, the defaults): 60 s to 90 s + TTL + one probe interval.
    let standard = topology(dir.path(), |text| text);
    let times = failover_times(dir.path(), &standard, 30_000, 3);
    assert_spread(&times, 60_000, 90_000 + TTL + PROBE_INTERVAL);
    // Fast checks (10 s × 3) through the old global key: 20 s to 30 s + TTL + one probe interval.
    let fast = topology(dir.path(), |text| {
        assert_eq!(text.matches("request_interval: 30s").count(), 1, "one global default");
        text.replace("request_interval: 30s", "request_interval: 10s")
    });
    let times = failover_times(dir.path(), &fast, 10_000, 3);
    assert_spread(&times, 20_000, 30_000 + TTL + PROBE_INTERVAL);
}

#[test]
fn a_fast_and_a_standard_health_check_in_one_topology_keep_their_own_timing() {
    let dir = tempfile::tempdir().unwrap();
    let topology = topology(dir.path(), |text| {
        text.replace(
            "\nalarms:\n",
            "  - hosted_zone: example.com\n    record: www.example.com\n    ttl: 60s\n    primary: { load_balancer: web-alb, health_check: hc-www-primary, request_interval: 10s, failure_threshold: 1 }\n    secondary: { load_balancer: web-dr-alb, health_check: hc-www-secondary, request_interval: 10s, failure_threshold: 1 }\n\nalarms:\n",
        )
    });
    let text = scenario(
        &format!("{}{}", client_on_secondary("api-client", "api.example.com"), client_on_secondary("www-client", "www.example.com")),
        &format!("{}{}", fail_primary("fail-api", "api.example.com"), fail_primary("fail-www", "www.example.com")),
        &format!("{}{}", on_secondary("api moved", "api-client", "fail-api"), on_secondary("www moved", "www-client", "fail-www")),
    );
    let (mut api_times, mut www_times) = (Vec::new(), Vec::new());
    for seed in 1..=10 {
        let run = run(dir.path(), &text, &topology, seed);
        for (expectation, health_check, interval, threshold, times) in
            [("api moved", "hc-api-primary", 30_000, 3, &mut api_times), ("www moved", "hc-www-primary", 10_000, 1, &mut www_times)]
        {
            let e = run.expectation(expectation);
            let flip = flipped_after_fault(&run, health_check, e["fault_start"].as_u64().unwrap());
            assert!(((threshold - 1) * interval + 1..=threshold * interval).contains(&flip), "seed {seed}: {health_check} flipped {flip} ms after its fault");
            times.push(e["time_to_recover"].as_u64().unwrap());
        }
    }
    // The standard check (30 s × 3) moves clients after a minute at least;
    // the fast one (10 s × 1) within a TTL and a probe interval of 10 s.
    assert_spread(&api_times, 60_000, 90_000 + TTL + PROBE_INTERVAL);
    assert_spread(&www_times, 1, 10_000 + TTL + PROBE_INTERVAL);
}

#[test]
fn a_health_check_setting_route_53_does_not_offer_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let scenario_file = crate::repo().join("scenarios/dns-failover.yaml");
    for (from, to, key, allowed) in [
        ("health_check: hc-api-primary }", "health_check: hc-api-primary, request_interval: 15s }", "`request_interval: 15s`", "use `10s` (fast) or `30s` (standard)"),
        ("health_check: hc-api-secondary }", "health_check: hc-api-secondary, failure_threshold: 0 }", "`failure_threshold: 0`", "Route 53 allows 1 to 10"),
        ("failure_threshold: 3 ", "failure_threshold: 11 ", "`failure_threshold: 11`", "Route 53 allows 1 to 10"),
    ] {
        let file = topology(dir.path(), |text| {
            assert_eq!(text.matches(from).count(), 1, "{from}");
            text.replace(from, to)
        });
        let line = 1 + std::fs::read_to_string(&file).unwrap().lines().position(|l| l.contains(to.trim())).unwrap();
        let out = gameday(&["plan", scenario_file.to_str().unwrap(), "--topology", file.to_str().unwrap()]);
        assert_eq!(out.code, 3, "{}", out.stderr);
        let place = format!("{}:{line}:", file.display());
        assert!(out.stderr.contains(&place) && out.stderr.contains(key) && out.stderr.contains(allowed), "wanted {place}, {key} and {allowed} in:\n{}", out.stderr);
        assert!(!out.stderr.contains("<input>"), "{}", out.stderr);
    }
}
