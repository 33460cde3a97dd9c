//! Given/when/then for the pure core, in the spirit of cqrs-es' `TestFramework`: given a
//! history (or a proposal), when a command is decided in an envelope, then this event is
//! recorded and folds into this proposal, or this error is returned. No server, no store.
//!
//! ```ignore
//! given(&history)
//!     .when(&command, envelope)
//!     .then_recorded(Some(State::Drafted))?;
//! ```
//!
//! The checks return `Err(String)` rather than panic, so that property tests can turn them
//! into `TestCaseError`s and shrink; table tests `unwrap` them.

use proposal_service::domain::{
    self, CalendarDate, CommandKind, Decision, DomainError, EVENT_SCHEMA_VERSION, Envelope,
    EventData, Proposal, ProposalId, RecordedEvent, Reply, ResultCode, Rules, Timestamp, apply,
    decide, fold,
};

pub use proposal_service::domain::examples::proposal_in;

use super::lifecycle::{Command, State};

/// Where a test's commands are recorded: position 100, at 100 ns, with no request id.
pub const POSITION: u64 = 100;

/// The id a registration decided without a proposal is given.
pub fn new_proposal_id() -> ProposalId {
    ProposalId::from_bytes([8; 16])
}

/// The proposal before the command.
pub struct Given {
    before: Option<Proposal>,
}

/// Given the proposal these events describe (none for an empty history).
pub fn given(history: &[RecordedEvent]) -> Given {
    Given {
        before: fold(history),
    }
}

/// Given `proposal` as it stands (none: not received yet).
pub fn given_proposal(proposal: Option<Proposal>) -> Given {
    Given { before: proposal }
}

impl Given {
    /// The envelope the kit decides in: the proposal's own id (a fresh one for a
    /// registration), [`POSITION`], and `actor`.
    pub fn envelope(&self, actor: &str) -> Envelope {
        Envelope {
            proposal_id: self.before.as_ref().map_or_else(new_proposal_id, |p| p.id),
            position: POSITION,
            occurred_at: Timestamp::from_unix_nanos(POSITION as i64),
            effective_date: None,
            actor: actor.to_owned(),
            request_id: None,
        }
    }

    /// Decides `command` on the given proposal in `envelope`.
    pub fn when(self, command: &domain::Command, envelope: Envelope) -> Then {
        let outcome = decide(
            self.before.as_ref(),
            command,
            envelope.clone(),
            &Rules::default(),
        );
        Then {
            before: self.before,
            kind: command.kind(),
            envelope,
            outcome,
        }
    }
}

/// What `decide` made of the command, to be checked.
pub struct Then {
    pub before: Option<Proposal>,
    kind: CommandKind,
    envelope: Envelope,
    pub outcome: Result<Decision, DomainError>,
}

impl Then {
    /// The state the proposal was in (`None`: not received yet).
    pub fn state(&self) -> Option<domain::ProposalState> {
        self.before.as_ref().map(|p| p.state)
    }

    /// Checks that the command was refused with exactly `expected`.
    pub fn then_error(self, expected: &DomainError) -> Result<(), String> {
        let state = self.state();
        match self.outcome {
            Err(error) if error == *expected => Ok(()),
            other => Err(format!(
                "{:?} in {state:?}: expected {expected:?}, got {other:?}",
                self.kind
            )),
        }
    }

    /// Checks that the command was refused because the lifecycle does not allow it here.
    pub fn then_invalid_transition(self) -> Result<(), String> {
        let expected = DomainError::InvalidTransition {
            command: self.kind,
            state: self.state(),
        };
        self.then_error(&expected)
    }

    /// Checks that the command recorded one event of its own kind, moving the proposal to
    /// `to`, in the envelope it was decided in, next in the proposal's sequence, in the current
    /// schema, a draft being a revision exactly when it replaces one; and that the proposal
    /// after it is the fold of that event. Returns the decision.
    pub fn then_recorded(self, to: domain::ProposalState) -> Result<Decision, String> {
        let state = self.state();
        let decision = self
            .outcome
            .map_err(|e| format!("{:?} refused in {state:?}: {e}", self.kind))?;
        let Decision { event, after } = &decision;
        check(event.data.command_kind() == self.kind, || {
            format!("{:?} recorded {:?}", self.kind, event.data.kind())
        })?;
        if let EventData::ReplyDrafted { revision, .. } = &event.data {
            check(
                *revision == (state == Some(domain::ProposalState::Drafted)),
                || format!("a draft in {state:?} has revision {revision}"),
            )?;
        }
        // An undated command is dated today in the rules' time zone.
        let mut envelope = self.envelope.clone();
        let today = Rules::default().date_at(envelope.occurred_at.unix_nanos());
        envelope.effective_date.get_or_insert(today);
        check(Envelope::of(event) == envelope, || {
            format!(
                "recorded in {:?}, decided in {envelope:?}",
                Envelope::of(event)
            )
        })?;
        let header = (
            event.schema,
            event.sequence,
            event.from_state,
            event.to_state,
        );
        let wanted = (
            EVENT_SCHEMA_VERSION,
            self.before.as_ref().map_or(0, |p| p.version) + 1,
            state,
            to,
        );
        check(header == wanted, || {
            format!("(schema, sequence, from, to) is {header:?}, not {wanted:?}")
        })?;
        check(*after == apply(self.before.clone(), event), || {
            format!(
                "the proposal after {:?} is not the fold of its event",
                self.kind
            )
        })?;
        check(after.state == to && after.version == event.sequence, || {
            format!("after: state {:?}, version {}", after.state, after.version)
        })?;
        Ok(decision)
    }
}

fn check(holds: bool, otherwise: impl FnOnce() -> String) -> Result<(), String> {
    if holds { Ok(()) } else { Err(otherwise()) }
}

/// Where the lifecycle table ([`super::lifecycle::TABLE`]) takes a domain command from a domain
/// state.
pub fn next(
    kind: CommandKind,
    from: Option<domain::ProposalState>,
) -> Option<domain::ProposalState> {
    command(kind).next(from.map(state)).map(domain_state)
}

fn command(kind: CommandKind) -> Command {
    match kind {
        CommandKind::Receive => Command::Receive,
        CommandKind::Assign => Command::Assign,
        CommandKind::Return => Command::Return,
        CommandKind::Draft => Command::Draft,
        CommandKind::RejectDraft => Command::RejectDraft,
        CommandKind::Sign => Command::Sign,
        CommandKind::Issue => Command::Issue,
        CommandKind::Copy => Command::Copy,
        CommandKind::Refuse => Command::Refuse,
        CommandKind::Acknowledge => Command::Acknowledge,
        CommandKind::Contact => Command::Contact,
        CommandKind::RequestExtension => Command::RequestExtension,
        CommandKind::DecideExtension => Command::DecideExtension,
        CommandKind::RequestReturn => Command::RequestReturn,
        CommandKind::DecideReturn => Command::DecideReturn,
        CommandKind::SubmitOpinion => Command::SubmitOpinion,
        CommandKind::Merge => Command::Merge,
        CommandKind::Join => unreachable!("no request carries a Join: MergeProposal records it"),
        CommandKind::RecordFeedback => Command::RecordFeedback,
        CommandKind::Close => Command::Close,
        CommandKind::SetKey => Command::SetKey,
        CommandKind::Reopen => Command::Reopen,
    }
}

fn state(state: domain::ProposalState) -> State {
    use domain::ProposalState as S;
    match state {
        S::Received => State::Received,
        S::Assigned => State::Assigned,
        S::Drafted => State::Drafted,
        S::Signed => State::Signed,
        S::Issued => State::Issued,
        S::Copied => State::Copied,
        S::NotAccepted => State::NotAccepted,
        S::Merged => State::Merged,
        S::Closed => State::Closed,
    }
}

fn domain_state(state: State) -> domain::ProposalState {
    use domain::ProposalState as S;
    match state {
        State::Received => S::Received,
        State::Assigned => S::Assigned,
        State::Drafted => S::Drafted,
        State::Signed => S::Signed,
        State::Issued => S::Issued,
        State::Copied => S::Copied,
        State::NotAccepted => S::NotAccepted,
        State::Merged => S::Merged,
        State::Closed => S::Closed,
        State::Unspecified => panic!("UNSPECIFIED is no state a proposal is in"),
    }
}
