//! What the ECS error codes renewctl acts on mean for a renewal tool (ecs-api.md §4.2; the
//! current RenewInstance page for the "processing" codes). Pure: the retry policy, apply and
//! the planner read these tables instead of matching strings of their own.

/// The token was used before with other parameters: ECS did not act on this request. Both names
/// are documented: `IdempotentParameterMismatch` (the idempotence page) and
/// `IdempotenceParamNotMatch` (the RenewInstance error table).
pub const IDEMPOTENCE_MISMATCH: [&str; 2] =
    ["IdempotentParameterMismatch", "IdempotenceParamNotMatch"];

/// An earlier request (with this token, or on this instance) is still being processed: try again
/// later with the same token. Its outcome, and so this one's, is not known yet.
pub const PROCESSING: [&str; 4] = [
    "LastTokenProcessing",
    "LastOrderProcessing",
    "LastRequestProcessing",
    "Idempotence.Processing",
];

/// Refusals that concern one instance of a ModifyInstanceAutoRenewAttribute call of many: the
/// whole call fails, the other instances could have had their change.
pub const INSTANCE_SPECIFIC: [&str; 5] = [
    "IncorrectInstanceStatus",
    "InstanceLockedForSecurity",
    "ChargeTypeViolation",
    "InvalidInstanceId.NotFound",
    "InvalidParameter.InvalidInstanceId",
];

/// The instance's state does not allow the action now, e.g. auto-renewal of an instance whose
/// renewal is not visible yet (ecs-api.md §6; Terraform retries it on Modify…).
pub const INCORRECT_STATUS: &str = "IncorrectInstanceStatus";

/// The `OperationLocks` reason of an instance locked for security: every mutating call on it is
/// refused (`InstanceLockedForSecurity`). Unlike `financial`, which an expired instance shows and
/// a renewal lifts, nothing renewctl does lifts it.
pub const SECURITY_LOCK: &str = "security";

pub fn is_idempotence_mismatch(code: &str) -> bool {
    IDEMPOTENCE_MISMATCH.contains(&code)
}

pub fn is_processing(code: &str) -> bool {
    PROCESSING.contains(&code)
}

pub fn is_instance_specific(code: &str) -> bool {
    INSTANCE_SPECIFIC.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_the_mismatch_are_one_thing() {
        assert!(is_idempotence_mismatch("IdempotentParameterMismatch"));
        assert!(is_idempotence_mismatch("IdempotenceParamNotMatch"));
        assert!(!is_idempotence_mismatch("InvalidParameter"));
        assert!(is_processing("Idempotence.Processing"));
        assert!(!is_processing("InternalError"));
        assert!(is_instance_specific("InstanceLockedForSecurity"));
        assert!(!is_instance_specific("Throttling"));
    }
}
