//! Side tools against moto server on 127.0.0.1: `export fis --env` reads the
//! account (group ARNs, AZ IDs), and `iam-policy` allows every AWS call that
//! `run`, `plan`, `recover` and a halted run actually made. The calls are
//! recorded by gameday's SDK interceptor (`GAMEDAY_AWS_CALL_LOG`): one IAM
//! action name per operation, read from the SDK's own operation metadata.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;

use crate::aws::wait_for;
use crate::fleet::Fleet;
use crate::moto::Moto;

fn command(moto: &Moto, state: &Path, args: &[&str], log: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
    command.args(args).env("GAMEDAY_STATE_DIR", state).env("GAMEDAY_AWS_CALL_LOG", log).env_remove("RUST_LOG").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    command
}

fn output(mut command: Command) -> (i32, String, String) {
    let out = command.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// The actions the Allow statements of a policy document grant.
pub fn allowed_actions(policy: &serde_json::Value) -> BTreeSet<String> {
    let mut allowed = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        match &statement["Action"] {
            serde_json::Value::String(action) => {
                allowed.insert(action.clone());
            }
            serde_json::Value::Array(actions) => allowed.extend(actions.iter().map(|a| a.as_str().unwrap().to_string())),
            other => panic!("unexpected Action {other}"),
        }
    }
    assert!(allowed.iter().all(|a| !a.contains('*')), "the policy names actions, never wildcards: {allowed:?}");
    allowed
}

/// The AWS calls recorded in `log` (`GAMEDAY_AWS_CALL_LOG`), each checked to
/// be allowed by `gameday iam-policy FILE ARGS`; returns them, and the
/// actions the policy allows. The one check of the call-recording tests.
pub(crate) fn recorded_calls_in_policy(log: &Path, file: &Path, args: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let recorded: BTreeSet<String> = std::fs::read_to_string(log).unwrap().lines().map(str::to_string).collect();
    let policy = Command::new(env!("CARGO_BIN_EXE_gameday")).arg("iam-policy").arg(file).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&policy.stdout);
    assert_eq!(policy.status.code(), Some(0), "{}", String::from_utf8_lossy(&policy.stderr));
    let allowed = allowed_actions(&serde_json::from_str(&stdout).unwrap());
    let missing: Vec<&String> = recorded.difference(&allowed).collect();
    assert!(
        missing.is_empty(),
        "called but not in `gameday iam-policy{}`: {missing:?}\nrecorded: {recorded:?}\npolicy: {stdout}",
        args.iter().map(|a| format!(" {a}")).collect::<String>()
    );
    (recorded, allowed)
}

/// The expectation's deadline is short (5 s, not a minute): the probes
/// never fail here (`min_in_service: 0`, `min_healthy: 0`), so a run lasts
/// until that deadline (docs/metrics.md, "When the run stops observing"),
/// and these tests are about which calls a run makes, which five seconds of
/// 2 s samples make as surely as sixty (the faults of the runs that end on
/// their own last 2 s and 3 s, so they are reverted before it). 2 s, not 1 s: each sample is a call
/// to the one moto server every test shares, which answered in over 1 s under
/// load, and a steady state that times out refuses the run (docs/performance.md,
/// "Steadiness").
fn scenario(account: &str, via: &str, faults: &str, guards: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: calls\n{via}guards:\n  accounts: [\"{account}\"]\n{guards}steady_state:\n  - {{ name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 0, interval: 2s, timeout: 2s }}\n  - {{ name: targets, kind: target_health, target_group: web-tg, min_healthy: 0, interval: 2s, timeout: 2s }}\nfaults:\n{faults}\nexpected_recoveries:\n  - {{ name: capacity, probes: [capacity], recovers_within: 5s }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_policy_allows_every_call_of_direct_runs_plans_recovers_and_halts() {
    let moto = Moto::start();
    let fleet = Fleet::build(&moto.config().await, 6).await;
    let acls_before = fleet.acl_of_subnets().await;
    let check = fleet.primary_health_check.clone();
    let dir = tempfile::tempdir().unwrap();
    let (state, log) = (dir.path().join("state"), dir.path().join("calls.log"));
    let project = moto.project_with(dir.path(), &moto.account, "");
    let project = project.to_str().unwrap();
    let faults = |duration: &str| {
        format!(
            "  - {{ name: stop-two, kind: stop_instances, targets: {{ groups: [web-asg], count: 2 }}, duration: {duration} }}\n  - {{ name: cut-a, kind: az_outage, zone: us-east-1a, mode: network, duration: {duration} }}\n  - {{ name: flip, kind: dns_failover, hosted_zone: example.com, record: api.example.com, duration: {duration} }}"
        )
    };
    let probe = format!("  - {{ name: primary, kind: route53_health_check, health_check: {check}, interval: 2s, timeout: 2s }}\n");
    let write = |name: &str, duration: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, scenario(&moto.account, "", &faults(duration), "").replace("steady_state:\n", &format!("steady_state:\n{probe}"))).unwrap();
        file
    };
    let (short, long) = (write("short.yaml", "2s"), write("long.yaml", "5m"));
    let run = |file: &Path, runs: &str| {
        command(
            &moto,
            &state,
            &["run", file.to_str().unwrap(), "--env", "moto", "--project", project, "--yes", "--seed", "1", "--runs-dir", dir.path().join(runs).to_str().unwrap()],
            &log,
        )
    };
    let all_in_place = async || {
        let stopped = fleet.states().await.values().filter(|s| **s == InstanceStateName::Stopped).count();
        stopped == 2 && fleet.acl_of_subnets().await != acls_before && fleet.inverted(&check).await
    };

    let (code, stdout, stderr) = output(command(&moto, &state, &["plan", short.to_str().unwrap(), "--env", "moto", "--project", project, "--seed", "1"], &log));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = output(run(&short, "runs-short"));
    assert!([0, 1].contains(&code), "{stdout}\n{stderr}");

    // kill -9 with every fault in place, then `recover`.
    let mut child = run(&long, "runs-killed").spawn().unwrap();
    wait_for(Duration::from_secs(60), async || all_in_place().await.then_some(())).await.expect("the faults are in place");
    child.kill().unwrap();
    child.wait().unwrap();
    let runs = dir.path().join("runs-killed");
    let (code, stdout, stderr) = output(command(&moto, &state, &["recover", "--runs-dir", runs.to_str().unwrap(), "--project", project, "--yes"], &log));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(fleet.acl_of_subnets().await, acls_before, "recovered");

    // `gameday halt` while every fault is in place: the run reverts them.
    let child = run(&long, "runs-halted").spawn().unwrap();
    wait_for(Duration::from_secs(60), async || all_in_place().await.then_some(())).await.expect("the faults are in place");
    let (code, _, stderr) = output(command(&moto, &state, &["halt", "--reason", "iam coverage"], &log));
    assert_eq!(code, 0, "{stderr}");
    let halted = child.wait_with_output().unwrap();
    assert!([5, 130].contains(&halted.status.code().unwrap_or(-1)), "{}", String::from_utf8_lossy(&halted.stderr));
    assert_eq!(fleet.acl_of_subnets().await, acls_before, "the halted run reverted");
    assert!(!fleet.inverted(&check).await);

    let (recorded, _) = recorded_calls_in_policy(&log, &long, &["--via", "direct"]);
    for call in [
        "ec2:StopInstances",
        "ec2:StartInstances",
        "ec2:ReplaceNetworkAclAssociation",
        "ec2:DeleteNetworkAcl",
        "route53:UpdateHealthCheck",
        "route53:GetHealthCheckStatus",
        "elasticloadbalancing:DescribeTargetHealth",
    ] {
        assert!(recorded.contains(call), "the log records {call}: {recorded:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_policy_allows_every_call_of_fis_runs_plans_and_recovers() {
    let moto = Moto::start();
    let config = moto.config().await;
    let _fleet = Fleet::build(&config, 6).await;
    let fis = aws_sdk_fis::Client::new(&config);
    let dir = tempfile::tempdir().unwrap();
    let (state, log) = (dir.path().join("state"), dir.path().join("calls.log"));
    let project = moto.project_with(dir.path(), &moto.account, &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account));
    let project = project.to_str().unwrap();
    let faults = |duration: &str| {
        format!(
            "  - {{ name: stop-two, kind: stop_instances, targets: {{ groups: [web-asg], count: 2 }}, duration: {duration} }}\n  - {{ name: cut-a, kind: az_outage, zone: us-east-1a, mode: network, duration: {duration} }}\n  - {{ name: no-launch, kind: asg_capacity_error, zones: [us-east-1b], groups: [web-asg], duration: {duration} }}"
        )
    };
    let write = |name: &str, duration: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, scenario(&moto.account, "via: fis\n", &faults(duration), "")).unwrap();
        file
    };
    let (short, long) = (write("short.yaml", "3s"), write("long.yaml", "5m"));
    let run = |file: &Path, runs: &str| {
        command(
            &moto,
            &state,
            &["run", file.to_str().unwrap(), "--env", "moto", "--project", project, "--yes", "--seed", "1", "--runs-dir", dir.path().join(runs).to_str().unwrap()],
            &log,
        )
    };

    let (code, stdout, stderr) = output(command(&moto, &state, &["plan", short.to_str().unwrap(), "--env", "moto", "--project", project, "--seed", "1"], &log));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = output(run(&short, "runs-short"));
    assert!([0, 1].contains(&code), "{stdout}\n{stderr}");

    // kill -9 once the three experiments run, then `recover` finds them by tag.
    let before = fis.list_experiments().send().await.unwrap().experiments().len();
    let mut child = run(&long, "runs-killed").spawn().unwrap();
    wait_for(Duration::from_secs(60), async || fis.list_experiments().send().await.is_ok_and(|out| out.experiments().len() >= before + 3).then_some(()))
        .await
        .expect("three FIS experiments run");
    child.kill().unwrap();
    child.wait().unwrap();
    let runs = dir.path().join("runs-killed");
    let (code, stdout, stderr) = output(command(&moto, &state, &["recover", "--runs-dir", runs.to_str().unwrap(), "--project", project, "--yes"], &log));
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    let (recorded, _) = recorded_calls_in_policy(&log, &long, &["--via", "fis"]);
    for call in ["fis:CreateExperimentTemplate", "fis:StartExperiment", "fis:StopExperiment", "fis:ListExperimentTemplates", "fis:ListExperiments", "ec2:DescribeSubnets"] {
        assert!(recorded.contains(call), "the log records {call}: {recorded:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_fis_with_env_resolves_group_arns_and_az_ids() {
    let (moto, fleet) = Fleet::shared().await;
    let config = moto.config().await;
    let zones = fleet.ec2.describe_availability_zones().send().await.unwrap();
    let zone_id = zones.availability_zones().iter().find(|z| z.zone_name() == Some("us-east-1a")).and_then(|z| z.zone_id()).unwrap().to_string();
    let groups = aws_sdk_autoscaling::Client::new(&config).describe_auto_scaling_groups().send().await.unwrap();
    let group_arn = groups.auto_scaling_groups()[0].auto_scaling_group_arn().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (state, log) = (dir.path().join("state"), dir.path().join("calls.log"));
    let project = moto.project_with(dir.path(), &moto.account, &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account));
    let faults = format!(
        "  - {{ name: no-launch, kind: asg_capacity_error, zones: [{zone_id}], groups: [web-asg], duration: 1m }}\n  - {{ name: stop-one, kind: stop_instances, targets: {{ groups: [web-asg], zones: [{zone_id}], count: 1 }}, duration: 1m }}"
    );
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, scenario(&moto.account, "", &faults, "  regions: [us-east-1]\n  require_tags: { gameday: allowed }\n  max_azs: 1\n  require_healthy_start: false\n"))
        .unwrap();
    let export = |file: &Path| output(command(moto, &state, &["export", "fis", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap()], &log));

    let (code, stdout, stderr) = export(&file);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let template: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(template["targets"]["no-launch-groups"]["resourceArns"], serde_json::json!([group_arn]));
    assert_eq!(template["actions"]["no-launch"]["parameters"]["availabilityZoneIdentifiers"], "us-east-1a");
    assert_eq!(template["targets"]["stop-one-instances"]["filters"][1], serde_json::json!({ "path": "Placement.AvailabilityZone", "values": ["us-east-1a"] }));
    assert_eq!(template["targets"]["stop-one-instances"]["selectionMode"], "COUNT(1)");
    assert_eq!(template["roleArn"], format!("arn:aws:iam::{}:role/gameday-fis", moto.account));
    let reads: BTreeSet<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_string).collect();
    assert_eq!(reads, ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeAvailabilityZones", "sts:GetCallerIdentity"].map(String::from).into(), "reads only");

    // A group the account does not have is named, not dropped.
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("groups: [web-asg]", "groups: [web-asgg]")).unwrap();
    let (code, stdout, stderr) = export(&file);
    assert_eq!(code, 7, "{stdout}\n{stderr}");
    assert!(stderr.contains("Auto Scaling group `web-asgg` not found in the environment (region us-east-1)"), "{stderr}");
}
