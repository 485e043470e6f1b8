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
        ("3:3 (at `guards.max_percent`)", "250 is not a percentage: more than 0 and at most 100"),
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

/// The spellings YAML 1.1 took for booleans, which YAML 1.2 (and
/// docs/scenarios.md, "Scalars follow YAML 1.2") reads as strings.
const YAML_1_1_BOOLEANS: [&str; 8] = ["yes", "no", "on", "off", "y", "n", "Yes", "OFF"];

/// Every example scenario, and every probe and fault example of
/// docs/scenarios.md made into a scenario around it: (name, text).
fn examples_of_every_kind() -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("scenarios")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut examples: Vec<(String, String)> =
        names.iter().map(|n| (n.trim_end_matches(".yaml").to_string(), std::fs::read_to_string(repo().join("scenarios").join(n)).unwrap())).collect();
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo().join("docs/scenario.schema.json")).unwrap()).unwrap();
    let kinds = |definition: &str| -> Vec<String> {
        schema["$defs"][definition]["oneOf"].as_array().unwrap().iter().map(|b| b["properties"]["kind"]["const"].as_str().unwrap().to_string()).collect()
    };
    let (probe_kinds, fault_kinds) = (kinds("Probe"), kinds("Fault"));
    let kind_of = |block: &str| block.lines().find_map(|l| l.trim().strip_prefix("kind: ")).map(str::to_string);
    let indented = |block: &str| block.lines().map(|l| format!("  {l}\n")).collect::<String>();
    let docs = std::fs::read_to_string(repo().join("docs/scenarios.md")).unwrap();
    let default_probe = "- name: api\n  kind: http\n  url: https://api.example.com/health\n";
    let default_fault = "- name: f\n  kind: terminate_instances\n  targets: { groups: [web-asg], count: 1 }\n";
    for (index, block) in docs.split("```yaml\n").skip(1).filter_map(|b| b.split_once("```").map(|(b, _)| b)).enumerate() {
        let block =
            block.strip_prefix("faults:\n").map_or(block.to_string(), |items| items.lines().map(|l| l.strip_prefix("  ").unwrap_or(l)).collect::<Vec<_>>().join("\n") + "\n");
        let Some(kind) = kind_of(&block).filter(|_| block.starts_with("- name: ")) else { continue };
        let (probes, faults) = match (probe_kinds.contains(&kind), fault_kinds.contains(&kind)) {
            // A `command` example holds a probe and a fault: it is the
            // fault's when it injects.
            (_, true) if block.contains("inject:") || !probe_kinds.contains(&kind) => (default_probe.to_string(), block.clone()),
            (true, _) => (block.clone(), default_fault.to_string()),
            _ => continue,
        };
        let probe = probes.lines().find_map(|l| l.strip_prefix("- name: ")).unwrap();
        let text = format!(
            "apiVersion: gameday/v1\nname: docs-{index}\nsteady_state:\n{}faults:\n{}expected_recoveries:\n  - name: back\n    probes: [{probe}]\n    recovers_within: 30m\n",
            indented(&probes),
            indented(&faults)
        );
        examples.push((format!("docs-{index}-{kind}"), text));
    }
    // The walk covers every kind of probe and fault.
    let all = examples.iter().map(|(_, t)| t.as_str()).collect::<String>();
    for kind in probe_kinds.iter().chain(&fault_kinds) {
        assert!(all.contains(&format!("kind: {kind}\n")), "no example of kind `{kind}`");
    }
    examples
}

/// Where each plain string value of a YAML text stands: (line index, char
/// column index, length in chars).
fn plain_strings(text: &str) -> Vec<(usize, usize, usize)> {
    use gameday::scenario::yaml_tree::{Node, Value, parse};
    fn walk(node: &Node, lines: &[Vec<char>], out: &mut Vec<(usize, usize, usize)>) {
        match &node.value {
            Value::Seq(items) => items.iter().for_each(|item| walk(item, lines, out)),
            Value::Map(entries) => entries.iter().for_each(|(_, value)| walk(value, lines, out)),
            Value::Str(s) if !s.is_empty() && !s.contains('\n') => {
                let (line, column) = (node.at.line - 1, node.at.column - 1);
                let chars: Vec<char> = s.chars().collect();
                // Quoted and block scalars start with their quote or indicator.
                if lines[line].get(column..column + chars.len()) == Some(&chars[..]) {
                    out.push((line, column, chars.len()));
                }
            }
            _ => {}
        }
    }
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let mut out = Vec::new();
    walk(&parse(text).unwrap(), &lines, &mut out);
    out
}

/// docs/scenarios.md: "Scalars follow YAML 1.2". Every string value of
/// every example, every probe and fault kind included, written as a plain
/// `no` (and the other YAML 1.1 booleans) reads exactly as the quoted
/// string `"no"`: the same problems, at the same places, or none. A key
/// whose values went through serde-saphyr's own reading of the text once
/// took these words for booleans (`record: no`: "invalid type: boolean").
#[test]
fn yaml_1_1_booleans_are_strings_in_every_string_key() {
    let dir = tempfile::tempdir().unwrap();
    // Runbooks and objectives are found beside a scenario or in its parent.
    std::os::unix::fs::symlink(repo().join("runbooks"), dir.path().join("runbooks")).unwrap();
    std::os::unix::fs::symlink(repo().join("objectives.yaml"), dir.path().join("objectives.yaml")).unwrap();
    for variant in ["as-is", "plain", "quoted"] {
        std::fs::create_dir(dir.path().join(variant)).unwrap();
    }
    let write = |variant: &str, name: &str, text: &str| {
        let path = dir.path().join(variant).join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (mut as_is, mut plain, mut quoted) = (vec!["validate".to_string()], vec!["validate".to_string()], vec!["validate".to_string()]);
    // One word a value, the words taken in turn: every value and every word, not every pair (the values are
    // read by one function, and the pairs took 16 s of the suite).
    let mut words = YAML_1_1_BOOLEANS.iter().cycle();
    let mut used = std::collections::BTreeSet::new();
    for (name, text) in examples_of_every_kind() {
        as_is.push(write("as-is", &name, &text));
        let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
        for (index, (line, column, length)) in plain_strings(&text).into_iter().enumerate() {
            let word = words.next().unwrap();
            used.insert(*word);
            let variant = |value: &str| {
                let mut all = lines.clone();
                all[line].splice(column..column + length, value.chars());
                all.iter().map(|l| l.iter().collect::<String>() + "\n").collect::<String>()
            };
            let case = format!("{name}-{index}-{word}");
            plain.push(write("plain", &case, &variant(word)));
            quoted.push(write("quoted", &case, &variant(&format!("\"{word}\""))));
        }
    }
    // Each example is valid as it is, so every variant reaches the reading of values.
    let output = gameday(&as_is.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(plain.len() > 150, "{} cases", plain.len());
    assert_eq!(used.len(), YAML_1_1_BOOLEANS.len(), "every word is tried");

    // What validate says of each case, without the source lines (which show the quotes).
    let said = |args: &[String], variant: &str| -> std::collections::BTreeMap<String, Vec<String>> {
        let output = gameday(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(!output.stderr.contains("panicked"), "{}", output.stderr);
        let marker = format!("/{variant}/");
        let mut by_case = std::collections::BTreeMap::<String, Vec<String>>::new();
        // A problem is its `error:` line, then its `-->` line naming the file, then its hint.
        let (mut error, mut case) = (None, String::new());
        for line in output.stdout.lines().chain(output.stderr.lines()) {
            if line.starts_with("error: ") {
                error = Some(line.to_string());
            } else if let Some((_, rest)) = line.split_once(marker.as_str()) {
                case = rest.split_once(".yaml").map_or(rest, |(case, _)| case).to_string();
                let said = by_case.entry(case.clone()).or_default();
                said.extend(error.take());
                said.push(line.replace(&marker, "/"));
            } else if line.starts_with("  = hint: ") {
                by_case.entry(case.clone()).or_default().push(line.to_string());
            }
        }
        by_case
    };
    let (from_plain, from_quoted) = (said(&plain, "plain"), said(&quoted, "quoted"));
    assert_eq!(from_plain.len(), plain.len() - 1);
    for (case, quoted_said) in &from_quoted {
        assert_eq!(from_plain.get(case), Some(quoted_said), "{case}: a plain word reads otherwise than the quoted string");
    }
}

/// A value of the wrong type is placed at the value itself, with its key
/// path and a hint, in the same pass as the file's other problems; and a
/// plain `yes` where `true`/`false` is wanted says why it is a string.
#[test]
fn type_mismatches_are_located_with_a_hint_beside_the_other_problems() {
    let file = "tests/broken/type-mismatches.yaml";
    let output = gameday(&["validate", file]);
    assert_eq!(output.code, 3);
    for (place, message, hint) in [
        (
            "8:28 (at `steady_state[0].expected_during_fault`)",
            "expected `true` or `false`, found a string",
            "write `expected_during_fault: true` or `expected_during_fault: false`: scalars follow YAML 1.2, which reads `yes` as a string",
        ),
        ("11:14 (at `steady_state[1].cluster`)", "expected a string, found a list", "`cluster` takes one value, not a list: write `cluster: orders-db`"),
        ("16:13 (at `faults[0].record`)", "expected a string, found a mapping", "`record` takes one value, not a mapping: if the `:` or braces are part of it, quote it"),
        ("23:19 (at `expected_recoveries[0].probes[1]`)", "no probe is named `nope`", "defined: api, writer"),
    ] {
        let at = format!("  --> {file}:{place}\n");
        let shown = output.stderr.split("\n\n").find(|block| block.contains(&at)).unwrap_or_else(|| panic!("nothing at {place}:\n{}", output.stderr));
        assert!(shown.contains(&format!("error: {message}\n")) && shown.contains(&format!("  = hint: {hint}")), "{place}: {shown}");
    }
    // `title: yes` and `cluster: no` are strings, as docs/scenarios.md says.
    assert!(output.stderr.contains(&format!("{file}: 4 problem(s)")), "{}", output.stderr);
}

/// README: every problem comes "with file:line:column, the key and a hint".
/// Every problem `validate` finds in every broken file has its `-->`
/// location and its `= hint:` line.
#[test]
fn every_problem_in_the_broken_files_has_its_place_and_a_hint() {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("tests/broken")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut problems = 0;
    for name in names {
        let path = format!("tests/broken/{name}");
        let output = gameday(&["validate", &path]);
        for block in output.stderr.split("\n\n").filter(|b| b.starts_with("error: ")) {
            problems += 1;
            assert!(block.contains(&format!("  --> {path}:")), "{path}: a problem without its place:\n{block}");
            assert!(block.contains("\n  = hint: "), "{path}: a problem without a hint:\n{block}");
        }
    }
    assert!(problems > 50, "{problems} problems");
}
