//! How a command ends, as a value: what it did ([`Done`]) or why it could
//! not ([`Failure`]). Each maps to its exit code here and nowhere else
//! (docs/exit-codes.md), as just's `Error::code()` does; commands never pick
//! a number.

use std::fmt::Write as _;

use crate::environment::EnvError;
use crate::environment::aws::fis::ExportError;
use crate::environment::sim::TopologyError;
use crate::exit_code;
use crate::journal::Outcome;
use crate::project::ProjectError;
use crate::scenario::LoadError;

/// What a command returns: it did its job (perhaps with a finding the code
/// reports), or it failed.
pub(super) type Ended = Result<Done, Failure>;

/// A command that did its job. Its finding may still be a non-zero code:
/// scripts act on it.
#[derive(Debug)]
pub(super) enum Done {
    Success,
    /// A run or drill ended: its outcome says how (docs/exit-codes.md, "Precedence within a run").
    Ran(Outcome),
    /// `gameday due`: at least one scenario is overdue for its cadence.
    Overdue,
    /// `status`, `recover`, `drill watch`: a journal shows a fault that may
    /// still be in place, or cannot tell; what is in place was printed.
    LeftInPlace,
}

impl Done {
    pub(super) fn code(&self) -> u8 {
        match self {
            Done::Success => exit_code::SUCCESS,
            Done::Ran(outcome) => outcome.exit_code(),
            Done::Overdue => exit_code::SCENARIOS_OVERDUE,
            Done::LeftInPlace => exit_code::REVERT_INCOMPLETE,
        }
    }
}

/// Why a command could not do its job. The variant decides the exit code;
/// the text (with a hint where one helps) is rendered once, by [`Failure::render`].
#[derive(Debug)]
pub(super) enum Failure {
    /// The command line is wrong: an unknown environment, an option the
    /// environment refuses, an output file that exists without `--force`.
    Usage(String),
    /// A scenario that did not load: every problem, with file:line:column.
    Scenario(LoadError),
    /// The project file (`gameday.yaml`) is invalid or unreadable.
    Project(ProjectError),
    /// A simulator topology is invalid or unreadable.
    Topology(TopologyError),
    /// Input that is invalid for another reason (a drill's runbook, an export no engine can run).
    Invalid(String),
    /// A file or directory could not be read or written.
    Unreadable(String),
    /// Refused before any side effect: no confirmation, `gameday halt`, the
    /// environment's lock, a run still going.
    Refused(String),
    /// The environment failed, refused or cannot serve the command; `doing`
    /// says what gameday was doing ("could not connect to environment `prod`").
    Env { doing: Option<String>, error: EnvError },
    /// The environment cannot serve the command, said in words.
    Environment(String),
    /// Something may still be in place: a person must act.
    RevertIncomplete(String),
    /// `gameday export fis` could not export.
    Export(ExportError),
    /// Already printed where it happened, among the command's other output
    /// (one of several files or runs); only its code remains to give.
    Reported(Box<Failure>),
}

impl Failure {
    pub(super) fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::Project(ProjectError::UnknownEnvironment { .. }) => exit_code::USAGE,
            Failure::Scenario(LoadError::Unreadable { .. }) | Failure::Project(ProjectError::Unreadable { .. }) | Failure::Topology(TopologyError::Unreadable { .. }) => {
                exit_code::UNREADABLE
            }
            Failure::Scenario(LoadError::Invalid { .. }) | Failure::Project(_) | Failure::Topology(TopologyError::Invalid { .. }) | Failure::Invalid(_) => exit_code::INVALID_INPUT,
            Failure::Unreadable(_) => exit_code::UNREADABLE,
            Failure::Refused(_) | Failure::Env { error: EnvError::Refused(_) | EnvError::Busy(_), .. } => exit_code::ABORTED_BY_GUARD,
            Failure::Env { .. } | Failure::Environment(_) => exit_code::ENVIRONMENT_ERROR,
            Failure::RevertIncomplete(_) => exit_code::REVERT_INCOMPLETE,
            Failure::Export(ExportError::WouldLoosen { .. }) => exit_code::EXPORT_WOULD_LOOSEN_GUARD,
            Failure::Export(ExportError::Env(EnvError::NotFound { .. })) => exit_code::ENVIRONMENT_ERROR,
            // What FIS cannot express of the scenario (instance ids, several groups in one fault, …).
            Failure::Export(ExportError::Env(_)) => exit_code::INVALID_INPUT,
            Failure::Reported(failure) => failure.code(),
        }
    }

    /// Marks a failure as printed: the command goes on, and ends with its code.
    pub(super) fn report(self) -> Failure {
        match self {
            Failure::Reported(_) => self,
            failure => {
                eprint!("{}", failure.render());
                Failure::Reported(Box::new(failure))
            }
        }
    }

    /// The text for people: `error: …`, with a hint where one helps, ending in a newline.
    pub(super) fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Failure::Scenario(error) => out.push_str(&error.render()),
            Failure::Usage(message) | Failure::Invalid(message) | Failure::Unreadable(message) | Failure::Refused(message) | Failure::Environment(message) => {
                let _ = writeln!(out, "error: {message}");
            }
            Failure::Project(error) => {
                let _ = writeln!(out, "error: {error}");
            }
            Failure::Topology(error) => {
                let _ = writeln!(out, "error: {error}");
            }
            Failure::Env { doing, error } => {
                match doing {
                    Some(doing) => {
                        let _ = writeln!(out, "error: {doing}: {error}");
                    }
                    None => {
                        let _ = writeln!(out, "error: {error}");
                    }
                }
                if let EnvError::Call { kind, .. } = error
                    && let Some(fix) = kind.fix()
                {
                    let _ = writeln!(out, "  = hint: {fix}");
                }
            }
            Failure::RevertIncomplete(message) => {
                let _ = writeln!(out, "error: REVERT INCOMPLETE: {message}");
            }
            Failure::Export(error) => {
                let _ = writeln!(out, "error: {error}");
                if let ExportError::WouldLoosen { loosenings, .. } = error {
                    for loosening in loosenings {
                        let _ = writeln!(out, "  - {loosening}");
                    }
                    let _ = writeln!(out, "  = hint: set `via: fis` and use `gameday run`: gameday then judges every guard itself and hands FIS only the targets it chose");
                }
            }
            Failure::Reported(_) => {}
        }
        out
    }
}

/// The process exit code of how a command ended; a failure not yet printed is printed first.
pub(super) fn exit(ended: Ended) -> u8 {
    match ended {
        Ok(done) => done.code(),
        Err(failure) => failure.report().code(),
    }
}

/// Whether the command succeeded (exit 0).
pub(super) fn succeeded(ended: &Ended) -> bool {
    code(ended) == exit_code::SUCCESS
}

/// Whether something may still be in place after this ending (exit 8).
pub(super) fn may_leave_in_place(ended: &Ended) -> bool {
    code(ended) == exit_code::REVERT_INCOMPLETE
}

/// clap's own ending: a usage error, or `--help` and `--version`.
pub(super) fn clap_code(error: &clap::Error) -> u8 {
    if error.use_stderr() { exit_code::USAGE } else { exit_code::SUCCESS }
}

/// Of two endings of parts of one command (several files, several runs),
/// the one whose code ranks higher: an unreadable file (4) outranks an
/// invalid one (3), and something left in place (8) outranks everything.
pub(super) fn worse(a: Ended, b: Ended) -> Ended {
    if code(&b) > code(&a) { b } else { a }
}

/// The code an ending will exit with, without printing anything.
pub(super) fn code(ended: &Ended) -> u8 {
    match ended {
        Ok(done) => done.code(),
        Err(failure) => failure.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::ReadErrorKind;

    #[test]
    fn an_access_denied_call_says_so_and_points_at_the_policy() {
        let failure = Failure::Env {
            doing: Some("could not connect to environment `prod`".into()),
            error: EnvError::Call { call: "sts:GetCallerIdentity".into(), kind: ReadErrorKind::AccessDenied, message: "not authorized".into() },
        };
        assert_eq!(failure.code(), exit_code::ENVIRONMENT_ERROR);
        let text = failure.render();
        assert!(text.starts_with("error: could not connect to environment `prod`: sts:GetCallerIdentity failed (AccessDenied): not authorized\n"), "{text}");
        assert!(text.contains("  = hint: the credentials may not make this call: `gameday iam-policy SCENARIO`"), "{text}");
    }

    #[test]
    fn a_refusal_is_exit_5_and_a_failure_of_another_kind_is_exit_7() {
        let refused = Failure::Env { doing: Some("could not connect".into()), error: EnvError::Refused("another account".into()) };
        assert_eq!(refused.code(), exit_code::ABORTED_BY_GUARD);
        assert_eq!(refused.render(), "error: could not connect: the call was refused: another account\n");
        let other = Failure::Env { doing: None, error: EnvError::Call { call: "ec2:StopInstances".into(), kind: ReadErrorKind::Other, message: "500".into() } };
        assert_eq!(other.code(), exit_code::ENVIRONMENT_ERROR);
        assert_eq!(other.render(), "error: ec2:StopInstances failed: 500\n", "no kind and no hint when the kind says nothing");
    }

    #[test]
    fn the_worse_of_two_endings_is_the_higher_code_and_a_reported_failure_keeps_its_code() {
        let invalid = || Err(Failure::Invalid("x".into()));
        let unreadable = || Err(Failure::Unreadable("y".into()));
        assert_eq!(worse(invalid(), unreadable()).err().map(|f| f.code()), Some(exit_code::UNREADABLE));
        assert_eq!(worse(unreadable(), invalid()).err().map(|f| f.code()), Some(exit_code::UNREADABLE));
        assert_eq!(worse(Ok(Done::Success), Ok(Done::LeftInPlace)).map(|d| d.code()).ok(), Some(exit_code::REVERT_INCOMPLETE));
        let reported = Failure::Reported(Box::new(Failure::Refused("z".into())));
        assert_eq!(reported.code(), exit_code::ABORTED_BY_GUARD);
        assert_eq!(reported.render(), "", "printed once, where it happened");
    }
}
