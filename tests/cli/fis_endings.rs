//! The faults `via: fis` makes that are not issue 14's own (`stop_instances`,
//! `az_outage` network, `asg_capacity_error`), through the binary against
//! moto, on the endings where gameday must stop them: a halted run, and
//! `recover` after kill -9. Their calls are checked against `gameday
//! iam-policy` in `aws_side_tools`; here, each experiment's state is read
//! back. The gray failures, the Region isolation and the database failover
//! FIS makes have tests of their own (`aws`, `cross_zone`, `databases_fis`).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::aws::{finish, halt, recover_killed, run_command, stopped, template_of, wait_for};
use crate::fleet::Fleet;
use crate::moto::Moto;

/// Sampled every 5 s with a 5 s timeout, as `aws`'s CAPACITY (why there:
/// under load a moto answer took over 1 s); `min_in_service: 0`, as the
/// stop takes two instances out of service.
fn scenario(account: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: fis-endings\nvia: fis\nguards:\n  accounts: [\"{account}\"]\n  regions: [us-east-1]\nsteady_state:\n  - {{ name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 0, interval: 5s, timeout: 5s }}\nfaults:\n  - {{ name: stop-two, kind: stop_instances, targets: {{ groups: [web-asg], count: 2 }}, duration: 10m }}\n  - {{ name: cut-a, kind: az_outage, zone: us-east-1a, mode: network, duration: 10m }}\n  - {{ name: no-launch, kind: asg_capacity_error, zones: [us-east-1b], groups: [web-asg], duration: 10m }}\nexpected_recoveries:\n  - {{ name: capacity, probes: [capacity], recovers_within: 5s }}\n"
    )
}

/// The FIS actions of the three faults, one experiment each.
const ACTIONS: [&str; 3] = ["aws:ec2:asg-insufficient-instance-capacity-error", "aws:ec2:stop-instances", "aws:network:disrupt-connectivity"];

/// The account's experiments, once three of them run: each one's id and its
/// template's, and the actions the templates hold (read back from FIS).
async fn three_running(fis: &aws_sdk_fis::Client) -> (Vec<(String, String)>, BTreeSet<String>) {
    let running = wait_for(Duration::from_secs(60), async || {
        let out = fis.list_experiments().send().await.ok()?;
        let running: Vec<(String, String)> = out
            .experiments()
            .iter()
            .filter(|e| e.state().and_then(|s| s.status()).is_some_and(|s| s.as_str() == "running"))
            .filter_map(|e| Some((e.id()?.to_string(), e.experiment_template_id()?.to_string())))
            .collect();
        (running.len() == 3).then_some(running)
    })
    .await
    .expect("three FIS experiments run");
    let mut actions = BTreeSet::new();
    for (_, template) in &running {
        actions.extend(template_of(fis, template).await.actions().unwrap().values().filter_map(|a| a.action_id()).map(str::to_string));
    }
    (running, actions)
}

/// One account on the server that holds FIS experiments, its fleet, and
/// the scenario's run command in `dir` with its AWS calls logged to
/// `dir/calls.log`.
struct Held {
    moto: Moto,
    fis: aws_sdk_fis::Client,
    dir: tempfile::TempDir,
}

impl Held {
    async fn new() -> Held {
        // Every second GetExperiment moves an experiment on: it runs until gameday stops it.
        let moto = Moto::start_held_fis();
        let config = moto.config().await;
        Fleet::build(&config, 6).await;
        Held { fis: aws_sdk_fis::Client::new(&config), moto, dir: tempfile::tempdir().unwrap() }
    }

    fn log(&self) -> std::path::PathBuf {
        self.dir.path().join("calls.log")
    }

    fn run(&self) -> std::process::Child {
        let fis_role = &format!("    fis_role_arn: arn:aws:iam::{}:role/gameday-fis\n", self.moto.account);
        run_command(&self.moto, self.dir.path(), &scenario(&self.moto.account), &self.moto.account, fis_role).env("GAMEDAY_AWS_CALL_LOG", self.log()).spawn().unwrap()
    }

    /// The run's experiments, once three run, after their templates were
    /// read back: one for each fault's action.
    async fn three_running(&self) -> Vec<(String, String)> {
        let (running, actions) = three_running(&self.fis).await;
        assert_eq!(actions, ACTIONS.iter().map(|a| a.to_string()).collect::<BTreeSet<String>>());
        running
    }

    /// Every recorded call is in `gameday iam-policy`; the calls.
    fn calls_in_policy(&self) -> BTreeSet<String> {
        crate::aws_side_tools::recorded_calls_in_policy(&self.log(), &self.dir.path().join("scenario.yaml"), &[]).0
    }
}

/// moto's FIS accepts each template and runs its experiment but acts on
/// nothing (no instance stops, no subnet is cut, no launch fails), so what
/// is checked is what gameday hands FIS (each fault's action, read back
/// with GetExperimentTemplate while it runs) and that every experiment is
/// stopped and its template deleted, read back: here on a run halted while
/// the three faults are in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_experiment_of_a_via_fis_run_is_stopped_when_the_run_is_halted() {
    let held = Held::new().await;
    let child = held.run();
    let running = held.three_running().await;
    halt(&held.dir.path().join("state"), "fis endings test");
    let exit = finish(child, held.dir.path());
    assert!([5, 130].contains(&exit.code), "{}\n{}", exit.stdout, exit.stderr);
    assert_eq!(exit.events("fault_intent").len(), 3, "{}", exit.stderr);
    assert_eq!(exit.events("fault_reverted").len(), 3, "{}", exit.stderr);
    for (experiment, template) in &running {
        stopped(&held.fis, experiment, template).await;
    }
    let recorded = held.calls_in_policy();
    assert!(recorded.contains("fis:StopExperiment"), "{recorded:?}");
}

/// As above, on the other ending: kill -9 while the three faults are in
/// place, then `recover` finds each experiment by its tag and stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_experiment_of_a_via_fis_run_is_stopped_by_recover_after_kill_9() {
    let held = Held::new().await;
    let mut child = held.run();
    let running = held.three_running().await;
    child.kill().unwrap();
    child.wait().unwrap();
    recover_killed(&held.moto, held.dir.path(), &held.log());
    for (experiment, template) in &running {
        stopped(&held.fis, experiment, template).await;
    }
    let recorded = held.calls_in_policy();
    assert!(recorded.contains("fis:StopExperiment") && recorded.contains("fis:ListExperimentTemplates"), "{recorded:?}");
}
