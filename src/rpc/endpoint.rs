//! Where a request goes: the regional endpoint `https://ecs.{region}.aliyuncs.com/`, its VPC
//! form `https://ecs-vpc.{region}.aliyuncs.com/` (ecs-api.md §1: the ECS endpoint page; the SDK
//! rule `<product>-<network>.<region>.aliyuncs.com`), a host set for one region (special
//! regions), or one fixed base URL for every region (`--endpoint`, the emulator). Plain
//! `http://` is accepted only for loopback hosts, because the RPC signature travels in the query
//! string and an STS token in a header: over an open network they must be encrypted. Pure.

use std::net::{Ipv4Addr, Ipv6Addr};

use reqwest::Url;

use crate::rpc::error::ApiError;

/// A resolved base URL: `scheme://host[:port]/`, and the `Host` header value that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The base URL, always ending in `/`; never carries a query.
    pub base: String,
    /// `host` or `host:port` when the port is not the scheme's default, exactly as HTTP clients
    /// send it (the ACS3 signature covers it).
    pub host: String,
    /// True for 127.0.0.0/8, ::1 and `localhost`: such requests bypass any HTTP proxy.
    pub loopback: bool,
}

/// Which regional endpoint: public or VPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    #[default]
    Public,
    /// `ecs-vpc.{region}.aliyuncs.com`: for runners inside a VPC without internet access.
    Vpc,
}

/// How each region's endpoint is found: a host set for the region, else the regional endpoint
/// of `network`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routing {
    pub network: Network,
    /// Region → host (`ecs.cn-shanghai-finance-1.aliyuncs.com`), reached over https.
    pub hosts: std::collections::BTreeMap<String, String>,
}

impl Routing {
    /// The endpoint for `region`.
    pub fn target(&self, region: &str) -> Result<Target, ApiError> {
        match self.hosts.get(region) {
            Some(host) => host_target(region, host),
            None => match self.network {
                Network::Public => regional(region),
                Network::Vpc => vpc(region),
            },
        }
    }
}

/// A host given for `region`: a plain DNS name (letters, digits, `-`, `.`), over https.
fn host_target(region: &str, host: &str) -> Result<Target, ApiError> {
    let plain = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['.', '-'])
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !plain {
        return Err(ApiError::Config(format!(
            "invalid endpoint host {host:?} for region {region}: expected a host name such as \
             ecs.{region}.aliyuncs.com (no scheme, port or path)"
        )));
    }
    let host = host.to_ascii_lowercase();
    Ok(Target {
        base: format!("https://{host}/"),
        host,
        loopback: false,
    })
}

/// The regional VPC endpoint of ECS for `region`.
pub fn vpc(region: &str) -> Result<Target, ApiError> {
    let public = regional(region)?;
    let host = format!("ecs-vpc.{region}.aliyuncs.com");
    Ok(Target {
        base: format!("https://{host}/"),
        host,
        ..public
    })
}

/// The regional public endpoint of ECS for `region`.
pub fn regional(region: &str) -> Result<Target, ApiError> {
    // The region becomes part of a host name: refuse anything that is not a plain region id, so
    // a typo can never send a signed request to some other host.
    let plain = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !plain {
        return Err(ApiError::Config(format!(
            "invalid region id {region:?}: expected lowercase letters, digits and '-' (e.g. cn-hangzhou)"
        )));
    }
    let host = format!("ecs.{region}.aliyuncs.com");
    Ok(Target {
        base: format!("https://{host}/"),
        host,
        loopback: false,
    })
}

/// Checks and resolves a fixed endpoint URL.
pub fn fixed(url: &str) -> Result<Target, ApiError> {
    let bad = |why: &str| {
        ApiError::Config(format!(
            "invalid endpoint {url:?}: {why} (expected https://HOST[:PORT]/, or http:// for a \
             loopback address such as http://127.0.0.1:8787)"
        ))
    };
    let parsed = Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
    let host_str = parsed.host_str().ok_or_else(|| bad("no host"))?.to_string();
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("credentials in the URL are not supported"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("a query or fragment is not allowed"));
    }
    // Both signatures sign the path "/" (V1 fixes it as %2F): a path prefix cannot be signed.
    if parsed.path() != "/" {
        return Err(bad("the path must be /"));
    }
    let loopback = is_loopback(&host_str);
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "plain http:// is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost); \
                 use https://",
            ));
        }
        other => return Err(bad(&format!("unsupported scheme {other:?}"))),
    }
    // `Url::port` is None when the port is the scheme's default, which is when HTTP clients
    // leave it out of the Host header too.
    let host = match parsed.port() {
        Some(port) => format!("{host_str}:{port}"),
        None => host_str,
    };
    Ok(Target {
        base: format!("{}://{}/", parsed.scheme(), host),
        host,
        loopback,
    })
}

/// True for `localhost`, 127.0.0.0/8 and `[::1]` (also an IPv4-mapped loopback address).
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|ip| {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        });
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpc_endpoints_and_hosts_per_region() {
        let mut routing = Routing {
            network: Network::Vpc,
            ..Routing::default()
        };
        routing.hosts.insert(
            "cn-shanghai-finance-1".into(),
            "ECS.cn-shanghai-finance-1.aliyuncs.com".into(),
        );
        let vpc = routing.target("cn-beijing").unwrap();
        assert_eq!(vpc.base, "https://ecs-vpc.cn-beijing.aliyuncs.com/");
        assert_eq!(vpc.host, "ecs-vpc.cn-beijing.aliyuncs.com");
        let special = routing.target("cn-shanghai-finance-1").unwrap();
        assert_eq!(
            special.base,
            "https://ecs.cn-shanghai-finance-1.aliyuncs.com/"
        );
        let public = Routing::default().target("cn-beijing").unwrap();
        assert_eq!(public.host, "ecs.cn-beijing.aliyuncs.com");
        assert!(Routing::default().target("cn-beijing/evil").is_err());
        for bad in [
            "https://x.example.com",
            "x.example.com:443",
            "x.example.com/p",
            "",
            ".x",
        ] {
            routing.hosts.insert("us-east-1".into(), bad.into());
            let err = routing.target("us-east-1").unwrap_err().to_string();
            assert!(err.contains("invalid endpoint host"), "{bad}: {err}");
        }
    }

    #[test]
    fn regional_endpoints_follow_the_documented_pattern() {
        let t = regional("cn-hangzhou").expect("valid");
        assert_eq!(t.base, "https://ecs.cn-hangzhou.aliyuncs.com/");
        assert_eq!(t.host, "ecs.cn-hangzhou.aliyuncs.com");
        assert!(!t.loopback);
        for bad in [
            "",
            "cn-hangzhou.evil.com/x",
            "CN-HANGZHOU",
            "cn hangzhou",
            "a?b",
        ] {
            assert!(matches!(regional(bad), Err(ApiError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn https_is_accepted_anywhere_and_keeps_a_non_default_port() {
        let t = fixed("https://ecs.example.com").expect("valid");
        assert_eq!(t.base, "https://ecs.example.com/");
        assert_eq!(t.host, "ecs.example.com");
        let t = fixed("https://ecs.example.com:8443/").expect("valid");
        assert_eq!(t.host, "ecs.example.com:8443");
        let t = fixed("https://ecs.example.com:443/").expect("valid");
        assert_eq!(t.host, "ecs.example.com");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8787",
            "http://127.9.9.9:1/",
            "http://localhost:8787",
            "http://LOCALHOST",
            "http://[::1]:8787/",
        ] {
            let t = fixed(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(t.loopback, "{ok}");
        }
        assert_eq!(
            fixed("http://[::1]:8787").expect("valid").host,
            "[::1]:8787"
        );
        for bad in [
            "http://10.0.0.1:8787",
            "http://example.com",
            "http://localhost.example.com",
            "http://128.0.0.1",
        ] {
            let err = fixed(bad).expect_err(bad).to_string();
            assert!(err.contains("only allowed for loopback"), "{bad}: {err}");
        }
    }

    #[test]
    fn odd_urls_are_refused_with_the_reason() {
        let cases = [
            ("ftp://127.0.0.1/", "unsupported scheme"),
            ("https://h/?Action=x", "query"),
            ("https://h/prefix", "path must be /"),
            ("https://user:pw@h/", "credentials"),
            ("127.0.0.1:8787", "invalid endpoint"),
        ];
        for (url, why) in cases {
            let err = fixed(url).expect_err(url).to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
