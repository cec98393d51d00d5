//! schemas/plan.schema.json against what renewctl prints: every plan (whole, partial, grouped,
//! for a site, without prices, with errors, saved with its checksum, shown again) and every
//! apply event and summary the emulator's example fleet produces validate, and the schema
//! refuses keys it does not name, so a field added to the JSON without documenting it fails
//! here.

use serde_json::Value;

use crate::support::cli::{Run, renewctl, run, tempdir};
use crate::support::cmd::repo;
use crate::support::emulator::Emulator;

const FLEET: &str = include_str!("../examples/fleet.yaml");
const CONFIG: &str = include_str!("../examples/renewal.yaml");

struct Schema {
    schemas: boon::Schemas,
    plan: boon::SchemaIndex,
    event: boon::SchemaIndex,
}

impl Schema {
    fn committed() -> Schema {
        let text = std::fs::read_to_string(repo().join("schemas/plan.schema.json")).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let url = "file:///plan.schema.json";
        compiler.add_resource(url, value).unwrap();
        let plan = compiler.compile(url, &mut schemas).expect("compiles");
        let event = compiler
            .compile(&format!("{url}#/$defs/event"), &mut schemas)
            .expect("compiles");
        Schema {
            schemas,
            plan,
            event,
        }
    }

    fn plan(&self, what: &str, value: &Value) {
        if let Err(e) = self.schemas.validate(value, self.plan) {
            panic!("{what}: {e:#}");
        }
    }

    fn event(&self, what: &str, value: &Value) {
        if let Err(e) = self.schemas.validate(value, self.event) {
            panic!("{what}: {value}\n{e:#}");
        }
    }
}

fn in_dir(emu: &Emulator, dir: &std::path::Path, config: &str, args: &[&str]) -> Run {
    std::fs::write(dir.join("renewal.yaml"), config).unwrap();
    run(renewctl(emu).current_dir(dir).args(args))
}

#[test]
fn every_plan_and_event_validates() {
    let schema = Schema::committed();
    let emu = Emulator::start(FLEET);
    let dir = tempdir();
    let broken = CONFIG.replace(
        "[cn-hangzhou, cn-shanghai]",
        "[cn-hangzhou, cn-shanghai, cn-nowhere-1]",
    );
    let china = CONFIG.replacen("version: 1\n", "version: 1\nsite: china\n", 1);
    let with_limits = format!(
        "{CONFIG}\nlimits:\n  max_renewals: 50\n  max_total_price: 100000\n  currency: CNY\n"
    );
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        ("whole", CONFIG, vec![]),
        ("grouped", CONFIG, vec!["--group-by", "tag:env"]),
        (
            "partial",
            CONFIG,
            vec![
                "--policy",
                "batch-workers",
                "--target",
                "i-bp1demo0000000001",
            ],
        ),
        ("china", &china, vec![]),
        ("no prices", CONFIG, vec!["--no-prices"]),
        ("limits", &with_limits, vec![]),
        ("errors", &broken, vec![]),
    ];
    let mut saw_errors = false;
    for (what, config, extra) in cases {
        let mut args = vec!["plan", "--format", "json"];
        args.extend(extra);
        let out = in_dir(&emu, &dir, config, &args);
        let plan: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: {e}\n{}", out.stderr));
        saw_errors |= plan["errors"].as_array().is_some_and(|e| !e.is_empty());
        schema.plan(what, &plan);
    }
    assert!(saw_errors, "one plan has errors");

    // Saved (with its checksum), shown again, applied with JSON events.
    let out = in_dir(&emu, &dir, CONFIG, &["plan", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
    assert!(saved.get("plan_checksum").is_some());
    schema.plan("saved", &saved);
    let out = in_dir(
        &emu,
        &dir,
        CONFIG,
        &["show", "plan.json", "--format", "json"],
    );
    schema.plan("shown", &serde_json::from_str(&out.stdout).unwrap());
    let out = in_dir(
        &emu,
        &dir,
        CONFIG,
        &["apply", "plan.json", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let mut kinds = std::collections::BTreeSet::new();
    for line in out.stdout.lines().filter(|l| l.starts_with('{')) {
        let event: Value = serde_json::from_str(line).unwrap();
        kinds.insert(event["type"].as_str().unwrap().to_string());
        schema.event("apply event", &event);
    }
    for kind in [
        "change_start",
        "change_complete",
        "renewal_verified",
        "summary",
    ] {
        assert!(kinds.contains(kind), "{kind} among {kinds:?}");
    }
}

#[test]
fn the_schema_refuses_an_undocumented_key() {
    let schema = Schema::committed();
    let emu = Emulator::start(FLEET);
    let dir = tempdir();
    let out = in_dir(&emu, &dir, CONFIG, &["plan", "--format", "json"]);
    let mut plan: Value = serde_json::from_str(&out.stdout).unwrap();
    plan["changes"][0]["surprise"] = Value::from(1);
    assert!(schema.schemas.validate(&plan, schema.plan).is_err());
    let event = serde_json::json!({"type": "summary", "succeeded": 1});
    assert!(
        schema.schemas.validate(&event, schema.event).is_err(),
        "a summary lacks its counts"
    );
}
