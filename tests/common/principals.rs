//! Principals and credentials for the authorization tests: the roles and members of a
//! principals file, clients that carry a bearer token, a server whose callers must
//! authenticate ([`Guarded`]), every RPC ([`Rpc`]) made as a given caller ([`invoke`]), and the
//! reads the tests compare before and after.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proposal_service::auth::Authenticator;
use proposal_service::domain::Rules;
use proposal_service::pb;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use proposal_service::server::ServeOptions;
use sha2::{Digest, Sha256};
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status, Streaming};

use super::lifecycle::{self, Command, State};
use super::reads;
use super::requests::{self as rq, CommandFields, CommandRequest, next_number};
use super::{TestServer, wait_until_serving};

/// The unit the matrix's proposals are assigned to ("own unit" for its principals).
pub const UNIT_A: &str = "许昌市生态环境局";
/// Another handling unit ("other unit").
pub const UNIT_B: &str = "许昌市教育局";

/// How long a stream message or a reload may take before the test gives up.
pub const DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Principals
// ---------------------------------------------------------------------------------------------

/// The roles of the principals file, as the test knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Registrar,
    Unit,
    Signer,
    Office,
    Auditor,
    Admin,
    /// A member under her own name: the kit's proposals are all hers (苏会兴's).
    Proposer,
}

impl Role {
    /// The matrix's column order.
    const COLUMNS: [Role; 7] = [
        Role::Registrar,
        Role::Unit,
        Role::Signer,
        Role::Office,
        Role::Auditor,
        Role::Admin,
        Role::Proposer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Registrar => "registrar",
            Role::Unit => "unit",
            Role::Signer => "signer",
            Role::Office => "office",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Proposer => "proposer",
        }
    }

    pub fn column(self) -> usize {
        Role::COLUMNS.iter().position(|r| *r == self).unwrap()
    }
}

/// One entry of the principals file.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    pub name: &'static str,
    pub role: Role,
    pub unit: Option<&'static str>,
}

pub const fn member(name: &'static str, role: Role, unit: Option<&'static str>) -> Member {
    Member { name, role, unit }
}

pub const REGISTRAR: Member = member("reg", Role::Registrar, None);
/// A second registrar, for idempotency keys scoped per principal.
pub const REGISTRAR_2: Member = member("reg-2", Role::Registrar, None);
pub const AUDITOR: Member = member("auditor", Role::Auditor, None);
pub const ADMIN: Member = member("admin", Role::Admin, None);
pub const UNIT_A_CLERK: Member = member("eco-unit", Role::Unit, Some(UNIT_A));
pub const UNIT_A_SIGNER: Member = member("eco-signer", Role::Signer, Some(UNIT_A));
pub const UNIT_A_OFFICE: Member = member("eco-office", Role::Office, Some(UNIT_A));
pub const UNIT_B_CLERK: Member = member("edu-unit", Role::Unit, Some(UNIT_B));
pub const UNIT_B_SIGNER: Member = member("edu-signer", Role::Signer, Some(UNIT_B));
pub const UNIT_B_OFFICE: Member = member("edu-office", Role::Office, Some(UNIT_B));
/// The seed proposal's proposer, signed in as herself.
pub const PROPOSER: Member = member("苏会兴", Role::Proposer, None);

/// Everyone in the test's principals file.
pub const EVERYONE: [Member; 11] = [
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
    PROPOSER,
];

/// The principals the matrix calls as: one per role, and the unit-bound roles for both units.
pub const CALLERS: [Member; 10] = [
    REGISTRAR,
    UNIT_A_CLERK,
    UNIT_B_CLERK,
    UNIT_A_SIGNER,
    UNIT_B_SIGNER,
    UNIT_A_OFFICE,
    UNIT_B_OFFICE,
    AUDITOR,
    ADMIN,
    PROPOSER,
];

pub const UNIT_A_MEMBERS: [Member; 3] = [UNIT_A_CLERK, UNIT_A_SIGNER, UNIT_A_OFFICE];
pub const UNIT_B_MEMBERS: [Member; 3] = [UNIT_B_CLERK, UNIT_B_SIGNER, UNIT_B_OFFICE];

/// A principal's bearer token (the file stores only its SHA-256).
pub fn token(name: &str) -> String {
    // Metadata is ASCII: a name in Chinese (a proposer's) goes in as its UTF-8 bytes' hex.
    if name.is_ascii() {
        format!("token-of-{name}")
    } else {
        let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
        format!("token-of-{hex}")
    }
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A principals file listing `members`, each with its token's hash.
pub fn principals_json(members: &[Member]) -> String {
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
pub fn write_atomically(path: &Path, text: &str) {
    let staging = path.with_extension("staging");
    std::fs::write(&staging, text).unwrap();
    std::fs::rename(&staging, path).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Clients that carry credentials
// ---------------------------------------------------------------------------------------------

/// Puts a fixed `authorization` value (or none) on every request.
#[derive(Clone)]
pub struct Credentials(Option<AsciiMetadataValue>);

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

pub type AuthClient = ProposalServiceClient<InterceptedService<Channel, Credentials>>;

/// A client sending `authorization: <header>` (nothing when `None`).
pub fn client_with(channel: &Channel, header: Option<&str>) -> AuthClient {
    let value = header.map(|h| h.parse().expect("an ASCII header value"));
    ProposalServiceClient::with_interceptor(channel.clone(), Credentials(value))
}

/// A client authenticated as `name`.
pub fn client_as(channel: &Channel, name: &str) -> AuthClient {
    client_with(channel, Some(&format!("Bearer {}", token(name))))
}

pub async fn connect(addr: std::net::SocketAddr) -> Channel {
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
pub struct Guarded {
    _server: TestServer,
    pub channel: Channel,
    clients: HashMap<&'static str, AuthClient>,
    _principals: tempfile::TempDir,
}

impl Guarded {
    pub async fn start() -> Self {
        Self::start_with(Rules::default()).await
    }

    /// As [`Guarded::start`], the server deciding under `rules`.
    pub async fn start_with(rules: Rules) -> Self {
        let principals = tempfile::tempdir().unwrap();
        let path = principals.path().join("principals.json");
        write_atomically(&path, &principals_json(&EVERYONE));
        let authenticator = Authenticator::from_file(&path).expect("the test's principals file");
        let server = TestServer::start_with(ServeOptions {
            authenticator: Arc::new(authenticator),
            rules,
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

    pub fn client(&self, member: Member) -> AuthClient {
        self.clients[member.name].clone()
    }

    pub fn admin(&self) -> AuthClient {
        self.client(ADMIN)
    }
}

/// Receives a proposal as `client` (the caller's principal as actor) and drives it forward to
/// `state`, assigning it to `unit`.
pub async fn drive(client: &AuthClient, unit: &str, state: State) -> pb::Proposal {
    drive_led(client, unit, &[], state).await
}

/// As [`drive`], with `co_units` co-handling under `lead` (a state past ASSIGNED needs their
/// opinions first: leave them out).
pub async fn drive_led(
    client: &AuthClient,
    lead: &str,
    co_units: &[&str],
    state: State,
) -> pb::Proposal {
    let receive = rq::receive(next_number()).by("");
    lifecycle::drive_from(&mut client.clone(), receive, state, |command, p| {
        match command {
            Command::Assign => pb::AssignProposalRequest {
                co_units: co_units.iter().map(|u| u.to_string()).collect(),
                ..rq::assign_to(p, lead)
            }
            .into(),
            command => CommandRequest::valid(command, p),
        }
        .by("")
    })
    .await
}

/// Every event `client` may list with `handling_unit` as the filter, all pages.
pub async fn listed_events(
    client: &AuthClient,
    handling_unit: &str,
) -> Result<Vec<pb::ProposalEvent>, Status> {
    let request = pb::ListEventsRequest {
        handling_unit: handling_unit.into(),
        page_size: 1000,
        ..Default::default()
    };
    Ok(reads::event_pages(client, request).await?.concat())
}

/// Every proposal `client` may list with `handling_unit` as the filter, all pages.
pub async fn listed_proposals(
    client: &AuthClient,
    handling_unit: &str,
) -> Result<Vec<pb::Proposal>, Status> {
    let request = pb::ListProposalsRequest {
        handling_unit: handling_unit.into(),
        page_size: 1000,
        ..Default::default()
    };
    Ok(reads::proposal_pages(client, request).await?.concat())
}

/// Fails unless `client` may list proposals.
pub async fn works(client: &AuthClient, what: &str) {
    client
        .clone()
        .list_proposals(pb::ListProposalsRequest::default())
        .await
        .unwrap_or_else(|s| panic!("{what}: {s:?}"));
}

/// The next message of a watch stream, within [`DEADLINE`].
pub async fn next_event(
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
// Every RPC, made as a caller
// ---------------------------------------------------------------------------------------------

/// Every RPC of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rpc {
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
    Merge,
    RecordFeedback,
    Close,
    SetKey,
    Reopen,
    Statistics,
    Get,
    List,
    History,
    ListEvents,
    Watch,
    Verify,
    Render,
    Rules,
}

impl Rpc {
    /// The command the RPC is, if it changes a proposal.
    pub fn command(self) -> Option<Command> {
        match self {
            Rpc::Receive => Some(Command::Receive),
            Rpc::Assign => Some(Command::Assign),
            Rpc::Return => Some(Command::Return),
            Rpc::Draft => Some(Command::Draft),
            Rpc::RejectDraft => Some(Command::RejectDraft),
            Rpc::Sign => Some(Command::Sign),
            Rpc::Issue => Some(Command::Issue),
            Rpc::Copy => Some(Command::Copy),
            Rpc::Refuse => Some(Command::Refuse),
            Rpc::Acknowledge => Some(Command::Acknowledge),
            Rpc::Contact => Some(Command::Contact),
            Rpc::RequestExtension => Some(Command::RequestExtension),
            Rpc::DecideExtension => Some(Command::DecideExtension),
            Rpc::RequestReturn => Some(Command::RequestReturn),
            Rpc::DecideReturn => Some(Command::DecideReturn),
            Rpc::SubmitOpinion => Some(Command::SubmitOpinion),
            Rpc::Merge => Some(Command::Merge),
            Rpc::RecordFeedback => Some(Command::RecordFeedback),
            Rpc::Close => Some(Command::Close),
            Rpc::SetKey => Some(Command::SetKey),
            Rpc::Reopen => Some(Command::Reopen),
            Rpc::Statistics
            | Rpc::Get
            | Rpc::List
            | Rpc::History
            | Rpc::ListEvents
            | Rpc::Watch
            | Rpc::Verify
            | Rpc::Render
            | Rpc::Rules => None,
        }
    }

    pub fn is_command(self) -> bool {
        self.command().is_some()
    }

    /// The state of the (unit A) proposal the call acts on or reads, if it names one: for a
    /// command, the first state the lifecycle allows it in.
    pub fn target_state(self) -> Option<State> {
        match self {
            Rpc::List
            | Rpc::ListEvents
            | Rpc::Watch
            | Rpc::Verify
            | Rpc::Rules
            | Rpc::Statistics => None,
            // RenderReply needs an issued reply; reads never change it, so one serves all.
            Rpc::Get | Rpc::History | Rpc::Render => Some(State::Copied),
            command => command.command().and_then(Command::usual_state),
        }
    }
}

/// Makes `rpc` as `client` on `target` (or on nothing); a command returns the proposal after it.
pub async fn invoke(
    client: &AuthClient,
    rpc: Rpc,
    target: Option<&pb::Proposal>,
) -> Result<Option<pb::Proposal>, Status> {
    let mut c = client.clone();
    let p = || target.expect("the call needs a proposal");
    let id = || p().id.clone();
    if let Some(command) = rpc.command() {
        // The caller's own principal is the actor: the requests name none.
        let request = match command {
            Command::Receive => rq::receive(next_number()).into(),
            command => CommandRequest::valid(command, p()),
        };
        let proposal = request.by("").send(&mut c).await?;
        return Ok(Some(proposal.expect("a command returns the proposal")));
    }
    match rpc {
        Rpc::Get => {
            let request = pb::GetProposalRequest {
                proposal_id: id(),
                ..Default::default()
            };
            let proposal = c.get_proposal(request).await?.into_inner().proposal;
            assert_eq!(proposal.map(|p| p.id), Some(id()));
        }
        Rpc::List => {
            c.list_proposals(pb::ListProposalsRequest::default())
                .await?;
        }
        Rpc::History => {
            let request = pb::GetProposalHistoryRequest {
                proposal_id: id(),
                page_size: 0,
                page_token: String::new(),
            };
            let events = c.get_proposal_history(request).await?.into_inner().events;
            assert!(!events.is_empty(), "a proposal has a history");
        }
        Rpc::ListEvents => {
            c.list_events(pb::ListEventsRequest::default()).await?;
        }
        Rpc::Watch => {
            // Opening the stream is the call; its contents are checked by the narrowing test.
            c.watch_events(rq::watch("")).await?;
        }
        Rpc::Verify => {
            let report = c
                .verify_history(pb::VerifyHistoryRequest {})
                .await?
                .into_inner();
            assert!(report.ok, "{report:?}");
        }
        Rpc::Render => {
            let request = pb::RenderReplyRequest {
                round: 0,
                proposal_id: id(),
                handling_unit: String::new(),
            };
            let rendered = c.render_reply(request).await?.into_inner();
            assert_eq!(rendered.document_number, rq::issue(p()).document_number);
        }
        Rpc::Rules => {
            let rules = c.get_rules(pb::GetRulesRequest {}).await?.into_inner();
            assert!(rules.rules.is_some(), "{rules:?}");
        }
        Rpc::Statistics => {
            let request = pb::GetStatisticsRequest {
                committee: rq::SEED.committee.clone(),
                session: rq::SEED.session.clone(),
                ..Default::default()
            };
            let figures = c.get_statistics(request).await?.into_inner();
            assert!(figures.totals.is_some(), "{figures:?}");
        }
        command => unreachable!("{command:?} is a command"),
    }
    Ok(None)
}
