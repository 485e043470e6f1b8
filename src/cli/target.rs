//! The environment a command runs against, chosen at run time by `--env`.
//!
//! `Target` is itself an [`Environment`]: each method forwards to the one
//! environment it holds. So every generic function of the library (the
//! runner, `plan`, `recover`) is called once, on a `Target`, and a new
//! environment is one variant and one arm per method here, nothing else.
//!
//! Every method is forwarded, the defaulted ones too: a default here would
//! silently replace the simulator's operator actions or the local
//! environment's prober. A method added to the trait must be added here.

use crate::environment::aws::AwsEnvironment;
use crate::environment::local::LocalEnvironment;
use crate::environment::real_probes::RealProber;
use crate::environment::sim::SimEnvironment;
use crate::environment::{AlarmReading, Candidate, Effect, EnvError, Environment, Identity, Millis, Observation, Reach, RevertOutcome, Sample};
use crate::scenario::{Fault, OperatorAction, Probe};

// The simulator is the common case and held inline; the AWS environment is
// boxed already. One value per command: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Target {
    Sim(SimEnvironment),
    Local(LocalEnvironment),
    Aws(Box<AwsEnvironment>),
}

impl Target {
    /// The environment in words, for the line that starts a run.
    pub(super) fn describe(&self) -> String {
        match self {
            Target::Sim(_) => "the simulator".into(),
            Target::Local(_) => "this machine (local)".into(),
            Target::Aws(env) => {
                let identity = env.identity();
                format!("AWS account {} in {} (environment `{}`)", identity.account, env.spec().region, identity.environment)
            }
        }
    }

    /// Whether this is the built-in simulator: nothing real can be touched.
    pub(super) fn is_simulator(&self) -> bool {
        matches!(self, Target::Sim(_))
    }
}

impl Environment for Target {
    fn identity(&self) -> Identity {
        match self {
            Target::Sim(env) => env.identity(),
            Target::Local(env) => env.identity(),
            Target::Aws(env) => env.identity(),
        }
    }

    fn supports_probe(&self, probe: &Probe) -> Result<(), EnvError> {
        match self {
            Target::Sim(env) => env.supports_probe(probe),
            Target::Local(env) => env.supports_probe(probe),
            Target::Aws(env) => env.supports_probe(probe),
        }
    }

    async fn reach(&mut self, fault: &Fault) -> Result<Reach, EnvError> {
        match self {
            Target::Sim(env) => env.reach(fault).await,
            Target::Local(env) => env.reach(fault).await,
            Target::Aws(env) => env.reach(fault).await,
        }
    }

    async fn prepare(&mut self, fault: &Fault, chosen: &[Candidate], reach: &Reach) -> Result<Effect, EnvError> {
        match self {
            Target::Sim(env) => env.prepare(fault, chosen, reach).await,
            Target::Local(env) => env.prepare(fault, chosen, reach).await,
            Target::Aws(env) => env.prepare(fault, chosen, reach).await,
        }
    }

    async fn apply(&mut self, effect: &Effect, now: Millis) -> Result<(), EnvError> {
        match self {
            Target::Sim(env) => env.apply(effect, now).await,
            Target::Local(env) => env.apply(effect, now).await,
            Target::Aws(env) => env.apply(effect, now).await,
        }
    }

    async fn revert(&mut self, effect: &Effect, now: Millis) -> Result<RevertOutcome, EnvError> {
        match self {
            Target::Sim(env) => env.revert(effect, now).await,
            Target::Local(env) => env.revert(effect, now).await,
            Target::Aws(env) => env.revert(effect, now).await,
        }
    }

    async fn sample(&mut self, probe: &Probe, now: Millis) -> Sample {
        match self {
            Target::Sim(env) => env.sample(probe, now).await,
            Target::Local(env) => env.sample(probe, now).await,
            Target::Aws(env) => env.sample(probe, now).await,
        }
    }

    async fn alarm_states(&mut self, names: &[String], now: Millis) -> Vec<AlarmReading> {
        match self {
            Target::Sim(env) => env.alarm_states(names, now).await,
            Target::Local(env) => env.alarm_states(names, now).await,
            Target::Aws(env) => env.alarm_states(names, now).await,
        }
    }

    async fn check_alarm_exists(&mut self, name: &str) -> Result<(), EnvError> {
        match self {
            Target::Sim(env) => env.check_alarm_exists(name).await,
            Target::Local(env) => env.check_alarm_exists(name).await,
            Target::Aws(env) => env.check_alarm_exists(name).await,
        }
    }

    fn take_observations(&mut self) -> Vec<Observation> {
        match self {
            Target::Sim(env) => env.take_observations(),
            Target::Local(env) => env.take_observations(),
            Target::Aws(env) => env.take_observations(),
        }
    }

    async fn follow(&mut self, now: Millis) -> Vec<crate::environment::Ended> {
        match self {
            Target::Sim(env) => env.follow(now).await,
            Target::Local(env) => env.follow(now).await,
            Target::Aws(env) => env.follow(now).await,
        }
    }

    fn prober(&self) -> Option<RealProber> {
        match self {
            Target::Sim(env) => env.prober(),
            Target::Local(env) => env.prober(),
            Target::Aws(env) => env.prober(),
        }
    }

    fn check_operator_action(&self, action: &OperatorAction) -> Result<(), EnvError> {
        match self {
            Target::Sim(env) => env.check_operator_action(action),
            Target::Local(env) => env.check_operator_action(action),
            Target::Aws(env) => env.check_operator_action(action),
        }
    }

    async fn operator_action(&mut self, action: &OperatorAction, now: Millis) -> Result<String, EnvError> {
        match self {
            Target::Sim(env) => env.operator_action(action, now).await,
            Target::Local(env) => env.operator_action(action, now).await,
            Target::Aws(env) => env.operator_action(action, now).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::sim::Topology;
    use crate::scenario::{FailoverSide, OperatorChange};

    fn switch_dns(record: &str) -> OperatorAction {
        OperatorAction { name: "fail-over".into(), title: None, change: OperatorChange::SwitchDns { record: record.into(), to: FailoverSide::Secondary } }
    }

    /// The defaulted methods are where forwarding can lapse unseen: without
    /// an arm, the trait's default would answer instead of the environment.
    #[tokio::test]
    async fn defaulted_methods_reach_the_environment_held() {
        let topology = Topology::default_topology().expect("the built-in topology loads");
        let mut target = Target::Sim(SimEnvironment::new(&topology, 1));
        assert!(target.check_operator_action(&switch_dns("nowhere.example.com")).is_err(), "the simulator's check, not the default that accepts all");
        assert_eq!(target.operator_action(&switch_dns("api.example.com"), 1_000).await, Ok("api.example.com now answers with web-dr-alb".to_string()));
        assert!(target.prober().is_none(), "the simulator is sampled in the loop, on virtual time");
        let local = Target::Local(LocalEnvironment::new(&[]).expect("a local environment without probes"));
        assert!(local.prober().is_some(), "the local environment's prober, not the default `None`");
    }
}
