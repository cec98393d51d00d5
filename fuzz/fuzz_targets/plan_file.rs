//! Any bytes as a saved plan: refused with a reason, or read and rendered in every format,
//! never a panic. The checksum refuses nearly every mutation, so the same bytes are also read
//! as a bare plan (skipping the checksum) to reach the renderers and the staleness check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renewctl::plan::Plan;
use renewctl::render;

fn exercise(plan: &Plan) {
    let _ = render::text::plan(plan);
    let _ = render::json::plan(plan);
    let markdown = render::markdown::plan(plan);
    assert!(markdown.chars().count() <= render::markdown::MAX_CHARS);
    let _ = renewctl::planfile::planned_instances(plan);
    let _ = renewctl::planfile::verdict(plan, &[]);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(plan) = renewctl::planfile::read(data, "plan.json") {
        exercise(&plan);
    }
    if let Ok(plan) = serde_json::from_slice::<Plan>(data) {
        exercise(&plan);
    }
});
