//! `gameday report` on a damaged journal, and the caps `validate` puts on
//! what a scenario may ask for: no panic, no unbounded allocation, and an
//! error that names the record and its line. All on the simulator.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{Output, gameday, repo, run_scenario};

/// A finished az-loss run (seed 7), copied so each case damages its own.
fn finished_run(runs: &Path) -> PathBuf {
    let run = run_scenario(&repo().join("scenarios/az-loss.yaml"), &["--seed", "7"], runs);
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    run.dir
}

fn journal(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("journal.jsonl")).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

fn write_journal(dir: &Path, records: &[Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join("journal.jsonl"), text).unwrap();
}

/// `gameday report DIR` with its address space capped at 2 GiB: a report
/// that allocates without bound aborts here instead of eating the machine.
fn report_with_memory_cap(dir: &Path) -> Output {
    let state = tempfile::tempdir().unwrap();
    let output = Command::new("sh")
        .args(["-c", "ulimit -v 2097152 && exec \"$0\" report \"$1\"", env!("CARGO_BIN_EXE_gameday"), dir.to_str().unwrap()])
        .current_dir(repo())
        .env("GAMEDAY_STATE_DIR", state.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    Output { code: output.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&output.stdout).into_owned(), stderr: String::from_utf8_lossy(&output.stderr).into_owned() }
}

fn rendered_size(dir: &Path) -> u64 {
    ["report.md", "report.html", "junit.xml", "result.json"].iter().map(|name| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len())).sum()
}

/// A time no run reaches (beyond 366 days; here up to u64::MAX) is an
/// error naming the journal's line and the record, exit 4, whatever record
/// carries it. Before the fix: a panic on overflow (exit 101) or an abort
/// allocating gigabytes for the chart (exit 134).
#[test]
fn report_refuses_a_journal_time_no_run_reaches() {
    let runs = tempfile::tempdir().unwrap();
    let original = finished_run(runs.path());
    let records = journal(&original);
    let line_of = |event: &str| records.iter().position(|r| r["event"] == event).unwrap_or_else(|| panic!("no {event} record"));
    let sample = line_of("sample");
    let cases: [(usize, &str, u64); 4] = [
        (line_of("fault_applied"), "fault_applied", u64::MAX),
        (line_of("run_ended"), "run_ended", 1 << 53),
        (line_of("run_ended"), "run_ended", u64::MAX),
        (sample, "sample", u64::MAX - 1),
    ];
    for (index, event, t) in cases {
        let case = tempfile::tempdir().unwrap();
        let dir = case.path().join("run");
        std::fs::create_dir(&dir).unwrap();
        for name in ["scenario.yaml", "journal.jsonl"] {
            std::fs::copy(original.join(name), dir.join(name)).unwrap();
        }
        let mut damaged = records.clone();
        damaged[index]["t"] = t.into();
        if event == "sample" {
            damaged[index]["sent_at"] = t.into();
        }
        write_journal(&dir, &damaged);

        let out = report_with_memory_cap(&dir);
        assert_eq!(out.code, 4, "{event} at t={t}:\n{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        let expected = format!(
            "error: {} line {}: the `{event}` record is at t={t} ms, later than any run can last (366 days, t=31622400000)\n  = hint: the journal was damaged or edited; correct or delete that line, then run `gameday report` again\n",
            dir.join("journal.jsonl").display(),
            index + 1
        );
        assert_eq!(out.stderr, expected);
        assert!(out.stdout.is_empty());
        assert_eq!(rendered_size(&dir), 0, "nothing is rendered from an impossible journal");
    }
}

/// Times that go backwards are not damage gameday can rule out (`recover`
/// appends at T+0), so a journal whose records are out of order, or whose
/// run ends before its fault, renders: exit 0, no panic, and reports no
/// larger than twice the undamaged run's. Before the fix, the pass stamped
/// before the failure it ends panicked on subtraction overflow in the
/// impact phases (exit 101).
#[test]
fn report_renders_a_journal_whose_times_go_backwards() {
    let runs = tempfile::tempdir().unwrap();
    let original = finished_run(runs.path());
    let undamaged = rendered_size(&original);
    let records = journal(&original);
    let count = records.len() as u64;

    // Every record a little earlier than the one before: decreasing times from 366 days down.
    let mut decreasing = records.clone();
    for (i, record) in decreasing.iter_mut().enumerate() {
        let t = (count - i as u64) * 80_000_000;
        record["t"] = t.into();
        if record["event"] == "sample" {
            record["sent_at"] = t.into();
        }
    }
    // The records in reverse order: the run ends first, samples before their fault.
    let mut reversed = records.clone();
    reversed.reverse();
    // The run's end stamped before the fault started.
    let mut early_end = records.clone();
    let ended = early_end.iter().position(|r| r["event"] == "run_ended").unwrap();
    early_end[ended]["t"] = 0.into();

    // The pass that ends the first failure stamped just before that failure.
    let mut pass_before_failure = records.clone();
    let failing = pass_before_failure.iter().position(|r| r["event"] == "sample" && r["ok"] == false).expect("the run has a failing sample");
    let (probe, failed_at) = (pass_before_failure[failing]["probe"].clone(), pass_before_failure[failing]["sent_at"].as_u64().unwrap());
    let passing = (failing..pass_before_failure.len())
        .find(|&i| pass_before_failure[i]["event"] == "sample" && pass_before_failure[i]["ok"] == true && pass_before_failure[i]["probe"] == probe)
        .expect("the probe recovers");
    assert!(failed_at > 0);
    pass_before_failure[passing]["t"] = (failed_at - 1).into();
    pass_before_failure[passing]["sent_at"] = (failed_at - 1).into();

    for (name, damaged) in [("decreasing", decreasing), ("reversed", reversed), ("early end", early_end), ("pass before failure", pass_before_failure)] {
        let case = tempfile::tempdir().unwrap();
        let dir = case.path().join("run");
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(original.join("scenario.yaml"), dir.join("scenario.yaml")).unwrap();
        write_journal(&dir, &damaged);

        let out = report_with_memory_cap(&dir);
        assert_eq!(out.code, 0, "{name}:\n{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
        let size = rendered_size(&dir);
        assert!(size > 0 && size <= 2 * undamaged, "{name}: {size} bytes rendered, the undamaged run renders {undamaged}");
    }
}

/// `validate` caps what a scenario may ask for; `plan`, `run` and `drill` load
/// through the same checks, so they refuse the same file with the same
/// exit code before any side effect. Before the fix: `duration: 1000000h`
/// validated, and a run would hold the fault for 114 years.
#[test]
fn run_plan_and_drill_refuse_what_validate_caps() {
    let text = std::fs::read_to_string(repo().join("scenarios/az-loss.yaml")).unwrap().replace("duration: 15m", "duration: 1000000h");
    assert!(text.contains("duration: 1000000h"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenarios").join("long.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, text).unwrap();
    std::fs::create_dir_all(dir.path().join("runbooks")).unwrap();
    std::fs::copy(repo().join("runbooks/az-loss.md"), dir.path().join("runbooks/az-loss.md")).unwrap();
    let runs = dir.path().join("runs");
    let file = file.to_str().unwrap();
    let runs_dir = runs.to_str().unwrap();
    for args in [vec!["validate", file], vec!["plan", file], vec!["run", file, "--runs-dir", runs_dir], vec!["drill", file, "--runs-dir", runs_dir]] {
        let out = gameday(&args);
        assert_eq!(out.code, 3, "{args:?}:\n{}", out.stderr);
        assert!(out.stderr.contains("error: `duration: 1000000h` is longer than gameday allows (24h)"), "{args:?}:\n{}", out.stderr);
        assert!(out.stderr.contains("long.yaml:71:5 (at `faults[0].duration`)"), "{args:?}:\n{}", out.stderr);
        assert!(!out.stderr.contains("panicked"));
    }
    assert!(!runs.exists(), "a refused run writes no run directory");
}
