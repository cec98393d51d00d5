//! Data-driven tests of the credentials chain: one folder per case under `tests/credentials/`
//! (see the README there). Each case resolves credentials through the library with an in-memory
//! file system, a fixed clock and a fresh emulator (STS and instance metadata) on a fixed
//! clock, then compares what `renewctl whoami` would print with `expected`, or the error with the
//! lines of `error`. Every case also checks that no secret of its environment or files appears
//! in the output or in `Debug` of the result.
//!
//! `RENEWCTL_BLESS=1 cargo test credentials::` writes the actual output into the `expected` /
//! `error` files of failing cases, for review.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use renewctl::credentials::{self, Context, Environment, Identity, ManualClock, MemoryFiles};
use renewctl::emulator::{Clock, EmulatorOptions};

use crate::support::emulator::Emulator;

const VIRTUAL_HOME: &str = "/virtual/home";
const VIRTUAL_CASE: &str = "/virtual/case";

/// Files of a case folder that are not mounted into the virtual file system.
const CONTROL_FILES: [&str; 6] = [
    "env",
    "expected",
    "error",
    "fleet.yaml",
    "profile",
    "README.md",
];

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/credentials")
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// `NAME=value` lines; `#` comments and blank lines ignored.
fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

struct Outcome {
    text: String,
    debug: String,
}

fn run_case(dir: &Path) -> Result<Outcome, String> {
    let fleet = read(&dir.join("fleet.yaml"))
        .or_else(|| read(&cases_dir().join("fleet.yaml")))
        .ok_or("no fleet.yaml")?;
    let emu = Emulator::start_with(
        &fleet,
        EmulatorOptions {
            clock: Clock::Fixed(crate::support::now()),
            ..EmulatorOptions::default()
        },
    );
    let endpoint = emu.endpoint();
    let substitute = |v: &str| {
        v.replace("$EMULATOR", &endpoint)
            .replace("$CASE", VIRTUAL_CASE)
            .replace("$HOME", VIRTUAL_HOME)
    };
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("HOME".into(), VIRTUAL_HOME.into());
    vars.insert("ALIBABA_CLOUD_STS_ENDPOINT".into(), endpoint.clone());
    vars.insert("RENEWCTL_METADATA_ENDPOINT".into(), endpoint.clone());
    let env_text = read(&dir.join("env")).ok_or("no env file")?;
    for (name, value) in parse_env(&env_text) {
        vars.insert(name, substitute(&value));
    }
    let mut files = MemoryFiles::new();
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if CONTROL_FILES.contains(&name.as_str()) {
            continue;
        }
        // Paths inside a mounted file (a config's oidc_token_file) use the same placeholders.
        let content = std::fs::read_to_string(entry.path())
            .map_err(|e| e.to_string())?
            .replace("$CASE", VIRTUAL_CASE)
            .replace("$HOME", VIRTUAL_HOME);
        let mount = if name == "config.json" {
            format!("{VIRTUAL_HOME}/.aliyun/config.json")
        } else {
            format!("{VIRTUAL_CASE}/{name}")
        };
        files = files.with(mount, content);
    }
    let ctx = Context {
        env: Environment::from_pairs(vars),
        files: Arc::new(files),
        clock: Arc::new(ManualClock::new(crate::support::now())),
        profile: read(&dir.join("profile")).map(|p| p.trim().to_string()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(credentials::resolve(&ctx));
    let unsubstitute = |text: &str| {
        text.replace(&endpoint, "$EMULATOR")
            .replace(VIRTUAL_CASE, "$CASE")
            .replace(VIRTUAL_HOME, "$HOME")
    };
    Ok(match result {
        Ok(resolution) => Outcome {
            text: unsubstitute(&Identity::of(&resolution, &resolution.lease).render()),
            debug: format!("{resolution:?} {:?}", resolution.lease),
        },
        Err(error) => Outcome {
            text: format!("error: {}", unsubstitute(&error.to_string())),
            debug: format!("{error:?}"),
        },
    })
}

/// Values that must never be shown: those of secret-looking variables, secret-looking keys of a
/// JSON config, and token files.
fn secrets_of(dir: &Path) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Some(env) = read(&dir.join("env")) {
        for (name, value) in parse_env(&env) {
            if (name.contains("SECRET") || name.contains("TOKEN")) && !name.ends_with("_FILE") {
                secrets.push(value);
            }
        }
    }
    let config = read(&dir.join("config.json"))
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .unwrap_or_default();
    for profile in config["profiles"].as_array().into_iter().flatten() {
        for key in ["access_key_secret", "sts_token"] {
            if let Some(v) = profile[key].as_str() {
                secrets.push(v.to_string());
            }
        }
    }
    if let Some(token) = read(&dir.join("token")) {
        secrets.push(token.trim().to_string());
    }
    secrets.retain(|s| s.len() >= 6);
    secrets
}

fn check_case(dir: &Path) -> Result<(), String> {
    let outcome = run_case(dir)?;
    for secret in secrets_of(dir) {
        if outcome.text.contains(&secret) || outcome.debug.contains(&secret) {
            return Err(format!(
                "a secret leaked:\n{}\n{}",
                outcome.text, outcome.debug
            ));
        }
    }
    let bless = std::env::var_os("RENEWCTL_BLESS").is_some();
    if let Some(expected) = read(&dir.join("expected")) {
        if outcome.text != expected {
            if bless {
                let _ = std::fs::write(dir.join("expected"), &outcome.text);
            }
            return Err(format!("expected:\n{expected}\ngot:\n{}", outcome.text));
        }
        return Ok(());
    }
    if let Some(expected) = read(&dir.join("error")) {
        let mut rest = outcome.text.as_str();
        for line in expected.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match rest.find(line) {
                Some(at) => rest = &rest[at + line.len()..],
                None => {
                    if bless {
                        let _ = std::fs::write(dir.join("error"), &outcome.text);
                    }
                    return Err(format!(
                        "missing (in order) {line:?}\nexpected lines:\n{expected}\ngot:\n{}",
                        outcome.text
                    ));
                }
            }
        }
        return Ok(());
    }
    Err("the case has neither `expected` nor `error`".to_string())
}

#[test]
fn every_case_folder_gives_its_expected_link_or_error() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/credentials exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 40, "only {} cases", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        if let Err(why) = check_case(dir) {
            failures.push(format!("── {}\n{why}", dir.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

/// Every link appears as the supplier of at least one case, and every error path of the chain is
/// exercised: the case list cannot silently lose coverage.
#[test]
fn the_cases_cover_every_link_and_outcome() {
    let mut links = std::collections::BTreeSet::new();
    let mut errors = 0;
    for entry in std::fs::read_dir(cases_dir()).expect("dir").flatten() {
        let expected = read(&entry.path().join("expected")).unwrap_or_default();
        if let Some(link) = expected
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("link: "))
        {
            links.insert(link.to_string());
        }
        if entry.path().join("error").exists() {
            errors += 1;
        }
    }
    let all: Vec<String> = credentials::Link::ALL
        .iter()
        .map(|l| l.name().to_string())
        .collect();
    assert_eq!(links.into_iter().collect::<Vec<_>>(), {
        let mut sorted = all;
        sorted.sort();
        sorted
    });
    assert!(errors >= 20, "only {errors} error cases");
}
