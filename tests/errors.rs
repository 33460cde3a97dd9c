mod common;

// Every way a request can be refused, over real gRPC: the status code, the machine-readable
// details (ErrorInfo, BadRequest, ResourceInfo), and that a refused request changes nothing.
// Also idempotent retries, and optimistic concurrency under concurrent clients.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};

use common::{Client, TestServer};
use proposal_service::pb;
use proposal_service::pb::ProposalState as State;
use proposal_service::seed::{self, Seed};
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
    fn usual_state(self) -> State {
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

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| name.to_string()).collect()
}

/// `count` distinct names: `prefix0`, `prefix1`, ...
fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i}")).collect()
}

/// A proposal number no test has used yet (each test has its own server; unique is enough).
fn next_number() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

// Valid requests, built from the seed; bad-input cases change one field with `edited`.

fn edited<T>(mut request: T, change: impl FnOnce(&mut T)) -> T {
    change(&mut request);
    request
}

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
        ..Default::default()
    })
}

/// A proposal's whole history (the tests' histories fit one page).
fn history(id: &str) -> pb::GetProposalHistoryRequest {
    pb::GetProposalHistoryRequest {
        proposal_id: id.into(),
        page_size: 1000,
        page_token: String::new(),
    }
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
        match &mut self {
            Call::Receive(r) => r.actor = actor.into(),
            call => on_existing!(call, r => r.actor = actor.into()),
        }
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

/// A call or answer for a failure message, cut short: some carry 100,000 characters.
fn describe(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}").chars().take(300).collect()
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
        Ok(answer) => panic!("{what} was accepted: {}", describe(&answer)),
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

/// `count` proposals driven to `state` side by side (each successful call costs a round trip).
async fn drive_all(client: &Client, state: State, count: usize) -> Vec<pb::Proposal> {
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let mut client = client.clone();
        tasks.spawn(async move { drive(&mut client, state).await });
    }
    tasks.join_all().await
}

async fn events(client: &mut Client, id: &str) -> Vec<pb::ProposalEvent> {
    let page = client
        .get_proposal_history(history(id))
        .await
        .unwrap()
        .into_inner();
    assert!(
        page.next_page_token.is_empty(),
        "the tests' histories fit one page"
    );
    page.events
}

/// Every proposal as listed, in full: comparing two listings shows whether any proposal was
/// added or changed in between (an appended event changes the proposal's version).
async fn listing(client: &mut Client) -> Vec<pb::Proposal> {
    let request = pb::ListProposalsRequest {
        page_size: 1000,
        view: pb::ProposalView::Full as i32,
        ..Default::default()
    };
    let page = client.list_proposals(request).await.unwrap().into_inner();
    assert!(
        page.next_page_token.is_empty(),
        "the tests' listings fit one page"
    );
    page.proposals
}

/// One proposal as read alone, and its whole history.
async fn trace(client: &mut Client, id: &str) -> (pb::Proposal, Vec<pb::ProposalEvent>) {
    (ok(client, get(id)).await, events(client, id).await)
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

/// Sends every command `state` does not allow to a proposal in `state`, checking each refusal
/// and that the proposal and its history stay exactly as they were; returns how many.
async fn refuse_all_but_the_allowed(mut client: Client, state: State) -> usize {
    let client = &mut client;
    let proposal = drive(client, state).await;
    let unchanged = trace(client, &proposal.id).await;
    let refused_kinds = Kind::ALL.into_iter().filter(|k| !k.allowed_in(state));
    let mut refusals = 0;
    for kind in refused_kinds {
        let at = format!("{kind:?} in {state:?}");
        let status = refused(client, Call::command(kind, &proposal)).await;
        let metadata = error_info(&status, Code::FailedPrecondition, "INVALID_TRANSITION");
        assert_eq!(metadata["currentState"], state_name(state), "{at}");
        assert_eq!(metadata["command"], kind.rpc_name(), "{at}");
        assert_eq!(
            trace(client, &proposal.id).await,
            unchanged,
            "{at} changed it"
        );
        refusals += 1;
    }
    refusals
}

#[tokio::test]
async fn every_command_outside_its_states_fails_precondition_and_changes_nothing() {
    let server = TestServer::start().await;
    let mut states = JoinSet::new();
    for state in STATES {
        states.spawn(refuse_all_but_the_allowed(server.client.clone(), state));
    }
    let refusals: usize = states.join_all().await.into_iter().sum();
    // With the refusals checked, this pins the allowed list to the lifecycle's eight moves.
    assert_eq!(refusals, STATES.len() * Kind::ALL.len() - 8);
}

// 2. Bad inputs.

/// Requests with one bad field, each aimed where it would otherwise succeed (a fresh number,
/// a proposal in the command's state), and the field the refusal must name.
fn bad_requests(at: &HashMap<State, pb::Proposal>) -> Vec<(&'static str, Call, &'static str)> {
    let target = |kind: Kind| &at[&kind.usual_state()];
    let signed = target(Kind::Sign);
    let receiving = |change: fn(&mut pb::ReceiveProposalRequest)| {
        Call::Receive(edited(receive(next_number()), change))
    };
    let assigning = |change: fn(&mut pb::AssignProposalRequest)| {
        Call::Assign(edited(assign(target(Kind::Assign)), change))
    };
    let drafting = |change: fn(&mut pb::DraftReplyRequest)| {
        Call::Draft(edited(draft(target(Kind::Draft)), change))
    };
    let replying = |change: fn(&mut pb::Reply)| {
        Call::Draft(edited(draft(target(Kind::Draft)), |r| {
            change(r.reply.as_mut().unwrap())
        }))
    };
    let issuing = |change: fn(&mut pb::IssueReplyRequest)| {
        Call::Issue(edited(issue(target(Kind::Issue)), change))
    };
    let signing = |change: fn(&mut pb::SignReplyRequest)| Call::Sign(edited(sign(signed), change));
    let rejecting = |change: fn(&mut pb::RejectDraftRequest)| {
        Call::RejectDraft(edited(reject(target(Kind::RejectDraft)), change))
    };
    let returning = |change: fn(&mut pb::ReturnProposalRequest)| {
        Call::Return(edited(return_(target(Kind::Return)), change))
    };
    let copying = |change: fn(&mut pb::CopyReplyRequest)| {
        Call::Copy(edited(copy(target(Kind::Copy)), change))
    };
    let listing_state = |state| {
        Call::List(pb::ListProposalsRequest {
            state,
            ..Default::default()
        })
    };
    #[rustfmt::skip]
    let mut cases = vec![
        ("empty title",            receiving(|r| r.title.clear()),                      "title"),
        ("blank committee",        receiving(|r| r.committee = " \u{3000}\t".into()),    "committee"),
        ("number 0",               receiving(|r| r.number = 0),                         "number"),
        ("no proposers",           receiving(|r| r.proposers.clear()),                  "proposers"),
        ("repeated proposer",      receiving(|r| r.proposers = names(&["苏会兴", "王芳", "苏会兴"])), "proposers[2]"),
        ("proposer too long",      receiving(|r| r.proposers = vec!["苏".repeat(201)]), "proposers[0]"),
        ("101 proposers",          receiving(|r| r.proposers = numbered("委员", 101)),  "proposers"),
        ("NUL in content",         receiving(|r| r.content = "建议加强\0环境保护".into()), "content"),
        ("501-character title",    receiving(|r| r.title = "题".repeat(501)),           "title"),
        ("no actor on receive",    receiving(|r| r.actor.clear()),                      "actor"),
        ("no actor on a command",  signing(|r| r.actor.clear()),                        "actor"),
        ("129-char request_id",    signing(|r| r.request_id = "r".repeat(129)),         "request_id"),
        ("due_date 2019-02-29",    assigning(|r| r.due_date = "2019-02-29".into()),     "due_date"),
        ("due_date 2019/09/29",    assigning(|r| r.due_date = "2019/09/29".into()),     "due_date"),
        ("no issue_date",          issuing(|r| r.issue_date.clear()),                   "issue_date"),
        ("issue_date 2019/09/29",  issuing(|r| r.issue_date = "2019/09/29".into()),     "issue_date"),
        ("100,001-character body", replying(|r| r.body = "字".repeat(100_001)),         "reply.body"),
        ("no reply",               drafting(|r| r.reply = None),                        "reply"),
        ("result code 0",          replying(|r| r.result_code = 0),                     "reply.result_code"),
        ("result code 99",         replying(|r| r.result_code = 99),                    "reply.result_code"),
        ("no recipients",          copying(|r| r.recipients.clear()),                   "recipients"),
        ("no signer",              signing(|r| r.signer.clear()),                       "signer"),
        ("no return reason",       returning(|r| r.reason.clear()),                     "reason"),
        ("blank rejection reason", rejecting(|r| r.reason = " \n".into()),              "reason"),
        ("state filter 42",        listing_state(42),                                   "state"),
        ("state filter -1",        listing_state(-1),                                   "state"),
    ];
    // The id without hyphens is a real proposal's, so a lenient parser would find it.
    for id in ["not-a-uuid", "", &signed.id.replace('-', "")] {
        let sign_it = Call::Sign(edited(sign(signed), |r| r.proposal_id = id.into()));
        for call in [get(id), Call::History(history(id)), sign_it] {
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
    let unchanged = listing(client).await;
    for (what, call, field) in bad_requests(&at) {
        let status = refused(client, call).await;
        let fields = violated_fields(&status);
        assert!(fields.iter().any(|f| f == field), "{what}: {fields:?}");
        // Only the bad field may be named (for a missing message, also its sub-fields).
        let within = |f: &String| {
            f == field || f.starts_with(&format!("{field}.")) || f.starts_with(&format!("{field}["))
        };
        assert!(fields.iter().all(within), "{what}: {fields:?}");
        assert_eq!(listing(client).await, unchanged, "{what} changed something");
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
    let long_body = edited(draft(&assigned), |r| {
        r.reply.as_mut().unwrap().body = "字".repeat(100_000)
    });
    let drafted = ok(client, Call::Draft(long_body)).await;
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
        Call::Receive(edited(receive(next_number()), |r| {
            r.content = two_mib.clone()
        })),
        Call::Draft(edited(draft(&assigned), |r| {
            r.reply.as_mut().unwrap().body = two_mib.clone()
        })),
    ];
    let unchanged = listing(client).await;
    for call in oversized {
        let status = refused(client, call).await;
        // tonic refuses a message over max_decoding_message_size with OUT_OF_RANGE, before
        // decoding it (an over-long text that got through would be INVALID_ARGUMENT instead).
        assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
        assert_eq!(listing(client).await, unchanged);
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
    let commands = Kind::ALL.map(|kind| Call::command(kind, &ghost));
    let calls = [get(&unknown), Call::History(history(&unknown))]
        .into_iter()
        .chain(commands);
    let unchanged = listing(client).await;
    for call in calls {
        let what = describe(&call);
        let status = refused(client, call).await;
        assert_eq!(status.code(), Code::NotFound, "{what}: {status:?}");
        let resource = status.get_details_resource_info().expect("ResourceInfo");
        assert_eq!(resource.resource_name, unknown, "{what}");
        assert_eq!(listing(client).await, unchanged, "{what} changed something");
    }
}

// 5. Uniqueness.

#[tokio::test]
async fn a_proposal_number_is_unique_within_its_committee_and_session() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let first = ok(client, Call::Receive(receive(228))).await;

    let unchanged = listing(client).await;
    let again = edited(receive(228), |r| r.title = "关于另一件事的提案".into());
    let status = refused(client, Call::Receive(again)).await;
    let metadata = error_info(&status, Code::AlreadyExists, "DUPLICATE_PROPOSAL_NUMBER");
    assert_eq!(metadata["existingProposalId"], first.id);
    assert_eq!(metadata["number"], "228");
    assert_eq!(listing(client).await, unchanged);

    let elsewhere = [
        edited(receive(228), |r| r.session = "七届四次会议".into()),
        edited(receive(228), |r| r.committee = "郑州市政协".into()),
    ];
    for request in elsewhere {
        let other = ok(client, Call::Receive(request)).await;
        assert_ne!(other.id, first.id);
    }
    assert_eq!(listing(client).await.len(), 3);
}

#[tokio::test]
async fn a_document_number_names_one_document_across_proposals() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let [first, second] = drive_all(client, State::Signed, 2)
        .await
        .try_into()
        .unwrap();
    let issue_as = |p: &pb::Proposal, number: &str| {
        Call::Issue(edited(issue(p), |r| r.document_number = number.into()))
    };
    let document_number = &SEED.document_number;
    ok(client, issue_as(&first, document_number)).await;

    let unchanged = listing(client).await;
    let status = refused(client, issue_as(&second, document_number)).await;
    let metadata = error_info(&status, Code::AlreadyExists, "DUPLICATE_DOCUMENT_NUMBER");
    assert_eq!(metadata["existingProposalId"], first.id);
    assert_eq!(&metadata["documentNumber"], document_number);
    assert_eq!(listing(client).await, unchanged);
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
        let p = drive(client, kind.usual_state()).await;
        let unchanged = listing(client).await;
        for stale in [p.version - 1, p.version + 1] {
            let status = refused(client, Call::command(kind, &p).expecting(stale)).await;
            let metadata = error_info(&status, Code::Aborted, "VERSION_MISMATCH");
            assert_eq!(metadata["expectedVersion"], stale.to_string(), "{kind:?}");
            assert_eq!(
                metadata["currentVersion"],
                p.version.to_string(),
                "{kind:?}"
            );
            assert_eq!(
                listing(client).await,
                unchanged,
                "{kind:?} expecting {stale}"
            );
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
        let p = drive(client, kind.usual_state()).await;
        let call = Call::command(kind, &p).with_request_id(&format!("retry-{kind:?}"));
        let first = ok(client, call.clone()).await;
        assert_eq!(first.version, p.version + 1, "{kind:?}");
        assert_eq!(ok(client, call).await, first, "{kind:?}");
        let (now, history) = trace(client, &p.id).await;
        assert_eq!(
            (now, history.len() as u64),
            (first.clone(), first.version),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_retried_receive_returns_the_same_proposal_and_registers_it_once() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let call = Call::Receive(receive(next_number())).with_request_id("receive-once");
    let first = ok(client, call.clone()).await;
    assert_eq!(ok(client, call).await, first);
    assert_eq!(events(client, &first.id).await.len(), 1);
    assert_eq!(listing(client).await, [first]);
}

/// Sends a receive and an assign with request ids, then moves the proposal on; returns the two
/// requests with their original answers.
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
    let id = originals[0].1.id.clone();
    let unchanged = trace(client, &id).await;
    for (call, original) in originals {
        assert_eq!(ok(client, call).await, original);
    }
    assert_eq!(trace(client, &id).await, unchanged);
}

#[tokio::test]
async fn a_retry_after_a_restart_returns_the_original_and_appends_nothing() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let originals = requests_overtaken_by_later_events(client).await;
    let id = originals[0].1.id.clone();
    let unchanged = trace(client, &id).await;
    let server = server.restart().await;
    let client = &mut server.client.clone();
    for (call, original) in originals {
        assert_eq!(ok(client, call).await, original);
    }
    assert_eq!(trace(client, &id).await, unchanged);
    assert_eq!(listing(client).await.len(), 1);
}

#[tokio::test]
async fn a_request_id_reused_for_a_different_request_is_refused() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let [p, other] = drive_all(client, State::Drafted, 2)
        .await
        .try_into()
        .unwrap();
    let key = "sign-once";
    let original = Call::command(Kind::Sign, &p).with_request_id(key);
    let signed = ok(client, original.clone()).await;
    let different = [
        (
            "another signer",
            Call::Sign(edited(sign(&p), |r| r.signer = "王五".into())),
        ),
        ("an expected version", original.clone().expecting(p.version)),
        ("another proposal", Call::command(Kind::Sign, &other)),
        ("another command", Call::command(Kind::RejectDraft, &other)),
        (
            "a receive",
            Call::Receive(receive(next_number())).with_actor(ACTOR),
        ),
    ];
    let unchanged = listing(client).await;
    for (what, call) in different {
        let status = refused(client, call.with_request_id(key)).await;
        error_info(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
        assert_eq!(violated_fields(&status), ["request_id"], "{what}");
        assert_eq!(listing(client).await, unchanged, "{what} changed something");
    }
    assert_eq!(ok(client, original.clone()).await, signed);
    // Keys are scoped by actor: another actor's identical key is its own request, decided on
    // its own (here it signs the other proposal), and leaves the first actor's record alone.
    let theirs = ok(
        client,
        Call::command(Kind::Sign, &other)
            .with_actor("另一位办理员")
            .with_request_id(key),
    )
    .await;
    assert_eq!(theirs.id, other.id);
    assert_eq!(theirs.state, pb::ProposalState::Signed as i32);
    assert_eq!(ok(client, original).await, signed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_all_get_the_one_result() {
    let server = TestServer::start().await;
    let racers = clients(&server, 8).await;
    let client = &mut server.client.clone();
    for (round, p) in drive_all(client, State::Drafted, 5)
        .await
        .iter()
        .enumerate()
    {
        let call = Call::command(Kind::Sign, p).with_request_id(&format!("sign-{round}"));
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
    for (round, p) in drive_all(client, State::Drafted, 200)
        .await
        .iter()
        .enumerate()
    {
        let calls = (0..racers.len())
            .map(|i| {
                Call::command(Kind::Sign, p)
                    .expecting(p.version)
                    .with_request_id(&format!("sign-{round}-{i}"))
            })
            .collect();
        let (won, lost): (Vec<_>, Vec<_>) = race(&racers, calls)
            .await
            .into_iter()
            .partition(Result::is_ok);
        assert_eq!(won.len(), 1, "round {round}: {lost:?}");
        let winner = won.into_iter().next().unwrap().unwrap().unwrap();
        assert_eq!(winner.version, p.version + 1, "round {round}");
        for status in lost.into_iter().map(Result::unwrap_err) {
            error_info(&status, Code::Aborted, "VERSION_MISMATCH");
        }
        assert_eq!(events(client, &p.id).await.len() as u64, p.version + 1);
    }
}
