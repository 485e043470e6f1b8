//! A fleet in moto, built with the same SDK gameday uses: a VPC with a
//! subnet in each of three zones, an Auto Scaling group of tagged instances,
//! untagged and excluded instances, a load balancer target group, a Route 53
//! zone with failover records and health checks, and a CloudWatch alarm.
//! A test that changes the fleet builds its own (`Fleet::build`); the tests
//! that only read it share one, built once per test process
//! (`Fleet::shared`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aws_sdk_autoscaling::types::Tag as AsgTag;
use aws_sdk_ec2::types::{InstanceStateName, ResourceType, Tag, TagSpecification};
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType, ResourceRecord, ResourceRecordSet, ResourceRecordSetFailover, RrType};

use crate::moto::Moto;

pub struct Fleet {
    pub ec2: aws_sdk_ec2::Client,
    pub route53: aws_sdk_route53::Client,
    pub subnets: BTreeMap<String, String>,
    pub asg_instances: Vec<String>,
    pub untagged: Vec<String>,
    pub excluded: Vec<String>,
    pub primary_health_check: String,
}

/// What `Fleet::build` made, without the SDK clients: a client keeps
/// connections on the runtime that opened them, and each test has a runtime
/// of its own.
#[derive(Clone)]
struct Made {
    subnets: BTreeMap<String, String>,
    asg_instances: Vec<String>,
    untagged: Vec<String>,
    excluded: Vec<String>,
    primary_health_check: String,
}

fn tags(pairs: &[(&str, &str)]) -> TagSpecification {
    let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
    for (k, v) in pairs {
        spec = spec.tags(Tag::builder().key(*k).value(*v).build());
    }
    spec.build()
}

impl Fleet {
    /// The fleet of six (`build(.., 6)`) that the tests which only read it
    /// share, in an account of its own on the shared moto server: built by
    /// the first caller, on a runtime of its own. A test that changes
    /// anything in it (a fault, a template left behind) would change what
    /// the others read: such a test builds its own.
    pub async fn shared() -> (&'static Moto, Fleet) {
        static SHARED: OnceLock<(Moto, Made)> = OnceLock::new();
        let (moto, made) = SHARED.get_or_init(|| {
            std::thread::spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    let moto = Moto::start();
                    let fleet = Fleet::build(&moto.config().await, 6).await;
                    let made = Made {
                        subnets: fleet.subnets,
                        asg_instances: fleet.asg_instances,
                        untagged: fleet.untagged,
                        excluded: fleet.excluded,
                        primary_health_check: fleet.primary_health_check,
                    };
                    (moto, made)
                })
            })
            .join()
            .expect("the shared fleet was built")
        });
        let config = moto.config().await;
        let Made { subnets, asg_instances, untagged, excluded, primary_health_check } = made.clone();
        (moto, Fleet { ec2: aws_sdk_ec2::Client::new(&config), route53: aws_sdk_route53::Client::new(&config), subnets, asg_instances, untagged, excluded, primary_health_check })
    }

    pub async fn build(config: &aws_config::SdkConfig, asg_size: i32) -> Fleet {
        let ec2 = aws_sdk_ec2::Client::new(config);
        let autoscaling = aws_sdk_autoscaling::Client::new(config);
        let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(config);
        let route53 = aws_sdk_route53::Client::new(config);

        let image = ec2.describe_images().send().await.unwrap().images()[0].image_id().unwrap().to_string();
        let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_string();
        let mut subnets = BTreeMap::new();
        for (i, zone) in ["us-east-1a", "us-east-1b", "us-east-1c"].iter().enumerate() {
            let subnet = ec2.create_subnet().vpc_id(&vpc).cidr_block(format!("10.0.{i}.0/24")).availability_zone(*zone).send().await.unwrap();
            subnets.insert(zone.to_string(), subnet.subnet().unwrap().subnet_id().unwrap().to_string());
        }
        let template = ec2
            .create_launch_template()
            .launch_template_name("web")
            .launch_template_data(aws_sdk_ec2::types::RequestLaunchTemplateData::builder().image_id(&image).instance_type(aws_sdk_ec2::types::InstanceType::T3Micro).build())
            .send()
            .await
            .unwrap();
        let template_id = template.launch_template().unwrap().launch_template_id().unwrap().to_string();
        autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name("web-asg")
            .launch_template(aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder().launch_template_id(&template_id).build())
            .min_size(asg_size)
            .max_size(asg_size)
            .desired_capacity(asg_size)
            .vpc_zone_identifier(subnets.values().cloned().collect::<Vec<_>>().join(","))
            .tags(AsgTag::builder().key("app").value("web").propagate_at_launch(true).build())
            .tags(AsgTag::builder().key("gameday").value("allowed").propagate_at_launch(true).build())
            .send()
            .await
            .unwrap();
        let group = autoscaling.describe_auto_scaling_groups().auto_scaling_group_names("web-asg").send().await.unwrap();
        let asg_instances: Vec<String> = group.auto_scaling_groups()[0].instances().iter().map(|i| i.instance_id().unwrap().to_string()).collect();

        let run = |count: i32, zone: &str, spec: TagSpecification| {
            ec2.run_instances().image_id(&image).min_count(count).max_count(count).subnet_id(&subnets[zone]).tag_specifications(spec).send()
        };
        let untagged: Vec<String> = run(2, "us-east-1a", tags(&[("app", "web")])).await.unwrap().instances().iter().map(|i| i.instance_id().unwrap().to_string()).collect();
        let excluded: Vec<String> = run(1, "us-east-1b", tags(&[("app", "web"), ("gameday", "allowed"), ("critical", "true")]))
            .await
            .unwrap()
            .instances()
            .iter()
            .map(|i| i.instance_id().unwrap().to_string())
            .collect();

        elbv2.create_load_balancer().name("web-alb").set_subnets(Some(subnets.values().cloned().collect())).send().await.unwrap();
        let tg = elbv2.create_target_group().name("web-tg").protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http).port(80).vpc_id(&vpc).send().await.unwrap();
        let tg_arn = tg.target_groups()[0].target_group_arn().unwrap().to_string();
        let mut register = elbv2.register_targets().target_group_arn(&tg_arn);
        for id in &asg_instances {
            register = register.targets(aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder().id(id).port(80).build());
        }
        register.send().await.unwrap();

        let zone = route53.create_hosted_zone().name("example.com").caller_reference("gameday-test").send().await.unwrap();
        let zone_id = zone.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string();
        let mut checks = Vec::new();
        for (reference, ip) in [("primary", "192.0.2.10"), ("secondary", "192.0.2.20")] {
            let check = route53
                .create_health_check()
                .caller_reference(reference)
                .health_check_config(
                    HealthCheckConfig::builder()
                        .r#type(HealthCheckType::Http)
                        .ip_address(ip)
                        .port(80)
                        .resource_path("/health")
                        .request_interval(30)
                        .failure_threshold(3)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
            checks.push(check.health_check().unwrap().id().to_string());
        }
        let mut batch = ChangeBatch::builder();
        for (side, ip, check) in [(ResourceRecordSetFailover::Primary, "192.0.2.10", &checks[0]), (ResourceRecordSetFailover::Secondary, "192.0.2.20", &checks[1])] {
            batch = batch.changes(
                Change::builder()
                    .action(ChangeAction::Create)
                    .resource_record_set(
                        ResourceRecordSet::builder()
                            .name("api.example.com")
                            .r#type(RrType::A)
                            .ttl(60)
                            .set_identifier(side.as_str())
                            .failover(side)
                            .health_check_id(check)
                            .resource_records(ResourceRecord::builder().value(ip).build().unwrap())
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            );
        }
        route53.change_resource_record_sets().hosted_zone_id(&zone_id).change_batch(batch.build().unwrap()).send().await.unwrap();

        // No CloudWatch alarm here: the SDK speaks RPCv2-CBOR to CloudWatch,
        // which moto does not route; alarms are tested with aws-smithy-mocks.
        Fleet { ec2, route53, subnets, asg_instances, untagged, excluded, primary_health_check: checks[0].clone() }
    }

    /// Instance id → state name, for every instance.
    pub async fn states(&self) -> BTreeMap<String, InstanceStateName> {
        let out = self.ec2.describe_instances().send().await.unwrap();
        out.reservations().iter().flat_map(|r| r.instances()).map(|i| (i.instance_id().unwrap().to_string(), i.state().unwrap().name().unwrap().clone())).collect()
    }

    /// Subnet → its network ACL id.
    pub async fn acl_of_subnets(&self) -> BTreeMap<String, String> {
        let out = self.ec2.describe_network_acls().send().await.unwrap();
        let mut map = BTreeMap::new();
        for acl in out.network_acls() {
            for association in acl.associations() {
                if let Some(subnet) = association.subnet_id() {
                    map.insert(subnet.to_string(), acl.network_acl_id().unwrap().to_string());
                }
            }
        }
        map
    }

    pub async fn acl_count(&self) -> usize {
        self.ec2.describe_network_acls().send().await.unwrap().network_acls().len()
    }

    pub async fn inverted(&self, health_check: &str) -> bool {
        self.route53.get_health_check().health_check_id(health_check).send().await.unwrap().health_check().unwrap().health_check_config().unwrap().inverted().unwrap_or(false)
    }

    pub async fn running_in(&self, ids: &[String]) -> usize {
        let states = self.states().await;
        ids.iter().filter(|id| states.get(*id) == Some(&InstanceStateName::Running)).count()
    }
}
