//! Never leave a fault behind: kill -9 mid-run then `recover` (on a real
//! local service and against moto), SIGTERM, `halt`, and the environment lock.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::InstanceStateName;

use crate::fleet::Fleet;
use crate::local::Service;
use crate::moto::Moto;

/// The binary with its own state directory (halt file, locks) and extra env.
pub(crate) fn command(state: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gameday"));
    command.args(args).env("GAMEDAY_STATE_DIR", state).env_remove("RUST_LOG").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

pub(crate) fn output(mut command: Command) -> (i32, String, String) {
    let out = command.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Polls `check` until it holds (true) or `limit` passes (false). The limit
/// only bounds a failing test; a passing one waits for the condition alone.
pub(crate) fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Whether a process whose command line contains `needle` is running (a
/// fault's shell, say). Zombies do not count: `ps` shows them without
/// their arguments.
pub(crate) fn process_running(needle: &str) -> bool {
    let out = Command::new("ps").args(["-A", "-o", "args="]).output().expect("ps runs");
    String::from_utf8_lossy(&out.stdout).lines().any(|line| line.contains(needle))
}

/// A child's stderr as it comes: a test can wait for a line while the
/// child runs, and read all of it once the child is done.
pub(crate) struct LiveStderr {
    text: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl LiveStderr {
    pub(crate) fn of(child: &mut Child) -> LiveStderr {
        use std::io::Read;
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let filled = text.clone();
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buffer) {
                filled.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        LiveStderr { text, reader }
    }

    pub(crate) fn contains(&self, what: &str) -> bool {
        self.text.lock().unwrap().contains(what)
    }

    /// Everything, up to the end of the stream.
    pub(crate) fn all(self) -> String {
        self.reader.join().unwrap();
        self.text.lock().unwrap().clone()
    }
}

fn start_local_run(dir: &Path, service: &Service, duration: &str) -> Child {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, service.scenario("", duration)).unwrap();
    command(&dir.join("state"), &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", dir.join("runs").to_str().unwrap()], &[]).spawn().unwrap()
}

#[test]
fn after_kill_9_recover_puts_the_service_back_and_is_safe_twice() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path());
    let mut child = start_local_run(dir.path(), &service, "1m");
    assert!(wait_until(Duration::from_secs(20), || !service.is_up()), "the fault took the service down");
    child.kill().unwrap(); // SIGKILL: no revert, no cleanup
    child.wait().unwrap();
    // The revert is due in a minute, and only gameday would run it: nothing can start the service now.
    assert!(!service.is_up(), "killed mid-run, the fault stays in place");
    let (state, runs) = (dir.path().join("state"), dir.path().join("runs"));
    let runs = runs.to_str().unwrap();

    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs], &[]));
    assert_eq!(code, 8, "{stdout}");
    assert!(stdout.contains("stop (command) is still in place") && stdout.contains("did not finish"), "{stdout}");

    // The stale lock refuses a new game day until recovery.
    let file = dir.path().join("scenario.yaml");
    let (code, _, stderr) = output(command(&state, &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs], &[]));
    assert_eq!(code, 5);
    assert!(stderr.contains("did not finish") && stderr.contains("gameday recover"), "{stderr}");

    let (code, stdout, stderr) = output(command(&state, &["recover", "--runs-dir", runs, "--yes"], &[]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("reverted stop"), "{stdout}");
    assert!(service.comes_up(), "recover ran the revert command");

    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs], &[]));
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = output(command(&state, &["recover", "--runs-dir", runs, "--yes"], &[]));
    assert_eq!(code, 0);
    assert!(stdout.contains("nothing in place"), "a second recover does nothing: {stdout}");
}

#[test]
fn sigterm_stops_injecting_and_reverts() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path());
    let child = start_local_run(dir.path(), &service, "1m");
    assert!(wait_until(Duration::from_secs(20), || !service.is_up()));
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(service.comes_up(), "reverted on SIGTERM");
}

#[test]
fn halt_stops_running_game_days_and_refuses_new_ones_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let service = Service::start(dir.path());
    let child = start_local_run(dir.path(), &service, "1m");
    assert!(wait_until(Duration::from_secs(20), || !service.is_up()));
    let (code, stdout, _) = output(command(&state, &["halt", "--reason", "incident INC-42"], &[]));
    assert_eq!(code, 0);
    assert!(stdout.contains("signalled pid"), "{stdout}");
    let out = child.wait_with_output().unwrap();
    // docs/safety.md: a halted run ends with exit 5 and a `halt` stop record, not as interrupted.
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("aborted by guard halt"), "{}", String::from_utf8_lossy(&out.stdout));
    let run_dir = std::fs::read_dir(dir.path().join("runs")).unwrap().next().unwrap().unwrap().path();
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"stop_condition_tripped\"") && journal.contains("gameday halt") && !journal.contains("\"interrupted\""), "{journal}");
    assert!(service.comes_up(), "the halted game day reverted its fault");

    let file = dir.path().join("short.yaml");
    std::fs::write(&file, service.scenario("", "1s")).unwrap();
    let runs = dir.path().join("runs2");
    let (code, _, stderr) = output(command(&state, &["run", "scenarios/az-loss.yaml", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 5);
    assert!(stderr.contains("gameday is halted") && stderr.contains("incident INC-42"), "{stderr}");
    let (code, _, _) = output(command(&state, &["halt", "--clear"], &[]));
    assert_eq!(code, 0);
    let (code, stdout, _) = output(command(&state, &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn one_game_day_per_environment_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path());
    let mut first = start_local_run(dir.path(), &service, "1m");
    assert!(wait_until(Duration::from_secs(20), || !service.is_up()));
    let file = dir.path().join("scenario.yaml");
    let (code, _, stderr) =
        output(command(&dir.path().join("state"), &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", dir.path().join("runs").to_str().unwrap()], &[]));
    assert_eq!(code, 5);
    assert!(stderr.contains("environment `local` is in use"), "{stderr}");
    Command::new("kill").args(["-TERM", &first.id().to_string()]).status().unwrap();
    first.wait().unwrap();
    assert!(service.comes_up());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_against_moto_recover_restores_instances_acls_and_health_checks() {
    let moto = Moto::start();
    let fleet = Fleet::build(&moto.config().await, 6).await;
    let acls_before = fleet.acl_of_subnets().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let account = &moto.account;
    // The probe times out at 5 s, not 1 s: its one call to the shared moto server took over 1 s under load,
    // and a steady state that times out refuses the run (docs/performance.md, "Steadiness").
    let scenario = format!(
        "apiVersion: gameday/v1\nname: crash\nguards:\n  accounts: [\"{account}\"]\nsteady_state:\n  - {{ name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 0, interval: 5s, timeout: 5s }}\nfaults:\n  - {{ name: stop-two, kind: stop_instances, targets: {{ groups: [web-asg], count: 2 }}, duration: 5m }}\n  - {{ name: cut-a, kind: az_outage, zone: us-east-1a, mode: network, duration: 5m }}\n  - {{ name: flip, kind: dns_failover, hosted_zone: example.com, record: api.example.com, duration: 5m }}\nexpected_recoveries:\n  - {{ name: capacity, probes: [capacity], recovers_within: 5m }}\n"
    );
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, scenario).unwrap();
    let project = moto.project_with(dir.path(), &moto.account, "");
    let env = moto.env();
    let runs = dir.path().join("runs");
    let mut child = command(&state, &["run", file.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap(), "--yes", "--runs-dir", runs.to_str().unwrap()], &env)
        .spawn()
        .unwrap();
    let check = fleet.primary_health_check.clone();
    let started = Instant::now();
    loop {
        let stopped = fleet.states().await.values().filter(|s| **s == InstanceStateName::Stopped).count();
        if stopped == 2 && fleet.acl_of_subnets().await != acls_before && fleet.inverted(&check).await {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the three faults were made");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(fleet.running_in(&fleet.asg_instances).await, 4, "killed mid-run: still stopped");

    let (code, stdout, stderr) = output(command(&state, &["recover", "--runs-dir", runs.to_str().unwrap(), "--project", project.to_str().unwrap(), "--yes"], &env));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(fleet.running_in(&fleet.asg_instances).await, 6, "instances running again");
    assert_eq!(fleet.acl_of_subnets().await, acls_before, "ACL associations as before");
    assert!(!fleet.inverted(&check).await, "health check as before");
    let (code, stdout, _) = output(command(&state, &["recover", "--runs-dir", runs.to_str().unwrap(), "--project", project.to_str().unwrap(), "--yes"], &env));
    assert_eq!(code, 0);
    assert!(stdout.contains("nothing in place"), "{stdout}");
}

#[test]
fn a_third_interrupt_abandons_the_revert_and_says_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slow-revert.yaml");
    // The revert lasts far longer than the three interrupts take to arrive, however slow the machine;
    // it names this test's directory, so the test can end it once gameday has abandoned it.
    let revert = format!("sleep 60; rm -f {}", dir.path().join("abandoned").display());
    std::fs::write(
        &file,
        format!("apiVersion: gameday/v1\nname: slow-revert\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 100ms, timeout: 100ms }}\nfaults:\n  - {{ name: f, kind: command, inject: \"true\", revert: \"{revert}\", duration: 1m }}\nexpected_recoveries:\n  - {{ name: ok, probes: [ok], recovers_within: 1m }}\n"),
    )
    .unwrap();
    let runs = dir.path().join("runs");
    let mut child = command(&dir.path().join("state"), &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]).spawn().unwrap();
    let live = LiveStderr::of(&mut child);
    let journal_has = |what: &str| {
        std::fs::read_dir(&runs).ok().and_then(|mut d| d.next()).and_then(|e| std::fs::read_to_string(e.ok()?.path().join("journal.jsonl")).ok()).is_some_and(|t| t.contains(what))
    };
    assert!(wait_until(Duration::from_secs(20), || journal_has("\"fault_applied\"")));
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(wait_until(Duration::from_secs(10), || journal_has("\"revert_intent\"")), "the first interrupt starts the revert");
    // Each signal once the one before was taken: two sent together could arrive as one.
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(wait_until(Duration::from_secs(10), || live.contains("Press Ctrl-C once more to ABANDON")), "the second interrupt was not taken");
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    let stderr = live.all();
    assert_eq!(status.code(), Some(8), "{stderr}");
    assert!(stderr.contains("Press Ctrl-C once more to ABANDON"), "{stderr}");
    // Abandoned means left running: end it here, with its process group (its shell's command line names this test's directory).
    let shells = Command::new("pgrep").args(["-f", &revert]).output().map(|out| String::from_utf8_lossy(&out.stdout).into_owned()).unwrap_or_default();
    for pid in shells.split_whitespace().filter_map(|pid| pid.parse::<i32>().ok()) {
        unsafe { libc::kill(-pid, libc::SIGTERM) };
    }
    assert!(stderr.contains("revert ABANDONED") && stderr.contains("- f: end what the inject left running") && stderr.contains(&format!("run: {revert}")), "{stderr}");
}

/// Three interrupts while nothing is in place (here during the steady-state
/// check, before any fault): the third ends gameday at once, but there is
/// nothing to abandon, so it exits 130 (interrupted), not 8 (something may
/// still be broken), and releases the environment's lock: the next game day
/// is not refused. The journal renders as `gameday report` renders a crash.
#[test]
fn a_third_interrupt_with_nothing_in_place_exits_130_and_frees_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = dir.path().join("slow-steady.yaml");
    // The steady-state probe takes far longer than three interrupts take to arrive, however slow the machine.
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: slow-steady\nsteady_state:\n  - { name: slow, kind: command, run: \"sleep 20\", interval: 20s, timeout: 20s }\nfaults:\n  - { name: f, kind: command, inject: \"true\", revert: \"true\", duration: 1s }\nexpected_recoveries:\n  - { name: ok, probes: [slow], recovers_within: 1m }\n",
    )
    .unwrap();
    let runs = dir.path().join("runs");
    let mut child = command(&state, &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()], &[]).spawn().unwrap();
    let live = LiveStderr::of(&mut child);
    assert!(wait_until(Duration::from_secs(20), || live.contains("gameday: running `slow-steady`")), "{}", live.all());
    let pid = child.id().to_string();
    // Each signal once the one before was taken: two sent together could arrive as one.
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(wait_until(Duration::from_secs(10), || live.contains("gameday: interrupted")), "{}", live.all());
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(wait_until(Duration::from_secs(10), || live.contains("Press Ctrl-C once more")), "{}", live.all());
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    let stderr = live.all();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("nothing is left in place"), "{stderr}");
    assert!(!state.join("locks/local.lock").exists(), "the lock is released: {stderr}");
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}");
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let (code, _, stderr) = output(command(&state, &["report", run_dir.to_str().unwrap()], &[]));
    assert!(code == 0 || code == 7, "the journal renders: {code}\n{stderr}");
    assert!(run_dir.join("report.md").exists());
}

/// A signal that comes early, once gameday is confirmed but before it has
/// made its run directory and taken the lock, is gameday's to handle: the
/// run stops before injecting and exits 130, and neither the lock nor a
/// fault is left. (gameday listened only after taking the lock, so such a
/// signal ended it by default action, holding the lock: the next run was
/// refused as though faults were in place.) The test holds gameday at that
/// point with `GAMEDAY_TEST_HOLD_BEFORE_RUN_DIR`.
#[test]
fn a_signal_before_the_run_directory_exists_stops_the_run_and_leaves_no_lock() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (marker, go) = (dir.path().join("marker"), dir.path().join("go"));
    let file = dir.path().join("early.yaml");
    std::fs::write(
        &file,
        format!("apiVersion: gameday/v1\nname: early\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 100ms, timeout: 100ms }}\nfaults:\n  - {{ name: f, kind: command, inject: \"touch {m}\", revert: \"rm -f {m}\", duration: 1m }}\nexpected_recoveries:\n  - {{ name: ok, probes: [ok], recovers_within: 1m }}\n", m = marker.display()),
    )
    .unwrap();
    let runs = dir.path().join("runs");
    let mut child = command(
        &state,
        &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()],
        &[("GAMEDAY_TEST_HOLD_BEFORE_RUN_DIR", go.to_str().unwrap())],
    )
    .spawn()
    .unwrap();
    let live = LiveStderr::of(&mut child);
    assert!(wait_until(Duration::from_secs(20), || dir.path().join("go.waiting").exists()), "{}", live.all());
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    std::fs::write(&go, "").unwrap();
    let status = child.wait().unwrap();
    let stderr = live.all();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!marker.exists(), "no fault left: {stderr}");
    assert!(!state.join("locks/local.lock").exists(), "the lock is released: {stderr}");
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn a_crashed_simulator_run_is_recovered_from_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let runs = dir.path().join("runs");
    let (code, _, _) = output(command(&state, &["run", "scenarios/az-loss.yaml", "--seed", "1", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0);
    // Cut the journal where the process would have died: right after the fault was made.
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    let cut: Vec<&str> = journal.lines().take_while(|l| !l.contains("\"fault_applied\"")).chain(journal.lines().filter(|l| l.contains("\"fault_applied\"")).take(1)).collect();
    std::fs::write(run_dir.join("journal.jsonl"), cut.join("\n") + "\n").unwrap();
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 8, "{stdout}");
    let (code, stdout, stderr) = output(command(&state, &["recover", run_dir.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("reverted power-off-use1a"), "{stdout}");
    // The simulated region ended with the run's process: nothing of it is in place, and recover says why.
    assert!(stdout.contains("already gone: the simulated region (the fault is not in place there: "), "{stdout}");
    let (code, _, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0);
}

#[test]
fn after_kill_9_on_the_simulator_status_and_recover_settle_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let runs = dir.path().join("runs");
    // A day-long fault sampled ten times a second keeps the simulator busy long enough to kill it mid-run.
    let file = dir.path().join("long.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: long\nsteady_state:\n  - { name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 6, interval: 100ms, timeout: 100ms }\nfaults:\n  - { name: stop-workers, kind: stop_instances, targets: { tags: { app: worker } }, duration: 24h }\nexpected_recoveries:\n  - { name: capacity, probes: [capacity], recovers_within: 24h }\n",
    )
    .unwrap();
    let mut child = command(&state, &["run", file.to_str().unwrap(), "--seed", "1", "--runs-dir", runs.to_str().unwrap()], &[]).spawn().unwrap();
    let journal_has = |what: &str| {
        std::fs::read_dir(&runs).ok().and_then(|mut d| d.next()).and_then(|e| std::fs::read_to_string(e.ok()?.path().join("journal.jsonl")).ok()).is_some_and(|t| t.contains(what))
    };
    assert!(wait_until(Duration::from_secs(30), || journal_has("\"fault_applied\"")), "the fault was made");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!journal_has("\"run_ended\""), "killed mid-run");
    let (code, stdout, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 8, "{stdout}");
    assert!(stdout.contains("stop-workers (stop_instances) is still in place"), "{stdout}");
    let (code, stdout, stderr) = output(command(&state, &["recover", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, _, _) = output(command(&state, &["status", "--runs-dir", runs.to_str().unwrap()], &[]));
    assert_eq!(code, 0);
}
