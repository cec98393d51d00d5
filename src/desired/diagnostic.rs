//! A problem found in a config file: where (file, field path, line and column, the span to
//! underline), what, and how to fix it. Checks fill in the path; the locator (`locate`) fills in
//! the span afterwards, so no check needs to know where its field was written.

use std::fmt;

use super::path::FieldPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// A place in the source: 1-based line and column (in characters), and the byte range to
/// underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    pub len: usize,
}

/// Which part of the node at a path a diagnostic is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The value (for a mapping or a list: the key that holds it).
    Value,
    /// The key naming the node (unknown keys).
    Key,
    /// The `n`-th (0-based) occurrence of the path's last key in its mapping (duplicate keys).
    KeyOccurrence(usize),
}

/// A second place a diagnostic refers to ("first used here").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub path: FieldPath,
    pub target: Target,
    pub span: Option<Span>,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Field path such as `policies[2].min_remaining`; empty for the whole file.
    pub path: FieldPath,
    pub target: Target,
    /// Where it is written, when it could be found.
    pub span: Option<Span>,
    pub message: String,
    /// A few words under the underline; may be empty.
    pub label: String,
    /// One line saying how to fix it.
    pub hint: String,
    pub related: Vec<Related>,
}

impl Diagnostic {
    pub fn error(path: FieldPath, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path,
            target: Target::Value,
            span: None,
            message: message.into(),
            label: String::new(),
            hint: hint.into(),
            related: Vec::new(),
        }
    }

    pub fn warning(path: FieldPath, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(path, message, hint)
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    pub fn at_span(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn related(mut self, path: FieldPath, target: Target, label: impl Into<String>) -> Self {
        self.related.push(Related {
            path,
            target,
            span: None,
            label: label.into(),
        });
        self
    }

    /// Line and column, when known.
    pub fn location(&self) -> Option<(usize, usize)> {
        self.span.map(|s| (s.line, s.column))
    }

    /// `policies[0].match: the match is empty`: the path (when there is one) and the message.
    pub fn title(&self) -> String {
        if self.path.is_root() {
            self.message.clone()
        } else {
            format!("{}: {}", self.path, self.message)
        }
    }

    /// One line: `error: renewal.yaml:4:13: policies[0].match: …`.
    pub fn headline(&self, file: &str) -> String {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.location() {
            Some((line, column)) => format!("{label}: {file}:{line}:{column}: {}", self.title()),
            None => format!("{label}: {file}: {}", self.title()),
        }
    }
}

/// Problems found but not listed (beyond `MAX_DIAGNOSTICS`): counted, so that the verdict
/// stays true.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hidden {
    pub errors: usize,
    pub warnings: usize,
}

impl Hidden {
    pub fn of(diagnostics: &[Diagnostic]) -> Hidden {
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        Hidden {
            errors,
            warnings: diagnostics.len() - errors,
        }
    }

    /// `note: 1200 more problems are not shown: …`, when some are hidden.
    pub fn note(&self) -> Option<String> {
        let total = self.errors + self.warnings;
        (total > 0).then(|| {
            format!(
                "note: {total} more problem{} ({} error{}, {} warning{}) {} not shown: fix these and run renewctl validate again",
                if total == 1 { "" } else { "s" },
                self.errors,
                if self.errors == 1 { "" } else { "s" },
                self.warnings,
                if self.warnings == 1 { "" } else { "s" },
                if total == 1 { "is" } else { "are" },
            )
        })
    }
}

/// A config that cannot be used, with every problem found and the text they point into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// The file's text (invalid UTF-8 replaced), for snippets.
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
    pub hidden: Hidden,
}

impl ConfigError {
    /// Errors found, shown or not.
    pub fn errors(&self) -> usize {
        Hidden::of(&self.diagnostics).errors + self.hidden.errors
    }

    /// Warnings found, shown or not.
    pub fn warnings(&self) -> usize {
        Hidden::of(&self.diagnostics).warnings + self.hidden.warnings
    }

    /// `renewal.yaml is invalid: 3 errors; nothing was planned`.
    pub fn summary(&self) -> String {
        let errors = self.errors();
        format!(
            "{} is invalid: {errors} error{}; nothing was planned",
            self.file,
            if errors == 1 { "" } else { "s" }
        )
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = super::report::Report::new(&self.file, &self.source, false);
        for d in &self.diagnostics {
            writeln!(f, "{}", report.render(d))?;
        }
        if let Some(note) = self.hidden.note() {
            writeln!(f, "{note}")?;
        }
        f.write_str(&self.summary())
    }
}

impl std::error::Error for ConfigError {}
