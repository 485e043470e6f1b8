//! Recovery from the journal alone: after kill -9, a power cut or a lost
//! laptop, revert whatever a run's journal shows as still in place.

use std::path::{Path, PathBuf};

use crate::environment::{Effect, EnvError, Environment, RevertOutcome};
use crate::journal::{self, Damage, Event, Journal, Record};
use crate::run::clock::{Interrupt, WallClock};
use crate::run::lock;

/// What a run's journal says is in place, and how far it can be trusted.
#[derive(Clone, Debug)]
pub struct OpenRun {
    pub dir: PathBuf,
    pub scenario: String,
    pub environment: String,
    pub account: String,
    pub finished: bool,
    pub in_place: Vec<(String, Effect)>,
    /// Lines that could not be read: a record may be missing there, so the
    /// journal cannot say for sure what is in place.
    pub damage: Vec<Damage>,
    /// The journal could not be read at all (permissions, an I/O error).
    pub unreadable: Option<String>,
    /// The process still running this game day, if any (from the lock).
    pub live_pid: Option<u32>,
    /// The latest run time the journal holds: records `recover` appends
    /// carry it, so the timeline never runs backwards.
    pub last_t: crate::environment::Millis,
}

/// How sure the journal is about what is in place.
#[derive(Clone, Debug, PartialEq)]
pub enum Certainty {
    /// The journal was read whole: `in_place` is exactly what remains.
    Known,
    /// The journal is damaged or unreadable: `in_place` is what the readable
    /// part shows, and more may be in place. A person must read it.
    CannotTell(String),
}

impl OpenRun {
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    pub fn certainty(&self) -> Certainty {
        if let Some(error) = &self.unreadable {
            return Certainty::CannotTell(format!("the journal {} cannot be read: {error}", self.journal_path().display()));
        }
        match self.damage.as_slice() {
            [] => Certainty::Known,
            damage => Certainty::CannotTell(format!(
                "the journal {} is damaged ({}): a record may be missing there",
                self.journal_path().display(),
                damage.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            )),
        }
    }

    /// Whether a person must look: something in place, or no way to tell.
    pub fn needs_attention(&self) -> bool {
        !self.in_place.is_empty() || self.certainty() != Certainty::Known
    }
}

/// Reads a run directory's journal. Never fails: a journal that cannot be
/// read is a state of its own (`Certainty::CannotTell`), never "nothing in place".
pub fn inspect(dir: &Path) -> OpenRun {
    let (records, damage, unreadable) = match journal::read_all(&dir.join("journal.jsonl")) {
        Ok(read) => (read.records, read.damage, None),
        Err(error) => (Vec::new(), Vec::new(), Some(error.to_string())),
    };
    let (scenario, environment, account) = records
        .iter()
        .find_map(|r| match &r.event {
            Event::RunStarted { scenario, environment, account, .. } => Some((scenario.clone(), environment.clone(), account.clone())),
            _ => None,
        })
        .unwrap_or_default();
    let live_pid = live_holder(&environment, dir);
    OpenRun {
        dir: dir.to_path_buf(),
        scenario,
        environment,
        account,
        finished: records.iter().any(|r| matches!(r.event, Event::RunEnded { .. })),
        in_place: journal::still_injected(&records),
        last_t: records.iter().map(|r| r.t).max().unwrap_or(0),
        damage,
        unreadable,
        live_pid,
    }
}

/// The pid of a live process whose environment lock names `dir`.
fn live_holder(environment: &str, dir: &Path) -> Option<u32> {
    if environment.is_empty() {
        return None;
    }
    let holder = lock::read_lock(environment)?;
    let same = |a: &Path, b: &Path| a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y);
    (same(&holder.run_dir, dir) && holder.pid != std::process::id() && lock::process_alive(holder.pid)).then_some(holder.pid)
}

/// Every run under `runs_dir` with a journal, readable or not, oldest first.
pub fn runs(runs_dir: &Path) -> Vec<OpenRun> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs_dir).into_iter().flatten().filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("journal.jsonl").exists()).collect();
    dirs.sort();
    dirs.iter().map(|d| inspect(d)).collect()
}

/// What recovering one fault did.
pub struct Recovered {
    pub fault: String,
    pub result: Result<RevertOutcome, EnvError>,
    pub manual_steps: Vec<String>,
}

/// Reverts every fault still in place, appending the intents and outcomes
/// to the run's journal (synced), so a second recover finds nothing to do.
/// A journal write that fails does not stop the reverts: the first error
/// is returned with the results, and the caller says what the journal lacks.
pub async fn recover<E: Environment>(run: &OpenRun, env: &mut E) -> (Vec<Recovered>, Option<journal::JournalError>) {
    let (mut journal, open_error) = match Journal::create(&run.journal_path()) {
        Ok(journal) => (Some(journal), None),
        Err(error) => (None, Some(error)),
    };
    let (results, write_error) = revert_each(run, env, journal.as_mut()).await;
    (results, open_error.or(write_error))
}

async fn revert_each<E: Environment>(run: &OpenRun, env: &mut E, mut journal: Option<&mut Journal>) -> (Vec<Recovered>, Option<journal::JournalError>) {
    let mut results = Vec::new();
    let mut first_error = None;
    let mut write = |event: Event| {
        if let Some(journal) = journal.as_deref_mut()
            && let Err(error) = journal.append(Record { t: run.last_t, wall: journal::now_wall(), event }, true)
        {
            first_error.get_or_insert(error);
        }
    };
    for (fault, effect) in &run.in_place {
        write(Event::RevertIntent { fault: fault.clone() });
        match crate::run::revert_with_retry(env, effect, &mut WallClock::start(), &Interrupt::new(), crate::run::REVERT_BACKOFF).await {
            Ok(done) => {
                write(Event::FaultReverted { fault: fault.clone(), outcome: done.clone() });
                results.push(Recovered { fault: fault.clone(), result: Ok(done), manual_steps: Vec::new() });
            }
            Err(last) => {
                write(Event::RevertFailed { fault: fault.clone(), error: last.to_string() });
                results.push(Recovered { fault: fault.clone(), result: Err(last), manual_steps: effect.manual_steps() });
            }
        }
    }
    (results, first_error)
}

/// What reverting from the journal after a panic could not settle: each
/// needs a person.
#[derive(Debug)]
pub enum Unsettled {
    /// A fault whose revert failed on every attempt: the last error, and
    /// how to undo it by hand.
    NotReverted { fault: String, error: EnvError, manual_steps: Vec<String> },
    /// The journal is damaged or unreadable (`Certainty::CannotTell`): more
    /// than it shows may be in place.
    CannotTell(String),
    /// The reverts ran, but the journal could not record them: it still
    /// shows those faults in place.
    JournalUnwritten(journal::JournalError),
}

/// The runner of the run in `run_dir` panicked: reverts every fault its
/// journal shows in place, appending to that journal, as `recover` does.
/// `Ok` when nothing is left for a person to settle.
pub async fn after_panic<E: Environment>(run_dir: &Path, env: &mut E) -> Result<(), Vec<Unsettled>> {
    let run = inspect(run_dir);
    let (recovered, journal_error) = recover(&run, env).await;
    let mut unsettled: Vec<Unsettled> =
        recovered.into_iter().filter_map(|r| r.result.err().map(|error| Unsettled::NotReverted { fault: r.fault, error, manual_steps: r.manual_steps })).collect();
    if let Certainty::CannotTell(why) = run.certainty() {
        unsettled.push(Unsettled::CannotTell(why));
    }
    unsettled.extend(journal_error.map(Unsettled::JournalUnwritten));
    if unsettled.is_empty() { Ok(()) } else { Err(unsettled) }
}
