//! The message of `renewctl check --notify`, one per sink, in the sink's native format and
//! within its documented size, signed the documented way, and the reading of its answer
//! (notify.md §0–§5). Pure: sending is `crate::post`; the engine routes and retries.
//!
//! | sink | body | limit used | signing |
//! |---|---|---|---|
//! | dingtalk | `msgtype: markdown` | 20,000-byte body | `timestamp` (ms) + `sign` in the query |
//! | feishu, lark | `msg_type: post` | 20 KB body | `timestamp` (s) + `sign` in the body |
//! | wecom | `msgtype: markdown` | 4,096-byte content | none |
//! | slack | `text` + one `section` block | 3,000-char section | none |
//! | webhook | the check's JSON document | none | none |
//!
//! Past a limit, the most urgent lines come first and the rest is "… and N more".

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::desired::SinkKind;
use crate::time::format_api;
use crate::watch::{Balance, Report};

/// The documented limits (notify.md §0).
const DINGTALK_BODY: usize = 20_000;
const FEISHU_BODY: usize = 20_000;
const WECOM_CONTENT: usize = 4_096;
const SLACK_SECTION: usize = 3_000;

/// A line of the message and how urgent it is (0 most).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    urgency: u8,
    text: String,
}

/// The lines of `report`, most urgent first: what needs attention, instances that will expire,
/// the balance, drift, other expiries, charges.
fn lines(report: &Report) -> Vec<Line> {
    let mut out = Vec::new();
    let mut push = |urgency, text: String| out.push(Line { urgency, text });
    for a in &report.attention {
        push(0, format!("⚠ {a}"));
    }
    for p in &report.errors {
        push(
            0,
            format!("✗ {}{} (the check is incomplete)", p.place(), p.reason),
        );
    }
    for e in report.expiring.iter().filter(|e| e.will_expire) {
        push(
            1,
            format!(
                "{} ({}) expires {}: nothing renews it",
                e.instance_id,
                e.policy.as_deref().unwrap_or("unmanaged"),
                format_api(e.expired_time)
            ),
        );
    }
    match &report.balance {
        Balance::Known {
            available,
            currency,
        } => push(2, format!("balance {available} {currency}")),
        Balance::Unreadable { error } => push(2, format!("balance unreadable: {error}")),
        Balance::NotRead { .. } => {}
    }
    for d in &report.drift {
        push(3, format!("drift {}: {}", d.instance_id, d.reason));
    }
    for e in report.expiring.iter().filter(|e| !e.will_expire) {
        push(
            4,
            format!(
                "{} expires {} (≤{}d)",
                e.instance_id,
                format_api(e.expired_time),
                e.window
            ),
        );
    }
    for c in &report.charges {
        push(
            5,
            format!(
                "charge {} on {}{}",
                c.instance_id,
                format_api(c.at),
                c.price
                    .as_ref()
                    .map(|p| format!(": {} {}", p.trade_price, p.currency))
                    .unwrap_or_default()
            ),
        );
    }
    out.sort_by_key(|l| l.urgency);
    out
}

/// The title of the message.
fn title(report: &Report) -> String {
    if !report.errors.is_empty() {
        "renewctl check: incomplete".to_string()
    } else if report.attention.is_empty() {
        "renewctl check: all well".to_string()
    } else {
        format!(
            "renewctl check: {} need{} attention",
            report.attention.len(),
            if report.attention.len() == 1 { "s" } else { "" }
        )
    }
}

/// As many `lines` as fit in `budget` bytes (each costs its length plus `per_line`), then
/// "… and N more".
fn fit(
    lines: &[Line],
    budget: usize,
    per_line: usize,
    render: impl Fn(&str) -> String,
) -> Vec<String> {
    let reserve = 40; // "… and N more"
    let mut used = 0;
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let text = render(&line.text);
        let cost = text.len() + per_line;
        if used + cost + reserve > budget {
            out.push(format!("… and {} more", lines.len() - i));
            return out;
        }
        used += cost;
        out.push(text);
    }
    out
}

/// Escapes the three characters Slack's mrkdwn reserves (notify.md §4).
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A sink's signing, when it signs: the current time and the secret.
#[derive(Debug, Clone, Copy)]
pub struct Signing<'a> {
    pub secret: &'a str,
    /// Unix milliseconds (DingTalk) or seconds (Feishu) are derived from it.
    pub now_ms: i64,
}

/// DingTalk's `sign` (before URL-encoding): base64(HMAC-SHA256(key = secret, message =
/// "timestamp\nsecret")), timestamp in milliseconds (notify.md §1).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let message = format!("{timestamp_ms}\n{secret}");
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Feishu/Lark's `sign`: base64(HMAC-SHA256(key = "timestamp\nsecret", message = empty)),
/// timestamp in seconds (notify.md §2).
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    let mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// What to send: extra query parameters (DingTalk's signature) and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub query: Vec<(String, String)>,
    pub body: Value,
}

/// The message of `report` for a sink of `kind`.
pub fn payload(kind: SinkKind, report: &Report, signing: Option<Signing<'_>>) -> Payload {
    let all = lines(report);
    let head = title(report);
    match kind {
        SinkKind::Dingtalk => {
            let budget = DINGTALK_BODY - 300 - head.len();
            let text = fit(&all, budget, 4, |t| format!("- {t}"));
            let mut query = Vec::new();
            if let Some(s) = signing {
                query.push(("timestamp".to_string(), s.now_ms.to_string()));
                query.push(("sign".to_string(), dingtalk_sign(s.secret, s.now_ms)));
            }
            Payload {
                query,
                body: json!({
                    "msgtype": "markdown",
                    "markdown": { "title": head, "text": format!("### {head}\n\n{}", text.join("\n")) },
                }),
            }
        }
        SinkKind::Feishu | SinkKind::Lark => {
            let budget = FEISHU_BODY - 400 - head.len();
            let text = fit(&all, budget, 40, str::to_owned);
            let content: Vec<Value> = text
                .iter()
                .map(|t| json!([{ "tag": "text", "text": t }]))
                .collect();
            let mut body = json!({
                "msg_type": "post",
                "content": { "post": { "en_us": { "title": head, "content": content } } },
            });
            if let Some(s) = signing {
                let seconds = s.now_ms.div_euclid(1000);
                body["timestamp"] = json!(seconds.to_string());
                body["sign"] = json!(feishu_sign(s.secret, seconds));
            }
            Payload {
                query: Vec::new(),
                body,
            }
        }
        SinkKind::Wecom => {
            let budget = WECOM_CONTENT - 20 - head.len();
            let text = fit(&all, budget, 3, |t| format!("> {t}"));
            Payload {
                query: Vec::new(),
                body: json!({
                    "msgtype": "markdown",
                    "markdown": { "content": format!("**{head}**\n{}", text.join("\n")) },
                }),
            }
        }
        SinkKind::Slack => {
            let budget = SLACK_SECTION - 20 - head.len();
            let text = fit(&all, budget, 3, |t| format!("• {}", slack_escape(t)));
            let section = format!("*{}*\n{}", slack_escape(&head), text.join("\n"));
            Payload {
                query: Vec::new(),
                body: json!({
                    "text": head,
                    "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": section } }],
                }),
            }
        }
        SinkKind::Webhook => Payload {
            query: Vec::new(),
            body: serde_json::to_value(report).unwrap_or(Value::Null),
        },
    }
}

/// Alertmanager's webhook payload (notify.md §5, version 4) for `report`: one alert per
/// instance that will expire unrenewed inside the smallest window, one for drift, one for a
/// short balance, one for an incomplete check. `status` is firing while any alert fires, else
/// resolved (a `when: always` run with nothing to say). Fingerprints come from the labels only,
/// so a receiver deduplicates across runs.
pub fn alertmanager(report: &Report, receiver: &str) -> Value {
    let started = report.checked_at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut alerts = Vec::new();
    let mut alert = |labels: Value, summary: String| {
        let key = labels.to_string();
        let digest = <Sha256 as sha2::Digest>::digest(key.as_bytes());
        let fingerprint: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        alerts.push(json!({
            "status": "firing",
            "labels": labels,
            "annotations": { "summary": summary },
            "startsAt": started,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": fingerprint,
        }));
    };
    let smallest = report.windows.last().copied().unwrap_or(0);
    for e in report
        .expiring
        .iter()
        .filter(|e| e.will_expire && e.days_left < i64::from(smallest))
    {
        alert(
            json!({
                "alertname": "RenewctlInstanceWillExpire",
                "region": e.region,
                "instance_id": e.instance_id,
                "policy": e.policy.clone().unwrap_or_default(),
            }),
            format!(
                "{} expires {}: nothing renews it",
                e.instance_id,
                format_api(e.expired_time)
            ),
        );
    }
    if !report.drift.is_empty() {
        alert(
            json!({ "alertname": "RenewctlDrift" }),
            format!(
                "{} change(s) would be made now (drift from renewal.yaml)",
                report.drift.len()
            ),
        );
    }
    if let Some(short) = &report.shortfall {
        alert(
            json!({ "alertname": "RenewctlBalanceShort", "currency": short.currency }),
            format!(
                "the balance is {} {} short; the charge of {} is the first that would fail",
                short.short_by, short.currency, short.first_failing
            ),
        );
    }
    if !report.errors.is_empty() {
        alert(
            json!({ "alertname": "RenewctlCheckIncomplete" }),
            format!(
                "{} problem(s) kept the check from seeing everything",
                report.errors.len()
            ),
        );
    }
    json!({
        "version": "4",
        "groupKey": "renewctl-check",
        "truncatedAlerts": 0,
        "status": if alerts.is_empty() { "resolved" } else { "firing" },
        "receiver": receiver,
        "groupLabels": {},
        "commonLabels": { "job": "renewctl" },
        "commonAnnotations": { "summary": title(report) },
        "externalURL": "",
        "alerts": alerts,
    })
}

/// Why a sink did not take the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Worth trying again (rate limit, a server error).
    pub retry: bool,
    /// The platform's own words (its code and message), never the URL.
    pub message: String,
}

/// Reads a sink's answer: an HTTP 200 is not success on its own for the Chinese chats (their
/// code is in the body, notify.md §0).
pub fn judge(kind: SinkKind, status: u16, body: &str) -> Result<(), Refusal> {
    let server = status >= 500 || status == 429;
    let refuse = |retry: bool, message: String| Err(Refusal { retry, message });
    let short: String = body.chars().take(300).collect();
    match kind {
        SinkKind::Dingtalk | SinkKind::Wecom => {
            let parsed: Option<Value> = serde_json::from_str(body).ok();
            let code = parsed.as_ref().and_then(|v| v["errcode"].as_i64());
            match code {
                Some(0) if status == 200 => Ok(()),
                Some(code) => {
                    let message = parsed
                        .as_ref()
                        .and_then(|v| v["errmsg"].as_str())
                        .unwrap_or("")
                        .to_string();
                    // 130101: DingTalk's 20/min; 45009: WeCom's frequency limit.
                    refuse(
                        server || matches!(code, 130101 | 45009),
                        format!("HTTP {status}, errcode {code}: {message}"),
                    )
                }
                None => refuse(server, format!("HTTP {status}: {short}")),
            }
        }
        SinkKind::Feishu | SinkKind::Lark => {
            let parsed: Option<Value> = serde_json::from_str(body).ok();
            match parsed.as_ref().and_then(|v| v["code"].as_i64()) {
                Some(0) if status == 200 => Ok(()),
                Some(code) => {
                    let message = parsed
                        .as_ref()
                        .and_then(|v| v["msg"].as_str())
                        .unwrap_or("")
                        .to_string();
                    let rate = code == 11232 || (code == 9499 && message.contains("too many"));
                    refuse(
                        server || rate,
                        format!("HTTP {status}, code {code}: {message}"),
                    )
                }
                None => refuse(server, format!("HTTP {status}: {short}")),
            }
        }
        SinkKind::Slack => {
            if status == 200 && body.trim() == "ok" {
                Ok(())
            } else {
                refuse(server, format!("HTTP {status}: {short}"))
            }
        }
        SinkKind::Webhook => {
            if (200..300).contains(&status) {
                Ok(())
            } else {
                refuse(server, format!("HTTP {status}: {short}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_documented_vectors() {
        // notify.md §1 and §2, computed with Python's hmac and openssl.
        assert_eq!(
            dingtalk_sign("SECtest0123456789", 1_700_000_000_000),
            "yBKp5IlG6qCzcQWmgyRK/ziJBdVNJmHfFE2ST/CzT/g="
        );
        assert_eq!(
            feishu_sign("test-secret", 1_700_000_000),
            "mbm4Y4oluIPQ00qlBIhX8vAZ0EKv3nw0LuTb91jPL84="
        );
    }

    #[test]
    fn answers_are_read_by_their_code() {
        assert!(judge(SinkKind::Dingtalk, 200, r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        let refusal = judge(
            SinkKind::Dingtalk,
            200,
            r#"{"errcode":310000,"errmsg":"sign not match"}"#,
        )
        .unwrap_err();
        assert!(!refusal.retry && refusal.message.contains("310000"));
        assert!(
            judge(
                SinkKind::Dingtalk,
                200,
                r#"{"errcode":130101,"errmsg":"send too fast"}"#
            )
            .unwrap_err()
            .retry
        );
        assert!(
            judge(
                SinkKind::Feishu,
                200,
                r#"{"code":0,"msg":"success","data":{}}"#
            )
            .is_ok()
        );
        assert!(
            judge(
                SinkKind::Feishu,
                400,
                r#"{"code":9499,"msg":"too many request"}"#
            )
            .unwrap_err()
            .retry
        );
        assert!(judge(SinkKind::Slack, 200, "ok").is_ok());
        assert!(
            judge(SinkKind::Slack, 429, "rate_limited")
                .unwrap_err()
                .retry
        );
        assert!(
            !judge(SinkKind::Slack, 404, "channel_not_found")
                .unwrap_err()
                .retry
        );
        assert!(judge(SinkKind::Webhook, 204, "").is_ok());
    }

    #[test]
    fn long_messages_keep_the_most_urgent_lines_and_count_the_rest() {
        let lines: Vec<Line> = (0..1000)
            .map(|i| Line {
                urgency: if i == 999 { 0 } else { 5 },
                text: format!("line {i} {}", "x".repeat(50)),
            })
            .collect();
        let mut sorted = lines.clone();
        sorted.sort_by_key(|l| l.urgency);
        let fitted = fit(&sorted, 4000, 3, str::to_owned);
        assert!(fitted[0].starts_with("line 999"), "the urgent line first");
        let last = fitted.last().unwrap();
        assert!(
            last.starts_with("… and ") && last.ends_with(" more"),
            "{last}"
        );
        assert!(fitted.iter().map(|l| l.len() + 3).sum::<usize>() <= 4000);
    }
}
