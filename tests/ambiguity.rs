//! Ambiguity is not failure (DESIGN.md §8): a renewal whose fate is unknown — no answer, a 5xx
//! or a "processing" code past the retry budget, an answer that cannot be read — ends "unknown:
//! may have been charged", never "failed", and the re-read of its expiry says what happened:
//! renewed (it shows), not renewed (it does not, within the bound), each case against the
//! emulator with the fault scripted. The "processing" codes are retried with the same token;
//! both spellings of the idempotence mismatch are a token conflict.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use renewctl::apply::{ApplyOptions, Outcome, Report, Stop, apply_with};
use renewctl::cloud::EcsClient;
use renewctl::emulator::{self, EmulatorHandle, EmulatorOptions, FaultKind, Fleet};
use renewctl::plan::Action;
use renewctl::report::{Checked, Verdict};
use renewctl::verify::VerifyOptions;

const FLEET: &str = "access_keys: [{id: LTAIdemo, secret: demo-secret}]\nregions:\n  cn-hangzhou:\n    - {id: i-bp1amb000000000001, expires_in: 10 days, tags: {team: pay}, renewal: {status: Normal}}\n";
const CONFIG: &str = "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: pay\n    match: {tags: {team: pay}}\n    renewal: manual\n    min_remaining: 30 days\n";
const ATTEMPTS: u32 = 3;

fn client(endpoint: String) -> EcsClient {
    // The timeout fault holds an answer for 30 s: give up long before.
    crate::support::fast_client(endpoint, ATTEMPTS, Duration::from_millis(300))
}

/// Plans the one renewal, scripts `faults` for RenewInstance, applies; returns the report and
/// the emulator.
async fn renew_under(faults: &[FaultKind]) -> (Report, EmulatorHandle) {
    let emu = emulator::start(
        Fleet::from_yaml_str(FLEET).expect("fleet"),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        EmulatorOptions::default(),
    )
    .await
    .expect("emulator");
    let api = client(emu.endpoint());
    let config = renewctl::desired::parse(CONFIG.as_bytes(), "renewal.yaml").expect("config");
    let observed = renewctl::observe::observe(&api, &config.desired).await;
    let now = jiff::Timestamp::now();
    let plan = renewctl::plan::plan(&config.desired, &observed, now, &config.digest);
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].action(), Action::Renew);
    for &kind in faults {
        emu.push_fault(Some("RenewInstance"), kind);
    }
    let options = ApplyOptions {
        lag: VerifyOptions {
            timeout: Duration::from_secs(1),
            first_pause: Duration::from_millis(100),
            max_pause: Duration::from_millis(300),
        },
        now,
        ..ApplyOptions::default()
    };
    let report = apply_with(&api, &plan, &options, &Stop::new(), |_| {}).await;
    (report, emu)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The renewal ended unknown, and its re-read said `renewed` or not.
fn assert_unknown_then(report: &Report, renewed: bool, what: &str) {
    assert!(
        matches!(report.outcomes[0], Outcome::Unknown { .. }),
        "{what}: {:?}",
        report.outcomes[0]
    );
    assert_eq!(report.failed(), 0, "{what}: never a failure");
    let check = &report
        .verification
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: verified"))
        .checks[0];
    assert_eq!(check.checked, Checked::Ambiguous, "{what}");
    assert_eq!(check.renewed(), renewed, "{what}: {:?}", check.verdict);
    if !renewed {
        assert!(
            matches!(check.verdict, Verdict::NotYetVisible { .. }),
            "{what}: {:?}",
            check.verdict
        );
    }
    // Done only when the re-read shows it was.
    assert_eq!(report.is_complete(), renewed, "{what}");
}

#[test]
fn every_processing_code_past_the_budget_is_unknown_and_the_re_read_says_not_renewed() {
    let rt = rt();
    for code in [
        "LastTokenProcessing",
        "LastOrderProcessing",
        "LastRequestProcessing",
        "Idempotence.Processing",
    ] {
        let faults = vec![FaultKind::Refuse { status: 400, code }; ATTEMPTS as usize];
        let (report, emu) = rt.block_on(renew_under(&faults));
        assert_unknown_then(&report, false, code);
        // Retried with the same token, attempt after attempt: the same request each time.
        let sent = emu
            .requests()
            .iter()
            .filter(|r| r.action == "RenewInstance")
            .count();
        assert_eq!(sent, ATTEMPTS as usize, "{code}");
        assert!(emu.stats().ledger.is_empty(), "{code}: nothing paid");
        rt.block_on(emu.shutdown());
    }
}

#[test]
fn a_processing_code_within_the_budget_is_retried_with_the_same_token_and_renews_once() {
    let rt = rt();
    let (report, emu) = rt.block_on(renew_under(&[FaultKind::Refuse {
        status: 400,
        code: "LastOrderProcessing",
    }]));
    assert!(
        matches!(report.outcomes[0], Outcome::Succeeded { .. }),
        "{:?}",
        report.outcomes[0]
    );
    assert_eq!(emu.stats().ledger.len(), 1);
    rt.block_on(emu.shutdown());
}

#[test]
fn no_answer_and_5xx_past_the_budget_are_unknown_and_the_re_read_says_not_renewed() {
    let rt = rt();
    for (kind, what) in [
        (FaultKind::Timeout, "timeout"),
        (FaultKind::ServerError, "503"),
    ] {
        let (report, emu) = rt.block_on(renew_under(&vec![kind; ATTEMPTS as usize]));
        assert_unknown_then(&report, false, what);
        assert!(emu.stats().ledger.is_empty(), "{what}: nothing paid");
        rt.block_on(emu.shutdown());
    }
}

#[test]
fn an_answer_lost_or_unreadable_after_the_renewal_is_unknown_and_the_re_read_says_renewed() {
    let rt = rt();
    for (faults, what) in [
        (
            vec![FaultKind::DropAfterCommit; ATTEMPTS as usize],
            "connection dropped after commit",
        ),
        (
            vec![FaultKind::GarbageAfterCommit],
            "undecodable answer after commit",
        ),
    ] {
        let (report, emu) = rt.block_on(renew_under(&faults));
        assert_unknown_then(&report, true, what);
        // Paid once, however many times the request was repeated with its token.
        assert_eq!(emu.stats().ledger.len(), 1, "{what}");
        rt.block_on(emu.shutdown());
    }
}

#[test]
fn both_spellings_of_the_idempotence_mismatch_are_a_token_conflict() {
    let rt = rt();
    for code in ["IdempotentParameterMismatch", "IdempotenceParamNotMatch"] {
        let (report, emu) = rt.block_on(renew_under(&[FaultKind::Refuse { status: 400, code }]));
        match &report.outcomes[0] {
            Outcome::TokenConflict { code: got, .. } => assert_eq!(got, code),
            other => panic!("{code}: {other:?}"),
        }
        let check = &report.verification.as_ref().expect("verified").checks[0];
        assert_eq!(check.checked, Checked::TokenConflict);
        // Nothing renewed it: the token is held (here by a scripted refusal).
        assert!(!check.renewed());
        assert!(check.needs_attention());
        assert!(!report.is_complete());
        assert_eq!(
            emu.requests()
                .iter()
                .filter(|r| r.action == "RenewInstance")
                .count(),
            1,
            "{code}: never retried"
        );
        rt.block_on(emu.shutdown());
    }
}
