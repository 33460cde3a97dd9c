mod common;

// Hostile input, in process: random values (arbitrary Unicode with control characters, strings
// at and just past every limit, random numbers, enum values and repeated fields, and arbitrary
// bytes decoded as protobuf) go through every request conversion, then through `decide` against
// a proposal in every state. Nothing may panic; a request is accepted exactly when it respects
// the documented limits (`src/domain/limits.rs`, the proto's comments), and a refusal names
// exactly the offending fields. The same strategies go over gRPC in `hostile_reads.rs` and
// `hostile_walks.rs`.
//
// The oracle (tests/common/oracle.rs) is written independently of the service's validation
// code. `PROPTEST_CASES=2000 cargo test --test hostile_input` runs more cases.

use std::collections::{BTreeSet, HashSet};

use common::domain::{self, given_proposal, proposal_in};
use common::hostile::{
    assign_request, bytes, config, copy_request, draft_request, issue_request, receive_request,
    reject_request, return_request, short, sign_request,
};
use common::oracle::{Problems, date_ok, uuid_ok};
use proposal_service::app::{AppError, Submission};
use proposal_service::domain::{
    CalendarDate, Command, Decision, Limits, ProposalState, Registration, ResultCode,
};
use proposal_service::pb;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use prost::Message;

// ----- Conversion and decide, in process ------------------------------------------------------

proptest! {
    #![proptest_config(config(256, file!()))]

    #[test]
    fn receive_requests(r in receive_request()) {
        check_receive(r)?;
    }

    #[test]
    fn assign_requests(r in assign_request()) {
        check_assign(r)?;
    }

    #[test]
    fn return_requests(r in return_request()) {
        check_return(r)?;
    }

    #[test]
    fn draft_requests(r in draft_request()) {
        check_draft(r)?;
    }

    #[test]
    fn reject_requests(r in reject_request()) {
        check_reject(r)?;
    }

    #[test]
    fn sign_requests(r in sign_request()) {
        check_sign(r)?;
    }

    #[test]
    fn issue_requests(r in issue_request()) {
        check_issue(r)?;
    }

    #[test]
    fn copy_requests(r in copy_request()) {
        check_copy(r)?;
    }

    /// Arbitrary bytes decoded as each request message: whatever decodes goes through the same
    /// conversion, oracle and `decide`.
    #[test]
    fn arbitrary_bytes_as_every_request(bytes in bytes()) {
        let bytes = bytes.as_slice();
        if let Ok(r) = pb::ReceiveProposalRequest::decode(bytes) {
            check_receive(r)?;
        }
        if let Ok(r) = pb::AssignProposalRequest::decode(bytes) {
            check_assign(r)?;
        }
        if let Ok(r) = pb::ReturnProposalRequest::decode(bytes) {
            check_return(r)?;
        }
        if let Ok(r) = pb::DraftReplyRequest::decode(bytes) {
            check_draft(r)?;
        }
        if let Ok(r) = pb::RejectDraftRequest::decode(bytes) {
            check_reject(r)?;
        }
        if let Ok(r) = pb::SignReplyRequest::decode(bytes) {
            check_sign(r)?;
        }
        if let Ok(r) = pb::IssueReplyRequest::decode(bytes) {
            check_issue(r)?;
        }
        if let Ok(r) = pb::CopyReplyRequest::decode(bytes) {
            check_copy(r)?;
        }
    }
}

/// The oracle itself, on hand-picked values: guards against an oracle that accepts everything.
#[test]
fn the_oracle_knows_the_limits() {
    assert!(uuid_ok("0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e5f"));
    assert!(uuid_ok("0190A4E2-7C1B-7D3E-9F00-5A1B2C3D4E5F"));
    assert!(!uuid_ok("0190a4e27c1b7d3e9f005a1b2c3d4e5f"));
    assert!(!uuid_ok("{0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e5}"));
    assert!(!uuid_ok("0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e5g"));
    assert!(date_ok("2020-02-29") && date_ok("0001-01-01") && date_ok("9999-12-31"));
    for bad in [
        "2019-02-29",
        "0000-01-01",
        "2019-13-01",
        "2019-00-10",
        "2019-9-29",
        "１２３",
    ] {
        assert!(!date_ok(bad), "{bad}");
    }
    let problems = |f: &dyn Fn(&mut Problems)| {
        let mut p = Problems::default();
        f(&mut p);
        p.0.into_iter().collect::<Vec<_>>()
    };
    assert!(problems(&|p| p.line("t", &"许".repeat(500), 500)).is_empty());
    assert_eq!(problems(&|p| p.line("t", &"许".repeat(501), 500)), ["t"]);
    assert_eq!(problems(&|p| p.line("t", "a\u{85}b", 500)), ["t"]);
    assert_eq!(problems(&|p| p.line("t", "\u{3000}", 500)), ["t"]);
    assert_eq!(problems(&|p| p.line("t", "a\nb", 500)), ["t"]);
    assert!(problems(&|p| p.text("t", "a\r\n\tb", 500)).is_empty());
    let names = vec!["a".to_owned(), "b".to_owned(), "a".to_owned()];
    assert_eq!(problems(&|p| p.names("n", &names, 100)), ["n[2]"]);
}

// ----- Checks ---------------------------------------------------------------------------------

/// The conversion's outcome must be what the oracle predicts: accepted when nothing is wrong,
/// otherwise INVALID_ARGUMENT naming exactly the wrong fields.
fn converted<R: std::fmt::Debug + Clone>(
    request: R,
    problems: Problems,
    convert: impl FnOnce(R) -> Result<Submission, AppError>,
) -> Result<Option<Submission>, TestCaseError> {
    let shown = short(&request);
    match convert(request) {
        Ok(submission) => {
            prop_assert!(
                problems.0.is_empty(),
                "accepted although {:?} are wrong: {shown}",
                problems.0
            );
            Ok(Some(submission))
        }
        Err(AppError::InvalidArgument(violations)) => {
            let named: BTreeSet<String> = violations.into_iter().map(|v| v.field).collect();
            prop_assert_eq!(&named, &problems.0, "for {}", shown);
            Ok(None)
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "conversion failed with {other:?} for {shown}"
        ))),
    }
}

/// An accepted one-line value respects its limit.
fn assert_line(field: &str, value: &str, max: usize) -> Result<(), TestCaseError> {
    prop_assert!(!value.trim().is_empty(), "{field} accepted blank");
    prop_assert!(
        value.chars().count() <= max,
        "{field} accepted with {} characters (limit {max})",
        value.chars().count()
    );
    prop_assert!(
        !value.chars().any(char::is_control),
        "{field} accepted with a control character: {value:?}"
    );
    Ok(())
}

fn assert_text(field: &str, value: &str, max: usize) -> Result<(), TestCaseError> {
    prop_assert!(!value.trim().is_empty(), "{field} accepted blank");
    prop_assert!(value.chars().count() <= max, "{field} accepted too long");
    prop_assert!(
        !value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')),
        "{field} accepted with a control character: {value:?}"
    );
    Ok(())
}

fn assert_names(field: &str, values: &[String], max: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        (1..=max).contains(&values.len()),
        "{field} accepted with {} entries",
        values.len()
    );
    let distinct: HashSet<&String> = values.iter().collect();
    prop_assert_eq!(
        distinct.len(),
        values.len(),
        "{} accepted with repeats",
        field
    );
    for value in values {
        assert_line(field, value, Limits::NAME_CHARS)?;
    }
    Ok(())
}

/// Checks what every accepted submission shares with its request: the id, the expected
/// version, the idempotency key and the actor, unchanged and within limits.
fn assert_envelope(
    submission: &Submission,
    proposal_id: Option<&str>,
    expected_version: Option<u64>,
    request_id: &str,
    actor: &str,
) -> Result<(), TestCaseError> {
    match (proposal_id, submission.proposal_id) {
        (None, None) => {}
        (Some(text), Some(id)) => prop_assert!(
            id.to_string().eq_ignore_ascii_case(text),
            "proposal_id {text:?} became {id}"
        ),
        (text, id) => prop_assert!(false, "proposal_id {text:?} became {id:?}"),
    }
    prop_assert_eq!(submission.expected_version, expected_version);
    let key = submission.request_id.as_ref().map(|k| k.as_str());
    prop_assert_eq!(key, (!request_id.is_empty()).then_some(request_id));
    if let Some(key) = key {
        assert_line("request_id", key, Limits::REQUEST_ID_CHARS)?;
    }
    prop_assert_eq!(&submission.actor, actor);
    assert_line("actor", &submission.actor, Limits::NAME_CHARS)
}

fn assert_date(field: &str, text: &str, date: CalendarDate) -> Result<(), TestCaseError> {
    prop_assert_eq!(date.to_string(), text, "{} changed", field);
    Ok(())
}

/// Runs an accepted command through `decide` against no proposal and a proposal in every
/// state, and folds what it decides: allowed exactly where the lifecycle allows it, never a
/// panic, and the projection afterwards carries the command's values.
fn check_decide(submission: &Submission) -> Result<(), TestCaseError> {
    let command = &submission.command;
    let states = std::iter::once(None).chain(ProposalState::ALL.into_iter().map(Some));
    for state in states {
        let given = given_proposal(state.map(proposal_in));
        let envelope = given.envelope(&submission.actor);
        let then = given.when(command, envelope);
        let Some(to) = domain::next(command.kind(), state) else {
            then.then_invalid_transition()
                .map_err(TestCaseError::fail)?;
            continue;
        };
        let Decision { event: _, after } = then.then_recorded(to).map_err(TestCaseError::fail)?;
        match command {
            Command::Receive(r) => {
                let Registration {
                    committee,
                    session,
                    number,
                    title,
                    proposers,
                    content,
                } = r;
                prop_assert_eq!(
                    (&after.committee, &after.session, after.number),
                    (committee, session, *number)
                );
                prop_assert_eq!(
                    (&after.title, &after.proposers, &after.content),
                    (title, proposers, content)
                );
            }
            Command::Assign {
                handling_unit,
                due_date,
            } => {
                prop_assert_eq!(after.handling_unit.as_ref(), Some(handling_unit));
                prop_assert_eq!(after.due_date, *due_date);
            }
            Command::Return { .. } => {
                prop_assert_eq!((&after.handling_unit, after.due_date), (&None, None));
            }
            Command::Draft { reply } => prop_assert_eq!(after.reply.as_ref(), Some(reply)),
            Command::RejectDraft { .. } => prop_assert_eq!(&after.reply, &None),
            Command::Sign { signer } => prop_assert_eq!(after.signer.as_ref(), Some(signer)),
            Command::Issue {
                document_number,
                issue_date,
                issuing_office,
            } => {
                prop_assert_eq!(after.document_number.as_ref(), Some(document_number));
                prop_assert_eq!(after.issue_date, Some(*issue_date));
                prop_assert_eq!(after.issuing_office.as_ref(), Some(issuing_office));
            }
            Command::Copy { recipients } => prop_assert_eq!(&after.copied_to, recipients),
        }
    }
    Ok(())
}

fn check_receive(r: pb::ReceiveProposalRequest) -> Result<(), TestCaseError> {
    let mut p = Problems::default();
    p.line("committee", &r.committee, 200);
    p.line("session", &r.session, 200);
    if r.number == 0 {
        p.add("number");
    }
    p.line("title", &r.title, 500);
    p.names("proposers", &r.proposers, 100);
    p.text("content", &r.content, 100_000);
    p.envelope(&r.actor, &r.request_id);
    let Some(s) = converted(r.clone(), p, Submission::try_from)? else {
        return Ok(());
    };
    assert_envelope(&s, None, None, &r.request_id, &r.actor)?;
    let Command::Receive(reg) = &s.command else {
        return Err(TestCaseError::fail(format!("became {:?}", s.command)));
    };
    prop_assert_eq!(
        (&reg.committee, &reg.session, reg.number),
        (&r.committee, &r.session, r.number)
    );
    prop_assert_eq!(
        (&reg.title, &reg.proposers, &reg.content),
        (&r.title, &r.proposers, &r.content)
    );
    assert_line("committee", &reg.committee, Limits::NAME_CHARS)?;
    assert_line("session", &reg.session, Limits::NAME_CHARS)?;
    prop_assert!(reg.number >= 1);
    assert_line("title", &reg.title, Limits::TITLE_CHARS)?;
    assert_names("proposers", &reg.proposers, Limits::MAX_PROPOSERS)?;
    assert_text("content", &reg.content, Limits::TEXT_CHARS)?;
    check_decide(&s)
}

/// The problems with the fields every command on an existing proposal has.
fn envelope_problems(proposal_id: &str, actor: &str, request_id: &str) -> Problems {
    let mut p = Problems::default();
    p.proposal_id(proposal_id);
    p.envelope(actor, request_id);
    p
}

fn check_assign(r: pb::AssignProposalRequest) -> Result<(), TestCaseError> {
    let mut p = envelope_problems(&r.proposal_id, &r.actor, &r.request_id);
    p.line("handling_unit", &r.handling_unit, 200);
    if !r.due_date.is_empty() && !date_ok(&r.due_date) {
        p.add("due_date");
    }
    let Some(s) = converted(r.clone(), p, Submission::try_from)? else {
        return Ok(());
    };
    let id = Some(r.proposal_id.as_str());
    assert_envelope(&s, id, r.expected_version, &r.request_id, &r.actor)?;
    let Command::Assign {
        handling_unit,
        due_date,
    } = &s.command
    else {
        return Err(TestCaseError::fail(format!("became {:?}", s.command)));
    };
    prop_assert_eq!(handling_unit, &r.handling_unit);
    assert_line("handling_unit", handling_unit, Limits::NAME_CHARS)?;
    match due_date {
        None => prop_assert_eq!(&r.due_date, ""),
        Some(date) => assert_date("due_date", &r.due_date, *date)?,
    }
    check_decide(&s)
}

fn check_return(r: pb::ReturnProposalRequest) -> Result<(), TestCaseError> {
    let mut p = envelope_problems(&r.proposal_id, &r.actor, &r.request_id);
    p.text("reason", &r.reason, 5_000);
    let Some(s) = converted(r.clone(), p, Submission::try_from)? else {
        return Ok(());
    };
    let id = Some(r.proposal_id.as_str());
    assert_envelope(&s, id, r.expected_version, &r.request_id, &r.actor)?;
    let Command::Return { reason } = &s.command else {
        return Err(TestCaseError::fail(format!("became {:?}", s.command)));
    };
    prop_assert_eq!(reason, &r.reason);
    assert_text("reason", reason, Limits::REASON_CHARS)?;
    check_decide(&s)
}

fn check_draft(r: pb::DraftReplyRequest) -> Result<(), TestCaseError> {
    let mut p = envelope_problems(&r.proposal_id, &r.actor, &r.request_id);
    let given = r.reply.clone().unwrap_or_else(|| {
        p.add("reply");
        pb::Reply::default()
    });
    if !(1..=3).contains(&given.result_code) {
        p.add("reply.result_code");
    }
    p.text("reply.body", &given.body, 100_000);
    p.optional_line("reply.contact_unit", &given.contact_unit, 200);
    p.optional_line("reply.contact_phone", &given.contact_phone, 50);
    let Some(s) = converted(r.clone(), p, Submission::try_from)? else {
        return Ok(());
    };
    let id = Some(r.proposal_id.as_str());
    assert_envelope(&s, id, r.expected_version, &r.request_id, &r.actor)?;
    let Command::Draft { reply } = &s.command else {
        return Err(TestCaseError::fail(format!("became {:?}", s.command)));
    };
    let code = match reply.result_code {
        ResultCode::A => 1,
        ResultCode::B => 2,
        ResultCode::C => 3,
    };
    prop_assert_eq!(
        (&reply.body, code, &reply.contact_unit, &reply.contact_phone),
        (
            &given.body,
            given.result_code,
            &given.contact_unit,
            &given.contact_phone
        )
    );
    assert_text("reply.body", &reply.body, Limits::TEXT_CHARS)?;
    if !reply.contact_unit.is_empty() {
        assert_line(
            "reply.contact_unit",
            &reply.contact_unit,
            Limits::NAME_CHARS,
        )?;
    }
    if !reply.contact_phone.is_empty() {
        assert_line(
            "reply.contact_phone",
            &reply.contact_phone,
            Limits::PHONE_CHARS,
        )?;
    }
    check_decide(&s)
}

fn check_reject(r: pb::RejectDraftRequest) -> Result<(), TestCaseError> {
    let mut p = envelope_problems(&r.proposal_id, &r.actor, &r.request_id);
    p.text("reason", &r.reason, 5_000);
    let Some(s) = converted(r.clone(), p, Submission::try_from)? else {
        return Ok(());
    };
    let id = Some(r.proposal_id.as_str());
    assert_envelope(&s, id, r.expected_version, &r.request_id, &r.actor)?;
    let Command::RejectDraft { reason } = &s.command else {
        return Err(TestCaseError::fail(format!("became {:?}", s.command)));
    };
    prop_assert_eq!(reason, &r.reason);
    assert_text("reason", reason, Limits::REASON_CHARS)?;
    check_decide(&s)
}

fn check_sign(r: pb::SignReplyRequest) -> Result<(), TestCaseError> {
    let mut p = envelope_problems(&r.proposal_id, &r.actor, &r.request_id);
    p.line("signer", &r.signer, 200);
    let Some(s) = converted(r.clone(), p, Submission::try_from)? else {
        return Ok(());
    };
    let id = Some(r.proposal_id.as_str());
    assert_envelope(&s, id, r.expected_version, &r.request_id, &r.actor)?;
    let Command::Sign { signer } = &s.command else {
        return Err(TestCaseError::fail(format!("became {:?}", s.command)));
    };
    prop_assert_eq!(signer, &r.signer);
    assert_line("signer", signer, Limits::NAME_CHARS)?;
    check_decide(&s)
}

fn check_issue(r: pb::IssueReplyRequest) -> Result<(), TestCaseError> {
    let mut p = envelope_problems(&r.proposal_id, &r.actor, &r.request_id);
    p.line("document_number", &r.document_number, 100);
    if !date_ok(&r.issue_date) {
        p.add("issue_date");
    }
    p.line("issuing_office", &r.issuing_office, 200);
    let Some(s) = converted(r.clone(), p, Submission::try_from)? else {
        return Ok(());
    };
    let id = Some(r.proposal_id.as_str());
    assert_envelope(&s, id, r.expected_version, &r.request_id, &r.actor)?;
    let Command::Issue {
        document_number,
        issue_date,
        issuing_office,
    } = &s.command
    else {
        return Err(TestCaseError::fail(format!("became {:?}", s.command)));
    };
    prop_assert_eq!(
        (document_number, issuing_office),
        (&r.document_number, &r.issuing_office)
    );
    assert_line(
        "document_number",
        document_number,
        Limits::DOCUMENT_NUMBER_CHARS,
    )?;
    assert_line("issuing_office", issuing_office, Limits::NAME_CHARS)?;
    assert_date("issue_date", &r.issue_date, *issue_date)?;
    check_decide(&s)
}

fn check_copy(r: pb::CopyReplyRequest) -> Result<(), TestCaseError> {
    let mut p = envelope_problems(&r.proposal_id, &r.actor, &r.request_id);
    p.names("recipients", &r.recipients, 100);
    let Some(s) = converted(r.clone(), p, Submission::try_from)? else {
        return Ok(());
    };
    let id = Some(r.proposal_id.as_str());
    assert_envelope(&s, id, r.expected_version, &r.request_id, &r.actor)?;
    let Command::Copy { recipients } = &s.command else {
        return Err(TestCaseError::fail(format!("became {:?}", s.command)));
    };
    prop_assert_eq!(recipients, &r.recipients);
    assert_names("recipients", recipients, Limits::MAX_RECIPIENTS)?;
    check_decide(&s)
}
