//! Recovery from the journal alone: after kill -9, a power cut or a lost
//! laptop, revert whatever a run's journal shows as still in place.

use std::path::{Path, PathBuf};

use crate::environment::{Effect, Environment, RevertOutcome};
use crate::run::journal::{self, Event, Journal, Record};

/// A run directory with faults its journal shows as still in place.
#[derive(Clone, Debug)]
pub struct OpenRun {
    pub dir: PathBuf,
    pub scenario: String,
    pub environment: String,
    pub account: String,
    pub finished: bool,
    pub in_place: Vec<(String, Effect)>,
}

pub fn inspect(dir: &Path) -> std::io::Result<OpenRun> {
    let records = journal::read(&dir.join("journal.jsonl"))?;
    let (scenario, environment, account) = records
        .iter()
        .find_map(|r| match &r.event {
            Event::RunStarted { scenario, environment, account, .. } => Some((scenario.clone(), environment.clone(), account.clone())),
            _ => None,
        })
        .unwrap_or_default();
    Ok(OpenRun {
        dir: dir.to_path_buf(),
        scenario,
        environment,
        account,
        finished: records.iter().any(|r| matches!(r.event, Event::RunEnded { .. })),
        in_place: journal::still_injected(&records),
    })
}

/// Every run under `runs_dir`, newest last.
pub fn runs(runs_dir: &Path) -> Vec<OpenRun> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs_dir).into_iter().flatten().filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("journal.jsonl").is_file()).collect();
    dirs.sort();
    dirs.iter().filter_map(|d| inspect(d).ok()).collect()
}

/// What recovering one fault did.
pub struct Recovered {
    pub fault: String,
    pub result: Result<RevertOutcome, String>,
    pub manual_steps: Vec<String>,
}

/// Reverts every fault still in place, appending the intents and outcomes
/// to the run's journal (synced), so a second recover finds nothing to do.
pub async fn recover<E: Environment>(run: &OpenRun, env: &mut E) -> std::io::Result<Vec<Recovered>> {
    let mut journal = Journal::create(&run.dir.join("journal.jsonl")).map_err(|e| e.source)?;
    let mut results = Vec::new();
    let write = |journal: &mut Journal, event: Event| -> std::io::Result<()> {
        journal.append(Record { t: 0, wall: jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), event }, true).map_err(|e| e.source)
    };
    for (fault, effect) in &run.in_place {
        write(&mut journal, Event::RevertIntent { fault: fault.clone() })?;
        let mut last = String::new();
        let mut outcome = None;
        for attempt in 0..3u32 {
            match env.revert(effect, 0).await {
                Ok(done) => {
                    outcome = Some(done);
                    break;
                }
                Err(error) => {
                    last = error.to_string();
                    tokio::time::sleep(std::time::Duration::from_millis(500 * 2u64.pow(attempt))).await;
                }
            }
        }
        match outcome {
            Some(done) => {
                write(&mut journal, Event::FaultReverted { fault: fault.clone(), outcome: done.clone() })?;
                results.push(Recovered { fault: fault.clone(), result: Ok(done), manual_steps: Vec::new() });
            }
            None => {
                write(&mut journal, Event::RevertFailed { fault: fault.clone(), error: last.clone() })?;
                results.push(Recovered { fault: fault.clone(), result: Err(last), manual_steps: effect.manual_steps() });
            }
        }
    }
    Ok(results)
}
