//! Apply. Work in progress.
