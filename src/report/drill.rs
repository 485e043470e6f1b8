//! The drill's part of the report: the team's response against the
//! system's, each runbook step against its expectation, where people
//! waited, what they did and noticed, and the runbook's gaps. Built once as
//! rows of text, rendered by both the Markdown and the HTML report.

use crate::drill::measure::{DrillResult, NOTABLE_WAIT_MS, StepStatus, short_title};
use crate::environment::Millis;
use crate::run::journal::Actor;
use crate::run::metrics::fmt_ms;

/// The drill section, as text rows; cells may hold `code` spans.
pub struct DrillSection {
    pub intro: String,
    /// (measure, time from T0, relative to the row before).
    pub response: Vec<[String; 3]>,
    /// (step, expected by, acknowledged, finished, result, waited, notes).
    pub steps: Vec<[String; 7]>,
    pub waits: Vec<String>,
    /// (time, action, step, by, what changed).
    pub actions: Vec<[String; 5]>,
    pub observations: Vec<String>,
    pub gaps: Vec<String>,
}

pub const RESPONSE_HEADER: [&str; 3] = ["", "From T0", "Since the row before"];
pub const STEPS_HEADER: [&str; 7] = ["Step", "Expected by", "Acknowledged", "Finished", "Result", "Waited", "Notes"];
pub const ACTIONS_HEADER: [&str; 5] = ["Time", "Action", "Step", "By", "What changed"];

/// The people's marks on the report's timeline chart: when they
/// acknowledged and when they mitigated, each a vertical line across the
/// lanes topped by a lettered box. Neither needs colour to be told apart:
/// `A` in a white box over a dotted line, `M` in a dark box over a solid
/// one; the legend and each mark's `<title>` say what they are, and the
/// phase table says it in words. Only the letter is drawn, so the mark does
/// not cover the fault's label. `x` places a run time; the marks span `top`
/// to `bottom`. Nothing for a mark that did not happen.
pub fn chart_marks(drill: &DrillResult, x: &dyn Fn(Millis) -> f64, top: f64, bottom: f64) -> String {
    let r = &drill.response;
    let mut svg = String::new();
    // (when, what, letter, line pattern, box fill, letter fill)
    let marks = [(r.acknowledged_at, "acknowledged", "A", "2 3", "#ffffff", "#1d2329"), (r.mitigated_at, "mitigated", "M", "none", "#1d2329", "#ffffff")];
    for (at, label, letter, dash, fill, ink) in marks {
        let Some(at) = at else { continue };
        let (cx, when) = (x(at), super::t(at));
        svg.push_str(&format!(
            "<g class=\"drill-mark\"><title>people {label} at {when}</title><line x1=\"{cx:.1}\" y1=\"{top:.1}\" x2=\"{cx:.1}\" y2=\"{bottom:.1}\" stroke=\"#1d2329\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/><rect x=\"{:.1}\" y=\"{:.1}\" width=\"14\" height=\"14\" fill=\"{fill}\" stroke=\"#1d2329\" stroke-width=\"1.5\"/><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"small\" style=\"fill:{ink};font-weight:bold\">{letter}</text></g>\n",
            cx - 7.0,
            top - 14.0,
            top - 3.5
        ));
    }
    svg
}

pub fn section(drill: &DrillResult, fault: Option<&str>) -> DrillSection {
    let r = &drill.response;
    let t0 = r.fault_start;
    let at = |ms: Option<Millis>| match (ms, t0) {
        (Some(ms), Some(t0)) if ms >= t0 => format!("T0+{}", fmt_ms(ms - t0)),
        (Some(ms), Some(t0)) => format!("T0−{}", fmt_ms(t0 - ms)),
        (Some(ms), None) => format!("T+{}", fmt_ms(ms)),
        (None, _) => "—".to_string(),
    };
    let since = |later: Option<Millis>, earlier: Option<Millis>, what: &str| match (later, earlier) {
        (Some(l), Some(e)) if l >= e => format!("{} after {what}", fmt_ms(l - e)),
        (Some(l), Some(e)) => format!("{} before {what}", fmt_ms(e - l)),
        _ => "—".to_string(),
    };
    let first_action = drill.actions.iter().filter(|a| !a.failed && Some(a.at) == r.mitigated_at).map(|a| format!(" (`{}`)", a.name)).next().unwrap_or_default();
    let response = vec![
        ["System detected (the team's signals)".to_string(), r.time_to_detect().map_or("—".into(), fmt_ms), "—".into()],
        ["People acknowledged".to_string(), r.time_to_acknowledge().map_or("not acknowledged".into(), fmt_ms), since(r.acknowledged_at, r.detected_at, "detection")],
        [format!("People mitigated{first_action}"), r.time_to_mitigate().map_or("no operator action".into(), fmt_ms), since(r.mitigated_at, r.acknowledged_at, "acknowledging")],
        ["Service recovered".to_string(), r.time_to_recover().map_or("not recovered".into(), fmt_ms), since(r.recovered_at, r.mitigated_at, "the mitigation")],
    ];
    let steps = drill
        .steps
        .iter()
        .map(|s| {
            let result = match s.status {
                StepStatus::OnTime => "✅ on time".to_string(),
                StepStatus::Late => format!("⏰ late by {}", fmt_ms(s.late_by.unwrap_or(0))),
                StepStatus::Done => "✅ done".to_string(),
                StepStatus::Skipped => format!("↷ skipped{}", s.skip_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()),
                StepStatus::NotDone if s.due.is_some() => "❌ not done".to_string(),
                StepStatus::NotDone => "not done".to_string(),
            };
            let notes: Vec<String> = s.notes.iter().map(|n| format!("{}{} “{}”", if n.unclear { "❓ unclear, " } else { "" }, at(Some(n.at)), n.text)).collect();
            [
                format!("{}. {}{}", s.number, short_title(&s.title), s.action.as_deref().map(|a| format!(" (action `{a}`)")).unwrap_or_default()),
                s.due.map_or("—".into(), |d| format!("T0+{}", fmt_ms(d))),
                at(s.acknowledged_at),
                at(s.done_at.or(s.skipped_at)),
                result,
                s.waited.map_or("—".into(), fmt_ms),
                notes.join("; "),
            ]
        })
        .collect();
    let mut waiting: Vec<_> = drill.steps.iter().filter(|s| s.waited.is_some_and(|w| w >= NOTABLE_WAIT_MS)).collect();
    waiting.sort_by_key(|s| std::cmp::Reverse(s.waited));
    let waits = waiting
        .iter()
        .map(|s| {
            let waited = s.waited.unwrap_or(0);
            let from = s.acknowledged_at.map(|a| a.saturating_sub(waited));
            format!("{} before step {} (“{}”) was taken up, from {} to {}.", fmt_ms(waited), s.number, short_title(&s.title), at(from), at(s.acknowledged_at))
        })
        .collect();
    let actions = drill
        .actions
        .iter()
        .map(|a| {
            [
                at(Some(a.at)),
                format!("`{}`", a.name),
                a.step.map_or("—".into(), |n| n.to_string()),
                if a.failed {
                    "failed".into()
                } else if a.by == Actor::People {
                    "people (recorded)".into()
                } else {
                    "gameday (simulator)".into()
                },
                a.detail.clone(),
            ]
        })
        .collect();
    let observations = drill.observations.iter().map(|(t, text)| format!("{} “{text}”", at(Some(*t)))).collect();
    let intro = format!(
        "The team worked `{}` at {}. Times count from T0, the start of {}. Definitions: docs/drills.md.",
        drill.runbook,
        drill.speed,
        fault.map_or("the first fault".to_string(), |f| format!("`{f}`"))
    );
    DrillSection { intro, response, steps, waits, actions, observations, gaps: drill.gaps.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::measure::{ActionResult, Note, Response, StepResult};
    use crate::run::journal::Actor;

    #[test]
    fn the_response_reads_as_a_chain_from_detection_to_recovery() {
        let step = StepResult {
            number: 3,
            title: "Confirm it is regional (by T0+6 min).".into(),
            due: Some(360_000),
            action: None,
            acknowledged_at: Some(280_000),
            done_at: Some(430_000),
            skipped_at: None,
            skip_reason: None,
            waited: Some(150_000),
            late_by: Some(60_000),
            status: StepStatus::Late,
            notes: vec![Note { at: 250_000, text: "which dashboard?".into(), unclear: true }],
        };
        let drill = DrillResult {
            runbook: "runbooks/x.md".into(),
            speed: "real time".into(),
            response: Response { fault_start: Some(10_000), detected_at: Some(15_000), acknowledged_at: Some(100_000), mitigated_at: Some(460_000), recovered_at: Some(490_000) },
            steps: vec![step],
            actions: vec![ActionResult { name: "fail-over".into(), step: Some(4), at: 460_000, by: Actor::Gameday, detail: "switched".into(), failed: false }],
            observations: vec![(160_000, "status page green".into())],
            gaps: vec!["Clarify step 3".into()],
        };
        let s = section(&drill, Some("degrade"));
        assert_eq!(s.response[0][1], "5s");
        assert_eq!(s.response[1], ["People acknowledged".to_string(), "1m30s".into(), "1m25s after detection".into()]);
        assert_eq!(s.response[2][0], "People mitigated (`fail-over`)");
        assert_eq!(s.response[2][2], "6m00s after acknowledging");
        assert_eq!(s.response[3][2], "30s after the mitigation");
        assert_eq!(s.steps[0][0], "3. Confirm it is regional");
        assert_eq!(s.steps[0][4], "⏰ late by 1m00s");
        assert!(s.steps[0][6].starts_with("❓ unclear, T0+4m00s"), "{}", s.steps[0][6]);
        assert_eq!(s.waits, vec!["2m30s before step 3 (“Confirm it is regional”) was taken up, from T0+2m00s to T0+4m30s."]);
        assert_eq!(s.observations, vec!["T0+2m30s “status page green”"]);
    }
}
