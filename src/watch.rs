//! What `renewctl check` reports between merges, from one observation and the plan made from
//! it. Pure: the engine observes, plans, prices the charges and reads the balance; this module
//! decides what needs attention.
//!
//! - **drift**: the changes a plan would make now (what a console click undid);
//! - **expiring**: managed and unmanaged subscription instances expiring within the largest
//!   window, soonest first, each in the smallest window it falls in; one that will expire
//!   without renewal (not auto-renewing, and no renewal planned) is named as such;
//! - **charges**: automatic renewal charges due within `charges_within` days (auto-renew
//!   instances; the first attempt at 08:00 UTC+8 some days before expiry, by the site's rule),
//!   each with its price when known, and the total per currency;
//! - **balance**: the account's available amount against those charges, in order: the first
//!   charge the balance would not cover is named.
//!
//! Needs attention (exit 2): drift, an instance that will expire without renewal inside the
//! smallest window, or a balance short of the charges. A check that could not see everything
//! (a region, an instance or an attribute that could not be read) is incomplete (exit 1).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::desired::DesiredState;
use crate::desired::limits::{DEFAULT_CHARGES_WITHIN, DEFAULT_WINDOWS};
use crate::ecs::site::{ChargeRule, charge_rule};
use crate::ecs::{PeriodUnit, Price, PriceQuery, RenewalPeriod, Site};
use crate::money::Amount;
use crate::observed::{ChargeType, ObservedState, RenewalStatus};
use crate::plan::{Action, Plan, PlanProblem};
use crate::time::api_format;

/// The check report's JSON format version.
pub const FORMAT_VERSION: &str = "1";

/// The windows and horizon of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Days, largest first.
    pub windows: Vec<u32>,
    pub charges_within: u32,
}

impl Settings {
    /// From `watch:` of the desired state, or the defaults.
    pub fn of(desired: &DesiredState) -> Settings {
        let watch = desired.watch.as_ref();
        let mut windows = watch
            .and_then(|w| w.windows.clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| DEFAULT_WINDOWS.to_vec());
        windows.sort_unstable_by(|a, b| b.cmp(a));
        windows.dedup();
        Settings {
            windows,
            charges_within: watch
                .and_then(|w| w.charges_within)
                .unwrap_or(DEFAULT_CHARGES_WITHIN),
        }
    }

    /// The largest window, in days: how far ahead unmanaged instances must be read.
    pub fn horizon_days(&self) -> u32 {
        self.windows
            .first()
            .copied()
            .unwrap_or(0)
            .max(self.charges_within)
    }

    fn smallest(&self) -> u32 {
        self.windows.last().copied().unwrap_or(0)
    }
}

/// A change the plan would make now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub region: String,
    pub instance_id: String,
    pub policy: String,
    /// `modify_auto_renew` or `renew`.
    pub action: &'static str,
    pub reason: String,
    /// The instance's tags (routing notifications by team).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// How an expiring instance is renewed, as observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Renews {
    /// Auto-renewal is on: ECS charges it before expiry.
    Automatically,
    /// Not auto-renewing, but its policy renews it: the plan has its renewal (an apply is due).
    ByPolicy,
    /// Nothing renews it: it will expire.
    Nothing,
    /// Its auto-renew attribute was not read (unmanaged, outside the plan's reads).
    Unknown,
}

/// An instance expiring within the largest window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiry {
    pub region: String,
    pub instance_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance_name: String,
    /// The governing policy; `None` for an unmanaged instance.
    pub policy: Option<String>,
    #[serde(with = "api_format")]
    pub expired_time: Timestamp,
    pub days_left: i64,
    /// The smallest window it falls in, in days.
    pub window: u32,
    pub renews: Renews,
    /// Will expire unless someone acts: nothing renews it.
    pub will_expire: bool,
    /// The instance's tags (routing notifications by team).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An automatic renewal charge due within the horizon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Charge {
    pub region: String,
    pub instance_id: String,
    pub policy: Option<String>,
    /// The first attempt (then daily until expiry).
    #[serde(with = "api_format")]
    pub at: Timestamp,
    #[serde(with = "api_format")]
    pub expired_time: Timestamp,
    /// The auto-renew period: `Duration` and `PeriodUnit`.
    pub duration: u32,
    pub period_unit: String,
    pub price: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_unknown: Option<String>,
    /// The instance's tags (routing notifications by team).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// The account's balance, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Balance {
    /// Not asked (no charge to compare, or `--no-balance`).
    NotRead {
        why: String,
    },
    Known {
        available: Amount,
        currency: String,
    },
    /// The read failed (no BSS permission, another site's endpoint…): the check goes on.
    Unreadable {
        error: String,
    },
}

/// The first charge the balance would not cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortfall {
    pub currency: String,
    /// What the charges in this currency total, and how much the balance lacks.
    pub charges: Amount,
    pub short_by: Amount,
    /// The first charge that would fail, in time order.
    pub first_failing: String,
    #[serde(with = "api_format")]
    pub first_failing_at: Timestamp,
}

/// Everything `check` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub format_version: &'static str,
    #[serde(with = "api_format")]
    pub checked_at: Timestamp,
    pub site: Option<Site>,
    pub windows: Vec<u32>,
    pub charges_within: u32,
    /// Where the charge timing comes from.
    pub charge_rule: String,
    pub drift: Vec<Drift>,
    pub expiring: Vec<Expiry>,
    pub charges: Vec<Charge>,
    /// Known charge prices, per currency.
    pub charge_totals: BTreeMap<String, Amount>,
    pub unpriced_charges: u64,
    pub balance: Balance,
    pub shortfall: Option<Shortfall>,
    /// What could not be seen (regions, instances, attributes): the check is incomplete.
    pub errors: Vec<PlanProblem>,
    /// Why it needs attention, one line each; empty when all is well.
    pub attention: Vec<String>,
}

impl Report {
    /// 0 nothing needs attention, 2 something does, 1 the check is incomplete.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() {
            1
        } else if self.attention.is_empty() {
            0
        } else {
            2
        }
    }
}

/// The report of `plan` (made without prices) and `observed`, at `now`, before charges are
/// priced and the balance is read.
pub fn assess(
    desired: &DesiredState,
    observed: &ObservedState,
    plan: &Plan,
    settings: &Settings,
    now: Timestamp,
) -> Report {
    let rule = charge_rule(desired.site);
    let matcher = crate::policy::Matcher::new(desired);
    let renewal_planned: std::collections::BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action() == Action::Renew)
        .map(|c| c.instance_id.as_str())
        .collect();
    let tags_of: BTreeMap<&str, &crate::observed::Tags> = observed
        .instances
        .iter()
        .chain(&observed.looked_up)
        .map(|i| (i.instance_id.as_str(), &i.tags))
        .collect();
    let tags = |id: &str| tags_of.get(id).map(|t| tag_map(t)).unwrap_or_default();
    let drift = plan
        .changes
        .iter()
        .map(|c| Drift {
            tags: tags(&c.instance_id),
            region: c.region.clone(),
            instance_id: c.instance_id.clone(),
            policy: c.policy.clone(),
            action: match c.action() {
                Action::ModifyAutoRenew => "modify_auto_renew",
                Action::Renew => "renew",
            },
            reason: c.reason.clone(),
        })
        .collect();

    let largest = settings.windows.first().copied().unwrap_or(0);
    let mut expiring = Vec::new();
    let mut charges = Vec::new();
    let horizon = now
        .checked_add(SignedDuration::from_hours(
            i64::from(settings.charges_within) * 24,
        ))
        .unwrap_or(now);
    for instance in observed.instances.iter().chain(&observed.looked_up) {
        if instance.charge_type != ChargeType::PrePaid {
            continue;
        }
        let id = instance.instance_id.as_str();
        let policy = match matcher.govern(instance) {
            Ok(Some(governing)) => Some(governing.policy.name.clone()),
            _ => None,
        };
        let status = instance.renewal.as_ref().map(|r| &r.status);
        let seconds_left = instance.expired_time.duration_since(now).as_secs();
        let days_left = seconds_left / 86_400;
        if seconds_left <= i64::from(largest) * 86_400 {
            let window = settings
                .windows
                .iter()
                .copied()
                .filter(|w| seconds_left <= i64::from(*w) * 86_400)
                .min()
                .unwrap_or(largest);
            let renews = match status {
                Some(RenewalStatus::AutoRenewal) => Renews::Automatically,
                _ if renewal_planned.contains(id) => Renews::ByPolicy,
                Some(_) => Renews::Nothing,
                None => Renews::Unknown,
            };
            expiring.push(Expiry {
                region: instance.region.clone(),
                instance_id: id.to_string(),
                instance_name: instance.instance_name.clone(),
                policy: policy.clone(),
                expired_time: instance.expired_time,
                days_left,
                window,
                renews,
                will_expire: renews == Renews::Nothing,
                tags: tag_map(&instance.tags),
            });
        }
        if let (Some(RenewalStatus::AutoRenewal), Some(attr)) = (status, instance.renewal.as_ref())
            && let Some(at) = charge_time(instance.expired_time, now, rule)
            && at <= horizon
        {
            charges.push(Charge {
                region: instance.region.clone(),
                instance_id: id.to_string(),
                policy,
                at,
                expired_time: instance.expired_time,
                duration: attr.duration,
                period_unit: attr.period_unit.clone(),
                price: None,
                price_unknown: None,
                tags: tag_map(&instance.tags),
            });
        }
    }
    expiring.sort_by(|a, b| {
        (a.expired_time, &a.region, &a.instance_id).cmp(&(
            b.expired_time,
            &b.region,
            &b.instance_id,
        ))
    });
    charges.sort_by(|a, b| (a.at, &a.instance_id).cmp(&(b.at, &b.instance_id)));

    let mut report = Report {
        format_version: FORMAT_VERSION,
        checked_at: now.round(jiff::Unit::Second).unwrap_or(now),
        site: desired.site,
        windows: settings.windows.clone(),
        charges_within: settings.charges_within,
        charge_rule: format!(
            "first attempt {} days before expiry at 08:00 UTC+8, then daily ({})",
            rule.days_before, rule.source
        ),
        drift,
        expiring,
        charges,
        charge_totals: BTreeMap::new(),
        unpriced_charges: 0,
        balance: Balance::NotRead {
            why: "not read yet".to_string(),
        },
        shortfall: None,
        errors: plan.errors.clone(),
        attention: Vec::new(),
    };
    conclude(&mut report, settings);
    report
}

fn tag_map(tags: &crate::observed::Tags) -> BTreeMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// When ECS next tries to charge an auto-renewing instance expiring at `expiry`: the first
/// attempt, or — once it is past — now (attempts continue daily until expiry). `None` once
/// expired.
fn charge_time(expiry: Timestamp, now: Timestamp, rule: ChargeRule) -> Option<Timestamp> {
    let long_ago = expiry
        .checked_sub(SignedDuration::from_hours(24 * 400))
        .ok()?;
    let first = crate::plan::billing::first_deduction(expiry, long_ago, rule)?;
    (now < expiry).then_some(first.max(now))
}

/// The price query of a charge: its auto-renew period, as DescribeRenewalPrice prices it.
pub fn price_query(charge: &Charge) -> Result<PriceQuery, String> {
    let unit = PeriodUnit::from_api(&charge.period_unit)
        .ok_or_else(|| format!("unknown auto-renew unit {:?}", charge.period_unit))?;
    let (count, unit) = match unit {
        PeriodUnit::Year => (charge.duration.saturating_mul(12), PeriodUnit::Month),
        other => (charge.duration, other),
    };
    PriceQuery::for_renewal(RenewalPeriod { count, unit })
}

/// Records the price (or why it is unknown) of each charge, by index, and the totals.
pub fn set_prices(report: &mut Report, prices: Vec<(usize, Result<Price, String>)>) {
    for (index, price) in prices {
        if let Some(charge) = report.charges.get_mut(index) {
            match price {
                Ok(price) => charge.price = Some(price),
                Err(why) => charge.price_unknown = Some(why),
            }
        }
    }
    report.charge_totals.clear();
    report.unpriced_charges = 0;
    for charge in &report.charges {
        match &charge.price {
            Some(price) => {
                let total = report
                    .charge_totals
                    .entry(price.currency.clone())
                    .or_default();
                *total = total.saturating_add(price.trade_price);
            }
            None => report.unpriced_charges += 1,
        }
    }
}

/// Records the balance and what it does not cover.
pub fn set_balance(report: &mut Report, balance: Balance, settings: &Settings) {
    report.balance = balance;
    report.shortfall = None;
    if let Balance::Known {
        available,
        currency,
    } = &report.balance
    {
        let mut spent = Amount::ZERO;
        for charge in &report.charges {
            let Some(price) = charge.price.as_ref().filter(|p| &p.currency == currency) else {
                continue;
            };
            spent = spent.saturating_add(price.trade_price);
            if spent > *available && report.shortfall.is_none() {
                report.shortfall = Some(Shortfall {
                    currency: currency.clone(),
                    charges: Amount::ZERO,
                    short_by: Amount::ZERO,
                    first_failing: charge.instance_id.clone(),
                    first_failing_at: charge.at,
                });
            }
        }
        if let Some(shortfall) = &mut report.shortfall {
            shortfall.charges = spent;
            shortfall.short_by = spent.saturating_sub(*available);
        }
    }
    conclude(report, settings);
}

/// The part of `report` about the instances carrying tag `key` with one of `values` (a sink's
/// route): drift, expiries and charges of those instances, the totals and the attention
/// recomputed for them. The balance is the account's: a shortfall stays only if one of its
/// charges fails.
pub fn restrict(report: &Report, key: &str, values: &[String], settings: &Settings) -> Report {
    let keep = |tags: &BTreeMap<String, String>| tags.get(key).is_some_and(|v| values.contains(v));
    let mut out = report.clone();
    out.drift.retain(|d| keep(&d.tags));
    out.expiring.retain(|e| keep(&e.tags));
    out.charges.retain(|c| keep(&c.tags));
    set_prices(&mut out, Vec::new());
    // The balance is shared: a team with charges hears of a shortfall even when another
    // team's charge is the first to fail (theirs come after it).
    if out.charges.is_empty() {
        out.shortfall = None;
    }
    conclude(&mut out, settings);
    out
}

/// The reasons for attention, from what the report holds.
fn conclude(report: &mut Report, settings: &Settings) {
    let mut attention = Vec::new();
    if !report.drift.is_empty() {
        attention.push(format!(
            "{} change{} would be made now (drift from renewal.yaml): run renewctl plan",
            report.drift.len(),
            if report.drift.len() == 1 { "" } else { "s" }
        ));
    }
    let smallest = settings.smallest();
    let expiring: Vec<&Expiry> = report
        .expiring
        .iter()
        .filter(|e| e.will_expire && e.days_left < i64::from(smallest))
        .collect();
    if !expiring.is_empty() {
        attention.push(format!(
            "{} instance{} will expire within {smallest} day{} with nothing renewing {}: {}",
            expiring.len(),
            if expiring.len() == 1 { "" } else { "s" },
            if smallest == 1 { "" } else { "s" },
            if expiring.len() == 1 { "it" } else { "them" },
            expiring
                .iter()
                .map(|e| e.instance_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(short) = &report.shortfall {
        attention.push(format!(
            "the balance is {} {} short of the automatic renewals due within {} days: the charge of {} on {} is the first that would fail",
            short.short_by,
            short.currency,
            report.charges_within,
            short.first_failing,
            crate::time::format_api(short.first_failing_at)
        ));
    }
    report.attention = attention;
}
