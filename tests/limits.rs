//! Spending limits against the emulator, through the binary: a plan over a limit — renewals or
//! total price, from the config or a flag, an unknown price or one in another currency under a
//! price limit — is refused with exit 1, naming the limit and the figure, and the emulator
//! receives no mutating call (for a saved plan, no call at all). Flags override the config;
//! a saved plan records its limits and `apply plan.json` checks them again with the flags given
//! then. The pure check is tested here too, on its own figures.

use renewctl::emulator::Stats;
use renewctl::money::{Amount, Money};
use renewctl::plan::spend::{self, Limit, SpendLimits};
use renewctl::planfile;

use crate::support::cli::{renewctl, run, tempdir};
use crate::support::emulator::Emulator;

const FLEET: &str = include_str!("../examples/fleet.yaml");
const CONFIG: &str = include_str!("../examples/renewal.yaml");

/// The example plan makes 5 renewals costing 1920.00 CNY in all (see `prices`).
fn config_with(limits: &str) -> String {
    format!("{CONFIG}\n{limits}")
}

fn mutating(stats: &Stats) -> u64 {
    ["ModifyInstanceAutoRenewAttribute", "RenewInstance"]
        .iter()
        .map(|a| stats.by_action.get(*a).copied().unwrap_or(0))
        .sum()
}

/// Runs `args` in a fresh folder holding `config` as renewal.yaml; returns the run and the
/// folder.
fn renewctl_in(
    emu: &Emulator,
    config: &str,
    args: &[&str],
) -> (crate::support::cli::Run, std::path::PathBuf) {
    let dir = tempdir();
    std::fs::write(dir.join("renewal.yaml"), config).unwrap();
    let out = run(renewctl(emu).current_dir(&dir).args(args));
    (out, dir)
}

/// `plan` and `apply --auto-approve` are both refused with exit 1 and `expected` in stderr,
/// and the emulator gets no mutating call.
fn refused(config: &str, flags: &[&str], expected: &[&str]) {
    let emu = Emulator::start(FLEET);
    for command in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let args: Vec<&str> = command.iter().chain(flags).copied().collect();
        let (out, dir) = renewctl_in(&emu, config, &args);
        assert_eq!(out.code, 1, "{args:?}:\n{}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr
                .contains("the plan is refused by its spending limits"),
            "{args:?}: {}",
            out.stderr
        );
        for needle in expected {
            assert!(
                out.stderr.contains(needle),
                "{args:?}: {needle:?} missing:\n{}",
                out.stderr
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }
    let stats = emu.stats();
    assert_eq!(mutating(&stats), 0, "{:?}", stats.by_action);
    assert!(stats.renewals.is_empty());
}

#[test]
fn max_renewals_from_the_config_refuses_a_plan_that_renews_more() {
    refused(
        &config_with("limits:\n  max_renewals: 3\n"),
        &[],
        &[
            "the plan makes 5 renewals, more than max_renewals 3 (limits.max_renewals in renewal.yaml)",
        ],
    );
}

#[test]
fn max_renewals_from_a_flag_refuses_and_only_tightens_the_config() {
    refused(
        &config_with("limits:\n  max_renewals: 10\n"),
        &["--max-renewals", "4"],
        &["more than max_renewals 4 (--max-renewals)"],
    );
    // A looser flag never loosens the file: the file's limit holds, and a warning says so.
    let emu = Emulator::start(FLEET);
    let (out, dir) = renewctl_in(
        &emu,
        &config_with("limits:\n  max_renewals: 1\n"),
        &["plan", "--max-renewals", "5"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "warning: --max-renewals 5 is looser than max_renewals 1 (limits.max_renewals in renewal.yaml): the lower holds"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("more than max_renewals 1 (limits.max_renewals in renewal.yaml)"),
        "{}",
        out.stderr
    );
    let _ = std::fs::remove_dir_all(dir);
    // A price flag in another currency than the file's limit is refused before any call.
    let emu = Emulator::start(FLEET);
    let (out, dir) = renewctl_in(
        &emu,
        &config_with("limits:\n  max_total_price: 1000\n  currency: CNY\n"),
        &["plan", "--max-total-price", "10:USD"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("in another currency than max_total_price 1000.00 CNY"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.stats().requests, 0, "refused before any call");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn max_total_price_refuses_a_plan_that_costs_more() {
    refused(
        &config_with("limits:\n  max_total_price: 1000\n  currency: CNY\n"),
        &[],
        &[
            "the renewals cost 1920.00 CNY, more than max_total_price 1000.00 CNY (limits.max_total_price in renewal.yaml)",
        ],
    );
    refused(
        CONFIG,
        &["--max-total-price", "1919.99:CNY"],
        &[
            "the renewals cost 1920.00 CNY, more than max_total_price 1919.99 CNY (--max-total-price)",
        ],
    );
}

#[test]
fn an_unknown_price_or_another_currency_cannot_prove_a_price_limit() {
    refused(
        &config_with("limits:\n  max_total_price: 100000\n  currency: CNY\n"),
        &["--no-prices"],
        &[
            "5 renewal prices are unknown (i-bp1demo0000000005: prices were not read (--no-prices)), so the total cannot be shown to stay within max_total_price 100000.00 CNY",
        ],
    );
    refused(
        CONFIG,
        &["--max-total-price", "100000:USD"],
        &[
            "5 renewals are priced in CNY (1920.00 CNY in all), not in USD: max_total_price 100000.00 USD (--max-total-price) cannot be checked against them",
        ],
    );
}

#[test]
fn a_plan_within_its_limits_is_applied() {
    let emu = Emulator::start(FLEET);
    let config =
        config_with("limits:\n  max_renewals: 5\n  max_total_price: 1920\n  currency: CNY\n");
    let (out, dir) = renewctl_in(&emu, &config, &["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Limits: at most 5 renewals (limits.max_renewals in renewal.yaml); at most 1920.00 CNY in all (limits.max_total_price in renewal.yaml)."),
        "{}",
        out.stdout
    );
    assert_eq!(emu.stats().total_renewals(), 5);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_price_flag_without_currency_takes_the_config_s_or_is_refused_before_any_call() {
    let emu = Emulator::start(FLEET);
    let (out, dir) = renewctl_in(&emu, CONFIG, &["plan", "--max-total-price", "5000"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("--max-total-price 5000.00: in which currency? Write AMOUNT:CURRENCY"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.stats().requests, 0, "refused before any call");
    let _ = std::fs::remove_dir_all(dir);

    let config = config_with("limits:\n  max_total_price: 100000\n  currency: CNY\n");
    let (out, dir) = renewctl_in(&emu, &config, &["plan", "--max-total-price", "1000"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("more than max_total_price 1000.00 CNY (--max-total-price)"),
        "{}",
        out.stderr
    );
    let _ = std::fs::remove_dir_all(dir);

    for bad in ["lots", "5000:yuan", "-5:CNY", "1e3:CNY"] {
        let flag = format!("--max-total-price={bad}");
        let (out, dir) = renewctl_in(&emu, CONFIG, &["plan", &flag]);
        assert_eq!(out.code, 1, "{bad}: a usage error, never success");
        assert!(
            out.stderr.contains("--max-total-price"),
            "{bad}: {}",
            out.stderr
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_plan_over_its_limits_is_not_saved() {
    let emu = Emulator::start(FLEET);
    let (out, dir) = renewctl_in(
        &emu,
        CONFIG,
        &["plan", "--out", "plan.json", "--max-renewals", "2"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        !dir.join("plan.json").exists(),
        "a refused plan cannot be applied later"
    );
    assert!(
        out.stdout.contains("renewctl will make these changes"),
        "still shown for review"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_saved_plan_is_checked_again_against_its_recorded_limits_and_the_flags_before_any_call() {
    let emu = Emulator::start(FLEET);
    let config = config_with("limits:\n  max_renewals: 5\n");
    let (out, dir) = renewctl_in(&emu, &config, &["plan", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bytes = std::fs::read(dir.join("plan.json")).unwrap();
    let mut plan = planfile::read(&bytes, "plan.json").expect("saved plan");
    assert_eq!(
        plan.limits.max_renewals,
        Some(Limit {
            value: 5,
            set_by: "limits.max_renewals in renewal.yaml".into()
        })
    );
    emu.handle().clear_requests();
    let before = emu.stats().requests;

    // A flag given at apply time is checked too.
    let out =
        run(renewctl(&emu)
            .current_dir(&dir)
            .args(["apply", "plan.json", "--max-renewals", "4"]));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("the plan makes 5 renewals, more than max_renewals 4 (--max-renewals)"),
        "{}",
        out.stderr
    );
    let out = run(renewctl(&emu).current_dir(&dir).args([
        "apply",
        "plan.json",
        "--max-total-price",
        "100",
    ]));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("--max-total-price 100.00: in which currency?"),
        "no price limit recorded to take a currency from: {}",
        out.stderr
    );

    // The recorded limits are checked again (here as if the plan had been made by a renewctl
    // that did not enforce them): refused, naming where the limit was recorded.
    plan.limits.max_renewals = Some(Limit {
        value: 2,
        set_by: "limits.max_renewals in renewal.yaml".into(),
    });
    std::fs::write(dir.join("plan.json"), planfile::to_saved_json(&plan)).unwrap();
    let out = run(renewctl(&emu)
        .current_dir(&dir)
        .args(["apply", "plan.json"]));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains(
            "more than max_renewals 2 (limits.max_renewals in renewal.yaml, recorded in plan.json)"
        ),
        "{}",
        out.stderr
    );
    let out = run(renewctl(&emu)
        .current_dir(&dir)
        .args(["apply", "plan.json", "--no-prices"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("--no-prices is for planning"),
        "{}",
        out.stderr
    );

    assert_eq!(
        emu.stats().requests,
        before,
        "no call at all, not even a read"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_check_names_every_broken_limit_at_once() {
    // The example plan, priced, from the emulator: 5 renewals, 1920.00 CNY.
    let emu = Emulator::start(FLEET);
    let (out, dir) = renewctl_in(&emu, CONFIG, &["plan", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan = planfile::read(&std::fs::read(dir.join("plan.json")).unwrap(), "plan.json")
        .expect("saved plan");
    let _ = std::fs::remove_dir_all(dir);

    let money = |amount: &str| Money {
        amount: Amount::parse(amount).unwrap(),
        currency: "CNY".into(),
    };
    let limits = |renewals: u64, price: &str| SpendLimits {
        max_renewals: Some(Limit {
            value: renewals,
            set_by: "test".into(),
        }),
        max_total_price: Some(Limit {
            value: money(price),
            set_by: "test".into(),
        }),
    };
    assert_eq!(
        spend::check(&plan, &limits(5, "1920")),
        Ok(()),
        "at the limits is within"
    );
    assert_eq!(spend::check(&plan, &SpendLimits::default()), Ok(()));
    let err = spend::check(&plan, &limits(4, "1919.99")).unwrap_err();
    assert_eq!(err.violations.len(), 2, "{err}");
    assert_eq!(
        spend::check(&plan, &limits(0, "100000"))
            .unwrap_err()
            .violations,
        vec!["the plan makes 5 renewals, more than max_renewals 0 (test)".to_string()]
    );
}
