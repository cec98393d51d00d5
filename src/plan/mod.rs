//! Plans. Work in progress.
pub mod calls;
