//! The scenario file format, `apiVersion: gameday/v1`, as Rust types.
//!
//! These types are the single source of truth: the JSON Schema in
//! `docs/scenario.schema.json` is generated from them, and the structural
//! checker in [`super::structure`] walks that schema to report every unknown
//! key or wrong type in a file at once.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::Duration;

/// The only format version this build reads.
pub const API_VERSION: &str = "gameday/v1";

/// A game-day scenario: what to break, what to watch, and what recovery we expect.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "gameday scenario", extend("$id" = "https://gameday.dev/schema/scenario-v1.json"))]
pub struct Scenario {
    /// Format version; must be `gameday/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Short identifier used in run directories and history (lowercase, digits, `-`).
    pub name: String,
    /// One-line title for reports.
    #[serde(default)]
    pub title: Option<String>,
    /// What this game day exercises and why.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The team or person who owns this scenario.
    #[serde(default)]
    pub owner: Option<String>,
    /// Path of the runbook people follow, relative to the project root (e.g. `runbooks/az-loss.md`).
    #[serde(default)]
    pub runbook: Option<String>,
    /// Path of an objectives file (RTO, RPO and availability per disruption
    /// class), relative to this file; expectations name a class with `objective`.
    #[serde(default)]
    pub objectives: Option<String>,
    /// What we believe will happen, in prose. The report compares it with the outcome.
    #[serde(default)]
    pub hypothesis: Option<String>,
    /// Where to read more: dashboards, architecture documents, earlier
    /// incidents. The postmortem lists them under "Supporting links".
    #[serde(default)]
    pub links: Vec<Link>,
    /// How often this game day should run.
    #[serde(default)]
    pub cadence: Option<Cadence>,
    /// On AWS: make faults directly, or hand them to AWS Fault Injection Service.
    /// Default: `fis` when the environment has a `fis_role_arn`, else `direct`.
    /// DNS failover and command faults are always made directly.
    #[serde(default)]
    pub via: Option<Via>,
    /// The blast radius: what the run may touch, when, and what halts it.
    #[serde(default)]
    pub guards: Guards,
    /// Probes that define "healthy". Checked before injecting and sampled throughout.
    pub steady_state: Vec<Probe>,
    /// The failures to inject.
    pub faults: Vec<Fault>,
    /// What recovery we expect, and by when.
    pub expected_recoveries: Vec<ExpectedRecovery>,
    /// Changes people make to recover during a drill (`gameday drill`). A runbook
    /// step names one with `- Action: NAME`; the drill console offers it and, on
    /// the simulator, applies it to the simulated world.
    #[serde(default)]
    pub operator_actions: Vec<OperatorAction>,
}

impl Scenario {
    /// [`Probe::passes_to_recover`] of the probe named `probe`; 1 for a name
    /// the scenario does not have.
    pub fn passes_to_recover(&self, probe: &str) -> usize {
        self.steady_state.iter().find(|p| p.name == probe).map_or(1, Probe::passes_to_recover)
    }

    /// The CloudWatch alarms gameday must read: stop conditions, and the
    /// `detected_by` signals that do not name a probe of the steady state.
    pub fn alarms_to_read(&self) -> Vec<String> {
        let stop = self.guards.stop_conditions.iter().filter_map(|c| if let StopCondition::Alarm { alarm } = c { Some(alarm.clone()) } else { None });
        let detection = self.expected_recoveries.iter().flat_map(|e| e.detected_by.iter()).filter(|name| !self.steady_state.iter().any(|p| p.name == **name)).cloned();
        stop.chain(detection).collect::<std::collections::BTreeSet<_>>().into_iter().collect()
    }
}

/// A page the postmortem points readers to.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// What the page is, e.g. `Web tier dashboard`.
    pub title: String,
    /// Its address. Reports show it as text and fetch nothing.
    pub url: String,
}

/// A change people make to recover, declared so a drill can offer it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OperatorAction {
    /// Unique name; runbook steps refer to it with `- Action: NAME`.
    pub name: String,
    /// What the action does, in a few words, for the console.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(flatten)]
    pub change: OperatorChange,
}

/// What an operator action changes, by `kind`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OperatorChange {
    /// Point a failover record at one side by hand, whatever its health checks say
    /// (Route 53 ARC routing control, or editing the record).
    SwitchDns {
        /// The failover record, e.g. `api.example.com`.
        record: String,
        /// The side that should answer.
        to: FailoverSide,
    },
    /// Move a load balancer's traffic away from one zone (ARC zonal shift).
    ZonalShift {
        load_balancer: String,
        /// AZ name (`us-east-1a`) or AZ ID (`use1-az1`).
        away_from: String,
    },
    /// Set an Auto Scaling group's desired capacity.
    ScaleGroup { group: String, desired: u32 },
}

impl OperatorChange {
    pub fn kind_name(&self) -> &'static str {
        match self {
            OperatorChange::SwitchDns { .. } => "switch_dns",
            OperatorChange::ZonalShift { .. } => "zonal_shift",
            OperatorChange::ScaleGroup { .. } => "scale_group",
        }
    }

    /// One line for the console and the report.
    pub fn describe(&self) -> String {
        match self {
            OperatorChange::SwitchDns { record, to } => format!("answer {record} with its {} side", if *to == FailoverSide::Primary { "primary" } else { "secondary" }),
            OperatorChange::ZonalShift { load_balancer, away_from } => format!("shift {load_balancer}'s traffic away from {away_from}"),
            OperatorChange::ScaleGroup { group, desired } => format!("set {group}'s desired capacity to {desired}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Direct,
    Fis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Weekly,
    Monthly,
    Quarterly,
}

impl Cadence {
    /// The longest gap between two runs before the scenario is overdue.
    pub fn period(self) -> Duration {
        match self {
            Cadence::Weekly => Duration::from_secs(7 * 86_400),
            Cadence::Monthly => Duration::from_secs(31 * 86_400),
            Cadence::Quarterly => Duration::from_secs(92 * 86_400),
        }
    }
}

/// Blast-radius limits and stop conditions. Everything is optional; what is
/// set is enforced before any side effect and again throughout the run.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guards {
    /// AWS account ids the run may touch. Empty: any account of the chosen environment.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Regions the run may touch. Empty: any region of the chosen environment.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Tags every target must carry, e.g. `{gameday: allowed}`. Targets without them are never chosen.
    #[serde(default)]
    pub require_tags: BTreeMap<String, String>,
    /// Targets carrying any of these tags are never chosen.
    #[serde(default)]
    pub exclude_tags: BTreeMap<String, String>,
    /// At most this many targets per fault.
    #[serde(default)]
    pub max_targets: Option<u32>,
    /// At most this share (0–100) of each Auto Scaling group, and of each zone, per fault.
    #[serde(default)]
    pub max_percent: Option<f64>,
    /// Never impair more than this many Availability Zones at once.
    #[serde(default)]
    pub max_azs: Option<u32>,
    /// When the run may start. Empty: any time. Not enforced on the simulator.
    #[serde(default)]
    pub windows: Vec<Window>,
    /// Dates on which the run must not start (e.g. a change freeze). Not enforced on the simulator.
    #[serde(default)]
    pub blackouts: Vec<Blackout>,
    /// The whole run, injection to last recovery, must end within this; otherwise it is aborted and reverted.
    #[serde(default)]
    pub max_duration: Option<Duration>,
    /// Conditions that halt the run and revert every fault at once.
    #[serde(default)]
    pub stop_conditions: Vec<StopCondition>,
    /// CloudWatch alarms (names or ARNs) that must not be in ALARM when the
    /// run starts: the run is refused, before any side effect, while one is
    /// (or cannot be read). Unlike a stop condition, it never ends a run.
    #[serde(default)]
    pub blocking_alarms: Vec<String>,
    /// Alarms taken by name from ARC zonal autoshift practice-run
    /// configurations instead of listed by hand: each configuration's
    /// blocking alarms join `blocking_alarms`, and its outcome alarms may
    /// become stop conditions. Read before any side effect; a configuration
    /// that cannot be read refuses the run. AWS only (the simulator has no
    /// practice-run configurations: shown, not enforced).
    #[serde(default)]
    pub import_alarms: Vec<ImportedAlarms>,
    /// Refuse to inject unless every probe passes first. Default true.
    #[serde(default = "default_true")]
    pub require_healthy_start: bool,
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            accounts: Vec::new(),
            regions: Vec::new(),
            require_tags: BTreeMap::new(),
            exclude_tags: BTreeMap::new(),
            max_targets: None,
            max_percent: None,
            max_azs: None,
            windows: Vec::new(),
            blackouts: Vec::new(),
            max_duration: None,
            stop_conditions: Vec::new(),
            blocking_alarms: Vec::new(),
            import_alarms: Vec::new(),
            require_healthy_start: true,
        }
    }
}

/// Where `guards.import_alarms` takes alarms from: one resource's ARC zonal
/// autoshift practice-run configuration.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportedAlarms {
    /// The managed resource whose configuration names the alarms: a load balancer's ARN.
    pub practice_run_configuration: String,
    /// What the configuration's outcome alarms become. Its blocking alarms always block.
    #[serde(default)]
    pub outcome_alarms: OutcomeAlarmsUse,
}

/// What a practice-run configuration's outcome alarms become in a scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeAlarmsUse {
    /// Nothing: only the blocking alarms are taken.
    #[default]
    Ignore,
    /// Stop conditions: the run ends, every fault reverted, when one is in ALARM.
    StopConditions,
}

fn default_true() -> bool {
    true
}

/// A period in which runs may start, e.g. weekdays 09:00–16:00 in New York.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Days of the week (`mon` … `sun`). Empty: every day.
    #[serde(default)]
    pub days: Vec<Weekday>,
    /// Hours as `HH:MM-HH:MM`, in `time_zone`.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$"))]
    pub hours: String,
    /// IANA time zone, e.g. `Europe/Berlin`. Default `UTC`.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

fn default_time_zone() -> String {
    "UTC".to_string()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// Dates (inclusive, `YYYY-MM-DD`) on which no run may start.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Blackout {
    #[serde(with = "calendar_date")]
    #[schemars(schema_with = "calendar_date::schema")]
    pub from: jiff::civil::Date,
    #[serde(with = "calendar_date")]
    #[schemars(schema_with = "calendar_date::schema")]
    pub to: jiff::civil::Date,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The regular expression published in the JSON Schema for a calendar date.
/// The structure stage parses every text it matches as a date too, so a
/// date that does not exist (`2026-02-30`) is refused where it is written.
pub const DATE_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// A calendar date written `YYYY-MM-DD`, as text in the file and a
/// `jiff::civil::Date` in the model.
pub mod calendar_date {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse(text: &str) -> Result<jiff::civil::Date, String> {
        if !has_date_shape(text) {
            return Err(format!("`{text}` is not a date"));
        }
        text.parse::<jiff::civil::Date>().map_err(|_| format!("`{text}` is not a date"))
    }

    /// `YYYY-MM-DD` exactly: jiff also reads other ISO 8601 forms, which the
    /// schema does not publish.
    fn has_date_shape(text: &str) -> bool {
        let bytes = text.as_bytes();
        bytes.len() == 10 && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
    }

    pub fn serialize<S: Serializer>(date: &jiff::civil::Date, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(date)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<jiff::civil::Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    pub fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": super::DATE_PATTERN })
    }
}

/// A condition that halts the run and reverts every fault.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum StopCondition {
    /// A CloudWatch alarm (name or ARN) entering `ALARM`.
    Alarm { alarm: String },
    /// A probe failing continuously for `failing_for`.
    ProbeFailing { probe: String, failing_for: Duration },
    /// A probe's share of failing samples over the last `over` exceeding `error_rate_above` percent.
    ProbeErrorRate { probe: String, error_rate_above: f64, over: Duration },
}

impl StopCondition {
    /// How reports and errors name this condition: its durations in the
    /// one format of every duration gameday shows (`25m00s`, not `25m`).
    pub fn label(&self) -> String {
        use crate::vocab::fmt_ms;
        match self {
            StopCondition::Alarm { alarm } => format!("alarm `{alarm}`"),
            StopCondition::ProbeFailing { probe, failing_for } => {
                format!("probe `{probe}` failing for {}", fmt_ms(failing_for.as_millis()))
            }
            StopCondition::ProbeErrorRate { probe, error_rate_above, over } => {
                format!("probe `{probe}` error rate over {error_rate_above}% for {}", fmt_ms(over.as_millis()))
            }
        }
    }
}

/// A named steady-state check, sampled every `interval`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Probe {
    /// Unique name, referred to by expectations and stop conditions.
    pub name: String,
    /// Time between samples. Default 10s.
    #[serde(default = "default_probe_interval")]
    pub interval: Duration,
    /// A sample that takes longer fails. Default 5s.
    #[serde(default = "default_probe_timeout")]
    pub timeout: Duration,
    /// The probe counts as recovered after this many consecutive passes. Default 3.
    #[serde(default = "default_healthy_after")]
    pub healthy_after: u32,
    /// The probe is meant to fail while a fault is in place: its failure is
    /// the goal (e.g. "resolves to the primary" while DNS is failed over, so
    /// traffic is on the secondary). Reports show that time as intended, not
    /// down, and it counts as no downtime.
    #[serde(default)]
    pub expected_during_fault: bool,
    #[serde(flatten)]
    pub check: ProbeCheck,
}

impl Probe {
    /// Consecutive passes that mean recovered: `healthy_after`, at least one
    /// (validation refuses 0; a run directory's copy of a scenario is read
    /// without it).
    pub fn passes_to_recover(&self) -> usize {
        self.healthy_after.max(1) as usize
    }
}

fn default_probe_interval() -> Duration {
    Duration::from_secs(10)
}
fn default_probe_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_healthy_after() -> u32 {
    3
}

/// What a probe checks, by `kind`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeCheck {
    /// An HTTP(S) request.
    Http {
        url: String,
        #[serde(default = "default_method")]
        method: String,
        /// Request headers; values may read environment variables as `${env:NAME}`.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// Expected status: a code (`200`) or an inclusive range (`"200-299"`). Default `200-399`.
        #[serde(default)]
        status: Option<StatusExpectation>,
        #[serde(default)]
        body_contains: Option<String>,
        /// A regular expression the body must match, without its trailing line endings.
        #[serde(default)]
        body_matches: Option<String>,
        /// A slower answer fails.
        #[serde(default)]
        max_latency: Option<Duration>,
        /// PEM file of extra certificate authorities to trust for `https` (a private CA).
        #[serde(default)]
        ca_file: Option<String>,
        /// `new` (the default): each sample opens a connection of its own,
        /// as a new client does. `reuse`: samples share one kept-alive
        /// connection, opened again after a failure: cheaper at high rates,
        /// but blind to failures only new connections meet.
        #[serde(default)]
        connection: HttpConnection,
    },
    /// A TCP connection.
    Tcp {
        host: String,
        port: u16,
        #[serde(default)]
        max_latency: Option<Duration>,
    },
    /// A DNS lookup.
    Dns {
        /// The name to resolve, e.g. `api.example.com`.
        query: String,
        #[serde(default)]
        record_type: DnsRecordType,
        /// The answer must contain each of these values. Empty: any answer passes.
        #[serde(default)]
        expect: Vec<String>,
        /// Ask this resolver instead of the system's.
        #[serde(default)]
        nameserver: Option<String>,
    },
    /// A shell command (local and real environments only).
    Command {
        run: String,
        #[serde(default)]
        expect_exit: i32,
        /// A regular expression stdout must match, without its trailing line endings (`^ok$` matches what `echo ok` prints).
        #[serde(default)]
        stdout_matches: Option<String>,
    },
    /// An Auto Scaling group has at least `min_in_service` instances `InService`.
    AsgCapacity { group: String, min_in_service: u32 },
    /// A load-balancer target group has at least `min_healthy` healthy targets.
    TargetHealth { target_group: String, min_healthy: u32 },
    /// A CloudWatch alarm is in the expected state.
    Alarm {
        alarm: String,
        #[serde(default)]
        expect_state: AlarmState,
    },
    /// A Route 53 health check reports the expected status.
    Route53HealthCheck {
        health_check: String,
        #[serde(default = "default_true")]
        expect_healthy: bool,
    },
    /// A database has a writer and is `available`: a DB cluster's writer
    /// instance, or a Multi-AZ DB instance's primary. The sample says which
    /// instance writes, in which zone. Set `cluster` or `instance`.
    DbWriter {
        #[serde(default)]
        cluster: Option<String>,
        #[serde(default)]
        instance: Option<String>,
        /// The sample fails unless this instance is the cluster's writer.
        #[serde(default)]
        expect_writer: Option<String>,
    },
    /// A CloudWatch metric over the last `period` (`GetMetricData`), e.g. an
    /// ALB's 5XX responses divided by its `RequestCount`. Without `above` or
    /// `below` it only measures (it always passes); with `divided_by` it can
    /// count the requests of an error budget (`max_impact.requests`).
    Metric {
        /// e.g. `AWS/ApplicationELB`.
        namespace: String,
        /// The metric; a list is summed, e.g. `[HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count]`.
        metric: MetricNames,
        /// e.g. `{LoadBalancer: app/web-alb/50dc6c495c0c9188}`.
        #[serde(default)]
        dimensions: BTreeMap<String, String>,
        /// Default `Sum`.
        #[serde(default)]
        statistic: Statistic,
        /// The period one sample reads, ending when the sample is sent. Default 60s.
        #[serde(default = "default_metric_period")]
        period: Duration,
        /// Divide by this metric (same namespace, dimensions, statistic and
        /// period): the value becomes a percentage, e.g. `RequestCount`.
        #[serde(default)]
        divided_by: Option<String>,
        /// The sample fails when the value is above this.
        #[serde(default)]
        above: Option<f64>,
        /// The sample fails when the value is below this.
        #[serde(default)]
        below: Option<f64>,
    },
}

/// One metric name, or several summed.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MetricNames {
    One(String),
    Many(Vec<String>),
}

impl MetricNames {
    pub fn names(&self) -> &[String] {
        match self {
            MetricNames::One(name) => std::slice::from_ref(name),
            MetricNames::Many(names) => names,
        }
    }
}

/// A CloudWatch statistic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Statistic {
    #[default]
    Sum,
    Average,
    Minimum,
    Maximum,
    SampleCount,
}

impl Statistic {
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Sum => "Sum",
            Statistic::Average => "Average",
            Statistic::Minimum => "Minimum",
            Statistic::Maximum => "Maximum",
            Statistic::SampleCount => "SampleCount",
        }
    }
}

fn default_metric_period() -> Duration {
    Duration::from_secs(60)
}

impl ProbeCheck {
    pub fn kind_name(&self) -> &'static str {
        match self {
            ProbeCheck::Http { .. } => "http",
            ProbeCheck::Tcp { .. } => "tcp",
            ProbeCheck::Dns { .. } => "dns",
            ProbeCheck::Command { .. } => "command",
            ProbeCheck::AsgCapacity { .. } => "asg_capacity",
            ProbeCheck::TargetHealth { .. } => "target_health",
            ProbeCheck::Alarm { .. } => "alarm",
            ProbeCheck::Route53HealthCheck { .. } => "route53_health_check",
            ProbeCheck::Metric { .. } => "metric",
            ProbeCheck::DbWriter { .. } => "db_writer",
        }
    }
}

/// Whether an `http` probe's samples open connections of their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HttpConnection {
    /// A connection per sample, closed after it (`Connection: close`): what
    /// a new client meets, a listener that stopped accepting included.
    #[default]
    New,
    /// One kept-alive connection for the probe's samples. A sample whose
    /// kept connection turns out closed before it answered is sent once more
    /// on a new one (as HTTP clients do); any failure drops the connection,
    /// so the next sample opens a new one.
    Reuse,
}

fn default_method() -> String {
    "GET".to_string()
}

/// An expected HTTP status: a code or an inclusive range written `"200-299"`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusExpectation {
    Code(u16),
    Range(String),
}

impl StatusExpectation {
    /// The inclusive range of accepted codes, or `None` when a range is malformed.
    pub fn bounds(&self) -> Option<(u16, u16)> {
        match self {
            StatusExpectation::Code(code) => Some((*code, *code)),
            StatusExpectation::Range(text) => {
                let (low, high) = text.split_once('-')?;
                let (low, high) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
                (low <= high).then_some((low, high))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum DnsRecordType {
    #[default]
    A,
    AAAA,
    CNAME,
    TXT,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    #[default]
    Ok,
    Alarm,
    InsufficientData,
}

impl std::fmt::Display for AlarmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        })
    }
}

/// One failure to inject.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Fault {
    /// Unique name, used by `start_after` and in the journal.
    pub name: String,
    /// Start only after these faults have ended (like FIS `startAfter`). Empty: at injection start.
    #[serde(default)]
    pub start_after: Vec<String>,
    /// Wait this long after the fault becomes ready to start.
    #[serde(default)]
    pub delay: Option<Duration>,
    /// How long the fault stays before it is reverted. Required for faults that can be reverted.
    #[serde(default)]
    pub duration: Option<Duration>,
    #[serde(flatten)]
    pub action: FaultAction,
}

impl Fault {
    /// A `zonal_shift`'s expiry in whole minutes: `expires_in`, else the
    /// `duration` plus 5 minutes, rounded up, within ARC's 1 minute to 3 days.
    pub fn zonal_shift_expiry_minutes(&self) -> Option<u64> {
        let FaultAction::ZonalShift { expires_in, .. } = &self.action else {
            return None;
        };
        let millis = expires_in.map(|e| e.as_millis()).unwrap_or_else(|| self.duration.map_or(0, |d| d.as_millis()) + 5 * 60_000);
        Some(millis.div_ceil(60_000).clamp(1, 72 * 60))
    }
}

/// What a fault does, by `kind`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Lose an Availability Zone: `power` stops its instances and fails launches there; `network` cuts its subnets off.
    AzOutage {
        /// AZ name (`us-east-1a`) or AZ ID (`use1-az1`).
        zone: String,
        #[serde(default)]
        mode: AzOutageMode,
        /// Limit the outage to instances with these tags.
        #[serde(default)]
        tags: BTreeMap<String, String>,
        /// Limit the outage to these Auto Scaling groups.
        #[serde(default)]
        groups: Vec<String>,
    },
    /// Terminate instances. Cannot be reverted: the Auto Scaling group is expected to replace them.
    TerminateInstances { targets: Targets },
    /// Stop instances; they are started again when the fault is reverted.
    StopInstances { targets: Targets },
    /// Reboot instances.
    RebootInstances { targets: Targets },
    /// Make Route 53 consider one side of a failover record unhealthy (its health check is inverted).
    DnsFailover {
        /// Hosted zone name, e.g. `example.com`.
        hosted_zone: String,
        /// The failover record, e.g. `api.example.com`.
        record: String,
        #[serde(default)]
        fail: FailoverSide,
    },
    /// Lose a whole region (for disaster-recovery scenarios). On the
    /// simulator every instance and balancer of `region` is lost. On AWS
    /// (through FIS only) the Region is cut off rather than lost: FIS's
    /// `aws:network:route-table-disrupt-cross-region-connectivity` blocks the
    /// traffic from the chosen subnets of the environment's Region to
    /// `region` for the `duration` (required, at most 12h), so what runs
    /// there must carry on as if `region` were gone.
    RegionOutage {
        /// The Region lost (AWS: cut off from the environment's Region, which must be another).
        region: String,
        /// AWS only: which subnets of the environment's Region are cut off
        /// from `region`. Default: every subnet there; the guards' tags, `max_targets`,
        /// `max_percent` and `max_azs` judge the subnets. The simulator ignores it.
        #[serde(default)]
        subnets: Option<SubnetSelector>,
    },
    /// A gray failure: requests served from a zone or a region fail at
    /// `error_rate`, or are slowed by `latency`, while load-balancer and
    /// Route 53 health checks keep passing, so automation does not react and
    /// people must. Set `zone` or `region`. On AWS (a `zone` only, through
    /// FIS): the zone's instances drop `error_rate` percent of their packets
    /// (SSM document `AWSFIS-Run-Network-Packet-Loss`) or delay them by
    /// `latency` (`AWSFIS-Run-Network-Latency`), one of the two.
    GrayFailure {
        #[serde(default)]
        zone: Option<String>,
        #[serde(default)]
        region: Option<String>,
        /// Share (0–100) of requests served there that fail. Default: 100,
        /// or none when `latency` is set. On AWS, the share of packets dropped.
        #[serde(default)]
        error_rate: Option<f64>,
        /// How much longer each request served there takes (whole
        /// milliseconds). On AWS, the delay added to every packet.
        #[serde(default)]
        latency: Option<Duration>,
        /// AWS only: the instances' network interface the FIS document acts
        /// on. Default `eth0` (the document's own default); newer AMIs name it
        /// otherwise (e.g. `ens5`: `ip -br link` on an instance says).
        #[serde(default)]
        interface: Option<String>,
        /// AWS only, FIS's "Cross-AZ Traffic Slowdown": drop or slow only the
        /// traffic from the zone's instances to other zones (SSM documents
        /// `AWSFIS-Run-Network-Packet-Loss-Sources` /
        /// `AWSFIS-Run-Network-Latency-Sources`), instead of all their
        /// traffic ("AZ Application Slowdown"). The simulator, which does not
        /// model flows between zones, keeps the zone's gray failure as it is.
        #[serde(default)]
        cross_zone: Option<CrossZone>,
    },
    /// Launches in these zones fail with insufficient capacity.
    AsgCapacityError {
        zones: Vec<String>,
        /// Limit to these groups. Empty: every group.
        #[serde(default)]
        groups: Vec<String>,
    },
    /// Run a shell command to inject and another to revert, for any system.
    Command { inject: String, revert: String },
    /// A planned mitigation, not a failure: shift a load balancer's traffic
    /// away from one zone with an ARC zonal shift (`StartZonalShift`), and
    /// cancel it when `duration` is over (and on every early ending).
    /// Refused while another zonal shift or a practice run is active on the
    /// resource. Usually started after an AZ fault (`start_after` or
    /// `delay`), so `expected_recoveries` can count from it (`after_fault`).
    ZonalShift {
        /// The managed resource: on AWS its ARN (an ALB or NLB), on the simulator a load balancer's name.
        resource: String,
        /// AZ name (`us-east-1a`) or AZ ID (`use1-az1`).
        away_from: String,
        /// When ARC ends the shift by itself if gameday could not cancel it
        /// (ARC's `expiresIn`, 1 minute to 3 days). Default: the `duration` plus 5 minutes.
        #[serde(default)]
        expires_in: Option<Duration>,
    },
    /// An on-demand ARC zonal autoshift practice run (`StartPracticeRun`) on
    /// a managed resource: ARC shifts its traffic away from one zone for 30
    /// minutes and judges the outcome by the practice-run configuration's
    /// outcome alarms (SUCCEEDED, FAILED, INTERRUPTED, CAPACITY_CHECK_FAILED).
    /// gameday follows it to its outcome, reports it beside its own
    /// measurements, and cancels it (`CancelPracticeRun`) when it is still
    /// running as the `duration` ends or on any early ending. Refused when the
    /// resource has no practice-run configuration, while another zonal shift
    /// or practice run is active on it, while a blocking alarm is in ALARM, or
    /// inside a blocked date or window (or outside every allowed window).
    PracticeRun {
        /// The managed resource: on AWS its ARN (an ALB or NLB), on the simulator a load balancer's name.
        resource: String,
        /// AZ name (`us-east-1a`) or AZ ID (`use1-az1`).
        away_from: String,
    },
    /// Fail a database's writer over to its standby: an Aurora or Multi-AZ DB
    /// cluster (`cluster`: `FailoverDBCluster`) or a Multi-AZ DB instance
    /// (`instance`: `RebootDBInstance` with `ForceFailover`). Set one. With a
    /// `duration`, gameday fails back to the original writer when it is over
    /// (and on every early ending); without one, the database stays failed over.
    DbFailover {
        /// The DB cluster identifier.
        #[serde(default)]
        cluster: Option<String>,
        /// The Multi-AZ DB instance identifier.
        #[serde(default)]
        instance: Option<String>,
        /// The reader instance to promote (clusters only). Default: the service picks.
        #[serde(default)]
        target: Option<String>,
    },
    /// The disaster-recovery step: execute an ARC Region switch plan
    /// (`StartPlanExecution`), follow it to its end, and read ARC's own
    /// `actualRecoveryTime` for the report. An execution still unfinished
    /// when `duration` is over (or on any early ending) is cancelled.
    /// A pending manual approval is shown to the people running the game
    /// day; gameday never approves a step itself.
    RegionSwitch {
        /// The plan: on AWS its ARN; on the simulator any name (the
        /// simulator's plan switches every failover record).
        plan: String,
        /// The Region the execution activates (or deactivates).
        target_region: String,
        #[serde(default)]
        action: RegionSwitchAction,
        /// `graceful` (default) or `ungraceful` (ARC skips or shortens
        /// steps that need the impaired Region).
        #[serde(default)]
        execution: RegionSwitchExecution,
        /// `practice` (default): a rehearsal. `recovery`: a real disaster
        /// recovery, refused unless the run's `--confirm` text is `recovery`.
        #[serde(default)]
        mode: RegionSwitchMode,
    },
}

/// What a Region switch execution does to its target Region.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionSwitchAction {
    #[default]
    Activate,
    Deactivate,
}

/// ARC's execution mode of a Region switch plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionSwitchExecution {
    #[default]
    Graceful,
    Ungraceful,
}

/// Why gameday executes the plan: a rehearsal, or a real recovery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionSwitchMode {
    #[default]
    Practice,
    Recovery,
}

impl RegionSwitchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionSwitchMode::Practice => "practice",
            RegionSwitchMode::Recovery => "recovery",
        }
    }
}

impl RegionSwitchAction {
    /// ARC's own spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionSwitchAction::Activate => "activate",
            RegionSwitchAction::Deactivate => "deactivate",
        }
    }
}

impl RegionSwitchExecution {
    /// ARC's own spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionSwitchExecution::Graceful => "graceful",
            RegionSwitchExecution::Ungraceful => "ungraceful",
        }
    }
}

impl FaultAction {
    pub fn kind_name(&self) -> &'static str {
        match self {
            FaultAction::AzOutage { .. } => "az_outage",
            FaultAction::TerminateInstances { .. } => "terminate_instances",
            FaultAction::StopInstances { .. } => "stop_instances",
            FaultAction::RebootInstances { .. } => "reboot_instances",
            FaultAction::DnsFailover { .. } => "dns_failover",
            FaultAction::RegionOutage { .. } => "region_outage",
            FaultAction::GrayFailure { .. } => "gray_failure",
            FaultAction::AsgCapacityError { .. } => "asg_capacity_error",
            FaultAction::Command { .. } => "command",
            FaultAction::DbFailover { .. } => "db_failover",
            FaultAction::ZonalShift { .. } => "zonal_shift",
            FaultAction::RegionSwitch { .. } => "region_switch",
            FaultAction::PracticeRun { .. } => "practice_run",
        }
    }

    /// Whether the fault stays in place until reverted (and so needs a `duration`).
    pub fn is_sustained(&self) -> bool {
        !matches!(self, FaultAction::TerminateInstances { .. } | FaultAction::RebootInstances { .. })
    }

    /// Whether `duration` may be left out: the fault is then made and done,
    /// and only held (and undone at the end) when it has one.
    pub fn duration_optional(&self) -> bool {
        matches!(self, FaultAction::DbFailover { .. })
    }

    pub fn targets(&self) -> Option<&Targets> {
        match self {
            FaultAction::TerminateInstances { targets } | FaultAction::StopInstances { targets } | FaultAction::RebootInstances { targets } => Some(targets),
            _ => None,
        }
    }
}

/// A `gray_failure`'s share (0–100) of failing requests: as written, else
/// 100 when it sets no `latency` (a gray failure slows or fails, or both).
pub fn gray_error_rate(error_rate: Option<f64>, latency: Option<Duration>) -> f64 {
    error_rate.unwrap_or(if latency.is_some() { 0.0 } else { 100.0 })
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AzOutageMode {
    #[default]
    Power,
    Network,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailoverSide {
    #[default]
    Primary,
    Secondary,
}

/// Which of a zone's flows a `gray_failure` with `cross_zone` impairs on AWS.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrossZone {
    /// The other zones (AZ names or AZ IDs) whose traffic is impaired.
    /// Default: every other zone of the environment's Region.
    #[serde(default)]
    pub zones: Vec<String>,
    /// The share (1–100, whole) of the network flows impaired. Default: 100.
    #[serde(default)]
    pub flows_percent: Option<f64>,
}

/// The subnets a `region_outage` cuts off on AWS: those carrying every tag,
/// in the VPC when one is named.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetSelector {
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The VPC id (`vpc-…`).
    #[serde(default)]
    pub vpc: Option<String>,
}

/// Which instances a fault acts on. Filters combine with AND; then `count` or
/// `percent` picks among the matches at random (seeded), like FIS `COUNT(n)` / `PERCENT(n)`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Members of these Auto Scaling groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// In these zones (AZ names or AZ IDs).
    #[serde(default)]
    pub zones: Vec<String>,
    /// These instance ids.
    #[serde(default)]
    pub ids: Vec<String>,
    /// Pick this many at random among the matches.
    #[serde(default)]
    pub count: Option<u32>,
    /// Pick this share (0–100, rounded down, at least 1) of the matches.
    #[serde(default)]
    pub percent: Option<f64>,
}

/// A recovery we expect, measured from a fault's start (or its revert, with
/// `from: revert`). Its kind is `recovers_within` (back by the deadline, then
/// stays healthy) or `stays_healthy` (never fails while the fault is in place).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRecovery {
    /// Name shown in the report.
    pub name: String,
    /// The probes that must be healthy again; recovery is when the last of them recovers.
    pub probes: Vec<String>,
    /// The fault the clock starts from. Default: the first fault.
    #[serde(default)]
    pub after_fault: Option<String>,
    /// Where the clock starts: the fault's `start` (default) or its `revert`
    /// (its end), e.g. for fail-back after a failover.
    #[serde(default)]
    pub from: ClockStart,
    /// Deadline, counted from `from`: every probe back by then, and healthy from then to the end of the run.
    #[serde(default)]
    pub recovers_within: Option<Duration>,
    /// The probes never fail while the fault is in place (the sustained
    /// expectation of AWS Resilience Hub). Instead of `recovers_within`.
    #[serde(default)]
    pub stays_healthy: bool,
    /// One of the `detected_by` signals should have fired by then (needs `detected_by`).
    #[serde(default)]
    pub detected_within: Option<Duration>,
    /// The team's own signals that count as detection: CloudWatch alarms (by
    /// name or ARN) entering ALARM, or probes of the steady state that the
    /// team watches as its monitor (a Route 53 health check, a health
    /// endpoint) failing. The expectation's own probes are the referee, not
    /// detection: without `detected_by`, detection is not measured.
    #[serde(default)]
    pub detected_by: Vec<String>,
    /// Budget for the impact.
    #[serde(default)]
    pub max_impact: Option<ImpactBudget>,
    /// The team's written estimate of the recovery time, compared with the outcome.
    #[serde(default)]
    pub predicted: Option<Duration>,
    /// A disruption class of the scenario's `objectives` file: its RTO is this
    /// expectation's deadline (instead of `recovers_within`) and its
    /// availability the error budget when `max_impact.requests` counts requests.
    #[serde(default)]
    pub objective: Option<super::objectives::DisruptionClass>,
    /// The objective `objective` names, filled in when the scenario is read.
    #[serde(skip)]
    #[schemars(skip)]
    pub resolved_objective: Option<super::objectives::Objective>,
}

impl ExpectedRecovery {
    /// The fault this expectation counts from: `after_fault`, else the
    /// scenario's first fault. The one place this rule lives.
    pub fn reference_fault<'a>(&'a self, faults: &'a [Fault]) -> &'a str {
        self.after_fault.as_deref().or(faults.first().map(|f| f.name.as_str())).unwrap_or("")
    }

    /// The deadline after the clock's start; zero for `stays_healthy`, whose
    /// deadline is the fault's end.
    pub fn within(&self) -> Duration {
        self.recovers_within.unwrap_or(Duration::from_secs(0))
    }
}

/// Where an expectation's clock starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockStart {
    /// When the fault is in place.
    #[default]
    Start,
    /// When the fault ends: reverted, or made and done for a fault without a duration.
    Revert,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactBudget {
    /// Total time the probes may fail.
    #[serde(default)]
    pub downtime: Option<Duration>,
    /// Share (0–100) of requests that may fail between the fault and
    /// recovery, counted by the `metric` probe named in `requests`.
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// The `metric` probe that counts requests for `error_rate`: its metric
    /// counts failed requests and its `divided_by` all requests (on an ALB,
    /// `[HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count]` divided by `RequestCount`).
    #[serde(default)]
    pub requests: Option<String>,
    /// Share (0–100) of the expectation's probe samples that may fail between
    /// the fault and recovery: a budget on gameday's own probes, not on traffic.
    #[serde(default)]
    pub probe_error_rate: Option<f64>,
}
