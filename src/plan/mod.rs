//! The plan: plain data saying what would change and which API calls apply will send
//! (DESIGN.md §4). Built by the pure `planner`; batched by `calls`; priced by `cost` once the
//! prices are asked; rendered by `render`; executed by `apply`. Its serde form is the public plan
//! JSON, `format_version` "1": keys may be added, never renamed or removed.

pub mod billing;
pub mod calls;
pub mod change;
pub mod cost;
mod draft;
mod instance;
pub mod planner;
mod problems;
pub mod protect;
pub mod risk;
pub mod spend;
pub mod summary;

use std::borrow::Cow;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use calls::{Call, Phase};
pub use change::{
    Action, Change, ChangeDetail, ChangeState, PriceState, ReasonCode, Renewal, SettingChange,
};
pub use planner::{PlanOptions, plan, plan_with};
pub use risk::{OutlookWeek, RiskItem, RiskKind};
pub use spend::SpendLimits;
pub use summary::Summary;

pub use crate::ecs::{ApiAction, Price};

use crate::observed::{ChargeType, InstanceSnapshot, RenewalStatus};

/// The plan JSON format version this build writes and reads.
pub const FORMAT_VERSION: &str = "1";

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
    /// The account's site the plan was made for (`None`: no site declared, only what both
    /// sites accept was planned). `apply plan.json` refuses to apply it to another site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<crate::ecs::Site>,
    /// Set when the plan is partial (`--target`, `--policy`): only these instances and
    /// policies were planned. A saved scoped plan stays scoped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Subtotals per tag value (`--group-by tag:KEY`), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<cost::Groups>,
}

/// What a partial plan was restricted to, as Terraform's `-target`: instances by id, and the
/// instances of named policies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.policies.is_empty()
    }

    /// Whether the instance `id`, governed by `policy`, is in the scope.
    pub fn covers(&self, id: &str, policy: &str) -> bool {
        self.targets.iter().any(|t| t == id) || self.policies.iter().any(|p| p == policy)
    }

    /// `--target i-a --policy prod`, for messages.
    pub fn describe(&self) -> String {
        self.targets
            .iter()
            .map(|t| format!("--target {t}"))
            .chain(self.policies.iter().map(|p| format!("--policy {p}")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}
