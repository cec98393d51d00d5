//! The decisions for one managed subscription instance (DESIGN.md §2, §5): the auto-renew
//! setting its policy wants, whether a renewal is due for `min_remaining` and of which period,
//! both in the order ECS allows (an expired instance is renewed before auto-renewal is turned
//! on), and what protection blocks.

use jiff::Timestamp;

use super::billing::{TOO_LATE_HOURS, first_deduction};
use super::calls::Slot;
use super::change::{Change, ChangeDetail, PriceState, ReasonCode, Renewal, SettingChange};
use super::draft::Draft;
use super::protect::lowers;
use super::risk::{Coverage, days_between, release_time};
use crate::desired::limits::{auto_renew_setting, renew_step};
use crate::desired::{Renewal as Wanted, RenewalPolicy};
use crate::ecs::site::charge_rule;
use crate::ecs::{AutoRenewSetting, ClientToken, RenewalPeriod, Site, TokenAttempt};
use crate::observed::{InstanceSnapshot, RenewalStatus};
use crate::policy::Governing;
use crate::time::format_api;

/// The setting a policy asks for; `None` for `renewal: auto` without an auto-renew period the
/// API accepts (validation refuses such a file).
pub fn wanted_setting(policy: &RenewalPolicy, site: Option<Site>) -> Option<AutoRenewSetting> {
    match policy.renewal {
        Wanted::Auto => policy
            .auto_renew_period()
            .and_then(|p| auto_renew_setting(p, site).ok())
            .map(AutoRenewSetting::Auto),
        Wanted::Manual => Some(AutoRenewSetting::Manual),
        Wanted::Never => Some(AutoRenewSetting::Never),
    }
}

/// A renewal chosen for `min_remaining`.
struct RenewalChoice {
    period: RenewalPeriod,
    new_expiry: Timestamp,
    /// False when even the longest accepted renewal does not reach `now + min_remaining`.
    reaches_target: bool,
}

/// The smallest multiple of the policy's step that `site` accepts and that brings expiry to at
/// least `target`, or the largest one (flagged) when none does.
fn choose_renewal(
    policy: &RenewalPolicy,
    site: Option<Site>,
    expiry: Timestamp,
    target: Timestamp,
) -> Option<RenewalChoice> {
    let step = renew_step(policy.renew_step(), site).ok()?;
    let mut last = None;
    for candidate in step.multiples(site) {
        let new_expiry = candidate.after(expiry)?;
        let choice = RenewalChoice {
            period: candidate,
            new_expiry,
            reaches_target: new_expiry >= target,
        };
        if choice.reaches_target {
            return Some(choice);
        }
        last = Some(choice);
    }
    last
}

/// Plans one managed, subscription instance. `protection` names the rule that protects it,
/// if one does: a change that would lower its renewal is then blocked instead of planned.
pub(super) fn plan_instance(
    draft: &mut Draft,
    governing: &Governing<'_>,
    protection: Option<&str>,
    instance: &InstanceSnapshot,
    index: usize,
    now: Timestamp,
    attempt: TokenAttempt,
) {
    let policy = governing.policy;
    let name = policy.name.as_str();
    // Checked by `unplannable` before: an instance without them is an error of the plan.
    let (Some(attr), Some(want)) = (&instance.renewal, wanted_setting(policy, draft.site)) else {
        return;
    };
    let want_status = RenewalStatus::from_api(want.status());
    let status_differs = attr.status != want_status;
    let period_differs = want
        .period()
        .is_some_and(|p| !p.is(attr.duration, &attr.period_unit));
    let needs_modify = status_differs || period_differs;
    let expired = instance.expired_time <= now;
    let wants_auto = want_status == RenewalStatus::AutoRenewal;
    // The rule that blocks the policy's status change, when that change lowers renewal.
    let blocked_by = protection.filter(|_| status_differs && lowers(&attr.status, &want_status));
    let status_after = if blocked_by.is_some() {
        attr.status.clone()
    } else {
        want_status.clone()
    };

    let renewal = policy.min_remaining().and_then(|min| {
        // Past the last representable date (validation refuses such a min_remaining): no
        // renewal reaches it, so the longest is planned, with its warning; never none.
        let target = min.after(now).unwrap_or(Timestamp::MAX);
        if instance.expired_time >= target {
            return None;
        }
        choose_renewal(policy, draft.site, instance.expired_time, target)
            .map(|choice| (min, choice))
    });

    let modify = |after: AutoRenewSetting, code: ReasonCode, reason: String| Change {
        region: instance.region.clone(),
        instance_id: instance.instance_id.clone(),
        instance_name: instance.instance_name.clone(),
        policy: name.to_string(),
        reason,
        reason_code: code,
        // Built only for a change: most instances have none.
        detail: ChangeDetail::ModifyAutoRenew(SettingChange {
            before: attr.clone(),
            after,
            first_deduction: None,
        }),
        blocked_by: None,
    };
    let differs_reason = || {
        if status_differs {
            (
                ReasonCode::RenewalStatusDiffers,
                format!(
                    "renewal status is {}; policy {name:?} ({}) wants {want_status}",
                    attr.status, governing.reason
                ),
            )
        } else {
            let wanted = want.period().map(|p| p.to_string()).unwrap_or_default();
            (
                ReasonCode::AutoRenewPeriodDiffers,
                format!(
                    "auto-renews every {} {}; policy {name:?} wants every {wanted}",
                    attr.duration, attr.period_unit
                ),
            )
        }
    };
    let after_renewal = || {
        (
            ReasonCode::EnableAutoRenewAfterRenewal,
            format!(
                "policy {name:?} wants AutoRenewal, which ECS allows once the expired instance is renewed"
            ),
        )
    };

    let Some((min, choice)) = renewal else {
        if needs_modify && wants_auto && expired {
            // ECS refuses to turn auto-renewal on for an expired instance (ecs-api.md §6).
            draft.skipped += 1;
            draft.cover(
                index,
                Coverage {
                    status_after: Some(attr.status.clone()),
                    renewed: false,
                    policy: governing.index,
                },
            );
            draft.warn(
                instance,
                name,
                format!(
                    "expired on {}: auto-renewal cannot be turned on until it is renewed; \
                     add min_remaining to policy {name:?} or renew it now (it is released on {})",
                    format_api(instance.expired_time),
                    format_api(release_time(instance.expired_time))
                ),
            );
            return;
        }
        if let Some(rule) = blocked_by {
            let (code, reason) = differs_reason();
            draft.block(instance, modify(want, code, reason), rule);
            draft.blocked_only += 1;
        } else if needs_modify {
            let (code, reason) = differs_reason();
            let mut change = modify(want, code, reason);
            if wants_auto {
                let first = first_deduction(instance.expired_time, now, charge_rule(draft.site));
                set_first_deduction(&mut change, first);
                let hours_left = instance.expired_time.duration_since(now).as_hours();
                if first.is_none() || hours_left < TOO_LATE_HOURS {
                    draft.warn(
                        instance,
                        name,
                        format!(
                            "auto-renewal is turned on only {hours_left} hours before expiry ({}): ECS charges it from the next day, \
                             so the instance may stop first; renew it now instead (add min_remaining to policy {name:?})",
                            format_api(instance.expired_time)
                        ),
                    );
                }
            }
            draft.changes.push((change, Slot::Free));
            draft.changed += 1;
        }
        draft.cover(
            index,
            Coverage {
                status_after: Some(status_after),
                renewed: false,
                policy: governing.index,
            },
        );
        return;
    };

    // A renewal is planned.
    draft.changed += 1;
    draft.cover(
        index,
        Coverage {
            status_after: Some(status_after),
            renewed: true,
            policy: governing.index,
        },
    );
    if attr.status == RenewalStatus::NotRenewal {
        // A NotRenewal instance must leave that status before it can be renewed (ecs-api.md
        // §3.3). An expired one cannot go straight to AutoRenewal: it goes to Normal, is
        // renewed, and then gets auto-renewal.
        let first = if wants_auto && expired {
            AutoRenewSetting::Manual
        } else {
            want
        };
        draft.changes.push((
            modify(
                first,
                ReasonCode::LeaveNotRenewalToRenew,
                format!(
                    "renewal status is NotRenewal, which ECS does not renew; it must change before the renewal policy {name:?} plans"
                ),
            ),
            Slot::BeforeRenewal,
        ));
        if first != want {
            let (code, reason) = after_renewal();
            draft
                .changes
                .push((modify(want, code, reason), Slot::AfterRenewal));
        }
    } else if let Some(rule) = blocked_by {
        let (code, reason) = differs_reason();
        draft.block(instance, modify(want, code, reason), rule);
    } else if needs_modify {
        let (code, reason) = if wants_auto && expired {
            after_renewal()
        } else {
            differs_reason()
        };
        draft
            .changes
            .push((modify(want, code, reason), Slot::AfterRenewal));
    }

    let remaining = days_between(now, instance.expired_time);
    let when = if remaining < 0 || expired {
        format!("expired on {}", format_api(instance.expired_time))
    } else {
        format!(
            "expires on {} (in {remaining} days)",
            format_api(instance.expired_time)
        )
    };
    draft.changes.push((
        Change {
            region: instance.region.clone(),
            instance_id: instance.instance_id.clone(),
            instance_name: instance.instance_name.clone(),
            policy: name.to_string(),
            reason: format!("{when}, nearer than min_remaining {min} of policy {name:?}"),
            reason_code: ReasonCode::ExpiryWithinMinRemaining,
            detail: ChangeDetail::Renew(Renewal {
                before: instance.expired_time,
                after: choice.new_expiry,
                period: choice.period,
                token: ClientToken::for_renewal(
                    &instance.instance_id,
                    instance.expired_time,
                    attempt,
                ),
                attempt,
                price: PriceState::NotAsked,
            }),
            blocked_by: None,
        },
        Slot::Renewal,
    ));
    // Auto-renewal turned on with (or after) the renewal: its first charge counts from the
    // new expiry.
    for (change, _) in draft.changes.iter_mut().rev() {
        if change.instance_id != instance.instance_id {
            break;
        }
        if change.status_after() == Some("AutoRenewal") {
            set_first_deduction(
                change,
                first_deduction(choice.new_expiry, now, charge_rule(draft.site)),
            );
        }
    }
    if !choice.reaches_target {
        draft.warn(
            instance,
            name,
            format!(
                "even the longest renewal ECS accepts ({}) leaves expiry at {}, nearer than min_remaining {min}",
                choice.period,
                format_api(choice.new_expiry)
            ),
        );
    }
}

fn set_first_deduction(change: &mut Change, first: Option<Timestamp>) {
    if let ChangeDetail::ModifyAutoRenew(setting) = &mut change.detail {
        setting.first_deduction = first;
    }
}
