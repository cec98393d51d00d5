//! The request log: one record per request the emulator received, in arrival order — the
//! action (or, for the metadata service, method and path), the region it counted against, the
//! access key, and the outcome (`ok`, the error code, `held` for a timeout fault, `dropped` for a
//! connection closed after the action ran). Retry tests assert the exact sequence; the
//! redaction test reads the signatures to make sure none reached renewctl's output.
//!
//! Bounded: the oldest records are dropped beyond the cap.

use std::collections::VecDeque;

use serde::Serialize;

/// Records kept at most.
const CAPACITY: usize = 500_000;

/// One request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    pub action: String,
    /// `RegionId`, the region of the instance for RenewInstance, or empty.
    pub region: String,
    pub access_key_id: String,
    /// The `InstanceId` parameter as sent (one id, or a comma list), DescribeRenewalPrice's
    /// `ResourceId`, or empty.
    pub instance_id: String,
    pub outcome: String,
    /// The signature the request carried (V2 `Signature` or the V3 `Signature=` value).
    #[serde(skip)]
    pub signature: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    records: VecDeque<RequestRecord>,
}

impl RequestLog {
    pub(crate) fn push(&mut self, record: RequestRecord) {
        self.records.push_back(record);
        while self.records.len() > CAPACITY {
            self.records.pop_front();
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<RequestRecord> {
        self.records.iter().cloned().collect()
    }

    pub(crate) fn clear(&mut self) {
        self.records.clear();
    }
}
