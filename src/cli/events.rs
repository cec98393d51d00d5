//! Apply progress as it happens, printed in the chosen format: a text line per finished change
//! (`render::apply`), or one JSON event per line (`render::events`).

use anstream::println;

use super::args::EventFormat;
use crate::plan::Plan;
use crate::render;
use crate::render::events::{event_json, summary_json};
use crate::report::{ApplyEvent, Report};

/// Prints one event in `format`.
pub fn print_event(format: EventFormat, plan: &Plan, event: &ApplyEvent<'_>) {
    match format {
        EventFormat::Json => {
            for line in event_json(plan, event) {
                println!("{line}");
            }
        }
        EventFormat::Text => match event {
            ApplyEvent::Finished(index, outcome) => {
                println!("{}", render::apply::outcome_line(plan, *index, outcome));
            }
            ApplyEvent::WaitingForRenewals { instances } => {
                println!("{}", render::apply::waiting_line(*instances));
            }
            ApplyEvent::WaitedForRenewals(wait) => {
                println!("{}", render::apply::waited_line(wait));
            }
            ApplyEvent::Interrupted => println!("{}", render::apply::interrupted_line()),
            ApplyEvent::Verified(verification) => {
                anstream::print!("{}", render::apply::verification(plan, verification));
            }
            ApplyEvent::Started(_) => {}
        },
    }
}

/// Prints the end of an apply in `format`.
pub fn print_summary(format: EventFormat, report: &Report, plan_errors: usize) {
    match format {
        EventFormat::Json => println!("{}", summary_json(report, plan_errors)),
        EventFormat::Text => println!("\n{}", render::apply::apply_summary(report, plan_errors)),
    }
}
