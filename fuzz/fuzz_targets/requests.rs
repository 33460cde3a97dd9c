//! Arbitrary bytes → a protobuf request → its conversion to a domain `Submission` → `decide`
//! against no proposal and a proposal in every state → `apply` of what was decided, and the
//! history check (`check_recorded`) accepts what `decide` recorded.
//!
//! The first byte picks the request type; the rest is decoded as that message. Nothing may
//! panic, and whatever the conversion accepts must respect the documented limits
//! (`src/domain/limits.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use proposal_service::app::Submission;
use proposal_service::domain::{
    CalendarDate, Command, Decision, DomainError, EVENT_SCHEMA_VERSION, EffectiveDateError, Envelope, Limits,
    ProposalId, ProposalState, ProposerKind, Rules, Timestamp, apply, check_recorded, decide,
    examples, transition,
};
use proposal_service::pb;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let converted = match selector % 17 {
        0 => pb::ReceiveProposalRequest::decode(bytes).map(Submission::try_from),
        1 => pb::AssignProposalRequest::decode(bytes).map(Submission::try_from),
        2 => pb::ReturnProposalRequest::decode(bytes).map(Submission::try_from),
        3 => pb::DraftReplyRequest::decode(bytes).map(Submission::try_from),
        4 => pb::RejectDraftRequest::decode(bytes).map(Submission::try_from),
        5 => pb::SignReplyRequest::decode(bytes).map(Submission::try_from),
        6 => pb::IssueReplyRequest::decode(bytes).map(Submission::try_from),
        7 => pb::CopyReplyRequest::decode(bytes).map(Submission::try_from),
        8 => pb::RefuseProposalRequest::decode(bytes).map(Submission::try_from),
        9 => pb::AcknowledgeAssignmentRequest::decode(bytes).map(Submission::try_from),
        10 => pb::RecordContactRequest::decode(bytes).map(Submission::try_from),
        11 => pb::RequestExtensionRequest::decode(bytes).map(Submission::try_from),
        12 => pb::DecideExtensionRequest::decode(bytes).map(Submission::try_from),
        13 => pb::RequestReturnRequest::decode(bytes).map(Submission::try_from),
        14 => pb::DecideReturnRequest::decode(bytes).map(Submission::try_from),
        15 => pb::SubmitOpinionRequest::decode(bytes).map(Submission::try_from),
        _ => pb::MergeProposalRequest::decode(bytes).map(Submission::try_from),
    };
    let Ok(Ok(submission)) = converted else {
        return;
    };
    respects_limits(&submission);
    // Records, and co-units' due dates, are checked against the proposal too.
    let is_record = matches!(
        submission.command,
        Command::Acknowledge { .. }
            | Command::Contact { .. }
            | Command::RequestExtension { .. }
            | Command::DecideExtension { .. }
            | Command::RequestReturn { .. }
            | Command::DecideReturn { .. }
            | Command::SubmitOpinion { .. }
            // A merge into the proposal itself is refused (the other side is the writer's).
            | Command::Merge { .. }
            | Command::Assign {
                co_due_date: Some(_),
                ..
            }
    );
    let states = std::iter::once(None).chain(ProposalState::ALL.into_iter().map(Some));
    for state in states {
        let before = state.map(examples::proposal_in);
        let envelope = Envelope {
            proposal_id: before
                .as_ref()
                .map_or(ProposalId::from_bytes([8; 16]), |p| p.id),
            position: 100,
            // 2019-09-29 in Shanghai, the day No. 228's history ends: an effective date after
            // it is in the future, and any date may follow the example's undated history.
            occurred_at: Timestamp::from_unix_nanos(1_569_715_200_000_000_000),
            effective_date: submission.effective_date,
            actor: submission.actor.clone(),
            request_id: None,
        };
        let rules = Rules::default();
        match decide(before.as_ref(), &submission.command, envelope, &rules) {
            Ok(Decision { event, after }) => {
                let allowed_in = transition(submission.command.kind(), state)
                    .expect("decide accepted a move the lifecycle table lacks");
                // An approved return without a reassignment goes back to RECEIVED.
                let to_state = match &submission.command {
                    Command::DecideReturn {
                        approve: true,
                        reassign_to,
                        ..
                    } if reassign_to.is_empty() => ProposalState::Received,
                    _ => allowed_in,
                };
                assert_eq!((event.from_state, event.to_state), (state, to_state));
                assert_eq!(event.schema, EVENT_SCHEMA_VERSION);
                assert_eq!(after, apply(before.clone(), &event));
                assert_eq!((after.state, after.version), (to_state, event.sequence));
                assert_eq!(check_recorded(before.as_ref(), &event), Ok(()));
            }
            Err(DomainError::InvalidTransition { .. }) => {}
            Err(DomainError::EffectiveDate(EffectiveDateError::InFuture { date, today })) => {
                assert_eq!(Some(date), submission.effective_date);
                assert!(date > today);
            }
            Err(DomainError::EffectiveDate(EffectiveDateError::BeforePreviousAct { .. })) => {
                panic!("the example's history is undated: any date may follow it")
            }
            // A record is checked against the handling too: a contact's proposers and date,
            // an extension's date; and what the handling holds may refuse it.
            Err(DomainError::Invalid(_) | DomainError::Precondition(_)) if is_record => {}
            Err(DomainError::Invalid(v)) => {
                panic!("decide refused fields the conversion accepted: {v:?}")
            }
            Err(DomainError::Precondition(p)) => {
                panic!("the default rules refused a move the lifecycle allows: {p}")
            }
        }
    }
});

fn line(field: &str, value: &str, max: usize) {
    assert!(!value.trim().is_empty(), "{field} accepted blank");
    assert!(value.chars().count() <= max, "{field} accepted too long");
    assert!(
        !value.chars().any(char::is_control),
        "{field} accepted with a control character"
    );
}

fn optional_line(field: &str, value: &str, max: usize) {
    if !value.is_empty() {
        line(field, value, max);
    }
}

fn text(field: &str, value: &str, max: usize) {
    assert!(!value.trim().is_empty(), "{field} accepted blank");
    assert!(value.chars().count() <= max, "{field} accepted too long");
    assert!(
        !value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')),
        "{field} accepted with a control character"
    );
}

fn names(field: &str, values: &[String], max: usize) {
    assert!(
        (1..=max).contains(&values.len()),
        "{field}: {} entries",
        values.len()
    );
    for (i, value) in values.iter().enumerate() {
        line(field, value, Limits::NAME_CHARS);
        assert!(!values[..i].contains(value), "{field} accepted a repeat");
    }
}

fn respects_limits(s: &Submission) {
    line("actor", &s.actor, Limits::NAME_CHARS);
    if let Some(key) = &s.request_id {
        line("request_id", key.as_str(), Limits::REQUEST_ID_CHARS);
    }
    assert_eq!(
        s.proposal_id.is_none(),
        matches!(s.command, Command::Receive(_)),
        "only ReceiveProposal has no proposal id"
    );
    match &s.command {
        Command::Receive(r) => {
            line("committee", &r.committee, Limits::NAME_CHARS);
            line("session", &r.session, Limits::NAME_CHARS);
            assert!(r.number >= 1, "number 0 accepted");
            line("title", &r.title, Limits::TITLE_CHARS);
            names("proposers", &r.proposers, Limits::MAX_PROPOSERS);
            text("content", &r.content, Limits::TEXT_CHARS);
            assert!(ProposerKind::ALL.contains(&r.proposer_kind));
        }
        Command::Assign {
            handling_unit,
            due_date,
            co_units,
            co_due_date,
        } => {
            line("handling_unit", handling_unit, Limits::NAME_CHARS);
            if !co_units.is_empty() {
                names("co_units", co_units, Limits::MAX_CO_UNITS);
                assert!(!co_units.contains(handling_unit), "the lead as a co-unit");
            }
            assert!(co_due_date.is_none() || !co_units.is_empty(), "a co date without co-units");
            if let (Some(co), Some(due)) = (co_due_date, due_date) {
                assert!(co <= due, "co-units due after the reply");
            }
        }
        Command::Merge {
            into_proposal_id: _,
            note,
        } => {
            if !note.is_empty() {
                text("note", note, Limits::REASON_CHARS);
            }
        }
        Command::Join { .. } => panic!("no request converts to a Join"),
        Command::SubmitOpinion {
            handling_unit,
            opinion,
        } => {
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
            text("body", &opinion.body, Limits::TEXT_CHARS);
            optional_line(
                "document_number",
                &opinion.document_number,
                Limits::DOCUMENT_NUMBER_CHARS,
            );
            line("contact_person", &opinion.contact_person, Limits::NAME_CHARS);
            line("contact_phone", &opinion.contact_phone, Limits::PHONE_CHARS);
        }
        Command::Return { reason } | Command::RejectDraft { reason } => {
            text("reason", reason, Limits::REASON_CHARS)
        }
        Command::Draft { reply } => {
            text("reply.body", &reply.body, Limits::TEXT_CHARS);
            optional_line(
                "reply.contact_unit",
                &reply.contact_unit,
                Limits::NAME_CHARS,
            );
            optional_line(
                "reply.contact_phone",
                &reply.contact_phone,
                Limits::PHONE_CHARS,
            );
        }
        Command::Sign { signer } => line("signer", signer, Limits::NAME_CHARS),
        Command::Issue {
            document_number,
            issue_date,
            issuing_office,
        } => {
            line(
                "document_number",
                document_number,
                Limits::DOCUMENT_NUMBER_CHARS,
            );
            line("issuing_office", issuing_office, Limits::NAME_CHARS);
            let text = issue_date.to_string();
            assert_eq!(
                CalendarDate::parse(&text),
                Some(*issue_date),
                "date round trip"
            );
        }
        Command::Copy { recipients } => names("recipients", recipients, Limits::MAX_RECIPIENTS),
        Command::Refuse {
            reason,
            forwarded_to,
        } => {
            text("reason", reason, Limits::REASON_CHARS);
            optional_line("forwarded_to", forwarded_to, Limits::NAME_CHARS);
        }
        Command::Acknowledge { handling_unit } => {
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS)
        }
        Command::Contact {
            handling_unit,
            contact_date: _,
            method: _,
            proposers,
            summary,
        } => {
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
            if !proposers.is_empty() {
                names("proposers", proposers, Limits::MAX_PROPOSERS);
            }
            text("summary", summary, Limits::REASON_CHARS);
        }
        Command::RequestExtension {
            handling_unit,
            new_due_date: _,
            reason,
        } => {
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
            text("reason", reason, Limits::REASON_CHARS);
        }
        Command::DecideExtension {
            handling_unit,
            approve: _,
            note,
        } => {
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
            if !note.is_empty() {
                text("note", note, Limits::REASON_CHARS);
            }
        }
        Command::RequestReturn {
            handling_unit,
            reason,
        } => {
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
            text("reason", reason, Limits::REASON_CHARS);
        }
        Command::DecideReturn {
            handling_unit,
            approve,
            note,
            reassign_to,
            due_date,
        } => {
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
            if !note.is_empty() {
                text("note", note, Limits::REASON_CHARS);
            }
            optional_line("reassign_to", reassign_to, Limits::NAME_CHARS);
            assert!(*approve || reassign_to.is_empty(), "a refusal reassigned");
            assert!(due_date.is_none() || !reassign_to.is_empty(), "a due date without a unit");
        }
    }
    if let Some(date) = s.effective_date {
        assert_eq!(CalendarDate::parse(&date.to_string()), Some(date));
    }
}
