//! Replay protection: every signature nonce accepted in the last 20 minutes (longer than the
//! 15-minute timestamp window, so a replay cannot slip between the two checks), per access key,
//! in bounded memory.
//!
//! Nonces are stored as SHA-256 digests so a client sending huge nonces cannot make the memory
//! grow faster than the entry count. Retention uses the monotonic clock, not the emulator's
//! (possibly frozen) clock, so memory is freed on a fixed-clock emulator too.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const RETENTION: Duration = Duration::from_secs(20 * 60);
/// At hundreds of requests a second this holds far more than 20 minutes of traffic.
const CAPACITY: usize = 500_000;

#[derive(Debug, Default)]
pub(crate) struct NonceMemory {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashSet<[u8; 32]>,
    order: VecDeque<(Instant, [u8; 32])>,
}

impl NonceMemory {
    /// Records `nonce` for `access_key_id`; `false` when it was already used.
    pub(crate) fn remember(&self, access_key_id: &str, nonce: &str, at: Instant) -> bool {
        let mut hasher = Sha256::new();
        hasher.update(access_key_id.as_bytes());
        hasher.update([0]);
        hasher.update(nonce.as_bytes());
        let digest: [u8; 32] = hasher.finalize().into();

        let mut inner = match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        while let Some((seen_at, old)) = inner.order.front().copied() {
            let expired = at.saturating_duration_since(seen_at) > RETENTION;
            if !expired && inner.order.len() < CAPACITY {
                break;
            }
            inner.order.pop_front();
            inner.seen.remove(&old);
        }
        if !inner.seen.insert(digest) {
            return false;
        }
        inner.order.push_back((at, digest));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_per_key() {
        let memory = NonceMemory::default();
        let now = Instant::now();
        assert!(memory.remember("key", "n1", now));
        assert!(!memory.remember("key", "n1", now));
        assert!(memory.remember("other-key", "n1", now));
        assert!(memory.remember("key", "n2", now));
    }

    #[test]
    fn nonces_are_forgotten_after_the_retention() {
        let memory = NonceMemory::default();
        let now = Instant::now();
        assert!(memory.remember("key", "n1", now));
        let later = now + RETENTION + Duration::from_secs(1);
        assert!(memory.remember("key", "n2", later), "purges n1");
        assert!(memory.remember("key", "n1", later), "n1 was forgotten");
    }
}
