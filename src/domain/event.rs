//! Events: the facts the service records, in the past tense. A stored variant is never renamed
//! or removed; a new fact is a new variant, and a change of shape is a new schema version.

use serde::{Deserialize, Serialize};

use super::command::{Command, CommandKind, Registration};
use super::model::{
    CalendarDate, Contact, Feedback, HandlingRole, MergedProposal, Opinion, Proposal, ProposalId,
    ProposalState, ProposerKind, Reply, Timestamp,
};

/// The schema version written into every event recorded by this build. Version 2 added the
/// effective date, the proposer kind and the refusal; a version-1 event reads as one without
/// them (no effective date, members).
pub const EVENT_SCHEMA_VERSION: u16 = 2;

/// What happened to a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum EventData {
    ProposalReceived {
        committee: String,
        session: String,
        number: u32,
        title: String,
        proposers: Vec<String>,
        content: String,
        #[serde(default, skip_serializing_if = "ProposerKind::is_member")]
        proposer_kind: ProposerKind,
    },
    ProposalAssigned {
        handling_unit: String,
        due_date: Option<CalendarDate>,
        /// Absent before co-handling, and for a sole assignment.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        co_units: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        co_due_date: Option<CalendarDate>,
        /// Absent before split assignments, and for a sole or lead one: the units besides
        /// `handling_unit` that each reply on their own.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        split_units: Vec<String>,
    },
    ProposalReturned {
        reason: String,
    },
    ReplyDrafted {
        reply: Reply,
        /// True when this draft replaced an earlier one.
        revision: bool,
        /// The split unit (分办) whose reply it is; absent for the one replying unit's.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        handling_unit: String,
    },
    DraftRejected {
        reason: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        handling_unit: String,
    },
    ReplySigned {
        signer: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        handling_unit: String,
        /// The day the leader signed (成文日期); absent in events recorded before it was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sign_date: Option<CalendarDate>,
    },
    ReplyIssued {
        document_number: String,
        issue_date: CalendarDate,
        issuing_office: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        handling_unit: String,
        /// The 抄送 line printed on the document; absent before it was recorded, or empty.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        copy_to: Vec<String>,
        /// Whether the reply may be published; absent when not.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        public: bool,
    },
    ReplyCopied {
        recipients: Vec<String>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        handling_unit: String,
        /// The proposers served with the reply and its feedback form (征询意见表); absent in
        /// events recorded before the dispatch was.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        proposers: Vec<String>,
    },
    ProposalRefused {
        reason: String,
        forwarded_to: String,
    },
    AssignmentAcknowledged {
        handling_unit: String,
    },
    ProposerContacted {
        handling_unit: String,
        contact: Contact,
    },
    ExtensionRequested {
        handling_unit: String,
        new_due_date: CalendarDate,
        reason: String,
    },
    ExtensionDecided {
        handling_unit: String,
        approved: bool,
        note: String,
        /// The due date in force after the decision: the requested one when approved.
        due_date: Option<CalendarDate>,
    },
    ReturnRequested {
        handling_unit: String,
        reason: String,
    },
    ReturnDecided {
        handling_unit: String,
        approved: bool,
        note: String,
        /// The unit the proposal went to at once; empty when it went back to RECEIVED (or the
        /// request was refused).
        reassigned_to: String,
        /// The reassignment's due date, as given or computed from the rules.
        due_date: Option<CalendarDate>,
    },
    /// A co-unit sent the lead its opinion.
    OpinionSubmitted {
        handling_unit: String,
        opinion: Opinion,
    },
    /// The committee merged the proposal into another, which answers it.
    ProposalMerged {
        into_proposal_id: ProposalId,
        note: String,
    },
    /// Another proposal was merged into this one (recorded with its `ProposalMerged`).
    MergeJoined {
        merged: MergedProposal,
    },
    /// A proposer's verdict on the dispatched reply.
    FeedbackRecorded {
        feedback: Feedback,
    },
    /// The office closed the proposal (办结).
    ProposalClosed {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// The office sent the dispatched reply back to the same units to be handled again (重新办理):
    /// round `round` begins, with the reply due on `due_date` (as given, or the rules'
    /// `redo_months` later). The round before it is kept in the proposal's `rounds`.
    ProposalReopened {
        round: u32,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
        due_date: Option<CalendarDate>,
    },
    /// The office made the proposal a key proposal, or no longer one.
    KeyProposalSet {
        key: bool,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        supervisor: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
}

/// The name of an event without its data: for filters, logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    ProposalReceived,
    ProposalAssigned,
    ProposalReturned,
    ReplyDrafted,
    DraftRejected,
    ReplySigned,
    ReplyIssued,
    ReplyCopied,
    ProposalRefused,
    AssignmentAcknowledged,
    ProposerContacted,
    ExtensionRequested,
    ExtensionDecided,
    ReturnRequested,
    ReturnDecided,
    OpinionSubmitted,
    ProposalMerged,
    MergeJoined,
    FeedbackRecorded,
    ProposalClosed,
    KeyProposalSet,
    ProposalReopened,
}

/// A value that only one proposal in the whole registry may hold. `decide` sees one proposal,
/// so it cannot check these; whoever sees every proposal (the writer against the store, an
/// import, `verify`) checks each event's claim, and learns what it is from here alone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Claim {
    /// (committee, session, number) names one proposal: claimed by its registration.
    ProposalNumber {
        committee: String,
        session: String,
        number: u32,
    },
    /// A document number is issued once: claimed by the issue.
    DocumentNumber(String),
}

/// What an event does to a proposal's two large parts, its content and the reply in force. A
/// store may keep them only in the events that carry them (the embedded store does) and follow
/// them with this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LargeParts {
    /// The event carries the content (a registration).
    SetsContent,
    /// The event carries the reply now in force (a draft).
    SetsReply,
    /// No reply is in force after the event (a rejected draft).
    ClearsReply,
    /// Neither changes.
    Unchanged,
}

impl EventData {
    /// The registry-wide value this event takes, if any.
    pub fn claim(&self) -> Option<Claim> {
        match self {
            Self::ProposalReceived {
                committee,
                session,
                number,
                ..
            } => Some(Claim::ProposalNumber {
                committee: committee.clone(),
                session: session.clone(),
                number: *number,
            }),
            Self::ReplyIssued {
                document_number, ..
            } => Some(Claim::DocumentNumber(document_number.clone())),
            Self::ProposalAssigned { .. }
            | Self::ProposalReturned { .. }
            | Self::ReplyDrafted { .. }
            | Self::DraftRejected { .. }
            | Self::ReplySigned { .. }
            | Self::ReplyCopied { .. }
            | Self::ProposalRefused { .. }
            | Self::AssignmentAcknowledged { .. }
            | Self::ProposerContacted { .. }
            | Self::ExtensionRequested { .. }
            | Self::ExtensionDecided { .. }
            | Self::ReturnRequested { .. }
            | Self::ReturnDecided { .. }
            | Self::OpinionSubmitted { .. }
            | Self::ProposalMerged { .. }
            | Self::MergeJoined { .. }
            | Self::FeedbackRecorded { .. }
            | Self::ProposalClosed { .. }
            | Self::ProposalReopened { .. }
            | Self::KeyProposalSet { .. } => None,
        }
    }

    /// What this event does to the content and the reply in force. A split unit's reply is
    /// its handling's, not the proposal's.
    pub fn large_parts(&self) -> LargeParts {
        match self {
            Self::ProposalReceived { .. } => LargeParts::SetsContent,
            Self::ReplyDrafted { handling_unit, .. } if handling_unit.is_empty() => {
                LargeParts::SetsReply
            }
            Self::DraftRejected { handling_unit, .. } if handling_unit.is_empty() => {
                LargeParts::ClearsReply
            }
            // The round's reply is archived with the round (in the proposal's status).
            Self::ProposalReopened { .. } => LargeParts::ClearsReply,
            Self::ReplyDrafted { .. }
            | Self::DraftRejected { .. }
            | Self::ProposalAssigned { .. }
            | Self::ProposalReturned { .. }
            | Self::ReplySigned { .. }
            | Self::ReplyIssued { .. }
            | Self::ReplyCopied { .. }
            | Self::ProposalRefused { .. }
            | Self::AssignmentAcknowledged { .. }
            | Self::ProposerContacted { .. }
            | Self::ExtensionRequested { .. }
            | Self::ExtensionDecided { .. }
            | Self::ReturnRequested { .. }
            | Self::ReturnDecided { .. }
            | Self::OpinionSubmitted { .. }
            | Self::ProposalMerged { .. }
            | Self::MergeJoined { .. }
            | Self::FeedbackRecorded { .. }
            | Self::ProposalClosed { .. }
            | Self::KeyProposalSet { .. } => LargeParts::Unchanged,
        }
    }

    /// The content this event carries: a registration's.
    pub fn into_content(self) -> Option<String> {
        match self {
            Self::ProposalReceived { content, .. } => Some(content),
            _ => None,
        }
    }

    /// The reply this event carries: a draft's.
    pub fn into_reply(self) -> Option<Reply> {
        match self {
            Self::ReplyDrafted { reply, .. } => Some(reply),
            _ => None,
        }
    }

    /// The command whose decision records this event: deciding it again on the history before
    /// the event must give the event back ([`super::check_recorded`]).
    pub fn command(&self) -> Command {
        match self.clone() {
            Self::ProposalReceived {
                committee,
                session,
                number,
                title,
                proposers,
                content,
                proposer_kind,
            } => Command::Receive(Registration {
                committee,
                session,
                number,
                title,
                proposers,
                content,
                proposer_kind,
            }),
            Self::ProposalAssigned {
                handling_unit,
                due_date,
                co_units,
                co_due_date,
                split_units,
            } => Command::Assign {
                handling_unit,
                due_date,
                co_units,
                co_due_date,
                split_units,
            },
            Self::ProposalReturned { reason } => Command::Return { reason },
            Self::ReplyDrafted {
                reply,
                revision: _,
                handling_unit,
            } => Command::Draft {
                reply,
                handling_unit,
            },
            Self::DraftRejected {
                reason,
                handling_unit,
            } => Command::RejectDraft {
                reason,
                handling_unit,
            },
            Self::ReplySigned {
                signer,
                handling_unit,
                sign_date,
            } => Command::Sign {
                signer,
                handling_unit,
                sign_date,
            },
            Self::ReplyIssued {
                document_number,
                issue_date,
                issuing_office,
                handling_unit,
                copy_to,
                public,
            } => Command::Issue {
                document_number,
                issue_date,
                issuing_office,
                handling_unit,
                copy_to,
                public: Some(public),
            },
            Self::ReplyCopied {
                recipients,
                handling_unit,
                proposers,
            } => Command::Copy {
                recipients,
                handling_unit,
                proposers,
            },
            Self::ProposalRefused {
                reason,
                forwarded_to,
            } => Command::Refuse {
                reason,
                forwarded_to,
            },
            Self::AssignmentAcknowledged { handling_unit } => {
                Command::Acknowledge { handling_unit }
            }
            Self::ProposerContacted {
                handling_unit,
                contact:
                    Contact {
                        contact_date,
                        method,
                        proposers,
                        summary,
                    },
            } => Command::Contact {
                handling_unit,
                contact_date: Some(contact_date),
                method,
                proposers,
                summary,
            },
            Self::ExtensionRequested {
                handling_unit,
                new_due_date,
                reason,
            } => Command::RequestExtension {
                handling_unit,
                new_due_date,
                reason,
            },
            Self::ExtensionDecided {
                handling_unit,
                approved,
                note,
                due_date: _,
            } => Command::DecideExtension {
                handling_unit,
                approve: approved,
                note,
            },
            Self::ReturnRequested {
                handling_unit,
                reason,
            } => Command::RequestReturn {
                handling_unit,
                reason,
            },
            Self::ReturnDecided {
                handling_unit,
                approved,
                note,
                reassigned_to,
                due_date,
            } => Command::DecideReturn {
                handling_unit,
                approve: approved,
                note,
                reassign_to: reassigned_to,
                due_date,
            },
            Self::OpinionSubmitted {
                handling_unit,
                opinion,
            } => Command::SubmitOpinion {
                handling_unit,
                opinion,
            },
            Self::ProposalMerged {
                into_proposal_id,
                note,
            } => Command::Merge {
                into_proposal_id,
                note,
            },
            Self::MergeJoined {
                merged: MergedProposal { id, number },
            } => Command::Join {
                proposal_id: id,
                number,
            },
            Self::FeedbackRecorded { feedback } => Command::RecordFeedback { feedback },
            Self::ProposalClosed { note } => Command::Close { note },
            Self::ProposalReopened {
                round: _,
                reason,
                due_date,
            } => Command::Reopen { reason, due_date },
            Self::KeyProposalSet {
                key,
                supervisor,
                note,
            } => Command::SetKey {
                key,
                supervisor,
                note,
            },
        }
    }

    /// The command that records this event: with [`super::transition`], what makes a history a
    /// valid path of the state machine.
    pub fn command_kind(&self) -> CommandKind {
        match self {
            Self::ProposalReceived { .. } => CommandKind::Receive,
            Self::ProposalAssigned { .. } => CommandKind::Assign,
            Self::ProposalReturned { .. } => CommandKind::Return,
            Self::ReplyDrafted { .. } => CommandKind::Draft,
            Self::DraftRejected { .. } => CommandKind::RejectDraft,
            Self::ReplySigned { .. } => CommandKind::Sign,
            Self::ReplyIssued { .. } => CommandKind::Issue,
            Self::ReplyCopied { .. } => CommandKind::Copy,
            Self::ProposalRefused { .. } => CommandKind::Refuse,
            Self::AssignmentAcknowledged { .. } => CommandKind::Acknowledge,
            Self::ProposerContacted { .. } => CommandKind::Contact,
            Self::ExtensionRequested { .. } => CommandKind::RequestExtension,
            Self::ExtensionDecided { .. } => CommandKind::DecideExtension,
            Self::ReturnRequested { .. } => CommandKind::RequestReturn,
            Self::ReturnDecided { .. } => CommandKind::DecideReturn,
            Self::OpinionSubmitted { .. } => CommandKind::SubmitOpinion,
            Self::ProposalMerged { .. } => CommandKind::Merge,
            Self::MergeJoined { .. } => CommandKind::Join,
            Self::FeedbackRecorded { .. } => CommandKind::RecordFeedback,
            Self::ProposalClosed { .. } => CommandKind::Close,
            Self::ProposalReopened { .. } => CommandKind::Reopen,
            Self::KeyProposalSet { .. } => CommandKind::SetKey,
        }
    }

    pub fn kind(&self) -> EventKind {
        match self {
            Self::ProposalReceived { .. } => EventKind::ProposalReceived,
            Self::ProposalAssigned { .. } => EventKind::ProposalAssigned,
            Self::ProposalReturned { .. } => EventKind::ProposalReturned,
            Self::ReplyDrafted { .. } => EventKind::ReplyDrafted,
            Self::DraftRejected { .. } => EventKind::DraftRejected,
            Self::ReplySigned { .. } => EventKind::ReplySigned,
            Self::ReplyIssued { .. } => EventKind::ReplyIssued,
            Self::ReplyCopied { .. } => EventKind::ReplyCopied,
            Self::ProposalRefused { .. } => EventKind::ProposalRefused,
            Self::AssignmentAcknowledged { .. } => EventKind::AssignmentAcknowledged,
            Self::ProposerContacted { .. } => EventKind::ProposerContacted,
            Self::ExtensionRequested { .. } => EventKind::ExtensionRequested,
            Self::ExtensionDecided { .. } => EventKind::ExtensionDecided,
            Self::ReturnRequested { .. } => EventKind::ReturnRequested,
            Self::ReturnDecided { .. } => EventKind::ReturnDecided,
            Self::OpinionSubmitted { .. } => EventKind::OpinionSubmitted,
            Self::ProposalMerged { .. } => EventKind::ProposalMerged,
            Self::MergeJoined { .. } => EventKind::MergeJoined,
            Self::FeedbackRecorded { .. } => EventKind::FeedbackRecorded,
            Self::ProposalClosed { .. } => EventKind::ProposalClosed,
            Self::ProposalReopened { .. } => EventKind::ProposalReopened,
            Self::KeyProposalSet { .. } => EventKind::KeyProposalSet,
        }
    }
}

/// The units handling a proposal, as far as its events tell: what [`HandlingUnits::concerned`]
/// follows through a history. Each unit with its role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandlingUnits(Vec<(String, HandlingRole)>);

impl HandlingUnits {
    /// The units handling `proposal` (none before it exists).
    pub fn of(proposal: Option<&Proposal>) -> Self {
        Self(proposal.map_or_else(Vec::new, |p| {
            p.handlings
                .iter()
                .map(|h| (h.unit.clone(), h.role))
                .collect()
        }))
    }

    /// The units an event concerns: every unit handling the proposal before or after it (an
    /// assignment concerns the units it names, a return the units it takes the proposal from).
    /// The units' audit trails and watch streams are built from it. Moves past the event.
    pub fn concerned(&mut self, data: &EventData) -> Vec<String> {
        let mut units: Vec<String> = self.0.iter().map(|(unit, _)| unit.clone()).collect();
        match data {
            EventData::ProposalAssigned {
                handling_unit,
                co_units,
                split_units,
                ..
            } => {
                let first = match (co_units.is_empty(), split_units.is_empty()) {
                    (false, _) => HandlingRole::Lead,
                    (true, false) => HandlingRole::Split,
                    (true, true) => HandlingRole::Sole,
                };
                self.0 = std::iter::once((handling_unit.clone(), first))
                    .chain(co_units.iter().map(|u| (u.clone(), HandlingRole::Co)))
                    .chain(split_units.iter().map(|u| (u.clone(), HandlingRole::Split)))
                    .collect();
                units = self.0.iter().map(|(unit, _)| unit.clone()).collect();
            }
            EventData::ProposalReturned { .. } => self.0.clear(),
            EventData::ReturnDecided {
                handling_unit,
                approved: true,
                reassigned_to,
                ..
            } => {
                let role = self
                    .0
                    .iter()
                    .find(|(unit, _)| unit == handling_unit)
                    .map(|(_, role)| *role);
                match role {
                    // A CO or SPLIT unit's return ends its own part (its successor's part
                    // follows the others).
                    Some(role @ (HandlingRole::Co | HandlingRole::Split)) => {
                        self.0.retain(|(unit, _)| unit != handling_unit);
                        if !reassigned_to.is_empty() {
                            self.0.push((reassigned_to.clone(), role));
                        }
                    }
                    _ if reassigned_to.is_empty() => self.0.clear(),
                    _ => {
                        for (unit, _) in &mut self.0 {
                            if unit == handling_unit {
                                unit.clone_from(reassigned_to);
                            }
                        }
                    }
                }
                if !reassigned_to.is_empty() && !units.contains(reassigned_to) {
                    units.push(reassigned_to.clone());
                }
            }
            _ => {}
        }
        units
    }
}

/// An event as recorded: the fact plus where, when and by whom. This is the unit of storage and
/// of the history callers read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// The layout version of this record; see [`EVENT_SCHEMA_VERSION`].
    pub schema: u16,
    pub proposal_id: ProposalId,
    /// 1-based position within the proposal's history; the proposal's version after it.
    pub sequence: u64,
    /// 1-based position in the global log, strictly increasing in commit order.
    pub position: u64,
    /// When the event was recorded (the server's clock).
    pub occurred_at: Timestamp,
    /// The day the act happened in the office (schema 2); `None` in schema-1 events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<CalendarDate>,
    pub actor: String,
    pub request_id: Option<String>,
    /// `None` for the first event of a proposal.
    pub from_state: Option<ProposalState>,
    pub to_state: ProposalState,
    pub data: EventData,
}
