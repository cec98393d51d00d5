//! Records the git commit and the target triple for `renewctl --version` and `renewctl version`
//! (a bug report names exactly what was run). Without git (a source tarball, a Docker build
//! without .git) the commit is "unknown".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    println!("cargo:rerun-if-env-changed=RENEWCTL_GIT_COMMIT");
    let commit = std::env::var("RENEWCTL_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=RENEWCTL_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=RENEWCTL_TARGET={}",
        std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string())
    );
}
