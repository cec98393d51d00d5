//! Executes a plan through `EcsApi` (DESIGN.md §5, §8): the planned calls, phase by phase
//! (leaving `NotRenewal`, then renewals, then the other auto-renew changes), the calls of a
//! phase concurrently within `parallelism`. It never re-plans: it sends the planned calls, and
//! departs from them only where the API's semantics force it, each time counted and reported:
//!
//! - a ModifyInstanceAutoRenewAttribute call refused because of one of its instances is split
//!   and re-sent, so the others still get their change (`split`);
//! - a renewal whose preceding status change failed is skipped (ECS would refuse it);
//! - the auto-renew change that follows the renewal of an expired instance waits until that
//!   renewal is visible (renewal lag), and is retried alone while ECS refuses it for that
//!   reason; if the renewal never shows within the bound, or did not happen, it is skipped;
//! - once a stop is requested (a signal), no new call is sent; calls in flight get a short
//!   grace, and those still unanswered end "unknown".
//!
//! Every change ends succeeded, failed, unknown (it may have been carried out: for a renewal,
//! it may have been paid), token conflict (a renewal refused because its token was used with
//! other parameters) or skipped. At the end, every renewal that was, may have been, or was
//! refused as already paid is verified by reading its expiry again (`verify`).

mod split;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use jiff::Timestamp;
use tokio::sync::Semaphore;
use tokio::time::Instant;

pub use crate::interrupt::Stop;
pub use crate::report::{ApplyEvent, LagWait, Outcome, Report};

use crate::cloud::{ApiError, EcsApi};
use crate::ecs::ApiAction;
use crate::ecs::codes;
use crate::plan::{Call, Phase, Plan};
use crate::report::{Checked, RenewalCheck, Verdict, Verification};
use crate::verify::{self, VerifyOptions, Watch};
use split::{Known, LagRetry, execute_modify};

/// How apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Calls in flight at once.
    pub parallelism: usize,
    /// The renewal-lag bound and read pacing: for the wait before an auto-renew change that
    /// follows a renewal, and for the verification at the end (zero: neither).
    pub lag: VerifyOptions,
    /// After a stop request, how long calls in flight may take before apply gives up on them.
    pub stop_grace: Duration,
    /// Now: which renewed instances were expired (they need their renewal visible before
    /// auto-renewal can be turned on).
    pub now: Timestamp,
    /// Instances whose changes are not sent, with why (e.g. they could not be read again to
    /// check the plan still holds for them).
    pub excluded: BTreeMap<String, String>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            lag: VerifyOptions::default(),
            stop_grace: Duration::from_secs(5),
            now: Timestamp::now(),
            excluded: BTreeMap::new(),
        }
    }
}

/// Applies `plan` with default options and no stop: the calls, the waits and the verification.
pub async fn apply<A: EcsApi>(
    api: &A,
    plan: &Plan,
    on_event: impl FnMut(ApplyEvent<'_>),
) -> Report {
    apply_with(api, plan, &ApplyOptions::default(), &Stop::new(), on_event).await
}

/// Whether a call was sent (its outcomes are in `Known`).
enum Launch {
    NotSent,
    Done,
}

type Deadline<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Applies `plan`. `on_event` hears each change start and finish, the waits and the
/// verification, so the caller can show progress as it happens. `stop` interrupts it.
pub async fn apply_with<A: EcsApi>(
    api: &A,
    plan: &Plan,
    options: &ApplyOptions,
    stop: &Stop,
    mut on_event: impl FnMut(ApplyEvent<'_>),
) -> Report {
    let mut report = Report {
        outcomes: vec![
            Outcome::Skipped {
                why: "not attempted".to_string(),
            };
            plan.changes.len()
        ],
        ..Report::default()
    };
    // Fires once, a grace after a stop request: then calls in flight are given up on.
    let mut deadline: Deadline<'_> = Box::pin(async move {
        stop.requested().await;
        tokio::time::sleep(options.stop_grace).await;
    });
    let mut gave_up = false;
    let renewal_of: HashMap<&str, usize> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.renewal().is_some())
        .map(|(i, c)| (c.instance_id.as_str(), i))
        .collect();
    let mut lag_retry = LagRetry {
        first_pause: options.lag.first_pause,
        max_pause: options.lag.max_pause,
        ..LagRetry::default()
    };
    let mut seen: BTreeMap<usize, Verdict> = BTreeMap::new();

    for phase in Phase::ALL {
        let held = held_back(plan, phase, &report, &renewal_of, &seen, options);
        let mut calls: Vec<Call> = Vec::new();
        for call in plan.calls.iter().filter(|c| c.phase == phase) {
            let (ready, skipped) = admit(plan, call, &held);
            for (index, why) in skipped {
                finish(&mut report, index, Outcome::Skipped { why }, &mut on_event);
            }
            if let Some(ready) = ready {
                calls.push(ready);
            }
        }
        if phase == Phase::AfterRenewal && !stop.is_requested() {
            let (kept, wait) = wait_for_renewals(
                api,
                plan,
                calls,
                &renewal_of,
                &mut report,
                &mut seen,
                options,
                stop,
                &mut on_event,
            )
            .await;
            calls = kept;
            if let Some(deadline) = wait {
                lag_retry.deadline = Some(deadline);
                lag_retry.instances = report_waited(plan, &renewal_of, &seen);
            }
        }
        if stop.is_requested() || gave_up {
            for call in &calls {
                for &index in &call.changes {
                    let why = "not sent: apply was interrupted".to_string();
                    finish(&mut report, index, Outcome::Skipped { why }, &mut on_event);
                }
            }
            continue;
        }

        let slots = Semaphore::new(options.parallelism.max(1));
        let in_flight: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());
        let known = Known::default();
        let mut running = FuturesUnordered::new();
        for (n, call) in calls.iter().enumerate() {
            let (slots, in_flight, lag_retry, known) = (&slots, &in_flight, &lag_retry, &known);
            running.push(async move {
                let Ok(_slot) = slots.acquire().await else {
                    return (n, Launch::NotSent);
                };
                if stop.is_requested() {
                    return (n, Launch::NotSent);
                }
                in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(n);
                run_call(api, plan, call, lag_retry, stop, known).await;
                (n, Launch::Done)
            });
        }
        let mut finished: BTreeSet<usize> = BTreeSet::new();
        let mut announced: BTreeSet<usize> = BTreeSet::new();
        let mut told_stop = false;
        loop {
            // Started events for calls that took a slot since the last look.
            let now_in_flight: Vec<usize> = in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .copied()
                .filter(|n| !announced.contains(n))
                .collect();
            for n in now_in_flight {
                announced.insert(n);
                for &index in &calls[n].changes {
                    on_event(ApplyEvent::Started(index));
                }
            }
            if stop.is_requested() && !told_stop {
                told_stop = true;
                on_event(ApplyEvent::Interrupted);
            }
            let next = tokio::select! {
                // An answer that is ready wins over the end of the grace.
                biased;
                next = running.next() => next,
                () = &mut deadline, if !gave_up => {
                    gave_up = true;
                    None
                }
                () = stop.requested(), if !told_stop => continue,
            };
            let Some((n, launch)) = next else {
                break;
            };
            finished.insert(n);
            match launch {
                Launch::NotSent => {
                    for &index in &calls[n].changes {
                        let why = "not sent: apply was interrupted".to_string();
                        finish(&mut report, index, Outcome::Skipped { why }, &mut on_event);
                    }
                }
                Launch::Done => {
                    if !announced.contains(&n) {
                        announced.insert(n);
                        for &index in &calls[n].changes {
                            on_event(ApplyEvent::Started(index));
                        }
                    }
                    for &index in &calls[n].changes {
                        let outcome = known.outcome(index).unwrap_or_else(|| Outcome::Unknown {
                            error: "no outcome was recorded for this change".to_string(),
                            code: None,
                        });
                        finish(&mut report, index, outcome, &mut on_event);
                    }
                }
            }
        }
        drop(running);
        report.extra_calls += known.extra_calls();
        if gave_up {
            // The grace is over: what is still in flight may or may not have been done; what
            // its parts already answered is kept.
            let sent = in_flight.into_inner().unwrap_or_else(|p| p.into_inner());
            for (n, call) in calls.iter().enumerate() {
                if finished.contains(&n) {
                    continue;
                }
                for &index in &call.changes {
                    let outcome = if let Some(outcome) = known.outcome(index) {
                        outcome
                    } else if sent.contains(&n) {
                        Outcome::Unknown {
                            error: "apply was interrupted while this call was in flight: it may \
                                    have been carried out"
                                .to_string(),
                            code: None,
                        }
                    } else {
                        Outcome::Skipped {
                            why: "not sent: apply was interrupted".to_string(),
                        }
                    };
                    finish(&mut report, index, outcome, &mut on_event);
                }
            }
        }
    }
    if !stop.is_requested() && !options.lag.timeout.is_zero() {
        let verification = verify_renewals(api, plan, &report, &seen, options, stop).await;
        if !verification.checks.is_empty() {
            on_event(ApplyEvent::Verified(&verification));
            report.verification = Some(verification);
        }
    }
    // After the verification: a stop requested during it cut it short.
    report.interrupted = stop.is_requested();
    report
}

fn finish(
    report: &mut Report,
    index: usize,
    outcome: Outcome,
    on_event: &mut impl FnMut(ApplyEvent<'_>),
) {
    on_event(ApplyEvent::Finished(index, &outcome));
    if let Some(slot) = report.outcomes.get_mut(index) {
        *slot = outcome;
    }
}

/// The instances whose changes of `phase` are held back, and why: those excluded from the
/// start; before a renewal, those whose status change off `NotRenewal` did not succeed (ECS
/// does not renew a `NotRenewal` instance); after the renewals, expired instances whose renewal
/// did not happen, or does not show (ECS refuses auto-renewal for an expired instance).
fn held_back(
    plan: &Plan,
    phase: Phase,
    report: &Report,
    renewal_of: &HashMap<&str, usize>,
    seen: &BTreeMap<usize, Verdict>,
    options: &ApplyOptions,
) -> BTreeMap<String, String> {
    let mut held = options.excluded.clone();
    match phase {
        Phase::Renewal => {
            for call in plan
                .calls
                .iter()
                .filter(|c| c.phase == Phase::BeforeRenewal)
            {
                for &index in &call.changes {
                    let (Some(change), Some(outcome)) =
                        (plan.changes.get(index), report.outcomes.get(index))
                    else {
                        continue;
                    };
                    if !matches!(outcome, Outcome::Succeeded { .. }) {
                        held.entry(change.instance_id.clone()).or_insert_with(|| {
                            "its status change off NotRenewal did not succeed, and ECS does not \
                             renew a NotRenewal instance"
                                .to_string()
                        });
                    }
                }
            }
        }
        Phase::AfterRenewal => {
            for (id, &r) in renewal_of {
                if !was_expired(plan, r, options) {
                    continue;
                }
                let why = match report.outcomes.get(r) {
                    Some(Outcome::Failed { .. } | Outcome::Skipped { .. }) => Some(
                        "its renewal did not happen, and ECS refuses auto-renewal for an expired \
                         instance: renew it first (plan again)",
                    ),
                    _ if seen.get(&r).is_some_and(|v| !v.is_visible()) => Some(
                        "its renewal is not visible yet, and ECS refuses auto-renewal until it \
                         shows: plan again in a while",
                    ),
                    _ => None,
                };
                if let Some(why) = why {
                    held.entry((*id).to_string())
                        .or_insert_with(|| why.to_string());
                }
            }
        }
        _ => {}
    }
    held
}

/// The part of `call` that may be sent, and the changes it leaves out with the reason.
fn admit(
    plan: &Plan,
    call: &Call,
    held: &BTreeMap<String, String>,
) -> (Option<Call>, Vec<(usize, String)>) {
    let mut keep = Vec::new();
    let mut skip = Vec::new();
    for &index in &call.changes {
        let Some(change) = plan.changes.get(index) else {
            continue;
        };
        match held.get(&change.instance_id) {
            Some(why) => skip.push((index, why.clone())),
            None => keep.push(index),
        }
    }
    let ready = if keep.is_empty() {
        None
    } else if keep.len() == call.changes.len() {
        Some(call.clone())
    } else {
        // Only a batch of status changes can lose members; a renewal has one.
        Some(call.only(&keep, &plan.changes))
    };
    (ready, skip)
}

/// Was the renewal `change` made from an expiry already past?
fn was_expired(plan: &Plan, change: usize, options: &ApplyOptions) -> bool {
    plan.changes
        .get(change)
        .and_then(|c| c.renewal())
        .map(|r| r.before)
        .is_some_and(|expiry| expiry <= options.now)
}

/// Before the phase-3 calls: waits until the renewals of expired instances they need are
/// visible, within the lag bound. Returns the calls without the changes whose renewal never
/// showed (those end skipped), and the deadline for retrying refusals that still lag.
#[allow(clippy::too_many_arguments)]
async fn wait_for_renewals<A: EcsApi>(
    api: &A,
    plan: &Plan,
    calls: Vec<Call>,
    renewal_of: &HashMap<&str, usize>,
    report: &mut Report,
    seen: &mut BTreeMap<usize, Verdict>,
    options: &ApplyOptions,
    stop: &Stop,
    on_event: &mut impl FnMut(ApplyEvent<'_>),
) -> (Vec<Call>, Option<Instant>) {
    let mut renewals: BTreeSet<usize> = BTreeSet::new();
    for call in &calls {
        for &index in &call.changes {
            if let Some(&r) = plan
                .changes
                .get(index)
                .and_then(|c| renewal_of.get(c.instance_id.as_str()))
                && was_expired(plan, r, options)
            {
                renewals.insert(r);
            }
        }
    }
    if renewals.is_empty() || options.lag.timeout.is_zero() {
        return (calls, None);
    }
    let started = Instant::now();
    let deadline = started + options.lag.timeout;
    let (order, watches): (Vec<usize>, Vec<Watch>) = renewals
        .into_iter()
        .filter_map(|r| watch_of(plan, r).map(|w| (r, w)))
        .unzip();
    on_event(ApplyEvent::WaitingForRenewals {
        instances: watches.len(),
    });
    let sightings = watch_interruptibly(api, &watches, options, stop).await;
    for (&r, verdict) in order.iter().zip(&sightings.verdicts) {
        seen.insert(r, verdict.clone());
    }
    let wait = LagWait {
        instances: watches.len(),
        visible: sightings.verdicts.iter().filter(|v| v.is_visible()).count(),
        waited: sightings.elapsed,
        reads: sightings.reads,
    };
    on_event(ApplyEvent::WaitedForRenewals(&wait));
    report.lag_wait = Some(wait);

    // Drop what still cannot be done.
    let held = held_back(plan, Phase::AfterRenewal, report, renewal_of, seen, options);
    let mut kept = Vec::new();
    for call in calls {
        let (ready, skipped) = admit(plan, &call, &held);
        for (index, why) in skipped {
            finish(report, index, Outcome::Skipped { why }, on_event);
        }
        kept.extend(ready);
    }
    (kept, Some(deadline))
}

/// The instances whose auto-renew change may be retried while their renewal lags: those renewed
/// from expiry in this apply.
fn report_waited(
    plan: &Plan,
    renewal_of: &HashMap<&str, usize>,
    seen: &BTreeMap<usize, Verdict>,
) -> BTreeSet<String> {
    renewal_of
        .iter()
        .filter(|(_, r)| seen.contains_key(r))
        .filter_map(|(_, &r)| plan.changes.get(r).map(|c| c.instance_id.clone()))
        .collect()
}

/// Watches within the lag bound; a stop ends it, with the grace for reads in flight.
async fn watch_interruptibly<A: EcsApi>(
    api: &A,
    watches: &[Watch],
    options: &ApplyOptions,
    stop: &Stop,
) -> verify::Sightings {
    verify::watch(api, watches, &options.lag, Some((stop, options.stop_grace))).await
}

fn watch_of(plan: &Plan, change: usize) -> Option<Watch> {
    let c = plan.changes.get(change)?;
    Some(Watch {
        region: c.region.clone(),
        instance_id: c.instance_id.clone(),
        before: c.renewal()?.before,
    })
}

/// Sends one call: a renewal as planned, an auto-renew change with splitting. The outcome of
/// each change it carries, and the calls sent beyond it, go to `known`.
async fn run_call<A: EcsApi>(
    api: &A,
    plan: &Plan,
    call: &Call,
    lag: &LagRetry,
    stop: &Stop,
    known: &Known,
) {
    match call.action() {
        ApiAction::RenewInstance => {
            let outcome = renewal_outcome(api.execute(&call.mutation).await);
            for &index in &call.changes {
                known.record(index, outcome.clone());
            }
        }
        ApiAction::ModifyInstanceAutoRenewAttribute => {
            execute_modify(api, call, &plan.changes, lag, stop, known).await;
        }
    }
}

/// How a RenewInstance answer ends its change.
fn renewal_outcome(result: Result<crate::cloud::CallOutcome, ApiError>) -> Outcome {
    match result {
        Ok(done) => Outcome::Succeeded {
            request_id: done.request_id,
            order_id: done.order_id,
        },
        Err(error) => match error.code() {
            Some(code) if codes::is_idempotence_mismatch(code) => Outcome::TokenConflict {
                error: error.to_string(),
                code: code.to_string(),
                request_id: error.request_id().map(str::to_string),
            },
            _ => split::failed(&error),
        },
    }
}

/// Re-reads the expiry of every renewal that was paid, may have been, or was refused as already
/// paid; those seen visible before (the wait for phase 3) are not read again.
async fn verify_renewals<A: EcsApi>(
    api: &A,
    plan: &Plan,
    report: &Report,
    seen: &BTreeMap<usize, Verdict>,
    options: &ApplyOptions,
    stop: &Stop,
) -> Verification {
    let mut checks = Vec::new();
    for (index, (change, outcome)) in plan.changes.iter().zip(&report.outcomes).enumerate() {
        let Some(renewal) = change.renewal() else {
            continue;
        };
        let checked = match outcome {
            Outcome::Succeeded { .. } => Checked::Paid,
            Outcome::Unknown { .. } => Checked::Ambiguous,
            Outcome::TokenConflict { .. } => Checked::TokenConflict,
            _ => continue,
        };
        let before = renewal.before;
        checks.push(RenewalCheck {
            change: index,
            region: change.region.clone(),
            instance_id: change.instance_id.clone(),
            checked,
            before,
            expected: Some(renewal.after),
            verdict: seen
                .get(&index)
                .cloned()
                .unwrap_or(Verdict::NotYetVisible { observed: None }),
        });
    }
    let pending: Vec<usize> = (0..checks.len())
        .filter(|&n| !checks[n].verdict.is_visible())
        .collect();
    let watches: Vec<Watch> = pending
        .iter()
        .map(|&n| Watch {
            region: checks[n].region.clone(),
            instance_id: checks[n].instance_id.clone(),
            before: checks[n].before,
        })
        .collect();
    let sightings = watch_interruptibly(api, &watches, options, stop).await;
    for (&n, verdict) in pending.iter().zip(sightings.verdicts) {
        checks[n].verdict = verdict;
    }
    Verification {
        checks,
        reads: sightings.reads,
        elapsed: sightings.elapsed,
        timeout: options.lag.timeout,
    }
}
