//! Semantic checks of what was read: everything the parser cannot see. Reports every problem at
//! once, each with its field path and a fix (the locator adds line and column); nothing is
//! planned from a file with errors. Runs on whatever read cleanly, so a type error in one policy
//! does not hide a duplicate name in another.

use std::collections::BTreeMap;

use super::diagnostic::{Diagnostic, Target};
use super::limits::{
    MAX_WATCH_DAYS, MIN_REMAINING_AT_MOST, NotAccepted, auto_renew_setting, renew_step,
};
use super::model::{DesiredState, Renewal, RenewalPolicy};
use super::overlap;
use super::path::FieldPath;
use super::period::{Period, PeriodField, PeriodUnit};
use super::read::Draft;
use super::validate_safety;
use crate::ecs::Site;

/// Looks like an ECS region id (`cn-hangzhou`, `ap-southeast-1`, `us-east-1`).
pub fn is_region_id(text: &str) -> bool {
    let mut parts = text.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| p.len() >= 2 && p.bytes().all(|b| b.is_ascii_lowercase()));
    let rest: Vec<&str> = parts.collect();
    first_ok
        && !rest.is_empty()
        && rest.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Looks like an ECS instance id (`i-` followed by lowercase letters and digits).
fn is_instance_id(text: &str) -> bool {
    text.strip_prefix("i-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Every semantic problem of a whole desired state, errors and warnings.
pub fn validate(desired: &DesiredState) -> Vec<Diagnostic> {
    check(&Draft {
        version: Some(desired.version),
        regions: Some(desired.regions.clone()),
        policies: desired.policies.iter().cloned().enumerate().collect(),
        limits: desired.limits.clone(),
        protect: desired.protect.clone(),
        site: desired.site,
        endpoint_type: desired.endpoint_type,
        endpoints: desired.endpoints.clone(),
        watch: desired.watch.clone(),
        notify: desired.notify.clone(),
        complete: true,
    })
}

/// Every semantic problem of what could be read.
pub fn check(draft: &Draft) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let top = FieldPath::root();

    if let Some(version) = draft.version
        && version != 1
    {
        out.push(
            Diagnostic::error(
                top.key("version"),
                format!("unsupported version {version}"),
                "this renewctl reads format version 1: write `version: 1`",
            )
            .label("only version 1 exists"),
        );
    }

    if let Some(regions) = &draft.regions {
        check_regions(regions, &mut out);
    }

    let policies = &draft.policies;
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    // Where each id was first listed: (policy index in the file, index in its ids).
    let mut id_owner: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, policy) in policies {
        let i = *i;
        let at = |field: &str| FieldPath::policy(i).at(field);

        if policy.name.trim().is_empty() {
            out.push(Diagnostic::error(
                at("name"),
                "the policy name is empty",
                "give every policy a unique name; plans show it",
            ));
        } else if let Some(first) = names.insert(policy.name.as_str(), i) {
            out.push(
                Diagnostic::error(
                    at("name"),
                    format!(
                        "policy name {:?} is already used by policies[{first}]",
                        policy.name
                    ),
                    "give every policy a unique name",
                )
                .label("used again here")
                .related(
                    FieldPath::policy(first).key("name"),
                    Target::Value,
                    "first used here",
                ),
            );
        }

        check_selector(policies, i, policy, &mut id_owner, &mut out);
        check_settings(i, policy, draft.site, &mut out);
    }

    check_site(draft, &mut out);
    check_watch(draft, &mut out);
    check_notify(draft, &mut out);

    out.extend(overlap::check(policies));
    out.extend(validate_safety::check(draft));
    out
}

fn check_regions(regions: &[String], out: &mut Vec<Diagnostic>) {
    let top = FieldPath::root();
    if regions.is_empty() {
        out.push(Diagnostic::error(
            top.key("regions"),
            "no region listed",
            "list the regions to observe, e.g. `regions: [cn-hangzhou]`",
        ));
    }
    let mut seen_regions: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, region) in regions.iter().enumerate() {
        let path = top.key("regions").index(i);
        if !is_region_id(region) {
            out.push(
                Diagnostic::error(
                    path,
                    format!("{region:?} is not a region id"),
                    "use an ECS region id such as cn-hangzhou or ap-southeast-1",
                )
                .label("not a region id"),
            );
        } else if let Some(&first) = seen_regions.get(region.as_str()) {
            out.push(
                Diagnostic::error(
                    path,
                    format!("region {region} is listed twice"),
                    "list each region once",
                )
                .label("listed again here")
                .related(
                    top.key("regions").index(first),
                    Target::Value,
                    "first listed here",
                ),
            );
        } else {
            seen_regions.insert(region.as_str(), i);
        }
    }
}

fn check_selector<'a>(
    policies: &'a [(usize, RenewalPolicy)],
    i: usize,
    policy: &'a RenewalPolicy,
    id_owner: &mut BTreeMap<&'a str, (usize, usize)>,
    out: &mut Vec<Diagnostic>,
) {
    let at = |field: &str| FieldPath::policy(i).at(field);
    match (&policy.selector.ids, &policy.selector.tags) {
        (None, None) => out.push(
            Diagnostic::error(
                at("match"),
                "the match is empty",
                "match instances by `ids: [i-…]` or by `tags: {key: value}`",
            )
            .label("matches no instance"),
        ),
        (Some(_), Some(_)) => out.push(Diagnostic::error(
            at("match"),
            "a policy matches by ids or by tags, not both",
            "split it into an ids policy and a tags policy (ids policies take precedence)",
        )),
        (Some(ids), None) => {
            if ids.is_empty() {
                out.push(Diagnostic::error(
                    at("match.ids"),
                    "the id list is empty",
                    "list at least one instance id, or remove the policy",
                ));
            }
            for (j, id) in ids.iter().enumerate() {
                let path = at("match.ids").index(j);
                if !is_instance_id(id) {
                    out.push(
                        Diagnostic::error(
                            path,
                            format!("{id:?} is not an instance id"),
                            "ECS instance ids look like i-bp1abc0000000001",
                        )
                        .label("not an instance id"),
                    );
                } else if let Some(&(owner, k)) = id_owner.get(id.as_str()) {
                    let other = if owner == i {
                        "this policy already lists it".to_string()
                    } else {
                        let name = policies
                            .iter()
                            .find(|(index, _)| *index == owner)
                            .map(|(_, p)| p.name.as_str())
                            .unwrap_or_default();
                        format!("policy {name:?} (policies[{owner}]) already lists it")
                    };
                    out.push(
                        Diagnostic::error(
                            path,
                            format!("instance {id} is listed twice: {other}"),
                            "list each instance id in one policy only",
                        )
                        .label("listed again here")
                        .related(
                            FieldPath::policy(owner).at("match.ids").index(k),
                            Target::Value,
                            "first listed here",
                        ),
                    );
                } else {
                    id_owner.insert(id.as_str(), (i, j));
                }
            }
        }
        (None, Some(tags)) => {
            if tags.is_empty() {
                out.push(Diagnostic::error(
                    at("match.tags"),
                    "the tag list is empty (it would match every instance)",
                    "list at least one tag, e.g. `tags: {env: prod}`",
                ));
            }
            for key in tags.keys() {
                if key.trim().is_empty() {
                    out.push(
                        Diagnostic::error(
                            at("match.tags").key(key.as_str()),
                            "a tag key is empty",
                            "tag keys are non-empty strings",
                        )
                        .target(Target::Key),
                    );
                }
            }
        }
    }
}

fn check_settings(i: usize, policy: &RenewalPolicy, site: Option<Site>, out: &mut Vec<Diagnostic>) {
    let at = |field: &str| FieldPath::policy(i).at(field);

    // Malformed durations first: each is reported once, with its path.
    let fields = [
        ("auto_renew_period", &policy.auto_renew_period),
        ("min_remaining", &policy.min_remaining),
        ("renew_period", &policy.renew_period),
    ];
    for (field, value) in fields {
        if let Some(PeriodField {
            parsed: Err(err), ..
        }) = value
        {
            out.push(
                Diagnostic::error(
                    at(field),
                    err.to_string(),
                    "durations are a whole number and a unit, e.g. `30 days`, `1 month`, `1 year`",
                )
                .label("not a duration"),
            );
        }
    }

    match (policy.renewal, &policy.auto_renew_period) {
        (Renewal::Auto, None) => out.push(
            Diagnostic::error(
                at("renewal"),
                "`renewal: auto` needs an auto_renew_period",
                "add e.g. `auto_renew_period: 1 month` (each automatic renewal's length)",
            )
            .label("auto-renews, but for how long?"),
        ),
        (Renewal::Auto, Some(field)) => {
            if let Some(period) = field.period()
                && let Err(why) = auto_renew_setting(period, site)
            {
                out.push(not_accepted(at("auto_renew_period"), period, &why));
            }
        }
        (other, Some(_)) => out.push(
            Diagnostic::error(
                at("auto_renew_period"),
                format!(
                    "auto_renew_period only applies to `renewal: auto`, not `renewal: {other}`"
                ),
                "remove it, or set `renewal: auto`",
            )
            .label("ignored by this renewal")
            .related(at("renewal"), Target::Value, "renewal set here"),
        ),
        (_, None) => {}
    }

    if policy.min_remaining.is_some() {
        if policy.renewal == Renewal::Never {
            out.push(
                Diagnostic::error(
                    at("min_remaining"),
                    "`renewal: never` contradicts min_remaining (it would renew an instance that must never be renewed)",
                    "remove min_remaining, or use `renewal: manual`",
                )
                .label("would renew")
                .related(at("renewal"), Target::Value, "never renewed"),
            );
        } else if policy.min_remaining().is_some_and(|min| min.count == 0) {
            out.push(Diagnostic::error(
                at("min_remaining"),
                "min_remaining is zero",
                "give a positive duration such as `30 days`, or remove it",
            ));
        } else if let Some(min) = policy
            .min_remaining()
            .filter(|min| longer_than_ten_years(*min))
        {
            out.push(
                Diagnostic::error(
                    at("min_remaining"),
                    format!(
                        "min_remaining {min} is longer than 10 years: the longest renewal ECS \
                         accepts is 60 months, so reaching it would take one renewal after \
                         another, one per apply"
                    ),
                    "give the time you want left before expiry, such as `30 days` (a unit \
                     mistyped as years?)",
                )
                .label("more than 10 years"),
            );
        }
    }

    if let Some(field) = &policy.renew_period {
        if policy.min_remaining.is_none() {
            out.push(
                Diagnostic::error(
                    at("renew_period"),
                    "renew_period has no effect without min_remaining",
                    "add min_remaining (when to renew), or remove renew_period",
                )
                .label("never used"),
            );
        } else if let Some(step) = field.period()
            && let Err(why) = renew_step(step, site)
        {
            out.push(not_accepted(at("renew_period"), step, &why));
        }
    }
}

/// A duration the API (or the declared site) does not accept.
fn not_accepted(at: FieldPath, period: Period, why: &NotAccepted) -> Diagnostic {
    Diagnostic::error(
        at,
        format!("{period} is not accepted: {}", why.why),
        why.fix.clone(),
    )
    .label(if why.china_only {
        "accepted by the China site only"
    } else {
        "not accepted by ECS"
    })
}

/// Whether `min` is longer than [`MIN_REMAINING_AT_MOST`].
fn longer_than_ten_years(min: Period) -> bool {
    let (days, weeks, months, years) = MIN_REMAINING_AT_MOST;
    let limit = match min.unit {
        PeriodUnit::Day => days,
        PeriodUnit::Week => weeks,
        PeriodUnit::Month => months,
        PeriodUnit::Year => years,
    };
    min.count > limit
}

/// `endpoints` name regions and hosts; a price limit's currency is the declared site's.
fn check_site(draft: &Draft, out: &mut Vec<Diagnostic>) {
    let top = FieldPath::root();
    for (region, host) in draft.endpoints.iter().flatten() {
        let at = top.key("endpoints").key(region.as_str());
        if !is_region_id(region) {
            out.push(
                Diagnostic::error(
                    at.clone(),
                    format!("{region:?} is not a region id"),
                    "use an ECS region id such as cn-shanghai-finance-1",
                )
                .target(Target::Key),
            );
        }
        if !is_host(host) {
            out.push(Diagnostic::error(
                at,
                format!("{host:?} is not a host name"),
                "write the host alone, e.g. ecs.cn-shanghai-finance-1.aliyuncs.com (no https://, port or path)",
            ));
        }
    }
    if let (Some(site), Some(limits)) = (draft.site, &draft.limits)
        && let Some(currency) = &limits.currency
        && !currency.eq_ignore_ascii_case(site.currency())
    {
        out.push(
            Diagnostic::error(
                top.key("limits").key("currency"),
                format!(
                    "{currency} is not the currency of {}: its prices are in {}",
                    site.label(),
                    site.currency()
                ),
                format!(
                    "write `currency: {}` (renewctl never converts currencies)",
                    site.currency()
                ),
            )
            .label("another site's currency"),
        );
    }
}

/// A plain DNS host name.
fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && !text.starts_with(['.', '-'])
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// `watch`: windows and horizon between 1 day and a year, no window twice.
fn check_watch(draft: &Draft, out: &mut Vec<Diagnostic>) {
    let Some(watch) = &draft.watch else {
        return;
    };
    let at = FieldPath::root().key("watch");
    let in_range = |d: u32| (1..=MAX_WATCH_DAYS).contains(&d);
    if let Some(windows) = &watch.windows {
        if windows.is_empty() {
            out.push(Diagnostic::error(
                at.key("windows"),
                "no window given",
                "list at least one window in days, e.g. `windows: [30, 7]`, or remove `windows`",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, &days) in windows.iter().enumerate() {
            if !in_range(days) {
                out.push(Diagnostic::error(
                    at.key("windows").index(i),
                    format!("{days} days is not a window renewctl watches"),
                    format!("write 1 to {MAX_WATCH_DAYS} days"),
                ));
            } else if !seen.insert(days) {
                out.push(Diagnostic::error(
                    at.key("windows").index(i),
                    format!("the window of {days} days is listed twice"),
                    "list each window once",
                ));
            }
        }
    }
    if let Some(days) = watch.charges_within
        && !in_range(days)
    {
        out.push(Diagnostic::error(
            at.key("charges_within"),
            format!("{days} days is not a horizon renewctl watches"),
            format!("write 1 to {MAX_WATCH_DAYS} days"),
        ));
    }
}

/// `notify`: at least one sink, unique names, environment variable names, routes with values;
/// a URL or secret written in the file instead of an environment variable's name is refused
/// (the file is committed; the token must not be).
fn check_notify(draft: &Draft, out: &mut Vec<Diagnostic>) {
    let Some(notify) = &draft.notify else {
        return;
    };
    let at = FieldPath::root().key("notify").key("sinks");
    if notify.sinks.is_empty() {
        out.push(Diagnostic::error(
            at.clone(),
            "no sink given",
            "add one `- name: …` entry per chat or webhook, or remove `notify`",
        ));
    }
    let env_name = |text: &str| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            && !text.starts_with(|c: char| c.is_ascii_digit())
    };
    let mut names = BTreeMap::new();
    for (i, sink) in notify.sinks.iter().enumerate() {
        let here = at.index(i);
        if sink.name.trim().is_empty() {
            out.push(Diagnostic::error(
                here.key("name"),
                "the sink name is empty",
                "give every sink a unique name; failures name it",
            ));
        } else if let Some(first) = names.insert(sink.name.as_str(), i) {
            out.push(Diagnostic::error(
                here.key("name"),
                format!(
                    "sink name {:?} is already used by sinks[{first}]",
                    sink.name
                ),
                "give every sink a unique name",
            ));
        }
        for (field, value) in [
            ("url_env", Some(&sink.url_env)),
            ("secret_env", sink.secret_env.as_ref()),
        ] {
            let Some(value) = value else { continue };
            if !env_name(value) {
                let looks_secret = value.contains("://") || value.len() > 40;
                out.push(Diagnostic::error(
                    here.key(field),
                    if looks_secret {
                        format!("{field} names an environment variable; this looks like the value itself")
                    } else {
                        format!("{value:?} is not an environment variable name")
                    },
                    format!(
                        "write the NAME of the variable (e.g. `{field}: {}`) and set it in the pipeline's secrets: a webhook URL or secret must never be committed",
                        if field == "url_env" { "OPS_CHAT_WEBHOOK" } else { "OPS_CHAT_SECRET" }
                    ),
                ));
            }
        }
        if sink.secret_env.is_some()
            && !matches!(
                sink.kind,
                super::model::SinkKind::Dingtalk
                    | super::model::SinkKind::Feishu
                    | super::model::SinkKind::Lark
            )
        {
            out.push(Diagnostic::error(
                here.key("secret_env"),
                "only DingTalk and Feishu/Lark bots sign their messages",
                "remove secret_env (WeCom and Slack webhooks carry their token in the URL)",
            ));
        }
        if sink.shape.is_some() && sink.kind != super::model::SinkKind::Webhook {
            out.push(Diagnostic::error(
                here.key("shape"),
                "only a webhook sink has a shape",
                "remove shape, or use `type: webhook`",
            ));
        }
        if let Some(route) = &sink.route
            && (route.tag.trim().is_empty() || route.values.is_empty())
        {
            out.push(Diagnostic::error(
                here.key("route"),
                "a route needs a tag key and at least one value",
                "write `route: {tag: team, values: [payments]}`",
            ));
        }
    }
}
