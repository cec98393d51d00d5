//! What a renewal costs, as DescribeRenewalPrice answers (ecs-api.md §3.5), and which query
//! prices which renewal. The action takes `Period` with `PriceUnit` (not `PeriodUnit`): Month 1–9
//! or Year 1–3. A renewal is priced by the query of the same length: 1–9 months as months, 12,
//! 24 and 36 months as 1, 2 and 3 years. A renewal of 48 or 60 months, or of weeks, has no such
//! query: its price is unknown, never zero, and says why.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::period::{PeriodUnit, RenewalPeriod};
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

impl PriceQuery {
    /// The query that prices a renewal of `period`, or why none can.
    pub fn for_renewal(period: RenewalPeriod) -> Result<PriceQuery, String> {
        match period.unit {
            PeriodUnit::Month => match period.count {
                n @ 1..=9 => Ok(PriceQuery {
                    period: n,
                    unit: PriceUnit::Month,
                }),
                n @ (12 | 24 | 36) => Ok(PriceQuery {
                    period: n / 12,
                    unit: PriceUnit::Year,
                }),
                n => Err(format!(
                    "DescribeRenewalPrice prices 1 to 9 months or 1 to 3 years, not {n} months"
                )),
            },
            unit => Err(format!(
                "DescribeRenewalPrice prices months and years, not a renewal in {unit}s"
            )),
        }
    }
}
