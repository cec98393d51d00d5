//! A problem found in a config file: where (file, field path, line and column when the parser
//! knows them), what, and how to fix it.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Field path such as `policies[2].min_remaining`; empty for the whole file.
    pub path: String,
    /// 1-based line and column, when the parser reports them.
    pub location: Option<(usize, usize)>,
    pub message: String,
    /// One line saying how to fix it.
    pub hint: String,
}

impl Diagnostic {
    pub fn error(
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: path.into(),
            location: None,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn warning(
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(path, message, hint)
        }
    }

    /// Renders the diagnostic for `file`: `error: renewal.yaml:4:13: policies[0].match: …`
    /// followed by an indented hint line.
    pub fn render(&self, file: &str) -> String {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let place = match self.location {
            Some((line, column)) => format!("{file}:{line}:{column}"),
            None => file.to_string(),
        };
        let path = if self.path.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.path)
        };
        let mut out = format!("{label}: {place}: {path}{}", self.message);
        if !self.hint.is_empty() {
            out.push_str("\n  hint: ");
            out.push_str(&self.hint);
        }
        out
    }
}

/// A config that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        for d in &self.diagnostics {
            writeln!(f, "{}", d.render(&self.file))?;
        }
        write!(
            f,
            "{} is invalid: {errors} error{}; nothing was planned",
            self.file,
            if errors == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ConfigError {}
