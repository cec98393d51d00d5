//! `renewctl export`: a renewal.yaml that declares the renewal instances have now, so a team can
//! adopt renewctl with a first plan of "No changes". Pure: observed instances in, policies out
//! (`yaml` writes them).
//!
//! Instances with the same setting form a group. A group becomes a tag policy when a set of
//! tags covers it exactly: every member carries them, and no other subscription instance of the
//! regions does (a tag policy also governs instances that were not exported, so anything less
//! would change them). Otherwise it becomes an ids policy. Tag sets are kept short, but never
//! shortened into one that could meet another group's (`validate` would warn). No policy gets a
//! `min_remaining`: the live state cannot say when a team wants renewals bought.

pub mod yaml;

use std::collections::{BTreeMap, BTreeSet};

use crate::desired::limits::auto_renew_setting;
use crate::desired::{Period, PeriodUnit, Selector};
use crate::observed::{InstanceSnapshot, RenewalStatus};
use crate::policy::tags_match;

/// The renewal an instance has, as a policy declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Setting {
    /// Auto-renewal every (unit, count), kept in the unit the API reports.
    Auto(PeriodUnit, u32),
    Manual,
    Never,
}

impl Setting {
    /// The name of an ids policy with this setting: `auto-1-month`, `manual`, `never`.
    fn name(self) -> String {
        match self {
            Setting::Auto(unit, count) => {
                format!("auto-{}", Period::new(count, unit)).replace(' ', "-")
            }
            Setting::Manual => "manual".to_string(),
            Setting::Never => "never".to_string(),
        }
    }
}

/// What an instance's observed renewal is as a policy setting, or why none can declare it.
pub fn setting_of(instance: &InstanceSnapshot) -> Result<Setting, String> {
    let Some(renewal) = &instance.renewal else {
        return Err("its auto-renew attribute was not read".to_string());
    };
    match &renewal.status {
        RenewalStatus::Normal => Ok(Setting::Manual),
        RenewalStatus::NotRenewal => Ok(Setting::Never),
        RenewalStatus::AutoRenewal => {
            let unit = match renewal.period_unit.to_ascii_lowercase().as_str() {
                "week" => PeriodUnit::Week,
                "month" => PeriodUnit::Month,
                "year" => PeriodUnit::Year,
                other => {
                    return Err(format!("it auto-renews in an unknown unit {other:?}"));
                }
            };
            let period = Period::new(renewal.duration, unit);
            // What the API answered is what the account's site accepts: read with the widest
            // set; a weekly period then makes the export declare `site: china`.
            auto_renew_setting(period, Some(crate::ecs::Site::China))
                .map(|_| Setting::Auto(unit, renewal.duration))
                .map_err(|why| {
                    format!("it auto-renews every {period}, which no policy can declare: {why}")
                })
        }
        RenewalStatus::Other(status) => Err(format!("its renewal status {status:?} is unknown")),
    }
}

/// The instances a policy matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Members {
    Tags(BTreeMap<String, String>),
    /// (region, id, name), sorted.
    Ids(Vec<(String, String, String)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPolicy {
    pub name: String,
    pub members: Members,
    pub setting: Setting,
    /// How many instances it governs.
    pub count: usize,
}

impl ExportPolicy {
    pub fn selector(&self) -> Selector {
        match &self.members {
            Members::Tags(tags) => Selector {
                ids: None,
                tags: Some(tags.clone()),
            },
            Members::Ids(ids) => Selector {
                ids: Some(ids.iter().map(|(_, id, _)| id.clone()).collect()),
                tags: None,
            },
        }
    }
}

/// The exported state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub regions: Vec<String>,
    /// The `--tag` filter the export was limited to.
    pub filter: BTreeMap<String, String>,
    pub policies: Vec<ExportPolicy>,
    /// Selected instances no policy can declare, with the reason.
    pub left_out: Vec<(String, String)>,
}

impl Export {
    /// The site the export must declare: the China site when a policy auto-renews weekly (only
    /// it accepts that), else none.
    pub fn site(&self) -> Option<crate::ecs::Site> {
        self.policies
            .iter()
            .any(|p| matches!(p.setting, Setting::Auto(PeriodUnit::Week, _)))
            .then_some(crate::ecs::Site::China)
    }

    /// Instances the export declares.
    pub fn instances(&self) -> usize {
        self.policies.iter().map(|p| p.count).sum()
    }
}

/// The tags every member carries with the same value (no `*` value, which a selector would
/// read as "any", and no blank key, which validation refuses).
fn common_tags(members: &[&InstanceSnapshot]) -> BTreeMap<String, String> {
    let Some((first, rest)) = members.split_first() else {
        return BTreeMap::new();
    };
    first
        .tags
        .iter()
        .filter(|(k, v)| !k.trim().is_empty() && v.as_str() != "*")
        .filter(|(k, v)| rest.iter().all(|m| m.tags.get(k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Does `selector` match exactly the instances in `ids` among `universe`?
fn covers_exactly(
    selector: &BTreeMap<String, String>,
    universe: &[InstanceSnapshot],
    ids: &BTreeSet<&str>,
) -> bool {
    if selector.is_empty() {
        return false;
    }
    let mut matched = 0;
    for instance in universe {
        if tags_match(selector, &instance.tags) {
            if !ids.contains(instance.instance_id.as_str()) {
                return false;
            }
            matched += 1;
        }
    }
    matched == ids.len()
}

/// Could two tag selectors match one instance (no shared key with two values)?
fn may_overlap(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    let selector = |tags: &BTreeMap<String, String>| Selector {
        ids: None,
        tags: Some(tags.clone()),
    };
    selector(a).tags_may_overlap(&selector(b))
}

/// Policy names from tags: `env-prod-tier-web`; letters, digits, `-` and `_` only.
fn tag_name(tags: &BTreeMap<String, String>) -> String {
    let raw: Vec<String> = tags.iter().map(|(k, v)| format!("{k}-{v}")).collect();
    let name: String = raw
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    if name.trim_matches('-').is_empty() {
        "tagged".to_string()
    } else {
        name
    }
}

/// Exports the instances of `universe` (every subscription instance of `regions`) that carry
/// `filter`.
pub fn export(
    regions: &[String],
    filter: &BTreeMap<String, String>,
    universe: &[InstanceSnapshot],
) -> Export {
    let mut groups: BTreeMap<Setting, Vec<&InstanceSnapshot>> = BTreeMap::new();
    let mut left_out = Vec::new();
    for instance in universe.iter().filter(|i| tags_match(filter, &i.tags)) {
        match setting_of(instance) {
            Ok(setting) => groups.entry(setting).or_default().push(instance),
            Err(why) => left_out.push((instance.instance_id.clone(), why)),
        }
    }

    // Which groups a tag set covers exactly, with the full common set to start from.
    let mut tag_sets: BTreeMap<Setting, BTreeMap<String, String>> = BTreeMap::new();
    for (setting, members) in &groups {
        let ids: BTreeSet<&str> = members.iter().map(|m| m.instance_id.as_str()).collect();
        let common = common_tags(members);
        if covers_exactly(&common, universe, &ids) {
            tag_sets.insert(*setting, common);
        }
    }
    // Shorten each tag set while it still covers its group exactly and does not come to
    // overlap a tag set it was apart from.
    let settings: Vec<Setting> = tag_sets.keys().copied().collect();
    for setting in &settings {
        let ids: BTreeSet<&str> = groups[setting]
            .iter()
            .map(|m| m.instance_id.as_str())
            .collect();
        let keys: Vec<String> = tag_sets[setting].keys().cloned().collect();
        for key in keys {
            let current = tag_sets[setting].clone();
            let mut shorter = current.clone();
            shorter.remove(&key);
            let apart = tag_sets
                .iter()
                .filter(|(s, _)| *s != setting)
                .all(|(_, other)| !may_overlap(&shorter, other) || may_overlap(&current, other));
            if apart && covers_exactly(&shorter, universe, &ids) {
                tag_sets.insert(*setting, shorter);
            }
        }
    }

    let mut used = BTreeSet::new();
    let mut unique = |base: String| {
        let mut name = base.clone();
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    };
    let policies = groups
        .iter()
        .map(|(setting, members)| {
            let (name, members_out) = match tag_sets.get(setting) {
                Some(tags) => (tag_name(tags), Members::Tags(tags.clone())),
                None => {
                    let mut ids: Vec<(String, String, String)> = members
                        .iter()
                        .map(|m| {
                            (
                                m.region.clone(),
                                m.instance_id.clone(),
                                m.instance_name.clone(),
                            )
                        })
                        .collect();
                    ids.sort();
                    (setting.name(), Members::Ids(ids))
                }
            };
            ExportPolicy {
                name: unique(name),
                members: members_out,
                setting: *setting,
                count: members.len(),
            }
        })
        .collect();

    Export {
        regions: regions.to_vec(),
        filter: filter.clone(),
        policies,
        left_out,
    }
}
