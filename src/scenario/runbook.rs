//! The numbered steps of a runbook, read from its Markdown. Here, below
//! `drill`, so that the scenario checks read them too: `gameday validate`
//! rejects a step that names an operator action the scenario does not declare.
//!
//! A runbook's `## Steps` section is a numbered list. Each item's bold lead
//! is its title; a `T0+…` time in the title is when the step is expected to
//! be done; sub-bullets `- Expected: …` and `- Action: NAME` say what people
//! should see and which operator action the step takes.
//!
//! ```markdown
//! ## Steps
//!
//! 1. **Confirm the standby is ready.**
//!    - Expected: 3 healthy targets.
//! 2. **Fail over to us-west-2 (by T0+10 min).**
//!    - Action: `fail-over-to-us-west-2`
//! ```

use crate::vocab::{Millis, RunbookStep};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunbookError {
    #[error("the runbook has no `## Steps` section")]
    NoStepsSection,
    #[error("the `## Steps` section (line {line}) has no numbered step")]
    NoSteps { line: usize },
}

/// Reads the steps of the runbook's `## Steps` section.
/// The lines of Markdown outside code fences, numbered as given: a fence's
/// own lines and what it holds are left out (a `## Steps` in an example
/// block is not the runbook's).
pub fn outside_fences<'a>(lines: impl Iterator<Item = (usize, &'a str)>) -> impl Iterator<Item = (usize, &'a str)> {
    let mut fenced = false;
    lines.filter(move |(_, line)| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

pub fn parse_steps(markdown: &str) -> Result<Vec<RunbookStep>, RunbookError> {
    let lines: Vec<&str> = markdown.lines().collect();
    let section =
        outside_fences(lines.iter().copied().enumerate()).find(|(_, line)| is_heading(line, 2) && heading_text(line).eq_ignore_ascii_case("steps")).map(|(index, _)| index);
    let start = section.ok_or(RunbookError::NoStepsSection)?;
    let mut steps: Vec<RunbookStep> = Vec::new();
    // The item's text as written, continuation lines included: the title
    // (and its due time) is read from all of it.
    let mut item_text = String::new();
    let mut continuing = Continues::Nothing;
    for (index, line) in outside_fences(lines.iter().copied().enumerate().skip(start + 1)) {
        if is_heading(line, 1) || is_heading(line, 2) {
            break;
        }
        if let Some((number, rest)) = numbered_item(line) {
            item_text = rest.trim().to_string();
            let title = step_title(&item_text);
            steps.push(RunbookStep { number, due: due_time(&title), title, expected: None, action: None, line: index + 1 });
            continuing = Continues::Title;
            continue;
        }
        let Some(step) = steps.last_mut() else { continue };
        if line.trim().is_empty() {
            continuing = Continues::Nothing;
            continue;
        }
        if !line.trim_start().starts_with(['-', '*']) {
            // A line of the step's text wrapped onto the next line.
            if line.starts_with(' ') {
                match continuing {
                    Continues::Title => {
                        item_text = format!("{item_text} {}", line.trim());
                        step.title = step_title(&item_text);
                        step.due = due_time(&step.title);
                    }
                    Continues::Expected => {
                        if let Some(expected) = step.expected.as_mut() {
                            expected.push(' ');
                            expected.push_str(line.trim());
                        }
                    }
                    Continues::Nothing => {}
                }
            }
            continue;
        }
        let item = line.trim_start().trim_start_matches(['-', '*']).trim_start();
        continuing = Continues::Nothing;
        if let Some(text) = strip_label(item, "expected") {
            if step.expected.is_none() {
                step.expected = Some(text.to_string());
                continuing = Continues::Expected;
            }
        } else if let Some(text) = strip_label(item, "action") {
            let name = text.trim().trim_matches('`').trim_end_matches('.').trim_matches('`').trim();
            if !name.is_empty() {
                step.action = Some(name.to_string());
            }
        }
    }
    if steps.is_empty() {
        return Err(RunbookError::NoSteps { line: start + 1 });
    }
    Ok(steps)
}

/// Which part of the current step a wrapped line continues.
#[derive(Clone, Copy)]
enum Continues {
    Title,
    Expected,
    Nothing,
}

pub(crate) fn is_heading(line: &str, level: usize) -> bool {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    hashes == level && line[hashes..].starts_with(' ')
}

pub(crate) fn heading_text(line: &str) -> &str {
    line.trim_start_matches('#').trim()
}

/// `12. text` at the start of a line (at most 3 spaces in, as CommonMark allows).
fn numbered_item(line: &str) -> Option<(u32, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 4 {
        return None;
    }
    let after = &rest[digits..];
    let text = after.strip_prefix(". ").or_else(|| after.strip_prefix(") "))?;
    Some((rest[..digits].parse().ok()?, text))
}

/// The bold lead of a step (`**Confirm detection.**`), or its first line.
fn step_title(text: &str) -> String {
    let text = text.trim();
    if let Some(bold) = text.strip_prefix("**")
        && let Some(end) = bold.find("**")
    {
        return bold[..end].trim().to_string();
    }
    text.to_string()
}

/// `- Expected: …` → `…` (case-insensitive label, bold or not).
fn strip_label<'a>(item: &'a str, label: &str) -> Option<&'a str> {
    let item = item.trim_start_matches("**");
    let head = item.get(..label.len())?;
    if !head.eq_ignore_ascii_case(label) {
        return None;
    }
    let rest = item[label.len()..].trim_start_matches("**");
    let rest = rest.strip_prefix(':')?.trim_start_matches("**");
    Some(rest.trim())
}

/// The last `T0+<amount><unit>` in a title: `(by T0+2 min)`, `(T0 to T0+90 s)`.
fn due_time(title: &str) -> Option<Millis> {
    let mut due = None;
    let mut rest = title;
    while let Some(at) = rest.find("T0+") {
        rest = &rest[at + 3..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let after = rest[digits.len()..].trim_start();
        let unit: String = after.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        let factor = match unit.as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
            "h" | "hour" | "hours" => 3_600_000,
            _ => continue,
        };
        if let Ok(amount) = digits.parse::<u64>() {
            due = Some(amount * factor);
        }
    }
    due
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNBOOK: &str = "# Title\n\n## Purpose\n\n1. not a step\n\n## Steps\n\n1. **Confirm the standby is ready before injection.**\n   - Expected: `web-asg-dr` has 3 instances.\n   - Verify: `aws autoscaling …`\n\n2. **Fail over (by T0+10 min).**\n   Some prose.\n   - Action: `fail-over`\n   - Expected: the API answers from us-west-2.\n   ```bash\n   3. not a step inside a fence\n   ```\n3. **Watch the standby (T0+3 min to T0+20 min).**\n10. Plain step without bold\n\n## Rollback\n\n1. **Not a step.**\n";

    #[test]
    fn steps_are_read_with_titles_expectations_actions_and_due_times() {
        let steps = parse_steps(RUNBOOK).unwrap();
        assert_eq!(steps.iter().map(|s| s.number).collect::<Vec<_>>(), vec![1, 2, 3, 10]);
        assert_eq!(steps[0].title, "Confirm the standby is ready before injection.");
        assert_eq!(steps[0].expected.as_deref(), Some("`web-asg-dr` has 3 instances."));
        assert_eq!(steps[0].due, None);
        assert_eq!(steps[0].line, 9);
        assert_eq!(steps[1].action.as_deref(), Some("fail-over"));
        assert_eq!(steps[1].due, Some(600_000));
        assert_eq!(steps[1].expected.as_deref(), Some("the API answers from us-west-2."));
        assert_eq!(steps[2].due, Some(1_200_000), "the last T0+ of a range is when it should be done");
        assert_eq!(steps[3].title, "Plain step without bold");
    }

    #[test]
    fn wrapped_lines_continue_the_title_and_the_expectation() {
        let runbook = "## Steps\n\n1. **Confirm the failure is regional and that\n   Route 53 will not act (by T0+6 min).**\n   - Expected: every probe in us-east-1 fails\n     while us-west-2 answers.\n   - Action: `fail-over`\n2. Plain step\n   wrapped (T0+8 min)\n\n   Prose after a blank line is not the title.\n";
        let steps = parse_steps(runbook).unwrap();
        assert_eq!(steps[0].title, "Confirm the failure is regional and that Route 53 will not act (by T0+6 min).");
        assert_eq!(steps[0].due, Some(360_000));
        assert_eq!(steps[0].expected.as_deref(), Some("every probe in us-east-1 fails while us-west-2 answers."));
        assert_eq!(steps[0].action.as_deref(), Some("fail-over"));
        assert_eq!(steps[1].title, "Plain step wrapped (T0+8 min)");
        assert_eq!(steps[1].due, Some(480_000));
    }

    #[test]
    fn missing_sections_are_errors() {
        assert_eq!(parse_steps("# x\n\n## Purpose\n"), Err(RunbookError::NoStepsSection));
        assert_eq!(parse_steps("# x\n\n## Steps\n\nprose only\n## Next\n"), Err(RunbookError::NoSteps { line: 3 }));
    }

    #[test]
    fn due_times_take_the_last_t0_and_ignore_other_units() {
        assert_eq!(due_time("Confirm detection (by T0+2 min)"), Some(120_000));
        assert_eq!(due_time("From T0 to T0+90 s"), Some(90_000));
        assert_eq!(due_time("T0+1h then T0+5 parsecs"), Some(3_600_000));
        assert_eq!(due_time("no time"), None);
    }

    #[test]
    fn every_shipped_runbook_has_steps() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let steps = parse_steps(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(steps.len() >= 3, "{}", path.display());
            assert!(steps.windows(2).all(|w| w[0].number < w[1].number), "{}: steps out of order", path.display());
        }
    }
}
