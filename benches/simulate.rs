//! `cargo bench`: how fast the simulator runs a game day, and how fast
//! scenarios load. Prints figures; asserts nothing about time (targets
//! live in docs/performance.md, not in tests).

use std::fmt::Write as _;
use std::time::Instant;

use gameday::environment::sim::{SimEnvironment, Topology};
use gameday::run::clock::{Interrupt, VirtualClock};
use gameday::run::journal::Journal;
use gameday::run::{RunConfig, Runner, Silent};

/// A region with `groups` Auto Scaling groups of `per_group` instances,
/// each behind its own load balancer, spread over three zones.
fn big_topology(groups: usize, per_group: usize) -> String {
    let mut yaml = String::from(
        "apiVersion: gameday/v1\nkind: SimTopology\naccount: \"123456789012\"\nregions:\n  - name: us-east-1\n    zones:\n      - { name: us-east-1a, id: use1-az1 }\n      - { name: us-east-1b, id: use1-az2 }\n      - { name: us-east-1c, id: use1-az3 }\nload_balancers:\n",
    );
    for g in 0..groups {
        let _ = writeln!(
            yaml,
            "  - {{ name: lb-{g}, region: us-east-1, dns_name: lb-{g}.example.com, target_group: tg-{g}, capacity_per_target: 100, offered_load: {}, base_latency: 40ms }}",
            per_group * 50
        );
    }
    yaml.push_str("auto_scaling_groups:\n");
    for g in 0..groups {
        let _ = writeln!(
            yaml,
            "  - {{ name: asg-{g}, region: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], desired: {per_group}, min: {per_group}, max: {}, health_check_type: elb, target_group: tg-{g}, tags: {{ gameday: allowed }} }}",
            per_group * 2
        );
    }
    yaml.push_str("alarms:\n  - { name: unhealthy-0, metric: unhealthy_hosts, resource: tg-0, comparison: GreaterThanOrEqualToThreshold, threshold: 1 }\n");
    yaml
}

fn hour_scenario(per_group: usize) -> String {
    r#"
apiVersion: gameday/v1
name: bench-hour
steady_state:
  - { name: api, kind: http, url: "https://lb-0.example.com/health", interval: 5s, timeout: 2s }
  - { name: capacity, kind: asg_capacity, group: asg-0, min_in_service: 200, interval: 5s, timeout: 2s }
  - { name: targets, kind: target_health, target_group: tg-0, min_healthy: 200, interval: 5s, timeout: 2s }
  - { name: alarm, kind: alarm, alarm: unhealthy-0, interval: 10s }
faults:
  - { name: lose-a, kind: az_outage, zone: us-east-1a, mode: power, duration: 1h }
expected_recoveries:
  - { name: capacity, probes: [capacity], recovers_within: 10m }
  - { name: targets, probes: [targets], recovers_within: 15m }
"#
    .replace("200", &per_group.to_string())
}

fn run_hour(topology: &Topology, per_group: usize) -> (f64, usize, u64) {
    let scenario = gameday::scenario::parse_str(&hour_scenario(per_group), None).expect("the bench scenario is valid");
    let mut env = SimEnvironment::new(topology, 1);
    let started = Instant::now();
    let runner = Runner::new(&scenario, &mut env, VirtualClock::default(), Silent, Journal::in_memory(), RunConfig::new(1, jiff::Timestamp::UNIX_EPOCH), Interrupt::new());
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let finished = runtime.block_on(runner.run());
    (started.elapsed().as_secs_f64(), finished.records.len(), finished.result.duration_ms)
}

fn main() {
    // `cargo test` runs benches with --bench absent; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!("gameday simulator benchmark ({} build)", if cfg!(debug_assertions) { "debug" } else { "release" });
    // GAMEDAY_BENCH=hour|predict|validate runs one part alone.
    let part = std::env::var("GAMEDAY_BENCH").unwrap_or_default();
    let runs = |name: &str| part.is_empty() || part == name;
    if runs("hour") {
        for (groups, per_group) in [(10, 100), (50, 200), (50, 2_000)] {
            let topology = Topology::parse(&big_topology(groups, per_group), "bench").expect("the bench topology is valid");
            let instances = groups * per_group;
            let mut times = Vec::new();
            let mut records = 0;
            let mut simulated = 0;
            for _ in 0..5 {
                let (seconds, r, d) = run_hour(&topology, per_group);
                times.push(seconds);
                records = r;
                simulated = d;
            }
            times.sort_by(f64::total_cmp);
            assert!(simulated >= 3_600_000, "the game day ran its full hour");
            println!(
                "  {instances:>6} instances, {groups} groups: one game day of {:.1} simulated minutes in median {:.3} s (min {:.3} s, max {:.3} s; 5 runs), {records} journal records",
                simulated as f64 / 60_000.0,
                times[2],
                times[0],
                times[4]
            );
        }
    }
    if runs("predict") {
        predict_bench();
    }
    if runs("validate") {
        validate_bench();
    }
}

fn predict_bench() {
    // The twin's prediction (issue 15): the same hour, 20 seeds, on the 10,000-instance topology.
    let (groups, per_group) = (50, 200);
    let topology = Topology::parse(&big_topology(groups, per_group), "bench").expect("the bench topology is valid");
    let scenario = gameday::scenario::parse_str(&hour_scenario(per_group), None).expect("the bench scenario is valid");
    let seeds: Vec<u64> = (1..=20).collect();
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let prediction = gameday::predict::predict(&scenario, &topology, "bench", &seeds, jiff::Timestamp::UNIX_EPOCH);
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(prediction.expectations.iter().map(|e| e.seeds).collect::<Vec<_>>(), [20, 20], "every seed measured both expectations");
    }
    times.sort_by(f64::total_cmp);
    println!(
        "  predict: one hour × {} seeds on {} instances in median {:.3} s (min {:.3} s, max {:.3} s; 3 runs, {} threads)",
        seeds.len(),
        groups * per_group,
        times[1],
        times[0],
        times[2],
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}

fn validate_bench() {
    let examples: Vec<(String, String)> = std::fs::read_dir("scenarios")
        .expect("run from the repository root")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("readable")))
        .collect();
    let rounds = 200;
    let started = Instant::now();
    for _ in 0..rounds {
        for (_, text) in &examples {
            gameday::scenario::parse_str(text, Some(std::path::Path::new("scenarios"))).expect("examples are valid");
        }
    }
    let per_file = started.elapsed().as_secs_f64() / (rounds * examples.len()) as f64;
    println!("  validate: {:.1} µs per example scenario ({} files × {rounds} rounds)", per_file * 1e6, examples.len());
}
