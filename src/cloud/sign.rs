//! Request signing. Work in progress.
