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

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::Outcome;
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

/// The outcome of each change a call carries, and the calls sent beyond the planned one.
#[derive(Debug, Default)]
pub(crate) struct Split {
    pub outcomes: Vec<(usize, Outcome)>,
    pub extra_calls: u64,
}

/// `call` restricted to the changes `members` (indices into the plan's changes).
pub(crate) fn sub_call(call: &Call, members: &[usize], changes: &[Change]) -> Call {
    let ids: Vec<&str> = members
        .iter()
        .filter_map(|&i| changes.get(i))
        .map(|c| c.instance_id.as_str())
        .collect();
    let mut sub = call.clone();
    sub.params.insert("InstanceId".to_string(), ids.join(","));
    sub.changes = members.to_vec();
    sub
}

/// Sends a ModifyInstanceAutoRenewAttribute call, splitting it past refusals of single
/// instances.
pub(crate) async fn execute_modify<A: EcsApi>(
    api: &A,
    call: &Call,
    changes: &[Change],
    lag: &LagRetry,
) -> Split {
    let mut split = Split::default();
    let mut level = vec![call.changes.clone()];
    let mut first = true;
    let mut refused_while_lagging: Vec<(usize, ApiError)> = Vec::new();
    while !level.is_empty() {
        let sends = level.iter().map(|members| {
            let sub = if first {
                call.clone()
            } else {
                sub_call(call, members, changes)
            };
            async move { api.execute(&sub).await }
        });
        let answers = join_all(sends).await;
        if !first {
            split.extra_calls += answers.len() as u64;
        }
        first = false;
        let mut next = Vec::new();
        for (members, answer) in level.into_iter().zip(answers) {
            match answer {
                Ok(done) => split
                    .outcomes
                    .extend(members.iter().map(|&i| (i, succeeded(&done)))),
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
                    split
                        .outcomes
                        .extend(members.iter().map(|&i| (i, outcome.clone())));
                }
            }
        }
        level = next;
    }
    for (member, error) in refused_while_lagging {
        let (outcome, sent) = retry_while_lagging(api, call, member, changes, lag, error).await;
        split.extra_calls += sent;
        split.outcomes.push((member, outcome));
    }
    split.outcomes.sort_by_key(|(i, _)| *i);
    split
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
/// a renewal it does not show yet and the lag deadline allows. Returns its outcome and the
/// calls sent.
async fn retry_while_lagging<A: EcsApi>(
    api: &A,
    call: &Call,
    member: usize,
    changes: &[Change],
    lag: &LagRetry,
    mut last: ApiError,
) -> (Outcome, u64) {
    let Some(deadline) = lag.deadline else {
        return (failed(&last), 0);
    };
    let single = sub_call(call, &[member], changes);
    let mut pause = lag.first_pause;
    let mut sent = 0;
    while Instant::now() + pause <= deadline {
        tokio::time::sleep(pause).await;
        sent += 1;
        match api.execute(&single).await {
            Ok(done) => return (succeeded(&done), sent),
            Err(error) if error.code() == Some(codes::INCORRECT_STATUS) => last = error,
            Err(error) => return (failed(&error), sent),
        }
        pause = (pause * 2).min(lag.max_pause);
    }
    (failed(&last), sent)
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
