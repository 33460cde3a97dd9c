mod common;

// Who may do what, over real gRPC: the role matrix of `src/auth/mod.rs` call by call, the
// narrowing of listings and streams to a unit, who is recorded as the actor, idempotency keys
// scoped per principal, authentication (and revocation by SIGHUP in the real binary), the
// exposure rules for non-loopback addresses, and the open local development mode.
//
// The expected outcomes are the test's own copy of the matrix, written out below; the service's
// `grant` is never asked.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use common::process::{ServerProcess, Started, temp_data_dir};
use common::{TestServer, wait_until_serving};
use proposal_service::auth::Authenticator;
use proposal_service::pb;
use proposal_service::pb::ProposalState as State;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use proposal_service::seed::{self, Seed};
use proposal_service::server::{self, ServeError, ServeOptions};
use proposal_service::store::{SledOptions, SledStore};
use sha2::{Digest, Sha256};
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status, Streaming};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

static SEED: LazyLock<Seed> = LazyLock::new(seed::proposal_228);

/// The unit the matrix's proposals are assigned to ("own unit" for its principals).
const UNIT_A: &str = "许昌市生态环境局";
/// Another handling unit ("other unit").
const UNIT_B: &str = "许昌市教育局";

/// How long a stream message or a reload may take before the test gives up.
const DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Principals
// ---------------------------------------------------------------------------------------------

/// The roles of the principals file, as the test knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Role {
    Registrar,
    Unit,
    Signer,
    Office,
    Auditor,
    Admin,
}

impl Role {
    /// The matrix's column order.
    const COLUMNS: [Role; 6] = [
        Role::Registrar,
        Role::Unit,
        Role::Signer,
        Role::Office,
        Role::Auditor,
        Role::Admin,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Role::Registrar => "registrar",
            Role::Unit => "unit",
            Role::Signer => "signer",
            Role::Office => "office",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    fn column(self) -> usize {
        Role::COLUMNS.iter().position(|r| *r == self).unwrap()
    }
}

/// One entry of the principals file.
#[derive(Clone, Copy, Debug)]
struct Member {
    name: &'static str,
    role: Role,
    unit: Option<&'static str>,
}

const fn member(name: &'static str, role: Role, unit: Option<&'static str>) -> Member {
    Member { name, role, unit }
}

const REGISTRAR: Member = member("reg", Role::Registrar, None);
/// A second registrar, for idempotency keys scoped per principal.
const REGISTRAR_2: Member = member("reg-2", Role::Registrar, None);
const AUDITOR: Member = member("auditor", Role::Auditor, None);
const ADMIN: Member = member("admin", Role::Admin, None);
const UNIT_A_CLERK: Member = member("eco-unit", Role::Unit, Some(UNIT_A));
const UNIT_A_SIGNER: Member = member("eco-signer", Role::Signer, Some(UNIT_A));
const UNIT_A_OFFICE: Member = member("eco-office", Role::Office, Some(UNIT_A));
const UNIT_B_CLERK: Member = member("edu-unit", Role::Unit, Some(UNIT_B));
const UNIT_B_SIGNER: Member = member("edu-signer", Role::Signer, Some(UNIT_B));
const UNIT_B_OFFICE: Member = member("edu-office", Role::Office, Some(UNIT_B));

/// Everyone in the test's principals file.
const EVERYONE: [Member; 10] = [
    REGISTRAR,
    REGISTRAR_2,
    AUDITOR,
    ADMIN,
    UNIT_A_CLERK,
    UNIT_A_SIGNER,
    UNIT_A_OFFICE,
    UNIT_B_CLERK,
    UNIT_B_SIGNER,
    UNIT_B_OFFICE,
];

/// The principals the matrix calls as: one per role, and the unit-bound roles for both units.
const CALLERS: [Member; 9] = [
    REGISTRAR,
    UNIT_A_CLERK,
    UNIT_B_CLERK,
    UNIT_A_SIGNER,
    UNIT_B_SIGNER,
    UNIT_A_OFFICE,
    UNIT_B_OFFICE,
    AUDITOR,
    ADMIN,
];

const UNIT_A_MEMBERS: [Member; 3] = [UNIT_A_CLERK, UNIT_A_SIGNER, UNIT_A_OFFICE];
const UNIT_B_MEMBERS: [Member; 3] = [UNIT_B_CLERK, UNIT_B_SIGNER, UNIT_B_OFFICE];

/// A principal's bearer token (the file stores only its SHA-256).
fn token(name: &str) -> String {
    format!("token-of-{name}")
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A principals file listing `members`, each with its token's hash.
fn principals_json(members: &[Member]) -> String {
    let entries: Vec<serde_json::Value> = members
        .iter()
        .map(|m| {
            let mut entry = serde_json::json!({
                "name": m.name,
                "role": m.role.as_str(),
                "token_sha256": sha256_hex(&token(m.name)),
            });
            if let Some(unit) = m.unit {
                entry["unit"] = unit.into();
            }
            entry
        })
        .collect();
    serde_json::json!({ "principals": entries }).to_string()
}

/// Replaces the file in one step, so that a reload never reads it half written.
fn write_atomically(path: &Path, text: &str) {
    let staging = path.with_extension("staging");
    std::fs::write(&staging, text).unwrap();
    std::fs::rename(&staging, path).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Clients that carry credentials
// ---------------------------------------------------------------------------------------------

/// Puts a fixed `authorization` value (or none) on every request.
#[derive(Clone)]
struct Credentials(Option<AsciiMetadataValue>);

impl Interceptor for Credentials {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

type AuthClient = ProposalServiceClient<InterceptedService<Channel, Credentials>>;

/// A client sending `authorization: <header>` (nothing when `None`).
fn client_with(channel: &Channel, header: Option<&str>) -> AuthClient {
    let value = header.map(|h| h.parse().expect("an ASCII header value"));
    ProposalServiceClient::with_interceptor(channel.clone(), Credentials(value))
}

/// A client authenticated as `name`.
fn client_as(channel: &Channel, name: &str) -> AuthClient {
    client_with(channel, Some(&format!("Bearer {}", token(name))))
}

async fn connect(addr: std::net::SocketAddr) -> Channel {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connecting to the server");
    wait_until_serving(channel.clone()).await;
    channel
}

/// A server whose callers authenticate against a principals file listing [`EVERYONE`].
struct Guarded {
    _server: TestServer,
    channel: Channel,
    clients: HashMap<&'static str, AuthClient>,
    _principals: tempfile::TempDir,
}

impl Guarded {
    async fn start() -> Self {
        let principals = tempfile::tempdir().unwrap();
        let path = principals.path().join("principals.json");
        write_atomically(&path, &principals_json(&EVERYONE));
        let authenticator = Authenticator::from_file(&path).expect("the test's principals file");
        let server = TestServer::start_with(ServeOptions {
            authenticator: Arc::new(authenticator),
            ..ServeOptions::default()
        })
        .await;
        let channel = connect(server.addr).await;
        let clients = EVERYONE
            .iter()
            .map(|m| (m.name, client_as(&channel, m.name)))
            .collect();
        Self {
            _server: server,
            channel,
            clients,
            _principals: principals,
        }
    }

    fn client(&self, member: Member) -> AuthClient {
        self.clients[member.name].clone()
    }

    fn admin(&self) -> AuthClient {
        self.client(ADMIN)
    }
}

// ---------------------------------------------------------------------------------------------
// Requests (actor and request_id empty unless a test sets them)
// ---------------------------------------------------------------------------------------------

/// A proposal number no test has used yet.
fn next_number() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn receive(number: u32) -> pb::ReceiveProposalRequest {
    pb::ReceiveProposalRequest {
        number,
        actor: String::new(),
        ..SEED.receive_request()
    }
}

fn assign(p: &pb::Proposal, unit: &str) -> pb::AssignProposalRequest {
    pb::AssignProposalRequest {
        proposal_id: p.id.clone(),
        handling_unit: unit.into(),
        due_date: "2019-08-31".into(),
        expected_version: None,
        request_id: String::new(),
        actor: String::new(),
    }
}

fn return_(p: &pb::Proposal) -> pb::ReturnProposalRequest {
    pb::ReturnProposalRequest {
        proposal_id: p.id.clone(),
        reason: "不属于本单位职责".into(),
        expected_version: None,
        request_id: String::new(),
        actor: String::new(),
    }
}

fn draft(p: &pb::Proposal) -> pb::DraftReplyRequest {
    pb::DraftReplyRequest {
        proposal_id: p.id.clone(),
        reply: Some(SEED.reply()),
        expected_version: None,
        request_id: String::new(),
        actor: String::new(),
    }
}

fn reject(p: &pb::Proposal) -> pb::RejectDraftRequest {
    pb::RejectDraftRequest {
        proposal_id: p.id.clone(),
        reason: "请补充下一步打算".into(),
        expected_version: None,
        request_id: String::new(),
        actor: String::new(),
    }
}

fn sign(p: &pb::Proposal) -> pb::SignReplyRequest {
    pb::SignReplyRequest {
        proposal_id: p.id.clone(),
        signer: SEED.signer.clone(),
        expected_version: None,
        request_id: String::new(),
        actor: String::new(),
    }
}

fn issue(p: &pb::Proposal) -> pb::IssueReplyRequest {
    pb::IssueReplyRequest {
        proposal_id: p.id.clone(),
        // Unique per proposal, so that issuing never collides.
        document_number: format!("许环〔2019〕{}号", p.number),
        issue_date: SEED.issue_date.clone(),
        issuing_office: SEED.issuing_office.clone(),
        expected_version: None,
        request_id: String::new(),
        actor: String::new(),
    }
}

fn copy(p: &pb::Proposal) -> pb::CopyReplyRequest {
    pb::CopyReplyRequest {
        proposal_id: p.id.clone(),
        recipients: SEED.recipients.clone(),
        expected_version: None,
        request_id: String::new(),
        actor: String::new(),
    }
}

fn watch_request(handling_unit: &str) -> pb::WatchEventsRequest {
    pb::WatchEventsRequest {
        after_position: 0,
        proposal_id: String::new(),
        kinds: Vec::new(),
        handling_unit: handling_unit.into(),
    }
}

/// Receives a proposal as `client` and drives it forward to `state`, assigning it to `unit`.
async fn drive(client: &AuthClient, unit: &str, state: State) -> pb::Proposal {
    let what = format!("driving a proposal of {unit} to {state:?}");
    let mut p = invoke(client, Rpc::Receive, None).await.unwrap().unwrap();
    if state == State::Received {
        return p;
    }
    p = client
        .clone()
        .assign_proposal(assign(&p, unit))
        .await
        .unwrap_or_else(|s| panic!("{what}: {s:?}"))
        .into_inner()
        .proposal
        .unwrap();
    for rpc in [Rpc::Draft, Rpc::Sign, Rpc::Issue, Rpc::Copy] {
        if p.state() == state {
            break;
        }
        p = invoke(client, rpc, Some(&p))
            .await
            .unwrap_or_else(|s| panic!("{what}: {rpc:?}: {s:?}"))
            .unwrap();
    }
    assert_eq!(p.state(), state, "{what}");
    p
}

async fn get(client: &AuthClient, id: &str) -> pb::Proposal {
    let request = pb::GetProposalRequest {
        proposal_id: id.into(),
        ..Default::default()
    };
    client
        .clone()
        .get_proposal(request)
        .await
        .unwrap_or_else(|s| panic!("GetProposal {id}: {s:?}"))
        .into_inner()
        .proposal
        .unwrap()
}

/// Every event `client` may list with `handling_unit` as the filter, all pages.
async fn listed_events(
    client: &AuthClient,
    handling_unit: &str,
) -> Result<Vec<pb::ProposalEvent>, Status> {
    let mut client = client.clone();
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListEventsRequest {
            handling_unit: handling_unit.into(),
            page_size: 1000,
            page_token,
            ..Default::default()
        };
        let page = client.list_events(request).await?.into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return Ok(events);
        }
        page_token = page.next_page_token;
    }
}

/// The whole event log, as the admin lists it.
async fn whole_log(admin: &AuthClient) -> Vec<pb::ProposalEvent> {
    listed_events(admin, "")
        .await
        .expect("the admin lists the log")
}

/// Every proposal `client` may list with `handling_unit` as the filter, all pages.
async fn listed_proposals(
    client: &AuthClient,
    handling_unit: &str,
) -> Result<Vec<pb::Proposal>, Status> {
    let mut client = client.clone();
    let mut proposals = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListProposalsRequest {
            handling_unit: handling_unit.into(),
            page_size: 1000,
            page_token,
            ..Default::default()
        };
        let page = client.list_proposals(request).await?.into_inner();
        proposals.extend(page.proposals);
        if page.next_page_token.is_empty() {
            return Ok(proposals);
        }
        page_token = page.next_page_token;
    }
}

/// Asserts PERMISSION_DENIED with ErrorInfo NOT_IN_REMIT.
fn assert_not_in_remit(status: &Status, what: &str) {
    assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("{what}: no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, "NOT_IN_REMIT", "{what}: {status:?}");
    assert_eq!(info.domain, "proposal.v1", "{what}: {status:?}");
}

fn assert_unauthenticated<T: std::fmt::Debug>(result: Result<T, Status>, what: &str) {
    match result {
        Err(status) => assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}"),
        Ok(answer) => panic!("{what} was answered: {answer:?}"),
    }
}

/// The next message of a watch stream, within [`DEADLINE`].
async fn next_event(
    stream: &mut Streaming<pb::WatchEventsResponse>,
    what: &str,
) -> pb::ProposalEvent {
    tokio::time::timeout(DEADLINE, stream.message())
        .await
        .unwrap_or_else(|_| panic!("{what}: no event within {DEADLINE:?}"))
        .unwrap_or_else(|s| panic!("{what}: {s:?}"))
        .unwrap_or_else(|| panic!("{what}: the stream ended"))
        .event
        .expect("an event")
}

// ---------------------------------------------------------------------------------------------
// 1. The matrix
// ---------------------------------------------------------------------------------------------

/// Every RPC of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Rpc {
    Receive,
    Assign,
    Return,
    Draft,
    RejectDraft,
    Sign,
    Issue,
    Copy,
    Get,
    List,
    History,
    ListEvents,
    Watch,
    Verify,
    Render,
}

impl Rpc {
    fn is_command(self) -> bool {
        matches!(
            self,
            Rpc::Receive
                | Rpc::Assign
                | Rpc::Return
                | Rpc::Draft
                | Rpc::RejectDraft
                | Rpc::Sign
                | Rpc::Issue
                | Rpc::Copy
        )
    }

    /// The state of the (unit A) proposal the call acts on or reads, if it names one.
    fn target_state(self) -> Option<State> {
        match self {
            Rpc::Receive | Rpc::List | Rpc::ListEvents | Rpc::Watch | Rpc::Verify => None,
            Rpc::Assign => Some(State::Received),
            Rpc::Return | Rpc::Draft => Some(State::Assigned),
            Rpc::RejectDraft | Rpc::Sign => Some(State::Drafted),
            Rpc::Issue => Some(State::Signed),
            Rpc::Copy => Some(State::Issued),
            // RenderReply needs an issued reply; reads never change it, so one serves all.
            Rpc::Get | Rpc::History | Rpc::Render => Some(State::Copied),
        }
    }
}

/// One cell of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Remit {
    /// Allowed on every proposal (for listings and streams: allowed, narrowed to the caller's
    /// unit for unit-bound roles; the narrowing has its own test below).
    Yes,
    /// Allowed on the proposals the caller's unit is handling; denied on another unit's.
    OwnUnit,
    No,
}

use Remit::{No as N, OwnUnit as O, Yes as Y};

/// The matrix of `src/auth/mod.rs`, written out. Columns: registrar, unit, signer, office,
/// auditor, admin ([`Role::COLUMNS`]).
const MATRIX: [(Rpc, [Remit; 6]); 15] = [
    (Rpc::Receive, [Y, N, N, N, N, Y]),
    (Rpc::Assign, [Y, N, N, N, N, Y]),
    (Rpc::Return, [N, O, N, N, N, Y]),
    (Rpc::Draft, [N, O, N, N, N, Y]),
    (Rpc::RejectDraft, [N, N, O, N, N, Y]),
    (Rpc::Sign, [N, N, O, N, N, Y]),
    (Rpc::Issue, [N, N, N, O, N, Y]),
    (Rpc::Copy, [N, N, N, O, N, Y]),
    (Rpc::Get, [Y, O, O, O, Y, Y]),
    (Rpc::List, [Y, Y, Y, Y, Y, Y]),
    (Rpc::History, [Y, O, O, O, Y, Y]),
    (Rpc::ListEvents, [Y, Y, Y, Y, Y, Y]),
    (Rpc::Watch, [Y, Y, Y, Y, Y, Y]),
    (Rpc::Verify, [N, N, N, N, Y, Y]),
    (Rpc::Render, [Y, O, O, O, Y, Y]),
];

/// Whether `caller` may make `rpc` on a proposal unit A is handling.
fn expected_allowed(rpc: Rpc, caller: Member) -> bool {
    let row = MATRIX.iter().find(|(r, _)| *r == rpc).unwrap().1;
    match row[caller.role.column()] {
        Remit::Yes => true,
        Remit::OwnUnit => caller.unit == Some(UNIT_A),
        Remit::No => false,
    }
}

/// Makes `rpc` as `client` on `target` (or on nothing); a command returns the proposal after it.
async fn invoke(
    client: &AuthClient,
    rpc: Rpc,
    target: Option<&pb::Proposal>,
) -> Result<Option<pb::Proposal>, Status> {
    let mut c = client.clone();
    let p = || target.expect("the call needs a proposal");
    let id = || p().id.clone();
    let proposal = match rpc {
        Rpc::Receive => {
            c.receive_proposal(receive(next_number()))
                .await?
                .into_inner()
                .proposal
        }
        Rpc::Assign => {
            c.assign_proposal(assign(p(), UNIT_A))
                .await?
                .into_inner()
                .proposal
        }
        Rpc::Return => c.return_proposal(return_(p())).await?.into_inner().proposal,
        Rpc::Draft => c.draft_reply(draft(p())).await?.into_inner().proposal,
        Rpc::RejectDraft => c.reject_draft(reject(p())).await?.into_inner().proposal,
        Rpc::Sign => c.sign_reply(sign(p())).await?.into_inner().proposal,
        Rpc::Issue => c.issue_reply(issue(p())).await?.into_inner().proposal,
        Rpc::Copy => c.copy_reply(copy(p())).await?.into_inner().proposal,
        Rpc::Get => {
            let request = pb::GetProposalRequest {
                proposal_id: id(),
                ..Default::default()
            };
            let proposal = c.get_proposal(request).await?.into_inner().proposal;
            assert_eq!(proposal.map(|p| p.id), Some(id()));
            return Ok(None);
        }
        Rpc::List => {
            c.list_proposals(pb::ListProposalsRequest::default())
                .await?;
            return Ok(None);
        }
        Rpc::History => {
            let request = pb::GetProposalHistoryRequest {
                proposal_id: id(),
                page_size: 0,
                page_token: String::new(),
            };
            let events = c.get_proposal_history(request).await?.into_inner().events;
            assert!(!events.is_empty(), "a proposal has a history");
            return Ok(None);
        }
        Rpc::ListEvents => {
            c.list_events(pb::ListEventsRequest::default()).await?;
            return Ok(None);
        }
        Rpc::Watch => {
            // Opening the stream is the call; its contents are checked by the narrowing test.
            c.watch_events(watch_request("")).await?;
            return Ok(None);
        }
        Rpc::Verify => {
            let report = c
                .verify_history(pb::VerifyHistoryRequest {})
                .await?
                .into_inner();
            assert!(report.ok, "{report:?}");
            return Ok(None);
        }
        Rpc::Render => {
            let request = pb::RenderReplyRequest { proposal_id: id() };
            let rendered = c.render_reply(request).await?.into_inner();
            assert_eq!(rendered.document_number, issue(p()).document_number);
            return Ok(None);
        }
    };
    Ok(Some(proposal.expect("a command returns the proposal")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_is_allowed_or_denied_for_every_role_exactly_as_the_matrix_says() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    // Proposals of unit A waiting in a state, reused until an allowed command moves them on.
    let mut waiting: HashMap<State, pb::Proposal> = HashMap::new();
    let (mut allowed, mut denied) = (0, 0);
    for (rpc, _) in MATRIX {
        for caller in CALLERS {
            let what = format!(
                "{rpc:?} as {} ({:?}, {:?})",
                caller.name, caller.role, caller.unit
            );
            let target = match rpc.target_state() {
                Some(state) => match waiting.get(&state) {
                    Some(p) => Some(p.clone()),
                    None => {
                        let p = drive(&admin, UNIT_A, state).await;
                        waiting.insert(state, p.clone());
                        Some(p)
                    }
                },
                None => None,
            };
            let log_before = whole_log(&admin).await;
            let result = invoke(&guarded.client(caller), rpc, target.as_ref()).await;
            let log_after = whole_log(&admin).await;
            if expected_allowed(rpc, caller) {
                allowed += 1;
                let answer = result.unwrap_or_else(|s| panic!("{what} must be allowed: {s:?}"));
                if !rpc.is_command() {
                    assert_eq!(log_after, log_before, "{what}: a read wrote");
                    continue;
                }
                let proposal = answer.unwrap();
                assert_eq!(
                    log_after.len(),
                    log_before.len() + 1,
                    "{what}: one event appended"
                );
                assert_eq!(log_after[..log_before.len()], log_before[..], "{what}");
                let event = log_after.last().unwrap();
                assert_eq!(event.actor, caller.name, "{what}: the recorded actor");
                assert_eq!(event.proposal_id, proposal.id, "{what}");
                if let Some(target) = &target {
                    assert_eq!(proposal.id, target.id, "{what}");
                    waiting.remove(&target.state());
                }
            } else {
                denied += 1;
                match result {
                    Ok(answer) => panic!("{what} must be denied, was answered {answer:?}"),
                    Err(status) => assert_not_in_remit(&status, &what),
                }
                assert_eq!(log_after, log_before, "{what}: a denied call wrote");
                if let Some(target) = &target {
                    assert_eq!(&get(&admin, &target.id).await, target, "{what}: changed it");
                }
            }
        }
    }
    assert_eq!(allowed + denied, MATRIX.len() * CALLERS.len());
    assert!(allowed > 0 && denied > 0);
}

/// The ids of `proposals`.
fn ids(proposals: &[pb::Proposal]) -> BTreeSet<String> {
    proposals.iter().map(|p| p.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_principals_list_and_watch_only_their_units_proposals_and_events() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let a_drafted = drive(&admin, UNIT_A, State::Drafted).await;
    let a_assigned = drive(&admin, UNIT_A, State::Assigned).await;
    let b_assigned = drive(&admin, UNIT_B, State::Assigned).await;
    let unassigned = drive(&admin, UNIT_A, State::Received).await;
    // Returned by A and reassigned to B: its assignment to A and the return are A's events,
    // its reassignment B's; the proposal itself is now B's.
    let moved = drive(&admin, UNIT_A, State::Assigned).await;
    admin
        .clone()
        .return_proposal(return_(&moved))
        .await
        .unwrap();
    let moved = get(&admin, &moved.id).await;
    admin
        .clone()
        .assign_proposal(assign(&moved, UNIT_B))
        .await
        .unwrap();

    // The events each unit may see, by (proposal, sequence): from the assignment on.
    let keys = |list: &[(&pb::Proposal, &[u64])]| -> BTreeSet<(String, u64)> {
        list.iter()
            .flat_map(|(p, seqs)| seqs.iter().map(|s| (p.id.clone(), *s)))
            .collect()
    };
    let seen_by_a = keys(&[
        (&a_drafted, &[2, 3]),
        (&a_assigned, &[2]),
        (&moved, &[2, 3]),
    ]);
    let seen_by_b = keys(&[(&b_assigned, &[2]), (&moved, &[4])]);
    let log = whole_log(&admin).await;
    let part = |keys: &BTreeSet<(String, u64)>| -> Vec<pb::ProposalEvent> {
        let events: Vec<_> = log
            .iter()
            .filter(|e| keys.contains(&(e.proposal_id.clone(), e.sequence)))
            .cloned()
            .collect();
        assert_eq!(
            events.len(),
            keys.len(),
            "the log holds every expected event"
        );
        events
    };
    let units = [
        (
            UNIT_A,
            UNIT_B,
            UNIT_A_MEMBERS,
            ids(&[a_drafted.clone(), a_assigned.clone()]),
            part(&seen_by_a),
        ),
        (
            UNIT_B,
            UNIT_A,
            UNIT_B_MEMBERS,
            ids(&[b_assigned.clone(), moved.clone()]),
            part(&seen_by_b),
        ),
    ];

    for (own, other, members, proposals, events) in &units {
        for member in members {
            let client = guarded.client(*member);
            let what = format!("{} of {own}", member.name);
            for filter in ["", own] {
                let listed = listed_proposals(&client, filter).await.unwrap();
                assert_eq!(ids(&listed), *proposals, "{what}: ListProposals {filter:?}");
                let listed = listed_events(&client, filter).await.unwrap();
                assert_eq!(&listed, events, "{what}: ListEvents {filter:?}");
            }
            let refused = listed_proposals(&client, other).await.unwrap_err();
            assert_not_in_remit(&refused, &format!("{what}: ListProposals of {other}"));
            let refused = listed_events(&client, other).await.unwrap_err();
            assert_not_in_remit(&refused, &format!("{what}: ListEvents of {other}"));
            let refused = client.clone().watch_events(watch_request(other)).await;
            assert_not_in_remit(
                &refused.unwrap_err(),
                &format!("{what}: WatchEvents of {other}"),
            );
        }
    }
    // The unbound readers see everything.
    let everything = ids(&[
        a_drafted.clone(),
        a_assigned.clone(),
        b_assigned.clone(),
        unassigned.clone(),
        moved.clone(),
    ]);
    for member in [REGISTRAR, AUDITOR, ADMIN] {
        let client = guarded.client(member);
        let listed = listed_proposals(&client, "").await.unwrap();
        assert_eq!(ids(&listed), everything, "{}: ListProposals", member.name);
        let listed = listed_events(&client, "").await.unwrap();
        assert_eq!(listed, log, "{}: ListEvents", member.name);
    }

    // Watchers: the backlog is exactly the unit's part of the log, and of the live events only
    // the unit's arrive.
    let mut watchers = Vec::new();
    for (own, _, members, _, events) in &units {
        for member in members {
            let what = format!("WatchEvents as {} of {own}", member.name);
            let mut stream = guarded
                .client(*member)
                .watch_events(watch_request(""))
                .await
                .unwrap_or_else(|s| panic!("{what}: {s:?}"))
                .into_inner();
            for expected in events {
                assert_eq!(
                    &next_event(&mut stream, &what).await,
                    expected,
                    "{what}: backlog"
                );
            }
            watchers.push((*own, what, stream));
        }
    }
    let mut unbound = guarded
        .client(AUDITOR)
        .watch_events(watch_request(""))
        .await
        .unwrap()
        .into_inner();
    for expected in &log {
        assert_eq!(&next_event(&mut unbound, "auditor").await, expected);
    }
    // Live, the units taking turns, with a return (A's event) and a reassignment (B's).
    let proposal = |r: Result<Option<pb::Proposal>, Status>| r.unwrap().unwrap();
    let mut live = Vec::new();
    let returned = admin.clone().return_proposal(return_(&a_assigned)).await;
    live.push((returned.unwrap().into_inner().proposal.unwrap(), UNIT_A));
    live.push((
        proposal(invoke(&admin, Rpc::Draft, Some(&b_assigned)).await),
        UNIT_B,
    ));
    live.push((
        proposal(invoke(&admin, Rpc::Draft, Some(&a_drafted)).await),
        UNIT_A,
    ));
    let reassigned = admin
        .clone()
        .assign_proposal(assign(&live[0].0, UNIT_B))
        .await;
    live.push((reassigned.unwrap().into_inner().proposal.unwrap(), UNIT_B));
    live.push((
        proposal(invoke(&admin, Rpc::Draft, Some(&a_drafted)).await),
        UNIT_A,
    ));
    for expected in &live {
        let got = next_event(&mut unbound, "auditor").await;
        assert_eq!(
            (&got.proposal_id, got.sequence),
            (&expected.0.id, expected.0.version)
        );
    }
    for (unit, what, stream) in &mut watchers {
        for (proposal, _) in live.iter().filter(|(_, u)| u == unit) {
            let got = next_event(stream, what).await;
            assert_eq!(
                (&got.proposal_id, got.sequence),
                (&proposal.id, proposal.version),
                "{what}: live"
            );
        }
    }
    // Listings agree with the streams afterwards.
    let key = |e: &pb::ProposalEvent| (e.proposal_id.clone(), e.sequence);
    for (own, _, members, _, events) in &units {
        let mut expected: Vec<_> = events.iter().map(key).collect();
        expected.extend(
            live.iter()
                .filter(|(_, u)| u == own)
                .map(|(p, _)| (p.id.clone(), p.version)),
        );
        for member in members {
            let listed = listed_events(&guarded.client(*member), "").await.unwrap();
            let listed: Vec<_> = listed.iter().map(key).collect();
            assert_eq!(
                listed, expected,
                "{}: ListEvents after the live events",
                member.name
            );
        }
    }
}

/// SECURITY.md, "What a unit-bound caller reads": a proposal is readable by a unit's members
/// exactly while their unit handles it. Before the assignment, after their unit returned it,
/// and once it went to another unit, GetProposal, GetProposalHistory and RenderReply are
/// PERMISSION_DENIED; the events of the time their unit handled it stay in their audit trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_reads_a_proposal_only_while_it_handles_it() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let own = drive(&admin, UNIT_A, State::Copied).await;
    let unassigned = drive(&admin, UNIT_A, State::Received).await;
    let returned = drive(&admin, UNIT_A, State::Assigned).await;
    admin
        .clone()
        .return_proposal(return_(&returned))
        .await
        .unwrap();
    let moved = drive(&admin, UNIT_A, State::Assigned).await;
    admin
        .clone()
        .return_proposal(return_(&moved))
        .await
        .unwrap();
    let moved_back = get(&admin, &moved.id).await;
    admin
        .clone()
        .assign_proposal(assign(&moved_back, UNIT_B))
        .await
        .unwrap();
    for member in UNIT_A_MEMBERS {
        let client = guarded.client(member);
        for rpc in [Rpc::Get, Rpc::History, Rpc::Render] {
            let what = format!("{} {rpc:?}", member.name);
            invoke(&client, rpc, Some(&own))
                .await
                .unwrap_or_else(|s| panic!("{what} of its own proposal: {s:?}"));
            for (proposal, which) in [
                (&unassigned, "an unassigned proposal"),
                (&returned, "a proposal its unit returned"),
                (&moved, "a proposal its unit returned, now another unit's"),
            ] {
                let refused = invoke(&client, rpc, Some(proposal)).await.unwrap_err();
                assert_not_in_remit(&refused, &format!("{what} of {which}"));
            }
        }
        // Its audit trail keeps the assignment to its unit and the return, and nothing after.
        let events = listed_events(&client, "").await.unwrap();
        for proposal in [&returned, &moved] {
            let moves: Vec<_> = events
                .iter()
                .filter(|e| e.proposal_id == proposal.id)
                .map(|e| e.to_state())
                .collect();
            assert_eq!(
                moves,
                [pb::ProposalState::Assigned, pb::ProposalState::Received],
                "{}",
                member.name
            );
        }
        assert!(!events.iter().any(|e| e.proposal_id == unassigned.id));
    }
    // Unit B reads the moved proposal, and of its history's events lists only its own part.
    let b = guarded.client(UNIT_B_CLERK);
    invoke(&b, Rpc::History, Some(&moved)).await.unwrap();
    let events = listed_events(&b, "").await.unwrap();
    let moves: Vec<_> = events
        .iter()
        .filter(|e| e.proposal_id == moved.id)
        .map(|e| e.to_state())
        .collect();
    assert_eq!(moves, [pb::ProposalState::Assigned]);
}

// ---------------------------------------------------------------------------------------------
// 2. The recorded actor
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_caller_acts_only_under_its_own_name() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let mut registrar = guarded.client(REGISTRAR);

    // Someone else's name, as registrar and as a unit clerk: denied, nothing written.
    let before = whole_log(&admin).await;
    let as_admin = pb::ReceiveProposalRequest {
        actor: ADMIN.name.into(),
        ..receive(next_number())
    };
    let status = registrar.receive_proposal(as_admin).await.unwrap_err();
    assert_not_in_remit(&status, "registrar receiving as the admin");
    let as_stranger = pb::ReceiveProposalRequest {
        actor: "提案委登记员".into(),
        ..receive(next_number())
    };
    let status = registrar.receive_proposal(as_stranger).await.unwrap_err();
    assert_not_in_remit(&status, "registrar receiving as an unlisted name");
    assert_eq!(whole_log(&admin).await, before, "denied calls wrote");

    // Empty: recorded under the principal's name; its own name: the same.
    for actor in ["", REGISTRAR.name] {
        let request = pb::ReceiveProposalRequest {
            actor: actor.into(),
            ..receive(next_number())
        };
        let p = registrar
            .receive_proposal(request)
            .await
            .unwrap()
            .into_inner();
        let event = whole_log(&admin).await.pop().unwrap();
        assert_eq!(event.proposal_id, p.proposal.unwrap().id);
        assert_eq!(event.actor, REGISTRAR.name, "actor {actor:?}");
    }

    // The same for a unit-bound principal on a command of its remit.
    let p = drive(&admin, UNIT_A, State::Assigned).await;
    let mut clerk = guarded.client(UNIT_A_CLERK);
    let before = whole_log(&admin).await;
    let as_colleague = pb::DraftReplyRequest {
        actor: UNIT_A_SIGNER.name.into(),
        ..draft(&p)
    };
    let status = clerk.draft_reply(as_colleague).await.unwrap_err();
    assert_not_in_remit(&status, "clerk drafting as its signer");
    assert_eq!(whole_log(&admin).await, before, "a denied draft wrote");
    assert_eq!(get(&admin, &p.id).await, p);
    let own = pb::DraftReplyRequest {
        actor: UNIT_A_CLERK.name.into(),
        ..draft(&p)
    };
    clerk.draft_reply(own).await.unwrap();
    let event = whole_log(&admin).await.pop().unwrap();
    assert_eq!(
        (event.proposal_id, event.actor),
        (p.id, UNIT_A_CLERK.name.to_owned())
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Idempotency keys belong to a principal
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_are_scoped_per_principal() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let (mut x, mut y) = (guarded.client(REGISTRAR), guarded.client(REGISTRAR_2));
    let keyed = |number: u32, key: &str| pb::ReceiveProposalRequest {
        request_id: key.into(),
        ..receive(number)
    };
    let (n, m) = (next_number(), next_number());

    let original = x
        .receive_proposal(keyed(n, "k"))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();

    // Y's "k" with X's content is Y's own request: a second proposal numbered n.
    let status = y.receive_proposal(keyed(n, "k")).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let info = status.get_details_error_info().unwrap();
    assert_eq!(info.reason, "DUPLICATE_PROPOSAL_NUMBER");
    assert_eq!(info.metadata["existingProposalId"], original.id);
    // With another number, a new proposal.
    let own = y
        .receive_proposal(keyed(m, "k"))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    assert_ne!(own.id, original.id);
    assert_eq!(own.number, m);

    // Retries get each principal's own original result (X also naming itself explicitly).
    let retry = x
        .receive_proposal(keyed(n, "k"))
        .await
        .unwrap()
        .into_inner()
        .proposal;
    assert_eq!(retry.as_ref(), Some(&original), "X's retry");
    let named = pb::ReceiveProposalRequest {
        actor: REGISTRAR.name.into(),
        ..keyed(n, "k")
    };
    let retry = x
        .receive_proposal(named)
        .await
        .unwrap()
        .into_inner()
        .proposal;
    assert_eq!(retry.as_ref(), Some(&original), "X's retry naming itself");
    let retry = y
        .receive_proposal(keyed(m, "k"))
        .await
        .unwrap()
        .into_inner()
        .proposal;
    assert_eq!(retry.as_ref(), Some(&own), "Y's retry");

    // A command: Y reusing X's key on the same proposal is decided afresh (it is assigned
    // already), not answered with X's result.
    let assign_keyed = pb::AssignProposalRequest {
        request_id: "k2".into(),
        ..assign(&original, UNIT_A)
    };
    let assigned = x
        .assign_proposal(assign_keyed.clone())
        .await
        .unwrap()
        .into_inner();
    let status = y.assign_proposal(assign_keyed.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let retry = x.assign_proposal(assign_keyed).await.unwrap().into_inner();
    assert_eq!(retry, assigned);

    let log = whole_log(&admin).await;
    let summary: Vec<(&str, u64, &str)> = log
        .iter()
        .map(|e| (e.proposal_id.as_str(), e.sequence, e.actor.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (original.id.as_str(), 1, REGISTRAR.name),
            (own.id.as_str(), 1, REGISTRAR_2.name),
            (original.id.as_str(), 2, REGISTRAR.name),
        ],
        "each request recorded once, under its principal"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Authentication
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_valid_credentials_are_unauthenticated_and_change_nothing() {
    let guarded = Guarded::start().await;
    let unknown = format!("Bearer {}", token("stranger"));
    let headers = [
        None,
        Some("Basic x"),
        Some("Bearer"),
        Some("Bearer "),
        Some(unknown.as_str()),
    ];
    for header in headers {
        let what = format!("authorization {header:?}");
        let mut client = client_with(&guarded.channel, header);
        let request = pb::GetProposalRequest {
            proposal_id: "0190f0a0-0000-7000-8000-000000000000".into(),
            ..Default::default()
        };
        assert_unauthenticated(client.get_proposal(request).await, &what);
        assert_unauthenticated(
            client
                .list_proposals(pb::ListProposalsRequest::default())
                .await,
            &what,
        );
        assert_unauthenticated(client.watch_events(watch_request("")).await, &what);
        assert_unauthenticated(
            client.verify_history(pb::VerifyHistoryRequest {}).await,
            &what,
        );
        assert_unauthenticated(client.receive_proposal(receive(next_number())).await, &what);
    }
    assert_eq!(whole_log(&guarded.admin()).await, [], "nothing was written");
    // Health needs no credentials.
    let mut health = HealthClient::new(guarded.channel.clone());
    let request = HealthCheckRequest {
        service: "proposal.v1.ProposalService".into(),
    };
    let status = health.check(request).await.unwrap().into_inner().status;
    assert_eq!(status, ServingStatus::Serving as i32);
}

/// Polls `probe` until it is refused UNAUTHENTICATED, within [`DEADLINE`].
async fn until_unauthenticated(client: &AuthClient, what: &str) {
    let started = Instant::now();
    loop {
        match client
            .clone()
            .list_proposals(pb::ListProposalsRequest::default())
            .await
        {
            Err(status) if status.code() == Code::Unauthenticated => return,
            Err(status) => panic!("{what}: {status:?}"),
            Ok(_) if started.elapsed() > DEADLINE => {
                panic!("{what}: still accepted after {DEADLINE:?}")
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn works(client: &AuthClient, what: &str) {
    client
        .clone()
        .list_proposals(pb::ListProposalsRequest::default())
        .await
        .unwrap_or_else(|s| panic!("{what}: {s:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_removed_from_the_file_is_refused_after_sighup_and_a_bad_file_changes_nothing() {
    const KEPT: Member = member("kept", Role::Auditor, None);
    const REVOKED: Member = member("revoked", Role::Registrar, None);
    // A watcher whose token goes, and a registrar who stays, to make events for the watchers.
    const GONE: Member = member("gone-watcher", Role::Auditor, None);
    const CLERK: Member = member("clerk", Role::Registrar, None);
    let (_temp, data_dir) = temp_data_dir();
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("principals.json");
    write_atomically(&file, &principals_json(&[KEPT, REVOKED, GONE, CLERK]));
    let mut server =
        ServerProcess::expect_start_with_args(&data_dir, &["--principals", file.to_str().unwrap()]);
    let channel = connect(server.addr).await;
    let (kept, revoked) = (
        client_as(&channel, KEPT.name),
        client_as(&channel, REVOKED.name),
    );
    works(&kept, "kept token").await;
    works(&revoked, "token before revocation").await;
    assert_unauthenticated(
        client_with(&channel, None)
            .list_proposals(pb::ListProposalsRequest::default())
            .await,
        "no credentials",
    );
    let clerk = client_as(&channel, CLERK.name);
    let mut watchers = Vec::new();
    for member in [KEPT, GONE] {
        let stream = client_as(&channel, member.name)
            .watch_events(watch_request(""))
            .await
            .unwrap_or_else(|s| panic!("WatchEvents as {}: {s:?}", member.name))
            .into_inner();
        watchers.push(stream);
    }
    let first = clerk.clone().receive_proposal(receive(1)).await.unwrap();
    let first = first.into_inner().proposal.unwrap();
    for (stream, name) in watchers.iter_mut().zip([KEPT.name, GONE.name]) {
        assert_eq!(next_event(stream, name).await.proposal_id, first.id);
    }

    write_atomically(&file, &principals_json(&[KEPT, CLERK]));
    server.hangup();
    until_unauthenticated(&revoked, "revoked token after SIGHUP").await;
    works(&kept, "kept token after SIGHUP").await;
    // A stream opened with a token that is gone ends with UNAUTHENTICATED, and nothing more;
    // one whose token stays goes on.
    let mut gone = watchers.pop().unwrap();
    let ended = tokio::time::timeout(DEADLINE, gone.message())
        .await
        .expect("the revoked watcher's stream ends within the deadline");
    assert_unauthenticated(ended, "a stream whose token was revoked");
    let after = tokio::time::timeout(DEADLINE, gone.message())
        .await
        .unwrap();
    assert!(matches!(after, Ok(None)), "after the error: {after:?}");
    let second = clerk.clone().receive_proposal(receive(2)).await.unwrap();
    let second = second.into_inner().proposal.unwrap();
    assert_eq!(
        next_event(&mut watchers[0], KEPT.name).await.proposal_id,
        second.id,
        "the kept watcher goes on after the reload"
    );

    // A broken file on SIGHUP: logged, and the principals in force stay.
    write_atomically(&file, "{\"principals\": [ not json");
    server.hangup();
    let started = Instant::now();
    while !server
        .log()
        .iter()
        .any(|line| line.contains("principals file not reloaded"))
    {
        assert!(
            started.elapsed() < DEADLINE,
            "the failed reload was never logged:\n{}",
            server.log().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    works(&kept, "kept token after a bad file").await;
    assert_unauthenticated(
        revoked
            .clone()
            .list_proposals(pb::ListProposalsRequest::default())
            .await,
        "revoked token after a bad file",
    );

    let mut health = HealthClient::new(channel.clone());
    let request = HealthCheckRequest {
        service: "proposal.v1.ProposalService".into(),
    };
    let status = health.check(request).await.unwrap().into_inner().status;
    assert_eq!(
        status,
        ServingStatus::Serving as i32,
        "health without credentials"
    );
    assert!(server.terminate().await.success());
}

// ---------------------------------------------------------------------------------------------
// 5. Exposure
// ---------------------------------------------------------------------------------------------

/// A fresh store for a server started by hand.
async fn fresh_store(temp: &tempfile::TempDir) -> Arc<SledStore> {
    let dir = temp.path().join("data");
    let store = tokio::task::spawn_blocking(move || SledStore::open(&dir, &SledOptions::default()))
        .await
        .unwrap()
        .expect("opening the store");
    Arc::new(store)
}

/// Why `serve()` refuses to listen on 0.0.0.0 with `options` (it must refuse at once).
async fn refusal_on_every_address(options: ServeOptions) -> String {
    let temp = tempfile::tempdir().unwrap();
    let store = fresh_store(&temp).await;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let served = tokio::time::timeout(
        DEADLINE,
        server::serve(store, listener, options, std::future::pending()),
    )
    .await
    .expect("a refused server returns at once");
    match served {
        Err(error @ ServeError::Refused(_)) => error.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn guarded_options(principals: &Path) -> ServeOptions {
    let path = principals.join("principals.json");
    write_atomically(&path, &principals_json(&EVERYONE));
    ServeOptions {
        authenticator: Arc::new(Authenticator::from_file(&path).unwrap()),
        ..ServeOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_address_needs_principals_and_tls_or_insecure() {
    let reason = refusal_on_every_address(ServeOptions::default()).await;
    assert!(reason.contains("principals"), "{reason}");

    let principals = tempfile::tempdir().unwrap();
    let reason = refusal_on_every_address(guarded_options(principals.path())).await;
    assert!(reason.contains("--insecure"), "{reason}");

    // With --insecure it serves, and callers still authenticate.
    let temp = tempfile::tempdir().unwrap();
    let store = fresh_store(&temp).await;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = ServeOptions {
        insecure: true,
        ..guarded_options(principals.path())
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(store, listener, options, async {
        let _ = stopped.await;
    }));
    let channel = connect(std::net::SocketAddr::from(([127, 0, 0, 1], port))).await;
    works(
        &client_as(&channel, AUDITOR.name),
        "an insecure exposed server",
    )
    .await;
    assert_unauthenticated(
        client_with(&channel, None)
            .list_proposals(pb::ListProposalsRequest::default())
            .await,
        "an insecure exposed server without credentials",
    );
    let _ = stop.send(());
    serving.await.unwrap().expect("served and stopped cleanly");
}

/// Starts the binary on `listen` with `args`; it must exit on its own with a failure status.
/// Returns everything it logged.
fn refused_binary(listen: &str, args: &[&str]) -> String {
    let (_temp, data_dir) = temp_data_dir();
    let (status, log) = match ServerProcess::start_listening(&data_dir, listen, args) {
        Started::Refused(status, log) => (status, log),
        Started::Running(server) => server
            .wait_for_exit(DEADLINE)
            .unwrap_or_else(|| panic!("proposal-server {listen} {args:?} kept running")),
    };
    let log = log.join("\n");
    assert!(!status.success(), "exited with {status}:\n{log}");
    log
}

#[test]
fn the_binary_refuses_a_non_loopback_address_without_principals_or_tls() {
    let log = refused_binary("0.0.0.0:0", &[]);
    assert!(log.contains("--principals"), "{log}");

    let principals = tempfile::tempdir().unwrap();
    let file = principals.path().join("principals.json");
    write_atomically(&file, &principals_json(&EVERYONE));
    let log = refused_binary("0.0.0.0:0", &["--principals", file.to_str().unwrap()]);
    assert!(log.contains("--insecure"), "{log}");
}

/// A principals file the server cannot use stops the start, naming the file and the reason
/// (the unit test in `src/auth/principals.rs` walks every reason, at start and at reload).
#[test]
fn the_binary_refuses_to_start_with_an_invalid_principals_file() {
    let files = tempfile::tempdir().unwrap();
    let missing = files.path().join("missing.json");
    let log = refused_binary("127.0.0.1:0", &["--principals", missing.to_str().unwrap()]);
    assert!(log.contains("missing.json"), "{log}");
    let file = files.path().join("principals.json");
    write_atomically(&file, r#"{"principals": [{"name": "u", "role": "unit"}]}"#);
    let log = refused_binary("127.0.0.1:0", &["--principals", file.to_str().unwrap()]);
    assert!(log.contains("principals.json"), "{log}");
    assert!(log.contains("needs the unit it acts for"), "{log}");
    assert!(!log.contains("proposal-server listening"), "{log}");
}

/// `main` logs "proposal-server listening" (the line that says the server is up, and that
/// supervisors and this harness wait for) before `serve()` checks the exposure rules, so a
/// refused start first announces itself as up. A refused start must not say it is listening.
#[test]
fn a_refused_binary_never_says_it_is_listening() {
    let log = refused_binary("0.0.0.0:0", &[]);
    assert!(
        !log.contains("proposal-server listening"),
        "the refused server announced itself as listening:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Local development: no principals file
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_principals_file_every_call_works_and_records_the_named_actor() {
    let server = TestServer::start().await;
    // No credentials at all.
    let client = client_with(&connect(server.addr).await, None);
    let mut c = client.clone();
    let mut p = c
        .receive_proposal(pb::ReceiveProposalRequest {
            actor: "提案委登记员".into(),
            ..receive(next_number())
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    // Every command once (a return, a rejected draft), each under its own actor.
    let steps: [(Rpc, &str); 9] = [
        (Rpc::Assign, "提案委登记员"),
        (Rpc::Return, "承办单位经办人"),
        (Rpc::Assign, "提案委登记员乙"),
        (Rpc::Draft, "承办单位经办人"),
        (Rpc::RejectDraft, "承办单位领导"),
        (Rpc::Draft, "承办单位经办人乙"),
        (Rpc::Sign, "承办单位领导"),
        (Rpc::Issue, "承办单位办公室"),
        (Rpc::Copy, "承办单位办公室乙"),
    ];
    for (rpc, actor) in steps {
        let actor = actor.to_owned();
        let answer = match rpc {
            Rpc::Assign => c
                .assign_proposal(pb::AssignProposalRequest {
                    actor,
                    ..assign(&p, UNIT_A)
                })
                .await
                .map(|r| r.into_inner().proposal),
            Rpc::Return => c
                .return_proposal(pb::ReturnProposalRequest {
                    actor,
                    ..return_(&p)
                })
                .await
                .map(|r| r.into_inner().proposal),
            Rpc::Draft => c
                .draft_reply(pb::DraftReplyRequest { actor, ..draft(&p) })
                .await
                .map(|r| r.into_inner().proposal),
            Rpc::RejectDraft => c
                .reject_draft(pb::RejectDraftRequest {
                    actor,
                    ..reject(&p)
                })
                .await
                .map(|r| r.into_inner().proposal),
            Rpc::Sign => c
                .sign_reply(pb::SignReplyRequest { actor, ..sign(&p) })
                .await
                .map(|r| r.into_inner().proposal),
            Rpc::Issue => c
                .issue_reply(pb::IssueReplyRequest { actor, ..issue(&p) })
                .await
                .map(|r| r.into_inner().proposal),
            Rpc::Copy => c
                .copy_reply(pb::CopyReplyRequest { actor, ..copy(&p) })
                .await
                .map(|r| r.into_inner().proposal),
            other => unreachable!("{other:?}"),
        };
        p = answer.unwrap_or_else(|s| panic!("{rpc:?}: {s:?}")).unwrap();
    }
    assert_eq!(p.state(), State::Copied);
    // Every read, VerifyHistory included.
    for rpc in [
        Rpc::Get,
        Rpc::List,
        Rpc::History,
        Rpc::ListEvents,
        Rpc::Verify,
        Rpc::Render,
    ] {
        invoke(&client, rpc, Some(&p))
            .await
            .unwrap_or_else(|s| panic!("{rpc:?}: {s:?}"));
    }
    let mut stream = c
        .watch_events(watch_request(""))
        .await
        .unwrap()
        .into_inner();
    let first = next_event(&mut stream, "WatchEvents").await;
    assert_eq!(
        (first.proposal_id.as_str(), first.sequence),
        (p.id.as_str(), 1)
    );

    let actors: Vec<String> = whole_log(&client)
        .await
        .into_iter()
        .map(|e| e.actor)
        .collect();
    let mut expected = vec!["提案委登记员".to_owned()];
    expected.extend(steps.iter().map(|(_, actor)| actor.to_string()));
    assert_eq!(actors, expected);
}

/// Local development mode must not go unnoticed: the binary's first log line says that every
/// caller is the local admin; with a principals file it says who may call instead.
#[tokio::test]
async fn the_first_log_line_names_the_authentication_mode() {
    let (_temp, data_dir) = temp_data_dir();
    let mut server = ServerProcess::expect_start(&data_dir);
    let first = server.log().first().cloned().unwrap_or_default();
    assert!(
        first.contains("no principals file") && first.contains("local admin"),
        "{first}"
    );
    server.terminate().await;
}
