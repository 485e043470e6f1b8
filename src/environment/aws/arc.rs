//! Amazon Application Recovery Controller (ARC) zonal shift: the
//! `zonal_shift` step, a planned mitigation that moves a load balancer's
//! traffic away from one zone and is cancelled at the end.
//!
//! ARC names a shift only once it has started, so the journaled effect
//! carries a comment with the run's token instead: the revert (and
//! `recover`, after a crash) reads the resource's active shifts and cancels
//! the one with that comment. ARC also ends it by itself at its expiry.

use super::{Clients, sdk_error};
use crate::environment::{Effect, EnvError, Reach, RevertOutcome};

/// What ARC says about a managed resource before the shift.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedResource {
    pub name: String,
    /// The zones (AZ IDs) the resource serves traffic from.
    pub zones: Vec<String>,
    /// Active zonal shifts and practice runs: (shift id, away from, a practice run?).
    pub active: Vec<(String, String, bool)>,
    /// `ENABLED` or `DISABLED`.
    pub autoshift: String,
}

pub async fn managed_resource(clients: &Clients, resource: &str) -> Result<ManagedResource, EnvError> {
    let out = clients.arc_zonal_shift.get_managed_resource().resource_identifier(resource).send().await.map_err(|e| {
        if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
            EnvError::NotFound {
                resource: format!("ARC managed resource `{resource}`"),
                hint: Some("zonal shift acts on load balancers that have cross-zone load balancing off, by ARN".into()),
            }
        } else {
            sdk_error("arc-zonal-shift:GetManagedResource", e)
        }
    })?;
    let mut zones: Vec<String> = out.applied_weights().keys().cloned().collect();
    zones.sort();
    Ok(ManagedResource {
        name: out.name().unwrap_or(resource).to_string(),
        zones,
        active: out.zonal_shifts().iter().map(|s| (s.zonal_shift_id().to_string(), s.away_from().to_string(), s.practice_run_outcome().is_some())).collect(),
        autoshift: out.zonal_autoshift_status().map_or("DISABLED".to_string(), |s| s.as_str().to_string()),
    })
}

/// The guard ARC itself imposes (one shift at a time on a resource), the
/// zone check, and the plan's line with the zonal-autoshift status.
pub async fn reach(clients: &Clients, region: &str, resource: &str, zone_id: &str) -> Result<Reach, EnvError> {
    let managed = managed_resource(clients, resource).await?;
    if let Some((id, away_from, practice)) = managed.active.first() {
        return Err(EnvError::Busy(format!(
            "{} has an active {} ({id}, away from {away_from}), and ARC applies one zonal shift or practice run at a time on a resource",
            managed.name,
            if *practice { "practice run" } else { "zonal shift" }
        )));
    }
    if !managed.zones.is_empty() && !managed.zones.iter().any(|z| z == zone_id) {
        return Err(EnvError::NotFound { resource: format!("zone {zone_id} of {}", managed.name), hint: Some(format!("its zones: {}", managed.zones.join(", "))) });
    }
    Ok(Reach {
        regions: vec![region.to_string()],
        other_resources: vec![format!("ARC zonal shift of {} away from {zone_id} (zonal autoshift {})", managed.name, managed.autoshift)],
        ..Reach::default()
    })
}

pub async fn start(clients: &Clients, effect: &Effect) -> Result<(), EnvError> {
    let Effect::ZonalShift { resource, away_from, expires_in_minutes, comment } = effect else {
        return Err(EnvError::Unsupported("not a zonal shift".into()));
    };
    clients
        .arc_zonal_shift
        .start_zonal_shift()
        .resource_identifier(resource)
        .away_from(away_from)
        .expires_in(format!("{expires_in_minutes}m"))
        .comment(comment)
        .send()
        .await
        .map_err(|e| sdk_error("arc-zonal-shift:StartZonalShift", e))?;
    Ok(())
}

/// Cancels the resource's active shift that carries the effect's comment;
/// none (expired, cancelled by hand, or never started) is nothing to do.
pub async fn cancel(clients: &Clients, effect: &Effect) -> Result<RevertOutcome, EnvError> {
    let Effect::ZonalShift { resource, comment, .. } = effect else {
        return Err(EnvError::Unsupported("not a zonal shift".into()));
    };
    let out = clients.arc_zonal_shift.get_managed_resource().resource_identifier(resource).send().await.map_err(|e| sdk_error("arc-zonal-shift:GetManagedResource", e))?;
    let mut outcome = RevertOutcome::default();
    let ours: Vec<String> = out.zonal_shifts().iter().filter(|s| s.comment() == comment).map(|s| s.zonal_shift_id().to_string()).collect();
    if ours.is_empty() {
        outcome.skipped.push((resource.clone(), format!("no active zonal shift carries the comment `{comment}` (expired, or cancelled already)")));
    }
    for id in ours {
        clients.arc_zonal_shift.cancel_zonal_shift().zonal_shift_id(&id).send().await.map_err(|e| sdk_error("arc-zonal-shift:CancelZonalShift", e))?;
        outcome.restored.push(format!("zonal shift {id} cancelled"));
    }
    Ok(outcome)
}
