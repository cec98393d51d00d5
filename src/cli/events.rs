//! Apply progress as it happens: a text line per finished change, or one JSON event per line
//! (`change_start`, `change_complete`, `change_errored`, `change_skipped`, `summary`) for
//! pipeline logs.

use anstream::println;
use serde_json::json;

use super::args::EventFormat;
use crate::apply::{ApplyEvent, Outcome, Report};
use crate::plan::{Action, Plan};
use crate::render;

fn action_name(action: Action) -> &'static str {
    match action {
        Action::ModifyAutoRenew => "modify_auto_renew",
        Action::Renew => "renew",
    }
}

/// The JSON event for `event`.
pub fn event_json(plan: &Plan, event: &ApplyEvent<'_>) -> serde_json::Value {
    let (index, kind, extra) = match event {
        ApplyEvent::Started(index) => (*index, "change_start", json!({})),
        ApplyEvent::Finished(index, outcome) => match outcome {
            Outcome::Succeeded {
                request_id,
                order_id,
            } => (
                *index,
                "change_complete",
                json!({"request_id": request_id, "order_id": order_id}),
            ),
            Outcome::Failed { error, code } => (
                *index,
                "change_errored",
                json!({"error": error, "code": code}),
            ),
            Outcome::Skipped { why } => (*index, "change_skipped", json!({"reason": why})),
        },
    };
    let mut value = json!({"type": kind, "index": index});
    if let Some(change) = plan.changes.get(index) {
        value["region"] = json!(change.region);
        value["instance_id"] = json!(change.instance_id);
        value["policy"] = json!(change.policy);
        value["action"] = json!(action_name(change.action));
    }
    if let (Some(object), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            object.insert(k.clone(), v.clone());
        }
    }
    value
}

/// Prints one event in `format`.
pub fn print_event(format: EventFormat, plan: &Plan, event: &ApplyEvent<'_>) {
    match (format, event) {
        (EventFormat::Json, event) => println!("{}", event_json(plan, event)),
        (EventFormat::Text, ApplyEvent::Finished(index, outcome)) => {
            println!("{}", render::text::outcome_line(plan, *index, outcome));
        }
        (EventFormat::Text, ApplyEvent::Started(_)) => {}
    }
}

/// Prints the end of an apply in `format`.
pub fn print_summary(format: EventFormat, report: &Report) {
    match format {
        EventFormat::Json => println!(
            "{}",
            json!({
                "type": "summary",
                "succeeded": report.succeeded(),
                "failed": report.failed(),
                "skipped": report.skipped(),
            })
        ),
        EventFormat::Text => println!("\n{}", render::text::apply_summary(report)),
    }
}
