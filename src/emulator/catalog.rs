//! Static knowledge the emulator needs to dress an instance up like a real one: region display
//! names, the id prefixes real instances have per region, instance-type shapes and a list price.
//!
//! The numbers are plausible, not a price list: the emulator never claims to quote real prices.
//! Unknown regions and types get derived, deterministic values instead of errors, so a fleet
//! file may name anything.

/// A region's `LocalName` in Chinese (the API's default `AcceptLanguage`) and English.
pub(crate) fn region_local_name(region: &str, english: bool) -> String {
    let known = [
        ("cn-qingdao", "华北1（青岛）", "China (Qingdao)"),
        ("cn-beijing", "华北2（北京）", "China (Beijing)"),
        ("cn-zhangjiakou", "华北3（张家口）", "China (Zhangjiakou)"),
        ("cn-huhehaote", "华北5（呼和浩特）", "China (Hohhot)"),
        ("cn-hangzhou", "华东1（杭州）", "China (Hangzhou)"),
        ("cn-shanghai", "华东2（上海）", "China (Shanghai)"),
        ("cn-shenzhen", "华南1（深圳）", "China (Shenzhen)"),
        ("cn-chengdu", "西南1（成都）", "China (Chengdu)"),
        ("cn-hongkong", "中国香港", "China (Hong Kong)"),
        ("ap-southeast-1", "新加坡", "Singapore"),
        ("ap-northeast-1", "日本（东京）", "Japan (Tokyo)"),
        ("us-west-1", "美国（硅谷）", "US (Silicon Valley)"),
        ("us-east-1", "美国（弗吉尼亚）", "US (Virginia)"),
        ("eu-central-1", "德国（法兰克福）", "Germany (Frankfurt)"),
    ];
    known
        .iter()
        .find(|(id, _, _)| *id == region)
        .map(|(_, zh, en)| if english { *en } else { *zh }.to_owned())
        .unwrap_or_else(|| region.to_owned())
}

/// The three characters after `i-` in real instance ids of a region (`i-bp1…` in Hangzhou).
pub(crate) fn region_id_code(region: &str) -> String {
    let known = [
        ("cn-hangzhou", "bp1"),
        ("cn-shanghai", "uf6"),
        ("cn-beijing", "2ze"),
        ("cn-shenzhen", "wz9"),
        ("cn-qingdao", "m5e"),
        ("cn-zhangjiakou", "8vb"),
        ("cn-hongkong", "j6c"),
        ("ap-southeast-1", "t4n"),
    ];
    if let Some((_, code)) = known.iter().find(|(id, _)| *id == region) {
        return (*code).to_owned();
    }
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut hash = fnv1a(region.as_bytes());
    (0..3)
        .map(|_| {
            let c = alphabet[(hash % 36) as usize];
            hash /= 36;
            char::from(c)
        })
        .collect()
}

/// vCPUs and memory (MiB) of an instance type such as `ecs.g7.large`, from the size suffix and
/// the family letter (g 1:4, c 1:2, r 1:8, others 1:4).
pub(crate) fn instance_shape(instance_type: &str) -> (u32, u32) {
    let mut parts = instance_type.split('.');
    let _product = parts.next();
    let family = parts.next().unwrap_or("g7");
    let size = parts.next().unwrap_or("large");
    let cpu = match size {
        "small" | "medium" => 1,
        "large" => 2,
        "xlarge" => 4,
        other => other
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<u32>().ok())
            .map(|n| n.saturating_mul(4))
            .filter(|n| *n > 0)
            .unwrap_or(2),
    };
    let gib_per_cpu = match family.chars().next() {
        Some('c') => 2,
        Some('r') => 8,
        _ => 4,
    };
    (cpu, cpu.saturating_mul(gib_per_cpu).saturating_mul(1024))
}

/// A list price per month in CNY for a type with no `monthly_price` in the fleet.
pub(crate) fn default_monthly_price(instance_type: &str) -> f64 {
    let (cpu, memory_mib) = instance_shape(instance_type);
    let memory_gib = f64::from(memory_mib) / 1024.0;
    let raw = f64::from(cpu) * 60.0 + memory_gib * 15.0;
    (raw * 100.0).round() / 100.0
}

/// The family part of a type (`ecs.g7`), the API's `InstanceTypeFamily`.
pub(crate) fn instance_type_family(instance_type: &str) -> String {
    let mut parts = instance_type.splitn(3, '.');
    match (parts.next(), parts.next()) {
        (Some(product), Some(family)) => format!("{product}.{family}"),
        _ => instance_type.to_owned(),
    }
}

/// 64-bit FNV-1a: a stable hash for deriving fake-but-deterministic attributes (zones, IPs,
/// serial numbers) from an instance id, identical on every run and platform.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_naming_scheme() {
        assert_eq!(instance_shape("ecs.g7.large"), (2, 8192));
        assert_eq!(instance_shape("ecs.c7.2xlarge"), (8, 16384));
        assert_eq!(instance_shape("ecs.r7.xlarge"), (4, 32768));
        assert_eq!(instance_shape("weird"), (2, 8192));
        assert_eq!(instance_type_family("ecs.g7.large"), "ecs.g7");
    }

    #[test]
    fn region_codes_are_real_where_known_and_stable_elsewhere() {
        assert_eq!(region_id_code("cn-hangzhou"), "bp1");
        assert_eq!(region_id_code("xx-test-1"), region_id_code("xx-test-1"));
        assert_eq!(region_id_code("xx-test-1").len(), 3);
        assert_eq!(region_local_name("cn-hangzhou", true), "China (Hangzhou)");
        assert_eq!(region_local_name("mars-1", false), "mars-1");
    }

    #[test]
    fn default_prices_grow_with_size() {
        assert!(default_monthly_price("ecs.g7.xlarge") > default_monthly_price("ecs.g7.large"));
    }
}
