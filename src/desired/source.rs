//! Positions in the config text: byte offsets to 1-based line and column and back, counting
//! lines and columns the way the YAML parser does (line breaks are `\n`, `\r\n`, `\r`, NEL, LS
//! and PS; columns count characters), and the extent of the scalar that starts at an offset, so
//! that a snippet can underline all of `30 days` rather than its first character.

use std::collections::BTreeMap;

use super::diagnostic::Span;

/// Characters between two remembered byte offsets on a line that is not ASCII.
const CHECKPOINT: usize = 64;

/// The text of a config with its line starts, and for each line that is not ASCII the byte
/// offset of every 64th character: columns are characters, and a file may be one long line,
/// so converting must not walk the line from its start each time.
#[derive(Debug, Clone)]
pub struct SourceMap<'s> {
    text: &'s str,
    line_starts: Vec<usize>,
    /// Line index → byte offsets of characters 0, 64, 128, … of that line.
    checkpoints: BTreeMap<usize, Vec<usize>>,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

impl<'s> SourceMap<'s> {
    pub fn new(text: &'s str) -> SourceMap<'s> {
        let mut line_starts = vec![0];
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
                continue;
            }
            if is_break(c) {
                line_starts.push(i + c.len_utf8());
            }
        }
        let mut checkpoints = BTreeMap::new();
        for (index, &start) in line_starts.iter().enumerate() {
            let end = line_starts.get(index + 1).copied().unwrap_or(text.len());
            let line = &text[start..end];
            if !line.is_ascii() {
                let offsets = line
                    .char_indices()
                    .step_by(CHECKPOINT)
                    .map(|(i, _)| start + i)
                    .collect();
                checkpoints.insert(index, offsets);
            }
        }
        SourceMap {
            text,
            line_starts,
            checkpoints,
        }
    }

    pub fn text(&self) -> &'s str {
        self.text
    }

    /// The byte offset of 1-based `line` and `column` (characters), clamped to the line.
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let index = line.saturating_sub(1);
        let Some(&start) = self.line_starts.get(index) else {
            return self.text.len();
        };
        let end = self
            .line_starts
            .get(index + 1)
            .copied()
            .unwrap_or(self.text.len());
        let skip = column.saturating_sub(1);
        match self.checkpoints.get(&index) {
            None => (start + skip).min(end),
            Some(offsets) => {
                let k = (skip / CHECKPOINT).min(offsets.len().saturating_sub(1));
                let base = offsets.get(k).copied().unwrap_or(start);
                let rest = &self.text[base..end];
                base + rest
                    .char_indices()
                    .nth(skip - k * CHECKPOINT)
                    .map(|(i, _)| i)
                    .unwrap_or(rest.len())
            }
        }
    }

    /// 1-based line and column (characters) of a byte offset (clamped to a char boundary).
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = self.floor_boundary(offset);
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = match self.checkpoints.get(&(line - 1)) {
            None => offset - start,
            Some(offsets) => {
                let k = offsets.partition_point(|&o| o <= offset).saturating_sub(1);
                let base = offsets.get(k).copied().unwrap_or(start);
                k * CHECKPOINT + self.text[base..offset].chars().count()
            }
        };
        (line, column + 1)
    }

    fn floor_boundary(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// The byte range of 1-based `line` without its line break.
    pub fn line_range(&self, line: usize) -> (usize, usize) {
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let body = self.text[start..end].trim_end_matches(is_break);
        (start, start + body.len())
    }

    /// A span of `len` bytes at `offset`, kept inside the text (an error at the very end of
    /// the file gets an empty span there).
    pub fn span(&self, offset: usize, len: usize) -> Span {
        let offset = self.floor_boundary(offset);
        let end = self.floor_boundary(offset.saturating_add(len));
        let (line, column) = self.line_column(offset);
        Span {
            line,
            column,
            offset,
            len: end - offset,
        }
    }

    /// The span of the scalar written at `offset` (where the parser's mark points: before any
    /// `&anchor` or `!tag`). `text` is the scalar's value when it is a string, to measure plain
    /// scalars exactly. The span stays on one line.
    pub fn scalar_span(&self, offset: usize, text: Option<&str>) -> Span {
        let offset = self.floor_boundary(offset);
        let start = self.skip_properties(offset);
        let (_, line_end) = self.line_range(self.line_column(start).0);
        let line_end = line_end.max(start);
        let rest = &self.text[start..line_end];
        let len = match rest.chars().next() {
            Some('"') => quoted_len(rest, '"'),
            Some('\'') => quoted_len(rest, '\''),
            Some('|' | '>') => token_len(rest, false),
            Some(_) => match text {
                Some(text) if !text.is_empty() && rest.starts_with(text) => text.len(),
                Some(_) => plain_len(rest),
                None => token_len(rest, true),
            },
            None => 0,
        };
        self.span(start, len)
    }

    /// Past `&anchor` and `!tag` properties and the blanks after them.
    fn skip_properties(&self, mut at: usize) -> usize {
        loop {
            let rest = &self.text[at..];
            if !(rest.starts_with('&') || rest.starts_with('!')) {
                return at;
            }
            let word = rest
                .find(|c: char| c == ' ' || c == '\t' || is_break(c))
                .unwrap_or(rest.len());
            let after = &rest[word..];
            let blanks = after.len() - after.trim_start_matches([' ', '\t']).len();
            if blanks == 0 {
                return at + word;
            }
            at += word + blanks;
        }
    }
}

/// Length of a quoted scalar up to its closing quote (or the end of the line).
fn quoted_len(rest: &str, quote: char) -> usize {
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if quote == '"' && c == '\\' {
            chars.next();
        } else if c == quote {
            if quote == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                chars.next();
            } else {
                return i + c.len_utf8();
            }
        }
    }
    rest.len()
}

/// A plain scalar on one line: up to ` #` (a comment) or the end of the line.
fn plain_len(rest: &str) -> usize {
    let end = rest.find(" #").or_else(|| rest.find("\t#"));
    rest[..end.unwrap_or(rest.len())].trim_end().len()
}

/// A token without blanks (numbers, booleans, nulls, block indicators); in flow context it also
/// ends at `,`, `]` or `}`.
fn token_len(rest: &str, flow_aware: bool) -> usize {
    rest.find(|c: char| {
        c == ' ' || c == '\t' || c == '#' || (flow_aware && matches!(c, ',' | ']' | '}'))
    })
    .unwrap_or(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_round_trip_with_every_line_break() {
        let text = "a: 1\r\nbé: 2\rc: 3\u{2028}d: \"x y\" # c\n";
        let map = SourceMap::new(text);
        for (line, column, expect) in [(1, 1, "a"), (2, 1, "b"), (2, 3, ":"), (3, 4, "3")] {
            let offset = map.offset(line, column);
            assert!(text[offset..].starts_with(expect), "{line}:{column}");
            assert_eq!(map.line_column(offset), (line, column));
        }
        let d = map.offset(4, 4);
        assert_eq!(map.scalar_span(d, Some("x y")).len, 5);
    }

    #[test]
    fn long_lines_convert_both_ways_without_walking_them() {
        let line: String = (0..1000)
            .map(|i| if i % 7 == 0 { 'é' } else { 'a' })
            .collect();
        let text = format!("x\n{line}\nz");
        let map = SourceMap::new(&text);
        for column in [1, 63, 64, 65, 129, 700, 1000, 1001] {
            let offset = map.offset(2, column);
            assert_eq!(map.line_column(offset), (2, column), "column {column}");
            let expected: usize = 2 + line
                .chars()
                .take(column - 1)
                .map(char::len_utf8)
                .sum::<usize>();
            assert_eq!(offset, expected, "column {column}");
        }
        assert_eq!(map.offset(3, 1), text.len() - 1);
    }

    #[test]
    fn scalar_spans_cover_the_written_value() {
        let text = "k: &a !!str 30 days # why\nn: 0x10, m\nq: 'it''s' x\n";
        let map = SourceMap::new(text);
        let span = map.scalar_span(3, Some("30 days"));
        assert_eq!(&text[span.offset..span.offset + span.len], "30 days");
        assert_eq!((span.line, span.column), (1, 13));
        let span = map.scalar_span(map.offset(2, 4), None);
        assert_eq!(&text[span.offset..span.offset + span.len], "0x10");
        let span = map.scalar_span(map.offset(3, 4), Some("it's"));
        assert_eq!(&text[span.offset..span.offset + span.len], "'it''s'");
    }
}
