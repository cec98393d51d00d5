//! Running the real binary pointed at an emulator, with its key in a clean environment. The
//! output and temporary folders come from `cmd`.

use assert_cmd::Command;

pub use super::cmd::{Run, run, tempdir};
use super::emulator::Emulator;

/// `renewctl` pointed at `emu`, with its access key in the environment and nothing else.
pub fn renewctl(emu: &Emulator) -> Command {
    Command::from_std(process(emu))
}

/// The same as a plain process, to spawn and kill.
pub fn process(emu: &Emulator) -> std::process::Command {
    let mut cmd = super::cmd::clean_process();
    cmd.env("ALIBABA_CLOUD_ACCESS_KEY_ID", &emu.key_id)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &emu.key_secret)
        .env("RENEWCTL_ENDPOINT", emu.endpoint());
    cmd
}
