//! Throttling by rate, the way ECS counts (ecs-api.md §5): per action and per region, N requests
//! per window of one second or one minute; a request over the limit is answered
//! `Throttling.User` (HTTP 400) and does nothing, and it is counted in the statistics. Windows are
//! fixed (every second or minute from the emulator's start, on the monotonic clock), like the
//! real per-minute windows: throttled in minute T, accepted again from minute T+1. Only accepted
//! requests use up the quota.
//!
//! `--rate-limit ACTION[@REGION]=N/s|N/min`; `*` as ACTION for every action. Several limits may
//! apply to one request; it must pass all of them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// `None`: every action (each counted separately).
    pub action: Option<String>,
    /// `None`: every region (each counted separately).
    pub region: Option<String>,
    pub limit: u32,
    pub window: Duration,
}

impl RateLimit {
    /// Reads `ACTION[@REGION]=N/s` or `…=N/min`.
    pub fn parse(spec: &str) -> Result<RateLimit, String> {
        let hint =
            "write ACTION[@REGION]=N/s or N/min, e.g. RenewInstance=5/s or *@cn-hangzhou=200/min";
        let (target, rate) = spec
            .split_once('=')
            .ok_or_else(|| format!("--rate-limit {spec:?}: {hint}"))?;
        let (action, region) = match target.trim().split_once('@') {
            Some((a, r)) => (a.trim(), Some(r.trim())),
            None => (target.trim(), None),
        };
        if action.is_empty() || region.is_some_and(str::is_empty) {
            return Err(format!("--rate-limit {spec:?}: {hint}"));
        }
        let (count, unit) = rate
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("--rate-limit {spec:?}: {hint}"))?;
        let limit: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                format!("--rate-limit {spec:?}: the count must be a whole number above 0")
            })?;
        let window = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "min" | "minute" => Duration::from_secs(60),
            other => {
                return Err(format!(
                    "--rate-limit {spec:?}: unknown window {other:?}; use s or min"
                ));
            }
        };
        Ok(RateLimit {
            action: (action != "*").then(|| action.to_string()),
            region: region.map(str::to_string),
            limit,
            window,
        })
    }

    fn applies(&self, action: &str, region: &str) -> bool {
        self.action.as_deref().is_none_or(|a| a == action)
            && self.region.as_deref().is_none_or(|r| r == region)
    }
}

/// (limit index, action, region): what one counter counts.
type CounterKey = (usize, String, String);

/// The running counters.
pub(crate) struct Throttle {
    limits: Vec<RateLimit>,
    start: Instant,
    /// (limit index, action, region) → (window number, accepted in it).
    counters: Mutex<HashMap<CounterKey, (u64, u32)>>,
}

impl Throttle {
    pub(crate) fn new(limits: Vec<RateLimit>) -> Throttle {
        Throttle {
            limits,
            start: Instant::now(),
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a request of `action` in `region` at `now` is over a limit; if not, it is counted.
    pub(crate) fn over_limit(&self, action: &str, region: &str, now: Instant) -> bool {
        if self.limits.is_empty() {
            return false;
        }
        let elapsed = now.saturating_duration_since(self.start);
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys = Vec::new();
        for (index, limit) in self.limits.iter().enumerate() {
            if !limit.applies(action, region) {
                continue;
            }
            let window = (elapsed.as_nanos() / limit.window.as_nanos().max(1)) as u64;
            let key = (index, action.to_string(), region.to_string());
            let used = match counters.get(&key) {
                Some((w, n)) if *w == window => *n,
                _ => 0,
            };
            if used >= limit.limit {
                return true;
            }
            keys.push((key, window, used));
        }
        for (key, window, used) in keys {
            counters.insert(key, (window, used + 1));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_explain() {
        assert_eq!(
            RateLimit::parse("RenewInstance@cn-hangzhou=5/s"),
            Ok(RateLimit {
                action: Some("RenewInstance".into()),
                region: Some("cn-hangzhou".into()),
                limit: 5,
                window: Duration::from_secs(1)
            })
        );
        let any = RateLimit::parse("*=200/min").expect("valid");
        assert_eq!(
            (any.action, any.region, any.window),
            (None, None, Duration::from_secs(60))
        );
        for bad in ["RenewInstance", "x=5", "x=0/s", "x=5/h", "@r=1/s", "x@=1/s"] {
            let err = RateLimit::parse(bad).expect_err(bad);
            assert!(err.contains("--rate-limit"), "{err}");
        }
    }

    #[test]
    fn each_action_and_region_has_its_own_window() {
        let throttle = Throttle::new(vec![RateLimit::parse("*=2/s").expect("valid")]);
        let t0 = throttle.start;
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert!(!throttle.over_limit("DescribeInstances", "cn-hangzhou", at(0)));
        assert!(!throttle.over_limit("DescribeInstances", "cn-hangzhou", at(10)));
        assert!(throttle.over_limit("DescribeInstances", "cn-hangzhou", at(20)));
        assert!(throttle.over_limit("DescribeInstances", "cn-hangzhou", at(999)));
        assert!(!throttle.over_limit("DescribeInstances", "cn-shanghai", at(30)));
        assert!(!throttle.over_limit("RenewInstance", "cn-hangzhou", at(40)));
        // The next window accepts again.
        assert!(!throttle.over_limit("DescribeInstances", "cn-hangzhou", at(1000)));
    }
}
