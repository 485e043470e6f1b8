//! `junit.xml`: a game day as a test suite, so CI systems show it like
//! tests. Each expected recovery is a test case (its measured times are in
//! its output); a run stopped by a guard, a fault that did not take effect
//! or an environment error is an `<error>` case.
//!
//! The output follows the JUnit 10 schema (Jenkins' xUnit plugin), which
//! most CI tools accept: `tests/schemas/junit-10.xsd`, checked by a test.
//! `time` is real (wall-clock) time, as CI compares it with its own; the
//! run's own clock, simulated on the simulator, is the `virtual_duration`
//! property.

use std::fmt::Write as _;

use crate::run::Outcome;
use crate::run::metrics::fmt_ms;

use super::ReportContext;
use super::html::escape;

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

pub fn render(ctx: &ReportContext<'_>) -> String {
    let (scenario, result) = (ctx.scenario, ctx.result);
    let class = format!("gameday.{}", scenario.name);
    let mut cases = Vec::new();
    let (mut failures, mut errors, mut skipped) = (0, 0, 0);

    let stopped = match &result.outcome {
        Outcome::HypothesisHeld | Outcome::RecoveryMissed { .. } => None,
        Outcome::AbortedByGuard { .. } => Some("aborted_by_guard"),
        Outcome::FaultNotEffective { .. } => Some("fault_not_effective"),
        Outcome::EnvironmentError { .. } => Some("environment_error"),
        Outcome::Interrupted => Some("interrupted"),
        Outcome::RevertIncomplete { .. } => Some("revert_incomplete"),
        Outcome::JournalFailed { .. } => Some("journal_failed"),
    };
    if let Some(kind) = stopped {
        errors += 1;
        let summary = result.outcome.summary();
        cases.push(format!(
            "    <testcase classname=\"{}\" name=\"run: {}\">\n      <error type=\"{kind}\" message=\"{}\">exit code {}: {}</error>\n    </testcase>",
            escape(&class),
            kind.replace('_', " "),
            escape(&summary),
            result.exit_code,
            escape(&summary)
        ));
    }
    for f in result.faults.iter().filter(|f| f.error.is_some()) {
        errors += 1;
        let error = f.error.as_deref().unwrap_or_default();
        cases.push(format!(
            "    <testcase classname=\"{}\" name=\"fault {}\">\n      <error type=\"fault\" message=\"{}\">fault `{}` ({}): {}</error>\n    </testcase>",
            escape(&class),
            escape(&f.name),
            escape(error),
            escape(&f.name),
            escape(&f.kind),
            escape(error)
        ));
    }
    for expected in &scenario.expected_recoveries {
        let Some(e) = result.expectations.iter().find(|e| e.name == expected.name) else {
            skipped += 1;
            let reason = "not measured: the run ended before its fault took effect";
            cases.push(format!(
                "    <testcase classname=\"{}\" name=\"{}\">\n      <skipped message=\"{reason}\">“{}” was {reason} ({}).</skipped>\n    </testcase>",
                escape(&class),
                escape(&expected.name),
                escape(&expected.name),
                escape(&result.outcome.summary())
            ));
            continue;
        };
        let detail = format!(
            "detect {}, recover {}, impact {}, deadline {}",
            e.time_to_detect.map_or("—".into(), fmt_ms),
            super::tables::time_to_recover(e, result),
            super::tables::impact(e, result),
            fmt_ms(e.deadline_after_fault())
        );
        let body = if e.met {
            format!("      <system-out>{}</system-out>\n", escape(&detail))
        } else {
            failures += 1;
            format!("      <failure type=\"recovery_missed\" message=\"{}\">{}</failure>\n", escape(&e.misses.join("; ")), escape(&format!("{}\n{detail}", e.misses.join("\n"))))
        };
        cases.push(format!("    <testcase classname=\"{}\" name=\"{}\">\n{body}    </testcase>", escape(&class), escape(&e.name)));
    }

    let timestamp: String = ctx.walked.started.as_deref().unwrap_or_default().chars().take(19).collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = cases.len();
    // Case times are left out: a case's real time is not measured, and its
    // measured (run-clock) times are in its output.
    let time = ctx.walked.wall_elapsed.map_or(String::new(), |ms| format!(" time=\"{}\"", seconds(ms)));
    // `skipped` belongs on `<testsuite>` only: the schema refuses it on `<testsuites>`.
    let _ = writeln!(out, "<testsuites name=\"gameday\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\"{time}>");
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\"{time} timestamp=\"{}\">",
        escape(&scenario.name),
        escape(&timestamp)
    );
    let _ = writeln!(out, "    <properties>");
    for (name, value) in [
        ("environment", result.environment.clone()),
        ("account", result.account.clone()),
        ("seed", result.seed.to_string()),
        ("virtual_duration", seconds(result.duration_ms)),
        ("outcome", result.outcome.summary()),
        ("exit_code", result.exit_code.to_string()),
    ] {
        let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", escape(&value));
    }
    let _ = writeln!(out, "    </properties>");
    for case in cases {
        let _ = writeln!(out, "{case}");
    }
    let _ = writeln!(out, "  </testsuite>\n</testsuites>");
    out
}
