//! Command-line arguments. The doc comments are the help text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keep Alibaba Cloud ECS subscription renewal in the state declared in YAML.
///
/// Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and,
/// for STS credentials, ALIBABA_CLOUD_SECURITY_TOKEN.
#[derive(Debug, Parser)]
#[command(name = "renewctl", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Send every ECS request to this base URL instead of the regional endpoints
    /// (e.g. `http://127.0.0.1:8787` for `renewctl emulator`). Plain http only for loopback.
    #[arg(long, global = true, env = "RENEWCTL_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,

    /// Maximum number of API requests in flight at once.
    #[arg(long, global = true, default_value_t = 16, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,

    /// Signature scheme: acs3 (ACS3-HMAC-SHA256, what current SDKs send) or hmac-sha1 (the
    /// older RPC signature).
    #[arg(long, global = true, value_enum, default_value_t = SignatureArg::Acs3)]
    pub signature: SignatureArg,

    /// Never colour the output (colour is only used on a terminal anyway; NO_COLOR works too).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignatureArg {
    Acs3,
    HmacSha1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a renewal.yaml: every problem at once, each with its place and a fix.
    Validate(ConfigArg),
    /// Show what would change and which API calls apply would make.
    Plan(PlanArgs),
    /// Plan, confirm, and make the changes.
    Apply(ApplyArgs),
    /// Serve the ECS API on loopback from a fleet file, for tests and trials.
    Emulator(EmulatorArgs),
    /// Start the built-in emulator with the example fleet, then plan, apply and plan again.
    Demo,
    /// Print the JSON Schema of renewal.yaml (for editors: completion and checks as you type).
    Schema,
    /// Show one instance: its observed renewal, every policy that matches it and why, which one
    /// governs it, and what the plan would do to it.
    Explain(ExplainArgs),
    /// Write a renewal.yaml that declares the live renewal of the observed instances, so that a
    /// first plan makes no change.
    Export(ExportArgs),
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
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Apply without asking for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// The fleet file (instances per region, access keys, optional generated fleet).
    #[arg(long, value_name = "FILE")]
    pub fleet: PathBuf,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Latency added to every answer, e.g. `20ms`.
    #[arg(long, value_name = "DURATION")]
    pub latency: Option<String>,
    /// Inject faults: KIND=RATE with KIND one of throttle, error5xx, timeout, drop-after-commit
    /// and RATE between 0 and 1. May be repeated.
    #[arg(long = "fault", value_name = "KIND=RATE")]
    pub faults: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A region to export (repeat for several). Default: the regions of the -c file.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Only instances carrying this tag (repeat: all must match; VALUE * accepts any value).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = super::export::parse_tag)]
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
