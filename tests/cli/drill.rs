//! `gameday drill`, driven through standard input as a facilitator's script.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Output, Run, repo};

/// Runs `gameday drill` with `script` on standard input, into `runs`.
fn run_drill(scenario: &Path, script: &str, extra: &[&str], runs: &Path) -> Run {
    let state = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["drill", scenario.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap()])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GAMEDAY_STATE_DIR", state.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gameday binary runs");
    // The binary may refuse before reading everything; a broken pipe is its answer.
    let _ = child.stdin.take().unwrap().write_all(script.as_bytes());
    let output = child.wait_with_output().unwrap();
    let output = Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let dir = std::fs::read_dir(runs).ok().and_then(|d| d.filter_map(Result::ok).map(|e| e.path()).max()).unwrap_or_default();
    let result = std::fs::read_to_string(dir.join("result.json")).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(serde_json::Value::Null);
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap_or_default();
    Run { output, dir, result, journal, report }
}

/// One facilitated session of the manual-failover drill, as the scribe's script.
fn session() -> String {
    std::fs::read_to_string(repo().join("tests/drills/manual-region-failover.txt")).unwrap()
}

fn manual_failover() -> std::path::PathBuf {
    repo().join("scenarios/manual-region-failover.yaml")
}

/// A duration as the reports write it (`1m30s`, `450ms`).
fn fmt_ms(ms: u64) -> String {
    gameday::vocab::fmt_ms(ms)
}

fn ms(value: &serde_json::Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("not a time: {value}"))
}

#[test]
fn a_scripted_drill_reproduces_its_timeline_and_measures_the_team() {
    let runs = tempfile::tempdir().unwrap();
    let run = run_drill(&manual_failover(), &session(), &["--speed", "max", "--seed", "7"], runs.path());
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    // The seed replays the simulator's side; the people's commands are the rest of the run.
    assert!(run.report.contains("| Seed | 7 (`gameday drill … --seed 7` with the same commands at the same times reproduces this run) |"), "{}", run.report);
    let drill = &run.result["drill"];
    let response = &drill["response"];
    let t0 = ms(&response["fault_start"]);

    // People: acknowledged at 1m30s (step 1 at T0 was a pre-check, before any
    // impact), mitigated with the failover at 7m30s.
    assert_eq!(ms(&response["acknowledged_at"]) - t0, 90_000);
    assert_eq!(ms(&response["mitigated_at"]) - t0, 450_000);
    // The system: the team's alarm `web-5xx` (the expectation's detection
    // signal) fires at 1m20s, and the API recovers only after the team's
    // failover, within the record's 60 s TTL plus the probe's 3 passes 5 s apart.
    assert_eq!(ms(&response["detected_at"]) - t0, 80_000, "{response}");
    let recovered = ms(&response["recovered_at"]) - t0;
    assert!((450_000..=450_000 + 60_000 + 15_000).contains(&recovered), "recovered at {recovered}");
    let api = run.expectation("API back after the team fails over");
    assert_eq!(api["met"], true);
    assert_eq!(ms(&api["time_to_recover"]), recovered);

    // Each step against its expectation.
    let steps = drill["steps"].as_array().unwrap();
    let status: Vec<&str> = steps.iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["done", "on_time", "late", "on_time", "on_time", "skipped", "not_done"]);
    assert_eq!(steps[2]["late_by"], 60_000);
    assert_eq!(steps[2]["waited"], 150_000, "step 3 could start at 2m (step 2 done) and was taken up at 4m30s");
    // Waits count from the page (web-5xx at T0+1m20s), not from T0: step 2
    // was taken up 10 s after it. Step 1, a pre-check before the page, was
    // waited for by nobody.
    assert_eq!(steps[1]["waited"], 10_000, "{}", steps[1]);
    assert_eq!(steps[0]["waited"], serde_json::Value::Null);
    assert_eq!(steps[2]["notes"][0]["unclear"], true);
    assert_eq!(steps[5]["skip_reason"], "the standby was fine");
    assert_eq!(drill["actions"][0]["name"], "fail-over-to-us-west-2");
    assert_eq!(drill["actions"][0]["by"], "gameday");
    assert_eq!(drill["actions"][0]["step"], 4);
    assert_eq!(drill["observations"][0][1], "the status page still says all green");

    // The runbook's gaps, proposed as action items.
    let gaps: Vec<&str> = drill["gaps"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert_eq!(gaps.len(), 4, "{gaps:#?}");
    assert!(gaps[0].starts_with("Clarify step 3") && gaps[0].ends_with("which dashboard shows errors per zone?"), "{}", gaps[0]);
    assert!(gaps[1].starts_with("Speed up step 3") && gaps[1].contains("done 1m00s after its T0+6m00s expectation"), "{}", gaps[1]);
    assert!(gaps[2].starts_with("Find out what people waited for before step 3") && gaps[2].contains("2m30s"), "{}", gaps[2]);
    assert!(gaps[3].starts_with("Review step 6"), "{}", gaps[3]);

    // The report: the response chain, the steps, the waits and the action items.
    let report = &run.report;
    assert!(report.contains("| People acknowledged | 1m30s | 10s after detection |"), "{report}");
    assert!(report.contains("| People mitigated (`fail-over-to-us-west-2`) | 7m30s | 6m00s after acknowledging |"), "{report}");
    assert!(report.contains("| 3. Confirm the failure is regional and that Route 53 will not act | T0+6m00s | T0+4m30s | T0+7m00s | ⏰ late by 1m00s | 2m30s |"), "{report}");
    assert!(report.contains("- 2m30s before step 3 (“Confirm the failure is regional and that Route 53 will not act”) was taken up, from T0+2m00s to T0+4m30s."), "{report}");
    assert!(!report.contains("before step 2"), "10 s after the page is no notable wait: {report}");
    assert!(report.contains("| 2. Acknowledge the page and open the incident | T0+3m00s | T0+1m30s | T0+2m00s | ✅ on time | 10s |  |"), "{report}");
    assert!(report.contains("| Acknowledge | T+1m30s | people took up the incident (drill console) |"), "{report}");
    assert!(report.contains("| Clarify step 3 (“Confirm the failure is regional and that Route 53 will not act”) of runbooks/manual-region-failover.md: which dashboard shows errors per zone? | team-platform | process | medium | | |"), "{report}");
    assert!(run.output.stderr.contains("👤 Action `fail-over-to-us-west-2` (applied by gameday)"), "the transcript shows the action live: {}", run.output.stderr);
    // The timeline chart marks when people acknowledged and mitigated, by shape and label as well as line.
    let html = std::fs::read_to_string(run.dir.join("report.html")).unwrap();
    let run_time = |field: &str| format!("T+{}", fmt_ms(ms(&response[field])));
    assert!(html.contains(&format!("<title>people acknowledged at {}</title>", run_time("acknowledged_at"))), "{html}");
    assert!(html.contains(&format!("<title>people mitigated at {}</title>", run_time("mitigated_at"))), "{html}");
    assert!(html.contains("<span>□ A people acknowledged</span><span>■ M people mitigated</span>"), "the legend says what the marks are: {html}");

    // Everything was journaled with its time, so the report renders again
    // from the run directory alone, byte for byte.
    let again = crate::gameday(&["report", run.dir.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(run.dir.join("report.md")).unwrap(), run.report);

    // And the same script and seed give the same measurements.
    let runs2 = tempfile::tempdir().unwrap();
    let replay = run_drill(&manual_failover(), &session(), &["--speed", "max", "--seed", "7"], runs2.path());
    assert_eq!(replay.result, run.result);
}

#[test]
fn without_the_team_the_api_stays_down_until_the_stop_condition() {
    let runs = tempfile::tempdir().unwrap();
    let run = run_drill(&manual_failover(), "at T0+0s done 1\nat T0+2m ack\n", &["--speed", "max", "--seed", "7"], runs.path());
    // Nothing automatic fails over a gray failure: the 25-minute stop condition ends the drill.
    assert_eq!(run.output.code, 5, "{}\n{}", run.output.stdout, run.output.stderr);
    assert!(run.output.stdout.contains("probe `api` failing for 25m00s"), "{}", run.output.stdout);
    let response = &run.result["drill"]["response"];
    assert_eq!(response["mitigated_at"], serde_json::Value::Null);
    assert_eq!(response["recovered_at"], serde_json::Value::Null);
    assert!(run.report.contains("| People mitigated | no operator action |"), "{}", run.report);
    assert!(run.report.contains("❌ not done"), "steps with a time that nobody did are shown: {}", run.report);
    assert!(run.events("fault_reverted").len() == 1, "the fault is reverted when the drill is stopped");
}

#[test]
fn commands_typed_live_are_applied_as_they_arrive() {
    // Untimed lines (a facilitator typing into a pipe) apply when read, from
    // T0 on; at 600× the 30-minute fault takes 3 s.
    let runs = tempfile::tempdir().unwrap();
    let run = run_drill(
        &manual_failover(),
        "done 1\nobserve joined the bridge\nact nonexistent-action\nact fail-over-to-us-west-2\nack 9\n",
        &["--speed", "600", "--seed", "3"],
        runs.path(),
    );
    // At 600× a millisecond of real time is 0.6 s of the drill's, so when the
    // lines are read, and what the probes saw before the failover, depends on
    // how busy the machine is: under load a stall of about 50 ms once hid the
    // whole impact (no `api` sample from T0 to the failover's effect), and the
    // run passed. The drill ran to its end either way (0: held, 1: missed);
    // what the report says of an immediate failover is checked on virtual
    // time (`a_failover_at_t0_is_never_detected_by_the_teams_alarm`).
    assert!(run.output.code <= 1, "{}\n{}", run.output.stdout, run.output.stderr);
    assert_eq!(run.events("step_done").len(), 1);
    assert_eq!(run.events("team_observation")[0]["text"], "joined the bridge");
    assert_eq!(run.events("operator_action_taken")[0]["action"], "fail-over-to-us-west-2");
    // Applied from T0 on, in the order typed.
    let t0 = ms(&run.events("injection_started")[0]["t"]);
    let applied: Vec<u64> = ["step_done", "team_observation", "operator_action_taken"].iter().map(|kind| ms(&run.events(kind)[0]["t"])).collect();
    assert!(t0 <= applied[0] && applied.is_sorted(), "T0 {t0}, applied at {applied:?}");
    assert!(run.output.stderr.contains("refused: the runbook has no step 9"), "a refused command is said, not journaled: {}", run.output.stderr);
    // An action the scenario does not declare is refused with a line naming the ones it does, and never applied.
    assert!(run.output.stderr.contains("refused: no operator action `nonexistent-action` (the scenario declares: fail-over-to-us-west-2"), "{}", run.output.stderr);
    assert_eq!(run.events("operator_action_taken").len(), 1, "only the declared action was taken");
    assert_eq!(run.result["drill"]["speed"], "600× real time");
}

#[test]
fn a_failover_at_t0_is_never_detected_by_the_teams_alarm() {
    // The team fails over at once, before its alarm `web-5xx` can fire: the
    // API fails from T0+5s until clients follow the DNS change (T0+50s), the
    // team's signal never detected that impact, and the report says so. On
    // virtual time (`--speed max`), so what the probes see does not depend on
    // the machine's load.
    let runs = tempfile::tempdir().unwrap();
    let run = run_drill(
        &manual_failover(),
        "at T0+0s done 1\nat T0+0s observe joined the bridge\nat T0+0s act fail-over-to-us-west-2\n",
        &["--speed", "max", "--seed", "3"],
        runs.path(),
    );
    assert_eq!(run.output.code, 1, "{}\n{}", run.output.stdout, run.output.stderr);
    assert!(run.output.stdout.contains("recovery missed: API back after the team fails over (never detected by web-5xx)"), "{}", run.output.stdout);
    let t0 = ms(&run.events("injection_started")[0]["t"]);
    assert_eq!(ms(&run.events("operator_action_taken")[0]["t"]), t0);
    let failing: Vec<u64> = run.events("sample").iter().filter(|s| s["probe"] == "api" && s["ok"] == false).map(|s| ms(&s["t"]) - t0).collect();
    assert!(!failing.is_empty() && failing.iter().all(|t| (5_000..50_000).contains(t)), "api failed at T0+{failing:?} ms");
}

/// A step whose title wraps onto a second line keeps its whole title (and
/// its due time, which is on the second line) in the drill's report.
#[test]
fn a_wrapped_runbook_step_keeps_its_whole_title_and_due_time() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = std::fs::read_to_string(manual_failover()).unwrap().replace("runbook: runbooks/manual-region-failover.md", "runbook: wrapped.md");
    std::fs::write(dir.path().join("drill.yaml"), scenario).unwrap();
    let runbook = std::fs::read_to_string(repo().join("runbooks/manual-region-failover.md")).unwrap();
    let one_line = "3. **Confirm the failure is regional and that Route 53 will not act (by T0+6 min).**";
    assert!(runbook.contains(one_line), "the shipped runbook changed; adjust this test");
    std::fs::write(dir.path().join("wrapped.md"), runbook.replace(one_line, "3. **Confirm the failure is regional and that\n   Route 53 will not act (by T0+6 min).**")).unwrap();
    let runs = tempfile::tempdir().unwrap();
    let run = run_drill(&dir.path().join("drill.yaml"), "at T0+1m ack 2\nat T0+7m done 3\nat T0+8m act fail-over-to-us-west-2\n", &["--speed", "max", "--seed", "3"], runs.path());
    let done = run.events("step_done");
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["step"], 3);
    // The whole title, and its due time read from the wrapped line: T0+6 min, done at T0+7 min, late by a minute.
    assert!(run.report.contains("| 3. Confirm the failure is regional and that Route 53 will not act | T0+6m00s | T0+7m00s | T0+7m00s | ⏰ late by 1m00s |"), "{}", run.report);
}

#[test]
fn drills_refuse_bad_scripts_runbooks_and_speeds_before_anything_starts() {
    let runs = tempfile::tempdir().unwrap();
    let run = run_drill(&manual_failover(), "at T0+0s done 1\ndone 2\nat T0+1m dance\n", &["--speed", "max"], runs.path());
    assert_eq!(run.output.code, 2, "{}", run.output.stderr);
    assert!(run.output.stderr.contains("line 2: `done 2` has no time"), "{}", run.output.stderr);
    assert!(run.output.stderr.contains("line 3: unknown command `dance`"), "{}", run.output.stderr);
    assert_eq!(std::fs::read_dir(runs.path()).unwrap().count(), 0, "no run directory: nothing started");

    let run = run_drill(&manual_failover(), "", &["--speed", "60", "--env", "local"], runs.path());
    assert_eq!(run.output.code, 2, "{}", run.output.stderr);
    assert!(run.output.stderr.contains("--speed 60× real time needs the simulator"), "{}", run.output.stderr);

    // A runbook step naming an action the scenario does not declare.
    let dir = tempfile::tempdir().unwrap();
    let scenario = std::fs::read_to_string(manual_failover()).unwrap().replace("runbook: runbooks/manual-region-failover.md", "runbook: typo.md");
    std::fs::write(dir.path().join("drill.yaml"), scenario).unwrap();
    let runbook =
        std::fs::read_to_string(repo().join("runbooks/manual-region-failover.md")).unwrap().replace("- Action: `fail-over-to-us-west-2`", "- Action: `fail-over-to-us-west2`");
    std::fs::write(dir.path().join("typo.md"), runbook).unwrap();
    let run = run_drill(&dir.path().join("drill.yaml"), "", &["--speed", "max"], runs.path());
    assert_eq!(run.output.code, 3, "{}", run.output.stderr);
    assert!(run.output.stderr.contains("typo.md:68: step 4 names the operator action `fail-over-to-us-west2`"), "{}", run.output.stderr);
    assert!(run.output.stderr.contains("did you mean `fail-over-to-us-west-2`?"), "{}", run.output.stderr);

    // A scenario without a runbook cannot be drilled.
    let without = std::fs::read_to_string(manual_failover()).unwrap().replace("runbook: runbooks/manual-region-failover.md\n", "");
    std::fs::write(dir.path().join("no-runbook.yaml"), without).unwrap();
    let run = run_drill(&dir.path().join("no-runbook.yaml"), "", &["--speed", "max"], runs.path());
    assert_eq!(run.output.code, 3, "{}", run.output.stderr);
    assert!(run.output.stderr.contains("names none"), "{}", run.output.stderr);
}

#[test]
fn quitting_ends_the_drill_at_that_moment_and_reverts() {
    let runs = tempfile::tempdir().unwrap();
    let run = run_drill(&manual_failover(), "at T0+0s done 1\nat T0+3m quit\n", &["--speed", "max", "--seed", "7"], runs.path());
    assert_eq!(run.output.code, 130, "{}\n{}", run.output.stdout, run.output.stderr);
    let interrupted = run.events("interrupted");
    assert_eq!(interrupted[0]["signal"], "the drill was ended from its console");
    let t0 = ms(&run.result["drill"]["response"]["fault_start"]);
    assert_eq!(ms(&interrupted[0]["t"]) - t0, 180_000);
    assert_eq!(run.events("fault_reverted").len(), 1);
    // Step 1 was a pre-check done before anything failed: it is no acknowledgement.
    assert!(run.report.contains("| People acknowledged | not acknowledged | — |"), "{}", run.report);
    assert!(run.report.contains("| Acknowledge | — | nobody acknowledged during the drill | people |"), "{}", run.report);
    let html = std::fs::read_to_string(run.dir.join("report.html")).unwrap();
    assert!(!html.contains("people acknowledged at") && !html.contains("people mitigated at"), "no mark for what did not happen");
}

#[test]
fn on_a_real_environment_people_make_the_change_and_the_drill_records_when() {
    let dir = tempfile::tempdir().unwrap();
    let service = crate::local::Service::start(dir.path());
    let scenario = format!("{}runbook: runbook.md\noperator_actions:\n  - name: scale-out\n    kind: scale_group\n    group: web\n    desired: 4\n", service.scenario("", "2s"));
    std::fs::write(dir.path().join("scenario.yaml"), scenario).unwrap();
    std::fs::write(dir.path().join("runbook.md"), "# Local\n\n## Steps\n\n1. **Notice the outage (by T0+1 min).**\n2. **Scale out.**\n   - Action: `scale-out`\n").unwrap();
    let run = run_drill(&dir.path().join("scenario.yaml"), "ack\ndone\nact\n", &["--env", "local", "--yes"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    let action = &run.events("operator_action_taken")[0];
    assert_eq!(action["by"], "people", "gameday never makes the team's change on a real system: {action}");
    assert!(action["detail"].as_str().unwrap().contains("done by hand"), "{action}");
    assert_eq!(run.result["drill"]["speed"], "real time");
    assert!(service.comes_up(), "the fault was reverted");
}

#[test]
fn the_trainee_view_never_gives_the_fault_away_and_the_facilitator_view_shows_it() {
    // The shared screen (the default view) shows the team's signals: the
    // alarm that pages, the probes the runbook's "Signals to watch" names,
    // and what people did. Never the fault's name, kind or targets.
    let runs = tempfile::tempdir().unwrap();
    let run = run_drill(&manual_failover(), &session(), &["--speed", "max", "--seed", "7"], runs.path());
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    let intent = run.events("fault_intent")[0].clone();
    let targets: Vec<&str> = intent["targets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert!(!targets.is_empty());
    let transcript = &run.output.stderr;
    assert!(transcript.contains(", trainee view;"), "the view is said when the drill starts: {transcript}");
    for secret in ["degrade-us-east-1", "gray_failure", "Injecting", "Fault `"].iter().chain(&targets) {
        assert!(!transcript.contains(secret), "the trainee view shows `{secret}`:\n{transcript}");
    }
    assert!(transcript.contains("cloudwatch: alarm web-5xx is now ALARM"), "{transcript}");
    assert!(transcript.contains("Probe `api` failing"), "a probe the runbook's signals name: {transcript}");
    assert!(transcript.contains("👤 Step 4 done"), "{transcript}");
    // Between events, a line per phase change and a heartbeat every 30 s of
    // the run's clock, with the team's probes and not when the fault ends.
    assert!(transcript.contains("gameday: T0+30s fault injected; probes: ✘ api, ✔ standby-capacity\n"), "{transcript}");
    assert!(transcript.contains("gameday: T0+6m30s fault injected; probes: ✘ api, ✔ standby-capacity\n"), "{transcript}");
    assert!(!transcript.contains("revert in"), "the time until the revert tells when the fault ends: {transcript}");
    // The journal and the report keep everything: the trainee view is a view.
    assert!(run.report.contains("degrade-us-east-1"));

    let runs = tempfile::tempdir().unwrap();
    let run = run_drill(&manual_failover(), &session(), &["--speed", "max", "--seed", "7", "--view", "facilitator"], runs.path());
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    assert!(run.output.stderr.contains("Injecting `degrade-us-east-1` (gray_failure) on 9 target(s)"), "{}", run.output.stderr);
    assert!(run.output.stderr.contains("Fault `degrade-us-east-1` reverted"), "{}", run.output.stderr);
    assert!(run.output.stderr.contains("gameday: T0+30s fault injected; revert in 29m30s; probes: ✘ api, ✔ standby-capacity\n"), "{}", run.output.stderr);

    let run = run_drill(&manual_failover(), "", &["--speed", "max", "--view", "everyone"], runs.path());
    assert_eq!(run.output.code, 2, "{}", run.output.stderr);
    assert!(run.output.stderr.contains("`everyone` is not a view: use `trainee` (the team's signals only) or `facilitator` (everything)"), "{}", run.output.stderr);
}

#[test]
fn the_facilitator_watches_a_live_drill_from_a_second_terminal() {
    use std::io::{BufRead, BufReader};
    let runs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("GAMEDAY_STATE_DIR", state.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the gameday binary runs")
    };
    // A live drill at 10×: it runs until the team ends it (its stop condition is 150 s away).
    let mut drill = spawn(&["drill", manual_failover().to_str().unwrap(), "--speed", "10", "--seed", "7", "--runs-dir", runs.path().to_str().unwrap()]);
    let mut drill_err = BufReader::new(drill.stderr.take().unwrap()).lines();
    let run_dir = drill_err
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.split_once("run directory ").map(|(_, dir)| dir.trim().to_string()))
        .expect("the drill names its run directory");
    // Drain the trainee transcript so the drill never blocks on a full pipe.
    let transcript = std::thread::spawn(move || drill_err.map_while(Result::ok).collect::<Vec<_>>().join("\n"));

    let mut watch = spawn(&["drill", "watch", &run_dir]);
    let mut watched = BufReader::new(watch.stdout.take().unwrap()).lines().map_while(Result::ok);
    // The facilitator sees the fault while the drill is still going...
    let fault_line = watched.by_ref().find(|line| line.contains("Fault `degrade-us-east-1` in place"));
    assert!(fault_line.is_some(), "the watch shows the fault");
    // ...then the team ends the drill, and the watch ends with it.
    drill.stdin.take().unwrap().write_all(b"quit\n").unwrap();
    let rest: Vec<String> = watched.collect();
    assert_eq!(watch.wait().unwrap().code(), Some(0));
    assert!(rest.iter().any(|l| l.contains("Interrupted (the drill was ended from its console)")), "{rest:#?}");
    assert!(rest.last().is_some_and(|l| l.contains("Run ended: interrupted: every fault was reverted")), "{rest:#?}");
    assert_eq!(drill.wait().unwrap().code(), Some(130));
    let transcript = transcript.join().unwrap();
    assert!(!transcript.contains("degrade-us-east-1"), "the shared screen never did: {transcript}");

    let missing = crate::gameday(&["drill", "watch", runs.path().join("nope").to_str().unwrap()]);
    assert_eq!(missing.code, 4, "{}", missing.stderr);
    assert!(missing.stderr.contains("nope/journal.jsonl") && missing.stderr.contains("hint: pass the run directory the drill printed"), "{}", missing.stderr);
}

/// `drill watch` on a run that is not a drill, whose process was killed
/// (kill -9) with its fault in place: it prints the timeline and ends, exit
/// 8 with the hint to recover, as on a crashed drill; once recovered, exit
/// 0. It used to follow such a journal for ever: only a drill's record named
/// its process, and `recover` releases the lock that named it otherwise.
#[test]
fn watching_a_crashed_run_that_is_not_a_drill_ends_and_says_to_recover() {
    use crate::safety::{command, output, wait_until};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = dir.path().join("crash.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: crash\nguards:\n  max_duration: 20m\nsteady_state:\n  - { name: ok, kind: command, run: 'true', interval: 1s, timeout: 500ms }\nfaults:\n  - { name: held, kind: command, inject: 'true', revert: 'true', duration: 10m }\nexpected_recoveries:\n  - { name: ok, probes: [ok], stays_healthy: true }\n",
    )
    .unwrap();
    let runs = dir.path().join("runs");
    let mut run = command(&state, &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--no-progress", "--runs-dir", runs.to_str().unwrap()], &[]).spawn().unwrap();
    let journal = || std::fs::read_dir(&runs).ok().and_then(|mut d| d.next()).and_then(|d| std::fs::read_to_string(d.ok()?.path().join("journal.jsonl")).ok()).unwrap_or_default();
    assert!(wait_until(Duration::from_secs(60), || journal().contains("\"fault_applied\"")), "the fault was never in place: {}", journal());
    run.kill().unwrap();
    run.wait().unwrap();
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();

    // Bounded: a watch that never ends fails the test instead of hanging it.
    let watch = || {
        let mut watch = command(&state, &["drill", "watch", run_dir.to_str().unwrap()], &[]).spawn().unwrap();
        let ended = wait_until(Duration::from_secs(30), || watch.try_wait().unwrap().is_some());
        if !ended {
            let _ = watch.kill();
        }
        let out = watch.wait_with_output().unwrap();
        assert!(ended, "the watch did not end: {}", String::from_utf8_lossy(&out.stdout));
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, stdout, stderr) = watch();
    assert_eq!(code, Some(8), "{stdout}\n{stderr}");
    assert!(stdout.contains("Fault `held` in place"), "the timeline first: {stdout}");
    assert!(stderr.contains("its journal shows held still in place"), "{stderr}");
    assert!(stderr.contains(&format!("hint: `gameday recover {}` reverts them", run_dir.display())), "{stderr}");

    let (code, _, stderr) = output(command(&state, &["recover", run_dir.to_str().unwrap(), "--yes"], &[]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = watch();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("stopped without ending (its process is gone); its journal shows no fault in place"), "{stderr}");
}
