//! Rendering. Work in progress.
