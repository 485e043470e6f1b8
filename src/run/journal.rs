//! The run's journal: every event, one JSON object per line, appended as it
//! happens. A fault's intent (with what reverting it takes) is written and
//! synced to disk before the fault is made, so the journal alone tells what
//! may still be in place after a crash.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::environment::{Candidate, Effect, Millis, Observation, RevertOutcome, Sample};
use crate::guard::Verdict;
use crate::scenario::AlarmState;

/// One line of `journal.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Milliseconds since the run started (virtual on the simulator).
    pub t: Millis,
    /// Wall-clock time (on the simulator: the start time plus virtual time).
    pub wall: String,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        scenario: String,
        environment: String,
        account: String,
        seed: u64,
        gameday_version: String,
    },
    GuardsJudged {
        phase: String,
        verdicts: Vec<GuardVerdictRecord>,
    },
    SteadyState {
        healthy: bool,
        detail: String,
    },
    InjectionStarted,
    /// Written (and synced) before the fault is made.
    FaultIntent {
        fault: String,
        kind: String,
        effect: Effect,
        targets: Vec<Candidate>,
        /// Zones the fault impairs (a zone outage names its zone even with no instance in it).
        #[serde(default)]
        zones: Vec<String>,
    },
    FaultApplied {
        fault: String,
    },
    FaultFailed {
        fault: String,
        error: String,
    },
    /// Written (and synced) before the revert is attempted.
    RevertIntent {
        fault: String,
    },
    FaultReverted {
        fault: String,
        outcome: RevertOutcome,
    },
    RevertFailed {
        fault: String,
        error: String,
    },
    Sample(Sample),
    Observed(Observation),
    AlarmChanged {
        alarm: String,
        state: AlarmState,
    },
    StopConditionTripped {
        condition: String,
    },
    Interrupted {
        signal: String,
    },
    /// A drill began: the runbook's steps and the operator actions on offer,
    /// so the report's human timeline needs nothing but the journal.
    DrillStarted {
        runbook: String,
        speed: String,
        steps: Vec<crate::drill::RunbookStep>,
        actions: Vec<OfferedAction>,
    },
    StepAcknowledged {
        step: u32,
    },
    StepDone {
        step: u32,
    },
    StepSkipped {
        step: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A note on a step; `unclear` marks a gap in the runbook.
    StepAnnotated {
        step: u32,
        note: String,
        unclear: bool,
    },
    /// A free-text observation by anyone in the drill.
    TeamObservation {
        text: String,
    },
    /// An operator action, applied by gameday (simulator) or done by people (real environments).
    OperatorActionTaken {
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<u32>,
        by: String,
        detail: String,
    },
    OperatorActionFailed {
        action: String,
        error: String,
    },
    /// `outcome` is the final outcome for people; `stopped` is why the loop
    /// ended (before expectations were judged), from which the result is rebuilt.
    RunEnded {
        outcome: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped: Option<crate::run::Outcome>,
    },
    /// An alarm could not be read (throttled, access denied, deleted,
    /// network): the run does not know its state. Written for every failed read.
    AlarmUnreadable {
        alarm: String,
        error: crate::environment::AlarmReadError,
    },
}

/// An operator action as the drill offered it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OfferedAction {
    pub name: String,
    pub description: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GuardVerdictRecord {
    pub guard: String,
    pub passed: bool,
    pub enforced: bool,
    pub detail: String,
}

impl From<&Verdict> for GuardVerdictRecord {
    fn from(v: &Verdict) -> Self {
        GuardVerdictRecord { guard: v.guard.clone(), passed: v.passed, enforced: v.enforced, detail: v.detail.clone() }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not write the journal {}: {source}", path.display())]
pub struct JournalError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Appends records to a file (or only keeps them in memory, for `plan`-like
/// uses and tests).
pub struct Journal {
    file: Option<(PathBuf, File)>,
    records: Vec<Record>,
}

impl Journal {
    pub fn in_memory() -> Self {
        Journal { file: None, records: Vec::new() }
    }

    pub fn create(path: &Path) -> Result<Self, JournalError> {
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(|source| JournalError { path: path.to_path_buf(), source })?;
        Ok(Journal { file: Some((path.to_path_buf(), file)), records: Vec::new() })
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Appends and flushes. `durable` also syncs to disk: used for every
    /// record about a side effect, so a crash cannot lose it.
    pub fn append(&mut self, record: Record, durable: bool) -> Result<(), JournalError> {
        if let Some((path, file)) = &mut self.file {
            let mut line = serde_json::to_string(&record).map_err(|e| JournalError { path: path.clone(), source: std::io::Error::other(e) })?;
            line.push('\n');
            let io = |source| JournalError { path: path.clone(), source };
            file.write_all(line.as_bytes()).map_err(io)?;
            file.flush().map_err(|source| JournalError { path: path.clone(), source })?;
            if durable {
                file.sync_data().map_err(|source| JournalError { path: path.clone(), source })?;
            }
        }
        self.records.push(record);
        Ok(())
    }
}

/// Reads a journal back. A torn last line (a crash mid-write) is skipped:
/// everything before it is intact. A bad line anywhere else means the file
/// was damaged or edited, and is an error naming the line.
pub fn read(path: &Path) -> std::io::Result<Vec<Record>> {
    let reader = BufReader::new(File::open(path)?);
    let lines: Vec<String> = reader.lines().collect::<Result<_, _>>()?;
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    let mut records = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(record) => records.push(record),
            Err(_) if Some(index) == last => {}
            Err(error) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} line {}: {error}", path.display(), index + 1))),
        }
    }
    Ok(records)
}

/// Faults whose intent is journaled but whose revert is not: what may still
/// be in place. A failed apply counts too (it may have failed part-way).
/// Terminations and reboots cannot be reverted and are left out.
pub fn still_injected(records: &[Record]) -> Vec<(String, Effect)> {
    let mut open: Vec<(String, Effect)> = Vec::new();
    for record in records {
        match &record.event {
            Event::FaultIntent { fault, effect, .. } if effect.is_revertible() => open.push((fault.clone(), effect.clone())),
            Event::FaultReverted { fault, .. } => open.retain(|(f, _)| f != fault),
            _ => {}
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(t: Millis, event: Event) -> Record {
        Record { t, wall: String::new(), event }
    }

    #[test]
    fn still_injected_follows_intents_and_reverts() {
        let stop = Effect::StopInstances { ids: vec!["i-1".into()] };
        let records = vec![
            record(0, Event::FaultIntent { fault: "a".into(), kind: "stop_instances".into(), effect: stop.clone(), targets: vec![], zones: vec![] }),
            record(
                1,
                Event::FaultIntent { fault: "b".into(), kind: "terminate_instances".into(), effect: Effect::TerminateInstances { ids: vec![] }, targets: vec![], zones: vec![] },
            ),
            record(2, Event::FaultIntent { fault: "c".into(), kind: "region_outage".into(), effect: Effect::RegionDown { region: "r".into() }, targets: vec![], zones: vec![] }),
            record(3, Event::FaultReverted { fault: "c".into(), outcome: RevertOutcome::default() }),
        ];
        assert_eq!(still_injected(&records), vec![("a".to_string(), stop)]);
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut journal = Journal::create(&path).unwrap();
        journal.append(record(5, Event::InjectionStarted), true).unwrap();
        drop(journal);
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"t\": 9, \"wall\"").unwrap();
        let records = read(&path).unwrap();
        assert_eq!(records, vec![record(5, Event::InjectionStarted)]);
    }

    #[test]
    fn a_damaged_line_in_the_middle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let good = serde_json::to_string(&record(1, Event::InjectionStarted)).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        let error = read(&path).unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
