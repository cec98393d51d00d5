//! The toolbox commands: completion scripts checked by each shell's own parser where the shell
//! is installed (`bash -n`, `zsh -n`, `fish --no-execute`; a shell that is absent is named as
//! skipped), man pages rendered by groff or mandoc with warnings as failures where present,
//! and `version` for scripts.

use std::process::Command;

use serde_json::Value;

use crate::support::cmd::{renewctl, run, tempdir};

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn completions_parse_in_their_own_shell() {
    let dir = tempdir();
    let mut checked = 0;
    for (shell, checker) in [
        ("bash", vec!["bash", "-n"]),
        ("zsh", vec!["zsh", "-n"]),
        ("fish", vec!["fish", "--no-execute"]),
        ("powershell", vec![]),
        ("elvish", vec![]),
    ] {
        let out = run(renewctl().args(["completions", shell]));
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(
            out.stdout.contains("renewctl") && out.stdout.contains("check"),
            "{shell}: the script names the commands"
        );
        let Some((program, args)) = checker.split_first() else {
            continue; // no parser of its own on Linux: generated and non-empty
        };
        if !installed(program) {
            eprintln!("note: {program} is not installed; its completion script was not parsed");
            continue;
        }
        let file = dir.join(format!("renewctl.{shell}"));
        std::fs::write(&file, &out.stdout).unwrap();
        let parsed = Command::new(program)
            .args(args)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            parsed.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&parsed.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 1, "bash at least is always there");
    let out = run(renewctl().args(["completions", "tcsh"]));
    assert_eq!(out.code, 1, "an unknown shell is a usage error");
}

#[test]
fn man_pages_render_without_warnings() {
    let dir = tempdir();
    let out = run(renewctl().arg("man").arg(&dir));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for page in [
        "renewctl.1",
        "renewctl-check.1",
        "renewctl-plan.1",
        "renewctl-apply.1",
    ] {
        assert!(dir.join(page).exists(), "{page} among {pages:?}");
    }
    // groff with every warning on; mandoc's linter at its error level (its style warnings
    // about clap_mangen's paragraph macros are not errors of the page).
    let renderers: Vec<Vec<&str>> = [
        ("groff", vec!["groff", "-K", "utf8", "-man", "-ww", "-z"]),
        ("mandoc", vec!["mandoc", "-T", "lint", "-W", "error"]),
    ]
    .into_iter()
    .filter(|(program, _)| {
        let there = installed(program);
        if !there {
            eprintln!("note: {program} is not installed; the man pages were not rendered by it");
        }
        there
    })
    .map(|(_, args)| args)
    .collect();
    for renderer in renderers {
        for page in &pages {
            let rendered = Command::new(renderer[0])
                .args(&renderer[1..])
                .arg(page)
                .output()
                .unwrap();
            let warnings = String::from_utf8_lossy(&rendered.stderr);
            assert!(
                rendered.status.success() && warnings.trim().is_empty(),
                "{}: {warnings}",
                page.display()
            );
        }
    }
    let out = run(renewctl().arg("man"));
    assert!(out.stdout.contains(".TH renewctl 1"), "{}", out.stdout);
}

#[test]
fn version_names_the_commit_and_target() {
    let out = run(renewctl().args(["version", "--format", "json"]));
    assert_eq!(out.code, 0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["plan_format_version"], "1");
    let commit = v["commit"].as_str().unwrap();
    assert!(
        commit == "unknown" || commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{commit}"
    );
    assert!(v["target"].as_str().unwrap().contains('-'));
    let out = run(renewctl().arg("--version"));
    assert!(
        out.stdout
            .starts_with(&format!("renewctl {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{}",
        out.stdout
    );
}
