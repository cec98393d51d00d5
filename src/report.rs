//! What an apply did, change by change, as apply reports it and the renderers show it: the
//! outcome of each change, the wait for lagging renewals, the verification of every renewal
//! that was, may have been, or was refused as already, paid. Pure data: apply and verify fill
//! it, the engine passes it on, `render` formats it; nothing here reads or sends anything.

use std::time::Duration;

use jiff::Timestamp;

/// How one change ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        request_id: String,
        order_id: Option<String>,
    },
    /// The API refused it: nothing was done.
    Failed {
        /// The error, as shown to users (code, message and RequestId when the API answered).
        error: String,
        code: Option<String>,
        request_id: Option<String>,
    },
    /// Its fate is unknown: no answer, a server error or an unreadable answer past every retry,
    /// a "processing" code past the budget, or an interruption while it was in flight. It may
    /// have been carried out; a renewal may have been paid. Never retried with a new token.
    Unknown {
        error: String,
        code: Option<String>,
    },
    /// A renewal refused because its token was already used with other parameters
    /// (`IdempotentParameterMismatch`, `IdempotenceParamNotMatch`): nothing was paid by this
    /// request. Verification tells whether another apply renewed from the same expiry or an
    /// earlier attempt that did not renew holds the token.
    TokenConflict {
        error: String,
        code: String,
        request_id: Option<String>,
    },
    Skipped {
        why: String,
    },
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

/// What apply reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyEvent<'a> {
    /// The call carrying change `index` is being sent.
    Started(usize),
    /// Change `index` ended.
    Finished(usize, &'a Outcome),
    /// Waiting for renewals of expired instances to show before turning auto-renewal on.
    WaitingForRenewals { instances: usize },
    /// The wait ended.
    WaitedForRenewals(&'a LagWait),
    /// A stop was requested: no new call is sent.
    Interrupted,
    /// The renewals were verified.
    Verified(&'a Verification),
}

/// The wait for renewals to show before the changes that need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LagWait {
    /// Instances waited for.
    pub instances: usize,
    /// Of them, those whose renewal showed in time.
    pub visible: usize,
    pub waited: Duration,
    pub reads: u64,
}

/// The outcome of every change of the plan, by index, and what apply did beyond the plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    /// Mutating calls sent beyond the plan's (splits of refused batches, retries of an
    /// auto-renew change refused while its renewal lagged).
    pub extra_calls: u64,
    pub lag_wait: Option<LagWait>,
    /// A stop was requested before the end.
    pub interrupted: bool,
    /// The re-reads of the renewals, when made.
    pub verification: Option<Verification>,
}

impl Report {
    fn count(&self, kind: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| kind(o)).count()
    }

    pub fn succeeded(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Succeeded { .. }))
    }

    pub fn failed(&self) -> usize {
        self.count(Outcome::is_failure)
    }

    pub fn unknown(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Unknown { .. }))
    }

    pub fn conflicts(&self) -> usize {
        self.count(|o| matches!(o, Outcome::TokenConflict { .. }))
    }

    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped { .. }))
    }

    /// Whether the apply did all it set out to: nothing failed, no conflict, no interruption,
    /// no change skipped, and every unknown outcome turned out done (a renewal seen in the
    /// expiry). Otherwise the run exits 1.
    pub fn is_complete(&self) -> bool {
        if self.interrupted || self.failed() > 0 || self.conflicts() > 0 || self.skipped() > 0 {
            return false;
        }
        self.outcomes.iter().enumerate().all(|(index, outcome)| {
            !matches!(outcome, Outcome::Unknown { .. })
                || self
                    .verification
                    .as_ref()
                    .is_some_and(|v| v.checks.iter().any(|c| c.change == index && c.renewed()))
        })
    }
}

/// What the re-reads showed for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The expiry has moved past the one observed when planning.
    Visible { expired_time: Timestamp },
    /// Still the old expiry (or the instance was not in the answer) when time ran out.
    NotYetVisible { observed: Option<Timestamp> },
    /// The last read of it failed.
    Unreadable { error: String },
}

impl Verdict {
    pub fn is_visible(&self) -> bool {
        matches!(self, Verdict::Visible { .. })
    }
}

/// What apply knew of a renewal when it was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// RenewInstance succeeded: it was paid.
    Paid,
    /// Its fate was unknown (no answer, 5xx, an answer that could not be read, "processing"):
    /// it may have been paid.
    Ambiguous,
    /// Refused because its token was used before with other parameters: either another apply
    /// renewed from the same expiry, or an earlier attempt that did not renew holds the token.
    TokenConflict,
}

/// One renewal's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalCheck {
    /// Index of the renewal in the plan's changes.
    pub change: usize,
    pub region: String,
    pub instance_id: String,
    pub checked: Checked,
    /// The expiry the plan observed, and the one it computed.
    pub before: Timestamp,
    pub expected: Option<Timestamp>,
    pub verdict: Verdict,
}

impl RenewalCheck {
    /// Renewed, as far as the API shows.
    pub fn renewed(&self) -> bool {
        self.verdict.is_visible()
    }

    /// Needs a person: a renewal that may have been paid and is not seen, a token conflict,
    /// an expiry that could not be read. A paid renewal not yet visible does not (it was paid).
    pub fn needs_attention(&self) -> bool {
        match self.checked {
            Checked::Paid => false,
            Checked::Ambiguous => !self.renewed(),
            Checked::TokenConflict => true,
        }
    }
}

/// The checks of every renewal that was, may have been, or was refused as already, paid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    pub checks: Vec<RenewalCheck>,
    /// DescribeInstances requests made.
    pub reads: u64,
    pub elapsed: Duration,
    /// The bound it ran under.
    pub timeout: Duration,
}

impl Verification {
    /// Checks whose expiry has moved.
    pub fn verified(&self) -> usize {
        self.checks.iter().filter(|c| c.renewed()).count()
    }

    pub fn pending(&self) -> usize {
        self.checks.len() - self.verified()
    }
}
