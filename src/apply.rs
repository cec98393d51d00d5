//! Executes a plan through `EcsApi`: the planned calls, phase by phase (leaving `NotRenewal`,
//! then renewals, then the other auto-renew changes), the calls of a phase concurrently within
//! the client's bound. It never re-plans: it sends exactly the planned calls, except that a
//! renewal whose preceding status change failed is skipped (ECS would refuse it). Every change
//! ends succeeded, failed or skipped.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::cloud::{ApiError, CallOutcome, EcsApi};
use crate::plan::calls::{PHASE_AFTER_RENEWAL, PHASE_BEFORE_RENEWAL, PHASE_RENEWAL};
use crate::plan::{Call, Plan};

/// How one change ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        request_id: String,
        order_id: Option<String>,
    },
    Failed {
        /// The error, as shown to users (code, message and RequestId when the API answered).
        error: String,
        code: Option<String>,
    },
    Skipped {
        why: String,
    },
}

/// What apply reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyEvent<'a> {
    /// The call carrying change `index` is being sent.
    Started(usize),
    /// Change `index` ended.
    Finished(usize, &'a Outcome),
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

/// The outcome of every change of the plan, by index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn succeeded(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Succeeded { .. }))
            .count()
    }

    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.is_failure()).count()
    }

    pub fn skipped(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Skipped { .. }))
            .count()
    }
}

fn outcome_of(result: &Result<CallOutcome, ApiError>) -> Outcome {
    match result {
        Ok(done) => Outcome::Succeeded {
            request_id: done.request_id.clone(),
            order_id: done.order_id.clone(),
        },
        Err(err) => Outcome::Failed {
            error: err.to_string(),
            code: err.code().map(str::to_string),
        },
    }
}

/// Applies `plan`. `on_event` hears each change start and finish, so the caller can show
/// progress as it happens.
pub async fn apply<A: EcsApi>(
    api: &A,
    plan: &Plan,
    mut on_event: impl FnMut(ApplyEvent<'_>),
) -> Report {
    let unfinished = Outcome::Skipped {
        why: "not attempted".to_string(),
    };
    let mut outcomes = vec![unfinished; plan.changes.len()];
    let mut failed_before_renewal: BTreeSet<&str> = BTreeSet::new();
    let mut finish = |index: usize, outcome: Outcome, on_event: &mut dyn FnMut(ApplyEvent<'_>)| {
        on_event(ApplyEvent::Finished(index, &outcome));
        if let Some(slot) = outcomes.get_mut(index) {
            *slot = outcome;
        }
    };

    for phase in [PHASE_BEFORE_RENEWAL, PHASE_RENEWAL, PHASE_AFTER_RENEWAL] {
        let mut running = FuturesUnordered::new();
        for call in plan.calls.iter().filter(|c| c.phase == phase) {
            let blocked = phase == PHASE_RENEWAL
                && call_instances(call).any(|id| failed_before_renewal.contains(id));
            if blocked {
                for &index in &call.changes {
                    let outcome = Outcome::Skipped {
                        why: "its status change off NotRenewal failed, and ECS does not renew a NotRenewal instance".to_string(),
                    };
                    finish(index, outcome, &mut on_event);
                }
                continue;
            }
            for &index in &call.changes {
                on_event(ApplyEvent::Started(index));
            }
            running.push(async move { (call, api.execute(call).await) });
        }
        while let Some((call, result)) = running.next().await {
            let outcome = outcome_of(&result);
            if phase == PHASE_BEFORE_RENEWAL && outcome.is_failure() {
                failed_before_renewal.extend(call_instances(call));
            }
            for &index in &call.changes {
                finish(index, outcome.clone(), &mut on_event);
            }
        }
    }
    Report { outcomes }
}

fn call_instances(call: &Call) -> impl Iterator<Item = &str> {
    call.params
        .get("InstanceId")
        .map(String::as_str)
        .unwrap_or("")
        .split(',')
        .filter(|id| !id.is_empty())
}
