//! The state machine: `decide` holds every business rule and does no I/O; `apply` only folds and
//! never fails on an event that was stored.

use std::borrow::Cow;

use super::command::{Command, CommandKind, Registration};
use super::event::{EVENT_SCHEMA_VERSION, EventData, RecordedEvent};
use super::limits::FieldViolation;
use super::model::{
    CalendarDate, Closure, Contact, Extension, FeedbackRecord, Handling, HandlingRole,
    KeyDesignation, MergedProposal, OfficeDecision, Proposal, ProposalId, ProposalState,
    ProposerKind, Refusal, ReturnRequest, Round, RoundReply, Satisfaction, SplitReply, Timestamp,
};
use super::rules::Rules;

/// Why the core refused a command. Uniqueness across proposals (committee/session/number,
/// document numbers) is not decided here: only the store can see every proposal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid command: {0:?}")]
    Invalid(Vec<FieldViolation>),
    #[error("{} is not allowed while the proposal is {}", .command.rpc_name(), state_name(*.state))]
    InvalidTransition {
        command: CommandKind,
        /// `None` when the proposal does not exist yet.
        state: Option<ProposalState>,
    },
    #[error(transparent)]
    EffectiveDate(#[from] EffectiveDateError),
    #[error(transparent)]
    Precondition(#[from] Precondition),
}

/// Why a command allowed in the proposal's state is still refused: what its handling holds, or
/// what the rules require. Each is a FAILED_PRECONDITION with its own reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Precondition {
    #[error("{unit} is not handling this proposal")]
    NotAHandlingUnit { unit: String },
    #[error("{unit} already signed for receipt of this proposal")]
    AlreadyAcknowledged { unit: String },
    #[error(
        "{unit} has recorded no contact with the proposers, which the rules require before a draft"
    )]
    ContactRequired { unit: String },
    #[error(
        "a due date of {requested} is {days} days beyond the assignment's {original}; the rules \
         allow at most {max_days}"
    )]
    ExtensionLimit {
        requested: CalendarDate,
        original: CalendarDate,
        days: i64,
        max_days: u32,
    },
    #[error("{unit}'s request to extend to {new_due_date} waits for a decision")]
    ExtensionPending {
        unit: String,
        new_due_date: CalendarDate,
    },
    #[error("{unit} has no extension request waiting for a decision")]
    NoPendingExtension { unit: String },
    #[error("{unit}'s assignment has no due date to extend")]
    NoDueDate { unit: String },
    #[error(
        "a return may be asked for within {window_days} days of the assignment on {assigned_on}; \
         {date} is {days} days after it"
    )]
    ReturnWindowClosed {
        assigned_on: CalendarDate,
        date: CalendarDate,
        days: i64,
        window_days: u32,
    },
    #[error("{unit}'s request to return the proposal waits for a decision")]
    ReturnPending { unit: String },
    #[error("{unit} has no return request waiting for a decision")]
    NoPendingReturn { unit: String },
    #[error("{unit} is not a co-handling unit of this proposal")]
    NotACoUnit { unit: String },
    #[error(
        "the proposal has {count} {} units: name one in handling_unit",
        if *.role == HandlingRole::Co { "co-handling" } else { "replying" }
    )]
    HandlingUnitRequired { count: usize, role: HandlingRole },
    #[error("{unit} co-handles this proposal: it writes to the lead unit, which replies")]
    NotAReplyingUnit { unit: String },
    #[error("the lead unit signs once every co-unit has sent its opinion; waiting for {}", .units.join(", "))]
    CoOpinionsPending { units: Vec<String> },
    #[error("cannot merge into proposal {into}: {why}")]
    MergeNotAllowed { into: ProposalId, why: String },
    /// An ALREADY_EXISTS rather than a failed precondition: the verdict is on record.
    #[error("{proposer}'s verdict on this reply is recorded already")]
    FeedbackRecorded { proposer: String },
    #[error(
        "no proposer is recorded as not satisfied with round {round}'s reply; the rules reopen only such a proposal"
    )]
    NoDissatisfaction { round: u32 },
}

impl Precondition {
    /// The `ErrorInfo` reason callers branch on.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotAHandlingUnit { .. } => "NOT_A_HANDLING_UNIT",
            Self::AlreadyAcknowledged { .. } => "ALREADY_ACKNOWLEDGED",
            Self::ContactRequired { .. } => "CONTACT_REQUIRED",
            Self::ExtensionLimit { .. } => "EXTENSION_LIMIT",
            Self::ExtensionPending { .. } => "EXTENSION_PENDING",
            Self::NoPendingExtension { .. } => "NO_PENDING_EXTENSION",
            Self::NoDueDate { .. } => "NO_DUE_DATE",
            Self::ReturnWindowClosed { .. } => "RETURN_WINDOW_CLOSED",
            Self::ReturnPending { .. } => "RETURN_PENDING",
            Self::NoPendingReturn { .. } => "NO_PENDING_RETURN",
            Self::NotACoUnit { .. } => "NOT_A_CO_UNIT",
            Self::HandlingUnitRequired { .. } => "HANDLING_UNIT_REQUIRED",
            Self::NotAReplyingUnit { .. } => "NOT_A_REPLYING_UNIT",
            Self::CoOpinionsPending { .. } => "CO_OPINIONS_PENDING",
            Self::MergeNotAllowed { .. } => "MERGE_NOT_ALLOWED",
            Self::FeedbackRecorded { .. } => "FEEDBACK_RECORDED",
            Self::NoDissatisfaction { .. } => "NO_DISSATISFACTION",
        }
    }
}

/// Why a command's effective date is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EffectiveDateError {
    /// A bad argument whatever the proposal's state.
    #[error("effective_date {date} is after today ({today}) in the rules' time zone")]
    InFuture {
        date: CalendarDate,
        today: CalendarDate,
    },
    /// A failed precondition: the proposal's history already has a later act.
    #[error("effective_date {date} is before the proposal's previous act, on {previous}")]
    BeforePreviousAct {
        date: CalendarDate,
        previous: CalendarDate,
    },
}

fn state_name(state: Option<ProposalState>) -> &'static str {
    state.map_or("not yet received", ProposalState::as_str)
}

/// The state a command moves a proposal to from `state`, or `None` if it is not allowed there.
/// This table is the whole lifecycle, backward moves included.
pub fn transition(command: CommandKind, state: Option<ProposalState>) -> Option<ProposalState> {
    use CommandKind as C;
    use ProposalState as S;
    match (command, state) {
        (C::Receive, None) => Some(S::Received),
        (C::Assign, Some(S::Received)) => Some(S::Assigned),
        (C::Return, Some(S::Assigned)) => Some(S::Received),
        (C::Draft, Some(S::Assigned | S::Drafted)) => Some(S::Drafted),
        (C::RejectDraft, Some(S::Drafted)) => Some(S::Assigned),
        (C::Sign, Some(S::Drafted)) => Some(S::Signed),
        (C::Issue, Some(S::Signed)) => Some(S::Issued),
        (C::Copy, Some(S::Issued)) => Some(S::Copied),
        (C::Refuse, Some(S::Received)) => Some(S::NotAccepted),
        // The unit's own records keep the state.
        (C::Acknowledge, Some(s @ (S::Assigned | S::Drafted))) => Some(s),
        (
            C::Contact | C::RequestExtension | C::DecideExtension,
            Some(s @ (S::Assigned | S::Drafted | S::Signed)),
        ) => Some(s),
        // A return is asked for before the replying unit drafts (a co-unit may ask for its
        // part while the lead drafts: `recorded` tells them apart). An approval without a
        // reassignment leads back to RECEIVED (see `recorded`); a refusal, or an approval that
        // hands the proposal to another unit at once, keeps the state.
        (C::RequestReturn | C::DecideReturn, Some(s @ (S::Assigned | S::Drafted))) => Some(s),
        // A co-unit's opinion reaches the lead before it signs.
        (C::SubmitOpinion, Some(s @ (S::Assigned | S::Drafted))) => Some(s),
        // 并案: a registered proposal joins one that is registered or assigned, not yet drafted.
        (C::Merge, Some(S::Received)) => Some(S::Merged),
        (C::Join, Some(s @ (S::Received | S::Assigned))) => Some(s),
        // After the reply: the proposers' verdicts on the dispatched reply, then 办结.
        (C::RecordFeedback, Some(S::Copied)) => Some(S::Copied),
        (C::Close, Some(S::Copied)) => Some(S::Closed),
        // 重新办理: the same units handle it again, in a new round.
        (C::Reopen, Some(S::Copied)) => Some(S::Assigned),
        // 重点提案: designated (or no longer) while the proposal is handled.
        (
            C::SetKey,
            Some(s @ (S::Received | S::Assigned | S::Drafted | S::Signed | S::Issued | S::Copied)),
        ) => Some(s),
        _ => None,
    }
}

/// Where, when and by whom a command is recorded: everything an event holds that the command
/// does not, supplied by the application layer (the domain reads no clock and makes no ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The proposal's id: a fresh one for a registration, else the proposal's own.
    pub proposal_id: ProposalId,
    /// The event's place in the global log.
    pub position: u64,
    pub occurred_at: Timestamp,
    /// The day the act happened in the office, as the caller gave it; `decide` makes it today
    /// (in the rules' time zone) when `None`.
    pub effective_date: Option<CalendarDate>,
    pub actor: String,
    pub request_id: Option<String>,
}

impl Envelope {
    /// The envelope an event was recorded with: deciding its command again in it must give the
    /// event back.
    pub fn of(event: &RecordedEvent) -> Self {
        Self {
            proposal_id: event.proposal_id,
            position: event.position,
            occurred_at: event.occurred_at,
            effective_date: event.effective_date,
            actor: event.actor.clone(),
            request_id: event.request_id.clone(),
        }
    }
}

/// What a command decided: the one event it records, and the proposal after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub event: RecordedEvent,
    pub after: Proposal,
}

/// Decides what a command does to a proposal (`None`: not received yet) under `rules`: the event
/// to record and the proposal after it, or why not. The one place an event is built.
///
/// What the rules decide is recorded in the event (the effective date, a default due date), so
/// that deciding the event's own command again gives the same event whatever the rules are then.
pub fn decide(
    proposal: Option<&Proposal>,
    command: &Command,
    mut envelope: Envelope,
    rules: &Rules,
) -> Result<Decision, DomainError> {
    command.validate().map_err(DomainError::Invalid)?;
    if let Command::Draft { reply, .. } = command
        && !rules.allows(reply.result_code)
    {
        return Err(invalid(
            "reply.result_code",
            format!(
                "is {}, which the rules do not allow (allowed: {})",
                reply.result_code.as_str(),
                rules.allowed_codes()
            ),
        ));
    }
    let today = rules.date_at(envelope.occurred_at.unix_nanos());
    let date = envelope.effective_date.unwrap_or(today);
    if date > today {
        return Err(EffectiveDateError::InFuture { date, today }.into());
    }
    envelope.effective_date = Some(date);
    if let Command::Assign {
        co_due_date: Some(co),
        ..
    } = command
        && *co < date
    {
        return Err(invalid(
            "co_due_date",
            format!("is before the assignment on {date}"),
        ));
    }
    // An assignment without a due date is due the rules' months later (only that command is
    // copied, to fill it in).
    let defaulted;
    let command = match command {
        Command::Assign {
            handling_unit,
            due_date,
            co_units,
            co_due_date,
            split_units,
        } if due_date.is_none() || (co_due_date.is_none() && !co_units.is_empty()) => {
            let due_date = due_date.unwrap_or_else(|| rules.due_date(date));
            defaulted = Command::Assign {
                handling_unit: handling_unit.clone(),
                due_date: Some(due_date),
                co_units: co_units.clone(),
                co_due_date: co_due_date
                    .or_else(|| (!co_units.is_empty()).then(|| rules.co_due_date(date, due_date))),
                split_units: split_units.clone(),
            };
            &defaulted
        }
        Command::DecideReturn {
            handling_unit,
            approve: true,
            note,
            reassign_to,
            due_date: None,
        } if !reassign_to.is_empty() => {
            // A co-unit's successor owes an opinion, by the lead's due date at the latest.
            let co_due = proposal.and_then(|p| {
                let co = p.handling(handling_unit)?.role == HandlingRole::Co;
                let lead_due = p.handling("")?.due_date?;
                co.then(|| rules.co_due_date(date, lead_due))
            });
            defaulted = Command::DecideReturn {
                handling_unit: handling_unit.clone(),
                approve: true,
                note: note.clone(),
                reassign_to: reassign_to.clone(),
                due_date: Some(co_due.unwrap_or_else(|| rules.due_date(date))),
            };
            &defaulted
        }
        Command::Sign {
            signer,
            handling_unit,
            sign_date: None,
        } => {
            defaulted = Command::Sign {
                signer: signer.clone(),
                handling_unit: handling_unit.clone(),
                sign_date: Some(date),
            };
            &defaulted
        }
        Command::Issue {
            document_number,
            issue_date,
            issuing_office,
            handling_unit,
            copy_to,
            public,
        } if copy_to.is_empty() || public.is_none() => {
            // The rules' recipients, and a lead reply's co-units.
            let co_units = proposal.into_iter().flat_map(Proposal::co_units);
            defaulted = Command::Issue {
                document_number: document_number.clone(),
                issue_date: *issue_date,
                issuing_office: issuing_office.clone(),
                handling_unit: handling_unit.clone(),
                copy_to: if copy_to.is_empty() {
                    rules.copy_line(co_units)
                } else {
                    copy_to.clone()
                },
                public: Some(public.unwrap_or(rules.public_by_default)),
            };
            &defaulted
        }
        // The reply goes to every proposer, with the feedback form.
        Command::Copy {
            recipients,
            handling_unit,
            proposers,
        } if proposers.is_empty() => {
            defaulted = Command::Copy {
                recipients: recipients.clone(),
                handling_unit: handling_unit.clone(),
                proposers: proposal.map(|p| p.proposers.clone()).unwrap_or_default(),
            };
            &defaulted
        }
        // A reopened proposal's new reply is due the rules' months later.
        Command::Reopen {
            reason,
            due_date: None,
        } => {
            defaulted = Command::Reopen {
                reason: reason.clone(),
                due_date: Some(rules.redo_due_date(date)),
            };
            &defaulted
        }
        command => command,
    };
    if let Command::Reopen {
        due_date: Some(due),
        ..
    } = command
        && *due < date
    {
        return Err(invalid(
            "due_date",
            format!("is before the reopening on {date}"),
        ));
    }
    // A move the lifecycle refuses is refused as such, before its date is considered; a date
    // before the previous act is refused before an event is built.
    if let Ok(state) = lifecycle_state(proposal, command)
        && transition(command.kind(), state).is_some()
        && let Some(previous) = proposal.and_then(|p| p.last_act_date)
        && date < previous
    {
        return Err(EffectiveDateError::BeforePreviousAct { date, previous }.into());
    }
    let decision = recorded(proposal, command, envelope)?;
    check_rules(proposal, &decision.event.data, date, rules)?;
    Ok(decision)
}

/// What the rules in force forbid of an event `recorded` would record. Not part of the history
/// check: an event recorded under other rules stays valid.
fn check_rules(
    proposal: Option<&Proposal>,
    data: &EventData,
    date: CalendarDate,
    rules: &Rules,
) -> Result<(), Precondition> {
    let handling = |unit: &str| proposal.and_then(|p| p.handling(unit));
    let within_cap = |handling: Option<&Handling>, requested: CalendarDate| {
        let Some(original) = handling.and_then(|h| h.original_due_date) else {
            return Ok(());
        };
        let days = requested.days_since(original);
        if days > i64::from(rules.max_extension_days) {
            return Err(Precondition::ExtensionLimit {
                requested,
                original,
                days,
                max_days: rules.max_extension_days,
            });
        }
        Ok(())
    };
    match data {
        EventData::ProposalReopened { round, .. } if rules.reopen_requires_dissatisfaction => {
            let dissatisfied = proposal.is_some_and(|p| {
                p.feedback
                    .iter()
                    .any(|f| f.feedback.satisfaction == Satisfaction::NotSatisfied)
            });
            if dissatisfied {
                Ok(())
            } else {
                Err(Precondition::NoDissatisfaction { round: round - 1 })
            }
        }
        EventData::ReplySigned { .. } if rules.require_co_opinions_before_sign => {
            let units: Vec<String> = proposal
                .into_iter()
                .flat_map(|p| p.pending_opinions())
                .map(|h| h.unit.clone())
                .collect();
            if units.is_empty() {
                Ok(())
            } else {
                Err(Precondition::CoOpinionsPending { units })
            }
        }
        EventData::ReplyDrafted { handling_unit, .. } if rules.contact_required_before_draft => {
            match handling(handling_unit) {
                Some(h) if h.contacts.is_empty() => Err(Precondition::ContactRequired {
                    unit: h.unit.clone(),
                }),
                _ => Ok(()),
            }
        }
        EventData::ExtensionRequested {
            handling_unit,
            new_due_date,
            ..
        } => within_cap(handling(handling_unit), *new_due_date),
        EventData::ExtensionDecided {
            handling_unit,
            due_date: Some(granted),
            ..
        } => within_cap(handling(handling_unit), *granted),
        EventData::ReturnRequested { handling_unit, .. } => {
            let Some(assigned_on) = handling(handling_unit).and_then(|h| h.assigned_on) else {
                return Ok(());
            };
            let days = date.days_since(assigned_on);
            if days > i64::from(rules.return_window_days) {
                return Err(Precondition::ReturnWindowClosed {
                    assigned_on,
                    date,
                    days,
                    window_days: rules.return_window_days,
                });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The handling `unit` names (empty: the one replying unit), or why there is none.
fn handling_of<'a>(
    proposal: Option<&'a Proposal>,
    unit: &str,
) -> Result<&'a Handling, Precondition> {
    if let Some(p) = proposal
        && let Some(handling) = p.handling(unit)
    {
        return Ok(handling);
    }
    let replying = proposal.map_or(0, |p| p.handlings.iter().filter(|h| h.replies()).count());
    Err(match (unit, replying) {
        ("", 2..) => Precondition::HandlingUnitRequired {
            count: replying,
            role: HandlingRole::Split,
        },
        ("", _) => Precondition::NotAHandlingUnit {
            unit: "no unit".to_owned(),
        },
        _ => Precondition::NotAHandlingUnit {
            unit: unit.to_owned(),
        },
    })
}

/// The proposal as the reply of `unit` shows it (empty: the one replying unit): the proposal
/// itself, or for a split unit (分办) a copy whose state, handling unit and reply fields are
/// that unit's, which is what rendering its document needs.
pub fn reply_of<'a>(proposal: &'a Proposal, unit: &str) -> Result<Cow<'a, Proposal>, Precondition> {
    if unit.is_empty() && !proposal.is_split() {
        return Ok(Cow::Borrowed(proposal));
    }
    let handling = handling_of(Some(proposal), unit)?;
    let Some(part) = handling.split.as_deref() else {
        if !handling.replies() {
            return Err(Precondition::NotAReplyingUnit {
                unit: handling.unit.clone(),
            });
        }
        return Ok(Cow::Borrowed(proposal));
    };
    let mut view = proposal.clone();
    view.state = part.state;
    view.handling_unit = Some(handling.unit.clone());
    view.set_own_reply(part);
    Ok(Cow::Owned(view))
}

/// The proposal as round `round` of its handling left it (`None`: the current round): its
/// replies and verdicts in the proposal's own fields, each split unit's in its handling. What
/// rendering an earlier round's document needs. `None` for a round it has not reached.
pub fn in_round(proposal: &Proposal, round: Option<u32>) -> Option<Cow<'_, Proposal>> {
    let Some(round) = round.filter(|r| *r != proposal.round()) else {
        return Some(Cow::Borrowed(proposal));
    };
    let archived = proposal.rounds.iter().find(|r| r.round == round)?;
    let mut view = proposal.clone();
    view.feedback.clone_from(&archived.feedback);
    if archived
        .replies
        .iter()
        .any(|r| r.role == HandlingRole::Split)
    {
        // A split proposal's units as the round had them (a unit returned since still shows
        // its document; one that came after has none in this round).
        view.handlings = archived
            .replies
            .iter()
            .map(|reply| {
                let mut handling =
                    Handling::new(reply.unit.clone(), reply.role, None, reply.due_date);
                handling.split = Some(Box::new(reply.reply.clone()));
                handling
            })
            .collect();
    } else if let Some(reply) = archived.replies.first() {
        view.set_own_reply(&reply.reply);
        view.due_date = reply.due_date;
    }
    Some(Cow::Owned(view))
}

/// The state a command's move is checked against: the proposal's; on a split proposal (分办),
/// the state of the unit's handling the command acts on (its reply, or its own records), and
/// for a move of the whole proposal the most advanced unit's.
fn lifecycle_state(
    proposal: Option<&Proposal>,
    command: &Command,
) -> Result<Option<ProposalState>, Precondition> {
    let Some(p) = proposal.filter(|p| p.is_split()) else {
        return Ok(proposal.map(|p| p.state));
    };
    Ok(Some(match (command.kind(), command.handling_unit()) {
        (CommandKind::SubmitOpinion, _) => p.state,
        (_, Some(unit)) => handling_of(proposal, unit)?
            .split
            .as_deref()
            .map_or(p.state, |part| part.state),
        (CommandKind::Return | CommandKind::Join, None) => p.furthest_state(),
        (_, None) => p.state,
    }))
}

/// The unit whose reply a command on the reply acts on, as its event records it: a split
/// unit's name; empty for the one replying unit (the reply is then the proposal's).
fn replying_unit(proposal: Option<&Proposal>, unit: &str) -> Result<String, Precondition> {
    if unit.is_empty() && !proposal.is_some_and(Proposal::is_split) {
        return Ok(String::new());
    }
    let handling = handling_of(proposal, unit)?;
    if !handling.replies() {
        return Err(Precondition::NotAReplyingUnit {
            unit: handling.unit.clone(),
        });
    }
    Ok(if handling.split.is_some() {
        handling.unit.clone()
    } else {
        String::new()
    })
}

/// A replying unit's return is asked for and decided before it drafts; a co-unit's part may
/// be returned while the lead drafts.
fn replying_unit_not_drafted(
    handling: &Handling,
    command: CommandKind,
    state: Option<ProposalState>,
) -> Result<(), DomainError> {
    if handling.replies() && state != Some(ProposalState::Assigned) {
        return Err(DomainError::InvalidTransition { command, state });
    }
    Ok(())
}

/// The CO handling `unit` names (empty: the one co-unit), or why there is none.
fn co_handling<'a>(
    proposal: Option<&'a Proposal>,
    unit: &str,
) -> Result<&'a Handling, Precondition> {
    if unit.is_empty() {
        let co: Vec<&Handling> = proposal
            .iter()
            .flat_map(|p| &p.handlings)
            .filter(|h| h.role == HandlingRole::Co)
            .collect();
        return match co[..] {
            [one] => Ok(one),
            [] => Err(Precondition::NotACoUnit {
                unit: "no unit".to_owned(),
            }),
            _ => Err(Precondition::HandlingUnitRequired {
                count: co.len(),
                role: HandlingRole::Co,
            }),
        };
    }
    let handling = handling_of(proposal, unit)?;
    if handling.role != HandlingRole::Co {
        return Err(Precondition::NotACoUnit {
            unit: unit.to_owned(),
        });
    }
    Ok(handling)
}

/// Refuses `proposers` (a contact's, a dispatch's) naming anyone who is not one of the
/// proposal's proposers, each by its index.
fn not_proposers(proposal: Option<&Proposal>, proposers: &[String]) -> Result<(), DomainError> {
    let all = proposal.map_or(&[][..], |p| &p.proposers[..]);
    let strangers: Vec<FieldViolation> = proposers
        .iter()
        .enumerate()
        .filter(|(_, name)| !all.contains(name))
        .map(|(i, _)| FieldViolation::new(format!("proposers[{i}]"), "is not a proposer of it"))
        .collect();
    if strangers.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(strangers))
    }
}

fn invalid(field: impl Into<String>, description: impl Into<String>) -> DomainError {
    DomainError::Invalid(vec![FieldViolation::new(field, description)])
}

/// What `command` records on `proposal`, its fields taken as valid (`None`: the lifecycle does
/// not allow it there): `decide` after validation, and [`check_recorded`] on stored events,
/// which were accepted under the limits of their day.
fn recorded(
    proposal: Option<&Proposal>,
    command: &Command,
    envelope: Envelope,
) -> Result<Decision, DomainError> {
    let proposal_state = proposal.map(|p| p.state);
    // On a split proposal, the state of the handling the command acts on (see
    // `lifecycle_state`); the event's states are the proposal's, set below.
    let state = lifecycle_state(proposal, command)?;
    let to_state = transition(command.kind(), state).ok_or(DomainError::InvalidTransition {
        command: command.kind(),
        state,
    })?;
    let data = match command.clone() {
        Command::Receive(Registration {
            committee,
            session,
            number,
            title,
            proposers,
            content,
            proposer_kind,
        }) => EventData::ProposalReceived {
            committee,
            session,
            number,
            title,
            proposers,
            content,
            proposer_kind,
        },
        Command::Assign {
            handling_unit,
            due_date,
            co_units,
            co_due_date,
            split_units,
        } => {
            if let (Some(co), Some(due)) = (co_due_date, due_date)
                && co > due
            {
                return Err(invalid(
                    "co_due_date",
                    format!("is after the reply's due date, {due}"),
                ));
            }
            // What the handlings are built from, checked here too so that no stored assignment
            // opens two handlings of one unit, or a lead beside split units (`validate`
            // names the offending field first for a caller).
            if !co_units.is_empty() && !split_units.is_empty() {
                return Err(invalid("split_units", "cannot be combined with co_units"));
            }
            let units = std::iter::once(&handling_unit)
                .chain(&co_units)
                .chain(&split_units);
            for (i, unit) in units.clone().enumerate() {
                if units.clone().take(i).any(|earlier| earlier == unit) {
                    return Err(invalid(
                        if co_units.is_empty() {
                            "split_units"
                        } else {
                            "co_units"
                        },
                        "names a unit twice, or handling_unit",
                    ));
                }
            }
            EventData::ProposalAssigned {
                handling_unit,
                due_date,
                co_units,
                co_due_date,
                split_units,
            }
        }
        Command::Return { reason } => EventData::ProposalReturned { reason },
        Command::Draft {
            reply,
            handling_unit,
        } => EventData::ReplyDrafted {
            reply,
            revision: state == Some(ProposalState::Drafted),
            handling_unit: replying_unit(proposal, &handling_unit)?,
        },
        Command::RejectDraft {
            reason,
            handling_unit,
        } => EventData::DraftRejected {
            reason,
            handling_unit: replying_unit(proposal, &handling_unit)?,
        },
        Command::Sign {
            signer,
            handling_unit,
            sign_date,
        } => {
            // Signed on a day between the draft and the act's own date.
            if let Some(day) = sign_date {
                if let Some(date) = envelope.effective_date
                    && day > date
                {
                    return Err(invalid(
                        "sign_date",
                        format!("is after the act's effective date, {date}"),
                    ));
                }
                if let Some(previous) = proposal.and_then(|p| p.last_act_date)
                    && day < previous
                {
                    return Err(invalid(
                        "sign_date",
                        format!("is before the proposal's previous act, on {previous}"),
                    ));
                }
            }
            EventData::ReplySigned {
                signer,
                handling_unit: replying_unit(proposal, &handling_unit)?,
                sign_date,
            }
        }
        Command::Issue {
            document_number,
            issue_date,
            issuing_office,
            handling_unit,
            copy_to,
            public,
        } => EventData::ReplyIssued {
            document_number,
            issue_date,
            issuing_office,
            handling_unit: replying_unit(proposal, &handling_unit)?,
            copy_to,
            public: public.unwrap_or(false),
        },
        Command::Copy {
            mut recipients,
            handling_unit,
            proposers,
        } => {
            let unit = replying_unit(proposal, &handling_unit)?;
            not_proposers(proposal, &proposers)?;
            // By default, to the recipients the document's 抄送 line names: the split unit's
            // own document's, or the proposal's.
            if recipients.is_empty()
                && let Some(p) = proposal
            {
                let part = p.handling(&unit).and_then(|h| h.split.as_deref());
                recipients = part.map_or(&p.copy_to, |part| &part.copy_to).clone();
            }
            // A lead reply's copies go to its co-units too.
            for co in proposal.into_iter().flat_map(Proposal::co_units) {
                if !recipients.iter().any(|r| r == co) {
                    recipients.push(co.to_owned());
                }
            }
            EventData::ReplyCopied {
                recipients,
                handling_unit: unit,
                proposers,
            }
        }
        Command::Refuse {
            reason,
            forwarded_to,
        } => EventData::ProposalRefused {
            reason,
            forwarded_to,
        },
        Command::Acknowledge { handling_unit } => {
            let handling = handling_of(proposal, &handling_unit)?;
            if handling.acknowledged_on.is_some() {
                return Err(Precondition::AlreadyAcknowledged {
                    unit: handling.unit.clone(),
                }
                .into());
            }
            EventData::AssignmentAcknowledged {
                handling_unit: handling.unit.clone(),
            }
        }
        Command::Contact {
            handling_unit,
            contact_date,
            method,
            proposers,
            summary,
        } => {
            let handling = handling_of(proposal, &handling_unit)?;
            let contact_date = contact_date
                .or(envelope.effective_date)
                .ok_or_else(|| invalid("contact_date", "is required"))?;
            if let Some(date) = envelope.effective_date
                && contact_date > date
            {
                return Err(invalid(
                    "contact_date",
                    format!("is after the day it is recorded as of ({date})"),
                ));
            }
            if let Some(assigned) = handling.assigned_on
                && contact_date < assigned
            {
                return Err(invalid(
                    "contact_date",
                    format!("is before the assignment on {assigned}"),
                ));
            }
            not_proposers(proposal, &proposers)?;
            EventData::ProposerContacted {
                handling_unit: handling.unit.clone(),
                contact: Contact {
                    contact_date,
                    method,
                    proposers: if proposers.is_empty() {
                        proposal.map(|p| p.proposers.clone()).unwrap_or_default()
                    } else {
                        proposers
                    },
                    summary,
                },
            }
        }
        Command::RequestExtension {
            handling_unit,
            new_due_date,
            reason,
        } => {
            let handling = handling_of(proposal, &handling_unit)?;
            let unit = handling.unit.clone();
            if let Some(pending) = handling.pending_extension() {
                return Err(Precondition::ExtensionPending {
                    unit,
                    new_due_date: pending.new_due_date,
                }
                .into());
            }
            let due = handling
                .due_date
                .ok_or(Precondition::NoDueDate { unit: unit.clone() })?;
            if new_due_date <= due {
                return Err(invalid(
                    "new_due_date",
                    format!("must be after the due date in force, {due}"),
                ));
            }
            EventData::ExtensionRequested {
                handling_unit: unit,
                new_due_date,
                reason,
            }
        }
        Command::DecideExtension {
            handling_unit,
            approve,
            note,
        } => {
            let handling = handling_of(proposal, &handling_unit)?;
            let pending =
                handling
                    .pending_extension()
                    .ok_or_else(|| Precondition::NoPendingExtension {
                        unit: handling.unit.clone(),
                    })?;
            EventData::ExtensionDecided {
                handling_unit: handling.unit.clone(),
                approved: approve,
                note,
                due_date: approve.then_some(pending.new_due_date),
            }
        }
        Command::RequestReturn {
            handling_unit,
            reason,
        } => {
            let handling = handling_of(proposal, &handling_unit)?;
            replying_unit_not_drafted(handling, command.kind(), state)?;
            if handling.pending_return().is_some() {
                return Err(Precondition::ReturnPending {
                    unit: handling.unit.clone(),
                }
                .into());
            }
            EventData::ReturnRequested {
                handling_unit: handling.unit.clone(),
                reason,
            }
        }
        Command::DecideReturn {
            handling_unit,
            approve,
            note,
            reassign_to,
            due_date,
        } => {
            let handling = handling_of(proposal, &handling_unit)?;
            replying_unit_not_drafted(handling, command.kind(), state)?;
            if handling.pending_return().is_none() {
                return Err(Precondition::NoPendingReturn {
                    unit: handling.unit.clone(),
                }
                .into());
            }
            if reassign_to == handling.unit {
                return Err(invalid(
                    "reassign_to",
                    "is the unit that asked to return it",
                ));
            }
            if !reassign_to.is_empty() && proposal.is_some_and(|p| p.handled_by(&reassign_to)) {
                return Err(invalid(
                    "reassign_to",
                    "already handles this proposal in another role",
                ));
            }
            EventData::ReturnDecided {
                handling_unit: handling.unit.clone(),
                approved: approve,
                note,
                reassigned_to: reassign_to,
                due_date,
            }
        }
        Command::SubmitOpinion {
            handling_unit,
            opinion,
        } => {
            let handling = co_handling(proposal, &handling_unit)?;
            EventData::OpinionSubmitted {
                handling_unit: handling.unit.clone(),
                opinion,
            }
        }
        Command::Merge {
            into_proposal_id,
            note,
        } => {
            if Some(into_proposal_id) == proposal.map(|p| p.id) {
                return Err(Precondition::MergeNotAllowed {
                    into: into_proposal_id,
                    why: "a proposal cannot be merged into itself".into(),
                }
                .into());
            }
            EventData::ProposalMerged {
                into_proposal_id,
                note,
            }
        }
        Command::Join {
            proposal_id,
            number,
        } => EventData::MergeJoined {
            merged: MergedProposal {
                id: proposal_id,
                number,
            },
        },
        Command::RecordFeedback { feedback } => {
            let p = proposal.ok_or(DomainError::InvalidTransition {
                command: CommandKind::RecordFeedback,
                state: None,
            })?;
            if !p.proposers.contains(&feedback.proposer) {
                return Err(invalid(
                    "proposer",
                    "is not one of the proposal's proposers",
                ));
            }
            if p.feedback
                .iter()
                .any(|given| given.feedback.proposer == feedback.proposer)
            {
                return Err(Precondition::FeedbackRecorded {
                    proposer: feedback.proposer,
                }
                .into());
            }
            EventData::FeedbackRecorded { feedback }
        }
        Command::Close { note } => EventData::ProposalClosed { note },
        Command::Reopen { reason, due_date } => EventData::ProposalReopened {
            round: proposal.map_or(1, Proposal::round).saturating_add(1),
            reason,
            due_date,
        },
        Command::SetKey {
            key,
            supervisor,
            note,
        } => EventData::KeyProposalSet {
            key,
            supervisor,
            note,
        },
    };
    // An approved return of the replying unit without a reassignment gives the proposal back
    // to the office (a co-unit's only ends its own handling, a split unit's too unless it is
    // the last: see below).
    let to_state = match &data {
        EventData::ReturnDecided {
            handling_unit,
            approved: true,
            reassigned_to,
            ..
        } if reassigned_to.is_empty()
            && proposal
                .and_then(|p| p.handling(handling_unit))
                .is_some_and(Handling::replies) =>
        {
            ProposalState::Received
        }
        _ => to_state,
    };
    let split = proposal.is_some_and(Proposal::is_split);
    let Envelope {
        proposal_id,
        position,
        occurred_at,
        effective_date,
        actor,
        request_id,
    } = envelope;
    let mut event = RecordedEvent {
        schema: EVENT_SCHEMA_VERSION,
        proposal_id,
        sequence: proposal.map_or(0, |p| p.version) + 1,
        position,
        occurred_at,
        effective_date,
        actor,
        request_id,
        from_state: proposal_state,
        to_state,
        data,
    };
    // The one copy of the proposal a command makes: `apply` builds the next state from it.
    let mut after = apply(proposal.cloned(), &event);
    // A split proposal stands where its least advanced unit does (RECEIVED once none is left),
    // which is known once the unit's handling has moved, until it ends (the office closes it).
    if split && !to_state.is_terminal() {
        let state = after.split_state().unwrap_or(ProposalState::Received);
        event.to_state = state;
        after.state = state;
    }
    Ok(Decision { event, after })
}

/// A merge (并案): `merged` (RECEIVED) is merged into `into`, which records the merge too. Both
/// events in one act, `envelope` being the merged proposal's (the other's follows it in the
/// log, at the next position, with the same time, date, actor and request id). Besides what
/// `decide` checks on each, the two must be of the same committee and session, `into` must be
/// RECEIVED or ASSIGNED (not drafted, merged or closed), and neither may be the other.
pub fn merge(
    merged: Option<&Proposal>,
    into: &Proposal,
    command: &Command,
    envelope: Envelope,
    rules: &Rules,
) -> Result<[Decision; 2], DomainError> {
    let first = decide(merged, command, envelope.clone(), rules)?;
    let merged = &first.after;
    let not_allowed = |why: String| -> DomainError {
        Precondition::MergeNotAllowed { into: into.id, why }.into()
    };
    // One level only: the proposals merged into this one would be left answered by none.
    if !merged.merged.is_empty() {
        return Err(not_allowed(format!(
            "{} other proposal(s) were merged into the one to merge; merge them into {} directly",
            merged.merged.len(),
            into.id
        )));
    }
    if (&merged.committee, &merged.session) != (&into.committee, &into.session) {
        return Err(not_allowed(format!(
            "it is proposal No. {} of {} {}, another committee or session",
            into.number, into.committee, into.session
        )));
    }
    if transition(CommandKind::Join, Some(into.furthest_state())).is_none() {
        return Err(not_allowed(format!(
            "it is {}; a proposal is merged into one RECEIVED or ASSIGNED",
            into.furthest_state()
        )));
    }
    let join = Command::Join {
        proposal_id: merged.id,
        number: merged.number,
    };
    let second = decide(
        Some(into),
        &join,
        Envelope {
            proposal_id: into.id,
            position: envelope.position + 1,
            // The day the merge took effect, as the first event records it.
            effective_date: first.event.effective_date,
            ..envelope
        },
        rules,
    )?;
    Ok([first, second])
}

/// Why a stored or imported event cannot follow the history before it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotDecidable(pub String);

/// Whether `event` is exactly what deciding its command on `before` (the fold of the history
/// before it) records, in the event's own envelope and under its own schema version. The one
/// test of a history, for `verify` and for `import`: a history passes only if `decide` could
/// have produced it, event by event. Field contents are not re-validated against today's
/// limits (an event was accepted under the limits of its day); uniqueness across proposals
/// ([`super::Claim`]) is the caller's to check.
pub fn check_recorded(
    before: Option<&Proposal>,
    event: &RecordedEvent,
) -> Result<(), NotDecidable> {
    let fail = |text: String| Err(NotDecidable(text));
    if event.schema == 0 || event.schema > EVENT_SCHEMA_VERSION {
        return fail(format!(
            "event schema {} is unknown to this build (it reads 1 to {EVENT_SCHEMA_VERSION})",
            event.schema
        ));
    }
    let state = before.map(|p| p.state);
    let sequence = before.map_or(0, |p| p.version) + 1;
    if event.sequence != sequence {
        return fail(format!(
            "proposal {} is at version {}, so its next event has sequence {sequence}, not {}",
            event.proposal_id,
            sequence - 1,
            event.sequence
        ));
    }
    if let (Some(date), Some(previous)) =
        (event.effective_date, before.and_then(|p| p.last_act_date))
        && date < previous
    {
        return fail(format!(
            "the event is dated {date}, before proposal {}'s previous act on {previous}",
            event.proposal_id
        ));
    }
    if event.from_state != state {
        return fail(format!(
            "the event starts from {}, but proposal {} is {}",
            state_name(event.from_state),
            event.proposal_id,
            state_name(state)
        ));
    }
    let mut decided = match recorded(before, &event.data.command(), Envelope::of(event)) {
        Ok(Decision { event, .. }) => event,
        Err(DomainError::InvalidTransition { .. }) => {
            return fail(format!(
                "{:?} on proposal {} while it is {} is not a move of the lifecycle",
                event.data.kind(),
                event.proposal_id,
                state_name(state)
            ));
        }
        Err(e) => {
            return fail(format!(
                "{:?} on proposal {} could not have been recorded: {e}",
                event.data.kind(),
                event.proposal_id
            ));
        }
    };
    // Read under the schema it was written with (checked above): an older one is no mismatch.
    decided.schema = event.schema;
    if decided.to_state != event.to_state {
        return fail(format!(
            "{:?} moving proposal {} from {} to {} is not a move of the lifecycle",
            event.data.kind(),
            event.proposal_id,
            state_name(state),
            event.to_state
        ));
    }
    if decided != *event {
        return fail(format!(
            "{:?} on proposal {} is not what its command records there (a draft is a revision \
             exactly when it replaces an earlier draft)",
            event.data.kind(),
            event.proposal_id
        ));
    }
    Ok(())
}

/// Folds one recorded event into the proposal it belongs to. Total: an event that was stored is
/// always applied, even if (through damage) it arrives out of order; verifying the history is a
/// separate concern.
pub fn apply(proposal: Option<Proposal>, event: &RecordedEvent) -> Proposal {
    let mut p = proposal.unwrap_or_else(|| Proposal {
        id: event.proposal_id,
        committee: String::new(),
        session: String::new(),
        number: 0,
        title: String::new(),
        proposers: Vec::new(),
        proposer_kind: ProposerKind::Member,
        content: String::new(),
        state: event.to_state,
        handling_unit: None,
        due_date: None,
        reply: None,
        signer: None,
        sign_date: None,
        document_number: None,
        issue_date: None,
        issuing_office: None,
        copy_to: Vec::new(),
        public: false,
        copied_to: Vec::new(),
        refusal: None,
        merged_into: None,
        merged: Vec::new(),
        key: None,
        feedback: Vec::new(),
        closure: None,
        rounds: Vec::new(),
        handlings: Vec::new(),
        last_act_date: None,
        version: 0,
        received_at: event.occurred_at,
        updated_at: event.occurred_at,
    });
    match &event.data {
        EventData::ProposalReceived {
            committee,
            session,
            number,
            title,
            proposers,
            content,
            proposer_kind,
        } => {
            p.proposer_kind = *proposer_kind;
            p.committee.clone_from(committee);
            p.session.clone_from(session);
            p.number = *number;
            p.title.clone_from(title);
            p.proposers.clone_from(proposers);
            p.content.clone_from(content);
            p.received_at = event.occurred_at;
        }
        EventData::ProposalAssigned {
            handling_unit,
            due_date,
            co_units,
            co_due_date,
            split_units,
        } => {
            p.handling_unit = Some(handling_unit.clone());
            p.due_date = *due_date;
            let role = match (co_units.is_empty(), split_units.is_empty()) {
                (false, _) => HandlingRole::Lead,
                (true, false) => HandlingRole::Split,
                (true, true) => HandlingRole::Sole,
            };
            p.handlings = std::iter::once(Handling::new(
                handling_unit.clone(),
                role,
                event.effective_date,
                *due_date,
            ))
            .chain(co_units.iter().map(|unit| {
                Handling::new(
                    unit.clone(),
                    HandlingRole::Co,
                    event.effective_date,
                    *co_due_date,
                )
            }))
            .chain(split_units.iter().map(|unit| {
                Handling::new(
                    unit.clone(),
                    HandlingRole::Split,
                    event.effective_date,
                    *due_date,
                )
            }))
            .collect();
        }
        EventData::ProposalReturned { reason: _ } => {
            p.handling_unit = None;
            p.due_date = None;
            p.handlings.clear();
        }
        // A split unit's reply is its handling's, which moves on its own.
        EventData::ReplyDrafted { handling_unit, .. }
        | EventData::DraftRejected { handling_unit, .. }
        | EventData::ReplySigned { handling_unit, .. }
        | EventData::ReplyIssued { handling_unit, .. }
        | EventData::ReplyCopied { handling_unit, .. }
            if !handling_unit.is_empty() =>
        {
            if let Some(part) = handling_mut(&mut p, handling_unit).and_then(|h| h.split.as_mut()) {
                apply_split(part, &event.data);
            }
        }
        EventData::ReplyDrafted { reply, .. } => p.reply = Some(reply.clone()),
        EventData::DraftRejected { .. } => p.reply = None,
        EventData::ReplySigned {
            signer, sign_date, ..
        } => {
            p.signer = Some(signer.clone());
            p.sign_date = *sign_date;
        }
        EventData::ReplyIssued {
            document_number,
            issue_date,
            issuing_office,
            copy_to,
            public,
            ..
        } => {
            p.document_number = Some(document_number.clone());
            p.issue_date = Some(*issue_date);
            p.issuing_office = Some(issuing_office.clone());
            p.copy_to.clone_from(copy_to);
            p.public = *public;
        }
        EventData::ReplyCopied { recipients, .. } => p.copied_to.clone_from(recipients),
        EventData::ProposalRefused {
            reason,
            forwarded_to,
        } => {
            p.refusal = Some(Refusal {
                reason: reason.clone(),
                forwarded_to: forwarded_to.clone(),
            })
        }
        EventData::AssignmentAcknowledged { handling_unit } => {
            if let Some(h) = handling_mut(&mut p, handling_unit) {
                h.acknowledged_on = event.effective_date;
            }
        }
        EventData::ProposerContacted {
            handling_unit,
            contact,
        } => {
            if let Some(h) = handling_mut(&mut p, handling_unit) {
                h.contacts.push(contact.clone());
            }
        }
        EventData::ExtensionRequested {
            handling_unit,
            new_due_date,
            reason,
        } => {
            if let Some(h) = handling_mut(&mut p, handling_unit) {
                h.extensions.push(Extension {
                    requested_on: event.effective_date,
                    new_due_date: *new_due_date,
                    reason: reason.clone(),
                    decision: None,
                });
            }
        }
        EventData::ExtensionDecided {
            handling_unit,
            approved,
            note,
            due_date,
        } => {
            let mut replying = false;
            if let Some(h) = handling_mut(&mut p, handling_unit) {
                if let Some(pending) = h.extensions.last_mut() {
                    pending.decision = Some(OfficeDecision {
                        approved: *approved,
                        note: note.clone(),
                        decided_on: event.effective_date,
                    });
                }
                if let Some(granted) = due_date {
                    h.due_date = Some(*granted);
                    replying = matches!(h.role, HandlingRole::Sole | HandlingRole::Lead);
                }
            }
            if replying {
                p.due_date = *due_date;
            }
        }
        EventData::ReturnRequested {
            handling_unit,
            reason,
        } => {
            if let Some(h) = handling_mut(&mut p, handling_unit) {
                h.return_requests.push(ReturnRequest {
                    requested_on: event.effective_date,
                    reason: reason.clone(),
                    decision: None,
                });
            }
        }
        EventData::ReturnDecided {
            handling_unit,
            approved,
            note,
            reassigned_to,
            due_date,
        } => {
            if *approved {
                // The handling ends; a reassignment opens the new unit's, in the same role, at
                // once. The replying unit's return without one ends every handling.
                let role = handling_mut(&mut p, handling_unit).map(|h| h.role);
                let successor = (!reassigned_to.is_empty()).then(|| {
                    Handling::new(
                        reassigned_to.clone(),
                        role.unwrap_or_default(),
                        event.effective_date,
                        *due_date,
                    )
                });
                match (role, successor) {
                    (Some(HandlingRole::Co), successor) => {
                        p.handlings.retain(|h| h.unit != *handling_unit);
                        p.handlings.extend(successor);
                    }
                    // A split unit's part ends, or passes to its successor; the proposal's
                    // `handling_unit` is the first split unit left.
                    (Some(HandlingRole::Split), successor) => {
                        p.handlings.retain(|h| h.unit != *handling_unit);
                        p.handlings.extend(successor);
                        p.handling_unit = p.handlings.first().map(|h| h.unit.clone());
                        if p.handlings.is_empty() {
                            p.due_date = None;
                        }
                    }
                    (_, Some(successor)) => {
                        p.handling_unit = Some(successor.unit.clone());
                        p.due_date = successor.due_date;
                        if let Some(h) = handling_mut(&mut p, handling_unit) {
                            *h = successor;
                        } else {
                            p.handlings = vec![successor];
                        }
                    }
                    (_, None) => {
                        p.handlings.clear();
                        p.handling_unit = None;
                        p.due_date = None;
                    }
                }
            } else if let Some(h) = handling_mut(&mut p, handling_unit)
                && let Some(pending) = h.return_requests.last_mut()
            {
                pending.decision = Some(OfficeDecision {
                    approved: false,
                    note: note.clone(),
                    decided_on: event.effective_date,
                });
            }
        }
        EventData::OpinionSubmitted {
            handling_unit,
            opinion,
        } => {
            if let Some(h) = handling_mut(&mut p, handling_unit) {
                // A revision keeps the date of the first opinion.
                if h.opinion.is_some() {
                    h.first_opinion_on = h.first_opinion_on.or(h.opinion_submitted_on);
                }
                h.opinion = Some(opinion.clone());
                h.opinion_submitted_on = event.effective_date;
            }
        }
        EventData::ProposalMerged {
            into_proposal_id,
            note: _,
        } => p.merged_into = Some(*into_proposal_id),
        EventData::MergeJoined { merged } => p.merged.push(merged.clone()),
        EventData::FeedbackRecorded { feedback } => p.feedback.push(FeedbackRecord {
            feedback: feedback.clone(),
            recorded_on: event.effective_date,
        }),
        EventData::ProposalClosed { note } => {
            p.closure = Some(Closure {
                note: note.clone(),
                closed_on: event.effective_date,
            })
        }
        EventData::ProposalReopened {
            round: _,
            reason,
            due_date,
        } => reopen(&mut p, reason, *due_date, event.effective_date),
        EventData::KeyProposalSet {
            key,
            supervisor,
            note,
        } => {
            p.key = key.then(|| KeyDesignation {
                supervisor: supervisor.clone(),
                note: note.clone(),
                since: event.effective_date,
            })
        }
    }
    if event.effective_date.is_some() {
        p.last_act_date = event.effective_date;
    }
    p.state = event.to_state;
    p.version = event.sequence;
    p.updated_at = event.occurred_at;
    p
}

/// Ends the current round of `p` (its replies and verdicts go to `p.rounds`) and starts the
/// next: every replying unit drafts again, due on `due_date`, which is also the base its
/// extensions are capped from. A co-unit's handling is kept as it is: its opinion stands (it
/// may send a new one while the lead drafts).
fn reopen(
    p: &mut Proposal,
    reason: &str,
    due_date: Option<CalendarDate>,
    reopened_on: Option<CalendarDate>,
) {
    let round = p.round();
    // The sole or lead reply ends with the round (the state is the event's, set by `apply`).
    let own = p.own_reply();
    p.set_own_reply(&SplitReply::assigned());
    let mut replies = Vec::new();
    for h in p.handlings.iter_mut().filter(|h| h.replies()) {
        let reply = match &mut h.split {
            Some(part) => std::mem::replace(part.as_mut(), SplitReply::assigned()),
            None => own.clone(),
        };
        replies.push(RoundReply {
            unit: h.unit.clone(),
            role: h.role,
            due_date: h.due_date,
            reply,
        });
    }
    for h in p.handlings.iter_mut().filter(|h| h.replies()) {
        h.original_due_date = due_date;
        h.due_date = due_date;
    }
    p.due_date = due_date;
    p.closure = None;
    p.rounds.push(Round {
        round,
        replies,
        feedback: std::mem::take(&mut p.feedback),
        reopened_on,
        reopen_reason: reason.to_owned(),
    });
}

/// Folds an event on a split unit's reply into its handling's part.
fn apply_split(part: &mut SplitReply, data: &EventData) {
    match data {
        EventData::ReplyDrafted { reply, .. } => {
            part.reply = Some(reply.clone());
            part.state = ProposalState::Drafted;
        }
        EventData::DraftRejected { .. } => {
            part.reply = None;
            part.state = ProposalState::Assigned;
        }
        EventData::ReplySigned {
            signer, sign_date, ..
        } => {
            part.signer = Some(signer.clone());
            part.sign_date = *sign_date;
            part.state = ProposalState::Signed;
        }
        EventData::ReplyIssued {
            document_number,
            issue_date,
            issuing_office,
            copy_to,
            public,
            ..
        } => {
            part.document_number = Some(document_number.clone());
            part.issue_date = Some(*issue_date);
            part.issuing_office = Some(issuing_office.clone());
            part.copy_to.clone_from(copy_to);
            part.public = *public;
            part.state = ProposalState::Issued;
        }
        EventData::ReplyCopied { recipients, .. } => {
            part.copied_to.clone_from(recipients);
            part.state = ProposalState::Copied;
        }
        _ => {}
    }
}

fn handling_mut<'a>(p: &'a mut Proposal, unit: &str) -> Option<&'a mut Handling> {
    p.handlings.iter_mut().find(|h| h.unit == unit)
}

/// The proposal a history describes (`None` for an empty history).
pub fn fold<'a>(events: impl IntoIterator<Item = &'a RecordedEvent>) -> Option<Proposal> {
    events
        .into_iter()
        .fold(None, |proposal, event| Some(apply(proposal, event)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        CalendarDate, ContactMethod, EventKind, HandlingUnits, ResultCode, examples,
    };

    /// Records `command`'s event on top of `history`, as the application layer does.
    fn record(history: &mut Vec<RecordedEvent>, command: &Command) -> Result<(), DomainError> {
        let current = fold(history.iter());
        let sequence = history.len() as u64 + 1;
        let envelope = Envelope {
            proposal_id: current
                .as_ref()
                .map_or(ProposalId::from_bytes([7; 16]), |p| p.id),
            position: sequence,
            occurred_at: Timestamp::from_unix_nanos(sequence as i64),
            effective_date: None,
            actor: "tester".into(),
            request_id: None,
        };
        let decision = decide(current.as_ref(), command, envelope, &Rules::default())?;
        assert_eq!(
            Some(&decision.after),
            fold(history.iter().chain([&decision.event])).as_ref()
        );
        history.push(decision.event);
        Ok(())
    }

    /// A history that leaves the proposal in `state` (`None`: no history).
    fn history_in(state: Option<ProposalState>) -> Vec<RecordedEvent> {
        use CommandKind as C;
        let path: &[CommandKind] = match state {
            None => &[],
            Some(ProposalState::Received) => &[C::Receive],
            Some(ProposalState::Assigned) => &[C::Receive, C::Assign],
            Some(ProposalState::Drafted) => &[C::Receive, C::Assign, C::Draft],
            Some(ProposalState::Signed) => &[C::Receive, C::Assign, C::Draft, C::Sign],
            Some(ProposalState::Issued) => &[C::Receive, C::Assign, C::Draft, C::Sign, C::Issue],
            Some(ProposalState::Copied) => {
                &[C::Receive, C::Assign, C::Draft, C::Sign, C::Issue, C::Copy]
            }
            Some(ProposalState::NotAccepted) => &[C::Receive, C::Refuse],
            Some(ProposalState::Merged) => &[C::Receive, C::Merge],
            Some(ProposalState::Closed) => &[
                C::Receive,
                C::Assign,
                C::Draft,
                C::Sign,
                C::Issue,
                C::Copy,
                C::Close,
            ],
        };
        let mut history = Vec::new();
        for kind in path {
            record(&mut history, &examples::command(*kind)).unwrap();
        }
        assert_eq!(fold(history.iter()).map(|p| p.state), state);
        history
    }

    /// As [`history_in`], but the assignment has a co-unit, whose opinion is in before the
    /// lead signs.
    fn co_history_in(state: Option<ProposalState>) -> Vec<RecordedEvent> {
        let mut history = Vec::new();
        for event in history_in(state) {
            let command = match event.data.kind() {
                EventKind::ProposalAssigned => examples::co_assignment(),
                _ => event.data.command(),
            };
            if event.data.kind() == EventKind::ReplySigned {
                record(&mut history, &examples::command(CommandKind::SubmitOpinion)).unwrap();
            }
            record(&mut history, &command).unwrap();
        }
        history
    }

    /// Given a proposal in each state, when each command: then exactly the lifecycle's moves are
    /// allowed, they reach the right state, and every other pair is an invalid transition.
    #[test]
    fn every_state_and_command_pair() {
        use ProposalState as S;
        let expected = |kind: CommandKind, state: Option<S>| -> Option<S> {
            match (kind, state) {
                (CommandKind::Receive, None) => Some(S::Received),
                (CommandKind::Assign, Some(S::Received)) => Some(S::Assigned),
                (CommandKind::Return, Some(S::Assigned)) => Some(S::Received),
                (CommandKind::Draft, Some(S::Assigned)) => Some(S::Drafted),
                (CommandKind::Draft, Some(S::Drafted)) => Some(S::Drafted),
                (CommandKind::RejectDraft, Some(S::Drafted)) => Some(S::Assigned),
                (CommandKind::Sign, Some(S::Drafted)) => Some(S::Signed),
                (CommandKind::Issue, Some(S::Signed)) => Some(S::Issued),
                (CommandKind::Copy, Some(S::Issued)) => Some(S::Copied),
                (CommandKind::Refuse, Some(S::Received)) => Some(S::NotAccepted),
                (CommandKind::Acknowledge, Some(s @ (S::Assigned | S::Drafted))) => Some(s),
                (
                    CommandKind::Contact
                    | CommandKind::RequestExtension
                    | CommandKind::DecideExtension,
                    Some(s @ (S::Assigned | S::Drafted | S::Signed)),
                ) => Some(s),
                // The example approves and reassigns at once: ASSIGNED, to the other unit.
                (CommandKind::RequestReturn | CommandKind::DecideReturn, Some(S::Assigned)) => {
                    Some(S::Assigned)
                }
                // A revised opinion replaces the first.
                (CommandKind::SubmitOpinion, Some(s @ (S::Assigned | S::Drafted))) => Some(s),
                (CommandKind::Merge, Some(S::Received)) => Some(S::Merged),
                (CommandKind::Join, Some(s @ (S::Received | S::Assigned))) => Some(s),
                (CommandKind::RecordFeedback, Some(S::Copied)) => Some(S::Copied),
                (CommandKind::Close, Some(S::Copied)) => Some(S::Closed),
                (CommandKind::Reopen, Some(S::Copied)) => Some(S::Assigned),
                (
                    CommandKind::SetKey,
                    Some(
                        s @ (S::Received
                        | S::Assigned
                        | S::Drafted
                        | S::Signed
                        | S::Issued
                        | S::Copied),
                    ),
                ) => Some(s),
                _ => None,
            }
        };
        let states = std::iter::once(None).chain(S::ALL.into_iter().map(Some));
        let mut allowed = 0;
        for state in states {
            for kind in CommandKind::ALL {
                let mut history = match kind {
                    CommandKind::SubmitOpinion => co_history_in(state),
                    _ => history_in(state),
                };
                // A decision needs a request to decide on, wherever one can be made.
                let request = match kind {
                    CommandKind::DecideExtension => Some(CommandKind::RequestExtension),
                    CommandKind::DecideReturn => Some(CommandKind::RequestReturn),
                    _ => None,
                };
                if let Some(request) = request
                    && expected(request, state).is_some()
                {
                    record(&mut history, &examples::command(request)).unwrap();
                }
                // A reopening needs a proposer who was not satisfied.
                if kind == CommandKind::Reopen && state == Some(S::Copied) {
                    record(&mut history, &examples::dissatisfied()).unwrap();
                }
                let before = history.clone();
                let outcome = record(&mut history, &examples::command(kind));
                match expected(kind, state) {
                    Some(target) => {
                        outcome.unwrap_or_else(|e| panic!("{kind:?} in {state:?}: {e}"));
                        assert_eq!(history.len(), before.len() + 1);
                        let after = fold(history.iter()).unwrap();
                        assert_eq!(after.state, target, "{kind:?} in {state:?}");
                        assert_eq!(after.version, history.len() as u64);
                        allowed += 1;
                    }
                    None => {
                        assert_eq!(
                            outcome,
                            Err(DomainError::InvalidTransition {
                                command: kind,
                                state
                            }),
                            "{kind:?} in {state:?}"
                        );
                        assert_eq!(history, before, "a refused command records nothing");
                    }
                }
            }
        }
        assert_eq!(
            allowed, 37,
            "eleven moves, eleven records that keep the state, a return asked for and decided, \
             an opinion while assigned or drafted, a merge joined while received or assigned, \
             a verdict, a closing and a reopening once copied, a key designation in the six \
             handled states"
        );
    }

    fn assigned_on(day: &str) -> (Vec<RecordedEvent>, Proposal) {
        let mut history = Vec::new();
        for kind in [CommandKind::Receive, CommandKind::Assign] {
            let p = fold(history.iter());
            let envelope = dated(p.as_ref(), "2019-06-20", Some(day));
            history.push(
                decide(
                    p.as_ref(),
                    &examples::command(kind),
                    envelope,
                    &Rules::default(),
                )
                .unwrap()
                .event,
            );
        }
        let p = fold(history.iter()).unwrap();
        (history, p)
    }

    fn on(
        history: &mut Vec<RecordedEvent>,
        day: &str,
        command: &Command,
        rules: &Rules,
    ) -> Result<Proposal, DomainError> {
        let p = fold(history.iter());
        let envelope = dated(p.as_ref(), "2019-12-31", Some(day));
        let decision = decide(p.as_ref(), command, envelope, rules)?;
        assert_eq!(check_recorded(p.as_ref(), &decision.event), Ok(()));
        history.push(decision.event);
        Ok(decision.after)
    }

    /// The document as issued: the sign date (default the act's date, never after it nor
    /// before the draft), the 抄送 line and `public` from the rules (a lead reply adds its
    /// co-units), and a dispatch that serves every proposer and by default the 抄送 line.
    #[test]
    fn a_reply_is_signed_issued_and_dispatched_as_the_document_says() {
        let rules = Rules {
            copy_to: vec!["市政协提案委".into(), "市政府督查室".into()],
            public_by_default: true,
            ..Rules::default()
        };
        let (mut history, _) = co_assigned_on("2019-06-10", None);
        for unit in [examples::CO_UNIT, FINANCE] {
            let opinion = opinion_of(unit);
            on(&mut history, "2019-07-01", &opinion, &rules).unwrap();
        }
        let draft = examples::command(CommandKind::Draft);
        on(&mut history, "2019-09-20", &draft, &rules).unwrap();
        let sign = |day: Option<&str>| Command::Sign {
            signer: "李光亚".into(),
            handling_unit: String::new(),
            sign_date: day.and_then(CalendarDate::parse),
        };
        let field = |outcome: Result<Proposal, DomainError>| match outcome {
            Err(DomainError::Invalid(violations)) => violations[0].field.clone(),
            other => panic!("expected a field violation, got {other:?}"),
        };
        let mut tried = history.clone();
        assert_eq!(
            field(on(
                &mut tried,
                "2019-09-26",
                &sign(Some("2019-09-27")),
                &rules
            )),
            "sign_date",
            "signed after the act that records it"
        );
        assert_eq!(
            field(on(
                &mut tried,
                "2019-09-26",
                &sign(Some("2019-09-19")),
                &rules
            )),
            "sign_date",
            "signed before the draft"
        );
        let undated = on(&mut tried, "2019-09-26", &sign(None), &rules).unwrap();
        assert_eq!(undated.sign_date, CalendarDate::parse("2019-09-26"));
        let signed = on(
            &mut history,
            "2019-09-28",
            &sign(Some("2019-09-25")),
            &rules,
        );
        assert_eq!(signed.unwrap().sign_date, CalendarDate::parse("2019-09-25"));

        let issue = examples::command(CommandKind::Issue);
        let issued = on(&mut history, "2019-09-29", &issue, &rules).unwrap();
        assert_eq!(
            issued.copy_to,
            ["市政协提案委", "市政府督查室", examples::CO_UNIT, FINANCE],
            "the rules' recipients, then the lead's co-units"
        );
        assert!(issued.public);
        let copy = Command::Copy {
            recipients: Vec::new(),
            handling_unit: String::new(),
            proposers: Vec::new(),
        };
        let copied = on(&mut history, "2019-10-08", &copy, &rules).unwrap();
        assert_eq!(
            copied.copied_to, issued.copy_to,
            "by default, the 抄送 line"
        );
        let EventData::ReplyCopied { proposers, .. } = &history.last().unwrap().data else {
            panic!("a dispatch");
        };
        assert_eq!(proposers, &copied.proposers, "every proposer is served");

        // Given explicitly, the 抄送 line and `public` are the caller's.
        let (mut history, _) = assigned_on("2019-06-10");
        for kind in [CommandKind::Draft, CommandKind::Sign] {
            on(&mut history, "2019-09-20", &examples::command(kind), &rules).unwrap();
        }
        let Command::Issue {
            document_number,
            issue_date,
            issuing_office,
            ..
        } = examples::command(CommandKind::Issue)
        else {
            unreachable!()
        };
        let own = Command::Issue {
            document_number,
            issue_date,
            issuing_office,
            handling_unit: String::new(),
            copy_to: vec!["市委办公室".into()],
            public: Some(false),
        };
        let issued = on(&mut history, "2019-09-29", &own, &rules).unwrap();
        assert_eq!(
            (issued.copy_to, issued.public),
            (vec!["市委办公室".to_owned()], false)
        );
    }

    const LEAD: &str = "许昌市生态环境局";
    const FINANCE: &str = "许昌市财政局";

    /// No. 228 assigned on `day` to the seed's unit leading, with the example co-unit and the
    /// finance bureau co-handling.
    fn co_assigned_on(day: &str, co_due_date: Option<&str>) -> (Vec<RecordedEvent>, Proposal) {
        let mut history = Vec::new();
        let rules = Rules::default();
        on(
            &mut history,
            day,
            &examples::command(CommandKind::Receive),
            &rules,
        )
        .unwrap();
        let assign = Command::Assign {
            handling_unit: LEAD.into(),
            due_date: None,
            co_units: vec![examples::CO_UNIT.into(), FINANCE.into()],
            co_due_date: co_due_date.and_then(CalendarDate::parse),
            split_units: Vec::new(),
        };
        let p = on(&mut history, day, &assign, &rules).unwrap();
        (history, p)
    }

    fn opinion_of(unit: &str) -> Command {
        Command::SubmitOpinion {
            handling_unit: unit.into(),
            opinion: examples::opinion(),
        }
    }

    fn precondition(outcome: Result<Proposal, DomainError>) -> &'static str {
        match outcome {
            Err(DomainError::Precondition(p)) => p.reason(),
            other => panic!("expected a failed precondition, got {other:?}"),
        }
    }

    /// The reply commands of a split proposal, each naming `unit` (dated `day`).
    fn split_reply(kind: CommandKind, unit: &str) -> Command {
        let mut command = examples::command(kind);
        if let Command::Issue {
            document_number, ..
        } = &mut command
        {
            // Each unit issues its own document.
            document_number.push_str(unit);
        }
        match &mut command {
            Command::Draft { handling_unit, .. }
            | Command::RejectDraft { handling_unit, .. }
            | Command::Sign { handling_unit, .. }
            | Command::Issue { handling_unit, .. }
            | Command::Copy { handling_unit, .. } => unit.clone_into(handling_unit),
            _ => unreachable!("not a command on the reply"),
        }
        command
    }

    /// The reply commands from a draft to the copies, the document numbered `number`.
    fn reply_path(number: &str) -> Vec<Command> {
        [
            CommandKind::Draft,
            CommandKind::Sign,
            CommandKind::Issue,
            CommandKind::Copy,
        ]
        .into_iter()
        .map(|kind| match examples::command(kind) {
            Command::Issue {
                issuing_office,
                handling_unit,
                copy_to,
                public,
                ..
            } => Command::Issue {
                document_number: number.into(),
                issue_date: CalendarDate::parse("2019-09-29").unwrap(),
                issuing_office,
                handling_unit,
                copy_to,
                public,
            },
            command => command,
        })
        .collect()
    }

    /// 重新办理: a proposer not satisfied, the office reopens; the round's reply and verdicts
    /// are kept as round 1, the same unit drafts again under a new due date (the rules'
    /// redo_months by default), and the new round takes its own verdicts.
    #[test]
    fn a_reopening_starts_a_new_round_and_keeps_the_old_one() {
        let rules = Rules::default();
        let mut history = Vec::new();
        for command in [
            examples::command(CommandKind::Receive),
            examples::command(CommandKind::Assign),
        ]
        .into_iter()
        .chain(reply_path("许环〔2019〕13号"))
        {
            on(&mut history, "2019-09-29", &command, &rules).unwrap();
        }
        let reopen = Command::Reopen {
            reason: "提案人不满意".into(),
            due_date: None,
        };
        // Without a dissatisfied proposer the rules refuse; with the rule off, they do not.
        assert_eq!(
            on(&mut history.clone(), "2019-10-08", &reopen, &rules),
            Err(Precondition::NoDissatisfaction { round: 1 }.into())
        );
        let lenient = Rules {
            reopen_requires_dissatisfaction: false,
            ..Rules::default()
        };
        on(&mut history.clone(), "2019-10-08", &reopen, &lenient).unwrap();
        on(
            &mut history,
            "2019-10-08",
            &examples::dissatisfied(),
            &rules,
        )
        .unwrap();
        let early = Command::Reopen {
            reason: "提案人不满意".into(),
            due_date: CalendarDate::parse("2019-10-01"),
        };
        assert_eq!(
            on(&mut history.clone(), "2019-10-08", &early, &rules),
            Err(invalid("due_date", "is before the reopening on 2019-10-08"))
        );
        let p = on(&mut history, "2019-10-09", &reopen, &rules).unwrap();
        assert_eq!(p.state, ProposalState::Assigned);
        assert_eq!(p.round(), 2);
        let due = CalendarDate::parse("2020-01-09");
        assert_eq!((p.due_date, p.handlings[0].due_date), (due, due));
        assert_eq!(p.handlings[0].original_due_date, due);
        assert_eq!(
            (&p.reply, &p.document_number, p.issue_date, &p.feedback),
            (&None, &None, None, &Vec::new())
        );
        let [first] = &p.rounds[..] else {
            panic!("one earlier round: {:?}", p.rounds)
        };
        assert_eq!(first.round, 1);
        assert_eq!(first.reopened_on, CalendarDate::parse("2019-10-09"));
        assert_eq!(first.feedback.len(), 1);
        let [reply] = &first.replies[..] else {
            panic!("one reply: {:?}", first.replies)
        };
        assert_eq!(reply.unit, "许昌市生态环境局");
        assert_eq!(reply.due_date, CalendarDate::parse("2019-08-31"));
        assert_eq!(reply.reply.state, ProposalState::Copied);
        assert_eq!(
            reply.reply.document_number.as_deref(),
            Some("许环〔2019〕13号")
        );
        // The new round: a new document, and the same proposer's verdict again.
        for command in reply_path("许环〔2019〕27号") {
            on(&mut history, "2019-11-20", &command, &rules).unwrap();
        }
        let p = on(
            &mut history,
            "2019-11-25",
            &examples::dissatisfied(),
            &rules,
        )
        .unwrap();
        assert_eq!(p.feedback.len(), 1);
        assert_eq!(
            precondition(on(
                &mut history,
                "2019-11-26",
                &examples::dissatisfied(),
                &rules
            )),
            "FEEDBACK_RECORDED"
        );
        // Each round reads as it was left.
        let earlier = in_round(&p, Some(1)).unwrap();
        assert_eq!(earlier.document_number.as_deref(), Some("许环〔2019〕13号"));
        assert_eq!(earlier.state, ProposalState::Copied);
        assert_eq!(
            in_round(&p, None).unwrap().document_number.as_deref(),
            Some("许环〔2019〕27号")
        );
        assert!(in_round(&p, Some(2)).is_some());
        assert!(in_round(&p, Some(3)).is_none());
    }

    /// 分办: a reopening sends every split unit back to drafting; each unit's reply of the
    /// round is kept.
    #[test]
    fn a_reopened_split_proposal_sends_every_unit_back() {
        const SPLIT: &str = examples::SPLIT_UNIT;
        let rules = Rules::default();
        let (mut history, _) = split_assigned();
        for unit in [LEAD, SPLIT] {
            for kind in [
                CommandKind::Draft,
                CommandKind::Sign,
                CommandKind::Issue,
                CommandKind::Copy,
            ] {
                on(&mut history, "2019-07-01", &split_reply(kind, unit), &rules).unwrap();
            }
        }
        on(
            &mut history,
            "2019-07-05",
            &examples::dissatisfied(),
            &rules,
        )
        .unwrap();
        let reopen = Command::Reopen {
            reason: "提案人不满意".into(),
            due_date: CalendarDate::parse("2019-09-30"),
        };
        let p = on(&mut history, "2019-07-06", &reopen, &rules).unwrap();
        assert_eq!(p.state, ProposalState::Assigned);
        assert_eq!(history.last().unwrap().to_state, ProposalState::Assigned);
        for h in &p.handlings {
            let part = h.split.as_deref().unwrap();
            assert_eq!(part.state, ProposalState::Assigned, "{}", h.unit);
            assert_eq!(part.document_number, None);
            assert_eq!(h.due_date, CalendarDate::parse("2019-09-30"));
        }
        let numbers: Vec<Option<&str>> = p.rounds[0]
            .replies
            .iter()
            .map(|r| r.reply.document_number.as_deref())
            .collect();
        assert_eq!(
            numbers,
            [
                Some(format!("许环〔2019〕13号{LEAD}").as_str()),
                Some(format!("许环〔2019〕13号{SPLIT}").as_str())
            ]
        );
        // The earlier document of either unit still renders from its round.
        let earlier = in_round(&p, Some(1)).unwrap();
        let view = reply_of(&earlier, SPLIT).unwrap();
        assert_eq!(view.state, ProposalState::Copied);
        assert_eq!(view.sign_date, CalendarDate::parse("2019-07-01"));
        // A unit that gives its part back in the new round keeps its first document; the unit
        // that takes over has none in round 1.
        let lenient = Rules {
            return_window_days: 90,
            ..Rules::default()
        };
        let ask = Command::RequestReturn {
            handling_unit: SPLIT.into(),
            reason: "不属于本单位职责".into(),
        };
        on(&mut history, "2019-07-07", &ask, &lenient).unwrap();
        let approve = Command::DecideReturn {
            handling_unit: SPLIT.into(),
            approve: true,
            note: String::new(),
            reassign_to: FINANCE.into(),
            due_date: None,
        };
        let p = on(&mut history, "2019-07-08", &approve, &lenient).unwrap();
        assert!(p.handling(SPLIT).is_none() && p.handling(FINANCE).is_some());
        let earlier = in_round(&p, Some(1)).unwrap();
        let returned = reply_of(&earlier, SPLIT).unwrap();
        assert_eq!(
            returned.document_number.as_deref(),
            Some(format!("许环〔2019〕13号{SPLIT}").as_str())
        );
        assert_eq!(
            reply_of(&earlier, FINANCE).map(|_| ()),
            Err(Precondition::NotAHandlingUnit {
                unit: FINANCE.into()
            })
        );
    }

    /// 分办: No. 228 split between the seed's unit and [`examples::SPLIT_UNIT`] on 2019-06-10.
    fn split_assigned() -> (Vec<RecordedEvent>, Proposal) {
        let mut history = Vec::new();
        let rules = Rules::default();
        let receive = examples::command(CommandKind::Receive);
        on(&mut history, "2019-06-10", &receive, &rules).unwrap();
        let p = on(
            &mut history,
            "2019-06-10",
            &examples::split_assignment(),
            &rules,
        )
        .unwrap();
        (history, p)
    }

    /// 分办: each unit drafts, signs, issues and copies its own reply; the proposal stands where
    /// the least advanced unit does, and its own reply fields stay empty.
    #[test]
    fn split_units_each_reply_on_their_own() {
        use CommandKind as C;
        const SPLIT: &str = examples::SPLIT_UNIT;
        let rules = Rules::default();
        let (mut history, p) = split_assigned();
        let roles: Vec<(&str, HandlingRole)> = p
            .handlings
            .iter()
            .map(|h| (h.unit.as_str(), h.role))
            .collect();
        assert_eq!(
            roles,
            [(LEAD, HandlingRole::Split), (SPLIT, HandlingRole::Split)]
        );
        assert_eq!(p.state, ProposalState::Assigned);
        assert_eq!(p.handling_unit.as_deref(), Some(LEAD));
        // Which unit's reply must be said.
        let draft = examples::command(C::Draft);
        assert_eq!(
            on(&mut history, "2019-06-11", &draft, &rules),
            Err(Precondition::HandlingUnitRequired {
                count: 2,
                role: HandlingRole::Split
            }
            .into())
        );
        let stranger = split_reply(C::Draft, FINANCE);
        assert_eq!(
            precondition(on(&mut history, "2019-06-11", &stranger, &rules)),
            "NOT_A_HANDLING_UNIT"
        );
        // The first unit runs ahead to its copies; the proposal waits for the second.
        for kind in [C::Draft, C::Sign, C::Issue, C::Copy] {
            let p = on(&mut history, "2019-07-01", &split_reply(kind, LEAD), &rules).unwrap();
            assert_eq!(p.state, ProposalState::Assigned, "after {kind:?}");
            assert_eq!((&p.reply, &p.signer, p.issue_date), (&None, &None, None));
        }
        let event = history.last().unwrap();
        assert_eq!(
            (event.from_state, event.to_state),
            (Some(ProposalState::Assigned), ProposalState::Assigned)
        );
        let p = fold(history.iter()).unwrap();
        let lead = p.handling(LEAD).unwrap().split.as_deref().unwrap();
        assert_eq!(lead.state, ProposalState::Copied);
        assert_eq!(lead.signer.as_deref(), Some("李光亚"));
        assert_eq!(lead.copied_to.len(), 2);
        // A unit past a step cannot take it again; one behind can.
        assert_eq!(
            on(
                &mut history,
                "2019-07-02",
                &split_reply(C::Sign, LEAD),
                &rules
            ),
            Err(DomainError::InvalidTransition {
                command: C::Sign,
                state: Some(ProposalState::Copied)
            })
        );
        on(
            &mut history,
            "2019-07-02",
            &split_reply(C::Draft, SPLIT),
            &rules,
        )
        .unwrap();
        let p = on(
            &mut history,
            "2019-07-03",
            &split_reply(C::RejectDraft, SPLIT),
            &rules,
        )
        .unwrap();
        assert_eq!(
            p.handling(SPLIT).unwrap().split.as_ref().unwrap().reply,
            None
        );
        for (kind, state) in [
            (C::Draft, ProposalState::Drafted),
            (C::Sign, ProposalState::Signed),
            (C::Issue, ProposalState::Issued),
        ] {
            let p = on(
                &mut history,
                "2019-07-04",
                &split_reply(kind, SPLIT),
                &rules,
            )
            .unwrap();
            assert_eq!(p.state, state, "after {kind:?}");
        }
        // Not before the previous act, whichever unit took it.
        assert!(matches!(
            on(
                &mut history,
                "2019-07-03",
                &split_reply(C::Copy, SPLIT),
                &rules
            ),
            Err(DomainError::EffectiveDate(_))
        ));
        let p = on(
            &mut history,
            "2019-07-05",
            &split_reply(C::Copy, SPLIT),
            &rules,
        )
        .unwrap();
        assert_eq!(p.state, ProposalState::Copied);
        // Each unit's document renders on its own, by name.
        assert_eq!(
            reply_of(&p, "").map(|_| ()),
            Err(Precondition::HandlingUnitRequired {
                count: 2,
                role: HandlingRole::Split
            })
        );
        let view = reply_of(&p, SPLIT).unwrap();
        assert_eq!(view.handling_unit.as_deref(), Some(SPLIT));
        assert_eq!(
            view.document_number.as_deref(),
            Some(format!("许环〔2019〕13号{SPLIT}").as_str())
        );
        // The history verifies event by event.
        let mut before = None;
        for event in &history {
            assert_eq!(check_recorded(before.as_ref(), event), Ok(()));
            before = Some(apply(before, event));
        }
    }

    /// A split unit's approved return ends its part only (or hands it over); the last one's
    /// gives the proposal back. A unit's own records and deadlines are its own.
    #[test]
    fn a_split_units_return_ends_its_part() {
        use CommandKind as C;
        const SPLIT: &str = examples::SPLIT_UNIT;
        let rules = Rules::default();
        let (mut history, _) = split_assigned();
        // The second unit runs ahead; the first asks to return its part.
        for kind in [C::Draft, C::Sign] {
            on(
                &mut history,
                "2019-06-12",
                &split_reply(kind, SPLIT),
                &rules,
            )
            .unwrap();
        }
        let ask = Command::RequestReturn {
            handling_unit: LEAD.into(),
            reason: "不属于本单位职责".into(),
        };
        on(&mut history, "2019-06-12", &ask, &rules).unwrap();
        // A unit past its draft may not ask.
        let late = Command::RequestReturn {
            handling_unit: SPLIT.into(),
            reason: "不属于本单位职责".into(),
        };
        assert!(matches!(
            on(&mut history, "2019-06-12", &late, &rules),
            Err(DomainError::InvalidTransition { .. })
        ));
        // The office withdraws a split proposal only while no unit has drafted.
        let withdraw = examples::command(C::Return);
        assert_eq!(
            on(&mut history, "2019-06-12", &withdraw, &rules),
            Err(DomainError::InvalidTransition {
                command: C::Return,
                state: Some(ProposalState::Signed)
            })
        );
        let approve = Command::DecideReturn {
            handling_unit: LEAD.into(),
            approve: true,
            note: String::new(),
            reassign_to: String::new(),
            due_date: None,
        };
        let p = on(&mut history, "2019-06-13", &approve, &rules).unwrap();
        // The proposal now stands where the one unit left does.
        assert_eq!(p.state, ProposalState::Signed);
        assert_eq!(p.handling_unit.as_deref(), Some(SPLIT));
        assert_eq!(p.handlings.len(), 1);
        let mut units = HandlingUnits::default();
        let concerned: Vec<Vec<String>> =
            history.iter().map(|e| units.concerned(&e.data)).collect();
        assert_eq!(
            concerned.last().unwrap(),
            &[LEAD.to_owned(), SPLIT.to_owned()]
        );
        assert_eq!(units, HandlingUnits::of(Some(&p)));
        // The one unit left is the replying unit: no name needed.
        let p = on(
            &mut history,
            "2019-06-14",
            &examples::command(C::Issue),
            &rules,
        )
        .unwrap();
        assert_eq!(p.state, ProposalState::Issued);
        assert!(p.handling("").unwrap().split.is_some());
        // An extension moves that unit's due date only, and overdue counts by it.
        let (mut history, _) = split_assigned();
        let ask = Command::RequestExtension {
            handling_unit: SPLIT.into(),
            new_due_date: CalendarDate::parse("2019-10-31").unwrap(),
            reason: "调研".into(),
        };
        on(&mut history, "2019-06-15", &ask, &rules).unwrap();
        let decide_it = Command::DecideExtension {
            handling_unit: SPLIT.into(),
            approve: true,
            note: String::new(),
        };
        let p = on(&mut history, "2019-06-16", &decide_it, &rules).unwrap();
        assert_eq!(p.due_date, CalendarDate::parse("2019-08-31"));
        let october = CalendarDate::parse("2019-10-15").unwrap();
        assert!(p.is_overdue_on(october), "the first unit is late");
        for kind in [C::Draft, C::Sign, C::Issue] {
            on(&mut history, "2019-06-20", &split_reply(kind, LEAD), &rules).unwrap();
        }
        let p = fold(history.iter()).unwrap();
        assert!(!p.is_overdue_on(october), "the second is not due yet");
        assert!(p.is_overdue_on(CalendarDate::parse("2019-11-01").unwrap()));
        // Co-units and split units do not mix.
        let mut mixed = examples::split_assignment();
        if let Command::Assign { co_units, .. } = &mut mixed {
            co_units.push(FINANCE.into());
        }
        assert!(matches!(mixed.validate(), Err(v) if v.iter().any(|v| v.field == "split_units")));
    }

    /// A stored assignment that would open two handlings of one unit, or a lead beside split
    /// units, is not one `decide` could have recorded: `verify` and `import` refuse it.
    #[test]
    fn a_stored_assignment_opens_each_unit_once() {
        let (history, _) = split_assigned();
        let received = fold(history.iter().take(1));
        // Edits the assignment's (handling_unit, co_units, split_units).
        type Edit<'a> = &'a dyn Fn(&mut String, &mut Vec<String>, &mut Vec<String>);
        let forge = |edit: Edit| {
            let mut forged = history[1].clone();
            if let EventData::ProposalAssigned {
                handling_unit,
                co_units,
                split_units,
                ..
            } = &mut forged.data
            {
                edit(handling_unit, co_units, split_units);
            }
            forged
        };
        let twice = forge(&|unit, _, split| split.push(unit.clone()));
        assert!(check_recorded(received.as_ref(), &twice).is_err());
        let mixed = forge(&|_, co, _| co.push(FINANCE.into()));
        assert!(check_recorded(received.as_ref(), &mixed).is_err());
        assert_eq!(check_recorded(received.as_ref(), &history[1]), Ok(()));
    }

    /// 主办/会办: the assignment opens a LEAD handling and a CO one per co-unit, whose opinions
    /// are due the rules' days later (never after the reply).
    #[test]
    fn co_units_are_assigned_with_their_own_due_date() {
        let (_, p) = co_assigned_on("2019-06-10", None);
        let roles: Vec<(&str, HandlingRole)> = p
            .handlings
            .iter()
            .map(|h| (h.unit.as_str(), h.role))
            .collect();
        assert_eq!(
            roles,
            [
                (LEAD, HandlingRole::Lead),
                (examples::CO_UNIT, HandlingRole::Co),
                (FINANCE, HandlingRole::Co)
            ]
        );
        assert_eq!(p.due_date, CalendarDate::parse("2019-09-10"));
        assert_eq!(p.handling_unit.as_deref(), Some(LEAD));
        for co in &p.handlings[1..] {
            assert_eq!(co.due_date, CalendarDate::parse("2019-07-10"));
            assert_eq!(co.original_due_date, co.due_date);
        }
        assert_eq!(p.handling("").map(|h| h.unit.as_str()), Some(LEAD));
        let (_, given) = co_assigned_on("2019-06-10", Some("2019-06-30"));
        assert_eq!(
            given.handlings[2].due_date,
            CalendarDate::parse("2019-06-30")
        );

        let rules = Rules::default();
        let mut history = Vec::new();
        on(
            &mut history,
            "2019-06-10",
            &examples::command(CommandKind::Receive),
            &rules,
        )
        .unwrap();
        let assign = |co_units: &[&str], due: &str, co_due: &str| Command::Assign {
            handling_unit: LEAD.into(),
            due_date: CalendarDate::parse(due),
            co_units: co_units.iter().map(|u| u.to_string()).collect(),
            co_due_date: CalendarDate::parse(co_due),
            split_units: Vec::new(),
        };
        let refused = |command: &Command, field: &str| {
            let mut h = history.clone();
            match on(&mut h, "2019-06-10", command, &rules) {
                Err(DomainError::Invalid(v)) => {
                    assert!(v.iter().any(|v| v.field == field), "{field}: {v:?}")
                }
                other => panic!("{field}: {other:?}"),
            }
        };
        refused(
            &assign(&[FINANCE], "2019-09-10", "2019-06-09"),
            "co_due_date",
        );
        refused(
            &assign(&[FINANCE], "2019-09-10", "2019-09-11"),
            "co_due_date",
        );
        refused(&assign(&[], "2019-09-10", "2019-07-01"), "co_due_date");
        refused(
            &assign(&[FINANCE, FINANCE], "2019-09-10", ""),
            "co_units[1]",
        );
        refused(&assign(&[LEAD], "2019-09-10", ""), "co_units[0]");
        // A reply due before the rules' days: the opinions are due with it.
        let p = on(
            &mut history,
            "2019-06-10",
            &assign(&[FINANCE], "2019-06-25", ""),
            &rules,
        )
        .unwrap();
        assert_eq!(p.handlings[1].due_date, CalendarDate::parse("2019-06-25"));
    }

    /// A co-unit sends its opinion (a later one replaces it) until the lead signs, which waits
    /// for every opinion when the rules say so; the lead's copies go to the co-units.
    #[test]
    fn the_lead_signs_once_the_co_units_opinions_are_in() {
        let rules = Rules::default();
        let (mut history, _) = co_assigned_on("2019-06-10", None);
        assert_eq!(
            precondition(on(&mut history, "2019-06-11", &opinion_of(""), &rules)),
            "HANDLING_UNIT_REQUIRED"
        );
        assert_eq!(
            precondition(on(&mut history, "2019-06-11", &opinion_of(LEAD), &rules)),
            "NOT_A_CO_UNIT"
        );
        let p = on(
            &mut history,
            "2019-06-20",
            &opinion_of(examples::CO_UNIT),
            &rules,
        )
        .unwrap();
        assert_eq!(p.state, ProposalState::Assigned);
        assert_eq!(p.handlings[1].opinion, Some(examples::opinion()));
        assert_eq!(
            p.handlings[1].opinion_submitted_on,
            CalendarDate::parse("2019-06-20")
        );
        on(
            &mut history,
            "2019-07-01",
            &examples::command(CommandKind::Draft),
            &rules,
        )
        .unwrap();
        let sign = examples::command(CommandKind::Sign);
        let pending = on(&mut history, "2019-07-02", &sign, &rules);
        assert_eq!(
            pending,
            Err(DomainError::Precondition(Precondition::CoOpinionsPending {
                units: vec![FINANCE.into()]
            }))
        );
        let lenient = Rules {
            require_co_opinions_before_sign: false,
            ..Rules::default()
        };
        on(&mut history.clone(), "2019-07-02", &sign, &lenient).unwrap();
        let mut revised = opinion_of(FINANCE);
        if let Command::SubmitOpinion { opinion, .. } = &mut revised {
            opinion.document_number.clear();
        }
        on(&mut history, "2019-07-02", &revised, &rules).unwrap();
        let p = on(&mut history, "2019-07-03", &revised, &rules).unwrap();
        assert_eq!(
            p.handlings[2].opinion_submitted_on,
            CalendarDate::parse("2019-07-03")
        );
        on(&mut history, "2019-07-03", &sign, &rules).unwrap();
        assert!(matches!(
            on(&mut history, "2019-07-04", &revised, &rules),
            Err(DomainError::InvalidTransition { .. })
        ));
        on(
            &mut history,
            "2019-07-04",
            &examples::command(CommandKind::Issue),
            &rules,
        )
        .unwrap();
        let p = on(
            &mut history,
            "2019-07-05",
            &examples::command(CommandKind::Copy),
            &rules,
        )
        .unwrap();
        assert_eq!(
            p.copied_to,
            ["市政协提案委", "市政府督查室", examples::CO_UNIT, FINANCE]
        );
    }

    /// A co-unit's approved return ends only its handling (or hands its part to another unit);
    /// the lead's takes the whole proposal back, or hands the lead to another unit and keeps
    /// the co-units.
    #[test]
    fn returns_of_co_units_end_their_part_only() {
        let rules = Rules::default();
        let ask = |unit: &str| Command::RequestReturn {
            handling_unit: unit.into(),
            reason: "不属于本单位职责".into(),
        };
        let decide_return = |unit: &str, reassign_to: &str| Command::DecideReturn {
            handling_unit: unit.into(),
            approve: true,
            note: String::new(),
            reassign_to: reassign_to.into(),
            due_date: None,
        };
        let (mut history, _) = co_assigned_on("2019-06-10", None);
        on(&mut history, "2019-06-11", &ask(FINANCE), &rules).unwrap();
        let p = on(
            &mut history,
            "2019-06-12",
            &decide_return(FINANCE, ""),
            &rules,
        )
        .unwrap();
        assert_eq!(p.state, ProposalState::Assigned);
        assert_eq!(p.handlings.len(), 2);
        assert!(!p.handled_by(FINANCE));
        on(&mut history, "2019-06-12", &ask(examples::CO_UNIT), &rules).unwrap();
        // Not to a unit handling it already, in any role.
        let mut h = history.clone();
        assert!(matches!(
            on(&mut h, "2019-06-13", &decide_return(examples::CO_UNIT, LEAD), &rules),
            Err(DomainError::Invalid(v)) if v[0].field == "reassign_to"
        ));
        let industry = "许昌市工业和信息化局";
        let p = on(
            &mut history,
            "2019-06-13",
            &decide_return(examples::CO_UNIT, industry),
            &rules,
        )
        .unwrap();
        let successor = p.handling(industry).unwrap();
        assert_eq!(successor.role, HandlingRole::Co);
        assert_eq!(successor.due_date, CalendarDate::parse("2019-07-13"));
        assert_eq!(p.state, ProposalState::Assigned);

        // The lead hands over to another unit: the co-unit stays.
        let mut handed = history.clone();
        on(&mut handed, "2019-06-14", &ask(LEAD), &rules).unwrap();
        let housing = "许昌市住房和城乡建设局";
        let p = on(
            &mut handed,
            "2019-06-15",
            &decide_return(LEAD, housing),
            &rules,
        )
        .unwrap();
        assert_eq!(p.handling_unit.as_deref(), Some(housing));
        assert_eq!(p.handlings[0].role, HandlingRole::Lead);
        assert_eq!(p.due_date, CalendarDate::parse("2019-09-15"));
        assert!(p.handled_by(industry));
        // The lead gives it back: every handling ends.
        on(&mut history, "2019-06-14", &ask(LEAD), &rules).unwrap();
        let p = on(&mut history, "2019-06-15", &decide_return(LEAD, ""), &rules).unwrap();
        assert_eq!(p.state, ProposalState::Received);
        assert!(p.handlings.is_empty());
        assert_eq!(p.handling_unit, None);
    }

    /// A co-unit may give its part back while the lead drafts; the lead may not.
    #[test]
    fn a_co_unit_returns_its_part_while_the_lead_drafts() {
        let rules = Rules::default();
        let (mut history, _) = co_assigned_on("2019-06-10", None);
        on(
            &mut history,
            "2019-06-11",
            &examples::command(CommandKind::Draft),
            &rules,
        )
        .unwrap();
        let ask = |unit: &str| Command::RequestReturn {
            handling_unit: unit.into(),
            reason: "不属于本单位职责".into(),
        };
        on(&mut history, "2019-06-12", &ask(FINANCE), &rules).unwrap();
        let approve = Command::DecideReturn {
            handling_unit: FINANCE.into(),
            approve: true,
            note: String::new(),
            reassign_to: String::new(),
            due_date: None,
        };
        let p = on(&mut history, "2019-06-13", &approve, &rules).unwrap();
        assert_eq!(p.state, ProposalState::Drafted);
        assert!(!p.handled_by(FINANCE));
        assert_eq!(
            on(&mut history, "2019-06-14", &ask(LEAD), &rules),
            Err(DomainError::InvalidTransition {
                command: CommandKind::RequestReturn,
                state: Some(ProposalState::Drafted)
            })
        );
    }

    /// The units each event concerns follow the handlings: every unit handling the proposal
    /// before or after it.
    #[test]
    fn an_event_concerns_every_unit_handling_the_proposal() {
        let (mut history, _) = co_assigned_on("2019-06-10", None);
        let rules = Rules::default();
        on(&mut history, "2019-06-11", &opinion_of(FINANCE), &rules).unwrap();
        on(
            &mut history,
            "2019-06-11",
            &Command::RequestReturn {
                handling_unit: FINANCE.into(),
                reason: "不属于本单位职责".into(),
            },
            &rules,
        )
        .unwrap();
        // An opinion does not keep a handling from being returned.
        let p = on(
            &mut history,
            "2019-06-12",
            &Command::DecideReturn {
                handling_unit: FINANCE.into(),
                approve: true,
                note: String::new(),
                reassign_to: String::new(),
                due_date: None,
            },
            &rules,
        )
        .unwrap();
        let mut units = HandlingUnits::default();
        let concerned: Vec<Vec<String>> =
            history.iter().map(|e| units.concerned(&e.data)).collect();
        let all = vec![LEAD.to_owned(), examples::CO_UNIT.into(), FINANCE.into()];
        assert_eq!(concerned[0], Vec::<String>::new());
        for c in &concerned[1..] {
            assert_eq!(c, &all);
        }
        assert_eq!(units, HandlingUnits::of(Some(&p)));
        let mut after = HandlingUnits::of(Some(&p));
        assert_eq!(
            after.concerned(&EventData::ReplySigned {
                signer: "李光亚".into(),
                handling_unit: String::new(),
                sign_date: None,
            }),
            [LEAD, examples::CO_UNIT]
        );
    }

    /// 并案: a RECEIVED proposal merges into another of the same committee and session that is
    /// RECEIVED or ASSIGNED; both record it, at consecutive positions, on the same day.
    #[test]
    fn a_merge_records_on_both_proposals_and_only_where_it_may() {
        let rules = Rules::default();
        let received = |number: u32, id: u8| {
            let mut receive = examples::command(CommandKind::Receive);
            if let Command::Receive(r) = &mut receive {
                r.number = number;
                r.proposers = vec![format!("委员{number}")];
            }
            let mut envelope = dated(None, "2019-06-10", Some("2019-06-01"));
            envelope.proposal_id = ProposalId::from_bytes([id; 16]);
            decide(None, &receive, envelope, &rules).unwrap().after
        };
        let lead = received(228, 1);
        let other = received(231, 2);
        let merge_into = |into: &Proposal| Command::Merge {
            into_proposal_id: into.id,
            note: String::new(),
        };
        let envelope = |p: &Proposal| dated(Some(p), "2019-06-10", Some("2019-06-05"));
        let [merged, joined] = merge(
            Some(&other),
            &lead,
            &merge_into(&lead),
            envelope(&other),
            &rules,
        )
        .unwrap();
        assert_eq!(merged.after.state, ProposalState::Merged);
        assert_eq!(merged.after.merged_into, Some(lead.id));
        assert_eq!(joined.after.state, ProposalState::Received);
        assert_eq!(
            joined.after.merged,
            [MergedProposal {
                id: other.id,
                number: 231
            }]
        );
        assert_eq!(joined.event.position, merged.event.position + 1);
        assert_eq!(joined.event.effective_date, merged.event.effective_date);
        assert_eq!(check_recorded(Some(&lead), &joined.event), Ok(()));
        assert_eq!(check_recorded(Some(&other), &merged.event), Ok(()));

        let refused = |merged: &Proposal, into: &Proposal| match merge(
            Some(merged),
            into,
            &merge_into(into),
            envelope(merged),
            &rules,
        ) {
            Err(DomainError::Precondition(p)) => p.reason(),
            Err(e) => panic!("{e:?}"),
            Ok(_) => "accepted",
        };
        assert_eq!(refused(&other, &other), "MERGE_NOT_ALLOWED");
        let mut elsewhere = lead.clone();
        elsewhere.session = "七届四次会议".into();
        assert_eq!(refused(&other, &elsewhere), "MERGE_NOT_ALLOWED");
        for state in [
            ProposalState::Drafted,
            ProposalState::Merged,
            ProposalState::NotAccepted,
        ] {
            let mut later = lead.clone();
            later.state = state;
            assert_eq!(refused(&other, &later), "MERGE_NOT_ALLOWED", "{state}");
        }
        let mut assigned = lead.clone();
        assigned.state = ProposalState::Assigned;
        assert_eq!(refused(&other, &assigned), "accepted");
        // Only a RECEIVED proposal is merged: the lifecycle refuses the rest first.
        let mut handled = other.clone();
        handled.state = ProposalState::Assigned;
        assert!(matches!(
            merge(
                Some(&handled),
                &lead,
                &merge_into(&lead),
                envelope(&handled),
                &rules
            ),
            Err(DomainError::InvalidTransition { .. })
        ));
    }

    /// The sole handling an assignment opens: receipt once, contacts with the proposers only,
    /// dated between the assignment and the act.
    #[test]
    fn a_sole_handling_records_receipt_and_contacts() {
        let (mut history, p) = assigned_on("2019-06-10");
        let h = &p.handlings[..];
        assert_eq!(h.len(), 1);
        assert_eq!(
            (h[0].unit.as_str(), h[0].role),
            ("许昌市生态环境局", HandlingRole::Sole)
        );
        assert_eq!(h[0].assigned_on, CalendarDate::parse("2019-06-10"));
        let rules = Rules::default();
        let ack = examples::command(CommandKind::Acknowledge);
        let p = on(&mut history, "2019-06-11", &ack, &rules).unwrap();
        assert_eq!(
            p.handlings[0].acknowledged_on,
            CalendarDate::parse("2019-06-11")
        );
        assert_eq!(p.state, ProposalState::Assigned);
        assert!(matches!(
            on(&mut history, "2019-06-12", &ack, &rules),
            Err(DomainError::Precondition(
                Precondition::AlreadyAcknowledged { .. }
            ))
        ));
        let other = Command::Acknowledge {
            handling_unit: "许昌市财政局".into(),
        };
        assert!(matches!(
            on(&mut history, "2019-06-12", &other, &rules),
            Err(DomainError::Precondition(
                Precondition::NotAHandlingUnit { .. }
            ))
        ));

        let contact = |date: Option<&str>, proposers: &[&str]| Command::Contact {
            handling_unit: String::new(),
            contact_date: date.map(|d| CalendarDate::parse(d).unwrap()),
            method: ContactMethod::Visit,
            proposers: proposers.iter().map(|p| p.to_string()).collect(),
            summary: "上门走访".into(),
        };
        let p = on(&mut history, "2019-07-01", &contact(None, &[]), &rules).unwrap();
        let first = &p.handlings[0].contacts[0];
        assert_eq!(
            first.contact_date,
            CalendarDate::parse("2019-07-01").unwrap()
        );
        assert_eq!(first.proposers, ["苏会兴"], "every proposer by default");
        let refused = [
            (contact(Some("2019-07-03"), &[]), "contact_date"),
            (contact(Some("2019-06-09"), &[]), "contact_date"),
            (contact(None, &["苏会兴", "张三"]), "proposers[1]"),
        ];
        for (command, field) in refused {
            match on(&mut history, "2019-07-02", &command, &rules) {
                Err(DomainError::Invalid(v)) => assert_eq!(v[0].field, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let p = on(
            &mut history,
            "2019-07-02",
            &contact(Some("2019-06-30"), &["苏会兴"]),
            &rules,
        )
        .unwrap();
        assert_eq!(p.handlings[0].contacts.len(), 2);
    }

    #[test]
    fn a_draft_waits_for_a_contact_when_the_rules_say_so() {
        let strict = Rules {
            contact_required_before_draft: true,
            ..Rules::default()
        };
        let (mut history, _) = assigned_on("2019-06-10");
        let draft = examples::command(CommandKind::Draft);
        assert!(matches!(
            on(&mut history, "2019-06-20", &draft, &strict),
            Err(DomainError::Precondition(
                Precondition::ContactRequired { .. }
            ))
        ));
        on(&mut history, "2019-06-20", &draft, &Rules::default()).unwrap();
        let (mut history, _) = assigned_on("2019-06-10");
        on(
            &mut history,
            "2019-06-15",
            &examples::command(CommandKind::Contact),
            &strict,
        )
        .unwrap();
        assert_eq!(
            on(&mut history, "2019-06-20", &draft, &strict)
                .unwrap()
                .state,
            ProposalState::Drafted
        );
    }

    /// A return is asked for within the window (7 days by default, counted from the
    /// assignment's date to the request's), one at a time; a refusal keeps the unit, an
    /// approval ends its handling: back to RECEIVED, or at once to another unit, due the rules'
    /// months after the decision.
    #[test]
    fn returns_are_requested_within_the_window_and_decided_by_the_office() {
        let rules = Rules::default();
        let (mut history, _) = assigned_on("2019-06-10");
        let request = Command::RequestReturn {
            handling_unit: String::new(),
            reason: "不属于本单位职责".into(),
        };
        let decision = |approve: bool, reassign_to: &str| Command::DecideReturn {
            handling_unit: String::new(),
            approve,
            note: String::new(),
            reassign_to: reassign_to.into(),
            due_date: None,
        };
        let late = on(&mut history.clone(), "2019-06-18", &request, &rules);
        assert!(matches!(
            late,
            Err(DomainError::Precondition(
                Precondition::ReturnWindowClosed {
                    days: 8,
                    window_days: 7,
                    ..
                }
            ))
        ));
        assert!(matches!(
            on(&mut history, "2019-06-12", &decision(true, ""), &rules),
            Err(DomainError::Precondition(
                Precondition::NoPendingReturn { .. }
            ))
        ));
        let p = on(&mut history, "2019-06-17", &request, &rules).unwrap();
        assert_eq!(p.handlings[0].return_requests.len(), 1);
        assert!(matches!(
            on(&mut history, "2019-06-17", &request, &rules),
            Err(DomainError::Precondition(
                Precondition::ReturnPending { .. }
            ))
        ));
        let p = on(&mut history, "2019-06-20", &decision(false, ""), &rules).unwrap();
        assert_eq!(p.state, ProposalState::Assigned);
        let kept = &p.handlings[0].return_requests[0];
        assert_eq!(kept.decision.as_ref().map(|d| d.approved), Some(false));

        // Asked again (still within a wider window), then approved with a reassignment.
        let wide = Rules {
            return_window_days: 30,
            ..Rules::default()
        };
        on(&mut history, "2019-06-21", &request, &wide).unwrap();
        let mut back = history.clone();
        let p = on(&mut back, "2019-06-22", &decision(true, ""), &rules).unwrap();
        assert_eq!(p.state, ProposalState::Received);
        assert!(p.handlings.is_empty() && p.handling_unit.is_none() && p.due_date.is_none());
        let p = on(
            &mut history,
            "2019-06-22",
            &decision(true, "许昌市住房和城乡建设局"),
            &rules,
        )
        .unwrap();
        assert_eq!(p.state, ProposalState::Assigned);
        assert_eq!(p.handling_unit.as_deref(), Some("许昌市住房和城乡建设局"));
        assert_eq!(p.due_date, CalendarDate::parse("2019-09-22"));
        let h = &p.handlings[..];
        assert_eq!(
            (h.len(), h[0].assigned_on),
            (1, CalendarDate::parse("2019-06-22"))
        );
        assert!(h[0].return_requests.is_empty() && h[0].acknowledged_on.is_none());
        // A refusal cannot reassign, nor reassign to the unit that asked.
        let bad = on(
            &mut history.clone(),
            "2019-06-23",
            &decision(false, "x"),
            &rules,
        );
        assert!(matches!(bad, Err(DomainError::Invalid(_))));
    }

    /// One request at a time, each later than the due date in force, within the cap counted
    /// from the assignment's due date (2019-08-31 in the examples); an approval moves the due
    /// date, a refusal does not.
    #[test]
    fn extensions_are_requested_decided_and_capped() {
        let rules = Rules::default();
        let (mut history, _) = assigned_on("2019-06-10");
        let request = |day: &str| Command::RequestExtension {
            handling_unit: String::new(),
            new_due_date: CalendarDate::parse(day).unwrap(),
            reason: "需调研".into(),
        };
        let decide_it = |approve: bool| Command::DecideExtension {
            handling_unit: String::new(),
            approve,
            note: String::new(),
        };
        assert!(matches!(
            on(&mut history, "2019-07-01", &decide_it(true), &rules),
            Err(DomainError::Precondition(
                Precondition::NoPendingExtension { .. }
            ))
        ));
        assert!(matches!(
            on(&mut history, "2019-07-01", &request("2019-08-31"), &rules),
            Err(DomainError::Invalid(_))
        ));
        // 2019-08-31 + 91 days.
        assert!(matches!(
            on(&mut history, "2019-07-01", &request("2019-11-30"), &rules),
            Err(DomainError::Precondition(Precondition::ExtensionLimit {
                days: 91,
                max_days: 90,
                ..
            }))
        ));
        on(&mut history, "2019-07-01", &request("2019-10-15"), &rules).unwrap();
        assert!(matches!(
            on(&mut history, "2019-07-01", &request("2019-10-20"), &rules),
            Err(DomainError::Precondition(
                Precondition::ExtensionPending { .. }
            ))
        ));
        let p = on(&mut history, "2019-07-02", &decide_it(false), &rules).unwrap();
        assert_eq!(p.due_date, CalendarDate::parse("2019-08-31"));
        on(&mut history, "2019-07-03", &request("2019-11-29"), &rules).unwrap();
        // The rules tightened since the request: the approval is held to them.
        let tight = Rules {
            max_extension_days: 30,
            ..Rules::default()
        };
        assert!(matches!(
            on(&mut history, "2019-07-04", &decide_it(true), &tight),
            Err(DomainError::Precondition(
                Precondition::ExtensionLimit { .. }
            ))
        ));
        let p = on(&mut history, "2019-07-04", &decide_it(true), &rules).unwrap();
        assert_eq!(p.due_date, CalendarDate::parse("2019-11-29"));
        let h = &p.handlings[0];
        assert_eq!(h.due_date, p.due_date);
        assert_eq!(h.original_due_date, CalendarDate::parse("2019-08-31"));
        assert_eq!(h.extensions.len(), 2);
        assert_eq!(
            h.extensions[0].decision.as_ref().map(|d| d.approved),
            Some(false)
        );
        assert!(!p.is_overdue_on(CalendarDate::parse("2019-11-29").unwrap()));
        assert!(p.is_overdue_on(CalendarDate::parse("2019-11-30").unwrap()));
    }

    /// An envelope at `now` (a day of 2019 in Shanghai), dated `effective`.
    fn dated(proposal: Option<&Proposal>, now: &str, effective: Option<&str>) -> Envelope {
        let day = CalendarDate::parse(now).unwrap();
        let noon = jiff::civil::date(day.year() as i16, day.month() as i8, day.day() as i8)
            .at(12, 0, 0, 0)
            .in_tz("Asia/Shanghai")
            .unwrap()
            .timestamp()
            .as_nanosecond();
        Envelope {
            proposal_id: proposal.map_or(ProposalId::from_bytes([7; 16]), |p| p.id),
            position: proposal.map_or(1, |p| p.version + 1),
            occurred_at: Timestamp::from_unix_nanos(noon as i64),
            effective_date: effective.map(|d| CalendarDate::parse(d).unwrap()),
            actor: "tester".into(),
            request_id: None,
        }
    }

    #[test]
    fn an_act_is_dated_today_unless_told_and_never_in_the_future() {
        let rules = Rules::default();
        let receive = examples::command(CommandKind::Receive);
        let today = decide(None, &receive, dated(None, "2019-06-10", None), &rules).unwrap();
        assert_eq!(
            today.event.effective_date,
            CalendarDate::parse("2019-06-10")
        );
        assert_eq!(today.after.last_act_date, CalendarDate::parse("2019-06-10"));
        let earlier = dated(None, "2019-06-10", Some("2019-06-03"));
        let earlier = decide(None, &receive, earlier, &rules).unwrap();
        assert_eq!(
            earlier.event.effective_date,
            CalendarDate::parse("2019-06-03")
        );
        let tomorrow = dated(None, "2019-06-10", Some("2019-06-11"));
        assert_eq!(
            decide(None, &receive, tomorrow, &rules),
            Err(DomainError::EffectiveDate(EffectiveDateError::InFuture {
                date: CalendarDate::parse("2019-06-11").unwrap(),
                today: CalendarDate::parse("2019-06-10").unwrap(),
            }))
        );
    }

    #[test]
    fn an_act_may_not_be_dated_before_the_previous_one() {
        let rules = Rules::default();
        let receive = examples::command(CommandKind::Receive);
        let received = dated(None, "2019-06-10", Some("2019-06-05"));
        let p = decide(None, &receive, received, &rules).unwrap().after;
        let refuse = examples::command(CommandKind::Refuse);
        let before = dated(Some(&p), "2019-06-10", Some("2019-06-04"));
        assert_eq!(
            decide(Some(&p), &refuse, before, &rules),
            Err(DomainError::EffectiveDate(
                EffectiveDateError::BeforePreviousAct {
                    date: CalendarDate::parse("2019-06-04").unwrap(),
                    previous: CalendarDate::parse("2019-06-05").unwrap(),
                }
            ))
        );
        let same_day = dated(Some(&p), "2019-06-10", Some("2019-06-05"));
        let refused = decide(Some(&p), &refuse, same_day, &rules).unwrap().after;
        assert_eq!(refused.state, ProposalState::NotAccepted);
        assert_eq!(
            refused.refusal.map(|r| r.forwarded_to),
            Some("市政府办公室".to_owned())
        );
    }

    #[test]
    fn an_assignment_without_a_due_date_is_due_the_rules_months_later() {
        let receive = examples::command(CommandKind::Receive);
        let rules = Rules {
            reply_months: 2,
            ..Rules::default()
        };
        let p = decide(None, &receive, dated(None, "2019-11-30", None), &rules)
            .unwrap()
            .after;
        let assign = Command::Assign {
            handling_unit: "许昌市生态环境局".into(),
            due_date: None,
            co_units: Vec::new(),
            co_due_date: None,
            split_units: Vec::new(),
        };
        let decision = decide(
            Some(&p),
            &assign,
            dated(Some(&p), "2019-12-31", None),
            &rules,
        )
        .unwrap();
        assert_eq!(decision.after.due_date, CalendarDate::parse("2020-02-29"));
        // The event records the date it computed: its command decides the same under any rules.
        assert_eq!(
            check_recorded(Some(&p), &decision.event),
            Ok(()),
            "re-decided under other rules"
        );
        let explicit = examples::command(CommandKind::Assign);
        let given = decide(
            Some(&p),
            &explicit,
            dated(Some(&p), "2019-12-31", None),
            &rules,
        )
        .unwrap();
        assert_eq!(given.after.due_date, CalendarDate::parse("2019-08-31"));
    }

    #[test]
    fn the_fold_carries_every_field_through_the_lifecycle() {
        let history = history_in(Some(ProposalState::Copied));
        let p = fold(history.iter()).unwrap();
        assert_eq!(p.committee, "许昌市政协");
        assert_eq!(p.number, 228);
        assert_eq!(p.handling_unit.as_deref(), Some("许昌市生态环境局"));
        assert_eq!(p.due_date, CalendarDate::parse("2019-08-31"));
        assert_eq!(p.reply.as_ref().unwrap().result_code, ResultCode::A);
        assert_eq!(p.signer.as_deref(), Some("李光亚"));
        assert_eq!(p.document_number.as_deref(), Some("许环〔2019〕13号"));
        assert_eq!(p.issue_date.unwrap().to_string(), "2019-09-29");
        assert_eq!(p.copied_to, ["市政协提案委", "市政府督查室"]);
        assert_eq!(p.version, 6);
        assert_eq!(p.received_at, Timestamp::from_unix_nanos(1));
        assert_eq!(p.updated_at, Timestamp::from_unix_nanos(6));
    }

    #[test]
    fn backward_moves_clear_what_no_longer_holds() {
        let mut history = history_in(Some(ProposalState::Drafted));
        record(&mut history, &examples::command(CommandKind::Draft)).unwrap();
        match &history.last().unwrap().data {
            EventData::ReplyDrafted { revision, .. } => assert!(revision),
            other => panic!("unexpected {other:?}"),
        }
        record(&mut history, &examples::command(CommandKind::RejectDraft)).unwrap();
        let p = fold(history.iter()).unwrap();
        assert_eq!(
            (p.state, p.reply.is_none()),
            (ProposalState::Assigned, true)
        );
        record(&mut history, &examples::command(CommandKind::Return)).unwrap();
        let p = fold(history.iter()).unwrap();
        assert_eq!(p.state, ProposalState::Received);
        assert_eq!((p.handling_unit, p.due_date), (None, None));
        assert_eq!(p.version, 6);
    }

    #[test]
    fn invalid_fields_are_refused_before_the_state_is_considered() {
        let command = Command::Receive(Registration {
            committee: " ".into(),
            session: "七届三次会议".into(),
            number: 0,
            title: "x".repeat(501),
            proposers: vec!["苏会兴".into(), "苏会兴".into()],
            content: "a\u{0}b".into(),
            proposer_kind: ProposerKind::Member,
        });
        let Err(DomainError::Invalid(violations)) = record(&mut Vec::new(), &command) else {
            panic!("accepted an invalid registration");
        };
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["committee", "number", "title", "proposers[1]", "content"]
        );
    }

    /// The one history check: what `decide` recorded passes; a move, a revision flag or a
    /// sequence it could not have recorded fails; field contents are taken as accepted in
    /// their day (a limit tightened later must not make old stores fail).
    #[test]
    fn check_recorded_accepts_exactly_what_decide_records() {
        let history = history_in(Some(ProposalState::Drafted));
        let mut before = None;
        for event in &history {
            assert_eq!(check_recorded(before.as_ref(), event), Ok(()), "{event:?}");
            before = Some(apply(before, event));
        }
        let drafted = fold(history.iter());
        let mut revision = history.clone();
        record(&mut revision, &examples::command(CommandKind::Draft)).unwrap();
        let revision = revision.pop().unwrap();
        assert_eq!(check_recorded(drafted.as_ref(), &revision), Ok(()));

        let mut flag = revision.clone();
        if let EventData::ReplyDrafted { revision, .. } = &mut flag.data {
            *revision = false;
        }
        assert!(
            check_recorded(drafted.as_ref(), &flag).is_err(),
            "revision flag"
        );
        let mut state = revision.clone();
        state.to_state = ProposalState::Signed;
        assert!(
            check_recorded(drafted.as_ref(), &state).is_err(),
            "to_state"
        );
        let mut sequence = revision.clone();
        sequence.sequence += 1;
        assert!(
            check_recorded(drafted.as_ref(), &sequence).is_err(),
            "sequence"
        );
        let mut schema = revision.clone();
        schema.schema = EVENT_SCHEMA_VERSION + 1;
        assert!(check_recorded(drafted.as_ref(), &schema).is_err(), "schema");

        let mut long = revision;
        if let EventData::ReplyDrafted { reply, .. } = &mut long.data {
            reply.contact_phone = "6".repeat(crate::domain::Limits::PHONE_CHARS + 1);
        }
        assert_eq!(
            check_recorded(drafted.as_ref(), &long),
            Ok(()),
            "limits are those of the event's day"
        );
    }

    #[test]
    fn dates_are_real_calendar_days() {
        assert!(CalendarDate::parse("2019-09-29").is_some());
        assert!(CalendarDate::parse("2020-02-29").is_some());
        for bad in [
            "2019-02-29",
            "2019-13-01",
            "2019-9-29",
            "29-09-2019",
            "",
            "２０１９-09-29",
        ] {
            assert_eq!(CalendarDate::parse(bad), None, "{bad:?}");
        }
    }
}
