//! Why a use case stopped before doing its work. Each message names the place and the fix.

use crate::cloud::ApiError;
use crate::plan::spend::LimitsExceeded;
use crate::planfile::PlanFileError;

/// One planned instance that moved since its plan was made: region, id, what changed.
pub type Drift = (String, String, Vec<String>);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No region of the config could be read: that is the account or the network, not one
    /// region's trouble (one region failing is a plan error, and the rest is planned).
    #[error(
        "cannot observe region {region}: {reason}{}",
        if *several { " (no region could be read)" } else { "" }
    )]
    NoRegionReadable {
        region: String,
        reason: String,
        several: bool,
    },
    /// The plan breaks its spending limits: nothing is sent.
    #[error(transparent)]
    Limits(#[from] LimitsExceeded),
    /// A saved plan that may not be applied (another config, too old, dated in the future).
    #[error(transparent)]
    PlanFile(#[from] PlanFileError),
    /// Planned instances moved since the plan was made (a console renewal, a toggle, another
    /// apply): the whole plan is refused, nothing is sent. `what` names the plan.
    #[error("nothing was applied: {remedy}")]
    Stale {
        what: String,
        drifted: Vec<Drift>,
        remedy: String,
    },
    /// The account answers as the other site than the one declared (or recorded in the plan).
    #[error(
        "the account is on {}, but {} was declared for it ({evidence}): the sites accept \
         different renewals and charge on different days, so nothing was applied. Correct \
         `site:` in renewal.yaml (or --site), then plan and review again",
        answered.label(),
        declared.label()
    )]
    OtherSite {
        declared: crate::ecs::Site,
        answered: crate::ecs::Site,
        evidence: String,
    },
    /// A saved plan made for another site than the one in force now.
    #[error("{0}")]
    PlanSite(String),
    /// A read the use case needs failed.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A region to export could not be read.
    #[error("cannot export: region {region} could not be observed: {reason}")]
    ExportIncomplete { region: String, reason: String },
    /// renewctl made something it cannot read back.
    #[error("{0}")]
    Bug(String),
    /// What the user asked for does not exist (`explain` of an unknown instance).
    #[error("{0}")]
    NotFound(String),
}

impl From<ApiError> for EngineError {
    fn from(err: ApiError) -> EngineError {
        EngineError::Api(Box::new(err))
    }
}
