//! Observe. Work in progress.
