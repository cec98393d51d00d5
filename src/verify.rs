//! Verification after apply: renewed instances are read again (DescribeInstances by
//! `InstanceIds`, 100 ids a call, per region) until their `ExpiredTime` has moved past the expiry
//! observed when planning. The API documents no delay figure, and the official sample polls every
//! 2 s for up to a minute (ecs-api.md §3.6), so an unchanged expiry right after a successful
//! RenewInstance is "not yet visible", never a failure: the first read comes at once, the next
//! ones after a doubling pause, and the whole check stops at its time bound.
//!
//! Reads only, through `EcsApi`; called by the CLI after `apply`, which keeps its own contract
//! (it executes calls and reports outcomes). Time is `tokio::time`, so tests with a paused clock
//! are exact.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use jiff::Timestamp;
use tokio::time::Instant;

use crate::apply::{Outcome, Report};
use crate::cloud::{EcsApi, InstanceQuery, MAX_BATCH, Paging};
use crate::plan::{Action, Plan};

/// How long and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// No read starts after this much time; zero skips the check.
    pub timeout: Duration,
    /// The pause before the second round of reads; it doubles each round.
    pub first_pause: Duration,
    pub max_pause: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            timeout: Duration::from_secs(60),
            first_pause: Duration::from_secs(1),
            max_pause: Duration::from_secs(10),
        }
    }
}

/// What the re-reads showed for one renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The expiry has moved past the one observed when planning.
    Verified { expired_time: Timestamp },
    /// Still the old expiry (or the instance was not in the answer) when time ran out.
    NotYetVisible { observed: Option<Timestamp> },
    /// The last read of it failed.
    Unreadable { error: String },
}

/// One renewal's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalCheck {
    /// Index of the renewal in the plan's changes.
    pub change: usize,
    pub region: String,
    pub instance_id: String,
    /// The expiry the plan observed, and the one it computed.
    pub before: Timestamp,
    pub expected: Option<Timestamp>,
    pub verdict: Verdict,
}

/// The checks of every renewal that succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    pub checks: Vec<RenewalCheck>,
    /// DescribeInstances requests made.
    pub reads: u64,
    pub elapsed: Duration,
}

impl Verification {
    pub fn verified(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Verified { .. }))
            .count()
    }

    pub fn pending(&self) -> usize {
        self.checks.len() - self.verified()
    }
}

/// The pause before round `round` (1 = the second round of reads).
pub fn pause(options: &VerifyOptions, round: u32) -> Duration {
    let doubling = 1u32
        .checked_shl(round.saturating_sub(1))
        .unwrap_or(u32::MAX);
    options
        .first_pause
        .saturating_mul(doubling)
        .min(options.max_pause)
}

/// Re-reads the renewals of `plan` that `report` says succeeded.
pub async fn verify<A: EcsApi>(
    api: &A,
    plan: &Plan,
    report: &Report,
    options: &VerifyOptions,
) -> Verification {
    let started = Instant::now();
    let mut checks: Vec<RenewalCheck> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(index, change)| {
            change.action == Action::Renew
                && matches!(report.outcomes.get(*index), Some(Outcome::Succeeded { .. }))
        })
        .filter_map(|(index, change)| {
            Some(RenewalCheck {
                change: index,
                region: change.region.clone(),
                instance_id: change.instance_id.clone(),
                before: change.before.expired_time?,
                expected: change.after.expired_time,
                verdict: Verdict::NotYetVisible { observed: None },
            })
        })
        .collect();
    let mut verification = Verification::default();
    if checks.is_empty() || options.timeout.is_zero() {
        return Verification {
            checks,
            ..verification
        };
    }

    let mut round = 0;
    loop {
        // Pending ids by region, 100 a read; all reads of a round run concurrently.
        let mut pending: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for check in checks
            .iter()
            .filter(|c| !matches!(c.verdict, Verdict::Verified { .. }))
        {
            pending
                .entry(check.region.as_str())
                .or_default()
                .push(check.instance_id.clone());
        }
        if pending.is_empty() {
            break;
        }
        let reads = pending.iter().flat_map(|(region, ids)| {
            ids.chunks(MAX_BATCH).map(move |chunk| {
                let query = InstanceQuery {
                    region: region.to_string(),
                    paging: Paging::Page(1),
                    prepaid_only: false,
                    instance_ids: Some(chunk.to_vec()),
                };
                async move { (chunk.to_vec(), api.describe_instances(&query).await) }
            })
        });
        let answers = join_all(reads).await;
        let mut seen: BTreeMap<String, Timestamp> = BTreeMap::new();
        let mut failed: BTreeMap<String, String> = BTreeMap::new();
        for (ids, answer) in answers {
            verification.reads += 1;
            match answer {
                Ok(page) => {
                    for instance in page.instances {
                        seen.insert(instance.instance_id, instance.expired_time);
                    }
                }
                Err(error) => {
                    for id in ids {
                        failed.insert(id, error.to_string());
                    }
                }
            }
        }
        for check in checks
            .iter_mut()
            .filter(|c| !matches!(c.verdict, Verdict::Verified { .. }))
        {
            check.verdict = match (seen.get(&check.instance_id), failed.get(&check.instance_id)) {
                (Some(&now), _) if now > check.before => Verdict::Verified { expired_time: now },
                (Some(&now), _) => Verdict::NotYetVisible {
                    observed: Some(now),
                },
                (None, Some(error)) => Verdict::Unreadable {
                    error: error.clone(),
                },
                (None, None) => Verdict::NotYetVisible { observed: None },
            };
        }
        if checks
            .iter()
            .all(|c| matches!(c.verdict, Verdict::Verified { .. }))
        {
            break;
        }
        round += 1;
        let wait = pause(options, round);
        if started.elapsed() + wait > options.timeout {
            break;
        }
        tracing::debug!(
            pending = checks.len()
                - checks
                    .iter()
                    .filter(|c| matches!(c.verdict, Verdict::Verified { .. }))
                    .count(),
            wait_ms = wait.as_millis() as u64,
            "renewals not yet visible; reading again"
        );
        tokio::time::sleep(wait).await;
    }
    verification.checks = std::mem::take(&mut checks);
    verification.elapsed = started.elapsed();
    verification
}
