//! The use cases, once: `plan` (observe, plan, price), `apply` (the checks of a saved plan, the
//! re-read that refuses a stale plan, the calls, the verification), `explain` (one instance's
//! part of a plan) and `export` (the config that declares what is). Each is a function over an
//! [`EcsApi`](crate::cloud::EcsApi) and the time it is given, reports what happens as typed
//! [`Event`]s, and returns typed results and errors. Nothing here parses flags, prints or reads
//! files: `cli` parses, builds the context, calls one function here and hands its events and
//! result to `render`. A new entry point (a scheduled check, another account) calls these same
//! functions.
//!
//! Layer 5 of ARCHITECTURE.md: it may use every module below it, and none above (`cli`).

pub mod apply;
pub mod check;
mod error;
mod events;
pub mod explain;
pub mod export;
pub mod notify;
pub mod plan;
pub mod quotes;
pub mod site;

pub use error::EngineError;
pub use events::{Event, Sink, Stage, Tracked, ignore};
