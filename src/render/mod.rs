//! Renderers of the plan and of the apply report: human text (Terraform-like, colour only on a
//! terminal) and JSON (the public plan contract). They read the same model and never decide
//! anything.

pub mod apply;
pub mod check;
pub mod events;
pub mod explain;
pub mod json;
pub mod markdown;
pub mod style;
pub mod text;

/// `1 renewal`, `3 renewals`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
