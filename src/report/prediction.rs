//! The twin's prediction as `gameday plan --predict` and `gameday run
//! --predict` print it (figures: docs/metrics.md, "Predicted times"). Pure:
//! `predict` runs the seeds; this only renders what they found.

use std::fmt::Write as _;

use crate::predict::{Prediction, Spread};
use crate::run::metrics::{ExpectationKind, fmt_ms};

/// The prediction's text, starting with a blank line.
pub fn prediction_text(prediction: &Prediction) -> String {
    let mut out = String::new();
    let (first, last) = (prediction.seeds.first().copied().unwrap_or(0), prediction.seeds.last().copied().unwrap_or(0));
    let _ = writeln!(out, "\nPrediction on the twin ({}), {} seeds ({first}–{last}):", prediction.twin, prediction.seeds.len());
    if prediction.expectations.is_empty() {
        let _ = writeln!(out, "  nothing to predict: no expectation is left that the twin can run");
    }
    for e in &prediction.expectations {
        let verdict = if e.seeds == 0 {
            "not run on any seed".to_string()
        } else if e.missed > 0 {
            format!("PREDICTED TO MISS in {} of {} seeds", e.missed, e.seeds)
        } else {
            format!("met in {} of {} seeds", e.seeds, e.seeds)
        };
        let _ = writeln!(out, "  {} {} (deadline {}): {verdict}", if e.missed > 0 { "✘" } else { "✔" }, e.name, fmt_ms(e.deadline));
        let detect_deadline = e.detect_deadline.map(|d| format!(" (detect within {})", fmt_ms(d))).unwrap_or_default();
        let detect = match (&e.detection, e.detection_measured) {
            (_, false) => "not measured (no `detected_by` the twin models)".to_string(),
            (None, true) => format!("never, in {} of {} seeds", e.undetected, e.seeds),
            (Some(s), true) if e.undetected > 0 => format!("{}; never in {}", spread(s, e.seeds), e.undetected),
            (Some(s), true) => spread(s, e.seeds),
        };
        let _ = writeln!(out, "      detect:  {detect}{detect_deadline}");
        // A failover's clock runs to the last client's move, not to a recovery.
        let (label, not_done) = match e.kind {
            ExpectationKind::FailsOver => ("fail over", "clients did not all move in"),
            ExpectationKind::RecoversWithin | ExpectationKind::StaysHealthy => ("recover", "not recovered in"),
        };
        let mut figures = match &e.recovery {
            Some(s) => spread(s, e.seeds),
            None => "—".to_string(),
        };
        if e.not_recovered > 0 {
            let _ = write!(figures, "; {not_done} {}", e.not_recovered);
        }
        if e.no_impact > 0 {
            let _ = write!(figures, "; no impact in {}", e.no_impact);
        }
        let _ = writeln!(out, "      {label}: {figures}");
    }
    for (seed, why) in &prediction.stopped {
        let _ = writeln!(out, "  seed {seed} measured nothing: {why}");
    }
    if !prediction.not_predicted.is_empty() {
        let _ = writeln!(out, "Not predicted (the twin does not model it):");
        for n in &prediction.not_predicted {
            let _ = writeln!(out, "  - {}: {}", n.what, n.why);
        }
    }
    out
}

fn spread(spread: &Spread, of: usize) -> String {
    format!("median {}, p90 {}, range {}–{} ({} of {of} seeds)", fmt_ms(spread.median), fmt_ms(spread.p90), fmt_ms(spread.min), fmt_ms(spread.max), spread.seeds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::PredictedExpectation;

    fn expectation(kind: ExpectationKind) -> PredictedExpectation {
        PredictedExpectation {
            name: "moved".into(),
            kind,
            deadline: 60_000,
            detect_deadline: None,
            detection_measured: false,
            detection: None,
            undetected: 0,
            recovery: Some(Spread { seeds: 2, median: 30_000, p90: 30_000, min: 30_000, max: 30_000 }),
            no_impact: 0,
            not_recovered: 1,
            missed: 1,
            seeds: 3,
        }
    }

    /// The line and its wording follow the expectation's kind: a failover
    /// says which seeds' clients did not all move, a recovery which did not recover.
    #[test]
    fn a_failover_is_said_as_one_and_a_recovery_as_one() {
        let text = |kind| {
            let prediction =
                Prediction { schema_version: 1, twin: "t".into(), seeds: vec![1, 2, 3], expectations: vec![expectation(kind)], not_predicted: vec![], stopped: vec![] };
            prediction_text(&prediction)
        };
        let figures = "median 30s, p90 30s, range 30s–30s (2 of 3 seeds)";
        assert!(text(ExpectationKind::FailsOver).contains(&format!("\n      fail over: {figures}; clients did not all move in 1\n")), "{}", text(ExpectationKind::FailsOver));
        for kind in [ExpectationKind::RecoversWithin, ExpectationKind::StaysHealthy] {
            assert!(text(kind).contains(&format!("\n      recover: {figures}; not recovered in 1\n")), "{}", text(kind));
        }
    }
}
