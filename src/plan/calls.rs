//! Batching changes into the fewest API calls (DESIGN.md §5). Pure.
//!
//! RenewInstance takes one instance: one call per renewal. ModifyInstanceAutoRenewAttribute
//! takes up to 100 ids sharing one setting: one call per (region, status, duration, unit) per
//! 100 ids, except where ordering forces a split: a status change that must precede a renewal
//! (leaving `NotRenewal`) runs in phase 1, renewals in phase 2, and a change that must follow
//! its instance's renewal in phase 3. Changes free of ordering fill the spare room of those
//! batches first, so the count stays minimal under the ordering constraint.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Action, Change};
use crate::cloud::MAX_BATCH;

/// The mutating ECS actions a plan can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiAction {
    ModifyInstanceAutoRenewAttribute,
    RenewInstance,
}

impl ApiAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiAction::ModifyInstanceAutoRenewAttribute => "ModifyInstanceAutoRenewAttribute",
            ApiAction::RenewInstance => "RenewInstance",
        }
    }
}

impl fmt::Display for ApiAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One API request that apply will send, exactly: region (which endpoint), action and the
/// business parameters. Apply runs calls phase by phase, in order; calls of one phase may run
/// concurrently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub region: String,
    pub action: ApiAction,
    pub params: BTreeMap<String, String>,
    /// 1: status changes that must precede a renewal (moving off `NotRenewal`);
    /// 2: renewals; 3: the other auto-renew changes.
    pub phase: u8,
    /// Indices into the plan's `changes` that this call carries out.
    pub changes: Vec<usize>,
}

/// When a change must run relative to its instance's renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// Before the renewal (leaving `NotRenewal`).
    BeforeRenewal,
    /// The renewal itself.
    Renewal,
    /// After the renewal (turning auto-renewal on for an instance renewed in this plan).
    AfterRenewal,
    /// No renewal of this instance in the plan: any phase will do.
    Free,
}

pub const PHASE_BEFORE_RENEWAL: u8 = 1;
pub const PHASE_RENEWAL: u8 = 2;
pub const PHASE_AFTER_RENEWAL: u8 = 3;

/// What a ModifyInstanceAutoRenewAttribute call sets; changes sharing it can share a call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ModifyKey {
    region: String,
    status: String,
    duration: Option<u32>,
    unit: Option<String>,
}

/// The calls that carry out `changes` (sorted as the plan lists them), given each change's slot.
pub fn batch(changes: &[Change], slots: &[Slot]) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut groups: BTreeMap<ModifyKey, [Vec<usize>; 3]> = BTreeMap::new();

    for (index, (change, slot)) in changes.iter().zip(slots).enumerate() {
        match change.action {
            Action::Renew => calls.push(renew_call(index, change)),
            Action::ModifyAutoRenew => {
                let key = modify_key(change);
                let lane = match slot {
                    Slot::BeforeRenewal => 0,
                    Slot::AfterRenewal | Slot::Renewal => 1,
                    Slot::Free => 2,
                };
                groups.entry(key).or_default()[lane].push(index);
            }
        }
    }

    for (key, [before, after, free]) in groups {
        // Free changes first top up the last phase-1 batch, then join phase 3.
        let spare = if before.is_empty() {
            0
        } else {
            (MAX_BATCH - before.len() % MAX_BATCH) % MAX_BATCH
        };
        let spare = spare.min(free.len());
        let mut phase1 = before;
        phase1.extend_from_slice(&free[..spare]);
        let mut phase3 = after;
        phase3.extend_from_slice(&free[spare..]);
        for (phase, mut members) in [
            (PHASE_BEFORE_RENEWAL, phase1),
            (PHASE_AFTER_RENEWAL, phase3),
        ] {
            members.sort_by(|&a, &b| changes[a].instance_id.cmp(&changes[b].instance_id));
            for chunk in members.chunks(MAX_BATCH) {
                calls.push(modify_call(&key, phase, chunk, changes));
            }
        }
    }

    calls.sort_by(|a, b| {
        (a.phase, &a.region, a.action, first_id(a)).cmp(&(
            b.phase,
            &b.region,
            b.action,
            first_id(b),
        ))
    });
    calls
}

/// The parameters `call` must carry, rebuilt from the changes it names (in its order), or why
/// none can be: its changes disagree on the setting a status change sends.
pub fn expected_params(
    call: &Call,
    changes: &[Change],
) -> Result<BTreeMap<String, String>, String> {
    let members: Vec<&Change> = call
        .changes
        .iter()
        .filter_map(|&i| changes.get(i))
        .collect();
    let Some(first) = members.first() else {
        return Err("it carries no change".to_string());
    };
    match call.action {
        ApiAction::RenewInstance => Ok(renew_call(0, first).params),
        ApiAction::ModifyInstanceAutoRenewAttribute => {
            let key = modify_key(first);
            if members.iter().any(|c| modify_key(c) != key) {
                return Err("its changes do not share one setting".to_string());
            }
            let mut params = modify_call(&key, call.phase, &[], changes).params;
            params.insert(
                "InstanceId".to_string(),
                members
                    .iter()
                    .map(|c| c.instance_id.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            );
            Ok(params)
        }
    }
}

fn modify_key(change: &Change) -> ModifyKey {
    ModifyKey {
        region: change.region.clone(),
        status: change
            .after
            .renewal_status
            .as_ref()
            .map(|s| s.as_api().to_string())
            .unwrap_or_default(),
        duration: change.after.duration,
        unit: change.after.period_unit.clone(),
    }
}

fn first_id(call: &Call) -> &str {
    call.params
        .get("InstanceId")
        .map(|ids| ids.split(',').next().unwrap_or(""))
        .unwrap_or("")
}

fn renew_call(index: usize, change: &Change) -> Call {
    let mut params = BTreeMap::new();
    params.insert("InstanceId".to_string(), change.instance_id.clone());
    if let Some(period) = change.period {
        params.insert("Period".to_string(), period.to_string());
    }
    if let Some(unit) = &change.period_unit {
        params.insert("PeriodUnit".to_string(), unit.clone());
    }
    if let Some(token) = &change.client_token {
        params.insert("ClientToken".to_string(), token.clone());
    }
    Call {
        region: change.region.clone(),
        action: ApiAction::RenewInstance,
        params,
        phase: PHASE_RENEWAL,
        changes: vec![index],
    }
}

fn modify_call(key: &ModifyKey, phase: u8, members: &[usize], changes: &[Change]) -> Call {
    let ids: Vec<&str> = members
        .iter()
        .map(|&i| changes[i].instance_id.as_str())
        .collect();
    let mut params = BTreeMap::new();
    params.insert("RegionId".to_string(), key.region.clone());
    params.insert("InstanceId".to_string(), ids.join(","));
    params.insert("RenewalStatus".to_string(), key.status.clone());
    // RenewalStatus decides; AutoRenew is sent to agree with it (ecs-api.md §3.4), and Duration
    // and PeriodUnit only with AutoRenewal, as Terraform's provider does.
    let auto = key.status == "AutoRenewal";
    params.insert("AutoRenew".to_string(), auto.to_string());
    if auto {
        if let Some(duration) = key.duration {
            params.insert("Duration".to_string(), duration.to_string());
        }
        if let Some(unit) = &key.unit {
            params.insert("PeriodUnit".to_string(), unit.clone());
        }
    }
    Call {
        region: key.region.clone(),
        action: ApiAction::ModifyInstanceAutoRenewAttribute,
        params,
        phase,
        changes: members.to_vec(),
    }
}
