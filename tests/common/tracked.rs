//! A proposal the test drives over gRPC, and what it expects of it: every proposal a lifecycle
//! test drives is a [`Tracked`], whose expected state and events the test computes from what it
//! sent, and checks every answer against, field by field.

use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use proposal_service::seed::Seed;

use super::Client;
use super::lifecycle::{Command, State};
use super::reads::{history_pages, positions};
use super::requests::{self as rq, CommandFields, CommandRequest};

pub const REGISTRAR: &str = "提案委登记员";
pub const CLERK: &str = "承办单位经办人";
pub const LEADER: &str = "承办单位领导";
pub const OFFICE: &str = "承办单位办公室";

pub const COMMITTEES: [&str; 2] = ["许昌市政协", "禹州市政协"];
pub const SESSIONS: [&str; 2] = ["七届三次会议", "七届四次会议"];
pub const UNITS: [&str; 3] = ["许昌市生态环境局", "许昌市教育局", "许昌市交通运输局"];

/// The day every tracked act is dated: the day the seed's reply was signed and issued.
pub const ACT_DATE: &str = "2019-09-29";

/// Who sends `command`, each role its own actor as in a real office: the registrar receives,
/// assigns and refuses, the unit's clerk returns and drafts, its leader rejects and signs, its office issues
/// and copies.
pub fn actor_of(command: Command) -> &'static str {
    match command {
        Command::Receive
        | Command::Assign
        | Command::Refuse
        | Command::DecideExtension
        | Command::DecideReturn
        | Command::Merge
        | Command::RecordFeedback
        | Command::Close
        | Command::Reopen
        | Command::SetKey => REGISTRAR,
        Command::Return
        | Command::Draft
        | Command::Acknowledge
        | Command::Contact
        | Command::RequestExtension
        | Command::RequestReturn
        | Command::SubmitOpinion => CLERK,
        Command::RejectDraft | Command::Sign => LEADER,
        Command::Issue | Command::Copy => OFFICE,
    }
}

// ---------------------------------------------------------------------------------------------
// Actions and their expected effects
// ---------------------------------------------------------------------------------------------

/// One mutating call after registration, with the data it carries.
#[derive(Clone, Debug)]
pub enum Action {
    Assign {
        handling_unit: String,
        due_date: String,
    },
    Return {
        reason: String,
    },
    Draft(pb::Reply),
    RejectDraft {
        reason: String,
    },
    Sign {
        signer: String,
    },
    Issue {
        document_number: String,
        issue_date: String,
        issuing_office: String,
    },
    Copy {
        recipients: Vec<String>,
    },
}

impl Action {
    /// The command the action sends.
    pub fn command(&self) -> Command {
        match self {
            Self::Assign { .. } => Command::Assign,
            Self::Return { .. } => Command::Return,
            Self::Draft(_) => Command::Draft,
            Self::RejectDraft { .. } => Command::RejectDraft,
            Self::Sign { .. } => Command::Sign,
            Self::Issue { .. } => Command::Issue,
            Self::Copy { .. } => Command::Copy,
        }
    }

    /// The state the action leads to from `from`, by the kit's lifecycle table.
    pub fn target(&self, from: State) -> State {
        self.command()
            .next(Some(from))
            .unwrap_or_else(|| panic!("{:?} is not allowed in {from:?}", self.command()))
    }

    pub fn actor(&self) -> &'static str {
        actor_of(self.command())
    }

    /// What the proposal must look like after this action: a backward move clears what no longer
    /// holds (a returned proposal has no unit and no due date; a rejected draft is gone).
    pub fn apply(&self, proposal: &mut pb::Proposal) {
        let to = self.target(proposal.state());
        match self {
            Self::Assign {
                handling_unit,
                due_date,
            } => {
                proposal.handling_unit.clone_from(handling_unit);
                proposal.due_date.clone_from(due_date);
                // One sole handling, opened on the act's day.
                proposal.handlings = vec![pb::Handling {
                    unit: handling_unit.clone(),
                    role: pb::HandlingRole::Sole as i32,
                    assigned_date: ACT_DATE.into(),
                    original_due_date: due_date.clone(),
                    due_date: due_date.clone(),
                    ..Default::default()
                }];
            }
            Self::Return { .. } => {
                proposal.handling_unit.clear();
                proposal.due_date.clear();
                proposal.handlings.clear();
            }
            Self::Draft(reply) => proposal.reply = Some(reply.clone()),
            Self::RejectDraft { .. } => proposal.reply = None,
            Self::Sign { signer } => {
                proposal.signer.clone_from(signer);
                // Signed on the act's date, by default.
                proposal.sign_date = ACT_DATE.into();
            }
            Self::Issue {
                document_number,
                issue_date,
                issuing_office,
            } => {
                proposal.document_number.clone_from(document_number);
                proposal.issue_date.clone_from(issue_date);
                proposal.issuing_office.clone_from(issuing_office);
            }
            Self::Copy { recipients } => proposal.copied_to.clone_from(recipients),
        }
        proposal.state = to as i32;
        // The sole handling shows the proposal's reply as its own.
        for handling in &mut proposal.handlings {
            handling.state = to as i32;
            handling.reply.clone_from(&proposal.reply);
            handling.signer.clone_from(&proposal.signer);
            handling.sign_date.clone_from(&proposal.sign_date);
            handling
                .document_number
                .clone_from(&proposal.document_number);
            handling.issue_date.clone_from(&proposal.issue_date);
            handling.issuing_office.clone_from(&proposal.issuing_office);
            handling.copied_to.clone_from(&proposal.copied_to);
        }
        proposal.version += 1;
    }

    /// The event data the action must record when taken on `before` (from its state).
    pub fn event_data(&self, before: &pb::Proposal) -> Data {
        let from = before.state();
        match self.clone() {
            Self::Assign {
                handling_unit,
                due_date,
            } => Data::Assigned(pb::ProposalAssigned {
                handling_unit,
                due_date,
                co_units: Vec::new(),
                co_due_date: String::new(),
                split_units: Vec::new(),
            }),
            Self::Return { reason } => Data::Returned(pb::ProposalReturned { reason }),
            Self::Draft(reply) => Data::Drafted(pb::ReplyDrafted {
                reply: Some(reply),
                revision: from == State::Drafted,
                handling_unit: String::new(),
            }),
            Self::RejectDraft { reason } => Data::DraftRejected(pb::DraftRejected {
                reason,
                handling_unit: String::new(),
            }),
            Self::Sign { signer } => Data::Signed(pb::ReplySigned {
                signer,
                handling_unit: String::new(),
                sign_date: ACT_DATE.into(),
            }),
            Self::Issue {
                document_number,
                issue_date,
                issuing_office,
            } => Data::Issued(pb::ReplyIssued {
                document_number,
                issue_date,
                issuing_office,
                handling_unit: String::new(),
                // The default rules copy to no one and publish nothing.
                copy_to: Vec::new(),
                public: false,
            }),
            Self::Copy { recipients } => Data::Copied(pb::ReplyCopied {
                recipients,
                handling_unit: String::new(),
                proposers: before.proposers.clone(),
            }),
        }
    }

    /// The action as its request on `p`, under the action's actor and `request_id`.
    pub fn request(&self, p: &pb::Proposal, request_id: &str) -> CommandRequest {
        let request: CommandRequest = match self.clone() {
            Self::Assign {
                handling_unit,
                due_date,
            } => pb::AssignProposalRequest {
                handling_unit,
                due_date,
                ..rq::assign(p)
            }
            .into(),
            Self::Return { reason } => pb::ReturnProposalRequest {
                reason,
                ..rq::return_(p)
            }
            .into(),
            Self::Draft(reply) => pb::DraftReplyRequest {
                reply: Some(reply),
                ..rq::draft(p)
            }
            .into(),
            Self::RejectDraft { reason } => pb::RejectDraftRequest {
                reason,
                ..rq::reject(p)
            }
            .into(),
            Self::Sign { signer } => pb::SignReplyRequest {
                signer,
                ..rq::sign(p)
            }
            .into(),
            Self::Issue {
                document_number,
                issue_date,
                issuing_office,
            } => pb::IssueReplyRequest {
                document_number,
                issue_date,
                issuing_office,
                ..rq::issue(p)
            }
            .into(),
            Self::Copy { recipients } => pb::CopyReplyRequest {
                recipients,
                ..rq::copy(p)
            }
            .into(),
        };
        request.by(self.actor()).keyed(request_id)
    }
}

/// The forward path of one proposal: the action that leaves each state.
pub struct Path {
    pub assign: Action,
    pub draft: Action,
    pub sign: Action,
    pub issue: Action,
    pub copy: Action,
}

impl Path {
    /// Proposal No. 228 exactly as the seed document records it.
    pub fn seed(seed: &Seed) -> Self {
        Self {
            assign: Action::Assign {
                handling_unit: seed.handling_unit.clone(),
                due_date: "2019-08-31".into(),
            },
            draft: Action::Draft(seed.reply().into()),
            sign: Action::Sign {
                signer: seed.signer.clone(),
            },
            issue: Action::Issue {
                document_number: seed.document_number.clone(),
                issue_date: seed.issue_date.clone(),
                issuing_office: seed.issuing_office.clone(),
            },
            copy: Action::Copy {
                recipients: seed.recipients.clone(),
            },
        }
    }

    /// A made-up proposal handled by `unit`; `number` keeps its document number unique.
    pub fn synthetic(number: u32, unit: &str) -> Self {
        Self {
            assign: Action::Assign {
                handling_unit: unit.into(),
                due_date: "2019-12-31".into(),
            },
            draft: Action::Draft(synthetic_reply(number, "答复")),
            sign: Action::Sign {
                signer: "王签发".into(),
            },
            issue: Action::Issue {
                document_number: format!("许政办〔2019〕{number}号"),
                issue_date: "2019-10-15".into(),
                issuing_office: format!("{unit}办公室"),
            },
            copy: Action::Copy {
                recipients: vec!["市政协提案委".into(), "市政府督查室".into()],
            },
        }
    }

    /// The forward action out of `state`.
    pub fn next(&self, state: State) -> &Action {
        match state {
            State::Received => &self.assign,
            State::Assigned => &self.draft,
            State::Drafted => &self.sign,
            State::Signed => &self.issue,
            State::Issued => &self.copy,
            other => panic!("no forward action leaves {other:?}"),
        }
    }
}

pub fn synthetic_reply(number: u32, label: &str) -> pb::Reply {
    pb::Reply {
        body: format!(
            "您提出的第{number}号提案收悉。现{label}如下：\n一、工作开展情况。\n二、下一步打算。"
        ),
        result_code: pb::ResultCode::B as i32,
        contact_unit: "综合科".into(),
        contact_phone: "6060000".into(),
    }
}

pub fn registration(committee: &str, session: &str, number: u32) -> pb::ReceiveProposalRequest {
    pb::ReceiveProposalRequest {
        committee: committee.into(),
        session: session.into(),
        number,
        title: format!("关于第{number}号事项的提案"),
        proposers: vec!["张委员".into(), "李委员".into()],
        content: format!("第{number}号提案：\n建议一。\n建议二。"),
        request_id: format!("receive/{committee}/{session}/{number}"),
        actor: REGISTRAR.into(),
        effective_date: String::new(),
        proposer_kind: pb::ProposerKind::Member as i32,
    }
}

pub fn seed_registration(seed: &Seed) -> pb::ReceiveProposalRequest {
    pb::ReceiveProposalRequest {
        request_id: "receive/228".into(),
        actor: REGISTRAR.into(),
        ..seed.registration().into()
    }
}

// ---------------------------------------------------------------------------------------------
// A proposal the test drives, and what it expects of it
// ---------------------------------------------------------------------------------------------

/// An event as the test expects to read it back.
#[derive(Debug)]
pub struct ExpectedEvent {
    pub from_state: State,
    pub to_state: State,
    pub actor: String,
    pub request_id: String,
    pub data: Data,
    /// The `updated_at` of the proposal the call returned.
    pub occurred_at: Option<prost_types::Timestamp>,
}

/// A proposal under test: what it must look like now and every event the test caused.
pub struct Tracked {
    pub expected: pb::Proposal,
    pub events: Vec<ExpectedEvent>,
}

impl Tracked {
    /// Registers a proposal and checks the response against the request.
    pub async fn receive(client: &Client, request: pb::ReceiveProposalRequest) -> Self {
        let request = pb::ReceiveProposalRequest {
            effective_date: ACT_DATE.into(),
            ..request
        };
        let actual = client
            .clone()
            .receive_proposal(request.clone())
            .await
            .unwrap_or_else(|s| panic!("ReceiveProposal No. {} failed: {s:?}", request.number))
            .into_inner()
            .proposal
            .expect("ReceiveProposal returns the proposal");
        assert!(
            uuid::Uuid::parse_str(&actual.id).is_ok(),
            "the id {:?} is a UUID",
            actual.id
        );
        assert!(actual.received_at.is_some(), "received_at is set");
        let expected = pb::Proposal {
            id: actual.id.clone(),
            committee: request.committee.clone(),
            session: request.session.clone(),
            number: request.number,
            title: request.title.clone(),
            proposers: request.proposers.clone(),
            content: request.content.clone(),
            state: State::Received as i32,
            version: 1,
            received_at: actual.received_at,
            // A new proposal was last updated when it was received.
            updated_at: actual.received_at,
            // Unset in a request reads as members.
            proposer_kind: request.proposer_kind.max(pb::ProposerKind::Member as i32),
            last_act_date: ACT_DATE.into(),
            // The first round of handling.
            round: 1,
            ..Default::default()
        };
        assert_proposal(&actual, &expected);
        let event = ExpectedEvent {
            from_state: State::Unspecified,
            to_state: State::Received,
            actor: request.actor,
            request_id: request.request_id,
            data: Data::Received(pb::ProposalReceived {
                committee: request.committee,
                session: request.session,
                number: request.number,
                title: request.title,
                proposers: request.proposers,
                content: request.content,
                // Unset in a request reads as members, which the event names.
                proposer_kind: request.proposer_kind.max(pb::ProposerKind::Member as i32),
            }),
            occurred_at: actual.received_at,
        };
        Self {
            expected,
            events: vec![event],
        }
    }

    pub fn id(&self) -> &str {
        &self.expected.id
    }

    pub fn state(&self) -> State {
        self.expected.state()
    }

    /// Takes one action and checks the returned proposal field by field.
    pub async fn step(&mut self, client: &Client, action: Action) -> pb::Proposal {
        let from = self.state();
        let request_id = format!("{}/{}", self.id(), self.expected.version + 1);
        let actual = action
            .request(&self.expected, &request_id)
            .dated(ACT_DATE)
            .send(&mut client.clone())
            .await
            .unwrap_or_else(|s| panic!("{action:?} from {from:?} failed: {s:?}"))
            .expect("a mutating RPC returns the proposal");
        assert!(
            instant(&actual.updated_at) >= instant(&self.expected.updated_at),
            "updated_at went backwards after {action:?}"
        );
        let mut expected = self.expected.clone();
        action.apply(&mut expected);
        expected.updated_at = actual.updated_at;
        assert_proposal(&actual, &expected);
        self.events.push(ExpectedEvent {
            from_state: from,
            to_state: action.target(from),
            actor: action.actor().into(),
            request_id,
            data: action.event_data(&self.expected),
            occurred_at: actual.updated_at,
        });
        self.expected = expected;
        actual
    }

    /// Drives the proposal forward along `path` until it is in `target`.
    pub async fn drive_to(&mut self, client: &Client, path: &Path, target: State) {
        while self.state() != target {
            let action = path.next(self.state()).clone();
            self.step(client, action).await;
        }
    }

    /// Goes around the loop a unit outside the proposal's remit makes: assigned to
    /// `wrong_unit`, returned to the registrar.
    pub async fn detour_via(&mut self, client: &Client, wrong_unit: &str) {
        let assign = Action::Assign {
            handling_unit: wrong_unit.into(),
            due_date: "2019-07-31".into(),
        };
        self.step(client, assign).await;
        let reason = format!("不属于{wrong_unit}职责范围，请重新交办。");
        self.step(client, Action::Return { reason }).await;
    }
}

/// Compares every field of a proposal, naming the field that differs.
pub fn assert_proposal(actual: &pb::Proposal, expected: &pb::Proposal) {
    let what = format!(
        "proposal No. {} ({}) at version {}",
        expected.number, expected.id, expected.version
    );
    assert_eq!(actual.id, expected.id, "{what}: id");
    assert_eq!(actual.committee, expected.committee, "{what}: committee");
    assert_eq!(actual.session, expected.session, "{what}: session");
    assert_eq!(actual.number, expected.number, "{what}: number");
    assert_eq!(actual.title, expected.title, "{what}: title");
    assert_eq!(actual.proposers, expected.proposers, "{what}: proposers");
    assert_eq!(actual.content, expected.content, "{what}: content");
    assert_eq!(actual.state(), expected.state(), "{what}: state");
    assert_eq!(actual.version, expected.version, "{what}: version");
    assert_eq!(
        actual.handling_unit, expected.handling_unit,
        "{what}: handling_unit"
    );
    assert_eq!(actual.due_date, expected.due_date, "{what}: due_date");
    match (&actual.reply, &expected.reply) {
        (None, None) => {}
        (Some(actual), Some(expected)) => {
            assert!(
                actual.body.as_bytes() == expected.body.as_bytes(),
                "{what}: reply.body differs ({} bytes, expected {} bytes)",
                actual.body.len(),
                expected.body.len()
            );
            assert_eq!(
                actual.result_code(),
                expected.result_code(),
                "{what}: reply.result_code"
            );
            assert_eq!(
                actual.contact_unit, expected.contact_unit,
                "{what}: reply.contact_unit"
            );
            assert_eq!(
                actual.contact_phone, expected.contact_phone,
                "{what}: reply.contact_phone"
            );
        }
        (actual, expected) => panic!(
            "{what}: reply is {}, expected {}",
            presence(actual),
            presence(expected)
        ),
    }
    assert_eq!(actual.signer, expected.signer, "{what}: signer");
    assert_eq!(
        actual.document_number, expected.document_number,
        "{what}: document_number"
    );
    assert_eq!(actual.issue_date, expected.issue_date, "{what}: issue_date");
    assert_eq!(
        actual.issuing_office, expected.issuing_office,
        "{what}: issuing_office"
    );
    assert_eq!(actual.copied_to, expected.copied_to, "{what}: copied_to");
    assert_eq!(
        actual.received_at, expected.received_at,
        "{what}: received_at"
    );
    assert_eq!(actual.updated_at, expected.updated_at, "{what}: updated_at");
    // Catches a field added to the proto after this function was written.
    assert_eq!(actual, expected, "{what}: some other field differs");
}

fn presence<T>(value: &Option<T>) -> &'static str {
    if value.is_some() { "set" } else { "absent" }
}

/// A timestamp as a comparable pair.
pub fn instant(at: &Option<prost_types::Timestamp>) -> (i64, i32) {
    let at = at.expect("the timestamp is set");
    (at.seconds, at.nanos)
}

/// The oneof case of an event, for readable history tables.
pub fn kind(data: &Option<Data>) -> &'static str {
    match data {
        Some(Data::Received(_)) => "received",
        Some(Data::Assigned(_)) => "assigned",
        Some(Data::Returned(_)) => "returned",
        Some(Data::Drafted(_)) => "drafted",
        Some(Data::DraftRejected(_)) => "draft_rejected",
        Some(Data::Signed(_)) => "signed",
        Some(Data::Issued(_)) => "issued",
        Some(Data::Copied(_)) => "copied",
        Some(Data::Refused(_)) => "refused",
        Some(Data::Acknowledged(_)) => "acknowledged",
        Some(Data::Contacted(_)) => "contacted",
        Some(Data::ExtensionRequested(_)) => "extension_requested",
        Some(Data::ExtensionDecided(_)) => "extension_decided",
        Some(Data::ReturnRequested(_)) => "return_requested",
        Some(Data::ReturnDecided(_)) => "return_decided",
        Some(Data::OpinionSubmitted(_)) => "opinion_submitted",
        Some(Data::Merged(_)) => "merged",
        Some(Data::MergeJoined(_)) => "merge_joined",
        Some(Data::FeedbackRecorded(_)) => "feedback_recorded",
        Some(Data::Closed(_)) => "closed",
        Some(Data::KeySet(_)) => "key_set",
        Some(Data::Reopened(_)) => "reopened",
        None => "none",
    }
}

/// Reads the whole history in one page and checks every event against what the test caused.
pub async fn assert_history(client: &Client, tracked: &Tracked) -> Vec<pb::ProposalEvent> {
    let pages = history_pages(client, tracked.id(), 0).await;
    assert_eq!(pages.len(), 1, "a short history fits in the default page");
    let events = pages.concat();
    assert_eq!(
        events.len(),
        tracked.events.len(),
        "the history of {} holds one event per call: {:?}",
        tracked.id(),
        events.iter().map(|e| kind(&e.data)).collect::<Vec<_>>()
    );
    for (index, (actual, expected)) in events.iter().zip(&tracked.events).enumerate() {
        let sequence = index as u64 + 1;
        let what = format!("event {sequence} of {}", tracked.id());
        assert_eq!(actual.proposal_id, tracked.id(), "{what}: proposal_id");
        assert_eq!(actual.sequence, sequence, "{what}: sequence");
        assert_eq!(
            actual.from_state(),
            expected.from_state,
            "{what}: from_state"
        );
        assert_eq!(actual.to_state(), expected.to_state, "{what}: to_state");
        assert_eq!(actual.actor, expected.actor, "{what}: actor");
        assert_eq!(actual.request_id, expected.request_id, "{what}: request_id");
        assert_eq!(actual.effective_date, ACT_DATE, "{what}: effective_date");
        assert_eq!(
            actual.occurred_at, expected.occurred_at,
            "{what}: occurred_at"
        );
        assert!(
            actual.data.as_ref() == Some(&expected.data),
            "{what}: data is {}, not what was sent ({:?})",
            kind(&actual.data),
            expected.data
        );
    }
    assert_strictly_increasing(&positions(&events), "positions within one history");
    events
}

pub fn assert_strictly_increasing(values: &[u64], what: &str) {
    assert!(
        values.first().is_none_or(|&first| first >= 1),
        "{what} are 1-based: {values:?}"
    );
    assert!(
        values.windows(2).all(|pair| pair[0] < pair[1]),
        "{what} strictly increase: {values:?}"
    );
}
