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
    refuse_request, reject_request, return_request, short, sign_request,
};
use common::oracle::{Problems, date_ok, uuid_ok};
use common::requests::CommandRequest;
use proposal_service::app::{AppError, Submission};
use proposal_service::domain::examples::CO_UNIT;
use proposal_service::domain::{
    CalendarDate, Command, Decision, DomainError, EffectiveDateError, FieldViolation, Limits,
    ProposalState, ProposerKind, Registration, ResultCode, Rules,
};
use proposal_service::pb;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use prost::Message;

// ----- Conversion and decide, in process ------------------------------------------------------

// One property per request type (`name: strategy, message => check`), and one that decodes
// arbitrary bytes as each message in turn (`arbitrary_bytes_as_every_request`).
self::request_properties! {
    receive_requests: receive_request(), pb::ReceiveProposalRequest => check_receive;
    assign_requests: assign_request(), pb::AssignProposalRequest => check_assign;
    return_requests: return_request(), pb::ReturnProposalRequest => check_return;
    draft_requests: draft_request(), pb::DraftReplyRequest => check_draft;
    reject_requests: reject_request(), pb::RejectDraftRequest => check_reject;
    sign_requests: sign_request(), pb::SignReplyRequest => check_sign;
    issue_requests: issue_request(), pb::IssueReplyRequest => check_issue;
    copy_requests: copy_request(), pb::CopyReplyRequest => check_copy;
    refuse_requests: refuse_request(), pb::RefuseProposalRequest => check_refuse;
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
    // Whether a record succeeds depends on the handling as well as the state (one receipt, one
    // pending extension): the model test and tests/handling.rs judge those.
    if matches!(
        command,
        Command::Acknowledge { .. }
            | Command::Contact { .. }
            | Command::RequestExtension { .. }
            | Command::DecideExtension { .. }
            | Command::RequestReturn { .. }
            | Command::DecideReturn { .. }
            | Command::SubmitOpinion { .. }
            // A merge needs the proposal merged into: tests/merge.rs.
            | Command::Merge { .. }
            | Command::Join { .. }
            | Command::RecordFeedback { .. }
            | Command::Close { .. }
            | Command::Reopen { .. }
            | Command::SetKey { .. }
    ) {
        return Ok(());
    }
    // A reply naming its unit depends on the handlings too (split units: tests/split.rs).
    if command.handling_unit().is_some_and(|unit| !unit.is_empty()) {
        return Ok(());
    }
    let states = std::iter::once(None).chain(ProposalState::ALL.into_iter().map(Some));
    for state in states {
        let given = given_proposal(state.map(proposal_in));
        let mut envelope = given.envelope(&submission.actor);
        envelope.effective_date = submission.effective_date;
        // The kit decides at 100 ns after the epoch: a later effective date is in the future,
        // which is refused whatever the state (a bad argument before a failed precondition).
        let today = Rules::default().date_at(envelope.occurred_at.unix_nanos());
        let then = given.when(command, envelope);
        // D is a code only some rules allow; the default rules' are A, B and C.
        if let Command::Draft { reply, .. } = command
            && reply.result_code == ResultCode::D
        {
            let expected = DomainError::Invalid(vec![FieldViolation::new(
                "reply.result_code",
                "is D, which the rules do not allow (allowed: A, B, C)",
            )]);
            then.then_error(&expected).map_err(TestCaseError::fail)?;
            continue;
        }
        if let Some(date) = submission.effective_date
            && date > today
        {
            let expected = DomainError::EffectiveDate(EffectiveDateError::InFuture { date, today });
            then.then_error(&expected).map_err(TestCaseError::fail)?;
            continue;
        }
        let Some(to) = domain::next(command.kind(), state) else {
            then.then_invalid_transition()
                .map_err(TestCaseError::fail)?;
            continue;
        };
        // A leader cannot have signed after the act that records the signature.
        if let Command::Sign {
            sign_date: Some(day),
            ..
        } = command
        {
            let date = submission.effective_date.unwrap_or(today);
            if *day > date {
                let expected = DomainError::Invalid(vec![FieldViolation::new(
                    "sign_date",
                    format!("is after the act's effective date, {date}"),
                )]);
                then.then_error(&expected).map_err(TestCaseError::fail)?;
                continue;
            }
        }
        let Decision { event, after } = then.then_recorded(to).map_err(TestCaseError::fail)?;
        match command {
            Command::Receive(r) => {
                let Registration {
                    committee,
                    session,
                    number,
                    title,
                    proposers,
                    content,
                    proposer_kind,
                } = r;
                prop_assert_eq!(after.proposer_kind, *proposer_kind);
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
                co_units,
                co_due_date: _,
                split_units: _,
            } => {
                prop_assert_eq!(after.handling_unit.as_ref(), Some(handling_unit));
                let co: Vec<&String> = after.handlings[1..].iter().map(|h| &h.unit).collect();
                prop_assert_eq!(co, co_units.iter().collect::<Vec<_>>());
                // Without a due date, the rules' months after the act's date.
                let by_rules = event.effective_date.map(|d| Rules::default().due_date(d));
                prop_assert_eq!(after.due_date, due_date.or(by_rules));
            }
            Command::Return { .. } => {
                prop_assert_eq!((&after.handling_unit, after.due_date), (&None, None));
            }
            Command::Draft { reply, .. } => prop_assert_eq!(after.reply.as_ref(), Some(reply)),
            Command::RejectDraft { .. } => prop_assert_eq!(&after.reply, &None),
            Command::Sign {
                signer, sign_date, ..
            } => {
                prop_assert_eq!(after.signer.as_ref(), Some(signer));
                // By default, the act's own date.
                prop_assert_eq!(after.sign_date, sign_date.or(event.effective_date));
            }
            Command::Issue {
                document_number,
                issue_date,
                issuing_office,
                ..
            } => {
                prop_assert_eq!(after.document_number.as_ref(), Some(document_number));
                prop_assert_eq!(after.issue_date, Some(*issue_date));
                prop_assert_eq!(after.issuing_office.as_ref(), Some(issuing_office));
            }
            Command::Copy { recipients, .. } => {
                // By default, to the document's 抄送 line; the given No. 228 has a co-unit:
                // the lead's copies go to it too. Every proposer is served.
                let mut expected = if recipients.is_empty() {
                    state
                        .map(proposal_in)
                        .map(|p| p.copy_to)
                        .unwrap_or_default()
                } else {
                    recipients.clone()
                };
                if !expected.iter().any(|r| r == CO_UNIT) {
                    expected.push(CO_UNIT.into());
                }
                prop_assert_eq!(&after.copied_to, &expected)
            }
            Command::Refuse {
                reason,
                forwarded_to,
            } => {
                let refusal = after.refusal.as_ref().expect("a refused proposal says why");
                prop_assert_eq!(
                    (&refusal.reason, &refusal.forwarded_to),
                    (reason, forwarded_to)
                );
            }
            Command::Acknowledge { .. }
            | Command::Contact { .. }
            | Command::RequestExtension { .. }
            | Command::DecideExtension { .. }
            | Command::RequestReturn { .. }
            | Command::DecideReturn { .. }
            | Command::SubmitOpinion { .. }
            | Command::Merge { .. }
            | Command::Join { .. }
            | Command::RecordFeedback { .. }
            | Command::Close { .. }
            | Command::Reopen { .. }
            | Command::SetKey { .. } => unreachable!("returned above"),
        }
    }
    Ok(())
}

fn check_receive(r: pb::ReceiveProposalRequest) -> Result<(), TestCaseError> {
    let fields = [
        Field::Line("committee", &r.committee, 200, Limits::NAME_CHARS),
        Field::Line("session", &r.session, 200, Limits::NAME_CHARS),
        Field::Line("title", &r.title, 500, Limits::TITLE_CHARS),
        Field::Names("proposers", &r.proposers, 100, Limits::MAX_PROPOSERS),
        Field::Text("content", &r.content, 100_000, Limits::TEXT_CHARS),
    ];
    let mut p = Problems::default();
    if r.number == 0 {
        p.add("number");
    }
    // 0 (unset) and 1 are members; 2 to 5 the collectives, in the proto's order.
    let kind = match r.proposer_kind {
        0 | 1 => Some(ProposerKind::Member),
        2 => Some(ProposerKind::Party),
        3 => Some(ProposerKind::Group),
        4 => Some(ProposerKind::Sector),
        5 => Some(ProposerKind::Committee),
        _ => {
            p.add("proposer_kind");
            None
        }
    };
    check_request(r.clone(), &fields, p, |command| {
        let Command::Receive(reg) = command else {
            return Err(became(command));
        };
        prop_assert_eq!(Some(reg.proposer_kind), kind);
        prop_assert_eq!(
            (&reg.committee, &reg.session, reg.number),
            (&r.committee, &r.session, r.number)
        );
        prop_assert_eq!(
            (&reg.title, &reg.proposers, &reg.content),
            (&r.title, &r.proposers, &r.content)
        );
        prop_assert!(reg.number >= 1);
        Ok(())
    })
}

fn check_assign(r: pb::AssignProposalRequest) -> Result<(), TestCaseError> {
    let fields = [
        Field::Line("handling_unit", &r.handling_unit, 200, Limits::NAME_CHARS),
        Field::OptionalNames("co_units", &r.co_units, 100, Limits::MAX_CO_UNITS),
        Field::OptionalNames("split_units", &r.split_units, 100, Limits::MAX_SPLIT_UNITS),
    ];
    let mut p = Problems::default();
    if !r.due_date.is_empty() && !date_ok(&r.due_date) {
        p.add("due_date");
    }
    // What the units' lists must not be: the lead among its co-units, the replying unit among
    // the split units, both lists at once; and co-units' opinions are due only with co-units,
    // by a real date not after the reply's.
    if let Some(i) = r.co_units.iter().position(|u| *u == r.handling_unit) {
        p.add(&format!("co_units[{i}]"));
    }
    if !r.split_units.is_empty() {
        if let Some(i) = r.split_units.iter().position(|u| *u == r.handling_unit) {
            p.add(&format!("split_units[{i}]"));
        }
        if !r.co_units.is_empty() {
            p.add("split_units");
        }
    }
    let co_due_wrong = !date_ok(&r.co_due_date)
        || r.co_units.is_empty()
        || (date_ok(&r.due_date) && r.co_due_date > r.due_date);
    if !r.co_due_date.is_empty() && co_due_wrong {
        p.add("co_due_date");
    }
    check_request(r.clone(), &fields, p, |command| {
        let Command::Assign {
            handling_unit,
            due_date,
            co_units,
            co_due_date: _,
            split_units,
        } = command
        else {
            return Err(became(command));
        };
        prop_assert_eq!(handling_unit, &r.handling_unit);
        prop_assert_eq!(co_units, &r.co_units);
        prop_assert_eq!(split_units, &r.split_units);
        match due_date {
            None => {
                prop_assert_eq!(&r.due_date, "");
                Ok(())
            }
            Some(date) => assert_date("due_date", &r.due_date, *date),
        }
    })
}

fn check_return(r: pb::ReturnProposalRequest) -> Result<(), TestCaseError> {
    let field = Field::Text("reason", &r.reason, 5_000, Limits::REASON_CHARS);
    let reason = r.reason.clone();
    check_one_field(r.clone(), field, Command::Return { reason })
}

fn check_draft(r: pb::DraftReplyRequest) -> Result<(), TestCaseError> {
    let mut p = Problems::default();
    let given = r.reply.clone().unwrap_or_else(|| {
        p.add("reply");
        pb::Reply::default()
    });
    if !(1..=4).contains(&given.result_code) {
        p.add("reply.result_code");
    }
    let fields = [
        Field::Text("reply.body", &given.body, 100_000, Limits::TEXT_CHARS),
        Field::OptionalLine(
            "reply.contact_unit",
            &given.contact_unit,
            200,
            Limits::NAME_CHARS,
        ),
        Field::OptionalLine(
            "reply.contact_phone",
            &given.contact_phone,
            50,
            Limits::PHONE_CHARS,
        ),
        Field::OptionalLine("handling_unit", &r.handling_unit, 200, Limits::NAME_CHARS),
    ];
    check_request(r.clone(), &fields, p, |command| {
        let Command::Draft {
            reply,
            handling_unit,
        } = command
        else {
            return Err(became(command));
        };
        prop_assert_eq!(handling_unit, &r.handling_unit);
        let code = match reply.result_code {
            ResultCode::A => 1,
            ResultCode::B => 2,
            ResultCode::C => 3,
            ResultCode::D => 4,
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
        Ok(())
    })
}

fn check_reject(r: pb::RejectDraftRequest) -> Result<(), TestCaseError> {
    let fields = [
        Field::Text("reason", &r.reason, 5_000, Limits::REASON_CHARS),
        Field::OptionalLine("handling_unit", &r.handling_unit, 200, Limits::NAME_CHARS),
    ];
    let expected = Command::RejectDraft {
        reason: r.reason.clone(),
        handling_unit: r.handling_unit.clone(),
    };
    check_fields(r.clone(), &fields, expected)
}

fn check_sign(r: pb::SignReplyRequest) -> Result<(), TestCaseError> {
    let fields = [
        Field::Line("signer", &r.signer, 200, Limits::NAME_CHARS),
        Field::OptionalLine("handling_unit", &r.handling_unit, 200, Limits::NAME_CHARS),
    ];
    let mut p = Problems::default();
    if !r.sign_date.is_empty() && !date_ok(&r.sign_date) {
        p.add("sign_date");
    }
    check_request(r.clone(), &fields, p, |command| {
        let Command::Sign {
            signer,
            handling_unit,
            sign_date,
        } = command
        else {
            return Err(became(command));
        };
        prop_assert_eq!((signer, handling_unit), (&r.signer, &r.handling_unit));
        match sign_date {
            None => prop_assert_eq!(&r.sign_date, ""),
            Some(day) => assert_date("sign_date", &r.sign_date, *day)?,
        }
        Ok(())
    })
}

fn check_issue(r: pb::IssueReplyRequest) -> Result<(), TestCaseError> {
    let fields = [
        Field::Line(
            "document_number",
            &r.document_number,
            100,
            Limits::DOCUMENT_NUMBER_CHARS,
        ),
        Field::Line("issuing_office", &r.issuing_office, 200, Limits::NAME_CHARS),
        Field::OptionalLine("handling_unit", &r.handling_unit, 200, Limits::NAME_CHARS),
        Field::OptionalNames("copy_to", &r.copy_to, 100, Limits::MAX_RECIPIENTS),
    ];
    let mut p = Problems::default();
    if !date_ok(&r.issue_date) {
        p.add("issue_date");
    }
    check_request(r.clone(), &fields, p, |command| {
        let Command::Issue {
            document_number,
            issue_date,
            issuing_office,
            handling_unit,
            copy_to,
            public,
        } = command
        else {
            return Err(became(command));
        };
        prop_assert_eq!(handling_unit, &r.handling_unit);
        prop_assert_eq!((copy_to, public), (&r.copy_to, &r.public));
        prop_assert_eq!(
            (document_number, issuing_office),
            (&r.document_number, &r.issuing_office)
        );
        assert_date("issue_date", &r.issue_date, *issue_date)
    })
}

fn check_copy(r: pb::CopyReplyRequest) -> Result<(), TestCaseError> {
    let fields = [
        Field::OptionalNames("recipients", &r.recipients, 100, Limits::MAX_RECIPIENTS),
        Field::OptionalLine("handling_unit", &r.handling_unit, 200, Limits::NAME_CHARS),
    ];
    let expected = Command::Copy {
        recipients: r.recipients.clone(),
        handling_unit: r.handling_unit.clone(),
        proposers: Vec::new(),
    };
    check_fields(r.clone(), &fields, expected)
}

fn check_refuse(r: pb::RefuseProposalRequest) -> Result<(), TestCaseError> {
    let fields = [
        Field::Text("reason", &r.reason, 5_000, Limits::REASON_CHARS),
        Field::OptionalLine("forwarded_to", &r.forwarded_to, 200, Limits::NAME_CHARS),
    ];
    let expected = Command::Refuse {
        reason: r.reason.clone(),
        forwarded_to: r.forwarded_to.clone(),
    };
    check_request(r.clone(), &fields, Problems::default(), |command| {
        prop_assert_eq!(command, &expected);
        Ok(())
    })
}

/// A field of a request, `(name, value, maximum, limit)`: the oracle judges it by the proto's
/// documented `maximum` (characters, or entries of a list) before conversion, and once accepted
/// it must respect its `limit` in `Limits`.
enum Field<'a> {
    Line(&'static str, &'a str, usize, usize),
    /// Empty, or a line.
    OptionalLine(&'static str, &'a str, usize, usize),
    /// Like a line, but tabs and line breaks are allowed.
    Text(&'static str, &'a str, usize, usize),
    /// One to `maximum` distinct names.
    Names(&'static str, &'a [String], usize, usize),
    /// None, or as `Names`.
    OptionalNames(&'static str, &'a [String], usize, usize),
}

impl Field<'_> {
    /// Adds what the oracle finds wrong with the field to `problems`.
    fn judge(&self, problems: &mut Problems) {
        match *self {
            Field::Line(name, value, max, _) => problems.line(name, value, max),
            Field::OptionalLine(name, value, max, _) => problems.optional_line(name, value, max),
            Field::Text(name, value, max, _) => problems.text(name, value, max),
            Field::Names(name, values, max, _) => problems.names(name, values, max),
            Field::OptionalNames(_, [], _, _) => {}
            Field::OptionalNames(name, values, max, _) => problems.names(name, values, max),
        }
    }

    /// Checks the accepted field against its limit.
    fn within_limit(&self) -> Result<(), TestCaseError> {
        match *self {
            Field::Line(name, value, _, limit) => assert_line(name, value, limit),
            Field::OptionalLine(_, "", _, _) => Ok(()),
            Field::OptionalLine(name, value, _, limit) => assert_line(name, value, limit),
            Field::Text(name, value, _, limit) => assert_text(name, value, limit),
            Field::Names(name, values, _, limit) => assert_names(name, values, limit),
            Field::OptionalNames(_, [], _, _) => Ok(()),
            Field::OptionalNames(name, values, _, limit) => assert_names(name, values, limit),
        }
    }
}

/// Checks one request: the conversion's outcome is what the oracle predicts from the envelope,
/// `fields` and the command's other `problems`; an accepted submission carries the envelope
/// unchanged, its command passes `check_command`, its fields respect their limits, and it goes
/// through `decide`.
fn check_request<R>(
    request: R,
    fields: &[Field],
    mut problems: Problems,
    check_command: impl FnOnce(&Command) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError>
where
    R: Clone + std::fmt::Debug + Into<CommandRequest>,
    Submission: TryFrom<R, Error = AppError>,
{
    let sent: CommandRequest = request.clone().into();
    if let Some(id) = sent.proposal_id() {
        problems.proposal_id(id);
    }
    problems.envelope(sent.actor(), sent.request_id());
    let effective_date = sent.effective_date();
    if !effective_date.is_empty() && !date_ok(effective_date) {
        problems.add("effective_date");
    }
    for field in fields {
        field.judge(&mut problems);
    }
    let Some(s) = converted(request, problems, Submission::try_from)? else {
        return Ok(());
    };
    let (id, version) = (sent.proposal_id(), sent.expected_version());
    assert_envelope(&s, id, version, sent.request_id(), sent.actor())?;
    match s.effective_date {
        None => prop_assert_eq!(effective_date, ""),
        Some(date) => assert_date("effective_date", effective_date, date)?,
    }
    check_command(&s.command)?;
    for field in fields {
        field.within_limit()?;
    }
    check_decide(&s)
}

/// Checks a request whose command has one field, `field`: accepted, it must be `expected`.
fn check_one_field<R>(request: R, field: Field, expected: Command) -> Result<(), TestCaseError>
where
    R: Clone + std::fmt::Debug + Into<CommandRequest>,
    Submission: TryFrom<R, Error = AppError>,
{
    check_request(request, &[field], Problems::default(), |command| {
        prop_assert_eq!(command, &expected);
        Ok(())
    })
}

/// Checks a request whose command is exactly its `fields`: accepted, it must be `expected`.
fn check_fields<R>(request: R, fields: &[Field], expected: Command) -> Result<(), TestCaseError>
where
    R: Clone + std::fmt::Debug + Into<CommandRequest>,
    Submission: TryFrom<R, Error = AppError>,
{
    check_request(request, fields, Problems::default(), |command| {
        prop_assert_eq!(command, &expected);
        Ok(())
    })
}

/// The failure of a request converted to another command than its own.
fn became(command: &Command) -> TestCaseError {
    TestCaseError::fail(format!("became {command:?}"))
}

/// Defines one property per `name: strategy, message => check` row (the strategy's requests
/// through `check`), and `arbitrary_bytes_as_every_request`. Invoked by path at the top of the
/// file, so the tests come first.
macro_rules! request_properties {
    ($($name:ident: $strategy:ident(), $message:ty => $check:ident;)*) => {
        proptest! {
            #![proptest_config(config(256, file!()))]

            $(
                #[test]
                fn $name(r in $strategy()) {
                    $check(r)?;
                }
            )*

            /// Arbitrary bytes decoded as each request message: whatever decodes goes through
            /// the same conversion, oracle and `decide`.
            #[test]
            fn arbitrary_bytes_as_every_request(bytes in bytes()) {
                $(
                    if let Ok(r) = <$message>::decode(bytes.as_slice()) {
                        $check(r)?;
                    }
                )*
            }
        }
    };
}
use request_properties;
