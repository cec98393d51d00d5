//! Sends `check`'s report to the sinks of `notify:`: each sink gets its share (its route),
//! in its format, signed; `when: attention` (the default) keeps a sink silent when its share
//! needs no attention. A sink that fails is retried with backoff within a bound (rate limits,
//! server errors, the network); one that still fails does not stop the others. URLs and
//! secrets come from the environment variables the file names and appear in no message.

use std::time::Duration;

use futures_util::future::join_all;

use crate::desired::{Notify, NotifyWhen, WebhookShape};
use crate::notify::{Payload, Signing, alertmanager, judge, payload};
use crate::post::Poster;
use crate::watch::{self, Report, Settings};

/// Attempts per sink, and the pause before the second (doubling).
const ATTEMPTS: u32 = 3;
const FIRST_PAUSE: Duration = Duration::from_secs(1);

/// How one sink ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent {
        attempts: u32,
    },
    /// Its share needed no attention (`when: attention`).
    Silent,
    /// Not delivered: why, in the platform's words or ours; never the URL or the secret.
    Failed {
        error: String,
    },
}

/// Sends to every sink of `notify` at once; `env` reads an environment variable, `now_ms` is
/// the signing time. The deliveries come back in the order of the sinks.
pub async fn notify(
    poster: &Poster,
    notify: &Notify,
    report: &Report,
    settings: &Settings,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    now_ms: i64,
) -> Vec<(String, Delivery)> {
    let when = notify.when.unwrap_or(NotifyWhen::Attention);
    let sends = notify.sinks.iter().map(|sink| async move {
        let share = match &sink.route {
            Some(route) => watch::restrict(report, &route.tag, &route.values, settings),
            None => report.clone(),
        };
        if when == NotifyWhen::Attention && share.attention.is_empty() && share.errors.is_empty() {
            return (sink.name.clone(), Delivery::Silent);
        }
        let Some(url) = env(&sink.url_env).filter(|u| !u.trim().is_empty()) else {
            return (
                sink.name.clone(),
                Delivery::Failed {
                    error: format!(
                        "the environment variable {} (url_env) is not set",
                        sink.url_env
                    ),
                },
            );
        };
        let secret = match &sink.secret_env {
            None => None,
            Some(name) => match env(name).filter(|s| !s.is_empty()) {
                Some(secret) => Some(secret),
                None => {
                    return (
                        sink.name.clone(),
                        Delivery::Failed {
                            error: format!(
                                "the environment variable {name} (secret_env) is not set"
                            ),
                        },
                    );
                }
            },
        };
        let mut pause = FIRST_PAUSE;
        let mut error = String::new();
        for attempt in 1..=ATTEMPTS {
            // Signed anew each attempt: the timestamp must be fresh.
            let signing = secret.as_deref().map(|secret| Signing {
                secret,
                now_ms: now_ms + i64::from(attempt - 1) * pause.as_millis() as i64,
            });
            let message = match sink.shape {
                Some(WebhookShape::Alertmanager) => Payload {
                    query: Vec::new(),
                    body: alertmanager(&share, &sink.name),
                },
                _ => payload(sink.kind, &share, signing),
            };
            let retry = match poster.post(&url, &message.query, &message.body).await {
                Ok((status, body)) => match judge(sink.kind, status, &body) {
                    Ok(()) => return (sink.name.clone(), Delivery::Sent { attempts: attempt }),
                    Err(refusal) => {
                        error = refusal.message;
                        refusal.retry
                    }
                },
                Err(failed) => {
                    error = failed.message;
                    failed.retry
                }
            };
            if !retry || attempt == ATTEMPTS {
                break;
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        (sink.name.clone(), Delivery::Failed { error })
    });
    join_all(sends).await
}
