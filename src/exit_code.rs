//! Exit codes: documented in docs/exit-codes.md, distinct so scripts and CI
//! can tell "the system did not recover" from "the tool was misused".

/// The run held its hypothesis; or a command succeeded.
pub const SUCCESS: u8 = 0;
/// A run finished, but at least one expected recovery missed its deadline or budget.
pub const RECOVERY_MISSED: u8 = 1;
/// The command line was wrong (clap's own code for usage errors).
pub const USAGE: u8 = 2;
/// A scenario or topology file is invalid.
pub const INVALID_INPUT: u8 = 3;
/// A file could not be read (missing, unreadable).
pub const UNREADABLE: u8 = 4;
/// A guard refused the run before injecting, or halted it and reverted.
pub const ABORTED_BY_GUARD: u8 = 5;
/// A fault did not take effect (no targets, refused, target gone): the run proves nothing.
pub const FAULT_NOT_EFFECTIVE: u8 = 6;
/// The environment failed (an API error), or cannot serve the scenario (a probe kind it refuses, a resource it lacks).
pub const ENVIRONMENT_ERROR: u8 = 7;
/// A revert could not complete: a person must act (the run says which fault and what is left in place).
pub const REVERT_INCOMPLETE: u8 = 8;
/// `gameday due`: at least one scenario is overdue for its cadence (never run, or its last run is older than the cadence's period).
pub const SCENARIOS_OVERDUE: u8 = 9;
/// `gameday export fis`: the template would loosen a guard FIS cannot enforce (`exclude_tags`, `max_percent`, a probe stop condition, …); nothing was exported.
pub const EXPORT_WOULD_LOOSEN_GUARD: u8 = 10;
/// Interrupted by Ctrl-C or SIGTERM; every fault was reverted.
pub const INTERRUPTED: u8 = 130;
