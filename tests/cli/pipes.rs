//! A closed stdout or stderr never makes gameday panic (exit 101), and never
//! stops a run before it reverts: the output is dropped, the command goes on,
//! and the exit code is the one the command would have had anyway.
//!
//! Each test hands the binary a pipe whose read end is closed before the
//! process starts, so every write fails with EPIPE, deterministically.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Output, repo, run_scenario};

#[derive(Clone, Copy, PartialEq)]
enum Closed {
    Stdout,
    Stderr,
    Both,
}

/// Runs the binary with `closed` connected to a pipe nobody reads; the other
/// stream is captured. `state` is the state directory (locks, halt).
fn gameday_closed(args: &[&str], closed: Closed, state: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
    command.args(args).current_dir(repo()).env("GAMEDAY_STATE_DIR", state).env_remove("RUST_LOG");
    let closed_pipe = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        Stdio::from(writer)
    };
    command.stdout(if closed == Closed::Stderr { Stdio::piped() } else { closed_pipe() });
    command.stderr(if closed == Closed::Stdout { Stdio::piped() } else { closed_pipe() });
    let output = command.output().expect("the gameday binary runs");
    Output { code: output.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&output.stdout).into_owned(), stderr: String::from_utf8_lossy(&output.stderr).into_owned() }
}

#[test]
fn read_only_commands_survive_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let run = run_scenario(&repo().join("scenarios/az-loss.yaml"), &["--seed", "1"], &runs);
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    let (run_dir, runs) = (run.dir.to_str().unwrap(), runs.to_str().unwrap());
    let commands: [&[&str]; 6] = [
        &["schema"],
        &["validate", "scenarios/az-loss.yaml", "scenarios/dns-failover.yaml", "scenarios/region-failover.yaml"],
        &["plan", "scenarios/az-loss.yaml", "--seed", "1"],
        &["report", run_dir, "--format", "md"],
        &["history", "--runs-dir", runs],
        &["status", "--runs-dir", runs],
    ];
    for args in commands {
        let output = gameday_closed(args, Closed::Stdout, dir.path());
        assert!(!output.stderr.contains("panicked"), "`gameday {}` panicked:\n{}", args.join(" "), output.stderr);
        assert_eq!(output.code, 0, "`gameday {}`:\n{}", args.join(" "), output.stderr);
    }
}

#[test]
fn errors_to_a_closed_stderr_keep_their_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let output = gameday_closed(&["validate", "tests/broken/missing-keys.yaml", "tests/broken/unknown-keys.yaml"], Closed::Stderr, dir.path());
    assert_eq!(output.code, 3, "the files are invalid, whether or not anyone reads why");
    let output = gameday_closed(&["validate", "scenarios/az-loss.yaml", "tests/no-such-file.yaml"], Closed::Both, dir.path());
    assert_eq!(output.code, 4);
}

/// A real side effect (a marker file) made by a `command` fault on `local`:
/// whichever stream is closed, the fault is reverted and the run's files are
/// written. The probe never fails, so each run lasts until the expectation's
/// deadline (docs/metrics.md): 1 s, not 5 s, is enough to outlast the 300 ms
/// fault, which is all the test needs.
#[test]
fn a_run_with_closed_output_still_reverts_and_reports() {
    for closed in [Closed::Stdout, Closed::Stderr, Closed::Both] {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("fault-in-place");
        let yaml = format!(
            "apiVersion: gameday/v1\nname: closed-pipes\nguards:\n  max_duration: 1m\nsteady_state:\n  - name: up\n    kind: command\n    run: \"true\"\n    interval: 100ms\n    timeout: 90ms\nfaults:\n  - name: mark\n    kind: command\n    inject: touch {marker}\n    revert: rm {marker}\n    duration: 300ms\nexpected_recoveries:\n  - name: up\n    probes: [up]\n    recovers_within: 1s\n",
            marker = marker.display()
        );
        let file = dir.path().join("scenario.yaml");
        std::fs::write(&file, yaml).unwrap();
        let runs = dir.path().join("runs");
        let args = ["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()];
        let output = gameday_closed(&args, closed, dir.path());
        assert!(!output.stderr.contains("panicked"), "{}", output.stderr);
        assert_eq!(output.code, 0, "stdout:\n{}\nstderr:\n{}", output.stdout, output.stderr);
        assert!(!marker.exists(), "the fault was left in place");
        let run_dir = std::fs::read_dir(&runs).unwrap().filter_map(Result::ok).map(|e| e.path()).max().expect("a run directory");
        let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
        assert!(journal.contains("\"event\":\"fault_applied\""), "the fault was made:\n{journal}");
        assert!(journal.contains("\"event\":\"fault_reverted\""), "and reverted:\n{journal}");
        assert!(run_dir.join("report.md").is_file());
        if closed == Closed::Stderr {
            assert!(output.stdout.contains("report: "), "stdout still works:\n{}", output.stdout);
        }
    }
}
