//! The ClientToken of a renewal (DESIGN.md §5, §8 "one payment per observed expiry").
//!
//! ECS answers a RenewInstance that repeats a token with the same parameters with the first
//! answer, and refuses one with other parameters (`IdempotentParameterMismatch`), so whatever a
//! token is derived from is what can be paid for at most once. It is derived from the instance
//! and the expiry observed when planning, and nothing else: not the period (which depends on the
//! clock and the config), the policy, the config or the renewctl version. Two pipelines that plan
//! different renewals from one observed expiry (the second made while the first one's renewal
//! was not yet visible) then send the same token, and ECS renews once.
//!
//! The exception is explicit: a token can be held by an earlier attempt that did not renew (no
//! balance, a refused period); then every later attempt with other parameters is refused. For
//! that case a user who checked the order history names the instance, and its token carries an
//! attempt number (`TokenAttempt`), which makes it a different token.

use std::fmt;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

/// Prefix of every renewal token renewctl sends; never changes.
pub const PREFIX: &str = "renewctl-";

/// ECS takes at most 64 ASCII characters (ecs-api.md §3.6).
pub const MAX_LEN: usize = 64;

/// Which attempt a renewal token is for: 1 unless the user asked for a fresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenAttempt(u32);

impl TokenAttempt {
    pub const FIRST: TokenAttempt = TokenAttempt(1);

    /// Attempt `n` (at least 1; 0 is read as 1).
    pub fn new(n: u32) -> TokenAttempt {
        TokenAttempt(n.max(1))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn is_first(self) -> bool {
        self.0 == 1
    }

    pub fn next(self) -> TokenAttempt {
        TokenAttempt(self.0.saturating_add(1))
    }
}

impl Default for TokenAttempt {
    fn default() -> Self {
        TokenAttempt::FIRST
    }
}

/// The idempotency token of one renewal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientToken(String);

impl ClientToken {
    /// The token for renewing `instance_id` from the observed expiry `expired_time` (compared at
    /// the API's precision, whole minutes), attempt `attempt`.
    pub fn for_renewal(
        instance_id: &str,
        expired_time: Timestamp,
        attempt: TokenAttempt,
    ) -> ClientToken {
        let minutes = expired_time.as_second().div_euclid(60);
        let mut hasher = Sha256::new();
        hasher.update(b"renewctl renewal|");
        hasher.update(instance_id.as_bytes());
        hasher.update(b"|");
        hasher.update(minutes.to_string().as_bytes());
        if !attempt.is_first() {
            hasher.update(b"|attempt ");
            hasher.update(attempt.get().to_string().as_bytes());
        }
        let digest = hex::encode(hasher.finalize());
        let hex = &digest[..40];
        if attempt.is_first() {
            ClientToken(format!("{PREFIX}{hex}"))
        } else {
            ClientToken(format!("{PREFIX}a{}-{hex}", attempt.get()))
        }
    }

    /// A token as a saved plan recorded it: at most 64 printable ASCII characters. Whether it is
    /// the token the plan's instance and expiry derive is the saved plan's check.
    pub fn from_recorded(text: &str) -> Result<ClientToken, String> {
        if !text.is_empty() && text.len() <= MAX_LEN && text.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(ClientToken(text.to_string()))
        } else {
            Err(format!(
                "the ClientToken {text:?} is not 1 to {MAX_LEN} printable ASCII characters"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("time")
    }

    /// Golden: a token sent by one version must be the token the next version sends for the
    /// same instance and expiry, or a renewal in flight during an upgrade could be paid twice.
    /// Never change these strings.
    #[test]
    fn the_token_text_is_pinned() {
        let expiry = at("2026-12-01T16:00:00Z");
        assert_eq!(
            ClientToken::for_renewal("i-bp1demo0000000005", expiry, TokenAttempt::FIRST).as_str(),
            "renewctl-b9fb999f88452a48bcab49b1a25f17400a932e32"
        );
        assert_eq!(
            ClientToken::for_renewal("i-bp1demo0000000005", expiry, TokenAttempt::new(2)).as_str(),
            "renewctl-a2-01dd55832de4d3a30e3d2f8842b488d319331a3b"
        );
    }

    #[test]
    fn only_the_instance_the_expiry_and_the_attempt_matter() {
        let expiry = at("2026-12-01T16:00:00Z");
        let first = ClientToken::for_renewal("i-1", expiry, TokenAttempt::FIRST);
        // Seconds below the API's minute precision do not make another token.
        assert_eq!(
            first,
            ClientToken::for_renewal("i-1", at("2026-12-01T16:00:59Z"), TokenAttempt::FIRST)
        );
        assert_ne!(
            first,
            ClientToken::for_renewal("i-1", at("2026-12-01T16:01:00Z"), TokenAttempt::FIRST)
        );
        assert_ne!(
            first,
            ClientToken::for_renewal("i-2", expiry, TokenAttempt::FIRST)
        );
        let second = ClientToken::for_renewal("i-1", expiry, TokenAttempt::new(2));
        assert_ne!(first, second);
        assert_ne!(
            second,
            ClientToken::for_renewal("i-1", expiry, TokenAttempt::new(3))
        );
        for token in [&first, &second] {
            assert!(token.as_str().len() <= MAX_LEN && token.as_str().is_ascii());
            assert!(token.as_str().starts_with(PREFIX));
        }
    }
}
