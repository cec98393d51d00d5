//! Desired state. Work in progress.
