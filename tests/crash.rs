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
//! The lifecycles are the kit's (sole, or led with a co-unit; a quarter of them go on after the
//! copies: a dissatisfied verdict, a reopening, a second reply under a new number, a satisfied
//! verdict and the closing), split proposals (分办) whose
//! units each draft, sign, issue and copy their own reply, interleaved, one unit sometimes
//! giving its part back first, and merges (并案): a second proposal merged into the first, which
//! then goes on (its join recorded under the merge's request id).
//!
//! `PROPOSAL_CRASH_CYCLES` sets the number of kills (default 3). The random choices (kill
//! delays, which lifecycles take a backward move) come from a seed printed at the start;
//! `PROPOSAL_CRASH_SEED=<seed>` replays them (the interleaving of the clients cannot be
//! replayed, so a replay reproduces the schedule, not the exact moment of each kill).

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Client;
use common::crash_check::{Checked, CrashCall, Epoch, Shared, Slot, check_directory};
use common::lifecycle::Command;
use common::plans::Step;
use common::process::{ServerProcess, temp_data_dir};
use common::requests::CommandRequest;
use common::retried::{Ack, Call, assign, lifecycle, step, unknown_outcome};
use common::seeded::{Rng, env_number};
use common::tracked::UNITS;
use proposal_service::domain::{EventKind, ProposalId, ProposalState};
use proposal_service::pb;
use tokio::sync::watch;

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

/// A proposal's id, version and state as last acknowledged (`None`: not received yet).
type Acknowledged = Option<(ProposalId, u64, ProposalState)>;

async fn client_loop(
    shared: &Shared,
    index: usize,
    mut epochs: watch::Receiver<Option<Epoch>>,
) -> Result<(), String> {
    let slot = &shared.slots[index];
    let mut rng = Rng(shared.seed ^ (index as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
    let mut plan: VecDeque<Planned> = VecDeque::new();
    // The proposals of the lifecycle this client drives now: each one's number, and what was
    // last acknowledged of it.
    let mut current: [(u32, Acknowledged); 2] = [(0, None); 2];
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
            let (sent, on) = match pending {
                Some(sent) => {
                    let on = usize::from(sent.call.number == current[1].0);
                    (sent, on)
                }
                None => {
                    if shared.stop.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    calls += 1;
                    if calls > MAX_CALLS_PER_CLIENT {
                        return Err(format!("more than {MAX_CALLS_PER_CLIENT} calls"));
                    }
                    if plan.is_empty() {
                        for proposal in &mut current {
                            proposals += 1;
                            *proposal = ((index as u32 + 1) * 100_000 + proposals, None);
                        }
                        plan.extend(plans(&mut rng));
                    }
                    let planned = plan.pop_front().expect("a lifecycle has steps");
                    let (number, now) = current[planned.on];
                    let call = Call {
                        request_id: format!("crash-{:x}-c{index}-{calls}", shared.seed),
                        step: planned.step,
                        number,
                        proposal: now.map(|(id, _, _)| id),
                        expected_version: now.map_or(0, |(_, version, _)| version),
                        found_applied: None,
                        interrupted: 0,
                    };
                    let target = planned.target.unwrap_or_else(|| call.target());
                    let sent = CrashCall {
                        call,
                        split_units: planned.split_units,
                        handling_unit: planned.handling_unit,
                        into: planned
                            .into
                            .map(|k| current[k].1.expect("the proposal merged into is received")),
                        target,
                    };
                    (sent, planned.on)
                }
            };
            let answer = tokio::time::timeout(CALL_TIMEOUT, send(&client, &sent)).await;
            match answer {
                Err(_) => {
                    return Err(format!(
                        "{} got no answer within {CALL_TIMEOUT:?}",
                        sent.describe()
                    ));
                }
                Ok(Ok(Some(proposal))) => {
                    let id = check_answer(&sent, &proposal)?;
                    let call = &sent.call;
                    let mut acks = slot.acks.lock().unwrap();
                    acks.push(Ack {
                        request_id: call.request_id.clone(),
                        proposal: id,
                        version: proposal.version,
                        kind: call.kind(),
                        state: sent.target,
                    });
                    // A merge joined the other proposal too, one version further, its state
                    // kept.
                    if let Some((into, version, state)) = sent.into {
                        acks.push(Ack {
                            request_id: call.request_id.clone(),
                            proposal: into,
                            version: version + 1,
                            kind: EventKind::MergeJoined,
                            state,
                        });
                        current[1 - on].1 = Some((into, version + 1, state));
                    }
                    current[on].1 = Some((id, proposal.version, sent.target));
                    if call.interrupted > 0 {
                        slot.retried.fetch_add(1, Ordering::SeqCst);
                        if call.found_applied == Some(true) {
                            slot.already_applied.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                Ok(Ok(None)) => return Err(format!("{}: no proposal in the OK", sent.describe())),
                Ok(Err(status)) if killed() && unknown_outcome(&status) => {
                    let mut sent = sent;
                    sent.call.interrupted += 1;
                    slot.interrupted.fetch_add(1, Ordering::SeqCst);
                    *slot.pending.lock().unwrap() = Some(sent);
                    slot.parked.store(epoch.number, Ordering::SeqCst);
                    continue 'servers;
                }
                Ok(Err(status)) => {
                    return Err(format!(
                        "{} on server {} (killed: {}) failed: {status:?}",
                        sent.describe(),
                        epoch.number,
                        killed()
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the clients send
// ---------------------------------------------------------------------------------------------

/// One call of a client's plan: the kit's step on the first or the second proposal of the
/// lifecycle, with what a split proposal or a merge adds.
#[derive(Clone, Debug)]
struct Planned {
    step: Step,
    /// Which of the lifecycle's two proposals it acts on.
    on: usize,
    split_units: &'static [&'static str],
    handling_unit: &'static str,
    /// A merge: which of the lifecycle's proposals it merges into.
    into: Option<usize>,
    /// The state it leaves its proposal in; `None`: where its command leads (a record keeps
    /// ASSIGNED).
    target: Option<ProposalState>,
}

/// `step` on the lifecycle's first proposal, as the kit plans it.
fn kit(step: Step) -> Planned {
    Planned {
        step,
        on: 0,
        split_units: &[],
        handling_unit: "",
        into: None,
        target: None,
    }
}

/// The calls of one lifecycle: the kit's (half of them), a split proposal, or a proposal
/// merged into another that then goes on, sole or split.
fn plans(rng: &mut Rng) -> Vec<Planned> {
    match rng.between(0, 3) {
        0 | 1 => lifecycle(rng).into_iter().map(kit).collect(),
        2 => {
            let units = 1 + rng.between(1, 2) as usize;
            split(rng, units, false)
        }
        _ => {
            let units = if rng.one_in(2) { 1 } else { 2 };
            split(rng, units, true)
        }
    }
}

/// A proposal handled by `units` units: one (sole), or several each replying on its own (分办),
/// their steps interleaved at random (each step leaves the proposal where its least advanced
/// unit stands). Sometimes the units record their receipt and a contact, a unit gives its part
/// back first (while others are left), and a draft is rejected. With `merge`, a second proposal
/// is received and merged into it before anyone drafts.
fn split(rng: &mut Rng, units: usize, merge: bool) -> Vec<Planned> {
    // The units, the first the handling unit; they rotate from one proposal to the next.
    let first = rng.between(0, 2) as usize;
    let all: Vec<&'static str> = (0..units).map(|i| UNITS[(first + i) % 3]).collect();
    let splits: &'static [&'static str] = match (first, units) {
        (_, 1) => &[],
        (0, 2) => &UNITS[1..2],
        (1, 2) => &UNITS[2..3],
        (2, 2) => &UNITS[0..1],
        (0, _) => &UNITS[1..3],
        (1, _) => &[UNITS[2], UNITS[0]],
        _ => &UNITS[0..2],
    };
    let assigned = Some(ProposalState::Assigned);
    let named = |command: Command, unit: &'static str, target: Option<ProposalState>| Planned {
        handling_unit: if units == 1 { "" } else { unit },
        target,
        ..kit(step(command))
    };
    let mut plan = vec![
        kit(step(Command::Receive)),
        Planned {
            split_units: splits,
            ..kit(assign(all[0]))
        },
    ];
    if merge {
        let second = |planned: Planned| Planned { on: 1, ..planned };
        plan.push(second(kit(step(Command::Receive))));
        plan.push(Planned {
            into: Some(0),
            ..second(kit(step(Command::Merge)))
        });
    }
    // Records keep every unit ASSIGNED.
    for command in [Command::Acknowledge, Command::Contact] {
        if rng.one_in(3) {
            let unit = all[rng.between(0, units as u64 - 1) as usize];
            plan.push(named(command, unit, assigned));
        }
    }
    let mut left = all.clone();
    if units > 1 && rng.one_in(3) {
        // A unit gives its part back: the office approves, the others go on.
        let unit = left.remove(rng.between(0, units as u64 - 1) as usize);
        plan.push(named(Command::RequestReturn, unit, assigned));
        plan.push(named(Command::DecideReturn, unit, assigned));
    }
    // Each unit's own path, taken a step at a time by a unit picked at random.
    let mut paths: Vec<VecDeque<Command>> = left
        .iter()
        .map(|_| {
            let mut path = VecDeque::from([Command::Draft]);
            if rng.one_in(5) {
                path.extend([Command::RejectDraft, Command::Draft]);
            }
            path.extend([Command::Sign, Command::Issue, Command::Copy]);
            path
        })
        .collect();
    let mut states = vec![ProposalState::Assigned; left.len()];
    while paths.iter().any(|p| !p.is_empty()) {
        let ready: Vec<usize> = (0..paths.len()).filter(|i| !paths[*i].is_empty()).collect();
        let i = ready[rng.between(0, ready.len() as u64 - 1) as usize];
        let command = paths[i].pop_front().expect("a unit with steps left");
        states[i] = match command {
            Command::Draft => ProposalState::Drafted,
            Command::RejectDraft => ProposalState::Assigned,
            Command::Sign => ProposalState::Signed,
            Command::Issue => ProposalState::Issued,
            _ => ProposalState::Copied,
        };
        let least = *states.iter().min().expect("a unit");
        // The one unit left may go unnamed.
        let unit = if left.len() == 1 && rng.one_in(2) {
            ""
        } else {
            left[i]
        };
        plan.push(named(command, unit, Some(least)));
    }
    plan
}

/// Sends the call as its RPC (the kit's request for its step, with the split units, the unit
/// named, a document number of the unit's own, the proposal merged into); `Ok(None)` if the
/// response lacks the proposal.
async fn send(client: &Client, sent: &CrashCall) -> Result<Option<pb::Proposal>, tonic::Status> {
    let call = &sent.call;
    // The kit's builders read only the proposal's id and number.
    let proposal = pb::Proposal {
        id: call.proposal.map(|p| p.to_string()).unwrap_or_default(),
        number: call.number,
        ..Default::default()
    };
    let mut request = common::plans::request(call.step, &proposal).keyed(&call.request_id);
    let unit = sent.handling_unit.to_owned();
    match &mut request {
        CommandRequest::Assign(r) => {
            r.split_units = sent.split_units.iter().map(|u| u.to_string()).collect();
        }
        CommandRequest::Draft(r) => r.handling_unit = unit,
        CommandRequest::RejectDraft(r) => r.handling_unit = unit,
        CommandRequest::Sign(r) => r.handling_unit = unit,
        CommandRequest::Issue(r) => {
            // Each unit issues a document of its own.
            if !unit.is_empty() {
                r.document_number = format!("{}（{unit}）", r.document_number);
            }
            r.handling_unit = unit;
        }
        CommandRequest::Copy(r) => r.handling_unit = unit,
        CommandRequest::Acknowledge(r) => r.handling_unit = unit,
        CommandRequest::Contact(r) => r.handling_unit = unit,
        CommandRequest::RequestReturn(r) => r.handling_unit = unit,
        CommandRequest::DecideReturn(r) => r.handling_unit = unit,
        CommandRequest::Merge(r) => {
            let (into, _, _) = sent.into.expect("a merge names the proposal merged into");
            r.into_proposal_id = into.to_string();
        }
        _ => {}
    }
    if call.step.command != Command::Receive {
        request = request.expecting(call.expected_version);
    }
    request.send(&mut client.clone()).await
}

/// Checks a response against the call: the right proposal, one version further, the state
/// the call leads to. Returns the proposal's id.
fn check_answer(sent: &CrashCall, proposal: &pb::Proposal) -> Result<ProposalId, String> {
    let call = &sent.call;
    let id = ProposalId::parse(&proposal.id).ok_or_else(|| {
        format!(
            "{}: the response names proposal {:?}",
            sent.describe(),
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
    if proposal.state != pb::ProposalState::from(sent.target) as i32 {
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
            sent.describe(),
            call.found_applied,
            wrong.join(", ")
        ))
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
