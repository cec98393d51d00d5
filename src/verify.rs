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
use crate::cloud::{EcsApi, InstanceQuery, MAX_BATCH};
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
                let query = InstanceQuery::by_ids(region, chunk);
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::cloud::{ApiError, CallOutcome, InstancePage};
    use crate::observed::{ChargeType, InstanceSnapshot, RenewalAttribute};
    use crate::plan::{Call, Change, ChangeState, Plan, ReasonCode, Summary};

    fn at(text: &str) -> Timestamp {
        text.parse().expect("time")
    }

    const OLD: &str = "2026-12-01T16:00:00Z";
    const NEW: &str = "2027-01-01T16:00:00Z";

    /// An API whose instances show their new expiry once `visible_after` has passed since the
    /// start (paused tokio time), and that records when each read came.
    struct LaggingApi {
        start: Instant,
        visible_after: Duration,
        fail: bool,
        reads: Mutex<Vec<(Duration, usize)>>,
    }

    impl EcsApi for LaggingApi {
        async fn describe_instances(
            &self,
            query: &InstanceQuery,
        ) -> Result<InstancePage, ApiError> {
            let ids = query.instance_ids.clone().unwrap_or_default();
            self.reads
                .lock()
                .expect("lock")
                .push((self.start.elapsed(), ids.len()));
            if self.fail {
                return Err(ApiError::Config("DescribeInstances in r: boom".into()));
            }
            let expiry = if self.start.elapsed() >= self.visible_after {
                NEW
            } else {
                OLD
            };
            Ok(InstancePage {
                total_count: ids.len() as u64,
                next_token: None,
                request_id: "R".into(),
                instances: ids
                    .into_iter()
                    .map(|id| InstanceSnapshot {
                        region: query.region.clone(),
                        instance_id: id,
                        instance_name: String::new(),
                        charge_type: ChargeType::PrePaid,
                        status: "Running".into(),
                        expired_time: at(expiry),
                        tags: Default::default(),
                        locks: Vec::new(),
                        renewal: None,
                    })
                    .collect(),
            })
        }

        async fn describe_auto_renew(
            &self,
            _: &str,
            _: &[String],
        ) -> Result<Vec<(String, RenewalAttribute)>, ApiError> {
            Ok(Vec::new())
        }

        async fn execute(&self, _: &Call) -> Result<CallOutcome, ApiError> {
            Err(ApiError::Config("verify never writes".into()))
        }

        async fn describe_renewal_price(
            &self,
            _: &str,
            _: &str,
            _: crate::plan::prices::PriceQuery,
        ) -> Result<crate::plan::Price, ApiError> {
            Err(ApiError::Config("verify never prices".into()))
        }
    }

    fn api(visible_after: Duration) -> LaggingApi {
        LaggingApi {
            start: Instant::now(),
            visible_after,
            fail: false,
            reads: Mutex::new(Vec::new()),
        }
    }

    fn change(region: &str, id: String, action: Action) -> Change {
        Change {
            region: region.into(),
            instance_id: id,
            instance_name: String::new(),
            policy: "p".into(),
            action,
            reason: String::new(),
            reason_code: ReasonCode::ExpiryWithinMinRemaining,
            before: ChangeState {
                expired_time: Some(at(OLD)),
                ..ChangeState::default()
            },
            after: ChangeState {
                expired_time: Some(at(NEW)),
                ..ChangeState::default()
            },
            period: Some(1),
            period_unit: Some("Month".into()),
            client_token: None,
            first_deduction: None,
            price: None,
            price_unknown: None,
            blocked_by: None,
        }
    }

    /// A plan renewing `per_region` instances per region, plus one auto-renew change, and the
    /// report saying every change succeeded except `failed` ones.
    fn applied(per_region: &[(&str, usize)], failed: &[usize]) -> (Plan, Report) {
        let mut changes = Vec::new();
        for (region, count) in per_region {
            for n in 0..*count {
                changes.push(change(region, format!("i-{region}-{n}"), Action::Renew));
            }
        }
        changes.push(change("r1", "i-modified".into(), Action::ModifyAutoRenew));
        let outcomes = (0..changes.len())
            .map(|i| {
                if failed.contains(&i) {
                    Outcome::Failed {
                        error: "x".into(),
                        code: None,
                    }
                } else {
                    Outcome::Succeeded {
                        request_id: "R".into(),
                        order_id: None,
                    }
                }
            })
            .collect();
        let plan = Plan {
            format_version: "1".into(),
            renewctl_version: "0".into(),
            created_at: at(OLD),
            config_digest: String::new(),
            summary: Summary::default(),
            changes,
            calls: Vec::new(),
            warnings: Vec::new(),
            observed: Vec::new(),
            risk_window_days: 15,
            risk: Vec::new(),
            outlook: Vec::new(),
            blocked: Vec::new(),
            limits: Default::default(),
        };
        (plan, Report { outcomes })
    }

    fn options(timeout_secs: u64) -> VerifyOptions {
        VerifyOptions {
            timeout: Duration::from_secs(timeout_secs),
            ..VerifyOptions::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_visible_renewal_is_verified_by_one_read_per_100_ids_per_region() {
        let api = api(Duration::ZERO);
        let (plan, report) = applied(&[("r1", 150), ("r2", 100)], &[3]);
        let v = verify(&api, &plan, &report, &options(60)).await;
        assert_eq!((v.checks.len(), v.verified(), v.pending()), (249, 249, 0));
        assert_eq!(v.reads, 3);
        let mut sizes: Vec<usize> = api
            .reads
            .lock()
            .expect("lock")
            .iter()
            .map(|r| r.1)
            .collect();
        sizes.sort();
        assert_eq!(sizes, [49, 100, 100]);
        assert!(
            v.checks.iter().all(|c| c.instance_id != "i-r1-3"),
            "a failed renewal is not checked"
        );
        assert_eq!(v.elapsed, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn reads_back_off_until_the_renewal_shows() {
        let api = api(Duration::from_millis(2500));
        let (plan, report) = applied(&[("r1", 2)], &[]);
        let v = verify(&api, &plan, &report, &options(60)).await;
        assert_eq!(v.verified(), 2);
        let times: Vec<u64> = api
            .reads
            .lock()
            .expect("lock")
            .iter()
            .map(|r| r.0.as_millis() as u64)
            .collect();
        assert_eq!(times, [0, 1000, 3000]);
        assert!(matches!(
            v.checks[0].verdict,
            Verdict::Verified { expired_time } if expired_time == at(NEW)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_not_visible_within_the_bound_is_reported_as_such() {
        let api = api(Duration::from_secs(3600));
        let (plan, report) = applied(&[("r1", 1)], &[]);
        let v = verify(&api, &plan, &report, &options(5)).await;
        // Reads at 0 s, 1 s and 3 s; the next pause (4 s) would end past the 5 s bound.
        assert_eq!(v.reads, 3);
        assert_eq!(v.elapsed, Duration::from_secs(3));
        assert_eq!(
            v.checks[0].verdict,
            Verdict::NotYetVisible {
                observed: Some(at(OLD))
            }
        );
        let text = crate::render::verification::verification(&v, 5);
        assert!(text.contains("not yet visible"), "{text}");
        assert!(
            text.contains("r1/i-r1-0: the API still shows expiry 2026-12-01T16:00Z"),
            "{text}"
        );
        assert!(
            text.contains("Verified: 0; not yet visible: 1 after 5s"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_read_leaves_the_renewal_unreadable() {
        let mut api = api(Duration::ZERO);
        api.fail = true;
        let (plan, report) = applied(&[("r1", 1)], &[]);
        let v = verify(&api, &plan, &report, &options(2)).await;
        assert!(
            matches!(&v.checks[0].verdict, Verdict::Unreadable { error } if error.contains("boom"))
        );
    }

    #[test]
    fn pauses_double_up_to_the_cap() {
        let o = VerifyOptions::default();
        let pauses: Vec<u64> = (1..=6).map(|r| pause(&o, r).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 10, 10]);
    }
}
