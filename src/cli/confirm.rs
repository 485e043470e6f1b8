//! The confirmations a real side effect needs: `--yes` or the scenario's
//! name typed at a terminal, and `--confirm recovery` for a real disaster
//! recovery. Without a terminal and without them, refused before anything is
//! touched.

use std::io::IsTerminal;

use super::failure::Failure;
use super::target::Target;

/// Anything but the simulator touches real systems: it needs `--yes`, or the
/// scenario's name typed at a prompt. Without a terminal and without
/// `--yes`, it is refused before any side effect.
pub(super) fn confirm(target: &Target, scenario: &str, yes: bool) -> Result<(), Failure> {
    if target.is_simulator() || yes {
        return Ok(());
    }
    ask_for_name(
        &format!("run `{scenario}` against {}", target.describe()),
        &format!("This runs `{scenario}` against {}: faults will be injected for real.", target.describe()),
        scenario,
    )
}

/// A `region_switch` step in `mode: recovery` is a real disaster recovery:
/// it runs only when the scenario says so and `--confirm recovery` names
/// it; `--yes` is not enough. Asked on the simulator too, so a rehearsal
/// asks of people what the real run will.
pub(super) fn confirm_recovery(scenario: &crate::scenario::Scenario, confirm_text: Option<&str>) -> Result<(), Failure> {
    let recovery: Vec<&str> = scenario
        .faults
        .iter()
        .filter(|f| matches!(f.action, crate::scenario::FaultAction::RegionSwitch { mode: crate::scenario::RegionSwitchMode::Recovery, .. }))
        .map(|f| f.name.as_str())
        .collect();
    if recovery.is_empty() || confirm_text == Some("recovery") {
        return Ok(());
    }
    Err(Failure::Refused(format!(
        "refusing to run: step `{}` executes its Region switch plan in `mode: recovery` (a real disaster recovery), and the run was not confirmed for it\n  = hint: pass --confirm recovery, or use `mode: practice` to rehearse",
        recovery.join("`, `")
    )))
}

/// Asks for the scenario's name at a terminal before touching `what`.
pub(super) fn confirm_by_name(what: &str, scenario: &str) -> Result<(), Failure> {
    ask_for_name(&format!("touch {what}"), &format!("This reverts faults of `{scenario}` on {what}."), scenario)
}

/// The typed confirmation: refused without a terminal; `action` completes
/// "refusing to …", `warning` is shown before the prompt.
fn ask_for_name(action: &str, warning: &str, scenario: &str) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Refused(format!("refusing to {action} without confirmation\n  = hint: pass --yes to confirm (stdin is not a terminal, so gameday cannot ask)")));
    }
    eprint!("{warning}\nType the scenario name to continue: ");
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if answer.trim() == scenario { Ok(()) } else { Err(Failure::Refused(format!("confirmation did not match `{scenario}`; nothing was done"))) }
}
