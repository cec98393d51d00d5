//! The integration test binary. Modules:
//!
//! - `support`: fixtures shared by the tests (instances, configs, a fixed "now").
//! - `config`: parsing and validating renewal.yaml, one test per rule and per error class.
//! - `diagnostics`: the broken-config corpus and its recorded diagnostics (insta snapshots),
//!   warnings, and `renewctl validate` exit codes and limits.
//! - `planner`: the pure planner, one table of cases per rule of DESIGN.md §2 and §5.
//! - `client`: the real HTTP client against the emulator over loopback: every action, both
//!   signature schemes, every error path, retries and idempotent renewals.
//! - `emulator_wire`: the emulator against the exact bytes the official Python SDK sent.
//! - `emulator_http`: the emulator's faults, latency, stats endpoint, refusals, concurrency and
//!   the `renewctl emulator` command.
//! - `saved_plan`: plan --out, show, apply plan.json and every refusal of a stale or altered
//!   plan.
//! - `markdown`: the pull-request comment, snapshot-tested, small and size-capped.
//! - `hostile`: property tests of saved plans and API answers against arbitrary bytes (the
//!   fuzz targets of fuzz/, in CI form).
//! - `money`: concurrent applies of one saved plan, and an apply killed half-way, renew each
//!   instance once.
//! - `money_safety`: DESIGN.md §8 through the binary, with renewal lag: different configs from
//!   one expiry pay once, a held token and its way out, an expired instance renewed and set to
//!   auto-renew in one apply, troubled instances and regions that stop nothing else, SIGTERM,
//!   the re-check after "yes", saved plans refused for a protect tag, age or a crafted call.
//! - `ambiguity`: each ambiguous outcome of a renewal is "unknown: may have been charged", and
//!   the re-read of its expiry says whether it was.
//! - `faults`: apply under injected faults over 200 seeds: converged within three rounds,
//!   nothing renewed twice, every outcome true.
//! - `prices`: the price of each renewal (DescribeRenewalPrice: which query prices which period,
//!   totals per currency, unknown never zero), pure and against the emulator.
//! - `limits`: spending limits from the config, flags and saved plans: a plan over a limit is
//!   refused with exit 1 before any call.
//! - `protect`: protected instances: the planner's table of what is lowering and what is not,
//!   and a blocked downgrade that never reaches the emulator.
//! - `explain`: one instance's state, matching policies, governing policy and its part of the
//!   plan (identical to `plan`'s), against the emulator.
//! - `export`: `renewctl export` then `plan` makes no change: grouping and tag cover, a
//!   property over random fleets, the example fleet and 1,000 generated instances.
//! - `fuzz`: property tests: arbitrary bytes, token soup and YAML values never panic the
//!   parser; the lenient reader agrees with the model, and the schema with renewctl.
//! - `schema`: schemas/renewal.schema.json generated from the model, `renewctl schema`, and an
//!   independent validator (boon) on the examples and the broken corpus.
//! - `cli`: the binary end to end against the emulator: plan → apply → plan, exit codes,
//!   refusals, secrets.
//! - `cli_cloud`: the binary's cloud access: `whoami` per kind of credentials,
//!   `--debug-credentials`, a whole plan and apply at `-vv` with STS credentials that must show no
//!   secret, token or signature, no progress bar on a pipe, `--max-rps` against a throttled API,
//!   verification after apply, flag errors.
//! - `credentials`: the credentials chain, data-driven: one folder per case under
//!   `tests/credentials/` (environment, config file, expected link or error).
//! - `credential_refresh`: temporary credentials refreshed before expiry during a long run.
//! - `retries`: the retry policy against scripted emulator faults, asserting exact request
//!   sequences.
//! - `check`: `renewctl check` against the emulator: attention and exit codes, the balance
//!   short, enough or unreadable, never a mutating call, the JSON document, the Prometheus
//!   textfile and the iCalendar file parsed back.
//! - `notify`: `check --notify` against a local receiver checking DingTalk's and Feishu's
//!   signatures: one failing sink among three, a rate limit retried, silence, routing by team,
//!   no secret at -vv, config refusals, size limits with 10,000 instances.
//! - `architecture`: ARCHITECTURE.md's layers, read from the `crate::` paths of `src/`: no lower
//!   layer uses a higher one, render and the emulator keep to their rules, no import loop.
//! - `sites`: the China and the international site: China-only values in validation, the
//!   renewal chosen per site, each site's charge day, an international emulator's refusals and
//!   USD prices, a declared site the account contradicts refused before money moves, saved plans
//!   bound to their site, VPC endpoints and hosts per region in `whoami`, `--probe-site`.
//! - `scope`: partial plans (`--target`, `--policy`): only them, said in every format, typos
//!   refused, a saved scoped plan applied stays scoped.
//! - `plan_schema`: schemas/plan.schema.json validates every plan (whole, partial, grouped,
//!   site, no prices, limits, errors, saved, shown) and apply event, and refuses undocumented keys.
//! - `toolbox`: completions parsed by their own shells where installed, man pages rendered
//!   without warnings, `version` for scripts.
//! - `scale`: 5,000 generated instances in 3 regions under throttling converge, none renewed twice.

mod support;

mod ambiguity;
mod architecture;
mod check;
mod cli;
mod cli_cloud;
mod client;
mod config;
mod credential_refresh;
mod credentials;
mod diagnostics;
mod emulator_http;
mod emulator_wire;
mod explain;
mod export;
mod faults;
mod fuzz;
mod hostile;
mod limits;
mod markdown;
mod money;
mod money_safety;
mod notify;
mod plan_schema;
mod planner;
mod prices;
mod protect;
mod retries;
mod saved_plan;
mod scale;
mod schema;
mod scope;
mod sites;
mod toolbox;
