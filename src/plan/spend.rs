//! Spending limits: how many renewals a plan may buy and how much they may cost in all. They
//! come from the config (`limits:`), from flags (which override it, limit by limit), and are
//! recorded in the plan so that `apply plan.json` checks them again. Checking is pure: a plan
//! and its limits in, every violation out, each naming the limit, where it was set, and the
//! figure that breaks it. A plan with a violation is refused before any call is sent.
//!
//! A price limit must be provable: every renewal's price must be known and in the limit's
//! currency. An unknown price, or one in another currency, refuses the plan as surely as a
//! total over the limit (renewctl never converts currencies, and never counts unknown as zero).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Plan;
use super::cost::{Quote, totals};
use crate::desired::Limits;
use crate::money::{Amount, Money};

/// `--max-total-price AMOUNT[:CURRENCY]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceLimitFlag {
    pub amount: Amount,
    pub currency: Option<String>,
}

/// `5000`, `5000:CNY`, `1250.50:usd`.
pub fn parse_price_limit(text: &str) -> Result<PriceLimitFlag, String> {
    let (amount, currency) = match text.split_once(':') {
        Some((amount, currency)) => (amount, Some(currency.trim().to_ascii_uppercase())),
        None => (text, None),
    };
    let amount = Amount::parse(amount)?;
    if let Some(code) = &currency
        && !crate::money::is_currency_code(code)
    {
        return Err(format!(
            "{code:?} is not a currency code: write AMOUNT:CURRENCY such as 5000:CNY"
        ));
    }
    Ok(PriceLimitFlag { amount, currency })
}

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

/// The limits the flags `--max-renewals` and `--max-total-price` set. A `--max-total-price` without a currency takes `fallback`'s (the
/// config's, or the saved plan's), and is an error without one.
pub fn from_flags(
    max_renewals: Option<u64>,
    max_total_price: Option<&PriceLimitFlag>,
    fallback: &SpendLimits,
) -> Result<SpendLimits, String> {
    let max_total_price = match max_total_price {
        None => None,
        Some(flag) => {
            let currency = match (&flag.currency, &fallback.max_total_price) {
                (Some(currency), _) => currency.clone(),
                (None, Some(limit)) => limit.value.currency.clone(),
                (None, None) => {
                    return Err(format!(
                        "--max-total-price {}: in which currency? Write AMOUNT:CURRENCY, e.g. --max-total-price {}:CNY",
                        flag.amount, flag.amount
                    ));
                }
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
        max_renewals: max_renewals.map(|value| Limit {
            value,
            set_by: "--max-renewals".to_string(),
        }),
        max_total_price,
    })
}

/// One limit, and where it was set (`limits.max_renewals in renewal.yaml`, `--max-renewals`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit<T> {
    pub value: T,
    pub set_by: String,
}

/// The limits in force for a plan; either may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SpendLimits {
    /// The most renewals (RenewInstance calls) the plan may make.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_renewals: Option<Limit<u64>>,
    /// The most the renewals may cost in all, in one currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_total_price: Option<Limit<Money>>,
}

impl SpendLimits {
    pub fn is_empty(&self) -> bool {
        self.max_renewals.is_none() && self.max_total_price.is_none()
    }

    /// `self` (the file's limits) tightened by `flags`: of two limits on one thing the lower
    /// holds; a flag never loosens the file. Returns the limits in force and a note for each
    /// flag that was looser (and so changed nothing); a price flag in another currency than the
    /// file's price limit is an error (renewctl never converts currencies).
    pub fn tightened_by(&self, flags: &SpendLimits) -> Result<(SpendLimits, Vec<String>), String> {
        let mut notes = Vec::new();
        let max_renewals = match (&self.max_renewals, &flags.max_renewals) {
            (Some(file), Some(flag)) if flag.value > file.value => {
                notes.push(format!(
                    "{} {} is looser than max_renewals {} ({}): the lower holds; a flag can only \
                     tighten the file's limits",
                    flag.set_by, flag.value, file.value, file.set_by
                ));
                Some(file.clone())
            }
            (_, Some(flag)) => Some(flag.clone()),
            (file, None) => file.clone(),
        };
        let max_total_price = match (&self.max_total_price, &flags.max_total_price) {
            (Some(file), Some(flag)) if flag.value.currency != file.value.currency => {
                return Err(format!(
                    "{} {} is in another currency than max_total_price {} ({}): a flag can only \
                     tighten the file's limit, in its currency ({})",
                    flag.set_by, flag.value, file.value, file.set_by, file.value.currency
                ));
            }
            (Some(file), Some(flag)) if flag.value.amount > file.value.amount => {
                notes.push(format!(
                    "{} {} is looser than max_total_price {} ({}): the lower holds; a flag can \
                     only tighten the file's limits",
                    flag.set_by, flag.value, file.value, file.set_by
                ));
                Some(file.clone())
            }
            (_, Some(flag)) => Some(flag.clone()),
            (file, None) => file.clone(),
        };
        Ok((
            SpendLimits {
                max_renewals,
                max_total_price,
            },
            notes,
        ))
    }

    /// The same limits, each saying it was recorded in `file`.
    pub fn recorded_in(&self, file: &str) -> SpendLimits {
        let recorded = |set_by: &str| format!("{set_by}, recorded in {file}");
        SpendLimits {
            max_renewals: self.max_renewals.as_ref().map(|l| Limit {
                value: l.value,
                set_by: recorded(&l.set_by),
            }),
            max_total_price: self.max_total_price.as_ref().map(|l| Limit {
                value: l.value.clone(),
                set_by: recorded(&l.set_by),
            }),
        }
    }
}

/// The limits a plan breaks: one line per violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsExceeded {
    pub violations: Vec<String>,
}

impl fmt::Display for LimitsExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the plan is refused by its spending limits:")?;
        for violation in &self.violations {
            writeln!(f, "  - {violation}")?;
        }
        write!(
            f,
            "nothing was applied: no call was sent. Change the plan or the limits, and plan again"
        )
    }
}

impl std::error::Error for LimitsExceeded {}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every limit `plan` breaks; `Ok` when it keeps them all.
pub fn check(plan: &Plan, limits: &SpendLimits) -> Result<(), LimitsExceeded> {
    let mut violations = Vec::new();
    if let Some(limit) = &limits.max_renewals {
        let renewals = plan
            .changes
            .iter()
            .filter(|c| c.renewal().is_some())
            .count() as u64;
        if renewals > limit.value {
            violations.push(format!(
                "the plan makes {}, more than max_renewals {} ({})",
                plural(renewals, "renewal", "renewals"),
                limit.value,
                limit.set_by
            ));
        }
    }
    if let Some(limit) = &limits.max_total_price {
        violations.extend(price_violations(plan, limit));
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(LimitsExceeded { violations })
    }
}

fn price_violations(plan: &Plan, limit: &Limit<Money>) -> Vec<String> {
    let max = &limit.value;
    let mut out = Vec::new();
    let (total, unknown) = totals(&plan.changes);
    if unknown > 0 {
        let first = plan.changes.iter().find_map(|c| match c.quote() {
            Some(Quote::Unknown(why)) => Some(format!("{}: {why}", c.instance_id)),
            _ => None,
        });
        out.push(format!(
            "{} unknown ({}), so the total cannot be shown to stay within max_total_price {max} ({})",
            plural(unknown, "renewal price is", "renewal prices are"),
            first.unwrap_or_default(),
            limit.set_by
        ));
    }
    for (currency, amount) in total.iter().filter(|(c, _)| **c != max.currency) {
        let count = plan
            .changes
            .iter()
            .filter(|c| matches!(c.quote(), Some(Quote::Known(p)) if p.currency == *currency))
            .count() as u64;
        out.push(format!(
            "{} priced in {currency} ({amount} {currency} in all), not in {}: max_total_price {max} ({}) cannot be checked against {}",
            plural(count, "renewal is", "renewals are"),
            max.currency,
            limit.set_by,
            if count == 1 { "it" } else { "them" }
        ));
    }
    let spent = total.get(&max.currency).copied().unwrap_or(Amount::ZERO);
    if spent > max.amount {
        out.push(format!(
            "the renewals cost {spent} {}, more than max_total_price {max} ({})",
            max.currency, limit.set_by
        ));
    }
    out
}
