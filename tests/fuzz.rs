//! Property tests of reading renewal.yaml:
//!
//! - arbitrary bytes, YAML-looking token soup and arbitrary YAML values never panic the
//!   parser; a refusal always has a diagnostic, names the file, and points inside the text;
//! - on config-shaped documents with random mistakes, the lenient reader agrees with the
//!   model's own derived deserialization (same verdict, same result), and the JSON Schema
//!   refuses exactly the documents renewctl refuses;
//! - the binary exits 1, naming the file, on a sample of garbage.
//!
//! Seeds are random on each run; a failure prints the minimal input. `FUZZ_CASES=30000` runs
//! more cases than CI does (`cargo test --release --test integration fuzz`).

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use renewctl::desired::{self, DesiredState, read, tree};
use serde_yaml::{Mapping, Value as Yaml};

use crate::schema::Validator;
use crate::support::cmd::{renewctl, run, tempdir};

fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Parses `bytes` and checks what a user would see: no panic, and a refusal that names the
/// file, says something, and points inside the text it shows.
fn parse_is_well_behaved(bytes: &[u8]) -> Result<(), TestCaseError> {
    match desired::parse(bytes, "fuzz.yaml") {
        Ok(config) => {
            prop_assert!(config.warnings.iter().all(|w| w.span.is_some()));
        }
        Err(err) => {
            prop_assert!(!err.diagnostics.is_empty());
            prop_assert!(err.errors() > 0);
            for d in &err.diagnostics {
                if let Some(span) = d.span {
                    prop_assert!(span.offset + span.len <= err.source.len(), "{d:?}");
                    prop_assert!(err.source.is_char_boundary(span.offset), "{d:?}");
                    prop_assert!(span.line >= 1 && span.column >= 1, "{d:?}");
                }
            }
            let text = err.to_string();
            prop_assert!(text.contains("fuzz.yaml"), "{text}");
            prop_assert!(text.starts_with("error") || text.starts_with("warning"));
        }
    }
    Ok(())
}

#[test]
fn arbitrary_bytes_never_panic() {
    runner(1024)
        .run(&prop::collection::vec(any::<u8>(), 0..400), |bytes| {
            parse_is_well_behaved(&bytes)
        })
        .unwrap();
}

/// Text made of YAML syntax and renewal.yaml words, so that the parser gets far and fails in
/// interesting places (tabs, anchors, tags, quotes, Unicode line breaks).
fn token_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "version",
        "regions",
        "policies",
        "name",
        "match",
        "tags",
        "ids",
        "renewal",
        "auto",
        "manual",
        "never",
        "auto_renew_period",
        "min_remaining",
        "renew_period",
        ": ",
        ":",
        " ",
        "\n",
        "\n  ",
        "\n    ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "&a ",
        "*a",
        "!t ",
        "!!str ",
        "'",
        "\"",
        "# c",
        "\t",
        "1",
        "2",
        "1 month",
        "30 days",
        "0x10",
        "~",
        "i-bp1abc",
        "env",
        "prod",
        "\"*\"",
        "cn-hangzhou",
        "<<",
        "---\n",
        "...\n",
        "é",
        "\u{2028}",
        "\r",
        "\r\n",
        "\u{feff}",
        "|\n  x",
        ">-\n  y",
        "%YAML 1.2\n",
        "? ",
    ];
    prop::collection::vec(prop::sample::select(tokens), 0..80).prop_map(|v| v.concat())
}

#[test]
fn yaml_looking_text_never_panics() {
    runner(1024)
        .run(&token_soup(), |text| parse_is_well_behaved(text.as_bytes()))
        .unwrap();
}

/// A config whose regions are one long flow line of random items (some not ASCII, some quoted,
/// some wrong): snippets of long lines are windows, and places are counted in characters.
fn long_line() -> impl Strategy<Value = String> {
    let item = prop::sample::select(vec![
        "cn-hangzhou",
        "us-east-1",
        "Hangzhou",
        "\"é-ü\"",
        "'it''s'",
        "0x10",
        "~",
        "\"\\u00e9\"",
        "杭州",
        "x",
    ]);
    prop::collection::vec(item, 150..300).prop_map(|items| {
        format!(
            "version: 1\nregions: [{}]\npolicies: []\n",
            items.join(", ")
        )
    })
}

#[test]
fn long_lines_never_panic_and_stay_placed() {
    runner(32)
        .run(&long_line(), |text| {
            let err = match desired::parse(text.as_bytes(), "fuzz.yaml") {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            for d in &err.diagnostics {
                let Some(span) = d.span else { continue };
                // The place names the character where the underlined text starts.
                let line = text.lines().nth(span.line - 1).unwrap_or_default();
                let at: String = line.chars().skip(span.column - 1).take(3).collect();
                prop_assert!(err.source[span.offset..].starts_with(&at), "{d:?}: {at:?}");
            }
            // Rendering windows the long line: far less text than the line per snippet.
            let shown = err.to_string();
            prop_assert!(shown.len() < err.diagnostics.len() * 1_200 + 200);
            Ok(())
        })
        .unwrap();
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "version",
            "regions",
            "policies",
            "name",
            "match",
            "ids",
            "tags",
            "renewal",
            "auto_renew_period",
            "min_remaining",
            "renew_period",
            "<<",
            "",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z_ .-]{0,10}",
    ]
}

fn yaml_value() -> impl Strategy<Value = Yaml> {
    let leaf = prop_oneof![
        Just(Yaml::Null),
        any::<bool>().prop_map(Yaml::Bool),
        any::<i64>().prop_map(|n| Yaml::Number(n.into())),
        any::<u64>().prop_map(|n| Yaml::Number(n.into())),
        any::<f64>().prop_map(|f| Yaml::Number(f.into())),
        key().prop_map(Yaml::String),
        any::<String>().prop_map(Yaml::String),
        prop::sample::select(vec![
            "1 month",
            "30 days",
            "auto",
            "never",
            "cn-hangzhou",
            "i-bp1a"
        ])
        .prop_map(|s| Yaml::String(s.to_string())),
    ];
    leaf.prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Yaml::Sequence),
            prop::collection::vec((key(), inner), 0..6).prop_map(|entries| {
                Yaml::Mapping(
                    entries
                        .into_iter()
                        .map(|(k, v)| (Yaml::String(k), v))
                        .collect::<Mapping>(),
                )
            }),
        ]
    })
}

#[test]
fn arbitrary_yaml_values_never_panic() {
    runner(512)
        .run(&yaml_value(), |value| {
            let text = serde_yaml::to_string(&value).unwrap_or_default();
            parse_is_well_behaved(text.as_bytes())
        })
        .unwrap();
}

/// One policy with random, often wrong, settings. `i` keeps names and ids apart between
/// policies, so that the only problems are within a policy (where the schema can see them).
fn policy(i: usize) -> impl Strategy<Value = Yaml> {
    let durations = vec![
        "1 month",
        "12 months",
        "1 year",
        "5 months",
        "30 days",
        "0 days",
        "00 days",
        "2 weeks",
        "5 weeks",
        "10 months",
        "3 fortnights",
        "6 years",
        "10 years",
        "11 years",
        "3653 days",
        "3654 days",
        "1 Month",
        " 2 weeks ",
        "1month",
    ];
    let duration = prop_oneof![
        3 => Just(None),
        1 => Just(Some(Yaml::Null)),
        4 => prop::sample::select(durations).prop_map(|d| Some(Yaml::String(d.into()))),
        1 => Just(Some(Yaml::Number(30.into()))),
    ];
    let name = prop_oneof![
        8 => Just(Yaml::String(format!("p{i}"))),
        1 => Just(Yaml::String(" ".into())),
        1 => Just(Yaml::Sequence(vec![Yaml::String("x".into())])),
    ];
    let id = prop_oneof![
        6 => Just(format!("i-bp1abc{i:04}")),
        1 => Just(format!("web-{i}")),
        1 => Just(format!("I-BP1{i}")),
    ];
    let ids = prop_oneof![
        prop::collection::vec(id, 0..3).prop_map(move |ids| {
            // Distinct within the policy unless the same id was drawn twice on purpose.
            Yaml::Sequence(ids.into_iter().map(Yaml::String).collect())
        }),
        Just(Yaml::Null),
        Just(Yaml::String("i-bp1".into())),
    ];
    let tags = prop_oneof![
        prop::collection::btree_map(
            prop::sample::select(vec!["env", "team", " ", "tier"]),
            prop::sample::select(vec!["prod", "*", "batch", ""]),
            0..3
        )
        .prop_map(|m| {
            Yaml::Mapping(
                m.into_iter()
                    .map(|(k, v)| (Yaml::String(k.into()), Yaml::String(v.into())))
                    .collect(),
            )
        }),
        Just(Yaml::Null),
        Just(Yaml::Sequence(vec![Yaml::String("env".into())])),
    ];
    let selector = (
        prop::option::weighted(0.6, ids),
        prop::option::weighted(0.5, tags),
    )
        .prop_map(|(ids, tags)| {
            let mut m = Mapping::new();
            if let Some(ids) = ids {
                m.insert("ids".into(), ids);
            }
            if let Some(tags) = tags {
                m.insert("tags".into(), tags);
            }
            Yaml::Mapping(m)
        });
    let renewal = prop_oneof![
        3 => prop::sample::select(vec!["auto", "manual", "never"]).prop_map(|r| Some(Yaml::String(r.into()))),
        1 => Just(Some(Yaml::String("sometimes".into()))),
        1 => Just(None),
    ];
    let protect = prop_oneof![
        6 => Just(None),
        2 => Just(Some(Yaml::Bool(true))),
        1 => Just(Some(Yaml::Bool(false))),
        1 => Just(Some(Yaml::Null)),
        1 => Just(Some(Yaml::String("yes".into()))),
    ];
    (
        name,
        prop::option::weighted(0.95, selector),
        renewal,
        duration.clone(),
        duration.clone(),
        duration,
        prop::bool::weighted(0.05),
        protect,
    )
        .prop_map(
            |(name, selector, renewal, auto, min, step, unknown, protect)| {
                let mut m = Mapping::new();
                m.insert("name".into(), name);
                if let Some(selector) = selector {
                    m.insert("match".into(), selector);
                }
                if let Some(renewal) = renewal {
                    m.insert("renewal".into(), renewal);
                }
                for (key, value) in [
                    ("auto_renew_period", auto),
                    ("min_remaining", min),
                    ("renew_period", step),
                ] {
                    if let Some(value) = value {
                        m.insert(key.into(), value);
                    }
                }
                if unknown {
                    m.insert("owner".into(), "team-a".into());
                }
                if let Some(protect) = protect {
                    m.insert("protect".into(), protect);
                }
                Yaml::Mapping(m)
            },
        )
}

/// `limits:` with random, often wrong, values (a missing or stray currency, negative or odd
/// numbers, wrong types), or nothing.
fn limits() -> impl Strategy<Value = Option<Yaml>> {
    let count = prop_oneof![
        3 => Just(None),
        3 => (0u64..50).prop_map(|n| Some(Yaml::Number(n.into()))),
        1 => Just(Some(Yaml::Number((-1).into()))),
        1 => Just(Some(Yaml::String("ten".into()))),
        1 => Just(Some(Yaml::Null)),
    ];
    let amount = prop_oneof![
        3 => Just(None),
        2 => (0u64..100_000).prop_map(|n| Some(Yaml::Number(n.into()))),
        2 => Just(Some(Yaml::Number(1250.5.into()))),
        1 => Just(Some(Yaml::Number((-100).into()))),
        1 => Just(Some(Yaml::String("5000 CNY".into()))),
    ];
    let currency = prop_oneof![
        3 => Just(None),
        3 => prop::sample::select(vec!["CNY", "USD"]).prop_map(|c| Some(Yaml::String(c.into()))),
        1 => Just(Some(Yaml::String("yuan".into()))),
    ];
    prop::option::weighted(0.5, (count, amount, currency, prop::bool::weighted(0.05))).prop_map(
        |limits| {
            limits.map(|(count, amount, currency, unknown)| {
                let mut m = Mapping::new();
                for (key, value) in [
                    ("max_renewals", count),
                    ("max_total_price", amount),
                    ("currency", currency),
                ] {
                    if let Some(value) = value {
                        m.insert(key.into(), value);
                    }
                }
                if unknown {
                    m.insert("max_renewal".into(), 5.into());
                }
                Yaml::Mapping(m)
            })
        },
    )
}

/// A top-level `protect:` rule, sometimes wrong, or nothing.
fn protection() -> impl Strategy<Value = Option<Yaml>> {
    let tags = |pairs: &[(&str, &str)]| {
        Yaml::Mapping(
            pairs
                .iter()
                .map(|(k, v)| (Yaml::String((*k).into()), Yaml::String((*v).into())))
                .collect(),
        )
    };
    let rule = |key: &str, value: Yaml| {
        let mut m = Mapping::new();
        m.insert(key.into(), value);
        Yaml::Mapping(m)
    };
    prop_oneof![
        4 => Just(None),
        3 => Just(Some(rule("tags", tags(&[("protect", "renewal")])))),
        1 => Just(Some(rule("tags", tags(&[("protect", "*"), ("env", "prod")])))),
        1 => Just(Some(rule("tags", tags(&[])))),
        1 => Just(Some(rule("tag", tags(&[("protect", "renewal")])))),
        1 => Just(Some(Yaml::String("everything".into()))),
    ]
}

/// A whole config with random mistakes.
fn config() -> impl Strategy<Value = String> {
    let regions = prop::collection::vec(
        prop::sample::select(vec![
            "cn-hangzhou",
            "cn-shanghai",
            "us-east-1",
            "cn-hangzhou",
            "Hangzhou",
            "",
        ]),
        0..3,
    );
    let version = prop_oneof![
        8 => Just(Yaml::Number(1.into())),
        1 => Just(Yaml::Number(2.into())),
        1 => Just(Yaml::String("1".into())),
    ];
    let policies = (0..4usize)
        .prop_flat_map(|n| (0..n).map(policy).collect::<Vec<_>>())
        .boxed();
    (version, regions, policies, limits(), protection()).prop_map(
        |(version, regions, policies, limits, protect)| {
            let mut m = Mapping::new();
            m.insert("version".into(), version);
            m.insert(
                "regions".into(),
                Yaml::Sequence(
                    regions
                        .into_iter()
                        .map(|r| Yaml::String(r.into()))
                        .collect(),
                ),
            );
            m.insert("policies".into(), Yaml::Sequence(policies));
            if let Some(limits) = limits {
                m.insert("limits".into(), limits);
            }
            if let Some(protect) = protect {
                m.insert("protect".into(), protect);
            }
            serde_yaml::to_string(&Yaml::Mapping(m)).unwrap_or_default()
        },
    )
}

#[test]
fn the_lenient_reader_agrees_with_the_model() {
    runner(1024)
        .run(&config(), |text| {
            let root = tree::load(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (draft, errors) = read::read(&root);
            let model = serde_yaml::from_str::<DesiredState>(&text);
            match (&model, draft.desired()) {
                (Ok(model), Some(read)) => prop_assert_eq!(model, &read),
                (Err(_), None) => prop_assert!(!errors.is_empty()),
                (model, read) => prop_assert!(
                    false,
                    "model: {model:?}\nreader: {read:?}\nerrors: {errors:?}\n{text}"
                ),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_schema_refuses_exactly_what_renewctl_refuses() {
    let validator = Validator::committed();
    let (accepted, refused) = (Cell::new(0), Cell::new(0));
    runner(1024)
        .run(&config(), |text| {
            let renewctl = desired::parse(text.as_bytes(), "fuzz.yaml");
            let schema = validator.check_yaml(&text);
            prop_assert_eq!(
                renewctl.is_ok(),
                schema.is_ok(),
                "renewctl: {:?}\nschema: {:?}\n{}",
                renewctl.as_ref().err().map(|e| e.to_string()),
                schema,
                text
            );
            let count = if schema.is_ok() { &accepted } else { &refused };
            count.set(count.get() + 1);
            Ok(())
        })
        .unwrap();
    // Both verdicts must actually occur, or the property says nothing.
    // About 3% of the generated files are valid (17 to 46 of 1,024 in six runs): a bound of 20
    // failed one run in three; 5 still proves both verdicts occur.
    let (accepted, refused) = (accepted.get(), refused.get());
    assert!(
        accepted >= 5 && refused >= 5,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn the_binary_exits_1_naming_the_file_on_garbage() {
    let dir = tempdir();
    // A fixed sample: what a user might point -c at by mistake.
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("binary.yaml", (0..=255u8).cycle().take(700).collect()),
        ("soup.yaml", b"version: [1\n\t- : &a *a\n".to_vec()),
        (
            "json.yaml",
            br#"{"version": 1, "regions": "cn-hangzhou"}"#.to_vec(),
        ),
        ("lines.yaml", b"just\nsome\ntext\n".to_vec()),
        ("nul.yaml", b"version: 1\0\nregions: []\n".to_vec()),
    ];
    for (name, bytes) in samples {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = run(renewctl().args(["validate", "-c"]).arg(&path));
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains(&path.display().to_string()),
            "{name}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
    }
    let _ = std::fs::remove_dir_all(dir);
}
