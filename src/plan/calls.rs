//! Batching changes into the fewest API calls (DESIGN.md §5). Pure.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

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

/// One API request that apply will send, exactly: region (which endpoint), action and the
/// business parameters. Apply runs calls phase by phase, in order; calls of one phase may run
/// concurrently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub region: String,
    pub action: ApiAction,
    pub params: BTreeMap<String, String>,
    /// 1: status changes that must precede a renewal (moving off `NotRenewal`);
    /// 2: renewals; 3: the other auto-renew changes.
    pub phase: u8,
    /// Indices into the plan's `changes` that this call carries out.
    pub changes: Vec<usize>,
}
