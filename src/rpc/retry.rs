//! The retry policy, one named place for every decision about trying a request again
//! (ecs-api.md §4.2, §5; DESIGN.md §5):
//!
//! - **What**: throttling is always retried (the gateway refused the request before the action
//!   ran). Ambiguous failures (no answer, a broken connection, 5xx, `InternalError`) are retried
//!   only for calls that are harmless to repeat: the reads, and ModifyInstanceAutoRenewAttribute,
//!   which *sets* a state. RenewInstance spends money: it is retried after an ambiguous failure
//!   only when it carries a `ClientToken`, which makes the service answer a repeat with the first
//!   result instead of renewing twice. Client errors are never retried.
//! - **When**: exponential backoff with full jitter, at least one second after throttling (the
//!   reference advises probing a throttled API at about 1 QPS), or exactly what the service asks
//!   for in `x-acs-retry-after` (milliseconds, as the SDK reads it, capped at 120 s).
//! - **How long**: at most `max_attempts` attempts, and no sleep that would end past
//!   `time_budget` counted from the first attempt.
//!
//! Each attempt is signed afresh by the caller (new nonce and timestamp). The sleeps go through
//! `tokio::time`, so tests with a paused clock are exact and instant.

use std::future::Future;
use std::time::Duration;

use crate::rpc::error::{ApiError, ErrorClass};

/// The longest wait `x-acs-retry-after` can impose (the SDK's cap).
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(120);

/// The least wait after a throttling answer, by default.
pub const THROTTLING_FLOOR: Duration = Duration::from_secs(1);

/// How failed requests are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles with each attempt.
    pub base_delay: Duration,
    /// The backoff ceiling never grows past this.
    pub max_delay: Duration,
    /// No retry starts a sleep that would end later than this after the first attempt began.
    pub time_budget: Duration,
    /// The least wait after a throttling answer (added to the backoff).
    pub throttling_floor: Duration,
}

impl Default for RetryPolicy {
    /// Six attempts within 90 s: enough to ride out a throttled minute (ECS counts per minute,
    /// §5) without letting a CD job hang on a dead endpoint.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
            time_budget: Duration::from_secs(90),
            throttling_floor: THROTTLING_FLOOR,
        }
    }
}

/// How safe it is to send an action again when it is unknown whether the first one ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeatable {
    /// Reads, and calls that set a state: repeating them changes nothing.
    Always,
    /// Calls that spend money: only with an idempotency token.
    WithClientToken,
    /// Anything else renewctl does not know: never after an ambiguous failure.
    Never,
}

/// Classifies the ECS actions renewctl sends (the legacy SDK's `RetryableAPIs` list for the
/// reads, `RetryableAPIsWithClientToken` for RenewInstance, §4.2).
pub fn repeatable(action: &str) -> Repeatable {
    match action {
        "DescribeInstances"
        | "DescribeInstanceAutoRenewAttribute"
        | "DescribeRegions"
        | "DescribeRenewalPrice"
        | "ModifyInstanceAutoRenewAttribute" => Repeatable::Always,
        "RenewInstance" => Repeatable::WithClientToken,
        _ => Repeatable::Never,
    }
}

/// The backoff before the retry that follows failed attempt number `attempt` (1-based): a
/// uniformly random share (`random01` in [0, 1]) of `min(max_delay, base_delay × 2^(attempt-1))`
/// ("full jitter", so that many clients throttled together do not retry together).
pub fn backoff(attempt: u32, policy: &RetryPolicy, random01: f64) -> Duration {
    let doubling = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let ceiling = policy
        .base_delay
        .saturating_mul(doubling)
        .min(policy.max_delay);
    let share = if random01.is_finite() {
        random01.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ceiling.mul_f64(share)
}

/// Reads `x-acs-retry-after`: milliseconds, capped at 120 s. Anything unreadable is ignored.
pub fn retry_after(header: Option<&str>) -> Option<Duration> {
    let millis: u64 = header?.trim().parse().ok()?;
    Some(Duration::from_millis(millis).min(RETRY_AFTER_CAP))
}

impl RetryPolicy {
    /// Whether failed attempt number `attempt` (1-based) of `action` may be followed by another.
    pub fn should_retry(
        &self,
        action: &str,
        params_have_client_token: bool,
        class: ErrorClass,
        attempt: u32,
    ) -> bool {
        if attempt >= self.max_attempts {
            return false;
        }
        match class {
            ErrorClass::Client => false,
            ErrorClass::Throttling => true,
            ErrorClass::Transient | ErrorClass::Server => match repeatable(action) {
                Repeatable::Always => true,
                Repeatable::WithClientToken => params_have_client_token,
                Repeatable::Never => false,
            },
        }
    }

    /// How long to wait after failed attempt number `attempt`.
    pub fn delay(
        &self,
        attempt: u32,
        class: ErrorClass,
        retry_after: Option<Duration>,
        random01: f64,
    ) -> Duration {
        match retry_after {
            Some(asked) => asked.min(RETRY_AFTER_CAP),
            None if class == ErrorClass::Throttling => {
                self.throttling_floor + backoff(attempt, self, random01)
            }
            None => backoff(attempt, self, random01),
        }
    }
}

/// A failed attempt: the error, and the wait the service asked for, if any.
#[derive(Debug)]
pub struct Failure {
    pub error: ApiError,
    pub retry_after: Option<Duration>,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Failure {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// Runs `attempt(1)`, `attempt(2)`, … under `policy` until one succeeds or the policy says stop;
/// then returns the last error. When an earlier attempt's fate was ambiguous (it may have been
/// carried out: no answer, a server error) and the last one's is not (throttled, refused), the
/// error says so ([`ApiError::AfterAmbiguous`]): a renewal must then be reported as possibly
/// paid, never as plainly refused.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    action: &str,
    params_have_client_token: bool,
    mut random01: impl FnMut() -> f64,
    mut attempt: F,
) -> Result<T, ApiError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let started = tokio::time::Instant::now();
    let mut number = 1;
    let mut ambiguous: Option<String> = None;
    let last = |error: ApiError, ambiguous: &Option<String>| match ambiguous {
        Some(earlier) if !error.is_ambiguous() => ApiError::AfterAmbiguous {
            earlier: earlier.clone(),
            last: Box::new(error),
        },
        _ => error,
    };
    loop {
        let failure = match attempt(number).await {
            Ok(answer) => return Ok(answer),
            Err(failure) => failure,
        };
        if ambiguous.is_none() && failure.error.is_ambiguous() {
            ambiguous = Some(failure.error.to_string());
        }
        let class = failure.error.class();
        if !policy.should_retry(action, params_have_client_token, class, number) {
            return Err(last(failure.error, &ambiguous));
        }
        let wait = policy.delay(number, class, failure.retry_after, random01());
        if started.elapsed() + wait > policy.time_budget {
            tracing::info!(
                action,
                attempt = number,
                "not retrying: the wait would end past the {:?} time budget",
                policy.time_budget
            );
            return Err(last(failure.error, &ambiguous));
        }
        tracing::info!(
            action,
            attempt = number,
            wait_ms = wait.as_millis() as u64,
            class = ?class,
            "retrying after: {}",
            failure.error
        );
        tokio::time::sleep(wait).await;
        number += 1;
    }
}

/// A uniform random number in [0, 1) for the jitter, from the operating system's generator
/// (through uuid, already a dependency for nonces).
pub fn random01() -> f64 {
    // The low 53 bits of a v4 UUID's second half are random (the variant bits sit at the top).
    let (_, low) = uuid::Uuid::new_v4().as_u64_pair();
    (low & ((1u64 << 53) - 1)) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
