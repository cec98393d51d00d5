//! Tag policies that can meet: two tag selectors that one instance could satisfy both of (no
//! key they both list with two different concrete values) and that disagree on a setting. A
//! warning naming both, with an example of such an instance, because `plan` fails for any real
//! instance that matches both (DESIGN.md §2); the file itself is still valid.

use std::collections::BTreeMap;

use super::diagnostic::{Diagnostic, Target};
use super::model::RenewalPolicy;
use super::path::FieldPath;

/// Pairs of tag policies compared at most (about 2,000 tag policies), so that a generated file
/// with a hundred thousand of them is validated in bounded time.
pub const MAX_PAIRS: usize = 2_000_000;

/// The tags of an instance both selectors match: their union, a concrete value winning over
/// `*`, which stays as `<any>`.
fn example_instance(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> String {
    let mut union: BTreeMap<&str, &str> = BTreeMap::new();
    for (key, value) in a.iter().chain(b) {
        let slot = union.entry(key).or_insert(value);
        if *slot == "*" {
            *slot = value;
        }
    }
    union
        .iter()
        .map(|(k, v)| match *v {
            "*" => format!("{k}=<any>"),
            v => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tag policies that one instance could satisfy both of, and that disagree: a warning naming
/// both, at the second one, pointing at the first.
pub fn check(policies: &[(usize, RenewalPolicy)]) -> Vec<Diagnostic> {
    check_pairs(policies, MAX_PAIRS)
}

/// `check`, comparing at most `max_pairs` pairs.
fn check_pairs(policies: &[(usize, RenewalPolicy)], max_pairs: usize) -> Vec<Diagnostic> {
    let tag_policies: Vec<(usize, &RenewalPolicy, &BTreeMap<String, String>)> = policies
        .iter()
        .filter(|(_, p)| p.selector.ids.is_none())
        .filter_map(|(i, p)| p.selector.tags.as_ref().map(|tags| (*i, p, tags)))
        .collect();
    let mut out = Vec::new();
    let mut pairs = 0usize;
    for (n, &(i, first, first_tags)) in tag_policies.iter().enumerate() {
        for &(j, second, second_tags) in &tag_policies[n + 1..] {
            pairs += 1;
            if pairs > max_pairs {
                out.push(Diagnostic::warning(
                    FieldPath::root().key("policies"),
                    format!(
                        "{} tag policies are too many to compare pairwise; overlaps after policies[{i}] were not checked",
                        tag_policies.len()
                    ),
                    "plan still fails on any instance that two disagreeing tag policies match",
                ));
                return out;
            }
            if !first.selector.tags_may_overlap(&second.selector) {
                continue;
            }
            let Some(setting) = first.first_difference(second) else {
                continue;
            };
            out.push(
                Diagnostic::warning(
                    FieldPath::policy(j).at("match.tags"),
                    format!(
                        "tag policies {:?} and {:?} can match the same instance (one tagged {}) and disagree on {setting}",
                        first.name,
                        second.name,
                        example_instance(first_tags, second_tags)
                    ),
                    "plan fails for an instance that matches both: make the tags exclusive (one key with different values), align the settings, or list such instances in an ids policy",
                )
                .label(format!("overlaps {:?}", first.name))
                .related(
                    FieldPath::policy(i).at("match.tags"),
                    Target::Value,
                    format!("{:?} matches here", first.name),
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{DesiredState, parse};

    fn policies(yaml: &str) -> Vec<(usize, RenewalPolicy)> {
        let head = "version: 1\nregions: [cn-hangzhou]\npolicies:\n";
        let desired: DesiredState = match parse(format!("{head}{yaml}").as_bytes(), "t.yaml") {
            Ok(config) => config.desired,
            Err(err) => panic!("{err}"),
        };
        desired.policies.into_iter().enumerate().collect()
    }

    #[test]
    fn too_many_pairs_stop_with_a_warning_saying_so() {
        let yaml: String = (0..5)
            .map(|i| {
                format!(
                    "  - name: p{i}\n    match: {{tags: {{team: t{i}}}}}\n    renewal: manual\n"
                )
            })
            .collect();
        let policies = policies(&yaml);
        // Ten pairs, all exclusive: nothing to say when every pair is compared.
        assert!(check_pairs(&policies, 10).is_empty());
        let out = check_pairs(&policies, 3);
        assert_eq!(out.len(), 1);
        assert!(
            out[0]
                .message
                .starts_with("5 tag policies are too many to compare pairwise"),
            "{}",
            out[0].message
        );
    }
}
