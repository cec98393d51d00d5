//! The two Alibaba Cloud sites (ecs::site): what each accepts, in validation, in the planner and
//! in the emulator; the account's site checked against the prices before money moves; a saved
//! plan made for one site refused on the other; VPC endpoints and hosts per region.

use renewctl::desired;
use renewctl::ecs::Site;
use renewctl::emulator::Stats;
use renewctl::plan::{self, Plan};
use serde_json::Value;

use crate::support::cli::{Run, renewctl, run, tempdir};
use crate::support::emulator::Emulator;
use crate::support::{instance, now, observed};

const FLEET: &str = include_str!("../examples/fleet.yaml");
const CONFIG: &str = include_str!("../examples/renewal.yaml");

/// The example fleet on the international site.
fn international_fleet() -> String {
    format!("site: international\n{FLEET}")
}

/// The example config with `site: SITE` declared.
fn config_for(site: &str) -> String {
    CONFIG.replacen("version: 1\n", &format!("version: 1\nsite: {site}\n"), 1)
}

/// The next `n` DescribeRenewalPrice requests are refused (a key without permission).
fn refuse_prices(emu: &Emulator, n: usize) {
    for _ in 0..n {
        emu.push_fault(
            Some("DescribeRenewalPrice"),
            renewctl::emulator::FaultKind::Refuse {
                status: 403,
                code: "Forbidden.RAM",
            },
        );
    }
}

fn mutating(stats: &Stats) -> u64 {
    ["ModifyInstanceAutoRenewAttribute", "RenewInstance"]
        .iter()
        .map(|a| stats.by_action.get(*a).copied().unwrap_or(0))
        .sum()
}

/// Runs `args` against `emu` in `dir`, where renewal.yaml is `config`.
fn in_dir(emu: &Emulator, dir: &std::path::Path, config: &str, args: &[&str]) -> Run {
    std::fs::write(dir.join("renewal.yaml"), config).unwrap();
    run(renewctl(emu).current_dir(dir).args(args))
}

/// A policy of one instance, whose renewal is chosen for `min_remaining`.
fn renew_policy(site: Option<&str>, min_remaining: &str, step: &str) -> String {
    format!(
        "version: 1\n{}regions: [cn-hangzhou]\npolicies:\n  - name: p\n    match: {{ids: [i-a]}}\n    renewal: manual\n    min_remaining: {min_remaining}\n    renew_period: {step}\n",
        site.map(|s| format!("site: {s}\n")).unwrap_or_default()
    )
}

fn plan_of(yaml: &str) -> Plan {
    let config = match desired::parse(yaml.as_bytes(), "renewal.yaml") {
        Ok(config) => config,
        Err(err) => panic!("{yaml}\n{err}"),
    };
    plan::plan(
        &config.desired,
        &observed(vec![instance("i-a", &[], 5)]),
        now(),
        &config.digest,
    )
}

#[test]
fn china_only_values_validate_with_site_china_and_never_otherwise() {
    let values = [
        "    renewal: auto\n    auto_renew_period: 2 weeks\n",
        "    renewal: manual\n    min_remaining: 10 days\n    renew_period: 1 week\n",
        "    renewal: manual\n    min_remaining: 400 days\n    renew_period: 2 years\n",
        "    renewal: manual\n    min_remaining: 400 days\n    renew_period: 24 months\n",
    ];
    for value in values {
        let file = |site: &str| {
            format!(
                "version: 1\n{site}regions: [cn-hangzhou]\npolicies:\n  - name: p\n    match: {{tags: {{env: prod}}}}\n{value}"
            )
        };
        assert!(
            desired::parse(file("site: china\n").as_bytes(), "r.yaml").is_ok(),
            "{value}"
        );
        for site in ["", "site: international\n"] {
            let err = desired::parse(file(site).as_bytes(), "r.yaml").expect_err(value);
            let text = err.to_string();
            assert!(
                text.contains("accepted by the China site (aliyun.com) only")
                    && text.contains("declare `site: china`"),
                "{site}{value}\n{text}"
            );
        }
        // The site may also be given for one run.
        let given = desired::SiteOverride {
            site: Site::China,
            given_by: "--site",
        };
        assert!(desired::parse_for_site(file("").as_bytes(), "r.yaml", Some(given)).is_ok());
        let err = desired::parse_for_site(
            file("site: international\n").as_bytes(),
            "r.yaml",
            Some(given),
        )
        .expect_err("the file and the flag disagree");
        assert!(
            err.to_string()
                .contains("the file declares `site: international`, and --site says china"),
            "{err}"
        );
    }
}

#[test]
fn the_renewal_chosen_for_min_remaining_never_leaves_the_site_set() {
    // Expiring in 5 days, 400 days wanted: 12 months do not reach it.
    let china = plan_of(&renew_policy(Some("china"), "400 days", "1 month"));
    let both = plan_of(&renew_policy(None, "400 days", "1 month"));
    let international = plan_of(&renew_policy(Some("international"), "400 days", "1 month"));
    let period = |plan: &Plan| {
        plan.changes
            .iter()
            .find_map(|c| c.renewal())
            .map(|r| (r.period.count, r.period.unit.as_api()))
    };
    assert_eq!(period(&china), Some((24, "Month")));
    for plan in [&both, &international] {
        assert_eq!(period(plan), Some((12, "Month")), "the longest both accept");
        assert!(
            plan.warnings.iter().any(|w| w.message.contains("longest")),
            "{:?}",
            plan.warnings
        );
    }
    assert_eq!(international.site, Some(Site::International));
    assert_eq!(both.site, None);
    // Every step and target: the chosen length is one the site accepts.
    let international_months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12];
    for step in ["1 month", "2 months", "3 months", "6 months", "1 year"] {
        for days in [1, 20, 40, 100, 200, 300, 1000] {
            for site in [None, Some("international")] {
                let plan = plan_of(&renew_policy(site, &format!("{days} days"), step));
                if let Some((count, unit)) = period(&plan) {
                    assert_eq!(unit, "Month");
                    assert!(
                        international_months.contains(&count),
                        "{site:?} {step} {days}: {count}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_international_site_charges_three_days_before_expiry() {
    let yaml = |site: &str| {
        format!(
            "version: 1\n{site}regions: [cn-hangzhou]\npolicies:\n  - name: p\n    match: {{ids: [i-a]}}\n    renewal: auto\n    auto_renew_period: 1 month\n"
        )
    };
    let first = |yaml: String| {
        plan_of(&yaml).changes[0]
            .setting()
            .and_then(|s| s.first_deduction)
            .expect("a first deduction")
    };
    let china = first(yaml("site: china\n"));
    let international = first(yaml("site: international\n"));
    assert_eq!(first(yaml("")), china, "without a site: the earlier rule");
    // The instance expires in 5 days: the China rule (9 days before) is already past, so it is
    // the next day; the international rule is 3 days before expiry, later.
    assert!(international > china, "{china} {international}");
}

#[test]
fn an_international_emulator_refuses_what_only_the_china_site_accepts() {
    let emu = Emulator::start(&international_fleet());
    let dir = tempdir();
    let api = crate::support::fast_client(emu.endpoint(), 1, std::time::Duration::from_secs(5));
    let rt = tokio::runtime::Runtime::new().unwrap();
    use renewctl::cloud::EcsApi;
    use renewctl::ecs::{
        AutoRenewPeriod, AutoRenewSetting, ClientToken, Mutation, PeriodUnit, RenewalPeriod,
    };
    let id = "i-bp1demo0000000007";
    let code = |mutation: Mutation| {
        let err = rt.block_on(api.execute(&mutation)).expect_err("refused");
        err.code().map(str::to_owned)
    };
    let renew = |count, unit| Mutation::Renew {
        region: "cn-hangzhou".into(),
        id: id.into(),
        period: RenewalPeriod { count, unit },
        token: ClientToken::from_recorded(&format!("t-{count}-{unit}")).unwrap(),
    };
    assert_eq!(
        code(renew(24, PeriodUnit::Month)).as_deref(),
        Some("InvalidPeriod")
    );
    assert_eq!(
        code(renew(1, PeriodUnit::Week)).as_deref(),
        Some("InvalidPeriodUnit.ValueNotSupported")
    );
    let weekly = Mutation::ModifyAutoRenew {
        region: "cn-hangzhou".into(),
        ids: vec![id.into()],
        setting: AutoRenewSetting::Auto(AutoRenewPeriod {
            duration: 1,
            unit: PeriodUnit::Week,
        }),
    };
    assert_eq!(
        code(weekly).as_deref(),
        Some("InvalidPeriodUnit.ValueNotSupported")
    );
    assert_eq!(emu.stats().renewals.len(), 0, "nothing renewed");
    // Prices are in USD there.
    let out = in_dir(&emu, &dir, CONFIG, &["plan", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let totals = plan["summary"]["total_price"].as_object().expect("totals");
    assert_eq!(
        totals.keys().collect::<Vec<_>>(),
        vec!["USD"],
        "{}",
        plan["summary"]
    );
}

#[test]
fn a_declared_site_the_account_contradicts_is_refused_before_any_money_moves() {
    // Planning for the China site against an international account: the prices say otherwise.
    let emu = Emulator::start(&international_fleet());
    let dir = tempdir();
    for args in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let out = in_dir(&emu, &dir, &config_for("china"), args);
        assert_eq!(out.code, 1, "{args:?}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr
                .contains("the account is on the international site (alibabacloud.com), but the China site (aliyun.com) was declared")
                && out.stderr.contains("answered in USD"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(mutating(&emu.stats()), 0);

    // A plan saved against a China account, applied to an international one.
    let china = Emulator::start(FLEET);
    let out = in_dir(
        &china,
        &dir,
        &config_for("china"),
        &["plan", "--out", "plan.json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["site"], "china", "the plan records its site");
    let out = in_dir(&emu, &dir, &config_for("china"), &["apply", "plan.json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("the account is on the international site"),
        "{}",
        out.stderr
    );
    assert_eq!(
        mutating(&emu.stats()),
        0,
        "not a single call that costs money"
    );
    // When the account cannot be asked, nothing is paid either: every renewal asked in turn
    // (at most five) is refused its price.
    refuse_prices(&china, 5);
    let out = in_dir(&china, &dir, &config_for("china"), &["apply", "plan.json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "cannot check that the account is on the China site (aliyun.com) before paying"
        ) && out.stderr.contains("Forbidden.RAM"),
        "{}",
        out.stderr
    );
    assert_eq!(mutating(&china.stats()), 0);
    // One renewal whose price cannot be read blocks nothing: the next one is asked.
    refuse_prices(&china, 1);
    // On the China account it applies.
    let out = in_dir(&china, &dir, &config_for("china"), &["apply", "plan.json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn a_saved_plan_is_applied_only_under_the_site_it_was_made_for() {
    let emu = Emulator::start(FLEET);
    let dir = tempdir();
    let out = in_dir(
        &emu,
        &dir,
        CONFIG,
        &["--site", "china", "plan", "--out", "plan.json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = emu.stats().requests;
    let out = in_dir(&emu, &dir, CONFIG, &["apply", "plan.json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("plan.json was made for site china, and no site is in force now"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.stats().requests, before, "refused before any request");
    // A site that does not exist, and a BSS endpoint that is not a URL, are usage errors.
    let out = in_dir(&emu, &dir, CONFIG, &["--site", "intl", "plan"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("\"intl\" is not a site"),
        "{}",
        out.stderr
    );
    let out = in_dir(&emu, &dir, CONFIG, &["--bss-endpoint", "ftp://x", "check"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("invalid endpoint \"ftp://x\""),
        "{}",
        out.stderr
    );
    // RENEWCTL_SITE works like --site.
    let out = run(renewctl(&emu)
        .current_dir(&dir)
        .env("RENEWCTL_SITE", "china")
        .args(["apply", "plan.json"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn whoami_shows_the_site_and_the_host_of_each_region() {
    let dir = tempdir();
    let file = dir.join("renewal.yaml");
    let config = format!(
        "{}endpoint_type: vpc\nendpoints:\n  cn-shanghai: ecs.cn-shanghai.example-finance.com\n",
        config_for("china")
    );
    std::fs::write(&file, config).unwrap();
    let whoami = |env: &[(&str, &str)], file: &std::path::Path| {
        let mut cmd = crate::support::cmd::renewctl();
        cmd.env("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIexample")
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "example-secret");
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd.args(["whoami", "-c"]).arg(file))
    };
    let out = whoami(&[], &file);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("site: china (the China site (aliyun.com))"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("cn-hangzhou: https://ecs-vpc.cn-hangzhou.aliyuncs.com/")
            && out
                .stdout
                .contains("cn-shanghai: https://ecs.cn-shanghai.example-finance.com/"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("example-secret"));
    // The SDKs' switch, when the file does not say.
    std::fs::write(&file, CONFIG).unwrap();
    let out = whoami(&[("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "true")], &file);
    assert!(
        out.stdout
            .contains("cn-hangzhou: https://ecs-vpc.cn-hangzhou.aliyuncs.com/")
            && out.stdout.contains("site: not declared"),
        "{}",
        out.stdout
    );
    let out = whoami(&[], &file);
    assert!(
        out.stdout
            .contains("cn-hangzhou: https://ecs.cn-hangzhou.aliyuncs.com/"),
        "{}",
        out.stdout
    );
}

#[test]
fn whoami_probe_site_asks_the_account() {
    for (fleet, site, declared_other) in [
        (FLEET.to_string(), "china", "international"),
        (international_fleet(), "international", "china"),
    ] {
        let emu = Emulator::start(&fleet);
        let dir = tempdir();
        let out = in_dir(
            &emu,
            &dir,
            CONFIG,
            &["whoami", "-c", "renewal.yaml", "--probe-site"],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout
                .contains(&format!("add to renewal.yaml: site: {site}")),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("BSS QueryAccountBalance"),
            "{}",
            out.stdout
        );
        assert_eq!(mutating(&emu.stats()), 0);
        // Without BSS (no permission, no endpoint), the currency of a price says it.
        let out = in_dir(
            &emu,
            &dir,
            CONFIG,
            &[
                "--bss-endpoint",
                "http://127.0.0.1:9/",
                "whoami",
                "-c",
                "renewal.yaml",
                "--probe-site",
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout.contains("DescribeRenewalPrice of")
                && out
                    .stdout
                    .contains(&format!("add to renewal.yaml: site: {site}")),
            "{}",
            out.stdout
        );
        let out = in_dir(
            &emu,
            &dir,
            &config_for(declared_other),
            &["whoami", "-c", "renewal.yaml", "--probe-site"],
        );
        assert_eq!(out.code, 1, "{}", out.stdout);
        assert!(out.stderr.contains("the account is on"), "{}", out.stderr);
    }
}
