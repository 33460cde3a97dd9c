//! Acknowledged means durable, on the real binary. `proposal-server` runs as a child process
//! while concurrent clients (each with its own connection) drive full lifecycles, every call
//! with a request id and the expected version, and record every answer. The server is killed
//! with SIGKILL at a random moment. While it is down the test opens the data directory itself
//! and checks the store against everything the clients were told: `verify()` finds no problem,
//! every acknowledged transition is in its history at exactly the acknowledged version, every
//! proposal is at its last acknowledged version or at most the one unanswered call beyond it,
//! no position and no request id appears twice, and no event is there that nobody asked for.
//! Then the server restarts on the same directory and the clients go on, first retrying the
//! call the kill left without an answer with the same request id and the same content: it
//! returns the original result if it had been applied, applies now if not, and never appends
//! twice.
//!
//! `PROPOSAL_CRASH_CYCLES` sets the number of kills (default 3). The random choices (kill
//! delays, which lifecycles take a backward move) come from a seed printed at the start;
//! `PROPOSAL_CRASH_SEED=<seed>` replays them (the interleaving of the clients cannot be
//! replayed, so a replay reproduces the schedule, not the exact moment of each kill).

mod common;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Client;
use common::process::{ServerProcess, temp_data_dir};
use proposal_service::domain::{EventKind, ProposalId, ProposalState, RecordedEvent};
use proposal_service::pb;
use proposal_service::store::{SledOptions, SledStore, View, request_key};
use tokio::sync::watch;
use tonic::{Code, Status};

/// Concurrent clients, each with its own connection and its own proposals.
const CLIENTS: usize = 8;
/// How long the clients run before each kill: a random delay in this range, in milliseconds.
const LOAD_MS: (u64, u64) = (30, 400);
/// A call, a connection attempt or a server start that takes longer than this is a hang.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the test waits for every client to notice a kill, and to finish at the end.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the clients keep going on the last server before they are stopped.
const FINAL_LOAD: Duration = Duration::from_millis(300);
/// A bound on the calls of one client, far above what a run makes.
const MAX_CALLS_PER_CLIENT: u64 = 1_000_000;

const COMMITTEE: &str = "许昌市政协";
const SESSION: &str = "七届三次会议";
const UNITS: [&str; 3] = ["许昌市生态环境局", "许昌市教育局", "许昌市交通运输局"];
const REGISTRAR: &str = "提案委登记员";
const CLERK: &str = "承办单位经办人";
const LEADER: &str = "承办单位领导";
const OFFICE: &str = "承办单位办公室";

// ---------------------------------------------------------------------------------------------
// A small seeded PRNG (SplitMix64), so that a failing run's choices can be replayed
// ---------------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a number")))
}

// ---------------------------------------------------------------------------------------------
// The calls the clients make
// ---------------------------------------------------------------------------------------------

/// One mutating call of a lifecycle, with what makes its content unique.
#[derive(Clone, Debug)]
enum Step {
    Receive { number: u32 },
    Assign { unit: &'static str },
    Return,
    Draft { draft: u32 },
    RejectDraft,
    Sign,
    Issue { document_number: String },
    Copy,
}

impl Step {
    /// Who performs the step (each role its own actor, as in a real office).
    fn actor(&self) -> &'static str {
        match self {
            Step::Receive { .. } | Step::Assign { .. } => REGISTRAR,
            Step::Return | Step::Draft { .. } => CLERK,
            Step::RejectDraft | Step::Sign => LEADER,
            Step::Issue { .. } | Step::Copy => OFFICE,
        }
    }

    /// The event the step records.
    fn kind(&self) -> EventKind {
        match self {
            Self::Receive { .. } => EventKind::ProposalReceived,
            Self::Assign { .. } => EventKind::ProposalAssigned,
            Self::Return => EventKind::ProposalReturned,
            Self::Draft { .. } => EventKind::ReplyDrafted,
            Self::RejectDraft => EventKind::DraftRejected,
            Self::Sign => EventKind::ReplySigned,
            Self::Issue { .. } => EventKind::ReplyIssued,
            Self::Copy => EventKind::ReplyCopied,
        }
    }

    /// The state the step leads to.
    fn target(&self) -> ProposalState {
        match self {
            Self::Receive { .. } | Self::Return => ProposalState::Received,
            Self::Assign { .. } | Self::RejectDraft => ProposalState::Assigned,
            Self::Draft { .. } => ProposalState::Drafted,
            Self::Sign => ProposalState::Signed,
            Self::Issue { .. } => ProposalState::Issued,
            Self::Copy => ProposalState::Copied,
        }
    }
}

/// The steps of one proposal's life: forward to COPIED, sometimes with a return, a revised
/// draft or a rejected draft on the way.
fn lifecycle(rng: &mut Rng, number: u32) -> Vec<Step> {
    let unit = UNITS[rng.between(0, 2) as usize];
    let mut steps = vec![Step::Receive { number }, Step::Assign { unit }];
    if rng.one_in(5) {
        let other = UNITS[rng.between(0, 2) as usize];
        steps.extend([Step::Return, Step::Assign { unit: other }]);
    }
    steps.push(Step::Draft { draft: 1 });
    if rng.one_in(5) {
        steps.push(Step::Draft { draft: 2 });
    }
    if rng.one_in(5) {
        steps.extend([Step::RejectDraft, Step::Draft { draft: 3 }]);
    }
    steps.extend([
        Step::Sign,
        Step::Issue {
            document_number: format!("许环〔2019〕{number}号"),
        },
        Step::Copy,
    ]);
    steps
}

/// One call as sent: retried with exactly this content (request id included) until answered.
#[derive(Clone, Debug)]
struct Call {
    request_id: String,
    step: Step,
    /// `None` for a receive.
    proposal: Option<ProposalId>,
    /// The proposal's version before the call (0 for a receive).
    expected_version: u64,
    /// What the check after the last kill found: `Some(true)` if the call had been applied.
    found_applied: Option<bool>,
    /// How many times a kill left this call without an answer.
    interrupted: u32,
}

impl Call {
    fn describe(&self) -> String {
        let proposal = self
            .proposal
            .map_or_else(|| "new".to_owned(), |p| p.to_string());
        format!(
            "{:?} of proposal {proposal} at version {} (request id {})",
            self.step, self.expected_version, self.request_id
        )
    }
}

fn pb_state(state: ProposalState) -> i32 {
    let state = match state {
        ProposalState::Received => pb::ProposalState::Received,
        ProposalState::Assigned => pb::ProposalState::Assigned,
        ProposalState::Drafted => pb::ProposalState::Drafted,
        ProposalState::Signed => pb::ProposalState::Signed,
        ProposalState::Issued => pb::ProposalState::Issued,
        ProposalState::Copied => pb::ProposalState::Copied,
    };
    state as i32
}

/// Sends the call as its RPC; `Ok(None)` if the response lacks the proposal.
async fn send(client: &Client, call: &Call) -> Result<Option<pb::Proposal>, Status> {
    let mut client = client.clone();
    let proposal_id = call.proposal.map(|p| p.to_string()).unwrap_or_default();
    let expected_version = Some(call.expected_version);
    let request_id = call.request_id.clone();
    let proposal = match &call.step {
        Step::Receive { number } => {
            let request = pb::ReceiveProposalRequest {
                committee: COMMITTEE.into(),
                session: SESSION.into(),
                number: *number,
                title: format!("关于加强第{number}号片区环境治理的提案"),
                proposers: vec!["苏会兴".into(), "李光亚".into()],
                content: format!("第{number}号片区的污染问题应当尽快治理。\n建议：加强监测。"),
                request_id,
                actor: REGISTRAR.into(),
            };
            client
                .receive_proposal(request)
                .await?
                .into_inner()
                .proposal
        }
        Step::Assign { unit } => {
            let request = pb::AssignProposalRequest {
                proposal_id,
                handling_unit: (*unit).into(),
                due_date: "2019-08-31".into(),
                expected_version,
                request_id,
                actor: REGISTRAR.into(),
            };
            client.assign_proposal(request).await?.into_inner().proposal
        }
        Step::Return => {
            let request = pb::ReturnProposalRequest {
                proposal_id,
                reason: "不属于本单位职责范围。".into(),
                expected_version,
                request_id,
                actor: CLERK.into(),
            };
            client.return_proposal(request).await?.into_inner().proposal
        }
        Step::Draft { draft } => {
            let request = pb::DraftReplyRequest {
                proposal_id,
                reply: Some(pb::Reply {
                    body: format!("第{draft}稿：我局高度重视，已会同有关部门加强治理。"),
                    result_code: pb::ResultCode::A as i32,
                    contact_unit: "许昌市生态环境局综合科".into(),
                    contact_phone: "0374-2961234".into(),
                }),
                expected_version,
                request_id,
                actor: CLERK.into(),
            };
            client.draft_reply(request).await?.into_inner().proposal
        }
        Step::RejectDraft => {
            let request = pb::RejectDraftRequest {
                proposal_id,
                reason: "答复内容不够具体，请补充治理时间表。".into(),
                expected_version,
                request_id,
                actor: LEADER.into(),
            };
            client.reject_draft(request).await?.into_inner().proposal
        }
        Step::Sign => {
            let request = pb::SignReplyRequest {
                proposal_id,
                signer: "李光亚".into(),
                expected_version,
                request_id,
                actor: LEADER.into(),
            };
            client.sign_reply(request).await?.into_inner().proposal
        }
        Step::Issue { document_number } => {
            let request = pb::IssueReplyRequest {
                proposal_id,
                document_number: document_number.clone(),
                issue_date: "2019-09-29".into(),
                issuing_office: "许昌市生态环境局办公室".into(),
                expected_version,
                request_id,
                actor: OFFICE.into(),
            };
            client.issue_reply(request).await?.into_inner().proposal
        }
        Step::Copy => {
            let request = pb::CopyReplyRequest {
                proposal_id,
                recipients: vec!["市政协提案委".into(), "市政府督查室".into()],
                expected_version,
                request_id,
                actor: OFFICE.into(),
            };
            client.copy_reply(request).await?.into_inner().proposal
        }
    };
    Ok(proposal)
}

/// Whether an error can be the kill's doing: the transport failed (the status was made on this
/// side, with the underlying error as its source) or the call never got a server's answer.
/// A status the server sent (ABORTED, INVALID_ARGUMENT, INTERNAL, ...) is an answer, never this.
fn unknown_outcome(status: &Status) -> bool {
    std::error::Error::source(status).is_some()
        || matches!(
            status.code(),
            Code::Unavailable | Code::Unknown | Code::Cancelled
        )
}

/// Checks a response against the call: the right proposal, one version further, the step's
/// target state. Returns the proposal's id.
fn check_response(call: &Call, proposal: &pb::Proposal) -> Result<ProposalId, String> {
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
    if proposal.state != pb_state(call.step.target()) {
        wrong.push(format!("state {}", proposal.state));
    }
    if let Step::Receive { number } = call.step
        && proposal.number != number
    {
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

// ---------------------------------------------------------------------------------------------
// What the clients were told, shared with the test's checks
// ---------------------------------------------------------------------------------------------

/// One acknowledged transition: the call got OK with this version and state.
#[derive(Clone, Debug)]
struct Ack {
    request_id: String,
    proposal: ProposalId,
    version: u64,
    kind: EventKind,
    state: ProposalState,
}

/// What one client shares with the test.
#[derive(Default)]
struct Slot {
    acks: Mutex<Vec<Ack>>,
    /// The call a kill left without an answer, while the client waits for the next server.
    pending: Mutex<Option<Call>>,
    /// The last server (epoch) whose kill this client has noticed; it then makes no call until
    /// a newer server is published.
    parked: AtomicU64,
    /// The client has finished (stopped, or failed and reported why).
    done: AtomicBool,
    interrupted: AtomicU64,
    retried: AtomicU64,
    already_applied: AtomicU64,
}

struct Shared {
    seed: u64,
    slots: Vec<Slot>,
    /// Every server up to this epoch has been killed (set just before SIGKILL is sent).
    killed: AtomicU64,
    /// Set on the last server: finish the call at hand (and any retry), start no new one.
    stop: AtomicBool,
    failures: Mutex<Vec<String>>,
}

impl Shared {
    fn fail_if_any(&self) {
        let failures = self.failures.lock().unwrap();
        assert!(
            failures.is_empty(),
            "seed {:#x} (replay with PROPOSAL_CRASH_SEED={:#x}):\n{}",
            self.seed,
            self.seed,
            failures.join("\n")
        );
    }
}

/// One server's life: its number and where it listens.
#[derive(Clone, Copy, Debug)]
struct Epoch {
    number: u64,
    addr: SocketAddr,
}

// ---------------------------------------------------------------------------------------------
// A client
// ---------------------------------------------------------------------------------------------

/// Marks the client done however its task ends, a panic included.
struct DoneOnDrop(Arc<Shared>, usize);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0
                .failures
                .lock()
                .map(|mut f| f.push(format!("client {} panicked", self.1)))
                .ok();
        }
        self.0.slots[self.1].done.store(true, Ordering::SeqCst);
    }
}

async fn client(shared: Arc<Shared>, index: usize, epochs: watch::Receiver<Option<Epoch>>) {
    let _done = DoneOnDrop(shared.clone(), index);
    if let Err(failure) = client_loop(&shared, index, epochs).await {
        shared
            .failures
            .lock()
            .unwrap()
            .push(format!("client {index}: {failure}"));
    }
}

async fn connect(addr: SocketAddr) -> Result<Client, tonic::transport::Error> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await?;
    Ok(Client::new(channel))
}

async fn client_loop(
    shared: &Shared,
    index: usize,
    mut epochs: watch::Receiver<Option<Epoch>>,
) -> Result<(), String> {
    let slot = &shared.slots[index];
    let mut rng = Rng(shared.seed ^ (index as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
    let mut plan: VecDeque<Step> = VecDeque::new();
    // The proposal this client drives now and its version as last acknowledged.
    let mut current: Option<(ProposalId, u64)> = None;
    let mut proposals = 0u32;
    let mut calls = 0u64;
    let mut seen = 0u64;
    // Bounded: each turn waits (at most 2 × SETTLE_TIMEOUT) for a strictly newer server, and
    // the test publishes cycles + 1 of them; each server's turn is bounded by the call count.
    'servers: loop {
        // The borrow of the watched value ends with this statement (it must not be held).
        let epoch: Epoch = tokio::time::timeout(
            SETTLE_TIMEOUT * 2,
            epochs.wait_for(|e| e.is_some_and(|e| e.number > seen)),
        )
        .await
        .map_err(|_| format!("no server after epoch {seen}"))?
        .map_err(|_| "the test stopped publishing servers".to_owned())?
        .expect("waited for a server");
        seen = epoch.number;
        let killed = || shared.killed.load(Ordering::SeqCst) >= epoch.number;
        let client = match tokio::time::timeout(CALL_TIMEOUT, connect(epoch.addr)).await {
            Ok(Ok(client)) => client,
            Ok(Err(_)) if killed() => {
                slot.parked.store(epoch.number, Ordering::SeqCst);
                continue 'servers;
            }
            Ok(Err(e)) => return Err(format!("connecting to server {}: {e:?}", epoch.number)),
            Err(_) => return Err(format!("connecting to server {} hung", epoch.number)),
        };
        loop {
            let pending = slot.pending.lock().unwrap().take();
            let call = match pending {
                Some(call) => call,
                None => {
                    if shared.stop.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    calls += 1;
                    if calls > MAX_CALLS_PER_CLIENT {
                        return Err(format!("more than {MAX_CALLS_PER_CLIENT} calls"));
                    }
                    if plan.is_empty() {
                        proposals += 1;
                        let number = (index as u32 + 1) * 100_000 + proposals;
                        plan.extend(lifecycle(&mut rng, number));
                        current = None;
                    }
                    Call {
                        request_id: format!("crash-{:x}-c{index}-{calls}", shared.seed),
                        step: plan.pop_front().expect("a lifecycle has steps"),
                        proposal: current.map(|(id, _)| id),
                        expected_version: current.map_or(0, |(_, version)| version),
                        found_applied: None,
                        interrupted: 0,
                    }
                }
            };
            let answer = tokio::time::timeout(CALL_TIMEOUT, send(&client, &call)).await;
            match answer {
                Err(_) => {
                    return Err(format!(
                        "{} got no answer within {CALL_TIMEOUT:?}",
                        call.describe()
                    ));
                }
                Ok(Ok(Some(proposal))) => {
                    let id = check_response(&call, &proposal)?;
                    slot.acks.lock().unwrap().push(Ack {
                        request_id: call.request_id.clone(),
                        proposal: id,
                        version: proposal.version,
                        kind: call.step.kind(),
                        state: call.step.target(),
                    });
                    current = Some((id, proposal.version));
                    if call.interrupted > 0 {
                        slot.retried.fetch_add(1, Ordering::SeqCst);
                        if call.found_applied == Some(true) {
                            slot.already_applied.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                Ok(Ok(None)) => return Err(format!("{}: no proposal in the OK", call.describe())),
                Ok(Err(status)) if killed() && unknown_outcome(&status) => {
                    let mut call = call;
                    call.interrupted += 1;
                    slot.interrupted.fetch_add(1, Ordering::SeqCst);
                    *slot.pending.lock().unwrap() = Some(call);
                    slot.parked.store(epoch.number, Ordering::SeqCst);
                    continue 'servers;
                }
                Ok(Err(status)) => {
                    return Err(format!(
                        "{} on server {} (killed: {}) failed: {status:?}",
                        call.describe(),
                        epoch.number,
                        killed()
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The check while the server is down
// ---------------------------------------------------------------------------------------------

/// What a check of the stopped server's directory found.
struct Checked {
    events: u64,
    proposals: u64,
    /// Unanswered calls found applied / found not applied.
    applied: u64,
    not_applied: u64,
}

/// Opens the directory the server left and checks it against what the clients were told.
/// Records in each pending call whether it had been applied. Every problem found is returned.
fn check_directory(dir: &Path, shared: &Shared) -> Result<Checked, Vec<String>> {
    let store = SledStore::open(dir, &SledOptions::default())
        .map_err(|e| vec![format!("the directory does not open: {e}")])?;
    let mut problems = Vec::new();
    let verification = store
        .verify()
        .map_err(|e| vec![format!("verify failed to read the store: {e}")])?;
    problems.extend(verification.problems.iter().map(|p| format!("verify: {p}")));

    let mut histories: HashMap<ProposalId, Vec<RecordedEvent>> = HashMap::new();
    let mut history = |id: ProposalId| -> Result<Vec<RecordedEvent>, String> {
        if let Some(events) = histories.get(&id) {
            return Ok(events.clone());
        }
        let events: Vec<RecordedEvent> = store
            .history(id, 0, usize::MAX)
            .map_err(|e| format!("reading the history of {id}: {e}"))?
            .into_iter()
            .map(|logged| logged.event)
            .collect();
        histories.insert(id, events.clone());
        Ok(events)
    };

    // Every acknowledged transition is in its history at exactly the acknowledged version.
    let acks: Vec<Ack> = shared
        .slots
        .iter()
        .flat_map(|s| s.acks.lock().unwrap().clone())
        .collect();
    // The last acknowledged version and state of every proposal a client was told about.
    let mut last: HashMap<ProposalId, (u64, ProposalState)> = HashMap::new();
    // Every request id that may appear in the store: acknowledged, or found applied below.
    let mut explained: HashSet<String> = HashSet::new();
    for ack in &acks {
        let events = history(ack.proposal).map_err(|e| vec![e])?;
        match events.get(ack.version as usize - 1) {
            None => problems.push(format!(
                "LOST: {:?} of proposal {} was acknowledged at version {} (request id {}), but its history has {} events",
                ack.kind,
                ack.proposal,
                ack.version,
                ack.request_id,
                events.len()
            )),
            Some(event) => {
                let found = (event.sequence, event.data.kind(), event.request_id.as_deref(), event.to_state);
                let want = (ack.version, ack.kind, Some(ack.request_id.as_str()), ack.state);
                if found != want {
                    problems.push(format!(
                        "proposal {} at version {}: acknowledged {want:?}, stored {found:?}",
                        ack.proposal, ack.version
                    ));
                }
            }
        }
        // Idempotency records are kept per actor: the one recorded on the acknowledged event.
        let actor = events
            .get(ack.version as usize - 1)
            .map_or("", |event| event.actor.as_str());
        match store.request(&request_key(actor, &ack.request_id)) {
            Ok(Some(record))
                if (record.proposal_id, record.version) == (ack.proposal, ack.version) => {}
            other => problems.push(format!(
                "request {} was acknowledged as version {} of {}, its record is {other:?}",
                ack.request_id, ack.version, ack.proposal
            )),
        }
        if !explained.insert(ack.request_id.clone()) {
            problems.push(format!("request {} was acknowledged twice", ack.request_id));
        }
        let entry = last.entry(ack.proposal).or_insert((0, ack.state));
        if ack.version > entry.0 {
            *entry = (ack.version, ack.state);
        }
    }

    // Each unanswered call was applied or not, as a whole: if applied, exactly one version
    // beyond the last acknowledged, as the right event.
    let mut beyond: HashMap<ProposalId, (u64, ProposalState)> = HashMap::new();
    let (mut applied, mut not_applied) = (0, 0);
    for slot in &shared.slots {
        let mut pending = slot.pending.lock().unwrap();
        let Some(call) = pending.as_mut() else {
            continue;
        };
        let record = store
            .request(&request_key(call.step.actor(), &call.request_id))
            .map_err(|e| vec![format!("reading request {}: {e}", call.request_id)])?;
        let Some(record) = record else {
            call.found_applied = Some(false);
            not_applied += 1;
            continue;
        };
        call.found_applied = Some(true);
        applied += 1;
        explained.insert(call.request_id.clone());
        if call.proposal.is_some_and(|id| id != record.proposal_id)
            || record.version != call.expected_version + 1
        {
            problems.push(format!(
                "unanswered {} is recorded as version {} of {}",
                call.describe(),
                record.version,
                record.proposal_id
            ));
            continue;
        }
        let events = history(record.proposal_id).map_err(|e| vec![e])?;
        match events.get(record.version as usize - 1) {
            Some(event)
                if event.data.kind() == call.step.kind()
                    && event.request_id.as_deref() == Some(call.request_id.as_str()) => {}
            other => problems.push(format!(
                "unanswered {} is recorded, but its history holds {other:?} there",
                call.describe()
            )),
        }
        beyond.insert(record.proposal_id, (record.version, call.step.target()));
    }

    // Every proposal stands at its last acknowledged version, or at the one unanswered call
    // beyond it; nothing else was added.
    let known: BTreeSet<ProposalId> = last.keys().chain(beyond.keys()).copied().collect();
    for id in &known {
        let stored = match store.proposal(*id, View::Full) {
            Ok(Some(p)) => p,
            other => {
                problems.push(format!(
                    "proposal {id} was acknowledged, the store has {other:?}"
                ));
                continue;
            }
        };
        let want = match (beyond.get(id), last.get(id)) {
            (Some(b), Some(l)) if b.0 == l.0 + 1 => *b,
            (Some(b), None) if b.0 == 1 => *b,
            (Some(b), l) => {
                problems.push(format!(
                    "proposal {id}: an unanswered call applied as version {} after acknowledged {l:?}",
                    b.0
                ));
                continue;
            }
            (None, Some(l)) => *l,
            (None, None) => unreachable!("known proposals come from one of the two"),
        };
        if (stored.version, stored.state) != want {
            problems.push(format!(
                "proposal {id} is at version {} {:?}; the clients were told {want:?} (or one unanswered call beyond)",
                stored.version, stored.state
            ));
        }
    }

    // No position twice, none missing; every request id exactly once, and explained.
    let mut positions = BTreeSet::new();
    let mut request_ids: HashMap<String, u32> = HashMap::new();
    for id in &known {
        for event in history(*id).map_err(|e| vec![e])? {
            if !positions.insert(event.position) {
                problems.push(format!("position {} appears twice", event.position));
            }
            match &event.request_id {
                Some(request_id) => *request_ids.entry(request_id.clone()).or_default() += 1,
                None => problems.push(format!(
                    "proposal {id} event {} has no request id",
                    event.sequence
                )),
            }
        }
    }
    let expected_positions: BTreeSet<u64> = (1..=verification.events).collect();
    if positions != expected_positions {
        problems.push(format!(
            "the known proposals hold {} positions ({:?}..{:?}); the log has {} events",
            positions.len(),
            positions.first(),
            positions.last(),
            verification.events
        ));
    }
    if verification.proposals != known.len() as u64 {
        problems.push(format!(
            "the store holds {} proposals, the clients know of {}",
            verification.proposals,
            known.len()
        ));
    }
    for (request_id, count) in &request_ids {
        if *count != 1 {
            problems.push(format!("request {request_id} appended {count} events"));
        }
        if !explained.contains(request_id) {
            problems.push(format!(
                "request {request_id} is in the store but was neither acknowledged nor pending"
            ));
        }
    }
    if problems.is_empty() {
        Ok(Checked {
            events: verification.events,
            proposals: verification.proposals,
            applied,
            not_applied,
        })
    } else {
        Err(problems)
    }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

async fn start_server(dir: &Path) -> ServerProcess {
    let dir: PathBuf = dir.to_path_buf();
    let start = tokio::task::spawn_blocking(move || ServerProcess::expect_start(&dir));
    let server = match tokio::time::timeout(CALL_TIMEOUT, start).await {
        Err(_) => panic!("the server did not start within {CALL_TIMEOUT:?}"),
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(joined) => joined.unwrap(),
    };
    // Waits until the server reports SERVING (bounded inside).
    tokio::time::timeout(CALL_TIMEOUT, server.client())
        .await
        .expect("the server did not report SERVING");
    server
}

/// Waits until every client has noticed the kill of `epoch` (or has finished).
async fn wait_parked(shared: &Shared, epoch: u64) {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        shared.fail_if_any();
        let waiting: Vec<usize> = (0..shared.slots.len())
            .filter(|i| {
                let slot = &shared.slots[*i];
                slot.parked.load(Ordering::SeqCst) < epoch && !slot.done.load(Ordering::SeqCst)
            })
            .collect();
        if waiting.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "seed {:#x}: clients {waiting:?} did not notice kill {epoch} within {SETTLE_TIMEOUT:?}",
            shared.seed
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn check_stopped(dir: &Path, shared: &Arc<Shared>, what: &str) -> Checked {
    let dir = dir.to_path_buf();
    let for_check = shared.clone();
    // The store is opened, checked and dropped (releasing the lock) on a blocking thread.
    let checked = tokio::task::spawn_blocking(move || check_directory(&dir, &for_check))
        .await
        .unwrap();
    match checked {
        Ok(checked) => checked,
        Err(problems) => panic!(
            "seed {:#x} (replay with PROPOSAL_CRASH_SEED={:#x}), {what}: {} problems:\n{}",
            shared.seed,
            shared.seed,
            problems.len(),
            problems.join("\n")
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_retries_apply_once() {
    let began = Instant::now();
    let cycles = env_number("PROPOSAL_CRASH_CYCLES").unwrap_or(3);
    let seed = env_number("PROPOSAL_CRASH_SEED").unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
    });
    println!("crash: seed {seed:#x} (replay with PROPOSAL_CRASH_SEED={seed:#x}), {cycles} kills");
    let mut rng = Rng(seed);
    let (_temp, dir) = temp_data_dir();
    let shared = Arc::new(Shared {
        seed,
        slots: (0..CLIENTS).map(|_| Slot::default()).collect(),
        killed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        failures: Mutex::new(Vec::new()),
    });
    let (publish, epochs) = watch::channel(None::<Epoch>);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| tokio::spawn(client(shared.clone(), i, epochs.clone())))
        .collect();

    let (mut unanswered_applied, mut unanswered_not_applied) = (0, 0);
    for epoch in 1..=cycles {
        let server = start_server(&dir).await;
        publish.send_replace(Some(Epoch {
            number: epoch,
            addr: server.addr,
        }));
        let load = rng.between(LOAD_MS.0, LOAD_MS.1);
        tokio::time::sleep(Duration::from_millis(load)).await;
        shared.fail_if_any();
        shared.killed.store(epoch, Ordering::SeqCst);
        server.kill();
        wait_parked(&shared, epoch).await;
        let checked = check_stopped(
            &dir,
            &shared,
            &format!("after kill {epoch} ({load} ms of load)"),
        )
        .await;
        unanswered_applied += checked.applied;
        unanswered_not_applied += checked.not_applied;
    }

    // The last server: the clients retry what the last kill interrupted, go on a little, stop.
    let server = start_server(&dir).await;
    publish.send_replace(Some(Epoch {
        number: cycles + 1,
        addr: server.addr,
    }));
    tokio::time::sleep(FINAL_LOAD).await;
    shared.stop.store(true, Ordering::SeqCst);
    for (i, task) in clients.into_iter().enumerate() {
        match tokio::time::timeout(SETTLE_TIMEOUT, task).await {
            Ok(joined) => joined.unwrap_or_else(|e| panic!("client {i}: {e}")),
            Err(_) => panic!("seed {seed:#x}: client {i} did not stop within {SETTLE_TIMEOUT:?}"),
        }
    }
    shared.fail_if_any();
    let status = tokio::time::timeout(SETTLE_TIMEOUT, server.terminate())
        .await
        .expect("the server did not stop on SIGTERM");
    assert!(status.success(), "the server stopped with {status}");
    for (i, slot) in shared.slots.iter().enumerate() {
        let pending = slot.pending.lock().unwrap().clone();
        assert!(pending.is_none(), "client {i} left {pending:?} unanswered");
    }
    let last = check_stopped(&dir, &shared, "after the clean stop").await;
    let sum = |field: fn(&Slot) -> &AtomicU64| -> u64 {
        shared
            .slots
            .iter()
            .map(|s| field(s).load(Ordering::SeqCst))
            .sum()
    };
    let acknowledged: u64 = shared
        .slots
        .iter()
        .map(|s| s.acks.lock().unwrap().len() as u64)
        .sum();
    let interrupted = sum(|s| &s.interrupted);
    let retried = sum(|s| &s.retried);
    let already_applied = sum(|s| &s.already_applied);
    // Every event was acknowledged exactly once (each unanswered call was answered on retry).
    assert_eq!(
        last.events, acknowledged,
        "seed {seed:#x}: events in the log vs acknowledged transitions"
    );
    println!(
        "crash summary: seed {seed:#x}, cycles survived {cycles}/{cycles}, transitions acknowledged {acknowledged}, \
         proposals {}, events {}, calls cut off by a kill {interrupted} (found applied {unanswered_applied}, \
         not applied {unanswered_not_applied}), retried calls answered {retried}, of which already applied {already_applied}, \
         {:.1} s",
        last.proposals,
        last.events,
        began.elapsed().as_secs_f64()
    );
}
