//! The risk report and the expiry outlook of a plan (DESIGN.md §2): every observed instance,
//! managed or not, that expires within the risk window (or has expired) with nothing renewing
//! it — no auto-renewal, no renewal planned — and the expiries of the coming weeks by whether
//! something renews them. Pure: it reads what the planner decided (`Coverage`) and the observed
//! state.

use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::desired::DesiredState;
use crate::observed::{ObservedState, RenewalStatus};
use crate::time::{billing_zone, format_api};

/// Days after expiry at which ECS releases an unrenewed subscription instance (ecs-api.md §6).
pub const RELEASE_AFTER_DAYS: i64 = 15;
/// Instances expiring within this many days with nothing renewing them are warned about.
pub const RISK_WINDOW_DAYS: i64 = 15;
/// Weeks in the expiry outlook.
pub const OUTLOOK_WEEKS: i64 = 12;

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

/// What will keep a managed instance alive once the plan is applied.
#[derive(Debug, Clone)]
pub(super) struct Coverage {
    pub status_after: Option<RenewalStatus>,
    pub renewed: bool,
    /// Index of the governing policy.
    pub policy: usize,
}

/// When ECS releases an instance that stays unrenewed after `expiry`.
pub fn release_time(expiry: Timestamp) -> Timestamp {
    expiry
        .checked_add((RELEASE_AFTER_DAYS * 24).hours())
        .unwrap_or(expiry)
}

/// Whole days from `from` to `to`, rounded to the nearest day (negative in the past).
pub fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    let secs = to.duration_since(from).as_secs();
    (secs + secs.signum() * 43_200) / 86_400
}

/// The instances nothing renews that expire within the risk window, and the expiry outlook
/// over the next weeks, across every observed instance, managed or not.
pub(super) fn risk_and_outlook(
    desired: &DesiredState,
    observed: &ObservedState,
    coverage: &[Option<Coverage>],
    now: Timestamp,
    risk_window_days: u32,
) -> (Vec<RiskItem>, Vec<OutlookWeek>) {
    let horizon = now
        .checked_add((i64::from(risk_window_days) * 24).hours())
        .unwrap_or(Timestamp::MAX);
    let today = now.to_zoned(billing_zone()).date();
    let mut outlook: Vec<OutlookWeek> = (0..OUTLOOK_WEEKS)
        .map(|week| OutlookWeek {
            week_start: today.checked_add((week * 7).days()).unwrap_or(today),
            ..OutlookWeek::default()
        })
        .collect();
    let mut risk = Vec::new();

    for (index, instance) in observed.instances.iter().enumerate() {
        // Borrowed: most instances are covered, and nothing is cloned for them.
        let (status_after, renewed, policy_index) =
            match coverage.get(index).and_then(Option::as_ref) {
                Some(c) => (c.status_after.as_ref(), c.renewed, Some(c.policy)),
                None => (instance.renewal.as_ref().map(|r| &r.status), false, None),
            };
        let expiry = instance.expired_time;
        let expired = expiry <= now;
        let auto = status_after == Some(&RenewalStatus::AutoRenewal);
        let covered = renewed || (auto && !expired);

        let seconds_ahead = expiry.duration_since(now).as_secs();
        if seconds_ahead > 0 {
            let week = seconds_ahead / (7 * 86_400);
            if let Some(slot) = usize::try_from(week).ok().and_then(|w| outlook.get_mut(w)) {
                slot.expiring += 1;
                match (&status_after, covered) {
                    (_, true) => slot.covered += 1,
                    (None, false) => slot.unknown += 1,
                    (Some(_), false) => slot.not_covered += 1,
                }
            }
        }

        if covered || expiry >= horizon {
            continue;
        }
        let release = release_time(expiry);
        let days = days_between(now, expiry);
        let policy = policy_index
            .and_then(|i| desired.policies.get(i))
            .map(|p| p.name.clone());
        let (kind, message) = if expired {
            (
                RiskKind::Expired,
                format!(
                    "expired on {}; ECS releases it on {} ({} days left) unless it is renewed",
                    format_api(expiry),
                    format_api(release),
                    days_between(now, release).max(0)
                ),
            )
        } else if status_after == Some(&RenewalStatus::NotRenewal) {
            (
                RiskKind::WillBeReleased,
                format!(
                    "expires on {} (in {days} days) and is set to NotRenewal: ECS releases it on {}",
                    format_api(expiry),
                    format_api(release)
                ),
            )
        } else if status_after.is_none() {
            (
                RiskKind::Unknown,
                format!(
                    "expires on {} (in {days} days); no policy manages it and its auto-renew setting was not read",
                    format_api(expiry)
                ),
            )
        } else {
            let why = match &policy {
                Some(name) => format!(
                    "policy {name:?} neither auto-renews it nor has a min_remaining that renews it now"
                ),
                None => "no policy manages it and auto-renewal is off".to_string(),
            };
            (
                RiskKind::ExpiresSoon,
                format!(
                    "expires on {} (in {days} days) and nothing renews it: {why}",
                    format_api(expiry)
                ),
            )
        };
        risk.push(RiskItem {
            region: instance.region.clone(),
            instance_id: instance.instance_id.clone(),
            instance_name: instance.instance_name.clone(),
            policy,
            kind,
            expired_time: expiry,
            release_time: release,
            renewal_status: status_after.cloned(),
            message,
        });
    }
    risk.sort_by(|a, b| {
        (a.expired_time, &a.region, &a.instance_id).cmp(&(
            b.expired_time,
            &b.region,
            &b.instance_id,
        ))
    });
    (risk, outlook)
}
