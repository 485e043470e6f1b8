//! Property tests of `guard::select`: no combination of selection
//! (`count`, `percent` or neither), population (candidates with random tags,
//! zones and groups; random group and zone sizes) and guards lets a fault go
//! ahead (not blocked) while choosing more than the guards allow.
//!
//! The oracles here are written independently of `guard.rs` (integer maths
//! for `percent`, shares recomputed from the reach), so a property holds
//! because the guard is right, not because it restates the code.

use std::collections::{BTreeMap, BTreeSet};

use gameday::environment::{Candidate, Reach};
use gameday::guard::{self, Selection};
use gameday::rng::SeededRng;
use gameday::scenario::{Fault, FaultAction, Guards, Targets};
use proptest::prelude::*;

const ZONES: [&str; 4] = ["z-a", "z-b", "z-c", "z-d"];
const GROUPS: [&str; 3] = ["web", "api", "batch"];
/// Every tag a candidate may carry; guards draw from the same pool.
const TAGS: [(&str, &str); 5] = [("gameday", "allowed"), ("critical", "true"), ("team", "a"), ("team", "b"), ("tier", "db")];

#[derive(Clone, Debug)]
enum Pick {
    All,
    Count(u32),
    /// Tenths of a percent, so the oracle can use integer maths.
    PercentTenths(u32),
}

#[derive(Clone, Debug)]
struct Case {
    candidates: Vec<Candidate>,
    /// Extra members of each group and zone that the fault's filters did not match.
    group_extra: Vec<usize>,
    zone_extra: Vec<usize>,
    /// Zones a zone-wide fault impairs as a whole; empty for instance faults.
    fault_zones: Vec<String>,
    active_zones: BTreeSet<String>,
    acts_on_instances: bool,
    pick: Pick,
    guards: Guards,
    seed: u64,
}

fn tags_from(mask: u8) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for (bit, (k, v)) in TAGS.iter().enumerate() {
        if mask & (1 << bit) != 0 {
            // A later `team` wins: a map holds one value per key, as AWS tags do.
            tags.insert(k.to_string(), v.to_string());
        }
    }
    tags
}

fn zone_subset(mask: u8) -> Vec<String> {
    ZONES.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, z)| z.to_string()).collect()
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![Just(Pick::All), (0u32..40).prop_map(Pick::Count), (1u32..=1000).prop_map(Pick::PercentTenths)]
}

fn guards() -> impl Strategy<Value = Guards> {
    (0u8..32, 0u8..32, proptest::option::of(0u32..12), proptest::option::of(prop_oneof![1u32..=100, Just(100)].prop_map(f64::from)), proptest::option::of(0u32..5)).prop_map(
        |(require, exclude, max_targets, max_percent, max_azs)| Guards {
            // Required: gameday=allowed and/or tier=db; excluded: critical, team=a, team=b.
            require_tags: tags_from(require & 0b0_0001 | require & 0b1_0000),
            exclude_tags: tags_from(exclude & 0b0_1110),
            max_targets,
            max_percent,
            max_azs,
            ..Guards::default()
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    let candidate = (0usize..ZONES.len(), proptest::option::weighted(0.85, 0usize..GROUPS.len()), 0u8..32);
    (
        proptest::collection::vec(candidate, 0..30),
        proptest::collection::vec(0usize..6, GROUPS.len()),
        proptest::collection::vec(0usize..6, ZONES.len()),
        prop_oneof![3 => Just(0u8), 1 => 1u8..16],
        0u8..16,
        any::<bool>(),
        pick(),
        guards(),
        any::<u64>(),
    )
        .prop_map(|(raw, group_extra, zone_extra, zone_mask, active_mask, acts_on_instances, pick, guards, seed)| {
            let fault_zones = zone_subset(zone_mask);
            let candidates = raw
                .into_iter()
                .enumerate()
                .map(|(i, (zone, group, tags))| {
                    // A zone-wide fault reaches only instances inside its zones.
                    let zone = if fault_zones.is_empty() { ZONES[zone].to_string() } else { fault_zones[zone % fault_zones.len()].clone() };
                    Candidate { id: format!("i-{i:03}"), region: "r-1".into(), zone, group: group.map(|g| GROUPS[g].to_string()), tags: tags_from(tags) }
                })
                .collect();
            Case { candidates, group_extra, zone_extra, fault_zones, active_zones: zone_subset(active_mask).into_iter().collect(), acts_on_instances, pick, guards, seed }
        })
}

impl Case {
    fn reach(&self) -> Reach {
        let mut group_sizes = BTreeMap::new();
        for (i, group) in GROUPS.iter().enumerate() {
            let members = self.candidates.iter().filter(|c| c.group.as_deref() == Some(*group)).count();
            group_sizes.insert(group.to_string(), members + self.group_extra[i]);
        }
        let mut zone_sizes = BTreeMap::new();
        for (i, zone) in ZONES.iter().enumerate() {
            let members = self.candidates.iter().filter(|c| c.zone == *zone).count();
            zone_sizes.insert(zone.to_string(), members + self.zone_extra[i]);
        }
        Reach {
            candidates: self.candidates.clone(),
            group_sizes,
            zone_sizes,
            zones: self.fault_zones.clone(),
            regions: vec!["r-1".into()],
            acts_on_instances: self.acts_on_instances,
            ..Reach::default()
        }
    }

    fn fault(&self) -> Fault {
        let action = if let Some(zone) = self.fault_zones.first() {
            FaultAction::AzOutage { zone: zone.clone(), mode: Default::default(), tags: BTreeMap::new(), groups: vec![] }
        } else {
            let targets = match self.pick {
                Pick::All => Targets::default(),
                Pick::Count(n) => Targets { count: Some(n), ..Targets::default() },
                Pick::PercentTenths(t) => Targets { percent: Some(f64::from(t) / 10.0), ..Targets::default() },
            };
            match self.seed % 3 {
                0 => FaultAction::TerminateInstances { targets },
                1 => FaultAction::StopInstances { targets },
                _ => FaultAction::RebootInstances { targets },
            }
        };
        Fault { name: "fault".into(), start_after: vec![], delay: None, duration: None, action }
    }

    fn select(&self) -> Selection {
        guard::select(&self.fault(), &self.guards, &self.reach(), &self.active_zones, &mut SeededRng::new(self.seed))
    }

    fn is_eligible(&self, c: &Candidate) -> bool {
        self.guards.require_tags.iter().all(|(k, v)| c.tags.get(k) == Some(v)) && !self.guards.exclude_tags.iter().any(|(k, v)| c.tags.get(k) == Some(v))
    }

    fn eligible(&self) -> usize {
        self.candidates.iter().filter(|c| self.is_eligible(c)).count()
    }

    /// How many the fault's own selection asks for, by the documented rule.
    fn wanted(&self) -> usize {
        let n = self.eligible();
        if !self.fault_zones.is_empty() {
            return n;
        }
        match self.pick {
            Pick::All => n,
            Pick::Count(count) => (count as usize).min(n),
            // floor(n · p / 100) with p in tenths, but at least one of a non-empty set.
            Pick::PercentTenths(t) if n > 0 => (n * t as usize / 1000).max(1),
            Pick::PercentTenths(_) => 0,
        }
    }
}

fn share_over(chosen: &[Candidate], key: impl Fn(&Candidate) -> Option<String>, sizes: &BTreeMap<String, usize>, max: f64) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in chosen {
        if let Some(k) = key(c) {
            *counts.entry(k).or_default() += 1;
        }
    }
    counts.into_iter().find_map(|(name, n)| {
        let size = sizes[&name];
        // n / size > max / 100, in exact integer maths (max is a whole percent here).
        (n * 100 > size * max as usize).then(|| format!("{n} of {size} in {name} exceeds {max}%"))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn an_unblocked_selection_never_exceeds_the_guards(case in case()) {
        let selection = case.select();
        let reach = case.reach();
        let chosen = &selection.chosen;

        // The selection's own count follows the documented rule, blocked or not.
        prop_assert_eq!(chosen.len(), case.wanted(), "count/percent rule");
        prop_assert_eq!(selection.matched, case.candidates.len());
        prop_assert_eq!(selection.excluded.len() + case.eligible(), case.candidates.len());
        let ids: BTreeSet<&str> = chosen.iter().map(|c| c.id.as_str()).collect();
        prop_assert_eq!(ids.len(), chosen.len(), "a candidate chosen twice");
        for c in chosen {
            prop_assert!(case.candidates.contains(c), "{} was never a candidate", c.id);
            prop_assert!(case.is_eligible(c), "{} is not allowed by the tag guards: {:?}", c.id, c.tags);
        }
        for (id, _) in &selection.excluded {
            prop_assert!(!ids.contains(id.as_str()), "{} both excluded and chosen", id);
        }

        if selection.blocked_by().is_some() {
            return Ok(());
        }
        if case.acts_on_instances {
            prop_assert!(!chosen.is_empty(), "an instance fault went ahead with no target");
        }
        if let Some(max) = case.guards.max_targets {
            prop_assert!(chosen.len() <= max as usize, "{} targets, max_targets {}", chosen.len(), max);
        }
        if let Some(max) = case.guards.max_percent {
            if let Some(over) = share_over(chosen, |c| c.group.clone(), &reach.group_sizes, max) {
                prop_assert!(false, "group share: {}", over);
            }
            // A zone-wide fault takes its zones whole by design; max_azs bounds it instead.
            if case.fault_zones.is_empty()
                && let Some(over) = share_over(chosen, |c| Some(c.zone.clone()), &reach.zone_sizes, max)
            {
                prop_assert!(false, "zone share: {}", over);
            }
        }
        if let Some(max) = case.guards.max_azs {
            let mut impaired = case.active_zones.clone();
            impaired.extend(case.fault_zones.iter().cloned());
            impaired.extend(chosen.iter().map(|c| c.zone.clone()));
            prop_assert!(impaired.len() <= max as usize, "{} zones impaired ({:?}), max_azs {}", impaired.len(), impaired, max);
        }
    }

    #[test]
    fn the_same_seed_chooses_the_same_targets(case in case()) {
        let first = case.select();
        let again = case.select();
        prop_assert_eq!(&first.chosen, &again.chosen);
        prop_assert_eq!(&first.verdicts, &again.verdicts);
        prop_assert_eq!(&first.excluded, &again.excluded);
    }
}
