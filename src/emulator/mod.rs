//! The ECS emulator (DESIGN.md §6): a fake Alibaba Cloud ECS service on loopback, serving the RPC
//! API (`Version=2014-05-26`) from a fleet file with the real wire format — both signature
//! schemes checked, the real JSON shapes and error codes, paging, ClientToken idempotency,
//! renewals that move `ExpiredTime`, and injected faults. The official SDKs work against it
//! unchanged; `renewctl demo`, the tests and the benchmarks run against it.
//!
//! This file is the public surface: [`start`] an emulator in-process, or [`run_standalone`] for
//! `renewctl emulator`. It deliberately shares no code with the client in `src/cloud/` (its own
//! signature checks, encoding, time helpers and JSON), so a client bug cannot hide behind it.
//!
//! Besides ECS it serves what credential tests need, on the same listener: STS (`sts.rs`,
//! AssumeRole and AssumeRoleWithOIDC, routed by `Version=2015-04-01`) and the ECS instance
//! metadata service (`metadata.rs`, under `/latest/`). The keys they issue (`keys.rs`) are
//! accepted by the ECS API until they expire. It also throttles by rate like ECS
//! (`throttle.rs`) and keeps a log of every request (`requests.rs`) for tests that assert exact
//! call sequences.
//!
//! Layout: `fleet` (file format) and `generate` (synthetic fleets) → `state` (live instances,
//! ClientTokens) → `actions/` (one file per API action) ← `gateway` (pipeline: scheme, auth in
//! `verify/`, `throttle`, `faults`, stats, log) ← `server` (hyper). `wire`, `params`, `encode`,
//! `clock`, `catalog` are shared leaves.

mod actions;
mod bss;
mod catalog;
mod clock;
mod encode;
mod faults;
mod fleet;
mod gateway;
mod generate;
mod keys;
mod metadata;
mod params;
mod request;
mod requests;
mod server;
mod standalone;
mod state;
mod stats;
mod sts;
mod throttle;
mod verify;
mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use clock::Clock;
pub use faults::{FaultKind, Faults};
pub use fleet::{Fleet, FleetError, FleetProblem};
pub use keys::IssuedCredentials;
pub use requests::RequestRecord;
pub use standalone::{EmulatorArgs, run_standalone};
pub use state::EmulatedInstance;
pub use stats::{LedgerEntry, Stats};
pub use throttle::RateLimit;

use faults::FaultPlan;
use gateway::Shared;
use keys::KeyStore;
use metadata::MetadataService;
use requests::RequestLog;
use state::World;
use throttle::Throttle;
use verify::nonce::NonceMemory;

/// How an emulator behaves besides its fleet.
#[derive(Debug, Clone, Default)]
pub struct EmulatorOptions {
    /// Added before every answer.
    pub latency: Duration,
    /// Probability of each fault per authenticated request.
    pub faults: Faults,
    /// Where "now" comes from: signature timestamps, expiry, `expires_in`.
    pub clock: Clock,
    /// Seed of the fault PRNG: the same seed and request order inject the same faults.
    pub fault_seed: u64,
    /// Throttling by rate, per action and region (`--rate-limit`).
    pub rate_limits: Vec<RateLimit>,
    /// How long DescribeInstances keeps showing the old ExpiredTime after a renewal (the real
    /// API lags; renewctl's verification after apply must cope).
    pub renewal_lag: Duration,
}

/// A running emulator. Dropping it stops the server without waiting; [`EmulatorHandle::shutdown`]
/// stops it and waits.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// Starts an emulator serving `fleet` on `listen` (port 0 picks a free port). Relative expiries
/// (`expires_in`) are resolved against `options.clock` now.
pub async fn start(
    fleet: Fleet,
    listen: SocketAddr,
    options: EmulatorOptions,
) -> std::io::Result<EmulatorHandle> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let world = World::build(&fleet, options.clock.now());
    let shared = Arc::new(Shared {
        world: RwLock::new(world),
        keys: KeyStore::new(fleet.access_keys),
        roles: fleet.roles,
        metadata: MetadataService::new(fleet.metadata),
        nonces: NonceMemory::default(),
        faults: Mutex::new(FaultPlan::new(options.faults, options.fault_seed)),
        throttle: Throttle::new(options.rate_limits),
        stats: Mutex::new(Stats::default()),
        log: Mutex::new(RequestLog::default()),
        clock: options.clock,
        clock_offset: std::sync::atomic::AtomicI64::new(0),
        latency: options.latency,
        renewal_lag: options.renewal_lag,
    });
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(server::serve(listener, Arc::clone(&shared), stopped));
    Ok(EmulatorHandle {
        addr,
        shared,
        stop,
        task,
    })
}

impl EmulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to point a client at, e.g. `http://127.0.0.1:8787`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The fleet's first access key: `(id, secret)`.
    pub fn access_key(&self) -> (String, String) {
        self.shared
            .keys
            .first()
            .map(|k| (k.id.clone(), k.secret.clone()))
            .unwrap_or_default()
    }

    /// The STS token of the first access key, when it is an STS key.
    pub fn security_token(&self) -> Option<String> {
        self.shared
            .keys
            .first()
            .and_then(|k| k.security_token.clone())
    }

    /// Every temporary key STS and the metadata service have issued, oldest first.
    pub fn issued_credentials(&self) -> Vec<IssuedCredentials> {
        self.shared.keys.issued_credentials()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log().snapshot()
    }

    /// Moves the emulator's clock forward (signature times, expiries, issued credentials), so a
    /// test can let temporary credentials age without waiting.
    pub fn advance_clock(&self, by: jiff::SignedDuration) {
        self.shared
            .clock_offset
            .fetch_add(by.as_secs(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Forgets the request log (a test that prepared state asserts only what follows).
    pub fn clear_requests(&self) {
        self.shared.log().clear();
    }

    /// The emulator's current time.
    pub fn now(&self) -> jiff::Timestamp {
        self.shared.now()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats().clone()
    }

    /// The current state of one instance; `None` if it does not exist or has been released.
    pub fn instance(&self, id: &str) -> Option<EmulatedInstance> {
        let now = self.shared.now();
        let world = self
            .shared
            .world
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        world.find(id, now).map(|i| i.snapshot(now))
    }

    /// Scripts a fault: the next authenticated request of `action` (of any action when `None`)
    /// gets `kind`. Scripted faults are served first-in first-out, before any random ones.
    pub fn push_fault(&self, action: Option<&str>, kind: FaultKind) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(action, kind);
    }

    /// Releases a subscription instance now, as ECS does 15 days after an unrenewed expiry: it
    /// disappears from every answer. For tests and trials of a world that moved under a plan.
    /// Returns false when there is no such (visible, subscription) instance.
    pub fn release(&self, id: &str) -> bool {
        let now = self.shared.clock.now();
        let mut world = self
            .shared
            .world
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(instance) = world.find_mut(id, now) else {
            return false;
        };
        if !instance.is_prepaid() {
            return false;
        }
        instance.expired_time = now
            .checked_sub(jiff::SignedDuration::from_hours(16 * 24))
            .ok();
        true
    }

    /// Locks an instance for security from now on, as if Alibaba Cloud had: DescribeInstances
    /// shows `OperationLocks` reason `security` and every mutating call naming it is refused
    /// with `InstanceLockedForSecurity`. Returns false when there is no such instance.
    pub fn lock_for_security(&self, id: &str) -> bool {
        self.with_instance(id, |instance| instance.security_lock = true)
    }

    /// From now on, every mutating call naming `id` is refused with `code` (HTTP `status`),
    /// the whole call failing, while DescribeInstances shows nothing unusual: an odd state
    /// nobody could foresee. Returns false when there is no such instance.
    pub fn refuse_changes(&self, id: &str, status: u16, code: &'static str) -> bool {
        self.with_instance(id, |instance| instance.refusal = Some((status, code)))
    }

    /// Sets a tag on an instance (a console edit), replacing the key's value if it has one.
    /// Returns false when there is no such instance.
    pub fn set_tag(&self, id: &str, key: &str, value: &str) -> bool {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.with_instance(id, |instance| {
            instance.tags.retain(|(k, _)| *k != key);
            instance.tags.push((key.into(), value.into()));
            instance.tags.sort();
        })
    }

    /// The account's balance now, when the fleet sets one.
    pub fn balance(&self) -> Option<f64> {
        self.shared
            .world
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .balance
    }

    /// Sets the account's balance (`None`: no limit), e.g. a top-up after a refused renewal.
    pub fn set_balance(&self, balance: Option<f64>) {
        self.shared
            .world
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .balance = balance;
    }

    fn with_instance(&self, id: &str, change: impl FnOnce(&mut state::Instance)) -> bool {
        let now = self.shared.now();
        let mut world = self
            .shared
            .world
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match world.find_mut(id, now) {
            Some(instance) => {
                change(instance);
                true
            }
            None => false,
        }
    }

    /// Ids of fleet instances already released (expired more than 15 days ago), which the
    /// emulator never shows; a user wondering where they went is told at start.
    pub(crate) fn released_instance_ids(&self) -> Vec<String> {
        let now = self.shared.now();
        let world = self
            .shared
            .world
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        world.released(now).map(|i| i.id.clone()).collect()
    }

    /// Stops accepting, lets requests in flight finish (held ones are released), and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handle_can_be_shared_across_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<EmulatorHandle>();
        send_sync::<Stats>();
        send_sync::<Fleet>();
    }
}
