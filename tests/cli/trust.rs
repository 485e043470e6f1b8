//! Trust under failure: no fault left behind when the journal, the disk or
//! the process misbehaves. Each test causes the failure for real: a journal
//! sink that refuses writes, a full tmpfs, kill -9 during a slow inject,
//! torn and damaged journals, a live run, a broken project file, and the
//! terminal's Ctrl-C sent to the whole foreground process group.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gameday::environment::local::LocalEnvironment;
use gameday::run::clock::{Interrupt, WallClock};
use gameday::run::journal::{Journal, JournalSink};
use gameday::run::{Outcome, RunConfig, Runner, Silent};

use crate::safety::{command, output, process_running, wait_until};

/// A command fault that creates `marker` and a revert that removes it,
/// watched by a probe every `interval`.
fn marker_scenario(marker: &Path, inject_prefix: &str, revert_prefix: &str, interval: &str, duration: &str) -> String {
    let m = marker.display();
    format!(
        "apiVersion: gameday/v1\nname: marker\nguards:\n  max_duration: 2m\nsteady_state:\n  - {{ name: no-marker, kind: command, run: \"test ! -e {m}\", interval: {interval}, timeout: {interval} }}\nfaults:\n  - {{ name: touch, kind: command, inject: \"{inject_prefix}touch {m}\", revert: \"{revert_prefix}rm -f {m}\", duration: {duration} }}\nexpected_recoveries:\n  - {{ name: gone, probes: [no-marker], recovers_within: 1m }}\n"
    )
}

/// A disk that takes lines until it has taken one containing `fail_after`
/// (or at once, for an empty pattern), and refuses every line after.
struct FailingDisk {
    fail_after: &'static str,
    full: Arc<AtomicBool>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl JournalSink for FailingDisk {
    fn append_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        let text = String::from_utf8_lossy(line).into_owned();
        if text.contains(self.fail_after) {
            self.full.store(true, Ordering::SeqCst);
        }
        self.lines.lock().unwrap().push(text);
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn read_back(&mut self) -> std::io::Result<Box<dyn std::io::BufRead + '_>> {
        Ok(Box::new(std::io::Cursor::new(self.lines.lock().unwrap().concat())))
    }
}

async fn run_with_failing_disk(dir: &Path, fail_after: &'static str) -> (gameday::run::Finished, Vec<String>) {
    let marker = dir.join("marker");
    let scenario = gameday::scenario::parse_str(&marker_scenario(&marker, "", "", "50ms", "2s"), None).unwrap();
    let mut env = LocalEnvironment::new(&scenario.steady_state).unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let disk = FailingDisk { fail_after, full: Arc::new(AtomicBool::new(false)), lines: lines.clone() };
    let journal = Journal::with_sink(&dir.join("journal.jsonl"), Box::new(disk));
    let finished = Runner::new(&scenario, &mut env, WallClock::start(), Silent, journal, RunConfig::new(1, jiff::Timestamp::now()), Interrupt::new()).run().await;
    let written = lines.lock().unwrap().clone();
    (finished, written)
}

#[tokio::test]
async fn a_journal_that_fails_after_the_fault_is_made_never_stops_its_revert() {
    let dir = tempfile::tempdir().unwrap();
    let (finished, written) = run_with_failing_disk(dir.path(), "\"fault_applied\"").await;
    assert!(!dir.path().join("marker").exists(), "the fault was reverted although the journal refused every record after it was made");
    match &finished.result.outcome {
        Outcome::JournalFailed { error, unrecorded } => {
            assert!(error.contains("os error 28"), "{error}");
            assert_eq!(unrecorded.len(), 1, "{unrecorded:?}");
            assert_eq!(unrecorded[0].fault, "touch");
            assert!(unrecorded[0].manual_steps.iter().any(|s| s.contains("rm -f")), "{unrecorded:?}");
        }
        other => panic!("expected JournalFailed, got {other:?}"),
    }
    assert_eq!(finished.result.exit_code, 8, "the journal on disk shows a reverted fault in place: a person must confirm");
    assert!(written.last().unwrap().contains("\"fault_applied\""), "nothing after the failure reached the disk");
    let unwritten: Vec<String> = finished.journal.unwritten().iter().map(|r| serde_json::to_string(r).unwrap()).collect();
    assert!(unwritten.iter().any(|l| l.contains("\"revert_intent\"")) && unwritten.iter().any(|l| l.contains("\"fault_reverted\"")), "kept in memory: {unwritten:?}");
}

#[tokio::test]
async fn a_fault_whose_intent_cannot_be_written_is_never_made() {
    let dir = tempfile::tempdir().unwrap();
    // The disk takes the run's first record and refuses everything after it.
    let (finished, written) = run_with_failing_disk(dir.path(), "\"run_started\"").await;
    assert!(!dir.path().join("marker").exists());
    assert!(written.iter().all(|l| !l.contains("fault_intent")));
    assert!(finished.records.iter().all(|r| !matches!(r.event, gameday::run::journal::Event::FaultApplied { .. })), "no apply without a durable intent");
    assert!(matches!(&finished.result.outcome, Outcome::JournalFailed { unrecorded, .. } if unrecorded.is_empty()), "{:?}", finished.result.outcome);
    assert_eq!(finished.result.exit_code, 7);
}

/// A tmpfs of 64 KiB, unmounted on drop.
struct TinyDisk {
    path: PathBuf,
}

impl TinyDisk {
    fn mount(path: &Path) -> Option<TinyDisk> {
        std::fs::create_dir_all(path).unwrap();
        let status = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"]).arg(path).status().ok()?;
        status.success().then(|| TinyDisk { path: path.to_path_buf() })
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.path).status();
    }
}

#[test]
fn a_full_disk_mid_run_still_reverts_and_exits_8_with_the_manual_steps() {
    // Needs root for the tmpfs (CI and the dev machines run as root).
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = TinyDisk::mount(&dir.path().join("tiny")).expect("a tmpfs mounts");
    // Nearly full: the run's first records fit, then the disk fills up.
    std::fs::write(disk.path.join("filler"), vec![0u8; 52 * 1024]).unwrap();
    let marker = dir.path().join("marker");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, marker_scenario(&marker, "", "", "10ms", "3s")).unwrap();
    let (code, stdout, stderr) =
        output(command(&dir.path().join("state"), &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", disk.path.to_str().unwrap()], &[]));
    assert!(!marker.exists(), "reverted on a full disk\n{stdout}\n{stderr}");
    assert_eq!(code, 8, "{stdout}\n{stderr}");
    assert!(stdout.contains("JOURNAL INCOMPLETE") && stdout.contains("rm -f"), "{stdout}");
    assert!(stderr.contains("No space left on device") && stderr.contains("\"fault_reverted\""), "the records the disk refused are on stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The journal on disk is whole lines only, and still shows the fault: status says so.
    let run_dir = std::fs::read_dir(&disk.path).unwrap().filter_map(Result::ok).map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    assert!(journal.ends_with('\n') && journal.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "no partial line on the full disk");
    let (code, stdout, _) = output(command(&dir.path().join("state"), &["status", "--runs-dir", disk.path.to_str().unwrap()], &[]));
    assert_eq!(code, 8, "{stdout}");
    // Room again: recover settles the journal (the revert is idempotent).
    std::fs::remove_file(disk.path.join("filler")).unwrap();
    let (code, stdout, stderr) = output(command(&dir.path().join("state"), &["recover", "--yes", "--runs-dir", disk.path.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, _) = output(command(&dir.path().join("state"), &["status", "--runs-dir", disk.path.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}");
}

/// Starts a local run of `yaml` in `cwd` and waits until its journal shows `event`.
fn start_run_until(dir: &Path, cwd: &Path, yaml: &str, event: &str) -> (std::process::Child, PathBuf) {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let runs = dir.join("runs");
    let mut cmd = command(&dir.join("state"), &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]);
    cmd.current_dir(cwd);
    let child = cmd.spawn().unwrap();
    let journal = || std::fs::read_dir(&runs).ok()?.filter_map(Result::ok).next().map(|e| e.path().join("journal.jsonl"));
    assert!(wait_until(Duration::from_secs(20), || journal().and_then(|j| std::fs::read_to_string(j).ok()).is_some_and(|t| t.contains(event))), "the run reached {event}");
    (child, runs)
}

fn kill_9(mut child: std::process::Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A local run of the marker fault, killed with SIGKILL once the fault is
/// made: its runs directory and run directory.
fn crashed_marker_run(dir: &Path, marker: &Path) -> (PathBuf, PathBuf) {
    let (child, runs) = start_run_until(dir, dir, &marker_scenario(marker, "", "", "100ms", "1m"), "\"fault_applied\"");
    kill_9(child);
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    (runs, run_dir)
}

#[test]
fn after_kill_9_during_a_slow_inject_recover_ends_the_orphan_before_reverting() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    // The inject sleeps far longer than the test lasts: `recover` must end it, however long the machine takes to get there.
    let (child, runs) = start_run_until(dir.path(), dir.path(), &marker_scenario(&marker, "sleep 60; ", "", "100ms", "1m"), "\"fault_intent\"");
    let inject = format!("sleep 60; touch {}", marker.display());
    assert!(wait_until(Duration::from_secs(20), || process_running(&inject)), "the inject's shell is running its sleep");
    kill_9(child);
    let state = dir.path().join("state");
    let (code, stdout, stderr) = output(command(&state, &["recover", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("ended the inject still running"), "{stdout}");
    // An orphan left running would touch the marker before it ends: once none runs, the marker says which it was.
    assert!(wait_until(Duration::from_secs(20), || !process_running(&inject)), "the orphaned inject still runs");
    assert!(!marker.exists(), "the orphaned inject did not re-create the fault after recover");
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn recover_runs_the_revert_where_the_run_ran_it() {
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().join("service");
    std::fs::create_dir_all(&workdir).unwrap();
    // Relative paths: they mean the run's working directory.
    let yaml = "apiVersion: gameday/v1\nname: relative\nsteady_state:\n  - { name: no-marker, kind: command, run: \"test ! -e marker\", interval: 100ms, timeout: 100ms }\nfaults:\n  - { name: touch, kind: command, inject: \"touch marker\", revert: \"rm -f marker\", duration: 1m }\nexpected_recoveries:\n  - { name: gone, probes: [no-marker], recovers_within: 1m }\n";
    let (child, runs) = start_run_until(dir.path(), &workdir, yaml, "\"fault_applied\"");
    kill_9(child);
    assert!(workdir.join("marker").exists());
    // recover is started somewhere else: the repository root.
    let (code, stdout, stderr) = output(command(&dir.path().join("state"), &["recover", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!workdir.join("marker").exists(), "the revert ran in the run's working directory");
    // And the stale lock is released (recover was given no RUN_DIR): a new run of `local` may start.
    assert!(stdout.contains("released the lock of `local`"), "{stdout}");
    assert!(!dir.path().join("state/locks/local.lock").exists());
}

#[test]
fn status_and_recover_never_call_a_damaged_journal_clean() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (runs, run_dir) = crashed_marker_run(dir.path(), &marker);
    let journal = run_dir.join("journal.jsonl");
    // 16 garbage bytes on a line of their own, in the middle of the journal.
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut damaged = lines[..2].join("\n");
    damaged.push_str("\n\u{1}garbage\u{7f}bytes!\n");
    damaged.push_str(&lines[2..].join("\n"));
    damaged.push('\n');
    std::fs::write(&journal, damaged).unwrap();
    let state = dir.path().join("state");
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 8, "{stdout}");
    assert!(stdout.contains("CANNOT TELL") && stdout.contains("line 3") && stdout.contains("touch (command) is still in place"), "{stdout}");
    let (code, stdout, stderr) = output(command(&state, &["recover", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert!(!marker.exists(), "what the readable part shows in place was reverted\n{stdout}\n{stderr}");
    assert_eq!(code, 8, "still cannot tell for sure: {stdout}");
    assert!(stdout.contains("CANNOT TELL whether more is in place"), "{stdout}");
    // A journal that cannot be read at all is not "no faults" either.
    std::fs::write(&journal, b"").unwrap();
    let mut perms = std::fs::metadata(&journal).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o000);
    std::fs::set_permissions(&journal, perms).unwrap();
    if unsafe { libc::geteuid() } != 0 {
        let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
        assert_eq!(code, 8, "{stdout}");
        assert!(stdout.contains("cannot be read"), "{stdout}");
    }
}

#[test]
fn a_torn_last_line_is_skipped_and_recover_writes_on_a_fresh_line() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (runs, run_dir) = crashed_marker_run(dir.path(), &marker);
    let journal = run_dir.join("journal.jsonl");
    // A record cut inside a multi-byte character, as kill -9 mid-write can leave it.
    let torn = "{\"t\":99,\"wall\":\"2026-12-02T00:00:00.000Z\",\"event\":\"team_observation\",\"text\":\"caf\u{e9} \u{2615}\"}";
    let cut = torn.find('\u{2615}').unwrap() + 1;
    std::fs::OpenOptions::new().append(true).open(&journal).unwrap().write_all(&torn.as_bytes()[..cut]).unwrap();
    let state = dir.path().join("state");
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 8, "{stdout}");
    assert!(stdout.contains("touch (command) is still in place") && !stdout.contains("CANNOT TELL"), "a torn last line is not damage: {stdout}");
    let (code, stdout, stderr) = output(command(&state, &["recover", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!marker.exists());
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "recover's records start on a fresh line, so the journal stays readable: {stdout}");
    let (code, _, stderr) = output(command(&state, &["report", run_dir.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stderr}");
}

/// A last line that cannot be read but ends in a newline (garbage, not a
/// cut record) is read as torn, as a cut one is; so `recover` closes it
/// with a marker before writing after it. It did not: its records made the
/// garbage a middle line, and the second `recover` said CANNOT TELL (8),
/// which broke "safe to run twice" (found by random journal damage trials).
#[test]
fn an_unreadable_last_line_ending_in_a_newline_is_torn_and_recover_is_safe_twice() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (runs, run_dir) = crashed_marker_run(dir.path(), &marker);
    let journal = run_dir.join("journal.jsonl");
    std::fs::OpenOptions::new().append(true).open(&journal).unwrap().write_all(b"{\"t\":99,\"wall\":garbage\n").unwrap();
    let state = dir.path().join("state");
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 8, "{stdout}");
    assert!(!stdout.contains("CANNOT TELL"), "an unreadable last line is torn, not damage: {stdout}");
    for attempt in ["first", "second"] {
        let (code, stdout, stderr) = output(command(&state, &["recover", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]));
        assert_eq!(code, 0, "{attempt} recover:\n{stdout}\n{stderr}");
    }
    assert!(!marker.exists());
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("garbage\n{") && text.contains("\"event\":\"torn_line_closed\""), "{text}");
}

#[test]
fn recover_and_status_leave_a_live_run_alone() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (child, runs) = start_run_until(dir.path(), dir.path(), &marker_scenario(&marker, "", "", "100ms", "1m"), "\"fault_applied\"");
    let state = dir.path().join("state");
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let (code, stdout, stderr) = output(command(&state, &["recover", "--yes", run_dir.to_str().unwrap()], &[]));
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stderr.contains("is still running") && stderr.contains(&child.id().to_string()), "{stderr}");
    assert!(marker.exists(), "the live run's fault was not touched by recover");
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "a live run is not a fault left behind: {stdout}");
    assert!(stdout.contains("running now"), "{stdout}");
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(!marker.exists(), "the live run reverted its own fault");
}

#[test]
fn a_broken_project_file_does_not_block_recovering_a_local_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (runs, _) = crashed_marker_run(dir.path(), &marker);
    std::fs::write(dir.path().join("gameday.yaml"), "environments: [this is: not: a project\n").unwrap();
    let mut recover = command(&dir.path().join("state"), &["recover", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]);
    recover.current_dir(dir.path());
    let (code, stdout, stderr) = output(recover);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("gameday.yaml") && stderr.contains("built in"), "the broken file is named: {stderr}");
    assert!(!marker.exists());
}

#[test]
fn a_tab_in_the_project_file_is_placed_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gameday.yaml"), "apiVersion: gameday/v1\nkind: Project\nenvironments:\n\tprod:\n    kind: aws\n").unwrap();
    let mut cmd = command(&dir.path().join("state"), &["plan", crate::repo().join("scenarios/az-loss.yaml").to_str().unwrap()], &[]);
    cmd.current_dir(dir.path());
    let (code, _, stderr) = output(cmd);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("gameday.yaml is not a valid project file: line 4, column 1: a tab is used for indentation"), "{stderr}");
    assert!(!stderr.contains("<input>") && !stderr.contains("file: error:"), "{stderr}");
}

#[test]
fn the_terminals_ctrl_c_reaches_gameday_but_not_the_revert_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (attempts, release) = (dir.path().join("attempts"), dir.path().join("release"));
    // The revert holds until the test releases it, after gameday has answered the second press: no window to hit.
    let revert_prefix = format!("echo attempt >> {}; while [ ! -e {} ]; do sleep 0.05; done; ", attempts.display(), release.display());
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, marker_scenario(&marker, "", &revert_prefix, "100ms", "1m")).unwrap();
    let runs = dir.path().join("runs");
    // As in a terminal: gameday leads the foreground process group, and Ctrl-C signals the whole group.
    let mut cmd = command(&dir.path().join("state"), &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]);
    cmd.process_group(0);
    let mut child = cmd.spawn().unwrap();
    let group = child.id() as i32;
    let stderr = Arc::new(Mutex::new(String::new()));
    let reader = {
        let (mut pipe, stderr) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(read @ 1..) = pipe.read(&mut chunk) {
                stderr.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..read]));
            }
        })
    };
    assert!(wait_until(Duration::from_secs(20), || marker.exists()));
    unsafe { libc::kill(-group, libc::SIGINT) };
    assert!(
        wait_until(Duration::from_secs(20), || std::fs::read_to_string(&attempts).is_ok_and(|t| t.contains("attempt\n"))),
        "the first Ctrl-C started the revert, which now holds"
    );
    unsafe { libc::kill(-group, libc::SIGINT) }; // a second press while the revert runs
    let answered = wait_until(Duration::from_secs(20), || stderr.lock().unwrap().contains("still reverting"));
    std::fs::write(&release, "").unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let stderr = stderr.lock().unwrap().clone();
    assert!(answered, "gameday answered the second press while the revert held: {stderr}");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!marker.exists());
    assert_eq!(std::fs::read_to_string(&attempts).unwrap().lines().count(), 1, "the revert was not killed by the keypress (no second attempt)");
}

/// A fault whose inject takes 30 s and only then finishes making the fault
/// (`late`); the revert removes the marker only, so `late` shows whether
/// the inject ran to its end. 30 s, far longer than the tests wait for it
/// to end (`inject_ended`, 20 s): gameday must stop it, however slow the
/// machine, and no test depends on acting within a window.
fn slow_inject_scenario(dir: &Path, guards: &str) -> String {
    let (marker, late) = (dir.join("marker"), dir.join("late"));
    format!(
        "apiVersion: gameday/v1\nname: slow-inject\nguards:\n{guards}\nsteady_state:\n  - {{ name: no-marker, kind: command, run: \"test ! -e {m}\", interval: 50ms, timeout: 50ms }}\nfaults:\n  - {{ name: slow, kind: command, inject: \"touch {m}; sleep 30; touch {l}\", revert: \"rm -f {m}\", duration: 1m }}\nexpected_recoveries:\n  - {{ name: gone, probes: [no-marker], recovers_within: 1m }}\n",
        m = marker.display(),
        l = late.display()
    )
}

fn run_slow_inject(dir: &Path, guards: &str) -> (i32, String, String) {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, slow_inject_scenario(dir, guards)).unwrap();
    let result = output(command(&dir.join("state"), &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", dir.join("runs").to_str().unwrap()], &[]));
    inject_ended(dir);
    result
}

/// Waits until no process runs the slow inject: one left running would
/// make `late` before it ends, so then `late` says whether it was stopped.
fn inject_ended(dir: &Path) {
    let finishing = format!("touch {}", dir.join("late").display());
    assert!(wait_until(Duration::from_secs(20), || !process_running(&finishing)), "the slow inject still runs");
}

fn journal_of(dir: &Path) -> String {
    let run_dir = std::fs::read_dir(dir.join("runs")).unwrap().next().unwrap().unwrap().path();
    std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap()
}

#[test]
fn a_stop_condition_is_judged_while_a_fault_is_being_made() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_slow_inject(dir.path(), "  stop_conditions:\n    - { probe: no-marker, failing_for: 0s }");
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stdout.contains("aborted by guard stop_conditions"), "{stdout}");
    assert!(!dir.path().join("late").exists(), "the inject in flight was ended with its process group, not left to finish");
    assert!(!dir.path().join("marker").exists(), "what the inject did was reverted");
    let journal = journal_of(dir.path());
    assert!(journal.contains("the run stopped while this fault was being made") && journal.contains("\"fault_reverted\""), "{journal}");
    assert!(!journal.contains("\"fault_applied\""));
}

#[test]
fn max_duration_ends_a_run_whose_fault_is_still_being_made() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_slow_inject(dir.path(), "  max_duration: 1s");
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stdout.contains("max_duration"), "{stdout}");
    assert!(!dir.path().join("late").exists());
    assert!(!dir.path().join("marker").exists());
}

#[test]
fn sigterm_during_a_slow_inject_stops_it_and_reverts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, slow_inject_scenario(dir.path(), "  max_duration: 1m")).unwrap();
    let child = command(&dir.path().join("state"), &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", dir.path().join("runs").to_str().unwrap()], &[])
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(20), || dir.path().join("marker").exists()));
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    inject_ended(dir.path());
    assert!(!dir.path().join("late").exists());
    assert!(!dir.path().join("marker").exists());
}

#[test]
fn a_command_reads_its_secret_from_the_environment_and_gameday_never_stores_it() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-Value-9f8e7d";
    let keep = dir.path().join("used");
    let yaml = format!(
        "apiVersion: gameday/v1\nname: secret\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 100ms, timeout: 100ms }}\nfaults:\n  - {{ name: call, kind: command, inject: \"printf %s ${{env:GAMEDAY_TEST_CMD_SECRET}} > {k}\", revert: \"test -n ${{env:GAMEDAY_TEST_CMD_SECRET}}\", duration: 1s }}\nexpected_recoveries:\n  - {{ name: ok, probes: [ok], recovers_within: 2s }}\n",
        k = keep.display()
    );
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let runs = dir.path().join("runs");
    let state = dir.path().join("state");
    let (code, stdout, stderr) = output(command(
        &state,
        &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()],
        &[("GAMEDAY_TEST_CMD_SECRET", secret), ("RUST_LOG", "debug")],
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), secret, "the command got the value");
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    for entry in std::fs::read_dir(&run_dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!text.contains(secret), "{} holds the secret", path.display());
    }
    assert!(std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap().contains("GAMEDAY_TEST_CMD_SECRET"), "the name is recorded, not the value");
    // Where the variable is not set, the run is refused before anything runs, naming it.
    std::fs::remove_file(&keep).unwrap();
    let (code, stdout, _) = output(command(&state, &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 7, "{stdout}");
    assert!(stdout.contains("GAMEDAY_TEST_CMD_SECRET is not set"), "{stdout}");
    assert!(!keep.exists(), "no command ran");
}

#[test]
fn a_run_that_leaves_a_fault_keeps_its_environment_locked_until_recover() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let gate = dir.path().join("revert-works");
    // The revert fails until `revert-works` exists.
    let yaml = marker_scenario(&marker, "", &format!("test -e {} && ", gate.display()), "100ms", "500ms").replace("recovers_within: 1m", "recovers_within: 2s");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let (state, runs) = (dir.path().join("state"), dir.path().join("runs"));
    let run = |cwd: &Path| {
        // The revert fails at every attempt: 10 ms, then 20 ms between them instead of 1 s, then 2 s (twice per run).
        let mut cmd = command(&state, &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", "runs"], &[("GAMEDAY_TEST_REVERT_BACKOFF_MS", "10")]);
        cmd.current_dir(cwd);
        output(cmd)
    };
    let (code, stdout, stderr) = run(dir.path());
    assert_eq!(code, 8, "{stdout}\n{stderr}");
    assert!(marker.exists());
    assert!(stderr.contains("stays locked until `gameday recover"), "{stderr}");
    let (code, _, stderr) = run(dir.path());
    assert_eq!(code, 5, "no other game day while the fault is in place: {stderr}");
    // `recover` started elsewhere, over another runs directory, must not free the lock of a run with a fault in place.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mut cmd = command(&state, &["recover", "--yes", "--runs-dir", "empty"], &[]);
    cmd.current_dir(&elsewhere);
    let (code, stdout, _) = output(cmd);
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("released the lock"), "{stdout}");
    assert!(state.join("locks/local.lock").exists());
    // Once the revert can work, recover settles it and frees the environment.
    std::fs::write(&gate, "").unwrap();
    let (code, stdout, stderr) = output(command(&state, &["recover", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!marker.exists() && !state.join("locks/local.lock").exists(), "{stdout}");
    // recover's records carry the journal's last time: the timeline never runs backwards.
    let run_dir = std::fs::read_dir(&runs).unwrap().filter_map(Result::ok).map(|e| e.path()).min().unwrap();
    let times: Vec<u64> =
        std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap().lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["t"].as_u64().unwrap()).collect();
    let last_reverted = times.len() - 1;
    assert!(times[last_reverted] >= times[..last_reverted].iter().copied().max().unwrap(), "{times:?}");
}

#[test]
fn a_damaged_run_started_record_gives_manual_steps_not_a_claim() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (runs, run_dir) = crashed_marker_run(dir.path(), &marker);
    let journal = run_dir.join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    std::fs::write(&journal, text.replacen(&text[..text.find('\n').unwrap()], "garbage{{{", 1)).unwrap();
    let (code, stdout, stderr) = output(command(&dir.path().join("state"), &["recover", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 8, "{stdout}\n{stderr}");
    assert!(stdout.contains("does not say which environment") && stdout.contains(&format!("rm -f {}", marker.display())), "{stdout}");
    assert!(!stdout.contains("was reverted above"), "{stdout}");
    assert!(marker.exists(), "nothing was reverted on a guess");
}

#[test]
fn status_flags_a_live_run_whose_journal_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (child, runs) = start_run_until(dir.path(), dir.path(), &marker_scenario(&marker, "", "", "100ms", "1m"), "\"fault_applied\"");
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let journal = run_dir.join("journal.jsonl");
    // 16 garbage bytes on a line of their own, appended while the run goes on.
    let garbage: &[u8] = b"\x01garbage\x7fbytes!!\n";
    std::fs::OpenOptions::new().append(true).open(&journal).unwrap().write_all(garbage).unwrap();
    let record_after_garbage = || {
        let text = std::fs::read(&journal).unwrap();
        text.windows(garbage.len()).position(|w| w == garbage).is_some_and(|at| text[at + garbage.len()..].contains(&b'\n'))
    };
    assert!(wait_until(Duration::from_secs(20), record_after_garbage), "the run appends more records after it");
    let (code, stdout, _) = output(command(&dir.path().join("state"), &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let _ = child.wait_with_output();
    assert_eq!(code, 8, "{stdout}");
    assert!(stdout.contains("running now") && stdout.contains("CANNOT TELL"), "{stdout}");
    assert!(!marker.exists());
}
