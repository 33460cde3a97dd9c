//! What callers ask the workflow to do. A command carries only typed, parsed values; its text
//! fields are checked against [`Limits`] by [`Command::validate`].

use serde::Serialize;

use super::limits::{FieldViolation, Limits, Violations};
use super::model::{
    CalendarDate, ContactMethod, Feedback, Opinion, Proposal, ProposalId, ProposerKind, Reply,
};

/// The registration of a new proposal (立案).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub committee: String,
    pub session: String,
    pub number: u32,
    pub title: String,
    pub proposers: Vec<String>,
    pub content: String,
    /// Left out of the fingerprint when MEMBER, so that requests from before the field hash
    /// as they did.
    #[serde(skip_serializing_if = "ProposerKind::is_member")]
    pub proposer_kind: ProposerKind,
}

/// One step of the workflow. Serialized only to fingerprint requests for idempotency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Command {
    Receive(Registration),
    Assign {
        handling_unit: String,
        due_date: Option<CalendarDate>,
        /// Co-handling units (会办): `handling_unit` then leads. Left out of the fingerprint
        /// when empty, so that requests from before the field hash as they did.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        co_units: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        co_due_date: Option<CalendarDate>,
        /// Further units that each reply on their own (分办), as `handling_unit` then does.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        split_units: Vec<String>,
    },
    Return {
        reason: String,
    },
    Draft {
        reply: Reply,
        /// The split handling (分办) it acts on; empty: the one replying unit. Left out of the
        /// fingerprint when empty.
        #[serde(skip_serializing_if = "String::is_empty")]
        handling_unit: String,
    },
    RejectDraft {
        reason: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        handling_unit: String,
    },
    Sign {
        signer: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        handling_unit: String,
        /// The day the leader signed; default the act's effective date.
        #[serde(skip_serializing_if = "Option::is_none")]
        sign_date: Option<CalendarDate>,
    },
    Issue {
        document_number: String,
        issue_date: CalendarDate,
        issuing_office: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        handling_unit: String,
        /// The 抄送 line; empty: the rules' recipients and, for a lead reply, its co-units.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        copy_to: Vec<String>,
        /// Whether the reply may be published; default the rules'.
        #[serde(skip_serializing_if = "Option::is_none")]
        public: Option<bool>,
    },
    /// The dispatch (送达): the reply to the proposers with the feedback form, and to
    /// `recipients` (empty: the document's 抄送 line).
    Copy {
        recipients: Vec<String>,
        #[serde(skip_serializing_if = "String::is_empty")]
        handling_unit: String,
        /// The proposers served: filled in by `decide` (every proposer of the proposal), as
        /// the event records it; callers leave it empty (events from before the dispatch was
        /// recorded have none).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        proposers: Vec<String>,
    },
    Refuse {
        reason: String,
        forwarded_to: String,
    },
    /// The unit signs for receipt (签收). An empty `handling_unit` is the proposal's one
    /// replying unit (so for the new unit commands below).
    Acknowledge {
        handling_unit: String,
    },
    /// The unit records a contact with the proposers.
    Contact {
        handling_unit: String,
        /// Default: the act's effective date.
        contact_date: Option<CalendarDate>,
        method: ContactMethod,
        /// Default: every proposer.
        proposers: Vec<String>,
        summary: String,
    },
    RequestExtension {
        handling_unit: String,
        new_due_date: CalendarDate,
        reason: String,
    },
    DecideExtension {
        handling_unit: String,
        approve: bool,
        note: String,
    },
    /// The unit asks the office to take the proposal back (申请退回).
    RequestReturn {
        handling_unit: String,
        reason: String,
    },
    /// The office decides a return request; an approval may hand the proposal straight to
    /// another unit.
    DecideReturn {
        handling_unit: String,
        approve: bool,
        note: String,
        /// Empty: back to RECEIVED.
        reassign_to: String,
        /// For a reassignment: default the rules' months after the decision (for a co-unit,
        /// the rules' co_opinion_days).
        due_date: Option<CalendarDate>,
    },
    /// A co-unit sends the lead its opinion (会办意见). An empty `handling_unit` is the one
    /// co-unit.
    SubmitOpinion {
        handling_unit: String,
        opinion: Opinion,
    },
    /// The committee merges this proposal into another (并案). See [`super::merge`]: the
    /// other proposal records a [`Command::Join`] in the same act.
    Merge {
        into_proposal_id: ProposalId,
        note: String,
    },
    /// The other side of a merge: `proposal_id` (numbered `number`) was merged into this one.
    /// Never sent by callers: `MergeProposal` records it.
    Join {
        proposal_id: ProposalId,
        number: u32,
    },
    /// The office records a proposer's verdict on the dispatched reply (征询意见表).
    RecordFeedback {
        feedback: Feedback,
    },
    /// The office closes a dispatched proposal (办结).
    Close {
        note: String,
    },
    /// The office sends a dispatched reply back to the same units to be handled again
    /// (重新办理), due on `due_date` (`None`: the rules' `redo_months` after the act).
    Reopen {
        reason: String,
        due_date: Option<CalendarDate>,
    },
    /// The office makes a proposal a key proposal (重点提案) under a supervising leader, or
    /// (with `key` false) no longer one.
    SetKey {
        key: bool,
        supervisor: String,
        note: String,
    },
}

/// The name of a command without its data: for error details, logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandKind {
    Receive,
    Assign,
    Return,
    Draft,
    RejectDraft,
    Sign,
    Issue,
    Copy,
    Refuse,
    Acknowledge,
    Contact,
    RequestExtension,
    DecideExtension,
    RequestReturn,
    DecideReturn,
    SubmitOpinion,
    Merge,
    Join,
    RecordFeedback,
    Close,
    SetKey,
    Reopen,
}

impl CommandKind {
    pub const ALL: [CommandKind; 22] = [
        Self::Receive,
        Self::Assign,
        Self::Return,
        Self::Draft,
        Self::RejectDraft,
        Self::Sign,
        Self::Issue,
        Self::Copy,
        Self::Refuse,
        Self::Acknowledge,
        Self::Contact,
        Self::RequestExtension,
        Self::DecideExtension,
        Self::RequestReturn,
        Self::DecideReturn,
        Self::SubmitOpinion,
        Self::Merge,
        Self::Join,
        Self::RecordFeedback,
        Self::Close,
        Self::SetKey,
        Self::Reopen,
    ];

    /// The RPC that carries this command.
    pub fn rpc_name(self) -> &'static str {
        match self {
            Self::Receive => "ReceiveProposal",
            Self::Assign => "AssignProposal",
            Self::Return => "ReturnProposal",
            Self::Draft => "DraftReply",
            Self::RejectDraft => "RejectDraft",
            Self::Sign => "SignReply",
            Self::Issue => "IssueReply",
            Self::Copy => "CopyReply",
            Self::Refuse => "RefuseProposal",
            Self::Acknowledge => "AcknowledgeAssignment",
            Self::Contact => "RecordContact",
            Self::RequestExtension => "RequestExtension",
            Self::DecideExtension => "DecideExtension",
            Self::RequestReturn => "RequestReturn",
            Self::DecideReturn => "DecideReturn",
            Self::SubmitOpinion => "SubmitOpinion",
            Self::Merge | Self::Join => "MergeProposal",
            Self::RecordFeedback => "RecordFeedback",
            Self::Close => "CloseProposal",
            Self::SetKey => "SetKeyProposal",
            Self::Reopen => "ReopenProposal",
        }
    }
}

impl Command {
    pub fn kind(&self) -> CommandKind {
        match self {
            Self::Receive(_) => CommandKind::Receive,
            Self::Assign { .. } => CommandKind::Assign,
            Self::Return { .. } => CommandKind::Return,
            Self::Draft { .. } => CommandKind::Draft,
            Self::RejectDraft { .. } => CommandKind::RejectDraft,
            Self::Sign { .. } => CommandKind::Sign,
            Self::Issue { .. } => CommandKind::Issue,
            Self::Copy { .. } => CommandKind::Copy,
            Self::Refuse { .. } => CommandKind::Refuse,
            Self::Acknowledge { .. } => CommandKind::Acknowledge,
            Self::Contact { .. } => CommandKind::Contact,
            Self::RequestExtension { .. } => CommandKind::RequestExtension,
            Self::DecideExtension { .. } => CommandKind::DecideExtension,
            Self::RequestReturn { .. } => CommandKind::RequestReturn,
            Self::DecideReturn { .. } => CommandKind::DecideReturn,
            Self::SubmitOpinion { .. } => CommandKind::SubmitOpinion,
            Self::Merge { .. } => CommandKind::Merge,
            Self::Join { .. } => CommandKind::Join,
            Self::RecordFeedback { .. } => CommandKind::RecordFeedback,
            Self::Close { .. } => CommandKind::Close,
            Self::Reopen { .. } => CommandKind::Reopen,
            Self::SetKey { .. } => CommandKind::SetKey,
        }
    }

    /// The `handling_unit` a command names, for the commands that name one.
    fn named_unit(&mut self) -> Option<&mut String> {
        match self {
            Self::Acknowledge { handling_unit }
            | Self::Contact { handling_unit, .. }
            | Self::RequestExtension { handling_unit, .. }
            | Self::DecideExtension { handling_unit, .. }
            | Self::RequestReturn { handling_unit, .. }
            | Self::DecideReturn { handling_unit, .. }
            | Self::SubmitOpinion { handling_unit, .. }
            | Self::Draft { handling_unit, .. }
            | Self::RejectDraft { handling_unit, .. }
            | Self::Sign { handling_unit, .. }
            | Self::Issue { handling_unit, .. }
            | Self::Copy { handling_unit, .. } => Some(handling_unit),
            _ => None,
        }
    }

    /// Whether the command acts on the reply (a draft to the copies): on a split proposal, on
    /// one unit's.
    pub fn acts_on_reply(&self) -> bool {
        matches!(
            self,
            Self::Draft { .. }
                | Self::RejectDraft { .. }
                | Self::Sign { .. }
                | Self::Issue { .. }
                | Self::Copy { .. }
        )
    }

    /// The command with an empty `handling_unit` naming `unit`, what a unit-bound caller means
    /// by leaving it out; `None` if it names a unit already or names none. A command on the
    /// reply names a unit only on a split proposal (elsewhere the reply is the one replying
    /// unit's, which the caller's remit is checked against).
    pub fn with_unit(&self, unit: &str, proposal: Option<&Proposal>) -> Option<Command> {
        if self.handling_unit() != Some("")
            || (self.acts_on_reply() && !proposal.is_some_and(Proposal::is_split))
        {
            return None;
        }
        let mut command = self.clone();
        if let Some(named) = command.named_unit() {
            unit.clone_into(named);
        }
        Some(command)
    }

    /// The `handling_unit` a command names (empty: none named), for the commands that name
    /// one: the read-only twin of [`Self::named_unit`].
    pub fn handling_unit(&self) -> Option<&str> {
        match self {
            Self::Acknowledge { handling_unit }
            | Self::Contact { handling_unit, .. }
            | Self::RequestExtension { handling_unit, .. }
            | Self::DecideExtension { handling_unit, .. }
            | Self::RequestReturn { handling_unit, .. }
            | Self::DecideReturn { handling_unit, .. }
            | Self::SubmitOpinion { handling_unit, .. }
            | Self::Draft { handling_unit, .. }
            | Self::RejectDraft { handling_unit, .. }
            | Self::Sign { handling_unit, .. }
            | Self::Issue { handling_unit, .. }
            | Self::Copy { handling_unit, .. } => Some(handling_unit),
            _ => None,
        }
    }

    /// The unit whose handling the command acts on, if a unit acts at all: the handling it
    /// names, else the proposal's one replying handling (a draft, a signature, a return). A
    /// unit-bound caller may act only when it is its own unit. `None` for the office's acts and
    /// for a handling that does not resolve.
    pub fn acting_unit<'a>(&'a self, proposal: &'a Proposal) -> Option<&'a str> {
        let named = match self {
            Self::Receive(_)
            | Self::Assign { .. }
            | Self::Refuse { .. }
            | Self::DecideExtension { .. }
            | Self::DecideReturn { .. }
            | Self::Merge { .. }
            | Self::Join { .. }
            | Self::RecordFeedback { .. }
            | Self::Close { .. }
            | Self::Reopen { .. }
            | Self::SetKey { .. } => return None,
            Self::Acknowledge { .. }
            | Self::Contact { .. }
            | Self::RequestExtension { .. }
            | Self::RequestReturn { .. }
            | Self::SubmitOpinion { .. }
            | Self::Draft { .. }
            | Self::RejectDraft { .. }
            | Self::Sign { .. }
            | Self::Issue { .. }
            | Self::Copy { .. } => self.handling_unit().unwrap_or(""),
            Self::Return { .. } => "",
        };
        proposal.handling(named).map(|h| h.unit.as_str())
    }

    /// Checks every text field against [`Limits`]; field names are those of the RPC request.
    pub fn validate(&self) -> Result<(), Vec<FieldViolation>> {
        let mut v = Violations::default();
        match self {
            Self::Receive(Registration {
                committee,
                session,
                number,
                title,
                proposers,
                content,
                proposer_kind: _,
            }) => {
                v.line("committee", committee, Limits::NAME_CHARS);
                v.line("session", session, Limits::NAME_CHARS);
                if *number == 0 {
                    v.add("number", "must be at least 1");
                }
                v.line("title", title, Limits::TITLE_CHARS);
                v.names("proposers", proposers, Limits::MAX_PROPOSERS);
                v.text("content", content, Limits::TEXT_CHARS);
            }
            Self::Assign {
                handling_unit,
                due_date,
                co_units,
                co_due_date,
                split_units,
            } => {
                v.line("handling_unit", handling_unit, Limits::NAME_CHARS);
                if !co_units.is_empty() {
                    v.names("co_units", co_units, Limits::MAX_CO_UNITS);
                    if let Some(i) = co_units.iter().position(|u| u == handling_unit) {
                        v.add(format!("co_units[{i}]"), "is the lead unit (handling_unit)");
                    }
                }
                if !split_units.is_empty() {
                    v.names("split_units", split_units, Limits::MAX_SPLIT_UNITS);
                    if let Some(i) = split_units.iter().position(|u| u == handling_unit) {
                        v.add(
                            format!("split_units[{i}]"),
                            "is handling_unit, which replies on its own already",
                        );
                    }
                    if !co_units.is_empty() {
                        v.add(
                            "split_units",
                            "cannot be combined with co_units: a proposal has a lead unit or \
                             split units",
                        );
                    }
                }
                match (co_due_date, due_date) {
                    (Some(_), _) if co_units.is_empty() => {
                        v.add("co_due_date", "only an assignment with co_units has one")
                    }
                    (Some(co), Some(due)) if co > due => v.add(
                        "co_due_date",
                        format!("is after the reply's due date, {due}"),
                    ),
                    _ => {}
                }
            }
            Self::Return { reason } => v.text("reason", reason, Limits::REASON_CHARS),
            Self::RejectDraft {
                reason,
                handling_unit,
            } => {
                v.text("reason", reason, Limits::REASON_CHARS);
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
            }
            Self::Draft {
                reply:
                    Reply {
                        body,
                        result_code: _,
                        contact_unit,
                        contact_phone,
                    },
                handling_unit,
            } => {
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
                v.text("reply.body", body, Limits::TEXT_CHARS);
                v.optional_line("reply.contact_unit", contact_unit, Limits::NAME_CHARS);
                v.optional_line("reply.contact_phone", contact_phone, Limits::PHONE_CHARS);
            }
            Self::Sign {
                signer,
                handling_unit,
                sign_date: _,
            } => {
                v.line("signer", signer, Limits::NAME_CHARS);
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
            }
            Self::Issue {
                document_number,
                issue_date: _,
                issuing_office,
                handling_unit,
                copy_to,
                public: _,
            } => {
                v.optional_names("copy_to", copy_to, Limits::MAX_RECIPIENTS);
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
                v.line(
                    "document_number",
                    document_number,
                    Limits::DOCUMENT_NUMBER_CHARS,
                );
                v.line("issuing_office", issuing_office, Limits::NAME_CHARS);
            }
            Self::Copy {
                recipients,
                handling_unit,
                proposers: _,
            } => {
                v.optional_names("recipients", recipients, Limits::MAX_RECIPIENTS);
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
            }
            Self::Refuse {
                reason,
                forwarded_to,
            } => {
                v.text("reason", reason, Limits::REASON_CHARS);
                v.optional_line("forwarded_to", forwarded_to, Limits::NAME_CHARS);
            }
            Self::Acknowledge { handling_unit } => {
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS)
            }
            Self::Contact {
                handling_unit,
                contact_date: _,
                method: _,
                proposers,
                summary,
            } => {
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
                if !proposers.is_empty() {
                    v.names("proposers", proposers, Limits::MAX_PROPOSERS);
                }
                v.text("summary", summary, Limits::REASON_CHARS);
            }
            Self::RequestExtension {
                handling_unit,
                new_due_date: _,
                reason,
            } => {
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
                v.text("reason", reason, Limits::REASON_CHARS);
            }
            Self::DecideExtension {
                handling_unit,
                approve: _,
                note,
            } => {
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
                v.optional_text("note", note, Limits::REASON_CHARS);
            }
            Self::RequestReturn {
                handling_unit,
                reason,
            } => {
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
                v.text("reason", reason, Limits::REASON_CHARS);
            }
            Self::DecideReturn {
                handling_unit,
                approve,
                note,
                reassign_to,
                due_date,
            } => {
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
                v.optional_text("note", note, Limits::REASON_CHARS);
                v.optional_line("reassign_to", reassign_to, Limits::NAME_CHARS);
                if !approve && !reassign_to.is_empty() {
                    v.add("reassign_to", "only an approved return is reassigned");
                }
                if due_date.is_some() && reassign_to.is_empty() {
                    v.add("due_date", "only a reassignment has a due date");
                }
            }
            Self::SubmitOpinion {
                handling_unit,
                opinion:
                    Opinion {
                        body,
                        document_number,
                        contact_person,
                        contact_phone,
                    },
            } => {
                v.optional_line("handling_unit", handling_unit, Limits::NAME_CHARS);
                v.text("body", body, Limits::TEXT_CHARS);
                v.optional_line(
                    "document_number",
                    document_number,
                    Limits::DOCUMENT_NUMBER_CHARS,
                );
                v.line("contact_person", contact_person, Limits::NAME_CHARS);
                v.line("contact_phone", contact_phone, Limits::PHONE_CHARS);
            }
            Self::Merge {
                into_proposal_id: _,
                note,
            } => v.optional_text("note", note, Limits::REASON_CHARS),
            Self::Join {
                proposal_id: _,
                number,
            } => {
                if *number == 0 {
                    v.add("number", "must be at least 1");
                }
            }
            Self::RecordFeedback {
                feedback:
                    Feedback {
                        proposer,
                        satisfaction: _,
                        attitude: _,
                        comment,
                    },
            } => {
                v.line("proposer", proposer, Limits::NAME_CHARS);
                v.optional_text("comment", comment, Limits::REASON_CHARS);
            }
            Self::Close { note } => v.optional_text("note", note, Limits::REASON_CHARS),
            Self::Reopen {
                reason,
                due_date: _,
            } => v.text("reason", reason, Limits::REASON_CHARS),
            Self::SetKey {
                key,
                supervisor,
                note,
            } => {
                v.optional_line("supervisor", supervisor, Limits::NAME_CHARS);
                v.optional_text("note", note, Limits::REASON_CHARS);
                if !key && !supervisor.is_empty() {
                    v.add("supervisor", "only a key proposal has a supervising leader");
                }
            }
        }
        v.into_result()
    }
}

/// Checks the committee and session a read names (a session's statistics) as a registration's
/// are checked: required one-line names within the limits.
pub fn validate_session(committee: &str, session: &str) -> Result<(), Vec<FieldViolation>> {
    let mut v = Violations::default();
    v.line("committee", committee, Limits::NAME_CHARS);
    v.line("session", session, Limits::NAME_CHARS);
    v.into_result()
}

/// Checks the fields every mutating request shares: who acts and the optional idempotency key.
pub fn validate_envelope(actor: &str, request_id: &str) -> Result<(), Vec<FieldViolation>> {
    let mut v = Violations::default();
    v.line("actor", actor, Limits::NAME_CHARS);
    v.optional_line("request_id", request_id, Limits::REQUEST_ID_CHARS);
    v.into_result()
}
