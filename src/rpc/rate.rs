//! The client-side rate limit (`--max-rps`): a token bucket per (region, action), because ECS
//! throttles per account, per region, per API (ecs-api.md §5), so a renewal storm in one region
//! must not slow reads in another. Every attempt, retries included, takes a token before it is
//! sent.
//!
//! The bucket holds one token, so requests of one (region, action) are spaced evenly and no
//! window of T seconds ever sees more than `1 + rate × T` of them: whether the service counts per
//! second or per minute, staying under its quota is then a matter of the rate alone. A caller
//! reserves its slot under a short lock and sleeps outside it, so waiting requests queue in
//! arrival order. Time is `tokio::time`, so tests with a paused clock are exact.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Tokens a bucket can hold: one, see the module documentation.
const CAPACITY: f64 = 1.0;

#[derive(Debug)]
struct Bucket {
    /// May go negative: slots already promised to callers that are still sleeping.
    tokens: f64,
    updated: Instant,
}

/// Requests per second per (region, action).
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
}

impl RateLimiter {
    /// `None` (no limit) unless `per_second` is a positive number.
    pub fn new(per_second: f64) -> Option<RateLimiter> {
        (per_second.is_finite() && per_second > 0.0).then(|| RateLimiter {
            per_second,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Reserves the next slot of (region, action) at `now` and says how long to wait for it.
    pub fn reserve(&self, region: &str, action: &str, now: Instant) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets
            .entry((region.to_string(), action.to_string()))
            .or_insert(Bucket {
                tokens: CAPACITY,
                updated: now,
            });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(CAPACITY);
        bucket.updated = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.per_second)
        }
    }

    /// Waits for the next slot of (region, action).
    pub async fn acquire(&self, region: &str, action: &str) -> Duration {
        let wait = self.reserve(region, action, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_per_region_and_action() {
        let limiter = RateLimiter::new(4.0).expect("a limit");
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..5 {
            limiter.acquire("cn-hangzhou", "RenewInstance").await;
            at.push(start.elapsed().as_millis());
        }
        assert_eq!(at, vec![0, 250, 500, 750, 1000]);
        // Another action and another region have their own buckets: no wait.
        assert_eq!(
            limiter.acquire("cn-hangzhou", "DescribeInstances").await,
            Duration::ZERO
        );
        assert_eq!(
            limiter.acquire("cn-shanghai", "RenewInstance").await,
            Duration::ZERO
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_get_successive_slots_and_idle_time_is_not_banked() {
        // Rates that are powers of two keep the float arithmetic exact.
        let limiter = std::sync::Arc::new(RateLimiter::new(8.0).expect("a limit"));
        let start = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let limiter = std::sync::Arc::clone(&limiter);
                tokio::spawn(async move {
                    limiter.acquire("r", "a").await;
                    start.elapsed().as_millis()
                })
            })
            .collect();
        let mut done = Vec::new();
        for task in tasks {
            done.push(task.await.expect("task"));
        }
        done.sort();
        assert_eq!(done, vec![0, 125, 250, 375]);
        // A long pause refills one token only: the next two requests are 125 ms apart again.
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(limiter.acquire("r", "a").await, Duration::ZERO);
        assert_eq!(limiter.acquire("r", "a").await, Duration::from_millis(125));
    }

    #[test]
    fn no_limit_unless_positive() {
        assert!(RateLimiter::new(0.0).is_none());
        assert!(RateLimiter::new(-1.0).is_none());
        assert!(RateLimiter::new(f64::NAN).is_none());
        assert!(RateLimiter::new(0.5).is_some());
    }
}
