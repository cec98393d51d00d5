//! One change to one instance, typed by what it does: a status change (ModifyInstanceAutoRenew
//! Attribute) carries the observed attribute and the setting it sends; a renewal (RenewInstance)
//! carries the observed and computed expiry, its period, its token and its price. An impossible
//! combination (a renewal with an auto-renew period, a status change with a token) cannot be
//! built.
//!
//! The serde form is the plan JSON's change object, unchanged from format_version "1": `action`,
//! `before` and `after` objects, and for renewals `period`, `period_unit`, `client_token`,
//! `token_attempt`, `price` (an object, or `null` with `price_unknown`); `first_deduction` on a
//! status change that turns auto-renewal on. It is read through the flat [`ChangeJson`] and
//! checked into the types, so a file that does not fit them is not a plan.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

use crate::ecs::{
    AutoRenewPeriod, AutoRenewSetting, ClientToken, PeriodUnit, Price, RenewalPeriod, TokenAttempt,
};
use crate::observed::{RenewalAttribute, RenewalStatus};

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

/// A status change: what the API showed, and what the call sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    pub before: RenewalAttribute,
    pub after: AutoRenewSetting,
    /// Auto-renewal turned on: when ECS first charges the automatic renewal (9 days before
    /// expiry, 08:00 UTC+8, not before the next day).
    pub first_deduction: Option<Timestamp>,
}

/// What a renewal costs, as far as the plan knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceState {
    /// Not asked yet (a plan straight from the planner).
    NotAsked,
    Known(Price),
    /// Unknown, and why (an API error, a period the API cannot price, `--no-prices`): never
    /// zero.
    Unknown(String),
}

impl PriceState {
    /// The price, when known.
    pub fn known(&self) -> Option<&Price> {
        match self {
            PriceState::Known(price) => Some(price),
            PriceState::NotAsked | PriceState::Unknown(_) => None,
        }
    }
}

/// A renewal: spends money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    /// The expiry observed when planning: the token is derived from it.
    pub before: Timestamp,
    /// The expiry the renewal leads to.
    pub after: Timestamp,
    pub period: RenewalPeriod,
    pub token: ClientToken,
    /// The token's attempt: the first unless the user asked for a fresh token.
    pub attempt: TokenAttempt,
    pub price: PriceState,
}

/// What a change does, with what it needs for that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeDetail {
    ModifyAutoRenew(SettingChange),
    Renew(Renewal),
}

/// One change to one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChangeJson", into = "ChangeJson")]
pub struct Change {
    pub region: String,
    pub instance_id: String,
    pub instance_name: String,
    pub policy: String,
    /// Human-readable reason.
    pub reason: String,
    pub reason_code: ReasonCode,
    pub detail: ChangeDetail,
    /// Blocked changes only (in `Plan::blocked`): the protection rule that blocks it.
    pub blocked_by: Option<String>,
}

impl Change {
    pub fn action(&self) -> Action {
        match self.detail {
            ChangeDetail::ModifyAutoRenew(_) => Action::ModifyAutoRenew,
            ChangeDetail::Renew(_) => Action::Renew,
        }
    }

    pub fn renewal(&self) -> Option<&Renewal> {
        match &self.detail {
            ChangeDetail::Renew(renewal) => Some(renewal),
            ChangeDetail::ModifyAutoRenew(_) => None,
        }
    }

    pub fn renewal_mut(&mut self) -> Option<&mut Renewal> {
        match &mut self.detail {
            ChangeDetail::Renew(renewal) => Some(renewal),
            ChangeDetail::ModifyAutoRenew(_) => None,
        }
    }

    pub fn setting(&self) -> Option<&SettingChange> {
        match &self.detail {
            ChangeDetail::ModifyAutoRenew(setting) => Some(setting),
            ChangeDetail::Renew(_) => None,
        }
    }

    /// The status a status change sets; `None` for a renewal.
    pub fn status_after(&self) -> Option<&'static str> {
        self.setting().map(|s| s.after.status())
    }
}

/// One side (before or after) of a change in the plan JSON. Status changes fill the first three
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

impl ChangeState {
    fn of_attribute(attribute: &RenewalAttribute) -> ChangeState {
        ChangeState {
            renewal_status: Some(attribute.status.clone()),
            duration: Some(attribute.duration),
            period_unit: Some(attribute.period_unit.clone()),
            expired_time: None,
        }
    }

    fn of_setting(setting: &AutoRenewSetting) -> ChangeState {
        ChangeState {
            renewal_status: Some(RenewalStatus::from_api(setting.status())),
            duration: setting.period().map(|p| p.duration),
            period_unit: setting.period().map(|p| p.unit.as_api().to_string()),
            expired_time: None,
        }
    }

    fn of_expiry(expiry: Timestamp) -> ChangeState {
        ChangeState {
            expired_time: Some(expiry),
            ..ChangeState::default()
        }
    }
}

/// The plan JSON's change object, field by field (format_version "1").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeJson {
    region: String,
    instance_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    instance_name: String,
    policy: String,
    action: Action,
    reason: String,
    reason_code: ReasonCode,
    before: ChangeState,
    after: ChangeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_attempt: Option<u32>,
    #[serde(
        default,
        with = "crate::time::api_format_opt",
        skip_serializing_if = "Option::is_none"
    )]
    first_deduction: Option<Timestamp>,
    /// Absent: not asked; `null`: unknown (then `price_unknown` says why).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    price: Option<Option<Price>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    price_unknown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blocked_by: Option<String>,
}

/// Reads a key that may hold `null`: absent is `None`, `null` is `Some(None)`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

impl From<Change> for ChangeJson {
    fn from(change: Change) -> ChangeJson {
        let mut json = ChangeJson {
            region: change.region,
            instance_id: change.instance_id,
            instance_name: change.instance_name,
            policy: change.policy,
            action: Action::Renew,
            reason: change.reason,
            reason_code: change.reason_code,
            before: ChangeState::default(),
            after: ChangeState::default(),
            period: None,
            period_unit: None,
            client_token: None,
            token_attempt: None,
            first_deduction: None,
            price: None,
            price_unknown: None,
            blocked_by: change.blocked_by,
        };
        match change.detail {
            ChangeDetail::ModifyAutoRenew(setting) => {
                json.action = Action::ModifyAutoRenew;
                json.before = ChangeState::of_attribute(&setting.before);
                json.after = ChangeState::of_setting(&setting.after);
                json.first_deduction = setting.first_deduction;
            }
            ChangeDetail::Renew(renewal) => {
                json.before = ChangeState::of_expiry(renewal.before);
                json.after = ChangeState::of_expiry(renewal.after);
                json.period = Some(renewal.period.count);
                json.period_unit = Some(renewal.period.unit.as_api().to_string());
                json.client_token = Some(renewal.token.into_string());
                json.token_attempt = (!renewal.attempt.is_first()).then_some(renewal.attempt.get());
                match renewal.price {
                    PriceState::NotAsked => {}
                    PriceState::Known(price) => json.price = Some(Some(price)),
                    PriceState::Unknown(why) => {
                        json.price = Some(None);
                        json.price_unknown = Some(why);
                    }
                }
            }
        }
        json
    }
}

impl TryFrom<ChangeJson> for Change {
    type Error = String;

    fn try_from(json: ChangeJson) -> Result<Change, String> {
        let id = json.instance_id.clone();
        let missing = |what: &str| format!("the change of {id} has no {what}");
        let detail = match json.action {
            Action::ModifyAutoRenew => {
                let before = RenewalAttribute {
                    status: json
                        .before
                        .renewal_status
                        .clone()
                        .ok_or_else(|| missing("before.renewal_status"))?,
                    duration: json.before.duration.unwrap_or(0),
                    period_unit: json.before.period_unit.clone().unwrap_or_default(),
                };
                let after = match json
                    .after
                    .renewal_status
                    .as_ref()
                    .map(RenewalStatus::as_api)
                {
                    Some("AutoRenewal") => {
                        let unit = json
                            .after
                            .period_unit
                            .as_deref()
                            .and_then(|u| PeriodUnit::from_api(u).filter(|p| p.as_api() == u))
                            .ok_or_else(|| missing("after.period_unit of Week, Month or Year"))?;
                        AutoRenewSetting::Auto(AutoRenewPeriod {
                            duration: json
                                .after
                                .duration
                                .ok_or_else(|| missing("after.duration"))?,
                            unit,
                        })
                    }
                    Some("Normal") => AutoRenewSetting::Manual,
                    Some("NotRenewal") => AutoRenewSetting::Never,
                    _ => return Err(missing("known after.renewal_status")),
                };
                ChangeDetail::ModifyAutoRenew(SettingChange {
                    before,
                    after,
                    first_deduction: json.first_deduction,
                })
            }
            Action::Renew => {
                let unit = json
                    .period_unit
                    .as_deref()
                    .and_then(|u| PeriodUnit::from_api(u).filter(|p| p.as_api() == u))
                    .filter(|u| *u != PeriodUnit::Year)
                    .ok_or_else(|| missing("period_unit of Week or Month"))?;
                let price = match (json.price, json.price_unknown) {
                    (None, _) => PriceState::NotAsked,
                    (Some(Some(price)), _) => PriceState::Known(price),
                    (Some(None), Some(why)) => PriceState::Unknown(why),
                    (Some(None), None) => PriceState::Unknown("no reason recorded".to_string()),
                };
                ChangeDetail::Renew(Renewal {
                    before: json
                        .before
                        .expired_time
                        .ok_or_else(|| missing("before.expired_time"))?,
                    after: json
                        .after
                        .expired_time
                        .ok_or_else(|| missing("after.expired_time"))?,
                    period: RenewalPeriod {
                        count: json.period.ok_or_else(|| missing("period"))?,
                        unit,
                    },
                    token: ClientToken::from_recorded(
                        json.client_token
                            .as_deref()
                            .ok_or_else(|| missing("client_token"))?,
                    )?,
                    attempt: TokenAttempt::new(json.token_attempt.unwrap_or(1)),
                    price,
                })
            }
        };
        Ok(Change {
            region: json.region,
            instance_id: json.instance_id,
            instance_name: json.instance_name,
            policy: json.policy,
            reason: json.reason,
            reason_code: json.reason_code,
            detail,
            blocked_by: json.blocked_by,
        })
    }
}
