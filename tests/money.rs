//! Money safety against the real binary: two pipelines applying the same saved plan at once,
//! and an apply killed half-way followed by a new plan and apply, renew each instance once.

use std::process::Stdio;
use std::time::{Duration, Instant};

use renewctl::emulator::EmulatorOptions;

use crate::support::cli::{process, renewctl, run};
use crate::support::emulator::Emulator;

const FLEET: &str = include_str!("../examples/fleet.yaml");
const CONFIG: &str = include_str!("../examples/renewal.yaml");

/// The five instances the example plan renews.
const RENEWED: [&str; 5] = [
    "i-bp1demo0000000005",
    "i-bp1demo0000000006",
    "i-bp1demo0000000007",
    "i-bp1demo0000000009",
    "i-bp1demo0000000017",
];

fn renewals(emu: &Emulator) -> Vec<(String, u32)> {
    emu.stats().renewals.into_iter().collect()
}

fn each_renewed_once() -> Vec<(String, u32)> {
    RENEWED.iter().map(|id| (id.to_string(), 1)).collect()
}

#[test]
fn two_applies_of_one_saved_plan_at_once_renew_each_instance_once() {
    let emu = Emulator::start_with(
        FLEET,
        EmulatorOptions {
            latency: Duration::from_millis(30),
            ..EmulatorOptions::default()
        },
    );
    let dir = crate::support::cli::saved_plan(&emu, CONFIG);

    let spawn = || {
        process(&emu)
            .current_dir(&dir)
            .args(["apply", "plan.json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("apply starts")
    };
    let (first, second) = (spawn(), spawn());
    let first = first.wait_with_output().expect("first apply ends");
    let second = second.wait_with_output().expect("second apply ends");

    assert_eq!(
        renewals(&emu),
        each_renewed_once(),
        "money spent once per instance"
    );
    // Each pipeline either applied the plan (the other's renewals were answered from their
    // ClientTokens) or found it stale or already applied: never a double renewal, and at
    // least one succeeded.
    let codes = [first.status.code(), second.status.code()];
    assert!(codes.contains(&Some(0)), "{codes:?}");
    let out = run(renewctl(&emu)
        .current_dir(&dir)
        .args(["plan", "--detailed-exitcode"]));
    assert_eq!(out.code, 0, "converged:\n{}", out.stdout);
}

#[test]
fn an_apply_killed_half_way_then_planned_and_applied_again_renews_nothing_twice() {
    // Slow answers, so that the process is killed with renewals committed but unanswered.
    let emu = Emulator::start_with(
        FLEET,
        EmulatorOptions {
            latency: Duration::from_millis(400),
            ..EmulatorOptions::default()
        },
    );
    let mut child = process(&emu)
        .args([
            "apply",
            "-c",
            "examples/renewal.yaml",
            "--auto-approve",
            "--parallelism",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("apply starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while emu.stats().total_renewals() == 0 {
        assert!(Instant::now() < deadline, "no renewal within 30 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("killed");
    let _ = child.wait();
    let done_before = emu.stats().total_renewals();
    assert!(
        done_before < RENEWED.len() as u64,
        "the kill landed half-way ({done_before} renewed)"
    );

    let out = run(renewctl(&emu).args(["apply", "-c", "examples/renewal.yaml", "--auto-approve"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(renewals(&emu), each_renewed_once());
    let out =
        run(renewctl(&emu).args(["plan", "-c", "examples/renewal.yaml", "--detailed-exitcode"]));
    assert_eq!(out.code, 0, "converged:\n{}", out.stdout);
}
