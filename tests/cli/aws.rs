//! The AWS path for real: the gameday binary against moto server on
//! 127.0.0.1, with real SDK requests. Each test that changes the fleet
//! builds its own, in a moto account of its own; the tests that only read it
//! share one (`Fleet::shared`). Each runs a scenario and asserts the
//! emulator's state during and after the run.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::InstanceStateName;

use crate::fleet::Fleet;
use crate::moto::Moto;

pub(crate) struct Exit {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) journal: Vec<serde_json::Value>,
}

fn spawn(moto: &Moto, dir: &Path, scenario: &str, account: &str) -> Child {
    spawn_with(moto, dir, scenario, account, "")
}

fn spawn_with(moto: &Moto, dir: &Path, scenario: &str, account: &str, extra: &str) -> Child {
    run_command(moto, dir, scenario, account, extra).spawn().unwrap()
}

/// `gameday run` of `scenario` in `dir` against moto, not started yet.
pub(crate) fn run_command(moto: &Moto, dir: &Path, scenario: &str, account: &str, extra: &str) -> Command {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, scenario).unwrap();
    let project = moto.project_with(dir, account, extra);
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
    command
        .args(["run", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap(), "--yes", "--seed", "1", "--runs-dir", dir.join("runs").to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("GAMEDAY_STATE_DIR", dir.join("state"))
        .env_remove("RUST_LOG");
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    command
}

pub(crate) fn finish(child: Child, dir: &Path) -> Exit {
    let output = child.wait_with_output().unwrap();
    let journal = std::fs::read_dir(dir.join("runs"))
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("journal.jsonl")).ok())
        .map(|t| t.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
        .unwrap_or_default();
    Exit { code: output.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&output.stdout).into(), stderr: String::from_utf8_lossy(&output.stderr).into(), journal }
}

impl Exit {
    pub(crate) fn events(&self, kind: &str) -> Vec<&serde_json::Value> {
        self.journal.iter().filter(|r| r["event"] == kind).collect()
    }
    fn targets(&self) -> BTreeSet<String> {
        self.events("fault_intent").iter().flat_map(|e| e["targets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string())).collect()
    }
}

/// A sample is one moto call; on a loaded 2-core machine (load average 20,
/// the suite's 8 threads sharing moto's one Python process) answers took
/// over 1 s, a 1 s timeout failed the steady state and the run was refused
/// (docs/performance.md, "The integration suite"). No test here is about a
/// probe's timing, so the timeout is 5 s (the interval may not be shorter).
const CAPACITY: &str = "  - name: capacity\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 6\n    interval: 5s\n    timeout: 5s\n    healthy_after: 1";

fn scenario(account: &str, guards: &str, probes: &str, fault: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: moto-test\nguards:\n  accounts: [\"{account}\"]\n  regions: [us-east-1]\n{guards}\nsteady_state:\n{probes}\nfaults:\n{fault}\nexpected_recoveries:\n  - name: capacity\n    probes: [capacity]\n    recovers_within: 5s\n"
    )
}

/// Polls `check` until it returns Some or `limit` passes.
pub(crate) async fn wait_for<T>(limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(value) = check().await {
            return Some(value);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_instances_touches_only_allowed_targets_and_starts_them_again() {
    let moto = Moto::start();
    let fleet = Fleet::build(&moto.config().await, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let guards = "  require_tags: { gameday: allowed }\n  exclude_tags: { critical: \"true\" }\n  max_targets: 2";
    let fault = "  - name: stop-two\n    kind: stop_instances\n    targets: { tags: { app: web }, count: 2 }\n    duration: 3s";
    let child = spawn(&moto, dir.path(), &scenario(&moto.account, guards, CAPACITY, fault), &moto.account);
    // Every instance seen stopped at any poll while the run lasts. Not the
    // first poll that sees one: moto applies a StopInstances of two ids one
    // instance at a time while another thread answers DescribeInstances, so
    // under load a poll can see the first stopped and the second not yet.
    let mut child = child;
    let mut stopped = BTreeSet::new();
    while child.try_wait().unwrap().is_none() {
        let states = fleet.states().await;
        stopped.extend(states.iter().filter(|(_, s)| matches!(s, InstanceStateName::Stopped | InstanceStateName::Stopping)).map(|(id, _)| id.clone()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exit = finish(child, dir.path());
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    assert_eq!(stopped.len(), 2, "two instances stopped during the run");
    assert_eq!(stopped, exit.targets(), "exactly the journaled targets changed");
    assert!(stopped.iter().all(|id| fleet.asg_instances.contains(id)), "only tagged, allowed instances");
    assert_eq!(fleet.running_in(&fleet.untagged).await, 2, "untagged instances untouched");
    assert_eq!(fleet.running_in(&fleet.excluded).await, 1, "excluded instance untouched");
    assert_eq!(fleet.running_in(&fleet.asg_instances).await, 6, "the revert started them again");
    // The seed chose the two; it does not replay a run on a real account (docs/reports.md).
    let report = std::fs::read_dir(dir.path().join("runs")).unwrap().next().and_then(|d| std::fs::read_to_string(d.ok()?.path().join("report.md")).ok()).unwrap_or_default();
    assert!(
        report.contains("| Seed | 1 (a run on real systems cannot be repeated; `gameday run … --seed 1` chooses the same targets again from the same candidates) |"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_changes_exactly_the_selected_instances() {
    let moto = Moto::start();
    let fleet = Fleet::build(&moto.config().await, 6).await;
    let dir = tempfile::tempdir().unwrap();
    // Name the zone by its AZ ID, as a scenario meant for several accounts would.
    let zones = fleet.ec2.describe_availability_zones().send().await.unwrap();
    let zone_id = zones.availability_zones().iter().find(|z| z.zone_name() == Some("us-east-1a")).and_then(|z| z.zone_id()).unwrap().to_string();
    let fault = format!("  - name: kill\n    kind: terminate_instances\n    targets: {{ groups: [web-asg], zones: [{zone_id}], count: 1 }}");
    let fault = fault.as_str();
    // 5 s, as CAPACITY (why there): a sample timing out under load refused the run.
    let probes = "  - name: capacity\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 0\n    interval: 5s\n    timeout: 5s";
    let exit = finish(spawn(&moto, dir.path(), &scenario(&moto.account, "  max_targets: 1", probes, fault), &moto.account), dir.path());
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    let targets = exit.targets();
    assert_eq!(targets.len(), 1);
    let chosen: Vec<&serde_json::Value> = exit.events("fault_intent").iter().flat_map(|e| e["targets"].as_array().unwrap()).collect();
    assert!(chosen.iter().all(|t| t["zone"] == "us-east-1a"), "the zone named by its ID ({zone_id}) is us-east-1a: {chosen:?}");
    let states = fleet.states().await;
    for (id, state) in &states {
        let expected = if targets.contains(id) { InstanceStateName::Terminated } else { InstanceStateName::Running };
        if fleet.asg_instances.contains(id) || fleet.untagged.contains(id) || fleet.excluded.contains(id) {
            assert_eq!(state, &expected, "{id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn az_outage_network_swaps_the_zone_acl_and_restores_it() {
    let moto = Moto::start();
    let fleet = Fleet::build(&moto.config().await, 6).await;
    let before = fleet.acl_of_subnets().await;
    let acls_before = fleet.acl_count().await;
    let subnet_a = fleet.subnets["us-east-1a"].clone();
    let dir = tempfile::tempdir().unwrap();
    let fault = "  - name: cut-a\n    kind: az_outage\n    zone: us-east-1a\n    mode: network\n    duration: 3s";
    let child = spawn(&moto, dir.path(), &scenario(&moto.account, "  max_azs: 1", CAPACITY, fault), &moto.account);
    let during = wait_for(Duration::from_secs(30), async || {
        let now = fleet.acl_of_subnets().await;
        (now.get(&subnet_a) != before.get(&subnet_a)).then_some(now)
    })
    .await;
    let exit = finish(child, dir.path());
    let during = during.unwrap_or_else(|| {
        panic!(
            "the zone's subnet did not move to another network ACL during the run\n{}\n{}\n{:?}\n{:?}",
            exit.stdout,
            exit.stderr,
            exit.events("fault_intent"),
            exit.events("fault_reverted")
        )
    });
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    assert_eq!(during.get(&fleet.subnets["us-east-1b"]), before.get(&fleet.subnets["us-east-1b"]), "other zones untouched");
    assert_eq!(fleet.acl_of_subnets().await, before, "original associations restored");
    assert_eq!(fleet.acl_count().await, acls_before, "the deny-all ACL was deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_failover_inverts_the_primary_health_check_and_restores_it() {
    let moto = Moto::start();
    let fleet = Fleet::build(&moto.config().await, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let fault = "  - name: flip\n    kind: dns_failover\n    hosted_zone: example.com\n    record: api.example.com\n    fail: primary\n    duration: 2s";
    let probes = CAPACITY.replace("min_in_service: 6", "min_in_service: 3");
    let child = spawn(&moto, dir.path(), &scenario(&moto.account, "", &probes, fault), &moto.account);
    let check = fleet.primary_health_check.clone();
    let inverted = wait_for(Duration::from_secs(30), async || fleet.inverted(&check).await.then_some(())).await;
    let exit = finish(child, dir.path());
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    assert!(inverted.is_some(), "the primary health check was inverted during the run");
    assert!(!fleet.inverted(&check).await, "and restored afterwards");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_account_is_refused_before_any_mutating_call() {
    let (moto, fleet) = Fleet::shared().await;
    let before = (fleet.states().await, fleet.acl_of_subnets().await);
    let dir = tempfile::tempdir().unwrap();
    let fault = "  - name: stop-two\n    kind: stop_instances\n    targets: { groups: [web-asg], count: 2 }\n    duration: 3s";
    let exit = finish(spawn(moto, dir.path(), &scenario(&moto.account, "", CAPACITY, fault), "999999999999"), dir.path());
    assert_eq!(exit.code, 5, "{}\n{}", exit.stdout, exit.stderr);
    let said = format!("the credentials belong to account {}, but environment `moto` is account 999999999999; nothing was changed", moto.account);
    assert!(exit.stderr.contains(&said), "{}", exit.stderr);
    assert!(exit.journal.is_empty(), "refused before the run began");
    assert_eq!((fleet.states().await, fleet.acl_of_subnets().await), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_probes_read_capacity_target_health_and_route53() {
    // 5 s timeouts, as for CAPACITY: under load a 1 s one failed the steady state.
    let (moto, fleet) = Fleet::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let probes = format!(
        "{CAPACITY}\n  - name: targets\n    kind: target_health\n    target_group: web-tg\n    min_healthy: 6\n    interval: 5s\n    timeout: 5s\n  - name: primary\n    kind: route53_health_check\n    health_check: {}\n    interval: 5s\n    timeout: 5s",
        fleet.primary_health_check
    );
    let fault = "  - name: note\n    kind: command\n    inject: \"true\"\n    revert: \"true\"\n    duration: 1s";
    let exit = finish(spawn(moto, dir.path(), &scenario(&moto.account, "", &probes, fault), &moto.account), dir.path());
    let steady = exit.events("steady_state");
    assert_eq!(steady.len(), 1, "{}\n{}", exit.stdout, exit.stderr);
    assert_eq!(steady[0]["healthy"], true, "{}", steady[0]);
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    let observed: Vec<String> = exit.events("sample").iter().map(|s| s["observed"].as_str().unwrap().to_string()).collect();
    assert!(observed.iter().any(|o| o == "6 in service (want ≥ 6)"), "{observed:?}");
    assert!(observed.iter().any(|o| o == "6 healthy (want ≥ 6)"), "{observed:?}");
    assert!(observed.iter().any(|o| o == "healthy (1/1 checkers; want healthy)"), "{observed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn via_fis_a_fault_is_an_experiment_that_is_followed_stopped_and_cleaned_up() {
    let moto = Moto::start();
    let config = moto.config().await;
    let fleet = Fleet::build(&config, 6).await;
    let fis = aws_sdk_fis::Client::new(&config);
    let dir = tempfile::tempdir().unwrap();
    let fault = "  - name: stop-two\n    kind: stop_instances\n    targets: { groups: [web-asg], count: 2 }\n    duration: 3s";
    let scenario = scenario(&moto.account, "  max_targets: 2", CAPACITY, fault).replace("name: moto-test\n", "name: moto-test\nvia: fis\n");
    let child = spawn_with(&moto, dir.path(), &scenario, &moto.account, &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account));
    let experiment = wait_for(Duration::from_secs(30), async || {
        let out = fis.list_experiments().send().await.ok()?;
        out.experiments().first().map(|e| (e.id().unwrap().to_string(), e.experiment_template_id().unwrap().to_string()))
    })
    .await;
    let exit = finish(child, dir.path());
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    let (experiment, template) = experiment.expect("an FIS experiment was started during the run");
    let intent = &exit.events("fault_intent")[0]["effect"];
    assert_eq!(intent["effect"], "fis_experiment");
    let arns = intent["template"]["targets"]["stop-two-instances"]["resourceArns"].as_array().unwrap();
    assert_eq!(arns.len(), 2, "the template names exactly the instances the guards chose");
    assert!(arns.iter().all(|a| fleet.asg_instances.iter().any(|id| a.as_str().unwrap().ends_with(id.as_str()))));
    assert_eq!(intent["template"]["actions"]["stop-two"]["parameters"]["startInstancesAfterDuration"], "PT3S");
    let state = fis.get_experiment().id(&experiment).send().await.unwrap();
    let status = state.experiment().unwrap().state().unwrap().status().unwrap().as_str().to_string();
    assert!(["stopped", "completed"].contains(&status.as_str()), "the revert stopped it: {status}");
    assert!(fis.get_experiment_template().id(&template).send().await.is_err(), "the template was deleted");
    assert!(exit.events("observed").iter().any(|o| o["message"].as_str().unwrap().contains("safety lever")), "the emulator's missing safety lever is said, not hidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_with_fis_shows_gamedays_targets_and_fis_preview_without_side_effects() {
    let (moto, fleet) = Fleet::shared().await;
    let config = moto.config().await;
    let before = fleet.states().await;
    let dir = tempfile::tempdir().unwrap();
    let fault = "  - name: stop-two\n    kind: stop_instances\n    targets: { groups: [web-asg], count: 2 }\n    duration: 3s";
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, scenario(&moto.account, "  max_targets: 2", CAPACITY, fault).replace("name: moto-test\n", "name: moto-test\nvia: fis\n")).unwrap();
    let project = moto.project_with(dir.path(), &moto.account, &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account));
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
    command.args(["plan", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap(), "--seed", "1"]);
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("targets: 2 chosen of 6 matched"), "{stdout}");
    assert!(stdout.contains("FIS preview of `stop-two` (dry run, actionsMode=skip-all):"), "{stdout}");
    assert_eq!(fleet.states().await, before, "plan changed nothing");
    let templates = aws_sdk_fis::Client::new(&config).list_experiment_templates().send().await.unwrap();
    assert!(templates.experiment_templates().is_empty(), "the preview cleaned up after itself");
}

/// An HTTP server on 127.0.0.1 that answers every request `200 OK`, but
/// only after `delay`; returns its port.
fn slow_http_server(delay: Duration) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                use std::io::{BufRead, Write};
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                std::thread::sleep(delay);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            });
        }
    });
    port
}

/// Sample times (`t`) of one probe between two journal times.
fn sample_times(exit: &Exit, probe: &str, from: u64, to: u64) -> Vec<u64> {
    exit.events("sample").iter().filter(|s| s["probe"] == probe).map(|s| s["t"].as_u64().unwrap()).filter(|t| (from..=to).contains(t)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_aws_a_slow_probe_never_delays_another() {
    let (moto, _fleet) = Fleet::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let slow = slow_http_server(Duration::from_secs(3));
    // An AWS-reading probe every 500 ms beside a page that takes 3 s to answer.
    let probes = format!(
        "  - name: capacity\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 6\n    interval: 500ms\n    timeout: 500ms\n  - name: slow-page\n    kind: http\n    url: http://127.0.0.1:{slow}/\n    interval: 5s\n    timeout: 5s"
    );
    let fault = "  - name: note\n    kind: command\n    inject: \"true\"\n    revert: \"true\"\n    duration: 8s";
    let exit = finish(spawn(moto, dir.path(), &scenario(&moto.account, "", &probes, fault), &moto.account), dir.path());
    assert_eq!(exit.events("fault_reverted").len(), 1, "the run went through: {}\n{}", exit.stdout, exit.stderr);
    let applied = exit.events("fault_applied")[0]["t"].as_u64().unwrap();
    let reverted = exit.events("fault_reverted")[0]["t"].as_u64().unwrap();
    let slow_samples: Vec<&serde_json::Value> = exit.events("sample").into_iter().filter(|s| s["probe"] == "slow-page" && s["t"].as_u64().unwrap() >= applied).collect();
    assert!(!slow_samples.is_empty() && slow_samples.iter().all(|s| s["latency_ms"].as_u64().unwrap() >= 3_000), "the page was slow: {slow_samples:?}");
    // While the page took 3 s an answer, capacity kept sampling: in one loop
    // with the page, each of its samples would have waited for the page's, so
    // no two would be less than 3 s apart, and at most 3 would fit in the 8 s.
    // The lines are drawn there, not at the 500 ms cadence, so that a loaded
    // machine answering moto slowly does not fail the test (the runner's
    // cadence is measured by `cargo bench --bench realtime`, docs/performance.md).
    let capacity = sample_times(&exit, "capacity", applied, reverted);
    let widest_gap = capacity.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(u64::MAX);
    assert!(capacity.len() > 3 && widest_gap < 3_000, "{} capacity samples in the 8 s fault, widest gap {widest_gap} ms: {capacity:?}", capacity.len());
}

/// A zone's gray failure on AWS, through FIS only. moto's FIS accepts the
/// template and runs the experiment, but acts on nothing (no SSM command
/// reaches an instance): what is checked is what gameday hands FIS, read
/// back from moto with GetExperimentTemplate while it runs, and that the
/// experiment is stopped (read back) at every ending: a halted run, and
/// `recover` after kill -9.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zones_gray_failure_is_an_fis_network_document_on_its_instances_stopped_on_every_ending() {
    let moto = Moto::start_held_fis();
    // moto moves an experiment one status on at every GetExperiment by default,
    // so the revert's first read would find it `completed` and never stop it.
    // Every second read instead: it runs until gameday stops it.
    let config = moto.config().await;
    let fleet = Fleet::build(&config, 6).await;
    let fis = aws_sdk_fis::Client::new(&config);
    let dir = tempfile::tempdir().unwrap();
    let fis_role = &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account);
    // The instances the guards allow in us-east-1a: the group's there, not the untagged ones.
    let allowed_in_a = group_instance_arns_in(&fleet, &moto.account, "us-east-1a").await;
    assert!(!allowed_in_a.is_empty());
    let fault = "  - name: slow-a\n    kind: gray_failure\n    zone: us-east-1a\n    latency: 250ms\n    interface: ens5\n    duration: 10m";
    let text = scenario(&moto.account, "  require_tags: { gameday: allowed }", CAPACITY, fault);

    // The plan names the real mechanism: the document, its parameters, the zone.
    let file = dir.path().join("plan.yaml");
    std::fs::write(&file, &text).unwrap();
    let project = moto.project_with(dir.path(), &moto.account, fis_role);
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
    command.args(["plan", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap(), "--seed", "1"]);
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        stdout.contains("touches: FIS aws:ssm:send-command of SSM document AWSFIS-Run-Network-Latency (DelayMilliseconds=250, DurationSeconds=600, InstallDependencies=True, Interface=ens5) on the chosen instances in us-east-1a"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("targets: {} chosen of {} matched", allowed_in_a.len(), allowed_in_a.len() + fleet.untagged.len())), "{stdout}");

    // A run halted while the gray failure is in place. Every AWS call gameday makes is logged, for the IAM check below.
    let log = dir.path().join("calls.log");
    let child = run_command(&moto, dir.path(), &text, &moto.account, fis_role).env("GAMEDAY_AWS_CALL_LOG", &log).spawn().unwrap();
    let (experiment, template_id) = experiment_while_running(&fis, 0).await;
    let template = template_of(&fis, &template_id).await;
    let parameters = assert_sends_document(
        &template,
        "slow-a",
        "AWSFIS-Run-Network-Latency",
        serde_json::json!({ "DelayMilliseconds": "250", "DurationSeconds": "600", "InstallDependencies": "True", "Interface": "ens5" }),
    );
    assert_eq!(parameters["duration"], "PT10M");
    assert_eq!(template.actions().unwrap()["slow-a"].targets().unwrap()["Instances"], "slow-a-instances");
    let target = &template.targets().unwrap()["slow-a-instances"];
    assert_eq!(target.resource_type(), Some("aws:ec2:instance"));
    assert_eq!(target.selection_mode(), Some("ALL"));
    let arns: BTreeSet<String> = target.resource_arns().iter().cloned().collect();
    assert_eq!(arns, allowed_in_a, "exactly the instances of us-east-1a the guards allow");
    let state = dir.path().join("state");
    halt(&state, "gray failure test");
    let exit = finish(child, dir.path());
    assert!([5, 130].contains(&exit.code), "{}\n{}", exit.stdout, exit.stderr);
    assert_eq!(exit.events("fault_reverted").len(), 1, "{}", exit.stderr);
    stopped(&fis, &experiment, &template_id).await;

    // kill -9 while it is in place (another state directory: the halt above holds the first), then `recover` finds the experiment by its tag and stops it.
    kill_then_recover_stops_the_experiment(&moto, &fis, &dir.path().join("killed"), &text, fis_role, &log).await;

    // gameday's own calls are FIS calls, each allowed by `gameday iam-policy`; the SSM command is FIS's to send.
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&log, &file, &[]);
    for call in ["fis:CreateExperimentTemplate", "fis:StartExperiment", "fis:StopExperiment", "fis:DeleteExperimentTemplate", "fis:ListExperimentTemplates"] {
        assert!(recorded.contains(call), "the log records {call}: {recorded:?}");
    }
    assert!(
        !recorded.iter().any(|c| c.starts_with("ssm:") || c.starts_with("ec2:Stop") || c.starts_with("ec2:Reboot")),
        "gameday never acts on the instances itself: {recorded:?}"
    );
}

/// What FIS cannot make of a gray failure is refused by `plan` and `run`
/// before anything is made, with the reason: a region's, and latency with
/// packet loss (FIS's network documents cannot run in parallel).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gray_failure_fis_cannot_make_is_refused_before_anything_is_made() {
    let moto = Moto::start();
    let config = moto.config().await;
    let _fleet = Fleet::build(&config, 3).await;
    let fis = aws_sdk_fis::Client::new(&config);
    let fis_role = &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account);
    for (fault, reason) in [
        ("region: us-east-1, error_rate: 5", "a gray failure of a whole region cannot be made in a real account"),
        ("zone: us-east-1a, error_rate: 5, latency: 100ms", "FIS's network documents cannot run in parallel on one instance"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let text = scenario(&moto.account, "", CAPACITY, &format!("  - {{ name: gray, kind: gray_failure, {fault}, duration: 5m }}"));
        let file = dir.path().join("plan.yaml");
        std::fs::write(&file, &text).unwrap();
        let project = moto.project_with(dir.path(), &moto.account, fis_role);
        let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
        command.args(["plan", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap(), "--seed", "1"]);
        for (key, value) in moto.env() {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(7), "{fault}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(reason), "{fault}: {}", String::from_utf8_lossy(&output.stderr));
        let exit = finish(spawn_with(&moto, dir.path(), &text, &moto.account, fis_role), dir.path());
        assert_eq!(exit.code, 7, "{fault}: {}", exit.stderr);
        assert!(exit.stdout.contains(&format!("environment error: fault `gray`: {reason}")), "{fault}: {}\n{}", exit.stdout, exit.stderr);
        assert!(exit.events("fault_intent").is_empty(), "{fault}: nothing was about to be made");
    }
    let templates = fis.list_experiment_templates().send().await.unwrap();
    assert!(templates.experiment_templates().is_empty(), "no template was created");
    assert!(fis.list_experiments().send().await.unwrap().experiments().is_empty(), "no experiment was started");
}

/// A Region cut off on AWS, through FIS only: gameday never edits a route
/// table itself. The VPC and subnets are made in moto; moto's FIS accepts
/// the template and runs the experiment but acts on nothing (no route table
/// changes), so what is checked is what gameday hands FIS (read back with
/// GetExperimentTemplate while it runs: the action, the Region cut off, the
/// duration, exactly the subnets the guards allow) and that the experiment
/// is stopped, read back, at every ending: a halted run, and `recover`
/// after kill -9.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_outage_is_an_fis_cross_region_isolation_of_the_chosen_subnets_stopped_on_every_ending() {
    let moto = Moto::start_held_fis();
    // Every second GetExperiment moves the experiment on: it runs until gameday stops it.
    let config = moto.config().await;
    let _fleet = Fleet::build(&config, 6).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let fis = aws_sdk_fis::Client::new(&config);
    let vpc = ec2.create_vpc().cidr_block("10.8.0.0/16").send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = async |cidr: &str, zone: &str, tags: &[(&str, &str)]| {
        let mut spec = aws_sdk_ec2::types::TagSpecification::builder().resource_type(aws_sdk_ec2::types::ResourceType::Subnet);
        for (k, v) in tags {
            spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build());
        }
        let out = ec2.create_subnet().vpc_id(&vpc).cidr_block(cidr).availability_zone(zone).tag_specifications(spec.build()).send().await.unwrap();
        out.subnet().unwrap().subnet_id().unwrap().to_string()
    };
    let allowed_a = subnet("10.8.0.0/24", "us-east-1a", &[("tier", "app"), ("gameday", "allowed")]).await;
    let allowed_b = subnet("10.8.1.0/24", "us-east-1b", &[("tier", "app"), ("gameday", "allowed")]).await;
    let _unallowed = subnet("10.8.2.0/24", "us-east-1c", &[("tier", "app")]).await;
    let _database = subnet("10.8.3.0/24", "us-east-1a", &[("tier", "db"), ("gameday", "allowed")]).await;
    let allowed: BTreeSet<String> = [&allowed_a, &allowed_b].iter().map(|s| format!("arn:aws:ec2:us-east-1:{}:subnet/{s}", moto.account)).collect();

    let dir = tempfile::tempdir().unwrap();
    let fis_role = &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", moto.account);
    let fault = format!("  - name: cut-west\n    kind: region_outage\n    region: us-west-2\n    subnets: {{ vpc: {vpc}, tags: {{ tier: app }} }}\n    duration: 10m");
    let text = scenario(&moto.account, "  require_tags: { gameday: allowed }", CAPACITY, &fault).replace("regions: [us-east-1]", "regions: [us-east-1, us-west-2]");
    let plan = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan.yaml");
        std::fs::write(&file, text).unwrap();
        let project = moto.project_with(dir.path(), &moto.account, fis_role);
        let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
        command.args(["plan", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap(), "--seed", "1"]);
        for (key, value) in moto.env() {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).to_string(), String::from_utf8_lossy(&output.stderr).to_string())
    };

    // The plan names the mechanism, both Regions and the subnets chosen.
    let (code, stdout, stderr) = plan(&text);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("  regions: us-east-1, us-west-2\n"), "{stdout}");
    assert!(
        stdout.contains("touches: FIS aws:network:route-table-disrupt-cross-region-connectivity: traffic from the chosen subnets of us-east-1 to us-west-2 blocked for 10m"),
        "{stdout}"
    );
    assert!(stdout.contains("targets: 2 chosen of 3 matched"), "{stdout}");
    assert!(stdout.contains(&format!("    - {allowed_a} us-east-1a")) && stdout.contains(&format!("    - {allowed_b} us-east-1b")), "{stdout}");

    // Refusals, before anything is made: the Region cut off outside `regions`
    // (the guard, 5); the environment's own Region (the environment, 7); no
    // duration (the scenario, 3, at its file:line:column); one over FIS's 12 hours (7).
    let (code, stdout, _) = plan(&text.replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1]"));
    assert_eq!(code, Some(5), "{stdout}");
    assert!(stdout.contains("regions: us-west-2 not in the allowed regions (us-east-1)"), "{stdout}");
    let (code, _, stderr) = plan(&text.replace("region: us-west-2", "region: us-east-1"));
    assert_eq!(code, Some(7), "{stderr}");
    assert!(stderr.contains("`region` cannot be us-east-1 itself"), "{stderr}");
    let (code, _, stderr) = plan(&text.replace("\n    duration: 10m", ""));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("`region_outage` stays in place until reverted, so it needs a `duration`") && stderr.contains("plan.yaml:17:5"), "{stderr}");
    let (code, _, stderr) = plan(&text.replace("duration: 10m", "duration: 13h"));
    assert_eq!(code, Some(7), "{stderr}");
    assert!(stderr.contains("set a `duration` up to 12h"), "{stderr}");
    assert!(fis.list_experiment_templates().send().await.unwrap().experiment_templates().is_empty(), "no plan created a template");

    // A run halted while the Region is cut off; every AWS call gameday makes is logged.
    let log = dir.path().join("calls.log");
    let child = run_command(&moto, dir.path(), &text, &moto.account, fis_role).env("GAMEDAY_AWS_CALL_LOG", &log).spawn().unwrap();
    let (experiment, template_id) = experiment_while_running(&fis, 0).await;
    let template = template_of(&fis, &template_id).await;
    let action = &template.actions().unwrap()["cut-west"];
    assert_eq!(action.action_id(), Some("aws:network:route-table-disrupt-cross-region-connectivity"));
    let parameters = action.parameters().unwrap();
    assert_eq!(parameters["region"], "us-west-2");
    assert_eq!(parameters["duration"], "PT10M");
    assert_eq!(parameters.len(), 2, "{parameters:?}");
    assert_eq!(action.targets().unwrap()["Subnets"], "cut-west-subnets");
    let target = &template.targets().unwrap()["cut-west-subnets"];
    assert_eq!(target.resource_type(), Some("aws:ec2:subnet"));
    assert_eq!(target.selection_mode(), Some("ALL"));
    let arns: BTreeSet<String> = target.resource_arns().iter().cloned().collect();
    assert_eq!(arns, allowed, "exactly the app subnets of the VPC the guards allow");
    let state = dir.path().join("state");
    halt(&state, "region isolation test");
    let exit = finish(child, dir.path());
    assert!([5, 130].contains(&exit.code), "{}\n{}", exit.stdout, exit.stderr);
    let intent = exit.events("fault_intent");
    assert_eq!(intent.len(), 1, "{}", exit.stderr);
    assert_eq!(intent[0]["effect"]["effect"], "fis_experiment", "the intent, with the template, is journaled before the call");
    assert_eq!(exit.events("fault_reverted").len(), 1, "{}", exit.stderr);
    stopped(&fis, &experiment, &template_id).await;

    // kill -9 while the Region is cut off, then `recover` finds the experiment by its tag and stops it.
    kill_then_recover_stops_the_experiment(&moto, &fis, &dir.path().join("killed"), &text, fis_role, &log).await;

    // gameday's own calls are each allowed by `gameday iam-policy`, and none touches a route table.
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&log, &dir.path().join("scenario.yaml"), &[]);
    for call in ["ec2:DescribeSubnets", "fis:CreateExperimentTemplate", "fis:StartExperiment", "fis:StopExperiment", "fis:DeleteExperimentTemplate", "fis:ListExperimentTemplates"]
    {
        assert!(recorded.contains(call), "the log records {call}: {recorded:?}");
    }
    assert!(!recorded.iter().any(|c| c.contains("RouteTable") || c.contains("Route") && c.starts_with("ec2:Create")), "gameday never edits routes itself: {recorded:?}");
}

/// The template FIS holds for `id`, read back from FIS.
pub(crate) async fn template_of(fis: &aws_sdk_fis::Client, id: &str) -> aws_sdk_fis::types::ExperimentTemplate {
    fis.get_experiment_template().id(id).send().await.unwrap().experiment_template().unwrap().clone()
}

/// The ARNs of the fleet's group instances in `zone` (the ones its guards allow).
pub(crate) async fn group_instance_arns_in(fleet: &Fleet, account: &str, zone: &str) -> BTreeSet<String> {
    let described = fleet.ec2.describe_instances().set_instance_ids(Some(fleet.asg_instances.clone())).send().await.unwrap();
    described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.placement().and_then(|p| p.availability_zone()) == Some(zone))
        .map(|i| format!("arn:aws:ec2:us-east-1:{account}:instance/{}", i.instance_id().unwrap()))
        .collect()
}

/// The template's action `name` runs the SSM document `document` through
/// `aws:ssm:send-command` with exactly `parameters` (FIS hands them to SSM as
/// a JSON string); its parameters, for what a test checks beside them.
pub(crate) fn assert_sends_document<'t>(
    template: &'t aws_sdk_fis::types::ExperimentTemplate,
    name: &str,
    document: &str,
    parameters: serde_json::Value,
) -> &'t std::collections::HashMap<String, String> {
    let action = &template.actions().unwrap()[name];
    assert_eq!(action.action_id(), Some("aws:ssm:send-command"));
    let sent = action.parameters().unwrap();
    assert_eq!(sent["documentArn"], format!("arn:aws:ssm:us-east-1::document/{document}"));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&sent["documentParameters"]).unwrap(), parameters);
    sent
}

/// `gameday halt`, as a person would type it, for the runs whose state directory is `state`.
pub(crate) fn halt(state: &Path, reason: &str) {
    let halt = Command::new(env!("CARGO_BIN_EXE_gameday")).args(["halt", "--reason", reason]).env("GAMEDAY_STATE_DIR", state).output().unwrap();
    assert_eq!(halt.status.code(), Some(0), "{}", String::from_utf8_lossy(&halt.stderr));
}

/// The experiment FIS runs once more than `after` experiments exist: its id and its template's.
pub(crate) async fn experiment_while_running(fis: &aws_sdk_fis::Client, after: usize) -> (String, String) {
    wait_for(Duration::from_secs(60), async || {
        let out = fis.list_experiments().send().await.ok()?;
        (out.experiments().len() > after).then(|| {
            let e = out.experiments().iter().find(|e| e.state().and_then(|s| s.status()).is_some_and(|s| s.as_str() == "running"))?;
            Some((e.id()?.to_string(), e.experiment_template_id()?.to_string()))
        })?
    })
    .await
    .expect("an FIS experiment runs")
}

/// The experiment was stopped and its template deleted, both read back from FIS.
pub(crate) async fn stopped(fis: &aws_sdk_fis::Client, experiment: &str, template: &str) {
    let state = fis.get_experiment().id(experiment).send().await.unwrap();
    let status = state.experiment().unwrap().state().unwrap().status().unwrap().as_str().to_string();
    assert_eq!(status, "stopped", "the experiment was stopped, read back");
    assert!(fis.get_experiment_template().id(template).send().await.is_err(), "the template was deleted");
}

/// Runs the FIS scenario in its own directory, kills it with SIGKILL once its
/// experiment runs (the second of the test), then `gameday recover` must find
/// the experiment by its tag and stop it (read back).
pub(crate) async fn kill_then_recover_stops_the_experiment(moto: &Moto, fis: &aws_sdk_fis::Client, killed: &Path, text: &str, fis_role: &str, log: &Path) {
    std::fs::create_dir_all(killed).unwrap();
    let mut child = run_command(moto, killed, text, &moto.account, fis_role).env("GAMEDAY_AWS_CALL_LOG", log).spawn().unwrap();
    let (experiment, template_id) = experiment_while_running(fis, 1).await;
    child.kill().unwrap();
    child.wait().unwrap();
    recover_killed(moto, killed, log);
    stopped(fis, &experiment, &template_id).await;
}

/// `gameday recover --yes` of the runs `run_command` made in `killed`, its
/// calls logged to `log`; it must exit 0.
pub(crate) fn recover_killed(moto: &Moto, killed: &Path, log: &Path) {
    let mut recover = Command::new(env!("CARGO_BIN_EXE_gameday"));
    recover
        .args(["recover", "--runs-dir", killed.join("runs").to_str().unwrap(), "--project", killed.join("gameday.yaml").to_str().unwrap(), "--yes"])
        .env("GAMEDAY_STATE_DIR", killed.join("state"))
        .env("GAMEDAY_AWS_CALL_LOG", log);
    for (key, value) in moto.env() {
        recover.env(key, value);
    }
    let out = recover.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
