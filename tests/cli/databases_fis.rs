//! `db_failover` through AWS FIS (`via: fis`), through the binary against
//! moto server: `aws:rds:failover-db-cluster` on the cluster the scenario
//! names. moto's FIS accepts the template and runs the experiment but acts
//! on nothing (no failover), so what is checked is what gameday hands FIS
//! (the template read back with GetExperimentTemplate while it runs), that
//! the experiment is stopped and its template deleted on every ending (a
//! halted run; `recover` after kill -9), and that gameday then fails the
//! cluster back itself: the test makes the failover FIS would have made
//! (`FailoverDBCluster` to the reader, in moto) while the experiment runs,
//! and reads the writer back after gameday's revert. What a template cannot
//! hold, and the DB instance path (`aws:rds:reboot-db-instances`), are
//! checked on `export fis` without AWS.

use std::path::Path;
use std::process::Command;

use crate::aws::{experiment_while_running, finish, halt, run_command, stopped, template_of};
use crate::moto::Moto;

use crate::databases::{CLUSTER, writer};

/// The cluster of `databases`, tagged `gameday=allowed`.
async fn aurora(moto: &Moto) -> aws_sdk_rds::Client {
    crate::databases::aurora(moto, &[("gameday", "allowed")]).await
}

/// What FIS's action would do; moto's FIS does not.
async fn fail_over_as_fis_would(rds: &aws_sdk_rds::Client) {
    rds.failover_db_cluster().db_cluster_identifier(CLUSTER).target_db_instance_identifier("orders-db-2").send().await.unwrap();
    assert_eq!(writer(rds).await, "orders-db-2");
}

/// The probe's timeout is 2 s, not 500 ms, as in `databases`: a sample is one
/// moto call, moto took over 500 ms under load, and a sample that times out
/// after the fail-back fails the expectation (docs/performance.md,
/// "Steadiness"); nothing here is about a probe's timing.
fn scenario(account: &str, fault_extra: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: db-fis\nvia: fis\nguards:\n  accounts: [\"{account}\"]\n  regions: [us-east-1]\n  require_tags: {{ gameday: allowed }}\n  require_healthy_start: false\nsteady_state:\n  - {{ name: writer, kind: db_writer, cluster: {CLUSTER}, interval: 2s, timeout: 2s, healthy_after: 1 }}\nfaults:\n  - {{ name: fail-over, kind: db_failover, cluster: {CLUSTER}{fault_extra} }}\nexpected_recoveries:\n  - {{ name: writer, probes: [writer], recovers_within: 3s }}\n"
    )
}

fn gameday(moto: &Moto, dir: &Path, args: &[&str], log: &Path) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
    command.args(args).env("GAMEDAY_STATE_DIR", dir.join("state")).env("GAMEDAY_AWS_CALL_LOG", log).env_remove("RUST_LOG");
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_fails_over_through_fis_and_gameday_stops_the_experiment_and_fails_back_on_every_ending() {
    let moto = Moto::start_held_fis();
    // Every second GetExperiment moves the experiment on: it runs until gameday stops it.
    let rds = aurora(&moto).await;
    let fis = aws_sdk_fis::Client::new(&moto.config().await);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let fis_role = &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account);
    let text = scenario(&moto.account, ", duration: 10m");

    // The plan says the mechanism, beside the database and its writer.
    let plan_dir = dir.path().join("plan");
    std::fs::create_dir_all(&plan_dir).unwrap();
    let file = plan_dir.join("scenario.yaml");
    std::fs::write(&file, &text).unwrap();
    let project = moto.project_with(&plan_dir, &moto.account, fis_role);
    let (code, stdout, stderr) = gameday(&moto, &plan_dir, &["plan", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap()], &log);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("touches: DB cluster orders-db: writer orders-db-1 in us-east-1a"), "{stdout}");
    assert!(
        stdout.contains("touches: made by FIS aws:rds:failover-db-cluster on DB cluster orders-db (RDS picks the reader it promotes); gameday fails back directly at the end (FIS has no fail-back action)"),
        "{stdout}"
    );
    assert!(stdout.contains("FIS preview of `fail-over`"), "{stdout}");
    assert!(fis.list_experiment_templates().send().await.unwrap().experiment_templates().is_empty(), "the preview left no template");

    // A run halted while the experiment runs; FIS's failover made by hand meanwhile.
    let run_dir = dir.path().join("halted");
    std::fs::create_dir_all(&run_dir).unwrap();
    let child = run_command(&moto, &run_dir, &text, &moto.account, fis_role).env("GAMEDAY_AWS_CALL_LOG", &log).spawn().unwrap();
    let (experiment, template_id) = experiment_while_running(&fis, 0).await;
    let template = template_of(&fis, &template_id).await;
    let action = &template.actions().unwrap()["fail-over"];
    assert_eq!(action.action_id(), Some("aws:rds:failover-db-cluster"));
    assert!(action.parameters().is_none_or(|p| p.is_empty()), "the action takes no parameter: {:?}", action.parameters());
    assert_eq!(action.targets().unwrap()["Clusters"], "fail-over-clusters");
    let target = &template.targets().unwrap()["fail-over-clusters"];
    assert_eq!(target.resource_type(), Some("aws:rds:cluster"));
    assert_eq!(target.selection_mode(), Some("ALL"));
    assert_eq!(target.resource_arns(), [format!("arn:aws:rds:us-east-1:{}:cluster:{CLUSTER}", moto.account)]);
    fail_over_as_fis_would(&rds).await;
    halt(&run_dir.join("state"), "db fis test");
    let exit = finish(child, &run_dir);
    assert!([5, 130].contains(&exit.code), "{}\n{}", exit.stdout, exit.stderr);
    let intent = exit.events("fault_intent");
    assert_eq!(intent.len(), 1, "{}", exit.stderr);
    assert_eq!(intent[0]["effect"]["effect"], "fis_experiment", "the template is journaled before the call");
    assert_eq!(
        intent[0]["effect"]["fail_back"],
        serde_json::json!({ "effect": "db_cluster_failover", "cluster": CLUSTER, "writer": "orders-db-1", "fail_back": true }),
        "the writer to fail back to is journaled before FIS fails it over"
    );
    let reverted = exit.events("fault_reverted");
    assert_eq!(reverted.len(), 1, "{}", exit.stderr);
    assert!(reverted[0]["outcome"]["restored"].as_array().unwrap().iter().any(|r| r == "orders-db failed back to orders-db-1"), "{}", reverted[0]);
    stopped(&fis, &experiment, &template_id).await;
    assert_eq!(writer(&rds).await, "orders-db-1", "failed back, read back from RDS");

    // kill -9 while the experiment runs (and FIS's failover is in place), then `recover` stops the experiment and fails back.
    let killed = dir.path().join("killed");
    std::fs::create_dir_all(&killed).unwrap();
    let mut child = run_command(&moto, &killed, &text, &moto.account, fis_role).env("GAMEDAY_AWS_CALL_LOG", &log).spawn().unwrap();
    let (experiment, template_id) = experiment_while_running(&fis, 1).await;
    fail_over_as_fis_would(&rds).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let (code, stdout, stderr) =
        gameday(&moto, &killed, &["recover", "--runs-dir", killed.join("runs").to_str().unwrap(), "--project", killed.join("gameday.yaml").to_str().unwrap(), "--yes"], &log);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    stopped(&fis, &experiment, &template_id).await;
    assert_eq!(writer(&rds).await, "orders-db-1", "recover failed back, read back from RDS");

    // gameday's calls are each in `gameday iam-policy`: FIS's, the database reads, and the fail-back.
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&log, &file, &[]);
    for call in [
        "fis:CreateExperimentTemplate",
        "fis:StartExperiment",
        "fis:StopExperiment",
        "fis:DeleteExperimentTemplate",
        "fis:ListExperimentTemplates",
        "rds:DescribeDBClusters",
        "rds:FailoverDBCluster",
    ] {
        assert!(recorded.contains(call), "the log records {call}: {recorded:?}");
    }
}

/// Without a `duration`, the database stays failed over: FIS's experiment
/// is awaited and cleaned up as the fault is made, and no fail-back follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_duration_the_experiment_is_cleaned_up_at_once_and_nothing_fails_back() {
    let moto = Moto::start();
    let _rds = aurora(&moto).await;
    let fis = aws_sdk_fis::Client::new(&moto.config().await);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let fis_role = &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account);
    let exit = finish(run_command(&moto, dir.path(), &scenario(&moto.account, ""), &moto.account, fis_role).env("GAMEDAY_AWS_CALL_LOG", &log).spawn().unwrap(), dir.path());
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    let intent = exit.events("fault_intent");
    assert_eq!(intent[0]["effect"]["template"]["actions"]["fail-over"]["actionId"], "aws:rds:failover-db-cluster");
    assert!(intent[0]["effect"].get("fail_back").is_none(), "{}", intent[0]);
    assert!(exit.events("revert_intent").is_empty(), "nothing to revert at the end");
    assert!(fis.list_experiment_templates().send().await.unwrap().experiment_templates().is_empty(), "the template was deleted as the fault was made");
    let recorded = std::fs::read_to_string(&log).unwrap();
    assert!(!recorded.lines().any(|c| c == "rds:FailoverDBCluster"), "FIS fails over, gameday does not: {recorded}");
}

fn export(yaml: &str) -> crate::Output {
    crate::gameday_on_file(&["export", "fis"], yaml)
}

fn sim_scenario(guards: &str, fault: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: db\nguards:\n  require_healthy_start: false\n{guards}\nsteady_state:\n  - {{ name: w, kind: db_writer, cluster: orders-db }}\nfaults:\n  - {{ name: fail-over, kind: db_failover, {fault} }}\nexpected_recoveries:\n  - {{ name: w, probes: [w], recovers_within: 5m }}\n"
    )
}

#[test]
fn export_fis_emits_the_database_actions_on_the_named_database() {
    let cluster = export(&sim_scenario("", "cluster: orders-db, duration: 5m"));
    assert_eq!(cluster.code, 0, "{}", cluster.stderr);
    let template: serde_json::Value = serde_json::from_str(&cluster.stdout).unwrap();
    assert_eq!(
        template["actions"]["fail-over"],
        serde_json::json!({ "actionId": "aws:rds:failover-db-cluster", "parameters": {}, "targets": { "Clusters": "fail-over-clusters" } })
    );
    assert_eq!(
        template["targets"]["fail-over-clusters"],
        serde_json::json!({ "resourceType": "aws:rds:cluster", "resourceArns": ["arn:aws:rds:${AWS_REGION}:${AWS_ACCOUNT_ID}:cluster:orders-db"], "selectionMode": "ALL" })
    );
    assert!(cluster.stderr.contains("fault `fail-over` fails the database over and never back: FIS has no fail-back action"), "{}", cluster.stderr);

    let instance = export(&sim_scenario("", "instance: legacy-db"));
    assert_eq!(instance.code, 0, "{}", instance.stderr);
    let template: serde_json::Value = serde_json::from_str(&instance.stdout).unwrap();
    assert_eq!(
        template["actions"]["fail-over"],
        serde_json::json!({ "actionId": "aws:rds:reboot-db-instances", "parameters": { "forceFailover": "true" }, "targets": { "DBInstances": "fail-over-db-instances" } })
    );
    assert_eq!(template["targets"]["fail-over-db-instances"]["resourceType"], "aws:rds:db");
    assert_eq!(template["targets"]["fail-over-db-instances"]["resourceArns"], serde_json::json!(["arn:aws:rds:${AWS_REGION}:${AWS_ACCOUNT_ID}:db:legacy-db"]));
    assert!(!instance.stderr.contains("never back"), "no duration, no fail-back to lose: {}", instance.stderr);

    // FIS does not check the database's tags when the template names it by ARN: refused, with the reason.
    let tagged = export(&sim_scenario("  require_tags: { gameday: allowed }", "cluster: orders-db"));
    assert_eq!(tagged.code, 10, "{}", tagged.stdout);
    assert!(
        tagged.stderr.contains("require_tags (fault `fail-over`): the template names the database by its ARN, and FIS does not check its tags (gameday=allowed)"),
        "{}",
        tagged.stderr
    );

    // A named reader FIS cannot promote: the fault is left to `gameday run`, which makes it directly.
    let reader = export(&sim_scenario("", "cluster: orders-db, target: orders-db-2"));
    assert_eq!(reader.code, 3, "{}", reader.stdout);
    assert!(reader.stderr.contains("no fault of this scenario can run in FIS"), "{}", reader.stderr);
}

#[test]
fn via_fis_a_named_reader_is_a_scenario_error_at_its_position() {
    let yaml = sim_scenario("", "cluster: orders-db, target: orders-db-2").replace("name: db\n", "name: db\nvia: fis\n");
    let output = crate::gameday_on_file(&["validate"], &yaml);
    assert_eq!(output.code, 3, "{}", output.stdout);
    assert!(output.stderr.contains("with `via: fis`, a cluster fails over through FIS's `aws:rds:failover-db-cluster`, which takes no target instance"), "{}", output.stderr);
    assert!(output.stderr.contains(":10:"), "file:line:column of `target`: {}", output.stderr);
    assert!(output.stderr.contains("set `via: direct`"), "{}", output.stderr);
}
