//! The sections people write at the debrief. Each sits between HTML-comment
//! markers in `report.md`, so rendering the report again (`gameday report`)
//! keeps what people wrote there, and the blameless check can read it.

use regex::Regex;

use crate::run::RunResult;
use crate::scenario::Scenario;

/// id, heading, default text (ends with a newline).
struct Template {
    id: &'static str,
    title: &'static str,
    prompt: &'static str,
}

/// The postmortem's own facts, which only people can set.
const POSTMORTEM: &str = "_Status: `draft` until the debrief agrees on this report, then `final`. Severity: on your incident scale (SEV1 is the worst), what this failure would have been in production. Authors: who wrote this report._\n\n| Postmortem | |\n|---|---|\n| Status | draft |\n| Severity | |\n| Authors | |\n";

const TEMPLATES: [Template; 15] = [
    Template { id: "postmortem", title: "Postmortem", prompt: POSTMORTEM },
    Template { id: "summary", title: "Summary", prompt: "_Team: in two or three sentences, what happened and what it means for our users._\n" },
    Template {
        id: "detection",
        title: "How could we have detected it faster?",
        prompt: "_Which signal fired first, and who did it reach? Which signal would have caught the impact sooner (the lag above), and what would it take to add it?_\n\n- \n",
    },
    Template {
        id: "people-steps",
        title: "People's steps",
        prompt: "_When did people notice, acknowledge, decide and act? Give `T+` times so they read against the timeline below._\n\n| Time | Who | Step |\n|---|---|---|\n| T+ | | acknowledged |\n",
    },
    Template { id: "runbook", title: "Runbook followed", prompt: "_Which runbook steps did people follow, skip or change? What was missing or out of date?_\n\n- \n" },
    Template {
        id: "resolution",
        title: "What resolved it",
        prompt: "_What brought the service back: automation, a revert, a person's action? What would have made it faster?_\n\n- \n",
    },
    Template { id: "went-well", title: "What went well", prompt: "_Which alarms, dashboards, automation and runbook steps worked as intended?_\n\n- \n" },
    Template { id: "went-wrong", title: "What went wrong", prompt: "_What did not work as intended: in the system, the signals, the tools or the runbook?_\n\n- \n" },
    Template { id: "lucky", title: "Where we got lucky", prompt: "_What went right that we cannot count on next time?_\n\n- \n" },
    Template { id: "surprises", title: "What surprised us", prompt: "_Where did the system or the team behave differently from the hypothesis?_\n\n- \n" },
    Template { id: "factors", title: "Contributing factors", prompt: "_List every factor that shaped the outcome; there is rarely a single root cause._\n\n- \n" },
    Template {
        id: "tests",
        title: "Why did our existing tests not find this?",
        prompt: "_Which test (unit, integration, load, an earlier game day) could have found it before this run, and what would it take to add it? (AWS Well-Architected REL12-BP02: test functional requirements, and keep testing as the system changes.)_\n\n- \n",
    },
    Template { id: "action-items", title: "Action items", prompt: "" },
    Template { id: "links", title: "More links", prompt: "_Dashboards, chat logs, tickets and recordings from the day._\n\n- \n" },
    Template { id: "participants", title: "Participants", prompt: "| Role | Name |\n|---|---|\n| Facilitator | |\n| Incident commander | |\n| Scribe | |\n| Observers | |\n" },
];

/// Sections added with the postmortem layout: a report written before them
/// lacks all of their markers, which loses no text, so it is not warned of.
const ADDED_WITH_THE_POSTMORTEM: [&str; 5] = ["postmortem", "detection", "resolution", "tests", "links"];

/// Where a report stands (`Status` in the postmortem table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Draft,
    Final,
}

impl Status {
    pub fn text(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Final => "final",
        }
    }
}

/// The postmortem's facts as people set them.
#[derive(Clone, Debug, PartialEq)]
pub struct Postmortem {
    /// `None` when the status cell holds something other than `draft` or `final` (see `status_problem`).
    pub status: Option<Status>,
    /// As written; empty until people set it.
    pub severity: String,
    pub authors: String,
    /// The status cell as written, when it is neither `draft` nor `final`.
    pub status_problem: Option<String>,
}

/// A proposed action item: one row of the template's table.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionItem {
    pub action: String,
    pub owner: String,
    pub kind: ActionType,
    pub priority: &'static str,
}

/// What an action item does (the usual postmortem templates' types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionType {
    /// Stop it happening again.
    Prevent,
    /// Make it hurt less, or recover faster, when it happens.
    Mitigate,
    /// See it sooner.
    Detect,
    /// Change how people work: runbooks, on-call, drills.
    Process,
}

impl ActionType {
    pub fn text(self) -> &'static str {
        match self {
            ActionType::Prevent => "prevent",
            ActionType::Mitigate => "mitigate",
            ActionType::Detect => "detect",
            ActionType::Process => "process",
        }
    }
}

/// The action items a run proposes: one per missed expectation (a missed
/// detection budget alone is a `detect` item; any other miss is `mitigate`)
/// and one per runbook gap a drill found (`process`). The owner is the
/// scenario's owner, for the debrief to change.
pub fn proposed_actions(scenario: &Scenario, result: &RunResult) -> Vec<ActionItem> {
    let owner = scenario.owner.clone().unwrap_or_default();
    let mut items = Vec::new();
    for e in result.expectations.iter().filter(|e| !e.met) {
        let limit = scenario.expected_recoveries.iter().find(|x| x.name == e.name).and_then(|x| x.detected_within).map(|d| d.as_millis());
        let detection_missed = limit.is_some_and(|limit| e.time_to_detect.is_none_or(|t| t > limit));
        let only_detection = detection_missed && e.misses.len() == 1;
        let kind = if only_detection { ActionType::Detect } else { ActionType::Mitigate };
        items.push(ActionItem { action: format!("Investigate why “{}” missed: {}", e.name, e.misses.join("; ")), owner: owner.clone(), kind, priority: "high" });
    }
    for gap in result.drill.iter().flat_map(|d| &d.gaps) {
        items.push(ActionItem { action: gap.clone(), owner: owner.clone(), kind: ActionType::Process, priority: "medium" });
    }
    items
}

/// The text of every human section, in report order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sections {
    /// (id, heading, text). Text ends with a newline.
    pub texts: Vec<(&'static str, &'static str, String)>,
}

impl Sections {
    /// The blank template for a run; the action items start with the ones
    /// the run proposes (`proposed_actions`).
    pub fn template(scenario: &Scenario, result: &RunResult) -> Sections {
        let texts = TEMPLATES
            .iter()
            .map(|t| {
                let text = if t.id == "action-items" {
                    let mut rows = String::from(
                        "_Type: prevent, mitigate, detect or process. Owner: the scenario's owner until the debrief names one. Ticket: the tracker's link._\n\n| Action | Owner | Type | Priority | Ticket | Due |\n|---|---|---|---|---|---|\n",
                    );
                    for item in proposed_actions(scenario, result) {
                        let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
                        rows.push_str(&format!("| {} | {} | {} | {} | | |\n", cell(&item.action), cell(&item.owner), item.kind.text(), item.priority));
                    }
                    rows.push_str("| | | | | | |\n");
                    rows
                } else {
                    t.prompt.to_string()
                };
                (t.id, t.title, text)
            })
            .collect();
        Sections { texts }
    }

    /// The sections as written in an earlier `report.md`; a section whose
    /// markers are missing keeps the template, and its id is returned.
    pub fn kept_from(previous: &str, template: &Sections) -> (Sections, Vec<&'static str>) {
        let mut missing = Vec::new();
        let texts = template
            .texts
            .iter()
            .map(|(id, title, default)| match extract(previous, id) {
                Some(text) => (*id, *title, text),
                None => {
                    missing.push(*id);
                    (*id, *title, default.clone())
                }
            })
            .collect();
        // A report from before the postmortem layout lacks all of its sections: nothing was lost.
        if ADDED_WITH_THE_POSTMORTEM.iter().all(|id| missing.contains(id)) {
            missing.retain(|id| !ADDED_WITH_THE_POSTMORTEM.contains(id));
        }
        (Sections { texts }, missing)
    }

    /// The postmortem's status, severity and authors, read from its table.
    pub fn postmortem(&self) -> Postmortem {
        let cell = |name: &str| self.get("postmortem").lines().find_map(|line| row_value(line, name)).map(|(_, value)| value.to_string());
        let status_text = cell("Status").unwrap_or_default();
        let status = match status_text.to_ascii_lowercase().as_str() {
            "draft" | "" => Some(Status::Draft),
            "final" => Some(Status::Final),
            _ => None,
        };
        Postmortem { status, status_problem: status.is_none().then_some(status_text), severity: cell("Severity").unwrap_or_default(), authors: cell("Authors").unwrap_or_default() }
    }

    /// The action items' rows with an action written, as (action, owner, type, priority) cells.
    pub fn action_items(&self) -> Vec<[String; 4]> {
        let mut rows = Vec::new();
        let mut header: Option<Vec<String>> = None;
        for line in self.get("action-items").lines().map(str::trim).filter(|l| l.starts_with('|')) {
            let cells: Vec<String> = line.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect();
            if cells.iter().all(|c| c.chars().all(|ch| matches!(ch, '-' | ':'))) {
                continue;
            }
            let Some(names) = &header else {
                header = Some(cells.iter().map(|c| c.to_ascii_lowercase()).collect());
                continue;
            };
            let get = |name: &str| names.iter().position(|n| n == name).and_then(|i| cells.get(i)).cloned().unwrap_or_default();
            if !get("action").is_empty() {
                rows.push([get("action"), get("owner"), get("type"), get("priority")]);
            }
        }
        rows
    }

    pub fn get(&self, id: &str) -> &str {
        self.texts.iter().find(|(i, _, _)| *i == id).map_or("", |(_, _, t)| t.as_str())
    }

    pub fn title(&self, id: &str) -> &'static str {
        self.texts.iter().find(|(i, _, _)| *i == id).map_or("", |(_, t, _)| t)
    }

    /// The section wrapped in its markers, as it appears in `report.md`.
    pub fn marked(&self, id: &str) -> String {
        format!("{}\n{}{}\n", begin_marker(id), self.get(id), end_marker(id))
    }
}

pub fn begin_marker(id: &str) -> String {
    format!("<!-- gameday:begin {id} (kept when the report is rendered again) -->")
}

pub fn end_marker(id: &str) -> String {
    format!("<!-- gameday:end {id} -->")
}

/// The value of a table row whose first cell is `name` (any case, any
/// spacing, with or without the outer pipes; emphasis marks dropped), and
/// where it starts in `line` (bytes): the one reading of the postmortem's table.
fn row_value<'a>(line: &'a str, name: &str) -> Option<(usize, &'a str)> {
    let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
    let value = cells.get(1)?.trim_matches(['`', '*', '_']);
    // `value` is a slice of `line`: its offset is the distance between the two.
    cells[0].eq_ignore_ascii_case(name).then(|| (value.as_ptr() as usize - line.as_ptr() as usize, value))
}

/// Where the postmortem's Status cell is in a `report.md`, as 1-based line
/// and column (in characters), read as [`Sections::postmortem`] reads it,
/// so that a warning about the cell takes an editor to it.
pub fn status_cell_at(report: &str) -> Option<(usize, usize)> {
    let (begin, end) = (begin_marker("postmortem"), end_marker("postmortem"));
    let mut inside = false;
    for (index, line) in report.lines().enumerate() {
        if line.contains(&begin) {
            inside = true;
        } else if line.contains(&end) {
            inside = false;
        } else if let Some((at, _)) = row_value(line, "Status").filter(|_| inside) {
            return Some((index + 1, line[..at].chars().count() + 1));
        }
    }
    None
}

fn extract(text: &str, id: &str) -> Option<String> {
    let begin = begin_marker(id);
    let start = text.find(&begin)? + begin.len();
    let start = start + usize::from(text[start..].starts_with('\n'));
    let end = start + text[start..].find(&end_marker(id))?;
    Some(text[start..end].to_string())
}

/// One phrase the blameless check noticed.
#[derive(Clone, Debug, PartialEq)]
pub struct Flag {
    pub section: &'static str,
    pub phrase: String,
    pub line: String,
    pub advice: &'static str,
}

const PHRASES: [(&str, &str); 5] = [
    (r"(?i)\bhuman errors?\b", "“human error” is where an inquiry should start, not end: what made the action reasonable at the time, and what let it have this effect?"),
    (
        r"(?i)\b(should|shouldn't|should not|ought to) have\b|\bshould've\b",
        "counterfactuals describe what did not happen; say what people knew and did at the time, and why it made sense to them.",
    ),
    (r"(?i)\bfail(ed|s)? to\b", "“failed to” judges with hindsight; describe what happened instead, and what made the right step hard to see."),
    (
        r"(?i)\b(careless(ness)?|sloppy|negligen(t|ce)|lazy|incompeten(t|ce))\b",
        "judging character teaches the system nothing; describe the conditions (time pressure, tooling, signals) instead.",
    ),
    (r"(?i)\b(blame[ds]?|blaming|fault of|(his|her|their) fault)\b", "a blameless debrief looks for contributing factors, not culprits."),
];

/// Phrases in the sections people wrote that blameless debrief guides
/// advise against. Sections still equal to the template are skipped.
pub fn blameless_flags(sections: &Sections, template: &Sections) -> Vec<Flag> {
    let patterns: Vec<(Regex, &'static str)> = PHRASES.iter().filter_map(|(p, advice)| Regex::new(p).ok().map(|r| (r, *advice))).collect();
    let mut flags = Vec::new();
    for ((id, title, text), (_, _, default)) in sections.texts.iter().zip(&template.texts) {
        // Names and addresses, not accounts of what happened.
        if text == default || matches!(*id, "participants" | "postmortem" | "links") {
            continue;
        }
        for line in text.lines() {
            for (pattern, advice) in &patterns {
                for found in pattern.find_iter(line) {
                    flags.push(Flag { section: title, phrase: found.as_str().to_string(), line: line.trim().to_string(), advice });
                }
            }
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result() -> RunResult {
        serde_json::from_str(r#"{"schema_version":1,"scenario":"s","title":null,"environment":"sim","account":"1","seed":1,"outcome":{"kind":"hypothesis_held"},"exit_code":0,"duration_ms":0,"injection_started_at":null,"faults":[],"expectations":[],"probes":[]}"#).unwrap()
    }

    fn scenario() -> Scenario {
        serde_saphyr::from_str("apiVersion: gameday/v1\nname: s\nsteady_state: []\nfaults: []\nexpected_recoveries: []\n").unwrap()
    }

    #[test]
    fn sections_survive_a_round_trip_and_edits_are_kept() {
        let template = Sections::template(&scenario(), &result());
        let mut report = String::new();
        for (id, _, _) in &template.texts {
            report.push_str(&template.marked(id));
        }
        let edited = report.replace("_Which alarms, dashboards, automation and runbook steps worked as intended?_\n\n- \n", "- The ASG replaced capacity in 40 s.\n");
        let (kept, missing) = Sections::kept_from(&edited, &template);
        assert!(missing.is_empty());
        assert_eq!(kept.get("went-well"), "- The ASG replaced capacity in 40 s.\n");
        assert_eq!(kept.get("lucky"), template.get("lucky"));
        assert!(blameless_flags(&kept, &template).is_empty());
    }

    #[test]
    fn blame_words_are_flagged_gently_and_blameless_is_not() {
        let template = Sections::template(&scenario(), &result());
        let mut sections = template.clone();
        let went_wrong = sections.texts.iter().position(|(id, _, _)| *id == "went-wrong").unwrap();
        sections.texts[went_wrong].2 = "- Human error: the operator should have paged the DB team.\n- We failed to notice. Stay blameless.\n".into();
        let phrases: Vec<String> = blameless_flags(&sections, &template).into_iter().map(|f| f.phrase.to_lowercase()).collect();
        assert_eq!(phrases, ["human error", "should have", "failed to"]);
    }
}
