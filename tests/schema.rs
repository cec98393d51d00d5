//! schemas/renewal.schema.json: generated from the model (so a field added to the Rust types
//! and not to the committed schema fails here), printed by `renewctl schema`, and checked with
//! an independent validator (boon) against every example and against the broken corpus, to show
//! what the schema catches in an editor and what only `renewctl validate` can.

use renewctl::desired::fields::names;
use renewctl::desired::schema;
use renewctl::desired::{DesiredState, RenewalPolicy, Selector};
use serde_json::Value;

use crate::support::cmd::{renewctl, repo, run};

/// The schema compiled by boon, ready to validate instances.
pub struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    pub fn committed() -> Validator {
        let text = std::fs::read_to_string(repo().join(schema::SCHEMA_PATH)).expect("schema");
        let value: Value = serde_json::from_str(&text).expect("schema is JSON");
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let url = "file:///renewal.schema.json";
        compiler.add_resource(url, value).expect("resource");
        let index = compiler
            .compile(url, &mut schemas)
            .expect("schema compiles");
        Validator { schemas, index }
    }

    /// `Ok` when the YAML text validates; the validator's message otherwise.
    pub fn check_yaml(&self, text: &str) -> Result<(), String> {
        let instance: Value =
            serde_yaml::from_str(text).map_err(|e| format!("not JSON-like YAML: {e}"))?;
        self.schemas
            .validate(&instance, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

#[test]
fn the_committed_schema_is_the_one_the_model_generates() {
    let committed =
        std::fs::read_to_string(repo().join(schema::SCHEMA_PATH)).expect("committed schema");
    let generated = schema::to_json();
    assert!(
        committed == generated,
        "{} is out of date with the Rust model (src/desired/model.rs): regenerate it with \
         `cargo run -- schema > {}` and review the difference",
        schema::SCHEMA_PATH,
        schema::SCHEMA_PATH
    );
}

#[test]
fn renewctl_schema_prints_the_committed_schema() {
    let out = run(renewctl().arg("schema"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let committed = std::fs::read_to_string(repo().join(schema::SCHEMA_PATH)).unwrap();
    assert_eq!(out.stdout, committed);
}

/// The properties of the schema object at `pointer`.
fn properties(schema: &Value, pointer: &str) -> Vec<String> {
    schema
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn every_key_the_model_reads_is_in_the_schema_with_a_tooltip() {
    let schema = schema::generate();
    for (pointer, keys) in [
        ("/properties", names::<DesiredState>()),
        ("/$defs/RenewalPolicy/properties", names::<RenewalPolicy>()),
        ("/$defs/Selector/properties", names::<Selector>()),
    ] {
        let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        expected.sort();
        assert_eq!(properties(&schema, pointer), expected, "{pointer}");
        for key in keys {
            let description = schema
                .pointer(&format!("{pointer}/{key}/description"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            assert!(description.len() > 20, "{pointer}/{key} has no tooltip");
        }
    }
}

#[test]
fn every_renewal_config_in_examples_validates_against_the_schema() {
    let validator = Validator::committed();
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // examples/ci holds pipeline definitions, not renewal configs.
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let declares = text.contains("$schema=../schemas/renewal.schema.json");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let is_config = renewctl::desired::parse(text.as_bytes(), &name).is_ok();
        // Every config declares the schema (editor support), and only configs do.
        assert_eq!(declares, is_config, "{name}");
        if declares {
            validator
                .check_yaml(&text)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            checked.push(name);
        }
    }
    assert!(checked.contains(&"renewal.yaml".to_string()), "{checked:?}");
}

/// Broken configs whose problem is beyond JSON Schema: relations between policies, and
/// duplicate keys (a YAML matter: by the time a document is JSON, one of the two is gone).
/// The schema accepts these; every other broken config that is YAML data it must refuse.
const ONLY_RENEWCTL_SEES: &[&str] = &[
    "duplicate-policy-names",
    "id-in-two-policies",
    "duplicate-top-key",
    "duplicate-policy-key",
    "duplicate-tag-key",
];

#[test]
fn the_schema_refuses_every_broken_config_it_can_express() {
    let validator = Validator::committed();
    let dir = repo().join("tests/configs/broken");
    let mut refused = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not UTF-8: no editor gets this far either
        };
        // Files that are not YAML data (syntax, tags, bombs, several documents) never reach a
        // schema.
        if serde_yaml::from_str::<Value>(&text).is_err() {
            continue;
        }
        let verdict = validator.check_yaml(&text);
        if ONLY_RENEWCTL_SEES.contains(&name.as_str()) {
            assert!(verdict.is_ok(), "broken/{name}.yaml: {verdict:?}");
        } else {
            assert!(verdict.is_err(), "the schema accepts broken/{name}.yaml");
            refused += 1;
        }
    }
    assert!(refused >= 30, "only {refused} refused");
}
