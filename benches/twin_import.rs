//! `cargo bench --bench twin_import`: `gameday sim import`'s read of an
//! account of 2,000 instances in 20 Auto Scaling groups (100 each, behind
//! one target group each) against moto server, and the build of the twin
//! from it: API calls (pages included) and wall time, median of 3 imports.
//! moto is local and single-threaded, so the time says more about gameday's
//! call pattern than about AWS's latency; the call count carries over.
//! `GAMEDAY_BENCH_GROUPS` and `GAMEDAY_BENCH_PER_GROUP` change the size.

// Shared with the tests; the bench uses only part of the harness.
#[allow(dead_code)]
#[path = "../tests/cli/moto.rs"]
mod moto;

use std::time::Instant;

use gameday::environment::aws::{Clients, import};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let var = |name: &str, default: i32| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (groups, per_group) = (var("GAMEDAY_BENCH_GROUPS", 20), var("GAMEDAY_BENCH_PER_GROUP", 100));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let server = moto::Moto::start();
    runtime.block_on(async {
        let config = server.config().await;
        let ec2 = aws_sdk_ec2::Client::new(&config);
        let autoscaling = aws_sdk_autoscaling::Client::new(&config);
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
        let image = ec2.describe_images().send().await.expect("images").images()[0].image_id().expect("id").to_string();
        let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("vpc").vpc().and_then(|v| v.vpc_id()).expect("vpc id").to_string();
        let mut subnets = Vec::new();
        for (i, zone) in ["us-east-1a", "us-east-1b", "us-east-1c"].iter().enumerate() {
            let subnet = ec2.create_subnet().vpc_id(&vpc).cidr_block(format!("10.0.{}.0/20", i * 16)).availability_zone(*zone).send().await.expect("subnet");
            subnets.push(subnet.subnet().and_then(|s| s.subnet_id()).expect("subnet id").to_string());
        }
        let template = ec2
            .create_launch_template()
            .launch_template_name("web")
            .launch_template_data(aws_sdk_ec2::types::RequestLaunchTemplateData::builder().image_id(&image).instance_type(aws_sdk_ec2::types::InstanceType::T3Micro).build())
            .send()
            .await
            .expect("launch template");
        let template_id = template.launch_template().and_then(|t| t.launch_template_id()).expect("template id").to_string();
        let started = Instant::now();
        for g in 0..groups {
            let tg = elb
                .create_target_group()
                .name(format!("tg-{g}"))
                .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
                .port(80)
                .vpc_id(&vpc)
                .send()
                .await
                .expect("target group");
            let tg = tg.target_groups()[0].target_group_arn().expect("arn").to_string();
            autoscaling
                .create_auto_scaling_group()
                .auto_scaling_group_name(format!("group-{g}"))
                .launch_template(aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder().launch_template_id(&template_id).build())
                .min_size(per_group)
                .max_size(per_group)
                .desired_capacity(per_group)
                .vpc_zone_identifier(subnets.join(","))
                .target_group_arns(tg)
                .send()
                .await
                .expect("group");
        }
        println!("fixture: {groups} groups × {per_group} instances made in moto in {:.1} s", started.elapsed().as_secs_f64());

        let clients = Clients::from_config(&config);
        let mut times = Vec::new();
        let mut calls = 0;
        let mut counted = (0, 0);
        for _ in 0..3 {
            let started = Instant::now();
            let snapshot = import::read_account(&clients, &server.account, moto::REGION, jiff::Timestamp::now().to_string()).await.expect("import");
            let imported = gameday::environment::sim::import::build(&snapshot);
            times.push(started.elapsed().as_secs_f64());
            calls = snapshot.calls;
            counted = (imported.topology.auto_scaling_groups.len(), snapshot.groups.iter().map(|g| g.instances).sum::<usize>());
        }
        times.sort_by(f64::total_cmp);
        assert_eq!(counted.0, groups as usize, "every group is in the twin");
        println!(
            "  import: {} groups, {} instances: {calls} API calls (pages included), median {:.2} s (min {:.2} s, max {:.2} s; 3 imports)",
            counted.0, counted.1, times[1], times[0], times[2]
        );
    });
}
