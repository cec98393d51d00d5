//! Running the `renewctl` binary in tests: a command with a clean environment (no colour, no
//! credentials unless given), its exit code and output, and fresh temporary directories.

use std::path::PathBuf;

use assert_cmd::Command;

use super::emulator::Emulator;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary run from the repository, with nothing in its environment but PATH and NO_COLOR.
pub fn clean_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_renewctl"));
    cmd.current_dir(repo())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1");
    cmd
}

/// `renewctl` run from the repository, with nothing in its environment but PATH and NO_COLOR.
pub fn renewctl() -> Command {
    Command::from_std(clean_process())
}

/// `renewctl` pointed at `emu`, with its access key.
pub fn renewctl_at(emu: &Emulator) -> Command {
    super::cli::renewctl(emu)
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

/// A new empty directory under the system temp dir.
pub fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "renewctl-test-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
