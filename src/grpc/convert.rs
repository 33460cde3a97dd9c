//! Conversions between protobuf messages and the domain. Every request is destructured field by
//! field with no `..`, so a field added to the proto is a compile error here until handled.
//! All problems with a request are reported together, as field violations.

use prost_types::Timestamp as PbTimestamp;

use super::pb;
use crate::app::{AppError, EventFilter, PageRequest, ProposalFilter, StatisticsQuery, Submission};
use crate::domain::statistics::{SessionStatistics, Statistics, UnitStatistics};
use crate::domain::{
    CalendarDate, Command, Contact, ContactMethod, EventKind, Extension, Feedback, FieldViolation,
    Handling, HandlingRole, KeyDesignation, Limits, MergedProposal, OfficeDecision, Opinion,
    Proposal, ProposalId, ProposalState, ProposerKind, RecordedEvent, Refusal, Registration, Reply,
    RequestId, ResultCode, ReturnRequest, Round, RoundReply, Rules, Satisfaction, SplitReply,
    Timestamp, validate_envelope, validate_session,
};
use crate::store::{LoggedEvent, View, to_hex};

/// The fields every mutating request has besides its proposal and its command.
struct Shared {
    expected_version: Option<u64>,
    request_id: String,
    actor: String,
    effective_date: String,
}

/// Collects the problems found while converting one request.
#[derive(Default)]
struct Checked(Vec<FieldViolation>);

impl Checked {
    /// Starts checking a request about an existing proposal (every command but Receive, and
    /// the reads) with its `proposal_id`.
    fn for_proposal(proposal_id: &str) -> (Self, Option<ProposalId>) {
        let mut checked = Self::default();
        let id = checked.proposal_id("proposal_id", proposal_id);
        (checked, id)
    }

    fn proposal_id(&mut self, field: &str, text: &str) -> Option<ProposalId> {
        if text.is_empty() {
            self.0.push(FieldViolation::new(field, "is required"));
            return None;
        }
        let id = ProposalId::parse(text);
        if id.is_none() {
            self.0.push(FieldViolation::new(
                field,
                "must be a UUID such as 0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e5f",
            ));
        }
        id
    }

    /// A required date. When it is missing or malformed the violation is recorded and a
    /// placeholder returned, so the rest of the request is still checked; a request with any
    /// violation is refused as a whole, so the placeholder is never used.
    fn date(&mut self, field: &str, text: &str) -> CalendarDate {
        let date = CalendarDate::parse(text);
        if date.is_none() {
            let problem = if text.is_empty() {
                "is required"
            } else {
                "must be a real date written YYYY-MM-DD"
            };
            self.0.push(FieldViolation::new(field, problem));
        }
        date.unwrap_or(CalendarDate::MIN)
    }

    fn optional_date(&mut self, field: &str, text: &str) -> Option<CalendarDate> {
        (!text.is_empty()).then(|| self.date(field, text))
    }

    /// A required result code; like [`Self::date`], a placeholder stands in for a bad one.
    fn result_code(&mut self, field: &str, value: i32) -> ResultCode {
        match pb::ResultCode::try_from(value) {
            Ok(pb::ResultCode::A) => ResultCode::A,
            Ok(pb::ResultCode::B) => ResultCode::B,
            Ok(pb::ResultCode::C) => ResultCode::C,
            Ok(pb::ResultCode::D) => ResultCode::D,
            Ok(pb::ResultCode::Unspecified) | Err(_) => {
                self.0.push(FieldViolation::new(
                    field,
                    "is required: RESULT_CODE_A, RESULT_CODE_B, RESULT_CODE_C or RESULT_CODE_D \
                     (as the rules allow)",
                ));
                ResultCode::A
            }
        }
    }

    /// A satisfaction level: required unless `optional` (then UNSPECIFIED is `None`); like
    /// [`Self::date`], a placeholder stands in for a bad one.
    fn satisfaction(&mut self, field: &str, value: i32, optional: bool) -> Option<Satisfaction> {
        match pb::Satisfaction::try_from(value) {
            Ok(pb::Satisfaction::Satisfied) => Some(Satisfaction::Satisfied),
            Ok(pb::Satisfaction::BasicallySatisfied) => Some(Satisfaction::BasicallySatisfied),
            Ok(pb::Satisfaction::NotSatisfied) => Some(Satisfaction::NotSatisfied),
            Ok(pb::Satisfaction::Unspecified) if optional => None,
            Ok(pb::Satisfaction::Unspecified) | Err(_) => {
                self.0.push(FieldViolation::new(
                    field,
                    if optional {
                        "is not a known value: SATISFACTION_SATISFIED, \
                         _BASICALLY_SATISFIED or _NOT_SATISFIED, or unset"
                    } else {
                        "is required: SATISFACTION_SATISFIED, _BASICALLY_SATISFIED or \
                         _NOT_SATISFIED"
                    },
                ));
                Some(Satisfaction::Satisfied)
            }
        }
    }

    /// A required contact method; like [`Self::date`], a placeholder stands in for a bad one.
    fn contact_method(&mut self, field: &str, value: i32) -> ContactMethod {
        match pb::ContactMethod::try_from(value) {
            Ok(pb::ContactMethod::Phone) => ContactMethod::Phone,
            Ok(pb::ContactMethod::Meeting) => ContactMethod::Meeting,
            Ok(pb::ContactMethod::Visit) => ContactMethod::Visit,
            Ok(pb::ContactMethod::Letter) => ContactMethod::Letter,
            Ok(pb::ContactMethod::Online) => ContactMethod::Online,
            Ok(pb::ContactMethod::Other) => ContactMethod::Other,
            Ok(pb::ContactMethod::Unspecified) | Err(_) => {
                self.0.push(FieldViolation::new(
                    field,
                    "is required: CONTACT_METHOD_PHONE, _MEETING, _VISIT, _LETTER, _ONLINE or \
                     _OTHER",
                ));
                ContactMethod::Other
            }
        }
    }

    /// Who made a proposal; unset means members.
    fn proposer_kind(&mut self, field: &str, value: i32) -> ProposerKind {
        match pb::ProposerKind::try_from(value) {
            Ok(pb::ProposerKind::Unspecified | pb::ProposerKind::Member) => ProposerKind::Member,
            Ok(pb::ProposerKind::Party) => ProposerKind::Party,
            Ok(pb::ProposerKind::Group) => ProposerKind::Group,
            Ok(pb::ProposerKind::Sector) => ProposerKind::Sector,
            Ok(pb::ProposerKind::Committee) => ProposerKind::Committee,
            Err(_) => {
                self.0.push(FieldViolation::new(
                    field,
                    format!("{value} is not a proposer kind"),
                ));
                ProposerKind::Member
            }
        }
    }

    fn role_filter(&mut self, field: &str, value: i32) -> Option<HandlingRole> {
        match pb::HandlingRole::try_from(value) {
            Ok(pb::HandlingRole::Unspecified) => None,
            Ok(pb::HandlingRole::Sole) => Some(HandlingRole::Sole),
            Ok(pb::HandlingRole::Lead) => Some(HandlingRole::Lead),
            Ok(pb::HandlingRole::Co) => Some(HandlingRole::Co),
            Ok(pb::HandlingRole::Split) => Some(HandlingRole::Split),
            Err(_) => {
                self.0.push(FieldViolation::new(
                    field,
                    format!("{value} is not a handling role"),
                ));
                None
            }
        }
    }

    fn state_filter(&mut self, field: &str, value: i32) -> Option<ProposalState> {
        match pb::ProposalState::try_from(value) {
            Ok(pb::ProposalState::Unspecified) => None,
            Ok(state) => state_from_pb(state),
            Err(_) => {
                self.0.push(FieldViolation::new(
                    field,
                    format!("{value} is not a proposal state"),
                ));
                None
            }
        }
    }

    /// A read's view; unset means the method's `default`.
    fn view(&mut self, field: &str, value: i32, default: View) -> View {
        match pb::ProposalView::try_from(value) {
            Ok(pb::ProposalView::Unspecified) => default,
            Ok(pb::ProposalView::Basic) => View::Basic,
            Ok(pb::ProposalView::Full) => View::Full,
            Err(_) => {
                self.0.push(FieldViolation::new(
                    field,
                    format!(
                        "{value} is not a view: PROPOSAL_VIEW_BASIC, PROPOSAL_VIEW_FULL or unset"
                    ),
                ));
                default
            }
        }
    }

    /// An optional proposal id filter: empty means none.
    fn id_filter(&mut self, field: &str, text: &str) -> Option<ProposalId> {
        (!text.is_empty())
            .then(|| self.proposal_id(field, text))
            .flatten()
    }

    fn kinds(&mut self, field: &str, values: &[i32]) -> Vec<EventKind> {
        let mut kinds = Vec::new();
        for (i, value) in values.iter().enumerate() {
            match pb::EventKind::try_from(*value).ok().and_then(kind_from_pb) {
                Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
                Some(_) => {}
                None => self.0.push(FieldViolation::new(
                    format!("{field}[{i}]"),
                    format!(
                        "{value} is not an event kind (EVENT_KIND_UNSPECIFIED is not one either)"
                    ),
                )),
            }
        }
        kinds
    }

    fn time(&mut self, field: &str, value: Option<PbTimestamp>) -> Option<Timestamp> {
        let value = value?;
        let nanos = value
            .seconds
            .checked_mul(1_000_000_000)
            .and_then(|n| n.checked_add(i64::from(value.nanos)));
        match nanos {
            Some(nanos) if (0..1_000_000_000).contains(&value.nanos) => {
                Some(Timestamp::from_unix_nanos(nanos))
            }
            _ => {
                self.0.push(FieldViolation::new(
                    field,
                    "must be a valid timestamp between 1677 and 2262",
                ));
                None
            }
        }
    }

    /// Finishes a mutating request: checks the shared fields and the command's own limits.
    fn submission(
        mut self,
        proposal_id: Option<ProposalId>,
        command: Command,
        shared: Shared,
    ) -> Result<Submission, AppError> {
        let Shared {
            expected_version,
            request_id,
            actor,
            effective_date,
        } = shared;
        let effective_date = self.optional_date("effective_date", &effective_date);
        if let Err(violations) = validate_envelope(&actor, &request_id) {
            self.0.extend(violations);
        }
        if let Err(violations) = command.validate() {
            self.0.extend(violations);
        }
        self.finish()?;
        Ok(Submission {
            proposal_id,
            command,
            expected_version,
            request_id: (!request_id.is_empty()).then(|| RequestId::new(request_id)),
            actor,
            effective_date,
            unit_scope: None,
        })
    }

    fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::InvalidArgument(self.0))
        }
    }
}

impl TryFrom<pb::ReceiveProposalRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::ReceiveProposalRequest) -> Result<Self, AppError> {
        let pb::ReceiveProposalRequest {
            committee,
            session,
            number,
            title,
            proposers,
            content,
            request_id,
            actor,
            effective_date,
            proposer_kind,
        } = request;
        let mut checked = Checked::default();
        let proposer_kind = checked.proposer_kind("proposer_kind", proposer_kind);
        let command = Command::Receive(Registration {
            committee,
            session,
            number,
            title,
            proposers,
            content,
            proposer_kind,
        });
        let shared = Shared {
            expected_version: None,
            request_id,
            actor,
            effective_date,
        };
        checked.submission(None, command, shared)
    }
}

impl TryFrom<pb::AssignProposalRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::AssignProposalRequest) -> Result<Self, AppError> {
        let pb::AssignProposalRequest {
            proposal_id,
            handling_unit,
            due_date,
            expected_version,
            request_id,
            actor,
            effective_date,
            co_units,
            co_due_date,
            split_units,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let due_date = checked.optional_date("due_date", &due_date);
        let co_due_date = checked.optional_date("co_due_date", &co_due_date);
        let command = Command::Assign {
            handling_unit,
            due_date,
            co_units,
            co_due_date,
            split_units,
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::ReturnProposalRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::ReturnProposalRequest) -> Result<Self, AppError> {
        let pb::ReturnProposalRequest {
            proposal_id,
            reason,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        checked.submission(
            id,
            Command::Return { reason },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::DraftReplyRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::DraftReplyRequest) -> Result<Self, AppError> {
        let pb::DraftReplyRequest {
            proposal_id,
            reply,
            expected_version,
            request_id,
            actor,
            effective_date,
            handling_unit,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let pb::Reply {
            body,
            result_code,
            contact_unit,
            contact_phone,
        } = reply.unwrap_or_else(|| {
            checked.0.push(FieldViolation::new("reply", "is required"));
            pb::Reply::default()
        });
        let result_code = checked.result_code("reply.result_code", result_code);
        let command = Command::Draft {
            reply: Reply {
                body,
                result_code,
                contact_unit,
                contact_phone,
            },
            handling_unit,
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::RejectDraftRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::RejectDraftRequest) -> Result<Self, AppError> {
        let pb::RejectDraftRequest {
            proposal_id,
            reason,
            expected_version,
            request_id,
            actor,
            effective_date,
            handling_unit,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        let command = Command::RejectDraft {
            reason,
            handling_unit,
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::SignReplyRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::SignReplyRequest) -> Result<Self, AppError> {
        let pb::SignReplyRequest {
            proposal_id,
            signer,
            expected_version,
            request_id,
            actor,
            effective_date,
            handling_unit,
            sign_date,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let sign_date = checked.optional_date("sign_date", &sign_date);
        checked.submission(
            id,
            Command::Sign {
                signer,
                handling_unit,
                sign_date,
            },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::IssueReplyRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::IssueReplyRequest) -> Result<Self, AppError> {
        let pb::IssueReplyRequest {
            proposal_id,
            document_number,
            issue_date,
            issuing_office,
            expected_version,
            request_id,
            actor,
            effective_date,
            handling_unit,
            copy_to,
            public,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let issue_date = checked.date("issue_date", &issue_date);
        let command = Command::Issue {
            document_number,
            issue_date,
            issuing_office,
            handling_unit,
            copy_to,
            public,
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::CopyReplyRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::CopyReplyRequest) -> Result<Self, AppError> {
        let pb::CopyReplyRequest {
            proposal_id,
            recipients,
            expected_version,
            request_id,
            actor,
            effective_date,
            handling_unit,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        checked.submission(
            id,
            Command::Copy {
                recipients,
                handling_unit,
                proposers: Vec::new(),
            },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::RefuseProposalRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::RefuseProposalRequest) -> Result<Self, AppError> {
        let pb::RefuseProposalRequest {
            proposal_id,
            reason,
            forwarded_to,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        let command = Command::Refuse {
            reason,
            forwarded_to,
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::RecordFeedbackRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::RecordFeedbackRequest) -> Result<Self, AppError> {
        let pb::RecordFeedbackRequest {
            proposal_id,
            proposer,
            satisfaction,
            attitude,
            comment,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let satisfaction = checked
            .satisfaction("satisfaction", satisfaction, false)
            .unwrap_or(Satisfaction::Satisfied);
        let attitude = checked.satisfaction("attitude", attitude, true);
        let command = Command::RecordFeedback {
            feedback: Feedback {
                proposer,
                satisfaction,
                attitude,
                comment,
            },
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::CloseProposalRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::CloseProposalRequest) -> Result<Self, AppError> {
        let pb::CloseProposalRequest {
            proposal_id,
            note,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        checked.submission(
            id,
            Command::Close { note },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::ReopenProposalRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::ReopenProposalRequest) -> Result<Self, AppError> {
        let pb::ReopenProposalRequest {
            proposal_id,
            reason,
            due_date,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let due_date = checked.optional_date("due_date", &due_date);
        checked.submission(
            id,
            Command::Reopen { reason, due_date },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::SetKeyProposalRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::SetKeyProposalRequest) -> Result<Self, AppError> {
        let pb::SetKeyProposalRequest {
            proposal_id,
            key,
            supervisor,
            note,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        checked.submission(
            id,
            Command::SetKey {
                key,
                supervisor,
                note,
            },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::AcknowledgeAssignmentRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::AcknowledgeAssignmentRequest) -> Result<Self, AppError> {
        let pb::AcknowledgeAssignmentRequest {
            proposal_id,
            handling_unit,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        checked.submission(
            id,
            Command::Acknowledge { handling_unit },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::RecordContactRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::RecordContactRequest) -> Result<Self, AppError> {
        let pb::RecordContactRequest {
            proposal_id,
            handling_unit,
            contact_date,
            method,
            proposers,
            summary,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let command = Command::Contact {
            handling_unit,
            contact_date: checked.optional_date("contact_date", &contact_date),
            method: checked.contact_method("method", method),
            proposers,
            summary,
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::RequestExtensionRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::RequestExtensionRequest) -> Result<Self, AppError> {
        let pb::RequestExtensionRequest {
            proposal_id,
            handling_unit,
            new_due_date,
            reason,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let command = Command::RequestExtension {
            handling_unit,
            new_due_date: checked.date("new_due_date", &new_due_date),
            reason,
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::DecideExtensionRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::DecideExtensionRequest) -> Result<Self, AppError> {
        let pb::DecideExtensionRequest {
            proposal_id,
            handling_unit,
            approve,
            note,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        checked.submission(
            id,
            Command::DecideExtension {
                handling_unit,
                approve,
                note,
            },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::RequestReturnRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::RequestReturnRequest) -> Result<Self, AppError> {
        let pb::RequestReturnRequest {
            proposal_id,
            handling_unit,
            reason,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        checked.submission(
            id,
            Command::RequestReturn {
                handling_unit,
                reason,
            },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::SubmitOpinionRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::SubmitOpinionRequest) -> Result<Self, AppError> {
        let pb::SubmitOpinionRequest {
            proposal_id,
            handling_unit,
            body,
            document_number,
            contact_person,
            contact_phone,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (checked, id) = Checked::for_proposal(&proposal_id);
        checked.submission(
            id,
            Command::SubmitOpinion {
                handling_unit,
                opinion: Opinion {
                    body,
                    document_number,
                    contact_person,
                    contact_phone,
                },
            },
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::MergeProposalRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::MergeProposalRequest) -> Result<Self, AppError> {
        let pb::MergeProposalRequest {
            proposal_id,
            into_proposal_id,
            note,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let into = checked.proposal_id("into_proposal_id", &into_proposal_id);
        let command = Command::Merge {
            into_proposal_id: into.unwrap_or(ProposalId::from_bytes([0; 16])),
            note,
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

impl TryFrom<pb::DecideReturnRequest> for Submission {
    type Error = AppError;

    fn try_from(request: pb::DecideReturnRequest) -> Result<Self, AppError> {
        let pb::DecideReturnRequest {
            proposal_id,
            handling_unit,
            approve,
            note,
            reassign_to,
            due_date,
            expected_version,
            request_id,
            actor,
            effective_date,
        } = request;
        let (mut checked, id) = Checked::for_proposal(&proposal_id);
        let command = Command::DecideReturn {
            handling_unit,
            approve,
            note,
            reassign_to,
            due_date: checked.optional_date("due_date", &due_date),
        };
        checked.submission(
            id,
            command,
            Shared {
                expected_version,
                request_id,
                actor,
                effective_date,
            },
        )
    }
}

/// The id of the proposal a read asks for.
pub(super) fn read_target(proposal_id: &str) -> Result<ProposalId, AppError> {
    let (checked, id) = Checked::for_proposal(proposal_id);
    checked.finish()?;
    Ok(id.expect("a missing id was recorded as a violation"))
}

/// What `RenderReply` asks for: the proposal, and on a split one the unit whose reply (empty:
/// the one replying unit).
pub(super) fn render_request(
    request: pb::RenderReplyRequest,
) -> Result<(ProposalId, String, Option<u32>), AppError> {
    let pb::RenderReplyRequest {
        proposal_id,
        handling_unit,
        round,
    } = request;
    let (mut checked, id) = Checked::for_proposal(&proposal_id);
    let chars = handling_unit.chars().count();
    if chars > Limits::NAME_CHARS {
        checked.0.push(FieldViolation::new(
            "handling_unit",
            format!(
                "is {chars} characters long; at most {} are allowed",
                Limits::NAME_CHARS
            ),
        ));
    }
    checked.finish()?;
    Ok((
        id.expect("a missing id was recorded as a violation"),
        handling_unit,
        (round != 0).then_some(round),
    ))
}

/// What `GetProposal` asks for: the proposal, and how much of it (FULL unless told).
pub(super) fn get_request(
    request: &pb::GetProposalRequest,
) -> Result<(ProposalId, View), AppError> {
    let (mut checked, id) = Checked::for_proposal(&request.proposal_id);
    let view = checked.view("view", request.view, View::Full);
    checked.finish()?;
    Ok((id.expect("a missing id was recorded as a violation"), view))
}

pub(super) fn list_request(
    request: pb::ListProposalsRequest,
) -> Result<(ProposalFilter, View, PageRequest), AppError> {
    let pb::ListProposalsRequest {
        state,
        handling_unit,
        committee,
        session,
        page_size,
        page_token,
        view,
        proposer_kind,
        overdue_on,
        handling_role,
        key_only,
        proposer,
    } = request;
    let mut checked = Checked::default();
    let handling_role = checked.role_filter("handling_role", handling_role);
    let state = checked.state_filter("state", state);
    let view = checked.view("view", view, View::Basic);
    // Unset means any kind here (not members, as in a registration).
    let proposer_kind =
        (proposer_kind != 0).then(|| checked.proposer_kind("proposer_kind", proposer_kind));
    let overdue_on = checked.optional_date("overdue_on", &overdue_on);
    checked.finish()?;
    let set = |text: String| (!text.is_empty()).then_some(text);
    Ok((
        ProposalFilter {
            state,
            handling_unit: set(handling_unit),
            committee: set(committee),
            session: set(session),
            proposer_kind,
            overdue_on,
            handling_role,
            key_only,
            proposer: set(proposer),
        },
        view,
        PageRequest {
            page_size,
            page_token,
        },
    ))
}

/// A statistics request, checked against `today` (the rules' today): `as_of` defaults to it and
/// may not be later.
pub(super) fn statistics_request(
    request: pb::GetStatisticsRequest,
    today: CalendarDate,
) -> Result<StatisticsQuery, AppError> {
    let pb::GetStatisticsRequest {
        committee,
        session,
        as_of,
        by_unit,
    } = request;
    let mut checked = Checked::default();
    if let Err(violations) = validate_session(&committee, &session) {
        checked.0.extend(violations);
    }
    let as_of = checked.optional_date("as_of", &as_of).unwrap_or(today);
    if as_of > today {
        checked.0.push(FieldViolation::new(
            "as_of",
            format!("must not be after today ({today})"),
        ));
    }
    checked.finish()?;
    Ok(StatisticsQuery {
        committee,
        session,
        as_of,
        by_unit,
    })
}

/// The response to `query`: the figures, rates where their divisor is not 0.
pub(super) fn statistics_response(
    query: StatisticsQuery,
    statistics: SessionStatistics,
) -> pb::GetStatisticsResponse {
    let StatisticsQuery {
        committee,
        session,
        as_of,
        by_unit: _,
    } = query;
    let SessionStatistics { totals, units } = statistics;
    pb::GetStatisticsResponse {
        committee,
        session,
        as_of: as_of.to_string(),
        totals: Some(totals.into()),
        units: units.into_iter().map(Into::into).collect(),
    }
}

impl From<Statistics> for pb::Statistics {
    fn from(statistics: Statistics) -> Self {
        let (reply_rate, on_time_rate, satisfaction_rate) = (
            statistics.reply_rate(),
            statistics.on_time_rate(),
            statistics.satisfaction_rate(),
        );
        let Statistics {
            received,
            accepted,
            not_accepted,
            merged,
            assigned,
            replied,
            replied_on_time,
            overdue,
            result_codes,
            satisfied,
            basically_satisfied,
            not_satisfied,
            reopened,
            closed,
            key_proposals,
            key_replied,
        } = statistics;
        pb::Statistics {
            received,
            accepted,
            not_accepted,
            merged,
            assigned,
            replied,
            replied_on_time,
            overdue,
            reply_rate,
            on_time_rate,
            result_codes: result_codes
                .into_iter()
                .map(|(code, count)| pb::ResultCodeCount {
                    code: result_code_to_pb(code).into(),
                    count,
                })
                .collect(),
            satisfied,
            basically_satisfied,
            not_satisfied,
            satisfaction_rate,
            reopened,
            closed,
            key_proposals,
            key_replied,
        }
    }
}

impl From<UnitStatistics> for pb::UnitStatistics {
    fn from(row: UnitStatistics) -> Self {
        let UnitStatistics {
            unit,
            sole,
            lead,
            split,
            co,
            replied,
            replied_on_time,
            overdue,
            opinions_submitted,
            opinions_on_time,
        } = row;
        pb::UnitStatistics {
            unit,
            sole,
            lead,
            split,
            co,
            replied,
            replied_on_time,
            overdue,
            opinions_submitted,
            opinions_on_time,
        }
    }
}

pub(super) fn history_request(
    request: pb::GetProposalHistoryRequest,
) -> Result<(ProposalId, PageRequest), AppError> {
    let pb::GetProposalHistoryRequest {
        proposal_id,
        page_size,
        page_token,
    } = request;
    Ok((
        read_target(&proposal_id)?,
        PageRequest {
            page_size,
            page_token,
        },
    ))
}

pub(super) fn list_events_request(
    request: pb::ListEventsRequest,
) -> Result<(EventFilter, PageRequest), AppError> {
    let pb::ListEventsRequest {
        occurred_after,
        occurred_before,
        actor,
        kinds,
        handling_unit,
        to_state,
        proposal_id,
        page_size,
        page_token,
    } = request;
    let mut checked = Checked::default();
    let filter = EventFilter {
        occurred_after: checked.time("occurred_after", occurred_after),
        occurred_before: checked.time("occurred_before", occurred_before),
        actor: (!actor.is_empty()).then_some(actor),
        kinds: checked.kinds("kinds", &kinds),
        handling_unit: (!handling_unit.is_empty()).then_some(handling_unit),
        to_state: checked.state_filter("to_state", to_state),
        proposal_id: checked.id_filter("proposal_id", &proposal_id),
    };
    checked.finish()?;
    Ok((
        filter,
        PageRequest {
            page_size,
            page_token,
        },
    ))
}

pub(super) fn watch_request(
    request: pb::WatchEventsRequest,
) -> Result<(u64, EventFilter), AppError> {
    let pb::WatchEventsRequest {
        after_position,
        proposal_id,
        kinds,
        handling_unit,
    } = request;
    let mut checked = Checked::default();
    let filter = EventFilter {
        kinds: checked.kinds("kinds", &kinds),
        handling_unit: (!handling_unit.is_empty()).then_some(handling_unit),
        proposal_id: checked.id_filter("proposal_id", &proposal_id),
        ..EventFilter::default()
    };
    checked.finish()?;
    Ok((after_position, filter))
}

fn kind_from_pb(kind: pb::EventKind) -> Option<EventKind> {
    Some(match kind {
        pb::EventKind::Unspecified => return None,
        pb::EventKind::ProposalReceived => EventKind::ProposalReceived,
        pb::EventKind::ProposalAssigned => EventKind::ProposalAssigned,
        pb::EventKind::ProposalReturned => EventKind::ProposalReturned,
        pb::EventKind::ReplyDrafted => EventKind::ReplyDrafted,
        pb::EventKind::DraftRejected => EventKind::DraftRejected,
        pb::EventKind::ReplySigned => EventKind::ReplySigned,
        pb::EventKind::ReplyIssued => EventKind::ReplyIssued,
        pb::EventKind::ReplyCopied => EventKind::ReplyCopied,
        pb::EventKind::ProposalRefused => EventKind::ProposalRefused,
        pb::EventKind::AssignmentAcknowledged => EventKind::AssignmentAcknowledged,
        pb::EventKind::ProposerContacted => EventKind::ProposerContacted,
        pb::EventKind::ExtensionRequested => EventKind::ExtensionRequested,
        pb::EventKind::ExtensionDecided => EventKind::ExtensionDecided,
        pb::EventKind::ReturnRequested => EventKind::ReturnRequested,
        pb::EventKind::ReturnDecided => EventKind::ReturnDecided,
        pb::EventKind::OpinionSubmitted => EventKind::OpinionSubmitted,
        pb::EventKind::ProposalMerged => EventKind::ProposalMerged,
        pb::EventKind::MergeJoined => EventKind::MergeJoined,
        pb::EventKind::FeedbackRecorded => EventKind::FeedbackRecorded,
        pb::EventKind::ProposalClosed => EventKind::ProposalClosed,
        pb::EventKind::KeyProposalSet => EventKind::KeyProposalSet,
        pb::EventKind::ProposalReopened => EventKind::ProposalReopened,
    })
}

fn state_from_pb(state: pb::ProposalState) -> Option<ProposalState> {
    match state {
        pb::ProposalState::Unspecified => None,
        pb::ProposalState::Received => Some(ProposalState::Received),
        pb::ProposalState::Assigned => Some(ProposalState::Assigned),
        pb::ProposalState::Drafted => Some(ProposalState::Drafted),
        pb::ProposalState::Signed => Some(ProposalState::Signed),
        pb::ProposalState::Issued => Some(ProposalState::Issued),
        pb::ProposalState::Copied => Some(ProposalState::Copied),
        pb::ProposalState::NotAccepted => Some(ProposalState::NotAccepted),
        pb::ProposalState::Merged => Some(ProposalState::Merged),
        pb::ProposalState::Closed => Some(ProposalState::Closed),
    }
}

fn state_to_pb(state: Option<ProposalState>) -> pb::ProposalState {
    state.map_or(pb::ProposalState::Unspecified, pb::ProposalState::from)
}

impl From<ProposalState> for pb::ProposalState {
    fn from(state: ProposalState) -> Self {
        match state {
            ProposalState::Received => Self::Received,
            ProposalState::Assigned => Self::Assigned,
            ProposalState::Drafted => Self::Drafted,
            ProposalState::Signed => Self::Signed,
            ProposalState::Issued => Self::Issued,
            ProposalState::Copied => Self::Copied,
            ProposalState::NotAccepted => Self::NotAccepted,
            ProposalState::Merged => Self::Merged,
            ProposalState::Closed => Self::Closed,
        }
    }
}

fn timestamp(at: Timestamp) -> PbTimestamp {
    let (seconds, nanos) = at.seconds_and_nanos();
    PbTimestamp { seconds, nanos }
}

fn proposer_kind_to_pb(kind: ProposerKind) -> pb::ProposerKind {
    match kind {
        ProposerKind::Member => pb::ProposerKind::Member,
        ProposerKind::Party => pb::ProposerKind::Party,
        ProposerKind::Group => pb::ProposerKind::Group,
        ProposerKind::Sector => pb::ProposerKind::Sector,
        ProposerKind::Committee => pb::ProposerKind::Committee,
    }
}

fn result_code_to_pb(code: ResultCode) -> pb::ResultCode {
    match code {
        ResultCode::A => pb::ResultCode::A,
        ResultCode::B => pb::ResultCode::B,
        ResultCode::C => pb::ResultCode::C,
        ResultCode::D => pb::ResultCode::D,
    }
}

impl From<Reply> for pb::Reply {
    fn from(reply: Reply) -> Self {
        let Reply {
            body,
            result_code,
            contact_unit,
            contact_phone,
        } = reply;
        pb::Reply {
            body,
            result_code: result_code_to_pb(result_code).into(),
            contact_unit,
            contact_phone,
        }
    }
}

/// The request that registers `registration`, for clients of this library (`proposalctl
/// demo`, tests): no actor and no request id yet.
impl From<Registration> for pb::ReceiveProposalRequest {
    fn from(registration: Registration) -> Self {
        let Registration {
            committee,
            session,
            number,
            title,
            proposers,
            content,
            proposer_kind,
        } = registration;
        pb::ReceiveProposalRequest {
            committee,
            session,
            number,
            title,
            proposers,
            content,
            request_id: String::new(),
            actor: String::new(),
            effective_date: String::new(),
            proposer_kind: proposer_kind_to_pb(proposer_kind).into(),
        }
    }
}

fn satisfaction_to_pb(level: Option<Satisfaction>) -> pb::Satisfaction {
    match level {
        None => pb::Satisfaction::Unspecified,
        Some(Satisfaction::Satisfied) => pb::Satisfaction::Satisfied,
        Some(Satisfaction::BasicallySatisfied) => pb::Satisfaction::BasicallySatisfied,
        Some(Satisfaction::NotSatisfied) => pb::Satisfaction::NotSatisfied,
    }
}

fn feedback_to_pb(feedback: Feedback, recorded_on: Option<CalendarDate>) -> pb::Feedback {
    let Feedback {
        proposer,
        satisfaction,
        attitude,
        comment,
    } = feedback;
    pb::Feedback {
        proposer,
        satisfaction: satisfaction_to_pb(Some(satisfaction)).into(),
        attitude: satisfaction_to_pb(attitude).into(),
        comment,
        recorded_date: date_text(recorded_on),
    }
}

fn date_text(date: Option<CalendarDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

impl From<Proposal> for pb::Proposal {
    fn from(proposal: Proposal) -> Self {
        let own = proposal.own_reply();
        let round = proposal.round();
        let Proposal {
            id,
            committee,
            session,
            number,
            title,
            proposers,
            proposer_kind,
            content,
            state,
            handling_unit,
            due_date,
            reply,
            signer,
            sign_date,
            document_number,
            issue_date,
            issuing_office,
            copy_to,
            public,
            copied_to,
            refusal,
            merged_into,
            merged,
            key,
            feedback,
            closure,
            rounds,
            handlings,
            last_act_date,
            version,
            received_at,
            updated_at,
        } = proposal;
        let rounds = rounds.into_iter().map(round_to_pb).collect();
        // A SOLE or LEAD handling shows the proposal's reply as its own.
        let handlings = handlings
            .into_iter()
            .map(|h| handling_to_pb(h, &own))
            .collect();
        let (closed_date, closing_note) =
            closure.map_or_else(Default::default, |c| (date_text(c.closed_on), c.note));
        pb::Proposal {
            key: key.map(
                |KeyDesignation {
                     supervisor,
                     note,
                     since,
                 }| pb::KeyProposal {
                    supervisor,
                    note,
                    since_date: date_text(since),
                },
            ),
            feedback: feedback
                .into_iter()
                .map(|record| feedback_to_pb(record.feedback, record.recorded_on))
                .collect(),
            closed_date,
            closing_note,
            round,
            rounds,
            handlings,
            merged_into: merged_into.map(|id| id.to_string()).unwrap_or_default(),
            merged_proposal_ids: merged.into_iter().map(|m| m.id.to_string()).collect(),
            id: id.to_string(),
            committee,
            session,
            number,
            title,
            proposers,
            content,
            state: state_to_pb(Some(state)).into(),
            handling_unit: handling_unit.unwrap_or_default(),
            reply: reply.map(pb::Reply::from),
            signer: signer.unwrap_or_default(),
            document_number: document_number.unwrap_or_default(),
            issue_date: date_text(issue_date),
            issuing_office: issuing_office.unwrap_or_default(),
            copied_to,
            sign_date: date_text(sign_date),
            copy_to,
            public,
            version,
            received_at: Some(timestamp(received_at)),
            updated_at: Some(timestamp(updated_at)),
            due_date: date_text(due_date),
            proposer_kind: proposer_kind_to_pb(proposer_kind).into(),
            last_act_date: date_text(last_act_date),
            refusal: refusal.map(
                |Refusal {
                     reason,
                     forwarded_to,
                 }| pb::Refusal {
                    reason,
                    forwarded_to,
                },
            ),
        }
    }
}

/// A handling as clients see it. A SOLE or LEAD handling's state and reply are the proposal's
/// (`own`), a SPLIT one's its own; a co-unit's state is ASSIGNED until it sends its opinion,
/// then ISSUED, and COPIED with the lead's reply, and it has no reply.
fn handling_to_pb(handling: Handling, own: &SplitReply) -> pb::Handling {
    let state = match (handling.role, &handling.opinion, own.state) {
        (HandlingRole::Co, None, _) => ProposalState::Assigned,
        (HandlingRole::Co, Some(_), ProposalState::Copied) => ProposalState::Copied,
        (HandlingRole::Co, Some(_), _) => ProposalState::Issued,
        (_, _, state) => handling.split.as_ref().map_or(state, |part| part.state),
    };
    let reply = match (handling.role, handling.split) {
        (HandlingRole::Co, _) => None,
        (_, Some(part)) => Some(*part),
        (_, None) => Some(own.clone()),
    };
    let SplitReply {
        state: _,
        reply,
        signer,
        sign_date,
        document_number,
        issue_date,
        issuing_office,
        copy_to,
        public,
        copied_to,
    } = reply.unwrap_or_else(SplitReply::assigned);
    let Handling {
        unit,
        role,
        assigned_on,
        original_due_date,
        due_date,
        acknowledged_on,
        contacts,
        extensions,
        return_requests,
        opinion,
        opinion_submitted_on,
        first_opinion_on: _,
        split: _,
    } = handling;
    pb::Handling {
        opinion: opinion.map(|opinion| opinion_to_pb(opinion, opinion_submitted_on)),
        reply: reply.map(pb::Reply::from),
        signer: signer.unwrap_or_default(),
        document_number: document_number.unwrap_or_default(),
        issue_date: date_text(issue_date),
        issuing_office: issuing_office.unwrap_or_default(),
        copied_to,
        sign_date: date_text(sign_date),
        copy_to,
        public,
        unit,
        role: match role {
            HandlingRole::Sole => pb::HandlingRole::Sole,
            HandlingRole::Lead => pb::HandlingRole::Lead,
            HandlingRole::Co => pb::HandlingRole::Co,
            HandlingRole::Split => pb::HandlingRole::Split,
        }
        .into(),
        state: state_to_pb(Some(state)).into(),
        assigned_date: date_text(assigned_on),
        original_due_date: date_text(original_due_date),
        due_date: date_text(due_date),
        acknowledged_date: date_text(acknowledged_on),
        contacts: contacts.into_iter().map(pb::Contact::from).collect(),
        extensions: extensions
            .into_iter()
            .map(
                |Extension {
                     requested_on,
                     new_due_date,
                     reason,
                     decision,
                 }| {
                    let (status, decision_note, decided_date) = decision_to_pb(decision);
                    pb::Extension {
                        requested_date: date_text(requested_on),
                        new_due_date: new_due_date.to_string(),
                        reason,
                        status: status.into(),
                        decision_note,
                        decided_date,
                    }
                },
            )
            .collect(),
        return_requests: return_requests
            .into_iter()
            .map(
                |ReturnRequest {
                     requested_on,
                     reason,
                     decision,
                 }| {
                    let (status, decision_note, decided_date) = decision_to_pb(decision);
                    pb::ReturnRequest {
                        requested_date: date_text(requested_on),
                        reason,
                        status: status.into(),
                        decision_note,
                        decided_date,
                    }
                },
            )
            .collect(),
    }
}

/// An earlier round: each replying unit's reply as a handling with only its reply's fields.
fn round_to_pb(round: Round) -> pb::Round {
    let Round {
        round,
        replies,
        feedback,
        reopened_on,
        reopen_reason,
    } = round;
    pb::Round {
        round,
        replies: replies
            .into_iter()
            .map(
                |RoundReply {
                     unit,
                     role,
                     due_date,
                     reply,
                 }| {
                    let mut handling = Handling::new(unit, role, None, due_date);
                    handling.original_due_date = None;
                    handling.split = None;
                    let mut pb = handling_to_pb(handling, &reply);
                    pb.state = state_to_pb(Some(reply.state)).into();
                    pb
                },
            )
            .collect(),
        feedback: feedback
            .into_iter()
            .map(|record| feedback_to_pb(record.feedback, record.recorded_on))
            .collect(),
        reopened_date: date_text(reopened_on),
        reopen_reason,
    }
}

/// A request's status, the office's note and the decision's date.
fn decision_to_pb(decision: Option<OfficeDecision>) -> (pb::RequestStatus, String, String) {
    match decision {
        None => (pb::RequestStatus::Pending, String::new(), String::new()),
        Some(OfficeDecision {
            approved,
            note,
            decided_on,
        }) => (
            if approved {
                pb::RequestStatus::Approved
            } else {
                pb::RequestStatus::Refused
            },
            note,
            date_text(decided_on),
        ),
    }
}

impl From<Contact> for pb::Contact {
    fn from(contact: Contact) -> Self {
        let Contact {
            contact_date,
            method,
            proposers,
            summary,
        } = contact;
        pb::Contact {
            contact_date: contact_date.to_string(),
            method: match method {
                ContactMethod::Phone => pb::ContactMethod::Phone,
                ContactMethod::Meeting => pb::ContactMethod::Meeting,
                ContactMethod::Visit => pb::ContactMethod::Visit,
                ContactMethod::Letter => pb::ContactMethod::Letter,
                ContactMethod::Online => pb::ContactMethod::Online,
                ContactMethod::Other => pb::ContactMethod::Other,
            }
            .into(),
            proposers,
            summary,
        }
    }
}

fn opinion_to_pb(opinion: Opinion, submitted_on: Option<CalendarDate>) -> pb::Opinion {
    let Opinion {
        body,
        document_number,
        contact_person,
        contact_phone,
    } = opinion;
    pb::Opinion {
        body,
        document_number,
        contact_person,
        contact_phone,
        submitted_date: date_text(submitted_on),
    }
}

impl From<&Rules> for pb::Rules {
    fn from(rules: &Rules) -> Self {
        let Rules {
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
        } = rules;
        pb::Rules {
            reply_months: *reply_months,
            time_zone: time_zone.clone(),
            max_extension_days: *max_extension_days,
            contact_required_before_draft: *contact_required_before_draft,
            return_window_days: *return_window_days,
            unit_may_return_directly: *unit_may_return_directly,
            co_opinion_days: *co_opinion_days,
            require_co_opinions_before_sign: *require_co_opinions_before_sign,
            copy_to: copy_to.clone(),
            public_by_default: *public_by_default,
            redo_months: *redo_months,
            reopen_requires_dissatisfaction: *reopen_requires_dissatisfaction,
            result_codes: result_codes
                .iter()
                .map(|allowed| pb::ResultCodeMeaning {
                    code: result_code_to_pb(allowed.code).into(),
                    meaning: allowed.meaning.clone(),
                })
                .collect(),
        }
    }
}

impl From<LoggedEvent> for pb::ProposalEvent {
    fn from(logged: LoggedEvent) -> Self {
        use crate::domain::EventData as E;
        use pb::proposal_event::Data;
        let LoggedEvent { event, hash } = logged;
        let RecordedEvent {
            schema: _,
            proposal_id,
            sequence,
            position,
            occurred_at,
            effective_date,
            actor,
            request_id,
            from_state,
            to_state,
            data,
        } = event;
        let data = match data {
            E::ProposalReceived {
                committee,
                session,
                number,
                title,
                proposers,
                content,
                proposer_kind,
            } => Data::Received(pb::ProposalReceived {
                committee,
                session,
                number,
                title,
                proposers,
                content,
                proposer_kind: proposer_kind_to_pb(proposer_kind).into(),
            }),
            E::ProposalAssigned {
                handling_unit,
                due_date,
                co_units,
                co_due_date,
                split_units,
            } => Data::Assigned(pb::ProposalAssigned {
                handling_unit,
                due_date: date_text(due_date),
                co_units,
                co_due_date: date_text(co_due_date),
                split_units,
            }),
            E::ProposalReturned { reason } => Data::Returned(pb::ProposalReturned { reason }),
            E::ReplyDrafted {
                reply,
                revision,
                handling_unit,
            } => Data::Drafted(pb::ReplyDrafted {
                reply: Some(reply.into()),
                revision,
                handling_unit,
            }),
            E::DraftRejected {
                reason,
                handling_unit,
            } => Data::DraftRejected(pb::DraftRejected {
                reason,
                handling_unit,
            }),
            E::ReplySigned {
                signer,
                handling_unit,
                sign_date,
            } => Data::Signed(pb::ReplySigned {
                signer,
                handling_unit,
                sign_date: date_text(sign_date),
            }),
            E::ReplyIssued {
                document_number,
                issue_date,
                issuing_office,
                handling_unit,
                copy_to,
                public,
            } => Data::Issued(pb::ReplyIssued {
                document_number,
                issue_date: issue_date.to_string(),
                issuing_office,
                handling_unit,
                copy_to,
                public,
            }),
            E::ReplyCopied {
                recipients,
                handling_unit,
                proposers,
            } => Data::Copied(pb::ReplyCopied {
                recipients,
                handling_unit,
                proposers,
            }),
            E::ProposalRefused {
                reason,
                forwarded_to,
            } => Data::Refused(pb::ProposalRefused {
                reason,
                forwarded_to,
            }),
            E::AssignmentAcknowledged { handling_unit } => {
                Data::Acknowledged(pb::AssignmentAcknowledged { handling_unit })
            }
            E::ProposerContacted {
                handling_unit,
                contact,
            } => Data::Contacted(pb::ProposerContacted {
                handling_unit,
                contact: Some(contact.into()),
            }),
            E::ExtensionRequested {
                handling_unit,
                new_due_date,
                reason,
            } => Data::ExtensionRequested(pb::ExtensionRequested {
                handling_unit,
                new_due_date: new_due_date.to_string(),
                reason,
            }),
            E::ExtensionDecided {
                handling_unit,
                approved,
                note,
                due_date,
            } => Data::ExtensionDecided(pb::ExtensionDecided {
                handling_unit,
                approved,
                note,
                due_date: date_text(due_date),
            }),
            E::ReturnRequested {
                handling_unit,
                reason,
            } => Data::ReturnRequested(pb::ReturnRequested {
                handling_unit,
                reason,
            }),
            E::ReturnDecided {
                handling_unit,
                approved,
                note,
                reassigned_to,
                due_date,
            } => Data::ReturnDecided(pb::ReturnDecided {
                handling_unit,
                approved,
                note,
                reassigned_to,
                due_date: date_text(due_date),
            }),
            E::OpinionSubmitted {
                handling_unit,
                opinion,
            } => Data::OpinionSubmitted(pb::OpinionSubmitted {
                handling_unit,
                opinion: Some(opinion_to_pb(opinion, effective_date)),
            }),
            E::ProposalMerged {
                into_proposal_id,
                note,
            } => Data::Merged(pb::ProposalMerged {
                into_proposal_id: into_proposal_id.to_string(),
                note,
            }),
            E::MergeJoined {
                merged: MergedProposal { id, number },
            } => Data::MergeJoined(pb::MergeJoined {
                proposal_id: id.to_string(),
                number,
            }),
            E::FeedbackRecorded { feedback } => Data::FeedbackRecorded(pb::FeedbackRecorded {
                feedback: Some(feedback_to_pb(feedback, None)),
            }),
            E::ProposalClosed { note } => Data::Closed(pb::ProposalClosed { note }),
            E::ProposalReopened {
                round,
                reason,
                due_date,
            } => Data::Reopened(pb::ProposalReopened {
                round,
                reason,
                due_date: date_text(due_date),
            }),
            E::KeyProposalSet {
                key,
                supervisor,
                note,
            } => Data::KeySet(pb::KeyProposalSet {
                key,
                supervisor,
                note,
            }),
        };
        pb::ProposalEvent {
            proposal_id: proposal_id.to_string(),
            sequence,
            position,
            occurred_at: Some(timestamp(occurred_at)),
            actor,
            request_id: request_id.unwrap_or_default(),
            from_state: state_to_pb(from_state).into(),
            hash: to_hex(&hash),
            to_state: state_to_pb(Some(to_state)).into(),
            effective_date: date_text(effective_date),
            data: Some(data),
        }
    }
}
