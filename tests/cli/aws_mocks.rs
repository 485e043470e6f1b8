//! The AWS path where moto cannot go: throttling, batch limits, a call that
//! fails part-way, a revert that fails, CloudWatch alarms (the SDK speaks
//! RPCv2-CBOR to CloudWatch, which moto does not route) and the FIS safety
//! lever. Real SDK clients whose responses come from aws-smithy-mocks rules;
//! a few rules keep state, making a tiny fake EC2.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ec2::types::{AvailabilityZone, Instance, InstanceState, InstanceStateChange, InstanceStateName, Placement, Reservation};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, mock};
use gameday::environment::aws::{AwsEnvironment, Clients};
use gameday::environment::{Effect, EnvError, Environment, ReadErrorKind};
use gameday::guard::GuardName;
use gameday::project::AwsSpec;
use gameday::run::clock::{Interrupt, WallClock};
use gameday::run::journal::{Event, Journal};
use gameday::run::{Outcome, RunConfig, Runner, Silent};

macro_rules! mocked {
    ($krate:ident, $rules:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $krate::Client::from_conf(
            $krate::Config::builder()
                .behavior_version($krate::config::BehaviorVersion::latest())
                .region($krate::config::Region::new("us-east-1"))
                .credentials_provider($krate::config::Credentials::new("a", "b", None, None, "test"))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5).with_initial_backoff(Duration::from_millis(1)))
                .build(),
        )
    }};
}

fn spec() -> AwsSpec {
    AwsSpec { profile: None, region: "us-east-1".into(), account: "123456789012".into(), endpoint_url: None, fis_role_arn: None }
}

/// Clients whose STS and zone calls answer; the rest come from `ec2`, `fis`, `cloudwatch` rules.
fn clients(ec2_rules: &[&Rule], fis_rules: &[&Rule], cloudwatch_rules: &[&Rule]) -> Clients {
    let identity = mock!(aws_sdk_sts::Client::get_caller_identity)
        .then_output(|| aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder().account("123456789012").build());
    let zones = mock!(aws_sdk_ec2::Client::describe_availability_zones).then_output(|| {
        aws_sdk_ec2::operation::describe_availability_zones::DescribeAvailabilityZonesOutput::builder()
            .availability_zones(AvailabilityZone::builder().zone_name("us-east-1a").zone_id("use1-az1").build())
            .build()
    });
    let mut ec2: Vec<&Rule> = vec![&zones];
    ec2.extend_from_slice(ec2_rules);
    let none: [&Rule; 0] = [];
    Clients {
        ec2: mocked!(aws_sdk_ec2, ec2),
        autoscaling: mocked!(aws_sdk_autoscaling, none),
        elbv2: mocked!(aws_sdk_elasticloadbalancingv2, none),
        route53: mocked!(aws_sdk_route53, none),
        cloudwatch: mocked!(aws_sdk_cloudwatch, cloudwatch_rules.iter().copied()),
        sts: mocked!(aws_sdk_sts, [&identity]),
        fis: mocked!(aws_sdk_fis, fis_rules.iter().copied()),
        rds: mocked!(aws_sdk_rds, none),
        arc_zonal_shift: mocked!(aws_sdk_arczonalshift, none),
        arc_region_switch: mocked!(aws_sdk_arcregionswitch, none),
    }
}

fn scenario(text: &str) -> gameday::scenario::Scenario {
    gameday::scenario::parse_str(text, None).unwrap()
}

const PROBE_ONLY: &str = "apiVersion: gameday/v1\nname: mocked\nsteady_state:\n  - { name: ok, kind: command, run: \"true\", interval: 500ms, timeout: 500ms }\nfaults:\n  - { name: f, kind: command, inject: \"true\", revert: \"true\", duration: 1s }\nexpected_recoveries:\n  - { name: ok, probes: [ok], recovers_within: 1s }\n";

fn instance(id: &str, state: InstanceStateName) -> Instance {
    Instance::builder().instance_id(id).placement(Placement::builder().availability_zone("us-east-1a").build()).state(InstanceState::builder().name(state).build()).build()
}

/// A fake EC2: instances and their states, changed by stop and start calls.
#[derive(Clone)]
struct FakeEc2 {
    stopped: Arc<Mutex<BTreeSet<String>>>,
    all: Arc<Vec<String>>,
}

impl FakeEc2 {
    fn new(count: usize) -> Self {
        FakeEc2 { stopped: Arc::default(), all: Arc::new((0..count).map(|i| format!("i-{i:017x}")).collect()) }
    }

    fn describe(&self) -> Rule {
        let fake = self.clone();
        mock!(aws_sdk_ec2::Client::describe_instances).then_compute_output(move |input| {
            let wanted: Vec<String> = if input.instance_ids().is_empty() { fake.all.to_vec() } else { input.instance_ids().to_vec() };
            let stopped = fake.stopped.lock().unwrap();
            let instances: Vec<Instance> =
                wanted.iter().map(|id| instance(id, if stopped.contains(id) { InstanceStateName::Stopped } else { InstanceStateName::Running })).collect();
            aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput::builder().reservations(Reservation::builder().set_instances(Some(instances)).build()).build()
        })
    }

    fn stop(&self, fail_after_calls: Option<usize>) -> Rule {
        let fake = self.clone();
        let calls = Arc::new(Mutex::new(0usize));
        mock!(aws_sdk_ec2::Client::stop_instances).then_compute_response(move |input| {
            let mut n = calls.lock().unwrap();
            *n += 1;
            if fail_after_calls.is_some_and(|limit| *n > limit) {
                return aws_smithy_mocks::MockResponse::Error(aws_sdk_ec2::operation::stop_instances::StopInstancesError::generic(
                    aws_sdk_ec2::error::ErrorMetadata::builder().code("UnauthorizedOperation").message("not allowed").build(),
                ));
            }
            let mut stopped = fake.stopped.lock().unwrap();
            stopped.extend(input.instance_ids().iter().cloned());
            aws_smithy_mocks::MockResponse::Output(
                aws_sdk_ec2::operation::stop_instances::StopInstancesOutput::builder()
                    .set_stopping_instances(Some(input.instance_ids().iter().map(|id| InstanceStateChange::builder().instance_id(id).build()).collect()))
                    .build(),
            )
        })
    }

    fn start(&self, works: bool) -> Rule {
        let fake = self.clone();
        mock!(aws_sdk_ec2::Client::start_instances).then_compute_response(move |input| {
            if !works {
                return aws_smithy_mocks::MockResponse::Error(aws_sdk_ec2::operation::start_instances::StartInstancesError::generic(
                    aws_sdk_ec2::error::ErrorMetadata::builder().code("UnauthorizedOperation").message("start denied").build(),
                ));
            }
            let mut stopped = fake.stopped.lock().unwrap();
            for id in input.instance_ids() {
                stopped.remove(id);
            }
            aws_smithy_mocks::MockResponse::Output(aws_sdk_ec2::operation::start_instances::StartInstancesOutput::builder().build())
        })
    }
}

#[tokio::test]
async fn throttled_calls_are_retried_with_backoff() {
    let throttled = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>1</RequestID></Response>";
    let stop = mock!(aws_sdk_ec2::Client::stop_instances)
        .sequence()
        .http_status(503, Some(throttled.to_string()))
        .times(2)
        .output(|| aws_sdk_ec2::operation::stop_instances::StopInstancesOutput::builder().stopping_instances(InstanceStateChange::builder().instance_id("i-1").build()).build())
        .build();
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[&stop], &[], &[]), &scenario(PROBE_ONLY)).await.unwrap();
    env.apply(&Effect::StopInstances { ids: vec!["i-1".into()] }, 0).await.unwrap();
    assert_eq!(stop.num_calls(), 3, "two throttled attempts, then success");
}

/// A failed call keeps its kind (moto cannot deny a call): policy and the
/// fix people are shown (`gameday iam-policy`) depend on it.
#[tokio::test]
async fn a_denied_or_throttled_call_keeps_its_kind() {
    let answer = |code: &str| format!("<Response><Errors><Error><Code>{code}</Code><Message>no</Message></Error></Errors><RequestID>1</RequestID></Response>");
    let (denied, throttled) = (answer("UnauthorizedOperation"), answer("RequestLimitExceeded"));
    let stop = mock!(aws_sdk_ec2::Client::stop_instances).sequence().http_status(403, Some(denied)).http_status(503, Some(throttled)).times(5).build();
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[&stop], &[], &[]), &scenario(PROBE_ONLY)).await.unwrap();
    let effect = Effect::StopInstances { ids: vec!["i-1".into()] };
    let error = env.apply(&effect, 0).await.unwrap_err();
    assert!(matches!(&error, EnvError::Call { call, kind: ReadErrorKind::AccessDenied, .. } if call == "ec2:StopInstances"), "{error:?}");
    assert!(error.to_string().starts_with("ec2:StopInstances failed (AccessDenied): "), "{error}");
    let error = env.apply(&effect, 0).await.unwrap_err();
    assert!(matches!(&error, EnvError::Call { kind: ReadErrorKind::Throttled, .. }), "throttled beyond the SDK's 5 attempts: {error:?}");
}

#[tokio::test]
async fn mutating_calls_take_at_most_a_thousand_ids() {
    let fake = FakeEc2::new(2_500);
    let stop = fake.stop(None);
    let describe = fake.describe();
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[&stop, &describe], &[], &[]), &scenario(PROBE_ONLY)).await.unwrap();
    env.apply(&Effect::StopInstances { ids: fake.all.to_vec() }, 0).await.unwrap();
    assert_eq!(stop.num_calls(), 3, "1,000 + 1,000 + 500");
    assert_eq!(fake.stopped.lock().unwrap().len(), 2_500);
    assert_eq!(env.calls.mutating, 3);
}

fn stop_scenario(ids: &[String], duration: &str) -> gameday::scenario::Scenario {
    scenario(&format!(
        "apiVersion: gameday/v1\nname: mocked\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 500ms, timeout: 500ms }}\nfaults:\n  - name: stop\n    kind: stop_instances\n    duration: {duration}\n    targets: {{ ids: [{}] }}\nexpected_recoveries:\n  - {{ name: ok, probes: [ok], recovers_within: 1s }}\n",
        ids.join(", ")
    ))
}

async fn run(env: &mut AwsEnvironment, scenario: &gameday::scenario::Scenario, config: RunConfig) -> gameday::run::Finished {
    Runner::new(scenario, env, WallClock::start(), Silent, Journal::in_memory(), config, Interrupt::new()).run().await
}

#[tokio::test]
async fn a_call_that_fails_part_way_is_undone() {
    let fake = FakeEc2::new(1_500);
    let (describe, stop, start) = (fake.describe(), fake.stop(Some(1)), fake.start(true));
    let scenario = stop_scenario(&fake.all, "1m");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[&describe, &stop, &start], &[], &[]), &scenario).await.unwrap();
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert!(matches!(finished.result.outcome, Outcome::FaultNotEffective { .. }), "{:?}", finished.result.outcome);
    assert_eq!(stop.num_calls(), 2, "the first batch went through, the second was refused");
    assert!(fake.stopped.lock().unwrap().is_empty(), "the first batch was started again");
    let events: Vec<&str> = finished
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::FaultFailed { .. } => Some("failed"),
            Event::FaultReverted { .. } => Some("reverted"),
            _ => None,
        })
        .collect();
    assert_eq!(events, ["failed", "reverted"]);
}

#[tokio::test]
async fn a_revert_that_cannot_complete_says_what_a_person_must_do() {
    let fake = FakeEc2::new(2);
    let (describe, stop, start) = (fake.describe(), fake.stop(None), fake.start(false));
    let scenario = stop_scenario(&fake.all, "200ms");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[&describe, &stop, &start], &[], &[]), &scenario).await.unwrap();
    let mut config = RunConfig::new(1, jiff::Timestamp::now());
    // The attempts, not the wait between them, are what this test counts: 10 ms instead of 1 s, then 20 ms instead of 2 s, twice.
    config.revert_backoff = 10;
    let finished = run(&mut env, &scenario, config).await;
    let Outcome::RevertIncomplete { faults, detail } = &finished.result.outcome else { panic!("{:?}", finished.result.outcome) };
    assert_eq!(faults, &["stop".to_string()]);
    assert!(detail.contains("start denied"), "{detail}");
    assert!(detail.contains(&format!("by hand: aws ec2 start-instances --instance-ids {}", fake.all.join(" "))), "{detail}");
    assert_eq!(finished.result.exit_code, 8);
    // Three attempts when the fault ends, three more in the final sweep; the SDK does not retry an authorization error.
    assert_eq!(start.num_calls(), 6);
}

/// The revert loop hands back its last attempt's error typed, not as text
/// (mocked: moto cannot deny a call), so `recover` and the path after a
/// panic keep the kind of what failed.
#[tokio::test]
async fn a_revert_that_keeps_failing_returns_its_last_error_with_its_kind() {
    let fake = FakeEc2::new(2);
    let (describe, stop, start) = (fake.describe(), fake.stop(None), fake.start(false));
    let scenario = stop_scenario(&fake.all, "1m");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[&describe, &stop, &start], &[], &[]), &scenario).await.unwrap();
    let effect = Effect::StopInstances { ids: fake.all.to_vec() };
    env.apply(&effect, 0).await.unwrap();
    let error = gameday::run::revert_with_retry(&mut env, &effect, &mut gameday::run::clock::VirtualClock::default(), &Interrupt::new(), 10).await.unwrap_err();
    assert!(matches!(&error, EnvError::Call { call, kind: ReadErrorKind::AccessDenied, .. } if call == "ec2:StartInstances"), "{error:?}");
    assert_eq!(start.num_calls(), gameday::run::REVERT_ATTEMPTS as usize);
}

/// The production backoff (`REVERT_BACKOFF`): 1 s, then 2 s between the
/// three attempts, on the run's clock. Virtual here, so the test waits for
/// nothing; the tests above shorten it with `RunConfig::revert_backoff`.
#[tokio::test]
async fn a_failing_revert_waits_1_s_then_2_s_between_its_attempts() {
    let fake = FakeEc2::new(2);
    let (describe, stop, start) = (fake.describe(), fake.stop(None), fake.start(false));
    let scenario = stop_scenario(&fake.all, "200ms");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[&describe, &stop, &start], &[], &[]), &scenario).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let config = RunConfig::new(1, jiff::Timestamp::now());
    assert_eq!(config.revert_backoff, gameday::run::REVERT_BACKOFF);
    let finished = Runner::new(&scenario, &mut env, gameday::run::clock::VirtualClock::default(), Silent, Journal::create(&path).unwrap(), config, Interrupt::new()).run().await;
    assert_eq!(finished.result.exit_code, 8);
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let at = |kind: &str| records.iter().filter(|r| r["event"] == kind).map(|r| r["t"].as_u64().unwrap()).collect::<Vec<_>>();
    let (intents, failures) = (at("revert_intent"), at("revert_failed"));
    // When the fault ends and again in the final sweep: each time three attempts, 1 s + 2 s apart.
    assert_eq!(intents.len(), 2, "{records:?}");
    assert_eq!(failures.iter().zip(&intents).map(|(failed, intent)| failed - intent).collect::<Vec<_>>(), [3_000, 3_000]);
    assert_eq!(start.num_calls(), 6);
}

#[tokio::test]
async fn an_alarm_going_off_halts_the_run() {
    let polls = Arc::new(Mutex::new(0usize));
    let counter = polls.clone();
    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_compute_output(move |_| {
        let mut n = counter.lock().unwrap();
        *n += 1;
        // OK while the run checks and injects; ALARM from the fourth read on.
        let state = if *n < 4 { aws_sdk_cloudwatch::types::StateValue::Ok } else { aws_sdk_cloudwatch::types::StateValue::Alarm };
        aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder()
            .metric_alarms(aws_sdk_cloudwatch::types::MetricAlarm::builder().alarm_name("web-5xx").state_value(state).build())
            .build()
    });
    let scenario = scenario(&PROBE_ONLY.replace("duration: 1s", "duration: 5m").replace("name: mocked\n", "name: mocked\nguards:\n  stop_conditions:\n    - alarm: web-5xx\n"));
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[], &[], &[&alarms]), &scenario).await.unwrap();
    let mut config = RunConfig::new(1, jiff::Timestamp::now());
    config.alarm_poll = 100;
    let started = std::time::Instant::now();
    let finished = run(&mut env, &scenario, config).await;
    assert_eq!(finished.result.outcome, Outcome::AbortedByGuard { guard: gameday::guard::GuardName::StopConditions, detail: "alarm `web-5xx`".into() });
    assert!(started.elapsed() < Duration::from_secs(30), "halted long before the 5 m fault ended");
}

#[tokio::test]
async fn an_engaged_fis_safety_lever_refuses_before_any_experiment() {
    let lever = mock!(aws_sdk_fis::Client::get_safety_lever).then_output(|| {
        aws_sdk_fis::operation::get_safety_lever::GetSafetyLeverOutput::builder()
            .safety_lever(
                aws_sdk_fis::types::SafetyLever::builder()
                    .state(aws_sdk_fis::types::SafetyLeverState::builder().status(aws_sdk_fis::types::SafetyLeverStatus::Engaged).reason("incident in progress").build())
                    .build(),
            )
            .build()
    });
    let create = mock!(aws_sdk_fis::Client::create_experiment_template)
        .then_output(|| aws_sdk_fis::operation::create_experiment_template::CreateExperimentTemplateOutput::builder().build());
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[], &[&lever, &create], &[]), &scenario(PROBE_ONLY)).await.unwrap();
    let effect = Effect::FisExperiment {
        fault: "f".into(),
        token: "t".into(),
        template: serde_json::from_value(serde_json::json!({ "description": "d", "roleArn": "r", "targets": {}, "actions": {}, "stopConditions": [], "tags": {} })).unwrap(),
        fail_back: None,
    };
    let error = env.apply(&effect, 0).await.unwrap_err();
    assert!(matches!(&error, EnvError::Refused(message) if message.contains("safety lever is engaged (incident in progress)")), "{error}");
    assert_eq!(create.num_calls(), 0, "no template, no experiment");
}

// The `DescribeAlarms` rules below are sequences, not computed answers:
// aws-smithy-mocks cannot hand a computed rule the input again on a retry.
// CloudWatch speaks RPCv2-CBOR, which moto does not route, so
// aws-smithy-mocks stands in for it.

/// Alarm `web-5xx`, in OK.
fn alarm_ok() -> aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput {
    aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder()
        .metric_alarms(aws_sdk_cloudwatch::types::MetricAlarm::builder().alarm_name("web-5xx").state_value(aws_sdk_cloudwatch::types::StateValue::Ok).build())
        .build()
}

/// The answer once the alarm is deleted: no alarm.
fn alarm_gone() -> aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput {
    aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder().build()
}

fn alarm_error(code: &str, message: &str) -> aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError {
    aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError::generic(aws_sdk_cloudwatch::error::ErrorMetadata::builder().code(code).message(message).build())
}

/// Readable for the check before the run and the steady state, then every call fails with `code`.
fn readable_then_failing(code: &'static str, message: &'static str) -> Rule {
    mock!(aws_sdk_cloudwatch::Client::describe_alarms).sequence().output(alarm_ok).times(2).error(move || alarm_error(code, message)).repeatedly().build()
}

const STOP_ON_WEB_5XX: &str = "name: mocked\nguards:\n  stop_conditions:\n    - alarm: web-5xx\n";

/// Runs PROBE_ONLY (its fault held for 5 minutes) with a stop condition on
/// `web-5xx`, polling alarms every 100 ms.
async fn run_stopping_on_web_5xx(alarms: &Rule) -> gameday::run::Finished {
    let scenario = scenario(&PROBE_ONLY.replace("duration: 1s", "duration: 5m").replace("name: mocked\n", STOP_ON_WEB_5XX));
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[], &[], &[alarms]), &scenario).await.unwrap();
    let mut config = RunConfig::new(1, jiff::Timestamp::now());
    config.alarm_poll = 100;
    run(&mut env, &scenario, config).await
}

/// The errors journaled for unreadable alarm reads, in order.
fn unreadable_reads(finished: &gameday::run::Finished) -> Vec<gameday::environment::AlarmReadError> {
    finished.records.iter().filter_map(|r| if let Event::AlarmUnreadable { error, .. } = &r.event { Some(error.clone()) } else { None }).collect()
}

/// The run ended on the stop condition, with the fault reverted (exit 5),
/// and the detail says why; returns the detail.
fn assert_failed_closed(finished: &gameday::run::Finished, kind: ReadErrorKind) -> String {
    let Outcome::AbortedByGuard { guard, detail } = &finished.result.outcome else { panic!("{:?}", finished.result.outcome) };
    assert_eq!(*guard, gameday::guard::GuardName::StopConditions);
    assert_eq!(finished.result.exit_code, gameday::exit_code::ABORTED_BY_GUARD);
    assert!(detail.starts_with("alarm `web-5xx` could not be read 3 times in a row, for "), "{detail}");
    assert!(detail.ends_with("; a stop condition that cannot be read counts as tripped"), "{detail}");
    let unreadable = unreadable_reads(finished);
    assert_eq!(unreadable.len(), 3, "every failed read journaled, and the third trips: {unreadable:?}");
    assert!(unreadable.iter().all(|e| e.kind == kind), "{unreadable:?}");
    assert!(finished.result.faults[0].reverted, "the fault was reverted");
    assert!(finished.records.iter().any(|r| matches!(&r.event, Event::StopConditionTripped { condition } if condition == detail)));
    detail.clone()
}

#[tokio::test]
async fn an_alarm_that_access_is_denied_to_trips_its_stop_condition() {
    let alarms = readable_then_failing("AccessDenied", "not authorized to perform cloudwatch:DescribeAlarms");
    let finished = run_stopping_on_web_5xx(&alarms).await;
    let detail = assert_failed_closed(&finished, ReadErrorKind::AccessDenied);
    assert!(detail.contains("(AccessDenied: cloudwatch:DescribeAlarms: not authorized to perform cloudwatch:DescribeAlarms)"), "{detail}");
}

#[tokio::test]
async fn an_alarm_throttled_beyond_the_sdk_retries_trips_its_stop_condition() {
    let alarms = readable_then_failing("Throttling", "Rate exceeded");
    let finished = run_stopping_on_web_5xx(&alarms).await;
    let detail = assert_failed_closed(&finished, ReadErrorKind::Throttled);
    assert!(detail.contains("(Throttled: cloudwatch:DescribeAlarms: Rate exceeded)"), "{detail}");
    assert_eq!(alarms.num_calls(), 2 + 3 * 5, "each failed read is five throttled attempts (the SDK's retries)");
}

#[tokio::test]
async fn an_alarm_deleted_during_the_run_trips_its_stop_condition() {
    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms).sequence().output(alarm_ok).times(2).output(alarm_gone).repeatedly().build();
    let finished = run_stopping_on_web_5xx(&alarms).await;
    let detail = assert_failed_closed(&finished, ReadErrorKind::NotFound);
    assert!(detail.contains("(NotFound: cloudwatch:DescribeAlarms no longer lists alarm `web-5xx` (deleted during the run?))"), "{detail}");
}

#[tokio::test]
async fn an_alarm_unreadable_only_twice_does_not_trip() {
    // Two failed reads (of five throttled attempts each), then readable again: a blip, not a blind run.
    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .sequence()
        .output(alarm_ok)
        .times(2)
        .error(|| alarm_error("Throttling", "Rate exceeded"))
        .times(2 * 5)
        .output(alarm_ok)
        .repeatedly()
        .build();
    let scenario = scenario(&PROBE_ONLY.replace("duration: 1s", "duration: 1500ms").replace("name: mocked\n", STOP_ON_WEB_5XX));
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[], &[], &[&alarms]), &scenario).await.unwrap();
    let mut config = RunConfig::new(1, jiff::Timestamp::now());
    config.alarm_poll = 100;
    let finished = run(&mut env, &scenario, config).await;
    assert_eq!(finished.result.outcome, Outcome::HypothesisHeld);
    assert_eq!(unreadable_reads(&finished).len(), 2);
}

#[tokio::test]
async fn an_unreadable_detected_by_alarm_is_journaled_and_never_counts_as_ok() {
    // No stop condition: `detected_by` alone. OK, three failed reads, OK again.
    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .sequence()
        .output(alarm_ok)
        .times(2)
        .error(|| alarm_error("AccessDenied", "not authorized"))
        .times(3)
        .output(alarm_ok)
        .repeatedly()
        .build();
    let scenario = scenario(&PROBE_ONLY.replace("duration: 1s", "duration: 1500ms").replace("recovers_within: 1s }", "recovers_within: 1s, detected_by: [web-5xx] }"));
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[], &[], &[&alarms]), &scenario).await.unwrap();
    let mut config = RunConfig::new(1, jiff::Timestamp::now());
    config.alarm_poll = 100;
    let finished = run(&mut env, &scenario, config).await;
    assert_eq!(finished.result.outcome, Outcome::HypothesisHeld, "an alarm read only for detection never stops the run");
    let alarm_events: Vec<String> = finished
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::AlarmChanged { alarm, state } => Some(format!("{alarm} {state}")),
            Event::AlarmUnreadable { alarm, error } => Some(format!("{alarm} unreadable ({:?})", error.kind)),
            _ => None,
        })
        .collect();
    // The span it could not be read is in the journal, bounded on both
    // sides: OK is journaled again once it is readable, not assumed throughout.
    assert_eq!(alarm_events, ["web-5xx OK", "web-5xx unreadable (AccessDenied)", "web-5xx unreadable (AccessDenied)", "web-5xx unreadable (AccessDenied)", "web-5xx OK"]);
}

#[tokio::test]
async fn an_unreachable_cloudwatch_reads_as_a_network_error_not_as_quiet() {
    // A real connection to a port of 127.0.0.1 that nothing listens on.
    let closed = crate::ClosedPort::reserve();
    let port = closed.port;
    let mut clients = clients(&[], &[], &[]);
    clients.cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::Config::builder()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new("a", "b", None, None, "test"))
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2).with_initial_backoff(Duration::from_millis(1)))
            .build(),
    );
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients, &scenario(PROBE_ONLY)).await.unwrap();
    let readings = env.alarm_states(&["arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx".into()], 0).await;
    assert_eq!(readings.len(), 1, "one reading per alarm asked for, even when none could be read");
    assert_eq!(readings[0].alarm, "web-5xx");
    let error = readings[0].state.as_ref().unwrap_err();
    assert_eq!(error.kind, ReadErrorKind::Network, "{error}");
}

/// An alarm the plan cannot read keeps the kind of the failure: a call the
/// credentials may not make is a failed call with its IAM hint (exit 7),
/// not a refusal (exit 5), and throttling stays throttling.
#[tokio::test]
async fn an_alarm_the_plan_cannot_read_keeps_the_kind_of_the_failure() {
    let scenario = scenario(&PROBE_ONLY.replace("name: mocked\n", STOP_ON_WEB_5XX));
    for (code, expected) in [("AccessDenied", ReadErrorKind::AccessDenied), ("Throttling", ReadErrorKind::Throttled)] {
        let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms).sequence().error(move || alarm_error(code, "no")).repeatedly().build();
        let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[], &[], &[&alarms]), &scenario).await.unwrap();
        let error = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap_err();
        assert!(matches!(&error, EnvError::Call { call, kind, .. } if call == "cloudwatch:DescribeAlarms" && *kind == expected), "{code}: {error:?}");
        assert!(error.to_string().starts_with(&format!("cloudwatch:DescribeAlarms failed ({expected}): ")), "{error}");
    }
}

/// A tiny FIS: one template and one experiment, which runs until stopped.
/// moto accepts experiments but never runs them, and does not route
/// CloudWatch; here an alarm halts a run while its experiment runs.
fn fake_fis() -> Vec<Rule> {
    use aws_sdk_fis::operation as op;
    use aws_sdk_fis::types::{Experiment, ExperimentState, ExperimentStatus, ExperimentSummary, ExperimentTemplateSummary, SafetyLever, SafetyLeverState, SafetyLeverStatus};
    let token: Arc<Mutex<Option<String>>> = Arc::default();
    let stopped = Arc::new(Mutex::new(false));
    let experiment = |stopped: &Arc<Mutex<bool>>| {
        let status = if *stopped.lock().unwrap() { ExperimentStatus::Stopped } else { ExperimentStatus::Running };
        Experiment::builder().id("EXP1").experiment_template_id("EXT1").state(ExperimentState::builder().status(status).build()).build()
    };
    let (remember, listed) = (token.clone(), token.clone());
    let (running, polled, stop) = (stopped.clone(), stopped.clone(), stopped.clone());
    vec![
        mock!(aws_sdk_fis::Client::get_safety_lever).then_output(|| {
            op::get_safety_lever::GetSafetyLeverOutput::builder()
                .safety_lever(SafetyLever::builder().state(SafetyLeverState::builder().status(SafetyLeverStatus::Disengaged).reason("").build()).build())
                .build()
        }),
        mock!(aws_sdk_fis::Client::create_experiment_template).then_compute_output(move |input| {
            *remember.lock().unwrap() = input.tags().and_then(|t| t.get("gameday:token")).cloned();
            op::create_experiment_template::CreateExperimentTemplateOutput::builder()
                .experiment_template(aws_sdk_fis::types::ExperimentTemplate::builder().id("EXT1").build())
                .build()
        }),
        mock!(aws_sdk_fis::Client::start_experiment).then_compute_output(move |_| op::start_experiment::StartExperimentOutput::builder().experiment(experiment(&running)).build()),
        mock!(aws_sdk_fis::Client::get_experiment).then_compute_output(move |_| op::get_experiment::GetExperimentOutput::builder().experiment(experiment(&polled)).build()),
        mock!(aws_sdk_fis::Client::stop_experiment).then_compute_output(move |_| {
            *stop.lock().unwrap() = true;
            op::stop_experiment::StopExperimentOutput::builder().build()
        }),
        mock!(aws_sdk_fis::Client::delete_experiment_template).then_output(|| op::delete_experiment_template::DeleteExperimentTemplateOutput::builder().build()),
        mock!(aws_sdk_fis::Client::list_experiment_templates).then_compute_output(move |_| {
            let tags = listed.lock().unwrap().clone().map(|t| [("gameday:token".to_string(), t)].into());
            op::list_experiment_templates::ListExperimentTemplatesOutput::builder()
                .experiment_templates(ExperimentTemplateSummary::builder().id("EXT1").set_tags(tags).build())
                .build()
        }),
        mock!(aws_sdk_fis::Client::list_experiments).then_output(|| {
            op::list_experiments::ListExperimentsOutput::builder().experiments(ExperimentSummary::builder().id("EXP1").experiment_template_id("EXT1").build()).build()
        }),
    ]
}

/// `gameday iam-policy --via fis` allows every call of an FIS run halted by
/// an alarm, and of a later `recover` that finds the experiment by its tag.
/// Recorded by gameday's call log interceptor on the mocked clients.
#[tokio::test]
async fn iam_policy_allows_every_call_of_an_fis_run_halted_by_an_alarm_and_its_recover() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let file = gameday::environment::aws::call_log::CallLog::open(&log).unwrap();
    let fake = FakeEc2::new(2);
    let describe = fake.describe();
    let fis = fake_fis();
    let polls = Arc::new(Mutex::new(0usize));
    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_compute_output(move |_| {
        let mut n = polls.lock().unwrap();
        *n += 1;
        let state = if *n < 4 { aws_sdk_cloudwatch::types::StateValue::Ok } else { aws_sdk_cloudwatch::types::StateValue::Alarm };
        aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder()
            .metric_alarms(aws_sdk_cloudwatch::types::MetricAlarm::builder().alarm_name("web-5xx").state_value(state).build())
            .build()
    });
    let text = format!(
        "apiVersion: gameday/v1\nname: mocked\nvia: fis\nguards:\n  stop_conditions:\n    - alarm: web-5xx\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 500ms, timeout: 500ms }}\nfaults:\n  - {{ name: stop, kind: stop_instances, duration: 5m, targets: {{ ids: [{}] }} }}\nexpected_recoveries:\n  - {{ name: ok, probes: [ok], recovers_within: 1s }}\n",
        fake.all.join(", ")
    );
    let scenario = scenario(&text);
    let spec = AwsSpec { fis_role_arn: Some("arn:aws:iam::123456789012:role/fis".into()), ..spec() };
    let fis_rules: Vec<&Rule> = fis.iter().collect();
    let make = || clients(&[&describe], &fis_rules, &[&alarms]).with_call_log(&file);
    let mut env = AwsEnvironment::with_clients("mock", &spec, make(), &scenario).await.unwrap();
    let mut config = RunConfig::new(1, jiff::Timestamp::now());
    config.alarm_poll = 100;
    let finished = run(&mut env, &scenario, config).await;
    assert_eq!(finished.result.outcome, Outcome::AbortedByGuard { guard: gameday::guard::GuardName::StopConditions, detail: "alarm `web-5xx`".into() });

    // As after kill -9 mid-run: a fresh process, the journal's intent, the experiment found by tag.
    let effect = finished.records.iter().find_map(|r| match &r.event {
        Event::FaultIntent { effect, .. } => Some(effect.clone()),
        _ => None,
    });
    let effect = effect.expect("the run journaled its FIS intent");
    assert!(matches!(effect, Effect::FisExperiment { .. }), "{effect:?}");
    let open = open_run(dir.path().to_path_buf(), "stop", effect);
    let mut fresh = AwsEnvironment::with_clients("mock", &spec, make(), &scenario).await.unwrap();
    let (recovered, journal_error) = gameday::run::recover::recover(&open, &mut fresh).await;
    assert!(journal_error.is_none(), "{journal_error:?}");
    assert!(recovered.iter().all(|r| r.result.is_ok()), "recovered");

    let scenario_file = dir.path().join("scenario.yaml");
    std::fs::write(&scenario_file, &text).unwrap();
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&log, &scenario_file, &["--via", "fis"]);
    for call in ["fis:GetSafetyLever", "fis:StartExperiment", "fis:StopExperiment", "fis:ListExperimentTemplates", "fis:ListExperiments", "cloudwatch:DescribeAlarms"] {
        assert!(recorded.contains(call), "the log records {call}: {recorded:?}");
    }
}

/// A `metric` probe on AWS reads CloudWatch `GetMetricData`, and an error
/// budget is judged on the request counts it journals. aws-smithy-mocks,
/// not moto: moto's CloudWatch answers the SDK's RPCv2-CBOR with 404. The
/// mock answers 2 target 5XX of 100 requests per period, and no ELB 5XX
/// datapoint (an ALB publishes no zero counts): 2 % of requests failed.
#[tokio::test]
async fn an_error_budget_is_judged_on_request_counts_from_get_metric_data() {
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let file = gameday::environment::aws::call_log::CallLog::open(&log).unwrap();
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = asked.clone();
    let metrics = mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_compute_output(move |input| {
        let mut results = Vec::new();
        for query in input.metric_data_queries() {
            let stat = query.metric_stat().unwrap();
            let metric = stat.metric().unwrap();
            let dimensions: Vec<String> = metric.dimensions().iter().map(|d| format!("{}={}", d.name().unwrap(), d.value().unwrap())).collect();
            seen.lock().unwrap().push(format!(
                "{} {} {} {} {}s {}",
                query.id().unwrap(),
                metric.namespace().unwrap(),
                metric.metric_name().unwrap(),
                dimensions.join(","),
                stat.period().unwrap(),
                stat.stat().unwrap()
            ));
            let value = match metric.metric_name().unwrap() {
                "HTTPCode_Target_5XX_Count" => Some(2.0),
                "RequestCount" => Some(100.0),
                _ => None,
            };
            results.push(MetricDataResult::builder().id(query.id().unwrap()).set_values(value.map(|v| vec![v])).build());
        }
        GetMetricDataOutput::builder().set_metric_data_results(Some(results)).build()
    });
    let text = "apiVersion: gameday/v1\nname: mocked\nsteady_state:\n  - { name: ok, kind: command, run: \"true\", interval: 500ms, timeout: 500ms }\n  - name: requests\n    kind: metric\n    namespace: AWS/ApplicationELB\n    metric: [HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count]\n    divided_by: RequestCount\n    dimensions: { LoadBalancer: app/web-alb/50dc6c495c0c9188 }\n    period: 1s\n    interval: 1s\n    timeout: 1s\nfaults:\n  - { name: f, kind: command, inject: \"true\", revert: \"true\", duration: 3s }\nexpected_recoveries:\n  - { name: ok, probes: [ok], recovers_within: 3s, max_impact: { error_rate: 1, requests: requests } }\n";
    let scenario = scenario(text);
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients(&[], &[], &[&metrics]).with_call_log(&file), &scenario).await.unwrap();
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    let Outcome::RecoveryMissed { expectations } = &finished.result.outcome else { panic!("{:?}", finished.result.outcome) };
    assert!(expectations[0].contains("2.00% of requests failed (") && expectations[0].contains("metric probe `requests`) — budget 1%"), "{expectations:?}");
    let e = &finished.result.expectations[0];
    assert_eq!((e.error_rate, e.probe_error_rate), (Some(2.0), 0.0), "{e:?}");
    let gameday::run::metrics::ErrorRateSource::MetricProbe { requests, failed, periods, .. } = &e.error_rate_source else { panic!("{:?}", e.error_rate_source) };
    assert_eq!((*requests, *failed), (100 * *periods as u64, 2 * *periods as u64));
    let asked = asked.lock().unwrap();
    assert_eq!(
        asked[..3],
        [
            "m0 AWS/ApplicationELB HTTPCode_Target_5XX_Count LoadBalancer=app/web-alb/50dc6c495c0c9188 1s Sum",
            "m1 AWS/ApplicationELB HTTPCode_ELB_5XX_Count LoadBalancer=app/web-alb/50dc6c495c0c9188 1s Sum",
            "m2 AWS/ApplicationELB RequestCount LoadBalancer=app/web-alb/50dc6c495c0c9188 1s Sum",
        ]
    );
    // `gameday iam-policy` allows every call the run made, GetMetricData included.
    let scenario_file = dir.path().join("scenario.yaml");
    std::fs::write(&scenario_file, text).unwrap();
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&log, &scenario_file, &[]);
    assert!(recorded.contains("cloudwatch:GetMetricData"), "{recorded:?}");
}

/// A tiny ARC zonal shift (ARC is absent from moto, so aws-smithy-mocks
/// stands in): `GetManagedResource` lists the active shifts,
/// `StartZonalShift` adds one, `CancelZonalShift` removes it. Each entry is
/// (id, away from, comment, a practice run?); `calls` records the order.
/// An active shift in the fake: (id, away from, comment, a practice run?).
type ActiveShift = (String, String, String, bool);

struct FakeArc {
    active: Arc<Mutex<Vec<ActiveShift>>>,
    calls: Arc<Mutex<Vec<String>>>,
}

const ALB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/50dc6c495c0c9188";

impl FakeArc {
    fn new(active: Vec<ActiveShift>) -> FakeArc {
        FakeArc { active: Arc::new(Mutex::new(active)), calls: Arc::new(Mutex::new(Vec::new())) }
    }

    fn rules(&self) -> Vec<Rule> {
        use aws_sdk_arczonalshift::operation::{
            cancel_zonal_shift::CancelZonalShiftOutput, get_managed_resource::GetManagedResourceOutput, start_zonal_shift::StartZonalShiftOutput,
        };
        use aws_sdk_arczonalshift::types::{AppliedStatus, PracticeRunOutcome, ZonalAutoshiftStatus, ZonalShiftInResource, ZonalShiftStatus};
        let now = aws_smithy_types::DateTime::from_secs(1_800_000_000);
        let (active, calls) = (self.active.clone(), self.calls.clone());
        let get = mock!(aws_sdk_arczonalshift::Client::get_managed_resource).then_compute_output(move |_| {
            calls.lock().unwrap().push("GetManagedResource".into());
            let shifts: Vec<ZonalShiftInResource> = active
                .lock()
                .unwrap()
                .iter()
                .map(|(id, away, comment, practice)| {
                    ZonalShiftInResource::builder()
                        .applied_status(AppliedStatus::Applied)
                        .zonal_shift_id(id)
                        .resource_identifier(ALB)
                        .away_from(away)
                        .expiry_time(now)
                        .start_time(now)
                        .comment(comment)
                        .set_practice_run_outcome(practice.then_some(PracticeRunOutcome::Pending))
                        .build()
                        .unwrap()
                })
                .collect();
            GetManagedResourceOutput::builder()
                .name("web-alb")
                .applied_weights("use1-az1", 1.0)
                .applied_weights("use1-az2", 1.0)
                .set_zonal_shifts(Some(shifts))
                .set_autoshifts(Some(Vec::new()))
                .zonal_autoshift_status(ZonalAutoshiftStatus::Enabled)
                .build()
                .unwrap()
        });
        let (active, calls) = (self.active.clone(), self.calls.clone());
        let start = mock!(aws_sdk_arczonalshift::Client::start_zonal_shift).then_compute_output(move |input| {
            calls.lock().unwrap().push(format!("StartZonalShift {} {}", input.away_from().unwrap(), input.expires_in().unwrap()));
            let id = format!("shift-{}", active.lock().unwrap().len() + 1);
            active.lock().unwrap().push((id.clone(), input.away_from().unwrap().into(), input.comment().unwrap().into(), false));
            StartZonalShiftOutput::builder()
                .zonal_shift_id(id)
                .resource_identifier(ALB)
                .away_from(input.away_from().unwrap())
                .expiry_time(now)
                .start_time(now)
                .status(ZonalShiftStatus::Active)
                .comment(input.comment().unwrap())
                .build()
                .unwrap()
        });
        let (active, calls) = (self.active.clone(), self.calls.clone());
        let cancel = mock!(aws_sdk_arczonalshift::Client::cancel_zonal_shift).then_compute_output(move |input| {
            let id = input.zonal_shift_id().unwrap().to_string();
            calls.lock().unwrap().push(format!("CancelZonalShift {id}"));
            active.lock().unwrap().retain(|(active, ..)| *active != id);
            CancelZonalShiftOutput::builder()
                .zonal_shift_id(&id)
                .resource_identifier(ALB)
                .away_from("use1-az1")
                .expiry_time(now)
                .start_time(now)
                .status(ZonalShiftStatus::Canceled)
                .comment("")
                .build()
                .unwrap()
        });
        vec![get, start, cancel]
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn shift_scenario(duration: &str) -> gameday::scenario::Scenario {
    scenario(&format!(
        "apiVersion: gameday/v1\nname: mocked\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 500ms, timeout: 500ms }}\nfaults:\n  - {{ name: shift, kind: zonal_shift, resource: \"{ALB}\", away_from: us-east-1a, duration: {duration} }}\nexpected_recoveries:\n  - {{ name: ok, probes: [ok], recovers_within: 1s }}\n"
    ))
}

fn arc_clients(arc: &FakeArc) -> Clients {
    let rules = arc.rules();
    let mut clients = clients(&[], &[], &[]);
    clients.arc_zonal_shift = mocked!(aws_sdk_arczonalshift, rules.iter());
    clients
}

/// The `zonal_shift` step on AWS: the plan reads the resource (zonal
/// autoshift status included), the shift starts away from the zone's AZ ID
/// after its intent is journaled, and the revert cancels it (read back: no
/// active shift is left). aws-smithy-mocks, because moto has no ARC.
#[tokio::test]
async fn a_zonal_shift_starts_after_its_intent_and_is_cancelled_at_the_end() {
    let arc = FakeArc::new(Vec::new());
    let scenario = shift_scenario("300ms");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let file = gameday::environment::aws::call_log::CallLog::open(&log).unwrap();
    let mut env = AwsEnvironment::with_clients("mock", &spec(), arc_clients(&arc).with_call_log(&file), &scenario).await.unwrap();
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    assert_eq!(plan.faults[0].other_resources, ["ARC zonal shift of web-alb away from use1-az1 (zonal autoshift ENABLED)"]);
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert_eq!(finished.result.outcome, Outcome::HypothesisHeld, "{:?}", finished.result.outcome);
    let calls = arc.calls();
    let started = calls.iter().position(|c| c.starts_with("StartZonalShift")).expect("started");
    assert_eq!(calls[started], "StartZonalShift use1-az1 6m", "away from the AZ ID, expiring 5 minutes after the duration");
    assert!(calls.iter().skip(started).any(|c| c == "CancelZonalShift shift-1"), "{calls:?}");
    assert!(arc.active.lock().unwrap().is_empty(), "no shift left active");
    let events: Vec<&str> = finished
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::FaultIntent { effect: Effect::ZonalShift { comment, .. }, .. } => {
                assert!(comment.starts_with("gameday:token=gameday-shift-"), "{comment}");
                Some("intent")
            }
            Event::FaultApplied { .. } => Some("applied"),
            Event::FaultReverted { .. } => Some("reverted"),
            _ => None,
        })
        .collect();
    assert_eq!(events, ["intent", "applied", "reverted"]);

    // Every call made is in `gameday iam-policy`.
    let scenario_file = dir.path().join("scenario.yaml");
    std::fs::write(&scenario_file, serde_json::to_string(&scenario).unwrap()).unwrap();
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&log, &scenario_file, &[]);
    for call in ["arc-zonal-shift:GetManagedResource", "arc-zonal-shift:StartZonalShift", "arc-zonal-shift:CancelZonalShift"] {
        assert!(recorded.contains(call), "the log records {call}: {recorded:?}");
    }
}

/// ARC applies one shift at a time: an active practice run on the resource
/// refuses the step before anything starts.
#[tokio::test]
async fn a_zonal_shift_is_refused_while_a_practice_run_is_active_on_the_resource() {
    let arc = FakeArc::new(vec![("practice-1".into(), "use1-az2".into(), "autoshift practice run".into(), true)]);
    let scenario = shift_scenario("300ms");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), arc_clients(&arc), &scenario).await.unwrap();
    // ARC's rule is a guard (`resource_busy`): `plan` and `run` refuse with exit 5, not an environment error.
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    let refusal = plan.refusal().expect("the plan refuses").outcome();
    let Outcome::AbortedByGuard { guard: GuardName::ResourceBusy, detail } = &refusal else { panic!("{refusal:?}") };
    assert!(detail.contains("has an active practice run (practice-1, away from use1-az2), and ARC applies one zonal shift or practice run at a time"), "{detail}");
    assert_eq!(refusal.exit_code(), 5);
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert!(matches!(finished.result.outcome, Outcome::AbortedByGuard { guard: GuardName::ResourceBusy, .. }), "{:?}", finished.result.outcome);
    assert!(!arc.calls().iter().any(|c| c.starts_with("StartZonalShift")), "{:?}", arc.calls());
}

/// After kill -9 the journal holds the shift's intent (with its comment)
/// but no shift id: `recover` reads the resource's active shifts and
/// cancels the one with that comment, and leaves another team's shift
/// alone. A library-level test (the binary cannot be pointed at the mocks);
/// the real kill -9 through the binary is in `arc_binary`, against the ARC stand-in.
#[tokio::test]
async fn recover_cancels_the_zonal_shift_the_journal_names_by_its_comment() {
    let arc = FakeArc::new(Vec::new());
    let scenario = shift_scenario("10m");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), arc_clients(&arc), &scenario).await.unwrap();
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    let effect = plan.faults[0].effect.clone().expect("an effect");
    env.apply(&effect, 0).await.unwrap();
    arc.active.lock().unwrap().push(("theirs".into(), "use1-az2".into(), "the on-call's own shift".into(), false));
    let open = open_run(tempfile::tempdir().unwrap().path().to_path_buf(), "shift", effect);
    let mut fresh = AwsEnvironment::with_clients("mock", &spec(), arc_clients(&arc), &scenario).await.unwrap();
    let (recovered, _) = gameday::run::recover::recover(&open, &mut fresh).await;
    assert!(recovered.iter().all(|r| r.result.is_ok()), "recovered");
    let left: Vec<String> = arc.active.lock().unwrap().iter().map(|(id, ..)| id.clone()).collect();
    assert_eq!(left, ["theirs"], "ours cancelled, theirs untouched");
}

/// A tiny ARC Region switch (absent from moto, so aws-smithy-mocks stands
/// in): one plan over us-east-1 and us-west-2 with a manual-approval step;
/// `StartPlanExecution` adds an execution, `GetPlanExecution` reads it as
/// `pendingManualApproval` until `finishes_after_reads` reads, then
/// `completed` with an `actualRecoveryTime`; `CancelPlanExecution` cancels it.
/// Each execution: (id, comment, state).
type Execution = (String, String, String);

struct FakeRegionSwitch {
    executions: Arc<Mutex<Vec<Execution>>>,
    calls: Arc<Mutex<Vec<String>>>,
    finishes_after_reads: Option<usize>,
}

const PLAN: &str = "arn:aws:arc-region-switch::123456789012:plan/web-dr:abc123";

impl FakeRegionSwitch {
    fn new(executions: Vec<Execution>, finishes_after_reads: Option<usize>) -> FakeRegionSwitch {
        FakeRegionSwitch { executions: Arc::new(Mutex::new(executions)), calls: Arc::new(Mutex::new(Vec::new())), finishes_after_reads }
    }

    fn rules(&self) -> Vec<Rule> {
        use aws_sdk_arcregionswitch::operation::{
            cancel_plan_execution::CancelPlanExecutionOutput, get_plan::GetPlanOutput, get_plan_execution::GetPlanExecutionOutput,
            list_plan_execution_events::ListPlanExecutionEventsOutput, list_plan_executions::ListPlanExecutionsOutput, start_plan_execution::StartPlanExecutionOutput,
        };
        use aws_sdk_arcregionswitch::types::{
            AbbreviatedExecution, ExecutionAction, ExecutionBlockType, ExecutionEvent, ExecutionEventType, ExecutionMode, ExecutionState, Plan, RecoveryApproach, Step, Workflow,
            WorkflowTargetAction,
        };
        let now = aws_smithy_types::DateTime::from_secs(1_800_000_000);
        let calls = self.calls.clone();
        let get_plan = mock!(aws_sdk_arcregionswitch::Client::get_plan).then_compute_output(move |_| {
            calls.lock().unwrap().push("GetPlan".into());
            let step = |name: &str, kind: ExecutionBlockType| Step::builder().name(name).execution_block_type(kind).build().unwrap();
            GetPlanOutput::builder()
                .plan(
                    Plan::builder()
                        .arn(PLAN)
                        .name("web-dr")
                        .execution_role("arn:aws:iam::123456789012:role/dr")
                        .owner("123456789012")
                        .regions("us-east-1")
                        .regions("us-west-2")
                        .recovery_approach(RecoveryApproach::ActivePassive)
                        .recovery_time_objective_minutes(15)
                        .workflows(
                            Workflow::builder()
                                .workflow_target_action(WorkflowTargetAction::Activate)
                                .steps(step("approve-failover", ExecutionBlockType::ExecutionApproval))
                                .steps(step("promote-db", ExecutionBlockType::Aurora))
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let state_of = |text: &str| ExecutionState::from(text);
        let (executions, calls) = (self.executions.clone(), self.calls.clone());
        let list = mock!(aws_sdk_arcregionswitch::Client::list_plan_executions).then_compute_output(move |_| {
            calls.lock().unwrap().push("ListPlanExecutions".into());
            let items: Vec<AbbreviatedExecution> = executions
                .lock()
                .unwrap()
                .iter()
                .map(|(id, comment, state)| {
                    AbbreviatedExecution::builder()
                        .plan_arn(PLAN)
                        .execution_id(id)
                        .comment(comment)
                        .start_time(now)
                        .mode(ExecutionMode::Graceful)
                        .execution_state(state_of(state))
                        .execution_action(ExecutionAction::Activate)
                        .execution_region("us-west-2")
                        .build()
                        .unwrap()
                })
                .collect();
            ListPlanExecutionsOutput::builder().set_items(Some(items)).build()
        });
        let (executions, calls) = (self.executions.clone(), self.calls.clone());
        let start = mock!(aws_sdk_arcregionswitch::Client::start_plan_execution).then_compute_output(move |input| {
            calls.lock().unwrap().push(format!("StartPlanExecution {} {} {}", input.target_region().unwrap(), input.action().unwrap().as_str(), input.mode().unwrap().as_str()));
            let id = format!("exec-{}", executions.lock().unwrap().len() + 1);
            executions.lock().unwrap().push((id.clone(), input.comment().unwrap().into(), "pendingManualApproval".into()));
            StartPlanExecutionOutput::builder().execution_id(id).plan(PLAN).build()
        });
        let calls = self.calls.clone();
        let events = mock!(aws_sdk_arcregionswitch::Client::list_plan_execution_events).then_compute_output(move |_| {
            calls.lock().unwrap().push("ListPlanExecutionEvents".into());
            ListPlanExecutionEventsOutput::builder()
                .items(
                    ExecutionEvent::builder()
                        .event_id("event-1")
                        .r#type(ExecutionEventType::ExecutionPendingApproval)
                        .step_name("approve-failover")
                        .execution_block_type(ExecutionBlockType::ExecutionApproval)
                        .timestamp(now)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let (executions, calls, finishes, reads) = (self.executions.clone(), self.calls.clone(), self.finishes_after_reads, Arc::new(Mutex::new(0usize)));
        let get = mock!(aws_sdk_arcregionswitch::Client::get_plan_execution).then_compute_output(move |input| {
            calls.lock().unwrap().push("GetPlanExecution".into());
            let mut executions = executions.lock().unwrap();
            let execution = executions.iter_mut().find(|(id, ..)| id == input.execution_id().unwrap()).unwrap();
            *reads.lock().unwrap() += 1;
            if execution.2 == "pendingManualApproval" && finishes.is_some_and(|n| *reads.lock().unwrap() >= n) {
                execution.2 = "completed".into();
            }
            let completed = execution.2 == "completed";
            GetPlanExecutionOutput::builder()
                .plan_arn(PLAN)
                .execution_id(&execution.0)
                .start_time(now)
                .mode(ExecutionMode::Graceful)
                .execution_state(state_of(&execution.2))
                .execution_action(ExecutionAction::Activate)
                .execution_region("us-west-2")
                .set_actual_recovery_time(completed.then(|| "PT4M30S".to_string()))
                .build()
                .unwrap()
        });
        let (executions, calls) = (self.executions.clone(), self.calls.clone());
        let cancel = mock!(aws_sdk_arcregionswitch::Client::cancel_plan_execution).then_compute_output(move |input| {
            let id = input.execution_id().unwrap().to_string();
            calls.lock().unwrap().push(format!("CancelPlanExecution {id}"));
            for execution in executions.lock().unwrap().iter_mut().filter(|(e, ..)| *e == id) {
                execution.2 = "canceled".into();
            }
            CancelPlanExecutionOutput::builder().build()
        });
        vec![get_plan, list, start, events, get, cancel]
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn states(&self) -> Vec<String> {
        self.executions.lock().unwrap().iter().map(|(id, _, state)| format!("{id} {state}")).collect()
    }
}

fn switch_scenario(duration: &str, regions: &str) -> gameday::scenario::Scenario {
    scenario(&format!(
        "apiVersion: gameday/v1\nname: mocked\nguards:\n  regions: [{regions}]\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 500ms, timeout: 500ms }}\nfaults:\n  - {{ name: switch, kind: region_switch, plan: \"{PLAN}\", target_region: us-west-2, duration: {duration} }}\nexpected_recoveries:\n  - {{ name: ok, probes: [ok], recovers_within: 1s }}\n"
    ))
}

fn switch_clients(fake: &FakeRegionSwitch) -> Clients {
    let rules = fake.rules();
    let mut clients = clients(&[], &[], &[]);
    clients.arc_region_switch = mocked!(aws_sdk_arcregionswitch, rules.iter());
    clients
}

fn observed(finished: &gameday::run::Finished) -> Vec<String> {
    finished.records.iter().filter_map(|r| if let Event::Observed(o) = &r.event { Some(o.message.clone()) } else { None }).collect()
}

/// The `region_switch` step on AWS through the runner: the plan is read
/// into the plan (mode, Regions, steps), the execution starts only after
/// its intent is journaled, the pending manual approval is shown with the
/// command a person runs (gameday never approves), and ARC's
/// `actualRecoveryTime` is journaled and reaches the result beside
/// gameday's own figure. Every call is in `gameday iam-policy`.
/// aws-smithy-mocks, because moto has no ARC Region switch.
#[tokio::test]
async fn a_region_switch_runs_after_its_intent_shows_its_approval_and_reads_arcs_recovery_time() {
    let fake = FakeRegionSwitch::new(Vec::new(), Some(1));
    let scenario = switch_scenario("300ms", "us-east-1, us-west-2");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let file = gameday::environment::aws::call_log::CallLog::open(&log).unwrap();
    let mut env = AwsEnvironment::with_clients("mock", &spec(), switch_clients(&fake).with_call_log(&file), &scenario).await.unwrap();
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    assert_eq!(
        plan.faults[0].other_resources,
        [
            "ARC Region switch plan web-dr (activate of us-west-2, graceful, mode practice; Regions us-east-1, us-west-2, RTO 15 min), steps: approve-failover (ManualApproval), promote-db (AuroraGlobalDatabase)"
        ]
    );
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert_eq!(finished.result.outcome, Outcome::HypothesisHeld, "{:?}", finished.result.outcome);
    let calls = fake.calls();
    assert!(calls.contains(&"StartPlanExecution us-west-2 activate graceful".to_string()), "{calls:?}");
    assert!(!calls.iter().any(|c| c.contains("Approve")), "gameday never approves: {calls:?}");
    assert!(!calls.iter().any(|c| c.starts_with("CancelPlanExecution")), "a completed execution is not cancelled: {calls:?}");
    let events: Vec<String> = finished
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::FaultIntent { effect: Effect::RegionSwitch { comment, .. }, .. } => {
                assert!(comment.starts_with("gameday:token=gameday-switch-"), "{comment}");
                Some("intent".to_string())
            }
            Event::FaultApplied { .. } => Some("applied".into()),
            Event::PlanExecutionEnded(end) => Some(format!("ended {} {} {:?} {:?}", end.execution_id, end.state, end.actual_recovery_time, end.actual_recovery_ms)),
            Event::FaultReverted { .. } => Some("reverted".into()),
            _ => None,
        })
        .collect();
    assert_eq!(events, ["intent", "applied", "ended exec-1 completed Some(\"PT4M30S\") Some(270000)", "reverted"]);
    let approval = observed(&finished).into_iter().find(|m| m.contains("MANUAL APPROVAL PENDING")).expect("the approval is shown");
    assert!(approval.contains("step `approve-failover`") && approval.contains("approve-plan-execution-step --plan-arn"), "{approval}");
    let switch = &finished.result.region_switches[0];
    assert_eq!((switch.execution_id.as_str(), switch.state.as_str(), switch.arc_recovery_ms), ("exec-1", "completed", Some(270_000)));
    assert!(switch.gameday_recovery_ms.is_some(), "gameday's own figure: {switch:?}");

    let scenario_file = dir.path().join("scenario.yaml");
    std::fs::write(&scenario_file, serde_json::to_string(&scenario).unwrap()).unwrap();
    let (recorded, allowed) = crate::aws_side_tools::recorded_calls_in_policy(&log, &scenario_file, &[]);
    assert!(!allowed.contains("arc-region-switch:ApprovePlanExecutionStep"), "approval is a person's: {allowed:?}");
    for call in ["arc-region-switch:GetPlan", "arc-region-switch:StartPlanExecution", "arc-region-switch:GetPlanExecution", "arc-region-switch:ListPlanExecutionEvents"] {
        assert!(recorded.contains(call), "the log records {call}: {recorded:?}");
    }
}

/// An execution still waiting for its approval when the step's duration is
/// over is cancelled by the revert and read back as cancelled; how it
/// ended is journaled, without an ARC recovery time.
#[tokio::test]
async fn an_unfinished_region_switch_is_cancelled_at_the_end_and_read_back() {
    let fake = FakeRegionSwitch::new(Vec::new(), None);
    let scenario = switch_scenario("300ms", "us-east-1, us-west-2");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let file = gameday::environment::aws::call_log::CallLog::open(&log).unwrap();
    let mut env = AwsEnvironment::with_clients("mock", &spec(), switch_clients(&fake).with_call_log(&file), &scenario).await.unwrap();
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    // The cancel path's calls are in `gameday iam-policy` too.
    let scenario_file = dir.path().join("scenario.yaml");
    std::fs::write(&scenario_file, serde_json::to_string(&scenario).unwrap()).unwrap();
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(&log, &scenario_file, &[]);
    assert!(recorded.contains("arc-region-switch:CancelPlanExecution") && recorded.contains("arc-region-switch:ListPlanExecutions"), "{recorded:?}");
    let calls = fake.calls();
    let cancelled = calls.iter().position(|c| c == "CancelPlanExecution exec-1").expect("cancelled");
    assert_eq!(calls[cancelled + 1], "GetPlanExecution", "read back after the cancel: {calls:?}");
    assert_eq!(fake.states(), ["exec-1 canceled"]);
    let reverted = finished.records.iter().find_map(|r| if let Event::FaultReverted { outcome, .. } = &r.event { Some(outcome.clone()) } else { None }).unwrap();
    assert_eq!(reverted.restored, ["execution exec-1 cancelled (read back: canceled)"]);
    let ended = finished.records.iter().find_map(|r| if let Event::PlanExecutionEnded(end) = &r.event { Some(end.clone()) } else { None }).expect("its end");
    assert_eq!((ended.state.as_str(), ended.actual_recovery_ms), ("canceled", None));
}

/// Another way out: the run's `max_duration` ends it while the execution
/// waits for its approval; the execution is cancelled on the way out all the
/// same, and read back.
#[tokio::test]
async fn a_region_switch_is_cancelled_when_max_duration_ends_the_run() {
    let fake = FakeRegionSwitch::new(Vec::new(), None);
    let text = serde_json::to_string(&switch_scenario("10m", "us-east-1, us-west-2")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["guards"]["max_duration"] = serde_json::json!("1s");
    let scenario = scenario(&value.to_string());
    let mut env = AwsEnvironment::with_clients("mock", &spec(), switch_clients(&fake), &scenario).await.unwrap();
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert!(matches!(finished.result.outcome, Outcome::AbortedByGuard { .. }), "{:?}", finished.result.outcome);
    assert!(fake.calls().iter().any(|c| c == "CancelPlanExecution exec-1"), "{:?}", fake.calls());
    assert_eq!(fake.states(), ["exec-1 canceled"]);
}

/// Guards before the call: another unfinished execution of the plan, or a
/// plan whose Regions the scenario's `regions` guard does not allow,
/// refuses the step; nothing starts.
#[tokio::test]
async fn a_region_switch_is_refused_while_the_plan_runs_or_outside_the_scenarios_regions() {
    let busy = FakeRegionSwitch::new(vec![("exec-0".into(), "the on-call's own".into(), "inProgress".into())], None);
    let scenario = switch_scenario("300ms", "us-east-1, us-west-2");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), switch_clients(&busy), &scenario).await.unwrap();
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    let refusal = plan.refusal().expect("the plan refuses").outcome();
    let Outcome::AbortedByGuard { guard: GuardName::ResourceBusy, detail } = &refusal else { panic!("{refusal:?}") };
    assert!(detail.contains("plan web-dr has an unfinished execution (exec-0, inProgress)"), "{detail}");
    assert_eq!(refusal.exit_code(), 5);
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert!(matches!(finished.result.outcome, Outcome::AbortedByGuard { guard: GuardName::ResourceBusy, .. }), "{:?}", finished.result.outcome);
    assert!(!busy.calls().iter().any(|c| c.starts_with("StartPlanExecution")), "{:?}", busy.calls());

    let idle = FakeRegionSwitch::new(Vec::new(), None);
    let narrow = switch_scenario("300ms", "us-east-1");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), switch_clients(&idle), &narrow).await.unwrap();
    let finished = run(&mut env, &narrow, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert!(matches!(finished.result.outcome, Outcome::AbortedByGuard { .. }), "{:?}", finished.result.outcome);
    assert!(!idle.calls().iter().any(|c| c.starts_with("StartPlanExecution")), "{:?}", idle.calls());
}

/// After kill -9 the journal holds the execution's intent (its comment) but
/// no execution id: `recover` lists the plan's executions, cancels the
/// unfinished one with that comment and reads it back, and leaves another
/// team's execution alone. A library-level test (the binary cannot be
/// pointed at the mocks); the real kill -9 through the binary is in
/// `arc_binary`, against the ARC stand-in.
#[tokio::test]
async fn recover_cancels_the_region_switch_execution_the_journal_names_by_its_comment() {
    let fake = FakeRegionSwitch::new(Vec::new(), None);
    let scenario = switch_scenario("10m", "us-east-1, us-west-2");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), switch_clients(&fake), &scenario).await.unwrap();
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    let effect = plan.faults[0].effect.clone().expect("an effect");
    env.apply(&effect, 0).await.unwrap();
    fake.executions.lock().unwrap().push(("theirs".into(), "the on-call's own".into(), "inProgress".into()));
    let open = open_run(tempfile::tempdir().unwrap().path().to_path_buf(), "switch", effect);
    let mut fresh = AwsEnvironment::with_clients("mock", &spec(), switch_clients(&fake), &scenario).await.unwrap();
    let (recovered, _) = gameday::run::recover::recover(&open, &mut fresh).await;
    assert!(recovered.iter().all(|r| r.result.is_ok()), "recovered");
    assert_eq!(fake.states(), ["exec-1 canceled", "theirs inProgress"], "ours cancelled and read back, theirs untouched");
}

/// `sim import` reads alarms from CloudWatch, which moto does not route
/// (RPCv2-CBOR), so aws-smithy-mocks stands in for it: two pages, each
/// alarm's metric, dimensions, period, evaluation periods, threshold and
/// comparison read as the twin needs them (`sim::import` maps them).
#[tokio::test]
async fn import_reads_every_page_of_alarms() {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm};
    let alarm = |name: &str, namespace: &str, metric: &str, dimension: (&str, &str)| {
        MetricAlarm::builder()
            .alarm_name(name)
            .namespace(namespace)
            .metric_name(metric)
            .dimensions(Dimension::builder().name(dimension.0).value(dimension.1).build())
            .period(60)
            .evaluation_periods(2)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .build()
    };
    let first = alarm("web-unhealthy", "AWS/ApplicationELB", "UnHealthyHostCount", ("TargetGroup", "targetgroup/web-tg/0123"));
    let second = alarm("api-health", "AWS/Route53", "HealthCheckStatus", ("HealthCheckId", "hc-1"));
    let pages = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .sequence()
        .output(move || aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder().metric_alarms(first.clone()).next_token("page-2").build())
        .output(move || aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder().metric_alarms(second.clone()).build())
        .build();
    let clients = clients(&[], &[], &[&pages]);
    let mut calls = 0;
    let alarms = gameday::environment::aws::import::read_alarms(&clients.cloudwatch, &mut calls).await.unwrap();
    assert_eq!(calls, 2, "both pages");
    assert_eq!(alarms.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["web-unhealthy", "api-health"]);
    let a = &alarms[0];
    assert_eq!((a.namespace.as_str(), a.metric_name.as_str(), a.dimensions["TargetGroup"].as_str()), ("AWS/ApplicationELB", "UnHealthyHostCount", "targetgroup/web-tg/0123"));
    assert_eq!((a.period_secs, a.evaluation_periods, a.threshold, a.comparison.as_str()), (Some(60), 2, Some(1.0), "GreaterThanOrEqualToThreshold"));
}

/// An unreadable CloudWatch does not stop an import: the reason is kept for the header.
#[tokio::test]
async fn import_keeps_why_alarms_could_not_be_read() {
    let denied = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_error(|| alarm_error("AccessDenied", "not allowed: cloudwatch:DescribeAlarms"));
    let clients = clients(&[], &[], &[&denied]);
    let mut calls = 0;
    let error = gameday::environment::aws::import::read_alarms(&clients.cloudwatch, &mut calls).await.unwrap_err();
    assert!(error.contains("cloudwatch:DescribeAlarms failed") && error.contains("AccessDenied"), "{error}");
}

/// A tiny ARC zonal autoshift for practice runs (ARC is absent from moto,
/// so aws-smithy-mocks stands in): `GetManagedResource` lists the active
/// shifts and the practice-run configuration, `StartPracticeRun` adds a
/// practice run (PENDING), `ListZonalShifts` lists shifts by status and,
/// after `ends_after_reads` reads, lets the practice run end SUCCEEDED;
/// `CancelPracticeRun` ends it INTERRUPTED. CloudWatch answers the blocking
/// alarm `az-health` in `alarm_state`. `calls` records the order.
struct FakePracticeRun {
    shifts: Arc<Mutex<Vec<FakeShift>>>,
    configuration: Option<PracticeConfig>,
    alarm_state: &'static str,
    /// The outcome alarm `web-5xx`'s state, which a test may change during a run.
    outcome_state: Arc<Mutex<&'static str>>,
    ends_after_reads: Option<usize>,
    calls: Arc<Mutex<Vec<String>>>,
    /// Raised when `StartPracticeRun` is called, when set: a signal at the worst moment.
    interrupt_on_start: Option<Arc<Interrupt>>,
}

/// A shift in the fake: (id, away from, comment, status, practice-run
/// outcome or "" for a plain zonal shift).
type FakeShift = (String, String, String, &'static str, &'static str);

/// A practice-run configuration: blocked dates, blocked windows, allowed windows.
#[derive(Clone, Default)]
struct PracticeConfig {
    blocked_dates: Vec<String>,
    blocked_windows: Vec<String>,
    allowed_windows: Vec<String>,
}

impl FakePracticeRun {
    fn new(configuration: Option<PracticeConfig>) -> FakePracticeRun {
        FakePracticeRun {
            shifts: Arc::new(Mutex::new(Vec::new())),
            configuration,
            alarm_state: "OK",
            outcome_state: Arc::new(Mutex::new("OK")),
            ends_after_reads: None,
            calls: Arc::new(Mutex::new(Vec::new())),
            interrupt_on_start: None,
        }
    }

    fn clients(&self) -> Clients {
        use aws_sdk_arczonalshift::operation::{
            cancel_practice_run::CancelPracticeRunOutput, get_managed_resource::GetManagedResourceOutput, list_zonal_shifts::ListZonalShiftsOutput,
            start_practice_run::StartPracticeRunOutput,
        };
        use aws_sdk_arczonalshift::types::{
            AppliedStatus, ControlCondition, ControlConditionType, PracticeRunConfiguration, PracticeRunOutcome, ZonalAutoshiftStatus, ZonalShiftInResource, ZonalShiftStatus,
            ZonalShiftSummary,
        };
        let now = aws_smithy_types::DateTime::from_secs(1_800_000_000);
        let (shifts, calls, configuration) = (self.shifts.clone(), self.calls.clone(), self.configuration.clone());
        let get = mock!(aws_sdk_arczonalshift::Client::get_managed_resource).then_compute_output(move |_| {
            calls.lock().unwrap().push("GetManagedResource".into());
            let active: Vec<ZonalShiftInResource> = shifts
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.3 == "ACTIVE")
                .map(|(id, away, comment, _, outcome)| {
                    ZonalShiftInResource::builder()
                        .applied_status(AppliedStatus::Applied)
                        .zonal_shift_id(id)
                        .resource_identifier(ALB)
                        .away_from(away)
                        .expiry_time(now)
                        .start_time(now)
                        .comment(comment)
                        .set_practice_run_outcome((!outcome.is_empty()).then(|| PracticeRunOutcome::from(*outcome)))
                        .build()
                        .unwrap()
                })
                .collect();
            let config = configuration.as_ref().map(|c| {
                let alarm = |name: &str| {
                    ControlCondition::builder()
                        .r#type(ControlConditionType::Cloudwatch)
                        .alarm_identifier(format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"))
                        .build()
                        .unwrap()
                };
                PracticeRunConfiguration::builder()
                    .blocking_alarms(alarm("az-health"))
                    .outcome_alarms(alarm("web-5xx"))
                    .set_blocked_dates(Some(c.blocked_dates.clone()))
                    .set_blocked_windows(Some(c.blocked_windows.clone()))
                    .set_allowed_windows(Some(c.allowed_windows.clone()))
                    .build()
                    .unwrap()
            });
            GetManagedResourceOutput::builder()
                .name("web-alb")
                .applied_weights("use1-az1", 1.0)
                .applied_weights("use1-az2", 1.0)
                .set_zonal_shifts(Some(active))
                .set_autoshifts(Some(Vec::new()))
                .set_practice_run_configuration(config)
                .zonal_autoshift_status(ZonalAutoshiftStatus::Enabled)
                .build()
                .unwrap()
        });
        let (shifts, calls, interrupt) = (self.shifts.clone(), self.calls.clone(), self.interrupt_on_start.clone());
        let start = mock!(aws_sdk_arczonalshift::Client::start_practice_run).then_compute_output(move |input| {
            calls.lock().unwrap().push(format!("StartPracticeRun {}", input.away_from().unwrap()));
            let id = format!("practice-{}", shifts.lock().unwrap().len() + 1);
            shifts.lock().unwrap().push((id.clone(), input.away_from().unwrap().into(), input.comment().unwrap().into(), "ACTIVE", "PENDING"));
            if let Some(interrupt) = &interrupt {
                interrupt.raise();
            }
            StartPracticeRunOutput::builder()
                .zonal_shift_id(id)
                .resource_identifier(ALB)
                .away_from(input.away_from().unwrap())
                .expiry_time(now)
                .start_time(now)
                .status(ZonalShiftStatus::Active)
                .comment(input.comment().unwrap())
                .build()
                .unwrap()
        });
        let (shifts, calls, ends_after_reads) = (self.shifts.clone(), self.calls.clone(), self.ends_after_reads);
        let reads = Arc::new(Mutex::new(0usize));
        let list = mock!(aws_sdk_arczonalshift::Client::list_zonal_shifts).then_compute_output(move |input| {
            let status = input.status().map_or("ACTIVE", |s| s.as_str()).to_string();
            calls.lock().unwrap().push(format!("ListZonalShifts {status}"));
            if status == "ACTIVE" {
                let mut reads = reads.lock().unwrap();
                if ends_after_reads.is_some_and(|n| *reads >= n) {
                    for shift in shifts.lock().unwrap().iter_mut().filter(|s| s.3 == "ACTIVE" && s.4 == "PENDING") {
                        (shift.3, shift.4) = ("EXPIRED", "SUCCEEDED");
                    }
                }
                *reads += 1;
            }
            let items: Vec<ZonalShiftSummary> = shifts
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.3 == status)
                .map(|(id, away, comment, state, outcome)| {
                    ZonalShiftSummary::builder()
                        .zonal_shift_id(id)
                        .resource_identifier(ALB)
                        .away_from(away)
                        .expiry_time(now)
                        .start_time(now)
                        .status(ZonalShiftStatus::from(*state))
                        .comment(comment)
                        .set_practice_run_outcome((!outcome.is_empty()).then(|| PracticeRunOutcome::from(*outcome)))
                        .build()
                        .unwrap()
                })
                .collect();
            ListZonalShiftsOutput::builder().set_items(Some(items)).build()
        });
        let (shifts, calls) = (self.shifts.clone(), self.calls.clone());
        let cancel = mock!(aws_sdk_arczonalshift::Client::cancel_practice_run).then_compute_output(move |input| {
            let id = input.zonal_shift_id().unwrap().to_string();
            calls.lock().unwrap().push(format!("CancelPracticeRun {id}"));
            for shift in shifts.lock().unwrap().iter_mut().filter(|s| s.0 == id) {
                (shift.3, shift.4) = ("CANCELED", "INTERRUPTED");
            }
            CancelPracticeRunOutput::builder()
                .zonal_shift_id(&id)
                .resource_identifier(ALB)
                .away_from("use1-az1")
                .expiry_time(now)
                .start_time(now)
                .status(ZonalShiftStatus::Canceled)
                .comment("")
                .build()
                .unwrap()
        });
        let (alarm_state, outcome_state, calls) = (self.alarm_state, self.outcome_state.clone(), self.calls.clone());
        let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_compute_output(move |_| {
            calls.lock().unwrap().push("DescribeAlarms".into());
            let outcome = *outcome_state.lock().unwrap();
            aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder()
                .metric_alarms(aws_sdk_cloudwatch::types::MetricAlarm::builder().alarm_name("az-health").state_value(alarm_state.into()).build())
                .metric_alarms(aws_sdk_cloudwatch::types::MetricAlarm::builder().alarm_name("web-5xx").state_value(outcome.into()).build())
                .build()
        });
        let mut clients = clients(&[], &[], &[&alarms]);
        clients.arc_zonal_shift = mocked!(aws_sdk_arczonalshift, [&get, &start, &list, &cancel]);
        clients
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn states(&self) -> Vec<String> {
        self.shifts.lock().unwrap().iter().map(|(id, _, _, status, outcome)| format!("{id} {status} {outcome}")).collect()
    }
}

/// A configuration whose one blocked window is a minute twelve hours from
/// now, and whose one blocked date is a year away: neither blocks now.
fn calendar_not_blocking_now() -> PracticeConfig {
    let later = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC).checked_add(jiff::SignedDuration::from_hours(12)).unwrap();
    let next_minute = later.checked_add(jiff::SignedDuration::from_mins(1)).unwrap();
    let date_next_year = later.date().checked_add(jiff::Span::new().years(1)).unwrap();
    PracticeConfig {
        blocked_dates: vec![date_next_year.to_string()],
        blocked_windows: vec![format!("{}-{}", later.strftime("%a:%H:%M"), next_minute.strftime("%a:%H:%M"))],
        allowed_windows: Vec::new(),
    }
}

fn practice_scenario(duration: &str) -> gameday::scenario::Scenario {
    scenario(&format!(
        "apiVersion: gameday/v1\nname: mocked\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 500ms, timeout: 500ms }}\nfaults:\n  - {{ name: practice, kind: practice_run, resource: \"{ALB}\", away_from: us-east-1a, duration: {duration} }}\nexpected_recoveries:\n  - {{ name: ok, probes: [ok], after_fault: practice, stays_healthy: true }}\n"
    ))
}

/// Every call the log recorded is in `gameday iam-policy` for the scenario.
fn assert_calls_allowed(scenario: &gameday::scenario::Scenario, log: &std::path::Path, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let scenario_file = dir.path().join("scenario.yaml");
    std::fs::write(&scenario_file, serde_json::to_string(scenario).unwrap()).unwrap();
    let (recorded, _) = crate::aws_side_tools::recorded_calls_in_policy(log, &scenario_file, &[]);
    for call in expected {
        assert!(recorded.contains(*call), "the log records {call}: {recorded:?}");
    }
}

/// The `practice_run` step on AWS through the runner: the plan reads the
/// configuration (outcome and blocking alarms), the practice run starts
/// only after its intent is journaled and after the guards were read again,
/// ARC's SUCCEEDED is journaled and reaches the result beside gameday's own
/// figures; a practice run that ended is not cancelled. aws-smithy-mocks,
/// because moto has no ARC.
#[tokio::test]
async fn a_practice_run_starts_after_its_intent_and_is_followed_to_arcs_outcome() {
    // PENDING on the first read, SUCCEEDED on the next (5 s later, gameday's
    // follow interval): the probes sample meanwhile.
    let mut fake = FakePracticeRun::new(Some(calendar_not_blocking_now()));
    fake.ends_after_reads = Some(1);
    let scenario = practice_scenario("6s");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let file = gameday::environment::aws::call_log::CallLog::open(&log).unwrap();
    let mut env = AwsEnvironment::with_clients("mock", &spec(), fake.clients().with_call_log(&file), &scenario).await.unwrap();
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    assert_eq!(plan.faults[0].other_resources, ["ARC practice run of web-alb away from use1-az1 (zonal autoshift ENABLED; outcome alarms: web-5xx; blocking alarms: az-health)"]);
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert_eq!(finished.result.outcome, Outcome::HypothesisHeld, "{:?}", finished.result.outcome);
    let calls = fake.calls();
    let started = calls.iter().position(|c| c == "StartPracticeRun use1-az1").expect("started away from the AZ ID");
    assert_eq!(calls[started - 2..started], ["GetManagedResource".to_string(), "DescribeAlarms".to_string()], "the guards read again just before: {calls:?}");
    assert!(!calls.iter().any(|c| c.starts_with("CancelPracticeRun")), "an ended practice run is not cancelled: {calls:?}");
    let events: Vec<String> = finished
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::FaultIntent { effect: Effect::PracticeRun { comment, .. }, .. } => {
                assert!(comment.starts_with("gameday:token=gameday-practice-"), "{comment}");
                Some("intent".to_string())
            }
            Event::FaultApplied { .. } => Some("applied".into()),
            Event::PracticeRunEnded(end) => Some(format!("ended {} {}", end.zonal_shift_id, end.outcome.as_str())),
            Event::FaultReverted { .. } => Some("reverted".into()),
            _ => None,
        })
        .collect();
    assert_eq!(events, ["intent", "applied", "ended practice-1 SUCCEEDED", "reverted"]);
    let result = &finished.result.practice_runs[0];
    assert_eq!((result.zonal_shift_id.as_str(), result.outcome), ("practice-1", gameday::environment::PracticeRunOutcome::Succeeded));
    assert!(result.client_samples > 0 && result.client_failures == 0, "gameday's own figures: {result:?}");
    assert_eq!(result.client_availability, Some(100.0));
    let started_at = finished.result.faults[0].started_at.unwrap();
    let ended_at = finished.records.iter().find_map(|r| if let Event::PracticeRunEnded(end) = &r.event { Some(end.at) } else { None }).unwrap();
    assert_eq!(result.duration_ms, Some(ended_at - started_at), "from the step's start to the outcome read");
    assert_eq!((result.expectations, result.expectations_met), (1, 1));
    assert_calls_allowed(
        &scenario,
        &log,
        &["arc-zonal-shift:GetManagedResource", "arc-zonal-shift:StartPracticeRun", "arc-zonal-shift:ListZonalShifts", "cloudwatch:DescribeAlarms"],
    );
}

/// A practice run still active when the step's duration is over is
/// cancelled by the revert and read back (no longer active on the
/// resource); ARC's INTERRUPTED is journaled and reported.
#[tokio::test]
async fn an_active_practice_run_is_cancelled_at_the_end_and_read_back() {
    let fake = FakePracticeRun::new(Some(PracticeConfig::default()));
    let scenario = practice_scenario("300ms");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let file = gameday::environment::aws::call_log::CallLog::open(&log).unwrap();
    let mut env = AwsEnvironment::with_clients("mock", &spec(), fake.clients().with_call_log(&file), &scenario).await.unwrap();
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    let calls = fake.calls();
    let cancelled = calls.iter().position(|c| c == "CancelPracticeRun practice-1").expect("cancelled");
    assert_eq!(calls[cancelled + 1], "GetManagedResource", "read back after the cancel: {calls:?}");
    assert_eq!(fake.states(), ["practice-1 CANCELED INTERRUPTED"]);
    let reverted = finished.records.iter().find_map(|r| if let Event::FaultReverted { outcome, .. } = &r.event { Some(outcome.clone()) } else { None }).unwrap();
    assert_eq!(reverted.restored, ["practice run practice-1 cancelled (read back: no longer active)"]);
    assert_eq!(finished.result.practice_runs[0].outcome, gameday::environment::PracticeRunOutcome::Interrupted);
    assert_calls_allowed(&scenario, &log, &["arc-zonal-shift:CancelPracticeRun", "arc-zonal-shift:ListZonalShifts"]);
}

/// The other ways out: the run's `max_duration` (a guard trip) and a
/// signal raised the moment `StartPracticeRun` answers; the practice run is
/// cancelled on the way out all the same, and read back.
#[tokio::test]
async fn a_practice_run_is_cancelled_on_a_guard_trip_and_on_a_signal() {
    let fake = FakePracticeRun::new(Some(PracticeConfig::default()));
    let mut value: serde_json::Value = serde_json::from_str(&serde_json::to_string(&practice_scenario("10m")).unwrap()).unwrap();
    value["guards"]["max_duration"] = serde_json::json!("1s");
    let scenario = scenario(&value.to_string());
    let mut env = AwsEnvironment::with_clients("mock", &spec(), fake.clients(), &scenario).await.unwrap();
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert!(matches!(finished.result.outcome, Outcome::AbortedByGuard { .. }), "{:?}", finished.result.outcome);
    assert_eq!(fake.states(), ["practice-1 CANCELED INTERRUPTED"]);

    let interrupt = Interrupt::new();
    let mut fake = FakePracticeRun::new(Some(PracticeConfig::default()));
    fake.interrupt_on_start = Some(interrupt.clone());
    let scenario = practice_scenario("10m");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), fake.clients(), &scenario).await.unwrap();
    let finished = Runner::new(&scenario, &mut env, WallClock::start(), Silent, Journal::in_memory(), RunConfig::new(1, jiff::Timestamp::now()), interrupt).run().await;
    assert_eq!(finished.result.outcome, Outcome::Interrupted);
    assert_eq!(fake.states(), ["practice-1 CANCELED INTERRUPTED"]);
}

/// ARC applies one shift or practice run at a time: another zonal shift
/// active on the resource is the `resource_busy` guard (exit 5), and nothing starts.
#[tokio::test]
async fn a_practice_run_is_refused_while_another_shift_is_active_on_the_resource() {
    let busy = FakePracticeRun::new(Some(PracticeConfig::default()));
    busy.shifts.lock().unwrap().push(("theirs".into(), "use1-az2".into(), "the on-call's own shift".into(), "ACTIVE", ""));
    let scenario = practice_scenario("300ms");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), busy.clients(), &scenario).await.unwrap();
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    let refusal = plan.refusal().expect("the plan refuses").outcome();
    let Outcome::AbortedByGuard { guard: GuardName::ResourceBusy, detail } = &refusal else { panic!("{refusal:?}") };
    assert!(detail.contains("web-alb has an active zonal shift (theirs, away from use1-az2), and ARC applies one zonal shift or practice run at a time"), "{detail}");
    assert_eq!(refusal.exit_code(), 5);
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert!(matches!(finished.result.outcome, Outcome::AbortedByGuard { guard: GuardName::ResourceBusy, .. }), "{:?}", finished.result.outcome);
    assert!(!busy.calls().iter().any(|c| c.starts_with("StartPracticeRun")), "{:?}", busy.calls());
}

/// Guards before the call, each refusing before anything starts: no
/// practice-run configuration, a blocking alarm in ALARM, today a blocked date, now in a blocked
/// window, now outside every allowed window; and a blocked date that does
/// not parse is an error, never "not blocked".
#[tokio::test]
async fn a_practice_run_is_refused_by_each_guard_before_the_call() {
    let today = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC);
    // Today and tomorrow: a run that crosses midnight UTC is blocked all the same.
    let blocked_today = PracticeConfig { blocked_dates: vec![today.date().to_string(), today.date().tomorrow().unwrap().to_string()], ..PracticeConfig::default() };
    let around_now = {
        let (before, after) = (today.checked_sub(jiff::SignedDuration::from_hours(1)).unwrap(), today.checked_add(jiff::SignedDuration::from_hours(1)).unwrap());
        format!("{}-{}", before.strftime("%a:%H:%M"), after.strftime("%a:%H:%M"))
    };
    let blocked_now = PracticeConfig { blocked_windows: vec![around_now.clone()], ..PracticeConfig::default() };
    let never_allowed = {
        let later = today.checked_add(jiff::SignedDuration::from_hours(12)).unwrap();
        let next_minute = later.checked_add(jiff::SignedDuration::from_mins(1)).unwrap();
        PracticeConfig { allowed_windows: vec![format!("{}-{}", later.strftime("%a:%H:%M"), next_minute.strftime("%a:%H:%M"))], ..PracticeConfig::default() }
    };
    let unparsable = PracticeConfig { blocked_dates: vec!["24/12/2026".into()], ..PracticeConfig::default() };
    let mut in_alarm = FakePracticeRun::new(Some(PracticeConfig::default()));
    in_alarm.alarm_state = "ALARM";
    let cases = [
        (FakePracticeRun::new(None), "web-alb has no practice-run configuration"),
        (in_alarm, "blocking alarm `az-health` of web-alb's practice-run configuration is in ALARM"),
        (FakePracticeRun::new(Some(blocked_today)), "is a blocked date of its practice-run configuration"),
        (FakePracticeRun::new(Some(blocked_now)), &*format!("falls in the blocked window `{around_now}`")),
        (FakePracticeRun::new(Some(never_allowed)), "is outside every allowed window"),
        (FakePracticeRun::new(Some(unparsable)), "cannot read the practice-run configuration of web-alb: blocked date `24/12/2026` is not a date"),
    ];
    let scenario = practice_scenario("300ms");
    for (fake, expected) in cases {
        let mut env = AwsEnvironment::with_clients("mock", &spec(), fake.clients(), &scenario).await.unwrap();
        let refusal = refusal_of_the_plan(&mut env, &scenario).await;
        let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
        if expected.starts_with("cannot read") {
            // A configuration gameday cannot read is an environment error (exit 7) in `plan` and `run` alike.
            let error = refusal.unwrap_err();
            assert!(error.to_string().contains(expected), "{expected}\n{error}");
            assert!(matches!(&finished.result.outcome, Outcome::EnvironmentError { message } if message.contains(expected)), "{:?}", finished.result.outcome);
        } else {
            // A refusal, as a guard's (exit 5), in `plan` and `run` alike.
            let detail = refusal.unwrap();
            assert!(detail.contains(expected), "{expected}\n{detail}");
            assert!(
                matches!(&finished.result.outcome, Outcome::AbortedByGuard { guard: GuardName::RefusedByEnvironment, detail } if detail.contains(expected)),
                "{:?}",
                finished.result.outcome
            );
        }
        assert!(!fake.calls().iter().any(|c| c.starts_with("StartPracticeRun")), "{expected}: {:?}", fake.calls());
    }
}

/// What the plan's `refused_by_environment` guard says, or the error that
/// stopped the plan; panics when the plan would run.
async fn refusal_of_the_plan(env: &mut AwsEnvironment, scenario: &gameday::scenario::Scenario) -> Result<String, EnvError> {
    let plan = gameday::run::plan::plan(env, scenario, 1, jiff::Timestamp::now()).await?;
    match plan.refusal() {
        Some(gameday::run::plan::Refusal::Guard { guard: GuardName::RefusedByEnvironment, detail, .. }) => Ok(detail),
        other => panic!("not refused by the environment: {other:?}"),
    }
}

/// A blocking alarm of the practice-run configuration that cannot be read
/// refuses the practice run as one in ALARM would (fail closed, exit 5),
/// and the refusal still names the kind and its fix.
#[tokio::test]
async fn a_practice_run_whose_blocking_alarm_cannot_be_read_is_refused_with_the_fix() {
    let fake = FakePracticeRun::new(Some(PracticeConfig::default()));
    let denied = mock!(aws_sdk_cloudwatch::Client::describe_alarms).sequence().error(|| alarm_error("AccessDenied", "no")).repeatedly().build();
    let mut clients = fake.clients();
    clients.cloudwatch = mocked!(aws_sdk_cloudwatch, [&denied]);
    let scenario = practice_scenario("300ms");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), clients, &scenario).await.unwrap();
    let message = refusal_of_the_plan(&mut env, &scenario).await.unwrap();
    assert!(message.starts_with("the blocking alarms of web-alb could not be read: cloudwatch:DescribeAlarms failed (AccessDenied): "), "{message}");
    assert!(message.ends_with("\n  = hint: the credentials may not make this call: `gameday iam-policy SCENARIO` prints the policy gameday needs (docs/aws.md)"), "{message}");
    assert!(!fake.calls().iter().any(|c| c.starts_with("StartPracticeRun")), "{:?}", fake.calls());
}

/// After kill -9 the journal holds the practice run's intent (with its
/// comment) but no id: `recover` reads the resource's active shifts,
/// cancels the practice run with that comment, reads it back, and leaves
/// another team's shift alone. A library-level test (the binary cannot be
/// pointed at the mocks); the real kill -9 through the binary is in
/// `arc_binary`, against the ARC stand-in.
#[tokio::test]
async fn recover_cancels_the_practice_run_the_journal_names_by_its_comment() {
    let fake = FakePracticeRun::new(Some(PracticeConfig::default()));
    let scenario = practice_scenario("10m");
    let mut env = AwsEnvironment::with_clients("mock", &spec(), fake.clients(), &scenario).await.unwrap();
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    let effect = plan.faults[0].effect.clone().expect("an effect");
    env.apply(&effect, 0).await.unwrap();
    fake.shifts.lock().unwrap().push(("theirs".into(), "use1-az2".into(), "the on-call's own shift".into(), "ACTIVE", ""));
    let open = open_run(tempfile::tempdir().unwrap().path().to_path_buf(), "practice", effect);
    let mut fresh = AwsEnvironment::with_clients("mock", &spec(), fake.clients(), &scenario).await.unwrap();
    let (recovered, _) = gameday::run::recover::recover(&open, &mut fresh).await;
    assert!(recovered.iter().all(|r| r.result.is_ok()), "recovered");
    assert_eq!(fake.states(), ["practice-1 CANCELED INTERRUPTED", "theirs ACTIVE "], "ours cancelled, theirs untouched");
}

/// What `recover` finds after kill -9 of a mocked run: one fault's effect
/// in place, the run unfinished, its journal whole.
fn open_run(dir: std::path::PathBuf, fault: &str, effect: Effect) -> gameday::run::recover::OpenRun {
    gameday::run::recover::OpenRun {
        dir,
        scenario: "mocked".into(),
        environment: "mock".into(),
        account: "123456789012".into(),
        finished: false,
        in_place: vec![(fault.into(), effect)],
        damage: vec![],
        unreadable: None,
        live_pid: None,
        last_t: 0,
    }
}

/// The AWS environment with a bug: the first `follow` after a fault took
/// effect panics, with the practice run active at ARC.
struct PanicsOnFollow {
    inner: AwsEnvironment,
    applied: bool,
}

impl Environment for PanicsOnFollow {
    fn identity(&self) -> gameday::environment::Identity {
        self.inner.identity()
    }
    fn supports_probe(&self, probe: &gameday::scenario::Probe) -> Result<(), EnvError> {
        self.inner.supports_probe(probe)
    }
    async fn reach(&mut self, fault: &gameday::scenario::Fault) -> Result<gameday::environment::Reach, EnvError> {
        self.inner.reach(fault).await
    }
    async fn prepare(&mut self, fault: &gameday::scenario::Fault, chosen: &[gameday::environment::Candidate], reach: &gameday::environment::Reach) -> Result<Effect, EnvError> {
        self.inner.prepare(fault, chosen, reach).await
    }
    async fn apply(&mut self, effect: &Effect, now: gameday::environment::Millis) -> Result<(), EnvError> {
        self.inner.apply(effect, now).await?;
        self.applied = true;
        Ok(())
    }
    async fn revert(&mut self, effect: &Effect, now: gameday::environment::Millis) -> Result<gameday::environment::RevertOutcome, EnvError> {
        self.inner.revert(effect, now).await
    }
    async fn sample(&mut self, probe: &gameday::scenario::Probe, now: gameday::environment::Millis) -> gameday::environment::Sample {
        self.inner.sample(probe, now).await
    }
    async fn alarm_states(&mut self, names: &[String], now: gameday::environment::Millis) -> Vec<gameday::environment::AlarmReading> {
        self.inner.alarm_states(names, now).await
    }
    async fn check_alarm_exists(&mut self, name: &str) -> Result<(), EnvError> {
        self.inner.check_alarm_exists(name).await
    }
    fn take_observations(&mut self) -> Vec<gameday::environment::Observation> {
        self.inner.take_observations()
    }
    async fn follow(&mut self, now: gameday::environment::Millis) -> Vec<gameday::environment::Ended> {
        assert!(!self.applied, "a bug while following the practice run");
        self.inner.follow(now).await
    }
    fn prober(&self) -> Option<gameday::environment::real_probes::RealProber> {
        self.inner.prober()
    }
}

/// A panic in the runner while a practice run is active: the CLI's path
/// after a panic (catch it at the task boundary, then `recover` from the
/// journal with the same environment) cancels the practice run
/// (`CancelPracticeRun`) and reads it back. aws-smithy-mocks, because moto
/// has no ARC; the panic is a bug planted in a wrapper of the environment.
#[tokio::test]
async fn a_panic_while_a_practice_run_is_active_still_cancels_it() {
    let fake = FakePracticeRun::new(Some(PracticeConfig::default()));
    let scenario = practice_scenario("10m");
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::create(&dir.path().join("journal.jsonl")).unwrap();
    let inner = AwsEnvironment::with_clients("mock", &spec(), fake.clients(), &scenario).await.unwrap();
    let mut env = PanicsOnFollow { inner, applied: false };
    let result =
        gameday::run::panic::catch_panic(Runner::new(&scenario, &mut env, WallClock::start(), Silent, journal, RunConfig::new(1, jiff::Timestamp::now()), Interrupt::new()).run())
            .await;
    assert_eq!(result.err().as_deref(), Some("a bug while following the practice run"));
    assert_eq!(fake.states(), ["practice-1 ACTIVE PENDING"], "the practice run was active when the runner panicked");

    let open = gameday::run::recover::inspect(dir.path());
    assert_eq!(open.in_place.len(), 1, "the journal shows the practice run in place");
    let (recovered, journal_error) = gameday::run::recover::recover(&open, &mut env).await;
    assert!(journal_error.is_none());
    assert!(recovered.iter().all(|r| r.result.is_ok()), "recovered");
    let calls = fake.calls();
    let cancelled = calls.iter().position(|c| c == "CancelPracticeRun practice-1").unwrap_or_else(|| panic!("cancelled: {calls:?}"));
    assert_eq!(calls[cancelled + 1], "GetManagedResource", "read back after the cancel: {calls:?}");
    assert_eq!(fake.states(), ["practice-1 CANCELED INTERRUPTED"]);
    assert!(gameday::run::recover::inspect(dir.path()).in_place.is_empty(), "the journal now shows nothing in place");
}

/// `guards.import_alarms`: the blocking and outcome alarms of a resource's
/// practice-run configuration, taken by name instead of listed by hand.
/// The plan reads the configuration before any side effect and shows what
/// it brought; a blocking alarm in ALARM refuses the run (no fault made);
/// a configuration that cannot be read (none on the resource) refuses it
/// too, failing closed; and an outcome alarm taken as a stop condition ends
/// the run when it goes to ALARM. aws-smithy-mocks: moto has no ARC, and
/// CloudWatch over the SDK's RPCv2-CBOR is not routed by moto.
#[tokio::test]
async fn alarms_imported_from_a_practice_run_configuration_block_the_start_and_stop_the_run() {
    let text = PROBE_ONLY.replace("duration: 1s", "duration: 5m").replace(
        "name: mocked\n",
        &format!("name: mocked\nguards:\n  blocking_alarms: [az-health]\n  import_alarms:\n    - {{ practice_run_configuration: \"{ALB}\", outcome_alarms: stop_conditions }}\n"),
    );
    let scenario = scenario(&text);
    let fake = FakePracticeRun::new(Some(PracticeConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let file = gameday::environment::aws::call_log::CallLog::open(&log).unwrap();
    let mut env = AwsEnvironment::with_clients("mock", &spec(), fake.clients().with_call_log(&file), &scenario).await.unwrap();
    let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.unwrap();
    let details: Vec<String> = plan.verdicts.iter().filter(|v| v.guard == GuardName::BlockingAlarms).map(|v| format!("{} {}", v.passed, v.detail)).collect();
    assert_eq!(
        details,
        [
            "true imported from the practice-run configuration of web-alb: blocking alarms az-health; outcome alarms as stop conditions: web-5xx",
            "true no blocking alarm is in ALARM (az-health OK)",
        ],
        "read before anything, shown, and the alarm named twice judged once"
    );
    assert_eq!(plan.imported_stop_alarms, ["web-5xx"]);
    assert_eq!(fake.calls()[..2], ["GetManagedResource".to_string(), "DescribeAlarms".to_string()]);

    // The outcome alarm is in ALARM: it does not refuse the run (only
    // blocking alarms do), but as a stop condition it ends it as injection
    // starts, before the 5-minute fault is made.
    *fake.outcome_state.lock().unwrap() = "ALARM";
    let mut config = RunConfig::new(1, jiff::Timestamp::now());
    config.alarm_poll = 100;
    let finished = run(&mut env, &scenario, config).await;
    assert_eq!(finished.result.outcome, Outcome::AbortedByGuard { guard: GuardName::StopConditions, detail: "alarm `web-5xx`".into() });
    let made: Vec<&str> = finished
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::FaultIntent { .. } => Some("intent"),
            Event::FaultReverted { .. } => Some("reverted"),
            _ => None,
        })
        .collect();
    assert!(made.is_empty(), "{made:?}");
    assert!(finished.records.iter().any(|r| matches!(r.event, Event::SteadyState { healthy: true, .. })), "the run got past the steady state");
    assert_calls_allowed(&scenario, &log, &["arc-zonal-shift:GetManagedResource", "cloudwatch:DescribeAlarms"]);

    // A blocking alarm of the configuration in ALARM refuses the run before any fault; so does a configuration that cannot be read.
    let mut in_alarm = FakePracticeRun::new(Some(PracticeConfig::default()));
    in_alarm.alarm_state = "ALARM";
    let without = scenario.clone();
    let mut only_imported = without.clone();
    only_imported.guards.blocking_alarms.clear();
    for (fake, expected) in [
        (in_alarm, "`az-health` is in ALARM"),
        (
            FakePracticeRun::new(None),
            &*format!("the practice-run configuration of {ALB} could not be read (the call was refused: web-alb has no practice-run configuration, so it has no alarms to import)"),
        ),
    ] {
        let mut env = AwsEnvironment::with_clients("mock", &spec(), fake.clients(), &only_imported).await.unwrap();
        let plan = gameday::run::plan::plan(&mut env, &only_imported, 1, jiff::Timestamp::now()).await.unwrap();
        let refusal = plan.refusal().expect("refused");
        assert!(matches!(&refusal, gameday::run::plan::Refusal::Guard { guard: GuardName::BlockingAlarms, detail, .. } if detail.contains(expected)), "{expected}: {refusal:?}");
        let finished = run(&mut env, &only_imported, RunConfig::new(1, jiff::Timestamp::now())).await;
        assert!(matches!(&finished.result.outcome, Outcome::AbortedByGuard { guard: GuardName::BlockingAlarms, .. }), "{:?}", finished.result.outcome);
        assert!(!finished.records.iter().any(|r| matches!(r.event, Event::FaultIntent { .. })), "nothing was about to be made");
    }
}

/// The case that made a fault start when gameday starts making it
/// (docs/metrics.md): a termination through FIS is awaited until the
/// experiment completes, and FIS hurts the service while gameday waits. The
/// mocked FIS (aws-smithy-mocks: moto's experiments act on nothing) marks
/// the service down at its first answer and completes at its third, when
/// the service is back: all the impact falls before the fault is applied.
/// Counted from the apply's return, the run said "no impact".
#[tokio::test]
async fn impact_while_gameday_awaits_a_fis_experiment_counts_from_the_fault_start() {
    use aws_sdk_fis::operation as op;
    use aws_sdk_fis::types::{Experiment, ExperimentState, ExperimentStatus, ExperimentTemplate, SafetyLever, SafetyLeverState, SafetyLeverStatus};
    let dir = tempfile::tempdir().unwrap();
    let down = dir.path().join("service-down");
    let polls = Arc::new(Mutex::new(0usize));
    let experiment = {
        let (polls, down) = (polls.clone(), down.clone());
        move || {
            let mut n = polls.lock().unwrap();
            *n += 1;
            // FIS's first answer: terminating, the service down; its third: completed, the service back.
            match *n {
                1 => std::fs::write(&down, "").unwrap(),
                3 => std::fs::remove_file(&down).unwrap(),
                _ => {}
            }
            let status = if *n >= 3 { ExperimentStatus::Completed } else { ExperimentStatus::Running };
            Experiment::builder().id("EXP1").experiment_template_id("EXT1").state(ExperimentState::builder().status(status).build()).build()
        }
    };
    let fis = [
        mock!(aws_sdk_fis::Client::get_safety_lever).then_output(|| {
            op::get_safety_lever::GetSafetyLeverOutput::builder()
                .safety_lever(SafetyLever::builder().state(SafetyLeverState::builder().status(SafetyLeverStatus::Disengaged).reason("").build()).build())
                .build()
        }),
        mock!(aws_sdk_fis::Client::create_experiment_template).then_output(|| {
            op::create_experiment_template::CreateExperimentTemplateOutput::builder().experiment_template(ExperimentTemplate::builder().id("EXT1").build()).build()
        }),
        mock!(aws_sdk_fis::Client::start_experiment).then_output(|| {
            op::start_experiment::StartExperimentOutput::builder()
                .experiment(Experiment::builder().id("EXP1").experiment_template_id("EXT1").state(ExperimentState::builder().status(ExperimentStatus::Initiating).build()).build())
                .build()
        }),
        mock!(aws_sdk_fis::Client::get_experiment).then_compute_output(move |_| op::get_experiment::GetExperimentOutput::builder().experiment(experiment()).build()),
        mock!(aws_sdk_fis::Client::delete_experiment_template).then_output(|| op::delete_experiment_template::DeleteExperimentTemplateOutput::builder().build()),
    ];
    let fake = FakeEc2::new(2);
    let describe = fake.describe();
    let text = format!(
        "apiVersion: gameday/v1\nname: mocked\nvia: fis\nsteady_state:\n  - {{ name: up, kind: command, run: \"test ! -e {}\", interval: 100ms, timeout: 100ms }}\nfaults:\n  - {{ name: terminate, kind: terminate_instances, targets: {{ ids: [{}] }} }}\nexpected_recoveries:\n  - {{ name: up, probes: [up], recovers_within: 30s }}\n",
        down.display(),
        fake.all[0]
    );
    let scenario = scenario(&text);
    let spec = AwsSpec { fis_role_arn: Some("arn:aws:iam::123456789012:role/fis".into()), ..spec() };
    let fis_rules: Vec<&Rule> = fis.iter().collect();
    let mut env = AwsEnvironment::with_clients("mock", &spec, clients(&[&describe], &fis_rules, &[]), &scenario).await.unwrap();
    let finished = run(&mut env, &scenario, RunConfig::new(1, jiff::Timestamp::now())).await;
    assert_eq!(finished.result.outcome, Outcome::HypothesisHeld, "{:?}", finished.result);
    let at = |wanted: fn(&Event) -> bool| finished.records.iter().find(|r| wanted(&r.event)).map(|r| r.t).unwrap();
    let (intent, applied) = (at(|e| matches!(e, Event::FaultIntent { .. })), at(|e| matches!(e, Event::FaultApplied { .. })));
    let up = &finished.result.expectations[0];
    assert_eq!(up.fault_start, intent, "{up:?}");
    let impact = up.impact_start.unwrap_or_else(|| panic!("the impact while FIS ran is counted: {up:?}"));
    assert!(intent <= impact && impact < applied, "impact at {impact}, between the intent at {intent} and the experiment's completion at {applied}");
    let recovered = up.recovered_at.unwrap();
    assert_eq!(up.time_to_recover, Some(recovered - intent), "{up:?}");
    assert!(*polls.lock().unwrap() >= 3, "gameday awaited the experiment");
}
