//! The sections people write at the debrief. Each sits between HTML-comment
//! markers in `report.md`, so rendering the report again (`gameday report`)
//! keeps what people wrote there, and the blameless check can read it.

use regex::Regex;

use crate::run::RunResult;

/// id, heading, default text (ends with a newline).
struct Template {
    id: &'static str,
    title: &'static str,
    prompt: &'static str,
}

const TEMPLATES: [Template; 10] = [
    Template { id: "summary", title: "Summary", prompt: "_Team: in two or three sentences, what happened and what it means for our users._\n" },
    Template { id: "went-well", title: "What went well", prompt: "_Which alarms, dashboards, automation and runbook steps worked as intended?_\n\n- \n" },
    Template { id: "went-wrong", title: "What went wrong", prompt: "_What did not work as intended: in the system, the signals, the tools or the runbook?_\n\n- \n" },
    Template { id: "surprises", title: "What surprised us", prompt: "_Where did the system or the team behave differently from the hypothesis?_\n\n- \n" },
    Template { id: "lucky", title: "Where we got lucky", prompt: "_What went right that we cannot count on next time?_\n\n- \n" },
    Template { id: "factors", title: "Contributing factors", prompt: "_List every factor that shaped the outcome; there is rarely a single root cause._\n\n- \n" },
    Template {
        id: "people-steps",
        title: "People's steps",
        prompt: "_When did people notice, acknowledge, decide and act? Give `T+` times so they read against the timeline above._\n\n| Time | Who | Step |\n|---|---|---|\n| T+ | | acknowledged |\n",
    },
    Template { id: "runbook", title: "Runbook followed", prompt: "_Which runbook steps did people follow, skip or change? What was missing or out of date?_\n\n- \n" },
    Template { id: "action-items", title: "Action items", prompt: "" },
    Template { id: "participants", title: "Participants", prompt: "| Role | Name |\n|---|---|\n| Facilitator | |\n| Incident commander | |\n| Scribe | |\n| Observers | |\n" },
];

/// The text of every human section, in report order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sections {
    /// (id, heading, text). Text ends with a newline.
    pub texts: Vec<(&'static str, &'static str, String)>,
}

impl Sections {
    /// The blank template for a run; the action items start with one row per missed expectation.
    pub fn template(result: &RunResult) -> Sections {
        let texts = TEMPLATES
            .iter()
            .map(|t| {
                let text = if t.id == "action-items" {
                    let mut rows = String::from("| Action | Owner | Priority | Due |\n|---|---|---|---|\n");
                    for e in result.expectations.iter().filter(|e| !e.met) {
                        rows.push_str(&format!("| Investigate why “{}” missed: {} | | high | |\n", e.name, e.misses.join("; ")));
                    }
                    for gap in result.drill.iter().flat_map(|d| &d.gaps) {
                        rows.push_str(&format!("| {} | | medium | |\n", gap.replace('|', "\\|")));
                    }
                    rows.push_str("| | | | |\n");
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
        (Sections { texts }, missing)
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
        if text == default || *id == "participants" {
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

    #[test]
    fn sections_survive_a_round_trip_and_edits_are_kept() {
        let template = Sections::template(&result());
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
        let template = Sections::template(&result());
        let mut sections = template.clone();
        sections.texts[2].2 = "- Human error: the operator should have paged the DB team.\n- We failed to notice. Stay blameless.\n".into();
        let phrases: Vec<String> = blameless_flags(&sections, &template).into_iter().map(|f| f.phrase.to_lowercase()).collect();
        assert_eq!(phrases, ["human error", "should have", "failed to"]);
    }
}
