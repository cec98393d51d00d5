//! DescribeInstances (ecs-api.md §3.2): the filters a renewal tool uses (charge type, ids as a
//! JSON array, status, up to 20 tags with AND semantics, name wildcard, expiry/creation windows,
//! lock reason, DryRun) and both paging styles — `PageNumber`/`PageSize` with `TotalCount`, and
//! `MaxResults`/`NextToken`, which wins when present.
//!
//! The order is the fleet's, stable across calls, so pages never overlap or skip while the
//! fleet is unchanged. Rendering one instance is `instance_view.rs`'s job.

use std::collections::HashSet;

use jiff::Timestamp;
use serde::Serialize;

use super::instance_view::{InstanceView, instance_view};
use super::region;
use crate::emulator::catalog::fnv1a;
use crate::emulator::clock::parse_api_time;
use crate::emulator::fleet::{ChargeType, canonical};
use crate::emulator::params::Params;
use crate::emulator::state::{Instance, World};
use crate::emulator::wire::{ApiError, Body, quote_value};

const MAX_TAGS: usize = 20;
const MAX_IDS: usize = 100;

#[derive(Default)]
struct Filter {
    charge_type: Option<ChargeType>,
    ids: Option<HashSet<String>>,
    status: Option<&'static str>,
    tags: Vec<(String, Option<String>)>,
    name: Option<String>,
    expired_after: Option<Timestamp>,
    expired_before: Option<Timestamp>,
    created_after: Option<Timestamp>,
    created_before: Option<Timestamp>,
    financial_lock: Option<bool>,
    security_lock: bool,
}

impl Filter {
    /// Only the charge type (or nothing) is filtered: the common case, served from the
    /// world's cached scan.
    fn is_charge_only(&self) -> bool {
        self.ids.is_none()
            && self.status.is_none()
            && self.tags.is_empty()
            && self.name.is_none()
            && self.expired_after.is_none()
            && self.expired_before.is_none()
            && self.created_after.is_none()
            && self.created_before.is_none()
            && self.financial_lock.is_none()
            && !self.security_lock
    }

    fn matches(&self, i: &Instance, now: Timestamp) -> bool {
        self.charge_type.is_none_or(|c| c == i.charge_type)
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&i.id))
            && self.status.is_none_or(|s| s == i.status(now))
            && self.tags.iter().all(|(key, value)| {
                i.tags
                    .iter()
                    .any(|(k, v)| k == key && value.as_ref().is_none_or(|want| want == v))
            })
            && self
                .name
                .as_deref()
                .is_none_or(|pattern| wildcard(pattern, &i.name))
            && self
                .expired_after
                .is_none_or(|t| i.shown_expired_time().is_some_and(|e| e >= t))
            && self
                .expired_before
                .is_none_or(|t| i.shown_expired_time().is_some_and(|e| e < t))
            && self.created_after.is_none_or(|t| i.creation_time >= t)
            && self.created_before.is_none_or(|t| i.creation_time < t)
            && self
                .financial_lock
                .is_none_or(|locked| locked == i.is_expired(now))
            && (!self.security_lock || i.security_lock)
    }
}

/// The answer; `PageNumber`/`PageSize` only in page mode, `NextToken` only in token mode
/// (where the docs say page numbers mean nothing).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Answer<'a> {
    instances: InstanceList<'a>,
    total_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_number: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
struct InstanceList<'a> {
    #[serde(rename = "Instance")]
    instance: Vec<InstanceView<'a>>,
}

pub(super) fn describe_instances(
    world: &World,
    params: &Params,
    now: Timestamp,
) -> Result<Body, ApiError> {
    let region = region(world, params)?;
    let filter = filter(params)?;
    let paging = paging(params)?;
    if params.boolean("DryRun")?.unwrap_or(false) {
        return Err(ApiError::new(
            400,
            "DryRunOperation",
            "Request validation has been passed with DryRun flag set.",
        ));
    }
    let (offset, size) = match paging {
        Paging::Pages { number, size } => (number.saturating_sub(1).saturating_mul(size), size),
        Paging::Tokens { offset, size } => (offset, size),
    };
    // One pass: count every match (TotalCount) and keep only the page's. A fleet of 100,000
    // is read a page at a time; collecting every match for each page would make the emulator,
    // not the network, the bottleneck.
    let mut total = 0;
    let mut instance = Vec::with_capacity(size.min(100));
    if filter.is_charge_only() {
        let positions = world.scan(region, filter.charge_type, now);
        total = positions.len();
        for &pos in positions.iter().skip(offset).take(size) {
            if let Some(i) = world.at(region, pos) {
                instance.push(instance_view(i, now));
            }
        }
    } else {
        for i in world
            .visible(region, now)
            .filter(|i| filter.matches(i, now))
        {
            if total >= offset && total - offset < size {
                instance.push(instance_view(i, now));
            }
            total += 1;
        }
    }
    let mut answer = Answer {
        instances: InstanceList { instance },
        total_count: total,
        page_number: None,
        page_size: None,
        next_token: None,
    };
    match paging {
        Paging::Pages { number, size } => {
            answer.page_number = Some(number);
            answer.page_size = Some(size);
        }
        Paging::Tokens { offset, size } => {
            let next = offset.saturating_add(size);
            answer.next_token = Some(if next < total {
                encode_token(next)
            } else {
                String::new()
            });
        }
    }
    Ok(Body::of(&answer))
}

fn filter(params: &Params) -> Result<Filter, ApiError> {
    let mut f = Filter::default();
    if let Some(charge) = params.optional("InstanceChargeType") {
        f.charge_type = Some(match charge {
            "PrePaid" => ChargeType::PrePaid,
            "PostPaid" => ChargeType::PostPaid,
            other => {
                return Err(ApiError::new(
                    404,
                    "InvalidInstanceChargeType.NotFound",
                    format!(
                        "The InstanceChargeType does not exist in our records: {}.",
                        quote_value(other)
                    ),
                ));
            }
        });
    }
    if let Some(ids) = params.get("InstanceIds") {
        f.ids = Some(instance_ids(ids)?);
    }
    if let Some(status) = params.optional("Status") {
        f.status = Some(
            canonical(
                status,
                &["Pending", "Running", "Starting", "Stopping", "Stopped"],
            )
            .filter(|c| *c == status)
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "InvalidStatus.NotFound",
                    format!(
                        "The specified Status is not found: {}.",
                        quote_value(status)
                    ),
                )
            })?,
        );
    }
    f.tags = tags(params)?;
    f.name = params.optional("InstanceName").map(str::to_owned);
    for n in 1..=4 {
        let (Some(key), Some(value)) = (
            params.optional(&format!("Filter.{n}.Key")),
            params.optional(&format!("Filter.{n}.Value")),
        ) else {
            continue;
        };
        let at = parse_api_time(value)
            .ok_or_else(|| ApiError::invalid_parameter(&format!("Filter.{n}.Value"), value))?;
        match key {
            "CreationStartTime" => f.created_after = Some(at),
            "CreationEndTime" => f.created_before = Some(at),
            "ExpiredStartTime" => f.expired_after = Some(at),
            "ExpiredEndTime" => f.expired_before = Some(at),
            other => {
                return Err(ApiError::new(
                    404,
                    "InvalidFilterKey.NotFound",
                    format!(
                        "The specified filter key is not found: {}.",
                        quote_value(other)
                    ),
                ));
            }
        }
    }
    if let Some(reason) = params.optional("LockReason") {
        match reason {
            "financial" => f.financial_lock = Some(true),
            "security" => f.security_lock = true,
            // No emulated instance carries the other locks, so these filters match nothing.
            "recycling" | "dedicatedhostfinancial" | "refunded" => {
                f.ids = Some(HashSet::new());
            }
            other => {
                return Err(ApiError::new(
                    404,
                    "InvalidLockReason.NotFound",
                    format!(
                        "The specified LockReason is not found: {}.",
                        quote_value(other)
                    ),
                ));
            }
        }
    }
    Ok(f)
}

/// `InstanceIds` is a JSON array of strings, at most 100; `[]` is a real filter matching nothing
/// (documented). A bare `i-a,i-b` list is rejected: whether ECS accepts it is unconfirmed
/// (ecs-api.md §10), and a client that passes here then works against the real API.
fn instance_ids(raw: &str) -> Result<HashSet<String>, ApiError> {
    let malformed = |why: &str| {
        ApiError::new(
            400,
            "InvalidInstanceIds.Malformed",
            format!(
                "The specified InstanceIds is not valid: {} ({why}); send a JSON array such as [\"i-a\",\"i-b\"].",
                quote_value(raw)
            ),
        )
    };
    let ids: Vec<String> =
        serde_json::from_str(raw).map_err(|_| malformed("not a JSON array of strings"))?;
    if ids.len() > MAX_IDS {
        return Err(malformed("more than 100 ids"));
    }
    Ok(ids.into_iter().collect())
}

/// `Tag.N.Key` / `Tag.N.Value`, N from 1 to 20. A key alone matches any value; a value without
/// its key is an error.
fn tags(params: &Params) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let mut keys: Vec<(usize, String)> = Vec::new();
    let mut values: Vec<(usize, String)> = Vec::new();
    for (name, value) in params.with_prefix("Tag.") {
        let mut parts = name.split('.');
        let (_, Some(n), Some(field), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else { continue };
        if !(1..=MAX_TAGS).contains(&n) {
            return Err(ApiError::new(
                400,
                "InvalidTagCount",
                "The specified tags are beyond the permitted range: N in Tag.N goes from 1 to 20.",
            ));
        }
        match field {
            "Key" => keys.push((n, value.to_owned())),
            "Value" => values.push((n, value.to_owned())),
            _ => {}
        }
    }
    let mut tags = Vec::new();
    for (n, key) in &keys {
        if key.is_empty() {
            return Err(ApiError::new(
                400,
                "InvalidTagKey.Malformed",
                format!("The specified Tag.{n}.Key is not valid: a tag key cannot be empty."),
            ));
        }
        let value = values.iter().find(|(m, _)| m == n).map(|(_, v)| v.clone());
        tags.push((key.clone(), value));
    }
    if let Some((n, _)) = values
        .iter()
        .find(|(n, _)| !keys.iter().any(|(m, _)| m == n))
    {
        return Err(ApiError::new(
            400,
            "InvalidTag.Mismatch",
            format!("The specified Tag.{n}.Key and Tag.{n}.Value are not match."),
        ));
    }
    Ok(tags)
}

#[derive(Debug, Clone, Copy)]
enum Paging {
    Pages { number: usize, size: usize },
    Tokens { offset: usize, size: usize },
}

fn paging(params: &Params) -> Result<Paging, ApiError> {
    let token = params.optional("NextToken");
    let max_results = params.integer("MaxResults")?;
    if token.is_some() || max_results.is_some() {
        // Documented: below 10 (or unset) the server uses 10, above 100 it uses 100.
        let size = max_results.unwrap_or(10).clamp(10, 100) as usize;
        let offset = match token {
            None => 0,
            Some(t) => decode_token(t).ok_or_else(|| {
                ApiError::new(
                    400,
                    "InvalidNextToken.Malformed",
                    format!("The specified NextToken is not valid: {}; copy it from the previous answer.", quote_value(t)),
                )
            })?,
        };
        return Ok(Paging::Tokens { offset, size });
    }
    let number = params.integer("PageNumber")?.unwrap_or(1);
    if number < 1 {
        return Err(ApiError::invalid_parameter(
            "PageNumber",
            &number.to_string(),
        ));
    }
    let size = params.integer("PageSize")?.unwrap_or(10);
    if !(1..=100).contains(&size) {
        return Err(ApiError::invalid_parameter("PageSize", &size.to_string()));
    }
    Ok(Paging::Pages {
        number: usize::try_from(number).unwrap_or(usize::MAX),
        size: size as usize,
    })
}

/// An opaque token: the offset plus a check value, so a mangled token is refused rather than
/// silently restarting somewhere else.
fn encode_token(offset: usize) -> String {
    let check = fnv1a(format!("next:{offset}").as_bytes()) as u32;
    format!("{offset:08x}{check:08x}")
}

fn decode_token(token: &str) -> Option<usize> {
    if token.len() != 16 || !token.is_ascii() {
        return None;
    }
    let offset = usize::from_str_radix(token.get(..8)?, 16).ok()?;
    (encode_token(offset) == token).then_some(offset)
}

/// `*` matches any run of characters; everything else literally.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::actions::test_support::*;
    use serde_json::{Value, json};

    fn ids(body: &Value) -> Vec<String> {
        body["Instances"]["Instance"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|i| i["InstanceId"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn region_is_required_and_must_exist() {
        let w = world();
        assert_eq!(
            err(&w, "DescribeInstances", &[]),
            (400, "MissingParameter".to_owned())
        );
        assert_eq!(
            err(&w, "DescribeInstances", &[("RegionId", "cn-nowhere")]),
            (404, "InvalidRegionId.NotFound".to_owned())
        );
        let empty = ok(&w, "DescribeInstances", &[("RegionId", "cn-beijing")]);
        assert_eq!(empty["TotalCount"], 0);
    }

    #[test]
    fn filters_combine_with_and() {
        let w = world();
        let hz = [("RegionId", "cn-hangzhou")];
        let all = ok(&w, "DescribeInstances", &hz);
        assert_eq!(ids(&all), ["i-web1", "i-db1", "i-old", "i-never", "i-payg"]);
        let prepaid = ok(
            &w,
            "DescribeInstances",
            &[hz[0], ("InstanceChargeType", "PrePaid")],
        );
        assert_eq!(prepaid["TotalCount"], 4);
        let prod_db = ok(
            &w,
            "DescribeInstances",
            &[
                hz[0],
                ("Tag.1.Key", "env"),
                ("Tag.1.Value", "prod"),
                ("Tag.2.Key", "tier"),
                ("Tag.2.Value", "db"),
            ],
        );
        assert_eq!(ids(&prod_db), ["i-db1"]);
        let any_tier = ok(&w, "DescribeInstances", &[hz[0], ("Tag.1.Key", "tier")]);
        assert_eq!(ids(&any_tier), ["i-web1", "i-db1"]);
        let by_ids = ok(
            &w,
            "DescribeInstances",
            &[hz[0], ("InstanceIds", r#"["i-old","i-x","i-web1"]"#)],
        );
        assert_eq!(ids(&by_ids), ["i-web1", "i-old"]);
        let none = ok(&w, "DescribeInstances", &[hz[0], ("InstanceIds", "[]")]);
        assert_eq!(none["TotalCount"], 0);
        let stopped = ok(&w, "DescribeInstances", &[hz[0], ("Status", "Stopped")]);
        assert_eq!(ids(&stopped), ["i-old"]);
        let locked = ok(
            &w,
            "DescribeInstances",
            &[hz[0], ("LockReason", "financial")],
        );
        assert_eq!(ids(&locked), ["i-old"]);
        let named = ok(&w, "DescribeInstances", &[hz[0], ("InstanceName", "*b-*")]);
        assert_eq!(ids(&named), ["i-web1", "i-db1"]);
        let window = ok(
            &w,
            "DescribeInstances",
            &[
                hz[0],
                ("Filter.3.Key", "ExpiredStartTime"),
                ("Filter.3.Value", "2026-11-25T00:00Z"),
                ("Filter.4.Key", "ExpiredEndTime"),
                ("Filter.4.Value", "2026-12-31T16:00Z"),
            ],
        );
        assert_eq!(ids(&window), ["i-web1", "i-never"]);
    }

    #[test]
    fn tags_with_special_characters_match_exactly() {
        let w = world();
        let body = ok(
            &w,
            "DescribeInstances",
            &[
                ("RegionId", "cn-shanghai"),
                ("Tag.1.Key", "env name*~/+中"),
                ("Tag.1.Value", "prod a*b~c/d+e 生产"),
            ],
        );
        assert_eq!(ids(&body), ["i-sh1"]);
        let miss = ok(
            &w,
            "DescribeInstances",
            &[
                ("RegionId", "cn-shanghai"),
                ("Tag.1.Key", "env name*~/+中"),
                ("Tag.1.Value", "prod"),
            ],
        );
        assert_eq!(miss["TotalCount"], 0);
    }

    #[test]
    fn bad_filters_get_the_documented_codes() {
        let w = world();
        let hz = ("RegionId", "cn-hangzhou");
        for (query, expected) in [
            (
                vec![hz, ("InstanceIds", "i-web1,i-db1")],
                (400, "InvalidInstanceIds.Malformed"),
            ),
            (
                vec![hz, ("InstanceIds", "[1,2]")],
                (400, "InvalidInstanceIds.Malformed"),
            ),
            (
                vec![hz, ("Status", "Sleeping")],
                (404, "InvalidStatus.NotFound"),
            ),
            (
                vec![hz, ("InstanceChargeType", "Free")],
                (404, "InvalidInstanceChargeType.NotFound"),
            ),
            (vec![hz, ("Tag.21.Key", "a")], (400, "InvalidTagCount")),
            (vec![hz, ("Tag.1.Value", "a")], (400, "InvalidTag.Mismatch")),
            (
                vec![hz, ("Tag.1.Key", ""), ("Tag.1.Value", "a")],
                (400, "InvalidTagKey.Malformed"),
            ),
            (vec![hz, ("PageSize", "101")], (400, "InvalidParameter")),
            (vec![hz, ("PageNumber", "x")], (400, "InvalidParameter")),
            (
                vec![hz, ("NextToken", "garbage")],
                (400, "InvalidNextToken.Malformed"),
            ),
            (
                vec![
                    hz,
                    ("Filter.1.Key", "Colour"),
                    ("Filter.1.Value", "2026-01-01T00:00Z"),
                ],
                (404, "InvalidFilterKey.NotFound"),
            ),
            (vec![hz, ("DryRun", "true")], (400, "DryRunOperation")),
        ] {
            assert_eq!(
                err(&w, "DescribeInstances", &query),
                (expected.0, expected.1.to_owned()),
                "{query:?}"
            );
        }
        let too_many =
            serde_json::to_string(&(0..101).map(|n| format!("i-{n}")).collect::<Vec<_>>())
                .expect("json");
        assert_eq!(
            err(&w, "DescribeInstances", &[hz, ("InstanceIds", &too_many)]).1,
            "InvalidInstanceIds.Malformed"
        );
    }

    #[test]
    fn page_number_paging_covers_everything_once() {
        let w = world();
        let sz = ("RegionId", "cn-shenzhen");
        let mut seen = Vec::new();
        for page in 1..=3 {
            let n = page.to_string();
            let body = ok(
                &w,
                "DescribeInstances",
                &[sz, ("PageSize", "100"), ("PageNumber", &n)],
            );
            assert_eq!(body["TotalCount"], 250);
            assert_eq!(body["PageNumber"], page);
            assert_eq!(body["PageSize"], 100);
            assert!(body.get("NextToken").is_none());
            seen.extend(ids(&body));
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (250, 250));
        let beyond = ok(
            &w,
            "DescribeInstances",
            &[sz, ("PageSize", "100"), ("PageNumber", "4")],
        );
        assert_eq!(ids(&beyond).len(), 0);
        let default = ok(&w, "DescribeInstances", &[sz]);
        assert_eq!(
            (ids(&default).len(), default["PageSize"].clone()),
            (10, json!(10))
        );
    }

    #[test]
    fn next_token_paging_chains_to_an_empty_token() {
        let w = world();
        let sz = ("RegionId", "cn-shenzhen");
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut calls = 0;
        loop {
            let mut query = vec![sz, ("MaxResults", "100")];
            if !token.is_empty() {
                query.push(("NextToken", token.as_str()));
            }
            let body = ok(&w, "DescribeInstances", &query);
            calls += 1;
            seen.extend(ids(&body));
            token = body["NextToken"]
                .as_str()
                .expect("token always present")
                .to_owned();
            if token.is_empty() {
                break;
            }
        }
        assert_eq!((calls, seen.len()), (3, 250));
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 250);
        // MaxResults is clamped to 10..=100.
        let small = ok(&w, "DescribeInstances", &[sz, ("MaxResults", "3")]);
        assert_eq!(ids(&small).len(), 10);
        let large = ok(&w, "DescribeInstances", &[sz, ("MaxResults", "500")]);
        assert_eq!(ids(&large).len(), 100);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("web-*", "web-1"));
        assert!(wildcard("*-1", "web-1"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a*b*c", "aXbYc"));
        assert!(!wildcard("a*b*c", "aXcYb"));
        assert!(!wildcard("ab*ba", "aba"));
        assert!(wildcard("中*", "中文"));
    }
}
