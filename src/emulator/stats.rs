//! Counters a test asserts on ("zero mutating calls", "renewed exactly once"): the public
//! [`Stats`] snapshot, served unsigned at `GET /_emulator/stats` for out-of-process tests.
//!
//! Only the shape and the meaning of each counter live here; the gateway and the actions decide
//! when to bump them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What the emulator has seen since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Every API request received, ECS and STS (the `/_emulator/*` endpoints and the metadata
    /// service excluded), answered or not.
    pub requests: u64,
    /// Requests per action name as sent; names the emulator does not serve count under
    /// `(unknown)` so a scanner cannot grow this map without bound.
    pub by_action: BTreeMap<String, u64>,
    /// `ModifyInstanceAutoRenewAttribute` and `RenewInstance` requests that passed authentication
    /// and fault injection and reached their handler, whether they then succeeded or not.
    pub mutating_requests: u64,
    /// Instance id → renewals actually carried out (money spent). A replay answered from the
    /// ClientToken memory does not count.
    pub renewals: BTreeMap<String, u32>,
    /// Every renewal carried out, in order: the money ledger tests judge double payments by.
    #[serde(default)]
    pub ledger: Vec<LedgerEntry>,
    /// Successful `ModifyInstanceAutoRenewAttribute` calls (each may change up to 100 instances).
    pub modifications: u64,
    /// Requests refused by authentication: bad or missing signature, unknown key, wrong security
    /// token, stale or malformed timestamp, reused nonce.
    pub signature_rejections: u64,
    /// Faults injected, by rate or by script.
    pub faults_injected: u64,
    /// Requests refused with `Throttling.User` because a rate limit (`--rate-limit`) was reached.
    #[serde(default)]
    pub throttled: u64,
    /// Requests to the instance metadata service (`/latest/…`), which are not API requests.
    #[serde(default)]
    pub metadata_requests: u64,
}

/// One renewal paid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub instance_id: String,
    /// The expiry a client reading the instance at that moment saw: the old one while an
    /// earlier renewal was not yet visible. Two renewals from one shown expiry are the double
    /// payment DESIGN.md §8 forbids.
    pub shown_from: Option<Timestamp>,
    /// The expiry the renewal extended (the new period starts there).
    pub from: Timestamp,
    pub to: Timestamp,
    pub token: Option<String>,
    pub order_id: String,
}

impl Stats {
    /// Total renewals carried out across all instances.
    pub fn total_renewals(&self) -> u64 {
        self.renewals.values().map(|n| u64::from(*n)).sum()
    }

    /// (instance, expiry shown when it was renewed) → renewals paid from it; every count
    /// above 1 is a double payment.
    pub fn renewals_per_shown_expiry(&self) -> BTreeMap<(String, Option<Timestamp>), u32> {
        let mut out = BTreeMap::new();
        for entry in &self.ledger {
            *out.entry((entry.instance_id.clone(), entry.shown_from))
                .or_default() += 1;
        }
        out
    }

    /// The renewals paid twice (or more) from one shown expiry: empty when money safety held.
    pub fn double_payments(&self) -> Vec<(String, Option<Timestamp>, u32)> {
        self.renewals_per_shown_expiry()
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|((id, from), n)| (id, from, n))
            .collect()
    }
}
