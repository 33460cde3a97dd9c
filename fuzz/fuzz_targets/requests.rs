//! Arbitrary bytes → a protobuf request → its conversion to a domain `Submission` → `decide`
//! against no proposal and a proposal in every state, led with a co-unit (主办/会办) and split
//! between two units (分办) → `apply` of what was decided, and the history check
//! (`check_recorded`) accepts what `decide` recorded.
//!
//! The first byte picks the request type; the rest is decoded as that message (an assignment's
//! `split_units`, a reply command's `handling_unit` included). Nothing may panic, whatever the
//! conversion accepts must respect the documented limits (`src/domain/limits.rs`), and a split
//! proposal stands where its least advanced unit does.

#![no_main]

use libfuzzer_sys::fuzz_target;
use proposal_service::app::Submission;
use proposal_service::domain::{
    CalendarDate, Command, Decision, DomainError, EVENT_SCHEMA_VERSION, EffectiveDateError,
    Envelope, EventData, Handling, HandlingRole, Limits, Proposal, ProposalId, ProposalState,
    ProposerKind, Rules, SplitReply, Timestamp, apply, check_recorded, decide, examples,
    transition,
};
use proposal_service::pb;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let converted = match selector % 21 {
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
        16 => pb::RecordFeedbackRequest::decode(bytes).map(Submission::try_from),
        17 => pb::CloseProposalRequest::decode(bytes).map(Submission::try_from),
        18 => pb::SetKeyProposalRequest::decode(bytes).map(Submission::try_from),
        19 => pb::ReopenProposalRequest::decode(bytes).map(Submission::try_from),
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
    // A command naming a unit (a reply's, or a unit's record) may name none that fits.
    let names_unit = submission
        .command
        .handling_unit()
        .is_some_and(|unit| !unit.is_empty());
    let states = std::iter::once(None).chain(ProposalState::ALL.into_iter().map(Some));
    for state in states {
        let before = state.map(examples::proposal_in);
        decide_on(&submission, state, before, is_record, names_unit);
        // The same proposal split between two units, while it is handled.
        if let Some(split) = state.and_then(split_in) {
            decide_on(&submission, state, Some(split), is_record, names_unit);
        }
    }
});

/// No. 228 split (分办) between its unit, standing in `state`, and [`examples::SPLIT_UNIT`], a
/// step further along (as far as COPIED; in step while ASSIGNED, so that the office may still
/// withdraw it): the proposal stands where the first does and holds no reply of its own.
/// `None` for a state no split proposal is in.
fn split_in(state: ProposalState) -> Option<Proposal> {
    use ProposalState as S;
    let further = match state {
        S::Assigned => S::Assigned,
        S::Drafted => S::Signed,
        S::Signed => S::Issued,
        S::Issued | S::Copied => S::Copied,
        S::Received | S::NotAccepted | S::Merged | S::Closed => return None,
    };
    let mut p = examples::proposal_in(state);
    let lead = p.handlings.swap_remove(0);
    let part = |state: ProposalState| {
        let drafted = state != S::Assigned;
        let issued = matches!(state, S::Issued | S::Copied);
        Box::new(SplitReply {
            state,
            reply: drafted.then(|| p.reply.clone()).flatten(),
            signer: (drafted && state != S::Drafted)
                .then(|| p.signer.clone())
                .flatten(),
            document_number: issued.then(|| p.document_number.clone()).flatten(),
            issue_date: issued.then_some(p.issue_date).flatten(),
            issuing_office: issued.then(|| p.issuing_office.clone()).flatten(),
            sign_date: (drafted && state != S::Drafted)
                .then_some(p.sign_date)
                .flatten(),
            copy_to: if issued {
                p.copy_to.clone()
            } else {
                Vec::new()
            },
            public: issued && p.public,
            copied_to: if state == S::Copied {
                p.copied_to.clone()
            } else {
                Vec::new()
            },
        })
    };
    let first = Handling {
        role: HandlingRole::Split,
        split: Some(part(state)),
        ..lead
    };
    let mut second = Handling::new(
        examples::SPLIT_UNIT.into(),
        HandlingRole::Split,
        first.assigned_on,
        first.due_date,
    );
    second.split = Some(part(further));
    // Each unit's document is its own.
    if let Some(number) = second
        .split
        .as_mut()
        .and_then(|p| p.document_number.as_mut())
    {
        number.push_str("之二");
    }
    p.handlings = vec![first, second];
    p.reply = None;
    p.signer = None;
    p.document_number = None;
    p.issue_date = None;
    p.issuing_office = None;
    p.copied_to = Vec::new();
    assert_eq!(p.split_state(), Some(state));
    Some(p)
}

/// Decides the submission on `before` (in `state`, `None`: not received) and checks what comes
/// of it. What the proposal holds may refuse a record (`is_record`), and a command that names a
/// unit (`names_unit`) may name none of its units, or one that does not reply.
fn decide_on(
    submission: &Submission,
    state: Option<ProposalState>,
    before: Option<Proposal>,
    is_record: bool,
    names_unit: bool,
) {
    let split = before.as_ref().is_some_and(Proposal::is_split);
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
        Ok(Decision { event, after }) if split => {
            // 分办: the proposal stands where its least advanced unit does, and holds no reply.
            assert_eq!(event.from_state, state);
            assert_eq!(event.to_state, after.state);
            assert_eq!(
                after.state,
                after.split_state().unwrap_or(ProposalState::Received)
            );
            assert!(after.reply.is_none() && after.signer.is_none());
            assert!(after.document_number.is_none() && after.copied_to.is_empty());
            // A command on the reply moved its unit's handling as the lifecycle table says.
            let unit = match &event.data {
                EventData::ReplyDrafted { handling_unit, .. }
                | EventData::DraftRejected { handling_unit, .. }
                | EventData::ReplySigned { handling_unit, .. }
                | EventData::ReplyIssued { handling_unit, .. }
                | EventData::ReplyCopied { handling_unit, .. } => Some(handling_unit),
                _ => None,
            };
            if let Some(unit) = unit {
                let part = |p: &Proposal| {
                    p.handling(unit)
                        .and_then(|h| h.split.as_deref())
                        .map(|part| part.state)
                        .expect("a split unit's reply names its split handling")
                };
                let was = part(before.as_ref().expect("handled"));
                assert_eq!(
                    Some(part(&after)),
                    transition(submission.command.kind(), Some(was))
                );
            }
            assert_eq!(after, apply(before.clone(), &event));
            assert_eq!(after.version, event.sequence);
            assert_eq!(check_recorded(before.as_ref(), &event), Ok(()));
        }
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
            // The one replying unit's reply is the proposal's: its events name no unit.
            if let EventData::ReplyDrafted { handling_unit, .. }
            | EventData::DraftRejected { handling_unit, .. }
            | EventData::ReplySigned { handling_unit, .. }
            | EventData::ReplyIssued { handling_unit, .. }
            | EventData::ReplyCopied { handling_unit, .. } = &event.data
            {
                assert!(
                    handling_unit.is_empty(),
                    "a lead's reply recorded as {handling_unit}'s"
                );
            }
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
        // an extension's date; and what the handling holds may refuse it. A unit named may
        // be none of the proposal's, or not one that replies.
        Err(DomainError::Invalid(_)) if is_record => {}
        Err(DomainError::Precondition(_)) if is_record || names_unit => {}
        // A split proposal's reply is one unit's: which one must be said.
        Err(DomainError::Precondition(p)) if split && p.reason() == "HANDLING_UNIT_REQUIRED" => {}
        Err(DomainError::Invalid(v)) => {
            panic!("decide refused fields the conversion accepted: {v:?}")
        }
        Err(DomainError::Precondition(p)) => {
            panic!("the default rules refused a move the lifecycle allows: {p}")
        }
    }
}

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
            split_units,
        } => {
            line("handling_unit", handling_unit, Limits::NAME_CHARS);
            if !co_units.is_empty() {
                names("co_units", co_units, Limits::MAX_CO_UNITS);
                assert!(!co_units.contains(handling_unit), "the lead as a co-unit");
            }
            if !split_units.is_empty() {
                names("split_units", split_units, Limits::MAX_SPLIT_UNITS);
                assert!(
                    !split_units.contains(handling_unit),
                    "handling_unit split again"
                );
                assert!(co_units.is_empty(), "split units beside co-units");
            }
            assert!(
                co_due_date.is_none() || !co_units.is_empty(),
                "a co date without co-units"
            );
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
        Command::RecordFeedback { feedback } => {
            line("proposer", &feedback.proposer, Limits::NAME_CHARS);
            if !feedback.comment.is_empty() {
                text("comment", &feedback.comment, Limits::REASON_CHARS);
            }
        }
        Command::Close { note } => {
            if !note.is_empty() {
                text("note", note, Limits::REASON_CHARS);
            }
        }
        Command::Reopen {
            reason,
            due_date: _,
        } => text("reason", reason, Limits::REASON_CHARS),
        Command::SetKey {
            key,
            supervisor,
            note,
        } => {
            optional_line("supervisor", supervisor, Limits::NAME_CHARS);
            assert!(*key || supervisor.is_empty(), "a supervisor only with key");
            if !note.is_empty() {
                text("note", note, Limits::REASON_CHARS);
            }
        }
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
            line(
                "contact_person",
                &opinion.contact_person,
                Limits::NAME_CHARS,
            );
            line("contact_phone", &opinion.contact_phone, Limits::PHONE_CHARS);
        }
        Command::Return { reason } => text("reason", reason, Limits::REASON_CHARS),
        Command::RejectDraft {
            reason,
            handling_unit,
        } => {
            text("reason", reason, Limits::REASON_CHARS);
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
        }
        Command::Draft {
            reply,
            handling_unit,
        } => {
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
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
        Command::Sign {
            signer,
            handling_unit,
            sign_date: _,
        } => {
            line("signer", signer, Limits::NAME_CHARS);
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
        }
        Command::Issue {
            document_number,
            issue_date,
            issuing_office,
            handling_unit,
            copy_to,
            public: _,
        } => {
            if !copy_to.is_empty() {
                names("copy_to", copy_to, Limits::MAX_RECIPIENTS);
            }
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
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
        Command::Copy {
            recipients,
            handling_unit,
            proposers,
        } => {
            assert!(
                proposers.is_empty(),
                "callers never name the proposers served"
            );
            if !recipients.is_empty() {
                names("recipients", recipients, Limits::MAX_RECIPIENTS);
            }
            optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
        }
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
            assert!(
                due_date.is_none() || !reassign_to.is_empty(),
                "a due date without a unit"
            );
        }
    }
    if let Some(date) = s.effective_date {
        assert_eq!(CalendarDate::parse(&date.to_string()), Some(date));
    }
}
