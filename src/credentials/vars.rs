//! The environment as the credential links see it: a snapshot of name → value taken once, so a
//! test passes a map instead of touching the process environment, and so every link of one
//! resolution sees the same values. Blank values count as unset, the way the SDKs treat them.
//! `Debug` lists names only: values include secrets.

use std::collections::BTreeMap;
use std::fmt;

/// Variables by name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl Environment {
    /// The process environment (variables whose name or value is not UTF-8 are left out: none
    /// of the ones read here can be).
    pub fn from_process() -> Environment {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Environment {
        Environment {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, trimmed; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set, with its name (for messages that say which one was read).
    pub fn first(&self, names: &[&'static str]) -> Option<(&'static str, &str)> {
        names
            .iter()
            .find_map(|name| self.get(name).map(|value| (*name, value)))
    }

    /// Whether `name` is `true` (any case), the only value the SDKs read as on.
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_unset_and_debug_shows_no_value() {
        let env = Environment::from_pairs([("A", "  "), ("B", " x "), ("C", "TRUE")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.get("B"), Some("x"));
        assert_eq!(env.first(&["A", "B"]), Some(("B", "x")));
        assert!(env.is_true("C"));
        assert!(!env.is_true("B"));
        let debug = format!("{env:?}");
        assert!(debug.contains("\"B\"") && !debug.contains('x'), "{debug}");
    }
}
