//! Probes that read AWS: Auto Scaling capacity, ELBv2 target health,
//! CloudWatch alarms and Route 53 health checks.

use super::{Clients, sdk_error};
use crate::environment::{EnvError, Millis, Sample};
use crate::scenario::{AlarmState, Probe, ProbeCheck};

/// CloudWatch alarms named by name or ARN, with their state.
pub(super) async fn alarm_states(clients: &Clients, names: &[String]) -> Result<Vec<(String, AlarmState)>, EnvError> {
    let plain: Vec<String> = names.iter().map(|n| n.rsplit_once(":alarm:").map_or(n.as_str(), |(_, name)| name).to_string()).collect();
    if plain.is_empty() {
        return Ok(Vec::new());
    }
    let out = clients.cloudwatch.describe_alarms().set_alarm_names(Some(plain)).send().await.map_err(|e| sdk_error("cloudwatch:DescribeAlarms", e))?;
    Ok(out
        .metric_alarms()
        .iter()
        .filter_map(|alarm| {
            let state = match alarm.state_value()?.as_str() {
                "ALARM" => AlarmState::Alarm,
                "OK" => AlarmState::Ok,
                _ => AlarmState::InsufficientData,
            };
            Some((alarm.alarm_name()?.to_string(), state))
        })
        .collect())
}

async fn check(clients: &Clients, probe: &Probe) -> Result<(bool, String), EnvError> {
    match &probe.check {
        ProbeCheck::AsgCapacity { group, min_in_service } => {
            let out = clients
                .autoscaling
                .describe_auto_scaling_groups()
                .auto_scaling_group_names(group)
                .send()
                .await
                .map_err(|e| sdk_error("autoscaling:DescribeAutoScalingGroups", e))?;
            let asg = out.auto_scaling_groups().first().ok_or_else(|| EnvError::NotFound { resource: format!("Auto Scaling group `{group}`"), hint: None })?;
            let n = asg.instances().iter().filter(|i| i.lifecycle_state().is_some_and(|s| s.as_str() == "InService")).count();
            Ok((n >= *min_in_service as usize, format!("{n} in service (want ≥ {min_in_service})")))
        }
        ProbeCheck::TargetHealth { target_group, min_healthy } => {
            let groups = clients.elbv2.describe_target_groups().names(target_group).send().await.map_err(|e| sdk_error("elasticloadbalancing:DescribeTargetGroups", e))?;
            let arn = groups
                .target_groups()
                .first()
                .and_then(|g| g.target_group_arn())
                .ok_or_else(|| EnvError::NotFound { resource: format!("target group `{target_group}`"), hint: None })?;
            let health = clients.elbv2.describe_target_health().target_group_arn(arn).send().await.map_err(|e| sdk_error("elasticloadbalancing:DescribeTargetHealth", e))?;
            let n = health.target_health_descriptions().iter().filter(|d| d.target_health().and_then(|h| h.state()).is_some_and(|s| s.as_str() == "healthy")).count();
            Ok((n >= *min_healthy as usize, format!("{n} healthy (want ≥ {min_healthy})")))
        }
        ProbeCheck::Alarm { alarm, expect_state } => {
            let states = alarm_states(clients, std::slice::from_ref(alarm)).await?;
            let (_, state) = states.first().ok_or_else(|| EnvError::NotFound { resource: format!("CloudWatch alarm `{alarm}`"), hint: None })?;
            Ok((state == expect_state, format!("{state} (want {expect_state})")))
        }
        ProbeCheck::Route53HealthCheck { health_check, expect_healthy } => {
            let out = clients.route53.get_health_check_status().health_check_id(health_check).send().await.map_err(|e| sdk_error("route53:GetHealthCheckStatus", e))?;
            let observations = out.health_check_observations();
            let passing = observations.iter().filter(|o| o.status_report().and_then(|r| r.status()).is_some_and(|s| s.starts_with("Success"))).count();
            // Route 53 considers an endpoint healthy when more than 18% of its checkers do.
            let healthy = !observations.is_empty() && passing as f64 / observations.len() as f64 > 0.18;
            let word = |b: bool| if b { "healthy" } else { "unhealthy" };
            Ok((healthy == *expect_healthy, format!("{} ({passing}/{} checkers; want {})", word(healthy), observations.len(), word(*expect_healthy))))
        }
        other => Err(EnvError::Unsupported(format!("`{}` probes are not read from AWS", other.kind_name()))),
    }
}

pub(super) async fn sample(clients: &Clients, probe: &Probe, now: Millis) -> Sample {
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(probe.timeout.std(), check(clients, probe)).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (ok, observed) = match outcome {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(error)) => (false, error.to_string()),
        Err(_) => (false, format!("timed out after {}", probe.timeout)),
    };
    Sample { probe: probe.name.clone(), sent_at: now, latency_ms, ok, observed, lateness_us: 0 }
}
