//! The scale benchmark (issue 8): plan and apply against the emulator with injected latency, at
//! 1,000, 10,000 and 100,000 subscription instances in one and three regions, measured against
//! the bound of physics — with the fewest calls the API's batch limits allow, latency L and
//! parallelism P, no client finishes faster than L × (1 + ceil((calls − 1) / P)) — and against
//! the per-instance way of observing (one DescribeInstances and one
//! DescribeInstanceAutoRenewAttribute per instance), in the same run.
//!
//! `renewctl plan` then prices every renewal (one DescribeRenewalPrice each: the API prices one
//! instance a call). That phase can only start once the plan is known, so it is measured apart:
//! its calls, and its wall against its own bound L × ceil(renewals / P).
//!
//! Run: `cargo bench --bench scale` (all sizes; about ten minutes on 2 cores), or
//! `RENEWCTL_BENCH_SIZES=1000,10000 cargo bench --bench scale` for fewer.
//!
//! Each scenario runs in a fresh process (this binary re-invoked with `--scenario`), so its peak
//! RSS (VmHWM) is that of one plan and apply; the emulator runs as a separate
//! `renewctl emulator` process, as a user would run it. Calls are counted by the emulator
//! (`GET /_emulator/stats`), not by the client.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use renewctl::cloud::{ClientConfig, EcsApi, EcsClient, Endpoint, InstanceQuery, SignatureScheme};
use renewctl::credentials::{Credentials, Secret};
use renewctl::observe::{ObserveOptions, observe_with};
use renewctl::plan::{PlanOptions, plan_with};
use renewctl::rpc::retry::RetryPolicy;
use serde_json::{Value, json};

const LATENCY_MS: u64 = 20;
const REGIONS: [&str; 3] = ["cn-hangzhou", "cn-shanghai", "cn-beijing"];
const KEY_ID: &str = "LTAIbench";
const KEY_SECRET: &str = "bench-secret";

/// The default `--parallelism` of the CLI (src/cli/args.rs).
const PARALLELISM: usize = 10;

const CONFIG_HEAD: &str = "version: 1\npolicies:\n  - name: prod\n    match: {tags: {env: prod}}\n    renewal: auto\n    auto_renew_period: 1 month\n  - name: batch\n    match: {tags: {team: batch}}\n    renewal: manual\n    min_remaining: 14 days\n";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--planner-only") {
        planner_only();
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--scenario") {
        let count: usize = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(1000);
        let regions: usize = args.get(i + 2).and_then(|s| s.parse().ok()).unwrap_or(1);
        let baseline = args.iter().any(|a| a == "--baseline");
        let result = scenario(count, regions, baseline);
        println!("{result}");
        return;
    }
    drive();
}

/// Runs every scenario in its own process and prints the table.
fn drive() {
    let sizes: Vec<usize> = std::env::var("RENEWCTL_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let me = std::env::current_exe().expect("own path");
    let mut rows = Vec::new();
    for &count in &sizes {
        for regions in [1, 3] {
            // The per-instance baseline costs two calls per instance: measured up to 10,000.
            let baseline = count <= 10_000;
            eprintln!("scenario: {count} instances, {regions} region(s)…");
            let out = Command::new(&me)
                .args(["--scenario", &count.to_string(), &regions.to_string()])
                .args(if baseline { vec!["--baseline"] } else { vec![] })
                .stderr(Stdio::inherit())
                .output()
                .expect("scenario runs");
            let line = String::from_utf8_lossy(&out.stdout);
            match serde_json::from_str::<Value>(line.trim()) {
                Ok(v) => rows.push(v),
                Err(err) => eprintln!("scenario failed ({err}): {line}"),
            }
        }
    }
    println!("{}", table(&rows));
    println!(
        "\n| instances | regions | check calls (plan reads + charges + 1) | check wall | check ÷ bound |\n|---|---|---|---|---|"
    );
    for r in &rows {
        let ms = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "| {} | {} | {} ({}) | {:.2} s | {:.2} |",
            r["instances"],
            r["regions"],
            r["check_calls"],
            r["check_min_calls"],
            ms("check_wall_ms") / 1000.0,
            ms("check_wall_ms") / ms("check_bound_ms")
        );
    }
    // The pure planner alone, in its own process too.
    match Command::new(&me).arg("--planner-only").output() {
        Ok(out) => println!("\n{}", String::from_utf8_lossy(&out.stdout).trim()),
        Err(err) => eprintln!("planner-only run failed: {err}"),
    }
    println!(
        "\nJSON:\n{}",
        serde_json::to_string_pretty(&rows).unwrap_or_default()
    );
}

fn table(rows: &[Value]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| instances | regions | plan calls (min) | plan wall | plan ÷ bound | price calls (min) | price wall | price ÷ bound | apply calls (min) | apply wall | apply ÷ bound | planner CPU | peak RSS | baseline calls | baseline wall | fewer calls | emulator per call |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in rows {
        let ms = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        let baseline = if r["baseline_calls"].is_null() {
            ("—".to_string(), "—".to_string(), "—".to_string())
        } else {
            (
                r["baseline_calls"].to_string(),
                format!("{:.1} s", ms("baseline_wall_ms") / 1000.0),
                format!("{:.0}×", ms("baseline_calls") / ms("plan_calls")),
            )
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} ({}) | {:.2} s | {:.2} | {} ({}) | {:.2} s | {:.2} | {} ({}) | {:.2} s | {:.2} | {:.0} ms | {:.0} MB | {} | {} | {} | {:.2} ms |",
            r["instances"],
            r["regions"],
            r["plan_calls"],
            r["plan_min_calls"],
            ms("plan_wall_ms") / 1000.0,
            ms("plan_wall_ms") / ms("plan_bound_ms"),
            r["price_calls"],
            r["price_min_calls"],
            ms("price_wall_ms") / 1000.0,
            ms("price_wall_ms") / ms("price_bound_ms"),
            r["apply_calls"],
            r["apply_min_calls"],
            ms("apply_wall_ms") / 1000.0,
            ms("apply_wall_ms") / ms("apply_bound_ms"),
            ms("planner_ms"),
            ms("peak_rss_kb") / 1024.0,
            baseline.0,
            baseline.1,
            baseline.2,
            ms("emulator_ms_per_call"),
        );
    }
    out
}

/// L × (1 + ceil((calls − 1) / P)).
fn bound_ms(calls: u64, parallelism: usize) -> f64 {
    let rounds = 1 + calls.saturating_sub(1).div_ceil(parallelism as u64);
    (LATENCY_MS * rounds) as f64
}

/// The fleet: per region, 1% need a renewal (manual, 5 days left, min_remaining 14 days), 10%
/// need auto-renewal turned on, the rest are as declared.
fn fleet_yaml(count: usize, regions: usize) -> (String, BTreeMap<&'static str, usize>) {
    let mut out = format!("access_keys: [{{id: {KEY_ID}, secret: {KEY_SECRET}}}]\nregions:\n");
    let mut per_region = BTreeMap::new();
    for (r, region) in REGIONS.iter().take(regions).enumerate() {
        let n = count / regions + usize::from(r < count % regions);
        per_region.insert(*region, n);
        let _ = writeln!(out, "  {region}:");
        for i in 0..n {
            let id = format!("i-b{r}{i:07}");
            let line = if i % 100 == 0 {
                format!(
                    "    - {{id: {id}, expires_in: 5 days, tags: {{team: batch}}, renewal: {{status: Normal, duration: 0, period_unit: Month}}}}"
                )
            } else if i % 10 == 1 {
                format!(
                    "    - {{id: {id}, expires_in: 200 days, tags: {{env: prod}}, renewal: {{status: Normal, duration: 0, period_unit: Month}}}}"
                )
            } else {
                format!(
                    "    - {{id: {id}, expires_in: 200 days, tags: {{env: prod}}, renewal: {{status: AutoRenewal, duration: 1, period_unit: Month}}}}"
                )
            };
            out.push_str(&line);
            out.push('\n');
        }
    }
    (out, per_region)
}

/// The fewest calls: per region ceil(n/100) pages + ceil(n/100) attribute reads (all managed);
/// ceil(modified/100) ModifyInstanceAutoRenewAttribute + one RenewInstance per renewal.
fn minimum_calls(per_region: &BTreeMap<&str, usize>) -> (u64, u64) {
    let mut reads = 0;
    let mut writes = 0;
    for &n in per_region.values() {
        let n = n as u64;
        reads += 2 * n.div_ceil(100).max(1) - u64::from(n == 0);
        let renewals = n.div_ceil(100);
        let modified = (0..n).filter(|i| i % 100 != 0 && i % 10 == 1).count() as u64;
        writes += renewals + modified.div_ceil(100);
    }
    (reads, writes)
}

struct Emulator {
    child: Child,
    endpoint: String,
}

impl Emulator {
    /// CPU time the emulator process has used so far, in milliseconds.
    fn cpu_ms(&self) -> f64 {
        process_cpu_ms(&format!("/proc/{}/stat", self.child.id()))
    }
}

/// utime + stime of a process from its `/proc/…/stat`, in milliseconds (clock ticks of 10 ms).
fn process_cpu_ms(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<u64>() as f64 * 10.0
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_emulator(fleet: &std::path::Path, latency_ms: u64) -> Emulator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_renewctl"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--latency"])
        .arg(format!("{latency_ms}ms"))
        .arg("--fleet")
        .arg(fleet)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("emulator starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("listening line");
    let endpoint = first
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    Emulator { child, endpoint }
}

fn client(endpoint: &str) -> EcsClient {
    EcsClient::new(ClientConfig {
        endpoint: Endpoint::Fixed(endpoint.to_string()),
        credentials: Credentials {
            access_key_id: KEY_ID.to_string(),
            access_key_secret: Secret::new(KEY_SECRET),
            security_token: None,
            source: "bench",
        }
        .into(),
        // No client-side rate limit: the bound is latency and parallelism.
        max_rps: None,
        scheme: SignatureScheme::Acs3HmacSha256,
        max_in_flight: PARALLELISM,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(60),
        retry: RetryPolicy::default(),
    })
    .expect("client")
}

async fn requests(endpoint: &str) -> u64 {
    let body = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http")
        .get(format!("{endpoint}/_emulator/stats"))
        .send()
        .await
        .expect("stats")
        .text()
        .await
        .expect("stats body");
    serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["requests"].as_u64())
        .unwrap_or(0)
}

/// Time this thread has spent on a CPU (Linux schedstat, nanoseconds): the planner's CPU time
/// whatever else the machine is doing.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn scenario(count: usize, regions: usize, baseline: bool) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("renewctl-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let (fleet, per_region) = fleet_yaml(count, regions);
    let fleet_path = dir.join("fleet.yaml");
    std::fs::write(&fleet_path, fleet).expect("fleet written");
    let config_text = format!(
        "{}regions: [{}]\n",
        CONFIG_HEAD,
        per_region.keys().copied().collect::<Vec<_>>().join(", ")
    );
    let config = renewctl::desired::parse(config_text.as_bytes(), "bench.yaml").expect("config");
    let (min_reads, min_writes) = minimum_calls(&per_region);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let emu = start_emulator(&fleet_path, LATENCY_MS);
    let api = client(&emu.endpoint);
    let options = PlanOptions::default();

    // Plan: observe (reads) + the pure planner.
    let started = Instant::now();
    let now = jiff::Timestamp::now();
    let observed = rt.block_on(observe_with(
        &api,
        &config.desired,
        &ObserveOptions {
            read_unmanaged_expiring_before: now
                .checked_add(jiff::SignedDuration::from_hours(15 * 24))
                .ok(),
        },
    ));
    assert!(observed.failed_regions.is_empty(), "observe failed");
    let observed_rss_kb = peak_rss_kb();
    let planner_cpu = thread_cpu_ns();
    let mut plan = plan_with(&config.desired, &observed, now, &config.digest, &options);
    let planner_ms = thread_cpu_ns().saturating_sub(planner_cpu) as f64 / 1e6;
    let plan_wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let plan_calls = rt.block_on(requests(&emu.endpoint));

    // Pricing, as `renewctl plan` does after planning: one DescribeRenewalPrice per renewal.
    let started = Instant::now();
    rt.block_on(renewctl::engine::quotes::price_renewals(&api, &mut plan));
    let price_wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let price_calls = rt.block_on(requests(&emu.endpoint)) - plan_calls;
    let min_prices = plan.changes.iter().filter(|c| c.quote().is_some()).count() as u64;
    assert_eq!(plan.summary.unknown_prices, 0, "every renewal priced");

    // Apply.
    let started = Instant::now();
    // The calls only, as before verification moved into apply: the re-reads after apply are
    // not part of the bound (DESIGN.md §5 counts writes).
    let apply_options = renewctl::apply::ApplyOptions {
        parallelism: PARALLELISM,
        lag: renewctl::verify::VerifyOptions {
            timeout: std::time::Duration::ZERO,
            ..Default::default()
        },
        ..Default::default()
    };
    // Through the engine, as `renewctl apply --auto-approve` does (no re-read: just planned).
    let report = rt
        .block_on(renewctl::engine::apply::apply(
            &api,
            &plan,
            renewctl::engine::apply::Guard::JustMade,
            apply_options,
            &renewctl::interrupt::Stop::new(),
            &renewctl::engine::ignore,
        ))
        .expect("apply starts")
        .report();
    let apply_wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let apply_calls = rt.block_on(requests(&emu.endpoint)) - plan_calls - price_calls;
    assert_eq!(report.failed(), 0, "apply failed");

    // Check, as a scheduled job runs it after the apply: the reads of a plan (with a 30-day
    // horizon for unmanaged instances), one DescribeRenewalPrice per upcoming charge, one
    // balance read. Its bound: the plan's reads as measured, then the prices, then the balance.
    let before_check = rt.block_on(requests(&emu.endpoint));
    let started = Instant::now();
    let checked = rt
        .block_on(renewctl::engine::check::check(
            &api,
            &config,
            renewctl::engine::check::BalanceRead::Read,
            jiff::Timestamp::now(),
            &renewctl::engine::ignore,
        ))
        .expect("check runs");
    let check_wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let check_calls = rt.block_on(requests(&emu.endpoint)) - before_check;
    let check_charges = checked.charges.len() as u64;
    let check_min_calls = plan_calls + check_charges + 1;
    let check_bound_ms = bound_ms(plan_calls, PARALLELISM)
        + LATENCY_MS as f64 * check_charges.div_ceil(PARALLELISM as u64) as f64
        + LATENCY_MS as f64;
    let peak = peak_rss_kb();
    drop(emu);

    // The emulator's own cost: the same plan with no injected latency.
    let emu0 = start_emulator(&fleet_path, 0);
    let api0 = client(&emu0.endpoint);
    let emulator_cpu = emu0.cpu_ms();
    let client_cpu = process_cpu_ms("/proc/self/stat");
    let started = Instant::now();
    let zero = rt.block_on(renewctl::observe::observe(&api0, &config.desired));
    assert!(zero.failed_regions.is_empty(), "observe without latency");
    let zero_ms = started.elapsed().as_secs_f64() * 1000.0;
    let client_cpu = process_cpu_ms("/proc/self/stat") - client_cpu;
    let emulator_cpu = emu0.cpu_ms() - emulator_cpu;
    let zero_calls = rt.block_on(requests(&emu0.endpoint)).max(1);
    drop(emu0);

    // The per-instance way, against a fresh emulator.
    let (baseline_calls, baseline_wall_ms) = if baseline {
        let emu = start_emulator(&fleet_path, LATENCY_MS);
        let api = client(&emu.endpoint);
        let ids: Vec<(String, String)> = observed
            .instances
            .iter()
            .map(|i| (i.region.clone(), i.instance_id.clone()))
            .collect();
        let started = Instant::now();
        rt.block_on(per_instance(&api, &ids));
        let wall = started.elapsed().as_secs_f64() * 1000.0;
        (json!(rt.block_on(requests(&emu.endpoint))), json!(wall))
    } else {
        (Value::Null, Value::Null)
    };
    let _ = std::fs::remove_dir_all(&dir);

    json!({
        "instances": count,
        "regions": regions,
        "latency_ms": LATENCY_MS,
        "parallelism": PARALLELISM,
        "plan_calls": plan_calls,
        "plan_min_calls": min_reads,
        "plan_wall_ms": plan_wall_ms,
        "plan_bound_ms": bound_ms(min_reads, PARALLELISM),
        "price_calls": price_calls,
        "price_min_calls": min_prices,
        "price_wall_ms": price_wall_ms,
        "price_bound_ms": LATENCY_MS as f64 * min_prices.div_ceil(PARALLELISM as u64) as f64,
        "changes": plan.changes.len(),
        "apply_calls": apply_calls,
        "apply_min_calls": min_writes,
        "apply_wall_ms": apply_wall_ms,
        "apply_bound_ms": bound_ms(min_writes, PARALLELISM),
        "check_calls": check_calls,
        "check_min_calls": check_min_calls,
        "check_charges": check_charges,
        "check_wall_ms": check_wall_ms,
        "check_bound_ms": check_bound_ms,
        "planner_ms": planner_ms,
        "peak_rss_kb": peak,
        "peak_rss_after_observe_kb": observed_rss_kb,
        "emulator_ms_per_call": zero_ms / zero_calls as f64,
        "emulator_cpu_ms_per_call": emulator_cpu / zero_calls as f64,
        "client_cpu_ms_per_call": client_cpu / zero_calls as f64,
        "baseline_calls": baseline_calls,
        "baseline_wall_ms": baseline_wall_ms,
    })
}

/// One DescribeInstances and one DescribeInstanceAutoRenewAttribute per instance, with the same
/// parallelism: how a script looping over instances observes a fleet.
async fn per_instance(api: &EcsClient, ids: &[(String, String)]) {
    use futures_util::StreamExt;
    futures_util::stream::iter(ids)
        .map(|(region, id)| async move {
            let query = InstanceQuery::by_ids(region, std::slice::from_ref(id));
            let _ = api.describe_instances(&query).await;
            let _ = api
                .describe_auto_renew(region, std::slice::from_ref(id))
                .await;
        })
        .buffer_unordered(PARALLELISM)
        .collect::<Vec<()>>()
        .await;
}

/// The pure planner alone on 100,000 observed instances (the same mix as the fleet): CPU time of
/// the first run (cold: its memory is fresh) and the best of five runs: `cargo bench --bench scale -- --planner-only`.
fn planner_only() {
    use renewctl::observed::{
        ChargeType, InstanceSnapshot, ObservedState, RenewalAttribute, RenewalStatus,
    };
    let now = jiff::Timestamp::now();
    let days = |d: i64| {
        now.checked_add(jiff::SignedDuration::from_hours(d * 24))
            .unwrap_or(now)
    };
    let instances: Vec<InstanceSnapshot> = (0..100_000usize)
        .map(|i| {
            let (tags, expiry, status) = if i % 100 == 0 {
                (vec![("team", "batch")], days(5), "Normal")
            } else if i % 10 == 1 {
                (vec![("env", "prod")], days(200), "Normal")
            } else {
                (vec![("env", "prod")], days(200), "AutoRenewal")
            };
            InstanceSnapshot {
                region: "cn-hangzhou".to_string(),
                instance_id: format!("i-b0{i:07}"),
                instance_name: String::new(),
                charge_type: ChargeType::PrePaid,
                status: "Running".to_string(),
                expired_time: expiry,
                tags: tags
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                locks: Vec::new(),
                renewal: Some(RenewalAttribute {
                    status: RenewalStatus::from_api(status),
                    duration: 1,
                    period_unit: "Month".to_string(),
                }),
            }
        })
        .collect();
    let observed = ObservedState {
        regions: vec!["cn-hangzhou".to_string()],
        instances,
        looked_up: Vec::new(),
        not_found: Vec::new(),
        read_calls: 2000,
        ..ObservedState::default()
    };
    let config_text = format!("{CONFIG_HEAD}regions: [cn-hangzhou]\n");
    let config = renewctl::desired::parse(config_text.as_bytes(), "bench.yaml").expect("config");
    let snapshots_kb = peak_rss_kb();
    let mut best = f64::MAX;
    let mut first = None;
    let mut changes = 0;
    for _ in 0..5 {
        let started = thread_cpu_ns();
        let plan = plan_with(
            &config.desired,
            &observed,
            now,
            &config.digest,
            &PlanOptions::default(),
        );
        let cpu_ms = thread_cpu_ns().saturating_sub(started) as f64 / 1e6;
        first.get_or_insert(cpu_ms);
        best = best.min(cpu_ms);
        changes = plan.changes.len();
    }
    println!(
        "planner: 100000 instances, {changes} changes: {:.1} ms CPU the first time, best of 5 {best:.1} ms; peak RSS {} MB with the snapshots, {} MB after planning",
        first.unwrap_or(f64::NAN),
        snapshots_kb / 1024,
        peak_rss_kb() / 1024
    );
}
