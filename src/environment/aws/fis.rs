//! The FIS engine: faults as AWS Fault Injection Service experiments.
//!
//! One template shape serves two uses. `gameday export fis` turns a whole
//! scenario into one experiment template (targets by tags, filters and
//! selection mode; actions chained with `startAfter`, delays as
//! `aws:fis:wait`), for teams to run in FIS and schedule with EventBridge
//! Scheduler. `gameday run` with `via: fis` makes one experiment per fault
//! on the exact targets the guards chose (`resourceArns`, `ALL`), started
//! and stopped by the run loop like any other fault.
//!
//! The JSON is FIS's own `CreateExperimentTemplate` input, so what gameday
//! journals, exports and sends is the same document.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::environment::EnvError;
use crate::scenario::{AzOutageMode, Duration, Fault, FaultAction, Scenario, StopCondition, Targets};

/// Where the template will run: for ARNs and the role.
pub struct FisContext<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub role_arn: &'a str,
}

/// ISO 8601 duration as FIS wants it: `PT1H30M`, `PT90S`.
pub fn iso8601(duration: Duration) -> String {
    let mut seconds = duration.as_millis().div_ceil(1000).max(1);
    let mut text = String::from("PT");
    for (unit, size) in [("H", 3600), ("M", 60), ("S", 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}

pub fn alarm_arn(name_or_arn: &str, ctx: &FisContext<'_>) -> String {
    if name_or_arn.starts_with("arn:") { name_or_arn.to_string() } else { format!("arn:aws:cloudwatch:{}:{}:alarm:{name_or_arn}", ctx.region, ctx.account) }
}

fn selection_mode(targets: &Targets) -> String {
    match (targets.count, targets.percent) {
        (Some(count), _) => format!("COUNT({count})"),
        (None, Some(percent)) => format!("PERCENT({})", percent.floor()),
        _ => "ALL".into(),
    }
}

/// Whether FIS can make this fault (DNS, shell commands and simulator-only faults it cannot).
pub fn fis_can_make(action: &FaultAction) -> bool {
    !matches!(action, FaultAction::DnsFailover { .. } | FaultAction::Command { .. } | FaultAction::RegionOutage { .. } | FaultAction::GrayFailure { .. })
}

/// Targets and actions for one fault. `resolved` carries what a run
/// already chose (instance, subnet and group ARNs); without it (export) the
/// template selects by tags, filters and selection mode.
pub fn fault_parts(
    fault: &Fault,
    scenario: &Scenario,
    resolved: Option<&Resolved>,
    start_after: Vec<String>,
) -> Result<(BTreeMap<String, Value>, BTreeMap<String, Value>), EnvError> {
    let mut targets = BTreeMap::new();
    let mut actions = BTreeMap::new();
    let key = |suffix: &str| format!("{}-{suffix}", fault.name);
    let instances_target = |filter_zones: Vec<String>, tags: &BTreeMap<String, String>, mode: String| -> Value {
        match resolved {
            Some(r) => json!({ "resourceType": "aws:ec2:instance", "resourceArns": r.instance_arns, "selectionMode": "ALL" }),
            None => {
                let mut all_tags = scenario.guards.require_tags.clone();
                all_tags.extend(tags.clone());
                let mut filters = vec![json!({ "path": "State.Name", "values": ["running"] })];
                if !filter_zones.is_empty() {
                    filters.push(json!({ "path": "Placement.AvailabilityZone", "values": filter_zones }));
                }
                json!({ "resourceType": "aws:ec2:instance", "resourceTags": all_tags, "filters": filters, "selectionMode": mode })
            }
        }
    };
    let group_tags = |groups: &[String], tags: &BTreeMap<String, String>| -> Result<BTreeMap<String, String>, EnvError> {
        let mut all = tags.clone();
        match groups {
            [] => {}
            [one] => {
                all.insert("aws:autoscaling:groupName".into(), one.clone());
            }
            _ => return Err(EnvError::Unsupported(format!("fault `{}`: an FIS template selects instances by one group's tag; split the fault per group", fault.name))),
        }
        Ok(all)
    };
    let duration = fault.duration.map(iso8601);
    let mut action = |id: &str, parameters: Value, target_kind: &str, target_key: &str| {
        let mut body = json!({ "actionId": id, "parameters": parameters, "targets": { target_kind: target_key } });
        if !start_after.is_empty() {
            body["startAfter"] = json!(start_after);
        }
        actions.insert(if actions.is_empty() { fault.name.clone() } else { key(id.rsplit(':').next().unwrap_or("action")) }, body);
    };
    match &fault.action {
        FaultAction::StopInstances { targets: t } | FaultAction::TerminateInstances { targets: t } | FaultAction::RebootInstances { targets: t } => {
            if resolved.is_none() && !t.ids.is_empty() {
                return Err(EnvError::Unsupported(format!("fault `{}` names instance ids; an exported template selects by tags and zones", fault.name)));
            }
            targets.insert(key("instances"), instances_target(t.zones.clone(), &group_tags(&t.groups, &t.tags)?, selection_mode(t)));
            let (id, parameters) = match &fault.action {
                FaultAction::StopInstances { .. } => ("aws:ec2:stop-instances", json!({ "startInstancesAfterDuration": duration })),
                FaultAction::TerminateInstances { .. } => ("aws:ec2:terminate-instances", json!({})),
                _ => ("aws:ec2:reboot-instances", json!({})),
            };
            action(id, parameters, "Instances", &key("instances"));
        }
        FaultAction::AzOutage { zone, mode: AzOutageMode::Power, tags, groups } => {
            targets.insert(key("instances"), instances_target(vec![zone.clone()], &group_tags(groups, tags)?, "ALL".into()));
            action("aws:ec2:stop-instances", json!({ "startInstancesAfterDuration": duration }), "Instances", &key("instances"));
            let asg_target = match resolved {
                Some(r) if !r.group_arns.is_empty() => Some(json!({ "resourceType": "aws:ec2:autoscaling-group", "resourceArns": r.group_arns, "selectionMode": "ALL" })),
                Some(_) => None,
                None if !tags.is_empty() => Some(json!({ "resourceType": "aws:ec2:autoscaling-group", "resourceTags": tags, "selectionMode": "ALL" })),
                None => None,
            };
            if let Some(asg_target) = asg_target {
                targets.insert(key("groups"), asg_target);
                action(
                    "aws:ec2:asg-insufficient-instance-capacity-error",
                    json!({ "availabilityZoneIdentifiers": zone, "duration": duration, "percentage": "100" }),
                    "AutoScalingGroups",
                    &key("groups"),
                );
            }
        }
        FaultAction::AzOutage { zone, mode: AzOutageMode::Network, .. } => {
            let subnets = match resolved {
                Some(r) => json!({ "resourceType": "aws:ec2:subnet", "resourceArns": r.subnet_arns, "selectionMode": "ALL" }),
                None => json!({ "resourceType": "aws:ec2:subnet", "filters": [{ "path": "AvailabilityZone", "values": [zone] }], "selectionMode": "ALL" }),
            };
            targets.insert(key("subnets"), subnets);
            action("aws:network:disrupt-connectivity", json!({ "duration": duration, "scope": "all" }), "Subnets", &key("subnets"));
        }
        FaultAction::AsgCapacityError { zones, groups } => {
            let groups_target = match resolved {
                Some(r) => json!({ "resourceType": "aws:ec2:autoscaling-group", "resourceArns": r.group_arns, "selectionMode": "ALL" }),
                None if groups.is_empty() => json!({ "resourceType": "aws:ec2:autoscaling-group", "resourceTags": scenario.guards.require_tags, "selectionMode": "ALL" }),
                None => {
                    return Err(EnvError::Unsupported(format!(
                        "fault `{}` names Auto Scaling groups, whose ARNs only an AWS environment can resolve: export with `--env`",
                        fault.name
                    )));
                }
            };
            targets.insert(key("groups"), groups_target);
            action(
                "aws:ec2:asg-insufficient-instance-capacity-error",
                json!({ "availabilityZoneIdentifiers": zones.join(","), "duration": duration, "percentage": "100" }),
                "AutoScalingGroups",
                &key("groups"),
            );
        }
        other => return Err(EnvError::Unsupported(format!("FIS has no action for `{}`", other.kind_name()))),
    }
    Ok((targets, actions))
}

/// What a run resolved, as ARNs.
#[derive(Default)]
pub struct Resolved {
    pub instance_arns: Vec<String>,
    pub subnet_arns: Vec<String>,
    pub group_arns: Vec<String>,
}

fn stop_conditions(scenario: &Scenario, ctx: &FisContext<'_>) -> Value {
    let alarms: Vec<Value> = scenario
        .guards
        .stop_conditions
        .iter()
        .filter_map(|c| match c {
            StopCondition::Alarm { alarm } => Some(json!({ "source": "aws:cloudwatch:alarm", "value": alarm_arn(alarm, ctx) })),
            _ => None,
        })
        .collect();
    if alarms.is_empty() { json!([{ "source": "none" }]) } else { json!(alarms) }
}

/// The template for one fault of a run.
pub fn fault_template(scenario: &Scenario, fault: &Fault, resolved: &Resolved, ctx: &FisContext<'_>, token: &str) -> Result<Value, EnvError> {
    let (targets, actions) = fault_parts(fault, scenario, Some(resolved), Vec::new())?;
    Ok(json!({
        "description": format!("gameday {} / {}", scenario.name, fault.name),
        "roleArn": ctx.role_arn,
        "targets": targets,
        "actions": actions,
        "stopConditions": stop_conditions(scenario, ctx),
        "tags": { "gameday:scenario": scenario.name, "gameday:fault": fault.name, "gameday:token": token },
    }))
}

/// The whole scenario as one template. Faults FIS cannot make are listed
/// in the second value, so the caller can say so.
pub fn scenario_template(scenario: &Scenario, ctx: &FisContext<'_>) -> Result<(Value, Vec<String>), EnvError> {
    let mut targets = BTreeMap::new();
    let mut actions = BTreeMap::new();
    let mut skipped = Vec::new();
    for fault in &scenario.faults {
        if !fis_can_make(&fault.action) {
            skipped.push(format!("{} ({})", fault.name, fault.action.kind_name()));
            continue;
        }
        let mut after: Vec<String> = fault.start_after.clone();
        if let Some(delay) = fault.delay {
            let wait = format!("{}-wait", fault.name);
            let mut body = json!({ "actionId": "aws:fis:wait", "parameters": { "duration": iso8601(delay) } });
            if !after.is_empty() {
                body["startAfter"] = json!(after);
            }
            actions.insert(wait.clone(), body);
            after = vec![wait];
        }
        let (t, a) = fault_parts(fault, scenario, None, after)?;
        targets.extend(t);
        actions.extend(a);
    }
    let template = json!({
        "description": format!("gameday scenario {}: {}", scenario.name, scenario.title.as_deref().unwrap_or("")),
        "roleArn": ctx.role_arn,
        "targets": targets,
        "actions": actions,
        "stopConditions": stop_conditions(scenario, ctx),
        "tags": { "gameday:scenario": scenario.name },
    });
    Ok((template, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_iso_8601() {
        assert_eq!(iso8601("1h30m".parse().unwrap()), "PT1H30M");
        assert_eq!(iso8601("90s".parse().unwrap()), "PT1M30S");
        assert_eq!(iso8601("500ms".parse().unwrap()), "PT1S");
    }

    #[test]
    fn a_scenario_exports_with_selection_modes_chaining_and_stop_conditions() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/instance-termination.yaml")).unwrap();
        let scenario = crate::scenario::parse_str(&text, None).unwrap();
        let ctx = FisContext { region: "us-east-1", account: "123456789012", role_arn: "arn:aws:iam::123456789012:role/fis" };
        let (template, skipped) = scenario_template(&scenario, &ctx).unwrap();
        assert!(skipped.is_empty());
        let target = &template["targets"]["terminate-two-instances"];
        assert_eq!(target["selectionMode"], "COUNT(2)");
        assert_eq!(target["resourceTags"]["gameday"], "allowed");
        assert_eq!(target["resourceTags"]["aws:autoscaling:groupName"], "web-asg");
        assert_eq!(template["actions"]["terminate-two"]["actionId"], "aws:ec2:terminate-instances");
        assert_eq!(template["stopConditions"][0]["source"], "none");
    }
}

/// Calls to FIS itself.
pub mod client {
    use std::time::Duration as StdDuration;

    use aws_sdk_fis::types::{
        CreateExperimentTemplateActionInput, CreateExperimentTemplateStopConditionInput, CreateExperimentTemplateTargetInput, ExperimentStatus,
        ExperimentTemplateTargetInputFilter, SafetyLeverStatus,
    };
    use serde_json::Value;

    use crate::environment::EnvError;
    use crate::environment::aws::sdk_error;

    fn strings(value: &Value) -> Vec<String> {
        value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
    }

    fn string_map(value: &Value) -> Option<std::collections::HashMap<String, String>> {
        value.as_object().map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
    }

    fn build_error(what: &str, error: impl std::fmt::Display) -> EnvError {
        EnvError::Failed(format!("invalid FIS {what}: {error}"))
    }

    /// Creates the template from FIS's JSON shape; returns its id.
    pub async fn create_template(fis: &aws_sdk_fis::Client, template: &Value, token: &str) -> Result<String, EnvError> {
        let mut request = fis
            .create_experiment_template()
            .client_token(token)
            .description(template["description"].as_str().unwrap_or("gameday"))
            .role_arn(template["roleArn"].as_str().unwrap_or_default())
            .set_tags(string_map(&template["tags"]));
        for (name, target) in template["targets"].as_object().into_iter().flatten() {
            let mut builder = CreateExperimentTemplateTargetInput::builder()
                .resource_type(target["resourceType"].as_str().unwrap_or_default())
                .selection_mode(target["selectionMode"].as_str().unwrap_or("ALL"))
                .set_resource_tags(string_map(&target["resourceTags"]));
            let arns = strings(&target["resourceArns"]);
            if !arns.is_empty() {
                builder = builder.set_resource_arns(Some(arns));
            }
            for filter in target["filters"].as_array().into_iter().flatten() {
                let filter = ExperimentTemplateTargetInputFilter::builder()
                    .path(filter["path"].as_str().unwrap_or_default())
                    .set_values(Some(strings(&filter["values"])))
                    .build()
                    .map_err(|e| build_error("filter", e))?;
                builder = builder.filters(filter);
            }
            request = request.targets(name, builder.build().map_err(|e| build_error("target", e))?);
        }
        for (name, action) in template["actions"].as_object().into_iter().flatten() {
            let mut builder = CreateExperimentTemplateActionInput::builder()
                .action_id(action["actionId"].as_str().unwrap_or_default())
                .set_start_after(Some(strings(&action["startAfter"])).filter(|v| !v.is_empty()));
            for (key, value) in action["parameters"].as_object().into_iter().flatten() {
                if let Some(value) = value.as_str() {
                    builder = builder.parameters(key, value);
                }
            }
            for (key, value) in action["targets"].as_object().into_iter().flatten() {
                builder = builder.targets(key, value.as_str().unwrap_or_default());
            }
            request = request.actions(name, builder.build().map_err(|e| build_error("action", e))?);
        }
        for condition in template["stopConditions"].as_array().into_iter().flatten() {
            let condition = CreateExperimentTemplateStopConditionInput::builder()
                .source(condition["source"].as_str().unwrap_or("none"))
                .set_value(condition["value"].as_str().map(str::to_string))
                .build()
                .map_err(|e| build_error("stop condition", e))?;
            request = request.stop_conditions(condition);
        }
        let out = request.send().await.map_err(|e| sdk_error("fis:CreateExperimentTemplate", e))?;
        out.experiment_template().and_then(|t| t.id()).map(str::to_string).ok_or_else(|| EnvError::Failed("FIS returned no template id".into()))
    }

    /// Refuses while the account's FIS safety lever is engaged. An emulator
    /// without the API (a custom endpoint) is tolerated, and said so; on
    /// AWS the lever must be readable.
    pub async fn check_safety_lever(fis: &aws_sdk_fis::Client, emulated: bool) -> Result<Option<String>, EnvError> {
        match fis.get_safety_lever().id("default").send().await {
            Ok(out) => {
                let state = out.safety_lever().and_then(|l| l.state());
                match state.and_then(|s| s.status()) {
                    Some(SafetyLeverStatus::Engaged) | Some(SafetyLeverStatus::Engaging) => Err(EnvError::Refused(format!(
                        "the FIS safety lever is engaged ({}): no experiment may start until it is disengaged",
                        state.and_then(|s| s.reason()).unwrap_or("no reason given")
                    ))),
                    _ => Ok(None),
                }
            }
            Err(error) if emulated => Ok(Some(format!("could not read the FIS safety lever from the emulator ({error}); continuing because the endpoint is not AWS"))),
            Err(error) => Err(sdk_error("fis:GetSafetyLever", error)),
        }
    }

    pub async fn start(fis: &aws_sdk_fis::Client, template_id: &str, token: &str) -> Result<String, EnvError> {
        let out = fis
            .start_experiment()
            .experiment_template_id(template_id)
            .client_token(format!("{token}-start"))
            .tags("gameday:token", token)
            .send()
            .await
            .map_err(|e| sdk_error("fis:StartExperiment", e))?;
        out.experiment().and_then(|e| e.id()).map(str::to_string).ok_or_else(|| EnvError::Failed("FIS returned no experiment id".into()))
    }

    pub async fn status(fis: &aws_sdk_fis::Client, experiment_id: &str) -> Result<(ExperimentStatus, String), EnvError> {
        let out = fis.get_experiment().id(experiment_id).send().await.map_err(|e| sdk_error("fis:GetExperiment", e))?;
        let state = out.experiment().and_then(|e| e.state());
        Ok((state.and_then(|s| s.status()).cloned().unwrap_or(ExperimentStatus::Pending), state.and_then(|s| s.reason()).unwrap_or_default().to_string()))
    }

    fn settled(status: &ExperimentStatus) -> bool {
        matches!(status, ExperimentStatus::Completed | ExperimentStatus::Stopped | ExperimentStatus::Failed | ExperimentStatus::Cancelled)
    }

    /// Waits (bounded) until the experiment is running or over.
    pub async fn wait_started(fis: &aws_sdk_fis::Client, experiment_id: &str) -> Result<ExperimentStatus, EnvError> {
        for _ in 0..120 {
            let (status, reason) = status(fis, experiment_id).await?;
            match status {
                ExperimentStatus::Running | ExperimentStatus::Completed => return Ok(status),
                ExperimentStatus::Failed | ExperimentStatus::Cancelled | ExperimentStatus::Stopped => {
                    return Err(EnvError::Refused(format!("FIS experiment {experiment_id} ended as {}: {reason}", status.as_str())));
                }
                _ => tokio::time::sleep(StdDuration::from_millis(500)).await,
            }
        }
        Err(EnvError::Failed(format!("FIS experiment {experiment_id} did not start within a minute")))
    }

    /// Waits (bounded) until the experiment is over.
    pub async fn wait_settled(fis: &aws_sdk_fis::Client, experiment_id: &str) -> Result<(), EnvError> {
        for _ in 0..240 {
            if settled(&status_of(fis, experiment_id).await?) {
                return Ok(());
            }
            tokio::time::sleep(StdDuration::from_millis(500)).await;
        }
        Err(EnvError::Failed(format!("FIS experiment {experiment_id} did not finish within two minutes")))
    }

    /// Stops the experiment if it still runs, waits for it to settle, and
    /// deletes the template. Safe to run twice.
    pub async fn stop_and_clean(fis: &aws_sdk_fis::Client, template_id: &str, experiment_id: &str) -> Result<Vec<String>, EnvError> {
        let mut done = Vec::new();
        let (status, _) = status(fis, experiment_id).await?;
        if !settled(&status) {
            fis.stop_experiment().id(experiment_id).send().await.map_err(|e| sdk_error("fis:StopExperiment", e))?;
            done.push(format!("experiment {experiment_id} stopped"));
            for _ in 0..120 {
                if settled(&status_of(fis, experiment_id).await?) {
                    break;
                }
                tokio::time::sleep(StdDuration::from_millis(500)).await;
            }
        }
        match fis.delete_experiment_template().id(template_id).send().await {
            Ok(_) => done.push(format!("template {template_id} deleted")),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(error) => return Err(sdk_error("fis:DeleteExperimentTemplate", error)),
        }
        Ok(done)
    }

    async fn status_of(fis: &aws_sdk_fis::Client, experiment_id: &str) -> Result<ExperimentStatus, EnvError> {
        Ok(status(fis, experiment_id).await?.0)
    }

    /// The template and experiment carrying `token`, found by tag.
    pub async fn find(fis: &aws_sdk_fis::Client, token: &str) -> Result<Option<(String, Option<String>)>, EnvError> {
        let mut template_id = None;
        let mut pages = fis.list_experiment_templates().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("fis:ListExperimentTemplates", e))?;
            if let Some(t) = page.experiment_templates().iter().find(|t| t.tags().and_then(|tags| tags.get("gameday:token")).is_some_and(|v| v == token)) {
                template_id = t.id().map(str::to_string);
                break;
            }
        }
        let Some(template_id) = template_id else { return Ok(None) };
        let out = fis.list_experiments().experiment_template_id(&template_id).send().await.map_err(|e| sdk_error("fis:ListExperiments", e))?;
        let experiment = out.experiments().first().and_then(|e| e.id()).map(str::to_string);
        Ok(Some((template_id, experiment)))
    }

    /// FIS's own view of the targets: a dry run (`actionsMode=skip-all`),
    /// then the resolved targets, then cleanup.
    pub async fn preview(fis: &aws_sdk_fis::Client, template: &Value, token: &str) -> Result<Vec<String>, EnvError> {
        let template_id = create_template(fis, template, token).await?;
        let started = fis
            .start_experiment()
            .experiment_template_id(&template_id)
            .client_token(format!("{token}-preview"))
            .experiment_options(aws_sdk_fis::types::StartExperimentExperimentOptionsInput::builder().actions_mode(aws_sdk_fis::types::ActionsMode::SkipAll).build())
            .send()
            .await
            .map_err(|e| sdk_error("fis:StartExperiment", e));
        let mut resolved = Vec::new();
        if let Ok(out) = &started {
            if let Some(id) = out.experiment().and_then(|e| e.id()) {
                let targets = fis.list_experiment_resolved_targets().experiment_id(id).send().await.map_err(|e| sdk_error("fis:ListExperimentResolvedTargets", e))?;
                for target in targets.resolved_targets() {
                    let info = target.target_information().map(|m| m.values().cloned().collect::<Vec<_>>().join(" ")).unwrap_or_default();
                    resolved.push(format!("{} {} {info}", target.target_name().unwrap_or_default(), target.resource_type().unwrap_or_default()));
                }
            }
        }
        let _ = fis.delete_experiment_template().id(&template_id).send().await;
        started?;
        Ok(resolved)
    }
}
