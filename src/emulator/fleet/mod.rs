//! The fleet file: which access keys the emulated account has and which instances live in which
//! region (DESIGN.md §6). Parses the YAML strictly (unknown keys, duplicate keys and bad values
//! are errors naming the file and the field path), and keeps relative expiries (`expires_in`)
//! unresolved until the emulator starts, because they are relative to that moment.
//!
//! This file holds the checked model and the entry points; `document.rs` is the YAML as written
//! and `check.rs` turns it into the model. Turning the model into live instances is `state.rs`'s
//! job and synthesising a large fleet is `generate.rs`'s.

mod check;
mod document;
mod ram;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::Timestamp;

pub(crate) use check::canonical;
use check::check;
use document::FleetDoc;
pub(crate) use ram::{Metadata, MetadataMode, Role};

/// A parsed, checked fleet file, ready to be served by [`super::start`].
#[derive(Clone)]
pub struct Fleet {
    pub(crate) access_keys: Vec<AccessKey>,
    pub(crate) regions: BTreeMap<String, Vec<InstanceSpec>>,
    pub(crate) generate: Vec<GenerateSpec>,
    pub(crate) roles: Vec<Role>,
    pub(crate) metadata: Option<Metadata>,
    /// The account's balance (`balance:`): renewals are paid from it and refused with
    /// `InvalidAccountStatus.NotEnoughBalance` when it runs short. `None`: no limit.
    pub(crate) balance: Option<f64>,
    /// The account's site (`site:`, China by default): what RenewInstance and
    /// ModifyInstanceAutoRenewAttribute accept, and the currency of prices.
    pub(crate) site: EmulatedSite,
}

/// The emulated account's site. The emulator keeps its own tables of what each site accepts
/// (ecs-api.md §3.4–§3.6: the RenewInstance and ModifyInstanceAutoRenewAttribute API pages and
/// the official SDK request models), apart from renewctl's, so a wrong table on one side shows
/// as a refusal in the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmulatedSite {
    /// aliyun.com: RenewInstance Month 1–9, 12, 24, 36, 48, 60 and Week 1–4; weekly
    /// auto-renewal; prices in CNY.
    #[default]
    China,
    /// alibabacloud.com: RenewInstance Month 1–9 or 12 only; no Week unit; prices in USD.
    International,
}

impl EmulatedSite {
    pub fn currency(self) -> &'static str {
        match self {
            EmulatedSite::China => "CNY",
            EmulatedSite::International => "USD",
        }
    }

    /// Whether the site has the `Week` unit (RenewInstance and auto-renewal).
    pub fn has_weeks(self) -> bool {
        self == EmulatedSite::China
    }

    /// Whether RenewInstance takes `Period` months.
    pub fn renews_months(self, period: i64) -> bool {
        match self {
            EmulatedSite::China => matches!(period, 1..=9 | 12 | 24 | 36 | 48 | 60),
            EmulatedSite::International => matches!(period, 1..=9 | 12),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EmulatedSite::China => "china",
            EmulatedSite::International => "international",
        }
    }
}

/// An access key pair of the emulated account; with `security_token` it is an STS key and every
/// request must carry that token. STS keys expire; long-lived ones do not.
#[derive(Clone)]
pub(crate) struct AccessKey {
    pub id: String,
    pub secret: String,
    pub security_token: Option<String>,
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// `locks: [security]`: the instance is locked for security.
    pub security_lock: bool,
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
    /// The I/O error is part of the message, not a `source`, so a printed chain says it once.
    #[error("cannot read fleet file {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
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
        let text = std::fs::read_to_string(path).map_err(|error| FleetError::Read {
            path: path.to_path_buf(),
            error,
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

#[cfg(test)]
mod tests {
    use super::*;
    use check::parse_relative;

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
balance: -5
regions:
  cn-hangzhou:
    - {id: i-1, expired_time: 2026-12-01T16:00Z, expires_in: 3 days}
    - {id: i-2, expires_in: soon}
    - {id: i-3, expires_in: 1 day, charge_type: Yearly, renewal: {status: Forever, period_unit: fortnight}}
    - {id: i-1, expires_in: 1 day}
    - {id: i-5}
    - {id: i-6, expires_in: 1 day, locks: [security, financial]}
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
                "regions.cn-hangzhou[5].locks[1]",
                "balance",
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
