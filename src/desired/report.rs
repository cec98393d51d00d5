//! Renders diagnostics the way rustc does (annotate-snippets): the title with the field path,
//! `--> file:line:column`, the offending line with the value underlined, places it refers to,
//! and the fix as `= help:`. Plain or styled; whether styles reach the terminal is the writer's
//! business (anstream strips them when the output is not a terminal or NO_COLOR is set).

use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use super::diagnostic::{Diagnostic, Severity, Span};
use super::source::SourceMap;

/// Where diagnostics point, and how to draw them.
pub struct Report<'a> {
    pub file: &'a str,
    pub source: &'a str,
    pub styled: bool,
}

impl Report<'_> {
    pub fn render(&self, d: &Diagnostic) -> String {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = d.title();
        let map = SourceMap::new(self.source);
        let spans: Vec<(Span, &str, bool)> = d
            .span
            .map(|s| (s, d.label.as_str(), true))
            .into_iter()
            .chain(
                d.related
                    .iter()
                    .filter_map(|r| r.span.map(|s| (s, r.label.as_str(), false))),
            )
            .filter(|(s, _, _)| s.offset <= self.source.len())
            .collect();

        let mut group = Group::with_title(level.primary_title(title));
        let excerpt = (!spans.is_empty() && d.span.is_some()).then(|| excerpt(&map, &spans));
        match &excerpt {
            Some((text, first_line, ranges)) => {
                let mut snippet = Snippet::source(text.as_str())
                    .line_start(*first_line)
                    .path(self.file)
                    .fold(true);
                for ((_, label, primary), range) in spans.iter().zip(ranges) {
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
        renderer.render(&[group])
    }
}

/// The lines holding `spans`, where they start, and each span as a range into them.
fn excerpt(
    map: &SourceMap<'_>,
    spans: &[(Span, &str, bool)],
) -> (String, usize, Vec<Range<usize>>) {
    let first = spans.iter().map(|(s, _, _)| s.line).min().unwrap_or(1);
    let last = spans.iter().map(|(s, _, _)| s.line).max().unwrap_or(first);
    let (start, _) = map.line_range(first);
    let (_, end) = map.line_range(last);
    let text = map.text().get(start..end).unwrap_or_default();
    let ranges = spans
        .iter()
        .map(|(s, _, _)| {
            let from = s.offset.saturating_sub(start).min(text.len());
            // Stay on the span's own line: a snippet underlines one line per annotation.
            let (_, line_end) = map.line_range(s.line);
            let to = (s.offset + s.len)
                .min(line_end)
                .saturating_sub(start)
                .max(from);
            from..to
        })
        .collect();
    (text.to_string(), first, ranges)
}
