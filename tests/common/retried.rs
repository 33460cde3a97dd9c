//! Calls retried with exactly their content until answered, for the crash test: each call has
//! its request id, the proposal's number and id, and the version it expects, so that a call a
//! kill left without an answer is sent again byte for byte, and its acknowledgement can be
//! checked against the store. The steps are the kit's plan steps ([`plans::Step`]) sent by each
//! role's actor ([`actor_of`]); the requests are the kit's ([`plans::request`]).

use proposal_service::domain::{EventKind, ProposalId, ProposalState};
use proposal_service::pb;
use tonic::{Code, Status};

use super::Client;
use super::lifecycle::{Command, State};
use super::plans::{self, Step};
use super::requests::CommandRequest;
use super::seeded::Rng;
use super::tracked::{UNITS, actor_of};

/// `command`, sent by its role's actor.
pub fn step(command: Command) -> Step {
    plans::step(command, actor_of(command))
}

/// An assignment to `unit`, sent by the registrar.
pub fn assign(unit: &'static str) -> Step {
    plans::assign(unit, actor_of(Command::Assign))
}

/// The steps of one proposal's life: forward to COPIED, sometimes with a return, the unit's
/// receipt and a contact with the proposers, a revised draft or a rejected draft on the way.
pub fn lifecycle(rng: &mut Rng) -> Vec<Step> {
    let unit = UNITS[rng.between(0, 2) as usize];
    let mut steps = vec![step(Command::Receive), assign(unit)];
    if rng.one_in(5) {
        let other = UNITS[rng.between(0, 2) as usize];
        steps.extend([step(Command::Return), assign(other)]);
    }
    // Sometimes the last assignment has a co-unit, whose opinion comes before the lead signs.
    let co = rng.one_in(4);
    if co && let Some(last) = steps.last_mut() {
        last.co_unit = UNITS
            .into_iter()
            .find(|u| *u != last.unit)
            .expect("three units");
    }
    // Records keep the state: sent right after an assignment, they find it ASSIGNED.
    if rng.one_in(3) {
        steps.push(step(Command::Acknowledge));
    }
    if rng.one_in(3) {
        steps.push(step(Command::Contact));
    }
    if co {
        steps.push(step(Command::SubmitOpinion));
    }
    steps.push(step(Command::Draft));
    if rng.one_in(5) {
        steps.push(step(Command::Draft));
    }
    if rng.one_in(5) {
        steps.extend([step(Command::RejectDraft), step(Command::Draft)]);
    }
    steps.extend([
        step(Command::Sign),
        step(Command::Issue),
        step(Command::Copy),
    ]);
    // Sometimes the proposer is not satisfied: reopened (重新办理), replied again under a new
    // document number, then satisfied and closed.
    if rng.one_in(4) {
        let again = |command| plans::again(command, actor_of(command));
        steps.extend([
            step(Command::RecordFeedback),
            step(Command::Reopen),
            again(Command::Draft),
            again(Command::Sign),
            again(Command::Issue),
            again(Command::Copy),
            again(Command::RecordFeedback),
            step(Command::Close),
        ]);
    }
    steps
}

/// The state a step of [`lifecycle`] leaves its proposal in: a record keeps ASSIGNED.
fn reaches(command: Command) -> State {
    if Command::RECORDS.contains(&command) {
        State::Assigned
    } else {
        command.leads_to()
    }
}

/// One call as sent: retried with exactly this content (request id included) until answered.
#[derive(Clone, Debug)]
pub struct Call {
    pub request_id: String,
    pub step: Step,
    /// The number the proposal is (or is to be) registered under.
    pub number: u32,
    /// `None` for a receive.
    pub proposal: Option<ProposalId>,
    /// The proposal's version before the call (0 for a receive).
    pub expected_version: u64,
    /// What the check after the last kill found: `Some(true)` if the call had been applied.
    pub found_applied: Option<bool>,
    /// How many times a kill left this call without an answer.
    pub interrupted: u32,
}

impl Call {
    pub fn describe(&self) -> String {
        let proposal = self
            .proposal
            .map_or_else(|| "new".to_owned(), |p| p.to_string());
        format!(
            "{:?} of proposal {proposal} (No. {}) at version {} (request id {})",
            self.step, self.number, self.expected_version, self.request_id
        )
    }

    /// The event the call records.
    pub fn kind(&self) -> EventKind {
        match self.step.command {
            Command::Receive => EventKind::ProposalReceived,
            Command::Assign => EventKind::ProposalAssigned,
            Command::Return => EventKind::ProposalReturned,
            Command::Draft => EventKind::ReplyDrafted,
            Command::RejectDraft => EventKind::DraftRejected,
            Command::Sign => EventKind::ReplySigned,
            Command::Issue => EventKind::ReplyIssued,
            Command::Copy => EventKind::ReplyCopied,
            Command::Refuse => EventKind::ProposalRefused,
            Command::Acknowledge => EventKind::AssignmentAcknowledged,
            Command::Contact => EventKind::ProposerContacted,
            Command::RequestExtension => EventKind::ExtensionRequested,
            Command::DecideExtension => EventKind::ExtensionDecided,
            Command::RequestReturn => EventKind::ReturnRequested,
            Command::DecideReturn => EventKind::ReturnDecided,
            Command::SubmitOpinion => EventKind::OpinionSubmitted,
            Command::Merge => EventKind::ProposalMerged,
            Command::RecordFeedback => EventKind::FeedbackRecorded,
            Command::Close => EventKind::ProposalClosed,
            Command::SetKey => EventKind::KeyProposalSet,
            Command::Reopen => EventKind::ProposalReopened,
        }
    }

    /// The state the call leads to, as the store spells it.
    pub fn target(&self) -> ProposalState {
        match reaches(self.step.command) {
            State::Received => ProposalState::Received,
            State::Assigned => ProposalState::Assigned,
            State::Drafted => ProposalState::Drafted,
            State::Signed => ProposalState::Signed,
            State::Issued => ProposalState::Issued,
            State::Copied => ProposalState::Copied,
            State::NotAccepted => ProposalState::NotAccepted,
            State::Merged => ProposalState::Merged,
            State::Closed => ProposalState::Closed,
            State::Unspecified => panic!("no command leads to an unspecified state"),
        }
    }
}

/// Sends the call as its RPC; `Ok(None)` if the response lacks the proposal.
pub async fn send(client: &Client, call: &Call) -> Result<Option<pb::Proposal>, Status> {
    // The kit's builders read only the proposal's id and number.
    let proposal = pb::Proposal {
        id: call.proposal.map(|p| p.to_string()).unwrap_or_default(),
        number: call.number,
        ..Default::default()
    };
    let mut request: CommandRequest = plans::request(call.step, &proposal).keyed(&call.request_id);
    if call.step.command != Command::Receive {
        request = request.expecting(call.expected_version);
    }
    request.send(&mut client.clone()).await
}

/// Whether an error can be the kill's doing: the transport failed (the status was made on this
/// side, with the underlying error as its source) or the call never got a server's answer.
/// A status the server sent (ABORTED, INVALID_ARGUMENT, INTERNAL, ...) is an answer, never this.
pub fn unknown_outcome(status: &Status) -> bool {
    std::error::Error::source(status).is_some()
        || matches!(
            status.code(),
            Code::Unavailable | Code::Unknown | Code::Cancelled
        )
}

/// Checks a response against the call: the right proposal, one version further, the step's
/// target state. Returns the proposal's id.
pub fn check_response(call: &Call, proposal: &pb::Proposal) -> Result<ProposalId, String> {
    let id = ProposalId::parse(&proposal.id).ok_or_else(|| {
        format!(
            "{}: the response names proposal {:?}",
            call.describe(),
            proposal.id
        )
    })?;
    let mut wrong = Vec::new();
    if let Some(expected) = call.proposal
        && expected != id
    {
        wrong.push(format!("proposal {id}"));
    }
    if proposal.version != call.expected_version + 1 {
        wrong.push(format!("version {}", proposal.version));
    }
    if proposal.state != reaches(call.step.command) as i32 {
        wrong.push(format!("state {}", proposal.state));
    }
    if call.step.command == Command::Receive && proposal.number != call.number {
        wrong.push(format!("number {}", proposal.number));
    }
    if wrong.is_empty() {
        Ok(id)
    } else {
        Err(format!(
            "{} (found applied before: {:?}) was answered with {}",
            call.describe(),
            call.found_applied,
            wrong.join(", ")
        ))
    }
}

/// One acknowledged transition: the call got OK with this version and state.
#[derive(Clone, Debug)]
pub struct Ack {
    pub request_id: String,
    pub proposal: ProposalId,
    pub version: u64,
    pub kind: EventKind,
    pub state: ProposalState,
}
