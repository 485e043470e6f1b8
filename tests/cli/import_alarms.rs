//! `guards.import_alarms` through the binary, without AWS: a wrong key or
//! value is named at its file:line:column; on the simulator (which has no
//! ARC configurations) the plan shows the import as not enforced; the IAM
//! policy reads the configuration and the alarms; `export fis` refuses,
//! as FIS cannot hold a blocking alarm. The AWS path (read, refuse, stop) is
//! in `aws_mocks` (alarms_imported_from_a_practice_run_configuration_…).

const ALB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/50dc6c495c0c9188";

fn scenario(import: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: imported\nguards:\n  require_healthy_start: false\n  import_alarms:\n{import}\nsteady_state:\n  - {{ name: c, kind: asg_capacity, group: web-asg, min_in_service: 4 }}\nfaults:\n  - {{ name: stop-one, kind: stop_instances, targets: {{ groups: [web-asg], count: 1 }}, duration: 5m }}\nexpected_recoveries:\n  - {{ name: c, probes: [c], recovers_within: 10m }}\n"
    )
}

#[test]
fn a_wrong_import_is_named_at_its_line_and_column() {
    let output = crate::gameday_on_file(&["validate"], &scenario(&format!("    - practice_run_configuration: \"{ALB}\"\n      outcome_alarms: stop\n      blocking: true")));
    assert_eq!(output.code, 3, "{}", output.stderr);
    assert!(output.stderr.contains("scenario.yaml:7:23 (at `guards.import_alarms[0].outcome_alarms`)"), "{}", output.stderr);
    assert!(output.stderr.contains("ignore") && output.stderr.contains("stop_conditions"), "the allowed values: {}", output.stderr);
    assert!(output.stderr.contains("scenario.yaml:8:7 (at `guards.import_alarms[0].blocking`)"), "{}", output.stderr);
    let missing = crate::gameday_on_file(&["validate"], &scenario("    - outcome_alarms: stop_conditions"));
    assert_eq!(missing.code, 3);
    assert!(missing.stderr.contains("practice_run_configuration"), "{}", missing.stderr);
}

#[test]
fn the_simulator_shows_the_import_as_not_enforced_and_the_policy_reads_the_configuration() {
    let yaml = scenario(&format!("    - {{ practice_run_configuration: \"{ALB}\", outcome_alarms: stop_conditions }}"));
    let plan = crate::gameday_on_file(&["plan", "--seed", "1"], &yaml);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains(&format!(
            "[note] blocking_alarms: the alarms of {ALB}'s practice-run configuration are imported on AWS only: this environment has no ARC configurations (not enforced on the simulator)"
        )),
        "{}",
        plan.stdout
    );
    let policy = crate::gameday_on_file(&["iam-policy"], &yaml);
    assert_eq!(policy.code, 0, "{}", policy.stderr);
    assert!(policy.stdout.contains("arc-zonal-shift:GetManagedResource") && policy.stdout.contains("cloudwatch:DescribeAlarms"), "{}", policy.stdout);
    let export = crate::gameday_on_file(&["export", "fis"], &yaml);
    assert_eq!(export.code, 10, "{}", export.stdout);
    assert!(export.stderr.contains("blocking_alarms: FIS does not refuse to start an experiment while an alarm is in ALARM"), "{}", export.stderr);
}
