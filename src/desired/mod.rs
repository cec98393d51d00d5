//! The desired state: the YAML file a team writes (DESIGN.md §2). Parsing and validation are
//! pure: bytes in, a `DesiredState` or every problem found out. Reading the file is the shell's
//! job.

pub mod diagnostic;
pub mod limits;
pub mod model;
pub mod period;
pub mod validate;

use sha2::{Digest, Sha256};

pub use diagnostic::{ConfigError, Diagnostic, Severity};
pub use model::{DesiredState, Renewal, RenewalPolicy, Selector};
pub use period::{Period, PeriodField, PeriodUnit};

/// A parsed, valid config with what a plan records about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub desired: DesiredState,
    /// `sha256:<hex>` of the file's bytes.
    pub digest: String,
    /// Warnings found (the file is still usable).
    pub warnings: Vec<Diagnostic>,
}

/// The digest recorded in plans: `sha256:` and the hex SHA-256 of the bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Parses and validates a config. `file` names it in diagnostics.
pub fn parse(bytes: &[u8], file: &str) -> Result<Config, ConfigError> {
    let fail = |diagnostics| ConfigError {
        file: file.to_string(),
        diagnostics,
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(fail(vec![Diagnostic::error(
            "",
            "the file is empty",
            "start with `version: 1`, `regions: [...]` and `policies: [...]` (see README.md)",
        )]));
    }
    let desired: DesiredState =
        serde_yaml::from_slice(bytes).map_err(|err| fail(vec![from_yaml_error(&err)]))?;
    let diagnostics = validate::validate(&desired);
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(fail(diagnostics));
    }
    Ok(Config {
        desired,
        digest: digest(bytes),
        warnings: diagnostics,
    })
}

/// Turns a parser error into a located diagnostic with a fix hint.
fn from_yaml_error(err: &serde_yaml::Error) -> Diagnostic {
    let text = err.to_string();
    // The parser appends " at line L column C"; the location is shown separately.
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text.clone(),
    };
    let (path, message) = match message.split_once(": ") {
        Some((path, rest)) if looks_like_path(path) => (path.to_string(), rest.to_string()),
        _ => (String::new(), message),
    };
    let hint = if message.starts_with("unknown field") {
        "remove the key or correct its spelling; the accepted keys are listed above"
    } else if message.starts_with("unknown variant") {
        "use one of the listed values"
    } else if message.starts_with("missing field") {
        "add the missing key"
    } else if message.starts_with("duplicate") {
        "each key may appear once in a mapping"
    } else if message.starts_with("invalid type") {
        "give the value the type shown"
    } else if message.contains("cannot start any token") {
        "YAML indents with spaces, never tabs"
    } else if message.contains("UTF-8") {
        "save the file as UTF-8"
    } else {
        "fix the YAML syntax at this place"
    };
    let location = err
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| (l.line(), l.column()));
    Diagnostic {
        location,
        ..Diagnostic::error(path, message, hint)
    }
}

fn looks_like_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.[]-".contains(&b))
}
