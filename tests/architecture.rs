//! ARCHITECTURE.md, checked: every `crate::…` path in `src/` (outside comments) is read, and a
//! module that reaches a higher layer, or a module its rules forbid, fails the test with the file
//! and line. So does an import loop between top-level modules, and a top-level module the table
//! does not know (a new one must be given its layer here and in ARCHITECTURE.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layer of each top-level module of `src/` (ARCHITECTURE.md). A module may use modules of
/// its own layer or below, never above, and never in a loop.
const LAYERS: &[(&str, u8)] = &[
    // 0: vocabulary — no I/O, no knowledge of the rest.
    ("money", 0),
    ("time", 0),
    ("ecs", 0),
    ("interrupt", 0),
    // 1: the two sides of the diff.
    ("desired", 1),
    ("observed", 1),
    ("policy", 1),
    // 2: the pure core.
    ("plan", 2),
    ("planfile", 2),
    ("report", 2),
    ("explain", 2),
    ("export", 2),
    ("watch", 2),
    ("notify", 2),
    // 3: the wire.
    ("rpc", 3),
    ("credentials", 3),
    ("cloud", 3),
    ("post", 3),
    // 4: I/O parts over `EcsApi`.
    ("observe", 4),
    ("apply", 4),
    ("verify", 4),
    // 5: the use cases.
    ("engine", 5),
    // 6: the shell.
    ("render", 6),
    ("cli", 6),
    // Stands alone: the emulator is a product of its own (`renewctl emulator`).
    ("emulator", 6),
];

/// Modules that, beyond the layer rule, may use only these layers.
const ONLY: &[(&str, &[u8], &str)] = &[
    (
        "render",
        &[0, 1, 2],
        "render only formats: it takes pure data (plan, report, explanation) and never reaches the cloud, the engine or the shell",
    ),
    (
        "cloud",
        &[0, 1, 3],
        "the client speaks the API's vocabulary (ecs) and returns snapshots (observed); it knows nothing of plans",
    ),
    (
        "credentials",
        &[0, 3],
        "the credentials chain knows only the RPC protocol",
    ),
    (
        "rpc",
        &[0, 3],
        "the RPC protocol knows only the vocabulary below it",
    ),
    (
        "emulator",
        &[0],
        "the emulator stands alone: it models the API from its own reading and may use only the vocabulary of layer 0",
    ),
];

/// Modules nobody else may use, and who may.
const USED_ONLY_BY: &[(&str, &[&str])] = &[("cli", &[]), ("emulator", &["cli"])];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    from: String,
    to: String,
    place: String,
}

/// The `crate::X` paths of one file's code (comments left out), as (line, X).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().last();
            rest = &rest[at + "crate::".len()..];
            // `renewctl_crate::` or `$crate::` are not ours.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((index + 1, name));
            }
        }
        // `use crate::{a, b::c}`: every first segment inside the braces.
        if let Some(at) = code.find("crate::{") {
            let inner = &code[at + "crate::{".len()..];
            for part in inner.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push((index + 1, name));
                }
            }
        }
    }
    out
}

/// Every import between two different top-level modules, from (relative path, text) pairs.
fn imports(files: &[(String, String)]) -> Vec<Import> {
    let mut out = Vec::new();
    for (path, text) in files {
        let from = top_module(path);
        if from == "lib" || from == "main" {
            continue;
        }
        for (line, to) in crate_paths(text) {
            if to != from {
                out.push(Import {
                    from: from.clone(),
                    to,
                    place: format!("src/{path}:{line}"),
                });
            }
        }
    }
    out
}

fn top_module(path: &str) -> String {
    let first = path.split('/').next().unwrap_or(path);
    first.trim_end_matches(".rs").to_string()
}

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// Every rule an import breaks, as a line naming the file and line.
fn violations(imports: &[Import]) -> Vec<String> {
    let mut out = Vec::new();
    for import in imports {
        let (Some(from), Some(to)) = (layer(&import.from), layer(&import.to)) else {
            for module in [&import.from, &import.to] {
                if layer(module).is_none() {
                    out.push(format!(
                        "{}: module `{module}` has no layer: give it one in ARCHITECTURE.md and in tests/architecture.rs",
                        import.place
                    ));
                }
            }
            continue;
        };
        if to > from {
            out.push(format!(
                "{}: `{}` (layer {from}) uses `{}` (layer {to}): a lower layer never uses a higher one",
                import.place, import.from, import.to
            ));
        }
        if let Some((_, allowed, why)) = ONLY.iter().find(|(m, ..)| *m == import.from)
            && !allowed.contains(&to)
        {
            out.push(format!(
                "{}: `{}` uses `{}`: {why}",
                import.place, import.from, import.to
            ));
        }
        if let Some((_, users)) = USED_ONLY_BY.iter().find(|(m, _)| *m == import.to)
            && !users.contains(&import.from.as_str())
        {
            out.push(format!(
                "{}: `{}` uses `{}`, which only {} may use",
                import.place,
                import.from,
                import.to,
                if users.is_empty() {
                    "main.rs".to_string()
                } else {
                    users.join(", ")
                }
            ));
        }
    }
    out
}

/// The import loops between top-level modules, each as the modules around it with one place
/// per step.
fn loops(imports: &[Import]) -> Vec<String> {
    let mut edges: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for import in imports {
        edges
            .entry(import.from.as_str())
            .or_default()
            .entry(import.to.as_str())
            .or_insert(import.place.as_str());
    }
    let mut found = BTreeSet::new();
    let mut out = Vec::new();
    for &start in edges.keys() {
        // Depth-first from `start`, looking for a way back to it.
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, vec![start])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for (&next, _) in edges.get(node).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    let mut key = cycle.clone();
                    key.sort_unstable();
                    if found.insert(key) {
                        cycle.push(start);
                        let steps: Vec<String> = cycle
                            .windows(2)
                            .map(|w| format!("{} → {} ({})", w[0], w[1], edges[w[0]][w[1]]))
                            .collect();
                        out.push(format!("import loop: {}", steps.join(", ")));
                    }
                } else if seen.insert(next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    out
}

fn read_sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path).expect("a source file")));
        }
    }
}

#[test]
fn the_layers_of_architecture_md_hold() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_sources(&root, &root, &mut files);
    let imports = imports(&files);
    assert!(
        imports.len() > 100,
        "the reader found only {} imports: it is broken",
        imports.len()
    );
    let mut problems = violations(&imports);
    problems.extend(loops(&imports));
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md is broken:\n{}",
        problems.join("\n")
    );
    // Every top-level module has a layer, so the rules above cover all of them.
    let modules: BTreeSet<String> = files.iter().map(|(p, _)| top_module(p)).collect();
    for module in modules {
        assert!(
            module == "lib" || module == "main" || layer(&module).is_some(),
            "module `{module}` has no layer: give it one in ARCHITECTURE.md and tests/architecture.rs"
        );
    }
    // ARCHITECTURE.md names every module of the table.
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .expect("ARCHITECTURE.md at the root");
    for (module, _) in LAYERS {
        assert!(
            doc.contains(&format!("`{module}`")),
            "ARCHITECTURE.md does not name `{module}`"
        );
    }
}

fn file(path: &str, text: &str) -> (String, String) {
    (path.to_string(), text.to_string())
}

#[test]
fn a_lower_layer_using_a_higher_one_is_named_with_its_file_and_line() {
    let files = [
        file(
            "plan/calls.rs",
            "//! uses `crate::cloud` in a comment only\nuse crate::ecs::Mutation;\nuse crate::cloud::MAX_BATCH;\n",
        ),
        file("cloud/mod.rs", "use crate::{plan::Call, rpc};\n"),
        file(
            "render/text.rs",
            "fn f() { crate::cloud::EcsClient::new(); }\n",
        ),
        file(
            "emulator/standalone.rs",
            "use crate::cli::args::EmulatorArgs;\n",
        ),
        file("engine/plan.rs", "use crate::cli::context;\n"),
    ];
    let problems = violations(&imports(&files));
    let expected = [
        "src/plan/calls.rs:3: `plan` (layer 2) uses `cloud` (layer 3)",
        "src/cloud/mod.rs:1: `cloud` uses `plan`: the client speaks",
        "src/render/text.rs:1: `render` uses `cloud`: render only formats",
        "src/emulator/standalone.rs:1: `emulator` uses `cli`: the emulator stands alone",
        "src/emulator/standalone.rs:1: `emulator` uses `cli`, which only main.rs may use",
        "src/engine/plan.rs:1: `engine` (layer 5) uses `cli` (layer 6)",
    ];
    for want in expected {
        assert!(
            problems.iter().any(|p| p.starts_with(want)),
            "expected a problem starting {want:?}, got:\n{}",
            problems.join("\n")
        );
    }
    // The comment on line 1 and the allowed import on line 2 are not problems.
    assert!(
        !problems
            .iter()
            .any(|p| p.starts_with("src/plan/calls.rs:1") || p.starts_with("src/plan/calls.rs:2")),
        "{problems:?}"
    );
}

#[test]
fn an_import_loop_is_named_with_every_step() {
    let files = [
        file("apply/mod.rs", "use crate::verify::watch;\n"),
        file("verify.rs", "\n\nuse crate::apply::Stop;\n"),
        file("observe.rs", "use crate::cloud::EcsApi;\n"),
    ];
    let found = loops(&imports(&files));
    assert_eq!(
        found,
        vec![
            "import loop: apply → verify (src/apply/mod.rs:1), verify → apply (src/verify.rs:3)"
                .to_string()
        ]
    );
}

#[test]
fn a_module_without_a_layer_is_named() {
    let files = [file("billing.rs", "use crate::cloud::EcsApi;\n")];
    let problems = violations(&imports(&files));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("module `billing` has no layer"),
        "{problems:?}"
    );
}
