use crate::{gameday, gameday_with};

#[test]
fn plan_shows_targets_and_guards_without_side_effects() {
    let output = gameday(&["plan", "scenarios/az-loss.yaml", "--seed", "1"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    for needle in [
        "Plan for `az-loss` on sim",
        "Fault `power-off-use1a` (az_outage) at T+0ms, held 15m00s",
        "targets: 2 chosen of 2 matched",
        "max_percent: 2 of 6 in group web-asg (33%), limit 50%",
        "max_azs: 1 zone(s)",
        "(not enforced on the simulator)",
    ] {
        assert!(output.stdout.contains(needle), "plan lacks {needle:?}:\n{}", output.stdout);
    }
}

#[test]
fn plan_shows_excluded_instances_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: too-many\nguards:\n  max_percent: 20\n  require_tags: { gameday: allowed }\nsteady_state:\n  - name: c\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 6\nfaults:\n  - name: kill\n    kind: terminate_instances\n    targets: { zones: [us-east-1c], count: 3 }\nexpected_recoveries:\n  - name: c\n    probes: [c]\n    recovers_within: 5m\n",
    )
    .unwrap();
    let output = gameday(&["plan", file.to_str().unwrap(), "--seed", "1"]);
    assert_eq!(output.code, 5, "{}", output.stdout);
    assert!(output.stdout.contains("lacks required tag gameday=allowed"), "the bastion is shown as excluded:\n{}", output.stdout);
    assert!(output.stdout.contains("REFUSED by guard max_percent"), "{}", output.stdout);
}

#[test]
fn unknown_references_in_the_environment_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, "apiVersion: gameday/v1\nname: x\nsteady_state:\n  - name: c\n    kind: asg_capacity\n    group: web-asgg\n    min_in_service: 6\nfaults:\n  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 1 }\nexpected_recoveries:\n  - name: c\n    probes: [c]\n    recovers_within: 5m\n").unwrap();
    let output = gameday(&["plan", file.to_str().unwrap()]);
    assert_eq!(output.code, 7);
    assert!(output.stderr.contains("Auto Scaling group `web-asgg` not found in the environment (Auto Scaling groups here: web-asg, web-asg-dr)"), "{}", output.stderr);
}

#[test]
fn an_environment_that_no_project_file_names_is_a_usage_error() {
    let output = gameday(&["plan", "scenarios/az-loss.yaml", "--env", "prod"]);
    assert_eq!(output.code, 2);
    assert!(output.stderr.contains("unknown environment `prod`"));
}

/// `GAMEDAY_TEST_NOW` fixes the moment the guards judge windows and
/// blackouts by, on the simulator only (docs/simulator.md).
#[test]
fn the_start_time_set_for_tests_is_judged_on_the_simulator_and_refused_elsewhere() {
    let plan = |now: &str, env: &str| gameday_with(&["plan", "scenarios/az-loss.yaml", "--seed", "1", "--env", env], &[("GAMEDAY_TEST_NOW", now)]);
    // az-loss: Tuesday to Thursday 10:00-16:00 New York, and a change freeze from 2026-12-18.
    let (inside, saturday, freeze) = (plan("2026-12-02T16:30:00Z", "sim"), plan("2026-12-05T16:30:00Z", "sim"), plan("2026-12-22T16:30:00Z", "sim"));
    assert_eq!((inside.code, saturday.code, freeze.code), (0, 0, 0), "shown, not enforced, on the simulator: {}", saturday.stderr);
    assert_ne!(inside.stdout, saturday.stdout, "the window's verdict follows the time set");
    assert!(freeze.stdout.contains("end-of-year change freeze"), "{}", freeze.stdout);
    assert!(!inside.stdout.contains("end-of-year change freeze"), "{}", inside.stdout);

    let local = plan("2026-12-02T16:30:00Z", "local");
    assert_eq!(local.code, 2, "{}", local.stderr);
    assert!(local.stderr.contains("GAMEDAY_TEST_NOW is set, and it is for tests on the simulator only"), "{}", local.stderr);
    let bad = plan("next tuesday", "sim");
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("GAMEDAY_TEST_NOW=next tuesday is not a timestamp"), "{}", bad.stderr);
}

/// ARC applies one zonal shift at a time on a resource: a second shift of
/// the same load balancer while the first is held is refused by the
/// `resource_busy` guard (exit 5) before it starts, and the first is reverted.
#[test]
fn a_second_zonal_shift_of_a_shifted_resource_is_refused_by_a_guard() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two-shifts.yaml");
    let az_evacuation = std::fs::read_to_string(crate::repo().join("scenarios/az-evacuation-zonal-shift.yaml")).unwrap();
    let second = "  - name: shift-away-from-1b\n    kind: zonal_shift\n    resource: web-alb\n    away_from: us-east-1b\n    delay: 3m\n    duration: 5m\n\nexpected_recoveries:";
    let scenario =
        az_evacuation.replacen("\nexpected_recoveries:", &format!("\n{second}"), 1).replace("runbook: runbooks/", &format!("runbook: {}/runbooks/", crate::repo().display()));
    std::fs::write(&file, scenario).unwrap();
    let run = crate::run_scenario(&file, &["--seed", "1"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 5, "{}\n{}", run.output.stdout, run.output.stderr);
    assert_eq!(run.result["outcome"]["kind"], "aborted_by_guard", "{}", run.result);
    assert_eq!(run.result["outcome"]["guard"], "resource_busy", "{}", run.result);
    assert!(
        run.output.stdout.contains(
            "aborted by guard resource_busy: web-alb is shifted away from us-east-1a already, and ARC applies one zonal shift at a time on a resource (fault `shift-away-from-1b`)"
        ),
        "{}",
        run.output.stdout
    );
    let reverted: Vec<&str> = run.journal.iter().filter(|r| r["event"] == "fault_reverted").filter_map(|r| r["fault"].as_str()).collect();
    assert!(reverted.contains(&"shift-away-from-1a"), "the first shift is cancelled: {reverted:?}");
}

/// `blocking_alarms`: an alarm that is OK lets the run start, and `plan`
/// says its state; one that cannot be read (here: the account has no such
/// alarm) refuses the run before anything is touched, exit 5.
#[test]
fn blocking_alarms_are_read_before_the_run_and_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let az_loss =
        std::fs::read_to_string(crate::repo().join("scenarios/az-loss.yaml")).unwrap().replace("runbook: runbooks/", &format!("runbook: {}/runbooks/", crate::repo().display()));
    let with = |alarms: &str| {
        let file = dir.path().join(format!("blocking-{}.yaml", alarms.len()));
        std::fs::write(&file, az_loss.replacen("guards:\n", &format!("guards:\n  blocking_alarms: [{alarms}]\n"), 1)).unwrap();
        file
    };
    let calm = with("web-5xx");
    let plan = crate::gameday(&["plan", calm.to_str().unwrap(), "--seed", "7"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("[ok  ] blocking_alarms: no blocking alarm is in ALARM (web-5xx OK)"), "{}", plan.stdout);
    let run = crate::run_scenario(&calm, &["--seed", "7"], &dir.path().join("runs-calm"));
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);

    let missing = with("web-5xx, no-such-alarm");
    let run = crate::run_scenario(&missing, &["--seed", "7"], &dir.path().join("runs-missing"));
    assert_eq!(run.output.code, 5, "{}\n{}", run.output.stdout, run.output.stderr);
    assert_eq!(run.result["outcome"]["guard"], "blocking_alarms", "{}", run.result);
    assert!(run.output.stdout.contains("`no-such-alarm` could not be read"), "{}", run.output.stdout);
    assert!(!run.journal.iter().any(|r| r["event"] == "fault_intent"), "nothing was touched");
}

/// On the simulator, the plan of a gray failure says what it maps to on
/// AWS: the FIS document and its parameters for a zone, the refusal for a region.
#[test]
fn plan_on_the_simulator_says_what_a_gray_failure_is_on_aws() {
    let zone = gameday(&["plan", "scenarios/zone-slowdown.yaml", "--seed", "1"]);
    assert_eq!(zone.code, 0, "{}", zone.stderr);
    let expected = "  on AWS: FIS aws:ssm:send-command of SSM document AWSFIS-Run-Network-Latency (DelayMilliseconds=300, DurationSeconds=300, InstallDependencies=True, Interface=eth0) on the zone's instances (docs/aws.md)\n";
    assert!(zone.stdout.contains(expected), "{}", zone.stdout);
    let region = gameday(&["plan", "scenarios/manual-region-failover.yaml", "--seed", "1"]);
    assert!(region.stdout.contains("  on AWS: refused: fault `degrade-us-east-1`: a gray failure of a whole region cannot be made in a real account"), "{}", region.stdout);
}

/// A fault the environment refuses as things stand (here the simulator: a
/// failover to the instance that is the writer already) is refused as a
/// guard would refuse it, by the `refused_by_environment` guard: exit 5 in
/// `plan` and in `run` alike (docs/exit-codes.md), not 7, and nothing made.
#[test]
fn a_plan_the_environment_refuses_exits_5_and_says_what_was_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("to-the-writer.yaml");
    let aurora = std::fs::read_to_string(crate::repo().join("scenarios/aurora-failover.yaml")).unwrap();
    std::fs::write(&file, aurora.replace("target: orders-db-2", "target: orders-db-1").replace("runbook: runbooks/", &format!("runbook: {}/runbooks/", crate::repo().display())))
        .unwrap();
    let refusal = "`orders-db-1` is already the writer of orders-db: there is nothing to fail over to";
    let output = gameday(&["plan", file.to_str().unwrap(), "--seed", "1"]);
    assert_eq!(output.code, 5, "{}\n{}", output.stdout, output.stderr);
    assert!(output.stdout.contains(&format!("REFUSED by guard refused_by_environment (fault `fail-over-writer`): {refusal}")), "{}", output.stdout);
    let runs = dir.path().join("runs");
    let run = crate::run_scenario(&file, &["--seed", "1"], &runs);
    assert_eq!(run.output.code, 5, "{}\n{}", run.output.stdout, run.output.stderr);
    assert!(run.output.stdout.contains(&format!("aborted by guard refused_by_environment: {refusal}")), "{}", run.output.stdout);
    assert!(run.events("fault_intent").is_empty(), "nothing was made");
}

/// A run's journal and reports know the simulator by its name, `sim` (a
/// report says "simulated: virtual time"): a project may give `sim` a
/// topology, but an AWS (or local) environment named `sim` is refused, with
/// where it is, before anything connects.
#[test]
fn a_project_environment_named_sim_must_be_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("gameday.yaml");
    let header = "apiVersion: gameday/v1\nkind: Project\nenvironments:\n";
    std::fs::write(&project, format!("{header}  staging:\n    kind: local\n  sim:\n    kind: aws\n    region: us-east-1\n    account: \"123456789012\"\n")).unwrap();
    let output = gameday(&["plan", "scenarios/az-loss.yaml", "--env", "sim", "--project", project.to_str().unwrap()]);
    assert_eq!(output.code, 3, "{}\n{}", output.stdout, output.stderr);
    assert_eq!(
        output.stderr,
        format!(
            "error: {} is not a valid project file: line 6, column 3: environment `sim` is of kind `aws`, but `sim` names the built-in simulator: journals and reports take a run on `sim` for a simulated one\n  = hint: give this environment another name (a project may redefine `sim` only as `kind: sim`, to set its topology)\n",
            project.display()
        )
    );

    std::fs::write(&project, format!("{header}  sim:\n    kind: sim\n    topology: {}\n", crate::repo().join("src/environment/sim/default-topology.yaml").display())).unwrap();
    let output = gameday(&["plan", "scenarios/az-loss.yaml", "--seed", "1", "--env", "sim", "--project", project.to_str().unwrap()]);
    assert_eq!(output.code, 0, "`sim` with a topology of its own is the simulator still: {}", output.stderr);
}

/// The project file reads scalars as a scenario does (YAML 1.2): a plain
/// `no`, `on`, `yes` or `off` is that string, as quoted. serde-saphyr once
/// took it for a boolean inside an environment ("invalid type: boolean").
/// A value of the wrong type is refused with where it is.
#[test]
fn a_project_reads_yes_and_no_as_strings() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("gameday.yaml");
    let header = "apiVersion: gameday/v1\nkind: Project\nenvironments:\n  training:\n    kind: sim\n";
    let plan = |topology: &str| {
        std::fs::write(&project, format!("{header}    topology: {topology}\n")).unwrap();
        gameday(&["plan", "scenarios/az-loss.yaml", "--env", "training", "--project", project.to_str().unwrap()])
    };
    for word in ["no", "on", "yes", "off", "n", "y"] {
        let (plain, quoted) = (plan(word), plan(&format!("\"{word}\"")));
        assert!(plain.stderr.contains(&format!("could not read the topology {word}: ")), "{}", plain.stderr);
        assert_eq!((plain.code, plain.stderr), (quoted.code, quoted.stderr));
    }
    let output = plan("[a, b]");
    assert_eq!(output.code, 3, "{}", output.stderr);
    // An environment's keys are read together with its `kind`: the error is placed at the environment.
    assert!(
        output.stderr.contains(&format!("{} is not a valid project file: line 4, column 3 (at `environments.training`): invalid type: sequence", project.display())),
        "{}",
        output.stderr
    );
}

/// The command `plan` says would do what it printed is that command: the
/// same environment, project file and seed (a seed plan drew itself
/// included), quoted for a shell. Run as printed, it runs on that
/// environment with that seed; it used to name the file alone and run on
/// the simulator, where a `command` probe is refused (exit 7).
#[test]
fn the_run_command_plan_prints_runs_what_it_planned() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("my scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    let file = scenarios.join("here.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: here\nsteady_state:\n  - { name: ok, kind: command, run: 'true', interval: 500ms, timeout: 500ms }\nfaults:\n  - { name: nothing, kind: command, inject: 'true', revert: 'true', duration: 500ms }\nexpected_recoveries:\n  - { name: ok, probes: [ok], stays_healthy: true }\n",
    )
    .unwrap();
    let project = dir.path().join("project.yaml");
    std::fs::write(&project, "apiVersion: gameday/v1\nkind: Project\nenvironments:\n  bench:\n    kind: local\n").unwrap();
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_gameday"));
    let path = format!("{}:{}", binary.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let printed_command = |plan: &crate::Output| {
        assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
        let line = plan.stdout.lines().find(|l| l.starts_with("The guards allow this run.")).unwrap_or_else(|| panic!("{}", plan.stdout));
        let seed = plan.stdout.split_once(", seed ").and_then(|(_, rest)| rest.split(')').next()).expect("the plan says its seed").to_string();
        (line.split('`').nth(1).expect("a command in backticks").to_string(), seed)
    };
    let run_as_printed = |command: &str, runs: &std::path::Path| {
        let state = tempfile::tempdir().unwrap();
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{command} --yes --runs-dir {}", runs.display()))
            .current_dir(crate::repo())
            .env("PATH", &path)
            .env("GAMEDAY_STATE_DIR", state.path())
            .output()
            .unwrap();
        let journal =
            std::fs::read_dir(runs).ok().and_then(|mut d| d.next()).and_then(|d| std::fs::read_to_string(d.unwrap().path().join("journal.jsonl")).ok()).unwrap_or_default();
        let started: serde_json::Value = journal.lines().next().and_then(|l| serde_json::from_str(l).ok()).unwrap_or_default();
        (output.status.code(), started, String::from_utf8_lossy(&output.stderr).into_owned())
    };

    let plan = gameday(&["plan", file.to_str().unwrap(), "--env", "local", "--seed", "5"]);
    let (command, seed) = printed_command(&plan);
    assert_eq!(seed, "5");
    assert_eq!(command, format!("gameday run '{}' --env local --seed 5", file.display()));
    let (code, started, stderr) = run_as_printed(&command, &dir.path().join("runs"));
    assert_eq!(code, Some(0), "`{command}`: {stderr}");
    assert_eq!((started["environment"].as_str(), started["seed"].as_u64()), (Some("local"), Some(5)), "{started}");

    // No seed given: the one plan drew is the one the command passes on.
    let plan = gameday(&["plan", file.to_str().unwrap(), "--env", "bench", "--project", project.to_str().unwrap()]);
    let (command, seed) = printed_command(&plan);
    assert_eq!(command, format!("gameday run '{}' --env bench --project {} --seed {seed}", file.display(), project.display()));
    let (code, started, stderr) = run_as_printed(&command, &dir.path().join("runs-bench"));
    assert_eq!(code, Some(0), "`{command}`: {stderr}");
    assert_eq!(started["seed"].as_u64(), seed.parse().ok(), "{started}");

    // On the simulator, a topology of one's own is passed on too.
    let topology = crate::repo().join("src/environment/sim/default-topology.yaml");
    let plan = gameday(&["plan", "scenarios/az-loss.yaml", "--topology", topology.to_str().unwrap(), "--seed", "1"]);
    assert_eq!(printed_command(&plan).0, format!("gameday run scenarios/az-loss.yaml --topology {} --seed 1", topology.display()));
    // A plan that predicted: the run predicts too, on as many seeds.
    let plan = gameday(&["plan", "scenarios/az-loss.yaml", "--seed", "1", "--predict", "--seeds", "2"]);
    assert_eq!(printed_command(&plan).0, "gameday run scenarios/az-loss.yaml --seed 1 --predict --seeds 2");
}

/// The plan's targets are those of the account as it stands; a fault that
/// starts after another is judged and its targets chosen again when it is
/// due (an earlier stop may have had an instance replaced), and the plan
/// says so under that fault alone.
#[test]
fn a_later_faults_targets_are_said_to_be_chosen_again_when_it_starts() {
    let yaml = "apiVersion: gameday/v1\nname: stop-then-reboot\nguards:\n  max_targets: 1\nsteady_state:\n  - { name: api, kind: http, url: https://api.example.com/health, interval: 10s, timeout: 2s }\nfaults:\n  - { name: stop-one, kind: stop_instances, targets: { groups: [web-asg], count: 1 }, duration: 3m }\n  - { name: reboot-one, kind: reboot_instances, start_after: [stop-one], delay: 30s, targets: { groups: [web-asg], count: 1 } }\nexpected_recoveries:\n  - { name: api, probes: [api], recovers_within: 5m }\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let output = gameday(&["plan", file.to_str().unwrap(), "--seed", "1"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let note = "  (as things stand now: the run chooses again, by the same guards, when the fault starts, after what the faults before it changed)";
    let (first, later) = output.stdout.split_once("Fault `reboot-one`").unwrap();
    assert!(!first.contains(note) && later.contains(note), "{}", output.stdout);
}
