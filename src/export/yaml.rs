//! Writes an export as renewal.yaml text a person will read and keep: a header saying what it is
//! and what it leaves out, one commented policy per group, instance names beside their ids.
//! Block style throughout, and every scalar that is not plainly a word is double-quoted, so no
//! tag value or name can change the structure. `renewctl export` parses its own output before
//! writing it.

use std::fmt::Write as _;

use super::{Export, Members, Setting};
use crate::desired::{Period, Renewal};

/// `value` as a YAML scalar: plain when it is a simple word the parser reads back as the same
/// string, double-quoted (JSON-style escapes) otherwise.
pub fn scalar(value: &str) -> String {
    let simple = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./@".contains(c))
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && matches!(
            serde_yaml::from_str::<serde_yaml::Value>(value),
            Ok(serde_yaml::Value::String(s)) if s == value
        );
    if simple {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // Control characters and the Unicode line breaks YAML would fold.
            c if c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text safe inside a `#` comment: one line, no control characters.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' || c == '\u{85}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The export as renewal.yaml.
pub fn to_yaml(export: &Export) -> String {
    let mut out = String::new();
    let filter = if export.filter.is_empty() {
        String::new()
    } else {
        let tags: Vec<String> = export
            .filter
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(" tagged {}", tags.join(", "))
    };
    let _ = writeln!(
        out,
        "# renewal.yaml written by `renewctl export` from the live state of {}{filter}\n\
         # in {}: `renewctl plan` with it makes no change.\n\
         #\n\
         # No policy has min_remaining: the live state cannot say when renewals should be bought.\n\
         # Add `min_remaining: 30 days` (and `renew_period` if not 1 month) to the policies whose\n\
         # instances renewctl should renew before they expire.\n\
         #\n\
         # Editor support: `renewctl schema > renewal.schema.json`, then put\n\
         # `# yaml-language-server: $schema=renewal.schema.json` on the first line.",
        plural(
            export.instances(),
            "subscription instance",
            "subscription instances"
        ),
        export.regions.join(", ")
    );
    if !export.left_out.is_empty() {
        let _ = writeln!(
            out,
            "#\n# Left out, so unmanaged (renewctl cannot declare their renewal):"
        );
        for (id, why) in &export.left_out {
            let _ = writeln!(out, "#   {id}: {}", comment(why));
        }
    }
    let _ = writeln!(out, "version: 1");
    if let Some(site) = export.site() {
        let _ = writeln!(
            out,
            "# Weekly auto-renewal exists on the China site only.\nsite: {site}"
        );
    }
    let _ = writeln!(out, "regions:");
    for region in &export.regions {
        let _ = writeln!(out, "  - {}", scalar(region));
    }
    if export.policies.is_empty() {
        let _ = writeln!(out, "policies: []");
        return out;
    }
    let _ = writeln!(out, "policies:");
    for policy in &export.policies {
        let count = plural(policy.count, "instance", "instances");
        let _ = match &policy.members {
            Members::Tags(_) => writeln!(
                out,
                "\n  # {count}: every subscription instance carrying these tags has this setting."
            ),
            Members::Ids(_) => writeln!(out, "\n  # {count}."),
        };
        let _ = writeln!(out, "  - name: {}", scalar(&policy.name));
        let _ = writeln!(out, "    match:");
        match &policy.members {
            Members::Tags(tags) => {
                let _ = writeln!(out, "      tags:");
                for (k, v) in tags {
                    let _ = writeln!(out, "        {}: {}", scalar(k), scalar(v));
                }
            }
            Members::Ids(ids) => {
                let _ = writeln!(out, "      ids:");
                for (region, id, name) in ids {
                    let label = if name.is_empty() {
                        region.clone()
                    } else {
                        format!("{name}, {region}")
                    };
                    let _ = writeln!(out, "        - {}  # {}", scalar(id), comment(&label));
                }
            }
        }
        let renewal = match policy.setting {
            Setting::Auto(..) => Renewal::Auto,
            Setting::Manual => Renewal::Manual,
            Setting::Never => Renewal::Never,
        };
        let _ = writeln!(out, "    renewal: {renewal}");
        if let Setting::Auto(unit, count) = policy.setting {
            let _ = writeln!(out, "    auto_renew_period: {}", Period::new(count, unit));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back_as_the_same_string() {
        for value in [
            "prod",
            "1.10",
            "true",
            "~",
            "",
            "a: b",
            "#x",
            "- x",
            "x # y",
            "é",
            "line\nbreak",
            "tab\there",
            "\"q\"",
            "back\\slash",
            "*",
            "&a",
            "!t",
            "null",
            "0x10",
            "u\u{2028}v",
            "i-bp1abc0000000001",
            "cn-hangzhou",
            "web-1",
        ] {
            let text = format!("k: {}\n", scalar(value));
            let back: std::collections::BTreeMap<String, String> =
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{value:?}: {e}"));
            assert_eq!(back["k"], value, "{text}");
        }
        assert_eq!(scalar("prod"), "prod");
        assert_eq!(scalar("1.10"), "\"1.10\"");
    }
}
