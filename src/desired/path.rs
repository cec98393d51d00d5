//! Field paths into a config (`policies[2].min_remaining`): how every diagnostic names its place,
//! and how the locator finds that place again in the source. Structured, so a tag key containing
//! dots (`app.kubernetes.io/name`) never turns into three path steps.

use std::fmt;

/// One step: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path from the document root; empty for the whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// This path followed by a key.
    pub fn key(&self, key: impl Into<String>) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        FieldPath(segments)
    }

    /// This path followed by a list index.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        FieldPath(segments)
    }

    /// `policies[i]`, the path most semantic checks start from.
    pub fn policy(index: usize) -> FieldPath {
        FieldPath::root().key("policies").index(index)
    }

    /// Follows a dotted suffix of plain keys, e.g. `at("match.tags")`.
    pub fn at(&self, dotted: &str) -> FieldPath {
        dotted
            .split('.')
            .filter(|k| !k.is_empty())
            .fold(self.clone(), |path, key| path.key(key))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The path without its last step, and that step.
    pub fn split_last(&self) -> Option<(FieldPath, &Segment)> {
        let (last, parent) = self.0.split_last()?;
        Some((FieldPath(parent.to_vec()), last))
    }
}

/// Keys that read unambiguously after a dot; anything else is quoted in brackets.
fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if is_plain_key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_the_docs_and_quotes_odd_keys() {
        assert_eq!(
            FieldPath::policy(2).key("min_remaining").to_string(),
            "policies[2].min_remaining"
        );
        assert_eq!(
            FieldPath::policy(0)
                .at("match.tags")
                .key("app.kubernetes.io/name")
                .to_string(),
            "policies[0].match.tags[\"app.kubernetes.io/name\"]"
        );
        assert_eq!(FieldPath::root().to_string(), "");
        assert_eq!(
            FieldPath::root().key("regions").index(1).to_string(),
            "regions[1]"
        );
    }
}
