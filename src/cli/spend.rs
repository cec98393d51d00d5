//! Spending limits at the edge: the config's `limits:`, the `--max-renewals` and
//! `--max-total-price` flags (which override it, limit by limit), and the refusal of a plan that
//! breaks them, before any call is sent. The check itself is the pure `plan::spend`.

use anyhow::bail;

use super::args::MoneyArgs;
use crate::desired::Limits;
use crate::money::Money;
use crate::plan::Plan;
use crate::plan::spend::{self, Limit, SpendLimits};

/// The limits `limits:` of the config `file` sets.
pub fn from_config(limits: Option<&Limits>, file: &str) -> SpendLimits {
    let Some(limits) = limits else {
        return SpendLimits::default();
    };
    SpendLimits {
        max_renewals: limits.max_renewals.map(|value| Limit {
            value,
            set_by: format!("limits.max_renewals in {file}"),
        }),
        max_total_price: match (limits.max_total_price, &limits.currency) {
            (Some(amount), Some(currency)) => Some(Limit {
                value: Money {
                    amount,
                    currency: currency.clone(),
                },
                set_by: format!("limits.max_total_price in {file}"),
            }),
            // Validation refuses a price limit without its currency.
            _ => None,
        },
    }
}

/// The limits the flags set. A `--max-total-price` without a currency takes `fallback`'s (the
/// config's, or the saved plan's), and is an error without one.
pub fn from_flags(args: &MoneyArgs, fallback: &SpendLimits) -> anyhow::Result<SpendLimits> {
    let max_total_price = match &args.max_total_price {
        None => None,
        Some(flag) => {
            let currency = match (&flag.currency, &fallback.max_total_price) {
                (Some(currency), _) => currency.clone(),
                (None, Some(limit)) => limit.value.currency.clone(),
                (None, None) => bail!(
                    "--max-total-price {}: in which currency? Write AMOUNT:CURRENCY, e.g. --max-total-price {}:CNY",
                    flag.amount,
                    flag.amount
                ),
            };
            Some(Limit {
                value: Money {
                    amount: flag.amount,
                    currency,
                },
                set_by: "--max-total-price".to_string(),
            })
        }
    };
    Ok(SpendLimits {
        max_renewals: args.max_renewals.map(|value| Limit {
            value,
            set_by: "--max-renewals".to_string(),
        }),
        max_total_price,
    })
}

/// Refuses `plan` when it breaks `limits`.
pub fn enforce(plan: &Plan, limits: &SpendLimits) -> anyhow::Result<()> {
    spend::check(plan, limits)?;
    Ok(())
}
