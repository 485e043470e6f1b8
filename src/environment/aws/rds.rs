//! Databases on RDS and Aurora: `db_failover` and the `db_writer` probe.
//!
//! A DB cluster fails over with `FailoverDBCluster` (to a named reader, or
//! the one RDS picks) and fails back the same way, to the writer the journal
//! recorded before the fault. A Multi-AZ DB instance fails over with
//! `RebootDBInstance` and `ForceFailover`, and fails back with the same call
//! when its primary is not in its original zone any more. Every fail-back
//! reads the database first, so a revert that finds the original writer
//! writing (the team failed back by hand, or `recover` runs twice) does
//! nothing.

use std::collections::BTreeMap;

use super::{Clients, sdk_error};
use crate::environment::{Candidate, Effect, EnvError, Reach, RevertOutcome};

/// How often, and how many times, a fail-back reads a cluster that is not
/// `available` yet (still failing over): RDS refuses a failover then.
const SETTLE_POLL: std::time::Duration = std::time::Duration::from_secs(5);
const SETTLE_READS: u32 = 60;

/// A database as `DescribeDBClusters` / `DescribeDBInstances` show it.
#[derive(Clone, Debug, PartialEq)]
pub enum Database {
    Cluster {
        id: String,
        status: String,
        /// The writer instance and its zone; none while no instance writes.
        writer: Option<(String, String)>,
        members: Vec<String>,
        tags: BTreeMap<String, String>,
    },
    Instance {
        id: String,
        status: String,
        multi_az: bool,
        zone: String,
        tags: BTreeMap<String, String>,
    },
}

impl Database {
    pub fn id(&self) -> &str {
        match self {
            Database::Cluster { id, .. } | Database::Instance { id, .. } => id,
        }
    }

    pub fn status(&self) -> &str {
        match self {
            Database::Cluster { status, .. } | Database::Instance { status, .. } => status,
        }
    }

    /// One line for the plan and the samples: which instance writes, where.
    pub fn describe(&self) -> String {
        match self {
            Database::Cluster { id, writer: Some((writer, zone)), .. } => format!("DB cluster {id}: writer {writer} in {zone}"),
            Database::Cluster { id, writer: None, .. } => format!("DB cluster {id}: no writer"),
            Database::Instance { id, zone, .. } => format!("Multi-AZ DB instance {id}: primary in {zone}"),
        }
    }
}

/// Reads the database a fault or probe names.
pub async fn describe(clients: &Clients, cluster: Option<&str>, instance: Option<&str>) -> Result<Database, EnvError> {
    match (cluster, instance) {
        (Some(cluster), _) => describe_cluster(clients, cluster).await,
        (None, Some(instance)) => describe_instance(clients, instance).await,
        (None, None) => Err(EnvError::Failed("name a `cluster` or an `instance`".into())),
    }
}

fn tags(list: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
    list.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

async fn describe_cluster(clients: &Clients, id: &str) -> Result<Database, EnvError> {
    let out = clients.rds.describe_db_clusters().db_cluster_identifier(id).send().await.map_err(|e| not_found_or(e, "rds:DescribeDBClusters", "DB cluster", id))?;
    let cluster = out.db_clusters().first().ok_or_else(|| EnvError::NotFound { resource: format!("DB cluster `{id}`"), hint: None })?;
    let members: Vec<String> = cluster.db_cluster_members().iter().filter_map(|m| m.db_instance_identifier().map(str::to_string)).collect();
    let writer = match cluster.db_cluster_members().iter().find(|m| m.is_cluster_writer() == Some(true)).and_then(|m| m.db_instance_identifier()) {
        Some(writer) => match describe_instance(clients, writer).await? {
            Database::Instance { zone, .. } => Some((writer.to_string(), zone)),
            Database::Cluster { .. } => None,
        },
        None => None,
    };
    Ok(Database::Cluster { id: id.to_string(), status: cluster.status().unwrap_or_default().to_string(), writer, members, tags: tags(cluster.tag_list()) })
}

async fn describe_instance(clients: &Clients, id: &str) -> Result<Database, EnvError> {
    let out = clients.rds.describe_db_instances().db_instance_identifier(id).send().await.map_err(|e| not_found_or(e, "rds:DescribeDBInstances", "DB instance", id))?;
    let instance = out.db_instances().first().ok_or_else(|| EnvError::NotFound { resource: format!("DB instance `{id}`"), hint: None })?;
    Ok(Database::Instance {
        id: id.to_string(),
        status: instance.db_instance_status().unwrap_or_default().to_string(),
        multi_az: instance.multi_az() == Some(true),
        zone: instance.availability_zone().unwrap_or_default().to_string(),
        tags: tags(instance.tag_list()),
    })
}

/// RDS answers an unknown identifier with a `…NotFound` error: that is a
/// missing resource (exit 7), not a failed call.
fn not_found_or<E, R>(error: aws_sdk_rds::error::SdkError<E, R>, call: &str, what: &str, id: &str) -> EnvError
where
    E: aws_sdk_rds::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if error.as_service_error().and_then(|e| e.code()).is_some_and(|code| code.ends_with("NotFoundFault") || code.ends_with("NotFound")) {
        return EnvError::NotFound { resource: format!("{what} `{id}`"), hint: None };
    }
    sdk_error(call, error)
}

/// What a `db_failover` reaches: the database as the one candidate (so the
/// tag guards judge its tags), the writer's zone, and a line for the plan.
/// Refused when the database cannot fail over now.
pub async fn reach(clients: &Clients, region: &str, cluster: Option<&str>, instance: Option<&str>, target: Option<&str>) -> Result<Reach, EnvError> {
    let database = describe(clients, cluster, instance).await?;
    if database.status() != "available" {
        return Err(EnvError::Refused(format!("{} is `{}`, not `available`: RDS fails over an available database only", database.id(), database.status())));
    }
    let (zone, tags) = match &database {
        Database::Cluster { writer: None, id, .. } => return Err(EnvError::Refused(format!("DB cluster {id} has no writer to fail over"))),
        Database::Cluster { members, id, .. } if members.len() < 2 => {
            return Err(EnvError::Refused(format!("DB cluster {id} has one instance: a failover needs a reader to promote")));
        }
        Database::Cluster { writer: Some((writer, zone)), members, id, tags, .. } => {
            if let Some(target) = target {
                if target == writer {
                    return Err(EnvError::Refused(format!("`{target}` is already the writer of {id}: there is nothing to fail over to")));
                }
                if !members.iter().any(|m| m == target) {
                    return Err(EnvError::NotFound { resource: format!("instance `{target}` in DB cluster `{id}`"), hint: Some(format!("its members: {}", members.join(", "))) });
                }
            }
            (zone.clone(), tags.clone())
        }
        Database::Instance { multi_az: false, id, .. } => {
            return Err(EnvError::Refused(format!("DB instance {id} is not Multi-AZ: it has no standby to fail over to")));
        }
        Database::Instance { zone, tags, .. } => (zone.clone(), tags.clone()),
    };
    Ok(Reach {
        candidates: vec![Candidate { id: database.id().to_string(), region: region.to_string(), zone: zone.clone(), group: None, tags }],
        regions: vec![region.to_string()],
        zones: vec![zone],
        other_resources: vec![database.describe()],
        acts_on_instances: true,
        indivisible: true,
        ..Reach::default()
    })
}

/// The effect, with the writer to fail back to, read just before.
/// `fail_back`: the fault has a `duration`, at the end of which gameday fails back.
pub async fn prepare(clients: &Clients, cluster: Option<&str>, instance: Option<&str>, target: Option<&str>, fail_back: bool) -> Result<Effect, EnvError> {
    Ok(match describe(clients, cluster, instance).await? {
        Database::Cluster { id, writer: Some((writer, _)), .. } => Effect::DbClusterFailover { cluster: id, writer, target: target.map(str::to_string), fail_back },
        Database::Cluster { id, writer: None, .. } => return Err(EnvError::Refused(format!("DB cluster {id} has no writer to fail over"))),
        Database::Instance { id, zone, .. } => Effect::DbInstanceFailover { instance: id, zone, fail_back },
    })
}

pub async fn fail_over(clients: &Clients, effect: &Effect) -> Result<(), EnvError> {
    match effect {
        Effect::DbClusterFailover { cluster, target, .. } => {
            clients
                .rds
                .failover_db_cluster()
                .db_cluster_identifier(cluster)
                .set_target_db_instance_identifier(target.clone())
                .send()
                .await
                .map_err(|e| sdk_error("rds:FailoverDBCluster", e))?;
        }
        Effect::DbInstanceFailover { instance, .. } => {
            clients.rds.reboot_db_instance().db_instance_identifier(instance).force_failover(true).send().await.map_err(|e| sdk_error("rds:RebootDBInstance", e))?;
        }
        _ => return Err(EnvError::Unsupported("not a database failover".into())),
    }
    Ok(())
}

/// Fails back to the writer before the fault, unless it writes already.
/// Waits (up to five minutes) for a database still failing over to be
/// `available`, as RDS refuses a failover before.
pub async fn fail_back(clients: &Clients, effect: &Effect) -> Result<RevertOutcome, EnvError> {
    let (cluster, instance) = match effect {
        Effect::DbClusterFailover { cluster, .. } => (Some(cluster.as_str()), None),
        Effect::DbInstanceFailover { instance, .. } => (None, Some(instance.as_str())),
        _ => return Err(EnvError::Unsupported("not a database failover".into())),
    };
    let mut database = describe(clients, cluster, instance).await?;
    for _ in 1..SETTLE_READS {
        if database.status() == "available" {
            break;
        }
        tokio::time::sleep(SETTLE_POLL).await;
        database = describe(clients, cluster, instance).await?;
    }
    let mut outcome = RevertOutcome::default();
    match (effect, &database) {
        (Effect::DbClusterFailover { cluster, writer: original, .. }, Database::Cluster { writer, members, .. }) => {
            if writer.as_ref().is_some_and(|(w, _)| w == original) {
                outcome.skipped.push((cluster.clone(), format!("{original} writes already: nothing to fail back")));
            } else if !members.contains(original) {
                outcome.skipped.push((cluster.clone(), format!("{original} is no longer a member of the cluster")));
            } else {
                clients
                    .rds
                    .failover_db_cluster()
                    .db_cluster_identifier(cluster)
                    .target_db_instance_identifier(original)
                    .send()
                    .await
                    .map_err(|e| sdk_error("rds:FailoverDBCluster", e))?;
                outcome.restored.push(format!("{cluster} failed back to {original}"));
            }
        }
        (Effect::DbInstanceFailover { instance, zone: original, .. }, Database::Instance { zone, .. }) => {
            if zone == original {
                outcome.skipped.push((instance.clone(), format!("its primary is in {original} already: nothing to fail back")));
            } else {
                clients.rds.reboot_db_instance().db_instance_identifier(instance).force_failover(true).send().await.map_err(|e| sdk_error("rds:RebootDBInstance", e))?;
                outcome.restored.push(format!("{instance} failed back to {original}"));
            }
        }
        _ => return Err(EnvError::Failed("the database changed kind since the fault".into())),
    }
    Ok(outcome)
}

/// A `db_writer` sample: passes when the database is `available` with a
/// writer (the expected one, when named).
/// What a `db_writer` probe read: the writer it wants (or any, without
/// `expect_writer`), another writer, or no writer at all (not `available`,
/// or failing over): the last is no settled state (`Sample::unsettled`).
pub enum WriterReading {
    Wanted(String),
    Other(String),
    NoWriter(String),
}

pub async fn writer_verdict(clients: &Clients, cluster: Option<&str>, instance: Option<&str>, expect_writer: Option<&str>) -> Result<WriterReading, EnvError> {
    let database = describe(clients, cluster, instance).await?;
    let line = format!("{}, {}", database.describe(), database.status());
    let has_writer = !matches!(database, Database::Cluster { writer: None, .. });
    if database.status() != "available" || !has_writer {
        return Ok(WriterReading::NoWriter(line));
    }
    match (expect_writer, &database) {
        (Some(expected), Database::Cluster { writer: Some((writer, _)), .. }) if expected != writer => Ok(WriterReading::Other(format!("{line} (want writer {expected})"))),
        _ => Ok(WriterReading::Wanted(line)),
    }
}
