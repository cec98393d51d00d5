//! Command-line arguments. The doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keep Alibaba Cloud ECS subscription renewal in the state declared in YAML.
///
/// Credentials are found the way the official SDKs find them, in this order: the environment
/// (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN, or
/// Terraform's ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY, ALICLOUD_SECURITY_TOKEN); OIDC role
/// assumption (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
/// ALIBABA_CLOUD_OIDC_TOKEN_FILE); the aliyun CLI profile (~/.aliyun/config.json); the RAM role of
/// the ECS instance. `renewctl whoami` shows which one is used.
#[derive(Debug, Parser)]
#[command(name = "renewctl", version, long_version = LONG_VERSION, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// `renewctl --version`: the version, the git commit and the target it was built for.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("RENEWCTL_GIT_COMMIT"),
    ", ",
    env!("RENEWCTL_TARGET"),
    ")"
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Send every ECS request to this base URL instead of the regional endpoints
    /// (e.g. `http://127.0.0.1:8787` for `renewctl emulator`). Plain http only for loopback.
    #[arg(long, global = true, env = "RENEWCTL_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,

    /// The account's Alibaba Cloud site for this run: china (aliyun.com) or international
    /// (alibabacloud.com), as `site:` in renewal.yaml; when both are given they must agree.
    #[arg(long, global = true, env = "RENEWCTL_SITE", value_name = "SITE", value_parser = parse_site)]
    pub site: Option<crate::ecs::Site>,

    /// Send BSS (billing) requests to this base URL instead of the site's BSS endpoint (e.g.
    /// the emulator). An emulator given with --endpoint on loopback serves BSS too.
    #[arg(long, global = true, env = "RENEWCTL_BSS_ENDPOINT", value_name = "URL")]
    pub bss_endpoint: Option<String>,

    /// Maximum number of API requests in flight at once (Terraform's default too: see README,
    /// Performance).
    #[arg(long, global = true, default_value_t = 10, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,

    /// Signature scheme: acs3 (ACS3-HMAC-SHA256, what current SDKs send) or hmac-sha1 (the
    /// older RPC signature).
    #[arg(long, global = true, value_enum, default_value_t = SignatureArg::Acs3)]
    pub signature: SignatureArg,

    /// Never colour the output (colour is only used on a terminal anyway; NO_COLOR works too).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// The aliyun CLI profile to take credentials from (default: ALIBABA_CLOUD_PROFILE, else the
    /// config file's current profile).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Requests per second per region and API action, retries included; 0 (the default) for no
    /// limit. ECS throttles per account, region and action; set this to your quota (Quota
    /// Center) when other tools share the account.
    #[arg(long, global = true, default_value_t = 0.0, value_name = "R",
          value_parser = parse_rate)]
    pub max_rps: f64,

    /// How long to wait for a connection to an endpoint, e.g. `10s`.
    #[arg(long, global = true, default_value = "10s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub connect_timeout: std::time::Duration,

    /// How long one request may take, from sending to the end of the answer, e.g. `30s`.
    #[arg(long, global = true, default_value = "30s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub request_timeout: std::time::Duration,

    /// The renewal-lag bound: how long apply waits for a renewal to show in reads (the API
    /// shows it only after a delay), before turning auto-renewal on for an instance it renewed
    /// from expiry, and when it re-reads every renewal at the end (paid, ambiguous, or refused
    /// as already paid); `0` skips both.
    #[arg(long, global = true, default_value = "60s", value_name = "DURATION",
          value_parser = parse_duration)]
    pub verify_timeout: std::time::Duration,

    /// Log to stderr: -v each API call, -vv each HTTP request and credential step, -vvv more.
    /// RENEWCTL_LOG (e.g. `renewctl=debug`) overrides.
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print which credentials are used (link, masked key id, expiry; never a secret) to stderr
    /// before plan or apply.
    #[arg(long, global = true)]
    pub debug_credentials: bool,
}

/// `10s`, `500ms`, `2m`, `0`: a duration flag.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: write a duration such as 500ms, 10s or 2m"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "" => return Err(format!("{text:?}: the unit is missing (ms, s or m)")),
        other => return Err(format!("{text:?}: unknown unit {other:?} (use ms, s or m)")),
    };
    if !(0.0..=3600.0).contains(&seconds) {
        return Err(format!("{text:?}: must be between 0 and 60m"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// A rate in requests per second: a number from 0 (no limit) to 10,000.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && (0.0..=10_000.0).contains(r))
        .ok_or_else(|| {
            format!("{text:?}: a number of requests per second from 0 (no limit) to 10000")
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignatureArg {
    Acs3,
    HmacSha1,
}

/// How a plan is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terraform-like text, colour on a terminal.
    Text,
    /// The plan JSON contract (format_version "1").
    Json,
    /// A pull-request comment (GitHub / GitLab), at most 65,536 characters.
    Markdown,
}

/// How apply reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventFormat {
    /// A line per change as it finishes.
    Text,
    /// One JSON event per line: change_start, change_complete, change_errored, change_skipped,
    /// summary.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a renewal.yaml: every problem at once, each with its place and a fix.
    Validate(ConfigArg),
    /// Show what would change and which API calls apply would make.
    Plan(PlanArgs),
    /// Plan, confirm, and make the changes; or apply a saved, reviewed plan.
    Apply(ApplyArgs),
    /// Show a saved plan.
    Show(ShowArgs),
    /// Serve the ECS API on loopback from a fleet file, for tests and trials.
    Emulator(crate::emulator::EmulatorArgs),
    /// Start the built-in emulator with the example fleet, then plan, apply and plan again.
    Demo,
    /// Show which credentials renewctl would use: the link that supplied them, the access key id
    /// (masked) and their expiry. Never the secret.
    Whoami(WhoamiArgs),
    /// Print the JSON Schema of renewal.yaml (for editors: completion and checks as you type).
    Schema,
    /// Show one instance: its observed renewal, every policy that matches it and why, which one
    /// governs it, and what the plan would do to it.
    Explain(ExplainArgs),
    /// Write a renewal.yaml that declares the live renewal of the observed instances, so that a
    /// first plan makes no change.
    Export(ExportArgs),
    /// Check the fleet between merges, read-only: drift, expiries within the watch windows,
    /// upcoming automatic renewal charges and the balance. Exit 0 all is well, 2 something needs
    /// attention, 1 the check failed or could not see everything.
    Check(CheckArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish), generated from
    /// the same definitions as --help.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (renewctl.1 and one per command) to DIR, or renewctl.1 to stdout.
    Man {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The version, git commit and target, for scripts and bug reports.
    Version {
        #[arg(long, value_enum, default_value_t = VersionFormat::Text)]
        format: VersionFormat,
    },
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The instance id, e.g. i-bp1abc0000000001.
    #[arg(value_name = "INSTANCE_ID")]
    pub instance_id: String,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The desired-state file.
    #[arg(
        short = 'c',
        long = "config",
        default_value = "renewal.yaml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 2 when the plan has changes, 0 when it has none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan to FILE, for `renewctl apply FILE` after review.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub risk: RiskArg,
    #[command(flatten)]
    pub money: MoneyArgs,
    #[command(flatten)]
    pub tokens: TokenArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// A partial plan, for emergencies (Terraform's `-target`).
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Plan only this instance (repeatable). The plan says it is partial.
    #[arg(long = "target", value_name = "INSTANCE_ID")]
    pub targets: Vec<String>,
    /// Plan only the instances of this policy (repeatable).
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// Subtotals of renewal cost and counts per value of this tag (chargeback per team or
    /// project), e.g. --group-by tag:team.
    #[arg(long = "group-by", value_name = "tag:KEY", value_parser = parse_group_by)]
    pub group_by: Option<String>,
}

/// `tag:KEY`.
pub fn parse_group_by(text: &str) -> Result<String, String> {
    match text.strip_prefix("tag:") {
        Some(key) if !key.trim().is_empty() => Ok(key.to_string()),
        _ => Err(format!("{text:?}: write tag:KEY, e.g. --group-by tag:team")),
    }
}

/// Renewal tokens.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Give the renewal of INSTANCE a fresh idempotency token (attempt N, default 2), for a
    /// token held by an earlier attempt that did not renew. Only after checking the order
    /// history (Billing → Orders) shows no renewal of it from its current expiry: a fresh token
    /// can pay again. Repeatable.
    #[arg(long = "new-token", value_name = "INSTANCE[=N]", value_parser = parse_new_token)]
    pub new_tokens: Vec<(String, u32)>,
}

/// `i-abc` (attempt 2) or `i-abc=3`.
pub fn parse_new_token(text: &str) -> Result<(String, u32), String> {
    let (id, attempt) = match text.split_once('=') {
        Some((id, n)) => {
            let n: u32 = n.trim().parse().map_err(|_| {
                format!("{text:?}: the attempt after = is a number from 2, e.g. {id}=2")
            })?;
            (id.trim(), n)
        }
        None => (text.trim(), 2),
    };
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(format!(
            "{text:?}: write an instance id, e.g. i-bp1abc0000000001"
        ));
    }
    if !(2..=1000).contains(&attempt) {
        return Err(format!(
            "{text:?}: the attempt is a number from 2 to 1000 (1 is the token every renewal starts with)"
        ));
    }
    Ok((id.to_string(), attempt))
}

/// Prices and spending limits of a plan.
#[derive(Debug, Args)]
pub struct MoneyArgs {
    /// Refuse a plan that makes more than N renewals. It can only tighten `limits.max_renewals`
    /// (the lower of the two holds); with a saved plan, it is checked on top of the limits the
    /// plan records.
    #[arg(long, value_name = "N")]
    pub max_renewals: Option<u64>,
    /// Refuse a plan whose renewals cost more than AMOUNT in all, e.g. `5000:CNY`. It can only
    /// tighten `limits.max_total_price` (both hold; without `:CURRENCY`, the currency of
    /// `limits`). A renewal whose price is unknown, or in another currency, refuses the plan too.
    #[arg(long, value_name = "AMOUNT[:CURRENCY]", value_parser = crate::plan::spend::parse_price_limit)]
    pub max_total_price: Option<crate::plan::spend::PriceLimitFlag>,
    /// Do not read the renewals' prices (one DescribeRenewalPrice each): they show as unknown,
    /// which a price limit refuses.
    #[arg(long)]
    pub no_prices: bool,
}

#[derive(Debug, Args)]
pub struct RiskArg {
    /// Report instances, managed or not, that expire within this many days with nothing
    /// renewing them.
    #[arg(long, value_name = "DAYS", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(0..=3660))]
    pub risk_window: u32,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `renewctl plan --out`: apply exactly it, without asking, after checking
    /// that nothing it depends on moved. Without it, apply plans first and asks.
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Apply without asking for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Progress output.
    #[arg(long, value_enum, default_value_t = EventFormat::Text)]
    pub format: EventFormat,
    /// Refuse a saved plan older than this (e.g. `24h`, `90m`, `2d`): the world it was made
    /// from is too old to trust.
    #[arg(long, default_value = "24h", value_name = "AGE", value_parser = parse_age)]
    pub max_plan_age: std::time::Duration,
    #[command(flatten)]
    pub risk: RiskArg,
    #[command(flatten)]
    pub money: MoneyArgs,
    #[command(flatten)]
    pub tokens: TokenArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// `24h`, `90m`, `2d`, `3600s`: an age from 1 minute to 30 days.
pub fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: write an age such as 24h, 90m or 2d"))?;
    let seconds = match unit.trim() {
        "s" => value,
        "m" => value.saturating_mul(60),
        "h" => value.saturating_mul(3600),
        "d" => value.saturating_mul(86_400),
        "" => return Err(format!("{text:?}: the unit is missing (s, m, h or d)")),
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (use s, m, h or d)"
            ));
        }
    };
    if !(60..=30 * 86_400).contains(&seconds) {
        return Err(format!("{text:?}: must be between 1m and 30d"));
    }
    Ok(std::time::Duration::from_secs(seconds))
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved by `renewctl plan --out`.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 2 when the plan has changes, 0 when it has none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A region to export (repeat for several). Default: the regions of the -c file.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Only instances carrying this tag (repeat: all must match; VALUE * accepts any value).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Write the export to FILE instead of printing it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show the difference between the -c file and the export (printed instead of the export;
    /// still written with -o).
    #[arg(long)]
    pub diff: bool,
    /// The current desired-state file: compared with --diff, and where the regions come from
    /// when no --region is given.
    #[arg(
        short = 'c',
        long = "config",
        default_value = "renewal.yaml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
}

/// `--tag KEY=VALUE`.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!(
            "expected KEY=VALUE (VALUE may be * for any), got {text:?}"
        )),
    }
}

/// `--site china|international`.
pub fn parse_site(text: &str) -> Result<crate::ecs::Site, String> {
    crate::ecs::Site::parse(text).ok_or_else(|| {
        format!(
            "{text:?} is not a site: use china (aliyun.com) or international (alibabacloud.com)"
        )
    })
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// A renewal.yaml: show its site and the ECS host each of its regions will use.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ask the account which site it is on (one DescribeInstances and one DescribeRenewalPrice
    /// per region of -c, until one answers: the currency of the price says the site).
    #[arg(long, requires = "config")]
    pub probe_site: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Output format: text, json (a versioned document) or markdown (a summary page).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the Prometheus node-exporter textfile here (written whole, then renamed).
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// Also write an iCalendar file of the expiries and first automatic charges here.
    #[arg(long, value_name = "FILE")]
    pub calendar_file: Option<PathBuf>,
    /// Do not read the account's balance (no BSS permission, or billed to another account).
    #[arg(long)]
    pub no_balance: bool,
    /// Send the report to the sinks of `notify:` in the config (without it, check only
    /// prints).
    #[arg(long)]
    pub notify: bool,
}
