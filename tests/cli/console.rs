//! The drill console as a person uses it: `gameday drill` in a real
//! pseudo-terminal, keys typed one at a time, and every step synchronised on
//! what the screen shows, never on a sleep. The journal and the report are
//! read back afterwards.
//!
//! The pseudo-terminal is opened with `libc::openpty` (libc is already a
//! dependency): a pty crate (expectrl, rexpect, portable-pty) brings nix,
//! whose libc features would rebuild every dependency of the crate.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::repo;
use crate::safety::wait_until;

/// The longest the test waits for something on the screen before it fails.
/// A safety net for a broken console, not a synchronisation: every wait ends
/// as soon as the text appears.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the terminal has received so far, and whether it has closed.
#[derive(Default)]
struct Screen {
    bytes: Vec<u8>,
    /// Where the next `wait_for` starts looking: text already waited for is not found twice.
    seen: usize,
    closed: bool,
}

/// A drill on the simulator at 10× in a pseudo-terminal of 160×60 (so the
/// whole frame, prompt line included, fits), with its own state and runs
/// directories. Its stop condition (25 min) is 150 s of wall time away: the
/// drill ends when the test ends it.
struct Console {
    child: Child,
    keyboard: File,
    screen: Arc<(Mutex<Screen>, Condvar)>,
    runs: tempfile::TempDir,
    _state: tempfile::TempDir,
}

/// Sets close-on-exec, so that no other test's child keeps this terminal open.
fn close_on_exec(fd: &OwnedFd) {
    // SAFETY: fcntl on a descriptor this function borrows, with no pointer arguments.
    assert_ne!(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) }, -1, "{}", std::io::Error::last_os_error());
}

impl Console {
    fn start(extra: &[&str]) -> Console {
        let runs = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize { ws_row: 60, ws_col: 160, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two descriptors into the integers it is given; name and termios may be null.
        let opened = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
        assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened, and nothing else owns them.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        close_on_exec(&master);
        close_on_exec(&slave);
        let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
        command
            .args(["drill", repo().join("scenarios/manual-region-failover.yaml").to_str().unwrap(), "--speed", "10", "--seed", "7"])
            .args(["--runs-dir", runs.path().to_str().unwrap()])
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("GAMEDAY_STATE_DIR", state.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: between fork and exec the child calls only setsid and ioctl,
        // both async-signal-safe: its own session, with the terminal (already
        // its standard input) as the controlling one, as a login shell has it.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("the gameday binary runs in a pseudo-terminal");
        // The parent's copies of the terminal's end close here: the reader sees
        // the end when the drill's process is gone.
        drop(command);
        let keyboard = File::from(master.try_clone().unwrap());
        let screen = Arc::new((Mutex::new(Screen::default()), Condvar::new()));
        let shared = screen.clone();
        std::thread::spawn(move || {
            let mut master = File::from(master);
            let mut buffer = [0u8; 4096];
            loop {
                // Linux answers EIO once the last process holding the terminal is gone.
                let read = master.read(&mut buffer).unwrap_or(0);
                let (lock, changed) = &*shared;
                // A test that failed while holding the lock has already said why.
                let Ok(mut screen) = lock.lock() else { return };
                if read == 0 {
                    screen.closed = true;
                } else {
                    screen.bytes.extend_from_slice(&buffer[..read]);
                }
                changed.notify_all();
                if read == 0 {
                    return;
                }
            }
        });
        Console { child, keyboard, screen, runs, _state: state }
    }

    /// Waits until the screen shows `text` (after what was waited for before).
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        let (lock, changed) = &*self.screen;
        let mut screen = lock.lock().unwrap();
        loop {
            let unseen = &screen.bytes[screen.seen..];
            if let Some(at) = unseen.windows(text.len()).position(|window| window == text.as_bytes()) {
                screen.seen += at + text.len();
                return;
            }
            let now = Instant::now();
            if screen.closed || now >= deadline {
                // Each redraw starts at the top left: one frame a paragraph, without the erase codes.
                let shown = String::from_utf8_lossy(&screen.bytes[screen.seen..]).replace("\x1b[H", "\n\n").replace("\x1b[K", "").replace("\x1b[J", "");
                let tail: String = shown.chars().rev().take(3000).collect::<Vec<_>>().into_iter().rev().collect();
                panic!("the console never showed {text:?}{}; its last output:\n{tail}", if screen.closed { " (its terminal closed)" } else { "" });
            }
            screen = changed.wait_timeout(screen, deadline - now).unwrap().0;
        }
    }

    /// Types keys, as a person does: no Enter unless `keys` has `\r`.
    fn keys(&mut self, keys: &str) {
        self.keyboard.write_all(keys.as_bytes()).unwrap();
    }

    /// Waits for the drill's process to end and gives its exit code.
    fn exit_code(&mut self) -> i32 {
        let mut status = None;
        let ended = wait_until(PATIENCE, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        assert!(ended, "the drill did not end");
        status.and_then(|s| s.code()).expect("the drill exited, not killed by a signal")
    }

    /// Everything the terminal has shown since the drill started.
    fn everything_shown(&self) -> String {
        String::from_utf8_lossy(&self.screen.0.lock().unwrap().bytes).into_owned()
    }

    fn run_dir(&self) -> PathBuf {
        std::fs::read_dir(self.runs.path()).unwrap().filter_map(Result::ok).map(|e| e.path()).max().expect("a run directory")
    }
}

impl Drop for Console {
    /// A failing test leaves no drill behind.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn journal(run_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn events<'a>(journal: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    journal.iter().filter(|r| r["event"] == kind).collect()
}

/// The events people's keys put in the journal.
const PEOPLE_EVENTS: [&str; 6] = ["step_acknowledged", "step_done", "step_skipped", "step_annotated", "team_observation", "operator_action_taken"];

#[test]
fn q_then_y_ends_the_drill_at_once_without_enter_and_reverts_the_fault() {
    let mut console = Console::start(&[]);
    console.wait_for("fault injected");
    console.keys("q");
    console.wait_for("end the drill and revert? press y to end, any other key to go on");
    // `y` alone, no Enter: the drill ends and the terminal closes.
    console.keys("y");
    assert_eq!(console.exit_code(), 130, "a drill ended from its console exits as interrupted");
    let journal = journal(&console.run_dir());
    assert_eq!(events(&journal, "interrupted")[0]["signal"], "the drill was ended from its console");
    let applied = events(&journal, "fault_applied").len();
    assert_eq!(applied, 1);
    assert_eq!(events(&journal, "fault_reverted").len(), applied, "every fault made is reverted: {journal:#?}");
    assert!(journal.last().is_some_and(|r| r["event"] == "run_ended"), "{journal:#?}");
    for kind in PEOPLE_EVENTS {
        assert!(events(&journal, kind).is_empty(), "`q`, `y` recorded {kind}");
    }
    // The default view is the trainees': the screen never named the fault, its kind or its targets.
    let shown = console.everything_shown();
    let intent = events(&journal, "fault_intent")[0];
    let targets: Vec<&str> = intent["targets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert!(!targets.is_empty());
    for secret in ["degrade-us-east-1", "gray_failure", "⚡"].iter().chain(&targets) {
        assert!(!shown.contains(secret), "the trainee console showed `{secret}`");
    }
}

#[test]
fn another_key_than_y_keeps_the_drill_going_and_is_no_command() {
    // The facilitator's console, which shows the fault.
    let mut console = Console::start(&["--view", "facilitator"]);
    console.wait_for("⚡ degrade-us-east-1      injected");
    console.keys("q");
    console.wait_for("press y to end, any other key to go on");
    // `d` answers the question (no), and does not mark step 1 done.
    console.keys("d");
    console.wait_for("keys: a ack · d done");
    console.keys("q");
    console.wait_for("press y to end");
    console.keys("y");
    assert_eq!(console.exit_code(), 130);
    let journal = journal(&console.run_dir());
    assert!(events(&journal, "step_done").is_empty(), "the `d` that answered the question is no command: {journal:#?}");
    assert_eq!(events(&journal, "fault_reverted").len(), 1);
}

#[test]
fn s_asks_why_records_the_reason_and_what_is_typed_is_never_a_command() {
    let mut console = Console::start(&[]);
    console.wait_for("fault injected");
    console.keys("s");
    console.wait_for("why skip this step? (Enter to skip, Esc to cancel)");
    // Every letter of the reason is a key of the console (d, a, n, o, u, x, q, s).
    let reason = "standby was checked at the stand-up; dns not ours to touch";
    console.keys(reason);
    console.wait_for(reason);
    console.keys("\r");
    console.wait_for("Step 1 skipped");
    console.wait_for("keys: a ack · d done");
    console.keys("q");
    console.wait_for("press y to end");
    console.keys("y");
    assert_eq!(console.exit_code(), 130);

    let run_dir = console.run_dir();
    let journal = journal(&run_dir);
    let skipped = events(&journal, "step_skipped");
    assert_eq!(skipped.len(), 1, "{journal:#?}");
    assert_eq!(skipped[0]["step"], 1);
    assert_eq!(skipped[0]["reason"], reason);
    for kind in PEOPLE_EVENTS.iter().filter(|k| **k != "step_skipped") {
        assert!(events(&journal, kind).is_empty(), "the reason's letters ran as commands ({kind}): {journal:#?}");
    }
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains(reason), "the report keeps the reason: {report}");
}

#[test]
fn a_refused_action_says_why_on_the_screen() {
    let mut console = Console::start(&[]);
    console.wait_for("fault injected");
    // Step 1 names no action: `x` then Enter (this step's action) is refused.
    console.keys("x");
    console.wait_for("action: Enter for this step's, or type a name (Esc to cancel)");
    console.keys("\r");
    console.wait_for("refused: step 1 names no action; name one (declared: fail-over-to-us-west-2, scale-standby)");
    // A name the scenario does not declare.
    console.keys("xrestart-everything\r");
    console.wait_for("refused: no operator action `restart-everything` (the scenario declares: fail-over-to-us-west-2, scale-standby)");
    console.keys("qy");
    assert_eq!(console.exit_code(), 130);
    let run_dir = console.run_dir();
    let journal = journal(&run_dir);
    assert!(events(&journal, "operator_action_taken").is_empty() && events(&journal, "operator_action_failed").is_empty(), "{journal:#?}");
    assert_eq!(events(&journal, "fault_reverted").len(), 1);
}
