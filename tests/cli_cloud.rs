//! The binary's cloud access end to end: `whoami` for each kind of link, `--debug-credentials`,
//! a whole plan and apply at `-vv` with STS credentials whose output must hold no secret, token
//! or signature, no progress bar when stderr is piped, `--max-rps` keeping a throttled API quiet,
//! the verification after apply, and the flags' usage errors.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use renewctl::emulator::{EmulatorOptions, FaultKind, RateLimit};

use crate::support::emulator::Emulator;

const ROLE: &str = "acs:ram::1234567890123456:role/renewer";
const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ci";
const OIDC_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.pipeline-token-for-cli.sig";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example fleet plus a role STS can issue for the fleet's key or for the CI token.
fn fleet_with_roles() -> String {
    format!(
        "{}\nroles:\n  - arn: '{ROLE}'\n    oidc: {{provider_arn: '{PROVIDER}', token: '{OIDC_TOKEN}'}}\nmetadata: {{role: EcsRenewer}}\n",
        include_str!("../examples/fleet.yaml")
    )
}

/// A fresh directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-cloud-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `renewctl` with an empty environment except PATH, the endpoint and whatever `vars` add; the
/// metadata service is off unless a test points it at the emulator.
fn renewctl(emu: &Emulator, vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_renewctl"));
    cmd.current_dir(repo())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RENEWCTL_ENDPOINT", emu.endpoint())
        .env("ALIBABA_CLOUD_STS_ENDPOINT", emu.endpoint())
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn env_keys(emu: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.key_id.clone()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.key_secret.clone()),
    ]
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let output = cmd.output().expect("renewctl runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn write_profile(home: &Path, json: &str) {
    std::fs::create_dir_all(home.join(".aliyun")).expect("dir");
    std::fs::write(home.join(".aliyun/config.json"), json).expect("config");
}

fn ram_role_profile(emu: &Emulator) -> String {
    format!(
        r#"{{"current": "assume", "profiles": [
  {{"name": "work", "mode": "AK", "access_key_id": "{id}", "access_key_secret": "{secret}"}},
  {{"name": "assume", "mode": "RamRoleArn", "access_key_id": "{id}", "access_key_secret": "{secret}",
    "ram_role_arn": "{ROLE}", "ram_session_name": "cli-test"}}]}}"#,
        id = emu.key_id,
        secret = emu.key_secret
    )
}

#[test]
fn whoami_names_the_link_and_masks_the_key_for_each_kind_of_credentials() {
    let emu = Emulator::start(&fleet_with_roles());
    let home = scratch("whoami");
    write_profile(&home, &ram_role_profile(&emu));
    let home_var = home.to_string_lossy().into_owned();
    std::fs::write(home.join("token"), format!("{OIDC_TOKEN}\n")).expect("token");
    let token_file = home.join("token").to_string_lossy().into_owned();

    // The environment.
    let keys = env_keys(&emu);
    let mut vars: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("HOME", &home_var));
    let out = run(renewctl(&emu, &vars).arg("whoami"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("link: environment\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("access key id: LT****\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&emu.key_secret));

    // The aliyun CLI profile: its current one assumes a role through STS; --profile picks another.
    let out = run(renewctl(&emu, &[("HOME", &home_var)]).arg("whoami"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("link: cli-profile\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("mode RamRoleArn: STS AssumeRole of acs:ram::1234567890123456:role/renewer"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("access key id: STS.****0001\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("(temporary; refreshed 15 minutes before)"),
        "{}",
        out.stdout
    );
    let out = run(renewctl(&emu, &[("HOME", &home_var)]).args(["whoami", "--profile", "work"]));
    assert!(
        out.stdout.contains("source: profile \"work\""),
        "{}",
        out.stdout
    );

    // OIDC beats the profile.
    let out = run(renewctl(
        &emu,
        &[
            ("HOME", &home_var),
            ("ALIBABA_CLOUD_ROLE_ARN", ROLE),
            ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER),
            ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", &token_file),
        ],
    )
    .arg("whoami"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("link: oidc\n"), "{}", out.stdout);

    // The instance's RAM role.
    let out = run(renewctl(
        &emu,
        &[
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", ""),
            ("RENEWCTL_METADATA_ENDPOINT", &emu.endpoint()),
        ],
    )
    .arg("whoami"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("link: ecs-metadata\n"),
        "{}",
        out.stdout
    );

    // Nothing at all: every link is listed with why.
    let out = run(renewctl(&emu, &[]).arg("whoami"));
    assert_eq!(out.code, 1);
    for line in [
        "no credentials found. Tried, in order:",
        "  - environment: not configured",
        "  - oidc: not configured",
        "  - cli-profile: not configured (no home directory",
        "  - ecs-metadata: not configured (disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED=true)",
    ] {
        assert!(out.stderr.contains(line), "{line:?} in\n{}", out.stderr);
    }
    for issued in emu.handle().issued_credentials() {
        assert!(!out.stdout.contains(&issued.access_key_secret));
    }
}

#[test]
fn debug_credentials_shows_the_link_on_stderr_before_planning() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let keys = env_keys(&emu);
    let vars: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run(renewctl(&emu, &vars).args([
        "plan",
        "-c",
        "examples/renewal.yaml",
        "--debug-credentials",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("credentials:\nlink: environment\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&emu.key_secret));
    assert!(
        !out.stdout.contains("link: environment"),
        "stdout stays the plan"
    );
}

/// Values that must not appear, in their raw and percent-encoded forms.
fn forbidden(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    for v in values.into_iter().filter(|v| v.len() >= 6) {
        let encoded = v
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        out.push(v);
        out.push(encoded);
    }
    out
}

#[test]
fn a_whole_plan_and_apply_at_vv_with_sts_credentials_shows_no_secret_token_or_signature() {
    let emu = Emulator::start(&fleet_with_roles());
    let home = scratch("redaction");
    write_profile(&home, &ram_role_profile(&emu));
    std::fs::write(home.join("token"), OIDC_TOKEN).expect("token");
    let home_var = home.to_string_lossy().into_owned();
    let token_file = home.join("token").to_string_lossy().into_owned();
    // Faults, so that retries are logged too.
    emu.push_fault(Some("DescribeInstances"), FaultKind::Throttle);
    emu.push_fault(Some("RenewInstance"), FaultKind::ServerError);
    emu.push_fault(Some("RenewInstance"), FaultKind::DropAfterCommit);

    let mut runs = Vec::new();
    let profile = [("HOME", home_var.as_str())];
    runs.push(run(renewctl(&emu, &profile).args([
        "-vv",
        "plan",
        "-c",
        "examples/renewal.yaml",
    ])));
    runs.push(run(renewctl(&emu, &profile).args([
        "-vv",
        "apply",
        "-c",
        "examples/renewal.yaml",
        "--auto-approve",
        "--debug-credentials",
    ])));
    let oidc = [
        ("ALIBABA_CLOUD_ROLE_ARN", ROLE),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", token_file.as_str()),
        ("RENEWCTL_LOG", "renewctl=trace"),
    ];
    runs.push(run(renewctl(&emu, &oidc).args([
        "plan",
        "-c",
        "examples/renewal.yaml",
        "--format",
        "json",
    ])));
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.code, 0, "run {i}: {}\n{}", r.stdout, r.stderr);
    }

    let mut secrets = vec![emu.key_secret.clone(), OIDC_TOKEN.to_string()];
    let issued = emu.handle().issued_credentials();
    assert_eq!(issued.len(), 3, "one STS key per run");
    for c in &issued {
        secrets.push(c.access_key_secret.clone());
        secrets.push(c.security_token.clone());
    }
    let requests = emu.handle().requests();
    let signatures: Vec<String> = requests
        .iter()
        .filter_map(|r| r.signature.clone())
        .collect();
    assert!(signatures.len() > 20, "{}", signatures.len());
    secrets.extend(signatures);
    let all: String = runs
        .iter()
        .map(|r| format!("{}\n{}", r.stdout, r.stderr))
        .collect();
    for secret in forbidden(secrets) {
        assert!(!all.contains(&secret), "{secret:?} leaked");
    }
    assert!(
        !all.contains("ACS3-HMAC-SHA256 Credential="),
        "an Authorization value leaked"
    );
    assert!(!all.to_ascii_lowercase().contains("securitytoken="));

    // And the logs do show what an operator needs.
    let log = &runs[1].stderr;
    for needle in [
        "request action=\"RenewInstance\" region=\"cn-hangzhou\" attempt=1",
        "outcome=\"ServiceUnavailable\"",
        "attempt=2",
        "request_id=\"",
        "latency_ms=",
        "retrying after: RenewInstance in cn-hangzhou failed: ServiceUnavailable",
        "call succeeded action=\"ModifyInstanceAutoRenewAttribute\"",
        "credentials from profile \"assume\"",
    ] {
        assert!(
            log.contains(needle),
            "{needle:?} not in the -vv log:\n{log}"
        );
    }
    assert!(
        runs[0].stderr.contains("outcome=\"Throttling.User\""),
        "{}",
        runs[0].stderr
    );
    assert!(
        runs[2]
            .stderr
            .contains("credentials from STS AssumeRoleWithOIDC"),
        "{}",
        runs[2].stderr
    );
    // Nothing renewed twice despite the dropped answer.
    assert!(emu.stats().renewals.values().all(|n| *n == 1));
}

#[test]
fn piped_stderr_carries_no_progress_bar() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let keys = env_keys(&emu);
    let vars: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out =
        run(renewctl(&emu, &vars).args(["apply", "-c", "examples/renewal.yaml", "--auto-approve"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "nothing but warnings belongs on stderr");
    for shown in [&out.stdout, &out.stderr] {
        assert!(
            !shown.contains('\r') && !shown.contains('\u{1b}'),
            "{shown:?}"
        );
        assert!(!shown.contains("observing") && !shown.contains("applying ["));
    }
}

#[test]
fn max_rps_keeps_a_throttled_api_quiet_where_no_limit_trips_it() {
    let options = || EmulatorOptions {
        rate_limits: vec![RateLimit::parse("RenewInstance=2/s").expect("valid")],
        ..EmulatorOptions::default()
    };
    let apply = |emu: &Emulator, rps: &str| {
        let keys = env_keys(emu);
        let vars: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(renewctl(emu, &vars).args([
            "--max-rps",
            rps,
            "apply",
            "-c",
            "examples/renewal.yaml",
            "--auto-approve",
        ]))
    };
    // Five renewals in cn-hangzhou. Unlimited, they arrive together and some are throttled
    // (then retried); at 1.5 per second no second of the emulator sees more than two.
    let emu = Emulator::start_with(include_str!("../examples/fleet.yaml"), options());
    let out = apply(&emu, "0");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(emu.stats().throttled > 0, "{:?}", emu.stats());
    let emu = Emulator::start_with(include_str!("../examples/fleet.yaml"), options());
    let out = apply(&emu, "1.5");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(emu.stats().throttled, 0, "{:?}", emu.stats());
    assert_eq!(emu.stats().renewals.len(), 5);
}

#[test]
fn apply_reports_renewals_verified_or_not_yet_visible() {
    let start = |lag_ms: u64| {
        Emulator::start_with(
            include_str!("../examples/fleet.yaml"),
            EmulatorOptions {
                renewal_lag: std::time::Duration::from_millis(lag_ms),
                ..EmulatorOptions::default()
            },
        )
    };
    let apply = |emu: &Emulator, timeout: &str| {
        let keys = env_keys(emu);
        let vars: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(renewctl(emu, &vars).args([
            "--verify-timeout",
            timeout,
            "apply",
            "-c",
            "examples/renewal.yaml",
            "--auto-approve",
        ]))
    };
    // The API lags half a second. The expired db-3 is renewed and must show before its
    // auto-renewal can be turned on: apply waits for it (a read at once, one a second later),
    // then turns it on; the other renewals have shown by the end.
    let emu = start(500);
    let out = apply(&emu, "60s");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("waiting for 1 renewal of expired instances to show")
            && out
                .stdout
                .contains("waited 1.0 s: 1 of 1 renewal visible (2 reads)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("done cn-hangzhou/i-bp1demo0000000006 (db-3): renewal → AutoRenewal"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("verified cn-hangzhou/i-bp1demo0000000005: expires"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Verified: 5 renewals visible in the API (1 read)."),
        "{}",
        out.stdout
    );
    assert_eq!(
        emu.instance("i-bp1demo0000000006").renewal_status,
        "AutoRenewal"
    );
    // It lags longer than the bound: the renewals are reported as paid and not yet visible,
    // not as failed; db-3's auto-renewal is left for the next plan (ECS would refuse it), so
    // the apply is incomplete.
    let emu = start(60_000);
    let out = apply(&emu, "2s");
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "skipped cn-hangzhou/i-bp1demo0000000006 (db-3): renewal → AutoRenewal (every 1 Year): its renewal is not visible yet"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "not yet visible cn-hangzhou/i-bp1demo0000000005: the API still shows expiry"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Verified: 0; not yet visible: 5 after 2s"),
        "{}",
        out.stdout
    );
    // --verify-timeout 0 skips the check.
    let emu = start(0);
    let out = apply(&emu, "0");
    assert!(!out.stdout.contains("Verifying"), "{}", out.stdout);
}

#[test]
fn bad_flag_values_and_log_filters_are_usage_errors() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    for args in [
        vec!["--max-rps", "fast", "plan"],
        vec!["--max-rps=-1", "plan"],
        vec!["--request-timeout", "10", "plan"],
        vec!["--connect-timeout", "2h", "plan"],
    ] {
        let out = run(renewctl(&emu, &[]).args(&args));
        assert_eq!(out.code, 1, "{args:?}");
        let flag = args[0].split('=').next().unwrap_or_default();
        assert!(out.stderr.contains(flag), "{args:?}: {}", out.stderr);
    }
    let out = run(renewctl(&emu, &[("RENEWCTL_LOG", "renewctl=loud")]).args(["plan"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("RENEWCTL_LOG=\"renewctl=loud\""),
        "{}",
        out.stderr
    );
}
