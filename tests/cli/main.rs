//! End-to-end tests: the real `gameday` binary on the built-in simulator,
//! on this machine (`local`), against moto server and against mocked SDK
//! clients. All CLI tests compile into this one binary (one link, one build).

mod arc_binary;
mod arc_standin;
mod aws;
mod aws_mocks;
mod aws_side_tools;
mod console;
mod cross_zone;
mod damaged;
mod databases;
mod databases_fis;
mod dns_failover;
mod drill;
mod error_budget;
mod evidence;
mod fis_endings;
mod fleet;
mod guard_properties;
mod http_probe;
mod import_alarms;
mod local;
mod measure;
mod moto;
mod objectives;
mod panic;
mod pipes;
mod plan;
mod practice_run;
mod region_isolation;
mod region_switch;
mod report;
mod report_formats;
mod run;
mod safety;
mod schema;
mod secrets;
mod side_tools;
mod timestamps;
mod trust;
mod twin;
mod validate;

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary from the repository root.
pub fn gameday(args: &[&str]) -> Output {
    gameday_with(args, &[])
}

/// As `gameday`, with more environment variables (e.g. `GAMEDAY_TEST_NOW`).
pub fn gameday_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    // Each invocation its own state directory: locks and halts of parallel tests must not meet.
    let state = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GAMEDAY_STATE_DIR", state.path())
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .expect("the gameday binary runs");
    Output { code: output.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&output.stdout).into_owned(), stderr: String::from_utf8_lossy(&output.stderr).into_owned() }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A finished simulator run: its output and what it wrote.
pub struct Run {
    pub output: Output,
    pub dir: PathBuf,
    pub result: serde_json::Value,
    pub journal: Vec<serde_json::Value>,
    pub report: String,
}

impl Run {
    pub fn events(&self, kind: &str) -> Vec<&serde_json::Value> {
        self.journal.iter().filter(|r| r["event"] == kind).collect()
    }
    pub fn expectation(&self, name: &str) -> &serde_json::Value {
        self.result["expectations"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("no expectation {name} in {}", self.result))
    }
}

/// Writes `yaml` to a fresh file and runs `gameday ARGS FILE`.
pub fn gameday_on_file(args: &[&str], yaml: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let mut all = args.to_vec();
    all.push(file.to_str().unwrap());
    gameday(&all)
}

/// Runs a scenario file on the simulator into a fresh runs directory.
pub fn run_scenario(file: &Path, extra: &[&str], runs: &Path) -> Run {
    run_scenario_with(file, extra, runs, &[])
}

/// As `run_scenario`, with more environment variables for the binary.
pub fn run_scenario_with(file: &Path, extra: &[&str], runs: &Path, env: &[(&str, &str)]) -> Run {
    let mut args = vec!["run", file.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = gameday_with(&args, env);
    let dir = std::fs::read_dir(runs)
        .unwrap_or_else(|e| panic!("no runs dir: {e}\nstdout: {}\nstderr: {}", output.stdout, output.stderr))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .max()
        .expect("a run directory");
    // A result.json that does not parse (once found empty under load 11) reads as Null, so the test's own
    // assertion on the exit code shows what the binary said instead of a bare parse error.
    let result = std::fs::read_to_string(dir.join("result.json")).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(serde_json::Value::Null);
    let journal = std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e} in the journal line {l:?}\nstdout: {}\nstderr: {}", output.stdout, output.stderr)))
        .collect();
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap_or_default();
    Run { output, dir, result, journal, report }
}

/// Writes a scenario from parts and runs it with `--seed 1`.
pub fn run_yaml(yaml: &str) -> Run {
    let dir = tempfile::tempdir().unwrap().keep();
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    run_scenario(&file, &["--seed", "1"], &dir.join("runs"))
}

/// A scenario with the given steady state, faults and expectations (YAML
/// list items, indented by two spaces) and optional guards.
pub fn scenario(guards: &str, probes: &str, faults: &str, expectations: &str) -> String {
    format!("apiVersion: gameday/v1\nname: test\nguards:\n{guards}\n  max_duration: 2h\nsteady_state:\n{probes}\nfaults:\n{faults}\nexpected_recoveries:\n{expectations}\n")
}

/// A port of 127.0.0.1 that refuses connections for as long as this value
/// lives: a TCP socket bound to it and never listening. Binding and closing
/// a listener would free the port for the next test to take; this keeps it.
pub struct ClosedPort {
    /// Held, never read: closing it would free the port.
    _socket: std::os::fd::OwnedFd,
    pub port: u16,
}

impl ClosedPort {
    pub fn reserve() -> ClosedPort {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket calls on a descriptor this function owns; every result is checked.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let socket = std::os::fd::OwnedFd::from_raw_fd(fd);
            let mut address: libc::sockaddr_in = std::mem::zeroed();
            address.sin_family = libc::AF_INET as libc::sa_family_t;
            address.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            assert_eq!(libc::bind(fd, (&raw const address).cast(), size), 0, "bind: {}", std::io::Error::last_os_error());
            let mut length = size;
            assert_eq!(libc::getsockname(fd, (&raw mut address).cast(), &mut length), 0, "getsockname: {}", std::io::Error::last_os_error());
            ClosedPort { _socket: socket, port: u16::from_be(address.sin_port) }
        }
    }
}
