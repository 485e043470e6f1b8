//! A zone's gray failure for its traffic to other zones only (FIS's
//! "Cross-AZ Traffic Slowdown": `gray_failure` with `cross_zone`). Against
//! moto: the run's template, read back while it runs, runs
//! `AWSFIS-Run-Network-Packet-Loss-Sources` with the Region's other zones as
//! `Sources` on the zone's allowed instances, and the experiment is stopped
//! and its template deleted (read back) when the run is halted and by
//! `recover` after kill -9; moto's FIS acts on nothing, so no packet is
//! dropped. Without AWS: the scenario's errors at their
//! `file:line:column`, the simulator's plan and run, and `export fis`.

use std::collections::BTreeSet;
use std::process::Command;

use crate::aws::{experiment_while_running, finish, halt, kill_then_recover_stops_the_experiment, run_command, stopped, template_of};
use crate::fleet::Fleet;
use crate::moto::Moto;

/// The probe samples every 5 s with a 5 s timeout, not 1 s: a sample is one
/// moto call, moto answered in over 1 s under load (docs/performance.md,
/// "Steadiness"), and nothing here is about a probe's timing.
fn scenario(account: &str, fault: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: cross-az\nguards:\n  accounts: [\"{account}\"]\n  regions: [us-east-1]\n  require_tags: {{ gameday: allowed }}\n  require_healthy_start: false\nsteady_state:\n  - {{ name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 6, interval: 5s, timeout: 5s, healthy_after: 1 }}\nfaults:\n{fault}\nexpected_recoveries:\n  - {{ name: capacity, probes: [capacity], recovers_within: 5s }}\n"
    )
}

const FAULT: &str = "  - name: slow-cross\n    kind: gray_failure\n    zone: us-east-1a\n    error_rate: 15\n    cross_zone: { flows_percent: 25 }\n    duration: 30m";

/// moto's FIS accepts the template and runs the experiment but acts on
/// nothing (no SSM command reaches an instance, no packet is dropped), so
/// what is checked is what gameday hands FIS (the template, read back with
/// GetExperimentTemplate while it runs) and that the experiment is stopped
/// and its template deleted, read back, on every ending: a halted run, and
/// `recover` after kill -9. The probe's timeout is 5 s, not 1 s, as in
/// `aws`: under load a moto answer took over 1 s (docs/performance.md, "The
/// integration suite"), and nothing here is about the probe's timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_zone_slowdown_drops_packets_toward_the_other_zones_only_and_is_stopped_on_every_ending() {
    let moto = Moto::start_held_fis();
    // Every second GetExperiment moves the experiment on: it runs until gameday stops it.
    let config = moto.config().await;
    let fleet = Fleet::build(&config, 6).await;
    let fis = aws_sdk_fis::Client::new(&config);
    let zones = fleet.ec2.describe_availability_zones().send().await.unwrap();
    let others: Vec<String> =
        zones.availability_zones().iter().filter_map(|z| z.zone_name()).filter(|z| *z != "us-east-1a").map(str::to_string).collect::<BTreeSet<_>>().into_iter().collect();
    assert!(!others.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let fis_role = &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account);
    let text = scenario(&moto.account, FAULT);

    // The plan names the document with the other zones as its sources.
    let file = dir.path().join("plan.yaml");
    std::fs::write(&file, &text).unwrap();
    let project = moto.project_with(dir.path(), &moto.account, fis_role);
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
    command.args(["plan", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap(), "--seed", "1"]).env("GAMEDAY_STATE_DIR", dir.path().join("plan-state"));
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let parameters =
        format!("DurationSeconds=1800, FlowsPercent=25, InstallDependencies=True, Interface=DEFAULT, LossPercent=15, Sources={}, TrafficType=egress", others.join(","));
    assert!(
        stdout.contains(&format!("touches: FIS aws:ssm:send-command of SSM document AWSFIS-Run-Network-Packet-Loss-Sources ({parameters}) on the chosen instances in us-east-1a")),
        "{stdout}"
    );

    // The run's template, read back while it runs; then halted, and the experiment stopped.
    let run_dir = dir.path().join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    let log = dir.path().join("calls.log");
    let child = run_command(&moto, &run_dir, &text, &moto.account, fis_role).env("GAMEDAY_AWS_CALL_LOG", &log).spawn().unwrap();
    let (experiment, template_id) = experiment_while_running(&fis, 0).await;
    let template = template_of(&fis, &template_id).await;
    crate::aws::assert_sends_document(
        &template,
        "slow-cross",
        "AWSFIS-Run-Network-Packet-Loss-Sources",
        serde_json::json!({ "DurationSeconds": "1800", "FlowsPercent": "25", "InstallDependencies": "True", "Interface": "DEFAULT", "LossPercent": "15", "Sources": others.join(","), "TrafficType": "egress" }),
    );
    let target = &template.targets().unwrap()["slow-cross-instances"];
    let arns: BTreeSet<&String> = target.resource_arns().iter().collect();
    let in_a = crate::aws::group_instance_arns_in(&fleet, &moto.account, "us-east-1a").await;
    assert_eq!(arns, in_a.iter().collect(), "exactly the allowed instances of the impaired zone");
    halt(&run_dir.join("state"), "cross-zone test");
    let exit = finish(child, &run_dir);
    assert!([5, 130].contains(&exit.code), "{}\n{}", exit.stdout, exit.stderr);
    assert_eq!(exit.events("fault_reverted").len(), 1, "{}", exit.stderr);
    stopped(&fis, &experiment, &template_id).await;

    // kill -9 while the slowdown is in place (its own state directory: the halt above holds the first), then `recover` finds the experiment by its tag and stops it.
    kill_then_recover_stops_the_experiment(&moto, &fis, &dir.path().join("killed"), &text, fis_role, &log).await;

    // gameday's own calls, the run's and `recover`'s, are each in `gameday iam-policy`, and none acts on an instance (FIS sends the command).
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&log, &file, &[]);
    assert!(recorded.contains("fis:StopExperiment") && recorded.contains("ec2:DescribeAvailabilityZones"), "{recorded:?}");
    assert!(!recorded.iter().any(|c| c.starts_with("ssm:")), "gameday never sends the command itself: {recorded:?}");
}

fn sim(fault: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: cross\nguards:\n  require_healthy_start: false\nsteady_state:\n  - {{ name: c, kind: asg_capacity, group: web-asg, min_in_service: 4 }}\nfaults:\n  - name: slow\n    kind: gray_failure\n{fault}\n    duration: 10m\nexpected_recoveries:\n  - {{ name: c, probes: [c], recovers_within: 10m }}\n"
    )
}

#[test]
fn bad_cross_zone_combinations_are_scenario_errors_at_their_position() {
    for (fault, message, at) in [
        ("    region: us-east-1\n    error_rate: 5\n    cross_zone: {}", "`cross_zone` impairs the traffic from one zone to the others, so it needs the fault's `zone`", ":12:"),
        ("    zone: us-east-1a\n    error_rate: 5\n    cross_zone: { zones: [us-east-1b, us-east-1a] }", "`us-east-1a` is the fault's own zone", ":12:"),
        ("    zone: us-east-1a\n    error_rate: 5\n    cross_zone: { flows_percent: 2.5 }", "2.5 is not a whole share of flows from 1 to 100", ":12:"),
        ("    zone: us-east-1a\n    error_rate: 5\n    cross_zone: { flow_percent: 25 }", "flow_percent", ":12:"),
    ] {
        let output = crate::gameday_on_file(&["validate"], &sim(fault));
        assert_eq!(output.code, 3, "{fault}: {}", output.stdout);
        assert!(output.stderr.contains(message), "{fault}: {}", output.stderr);
        assert!(output.stderr.contains(at), "{fault}: line of `cross_zone`: {}", output.stderr);
    }
}

#[test]
fn the_simulator_keeps_the_zones_gray_failure_and_the_plan_says_what_aws_does_instead() {
    let yaml = sim("    zone: us-east-1a\n    error_rate: 15\n    cross_zone: { zones: [us-east-1b], flows_percent: 25 }");
    let plan = crate::gameday_on_file(&["plan", "--seed", "1"], &yaml);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("on AWS: FIS aws:ssm:send-command of SSM document AWSFIS-Run-Network-Packet-Loss-Sources (DurationSeconds=600, FlowsPercent=25, InstallDependencies=True, Interface=DEFAULT, LossPercent=15, Sources=us-east-1b, TrafficType=egress) on the zone's instances, for their traffic to other zones only (Cross-AZ Traffic Slowdown; the simulator impairs every request served from the zone)"),
        "{}",
        plan.stdout
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cross.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, yaml.replace("    cross_zone: { zones: [us-east-1b], flows_percent: 25 }\n", "")).unwrap();
    let cross = crate::run_scenario(&file, &["--seed", "3"], &dir.path().join("a"));
    let zone = crate::run_scenario(&plain, &["--seed", "3"], &dir.path().join("b"));
    assert_eq!(cross.output.code, zone.output.code, "{}", cross.output.stderr);
    assert_eq!(cross.events("fault_intent")[0]["effect"], zone.events("fault_intent")[0]["effect"], "the same simulated gray failure");
    assert_eq!(cross.result["expectations"], zone.result["expectations"], "the same run for the seed");
}

#[test]
fn export_fis_emits_the_sources_document_and_refuses_unknown_other_zones() {
    let named = crate::gameday_on_file(&["export", "fis"], &sim("    zone: us-east-1a\n    latency: 100ms\n    cross_zone: { zones: [use1-az2, us-east-1c] }"));
    assert_eq!(named.code, 0, "{}", named.stderr);
    let template: serde_json::Value = serde_json::from_str(&named.stdout).unwrap();
    let action = &template["actions"]["slow"];
    assert_eq!(action["parameters"]["documentArn"], "arn:aws:ssm:${AWS_REGION}::document/AWSFIS-Run-Network-Latency-Sources");
    let document: serde_json::Value = serde_json::from_str(action["parameters"]["documentParameters"].as_str().unwrap()).unwrap();
    assert_eq!(
        document,
        serde_json::json!({ "DelayMilliseconds": "100", "DurationSeconds": "600", "FlowsPercent": "100", "InstallDependencies": "True", "Interface": "DEFAULT", "Sources": "use1-az2,us-east-1c", "TrafficType": "egress" })
    );
    let every = crate::gameday_on_file(&["export", "fis"], &sim("    zone: us-east-1a\n    error_rate: 5\n    cross_zone: {}"));
    assert_eq!(every.code, 10, "{}", every.stdout);
    assert!(every.stderr.contains("zones (fault `slow`): a cross-zone slowdown of every other zone needs the Region's zones"), "{}", every.stderr);
}
