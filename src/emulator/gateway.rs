//! The request pipeline, in the order the real API gateway applies it: decode parameters, tell
//! the signature scheme, resolve action and version (unknown → `InvalidApi.NotFound`),
//! authenticate, inject a fault, run the action, wrap the answer. Statistics are counted here,
//! at the stage each counter is defined by.
//!
//! Synchronous and socket-free: `server.rs` turns a [`Decision`] into bytes, a held connection
//! or a dropped one, and applies latency.

use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use super::actions::{self, ACTIONS};
use super::clock::Clock;
use super::faults::{FaultKind, FaultPlan};
use super::fleet::AccessKey;
use super::params::Params;
use super::request::HttpRequest;
use super::state::World;
use super::stats::Stats;
use super::verify::nonce::NonceMemory;
use super::verify::{Gatekeeper, Scheme, detect};
use super::wire::{ApiError, error_body, host_id, new_request_id};

/// The only API version served.
pub(crate) const VERSION: &str = "2014-05-26";

/// Everything requests share.
pub(crate) struct Shared {
    pub world: RwLock<World>,
    pub keys: Vec<AccessKey>,
    pub nonces: NonceMemory,
    pub faults: Mutex<FaultPlan>,
    pub stats: Mutex<Stats>,
    pub clock: Clock,
    pub latency: Duration,
}

impl Shared {
    pub(crate) fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What to do with a request.
#[derive(Debug)]
pub(crate) enum Decision {
    Answer {
        status: u16,
        body: Vec<u8>,
        request_id: String,
    },
    /// Timeout fault: say nothing, do nothing, eventually close.
    Hold,
    /// Drop-after-commit fault: the action ran; close without answering.
    Drop,
}

pub(crate) fn process(shared: &Shared, request: &HttpRequest) -> Decision {
    let request_id = new_request_id();
    let mut params = Params::from_query(&request.query);
    if request.has_form_body() {
        params.extend_encoded(&request.body);
    }
    let host = host_id(params.get("RegionId"));
    let answer_error = |error: ApiError| Decision::Answer {
        status: error.status,
        body: error_body(&error, &request_id, &host),
        request_id: request_id.clone(),
    };

    let scheme = detect(request, &params);
    let (action, version) = match scheme {
        Scheme::RpcV2 => (params.get("Action"), params.get("Version")),
        Scheme::Acs3 => (
            request.header("x-acs-action"),
            request.header("x-acs-version"),
        ),
    };
    let action = action.unwrap_or_default();
    {
        let mut stats = shared.stats();
        stats.requests += 1;
        let name = if ACTIONS.contains(&action) {
            action
        } else {
            "(unknown)"
        };
        *stats.by_action.entry(name.to_owned()).or_default() += 1;
    }

    if let Err(error) = resolve(request, action, version) {
        return answer_error(error);
    }
    let gatekeeper = Gatekeeper {
        keys: &shared.keys,
        now: shared.clock.now(),
        nonces: &shared.nonces,
        monotonic_now: Instant::now(),
    };
    if let Err(error) = gatekeeper.authenticate(request, &params, scheme) {
        shared.stats().signature_rejections += 1;
        return answer_error(error);
    }

    let fault = shared
        .faults
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .next(action);
    if fault.is_some() {
        shared.stats().faults_injected += 1;
    }
    match fault {
        Some(FaultKind::Timeout) => return Decision::Hold,
        Some(kind) => {
            if let Some(error) = kind.error() {
                return answer_error(error);
            }
        }
        None => {}
    }

    if actions::is_mutating(action) {
        shared.stats().mutating_requests += 1;
    }
    let outcome = actions::dispatch(&shared.world, action, &params, shared.clock.now());
    if let Ok((_, effect)) = &outcome {
        let mut stats = shared.stats();
        if let Some(id) = &effect.renewed {
            *stats.renewals.entry(id.clone()).or_default() += 1;
        }
        if effect.modified {
            stats.modifications += 1;
        }
    }
    if fault == Some(FaultKind::DropAfterCommit) {
        return Decision::Drop;
    }
    match outcome {
        Ok((fields, _)) => Decision::Answer {
            status: 200,
            body: fields.with_request_id(&request_id),
            request_id,
        },
        Err(error) => answer_error(error),
    }
}

/// Checks the request addresses an API the emulator serves.
fn resolve(request: &HttpRequest, action: &str, version: Option<&str>) -> Result<(), ApiError> {
    let path_ok = request.path.is_empty() || request.path == "/";
    let method_ok = request.method == "GET" || request.method == "POST";
    if !path_ok || !method_ok {
        return Err(actions::api_not_found());
    }
    if action.is_empty() {
        return Err(ApiError::new(
            400,
            "MissingAction",
            "Action is mandatory for this action.",
        ));
    }
    if !ACTIONS.contains(&action) {
        return Err(actions::api_not_found());
    }
    match version.filter(|v| !v.is_empty()) {
        None => Err(ApiError::new(
            400,
            "MissingVersion",
            "Version is mandatory for this action.",
        )),
        Some(VERSION) => Ok(()),
        // [UNCONFIRMED] code: the gateway's answer to an API version ECS does not have.
        Some(other) => Err(ApiError::new(
            400,
            "InvalidVersion",
            format!(
                "Specified parameter Version is not valid: {}; ECS is served at {VERSION}.",
                super::wire::quote_value(other)
            ),
        )),
    }
}
