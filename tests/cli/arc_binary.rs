//! The three ARC steps through the `gameday` binary (issue 14): the
//! `zonal_shift` recovery step, `kind: practice_run` and the `region_switch`
//! DR step, each run to its end and each killed with kill -9 while live,
//! then `gameday recover`, with ARC's state read back after each.
//!
//! ARC is answered by `arc_standin` (moto has no ARC, and aws-smithy-mocks
//! cannot serve another process), reached through the SDK's standard
//! per-service variables `AWS_ENDPOINT_URL_ARC_ZONAL_SHIFT` and
//! `AWS_ENDPOINT_URL_ARC_REGION_SWITCH`, while STS and EC2 (the account
//! check, the zone's AZ ID) go to moto through `AWS_ENDPOINT_URL`. The
//! project names no `endpoint_url`: one set there is programmatic, and
//! aws-config lets a programmatic endpoint win over every per-service
//! variable (`a_project_endpoint_url_wins_over_the_sdks_per_service_variables`).

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use crate::arc_standin::ArcStandIn;
use crate::moto::Moto;
use crate::safety::{command, output, wait_until};

const ALB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/50dc6c495c0c9188";
/// Another team's load balancer: ARC allows one shift at a time per resource, so theirs lives here.
const THEIR_ALB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/payments-alb/7f1e2d3c4b5a6978";
const PLAN: &str = "arn:aws:arc-region-switch::123456789012:plan/web-dr:abc123";
const THEIR_PLAN: &str = "arn:aws:arc-region-switch::123456789012:plan/payments-dr:def456";
/// moto's us-east-1 zones: us-east-1a is use1-az6 (its `DescribeAvailabilityZones`).
const ZONES: [&str; 3] = ["use1-az6", "use1-az1", "use1-az2"];

/// One test's world: its moto account, its ARC stand-in, a project file
/// naming moto as environment `moto`, a state directory and a call log.
struct Arena {
    moto: Moto,
    arc: ArcStandIn,
    dir: tempfile::TempDir,
    project: PathBuf,
}

impl Arena {
    fn new() -> Arena {
        let moto = Moto::start();
        let arc = ArcStandIn::start();
        arc.add_resource(ALB, "web-alb", &ZONES, Some("web-5xx"));
        arc.add_resource(THEIR_ALB, "payments-alb", &ZONES, Some("payments-5xx"));
        arc.add_plan(PLAN, "web-dr", &["us-east-1", "us-west-2"], true);
        arc.add_plan(THEIR_PLAN, "payments-dr", &["us-east-1", "us-west-2"], false);
        let dir = tempfile::tempdir().unwrap();
        // No `endpoint_url` in the project: the SDK's own variables say where each service is (`command`).
        let project = dir.path().join("gameday.yaml");
        std::fs::write(
            &project,
            format!("apiVersion: gameday/v1\nkind: Project\nenvironments:\n  moto:\n    kind: aws\n    region: us-east-1\n    account: \"{}\"\n", moto.account),
        )
        .unwrap();
        Arena { moto, arc, dir, project }
    }

    fn runs(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    fn scenario(&self, fault: &str, expectation: &str) -> PathBuf {
        let file = self.dir.path().join("scenario.yaml");
        std::fs::write(
            &file,
            format!(
                "apiVersion: gameday/v1\nname: arc-binary\nguards:\n  accounts: [\"{}\"]\n  regions: [us-east-1, us-west-2]\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 1s, timeout: 1s }}\nfaults:\n  - {fault}\nexpected_recoveries:\n  - {expectation}\n",
                self.moto.account
            ),
        )
        .unwrap();
        file
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        self.command_with(&self.project, args)
    }

    fn command_with(&self, project: &Path, args: &[&str]) -> std::process::Command {
        let log = self.log();
        let mut env: Vec<(&str, String)> = self.moto.env().into_iter().map(|(k, v)| (k, v.to_string())).collect();
        env.push(("AWS_ENDPOINT_URL", self.moto.endpoint.clone()));
        env.extend(self.arc.env());
        env.push(("GAMEDAY_AWS_CALL_LOG", log.to_str().unwrap().to_string()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--project", project.to_str().unwrap()]);
        command(&self.dir.path().join("state"), &full, &env)
    }

    fn gameday(&self, args: &[&str]) -> (i32, String, String) {
        output(self.command(args))
    }

    fn plan(&self, file: &Path) -> (i32, String, String) {
        self.gameday(&["plan", file.to_str().unwrap(), "--env", "moto"])
    }

    fn run(&self, file: &Path) -> std::process::Command {
        let runs = self.runs();
        self.command(&["run", file.to_str().unwrap(), "--env", "moto", "--yes", "--runs-dir", runs.to_str().unwrap()])
    }

    fn recover(&self) -> (i32, String, String) {
        let runs = self.runs();
        self.gameday(&["recover", "--runs-dir", runs.to_str().unwrap(), "--yes"])
    }

    fn journal(&self) -> String {
        std::fs::read_dir(self.runs()).ok().and_then(|mut d| d.next()).and_then(|e| std::fs::read_to_string(e.ok()?.path().join("journal.jsonl")).ok()).unwrap_or_default()
    }

    fn result(&self) -> serde_json::Value {
        let dir = std::fs::read_dir(self.runs()).unwrap().next().unwrap().unwrap().path();
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap()
    }

    /// Starts the run and kill -9s it once the journal says the fault was
    /// made (the step is live: ARC has it), before any revert.
    fn run_and_kill_once_applied(&self, file: &Path) {
        let mut child: Child = self.run(file).spawn().unwrap();
        let mut ended = false;
        let applied = wait_until(Duration::from_secs(60), || {
            ended = ended || child.try_wait().unwrap().is_some();
            ended || self.journal().contains("\"fault_applied\"")
        }) && !ended;
        child.kill().unwrap(); // SIGKILL: no revert, no cleanup
        let status = child.wait_with_output().unwrap();
        assert!(applied, "the step was made: {}\n{}", String::from_utf8_lossy(&status.stdout), String::from_utf8_lossy(&status.stderr));
        assert!(!self.journal().contains("\"revert_intent\""), "killed before any revert");
    }

    /// Every call the binary made (run, plan, recover) is in `gameday iam-policy`; the set recorded.
    fn calls_in_policy(&self, file: &Path, expected: &[&str]) {
        let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&self.log(), file, &[]);
        for call in expected {
            assert!(recorded.contains(*call), "the log records {call}: {recorded:?}");
        }
    }
}

/// The `zonal_shift` step through the binary, against the ARC stand-in
/// (moto has no ARC; aws-smithy-mocks cannot serve another process):
/// `plan` reads the resource and its zonal-autoshift status, the run starts
/// the shift away from the zone's AZ ID after journaling its intent, and
/// cancels it at the end: read back from ARC as CANCELED. Every call is in
/// `gameday iam-policy`.
#[test]
fn a_zonal_shift_run_through_the_binary_is_cancelled_at_its_end() {
    let arena = Arena::new();
    let file = arena
        .scenario(&format!("{{ name: shift, kind: zonal_shift, resource: \"{ALB}\", away_from: us-east-1a, duration: 2s }}"), "{ name: ok, probes: [ok], recovers_within: 1s }");
    let (code, stdout, stderr) = arena.plan(&file);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("ARC zonal shift of web-alb away from use1-az6 (zonal autoshift ENABLED)"), "{stdout}");
    assert!(arena.arc.shifts().is_empty(), "plan starts nothing");

    let (code, stdout, stderr) = output(arena.run(&file));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let shifts = arena.arc.shifts();
    assert_eq!(shifts.len(), 1, "{shifts:?}");
    let ours = &shifts[0];
    assert_eq!((ours.resource.as_str(), ours.away_from.as_str(), ours.status.as_str()), (ALB, "use1-az6", "CANCELED"), "read back: cancelled");
    assert!(ours.comment.starts_with("gameday:token=gameday-shift-"), "{}", ours.comment);
    assert!(arena.arc.calls().contains(&format!("CancelZonalShift {}", ours.id)), "{:?}", arena.arc.calls());
    let journal = arena.journal();
    assert!(journal.contains(&ours.comment) && journal.find("\"fault_intent\"") < journal.find("\"fault_applied\""), "the intent, with its comment, before the shift");
    arena.calls_in_policy(&file, &["arc-zonal-shift:GetManagedResource", "arc-zonal-shift:StartZonalShift", "arc-zonal-shift:CancelZonalShift"]);
}

/// kill -9 of gameday while its zonal shift is live, then `gameday
/// recover`, through the binary against the ARC stand-in (moto has no ARC;
/// aws-smithy-mocks cannot serve another process). `plan` shows the
/// leftover shift (ARC's one-shift rule refuses a new run: `resource_busy`);
/// `recover` cancels ours, found by the journal's comment (read back:
/// CANCELED), and leaves another team's shift on their load balancer
/// ACTIVE and untouched; then `plan` passes, and a second `recover` has
/// nothing to do. Every call is in `gameday iam-policy`.
#[test]
fn after_kill_9_recover_cancels_our_zonal_shift_and_leaves_another_teams_alone() {
    let arena = Arena::new();
    // Another game day's comment, on another resource: recover matches its own comment and resource exactly.
    let theirs = arena.arc.start_shift_as_another_team(THEIR_ALB, "use1-az1", "gameday:token=gameday-shift-1764000000000");
    let file = arena
        .scenario(&format!("{{ name: shift, kind: zonal_shift, resource: \"{ALB}\", away_from: us-east-1a, duration: 10m }}"), "{ name: ok, probes: [ok], recovers_within: 1s }");
    arena.run_and_kill_once_applied(&file);
    let ours = arena.arc.shifts().into_iter().find(|s| s.resource == ALB).expect("our shift started");
    assert_eq!(ours.status, "ACTIVE", "killed mid-run: the shift stays");
    let runs = arena.runs();
    // `status` reads the journal alone: no project, no AWS call.
    let (code, stdout, _) = output(command(&arena.dir.path().join("state"), &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 8, "{stdout}");
    assert!(stdout.contains("shift (zonal_shift) is still in place"), "{stdout}");

    let (code, stdout, stderr) = arena.plan(&file);
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("has an active zonal shift ({}, away from use1-az6)", ours.id)) && stdout.contains("resource_busy"), "{stdout}");

    let (code, stdout, stderr) = arena.recover();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("reverted shift"), "{stdout}");
    let shifts = arena.arc.shifts();
    let status = |id: &str| shifts.iter().find(|s| s.id == id).unwrap().status.clone();
    assert_eq!((status(&ours.id).as_str(), status(&theirs).as_str()), ("CANCELED", "ACTIVE"), "ours cancelled, theirs untouched");
    assert!(!arena.arc.calls().iter().any(|c| c.contains(&theirs)), "no call named their shift: {:?}", arena.arc.calls());
    let (code, stdout, _) = output(command(&arena.dir.path().join("state"), &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "settled: {stdout}");

    let (code, stdout, stderr) = arena.plan(&file);
    assert_eq!(code, 0, "the resource is free again: {stdout}\n{stderr}");
    let (code, stdout, _) = arena.recover();
    assert_eq!(code, 0);
    assert!(stdout.contains("nothing in place"), "{stdout}");
    arena.calls_in_policy(&file, &["arc-zonal-shift:GetManagedResource", "arc-zonal-shift:StartZonalShift", "arc-zonal-shift:CancelZonalShift"]);
}

/// `kind: practice_run` through the binary, against the ARC stand-in (moto
/// has no ARC; aws-smithy-mocks cannot serve another process): `plan` reads
/// the practice-run configuration, the run starts the practice run after
/// its intent, and, as ARC runs one 30 minutes, cancels it when the step
/// ends: read back from ARC as CANCELED with the outcome INTERRUPTED, which
/// `result.json` reports. Every call is in `gameday iam-policy`.
#[test]
fn a_practice_run_through_the_binary_is_cancelled_at_its_end_and_reads_interrupted() {
    let arena = Arena::new();
    let file = arena.scenario(
        &format!("{{ name: practice, kind: practice_run, resource: \"{ALB}\", away_from: us-east-1a, duration: 2s }}"),
        "{ name: ok, probes: [ok], after_fault: practice, stays_healthy: true }",
    );
    let (code, stdout, stderr) = arena.plan(&file);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("ARC practice run of web-alb away from use1-az6 (zonal autoshift ENABLED; outcome alarms: web-5xx; blocking alarms: none)"), "{stdout}");

    let (code, stdout, stderr) = output(arena.run(&file));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let shifts = arena.arc.shifts();
    assert_eq!(shifts.len(), 1, "{shifts:?}");
    let ours = &shifts[0];
    assert_eq!((ours.status.as_str(), ours.practice_outcome.as_deref()), ("CANCELED", Some("INTERRUPTED")), "read back: cancelled");
    assert!(arena.arc.calls().contains(&format!("CancelPracticeRun {}", ours.id)), "{:?}", arena.arc.calls());
    let result = arena.result();
    let practice = &result["practice_runs"][0];
    assert_eq!((practice["zonal_shift_id"].as_str(), practice["outcome"].as_str()), (Some(ours.id.as_str()), Some("INTERRUPTED")), "{practice}");
    arena.calls_in_policy(&file, &["arc-zonal-shift:GetManagedResource", "arc-zonal-shift:StartPracticeRun", "arc-zonal-shift:CancelPracticeRun"]);
}

/// kill -9 of gameday while its practice run is live, then `gameday
/// recover`, through the binary against the ARC stand-in (moto has no ARC;
/// aws-smithy-mocks cannot serve another process): `plan` is refused by the
/// leftover practice run (`resource_busy`); `recover` cancels it, found by
/// the journal's comment, and reads it back (CANCELED, INTERRUPTED), while
/// another team's shift stays ACTIVE and untouched; then `plan` passes.
#[test]
fn after_kill_9_recover_cancels_our_practice_run_and_leaves_another_teams_shift_alone() {
    let arena = Arena::new();
    let theirs = arena.arc.start_shift_as_another_team(THEIR_ALB, "use1-az2", "payments on-call: packet loss in use1-az2");
    let file = arena.scenario(
        &format!("{{ name: practice, kind: practice_run, resource: \"{ALB}\", away_from: us-east-1a, duration: 10m }}"),
        "{ name: ok, probes: [ok], after_fault: practice, stays_healthy: true }",
    );
    arena.run_and_kill_once_applied(&file);
    let ours = arena.arc.shifts().into_iter().find(|s| s.resource == ALB).expect("our practice run started");
    assert_eq!((ours.status.as_str(), ours.practice_outcome.as_deref()), ("ACTIVE", Some("PENDING")), "killed mid-run: the practice run goes on");

    let (code, stdout, stderr) = arena.plan(&file);
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("has an active practice run ({}, away from use1-az6)", ours.id)) && stdout.contains("resource_busy"), "{stdout}");

    let (code, stdout, stderr) = arena.recover();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("reverted practice"), "{stdout}");
    let shifts = arena.arc.shifts();
    let read = |id: &str| shifts.iter().find(|s| s.id == id).map(|s| (s.status.clone(), s.practice_outcome.clone())).unwrap();
    assert_eq!(read(&ours.id), ("CANCELED".to_string(), Some("INTERRUPTED".to_string())), "ours cancelled");
    assert_eq!(read(&theirs), ("ACTIVE".to_string(), None), "theirs untouched");
    assert!(!arena.arc.calls().iter().any(|c| c.contains(&theirs)), "no call named their shift: {:?}", arena.arc.calls());

    let (code, stdout, stderr) = arena.plan(&file);
    assert_eq!(code, 0, "the resource is free again: {stdout}\n{stderr}");
    arena.calls_in_policy(&file, &["arc-zonal-shift:GetManagedResource", "arc-zonal-shift:StartPracticeRun", "arc-zonal-shift:CancelPracticeRun"]);
}

/// The `region_switch` DR step through the binary, against the ARC
/// stand-in (moto has no ARC Region switch; aws-smithy-mocks cannot serve
/// another process; the SDK speaks RPCv2-CBOR to it): `plan` reads the
/// plan's Regions, RTO and steps, the run starts the execution after its
/// intent, shows the manual approval it waits on with the command a person
/// runs (gameday never approves), and cancels it at the step's end: read
/// back from ARC as `canceled`. Every call is in `gameday iam-policy`.
#[test]
fn a_region_switch_run_through_the_binary_is_cancelled_at_its_end() {
    let arena = Arena::new();
    let file = arena
        .scenario(&format!("{{ name: switch, kind: region_switch, plan: \"{PLAN}\", target_region: us-west-2, duration: 2s }}"), "{ name: ok, probes: [ok], recovers_within: 1s }");
    let (code, stdout, stderr) = arena.plan(&file);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("ARC Region switch plan web-dr") && stdout.contains("RTO 15 min") && stdout.contains("approve-failover (ManualApproval)"), "{stdout}");
    assert!(arena.arc.executions().is_empty(), "plan starts nothing");

    let (code, stdout, stderr) = output(arena.run(&file));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let executions = arena.arc.executions();
    assert_eq!(executions.len(), 1, "{executions:?}");
    let ours = &executions[0];
    assert_eq!((ours.region.as_str(), ours.action.as_str(), ours.mode.as_str(), ours.state.as_str()), ("us-west-2", "activate", "graceful", "canceled"), "read back: cancelled");
    assert!(ours.comment.contains("gameday:token=gameday-switch-"), "{}", ours.comment);
    assert!(!arena.arc.calls().iter().any(|c| c.starts_with("ApprovePlanExecutionStep")), "gameday never approves");
    let journal = arena.journal();
    assert!(journal.contains("MANUAL APPROVAL PENDING") && journal.contains("approve-plan-execution-step"), "{journal}");
    arena.calls_in_policy(
        &file,
        &[
            "arc-region-switch:GetPlan",
            "arc-region-switch:ListPlanExecutions",
            "arc-region-switch:StartPlanExecution",
            "arc-region-switch:GetPlanExecution",
            "arc-region-switch:CancelPlanExecution",
        ],
    );
}

/// kill -9 of gameday while its Region switch execution is live, then
/// `gameday recover`, through the binary against the ARC stand-in (moto has
/// no ARC Region switch; aws-smithy-mocks cannot serve another process):
/// `plan` is refused by the unfinished execution (`resource_busy`);
/// `recover` cancels ours, found by the journal's comment, and reads it
/// back as `canceled`, while another team's execution of their plan stays
/// `inProgress` and untouched; then `plan` passes.
#[test]
fn after_kill_9_recover_cancels_our_plan_execution_and_leaves_another_teams_alone() {
    let arena = Arena::new();
    let theirs = arena.arc.start_execution_as_another_team(THEIR_PLAN, "us-west-2", "gameday practice: gameday:token=gameday-switch-1764000000000");
    let file = arena.scenario(
        &format!("{{ name: switch, kind: region_switch, plan: \"{PLAN}\", target_region: us-west-2, duration: 10m }}"),
        "{ name: ok, probes: [ok], recovers_within: 1s }",
    );
    arena.run_and_kill_once_applied(&file);
    let ours = arena.arc.executions().into_iter().find(|e| e.plan == PLAN).expect("our execution started");
    assert_eq!(ours.state, "pendingManualApproval", "killed mid-run: the execution waits on");

    let (code, stdout, stderr) = arena.plan(&file);
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("plan web-dr has an unfinished execution ({}, pendingManualApproval)", ours.id)) && stdout.contains("resource_busy"), "{stdout}");

    let (code, stdout, stderr) = arena.recover();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("reverted switch"), "{stdout}");
    let executions = arena.arc.executions();
    let state = |id: &str| executions.iter().find(|e| e.id == id).unwrap().state.clone();
    assert_eq!((state(&ours.id).as_str(), state(&theirs).as_str()), ("canceled", "inProgress"), "ours cancelled, theirs untouched");
    assert!(!arena.arc.calls().iter().any(|c| c.contains(&theirs)), "no call named their execution: {:?}", arena.arc.calls());

    let (code, stdout, stderr) = arena.plan(&file);
    assert_eq!(code, 0, "the plan is free again: {stdout}\n{stderr}");
    arena.calls_in_policy(&file, &["arc-region-switch:ListPlanExecutions", "arc-region-switch:StartPlanExecution", "arc-region-switch:CancelPlanExecution"]);
}

/// The stand-in keeps ARC's own rules, so the tests above cannot pass on a
/// stand-in laxer than ARC: a second shift on a resource is a 409
/// ConflictException, a cancel of a shift no longer active is refused, and
/// a plan runs one execution at a time. Read through the SDK's own clients.
#[tokio::test]
async fn the_stand_in_answers_as_arc_does_through_the_sdk() {
    let arc = ArcStandIn::start();
    arc.add_resource(ALB, "web-alb", &ZONES, None);
    arc.add_plan(PLAN, "web-dr", &["us-east-1", "us-west-2"], false);
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(gameday::environment::aws::https_client())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&arc.endpoint)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new("AKID", "secret", None, None, "test"))
        .load()
        .await;
    let shifts = aws_sdk_arczonalshift::Client::new(&config);
    let first = shifts.start_zonal_shift().resource_identifier(ALB).away_from("use1-az6").expires_in("30m").comment("first").send().await.unwrap();
    let error = shifts.start_zonal_shift().resource_identifier(ALB).away_from("use1-az1").expires_in("30m").comment("second").send().await.unwrap_err();
    let conflict = error.as_service_error().expect("a service error");
    assert!(conflict.is_conflict_exception(), "{conflict:?}");
    let aws_sdk_arczonalshift::operation::start_zonal_shift::StartZonalShiftError::ConflictException(conflict) = conflict else { unreachable!() };
    assert_eq!((conflict.reason().as_str(), conflict.zonal_shift_id()), ("ZonalShiftAlreadyExists", Some(first.zonal_shift_id())));
    let error = shifts.start_practice_run().resource_identifier(ALB).away_from("use1-az6").comment("practice").send().await.unwrap_err();
    assert!(error.as_service_error().is_some_and(|e| e.is_conflict_exception()), "no practice-run configuration: {error:?}");
    let managed = shifts.get_managed_resource().resource_identifier(ALB).send().await.unwrap();
    assert_eq!(managed.zonal_shifts().len(), 1);
    assert_eq!(managed.applied_weights().get("use1-az6"), Some(&0.0), "traffic left the zone");
    shifts.cancel_zonal_shift().zonal_shift_id(first.zonal_shift_id()).send().await.unwrap();
    let again = shifts.cancel_zonal_shift().zonal_shift_id(first.zonal_shift_id()).send().await.unwrap_err();
    assert!(again.as_service_error().is_some_and(|e| e.is_conflict_exception()), "cancelled already: {again:?}");
    let missing = shifts.get_managed_resource().resource_identifier(THEIR_ALB).send().await.unwrap_err();
    assert!(missing.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()), "{missing:?}");

    let switch = aws_sdk_arcregionswitch::Client::new(&config);
    use aws_sdk_arcregionswitch::types::{ExecutionAction, ExecutionMode, ExecutionState};
    let started = switch
        .start_plan_execution()
        .plan_arn(PLAN)
        .target_region("us-west-2")
        .action(ExecutionAction::Activate)
        .mode(ExecutionMode::Graceful)
        .comment("one")
        .send()
        .await
        .unwrap();
    let id = started.execution_id().unwrap().to_string();
    let second = switch.start_plan_execution().plan_arn(PLAN).target_region("us-west-2").action(ExecutionAction::Activate).send().await.unwrap_err();
    assert!(second.as_service_error().is_some_and(|e| e.is_illegal_state_exception()), "one execution at a time: {second:?}");
    let elsewhere = switch.start_plan_execution().plan_arn(PLAN).target_region("eu-west-1").action(ExecutionAction::Activate).send().await.unwrap_err();
    assert!(elsewhere.as_service_error().is_some_and(|e| e.is_illegal_argument_exception()), "{elsewhere:?}");
    switch.cancel_plan_execution().plan_arn(PLAN).execution_id(&id).send().await.unwrap();
    let read = switch.get_plan_execution().plan_arn(PLAN).execution_id(&id).send().await.unwrap();
    assert_eq!(read.execution_state(), &ExecutionState::Cancelled);
    let listed = switch.list_plan_executions().plan_arn(PLAN).send().await.unwrap();
    assert_eq!(listed.items().iter().map(|e| (e.execution_id(), e.comment())).collect::<Vec<_>>(), [(id.as_str(), Some("one"))]);
    let unknown = switch.get_plan().arn(THEIR_PLAN).send().await.unwrap_err();
    assert!(unknown.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()), "{unknown:?}");
}

/// Where the binary sends ARC when the project names an `endpoint_url`:
/// there, not to `AWS_ENDPOINT_URL_ARC_ZONAL_SHIFT`. aws-config marks an
/// endpoint set on its loader as programmatic, and a service client takes a
/// programmatic endpoint before its own variable (docs/aws.md, "Testing").
/// moto has no ARC, so the read fails there, and the stand-in hears nothing.
#[test]
fn a_project_endpoint_url_wins_over_the_sdks_per_service_variables() {
    let arena = Arena::new();
    let elsewhere = arena.dir.path().join("with-endpoint-url");
    std::fs::create_dir(&elsewhere).unwrap();
    let project = arena.moto.project_with(&elsewhere, &arena.moto.account, "");
    let file = arena
        .scenario(&format!("{{ name: shift, kind: zonal_shift, resource: \"{ALB}\", away_from: us-east-1a, duration: 2s }}"), "{ name: ok, probes: [ok], recovers_within: 1s }");
    let mut plan = arena.command_with(&project, &["plan", file.to_str().unwrap(), "--env", "moto"]);
    // moto's answer to a service it lacks is retried; one attempt is enough to see where the call went.
    plan.env("AWS_MAX_ATTEMPTS", "1");
    let (code, stdout, stderr) = output(plan);
    assert_ne!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("arc-zonal-shift:GetManagedResource failed"), "{stderr}");
    assert!(arena.arc.calls().is_empty(), "{:?}", arena.arc.calls());
}

/// The SDK's standard `AWS_MAX_ATTEMPTS` bounds how often gameday's calls
/// are tried, as it does for every AWS SDK and the AWS CLI; unset, a call is
/// tried 5 times (docs/aws.md, "Credentials"). Seen by the ARC stand-in,
/// which throttles the first request: one attempt fails the plan on it, two
/// get through. A value that is not a number of attempts is refused, naming
/// the variable, before any call.
#[test]
fn aws_max_attempts_bounds_how_often_a_throttled_call_is_tried() {
    let arena = Arena::new();
    let file = arena
        .scenario(&format!("{{ name: shift, kind: zonal_shift, resource: \"{ALB}\", away_from: us-east-1a, duration: 2s }}"), "{ name: ok, probes: [ok], recovers_within: 1s }");
    let plan = |attempts: &str| {
        let mut command = arena.command(&["plan", file.to_str().unwrap(), "--env", "moto"]);
        command.env("AWS_MAX_ATTEMPTS", attempts);
        output(command)
    };
    let reads = |calls: &[String]| calls.iter().filter(|c| c.starts_with("Throttled GET /managedresources/") || c.starts_with("GetManagedResource ")).count();

    arena.arc.throttle_next(1);
    let (code, stdout, stderr) = plan("1");
    assert_ne!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("arc-zonal-shift:GetManagedResource failed (Throttled)"), "{stderr}");
    assert_eq!(reads(&arena.arc.calls()), 1, "one attempt: {:?}", arena.arc.calls());

    arena.arc.throttle_next(1);
    let (code, stdout, stderr) = plan("2");
    assert_eq!(code, 0, "the retry gets through: {stdout}\n{stderr}");
    assert_eq!(reads(&arena.arc.calls()), 3, "the throttled attempt and its retry: {:?}", arena.arc.calls());

    let before = arena.arc.calls().len();
    let (code, stdout, stderr) = plan("none");
    assert_ne!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("AWS_MAX_ATTEMPTS is `none`: set it to a whole number of attempts, 1 or more, or unset it for gameday's 5"), "{stderr}");
    assert_eq!(arena.arc.calls().len(), before, "no call made");
}

/// kill -9 of gameday while its practice run is live; then the on-call
/// starts their own zonal shift on the same load balancer, which ARC lets
/// take precedence (the practice run ends INTERRUPTED). `gameday recover`,
/// through the binary against the ARC stand-in (moto has no ARC;
/// aws-smithy-mocks cannot serve another process), finds no practice run of
/// its own still active and must leave the on-call's mitigation in place:
/// no cancel is made, and their shift is read back ACTIVE.
#[test]
fn after_kill_9_recover_leaves_the_on_calls_shift_that_interrupted_our_practice_run() {
    let arena = Arena::new();
    let file = arena.scenario(
        &format!("{{ name: practice, kind: practice_run, resource: \"{ALB}\", away_from: us-east-1a, duration: 10m }}"),
        "{ name: ok, probes: [ok], after_fault: practice, stays_healthy: true }",
    );
    arena.run_and_kill_once_applied(&file);
    let ours = arena.arc.shifts().into_iter().find(|s| s.resource == ALB).expect("our practice run started");
    let theirs = arena.arc.start_shift_as_another_team(ALB, "use1-az1", "on-call: errors in use1-az1");
    let read = |id: &str| arena.arc.shifts().into_iter().find(|s| s.id == id).map(|s| (s.status, s.practice_outcome)).unwrap();
    assert_eq!(read(&ours.id), ("CANCELED".to_string(), Some("INTERRUPTED".to_string())), "ARC's precedence: the customer's shift interrupts the practice run");

    let (code, stdout, stderr) = arena.recover();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(read(&theirs), ("ACTIVE".to_string(), None), "the on-call's shift stays");
    let cancels: Vec<String> = arena.arc.calls().into_iter().filter(|c| c.starts_with("Cancel")).collect();
    assert!(cancels.is_empty(), "{cancels:?}");
    arena.calls_in_policy(&file, &["arc-zonal-shift:GetManagedResource", "arc-zonal-shift:StartPracticeRun"]);
}

/// The Region switch run to ARC's own end, through the binary against the
/// ARC stand-in (moto has no ARC Region switch; aws-smithy-mocks cannot
/// serve another process): the execution waits on its manual approval,
/// which a person gives (here the test, with the SDK, as the shown command
/// would); gameday reads the execution to `completed` and journals ARC's
/// `actualRecoveryTime`, which `result.json` reports as ARC wrote it. Ended
/// by SIGTERM once that is journaled, the run leaves the completed
/// execution as it is (a completed switch is the DR step itself: no cancel),
/// and gameday itself never approves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_switch_approved_by_a_person_completes_and_reports_arcs_recovery_time() {
    let arena = Arena::new();
    let file = arena.scenario(
        &format!("{{ name: switch, kind: region_switch, plan: \"{PLAN}\", target_region: us-west-2, duration: 10m }}"),
        "{ name: ok, probes: [ok], recovers_within: 1s }",
    );
    let child = arena.run(&file).spawn().unwrap();
    assert!(wait_until(Duration::from_secs(60), || arena.journal().contains("MANUAL APPROVAL PENDING")), "the approval was shown: {}", arena.journal());
    let ours = arena.arc.executions().into_iter().find(|e| e.plan == PLAN).expect("our execution started");

    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(gameday::environment::aws::https_client())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&arena.arc.endpoint)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new("AKID", "secret", None, None, "a person"))
        .load()
        .await;
    let switch = aws_sdk_arcregionswitch::Client::new(&config);
    switch
        .approve_plan_execution_step()
        .plan_arn(PLAN)
        .execution_id(&ours.id)
        .step_name("approve-failover")
        .approval(aws_sdk_arcregionswitch::types::Approval::Approve)
        .send()
        .await
        .unwrap();
    let arc_figure = switch.get_plan_execution().plan_arn(PLAN).execution_id(&ours.id).send().await.unwrap().actual_recovery_time().expect("ARC's figure").to_string();
    assert!(wait_until(Duration::from_secs(60), || arena.journal().contains("\"plan_execution_ended\"")), "gameday read the end: {}", arena.journal());

    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let result = arena.result();
    let switched = &result["region_switches"][0];
    assert_eq!((switched["execution_id"].as_str(), switched["state"].as_str()), (Some(ours.id.as_str()), Some("completed")), "{switched}");
    assert_eq!(switched["arc_recovery_time"].as_str(), Some(arc_figure.as_str()), "ARC's figure, as ARC wrote it");
    let execution = arena.arc.executions().into_iter().find(|e| e.id == ours.id).unwrap();
    assert_eq!(execution.state, "completed", "not cancelled");
    assert!(!arena.arc.calls().iter().any(|c| c.starts_with("CancelPlanExecution")), "{:?}", arena.arc.calls());
    let recorded: Vec<String> = std::fs::read_to_string(arena.log()).unwrap().lines().map(str::to_string).collect();
    assert!(!recorded.iter().any(|c| c.contains("ApprovePlanExecutionStep")), "gameday never approves: {recorded:?}");
    arena.calls_in_policy(&file, &["arc-region-switch:StartPlanExecution", "arc-region-switch:GetPlanExecution", "arc-region-switch:ListPlanExecutionEvents"]);
}
