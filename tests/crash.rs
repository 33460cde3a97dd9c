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

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Client;
use common::crash_check::{Checked, Epoch, Shared, Slot, check_directory};
use common::plans::Step;
use common::process::{ServerProcess, temp_data_dir};
use common::retried::{Ack, Call, check_response, lifecycle, send, unknown_outcome};
use common::seeded::{Rng, env_number};
use proposal_service::domain::ProposalId;
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
    // The number of the proposal this client drives now.
    let mut number = 0u32;
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
                        number = (index as u32 + 1) * 100_000 + proposals;
                        plan.extend(lifecycle(&mut rng));
                        current = None;
                    }
                    Call {
                        request_id: format!("crash-{:x}-c{index}-{calls}", shared.seed),
                        step: plan.pop_front().expect("a lifecycle has steps"),
                        number,
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
                        kind: call.kind(),
                        state: call.target(),
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
