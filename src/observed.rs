//! The observed state: a read-only snapshot of the cloud, in domain terms rather than wire types.
//! Built by `observe` through the `EcsApi` trait; read by the planner. Also owns the fingerprint
//! that a saved plan records so that `apply` can tell whether an instance moved since the plan.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How an instance is billed. Only `PrePaid` (subscription) instances can be renewed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChargeType {
    PrePaid,
    PostPaid,
    /// Any other value the API returns, kept verbatim.
    Other(String),
}

impl ChargeType {
    pub fn from_api(value: &str) -> ChargeType {
        match value {
            "PrePaid" => ChargeType::PrePaid,
            "PostPaid" => ChargeType::PostPaid,
            other => ChargeType::Other(other.to_string()),
        }
    }

    pub fn as_api(&self) -> &str {
        match self {
            ChargeType::PrePaid => "PrePaid",
            ChargeType::PostPaid => "PostPaid",
            ChargeType::Other(value) => value,
        }
    }
}

impl fmt::Display for ChargeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_api())
    }
}

/// The `RenewalStatus` of ECS: what happens at expiry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RenewalStatus {
    /// Auto-renewal is on.
    AutoRenewal,
    /// Auto-renewal is off; the instance waits for a manual renewal.
    Normal,
    /// The owner said "do not renew"; it must be moved off this status before a renewal.
    NotRenewal,
    /// A value this version does not know, kept verbatim (treated as differing from any desired).
    Other(String),
}

impl RenewalStatus {
    pub fn from_api(value: &str) -> RenewalStatus {
        match value {
            "AutoRenewal" => RenewalStatus::AutoRenewal,
            "Normal" => RenewalStatus::Normal,
            "NotRenewal" => RenewalStatus::NotRenewal,
            other => RenewalStatus::Other(other.to_string()),
        }
    }

    pub fn as_api(&self) -> &str {
        match self {
            RenewalStatus::AutoRenewal => "AutoRenewal",
            RenewalStatus::Normal => "Normal",
            RenewalStatus::NotRenewal => "NotRenewal",
            RenewalStatus::Other(value) => value,
        }
    }
}

impl fmt::Display for RenewalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_api())
    }
}

impl Serialize for RenewalStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_api())
    }
}

impl<'de> Deserialize<'de> for RenewalStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(RenewalStatus::from_api(&text))
    }
}

/// The auto-renew attribute of one instance, as DescribeInstanceAutoRenewAttribute reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalAttribute {
    pub status: RenewalStatus,
    /// Length of each automatic renewal; may be 0 when auto-renewal is off.
    pub duration: u32,
    /// The unit verbatim from the API (`Month`, `month`, `Year`, `week`…); compare it
    /// case-insensitively.
    pub period_unit: String,
}

/// An instance's tags, sorted by key, one value per key. A sorted vector rather than a map:
/// instances carry a few tags, and a `BTreeMap` node per instance would take over half a
/// kilobyte each, a third of the memory of a 100,000-instance plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The tags in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, String)> for Tags {
    /// Sorts by key; of repeated keys the last one wins (as a map would).
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Tags {
        let mut tags: Vec<(String, String)> = iter.into_iter().collect();
        tags.reverse();
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        tags.dedup_by(|later, earlier| later.0 == earlier.0);
        tags.shrink_to_fit();
        Tags(tags)
    }
}

impl<const N: usize> From<[(String, String); N]> for Tags {
    fn from(pairs: [(String, String); N]) -> Tags {
        pairs.into_iter().collect()
    }
}

impl From<BTreeMap<String, String>> for Tags {
    fn from(map: BTreeMap<String, String>) -> Tags {
        Tags(map.into_iter().collect())
    }
}

/// One instance as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSnapshot {
    pub region: String,
    pub instance_id: String,
    pub instance_name: String,
    pub charge_type: ChargeType,
    /// `Running`, `Stopped`, … verbatim.
    pub status: String,
    pub expired_time: Timestamp,
    pub tags: Tags,
    /// `OperationLocks.LockReason[].LockReason`; `financial` means expired / in arrears.
    pub locks: Vec<String>,
    /// Present for managed instances (the only ones whose attribute is read).
    pub renewal: Option<RenewalAttribute>,
}

impl InstanceSnapshot {
    /// A digest of everything a renewal decision depends on: expiry, renewal status, duration,
    /// unit, charge type, status, region, tags (a protect tag added after review must be
    /// honoured) and operation locks. A saved plan records it; any difference means "stale".
    pub fn fingerprint(&self) -> String {
        // Hashed field by field, separated, with the expiry as whole minutes (the API's
        // precision): no intermediate strings, as it runs once per managed instance.
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update(bytes);
            hasher.update(b"|");
        };
        field(b"v2");
        field(self.instance_id.as_bytes());
        field(&(self.expired_time.as_second() / 60).to_le_bytes());
        match &self.renewal {
            Some(r) => {
                field(r.status.as_api().as_bytes());
                field(&r.duration.to_le_bytes());
                field(r.period_unit.to_ascii_lowercase().as_bytes());
            }
            None => field(b"-"),
        }
        field(self.charge_type.as_api().as_bytes());
        field(self.status.as_bytes());
        field(self.region.as_bytes());
        for (key, value) in self.tags.iter() {
            field(key.as_bytes());
            field(value.as_bytes());
        }
        field(b"locks");
        let mut locks: Vec<&str> = self.locks.iter().map(String::as_str).collect();
        locks.sort_unstable();
        for lock in locks {
            field(lock.as_bytes());
        }
        let digest = hasher.finalize();
        let mut hex = [0u8; 32];
        // Cannot fail: the buffer is exactly twice the 16 bytes kept.
        let _ = hex::encode_to_slice(&digest[..16], &mut hex);
        let mut out = String::with_capacity(7 + 32);
        out.push_str("sha256:");
        out.push_str(std::str::from_utf8(&hex).unwrap_or_default());
        out
    }
}

/// An instance listed by DescribeInstances whose element could not be read in full (e.g. a
/// subscription without a readable `ExpiredTime`): enough to tell which policy it falls under,
/// never enough to plan it. Nothing is guessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableInstance {
    pub region: String,
    pub instance_id: String,
    pub instance_name: String,
    pub tags: Tags,
    pub reason: String,
}

impl UnreadableInstance {
    /// A snapshot to match policies against: id and tags are real, the rest is not (it must
    /// never be planned or fingerprinted).
    pub fn for_matching(&self) -> InstanceSnapshot {
        InstanceSnapshot {
            region: self.region.clone(),
            instance_id: self.instance_id.clone(),
            instance_name: self.instance_name.clone(),
            charge_type: ChargeType::PrePaid,
            status: String::new(),
            expired_time: Timestamp::MAX,
            tags: self.tags.clone(),
            locks: Vec::new(),
            renewal: None,
        }
    }
}

/// A region that could not be observed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionFailure {
    pub region: String,
    pub reason: String,
}

/// The observed state of the regions a config names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedState {
    /// Regions that were read, in config order.
    pub regions: Vec<String>,
    /// Every subscription (PrePaid) instance of those regions.
    pub instances: Vec<InstanceSnapshot>,
    /// Instances found only by looking up ids of `ids` policies without the charge filter
    /// (pay-as-you-go ones, which policies skip with a warning).
    pub looked_up: Vec<InstanceSnapshot>,
    /// Ids of `ids` policies that were looked up and exist in none of the regions.
    pub not_found: Vec<String>,
    /// Read requests made to build this snapshot.
    pub read_calls: u64,
    /// Instances whose DescribeInstances element could not be read (not in `instances`).
    pub unreadable: Vec<UnreadableInstance>,
    /// Instance id → why its auto-renew attribute is unknown (the read failed); the instance is
    /// in `instances` with no `renewal`.
    pub attribute_errors: BTreeMap<String, String>,
    /// Regions that could not be observed: none of their instances are in this snapshot.
    pub failed_regions: Vec<RegionFailure>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> InstanceSnapshot {
        InstanceSnapshot {
            region: "cn-hangzhou".to_string(),
            instance_id: "i-1".to_string(),
            instance_name: String::new(),
            charge_type: ChargeType::PrePaid,
            status: "Running".to_string(),
            expired_time: "2026-12-01T16:00:00Z".parse().expect("time"),
            tags: [("team".to_string(), "db".to_string())].into(),
            locks: Vec::new(),
            renewal: Some(RenewalAttribute {
                status: RenewalStatus::AutoRenewal,
                duration: 1,
                period_unit: "Month".to_string(),
            }),
        }
    }

    /// Saved plans record fingerprints: their text must not change between versions.
    #[test]
    fn a_fingerprint_is_the_first_16_bytes_of_the_sha256_of_its_fields_in_hex() {
        let mut hasher = Sha256::new();
        let minutes = ("2026-12-01T16:00:00Z".parse::<Timestamp>().expect("time")).as_second() / 60;
        for field in [
            &b"v2"[..],
            b"i-1",
            &minutes.to_le_bytes(),
            b"AutoRenewal",
            &1u32.to_le_bytes(),
            b"month",
            b"PrePaid",
            b"Running",
            b"cn-hangzhou",
            b"team",
            b"db",
            b"locks",
        ] {
            hasher.update(field);
            hasher.update(b"|");
        }
        let digest = hasher.finalize();
        let expected: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(snapshot().fingerprint(), format!("sha256:{expected}"));
        let mut later = snapshot();
        later.expired_time = "2027-01-01T16:00:00Z".parse().expect("time");
        assert_ne!(later.fingerprint(), snapshot().fingerprint());
        let mut protected = snapshot();
        protected.tags = [
            ("team".to_string(), "db".to_string()),
            ("protect".to_string(), "true".to_string()),
        ]
        .into();
        assert_ne!(
            protected.fingerprint(),
            snapshot().fingerprint(),
            "a tag added"
        );
        let mut locked = snapshot();
        locked.locks = vec!["security".to_string()];
        assert_ne!(
            locked.fingerprint(),
            snapshot().fingerprint(),
            "a lock added"
        );
    }
}
