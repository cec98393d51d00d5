//! The vocabulary of the ECS API that both the planner and the cloud client speak, with no I/O:
//! the actions and their batch limit (`action`), the lengths and settings the API takes and the
//! values it accepts (`period`), the two mutating requests and their wire parameters
//! (`mutation`), what a renewal costs and how it is priced (`price`), what a renewal's
//! idempotency token is made of (`token`), and which answers mean what for money (`codes`)
//! (ecs-api.md §3, §4). Lower than `plan` and `cloud`; it imports neither.

pub mod action;
pub mod codes;
pub mod mutation;
pub mod period;
pub mod price;
pub mod site;
pub mod token;

pub use action::{ApiAction, MAX_BATCH};
pub use mutation::Mutation;
pub use period::{AutoRenewPeriod, AutoRenewSetting, PeriodUnit, RenewalPeriod};
pub use price::{Price, PriceQuery, PriceUnit};
pub use site::Site;
pub use token::{ClientToken, TokenAttempt};
