//! The twin end to end: a fixture account in moto, `gameday sim import`,
//! then the imported topology run and predicted on by the binary.

use std::path::{Path, PathBuf};

use aws_sdk_route53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType, ResourceRecordSet, ResourceRecordSetFailover, RrType};
use gameday::environment::sim::Topology;
use gameday::environment::sim::topology::{HealthCheckType as SimHealthCheckType, RequestInterval};
use gameday::scenario::Duration;

use crate::fleet::Fleet;
use crate::moto::Moto;
use crate::safety::{command, output};

/// The fleet's account, made to look like a production service: the group
/// behind an application load balancer with ELB health checks and a 90 s
/// grace period, a standby load balancer, and `app.example.com` failing
/// over between them on fast health checks. The fleet's own
/// `api.example.com` points at IP addresses, which the twin cannot route.
async fn production_like(moto: &Moto) -> Fleet {
    let config = moto.config().await;
    let fleet = Fleet::build(&config, 6).await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let autoscaling = aws_sdk_autoscaling::Client::new(&config);
    let route53 = aws_sdk_route53::Client::new(&config);
    use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum, TargetGroupAttribute};

    let lbs = elb.describe_load_balancers().names("web-alb").send().await.unwrap();
    let web_alb = lbs.load_balancers()[0].clone();
    let vpc = web_alb.vpc_id().unwrap().to_string();
    let tgs = elb.describe_target_groups().names("web-tg").send().await.unwrap();
    let web_tg = tgs.target_groups()[0].target_group_arn().unwrap().to_string();
    elb.modify_target_group().target_group_arn(&web_tg).health_check_interval_seconds(10).healthy_threshold_count(3).unhealthy_threshold_count(2).send().await.unwrap();
    elb.modify_target_group_attributes()
        .target_group_arn(&web_tg)
        .attributes(TargetGroupAttribute::builder().key("deregistration_delay.timeout_seconds").value("120").build())
        .send()
        .await
        .unwrap();
    let forward = |tg: &str| Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(tg).build();
    elb.create_listener().load_balancer_arn(web_alb.load_balancer_arn().unwrap()).protocol(ProtocolEnum::Http).port(80).default_actions(forward(&web_tg)).send().await.unwrap();
    autoscaling.attach_load_balancer_target_groups().auto_scaling_group_name("web-asg").target_group_arns(&web_tg).send().await.unwrap();
    autoscaling.update_auto_scaling_group().auto_scaling_group_name("web-asg").health_check_type("ELB").health_check_grace_period(90).send().await.unwrap();

    let dr = elb.create_load_balancer().name("web-dr-alb").set_subnets(Some(fleet.subnets.values().cloned().collect())).send().await.unwrap();
    let dr_alb = dr.load_balancers()[0].clone();
    let dr_tg = elb.create_target_group().name("web-dr-tg").protocol(ProtocolEnum::Http).port(80).vpc_id(&vpc).send().await.unwrap();
    let dr_tg = dr_tg.target_groups()[0].target_group_arn().unwrap().to_string();
    elb.create_listener().load_balancer_arn(dr_alb.load_balancer_arn().unwrap()).protocol(ProtocolEnum::Http).port(80).default_actions(forward(&dr_tg)).send().await.unwrap();

    let zones = route53.list_hosted_zones().send().await.unwrap();
    let zone_id = zones.hosted_zones()[0].id().to_string();
    let mut batch = ChangeBatch::builder();
    for (side, lb, reference) in [(ResourceRecordSetFailover::Primary, &web_alb, "app-primary"), (ResourceRecordSetFailover::Secondary, &dr_alb, "app-secondary")] {
        let check = route53
            .create_health_check()
            .caller_reference(reference)
            .health_check_config(
                HealthCheckConfig::builder()
                    .r#type(HealthCheckType::Https)
                    .fully_qualified_domain_name(lb.dns_name().unwrap())
                    .port(443)
                    .resource_path("/health")
                    .request_interval(10)
                    .failure_threshold(2)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let alias = AliasTarget::builder()
            .hosted_zone_id(lb.canonical_hosted_zone_id().unwrap_or("Z35SXDOTRQ7X7K"))
            .dns_name(lb.dns_name().unwrap())
            .evaluate_target_health(false)
            .build()
            .unwrap();
        batch = batch.changes(
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(
                    ResourceRecordSet::builder()
                        .name("app.example.com")
                        .r#type(RrType::A)
                        .set_identifier(side.as_str())
                        .failover(side)
                        .health_check_id(check.health_check().unwrap().id())
                        .alias_target(alias)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        );
    }
    route53.change_resource_record_sets().hosted_zone_id(&zone_id).change_batch(batch.build().unwrap()).send().await.unwrap();
    fleet
}

fn import(moto: &Moto, dir: &Path) -> (i32, String, String) {
    let project = moto.project_with(dir, &moto.account, "");
    let topology = dir.join("imported.yaml");
    output(command(&dir.join("state"), &["sim", "import", "--env", "moto", "--project", project.to_str().unwrap(), "-o", topology.to_str().unwrap()], &moto.env()))
}

const AZ_LOSS: &str = "apiVersion: gameday/v1
name: twin-az-loss
steady_state:
  - { name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 6, interval: 10s }
  - { name: targets, kind: target_health, target_group: web-tg, min_healthy: 6, interval: 10s }
  - { name: app, kind: http, url: \"https://app.example.com/health\", interval: 5s, timeout: 2s }
faults:
  - { name: lose-a, kind: az_outage, zone: us-east-1a, mode: power, groups: [web-asg], duration: 10m }
expected_recoveries:
  - { name: capacity back, probes: [capacity], recovers_within: 2m }
  - { name: targets back, probes: [targets], recovers_within: 5m }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_account_runs_on_the_simulator() {
    let moto = Moto::start();
    let fleet = production_like(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = import(&moto, dir.path());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("imported `moto` (account {}) into", moto.account)), "{stdout}");
    let file = dir.path().join("imported.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let topology = Topology::load(&file).unwrap_or_else(|e| panic!("{e}\n{text}"));

    // The header says what was imported, from where, and what was not.
    assert!(text.starts_with(&format!("# gameday twin of AWS account {}, region us-east-1, imported ", moto.account)), "{text}");
    assert!(text.contains("# Not imported: CloudWatch alarms (CloudWatch unavailable: cloudwatch:DescribeAlarms failed"), "{text}");
    assert!(text.contains("#   - target group web-tg: not modelled: health-check timeout"), "{text}");
    assert!(text.contains("deregistration delay 120s"), "{text}");
    // moto puts every member in one zone; the twin says it spreads them.
    assert!(text.contains("#   - Auto Scaling group web-asg: its instances are 6 in us-east-1a now; the twin starts them spread over its zones"), "{text}");
    assert!(text.contains("#   - failover record api.example.com. A (example.com.): its primary is not an alias to an imported load balancer"), "{text}");

    // What the simulator models came over with the account's own settings.
    let zone_ids = fleet.ec2.describe_availability_zones().send().await.unwrap();
    let zone_id = zone_ids.availability_zones().iter().find(|z| z.zone_name() == Some("us-east-1a")).and_then(|z| z.zone_id());
    assert_eq!(topology.regions[0].zones.iter().find(|z| z.name == "us-east-1a").map(|z| z.id.as_str()), zone_id, "zones keep their AZ IDs");
    let group = topology.auto_scaling_groups.iter().find(|g| g.name == "web-asg").expect("the group is imported");
    assert_eq!((group.desired, group.min, group.max), (6, 6, 6));
    assert_eq!(group.health_check_type, SimHealthCheckType::Elb);
    assert_eq!(group.health_check_grace_period, Some(Duration::from_secs(90)), "the group's own grace period, not the 300 s default");
    assert_eq!(group.target_group.as_deref(), Some("web-tg"));
    assert_eq!(group.tags.get("gameday").map(String::as_str), Some("allowed"));
    let lb = topology.load_balancers.iter().find(|lb| lb.name == "web-alb").expect("the load balancer is imported");
    let hc = lb.health_check.as_ref().unwrap();
    assert_eq!((hc.interval, hc.healthy_threshold, hc.unhealthy_threshold), (Duration::from_secs(10), 3, 2));
    let record = topology.dns.iter().find(|r| r.record == "app.example.com").expect("the failover record is imported");
    assert_eq!((record.primary.load_balancer.as_str(), record.secondary.load_balancer.as_str()), ("web-alb", "web-dr-alb"));
    assert_eq!(record.primary.request_interval, Some(RequestInterval::Fast));
    assert_eq!(record.primary.failure_threshold.map(|t| t.get()), Some(2));

    // The twin is a topology the simulator runs: validate, plan and run on it.
    let scenario = dir.path().join("az-loss.yaml");
    std::fs::write(&scenario, AZ_LOSS).unwrap();
    let (code, stdout, stderr) = output(command(&dir.path().join("state"), &["validate", scenario.to_str().unwrap()], &[]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let run = |topology: &Path| {
        output(command(
            &dir.path().join("state"),
            &["run", scenario.to_str().unwrap(), "--topology", topology.to_str().unwrap(), "--seed", "1", "--runs-dir", dir.path().join("runs").to_str().unwrap(), "--no-progress"],
            &[],
        ))
    };
    // The group's own grace period (90 s) is shorter than a replacement
    // needs to be healthy (launch 30 s, boot 60 s, then 3 checks 10 s
    // apart), so the twin shows what AWS would: the group terminates its
    // own replacements while they are still unhealthy, again and again.
    let (code, stdout, stderr) = run(&file);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("✘ targets back") && stdout.contains("not recovered"), "{stdout}");
    // The same twin with the simulator's default grace period (300 s)
    // recovers: the imported setting is what made the difference.
    let corrected = dir.path().join("corrected.yaml");
    assert!(text.contains("    health_check_grace_period: 1m30s\n"), "{text}");
    std::fs::write(&corrected, text.replace("    health_check_grace_period: 1m30s\n", "")).unwrap();
    let (code, stdout, stderr) = run(&corrected);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("✔ capacity back") && stdout.contains("✔ targets back"), "{stdout}");

    // The plan on the account itself, with the twin imported live, predicts the same miss before anything is touched.
    let project = dir.path().join("gameday.yaml");
    let (code, stdout, stderr) = output(command(
        &dir.path().join("state"),
        &["plan", scenario.to_str().unwrap(), "--env", "moto", "--project", project.to_str().unwrap(), "--predict", "--seeds", "3"],
        &moto.env(),
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("Plan for `twin-az-loss` on moto (account {}", moto.account)), "{stdout}");
    assert!(stdout.contains(&format!("Prediction on the twin (account {} imported just now", moto.account)), "{stdout}");
    // Capacity comes back at 40 s, then goes again as the group terminates its own replacements.
    assert!(stdout.contains("  ✘ capacity back (deadline 2m00s): PREDICTED TO MISS in 3 of 3 seeds"), "{stdout}");
    assert!(stdout.contains("  ✘ targets back (deadline 5m00s): PREDICTED TO MISS in 3 of 3 seeds"), "{stdout}");
}

fn scenario_file(dir: &Path, text: &str) -> String {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

#[test]
fn plan_predicts_each_expectation_over_the_seeds() {
    let out = crate::gameday(&["plan", "scenarios/az-loss.yaml", "--seed", "1", "--predict", "--seeds", "5"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let prediction = out.stdout.split_once("\nPrediction on the twin").map(|(_, p)| p).unwrap_or_else(|| panic!("no prediction:\n{}", out.stdout));
    // docs/simulator.md's worked example: capacity is back at T+40 s on every seed; targets in 3m40s to 4m10s.
    for line in [
        " (the built-in topology), 5 seeds (1–5):",
        "  ✔ every target healthy again (deadline 8m00s): met in 5 of 5 seeds",
        "      recover: median 40s, p90 40s, range 40s–40s (5 of 5 seeds)",
        "      recover: median 10s, p90 10s, range 10s–10s (1 of 5 seeds); no impact in 4",
    ] {
        assert!(prediction.contains(line), "{line:?} missing from:\n{prediction}");
    }
    let targets = prediction.lines().skip_while(|l| !l.contains("every target healthy again")).nth(2).unwrap();
    let range = targets.split("range ").nth(1).unwrap();
    assert!(range.starts_with("3m") && range.contains("–4m"), "{targets}");
    assert_eq!(out.stdout, crate::gameday(&["plan", "scenarios/az-loss.yaml", "--seed", "1", "--predict", "--seeds", "5"]).stdout, "the same seeds predict the same");
}

#[test]
fn a_command_fault_is_listed_as_not_predicted_and_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("touched");
    let scenario = format!(
        "apiVersion: gameday/v1
name: with-shell
steady_state:
  - {{ name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 6, interval: 10s }}
faults:
  - {{ name: lose-a, kind: az_outage, zone: us-east-1a, mode: power, groups: [web-asg], duration: 5m }}
  - {{ name: shell, kind: command, inject: \"touch {}\", revert: \"true\", duration: 1m }}
expected_recoveries:
  - {{ name: capacity back, probes: [capacity], recovers_within: 2m }}
  - {{ name: after shell, probes: [capacity], after_fault: shell, recovers_within: 2m }}
",
        marker.display()
    );
    let out = crate::gameday(&["plan", &scenario_file(dir.path(), &scenario), "--seed", "1", "--predict", "--seeds", "3"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for line in [
        "  ✔ capacity back (deadline 2m00s): met in 3 of 3 seeds",
        "Not predicted (the twin does not model it):\n  - fault `shell`: a command fault acts on this machine, which the twin does not model\n  - expectation `after shell`: its fault `shell` is not predicted\n",
    ] {
        assert!(out.stdout.contains(line), "{line:?} missing from:\n{}", out.stdout);
    }
    assert!(!marker.exists(), "predicting ran the command fault's shell");
}

/// The production-like account in moto, imported by `sim import`: the
/// server, the directory, the project file and the topology file.
async fn imported_account() -> (Moto, tempfile::TempDir, PathBuf, PathBuf) {
    let moto = Moto::start();
    production_like(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = import(&moto, dir.path());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (project, topology) = (dir.path().join("gameday.yaml"), dir.path().join("imported.yaml"));
    (moto, dir, project, topology)
}

#[test]
fn seeds_without_predict_is_a_usage_error() {
    let out = crate::gameday(&["plan", "scenarios/az-loss.yaml", "--seeds", "5"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--predict"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_says_what_changed_in_the_account_since_the_import() {
    let (moto, dir, project, topology) = imported_account().await;
    let diff = || output(command(&dir.path().join("state"), &["sim", "diff", "--env", "moto", "--project", project.to_str().unwrap(), topology.to_str().unwrap()], &moto.env()));
    let (code, stdout, stderr) = diff();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.starts_with("no drift: "), "{stdout}");

    let config = moto.config().await;
    let autoscaling = aws_sdk_autoscaling::Client::new(&config);
    autoscaling.update_auto_scaling_group().auto_scaling_group_name("web-asg").health_check_grace_period(300).max_size(9).send().await.unwrap();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let tg = elb.describe_target_groups().names("web-tg").send().await.unwrap().target_groups()[0].target_group_arn().unwrap().to_string();
    elb.modify_target_group().target_group_arn(&tg).health_check_interval_seconds(30).send().await.unwrap();
    let (code, stdout, stderr) = diff();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for line in
        ["  - Auto Scaling group web-asg: max 6 → 9\n", "  - Auto Scaling group web-asg: grace period 1m30s → 5m\n", "  - load balancer web-alb: health-check interval 10s → 30s\n"]
    {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    assert!(stdout.contains("(3 change(s);"), "nothing else changed:\n{stdout}");
}

/// `plan --predict --topology FILE --refresh`: the account imported again
/// into FILE, what changed said, the hand-corrected file kept beside it, and
/// the prediction made on the account as it is now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_imports_the_twin_again_and_keeps_the_file_it_replaces() {
    let (moto, dir, project, topology) = imported_account().await;
    // A correction by hand, which the refresh must not lose.
    let corrected = format!("{}\n# corrected by hand: boot takes longer here\n", std::fs::read_to_string(&topology).unwrap());
    std::fs::write(&topology, &corrected).unwrap();
    let config = moto.config().await;
    aws_sdk_autoscaling::Client::new(&config).update_auto_scaling_group().auto_scaling_group_name("web-asg").max_size(9).send().await.unwrap();
    let scenario = scenario_file(dir.path(), AZ_LOSS);
    let plan = |extra: &[&str]| {
        let mut args = vec!["plan", scenario.as_str(), "--env", "moto", "--project", project.to_str().unwrap(), "--predict", "--seeds", "2"];
        args.extend_from_slice(extra);
        output(command(&dir.path().join("state"), &args, &moto.env()))
    };
    let (code, stdout, stderr) = plan(&["--topology", topology.to_str().unwrap(), "--refresh"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("refreshed {} from `moto`, 1 change(s)", topology.display())) && stderr.contains("  - Auto Scaling group web-asg: max 6 → 9"), "{stderr}");
    assert!(stdout.contains(&format!("Prediction on the twin ({})", topology.display())), "{stdout}");
    let previous = dir.path().join("imported.yaml.previous");
    assert_eq!(std::fs::read_to_string(&previous).unwrap(), corrected, "the replaced file is kept as it was");
    let refreshed = std::fs::read_to_string(&topology).unwrap();
    assert!(!refreshed.contains("corrected by hand") && refreshed.contains("max: 9"), "{refreshed}");

    // Without --topology there is nothing to refresh into; without --predict nothing to refresh for.
    let (code, _, stderr) = plan(&["--refresh"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = output(command(&dir.path().join("state"), &["plan", scenario.as_str(), "--topology", topology.to_str().unwrap(), "--refresh"], &[]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--predict"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refuses_an_environment_of_another_account() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let project = moto.project_with(dir.path(), "999999999999", "");
    let (code, stdout, stderr) = output(command(
        &dir.path().join("state"),
        &["sim", "import", "--env", "moto", "--project", project.to_str().unwrap(), "-o", dir.path().join("t.yaml").to_str().unwrap()],
        &moto.env(),
    ));
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("the credentials belong to account {}, but environment `moto` is account 999999999999", moto.account)), "{stderr}");
    assert!(!dir.path().join("t.yaml").exists(), "nothing is written for the wrong account");
}

#[test]
fn import_neither_overwrites_a_file_nor_reads_a_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("twin.yaml");
    std::fs::write(&existing, "mine").unwrap();
    let out = crate::gameday(&["sim", "import", "--env", "sim", "-o", existing.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("already exists\n  = hint: pass --force to overwrite it"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "mine");
    let out = crate::gameday(&["sim", "import", "--env", "sim"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("error: environment `sim` is not an AWS account; a twin is read from one"), "{}", out.stderr);
}

/// A real run (moto) with `--predict`: the twin is imported before anything
/// is touched, its prediction kept in the run directory, and the report
/// shows it beside what the run measured. The probe samples every 5 s with a
/// 5 s timeout, not 1 s: a sample is one call to the moto server every test
/// shares, which answered in over 1 s under load, and a steady state that
/// times out refuses the run (docs/performance.md, "Steadiness"); nothing
/// here is about a probe's timing. The deadline is 5 s (was 10 s): no
/// sample fails, so the run lasts until it, and the twin misses it all the
/// same (a launch alone is 30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_run_keeps_the_prediction_and_reports_it_beside_the_measurement() {
    let moto = Moto::start();
    production_like(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let project = moto.project_with(dir.path(), &moto.account, "");
    let scenario = scenario_file(
        dir.path(),
        &"apiVersion: gameday/v1
name: twin-stop
guards:
  accounts: [\"{account}\"]
  require_tags: { gameday: allowed }
  max_targets: 2
steady_state:
  - { name: capacity, kind: asg_capacity, group: web-asg, min_in_service: 6, interval: 5s, timeout: 5s }
faults:
  - { name: stop-two, kind: stop_instances, targets: { groups: [web-asg], count: 2 }, duration: 3s }
  - { name: shell, kind: command, inject: \"true\", revert: \"true\", duration: 1s }
expected_recoveries:
  - { name: capacity, probes: [capacity], recovers_within: 5s }
"
        .replace("{account}", &moto.account),
    );
    let runs = dir.path().join("runs");
    let (code, stdout, stderr) = output(command(
        &dir.path().join("state"),
        &[
            "run",
            &scenario,
            "--env",
            "moto",
            "--project",
            project.to_str().unwrap(),
            "--yes",
            "--seed",
            "1",
            "--runs-dir",
            runs.to_str().unwrap(),
            "--no-progress",
            "--predict",
            "--seeds",
            "3",
        ],
        &moto.env(),
    ));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("Prediction on the twin (account {} imported just now", moto.account)), "{stdout}");
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let prediction: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run_dir.join("prediction.json")).unwrap()).unwrap();
    assert_eq!(prediction["seeds"], serde_json::json!([1, 2, 3]));
    assert_eq!(prediction["expectations"][0]["name"], "capacity");
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    let section = report.split_once("## Predicted against measured\n").map(|(_, s)| s).unwrap_or_else(|| panic!("no prediction in the report:\n{report}"));
    // The twin's group replaces its stopped members, which takes longer than
    // the 5 s deadline (a launch alone is 30 s), so no seed recovers in time;
    // moto keeps stopped instances InService, so the run sees no impact.
    assert!(section.contains("| capacity | not recovered in 3; predicted to miss in 3 of 3 | no impact | 5s | — | no impact, where the twin predicted one |"), "{section}");
    assert!(section.contains("Look first at what the twin assumed"), "the advice where the model and the system differ:\n{section}");
    assert!(section.contains("- fault `shell`: a command fault acts on this machine, which the twin does not model"), "{section}");
    assert!(std::fs::read_to_string(run_dir.join("report.html")).unwrap().contains("<h2>Predicted against measured</h2>"));
}

#[test]
fn a_run_with_predict_reports_the_twin_beside_the_measurement_and_keeps_it_on_re_render() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let out = crate::gameday(&["run", "scenarios/az-loss.yaml", "--seed", "1", "--predict", "--seeds", "5", "--no-progress", "--runs-dir", runs.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let run_dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let table = "| Expected recovery | The twin predicted | Measured | Deadline | Measured − predicted median | Against the twin's range |
|---|---|---|---|---|---|
| capacity restored in the remaining zones | median 40s, p90 40s, range 40s–40s (5 of 5 seeds) | 40s | 5m00s | 0s | within |
| every target healthy again | median 3m50s, p90 4m10s, range 3m40s–4m10s (5 of 5 seeds) | 4m00s | 8m00s | +10s | within |
| the API rides through with at most a brief burst of errors | median 10s, p90 10s, range 10s–10s (1 of 5 seeds); no impact in 4 | 10s | 2m00s | 0s | within |
";
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains(&format!("## Predicted against measured\n\nBefore the run, the twin (the built-in topology) ran this scenario for 5 seeds; its times beside what the run measured. Definitions: docs/metrics.md, “Predicted times”.\n\n{table}")), "{report}");
    assert!(!report.contains("Look first at what the twin assumed"), "every measurement is within the twin's range");
    // `gameday report` renders from the journal again, and the kept prediction with it.
    std::fs::remove_file(run_dir.join("report.md")).unwrap();
    let out = crate::gameday(&["report", run_dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(std::fs::read_to_string(run_dir.join("report.md")).unwrap().contains(table));
    // Without --predict, no prediction and no section.
    let plain = dir.path().join("plain");
    let out = crate::gameday(&["run", "scenarios/az-loss.yaml", "--seed", "1", "--no-progress", "--runs-dir", plain.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plain_dir = std::fs::read_dir(&plain).unwrap().next().unwrap().unwrap().path();
    assert!(!plain_dir.join("prediction.json").exists());
    assert!(!std::fs::read_to_string(plain_dir.join("report.md")).unwrap().contains("Predicted against measured"));
}
