//! The shared provider the HTTP client asks for credentials before every attempt. Fixed
//! credentials are handed out as they are. Temporary ones (STS, the metadata service) are
//! fetched again from the same source once fewer than 15 minutes of their life remain, as the
//! SDKs do (ecs-api.md §8.4, §8.5), so a long apply never signs with an expired token.
//!
//! The provider also tells the time requests are dated with: the clock that decides whether
//! credentials are fresh is the one that signs, so the two can never disagree (and a test that
//! moves one clock moves both).
//!
//! One lock serialises refreshes: when many requests find the credentials stale at once, one of
//! them fetches and the others wait for its result instead of all calling STS. A refresh that
//! fails while the old credentials are still valid is logged and retried a minute later; only
//! credentials that have actually expired turn a failed refresh into an error.

use std::fmt;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Mutex;

use super::Credentials;
use super::error::CredentialsError;
use super::identity::mask_key_id;
use super::io::{Clock, SystemClock};
use super::source::{Fetcher, Source};

/// How long before expiry temporary credentials are replaced (the SDKs' margin).
pub const REFRESH_EARLY: SignedDuration = SignedDuration::from_mins(15);

/// How long to wait after a failed refresh before trying again, while the old credentials last.
const REFRESH_RETRY: SignedDuration = SignedDuration::from_mins(1);

/// Credentials and, for temporary ones, when they expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub credentials: Credentials,
    pub expires_at: Option<Timestamp>,
}

/// Hands out current credentials. Cloning shares the cache.
#[derive(Clone)]
pub struct CredentialsProvider {
    inner: Arc<Inner>,
}

struct Inner {
    link: &'static str,
    clock: Arc<dyn Clock>,
    kind: Kind,
}

enum Kind {
    Fixed(Credentials),
    Refreshing {
        source: Box<Source>,
        fetcher: Fetcher,
        state: Mutex<State>,
    },
}

struct State {
    lease: Lease,
    /// After a failed refresh: no new attempt before this time.
    quiet_until: Option<Timestamp>,
}

impl fmt::Debug for CredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refreshing = matches!(self.inner.kind, Kind::Refreshing { .. });
        f.debug_struct("CredentialsProvider")
            .field("link", &self.inner.link)
            .field("refreshing", &refreshing)
            .finish()
    }
}

impl From<Credentials> for CredentialsProvider {
    fn from(credentials: Credentials) -> CredentialsProvider {
        CredentialsProvider::fixed(credentials)
    }
}

impl CredentialsProvider {
    /// Credentials that never change.
    pub fn fixed(credentials: Credentials) -> CredentialsProvider {
        CredentialsProvider {
            inner: Arc::new(Inner {
                link: credentials.source,
                clock: Arc::new(SystemClock),
                kind: Kind::Fixed(credentials),
            }),
        }
    }

    /// A provider over `source`, starting with the lease it just gave.
    pub(crate) fn refreshing(
        link: &'static str,
        source: Box<Source>,
        fetcher: Fetcher,
        lease: Lease,
    ) -> CredentialsProvider {
        if source.is_fixed() || lease.expires_at.is_none() {
            return CredentialsProvider {
                inner: Arc::new(Inner {
                    link,
                    clock: Arc::clone(&fetcher.clock),
                    kind: Kind::Fixed(lease.credentials),
                }),
            };
        }
        CredentialsProvider {
            inner: Arc::new(Inner {
                link,
                clock: Arc::clone(&fetcher.clock),
                kind: Kind::Refreshing {
                    source,
                    fetcher,
                    state: Mutex::new(State {
                        lease,
                        quiet_until: None,
                    }),
                },
            }),
        }
    }

    /// The time to date a request with.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The link that supplied the credentials.
    pub fn link(&self) -> &'static str {
        self.inner.link
    }

    /// The fixed credentials, if these are fixed ones (checked once when a client is built).
    pub fn fixed_credentials(&self) -> Option<&Credentials> {
        match &self.inner.kind {
            Kind::Fixed(credentials) => Some(credentials),
            Kind::Refreshing { .. } => None,
        }
    }

    /// Credentials to sign the next attempt with.
    pub async fn current(&self) -> Result<Credentials, CredentialsError> {
        self.lease().await.map(|lease| lease.credentials)
    }

    /// The current lease, refreshed first when it is near its end.
    pub async fn lease(&self) -> Result<Lease, CredentialsError> {
        let (source, fetcher, state) = match &self.inner.kind {
            Kind::Fixed(credentials) => {
                return Ok(Lease {
                    credentials: credentials.clone(),
                    expires_at: None,
                });
            }
            Kind::Refreshing {
                source,
                fetcher,
                state,
            } => (source, fetcher, state),
        };
        let mut state = state.lock().await;
        let now = fetcher.clock.now();
        let Some(expires_at) = state.lease.expires_at else {
            return Ok(state.lease.clone());
        };
        let stale = now
            .checked_add(REFRESH_EARLY)
            .map_or(true, |t| t >= expires_at);
        let quiet = state.quiet_until.is_some_and(|until| now < until);
        if !stale || (quiet && now < expires_at) {
            return Ok(state.lease.clone());
        }
        let link = self.inner.link;
        match source.fetch(link, fetcher).await {
            Ok(lease) => {
                tracing::info!(
                    link,
                    access_key_id = %mask_key_id(&lease.credentials.access_key_id),
                    expires_at = %lease.expires_at.map(|t| t.to_string()).unwrap_or_default(),
                    "temporary credentials refreshed"
                );
                state.lease = lease;
                state.quiet_until = None;
                Ok(state.lease.clone())
            }
            Err(error) if now < expires_at => {
                tracing::warn!(
                    link,
                    expires_at = %expires_at,
                    "cannot refresh temporary credentials; using the current ones until they expire: {}",
                    error.message()
                );
                state.quiet_until = now.checked_add(REFRESH_RETRY).ok();
                Ok(state.lease.clone())
            }
            Err(error) => Err(CredentialsError::Refresh {
                link,
                message: error.message().to_string(),
            }),
        }
    }
}
