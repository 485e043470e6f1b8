//! The shared vocabulary: the run clock's unit, a probe sample, a runbook
//! step, a guard's name and how a duration is written for people. Every layer speaks it, so
//! it sits below them all.
//!
//! Architecture invariant: this module imports nothing of the crate (the
//! module-graph test in `lib.rs` holds it). A type belongs here only when
//! modules of different layers must share it and it needs nothing of ours.

use serde::{Deserialize, Serialize};

/// Milliseconds since the run started (virtual on the simulator).
pub type Millis = u64;

/// One probe sample: when it was sent, how long it took, and the verdict.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    pub probe: String,
    pub sent_at: Millis,
    pub latency_ms: Millis,
    pub ok: bool,
    /// What was observed, e.g. `HTTP 502` or `4 in service (want ≥ 6)`.
    pub observed: String,
    /// A failing sample that read no settled state of what its probe checks:
    /// a database with no writer while it fails over, or whose writer does
    /// not answer. It is never the state a probe `expected_during_fault`
    /// waits for (another writer): it counts as a failure, and the move is
    /// when another state is read (docs/metrics.md, "Failover verdicts").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsettled: bool,
    /// How late the sample was sent against its schedule (real time only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lateness_us: u64,
    /// What a `metric` probe read, as numbers: journaled so that figures
    /// built on it (the request error rate) are rebuilt from the journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<MetricReading>,
}

/// One reading of a `metric` probe over one period: the sum of its metrics
/// and, for a ratio, the sum of the metric it is `divided_by` (e.g. failed
/// requests and all requests of a load balancer).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct MetricReading {
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divided_by: Option<f64>,
    /// The period the reading covers, ending at the sample's send time.
    pub period_ms: Millis,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// One numbered step of a runbook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunbookStep {
    pub number: u32,
    pub title: String,
    /// The first `- Expected:` line, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// When the step should be done, counted from T0 (the fault's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Millis>,
    /// The operator action the step takes (`- Action: NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Line of the step in the runbook (1-based), for messages.
    pub line: usize,
}

/// A guard, by the name the scenario and the reports give it. Verdicts,
/// refusals, aborted runs and FIS loosenings name guards with it, so a
/// policy such as "a `targets` verdict is not a guard refusal" is a match on
/// a variant, not a comparison of text. It is written as the scenario's key
/// (`max_targets`) in the journal, `result.json` and every report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardName {
    Accounts,
    Regions,
    Windows,
    Blackouts,
    RequireTags,
    ExcludeTags,
    /// Not a key of `guards`: a fault that acts on instances must have one left to act on.
    Targets,
    MaxTargets,
    MaxPercent,
    MaxAzs,
    StopConditions,
    MaxDuration,
    RequireHealthyStart,
    /// Not a key of `guards`: the drill's facilitator halted the run.
    Halt,
    BlockingAlarms,
    /// Not a key of `guards`: the service holds the resource for another
    /// operation and runs one at a time (ARC's zonal shifts and practice
    /// runs, a Region switch plan's executions).
    ResourceBusy,
    /// Not a key of `guards`: the environment refuses the fault as things
    /// stand (a failover to the database's writer, a database that is not
    /// available, a practice run ARC would not start now).
    RefusedByEnvironment,
}

impl GuardName {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardName::Accounts => "accounts",
            GuardName::Regions => "regions",
            GuardName::Windows => "windows",
            GuardName::Blackouts => "blackouts",
            GuardName::RequireTags => "require_tags",
            GuardName::ExcludeTags => "exclude_tags",
            GuardName::Targets => "targets",
            GuardName::MaxTargets => "max_targets",
            GuardName::MaxPercent => "max_percent",
            GuardName::MaxAzs => "max_azs",
            GuardName::StopConditions => "stop_conditions",
            GuardName::MaxDuration => "max_duration",
            GuardName::RequireHealthyStart => "require_healthy_start",
            GuardName::Halt => "halt",
            GuardName::ResourceBusy => "resource_busy",
            GuardName::RefusedByEnvironment => "refused_by_environment",
            GuardName::BlockingAlarms => "blocking_alarms",
        }
    }
}

impl std::fmt::Display for GuardName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `1m05s`-style durations for people.
pub fn fmt_ms(ms: Millis) -> String {
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    // Saturating: `ms` may come from a damaged journal (up to u64::MAX).
    let tenths = ms.saturating_add(50) / 100;
    let (seconds, tenth) = (tenths / 10, tenths % 10);
    match seconds {
        s if s < 60 && tenth != 0 => format!("{s}.{tenth}s"),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m{:02}s", s / 3600, (s % 3600) / 60, s % 60),
    }
}

/// A piece of a text that may read environment variables as `${env:NAME}`
/// (commands, probe URLs and headers). The scenario's redaction and the
/// environments' expansion read the syntax alike, through [`env_pieces`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvPiece<'a> {
    Text(&'a str),
    /// The `NAME` of a `${env:NAME}`.
    Env(&'a str),
}

/// The text cut at its `${env:NAME}` references; an unterminated `${env:`
/// is text.
pub fn env_pieces(text: &str) -> Vec<EnvPiece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${env:") {
        let after = &rest[start + 6..];
        let Some(end) = after.find('}') else { break };
        if start > 0 {
            pieces.push(EnvPiece::Text(&rest[..start]));
        }
        pieces.push(EnvPiece::Env(&after[..end]));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(EnvPiece::Text(rest));
    }
    pieces
}

/// For tests of names written by hand beside a serde enum: every serde tag of `T`
/// (read from serde's own "unknown variant" message), so that such a test
/// notices a new variant.
#[cfg(test)]
pub(crate) fn serde_tags<T: serde::de::DeserializeOwned + std::fmt::Debug>(tag: &str) -> std::collections::BTreeSet<String> {
    let error = serde_json::from_value::<T>(serde_json::json!({ tag: "no such variant" })).unwrap_err().to_string();
    let (_, expected) = error.split_once("expected one of ").unwrap_or_else(|| panic!("{error}"));
    expected.split(", ").map(|name| name.trim_matches(|c: char| c == '`' || c.is_whitespace()).to_string()).filter(|name| !name.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_are_cut_out_and_an_unterminated_one_is_text() {
        use EnvPiece::*;
        assert_eq!(env_pieces("a ${env:X}${env:Y_2} b"), vec![Text("a "), Env("X"), Env("Y_2"), Text(" b")]);
        assert_eq!(env_pieces("${env:X} ${env:"), vec![Env("X"), Text(" ${env:")]);
        assert_eq!(env_pieces(""), vec![]);
    }

    #[test]
    fn formats_durations() {
        assert_eq!(fmt_ms(250), "250ms");
        assert_eq!(fmt_ms(1_500), "1.5s");
        assert_eq!(fmt_ms(65_000), "1m05s");
        assert_eq!(fmt_ms(3_725_000), "1h02m05s");
        assert_eq!(fmt_ms(u64::MAX), "5124095576030h25m51s");
    }

    #[test]
    fn guard_names_serialise_as_their_display_text() {
        use GuardName::*;
        for guard in
            [Accounts, Regions, Windows, Blackouts, RequireTags, ExcludeTags, Targets, MaxTargets, MaxPercent, MaxAzs, StopConditions, MaxDuration, RequireHealthyStart, Halt]
        {
            let json = serde_json::to_string(&guard).unwrap();
            assert_eq!(json, format!("\"{guard}\""));
            assert_eq!(serde_json::from_str::<GuardName>(&json).unwrap(), guard);
        }
    }
}
