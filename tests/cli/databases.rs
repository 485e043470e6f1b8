//! `db_failover` and the `db_writer` probe through the binary against moto
//! server on 127.0.0.1: moto 5.2.5 implements `FailoverDBCluster` (it moves
//! the cluster's writer) and reads the writer back with
//! `DescribeDBClusters`, so the cluster path is tested on real SDK requests,
//! the state read back from moto during and after the run. moto answers
//! `RebootDBInstance` but never moves a Multi-AZ instance's primary, so the
//! instance path is tested for its call and its fail-back that reads the
//! zone first (nothing to fail back), not for the move itself.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use aws_sdk_rds::types::Tag;

use crate::moto::Moto;
use crate::safety::{command, output};

pub(crate) const CLUSTER: &str = "orders-db";

/// An Aurora cluster with a writer (`orders-db-1`) and a reader (`orders-db-2`), tagged as `tags` say.
pub(crate) async fn aurora(moto: &Moto, tags: &[(&str, &str)]) -> aws_sdk_rds::Client {
    let rds = aws_sdk_rds::Client::new(&moto.config().await);
    let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
    rds.create_db_cluster()
        .db_cluster_identifier(CLUSTER)
        .engine("aurora-postgresql")
        .master_username("gameday")
        .master_user_password("not-a-secret-1")
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
    for (name, zone) in [("orders-db-1", "us-east-1a"), ("orders-db-2", "us-east-1b")] {
        rds.create_db_instance()
            .db_instance_identifier(name)
            .db_cluster_identifier(CLUSTER)
            .engine("aurora-postgresql")
            .db_instance_class("db.r6g.large")
            .availability_zone(zone)
            .send()
            .await
            .unwrap();
    }
    rds
}

pub(crate) async fn writer(rds: &aws_sdk_rds::Client) -> String {
    let out = rds.describe_db_clusters().db_cluster_identifier(CLUSTER).send().await.unwrap();
    let cluster = &out.db_clusters()[0];
    cluster.db_cluster_members().iter().find(|m| m.is_cluster_writer() == Some(true)).and_then(|m| m.db_instance_identifier()).unwrap().to_string()
}

/// The probe's timeout is 2 s, not 500 ms: a sample is one moto call, and on
/// a loaded 2-core machine (load average 20) moto took over 500 ms three
/// times in a row, so the steady state failed and the run was refused; a
/// sample timing out after the fail-back fails the expectation the same
/// way (docs/performance.md, "The integration suite"). The fault lasts 5 s
/// so that samples at that cadence still read the failed-over writer.
fn scenario(account: &str, dir: &Path, guards: &str, fault_duration: &str) -> std::path::PathBuf {
    let file = dir.join("scenario.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: gameday/v1\nname: db-test\nguards:\n  accounts: [\"{account}\"]\n  regions: [us-east-1]\n{guards}\nsteady_state:\n  - {{ name: writer, kind: db_writer, cluster: {CLUSTER}, interval: 2s, timeout: 2s, healthy_after: 1 }}\nfaults:\n  - {{ name: fail-over, kind: db_failover, cluster: {CLUSTER}, target: orders-db-2{fault_duration} }}\nexpected_recoveries:\n  - {{ name: writer, probes: [writer], recovers_within: 3s }}\n"
        ),
    )
    .unwrap();
    file
}

fn env(moto: &Moto, log: &Path) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = moto.env().into_iter().map(|(k, v)| (k, v.to_string())).collect();
    env.push(("GAMEDAY_AWS_CALL_LOG", log.display().to_string()));
    env
}

fn gameday(moto: &Moto, dir: &Path, log: &Path, args: &[&str]) -> std::process::Command {
    let env = env(moto, log);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    command(&dir.join("state"), args, &pairs)
}

fn run_args<'a>(file: &'a Path, project: &'a Path, runs: &'a Path) -> Vec<&'a str> {
    vec!["run", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap(), "--yes", "--seed", "1", "--runs-dir", runs.to_str().unwrap()]
}

fn journal(runs: &Path) -> Vec<serde_json::Value> {
    let run = std::fs::read_dir(runs).unwrap().next().unwrap().unwrap().path();
    std::fs::read_to_string(run.join("journal.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Polls until `wanted` is the cluster's writer, or until `run` ends: a run
/// that never fails over (refused by a guard, say) ends, and the test then
/// shows its output instead of waiting out the 60 s bound, which is only
/// there so that a run stuck before its fault cannot hang the suite.
async fn wait_for_writer(rds: &aws_sdk_rds::Client, wanted: &str, run: &mut Child) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if writer(rds).await == wanted {
            return true;
        }
        if run.try_wait().unwrap().is_some() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn said(run: Child) -> String {
    let out = run.wait_with_output().unwrap();
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_fails_over_to_the_named_reader_and_back_to_the_journaled_writer() {
    let moto = Moto::start();
    let rds = aurora(&moto, &[("gameday", "allowed")]).await;
    assert_eq!(writer(&rds).await, "orders-db-1");
    let dir = tempfile::tempdir().unwrap();
    let (log, runs) = (dir.path().join("calls.log"), dir.path().join("runs"));
    let project = moto.project_with(dir.path(), &moto.account, "");
    let file = scenario(&moto.account, dir.path(), "  require_tags: { gameday: allowed }", ", duration: 5s");

    let (code, stdout, stderr) = output(gameday(&moto, dir.path(), &log, &["plan", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap()]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("touches: DB cluster orders-db: writer orders-db-1 in us-east-1a"), "{stdout}");

    let mut child = gameday(&moto, dir.path(), &log, &run_args(&file, &project, &runs)).spawn().unwrap();
    if !wait_for_writer(&rds, "orders-db-2", &mut child).await {
        panic!("the reader never became the writer during the run:\n{}", said(child));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(writer(&rds).await, "orders-db-1", "the revert failed back to the writer before the fault");

    let records = journal(&runs);
    let position = |event: &str| records.iter().position(|r| r["event"] == event).unwrap_or_else(|| panic!("no {event}"));
    assert!(position("fault_intent") < position("fault_applied"), "journaled before the call");
    let intent = &records[position("fault_intent")];
    assert_eq!(intent["effect"], serde_json::json!({ "effect": "db_cluster_failover", "cluster": CLUSTER, "writer": "orders-db-1", "target": "orders-db-2", "fail_back": true }));
    let reverted = &records[position("fault_reverted")];
    assert_eq!(reverted["outcome"]["restored"], serde_json::json!(["orders-db failed back to orders-db-1"]));
    let samples: Vec<&str> = records.iter().filter(|r| r["event"] == "sample").filter_map(|r| r["observed"].as_str()).collect();
    assert!(samples.iter().any(|s| s.contains("writer orders-db-2 in us-east-1b")), "the probe saw the new writer: {samples:?}");

    // Every call made is in the policy `iam-policy` prints.
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&log, &file, &[]);
    assert!(recorded.contains("rds:FailoverDBCluster"), "{recorded:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_fails_back_a_cluster_after_kill_9() {
    let moto = Moto::start();
    let rds = aurora(&moto, &[("gameday", "allowed")]).await;
    let dir = tempfile::tempdir().unwrap();
    let (log, runs) = (dir.path().join("calls.log"), dir.path().join("runs"));
    let project = moto.project_with(dir.path(), &moto.account, "");
    let file = scenario(&moto.account, dir.path(), "", ", duration: 10m");
    let mut child = gameday(&moto, dir.path(), &log, &run_args(&file, &project, &runs)).spawn().unwrap();
    if !wait_for_writer(&rds, "orders-db-2", &mut child).await {
        panic!("the run ended before it failed over:\n{}", said(child));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(writer(&rds).await, "orders-db-2", "still failed over after kill -9");

    let (code, stdout, stderr) = output(gameday(&moto, dir.path(), &log, &["recover", "--runs-dir", runs.to_str().unwrap(), "--project", project.to_str().unwrap(), "--yes"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(writer(&rds).await, "orders-db-1", "recover failed back");
    // A second recover finds nothing left to do and changes nothing.
    let (code, stdout, stderr) = output(gameday(&moto, dir.path(), &log, &["recover", "--runs-dir", runs.to_str().unwrap(), "--project", project.to_str().unwrap(), "--yes"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(writer(&rds).await, "orders-db-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_without_the_required_tag_is_refused_and_keeps_its_writer() {
    let moto = Moto::start();
    let rds = aurora(&moto, &[("team", "orders")]).await;
    let dir = tempfile::tempdir().unwrap();
    let (log, runs) = (dir.path().join("calls.log"), dir.path().join("runs"));
    let project = moto.project_with(dir.path(), &moto.account, "");
    let file = scenario(&moto.account, dir.path(), "  require_tags: { gameday: allowed }", ", duration: 3s");
    let (code, stdout, stderr) = output(gameday(&moto, dir.path(), &log, &run_args(&file, &project, &runs)));
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stderr.contains("orders-db lacks required tag gameday=allowed") || stdout.contains("orders-db lacks required tag gameday=allowed"), "{stdout}\n{stderr}");
    assert_eq!(writer(&rds).await, "orders-db-1");
    let recorded = std::fs::read_to_string(&log).unwrap();
    assert!(!recorded.contains("rds:FailoverDBCluster"), "{recorded}");
}

/// The same scenario on the simulator: its modelled cluster fails over to
/// the named reader and back, each failover leaving it without a writer for
/// a time drawn from the seed (15–60 s by default), and the same seed gives
/// the same result.
#[test]
fn the_simulator_fails_a_cluster_over_and_back_the_same_way_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: db-sim\nsteady_state:\n  - { name: endpoint, kind: tcp, host: orders-db.cluster-c1a2b3.us-east-1.rds.amazonaws.com, port: 5432, interval: 5s, timeout: 2s, healthy_after: 1 }\n  - { name: writer, kind: db_writer, cluster: orders-db, expect_writer: orders-db-1, interval: 5s, timeout: 2s, healthy_after: 1 }\nfaults:\n  - { name: fail-over, kind: db_failover, cluster: orders-db, duration: 5m }\nexpected_recoveries:\n  - { name: back after the fail-back, probes: [endpoint, writer], from: revert, recovers_within: 90s }\n",
    )
    .unwrap();
    let run = |runs: &str| {
        let runs = dir.path().join(runs);
        let (code, stdout, stderr) = output(command(&dir.path().join("state"), &["run", file.to_str().unwrap(), "--seed", "7", "--runs-dir", runs.to_str().unwrap()], &[]));
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let run = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
        (std::fs::read_to_string(run.join("result.json")).unwrap(), journal(&runs))
    };
    let (first, records) = run("a");
    let (second, _) = run("b");
    assert_eq!(first, second, "one seed, one result");
    let said = |event: &str| records.iter().filter(|r| r["event"] == event).map(|r| r.to_string()).collect::<Vec<_>>().join("\n");
    assert!(
        said("fault_intent").contains(r#""effect":{"effect":"db_cluster_failover","cluster":"orders-db","writer":"orders-db-1","fail_back":true}"#),
        "{}",
        said("fault_intent")
    );
    assert!(said("fault_reverted").contains("orders-db failing back to orders-db-1"), "{}", said("fault_reverted"));
    let observed: Vec<(u64, bool, String)> = records
        .iter()
        .filter(|r| r["event"] == "sample" && r["probe"] == "writer")
        .map(|r| (r["sent_at"].as_u64().unwrap(), r["ok"].as_bool().unwrap(), r["observed"].as_str().unwrap().to_string()))
        .collect();
    // Failing from the failover (the reader writes, or nobody does) until the fail-back is done.
    let failing: Vec<u64> = observed.iter().filter(|(_, ok, _)| !ok).map(|(t, _, _)| *t).collect();
    assert!(failing.first().is_some_and(|t| *t <= 5_000), "{observed:?}");
    assert!(observed.iter().any(|(_, _, o)| o.contains("writer orders-db-2 in us-east-1b")), "{observed:?}");
    let back = observed.iter().find(|(t, ok, _)| *t > 300_000 && *ok).map(|(t, _, _)| *t).expect("the writer is back after the fail-back");
    assert!((300_000 + 15_000..=300_000 + 65_000).contains(&back), "the fail-back took between 15 s and 60 s (+ one interval): back at {back}");
}

/// A Multi-AZ DB instance fails over with `RebootDBInstance` and
/// `ForceFailover`; the fail-back reads the primary's zone first. moto
/// accepts the reboot but never moves the primary, so the fail-back finds
/// it in its journaled zone and makes no second reboot: what is tested here
/// is the call, the journal and that read, not the move. A single-AZ
/// instance is refused before any reboot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_az_instance_is_rebooted_with_failover_and_a_single_az_one_is_refused() {
    let moto = Moto::start();
    let rds = aws_sdk_rds::Client::new(&moto.config().await);
    for (name, multi_az) in [("legacy-db", true), ("single-db", false)] {
        rds.create_db_instance()
            .db_instance_identifier(name)
            .engine("postgres")
            .db_instance_class("db.m6g.large")
            .allocated_storage(20)
            .master_username("gameday")
            .master_user_password("not-a-secret-1")
            .availability_zone("us-east-1a")
            .multi_az(multi_az)
            .send()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let project = moto.project_with(dir.path(), &moto.account, "");
    // 5 s probe timeouts: a 500 ms one timed out under load (as in `scenario`), and no sample is asserted here.
    let write = |name: &str, instance: &str| {
        let file = dir.path().join(name);
        std::fs::write(
            &file,
            format!(
                "apiVersion: gameday/v1\nname: db-instance\nsteady_state:\n  - {{ name: primary, kind: db_writer, instance: {instance}, interval: 5s, timeout: 5s, healthy_after: 1 }}\nfaults:\n  - {{ name: fail-over, kind: db_failover, instance: {instance}, duration: 1s }}\nexpected_recoveries:\n  - {{ name: primary, probes: [primary], recovers_within: 3s }}\n"
            ),
        )
        .unwrap();
        file
    };
    let (multi, single) = (write("multi.yaml", "legacy-db"), write("single.yaml", "single-db"));

    let (log, runs) = (dir.path().join("calls.log"), dir.path().join("runs"));
    let (code, stdout, stderr) = output(gameday(&moto, dir.path(), &log, &run_args(&multi, &project, &runs)));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let records = journal(&runs);
    let intent = records.iter().find(|r| r["event"] == "fault_intent").unwrap();
    assert_eq!(intent["effect"], serde_json::json!({ "effect": "db_instance_failover", "instance": "legacy-db", "zone": "us-east-1a", "fail_back": true }));
    let reverted = records.iter().find(|r| r["event"] == "fault_reverted").unwrap();
    assert_eq!(reverted["outcome"]["skipped"], serde_json::json!([["legacy-db", "its primary is in us-east-1a already: nothing to fail back"]]));
    let reboots = std::fs::read_to_string(&log).unwrap().lines().filter(|l| *l == "rds:RebootDBInstance").count();
    assert_eq!(reboots, 1, "one reboot with failover, no fail-back reboot while the primary is where it was");

    let (log, runs) = (dir.path().join("calls-single.log"), dir.path().join("runs-single"));
    let (code, stdout, stderr) = output(gameday(&moto, dir.path(), &log, &run_args(&single, &project, &runs)));
    assert_ne!(code, 0, "{stdout}\n{stderr}");
    assert!(format!("{stdout}{stderr}").contains("DB instance single-db is not Multi-AZ: it has no standby to fail over to"), "{stdout}\n{stderr}");
    assert!(!std::fs::read_to_string(&log).unwrap_or_default().contains("rds:RebootDBInstance"));
}
