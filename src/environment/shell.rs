//! Shell commands for `command` faults: the one side effect every
//! environment shares, kept at this edge. Async, so probes running beside
//! it on the same runtime are never held up.

use std::time::Duration;

use tokio::process::Command;

/// A command that has not finished in this long is killed and counts as failed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// Runs `sh -c COMMAND` and fails with its stderr when it exits non-zero.
pub async fn run(command: &str) -> Result<String, super::EnvError> {
    let child = Command::new("sh").arg("-c").arg(command).stdin(std::process::Stdio::null()).kill_on_drop(true).output();
    let output = match tokio::time::timeout(COMMAND_TIMEOUT, child).await {
        Ok(result) => result.map_err(|e| super::EnvError::Failed(format!("could not start `sh -c {command}`: {e}")))?,
        Err(_) => return Err(super::EnvError::Failed(format!("`{command}` did not finish within {} s and was killed", COMMAND_TIMEOUT.as_secs()))),
    };
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(super::EnvError::Failed(format!("`{command}` exited with {}: {}", output.status.code().map_or("a signal".to_string(), |c| c.to_string()), stderr.trim())))
    }
}
