//! The access keys the emulated account accepts: the fleet file's, plus the temporary ones its
//! STS and instance metadata service issue. An issued key carries a security token and an
//! expiry; after it, requests signed with it are refused with `InvalidSecurityToken.Expired`
//! (checked in `verify/`).
//!
//! Issued ids are numbered (`STS.NUemulator000001`, …) so a test that starts a fresh emulator
//! sees the same ids every run; secrets and tokens are random. Memory is bounded: the oldest
//! issued keys are forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use jiff::Timestamp;

use super::fleet::AccessKey;

/// Issued keys remembered at most.
const ISSUED_MEMORY: usize = 100_000;

#[derive(Default)]
struct Issued {
    by_id: HashMap<String, AccessKey>,
    order: VecDeque<String>,
    count: u64,
}

pub(crate) struct KeyStore {
    fleet: Vec<AccessKey>,
    issued: Mutex<Issued>,
}

/// Temporary credentials as handed to a client, for tests that must check none of it leaks.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl KeyStore {
    pub(crate) fn new(fleet: Vec<AccessKey>) -> KeyStore {
        KeyStore {
            fleet,
            issued: Mutex::new(Issued::default()),
        }
    }

    fn issued(&self) -> std::sync::MutexGuard<'_, Issued> {
        self.issued.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fleet's first key.
    pub(crate) fn first(&self) -> Option<&AccessKey> {
        self.fleet.first()
    }

    pub(crate) fn find(&self, id: &str) -> Option<AccessKey> {
        if let Some(key) = self.fleet.iter().find(|k| k.id == id) {
            return Some(key.clone());
        }
        self.issued().by_id.get(id).cloned()
    }

    /// Issues a new temporary key that expires at `expires_at`.
    pub(crate) fn issue(&self, expires_at: Timestamp) -> IssuedCredentials {
        let mut issued = self.issued();
        issued.count += 1;
        let id = format!("STS.NUemulator{:06}", issued.count);
        let random = || uuid::Uuid::new_v4().simple().to_string();
        let key = AccessKey {
            id: id.clone(),
            secret: format!("{}{}", random(), &random()[..8]),
            // Real tokens are long base64 strings starting with CAIS; this one has '+' and '/'
            // like them, so encoding mistakes show.
            security_token: Some(format!("CAIS{}+{}/{}==", random(), random(), random())),
            expires_at: Some(expires_at),
        };
        let handed_out = IssuedCredentials {
            access_key_id: key.id.clone(),
            access_key_secret: key.secret.clone(),
            security_token: key.security_token.clone().unwrap_or_default(),
            expires_at,
        };
        issued.by_id.insert(id.clone(), key);
        issued.order.push_back(id);
        while issued.order.len() > ISSUED_MEMORY {
            if let Some(old) = issued.order.pop_front() {
                issued.by_id.remove(&old);
            }
        }
        handed_out
    }

    /// Every issued key still remembered, oldest first.
    pub(crate) fn issued_credentials(&self) -> Vec<IssuedCredentials> {
        let issued = self.issued();
        issued
            .order
            .iter()
            .filter_map(|id| issued.by_id.get(id))
            .map(|k| IssuedCredentials {
                access_key_id: k.id.clone(),
                access_key_secret: k.secret.clone(),
                security_token: k.security_token.clone().unwrap_or_default(),
                expires_at: k.expires_at.unwrap_or_default(),
            })
            .collect()
    }
}
