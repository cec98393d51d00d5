//! The vocabulary of the ECS API that both the planner and the cloud client speak, with no I/O:
//! what a renewal's idempotency token is made of, and which answers mean what for money
//! (ecs-api.md §3.6, §4.2). Lower than `plan` and `cloud`; it imports neither.

pub mod codes;
pub mod token;

pub use token::{ClientToken, TokenAttempt};
