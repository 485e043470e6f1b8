//! The journal's `wall` times are true to the wall clock: a record's `wall`
//! is the run's origin plus its `t`, and the origin is taken when the run's
//! clock starts, after the run directory, the lock and the journal exist.

use std::path::Path;

use crate::safety::{command, output};

/// The first record's wall time, as milliseconds since the Unix epoch.
fn first_wall_ms(journal: &Path) -> (u64, i128) {
    let text = std::fs::read_to_string(journal).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let wall: jiff::Timestamp = first["wall"].as_str().unwrap().parse().unwrap();
    (first["t"].as_u64().unwrap(), wall.as_millisecond().into())
}

#[test]
fn a_real_time_run_dates_its_records_from_when_its_clock_started() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    let marker = dir.path().join("marker");
    let m = marker.display();
    std::fs::write(
        &file,
        format!(
            "apiVersion: gameday/v1\nname: wall\nguards:\n  max_duration: 1m\nsteady_state:\n  - {{ name: no-marker, kind: command, run: \"test ! -e {m}\", interval: 50ms, timeout: 50ms }}\nfaults:\n  - {{ name: touch, kind: command, inject: \"touch {m}\", revert: \"rm -f {m}\", duration: 200ms }}\nexpected_recoveries:\n  - {{ name: gone, probes: [no-marker], recovers_within: 30s }}\n"
        ),
    )
    .unwrap();
    let runs = dir.path().join("runs");
    let (code, _, stderr) =
        output(command(&dir.path().join("state"), &["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap(), "--no-progress"], &[]));
    assert_eq!(code, 0, "{stderr}");
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    // The scenario copy is written before the clock starts, so no record,
    // however early, can be dated before it. (File times come from the
    // kernel's coarse clock, which never runs ahead of the real time.)
    let copied: jiff::Timestamp = std::fs::metadata(run_dir.join("scenario.yaml")).unwrap().modified().unwrap().try_into().unwrap();
    let (t, wall) = first_wall_ms(&run_dir.join("journal.jsonl"));
    let origin = wall - i128::from(t);
    assert!(origin >= i128::from(copied.as_millisecond()), "the run's origin {origin} is {} ms before its scenario copy was written", i128::from(copied.as_millisecond()) - origin);
}
