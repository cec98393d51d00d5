//! `renewctl explain i-…`: one instance's part of the plan, and why (`engine::explain`).

use anstream::print;

use super::args::{ExplainArgs, GlobalArgs};
use super::context::{client_from_env, load_config, routing};
use crate::engine;

pub async fn explain(global: &GlobalArgs, args: &ExplainArgs) -> anyhow::Result<u8> {
    let config = load_config(global, &args.config.config)?;
    let client = client_from_env(global, routing(Some(&config.desired))).await?;
    let now = jiff::Timestamp::now();
    let explanation = engine::explain::explain(
        &client,
        &config,
        &args.config.config.display().to_string(),
        &args.instance_id,
        now,
    )
    .await?;
    print!("{}", crate::render::explain::render(&explanation, now));
    Ok(0)
}
