//! The run directory's reports: snapshots of every format, a self-contained
//! HTML page, rendering again from the journal (keeping what people wrote),
//! history over several runs, and cadences.

use std::path::{Path, PathBuf};

use crate::{Run, gameday, repo, run_scenario, run_scenario_with};

/// A Wednesday, 11:30 in New York: inside az-loss's window (Tuesday to
/// Thursday, 10:00-16:00) and before its blackout. The guards judge windows
/// and blackouts against the moment a run starts; this fixes it
/// (`GAMEDAY_TEST_NOW`, simulator only), so the snapshots show their verdicts.
const WEDNESDAY_MORNING: &str = "2026-12-02T16:30:00Z";

/// Wall-clock times and run-directory names vary between runs; virtual
/// times (`T+…`) and everything measured do not.
fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?", "[WALL]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}", "[DATE]");
    settings.add_filter(r"\d{2}:\d{2} UTC", "[TIME] UTC");
    settings.add_filter(r"[a-z-]+-\d{8}T\d{6}Z(-\d+)?", "[RUN_DIR]");
    // junit.xml's `time` is the real duration of the run.
    settings.add_filter(r#" time="\d+\.\d{3}""#, r#" time="[REAL TIME]""#);
    settings
}

fn read(run: &Run, name: &str) -> String {
    std::fs::read_to_string(run.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn az_loss(runs: &Path, seed: &str) -> Run {
    az_loss_at(runs, seed, WEDNESDAY_MORNING)
}

fn az_loss_at(runs: &Path, seed: &str, now: &str) -> Run {
    let run = run_scenario_with(&repo().join("scenarios/az-loss.yaml"), &["--seed", seed], runs, &[("GAMEDAY_TEST_NOW", now)]);
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    run
}

#[test]
fn every_format_is_snapshotted() {
    let runs = tempfile::tempdir().unwrap();
    let run = az_loss(runs.path(), "7");
    settings().bind(|| {
        insta::assert_snapshot!("az-loss.report.md", read(&run, "report.md"));
        insta::assert_snapshot!("az-loss.report.html", read(&run, "report.html"));
        insta::assert_snapshot!("az-loss.junit.xml", read(&run, "junit.xml"));
        insta::assert_snapshot!("az-loss.result.json", read(&run, "result.json"));
    });
    assert_eq!(read(&run, "scenario.yaml"), std::fs::read_to_string(repo().join("scenarios/az-loss.yaml")).unwrap(), "the run keeps its scenario");
}

#[test]
fn a_dr_scenario_reports_its_rto_and_says_rpo_is_not_measured() {
    let runs = tempfile::tempdir().unwrap();
    let run = run_scenario(&repo().join("scenarios/region-failover.yaml"), &["--seed", "7"], runs.path());
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    assert!(run.report.contains("## Disaster recovery"));
    assert!(run.report.contains("| `lose-us-east-1` (region_outage) | API served from us-west-2 within the RTO | 5m00s |"), "{}", run.report);
    assert!(run.report.contains("**RPO: not measured.**"));
    assert!(!std::fs::read_to_string(run.dir.join("report.md")).unwrap().is_empty());
    let other = tempfile::tempdir().unwrap();
    let az = az_loss(other.path(), "7");
    assert!(!az.report.contains("## Disaster recovery"), "only DR scenarios have the section");
}

/// Tags open and close in order; void and self-closing tags stand alone.
fn assert_well_formed(html: &str) {
    let tag = regex::Regex::new(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*?)(/?)>").unwrap();
    let void = ["meta", "br", "hr", "img", "input", "link"];
    let mut open: Vec<String> = Vec::new();
    let body = html.trim_start_matches("<!DOCTYPE html>");
    for caps in tag.captures_iter(body) {
        let name = caps[2].to_lowercase();
        if &caps[4] == "/" || void.contains(&name.as_str()) {
            continue;
        }
        if &caps[1] == "/" {
            assert_eq!(open.pop().as_deref(), Some(name.as_str()), "unbalanced </{name}>");
        } else {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    // Every & starts an entity: text is escaped.
    let amp = regex::Regex::new(r"&(amp|lt|gt|quot|#39);").unwrap();
    assert!(!amp.replace_all(body, "").contains('&'), "an unescaped &");
}

#[test]
fn the_html_is_well_formed_and_self_contained() {
    let runs = tempfile::tempdir().unwrap();
    let run = az_loss(runs.path(), "7");
    let html = read(&run, "report.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_well_formed(&html);
    // `url(#…)` names a pattern defined in the page itself (the chart's states); any other url( could fetch.
    let local = html.replace("fill=\"url(#", "");
    for forbidden in ["<script", "<link", "@import", "url(", "src=", "href="] {
        assert!(!local.contains(forbidden), "report.html must fetch nothing: found {forbidden}");
    }
    // The only addresses are text (the probe's URL) and the SVG namespace, never fetched.
    let address = regex::Regex::new(r"https?://[^\s<\x22]+").unwrap();
    let addresses: std::collections::BTreeSet<&str> = address.find_iter(&html).map(|m| m.as_str()).collect();
    assert_eq!(addresses.into_iter().collect::<Vec<_>>(), ["http://www.w3.org/2000/svg"]);
    assert!(html.contains("<svg") && html.contains("fault in place"), "the timeline chart is there");
    // A lane per probe.
    for probe in ["api", "capacity", "healthy-targets"] {
        assert!(html.contains(&format!("text-anchor=\"end\">{probe}</text>")), "no lane for {probe}");
    }
}

#[test]
fn report_renders_the_same_files_again_and_keeps_what_people_wrote() {
    let runs = tempfile::tempdir().unwrap();
    let run = az_loss(runs.path(), "7");
    let names = ["report.md", "report.html", "junit.xml", "result.json"];
    let before: Vec<String> = names.iter().map(|n| read(&run, n)).collect();
    let dir = run.dir.to_str().unwrap();
    let again = gameday(&["report", dir]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    for (name, old) in names.iter().zip(&before) {
        assert_eq!(&read(&run, name), old, "{name} differs when rendered again");
    }
    for (format, name) in [("md", "report.md"), ("html", "report.html"), ("junit", "junit.xml"), ("json", "result.json")] {
        assert_eq!(gameday(&["report", dir, "--format", format]).stdout, read(&run, name), "--format {format}");
    }

    // People fill in the debrief, one of them with blaming words.
    let edited = read(&run, "report.md")
        .replace("_Which alarms, dashboards, automation and runbook steps worked as intended?_\n\n- \n", "- The group replaced capacity in 40 s.\n")
        .replace(
            "_What did not work as intended: in the system, the signals, the tools or the runbook?_\n\n- \n",
            "- Human error: the on-call should have checked the dashboard.\n",
        )
        .replace("| Facilitator | |", "| Facilitator | Ana |")
        .replace(
            "_Which runbook steps did people follow, skip or change? What was missing or out of date?_\n\n- \n",
            "- Step 3 <script>alert(1)</script> was skipped, see [the wiki](javascript:alert(1)) ![graph](https://example.com/g.png)\n",
        );
    std::fs::write(run.dir.join("report.md"), &edited).unwrap();
    let again = gameday(&["report", dir]);
    assert_eq!(again.code, 0);
    let report = read(&run, "report.md");
    assert!(report.contains("- The group replaced capacity in 40 s.\n"));
    assert!(report.contains("| Facilitator | Ana |"));
    assert!(report.contains("## Blameless check"));
    assert!(report.contains("“Human error”"), "{report}");
    assert!(again.stderr.contains("note: ") && again.stderr.contains("“should have” in What went wrong"), "{}", again.stderr);
    let html = read(&run, "report.html");
    assert!(html.contains("<li>The group replaced capacity in 40 s.</li>"), "the HTML carries what people wrote");
    // What people write is shown, never run, and fetches nothing.
    assert!(html.contains("<li>Step 3 &lt;script&gt;alert(1)&lt;/script&gt; was skipped, see the wiki graph</li>"), "{html}");
    assert!(!html.contains("<script") && !html.contains("javascript:") && !html.contains("example.com"), "{html}");
    assert_eq!(read(&run, "result.json"), before[3], "people's words never change the measurements");
    // Rendering once more changes nothing.
    gameday(&["report", dir]);
    assert_eq!(read(&run, "report.md"), report);
}

#[test]
fn report_needs_a_run_directory() {
    let out = gameday(&["report", "/nonexistent/run"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: could not read /nonexistent/run/scenario.yaml"), "{}", out.stderr);
}

#[test]
fn history_shows_recovery_times_as_distributions() {
    let runs = tempfile::tempdir().unwrap();
    // Three game days on three days: each run directory is named by its own start.
    for (seed, day) in [("1", "2026-12-01"), ("2", "2026-12-02"), ("3", "2026-12-03")] {
        az_loss_at(runs.path(), seed, &format!("{day}T16:30:00Z"));
    }
    let out = gameday(&["history", "az-loss", "--runs-dir", runs.path().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    settings().bind(|| insta::assert_snapshot!("az-loss.history", out.stdout));
    assert!(out.stdout.contains("az-loss — 3 run(s)"));
    assert!(out.stdout.contains("n=3  median"));
    assert!(out.stdout.contains("no trend claimed: 3 run(s), fewer than 5"));
}

/// The team's `predicted` and the twin's median against what two runs
/// measured: the figures `history` prints are recomputed here from each
/// run's result.json and prediction.json.
#[test]
fn history_tracks_how_far_off_the_team_and_the_twin_were() {
    let runs = tempfile::tempdir().unwrap();
    let mut team: Vec<i64> = Vec::new();
    let mut twin: Vec<i64> = Vec::new();
    const EXPECTATION: &str = "the cluster has a writer again";
    for (seed, day) in [("1", "2026-12-01"), ("2", "2026-12-02")] {
        let run = run_scenario_with(
            &repo().join("scenarios/aurora-failover.yaml"),
            &["--seed", seed, "--predict", "--seeds", "3"],
            runs.path(),
            &[("GAMEDAY_TEST_NOW", &format!("{day}T16:30:00Z"))],
        );
        assert!(run.dir.join("prediction.json").is_file(), "{}", run.output.stderr);
        let e = run.result["expectations"].as_array().unwrap().iter().find(|e| e["name"] == EXPECTATION).unwrap().clone();
        let measured = e["time_to_recover"].as_i64().unwrap();
        team.push(measured - 40_000);
        assert_eq!(e["prediction_error"].as_i64(), Some(measured - 40_000));
        let prediction: serde_json::Value = serde_json::from_str(&read(&run, "prediction.json")).unwrap();
        let p = prediction["expectations"].as_array().unwrap().iter().find(|p| p["name"] == EXPECTATION).unwrap().clone();
        twin.push(measured - p["recovery"]["median"].as_i64().unwrap());
    }
    let out = gameday(&["history", "aurora-failover", "--runs-dir", runs.path().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Nearest-rank median of two: the lower; the largest: furthest from zero, with its sign.
    let spread = |errors: &mut Vec<i64>| {
        errors.sort();
        let largest = *errors.iter().max_by_key(|e| e.unsigned_abs()).unwrap();
        format!("n=2  median {}  largest {}", signed(errors[0]), signed(largest))
    };
    let line = format!("prediction error (measured − predicted, + slower): the team's `predicted`: {}; the twin's median: {}", spread(&mut team), spread(&mut twin));
    // The expectation's heading (indented 2) and its figures (indented 4).
    let lines: Vec<&str> = out.stdout.lines().skip_while(|l| !l.starts_with(&format!("  {EXPECTATION}"))).collect();
    let block = lines.iter().take(1).chain(lines.iter().skip(1).take_while(|l| l.starts_with("    "))).copied().collect::<Vec<_>>().join("\n");
    assert!(block.contains(&line), "expected `{line}` in:\n{block}");
    let html = gameday(&["history", "aurora-failover", "--runs-dir", runs.path().to_str().unwrap(), "--format", "html"]);
    assert!(html.stdout.contains("prediction error (measured − predicted, + slower)"), "{}", html.stdout);
}

/// As the reports write a signed difference.
fn signed(ms: i64) -> String {
    match ms {
        0 => "0s".into(),
        m if m > 0 => format!("+{}", gameday::run::metrics::fmt_ms(m.unsigned_abs())),
        m => format!("−{}", gameday::run::metrics::fmt_ms(m.unsigned_abs())),
    }
}

#[test]
fn due_lists_scenarios_overdue_for_their_cadence() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    for name in ["az-loss", "instance-termination"] {
        let text = std::fs::read_to_string(repo().join(format!("scenarios/{name}.yaml"))).unwrap().replace("runbook: runbooks/", "# runbook: runbooks/");
        std::fs::write(scenarios.join(format!("{name}.yaml")), text).unwrap();
    }
    let runs = dir.path().join("runs");
    let (s, r) = (scenarios.to_str().unwrap(), runs.to_str().unwrap());
    // A runs directory named on the command line must exist (a typo is not "never run").
    let missing = gameday(&["due", "--scenarios", s, "--runs-dir", r]);
    assert_eq!(missing.code, 4, "{}", missing.stderr);
    assert!(missing.stderr.contains("does not exist"), "{}", missing.stderr);
    std::fs::create_dir(&runs).unwrap();
    let never = gameday(&["due", "--scenarios", s, "--runs-dir", r]);
    assert_eq!(never.code, 9, "{}{}", never.stdout, never.stderr);
    assert!(never.stdout.contains("OVERDUE  az-loss") && never.stdout.contains("never run"), "{}", never.stdout);

    run_scenario(&scenarios.join("az-loss.yaml"), &["--seed", "1"], &runs);
    run_scenario(&scenarios.join("instance-termination.yaml"), &["--seed", "1"], &runs);
    let fresh = gameday(&["due", "--scenarios", s, "--runs-dir", r]);
    assert_eq!(fresh.code, 0, "{}", fresh.stdout);
    assert!(fresh.stdout.contains("0 of 2 scenario(s) with a cadence overdue"), "{}", fresh.stdout);

    // Ten days on, the weekly scenario is overdue and the monthly one is not.
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(240)).to_string();
    let due = gameday(&["due", "--scenarios", s, "--runs-dir", r, "--at", &later, "--paths"]);
    assert_eq!(due.code, 9);
    assert_eq!(due.stdout.trim(), scenarios.join("instance-termination.yaml").to_str().unwrap());
    // A date alone means its first moment in UTC.
    let date = jiff::tz::TimeZone::UTC.to_datetime(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(240)).date().to_string();
    let by_date = gameday(&["due", "--scenarios", s, "--runs-dir", r, "--at", &date, "--paths"]);
    assert_eq!((by_date.code, by_date.stdout.trim()), (9, scenarios.join("instance-termination.yaml").to_str().unwrap()), "{}", by_date.stderr);
    let history = gameday(&["history", "--runs-dir", r, "--scenarios", s]);
    assert!(history.stdout.contains("cadence weekly: next due"), "{}", history.stdout);
}

/// A missed run of a scenario with an owner and links, as a team files it:
/// the postmortem's facts, detection, response, resolution, lessons, the
/// tests question, typed and owned action items, and supporting links, in
/// report.md and report.html alike.
/// A run that misses both expectations: the first its deadline, the second
/// only its detection budget. Its scenario has an owner, a hypothesis and a link.
fn missed_run() -> Run {
    let targets = "  - name: targets\n    kind: target_health\n    target_group: web-tg\n    min_healthy: 6\n    interval: 10s\n  - name: capacity\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 6\n    interval: 10s";
    let faults = "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 2 }";
    // Recovery takes minutes: the first misses its deadline; the second misses only its detection budget.
    let expectations = "  - name: targets fast\n    probes: [targets]\n    recovers_within: 1m\n  - name: seen at once\n    probes: [targets]\n    recovers_within: 20m\n    detected_by: [capacity]\n    detected_within: 1s";
    let yaml = crate::scenario("", targets, faults, expectations).replace(
        "name: test\n",
        "name: test\nowner: team-web\nhypothesis: >\n  Two lost instances are replaced within a minute.\n  Nobody notices.\nlinks:\n  - { title: Web dashboard, url: \"https://dash.example.com/web\" }\n",
    );
    let run = crate::run_yaml(&yaml);
    assert_eq!(run.output.code, 1, "{}\n{}", run.output.stdout, run.output.stderr);
    run
}

#[test]
fn the_report_is_a_postmortem_a_team_can_file() {
    let run = missed_run();
    let (md, html) = (read(&run, "report.md"), read(&run, "report.html"));
    for heading in ["Detection", "Response", "Resolution", "Lessons learned", "Why did our existing tests not find this?", "Action items", "Supporting links", "Participants"] {
        assert!(md.contains(&format!("\n## {heading}\n")), "report.md lacks {heading}");
        assert!(html.contains(&format!("<h2>{}</h2>", heading.replace('\'', "&#39;"))), "report.html lacks {heading}");
    }
    for prompt in ["How could we have detected it faster?", "What resolved it", "What went well", "What went wrong", "Where we got lucky", "REL12-BP02"] {
        assert!(md.contains(prompt) && html.contains(prompt), "{prompt}");
    }
    assert!(md.contains("| Status | draft |\n| Severity | |\n| Authors | |"), "{md}");
    // Detection: the lag and the signal, measured.
    assert!(md.contains("| seen at once | T+"), "{md}");
    assert!(md.contains("| probe capacity |"), "detected by the probe:\n{md}");
    // Action items: owned by the scenario's owner, typed, prioritised, with a ticket column.
    assert!(md.contains("| Action | Owner | Type | Priority | Ticket | Due |"), "{md}");
    let items: Vec<&str> = md.lines().filter(|l| l.starts_with("| Investigate why")).collect();
    assert_eq!(items.len(), 2, "{md}");
    assert!(items[0].starts_with("| Investigate why “targets fast” missed: recovered after") && items[0].ends_with("| team-web | mitigate | high | | |"), "{}", items[0]);
    assert!(items[1].starts_with("| Investigate why “seen at once” missed: detected after") && items[1].ends_with("| team-web | detect | high | | |"), "{}", items[1]);
    assert!(html.contains("<td>team-web</td><td>detect</td><td>high</td>"), "the HTML shows the same items");
    // Resolution: what came just before the recovery.
    assert!(md.contains("| targets fast | T+") && (md.contains("while `kill` was still in place |") || md.contains("the revert of `kill`")), "{md}");
    // Supporting links: the run's own files, and the scenario's links (as text in the HTML, which links nothing).
    assert!(
        md.contains("| [journal.jsonl](journal.jsonl) |") && md.contains("| Web dashboard: [https://dash.example.com/web](https://dash.example.com/web) | from the scenario |"),
        "{md}"
    );
    assert!(html.contains("Web dashboard: <code>https://dash.example.com/web</code>") && !html.contains("href="), "{html}");
    // The tests question names what was missed.
    assert!(md.contains("Missed in this run: “targets fast” (recovered after"), "{md}");

    // The debrief fills it in; rendering again keeps it, and the blameless check reads the new sections too.
    let edited = md
        .replace("| Status | draft |\n| Severity | |\n| Authors | |", "| Status | final |\n| Severity | SEV3 |\n| Authors | Ana, Ben |")
        .replace("_What went right that we cannot count on next time?_\n\n- \n", "- The on-call should have been paged, but the ASG was quick.\n");
    std::fs::write(run.dir.join("report.md"), &edited).unwrap();
    let dir = run.dir.to_str().unwrap();
    let again = gameday(&["report", dir]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("“should have” in Where we got lucky"), "{}", again.stderr);
    assert!(!again.stderr.contains("warning"), "{}", again.stderr);
    let (md, html) = (read(&run, "report.md"), read(&run, "report.html"));
    assert!(md.contains("| Status | final |\n| Severity | SEV3 |\n| Authors | Ana, Ben |"));
    assert!(html.contains("<td>final</td>") && html.contains("<td>Ana, Ben</td>"), "{html}");

    // A status that is neither: a warning that points at the cell.
    std::fs::write(run.dir.join("report.md"), md.replace("| Status | final |", "| Status | done |")).unwrap();
    let odd = gameday(&["report", dir]);
    assert_eq!(odd.code, 0, "{}", odd.stderr);
    let line = md.lines().position(|l| l.starts_with("| Status |")).unwrap() + 1;
    assert!(odd.stderr.contains(&format!("report.md:{line}:12: the postmortem's Status is “done”, which is neither `draft` nor `final`")), "{}", odd.stderr);
    // The row written another way, as the table is read (any case, no spaces): the same cell, found the same way.
    std::fs::write(run.dir.join("report.md"), md.replace("| Status | final |", "|status|Finalised|")).unwrap();
    let odd = gameday(&["report", dir]);
    assert!(odd.stderr.contains(&format!("report.md:{line}:9: the postmortem's Status is “Finalised”, which is neither `draft` nor `final`")), "{}", odd.stderr);
}

/// A report written before the postmortem layout lacks its new sections:
/// rendering it again keeps what people wrote and warns of nothing lost.
#[test]
fn a_report_from_before_the_postmortem_layout_renders_again_without_a_warning() {
    let runs = tempfile::tempdir().unwrap();
    let run = az_loss(runs.path(), "7");
    let mut old = read(&run, "report.md");
    for id in ["postmortem", "detection", "resolution", "tests", "links"] {
        let (begin, end) = (format!("<!-- gameday:begin {id} "), format!("<!-- gameday:end {id} -->"));
        let from = old.find(&begin).unwrap();
        let to = old.find(&end).unwrap() + end.len();
        old.replace_range(from..to, "");
    }
    let old = old.replace("- \n<!-- gameday:end went-well -->", "- Capacity came back on its own.\n<!-- gameday:end went-well -->");
    std::fs::write(run.dir.join("report.md"), &old).unwrap();
    let again = gameday(&["report", run.dir.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.is_empty(), "{}", again.stderr);
    assert!(!run.dir.join("report.md.bak").exists());
    let md = read(&run, "report.md");
    assert!(md.contains("- Capacity came back on its own.") && md.contains("| Status | draft |"), "{md}");
}

/// `--format summary`: one page for stakeholders, the outcome, the
/// hypothesis in one line, expectations met and missed, the top action
/// items (the team's, highest priority first), in Markdown and HTML.
#[test]
fn the_summary_gives_stakeholders_one_page() {
    let run = missed_run();
    let dir = run.dir.to_str().unwrap();
    let md = gameday(&["report", dir, "--format", "summary"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    let md = md.stdout;
    assert!(md.starts_with("# Game day summary: test\n\n**❌ Recovery missed — "), "{md}");
    assert!(md.contains("Status: draft · Severity: not set · Date: ") && md.contains(" · Environment: sim · Seed: 1 · Owner: team-web\n"), "{md}");
    assert!(md.contains("**Hypothesis:** Two lost instances are replaced within a minute. …\n"), "{md}");
    assert!(md.contains("## Expectations: 0 of 2 met"), "{md}");
    assert!(md.contains("| targets fast | ❌ missed: recovered after "), "{md}");
    assert!(md.contains("| Investigate why “seen at once” missed: detected after ") && md.contains(" | team-web | detect | high |"), "{md}");

    // The debrief's items replace the proposals; five are shown, highest priority first.
    let mut report = read(&run, "report.md").replace("| Status | draft |", "| Status | final |").replace("| Severity | |", "| Severity | SEV3 |");
    let rows: String = (1..=3).map(|i| format!("| Tidy dashboard {i} | Ana | process | low | | |\n")).collect();
    report =
        report.replace("| | | | | | |\n<!-- gameday:end action-items -->", &format!("{rows}| Page on capacity | Ben | detect | medium | | |\n<!-- gameday:end action-items -->"));
    std::fs::write(run.dir.join("report.md"), report).unwrap();
    let md = gameday(&["report", dir, "--format", "summary"]).stdout;
    assert!(md.contains("Status: final · Severity: SEV3 ·"), "{md}");
    let items: Vec<&str> = md.lines().skip_while(|l| !l.starts_with("## Top action items")).filter(|l| l.starts_with("| ") && !l.starts_with("| Action")).collect();
    assert_eq!(items.len(), 5, "{md}");
    assert!(
        items[0].ends_with("| high |")
            && items[1].ends_with("| high |")
            && items[2] == "| Page on capacity | Ben | detect | medium |"
            && items[4] == "| Tidy dashboard 2 | Ana | process | low |",
        "{items:#?}"
    );
    assert!(md.contains("1 more in the report's Action items."), "{md}");

    let html = gameday(&["report", dir, "--format", "summary-html"]);
    assert_eq!(html.code, 0, "{}", html.stderr);
    let html = html.stdout;
    assert_well_formed(&html);
    for forbidden in ["<script", "<link", "@import", "url(", "src=", "href="] {
        assert!(!html.contains(forbidden), "the summary fetches nothing: found {forbidden}");
    }
    assert!(html.contains("@media print{") && html.contains("@page{size:A4"), "a print stylesheet");
    assert!(html.contains("<td>Page on capacity</td><td>Ben</td><td>detect</td><td>medium</td>") && html.contains("Expectations: 0 of 2 met"), "{html}");
    print_to_pdf_is_one_page(&run.dir.join("summary.html"), &html);
}

/// Prints the summary with headless Chromium and counts the PDF's pages
/// (`pdfinfo`, from poppler-utils). Skipped, with a message, when Chromium
/// is not installed (Debian: `apt-get install chromium poppler-utils`).
fn print_to_pdf_is_one_page(file: &Path, html: &str) {
    let Some(chromium) =
        ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|c| std::process::Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
    else {
        eprintln!("skipped: printing the summary to PDF needs headless Chromium (Debian: apt-get install chromium poppler-utils)");
        return;
    };
    std::fs::write(file, html).unwrap();
    let pdf = file.with_extension("pdf");
    let profile = tempfile::tempdir().unwrap();
    let printed = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    assert!(pdf.is_file(), "Chromium printed no PDF: {}", String::from_utf8_lossy(&printed.stderr));
    let info = std::process::Command::new("pdfinfo").arg(&pdf).output().expect("pdfinfo (Debian: apt-get install poppler-utils) counts the pages");
    let info = String::from_utf8_lossy(&info.stdout);
    let pages = info.lines().find_map(|l| l.strip_prefix("Pages:")).map(str::trim);
    assert_eq!(pages, Some("1"), "the summary prints on one page:\n{info}");
}

/// Four game days of one scenario: held, missed (against a stricter
/// deadline it had then), held again, and refused by a guard. history marks
/// what changed between them, gives each run's time and seed, counts the
/// refusal apart, keys its symbols, and plots recovery times in HTML.
#[test]
fn history_marks_what_changed_between_runs_and_counts_refused_runs_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (scenarios, runs) = (dir.path().join("scenarios"), dir.path().join("runs"));
    std::fs::create_dir(&scenarios).unwrap();
    let az_loss = std::fs::read_to_string(repo().join("scenarios/az-loss.yaml")).unwrap().replace("runbook: runbooks/", "# runbook: runbooks/");
    std::fs::write(scenarios.join("az-loss.yaml"), &az_loss).unwrap();
    // The same scenario as it was on the second day: capacity due back (and detected) within 20 s.
    let strict = az_loss.replacen("recovers_within: 5m", "recovers_within: 20s", 1).replacen("detected_within: 2m30s", "detected_within: 20s", 1);
    assert_ne!(strict, az_loss);
    std::fs::write(dir.path().join("strict.yaml"), strict).unwrap();
    std::fs::write(dir.path().join("refused.yaml"), az_loss.replace("accounts: [\"123456789012\"]", "accounts: [\"999999999999\"]")).unwrap();
    for (file, seed, day, code) in [
        (scenarios.join("az-loss.yaml"), "1", "01", 0),
        (dir.path().join("strict.yaml"), "2", "02", 1),
        (scenarios.join("az-loss.yaml"), "3", "03", 0),
        (dir.path().join("refused.yaml"), "4", "04", 5),
    ] {
        let run = run_scenario_with(&file, &["--seed", seed], &runs, &[("GAMEDAY_TEST_NOW", &format!("2026-12-{day}T16:30:00Z"))]);
        assert_eq!(run.output.code, code, "{}\n{}", run.output.stdout, run.output.stderr);
    }
    let (s, r) = (scenarios.to_str().unwrap(), runs.to_str().unwrap());
    let text = gameday(&["history", "--runs-dir", r, "--scenarios", s]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let out = text.stdout;
    assert!(out.starts_with("az-loss — 3 run(s) (and 1 refused before any fault, not counted), last 2026-12-03 16:30 UTC"), "{out}");
    assert!(out.contains("\n    2026-12-01 16:30 UTC  seed 1   ✔ held\n"), "{out}");
    assert!(out.contains("\n    2026-12-02 16:30 UTC  seed 2   ✘ recovery missed: capacity restored in the remaining zones (recovered after 40s — deadline 20s"), "{out}");
    assert!(out.contains("  ← issue discovered (held before, missed here)\n    2026-12-03 16:30 UTC  seed 3   ✔ held  ← issue fixed (missed before, held here)\n"), "{out}");
    assert!(out.contains("\n    2026-12-04 16:30 UTC  seed 4   – refused, not counted: aborted by guard accounts:"), "{out}");
    // Figures count the three game days only, each judged against its own deadline.
    assert!(out.contains("passed 2/3 (67%)") && out.contains("2026-12-02 40s ✘ (deadline then 20s)"), "{out}");
    assert!(out.contains("\nKey: ✔ held") && out.contains("┆ the deadline; ✘×n counts the runs that did not recover"), "{out}");

    let html = gameday(&["history", "--runs-dir", r, "--scenarios", s, "--format", "html"]);
    assert_eq!(html.code, 0, "{}", html.stderr);
    let html = html.stdout;
    assert_well_formed(&html);
    assert!(!html.contains("<script") && !html.contains("href="), "self-contained");
    assert_eq!(html.matches("<svg ").count(), 3, "a plot per expected recovery");
    assert!(html.contains("<td>seed 2</td>") && html.contains("<td>issue fixed (missed before, held here)</td>"), "{html}");
    // Shapes, not only colours: met runs are dots, the missed one a cross; each says what it is.
    assert!(html.contains("<g stroke=\"#b3261e\" stroke-width=\"2.5\"><title>2026-12-02 seed 2: 40s, missed</title>"), "{html}");
    assert!(html.contains("<title>2026-12-01 seed 1: 40s, met</title>") && html.contains("<title>deadline of this run: 20s</title>"), "{html}");
    assert!(html.contains("<desc>Time to recover of each run, oldest first, against the deadline of 5m00s: 2026-12-01 seed 1: 40s; "), "{html}");
    let svg_tag = regex::Regex::new(r"<svg [^>]*>").unwrap();
    for tag in svg_tag.find_iter(&html) {
        assert!(tag.as_str().contains("viewBox=") && !tag.as_str().contains(" width="), "the plot scales with the page: {}", tag.as_str());
    }

    // A scenario whose only runs were refused was never run, and due says how many were refused.
    let only_refused = dir.path().join("only-refused");
    std::fs::create_dir(&only_refused).unwrap();
    let refused = std::fs::read_dir(&runs).unwrap().map(|e| e.unwrap().path()).max().unwrap();
    std::fs::rename(&refused, only_refused.join(refused.file_name().unwrap())).unwrap();
    let due = gameday(&["due", "--scenarios", s, "--runs-dir", only_refused.to_str().unwrap()]);
    assert_eq!(due.code, 9, "{}", due.stderr);
    assert!(due.stdout.contains("OVERDUE  az-loss                      monthly    never run (1 run(s) refused before any fault)"), "{}", due.stdout);

    // A runs directory named on the command line must exist, for history as for due.
    let missing = gameday(&["history", "--runs-dir", "/nonexistent/runs"]);
    assert_eq!(missing.code, 4, "{}", missing.stdout);
    assert!(missing.stderr.starts_with("error: the runs directory /nonexistent/runs does not exist"), "{}", missing.stderr);
}

/// The chart at 390 px, as on a phone, and at 1280 px: headless Chromium
/// lays report.html out in a frame of each width, and no element outside a table (which scrolls)
/// reaches past its right edge (tables and the chart scroll); the SVG scales with its viewBox, no chart text is drawn under 7.5 px (at 390 px it was 4 px), and no axis
/// label is cut off, nor any lane label at the chart's left edge (a long probe name was). Skipped, with a message, when Chromium is not installed.
#[test]
fn report_html_fits_screens_of_390_and_1280_px() {
    let runs = tempfile::tempdir().unwrap();
    // A probe whose name is longer than the chart's left margin was cut off at the chart's left edge.
    let long_names = runs.path().join("long-names.yaml");
    let az_loss = std::fs::read_to_string(repo().join("scenarios/az-loss.yaml")).unwrap();
    let long = az_loss
        .replace("healthy-targets", "healthy-targets-behind-the-public-load-balancer-in-every-zone")
        .replace("runbook: runbooks/", &format!("runbook: {}/runbooks/", repo().display()));
    std::fs::write(&long_names, long).unwrap();
    let mut reports: Vec<Run> = ["az-loss", "region-failover", "dns-failover"]
        .iter()
        .map(|name| run_scenario(&repo().join(format!("scenarios/{name}.yaml")), &["--seed", "7"], &runs.path().join(name)))
        .collect();
    reports.push(run_scenario(&long_names, &["--seed", "7"], &runs.path().join("long-names")));
    let long_html = read(&reports[3], "report.html");
    assert!(
        long_html.contains("<title>healthy-targets-behind-the-public-load-balancer-in-every-zone</title>healthy-targets-behind-the-public-l…</text>"),
        "a long lane label is shortened, its full name its tooltip"
    );
    let svg_tag = regex::Regex::new(r"<svg [^>]*>").unwrap();
    for run in &reports {
        let html = read(run, "report.html");
        let svg = svg_tag.find(&html).unwrap().as_str().to_string();
        assert!(svg.contains("viewBox=") && !svg.contains(" width="), "the chart scales: {svg}");
        assert!(
            html.contains("figure{margin:1rem 0;overflow-x:auto}figure svg{width:100%;min-width:800px;height:auto}")
                && html.contains("table{display:block;max-width:100%;overflow-x:auto}"),
            "tables scroll; the chart scales, and scrolls below 800 px rather than shrink its text"
        );
    }
    let Some(chromium) = chromium() else {
        eprintln!("skipped: laying report.html out at 390 px needs headless Chromium (Debian: apt-get install chromium)");
        return;
    };
    // One page frames every report at both widths, so Chromium starts once, not eight times (its start-up was
    // most of this test's time). Each frame's page measures the report inside it: every element's right edge
    // against the frame's width; the result goes to a `<p>` of the outer page, read back from the dumped DOM.
    let frames: Vec<(&Run, u32)> = reports.iter().flat_map(|run| [(run, 390), (run, 1280)]).collect();
    let mut page = String::from("<!DOCTYPE html><html><body style=\"margin:0\">");
    for (i, (run, width)) in frames.iter().enumerate() {
        page += &format!("<p id=\"fit-{i}\"></p>");
        page += &"<iframe src=\"SRC\" style=\"display:block;width:WIDTHpx;height:844px;border:0\" onload=\"var d=this.contentDocument,w=d.documentElement.clientWidth,bad=[];\
d.querySelectorAll('body *').forEach(function(e){var r=e.getBoundingClientRect();if(r.right>w+0.5&&!e.closest('table')&&!e.closest('figure'))bad.push(e.tagName+(e.textContent?' '+e.textContent.slice(0,30):'')+' to '+Math.round(r.right));});\
d.querySelectorAll('svg text').forEach(function(e){var r=e.getBoundingClientRect(),s=e.closest('svg').getBoundingClientRect();if(r.left<s.left-0.5)bad.push('text '+e.textContent.slice(0,30)+' from '+Math.round(r.left-s.left)+' left of the chart');\
var px=parseFloat(getComputedStyle(e).fontSize)*s.width/e.closest('svg').viewBox.baseVal.width;if(px<7.5)bad.push('text '+e.textContent.slice(0,30)+' drawn '+px.toFixed(1)+' px high');});\
document.getElementById('fit-INDEX').setAttribute('data-fit',d.documentElement.scrollWidth+' of '+w+(bad.length?': '+bad.slice(0,8).join('; '):''));\"></iframe>"
            .replace("SRC", &format!("file://{}", run.dir.join("report.html").display()))
            .replace("WIDTH", &width.to_string())
            .replace("INDEX", &i.to_string());
    }
    page += "</body></html>";
    let wrapper = runs.path().join("at-390-and-1280.html");
    std::fs::write(&wrapper, page).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let dom = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", wrapper.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    for (i, (run, width)) in frames.iter().enumerate() {
        let measured = regex::Regex::new(&format!(r#"<p id="fit-{i}" data-fit="([^"]*)""#)).unwrap();
        let fit = measured.captures(&dom).map(|c| c[1].to_string());
        let fit = fit.unwrap_or_else(|| panic!("Chromium measured nothing for {} at {width} px:\n{dom}", run.dir.display()));
        let (sizes, cut_off) = fit.split_once(": ").unwrap_or((&fit, ""));
        let (page, frame) = sizes.split_once(" of ").unwrap();
        assert_eq!(page, frame, "{}: report.html is wider than {width} px: {fit}", run.dir.display());
        assert!(cut_off.is_empty(), "{}: at {width} px, cut off: {cut_off}", run.dir.display());
    }
}

/// The first of the usual names of Chromium that runs here.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|c| std::process::Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// A PNG's width and height, and the share of its pixels that differ from
/// its top-left one (the page's background): 0 for a page that rendered
/// nothing, whatever the encoder made of it.
fn png_ink(file: &Path) -> (u32, u32, f64) {
    let open = std::fs::File::open(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(open));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("{} is not a PNG: {e}", file.display()));
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let samples = frame.color_type.samples();
    let pixels = &pixels[..frame.buffer_size()];
    let background = &pixels[..samples];
    let inked = pixels.chunks_exact(samples).filter(|pixel| pixel != &background).count();
    (frame.width, frame.height, inked as f64 / (f64::from(frame.width) * f64::from(frame.height)))
}

/// Screenshots of report.html at 1280 and 390 px and of the printed
/// summary, rendered by headless Chromium (and poppler's pdftoppm for the
/// PDF) and kept under the target directory's `screenshots/` for people to
/// look at. Each is checked: a PNG of the size asked for, and not blank:
/// over 1% of its pixels differ from the page's background (an empty page
/// has none; the report's had 16% at 1280 px and 23% at 390 px, the
/// summary's 6%, on 2026-12-03).
/// Skipped, with a message, when Chromium or pdftoppm is not installed.
#[test]
fn screenshots_of_the_report_and_the_summary_are_made_and_not_blank() {
    let Some(chromium) = chromium() else {
        eprintln!("skipped: screenshots need headless Chromium (Debian: apt-get install chromium poppler-utils)");
        return;
    };
    let runs = tempfile::tempdir().unwrap();
    let run = az_loss(runs.path(), "7");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for width in [1280, 390] {
        let png = shots.join(format!("report-{width}.png"));
        let profile = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--window-size={width},2400"))
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", run.dir.join("report.html").display()))
            .output()
            .unwrap();
        assert!(png.is_file(), "Chromium wrote no screenshot: {}", String::from_utf8_lossy(&out.stderr));
        let (shot_width, shot_height, ink) = png_ink(&png);
        assert_eq!((shot_width, shot_height), (width, 2400), "{}", png.display());
        assert!(ink > 0.01, "report.html at {width} px looks blank: {:.2}% of its pixels differ from the background", ink * 100.0);
        eprintln!("screenshot: {} ({:.1}% ink)", png.display(), ink * 100.0);
    }

    let summary = gameday(&["report", run.dir.to_str().unwrap(), "--format", "summary-html"]);
    let html = runs.path().join("summary.html");
    std::fs::write(&html, &summary.stdout).unwrap();
    let pdf = runs.path().join("summary.pdf");
    let profile = tempfile::tempdir().unwrap();
    std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(pdf.is_file(), "Chromium printed no PDF");
    let Ok(rendered) = std::process::Command::new("pdftoppm").args(["-png", "-r", "60", "-singlefile"]).arg(&pdf).arg(shots.join("summary-page-1")).output() else {
        eprintln!("skipped: the summary's screenshot needs pdftoppm (Debian: apt-get install poppler-utils)");
        return;
    };
    assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
    let png = shots.join("summary-page-1.png");
    let (width, height, ink) = png_ink(&png);
    // A4 or US Letter at 60 dpi: 8.27 or 8.5 inches wide, taller than wide.
    assert!((490..=520).contains(&width) && height > width, "{width}×{height}");
    assert!(ink > 0.01, "the summary's page looks blank: {:.2}% of its pixels differ from the background", ink * 100.0);
    eprintln!("screenshot: {} ({:.1}% ink)", png.display(), ink * 100.0);
}

/// A scenario without guards: the timeline says none were set, not "all 0 passed".
#[test]
fn a_run_without_guards_says_none_were_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: no-guards\nsteady_state:\n  - { name: ok, kind: command, run: \"true\", interval: 100ms, timeout: 100ms }\nfaults:\n  - { name: f, kind: command, inject: \"true\", revert: \"true\", duration: 200ms }\nexpected_recoveries:\n  - { name: ok, probes: [ok], recovers_within: 1s }\n",
    )
    .unwrap();
    let run = run_scenario(&file, &["--env", "local", "--yes"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    assert!(run.report.contains("| Guards checked before the run: none set |"), "{}", run.report);
    assert!(!run.report.contains("all 0 passed"), "{}", run.report);
    // Its fault was reverted when its 200 ms were up, so at the end there is nothing left to revert, and the log says so.
    assert!(run.output.stderr.contains(" ending (nothing left to revert); probes:") && !run.output.stderr.contains(" reverting; probes:"), "{}", run.output.stderr);
}

/// A run on the wall clock against real systems cannot be repeated, so its
/// report does not say its seed reproduces it (a simulator run's does, as the
/// snapshots show); it says what the seed decided: on this machine no fault
/// chooses among targets, so nothing (on AWS it chose the targets: `tests/cli/aws.rs`).
#[test]
fn a_real_run_says_what_its_seed_decided_not_that_it_reproduces_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("here.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: here\nsteady_state:\n  - { name: ok, kind: command, run: 'true', interval: 500ms, timeout: 500ms }\nfaults:\n  - { name: nothing, kind: command, inject: 'true', revert: 'true', duration: 500ms }\nexpected_recoveries:\n  - { name: ok, probes: [ok], stays_healthy: true }\n",
    )
    .unwrap();
    let run = run_scenario(&file, &["--env", "local", "--yes", "--seed", "9"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    assert!(!run.report.contains("reproduces"), "{}", run.report);
    assert!(run.report.contains("| Seed | 9 (a run on real systems cannot be repeated; no fault here chose among targets, so the seed decided nothing) |"), "{}", run.report);
    assert!(read(&run, "report.html").contains("<tr><th>Seed</th><td>9 (a run on real systems cannot be repeated;"), "the same fact in every format");
}
