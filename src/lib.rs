//! renewctl keeps the renewal of Alibaba Cloud ECS subscription instances in the state a team
//! declares in YAML. The crate is laid out as a functional core with an imperative shell
//! (DESIGN.md §7): `desired`, `policy`, `plan`, `planfile` and `render` are pure; `cloud`,
//! `credentials`, `observe`, `apply`, `verify`, `emulator` and `cli` do the I/O. `explain` and
//! `export` are pure views over an observed state and a plan.
#![forbid(unsafe_code)]

pub mod apply;
pub mod cli;
pub mod cloud;
pub mod credentials;
pub mod desired;
pub mod ecs;
pub mod emulator;
pub mod engine;
pub mod explain;
pub mod export;
pub mod interrupt;
pub mod money;
pub mod notify;
pub mod observe;
pub mod observed;
pub mod plan;
pub mod planfile;
pub mod policy;
pub mod post;
pub mod render;
pub mod report;
pub mod rpc;
pub mod time;
pub mod verify;
pub mod watch;
