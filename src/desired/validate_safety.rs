//! Semantic checks of the money-safety keys: `limits` (a limit that can be checked: a price
//! limit with its currency, nothing negative, at least one limit) and the top-level `protect`
//! rule (tags that can match). The per-policy `protect: true` needs no check beyond its type.

use super::diagnostic::{Diagnostic, Target};
use super::model::{Limits, Protection};
use super::path::FieldPath;
use super::read::Draft;
use crate::money::is_currency_code;

/// Every problem of `limits` and `protect`.
pub fn check(draft: &Draft) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(limits) = &draft.limits {
        check_limits(limits, &mut out);
    }
    if let Some(protect) = &draft.protect {
        check_protection(protect, &mut out);
    }
    out
}

fn check_limits(limits: &Limits, out: &mut Vec<Diagnostic>) {
    let at = |key: &str| FieldPath::root().key("limits").key(key);
    if limits.max_renewals.is_none() && limits.max_total_price.is_none() {
        out.push(
            Diagnostic::error(
                FieldPath::root().key("limits"),
                "limits sets no limit",
                "add `max_renewals: N` and/or `max_total_price: AMOUNT` with `currency: CNY`, or remove `limits`",
            )
            .label("limits nothing"),
        );
    }
    if let Some(price) = limits.max_total_price
        && price.is_negative()
    {
        out.push(
            Diagnostic::error(
                at("max_total_price"),
                format!("max_total_price is negative ({price})"),
                "give the most the renewals of one plan may cost, e.g. `5000`; 0 allows no paid renewal",
            )
            .label("below zero"),
        );
    }
    match (&limits.max_total_price, &limits.currency) {
        (Some(_), None) => out.push(
            Diagnostic::error(
                at("max_total_price"),
                "max_total_price needs its currency",
                "add `currency: CNY` (China site) or `currency: USD` (international site) under limits",
            )
            .label("in which currency?"),
        ),
        (None, Some(_)) => out.push(
            Diagnostic::error(
                at("currency"),
                "currency has no effect without max_total_price",
                "add `max_total_price: AMOUNT`, or remove currency",
            )
            .label("never used"),
        ),
        _ => {}
    }
    if let Some(currency) = &limits.currency
        && !is_currency_code(currency)
    {
        out.push(
            Diagnostic::error(
                at("currency"),
                format!("{currency:?} is not a currency code"),
                "write the code the API answers with: three capital letters such as CNY or USD",
            )
            .label("not a currency code"),
        );
    }
}

fn check_protection(protect: &Protection, out: &mut Vec<Diagnostic>) {
    let tags = FieldPath::root().key("protect").key("tags");
    if protect.tags.is_empty() {
        out.push(Diagnostic::error(
            tags.clone(),
            "the protection lists no tag (it would protect nothing)",
            "list the tags that protect an instance, e.g. `tags: {protect: renewal}`",
        ));
    }
    for key in protect.tags.keys() {
        if key.trim().is_empty() {
            out.push(
                Diagnostic::error(
                    tags.key(key.as_str()),
                    "a tag key is empty",
                    "tag keys are non-empty strings",
                )
                .target(Target::Key),
            );
        }
    }
}
