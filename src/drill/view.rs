//! Who the drill console is for. A drill is about working out what broke, so
//! the trainees' view shows only the signals the team would have in an
//! incident: alarms, the probes the team watches, and what people did. The
//! facilitator's view shows everything, the faults included.
//!
//! Architecture invariant: the trainee view never lets a fault's name, kind
//! or targets through, whatever the line that carries them: events about
//! faults are left out by kind, and any other line that names one of them
//! (an FIS note, an Auto Scaling activity on a targeted instance) is left
//! out too.

use std::collections::BTreeSet;

use crate::journal::{Event, Record};
use crate::scenario::Scenario;

/// What the drill console shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// Only the team's signals (alarms, the probes it watches) and what
    /// people did: for the shared screen.
    #[default]
    Trainee,
    /// Everything, the faults included: for the facilitator.
    Facilitator,
}

impl std::str::FromStr for View {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "trainee" => Ok(View::Trainee),
            "facilitator" => Ok(View::Facilitator),
            _ => Err(format!("`{text}` is not a view: use `trainee` (the team's signals only) or `facilitator` (everything)")),
        }
    }
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            View::Trainee => "trainee",
            View::Facilitator => "facilitator",
        })
    }
}

/// Decides, record by record, what one view of the drill shows.
#[derive(Clone, Debug)]
pub struct Visibility {
    view: View,
    /// The probes of the steady state the team has (trainee view).
    team_probes: BTreeSet<String>,
    /// Words that give a fault away: names, kinds, target ids. Learned from
    /// the scenario and from every `fault_intent` as it is journaled.
    secrets: BTreeSet<String>,
}

/// A failed revert, as the trainee view says it: the people at the console
/// must know, without learning which fault it was.
pub const MASKED_REVERT_FAILURE: &str = "**A revert failed**: tell the facilitator (the facilitator's view has the details; `gameday recover RUN_DIR` finishes the job)";

impl Visibility {
    /// `runbook_signals`: the names in the runbook's signals section
    /// ([`super::runbook::signal_names`]). The team's probes are those named
    /// there or in any expectation's `detected_by`.
    pub fn new(view: View, scenario: &Scenario, runbook_signals: &[String]) -> Self {
        let named = |probe: &str| runbook_signals.iter().any(|s| s == probe) || scenario.expected_recoveries.iter().any(|e| e.detected_by.iter().any(|d| d == probe));
        let team_probes = scenario.steady_state.iter().map(|p| p.name.clone()).filter(|p| named(p)).collect();
        let secrets = scenario.faults.iter().flat_map(|f| [f.name.clone(), f.action.kind_name().to_string()]).collect();
        Visibility { view, team_probes, secrets }
    }

    pub fn view(&self) -> View {
        self.view
    }

    /// Whether the probe's live state is shown.
    pub fn shows_probe(&self, probe: &str) -> bool {
        self.view == View::Facilitator || self.team_probes.contains(probe)
    }

    /// Whether the faults' live state is shown.
    pub fn shows_faults(&self) -> bool {
        self.view == View::Facilitator
    }

    /// The line to show for `record` (as the timeline describes it), if any.
    /// Follows the journal: call it for every record, in order.
    pub fn line(&mut self, record: &Record, line: String) -> Option<String> {
        if let Event::FaultIntent { fault, kind, targets, .. } = &record.event {
            self.secrets.insert(fault.clone());
            self.secrets.insert(kind.clone());
            self.secrets.extend(targets.iter().map(|t| t.id.clone()).filter(|id| !id.is_empty()));
        }
        if self.view == View::Facilitator {
            return Some(line);
        }
        let shown = match &record.event {
            // The faults themselves, and the guards judged before each (named by it).
            Event::FaultIntent { .. }
            | Event::FaultApplied { .. }
            | Event::FaultFailed { .. }
            | Event::RevertIntent { .. }
            | Event::FaultReverted { .. }
            | Event::InjectionStarted
            | Event::GuardsJudged { .. } => false,
            Event::RevertFailed { .. } => return Some(MASKED_REVERT_FAILURE.to_string()),
            Event::Sample(sample) => self.team_probes.contains(&sample.probe),
            _ => true,
        };
        (shown && !self.secrets.iter().any(|secret| line.contains(secret.as_str()))).then_some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        crate::scenario::parse_str(
            "apiVersion: gameday/v1\nname: d\nsteady_state:\n  - {name: api, kind: http, url: 'https://api.example.com/'}\n  - {name: hidden, kind: http, url: 'https://other.example.com/'}\n  - {name: pager, kind: http, url: 'https://pager.example.com/'}\nfaults:\n  - {name: break-it, kind: gray_failure, region: us-east-1, error_rate: 100, duration: 5m}\nexpected_recoveries:\n  - {name: back, probes: [api], recovers_within: 10m, detected_by: [pager]}\n",
            None,
        )
        .unwrap()
    }

    /// A journal line, as the runner writes it (the journal's types stay out
    /// of this module's imports: see the module graph).
    fn record(json: &str) -> Record {
        serde_json::from_str(&format!("{{\"t\":0,\"wall\":\"\",{json}}}")).unwrap()
    }

    fn sample(probe: &str) -> Record {
        record(&format!("\"event\":\"sample\",\"probe\":\"{probe}\",\"sent_at\":0,\"latency_ms\":1,\"ok\":false,\"observed\":\"HTTP 500\""))
    }

    #[test]
    fn the_trainee_view_never_names_the_fault_its_kind_or_its_targets() {
        let mut trainee = Visibility::new(View::Trainee, &scenario(), &["api".to_string()]);
        let intent = record(
            r#""event":"fault_intent","fault":"break-it","kind":"gray_failure","effect":{"effect":"gray_failure","zones":["us-east-1a"],"error_rate":100.0},"targets":[{"id":"i-0abc","region":"us-east-1","zone":"us-east-1a","group":"web-asg","tags":{}}]"#,
        );
        assert_eq!(trainee.line(&intent, "Injecting `break-it`".into()), None);
        assert_eq!(trainee.line(&record(r#""event":"fault_applied","fault":"break-it""#), "in place".into()), None);
        assert_eq!(trainee.line(&record(r#""event":"injection_started""#), "Injection started".into()), None);
        let activity = record(r#""event":"observed","at":0,"source":"web-asg","message":"terminating i-0abc""#);
        assert_eq!(trainee.line(&activity, "web-asg: terminating i-0abc".into()), None, "a target's id gives the fault away");
        let fis = record(r#""event":"observed","at":0,"source":"fis","message":"experiment started for `break-it`""#);
        assert_eq!(trainee.line(&fis, "fis: experiment started for `break-it`".into()), None);
        let alarm = record(r#""event":"alarm_changed","alarm":"web-5xx","state":"ALARM""#);
        assert_eq!(trainee.line(&alarm, "alarm web-5xx: ALARM".into()).as_deref(), Some("alarm web-5xx: ALARM"));
        let failed = record(r#""event":"revert_failed","fault":"break-it","error":"throttled""#);
        assert_eq!(trainee.line(&failed, "Revert of `break-it` failed".into()).as_deref(), Some(MASKED_REVERT_FAILURE));
        assert!(!trainee.shows_faults());
    }

    #[test]
    fn the_trainee_view_shows_the_probes_the_team_watches() {
        let mut trainee = Visibility::new(View::Trainee, &scenario(), &["api".to_string()]);
        assert!(trainee.shows_probe("api"), "named in the runbook's signals");
        assert!(trainee.shows_probe("pager"), "a detected_by signal");
        assert!(!trainee.shows_probe("hidden"));
        assert!(trainee.line(&sample("api"), "Probe `api` failing".into()).is_some());
        assert!(trainee.line(&sample("hidden"), "Probe `hidden` failing".into()).is_none());
        let mut facilitator = Visibility::new(View::Facilitator, &scenario(), &[]);
        assert!(facilitator.shows_probe("hidden") && facilitator.shows_faults());
        assert!(facilitator.line(&record(r#""event":"fault_applied","fault":"break-it""#), "Fault `break-it` in place".into()).is_some());
    }
}
