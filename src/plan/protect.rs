//! Protected instances: renewctl never lowers their renewal. Pure.
//!
//! Renewal ranks AutoRenewal (renews by itself) above Normal (waits for a renewal) above
//! NotRenewal (released after expiry). A change *lowers* renewal when the status after it ranks
//! below the status before it: auto-renewal turned off, or never-renew set. A change of the
//! auto-renew period (AutoRenewal to AutoRenewal, even a shorter one) is not lowering: the
//! instance keeps renewing itself; and a renewal (RenewInstance) only ever extends. A status
//! renewctl does not know is ranked with AutoRenewal, so that protection errs on the side of
//! doing nothing.
//!
//! An instance is protected by `protect: true` on the policy that governs it, or by carrying
//! every tag of the top-level `protect: {tags: …}` rule (whatever policy governs it).

use crate::desired::{DesiredState, RenewalPolicy};
use crate::observed::{InstanceSnapshot, RenewalStatus};

/// How much renewal a status gives: higher keeps the instance alive longer without anyone.
pub fn rank(status: &RenewalStatus) -> u8 {
    match status {
        RenewalStatus::NotRenewal => 0,
        RenewalStatus::Normal => 1,
        RenewalStatus::AutoRenewal | RenewalStatus::Other(_) => 2,
    }
}

/// Whether moving from `before` to `after` lowers renewal.
pub fn lowers(before: &RenewalStatus, after: &RenewalStatus) -> bool {
    rank(after) < rank(before)
}

/// The rule that protects `instance` under `policy`, in words for the plan, or `None`.
pub fn protected_by(
    desired: &DesiredState,
    policy: &RenewalPolicy,
    instance: &InstanceSnapshot,
) -> Option<String> {
    if policy.protects() {
        return Some(format!("`protect: true` of policy {:?}", policy.name));
    }
    let rule = desired.protect.as_ref()?;
    let carries_all = !rule.tags.is_empty()
        && rule.tags.iter().all(|(key, value)| {
            instance
                .tags
                .get(key)
                .is_some_and(|v| value == "*" || v == value)
        });
    carries_all.then(|| {
        let tags: Vec<String> = rule.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("the top-level `protect` rule (tags {})", tags.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowering_is_a_step_down_the_ranks() {
        use RenewalStatus::*;
        assert!(lowers(&AutoRenewal, &Normal));
        assert!(lowers(&AutoRenewal, &NotRenewal));
        assert!(lowers(&Normal, &NotRenewal));
        assert!(!lowers(&Normal, &AutoRenewal));
        assert!(!lowers(&NotRenewal, &Normal));
        assert!(!lowers(&AutoRenewal, &AutoRenewal), "a period change");
        assert!(
            lowers(&Other("RenewChange".into()), &Normal),
            "unknown errs safe"
        );
        assert!(!lowers(&Other("RenewChange".into()), &AutoRenewal));
    }
}
