//! Fault injection: which authenticated request gets which failure. Scripted faults (pushed by a
//! test, first-in first-out, optionally for one action) come first; otherwise a seeded PRNG draws
//! against the configured rates, so a run with the same seed and request order fails the same
//! way every time.
//!
//! What a fault does on the wire (an error body, a held connection, a connection closed after
//! the action ran) is carried out by the gateway and the server; this file only decides.

use std::collections::VecDeque;

use super::generate::SplitMix64;
use super::wire::ApiError;

/// A failure the emulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `Throttling.User`, HTTP 400; nothing is done.
    Throttle,
    /// `ServiceUnavailable`, HTTP 503; nothing is done.
    ServerError,
    /// No answer for about 30 s (or until the client gives up), then the connection closes;
    /// nothing is done.
    Timeout,
    /// The action is carried out in full (a renewal is paid for), then the connection closes
    /// without an answer: the ambiguous failure ClientTokens exist for.
    DropAfterCommit,
    /// The action is carried out in full, then answered with HTTP 200 and a body that is not
    /// the action's JSON (a proxy's page): the client cannot tell what happened. Scripted only.
    GarbageAfterCommit,
    /// The answer is this error, and nothing is done: e.g. `LastOrderProcessing` (400) or
    /// `IdempotenceParamNotMatch` (400). Scripted only.
    Refuse { status: u16, code: &'static str },
}

impl FaultKind {
    /// The spelling used by `--fault KIND=RATE`.
    pub fn flag_name(self) -> &'static str {
        match self {
            FaultKind::Throttle => "throttle",
            FaultKind::ServerError => "error5xx",
            FaultKind::Timeout => "timeout",
            FaultKind::DropAfterCommit => "drop-after-commit",
            FaultKind::GarbageAfterCommit => "garbage-after-commit",
            FaultKind::Refuse { .. } => "refuse",
        }
    }

    pub fn from_flag_name(name: &str) -> Option<FaultKind> {
        [
            FaultKind::Throttle,
            FaultKind::ServerError,
            FaultKind::Timeout,
            FaultKind::DropAfterCommit,
        ]
        .into_iter()
        .find(|k| k.flag_name() == name)
    }

    /// The answer for the faults that answer.
    pub(crate) fn error(self) -> Option<ApiError> {
        match self {
            FaultKind::Throttle => Some(ApiError::new(
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
            )),
            FaultKind::ServerError => Some(ApiError::new(
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            )),
            FaultKind::Refuse { status, code } => Some(ApiError::new(
                status,
                code,
                "The request was refused (injected by the emulator).",
            )),
            FaultKind::Timeout | FaultKind::DropAfterCommit | FaultKind::GarbageAfterCommit => None,
        }
    }
}

/// Probability per authenticated request of each fault, each in `[0, 1]`, summing to at most 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    pub throttle: f64,
    pub server_error: f64,
    pub timeout: f64,
    pub drop_after_commit: f64,
}

impl Faults {
    /// Reads `--fault KIND=RATE` values; errors say which value is wrong and how to fix it.
    pub fn from_flags(specs: &[String]) -> Result<Faults, String> {
        let mut faults = Faults::default();
        let mut given = Vec::new();
        for spec in specs {
            let (kind, rate) = spec.split_once('=').ok_or_else(|| {
                format!("--fault {spec:?}: write KIND=RATE, e.g. --fault throttle=0.1")
            })?;
            let kind = FaultKind::from_flag_name(kind.trim()).ok_or_else(|| {
                format!(
                    "--fault {spec:?}: unknown kind {kind:?}; use throttle, error5xx, timeout or drop-after-commit"
                )
            })?;
            let rate: f64 = rate
                .trim()
                .parse()
                .ok()
                .filter(|r: &f64| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    format!(
                        "--fault {spec:?}: the rate must be a number between 0 and 1, e.g. 0.05"
                    )
                })?;
            if given.contains(&kind) {
                return Err(format!(
                    "--fault: {} is given twice; give each kind once",
                    kind.flag_name()
                ));
            }
            given.push(kind);
            *faults.rate_mut(kind) = rate;
        }
        if faults.total() > 1.0 + 1e-9 {
            return Err(format!(
                "--fault: the rates add up to {:.3}, more than 1; lower some of them",
                faults.total()
            ));
        }
        Ok(faults)
    }

    /// The rate of a kind `--fault` can set (the scripted-only kinds map nowhere and are
    /// never parsed from flags).
    fn rate_mut(&mut self, kind: FaultKind) -> &mut f64 {
        match kind {
            FaultKind::Throttle => &mut self.throttle,
            FaultKind::ServerError => &mut self.server_error,
            FaultKind::Timeout => &mut self.timeout,
            FaultKind::DropAfterCommit
            | FaultKind::GarbageAfterCommit
            | FaultKind::Refuse { .. } => &mut self.drop_after_commit,
        }
    }

    fn total(&self) -> f64 {
        self.throttle + self.server_error + self.timeout + self.drop_after_commit
    }
}

/// The running fault schedule of one emulator.
#[derive(Debug)]
pub(crate) struct FaultPlan {
    rates: Faults,
    rng: SplitMix64,
    script: VecDeque<(Option<String>, FaultKind)>,
}

impl FaultPlan {
    pub(crate) fn new(rates: Faults, seed: u64) -> FaultPlan {
        FaultPlan {
            rates,
            rng: SplitMix64::new(seed),
            script: VecDeque::new(),
        }
    }

    pub(crate) fn push(&mut self, action: Option<&str>, kind: FaultKind) {
        self.script.push_back((action.map(str::to_owned), kind));
    }

    /// The fault for the next authenticated request of `action`, if any. Random faults are
    /// drawn only when `random` is true (ECS actions; the STS answers that a test needs to get
    /// credentials are left alone unless a fault is scripted for them).
    pub(crate) fn next(&mut self, action: &str, random: bool) -> Option<FaultKind> {
        // One draw per request whatever the script says, so the random sequence depends only
        // on how many requests came, not on which were scripted.
        let draw = (self.rates.total() > 0.0).then(|| self.rng.next_f64());
        let scripted = self
            .script
            .iter()
            .position(|(only, _)| only.as_deref().is_none_or(|a| a == action));
        if let Some(pos) = scripted {
            return self.script.remove(pos).map(|(_, kind)| kind);
        }
        let draw = draw.filter(|_| random)?;
        let mut edge = 0.0;
        for (kind, rate) in [
            (FaultKind::Throttle, self.rates.throttle),
            (FaultKind::ServerError, self.rates.server_error),
            (FaultKind::Timeout, self.rates.timeout),
            (FaultKind::DropAfterCommit, self.rates.drop_after_commit),
        ] {
            edge += rate;
            if draw < edge {
                return Some(kind);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> Result<Faults, String> {
        Faults::from_flags(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_parse_and_bad_ones_explain_the_fix() {
        let f = flags(&["throttle=0.1", "drop-after-commit=0.05"]).expect("valid");
        assert_eq!(f.throttle, 0.1);
        assert_eq!(f.drop_after_commit, 0.05);
        for (bad, hint) in [
            (&["throttle"][..], "KIND=RATE"),
            (&["slow=0.1"][..], "unknown kind"),
            (&["timeout=2"][..], "between 0 and 1"),
            (&["timeout=x"][..], "between 0 and 1"),
            (&["timeout=0.1", "timeout=0.2"][..], "twice"),
            (&["timeout=0.6", "throttle=0.6"][..], "more than 1"),
        ] {
            let err = flags(bad).expect_err("invalid");
            assert!(err.contains("--fault") && err.contains(hint), "{err}");
        }
    }

    #[test]
    fn scripted_faults_are_fifo_and_respect_the_action() {
        let mut plan = FaultPlan::new(Faults::default(), 0);
        plan.push(Some("RenewInstance"), FaultKind::DropAfterCommit);
        plan.push(None, FaultKind::Throttle);
        plan.push(None, FaultKind::ServerError);
        assert_eq!(
            plan.next("DescribeInstances", true),
            Some(FaultKind::Throttle)
        );
        assert_eq!(
            plan.next("RenewInstance", true),
            Some(FaultKind::DropAfterCommit)
        );
        assert_eq!(
            plan.next("RenewInstance", true),
            Some(FaultKind::ServerError)
        );
        assert_eq!(plan.next("RenewInstance", true), None);
    }

    #[test]
    fn rates_are_deterministic_per_seed_and_roughly_right() {
        let rates = Faults {
            throttle: 0.2,
            ..Faults::default()
        };
        let run = |seed| {
            let mut plan = FaultPlan::new(rates, seed);
            (0..1000)
                .map(|_| plan.next("DescribeInstances", true))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        let throttled = run(1).iter().filter(|f| f.is_some()).count();
        assert!((150..250).contains(&throttled), "{throttled}");
    }
}
