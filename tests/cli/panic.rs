//! A panic inside the runner: caught at the task boundary, then every fault
//! the journal shows in place is reverted from the journal.

use gameday::environment::sim::{SimEnvironment, Topology};
use gameday::environment::{AlarmReading, Candidate, Effect, EnvError, Environment, Identity, Millis, Observation, Reach, RevertOutcome, Sample};
use gameday::run::clock::{Interrupt, VirtualClock};
use gameday::run::journal::Journal;
use gameday::run::panic::catch_panic;
use gameday::run::{RunConfig, Runner, Silent, recover};
use gameday::scenario::{Fault, Probe};

/// The simulator, with a bug: its fifth sample panics.
struct Buggy {
    inner: SimEnvironment,
    samples: usize,
}

impl Environment for Buggy {
    fn identity(&self) -> Identity {
        self.inner.identity()
    }
    fn supports_probe(&self, probe: &Probe) -> Result<(), EnvError> {
        self.inner.supports_probe(probe)
    }
    async fn reach(&mut self, fault: &Fault) -> Result<Reach, EnvError> {
        self.inner.reach(fault).await
    }
    async fn prepare(&mut self, fault: &Fault, chosen: &[Candidate], reach: &Reach) -> Result<Effect, EnvError> {
        self.inner.prepare(fault, chosen, reach).await
    }
    async fn apply(&mut self, effect: &Effect, now: Millis) -> Result<(), EnvError> {
        self.inner.apply(effect, now).await
    }
    async fn revert(&mut self, effect: &Effect, now: Millis) -> Result<RevertOutcome, EnvError> {
        self.inner.revert(effect, now).await
    }
    async fn sample(&mut self, probe: &Probe, now: Millis) -> Sample {
        self.samples += 1;
        assert!(self.samples < 5, "a bug in a probe");
        self.inner.sample(probe, now).await
    }
    async fn alarm_states(&mut self, names: &[String], now: Millis) -> Vec<AlarmReading> {
        self.inner.alarm_states(names, now).await
    }
    async fn check_alarm_exists(&mut self, name: &str) -> Result<(), EnvError> {
        self.inner.check_alarm_exists(name).await
    }
    fn take_observations(&mut self) -> Vec<Observation> {
        self.inner.take_observations()
    }
}

#[tokio::test]
async fn a_panic_in_the_runner_still_reverts_every_fault() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = panicked_run(dir.path()).await;

    let run = recover::inspect(dir.path());
    assert_eq!(run.in_place.len(), 1, "the stop is in place after the panic");
    let (recovered, journal_error) = recover::recover(&run, &mut env).await;
    assert!(journal_error.is_none());
    let restored = &recovered[0].result.as_ref().unwrap().restored;
    assert_eq!(restored.len(), 2, "both workers started again: {restored:?}");
    assert!(recover::inspect(dir.path()).in_place.is_empty(), "the journal now shows nothing in place");
}

/// Runs the buggy simulator into its panic, with its journal in `dir`.
async fn panicked_run(dir: &std::path::Path) -> Buggy {
    let scenario = gameday::scenario::parse_str(
        "apiVersion: gameday/v1\nname: buggy\nsteady_state:\n  - { name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 6 }\nfaults:\n  - { name: stop-workers, kind: stop_instances, targets: { tags: { app: worker } }, duration: 5m }\nexpected_recoveries:\n  - { name: capacity, probes: [capacity], recovers_within: 5m }\n",
        None,
    )
    .unwrap();
    let journal = Journal::create(&dir.join("journal.jsonl")).unwrap();
    let mut env = Buggy { inner: SimEnvironment::new(&Topology::default_topology().unwrap(), 1), samples: 0 };
    let result = catch_panic(Runner::new(&scenario, &mut env, VirtualClock::default(), Silent, journal, RunConfig::new(1, jiff::Timestamp::now()), Interrupt::new()).run()).await;
    assert_eq!(result.err().as_deref(), Some("a bug in a probe"));
    env
}

#[tokio::test]
async fn after_a_panic_the_run_reverts_from_its_journal_and_says_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = panicked_run(dir.path()).await;
    assert_eq!(recover::inspect(dir.path()).in_place.len(), 1, "the stop is in place after the panic");
    assert!(recover::after_panic(dir.path(), &mut env).await.is_ok());
    assert!(recover::inspect(dir.path()).in_place.is_empty(), "the journal now shows nothing in place");
}

#[tokio::test]
async fn after_a_panic_a_damaged_journal_is_unsettled_even_when_every_revert_worked() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = panicked_run(dir.path()).await;
    // A line in the middle that cannot be read: a record may be missing there.
    let path = dir.path().join("journal.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    std::fs::write(&path, format!("{first}\nnot a record\n{rest}")).unwrap();
    let unsettled = recover::after_panic(dir.path(), &mut env).await.unwrap_err();
    assert!(
        matches!(unsettled.as_slice(), [recover::Unsettled::CannotTell(why)] if why.contains("is damaged")),
        "the stop was reverted, but the damage is left for a person: {unsettled:?}"
    );
    assert!(recover::inspect(dir.path()).in_place.is_empty(), "the revert was journaled");
}
