//! The desired state: the YAML file a team writes (DESIGN.md §2). Parsing and validation are
//! pure: bytes in, a `DesiredState` or every problem found out, each placed in the file.
//! Reading the file is the shell's job.
//!
//! How a file is read (`parse`):
//! 1. refused outright when too large, empty, or not UTF-8 (with the line of the bad byte);
//! 2. loaded by the YAML parser into a tree that keeps the place of every scalar (`tree`);
//!    syntax errors, tabs and alias bombs stop here;
//! 3. read leniently into the model (`read`): unknown, duplicate, missing and mistyped keys,
//!    all of them;
//! 4. read again by the model's own derived `Deserialize`, which must agree (a safety net: the
//!    model is the single source of the format);
//! 5. checked for meaning (`validate`) on whatever read cleanly;
//! 6. every diagnostic placed (`locate`) and sorted by position.

pub mod diagnostic;
pub mod fields;
pub mod limits;
pub mod locate;
pub mod model;
pub mod overlap;
pub mod path;
pub mod period;
pub mod read;
pub mod report;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod tree;
pub mod validate;
pub mod validate_safety;

use sha2::{Digest, Sha256};

use crate::ecs::Site;

pub use diagnostic::{ConfigError, Diagnostic, Hidden, Severity, Span, Target};
pub use model::{
    DesiredState, EndpointType, Limits, Notify, NotifyWhen, Protection, Renewal, RenewalPolicy,
    Route, Selector, Sink, SinkKind, Watch, WebhookShape,
};
pub use path::FieldPath;
pub use period::{Period, PeriodField, PeriodUnit};

use source::SourceMap;
use tree::LoadError;

/// The largest config renewctl reads. A renewal.yaml exported from 100,000 instances is about
/// 4 MiB; anything much larger is the wrong file.
pub const MAX_CONFIG_BYTES: usize = 8 * 1024 * 1024;

/// Problems shown for one file; beyond this the rest are counted, not listed. No hand-written
/// file comes near it; a generated or truncated one could list millions.
pub const MAX_DIAGNOSTICS: usize = 200;

/// A parsed, valid config with what a plan records about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub desired: DesiredState,
    /// `sha256:<hex>` of the file's bytes.
    pub digest: String,
    /// Warnings found (the file is still usable), placed in the file.
    pub warnings: Vec<Diagnostic>,
    /// Warnings found beyond `MAX_DIAGNOSTICS`, not listed.
    pub hidden_warnings: usize,
    /// The file's text, for rendering the warnings.
    pub source: String,
}

/// The digest recorded in plans: `sha256:` and the hex SHA-256 of the bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Parses and validates a config. `file` names it in diagnostics.
pub fn parse(bytes: &[u8], file: &str) -> Result<Config, ConfigError> {
    parse_for_site(bytes, file, None)
}

/// A site given for one run (`--site`, `RENEWCTL_SITE`), and where it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteOverride {
    pub site: Site,
    pub given_by: &'static str,
}

/// Parses and validates a config for the site `site` gives, when given: the file's `site`, if
/// it declares one, must agree; the values are then checked against that site's rules.
pub fn parse_for_site(
    bytes: &[u8],
    file: &str,
    site: Option<SiteOverride>,
) -> Result<Config, ConfigError> {
    let fail = |source: String, diagnostics| ConfigError {
        file: file.to_string(),
        source,
        diagnostics,
        hidden: Hidden::default(),
    };
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(fail(
            String::new(),
            vec![Diagnostic::error(
                FieldPath::root(),
                format!(
                    "the file is larger than {} MiB, the most renewctl reads",
                    MAX_CONFIG_BYTES / (1024 * 1024)
                ),
                "check that -c names your renewal.yaml",
            )],
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let lossy = String::from_utf8_lossy(bytes).into_owned();
            let diagnostic = not_utf8(bytes, err.valid_up_to(), &lossy);
            return Err(fail(lossy, vec![diagnostic]));
        }
    };
    // A UTF-8 byte order mark means nothing, and yaml_serde 0.10.7 misreads a document that
    // starts with one as several documents: drop it (the digest still covers every byte).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(fail(
            text.to_string(),
            vec![Diagnostic::error(
                FieldPath::root(),
                "the file is empty",
                "start with `version: 1`, `regions: [...]` and `policies: [...]` (see README.md)",
            )],
        ));
    }
    let root = match tree::load(text) {
        Ok(root) => root,
        Err(err) => return Err(fail(text.to_string(), vec![load_error(&err, text)])),
    };

    let map = SourceMap::new(text);
    let (mut draft, mut diagnostics) = read::read(&root);
    let file_site = draft.site;
    if let Some(given) = site {
        match draft.site {
            Some(declared) if declared != given.site => diagnostics.push(
                Diagnostic::error(
                    FieldPath::root().key("site"),
                    format!(
                        "the file declares `site: {declared}`, and {} says {}",
                        given.given_by, given.site
                    ),
                    format!(
                        "the site is the account's: correct the file, or drop {}",
                        given.given_by
                    ),
                )
                .label("another site given for this run"),
            ),
            _ => draft.site = Some(given.site),
        }
    }
    let desired = match draft.desired() {
        Some(read) => match reconcile(
            DesiredState {
                site: file_site,
                ..read
            },
            serde_yaml::from_str::<DesiredState>(text),
            &map,
        ) {
            // The site given for the run is not in the text the model was read from.
            Ok(desired) => Some(DesiredState {
                site: draft.site,
                ..desired
            }),
            Err(d) => {
                diagnostics.push(*d);
                None
            }
        },
        None => None,
    };
    diagnostics.extend(validate::check(&draft));
    let hidden = diagnostics.split_off(diagnostics.len().min(MAX_DIAGNOSTICS));
    for d in &mut diagnostics {
        locate::locate(&root, d);
    }
    // Top to bottom, as the file reads; the sort is stable, so unplaced ones keep their order.
    diagnostics.sort_by_key(|d| {
        d.span
            .map(|s| (s.line, s.column))
            .unwrap_or((usize::MAX, 0))
    });
    let hidden = Hidden::of(&hidden);

    let has_errors = hidden.errors > 0 || diagnostics.iter().any(|d| d.severity == Severity::Error);
    match desired {
        Some(desired) if !has_errors => Ok(Config {
            desired,
            digest: digest(bytes),
            warnings: diagnostics,
            hidden_warnings: hidden.warnings,
            source: text.to_string(),
        }),
        _ => Err(ConfigError {
            hidden,
            ..fail(text.to_string(), diagnostics)
        }),
    }
}

/// The first byte that is not UTF-8, placed by line and column.
fn not_utf8(bytes: &[u8], valid_up_to: usize, lossy: &str) -> Diagnostic {
    // The valid prefix is identical in the lossy text, so the offset carries over.
    let map = SourceMap::new(lossy);
    let byte = bytes.get(valid_up_to).copied().unwrap_or(0);
    Diagnostic::error(
        FieldPath::root(),
        format!("the file is not UTF-8: byte 0x{byte:02x} at offset {valid_up_to}"),
        "save the file as UTF-8",
    )
    .label("not UTF-8")
    .at_span(map.span(valid_up_to, '\u{fffd}'.len_utf8()))
}

fn load_error(err: &LoadError, text: &str) -> Diagnostic {
    match err {
        LoadError::Syntax { message, span } => {
            let tab = span.is_some_and(|s| text.as_bytes().get(s.offset) == Some(&b'\t'));
            let is_several = message.contains("more than one document");
            let hint = if tab {
                "YAML indents with spaces, never tabs"
            } else if is_several {
                "keep one document per file: remove the `---` separators"
            } else if message.contains("recursion limit") {
                "the file nests too deeply; renewal.yaml needs four levels"
            } else if message.contains("repetition limit") {
                "anchors and aliases are fine for sharing a value; this expands far beyond any config"
            } else if message.contains("unknown anchor") {
                "define the anchor (`&name`) before its alias (`*name`)"
            } else {
                "fix the YAML syntax at this place"
            };
            let message = if message.contains("repetition limit") {
                "the document expands too much through aliases (`*name`)".to_string()
            } else {
                message.clone()
            };
            let mut d = Diagnostic::error(FieldPath::root(), message, hint);
            d.span = span.or_else(|| {
                is_several
                    .then(|| second_document(text))
                    .flatten()
                    .map(|offset| SourceMap::new(text).span(offset, 3))
            });
            d
        }
        LoadError::TooManyNodes { .. } => Diagnostic::error(
            FieldPath::root(),
            err.to_string(),
            "anchors and aliases are fine for sharing a value; this expands far beyond any config",
        ),
    }
}

/// Where the second document starts: the parser refuses it but says not where. A light scan:
/// the `---` marker that follows content (a leading `---` only opens the first document).
fn second_document(text: &str) -> Option<usize> {
    let mut offset = 0;
    let mut content = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end();
        let marker = body == "---" || body.starts_with("--- ");
        if marker && content {
            return Some(offset);
        }
        let trimmed = body.trim_start();
        if !marker && !trimmed.is_empty() && !trimmed.starts_with(['#', '%']) {
            content = true;
        }
        offset += line.len();
    }
    None
}

/// The model's own deserialization must agree with the lenient reader: the file is used only
/// when both read it, and read it the same.
fn reconcile(
    read: DesiredState,
    typed: Result<DesiredState, serde_yaml::Error>,
    map: &SourceMap<'_>,
) -> Result<DesiredState, Box<Diagnostic>> {
    match typed {
        Ok(typed) if typed == read => Ok(typed),
        Ok(_) => Err(Box::new(Diagnostic::error(
            FieldPath::root(),
            "renewctl read this file two ways and got two different results",
            "this is a bug in renewctl: please report it with the file",
        ))),
        Err(err) => Err(Box::new(from_yaml_error(&err, map))),
    }
}

/// A parser error from the model's own deserialization, with its place and a hint. Reached only
/// if the lenient reader missed something the model refuses.
fn from_yaml_error(err: &serde_yaml::Error, map: &SourceMap<'_>) -> Diagnostic {
    let text = err.to_string();
    // The parser appends " at line L column C"; the location is shown separately.
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text.clone(),
    };
    let message = match message.split_once(": ") {
        Some((path, rest)) if looks_like_path(path) => format!("{path}: {rest}"),
        _ => message,
    };
    // "duplicate field" errors are stamped with the start of the document, which is not where
    // they are: say nothing rather than point at the wrong line.
    let location = err
        .location()
        .filter(|l| l.line() > 0 && !message.contains("duplicate field"));
    let mut d = Diagnostic::error(
        FieldPath::root(),
        message,
        "correct the value at this place",
    );
    if let Some(l) = location {
        d.span = Some(map.span(l.index(), 1));
    }
    d
}

fn looks_like_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.[]-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(version: u32) -> DesiredState {
        DesiredState {
            version,
            ..DesiredState::new(vec!["cn-hangzhou".to_string()], Vec::new())
        }
    }

    #[test]
    fn the_two_readings_must_agree() {
        assert_eq!(
            reconcile(state(1), Ok(state(1)), &SourceMap::new("")),
            Ok(state(1))
        );
        let d = reconcile(state(1), Ok(state(2)), &SourceMap::new("")).unwrap_err();
        assert!(d.message.contains("two different results"), "{d:?}");
        let text = "version: x\nregions: []\npolicies: []\n";
        let typed = serde_yaml::from_str::<DesiredState>(text);
        let d = reconcile(state(1), typed, &SourceMap::new(text)).unwrap_err();
        assert_eq!(d.location(), Some((1, 10)));
        assert!(d.message.starts_with("version: invalid type"), "{d:?}");
    }

    #[test]
    fn the_parser_s_duplicate_field_place_is_not_shown() {
        // yaml_serde places this error at the start of the document, which is not where it is.
        let text = "version: 1\nregions: []\nversion: 1\npolicies: []\n";
        let typed = serde_yaml::from_str::<DesiredState>(text);
        let d = reconcile(state(1), typed, &SourceMap::new(text)).unwrap_err();
        assert!(d.message.contains("duplicate field `version`"), "{d:?}");
        assert_eq!(d.location(), None);
    }
}
