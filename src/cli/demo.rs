//! `renewctl demo`: the whole loop against the built-in emulator, in one process and without a
//! cloud account. The emulator serves the example fleet (examples/fleet.yaml, compiled in) on a
//! free loopback port; renewctl plans examples/renewal.yaml against it, applies, and plans again
//! to show that nothing is left to do. The client is the real one, over real HTTP with real
//! signatures.

use std::net::{Ipv4Addr, SocketAddr};

use anstream::{print, println};

use super::args::GlobalArgs;
use super::commands::{make_plan, run_apply};
use super::context::client;
use crate::credentials::{Credentials, Secret};
use crate::desired;
use crate::emulator::{self, EmulatorOptions, Fleet};
use crate::engine::apply::Guard;
use crate::engine::plan::PlanRequest;
use crate::render::style::{BOLD, paint};
use crate::render::text;

const FLEET: &str = include_str!("../../examples/fleet.yaml");
const CONFIG: &str = include_str!("../../examples/renewal.yaml");

fn heading(text: &str) {
    println!("\n{}\n", paint(BOLD, format!("━━ {text}")));
}

pub async fn demo(global: &GlobalArgs) -> anyhow::Result<u8> {
    let fleet = Fleet::from_yaml_str(FLEET)?;
    let config = desired::parse(CONFIG.as_bytes(), "examples/renewal.yaml")?;
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    // The real API shows a renewal only after a delay (ecs-api.md §3.6): the demo's emulator
    // lags too, so the apply below shows the wait before turning auto-renewal on for the
    // instance it renews from expiry.
    let options = EmulatorOptions {
        renewal_lag: std::time::Duration::from_secs(2),
        ..EmulatorOptions::default()
    };
    let emulator = emulator::start(fleet, listen, options).await?;
    let (key_id, key_secret) = emulator.access_key();

    let global = GlobalArgs {
        endpoint: Some(emulator.endpoint()),
        ..global.clone()
    };
    let client = client(
        &global,
        Default::default(),
        Credentials {
            access_key_id: key_id,
            access_key_secret: Secret::new(key_secret),
            security_token: None,
            source: "the demo fleet",
        },
    )?;

    println!(
        "renewctl demo: the built-in ECS emulator serves examples/fleet.yaml at {};\n\
         the desired state is examples/renewal.yaml. Requests are signed and sent over HTTP, as to\n\
         the real API.",
        emulator.endpoint()
    );

    heading("1. renewctl plan");
    let first = make_plan(&client, &PlanRequest::new(&config, jiff::Timestamp::now())).await?;
    print!("{}", text::plan(&first));
    let reads_before = emulator.stats();

    heading("2. renewctl apply --auto-approve");
    let report = run_apply(
        &client,
        &first,
        Guard::JustMade,
        super::args::EventFormat::Text,
        &global,
    )
    .await?
    .report();
    let after_apply = emulator.stats();

    heading("3. renewctl plan");
    let second = make_plan(&client, &PlanRequest::new(&config, jiff::Timestamp::now())).await?;
    print!("{}", text::plan(&second));

    let renewed_twice: Vec<&String> = after_apply
        .renewals
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    println!(
        "\nCalls: the first plan made {} read{} (the emulator counted {}); apply sent {} mutating \
         request{} for {} planned call{}; {} instance{} renewed, none twice{}.",
        first.summary.read_calls,
        if first.summary.read_calls == 1 {
            ""
        } else {
            "s"
        },
        reads_before.requests,
        after_apply.mutating_requests - reads_before.mutating_requests,
        if after_apply.mutating_requests == 1 {
            ""
        } else {
            "s"
        },
        first.summary.api_calls,
        if first.summary.api_calls == 1 {
            ""
        } else {
            "s"
        },
        after_apply.renewals.len(),
        if after_apply.renewals.len() == 1 {
            ""
        } else {
            "s"
        },
        if renewed_twice.is_empty() {
            String::new()
        } else {
            format!(" — but renewed twice: {renewed_twice:?}")
        },
    );
    emulator.shutdown().await;

    let converged = report.is_complete() && !second.has_changes() && renewed_twice.is_empty();
    Ok(if converged { 0 } else { 1 })
}
