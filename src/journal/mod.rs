//! The run's journal: every event, one JSON object per line, appended as it
//! happens. A fault's intent (with what reverting it takes) is written and
//! synced to disk before the fault is made, so the journal alone tells what
//! may still be in place after a crash.
//!
//! Architecture invariant: the journal is a layer below `drill` and `run`,
//! which both write it; it imports neither. What its records carry from
//! those layers (a runbook step) lives in `vocab`, and how a run ended
//! ([`Outcome`]) lives here.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::environment::{AlarmReadError, Candidate, Effect, Observation, RevertOutcome};
use crate::guard::Verdict;
use crate::scenario::AlarmState;
use crate::vocab::{GuardName, Millis, RunbookStep, Sample};

mod outcome;

pub use outcome::{Outcome, UnrecordedRevert};

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
        /// The process running the run (a plain run or a drill): `gameday
        /// drill watch` tells a run still going from one whose process died
        /// without ending it. Absent from journals of earlier versions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
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
    /// A Region switch plan execution ended, as ARC read it (its state and
    /// `actualRecoveryTime`); `at` is when gameday read it.
    PlanExecutionEnded(crate::environment::PlanExecutionEnd),
    /// An ARC zonal autoshift practice run ended, with ARC's outcome; `at`
    /// is when gameday read it.
    PracticeRunEnded(crate::environment::PracticeRunEnd),
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
        steps: Vec<RunbookStep>,
        actions: Vec<OfferedAction>,
        /// The process running the drill, as earlier versions wrote it;
        /// `run_started` names the process of every run now, and `drill
        /// watch` reads this only in their journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
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
        by: Actor,
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
        stopped: Option<Outcome>,
        /// How long the run really took on the wall clock, in milliseconds.
        /// Record times (`t`) are the run's own clock, which on the
        /// simulator runs far faster than the wall; CI wants the real time.
        /// Absent in journals written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall_elapsed_ms: Option<u64>,
    },
    /// Written by the next writer after a torn last line (a crash
    /// mid-write), so that line is known to be torn, not damaged.
    TornLineClosed,
    /// An alarm could not be read (throttled, access denied, deleted,
    /// network): the run does not know its state. Written for every failed read.
    AlarmUnreadable {
        alarm: String,
        error: AlarmReadError,
    },
}

impl Event {
    /// The record's `event` as the journal writes it (its serde tag,
    /// `run_started`, `fault_intent`, …), for messages that name a record.
    pub fn name(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::GuardsJudged { .. } => "guards_judged",
            Event::SteadyState { .. } => "steady_state",
            Event::InjectionStarted => "injection_started",
            Event::FaultIntent { .. } => "fault_intent",
            Event::FaultApplied { .. } => "fault_applied",
            Event::FaultFailed { .. } => "fault_failed",
            Event::RevertIntent { .. } => "revert_intent",
            Event::FaultReverted { .. } => "fault_reverted",
            Event::RevertFailed { .. } => "revert_failed",
            Event::Sample(_) => "sample",
            Event::Observed(_) => "observed",
            Event::PlanExecutionEnded(_) => "plan_execution_ended",
            Event::PracticeRunEnded(_) => "practice_run_ended",
            Event::AlarmChanged { .. } => "alarm_changed",
            Event::StopConditionTripped { .. } => "stop_condition_tripped",
            Event::Interrupted { .. } => "interrupted",
            Event::DrillStarted { .. } => "drill_started",
            Event::StepAcknowledged { .. } => "step_acknowledged",
            Event::StepDone { .. } => "step_done",
            Event::StepSkipped { .. } => "step_skipped",
            Event::StepAnnotated { .. } => "step_annotated",
            Event::TeamObservation { .. } => "team_observation",
            Event::OperatorActionTaken { .. } => "operator_action_taken",
            Event::OperatorActionFailed { .. } => "operator_action_failed",
            Event::RunEnded { .. } => "run_ended",
            Event::TornLineClosed => "torn_line_closed",
            Event::AlarmUnreadable { .. } => "alarm_unreadable",
        }
    }
}

/// Who carried out an operator action: gameday itself (on the simulator,
/// which can make the change) or people (on a real environment, where
/// gameday only records when it was done).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Gameday,
    People,
}

/// An operator action as the drill offered it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OfferedAction {
    pub name: String,
    pub description: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GuardVerdictRecord {
    pub guard: GuardName,
    pub passed: bool,
    pub enforced: bool,
    pub detail: String,
}

impl From<&Verdict> for GuardVerdictRecord {
    fn from(v: &Verdict) -> Self {
        GuardVerdictRecord { guard: v.guard, passed: v.passed, enforced: v.enforced, detail: v.detail.clone() }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not write the journal {}: {source}", path.display())]
pub struct JournalError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Where journal lines go: the seam that lets tests make the disk fail.
pub trait JournalSink: Send {
    /// Appends one whole line (newline included). On error, nothing of the
    /// line may stay behind: a partial line would be glued to the next one.
    fn append_line(&mut self, line: &[u8]) -> std::io::Result<()>;
    /// Makes everything appended so far durable.
    fn sync(&mut self) -> std::io::Result<()>;
    /// Every line this sink has taken, in order, as a stream: the journal
    /// keeps no record the sink has, so this is how the run reads them back.
    fn read_back(&mut self) -> std::io::Result<Box<dyn BufRead + '_>>;
    /// What the sink holds now, to be read again as often as needed once
    /// the run is over (the measure and each report walk it). By default a
    /// copy of its bytes; the journal file reopens its own part of the file
    /// instead, so a long run's journal is never held in memory.
    fn snapshot(&mut self) -> std::io::Result<Box<dyn Reread>> {
        let mut bytes = Vec::new();
        self.read_back()?.read_to_end(&mut bytes)?;
        Ok(Box::new(bytes))
    }
}

/// Lines of a journal that can be read again from the start, any number of times.
pub trait Reread: Send + Sync {
    fn open(&self) -> std::io::Result<Box<dyn BufRead + '_>>;
}

impl Reread for Vec<u8> {
    fn open(&self) -> std::io::Result<Box<dyn BufRead + '_>> {
        Ok(Box::new(self.as_slice()))
    }
}

/// The bytes `[start, end)` of a journal file: the lines one journal wrote.
struct FileWindow {
    path: PathBuf,
    start: u64,
    end: u64,
}

impl Reread for FileWindow {
    fn open(&self) -> std::io::Result<Box<dyn BufRead + '_>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(self.start))?;
        Ok(Box::new(std::io::BufReader::new(file.take(self.end - self.start))))
    }
}

/// The journal file, opened for appending.
struct FileSink {
    file: File,
    path: PathBuf,
    /// Bytes known to be in the file: a failed write is cut back to this.
    len: u64,
    /// Where this journal's own lines begin (after what the file held when
    /// it was opened, a torn-line marker included).
    start: u64,
}

impl FileSink {
    fn open(path: &Path) -> std::io::Result<FileSink> {
        let mut file = OpenOptions::new().create(true).read(true).append(true).open(path)?;
        let mut len = file.metadata()?.len();
        // A crash mid-write leaves a torn last line. Close it and say so,
        // so the next record starts on a fresh line and readers know the
        // line before the marker was torn, not damaged. Torn as readers
        // take it (`read_each`): the last line that is not blank cannot be
        // read, whether or not a newline ends it.
        let newline = len == 0 || ends_with_newline(&mut file, len)?;
        if len > 0 && (!newline || last_line_unreadable(&mut file, len)?) {
            // At the journal's last time, so the timeline never runs backwards.
            let last_t = parse(&std::fs::read(path)?).records.iter().map(|r| r.t).max().unwrap_or(0);
            let marker = Record { t: last_t, wall: now_wall(), event: Event::TornLineClosed };
            let mut bytes = if newline { Vec::new() } else { b"\n".to_vec() };
            bytes.extend(serde_json::to_vec(&marker).map_err(std::io::Error::other)?);
            bytes.push(b'\n');
            file.write_all(&bytes)?;
            file.sync_data()?;
            len += bytes.len() as u64;
        }
        Ok(FileSink { file, path: path.to_path_buf(), len, start: len })
    }
}

/// Whether the last line of the file that is not blank cannot be read as
/// a record. Only the file's tail is read: a record is far shorter than it
/// (a line longer would read as unreadable, and be closed with a marker
/// after a line that reads, which readers take as nothing).
fn last_line_unreadable(file: &mut File, len: u64) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 1 << 20;
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL)))?;
    let mut tail = Vec::new();
    file.take(TAIL).read_to_end(&mut tail)?;
    let last = tail.split(|b| *b == b'\n').rev().find(|line| !line.iter().all(u8::is_ascii_whitespace));
    Ok(last.is_some_and(|line| serde_json::from_slice::<Record>(line).is_err()))
}

fn ends_with_newline(file: &mut File, len: u64) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

impl JournalSink for FileSink {
    fn append_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        match self.file.write_all(line).and_then(|()| self.file.flush()) {
            Ok(()) => {
                self.len += line.len() as u64;
                Ok(())
            }
            Err(error) => {
                // A full disk can take half a line: cut it off again, so the
                // file stays a sequence of whole lines.
                let _ = self.file.set_len(self.len);
                Err(error)
            }
        }
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    fn read_back(&mut self) -> std::io::Result<Box<dyn BufRead + '_>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(self.start))?;
        // Only the bytes known written: never a line another writer is adding.
        Ok(Box::new(std::io::BufReader::new(file.take(self.len - self.start))))
    }

    fn snapshot(&mut self) -> std::io::Result<Box<dyn Reread>> {
        Ok(Box::new(FileWindow { path: self.path.clone(), start: self.start, end: self.len }))
    }
}

/// The wall-clock time as the journal writes it.
pub fn now_wall() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Appends records to a file (or only keeps them in memory, for `plan`-like
/// uses and tests).
///
/// With a file, a record leaves memory once the file has it, so a run's
/// memory does not grow with its length (issue 18); [`Journal::read_back`]
/// streams the records back from the file. A record the file refused stays
/// queued in memory and is written again, in order, before the next one;
/// `unwritten` says what the file still lacks. Without a file, every record
/// stays in memory.
pub struct Journal {
    path: PathBuf,
    sink: Option<Box<dyn JournalSink>>,
    /// Without a sink: every record. With one: those it has not taken yet.
    kept: Vec<Record>,
    /// Whether everything written so far has also been synced.
    synced: bool,
}

impl Journal {
    pub fn in_memory() -> Self {
        Journal { path: PathBuf::new(), sink: None, kept: Vec::new(), synced: true }
    }

    pub fn create(path: &Path) -> Result<Self, JournalError> {
        let sink = FileSink::open(path).map_err(|source| JournalError { path: path.to_path_buf(), source })?;
        Ok(Self::with_sink(path, Box::new(sink)))
    }

    /// A journal writing through `sink` (tests use a sink that fails).
    pub fn with_sink(path: &Path, sink: Box<dyn JournalSink>) -> Self {
        Journal { path: path.to_path_buf(), sink: Some(sink), kept: Vec::new(), synced: true }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records kept in memory that the file does not have.
    pub fn unwritten(&self) -> &[Record] {
        if self.sink.is_some() { &self.kept } else { &[] }
    }

    /// The last record appended, while it is still in memory: without a
    /// file, or while the file has refused it.
    pub fn last_kept(&self) -> Option<&Record> {
        self.kept.last()
    }

    /// Every record appended, in order: those the file has, read back as a
    /// stream, then those it refused. `on_disk` says how many came from
    /// the file. Without a file, the records in memory.
    ///
    /// Those from the file are not held in memory: [`JournalRecords`] reads
    /// them again from the file each time it is walked (issue 18).
    pub fn read_back(&mut self) -> Result<JournalRecords, JournalError> {
        let Some(sink) = self.sink.as_mut() else { return Ok(JournalRecords::in_memory(self.kept.clone())) };
        let io = |source| JournalError { path: self.path.clone(), source };
        let source = sink.snapshot().map_err(io)?;
        let mut on_disk = 0;
        for line in Lines::new(source.open().map_err(io)?) {
            on_disk += usize::from(line.map_err(io)?.1.is_ok());
        }
        Ok(JournalRecords { source: Some(source), on_disk, after: self.kept.clone() })
    }

    /// Appends and flushes. `durable` also syncs to disk: used for every
    /// record about a side effect, so a crash cannot lose it. On error the
    /// record is still kept (in memory, queued for the file) and the error
    /// says the file does not have it.
    pub fn append(&mut self, record: Record, durable: bool) -> Result<(), JournalError> {
        self.kept.push(record);
        self.flush(durable)
    }

    /// Writes whatever the file lacks, in order; syncs when `durable`.
    pub fn flush(&mut self, durable: bool) -> Result<(), JournalError> {
        let Some(sink) = self.sink.as_mut() else { return Ok(()) };
        let io = |source| JournalError { path: self.path.clone(), source };
        let mut written = 0;
        let mut line = Vec::new();
        let outcome = self.kept.iter().try_for_each(|record| {
            line.clear();
            serde_json::to_writer(&mut line, record).map_err(|e| io(std::io::Error::other(e)))?;
            line.push(b'\n');
            sink.append_line(&line).map_err(io)?;
            written += 1;
            Ok(())
        });
        if written > 0 {
            self.kept.drain(..written);
            self.synced = false;
        }
        outcome?;
        if durable && !self.synced {
            sink.sync().map_err(io)?;
            self.synced = true;
        }
        Ok(())
    }
}

/// A journal as read back: every record that could be read, and where it
/// is damaged.
#[derive(Debug, Default)]
pub struct JournalRead {
    pub records: Vec<Record>,
    /// The line (1-based) each record was read from.
    pub lines: Vec<usize>,
    /// Lines that could not be read (not counting a torn last line).
    pub damage: Vec<Damage>,
    /// A torn line (a crash mid-write) was skipped.
    pub torn: bool,
}

/// A line of a journal that could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct Damage {
    /// 1-based line number.
    pub line: usize,
    pub error: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// Reads everything a journal holds that can be read.
///
/// A torn line (a crash mid-write: the last line, or a line the next
/// writer closed with a `torn_line_closed` marker) is skipped, even when
/// the cut fell inside a multi-byte character. Any other line that cannot
/// be read is damage: the journal may be missing a record there, so it can
/// no longer say for sure what is in place.
pub fn read_all(path: &Path) -> std::io::Result<JournalRead> {
    read_from(std::io::BufReader::new(File::open(path)?))
}

/// [`read_all`] on bytes already read.
pub fn parse(bytes: &[u8]) -> JournalRead {
    read_from(bytes).unwrap_or_default()
}

/// [`read_all`] over any reader, one line at a time: a long journal is
/// never held in memory as bytes, only as the records read from it.
pub fn read_from(reader: impl BufRead) -> std::io::Result<JournalRead> {
    let mut read = JournalRead::default();
    (read.damage, read.torn) = read_each(reader, |line, record| {
        read.records.push(record);
        read.lines.push(line);
    })?;
    Ok(read)
}

/// [`read_from`] handing each record (with its line) to `each` instead of
/// keeping it; returns the damage and whether a torn line was skipped.
fn read_each(reader: impl BufRead, mut each: impl FnMut(usize, Record)) -> std::io::Result<(Vec<Damage>, bool)> {
    let (mut damage, mut torn) = (Vec::new(), false);
    // A line that could not be read: torn if it is the last one that is not
    // blank, damage if another line follows it.
    let mut failed: Option<Damage> = None;
    for line in Lines::new(reader) {
        match line? {
            (index, Ok(record)) => {
                if let Some(failure) = failed.take() {
                    if record.event == Event::TornLineClosed {
                        torn = true;
                    } else {
                        damage.push(failure);
                    }
                }
                each(index, record);
            }
            (index, Err(error)) => {
                if let Some(failure) = failed.replace(Damage { line: index, error }) {
                    damage.push(failure);
                }
            }
        }
    }
    // The last line that is not blank could not be read: a crash mid-write.
    torn |= failed.is_some();
    Ok((damage, torn))
}

/// A journal file for the reports, as [`read_all`] reads it but without
/// holding its records: they are read again from the file each time they
/// are walked. Also the damage found, as `read_all` finds it.
pub fn open_records(path: &Path) -> std::io::Result<(JournalRecords, Vec<Damage>)> {
    let end = std::fs::metadata(path)?.len();
    let source = FileWindow { path: path.to_path_buf(), start: 0, end };
    let mut on_disk = 0;
    let (damage, _) = read_each(source.open()?, |_, _| on_disk += 1)?;
    Ok((JournalRecords::from_source(Box::new(source), on_disk, Vec::new()), damage))
}

/// The lines of a journal that are not blank, one at a time: each with its
/// number (1-based) and its record, or why it could not be read. The one
/// reading of a journal's lines: [`read_from`] and [`Records`] both use it,
/// so they find the same records.
struct Lines<R> {
    reader: R,
    line: Vec<u8>,
    index: usize,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Lines { reader, line: Vec::new(), index: 0 }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = std::io::Result<(usize, Result<Record, String>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line.clear();
            match self.reader.read_until(b'\n', &mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(error) => return Some(Err(error)),
            }
            self.index += 1;
            if self.line.last() == Some(&b'\n') {
                self.line.pop();
            }
            if self.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Ok((self.index, serde_json::from_slice::<Record>(&self.line).map_err(|e| e.to_string()))));
        }
    }
}

/// A finished run's records, for the measure and the reports: those of its
/// journal file, read again from the file each time they are walked, then
/// those kept in memory (the file refused them, or the run has no file).
/// So the end of a long run does not hold its journal in memory (issue 18);
/// each walk costs a read of the file instead.
pub struct JournalRecords {
    source: Option<Box<dyn Reread>>,
    /// How many records the file held when it was read back.
    on_disk: usize,
    after: Vec<Record>,
}

impl JournalRecords {
    /// Records held in memory only (tests, `plan`-like uses).
    pub fn in_memory(records: Vec<Record>) -> Self {
        JournalRecords { source: None, on_disk: records.len(), after: records }
    }

    /// A journal file's records: the `on_disk` records `source` holds, then `after`.
    pub fn from_source(source: Box<dyn Reread>, on_disk: usize, after: Vec<Record>) -> Self {
        JournalRecords { source: Some(source), on_disk, after }
    }

    /// Records the file did not have: the journal could not be read back.
    pub fn unread(after: Vec<Record>) -> Self {
        JournalRecords { source: None, on_disk: 0, after }
    }

    /// How many of the records came from the file (without a file: all of them).
    pub fn on_disk(&self) -> usize {
        self.on_disk
    }

    pub fn push(&mut self, record: Record) {
        self.after.push(record);
    }

    pub fn len(&self) -> usize {
        self.view().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn view(&self) -> Records<'_> {
        let len = if self.source.is_some() { self.on_disk + self.after.len() } else { self.after.len() };
        Records { source: self.source.as_deref(), on_disk: if self.source.is_some() { self.on_disk } else { 0 }, after: &self.after, len }
    }

    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, Record>> + '_ {
        self.view().iter()
    }

    /// Every record, in memory: for tests and tools, not for a long run.
    pub fn to_vec(&self) -> Vec<Record> {
        self.iter().map(Cow::into_owned).collect()
    }
}

/// A walk-again view of a journal's records ([`JournalRecords`], or a
/// slice): what the measure and the renderers read, one record at a time.
#[derive(Clone, Copy)]
pub struct Records<'a> {
    source: Option<&'a dyn Reread>,
    /// How many records to take from `source`.
    on_disk: usize,
    after: &'a [Record],
    /// At most this many records in all.
    len: usize,
}

impl<'a> Records<'a> {
    /// Records held in memory.
    pub fn of(records: &'a [Record]) -> Self {
        Records { source: None, on_disk: 0, after: records, len: records.len() }
    }

    pub fn len(self) -> usize {
        self.len
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The first `n` records.
    pub fn prefix(self, n: usize) -> Self {
        Records { len: self.len.min(n), ..self }
    }

    pub fn first(self) -> Option<Cow<'a, Record>> {
        self.iter().next()
    }

    /// The line of the file the record at `index` was read from; for a
    /// record held in memory, its position (1-based).
    pub fn line_of(self, index: usize) -> usize {
        let Some(source) = self.source.filter(|_| index < self.on_disk) else { return index + 1 };
        let line = source.open().ok().and_then(|reader| Lines::new(reader).map_while(Result::ok).filter(|(_, record)| record.is_ok()).nth(index).map(|(line, _)| line));
        line.unwrap_or(index + 1)
    }

    /// Every record, in order; those of the file are read from it again.
    /// A file that cannot be read again (it was readable moments ago, when
    /// the journal was read back) ends the walk early, and says so in the log.
    pub fn iter(self) -> impl Iterator<Item = Cow<'a, Record>> + 'a {
        let from_source = self.source.into_iter().flat_map(move |source| {
            let lines = match source.open() {
                Ok(reader) => Some(Lines::new(reader)),
                Err(error) => {
                    tracing::error!("the journal could not be read again: {error}");
                    None
                }
            };
            lines
                .into_iter()
                .flatten()
                .map_while(|line| line.map_err(|error| tracing::error!("the journal could not be read again: {error}")).ok())
                .filter_map(|(_, record)| record.ok())
                .take(self.on_disk)
                .map(Cow::Owned)
        });
        from_source.chain(self.after.iter().map(Cow::Borrowed)).take(self.len)
    }
}

/// Reads a journal back for rendering: a torn line is skipped; damage
/// anywhere else is an error naming the line.
pub fn read(path: &Path) -> std::io::Result<Vec<Record>> {
    let read = read_all(path)?;
    match read.damage.first() {
        Some(damage) => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} {damage}", path.display()))),
        None => Ok(read.records),
    }
}

/// Faults whose intent is journaled but whose revert is not: what may still
/// be in place. A failed apply counts too (it may have failed part-way).
/// Terminations and reboots cannot be reverted and are left out.
pub fn still_injected<R: std::borrow::Borrow<Record>>(records: impl IntoIterator<Item = R>) -> Vec<(String, Effect)> {
    let mut open: Vec<(String, Effect)> = Vec::new();
    for record in records {
        match &record.borrow().event {
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

    /// `Event::name` is the journal's `event` tag, for every variant.
    #[test]
    fn an_events_name_is_its_serde_tag() {
        use crate::environment::{PlanExecutionEnd, PracticeRunEnd, PracticeRunOutcome, ReadErrorKind};
        let fault = || "f".to_string();
        let events = [
            Event::RunStarted { scenario: "s".into(), environment: "sim".into(), account: "a".into(), seed: 1, gameday_version: "0".into(), pid: Some(1) },
            Event::GuardsJudged { phase: "p".into(), verdicts: vec![] },
            Event::SteadyState { healthy: true, detail: "d".into() },
            Event::InjectionStarted,
            Event::FaultIntent { fault: fault(), kind: "k".into(), effect: Effect::RegionDown { region: "r".into() }, targets: vec![], zones: vec![] },
            Event::FaultApplied { fault: fault() },
            Event::FaultFailed { fault: fault(), error: "e".into() },
            Event::RevertIntent { fault: fault() },
            Event::FaultReverted { fault: fault(), outcome: RevertOutcome::default() },
            Event::RevertFailed { fault: fault(), error: "e".into() },
            Event::Sample(Sample { probe: "p".into(), sent_at: 0, latency_ms: 0, ok: true, observed: "o".into(), unsettled: false, lateness_us: 0, reading: None }),
            Event::Observed(Observation { at: 0, source: "s".into(), message: "m".into() }),
            Event::PlanExecutionEnded(PlanExecutionEnd {
                fault: fault(),
                execution_id: "x".into(),
                state: "completed".into(),
                at: 0,
                actual_recovery_time: None,
                actual_recovery_ms: None,
            }),
            Event::PracticeRunEnded(PracticeRunEnd { fault: fault(), zonal_shift_id: "z".into(), outcome: PracticeRunOutcome::Succeeded, at: 0 }),
            Event::AlarmChanged { alarm: "a".into(), state: AlarmState::Ok },
            Event::StopConditionTripped { condition: "c".into() },
            Event::Interrupted { signal: "SIGINT".into() },
            Event::DrillStarted { runbook: "r".into(), speed: "1".into(), steps: vec![], actions: vec![], pid: None },
            Event::StepAcknowledged { step: 1 },
            Event::StepDone { step: 1 },
            Event::StepSkipped { step: 1, reason: None },
            Event::StepAnnotated { step: 1, note: "n".into(), unclear: false },
            Event::TeamObservation { text: "t".into() },
            Event::OperatorActionTaken { action: "a".into(), step: None, by: Actor::People, detail: "d".into() },
            Event::OperatorActionFailed { action: "a".into(), error: "e".into() },
            Event::RunEnded { outcome: "o".into(), stopped: None, wall_elapsed_ms: None },
            Event::TornLineClosed,
            Event::AlarmUnreadable { alarm: "a".into(), error: AlarmReadError { kind: ReadErrorKind::Throttled, message: "m".into() } },
        ];
        for event in &events {
            assert_eq!(serde_json::to_value(event).unwrap()["event"], event.name(), "{event:?}");
        }
        let names: std::collections::BTreeSet<String> = events.iter().map(|e| e.name().to_string()).collect();
        assert_eq!(names, crate::vocab::serde_tags::<Event>("event"), "one event of each kind above");
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

    /// A disk that refuses writes while `full` is set, and then takes them.
    struct FlakyDisk {
        lines: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
        full: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl JournalSink for FlakyDisk {
        fn append_line(&mut self, line: &[u8]) -> std::io::Result<()> {
            if self.full.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(std::io::Error::from_raw_os_error(28));
            }
            self.lines.lock().unwrap().push(line.to_vec());
            Ok(())
        }
        fn sync(&mut self) -> std::io::Result<()> {
            Ok(())
        }
        fn read_back(&mut self) -> std::io::Result<Box<dyn BufRead + '_>> {
            Ok(Box::new(std::io::Cursor::new(self.lines.lock().unwrap().concat())))
        }
    }

    #[test]
    fn a_refused_record_is_kept_and_written_again_in_order() {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let full = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut journal = Journal::with_sink(Path::new("j"), Box::new(FlakyDisk { lines: lines.clone(), full: full.clone() }));
        journal.append(record(1, Event::InjectionStarted), true).unwrap();
        full.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(journal.append(record(2, Event::RevertIntent { fault: "a".into() }), true).is_err());
        assert!(journal.append(record(3, Event::FaultReverted { fault: "a".into(), outcome: RevertOutcome::default() }), true).is_err());
        assert_eq!(journal.unwritten().iter().map(|r| r.t).collect::<Vec<_>>(), vec![2, 3], "the refused records are kept in memory");
        let records = journal.read_back().unwrap();
        assert_eq!((records.iter().map(|r| r.t).collect::<Vec<_>>(), records.on_disk()), (vec![1, 2, 3], 1), "read back: the file's, then the refused");
        full.store(false, std::sync::atomic::Ordering::SeqCst);
        journal.flush(true).unwrap();
        assert!(journal.unwritten().is_empty());
        assert!(journal.last_kept().is_none(), "nothing the file has stays in memory");
        let written: Vec<Record> = lines.lock().unwrap().iter().map(|l| serde_json::from_slice(l).unwrap()).collect();
        assert_eq!(written.iter().map(|r| r.t).collect::<Vec<_>>(), vec![1, 2, 3], "written once each, in order");
    }

    #[test]
    fn records_read_back_from_the_file_are_read_again_on_each_walk_and_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut journal = Journal::create(&path).unwrap();
        for t in 1..=3 {
            journal.append(record(t, Event::InjectionStarted), false).unwrap();
        }
        let mut records = journal.read_back().unwrap();
        assert_eq!((records.on_disk(), records.view().after.len()), (3, 0), "the file's records stay in the file");
        // Written after the read back (another writer, or the run's end): not part of what was read back.
        journal.append(record(4, Event::InjectionStarted), false).unwrap();
        records.push(record(5, Event::InjectionStarted));
        let times = |records: &JournalRecords| records.iter().map(|r| r.t).collect::<Vec<_>>();
        assert_eq!(times(&records), vec![1, 2, 3, 5]);
        assert_eq!(times(&records), vec![1, 2, 3, 5], "walked again, read again");
        assert_eq!(records.view().prefix(2).iter().map(|r| r.t).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!((records.len(), records.view().line_of(2), records.view().line_of(3)), (4, 3, 4));
        // A journal file opened for the reports: the same records and lines as `read_all`.
        std::fs::write(&path, b"\n{\"t\":7,\"wall\":\"\",\"event\":\"injection_started\"}\n\n{\"t\":8,\"wall\":\"\",\"event\":\"injection_started\"}\n").unwrap();
        let (opened, damage) = open_records(&path).unwrap();
        let read = read_all(&path).unwrap();
        assert!(damage.is_empty());
        assert_eq!(opened.to_vec(), read.records);
        assert_eq!((0..2).map(|i| opened.view().line_of(i)).collect::<Vec<_>>(), read.lines);
    }

    #[test]
    fn a_cut_inside_a_multibyte_character_is_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let good = serde_json::to_string(&record(1, Event::TeamObservation { text: "ok".into() })).unwrap();
        let torn = serde_json::to_string(&record(2, Event::TeamObservation { text: "zone café ☕".into() })).unwrap();
        let cut = torn.find('☕').unwrap() + 1; // inside the three bytes of ☕
        let mut bytes = format!("{good}\n").into_bytes();
        bytes.extend_from_slice(&torn.as_bytes()[..cut]);
        std::fs::write(&path, &bytes).unwrap();
        let read = read_all(&path).unwrap();
        assert_eq!(read.records.len(), 1);
        assert!(read.torn && read.damage.is_empty(), "{read:?}");
    }

    #[test]
    fn the_next_writer_starts_on_a_fresh_line_after_a_torn_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let good = serde_json::to_string(&record(1, Event::InjectionStarted)).unwrap();
        std::fs::write(&path, format!("{good}\n{{\"t\": 9, \"wall\": \"2026-")).unwrap();
        let mut journal = Journal::create(&path).unwrap();
        journal.append(record(0, Event::RevertIntent { fault: "a".into() }), true).unwrap();
        drop(journal);
        let read = read_all(&path).unwrap();
        assert!(read.damage.is_empty(), "the torn line is known torn, not damage: {read:?}");
        assert!(read.torn);
        let events: Vec<&Event> = read.records.iter().map(|r| &r.event).collect();
        assert_eq!(events, vec![&Event::InjectionStarted, &Event::TornLineClosed, &Event::RevertIntent { fault: "a".into() }]);
        // Reading again through the strict reader works too.
        assert_eq!(read_all(&path).unwrap().records, super::read(&path).unwrap());
    }

    #[test]
    fn garbage_in_the_middle_is_damage_but_the_rest_still_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let intent = serde_json::to_string(&record(
            1,
            Event::FaultIntent { fault: "a".into(), kind: "stop_instances".into(), effect: Effect::StopInstances { ids: vec!["i-1".into()] }, targets: vec![], zones: vec![] },
        ))
        .unwrap();
        let later = serde_json::to_string(&record(2, Event::InjectionStarted)).unwrap();
        std::fs::write(&path, format!("{intent}\n\u{1}\u{2}garbage-garbage!\n{later}\n")).unwrap();
        let read = read_all(&path).unwrap();
        assert_eq!(read.damage, vec![Damage { line: 2, error: read.damage[0].error.clone() }]);
        assert_eq!(read.records.len(), 2);
        assert_eq!(still_injected(&read.records).len(), 1, "the intent before the damage still counts");
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
