//! The application layer's one error type. The gRPC layer maps it to status codes in exactly one
//! place; nothing else decides what a caller sees.

use crate::domain::{
    Claim, CommandKind, DomainError, EffectiveDateError, FieldViolation, Precondition, ProposalId,
    ProposalState,
};
use crate::store::StoreError;

/// Which uniqueness rule a command broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// (committee, session, number) already names a proposal.
    ProposalNumber {
        committee: String,
        session: String,
        number: u32,
        existing: ProposalId,
    },
    /// The document number was already issued, for this or another proposal.
    DocumentNumber {
        document_number: String,
        existing: ProposalId,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid request: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("proposal {0} not found")]
    NotFound(ProposalId),
    #[error("{}", conflict_message(.0))]
    AlreadyExists(Conflict),
    #[error("{} is not allowed while the proposal is {}", .command.rpc_name(), .state.map_or("not yet received", ProposalState::as_str))]
    InvalidTransition {
        command: CommandKind,
        state: Option<ProposalState>,
    },
    #[error("the proposal is at version {actual}, not the expected version {expected}")]
    VersionMismatch { expected: u64, actual: u64 },
    #[error(transparent)]
    EffectiveDate(EffectiveDateError),
    /// What the proposal's handling holds, or the rules, forbid.
    #[error(transparent)]
    Precondition(Precondition),
    #[error("request_id {request_id:?} was already used for a different request")]
    RequestIdReused { request_id: String },
    #[error("the reply of a proposal that is {} has not been issued; only ISSUED and COPIED proposals have a document", .state.as_str())]
    NotIssued { state: ProposalState },
    #[error(
        "position {requested} is beyond the end of the event log (the last durable position is {last})"
    )]
    BeyondLog { requested: u64, last: u64 },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("the service is shutting down")]
    ShuttingDown,
    #[error("too many calls in progress; retry with backoff")]
    Overloaded,
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// A fault of the process itself, not of storage or the request: a thread that could not
    /// start, a task that panicked. Details for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(violations) => Self::InvalidArgument(violations),
            DomainError::InvalidTransition { command, state } => {
                Self::InvalidTransition { command, state }
            }
            DomainError::EffectiveDate(e) => Self::EffectiveDate(e),
            DomainError::Precondition(e) => Self::Precondition(e),
        }
    }
}

impl Conflict {
    /// The conflict of a command whose `claim` proposal `existing` already holds.
    pub fn of(claim: Claim, existing: ProposalId) -> Self {
        match claim {
            Claim::ProposalNumber {
                committee,
                session,
                number,
            } => Self::ProposalNumber {
                committee,
                session,
                number,
                existing,
            },
            Claim::DocumentNumber(document_number) => Self::DocumentNumber {
                document_number,
                existing,
            },
        }
    }
}

impl AppError {
    /// A single field's problem.
    pub fn field(field: &str, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}

/// The first few violations, then how many more: the message (and the log line) stays short
/// however many fields are wrong; the gRPC details list more of them.
fn describe(violations: &[FieldViolation]) -> String {
    const NAMED: usize = 5;
    let mut text = violations
        .iter()
        .take(NAMED)
        .map(|v| format!("{} {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    if let Some(more) = violations.len().checked_sub(NAMED).filter(|&n| n > 0) {
        text.push_str(&format!("; and {more} more"));
    }
    text
}

fn conflict_message(conflict: &Conflict) -> String {
    match conflict {
        Conflict::ProposalNumber {
            committee,
            session,
            number,
            existing,
        } => format!(
            "proposal No. {number} of {committee} {session} is already registered as {existing}"
        ),
        Conflict::DocumentNumber {
            document_number,
            existing,
        } => {
            format!("document number {document_number} was already issued for proposal {existing}")
        }
    }
}
