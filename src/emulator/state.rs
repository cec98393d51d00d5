//! The emulated account's live state: every instance by region, in a stable order, with an id
//! index; the ClientToken memory that makes RenewInstance idempotent; and order numbers.
//!
//! Time-dependent facts (expired, financially locked, released 15 days after expiry) are
//! computed from "now" on every read instead of being stored, so a long-running emulator on the
//! system clock ages like the real account. Automatic renewal deductions (9 days before expiry)
//! are deliberately NOT simulated: expiries change only through RenewInstance, so what a fleet
//! file says stays true until a client acts.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::catalog::{default_monthly_price, fnv1a};
use super::clock::{add_calendar, add_days, truncate_to_minute};
use super::fleet::{ChargeType, ExpirySpec, Fleet, InstanceSpec, SpanUnit, Text};
use super::generate;

/// How long an expired subscription instance is kept before it is released (ecs-api.md §6).
const GRACE: SignedDuration = SignedDuration::from_hours(15 * 24);

/// How many ClientTokens are remembered. The real window is undocumented (ecs-api.md §10); a
/// bounded memory keeps a long benchmark from growing without limit.
const TOKEN_MEMORY: usize = 200_000;

/// One instance as the emulator stores it.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub id: String,
    pub name: String,
    pub region: Arc<str>,
    /// The zone's letter: the zone is `{region}-{letter}`.
    pub zone_letter: char,
    pub instance_type: Text,
    pub charge_type: ChargeType,
    /// The status the instance would have while paid up; see [`Instance::status`].
    pub status: Text,
    /// `None` for pay-as-you-go instances.
    pub expired_time: Option<Timestamp>,
    pub creation_time: Timestamp,
    pub renewal_status: Text,
    pub duration: u32,
    pub period_unit: Text,
    pub tags: Vec<(Text, Text)>,
    pub monthly_price: f64,
    /// After a renewal, while the API still shows the old expiry (`renewal_lag`): until when,
    /// and what it shows.
    pub lagging_expiry: Option<(std::time::Instant, Option<Timestamp>)>,
    /// `OperationLocks` reason `security` (fleet `locks: [security]`): every mutating call
    /// naming it is refused with `InstanceLockedForSecurity`.
    pub security_lock: bool,
    /// A refusal every mutating call naming this instance gets (a test's odd state that
    /// DescribeInstances does not show): `(HTTP status, code)`.
    pub refusal: Option<(u16, &'static str)>,
}

impl Instance {
    /// The expiry DescribeInstances shows: the old one while a renewal is not yet visible.
    pub(crate) fn shown_expired_time(&self) -> Option<Timestamp> {
        match self.lagging_expiry {
            Some((until, old)) if std::time::Instant::now() < until => old,
            _ => self.expired_time,
        }
    }

    /// Keeps showing `old` as the expiry until `until`, as the real API lags after a renewal
    /// (ecs-api.md §3.6).
    pub(crate) fn hide_renewal(&mut self, old: Option<Timestamp>, until: std::time::Instant) {
        self.lagging_expiry = Some((until, old));
    }

    /// Whether a mutating call may touch it: not when it is locked for security, nor when a
    /// test made it refuse changes. Either fails the whole call (ecs-api.md §4.2).
    pub(crate) fn may_change(&self) -> Result<(), super::wire::ApiError> {
        if let Some((status, code)) = self.refusal {
            return Err(super::wire::ApiError::new(
                status,
                code,
                format!(
                    "The operation is not permitted for instance {} in its current state.",
                    self.id
                ),
            ));
        }
        if self.security_lock {
            return Err(super::wire::ApiError::locked_for_security(&self.id));
        }
        Ok(())
    }

    pub(crate) fn zone(&self) -> String {
        format!("{}-{}", self.region, self.zone_letter)
    }

    pub(crate) fn is_prepaid(&self) -> bool {
        self.charge_type == ChargeType::PrePaid
    }

    /// Past its expiry: stopped and financially locked until renewed. While a renewal is not
    /// yet visible (renewal lag) the instance is still expired in every respect, as on the real
    /// API: auto-renewal is refused until the renewal shows.
    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        self.shown_expired_time().is_some_and(|at| at <= now)
    }

    /// More than 15 days past expiry: gone from every answer.
    pub(crate) fn is_released(&self, now: Timestamp) -> bool {
        self.expired_time
            .and_then(|at| at.checked_add(GRACE).ok())
            .is_some_and(|end| end < now)
    }

    /// The status the API reports: an expired subscription instance is stopped (ecs-api.md §6).
    pub(crate) fn status(&self, now: Timestamp) -> &str {
        if self.is_expired(now) {
            "Stopped"
        } else {
            &self.status
        }
    }

    pub(crate) fn snapshot(&self, now: Timestamp) -> EmulatedInstance {
        EmulatedInstance {
            id: self.id.clone(),
            name: self.name.clone(),
            region: self.region.to_string(),
            zone: self.zone(),
            instance_type: self.instance_type.to_string(),
            charge_type: self.charge_type.as_str().to_owned(),
            status: self.status(now).to_owned(),
            expired_time: self.expired_time,
            financial_lock: self.is_expired(now),
            security_lock: self.security_lock,
            renewal_status: self.renewal_status.to_string(),
            duration: self.duration,
            period_unit: self.period_unit.to_string(),
            tags: self
                .tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            monthly_price: self.monthly_price,
        }
    }
}

/// The current state of one instance, for tests and the demo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmulatedInstance {
    pub id: String,
    pub name: String,
    pub region: String,
    pub zone: String,
    pub instance_type: String,
    /// `PrePaid` or `PostPaid`.
    pub charge_type: String,
    /// As the API reports it now (`Stopped` once expired).
    pub status: String,
    /// `None` for pay-as-you-go instances.
    pub expired_time: Option<Timestamp>,
    /// Expired and locked (`OperationLocks` has `financial`).
    pub financial_lock: bool,
    /// Locked for security (`OperationLocks` has `security`).
    pub security_lock: bool,
    /// `AutoRenewal`, `Normal` or `NotRenewal`.
    pub renewal_status: String,
    pub duration: u32,
    /// Verbatim, in whatever case it was set (`Month`, `month`, `week`…).
    pub period_unit: String,
    pub tags: BTreeMap<String, String>,
    pub monthly_price: f64,
}

/// What a ClientToken was first used for, and the answer it got: the order of the renewal it
/// paid for, or `None` when that attempt did not renew (refused for its status, balance or
/// period). ECS does not document whether a failed attempt keeps its token; the emulator
/// assumes the harsher case, that it does: a later request with the same parameters is carried
/// out afresh, one with other parameters is refused as a mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRecord {
    pub fingerprint: String,
    pub order_id: Option<String>,
}

/// Remembered ClientTokens, oldest evicted first.
#[derive(Debug, Default)]
pub(crate) struct TokenMemory {
    records: HashMap<String, TokenRecord>,
    order: VecDeque<String>,
}

impl TokenMemory {
    pub(crate) fn get(&self, token: &str) -> Option<&TokenRecord> {
        self.records.get(token)
    }

    pub(crate) fn insert(&mut self, token: String, record: TokenRecord) {
        if self.records.insert(token.clone(), record).is_none() {
            self.order.push_back(token);
        }
        while self.order.len() > TOKEN_MEMORY {
            if let Some(old) = self.order.pop_front() {
                self.records.remove(&old);
            }
        }
    }
}

/// All instances of the emulated account.
#[derive(Debug)]
pub(crate) struct World {
    /// Sorted by region id; instances in fleet order.
    regions: Vec<(Arc<str>, Vec<Instance>)>,
    /// Instance id → (region position, instance position).
    index: HashMap<String, (usize, usize)>,
    pub tokens: TokenMemory,
    next_order: u64,
    /// What the account can spend (`balance:` in the fleet); `None` for no limit.
    pub balance: Option<f64>,
    /// The account's site: what it accepts, its prices' currency.
    pub site: crate::emulator::fleet::EmulatedSite,
    /// Bumped by every change to an instance, so cached scans know they are stale.
    version: u64,
    /// Visible instances per (region, charge-type filter): what nearly every DescribeInstances
    /// page asks for. Scanning 100,000 instances for each of 1,000 pages would make the
    /// emulator, not the network, the bottleneck; a scan is reused until the world changes or
    /// the second turns (visibility depends on the time).
    scans: Mutex<HashMap<(String, Option<ChargeType>), CachedScan>>,
}

#[derive(Debug)]
struct CachedScan {
    version: u64,
    second: i64,
    positions: Arc<Vec<usize>>,
}

impl World {
    /// Materialises a fleet at `start`: relative expiries resolved, generated instances made.
    pub(crate) fn build(fleet: &Fleet, start: Timestamp) -> World {
        let mut by_region: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
        for (region, specs) in &fleet.regions {
            let shared: Arc<str> = Arc::from(region.as_str());
            by_region
                .entry(region.clone())
                .or_default()
                .extend(specs.iter().map(|s| materialise(s.clone(), &shared, start)));
        }
        for g in &fleet.generate {
            let shared: Arc<str> = Arc::from(g.region.as_str());
            by_region.entry(g.region.clone()).or_default().extend(
                generate::generate(g, start)
                    .into_iter()
                    .map(|s| materialise(s, &shared, start)),
            );
        }
        let regions: Vec<(Arc<str>, Vec<Instance>)> = by_region
            .into_iter()
            .map(|(region, list)| (Arc::from(region.as_str()), list))
            .collect();
        let mut index = HashMap::with_capacity(regions.iter().map(|(_, l)| l.len()).sum());
        for (r, (_, list)) in regions.iter().enumerate() {
            for (pos, instance) in list.iter().enumerate() {
                index.insert(instance.id.clone(), (r, pos));
            }
        }
        World {
            regions,
            index,
            tokens: TokenMemory::default(),
            // Order numbers look like real ones (15 digits) and never repeat within a run.
            next_order: 211_000_000_000_000 + start.as_second().rem_euclid(1_000_000) as u64 * 1000,
            balance: fleet.balance,
            site: fleet.site,
            version: 0,
            scans: Mutex::new(HashMap::new()),
        }
    }

    /// Positions (in the region's list) of the visible instances of `region` with charge type
    /// `charge` (any when `None`), in fleet order; cached, see `scans`.
    pub(crate) fn scan(
        &self,
        region: &str,
        charge: Option<ChargeType>,
        now: Timestamp,
    ) -> Arc<Vec<usize>> {
        let key = (region.to_string(), charge);
        let second = now.as_second();
        let mut scans = self.scans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = scans.get(&key)
            && hit.version == self.version
            && hit.second == second
        {
            return Arc::clone(&hit.positions);
        }
        let cutoff = now.checked_sub(GRACE).ok();
        let positions: Vec<usize> = self
            .regions
            .iter()
            .find(|(r, _)| &**r == region)
            .map(|(_, list)| list.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(|(_, i)| match (i.expired_time, cutoff) {
                (Some(at), Some(cutoff)) => at >= cutoff,
                _ => true,
            })
            .filter(|(_, i)| charge.is_none_or(|c| c == i.charge_type))
            .map(|(pos, _)| pos)
            .collect();
        let positions = Arc::new(positions);
        scans.insert(
            key,
            CachedScan {
                version: self.version,
                second,
                positions: Arc::clone(&positions),
            },
        );
        positions
    }

    /// The instance at `pos` of `region`'s list.
    pub(crate) fn at(&self, region: &str, pos: usize) -> Option<&Instance> {
        self.regions
            .iter()
            .find(|(r, _)| &**r == region)
            .and_then(|(_, list)| list.get(pos))
    }

    pub(crate) fn has_region(&self, region: &str) -> bool {
        self.regions.iter().any(|(r, _)| &**r == region)
    }

    pub(crate) fn region_names(&self) -> impl Iterator<Item = &str> {
        self.regions.iter().map(|(r, _)| &**r)
    }

    /// The instances of a region that have not been released, in stable order.
    pub(crate) fn visible<'a>(
        &'a self,
        region: &str,
        now: Timestamp,
    ) -> impl Iterator<Item = &'a Instance> + 'a {
        // The release cut-off is computed once, not per instance.
        let cutoff = now.checked_sub(GRACE).ok();
        self.regions
            .iter()
            .find(|(r, _)| &**r == region)
            .map(|(_, list)| list.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(move |i| match (i.expired_time, cutoff) {
                (Some(at), Some(cutoff)) => at >= cutoff,
                _ => true,
            })
    }

    /// Instances more than 15 days past expiry, which no answer shows.
    pub(crate) fn released(&self, now: Timestamp) -> impl Iterator<Item = &Instance> {
        self.regions
            .iter()
            .flat_map(|(_, list)| list)
            .filter(move |i| i.is_released(now))
    }

    /// An instance in any region, unless released.
    pub(crate) fn find(&self, id: &str, now: Timestamp) -> Option<&Instance> {
        let (region, pos) = *self.index.get(id)?;
        self.regions
            .get(region)?
            .1
            .get(pos)
            .filter(|i| !i.is_released(now))
    }

    pub(crate) fn find_mut(&mut self, id: &str, now: Timestamp) -> Option<&mut Instance> {
        // Whoever asks for a mutable instance may change it: cached scans become stale.
        self.version += 1;
        let (region, pos) = *self.index.get(id)?;
        self.regions
            .get_mut(region)?
            .1
            .get_mut(pos)
            .filter(|i| !i.is_released(now))
    }

    pub(crate) fn next_order_id(&mut self) -> String {
        self.next_order += 1;
        self.next_order.to_string()
    }
}

fn resolve_expiry(expiry: ExpirySpec, start: Timestamp) -> Option<Timestamp> {
    let at = match expiry {
        ExpirySpec::Never => return None,
        ExpirySpec::At(at) => at,
        ExpirySpec::In { amount, unit } => {
            let moved = match unit {
                SpanUnit::Hour => start.checked_add(SignedDuration::from_hours(amount)).ok(),
                SpanUnit::Day => add_days(start, amount),
                SpanUnit::Week => add_calendar(start, 0, amount),
                SpanUnit::Month => add_calendar(start, amount, 0),
                SpanUnit::Year => add_calendar(start, amount.saturating_mul(12), 0),
            };
            moved.unwrap_or(start)
        }
    };
    Some(truncate_to_minute(at))
}

fn materialise(spec: InstanceSpec, region: &Arc<str>, start: Timestamp) -> Instance {
    let hash = fnv1a(spec.id.as_bytes());
    let zone_letter = ['b', 'g', 'h', 'i', 'j', 'k'][(hash % 6) as usize];
    let expired_time = resolve_expiry(spec.expiry, start);
    // Creation is derived, not configured: some months before expiry (the usual subscription
    // lengths, 30 days a month is close enough for a fake), never after the emulator started.
    let months = [1i64, 3, 6, 12][((hash >> 8) % 4) as usize];
    let days_before = |from: Timestamp, days: i64| add_days(from, -days).unwrap_or(from);
    let creation_time = match expired_time {
        Some(at) => days_before(at, 30 * months),
        None => days_before(start, 1 + (hash >> 16) as i64 % 300),
    }
    .min(days_before(start, 1));
    let monthly_price = spec
        .monthly_price
        .unwrap_or_else(|| default_monthly_price(&spec.instance_type));
    Instance {
        id: spec.id,
        name: spec.name,
        region: Arc::clone(region),
        zone_letter,
        instance_type: spec.instance_type,
        charge_type: spec.charge_type,
        status: spec.status,
        expired_time,
        creation_time: truncate_to_minute(creation_time),
        renewal_status: spec.renewal_status,
        duration: spec.duration,
        period_unit: spec.period_unit,
        tags: spec.tags,
        monthly_price,
        lagging_expiry: None,
        security_lock: spec.security_lock,
        refusal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::clock::{format_minute, parse_api_time};

    const FLEET: &str = r#"
access_keys: [{id: a, secret: b}]
regions:
  cn-hangzhou:
    - {id: i-soon, expires_in: 5 days}
    - {id: i-grace, expires_in: -3 days}
    - {id: i-gone, expires_in: -16 days}
    - {id: i-month, expires_in: 1 month}
    - {id: i-payg, charge_type: PostPaid}
generate: {region: cn-shanghai, count: 3}
"#;

    fn start() -> Timestamp {
        "2026-11-22T10:20:30Z".parse().expect("valid")
    }

    fn world() -> World {
        World::build(&Fleet::from_yaml_str(FLEET).expect("valid"), start())
    }

    #[test]
    fn relative_expiries_resolve_against_start_at_minute_precision() {
        let w = world();
        let soon = w.find("i-soon", start()).expect("present");
        assert_eq!(
            soon.expired_time.map(format_minute).as_deref(),
            Some("2026-11-27T10:20Z")
        );
        let month = w.find("i-month", start()).expect("present");
        assert_eq!(
            month.expired_time.map(format_minute).as_deref(),
            Some("2026-12-22T10:20Z")
        );
        assert!(soon.creation_time < start());
    }

    #[test]
    fn expired_instances_stop_and_released_ones_disappear() {
        let w = world();
        let grace = w
            .find("i-grace", start())
            .expect("still there within 15 days");
        assert!(grace.is_expired(start()));
        assert_eq!(grace.status(start()), "Stopped");
        assert!(w.find("i-gone", start()).is_none());
        let released: Vec<&str> = w.released(start()).map(|i| i.id.as_str()).collect();
        assert_eq!(released, ["i-gone"]);
        let ids: Vec<&str> = w
            .visible("cn-hangzhou", start())
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(ids, ["i-soon", "i-grace", "i-month", "i-payg"]);
        // Time passes: the 5-day instance expires and is released 15 days later.
        let later = parse_api_time("2026-12-13T00:00Z").expect("valid");
        assert!(w.find("i-soon", later).is_none());
    }

    #[test]
    fn generated_instances_join_their_region() {
        let w = world();
        assert!(w.has_region("cn-shanghai"));
        assert_eq!(w.visible("cn-shanghai", start()).count(), 3);
        assert!(w.find("i-uf600000000000000001", start()).is_some());
    }

    #[test]
    fn a_hundred_thousand_instances_build_fast() {
        // Release builds take about a tenth of a second; the bound is for unoptimised test
        // builds on a slow machine, and catches accidental quadratic work.
        let fleet = Fleet::from_yaml_str(
            "access_keys: [{id: a, secret: b}]\ngenerate: {region: cn-hangzhou, count: 100000, seed: 7}\n",
        )
        .expect("valid");
        let started = std::time::Instant::now();
        let w = World::build(&fleet, start());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(w.visible("cn-hangzhou", start()).count(), 100_000);
        assert!(w.find("i-bp100000000000100000", start()).is_some());
    }

    #[test]
    fn token_memory_forgets_the_oldest_first() {
        let mut memory = TokenMemory::default();
        let record = TokenRecord {
            fingerprint: "f".to_owned(),
            order_id: Some("1".to_owned()),
        };
        for n in 0..(TOKEN_MEMORY + 5) {
            memory.insert(format!("t{n}"), record.clone());
        }
        assert!(memory.get("t0").is_none());
        assert!(memory.get(&format!("t{}", TOKEN_MEMORY + 4)).is_some());
    }
}
