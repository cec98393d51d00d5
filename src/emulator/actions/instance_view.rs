//! One instance as DescribeInstances shows it: the real key names and nesting (`Tags.Tag[]`,
//! `OperationLocks.LockReason[]`, `VpcAttributes.PrivateIpAddress.IpAddress[]`…) and the real
//! types (integers, booleans, minute-precision times), so an SDK's typed model fills every field.
//!
//! The view borrows from the stored instance and is serialised directly: a page of 100 instances
//! is the emulator's hottest path. Attributes the fleet does not configure (IPs, MAC, serial
//! number, VPC ids…) are derived from a hash of the instance id: fake but stable.

use jiff::Timestamp;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::emulator::catalog::{fnv1a, instance_shape, instance_type_family, region_id_code};
use crate::emulator::clock::format_minute;
use crate::emulator::state::Instance;

/// What pay-as-you-go instances show as `ExpiredTime`.
const NO_EXPIRY: &str = "2099-12-31T15:59Z";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct InstanceView<'a> {
    instance_id: &'a str,
    instance_name: &'a str,
    description: &'static str,
    host_name: String,
    region_id: &'a str,
    zone_id: String,
    instance_type: &'a str,
    instance_type_family: String,
    cpu: u32,
    memory: u32,
    #[serde(rename = "GPUAmount")]
    gpu_amount: u32,
    #[serde(rename = "GPUSpec")]
    gpu_spec: &'static str,
    local_storage_amount: u32,
    local_storage_capacity: u32,
    image_id: &'static str,
    #[serde(rename = "OSName")]
    os_name: &'static str,
    #[serde(rename = "OSNameEn")]
    os_name_en: &'static str,
    #[serde(rename = "OSType")]
    os_type: &'static str,
    status: &'a str,
    instance_charge_type: &'static str,
    sale_cycle: &'static str,
    expired_time: String,
    creation_time: String,
    start_time: String,
    auto_release_time: &'static str,
    stopped_mode: &'static str,
    recyclable: bool,
    deletion_protection: bool,
    device_available: bool,
    io_optimized: bool,
    resource_group_id: &'static str,
    serial_number: String,
    spot_strategy: &'static str,
    spot_price_limit: f64,
    spot_duration: u32,
    spot_interruption_behavior: &'static str,
    internet_charge_type: &'static str,
    internet_max_bandwidth_in: u32,
    internet_max_bandwidth_out: u32,
    instance_network_type: &'static str,
    credit_specification: &'static str,
    deployment_set_id: &'static str,
    key_pair_name: &'static str,
    hpc_cluster_id: &'static str,
    cluster_id: &'static str,
    vlan_id: &'static str,
    #[serde(rename = "ISP")]
    isp: &'static str,
    #[serde(rename = "EnableNVS")]
    enable_nvs: bool,
    vpc_attributes: VpcAttributes,
    inner_ip_address: Fixed,
    public_ip_address: Fixed,
    rdma_ip_address: Fixed,
    eip_address: Fixed,
    security_group_ids: SecurityGroupIds,
    network_interfaces: NetworkInterfaces,
    tags: Tags<'a>,
    operation_locks: OperationLocks,
    dedicated_host_attribute: Fixed,
    dedicated_instance_attribute: Fixed,
    ecs_capacity_reservation_attr: Fixed,
    metadata_options: Fixed,
    cpu_options: CpuOptions,
    hibernation_options: Fixed,
    image_options: Fixed,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VpcAttributes {
    vpc_id: String,
    #[serde(rename = "VSwitchId")]
    vswitch_id: String,
    nat_ip_address: &'static str,
    private_ip_address: IpAddresses,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct IpAddresses {
    ip_address: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SecurityGroupIds {
    security_group_id: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkInterfaces {
    network_interface: Vec<NetworkInterface>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkInterface {
    network_interface_id: String,
    #[serde(rename = "Type")]
    kind: &'static str,
    mac_address: String,
    primary_ip_address: String,
    private_ip_sets: PrivateIpSets,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PrivateIpSets {
    private_ip_set: Vec<PrivateIpSet>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PrivateIpSet {
    private_ip_address: String,
    primary: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tags<'a> {
    tag: Vec<Tag<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag<'a> {
    tag_key: &'a str,
    tag_value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OperationLocks {
    lock_reason: Vec<LockReason>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LockReason {
    lock_reason: &'static str,
    lock_msg: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CpuOptions {
    core_count: u32,
    threads_per_core: u32,
    numa: &'static str,
}

/// A constant JSON value written without building anything at run time.
enum Literal {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    EmptyList,
}

impl Serialize for Literal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Literal::Str(s) => serializer.serialize_str(s),
            Literal::Int(n) => serializer.serialize_i64(*n),
            Literal::Bool(b) => serializer.serialize_bool(*b),
            Literal::EmptyList => serializer.collect_seq(std::iter::empty::<()>()),
        }
    }
}

/// A constant JSON object: the sub-objects every emulated instance has the same.
struct Fixed(&'static [(&'static str, Literal)]);

impl Serialize for Fixed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

use Literal::{Bool, EmptyList, Int, Str};

const NO_IPS: Fixed = Fixed(&[("IpAddress", EmptyList)]);

pub(super) fn instance_view(instance: &Instance, now: Timestamp) -> InstanceView<'_> {
    let hash = fnv1a(instance.id.as_bytes());
    let other = hash.rotate_left(31) ^ 0x9e37_79b9_7f4a_7c15;
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
    let creation = format_minute(instance.creation_time);
    InstanceView {
        instance_id: &instance.id,
        instance_name: &instance.name,
        description: "",
        host_name: format!("iZ{}Z", instance.id.trim_start_matches("i-")),
        region_id: &instance.region,
        zone_id: instance.zone(),
        instance_type: &instance.instance_type,
        instance_type_family: instance_type_family(&instance.instance_type),
        cpu,
        memory,
        gpu_amount: 0,
        gpu_spec: "",
        local_storage_amount: 0,
        local_storage_capacity: 0,
        image_id: "aliyun_3_x64_20G_alibase_20250629.vhd",
        os_name: "Alibaba Cloud Linux 3.2104 LTS 64位",
        os_name_en: "Alibaba Cloud Linux 3.2104 LTS 64 bit",
        os_type: "linux",
        status,
        instance_charge_type: instance.charge_type.as_str(),
        sale_cycle: if instance.is_prepaid() { "Month" } else { "" },
        expired_time: instance
            .shown_expired_time()
            .map(format_minute)
            .unwrap_or_else(|| NO_EXPIRY.to_owned()),
        start_time: creation.clone(),
        creation_time: creation,
        auto_release_time: "",
        stopped_mode: if status == "Stopped" {
            "KeepCharging"
        } else {
            "Not-applicable"
        },
        recyclable: false,
        deletion_protection: false,
        device_available: true,
        io_optimized: true,
        resource_group_id: "",
        serial_number: serial,
        spot_strategy: "NoSpot",
        spot_price_limit: 0.0,
        spot_duration: 0,
        spot_interruption_behavior: "Terminate",
        internet_charge_type: "PayByTraffic",
        internet_max_bandwidth_in: 100,
        internet_max_bandwidth_out: 0,
        instance_network_type: "vpc",
        credit_specification: "",
        deployment_set_id: "",
        key_pair_name: "",
        hpc_cluster_id: "",
        cluster_id: "",
        vlan_id: "",
        isp: "",
        enable_nvs: false,
        vpc_attributes: VpcAttributes {
            vpc_id: short("vpc", other),
            vswitch_id: short("vsw", other.rotate_left(17)),
            nat_ip_address: "",
            private_ip_address: IpAddresses {
                ip_address: vec![ip.clone()],
            },
        },
        inner_ip_address: NO_IPS,
        public_ip_address: NO_IPS,
        rdma_ip_address: NO_IPS,
        eip_address: Fixed(&[
            ("AllocationId", Str("")),
            ("IpAddress", Str("")),
            ("InternetChargeType", Str("")),
            ("Bandwidth", Int(0)),
            ("IsSupportUnassociate", Bool(false)),
        ]),
        security_group_ids: SecurityGroupIds {
            security_group_id: vec![short("sg", other.rotate_left(29))],
        },
        network_interfaces: NetworkInterfaces {
            network_interface: vec![NetworkInterface {
                network_interface_id: short("eni", hash),
                kind: "Primary",
                mac_address: mac,
                primary_ip_address: ip.clone(),
                private_ip_sets: PrivateIpSets {
                    private_ip_set: vec![PrivateIpSet {
                        private_ip_address: ip,
                        primary: true,
                    }],
                },
            }],
        },
        tags: Tags {
            tag: instance
                .tags
                .iter()
                .map(|(k, v)| Tag {
                    tag_key: k.as_ref(),
                    tag_value: v.as_ref(),
                })
                .collect(),
        },
        operation_locks: OperationLocks {
            lock_reason: [
                (instance.is_expired(now), "financial"),
                (instance.security_lock, "security"),
            ]
            .into_iter()
            .filter(|(locked, _)| *locked)
            .map(|(_, reason)| LockReason {
                lock_reason: reason,
                lock_msg: "",
            })
            .collect(),
        },
        dedicated_host_attribute: Fixed(&[
            ("DedicatedHostId", Str("")),
            ("DedicatedHostName", Str("")),
            ("DedicatedHostClusterId", Str("")),
        ]),
        dedicated_instance_attribute: Fixed(&[("Tenancy", Str("")), ("Affinity", Str(""))]),
        ecs_capacity_reservation_attr: Fixed(&[
            ("CapacityReservationId", Str("")),
            ("CapacityReservationPreference", Str("")),
        ]),
        metadata_options: Fixed(&[
            ("HttpEndpoint", Str("enabled")),
            ("HttpTokens", Str("optional")),
            ("HttpPutResponseHopLimit", Int(0)),
        ]),
        cpu_options: CpuOptions {
            core_count: cpu.div_ceil(2),
            threads_per_core: if cpu > 1 { 2 } else { 1 },
            numa: "",
        },
        hibernation_options: Fixed(&[("Configured", Bool(false))]),
        image_options: Fixed(&[("LoginAsNonRoot", Bool(false))]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::actions::test_support::{now, world};
    use serde_json::{Value, json};

    fn view(id: &str) -> Value {
        let w = world();
        let w = w.read().expect("lock");
        let instance = w.find(id, now()).expect("present");
        serde_json::to_value(instance_view(instance, now())).expect("serialises")
    }

    #[test]
    fn expired_instances_show_the_financial_lock_and_stop() {
        let old = view("i-old");
        assert_eq!(old["Status"], "Stopped");
        assert_eq!(old["StoppedMode"], "KeepCharging");
        assert_eq!(
            old["OperationLocks"]["LockReason"][0]["LockReason"],
            "financial"
        );
        let web = view("i-web1");
        assert_eq!(web["Status"], "Running");
        assert_eq!(web["OperationLocks"]["LockReason"], json!([]));
    }

    #[test]
    fn fields_have_the_real_names_nesting_and_types() {
        let web = view("i-web1");
        assert_eq!(web["ExpiredTime"], "2026-12-01T16:00Z");
        assert_eq!(web["InstanceChargeType"], "PrePaid");
        assert_eq!(
            web["Tags"]["Tag"][0],
            json!({"TagKey": "env", "TagValue": "prod"})
        );
        assert_eq!(
            (web["Cpu"].clone(), web["Memory"].clone()),
            (json!(2), json!(8192))
        );
        assert_eq!(web["GPUAmount"], 0);
        assert_eq!(web["OSType"], "linux");
        assert_eq!(web["InnerIpAddress"], json!({"IpAddress": []}));
        assert_eq!(web["EipAddress"]["Bandwidth"], 0);
        assert_eq!(
            web["NetworkInterfaces"]["NetworkInterface"][0]["Type"],
            "Primary"
        );
        assert!(
            web["VpcAttributes"]["VSwitchId"]
                .as_str()
                .is_some_and(|v| v.starts_with("vsw-bp1"))
        );
        assert!(web["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0].is_string());
        assert!(web["CreationTime"].as_str().is_some_and(|t| t.len() == 17));
        assert_eq!(web, view("i-web1"), "derived attributes are stable");
        assert_ne!(web["SerialNumber"], view("i-db1")["SerialNumber"]);
        let payg = view("i-payg");
        assert_eq!(payg["ExpiredTime"], NO_EXPIRY);
        assert_eq!(payg["InstanceChargeType"], "PostPaid");
    }
}
