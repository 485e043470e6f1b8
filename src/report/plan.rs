//! `gameday plan`'s text: the guards' verdicts, each fault's targets and
//! what it maps to on AWS, and the run's refusal if any. Pure: the plan is
//! made by `run::plan` (which reads the environment); this only renders it.
//! FIS's own preview of its targets is a call to AWS: the CLI makes it, and
//! `fis_previews_text` renders what it got.

use crate::environment::EnvError;
use crate::run::metrics::fmt_ms;
use crate::run::plan::{self, Plan};
use crate::scenario::{self, LoadedScenario};

/// What `gameday plan` prints for `plan`, made from `loaded` with `seed`;
/// `run_command` is the command line that would run what it shows.
pub fn plan_text(loaded: &LoadedScenario, plan: &Plan, seed: u64, run_command: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let scenario = &loaded.scenario;
    let _ = writeln!(
        out,
        "Plan for `{}` on {} (account {}, seed {seed}){}",
        scenario.name,
        plan.identity.environment,
        plan.identity.account,
        if plan.identity.simulated { " — simulated, nothing real is touched" } else { "" }
    );
    let mark = |v: &crate::guard::Verdict| {
        if v.passed {
            "ok  "
        } else if v.enforced {
            "FAIL"
        } else {
            "note"
        }
    };
    for v in &plan.verdicts {
        let _ = writeln!(out, "  [{}] {}: {}{}", mark(v), v.guard, v.detail, if v.enforced { "" } else { " (not enforced on the simulator)" });
    }
    for fault in &plan.faults {
        let _ = writeln!(
            out,
            "\nFault `{}` ({}) at T+{}{}",
            fault.name,
            fault.kind,
            fmt_ms(fault.starts_at),
            if fault.holds_for > 0 { format!(", held {}", fmt_ms(fault.holds_for)) } else { ", at once (cannot be undone)".into() }
        );
        if !fault.regions.is_empty() {
            let _ = writeln!(out, "  regions: {}", fault.regions.join(", "));
        }
        if !fault.zones.is_empty() {
            let _ = writeln!(out, "  zones:   {}", fault.zones.join(", "));
        }
        for resource in &fault.other_resources {
            let _ = writeln!(out, "  touches: {resource}");
        }
        // A gray failure is modelled on the simulator; what it maps to on AWS is said beside it.
        if plan.identity.simulated
            && let Some(gray) = scenario.faults.iter().find(|f| f.name == fault.name && matches!(f.action, scenario::FaultAction::GrayFailure { .. }))
        {
            let _ = match crate::environment::aws::fis::gray_failure_document(gray) {
                // FIS's "Cross-AZ Traffic Slowdown": the simulator models no flow between zones, so it says what it runs instead.
                Ok(document) if document.by_sources() => writeln!(
                    out,
                    "  on AWS: FIS aws:ssm:send-command of {document} on the zone's instances, for their traffic to other zones only (Cross-AZ Traffic Slowdown; the simulator impairs every request served from the zone) (docs/aws.md)"
                ),
                Ok(document) => writeln!(out, "  on AWS: FIS aws:ssm:send-command of {document} on the zone's instances (docs/aws.md)"),
                Err(why) => writeln!(out, "  on AWS: refused: {why}"),
            };
        }
        if plan.identity.simulated
            && let Some(scenario::FaultAction::RegionOutage { region, .. }) = scenario.faults.iter().find(|f| f.name == fault.name).map(|f| &f.action)
        {
            let _ = writeln!(out, "  on AWS: FIS {} cuts the environment Region's subnets off from {region} (docs/aws.md)", crate::environment::aws::fis::REGION_ISOLATION_ACTION);
        }
        let s = &fault.selection;
        if s.matched > 0 || !s.chosen.is_empty() {
            let _ = writeln!(out, "  targets: {} chosen of {} matched", s.chosen.len(), s.matched);
            if fault.starts_at > 0 {
                // The run judges each fault again when it is due (`run::plan::resolve_fault`): what is chosen here is what the account holds now.
                let _ = writeln!(out, "  (as things stand now: the run chooses again, by the same guards, when the fault starts, after what the faults before it changed)");
            }
            for c in &s.chosen {
                let _ = writeln!(out, "    - {} {} {}", c.id, c.zone, c.group.as_deref().unwrap_or("(no group)"));
            }
            for (id, why) in &s.excluded {
                let _ = writeln!(out, "    x {id}: {why}");
            }
        }
        for v in &s.verdicts {
            let _ = writeln!(out, "  [{}] {}: {}", mark(v), v.guard, v.detail);
        }
    }
    let _ = writeln!(out);
    match plan.refusal() {
        None => {
            let _ = writeln!(out, "The guards allow this run. `{run_command}` would do the above.");
        }
        Some(plan::Refusal::Guard { guard, detail, fault }) => {
            let _ = writeln!(out, "REFUSED by guard {guard}{}: {detail}", fault.map(|f| format!(" (fault `{f}`)")).unwrap_or_default());
        }
        Some(plan::Refusal::NoTargets { fault, detail }) => {
            let _ = writeln!(out, "REFUSED: fault `{fault}` would not take effect: {detail}");
        }
    }
    out
}

/// FIS's own view of one fault's targets, from a dry run
/// (`actionsMode=skip-all`), or why it could not be had.
#[derive(Debug)]
pub struct FisPreview {
    pub fault: String,
    pub targets: Result<Vec<String>, EnvError>,
}

/// What `gameday plan` prints under the plan for the faults FIS will make:
/// FIS's targets beside gameday's.
pub fn fis_previews_text(previews: &[FisPreview]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for preview in previews {
        let _ = writeln!(out, "FIS preview of `{}` (dry run, actionsMode=skip-all):", preview.fault);
        match &preview.targets {
            Ok(targets) if targets.is_empty() => {
                let _ = writeln!(out, "  FIS resolved no targets");
            }
            Ok(targets) => {
                for target in targets {
                    let _ = writeln!(out, "  - {target}");
                }
            }
            Err(error) => {
                let _ = writeln!(out, "  could not preview: {error}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fis_preview_lists_fiss_targets_none_or_why_not() {
        let previews = [
            FisPreview { fault: "a".into(), targets: Ok(vec!["arn:aws:ec2:us-east-1:1:instance/i-1".into()]) },
            FisPreview { fault: "b".into(), targets: Ok(vec![]) },
            FisPreview { fault: "c".into(), targets: Err(EnvError::Failed("no role".into())) },
        ];
        assert_eq!(
            fis_previews_text(&previews),
            "FIS preview of `a` (dry run, actionsMode=skip-all):\n  - arn:aws:ec2:us-east-1:1:instance/i-1\n\
             FIS preview of `b` (dry run, actionsMode=skip-all):\n  FIS resolved no targets\n\
             FIS preview of `c` (dry run, actionsMode=skip-all):\n  could not preview: no role\n"
        );
        assert_eq!(fis_previews_text(&[]), "", "nothing under a plan FIS makes no fault of");
    }
}
