//! The plan as JSON: the `Plan` serde form is the contract (DESIGN.md §4).

use crate::plan::Plan;

/// Pretty JSON of the plan, with a trailing newline.
pub fn plan(plan: &Plan) -> String {
    match serde_json::to_string_pretty(plan) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        // A Plan holds only strings, numbers and maps with string keys: it always serializes.
        Err(err) => format!("{{\"error\": \"cannot serialize the plan: {err}\"}}\n"),
    }
}
