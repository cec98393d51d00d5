//! `renewctl check --notify` against a local webhook receiver that checks each platform's
//! signature the documented way (computed here independently) and answers its documented
//! errors: one failing sink among three, a rate limit retried, silence when all is well,
//! routing by team, a missing variable, no secret in any output at -vv, and the size limits
//! with 10,000 instances.

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::support::cli::{Run, renewctl, run, tempdir};
use crate::support::emulator::Emulator;
use crate::support::receiver::{Received, Receiver};

const DT_SECRET: &str = "SECdingtalk-test-secret";
const FS_SECRET: &str = "feishu-test-secret";
const TOKEN: &str = "tok3nThatMustNeverBePrinted";

/// Two instances of two teams expiring in 12 hours with nothing renewing them.
const FLEET: &str = "access_keys:\n  - {id: LTAInotify, secret: notify-secret}\nbalance: 5000\nregions:\n  cn-hangzhou:\n    - {id: i-bp1pay0001, charge_type: PrePaid, expires_in: 12 hours, tags: {team: payments}, renewal: {status: Normal, duration: 0, period_unit: Month}}\n    - {id: i-bp1ads0001, charge_type: PrePaid, expires_in: 12 hours, tags: {team: ads}, renewal: {status: Normal, duration: 0, period_unit: Month}}\n";

const HEAD: &str = "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: keep\n    match: {tags: {team: '*'}}\n    renewal: manual\n";

fn query(target: &str) -> BTreeMap<String, String> {
    let q = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// DingTalk's check: timestamp (ms) within an hour, sign = base64(HMAC-SHA256(secret,
/// "ts\nsecret")) (notify.md §1).
fn dingtalk_ok(r: &Received) -> bool {
    let q = query(&r.target);
    let (Some(ts), Some(sign)) = (q.get("timestamp"), q.get("sign")) else {
        return false;
    };
    let Ok(ts) = ts.parse::<i64>() else {
        return false;
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(DT_SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}\n{DT_SECRET}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (now - ts).abs() < 3_600_000
        && *sign == expected
        && q.get("access_token").map(String::as_str) == Some(TOKEN)
}

/// Feishu's check: the body's timestamp (s) and sign = base64(HMAC-SHA256(key = "ts\nsecret",
/// empty message)) (notify.md §2).
fn feishu_ok(r: &Received) -> bool {
    let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    let (Some(ts), Some(sign)) = (body["timestamp"].as_str(), body["sign"].as_str()) else {
        return false;
    };
    let mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(format!("{ts}\n{FS_SECRET}").as_bytes()).unwrap();
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    sign == expected
}

/// The platforms, by path: DingTalk and Feishu check signatures; Slack's channel is gone;
/// `/ratelimited` answers 429 once; `/hook/…` takes anything.
fn platforms() -> Receiver {
    Receiver::start(|r, before| {
        let path = r.target.split('?').next().unwrap_or("");
        if path == "/robot/send" {
            if dingtalk_ok(r) {
                (200, r#"{"errcode":0,"errmsg":"ok"}"#.into())
            } else {
                (
                    200,
                    r#"{"errcode":310000,"errmsg":"sign not match"}"#.into(),
                )
            }
        } else if path.starts_with("/open-apis/bot/v2/hook/") {
            if feishu_ok(r) {
                (200, r#"{"code":0,"msg":"success","data":{}}"#.into())
            } else {
                (200, r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#.into())
            }
        } else if path.starts_with("/services/") {
            (404, "channel_not_found".into())
        } else if path == "/ratelimited" && before == 0 {
            (429, "rate_limited".into())
        } else {
            (200, "ok".into())
        }
    })
}

fn check(emu: &Emulator, config: &str, env: &[(&str, String)], args: &[&str]) -> Run {
    let dir = tempdir();
    std::fs::write(dir.join("renewal.yaml"), config).unwrap();
    let mut cmd = renewctl(emu);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd.current_dir(&dir).args(["check", "--notify"]).args(args))
}

fn sinks(yaml: &str) -> String {
    format!("{HEAD}notify:\n  sinks:\n{yaml}")
}

#[test]
fn one_failing_sink_among_three_fails_the_run_and_the_others_get_theirs() {
    let emu = Emulator::start(FLEET);
    let rx = platforms();
    let config = sinks(
        "    - {name: ops-dingtalk, type: dingtalk, url_env: DT_URL, secret_env: DT_SECRET}\n    - {name: ops-feishu, type: feishu, url_env: FS_URL, secret_env: FS_SECRET}\n    - {name: ops-slack, type: slack, url_env: SLACK_URL}\n",
    );
    let env = [
        (
            "DT_URL",
            format!("{}/robot/send?access_token={TOKEN}", rx.base),
        ),
        ("DT_SECRET", DT_SECRET.to_string()),
        (
            "FS_URL",
            format!("{}/open-apis/bot/v2/hook/{TOKEN}", rx.base),
        ),
        ("FS_SECRET", FS_SECRET.to_string()),
        (
            "SLACK_URL",
            format!("{}/services/T000/B000/{TOKEN}", rx.base),
        ),
    ];
    let out = check(&emu, &config, &env, &["-vv"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("notified ops-dingtalk"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("notified ops-feishu"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("error: sink ops-slack: HTTP 404: channel_not_found"),
        "{}",
        out.stderr
    );
    for secret in [TOKEN, DT_SECRET, FS_SECRET] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{secret} printed"
        );
    }
    let received = rx.received();
    assert_eq!(
        received.len(),
        3,
        "one message per sink, the 404 not retried"
    );
    let dingtalk: Value = serde_json::from_str(
        &received
            .iter()
            .find(|r| r.target.starts_with("/robot"))
            .unwrap()
            .body,
    )
    .unwrap();
    let text = dingtalk["markdown"]["text"].as_str().unwrap();
    assert!(
        text.contains("i-bp1pay0001") && text.contains("i-bp1ads0001"),
        "{text}"
    );
    assert_eq!(emu.stats().mutating_requests, 0);

    // A wrong secret is the platform's refusal, named, not retried.
    let mut wrong = env.clone();
    wrong[1].1 = "SECnot-the-secret".to_string();
    let out = check(&emu, &config, &wrong, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error: sink ops-dingtalk: HTTP 200, errcode 310000: sign not match"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_rate_limit_is_retried_and_a_missing_variable_is_named() {
    let emu = Emulator::start(FLEET);
    let rx = platforms();
    let config = sinks("    - {name: hook, type: slack, url_env: HOOK_URL}\n");
    let out = check(
        &emu,
        &config,
        &[("HOOK_URL", format!("{}/ratelimited", rx.base))],
        &[],
    );
    assert_eq!(out.code, 2, "the check's own exit code\n{}", out.stderr);
    assert!(
        out.stderr.contains("notified hook (after 2 attempts)"),
        "{}",
        out.stderr
    );
    let out = check(&emu, &config, &[], &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error: sink hook: the environment variable HOOK_URL (url_env) is not set"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_webhook_url_without_tls_is_refused_before_sending() {
    let emu = Emulator::start(FLEET);
    let config = sinks("    - {name: hook, type: webhook, url_env: HOOK_URL}\n");
    let url = format!("http://hooks.example.com/{TOKEN}");
    let out = check(&emu, &config, &[("HOOK_URL", url)], &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error: sink hook: the webhook URL must be https:// (it is http://)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(TOKEN), "the token is never printed");
    assert!(
        !out.stderr.contains("attempts"),
        "a refused URL is not retried"
    );
}

#[test]
fn silence_when_all_is_well_unless_always() {
    let quiet = "access_keys:\n  - {id: LTAInotify, secret: notify-secret}\nregions:\n  cn-hangzhou:\n    - {id: i-bp1far0001, charge_type: PrePaid, expires_in: 300 days, tags: {team: ads}, renewal: {status: Normal, duration: 0, period_unit: Month}}\n";
    let emu = Emulator::start(quiet);
    let rx = platforms();
    let env = [("HOOK_URL", format!("{}/hook/quiet", rx.base))];
    let out = check(
        &emu,
        &sinks("    - {name: hook, type: webhook, url_env: HOOK_URL}\n"),
        &env,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("hook: nothing needs its attention"),
        "{}",
        out.stderr
    );
    assert!(rx.received().is_empty());
    let always = format!(
        "{HEAD}notify:\n  when: always\n  sinks:\n    - {{name: hook, type: webhook, url_env: HOOK_URL}}\n"
    );
    let out = check(&emu, &always, &env, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let received = rx.received();
    assert_eq!(received.len(), 1);
    let body: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(
        body["format_version"], "1",
        "the webhook gets the check's JSON document"
    );
}

#[test]
fn a_webhook_can_take_the_alertmanager_shape() {
    let emu = Emulator::start(FLEET);
    let rx = platforms();
    let config = sinks("    - {name: am, type: webhook, url_env: AM_URL, shape: alertmanager}\n");
    let out = check(
        &emu,
        &config,
        &[("AM_URL", format!("{}/hook/am", rx.base))],
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let body: Value = serde_json::from_str(&rx.received()[0].body).unwrap();
    assert_eq!(
        (body["version"].as_str(), body["status"].as_str()),
        (Some("4"), Some("firing"))
    );
    assert_eq!(body["receiver"], "am");
    let alerts = body["alerts"].as_array().unwrap();
    let expiring: Vec<&str> = alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == "RenewctlInstanceWillExpire")
        .map(|a| a["labels"]["instance_id"].as_str().unwrap())
        .collect();
    assert_eq!(expiring.len(), 2, "{alerts:?}");
    assert!(alerts.iter().all(|a| a["endsAt"] == "0001-01-01T00:00:00Z"
        && a["fingerprint"].as_str().is_some_and(|f| f.len() == 16)));
    let err = renewctl::desired::parse(
        sinks("    - {name: a, type: slack, url_env: A, shape: alertmanager}\n").as_bytes(),
        "r.yaml",
    )
    .expect_err("a shape on a chat");
    assert!(
        err.to_string().contains("only a webhook sink has a shape"),
        "{err}"
    );
}

#[test]
fn each_team_hears_about_its_own() {
    let emu = Emulator::start(FLEET);
    let rx = platforms();
    let config = sinks(
        "    - {name: payments, type: webhook, url_env: PAY_URL, route: {tag: team, values: [payments]}}\n    - {name: ads, type: webhook, url_env: ADS_URL, route: {tag: team, values: [ads]}}\n",
    );
    let env = [
        ("PAY_URL", format!("{}/hook/payments", rx.base)),
        ("ADS_URL", format!("{}/hook/ads", rx.base)),
    ];
    let out = check(&emu, &config, &env, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for (path, mine, theirs) in [
        ("/hook/payments", "i-bp1pay0001", "i-bp1ads0001"),
        ("/hook/ads", "i-bp1ads0001", "i-bp1pay0001"),
    ] {
        let r = rx
            .received()
            .into_iter()
            .find(|r| r.target == path)
            .expect(path);
        assert!(
            r.body.contains(mine) && !r.body.contains(theirs),
            "{path}: {}",
            r.body
        );
    }
}

#[test]
fn notify_configs_are_validated() {
    for (yaml, needle) in [
        (
            "    - {name: a, type: slack, url_env: 'https://hooks.slack.com/services/T/B/x'}\n",
            "this looks like the value itself",
        ),
        (
            "    - {name: a, type: wecom, url_env: WECOM_URL, secret_env: WECOM_SECRET}\n",
            "only DingTalk and Feishu/Lark bots sign",
        ),
        (
            "    - {name: a, type: slack, url_env: A}\n    - {name: a, type: slack, url_env: B}\n",
            "sink name \"a\" is already used",
        ),
        (
            "    - {name: a, type: teams, url_env: A}\n",
            "is not a sink type",
        ),
    ] {
        let err = renewctl::desired::parse(sinks(yaml).as_bytes(), "r.yaml").expect_err(yaml);
        assert!(err.to_string().contains(needle), "{yaml}\n{err}");
    }
}

#[test]
fn ten_thousand_expiring_instances_fit_every_sink() {
    use renewctl::desired::SinkKind;
    use renewctl::watch::{Balance, Expiry, Renews, Report};
    let now = jiff::Timestamp::now();
    let expiring: Vec<Expiry> = (0..10_000)
        .map(|i| Expiry {
            region: "cn-hangzhou".into(),
            instance_id: format!("i-bp1gen{i:07}"),
            instance_name: String::new(),
            policy: None,
            expired_time: now,
            days_left: 0,
            window: 1,
            renews: Renews::Nothing,
            will_expire: true,
            tags: BTreeMap::new(),
        })
        .collect();
    let report = Report {
        format_version: "1",
        checked_at: now,
        site: None,
        windows: vec![30, 1],
        charges_within: 30,
        charge_rule: String::new(),
        drift: Vec::new(),
        expiring,
        charges: Vec::new(),
        charge_totals: BTreeMap::new(),
        unpriced_charges: 0,
        balance: Balance::NotRead { why: String::new() },
        shortfall: None,
        errors: Vec::new(),
        attention: vec!["10000 instances will expire".into()],
    };
    let limits = [
        (SinkKind::Dingtalk, 20_000usize),
        (SinkKind::Feishu, 20_000),
        (SinkKind::Wecom, 4_096),
    ];
    for (kind, limit) in limits {
        let payload = renewctl::notify::payload(kind, &report, None);
        let body = serde_json::to_vec(&payload.body).unwrap();
        assert!(body.len() <= limit, "{kind:?}: {} bytes", body.len());
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.contains("10000 instances will expire"),
            "the attention line first"
        );
        assert!(text.contains(" more"), "{kind:?}: the rest counted");
    }
    let slack = renewctl::notify::payload(SinkKind::Slack, &report, None);
    let section = slack.body["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(
        section.chars().count() <= 3_000,
        "{}",
        section.chars().count()
    );
}
