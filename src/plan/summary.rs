//! The counts of a plan (`summary` in the plan JSON): what was observed, managed, changed, left
//! alone and why, and the calls. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::money::Amount;

/// Counts of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Subscription instances observed in the config's regions.
    pub observed: u64,
    /// Instances governed by a policy (skipped ones included).
    pub managed: u64,
    /// Observed instances no policy matches: never touched.
    pub unmanaged: u64,
    /// Managed instances left alone with a warning (pay-as-you-go, or a change the API would
    /// refuse).
    pub skipped: u64,
    /// `modify_auto_renew` changes.
    pub to_modify: u64,
    /// `renew` changes.
    pub to_renew: u64,
    /// Managed instances already as desired.
    pub unchanged: u64,
    /// Mutating requests apply will send (the length of `calls`).
    pub api_calls: u64,
    /// Read requests made to plan: observing, then pricing the renewals (one each).
    pub read_calls: u64,
    /// Observed instances in `risk` (expiring within the risk window, or expired, with nothing
    /// renewing them).
    #[serde(default)]
    pub at_risk: u64,
    /// Changes a protection rule blocked (in `Plan::blocked`): never applied.
    #[serde(default)]
    pub blocked: u64,
    /// Errors of the plan (`Plan::errors`): instances and regions left untouched.
    #[serde(default)]
    pub errors: u64,
    /// The known renewal prices, totalled per currency.
    #[serde(default)]
    pub total_price: BTreeMap<String, Amount>,
    /// Renewals whose price is unknown (not counted in `total_price`).
    #[serde(default)]
    pub unknown_prices: u64,
}

/// What the planner counted while visiting the instances.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counts {
    pub observed: u64,
    pub managed: u64,
    pub skipped: u64,
    /// Managed instances with a change planned.
    pub changed: u64,
    /// Managed instances whose only change is blocked.
    pub blocked_only: u64,
    /// Managed instances left out as errors of the plan.
    pub errored: u64,
    pub read_calls: u64,
}

impl Summary {
    /// The summary of a plan with `changes` and those counts; prices are totalled later
    /// (`cost::summarize`).
    pub(super) fn count(
        counts: Counts,
        changes: &[super::Change],
        calls: usize,
        at_risk: usize,
        blocked: usize,
        errors: usize,
    ) -> Summary {
        let renewals = changes.iter().filter(|c| c.renewal().is_some()).count() as u64;
        Summary {
            observed: counts.observed,
            managed: counts.managed,
            unmanaged: counts.observed.saturating_sub(counts.managed),
            skipped: counts.skipped,
            to_modify: changes.len() as u64 - renewals,
            to_renew: renewals,
            unchanged: counts.managed.saturating_sub(
                counts.skipped + counts.changed + counts.blocked_only + counts.errored,
            ),
            api_calls: calls as u64,
            read_calls: counts.read_calls,
            at_risk: at_risk as u64,
            blocked: blocked as u64,
            errors: errors as u64,
            ..Summary::default()
        }
    }
}
