//! One instance as DescribeInstances shows it: the real key names and nesting (`Tags.Tag[]`,
//! `OperationLocks.LockReason[]`, `VpcAttributes.PrivateIpAddress.IpAddress[]`…) and the real
//! types (integers, booleans, minute-precision times), so an SDK's typed model fills every field.
//!
//! Attributes the fleet does not configure (IPs, MAC, serial number, VPC ids…) are derived from a
//! hash of the instance id: fake but stable across requests and runs.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::emulator::catalog::{fnv1a, instance_shape, instance_type_family, region_id_code};
use crate::emulator::clock::format_minute;
use crate::emulator::state::Instance;

/// What pay-as-you-go instances show as `ExpiredTime`.
const NO_EXPIRY: &str = "2099-12-31T15:59Z";

pub(super) fn instance_json(instance: &Instance, now: Timestamp) -> Value {
    let hash = fnv1a(instance.id.as_bytes());
    let other = fnv1a(format!("{}#", instance.id).as_bytes());
    let (cpu, memory) = instance_shape(&instance.instance_type);
    let ip = format!("172.16.{}.{}", (hash >> 8) & 0xff, (hash % 253) + 1);
    let mac = format!(
        "00:16:3e:{:02x}:{:02x}:{:02x}",
        (hash >> 16) & 0xff,
        (hash >> 24) & 0xff,
        (hash >> 32) & 0xff
    );
    let serial = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hash >> 32,
        (hash >> 16) & 0xffff,
        hash & 0xffff,
        other >> 48,
        other & 0xffff_ffff_ffff
    );
    let code = region_id_code(&instance.region);
    let short = |prefix: &str, h: u64| format!("{prefix}-{code}{:017x}", h >> 4);
    let status = instance.status(now);
    let locks: Vec<Value> = if instance.is_expired(now) {
        vec![json!({ "LockReason": "financial", "LockMsg": "" })]
    } else {
        Vec::new()
    };
    let tags: Vec<Value> = instance
        .tags
        .iter()
        .map(|(k, v)| json!({ "TagKey": k, "TagValue": v }))
        .collect();
    let creation = format_minute(instance.creation_time);
    let mut body = json!({
        "InstanceId": instance.id,
        "InstanceName": instance.name,
        "Description": "",
        "HostName": format!("iZ{}Z", instance.id.trim_start_matches("i-")),
        "RegionId": instance.region,
        "ZoneId": instance.zone,
        "InstanceType": instance.instance_type,
        "InstanceTypeFamily": instance_type_family(&instance.instance_type),
        "Cpu": cpu,
        "Memory": memory,
        "GPUAmount": 0,
        "GPUSpec": "",
        "LocalStorageAmount": 0,
        "LocalStorageCapacity": 0,
        "ImageId": "aliyun_3_x64_20G_alibase_20250629.vhd",
        "OSName": "Alibaba Cloud Linux 3.2104 LTS 64位",
        "OSNameEn": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
        "OSType": "linux",
    });
    let billing = json!({
        "Status": status,
        "InstanceChargeType": instance.charge_type.as_str(),
        "SaleCycle": if instance.is_prepaid() { "Month" } else { "" },
        "ExpiredTime": instance.expired_time.map(format_minute).unwrap_or_else(|| NO_EXPIRY.to_owned()),
        "CreationTime": creation,
        "StartTime": creation,
        "AutoReleaseTime": "",
        "StoppedMode": if status == "Stopped" { "KeepCharging" } else { "Not-applicable" },
        "Recyclable": false,
        "DeletionProtection": false,
        "DeviceAvailable": true,
        "IoOptimized": true,
        "ResourceGroupId": "",
        "SerialNumber": serial,
        "SpotStrategy": "NoSpot",
        "SpotPriceLimit": 0.0,
        "SpotDuration": 0,
        "SpotInterruptionBehavior": "Terminate",
    });
    let misc = json!({
        "InternetChargeType": "PayByTraffic",
        "InternetMaxBandwidthIn": 100,
        "InternetMaxBandwidthOut": 0,
        "InstanceNetworkType": "vpc",
        "CreditSpecification": "",
        "DeploymentSetId": "",
        "KeyPairName": "",
        "HpcClusterId": "",
        "ClusterId": "",
        "VlanId": "",
        "ISP": "",
        "EnableNVS": false,
    });
    let network = json!({
        "VpcAttributes": {
            "VpcId": short("vpc", other),
            "VSwitchId": short("vsw", other.rotate_left(17)),
            "NatIpAddress": "",
            "PrivateIpAddress": { "IpAddress": [ip] },
        },
        "InnerIpAddress": { "IpAddress": [] },
        "PublicIpAddress": { "IpAddress": [] },
        "RdmaIpAddress": { "IpAddress": [] },
        "EipAddress": {
            "AllocationId": "",
            "IpAddress": "",
            "InternetChargeType": "",
            "Bandwidth": 0,
            "IsSupportUnassociate": false,
        },
        "SecurityGroupIds": { "SecurityGroupId": [short("sg", other.rotate_left(29))] },
        "NetworkInterfaces": { "NetworkInterface": [{
            "NetworkInterfaceId": short("eni", hash),
            "Type": "Primary",
            "MacAddress": mac,
            "PrimaryIpAddress": ip,
            "PrivateIpSets": { "PrivateIpSet": [{ "PrivateIpAddress": ip, "Primary": true }] },
        }]},
    });
    let attributes = json!({
        "Tags": { "Tag": tags },
        "OperationLocks": { "LockReason": locks },
        "DedicatedHostAttribute": {
            "DedicatedHostId": "",
            "DedicatedHostName": "",
            "DedicatedHostClusterId": "",
        },
        "DedicatedInstanceAttribute": { "Tenancy": "", "Affinity": "" },
        "EcsCapacityReservationAttr": {
            "CapacityReservationId": "",
            "CapacityReservationPreference": "",
        },
        "MetadataOptions": {
            "HttpEndpoint": "enabled",
            "HttpTokens": "optional",
            "HttpPutResponseHopLimit": 0,
        },
        "CpuOptions": {
            "CoreCount": cpu.div_ceil(2),
            "ThreadsPerCore": if cpu > 1 { 2 } else { 1 },
            "Numa": "",
        },
        "HibernationOptions": { "Configured": false },
        "ImageOptions": { "LoginAsNonRoot": false },
    });
    // Built in parts only because one `json!` this large exceeds the macro recursion limit.
    for part in [billing, misc, network, attributes] {
        if let (Value::Object(target), Value::Object(more)) = (&mut body, part) {
            target.extend(more);
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::actions::test_support::{now, world};

    #[test]
    fn expired_instances_show_the_financial_lock_and_stop() {
        let w = world();
        let w = w.read().expect("lock");
        let old = instance_json(w.find("i-old", now()).expect("present"), now());
        assert_eq!(old["Status"], "Stopped");
        assert_eq!(
            old["OperationLocks"]["LockReason"][0]["LockReason"],
            "financial"
        );
        let web = instance_json(w.find("i-web1", now()).expect("present"), now());
        assert_eq!(web["Status"], "Running");
        assert_eq!(web["OperationLocks"]["LockReason"], json!([]));
        assert_eq!(web["ExpiredTime"], "2026-12-01T16:00Z");
        assert_eq!(
            web["Tags"]["Tag"][0],
            json!({"TagKey": "env", "TagValue": "prod"})
        );
        assert_eq!(web["Cpu"], 2);
        assert_eq!(
            web,
            instance_json(w.find("i-web1", now()).expect("present"), now()),
            "stable"
        );
        let payg = instance_json(w.find("i-payg", now()).expect("present"), now());
        assert_eq!(payg["ExpiredTime"], NO_EXPIRY);
        assert_eq!(payg["InstanceChargeType"], "PostPaid");
    }
}
