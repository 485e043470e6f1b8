//! Runs on the simulator: every example, every fault kind, every probe
//! kind, guard trips, and recovery times explained by the topology.

use crate::{Run, repo, run_scenario, run_yaml, scenario};

const API: &str = "  - name: api\n    kind: http\n    url: https://api.example.com/health\n    interval: 5s\n    timeout: 2s";
const CAPACITY: &str = "  - name: capacity\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 6";
const TARGETS: &str = "  - name: targets\n    kind: target_health\n    target_group: web-tg\n    min_healthy: 6";

fn expect(name: &str, probe: &str, within: &str) -> String {
    format!("  - name: {name}\n    probes: [{probe}]\n    recovers_within: {within}")
}

fn reverted(run: &Run, fault: &str) -> bool {
    run.events("fault_reverted").iter().any(|e| e["fault"] == fault)
}

fn fault_started(run: &Run, fault: &str) -> bool {
    run.result["faults"].as_array().unwrap().iter().any(|f| f["name"] == fault && f["started_at"].is_number())
}

/// The examples that do not run on the simulator with `gameday run`, and why.
const NOT_ON_THE_SIMULATOR: [(&str, &str); 2] = [
    ("local-service-restart", "a service on this machine: `--env local`, on a fixed port the parallel tests cannot share"),
    ("manual-region-failover", "a drill: people make the failover, through `gameday drill` (tests/cli/drill.rs)"),
];

#[test]
fn every_example_holds_its_hypothesis_on_the_simulator() {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for (name, _why) in NOT_ON_THE_SIMULATOR {
        assert!(names.iter().any(|n| n == name), "{name} is no longer an example: take it off the list");
    }
    names.retain(|n| !NOT_ON_THE_SIMULATOR.iter().any(|(skipped, _)| skipped == n));
    assert!(names.len() >= 13, "{names:?}");
    let runs = tempfile::tempdir().unwrap();
    for name in &names {
        let run = run_scenario(&repo().join(format!("scenarios/{name}.yaml")), &["--seed", "7"], &runs.path().join(name));
        assert_eq!(run.output.code, 0, "{name}: {}\n{}", run.output.stdout, run.output.stderr);
        assert!(run.output.stdout.starts_with("hypothesis held"), "{name}: {}", run.output.stdout);
        assert_eq!(run.result["schema_version"], 2);
        assert_eq!(run.result["outcome"]["kind"], "hypothesis_held");
        for heading in [
            "## Summary",
            "## Hypothesis and outcome",
            "## Timeline",
            "## Metrics",
            "## Expected against observed",
            "### What surprised us",
            "## Detection",
            "## Resolution",
            "## Action items",
        ] {
            assert!(run.report.contains(heading), "{name}: report lacks {heading}");
        }
        assert!(run.dir.file_name().unwrap().to_string_lossy().starts_with(&format!("{name}-")));
        assert!(!run.events("fault_intent").is_empty(), "{name}: no fault was made");
        assert!(run.events("revert_failed").is_empty(), "{name}");
        // Every fault the run made, it reverted (or could not be undone by nature): `recover` finds nothing in place.
        let recover = crate::gameday(&["recover", "--runs-dir", runs.path().join(name).to_str().unwrap(), "--yes"]);
        assert_eq!(recover.code, 0, "{name}: {}", recover.stderr);
        assert!(recover.stdout.contains("nothing in place"), "{name}: {}", recover.stdout);
    }
}

#[test]
fn the_same_seed_gives_the_same_result() {
    let file = repo().join("scenarios/az-loss.yaml");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = run_scenario(&file, &["--seed", "11"], a.path());
    let second = run_scenario(&file, &["--seed", "11"], b.path());
    let read = |run: &Run| std::fs::read_to_string(run.dir.join("result.json")).unwrap();
    assert_eq!(read(&first), read(&second));
}

#[test]
fn az_outage_power_stops_the_zone_and_the_group_replaces_elsewhere() {
    let run = run_yaml(&scenario(
        "  max_azs: 1",
        &format!("{CAPACITY}\n{TARGETS}"),
        "  - name: power\n    kind: az_outage\n    zone: use1-az1\n    mode: power\n    groups: [web-asg]\n    duration: 10m",
        &expect("capacity back", "capacity", "5m"),
    ));
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    assert_eq!(run.result["faults"][0]["targets"].as_array().unwrap().len(), 2);
    assert_eq!(run.result["faults"][0]["zones"][0], "us-east-1a", "an AZ ID names the zone");
    let launches: Vec<String> = run.events("observed").iter().map(|e| e["message"].as_str().unwrap().to_string()).filter(|m| m.starts_with("launching")).collect();
    assert_eq!(launches.len(), 2, "{launches:?}");
    assert!(launches.iter().all(|m| !m.ends_with("us-east-1a")), "replacements must avoid the dead zone: {launches:?}");
    assert!(reverted(&run, "power"));
}

#[test]
fn az_outage_network_cuts_the_zone_off_until_reverted() {
    let run = run_yaml(&scenario(
        "  max_azs: 1",
        TARGETS,
        "  - name: cut\n    kind: az_outage\n    zone: us-east-1b\n    mode: network\n    duration: 3m",
        &expect("targets back after the cut", "targets", "20m"),
    ));
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    let e = run.expectation("targets back after the cut");
    assert!(e["impact_start"].is_number());
    assert!(e["recovered_at"].as_u64().unwrap() > 180_000, "recovers only after the 3m cut: {e}");
    assert!(reverted(&run, "cut"));
}

#[test]
fn network_outage_cannot_spare_excluded_instances() {
    // The bastion (critical=true) lives in us-east-1c: cutting the zone would hit it.
    let run = run_yaml(&scenario(
        "  exclude_tags: { critical: \"true\" }",
        TARGETS,
        "  - name: cut\n    kind: az_outage\n    zone: us-east-1c\n    mode: network\n    duration: 3m",
        &expect("back", "targets", "10m"),
    ));
    assert_eq!(run.output.code, 5, "{}", run.output.stdout);
    assert!(run.output.stdout.contains("aborted by guard exclude_tags"), "{}", run.output.stdout);
    assert!(run.events("fault_intent").is_empty(), "no side effect after a refusal");
}

#[test]
fn terminate_instances_is_replaced_by_the_group() {
    let run = run_yaml(&scenario(
        "  max_targets: 2",
        &format!("{CAPACITY}\n{TARGETS}"),
        "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 2 }",
        &format!("{}\n{}", expect("capacity", "capacity", "3m"), expect("targets", "targets", "10m")),
    ));
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    assert!(run.expectation("capacity")["time_to_recover"].as_u64().unwrap() >= 30_000, "at least one launch time");
    assert!(fault_started(&run, "kill"));
    assert!(!reverted(&run, "kill"), "a termination has nothing to revert");
}

#[test]
fn stop_instances_are_started_again_on_revert() {
    let workers = "  - name: workers\n    kind: tcp\n    host: api.example.com\n    port: 443";
    let run = run_yaml(&scenario(
        "  require_tags: { gameday: allowed }",
        workers,
        "  - name: stop-workers\n    kind: stop_instances\n    targets: { tags: { app: worker } }\n    duration: 2m",
        &expect("api", "workers", "1m"),
    ));
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    let restored = &run.events("fault_reverted")[0]["outcome"]["restored"];
    assert_eq!(restored.as_array().unwrap().len(), 2, "both workers started again: {restored}");
    assert_eq!(run.result["faults"][0]["ended_at"], 120_000);
}

#[test]
fn reboot_instances_takes_targets_out_briefly() {
    let run = run_yaml(&scenario("", TARGETS, "  - name: reboot\n    kind: reboot_instances\n    targets: { groups: [web-asg], count: 1 }", &expect("targets", "targets", "15m")));
    assert!(fault_started(&run, "reboot"), "{}", run.output.stdout);
    assert!(run.expectation("targets")["impact_start"].is_number(), "a 60 s reboot fails two health checks");
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
}

#[test]
fn dns_failover_moves_clients_and_back() {
    let dns = "  - name: primary\n    kind: dns\n    query: api.example.com\n    record_type: CNAME\n    expect: [web-alb.us-east-1.elb.amazonaws.com]\n    interval: 5s\n    healthy_after: 2";
    let run = run_yaml(&scenario(
        "",
        &format!("{API}\n{dns}"),
        "  - name: flip\n    kind: dns_failover\n    hosted_zone: example.com\n    record: api.example.com\n    duration: 5m",
        &expect("back to primary", "primary", "10m"),
    ));
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    let e = run.expectation("back to primary");
    // Failover takes the checker's threshold (3 × 30 s) plus the resolver's cache (TTL 60 s), at most.
    // Clients moved when the "resolves to the primary" probe first failed (the impact start).
    let moved = e["impact_start"].as_u64().unwrap() - e["fault_start"].as_u64().unwrap();
    assert!((60_000..=155_000).contains(&moved), "failover after {moved} ms");
    assert!(e["time_to_recover"].as_u64().unwrap() > 300_000, "fail-back only after the revert");
    let api = run.result["probes"].as_array().unwrap().iter().find(|p| p["name"] == "api").unwrap();
    assert_eq!(api["failures"], 0, "the secondary serves throughout");
}

#[test]
fn region_outage_fails_over_within_the_rto() {
    let run = run_scenario(&repo().join("scenarios/region-failover.yaml"), &["--seed", "3"], tempfile::tempdir().unwrap().keep().as_path());
    let e = run.expectation("API served from us-west-2 within the RTO");
    let recover = e["time_to_recover"].as_u64().unwrap();
    // interval × threshold (90 s) + TTL (60 s) + one checker interval and one probe interval of phase.
    assert!((90_000..=190_000).contains(&recover), "recovered after {recover} ms");
    assert!(reverted(&run, "lose-us-east-1"));
}

#[test]
fn asg_capacity_error_steers_launches_away() {
    let run = run_yaml(&scenario(
        "  max_azs: 3",
        CAPACITY,
        "  - name: no-capacity\n    kind: asg_capacity_error\n    zones: [us-east-1a, us-east-1b]\n    groups: [web-asg]\n    duration: 10m\n  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], zones: [us-east-1a], count: 2 }",
        &expect("capacity", "capacity", "5m"),
    ));
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    let launches: Vec<String> = run.events("observed").iter().map(|e| e["message"].as_str().unwrap().to_string()).filter(|m| m.starts_with("launching")).collect();
    assert_eq!(launches.len(), 2);
    assert!(launches.iter().all(|m| m.ends_with("us-east-1c")), "{launches:?}");
    assert!(reverted(&run, "no-capacity"));
}

#[test]
fn command_faults_run_and_revert_for_real() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("injected");
    let done = dir.path().join("reverted");
    let fault = format!("  - name: flag\n    kind: command\n    inject: touch {}\n    revert: rm {} && touch {}\n    duration: 1m", flag.display(), flag.display(), done.display());
    let run = run_yaml(&scenario("", CAPACITY, &fault, &expect("capacity", "capacity", "30s")));
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    assert!(!flag.exists(), "the revert removed what the inject made");
    assert!(done.exists());
}

#[test]
fn a_failing_command_fault_did_not_take_effect() {
    let run = run_yaml(&scenario(
        "",
        CAPACITY,
        "  - name: broken\n    kind: command\n    inject: exit 3\n    revert: \"true\"\n    duration: 1m",
        &expect("capacity", "capacity", "30s"),
    ));
    assert_eq!(run.output.code, 6, "{}", run.output.stdout);
    assert!(run.output.stdout.contains("fault `broken` did not take effect"), "{}", run.output.stdout);
}

#[test]
fn every_probe_kind_answers_from_the_simulated_world() {
    let probes = [
        API,
        "  - name: tcp\n    kind: tcp\n    host: api.example.com\n    port: 443",
        "  - name: dns-a\n    kind: dns\n    query: api.example.com\n    expect: [198.51.100.10]",
        "  - name: dns-cname\n    kind: dns\n    query: api.example.com\n    record_type: CNAME\n    expect: [web-alb.us-east-1.elb.amazonaws.com]",
        CAPACITY,
        TARGETS,
        "  - name: alarm\n    kind: alarm\n    alarm: web-unhealthy-hosts\n    expect_state: OK",
        "  - name: health-check\n    kind: route53_health_check\n    health_check: hc-api-primary",
    ]
    .join("\n");
    let run = run_yaml(&scenario("", &probes, "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 1 }", &expect("targets", "targets", "10m")));
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.report);
    let steady = &run.events("steady_state")[0];
    assert_eq!(steady["healthy"], true, "{steady}");
    for probe in run.result["probes"].as_array().unwrap() {
        assert!(probe["samples"].as_u64().unwrap() > 1, "{probe}");
    }
    let alarm = run.result["probes"].as_array().unwrap().iter().find(|p| p["name"] == "alarm").unwrap();
    assert!(alarm["failures"].as_u64().unwrap() > 0, "the replacement fails health checks while it boots, which fires web-unhealthy-hosts: {alarm}");
}

#[test]
fn command_probes_are_refused_on_the_simulator() {
    let run = run_yaml(&scenario(
        "",
        "  - name: local\n    kind: command\n    run: \"true\"",
        "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 1 }",
        &expect("local", "local", "1m"),
    ));
    assert_eq!(run.output.code, 7, "{}", run.output.stdout);
    assert!(run.output.stdout.contains("`command` probe"), "{}", run.output.stdout);
    assert!(run.events("fault_intent").is_empty());
}

#[test]
fn a_stop_condition_halts_the_run_and_reverts() {
    let run = run_yaml(&scenario(
        "  stop_conditions:\n    - probe: api\n      failing_for: 20s",
        API,
        "  - name: region\n    kind: region_outage\n    region: us-east-1\n    duration: 30m",
        &expect("api", "api", "10m"),
    ));
    assert_eq!(run.output.code, 5, "{}", run.output.stdout);
    assert!(run.output.stdout.contains("aborted by guard stop_conditions: probe `api` failing for 20s"), "{}", run.output.stdout);
    assert!(reverted(&run, "region"), "the trip reverted the fault");
    let ended = run.result["faults"][0]["ended_at"].as_u64().unwrap();
    assert!(ended < 60_000, "reverted at once, not after 30m: {ended}");
}

#[test]
fn an_alarm_stop_condition_halts_the_run() {
    let run = run_yaml(&scenario(
        "  stop_conditions:\n    - alarm: arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-unhealthy-hosts",
        TARGETS,
        "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 1 }",
        &expect("targets", "targets", "10m"),
    ));
    assert_eq!(run.output.code, 5, "{}", run.output.stdout);
    assert!(run.events("stop_condition_tripped")[0]["condition"].as_str().unwrap().contains("web-unhealthy-hosts"));
}

#[test]
fn a_wrong_account_is_refused_before_any_side_effect() {
    let run = run_yaml(&scenario(
        "  accounts: [\"999999999999\"]",
        CAPACITY,
        "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 1 }",
        &expect("capacity", "capacity", "5m"),
    ));
    assert_eq!(run.output.code, 5);
    assert!(run.output.stdout.contains("aborted by guard accounts"), "{}", run.output.stdout);
    assert!(run.events("fault_intent").is_empty());
    assert!(run.events("sample").is_empty(), "refused before even probing");
}

#[test]
fn a_fault_with_no_targets_never_passes() {
    let run = run_yaml(&scenario("", CAPACITY, "  - name: kill\n    kind: terminate_instances\n    targets: { tags: { app: nothing } }", &expect("capacity", "capacity", "5m")));
    assert_eq!(run.output.code, 6, "{}", run.output.stdout);
    assert!(run.output.stdout.contains("fault `kill` did not take effect: no target left"), "{}", run.output.stdout);
    assert!(run.events("fault_intent").is_empty());
}

#[test]
fn a_missed_deadline_is_its_own_exit_code() {
    let run =
        run_yaml(&scenario("", TARGETS, "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 2 }", &expect("targets fast", "targets", "1m")));
    assert_eq!(run.output.code, 1, "{}", run.output.stdout);
    assert_eq!(run.result["outcome"]["kind"], "recovery_missed");
    assert!(run.report.contains("| Investigate why “targets fast” missed"), "the miss becomes an action item");
}

#[test]
fn an_unhealthy_start_refuses_to_inject() {
    let run = run_yaml(&scenario(
        "",
        "  - name: impossible\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 7\n    interval: 1s\n    timeout: 1s",
        "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 1 }",
        &expect("x", "impossible", "5m"),
    ));
    assert_eq!(run.output.code, 5);
    assert!(run.output.stdout.contains("require_healthy_start"), "{}", run.output.stdout);
    assert!(run.events("fault_intent").is_empty());
}

/// Recovery times are explained by the topology: capacity returns after
/// the group's next health check plus the launch time; a healthy target
/// after that plus boot, registration and `healthy_threshold` checks.
#[test]
fn recovery_times_follow_from_the_topology() {
    let dir = tempfile::tempdir().unwrap().keep();
    let topology = dir.join("topology.yaml");
    let init = crate::gameday(&["sim", "init", topology.to_str().unwrap()]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let text = std::fs::read_to_string(&topology).unwrap();
    let text = text
        .replace("launch: 30s", "launch: 20s")
        .replace("boot: 60s", "boot: 40s")
        .replace("health_check_interval: 10s", "health_check_interval: 5s")
        .replace("    interval: 30s\n    healthy_threshold: 5", "    interval: 10s\n    healthy_threshold: 3");
    std::fs::write(&topology, text).unwrap();
    let probes = "  - name: capacity\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 6\n    interval: 1s\n    timeout: 1s\n    healthy_after: 1\n  - name: targets\n    kind: target_health\n    target_group: web-tg\n    min_healthy: 6\n    interval: 1s\n    timeout: 1s\n    healthy_after: 1";
    let file = dir.join("scenario.yaml");
    std::fs::write(
        &file,
        scenario(
            "",
            probes,
            "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 1 }",
            &format!("{}\n{}", expect("capacity", "capacity", "10m"), expect("targets", "targets", "10m")),
        ),
    )
    .unwrap();
    for seed in ["1", "2", "3", "4"] {
        let run = run_scenario(&file, &["--seed", seed, "--topology", topology.to_str().unwrap()], &dir.join(format!("runs-{seed}")));
        assert_eq!(run.output.code, 0, "{}", run.output.stdout);
        let capacity = run.expectation("capacity")["time_to_recover"].as_u64().unwrap();
        let targets = run.expectation("targets")["time_to_recover"].as_u64().unwrap();
        // detection ≤ group interval (5 s), then launch (20 s); probes every 1 s.
        assert!((20_000..=26_000).contains(&capacity), "seed {seed}: capacity after {capacity} ms");
        // + boot 40 s, registration ≤ 5 s, 3 passing checks 10 s apart (first within 10 s).
        assert!((capacity + 40_000 + 20_000..=capacity + 40_000 + 5_000 + 30_000 + 1_000).contains(&targets), "seed {seed}: targets after {targets} ms (capacity {capacity})");
    }
}

#[test]
fn a_missed_expectation_still_reverts_every_fault() {
    let run = run_yaml(&scenario(
        "",
        TARGETS,
        "  - name: stop-two\n    kind: stop_instances\n    targets: { groups: [web-asg], count: 2 }\n    duration: 2m",
        &expect("targets fast", "targets", "30s"),
    ));
    assert_eq!(run.output.code, 1, "{}", run.output.stdout);
    assert!(reverted(&run, "stop-two"), "missed or not, the fault is undone");
}

#[test]
fn max_duration_halts_the_run_and_reverts() {
    let yaml =
        scenario("", TARGETS, "  - name: stop-two\n    kind: stop_instances\n    targets: { groups: [web-asg], count: 2 }\n    duration: 30m", &expect("targets", "targets", "1h"))
            .replace("  max_duration: 2h", "  max_duration: 5m");
    let run = run_yaml(&yaml);
    assert_eq!(run.output.code, 5, "{}", run.output.stdout);
    assert!(run.output.stdout.contains("aborted by guard max_duration"), "{}", run.output.stdout);
    assert!(reverted(&run, "stop-two"));
    assert!(run.result["faults"][0]["ended_at"].as_u64().unwrap() <= 5 * 60_000 + 1_000, "reverted at the limit, not after 30m");
}

#[test]
fn a_run_logged_without_a_terminal_prints_a_line_per_phase_and_a_heartbeat() {
    // stderr is a pipe here, as in CI. The heartbeat follows the run's
    // clock: on the simulator, a line per 30 s of virtual time, so this
    // 15-minute game day shows its heartbeat without the test waiting.
    let runs = tempfile::tempdir().unwrap();
    let run = run_scenario(&repo().join("scenarios/az-loss.yaml"), &["--seed", "7"], runs.path());
    assert_eq!(run.output.code, 0);
    let lines: Vec<&str> = run.output.stderr.lines().filter(|l| l.starts_with("gameday: T+")).collect();
    let phase = |line: &str| ["checking steady state", "fault injected", "waiting for recovery", "ending"].into_iter().find(|p| line.contains(&format!(" {p}")));
    let mut phases: Vec<&str> = lines.iter().filter_map(|l| phase(l)).collect();
    phases.dedup();
    // The zone came back at its 15 minutes, within the loop: at the end nothing is left to revert.
    assert_eq!(phases, ["checking steady state", "fault injected", "waiting for recovery", "ending"], "{lines:#?}");
    assert_eq!(lines.first(), Some(&"gameday: T+0ms checking steady state; probes: ✔ api, ✔ capacity, ✔ healthy-targets"));
    assert_eq!(lines.last(), Some(&"gameday: T+15m00s ending (nothing left to revert); probes: ✔ api, ✔ capacity, ✔ healthy-targets"));
    // While the fault is in place: a line when it is injected, then one
    // every 30 s, each with the time until the revert and what the probes say.
    let injected: Vec<&str> = lines.iter().copied().filter(|l| phase(l) == Some("fault injected")).collect();
    let fmt = gameday::vocab::fmt_ms;
    let expected: Vec<String> = (0..30u64).map(|i| format!("gameday: T+{} fault injected; revert in {}; probes: ", fmt(i * 30_000), fmt(900_000 - i * 30_000))).collect();
    assert_eq!(injected.len(), expected.len(), "{injected:#?}");
    for (line, start) in injected.iter().zip(&expected) {
        assert!(line.starts_with(start.as_str()), "{line} is not {start}…");
    }
    assert!(injected[1].contains("✘ capacity"), "the heartbeat says what the probes see: {}", injected[1]);
    let quiet = run_scenario(&repo().join("scenarios/az-loss.yaml"), &["--seed", "7", "--no-progress"], runs.path());
    assert!(!quiet.output.stderr.contains("gameday: T+"), "{}", quiet.output.stderr);
}

/// A zone's gray failure with `latency`: requests served in us-east-1a answer
/// 300 ms late (none fails), only while the fault is in place, and the same
/// seed gives the same run.
#[test]
fn a_slowed_zone_answers_late_but_never_fails_and_only_while_it_is_slow() {
    let file = repo().join("scenarios/zone-slowdown.yaml");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run = run_scenario(&file, &["--seed", "7"], a.path());
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    let applied = run.events("fault_applied")[0]["t"].as_u64().unwrap();
    let reverted = run.events("fault_reverted")[0]["t"].as_u64().unwrap();
    assert_eq!(run.events("fault_intent")[0]["effect"], serde_json::json!({ "effect": "gray_failure", "zones": ["us-east-1a"], "error_rate": 0.0, "latency_ms": 300 }));
    let samples = run.events("sample");
    let (during, outside): (Vec<&&serde_json::Value>, Vec<&&serde_json::Value>) = samples.iter().partition(|s| (applied..reverted).contains(&s["t"].as_u64().unwrap()));
    let late: Vec<&&&serde_json::Value> = during.iter().filter(|s| s["ok"] == false).collect();
    assert!(!late.is_empty() && late.len() < during.len(), "some requests, not all, reach the slowed zone: {late:?}");
    assert!(late.iter().all(|s| s["latency_ms"].as_u64().unwrap() >= 300 && s["observed"].as_str().unwrap().starts_with("HTTP 200 ")), "late, never failed: {late:?}");
    assert!(outside.iter().all(|s| s["ok"] == true && s["latency_ms"].as_u64().unwrap() < 250), "fast before and after: {outside:?}");
    let again = run_scenario(&file, &["--seed", "7"], b.path());
    let read = |run: &Run| std::fs::read_to_string(run.dir.join("result.json")).unwrap();
    assert_eq!(read(&run), read(&again));
}
