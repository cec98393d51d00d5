//! The integration test binary. Modules:
//!
//! - `support`: fixtures shared by the tests (instances, configs, a fixed "now").
//! - `config`: parsing and validating renewal.yaml, one test per rule and per error class.
//! - `planner`: the pure planner, one table of cases per rule of DESIGN.md §2 and §5.

mod support;

mod config;
mod planner;
