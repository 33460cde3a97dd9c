//! The one error table: every [`AppError`] becomes exactly one gRPC status (AIP-193), with
//! machine-readable details. Rejections are expected outcomes and logged at info; storage
//! faults are logged at error and reported to callers without internals.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::ERROR_DOMAIN;
use crate::app::{AppError, Conflict};

impl From<AppError> for Status {
    fn from(error: AppError) -> Self {
        let message = error.to_string();
        match error {
            AppError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in violations {
                    details.add_bad_request_violation(v.field, v.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            AppError::NotFound(id) => Status::with_error_details(
                Code::NotFound,
                message,
                ErrorDetails::with_resource_info(
                    "proposal",
                    id.to_string(),
                    "",
                    "no such proposal",
                ),
            ),
            AppError::AlreadyExists(conflict) => {
                let (reason, metadata) = match conflict {
                    Conflict::ProposalNumber {
                        committee,
                        session,
                        number,
                        existing,
                    } => (
                        "DUPLICATE_PROPOSAL_NUMBER",
                        HashMap::from([
                            ("committee".to_owned(), committee),
                            ("session".to_owned(), session),
                            ("number".to_owned(), number.to_string()),
                            ("existingProposalId".to_owned(), existing.to_string()),
                        ]),
                    ),
                    Conflict::DocumentNumber {
                        document_number,
                        existing,
                    } => (
                        "DUPLICATE_DOCUMENT_NUMBER",
                        HashMap::from([
                            ("documentNumber".to_owned(), document_number),
                            ("existingProposalId".to_owned(), existing.to_string()),
                        ]),
                    ),
                };
                Status::with_error_details(
                    Code::AlreadyExists,
                    message,
                    ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
                )
            }
            AppError::InvalidTransition { command, state } => {
                let current = state.map_or("NONE", |s| s.as_str());
                let mut details = ErrorDetails::with_error_info(
                    "INVALID_TRANSITION",
                    ERROR_DOMAIN,
                    HashMap::from([
                        ("currentState".to_owned(), current.to_owned()),
                        ("command".to_owned(), command.rpc_name().to_owned()),
                    ]),
                );
                details.add_precondition_failure_violation("STATE", "proposal", message.clone());
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            AppError::VersionMismatch { expected, actual } => Status::with_error_details(
                Code::Aborted,
                message,
                ErrorDetails::with_error_info(
                    "VERSION_MISMATCH",
                    ERROR_DOMAIN,
                    HashMap::from([
                        ("expectedVersion".to_owned(), expected.to_string()),
                        ("currentVersion".to_owned(), actual.to_string()),
                    ]),
                ),
            ),
            AppError::RequestIdReused { request_id: _ } => {
                let mut details = ErrorDetails::with_error_info(
                    "REQUEST_ID_REUSED",
                    ERROR_DOMAIN,
                    HashMap::new(),
                );
                details.add_bad_request_violation(
                    "request_id",
                    "was already used for a different request; use a new key for a new request",
                );
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            AppError::NotIssued { state } => {
                let mut details = ErrorDetails::with_error_info(
                    "NOT_ISSUED",
                    ERROR_DOMAIN,
                    HashMap::from([("currentState".to_owned(), state.as_str().to_owned())]),
                );
                details.add_precondition_failure_violation("STATE", "proposal", message.clone());
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            AppError::BeyondLog { requested, last } => Status::with_error_details(
                Code::OutOfRange,
                message,
                ErrorDetails::with_error_info(
                    "POSITION_BEYOND_LOG",
                    ERROR_DOMAIN,
                    HashMap::from([
                        ("requestedPosition".to_owned(), requested.to_string()),
                        ("lastPosition".to_owned(), last.to_string()),
                    ]),
                ),
            ),
            AppError::Unauthenticated(_) => Status::unauthenticated(message),
            AppError::PermissionDenied(_) => Status::with_error_details(
                Code::PermissionDenied,
                message,
                ErrorDetails::with_error_info("NOT_IN_REMIT", ERROR_DOMAIN, HashMap::new()),
            ),
            AppError::ShuttingDown => Status::unavailable(message),
            AppError::Overloaded => Status::resource_exhausted(message),
            AppError::Storage(e) => {
                tracing::error!(error = %e, "storage failure");
                Status::internal("internal storage error (details are in the server log)")
            }
        }
    }
}
