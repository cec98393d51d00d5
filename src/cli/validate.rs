//! `renewctl validate`: every problem of a renewal.yaml at once, as rustc-style snippets on
//! stderr, and a one-line verdict. Exit 0 when valid (warnings allowed), 1 otherwise.

use anstream::{eprintln, println};

use super::args::{ConfigArg, GlobalArgs};
use super::config_file::{eprint_diagnostics, read_capped};
use super::context::site_override;
use crate::desired::{self, Hidden};
use crate::render::plural;

pub fn validate(global: &GlobalArgs, args: &ConfigArg) -> anyhow::Result<u8> {
    let bytes = read_capped(&args.config)?;
    let label = args.config.display().to_string();
    match desired::parse_for_site(&bytes, &label, site_override(global)) {
        Ok(config) => {
            eprint_diagnostics(&label, &config.source, &config.warnings);
            let hidden = Hidden {
                errors: 0,
                warnings: config.hidden_warnings,
            };
            if let Some(note) = hidden.note() {
                eprintln!("{note}");
            }
            let count = config.warnings.len() + config.hidden_warnings;
            let warnings = if count == 0 {
                String::new()
            } else {
                format!(" ({})", plural(count, "warning", "warnings"))
            };
            println!(
                "{label} is valid{warnings}: {} over {}.",
                plural(config.desired.policies.len(), "policy", "policies"),
                plural(config.desired.regions.len(), "region", "regions"),
            );
            Ok(0)
        }
        Err(err) => {
            eprint_diagnostics(&label, &err.source, &err.diagnostics);
            if let Some(note) = err.hidden.note() {
                eprintln!("{note}");
            }
            let warnings = match err.warnings() {
                0 => String::new(),
                n => format!(", {}", plural(n, "warning", "warnings")),
            };
            eprintln!(
                "error: {label} is invalid: {}{warnings}",
                plural(err.errors(), "error", "errors")
            );
            Ok(1)
        }
    }
}
