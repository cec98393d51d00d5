//! Wire types of the ECS JSON answers (ecs-api.md §3, §4.1) and their conversion to the domain
//! types of `observed`. Keys are PascalCase and lists are wrapped in an object named after the
//! element (`Instances.Instance[]`, `Tags.Tag[]`). Unknown keys are ignored (the API grows);
//! missing required keys and wrong types are decode errors, and nothing is guessed: a
//! subscription instance without a readable `ExpiredTime` is returned as unreadable (with its
//! id and tags, so the planner can name it and its policy), never with a made-up expiry.

use jiff::Timestamp;
use serde::Deserialize;

use crate::observed::{
    ChargeType, InstanceSnapshot, RenewalAttribute, RenewalStatus, Tags, UnreadableInstance,
};
use crate::time::parse_api;

/// DescribeInstances (§3.2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInstancesResponse {
    pub request_id: String,
    /// An error code: present only in an error body (see `response::Answer`).
    #[serde(rename = "Code", default)]
    pub code_upper: Option<serde::de::IgnoredAny>,
    #[serde(rename = "code", default)]
    pub code_lower: Option<serde::de::IgnoredAny>,
    /// Meaningless with `MaxResults`/`NextToken` paging, required with `PageNumber` paging.
    #[serde(default)]
    pub total_count: Option<u64>,
    /// Empty or absent on the last page.
    #[serde(default)]
    pub next_token: Option<String>,
    pub instances: InstanceList,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceList {
    pub instance: Vec<Instance>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Instance {
    pub instance_id: String,
    #[serde(default)]
    pub instance_name: Option<String>,
    pub instance_charge_type: String,
    #[serde(default)]
    pub status: Option<String>,
    /// `2017-12-10T04:04Z` (minutes) in every official sample.
    #[serde(default)]
    pub expired_time: Option<String>,
    #[serde(default)]
    pub tags: Option<TagList>,
    #[serde(default)]
    pub operation_locks: Option<LockList>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagList {
    #[serde(default)]
    pub tag: Vec<Tag>,
}

/// Response tags are `TagKey`/`TagValue`, unlike the request's `Tag.N.Key` (§3.2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub tag_key: String,
    #[serde(default)]
    pub tag_value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LockList {
    #[serde(default)]
    pub lock_reason: Vec<Lock>,
}

/// Each element of `OperationLocks.LockReason[]` has a field that is *also* called `LockReason`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Lock {
    #[serde(default)]
    pub lock_reason: Option<String>,
}

/// DescribeInstanceAutoRenewAttribute (§3.3).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAutoRenewResponse {
    pub request_id: String,
    /// An error code: present only in an error body (see `response::Answer`).
    #[serde(rename = "Code", default)]
    pub code_upper: Option<serde::de::IgnoredAny>,
    #[serde(rename = "code", default)]
    pub code_lower: Option<serde::de::IgnoredAny>,
    pub instance_renew_attributes: RenewAttributeList,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RenewAttributeList {
    pub instance_renew_attribute: Vec<RenewAttribute>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RenewAttribute {
    pub instance_id: String,
    pub renewal_status: String,
    /// May be 0 (or absent) when auto-renewal is off.
    #[serde(default)]
    pub duration: Option<u32>,
    /// `Month`, `month`, `week`…: kept verbatim, compared case-insensitively by the planner.
    #[serde(default)]
    pub period_unit: Option<String>,
    #[serde(default)]
    pub auto_renew_enabled: Option<bool>,
}

/// ModifyInstanceAutoRenewAttribute answers only `RequestId`; RenewInstance adds `OrderId`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MutationResponse {
    pub request_id: String,
    /// An error code: present only in an error body (see `response::Answer`).
    #[serde(rename = "Code", default)]
    pub code_upper: Option<serde::de::IgnoredAny>,
    #[serde(rename = "code", default)]
    pub code_lower: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub order_id: Option<OrderId>,
}

crate::rpc::response::impl_answer!(
    DescribeInstancesResponse,
    DescribeAutoRenewResponse,
    MutationResponse
);

/// The English docs and the SDK show `OrderId` as a string, the Chinese doc sample as a bare
/// number (§3.6): both are read, as the same digits.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OrderId {
    Text(String),
    Number(serde_json::Number),
}

impl OrderId {
    pub fn into_string(self) -> String {
        match self {
            OrderId::Text(text) => text,
            OrderId::Number(number) => number.to_string(),
        }
    }
}

/// Converts one instance of a DescribeInstances answer for `region`; one that cannot be read in
/// full comes back as unreadable, saying why.
pub fn to_snapshot(region: &str, wire: Instance) -> Result<InstanceSnapshot, UnreadableInstance> {
    let charge_type = ChargeType::from_api(&wire.instance_charge_type);
    let parsed = wire.expired_time.as_deref().and_then(parse_api);
    let tags: Tags = wire
        .tags
        .map(|t| t.tag)
        .unwrap_or_default()
        .into_iter()
        .map(|tag| (tag.tag_key, tag.tag_value.unwrap_or_default()))
        .collect();
    let expired_time = match (&charge_type, parsed) {
        (_, Some(ts)) => ts,
        // A subscription's expiry is what renewal decisions rest on: never guess it.
        (ChargeType::PrePaid, None) => {
            let reason = match &wire.expired_time {
                None => format!(
                    "subscription instance {} has no ExpiredTime",
                    wire.instance_id
                ),
                Some(text) => format!(
                    "subscription instance {} has an unreadable ExpiredTime {:?}",
                    wire.instance_id, text
                ),
            };
            return Err(UnreadableInstance {
                region: region.to_string(),
                instance_id: wire.instance_id,
                instance_name: wire.instance_name.unwrap_or_default(),
                tags,
                reason,
            });
        }
        // The expiry of a pay-as-you-go instance means nothing for renewal (§3.2), and such
        // instances are never planned; the far future keeps them from looking "expired".
        (_, None) => Timestamp::MAX,
    };
    let locks = wire
        .operation_locks
        .map(|l| l.lock_reason)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|lock| lock.lock_reason.filter(|reason| !reason.is_empty()))
        .collect();
    Ok(InstanceSnapshot {
        region: region.to_string(),
        instance_id: wire.instance_id,
        instance_name: wire.instance_name.unwrap_or_default(),
        charge_type,
        status: wire.status.unwrap_or_default(),
        expired_time,
        tags,
        locks,
        renewal: None,
    })
}

/// Converts one element of a DescribeInstanceAutoRenewAttribute answer.
pub fn to_renewal(wire: RenewAttribute) -> (String, RenewalAttribute) {
    (
        wire.instance_id,
        RenewalAttribute {
            status: RenewalStatus::from_api(&wire.renewal_status),
            duration: wire.duration.unwrap_or(0),
            period_unit: wire.period_unit.unwrap_or_default(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instances(json: &str) -> DescribeInstancesResponse {
        serde_json::from_str(json).expect("valid answer")
    }

    #[test]
    fn a_documented_instance_converts_to_a_snapshot() {
        let answer = instances(
            r#"{"RequestId":"r1","TotalCount":1,"PageNumber":1,"PageSize":100,
            "Instances":{"Instance":[{"InstanceId":"i-1","InstanceName":"web-1",
            "RegionId":"cn-hangzhou","InstanceChargeType":"PrePaid","Status":"Running",
            "ExpiredTime":"2026-12-01T16:00Z","Recyclable":true,
            "Tags":{"Tag":[{"TagKey":"env","TagValue":"prod"},{"TagKey":"tier","TagValue":"db"}]},
            "OperationLocks":{"LockReason":[{"LockReason":"financial","LockMsg":"x"}]}}]}}"#,
        );
        assert_eq!(answer.total_count, Some(1));
        let snap = to_snapshot(
            "cn-hangzhou",
            answer.instances.instance.into_iter().next().unwrap(),
        )
        .expect("converts");
        assert_eq!(snap.instance_id, "i-1");
        assert_eq!(snap.instance_name, "web-1");
        assert_eq!(snap.charge_type, ChargeType::PrePaid);
        assert_eq!(snap.expired_time, parse_api("2026-12-01T16:00Z").unwrap());
        assert_eq!(snap.tags.get("tier").map(String::as_str), Some("db"));
        assert_eq!(snap.locks, vec!["financial".to_string()]);
        assert_eq!(snap.renewal, None);
    }

    #[test]
    fn a_prepaid_instance_without_a_readable_expiry_is_refused() {
        for expiry in [None, Some("soon"), Some("")] {
            let wire = Instance {
                instance_id: "i-1".into(),
                instance_name: None,
                instance_charge_type: "PrePaid".into(),
                status: None,
                expired_time: expiry.map(String::from),
                tags: None,
                operation_locks: None,
            };
            let err = to_snapshot("r", wire).expect_err("must not guess");
            assert_eq!(err.instance_id, "i-1");
            assert!(err.reason.contains("ExpiredTime"), "{}", err.reason);
        }
        let postpaid = Instance {
            instance_id: "i-2".into(),
            instance_name: None,
            instance_charge_type: "PostPaid".into(),
            status: None,
            expired_time: None,
            tags: None,
            operation_locks: None,
        };
        let snap = to_snapshot("r", postpaid).expect("pay-as-you-go needs no expiry");
        assert_eq!(snap.expired_time, Timestamp::MAX);
        // The fingerprint of a saved plan formats it: that must work too.
        assert!(snap.fingerprint().starts_with("sha256:"));
    }

    #[test]
    fn wrong_nesting_and_wrong_types_do_not_decode() {
        // The list must sit under Instances.Instance, not directly under Instances.
        assert!(
            serde_json::from_str::<DescribeInstancesResponse>(
                r#"{"RequestId":"r","Instances":[{"InstanceId":"i-1"}]}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<DescribeAutoRenewResponse>(
                r#"{"RequestId":"r","InstanceRenewAttributes":{"InstanceRenewAttribute":
                [{"InstanceId":"i-1","RenewalStatus":"Normal","Duration":"one"}]}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn renew_attributes_keep_the_unit_verbatim() {
        let answer: DescribeAutoRenewResponse = serde_json::from_str(
            r#"{"RequestId":"r","TotalCount":2,"InstanceRenewAttributes":{"InstanceRenewAttribute":[
            {"InstanceId":"i-1","AutoRenewEnabled":true,"Duration":1,"PeriodUnit":"week",
             "RenewalStatus":"AutoRenewal","EnableExpectedRenewDay":true},
            {"InstanceId":"i-2","AutoRenewEnabled":false,"RenewalStatus":"NotRenewal"}]}}"#,
        )
        .expect("valid");
        let got: Vec<_> = answer
            .instance_renew_attributes
            .instance_renew_attribute
            .into_iter()
            .map(to_renewal)
            .collect();
        assert_eq!(got[0].1.period_unit, "week");
        assert_eq!(got[0].1.status, RenewalStatus::AutoRenewal);
        assert_eq!(got[1].1.duration, 0);
        assert_eq!(got[1].1.status, RenewalStatus::NotRenewal);
    }

    #[test]
    fn order_id_is_read_as_string_or_number() {
        for body in [
            r#"{"RequestId":"r","OrderId":"1234567890"}"#,
            r#"{"RequestId":"r","OrderId":1234567890}"#,
        ] {
            let answer: MutationResponse = serde_json::from_str(body).expect("valid");
            assert_eq!(
                answer.order_id.map(OrderId::into_string).as_deref(),
                Some("1234567890")
            );
        }
        assert!(
            serde_json::from_str::<MutationResponse>(r#"{"RequestId":"r","OrderId":true}"#)
                .is_err()
        );
    }
}
