//! The ECS actions renewctl sends (ecs-api.md §3) and their batch limit. The reads are named
//! here for the retry policy and the logs; the writes are what a plan calls.

use std::fmt;

use serde::{Deserialize, Serialize};

/// ECS answers at most this many instances per page, and takes at most this many ids per call.
pub const MAX_BATCH: usize = 100;

pub const DESCRIBE_INSTANCES: &str = "DescribeInstances";
pub const DESCRIBE_AUTO_RENEW: &str = "DescribeInstanceAutoRenewAttribute";
pub const DESCRIBE_RENEWAL_PRICE: &str = "DescribeRenewalPrice";
pub const DESCRIBE_REGIONS: &str = "DescribeRegions";

/// The mutating ECS actions a plan can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiAction {
    ModifyInstanceAutoRenewAttribute,
    RenewInstance,
}

impl ApiAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiAction::ModifyInstanceAutoRenewAttribute => "ModifyInstanceAutoRenewAttribute",
            ApiAction::RenewInstance => "RenewInstance",
        }
    }
}

impl fmt::Display for ApiAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
