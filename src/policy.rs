//! Policy matching. Work in progress.
