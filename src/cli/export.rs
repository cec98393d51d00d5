//! `renewctl export`: observes the subscription instances of some regions (optionally only
//! those carrying some tags), reads the auto-renew attribute of each, and writes the
//! renewal.yaml that declares exactly that (see `crate::export`). `--diff` shows how it differs
//! from the current file. The export parses its own output before showing or writing it.

use std::collections::BTreeMap;

use anstream::{eprintln, print};
use anyhow::{Context as _, bail};

use super::args::{ExportArgs, GlobalArgs};
use super::config_file::read_capped;
use super::context::{client_from_env, routing, site_override};
use crate::desired;
use crate::engine;
use crate::render::style::{ADD, BOLD, CHANGE, DIM, paint};

pub async fn export(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<u8> {
    let config_label = args.config.display().to_string();
    let current = if args.config.exists() {
        Some(read_capped(&args.config)?)
    } else {
        None
    };
    // The current file, when it reads: its regions (without --region) and its endpoints.
    let parsed = current
        .as_deref()
        .map(|bytes| desired::parse_for_site(bytes, &config_label, site_override(global)));
    let regions = if !args.regions.is_empty() {
        args.regions.clone()
    } else {
        match &parsed {
            None => bail!(
                "pass --region (there is no {config_label} to take the regions from; -c names \
                 another file)"
            ),
            Some(Ok(config)) => config.desired.regions.clone(),
            Some(Err(err)) => bail!(
                "{}; pass --region to export without it",
                err.summary().replace("; nothing was planned", "")
            ),
        }
    };
    // The export must validate: no region twice, and each one a region id.
    let mut regions_seen = std::collections::BTreeSet::new();
    let regions: Vec<String> = regions
        .into_iter()
        .filter(|r| regions_seen.insert(r.clone()))
        .collect();
    if let Some(bad) = regions.iter().find(|r| !desired::validate::is_region_id(r)) {
        bail!("{bad:?} is not a region id: use an ECS region id such as cn-hangzhou");
    }
    let filter: BTreeMap<String, String> = args.tags.iter().cloned().collect();

    let desired = parsed
        .as_ref()
        .and_then(|p| p.as_ref().ok())
        .map(|c| &c.desired);
    let client = client_from_env(global, routing(desired)).await?;
    let (exported, text) = engine::export::export(&client, regions, filter).await?;

    if args.diff {
        let old = current
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        print_diff(&old, &text, &config_label);
    }
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "Wrote {}: {} policies for {} instances{}.",
                path.display(),
                exported.policies.len(),
                exported.instances(),
                if exported.left_out.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} left out (listed in its header)",
                        exported.left_out.len()
                    )
                }
            );
        }
        None if !args.diff => print!("{text}"),
        None => {}
    }
    Ok(0)
}

/// A unified diff from the current file to the export, coloured on a terminal.
fn print_diff(old: &str, new: &str, label: &str) {
    let diff = similar::TextDiff::from_lines(old, new);
    if diff.ratio() == 1.0 {
        eprintln!("{label} already declares the live state: no difference.");
        return;
    }
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(label, "export")
        .to_string();
    for line in text.lines() {
        let styled = if line.starts_with("+++") || line.starts_with("---") {
            paint(BOLD, line)
        } else if line.starts_with('+') {
            paint(ADD, line)
        } else if line.starts_with('-') {
            paint(CHANGE, line)
        } else if line.starts_with("@@") {
            paint(DIM, line)
        } else {
            line.to_string()
        };
        anstream::println!("{styled}");
    }
}
