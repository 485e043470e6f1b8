//! Shell commands for `command` faults: the one side effect every
//! environment shares, kept at this edge.

use std::process::Command;

/// Runs `sh -c COMMAND` and fails with its stderr when it exits non-zero.
pub fn run(command: &str) -> Result<String, super::EnvError> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .output()
        .map_err(|e| super::EnvError::Failed(format!("could not start `sh -c {command}`: {e}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(super::EnvError::Failed(format!("`{command}` exited with {}: {}", output.status.code().map_or("a signal".to_string(), |c| c.to_string()), stderr.trim())))
    }
}
