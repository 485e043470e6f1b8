//! The report files of a run directory, and the commands that read run
//! directories: `report` (render again from the journal), `history` and
//! `due`. The rendering and the statistics are in the library (`report`,
//! `history`); this file reads and writes files and picks exit codes.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::failure::{self, Done, Ended, Failure};
use crate::history;
use crate::report;
use crate::run::journal::{self, JournalRecords, Records};
use crate::run::{RunResult, result};
use crate::scenario::objectives::{OBJECTIVES_COPY, Objectives};
use crate::scenario::{self, LoadError, LoadedScenario, Scenario};

/// The copy of the scenario in a run directory, read by `gameday report`.
pub const SCENARIO_COPY: &str = "scenario.yaml";

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// report.md, the learning report.
    Md,
    /// report.html, self-contained, with the timeline chart.
    Html,
    /// result.json, the measurements.
    Json,
    /// junit.xml, for CI.
    Junit,
    /// A one-page summary for stakeholders, in Markdown.
    Summary,
    /// The one-page summary as HTML, with a print stylesheet.
    SummaryHtml,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run directory (as written by `gameday run`).
    #[arg(value_name = "RUN_DIR")]
    run_dir: PathBuf,
    /// Print one format on stdout instead of rewriting the run directory's files.
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "upload")]
    format: Option<Format>,
    #[command(flatten)]
    upload: super::upload::UploadArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HistoryFormat {
    /// Text for the terminal.
    Text,
    /// One self-contained HTML page, with a plot of each expectation's recovery times.
    Html,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// A scenario name, or a scenario file; default: every scenario with runs.
    #[arg(value_name = "SCENARIO")]
    scenario: Option<String>,
    /// Where the run directories are [default: runs]. A directory named
    /// here must exist; the default may not yet (no game day has run).
    #[arg(long, value_name = "DIR")]
    runs_dir: Option<PathBuf>,
    /// How to print the history.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    format: HistoryFormat,
    /// Where the scenario files are (for their cadence).
    #[arg(long, value_name = "DIR", default_value = "scenarios")]
    scenarios: PathBuf,
}

#[derive(Args, Debug)]
pub struct DueArgs {
    /// Where the scenario files are.
    #[arg(long, value_name = "DIR", default_value = "scenarios")]
    scenarios: PathBuf,
    /// Where the run directories are [default: runs]. A directory named
    /// here must exist; the default may not yet (no game day has run).
    #[arg(long, value_name = "DIR")]
    runs_dir: Option<PathBuf>,
    /// Judge as of this time instead of now: RFC 3339 (2027-01-31T09:00:00Z)
    /// or a date (2027-01-31, meaning its start in UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_at)]
    at: Option<jiff::Timestamp>,
    /// Print only the overdue scenario files, one per line (for scripts).
    #[arg(long)]
    paths: bool,
}

/// Keeps the scenario as it was run, so the run directory alone can be
/// rendered again; literal secrets in probe headers are written as `<redacted>`.
/// Keeps its runbook too, so the report's runbook link works from the run
/// directory (the scenario's path to it is relative to the scenario's file)
/// and shows the runbook the team had on the day. A runbook that cannot be
/// copied is a warning: the report then names it without a link.
/// Keeps the objectives file too, so the run is judged again against the
/// targets it was run with, whatever the shared file says later.
pub fn write_scenario_copy(run_dir: &Path, loaded: &LoadedScenario) -> std::io::Result<()> {
    std::fs::write(run_dir.join(SCENARIO_COPY), scenario::redact::redact_source(&loaded.source))?;
    if let Some(objectives) = &loaded.objectives_source {
        std::fs::write(run_dir.join(OBJECTIVES_COPY), objectives)
            .map_err(|error| std::io::Error::new(error.kind(), format!("writing the copy of the objectives file, {OBJECTIVES_COPY}: {error}")))?;
    }
    if let (Some(name), Some(path)) = (loaded.scenario.runbook.as_deref(), loaded.runbook_path()) {
        let copy = run_dir.join(runbook_copy_name(name));
        if let Err(error) = std::fs::copy(&path, &copy) {
            eprintln!("warning: could not copy the runbook {} to {}: {error}; the report names it without a link", path.display(), copy.display());
        }
    }
    Ok(())
}

/// The runbook's copy in a run directory: `runbook` with the runbook's own extension.
fn runbook_copy_name(runbook: &str) -> String {
    match Path::new(runbook).extension() {
        Some(extension) => format!("runbook.{}", extension.to_string_lossy()),
        None => "runbook".to_string(),
    }
}

/// The scenario's runbook as the reports of `run_dir` name and link it.
fn runbook_ref(run_dir: &Path, scenario: &Scenario) -> Option<report::RunbookRef> {
    let name = scenario.runbook.clone()?;
    let copy = runbook_copy_name(&name);
    let copy = run_dir.join(&copy).is_file().then_some(copy);
    Some(report::RunbookRef { name, copy })
}

/// Writes report.md, report.html, junit.xml and result.json into the run
/// directory, keeping what people wrote in an existing report.md.
/// Returns false when a file could not be written.
pub fn write_reports(run_dir: &Path, scenario: &Scenario, result: &RunResult, records: Records<'_>) -> bool {
    let previous = std::fs::read_to_string(run_dir.join("report.md")).ok();
    let prediction = super::twin::read_prediction(run_dir);
    let rendered = report::render_all(scenario, result, records, runbook_ref(run_dir, scenario), previous.as_deref(), prediction.as_ref());
    let report_path = run_dir.join("report.md");
    if let Some(previous) = &previous
        && !rendered.missing_sections.is_empty()
    {
        let backup = run_dir.join("report.md.bak");
        eprintln!(
            "warning: {} has no markers for {}; that text is not carried over (the old file is kept as {})",
            report_path.display(),
            rendered.missing_sections.join(", "),
            backup.display()
        );
        let _ = std::fs::write(&backup, previous);
    }
    for flag in &rendered.flags {
        eprintln!("note: {}: “{}” in {}: {}", report_path.display(), flag.phrase, flag.section, flag.advice);
    }
    if let (Some(written), Some(previous)) = (&rendered.postmortem.status_problem, &previous) {
        // Where the cell is, so an editor jumps to it.
        let at = crate::report::human::status_cell_at(previous).map(|(line, column)| format!(":{line}:{column}")).unwrap_or_default();
        eprintln!(
            "warning: {}{at}: the postmortem's Status is “{written}”, which is neither `draft` nor `final`; it is read as a draft\n  = hint: write `final` once the debrief agrees on the report, else `draft`",
            report_path.display()
        );
    }
    let mut ok = true;
    for (name, bytes) in &rendered.files {
        if let Err(error) = std::fs::write(run_dir.join(name), bytes) {
            eprintln!("error: could not write {}: {error}", run_dir.join(name).display());
            ok = false;
        }
    }
    ok
}

/// The scenario a run directory kept, with the objectives it kept, as the
/// run was judged. No file-system checks: the copy's paths (runbook,
/// objectives) are relative to where the scenario was, not the run directory.
pub(super) fn run_scenario(run_dir: &Path) -> Result<Scenario, Failure> {
    let path = run_dir.join(SCENARIO_COPY);
    let text = std::fs::read_to_string(&path).map_err(|error| {
        Failure::Unreadable(format!("could not read {}: {error}\n  = hint: runs made before gameday kept a copy of their scenario cannot be rendered again", path.display()))
    })?;
    let kept = run_dir.join(OBJECTIVES_COPY);
    let objectives = match kept.is_file() {
        true => Some(Objectives::load(&kept).map_err(Failure::Invalid)?),
        false => None,
    };
    scenario::parse_run_copy(&text, objectives.as_ref()).map_err(|problems| Failure::Scenario(LoadError::Invalid { path: path.clone(), text: text.clone(), problems }))
}

/// `gameday report RUN_DIR`: renders again from the journal and the scenario copy.
/// A run directory read back: its scenario copy, its journal, and the
/// result computed from them (as `gameday run` computed it).
pub(super) fn load_run(run_dir: &Path) -> Result<(Scenario, JournalRecords, RunResult), Failure> {
    let scenario = run_scenario(run_dir)?;
    let journal_path = run_dir.join("journal.jsonl");
    // Read as a stream, each time a part of the result or a report needs it: never held whole (issue 18).
    let (records, damage) = journal::open_records(&journal_path).map_err(|error| Failure::Unreadable(format!("could not read {}: {error}", journal_path.display())))?;
    if let Some(damage) = damage.first() {
        return Err(Failure::Unreadable(format!(
            "could not read {}: {}\n  = hint: the journal was damaged or edited; `gameday status` says what it may leave in place",
            journal_path.display(),
            damage
        )));
    }
    if let Some(impossible) = result::impossible_time(records.view()) {
        let line = format!("line {}", records.view().line_of(impossible.index));
        return Err(Failure::Unreadable(format!(
            "{} {line}: {impossible}\n  = hint: the journal was damaged or edited; correct or delete that line, then run `gameday report` again",
            journal_path.display()
        )));
    }
    let result = result::result_from_journal(&scenario, records.view());
    Ok((scenario, records, result))
}

pub fn report_command(args: &ReportArgs) -> Ended {
    let (scenario, records, result) = load_run(&args.run_dir)?;
    let ended = render_command(args, &scenario, &result, records.view());
    if args.upload.upload.is_none() || !failure::succeeded(&ended) {
        return ended;
    }
    super::with_runtime(async {
        match args.upload.prepare().await? {
            Some(upload) => upload.send(&args.run_dir, &scenario.name, result.outcome.kind(), ended).await,
            None => ended,
        }
    })
}

fn render_command(args: &ReportArgs, scenario: &Scenario, result: &RunResult, records: Records<'_>) -> Ended {
    match args.format {
        Some(format) => {
            let previous = std::fs::read_to_string(args.run_dir.join("report.md")).ok();
            let prediction = super::twin::read_prediction(&args.run_dir);
            let rendered = report::render_all(scenario, result, records, runbook_ref(&args.run_dir, scenario), previous.as_deref(), prediction.as_ref());
            let file = |name: &str| rendered.files.iter().find(|(n, _)| *n == name).map_or("", |(_, text)| text.as_str());
            let text = match format {
                Format::Md => file("report.md"),
                Format::Html => file("report.html"),
                Format::Json => file("result.json"),
                Format::Junit => file("junit.xml"),
                Format::Summary => rendered.summary[0].as_str(),
                Format::SummaryHtml => rendered.summary[1].as_str(),
            };
            print!("{text}");
            Ok(Done::Success)
        }
        None => {
            if !write_reports(&args.run_dir, scenario, result, records) {
                // Each file that could not be written was named as it failed.
                return Err(Failure::Reported(Box::new(Failure::Unreadable("the reports could not all be written".into()))));
            }
            println!("{}", result.outcome.summary());
            println!("rendered again: {}", ["report.md", "report.html", "junit.xml", "result.json"].map(|n| args.run_dir.join(n).display().to_string()).join(", "));
            Ok(Done::Success)
        }
    }
}

/// Every scenario file in a directory (`.yaml`/`.yml`), sorted; invalid ones are reported and skipped.
fn scenarios_in(dir: &Path) -> Result<Vec<(PathBuf, Scenario)>, Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| Failure::Unreadable(format!("could not read the scenarios directory {}: {error}\n  = hint: pass --scenarios DIR", dir.display())))?;
    let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml")).collect();
    files.sort();
    let mut scenarios = Vec::new();
    for file in files {
        match scenario::load_file(&file) {
            Ok(loaded) => scenarios.push((file, loaded.scenario)),
            Err(error) => eprintln!("warning: skipping {}: {error}", file.display()),
        }
    }
    Ok(scenarios)
}

fn scan(runs_dir: &Path) -> Result<Vec<history::PastRun>, Failure> {
    match history::scan(runs_dir) {
        Ok((mut runs, skipped)) => {
            for dir in skipped {
                tracing::debug!("skipping {}: no result.json or journal", dir.display());
            }
            // A run made with `--predict` kept its twin's prediction: history tracks how far off it was.
            for run in &mut runs {
                if let Some(prediction) = super::twin::read_prediction(&run.dir) {
                    run.twin_errors = prediction.errors(&run.result);
                }
            }
            Ok(runs)
        }
        Err(error) => Err(Failure::Unreadable(format!("could not read the runs directory {}: {error}", runs_dir.display()))),
    }
}

/// The runs directory: one named on the command line must exist (a typo is
/// an error, not "never run"); the default `runs` may not exist yet.
fn runs_dir(named: Option<&PathBuf>) -> Result<PathBuf, Failure> {
    match named {
        Some(dir) if !dir.is_dir() => {
            Err(Failure::Unreadable(format!("the runs directory {} does not exist\n  = hint: check the path; without --runs-dir, `runs` is read", dir.display())))
        }
        Some(dir) => Ok(dir.clone()),
        None => Ok(PathBuf::from("runs")),
    }
}

/// `gameday history [SCENARIO]`.
pub fn history_command(args: &HistoryArgs) -> Ended {
    let runs_dir = runs_dir(args.runs_dir.as_ref())?;
    let runs = scan(&runs_dir)?;
    let mut scenarios = if args.scenarios.is_dir() { scenarios_in(&args.scenarios).unwrap_or_default() } else { Vec::new() };
    // SCENARIO may be a file: its name selects the runs, and its cadence counts.
    let wanted: Option<String> = match &args.scenario {
        Some(arg) if Path::new(arg).is_file() => match scenario::load_file(Path::new(arg)) {
            Ok(loaded) => {
                let name = loaded.scenario.name.clone();
                scenarios.retain(|(_, s)| s.name != name);
                scenarios.push((PathBuf::from(arg), loaded.scenario));
                Some(name)
            }
            Err(error) => return Err(Failure::Scenario(error)),
        },
        other => other.clone(),
    };
    let runs: Vec<history::PastRun> = runs.into_iter().filter(|r| wanted.as_ref().is_none_or(|w| r.result.scenario == *w)).collect();
    // A scenario not in the scenarios directory: the copy kept by its latest run says its cadence.
    for run in runs.iter().rev() {
        if !scenarios.iter().any(|(_, s)| s.name == run.result.scenario)
            && let Ok(scenario) = run_scenario(&run.dir)
        {
            scenarios.push((run.dir.join(SCENARIO_COPY), scenario));
        }
    }
    scenarios.retain(|(_, s)| wanted.as_ref().is_none_or(|w| s.name == *w));
    let histories = history::summarize(&runs);
    let due = history::due(&scenarios, &runs, jiff::Timestamp::now());
    if histories.is_empty() && due.is_empty() {
        match &wanted {
            Some(name) => eprintln!("no runs of `{name}` in {}", runs_dir.display()),
            None => eprintln!("no runs in {}", runs_dir.display()),
        }
        return Ok(Done::Success);
    }
    match args.format {
        HistoryFormat::Text => print!("{}", report::history::render_history(&histories, &due)),
        HistoryFormat::Html => print!("{}", report::history::render_history_html(&histories, &due)),
    }
    Ok(Done::Success)
}

/// `--at`: a timestamp, or a date meaning its first moment in UTC.
fn parse_at(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse::<jiff::Timestamp>().or_else(|stamp_error| {
        let date: jiff::civil::Date = text.parse().map_err(|_| format!("{stamp_error}; expected e.g. 2027-01-31T09:00:00Z or 2027-01-31"))?;
        jiff::tz::TimeZone::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight())).map_err(|e| e.to_string())
    })
}

/// `gameday due`: exits `SCENARIOS_OVERDUE` when any scenario is overdue, for cron and CI.
pub fn due_command(args: &DueArgs) -> Ended {
    let scenarios = scenarios_in(&args.scenarios)?;
    let runs_dir = runs_dir(args.runs_dir.as_ref())?;
    let runs = scan(&runs_dir)?;
    let now = args.at.unwrap_or_else(jiff::Timestamp::now);
    let due = history::due(&scenarios, &runs, now);
    if args.paths {
        for d in due.iter().filter(|d| d.overdue) {
            println!("{}", d.file.display());
        }
    } else {
        print!("{}", report::history::render_due(&due, now));
    }
    Ok(if due.iter().any(|d| d.overdue) { Done::Overdue } else { Done::Success })
}
