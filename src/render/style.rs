//! The colour vocabulary of the text output. Styles are applied unconditionally here; the
//! writer (anstream) strips them when the output is not a terminal or `NO_COLOR` is set.

use anstyle::{AnsiColor, Style};

pub const ADD: Style = AnsiColor::Green.on_default();
pub const CHANGE: Style = AnsiColor::Yellow.on_default();
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();

/// `text` wrapped in `style`.
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}
