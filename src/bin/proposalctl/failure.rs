//! Why a command failed, how that is told on stderr (in words, or as one JSON object with
//! `--json`), and the exit code it gives. The server's error details are spelled out: each
//! `BadRequest` field violation on its own line, the `ErrorInfo` reason and metadata, the
//! `ResourceInfo` of a missing proposal.

use std::collections::BTreeMap;
use std::io;

use serde_json::{Value, json};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::output::Output;

/// A command that did not complete.
#[derive(Debug)]
pub enum Failure {
    /// The server answered with an error status (or the call failed on the way).
    Status(Status),
    /// No connection could be made to the server.
    Unreachable { server: String, cause: String },
    /// The command line asks for something impossible, e.g. an unreadable input file.
    Usage(String),
    /// The server's answer lacks what the proto promises (e.g. a response without its proposal).
    BadAnswer(String),
    /// `verify` found a mismatch; the report is already on stdout.
    Mismatch { problems: usize },
    /// Stdout could not be written (a closed pipe ends the command quietly).
    Output(io::Error),
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Self::Status(status)
    }
}

impl Failure {
    /// 1 refused or failed request, 2 usage, 3 server unreachable or unavailable, 4 `verify`
    /// found a mismatch; 0 for a closed stdout (whoever read it stopped reading).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Status(status) if status.code() == Code::Unavailable => 3,
            Self::Status(_) | Self::BadAnswer(_) => 1,
            Self::Unreachable { .. } => 3,
            Self::Usage(_) => 2,
            Self::Mismatch { .. } => 4,
            Self::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
            Self::Output(_) => 1,
        }
    }

    /// Tells what went wrong on stderr.
    pub fn report(&self, output: &Output) {
        if matches!(self, Self::Output(e) if e.kind() == io::ErrorKind::BrokenPipe) {
            return;
        }
        if output.is_json() {
            output.error(&self.to_json().to_string());
        } else {
            output.error(&self.to_text());
        }
    }

    fn to_text(&self) -> String {
        match self {
            Self::Status(status) => status_text(status),
            Self::Unreachable { server, cause } => format!(
                "error: cannot connect to {server}: {cause}\n  \
                 is proposal-server running there? Choose another with --server or PROPOSAL_SERVER."
            ),
            Self::Usage(message) => format!("error: {message}"),
            Self::BadAnswer(message) => {
                format!("error: unexpected answer from the server: {message}")
            }
            Self::Mismatch { problems } => {
                format!("error: the history does not verify ({problems} problem(s), see above)")
            }
            Self::Output(e) => format!("error: cannot write the output: {e}"),
        }
    }

    fn to_json(&self) -> Value {
        let mut error = match self {
            Self::Status(status) => status_json(status),
            Self::Unreachable { server, cause } => json!({
                "code": "UNAVAILABLE",
                "message": format!("cannot connect to {server}: {cause}"),
            }),
            Self::Usage(message) => json!({ "code": "USAGE", "message": message }),
            Self::BadAnswer(message) => json!({ "code": "BAD_ANSWER", "message": message }),
            Self::Mismatch { problems } => json!({
                "code": "MISMATCH",
                "message": format!("the history does not verify ({problems} problem(s))"),
            }),
            Self::Output(e) => json!({ "code": "OUTPUT", "message": e.to_string() }),
        };
        error["exit_code"] = json!(self.exit_code());
        json!({ "error": error })
    }
}

/// `error: CODE: message`, then one indented line per detail.
fn status_text(status: &Status) -> String {
    let mut text = format!("error: {}: {}", code_name(status.code()), message(status));
    if timed_out(status) {
        text.push_str("\n  the call took longer than --timeout allows");
    }
    if let Some(bad_request) = status.get_details_bad_request() {
        for violation in &bad_request.field_violations {
            text.push_str(&format!(
                "\n  {}: {}",
                violation.field, violation.description
            ));
        }
    }
    if let Some(info) = status.get_details_error_info() {
        text.push_str(&format!("\n  reason: {}", info.reason));
        let metadata: BTreeMap<_, _> = info.metadata.iter().collect();
        if !metadata.is_empty() {
            let pairs: Vec<String> = metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
            text.push_str(&format!(" ({})", pairs.join(", ")));
        }
    }
    if let Some(resource) = status
        .get_details_resource_info()
        .filter(|r| !status.message().contains(&r.resource_name))
    {
        text.push_str(&format!(
            "\n  {} {}: {}",
            resource.resource_type, resource.resource_name, resource.description
        ));
    }
    text
}

fn status_json(status: &Status) -> Value {
    let mut error = json!({
        "code": code_name(status.code()),
        "message": message(status),
    });
    if let Some(bad_request) = status.get_details_bad_request() {
        error["field_violations"] = bad_request
            .field_violations
            .iter()
            .map(|v| json!({ "field": v.field, "description": v.description }))
            .collect();
    }
    if let Some(info) = status.get_details_error_info() {
        let metadata: BTreeMap<_, _> = info.metadata.into_iter().collect();
        error["error_info"] = json!({
            "reason": info.reason,
            "domain": info.domain,
            "metadata": metadata,
        });
    }
    if let Some(resource) = status.get_details_resource_info() {
        error["resource_info"] = json!({
            "resource_type": resource.resource_type,
            "resource_name": resource.resource_name,
            "description": resource.description,
        });
    }
    error
}

/// Whether the call ran out of time: on the server (DEADLINE_EXCEEDED) or on this side, which
/// tonic reports as CANCELLED "Timeout expired".
fn timed_out(status: &Status) -> bool {
    status.code() == Code::DeadlineExceeded
        || (status.code() == Code::Cancelled && status.message().contains("Timeout expired"))
}

/// The status message, followed by its causes when the call failed in the transport (the
/// server's own statuses have none).
fn message(status: &Status) -> String {
    let mut message = status.message().to_owned();
    if let Some(source) = std::error::Error::source(status) {
        let cause = causes(source);
        if !message.contains(&cause) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&cause);
        }
    }
    message
}

/// An error and its sources, outermost first, without repeats: `transport error: tcp connect
/// error: Connection refused (os error 111)`.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        next = error.source();
    }
    parts.join(": ")
}

pub use proposal_service::grpc::code_name;

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn field_violations_and_reasons_are_spelled_out() {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation("proposal_id", "must be a UUID");
        details.add_bad_request_violation("actor", "is required");
        let status = Status::with_error_details(
            Code::InvalidArgument,
            "the request has 2 invalid fields",
            details,
        );
        assert_eq!(
            status_text(&status),
            "error: INVALID_ARGUMENT: the request has 2 invalid fields\n  \
             proposal_id: must be a UUID\n  actor: is required"
        );
        let failure = Failure::from(status);
        assert_eq!(failure.exit_code(), 1);
        let json = failure.to_json();
        assert_eq!(json["error"]["field_violations"][1]["field"], "actor");

        let status = Status::with_error_details(
            Code::Aborted,
            "stale",
            ErrorDetails::with_error_info(
                "VERSION_MISMATCH",
                "proposal.v1",
                [
                    ("expectedVersion".to_owned(), "2".to_owned()),
                    ("currentVersion".to_owned(), "3".to_owned()),
                ],
            ),
        );
        assert!(
            status_text(&status)
                .ends_with("\n  reason: VERSION_MISMATCH (currentVersion=3, expectedVersion=2)")
        );
        assert_eq!(Failure::from(Status::unavailable("bye")).exit_code(), 3);
    }
}
