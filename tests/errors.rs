mod common;

// Every way a request can be refused, over real gRPC: the status code, the machine-readable
// details (ErrorInfo, BadRequest, ResourceInfo), and that a refused request changes nothing.
// Also idempotent retries, and optimistic concurrency under concurrent clients.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};

use common::seed::{self, Seed};
use common::{Client, TestServer};
use proposal_service::pb;
use proposal_service::pb::ProposalState as State;
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

static SEED: LazyLock<Seed> = LazyLock::new(seed::proposal_228);
const ACTOR: &str = "提案办理员";

const STATES: [State; 6] = [
    State::Received,
    State::Assigned,
    State::Drafted,
    State::Signed,
    State::Issued,
    State::Copied,
];

/// The seven commands that act on an existing proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Assign,
    Return,
    Draft,
    RejectDraft,
    Sign,
    Issue,
    Copy,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Assign,
        Kind::Return,
        Kind::Draft,
        Kind::RejectDraft,
        Kind::Sign,
        Kind::Issue,
        Kind::Copy,
    ];

    /// The lifecycle's allowed moves, written out independently of the service.
    fn allowed_in(self, state: State) -> bool {
        use {Kind as K, State as S};
        matches!(
            (self, state),
            (K::Assign, S::Received)
                | (K::Return, S::Assigned)
                | (K::Draft, S::Assigned | S::Drafted)
                | (K::RejectDraft, S::Drafted)
                | (K::Sign, S::Drafted)
                | (K::Issue, S::Signed)
                | (K::Copy, S::Issued)
        )
    }

    /// A state in which the command is allowed: where the tests send it to succeed.
    fn from_state(self) -> State {
        *STATES.iter().find(|s| self.allowed_in(**s)).unwrap()
    }

    fn rpc_name(self) -> &'static str {
        match self {
            Kind::Assign => "AssignProposal",
            Kind::Return => "ReturnProposal",
            Kind::Draft => "DraftReply",
            Kind::RejectDraft => "RejectDraft",
            Kind::Sign => "SignReply",
            Kind::Issue => "IssueReply",
            Kind::Copy => "CopyReply",
        }
    }
}

/// The commands that take a newly received proposal to `state`.
fn path_to(state: State) -> &'static [Kind] {
    const PATH: [Kind; 5] = [
        Kind::Assign,
        Kind::Draft,
        Kind::Sign,
        Kind::Issue,
        Kind::Copy,
    ];
    let steps = STATES.iter().position(|s| *s == state).unwrap();
    &PATH[..steps]
}

/// The state's name as the error details spell it, e.g. `SIGNED`.
fn state_name(state: State) -> &'static str {
    state.as_str_name().strip_prefix("PROPOSAL_STATE_").unwrap()
}

/// A proposal number no test has used yet (each test has its own server; unique is enough).
fn next_number() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

// Valid requests, built from the seed. Bad-input cases change one field with `..`.

fn receive(number: u32) -> pb::ReceiveProposalRequest {
    pb::ReceiveProposalRequest {
        number,
        ..SEED.receive_request()
    }
}

fn assign(p: &pb::Proposal) -> pb::AssignProposalRequest {
    pb::AssignProposalRequest {
        proposal_id: p.id.clone(),
        handling_unit: SEED.handling_unit.clone(),
        due_date: "2019-08-31".into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
    }
}

fn return_(p: &pb::Proposal) -> pb::ReturnProposalRequest {
    pb::ReturnProposalRequest {
        proposal_id: p.id.clone(),
        reason: "不属于本单位职责".into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
    }
}

fn draft(p: &pb::Proposal) -> pb::DraftReplyRequest {
    pb::DraftReplyRequest {
        proposal_id: p.id.clone(),
        reply: Some(SEED.reply()),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
    }
}

fn reject(p: &pb::Proposal) -> pb::RejectDraftRequest {
    pb::RejectDraftRequest {
        proposal_id: p.id.clone(),
        reason: "请补充下一步打算".into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
    }
}

fn sign(p: &pb::Proposal) -> pb::SignReplyRequest {
    pb::SignReplyRequest {
        proposal_id: p.id.clone(),
        signer: SEED.signer.clone(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
    }
}

fn issue(p: &pb::Proposal) -> pb::IssueReplyRequest {
    pb::IssueReplyRequest {
        proposal_id: p.id.clone(),
        // Unique per proposal, so two proposals never collide unless a test wants them to.
        document_number: format!("许环〔2019〕{}号", p.number),
        issue_date: SEED.issue_date.clone(),
        issuing_office: SEED.issuing_office.clone(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
    }
}

fn copy(p: &pb::Proposal) -> pb::CopyReplyRequest {
    pb::CopyReplyRequest {
        proposal_id: p.id.clone(),
        recipients: SEED.recipients.clone(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
    }
}

fn get(id: &str) -> Call {
    Call::Get(pb::GetProposalRequest {
        proposal_id: id.into(),
    })
}

fn history(id: &str) -> Call {
    Call::History(pb::GetProposalHistoryRequest {
        proposal_id: id.into(),
        page_size: 1000,
        page_token: String::new(),
    })
}

/// Any RPC of the service, so that tables can mix them.
#[derive(Clone, Debug)]
enum Call {
    Receive(pb::ReceiveProposalRequest),
    Assign(pb::AssignProposalRequest),
    Return(pb::ReturnProposalRequest),
    Draft(pb::DraftReplyRequest),
    RejectDraft(pb::RejectDraftRequest),
    Sign(pb::SignReplyRequest),
    Issue(pb::IssueReplyRequest),
    Copy(pb::CopyReplyRequest),
    Get(pb::GetProposalRequest),
    History(pb::GetProposalHistoryRequest),
    List(pb::ListProposalsRequest),
}

/// Runs `$body` with `$r` bound to the request of any command on an existing proposal.
macro_rules! on_existing {
    ($call:expr, $r:ident => $body:expr) => {
        match $call {
            Call::Assign($r) => $body,
            Call::Return($r) => $body,
            Call::Draft($r) => $body,
            Call::RejectDraft($r) => $body,
            Call::Sign($r) => $body,
            Call::Issue($r) => $body,
            Call::Copy($r) => $body,
            other => panic!("{other:?} is not a command on an existing proposal"),
        }
    };
}

impl Call {
    /// A valid `kind` request for `p` (valid in every field; whether the state allows it is
    /// up to the test).
    fn command(kind: Kind, p: &pb::Proposal) -> Call {
        match kind {
            Kind::Assign => Call::Assign(assign(p)),
            Kind::Return => Call::Return(return_(p)),
            Kind::Draft => Call::Draft(draft(p)),
            Kind::RejectDraft => Call::RejectDraft(reject(p)),
            Kind::Sign => Call::Sign(sign(p)),
            Kind::Issue => Call::Issue(issue(p)),
            Kind::Copy => Call::Copy(copy(p)),
        }
    }

    fn with_request_id(mut self, request_id: &str) -> Self {
        match &mut self {
            Call::Receive(r) => r.request_id = request_id.into(),
            call => on_existing!(call, r => r.request_id = request_id.into()),
        }
        self
    }

    fn expecting(mut self, version: u64) -> Self {
        on_existing!(&mut self, r => r.expected_version = Some(version));
        self
    }

    fn with_actor(mut self, actor: &str) -> Self {
        on_existing!(&mut self, r => r.actor = actor.into());
        self
    }
}

/// Sends `call`; a successful call that returns a proposal yields it.
async fn send(client: &mut Client, call: Call) -> Result<Option<pb::Proposal>, Status> {
    let proposal = match call {
        Call::Receive(r) => client.receive_proposal(r).await?.into_inner().proposal,
        Call::Assign(r) => client.assign_proposal(r).await?.into_inner().proposal,
        Call::Return(r) => client.return_proposal(r).await?.into_inner().proposal,
        Call::Draft(r) => client.draft_reply(r).await?.into_inner().proposal,
        Call::RejectDraft(r) => client.reject_draft(r).await?.into_inner().proposal,
        Call::Sign(r) => client.sign_reply(r).await?.into_inner().proposal,
        Call::Issue(r) => client.issue_reply(r).await?.into_inner().proposal,
        Call::Copy(r) => client.copy_reply(r).await?.into_inner().proposal,
        Call::Get(r) => client.get_proposal(r).await?.into_inner().proposal,
        Call::History(r) => {
            client.get_proposal_history(r).await?;
            return Ok(None);
        }
        Call::List(r) => {
            client.list_proposals(r).await?;
            return Ok(None);
        }
    };
    Ok(Some(
        proposal.expect("a successful call returns the proposal"),
    ))
}

/// The call for a failure message, cut short: some carry 100,000 characters.
fn describe(call: &Call) -> String {
    format!("{call:?}").chars().take(300).collect()
}

/// Sends a call that must succeed and return a proposal.
async fn ok(client: &mut Client, call: Call) -> pb::Proposal {
    let what = describe(&call);
    match send(client, call).await {
        Ok(Some(proposal)) => proposal,
        Ok(None) => panic!("{what} returned no proposal"),
        Err(status) => panic!("{what} failed: {status:?}"),
    }
}

/// Sends a call that must fail.
async fn refused(client: &mut Client, call: Call) -> Status {
    let what = describe(&call);
    match send(client, call).await {
        Ok(answer) => panic!("{what} was accepted: {answer:?}"),
        Err(status) => status,
    }
}

/// Receives a new proposal and drives it to `state`.
async fn drive(client: &mut Client, state: State) -> pb::Proposal {
    let mut p = ok(client, Call::Receive(receive(next_number()))).await;
    for kind in path_to(state) {
        p = ok(client, Call::command(*kind, &p)).await;
    }
    assert_eq!(p.state(), state);
    p
}

async fn events(client: &mut Client, id: &str) -> Vec<pb::ProposalEvent> {
    let Call::History(request) = history(id) else {
        unreachable!()
    };
    let page = client
        .get_proposal_history(request)
        .await
        .unwrap()
        .into_inner();
    assert!(
        page.next_page_token.is_empty(),
        "the tests' histories fit one page"
    );
    page.events
}

/// Everything a client can observe: the listing, each proposal as read alone, and each history.
/// Comparing two of these shows whether anything at all changed in between.
#[derive(Debug, PartialEq)]
struct World {
    listed: Vec<pb::Proposal>,
    fetched: Vec<pb::Proposal>,
    histories: Vec<Vec<pb::ProposalEvent>>,
}

async fn world(client: &mut Client) -> World {
    let request = pb::ListProposalsRequest {
        page_size: 1000,
        ..Default::default()
    };
    let page = client.list_proposals(request).await.unwrap().into_inner();
    assert!(
        page.next_page_token.is_empty(),
        "the tests' worlds fit one page"
    );
    let mut world = World {
        listed: page.proposals,
        fetched: Vec::new(),
        histories: Vec::new(),
    };
    for p in &world.listed {
        world.fetched.push(ok(client, get(&p.id)).await);
        world.histories.push(events(client, &p.id).await);
    }
    world
}

/// Asserts the status's code and ErrorInfo (reason, our domain); returns its metadata.
fn error_info(status: &Status, code: Code, reason: &str) -> HashMap<String, String> {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, "proposal.v1", "{status:?}");
    info.metadata
}

/// The fields an INVALID_ARGUMENT status's BadRequest names.
fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad_request = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest in {status:?}"));
    bad_request
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// `count` clients, each on its own connection.
async fn clients(server: &TestServer, count: usize) -> Vec<Client> {
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        let channel = Channel::from_shared(format!("http://{}", server.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        clients.push(Client::new(channel));
    }
    clients
}

/// Sends each call from its own client, all released at once.
async fn race(clients: &[Client], calls: Vec<Call>) -> Vec<Result<Option<pb::Proposal>, Status>> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    let mut tasks = JoinSet::new();
    for (client, call) in clients.iter().cloned().zip(calls) {
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            let mut client = client;
            barrier.wait().await;
            send(&mut client, call).await
        });
    }
    tasks.join_all().await
}

// 1. Commands outside their states.

#[tokio::test]
async fn every_command_outside_its_states_fails_precondition_and_changes_nothing() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let mut refusals = 0;
    for state in STATES {
        let proposal = drive(client, state).await;
        for kind in Kind::ALL {
            if kind.allowed_in(state) {
                // The table's allowed pairs really are allowed (on a proposal of their own).
                let fresh = drive(client, state).await;
                let after = ok(client, Call::command(kind, &fresh)).await;
                assert_eq!(after.version, fresh.version + 1, "{kind:?} in {state:?}");
                continue;
            }
            let before = world(client).await;
            let status = refused(client, Call::command(kind, &proposal)).await;
            let metadata = error_info(&status, Code::FailedPrecondition, "INVALID_TRANSITION");
            let at = format!("{kind:?} in {state:?}");
            assert_eq!(metadata["currentState"], state_name(state), "{at}");
            assert_eq!(metadata["command"], kind.rpc_name(), "{at}");
            assert_eq!(world(client).await, before, "{at} changed something");
            refusals += 1;
        }
    }
    assert_eq!(refusals, STATES.len() * Kind::ALL.len() - 8);
}

// 2. Bad inputs.

/// Requests with one bad field, each aimed where it would otherwise succeed (a fresh number,
/// a proposal in the command's state), and the field the refusal must name.
fn bad_requests(at: &HashMap<State, pb::Proposal>) -> Vec<(&'static str, Call, &'static str)> {
    let fresh = || receive(next_number());
    let target = |kind: Kind| &at[&kind.from_state()];
    let reply = |change: fn(&mut pb::Reply)| {
        let mut reply = SEED.reply();
        change(&mut reply);
        Call::Draft(pb::DraftReplyRequest {
            reply: Some(reply),
            ..draft(target(Kind::Draft))
        })
    };
    let due = |due_date: &str| {
        Call::Assign(pb::AssignProposalRequest {
            due_date: due_date.into(),
            ..assign(target(Kind::Assign))
        })
    };
    let issued_on = |issue_date: &str| {
        Call::Issue(pb::IssueReplyRequest {
            issue_date: issue_date.into(),
            ..issue(target(Kind::Issue))
        })
    };
    let signed = target(Kind::Sign);
    let mut cases = vec![
        (
            "empty title",
            Call::Receive(pb::ReceiveProposalRequest {
                title: String::new(),
                ..fresh()
            }),
            "title",
        ),
        (
            "whitespace-only committee",
            Call::Receive(pb::ReceiveProposalRequest {
                committee: " \u{3000}\t".into(),
                ..fresh()
            }),
            "committee",
        ),
        ("number 0", Call::Receive(receive(0)), "number"),
        (
            "no proposers",
            Call::Receive(pb::ReceiveProposalRequest {
                proposers: vec![],
                ..fresh()
            }),
            "proposers",
        ),
        (
            "duplicate proposers",
            Call::Receive(pb::ReceiveProposalRequest {
                proposers: vec!["苏会兴".into(), "王芳".into(), "苏会兴".into()],
                ..fresh()
            }),
            "proposers[2]",
        ),
        (
            "a proposer too long",
            Call::Receive(pb::ReceiveProposalRequest {
                proposers: vec!["苏".repeat(201)],
                ..fresh()
            }),
            "proposers[0]",
        ),
        (
            "101 proposers",
            Call::Receive(pb::ReceiveProposalRequest {
                proposers: (0..101).map(|i| format!("委员{i}")).collect(),
                ..fresh()
            }),
            "proposers",
        ),
        (
            "NUL in content",
            Call::Receive(pb::ReceiveProposalRequest {
                content: "建议加强\0环境保护".into(),
                ..fresh()
            }),
            "content",
        ),
        (
            "title of 501 characters",
            Call::Receive(pb::ReceiveProposalRequest {
                title: "题".repeat(501),
                ..fresh()
            }),
            "title",
        ),
        (
            "missing actor on receive",
            Call::Receive(pb::ReceiveProposalRequest {
                actor: String::new(),
                ..fresh()
            }),
            "actor",
        ),
        (
            "missing actor on a command",
            Call::command(Kind::Sign, signed).with_actor(""),
            "actor",
        ),
        (
            "request_id of 129 characters",
            Call::command(Kind::Sign, signed).with_request_id(&"r".repeat(129)),
            "request_id",
        ),
        ("due_date 2019-02-29", due("2019-02-29"), "due_date"),
        ("due_date 2019/09/29", due("2019/09/29"), "due_date"),
        ("issue_date empty", issued_on(""), "issue_date"),
        (
            "issue_date 2019/09/29",
            issued_on("2019/09/29"),
            "issue_date",
        ),
        (
            "reply body of 100,001 characters",
            reply(|r| r.body = "字".repeat(100_001)),
            "reply.body",
        ),
        (
            "missing reply",
            Call::Draft(pb::DraftReplyRequest {
                reply: None,
                ..draft(target(Kind::Draft))
            }),
            "reply",
        ),
        (
            "result code unspecified",
            reply(|r| r.result_code = 0),
            "reply.result_code",
        ),
        (
            "result code 99",
            reply(|r| r.result_code = 99),
            "reply.result_code",
        ),
        (
            "no recipients",
            Call::Copy(pb::CopyReplyRequest {
                recipients: vec![],
                ..copy(target(Kind::Copy))
            }),
            "recipients",
        ),
        (
            "empty signer",
            Call::Sign(pb::SignReplyRequest {
                signer: String::new(),
                ..sign(signed)
            }),
            "signer",
        ),
        (
            "empty return reason",
            Call::Return(pb::ReturnProposalRequest {
                reason: String::new(),
                ..return_(target(Kind::Return))
            }),
            "reason",
        ),
        (
            "blank rejection reason",
            Call::RejectDraft(pb::RejectDraftRequest {
                reason: "  \n".into(),
                ..reject(target(Kind::RejectDraft))
            }),
            "reason",
        ),
        (
            "state filter 42",
            Call::List(pb::ListProposalsRequest {
                state: 42,
                ..Default::default()
            }),
            "state",
        ),
        (
            "state filter -1",
            Call::List(pb::ListProposalsRequest {
                state: -1,
                ..Default::default()
            }),
            "state",
        ),
    ];
    // The id without hyphens is a real proposal's, so a lenient parser would find it.
    let malformed_ids = ["not-a-uuid", "", &signed.id.replace('-', "")];
    for id in malformed_ids {
        let sign_it = Call::Sign(pb::SignReplyRequest {
            proposal_id: id.into(),
            ..sign(signed)
        });
        for call in [get(id), history(id), sign_it] {
            cases.push(("malformed proposal_id", call, "proposal_id"));
        }
    }
    cases
}

#[tokio::test]
async fn bad_inputs_are_invalid_arguments_naming_the_field_and_change_nothing() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let mut at = HashMap::new();
    for state in STATES {
        at.insert(state, drive(client, state).await);
    }
    for (what, call, field) in bad_requests(&at) {
        let before = world(client).await;
        let status = refused(client, call).await;
        let fields = violated_fields(&status);
        assert!(fields.iter().any(|f| f == field), "{what}: {fields:?}");
        // Only the bad field (or, for a missing message, its sub-fields) may be named.
        let within = |f: &String| {
            f == field || f.starts_with(&format!("{field}.")) || f.starts_with(&format!("{field}["))
        };
        assert!(fields.iter().all(within), "{what}: {fields:?}");
        assert_eq!(world(client).await, before, "{what} changed something");
    }
}

#[tokio::test]
async fn values_at_the_limits_are_accepted() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let request = pb::ReceiveProposalRequest {
        committee: "会".repeat(200),
        title: "题".repeat(500),
        proposers: (0..100)
            .map(|i| format!("{}{i:03}", "委".repeat(197)))
            .collect(),
        content: "文".repeat(100_000),
        request_id: "r".repeat(128),
        ..receive(next_number())
    };
    let received = ok(client, Call::Receive(request)).await;
    let assigned = ok(client, Call::command(Kind::Assign, &received)).await;
    let mut reply = SEED.reply();
    reply.body = "字".repeat(100_000);
    let drafted = ok(
        client,
        Call::Draft(pb::DraftReplyRequest {
            reply: Some(reply),
            ..draft(&assigned)
        }),
    )
    .await;
    assert_eq!(drafted.reply.unwrap().body.chars().count(), 100_000);
}

// 3. The transport cap.

#[tokio::test]
async fn requests_over_the_transport_cap_are_refused_out_of_range_and_store_nothing() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let assigned = drive(client, State::Assigned).await;
    let two_mib = "a".repeat(2 * 1024 * 1024);
    let oversized = [
        Call::Receive(pb::ReceiveProposalRequest {
            content: two_mib.clone(),
            ..receive(next_number())
        }),
        Call::Draft(pb::DraftReplyRequest {
            reply: Some(pb::Reply {
                body: two_mib,
                ..SEED.reply()
            }),
            ..draft(&assigned)
        }),
    ];
    for call in oversized {
        let before = world(client).await;
        let status = refused(client, call).await;
        // tonic's decoder refuses a message over max_decoding_message_size with OUT_OF_RANGE.
        assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
        assert_eq!(world(client).await, before);
    }
}

// 4. Unknown proposals.

#[tokio::test]
async fn unknown_proposal_ids_are_not_found_everywhere() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    drive(client, State::Drafted).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let ghost = pb::Proposal {
        id: unknown.clone(),
        number: next_number(),
        ..Default::default()
    };
    let calls = [get(&unknown), history(&unknown)]
        .into_iter()
        .chain(Kind::ALL.map(|kind| Call::command(kind, &ghost)));
    for call in calls {
        let what = describe(&call);
        let before = world(client).await;
        let status = refused(client, call).await;
        assert_eq!(status.code(), Code::NotFound, "{what}: {status:?}");
        let resource = status.get_details_resource_info().expect("ResourceInfo");
        assert_eq!(resource.resource_name, unknown, "{what}");
        assert_eq!(world(client).await, before, "{what} changed something");
    }
}

// 5. Uniqueness.

#[tokio::test]
async fn a_proposal_number_is_unique_within_its_committee_and_session() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let first = ok(client, Call::Receive(receive(228))).await;

    let before = world(client).await;
    let again = pb::ReceiveProposalRequest {
        title: "关于另一件事的提案".into(),
        ..receive(228)
    };
    let status = refused(client, Call::Receive(again)).await;
    let metadata = error_info(&status, Code::AlreadyExists, "DUPLICATE_PROPOSAL_NUMBER");
    assert_eq!(metadata["existingProposalId"], first.id);
    assert_eq!(world(client).await, before);

    let elsewhere = [
        pb::ReceiveProposalRequest {
            session: "七届四次会议".into(),
            ..receive(228)
        },
        pb::ReceiveProposalRequest {
            committee: "郑州市政协".into(),
            ..receive(228)
        },
    ];
    for request in elsewhere {
        let other = ok(client, Call::Receive(request)).await;
        assert_ne!(other.id, first.id);
    }
    assert_eq!(world(client).await.listed.len(), 3);
}

#[tokio::test]
async fn a_document_number_names_one_document_across_proposals() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let first = drive(client, State::Signed).await;
    let second = drive(client, State::Signed).await;
    let document_number = SEED.document_number.clone();
    let issue_as = |p: &pb::Proposal, document_number: &str| {
        Call::Issue(pb::IssueReplyRequest {
            document_number: document_number.into(),
            ..issue(p)
        })
    };
    ok(client, issue_as(&first, &document_number)).await;

    let before = world(client).await;
    let status = refused(client, issue_as(&second, &document_number)).await;
    let metadata = error_info(&status, Code::AlreadyExists, "DUPLICATE_DOCUMENT_NUMBER");
    assert_eq!(metadata["existingProposalId"], first.id);
    assert_eq!(metadata["documentNumber"], document_number);
    assert_eq!(world(client).await, before);
    assert_eq!(ok(client, get(&second.id)).await.state(), State::Signed);

    let issued = ok(client, issue_as(&second, "许环〔2019〕14号")).await;
    assert_eq!(issued.state(), State::Issued);
}

// 6. Optimistic concurrency.

#[tokio::test]
async fn a_stale_expected_version_is_aborted_and_the_current_one_succeeds() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    for kind in Kind::ALL {
        let p = drive(client, kind.from_state()).await;
        for stale in [p.version - 1, p.version + 1] {
            let before = world(client).await;
            let status = refused(client, Call::command(kind, &p).expecting(stale)).await;
            let metadata = error_info(&status, Code::Aborted, "VERSION_MISMATCH");
            assert_eq!(metadata["expectedVersion"], stale.to_string(), "{kind:?}");
            assert_eq!(
                metadata["currentVersion"],
                p.version.to_string(),
                "{kind:?}"
            );
            assert_eq!(world(client).await, before, "{kind:?} expecting {stale}");
        }
        let after = ok(client, Call::command(kind, &p).expecting(p.version)).await;
        assert_eq!(after.version, p.version + 1, "{kind:?}");
    }
}

// 7. Idempotency.

#[tokio::test]
async fn a_retried_command_returns_the_original_result_and_records_one_event() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    for kind in Kind::ALL {
        let p = drive(client, kind.from_state()).await;
        let call = Call::command(kind, &p).with_request_id(&format!("retry-{kind:?}"));
        let first = ok(client, call.clone()).await;
        let retried = ok(client, call).await;
        assert_eq!(retried, first, "{kind:?}");
        assert_eq!(first.version, p.version + 1, "{kind:?}");
        assert_eq!(
            events(client, &p.id).await.len() as u64,
            first.version,
            "{kind:?}"
        );
        assert_eq!(ok(client, get(&p.id)).await, first, "{kind:?}");
    }
}

#[tokio::test]
async fn a_retried_receive_returns_the_same_proposal_and_registers_it_once() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let call = Call::Receive(receive(next_number())).with_request_id("receive-once");
    let first = ok(client, call.clone()).await;
    let retried = ok(client, call).await;
    assert_eq!(retried, first);
    let world = world(client).await;
    assert_eq!(world.listed, [first]);
    assert_eq!(world.histories[0].len(), 1);
}

/// Sends a receive and an assign with request ids, then moves the proposal on; returns the two
/// requests and their original answers.
async fn requests_overtaken_by_later_events(client: &mut Client) -> Vec<(Call, pb::Proposal)> {
    let receive_call = Call::Receive(receive(next_number())).with_request_id("receive-1");
    let received = ok(client, receive_call.clone()).await;
    let assign_call = Call::command(Kind::Assign, &received).with_request_id("assign-1");
    let assigned = ok(client, assign_call.clone()).await;
    let drafted = ok(client, Call::command(Kind::Draft, &assigned)).await;
    assert_eq!(drafted.version, 3);
    vec![(receive_call, received), (assign_call, assigned)]
}

#[tokio::test]
async fn a_retry_after_later_events_returns_the_proposal_as_it_was_then() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let originals = requests_overtaken_by_later_events(client).await;
    let before = world(client).await;
    for (call, original) in originals {
        assert_eq!(ok(client, call).await, original);
    }
    assert_eq!(world(client).await, before);
}

#[tokio::test]
async fn a_retry_after_a_restart_returns_the_original_and_appends_nothing() {
    let server = TestServer::start().await;
    let originals = requests_overtaken_by_later_events(&mut server.client.clone()).await;
    let before = world(&mut server.client.clone()).await;
    let server = server.restart().await;
    let client = &mut server.client.clone();
    for (call, original) in originals {
        assert_eq!(ok(client, call).await, original);
    }
    assert_eq!(world(client).await, before);
}

#[tokio::test]
async fn a_request_id_reused_for_a_different_request_is_refused() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let p = drive(client, State::Drafted).await;
    let other = drive(client, State::Drafted).await;
    let key = "sign-once";
    let original = Call::command(Kind::Sign, &p).with_request_id(key);
    let signed = ok(client, original.clone()).await;
    let different = [
        (
            "another signer",
            Call::Sign(pb::SignReplyRequest {
                signer: "王五".into(),
                ..sign(&p)
            }),
        ),
        ("another actor", original.clone().with_actor("另一位办理员")),
        ("an expected version", original.clone().expecting(p.version)),
        ("another proposal", Call::command(Kind::Sign, &other)),
        ("another command", Call::command(Kind::RejectDraft, &other)),
        ("a receive", Call::Receive(receive(next_number()))),
    ];
    for (what, call) in different {
        let before = world(client).await;
        let status = refused(client, call.with_request_id(key)).await;
        error_info(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
        assert_eq!(violated_fields(&status), ["request_id"], "{what}");
        assert_eq!(world(client).await, before, "{what} changed something");
    }
    assert_eq!(ok(client, original).await, signed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_all_get_the_one_result() {
    let server = TestServer::start().await;
    let racers = clients(&server, 8).await;
    let client = &mut server.client.clone();
    for round in 0..10 {
        let p = drive(client, State::Drafted).await;
        let call = Call::command(Kind::Sign, &p).with_request_id(&format!("sign-{round}"));
        let answers = race(&racers, vec![call; racers.len()]).await;
        let answers: Vec<pb::Proposal> = answers
            .into_iter()
            .map(|a| a.expect("every retry succeeds").unwrap())
            .collect();
        assert!(answers.iter().all(|a| *a == answers[0]), "round {round}");
        assert_eq!(answers[0].version, p.version + 1, "round {round}");
        assert_eq!(events(client, &p.id).await.len() as u64, p.version + 1);
    }
}

// 8. Exactly one winner.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_signers_at_the_same_version_have_exactly_one_winner() {
    let server = TestServer::start().await;
    let racers = clients(&server, 8).await;
    let client = &mut server.client.clone();
    for round in 0..20 {
        let p = drive(client, State::Drafted).await;
        let calls = (0..racers.len())
            .map(|i| {
                Call::command(Kind::Sign, &p)
                    .expecting(p.version)
                    .with_request_id(&format!("sign-{round}-{i}"))
            })
            .collect();
        let answers = race(&racers, calls).await;
        let (won, lost): (Vec<_>, Vec<_>) = answers.into_iter().partition(Result::is_ok);
        assert_eq!(won.len(), 1, "round {round}: {lost:?}");
        for status in lost.into_iter().map(Result::unwrap_err) {
            error_info(&status, Code::Aborted, "VERSION_MISMATCH");
        }
        assert_eq!(events(client, &p.id).await.len() as u64, p.version + 1);
    }
}
