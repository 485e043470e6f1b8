//! The drill a run hosts: people's commands arrive on a channel and are
//! applied from T0 on, journaled as the runbook's steps.

use super::clock::Clock;
use super::{Observer, Runner};
use crate::drill::{DrillInput, DrillSession, Interpreted};
use crate::environment::{EnvError, Environment, Millis};
use crate::journal::{Actor, Event};

/// The drill the runner hosts: the session, and the commands arriving for it.
pub(super) struct DrillLink {
    pub(super) session: DrillSession,
    pub(super) speed: String,
    pub(super) inputs: tokio::sync::mpsc::UnboundedReceiver<DrillInput>,
    /// Received, waiting for their `at` time (or for T0).
    pub(super) pending: Vec<DrillInput>,
    pub(super) closed: bool,
    /// Someone ended the drill (`quit`), rather than a signal.
    pub(super) ended_by_people: bool,
}

/// The next drill command, or never (no drill, or its input has ended).
pub(super) async fn next_drill_input(drill: &mut Option<DrillLink>) -> Option<DrillInput> {
    match drill {
        Some(link) if !link.closed => {
            let input = link.inputs.recv().await;
            link.closed = input.is_none();
            input
        }
        _ => std::future::pending().await,
    }
}

impl<E: Environment, C: Clock, O: Observer> Runner<'_, E, C, O> {
    /// Makes this run a drill: people's commands arrive on `inputs` and are
    /// applied from T0 on (at once, or at their `at` time).
    pub fn with_drill(mut self, session: DrillSession, speed: impl Into<String>, inputs: tokio::sync::mpsc::UnboundedReceiver<DrillInput>) -> Self {
        self.drill = Some(DrillLink { session, speed: speed.into(), inputs, pending: Vec::new(), closed: false, ended_by_people: false });
        self
    }

    /// Applies every drill command that is due. A command that cannot be
    /// done is refused to the observer and not journaled; `quit` raises the
    /// interrupt, which ends the loop like Ctrl-C.
    pub(super) async fn apply_drill_inputs(&mut self, t0: Millis) {
        let Some(link) = self.drill.as_mut() else { return };
        while let Ok(input) = link.inputs.try_recv() {
            link.pending.push(input);
        }
        loop {
            let now = self.clock.now();
            let Some(link) = self.drill.as_mut() else { return };
            // Due commands in their time order; untimed ones (typed live) first.
            let Some(index) = (0..link.pending.len()).filter(|i| link.pending[*i].at.is_none_or(|at| t0 + at <= now)).min_by_key(|i| (link.pending[*i].at.unwrap_or(0), *i)) else {
                return;
            };
            let input = link.pending.remove(index);
            match link.session.interpret(&input.command) {
                Ok(Interpreted::Events(events)) => {
                    for event in events {
                        let t = self.log(event.clone(), false);
                        if let Some(link) = self.drill.as_mut() {
                            link.session.follow(t, &event);
                        }
                    }
                }
                Ok(Interpreted::Action { action, step }) => {
                    let event = match self.env.operator_action(&action, now).await {
                        Ok(detail) => Event::OperatorActionTaken { action: action.name.clone(), step, by: Actor::Gameday, detail },
                        Err(EnvError::Unsupported(_)) => Event::OperatorActionTaken {
                            action: action.name.clone(),
                            step,
                            by: Actor::People,
                            detail: format!("{} (done by hand; gameday recorded when)", action.change.describe()),
                        },
                        Err(error) => Event::OperatorActionFailed { action: action.name.clone(), error: error.to_string() },
                    };
                    let t = self.log(event.clone(), true);
                    if let Some(link) = self.drill.as_mut() {
                        link.session.follow(t, &event);
                    }
                    self.drain_observations();
                }
                Ok(Interpreted::Quit) => {
                    if let Some(link) = self.drill.as_mut() {
                        link.ended_by_people = true;
                    }
                    self.interrupt.raise();
                }
                Err(message) => self.ledger.observer.refused(&message),
            }
        }
    }
}
