//! The price of each renewal in a plan, and the totals. Pure: the planner leaves prices unread;
//! the shell (`crate::price`) asks DescribeRenewalPrice for each renewal after planning and hands
//! the answers to [`set_prices`], which records them on the changes and totals them per currency
//! in the summary.
//!
//! DescribeRenewalPrice takes `Period` with `PriceUnit` (not `PeriodUnit`): Month 1–9 or Year
//! 1–3 (ecs-api.md §3.5). A renewal is priced by the query of the same length: 1–9 months as
//! months, 12, 24 and 36 months as 1, 2 and 3 years. A renewal of 48 or 60 months, or of weeks,
//! has no such query: its price is unknown, never zero, and says why.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{Action, Change, Plan};
use crate::money::Amount;

/// What DescribeRenewalPrice says a renewal costs: its `TradePrice` (after discounts) and
/// `Currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub trade_price: Amount,
    pub currency: String,
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.trade_price, self.currency)
    }
}

/// DescribeRenewalPrice's `PriceUnit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceUnit {
    Month,
    Year,
}

impl PriceUnit {
    pub fn as_api(self) -> &'static str {
        match self {
            PriceUnit::Month => "Month",
            PriceUnit::Year => "Year",
        }
    }
}

/// The `Period` and `PriceUnit` that price a renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceQuery {
    pub period: u32,
    pub unit: PriceUnit,
}

/// The price of a renewal as the plan knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quote {
    Known(Price),
    /// Unknown, and why.
    Unknown(String),
}

/// The query that prices `change`, or why none can: it is not a renewal, or its length has no
/// DescribeRenewalPrice equivalent.
pub fn price_query(change: &Change) -> Result<PriceQuery, String> {
    if change.action != Action::Renew {
        return Err("only renewals are priced".to_string());
    }
    let period = change.period.unwrap_or(1);
    let unit = change.period_unit.as_deref().unwrap_or("Month");
    if unit.eq_ignore_ascii_case("Month") {
        match period {
            1..=9 => Ok(PriceQuery {
                period,
                unit: PriceUnit::Month,
            }),
            12 | 24 | 36 => Ok(PriceQuery {
                period: period / 12,
                unit: PriceUnit::Year,
            }),
            _ => Err(format!(
                "DescribeRenewalPrice prices 1 to 9 months or 1 to 3 years, not {period} months"
            )),
        }
    } else {
        Err(format!(
            "DescribeRenewalPrice prices months and years, not a renewal in {unit}s"
        ))
    }
}

impl Change {
    /// The price of this change: `None` when it is not a renewal.
    pub fn quote(&self) -> Option<Quote> {
        if self.action != Action::Renew {
            return None;
        }
        Some(match (&self.price, &self.price_unknown) {
            (Some(Some(price)), _) => Quote::Known(price.clone()),
            (_, Some(why)) => Quote::Unknown(why.clone()),
            (None, None) => Quote::Unknown("its price was not read".to_string()),
            (Some(None), None) => Quote::Unknown("no reason recorded".to_string()),
        })
    }

    /// Records `quote` on this change (renewals only).
    pub fn set_quote(&mut self, quote: Quote) {
        if self.action != Action::Renew {
            return;
        }
        match quote {
            Quote::Known(price) => {
                self.price = Some(Some(price));
                self.price_unknown = None;
            }
            Quote::Unknown(why) => {
                self.price = Some(None);
                self.price_unknown = Some(why);
            }
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

/// Sets `summary.total_price` and `summary.unknown_prices` from the changes.
pub fn summarize(plan: &mut Plan) {
    let (total, unknown) = totals(&plan.changes);
    plan.summary.total_price = total;
    plan.summary.unknown_prices = unknown;
}

/// Reads a key that may hold `null`: absent is `None`, `null` is `Some(None)`.
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}
