//! Files of any command: reading a config file from disk, bounded in size (a `-c` pointed at a log
//! file or a device must not exhaust memory), and printing its diagnostics as rustc-style
//! snippets on stderr, in colour only on a terminal.

use std::io::Read;
use std::path::Path;

use anyhow::Context as _;

use crate::desired::report::Report;
use crate::desired::{Diagnostic, MAX_CONFIG_BYTES};

/// The file's bytes, reading at most one byte past the size limit so that `desired::parse`
/// can refuse an oversized file with its size in the message.
pub fn read_capped(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "cannot read {}: pass the desired-state file with -c FILE",
            path.display()
        )
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

/// Prints diagnostics to stderr, one snippet each.
pub fn eprint_diagnostics(file: &str, source: &str, diagnostics: &[Diagnostic]) {
    let report = Report::new(file, source, true);
    for d in diagnostics {
        anstream::eprintln!("{}", report.render(d));
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, then renames it, so a
/// reader (apply, the node exporter, a calendar server) never sees half a file. `what` names
/// the content in the error.
pub fn write_whole(path: &Path, bytes: &[u8], what: &str) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "renewctl".to_string());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::anyhow!("cannot write {what} to {}: {e}", path.display())
        })
}
