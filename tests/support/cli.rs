//! Running the real binary: a command pointed at an emulator with its key in a clean
//! environment, its exit code and output, and fresh temporary folders.

use std::path::PathBuf;

use assert_cmd::Command;

use super::emulator::Emulator;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `renewctl` pointed at `emu`, with its access key in the environment and nothing else.
pub fn renewctl(emu: &Emulator) -> Command {
    Command::from_std(process(emu))
}

/// The same as a plain process, to spawn and kill.
pub fn process(emu: &Emulator) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_renewctl"));
    cmd.current_dir(repo())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &emu.key_id)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &emu.key_secret)
        .env("RENEWCTL_ENDPOINT", emu.endpoint())
        .env("NO_COLOR", "1");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let output = cmd.output().expect("renewctl runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A new empty folder under the system's temporary folder.
pub fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "renewctl-test-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
