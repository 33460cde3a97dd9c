//! What a refusal must carry, checked one way for every test: the code, the `ErrorInfo`
//! (reason in UPPER_SNAKE_CASE, domain `proposal.v1`) and the `BadRequest` field violations.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The `ErrorInfo` domain of every refusal the service decides.
pub const DOMAIN: &str = "proposal.v1";

/// Asserts the status's code and `ErrorInfo` (reason, and our domain); returns its metadata.
pub fn error_info(status: &Status, code: Code, reason: &str) -> HashMap<String, String> {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, DOMAIN, "{status:?}");
    info.metadata
}

/// The fields an INVALID_ARGUMENT status's `BadRequest` names.
pub fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad_request = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest in {status:?}"));
    bad_request
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// Fails unless `result` is INVALID_ARGUMENT naming exactly `field` in its `BadRequest`.
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, field: &str, what: &str) {
    let status = match result {
        Ok(value) => panic!("{what}: accepted ({value:?}), expected INVALID_ARGUMENT"),
        Err(status) => status,
    };
    assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    let fields = violated_fields(&status);
    assert_eq!(fields, [field], "{what}: the violation names the field");
}

/// Asserts PERMISSION_DENIED with `ErrorInfo` NOT_IN_REMIT.
pub fn assert_not_in_remit(status: &Status, what: &str) {
    assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("{what}: no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, "NOT_IN_REMIT", "{what}: {status:?}");
    assert_eq!(info.domain, DOMAIN, "{what}: {status:?}");
}

pub fn assert_unauthenticated<T: std::fmt::Debug>(result: Result<T, Status>, what: &str) {
    match result {
        Err(status) => assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}"),
        Ok(answer) => panic!("{what} was answered: {answer:?}"),
    }
}

/// A call or answer for a failure message, cut to `chars` characters: some carry 100,000.
pub fn describe(value: &impl std::fmt::Debug, chars: usize) -> String {
    format!("{value:?}").chars().take(chars).collect()
}
