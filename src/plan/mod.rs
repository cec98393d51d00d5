//! The plan: plain data saying what would change and which API calls apply will send
//! (DESIGN.md §4). Built by the pure `planner`; batched by `calls`; rendered by `render`;
//! executed by `apply`. Its serde form is the public plan JSON, `format_version` "1": keys may be
//! added, never renamed or removed.

pub mod calls;
pub mod planner;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use calls::{ApiAction, Call};
pub use planner::{PlanError, plan};

use crate::observed::RenewalStatus;

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
    /// Renewals only: length, API unit, and the idempotency token derived from
    /// (instance, observed expiry, period, unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
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

/// The fingerprint of a managed instance as observed when planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedFingerprint {
    pub region: String,
    pub instance_id: String,
    pub fingerprint: String,
}

/// Counts of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// Read requests made to observe.
    pub read_calls: u64,
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
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}
