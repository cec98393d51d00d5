//! Watching renewals show (DESIGN.md §8, renewal lag): instances are read again
//! (DescribeInstances by `InstanceIds`, 100 ids a call, per region) until their `ExpiredTime`
//! has moved past the expiry observed when planning. The API documents no delay figure, and the
//! official sample polls every 2 s for up to a minute (ecs-api.md §3.6), so an unchanged expiry
//! right after a successful RenewInstance is "not yet visible", never a failure: the first read
//! comes at once, the next ones after a doubling pause, and the watch stops at its time bound.
//!
//! Apply uses it twice: before turning auto-renewal on for an instance it has just renewed from
//! expiry (ECS refuses that until the renewal shows), and after the last call, to verify every
//! renewal that was paid, may have been paid (an ambiguous failure), or was refused because its
//! token was already used (did another apply renew it, or does a failed attempt hold the token?).
//! Reads only, through `EcsApi`. Time is `tokio::time`, so tests with a paused clock are exact.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use jiff::Timestamp;
use tokio::time::Instant;

use crate::cloud::{EcsApi, InstanceQuery, MAX_BATCH};
use crate::interrupt::Stop;
pub use crate::report::Verdict;

/// How long and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// No read starts after this much time (the renewal-lag bound); zero skips the watch.
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

/// One instance whose expiry is expected to move past `before`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub region: String,
    pub instance_id: String,
    pub before: Timestamp,
}

/// The verdict of each watched instance (in the order given), and what it took.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sightings {
    pub verdicts: Vec<Verdict>,
    /// DescribeInstances requests made.
    pub reads: u64,
    pub elapsed: Duration,
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

/// Reads `watches` again until every expiry has moved or the time bound is reached. `stop`
/// ends the watch early (an interrupted apply): no new round starts, and reads in flight get
/// the grace it comes with. With a zero bound nothing is read and every verdict is "not yet
/// visible".
pub async fn watch<A: EcsApi>(
    api: &A,
    watches: &[Watch],
    options: &VerifyOptions,
    stop: Option<(&Stop, Duration)>,
) -> Sightings {
    let started = Instant::now();
    let mut sightings = Sightings {
        verdicts: vec![Verdict::NotYetVisible { observed: None }; watches.len()],
        ..Sightings::default()
    };
    if watches.is_empty() || options.timeout.is_zero() {
        return sightings;
    }
    let mut round = 0;
    loop {
        // Pending ids by region, 100 a read; all reads of a round run concurrently.
        let mut pending: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (watch, verdict) in watches.iter().zip(&sightings.verdicts) {
            if !verdict.is_visible() {
                pending
                    .entry(watch.region.as_str())
                    .or_default()
                    .push(watch.instance_id.clone());
            }
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
        let answers = match stop {
            None => join_all(reads).await,
            Some((stop, grace)) => {
                let give_up = async {
                    stop.requested().await;
                    tokio::time::sleep(grace).await;
                };
                tokio::select! {
                    biased;
                    answers = join_all(reads) => answers,
                    () = give_up => break,
                }
            }
        };
        let mut seen: BTreeMap<String, Timestamp> = BTreeMap::new();
        let mut failed: BTreeMap<String, String> = BTreeMap::new();
        for (ids, answer) in answers {
            sightings.reads += 1;
            match answer {
                Ok(page) => {
                    for instance in page.instances {
                        seen.insert(instance.instance_id, instance.expired_time);
                    }
                    for bad in page.unreadable {
                        failed.insert(bad.instance_id, bad.reason);
                    }
                }
                Err(error) => {
                    for id in ids {
                        failed.insert(id, error.to_string());
                    }
                }
            }
        }
        for (watch, verdict) in watches.iter().zip(sightings.verdicts.iter_mut()) {
            if verdict.is_visible() {
                continue;
            }
            *verdict = match (seen.get(&watch.instance_id), failed.get(&watch.instance_id)) {
                (Some(&now), _) if now > watch.before => Verdict::Visible { expired_time: now },
                (Some(&now), _) => Verdict::NotYetVisible {
                    observed: Some(now),
                },
                (None, Some(error)) => Verdict::Unreadable {
                    error: error.clone(),
                },
                (None, None) => Verdict::NotYetVisible { observed: None },
            };
        }
        let pending = sightings
            .verdicts
            .iter()
            .filter(|v| !v.is_visible())
            .count();
        if pending == 0 || stop.is_some_and(|(s, _)| s.is_requested()) {
            break;
        }
        round += 1;
        let wait = pause(options, round);
        if started.elapsed() + wait > options.timeout {
            break;
        }
        tracing::debug!(
            pending,
            wait_ms = wait.as_millis() as u64,
            "renewals not yet visible; reading again"
        );
        match stop {
            Some((stop, _)) => {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stop.requested() => break,
                }
            }
            None => tokio::time::sleep(wait).await,
        }
    }
    sightings.elapsed = started.elapsed();
    sightings
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::cloud::{ApiError, CallOutcome, InstancePage};
    use crate::observed::{ChargeType, InstanceSnapshot, RenewalAttribute};

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
                unreadable: Vec::new(),
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

        async fn execute(&self, _: &crate::ecs::Mutation) -> Result<CallOutcome, ApiError> {
            Err(ApiError::Config("verify never writes".into()))
        }

        async fn describe_renewal_price(
            &self,
            _: &str,
            _: &str,
            _: crate::ecs::PriceQuery,
        ) -> Result<crate::ecs::Price, ApiError> {
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

    fn watches(per_region: &[(&str, usize)]) -> Vec<Watch> {
        per_region
            .iter()
            .flat_map(|(region, count)| {
                (0..*count).map(move |n| Watch {
                    region: region.to_string(),
                    instance_id: format!("i-{region}-{n}"),
                    before: at(OLD),
                })
            })
            .collect()
    }

    fn options(timeout_secs: u64) -> VerifyOptions {
        VerifyOptions {
            timeout: Duration::from_secs(timeout_secs),
            ..VerifyOptions::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_visible_renewal_is_seen_by_one_read_per_100_ids_per_region() {
        let api = api(Duration::ZERO);
        let s = watch(
            &api,
            &watches(&[("r1", 149), ("r2", 100)]),
            &options(60),
            None,
        )
        .await;
        assert!(s.verdicts.iter().all(Verdict::is_visible));
        assert_eq!(s.verdicts.len(), 249);
        assert_eq!(s.reads, 3);
        let mut sizes: Vec<usize> = api
            .reads
            .lock()
            .expect("lock")
            .iter()
            .map(|r| r.1)
            .collect();
        sizes.sort();
        assert_eq!(sizes, [49, 100, 100]);
        assert_eq!(s.elapsed, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn reads_back_off_until_the_renewal_shows() {
        let api = api(Duration::from_millis(2500));
        let s = watch(&api, &watches(&[("r1", 2)]), &options(60), None).await;
        assert!(s.verdicts.iter().all(Verdict::is_visible));
        let times: Vec<u64> = api
            .reads
            .lock()
            .expect("lock")
            .iter()
            .map(|r| r.0.as_millis() as u64)
            .collect();
        assert_eq!(times, [0, 1000, 3000]);
        assert_eq!(
            s.verdicts[0],
            Verdict::Visible {
                expired_time: at(NEW)
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_not_visible_within_the_bound_is_reported_as_such() {
        let api = api(Duration::from_secs(3600));
        let s = watch(&api, &watches(&[("r1", 1)]), &options(5), None).await;
        // Reads at 0 s, 1 s and 3 s; the next pause (4 s) would end past the 5 s bound.
        assert_eq!(s.reads, 3);
        assert_eq!(s.elapsed, Duration::from_secs(3));
        assert_eq!(
            s.verdicts[0],
            Verdict::NotYetVisible {
                observed: Some(at(OLD))
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_request_ends_the_watch_at_once() {
        let api = api(Duration::from_secs(3600));
        let stop = Stop::new();
        stop.request();
        let s = watch(
            &api,
            &watches(&[("r1", 1)]),
            &options(60),
            Some((&stop, Duration::from_secs(5))),
        )
        .await;
        assert_eq!(s.reads, 1, "one round, then no more");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_bound_reads_nothing() {
        let api = api(Duration::ZERO);
        let s = watch(&api, &watches(&[("r1", 3)]), &options(0), None).await;
        assert_eq!(s.reads, 0);
        assert!(s.verdicts.iter().all(|v| !v.is_visible()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_read_leaves_the_instance_unreadable() {
        let mut api = api(Duration::ZERO);
        api.fail = true;
        let s = watch(&api, &watches(&[("r1", 1)]), &options(2), None).await;
        assert!(matches!(&s.verdicts[0], Verdict::Unreadable { error } if error.contains("boom")));
    }

    #[test]
    fn pauses_double_up_to_the_cap() {
        let o = VerifyOptions::default();
        let pauses: Vec<u64> = (1..=6).map(|r| pause(&o, r).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 10, 10]);
    }
}
