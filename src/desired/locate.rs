//! Finds where a diagnostic's field path was written, by walking the loaded tree: the parser
//! keeps no value locations, but the tree has the place of every scalar. A collection is shown
//! by the key that holds it (`match:` for an empty match), or by its first key when it sits in
//! a list.

use super::diagnostic::{Diagnostic, Span, Target};
use super::path::{FieldPath, Segment};
use super::tree::{Kind, Node};

/// Fills in the span of `d` and of the places it refers to, where they can be found.
pub fn locate(root: &Node, d: &mut Diagnostic) {
    if d.span.is_none() {
        d.span = find(root, &d.path, d.target);
    }
    for related in &mut d.related {
        if related.span.is_none() {
            related.span = find(root, &related.path, related.target);
        }
    }
}

/// The span of `target` at `path`.
pub fn find(root: &Node, path: &FieldPath, target: Target) -> Option<Span> {
    match target {
        Target::Value => {
            let (node, key) = walk(root, path)?;
            match &node.kind {
                Kind::Scalar(s) => s.span.or(key),
                _ => key.or_else(|| node.first_span()),
            }
        }
        Target::Key => walk(root, path)?.1,
        Target::KeyOccurrence(n) => {
            let (parent, Segment::Key(key)) = path.split_last()? else {
                return None;
            };
            let (map, _) = walk(root, &parent)?;
            let Kind::Map(entries) = &map.kind else {
                return None;
            };
            entries
                .iter()
                .filter(|e| e.key.key_text() == Some(key.as_str()))
                .nth(n)
                .and_then(|e| e.key.first_span())
        }
    }
}

/// The node at `path` (first occurrence of each key) and the span of the key naming it.
fn walk<'n>(root: &'n Node, path: &FieldPath) -> Option<(&'n Node, Option<Span>)> {
    let mut node = root;
    let mut key_span = None;
    for segment in path.segments() {
        match (segment, &node.kind) {
            (Segment::Key(key), Kind::Map(entries)) => {
                let entry = entries
                    .iter()
                    .find(|e| e.key.key_text() == Some(key.as_str()))?;
                key_span = entry.key.first_span();
                node = &entry.value;
            }
            (Segment::Index(i), Kind::Seq(items)) => {
                node = items.get(*i)?;
                key_span = None;
            }
            _ => return None,
        }
    }
    Some((node, key_span))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::tree::load;

    #[test]
    fn paths_lead_back_to_where_they_were_written() {
        let text =
            "policies:\n  - name: a\n    match: {}\n    min_remaining: 3 fortnights\n    name: b\n";
        let root = load(text).unwrap();
        let at = |path: FieldPath, target| find(&root, &path, target).map(|s| (s.line, s.column));
        let policy = FieldPath::policy(0);
        assert_eq!(
            at(policy.key("min_remaining"), Target::Value),
            Some((4, 20))
        );
        assert_eq!(at(policy.key("match"), Target::Value), Some((3, 5)));
        assert_eq!(
            at(policy.key("name"), Target::KeyOccurrence(1)),
            Some((5, 5))
        );
        assert_eq!(at(policy.clone(), Target::Value), Some((2, 5)));
        assert_eq!(at(policy.key("nope"), Target::Value), None);
    }
}
