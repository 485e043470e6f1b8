//! Any bytes as a journal: `journal::read` may reject them and
//! `still_injected` may find nothing, but neither may panic. `gameday report`
//! (and recovery after a crash) read journals that a crash, a full disk or a
//! person's editor may have left in any state.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for every input.
fn journal_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("gameday-fuzz-journal-{}.jsonl", std::process::id())))
}

/// The scenario the seed journals were run from, so their fault and probe
/// names meet a scenario that knows them.
fn scenario() -> Option<&'static gameday::scenario::Scenario> {
    static SCENARIO: OnceLock<Option<gameday::scenario::Scenario>> = OnceLock::new();
    SCENARIO.get_or_init(|| gameday::scenario::parse_str(include_str!("../../scenarios/az-loss.yaml"), None).ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    let path = journal_path();
    if std::fs::write(path, data).is_err() {
        return;
    }
    if let Ok(records) = gameday::run::journal::read(path) {
        for (_, effect) in gameday::run::journal::still_injected(&records) {
            // What recovery shows a person must also hold up on any journal.
            let _ = effect.manual_steps();
            let _ = effect.is_revertible();
        }
        // `gameday report` rebuilds the result from the same records.
        if let Some(scenario) = scenario() {
            let _ = gameday::run::result::result_from_journal(scenario, &records);
        }
    }
});
