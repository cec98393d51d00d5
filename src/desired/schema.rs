//! The JSON Schema of renewal.yaml, generated from the model's `JsonSchema` derives (the doc
//! comments become editor tooltips) plus the rules a derive cannot see: the durations and ids
//! the API accepts, as patterns built from the same constants `validate` checks against, and the
//! conditions between keys (`auto_renew_period` only with `renewal: auto`, …). The committed
//! `schemas/renewal.schema.json` must equal `generate()`; a test holds them together.
//!
//! What a schema cannot say is left to `validate`: unique policy names, an id listed by two
//! policies, overlapping tag policies, and counts beyond 32 bits.

use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use super::limits::MAX_WATCH_DAYS;
use super::limits::{MIN_REMAINING_AT_MOST, renew_years};
use super::model::DesiredState;
use crate::ecs::Site;
use crate::ecs::site::{
    AUTO_RENEW_MONTHS, AUTO_RENEW_YEARS, auto_renew_weeks, renew_months, renew_weeks,
};
use crate::money::MAX_UNITS;

/// The repository path of the committed schema, relative to a renewal.yaml at the top.
pub const SCHEMA_PATH: &str = "schemas/renewal.schema.json";

/// The schema as a JSON value, keys sorted.
pub fn generate() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<DesiredState>();
    sorted(schema.to_value())
}

/// The schema as the committed file holds it: pretty JSON and a final newline.
pub fn to_json() -> String {
    let mut text = serde_json::to_string_pretty(&generate()).unwrap_or_default();
    text.push('\n');
    text
}

/// Keys in a stable order whatever serde_json features the build unifies, and descriptions
/// unwrapped: doc comments wrap at 100 columns, editor tooltips wrap by themselves.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| match (k.as_str(), v) {
                        ("description", Value::String(text)) => (k, Value::String(unwrap(&text))),
                        (_, v) => (k, sorted(v)),
                    })
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Joins the lines of each paragraph; paragraphs stay apart.
fn unwrap(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `[Mm][Oo][Nn][Tt][Hh][Ss]?`: units are case-insensitive, and JSON Schema patterns have no
/// flags.
fn unit(word: &str) -> String {
    let mut out: String = word
        .chars()
        .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c))
        .collect();
    out.push_str("[Ss]?");
    out
}

/// `0*(?:1|2|3)`: one of the counts, leading zeros allowed as the parser allows them.
fn counts(values: &[u32]) -> String {
    let alternatives: Vec<String> = values.iter().map(u32::to_string).collect();
    format!("0*(?:{})", alternatives.join("|"))
}

/// A duration pattern from (count pattern, unit word) alternatives.
fn duration_pattern(parts: &[(String, &str)]) -> String {
    let alternatives: Vec<String> = parts
        .iter()
        .map(|(count, word)| format!("{count}\\s+{}", unit(word)))
        .collect();
    format!("^\\s*(?:{})\\s*$", alternatives.join("|"))
}

fn duration(pattern: String) -> Schema {
    json_schema!({
        "type": ["string", "null"],
        "pattern": pattern,
    })
}

pub fn version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "const": 1 })
}

pub fn regions(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "minItems": 1,
        "uniqueItems": true,
        "items": { "type": "string", "pattern": "^[a-z]{2,}(?:-[a-z0-9]+)+$" },
    })
}

pub fn name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "pattern": "\\S" })
}

pub fn ids(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["array", "null"],
        "minItems": 1,
        "uniqueItems": true,
        "items": { "type": "string", "pattern": "^i-[a-z0-9]+$" },
    })
}

pub fn tags(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "minProperties": 1,
        "propertyNames": { "pattern": "\\S" },
        "additionalProperties": { "type": "string" },
    })
}

/// The values some site accepts (the China site's, the widest); `validate` narrows them to the
/// declared site.
const WIDEST: Option<Site> = Some(Site::China);

pub fn auto_renew_period(_: &mut SchemaGenerator) -> Schema {
    duration(duration_pattern(&[
        (counts(AUTO_RENEW_MONTHS), "month"),
        (counts(AUTO_RENEW_YEARS), "year"),
        (counts(auto_renew_weeks(WIDEST)), "week"),
    ]))
}

pub fn renew_period(_: &mut SchemaGenerator) -> Schema {
    duration(duration_pattern(&[
        (counts(renew_months(WIDEST)), "month"),
        (counts(&renew_years(WIDEST)), "year"),
        (counts(renew_weeks(WIDEST)), "week"),
    ]))
}

/// What the sites change (`ecs::site`): without `site: china`, the durations are those both
/// sites accept; a price limit is in the declared site's currency.
pub fn site_rules(schema: &mut Schema) {
    let auto_both = duration_pattern(&[
        (counts(AUTO_RENEW_MONTHS), "month"),
        (counts(AUTO_RENEW_YEARS), "year"),
    ]);
    let renew_both = duration_pattern(&[
        (counts(renew_months(None)), "month"),
        (counts(&renew_years(None)), "year"),
    ]);
    let site_is = |site: Site| json!({ "required": ["site"], "properties": { "site": { "const": site.name() } } });
    let currency = |site: Site| {
        json!({ "properties": { "limits": { "properties": { "currency": {
            "anyOf": [{ "type": "null" }, { "const": site.currency() }]
        } } } } })
    };
    schema.insert(
        "allOf".to_string(),
        json!([
            {
                "if": { "not": site_is(Site::China) },
                "then": { "properties": { "policies": { "items": { "properties": {
                    "auto_renew_period": { "pattern": auto_both },
                    "renew_period": { "pattern": renew_both },
                } } } } }
            },
            { "if": site_is(Site::China), "then": currency(Site::China) },
            { "if": site_is(Site::International), "then": currency(Site::International) },
        ]),
    );
}

pub fn min_remaining(_: &mut SchemaGenerator) -> Schema {
    let (days, weeks, months, years) = MIN_REMAINING_AT_MOST;
    duration(duration_pattern(&[
        (format!("0*(?:{})", one_to(days)), "day"),
        (format!("0*(?:{})", one_to(weeks)), "week"),
        (format!("0*(?:{})", one_to(months)), "month"),
        (format!("0*(?:{})", one_to(years)), "year"),
    ]))
}

/// A regular expression matching the decimal numbers 1 to `max` (no leading zeros).
fn one_to(max: u32) -> String {
    let digits: Vec<u32> = max
        .to_string()
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let len = digits.len();
    let mut alternatives = Vec::new();
    match len {
        0 | 1 => {}
        // Every number with fewer digits.
        2 => alternatives.push("[1-9]".to_string()),
        _ => alternatives.push(format!("[1-9][0-9]{{0,{}}}", len - 2)),
    }
    // Numbers of `len` digits below `max`: equal up to position i, smaller at i, anything after.
    for i in 0..len {
        let low = u32::from(i == 0);
        if digits[i] > low {
            let prefix: String = digits[..i].iter().map(u32::to_string).collect();
            let rest = len - i - 1;
            let tail = match rest {
                0 => String::new(),
                1 => "[0-9]".to_string(),
                _ => format!("[0-9]{{{rest}}}"),
            };
            let high = digits[i] - 1;
            let digit = if high == low {
                high.to_string()
            } else {
                format!("[{low}-{high}]")
            };
            alternatives.push(format!("{prefix}{digit}{tail}"));
        }
    }
    alternatives.push(max.to_string());
    alternatives.join("|")
}

pub fn protect_flag(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["boolean", "null"] })
}

pub fn max_renewals(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["integer", "null"], "minimum": 0 })
}

pub fn max_total_price(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["number", "null"],
        "minimum": 0,
        "maximum": MAX_UNITS as f64,
    })
}

pub fn windows(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["array", "null"],
        "minItems": 1,
        "uniqueItems": true,
        "items": { "type": "integer", "minimum": 1, "maximum": MAX_WATCH_DAYS },
    })
}

pub fn charges_within(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["integer", "null"], "minimum": 1, "maximum": MAX_WATCH_DAYS })
}

pub fn endpoints(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["object", "null"],
        "propertyNames": { "pattern": "^[a-z]{2,}(?:-[a-z0-9]+)+$" },
        "additionalProperties": { "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9.-]*$" },
    })
}

pub fn currency(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["string", "null"], "pattern": "^[A-Z]{3}$" })
}

/// A key that is present with a value of `kind` (not `~`).
fn given(key: &str, kind: &str) -> Value {
    json!({ "required": [key], "properties": { key: { "type": kind } } })
}

/// The rules between the limits: at least one limit, and a currency exactly when there is a
/// price limit.
pub fn limits_rules(schema: &mut Schema) {
    schema.insert(
        "anyOf".to_string(),
        json!([
            given("max_renewals", "integer"),
            given("max_total_price", "number")
        ]),
    );
    schema.insert(
        "allOf".to_string(),
        json!([
            { "if": given("max_total_price", "number"), "then": set("currency"), "else": unset("currency") },
        ]),
    );
}

/// A key that is present with a value (not `~`).
fn set(key: &str) -> Value {
    json!({ "required": [key], "properties": { key: { "type": "string" } } })
}

/// A key that is absent or `~`.
fn unset(key: &str) -> Value {
    json!({ "properties": { key: { "type": "null" } } })
}

/// The rules between a policy's keys (DESIGN.md §2).
pub fn policy_rules(schema: &mut Schema) {
    let renewal_is = |value: &str| json!({ "properties": { "renewal": { "const": value } } });
    schema.insert(
        "allOf".to_string(),
        json!([
            { "if": renewal_is("auto"), "then": set("auto_renew_period"), "else": unset("auto_renew_period") },
            { "if": renewal_is("never"), "then": unset("min_remaining") },
            { "if": set("renew_period"), "then": set("min_remaining") },
        ]),
    );
}

/// A match lists ids or tags, exactly one of the two.
pub fn selector_rules(schema: &mut Schema) {
    schema.insert(
        "oneOf".to_string(),
        json!([
            { "required": ["ids"], "properties": { "ids": { "type": "array" } } },
            { "required": ["tags"], "properties": { "tags": { "type": "object" } } },
        ]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_matches_exactly_the_numbers_up_to_its_bound() {
        for max in [1, 9, 10, 120, 521, 3653] {
            let re = regex::Regex::new(&format!("^(?:{})$", one_to(max))).expect("regex");
            for n in 0..=max + 200 {
                assert_eq!(
                    re.is_match(&n.to_string()),
                    (1..=max).contains(&n),
                    "{max}: {n}"
                );
            }
        }
    }

    #[test]
    fn duration_patterns_are_built_from_the_limits() {
        let p = duration_pattern(&[(counts(&[1, 12]), "month")]);
        assert_eq!(p, "^\\s*(?:0*(?:1|12)\\s+[Mm][Oo][Nn][Tt][Hh][Ss]?)\\s*$");
    }
}
