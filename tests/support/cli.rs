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

/// A fresh folder holding `config` as renewal.yaml and the plan of it saved as plan.json.
pub fn saved_plan(emu: &Emulator, config: &str) -> std::path::PathBuf {
    let dir = tempdir();
    std::fs::write(dir.join("renewal.yaml"), config).unwrap();
    let out = run(renewctl(emu)
        .current_dir(&dir)
        .args(["plan", "--out", "plan.json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    dir
}
