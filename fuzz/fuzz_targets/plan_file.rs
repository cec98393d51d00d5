//! Any bytes as a saved plan: refused with a reason, or read and rendered in every format,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renewctl::render;

fuzz_target!(|data: &[u8]| {
    if let Ok(plan) = renewctl::planfile::read(data, "plan.json") {
        let _ = render::text::plan(&plan);
        let _ = render::json::plan(&plan);
        let markdown = render::markdown::plan(&plan);
        assert!(markdown.chars().count() <= render::markdown::MAX_CHARS);
        let _ = renewctl::planfile::planned_instances(&plan);
        let _ = renewctl::planfile::verdict(&plan, &[]);
    }
});
