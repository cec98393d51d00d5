//! The YAML model of the desired state, format version 1 (DESIGN.md §2), as serde types. Unknown
//! keys and duplicate keys are refused by the parser; meaning (allowed values, contradictions) is
//! checked in `validate`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::period::{Period, PeriodField};

/// A whole renewal.yaml.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredState {
    /// Format version; only 1 exists.
    pub version: u32,
    /// Regions where instances are observed.
    pub regions: Vec<String>,
    /// Renewal policies, in file order.
    pub policies: Vec<RenewalPolicy>,
}

/// One named rule: which instances, and what their renewal must be.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalPolicy {
    pub name: String,
    #[serde(rename = "match")]
    pub selector: Selector,
    pub renewal: Renewal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_renew_period: Option<PeriodField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_remaining: Option<PeriodField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_period: Option<PeriodField>,
}

/// The default step of a renewal when a policy gives no `renew_period`.
pub const DEFAULT_RENEW_PERIOD: Period = Period::new(1, super::period::PeriodUnit::Month);

impl RenewalPolicy {
    /// The renewal step in effect.
    pub fn renew_step(&self) -> Period {
        self.renew_period
            .as_ref()
            .and_then(PeriodField::period)
            .unwrap_or(DEFAULT_RENEW_PERIOD)
    }

    /// The auto-renew period, when given and well-formed.
    pub fn auto_renew_period(&self) -> Option<Period> {
        self.auto_renew_period
            .as_ref()
            .and_then(PeriodField::period)
    }

    /// `min_remaining`, when given and well-formed.
    pub fn min_remaining(&self) -> Option<Period> {
        self.min_remaining.as_ref().and_then(PeriodField::period)
    }
}

/// Which instances a policy governs: listed ids, or every instance carrying the tags.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
    /// Every listed tag must be present with this value; `"*"` accepts any value.
    #[serde(
        default,
        deserialize_with = "unique_keys",
        skip_serializing_if = "Option::is_none"
    )]
    pub tags: Option<BTreeMap<String, String>>,
}

/// What renewal an instance must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Renewal {
    /// Auto-renewal on (`RenewalStatus=AutoRenewal`).
    Auto,
    /// Auto-renewal off, renewed by hand or by `min_remaining` (`Normal`).
    Manual,
    /// Never renewed (`NotRenewal`): the instance is released after expiry.
    Never,
}

impl fmt::Display for Renewal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Renewal::Auto => "auto",
            Renewal::Manual => "manual",
            Renewal::Never => "never",
        })
    }
}

/// Deserializes a string map, refusing a key that appears twice (YAML parsers silently keep the
/// last one, which would quietly change which instances a policy matches).
fn unique_keys<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    struct UniqueKeys;

    impl<'de> Visitor<'de> for UniqueKeys {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of tag keys to values")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, String>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate key `{key}`: each tag can be listed once"
                    )));
                }
                out.insert(key, value);
            }
            Ok(out)
        }
    }

    deserializer.deserialize_map(UniqueKeys).map(Some)
}
