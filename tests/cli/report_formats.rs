//! Every format of one run tells the same story: `junit.xml` validates
//! against the JUnit 10 schema CI tools use, and every table of
//! `report.md` is in `report.html` with the same rows.

use std::path::Path;
use std::process::Command;

use crate::{Run, repo, run_scenario, run_yaml, scenario};

const TARGETS: &str = "  - name: targets\n    kind: target_health\n    target_group: web-tg\n    min_healthy: 6";

fn expect(name: &str, probe: &str, within: &str) -> String {
    format!("  - name: {name}\n    probes: [{probe}]\n    recovers_within: {within}")
}

fn example(name: &str, runs: &Path) -> Run {
    run_scenario(&repo().join(format!("scenarios/{name}.yaml")), &["--seed", "7"], runs)
}

fn read(run: &Run, name: &str) -> String {
    std::fs::read_to_string(run.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Runs of every kind of ending: held, missed, aborted by a guard (with a
/// missed recovery), and a fault that never took effect (its recovery
/// skipped). Made once and read by every test that needs them: they are
/// simulator runs, the same for every reader.
fn runs_of_every_ending() -> &'static [(&'static str, Run)] {
    static RUNS: std::sync::OnceLock<Vec<(&'static str, Run)>> = std::sync::OnceLock::new();
    RUNS.get_or_init(|| make_runs_of_every_ending(&tempfile::tempdir().unwrap().keep()))
}

fn make_runs_of_every_ending(runs: &Path) -> Vec<(&'static str, Run)> {
    let held = example("az-loss", &runs.join("held"));
    assert_eq!(held.output.code, 0, "{}", held.output.stderr);
    let aborted = example("manual-region-failover", &runs.join("aborted"));
    assert_eq!(aborted.output.code, 5, "{}", aborted.output.stdout);
    let missed =
        run_yaml(&scenario("", TARGETS, "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 2 }", &expect("targets fast", "targets", "1m")));
    assert_eq!(missed.output.code, 1, "{}", missed.output.stdout);
    let skipped =
        run_yaml(&scenario("", TARGETS, "  - name: kill\n    kind: terminate_instances\n    targets: { tags: { app: nothing } }", &expect("targets back", "targets", "5m")));
    assert_eq!(skipped.output.code, 6, "{}", skipped.output.stdout);
    let before_a_fault = run_yaml(&scenario(
        "  stop_conditions:\n    - probe: targets\n      failing_for: 30s",
        TARGETS,
        "  - name: kill\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 2 }\n  - name: later\n    kind: terminate_instances\n    targets: { groups: [web-asg], count: 1 }\n    delay: 30m",
        &format!("{}\n{}\n    after_fault: later", expect("targets back", "targets", "10m"), expect("targets back after the second", "targets", "10m")),
    ));
    assert_eq!(before_a_fault.output.code, 5, "{}", before_a_fault.output.stdout);
    vec![("held", held), ("aborted", aborted), ("missed", missed), ("skipped", skipped), ("aborted before a fault", before_a_fault)]
}

/// The run whose guard stopped it before its second fault started.
fn aborted_before_a_fault() -> &'static Run {
    runs_of_every_ending().iter().find(|(name, _)| *name == "aborted before a fault").map(|(_, run)| run).unwrap()
}

#[test]
fn an_expectation_whose_fault_never_started_is_not_measured_and_says_so() {
    let run = aborted_before_a_fault();
    let (markdown, html, junit) = (read(run, "report.md"), read(run, "report.html"), read(run, "junit.xml"));
    // Nothing was measured: "no impact" would claim the probes were watched and passed.
    let row = "| targets back after the second | — | not measured | not measured | 10m00s | — | — | ❌ the fault `later` never started |";
    assert!(markdown.contains(row), "{markdown}");
    assert!(markdown.contains("- **targets back after the second** (targets): not measured: the fault `later` never started."), "{markdown}");
    assert!(markdown.contains("| not measured — **missed**: the fault `later` never started. |"), "{markdown}");
    assert!(html.contains("<td>not measured</td>"), "{html}");
    assert!(junit.contains("detect —, recover not measured, impact not measured, deadline 10m00s"), "{junit}");
}

/// `xmllint` is what checks the schema; a CI without it must say so, not pass.
fn xmllint() -> &'static str {
    let found = Command::new("xmllint").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "xmllint is needed to validate junit.xml against its schema: install it with `apt-get install -y libxml2-utils` (Debian/Ubuntu) or `brew install libxml2`");
    "xmllint"
}

#[test]
fn junit_xml_of_every_ending_validates_against_the_junit_10_schema() {
    let xmllint = xmllint();
    let schema = repo().join("tests/schemas/junit-10.xsd");
    for (ending, run) in runs_of_every_ending() {
        let junit = run.dir.join("junit.xml");
        let out = Command::new(xmllint).arg("--noout").arg("--schema").arg(&schema).arg(&junit).output().expect("xmllint runs");
        assert!(out.status.success(), "{ending}: junit.xml does not validate:\n{}\n{}", String::from_utf8_lossy(&out.stderr), read(run, "junit.xml"));
    }
}

#[test]
fn junit_xml_says_why_a_case_was_skipped_and_keeps_real_and_virtual_time_apart() {
    let ending = runs_of_every_ending();
    let (_, skipped) = ending.iter().find(|(name, _)| *name == "skipped").unwrap();
    let junit = read(skipped, "junit.xml");
    let skip = regex::Regex::new(r"<skipped message=\x22([^\x22]+)\x22>([^<]+)</skipped>").unwrap();
    let caps = skip.captures(&junit).unwrap_or_else(|| panic!("a <skipped> with a message and a text:\n{junit}"));
    assert!(caps[2].contains("targets back"), "the text names what was not measured: {}", &caps[2]);

    // The held run took 15 virtual minutes and, on the simulator, far less real time.
    let (_, held) = &ending[0];
    let junit = read(held, "junit.xml");
    assert!(junit.contains("<property name=\"virtual_duration\" value=\"900.000\"/>"), "{junit}");
    let suite_time = regex::Regex::new(r"<testsuite [^>]* time=\x22(\d+)\.(\d{3})\x22").unwrap();
    let caps = suite_time.captures(&junit).unwrap_or_else(|| panic!("the suite has a time:\n{junit}"));
    let seconds: u64 = caps[1].parse().unwrap();
    let wall_elapsed = held.events("run_ended")[0]["wall_elapsed_ms"].as_u64().expect("the journal records the real duration");
    assert_eq!(seconds, wall_elapsed / 1000, "the suite's time is the real duration the journal recorded");
    assert!(seconds < 900, "the suite's time is not the simulated 15 minutes: {seconds} s");
}

/// A table as the rows people read: cell text without markup.
type Rows = Vec<Vec<String>>;

/// Markdown's inline markup removed: code spans, bold, links (their text).
fn markdown_text(cell: &str) -> String {
    let link = regex::Regex::new(r"\[([^\]]*)\]\([^)]*\)").unwrap();
    let text = link.replace_all(cell, "$1").replace("\\|", "|").replace("**", "");
    let code = regex::Regex::new(r"``? ?([^`]*?) ?``?").unwrap();
    code.replace_all(&text, "$1").trim().to_string()
}

/// Every pipe table of a Markdown document: its data rows (the header and separator left out).
fn markdown_tables(markdown: &str) -> Vec<Rows> {
    let cell_split = regex::Regex::new(r"[^\\]\|").unwrap();
    let mut tables = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in markdown.lines().chain([""]) {
        if line.starts_with('|') {
            current.push(line);
            continue;
        }
        if current.len() >= 2 {
            let rows = current[2..]
                .iter()
                .map(|row| {
                    // Split on pipes that are not escaped, keeping the character before each.
                    let inner = &row[1..row.len() - 1];
                    let mut cells = Vec::new();
                    let mut start = 0;
                    for m in cell_split.find_iter(inner) {
                        cells.push(markdown_text(&inner[start..m.start() + 1]));
                        start = m.end();
                    }
                    cells.push(markdown_text(&inner[start..]));
                    cells
                })
                .collect();
            tables.push(rows);
        }
        current.clear();
    }
    tables
}

/// Every `<table>` of an HTML document: its data rows (rows of only `<th>` left out).
fn html_tables(html: &str) -> Vec<Rows> {
    let table = regex::Regex::new(r"(?s)<table>(.*?)</table>").unwrap();
    let row = regex::Regex::new(r"(?s)<tr>(.*?)</tr>").unwrap();
    let cell = regex::Regex::new(r"(?s)<(t[hd])>(.*?)</t[hd]>").unwrap();
    let tag = regex::Regex::new(r"<[^>]+>").unwrap();
    let text =
        |html: &str| tag.replace_all(html, "").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&").trim().to_string();
    table
        .captures_iter(html)
        .map(|t| row.captures_iter(&t[1]).filter(|r| cell.captures_iter(&r[1]).any(|c| &c[1] == "td")).map(|r| cell.captures_iter(&r[1]).map(|c| text(&c[2])).collect()).collect())
        .collect()
}

#[test]
fn every_table_of_report_md_is_in_report_html_with_the_same_rows() {
    let runs = tempfile::tempdir().unwrap();
    for name in ["az-loss", "instance-termination", "dns-failover", "region-failover", "manual-region-failover", "zone-gray-failure"] {
        let run = example(name, &runs.path().join(name));
        let (markdown, html) = (read(&run, "report.md"), read(&run, "report.html"));
        let html_tables = html_tables(&html);
        let markdown_tables = markdown_tables(&markdown);
        assert!(markdown_tables.len() >= 8, "{name}: the parser found {} tables in report.md", markdown_tables.len());
        for rows in &markdown_tables {
            assert!(html_tables.contains(rows), "{name}: a table of report.md is not in report.html:\n{rows:#?}\nreport.html has:\n{html_tables:#?}");
        }
        assert!(html.contains("<h2>Expected against observed</h2>"), "{name}");
    }
}

#[test]
fn an_outage_that_never_recovered_is_not_shown_as_no_impact() {
    let runs = tempfile::tempdir().unwrap();
    let run = example("manual-region-failover", runs.path());
    assert_eq!(run.output.code, 5, "{}", run.output.stdout);
    let (markdown, html, junit) = (read(&run, "report.md"), read(&run, "report.html"), read(&run, "junit.xml"));
    // The API failed from T+5s to the end of the run (T+25m05s) and never recovered.
    assert!(
        markdown.contains("| API back after the team fails over | 1m20s | not recovered | not recovered (≥ 25m00s) | 15m00s |"),
        "the metrics say the outage lasted at least until the end:\n{markdown}"
    );
    // `stays_healthy`: its deadline is the fault's end, here when the guard aborted the run.
    assert!(markdown.contains("| standby keeps its capacity | — | no impact | no impact | 25m05s |"), "no impact is its own mark:\n{markdown}");
    assert!(markdown.contains("- **API back after the team fails over** (api): 25m00s down, 99.7% of probe samples failed, impact not recovered (≥ 25m00s)."), "{markdown}");
    assert!(markdown.contains("- **standby keeps its capacity** (standby-capacity): 0ms down, 0.0% of probe samples failed, no impact."), "{markdown}");
    assert!(html.contains("<td>not recovered (≥ 25m00s)</td>"), "{html}");
    assert!(junit.contains("detect 1m20s, recover not recovered, impact not recovered (≥ 25m00s), deadline 15m00s"), "{junit}");
    assert!(junit.contains("detect —, recover no impact, impact no impact, deadline 25m05s"), "{junit}");
}

#[test]
fn every_duration_in_the_reports_tables_has_one_format() {
    // `5m` (the scenario's spelling) and `5m00s` (a measurement) must not both appear.
    let scenario_spelling = regex::Regex::new(r"(^|[^0-9A-Za-z+.])[0-9]+(m|h|d)([^0-9a-z]|$)").unwrap();
    let runs = tempfile::tempdir().unwrap();
    for name in ["az-loss", "dns-failover", "manual-region-failover"] {
        let run = example(name, &runs.path().join(name));
        let markdown = read(&run, "report.md");
        let mut cells = 0;
        for rows in markdown_tables(&markdown) {
            for cell in rows.iter().flatten() {
                cells += 1;
                assert!(!scenario_spelling.is_match(cell), "{name}: a duration in another format: {cell}");
            }
        }
        assert!(cells > 50, "{name}: only {cells} cells checked");
    }
    let run = example("manual-region-failover", &runs.path().join("again"));
    assert!(
        read(&run, "report.md").contains("| API back after the team fails over | recover within 15m00s, then stay healthy, detected within 3m00s (probes: api;"),
        "{}",
        run.report
    );
}

#[test]
fn every_file_link_in_report_md_resolves_from_the_run_directory() {
    let runs = tempfile::tempdir().unwrap();
    let link = regex::Regex::new(r"\]\(([^)]+)\)").unwrap();
    for name in ["az-loss", "manual-region-failover"] {
        let run = example(name, &runs.path().join(name));
        let markdown = read(&run, "report.md");
        assert!(markdown.contains("| Runbook | ["), "{name}: the runbook is a link:\n{markdown}");
        let targets: Vec<String> = link.captures_iter(&markdown).map(|c| c[1].to_string()).filter(|t| !t.contains("://")).collect();
        assert!(!targets.is_empty(), "{name}: no link found");
        for target in targets {
            let file = run.dir.join(&target);
            assert!(file.is_file(), "{name}: the link ({target}) does not resolve from {}", run.dir.display());
        }
        // The copy is the runbook as it was when the game day ran.
        let original = std::fs::read_to_string(repo().join(format!("runbooks/{name}.md"))).unwrap();
        assert_eq!(read(&run, "runbook.md"), original, "{name}");
    }
}

/// A command's colours must not reach the reports: an ESC byte is not even
/// allowed in XML, so junit.xml would not parse.
#[test]
fn terminal_colours_in_a_commands_output_never_reach_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    let yaml = r#"apiVersion: gameday/v1
name: colours
guards:
  max_duration: 1m
steady_state:
  - name: ok
    kind: command
    run: 'printf "\033[32mfine\033[0m"'
    interval: 100ms
    timeout: 90ms
faults:
  - name: boom
    kind: command
    inject: 'printf "\033[31mred failure\033[0m\n" >&2; exit 1'
    revert: "true"
    duration: 1s
expected_recoveries:
  - name: back
    probes: [ok]
    recovers_within: 5s
"#;
    std::fs::write(&file, yaml).unwrap();
    // A shell command runs on this machine: the local environment.
    let run = run_scenario(&file, &["--env", "local", "--yes"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 6, "{}\n{}", run.output.stdout, run.output.stderr);
    assert!(run.output.stdout.contains("red failure"), "the run saw the colours: {}", run.output.stdout);
    for name in ["report.md", "report.html", "junit.xml"] {
        let text = read(&run, name);
        assert!(text.contains("red failure"), "{name} keeps the words");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{name} holds a control character:\n{text}");
    }
    let out = Command::new(xmllint()).arg("--noout").arg("--schema").arg(repo().join("tests/schemas/junit-10.xsd")).arg(run.dir.join("junit.xml")).output().expect("xmllint runs");
    assert!(out.status.success(), "junit.xml does not validate:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Every state the chart of report.html shows has an encoding besides its
/// colour: each lane state its own pattern (passing alone solid), named
/// with its look in the legend; deadlines dashed and labelled met or
/// missed; recovery points numbered diamonds; a text description.
#[test]
fn every_state_of_the_chart_reads_without_colour() {
    let runs = tempfile::tempdir().unwrap();
    let intended = example("dns-failover", runs.path());
    let flapping = flapping_gray_run(1, &runs.path().join("flapping"));
    let mut seen_states = std::collections::BTreeSet::new();
    let lane = regex::Regex::new(r#"<rect [^>]*fill="([^"]+)"><title>[^<:]+: (passing|failing|intended \(expected during the fault\)|no sample yet|mixed) "#).unwrap();
    let pattern = regex::Regex::new(r#"<pattern id="([^"]+)"[^>]*><rect [^>]*/>(<path|<circle|<line)"#).unwrap();
    let deadline_line = regex::Regex::new(r"<line [^>]*><title>deadline \d+:").unwrap();
    for (name, run) in runs_of_every_ending().iter().map(|(n, r)| (*n, r)).chain([("intended", &intended), ("flapping", &flapping)]) {
        let html = read(run, "report.html");
        let patterns: Vec<String> = pattern.captures_iter(&html).map(|c| c[1].to_string()).collect();
        // Each state drawn with one fill; no two states alike once colour is taken away.
        let mut fill_of: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
        for c in lane.captures_iter(&html) {
            fill_of.entry(c[2].to_string()).or_default().insert(c[1].to_string());
        }
        assert!(!fill_of.is_empty(), "{name}: no lane found");
        let mut looks = std::collections::BTreeSet::new();
        for (state, fills) in &fill_of {
            assert_eq!(fills.len(), 1, "{name}: {state} drawn with several fills: {fills:?}");
            let fill = fills.iter().next().unwrap();
            let look = match fill.strip_prefix("url(#").and_then(|f| f.strip_suffix(')')) {
                Some(id) => {
                    assert!(patterns.iter().any(|p| p == id), "{name}: {state}'s pattern {id} draws nothing over its colour");
                    id.to_string()
                }
                None => "solid".to_string(),
            };
            assert!(looks.insert(look.clone()), "{name}: {state} looks like another state without colour ({look})");
            seen_states.insert(state.clone());
        }
        assert!(fill_of.get("passing").is_none_or(|f| !f.iter().next().unwrap().starts_with("url(")), "{name}: passing is the solid one");
        for legend in ["passing (solid)", "failing (hatched)", "intended (expected during the fault) (dotted)", "no sample yet (lined)"] {
            assert!(html.contains(legend), "{name}: the legend lacks {legend}");
        }
        // Deadlines: dashed, and labelled with the verdict in words.
        let result = &run.result;
        let end = result["duration_ms"].as_u64().unwrap();
        let mut drawn = 0;
        for (i, e) in result["expectations"].as_array().unwrap().iter().enumerate() {
            if e["deadline"].as_u64().unwrap() <= end {
                let verdict = if e["met"].as_bool().unwrap() { "✔ met" } else { "✘ missed" };
                assert!(html.contains(&format!("deadline {} {verdict}</text>", i + 1)), "{name}: deadline {} is not labelled {verdict}", i + 1);
                drawn += 1;
            }
        }
        let deadline_lines: Vec<&str> = deadline_line.find_iter(&html).map(|m| m.as_str()).collect();
        assert_eq!(deadline_lines.len(), drawn, "{name}");
        assert!(deadline_lines.iter().all(|l| l.contains("stroke-dasharray=")), "{name}: deadlines are dashed: {deadline_lines:?}");
        assert!(html.contains("<desc>One lane per probe: solid while passing, hatched while failing"), "{name}: the chart describes itself");
        // Labels over the bars keep their contrast: a white halo under every text of the chart.
        assert!(html.contains("svg text{paint-order:stroke;stroke:#ffffff;stroke-width:3px"), "{name}: chart text has no halo");
    }
    for state in ["passing", "failing", "intended (expected during the fault)", "no sample yet", "mixed"] {
        assert!(seen_states.contains(state), "no run showed {state}: {seen_states:?}");
    }
    // The alarms gameday read have lanes of their own: ALARM and OK told apart without colour too.
    let held = &runs_of_every_ending()[0].1;
    let html = read(held, "report.html");
    let alarm_lane = regex::Regex::new(r#"<rect [^>]*fill="([^"]+)"><title>alarm web-unhealthy-hosts: (in ALARM|OK) T\+"#).unwrap();
    let fills: std::collections::BTreeSet<(String, String)> = alarm_lane.captures_iter(&html).map(|c| (c[2].to_string(), c[1].to_string())).collect();
    assert_eq!(
        fills.into_iter().collect::<Vec<_>>(),
        [("OK".to_string(), "#dfe3e7".to_string()), ("in ALARM".to_string(), "url(#state-alarm)".to_string())],
        "the alarm that detected az-loss is OK, then in ALARM (cross-hatched), then OK"
    );
    assert!(html.contains("text-anchor=\"end\">alarm web-5xx</text>") && html.contains("alarm in ALARM (cross-hatched)") && html.contains("alarm OK (plain)"), "{html}");
}

/// A simulator run whose `api` probe flaps for `hours`: a gray zone fails
/// every request its targets serve (a third of them), so about every other
/// sample changes state. The simulator is seeded, so the same flaps every time.
fn flapping_gray_run(hours: u32, runs: &Path) -> Run {
    let yaml = format!(
        "apiVersion: gameday/v1\nname: flapping-gray\nguards:\n  max_azs: 1\n  max_duration: 5h\nsteady_state:\n  - name: api\n    kind: http\n    url: https://api.example.com/health\n    interval: 1s\n    timeout: 500ms\nfaults:\n  - name: gray\n    kind: gray_failure\n    zone: us-east-1a\n    error_rate: 100\n    duration: {hours}h\nexpected_recoveries:\n  - name: back\n    probes: [api]\n    recovers_within: 10m\n"
    );
    std::fs::create_dir_all(runs).unwrap();
    let file = runs.join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let run = run_scenario(&file, &["--seed", "1"], &runs.join("runs"));
    assert!(run.dir.join("report.html").exists(), "{}\n{}", run.output.stdout, run.output.stderr);
    run
}

/// The chart of `report.html` draws a lane at the chart's resolution: a
/// stretch of one state narrower than a column (a unit of the 1000-wide
/// `viewBox`) is gathered with its neighbours into one *mixed* stretch whose
/// tooltip counts its samples, its state changes and the time in each state
/// (docs/reports.md, "report.html"). So a probe flapping 4 times as long
/// does not make a larger page: the lane draws at most a stretch per column,
/// and every sample and state change of the journal is counted in it.
#[test]
fn a_flapping_probes_chart_does_not_grow_with_its_flaps() {
    let dir = tempfile::tempdir().unwrap();
    let (short, long) = (flapping_gray_run(1, &dir.path().join("1h")), flapping_gray_run(4, &dir.path().join("4h")));
    let rect = regex::Regex::new(r#"<rect x="[^"]+" y="[^"]+" width="[^"]+" height="26" fill="([^"]+)"><title>api: (passing|failing|mixed) T\+[^<]* \((?:changed state (\d+) time\(s\) in )?(\d+) sample\(s\)"#).unwrap();
    let mut sizes = Vec::new();
    for run in [&short, &long] {
        // The probe's samples and state changes, from the journal.
        let oks: Vec<bool> = run.journal.iter().filter(|r| r["event"] == "sample").map(|r| r["ok"].as_bool().unwrap()).collect();
        let changes = oks.windows(2).filter(|w| w[0] != w[1]).count();
        let html = read(run, "report.html");
        let (mut drawn, mut samples, mut stretches, mut mixed) = (0, 0, 0, 0);
        for c in rect.captures_iter(&html) {
            drawn += 1;
            samples += c[4].parse::<usize>().unwrap();
            match c.get(3) {
                Some(within) => {
                    mixed += 1;
                    assert_eq!(&c[1], "url(#state-mixed)");
                    stretches += within.as_str().parse::<usize>().unwrap() + 1;
                }
                None => stretches += 1,
            }
        }
        let columns = 1000 - 190 - 20;
        assert!(changes > 2 * columns, "the probe changed state only {changes} times: too few to merge");
        assert!(mixed > 0 && drawn <= columns + 1, "{drawn} stretches drawn ({mixed} mixed) for {changes} state changes over {columns} columns");
        assert_eq!(samples, oks.len(), "every sample is counted in the lane");
        assert_eq!(stretches - 1, changes, "every state change is counted in the lane");
        assert!(html.contains("mixed (state changes narrower than a column) (striped)"), "the legend names the mixed look");
        sizes.push((html.len(), changes));
    }
    let ((short_size, short_changes), (long_size, long_changes)) = (sizes[0], sizes[1]);
    assert!(long_changes > 3 * short_changes, "{long_changes} against {short_changes} state changes");
    // Longer times and counts in the tooltips and the counting rows, and fewer stretches a column wide alone in the
    // shorter run: a few bytes more a column, not a stretch more a change (drawn one a change, the page grew 4-fold).
    assert!(long_size < short_size + short_size / 4, "report.html: {long_size} bytes for {long_changes} changes against {short_size} for {short_changes}");
}

/// A probe that flaps from a fault's start (a command probe that fails every
/// other time) changes state on almost every sample. The timeline lists its
/// first 20 changes, counts the ones after them in one row citing their
/// journal lines, and lists its last change: every change counted, the rows
/// bounded (docs/reports.md, "Timeline"); the phase table does the same with
/// its impact windows past 10. Counts are read from the journal, not assumed
/// from timing.
///
/// How many samples a span of time holds depends on how fast the machine
/// starts the probe's shell (CI once saw 6 state changes in 2 s), so the
/// flapping is counted, not timed: it starts when the fault's flag appears
/// and lasts `FLIPS` samples, past the fault's revert if need be; the run
/// then waits for the probe's recovery (3 passes in a row), which only
/// comes once the flapping is over.
#[test]
fn a_flapping_probe_is_counted_in_one_row_of_the_timeline_and_the_phase_table() {
    const FLIPS: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let (flag, began, flips, toggle) = (dir.path().join("flag"), dir.path().join("began"), dir.path().join("flips"), dir.path().join("toggle"));
    let probe = dir.path().join("flappy.sh");
    std::fs::write(
        &probe,
        format!(
            "if [ -e {flag} ]; then touch {began}; fi\n\
             if [ -e {began} ] && [ \"$(cat {flips} 2>/dev/null | wc -l)\" -lt {FLIPS} ]; then\n\
             \x20 echo >> {flips}\n\
             \x20 if [ -e {toggle} ]; then rm {toggle}; echo down; exit 1; fi\n\
             \x20 touch {toggle}\n\
             fi\n\
             echo up\n",
            flag = flag.display(),
            began = began.display(),
            flips = flips.display(),
            toggle = toggle.display()
        ),
    )
    .unwrap();
    let yaml = format!(
        r#"apiVersion: gameday/v1
name: flapping
guards:
  max_duration: 2m
steady_state:
  - name: flappy
    kind: command
    run: 'sh {probe}'
    interval: 50ms
    timeout: 50ms
faults:
  - name: flap
    kind: command
    inject: 'touch {flag}'
    revert: 'rm -f {flag}'
    duration: 100ms
expected_recoveries:
  - name: back
    probes: [flappy]
    recovers_within: 1m
"#,
        flag = flag.display(),
        probe = probe.display()
    );
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let run = run_scenario(&file, &["--env", "local", "--yes"], &dir.path().join("runs"));
    assert!(run.dir.join("report.md").exists(), "{}\n{}", run.output.stdout, run.output.stderr);

    // Every state change of the probe, with its 1-based journal line, from the journal itself.
    let mut changes: Vec<(usize, bool)> = Vec::new();
    let mut ok: Option<bool> = None;
    for (index, record) in run.journal.iter().enumerate() {
        if record["event"] != "sample" {
            continue;
        }
        let now = record["ok"].as_bool().unwrap();
        if ok != Some(now) && !(ok.is_none() && now) {
            changes.push((index + 1, now));
        }
        ok = Some(now);
    }
    let cap = 20;
    // A sample that times out fails instead of passing, so it may merge two changes; a few may, not most.
    assert!(changes.len() > cap + 2, "the probe changed state only {} times in {FLIPS} flapping samples: too few to fold", changes.len());

    let markdown = read(&run, "report.md");
    let timeline = &markdown[markdown.find("## Timeline").unwrap()..markdown.find("## Faults").unwrap()];
    let rows: Vec<&str> = timeline.lines().filter(|l| l.contains("Probe `flappy`")).collect();
    assert_eq!(rows.len(), cap + 2, "20 changes listed, one row counting the rest, the last change:\n{timeline}");
    for (row, (line, _)) in rows.iter().take(cap).zip(&changes) {
        assert!(row.ends_with(&format!("| journal line {line} |")), "{row}");
    }
    let folded = &changes[cap..changes.len() - 1];
    let failing = folded.iter().filter(|(_, ok)| !ok).count();
    let counted = rows.iter().find(|r| r.contains("flapping:")).unwrap_or_else(|| panic!("no row counts the folded changes:\n{timeline}"));
    assert!(counted.contains(&format!("flapping: {} more state changes ({failing} failing, {} passing again)", folded.len(), folded.len() - failing)), "{counted}");
    assert!(counted.ends_with(&format!("| journal lines {}–{} |", folded[0].0, folded[folded.len() - 1].0)), "{counted}");
    let (last_line, last_ok) = changes[changes.len() - 1];
    let last = rows.iter().find(|r| r.ends_with(&format!("| journal line {last_line} |"))).unwrap_or_else(|| panic!("the last change is not listed:\n{timeline}"));
    assert!(last.contains(if last_ok { "passing again" } else { "failing" }), "{last}");

    // The phase table: the probe's first 10 impact windows listed, the rest but the last counted in one row
    // with their summed length, the last listed. A window runs from a failing sample sent after injection
    // started to the first passing one after it (docs/metrics.md, docs/reports.md).
    let from = run.result["injection_started_at"].as_u64().unwrap();
    let mut windows: Vec<(u64, usize, u64, usize)> = Vec::new();
    let mut open: Option<(u64, usize)> = None;
    for (index, record) in run.journal.iter().enumerate() {
        if record["event"] != "sample" || record["sent_at"].as_u64().unwrap() < from {
            continue;
        }
        let sent = record["sent_at"].as_u64().unwrap();
        match (open, record["ok"].as_bool().unwrap()) {
            (None, false) => open = Some((sent, index + 1)),
            (Some((start, line)), true) => {
                windows.push((start, line, sent, index + 1));
                open = None;
            }
            _ => {}
        }
    }
    assert!(open.is_none() && windows.len() > 12, "{} windows", windows.len());
    let phases = &markdown[markdown.find("## Phase times").unwrap()..markdown.find("## Metrics").unwrap()];
    let impact: Vec<&str> = phases.lines().filter(|l| l.starts_with("| Impact |")).collect();
    assert_eq!(impact.len(), 12, "10 windows listed, one row counting the rest, the last window:\n{phases}");
    let of = windows.len();
    assert!(impact[9].contains(&format!("(window 10 of {of})")), "{}", impact[9]);
    assert!(impact[11].contains(&format!("(window {of} of {of})")), "{}", impact[11]);
    let folded = &windows[10..of - 1];
    let total: u64 = folded.iter().map(|(start, _, end, _)| end - start).sum();
    assert!(impact[10].contains(&format!("`flappy` failing in {} more windows starting from ", folded.len())), "{}", impact[10]);
    assert!(impact[10].contains(&format!("(windows 11–{} of {of})", of - 1)), "{}", impact[10]);
    assert!(impact[10].ends_with(&format!("| journal lines {}–{} |", folded[0].1, folded[folded.len() - 1].3)), "{}", impact[10]);
    assert!(impact[10].contains(&format!("), {} in all: counted here", gameday::vocab::fmt_ms(total))), "{} (in all {total} ms)", impact[10]);

    // The same rows in report.html.
    let html_tables = html_tables(&read(&run, "report.html"));
    for rows in markdown_tables(&markdown) {
        assert!(html_tables.contains(&rows), "a table of report.md is not in report.html:\n{rows:#?}");
    }
}
