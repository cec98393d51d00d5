//! The calls of a plan, and batching changes into the fewest of them (DESIGN.md §5). Pure.
//!
//! RenewInstance takes one instance: one call per renewal. ModifyInstanceAutoRenewAttribute
//! takes up to 100 ids sharing one setting: one call per (region, setting) per 100 ids, except
//! where ordering forces a split: a status change that must precede a renewal (leaving
//! `NotRenewal`) runs in phase 1, renewals in phase 2, and a change that must follow its
//! instance's renewal in phase 3. Changes free of ordering fill the spare room of those batches
//! first, so the count stays minimal under the ordering constraint.
//!
//! A call is a typed request (`ecs::Mutation`) with its phase and the changes it carries. Its
//! serde form is the plan JSON's call object (format_version "1": `region`, `action`, `params`
//! — the exact wire parameters, made by `Mutation::params` — `phase`, `changes`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::change::{Change, ChangeDetail};
use crate::ecs::{ApiAction, AutoRenewSetting, MAX_BATCH, Mutation};

/// When a call runs. Apply runs the phases in order; calls of one phase may run concurrently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Phase {
    /// 1: status changes that must precede a renewal (moving off `NotRenewal`).
    BeforeRenewal,
    /// 2: renewals.
    Renewal,
    /// 3: the other status changes.
    AfterRenewal,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::BeforeRenewal, Phase::Renewal, Phase::AfterRenewal];

    pub fn number(self) -> u8 {
        match self {
            Phase::BeforeRenewal => 1,
            Phase::Renewal => 2,
            Phase::AfterRenewal => 3,
        }
    }
}

impl From<Phase> for u8 {
    fn from(phase: Phase) -> u8 {
        phase.number()
    }
}

impl TryFrom<u8> for Phase {
    type Error = String;
    fn try_from(n: u8) -> Result<Phase, String> {
        Phase::ALL
            .into_iter()
            .find(|p| p.number() == n)
            .ok_or_else(|| format!("phase {n} does not exist (1, 2 or 3)"))
    }
}

/// One API request that apply will send, exactly, with its phase and the indices of the plan's
/// changes it carries out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CallJson", into = "CallJson")]
pub struct Call {
    pub mutation: Mutation,
    pub phase: Phase,
    pub changes: Vec<usize>,
}

impl Call {
    pub fn action(&self) -> ApiAction {
        self.mutation.action()
    }

    pub fn region(&self) -> &str {
        self.mutation.region()
    }

    /// The instances it names.
    pub fn ids(&self) -> Vec<&str> {
        self.mutation.ids()
    }

    /// This call restricted to the changes `members` (indices into `changes`): the ids of a
    /// status change shrink to theirs. For splitting a refused batch, or leaving out changes
    /// that cannot be made now.
    pub fn only(&self, members: &[usize], changes: &[Change]) -> Call {
        let mut mutation = self.mutation.clone();
        if let Mutation::ModifyAutoRenew { ids, .. } = &mut mutation {
            *ids = members
                .iter()
                .filter_map(|&i| changes.get(i))
                .map(|c| c.instance_id.clone())
                .collect();
        }
        Call {
            mutation,
            phase: self.phase,
            changes: members.to_vec(),
        }
    }
}

/// The plan JSON's call object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CallJson {
    region: String,
    action: ApiAction,
    params: BTreeMap<String, String>,
    phase: Phase,
    changes: Vec<usize>,
}

impl From<Call> for CallJson {
    fn from(call: Call) -> CallJson {
        CallJson {
            region: call.region().to_string(),
            action: call.action(),
            params: call.mutation.params(),
            phase: call.phase,
            changes: call.changes,
        }
    }
}

impl TryFrom<CallJson> for Call {
    type Error = String;
    fn try_from(json: CallJson) -> Result<Call, String> {
        Ok(Call {
            mutation: Mutation::from_params(json.action, &json.region, &json.params)?,
            phase: json.phase,
            changes: json.changes,
        })
    }
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

/// The request that carries out `changes` (indices into `all`, one call's worth), or why they
/// cannot share one: a renewal is one call; status changes share a call when they share a region
/// and a setting.
pub fn request_for(members: &[usize], all: &[Change]) -> Result<Mutation, String> {
    let changes: Vec<&Change> = members.iter().filter_map(|&i| all.get(i)).collect();
    let Some(first) = changes.first() else {
        return Err("it carries no change".to_string());
    };
    match &first.detail {
        ChangeDetail::Renew(renewal) if changes.len() == 1 => Ok(Mutation::Renew {
            region: first.region.clone(),
            id: first.instance_id.clone(),
            period: renewal.period,
            token: renewal.token.clone(),
        }),
        ChangeDetail::Renew(_) => Err(format!("it carries {} renewals", changes.len())),
        ChangeDetail::ModifyAutoRenew(setting) => {
            let same = |c: &&Change| {
                c.region == first.region && c.setting().is_some_and(|s| s.after == setting.after)
            };
            if !changes.iter().all(same) {
                return Err("its changes do not share one region and setting".to_string());
            }
            Ok(Mutation::ModifyAutoRenew {
                region: first.region.clone(),
                ids: changes.iter().map(|c| c.instance_id.clone()).collect(),
                setting: setting.after,
            })
        }
    }
}

/// The calls that carry out `changes` (sorted as the plan lists them), given each change's slot.
pub fn batch(changes: &[Change], slots: &[Slot]) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut groups: BTreeMap<(String, AutoRenewSetting), [Vec<usize>; 3]> = BTreeMap::new();

    for (index, (change, slot)) in changes.iter().zip(slots).enumerate() {
        match &change.detail {
            ChangeDetail::Renew(renewal) => calls.push(Call {
                mutation: Mutation::Renew {
                    region: change.region.clone(),
                    id: change.instance_id.clone(),
                    period: renewal.period,
                    token: renewal.token.clone(),
                },
                phase: Phase::Renewal,
                changes: vec![index],
            }),
            ChangeDetail::ModifyAutoRenew(setting) => {
                let lane = match slot {
                    Slot::BeforeRenewal => 0,
                    Slot::AfterRenewal | Slot::Renewal => 1,
                    Slot::Free => 2,
                };
                groups
                    .entry((change.region.clone(), setting.after))
                    .or_default()[lane]
                    .push(index);
            }
        }
    }

    for ((region, setting), [before, after, free]) in groups {
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
            (Phase::BeforeRenewal, phase1),
            (Phase::AfterRenewal, phase3),
        ] {
            members.sort_by(|&a, &b| changes[a].instance_id.cmp(&changes[b].instance_id));
            for chunk in members.chunks(MAX_BATCH) {
                calls.push(Call {
                    mutation: Mutation::ModifyAutoRenew {
                        region: region.clone(),
                        ids: chunk
                            .iter()
                            .map(|&i| changes[i].instance_id.clone())
                            .collect(),
                        setting,
                    },
                    phase,
                    changes: chunk.to_vec(),
                });
            }
        }
    }

    calls.sort_by(|a, b| {
        (a.phase, a.region(), a.action(), a.ids().first().copied()).cmp(&(
            b.phase,
            b.region(),
            b.action(),
            b.ids().first().copied(),
        ))
    });
    calls
}
