//! The `local` environment: no cloud. Faults are `command` faults (inject and
//! revert shell commands) and probes are real `http`, `tcp`, `dns` and
//! `command` checks, so a team can game-day systemd services, processes or
//! hosts reachable from this machine. Runs on the wall clock.

use crate::environment::real_probes::RealProber;
use crate::environment::{
    AlarmReadError, AlarmReading, Candidate, Effect, EnvError, Environment, Identity, Millis, Observation, Reach, ReadErrorKind, RevertOutcome, Sample, alarm_name, shell,
};
use crate::scenario::{Fault, FaultAction, Probe, ProbeCheck};

pub struct LocalEnvironment {
    prober: RealProber,
}

impl LocalEnvironment {
    /// Prepares the probes' TLS trust (reading any `ca_file`).
    pub fn new(probes: &[Probe]) -> Result<Self, EnvError> {
        Ok(LocalEnvironment { prober: RealProber::new(probes).map_err(EnvError::Failed)? })
    }
}

impl Environment for LocalEnvironment {
    fn identity(&self) -> Identity {
        Identity { environment: "local".into(), account: "local".into(), regions: Vec::new(), simulated: false }
    }

    fn supports_probe(&self, probe: &Probe) -> Result<(), EnvError> {
        match &probe.check {
            ProbeCheck::Http { .. } | ProbeCheck::Tcp { .. } | ProbeCheck::Dns { .. } | ProbeCheck::Command { .. } => Ok(()),
            other => Err(EnvError::Unsupported(format!(
                "probe `{}` is of kind `{}`, which reads AWS; the local environment has no AWS: use `http`, `tcp`, `dns` or `command` probes here, or run on the simulator",
                probe.name,
                other.kind_name()
            ))),
        }
    }

    async fn reach(&mut self, fault: &Fault) -> Result<Reach, EnvError> {
        match &fault.action {
            FaultAction::Command { inject, .. } => Ok(Reach { other_resources: vec![format!("shell on this machine: `{inject}`")], ..Reach::default() }),
            other => Err(EnvError::Unsupported(format!("fault `{}` is `{}`, which needs AWS; the local environment makes `command` faults only", fault.name, other.kind_name()))),
        }
    }

    async fn prepare(&mut self, fault: &Fault, _chosen: &[Candidate], _reach: &Reach) -> Result<Effect, EnvError> {
        match &fault.action {
            FaultAction::Command { inject, revert } => Effect::command(inject, revert),
            other => Err(EnvError::Unsupported(format!("`{}` faults need AWS", other.kind_name()))),
        }
    }

    async fn apply(&mut self, effect: &Effect, _now: Millis) -> Result<(), EnvError> {
        match effect {
            Effect::Command { inject, context, .. } => shell::inject(inject, context.as_ref()).await,
            other => Err(EnvError::Unsupported(format!("the local environment cannot apply {other:?}"))),
        }
    }

    async fn revert(&mut self, effect: &Effect, _now: Millis) -> Result<RevertOutcome, EnvError> {
        match effect {
            Effect::Command { revert, context, .. } => shell::revert(revert, context.as_ref()).await,
            other => Err(EnvError::Unsupported(format!("the local environment cannot revert {other:?}"))),
        }
    }

    async fn sample(&mut self, probe: &Probe, now: Millis) -> Sample {
        self.prober.sample(probe, now).await
    }

    async fn alarm_states(&mut self, names: &[String], _now: Millis) -> Vec<AlarmReading> {
        // Refused before the run (`check_alarm_exists`); should one be asked
        // for anyway, it reads as unreadable, never as quiet.
        names
            .iter()
            .map(|name| AlarmReading {
                alarm: alarm_name(name).to_string(),
                state: Err(AlarmReadError { kind: ReadErrorKind::NotFound, message: "the local environment has no CloudWatch alarms".into() }),
            })
            .collect()
    }

    async fn check_alarm_exists(&mut self, name: &str) -> Result<(), EnvError> {
        Err(EnvError::Unsupported(format!("alarm `{name}` is a CloudWatch alarm; the local environment has none: use a probe-based stop condition")))
    }

    fn take_observations(&mut self) -> Vec<Observation> {
        Vec::new()
    }

    fn prober(&self) -> Option<RealProber> {
        Some(self.prober.clone())
    }
}
