//! The diagnostics users see for broken files: a corpus under tests/configs/broken (one file per
//! class of problem: unknown keys, wrong types, durations the API refuses, contradictions,
//! duplicates, bad bytes, alias bombs, tabs…) whose exact output is recorded in
//! tests/snapshots, the warnings corpus under tests/configs/warnings, and `renewctl validate`
//! on a sample of them: exit 1 and the same text.

use std::collections::BTreeMap;
use std::path::Path;

use renewctl::desired::{self, MAX_CONFIG_BYTES, Severity};

use crate::support::cmd::{renewctl, repo, run, tempdir};

/// Every `*.yaml` of `tests/configs/<dir>`, by name without extension.
fn corpus(dir: &str) -> BTreeMap<String, Vec<u8>> {
    let path = repo().join("tests/configs").join(dir);
    std::fs::read_dir(&path)
        .expect("corpus directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let name = p.file_stem().expect("stem").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("readable"))
        })
        .collect()
}

#[test]
fn every_broken_config_gives_its_recorded_diagnostics() {
    let files = corpus("broken");
    assert!(files.len() >= 30, "only {} broken configs", files.len());
    for (name, bytes) in files {
        let label = format!("broken/{name}.yaml");
        let err = match desired::parse(&bytes, &label) {
            Ok(config) => panic!("{label} was accepted: {config:?}"),
            Err(err) => err,
        };
        assert!(err.errors() > 0, "{label}: no error");
        for d in &err.diagnostics {
            assert!(
                !d.message.is_empty() && !d.hint.is_empty(),
                "{label}: {d:?}"
            );
        }
        insta::assert_snapshot!(format!("broken-{name}"), err.to_string());
    }
}

#[test]
fn warnings_leave_the_file_valid_and_name_both_policies() {
    for (name, bytes) in corpus("warnings") {
        let label = format!("warnings/{name}.yaml");
        let config = match desired::parse(&bytes, &label) {
            Ok(config) => config,
            Err(err) => panic!("{label} was refused:\n{err}"),
        };
        assert!(!config.warnings.is_empty(), "{label}: no warning");
        assert!(
            config
                .warnings
                .iter()
                .all(|w| w.severity == Severity::Warning)
        );
        let report = desired::report::Report::new(&label, &config.source, false);
        let text: Vec<String> = config.warnings.iter().map(|w| report.render(w)).collect();
        insta::assert_snapshot!(format!("warnings-{name}"), text.join("\n"));
    }
}

#[test]
fn overlap_warnings_come_only_from_disagreeing_tag_policies_that_can_meet() {
    let config = desired::parse(
        &std::fs::read(repo().join("tests/configs/warnings/overlapping-tags.yaml")).unwrap(),
        "overlapping-tags.yaml",
    )
    .unwrap();
    let pairs: Vec<String> = config.warnings.iter().map(|w| w.message.clone()).collect();
    // all-envs can meet every other policy and disagrees with each; the others are kept apart
    // by `tier`, except prod-db and databases, which agree.
    assert_eq!(pairs.len(), 4, "{pairs:#?}");
    for other in ["prod-web", "batch", "prod-db", "databases"] {
        assert!(
            pairs
                .iter()
                .any(|p| p.contains(&format!("{other:?} and \"all-envs\""))),
            "{other}: {pairs:#?}"
        );
    }
    assert!(
        pairs[0].contains("(one tagged env=prod, tier=web)"),
        "{}",
        pairs[0]
    );
}

#[test]
fn validate_exits_1_with_the_same_diagnostics_and_0_for_the_examples() {
    for name in [
        "unknown-key-policy",
        "invalid-utf8",
        "alias-bomb",
        "tab-indent",
    ] {
        let file = format!("tests/configs/broken/{name}.yaml");
        let out = run(renewctl().args(["validate", "-c", &file]));
        assert_eq!(out.code, 1, "{file}: {}", out.stderr);
        let expected =
            desired::parse(&std::fs::read(repo().join(&file)).unwrap(), &file).unwrap_err();
        for d in &expected.diagnostics {
            assert!(out.stderr.contains(&d.title()), "{file}: {}", out.stderr);
        }
        assert!(
            out.stderr.contains(&format!("--> {file}")),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.ends_with(&format!(
                "error: {file} is invalid: {}\n",
                if expected.errors() == 1 {
                    "1 error".to_string()
                } else {
                    format!("{} errors", expected.errors())
                }
            )),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains('\u{1b}'), "colour in a pipe");
    }
    let out = run(renewctl().args(["validate", "-c", "examples/renewal.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "examples/renewal.yaml is valid: 6 policies over 2 regions.\n"
    );
    let file = "tests/configs/warnings/overlapping-tags.yaml";
    let out = run(renewctl().args(["validate", "-c", file]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("is valid (4 warnings)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("warning: policies[4].match.tags"),
        "{}",
        out.stderr
    );
}

#[test]
fn snippets_are_coloured_only_when_colour_is_wanted() {
    let file = "tests/configs/broken/unknown-key-policy.yaml";
    let out = run(renewctl()
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .args(["validate", "-c", file]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains('\u{1b}'), "no colour: {}", out.stderr);
    let out = run(renewctl()
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .args(["--no-color", "validate", "-c", file]));
    assert_eq!(out.code, 1);
    assert!(!out.stderr.contains('\u{1b}'), "colour despite --no-color");
}

#[test]
fn an_oversized_file_is_refused_without_reading_it_all() {
    let dir = tempdir();
    let path = dir.join("renewal.yaml");
    // A sparse gigabyte: reading it whole would take seconds and the memory of the test.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(1 << 30).unwrap();
    drop(file);
    let out = run(renewctl().args(["validate", "-c"]).arg(&path));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the file is larger than 8 MiB, the most renewctl reads"),
        "{}",
        out.stderr
    );
    // Just at the limit, the file is read (and refused for what it contains).
    let mut text = String::from("version: 1\nregions: [cn-hangzhou]\npolicies: []\n#");
    text.push_str(&"x".repeat(MAX_CONFIG_BYTES - text.len()));
    let err = desired::parse(text.as_bytes(), "big.yaml");
    assert!(err.is_ok(), "{err:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_flood_of_problems_is_counted_and_the_first_ones_shown() {
    let mut text = String::from("version: 1\nregions:\n");
    for i in 0..1000 {
        text.push_str(&format!("  - X{i}\n"));
    }
    text.push_str("policies: []\n");
    let err = desired::parse(text.as_bytes(), "flood.yaml").unwrap_err();
    assert_eq!(err.diagnostics.len(), desired::MAX_DIAGNOSTICS);
    assert_eq!(err.errors(), 1000);
    let shown = err.to_string();
    assert!(shown.contains("\"X199\" is not a region id"), "{shown}");
    assert!(!shown.contains("\"X200\""), "{shown}");
    assert!(
        shown.contains("note: 800 more problems (800 errors, 0 warnings) are not shown"),
        "{shown}"
    );
    assert!(shown.ends_with("flood.yaml is invalid: 1000 errors; nothing was planned"));
}

#[test]
fn a_file_on_one_long_line_is_read_and_shown_in_linear_time() {
    // 50,000 ids on one line (1 MB), the last one wrong. Converting places column by column
    // from the start of the line would take minutes here; the snippet shows a window.
    let ids: Vec<String> = (0..50_000).map(|i| format!("i-bp1{i:015}")).collect();
    let line = format!("    match: {{ids: [{}, web-1]}}", ids.join(", "));
    let text = format!(
        "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: a\n{line}\n    renewal: manual\n"
    );
    let started = std::time::Instant::now();
    let err = desired::parse(text.as_bytes(), "long.yaml").unwrap_err();
    let shown = err.to_string();
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    let column = line.find("web-1").unwrap() + 1;
    assert!(
        shown.contains(&format!("--> long.yaml:5:{column}")),
        "{shown}"
    );
    assert!(shown.contains("^^^^^ not an instance id"), "{shown}");
    assert!(
        shown.len() < 2_000,
        "the whole line was printed: {} bytes",
        shown.len()
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let out = run(renewctl().args(["validate", "-c", "does-not-exist.yaml"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("cannot read does-not-exist.yaml"),
        "{}",
        out.stderr
    );
    assert!(!Path::new("does-not-exist.yaml").exists());
}
