//! The document as the YAML parser read it, with the place of every scalar: the only way to get
//! value locations out of `serde_yaml` (yaml_serde), which keeps none after parsing.
//!
//! How: the parser stamps an error with the line and column of the node being deserialized when
//! the error is raised. So the loader deserializes every node with `deserialize_any` and, at
//! each scalar, hands the value over through a side slot and returns a marker error; the caller
//! reads the place off that error and carries on with the next key or element. A scalar is one
//! parser event, fully consumed before the error, so the parser stays in step. Containers are
//! visited normally. The result is one parse, with the parser's own semantics (aliases
//! followed, YAML 1.2 scalars resolved) and no second parser that could disagree with it.
//!
//! Aliases are expanded, so the loader counts nodes against a budget: a "billion laughs"
//! document is refused after a bounded amount of work instead of exhausting memory.

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

use super::diagnostic::Span;
use super::source::SourceMap;

/// How the parser resolved a scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i128),
    Float,
    Str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The value as the parser hands a `String` field: the string itself, or for a number,
    /// boolean or null the text as written (`0x10`, `true`, `~`).
    pub text: String,
    pub resolved: Resolved,
    pub span: Option<Span>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    /// A local tag such as `!foo` on the node, when written.
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

impl Node {
    /// Where the node starts: a scalar's own span; for a collection, its first scalar's.
    pub fn first_span(&self) -> Option<Span> {
        match &self.kind {
            Kind::Scalar(s) => s.span,
            Kind::Seq(items) => items.iter().find_map(Node::first_span),
            Kind::Map(entries) => entries
                .iter()
                .find_map(|e| e.key.first_span().or_else(|| e.value.first_span())),
        }
    }

    /// The key text when this node is a scalar (how the parser matches struct fields).
    pub fn key_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    /// What kind of node this is, for messages: "a string", "a list", …
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Scalar(s) => match s.resolved {
                Resolved::Null => "nothing (null)".to_string(),
                Resolved::Bool(b) => format!("the boolean `{b}`"),
                Resolved::Int(_) => format!("the number `{}`", s.text),
                Resolved::Float => format!("the number `{}`", s.text),
                Resolved::Str => format!("the string {:?}", s.text),
            },
            Kind::Seq(_) => "a list".to_string(),
            Kind::Map(_) => "a mapping".to_string(),
        }
    }
}

/// Why the document could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The parser refused it: syntax, tabs, several documents, too deep, unknown anchor.
    Syntax { message: String, span: Option<Span> },
    /// Aliases expand it beyond the node budget.
    TooManyNodes { budget: usize },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Syntax { message, .. } => f.write_str(message),
            LoadError::TooManyNodes { budget } => write!(
                f,
                "the document expands to more than {budget} values through aliases (`*name`)"
            ),
        }
    }
}

/// The marker error message; never shown to a user.
const MARK: &str = "\u{1}renewctl-scalar-mark\u{1}";
const OVER_BUDGET: &str = "\u{1}renewctl-over-budget\u{1}";

/// Twice as many nodes as any file of this size could hold without aliases (each node takes at
/// least a byte): room for anchors that share a few values, none for a document that doubles
/// itself level after level.
pub fn node_budget(source_len: usize) -> usize {
    source_len.saturating_mul(2).saturating_add(10_000)
}

/// Loads `source` into a tree, or says why it cannot be read.
pub fn load(source: &str) -> Result<Node, LoadError> {
    load_with_budget(source, node_budget(source.len()))
}

pub fn load_with_budget(source: &str, budget: usize) -> Result<Node, LoadError> {
    let map = SourceMap::new(source);
    let loader = Loader {
        map: &map,
        slot: RefCell::new(None),
        nodes: Cell::new(0),
        budget,
    };
    let deserializer = serde_yaml::Deserializer::from_str(source);
    let result = NodeSeed(&loader).deserialize(deserializer);
    match result {
        Ok(node) => Ok(node),
        Err(err) => {
            if let Some(node) = loader.take_scalar(&err) {
                return Ok(node);
            }
            if err.to_string().contains(OVER_BUDGET) || loader.over_budget() {
                return Err(LoadError::TooManyNodes { budget });
            }
            Err(syntax_error(&err, &map))
        }
    }
}

/// The parser's error as a message and a place (none when the parser gives none, or gives the
/// start of the document for an error that is not there).
fn syntax_error(err: &serde_yaml::Error, map: &SourceMap<'_>) -> LoadError {
    let message = without_places(&err.to_string());
    let span = err.location().map(|l| {
        let offset = l.index().min(map.text().len());
        // A word (`renewal`) is underlined whole; anything else by one character.
        let word: usize = map.text()[offset..]
            .chars()
            .take_while(|&c| c.is_alphanumeric() || c == '_' || c == '-')
            .map(char::len_utf8)
            .sum();
        map.span(offset, word.max(1))
    });
    LoadError::Syntax { message, span }
}

/// The parser's message without the " at line L column C" it writes into it (the place is
/// shown separately, and a second place may refer to the start of the enclosing node).
fn without_places(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest
        .find(" at line ")
        .or_else(|| rest.find(" at position "))
    {
        out.push_str(&rest[..at]);
        let after = &rest[at + 4..];
        let skip = after
            .char_indices()
            .find(|&(_, c)| c == ',')
            .map(|(i, _)| i)
            .unwrap_or(after.len());
        // Only skip a real place: words and numbers up to the next comma or the end.
        let place = &after[..skip];
        if place
            .split_whitespace()
            .all(|w| matches!(w, "line" | "column" | "position") || w.parse::<u64>().is_ok())
        {
            rest = &after[skip..];
        } else {
            out.push_str(&rest[at..at + 4]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

struct Loader<'m, 's> {
    map: &'m SourceMap<'s>,
    /// The scalar whose marker error is travelling up to the caller.
    slot: RefCell<Option<(String, Resolved)>>,
    nodes: Cell<usize>,
    budget: usize,
}

impl Loader<'_, '_> {
    fn over_budget(&self) -> bool {
        self.nodes.get() > self.budget
    }

    fn count<E: de::Error>(&self) -> Result<(), E> {
        self.nodes.set(self.nodes.get() + 1);
        if self.over_budget() {
            Err(E::custom(OVER_BUDGET))
        } else {
            Ok(())
        }
    }

    /// Parks a scalar and raises the marker error that will carry its place.
    fn park<E: de::Error>(&self, text: String, resolved: Resolved) -> Result<Node, E> {
        self.count::<E>()?;
        *self.slot.borrow_mut() = Some((text, resolved));
        Err(E::custom(MARK))
    }

    /// The parked scalar, placed where `err` says, if `err` is the marker.
    fn take_scalar<E: fmt::Display>(&self, err: &E) -> Option<Node> {
        let (text, resolved) = self.slot.borrow_mut().take()?;
        let shown = err.to_string();
        let place = shown.rsplit_once(MARK).map(|(_, place)| place.trim())?;
        // The parser prints no place for line 1, column 1.
        let offset = if place.is_empty() {
            0
        } else if let Some(rest) = place.strip_prefix("at line ") {
            let (line, column) = rest.split_once(" column ")?;
            self.map
                .offset(line.trim().parse().ok()?, column.trim().parse().ok()?)
        } else if let Some(rest) = place.strip_prefix("at position ") {
            rest.trim().parse().ok()?
        } else {
            return None;
        };
        let written = match resolved {
            Resolved::Str => Some(text.as_str()),
            _ => None,
        };
        let span = self.map.scalar_span(offset, written);
        let text = match resolved {
            Resolved::Str => text,
            // The parser gives a `String` field the text as written.
            _ => self.map.text()[span.offset..span.offset + span.len].to_string(),
        };
        Some(Node {
            kind: Kind::Scalar(Scalar {
                text,
                resolved,
                span: Some(span),
            }),
            tag: None,
        })
    }

    /// The node a child deserialization produced: a container, or a parked scalar.
    fn child<E: de::Error>(&self, result: Result<Node, E>) -> Result<Node, E> {
        self.next_child(result.map(Some))
            .and_then(|node| node.ok_or_else(|| E::custom("a value vanished")))
    }

    /// Like `child`, for the `Option` that sequence and mapping access return.
    fn next_child<E: de::Error>(&self, result: Result<Option<Node>, E>) -> Result<Option<Node>, E> {
        match result {
            Ok(node) => Ok(node),
            Err(err) => match self.take_scalar(&err) {
                Some(node) => Ok(Some(node)),
                None => Err(err),
            },
        }
    }
}

struct NodeSeed<'l, 'm, 's>(&'l Loader<'m, 's>);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_, '_> {
    type Value = Node;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor(self.0))
    }
}

struct NodeVisitor<'l, 'm, 's>(&'l Loader<'m, 's>);

impl<'de> Visitor<'de> for NodeVisitor<'_, '_, '_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        self.0.park(String::new(), Resolved::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.0.park(String::new(), Resolved::Int(i128::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.0.park(String::new(), Resolved::Int(i128::from(v)))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        self.0.park(String::new(), Resolved::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        self.0.park(
            String::new(),
            Resolved::Int(i128::try_from(v).unwrap_or(i128::MAX)),
        )
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        self.0.park(String::new(), Resolved::Float)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.0.park(v.to_string(), Resolved::Str)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        self.0.park(String::new(), Resolved::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        self.0.park(String::new(), Resolved::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        NodeSeed(self.0).deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        self.0.count::<A::Error>()?;
        let mut items = Vec::new();
        loop {
            match self.0.next_child(seq.next_element_seed(NodeSeed(self.0))) {
                Ok(Some(node)) => items.push(node),
                Ok(None) => break,
                Err(err) => return Err(err),
            }
        }
        Ok(Node {
            kind: Kind::Seq(items),
            tag: None,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        self.0.count::<A::Error>()?;
        let mut entries = Vec::new();
        loop {
            let key = match self.0.next_child(map.next_key_seed(NodeSeed(self.0))) {
                Ok(Some(key)) => key,
                Ok(None) => break,
                Err(err) => return Err(err),
            };
            let value = self.0.child(map.next_value_seed(NodeSeed(self.0)))?;
            entries.push(Entry { key, value });
        }
        Ok(Node {
            kind: Kind::Map(entries),
            tag: None,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        let (tag, variant): (String, _) = data.variant()?;
        let mut node = self
            .0
            .child(variant.newtype_variant_seed(NodeSeed(self.0)))?;
        node.tag = Some(tag);
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> &Scalar {
        match &node.kind {
            Kind::Scalar(s) => s,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    fn entries(node: &Node) -> &[Entry] {
        match &node.kind {
            Kind::Map(e) => e,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    #[test]
    fn every_scalar_has_its_place_and_duplicates_are_kept() {
        let text = "version: 1\nregions: [cn-hangzhou, 0x10]\nversion: '2'\n";
        let root = load(text).unwrap();
        let e = entries(&root);
        assert_eq!(e.len(), 3);
        let key = scalar(&e[2].key);
        assert_eq!((key.text.as_str(), key.span.unwrap().line), ("version", 3));
        let value = scalar(&e[2].value);
        assert_eq!(value.resolved, Resolved::Str);
        assert_eq!(value.span.unwrap().column, 10);
        let Kind::Seq(items) = &e[1].value.kind else {
            panic!()
        };
        let hex = scalar(&items[1]);
        assert_eq!(
            (hex.text.as_str(), hex.resolved),
            ("0x10", Resolved::Int(16))
        );
        assert_eq!(hex.span.unwrap().column, 24);
    }

    #[test]
    fn aliases_are_followed_and_bombs_stopped() {
        let root = load("a: &x {k: v}\nb: *x\n").unwrap();
        assert_eq!(entries(&root)[1].value, entries(&root)[0].value);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            bomb.push_str(&format!("a{i}: &a{i} ["));
            for _ in 0..10 {
                bomb.push_str(&format!("*a{}, ", i - 1));
            }
            bomb.push_str("]\n");
        }
        assert!(matches!(
            load(&bomb),
            Err(LoadError::TooManyNodes { .. } | LoadError::Syntax { .. })
        ));
    }

    #[test]
    fn syntax_errors_carry_the_parser_place() {
        let Err(LoadError::Syntax { message, span }) = load("a: 1\n\tb: 2\n") else {
            panic!("tab accepted")
        };
        assert_eq!(
            message,
            "found a tab character that violates indentation, while scanning a plain scalar"
        );
        assert_eq!(span.map(|s| (s.line, s.column)), Some((2, 1)));
    }
}
