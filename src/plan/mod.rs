//! The plan: plain data saying what would change and which API calls apply will send
//! (DESIGN.md §4). Built by the pure `planner`; batched by `calls`; rendered by `render`;
//! executed by `apply`. Its serde form is the public plan JSON, `format_version` "1": keys may be
//! added, never renamed or removed.

pub mod billing;
pub mod calls;
pub mod planner;
pub mod prices;
pub mod protect;
pub mod spend;

use std::borrow::Cow;
use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use calls::{ApiAction, Call};
pub use planner::{PlanOptions, plan, plan_with};
pub use prices::{Price, Quote};
pub use spend::SpendLimits;

use crate::money::Amount;
use crate::observed::{ChargeType, InstanceSnapshot, RenewalStatus};

/// The plan JSON format version this build writes and reads.
pub const FORMAT_VERSION: &str = "1";

/// What one change does. A closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// ModifyInstanceAutoRenewAttribute: set renewal status (and auto-renew period).
    ModifyAutoRenew,
    /// RenewInstance: extend the subscription now (spends money).
    Renew,
}

/// Why a change is planned. Rendered for humans; never drives apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The renewal status differs from the policy's.
    RenewalStatusDiffers,
    /// Auto-renewal is on, but with another period or unit.
    AutoRenewPeriodDiffers,
    /// The expiry is nearer than the policy's `min_remaining`.
    ExpiryWithinMinRemaining,
    /// A `NotRenewal` instance must leave that status before it can be renewed.
    LeaveNotRenewalToRenew,
    /// An expired instance is renewed first; auto-renewal is turned on afterwards.
    EnableAutoRenewAfterRenewal,
}

/// One side (before or after) of a change. Renewal-setting changes fill the first three
/// fields, renewals fill `expired_time`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChangeState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_status: Option<RenewalStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_unit: Option<String>,
    #[serde(
        default,
        with = "crate::time::api_format_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub expired_time: Option<Timestamp>,
}

/// One change to one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub region: String,
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instance_name: String,
    pub policy: String,
    pub action: Action,
    /// Human-readable reason.
    pub reason: String,
    pub reason_code: ReasonCode,
    pub before: ChangeState,
    pub after: ChangeState,
    /// Renewals only: length, API unit, and the idempotency token derived from the instance
    /// and its observed expiry only (`ecs::token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// Renewals only, when the user asked for a fresh token (`--new-token`): the attempt number
    /// the token carries (2 or more). Absent for the usual first attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_attempt: Option<u32>,
    /// Auto-renewal turned on: when ECS first charges the automatic renewal (9 days before
    /// expiry, 08:00 UTC+8, not before the next day).
    #[serde(
        default,
        with = "crate::time::api_format_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_deduction: Option<Timestamp>,
    /// Renewals only: what DescribeRenewalPrice says it costs, or `null` when that is unknown
    /// (then `price_unknown` says why). Absent on other changes.
    #[serde(
        default,
        deserialize_with = "prices::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub price: Option<Option<Price>>,
    /// Why the price of this renewal is unknown (an API error, a period the API cannot price,
    /// `--no-prices`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_unknown: Option<String>,
    /// Blocked changes only (in `Plan::blocked`): the protection rule that blocks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
}

/// A finding the reviewer should see; never an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub message: String,
}

/// What kind of problem keeps an instance (or a region) out of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Two tag policies match the instance and disagree.
    PolicyConflict,
    /// `OperationLocks` shows a security lock: ECS refuses every change to it.
    SecurityLock,
    /// Its answer (DescribeInstances element or auto-renew attribute) could not be read.
    Unreadable,
    /// An `ids` entry found in none of the regions.
    NotFound,
    /// A whole region could not be observed.
    RegionUnreadable,
}

/// An error of the plan: one instance or region that is left untouched, while everything else
/// is planned (DESIGN.md §8, blast radius). A plan with errors makes `plan` and `apply` exit 1
/// after doing the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanProblem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The policies involved (both sides of a conflict; the governing one otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    pub kind: ProblemKind,
    /// What is wrong and how to fix it.
    pub reason: String,
}

impl PlanProblem {
    /// Where it is, as a line prefix: `region/instance: `, `instance: ` or `region region: `.
    pub fn place(&self) -> String {
        match (&self.region, &self.instance_id) {
            (Some(region), Some(id)) => format!("{region}/{id}: "),
            (None, Some(id)) => format!("{id}: "),
            (Some(region), None) => format!("region {region}: "),
            (None, None) => String::new(),
        }
    }
}

/// The fingerprint of a managed instance as observed when planning, with the facts it digests,
/// so that a stale saved plan can say what moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedFingerprint {
    pub region: String,
    pub instance_id: String,
    pub fingerprint: String,
    #[serde(with = "crate::time::api_format")]
    pub expired_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_status: Option<RenewalStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_unit: Option<String>,
    /// `Cow`: the values are nearly always a handful of constants, and a plan of 100,000
    /// instances need not hold 200,000 copies of them.
    pub charge_type: Cow<'static, str>,
    pub status: Cow<'static, str>,
}

/// Instance statuses DescribeInstances shows (ecs-api.md §3.2), shared rather than copied.
const KNOWN_STATUSES: [&str; 5] = ["Running", "Stopped", "Starting", "Stopping", "Pending"];

impl ObservedFingerprint {
    pub fn of(instance: &InstanceSnapshot) -> ObservedFingerprint {
        ObservedFingerprint {
            region: instance.region.clone(),
            instance_id: instance.instance_id.clone(),
            fingerprint: instance.fingerprint(),
            expired_time: instance.expired_time,
            renewal_status: instance.renewal.as_ref().map(|r| r.status.clone()),
            duration: instance.renewal.as_ref().map(|r| r.duration),
            period_unit: instance.renewal.as_ref().map(|r| r.period_unit.clone()),
            charge_type: match &instance.charge_type {
                ChargeType::PrePaid => Cow::Borrowed("PrePaid"),
                ChargeType::PostPaid => Cow::Borrowed("PostPaid"),
                ChargeType::Other(value) => Cow::Owned(value.clone()),
            },
            status: match KNOWN_STATUSES.iter().find(|s| **s == instance.status) {
                Some(known) => Cow::Borrowed(known),
                None => Cow::Owned(instance.status.clone()),
            },
        }
    }
}

/// Why an instance is at risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    /// Expires within the window; nothing renews it.
    ExpiresSoon,
    /// Set to `NotRenewal`: it will be released 15 days after expiry.
    WillBeReleased,
    /// Already expired and not renewed: released 15 days after expiry.
    Expired,
    /// Expires within the window, and whether anything renews it is unknown (its auto-renew
    /// attribute was not read).
    Unknown,
}

/// An observed instance, managed or not, that expires within the risk window (or has expired)
/// and that nobody renews: no auto-renewal, no renewal planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskItem {
    pub region: String,
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instance_name: String,
    /// The governing policy; `None` for an unmanaged instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub kind: RiskKind,
    #[serde(with = "crate::time::api_format")]
    pub expired_time: Timestamp,
    /// When ECS releases it if it stays unrenewed (15 days after expiry).
    #[serde(with = "crate::time::api_format")]
    pub release_time: Timestamp,
    /// Renewal status after the plan, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_status: Option<RenewalStatus>,
    pub message: String,
}

/// Instances expiring in one week of the outlook, by whether something renews them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutlookWeek {
    /// First day of the week (UTC+8 date of `created_at` + 7 × (week − 1)).
    pub week_start: jiff::civil::Date,
    pub expiring: u64,
    /// Auto-renewal on after the plan, or a renewal planned.
    pub covered: u64,
    /// Nothing renews them.
    pub not_covered: u64,
    /// Unmanaged, and their auto-renew attribute was not read.
    pub unknown: u64,
}

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

/// A plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    pub renewctl_version: String,
    pub created_at: Timestamp,
    pub config_digest: String,
    pub summary: Summary,
    pub changes: Vec<Change>,
    pub calls: Vec<Call>,
    pub warnings: Vec<Warning>,
    pub observed: Vec<ObservedFingerprint>,
    /// Days ahead that `risk` looks.
    #[serde(default)]
    pub risk_window_days: u32,
    #[serde(default)]
    pub risk: Vec<RiskItem>,
    /// Expiries per week over the next 12 weeks.
    #[serde(default)]
    pub outlook: Vec<OutlookWeek>,
    /// Changes a policy asks for that a protection rule blocks: renewctl never lowers the
    /// renewal of a protected instance. Shown, never applied: no call carries them.
    #[serde(default)]
    pub blocked: Vec<Change>,
    /// Instances and regions the plan leaves untouched because of a problem with them alone;
    /// everything else is planned. Non-empty: `plan` and `apply` exit 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<PlanProblem>,
    /// The spending limits in force when the plan was made (the config's, overridden by flags);
    /// `apply plan.json` checks them again.
    #[serde(default, skip_serializing_if = "SpendLimits::is_empty")]
    pub limits: SpendLimits,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}
