//! A large fleet under throttling: 5,000 generated instances across 3 regions, the emulator
//! throttling RenewInstance per region slightly below the client's `--max-rps` and dropping
//! or failing a few requests at random. plan → apply → plan must converge with every renewal
//! made exactly once, through the real binary.

use std::time::Instant;

use assert_cmd::Command;
use renewctl::emulator::{EmulatorOptions, Faults, RateLimit};
use serde_json::Value;

use crate::support::emulator::Emulator;

const FLEET: &str = "access_keys: [{id: LTAIscale, secret: scale-secret}]
generate:
  - {region: cn-hangzhou, count: 1700, seed: 11}
  - {region: cn-shanghai, count: 1650, seed: 12}
  - {region: cn-beijing, count: 1650, seed: 13}
";

const CONFIG: &str = "version: 1
regions: [cn-beijing, cn-hangzhou, cn-shanghai]
policies:
  - name: everything-with-an-env
    match:
      tags: {env: \"*\"}
    renewal: manual
    min_remaining: 30 days
";

fn renewctl(emu: &Emulator, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_renewctl"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &emu.key_id)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &emu.key_secret)
        .env("RENEWCTL_ENDPOINT", emu.endpoint())
        .env("NO_COLOR", "1");
    cmd
}

#[test]
fn five_thousand_instances_in_three_regions_converge_under_throttling_without_double_renewals() {
    let emu = Emulator::start_with(
        FLEET,
        EmulatorOptions {
            rate_limits: vec![RateLimit::parse("RenewInstance=90/s").expect("valid")],
            faults: Faults {
                server_error: 0.005,
                drop_after_commit: 0.005,
                ..Faults::default()
            },
            fault_seed: 5,
            ..EmulatorOptions::default()
        },
    );
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scale");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("renewal.yaml"), CONFIG).expect("config");
    let flags = ["--parallelism", "32", "--max-rps", "100"];

    let started = Instant::now();
    let out = renewctl(&emu, &dir)
        .args(flags)
        .args(["plan", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    let to_renew = plan["summary"]["to_renew"].as_u64().expect("count");
    let calls = plan["summary"]["api_calls"].as_u64().expect("count");
    assert_eq!(plan["summary"]["observed"], 5000);
    assert!(to_renew > 1000, "{}", plan["summary"]);

    let before = emu.stats();
    let out = renewctl(&emu, &dir)
        .args(flags)
        .args(["apply", "--auto-approve"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Apply complete"),
        "{}",
        &stdout[stdout.len().saturating_sub(2000)..]
    );
    assert!(
        stdout.contains(&format!("Verified: {to_renew} renewals visible in the API")),
        "{}",
        &stdout[stdout.len().saturating_sub(2000)..]
    );
    let after = emu.stats();

    let out = renewctl(&emu, &dir)
        .args(flags)
        .args(["plan", "--detailed-exitcode"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "converged: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let wall = started.elapsed();

    assert_eq!(after.renewals.len() as u64, to_renew);
    assert!(
        after.renewals.values().all(|n| *n == 1),
        "renewed twice: {:?}",
        after
            .renewals
            .iter()
            .filter(|(_, n)| **n > 1)
            .collect::<Vec<_>>()
    );
    assert!(
        after.throttled > before.throttled,
        "throttling never triggered"
    );
    let renew_requests = after.by_action.get("RenewInstance").copied().unwrap_or(0);
    eprintln!(
        "scale: {to_renew} renewals and {calls} planned calls; apply sent {} requests \
         ({renew_requests} RenewInstance, {} throttled, {} faults injected); whole run {} requests \
         in {:.1}s",
        after.requests - before.requests,
        after.throttled - before.throttled,
        after.faults_injected - before.faults_injected,
        emu.stats().requests,
        wall.as_secs_f64()
    );
}
