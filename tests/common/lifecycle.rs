//! The lifecycle as the proto describes it, written once for every test: the eight commands,
//! which state each is allowed in and where it leads, the usual path forward, and [`drive`],
//! which takes a new proposal to a state over gRPC (the forward path, or a refusal).
//!
//! This is the tests' own copy of the table, written from the proto's comments; it shares no
//! code with the service's `domain::transition`, so the tests can catch a service that drifts.

use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;

pub use proposal_service::pb::ProposalState as State;

use super::Transport;
use super::requests::{self, CommandRequest};

/// Every RPC that changes a proposal: the nine moves of the lifecycle ([`Command::ALL`]), and
/// the handling unit's records that keep the state ([`Command::RECORDS`]), whose success
/// depends on more than the state (tests/handling.rs covers them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
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
    /// 并案: needs a second proposal to merge into, so it is not among [`Command::ALL`] (the
    /// generic tables send a command to one proposal); tests/merge.rs covers it.
    Merge,
    /// After the reply (tests/after_reply.rs), not among [`Command::ALL`] either: the office's
    /// record of a proposer's verdict, its closing, and its designation of a key proposal.
    RecordFeedback,
    Close,
    SetKey,
    /// 重新办理 after a NOT_SATISFIED verdict (tests/after_reply.rs), not among
    /// [`Command::ALL`]: it needs a verdict recorded first.
    Reopen,
}

/// The whole lifecycle, backward moves included: (command, from, to), `None` before a
/// proposal is received. Nothing else is allowed.
pub const TABLE: [(Command, Option<State>, State); 14] = [
    (Command::Receive, None, State::Received),
    (Command::Assign, Some(State::Received), State::Assigned),
    (Command::Return, Some(State::Assigned), State::Received),
    (Command::Draft, Some(State::Assigned), State::Drafted),
    (Command::Draft, Some(State::Drafted), State::Drafted),
    (Command::RejectDraft, Some(State::Drafted), State::Assigned),
    (Command::Sign, Some(State::Drafted), State::Signed),
    (Command::Issue, Some(State::Signed), State::Issued),
    (Command::Copy, Some(State::Issued), State::Copied),
    (Command::Refuse, Some(State::Received), State::NotAccepted),
    (Command::Merge, Some(State::Received), State::Merged),
    (Command::RecordFeedback, Some(State::Copied), State::Copied),
    (Command::Close, Some(State::Copied), State::Closed),
    (Command::Reopen, Some(State::Copied), State::Assigned),
];

/// Where each record is allowed: it keeps the state. Whether it succeeds there depends on the
/// handling too (one receipt, one pending extension at a time, a decision needs a request).
pub const RECORD_TABLE: [(Command, State); 15] = [
    (Command::Acknowledge, State::Assigned),
    (Command::Acknowledge, State::Drafted),
    (Command::Contact, State::Assigned),
    (Command::Contact, State::Drafted),
    (Command::Contact, State::Signed),
    (Command::RequestExtension, State::Assigned),
    (Command::RequestExtension, State::Drafted),
    (Command::RequestExtension, State::Signed),
    (Command::DecideExtension, State::Assigned),
    (Command::DecideExtension, State::Drafted),
    (Command::DecideExtension, State::Signed),
    // A decision on a return is sent while ASSIGNED; an approval without a reassignment leads
    // back to RECEIVED, which the model works out from the request.
    (Command::RequestReturn, State::Assigned),
    (Command::DecideReturn, State::Assigned),
    // A co-unit's opinion, before the lead signs.
    (Command::SubmitOpinion, State::Assigned),
    (Command::SubmitOpinion, State::Drafted),
];

/// The states of the forward path, in its order.
pub const STATES: [State; 6] = [
    State::Received,
    State::Assigned,
    State::Drafted,
    State::Signed,
    State::Issued,
    State::Copied,
];

/// Every state a proposal can be in: the forward path, then NOT_ACCEPTED (off it).
pub const ALL_STATES: [State; 7] = {
    let mut all = [State::NotAccepted; 7];
    let mut i = 0;
    while i < STATES.len() {
        all[i] = STATES[i];
        i += 1;
    }
    all
};

/// The forward path: the command that leaves each state in [`STATES`] but the last.
const FORWARD_PATH: [Command; 5] = [
    Command::Assign,
    Command::Draft,
    Command::Sign,
    Command::Issue,
    Command::Copy,
];

impl Command {
    pub const ALL: [Command; 9] = [
        Command::Receive,
        Command::Assign,
        Command::Return,
        Command::Draft,
        Command::RejectDraft,
        Command::Sign,
        Command::Issue,
        Command::Copy,
        Command::Refuse,
    ];

    /// The records a handling unit (or, for a decision, the office) adds while it handles a
    /// proposal; only an approved return changes the state.
    pub const RECORDS: [Command; 7] = [
        Command::Acknowledge,
        Command::Contact,
        Command::RequestExtension,
        Command::DecideExtension,
        Command::RequestReturn,
        Command::DecideReturn,
        Command::SubmitOpinion,
    ];

    /// The eight commands that act on an existing proposal: all but the receive.
    pub const ON_EXISTING: [Command; 8] = {
        let [Command::Receive, on_existing @ ..] = Self::ALL else {
            panic!("the receive comes first")
        };
        on_existing
    };

    /// Where the command leads from `from` (`None`: not received yet), if [`TABLE`] allows it.
    pub fn next(self, from: Option<State>) -> Option<State> {
        if Self::RECORDS.contains(&self) {
            return from.filter(|state| RECORD_TABLE.contains(&(self, *state)));
        }
        // A key proposal is designated anywhere on the forward path; the state stays.
        if self == Command::SetKey {
            return from.filter(|state| STATES.contains(state));
        }
        TABLE
            .iter()
            .find(|(command, f, _)| *command == self && *f == from)
            .map(|(_, _, to)| *to)
    }

    /// The state the command leads to: one per command, whichever state it is sent in.
    pub fn leads_to(self) -> State {
        let mut targets = TABLE.iter().filter(|(command, _, _)| *command == self);
        let (_, _, to) = targets.next().expect("every command is in the table");
        assert!(
            targets.all(|(_, _, other)| other == to),
            "{self:?} leads to one state"
        );
        *to
    }

    /// Whether the command is allowed on a proposal in `state`.
    pub fn allowed_in(self, state: State) -> bool {
        self.next(Some(state)).is_some()
    }

    /// The first state of the forward path in which the command is allowed: where tests send
    /// it to succeed. `None` for a receive, which needs no proposal.
    pub fn usual_state(self) -> Option<State> {
        STATES.into_iter().find(|s| self.allowed_in(*s))
    }

    /// The RPC's name as error details spell it.
    pub fn rpc_name(self) -> &'static str {
        match self {
            Command::Receive => "ReceiveProposal",
            Command::Assign => "AssignProposal",
            Command::Return => "ReturnProposal",
            Command::Draft => "DraftReply",
            Command::RejectDraft => "RejectDraft",
            Command::Sign => "SignReply",
            Command::Issue => "IssueReply",
            Command::Copy => "CopyReply",
            Command::Refuse => "RefuseProposal",
            Command::Acknowledge => "AcknowledgeAssignment",
            Command::Contact => "RecordContact",
            Command::RequestExtension => "RequestExtension",
            Command::DecideExtension => "DecideExtension",
            Command::RequestReturn => "RequestReturn",
            Command::DecideReturn => "DecideReturn",
            Command::SubmitOpinion => "SubmitOpinion",
            Command::Merge => "MergeProposal",
            Command::RecordFeedback => "RecordFeedback",
            Command::Close => "CloseProposal",
            Command::SetKey => "SetKeyProposal",
            Command::Reopen => "ReopenProposal",
        }
    }

    /// The command that recorded an event with this data.
    pub fn of_event(data: &Data) -> Self {
        match data {
            Data::Received(_) => Command::Receive,
            Data::Assigned(_) => Command::Assign,
            Data::Returned(_) => Command::Return,
            Data::Drafted(_) => Command::Draft,
            Data::DraftRejected(_) => Command::RejectDraft,
            Data::Signed(_) => Command::Sign,
            Data::Issued(_) => Command::Issue,
            Data::Copied(_) => Command::Copy,
            Data::Refused(_) => Command::Refuse,
            Data::Acknowledged(_) => Command::Acknowledge,
            Data::Contacted(_) => Command::Contact,
            Data::ExtensionRequested(_) => Command::RequestExtension,
            Data::ExtensionDecided(_) => Command::DecideExtension,
            Data::ReturnRequested(_) => Command::RequestReturn,
            Data::ReturnDecided(_) => Command::DecideReturn,
            Data::OpinionSubmitted(_) => Command::SubmitOpinion,
            // Both sides of a merge are recorded by MergeProposal.
            Data::Merged(_) | Data::MergeJoined(_) => Command::Merge,
            Data::FeedbackRecorded(_) => Command::RecordFeedback,
            Data::Closed(_) => Command::Close,
            Data::KeySet(_) => Command::SetKey,
            Data::Reopened(_) => Command::Reopen,
        }
    }
}

/// The usual next step from `state`, what a well-behaved client sends (a copied proposal gets
/// another copy, a refused one another refusal and a closed one another closing, which the
/// lifecycle refuses).
pub fn forward(state: Option<State>) -> Command {
    match state {
        None => Command::Receive,
        Some(State::Copied) => Command::Copy,
        Some(State::Closed) => Command::Close,
        Some(State::NotAccepted) => Command::Refuse,
        // Merged: another merge, which the lifecycle refuses.
        Some(State::Merged) => Command::Merge,
        Some(state) => path_to(State::Copied)[STATES.iter().position(|s| *s == state).unwrap()],
    }
}

/// The commands that take a newly received proposal to `state`: the forward path, or for
/// NOT_ACCEPTED the refusal.
pub fn path_to(state: State) -> &'static [Command] {
    if state == State::NotAccepted {
        return &[Command::Refuse];
    }
    let steps = STATES
        .iter()
        .position(|s| *s == state)
        .unwrap_or_else(|| panic!("{state:?} is no state a proposal can be in"));
    &FORWARD_PATH[..steps]
}

/// The state's name as error details spell it, e.g. `SIGNED`.
pub fn state_name(state: State) -> &'static str {
    state.as_str_name().strip_prefix("PROPOSAL_STATE_").unwrap()
}

/// Receives a new proposal (the seed's, under a fresh number) and drives it along the forward
/// path to `to`, with the kit's valid requests.
pub async fn drive<T: Transport>(client: &mut ProposalServiceClient<T>, to: State) -> pb::Proposal {
    let receive = requests::receive(requests::next_number());
    drive_from(client, receive, to, CommandRequest::valid).await
}

/// Sends `receive`, then the forward path to `to`, each step's request made by `request`;
/// fails unless every call succeeds and the proposal ends in `to`.
pub async fn drive_from<T: Transport>(
    client: &mut ProposalServiceClient<T>,
    receive: pb::ReceiveProposalRequest,
    to: State,
    request: impl Fn(Command, &pb::Proposal) -> CommandRequest,
) -> pb::Proposal {
    let what = format!("driving No. {} to {to:?}", receive.number);
    let mut p = CommandRequest::Receive(receive)
        .expect_proposal(client, &what)
        .await;
    for command in path_to(to) {
        p = request(*command, &p).expect_proposal(client, &what).await;
    }
    assert_eq!(p.state(), to, "{what}");
    p
}
