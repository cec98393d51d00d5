//! The retry policy's pure functions with exact expectations, and the retry loop on a paused
//! tokio clock (so the waits are exact and the tests instant).

use std::cell::Cell;
use std::time::Duration;

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: ms(100),
        max_delay: ms(1000),
        time_budget: Duration::from_secs(60),
        throttling_floor: THROTTLING_FLOOR,
    }
}

fn service(code: &str, status: u16) -> ApiError {
    ApiError::Service {
        action: "A".into(),
        region: "r".into(),
        http_status: status,
        code: code.into(),
        message: "m".into(),
        request_id: "R".into(),
    }
}

fn dropped() -> ApiError {
    ApiError::Transport {
        action: "A".into(),
        region: "r".into(),
        endpoint: "http://127.0.0.1:1/".into(),
        message: "connection closed".into(),
    }
}

#[test]
fn backoff_doubles_up_to_the_cap_and_jitters_fully() {
    let p = policy();
    assert_eq!(backoff(1, &p, 1.0), ms(100));
    assert_eq!(backoff(2, &p, 1.0), ms(200));
    assert_eq!(backoff(3, &p, 1.0), ms(400));
    assert_eq!(backoff(4, &p, 1.0), ms(800));
    assert_eq!(backoff(5, &p, 1.0), ms(1000));
    assert_eq!(
        backoff(200, &p, 1.0),
        ms(1000),
        "no overflow on huge attempts"
    );
    assert_eq!(backoff(3, &p, 0.5), ms(200));
    assert_eq!(backoff(3, &p, 0.0), ms(0));
    assert_eq!(backoff(3, &p, 7.0), ms(400), "the share is clamped to 1");
    assert_eq!(backoff(3, &p, -1.0), ms(0));
    assert_eq!(backoff(3, &p, f64::NAN), ms(0));
}

#[test]
fn retry_after_is_milliseconds_capped_at_two_minutes() {
    assert_eq!(retry_after(Some("1500")), Some(ms(1500)));
    assert_eq!(retry_after(Some(" 20 ")), Some(ms(20)));
    assert_eq!(retry_after(Some("999999999")), Some(RETRY_AFTER_CAP));
    assert_eq!(retry_after(Some("soon")), None);
    assert_eq!(retry_after(Some("-5")), None);
    assert_eq!(retry_after(None), None);
}

#[test]
fn the_delay_prefers_the_service_request_then_floors_throttling() {
    let p = policy();
    assert_eq!(
        p.delay(1, ErrorClass::Server, Some(ms(3000)), 0.5),
        ms(3000)
    );
    assert_eq!(
        p.delay(1, ErrorClass::Throttling, Some(ms(20)), 0.5),
        ms(20)
    );
    assert_eq!(p.delay(2, ErrorClass::Throttling, None, 0.5), ms(1100));
    assert_eq!(p.delay(2, ErrorClass::Server, None, 0.5), ms(100));
}

#[test]
fn what_is_retried_depends_on_the_class_the_action_and_the_token() {
    let p = policy();
    use ErrorClass::*;
    for read in [
        "DescribeInstances",
        "DescribeInstanceAutoRenewAttribute",
        "ModifyInstanceAutoRenewAttribute",
    ] {
        for class in [Throttling, Transient, Server] {
            assert!(p.should_retry(read, false, class, 1), "{read} {class:?}");
        }
        assert!(!p.should_retry(read, false, Client, 1), "{read}");
    }
    // Spending money: an ambiguous failure is retried only with the idempotency token.
    assert!(!p.should_retry("RenewInstance", false, Transient, 1));
    assert!(!p.should_retry("RenewInstance", false, Server, 1));
    assert!(p.should_retry("RenewInstance", true, Transient, 1));
    assert!(p.should_retry("RenewInstance", true, Server, 1));
    // A throttled request never ran, token or not.
    assert!(p.should_retry("RenewInstance", false, Throttling, 1));
    assert!(!p.should_retry("RenewInstance", true, Client, 1));
    // Unknown actions are never repeated after an ambiguous failure.
    assert!(!p.should_retry("DeleteInstance", true, Server, 1));
    // The attempt count is a hard stop.
    assert!(p.should_retry("DescribeInstances", false, Server, 4));
    assert!(!p.should_retry("DescribeInstances", false, Server, 5));
    assert!(!p.should_retry("DescribeInstances", false, Throttling, 5));
}

#[test]
fn the_jitter_source_stays_in_range_and_varies() {
    let draws: Vec<f64> = (0..64).map(|_| random01()).collect();
    assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
    assert!(draws.iter().any(|x| *x != draws[0]));
}

/// Runs the loop with attempts that fail with `errors` in turn, then succeed; returns the result,
/// the attempts made and the virtual time spent.
async fn drive(
    p: &RetryPolicy,
    action: &str,
    token: bool,
    errors: Vec<(ApiError, Option<Duration>)>,
) -> (Result<u32, ApiError>, u32, Duration) {
    let start = tokio::time::Instant::now();
    let made = Cell::new(0);
    let errors = std::cell::RefCell::new(errors.into_iter());
    let result = run(
        p,
        action,
        token,
        || 0.5,
        |n| {
            made.set(n);
            let next = errors.borrow_mut().next();
            async move {
                match next {
                    Some((error, retry_after)) => Err(Failure { error, retry_after }),
                    None => Ok(n),
                }
            }
        },
    )
    .await;
    (result, made.get(), start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn throttling_then_success_waits_the_exact_backoff() {
    let (result, made, spent) = drive(
        &policy(),
        "DescribeInstances",
        false,
        vec![
            (service("Throttling.User", 400), None),
            (service("ServiceUnavailable", 503), None),
            (dropped(), None),
        ],
    )
    .await;
    assert_eq!(result.expect("succeeds on the fourth attempt"), 4);
    assert_eq!(made, 4);
    // 1 s floor + 50 ms, then 100 ms, then 200 ms (half of each ceiling).
    assert_eq!(spent, ms(1050 + 100 + 200));
}

#[tokio::test(start_paused = true)]
async fn the_service_retry_after_is_honoured() {
    let (result, _, spent) = drive(
        &policy(),
        "DescribeInstances",
        false,
        vec![(service("Throttling", 400), Some(ms(4321)))],
    )
    .await;
    assert!(result.is_ok());
    assert_eq!(spent, ms(4321));
}

#[tokio::test(start_paused = true)]
async fn a_renewal_without_token_is_sent_once_after_an_ambiguous_failure() {
    let (result, made, spent) =
        drive(&policy(), "RenewInstance", false, vec![(dropped(), None)]).await;
    assert!(matches!(result, Err(ApiError::Transport { .. })));
    assert_eq!((made, spent), (1, ms(0)));
    let (result, made, _) = drive(&policy(), "RenewInstance", true, vec![(dropped(), None)]).await;
    assert_eq!((result.ok(), made), (Some(2), 2));
}

#[tokio::test(start_paused = true)]
async fn client_errors_stop_at_once_and_attempts_are_bounded() {
    let (result, made, _) = drive(
        &policy(),
        "DescribeInstances",
        false,
        vec![(service("InvalidParameter", 400), None)],
    )
    .await;
    assert_eq!(
        result.expect_err("client error").code(),
        Some("InvalidParameter")
    );
    assert_eq!(made, 1);
    let always: Vec<_> = (0..10)
        .map(|_| (service("InternalError", 500), None))
        .collect();
    let (result, made, _) = drive(&policy(), "DescribeInstances", false, always).await;
    assert_eq!(result.expect_err("gives up").code(), Some("InternalError"));
    assert_eq!(made, 5);
}

#[tokio::test(start_paused = true)]
async fn the_time_budget_stops_a_wait_that_would_overrun_it() {
    let p = RetryPolicy {
        time_budget: Duration::from_secs(5),
        ..policy()
    };
    // The service asks for 3 s twice: the first wait fits (3 s), the second (6 s) does not.
    let (result, made, spent) = drive(
        &p,
        "DescribeInstances",
        false,
        vec![
            (service("Throttling", 400), Some(ms(3000))),
            (service("Throttling", 400), Some(ms(3000))),
        ],
    )
    .await;
    assert_eq!(result.expect_err("budget spent").code(), Some("Throttling"));
    assert_eq!((made, spent), (2, ms(3000)));
}

#[tokio::test(start_paused = true)]
async fn a_plain_last_error_after_an_ambiguous_attempt_stays_ambiguous() {
    // The first attempt got no answer (it may have renewed); the retries were throttled until
    // the budget ran out. The error must not read as "refused": the renewal may have been paid.
    let p = RetryPolicy {
        max_attempts: 3,
        ..policy()
    };
    let (result, made, _) = drive(
        &p,
        "RenewInstance",
        true,
        vec![
            (dropped(), None),
            (service("Throttling.User", 400), None),
            (service("Throttling.User", 400), None),
        ],
    )
    .await;
    let err = result.expect_err("gives up");
    assert_eq!(made, 3);
    assert!(err.is_ambiguous(), "{err:?}");
    assert!(matches!(err, ApiError::AfterAmbiguous { .. }), "{err:?}");
    assert_eq!(err.code(), Some("Throttling.User"));
    assert!(
        err.to_string()
            .contains("an earlier attempt may have been carried out")
    );
    // Plain refusals all along stay plain.
    let (result, _, _) = drive(
        &p,
        "RenewInstance",
        true,
        vec![
            (service("Throttling.User", 400), None),
            (service("Throttling.User", 400), None),
            (service("Throttling.User", 400), None),
        ],
    )
    .await;
    assert!(!result.expect_err("gives up").is_ambiguous());
}
