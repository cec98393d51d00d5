//! Semantic checks of a parsed fleet file: every problem found is reported at once with its
//! field path and a fix, and a clean document becomes the model the emulator serves. Syntax and
//! unknown keys were already handled by the YAML reader (`document.rs`).

use std::collections::{BTreeMap, HashSet};

use super::document::{AccessKeyDoc, FleetDoc, GenerateDoc, InstanceDoc, RenewalDoc, Scalar};
use super::{
    AccessKey, ChargeType, ExpirySpec, Fleet, FleetProblem, GenerateSpec, InstanceSpec,
    MAX_GENERATED, SpanUnit, Text,
};
use crate::emulator::clock::{parse_api_time, truncate_to_minute};
use crate::emulator::generate;

struct Problems<'a>(&'a mut Vec<FleetProblem>);

impl Problems<'_> {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FleetProblem {
            field: field.into(),
            message: message.into(),
        });
    }
}

pub(super) fn check(doc: FleetDoc, problems: &mut Vec<FleetProblem>) -> Fleet {
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
    let roles = super::ram::check_roles(doc.roles, |field, message| p.push(field, message));
    let metadata =
        super::ram::check_metadata(doc.metadata, |field, message| p.push(field, message));
    if let Some(balance) = doc.balance
        && (!balance.is_finite() || balance < 0.0)
    {
        p.push(
            "balance",
            "the balance is a non-negative amount in the account's currency, e.g. 5000.00",
        );
    }
    let site = match doc.site.as_deref().map(str::trim) {
        None | Some("china") => super::EmulatedSite::China,
        Some("international") => super::EmulatedSite::International,
        Some(_) => {
            p.push(
                "site",
                "the site is `china` (aliyun.com) or `international` (alibabacloud.com)",
            );
            super::EmulatedSite::China
        }
    };
    Fleet {
        access_keys,
        regions,
        generate,
        roles,
        metadata,
        balance: doc.balance,
        site,
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
        let expires_at = doc.expired_time.as_deref().and_then(|text| {
            let parsed = parse_api_time(text);
            if parsed.is_none() {
                p.push(
                    format!("{field}.expired_time"),
                    "a UTC time such as 2026-12-01T16:00Z",
                );
            }
            parsed
        });
        keys.push(AccessKey {
            id: doc.id,
            secret: doc.secret,
            security_token: doc.security_token.filter(|t| !t.is_empty()),
            expires_at,
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
    let mut security_lock = false;
    for (index, lock) in doc.locks.iter().enumerate() {
        if lock.eq_ignore_ascii_case("security") {
            security_lock = true;
        } else {
            p.push(
                format!("{field}.locks[{index}]"),
                format!(
                    "{lock:?} cannot be set: only `security` can (the `financial` lock follows from the expiry)"
                ),
            );
        }
    }
    if p.0.len() > before {
        return None;
    }
    Some(InstanceSpec {
        security_lock,
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
pub(super) fn parse_relative(text: &str) -> Option<(i64, SpanUnit)> {
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

fn is_region_id(region: &str) -> bool {
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
