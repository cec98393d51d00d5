//! What a plan's renewals cost: each renewal's price as far as it is known, and the totals per
//! currency. Pure: the planner leaves prices unasked; the engine (`crate::engine::quotes`) asks
//! DescribeRenewalPrice for each renewal after planning and hands the answers to
//! [`set_prices`], which records them on the changes and totals them in the summary. An
//! unknown price is never counted as zero.

use std::collections::BTreeMap;

use super::{Change, Plan, PriceState};
use crate::ecs::Price;
use crate::money::Amount;

/// The price of a renewal as the plan knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quote {
    Known(Price),
    /// Unknown, and why.
    Unknown(String),
}

impl Change {
    /// The price of this change: `None` when it is not a renewal.
    pub fn quote(&self) -> Option<Quote> {
        Some(match &self.renewal()?.price {
            PriceState::Known(price) => Quote::Known(price.clone()),
            PriceState::Unknown(why) => Quote::Unknown(why.clone()),
            PriceState::NotAsked => Quote::Unknown("its price was not read".to_string()),
        })
    }

    /// Records `quote` on this change (renewals only).
    pub fn set_quote(&mut self, quote: Quote) {
        if let Some(renewal) = self.renewal_mut() {
            renewal.price = match quote {
                Quote::Known(price) => PriceState::Known(price),
                Quote::Unknown(why) => PriceState::Unknown(why),
            };
        }
    }
}

/// Totals per currency of the known prices, and how many renewals have no known price.
pub fn totals(changes: &[Change]) -> (BTreeMap<String, Amount>, u64) {
    let mut total: BTreeMap<String, Amount> = BTreeMap::new();
    let mut unknown = 0;
    for quote in changes.iter().filter_map(Change::quote) {
        match quote {
            Quote::Known(price) => {
                let sum = total.entry(price.currency).or_default();
                *sum = sum.saturating_add(price.trade_price);
            }
            Quote::Unknown(_) => unknown += 1,
        }
    }
    (total, unknown)
}

/// Records the quotes (by change index; renewals without one stay as they are) and `reads`
/// more read calls, and recomputes the summary's totals.
pub fn set_prices(plan: &mut Plan, quotes: Vec<(usize, Quote)>, reads: u64) {
    for (index, quote) in quotes {
        if let Some(change) = plan.changes.get_mut(index) {
            change.set_quote(quote);
        }
    }
    plan.summary.read_calls += reads;
    summarize(plan);
}

/// Sets `summary.total_price` and `summary.unknown_prices` from the changes, and the subtotals
/// of `--group-by` when asked for.
pub fn summarize(plan: &mut Plan) {
    let (total, unknown) = totals(&plan.changes);
    plan.summary.total_price = total;
    plan.summary.unknown_prices = unknown;
    if let Some(groups) = &mut plan.groups {
        groups.rows = group_rows(&plan.changes, &groups.members);
    }
}

/// Subtotals of renewal cost and counts per tag value (`--group-by tag:KEY`): chargeback per
/// team or project. Instances without the tag form the group `null`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Groups {
    /// The tag key.
    pub key: String,
    pub rows: Vec<GroupRow>,
    /// Each changed instance's value of the tag (kept while planning and pricing).
    #[serde(skip)]
    pub members: BTreeMap<String, Option<String>>,
}

/// One tag value's share of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct GroupRow {
    /// The tag's value; `None` for instances without the tag.
    pub value: Option<String>,
    pub renewals: u64,
    pub modifications: u64,
    /// Known renewal prices, per currency.
    pub total_price: BTreeMap<String, Amount>,
    pub unknown_prices: u64,
}

fn group_rows(changes: &[Change], members: &BTreeMap<String, Option<String>>) -> Vec<GroupRow> {
    let mut rows: BTreeMap<Option<String>, Vec<&Change>> = BTreeMap::new();
    for change in changes {
        let value = members.get(&change.instance_id).cloned().flatten();
        rows.entry(value).or_default().push(change);
    }
    // Tag values in order, instances without the tag last.
    let (untagged, tagged): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(v, _)| v.is_none());
    tagged
        .into_iter()
        .chain(untagged)
        .map(|(value, changes)| {
            let owned: Vec<Change> = changes.iter().map(|c| (*c).clone()).collect();
            let (total_price, unknown_prices) = totals(&owned);
            GroupRow {
                value,
                renewals: changes.iter().filter(|c| c.renewal().is_some()).count() as u64,
                modifications: changes.iter().filter(|c| c.renewal().is_none()).count() as u64,
                total_price,
                unknown_prices,
            }
        })
        .collect()
}
