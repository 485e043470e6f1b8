//! Objectives shared across scenarios (docs/scenarios.md, "Objectives";
//! docs/metrics.md, "Objectives"): an expectation names a disruption class
//! of an objectives file, takes its RTO as its deadline and its availability
//! as its error budget, and every report judges it against them, again from
//! the run directory alone.

use std::path::{Path, PathBuf};

use crate::{Run, gameday, repo, run_scenario};

const OBJECTIVES: &str = "apiVersion: gameday/v1\nkind: Objectives\nobjectives:\n  zone: { rto: 5m, rpo: 1m, availability: 99 }\n  region: { rto: 15m }\n";

/// The example scenario, whose `objectives: objectives.yaml` is found at the
/// project root, with its expectation's keys replaced by `expectation`.
fn example(expectation: &str) -> String {
    let text = std::fs::read_to_string(repo().join("scenarios/zone-gray-failure.yaml")).unwrap();
    let keys = "    objective: zone                     # RTO 5m; availability 99 % of requests\n    max_impact: { requests: api-requests }\n";
    assert!(text.contains(keys), "the example's expectation changed: update this test");
    text.replace(keys, expectation).replace("runbook: runbooks/zone-gray-failure.md\n", "")
}

/// A directory holding `scenario.yaml` and, when given, `objectives.yaml`.
fn project(scenario: &str, objectives: Option<&str>) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(dir.join("scenario.yaml"), scenario).unwrap();
    if let Some(text) = objectives {
        std::fs::write(dir.join("objectives.yaml"), text).unwrap();
    }
    dir
}

fn validate(dir: &Path) -> crate::Output {
    gameday(&["validate", dir.join("scenario.yaml").to_str().unwrap()])
}

fn run(dir: &Path, seed: &str) -> Run {
    run_scenario(&dir.join("scenario.yaml"), &["--seed", seed], &dir.join("runs"))
}

/// The line and column of the first `needle` in `text`, 1-based, as the loader reports them.
fn position(text: &str, needle: &str) -> String {
    let offset = text.find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |n| n + 1) + 1;
    format!("{line}:{column}")
}

#[test]
fn each_objectives_problem_is_placed_and_says_the_fix() {
    // A class the objectives file does not define.
    let scenario = example("    objective: instance\n");
    let dir = project(&scenario, Some(OBJECTIVES));
    let out = validate(&dir);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let at = position(&scenario, "objective: instance");
    assert!(
        out.stderr.contains(&format!(
            "error: the objectives file has no `instance` objective\n  --> {}:{at} (at `expected_recoveries[0].objective`)",
            dir.join("scenario.yaml").display()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: add it to the objectives file, or use one it has: zone, region"), "{}", out.stderr);
    assert_eq!(out.stderr.matches("error: ").count(), 1, "an unresolved objective is one problem, not also 'no kind':\n{}", out.stderr);

    // A class that is not one.
    let out = validate(&project(&example("    objective: zonee\n"), Some(OBJECTIVES)));
    assert!(out.stderr.contains("`zonee` is not allowed here") && out.stderr.contains("hint: did you mean `zone`? Allowed: instance, zone, region, dependency"), "{}", out.stderr);

    // The objectives file is missing (a name the working directory, the
    // repository, does not hold either: it is the last place looked in).
    let missing = example("    objective: zone\n").replace("objectives: objectives.yaml", "objectives: team-objectives.yaml");
    let dir = project(&missing, None);
    let out = validate(&dir);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let at = position(&missing, "objectives: team-objectives.yaml");
    assert!(
        out.stderr.contains(&format!("error: the objectives file `team-objectives.yaml` does not exist\n  --> {}:{at} (at `objectives`)", dir.join("scenario.yaml").display())),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: give its path relative to this file (or to the project root, its parent directory), or create it"), "{}", out.stderr);

    // The objectives file is wrong: placed in that file too.
    let scenario = example("    objective: zone\n");
    let dir = project(&scenario, Some(&OBJECTIVES.replace("rpo: 1m", "rpo: 1m, rtoo: 2m")));
    let out = validate(&dir);
    assert!(
        out.stderr.contains(&format!(
            "error: the objectives file is not valid: {}:4:29: unknown field `rtoo`, expected one of rto, rpo, availability\n",
            dir.join("objectives.yaml").display()
        )),
        "{}",
        out.stderr
    );
    let out = validate(&project(&scenario, Some(&OBJECTIVES.replace("availability: 99", "availability: 199"))));
    assert!(
        out.stderr.contains("objectives.yaml:4:29: `objectives.zone.availability` is 199, but it is a percentage of requests that succeed: above 0, at most 100 (e.g. 99.9)"),
        "{}",
        out.stderr
    );

    // Two deadlines, or two error budgets, for one expectation: ambiguous, refused.
    let scenario = example("    objective: zone\n    recovers_within: 2m\n");
    let out = validate(&project(&scenario, Some(OBJECTIVES)));
    assert!(out.stderr.contains(&format!(":{} (at `expected_recoveries[0].recovers_within`)", position(&scenario, "recovers_within: 2m"))), "{}", out.stderr);
    assert!(out.stderr.contains("error: `recovers_within` and `objective` both set the deadline; one expectation has one"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: remove `recovers_within` to judge against the `zone` objective's RTO (5m), or remove `objective`"), "{}", out.stderr);
    let out = validate(&project(&example("    objective: zone\n    max_impact: { requests: api-requests, error_rate: 2 }\n"), Some(OBJECTIVES)));
    assert!(
        out.stderr.contains("error: `max_impact.error_rate` (2%) and the `zone` objective's availability (99%) both set the error budget; one expectation has one"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: remove `max_impact.error_rate` to judge against 99% (a budget of 1% of requests), or remove `objective`"), "{}", out.stderr);

    // An objective with no objectives file named.
    let out = validate(&project(&example("    objective: zone\n").replace("objectives: objectives.yaml\n", ""), Some(OBJECTIVES)));
    assert!(out.stderr.contains("error: this names an objective, but the scenario names no objectives file"), "{}", out.stderr);
}

#[test]
fn an_expectation_takes_its_deadline_and_error_budget_from_its_objective() {
    // Seed 6: one `api` sample fails at T+1m40s and it is back at T+1m50s;
    // 0.67 % of the requests failed (docs/metrics.md, "Error rates").
    let shipped = run_scenario(&repo().join("scenarios/zone-gray-failure.yaml"), &["--seed", "6"], &tempfile::tempdir().unwrap().keep());
    assert_eq!(shipped.output.code, 0, "{}\n{}", shipped.output.stdout, shipped.output.stderr);
    assert!(shipped.output.stdout.contains("recover      1m50s  (deadline 5m00s, the `zone` objective's RTO)"), "{}", shipped.output.stdout);
    let e = shipped.expectation("the API meets the zone objective");
    assert_eq!(e["deadline"], 300_000, "the zone RTO of objectives.yaml is the deadline: {e}");
    assert_eq!(e["time_to_recover"], 110_000, "{e}");
    let mut objective = e["objective"].clone();
    let achieved = objective["achieved_availability"].take().as_f64().unwrap();
    assert!((achieved - (100.0 - 100.0 * 240.0 / 36_000.0)).abs() < 1e-9, "100 − the error rate: {e}");
    assert_eq!(
        objective,
        serde_json::json!({"class": "zone", "rto": 300_000, "achieved_rto": 110_000, "rto_met": true, "rpo": 60_000, "availability": 99.0, "achieved_availability": null, "availability_met": true})
    );
    assert!(
        shipped.report.contains("| the API meets the zone objective | `zone` | 5m00s | 1m50s | ✅ met | 1m00s (not measured: check the data stores) | 99% | 99.33% ✅ met |"),
        "{}",
        shipped.report
    );
    assert!(
        shipped.report.contains("| the API meets the zone objective | recover within 5m00s, then stay healthy, at most 1% failed requests, by the `zone` objective (probes: api;"),
        "{}",
        shipped.report
    );
    let html = std::fs::read_to_string(shipped.dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Objectives</h2>") && html.contains("<td>99.33% ✅ met</td>"), "{html}");

    // Tighter objectives miss, each by its own figure, in the misses the run prints.
    let dir = project(&example_text(), Some(&OBJECTIVES.replace("zone: { rto: 5m, rpo: 1m, availability: 99 }", "zone: { rto: 1m45s, availability: 99.5 }")));
    let missed = run(&dir, "6");
    assert_eq!(missed.output.code, 1, "{}", missed.output.stdout);
    assert!(missed.output.stdout.contains("recovered after 1m50s — deadline 1m45s"), "{}", missed.output.stdout);
    assert!(missed.output.stdout.contains("0.67% of requests failed (240 of 36000 requests, metric probe `api-requests`) — budget 0.5%"), "{}", missed.output.stdout);
    let o = &missed.expectation("the API meets the zone objective")["objective"];
    assert_eq!((&o["rto_met"], &o["availability_met"], &o["rpo"]), (&serde_json::json!(false), &serde_json::json!(false), &serde_json::Value::Null), "{o}");
    assert!(missed.report.contains("| the API meets the zone objective | `zone` | 1m45s | 1m50s | ❌ missed | — | 99.5% | 99.33% ❌ missed |"), "{}", missed.report);

    // An availability target with no request count named is shown, not judged.
    let dir = project(&example("    objective: zone\n"), Some(OBJECTIVES));
    let unjudged = run(&dir, "6");
    assert_eq!(unjudged.output.code, 0, "{}", unjudged.output.stdout);
    let e = unjudged.expectation("the API meets the zone objective");
    assert!(e["error_rate"].is_null() && e["objective"]["availability_met"].is_null(), "{e}");
    assert!(unjudged.report.contains("| 99% | not judged: no request count (`max_impact.requests`) |"), "{}", unjudged.report);
}

/// The example as it is, in a directory of its own (its objectives beside it).
fn example_text() -> String {
    example("    objective: zone                     # RTO 5m; availability 99 % of requests\n    max_impact: { requests: api-requests }\n")
}

#[test]
fn a_run_is_judged_again_from_its_directory_alone_against_the_objectives_it_kept() {
    let dir = project(&example_text(), Some(OBJECTIVES));
    let run = run(&dir, "6");
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    assert_eq!(std::fs::read_to_string(run.dir.join("objectives.yaml")).unwrap(), OBJECTIVES, "the run keeps the objectives it was judged against");
    // The shared file changes after the run, and the run directory moves
    // away from the scenario: the report is rendered as the run was judged.
    std::fs::write(dir.join("objectives.yaml"), OBJECTIVES.replace("rto: 5m", "rto: 1m")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let moved = elsewhere.path().join("run");
    std::fs::rename(&run.dir, &moved).unwrap();
    let again = gameday(&["report", moved.to_str().unwrap(), "--format", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let rebuilt: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(rebuilt["expectations"], run.result["expectations"]);
    assert_eq!(rebuilt["expectations"][0]["objective"]["rto"], 300_000);
    std::fs::remove_file(moved.join("report.md")).unwrap();
    let markdown = gameday(&["report", moved.to_str().unwrap()]);
    assert_eq!(markdown.code, 0, "{}", markdown.stderr);
    let report = std::fs::read_to_string(moved.join("report.md")).unwrap();
    assert!(report.contains("## Objectives") && report.contains("| `zone` | 5m00s | 1m50s | ✅ met |"), "{report}");

    // Without the kept copy the run cannot be judged as it was: said, with the fix.
    std::fs::remove_file(moved.join("objectives.yaml")).unwrap();
    let out = gameday(&["report", moved.to_str().unwrap()]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("error: this run kept no copy of the objectives file `objectives.yaml` (objectives.yaml)"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: put the objectives file the run was judged against in the run directory as objectives.yaml"), "{}", out.stderr);
}
