//! `--json` output: the proto's messages as JSON values. Field names are the proto's own
//! (snake_case); enums are their full proto names (`PROPOSAL_STATE_ISSUED`, `RESULT_CODE_A`,
//! `EVENT_KIND_REPLY_ISSUED`), or the number for a value this build does not know; timestamps
//! are RFC 3339 strings in UTC (null when absent); 64-bit integers are plain numbers; every
//! field is present, empty or not. Each message is destructured field by field, so a field
//! added to the proto does not compile until it is mapped here.

use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use serde_json::{Value, json};

use crate::values::format_time;

pub fn proposal(proposal: &pb::Proposal) -> Value {
    let pb::Proposal {
        id,
        committee,
        session,
        number,
        title,
        proposers,
        content,
        state,
        handling_unit,
        reply: draft,
        signer,
        document_number,
        issue_date,
        issuing_office,
        copied_to,
        version,
        received_at,
        updated_at,
        due_date,
        proposer_kind,
        last_act_date,
        refusal,
        handlings,
        merged_into,
        merged_proposal_ids,
        sign_date,
        copy_to,
        public,
        key,
        feedback: verdicts,
        closed_date,
        closing_note,
        round,
        rounds,
    } = proposal;
    json!({
        "id": id,
        "committee": committee,
        "session": session,
        "number": number,
        "title": title,
        "proposers": proposers,
        "proposer_kind": proposer_kind_name(*proposer_kind),
        "content": content,
        "state": proposal_state(*state),
        "handling_unit": handling_unit,
        "due_date": due_date,
        "handlings": handlings.iter().map(handling).collect::<Vec<_>>(),
        "reply": draft.as_ref().map(reply),
        "signer": signer,
        "sign_date": sign_date,
        "document_number": document_number,
        "issue_date": issue_date,
        "issuing_office": issuing_office,
        "copy_to": copy_to,
        "public": public,
        "copied_to": copied_to,
        "key": key.as_ref().map(|pb::KeyProposal { supervisor, note, since_date }| {
            json!({ "supervisor": supervisor, "note": note, "since_date": since_date })
        }),
        "feedback": verdicts.iter().map(feedback).collect::<Vec<_>>(),
        "closed_date": closed_date,
        "closing_note": closing_note,
        "round": round,
        "rounds": rounds.iter().map(|pb::Round { round, replies, feedback: verdicts, reopened_date, reopen_reason }| {
            json!({
                "round": round,
                "replies": replies.iter().map(handling).collect::<Vec<_>>(),
                "feedback": verdicts.iter().map(feedback).collect::<Vec<_>>(),
                "reopened_date": reopened_date,
                "reopen_reason": reopen_reason,
            })
        }).collect::<Vec<_>>(),
        "merged_into": merged_into,
        "merged_proposal_ids": merged_proposal_ids,
        "refusal": refusal.as_ref().map(|pb::Refusal { reason, forwarded_to }| {
            json!({ "reason": reason, "forwarded_to": forwarded_to })
        }),
        "last_act_date": last_act_date,
        "version": version,
        "received_at": timestamp(received_at.as_ref()),
        "updated_at": timestamp(updated_at.as_ref()),
    })
}

/// One unit's part in handling a proposal, with its contacts, extension and return requests,
/// a co-unit's opinion (null until submitted), and a replying unit's reply and document.
pub fn handling(handling: &pb::Handling) -> Value {
    let pb::Handling {
        unit,
        role,
        state,
        assigned_date,
        original_due_date,
        due_date,
        acknowledged_date,
        contacts,
        extensions,
        return_requests,
        opinion: submitted,
        reply: own_reply,
        signer,
        document_number,
        issue_date,
        issuing_office,
        copied_to,
        sign_date,
        copy_to,
        public,
    } = handling;
    json!({
        "reply": own_reply.as_ref().map(reply),
        "signer": signer,
        "sign_date": sign_date,
        "document_number": document_number,
        "issue_date": issue_date,
        "issuing_office": issuing_office,
        "copy_to": copy_to,
        "public": public,
        "copied_to": copied_to,
        "unit": unit,
        "role": enum_name(*role, |v| {
            pb::HandlingRole::try_from(v).ok().map(|r| r.as_str_name())
        }),
        "state": proposal_state(*state),
        "assigned_date": assigned_date,
        "original_due_date": original_due_date,
        "due_date": due_date,
        "acknowledged_date": acknowledged_date,
        "contacts": contacts.iter().map(contact).collect::<Vec<_>>(),
        "extensions": extensions.iter().map(extension).collect::<Vec<_>>(),
        "return_requests": return_requests.iter().map(return_request).collect::<Vec<_>>(),
        "opinion": submitted.as_ref().map(opinion),
    })
}

/// A co-handling unit's opinion to the lead unit.
pub fn opinion(opinion: &pb::Opinion) -> Value {
    let pb::Opinion {
        body,
        document_number,
        contact_person,
        contact_phone,
        submitted_date,
    } = opinion;
    json!({
        "body": body,
        "document_number": document_number,
        "contact_person": contact_person,
        "contact_phone": contact_phone,
        "submitted_date": submitted_date,
    })
}

pub fn contact(contact: &pb::Contact) -> Value {
    let pb::Contact {
        contact_date,
        method,
        proposers,
        summary,
    } = contact;
    json!({
        "contact_date": contact_date,
        "method": enum_name(*method, |v| {
            pb::ContactMethod::try_from(v).ok().map(|m| m.as_str_name())
        }),
        "proposers": proposers,
        "summary": summary,
    })
}

pub fn extension(extension: &pb::Extension) -> Value {
    let pb::Extension {
        requested_date,
        new_due_date,
        reason,
        status,
        decision_note,
        decided_date,
    } = extension;
    json!({
        "requested_date": requested_date,
        "new_due_date": new_due_date,
        "reason": reason,
        "status": enum_name(*status, |v| {
            pb::RequestStatus::try_from(v).ok().map(|s| s.as_str_name())
        }),
        "decision_note": decision_note,
        "decided_date": decided_date,
    })
}

pub fn return_request(request: &pb::ReturnRequest) -> Value {
    let pb::ReturnRequest {
        requested_date,
        reason,
        status,
        decision_note,
        decided_date,
    } = request;
    json!({
        "requested_date": requested_date,
        "reason": reason,
        "status": enum_name(*status, |v| {
            pb::RequestStatus::try_from(v).ok().map(|s| s.as_str_name())
        }),
        "decision_note": decision_note,
        "decided_date": decided_date,
    })
}

/// The rules in force and today in their zone.
pub fn rules(response: &pb::GetRulesResponse) -> Value {
    let pb::GetRulesResponse { rules, today } = response;
    let rules = rules.as_ref().map(
        |pb::Rules {
             reply_months,
             time_zone,
             max_extension_days,
             contact_required_before_draft,
             return_window_days,
             unit_may_return_directly,
             co_opinion_days,
             require_co_opinions_before_sign,
             copy_to,
             public_by_default,
             result_codes,
             redo_months,
             reopen_requires_dissatisfaction,
         }| {
            json!({
                "redo_months": redo_months,
                "reopen_requires_dissatisfaction": reopen_requires_dissatisfaction,
                "reply_months": reply_months,
                "time_zone": time_zone,
                "max_extension_days": max_extension_days,
                "contact_required_before_draft": contact_required_before_draft,
                "return_window_days": return_window_days,
                "unit_may_return_directly": unit_may_return_directly,
                "co_opinion_days": co_opinion_days,
                "require_co_opinions_before_sign": require_co_opinions_before_sign,
                "copy_to": copy_to,
                "public_by_default": public_by_default,
                "result_codes": result_codes
                    .iter()
                    .map(|pb::ResultCodeMeaning { code, meaning }| {
                        json!({
                            "code": enum_name(*code, |v| {
                                pb::ResultCode::try_from(v).ok().map(|c| c.as_str_name())
                            }),
                            "meaning": meaning,
                        })
                    })
                    .collect::<Vec<_>>(),
            })
        },
    );
    json!({ "rules": rules, "today": today })
}

pub fn reply(reply: &pb::Reply) -> Value {
    let pb::Reply {
        body,
        result_code,
        contact_unit,
        contact_phone,
    } = reply;
    json!({
        "body": body,
        "result_code": enum_name(*result_code, |v| {
            pb::ResultCode::try_from(v).ok().map(|c| c.as_str_name())
        }),
        "contact_unit": contact_unit,
        "contact_phone": contact_phone,
    })
}

/// An event; its data under the name of the proto's `oneof` member (`issued`, `copied`, …),
/// with its kind spelled out in `kind`.
pub fn event(event: &pb::ProposalEvent) -> Value {
    let pb::ProposalEvent {
        proposal_id,
        sequence,
        position,
        occurred_at,
        actor,
        request_id,
        from_state,
        to_state,
        hash,
        effective_date,
        data,
    } = event;
    let mut value = json!({
        "proposal_id": proposal_id,
        "sequence": sequence,
        "position": position,
        "occurred_at": timestamp(occurred_at.as_ref()),
        "effective_date": effective_date,
        "actor": actor,
        "request_id": request_id,
        "from_state": proposal_state(*from_state),
        "to_state": proposal_state(*to_state),
        "hash": hash,
        "kind": Value::Null,
    });
    if let Some(data) = data {
        let (member, kind, data) = event_data(data);
        value["kind"] = json!(kind.as_str_name());
        value[member] = data;
    }
    value
}

fn event_data(data: &Data) -> (&'static str, pb::EventKind, Value) {
    match data {
        Data::Received(pb::ProposalReceived {
            committee,
            session,
            number,
            title,
            proposers,
            content,
            proposer_kind,
        }) => (
            "received",
            pb::EventKind::ProposalReceived,
            json!({
                "committee": committee,
                "session": session,
                "number": number,
                "title": title,
                "proposers": proposers,
                "content": content,
                "proposer_kind": proposer_kind_name(*proposer_kind),
            }),
        ),
        Data::Assigned(pb::ProposalAssigned {
            handling_unit,
            due_date,
            co_units,
            co_due_date,
            split_units,
        }) => (
            "assigned",
            pb::EventKind::ProposalAssigned,
            json!({
                "handling_unit": handling_unit,
                "due_date": due_date,
                "co_units": co_units,
                "co_due_date": co_due_date,
                "split_units": split_units,
            }),
        ),
        Data::Returned(pb::ProposalReturned { reason }) => (
            "returned",
            pb::EventKind::ProposalReturned,
            json!({ "reason": reason }),
        ),
        Data::Drafted(pb::ReplyDrafted {
            reply: draft,
            revision,
            handling_unit,
        }) => (
            "drafted",
            pb::EventKind::ReplyDrafted,
            json!({
                "reply": draft.as_ref().map(reply),
                "revision": revision,
                "handling_unit": handling_unit,
            }),
        ),
        Data::DraftRejected(pb::DraftRejected {
            reason,
            handling_unit,
        }) => (
            "draft_rejected",
            pb::EventKind::DraftRejected,
            json!({ "reason": reason, "handling_unit": handling_unit }),
        ),
        Data::Signed(pb::ReplySigned {
            signer,
            handling_unit,
            sign_date,
        }) => (
            "signed",
            pb::EventKind::ReplySigned,
            json!({
                "signer": signer,
                "handling_unit": handling_unit,
                "sign_date": sign_date,
            }),
        ),
        Data::Issued(pb::ReplyIssued {
            document_number,
            issue_date,
            issuing_office,
            handling_unit,
            copy_to,
            public,
        }) => (
            "issued",
            pb::EventKind::ReplyIssued,
            json!({
                "document_number": document_number,
                "issue_date": issue_date,
                "issuing_office": issuing_office,
                "handling_unit": handling_unit,
                "copy_to": copy_to,
                "public": public,
            }),
        ),
        Data::Copied(pb::ReplyCopied {
            recipients,
            handling_unit,
            proposers,
        }) => (
            "copied",
            pb::EventKind::ReplyCopied,
            json!({
                "recipients": recipients,
                "handling_unit": handling_unit,
                "proposers": proposers,
            }),
        ),
        Data::Refused(pb::ProposalRefused {
            reason,
            forwarded_to,
        }) => (
            "refused",
            pb::EventKind::ProposalRefused,
            json!({ "reason": reason, "forwarded_to": forwarded_to }),
        ),
        Data::Acknowledged(pb::AssignmentAcknowledged { handling_unit }) => (
            "acknowledged",
            pb::EventKind::AssignmentAcknowledged,
            json!({ "handling_unit": handling_unit }),
        ),
        Data::Contacted(pb::ProposerContacted {
            handling_unit,
            contact: contacted,
        }) => (
            "contacted",
            pb::EventKind::ProposerContacted,
            json!({
                "handling_unit": handling_unit,
                "contact": contacted.as_ref().map(contact),
            }),
        ),
        Data::ExtensionRequested(pb::ExtensionRequested {
            handling_unit,
            new_due_date,
            reason,
        }) => (
            "extension_requested",
            pb::EventKind::ExtensionRequested,
            json!({
                "handling_unit": handling_unit,
                "new_due_date": new_due_date,
                "reason": reason,
            }),
        ),
        Data::ExtensionDecided(pb::ExtensionDecided {
            handling_unit,
            approved,
            note,
            due_date,
        }) => (
            "extension_decided",
            pb::EventKind::ExtensionDecided,
            json!({
                "handling_unit": handling_unit,
                "approved": approved,
                "note": note,
                "due_date": due_date,
            }),
        ),
        Data::ReturnRequested(pb::ReturnRequested {
            handling_unit,
            reason,
        }) => (
            "return_requested",
            pb::EventKind::ReturnRequested,
            json!({ "handling_unit": handling_unit, "reason": reason }),
        ),
        Data::ReturnDecided(pb::ReturnDecided {
            handling_unit,
            approved,
            note,
            reassigned_to,
            due_date,
        }) => (
            "return_decided",
            pb::EventKind::ReturnDecided,
            json!({
                "handling_unit": handling_unit,
                "approved": approved,
                "note": note,
                "reassigned_to": reassigned_to,
                "due_date": due_date,
            }),
        ),
        Data::OpinionSubmitted(pb::OpinionSubmitted {
            handling_unit,
            opinion: submitted,
        }) => (
            "opinion_submitted",
            pb::EventKind::OpinionSubmitted,
            json!({
                "handling_unit": handling_unit,
                "opinion": submitted.as_ref().map(opinion),
            }),
        ),
        Data::Merged(pb::ProposalMerged {
            into_proposal_id,
            note,
        }) => (
            "merged",
            pb::EventKind::ProposalMerged,
            json!({ "into_proposal_id": into_proposal_id, "note": note }),
        ),
        Data::MergeJoined(pb::MergeJoined {
            proposal_id,
            number,
        }) => (
            "merge_joined",
            pb::EventKind::MergeJoined,
            json!({ "proposal_id": proposal_id, "number": number }),
        ),
        Data::FeedbackRecorded(pb::FeedbackRecorded { feedback: given }) => (
            "feedback_recorded",
            pb::EventKind::FeedbackRecorded,
            json!({ "feedback": given.as_ref().map(feedback) }),
        ),
        Data::Closed(pb::ProposalClosed { note }) => (
            "closed",
            pb::EventKind::ProposalClosed,
            json!({ "note": note }),
        ),
        Data::KeySet(pb::KeyProposalSet {
            key,
            supervisor,
            note,
        }) => (
            "key_set",
            pb::EventKind::KeyProposalSet,
            json!({ "key": key, "supervisor": supervisor, "note": note }),
        ),
        Data::Reopened(pb::ProposalReopened {
            round,
            reason,
            due_date,
        }) => (
            "reopened",
            pb::EventKind::ProposalReopened,
            json!({ "round": round, "reason": reason, "due_date": due_date }),
        ),
    }
}

/// A proposer's verdict on the reply.
pub fn feedback(feedback: &pb::Feedback) -> Value {
    let pb::Feedback {
        proposer,
        satisfaction,
        attitude,
        comment,
        recorded_date,
    } = feedback;
    let level = |value: i32| {
        enum_name(value, |v| {
            pb::Satisfaction::try_from(v).ok().map(|s| s.as_str_name())
        })
    };
    json!({
        "proposer": proposer,
        "satisfaction": level(*satisfaction),
        "attitude": level(*attitude),
        "comment": comment,
        "recorded_date": recorded_date,
    })
}

pub fn verification(report: &pb::VerifyHistoryResponse) -> Value {
    let pb::VerifyHistoryResponse {
        ok,
        events_checked,
        proposals_checked,
        first_mismatch,
        problems,
        head_position,
        head_hash,
    } = report;
    json!({
        "ok": ok,
        "events_checked": events_checked,
        "proposals_checked": proposals_checked,
        "first_mismatch": first_mismatch,
        "problems": problems,
        "head_position": head_position,
        "head_hash": head_hash,
    })
}

pub fn rendered(document: &pb::RenderReplyResponse) -> Value {
    let pb::RenderReplyResponse {
        text,
        document_number,
    } = document;
    json!({ "document_number": document_number, "text": text })
}

/// A page (or, with `--all`, every page) of proposals.
pub fn proposals(proposals: &[pb::Proposal], next_page_token: &str) -> Value {
    json!({
        "proposals": proposals.iter().map(proposal).collect::<Vec<_>>(),
        "next_page_token": next_page_token,
    })
}

/// A page (or, with `--all`, every page) of events.
pub fn events(events: &[pb::ProposalEvent], next_page_token: &str) -> Value {
    json!({
        "events": events.iter().map(event).collect::<Vec<_>>(),
        "next_page_token": next_page_token,
    })
}

fn proposal_state(value: i32) -> Value {
    enum_name(value, |v| {
        pb::ProposalState::try_from(v).ok().map(|s| s.as_str_name())
    })
}

fn proposer_kind_name(value: i32) -> Value {
    enum_name(value, |v| {
        pb::ProposerKind::try_from(v).ok().map(|k| k.as_str_name())
    })
}

fn enum_name(value: i32, name: impl Fn(i32) -> Option<&'static str>) -> Value {
    name(value).map_or_else(|| json!(value), |name| json!(name))
}

fn timestamp(timestamp: Option<&prost_types::Timestamp>) -> Value {
    timestamp.map_or(Value::Null, |t| json!(format_time(t, true)))
}

/// The proposals overdue on `on`, most overdue first: one object each, with its late units
/// (`late_units`, most overdue first) and the days overdue of the latest (`days_overdue`).
pub fn overdue(overdue: &[crate::commands::OverdueProposal], on: &str) -> Value {
    let late = |l: &crate::commands::LateReply| {
        let crate::commands::LateReply {
            unit,
            role,
            due_date,
            days_overdue,
            state,
        } = l;
        json!({
            "unit": unit,
            "role": enum_name(*role, |v| {
                pb::HandlingRole::try_from(v).ok().map(|r| r.as_str_name())
            }),
            "due_date": due_date,
            "days_overdue": days_overdue,
            "state": proposal_state(*state),
        })
    };
    Value::Array(
        overdue
            .iter()
            .map(|o| {
                let p = &o.proposal;
                json!({
                    "id": p.id,
                    "committee": p.committee,
                    "session": p.session,
                    "number": p.number,
                    "title": p.title,
                    "state": proposal_state(p.state),
                    "overdue_on": on,
                    "days_overdue": o.days_overdue(),
                    "late_units": o.late.iter().map(late).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
