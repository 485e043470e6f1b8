//! Probes that read AWS: Auto Scaling capacity, ELBv2 target health,
//! CloudWatch alarms and metrics, and Route 53 health checks.

use aws_sdk_autoscaling::types::LifecycleState;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;

use super::{Clients, error_chain, sdk_error};
use crate::environment::{AlarmReadError, AlarmReading, EnvError, Millis, ReadErrorKind, Sample, alarm_name};
use crate::scenario::{AlarmState, Probe, ProbeCheck};
use crate::vocab::MetricReading;

/// `DescribeAlarms` takes at most 100 names a call.
const MAX_ALARM_NAMES_PER_CALL: usize = 100;

const DESCRIBE_ALARMS: &str = "cloudwatch:DescribeAlarms";

/// CloudWatch alarms named by name or ARN, with their state, every page
/// read (a page holds 50 by default: an alarm on page two is not missing).
/// Alarms that do not exist are absent from the answer. A failed read is
/// the call's error, with its kind (access denied, throttled, …) kept for
/// the IAM hint and the exit code.
pub(super) async fn alarm_states(clients: &Clients, names: &[String]) -> Result<Vec<(String, AlarmState)>, EnvError> {
    describe_alarm_states(clients, names).await.map_err(|e| sdk_error(DESCRIBE_ALARMS, e))
}

/// [`alarm_states`] with the SDK's own error, so that each caller keeps its
/// kind in its own terms: a failed call, or an alarm reading (journaled).
async fn describe_alarm_states(
    clients: &Clients,
    names: &[String],
) -> Result<Vec<(String, AlarmState)>, SdkError<aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError, aws_sdk_cloudwatch::config::http::HttpResponse>> {
    let plain: Vec<String> = names.iter().map(|n| alarm_name(n).to_string()).collect();
    let mut found = Vec::new();
    for batch in plain.chunks(MAX_ALARM_NAMES_PER_CALL) {
        let mut pages = clients.cloudwatch.describe_alarms().set_alarm_names(Some(batch.to_vec())).into_paginator().send();
        while let Some(page) = pages.next().await {
            found.extend(page?.metric_alarms().iter().filter_map(|alarm| {
                let state = match alarm.state_value()? {
                    StateValue::Alarm => AlarmState::Alarm,
                    StateValue::Ok => AlarmState::Ok,
                    _ => AlarmState::InsufficientData,
                };
                Some((alarm.alarm_name()?.to_string(), state))
            }));
        }
    }
    Ok(found)
}

/// One reading per name, in order: an alarm the answer leaves out was
/// deleted (or never existed), and reads as `NotFound`, not as quiet.
pub(super) async fn alarm_readings(clients: &Clients, names: &[String]) -> Vec<AlarmReading> {
    let found = describe_alarm_states(clients, names).await.map_err(|e| read_error(DESCRIBE_ALARMS, &e));
    names
        .iter()
        .map(|wanted| {
            let name = alarm_name(wanted);
            let state = match &found {
                Err(error) => Err(error.clone()),
                Ok(found) => found.iter().find(|(n, _)| n == name).map(|(_, state)| *state).ok_or_else(|| AlarmReadError {
                    kind: ReadErrorKind::NotFound,
                    message: format!("cloudwatch:DescribeAlarms no longer lists alarm `{name}` (deleted during the run?)"),
                }),
            };
            AlarmReading { alarm: name.to_string(), state }
        })
        .collect()
}

/// Error codes AWS services use for throttling (after the SDK's own retries).
const THROTTLING_CODES: &[&str] =
    &["Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "RequestThrottledException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown"];

/// Error codes for calls the credentials may not make (or cannot sign).
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
];

/// The kind of an SDK error (throttled, access denied, not found, network)
/// rather than its text: failing closed and telling people what to fix
/// depend on it.
pub(crate) fn error_kind<E, R>(error: &SdkError<E, R>) -> ReadErrorKind
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => ReadErrorKind::Network,
        SdkError::ServiceError(_) => match error.code() {
            Some(code) if THROTTLING_CODES.contains(&code) => ReadErrorKind::Throttled,
            Some(code) if ACCESS_DENIED_CODES.contains(&code) => ReadErrorKind::AccessDenied,
            Some(code) if code.contains("NotFound") => ReadErrorKind::NotFound,
            _ => ReadErrorKind::Other,
        },
        _ => ReadErrorKind::Other,
    }
}

/// An alarm read that failed, with the kind of the SDK error kept.
pub(crate) fn read_error<E, R>(call: &str, error: &SdkError<E, R>) -> AlarmReadError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let kind = error_kind(error);
    let message = match error.message() {
        Some(message) => format!("{call}: {message}"),
        None => format!("{call} failed: {}", error_chain(error)),
    };
    AlarmReadError { kind, message }
}

/// One reading of a probe read from AWS: its verdict, what it saw, and
/// whether a failure read no settled state (`Sample::unsettled`).
struct Reading {
    ok: bool,
    observed: String,
    unsettled: bool,
}

impl From<(bool, String)> for Reading {
    fn from((ok, observed): (bool, String)) -> Self {
        Reading { ok, observed, unsettled: false }
    }
}

async fn check(clients: &Clients, probe: &Probe) -> Result<Reading, EnvError> {
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
            let n = asg.instances().iter().filter(|i| i.lifecycle_state() == Some(&LifecycleState::InService)).count();
            Ok((n >= *min_in_service as usize, format!("{n} in service (want ≥ {min_in_service})")).into())
        }
        ProbeCheck::TargetHealth { target_group, min_healthy } => {
            let groups = clients.elbv2.describe_target_groups().names(target_group).send().await.map_err(|e| sdk_error("elasticloadbalancing:DescribeTargetGroups", e))?;
            let arn = groups
                .target_groups()
                .first()
                .and_then(|g| g.target_group_arn())
                .ok_or_else(|| EnvError::NotFound { resource: format!("target group `{target_group}`"), hint: None })?;
            let health = clients.elbv2.describe_target_health().target_group_arn(arn).send().await.map_err(|e| sdk_error("elasticloadbalancing:DescribeTargetHealth", e))?;
            let n = health.target_health_descriptions().iter().filter(|d| d.target_health().and_then(|h| h.state()).is_some_and(|s| *s == TargetHealthStateEnum::Healthy)).count();
            Ok((n >= *min_healthy as usize, format!("{n} healthy (want ≥ {min_healthy})")).into())
        }
        ProbeCheck::Alarm { alarm, expect_state } => {
            let states = alarm_states(clients, std::slice::from_ref(alarm)).await?;
            let (_, state) = states.first().ok_or_else(|| EnvError::NotFound { resource: format!("CloudWatch alarm `{alarm}`"), hint: None })?;
            Ok((state == expect_state, format!("{state} (want {expect_state})")).into())
        }
        ProbeCheck::Route53HealthCheck { health_check, expect_healthy } => {
            let out = clients.route53.get_health_check_status().health_check_id(health_check).send().await.map_err(|e| sdk_error("route53:GetHealthCheckStatus", e))?;
            let observations = out.health_check_observations();
            let passing = observations.iter().filter(|o| o.status_report().and_then(|r| r.status()).is_some_and(|s| s.starts_with("Success"))).count();
            // Route 53 considers an endpoint healthy when more than 18% of its checkers do.
            let healthy = !observations.is_empty() && passing as f64 / observations.len() as f64 > 0.18;
            let word = |b: bool| if b { "healthy" } else { "unhealthy" };
            Ok((healthy == *expect_healthy, format!("{} ({passing}/{} checkers; want {})", word(healthy), observations.len(), word(*expect_healthy))).into())
        }
        ProbeCheck::DbWriter { cluster, instance, expect_writer } => {
            use super::rds::WriterReading;
            Ok(match super::rds::writer_verdict(clients, cluster.as_deref(), instance.as_deref(), expect_writer.as_deref()).await? {
                WriterReading::Wanted(observed) => Reading { ok: true, observed, unsettled: false },
                WriterReading::Other(observed) => Reading { ok: false, observed, unsettled: false },
                WriterReading::NoWriter(observed) => Reading { ok: false, observed, unsettled: true },
            })
        }
        other => Err(EnvError::Unsupported(format!("`{}` probes are not read from AWS", other.kind_name()))),
    }
}

/// A `metric` probe's reading of the last `period`, through `GetMetricData`:
/// one query per metric (summed) and one for `divided_by`, each the latest
/// datapoint CloudWatch returns. A count metric with no datapoint in a
/// period that had requests counted none (ALB publishes no zero 5XX
/// counts); without `divided_by`, no datapoint is no reading.
async fn read_metric(clients: &Clients, probe: &Probe) -> Result<MetricReading, EnvError> {
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
    let ProbeCheck::Metric { namespace, metric, dimensions, statistic, period, divided_by, .. } = &probe.check else {
        return Err(EnvError::Unsupported(format!("probe `{}` is not a `metric` probe", probe.name)));
    };
    let seconds = i32::try_from(period.as_millis() / 1000).unwrap_or(i32::MAX);
    let dimensions = dimensions.iter().map(|(name, value)| Dimension::builder().name(name).value(value).build()).collect::<Vec<_>>();
    let names: Vec<&String> = metric.names().iter().chain(divided_by.iter()).collect();
    let mut queries = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let metric = Metric::builder().namespace(namespace).metric_name(name.as_str()).set_dimensions(Some(dimensions.clone())).build();
        let stat = MetricStat::builder().metric(metric).period(seconds).stat(statistic.name()).build();
        queries.push(MetricDataQuery::builder().id(format!("m{index}")).metric_stat(stat).return_data(true).build());
    }
    let end = std::time::SystemTime::now();
    let start = end.checked_sub(period.std()).unwrap_or(std::time::UNIX_EPOCH);
    let out = clients
        .cloudwatch
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(aws_sdk_cloudwatch::primitives::DateTime::from(start))
        .end_time(aws_sdk_cloudwatch::primitives::DateTime::from(end))
        .send()
        .await
        .map_err(|e| sdk_error("cloudwatch:GetMetricData", e))?;
    let latest = |index: usize| -> Option<f64> {
        let id = format!("m{index}");
        out.metric_data_results().iter().find(|r| r.id() == Some(id.as_str())).and_then(|r| r.values().first().copied())
    };
    let values: Vec<Option<f64>> = (0..metric.names().len()).map(latest).collect();
    let per = divided_by.as_ref().and_then(|_| latest(metric.names().len()));
    if divided_by.is_none() && values.iter().all(Option::is_none) {
        return Err(EnvError::Failed(format!("no datapoints for {} in the last {period}", metric.names().join(" + "))));
    }
    Ok(MetricReading { value: values.into_iter().map(|v| v.unwrap_or(0.0)).sum(), divided_by: per, period_ms: period.as_millis() })
}

pub(crate) async fn sample(clients: &Clients, probe: &Probe, now: Millis) -> Sample {
    let started = std::time::Instant::now();
    let mut reading = None;
    let outcome = tokio::time::timeout(probe.timeout.std(), async {
        if matches!(probe.check, ProbeCheck::Metric { .. }) {
            let read = read_metric(clients, probe).await?;
            reading = Some(read);
            Ok(crate::probe::metric_verdict(&probe.check, &read).into())
        } else {
            check(clients, probe).await
        }
    })
    .await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // A read that failed or timed out read no state; for a `db_writer` probe
    // that is no writer seen, never the other writer it may be waiting for.
    let no_state = |observed: String| Reading { ok: false, observed, unsettled: matches!(probe.check, ProbeCheck::DbWriter { .. }) };
    let Reading { ok, observed, unsettled } = match outcome {
        Ok(Ok(reading)) => reading,
        Ok(Err(error)) => no_state(error.to_string()),
        Err(_) => no_state(format!("timed out after {}", probe.timeout)),
    };
    Sample { probe: probe.name.clone(), sent_at: now, latency_ms, ok, observed, unsettled, lateness_us: 0, reading }
}
