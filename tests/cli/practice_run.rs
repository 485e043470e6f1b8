//! The `practice_run` step (ARC zonal autoshift practice run) through the
//! binary on the simulator: the example validates, plans and runs
//! deterministically, the report shows ARC's outcome beside gameday's own
//! figures, and a practice run still active when its step ends is
//! cancelled (INTERRUPTED) with the load balancer routing to the zone
//! again. The AWS path is in `arc_binary` (the binary against an ARC
//! stand-in) and `aws_mocks` (moto has no ARC).

use std::path::PathBuf;

use crate::{gameday, repo, run_scenario};

fn example() -> PathBuf {
    repo().join("scenarios/az-practice-run.yaml")
}

#[test]
fn the_example_validates_and_plans_its_practice_run() {
    let output = gameday(&["validate", example().to_str().unwrap()]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let output = gameday(&["plan", example().to_str().unwrap()]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stdout.contains("Fault `practice-away-from-1a` (practice_run)"), "{}", output.stdout);
    assert!(output.stdout.contains("touches: ARC practice run of web-alb away from us-east-1a (30 minutes)"), "{}", output.stdout);
}

/// The simulated practice run shifts web-alb away from us-east-1a for its
/// 30 minutes and ends SUCCEEDED; the other zones carry the API, so every
/// sample in that span passed. The same seed gives the same result.
#[test]
fn the_example_runs_on_the_simulator_with_arcs_outcome_beside_gamedays_figures() {
    let runs = tempfile::tempdir().unwrap();
    let run = run_scenario(&example(), &["--seed", "3"], &runs.path().join("a"));
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    let practice = &run.result["practice_runs"][0];
    assert_eq!(
        (practice["fault"].as_str(), practice["zonal_shift_id"].as_str(), practice["outcome"].as_str()),
        (Some("practice-away-from-1a"), Some("sim-practice-run-1"), Some("SUCCEEDED"))
    );
    assert_eq!(practice["duration_ms"].as_u64(), Some(30 * 60_000), "ARC runs a practice run 30 minutes");
    let samples = practice["client_samples"].as_u64().unwrap();
    // One `api` sample every 5 s from T+0 to T+30m, both ends included.
    assert_eq!((samples, practice["client_failures"].as_u64(), practice["client_availability"].as_f64()), (361, Some(0), Some(100.0)));
    assert_eq!((practice["expectations"].as_u64(), practice["expectations_met"].as_u64()), (Some(1), Some(1)));
    let ended = run.events("practice_run_ended");
    assert_eq!((ended.len(), ended[0]["t"].as_u64()), (1, Some(30 * 60_000)));
    let shifted: Vec<&str> = run.journal.iter().filter(|r| r["source"] == "arc-practice-run").filter_map(|r| r["message"].as_str()).collect();
    assert_eq!(shifted, ["web-alb no longer routes to targets in us-east-1a", "web-alb routes to targets in us-east-1a again"]);
    let reverted = run.events("fault_reverted");
    assert_eq!(reverted[0]["outcome"]["skipped"][0][1], "the practice run had ended already (SUCCEEDED)", "an ended practice run is not cancelled");
    let row = "| `practice-away-from-1a` | sim-practice-run-1 | SUCCEEDED | 30m00s | 100.00% | 0 of 361 | 1 of 1 |";
    assert!(run.report.contains("## Practice run") && run.report.contains(row), "{row}\n{}", run.report);
    let html = std::fs::read_to_string(run.dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Practice run</h2>") && html.contains("SUCCEEDED"), "the HTML report has the table");

    let again = run_scenario(&example(), &["--seed", "3"], &runs.path().join("b"));
    assert_eq!(again.result, run.result, "deterministic");
}

/// A step that ends before its 30 minutes cancels the practice run: ARC's
/// outcome is INTERRUPTED, and the load balancer routes to the zone again.
#[test]
fn a_practice_run_still_active_when_its_step_ends_is_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example()).unwrap().replace("    duration: 32m ", "    duration: 10m ");
    let scenario = dir.path().join("az-practice-run.yaml");
    std::fs::write(&scenario, text).unwrap();
    let run = run_scenario(&scenario, &["--seed", "3"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    let reverted = run.events("fault_reverted");
    assert_eq!(reverted[0]["outcome"]["restored"][0], "practice run sim-practice-run-1 cancelled (read back: no longer active)");
    let ended = run.events("practice_run_ended");
    assert_eq!((ended[0]["outcome"].as_str(), ended[0]["t"].as_u64()), (Some("INTERRUPTED"), Some(10 * 60_000)));
    assert!(run.journal.iter().any(|r| r["message"] == "web-alb routes to targets in us-east-1a again"), "shifted back");
    assert_eq!(run.result["practice_runs"][0]["outcome"], "INTERRUPTED");
}
