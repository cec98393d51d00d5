//! Tag policies that can meet: two tag selectors that one instance could satisfy both of (no
//! key they both list with two different concrete values) and that disagree on a setting. A
//! warning naming both, with an example of such an instance, because `plan` fails for any real
//! instance that matches both (DESIGN.md §2); the file itself is still valid.

use std::collections::BTreeMap;

use super::diagnostic::{Diagnostic, Target};
use super::model::RenewalPolicy;
use super::path::FieldPath;

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
    let tag_policies: Vec<(usize, &RenewalPolicy, &BTreeMap<String, String>)> = policies
        .iter()
        .filter(|(_, p)| p.selector.ids.is_none())
        .filter_map(|(i, p)| p.selector.tags.as_ref().map(|tags| (*i, p, tags)))
        .collect();
    let mut out = Vec::new();
    for (n, &(i, first, first_tags)) in tag_policies.iter().enumerate() {
        for &(j, second, second_tags) in &tag_policies[n + 1..] {
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
