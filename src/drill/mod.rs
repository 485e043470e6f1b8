//! Training drills: people work the runbook while the fault is live, and
//! gameday measures their response as well as the system's.
//!
//! The pieces: the runbook's numbered steps ([`runbook`]), what people type
//! or press ([`DrillCommand`]), the live state of the steps
//! ([`DrillSession`], kept in the runner and rebuilt from the journal the
//! same way), the human metrics of the report ([`measure`]), and what each
//! view of the console may show ([`view`]).
//!
//! Architecture invariant: this module never touches the terminal or the
//! clock; the CLI's console feeds commands in and draws the session.

pub mod measure;
pub mod runbook;
pub mod view;

use crate::journal::Event;
use crate::scenario::{Duration, OperatorAction};
use crate::vocab::Millis;

pub use runbook::{RunbookStep, parse_steps, signal_names};
pub use view::{View, Visibility};

/// Something people did, by key or by line.
#[derive(Clone, Debug, PartialEq)]
pub enum DrillCommand {
    /// "We are on it": the step (default: the current one) is being worked.
    Acknowledge(Option<u32>),
    Done(Option<u32>),
    Skip {
        step: Option<u32>,
        reason: Option<String>,
    },
    /// A note on a step; `unclear` marks the step's text as a runbook gap.
    Annotate {
        step: Option<u32>,
        text: String,
        unclear: bool,
    },
    /// A free-text observation by anyone, tied to no step.
    Observe(String),
    /// Take an operator action: by name, or the current step's.
    Act(Option<String>),
    /// End the drill now; every fault is reverted.
    Quit,
}

/// A command and, in a script, when to apply it (counted from T0).
#[derive(Clone, Debug, PartialEq)]
pub struct DrillInput {
    pub at: Option<Millis>,
    pub command: DrillCommand,
}

/// The line syntax, for `help` and errors.
pub const COMMANDS_HELP: &str =
    "commands: ack [N] | done [N] | skip [N] [reason] | note [N] TEXT | unclear [N] TEXT | observe TEXT | act [ACTION] | quit; a script line may start with `at T0+2m30s`";

/// Parses one line of drill input: `[at T0+DURATION] COMMAND [STEP] [TEXT]`.
/// Blank lines and `#` comments give `Ok(None)`.
pub fn parse_line(line: &str) -> Result<Option<DrillInput>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (at, rest) = match line.strip_prefix("at ") {
        Some(rest) => {
            let rest = rest.trim_start();
            let (when, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let offset =
                when.strip_prefix("T0+").or_else(|| when.strip_prefix("t0+")).ok_or_else(|| format!("`{when}`: write times as `T0+2m30s` (counted from the fault's start)"))?;
            let duration: Duration = offset.parse().map_err(|e| format!("`{when}`: {e}"))?;
            (Some(duration.as_millis()), rest.trim_start())
        }
        None => (None, line),
    };
    let (word, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let rest = rest.trim();
    // An optional step number, then free text.
    let (step, text) = match rest.split_once(char::is_whitespace).map_or((rest, ""), |(a, b)| (a, b.trim())) {
        (first, text) if !first.is_empty() && first.chars().all(|c| c.is_ascii_digit()) => {
            (Some(first.parse::<u32>().map_err(|_| format!("`{first}` is not a step number"))?), text)
        }
        _ => (None, rest),
    };
    let text_needed = |what: &str| if text.is_empty() { Err(format!("`{word}` needs {what}")) } else { Ok(text.to_string()) };
    let command = match word.to_ascii_lowercase().as_str() {
        "a" | "ack" | "acknowledge" => DrillCommand::Acknowledge(step),
        "d" | "done" => DrillCommand::Done(step),
        "s" | "skip" => DrillCommand::Skip { step, reason: (!text.is_empty()).then(|| text.to_string()) },
        "n" | "note" => DrillCommand::Annotate { step, text: text_needed("a note")?, unclear: false },
        "u" | "unclear" => DrillCommand::Annotate { step, text: text_needed("a note saying what is unclear")?, unclear: true },
        "o" | "obs" | "observe" => DrillCommand::Observe(if step.is_some() { rest.to_string() } else { text_needed("the observation")? }),
        "x" | "act" | "action" => DrillCommand::Act((!rest.is_empty()).then(|| rest.to_string())),
        "q" | "quit" | "end" => DrillCommand::Quit,
        other => return Err(format!("unknown command `{other}`; {COMMANDS_HELP}")),
    };
    Ok(Some(DrillInput { at, command }))
}

/// Where one step stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepProgress {
    pub acknowledged: Option<Millis>,
    pub done: Option<Millis>,
    pub skipped: Option<Millis>,
}

impl StepProgress {
    pub fn finished(&self) -> bool {
        self.done.is_some() || self.skipped.is_some()
    }
}

/// What a command asks of the runner.
#[derive(Clone, Debug)]
pub enum Interpreted {
    /// Journal these (the session follows the journal).
    Events(Vec<Event>),
    /// Take this operator action, for this step.
    Action {
        action: OperatorAction,
        step: Option<u32>,
    },
    Quit,
}

/// The runbook's steps and where each stands. The runner keeps one live; the
/// report rebuilds one from the journal with the same [`DrillSession::follow`].
#[derive(Clone, Debug)]
pub struct DrillSession {
    pub runbook: String,
    pub steps: Vec<RunbookStep>,
    pub progress: Vec<StepProgress>,
    pub actions: Vec<OperatorAction>,
    /// Operator actions taken, with when.
    pub taken: Vec<(String, Millis)>,
}

impl DrillSession {
    pub fn new(runbook: String, steps: Vec<RunbookStep>, actions: Vec<OperatorAction>) -> Self {
        DrillSession { runbook, progress: vec![StepProgress::default(); steps.len()], steps, actions, taken: Vec::new() }
    }

    /// The first step neither done nor skipped.
    pub fn current(&self) -> Option<usize> {
        self.progress.iter().position(|p| !p.finished())
    }

    fn index_of(&self, number: u32) -> Option<usize> {
        self.steps.iter().position(|s| s.number == number)
    }

    fn step_or_current(&self, step: Option<u32>) -> Result<usize, String> {
        match step {
            Some(n) => {
                self.index_of(n).ok_or_else(|| format!("the runbook has no step {n} (steps: {})", self.steps.iter().map(|s| s.number.to_string()).collect::<Vec<_>>().join(", ")))
            }
            None => self.current().ok_or_else(|| "every step is done or skipped; name a step number".to_string()),
        }
    }

    /// The operator action a command would take, if any.
    pub fn action_for(&self, name: Option<&str>) -> Result<(OperatorAction, Option<u32>), String> {
        let known = || self.actions.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
        match name {
            Some(name) => {
                let by_number = name.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| self.actions.get(i));
                let action = by_number
                    .or_else(|| self.actions.iter().find(|a| a.name == name))
                    .ok_or_else(|| format!("no operator action `{name}` (the scenario declares: {})", known()))?;
                let step = self.steps.iter().find(|s| s.action.as_deref() == Some(action.name.as_str())).map(|s| s.number);
                Ok((action.clone(), step))
            }
            None => {
                let index = self.current().ok_or_else(|| "every step is done; name the action".to_string())?;
                let step = &self.steps[index];
                let name = step.action.as_deref().ok_or_else(|| format!("step {} names no action; name one (declared: {})", step.number, known()))?;
                let action = self.actions.iter().find(|a| a.name == name).ok_or_else(|| format!("step {} names `{name}`, which the scenario does not declare", step.number))?;
                Ok((action.clone(), Some(step.number)))
            }
        }
    }

    /// What a command means now, or why it cannot be done.
    pub fn interpret(&self, command: &DrillCommand) -> Result<Interpreted, String> {
        let number = |index: usize| self.steps[index].number;
        Ok(Interpreted::Events(match command {
            DrillCommand::Acknowledge(step) => {
                let index = self.step_or_current(*step)?;
                if self.progress[index].acknowledged.is_some() {
                    return Err(format!("step {} is already acknowledged", number(index)));
                }
                vec![Event::StepAcknowledged { step: number(index) }]
            }
            DrillCommand::Done(step) => {
                let index = self.step_or_current(*step)?;
                if self.progress[index].finished() {
                    return Err(format!("step {} is already finished", number(index)));
                }
                let mut events = Vec::new();
                if self.progress[index].acknowledged.is_none() {
                    events.push(Event::StepAcknowledged { step: number(index) });
                }
                events.push(Event::StepDone { step: number(index) });
                events
            }
            DrillCommand::Skip { step, reason } => {
                let index = self.step_or_current(*step)?;
                if self.progress[index].finished() {
                    return Err(format!("step {} is already finished", number(index)));
                }
                vec![Event::StepSkipped { step: number(index), reason: reason.clone() }]
            }
            DrillCommand::Annotate { step, text, unclear } => {
                let index = self.step_or_current(*step)?;
                vec![Event::StepAnnotated { step: number(index), note: text.clone(), unclear: *unclear }]
            }
            DrillCommand::Observe(text) => vec![Event::TeamObservation { text: text.clone() }],
            DrillCommand::Act(name) => {
                let (action, step) = self.action_for(name.as_deref())?;
                return Ok(Interpreted::Action { action, step });
            }
            DrillCommand::Quit => return Ok(Interpreted::Quit),
        }))
    }

    /// Follows one journaled event.
    pub fn follow(&mut self, t: Millis, event: &Event) {
        let step = match event {
            Event::StepAcknowledged { step } | Event::StepDone { step } | Event::StepSkipped { step, .. } => *step,
            Event::OperatorActionTaken { action, .. } => {
                self.taken.push((action.clone(), t));
                return;
            }
            _ => return,
        };
        let Some(index) = self.index_of(step) else { return };
        let p = &mut self.progress[index];
        match event {
            Event::StepAcknowledged { .. } => {
                p.acknowledged.get_or_insert(t);
            }
            Event::StepDone { .. } => {
                p.acknowledged.get_or_insert(t);
                p.done.get_or_insert(t);
            }
            Event::StepSkipped { .. } => {
                p.skipped.get_or_insert(t);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{FailoverSide, OperatorChange};

    fn session() -> DrillSession {
        let step =
            |number: u32, action: Option<&str>| RunbookStep { number, title: format!("step {number}"), expected: None, due: None, action: action.map(String::from), line: 1 };
        let action = OperatorAction { name: "fail-over".into(), title: None, change: OperatorChange::SwitchDns { record: "api.example.com".into(), to: FailoverSide::Secondary } };
        DrillSession::new("runbooks/x.md".into(), vec![step(1, None), step(2, Some("fail-over")), step(3, None)], vec![action])
    }

    #[test]
    fn lines_parse_with_times_steps_and_text() {
        let input = parse_line("at T0+2m30s note 3 the dashboard link is dead").unwrap().unwrap();
        assert_eq!(input.at, Some(150_000));
        assert_eq!(input.command, DrillCommand::Annotate { step: Some(3), text: "the dashboard link is dead".into(), unclear: false });
        assert_eq!(parse_line("a").unwrap().unwrap().command, DrillCommand::Acknowledge(None));
        assert_eq!(parse_line("skip 2 not needed today").unwrap().unwrap().command, DrillCommand::Skip { step: Some(2), reason: Some("not needed today".into()) });
        assert_eq!(parse_line("o 502s on the status page").unwrap().unwrap().command, DrillCommand::Observe("502s on the status page".into()));
        assert_eq!(parse_line("observe 3 people joined").unwrap().unwrap().command, DrillCommand::Observe("3 people joined".into()));
        assert_eq!(parse_line("act fail-over").unwrap().unwrap().command, DrillCommand::Act(Some("fail-over".into())));
        assert_eq!(parse_line("  # comment").unwrap(), None);
        assert!(parse_line("at 2m ack").unwrap_err().contains("T0+"));
        assert!(parse_line("at T0+2x ack").is_err());
        assert!(parse_line("note").unwrap_err().contains("needs a note"));
        assert!(parse_line("dance").unwrap_err().contains("unknown command"));
    }

    #[test]
    fn commands_act_on_the_current_step_and_follow_the_journal() {
        let mut s = session();
        assert_eq!(s.current(), Some(0));
        let Ok(Interpreted::Events(events)) = s.interpret(&DrillCommand::Done(None)) else { panic!() };
        assert_eq!(events, vec![Event::StepAcknowledged { step: 1 }, Event::StepDone { step: 1 }]);
        for e in &events {
            s.follow(10, e);
        }
        assert_eq!(s.current(), Some(1));
        assert!(s.interpret(&DrillCommand::Done(Some(1))).unwrap_err().contains("already finished"));
        let Ok(Interpreted::Action { action, step }) = s.interpret(&DrillCommand::Act(None)) else { panic!() };
        assert_eq!((action.name.as_str(), step), ("fail-over", Some(2)));
        assert!(s.interpret(&DrillCommand::Act(Some("nope".into()))).unwrap_err().contains("fail-over"));
        assert!(s.interpret(&DrillCommand::Acknowledge(Some(9))).unwrap_err().contains("no step 9"));
        s.follow(20, &Event::StepSkipped { step: 2, reason: None });
        s.follow(30, &Event::StepDone { step: 3 });
        assert_eq!(s.current(), None);
        assert_eq!(s.progress[2].acknowledged, Some(30));
    }
}
