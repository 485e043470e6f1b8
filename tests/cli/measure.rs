//! Measurement semantics judged through the binary.

use crate::run_yaml;

fn dns_failover_with_deadline(recovers_within: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: deadline\nsteady_state:\n  - name: resolves-to-primary\n    kind: dns\n    query: api.example.com\n    record_type: CNAME\n    expect: [web-alb.us-east-1.elb.amazonaws.com]\n    interval: 5s\n    healthy_after: 2\nfaults:\n  - name: fail-primary\n    kind: dns_failover\n    hosted_zone: example.com\n    record: api.example.com\n    fail: primary\n    duration: 5m\nexpected_recoveries:\n  - name: back\n    probes: [resolves-to-primary]\n    recovers_within: {recovers_within}\n"
    )
}

#[test]
fn a_recovery_on_its_deadline_is_met_though_confirmed_after_it() {
    // On the built-in topology with seed 1, clients are back on the primary at
    // exactly T+6m25s; the second of the two confirming passes comes at 6m30s.
    let on_time = run_yaml(&dns_failover_with_deadline("6m25s"));
    assert_eq!(on_time.output.code, 0, "{}", on_time.output.stdout);
    let back = on_time.expectation("back");
    assert_eq!(back["time_to_recover"], 385_000, "{back}");
    assert_eq!(back["met"], true);
    // One second less, and the same recovery point misses, saying by how much.
    let late = run_yaml(&dns_failover_with_deadline("6m24s"));
    assert_eq!(late.output.code, 1, "{}", late.output.stdout);
    assert!(late.output.stdout.contains("recovered after 6m25s — deadline 6m24s"), "{}", late.output.stdout);
    // The deadline is written as every duration of the report is, not as the scenario spelled it:
    // az-loss (seed 1) with its targets given 3m instead of 8m to be healthy again.
    let text = std::fs::read_to_string(crate::repo().join("scenarios/az-loss.yaml")).unwrap().replace("    recovers_within: 8m\n", "    recovers_within: 3m\n");
    let round = run_yaml(&text);
    let missed = round.expectation("every target healthy again");
    let took = gameday::run::metrics::fmt_ms(missed["time_to_recover"].as_u64().unwrap());
    let said = format!("recovered after {took} — deadline 3m00s");
    assert!(round.output.stdout.contains(&said), "expected `{said}` in:\n{}", round.output.stdout);
}

/// The confirmation phase: the recovery point is the first of the
/// `healthy_after` passes; gameday knows it once the last of them has
/// answered. Recomputed here from the journal's samples.
#[test]
fn the_recovery_is_confirmed_by_the_last_pass_it_needs() {
    let run = run_yaml(&dns_failover_with_deadline("6m25s"));
    let back = run.expectation("back");
    let recovered = back["recovered_at"].as_u64().unwrap();
    // healthy_after: 2: the pass at the recovery point and the next one.
    let passes: Vec<&serde_json::Value> =
        run.journal.iter().filter(|r| r["event"] == "sample" && r["probe"] == "resolves-to-primary" && r["sent_at"].as_u64() >= Some(recovered)).collect();
    assert!(passes[..2].iter().all(|s| s["ok"] == true), "{passes:?}");
    let confirming = passes[1];
    let expected = confirming["sent_at"].as_u64().unwrap() + confirming["latency_ms"].as_u64().unwrap();
    assert_eq!(back["confirmed_at"].as_u64(), Some(expected), "{back}");
    assert!(expected > back["deadline"].as_u64().unwrap(), "confirmed after the deadline, and still met: {back}");
    assert_eq!(back["met"], true);
    let row = format!(
        "| Confirm | {} | back: recovery confirmed by the last pass it needs (`healthy_after`), {} after the recovery point |",
        gameday::run::metrics::fmt_ms(expected),
        gameday::run::metrics::fmt_ms(expected - recovered)
    );
    let row = row.replacen("| Confirm | ", "| Confirm | T+", 1);
    assert!(run.report.contains(&row), "expected `{row}` in:\n{}", run.report);
}

#[test]
fn detection_is_the_teams_signal_not_the_referee_probe() {
    // az-loss with a 30 s detection limit: the capacity probe fails at once,
    // but the team's alarm `web-unhealthy-hosts` fires much later.
    let text = std::fs::read_to_string(crate::repo().join("scenarios/az-loss.yaml")).unwrap().replace("    detected_within: 2m30s\n", "    detected_within: 30s\n");
    let run = run_yaml(&text);
    assert_eq!(run.output.code, 1, "{}", run.output.stdout);
    let capacity = run.expectation("capacity restored in the remaining zones");
    // Typed in result.json (schema 2): which kind of signal, and its name.
    assert_eq!(capacity["detected_by"], serde_json::json!({"kind": "alarm", "name": "web-unhealthy-hosts"}), "{capacity}");
    assert_eq!(capacity["time_to_detect"], 100_000, "{capacity}");
    assert!(capacity["impact_start"].as_u64().unwrap() < capacity["detected_at"].as_u64().unwrap(), "the referee saw the impact first: {capacity}");
    assert_eq!(capacity["detected_after_impact"].as_u64().unwrap(), capacity["detected_at"].as_u64().unwrap() - capacity["impact_start"].as_u64().unwrap());
    assert!(run.output.stdout.contains("detected after 1m40s by alarm web-unhealthy-hosts — limit 30s"), "{}", run.output.stdout);
    // An expectation that names no signal does not measure detection at all.
    let targets = run.expectation("every target healthy again");
    assert!(targets["time_to_detect"].is_null() && targets["detected_by"].is_null(), "{targets}");
    assert!(run.output.stdout.contains("every target healthy again") && run.output.stdout.contains("detect not measured"), "{}", run.output.stdout);
    // Limits (and budgets) are written as every duration of the report is (`1m00s`), not as the scenario spelled them.
    let text = std::fs::read_to_string(crate::repo().join("scenarios/az-loss.yaml")).unwrap().replace("    detected_within: 2m30s\n", "    detected_within: 1m\n");
    let run = run_yaml(&text);
    assert!(run.output.stdout.contains("by alarm web-unhealthy-hosts — limit 1m00s"), "{}", run.output.stdout);
}

#[test]
fn detected_within_without_a_signal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    let text = std::fs::read_to_string(crate::repo().join("scenarios/az-loss.yaml")).unwrap().replace("    detected_by: [web-unhealthy-hosts]\n", "");
    std::fs::write(&file, text).unwrap();
    let out = crate::gameday(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("`detected_within` needs `detected_by`"), "{}", out.stderr);
}

/// The primary's DNS failover of the built-in topology (seed 1: clients move
/// at T+2m00s, the fault is reverted at T+5m00s, clients are back at
/// T+7m00s), with extra probes and the given expectations.
fn dns_failover(fail: &str, probes: &str, expectations: &str) -> String {
    crate::scenario(
        "  require_healthy_start: true",
        &format!(
            "  - name: resolves-to-primary\n    kind: dns\n    query: api.example.com\n    record_type: CNAME\n    expect: [web-alb.us-east-1.elb.amazonaws.com]\n    interval: 5s\n    healthy_after: 2\n    expected_during_fault: true\n{probes}"
        ),
        &format!("  - name: fail-primary\n    kind: dns_failover\n    hosted_zone: example.com\n    record: api.example.com\n    fail: {fail}\n    duration: 5m"),
        expectations,
    )
}

#[test]
fn an_intended_state_is_not_downtime_and_the_rto_is_the_failover() {
    // The example scenario: "resolves to the primary" is meant to fail while DNS is failed over.
    let runs = tempfile::tempdir().unwrap();
    let run = crate::run_scenario(&crate::repo().join("scenarios/dns-failover.yaml"), &["--seed", "1"], runs.path());
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    assert_eq!(run.result["schema_version"], 2);
    let failover = run.expectation("clients fail over to us-west-2");
    assert_eq!((failover["kind"].as_str(), failover["downtime"].as_u64(), failover["intended"].as_u64()), (Some("fails_over"), Some(0), Some(215_000)), "{failover}");
    assert_eq!(failover["failover"]["verdict"], "met", "{failover}");
    assert_eq!(failover["failover"]["time_to_fail_over"], 85_000, "{failover}");
    assert_eq!(failover["time_to_recover"], 85_000, "{failover}");
    // Reports: the intended window is its own phase, and the achieved RTO is the failover (1m25s), not the fail-back (6m25s).
    assert!(
        run.report.contains("| Intended | T+1m25s | `resolves-to-primary` in its intended state (expected during the fault) until the fault ended at T+5m00s |"),
        "{}",
        run.report
    );
    assert!(run.report.contains("| `fail-primary` (dns_failover) | clients fail over to us-west-2 | 3m00s | 1m25s | ✅ met |"), "{}", run.report);
    assert!(!run.report.contains("5m00s down"), "{}", run.report);
    // Failing in the intended state alone is no impact, and the report does not call it "never failed".
    assert!(
        run.report.contains("| the probes failed only in their intended state, detected after 1m10s by probe primary-health-check, 3m35s in the intended state"),
        "{}",
        run.report
    );
    assert!(run.report.contains("| clients fail over to us-west-2 | no impact | nothing to resolve: the probes failed only in their intended state |"), "{}", run.report);
    let html = std::fs::read_to_string(run.dir.join("report.html")).unwrap();
    assert!(html.contains("resolves-to-primary: intended (expected during the fault) T+1m25s to T+5m00s"), "the chart paints it as intended, not failing");
}

#[test]
fn from_revert_counts_the_fail_back_from_the_revert() {
    let back = "  - name: back\n    probes: [resolves-to-primary]\n    from: revert\n    recovers_within: {within}\n";
    let met = run_yaml(&dns_failover("primary", "", &back.replace("{within}", "2m")));
    assert_eq!(met.output.code, 0, "{}", met.output.stdout);
    let e = met.expectation("back");
    assert_eq!((e["from"].as_str(), e["clock_start"].as_u64(), e["deadline"].as_u64()), (Some("revert"), Some(300_000), Some(420_000)), "{e}");
    assert_eq!((e["time_to_recover"].as_u64(), e["downtime"].as_u64()), (Some(85_000), Some(85_000)), "{e}");
    let late = run_yaml(&dns_failover("primary", "", &back.replace("{within}", "1m24s")));
    assert_eq!(late.output.code, 1, "{}", late.output.stdout);
    assert!(late.output.stdout.contains("recovered after 1m25s — deadline 1m24s"), "{}", late.output.stdout);
}

#[test]
fn stays_healthy_is_judged_while_the_fault_is_in_place() {
    let probe = "  - name: primary-health-check\n    kind: route53_health_check\n    health_check: hc-api-primary\n    interval: 10s\n  - name: api\n    kind: http\n    url: https://api.example.com/health\n    interval: 5s\n";
    let run = run_yaml(&dns_failover(
        "primary",
        probe,
        "  - name: api up\n    probes: [api]\n    stays_healthy: true\n  - name: health check up\n    probes: [primary-health-check]\n    stays_healthy: true\n",
    ));
    assert_eq!(run.output.code, 1, "{}", run.output.stdout);
    let api = run.expectation("api up");
    assert_eq!((api["kind"].as_str(), api["met"].as_bool(), api["deadline"].as_u64()), (Some("stays_healthy"), Some(true), Some(300_000)), "{api}");
    assert!(api["failover"].is_null(), "a sustained expectation has no failover verdict: {api}");
    let check = run.expectation("health check up");
    assert_eq!(check["misses"][0], "`primary-health-check` failed 1m10s after the fault started, while it was in place — must stay healthy", "{check}");
}

#[test]
fn recovers_within_also_needs_the_probes_to_stay_healthy() {
    // Two failovers: clients are back 2m05s after the first revert, within the
    // 5m deadline, then fail again in the second one.
    let yaml = crate::scenario(
        "  require_healthy_start: true",
        "  - name: on-primary\n    kind: dns\n    query: api.example.com\n    record_type: CNAME\n    expect: [web-alb.us-east-1.elb.amazonaws.com]\n    interval: 5s\n    healthy_after: 2",
        "  - { name: first, kind: dns_failover, hosted_zone: example.com, record: api.example.com, duration: 2m30s }\n  - { name: second, kind: dns_failover, hosted_zone: example.com, record: api.example.com, start_after: [first], delay: 3m, duration: 3m }",
        "  - name: back\n    probes: [on-primary]\n    after_fault: first\n    recovers_within: 5m\n",
    );
    let run = run_yaml(&yaml);
    assert_eq!(run.output.code, 1, "{}", run.output.stdout);
    // The run stops once the second fault is reverted and the deadline has passed, clients still on the secondary.
    let back = run.expectation("back");
    assert_eq!(back["misses"][0], "back 4m35s after the fault, then failing again at the end of the run — must stay healthy to the end", "{back}");
    assert!(back["recovered_at"].is_null(), "{back}");
}

#[test]
fn failover_verdicts_tell_the_outcomes_apart() {
    let verdict = |fail: &str, probes: &str, names: &str, within: &str| {
        let run = run_yaml(&dns_failover(fail, probes, &format!("  - name: moved\n    probes: [{names}]\n    recovers_within: {within}\n")));
        let e = run.expectation("moved").clone();
        (run.output.code, e["failover"]["verdict"].as_str().unwrap().to_string(), e["misses"].to_string())
    };
    assert_eq!(verdict("primary", "", "resolves-to-primary", "3m").1, "met");
    let (code, slow, misses) = verdict("primary", "", "resolves-to-primary", "1m");
    assert_eq!((code, slow.as_str()), (1, "too_slow"), "{misses}");
    assert!(misses.contains("failover: too slow (1m25s — deadline 1m00s)"), "{misses}");
    // A client that never moves while another does.
    let stuck = "  - { name: elsewhere, kind: asg_capacity, group: web-asg, min_in_service: 0, expected_during_fault: true }\n";
    let (_, partial, misses) = verdict("primary", stuck, "resolves-to-primary, elsewhere", "3m");
    assert_eq!(partial, "partial", "{misses}");
    assert!(misses.contains("failover: partial (elsewhere did not move)"), "{misses}");
    // Failing the wrong side: the secondary's health check shows the fault took effect, but no client moved.
    let secondary = "  - { name: secondary-check, kind: route53_health_check, health_check: hc-api-secondary, interval: 10s }\n";
    let (_, stayed, misses) = verdict("secondary", secondary, "resolves-to-primary", "3m");
    assert_eq!(stayed, "did_not_fail_over", "{misses}");
    // The same without any signal of the fault: nothing was tested, which is not a failed failover.
    let (code, nothing, misses) = verdict("secondary", "", "resolves-to-primary", "3m");
    assert_eq!((code, nothing.as_str()), (1, "fault_not_effective"), "{misses}");
    assert!(misses.contains("never took effect"), "{misses}");
}

#[test]
fn an_expectation_has_exactly_one_kind() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    let validate = |expectation: &str| {
        std::fs::write(&file, dns_failover("primary", "", expectation)).unwrap();
        crate::gameday(&["validate", file.to_str().unwrap()])
    };
    let both = validate("  - name: e\n    probes: [resolves-to-primary]\n    recovers_within: 5m\n    stays_healthy: true\n");
    assert_eq!(both.code, 3, "{}", both.stderr);
    assert!(both.stderr.contains("`stays_healthy` and `recovers_within` are two kinds of expectation") && both.stderr.contains("s.yaml:27:5"), "{}", both.stderr);
    let neither = validate("  - name: e\n    probes: [resolves-to-primary]\n");
    assert!(neither.stderr.contains("the expectation has no kind") && neither.stderr.contains("hint: add `recovers_within: 5m`"), "{}", neither.stderr);
    let revert = validate("  - name: e\n    probes: [resolves-to-primary]\n    stays_healthy: true\n    from: revert\n");
    assert!(revert.stderr.contains("`from` does not apply to `stays_healthy`"), "{}", revert.stderr);
    assert!(revert.stderr.contains("`resolves-to-primary` is `expected_during_fault`"), "{}", revert.stderr);
}

/// The probe error rate counts every sample of the expectation's probes
/// from the clock's start up to the recovery point, the latest of its
/// probes' (docs/metrics.md): a probe that came back earlier has passes
/// before that point and after it, and only the first count. Recomputed
/// here from the journal's samples (the histories the measure reads are
/// run-length encoded, so this is the case they must be cut for: issue 18).
#[test]
fn the_probe_error_rate_counts_each_probe_up_to_the_latest_recovery() {
    // Two probes of the same record, sampled at different intervals: they see the return at different times.
    let text = dns_failover_with_deadline("10m").replace(
        "    healthy_after: 2\n",
        "    healthy_after: 2\n  - name: resolves-too\n    kind: dns\n    query: api.example.com\n    record_type: CNAME\n    expect: [web-alb.us-east-1.elb.amazonaws.com]\n    interval: 7s\n",
    );
    let text = text.replace("    probes: [resolves-to-primary]\n", "    probes: [resolves-to-primary, resolves-too]\n");
    let run = run_yaml(&text);
    assert_eq!(run.output.code, 0, "{}", run.output.stdout);
    let back = run.expectation("back");
    let (start, recovered) = (back["clock_start"].as_u64().unwrap(), back["recovered_at"].as_u64().unwrap());
    let first_back = |probe: &str| {
        let samples: Vec<&serde_json::Value> = run.events("sample").into_iter().filter(|s| s["probe"] == probe).collect();
        let last_failure = samples.iter().rposition(|s| s["ok"] == false).expect("the probe failed");
        samples[last_failure + 1]["sent_at"].as_u64().unwrap()
    };
    // On seed 1, the one sampled every 5 s is back at 6m25s, the other at 6m32s.
    assert_eq!((first_back("resolves-to-primary"), first_back("resolves-too")), (385_000, recovered), "{back}");
    let counted: Vec<&serde_json::Value> = run.events("sample").into_iter().filter(|s| (start..recovered).contains(&s["sent_at"].as_u64().unwrap())).collect();
    let failed = counted.iter().filter(|s| s["ok"] == false).count();
    let expected = 100.0 * failed as f64 / counted.len() as f64;
    assert!((back["probe_error_rate"].as_f64().unwrap() - expected).abs() < 1e-9, "expected {expected} ({failed} of {} samples): {back}", counted.len());
    // The earlier probe's passes go on after the recovery point, and are not counted.
    assert!(run.events("sample").iter().any(|s| s["probe"] == "resolves-to-primary" && s["sent_at"].as_u64().unwrap() > recovered), "{back}");
}

/// An expectation whose every probe is meant to fail during the fault
/// ("failing means it moved") is a failover expectation whatever the fault:
/// it is judged by its clients' moves. Once it was judged only on
/// `dns_failover` and `region_outage`, and on any other fault it was met with
/// nothing measured: here the writer never moves (the zone lost is not the
/// writer's), and the run said "hypothesis held".
#[test]
fn a_failover_expectation_on_any_fault_misses_when_nothing_moved() {
    let yaml = |fault: &str| {
        format!(
            "apiVersion: gameday/v1\nname: writer-moves\nsteady_state:\n  - {{ name: writer-is-orders-db-1, kind: db_writer, cluster: orders-db, expect_writer: orders-db-1, interval: 10s, healthy_after: 1, expected_during_fault: true }}\nfaults:\n  - {{ name: zone-down, {fault}, duration: 3m }}\nexpected_recoveries:\n  - {{ name: the writer moves, probes: [writer-is-orders-db-1], recovers_within: 2m }}\n"
        )
    };
    let stays = run_yaml(&yaml("kind: az_outage, zone: us-east-1b"));
    assert_eq!(stays.output.code, 1, "{}", stays.output.stdout);
    let e = stays.expectation("the writer moves");
    assert_eq!(e["kind"], "fails_over", "{e}");
    assert_eq!(e["failover"]["verdict"], "fault_not_effective", "{e}");
    assert!(stays.output.stdout.contains("failover: the fault `zone-down` never took effect"), "{}", stays.output.stdout);

    // A failover of the cluster: Aurora promotes the reader, and the move is the measure.
    let moves = run_yaml(&yaml("kind: db_failover, cluster: orders-db"));
    let e = moves.expectation("the writer moves");
    assert_eq!(e["failover"]["verdict"], "met", "{e}");
    let moved = e["failover"]["clients"][0]["moved_at"].as_u64().expect("the writer moved");
    // The samples with no writer while Aurora fails over are not the move (they are `unsettled`).
    let first_other_writer = moves
        .journal
        .iter()
        .find(|r| r["event"] == "sample" && r["probe"] == "writer-is-orders-db-1" && r["ok"] == false && r["unsettled"] != true)
        .expect("a sample that saw another writer");
    assert_eq!(Some(moved), first_other_writer["sent_at"].as_u64(), "moved at the first sample that saw another writer");
    assert_eq!(e["time_to_recover"].as_u64(), Some(moved), "the failover time is the move, from the fault's start at T+0");
    assert_eq!(moves.output.code, 0, "{}", moves.output.stdout);
}

/// A fault starts when gameday starts making it (its `fault_intent`
/// record), not when the call that makes it returns (`fault_applied`): an
/// inject that takes its time, as a FIS experiment gameday awaits or a
/// `kubectl drain` does, hurts the system before it returns, and that hurt
/// is the fault's impact, not something before it. Here the inject touches
/// the probes' marker and returns only once the journal holds a failing
/// sample, so the impact surely begins while the fault is being made.
#[test]
fn a_fault_is_counted_from_when_gameday_starts_making_it() {
    let dir = tempfile::tempdir().unwrap();
    let (marker, runs) = (dir.path().join("marker"), dir.path().join("runs"));
    let wait = format!("until cat {}/*/journal.jsonl | grep -q '\"ok\":false'; do sleep 0.05; done", runs.display());
    let yaml = format!(
        "apiVersion: gameday/v1\nname: slow-inject\nguards:\n  max_duration: 1m\nsteady_state:\n  - {{ name: no-marker, kind: command, run: \"test ! -e {m}\", interval: 50ms, timeout: 50ms }}\n  - {{ name: watch, kind: command, run: \"test ! -e {m}\", interval: 50ms, timeout: 50ms }}\nfaults:\n  - {{ name: touch, kind: command, inject: \"touch {m}; {wait}\", revert: \"rm -f {m}\", duration: 200ms }}\nexpected_recoveries:\n  - {{ name: gone, probes: [no-marker], recovers_within: 30s, detected_by: [watch] }}\n",
        m = marker.display(),
        wait = wait.replace('"', "\\\"")
    );
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let run = crate::run_scenario(&file, &["--env", "local", "--yes"], &runs);
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    let at = |event: &str| run.journal.iter().find(|r| r["event"] == event).and_then(|r| r["t"].as_u64()).unwrap_or_else(|| panic!("no {event} record"));
    let (intent, applied) = (at("fault_intent"), at("fault_applied"));
    let gone = run.expectation("gone");
    assert_eq!(gone["fault_start"].as_u64(), Some(intent), "the fault starts at its intent: {gone}");
    let impact = gone["impact_start"].as_u64().unwrap_or_else(|| panic!("the impact while the fault was being made is counted: {gone}"));
    let first_failure = run.journal.iter().find(|r| r["event"] == "sample" && r["probe"] == "no-marker" && r["ok"] == false).and_then(|r| r["sent_at"].as_u64()).unwrap();
    assert_eq!(impact, first_failure, "{gone}");
    let detected = gone["detected_at"].as_u64().unwrap_or_else(|| panic!("detected: {gone}"));
    assert_eq!(gone["time_to_detect"].as_u64(), Some(detected - intent), "{gone}");
    let recovered = gone["recovered_at"].as_u64().unwrap();
    assert!(recovered > applied, "{gone}");
    assert_eq!(gone["time_to_recover"].as_u64(), Some(recovered - intent), "{gone}");
    // The run's record of the fault says both: when it was started, and when it was in place.
    let fault = &run.result["faults"][0];
    assert_eq!((fault["started_at"].as_u64(), fault["in_place_at"].as_u64()), (Some(intent), Some(applied)), "{fault}");
    let when = |t: u64| format!("T+{}", gameday::run::metrics::fmt_ms(t));
    let inject = run.report.lines().find(|l| l.starts_with("| Inject |")).unwrap_or_else(|| panic!("no Inject phase:\n{}", run.report));
    assert!(inject.starts_with(&format!("| Inject | {} | `touch` started (command), in place at {} |", when(intent), when(applied))), "{inject}");
}

/// A database failing over has no writer for a while before a reader
/// writes. A `db_writer` probe `expected_during_fault` fails through both,
/// but only the second is the move it waits for: a "no writer" sample reads
/// no settled state (`unsettled` in the journal), is never the intended
/// state, and counts as impact. So the time to fail over is when another
/// instance writes, not the first sample that lost the old writer
/// (docs/metrics.md, "Failover verdicts"). On the simulator with seed 2,
/// `orders-db-2` writes about 50 s after the writer is lost.
#[test]
fn a_failover_moves_when_another_writer_writes_not_when_the_old_one_stops() {
    let file = crate::repo().join("scenarios/aurora-failover-fis.yaml");
    let dir = tempfile::tempdir().unwrap();
    let run = crate::run_scenario(&file, &["--seed", "2"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    let promoted = run.expectation("a reader is promoted");
    let fault_start = promoted["fault_start"].as_u64().unwrap();
    let samples: Vec<&serde_json::Value> =
        run.journal.iter().filter(|r| r["event"] == "sample" && r["probe"] == "writer-is-orders-db-1" && r["sent_at"].as_u64() >= Some(fault_start)).collect();
    // Every sample that saw no writer says so; no other does.
    for s in &samples {
        let no_writer = s["observed"].as_str().unwrap().contains("no writer");
        assert_eq!(s["unsettled"] == true, no_writer, "{s}");
    }
    let first_lost = samples.iter().find(|s| s["ok"] == false).unwrap();
    assert_eq!(first_lost["unsettled"], true, "the old writer is lost before another writes: {first_lost}");
    let moved = samples.iter().find(|s| s["ok"] == false && s["unsettled"] != true).unwrap();
    assert!(moved["observed"].as_str().unwrap().contains("writer orders-db-2 in us-east-1b, available"), "{moved}");
    let moved_at = moved["sent_at"].as_u64().unwrap();
    assert!(moved_at > first_lost["sent_at"].as_u64().unwrap());
    let failover = &promoted["failover"];
    assert_eq!(failover["clients"][0]["moved_at"].as_u64(), Some(moved_at), "{promoted}");
    assert_eq!(failover["time_to_fail_over"].as_u64(), Some(moved_at - fault_start), "{promoted}");
    let said = format!("recover met (clients moved after {})", gameday::run::metrics::fmt_ms(moved_at - fault_start));
    assert!(run.output.stdout.contains(&said), "expected `{said}` in:\n{}", run.output.stdout);
    // The time without a writer is impact, not the intended state.
    let no_writer_from = first_lost["sent_at"].as_u64().unwrap();
    assert_eq!(promoted["impact_start"].as_u64(), Some(no_writer_from), "{promoted}");
    assert_eq!(promoted["downtime"].as_u64(), Some(moved_at - no_writer_from), "{promoted}");
    let row = format!(
        "| Impact | T+{} | `writer-is-orders-db-1` failing (window 1 of 3) until T+{} ({}) |",
        gameday::run::metrics::fmt_ms(no_writer_from),
        gameday::run::metrics::fmt_ms(moved_at),
        gameday::run::metrics::fmt_ms(moved_at - no_writer_from)
    );
    assert!(run.report.contains(&row), "expected `{row}` in:\n{}", run.report);
    let intended = format!("| Intended | T+{} | `writer-is-orders-db-1` in its intended state", gameday::run::metrics::fmt_ms(moved_at));
    assert!(run.report.contains(&intended), "expected `{intended}` in:\n{}", run.report);
}

/// A `stays_healthy` expectation is judged on its fault's span, and so are
/// its figures: a failure after the fault's end (here the reboot that
/// follows the stop) is not its impact. It once printed ✔ beside "recover
/// not recovered" for an expectation that was met.
#[test]
fn a_stays_healthy_expectation_counts_its_figures_over_its_faults_span_only() {
    let yaml = "apiVersion: gameday/v1\nname: stop-then-reboot\nguards:\n  max_targets: 1\nsteady_state:\n  - { name: api, kind: http, url: https://api.example.com/health, interval: 10s, timeout: 2s }\nfaults:\n  - { name: stop-one, kind: stop_instances, targets: { groups: [web-asg], zones: [us-east-1a], count: 1 }, duration: 3m }\n  - { name: reboot-one, kind: reboot_instances, start_after: [stop-one], delay: 30s, targets: { groups: [web-asg], count: 1 } }\nexpected_recoveries:\n  - { name: api rides through the stop, probes: [api], stays_healthy: true }\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let run = crate::run_scenario(&file, &["--seed", "385094"], &dir.path().join("runs"));
    let rides = run.expectation("api rides through the stop");
    let stop = run.result["faults"].as_array().unwrap().iter().find(|f| f["name"] == "stop-one").unwrap();
    let (start, end) = (stop["started_at"].as_u64().unwrap(), stop["ended_at"].as_u64().unwrap());
    let failing = |r: &&serde_json::Value| r["event"] == "sample" && r["probe"] == "api" && r["ok"] == false;
    let sent = |r: &serde_json::Value| r["sent_at"].as_u64().unwrap();
    assert!(run.journal.iter().filter(failing).all(|r| !(start..end).contains(&sent(r))), "api stayed healthy while the stop was in place");
    assert!(run.journal.iter().filter(failing).any(|r| sent(r) >= end), "api failed after the stop ended (the reboot): the case this test is about");
    assert_eq!(rides["met"], true, "{rides}");
    assert_eq!((rides["impact_start"].is_null(), rides["downtime"].as_u64()), (true, Some(0)), "{rides}");
    assert!(
        run.output.stdout.contains("✔ api rides through the stop") && run.output.stdout.lines().any(|l| l.contains("api rides through the stop") && l.contains("no impact")),
        "{}",
        run.output.stdout
    );
}
