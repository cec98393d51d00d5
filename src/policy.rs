//! Matching and precedence: which policy governs which instance, and why (DESIGN.md §2).
//! A policy listing the instance's id beats every tag policy; two tag policies that match one
//! instance must agree on every setting, or the instance is a conflict naming both. Pure.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::desired::{DesiredState, RenewalPolicy};
use crate::observed::{InstanceSnapshot, Tags};

/// Why a policy matched an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchReason {
    /// The policy lists the instance id.
    Id,
    /// The instance carries every tag the policy lists.
    Tags(BTreeMap<String, String>),
}

impl fmt::Display for MatchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchReason::Id => f.write_str("lists its id"),
            MatchReason::Tags(tags) => {
                let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "matches tags {}", tags.join(", "))
            }
        }
    }
}

/// The policy that governs an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Governing<'a> {
    /// Index in `DesiredState::policies`.
    pub index: usize,
    pub policy: &'a RenewalPolicy,
    pub reason: MatchReason,
    /// Other policies that matched too (tag policies that agree, or tag policies overridden by
    /// an id policy), by index.
    pub also_matched: Vec<usize>,
}

/// Two tag policies that match one instance and disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub instance_id: String,
    pub first: String,
    pub second: String,
    /// The first setting on which they differ.
    pub setting: &'static str,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "instance {} is matched by tag policies {:?} and {:?}, which disagree on {}: \
             make their tags exclusive, align the setting, or list the instance in an ids policy",
            self.instance_id, self.first, self.second, self.setting
        )
    }
}

/// Does the tag selector match these tags? Every listed tag must be present with this value;
/// `"*"` accepts any value.
pub fn tags_match(wanted: &BTreeMap<String, String>, tags: &Tags) -> bool {
    wanted.iter().all(|(key, value)| {
        tags.get(key)
            .is_some_and(|have| value == "*" || have == value)
    })
}

fn lists_id(policy: &RenewalPolicy, id: &str) -> bool {
    policy
        .selector
        .ids
        .as_ref()
        .is_some_and(|ids| ids.iter().any(|i| i == id))
}

fn tag_selector(policy: &RenewalPolicy) -> Option<&BTreeMap<String, String>> {
    policy.selector.tags.as_ref()
}

/// Why a tag selector does not match these tags (the first listed tag that fails), `None` when
/// it matches. Agrees with `tags_match`, which stays allocation-free for the planner.
pub fn tags_mismatch(wanted: &BTreeMap<String, String>, tags: &Tags) -> Option<String> {
    wanted.iter().find_map(|(key, value)| match tags.get(key) {
        None => Some(format!("has no tag {key}")),
        Some(have) if value != "*" && have != value => {
            Some(format!("tag {key} is {have:?}, the policy wants {value:?}"))
        }
        Some(_) => None,
    })
}

/// Why `policy` matches `instance`, or why not: what `explain` shows for each policy.
pub fn match_reason(
    policy: &RenewalPolicy,
    instance: &InstanceSnapshot,
) -> Result<MatchReason, String> {
    if lists_id(policy, &instance.instance_id) {
        return Ok(MatchReason::Id);
    }
    match tag_selector(policy) {
        Some(tags) => match tags_mismatch(tags, &instance.tags) {
            None => Ok(MatchReason::Tags(tags.clone())),
            Some(why) => Err(why),
        },
        None => Err("does not list this id".to_string()),
    }
}

/// The policies of a desired state, indexed for matching many instances: which policy lists
/// each id (looked up, not searched: an exported file lists tens of thousands of ids), and which
/// policies match by tags. Build it once per observation or plan.
pub struct Matcher<'a> {
    desired: &'a DesiredState,
    by_id: HashMap<&'a str, usize>,
    by_tags: Vec<(usize, &'a BTreeMap<String, String>)>,
}

impl<'a> Matcher<'a> {
    pub fn new(desired: &'a DesiredState) -> Matcher<'a> {
        let mut by_id = HashMap::new();
        let mut by_tags = Vec::new();
        for (index, policy) in desired.policies.iter().enumerate() {
            // Validation guarantees at most one ids policy lists an id; the first one wins.
            for id in policy.selector.ids.iter().flatten() {
                by_id.entry(id.as_str()).or_insert(index);
            }
            if let Some(tags) = tag_selector(policy) {
                by_tags.push((index, tags));
            }
        }
        Matcher {
            desired,
            by_id,
            by_tags,
        }
    }

    /// Would any policy match this instance? Cheap pre-check used by `observe` to decide whose
    /// auto-renew attribute to read (conflicts are found later, by `govern`).
    pub fn is_matched(&self, instance: &InstanceSnapshot) -> bool {
        self.by_id.contains_key(instance.instance_id.as_str())
            || self
                .by_tags
                .iter()
                .any(|(_, tags)| tags_match(tags, &instance.tags))
    }

    /// The policy governing `instance`, `None` when unmanaged.
    pub fn govern(&self, instance: &InstanceSnapshot) -> Result<Option<Governing<'a>>, Conflict> {
        let policies = &self.desired.policies;
        let by_tags: Vec<usize> = self
            .by_tags
            .iter()
            .filter(|(_, tags)| tags_match(tags, &instance.tags))
            .map(|&(i, _)| i)
            .collect();

        if let Some(&index) = self.by_id.get(instance.instance_id.as_str()) {
            return Ok(Some(Governing {
                index,
                policy: &policies[index],
                reason: MatchReason::Id,
                also_matched: by_tags,
            }));
        }

        let Some((&first, rest)) = by_tags.split_first() else {
            return Ok(None);
        };
        let governing = &policies[first];
        for &other in rest {
            if let Some(setting) = governing.first_difference(&policies[other]) {
                return Err(Conflict {
                    instance_id: instance.instance_id.clone(),
                    first: governing.name.clone(),
                    second: policies[other].name.clone(),
                    setting,
                });
            }
        }
        Ok(Some(Governing {
            index: first,
            policy: governing,
            reason: MatchReason::Tags(tag_selector(governing).cloned().unwrap_or_default()),
            also_matched: rest.to_vec(),
        }))
    }
}

/// Would any policy match this instance? For one instance; use a `Matcher` for many.
pub fn is_matched(desired: &DesiredState, instance: &InstanceSnapshot) -> bool {
    Matcher::new(desired).is_matched(instance)
}

/// The policy governing `instance`, `None` when unmanaged. For one instance; use a `Matcher`
/// for many.
pub fn govern<'a>(
    desired: &'a DesiredState,
    instance: &InstanceSnapshot,
) -> Result<Option<Governing<'a>>, Conflict> {
    Matcher::new(desired).govern(instance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn mismatch_reasons_agree_with_matching() {
        let have = Tags::from(tags(&[("env", "prod"), ("tier", "web")]));
        for (wanted, why) in [
            (tags(&[("env", "prod")]), None),
            (tags(&[("env", "*"), ("tier", "web")]), None),
            (tags(&[]), None),
            (tags(&[("team", "batch")]), Some("has no tag team")),
            (
                tags(&[("env", "staging")]),
                Some("tag env is \"prod\", the policy wants \"staging\""),
            ),
        ] {
            assert_eq!(tags_mismatch(&wanted, &have).as_deref(), why);
            assert_eq!(tags_match(&wanted, &have), why.is_none());
        }
    }
}
