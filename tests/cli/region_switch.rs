//! The `region_switch` step (ARC Region switch) through the binary on the
//! simulator: the example scenario validates, plans (mode, Regions, steps)
//! and runs deterministically, the report shows ARC's recovery time beside
//! gameday's, an unfinished execution is cancelled, and `mode: recovery`
//! needs `--confirm recovery`. The AWS path is in `arc_binary` (the binary
//! against an ARC stand-in) and `aws_mocks` (moto has no ARC Region switch).

use std::path::PathBuf;

use crate::{gameday, repo, run_scenario};

fn example() -> PathBuf {
    repo().join("scenarios/region-switch-dr.yaml")
}

/// A copy of the example with `from` replaced by `to`, in `dir`.
fn variant(dir: &std::path::Path, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(example()).unwrap();
    assert!(text.contains(from), "the example has `{from}`");
    let path = dir.join("region-switch-dr.yaml");
    std::fs::write(&path, text.replace(from, to).replace("runbook: runbooks/region-switch-dr.md\n", "")).unwrap();
    path
}

#[test]
fn the_example_validates_and_plans_its_region_switch() {
    let output = gameday(&["validate", example().to_str().unwrap()]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let output = gameday(&["plan", example().to_str().unwrap()]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(
        output.stdout.contains(
            "touches: ARC Region switch plan arn:aws:arc-region-switch::123456789012:plan/web-dr:abc123 (activate of us-west-2, graceful, mode practice; Regions us-east-1, us-west-2), steps: point api.example.com at us-west-2 (Route53HealthCheck)"
        ),
        "{}",
        output.stdout
    );
}

/// The simulated plan has one 30-second step per failover record: ARC's
/// figure is 30 s; gameday's adds what clients waited for (the 60 s TTL's
/// share), measured by the `api` probe, and the difference is gameday's
/// minus ARC's. The same seed gives the same result.
#[test]
fn the_example_runs_on_the_simulator_with_arcs_recovery_time_beside_gamedays() {
    let runs = tempfile::tempdir().unwrap();
    let run = run_scenario(&example(), &["--seed", "3"], &runs.path().join("a"));
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    let switch = &run.result["region_switches"][0];
    assert_eq!(switch["fault"], "switch-to-us-west-2");
    assert_eq!(switch["state"], "completed");
    assert_eq!((switch["arc_recovery_time"].as_str(), switch["arc_recovery_ms"].as_u64()), (Some("PT30S"), Some(30_000)));
    let ours = switch["gameday_recovery_ms"].as_u64().expect("gameday's figure");
    let expectation = run.expectation("API served from us-west-2 after the switch");
    let step_start = run.result["faults"].as_array().unwrap().iter().find(|f| f["name"] == "switch-to-us-west-2").unwrap()["started_at"].as_u64().unwrap();
    assert_eq!(ours, expectation["recovered_at"].as_u64().unwrap() - step_start, "from the step's start to the recovery point");
    assert_eq!(switch["difference_ms"].as_i64(), Some(ours as i64 - 30_000));
    let ended = run.events("plan_execution_ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["t"].as_u64(), Some(step_start + 30_000), "the step ends 30 s after the execution starts");
    let row = format!("| `switch-to-us-west-2` | sim-execution-1 | completed | 30s (PT30S) | {} |", crate_fmt(ours));
    assert!(run.report.contains("## Region switch") && run.report.contains(&row), "{row}\n{}", run.report);
    let html = std::fs::read_to_string(run.dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Region switch</h2>") && html.contains("PT30S"), "the HTML report has the table");

    let again = run_scenario(&example(), &["--seed", "3"], &runs.path().join("b"));
    assert_eq!(again.result, run.result, "deterministic");
}

fn crate_fmt(ms: u64) -> String {
    gameday::vocab::fmt_ms(ms)
}

/// A step whose duration ends before its plan does: the revert cancels the
/// execution (read back as cancelled), the record is never switched, and
/// ARC gives no recovery time.
#[test]
fn an_unfinished_execution_is_cancelled_when_the_step_ends() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = variant(dir.path(), "    delay: 2m\n    duration: 15m\n", "    delay: 2m\n    duration: 10s\n");
    let run = run_scenario(&scenario, &["--seed", "3"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 5, "the API never recovers, so its 25-minute stop condition ends the run: {}", run.output.stderr);
    let reverted = run.events("fault_reverted").into_iter().find(|r| r["fault"] == "switch-to-us-west-2").expect("reverted");
    assert_eq!(reverted["outcome"]["restored"][0], "execution sim-execution-1 cancelled after 0 of 1 steps (read back: canceled)");
    let ended = run.events("plan_execution_ended");
    assert_eq!((ended[0]["state"].as_str(), ended[0].get("actual_recovery_ms")), (Some("canceled"), None));
    assert!(!run.journal.iter().any(|r| r["source"] == "arc-region-switch"), "no step was made");
    assert_eq!(run.result["region_switches"][0]["difference_ms"], serde_json::Value::Null);
}

/// `mode: recovery` is a real disaster recovery: `--yes` is not enough,
/// the run needs `--confirm recovery`, and is refused before anything starts.
#[test]
fn a_recovery_execution_needs_confirm_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = variant(dir.path(), "    mode: practice\n", "    mode: recovery\n");
    let runs = dir.path().join("runs");
    let output = gameday(&["run", scenario.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap(), "--yes"]);
    assert_eq!(output.code, 5, "{}", output.stderr);
    assert!(
        output.stderr.contains("error: refusing to run: step `switch-to-us-west-2` executes its Region switch plan in `mode: recovery` (a real disaster recovery), and the run was not confirmed for it"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("hint: pass --confirm recovery"), "{}", output.stderr);
    assert!(!runs.exists(), "nothing started");
    let output = gameday(&["run", scenario.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap(), "--confirm", "practice"]);
    assert_eq!(output.code, 5, "another text does not name it: {}", output.stderr);
    let run = run_scenario(&scenario, &["--confirm", "recovery"], &runs);
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    assert_eq!(run.events("fault_intent")[1]["effect"]["mode"], "recovery");
}
