//! `cargo bench --bench aws_moto`: resolve and inject 2,000 instances
//! against moto server, counting API calls (pages, batches) and timing each
//! phase. moto is local and single-threaded, so the times say more about
//! gameday's call pattern than about AWS's latency; the call counts carry over.

// Shared with the tests; the bench uses only part of the harness.
#[allow(dead_code)]
#[path = "../tests/cli/moto.rs"]
mod moto;

use std::time::Instant;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use gameday::environment::Environment;
use gameday::environment::aws::{AwsEnvironment, Clients};
use gameday::project::AwsSpec;

const SCENARIO: &str = "apiVersion: gameday/v1\nname: fleet\nguards:\n  require_tags: { gameday: allowed }\nsteady_state:\n  - { name: ok, kind: command, run: \"true\" }\nfaults:\n  - name: stop-all\n    kind: stop_instances\n    duration: 1m\n    targets: { tags: { app: web } }\nexpected_recoveries:\n  - { name: ok, probes: [ok], recovers_within: 1m }\n";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let size: usize = std::env::var("GAMEDAY_BENCH_INSTANCES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let server = moto::Moto::start();
    runtime.block_on(async {
        let config = server.config().await;
        let ec2 = aws_sdk_ec2::Client::new(&config);
        let image = ec2.describe_images().send().await.expect("images").images()[0].image_id().expect("id").to_string();
        let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("vpc").vpc().and_then(|v| v.vpc_id()).expect("vpc id").to_string();
        let started = Instant::now();
        for (i, zone) in ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a"].iter().enumerate() {
            let subnet = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(format!("10.0.{}.0/22", i * 4))
                .availability_zone(*zone)
                .send()
                .await
                .expect("subnet")
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_string();
            let tags = TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("app").value("web").build())
                .tags(Tag::builder().key("gameday").value("allowed").build())
                .build();
            let count = i32::try_from(size / 4).unwrap_or(500);
            ec2.run_instances().image_id(&image).min_count(count).max_count(count).subnet_id(subnet).tag_specifications(tags).send().await.expect("instances");
        }
        println!("gameday AWS-path benchmark against {} ({size} instances; fleet built in {:.1} s)", moto::MOTO_REQUIREMENT.trim(), started.elapsed().as_secs_f64());

        let spec = AwsSpec { profile: None, region: moto::REGION.into(), account: server.account.clone(), endpoint_url: Some(server.endpoint.clone()), fis_role_arn: None };
        let scenario = gameday::scenario::parse_str(SCENARIO, None).expect("valid scenario");
        let mut env = AwsEnvironment::with_clients("moto", &spec, Clients::from_config(&config), &scenario).await.expect("connect");
        let baseline = env.calls.clone();

        let started = Instant::now();
        let plan = gameday::run::plan::plan(&mut env, &scenario, 1, jiff::Timestamp::now()).await.expect("plan");
        let resolve_time = started.elapsed().as_secs_f64();
        let fault = &plan.faults[0];
        let resolve_calls = env.calls.clone();
        println!(
            "  resolve: {} matched, {} chosen in {resolve_time:.2} s; {} describe pages, {} other reads (connect took {} reads)",
            fault.selection.matched,
            fault.selection.chosen.len(),
            resolve_calls.pages - baseline.pages,
            resolve_calls.reads - baseline.reads,
            baseline.reads
        );
        let effect = fault.effect.clone().expect("an effect");
        let started = Instant::now();
        env.apply(&effect, 0).await.expect("stop");
        let inject_time = started.elapsed().as_secs_f64();
        let inject_calls = env.calls.mutating - resolve_calls.mutating;
        println!("  inject (stop): {inject_calls} StopInstances calls of ≤ 1,000 ids in {inject_time:.2} s");
        let before_revert = env.calls.clone();
        let started = Instant::now();
        let outcome = env.revert(&effect, 0).await.expect("start");
        println!(
            "  revert (start): {} restored, {} StartInstances calls and {} describe pages in {:.2} s",
            outcome.restored.len(),
            env.calls.mutating - before_revert.mutating,
            env.calls.pages - before_revert.pages,
            started.elapsed().as_secs_f64()
        );
    });
}
