mod common;

// Lifecycle tests over real gRPC: proposal No. 228 driven from registration to the copied reply,
// the backward moves (return, revision, rejected draft), durability across a restart, and the
// paging and filters of ListProposals and GetProposalHistory.
//
// Every proposal a test drives is a `Tracked`: the test computes, from what it sent, what the
// proposal and each of its events must look like, and checks every response against that.

use std::collections::{BTreeMap, BTreeSet};

use common::{Client, TestServer};
use proposal_service::pb;
use proposal_service::pb::ProposalState as State;
use proposal_service::pb::proposal_event::Data;
use proposal_service::seed::{self, Seed};
use tonic::{Code, Status};
use tonic_types::StatusExt;

const REGISTRAR: &str = "提案委登记员";
const CLERK: &str = "承办单位经办人";
const LEADER: &str = "承办单位领导";
const OFFICE: &str = "承办单位办公室";

const COMMITTEES: [&str; 2] = ["许昌市政协", "禹州市政协"];
const SESSIONS: [&str; 2] = ["七届三次会议", "七届四次会议"];
const UNITS: [&str; 3] = ["许昌市生态环境局", "许昌市教育局", "许昌市交通运输局"];
/// The forward states, in lifecycle order.
const FORWARD: [State; 6] = [
    State::Received,
    State::Assigned,
    State::Drafted,
    State::Signed,
    State::Issued,
    State::Copied,
];

// ---------------------------------------------------------------------------------------------
// Actions and their expected effects
// ---------------------------------------------------------------------------------------------

/// One mutating call after registration, with the data it carries.
#[derive(Clone, Debug)]
enum Action {
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
    /// The state the action leads to: the test's own copy of the lifecycle in the proto.
    fn target(&self) -> State {
        match self {
            Self::Assign { .. } | Self::RejectDraft { .. } => State::Assigned,
            Self::Return { .. } => State::Received,
            Self::Draft(_) => State::Drafted,
            Self::Sign { .. } => State::Signed,
            Self::Issue { .. } => State::Issued,
            Self::Copy { .. } => State::Copied,
        }
    }

    fn actor(&self) -> &'static str {
        match self {
            Self::Assign { .. } => REGISTRAR,
            Self::Return { .. } | Self::Draft(_) => CLERK,
            Self::RejectDraft { .. } | Self::Sign { .. } => LEADER,
            Self::Issue { .. } | Self::Copy { .. } => OFFICE,
        }
    }

    /// What the proposal must look like after this action: a backward move clears what no longer
    /// holds (a returned proposal has no unit and no due date; a rejected draft is gone).
    fn apply(&self, proposal: &mut pb::Proposal) {
        match self {
            Self::Assign {
                handling_unit,
                due_date,
            } => {
                proposal.handling_unit.clone_from(handling_unit);
                proposal.due_date.clone_from(due_date);
            }
            Self::Return { .. } => {
                proposal.handling_unit.clear();
                proposal.due_date.clear();
            }
            Self::Draft(reply) => proposal.reply = Some(reply.clone()),
            Self::RejectDraft { .. } => proposal.reply = None,
            Self::Sign { signer } => proposal.signer.clone_from(signer),
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
        proposal.state = self.target() as i32;
        proposal.version += 1;
    }

    /// The event data the action must record when taken from `from`.
    fn event_data(&self, from: State) -> Data {
        match self.clone() {
            Self::Assign {
                handling_unit,
                due_date,
            } => Data::Assigned(pb::ProposalAssigned {
                handling_unit,
                due_date,
            }),
            Self::Return { reason } => Data::Returned(pb::ProposalReturned { reason }),
            Self::Draft(reply) => Data::Drafted(pb::ReplyDrafted {
                reply: Some(reply),
                revision: from == State::Drafted,
            }),
            Self::RejectDraft { reason } => Data::DraftRejected(pb::DraftRejected { reason }),
            Self::Sign { signer } => Data::Signed(pb::ReplySigned { signer }),
            Self::Issue {
                document_number,
                issue_date,
                issuing_office,
            } => Data::Issued(pb::ReplyIssued {
                document_number,
                issue_date,
                issuing_office,
            }),
            Self::Copy { recipients } => Data::Copied(pb::ReplyCopied { recipients }),
        }
    }

    /// Sends the action as its RPC and returns the proposal from the response.
    async fn send(
        &self,
        client: &Client,
        proposal_id: &str,
        request_id: &str,
    ) -> Result<pb::Proposal, Status> {
        let mut client = client.clone();
        let proposal_id = proposal_id.to_owned();
        let request_id = request_id.to_owned();
        let actor = self.actor().to_owned();
        let proposal = match self.clone() {
            Self::Assign {
                handling_unit,
                due_date,
            } => {
                let request = pb::AssignProposalRequest {
                    proposal_id,
                    handling_unit,
                    due_date,
                    expected_version: None,
                    request_id,
                    actor,
                };
                client.assign_proposal(request).await?.into_inner().proposal
            }
            Self::Return { reason } => {
                let request = pb::ReturnProposalRequest {
                    proposal_id,
                    reason,
                    expected_version: None,
                    request_id,
                    actor,
                };
                client.return_proposal(request).await?.into_inner().proposal
            }
            Self::Draft(reply) => {
                let request = pb::DraftReplyRequest {
                    proposal_id,
                    reply: Some(reply),
                    expected_version: None,
                    request_id,
                    actor,
                };
                client.draft_reply(request).await?.into_inner().proposal
            }
            Self::RejectDraft { reason } => {
                let request = pb::RejectDraftRequest {
                    proposal_id,
                    reason,
                    expected_version: None,
                    request_id,
                    actor,
                };
                client.reject_draft(request).await?.into_inner().proposal
            }
            Self::Sign { signer } => {
                let request = pb::SignReplyRequest {
                    proposal_id,
                    signer,
                    expected_version: None,
                    request_id,
                    actor,
                };
                client.sign_reply(request).await?.into_inner().proposal
            }
            Self::Issue {
                document_number,
                issue_date,
                issuing_office,
            } => {
                let request = pb::IssueReplyRequest {
                    proposal_id,
                    document_number,
                    issue_date,
                    issuing_office,
                    expected_version: None,
                    request_id,
                    actor,
                };
                client.issue_reply(request).await?.into_inner().proposal
            }
            Self::Copy { recipients } => {
                let request = pb::CopyReplyRequest {
                    proposal_id,
                    recipients,
                    expected_version: None,
                    request_id,
                    actor,
                };
                client.copy_reply(request).await?.into_inner().proposal
            }
        };
        Ok(proposal.expect("a mutating RPC returns the proposal"))
    }
}

/// The forward path of one proposal: the action that leaves each state.
struct Path {
    assign: Action,
    draft: Action,
    sign: Action,
    issue: Action,
    copy: Action,
}

impl Path {
    /// Proposal No. 228 exactly as the seed document records it.
    fn seed(seed: &Seed) -> Self {
        Self {
            assign: Action::Assign {
                handling_unit: seed.handling_unit.clone(),
                due_date: "2019-08-31".into(),
            },
            draft: Action::Draft(seed.reply()),
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
    fn synthetic(number: u32, unit: &str) -> Self {
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
    fn next(&self, state: State) -> &Action {
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

fn synthetic_reply(number: u32, label: &str) -> pb::Reply {
    pb::Reply {
        body: format!(
            "您提出的第{number}号提案收悉。现{label}如下：\n一、工作开展情况。\n二、下一步打算。"
        ),
        result_code: pb::ResultCode::B as i32,
        contact_unit: "综合科".into(),
        contact_phone: "6060000".into(),
    }
}

fn registration(committee: &str, session: &str, number: u32) -> pb::ReceiveProposalRequest {
    pb::ReceiveProposalRequest {
        committee: committee.into(),
        session: session.into(),
        number,
        title: format!("关于第{number}号事项的提案"),
        proposers: vec!["张委员".into(), "李委员".into()],
        content: format!("第{number}号提案：\n建议一。\n建议二。"),
        request_id: format!("receive/{committee}/{session}/{number}"),
        actor: REGISTRAR.into(),
    }
}

fn seed_registration(seed: &Seed) -> pb::ReceiveProposalRequest {
    pb::ReceiveProposalRequest {
        request_id: "receive/228".into(),
        ..seed.receive_request()
    }
}

// ---------------------------------------------------------------------------------------------
// A proposal the test drives, and what it expects of it
// ---------------------------------------------------------------------------------------------

/// An event as the test expects to read it back.
#[derive(Debug)]
struct ExpectedEvent {
    from_state: State,
    to_state: State,
    actor: String,
    request_id: String,
    data: Data,
    /// The `updated_at` of the proposal the call returned.
    occurred_at: Option<prost_types::Timestamp>,
}

/// A proposal under test: what it must look like now and every event the test caused.
struct Tracked {
    expected: pb::Proposal,
    events: Vec<ExpectedEvent>,
}

impl Tracked {
    /// Registers a proposal and checks the response against the request.
    async fn receive(client: &Client, request: pb::ReceiveProposalRequest) -> Self {
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
            }),
            occurred_at: actual.received_at,
        };
        Self {
            expected,
            events: vec![event],
        }
    }

    fn id(&self) -> &str {
        &self.expected.id
    }

    fn state(&self) -> State {
        self.expected.state()
    }

    /// Takes one action and checks the returned proposal field by field.
    async fn step(&mut self, client: &Client, action: Action) -> pb::Proposal {
        let from = self.state();
        let request_id = format!("{}/{}", self.id(), self.expected.version + 1);
        let actual = action
            .send(client, self.id(), &request_id)
            .await
            .unwrap_or_else(|s| panic!("{action:?} from {from:?} failed: {s:?}"));
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
            to_state: action.target(),
            actor: action.actor().into(),
            request_id,
            data: action.event_data(from),
            occurred_at: actual.updated_at,
        });
        self.expected = expected;
        actual
    }

    /// Drives the proposal forward along `path` until it is in `target`.
    async fn drive_to(&mut self, client: &Client, path: &Path, target: State) {
        while self.state() != target {
            let action = path.next(self.state()).clone();
            self.step(client, action).await;
        }
    }

    /// Goes around the loop a unit outside the proposal's remit makes: assigned to
    /// `wrong_unit`, returned to the registrar.
    async fn detour_via(&mut self, client: &Client, wrong_unit: &str) {
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
fn assert_proposal(actual: &pb::Proposal, expected: &pb::Proposal) {
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
fn instant(at: &Option<prost_types::Timestamp>) -> (i64, i32) {
    let at = at.expect("the timestamp is set");
    (at.seconds, at.nanos)
}

/// The oneof case of an event, for readable history tables.
fn kind(data: &Option<Data>) -> &'static str {
    match data {
        Some(Data::Received(_)) => "received",
        Some(Data::Assigned(_)) => "assigned",
        Some(Data::Returned(_)) => "returned",
        Some(Data::Drafted(_)) => "drafted",
        Some(Data::DraftRejected(_)) => "draft_rejected",
        Some(Data::Signed(_)) => "signed",
        Some(Data::Issued(_)) => "issued",
        Some(Data::Copied(_)) => "copied",
        None => "none",
    }
}

/// Reads the whole history in one page and checks every event against what the test caused.
async fn assert_history(client: &Client, tracked: &Tracked) -> Vec<pb::ProposalEvent> {
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

fn positions(events: &[pb::ProposalEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

fn assert_strictly_increasing(values: &[u64], what: &str) {
    assert!(
        values.first().is_none_or(|&first| first >= 1),
        "{what} are 1-based: {values:?}"
    );
    assert!(
        values.windows(2).all(|pair| pair[0] < pair[1]),
        "{what} strictly increase: {values:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

async fn get(client: &Client, id: &str) -> pb::Proposal {
    let request = pb::GetProposalRequest {
        proposal_id: id.into(),
        ..Default::default()
    };
    client
        .clone()
        .get_proposal(request)
        .await
        .unwrap_or_else(|s| panic!("GetProposal {id} failed: {s:?}"))
        .into_inner()
        .proposal
        .expect("GetProposal returns the proposal")
}

async fn history_page(
    client: &Client,
    id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<pb::GetProposalHistoryResponse, Status> {
    let request = pb::GetProposalHistoryRequest {
        proposal_id: id.into(),
        page_size,
        page_token: page_token.into(),
    };
    Ok(client
        .clone()
        .get_proposal_history(request)
        .await?
        .into_inner())
}

/// Every page of a history, following the tokens to the end.
async fn history_pages(client: &Client, id: &str, page_size: i32) -> Vec<Vec<pb::ProposalEvent>> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = history_page(client, id, page_size, &token)
            .await
            .unwrap_or_else(|s| panic!("GetProposalHistory {id} failed: {s:?}"));
        pages.push(page.events);
        if page.next_page_token.is_empty() {
            return pages;
        }
        assert!(pages.len() < 1000, "history paging never ends");
        token = page.next_page_token;
    }
}

/// ListProposals filters; `None` leaves a filter unset.
#[derive(Clone, Debug, Default)]
struct Filter {
    state: Option<State>,
    handling_unit: Option<String>,
    committee: Option<String>,
    session: Option<String>,
}

impl Filter {
    /// Whether the contract says `proposal` belongs in the listing: every set filter matches.
    fn matches(&self, proposal: &pb::Proposal) -> bool {
        self.state.is_none_or(|s| s == proposal.state())
            && self
                .handling_unit
                .as_ref()
                .is_none_or(|u| *u == proposal.handling_unit)
            && self
                .committee
                .as_ref()
                .is_none_or(|c| *c == proposal.committee)
            && self.session.as_ref().is_none_or(|s| *s == proposal.session)
    }

    fn request(&self, page_size: i32, page_token: &str) -> pb::ListProposalsRequest {
        pb::ListProposalsRequest {
            state: self.state.unwrap_or(State::Unspecified) as i32,
            handling_unit: self.handling_unit.clone().unwrap_or_default(),
            committee: self.committee.clone().unwrap_or_default(),
            session: self.session.clone().unwrap_or_default(),
            page_size,
            page_token: page_token.into(),
            ..Default::default()
        }
    }
}

async fn list_page(
    client: &Client,
    filter: &Filter,
    page_size: i32,
    page_token: &str,
) -> Result<pb::ListProposalsResponse, Status> {
    let request = filter.request(page_size, page_token);
    Ok(client.clone().list_proposals(request).await?.into_inner())
}

/// Every page of a listing, following the tokens to the end.
async fn list_pages(client: &Client, filter: &Filter, page_size: i32) -> Vec<Vec<pb::Proposal>> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = list_page(client, filter, page_size, &token)
            .await
            .unwrap_or_else(|s| panic!("ListProposals {filter:?} failed: {s:?}"));
        pages.push(page.proposals);
        if page.next_page_token.is_empty() {
            return pages;
        }
        assert!(pages.len() < 1000, "list paging never ends");
        token = page.next_page_token;
    }
}

/// The proposals the test expects a filter to list, by id.
fn expected_listing(tracked: &[Tracked], filter: &Filter) -> BTreeMap<String, pb::Proposal> {
    tracked
        .iter()
        .map(|t| &t.expected)
        .filter(|p| filter.matches(p))
        .map(|p| (p.id.clone(), basic(p)))
        .collect()
}

/// What the basic view (a listing's default) shows of `proposal`: everything but the content
/// and the reply.
fn basic(proposal: &pb::Proposal) -> pb::Proposal {
    pb::Proposal {
        content: String::new(),
        reply: None,
        ..proposal.clone()
    }
}

/// Keys a listing by id, failing on a proposal listed twice.
fn by_id(listed: &[pb::Proposal], what: &str) -> BTreeMap<String, pb::Proposal> {
    let mut map = BTreeMap::new();
    for proposal in listed {
        let id = proposal.id.clone();
        assert!(
            map.insert(id.clone(), proposal.clone()).is_none(),
            "{what}: {id} is listed twice"
        );
    }
    map
}

/// Pages through `filter` with `page_size` and checks that the pages are full but the last, that
/// only the last has no token, and that together they are exactly the one-page listing, which in
/// turn is exactly the expected set.
async fn assert_paged(client: &Client, tracked: &[Tracked], filter: &Filter, page_size: usize) {
    let expected = expected_listing(tracked, filter);
    let what = format!("{filter:?} by {page_size}");
    let whole = list_page(client, filter, 1000, "").await.unwrap();
    assert!(
        whole.next_page_token.is_empty(),
        "{what}: one page holds all"
    );
    assert_eq!(by_id(&whole.proposals, &what), expected, "{what}: listing");

    let pages = list_pages(client, filter, page_size as i32).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    let expected_sizes: Vec<usize> = (0..expected.len())
        .step_by(page_size)
        .map(|start| page_size.min(expected.len() - start))
        .collect();
    assert_eq!(sizes, expected_sizes, "{what}: page sizes");
    assert_eq!(
        pages.concat(),
        whole.proposals,
        "{what}: the pages concatenate to the one-page listing, in order"
    );
}

/// Fails unless `result` is INVALID_ARGUMENT naming exactly `field` as the bad one.
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, field: &str, what: &str) {
    let status = match result {
        Ok(value) => panic!("{what}: accepted ({value:?}), expected INVALID_ARGUMENT"),
        Err(status) => status,
    };
    assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    let fields: Vec<String> = status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert_eq!(fields, [field], "{what}: the violation names the field");
}

// ---------------------------------------------------------------------------------------------
// Scenarios shared by several tests
// ---------------------------------------------------------------------------------------------

/// The lifecycle with every backward move: assigned to the wrong unit and returned, re-assigned
/// along `path`, drafted, revised, rejected, drafted again, then signed, issued and copied.
/// Returns the proposal after each call.
async fn lifecycle_with_backward_moves(
    client: &Client,
    tracked: &mut Tracked,
    path: &Path,
    wrong_unit: &str,
) -> Vec<pb::Proposal> {
    let number = tracked.expected.number;
    let script = [
        (
            Action::Assign {
                handling_unit: wrong_unit.into(),
                due_date: "2019-07-31".into(),
            },
            State::Assigned,
        ),
        (
            Action::Return {
                reason: "该提案不属于本单位职责范围，请重新交办。".into(),
            },
            State::Received,
        ),
        (path.assign.clone(), State::Assigned),
        (
            Action::Draft(synthetic_reply(number, "初稿")),
            State::Drafted,
        ),
        (path.draft.clone(), State::Drafted),
        (
            Action::RejectDraft {
                reason: "请补充下一步工作打算。".into(),
            },
            State::Assigned,
        ),
        (path.draft.clone(), State::Drafted),
        (path.sign.clone(), State::Signed),
        (path.issue.clone(), State::Issued),
        (path.copy.clone(), State::Copied),
    ];
    let mut responses = Vec::new();
    for (action, state) in script {
        let proposal = tracked.step(client, action).await;
        assert_eq!(
            proposal.state(),
            state,
            "after call {}",
            responses.len() + 2
        );
        responses.push(proposal);
    }
    responses
}

/// One proposal per forward state and a few with backward moves in their past, all in
/// `committee`/`session` with numbers from `first_number`.
async fn proposals_in_every_state(
    client: &Client,
    committee: &str,
    session: &str,
    first_number: u32,
) -> Vec<Tracked> {
    let mut all = Vec::new();
    for (offset, target) in FORWARD.into_iter().enumerate() {
        let number = first_number + offset as u32;
        let unit = UNITS[offset % UNITS.len()];
        let mut tracked = Tracked::receive(client, registration(committee, session, number)).await;
        if offset % 2 == 0 {
            tracked
                .detour_via(client, UNITS[(offset + 1) % UNITS.len()])
                .await;
        }
        tracked
            .drive_to(client, &Path::synthetic(number, unit), target)
            .await;
        all.push(tracked);
    }
    // A draft revised twice, then rejected: ASSIGNED with no reply.
    let number = first_number + FORWARD.len() as u32;
    let mut tracked = Tracked::receive(client, registration(committee, session, number)).await;
    let path = Path::synthetic(number, UNITS[0]);
    tracked.drive_to(client, &path, State::Drafted).await;
    for label in ["修改稿", "再修改稿"] {
        let revision = Action::Draft(synthetic_reply(number, label));
        tracked.step(client, revision).await;
    }
    let reason = "数据需要核实。".to_string();
    tracked.step(client, Action::RejectDraft { reason }).await;
    all.push(tracked);
    all
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn seed_proposal_228_goes_from_received_to_copied() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let seed = seed::proposal_228();
    let path = Path::seed(&seed);

    let mut tracked = Tracked::receive(&client, seed_registration(&seed)).await;
    let received = tracked.expected.clone();
    assert_eq!((received.state(), received.version), (State::Received, 1));
    assert_eq!(received.committee, "许昌市政协");
    assert_eq!(received.session, "七届三次会议");
    assert_eq!(received.number, 228);
    assert_eq!(received.title, seed.title);
    assert_eq!(received.proposers, seed.proposers);
    assert_eq!(received.content, seed::CONTENT);
    assert!(received.handling_unit.is_empty() && received.reply.is_none());

    let steps = [
        (&path.assign, State::Assigned),
        (&path.draft, State::Drafted),
        (&path.sign, State::Signed),
        (&path.issue, State::Issued),
        (&path.copy, State::Copied),
    ];
    let mut last = received.clone();
    for (version, (action, state)) in (2..).zip(steps) {
        // `step` checks every field against what the test sent; spelled out here are the
        // facts the seed document states.
        let proposal = tracked.step(&client, action.clone()).await;
        assert_eq!((proposal.state(), proposal.version), (state, version));
        assert_eq!(proposal.received_at, received.received_at, "received_at");
        assert!(instant(&proposal.updated_at) >= instant(&last.updated_at));
        assert_eq!(proposal.handling_unit, "许昌市生态环境局");
        assert_eq!(proposal.due_date, "2019-08-31");
        if state >= State::Drafted {
            let reply = proposal.reply.as_ref().expect("the reply is kept");
            assert!(
                reply.body.as_bytes() == seed.body.as_bytes(),
                "the reply body is byte-identical to the seed's"
            );
            assert!(reply.body.contains("\n") && reply.body.contains("。"));
            assert_eq!(reply.result_code(), pb::ResultCode::A);
            assert_eq!(reply.contact_unit, "许昌市生态环境局综合科");
            assert_eq!(reply.contact_phone, "6069516");
        }
        if state >= State::Signed {
            assert_eq!(proposal.signer, "李光亚");
        }
        if state >= State::Issued {
            assert_eq!(proposal.document_number, "许环〔2019〕13号");
            assert_eq!(proposal.issue_date, "2019-09-29");
            assert_eq!(proposal.issuing_office, "许昌市生态环境局办公室");
        }
        if state >= State::Copied {
            assert_eq!(proposal.copied_to, ["市政协提案委", "市政府督查室"]);
        }
        last = proposal;
    }

    assert_eq!(get(&client, tracked.id()).await, last, "GetProposal");

    let events = assert_history(&client, &tracked).await;
    let table: Vec<(&str, State, State)> = events
        .iter()
        .map(|e| (kind(&e.data), e.from_state(), e.to_state()))
        .collect();
    assert_eq!(
        table,
        [
            ("received", State::Unspecified, State::Received),
            ("assigned", State::Received, State::Assigned),
            ("drafted", State::Assigned, State::Drafted),
            ("signed", State::Drafted, State::Signed),
            ("issued", State::Signed, State::Issued),
            ("copied", State::Issued, State::Copied),
        ]
    );
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5, 6]);
    assert_eq!(positions(&events), [1, 2, 3, 4, 5, 6], "a fresh server");
    assert_eq!(events[0].request_id, "receive/228");
    assert_eq!(events[0].actor, REGISTRAR);
    assert_eq!(events[3].actor, LEADER);
    let Some(Data::Drafted(drafted)) = &events[2].data else {
        unreachable!("checked above")
    };
    assert!(!drafted.revision, "the first draft is no revision");
    assert_eq!(events[5].occurred_at, last.updated_at);

    server.stop().await;
}

#[tokio::test]
async fn backward_moves_are_recorded_and_undo_what_no_longer_holds() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let seed = seed::proposal_228();
    let path = Path::seed(&seed);

    let mut tracked = Tracked::receive(&client, seed_registration(&seed)).await;
    let responses =
        lifecycle_with_backward_moves(&client, &mut tracked, &path, "许昌市教育局").await;

    let returned = &responses[1];
    assert_eq!(returned.state(), State::Received);
    assert_eq!(
        returned.handling_unit, "",
        "a returned proposal has no unit"
    );
    assert_eq!(
        returned.due_date, "",
        "nor the due date of the unit that returned it"
    );
    let reassigned = &responses[2];
    assert_eq!(reassigned.handling_unit, seed.handling_unit);
    assert_eq!(reassigned.due_date, "2019-08-31");
    let revised = &responses[4];
    assert_eq!(revised.state(), State::Drafted);
    assert_eq!(revised.reply, Some(seed.reply()), "the newer draft wins");
    let rejected = &responses[5];
    assert_eq!(rejected.state(), State::Assigned);
    assert_eq!(rejected.reply, None, "a rejected draft is gone");
    assert_eq!(rejected.handling_unit, seed.handling_unit, "the unit stays");
    let copied = responses.last().unwrap();
    assert_eq!(copied.version, 11);
    assert_eq!(copied.reply, Some(seed.reply()));
    assert_eq!(get(&client, tracked.id()).await, *copied);

    let events = assert_history(&client, &tracked).await;
    let table: Vec<(u64, &str, State, State)> = events
        .iter()
        .map(|e| (e.sequence, kind(&e.data), e.from_state(), e.to_state()))
        .collect();
    use State::*;
    assert_eq!(
        table,
        [
            (1, "received", Unspecified, Received),
            (2, "assigned", Received, Assigned),
            (3, "returned", Assigned, Received),
            (4, "assigned", Received, Assigned),
            (5, "drafted", Assigned, Drafted),
            (6, "drafted", Drafted, Drafted),
            (7, "draft_rejected", Drafted, Assigned),
            (8, "drafted", Assigned, Drafted),
            (9, "signed", Drafted, Signed),
            (10, "issued", Signed, Issued),
            (11, "copied", Issued, Copied),
        ]
    );
    let revisions: Vec<bool> = events
        .iter()
        .filter_map(|e| match &e.data {
            Some(Data::Drafted(d)) => Some(d.revision),
            _ => None,
        })
        .collect();
    assert_eq!(revisions, [false, true, false]);
    assert_eq!(positions(&events), (1..=11).collect::<Vec<_>>());

    server.stop().await;
}

/// Everything a client can read about a set of proposals.
struct Snapshot {
    proposals: Vec<pb::Proposal>,
    histories: Vec<Vec<pb::ProposalEvent>>,
    listings: Vec<Vec<Vec<pb::Proposal>>>,
}

impl Snapshot {
    async fn take(client: &Client, ids: &[String], filters: &[Filter]) -> Self {
        let mut snapshot = Self {
            proposals: Vec::new(),
            histories: Vec::new(),
            listings: Vec::new(),
        };
        for id in ids {
            snapshot.proposals.push(get(client, id).await);
            snapshot
                .histories
                .push(history_pages(client, id, 0).await.concat());
        }
        for filter in filters {
            snapshot.listings.push(list_pages(client, filter, 2).await);
        }
        snapshot
    }

    /// Compares two snapshots of the same proposals and filters, naming what differs.
    fn assert_same_as(&self, other: &Self, ids: &[String], filters: &[Filter]) {
        for (index, id) in ids.iter().enumerate() {
            assert_eq!(
                self.proposals[index], other.proposals[index],
                "GetProposal {id}"
            );
            assert_eq!(
                self.histories[index], other.histories[index],
                "GetProposalHistory {id}"
            );
        }
        for (index, filter) in filters.iter().enumerate() {
            assert_eq!(
                self.listings[index], other.listings[index],
                "ListProposals {filter:?} by 2"
            );
        }
    }
}

#[tokio::test]
async fn everything_survives_a_restart_and_positions_continue() {
    let server = TestServer::start().await;
    let client = server.client.clone();
    let seed = seed::proposal_228();
    let (committee, session) = (COMMITTEES[0], SESSIONS[0]);

    let mut all = Vec::new();
    let mut tracked = Tracked::receive(&client, seed_registration(&seed)).await;
    tracked
        .drive_to(&client, &Path::seed(&seed), State::Copied)
        .await;
    all.push(tracked);
    let mut tracked = Tracked::receive(&client, registration(committee, session, 1)).await;
    let path = Path::synthetic(1, UNITS[1]);
    lifecycle_with_backward_moves(&client, &mut tracked, &path, UNITS[2]).await;
    all.push(tracked);
    all.extend(proposals_in_every_state(&client, committee, session, 10).await);

    let ids: Vec<String> = all.iter().map(|t| t.id().to_owned()).collect();
    let mut filters = vec![Filter::default()];
    filters.extend(FORWARD.map(|state| Filter {
        state: Some(state),
        ..Filter::default()
    }));
    filters.extend(UNITS.map(|unit| Filter {
        handling_unit: Some(unit.into()),
        ..Filter::default()
    }));
    let before = Snapshot::take(&client, &ids, &filters).await;
    for (tracked, proposal) in all.iter().zip(&before.proposals) {
        assert_proposal(proposal, &tracked.expected);
        assert_history(&client, tracked).await;
    }
    for (filter, pages) in filters.iter().zip(&before.listings) {
        let listed = by_id(&pages.concat(), "before the restart");
        assert_eq!(listed, expected_listing(&all, filter), "{filter:?}");
    }
    let old_max = before.histories.iter().flatten().map(|e| e.position).max();
    let old_max = old_max.expect("events were recorded");
    let first_page = list_page(&client, &Filter::default(), 2, "").await.unwrap();
    assert!(!first_page.next_page_token.is_empty());

    let mut server = server.restart().await;
    let client = server.client.clone();

    let after = Snapshot::take(&client, &ids, &filters).await;
    before.assert_same_as(&after, &ids, &filters);
    let resumed = list_page(&client, &Filter::default(), 2, &first_page.next_page_token)
        .await
        .expect("a page token from before the restart still works");
    assert_eq!(resumed.proposals, before.listings[0][1]);
    // The idempotency records survived: a retry of the seed's registration is answered with
    // the original result, and a new request for the same number is a duplicate.
    let retry = client
        .clone()
        .receive_proposal(seed_registration(&seed))
        .await
        .expect("a retried registration is answered")
        .into_inner()
        .proposal
        .unwrap();
    let original = &before.proposals[0];
    assert_eq!(
        (retry.id.as_str(), retry.state(), retry.version),
        (original.id.as_str(), State::Received, 1)
    );
    assert_eq!(retry.received_at, original.received_at);
    let again = pb::ReceiveProposalRequest {
        request_id: "receive/228/again".into(),
        ..seed_registration(&seed)
    };
    let duplicate = client.clone().receive_proposal(again).await;
    assert_eq!(
        duplicate.map(drop).unwrap_err().code(),
        Code::AlreadyExists,
        "the identity index survived: No. 228 cannot be registered twice"
    );

    // Carry on after the restart: the ASSIGNED proposal to the end, and a new one.
    let assigned = all
        .iter_mut()
        .find(|t| t.state() == State::Assigned && t.expected.reply.is_none())
        .expect("a proposal is waiting for its draft");
    let number = assigned.expected.number;
    let old_len = assigned.events.len();
    let unit = assigned.expected.handling_unit.clone();
    let path = Path::synthetic(number, &unit);
    assigned.drive_to(&client, &path, State::Copied).await;
    let continued = assert_history(&client, assigned).await;
    let index = ids.iter().position(|id| id == assigned.id()).unwrap();
    assert_eq!(
        continued[..old_len],
        before.histories[index],
        "the old events are kept"
    );
    let newcomer = Tracked::receive(&client, registration(committee, session, 99)).await;
    let newcomer_events = assert_history(&client, &newcomer).await;

    let mut new_positions = positions(&continued[old_len..]);
    new_positions.extend(positions(&newcomer_events));
    assert_strictly_increasing(&new_positions, "positions after the restart");
    assert!(
        new_positions[0] > old_max,
        "positions continue after {old_max}, not reused: {new_positions:?}"
    );
    let mut every_position = BTreeSet::new();
    for id in ids.iter().chain([&newcomer.expected.id]) {
        for event in history_pages(&client, id, 0).await.concat() {
            assert!(
                every_position.insert(event.position),
                "position {} is used twice",
                event.position
            );
        }
    }

    server.stop().await;
}

#[tokio::test]
async fn list_filters_match_exactly_the_expected_proposals() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();

    let mut all = Vec::new();
    for i in 0..24usize {
        let committee = COMMITTEES[(i / 4) % 2];
        let session = SESSIONS[(i / 3 + i) % 2];
        let unit = UNITS[(i + i / 6) % 3];
        let number = 100 + i as u32;
        let mut tracked = Tracked::receive(&client, registration(committee, session, number)).await;
        if i % 4 == 3 {
            tracked
                .detour_via(&client, UNITS[(i + i / 6 + 1) % 3])
                .await;
        }
        tracked
            .drive_to(&client, &Path::synthetic(number, unit), FORWARD[i % 6])
            .await;
        all.push(tracked);
    }

    // Every combination of: unset, each real value, and a value that is a prefix of real ones.
    let states: Vec<Option<State>> = [None].into_iter().chain(FORWARD.map(Some)).collect();
    let values = |real: &[&str], prefix: &str| -> Vec<Option<String>> {
        let mut values = vec![None, Some(prefix.to_owned())];
        values.extend(real.iter().map(|v| Some(v.to_string())));
        values
    };
    let units = values(&UNITS, "许昌市教育");
    let committees = values(&COMMITTEES, "许昌市");
    let sessions = values(&SESSIONS, "七届");
    let mut filters = Vec::new();
    for state in &states {
        for unit in &units {
            for committee in &committees {
                for session in &sessions {
                    filters.push(Filter {
                        state: *state,
                        handling_unit: unit.clone(),
                        committee: committee.clone(),
                        session: session.clone(),
                    });
                }
            }
        }
    }
    assert_eq!(filters.len(), 7 * 5 * 4 * 4);
    // A few dozen queries at a time: one after another, the 560 of them take seconds.
    let mut sizes = BTreeSet::new();
    for chunk in filters.chunks(40) {
        let mut queries = tokio::task::JoinSet::new();
        for filter in chunk {
            let (client, filter) = (client.clone(), filter.clone());
            queries.spawn(async move {
                let page = list_page(&client, &filter, 1000, "").await;
                (filter, page)
            });
        }
        while let Some(joined) = queries.join_next().await {
            let (filter, page) = joined.expect("the query task ran");
            let what = format!("{filter:?}");
            let page = page.unwrap_or_else(|s| panic!("{what}: {s:?}"));
            assert!(page.next_page_token.is_empty(), "{what}: one page");
            let expected = expected_listing(&all, &filter);
            assert_eq!(by_id(&page.proposals, &what), expected, "{what}");
            sizes.insert(expected.len());
        }
    }
    assert!(
        sizes.len() >= 6,
        "the data set tells filters apart: {sizes:?}"
    );

    // Single filters each match something, so none of the above passed vacuously.
    for state in FORWARD {
        let filter = Filter {
            state: Some(state),
            ..Filter::default()
        };
        assert!(!expected_listing(&all, &filter).is_empty(), "{filter:?}");
    }
    for unit in UNITS {
        let filter = Filter {
            handling_unit: Some(unit.into()),
            ..Filter::default()
        };
        assert!(!expected_listing(&all, &filter).is_empty(), "{filter:?}");
    }

    server.stop().await;
}

#[tokio::test]
async fn list_pages_concatenate_to_the_whole_listing() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let committee = COMMITTEES[0];

    let mut all = Vec::new();
    for i in 0..23u32 {
        let session = if i < 10 { SESSIONS[1] } else { SESSIONS[0] };
        let number = 300 + i;
        let mut tracked = Tracked::receive(&client, registration(committee, session, number)).await;
        let target = match i % 4 {
            0 => State::Drafted,
            2 => State::Assigned,
            _ => State::Received,
        };
        let path = Path::synthetic(number, UNITS[0]);
        tracked.drive_to(&client, &path, target).await;
        all.push(tracked);
    }

    // 23 proposals by 5: 5 + 5 + 5 + 5 + 3.
    assert_paged(&client, &all, &Filter::default(), 5).await;
    let pages = list_pages(&client, &Filter::default(), 5).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [5, 5, 5, 5, 3]
    );
    // The committee's index: exactly two full pages, the second with no token.
    let session_four = Filter {
        committee: Some(committee.into()),
        session: Some(SESSIONS[1].into()),
        ..Filter::default()
    };
    assert_eq!(expected_listing(&all, &session_four).len(), 10);
    assert_paged(&client, &all, &session_four, 5).await;
    // The unit's index with the state checked on each entry: 6 of the unit's 12 match.
    let assigned_to_unit = Filter {
        state: Some(State::Assigned),
        handling_unit: Some(UNITS[0].into()),
        ..Filter::default()
    };
    assert_eq!(expected_listing(&all, &assigned_to_unit).len(), 6);
    assert_paged(&client, &all, &assigned_to_unit, 4).await;
    // The state's index: 11 received by 5.
    let received = Filter {
        state: Some(State::Received),
        ..Filter::default()
    };
    assert_eq!(expected_listing(&all, &received).len(), 11);
    assert_paged(&client, &all, &received, 5).await;
    // Page size 1, and a page size larger than the listing.
    assert_paged(&client, &all, &Filter::default(), 1).await;
    assert_paged(&client, &all, &Filter::default(), 23).await;
    assert_paged(&client, &all, &Filter::default(), 100).await;

    server.stop().await;
}

#[tokio::test]
async fn list_page_size_zero_means_fifty() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let mut all = Vec::new();
    for number in 1..=52 {
        let request = registration(COMMITTEES[1], SESSIONS[1], number);
        all.push(Tracked::receive(&client, request).await);
    }

    let first = list_page(&client, &Filter::default(), 0, "").await.unwrap();
    assert_eq!(first.proposals.len(), 50, "the default page size is 50");
    assert!(!first.next_page_token.is_empty());
    let second = list_page(&client, &Filter::default(), 0, &first.next_page_token)
        .await
        .unwrap();
    assert_eq!(second.proposals.len(), 2);
    assert!(second.next_page_token.is_empty());
    let listed = [first.proposals, second.proposals].concat();
    assert_eq!(
        by_id(&listed, "default pages"),
        expected_listing(&all, &Filter::default())
    );

    server.stop().await;
}

#[tokio::test]
async fn views_choose_whether_content_and_reply_are_read() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let (committee, session) = (COMMITTEES[0], SESSIONS[0]);
    let mut all = Vec::new();
    for (number, target) in [
        (1, State::Received),
        (2, State::Drafted),
        (3, State::Copied),
    ] {
        let mut tracked = Tracked::receive(&client, registration(committee, session, number)).await;
        let path = Path::synthetic(number, UNITS[0]);
        if target != State::Received {
            tracked.drive_to(&client, &path, target).await;
        }
        all.push(tracked);
    }
    assert!(
        all.iter().any(|t| t.expected.reply.is_some()),
        "a reply is there to leave out"
    );
    let full: BTreeMap<String, pb::Proposal> = all
        .iter()
        .map(|t| (t.expected.id.clone(), t.expected.clone()))
        .collect();
    let basic_all: BTreeMap<String, pb::Proposal> =
        full.iter().map(|(id, p)| (id.clone(), basic(p))).collect();
    assert_ne!(full, basic_all);

    // A listing is basic unless it asks for FULL.
    for (view, expected) in [
        (pb::ProposalView::Unspecified, &basic_all),
        (pb::ProposalView::Basic, &basic_all),
        (pb::ProposalView::Full, &full),
    ] {
        let request = pb::ListProposalsRequest {
            view: view as i32,
            ..Filter::default().request(0, "")
        };
        let page = client.clone().list_proposals(request).await.unwrap();
        let what = format!("listing in {view:?}");
        assert_eq!(
            &by_id(&page.into_inner().proposals, &what),
            expected,
            "{what}"
        );
    }
    // A proposal read alone is full unless it asks for BASIC.
    for tracked in &all {
        let id = &tracked.expected.id;
        for (view, expected) in [
            (pb::ProposalView::Unspecified, tracked.expected.clone()),
            (pb::ProposalView::Basic, basic(&tracked.expected)),
            (pb::ProposalView::Full, tracked.expected.clone()),
        ] {
            let request = pb::GetProposalRequest {
                proposal_id: id.clone(),
                view: view as i32,
            };
            let answer = client.clone().get_proposal(request).await.unwrap();
            assert_eq!(
                answer.into_inner().proposal,
                Some(expected),
                "{id} in {view:?}"
            );
        }
    }
    // A view that does not exist is refused, naming the field.
    let id = all[0].expected.id.clone();
    let refused = client
        .clone()
        .get_proposal(pb::GetProposalRequest {
            proposal_id: id,
            view: 3,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("view"), "{refused:?}");
    let request = pb::ListProposalsRequest {
        view: -1,
        ..Filter::default().request(0, "")
    };
    let refused = client.clone().list_proposals(request).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("view"), "{refused:?}");

    server.stop().await;
}

#[tokio::test]
async fn list_refuses_bad_page_tokens_and_sizes() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let mut all = Vec::new();
    for (number, committee) in [(1, COMMITTEES[0]), (2, COMMITTEES[0]), (3, COMMITTEES[1])] {
        let request = registration(committee, SESSIONS[0], number);
        all.push(Tracked::receive(&client, request).await);
    }
    let unfiltered = Filter::default();
    let first = list_page(&client, &unfiltered, 1, "").await.unwrap();
    let token = first.next_page_token;
    assert!(!token.is_empty());

    // The token works with the filters it came from, whatever the page size.
    let next = list_page(&client, &unfiltered, 1, &token).await.unwrap();
    assert_eq!(next.proposals.len(), 1);
    assert_ne!(next.proposals[0].id, first.proposals[0].id);
    let rest = list_page(&client, &unfiltered, 10, &token).await.unwrap();
    assert_eq!(rest.proposals.len(), 2);
    assert!(rest.next_page_token.is_empty());

    // With any other filters it is refused.
    let others = [
        Filter {
            state: Some(State::Received),
            ..Filter::default()
        },
        Filter {
            committee: Some(COMMITTEES[0].into()),
            ..Filter::default()
        },
        Filter {
            session: Some(SESSIONS[0].into()),
            ..Filter::default()
        },
        Filter {
            handling_unit: Some(UNITS[0].into()),
            ..Filter::default()
        },
    ];
    for filter in &others {
        let result = list_page(&client, filter, 1, &token).await;
        assert_invalid(
            result,
            "page_token",
            &format!("unfiltered token with {filter:?}"),
        );
    }
    // And the other way round: a filtered token without its filter.
    let by_committee = &others[1];
    let filtered = list_page(&client, by_committee, 1, "").await.unwrap();
    assert!(!filtered.next_page_token.is_empty());
    let result = list_page(&client, &unfiltered, 1, &filtered.next_page_token).await;
    assert_invalid(result, "page_token", "committee token without the filter");
    let by_other_committee = Filter {
        committee: Some(COMMITTEES[1].into()),
        ..Filter::default()
    };
    let result = list_page(&client, &by_other_committee, 1, &filtered.next_page_token).await;
    assert_invalid(
        result,
        "page_token",
        "committee token with another committee",
    );

    // Tokens the service never issued.
    let history = history_pages(&client, all[0].id(), 0).await;
    assert_eq!(history.concat().len(), 1);
    let mut garbage = vec![
        "garbage".to_string(),
        "!!!not base64!!!".to_string(),
        "AAAAAAAAAAAAAAAA".to_string(),
        "A".repeat(4096),
    ];
    garbage.push(format!("{token}x"));
    for bad in &garbage {
        let result = list_page(&client, &unfiltered, 1, bad).await;
        assert_invalid(result, "page_token", &format!("token {bad:.40}"));
    }

    for size in [-1, i32::MIN] {
        let result = list_page(&client, &unfiltered, size, "").await;
        assert_invalid(result, "page_size", &format!("page_size {size}"));
    }
    let mut bad_state = unfiltered.request(1, "");
    bad_state.state = 99;
    let result = client.clone().list_proposals(bad_state).await;
    assert_invalid(result, "state", "state 99");

    server.stop().await;
}

#[tokio::test]
async fn history_pages_through_the_seed_lifecycle() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let seed = seed::proposal_228();
    let mut tracked = Tracked::receive(&client, seed_registration(&seed)).await;
    tracked
        .drive_to(&client, &Path::seed(&seed), State::Copied)
        .await;
    let whole = assert_history(&client, &tracked).await;
    assert_eq!(whole.len(), 6);

    for (page_size, sizes) in [
        (1, vec![1, 1, 1, 1, 1, 1]),
        (2, vec![2, 2, 2]),
        (4, vec![4, 2]),
        (5, vec![5, 1]),
        (6, vec![6]),
        (1000, vec![6]),
    ] {
        let pages = history_pages(&client, tracked.id(), page_size).await;
        let actual: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(actual, sizes, "page size {page_size}");
        assert_eq!(pages.concat(), whole, "page size {page_size}: concatenated");
    }
    // The three pages of two, spelled out: tokens on the first two only.
    let first = history_page(&client, tracked.id(), 2, "").await.unwrap();
    let second = history_page(&client, tracked.id(), 2, &first.next_page_token)
        .await
        .unwrap();
    let third = history_page(&client, tracked.id(), 2, &second.next_page_token)
        .await
        .unwrap();
    assert!(!first.next_page_token.is_empty() && !second.next_page_token.is_empty());
    assert!(
        third.next_page_token.is_empty(),
        "the last page has no token"
    );
    let sequences: Vec<Vec<u64>> = [&first, &second, &third]
        .iter()
        .map(|page| page.events.iter().map(|e| e.sequence).collect())
        .collect();
    assert_eq!(sequences, [[1, 2], [3, 4], [5, 6]]);

    // A token belongs to its proposal, and a listing's token is no history token.
    let other = Tracked::receive(&client, registration(COMMITTEES[0], SESSIONS[1], 7)).await;
    let result = history_page(&client, other.id(), 2, &first.next_page_token).await;
    assert_invalid(result, "page_token", "another proposal's history token");
    let listing = list_page(&client, &Filter::default(), 1, "").await.unwrap();
    assert!(!listing.next_page_token.is_empty());
    let result = history_page(&client, tracked.id(), 2, &listing.next_page_token).await;
    assert_invalid(result, "page_token", "a listing token");
    let result = history_page(&client, tracked.id(), 2, "garbage").await;
    assert_invalid(result, "page_token", "garbage");
    let result = history_page(&client, tracked.id(), -1, "").await;
    assert_invalid(result, "page_size", "negative page_size");

    server.stop().await;
}
