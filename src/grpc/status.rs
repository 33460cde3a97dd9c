//! The one error table: every [`AppError`] becomes exactly one gRPC status (AIP-193), with
//! machine-readable details. Rejections are expected outcomes and logged at info; storage
//! faults are logged at error and reported to callers without internals.

//!
//! Every refusal fits well inside the 8 KiB of headers that the strictest common clients accept
//! (grpc-java's default; grpcio and hyper give up at 8 to 16 KiB), whatever the input: the
//! message is clipped, and a long list of field violations is cut to its first entries with a
//! count of the rest (see [`Budget`]).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::ERROR_DOMAIN;
use crate::app::{AppError, Conflict};
use crate::domain::FieldViolation;
use crate::domain::{EffectiveDateError, HandlingRole, Precondition};

/// What one refusal may carry on the wire. The message travels twice (percent-encoded in
/// `grpc-message`, where a Chinese character takes 9 bytes, and inside the base64
/// `grpc-status-details-bin`), the details once, base64 (4/3 of their size). With these bounds
/// the trailers stay under about 4 KiB (tested on the wire in `tests/errors.rs`).
struct Budget;

impl Budget {
    /// `grpc-message`, as encoded on the wire.
    const MESSAGE_WIRE_BYTES: usize = 512;
    /// Field violations listed in `BadRequest`; the rest are counted.
    const VIOLATIONS: usize = 20;
    /// Field violations named in the message; the rest are counted.
    const NAMED: usize = 5;
    /// The listed violations' fields and descriptions together, in UTF-8 bytes.
    const VIOLATION_BYTES: usize = 1_536;
    /// One violation's field name, or its description.
    const VIOLATION_PART_BYTES: usize = 200;
    /// One `ErrorInfo` metadata value (they hold validated names, at most 200 characters).
    const METADATA_VALUE_BYTES: usize = 600;
}

/// The ellipsis that ends a clipped text.
const ELLIPSIS: char = '…';

/// `text`, cut at a character boundary so that it costs at most `max` by `cost` per character,
/// ellipsis included.
fn clip_by(text: &str, max: usize, cost: impl Fn(char) -> usize) -> String {
    if text.chars().map(&cost).sum::<usize>() <= max {
        return text.to_owned();
    }
    let room = max.saturating_sub(cost(ELLIPSIS));
    let mut used = 0;
    let mut clipped = String::new();
    for c in text.chars() {
        used += cost(c);
        if used > room {
            break;
        }
        clipped.push(c);
    }
    clipped.push(ELLIPSIS);
    clipped
}

/// `text` in at most `max` UTF-8 bytes.
fn clip(text: &str, max: usize) -> String {
    clip_by(text, max, char::len_utf8)
}

/// What a character costs in `grpc-message`, as tonic percent-encodes it: printable ASCII
/// stays one byte, except space and `" # % < > ` ? { }`; those and every other byte become
/// three.
fn wire_cost(c: char) -> usize {
    match c {
        ' ' | '"' | '#' | '%' | '<' | '>' | '`' | '?' | '{' | '}' => 3,
        '!'..='~' => 1,
        _ => 3 * c.len_utf8(),
    }
}

/// A status message that takes at most [`Budget::MESSAGE_WIRE_BYTES`] on the wire.
fn clip_message(message: &str) -> String {
    clip_by(message, Budget::MESSAGE_WIRE_BYTES, wire_cost)
}

/// The message of an INVALID_ARGUMENT: the first violations (at most [`Budget::NAMED`], as
/// many as fit the budget, the first one clipped if need be), then how many more there are,
/// which always survives the budget.
fn invalid_message(violations: &[FieldViolation]) -> String {
    let cost = |text: &str| text.chars().map(wire_cost).sum::<usize>();
    let mut message = String::from("invalid request: ");
    let mut named = 0;
    for v in violations.iter().take(Budget::NAMED) {
        let rest = violations.len() - named;
        // Room for the count whatever follows ("; and {rest} more" is the longest it can be).
        let tail = cost(&format!("; and {rest} more"));
        let part = format!(
            "{}{} {}",
            if named > 0 { "; " } else { "" },
            v.field,
            v.description
        );
        let room = Budget::MESSAGE_WIRE_BYTES.saturating_sub(cost(&message) + tail);
        if cost(&part) <= room {
            message.push_str(&part);
        } else if named == 0 {
            message.push_str(&clip_by(&part, room, wire_cost));
        } else {
            break;
        }
        named += 1;
    }
    let more = violations.len() - named;
    if more > 0 {
        message.push_str(&format!("; and {more} more"));
    }
    message
}

/// `BadRequest` with the first violations that fit the budget; when some are left out, an
/// `ErrorInfo` `VIOLATIONS_TRUNCATED` says how many there were.
fn bad_request(violations: Vec<FieldViolation>) -> ErrorDetails {
    let total = violations.len();
    let mut details = ErrorDetails::new();
    let mut listed = 0;
    let mut bytes = 0;
    for v in violations {
        let field = clip(&v.field, Budget::VIOLATION_PART_BYTES);
        let description = clip(&v.description, Budget::VIOLATION_PART_BYTES);
        bytes += field.len() + description.len();
        if listed == Budget::VIOLATIONS || bytes > Budget::VIOLATION_BYTES {
            break;
        }
        details.add_bad_request_violation(field, description);
        listed += 1;
    }
    if listed < total {
        details.set_error_info(
            "VIOLATIONS_TRUNCATED",
            ERROR_DOMAIN,
            HashMap::from([
                ("listedViolations".to_owned(), listed.to_string()),
                ("totalViolations".to_owned(), total.to_string()),
            ]),
        );
    }
    details
}

/// `ErrorInfo` metadata with every value within [`Budget::METADATA_VALUE_BYTES`].
fn metadata<const N: usize>(entries: [(&str, String); N]) -> HashMap<String, String> {
    entries
        .into_iter()
        .map(|(key, value)| (key.to_owned(), clip(&value, Budget::METADATA_VALUE_BYTES)))
        .collect()
}

/// A status whose details are one `ErrorInfo`.
fn with_info(
    code: Code,
    reason: &str,
    message: String,
    metadata: HashMap<String, String>,
) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
    )
}

/// FAILED_PRECONDITION on the proposal as it stands: an `ErrorInfo` and a `PreconditionFailure`
/// of type `STATE` on the subject `proposal`.
fn failed_precondition(reason: &str, message: String, metadata: HashMap<String, String>) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    details.add_precondition_failure_violation("STATE", "proposal", message.clone());
    Status::with_error_details(Code::FailedPrecondition, message, details)
}

impl From<AppError> for Status {
    fn from(error: AppError) -> Self {
        let message = clip_message(&error.to_string());
        match error {
            AppError::InvalidArgument(violations) => Status::with_error_details(
                Code::InvalidArgument,
                invalid_message(&violations),
                bad_request(violations),
            ),
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
                        metadata([
                            ("committee", committee),
                            ("session", session),
                            ("number", number.to_string()),
                            ("existingProposalId", existing.to_string()),
                        ]),
                    ),
                    Conflict::DocumentNumber {
                        document_number,
                        existing,
                    } => (
                        "DUPLICATE_DOCUMENT_NUMBER",
                        metadata([
                            ("documentNumber", document_number),
                            ("existingProposalId", existing.to_string()),
                        ]),
                    ),
                };
                with_info(Code::AlreadyExists, reason, message, metadata)
            }
            AppError::InvalidTransition { command, state } => failed_precondition(
                "INVALID_TRANSITION",
                message,
                metadata([
                    (
                        "currentState",
                        state.map_or("NONE", |s| s.as_str()).to_owned(),
                    ),
                    ("command", command.rpc_name().to_owned()),
                ]),
            ),
            AppError::VersionMismatch { expected, actual } => with_info(
                Code::Aborted,
                "VERSION_MISMATCH",
                message,
                metadata([
                    ("expectedVersion", expected.to_string()),
                    ("currentVersion", actual.to_string()),
                ]),
            ),
            AppError::EffectiveDate(EffectiveDateError::InFuture { date, today }) => {
                let mut details = ErrorDetails::with_error_info(
                    "EFFECTIVE_DATE_INVALID",
                    ERROR_DOMAIN,
                    metadata([
                        ("effectiveDate", date.to_string()),
                        ("today", today.to_string()),
                    ]),
                );
                details.add_bad_request_violation("effective_date", "is in the future");
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            AppError::EffectiveDate(EffectiveDateError::BeforePreviousAct { date, previous }) => {
                failed_precondition(
                    "EFFECTIVE_DATE_INVALID",
                    message,
                    metadata([
                        ("effectiveDate", date.to_string()),
                        ("previousActDate", previous.to_string()),
                    ]),
                )
            }
            // The verdict is on record: the caller's form was entered already.
            AppError::Precondition(Precondition::FeedbackRecorded { proposer }) => with_info(
                Code::AlreadyExists,
                "FEEDBACK_RECORDED",
                message,
                metadata([("proposer", proposer)]),
            ),
            AppError::Precondition(precondition) => {
                let unit = |unit: &String| ("handlingUnit", unit.clone());
                let metadata = match &precondition {
                    Precondition::NotAHandlingUnit { unit: u }
                    | Precondition::AlreadyAcknowledged { unit: u }
                    | Precondition::ContactRequired { unit: u }
                    | Precondition::NoPendingExtension { unit: u }
                    | Precondition::NoDueDate { unit: u }
                    | Precondition::ReturnPending { unit: u }
                    | Precondition::NoPendingReturn { unit: u }
                    | Precondition::NotACoUnit { unit: u }
                    | Precondition::NotAReplyingUnit { unit: u } => metadata([unit(u)]),
                    Precondition::HandlingUnitRequired { count, role } => metadata([(
                        if *role == HandlingRole::Co {
                            "coUnits"
                        } else {
                            "replyingUnits"
                        },
                        count.to_string(),
                    )]),
                    Precondition::CoOpinionsPending { units } => {
                        metadata([("pendingUnits", units.join(","))])
                    }
                    Precondition::MergeNotAllowed { into, why: _ } => {
                        metadata([("intoProposalId", into.to_string())])
                    }
                    Precondition::FeedbackRecorded { proposer } => {
                        metadata([("proposer", proposer.clone())])
                    }
                    Precondition::NoDissatisfaction { round } => {
                        metadata([("round", round.to_string())])
                    }
                    Precondition::ReturnWindowClosed {
                        assigned_on,
                        date,
                        days,
                        window_days,
                    } => metadata([
                        ("assignedDate", assigned_on.to_string()),
                        ("effectiveDate", date.to_string()),
                        ("daysSinceAssignment", days.to_string()),
                        ("returnWindowDays", window_days.to_string()),
                    ]),
                    Precondition::ExtensionPending {
                        unit: u,
                        new_due_date,
                    } => metadata([unit(u), ("pendingDueDate", new_due_date.to_string())]),
                    Precondition::ExtensionLimit {
                        requested,
                        original,
                        days,
                        max_days,
                    } => metadata([
                        ("requestedDueDate", requested.to_string()),
                        ("originalDueDate", original.to_string()),
                        ("daysBeyond", days.to_string()),
                        ("maxExtensionDays", max_days.to_string()),
                    ]),
                };
                failed_precondition(precondition.reason(), message, metadata)
            }
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
            AppError::NotIssued { state } => failed_precondition(
                "NOT_ISSUED",
                message,
                metadata([("currentState", state.as_str().to_owned())]),
            ),
            AppError::BeyondLog { requested, last } => with_info(
                Code::OutOfRange,
                "POSITION_BEYOND_LOG",
                message,
                metadata([
                    ("requestedPosition", requested.to_string()),
                    ("lastPosition", last.to_string()),
                ]),
            ),
            AppError::Unauthenticated(_) => Status::unauthenticated(message),
            AppError::PermissionDenied(_) => with_info(
                Code::PermissionDenied,
                "NOT_IN_REMIT",
                message,
                HashMap::new(),
            ),
            AppError::ShuttingDown => Status::unavailable(message),
            AppError::Overloaded => Status::resource_exhausted(message),
            AppError::Storage(e) => {
                tracing::error!(error = %e, "storage failure");
                Status::internal("internal storage error (details are in the server log)")
            }
            AppError::Internal(e) => {
                tracing::error!(error = %e, "internal failure");
                Status::internal("internal error (details are in the server log)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CommandKind, ProposalId, ProposalState};

    /// The header list size of the status on the wire (RFC 7541: name + value + 32 a field),
    /// as a client counts it against its limit.
    fn wire_size(status: &Status) -> usize {
        let mut headers = http::HeaderMap::new();
        status.add_header(&mut headers).expect("a status encodes");
        headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 32)
            .sum()
    }

    /// A validated name at its limit, in three-byte characters (nine once percent-encoded).
    fn longest_name() -> String {
        "政".repeat(crate::domain::Limits::NAME_CHARS)
    }

    #[test]
    fn every_refusal_fits_in_4_kib_whatever_the_input() {
        let id = ProposalId::parse("0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e5f").unwrap();
        let huge = "动".repeat(400_000);
        let long = "动".repeat(1_000);
        let many = |description: &str| {
            (0..10_000)
                .map(|i| FieldViolation::new(format!("proposers[{i}]"), description))
                .collect::<Vec<_>>()
        };
        let errors = [
            AppError::InvalidArgument(many("contains control characters")),
            AppError::InvalidArgument(many(&long)),
            AppError::InvalidArgument(vec![FieldViolation::new(huge.clone(), huge.clone())]),
            AppError::AlreadyExists(Conflict::ProposalNumber {
                committee: longest_name(),
                session: longest_name(),
                number: u32::MAX,
                existing: id,
            }),
            AppError::AlreadyExists(Conflict::DocumentNumber {
                document_number: huge.clone(),
                existing: id,
            }),
            AppError::InvalidTransition {
                command: CommandKind::Copy,
                state: Some(ProposalState::Received),
            },
            AppError::RequestIdReused {
                request_id: huge.clone(),
            },
            AppError::Unauthenticated(huge.clone()),
            AppError::PermissionDenied(" ?#{}".repeat(100_000)),
            AppError::PermissionDenied(huge.clone()),
        ];
        for error in errors {
            let what = format!("{:.80}", format!("{error:?}"));
            let status = Status::from(error);
            let size = wire_size(&status);
            assert!(size <= 4096, "{what}: {size} bytes of trailers");
        }
    }

    #[test]
    fn a_long_list_of_violations_names_the_first_and_counts_the_rest() {
        let violations = (0..300)
            .map(|i| FieldViolation::new(format!("recipients[{i}]"), "is required"))
            .collect::<Vec<_>>();
        let status = Status::from(AppError::InvalidArgument(violations));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().ends_with("; and 295 more"),
            "{}",
            status.message()
        );
        let details = status.get_error_details();
        let listed = &details.bad_request().expect("BadRequest").field_violations;
        assert_eq!(listed.len(), Budget::VIOLATIONS);
        assert_eq!(listed[0].field, "recipients[0]");
        assert_eq!(listed[19].field, "recipients[19]");
        let info = details.error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "VIOLATIONS_TRUNCATED");
        assert_eq!(info.metadata["listedViolations"], "20");
        assert_eq!(info.metadata["totalViolations"], "300");
    }

    #[test]
    fn the_count_survives_long_violations() {
        let long = "is not an event kind (EVENT_KIND_UNSPECIFIED is not one either) ".repeat(20);
        let violations = (0..1000)
            .map(|i| FieldViolation::new(format!("kinds[{i}]"), long.clone()))
            .collect::<Vec<_>>();
        let message = invalid_message(&violations);
        assert!(message.ends_with("; and 999 more"), "{message}");
        assert!(message.chars().map(wire_cost).sum::<usize>() <= Budget::MESSAGE_WIRE_BYTES);
        let two = invalid_message(&violations[..2]);
        assert!(two.ends_with("; and 1 more"), "{two}");
    }

    #[test]
    fn a_short_list_is_listed_whole_without_a_count() {
        let violations = vec![
            FieldViolation::new("title", "is required"),
            FieldViolation::new("proposers", "needs at least one entry"),
        ];
        let status = Status::from(AppError::InvalidArgument(violations));
        assert_eq!(
            status.message(),
            "invalid request: title is required; proposers needs at least one entry"
        );
        let details = status.get_error_details();
        assert_eq!(details.bad_request().unwrap().field_violations.len(), 2);
        assert!(details.error_info().is_none());
    }

    #[test]
    fn clipped_texts_end_with_an_ellipsis_on_a_character_boundary() {
        assert_eq!(clip("许昌市", 9), "许昌市");
        assert_eq!(clip("许昌市政协", 9), "许昌…");
        assert_eq!(clip_message("abc"), "abc");
        let clipped = clip_message(&"许".repeat(100));
        // 56 characters of 9 encoded bytes, then the ellipsis (9): 513 would be one too many.
        assert_eq!(clipped.chars().count(), 56);
        assert!(clipped.ends_with('…'));
        let ascii = clip_message(&"a".repeat(600));
        assert_eq!(ascii.len(), 503 + '…'.len_utf8());
        // Spaces and quotes are percent-encoded too: three bytes each on the wire.
        let spaced = clip_message(&" ?".repeat(300));
        assert_eq!(spaced.chars().count(), 167 + 1);
    }
}
