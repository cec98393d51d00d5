//! No batch poisoning (DESIGN.md §8, blast radius): a ModifyInstanceAutoRenewAttribute call of
//! many ids fails whole when ECS refuses one of its instances (`IncorrectInstanceStatus`,
//! `InstanceLockedForSecurity`, `ChargeTypeViolation`, an id not found: `ecs::codes`). Such a
//! call is split and the parts sent again, so every other instance still gets its change and
//! the refused one is reported with the API's own code and RequestId.
//!
//! The split first tries the API's hint: when the refusal's message names exactly one id of the
//! batch, that id is sent alone and the rest together (two calls). Otherwise the batch is
//! halved, level by level, the halves of a level sent concurrently (for one bad id among 100,
//! about 14 calls). Every call beyond the planned one is counted.
//!
//! An instance renewed from expiry by this apply may still be refused auto-renewal
//! (`IncorrectInstanceStatus`) while its renewal is not visible (renewal lag): such instances,
//! and only they, are sent again alone, with a doubling pause, until the lag deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::{Outcome, Stop};
use crate::cloud::{ApiError, CallOutcome, EcsApi};
use crate::ecs::codes;
use crate::plan::{Call, Change};

/// What the refusals of IncorrectInstanceStatus may be retried for.
#[derive(Debug, Clone, Default)]
pub(crate) struct LagRetry {
    /// Instances renewed from expiry in this apply.
    pub instances: BTreeSet<String>,
    /// No retry starts after this.
    pub deadline: Option<Instant>,
    pub first_pause: Duration,
    pub max_pause: Duration,
}

/// What is known so far of the calls of an apply, written as each answer comes: an
/// interrupted apply that gives up on a call in flight keeps what its parts already answered,
/// and counts the calls they sent.
#[derive(Debug, Default)]
pub(crate) struct Known {
    outcomes: Mutex<BTreeMap<usize, Outcome>>,
    extra_calls: AtomicU64,
}

impl Known {
    pub(crate) fn record(&self, index: usize, outcome: Outcome) {
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(index, outcome);
    }

    pub(crate) fn outcome(&self, index: usize) -> Option<Outcome> {
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&index)
            .cloned()
    }

    fn sent_extra(&self, calls: u64) {
        self.extra_calls.fetch_add(calls, Ordering::Relaxed);
    }

    pub(crate) fn extra_calls(&self) -> u64 {
        self.extra_calls.load(Ordering::Relaxed)
    }
}

fn not_sent() -> Outcome {
    Outcome::Skipped {
        why: "not sent: apply was interrupted".to_string(),
    }
}

/// Sends a ModifyInstanceAutoRenewAttribute call, splitting it past refusals of single
/// instances; each change's outcome, and each call beyond the planned one, goes to `known` as
/// soon as it is known. Once `stop` is requested no further part is sent.
pub(crate) async fn execute_modify<A: EcsApi>(
    api: &A,
    call: &Call,
    changes: &[Change],
    lag: &LagRetry,
    stop: &Stop,
    known: &Known,
) {
    let mut level = vec![call.changes.clone()];
    let mut first = true;
    let mut refused_while_lagging: Vec<(usize, ApiError)> = Vec::new();
    while !level.is_empty() {
        if !first && stop.is_requested() {
            for &member in level.iter().flatten() {
                known.record(member, not_sent());
            }
            break;
        }
        let sends = level.iter().map(|members| {
            let sub = if first {
                call.clone()
            } else {
                call.only(members, changes)
            };
            async move { api.execute(&sub.mutation).await }
        });
        if !first {
            known.sent_extra(level.len() as u64);
        }
        let answers = join_all(sends).await;
        first = false;
        let mut next = Vec::new();
        for (members, answer) in level.into_iter().zip(answers) {
            match answer {
                Ok(done) => {
                    for &member in &members {
                        known.record(member, succeeded(&done));
                    }
                }
                Err(error)
                    if error.code().is_some_and(codes::is_instance_specific)
                        && members.len() > 1 =>
                {
                    let (named, rest) = divide(&members, &error, changes);
                    next.push(named);
                    next.push(rest);
                }
                Err(error)
                    if error.code() == Some(codes::INCORRECT_STATUS)
                        && members.len() == 1
                        && lag.deadline.is_some()
                        && changes
                            .get(members[0])
                            .is_some_and(|c| lag.instances.contains(&c.instance_id)) =>
                {
                    refused_while_lagging.push((members[0], error));
                }
                Err(error) => {
                    let outcome = failed(&error);
                    for &member in &members {
                        known.record(member, outcome.clone());
                    }
                }
            }
        }
        level = next;
    }
    // Each instance waits for its own renewal: their retries run side by side, so one that
    // never shows does not use up the others' time.
    let retries = refused_while_lagging
        .into_iter()
        .map(|(member, error)| async move {
            let outcome =
                retry_while_lagging(api, call, member, changes, lag, error, stop, known).await;
            known.record(member, outcome);
        });
    join_all(retries).await;
}

/// Splits `members` after a refusal: the one id the message names against the rest, or halves.
fn divide(members: &[usize], error: &ApiError, changes: &[Change]) -> (Vec<usize>, Vec<usize>) {
    let message = error.message().unwrap_or_default();
    let named: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| {
            changes
                .get(i)
                .is_some_and(|c| mentions(message, &c.instance_id))
        })
        .collect();
    if let [one] = named[..] {
        let rest = members.iter().copied().filter(|&i| i != one).collect();
        return (vec![one], rest);
    }
    let (a, b) = members.split_at(members.len() / 2);
    (a.to_vec(), b.to_vec())
}

/// Whether `message` names `id` as a whole word (`i-1` is not named by `i-10`).
fn mentions(message: &str, id: &str) -> bool {
    let is_id_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    message.match_indices(id).any(|(at, _)| {
        let before = message[..at].chars().next_back();
        let after = message[at + id.len()..].chars().next();
        !before.is_some_and(is_id_char)
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// Sends the change of `member` alone again, with a doubling pause, while ECS refuses it for
/// a renewal it does not show yet, the lag deadline allows and no stop is requested. Returns its
/// outcome; each call sent is counted in `known`.
#[allow(clippy::too_many_arguments)]
async fn retry_while_lagging<A: EcsApi>(
    api: &A,
    call: &Call,
    member: usize,
    changes: &[Change],
    lag: &LagRetry,
    mut last: ApiError,
    stop: &Stop,
    known: &Known,
) -> Outcome {
    let Some(deadline) = lag.deadline else {
        return failed(&last);
    };
    let single = call.only(&[member], changes).mutation;
    let mut pause = lag.first_pause;
    while Instant::now() + pause <= deadline {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.requested() => return failed(&last),
        }
        known.sent_extra(1);
        match api.execute(&single).await {
            Ok(done) => return succeeded(&done),
            Err(error) if error.code() == Some(codes::INCORRECT_STATUS) => last = error,
            Err(error) => return failed(&error),
        }
        pause = (pause * 2).min(lag.max_pause);
    }
    failed(&last)
}

fn succeeded(done: &CallOutcome) -> Outcome {
    Outcome::Succeeded {
        request_id: done.request_id.clone(),
        order_id: done.order_id.clone(),
    }
}

/// A failed status change: unknown when it may have been carried out.
pub(crate) fn failed(error: &ApiError) -> Outcome {
    if error.is_ambiguous() {
        Outcome::Unknown {
            error: error.to_string(),
            code: error.code().map(str::to_string),
        }
    } else {
        Outcome::Failed {
            error: error.to_string(),
            code: error.code().map(str::to_string),
            request_id: error.request_id().map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_named_only_as_a_whole_word() {
        assert!(mentions("instance i-1 is locked", "i-1"));
        assert!(mentions("\"i-1\" is not valid", "i-1"));
        assert!(mentions("Instance i-1.", "i-1"));
        assert!(!mentions("instance i-10 is locked", "i-1"));
        assert!(!mentions("instance xi-1 is locked", "i-1"));
        assert!(!mentions("nothing here", "i-1"));
    }
}
