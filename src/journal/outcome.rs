//! How a run ended, as the journal's last record (`run_ended`) holds it and
//! as the exit code reports it.

use serde::{Deserialize, Serialize};

use crate::exit_code;
use crate::vocab::GuardName;

/// How a run ended. A revert that could not complete overrides any other
/// outcome; a missed expectation is only reported when nothing else went wrong.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    HypothesisHeld,
    RecoveryMissed {
        expectations: Vec<String>,
    },
    AbortedByGuard {
        guard: GuardName,
        detail: String,
    },
    FaultNotEffective {
        fault: String,
        reason: String,
    },
    EnvironmentError {
        message: String,
    },
    Interrupted,
    RevertIncomplete {
        faults: Vec<String>,
        detail: String,
    },
    /// The journal could not be written: the run stopped injecting and
    /// reverted. `unrecorded`: faults reverted, but whose revert the journal
    /// on disk lacks, so it still shows them in place.
    JournalFailed {
        error: String,
        unrecorded: Vec<UnrecordedRevert>,
    },
}

/// A fault that was reverted although the journal on disk does not say so.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UnrecordedRevert {
    pub fault: String,
    /// How a person confirms by hand that it is undone.
    pub manual_steps: Vec<String>,
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::HypothesisHeld => exit_code::SUCCESS,
            Outcome::RecoveryMissed { .. } => exit_code::RECOVERY_MISSED,
            Outcome::AbortedByGuard { .. } => exit_code::ABORTED_BY_GUARD,
            Outcome::FaultNotEffective { .. } => exit_code::FAULT_NOT_EFFECTIVE,
            Outcome::EnvironmentError { .. } => exit_code::ENVIRONMENT_ERROR,
            Outcome::Interrupted => exit_code::INTERRUPTED,
            Outcome::RevertIncomplete { .. } => exit_code::REVERT_INCOMPLETE,
            // A journal that shows a reverted fault in place misleads `status`
            // and `recover`: a person must confirm, as after a failed revert.
            Outcome::JournalFailed { unrecorded, .. } if !unrecorded.is_empty() => exit_code::REVERT_INCOMPLETE,
            Outcome::JournalFailed { .. } => exit_code::ENVIRONMENT_ERROR,
        }
    }

    /// The outcome's name as result.json and the journal write it
    /// (`hypothesis_held`, `recovery_missed`, …): for tags and file names.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::HypothesisHeld => "hypothesis_held",
            Outcome::RecoveryMissed { .. } => "recovery_missed",
            Outcome::AbortedByGuard { .. } => "aborted_by_guard",
            Outcome::FaultNotEffective { .. } => "fault_not_effective",
            Outcome::EnvironmentError { .. } => "environment_error",
            Outcome::Interrupted => "interrupted",
            Outcome::RevertIncomplete { .. } => "revert_incomplete",
            Outcome::JournalFailed { .. } => "journal_failed",
        }
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        match self {
            Outcome::HypothesisHeld => "hypothesis held: every expected recovery was met".into(),
            Outcome::RecoveryMissed { expectations } => format!("recovery missed: {}", expectations.join("; ")),
            Outcome::AbortedByGuard { guard, detail } => format!("aborted by guard {guard}: {detail}"),
            Outcome::FaultNotEffective { fault, reason } => format!("fault `{fault}` did not take effect: {reason}"),
            Outcome::EnvironmentError { message } => format!("environment error: {message}"),
            Outcome::Interrupted => "interrupted: every fault was reverted".into(),
            Outcome::RevertIncomplete { faults, detail } => format!("REVERT INCOMPLETE for {}: {detail}", faults.join(", ")),
            Outcome::JournalFailed { error, unrecorded } if unrecorded.is_empty() => {
                format!("the journal could not be written ({error}): the run stopped injecting and every fault was reverted")
            }
            Outcome::JournalFailed { error, unrecorded } => format!(
                "JOURNAL INCOMPLETE: {error}. Every fault was reverted, but the journal on disk still shows {} in place. Confirm by hand: {}. Then, once the disk has room, `gameday recover` settles the journal (reverts are idempotent)",
                unrecorded.iter().map(|u| format!("`{}`", u.fault)).collect::<Vec<_>>().join(", "),
                unrecorded.iter().map(|u| format!("{}: {}", u.fault, u.manual_steps.join("; "))).collect::<Vec<_>>().join("; ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_the_name_the_journal_writes() {
        let all = [
            Outcome::HypothesisHeld,
            Outcome::RecoveryMissed { expectations: vec![] },
            Outcome::AbortedByGuard { guard: GuardName::Targets, detail: String::new() },
            Outcome::FaultNotEffective { fault: String::new(), reason: String::new() },
            Outcome::EnvironmentError { message: String::new() },
            Outcome::Interrupted,
            Outcome::RevertIncomplete { faults: vec![], detail: String::new() },
            Outcome::JournalFailed { error: String::new(), unrecorded: vec![] },
        ];
        for outcome in all {
            assert_eq!(serde_json::to_value(&outcome).unwrap()["kind"], outcome.kind());
        }
    }
}
