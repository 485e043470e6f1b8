//! Any bytes as a journal: `journal::read` may reject them and
//! `still_injected` may find nothing, but neither may panic. `gameday report`
//! (and recovery after a crash) read journals that a crash, a full disk or a
//! person's editor may have left in any state, so the result rebuilt from
//! what was read is rendered in every format too, whatever times the records
//! claim, and the rendering must stay bounded by the journal's size.
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
            // The renderers run even where `gameday report` would refuse
            // (`impossible_time`): they are the last line of defence.
            let _ = gameday::run::result::impossible_time(&records);
            let result = gameday::run::result::result_from_journal(scenario, &records);
            let runbook = scenario.runbook.clone().map(|name| gameday::report::RunbookRef { name, copy: Some("runbook.md".into()) });
            let rendered = gameday::report::render_all(scenario, &result, &records, runbook, None);
            let size: usize = rendered.files.iter().map(|(_, text)| text.len()).sum();
            // Output grows with the journal (a row per record, its texts escaped), never with the times in it.
            assert!(size <= 100_000 + 64 * data.len(), "{size} bytes rendered from a {}-byte journal", data.len());
        }
    }
});
