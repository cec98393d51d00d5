//! Renders diagnostics the way rustc does (annotate-snippets): the title with the field path,
//! `--> file:line:column`, the offending line with the value underlined, places it refers to,
//! and the fix as `= help:`. Plain or styled; whether styles reach the terminal is the writer's
//! business (anstream strips them when the output is not a terminal or NO_COLOR is set).
//!
//! A file may be one very long line: the snippet then shows a window around the underlined
//! text, so that rendering costs the same whatever the length of the line.

use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use super::diagnostic::{Diagnostic, Severity, Span};
use super::source::SourceMap;

/// Lines longer than this are shown as a window around the underlined text.
const LONG_EXCERPT: usize = 2_000;
/// Bytes of context on each side of the underlined text in such a window.
const WINDOW: usize = 160;

/// Where diagnostics point, and how to draw them.
pub struct Report<'a> {
    file: &'a str,
    map: SourceMap<'a>,
    styled: bool,
}

/// The text a snippet shows, its first line, and each span as a range into it.
struct Excerpt {
    text: String,
    first_line: usize,
    ranges: Vec<Range<usize>>,
    /// Set when the text is a window into a long line: the line, the real column, and the
    /// column the renderer shows (counted from the start of the window).
    origin: Option<(usize, usize, usize)>,
}

impl<'a> Report<'a> {
    pub fn new(file: &'a str, source: &'a str, styled: bool) -> Report<'a> {
        Report {
            file,
            map: SourceMap::new(source),
            styled,
        }
    }

    pub fn render(&self, d: &Diagnostic) -> String {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let text_len = self.map.text().len();
        let spans: Vec<(Span, &str, bool)> = d
            .span
            .map(|s| (s, d.label.as_str(), true))
            .into_iter()
            .chain(
                d.related
                    .iter()
                    .filter_map(|r| r.span.map(|s| (s, r.label.as_str(), false))),
            )
            .filter(|(s, _, _)| s.offset <= text_len)
            .collect();

        let mut group = Group::with_title(level.primary_title(d.title()));
        let excerpt = (d.span.is_some() && !spans.is_empty()).then(|| self.excerpt(&spans));
        match &excerpt {
            Some(excerpt) => {
                let mut snippet = Snippet::source(excerpt.text.as_str())
                    .line_start(excerpt.first_line)
                    .path(self.file)
                    .fold(true);
                for ((_, label, primary), range) in spans.iter().zip(&excerpt.ranges) {
                    let kind = if *primary {
                        AnnotationKind::Primary
                    } else {
                        AnnotationKind::Context
                    };
                    let annotation = kind.span(range.clone());
                    snippet = snippet.annotation(if label.is_empty() {
                        annotation
                    } else {
                        annotation.label(*label)
                    });
                }
                group = group.element(snippet);
            }
            None => {
                group = group.element(Origin::path(self.file));
            }
        }
        if !d.hint.is_empty() {
            group = group.element(Level::HELP.message(d.hint.as_str()));
        }
        let renderer = if self.styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let rendered = renderer.render(&[group]);
        match excerpt.and_then(|e| e.origin) {
            // The renderer counts the column from the start of the window; put the real one
            // in the `-->` line.
            Some((line, column, shown)) => rendered.replacen(
                &format!("{}:{line}:{shown}", self.file),
                &format!("{}:{line}:{column}", self.file),
                1,
            ),
            None => rendered,
        }
    }

    /// The lines holding `spans`, or a window of a long line around them.
    fn excerpt(&self, spans: &[(Span, &str, bool)]) -> Excerpt {
        let map = &self.map;
        let first = spans.iter().map(|(s, _, _)| s.line).min().unwrap_or(1);
        let last = spans.iter().map(|(s, _, _)| s.line).max().unwrap_or(first);
        let (mut start, _) = map.line_range(first);
        let (_, mut end) = map.line_range(last);
        let mut origin = None;
        if end - start > LONG_EXCERPT && first == last {
            let lo = spans
                .iter()
                .map(|(s, _, _)| s.offset)
                .min()
                .unwrap_or(start);
            let hi = spans
                .iter()
                .map(|(s, _, _)| s.offset + s.len)
                .max()
                .unwrap_or(lo);
            let window_start = floor(map.text(), lo.saturating_sub(WINDOW).max(start));
            let window_end = floor(map.text(), (hi + WINDOW).min(end));
            if window_end - window_start < end - start {
                start = window_start;
                end = window_end;
                if let Some((s, _, _)) = spans.first() {
                    let shown = map.text()[start..s.offset.max(start)].chars().count() + 1;
                    origin = Some((s.line, s.column, shown));
                }
            }
        }
        let text = map.text().get(start..end).unwrap_or_default();
        let ranges = spans
            .iter()
            .map(|(s, _, _)| {
                let from = s.offset.saturating_sub(start).min(text.len());
                // Stay on the span's own line: a snippet underlines one line per annotation.
                let (_, line_end) = map.line_range(s.line);
                let to = (s.offset + s.len)
                    .min(line_end)
                    .min(end)
                    .saturating_sub(start)
                    .max(from);
                // Spans come from the parser too: never cut a character.
                floor(text, from)..floor(text, to)
            })
            .collect();
        Excerpt {
            text: text.to_string(),
            first_line: first,
            ranges,
            origin,
        }
    }
}

/// `offset` moved back to a character boundary of `text`.
fn floor(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
