//! Shell commands for `command` faults and `command` probes: the one side
//! effect every environment shares, kept at this edge, and the one reader
//! of `${env:NAME}` (in commands, and in probe URLs and headers). Async, so
//! probes running beside it on the same runtime are never held up.
//!
//! Every command runs in a POSIX session of its own (`setsid`):
//! - the terminal's Ctrl-C goes to gameday only, so a revert in flight is
//!   never killed by the keypress that asked for it;
//! - the whole process tree can be ended as one group, when a command times
//!   out or when a run is cancelled while its inject is still running;
//! - each process of a fault carries `GAMEDAY_COMMAND=<token>:<phase>` in its
//!   environment, so `gameday recover` finds an inject orphaned by a
//!   kill -9 and ends it before reverting (a recycled pid never matches).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::{EnvError, RevertOutcome};
use crate::vocab::{EnvPiece, env_pieces};

/// A command that has not finished in this long is killed and counts as failed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// How long an orphaned inject gets to end on SIGTERM before SIGKILL.
const ORPHAN_GRACE: Duration = Duration::from_secs(2);

/// The environment variable that marks gameday's command processes.
pub const MARKER_VARIABLE: &str = "GAMEDAY_COMMAND";

/// Where and how a fault's commands run, journaled with the fault, so that
/// `gameday recover`, started anywhere, runs the revert as the run would.
/// Values of environment variables are never stored, only their names.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CommandContext {
    /// The run's working directory.
    pub cwd: PathBuf,
    /// The run's `PATH`, so the same programs are found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Variables the commands read with `${env:NAME}`: they must be set
    /// wherever the commands run; their values are never written down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads_env: Vec<String>,
    /// Marks this fault's processes (`GAMEDAY_COMMAND=<token>:inject`).
    pub token: String,
}

impl CommandContext {
    /// The context of the current process, for a fault with these commands.
    pub fn capture(inject: &str, revert: &str) -> CommandContext {
        let mut reads_env: Vec<String> = env_references(inject).into_iter().chain(env_references(revert)).collect();
        reads_env.sort();
        reads_env.dedup();
        CommandContext { cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")), path: std::env::var("PATH").ok(), reads_env, token: new_token(inject) }
    }
}

/// A token no other fault shares: time, pid and the command, hashed.
fn new_token(inject: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::time::SystemTime::now().hash(&mut hasher);
    std::process::id().hash(&mut hasher);
    inject.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// The names in `${env:NAME}` references.
pub fn env_references(command: &str) -> Vec<String> {
    env_pieces(command)
        .into_iter()
        .filter_map(|piece| match piece {
            EnvPiece::Env(name) => Some(name.to_string()),
            EnvPiece::Text(_) => None,
        })
        .collect()
}

/// The text with each `${env:NAME}` replaced by `NAME`'s value now (empty
/// when unset), for probe URLs and headers, read at the moment the request
/// is made.
pub fn expand_env(text: &str) -> String {
    env_pieces(text)
        .into_iter()
        .map(|piece| match piece {
            EnvPiece::Text(text) => text.to_string(),
            EnvPiece::Env(name) => std::env::var(name).unwrap_or_default(),
        })
        .collect()
}

/// Fails when `command` reads a `${env:NAME}` that is not a variable name
/// or is not set here: an unset variable is an error, not an empty string.
pub fn check_references(command: &str) -> Result<(), EnvError> {
    for name in env_references(command) {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(EnvError::Failed(format!("`${{env:{name}}}` in `{command}` is not a variable name (letters, digits and `_`)")));
        }
        if std::env::var_os(&name).is_none() {
            return Err(EnvError::Failed(format!("`{command}` reads `${{env:{name}}}`, but {name} is not set here: set it and try again")));
        }
    }
    Ok(())
}

/// `${env:NAME}` becomes the shell's own `${NAME}`: the shell reads the
/// value from its environment, so it is never in gameday's memory, the
/// journal or the process's command line.
fn shell_text(command: &str) -> Result<String, EnvError> {
    check_references(command)?;
    Ok(shell_syntax(command))
}

/// The command as a shell reads it (`${env:NAME}` as `${NAME}`), e.g. for
/// a manual step a person pastes into a shell.
pub fn shell_syntax(command: &str) -> String {
    env_pieces(command)
        .into_iter()
        .map(|piece| match piece {
            EnvPiece::Text(text) => text.to_string(),
            EnvPiece::Env(name) => format!("${{{name}}}"),
        })
        .collect()
}

/// Which command of a fault runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Inject,
    Revert,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Inject => "inject",
            Phase::Revert => "revert",
        }
    }
}

/// Ends the whole session of a child when dropped: on a timeout, a
/// cancelled run, or a panic, nothing it started keeps running.
struct SessionGuard {
    pgid: Option<i32>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            signal_group(pgid, libc::SIGKILL);
        }
    }
}

fn signal_group(pgid: i32, signal: i32) {
    send_signal(Signalled::Group(pgid), signal);
}

/// Whom a signal goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signalled {
    /// One process (another gameday holding an environment's lock).
    Process(u32),
    /// A whole process group (a command's session, led by `pgid`).
    Group(i32),
}

/// The one way gameday signals processes: kill(2), never a spawned `kill`.
/// Pids 0 and 1 (and so -1, "every process") are never signalled, whatever
/// a lock file or `/proc` says. Returns whether the signal was delivered.
pub fn send_signal(to: Signalled, signal: libc::c_int) -> bool {
    let pid = match to {
        Signalled::Process(pid) => i32::try_from(pid).ok().filter(|pid| *pid > 1),
        Signalled::Group(pgid) => (pgid > 1).then_some(-pgid),
    };
    let Some(pid) = pid else { return false };
    // SAFETY: kill(2) takes two integers and touches no memory of ours; a
    // negative pid signals that process group.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// The one way gameday starts a shell: `sh -c COMMAND` (its `${env:NAME}`
/// read by the shell), stdin closed, in a session of its own; a fault's
/// command runs where the run ran it and carries its marker. Returns the
/// output whatever the exit status. Dropping the future (a probe's timeout,
/// a cancelled run) ends the whole session.
pub async fn output(command: &str, fault: Option<(&CommandContext, Phase)>) -> Result<std::process::Output, EnvError> {
    let text = shell_text(command)?;
    let mut child = Command::new("sh");
    child.arg("-c").arg(&text).stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).kill_on_drop(true);
    if let Some((context, phase)) = fault {
        child.current_dir(&context.cwd).env(MARKER_VARIABLE, format!("{}:{}", context.token, phase.name()));
        if let Some(path) = &context.path {
            child.env("PATH", path);
        }
    }
    // SAFETY: setsid is async-signal-safe and touches no memory of ours.
    unsafe {
        child.pre_exec(|| if libc::setsid() == -1 { Err(std::io::Error::last_os_error()) } else { Ok(()) });
    }
    let spawned = child.spawn().map_err(|e| EnvError::Failed(format!("could not start `sh -c {command}`: {e}")))?;
    // The child leads its own session: its pid is the group's id.
    let mut guard = SessionGuard { pgid: spawned.id().and_then(|id| i32::try_from(id).ok()) };
    let output = spawned.wait_with_output().await.map_err(|e| EnvError::Failed(format!("could not run `sh -c {command}`: {e}")))?;
    // The shell is done; whatever it left running in the background
    // (`… &`, a daemon it started) is the command's, and stays.
    guard.pgid = None;
    Ok(output)
}

/// Runs a fault's command (or another that must succeed) and fails with
/// its stderr when it exits non-zero or takes longer than `COMMAND_TIMEOUT`.
pub async fn run(command: &str, context: Option<&CommandContext>, phase: Phase) -> Result<String, EnvError> {
    let output = match tokio::time::timeout(COMMAND_TIMEOUT, output(command, context.map(|context| (context, phase)))).await {
        Ok(output) => output?,
        Err(_) => return Err(EnvError::Failed(format!("`{command}` did not finish within {} s and was killed", COMMAND_TIMEOUT.as_secs()))),
    };
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let how = output.status.code().map_or("a signal".to_string(), |c| c.to_string());
        Err(EnvError::Failed(match stderr.trim() {
            "" => format!("`{command}` exited with {how} (nothing on stderr)"),
            said => format!("`{command}` exited with {how}: {said}"),
        }))
    }
}

/// Makes a `command` fault: runs its inject.
pub async fn inject(inject: &str, context: Option<&CommandContext>) -> Result<(), EnvError> {
    run(inject, context, Phase::Inject).await.map(|_| ())
}

/// Undoes a `command` fault: first ends any inject of it still running (an
/// orphan of a crashed run would otherwise redo the fault after the
/// revert), then runs its revert.
pub async fn revert(revert: &str, context: Option<&CommandContext>) -> Result<RevertOutcome, EnvError> {
    let mut outcome = RevertOutcome::default();
    if let Some(context) = context {
        let ended = end_orphans(&context.token, Phase::Inject).await;
        if !ended.is_empty() {
            outcome.restored.push(format!("ended the inject still running (process group {})", ended.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")));
        }
    }
    run(revert, context, Phase::Revert).await?;
    outcome.restored.push(format!("`{revert}`"));
    Ok(outcome)
}

/// Process groups of processes marked `GAMEDAY_COMMAND=<token>:<phase>`.
fn marked_groups(token: &str, phase: Phase) -> Vec<i32> {
    let marker = format!("{MARKER_VARIABLE}={token}:{}", phase.name());
    let mut groups: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes())))
        .filter_map(process_group)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// The process group of `pid` (field 5 of /proc/PID/stat).
fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields
    // are counted after its closing parenthesis.
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(2)?.parse().ok()
}

/// Ends every process group still running `phase` of this fault: SIGTERM,
/// then SIGKILL after a grace. Returns the groups it found.
pub async fn end_orphans(token: &str, phase: Phase) -> Vec<i32> {
    let groups = marked_groups(token, phase);
    for pgid in &groups {
        signal_group(*pgid, libc::SIGTERM);
    }
    let deadline = tokio::time::Instant::now() + ORPHAN_GRACE;
    while !marked_groups(token, phase).is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for pgid in marked_groups(token, phase) {
        signal_group(pgid, libc::SIGKILL);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_reaches_the_process_named_and_never_pid_0_or_1() {
        let mut child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
        assert!(send_signal(Signalled::Process(child.id()), libc::SIGTERM));
        let status = child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGTERM), "{status:?}");
        // Signal 0 only checks; these would reach this test's group, init, or every process.
        for to in [Signalled::Process(0), Signalled::Process(1), Signalled::Group(0), Signalled::Group(1), Signalled::Group(-1), Signalled::Process(u32::MAX)] {
            assert!(!send_signal(to, 0), "{to:?}");
        }
    }

    #[test]
    fn env_references_become_shell_variables_and_unset_ones_fail() {
        // SAFETY: a variable only this test reads.
        unsafe { std::env::set_var("GAMEDAY_SHELL_TEST_TOKEN", "s3cr3t") };
        assert_eq!(env_references("curl -H \"X: ${env:GAMEDAY_SHELL_TEST_TOKEN}\" ${env:B}"), vec!["GAMEDAY_SHELL_TEST_TOKEN", "B"]);
        assert_eq!(shell_text("echo ${env:GAMEDAY_SHELL_TEST_TOKEN}").unwrap(), "echo ${GAMEDAY_SHELL_TEST_TOKEN}");
        let error = shell_text("echo ${env:GAMEDAY_SHELL_TEST_UNSET}").unwrap_err().to_string();
        assert!(error.contains("GAMEDAY_SHELL_TEST_UNSET is not set"), "{error}");
    }

    #[test]
    fn the_process_group_is_read_after_the_command_name() {
        assert_eq!(process_group(std::process::id() as i32), Some(unsafe { libc::getpgrp() }));
    }
}
