//! The machine-wide emergency stop and the per-environment lock.
//!
//! Both live in gameday's state directory (`$GAMEDAY_STATE_DIR`, else
//! `$XDG_STATE_HOME/gameday`, else `~/.local/state/gameday`):
//! - `halt`: while it exists, running game days stop and revert, and none may
//!   start (`gameday halt`, `gameday halt --clear`);
//! - `locks/<environment>.lock`: who is running a game day against an
//!   environment (pid, scenario, run directory), so two cannot run at once.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GAMEDAY_STATE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("gameday");
    }
    std::env::var_os("HOME").map_or_else(|| PathBuf::from(".gameday-state"), |home| PathBuf::from(home).join(".local/state/gameday"))
}

pub fn halt_file() -> PathBuf {
    state_dir().join("halt")
}

/// Who halted, when and why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Halt {
    pub at: String,
    pub by: String,
    pub reason: String,
}

pub fn halt(reason: &str) -> std::io::Result<Halt> {
    std::fs::create_dir_all(state_dir())?;
    let halt = Halt { at: jiff::Timestamp::now().to_string(), by: whoami(), reason: reason.to_string() };
    std::fs::write(halt_file(), serde_json::to_string_pretty(&halt).unwrap_or_default())?;
    Ok(halt)
}

pub fn halted() -> Option<Halt> {
    let text = std::fs::read_to_string(halt_file()).ok()?;
    Some(serde_json::from_str(&text).unwrap_or(Halt { at: String::new(), by: String::new(), reason: text }))
}

pub fn clear_halt() -> std::io::Result<bool> {
    match std::fs::remove_file(halt_file()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn whoami() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into())
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LockInfo {
    pub pid: u32,
    pub scenario: String,
    pub run_dir: PathBuf,
    pub since: String,
}

/// Held while a game day runs against an environment; released on drop.
pub struct EnvironmentLock {
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("environment `{environment}` is in use: pid {} runs `{}` since {} (run directory {})", holder.pid, holder.scenario, holder.since, holder.run_dir.display())]
    Busy { environment: String, holder: LockInfo },
    #[error("a game day against `{environment}` did not finish (pid {} is gone): faults may still be in place; run `gameday recover {}`, which also releases the lock", holder.pid, holder.run_dir.display())]
    Stale { environment: String, holder: LockInfo },
    #[error("could not take the lock {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

pub fn lock_path(environment: &str) -> PathBuf {
    let safe: String = environment.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    state_dir().join("locks").join(format!("{safe}.lock"))
}

pub fn read_lock(environment: &str) -> Option<LockInfo> {
    serde_json::from_str(&std::fs::read_to_string(lock_path(environment)).ok()?).ok()
}

/// Every environment lock in the state directory, by environment file name.
pub fn all_locks() -> Vec<(String, LockInfo)> {
    let mut locks: Vec<(String, LockInfo)> = std::fs::read_dir(state_dir().join("locks"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let environment = entry.path().file_stem()?.to_str()?.to_string();
            let holder = serde_json::from_str(&std::fs::read_to_string(entry.path()).ok()?).ok()?;
            Some((environment, holder))
        })
        .collect();
    locks.sort_by(|a, b| a.0.cmp(&b.0));
    locks
}

pub fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

impl EnvironmentLock {
    /// Takes the lock, atomically (create-new), or says who holds it.
    pub fn acquire(environment: &str, scenario: &str, run_dir: &Path) -> Result<EnvironmentLock, LockError> {
        let path = lock_path(environment);
        let io = |source| LockError::Io { path: path.clone(), source };
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).map_err(io)?;
        // Absolute: `recover` and `status` may be started from anywhere.
        let run_dir = std::path::absolute(run_dir).unwrap_or_else(|_| run_dir.to_path_buf());
        let info = LockInfo { pid: std::process::id(), scenario: scenario.to_string(), run_dir, since: jiff::Timestamp::now().to_string() };
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(serde_json::to_string_pretty(&info).unwrap_or_default().as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(EnvironmentLock { path })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = read_lock(environment).unwrap_or(LockInfo { pid: 0, scenario: "?".into(), run_dir: PathBuf::from("?"), since: "?".into() });
                if holder.pid != 0 && process_alive(holder.pid) {
                    Err(LockError::Busy { environment: environment.to_string(), holder })
                } else {
                    Err(LockError::Stale { environment: environment.to_string(), holder })
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Releases a lock whose holder is gone (after `recover`).
    pub fn release_stale(environment: &str) -> bool {
        match read_lock(environment) {
            Some(holder) if !process_alive(holder.pid) => std::fs::remove_file(lock_path(environment)).is_ok(),
            _ => false,
        }
    }
}

/// Releases the environment's lock if this process holds it: for an exit
/// that skips the holder's drop (the third interrupt, with nothing left in
/// place). Another process's lock is left alone.
pub fn release_own(environment: &str) -> bool {
    match read_lock(environment) {
        Some(holder) if holder.pid == std::process::id() => std::fs::remove_file(lock_path(environment)).is_ok(),
        _ => false,
    }
}

impl EnvironmentLock {
    /// Keeps the lock after this process ends: a run that left a fault in
    /// place (exit 8) must hold its environment until `gameday recover`.
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for EnvironmentLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
