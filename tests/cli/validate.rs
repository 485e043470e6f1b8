use crate::{gameday, repo};

#[test]
fn the_examples_are_valid() {
    let mut args = vec!["validate".to_string()];
    for entry in std::fs::read_dir(repo().join("scenarios")).unwrap() {
        args.push(format!("scenarios/{}", entry.unwrap().file_name().to_string_lossy()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = gameday(&args);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert_eq!(output.stdout.lines().filter(|l| l.ends_with("expected recoveries)")).count(), args.len() - 1);
}

/// Every example holds its own deadlines on the simulator on every seed the
/// twin predicts over (1–20), not only on the seed the docs quote: two
/// examples once set detection limits that the phase of the health-check
/// and alarm cycles missed on some seeds (region-failover's 2m on seeds
/// 2–4, az-loss's 2m on 4 seeds in 20).
#[test]
fn every_example_is_predicted_to_hold_on_every_seed() {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("scenarios")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    // Runs on `--env local` only: its probe is a service on this machine, which the simulator does not serve.
    names.retain(|n| n != "local-service-restart.yaml");
    for name in names {
        let path = format!("scenarios/{name}");
        // `--seed 1` fixes the plan's own pick; the prediction runs seeds 1–20 whatever it is.
        let output = gameday(&["plan", &path, "--seed", "1", "--predict"]);
        assert_eq!(output.code, 0, "{path}: {}", output.stderr);
        let prediction = output.stdout.split_once("\nPrediction on the twin").map(|(_, p)| p).unwrap_or_else(|| panic!("{path}: no prediction:\n{}", output.stdout));
        assert!(prediction.contains("20 seeds (1–20)"), "{path}:\n{prediction}");
        assert!(!prediction.contains("PREDICTED TO MISS"), "{path} misses its own deadline on some seeds:\n{prediction}");
    }
}

/// Every broken file gets its exact messages (snapshotted: messages are API)
/// and the "invalid" exit code, and no input makes the loader panic.
#[test]
fn broken_files_get_precise_errors() {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("tests/broken")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.len() >= 10);
    for name in names {
        let path = format!("tests/broken/{name}");
        let output = gameday(&["validate", &path]);
        assert_eq!(output.code, 3, "{path} should be invalid:\n{}", output.stderr);
        assert!(output.stdout.is_empty());
        insta::assert_snapshot!(name.trim_end_matches(".yaml").to_string(), output.stderr);
    }
}

#[test]
fn every_problem_in_a_file_is_reported() {
    let output = gameday(&["validate", "tests/broken/unknown-keys.yaml"]);
    assert_eq!(output.stderr.matches("error: ").count(), 4);
    assert!(output.stderr.contains("tests/broken/unknown-keys.yaml:4:3 (at `guards.max_target`)"));
    assert!(output.stderr.contains("did you mean `max_targets`?"));
}

#[test]
fn an_unreadable_file_has_its_own_exit_code() {
    let output = gameday(&["validate", "scenarios/az-loss.yaml", "tests/no-such-file.yaml"]);
    assert_eq!(output.code, 4);
    assert!(output.stderr.contains("could not read tests/no-such-file.yaml"), "{}", output.stderr);
    assert!(output.stdout.contains("scenarios/az-loss.yaml: ok"));
}

#[test]
fn hostile_input_never_panics() {
    let seed = std::fs::read_to_string(repo().join("scenarios/az-loss.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Truncations and byte flips of a real file: every prefix, every line dropped.
    let lines: Vec<&str> = seed.lines().collect();
    let mut inputs: Vec<String> = (0..seed.len()).step_by(37).map(|cut| seed.get(..cut).unwrap_or("").to_string()).collect();
    inputs.extend((0..lines.len()).map(|skip| lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect::<Vec<_>>().join("\n")));
    inputs.push("[".repeat(10_000));
    inputs.push("a: &a [*a]".into());
    inputs.push("\u{feff}apiVersion: gameday/v1\n\0".into());
    let paths: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let path = dir.path().join(format!("input-{i}.yaml"));
            std::fs::write(&path, input).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect();
    // One `validate` over every input (it takes many files and judges each
    // on its own) instead of a process per input: about 200 fewer starts of
    // the debug binary. A panic ends the process: the last file it reported
    // is the one before the culprit.
    let output = gameday(&[&["validate"], &paths.iter().map(String::as_str).collect::<Vec<_>>()[..]].concat());
    assert!([0, 3].contains(&output.code), "exit {}:\n{}", output.code, output.stderr);
    assert!(!output.stderr.contains("panicked"), "{}", output.stderr);
    for (path, input) in paths.iter().zip(&inputs) {
        // Each input is judged: `PATH: ok (…)` on stdout, or its problems under `PATH: N problem(s)` on stderr.
        let judged = output.stdout.lines().any(|l| l.starts_with(&format!("{path}: ok (")))
            || output.stderr.lines().any(|l| l.starts_with(&format!("{path}: ")) && l.ends_with(" problem(s)"));
        assert!(judged, "{path} was not judged:\n{}\n--- input ---\n{input}", output.stderr);
    }
}

/// The parser notices this tab at the end of `api` on the line before; the
/// error points at the tab itself.
#[test]
fn a_tab_in_indentation_is_located_on_its_own_line() {
    let output = gameday(&["validate", "tests/broken/tab-indentation.yaml"]);
    assert_eq!(output.code, 3);
    assert!(output.stderr.contains("error: this is not valid YAML: a tab is used for indentation\n  --> tests/broken/tab-indentation.yaml:5:1\n"), "{}", output.stderr);
    assert!(output.stderr.contains("= hint: YAML does not allow tabs for indentation; use spaces"), "{}", output.stderr);
}

/// Missing keys, bad values and the semantic rules in one pass: fixing the
/// structure must not reveal a second list of problems.
#[test]
fn value_errors_show_in_the_same_pass_as_missing_keys() {
    let file = "tests/broken/missing-keys-and-bad-values.yaml";
    let output = gameday(&["validate", file]);
    assert_eq!(output.code, 3);
    for (place, message) in [
        ("1:1 (at `name`)", "the required key `name` is missing"),
        ("3:3 (at `guards.max_percent`)", "250 is not a percentage between 0 and 100"),
        ("4:17 (at `guards.max_duration`)", "expected a duration"),
        ("8:5 (at `steady_state[0].url`)", "is not an http(s) URL"),
        ("10:5 (at `steady_state[0].timeout`)", "the timeout (10s) is longer than the interval (5s)"),
        ("12:11 (at `steady_state[1].kind`)", "unknown kind `tpc`"),
        ("18:11 (at `faults[0].mode`)", "`sideways` is not allowed here"),
        ("21:35 (at `faults[1].targets.count`)", "`count: 0` selects nothing"),
        ("24:19 (at `expected_recoveries[0].probes[1]`)", "no probe is named `nope`"),
    ] {
        let at = format!("  --> {file}:{place}\n");
        let shown = output.stderr.split("\n\n").find(|block| block.contains(&at)).unwrap_or_else(|| panic!("nothing at {place}:\n{}", output.stderr));
        assert!(shown.contains(message), "{place}: {shown}");
    }
    // Nothing is said about the placeholders that stand in for the bad values.
    assert!(!output.stderr.contains("`` is not a valid scenario name"), "{}", output.stderr);
    assert!(output.stderr.contains(&format!("{file}: 10 problem(s)")), "{}", output.stderr);
}

/// Blackout dates are calendar dates: one that does not exist, one in the
/// wrong format and a range that ends before it starts are each located,
/// in the same pass as a structure problem elsewhere in the file.
#[test]
fn blackout_dates_that_are_not_dates_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blackouts.yaml");
    let text = "apiVersion: gameday/v1\nname: t\nguards:\n  max_target: 1\n  blackouts:\n    - { from: 2026-02-30, to: 2026-03-02 }\n    - { from: tomorrow, to: 2026-03-02 }\n    - { from: 2026-12-31, to: 2026-12-24, reason: freeze }\nsteady_state:\n  - { name: c, kind: asg_capacity, group: web-asg, min_in_service: 4 }\nfaults:\n  - { name: f, kind: reboot_instances, targets: { zones: [us-east-1a] } }\nexpected_recoveries:\n  - { name: c, probes: [c], recovers_within: 5m }\n";
    std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap();
    let output = gameday(&["validate", path]);
    assert_eq!(output.code, 3, "{}", output.stderr);
    for (place, message, hint) in [
        ("4:3 (at `guards.max_target`)", "unknown key `max_target`", "did you mean `max_targets`?"),
        ("6:15 (at `guards.blackouts[0].from`)", "`2026-02-30` is not a date", "write `YYYY-MM-DD`"),
        ("7:15 (at `guards.blackouts[1].from`)", "`tomorrow` has the wrong format", "write dates as `YYYY-MM-DD`"),
        ("8:27 (at `guards.blackouts[2].to`)", "the blackout ends (2026-12-24) before it starts (2026-12-31)", "swap `from` and `to`"),
    ] {
        let at = format!("  --> {path}:{place}\n");
        let shown = output.stderr.split("\n\n").find(|block| block.contains(&at)).unwrap_or_else(|| panic!("nothing at {place}:\n{}", output.stderr));
        assert!(shown.contains(message) && shown.contains(hint), "{place}: {shown}");
    }
    assert!(output.stderr.contains(&format!("{path}: 4 problem(s)")), "{}", output.stderr);
}

/// `validate` rejects what `drill` rejects: a runbook step that names an
/// operator action the scenario does not declare (a typo found the day of
/// the drill is a drill lost).
#[test]
fn validate_rejects_a_runbook_step_naming_an_undeclared_operator_action() {
    let dir = tempfile::tempdir().unwrap();
    let scenario =
        std::fs::read_to_string(repo().join("scenarios/manual-region-failover.yaml")).unwrap().replace("runbook: runbooks/manual-region-failover.md", "runbook: typo.md");
    std::fs::write(dir.path().join("drill.yaml"), &scenario).unwrap();
    let runbook = std::fs::read_to_string(repo().join("runbooks/manual-region-failover.md")).unwrap();
    std::fs::write(dir.path().join("typo.md"), runbook.replace("- Action: `fail-over-to-us-west-2`", "- Action: `fail-over-to-us-west2`")).unwrap();
    let path = dir.path().join("drill.yaml");
    let output = gameday(&["validate", path.to_str().unwrap()]);
    assert_eq!(output.code, 3, "{}", output.stderr);
    let runbook_line = scenario.lines().position(|l| l.starts_with("runbook: ")).unwrap() + 1;
    assert!(output.stderr.contains(&format!("drill.yaml:{runbook_line}:")), "the scenario's `runbook` key, by file:line:\n{}", output.stderr);
    assert!(output.stderr.contains("typo.md:68: step 4 names the operator action `fail-over-to-us-west2`, which the scenario does not declare"), "{}", output.stderr);
    assert!(output.stderr.contains("did you mean `fail-over-to-us-west-2`?"), "{}", output.stderr);

    // The runbook as shipped names only declared actions.
    std::fs::write(dir.path().join("typo.md"), runbook).unwrap();
    let output = gameday(&["validate", path.to_str().unwrap()]);
    assert_eq!(output.code, 0, "{}", output.stderr);
}
