//! Reads the loaded tree into the model, leniently: every unknown key (with the nearest accepted
//! one), duplicate key, wrong type and missing key is reported at its place, and whatever reads
//! cleanly is kept so that the semantic checks can run on it too. A reader, not a judge: values
//! are checked by `validate`.
//!
//! Scalars are read the way the parser reads them into the model (a `String` field takes any
//! scalar as written, `~` means "absent" for an optional field), and the result is compared
//! with the model's own derived deserialization in `parse`, so the two cannot quietly drift.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::Error as ValueError;

use super::diagnostic::{Diagnostic, Target};
use super::fields::names;
use super::model::{
    DesiredState, EndpointType, Limits, Notify, Protection, Renewal, RenewalPolicy, Route,
    Selector, Sink, Watch,
};
use super::path::FieldPath;
use super::period::PeriodField;
use super::suggest::nearest;
use super::tree::{Kind, Node, Resolved};
use crate::ecs::Site;
use crate::money::Amount;

/// What could be read: every field that read cleanly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    pub version: Option<u32>,
    pub regions: Option<Vec<String>>,
    /// The policies that read cleanly, with their index in the file.
    pub policies: Vec<(usize, RenewalPolicy)>,
    /// `limits`, when given and read cleanly.
    pub limits: Option<Limits>,
    /// `protect`, when given and read cleanly.
    pub protect: Option<Protection>,
    /// `site`, `endpoint_type` and `endpoints`, when given and read cleanly.
    pub site: Option<Site>,
    pub endpoint_type: Option<EndpointType>,
    pub endpoints: Option<BTreeMap<String, String>>,
    /// `watch`, when given and read cleanly.
    pub watch: Option<Watch>,
    /// `notify`, when given and read cleanly.
    pub notify: Option<Notify>,
    /// False when anything could not be read (then `desired` is `None`).
    pub complete: bool,
}

impl Draft {
    /// The whole desired state, when everything read cleanly.
    pub fn desired(&self) -> Option<DesiredState> {
        if !self.complete {
            return None;
        }
        Some(DesiredState {
            version: self.version?,
            regions: self.regions.clone()?,
            policies: self.policies.iter().map(|(_, p)| p.clone()).collect(),
            limits: self.limits.clone(),
            protect: self.protect.clone(),
            site: self.site,
            endpoint_type: self.endpoint_type,
            endpoints: self.endpoints.clone(),
            watch: self.watch.clone(),
            notify: self.notify.clone(),
        })
    }
}

/// Reads `root`; the diagnostics are errors (each already placed).
pub fn read(root: &Node) -> (Draft, Vec<Diagnostic>) {
    let mut reader = Reader { out: Vec::new() };
    let draft = reader.document(root);
    let complete = reader.out.is_empty();
    (Draft { complete, ..draft }, reader.out)
}

struct Reader {
    out: Vec<Diagnostic>,
}

/// What a struct-like mapping is, for messages: "the file", "a policy", "a match".
struct Shape {
    what: &'static str,
    keys: &'static [&'static str],
}

impl Reader {
    /// Reports a problem with `node`. A scalar is placed here; a collection is left to the
    /// locator, which shows the key holding it rather than its first element.
    fn error(&mut self, node: &Node, path: &FieldPath, message: String, hint: impl Into<String>) {
        let mut d = Diagnostic::error(path.clone(), message, hint);
        if let Kind::Scalar(s) = &node.kind {
            d.span = s.span;
        }
        self.out.push(d);
    }

    /// YAML tags (`!foo`) carry no meaning in this format; the parser would quietly apply or
    /// drop them, so they are refused.
    fn untagged(&mut self, node: &Node, path: &FieldPath) -> bool {
        match &node.tag {
            None => true,
            Some(tag) => {
                self.error(
                    node,
                    path,
                    format!("the YAML tag `!{tag}` has no meaning here"),
                    "remove the tag",
                );
                false
            }
        }
    }

    /// The first value of each known key of a mapping; reports anything else.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &FieldPath,
        shape: &Shape,
    ) -> Option<BTreeMap<&'static str, &'n Node>> {
        if !self.untagged(node, path) {
            return None;
        }
        let Kind::Map(entries) = &node.kind else {
            self.error(
                node,
                path,
                format!(
                    "expected {} (a mapping with keys {}), found {}",
                    shape.what,
                    shape.keys.join(", "),
                    node.describe()
                ),
                "write `key: value` lines, indented under the parent",
            );
            return None;
        };
        let mut fields = BTreeMap::new();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for entry in entries {
            let Some(key) = entry.key.key_text() else {
                self.error(
                    &entry.key,
                    path,
                    format!(
                        "a key of {} must be a name, not {}",
                        shape.what,
                        entry.key.describe()
                    ),
                    format!("the keys are {}", shape.keys.join(", ")),
                );
                continue;
            };
            let occurrence = seen.entry(key).or_insert(0);
            *occurrence += 1;
            let key_path = path.key(key);
            if *occurrence > 1 {
                let mut d = Diagnostic::error(
                    key_path.clone(),
                    format!("duplicate key `{key}`"),
                    "each key may appear once in a mapping: remove one of them",
                )
                .label("written again here")
                .target(Target::KeyOccurrence(*occurrence - 1))
                .related(key_path, Target::Key, "first written here");
                d.span = entry.key.first_span();
                self.out.push(d);
                continue;
            }
            match shape.keys.iter().find(|&&k| k == key) {
                Some(&known) => {
                    fields.insert(known, &entry.value);
                }
                None => {
                    let hint = if key == "<<" {
                        "merge keys (`<<: *anchor`) are not supported: write the keys out".into()
                    } else {
                        match nearest(key, shape.keys) {
                            Some(near) => format!(
                                "did you mean `{near}`? {} takes {}",
                                capitalise(shape.what),
                                shape.keys.join(", ")
                            ),
                            None => {
                                format!("remove it; {} takes {}", shape.what, shape.keys.join(", "))
                            }
                        }
                    };
                    let mut d = Diagnostic::error(key_path, format!("unknown key `{key}`"), hint)
                        .label(format!("not a key of {}", shape.what))
                        .target(Target::Key);
                    d.span = entry.key.first_span();
                    self.out.push(d);
                }
            }
        }
        Some(fields)
    }

    fn required<'n>(
        &mut self,
        fields: &BTreeMap<&'static str, &'n Node>,
        node: &Node,
        path: &FieldPath,
        key: &str,
        hint: &str,
    ) -> Option<&'n Node> {
        let found = fields.get(key).copied();
        if found.is_none() {
            let mut d = Diagnostic::error(path.clone(), format!("missing key `{key}`"), hint)
                .label(format!("`{key}` belongs in this mapping"));
            d.span = node.first_span();
            self.out.push(d);
        }
        found
    }

    /// A required string field: missing → an error with `hint`.
    fn required_string(
        &mut self,
        fields: &BTreeMap<&'static str, &Node>,
        node: &Node,
        path: &FieldPath,
        (key, hint, what): (&str, &str, &str),
    ) -> Option<String> {
        self.required(fields, node, path, key, hint)
            .and_then(|n| self.string(n, &path.key(key), what))
    }

    /// An optional field read by `read`: `Some(None)` when absent or `~`, `None` on an error.
    fn optional<T>(
        &mut self,
        fields: &BTreeMap<&'static str, &Node>,
        path: &FieldPath,
        key: &str,
        read: impl FnOnce(&mut Self, &Node, &FieldPath) -> Option<T>,
    ) -> Option<Option<T>> {
        match fields.get(key) {
            None => Some(None),
            Some(n) if Self::is_null(n) => Some(None),
            Some(n) => read(self, n, &path.key(key)).map(Some),
        }
    }

    /// Any scalar, as text (how a `String` field reads it).
    fn string(&mut self, node: &Node, path: &FieldPath, what: &str) -> Option<String> {
        if !self.untagged(node, path) {
            return None;
        }
        match &node.kind {
            Kind::Scalar(s) => Some(s.text.clone()),
            _ => {
                self.error(
                    node,
                    path,
                    format!("expected {what}, found {}", node.describe()),
                    format!("write {what} on the same line as its key"),
                );
                None
            }
        }
    }

    fn strings(&mut self, node: &Node, path: &FieldPath, what: &str) -> Option<Vec<String>> {
        if !self.untagged(node, path) {
            return None;
        }
        let Kind::Seq(items) = &node.kind else {
            self.error(
                node,
                path,
                format!("expected a list of {what}s, found {}", node.describe()),
                format!("write a list: `[a, b]`, or one `- {what}` per line"),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.string(item, &path.index(i), what) {
                Some(text) => out.push(text),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A required list of mappings (`policies`, `sinks`), each read by `read`: the entries that
    /// read cleanly, with their index in the list. `(key, one, many)` name it in messages.
    fn entries<T>(
        &mut self,
        fields: &BTreeMap<&'static str, &Node>,
        node: &Node,
        path: &FieldPath,
        (key, one, many): (&str, &str, &str),
        read: impl Fn(&mut Self, &Node, &FieldPath) -> Option<T>,
    ) -> Vec<(usize, T)> {
        let mut out = Vec::new();
        let fix = format!("add `{key}:` with one `- name: …` entry per {one}");
        let Some(list) = self.required(fields, node, path, key, &fix) else {
            return out;
        };
        let at = path.key(key);
        match &list.kind {
            Kind::Seq(items) if self.untagged(list, &at) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(entry) = read(self, item, &at.index(i)) {
                        out.push((i, entry));
                    }
                }
            }
            Kind::Seq(_) => {}
            _ => self.error(
                list,
                &at,
                format!("expected a list of {many}, found {}", list.describe()),
                format!("write one `- name: …` entry per {one}"),
            ),
        }
        out
    }

    fn is_null(node: &Node) -> bool {
        node.tag.is_none() && matches!(&node.kind, Kind::Scalar(s) if s.resolved == Resolved::Null)
    }

    fn document(&mut self, root: &Node) -> Draft {
        let top = FieldPath::root();
        let shape = Shape {
            what: "the file",
            keys: names::<DesiredState>(),
        };
        let Some(fields) = self.fields(root, &top, &shape) else {
            return Draft::default();
        };
        let version = self
            .required(
                &fields,
                root,
                &top,
                "version",
                "start the file with `version: 1`",
            )
            .and_then(|node| self.version(node));
        let regions = self
            .required(
                &fields,
                root,
                &top,
                "regions",
                "list the regions to observe, e.g. `regions: [cn-hangzhou]`",
            )
            .and_then(|node| self.strings(node, &top.key("regions"), "region id"));
        let policies = self.entries(
            &fields,
            root,
            &top,
            ("policies", "policy", "policies"),
            Self::policy,
        );
        let limits = match fields.get("limits") {
            Some(node) if !Self::is_null(node) => self.limits(node, &top.key("limits")),
            _ => None,
        };
        let protect = match fields.get("protect") {
            Some(node) if !Self::is_null(node) => self.protection(node, &top.key("protect")),
            _ => None,
        };
        let site = match fields.get("site") {
            Some(node) if !Self::is_null(node) => self.choice(node, &top.key("site"), "a site"),
            _ => None,
        };
        let endpoint_type = match fields.get("endpoint_type") {
            Some(node) if !Self::is_null(node) => {
                self.choice(node, &top.key("endpoint_type"), "an endpoint type")
            }
            _ => None,
        };
        let endpoints = match fields.get("endpoints") {
            Some(node) if !Self::is_null(node) => {
                self.string_map(node, &top.key("endpoints"), &ENDPOINT_WORDS)
            }
            _ => None,
        };
        let watch = match fields.get("watch") {
            Some(node) if !Self::is_null(node) => self.watch(node, &top.key("watch")),
            _ => None,
        };
        let notify = match fields.get("notify") {
            Some(node) if !Self::is_null(node) => self.notify(node, &top.key("notify")),
            _ => None,
        };
        Draft {
            version,
            regions,
            policies,
            limits,
            protect,
            site,
            endpoint_type,
            endpoints,
            watch,
            notify,
            complete: true,
        }
    }

    /// `limits:`; the values are judged by `validate`.
    fn limits(&mut self, node: &Node, path: &FieldPath) -> Option<Limits> {
        let shape = Shape {
            what: "`limits`",
            keys: names::<Limits>(),
        };
        let errors_before = self.out.len();
        let fields = self.fields(node, path, &shape)?;
        let optional = |reader: &mut Self, key: &str| -> Option<Option<&Node>> {
            match fields.get(key) {
                None => Some(None),
                Some(n) if Self::is_null(n) => Some(None),
                Some(n) => reader.untagged(n, &path.key(key)).then_some(Some(*n)),
            }
        };
        let max_renewals = optional(self, "max_renewals")
            .map(|n| n.and_then(|n| self.count(n, &path.key("max_renewals"))));
        let max_total_price = optional(self, "max_total_price")
            .map(|n| n.and_then(|n| self.amount(n, &path.key("max_total_price"))));
        let currency = optional(self, "currency")
            .map(|n| n.and_then(|n| self.string(n, &path.key("currency"), "a currency code")));
        if self.out.len() > errors_before {
            return None;
        }
        Some(Limits {
            max_renewals: max_renewals?,
            max_total_price: max_total_price?,
            currency: currency?,
        })
    }

    /// `watch:`; the values are judged by `validate`.
    fn watch(&mut self, node: &Node, path: &FieldPath) -> Option<Watch> {
        let shape = Shape {
            what: "`watch`",
            keys: names::<Watch>(),
        };
        let errors_before = self.out.len();
        let fields = self.fields(node, path, &shape)?;
        let windows = self.optional(&fields, path, "windows", Self::days_list);
        let charges_within = self.optional(&fields, path, "charges_within", Self::days);
        if self.out.len() > errors_before {
            return None;
        }
        Some(Watch {
            windows: windows?,
            charges_within: charges_within?,
        })
    }

    /// `notify:`: when, and the sinks.
    fn notify(&mut self, node: &Node, path: &FieldPath) -> Option<Notify> {
        let shape = Shape {
            what: "`notify`",
            keys: names::<Notify>(),
        };
        let errors_before = self.out.len();
        let fields = self.fields(node, path, &shape)?;
        let when = match fields.get("when") {
            None => Some(None),
            Some(n) if Self::is_null(n) => Some(None),
            Some(n) => self
                .choice(n, &path.key("when"), "a time to send")
                .map(Some),
        };
        let sinks = self
            .entries(&fields, node, path, ("sinks", "sink", "sinks"), Self::sink)
            .into_iter()
            .map(|(_, sink)| sink)
            .collect();
        if self.out.len() > errors_before {
            return None;
        }
        Some(Notify { when: when?, sinks })
    }

    fn sink(&mut self, node: &Node, path: &FieldPath) -> Option<Sink> {
        let shape = Shape {
            what: "a sink",
            keys: names::<Sink>(),
        };
        let errors_before = self.out.len();
        let fields = self.fields(node, path, &shape)?;
        let name = self.required_string(
            &fields,
            node,
            path,
            ("name", "give the sink a unique `name:`", "a sink name"),
        );
        let kind = self
            .required(
                &fields,
                node,
                path,
                "type",
                "add `type: dingtalk` (or feishu, lark, wecom, slack, webhook)",
            )
            .and_then(|n| self.choice(n, &path.key("type"), "a sink type"));
        let env = "an environment variable name";
        let url_env = self.required_string(
            &fields,
            node,
            path,
            (
                "url_env",
                "add `url_env: NAME`, the environment variable holding the webhook URL",
                env,
            ),
        );
        let secret_env = self.optional(&fields, path, "secret_env", |r, n, p| r.string(n, p, env));
        let route = self.optional(&fields, path, "route", Self::route);
        let shape = self.optional(&fields, path, "shape", |r, n, p| {
            r.choice(n, p, "a webhook shape")
        });
        if self.out.len() > errors_before {
            return None;
        }
        Some(Sink {
            name: name?,
            kind: kind?,
            url_env: url_env?,
            secret_env: secret_env?,
            route: route?,
            shape: shape?,
        })
    }

    fn route(&mut self, node: &Node, path: &FieldPath) -> Option<Route> {
        let shape = Shape {
            what: "a route",
            keys: names::<Route>(),
        };
        let errors_before = self.out.len();
        let fields = self.fields(node, path, &shape)?;
        let tag = self.required_string(
            &fields,
            node,
            path,
            (
                "tag",
                "add `tag: team`, the tag key to route by",
                "a tag key",
            ),
        );
        let values = self
            .required(
                &fields,
                node,
                path,
                "values",
                "add `values: [payments]`, the tag values this sink hears about",
            )
            .and_then(|n| self.strings(n, &path.key("values"), "tag value"));
        if self.out.len() > errors_before {
            return None;
        }
        Some(Route {
            tag: tag?,
            values: values?,
        })
    }

    /// A list of day counts: `[30, 14, 7]`.
    fn days_list(&mut self, node: &Node, path: &FieldPath) -> Option<Vec<u32>> {
        let Kind::Seq(items) = &node.kind else {
            self.error(
                node,
                path,
                format!("expected a list of days, found {}", node.describe()),
                "write the windows in days, e.g. `windows: [30, 14, 7, 3, 1]`",
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.days(item, &path.index(i)) {
                Some(d) => out.push(d),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A number of days (how a `u32` field reads it).
    fn days(&mut self, node: &Node, path: &FieldPath) -> Option<u32> {
        let number = match &node.kind {
            Kind::Scalar(s) => match s.resolved {
                Resolved::Int(n) => u32::try_from(n).ok(),
                _ => None,
            },
            _ => None,
        };
        if number.is_none() {
            self.error(
                node,
                path,
                format!("expected a number of days, found {}", node.describe()),
                "write a whole number of days such as `30`",
            );
        }
        number
    }

    /// A whole number of at least 0 (how a `u64` field reads it).
    fn count(&mut self, node: &Node, path: &FieldPath) -> Option<u64> {
        let number = match &node.kind {
            Kind::Scalar(s) => match s.resolved {
                Resolved::Int(n) => u64::try_from(n).ok(),
                _ => None,
            },
            _ => None,
        };
        if number.is_none() {
            self.error(
                node,
                path,
                format!(
                    "expected a whole number of 0 or more, found {}",
                    node.describe()
                ),
                "write a number such as `20`",
            );
        }
        number
    }

    /// An amount of money: a YAML number, read as the model's `Amount` reads it.
    fn amount(&mut self, node: &Node, path: &FieldPath) -> Option<Amount> {
        let read = match &node.kind {
            Kind::Scalar(s) => match s.resolved {
                Resolved::Int(n) => Some(Amount::from_integer(n)),
                // YAML 1.2 floats the Rust parser does not spell (`.inf`, `.nan`) are not
                // amounts either.
                Resolved::Float => Some(
                    s.text
                        .parse::<f64>()
                        .map_err(|_| format!("{} is not an amount", s.text))
                        .and_then(Amount::from_f64),
                ),
                _ => None,
            },
            _ => None,
        };
        match read {
            Some(Ok(amount)) => Some(amount),
            Some(Err(why)) => {
                self.error(
                    node,
                    path,
                    why,
                    "write an amount such as `5000` or `1250.50`",
                );
                None
            }
            None => {
                self.error(
                    node,
                    path,
                    format!("expected an amount (a number), found {}", node.describe()),
                    "write an amount such as `5000` or `1250.50`, without quotes or currency",
                );
                None
            }
        }
    }

    /// `protect:` at the top: the tags that protect an instance.
    fn protection(&mut self, node: &Node, path: &FieldPath) -> Option<Protection> {
        let shape = Shape {
            what: "a protection rule",
            keys: names::<Protection>(),
        };
        let errors_before = self.out.len();
        let fields = self.fields(node, path, &shape)?;
        let tags = self
            .required(
                &fields,
                node,
                path,
                "tags",
                "add `tags: {protect: renewal}`: the tags that protect an instance",
            )
            .and_then(|n| self.tags(n, &path.key("tags")));
        if self.out.len() > errors_before {
            return None;
        }
        Some(Protection { tags: tags? })
    }

    /// `true` or `false` (`~` means absent).
    fn flag(&mut self, node: &Node, path: &FieldPath) -> Option<Option<bool>> {
        if Self::is_null(node) {
            return Some(None);
        }
        if !self.untagged(node, path) {
            return None;
        }
        if let Kind::Scalar(s) = &node.kind
            && let Resolved::Bool(b) = s.resolved
        {
            return Some(Some(b));
        }
        self.error(
            node,
            path,
            format!("expected `true` or `false`, found {}", node.describe()),
            "write `protect: true` (YAML 1.2: `yes` is a string, not a boolean)",
        );
        None
    }

    fn version(&mut self, node: &Node) -> Option<u32> {
        let path = FieldPath::root().key("version");
        if !self.untagged(node, &path) {
            return None;
        }
        let number = match &node.kind {
            Kind::Scalar(s) => match s.resolved {
                Resolved::Int(n) => u32::try_from(n).ok(),
                _ => None,
            },
            _ => None,
        };
        if number.is_none() {
            self.error(
                node,
                &path,
                format!(
                    "expected the format version, a number, found {}",
                    node.describe()
                ),
                "write `version: 1`",
            );
        }
        number
    }

    fn policy(&mut self, node: &Node, path: &FieldPath) -> Option<RenewalPolicy> {
        let shape = Shape {
            what: "a policy",
            keys: names::<RenewalPolicy>(),
        };
        let errors_before = self.out.len();
        let fields = self.fields(node, path, &shape)?;
        let name = self
            .required(
                &fields,
                node,
                path,
                "name",
                "give the policy a unique `name:`",
            )
            .and_then(|n| self.string(n, &path.key("name"), "a policy name"));
        let selector = self
            .required(
                &fields,
                node,
                path,
                "match",
                "add `match: {tags: {key: value}}` or `match: {ids: [i-…]}`",
            )
            .and_then(|n| self.selector(n, &path.key("match")));
        let renewal = self
            .required(
                &fields,
                node,
                path,
                "renewal",
                "add `renewal: auto`, `renewal: manual` or `renewal: never`",
            )
            .and_then(|n| self.renewal(n, &path.key("renewal")));
        let mut period = |key: &str| match fields.get(key) {
            None => Some(None),
            Some(n) => self.period(n, &path.key(key)),
        };
        let auto_renew_period = period("auto_renew_period");
        let min_remaining = period("min_remaining");
        let renew_period = period("renew_period");
        let protect = match fields.get("protect") {
            None => Some(None),
            Some(n) => self.flag(n, &path.key("protect")),
        };
        if self.out.len() > errors_before {
            return None;
        }
        Some(RenewalPolicy {
            name: name?,
            selector: selector?,
            renewal: renewal?,
            auto_renew_period: auto_renew_period?,
            min_remaining: min_remaining?,
            renew_period: renew_period?,
            protect: protect?,
        })
    }

    fn renewal(&mut self, node: &Node, path: &FieldPath) -> Option<Renewal> {
        self.choice(node, path, "a renewal")
    }

    /// One of the variants of `T` (a unit enum of the model), with the nearest one suggested.
    fn choice<T: for<'de> Deserialize<'de>>(
        &mut self,
        node: &Node,
        path: &FieldPath,
        what: &str,
    ) -> Option<T> {
        let variants = names::<T>();
        let expected = variants
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = self.string(node, path, &format!("one of {expected}"))?;
        let parsed = T::deserialize(IntoDeserializer::<ValueError>::into_deserializer(
            text.as_str(),
        ));
        if parsed.is_err() {
            let hint = match nearest(&text, variants) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("use one of {expected}"),
            };
            self.error(
                node,
                path,
                format!("`{text}` is not {what}; expected one of {expected}"),
                hint,
            );
        }
        parsed.ok()
    }

    /// An optional duration: `~` (or nothing) means absent; a malformed one is kept for
    /// `validate`, which reports it with the accepted form.
    fn period(&mut self, node: &Node, path: &FieldPath) -> Option<Option<PeriodField>> {
        if Self::is_null(node) {
            return Some(None);
        }
        let text = self.string(node, path, "a duration such as `30 days`")?;
        let parsed = text.parse();
        Some(Some(PeriodField { text, parsed }))
    }

    fn selector(&mut self, node: &Node, path: &FieldPath) -> Option<Selector> {
        let shape = Shape {
            what: "a match",
            keys: names::<Selector>(),
        };
        let errors_before = self.out.len();
        let fields = self.fields(node, path, &shape)?;
        let ids = match fields.get("ids") {
            None => Some(None),
            Some(n) if Self::is_null(n) => Some(None),
            Some(n) => self.strings(n, &path.key("ids"), "instance id").map(Some),
        };
        let tags = match fields.get("tags") {
            None => Some(None),
            Some(n) => self.tags(n, &path.key("tags")).map(Some),
        };
        if self.out.len() > errors_before {
            return None;
        }
        Some(Selector {
            ids: ids?,
            tags: tags?,
        })
    }

    fn tags(&mut self, node: &Node, path: &FieldPath) -> Option<BTreeMap<String, String>> {
        self.string_map(node, path, &TAG_WORDS)
    }

    /// A mapping of strings to strings with no key twice.
    fn string_map(
        &mut self,
        node: &Node,
        path: &FieldPath,
        words: &MapWords,
    ) -> Option<BTreeMap<String, String>> {
        if !self.untagged(node, path) {
            return None;
        }
        let Kind::Map(entries) = &node.kind else {
            self.error(
                node,
                path,
                format!("expected {}, found {}", words.mapping, node.describe()),
                words.fix,
            );
            return None;
        };
        let mut tags = BTreeMap::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut ok = true;
        for entry in entries {
            let Some(key) = self.string(&entry.key, path, words.key) else {
                ok = false;
                continue;
            };
            let occurrence = seen.entry(key.clone()).or_insert(0);
            *occurrence += 1;
            let key_path = path.key(key.as_str());
            if *occurrence > 1 {
                let mut d = Diagnostic::error(
                    key_path.clone(),
                    format!("duplicate {} `{key}`", words.key.trim_start_matches("a ")),
                    words.once,
                )
                .label("written again here")
                .target(Target::KeyOccurrence(*occurrence - 1))
                .related(key_path, Target::Key, "first written here");
                d.span = entry.key.first_span();
                self.out.push(d);
                ok = false;
                continue;
            }
            match self.string(&entry.value, &key_path, words.value) {
                Some(value) => {
                    tags.insert(key, value);
                }
                None => ok = false,
            }
        }
        ok.then_some(tags)
    }
}

/// How a mapping of strings is named in messages.
struct MapWords {
    mapping: &'static str,
    key: &'static str,
    value: &'static str,
    fix: &'static str,
    /// Why a key may be written once.
    once: &'static str,
}

const TAG_WORDS: MapWords = MapWords {
    mapping: "a mapping of tag keys to values",
    key: "a tag key",
    value: "a tag value",
    fix: "write `tags: {env: prod}`, or one `key: value` per line",
    once: "each tag can be listed once: the parser would quietly keep the last one",
};

const ENDPOINT_WORDS: MapWords = MapWords {
    mapping: "a mapping of regions to endpoint hosts",
    key: "a region",
    value: "an endpoint host",
    fix: "write `endpoints: {cn-shanghai-finance-1: ecs.cn-shanghai-finance-1.aliyuncs.com}`",
    once: "each region can have one host: the parser would quietly keep the last one",
};

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
