//! The fleet file: which access keys the emulated account has and which instances live in which
//! region (DESIGN.md §6). Parses the YAML strictly (unknown keys, duplicate keys and bad values
//! are errors naming the file and the field path), and keeps relative expiries (`expires_in`)
//! unresolved until the emulator starts, because they are relative to that moment.
//!
//! Turning the specification into live instances is `state.rs`'s job and synthesising a large
//! fleet is `generate.rs`'s; this file only reads and checks.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::Timestamp;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::clock::{parse_api_time, truncate_to_minute};
use super::generate;

/// A parsed, checked fleet file, ready to be served by [`super::start`].
#[derive(Clone)]
pub struct Fleet {
    pub(crate) access_keys: Vec<AccessKey>,
    pub(crate) regions: BTreeMap<String, Vec<InstanceSpec>>,
    pub(crate) generate: Vec<GenerateSpec>,
}

/// An access key pair of the emulated account; with `security_token` it is an STS key and every
/// request must carry that token.
#[derive(Clone)]
pub(crate) struct AccessKey {
    pub id: String,
    pub secret: String,
    pub security_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChargeType {
    PrePaid,
    PostPaid,
}

impl ChargeType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChargeType::PrePaid => "PrePaid",
            ChargeType::PostPaid => "PostPaid",
        }
    }
}

/// When an instance expires, as the fleet file says it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ExpirySpec {
    At(Timestamp),
    /// `expires_in: -3 days`: resolved against the emulator's start.
    In {
        amount: i64,
        unit: SpanUnit,
    },
    /// Pay-as-you-go instances have no expiry.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanUnit {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// Text that is usually one of a few constants (`Running`, `AutoRenewal`, `Month`, tag
/// vocabularies): borrowed when it is, so a generated fleet of 100,000 instances does not make
/// a million small allocations.
pub(crate) type Text = Cow<'static, str>;

#[derive(Debug, Clone)]
pub(crate) struct InstanceSpec {
    pub id: String,
    pub name: String,
    pub charge_type: ChargeType,
    pub status: Text,
    pub expiry: ExpirySpec,
    pub tags: Vec<(Text, Text)>,
    pub renewal_status: Text,
    pub duration: u32,
    pub period_unit: Text,
    pub instance_type: Text,
    pub monthly_price: Option<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct GenerateSpec {
    pub region: String,
    pub count: u32,
    pub seed: u64,
}

/// Why a fleet file cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot read fleet file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The YAML does not match the format; the message names the field path, line and column.
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    /// Well-formed YAML with values the emulator cannot serve; every problem is listed.
    #[error("{origin}: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid {
        origin: String,
        problems: Vec<FleetProblem>,
    },
}

/// One semantic problem: the field path (`regions.cn-hangzhou[2].expires_in`) and what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetProblem {
    pub field: String,
    pub message: String,
}

impl fmt::Display for FleetProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The largest `generate.count`: enough for any benchmark, small enough to fit in memory.
const MAX_GENERATED: u32 = 1_000_000;

impl Fleet {
    /// Reads and checks a fleet file. Errors name the file.
    pub fn load(path: &Path) -> Result<Fleet, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Fleet::parse(&text, &path.display().to_string())
    }

    /// Parses fleet YAML held in memory (the demo's built-in fleet, tests).
    pub fn from_yaml_str(text: &str) -> Result<Fleet, FleetError> {
        Fleet::parse(text, "fleet")
    }

    fn parse(text: &str, origin: &str) -> Result<Fleet, FleetError> {
        let doc: FleetDoc = serde_yaml::from_str(text).map_err(|err| FleetError::Syntax {
            origin: origin.to_owned(),
            message: err.to_string(),
        })?;
        let mut problems = Vec::new();
        let fleet = check(doc, &mut problems);
        if problems.is_empty() {
            Ok(fleet)
        } else {
            Err(FleetError::Invalid {
                origin: origin.to_owned(),
                problems,
            })
        }
    }

    /// The id of the first access key (what a user exports as `ALIBABA_CLOUD_ACCESS_KEY_ID`).
    pub fn first_access_key_id(&self) -> Option<&str> {
        self.access_keys.first().map(|k| k.id.as_str())
    }

    /// The regions the fleet declares or generates, sorted.
    pub fn regions(&self) -> Vec<String> {
        let mut regions: Vec<String> = self.regions.keys().cloned().collect();
        for g in &self.generate {
            if !regions.contains(&g.region) {
                regions.push(g.region.clone());
            }
        }
        regions.sort();
        regions
    }

    /// How many instances the fleet will hold, listed plus generated.
    pub fn instance_count(&self) -> usize {
        let listed: usize = self.regions.values().map(Vec::len).sum();
        let generated: usize = self.generate.iter().map(|g| g.count as usize).sum();
        listed + generated
    }
}

impl FromStr for Fleet {
    type Err = FleetError;
    fn from_str(text: &str) -> Result<Fleet, FleetError> {
        Fleet::from_yaml_str(text)
    }
}

/// Secrets never reach logs: `Debug` shows key ids only.
impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field(
                "access_keys",
                &self.access_keys.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .field("regions", &self.regions.keys().collect::<Vec<_>>())
            .field("instances", &self.instance_count())
            .finish()
    }
}

// ---- the YAML document, as written --------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetDoc {
    access_keys: Vec<AccessKeyDoc>,
    #[serde(default)]
    regions: UniqueMap<Option<Vec<InstanceDoc>>>,
    #[serde(default)]
    generate: Option<GenerateDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessKeyDoc {
    id: String,
    secret: String,
    #[serde(default)]
    security_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceDoc {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    charge_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    expired_time: Option<String>,
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    tags: UniqueMap<Scalar>,
    #[serde(default)]
    renewal: Option<RenewalDoc>,
    #[serde(default)]
    instance_type: Option<String>,
    #[serde(default)]
    monthly_price: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenewalDoc {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    duration: Option<u32>,
    #[serde(default)]
    period_unit: Option<String>,
}

/// `generate:` takes one entry or a list of them.
enum GenerateDoc {
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
struct GenerateEntry {
    region: String,
    count: u32,
    #[serde(default)]
    seed: u64,
}

/// A tag value: YAML scalars of any type are read as their text, so `tier: 1` works.
struct Scalar(String);

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
struct UniqueMap<V>(Vec<(String, V)>);

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

// ---- checks ---------------------------------------------------------------------------------

struct Problems<'a>(&'a mut Vec<FleetProblem>);

impl Problems<'_> {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FleetProblem {
            field: field.into(),
            message: message.into(),
        });
    }
}

fn check(doc: FleetDoc, problems: &mut Vec<FleetProblem>) -> Fleet {
    let mut p = Problems(problems);
    let access_keys = check_access_keys(doc.access_keys, &mut p);

    let mut regions = BTreeMap::new();
    let mut seen_ids: HashSet<String> = HashSet::new();
    for (region, instances) in doc.regions.0 {
        let field = format!("regions.{region}");
        if !is_region_id(&region) {
            p.push(
                &field,
                "a region id is lower-case letters, digits and '-', e.g. cn-hangzhou",
            );
        }
        let mut specs = Vec::new();
        for (index, instance) in instances.unwrap_or_default().into_iter().enumerate() {
            let field = format!("{field}[{index}]");
            if !seen_ids.insert(instance.id.clone()) {
                p.push(
                    format!("{field}.id"),
                    format!(
                        "instance id {} is listed twice; ids are unique across regions",
                        instance.id
                    ),
                );
            }
            if let Some(spec) = check_instance(instance, &field, &mut p) {
                specs.push(spec);
            }
        }
        regions.insert(region, specs);
    }

    let generate = check_generate(doc.generate, &mut p);
    for g in &generate {
        for id in &seen_ids {
            if generate::would_generate(g, id) {
                p.push(
                    "generate",
                    format!(
                        "generated ids of {} would include the listed id {id}; rename it",
                        g.region
                    ),
                );
            }
        }
    }
    Fleet {
        access_keys,
        regions,
        generate,
    }
}

fn check_access_keys(docs: Vec<AccessKeyDoc>, p: &mut Problems<'_>) -> Vec<AccessKey> {
    if docs.is_empty() {
        p.push(
            "access_keys",
            "list at least one key, e.g. access_keys: [{id: LTAIdemo, secret: demo-secret}]",
        );
    }
    let mut ids = HashSet::new();
    let mut keys = Vec::new();
    for (index, doc) in docs.into_iter().enumerate() {
        let field = format!("access_keys[{index}]");
        if doc.id.is_empty() || !doc.id.bytes().all(|b| b.is_ascii_graphic()) {
            p.push(
                format!("{field}.id"),
                "an access key id is printable ASCII without spaces",
            );
        }
        if doc.secret.is_empty() {
            p.push(format!("{field}.secret"), "the secret must not be empty");
        }
        if doc.security_token.as_deref() == Some("") {
            p.push(
                format!("{field}.security_token"),
                "remove the empty security_token, or give the STS token requests must carry",
            );
        }
        if !ids.insert(doc.id.clone()) {
            p.push(
                format!("{field}.id"),
                format!("access key {} is listed twice", doc.id),
            );
        }
        keys.push(AccessKey {
            id: doc.id,
            secret: doc.secret,
            security_token: doc.security_token.filter(|t| !t.is_empty()),
        });
    }
    keys
}

fn check_instance(doc: InstanceDoc, field: &str, p: &mut Problems<'_>) -> Option<InstanceSpec> {
    let before = p.0.len();
    if !is_instance_id(&doc.id) {
        p.push(
            format!("{field}.id"),
            "an instance id is 1-64 letters, digits, '-', '_' or '.', e.g. i-bp1demo0000000001",
        );
    }
    let charge_type = match doc.charge_type.as_deref() {
        None => ChargeType::PrePaid,
        Some(t) if t.eq_ignore_ascii_case("PrePaid") => ChargeType::PrePaid,
        Some(t) if t.eq_ignore_ascii_case("PostPaid") => ChargeType::PostPaid,
        Some(t) => {
            p.push(
                format!("{field}.charge_type"),
                format!("{t:?} is not a charge type; use PrePaid or PostPaid"),
            );
            ChargeType::PrePaid
        }
    };
    let status: Text = match doc.status.as_deref() {
        None => "Running".into(),
        Some(s) => match canonical(
            s,
            &["Pending", "Running", "Starting", "Stopping", "Stopped"],
        ) {
            Some(c) => c.into(),
            None => {
                p.push(
                    format!("{field}.status"),
                    format!("{s:?} is not an instance status; use Pending, Running, Starting, Stopping or Stopped"),
                );
                "Running".into()
            }
        },
    };
    let expiry = check_expiry(&doc, charge_type, field, p);
    let renewal = doc.renewal.unwrap_or(RenewalDoc {
        status: None,
        duration: None,
        period_unit: None,
    });
    let renewal_status: Text = match renewal.status.as_deref() {
        None => "Normal".into(),
        Some(s) => match canonical(s, &["AutoRenewal", "Normal", "NotRenewal"]) {
            Some(c) => c.into(),
            None => {
                p.push(
                    format!("{field}.renewal.status"),
                    format!("{s:?} is not a renewal status; use AutoRenewal, Normal or NotRenewal"),
                );
                "Normal".into()
            }
        },
    };
    let period_unit = renewal.period_unit.unwrap_or_else(|| "Month".to_owned());
    if canonical(&period_unit, &["Month", "Year", "Week"]).is_none() {
        p.push(
            format!("{field}.renewal.period_unit"),
            format!("{period_unit:?} is not a period unit; use Month, Year or Week (any case)"),
        );
    }
    let mut tags = Vec::new();
    for (key, Scalar(value)) in doc.tags.0 {
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 128 {
            p.push(
                format!("{field}.tags"),
                "tag keys are 1-128 characters and values at most 128",
            );
        }
        tags.push((Text::from(key), Text::from(value)));
    }
    tags.sort();
    if let Some(price) = doc.monthly_price
        && (!price.is_finite() || price < 0.0)
    {
        p.push(
            format!("{field}.monthly_price"),
            "a price is a non-negative number of CNY per month",
        );
    }
    if p.0.len() > before {
        return None;
    }
    Some(InstanceSpec {
        name: doc.name.unwrap_or_else(|| doc.id.clone()),
        id: doc.id,
        charge_type,
        status,
        expiry,
        tags,
        renewal_status,
        duration: renewal.duration.unwrap_or(0),
        period_unit: period_unit.into(),
        instance_type: doc
            .instance_type
            .map_or(Text::Borrowed("ecs.g7.large"), Text::from),
        monthly_price: doc.monthly_price,
    })
}

fn check_expiry(
    doc: &InstanceDoc,
    charge_type: ChargeType,
    field: &str,
    p: &mut Problems<'_>,
) -> ExpirySpec {
    match (charge_type, &doc.expired_time, &doc.expires_in) {
        (ChargeType::PostPaid, None, None) => ExpirySpec::Never,
        (ChargeType::PostPaid, _, _) => {
            p.push(
                field,
                "pay-as-you-go (PostPaid) instances do not expire: remove expired_time / expires_in",
            );
            ExpirySpec::Never
        }
        (ChargeType::PrePaid, Some(_), Some(_)) | (ChargeType::PrePaid, None, None) => {
            p.push(
                field,
                "give exactly one of expired_time (e.g. 2026-12-01T16:00Z) or expires_in (e.g. 30 days)",
            );
            ExpirySpec::Never
        }
        (ChargeType::PrePaid, Some(at), None) => match parse_api_time(at) {
            Some(ts) => ExpirySpec::At(truncate_to_minute(ts)),
            None => {
                p.push(
                    format!("{field}.expired_time"),
                    format!("{at:?} is not a UTC time; write it like 2026-12-01T16:00Z"),
                );
                ExpirySpec::Never
            }
        },
        (ChargeType::PrePaid, None, Some(text)) => match parse_relative(text) {
            Some((amount, unit)) => ExpirySpec::In { amount, unit },
            None => {
                p.push(
                    format!("{field}.expires_in"),
                    format!(
                        "{text:?} is not a span; write e.g. \"5 days\", \"-3 days\", \"2 weeks\", \"1 month\" or \"12 hours\""
                    ),
                );
                ExpirySpec::Never
            }
        },
    }
}

fn check_generate(doc: Option<GenerateDoc>, p: &mut Problems<'_>) -> Vec<GenerateSpec> {
    let entries = match doc {
        None => Vec::new(),
        Some(GenerateDoc::One(e)) => vec![e],
        Some(GenerateDoc::Many(list)) => list,
    };
    let mut regions = HashSet::new();
    let mut specs = Vec::new();
    for (index, e) in entries.into_iter().enumerate() {
        let field = format!("generate[{index}]");
        if !is_region_id(&e.region) {
            p.push(
                format!("{field}.region"),
                "a region id is lower-case letters, digits and '-'",
            );
        }
        if e.count > MAX_GENERATED {
            p.push(
                format!("{field}.count"),
                format!("at most {MAX_GENERATED} instances can be generated per region"),
            );
        }
        if !regions.insert(e.region.clone()) {
            p.push(
                format!("{field}.region"),
                format!(
                    "{} is generated twice; use one entry with a larger count",
                    e.region
                ),
            );
        }
        specs.push(GenerateSpec {
            region: e.region,
            count: e.count,
            seed: e.seed,
        });
    }
    specs
}

/// Reads `5 days`, `-3 days`, `+2 weeks`, `1 month`, `12 hours`, `1 year`.
pub(crate) fn parse_relative(text: &str) -> Option<(i64, SpanUnit)> {
    let mut words = text.split_whitespace();
    let amount: i64 = words.next()?.trim_start_matches('+').parse().ok()?;
    let unit = match words.next()?.to_ascii_lowercase().as_str() {
        "hour" | "hours" => SpanUnit::Hour,
        "day" | "days" => SpanUnit::Day,
        "week" | "weeks" => SpanUnit::Week,
        "month" | "months" => SpanUnit::Month,
        "year" | "years" => SpanUnit::Year,
        _ => return None,
    };
    if words.next().is_some() || amount.unsigned_abs() > 100_000 {
        return None;
    }
    Some((amount, unit))
}

/// The canonical spelling of `value` among `choices`, compared case-insensitively.
pub(crate) fn canonical<'a>(value: &str, choices: &[&'a str]) -> Option<&'a str> {
    choices
        .iter()
        .find(|c| c.eq_ignore_ascii_case(value))
        .copied()
}

pub(crate) fn is_region_id(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_instance_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
access_keys: [{id: LTAIdemo, secret: demo-secret}]
regions:
  cn-hangzhou:
    - id: i-bp1demo0000000001
      name: web-1
      expired_time: 2026-12-01T16:00Z
      tags: {env: prod, tier: 1}
      renewal: {status: AutoRenewal, duration: 1, period_unit: week}
    - id: i-bp1demo0000000002
      expires_in: -3 days
    - id: i-bp1demo0000000003
      charge_type: PostPaid
  cn-beijing: []
generate: {region: cn-shanghai, count: 5, seed: 7}
"#;

    fn problems_of(text: &str) -> Vec<FleetProblem> {
        match Fleet::from_yaml_str(text) {
            Err(FleetError::Invalid { problems, .. }) => problems,
            other => panic!("expected semantic problems, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_documented_format_with_defaults() {
        let fleet = Fleet::from_yaml_str(MINIMAL).expect("valid fleet");
        assert_eq!(fleet.first_access_key_id(), Some("LTAIdemo"));
        assert_eq!(
            fleet.regions(),
            ["cn-beijing", "cn-hangzhou", "cn-shanghai"]
        );
        assert_eq!(fleet.instance_count(), 8);
        let hz = &fleet.regions["cn-hangzhou"];
        assert_eq!(
            hz[0].tags,
            [("env".into(), "prod".into()), ("tier".into(), "1".into())]
        );
        assert_eq!(hz[0].period_unit, "week", "units are stored verbatim");
        assert_eq!(hz[0].renewal_status, "AutoRenewal");
        assert_eq!(
            hz[1].expiry,
            ExpirySpec::In {
                amount: -3,
                unit: SpanUnit::Day
            }
        );
        assert_eq!(hz[1].renewal_status, "Normal");
        assert_eq!(hz[1].status, "Running");
        assert_eq!(hz[1].name, "i-bp1demo0000000002");
        assert_eq!(hz[2].charge_type, ChargeType::PostPaid);
        assert_eq!(hz[2].expiry, ExpirySpec::Never);
    }

    #[test]
    fn generate_accepts_a_list() {
        let text = "access_keys: [{id: a, secret: b}]\ngenerate:\n  - {region: cn-hangzhou, count: 3}\n  - {region: cn-shanghai, count: 2, seed: 1}\n";
        let fleet = Fleet::from_yaml_str(text).expect("valid");
        assert_eq!(fleet.instance_count(), 5);
    }

    #[test]
    fn unknown_keys_name_the_field_and_line() {
        let text = "access_keys: [{id: a, secret: b}]\nregions:\n  cn-hangzhou:\n    - id: i-1\n      expires_in: 1 day\n      colour: red\n";
        let err = Fleet::from_yaml_str(text)
            .expect_err("unknown field")
            .to_string();
        assert!(err.contains("colour"), "{err}");
        assert!(err.contains("regions"), "{err}");
        assert!(err.contains("line 6"), "{err}");
    }

    #[test]
    fn a_misspelt_generate_key_is_named() {
        for text in [
            "access_keys: [{id: a, secret: b}]\ngenerate: {region: cn-hangzhou, cuont: 3}\n",
            "access_keys: [{id: a, secret: b}]\ngenerate:\n  - {region: cn-hangzhou, cuont: 3}\n",
        ] {
            let err = Fleet::from_yaml_str(text).expect_err("typo").to_string();
            assert!(err.contains("cuont") && err.contains("line"), "{err}");
        }
    }

    #[test]
    fn duplicate_regions_are_rejected() {
        let text =
            "access_keys: [{id: a, secret: b}]\nregions:\n  cn-hangzhou: []\n  cn-hangzhou: []\n";
        let err = Fleet::from_yaml_str(text)
            .expect_err("duplicate")
            .to_string();
        assert!(err.contains("duplicate key `cn-hangzhou`"), "{err}");
    }

    #[test]
    fn semantic_problems_are_all_reported_with_paths() {
        let text = r#"
access_keys: []
regions:
  cn-hangzhou:
    - {id: i-1, expired_time: 2026-12-01T16:00Z, expires_in: 3 days}
    - {id: i-2, expires_in: soon}
    - {id: i-3, expires_in: 1 day, charge_type: Yearly, renewal: {status: Forever, period_unit: fortnight}}
    - {id: i-1, expires_in: 1 day}
    - {id: i-5}
"#;
        let fields: Vec<String> = problems_of(text).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "access_keys",
                "regions.cn-hangzhou[0]",
                "regions.cn-hangzhou[1].expires_in",
                "regions.cn-hangzhou[2].charge_type",
                "regions.cn-hangzhou[2].renewal.status",
                "regions.cn-hangzhou[2].renewal.period_unit",
                "regions.cn-hangzhou[3].id",
                "regions.cn-hangzhou[4]",
            ]
        );
    }

    #[test]
    fn relative_spans() {
        assert_eq!(parse_relative("5 days"), Some((5, SpanUnit::Day)));
        assert_eq!(parse_relative("-3 days"), Some((-3, SpanUnit::Day)));
        assert_eq!(parse_relative("+1 Month"), Some((1, SpanUnit::Month)));
        assert_eq!(parse_relative("12 hours"), Some((12, SpanUnit::Hour)));
        assert_eq!(parse_relative("5"), None);
        assert_eq!(parse_relative("5 days ago"), None);
        assert_eq!(parse_relative("99999999999 days"), None);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let fleet = Fleet::from_yaml_str(MINIMAL).expect("valid");
        let shown = format!("{fleet:?}");
        assert!(shown.contains("LTAIdemo"));
        assert!(!shown.contains("demo-secret"));
    }
}
