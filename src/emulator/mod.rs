//! The ECS emulator. Work in progress.

use crate::cli::args::EmulatorArgs;

/// Runs `renewctl emulator` until interrupted.
pub async fn run_standalone(_args: &EmulatorArgs) -> anyhow::Result<()> {
    anyhow::bail!("the emulator is not implemented yet")
}
