//! The YAML model of the desired state, format version 1 (DESIGN.md §2), as serde types: the
//! single source of the format. The derived `Deserialize` reads files, the derived `JsonSchema`
//! (with the rules in `schema`) is `schemas/renewal.schema.json`, and the lenient reader takes
//! its key lists from these derives. Unknown and duplicate keys are refused; meaning (allowed
//! values, contradictions) is checked in `validate`. Doc comments on the fields are the editor
//! tooltips of the schema: they speak to the person writing the file.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::period::{Period, PeriodField};
use super::schema;
use crate::money::Amount;

/// Declares the renewal of Alibaba Cloud ECS subscription (PrePaid) instances. renewctl plan
/// shows what would change; renewctl apply makes the fewest API calls that get there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "renewctl desired state (renewal.yaml), format version 1")]
#[schemars(transform = schema::site_rules)]
pub struct DesiredState {
    /// Format version of this file. Only 1 exists.
    #[schemars(schema_with = "schema::version")]
    pub version: u32,
    /// Regions where subscription instances are observed, e.g. cn-hangzhou. Listed once each.
    #[schemars(schema_with = "schema::regions")]
    pub regions: Vec<String>,
    /// Renewal policies. A policy that lists an instance by id beats every policy matching it by
    /// tags; two tag policies that match one instance must agree on every setting.
    pub policies: Vec<RenewalPolicy>,
    /// Spending limits: a plan that makes more renewals, or whose renewals cost more, is refused
    /// before any call. The flags --max-renewals and --max-total-price override them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// Instances whose renewal renewctl never lowers, whatever their policy says: it never turns
    /// auto-renewal off and never sets them to never-renew. Such a change is shown as blocked in
    /// the plan and never applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protect: Option<Protection>,
    /// The Alibaba Cloud site of the account: china (aliyun.com, prices in CNY) or
    /// international (alibabacloud.com, prices in USD). The sites accept different renewal
    /// periods; without it only what both accept is allowed. `renewctl whoami` says which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<crate::ecs::Site>,
    /// Which ECS endpoints to call: public (ecs.REGION.aliyuncs.com, the default) or vpc
    /// (ecs-vpc.REGION.aliyuncs.com, for runners inside a VPC without internet access).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<EndpointType>,
    /// The ECS host of a region, for regions whose endpoint is not ecs.REGION.aliyuncs.com
    /// (some finance and government regions), e.g. {cn-shanghai-finance-1:
    /// ecs.cn-shanghai-finance-1.aliyuncs.com}. It beats endpoint_type for that region.
    #[serde(
        default,
        deserialize_with = "unique_keys",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::endpoints")]
    pub endpoints: Option<BTreeMap<String, String>>,
    /// What `renewctl check` watches between merges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Watch>,
    /// Where `renewctl check --notify` sends its message: one per sink per run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
}

/// Chat and webhook sinks of `renewctl check --notify`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// attention (the default): send only when something needs attention; always: every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<NotifyWhen>,
    /// The sinks, each named; at least one.
    pub sinks: Vec<Sink>,
}

/// When to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyWhen {
    /// Only when something needs attention: silence when all is well.
    Attention,
    /// Every run.
    Always,
}

/// One place a message goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sink {
    /// A unique name, shown when the sink fails.
    pub name: String,
    /// dingtalk, feishu, lark, wecom, slack, or webhook (the check's JSON document).
    #[serde(rename = "type")]
    pub kind: SinkKind,
    /// The environment variable holding the webhook URL (never the URL itself: it carries a
    /// token).
    pub url_env: String,
    /// The environment variable holding the signing secret (DingTalk, Feishu/Lark), if the bot
    /// signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// Only the instances carrying this tag with one of `values`: each team hears about its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    /// For `type: webhook`: report (the check's JSON document, the default) or alertmanager
    /// (the shape of Alertmanager's webhook_config, for receivers built for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<WebhookShape>,
}

/// The body a webhook sink posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookShape {
    /// The check's JSON document.
    Report,
    /// Alertmanager's webhook payload (version 4): one alert per thing that needs attention.
    Alertmanager,
}

/// The kind of a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    Dingtalk,
    Feishu,
    Lark,
    Wecom,
    Slack,
    /// POSTs the check's JSON document.
    Webhook,
}

/// A sink's share of the instances.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The tag key, e.g. team.
    pub tag: String,
    /// The values whose instances this sink hears about.
    pub values: Vec<String>,
}

/// Settings of `renewctl check`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Watch {
    /// Expiry windows in days: instances expiring within the largest are listed, each in the
    /// smallest window it falls in; one that will expire without renewal inside the smallest
    /// needs attention. Default [30, 14, 7, 3, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::windows")]
    pub windows: Option<Vec<u32>>,
    /// Days ahead in which automatic renewal charges are listed, priced and compared with the
    /// balance. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::charges_within")]
    pub charges_within: Option<u32>,
}

impl DesiredState {
    /// Version 1 with `regions` and `policies`, and every optional section absent.
    pub fn new(regions: Vec<String>, policies: Vec<RenewalPolicy>) -> DesiredState {
        DesiredState {
            version: 1,
            regions,
            policies,
            limits: None,
            protect: None,
            site: None,
            endpoint_type: None,
            endpoints: None,
            watch: None,
            notify: None,
        }
    }
}

/// Public or VPC endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndpointType {
    /// ecs.REGION.aliyuncs.com.
    Public,
    /// ecs-vpc.REGION.aliyuncs.com.
    Vpc,
}

/// Spending limits of every plan made from this file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = schema::limits_rules)]
pub struct Limits {
    /// The most renewals (each one RenewInstance, which spends money) one plan may make, e.g. 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::max_renewals")]
    pub max_renewals: Option<u64>,
    /// The most the renewals of one plan may cost in all, in `currency`, e.g. 5000. Prices are
    /// read with DescribeRenewalPrice; a renewal whose price is unknown, or in another currency,
    /// refuses the plan, since the limit cannot be proven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::max_total_price")]
    pub max_total_price: Option<Amount>,
    /// The currency of max_total_price, as the API writes it: CNY on the China site, USD on the
    /// international site. Required with max_total_price, and only with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::currency")]
    pub currency: Option<String>,
}

/// Instances protected by their tags, whatever policy governs them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Protection {
    /// Tags that protect an instance: every listed tag must be present with this value; "*"
    /// accepts any value. E.g. {protect: renewal}.
    #[serde(deserialize_with = "unique_keys_required")]
    #[schemars(schema_with = "schema::tags")]
    pub tags: BTreeMap<String, String>,
}

/// One named rule: which instances, and what their renewal must be.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = schema::policy_rules)]
pub struct RenewalPolicy {
    /// Unique name of the policy, shown in plans.
    #[schemars(schema_with = "schema::name")]
    pub name: String,
    /// Which instances this policy governs: listed ids, or every instance carrying the tags.
    #[serde(rename = "match")]
    pub selector: Selector,
    /// auto: ECS renews by itself every auto_renew_period (RenewalStatus AutoRenewal). manual:
    /// auto-renewal off, renewed by hand or by min_remaining (Normal). never: never renewed,
    /// released 15 days after expiry (NotRenewal).
    pub renewal: Renewal,
    /// Length of each automatic renewal; required with renewal: auto, and only with it. Accepted:
    /// 1, 2, 3, 6, 12, 24, 36, 48, 60 months; 1 to 5 years; 1 to 4 weeks. "1 year" and "12 months"
    /// are different settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::auto_renew_period")]
    pub auto_renew_period: Option<PeriodField>,
    /// Renew now when the expiry is nearer than this, e.g. "30 days" (days, weeks, months or
    /// years). Not with renewal: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::min_remaining")]
    pub min_remaining: Option<PeriodField>,
    /// Step of each renewal made for min_remaining (default 1 month); the renewal is the smallest
    /// accepted multiple that reaches min_remaining. Accepted: 1 to 9, 12, 24, 36, 48, 60 months;
    /// 1 to 5 years (sent as months); 1 to 4 weeks. Only with min_remaining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::renew_period")]
    pub renew_period: Option<PeriodField>,
    /// true: renewctl never lowers the renewal of the instances this policy governs (never turns
    /// auto-renewal off, never sets never-renew); such a change is shown as blocked and never
    /// applied. Renewals and a different auto-renew period are not lowering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::protect_flag")]
    pub protect: Option<bool>,
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

    /// Whether the policy protects its instances (`protect: true`).
    pub fn protects(&self) -> bool {
        self.protect == Some(true)
    }

    /// The first setting on which two policies differ, if any: two policies governing one
    /// instance must not (DESIGN.md §2).
    pub fn first_difference(&self, other: &RenewalPolicy) -> Option<&'static str> {
        if self.renewal != other.renewal {
            Some("renewal")
        } else if self.auto_renew_period() != other.auto_renew_period() {
            Some("auto_renew_period")
        } else if self.min_remaining() != other.min_remaining() {
            Some("min_remaining")
        } else if self.min_remaining().is_some() && self.renew_step() != other.renew_step() {
            Some("renew_period")
        } else if self.protects() != other.protects() {
            Some("protect")
        } else {
            None
        }
    }
}

/// Which instances a policy governs: listed ids, or every instance carrying the tags (one of
/// the two).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = schema::selector_rules)]
pub struct Selector {
    /// Instance ids, e.g. i-bp1abc0000000001. An id found in none of the regions fails the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::ids")]
    pub ids: Option<Vec<String>>,
    /// Tags every matched instance carries: each listed tag must be present with this value;
    /// "*" accepts any value.
    #[serde(
        default,
        deserialize_with = "unique_keys",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::tags")]
    pub tags: Option<BTreeMap<String, String>>,
}

impl Selector {
    /// Could one instance match both tag selectors? Only a key that both list with two
    /// different concrete values (not "*") keeps them apart; an instance carrying the union of
    /// their tags matches both otherwise.
    pub fn tags_may_overlap(&self, other: &Selector) -> bool {
        let (Some(a), Some(b)) = (&self.tags, &other.tags) else {
            return false;
        };
        !a.iter().any(|(key, value)| {
            b.get(key)
                .is_some_and(|w| value != "*" && w != "*" && value != w)
        })
    }
}

/// What renewal an instance must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Renewal {
    /// ECS renews by itself every auto_renew_period (RenewalStatus AutoRenewal).
    Auto,
    /// Auto-renewal off: renewed by hand, or by renewctl when min_remaining is set (Normal).
    Manual,
    /// Never renewed (NotRenewal): the instance is released 15 days after expiry.
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
    unique_keys_required(deserializer).map(Some)
}

/// `unique_keys` for a map that must be present.
fn unique_keys_required<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
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

    deserializer.deserialize_map(UniqueKeys)
}
