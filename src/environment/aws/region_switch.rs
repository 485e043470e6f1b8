//! Amazon Application Recovery Controller (ARC) Region switch: the
//! `region_switch` step, the disaster-recovery plan executed as part of a
//! game day, followed to its end, and cancelled when still unfinished.
//!
//! ARC names an execution only once it has started, so the journaled effect
//! carries a comment with the run's token instead: the revert (and
//! `recover`, after a crash) lists the plan's executions and cancels the
//! unfinished one with that comment, then reads it back.
//!
//! ARC's API has no practice flag: `StartPlanExecution` takes a plan, a
//! target Region, an action and `graceful`/`ungraceful`, and every execution
//! runs the plan's steps for real. A practice is therefore a real execution
//! that the team planned; `mode: recovery` only changes what gameday asks of
//! the person starting the run (docs/aws.md).

use std::collections::BTreeSet;

use aws_sdk_arcregionswitch::types::{ExecutionAction, ExecutionEventType, ExecutionMode, ExecutionState};

use super::{Clients, sdk_error};
use crate::environment::{Effect, EnvError, Millis, Observation, PlanExecutionEnd, Reach, RevertOutcome};
use crate::scenario::{RegionSwitchAction, RegionSwitchExecution};

/// What the plan says about itself, read before the run.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanSummary {
    pub name: String,
    pub regions: Vec<String>,
    /// Every step of every workflow, as `name (block type)`.
    pub steps: Vec<String>,
    pub rto_minutes: Option<i32>,
}

fn is_unfinished(state: &ExecutionState) -> bool {
    matches!(
        state,
        ExecutionState::InProgress | ExecutionState::Pending | ExecutionState::PendingManualApproval | ExecutionState::PausedByFailedStep | ExecutionState::PausedByOperator
    )
}

pub async fn plan_summary(clients: &Clients, plan: &str) -> Result<PlanSummary, EnvError> {
    let out = clients.arc_region_switch.get_plan().arn(plan).send().await.map_err(|e| {
        if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
            EnvError::NotFound { resource: format!("ARC Region switch plan `{plan}`"), hint: Some("name the plan by its ARN (aws arc-region-switch list-plans)".into()) }
        } else {
            sdk_error("arc-region-switch:GetPlan", e)
        }
    })?;
    let Some(found) = out.plan() else {
        return Err(EnvError::NotFound { resource: format!("ARC Region switch plan `{plan}`"), hint: None });
    };
    let steps = found.workflows().iter().flat_map(|w| w.steps()).map(|s| format!("{} ({})", s.name(), s.execution_block_type().as_str())).collect();
    Ok(PlanSummary { name: found.name().to_string(), regions: found.regions().to_vec(), steps, rto_minutes: found.recovery_time_objective_minutes() })
}

/// The guards Region switch itself imposes, before anything starts: the
/// plan exists, the target is one of its Regions, and no other execution
/// of the plan is unfinished. The plan's Regions go to the `regions` guard.
pub async fn reach(clients: &Clients, plan: &str, target_region: &str, describe: &str) -> Result<Reach, EnvError> {
    let summary = plan_summary(clients, plan).await?;
    if !summary.regions.iter().any(|r| r == target_region) {
        return Err(EnvError::NotFound {
            resource: format!("Region {target_region} in plan {}", summary.name),
            hint: Some(format!("its Regions: {}", summary.regions.join(", "))),
        });
    }
    if let Some((id, state)) = executions(clients, plan).await?.into_iter().find(|(_, _, state)| is_unfinished(state)).map(|(id, _, state)| (id, state)) {
        return Err(EnvError::Busy(format!(
            "plan {} has an unfinished execution ({id}, {}), and a plan runs one execution at a time; let it end or cancel it first",
            summary.name,
            state.as_str()
        )));
    }
    let rto = summary.rto_minutes.map(|m| format!(", RTO {m} min")).unwrap_or_default();
    Ok(Reach {
        regions: summary.regions.clone(),
        other_resources: vec![format!("ARC Region switch plan {} ({describe}; Regions {}{rto}), steps: {}", summary.name, summary.regions.join(", "), summary.steps.join(", "))],
        ..Reach::default()
    })
}

/// Every execution of the plan: (id, comment, state), every page.
async fn executions(clients: &Clients, plan: &str) -> Result<Vec<(String, String, ExecutionState)>, EnvError> {
    let mut found = Vec::new();
    let mut pages = clients.arc_region_switch.list_plan_executions().plan_arn(plan).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("arc-region-switch:ListPlanExecutions", e))?;
        for e in page.items() {
            found.push((e.execution_id().to_string(), e.comment().unwrap_or_default().to_string(), e.execution_state().clone()));
        }
    }
    Ok(found)
}

pub async fn start(clients: &Clients, effect: &Effect) -> Result<String, EnvError> {
    let Effect::RegionSwitch { plan, target_region, action, execution, comment, .. } = effect else {
        return Err(EnvError::Unsupported("not a Region switch".into()));
    };
    let out = clients
        .arc_region_switch
        .start_plan_execution()
        .plan_arn(plan)
        .target_region(target_region)
        .action(match action {
            RegionSwitchAction::Activate => ExecutionAction::Activate,
            RegionSwitchAction::Deactivate => ExecutionAction::Deactivate,
        })
        .mode(match execution {
            RegionSwitchExecution::Graceful => ExecutionMode::Graceful,
            RegionSwitchExecution::Ungraceful => ExecutionMode::Ungraceful,
        })
        .comment(comment)
        .send()
        .await
        .map_err(|e| sdk_error("arc-region-switch:StartPlanExecution", e))?;
    out.execution_id().map(str::to_string).ok_or_else(|| EnvError::Failed("arc-region-switch:StartPlanExecution answered without an execution id".into()))
}

/// One execution gameday started and follows.
#[derive(Clone, Debug)]
pub struct Followed {
    pub fault: String,
    pub plan: String,
    pub execution_id: String,
    /// Events already shown, by id.
    pub seen: BTreeSet<String>,
}

/// Reads the execution's new events (each becomes an observation; a step
/// waiting for approval says how a person approves it) and its state.
/// `Some` once it has ended, with ARC's `actualRecoveryTime`.
pub async fn follow(clients: &Clients, followed: &mut Followed, now: Millis, notes: &mut Vec<Observation>) -> Result<Option<PlanExecutionEnd>, EnvError> {
    let mut pages = clients.arc_region_switch.list_plan_execution_events().plan_arn(&followed.plan).execution_id(&followed.execution_id).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("arc-region-switch:ListPlanExecutionEvents", e))?;
        for event in page.items() {
            if !followed.seen.insert(event.event_id().to_string()) {
                continue;
            }
            notes.push(Observation { at: now, source: "arc-region-switch".into(), message: describe_event(followed, event) });
        }
    }
    let out = clients
        .arc_region_switch
        .get_plan_execution()
        .plan_arn(&followed.plan)
        .execution_id(&followed.execution_id)
        .send()
        .await
        .map_err(|e| sdk_error("arc-region-switch:GetPlanExecution", e))?;
    if is_unfinished(out.execution_state()) {
        return Ok(None);
    }
    let actual = out.actual_recovery_time().map(str::to_string);
    Ok(Some(PlanExecutionEnd {
        fault: followed.fault.clone(),
        execution_id: followed.execution_id.clone(),
        state: out.execution_state().as_str().to_string(),
        at: now,
        actual_recovery_ms: actual.as_deref().and_then(parse_iso_duration),
        actual_recovery_time: actual,
    }))
}

fn describe_event(followed: &Followed, event: &aws_sdk_arcregionswitch::types::ExecutionEvent) -> String {
    let kind = event.r#type().map_or("event", |t| t.as_str());
    let step = event.step_name().unwrap_or("");
    let approval = matches!(event.r#type(), Some(ExecutionEventType::ExecutionPendingApproval | ExecutionEventType::ExecutionPendingChildPlanManualApproval));
    let mut message = format!("execution {}: {kind}", followed.execution_id);
    if !step.is_empty() {
        message.push_str(&format!(" (step `{step}`)"));
    }
    if let Some(description) = event.description().filter(|d| !d.is_empty()) {
        message.push_str(&format!(": {description}"));
    }
    if let Some(error) = event.error().filter(|e| !e.is_empty()) {
        message.push_str(&format!(" [error: {error}]"));
    }
    if approval {
        // gameday never approves: the decision belongs to the people running the game day.
        message.push_str(&format!(
            ". MANUAL APPROVAL PENDING: a person decides; to approve: aws arc-region-switch approve-plan-execution-step --plan-arn {} --execution-id {} --step-name {} --approval approve",
            followed.plan,
            followed.execution_id,
            if step.is_empty() { "<step>" } else { step }
        ));
    }
    message
}

/// Cancels the plan's unfinished execution that carries the effect's
/// comment and reads it back; a finished one (or none: never started) is
/// nothing to do, as a completed switch is the DR step itself.
pub async fn cancel(clients: &Clients, effect: &Effect) -> Result<RevertOutcome, EnvError> {
    let Effect::RegionSwitch { plan, comment, .. } = effect else {
        return Err(EnvError::Unsupported("not a Region switch".into()));
    };
    let mut outcome = RevertOutcome::default();
    let ours: Vec<(String, ExecutionState)> = executions(clients, plan).await?.into_iter().filter(|(_, c, _)| c == comment).map(|(id, _, state)| (id, state)).collect();
    if ours.is_empty() {
        outcome.skipped.push((plan.clone(), format!("no execution carries the comment `{comment}` (it never started)")));
    }
    for (id, state) in ours {
        if !is_unfinished(&state) {
            outcome.skipped.push((id, format!("the execution had ended already ({})", state.as_str())));
            continue;
        }
        clients
            .arc_region_switch
            .cancel_plan_execution()
            .plan_arn(plan)
            .execution_id(&id)
            .comment(format!("cancelled by gameday at the end of its step ({comment})"))
            .send()
            .await
            .map_err(|e| sdk_error("arc-region-switch:CancelPlanExecution", e))?;
        let read = clients.arc_region_switch.get_plan_execution().plan_arn(plan).execution_id(&id).send().await.map_err(|e| sdk_error("arc-region-switch:GetPlanExecution", e))?;
        let state = read.execution_state();
        if is_unfinished(state) {
            return Err(EnvError::Failed(format!("execution {id} was cancelled, but ARC still reads it as {}", state.as_str())));
        }
        outcome.restored.push(format!("execution {id} cancelled (read back: {})", state.as_str()));
    }
    Ok(outcome)
}

/// ARC's `actualRecoveryTime`, an ISO 8601 duration (`PT4M30S`, `P1DT2H`),
/// in milliseconds. Years and months have no fixed length: `None`.
pub fn parse_iso_duration(text: &str) -> Option<Millis> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total: u64 = 0;
    let mut add = |part: &str, units: &[(char, u64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
            } else {
                let (_, ms) = units.iter().find(|(u, _)| *u == c)?;
                total = total.checked_add(number.parse::<u64>().ok()?.checked_mul(*ms)?)?;
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    add(date, &[('D', 86_400_000), ('W', 7 * 86_400_000)])?;
    add(time, &[('H', 3_600_000), ('M', 60_000), ('S', 1_000)])?;
    (rest != "T" && !rest.is_empty()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_recovery_times_read_as_iso_durations() {
        assert_eq!(parse_iso_duration("PT4M30S"), Some(270_000));
        assert_eq!(parse_iso_duration("P1DT2H"), Some(93_600_000));
        assert_eq!(parse_iso_duration("PT0S"), Some(0));
        assert_eq!(parse_iso_duration("P1M"), None, "a month has no fixed length");
        assert_eq!(parse_iso_duration("P1Y"), None);
        assert_eq!(parse_iso_duration("4 minutes"), None);
        assert_eq!(parse_iso_duration("P"), None);
        assert_eq!(parse_iso_duration("PT"), None);
    }
}
