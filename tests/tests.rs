//! The integration test binary. Modules:
//!
//! - `support`: fixtures shared by the tests (instances, configs, a fixed "now").
//! - `config`: parsing and validating renewal.yaml, one test per rule and per error class.
//! - `diagnostics`: the broken-config corpus and its recorded diagnostics (insta snapshots),
//!   warnings, and `renewctl validate` exit codes and limits.
//! - `planner`: the pure planner, one table of cases per rule of DESIGN.md §2 and §5.
//! - `client`: the real HTTP client against the emulator over loopback: every action, both
//!   signature schemes, every error path, retries and idempotent renewals.
//! - `emulator_wire`: the emulator against the exact bytes the official Python SDK sent.
//! - `emulator_http`: the emulator's faults, latency, stats endpoint, refusals, concurrency and
//!   the `renewctl emulator` command.
//! - `explain`: one instance's state, matching policies, governing policy and its part of the
//!   plan (identical to `plan`'s), against the emulator.
//! - `export`: `renewctl export` then `plan` makes no change: grouping and tag cover, a
//!   property over random fleets, the example fleet and 1,000 generated instances.
//! - `fuzz`: property tests: arbitrary bytes, token soup and YAML values never panic the
//!   parser; the lenient reader agrees with the model, and the schema with renewctl.
//! - `schema`: schemas/renewal.schema.json generated from the model, `renewctl schema`, and an
//!   independent validator (boon) on the examples and the broken corpus.
//! - `cli`: the binary end to end against the emulator: plan → apply → plan, exit codes,
//!   refusals, secrets.

mod support;

mod cli;
mod client;
mod config;
mod diagnostics;
mod emulator_http;
mod emulator_wire;
mod explain;
mod export;
mod fuzz;
mod planner;
mod schema;
