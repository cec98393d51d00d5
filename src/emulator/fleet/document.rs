//! The fleet file exactly as written: serde types with `deny_unknown_fields`, plus the three
//! readers serde does not give for free — mappings that refuse duplicate keys, tag values of any
//! scalar type, and `generate` as one entry or a list. No value is judged here; `check.rs` does.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FleetDoc {
    pub(super) access_keys: Vec<AccessKeyDoc>,
    #[serde(default)]
    pub(super) regions: UniqueMap<Option<Vec<InstanceDoc>>>,
    #[serde(default)]
    pub(super) generate: Option<GenerateDoc>,
    #[serde(default)]
    pub(super) roles: Vec<RoleDoc>,
    #[serde(default)]
    pub(super) metadata: Option<MetadataDoc>,
    #[serde(default)]
    pub(super) balance: Option<f64>,
    #[serde(default)]
    pub(super) site: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessKeyDoc {
    pub(super) id: String,
    pub(super) secret: String,
    #[serde(default)]
    pub(super) security_token: Option<String>,
    #[serde(default)]
    pub(super) expired_time: Option<String>,
}

/// A RAM role STS can issue credentials for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleDoc {
    pub(super) arn: String,
    #[serde(default)]
    pub(super) max_session_duration: Option<u32>,
    #[serde(default)]
    pub(super) trusted_keys: Option<Vec<String>>,
    #[serde(default)]
    pub(super) oidc: Option<OidcDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OidcDoc {
    pub(super) provider_arn: String,
    pub(super) token: String,
}

/// The instance metadata service of the machine renewctl "runs on".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MetadataDoc {
    pub(super) role: String,
    #[serde(default)]
    pub(super) mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InstanceDoc {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) charge_type: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) expired_time: Option<String>,
    #[serde(default)]
    pub(super) expires_in: Option<String>,
    #[serde(default)]
    pub(super) tags: UniqueMap<Scalar>,
    #[serde(default)]
    pub(super) renewal: Option<RenewalDoc>,
    #[serde(default)]
    pub(super) instance_type: Option<String>,
    #[serde(default)]
    pub(super) monthly_price: Option<f64>,
    #[serde(default)]
    pub(super) locks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RenewalDoc {
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) duration: Option<u32>,
    #[serde(default)]
    pub(super) period_unit: Option<String>,
}

/// `generate:` takes one entry or a list of them.
pub(super) enum GenerateDoc {
    One(GenerateEntry),
    Many(Vec<GenerateEntry>),
}

/// Dispatches on the YAML node kind instead of `#[serde(untagged)]`, whose only error is "did
/// not match any variant": this way a misspelt key is reported with its name and line.
impl<'de> Deserialize<'de> for GenerateDoc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<GenerateDoc, D::Error> {
        struct GenerateVisitor;
        impl<'de> Visitor<'de> for GenerateVisitor {
            type Value = GenerateDoc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{region, count, seed} or a list of them")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GenerateDoc, A::Error> {
                GenerateEntry::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(GenerateDoc::One)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<GenerateDoc, A::Error> {
                Vec::<GenerateEntry>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(GenerateDoc::Many)
            }
        }
        deserializer.deserialize_any(GenerateVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GenerateEntry {
    pub(super) region: String,
    pub(super) count: u32,
    #[serde(default)]
    pub(super) seed: u64,
}

/// A tag value: YAML scalars of any type are read as their text, so `tier: 1` works.
pub(super) struct Scalar(pub(super) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tag value (a string, number or boolean)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// A mapping that rejects duplicate keys (the YAML parser would silently keep the last one,
/// and a region listed twice would silently lose instances).
pub(super) struct UniqueMap<V>(pub(super) Vec<(String, V)>);

impl<V> Default for UniqueMap<V> {
    fn default() -> Self {
        UniqueMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UniqueMap<V>, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: de::Error>(self) -> Result<UniqueMap<V>, E> {
                Ok(UniqueMap(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueMap<V>, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                let mut seen = HashSet::new();
                while let Some(key) = map.next_key::<Scalar>()? {
                    if !seen.insert(key.0.clone()) {
                        return Err(de::Error::custom(format!("duplicate key `{}`", key.0)));
                    }
                    let value = map.next_value::<V>()?;
                    entries.push((key.0, value));
                }
                Ok(UniqueMap(entries))
            }
        }
        deserializer.deserialize_any(MapVisitor(PhantomData))
    }
}
