//! Synthetic fleets for benchmarks and demos (`generate: {region, count, seed}`): deterministic
//! for a given seed and start time, with the mix a real account has — some instances already
//! expired (within the 15-day grace period), many expiring within 60 days, the rest within a
//! year; every renewal status, durations in mixed-case units as the API reports them, and tags
//! from small vocabularies so tag policies match realistic slices.
//!
//! Generation is a tight loop with no I/O and a tiny PRNG: 100,000 instances take milliseconds.
//! Parsing the `generate` entry is `fleet/`'s job.

use jiff::Timestamp;

use super::catalog::region_id_code;
use super::fleet::{ChargeType, ExpirySpec, GenerateSpec, InstanceSpec};

/// SplitMix64: tiny, fast and well distributed; good enough for synthetic data and faults.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `[low, high]`.
    fn range(&mut self, low: i64, high: i64) -> i64 {
        let width = high.saturating_sub(low).saturating_add(1).max(1) as u64;
        low.saturating_add((self.next_u64() % width) as i64)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// The id of the `seq`-th generated instance of a region: 20 characters after `i-` like real
/// ids, starting with the region's real prefix (`i-bp1…` in Hangzhou).
#[cfg(test)]
pub(crate) fn generated_id(region: &str, seq: u32) -> String {
    id_with_code(&region_id_code(region), seq)
}

fn id_with_code(code: &str, seq: u32) -> String {
    let mut id = String::with_capacity(22);
    id.push_str("i-");
    id.push_str(code);
    let digits = seq.to_string();
    id.extend(std::iter::repeat_n(
        '0',
        17usize.saturating_sub(digits.len()),
    ));
    id.push_str(&digits);
    id
}

/// Whether `id` is one the entry `g` generates (so a listed instance would collide with it).
pub(crate) fn would_generate(g: &GenerateSpec, id: &str) -> bool {
    let code = region_id_code(&g.region);
    id.strip_prefix("i-")
        .and_then(|rest| rest.strip_prefix(code.as_str()))
        .filter(|digits| digits.len() == 17 && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u64>().ok())
        .is_some_and(|seq| seq >= 1 && seq <= u64::from(g.count))
}

const ENVS: [&str; 3] = ["prod", "staging", "dev"];
const TEAMS: [&str; 5] = ["payments", "search", "platform", "data", "growth"];
const TIERS: [&str; 3] = ["web", "db", "batch"];
const TYPES: [&str; 5] = [
    "ecs.g7.large",
    "ecs.g7.xlarge",
    "ecs.c7.large",
    "ecs.r7.large",
    "ecs.g7.2xlarge",
];
/// Auto-renew settings as the API reports them, units in the mixed case seen in the wild.
const AUTO_RENEW: [(u32, &str); 9] = [
    (1, "Month"),
    (1, "Month"),
    (3, "Month"),
    (6, "Month"),
    (12, "Month"),
    (1, "Year"),
    (1, "month"),
    (1, "Week"),
    (2, "week"),
];

/// Beijing midnight (`…T16:00Z`) at or before `ts`: real expiries fall on it.
fn beijing_midnight(ts: Timestamp) -> Timestamp {
    const OFFSET: i64 = 8 * 3600;
    let local = ts.as_second() + OFFSET;
    Timestamp::from_second(local - local.rem_euclid(86_400) - OFFSET).unwrap_or(ts)
}

/// The instances of one `generate` entry, relative to the emulator's start.
pub(crate) fn generate(g: &GenerateSpec, start: Timestamp) -> Vec<InstanceSpec> {
    let mut rng = SplitMix64::new(g.seed ^ super::catalog::fnv1a(g.region.as_bytes()));
    let today = beijing_midnight(start);
    let code = region_id_code(&g.region);
    let mut out = Vec::with_capacity(g.count as usize);
    for seq in 1..=g.count {
        let roll = rng.next_f64();
        let days = if roll < 0.08 {
            rng.range(-14, -1)
        } else if roll < 0.14 {
            rng.range(1, 14)
        } else if roll < 0.55 {
            rng.range(15, 60)
        } else {
            rng.range(61, 365)
        };
        let expired_time = super::clock::add_days(today, days).unwrap_or(today);

        let roll = rng.next_f64();
        let (renewal_status, duration, period_unit) = if roll < 0.30 {
            let (d, u) = *rng.pick(&AUTO_RENEW);
            ("AutoRenewal", d, u)
        } else if roll < 0.85 {
            if rng.next_f64() < 0.25 {
                ("Normal", 1, *rng.pick(&["Month", "month"]))
            } else {
                ("Normal", 0, "Month")
            }
        } else {
            ("NotRenewal", 0, "Month")
        };

        let mut tags = Vec::with_capacity(3);
        if rng.next_f64() < 0.95 {
            let env = if rng.next_f64() < 0.4 {
                "prod"
            } else {
                *rng.pick(&ENVS[1..])
            };
            tags.push(("env".into(), env.into()));
        }
        if rng.next_f64() < 0.9 {
            tags.push(("team".into(), (*rng.pick(&TEAMS)).into()));
        }
        let tier = if rng.next_f64() < 0.9 {
            let tier = *rng.pick(&TIERS);
            tags.push(("tier".into(), tier.into()));
            tier
        } else {
            "node"
        };

        out.push(InstanceSpec {
            id: id_with_code(&code, seq),
            name: format!("{tier}-{seq:05}"),
            charge_type: ChargeType::PrePaid,
            status: if rng.next_f64() < 0.95 {
                "Running"
            } else {
                "Stopped"
            }
            .into(),
            expiry: ExpirySpec::At(expired_time),
            tags,
            renewal_status: renewal_status.into(),
            duration,
            period_unit: period_unit.into(),
            instance_type: (*rng.pick(&TYPES)).into(),
            monthly_price: None,
            security_lock: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Timestamp {
        "2026-11-22T10:20:30Z".parse().expect("valid")
    }

    fn spec(count: u32, seed: u64) -> GenerateSpec {
        GenerateSpec {
            region: "cn-hangzhou".to_owned(),
            count,
            seed,
        }
    }

    fn expiry(i: &InstanceSpec) -> Timestamp {
        match i.expiry {
            ExpirySpec::At(ts) => ts,
            _ => panic!("generated instances have absolute expiries"),
        }
    }

    #[test]
    fn same_seed_same_fleet_other_seed_other_fleet() {
        let a = generate(&spec(200, 7), start());
        let b = generate(&spec(200, 7), start());
        let c = generate(&spec(200, 8), start());
        let key = |v: &[InstanceSpec]| {
            v.iter()
                .map(|i| {
                    (
                        i.id.clone(),
                        expiry(i),
                        i.renewal_status.clone(),
                        i.tags.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
        assert_eq!(a[0].id, "i-bp100000000000000001");
        assert_eq!(a[0].id.len(), 22);
    }

    #[test]
    fn the_mix_looks_like_a_real_account() {
        let fleet = generate(&spec(10_000, 7), start());
        let now = start();
        let day = jiff::SignedDuration::from_hours(24);
        let expired = fleet.iter().filter(|i| expiry(i) < now).count();
        let within_60 = fleet
            .iter()
            .filter(|i| expiry(i) >= now && expiry(i) < now + day * 60)
            .count();
        assert!((500..1200).contains(&expired), "expired: {expired}");
        assert!(within_60 > 3_000, "within 60 days: {within_60}");
        assert!(
            fleet.iter().all(|i| expiry(i) > now - day * 15),
            "none past the grace period"
        );
        assert!(
            fleet
                .iter()
                .all(|i| expiry(i).as_second() % 86_400 == 16 * 3600)
        );
        for status in ["AutoRenewal", "Normal", "NotRenewal"] {
            assert!(fleet.iter().any(|i| i.renewal_status == status), "{status}");
        }
        assert!(fleet.iter().any(|i| i.period_unit == "week"));
        assert!(
            fleet
                .iter()
                .any(|i| i.tags.contains(&("env".into(), "prod".into())))
        );
    }

    #[test]
    fn collision_detection_matches_generated_ids() {
        let g = spec(10, 1);
        assert!(would_generate(&g, &generated_id("cn-hangzhou", 10)));
        assert!(!would_generate(&g, &generated_id("cn-hangzhou", 11)));
        assert!(!would_generate(&g, "i-bp1demo0000000001"));
    }
}
