//! Error budgets judged on requests, not on probe samples (docs/metrics.md,
//! "Error rates"), through the binary on the simulator, whose load balancers
//! count their requests (docs/simulator.md, "Request counts").

use crate::{gameday, run_scenario};

/// The load balancer's failed requests over all its requests, one 60 s period per sample.
const REQUESTS_PROBE: &str = "  - name: api-requests\n    kind: metric\n    namespace: AWS/ApplicationELB\n    metric: [HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count]\n    divided_by: RequestCount\n    dimensions: { LoadBalancer: app/web-alb/50dc6c495c0c9188 }\n    interval: 60s\n    timeout: 10s\n";

fn scenario(fault: &str, budget: &str, extra_probe: &str) -> String {
    format!(
        "apiVersion: gameday/v1\nname: budget\nsteady_state:\n  - name: api\n    kind: http\n    url: https://api.example.com/health\n    interval: 10s\n    timeout: 2s\n{REQUESTS_PROBE}{extra_probe}faults:\n{fault}expected_recoveries:\n  - name: under 1% of requests fail\n    probes: [api]\n    recovers_within: 5m\n    max_impact: {budget}\n"
    )
}

/// 2 % of the requests served in us-east-1a fail for two minutes: two of
/// the six targets are there, so 0.67 % of all requests fail.
const GRAY_TWO_PERCENT: &str = "  - name: gray-1a\n    kind: gray_failure\n    zone: us-east-1a\n    error_rate: 2\n    duration: 2m\n";

/// Two of six targets stopped for three minutes: a third of the requests
/// get 502 until the load balancer's health checks take them out.
const STOP_TWO: &str = "  - name: stop-two\n    kind: stop_instances\n    duration: 3m\n    targets: { groups: [web-asg], count: 2 }\n";

fn run(text: &str, seed: &str) -> crate::Run {
    let dir = tempfile::tempdir().unwrap().keep();
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, text).unwrap();
    run_scenario(&file, &["--seed", seed], &dir.join("runs"))
}

fn number(value: &serde_json::Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("not a number: {value}"))
}

#[test]
fn one_failed_probe_sample_does_not_spend_a_one_percent_budget_of_requests() {
    // Seed 6: one `api` sample of eleven fails (9.1 % of the samples, which
    // missed the budget before), while 0.67 % of the requests failed.
    let requests = run(&scenario(GRAY_TWO_PERCENT, "{ error_rate: 1, requests: api-requests }", ""), "6");
    assert_eq!(requests.output.code, 0, "{}\n{}", requests.output.stdout, requests.output.stderr);
    let e = requests.expectation("under 1% of requests fail");
    assert!((number(&e["probe_error_rate"]) - 100.0 / 11.0).abs() < 1e-9, "{e}");
    assert!((number(&e["error_rate"]) - 100.0 * 240.0 / 36_000.0).abs() < 1e-9, "{e}");
    assert_eq!(e["error_rate_source"], serde_json::json!({"from": "metric_probe", "probe": "api-requests", "requests": 36_000, "failed": 240, "periods": 2, "unread_periods": 0}));
    assert!(requests.report.contains("0.67% of requests failed (240 of 36000 requests, metric probe `api-requests`), 9.1% of probe samples failed"), "{}", requests.report);
    // The counts are journaled with the samples, so the result is rebuilt from the journal alone.
    let readings: Vec<&serde_json::Value> = requests.events("sample").into_iter().filter(|r| r["probe"] == "api-requests").collect();
    assert!(readings.iter().all(|r| r["reading"]["divided_by"] == 18_000.0), "{readings:?}");
    let again = gameday(&["report", requests.dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let rebuilt: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(rebuilt["expectations"], requests.result["expectations"]);
    // The same samples judged as samples, by their own name, miss.
    let samples = run(&scenario(GRAY_TWO_PERCENT, "{ probe_error_rate: 1 }", ""), "6");
    assert_eq!(samples.output.code, 1, "{}", samples.output.stdout);
    assert!(samples.output.stdout.contains("9.1% of probe samples failed — budget 1%"), "{}", samples.output.stdout);
    let e = samples.expectation("under 1% of requests fail");
    assert!(e["error_rate"].is_null(), "no request count is named, so no request rate is claimed: {e}");
}

#[test]
fn requests_miss_a_budget_that_the_probe_samples_never_saw() {
    // Seed 2: no `api` sample fails, but the load balancer failed 1.07 % of
    // its requests (502s from the stopped targets until they were marked unhealthy).
    let run = run(&scenario(STOP_TWO, "{ error_rate: 1, requests: api-requests }", ""), "2");
    assert_eq!(run.output.code, 1, "{}", run.output.stdout);
    let e = run.expectation("under 1% of requests fail");
    assert_eq!((number(&e["probe_error_rate"]), e["impact_start"].is_null()), (0.0, true), "{e}");
    assert!(run.output.stdout.contains("1.07% of requests failed (960 of 90000 requests, metric probe `api-requests`) — budget 1%"), "{}", run.output.stdout);
}

#[test]
fn an_error_rate_without_a_request_count_is_refused_with_both_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, scenario(STOP_TWO, "{ error_rate: 1 }", "")).unwrap();
    let out = gameday(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("`error_rate` is the share of requests that failed, and nothing here counts requests"), "{}", out.stderr);
    assert!(out.stderr.contains("name it in `max_impact.requests`; or budget gameday's own probe samples with `max_impact.probe_error_rate`"), "{}", out.stderr);
    // A request count must be a metric probe that counts requests, one period per sample.
    std::fs::write(&file, scenario(STOP_TWO, "{ error_rate: 1, requests: api }", "")).unwrap();
    let out = gameday(&["validate", file.to_str().unwrap()]);
    assert!(out.stderr.contains("probe `api` is a `http` probe, which counts no requests"), "{}", out.stderr);
    std::fs::write(&file, scenario(STOP_TWO, "{ error_rate: 1, requests: api-requests }", "").replace("    interval: 60s\n", "    interval: 10s\n")).unwrap();
    let out = gameday(&["validate", file.to_str().unwrap()]);
    assert!(out.stderr.contains("probe `api-requests` reads 1m every 10s: requests would be counted more than once"), "{}", out.stderr);
}

#[test]
fn a_metric_probe_detects_and_stops_a_run() {
    // A whole zone failing every request: a third of the requests fail in every period.
    let gray = "  - name: gray-1a\n    kind: gray_failure\n    zone: us-east-1a\n    duration: 20m\n";
    let alarm = "  - name: five-percent-5xx\n    kind: metric\n    namespace: AWS/ApplicationELB\n    metric: HTTPCode_Target_5XX_Count\n    divided_by: RequestCount\n    dimensions: { LoadBalancer: web-alb }\n    interval: 60s\n    timeout: 10s\n    above: 5\n";
    let text = scenario(gray, "{ error_rate: 1, requests: api-requests }", alarm)
        .replace("    recovers_within: 5m\n", "    recovers_within: 5m\n    detected_within: 2m\n    detected_by: [five-percent-5xx]\n")
        .replace("name: budget\n", "name: budget\nguards:\n  stop_conditions:\n    - { probe: five-percent-5xx, failing_for: 1m }\n");
    let run = run(&text, "1");
    assert_eq!(run.output.code, 5, "{}\n{}", run.output.stdout, run.output.stderr);
    let e = run.expectation("under 1% of requests fail");
    assert_eq!(e["detected_by"], serde_json::json!({"kind": "probe", "name": "five-percent-5xx"}), "{e}");
    assert!(number(&e["time_to_detect"]) <= 60_000.0, "{e}");
    assert!((number(&e["error_rate"]) - 100.0 / 3.0).abs() < 0.1, "{e}");
    let failing: Vec<&serde_json::Value> = run.events("sample").into_iter().filter(|r| r["probe"] == "five-percent-5xx" && r["ok"] == false).collect();
    assert_eq!(failing[0]["observed"], "33.33% (6000 HTTPCode_Target_5XX_Count / 18000 RequestCount over 1m00s) (want ≤ 5)", "{failing:?}");
}

#[test]
fn the_simulator_refuses_a_metric_it_does_not_keep() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    let text =
        scenario(STOP_TWO, "{ error_rate: 1, requests: api-requests }", "").replace("metric: [HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count]", "metric: TargetResponseTime");
    std::fs::write(&file, text).unwrap();
    let out = gameday(&["plan", file.to_str().unwrap()]);
    assert_eq!(out.code, 7, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("probe `api-requests`: the simulator keeps RequestCount, HTTPCode_Target_5XX_Count, HTTPCode_ELB_5XX_Count only, not `TargetResponseTime`"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_requests_are_counted_to_the_recovery_point_of_the_expectations_own_clock() {
    // A fail-back counted `from: revert` (T+5m00s): clients return to the
    // primary, whose load balancer saw no requests while DNS was failed over,
    // at T+6m25s (seed 1). `api` also failed before the revert (a gray
    // secondary, T+4m00s–T+4m50s), and with `healthy_after: 6` every 30 s it
    // was still confirming that earlier recovery at T+6m30s. Counted from the
    // fault's start, that unconfirmed probe made the run stop at T+6m30s
    // without the reading (T+7m00s) of the period that holds the end of the
    // impact: the only reading in the window (T+6m00s) counted no requests,
    // and the budget was missed as "could not be judged" (exit 1). Counted
    // from the clock's start, `api` had no impact, and the run waits for it.
    let yaml = format!(
        "apiVersion: gameday/v1\nname: fail-back-budget\nsteady_state:\n  - name: api\n    kind: http\n    url: https://api.example.com/health\n    interval: 30s\n    timeout: 2s\n    healthy_after: 6\n  - name: resolves-to-primary\n    kind: dns\n    query: api.example.com\n    record_type: CNAME\n    expect: [web-alb.us-east-1.elb.amazonaws.com]\n    interval: 5s\n    healthy_after: 2\n    expected_during_fault: true\n{REQUESTS_PROBE}faults:\n  - name: fail-primary\n    kind: dns_failover\n    hosted_zone: example.com\n    record: api.example.com\n    fail: primary\n    duration: 5m\n  - name: gray-secondary\n    kind: gray_failure\n    region: us-west-2\n    error_rate: 100\n    delay: 4m\n    duration: 50s\nexpected_recoveries:\n  - name: fail-back within budget\n    probes: [resolves-to-primary, api]\n    after_fault: fail-primary\n    from: revert\n    recovers_within: 3m\n    max_impact: {{ error_rate: 1, requests: api-requests }}\n"
    );
    let run = run(&yaml, "1");
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    let e = run.expectation("fail-back within budget");
    assert_eq!((&e["clock_start"], &e["impact_start"], &e["recovered_at"]), (&300_000.into(), &300_000.into(), &385_000.into()), "{e}");
    let reads: Vec<u64> = run.events("sample").into_iter().filter(|r| r["probe"] == "api-requests").map(|r| r["t"].as_u64().unwrap()).collect();
    assert_eq!(reads.last(), Some(&420_000), "the reading of the period holding the recovery point (6m25s) was taken: {reads:?}");
    assert_eq!(e["error_rate_source"]["periods"], 2, "the periods ending at 6m00s and 7m00s overlap the window 5m00s–6m25s: {e}");
    assert_eq!(e["error_rate"], 0.0, "{e}");
}
