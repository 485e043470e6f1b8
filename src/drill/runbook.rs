//! What a drill reads of a runbook beyond its steps (which `scenario::runbook`
//! reads, for the scenario checks too): the signals people watch.

pub use crate::scenario::runbook::{RunbookError, parse_steps};
pub use crate::vocab::RunbookStep;

use crate::scenario::runbook::{heading_text, is_heading, outside_fences};

/// The names in backticks in the runbook's signals section (a level-2
/// heading that starts with "Signals", such as `## Signals to watch`),
/// outside code fences. These are what the team watches: the trainee's view
/// of a drill shows the probes named here (docs/drills.md). Empty when the
/// runbook has no such section.
pub fn signal_names(markdown: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_section = false;
    for (_, line) in outside_fences(markdown.lines().enumerate()) {
        if is_heading(line, 1) || is_heading(line, 2) {
            in_section = is_heading(line, 2) && heading_text(line).to_ascii_lowercase().starts_with("signals");
            continue;
        }
        if in_section {
            // Every other piece between backticks is code: `a` and `b`.
            names.extend(line.split('`').skip(1).step_by(2).map(str::trim).filter(|n| !n.is_empty()).map(String::from));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNBOOK: &str = "# Title\n\n## Purpose\n\n1. not a step\n\n## Steps\n\n1. **Confirm the standby is ready before injection.**\n   - Expected: `web-asg-dr` has 3 instances.\n   - Verify: `aws autoscaling …`\n\n2. **Fail over (by T0+10 min).**\n   Some prose.\n   - Action: `fail-over`\n   - Expected: the API answers from us-west-2.\n   ```bash\n   3. not a step inside a fence\n   ```\n3. **Watch the standby (T0+3 min to T0+20 min).**\n10. Plain step without bold\n\n## Rollback\n\n1. **Not a step.**\n";

    #[test]
    fn signals_are_the_names_in_backticks_of_the_signals_section() {
        let runbook = "# T\n\nThe fault `secret-fault` is a gray failure.\n\n## Signals to watch\n\n- **Probe `api`** (`https://x`). Alarm `web-5xx` pages.\n```\n`not-this`\n```\n\n## Steps\n\n1. **Check `other`.**\n";
        assert_eq!(signal_names(runbook), vec!["api", "https://x", "web-5xx"]);
        assert!(signal_names(RUNBOOK).is_empty(), "no signals section, no names");
    }
}
